package ticketing

import (
	"cmp"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/admitdev/admit"
)

// GET /events takes the SDK's list criteria: page, records, sort and
// order, and filters as query parameters. Every filter of TickeTing's
// events that the SDK sends, or that admit can answer, is known; one that
// admit cannot satisfy (a category, venue or region other than the
// placeholder every event carries, a type or status other than the one
// every event has, public=false) leaves no entry, rather than being
// ignored. An unknown filter or sort is 400, with the SDK's own texts.

// eventFilters are the filters of GET /events.
var eventFilters = []string{"active", "category", "host", "public", "region", "section", "status", "title", "type", "venue"}

// eventSorts are the sort fields of GET /events: the SDK's ("alphabetical"
// sorts by title), and "title" for the same.
var eventSorts = []string{"alphabetical", "popularity", "published", "start", "title"}

// listedEvent is an event with its sections, as the list filters and
// writes it.
type listedEvent struct {
	ev       *admit.Event
	sections []*admit.Section
}

// eventQuery is a GET /events request's criteria.
type eventQuery struct {
	page    pagination
	sortBy  string // "" keeps the events' order (their ids)
	desc    bool
	filters map[string]string // non-empty values only
	active  *bool
	public  *bool
}

func parseEventQuery(q url.Values) (*eventQuery, error) {
	p, err := parsePagination(q)
	if err != nil {
		return nil, err
	}
	eq := &eventQuery{page: p, filters: map[string]string{}}
	var unknown []string
	for name := range q {
		switch {
		case name == "page" || name == "records" || name == "sort" || name == "order":
		case slices.Contains(eventFilters, name):
			if v := strings.TrimSpace(q.Get(name)); v != "" {
				eq.filters[name] = v
			}
		default:
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, admit.Errorf(admit.EInvalid, "The collection does not support the following filters: %s.", strings.Join(clipArgs(unknown), ", "))
	}
	if s := strings.TrimSpace(q.Get("sort")); s != "" {
		if !slices.Contains(eventSorts, s) {
			return nil, admit.Errorf(admit.EInvalid, "The collection cannot be sorted by %s.", clipArg(s))
		}
		eq.sortBy = s
	}
	switch o := strings.ToLower(strings.TrimSpace(q.Get("order"))); o {
	case "", "asc":
	case "desc":
		eq.desc = true
	default:
		return nil, admit.Errorf(admit.EInvalid, "The argument order must be asc or desc.")
	}
	for _, b := range []struct {
		name string
		dst  **bool
	}{{"active", &eq.active}, {"public", &eq.public}} {
		if v, ok := eq.filters[b.name]; ok {
			x, err := parseBool(b.name, v)
			if err != nil {
				return nil, err
			}
			*b.dst = &x
		}
	}
	return eq, nil
}

// clipArg shortens a client's text that goes into an error message.
func clipArg(s string) string {
	if len(s) <= 64 {
		return s
	}
	i := 64
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

func clipArgs(ss []string) []string {
	if len(ss) > 10 {
		ss = append(ss[:10:10], "…")
	}
	for i, s := range ss {
		ss[i] = clipArg(s)
	}
	return ss
}

// refID is the id a filter names: a bare id, or the last segment of a URI.
func refID(v string) string {
	v = strings.TrimSuffix(v, "/")
	return v[strings.LastIndex(v, "/")+1:]
}

// over reports whether an event has ended at now: its end, else its start,
// has passed; an event with neither never ends.
func over(ev *admit.Event, now time.Time) bool {
	end := ev.DateTo
	if end.IsZero() {
		end = ev.DateFrom
	}
	return !end.IsZero() && end.Before(now)
}

// matches reports whether an event of organizerID passes every filter.
func (q *eventQuery) matches(le listedEvent, organizerID int64, now time.Time) bool {
	for name, v := range q.filters {
		var ok bool
		switch name {
		case "title":
			ok = strings.Contains(strings.ToLower(le.ev.Name), strings.ToLower(v))
		case "status":
			ok = strings.EqualFold(v, eventStatus)
		case "type":
			ok = strings.EqualFold(v, eventType)
		case "category", "venue", "region":
			ok = refID(v) == placeholderID
		case "host":
			ok = refID(v) == strconv.FormatInt(organizerID, 10)
		case "public":
			ok = *q.public
		case "active":
			ok = *q.active != over(le.ev, now)
		case "section":
			ok = hasSection(le, v)
		}
		if !ok {
			return false
		}
	}
	return true
}

// hasSection reports whether the event has the section v names (its id,
// or its URI; a URI of another event's section names none of this one's).
func hasSection(le listedEvent, v string) bool {
	evID, secID, ok := sectionRef(v)
	if !ok || (evID != 0 && evID != le.ev.ID) {
		return false
	}
	return slices.ContainsFunc(le.sections, func(s *admit.Section) bool { return s.ID == secID })
}

// sort orders the events by the query's field (ties, and no field, by id),
// ascending or descending.
func (q *eventQuery) sort(evs []listedEvent) {
	key := func(a, b *admit.Event) int {
		switch q.sortBy {
		case "alphabetical", "title":
			return cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
		case "published":
			return a.CreatedAt.Compare(b.CreatedAt)
		case "start":
			return a.DateFrom.Compare(b.DateFrom) // no start sorts first
		}
		return 0 // popularity: 0 for every event
	}
	slices.SortStableFunc(evs, func(x, y listedEvent) int {
		c := key(x.ev, y.ev)
		if c == 0 {
			c = cmp.Compare(x.ev.ID, y.ev.ID)
		}
		if q.desc {
			c = -c
		}
		return c
	})
}

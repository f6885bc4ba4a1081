package ticketing_test

import (
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/admitdev/admit"
)

// More events of acme for the events list, each imported an hour after the
// one before (so that they are published in this order): titles, dates
// and time zones that sort differently by every field.
const (
	galaFixture = `{
  "organizer": {"slug": "acme"},
  "event": {"slug": "gala", "name": "alpha Gala", "date_from": "2031-01-10T19:00:00Z", "date_to": "2031-01-10T23:00:00Z", "timezone": "America/Antigua"},
  "products": [{"name": "Ticket"}]
}`
	pastFixture = `{
  "organizer": {"slug": "acme"},
  "event": {"slug": "past", "name": "Past Party", "date_from": "2001-05-01T20:00:00Z", "date_to": "2001-05-02T02:00:00Z"},
  "products": [{"name": "Ticket"}]
}`
)

// eventsFixture: acme's events are Summer Fest (2030-07-01, sections
// Floor, Balcony, VIP), Winter Fest (no dates, section Hall), alpha Gala
// (2031-01-10) and Past Party (2001, over); globex has Expo.
func eventsFixture(t *testing.T) (*fixture, map[string]*admit.Event) {
	t.Helper()
	f := start(t)
	evs := map[string]*admit.Event{"Summer Fest": f.ev, "Winter Fest": f.other}
	for _, fx := range []string{galaFixture, pastFixture} {
		f.clock.Add(time.Hour)
		ev := f.env.Import(t, fx).Event
		evs[ev.Name] = ev
	}
	return f, evs
}

func titles(es []map[string]any) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, fmt.Sprint(e["title"]))
	}
	return out
}

// GET /events sorts as the SDK asks: by start, publication, title
// (alphabetical) or popularity, ascending or descending; ties and no sort
// keep the events' order.
func TestEventsListSortsByTheSDKsFields(t *testing.T) {
	f, _ := eventsFixture(t)
	cases := []struct {
		query string
		want  []string
	}{
		{"", []string{"Summer Fest", "Winter Fest", "alpha Gala", "Past Party"}},
		{"order=desc", []string{"Past Party", "alpha Gala", "Winter Fest", "Summer Fest"}},
		{"sort=start", []string{"Winter Fest", "Past Party", "Summer Fest", "alpha Gala"}},
		{"sort=start&order=desc", []string{"alpha Gala", "Summer Fest", "Past Party", "Winter Fest"}},
		{"sort=start&order=asc", []string{"Winter Fest", "Past Party", "Summer Fest", "alpha Gala"}},
		{"sort=published&order=desc", []string{"Past Party", "alpha Gala", "Winter Fest", "Summer Fest"}},
		{"sort=published", []string{"Summer Fest", "Winter Fest", "alpha Gala", "Past Party"}},
		{"sort=alphabetical", []string{"alpha Gala", "Past Party", "Summer Fest", "Winter Fest"}},
		{"sort=alphabetical&order=desc", []string{"Winter Fest", "Summer Fest", "Past Party", "alpha Gala"}},
		{"sort=title", []string{"alpha Gala", "Past Party", "Summer Fest", "Winter Fest"}},
		{"sort=popularity", []string{"Summer Fest", "Winter Fest", "alpha Gala", "Past Party"}},
		{"sort=start&order=desc&records=2&page=2", []string{"Past Party", "Winter Fest"}},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			r := f.do(t, "GET", "/v3/events?"+c.query, f.key, nil)
			if got := titles(entries(t, r)); !slices.Equal(got, c.want) {
				t.Errorf("titles %v, want %v", got, c.want)
			}
			if m := r.JSON(t); m["total"] != 4.0 {
				t.Errorf("total %v, want 4", m["total"])
			}
		})
	}
}

// GET /events filters by what TickeTing's events have and admit keeps; a
// filter admit cannot satisfy leaves no entry; the envelope counts what
// the filters leave.
func TestEventsListFiltersAndCountsWhatIsLeft(t *testing.T) {
	f, _ := eventsFixture(t)
	org, err := f.env.Core.Store.Organizer(t.Context(), f.ev.OrganizerID)
	if err != nil {
		t.Fatal(err)
	}
	all := []string{"Summer Fest", "Winter Fest", "alpha Gala", "Past Party"}
	hall := fmt.Sprintf("/events/%d/sections/%d", f.other.ID, sectionID(t, f, f.other, "Hall"))
	cases := []struct {
		name  string
		query url.Values
		want  []string
	}{
		{"title contains, in any case", url.Values{"title": {"FEST"}}, []string{"Summer Fest", "Winter Fest"}},
		{"the full title", url.Values{"title": {"alpha Gala"}}, []string{"alpha Gala"}},
		{"a title no event has", url.Values{"title": {"Opera"}}, nil},
		{"status Published: every event", url.Values{"status": {"Published"}}, all},
		{"status Draft: none", url.Values{"status": {"Draft"}}, nil},
		{"type Standard: every event", url.Values{"type": {"Standard"}}, all},
		{"another type: none", url.Values{"type": {"Premium"}}, nil},
		{"public=true: every event", url.Values{"public": {"true"}}, all},
		{"public=false: none", url.Values{"public": {"false"}}, nil},
		{"active=true: not over", url.Values{"active": {"true"}}, []string{"Summer Fest", "Winter Fest", "alpha Gala"}},
		{"active=false: over", url.Values{"active": {"false"}}, []string{"Past Party"}},
		{"the category every event carries, by id", url.Values{"category": {"0"}}, all},
		{"the category every event carries, by URI", url.Values{"category": {"/categories/0"}}, all},
		{"another category", url.Values{"category": {"12"}}, nil},
		{"another venue", url.Values{"venue": {"/venues/4"}}, nil},
		{"the region every event carries", url.Values{"region": {"0"}}, all},
		{"another region", url.Values{"region": {"17001"}}, nil},
		{"the key's organizer as host", url.Values{"host": {fmt.Sprint(org.ID)}}, all},
		{"another host", url.Values{"host": {fmt.Sprint(org.ID + 1000)}}, nil},
		{"a section, by id", url.Values{"section": {fmt.Sprint(f.sections["VIP"])}}, []string{"Summer Fest"}},
		{"a section, by URI", url.Values{"section": {hall}}, []string{"Winter Fest"}},
		{"a section no event has", url.Values{"section": {"999999"}}, nil},
		{"filters together", url.Values{"title": {"fest"}, "active": {"true"}, "section": {fmt.Sprint(f.sections["Floor"])}}, []string{"Summer Fest"}},
		{"an empty filter filters nothing", url.Values{"title": {""}}, all},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.do(t, "GET", "/v3/events?"+c.query.Encode(), f.key, nil)
			got := titles(entries(t, r))
			if !slices.Equal(got, append([]string{}, c.want...)) {
				t.Errorf("titles %v, want %v", got, c.want)
			}
			if m := r.JSON(t); m["total"] != float64(len(c.want)) {
				t.Errorf("total %v, want %d", m["total"], len(c.want))
			}
		})
	}
	t.Run("pages are of what the filters leave", func(t *testing.T) {
		r := f.do(t, "GET", "/v3/events?title=fest&records=1&page=2", f.key, nil)
		if got := titles(entries(t, r)); !slices.Equal(got, []string{"Winter Fest"}) {
			t.Errorf("page 2: %v", got)
		}
		if m := r.JSON(t); m["total"] != 2.0 || m["page"] != 2.0 || m["records"] != 1.0 {
			t.Errorf("envelope %v", m)
		}
		wantError(t, f.do(t, "GET", "/v3/events?title=fest&records=1&page=3", f.key, nil), 404,
			"The specified page does not exist for the given records per page")
	})
	t.Run("another organizer's events are never listed", func(t *testing.T) {
		for _, e := range entries(t, f.do(t, "GET", "/v3/events?records=100", f.key, nil)) {
			if e["self"] == fmt.Sprintf("/events/%d", f.foreign.ID) {
				t.Errorf("globex's event listed")
			}
		}
	})
}

// A sort or filter TickeTing does not know is 400, with the SDK's texts.
func TestEventsListRefusesUnknownSortsAndFilters(t *testing.T) {
	f := start(t)
	cases := []struct {
		query, text string
	}{
		{"colour=red", "The collection does not support the following filters: colour."},
		{"size=1&colour=red&title=x", "The collection does not support the following filters: colour, size."},
		{"sort=unsupported", "The collection cannot be sorted by unsupported."},
		{"sort=name&order=asc", "The collection cannot be sorted by name."},
		{"sort=start&order=up", "The argument order must be asc or desc."},
		{"active=maybe", "The argument active must be true or false."},
		{"public=", ""}, // empty: no filter
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			r := f.do(t, "GET", "/v3/events?"+c.query, f.key, nil)
			if c.text == "" {
				want(t, r, 200)
				return
			}
			wantError(t, r, 400, c.text)
		})
	}
}

// Events carry what the SDK reads: type and status, start and end in the
// event's local time as TickeTing writes them, publication, no images (null),
// popularity, and the placeholder category, venue and region objects.
func TestEventsCarryWhatTheSDKReads(t *testing.T) {
	f, evs := eventsFixture(t)
	byTitle := map[string]map[string]any{}
	for _, e := range entries(t, f.do(t, "GET", "/v3/events", f.key, nil)) {
		byTitle[fmt.Sprint(e["title"])] = e
	}
	one := f.do(t, "GET", fmt.Sprintf("/v3/events/%d", evs["alpha Gala"].ID), f.key, nil)
	want(t, one, 200)
	if fmt.Sprint(one.JSON(t)) != fmt.Sprint(byTitle["alpha Gala"]) {
		t.Errorf("GET /events/{id} %v differs from its list entry %v", one.JSON(t), byTitle["alpha Gala"])
	}
	cases := []struct {
		title, start, end, published string
	}{
		{"Summer Fest", "2030-07-01T20:00", "2030-07-02T04:00", "2030-06-01T10:00:05+00:00"},
		{"alpha Gala", "2031-01-10T15:00", "2031-01-10T19:00", "2030-06-01T11:00:05+00:00"},
		{"Past Party", "2001-05-01T20:00", "2001-05-02T02:00", "2030-06-01T12:00:05+00:00"},
		{"Winter Fest", "<nil>", "<nil>", "2030-06-01T10:00:05+00:00"},
	}
	for _, c := range cases {
		t.Run(c.title, func(t *testing.T) {
			e := byTitle[c.title]
			if e == nil {
				t.Fatalf("no event %q", c.title)
			}
			if fmt.Sprint(e["start"]) != c.start || fmt.Sprint(e["end"]) != c.end || e["published"] != c.published {
				t.Errorf("start %v end %v published %v, want %s %s %s", e["start"], e["end"], e["published"], c.start, c.end, c.published)
			}
			if e["type"] != "Standard" || e["status"] != "Published" || e["public"] != true || e["popularity"] != 0.0 {
				t.Errorf("type %v status %v public %v popularity %v", e["type"], e["status"], e["public"], e["popularity"])
			}
			for _, k := range []string{"banner", "thumbnail"} {
				if v, ok := e[k]; !ok || v != nil {
					t.Errorf("%s %v, want null", k, v)
				}
			}
			venue, _ := e["venue"].(map[string]any)
			region, _ := venue["region"].(map[string]any)
			cat, _ := e["category"].(map[string]any)
			if cat["self"] != "/categories/0" || venue["self"] != "/venues/0" || region["self"] != "/regions/0" {
				t.Errorf("category %v venue %v", cat, venue)
			}
		})
	}
}

// A valid key without permission on an event (another organizer's) is
// refused with 403 on the event and every route under it, in the API's
// error shape; an id that names no event stays 404.
func TestAnotherOrganizersEventIsForbiddenAndAnUnknownOneNotFound(t *testing.T) {
	f := start(t)
	const (
		unlisted   = "You are not authorised to access this unlisted event."
		noResource = "There is presently no resource with the given URI."
	)
	routes := []struct {
		method, path string
		body         any
	}{
		{"GET", "", nil},
		{"GET", "/sections/1", nil},
		{"POST", "/tokens", map[string]any{"sections": []string{}}},
		{"GET", "/tokens", nil},
		{"GET", "/tokens/1", nil},
		{"PUT", "/tokens/1", map[string]any{"sections": []string{}}},
		{"DELETE", "/tokens/1", nil},
		{"GET", "/tickets", nil},
		{"POST", "/admissions", map[string]any{"redeemer": "R", "device": "D", "serials": []string{"GLOBEX-000000000001"}}},
		{"GET", "/admissions", nil},
	}
	for _, rt := range routes {
		t.Run(rt.method+" another organizer's event"+rt.path, func(t *testing.T) {
			r := f.do(t, rt.method, fmt.Sprintf("/v3/events/%d%s", f.foreign.ID, rt.path), f.key, rt.body)
			wantError(t, r, 403, unlisted)
			if m := r.JSON(t); m["message"] != unlisted || len(m) != 2 {
				t.Errorf("body %s", r.Body)
			}
		})
		t.Run(rt.method+" an unknown event"+rt.path, func(t *testing.T) {
			wantError(t, f.do(t, rt.method, "/v3/events/999999"+rt.path, f.key, rt.body), 404, noResource)
		})
	}
}

// sectionID finds a section of an event by name.
func sectionID(t *testing.T, f *fixture, ev *admit.Event, name string) int64 {
	t.Helper()
	secs, err := f.env.Core.Store.Sections(t.Context(), ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secs {
		if s.Name == name {
			return s.ID
		}
	}
	t.Fatalf("no section %q", name)
	return 0
}

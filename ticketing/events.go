package ticketing

import (
	"net/http"
	"time"

	"github.com/admitdev/admit"
)

// The values admit gives what it does not keep of an event.
const (
	eventStatus = "Published" // every imported event is live
	eventType   = "Standard"
	// placeholderID is the id of the category, venue and region every
	// event carries: admit keeps none of them.
	placeholderID = "0"
)

// eventJSON is an event as the SDK reads it. admit has no categories, venues
// or regions: the event carries placeholder objects (id 0) of the shape the
// SDK expects, and the venue names the event's time zone as its region.
// start and end are the event's local date and time, as TickeTing writes
// them ("2034-06-07T20:00"); admit keeps no images: banner and thumbnail are
// null; nobody rates admit's events: popularity is 0.
func eventJSON(ev *admit.Event, secs []*admit.Section) map[string]any {
	sections := make([]sectionJSON, len(secs))
	for i, s := range secs {
		// Inside an event, a section's self is relative to the event.
		sections[i] = sectionJSON{Self: "/sections/" + itoa(s.ID), Name: s.Name, Description: s.Description}
	}
	return map[string]any{
		"self":        eventURI(ev.ID),
		"title":       ev.Name,
		"description": "",
		"status":      eventStatus,
		"type":        eventType,
		"public":      true,
		"published":   optDate(ev.CreatedAt),
		"start":       localDate(ev.DateFrom, ev.Timezone),
		"end":         localDate(ev.DateTo, ev.Timezone),
		"category":    map[string]any{"self": "/categories/" + placeholderID, "name": "", "subcategories": []any{}},
		"subcategory": "",
		"venue": map[string]any{
			"self": "/venues/" + placeholderID, "name": "", "address": "", "longitude": 0, "latitude": 0, "map": "",
			"region": map[string]any{"self": "/regions/" + placeholderID, "name": ev.Timezone, "country": "", "district": "", "city": "", "icon": ""},
		},
		"disclaimer": "",
		"tags":       []string{},
		"popularity": 0,
		"banner":     nil,
		"thumbnail":  nil,
		"sections":   sections,
	}
}

// localDate is how TickeTing writes an event's start and end: the local
// date and time at the event ("2034-06-07T20:00"), in its time zone (UTC
// when it has none or an unknown one); null when unset.
func localDate(t time.Time, tz string) any {
	if t.IsZero() {
		return nil
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "" {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02T15:04")
}

// listEvents: GET /events → the management key's organizer's events,
// filtered, sorted and paged as the SDK asks (see eventQuery).
func (h *Handler) listEvents(w http.ResponseWriter, r *http.Request) {
	c, err := h.authenticate(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if c.staff() {
		h.fail(w, r, errRestricted)
		return
	}
	q, err := parseEventQuery(r.URL.Query())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx := r.Context()
	evs, err := h.core.Store.Events(ctx, c.key.OrganizerID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := h.core.Now()
	var found []listedEvent
	for _, ev := range evs {
		if c.key.EventID != 0 && ev.ID != c.key.EventID {
			continue
		}
		secs, err := h.core.Store.Sections(ctx, ev.ID)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		le := listedEvent{ev: ev, sections: secs}
		if q.matches(le, c.key.OrganizerID, now) {
			found = append(found, le)
		}
	}
	q.sort(found)
	entries := []map[string]any{}
	for i := q.page.offset(); i < len(found) && i < q.page.offset()+q.page.records; i++ {
		entries = append(entries, eventJSON(found[i].ev, found[i].sections))
	}
	h.writeList(w, r, q.page, len(found), entries)
}

// getEvent: GET /events/{event}.
func (h *Handler) getEvent(w http.ResponseWriter, r *http.Request) {
	_, ev, err := h.event(r, manage)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// Every event has its global token from its first use here on.
	if _, err := h.core.EnsureGlobalToken(r.Context(), ev); err != nil {
		h.fail(w, r, err)
		return
	}
	secs, err := h.core.Store.Sections(r.Context(), ev.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, eventJSON(ev, secs))
}

// getSection: GET /events/{event}/sections/{section}, so that the section
// URIs this API hands out name a resource.
func (h *Handler) getSection(w http.ResponseWriter, r *http.Request) {
	_, ev, err := h.event(r, manage)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	id, err := pathID(r, "section")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	secs, err := h.core.Store.Sections(r.Context(), ev.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, s := range secs {
		if s.ID == id {
			writeJSON(w, http.StatusOK, sectionJSON{Self: sectionURI(ev.ID, s.ID), Name: s.Name, Description: s.Description})
			return
		}
	}
	h.fail(w, r, errNoResource)
}

package ticketing

import (
	"context"
	"net/http"

	"github.com/admitdev/admit"
)

// eventJSON is an event as the SDK reads it. admit has no categories, venues
// or regions: the event carries placeholder objects (id 0) of the shape the
// SDK expects, and the venue names the event's time zone as its region.
func (h *Handler) eventJSON(ctx context.Context, ev *admit.Event) (map[string]any, error) {
	secs, err := h.core.Store.Sections(ctx, ev.ID)
	if err != nil {
		return nil, err
	}
	sections := make([]sectionJSON, len(secs))
	for i, s := range secs {
		// Inside an event, a section's self is relative to the event.
		sections[i] = sectionJSON{Self: "/sections/" + itoa(s.ID), Name: s.Name, Description: s.Description}
	}
	return map[string]any{
		"self":        eventURI(ev.ID),
		"title":       ev.Name,
		"description": "",
		"status":      "Published",
		"type":        "Public",
		"public":      true,
		"published":   optDate(ev.CreatedAt),
		"start":       optDate(ev.DateFrom),
		"end":         optDate(ev.DateTo),
		"category":    map[string]any{"self": "/categories/0", "name": "", "subcategories": []any{}},
		"subcategory": "",
		"venue": map[string]any{
			"self": "/venues/0", "name": "", "address": "", "longitude": 0, "latitude": 0, "map": "",
			"region": map[string]any{"self": "/regions/0", "name": ev.Timezone, "country": "", "district": "", "city": "", "icon": ""},
		},
		"disclaimer": "",
		"tags":       []string{},
		"popularity": 0,
		"banner":     "",
		"thumbnail":  "",
		"sections":   sections,
	}, nil
}

// listEvents: GET /events → the management key's organizer's events, oldest first.
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
	p, err := parsePagination(r.URL.Query())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	evs, err := h.core.Store.Events(r.Context(), c.key.OrganizerID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if c.key.EventID != 0 {
		var mine []*admit.Event
		for _, ev := range evs {
			if ev.ID == c.key.EventID {
				mine = append(mine, ev)
			}
		}
		evs = mine
	}
	entries := []map[string]any{}
	for i := p.offset(); i < len(evs) && i < p.offset()+p.records; i++ {
		e, err := h.eventJSON(r.Context(), evs[i])
		if err != nil {
			h.fail(w, r, err)
			return
		}
		entries = append(entries, e)
	}
	h.writeList(w, r, p, len(evs), entries)
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
	e, err := h.eventJSON(r.Context(), ev)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
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

package api

import (
	"net/http"
	"time"

	"github.com/admitdev/admit"
)

type eventOut struct {
	UUID       string      `json:"uuid"`
	Slug       string      `json:"slug"`
	Name       string      `json:"name"`
	DateFrom   *time.Time  `json:"date_from"`
	DateTo     *time.Time  `json:"date_to"`
	Timezone   string      `json:"timezone"`
	Lists      []listOut   `json:"lists"`
	Sections   []sectOut   `json:"sections"`
	PublicKeys []string    `json:"public_keys"`
	Counts     *eventCount `json:"counts,omitempty"`
}

type listOut struct {
	UUID                 string `json:"uuid"`
	Name                 string `json:"name"`
	Default              bool   `json:"default"`
	Capacity             *int   `json:"capacity"`
	AllowMultipleEntries bool   `json:"allow_multiple_entries"`
	AllowEntryAfterExit  bool   `json:"allow_entry_after_exit"`
}

type sectOut struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Capacity    *int   `json:"capacity"`
}

type eventCount struct {
	Tickets int `json:"tickets"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// eventOf builds an event's answer: its lists and sections too.
func (h *Handler) eventOf(r *http.Request, ev *admit.Event, counts bool) (*eventOut, error) {
	ctx := r.Context()
	out := &eventOut{UUID: ev.UUID, Slug: ev.Slug, Name: ev.Name, DateFrom: optTime(ev.DateFrom), DateTo: optTime(ev.DateTo),
		Timezone: ev.Timezone, Lists: []listOut{}, Sections: []sectOut{}, PublicKeys: []string{ev.PublicKeyPEM}}
	lists, err := h.core.Store.Lists(ctx, ev.ID)
	if err != nil {
		return nil, err
	}
	for _, l := range lists {
		out.Lists = append(out.Lists, listOut{UUID: l.UUID, Name: l.Name, Default: l.IsDefault, Capacity: l.Capacity,
			AllowMultipleEntries: l.AllowMultipleEntries, AllowEntryAfterExit: l.AllowEntryAfterExit})
	}
	sections, err := h.core.Store.Sections(ctx, ev.ID)
	if err != nil {
		return nil, err
	}
	for _, s := range sections {
		out.Sections = append(out.Sections, sectOut{Name: s.Name, Description: s.Description, Capacity: s.Capacity})
	}
	if counts {
		_, n, err := h.core.Store.FindTickets(ctx, admit.TicketFilter{EventID: ev.ID, Limit: 1, Count: true})
		if err != nil {
			return nil, err
		}
		out.Counts = &eventCount{Tickets: n}
	}
	return out, nil
}

type meOut struct {
	Organizer orgOut   `json:"organizer"`
	Role      string   `json:"role"`
	Device    *namedID `json:"device"`
}

type orgOut struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
}

type namedID struct {
	UUID string `json:"uuid"`
	Name string `json:"name"`
}

func (h *Handler) me(w http.ResponseWriter, r *http.Request, c *admit.Caller) {
	org, err := h.core.Store.Organizer(r.Context(), c.OrganizerID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := meOut{Organizer: orgOut{Slug: org.Slug, Name: org.Name}, Role: string(c.Role)}
	if c.Device != nil {
		out.Device = &namedID{UUID: c.Device.UUID, Name: c.Device.Name}
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) listEvents(w http.ResponseWriter, r *http.Request, c *admit.Caller) {
	evs, err := h.core.Store.Events(r.Context(), c.OrganizerID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := struct {
		Events []*eventOut `json:"events"`
	}{Events: []*eventOut{}}
	for _, ev := range evs {
		if !c.CanSeeEvent(ev) {
			continue
		}
		e, err := h.eventOf(r, ev, false)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		out.Events = append(out.Events, e)
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) getEvent(w http.ResponseWriter, r *http.Request, c *admit.Caller) {
	ev, err := h.event(r.Context(), r, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.eventOf(r, ev, true)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

package tibillet

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/admitdev/admit"
)

// publicEvent is an event as TiBillet's public events API gives it and the
// Scan app reads it: it lists the events to choose from and keeps each
// one's public key to verify QR codes offline.
type publicEvent struct {
	UUID         string  `json:"uuid"`
	Name         string  `json:"name"`
	Slug         string  `json:"slug"`
	Description  string  `json:"description"`
	StartDate    *string `json:"startDate"`
	EndDate      *string `json:"endDate"`
	URL          string  `json:"url"`
	PublicKeyPEM string  `json:"publicKeyPem"`
}

func (h *Handler) publicEvent(org *admit.Organizer, ev *admit.Event) publicEvent {
	return publicEvent{
		UUID: ev.UUID, Name: ev.Name, Slug: ev.Slug,
		StartDate: pythonISO(ev.DateFrom), EndDate: pythonISO(ev.DateTo),
		URL:          h.opts.PublicURL + "/o/" + url.PathEscape(org.Slug) + "/api/events/" + ev.UUID + "/",
		PublicKeyPEM: ev.PublicKeyPEM,
	}
}

// ended reports whether an event is over at now: its end has passed; for
// an event with a start and no end, a day after its start (TiBillet's
// future events start from the day before now).
func ended(ev *admit.Event, now time.Time) bool {
	switch {
	case !ev.DateTo.IsZero():
		return ev.DateTo.Before(now)
	case !ev.DateFrom.IsZero():
		return ev.DateFrom.Before(now.Add(-24 * time.Hour))
	}
	return false
}

// eventsOrganizer is the organizer of the events API's URL: an unknown one
// has no events to show (404, as TiBillet answers a tenant it does not
// serve).
func (h *Handler) eventsOrganizer(w http.ResponseWriter, r *http.Request) *admit.Organizer {
	org, err := h.urlOrganizer(r)
	if err == nil && org == nil {
		err = admit.Errorf(admit.EInternal, "events route without an organizer")
	}
	if admit.IsNotFound(err) {
		notFound(w, r)
		return nil
	}
	if err != nil {
		h.writeError(w, r, err)
		return nil
	}
	return org
}

// listEvents is GET /api/events: the organizer's events, latest start
// first as TiBillet lists them; with only_futur=true, those not over.
// Public, as TiBillet's: the app calls it without a key.
func (h *Handler) listEvents(w http.ResponseWriter, r *http.Request) {
	org := h.eventsOrganizer(w, r)
	if org == nil {
		return
	}
	evs, err := h.core.Store.Events(r.Context(), org.ID)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	future := isTrue(r.URL.Query().Get("only_futur"))
	now := h.core.Now()
	out := make([]publicEvent, 0, len(evs))
	keep := make([]*admit.Event, 0, len(evs))
	for _, ev := range evs {
		if !future || !ended(ev, now) {
			keep = append(keep, ev)
		}
	}
	slices.SortStableFunc(keep, func(a, b *admit.Event) int {
		switch {
		case a.DateFrom.IsZero() != b.DateFrom.IsZero():
			if a.DateFrom.IsZero() {
				return 1 // undated last
			}
			return -1
		}
		return b.DateFrom.Compare(a.DateFrom)
	})
	for _, ev := range keep {
		out = append(out, h.publicEvent(org, ev))
	}
	writeJSON(w, http.StatusOK, out)
}

// getEvent is GET /api/events/{uuid}: one of the organizer's events; any
// other uuid is 404.
func (h *Handler) getEvent(w http.ResponseWriter, r *http.Request) {
	org := h.eventsOrganizer(w, r)
	if org == nil {
		return
	}
	u := strings.ToLower(r.PathValue("uuid"))
	if !admit.ValidUUID(u) {
		notFound(w, r)
		return
	}
	ev, err := h.core.Store.EventByUUID(r.Context(), u)
	if admit.IsNotFound(err) || (err == nil && ev.OrganizerID != org.ID) {
		notFound(w, r)
		return
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h.publicEvent(org, ev))
}

// isTrue reads a query flag as Django does for true: "true", "True" or "1".
func isTrue(v string) bool { return v == "true" || v == "True" || v == "1" }

package web

import (
	"net/http"

	"github.com/admitdev/admit"
)

// The dashboard's pages. Each is rendered whole on the server from what
// the core knows (the event, its lists and sections); its script then
// fills in what moves (counts, scans, devices) from admit's API.

type eventsData struct {
	Events []*admit.Event
}

func (h *Handler) eventsPage(w http.ResponseWriter, r *http.Request, s *admit.Session) {
	evs, err := h.core.Store.Events(r.Context(), s.OrganizerID)
	if err != nil {
		h.errorPage(w, r, s, err)
		return
	}
	p := &page{Title: "Events", View: "events", Nav: "events", Data: eventsData{Events: evs}}
	h.fillSession(r, p, s)
	h.render(w, r, http.StatusOK, p)
}

// sessionEvent returns the event named by the path's {event} if it is one
// of the session's organizer's; else ENotFound.
func (h *Handler) sessionEvent(r *http.Request, s *admit.Session) (*admit.Event, error) {
	uuid := r.PathValue("event")
	if !admit.ValidUUID(uuid) {
		return nil, admit.Errorf(admit.ENotFound, "There is no such event.")
	}
	ev, err := h.core.ScopeEvent(r.Context(), s.OrganizerID, 0, uuid)
	if err != nil {
		if admit.IsNotFound(err) {
			return nil, admit.Errorf(admit.ENotFound, "There is no such event among your events.")
		}
		return nil, err
	}
	return ev, nil
}

type eventData struct {
	Lists    []*admit.CheckinList
	Sections []*admit.Section
}

// eventPageData reads the event of the path with its lists and sections.
func (h *Handler) eventPageData(w http.ResponseWriter, r *http.Request, s *admit.Session, view, nav, title string) {
	ev, err := h.sessionEvent(r, s)
	if err != nil {
		h.errorPage(w, r, s, err)
		return
	}
	lists, err := h.core.Store.Lists(r.Context(), ev.ID)
	if err != nil {
		h.errorPage(w, r, s, err)
		return
	}
	secs, err := h.core.Store.Sections(r.Context(), ev.ID)
	if err != nil {
		h.errorPage(w, r, s, err)
		return
	}
	p := &page{Title: title + " · " + ev.Name, View: view, Nav: nav, Event: ev, Script: "js/" + view + ".js",
		Data: eventData{Lists: lists, Sections: secs}}
	h.fillSession(r, p, s)
	h.render(w, r, http.StatusOK, p)
}

func (h *Handler) eventPage(w http.ResponseWriter, r *http.Request, s *admit.Session) {
	h.eventPageData(w, r, s, "event", "live", "Live")
}

func (h *Handler) devicesPage(w http.ResponseWriter, r *http.Request, s *admit.Session) {
	h.eventPageData(w, r, s, "devices", "devices", "Devices")
}

func (h *Handler) ticketsPage(w http.ResponseWriter, r *http.Request, s *admit.Session) {
	h.eventPageData(w, r, s, "tickets", "tickets", "Tickets")
}

func (h *Handler) importPage(w http.ResponseWriter, r *http.Request, s *admit.Session) {
	evs, err := h.core.Store.Events(r.Context(), s.OrganizerID)
	if err != nil {
		h.errorPage(w, r, s, err)
		return
	}
	p := &page{Title: "Import", View: "import", Nav: "import", Script: "js/import.js", Data: eventsData{Events: evs}}
	h.fillSession(r, p, s)
	h.render(w, r, http.StatusOK, p)
}

// scannerPage is the browser scanner: public, since it authenticates with
// the paired device's key, which it keeps in the browser.
func (h *Handler) scannerPage(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, &page{Title: "Scanner", View: "scanner", Script: "js/scanner.js", BodyClass: "scanner"})
}

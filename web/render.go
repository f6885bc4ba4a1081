package web

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"time"

	"github.com/admitdev/admit"
)

// views maps each page to its template file; every view is parsed once at
// start with the layout, and a missing one fails at start.
var views = []string{"signin", "signin_link", "error", "events", "event", "devices", "tickets", "import", "scanner"}

type templates struct {
	byView map[string]*template.Template
}

func mustTemplates(st *staticFiles) *templates {
	funcs := template.FuncMap{
		"static": st.URL,
		"date": func(t time.Time, tz string) string {
			if t.IsZero() {
				return ""
			}
			if loc, err := time.LoadLocation(tz); err == nil {
				t = t.In(loc)
			}
			return t.Format("Mon 2 Jan 2006, 15:04")
		},
	}
	ts := &templates{byView: map[string]*template.Template{}}
	for _, v := range views {
		t := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+v+".html"))
		ts.byView[v] = t
	}
	return ts
}

// page is what every view gets.
type page struct {
	Title     string
	View      string
	Script    string // the page's ES module (a static file), if any
	Org       *admit.Organizer
	CSRF      string // the session's CSRF token (or the sign-in form's)
	Event     *admit.Event
	Nav       string // the active navigation item
	BodyClass string
	Data      any
}

// render writes a view whole, or a plain 500 if it fails to render.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, p *page) {
	t, ok := h.tpl.byView[p.View]
	if !ok {
		h.log.Error("web: no such view", "view", p.View)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var b bytes.Buffer
	if err := t.Execute(&b, p); err != nil {
		h.log.Error("web: render", "view", p.View, "route", r.Pattern, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// errorPage renders a clear page for err: its message for the client's
// mistakes, a generic one (and a log line) for internal errors.
func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, s *admit.Session, err error) {
	status, title := statusOf(err)
	if status == admit.StatusClientClosed || status == http.StatusInternalServerError && r.Context().Err() != nil {
		w.WriteHeader(admit.StatusClientClosed) // the client went away
		return
	}
	if status == http.StatusInternalServerError {
		h.log.Error("web: internal error", "route", r.Pattern, "err", err)
	}
	p := &page{Title: title, View: "error", Data: map[string]string{"Message": admit.ErrorMessage(err)}}
	if status == http.StatusInternalServerError {
		p.Data = map[string]string{"Message": "Something went wrong on the server. Try again; if it persists, the server's log says why."}
	}
	if s != nil {
		h.fillSession(r, p, s)
	}
	h.render(w, r, status, p)
}

func statusOf(err error) (int, string) {
	switch admit.ErrorCode(err) {
	case admit.EInvalid:
		return http.StatusBadRequest, "That did not work"
	case admit.ENotFound:
		return http.StatusNotFound, "Not found"
	case admit.EConflict:
		return http.StatusConflict, "Already done"
	case admit.EUnauthorized:
		return http.StatusUnauthorized, "Not signed in"
	case admit.EForbidden:
		return http.StatusForbidden, "Refused"
	case admit.ESigninExpired:
		return http.StatusGone, "Link expired"
	case admit.ERateLimited:
		return http.StatusTooManyRequests, "Too many attempts"
	case admit.ECanceled:
		return admit.StatusClientClosed, "Canceled"
	}
	return http.StatusInternalServerError, "Server error"
}

// fillSession adds the signed-in organizer to a page.
func (h *Handler) fillSession(r *http.Request, p *page, s *admit.Session) {
	p.CSRF = s.CSRF
	org, err := h.core.Store.Organizer(r.Context(), s.OrganizerID)
	if err == nil {
		p.Org = org
	} else if !errors.Is(err, r.Context().Err()) {
		h.log.Warn("web: organizer of session", "err", err)
	}
}

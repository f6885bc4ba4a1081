// Package pretixdroid serves the pretixdroid wire dialect on the admit core. It only decodes
// requests, calls the core and encodes the core's answers.
//
// The API is pretix's pretixdroid plugin (API versions 2 and 3), served under
// /pretixdroid/api/{organizer}/{event}/ and, for event series,
// /pretixdroid/api/{organizer}/{event}/{subevent}/, each with redeem/,
// search/, status/ and download/. Every request carries ?key=, an app
// configuration's key bound to one check-in list.
package pretixdroid

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/admitdev/admit"
)

// APIVersion is the version every answer carries: pretix's later server
// answers 3, with the fields of version 2 and more.
const APIVersion = 3

// Options configures the dialect.
type Options struct {
	Logger    *slog.Logger
	PublicURL string // the server's public base URL, without a trailing slash
}

// Handler serves the dialect's routes.
type Handler struct {
	core *admit.Core
	log  *slog.Logger
	opts Options
}

// New returns the dialect's handler on core.
func New(core *admit.Core, opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Handler{core: core, log: opts.Logger, opts: opts}
}

// Register adds every route of the dialect to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	for _, rt := range h.routes() {
		mux.Handle(rt.pattern, h.api(rt.fn))
	}
}

type route struct {
	pattern string
	fn      apiFunc
}

// routes is every route of the dialect: the one table Register and Routes
// read.
func (h *Handler) routes() []route {
	var out []route
	for _, base := range []string{
		"/pretixdroid/api/{organizer}/{event}/",
		"/pretixdroid/api/{organizer}/{event}/{subevent}/",
	} {
		out = append(out,
			route{"POST " + base + "redeem/{$}", h.redeem},
			route{"GET " + base + "search/{$}", h.search},
			route{"GET " + base + "status/{$}", h.status},
			route{"GET " + base + "download/{$}", h.download})
	}
	return out
}

// Routes lists the pattern of every route, for the tests that must cover
// them all.
func (h *Handler) Routes() []string {
	var out []string
	for _, rt := range h.routes() {
		out = append(out, rt.pattern)
	}
	return out
}

// scope is what a request's URL and key resolve to.
type scope struct {
	org   *admit.Organizer
	event *admit.Event
	key   *admit.APIKey
	list  *admit.CheckinList
	// subevent is the date the request is for: the list's, else the
	// URL's; nil for an event that is no series.
	subevent *admit.Subevent
}

// subeventID is the scope's date id, 0 for none.
func (s *scope) subeventID() int64 {
	if s.subevent == nil {
		return 0
	}
	return s.subevent.ID
}

type apiFunc func(w http.ResponseWriter, r *http.Request, s *scope) error

// api resolves the scope of a request (event, key, date, in pretix's order
// of errors) and calls f; an error of either goes through writeError.
func (h *Handler) api(f apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := h.resolve(r)
		if err == nil {
			err = f(w, r, s)
		}
		if err != nil {
			h.writeError(w, r, err)
		}
	})
}

// resolve checks, in pretix's order: the organizer and event (404 "Unknown
// event"), the key (403 "Invalid key"), then the date of an event series.
func (h *Handler) resolve(r *http.Request) (*scope, error) {
	ctx := r.Context()
	unknownEvent := admit.Errorf(admit.ENotFound, "Unknown event")
	org, err := h.core.Store.OrganizerBySlug(ctx, r.PathValue("organizer"))
	if admit.IsNotFound(err) {
		return nil, unknownEvent
	} else if err != nil {
		return nil, err
	}
	ev, err := h.core.Store.EventBySlug(ctx, org.ID, r.PathValue("event"))
	if admit.IsNotFound(err) {
		return nil, unknownEvent
	} else if err != nil {
		return nil, err
	}
	invalidKey := admit.Errorf(admit.EForbidden, "Invalid key")
	key, err := h.core.Authenticate(ctx, r.URL.Query().Get("key"), admit.KeyPretixdroid)
	if admit.ErrorCode(err) == admit.EUnauthorized {
		return nil, invalidKey
	} else if err != nil {
		return nil, err
	}
	if key.EventID != ev.ID {
		return nil, invalidKey
	}
	var list *admit.CheckinList
	if key.ListID != 0 {
		list, err = h.core.Store.List(ctx, key.ListID)
	} else {
		list, err = h.core.Store.DefaultList(ctx, ev.ID)
	}
	if admit.IsNotFound(err) {
		return nil, invalidKey
	} else if err != nil {
		return nil, err
	}
	if list.EventID != ev.ID {
		return nil, invalidKey
	}
	s := &scope{org: org, event: ev, key: key, list: list}
	s.subevent, err = h.resolveSubevent(r, s)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// resolveSubevent applies pretix's rules for event series: a list bound to
// a date fixes the date, and a URL naming another is refused; a list for
// every date takes the URL's, which must name a date of the event (the
// date a key's setup URL named does not bind it).
func (h *Handler) resolveSubevent(r *http.Request, s *scope) (*admit.Subevent, error) {
	ctx := r.Context()
	urlSub, inURL := r.PathValue("subevent"), r.PathValue("subevent") != ""
	subs, err := h.core.Store.Subevents(ctx, s.event.ID)
	if err != nil {
		return nil, err
	}
	if len(subs) == 0 {
		if inURL {
			return nil, admit.Errorf(admit.EForbidden, "Subevents not enabled.")
		}
		return nil, nil
	}
	byID := func(id int64) *admit.Subevent {
		for _, sub := range subs {
			if sub.ID == id {
				return sub
			}
		}
		return nil
	}
	if bound := s.list.SubeventID; bound != 0 {
		if inURL && urlSub != strconv.FormatInt(bound, 10) {
			return nil, admit.Errorf(admit.EForbidden, "Invalid subevent selected.")
		}
		sub := byID(bound)
		if sub == nil {
			return nil, admit.Errorf(admit.EInternal, "list %d bound to a missing subevent %d", s.list.ID, bound)
		}
		return sub, nil
	}
	if !inURL {
		return nil, admit.Errorf(admit.EForbidden, "No subevent selected.")
	}
	id, err := strconv.ParseInt(urlSub, 10, 64)
	var sub *admit.Subevent
	if err == nil {
		sub = byID(id)
	}
	if sub == nil {
		return nil, admit.Errorf(admit.ENotFound, "Unknown subevent")
	}
	return sub, nil
}

// writeError is the one mapping of admit errors to this dialect's answers:
// plain text, as pretix answers its errors. Internal details go to the log.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	msg := "Internal server error"
	switch admit.RequestErrorCode(r.Context(), err) {
	case admit.ECanceled:
		// The client went away: no error of ours.
		status, msg = admit.StatusClientClosed, "Request canceled"
	case admit.ERateLimited:
		status, msg = http.StatusTooManyRequests, admit.ErrorMessage(err)
		w.Header().Set("Retry-After", strconv.Itoa(admit.RetryAfter(h.core.Now())))
	case admit.EInvalid:
		status, msg = http.StatusBadRequest, admit.ErrorMessage(err)
	case admit.ENotFound:
		status, msg = http.StatusNotFound, admit.ErrorMessage(err)
	case admit.EUnauthorized, admit.EForbidden:
		status, msg = http.StatusForbidden, admit.ErrorMessage(err)
	case admit.EConflict:
		status, msg = http.StatusConflict, admit.ErrorMessage(err)
	default:
		// The query holds the key: log the path only.
		h.log.Error("pretixdroid: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write([]byte(msg))
}

// writeJSON answers 200 with v as JSON.
func (h *Handler) writeJSON(w http.ResponseWriter, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return admit.WrapInternal(err, "encode answer")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	return nil
}

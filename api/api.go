// Package api serves admit's own HTTP API, v1, under /api/v1/: JSON in and
// out, described by the OpenAPI 3.1 document it serves at
// /api/v1/openapi.json. Like every door it only decodes, calls the core and
// encodes: the admission rules stay in the core, the SQL in the store.
//
// Clients authenticate with "Authorization: Bearer KEY": an organizer's
// key (admin or scanner role) or a paired device's key (scanner, for its
// event). The web pages' session is accepted too, through Options.Session.
// Errors are RFC 9457 problem details.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/admitdev/admit"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v1"

// Options configures the API.
type Options struct {
	Logger    *slog.Logger
	PublicURL string // the server's public base URL, without a trailing slash
	// Live carries recorded scans to the /live stream; nil: the stream
	// only sends occupancy and pings.
	Live admit.Live
	// Session authenticates a request by the web pages' session, if it
	// carries one (nil, nil if not). For methods other than GET and HEAD it
	// must also check the request's CSRF token (EForbidden when wrong).
	Session func(r *http.Request) (*admit.Caller, error)
	// OccupancyEvery is the least time between two occupancy events of the
	// live stream (default 250 ms); PingEvery between two keep-alive
	// comments (default 15 s).
	OccupancyEvery, PingEvery time.Duration
}

// Handler serves the API.
type Handler struct {
	core *admit.Core
	log  *slog.Logger
	opts Options

	occMu sync.Mutex
	occ   map[int64]*occupancyCache
}

// New returns the API on core.
func New(core *admit.Core, opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.OccupancyEvery <= 0 {
		opts.OccupancyEvery = 250 * time.Millisecond
	}
	if opts.PingEvery <= 0 {
		opts.PingEvery = 15 * time.Second
	}
	return &Handler{core: core, log: opts.Logger, opts: opts, occ: map[int64]*occupancyCache{}}
}

// route is one route of the API: every route is listed in routes, the one
// place to read them; the OpenAPI test checks each is documented.
type route struct {
	pattern string // method and path, as http.ServeMux takes it
	auth    bool
	admin   bool // needs the admin role
	fn      func(w http.ResponseWriter, r *http.Request, c *admit.Caller)
}

func (h *Handler) routes() []route {
	return []route{
		{"GET /api/v1/openapi.json", false, false, h.openapi},
		{"POST /api/v1/pair", false, false, h.pair},
		{"GET /api/v1/me", true, false, h.me},
		{"GET /api/v1/events", true, false, h.listEvents},
		{"GET /api/v1/events/{event}", true, false, h.getEvent},
		{"GET /api/v1/events/{event}/occupancy", true, false, h.occupancy},
		{"GET /api/v1/events/{event}/live", true, false, h.live},
		{"POST /api/v1/events/{event}/scans", true, false, h.scan},
		{"GET /api/v1/events/{event}/scans", true, false, h.listScans},
		{"POST /api/v1/events/{event}/scans/offline", true, false, h.uploadOffline},
		{"GET /api/v1/events/{event}/scans/{scan}/proof", true, false, h.proveScan},
		{"GET /api/v1/events/{event}/offline", true, false, h.offlineSnapshot},
		{"GET /api/v1/events/{event}/conflicts", true, false, h.listConflicts},
		{"GET /api/v1/events/{event}/tickets", true, false, h.searchTickets},
		{"GET /api/v1/events/{event}/tickets/{ticket}", true, false, h.getTicket},
		{"POST /api/v1/events/{event}/tickets/{ticket}/checkin", true, false, h.checkinTicket},
		{"POST /api/v1/events/{event}/tickets/{ticket}/block", true, true, h.blockTicket},
		{"POST /api/v1/events/{event}/tickets/{ticket}/unblock", true, true, h.unblockTicket},
		{"GET /api/v1/events/{event}/devices", true, true, h.listDevices},
		{"POST /api/v1/devices", true, true, h.createDevice},
		{"POST /api/v1/devices/{device}/archive", true, true, h.archiveDevice},
		{"POST /api/v1/imports", true, true, h.importJSON},
		{"POST /api/v1/events/{event}/imports/csv", true, true, h.importCSV},
	}
}

// Routes lists the pattern of every route, for the document's test.
func (h *Handler) Routes() []string {
	var out []string
	for _, rt := range h.routes() {
		out = append(out, rt.pattern)
	}
	return out
}

// Register adds every route to mux. Paths under /api/ that match no
// route, or a route with another method, get a problem answer.
func (h *Handler) Register(mux *http.ServeMux) {
	in := http.NewServeMux()
	for _, rt := range h.routes() {
		in.Handle(rt.pattern, h.handle(rt))
	}
	in.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		h.problem(w, r, http.StatusNotFound, "not_found", "Not found", "There is no route "+r.Method+" "+r.URL.Path+" in admit's API.")
	})
	mux.Handle("/api/", h.guard(in))
}

// guard wraps the API's mux: a panic is a logged 500 problem; CORS lets
// other origins call with a bearer key (never with cookies); a route with
// another method is a 405 problem, not ServeMux's plain text.
func (h *Handler) guard(in *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.log.Error("api: panic serving request", "method", r.Method, "route", r.Pattern, "panic", v, "stack", string(debug.Stack()))
				h.problem(w, r, http.StatusInternalServerError, "internal", "Internal error", "The server failed to answer; the error is logged.")
			}
		}()
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST")
			w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept")
			w.Header().Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		_, pattern := in.Handler(r)
		if pattern == "/api/" && r.Method != http.MethodGet {
			// A known path with another method?
			for _, m := range []string{http.MethodGet, http.MethodPost} {
				probe := r.Clone(r.Context())
				probe.Method = m
				if _, p := in.Handler(probe); p != "/api/" && p != "" {
					w.Header().Set("Allow", m)
					h.problem(w, r, http.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed",
						r.Method+" is not allowed on "+r.URL.Path+"; use "+m+".")
					return
				}
			}
		}
		in.ServeHTTP(w, r)
	})
}

// handle authenticates (where the route needs it) and calls the route.
func (h *Handler) handle(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !rt.auth {
			rt.fn(w, r, nil)
			return
		}
		c, err := h.caller(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if rt.admin && c.Role != admit.RoleAdmin {
			h.fail(w, r, admit.Errorf(admit.EForbidden, "this needs an admin key; a scanner may scan, check, search and read occupancy"))
			return
		}
		rt.fn(w, r, c)
	})
}

// caller authenticates a request by its bearer key, else by the web
// session; neither is EUnauthorized.
func (h *Handler) caller(r *http.Request) (*admit.Caller, error) {
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, key, ok := strings.Cut(strings.TrimSpace(auth), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
			return nil, admit.Errorf(admit.EUnauthorized, `the Authorization header must be "Bearer KEY"`)
		}
		return h.core.AuthenticateCaller(r.Context(), strings.TrimSpace(key))
	}
	if h.opts.Session != nil {
		c, err := h.opts.Session(r)
		if err != nil || c != nil {
			return c, err
		}
	}
	return nil, admit.Errorf(admit.EUnauthorized, `this needs a key: "Authorization: Bearer KEY"`)
}

// event resolves the {event} path parameter for the caller: unknown and
// not the caller's are both 404.
func (h *Handler) event(ctx context.Context, r *http.Request, c *admit.Caller) (*admit.Event, error) {
	return h.core.EventByUUIDFor(ctx, c, r.PathValue("event"))
}

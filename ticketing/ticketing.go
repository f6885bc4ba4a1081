// Package ticketing serves TickeTing's REST API v3 for event admissions
// under /v3/, on the admit core, so that TickeTing's SDK and the staff apps
// built on it work against this server with nothing changed but the base
// URL. It only decodes requests, calls the core and encodes the core's
// answers.
//
// Every request under /v3/ passes, in this order: a browser's CORS
// preflight is answered (any origin: keys travel in headers), then the
// client version (X-Client-Version, 412), the route (unknown endpoint, 404),
// then per endpoint the key (X-API-Key, 401/403; GET /tokens/{code} needs none), the
// event (404 when unknown, 403 when another organizer's) and the key's
// permission on it (403).
package ticketing

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/admitdev/admit"
)

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
	mux  *http.ServeMux
}

// New returns the dialect's handler on core.
func New(core *admit.Core, opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Handler{core: core, log: opts.Logger, opts: opts}
}

// Prefix is where the API is mounted; URIs in answers are relative to it.
const Prefix = "/v3"

type route struct {
	pattern string
	fn      http.HandlerFunc
}

// routes is every route of the dialect: the one table Register and Routes
// read.
func (h *Handler) routes() []route {
	return []route{
		{"GET /v3/events", h.listEvents},
		{"GET /v3/events/{event}", h.getEvent},
		{"GET /v3/events/{event}/sections/{section}", h.getSection},
		{"POST /v3/events/{event}/tokens", h.issueToken},
		{"GET /v3/events/{event}/tokens", h.listTokens},
		{"GET /v3/events/{event}/tokens/{token}", h.getToken},
		{"PUT /v3/events/{event}/tokens/{token}", h.updateToken},
		{"DELETE /v3/events/{event}/tokens/{token}", h.deleteToken},
		{"GET /v3/tokens/{code}", h.login},
		{"GET /v3/events/{event}/tickets", h.listTickets},
		{"POST /v3/events/{event}/admissions", h.admit},
		{"GET /v3/events/{event}/admissions", h.listAdmissions},
	}
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

// Register adds every route of the dialect to mux: everything under /v3/.
func (h *Handler) Register(mux *http.ServeMux) {
	in := http.NewServeMux()
	for _, rt := range h.routes() {
		in.HandleFunc(rt.pattern, rt.fn)
	}
	in.HandleFunc("/v3/", h.unknownEndpoint)
	h.mux = in
	mux.Handle("/v3/", http.HandlerFunc(h.serve))
}

// serve checks the client version before anything else, then routes.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	defer func() {
		// The net under the net: a panic is a bug, answered with the API's
		// 500 and logged without the path (it may hold a token's code).
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.Error("ticketing: panic serving request", "method", r.Method, "route", r.Pattern, "panic", v, "stack", string(debug.Stack()))
			writeJSON(w, http.StatusInternalServerError, map[string]string{"message": msgServerError, "error": msgServerError})
		}
	}()
	// Browsers may call the API from a staff web app: keys travel in
	// headers, never in cookies, so any origin may call it.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		w.Header().Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE")
		w.Header().Set("Access-Control-Allow-Headers", "X-API-Key, X-Client-Version, Content-Type")
		w.Header().Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if !versionOK(r.Header.Get("X-Client-Version")) {
		writeJSON(w, http.StatusPreconditionFailed, map[string]string{
			"error": "Please upgrade your client to complete this request",
		})
		return
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) unknownEndpoint(w http.ResponseWriter, r *http.Request) {
	msg := "The requested endpoint " + strings.TrimPrefix(r.URL.Path, Prefix) + " does not exist on this server."
	writeJSON(w, http.StatusNotFound, map[string]string{"message": msg, "error": msg})
}

// MinClientVersion is the lowest X-Client-Version served.
const MinClientVersion = 3

// versionOK reports whether v is a version (major[.minor[.patch]], with an
// optional -pre-release or +build suffix) of at least 3.0.0.
func versionOK(v string) bool {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	parts := strings.Split(v, ".")
	if len(parts) > 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 9 || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	major, _ := strconv.Atoi(parts[0])
	return major >= MinClientVersion
}

// The texts of the API's errors.
const (
	msgUnauthenticated = "Your request could not be authenticated."
	msgRestricted      = "You are restricted from accessing this resource."
	msgNoResource      = "There is presently no resource with the given URI."
	msgNoPage          = "The specified page does not exist for the given records per page"
	msgServerError     = "There was a server error while excuting this request. Please see system logs for details."
	msgNoAdmission     = "None of the provided ticket serials grants admission to this event"
	msgAreaFull        = "None of the provided ticket serials was admitted: the area is full"
	msgUnknownCode     = "The provided code does not belong to any event token"
	// msgUnlistedEvent is TickeTing's refusal of an event the key has no
	// permission on (the SDK's text for it).
	msgUnlistedEvent = "You are not authorised to access this unlisted event."
)

var (
	errUnauthenticated = admit.Errorf(admit.EUnauthorized, msgUnauthenticated)
	errRestricted      = admit.Errorf(admit.EForbidden, msgRestricted)
	errNoResource      = admit.Errorf(admit.ENotFound, msgNoResource)
	errNoPage          = admit.Errorf(admit.ENotFound, msgNoPage)
	errUnlistedEvent   = admit.Errorf(admit.EForbidden, msgUnlistedEvent)
)

// errRequired is the API's error for missing arguments.
func errRequired(names ...string) error {
	return admit.Errorf(admit.EInvalid, "The following arguments are required, but have not been supplied: %s.", strings.Join(names, ", "))
}

// fail writes err as the API's error answer: the one mapping of the core's
// error codes to this dialect's statuses and bodies. Every body carries its
// text under "error" (where the SDK reads it); 401, 403 and 500 carry it
// under "message" too, as the docs show them. Internal details only go to
// the log.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	msg := admit.ErrorMessage(err)
	status := http.StatusInternalServerError
	both := false
	switch admit.RequestErrorCode(r.Context(), err) {
	case admit.ECanceled:
		// The client went away: no error of ours.
		status, msg = admit.StatusClientClosed, "The request was canceled."
	case admit.EInvalid:
		status = http.StatusBadRequest
	case admit.ENotFound:
		// TickeTing answers an unknown code under "message": both, here.
		status, both = http.StatusNotFound, msg == msgUnknownCode
	case admit.EConflict:
		status = http.StatusConflict
	case admit.EUnauthorized:
		status, msg, both = http.StatusUnauthorized, msgUnauthenticated, true
	case admit.EForbidden:
		status, both = http.StatusForbidden, true
		if msg != msgUnlistedEvent {
			msg = msgRestricted
		}
	case admit.ERateLimited:
		status = http.StatusTooManyRequests
		w.Header().Set("Retry-After", strconv.Itoa(admit.RetryAfter(h.core.Now())))
	default:
		// The route pattern, not the path: a path may hold a token's code.
		h.log.Error("ticketing: request failed", "method", r.Method, "route", r.Pattern, "err", err)
		status, msg, both = http.StatusInternalServerError, msgServerError, true
	}
	body := map[string]string{"error": msg}
	if both {
		body["message"] = msg
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// maxBody bounds a request body.
const maxBody = 1 << 20

// decodeBody reads a JSON object into v. An empty body is an empty object.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	err := dec.Decode(v)
	if errors.Is(err, io.EOF) {
		return nil
	}
	var tooLarge *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
	case errors.As(err, &tooLarge):
		return admit.Errorf(admit.EInvalid, "The request body is larger than %d bytes.", maxBody)
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return admit.Errorf(admit.EInvalid, "The argument %s has the wrong type: %s expected.", typeErr.Field, typeErr.Type.String())
	default:
		return admit.Errorf(admit.EInvalid, "The request body is not a valid JSON object.")
	}
	if dec.More() {
		return admit.Errorf(admit.EInvalid, "The request body holds more than one JSON value.")
	}
	return nil
}

// The TickeTing date format: always UTC, with an explicit +00:00.
const dateLayout = "2006-01-02T15:04:05+00:00"

func formatDate(t time.Time) string {
	return t.UTC().Format(dateLayout)
}

// optDate is a date, or null when unset.
func optDate(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return formatDate(t)
}

// parseQueryDate reads an ISO 8601 date and time with Z or an offset, with or
// without fractions of a second. A "+" of an offset that arrived unescaped in
// a query string has been decoded to a space: it is read as "+".
func parseQueryDate(name, s string) (time.Time, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), " ", "+")
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05.999999999Z07"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, admit.Errorf(admit.EInvalid, "The argument %s must be an ISO 8601 date and time with Z or an offset, e.g. 2026-05-01T12:34:56.789Z.", name)
}

// pathID reads a numeric id from the path; anything else names no resource.
func pathID(r *http.Request, name string) (int64, error) {
	s := r.PathValue(name)
	if s == "" || len(s) > 18 || strings.Trim(s, "0123456789") != "" {
		return 0, errNoResource
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, errNoResource
	}
	return id, nil
}

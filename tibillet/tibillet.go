// Package tibillet serves the TiBillet scanning API (the "Scan" app's API of
// TiBillet's server, Lespass) on the admit core. It only decodes requests,
// calls the core and encodes the core's answers.
//
// Routes, each with and without its trailing slash:
//
//	GET  /scan/{token}/pair      pair a device with its single-use token
//	GET  /scan/test_api/         check the API key (the documented call)
//	GET  /scan/check_api_scan/   check the API key (what the current app calls)
//	POST /scan/check_ticket/     a ticket's state, without scanning it
//	POST /scan/ticket/           scan a ticket
//	POST /scan/list_tickets/     an event's tickets, a page at a time
//	POST /scan/search_ticket/    search an event's tickets
//	GET  /api/events             the organizer's events (public, no key)
//	GET  /api/events/{uuid}      one of them
//
// Every route is served under /o/{organizer} (the prefix of the pair URLs
// admit prints: the app keeps everything before "/scan/" as its base, so
// it sends every call, the public events API included, under it), and the
// /scan/ routes also without it. Under the prefix, a key or pairing token
// of another organizer's device is refused as an unknown one, and the
// events are the organizer's.
//
// Every /scan/ route but pairing needs "Authorization: Api-Key KEY" (the
// keyword in any case). Every answer is JSON; every error carries an
// "error" text, and the authentication errors also TiBillet's "detail".
package tibillet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"

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
}

// New returns the dialect's handler on core.
func New(core *admit.Core, opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Handler{core: core, log: opts.Logger, opts: opts}
}

// Source is the dialect's name in the scan log.
const Source = "tibillet"

// The texts TiBillet answers, which its app recognises.
const (
	msgNoApp          = "No app associated with this key."
	msgPaired         = "Device successfully paired"
	msgKeyValid       = "API key is valid"
	msgRetrieved      = "Ticket information retrieved"
	msgScanned        = "Ticket successfully scanned"
	msgAlreadyScanned = "Ticket already scanned"
	msgQRRequired     = "QR code data is required"
	msgBadFormat      = "Invalid QR code format"
	msgBadEncoding    = "Error decoding QR code data: "
	msgNoUUID         = "Ticket UUID not found in QR code data"
	msgBadSignature   = "Invalid ticket signature"
	msgNotFound       = "Ticket not found"
	msgEventError     = "Event error"
	msgEventRequired  = "Event uuid is required"
	msgSearchRequired = "Search string is required"
)

// OrgPrefix is the prefix under which every route is also served, for the
// organizer named by its {org} slug.
const OrgPrefix = "/o/{org}"

// route is one route of the dialect, served with and without its trailing
// slash; orgOnly: only under OrgPrefix (it needs the organizer).
type route struct {
	method, path string
	handler      http.HandlerFunc
	orgOnly      bool
}

// paths are the paths a route is served at: bare and under OrgPrefix.
func (rt route) paths() []string {
	if rt.orgOnly {
		return []string{OrgPrefix + rt.path}
	}
	return []string{rt.path, OrgPrefix + rt.path}
}

// Routes lists the pattern of every route ("METHOD /path"; each is also
// served with a trailing slash), for the tests that must cover them all.
func (h *Handler) Routes() []string {
	var out []string
	for _, rt := range h.routes() {
		for _, p := range rt.paths() {
			out = append(out, rt.method+" "+p)
		}
	}
	return out
}

// Register adds every route of the dialect to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	for _, rt := range h.routes() {
		for _, prefixed := range rt.paths() {
			for _, path := range []string{prefixed, prefixed + "/{$}"} {
				mux.Handle(rt.method+" "+path, cors(rt.handler))
				// The same path with any other method: a CORS preflight, or 405.
				mux.Handle(path, otherMethod(rt.method))
			}
		}
	}
	// Anything else under /scan/ (and the prefix's /scan/ and /api/) is
	// answered in JSON too.
	for _, path := range []string{"/scan/", OrgPrefix + "/scan/", OrgPrefix + "/api/"} {
		mux.Handle(path, cors(http.HandlerFunc(notFound)))
	}
}

// routes is every route of the dialect: the one table Register and Routes
// read.
func (h *Handler) routes() []route {
	return []route{
		{http.MethodGet, "/scan/{token}/pair", h.pair, false},
		{http.MethodGet, "/scan/test_api", h.device(h.testAPI), false},
		{http.MethodGet, "/scan/check_api_scan", h.device(h.checkAPIScan), false},
		{http.MethodPost, "/scan/check_ticket", h.scanner(h.checkTicket), false},
		{http.MethodPost, "/scan/ticket", h.scanner(h.scanTicket), false},
		{http.MethodPost, "/scan/list_tickets", h.device(h.listTickets), false},
		{http.MethodPost, "/scan/search_ticket", h.device(h.searchTicket), false},
		{http.MethodGet, "/api/events", h.listEvents, true},
		{http.MethodGet, "/api/events/{uuid}", h.getEvent, true},
	}
}

// cors lets the app's web view (a Cordova app: another origin) call the
// API. Keys travel in a header, never in cookies, so any origin may.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		next.ServeHTTP(w, r)
	})
}

func otherMethod(allowed string) http.Handler {
	return cors(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allowed+", OPTIONS")
		if r.Method == http.MethodOptions {
			w.Header().Set("Access-Control-Allow-Methods", allowed+", OPTIONS")
			w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			w.Header().Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		msg := `Method "` + r.Method + `" not allowed.`
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: msg, Detail: msg})
	}))
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, errorBody{Error: "Not found", Detail: "Not found."})
}

// errorBody is every error answer: "error" always, "detail" where TiBillet
// (Django REST framework) puts its text.
type errorBody struct {
	Error  string `json:"error"`
	Detail string `json:"detail,omitempty"`
}

// fieldError is a request field's validation error, as Django REST
// framework words them, also under "error".
type fieldError struct {
	field, msg string
}

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only our own types are encoded: this is a bug, not a client's mistake.
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error": "Internal server error"}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// writeError is the one place where errors become wire answers: the core's
// error codes, request field errors, and everything else (internal: logged,
// never shown).
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var fe *fieldError
	if errors.As(err, &fe) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": fe.Error(), fe.field: []string{fe.msg}})
		return
	}
	msg := admit.ErrorMessage(err)
	switch admit.RequestErrorCode(r.Context(), err) {
	case admit.ECanceled:
		// The client went away: no error of ours.
		writeJSON(w, admit.StatusClientClosed, errorBody{Error: "Request canceled"})
	case admit.ERateLimited:
		w.Header().Set("Retry-After", strconv.Itoa(admit.RetryAfter(h.core.Now())))
		writeJSON(w, http.StatusTooManyRequests, errorBody{Error: msg, Detail: msg})
	case admit.EUnauthorized:
		writeJSON(w, http.StatusForbidden, errorBody{Error: msgNoApp, Detail: msgNoApp})
	case admit.EForbidden:
		writeJSON(w, http.StatusForbidden, errorBody{Error: msg, Detail: msg})
	case admit.EInvalid:
		writeJSON(w, http.StatusBadRequest, errorBody{Error: msg})
	case admit.ENotFound:
		writeJSON(w, http.StatusNotFound, errorBody{Error: msg})
	case admit.EConflict:
		writeJSON(w, http.StatusConflict, errorBody{Error: msg})
	default:
		h.log.Error("tibillet: request failed", "method", r.Method, "route", r.Pattern, "err", err)
		writeJSON(w, http.StatusInternalServerError, errorBody{Error: "Internal server error"})
	}
}

// fail answers a client's mistake: status and message as TiBillet has them.
func fail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

// deviceHandler is a route that needs a paired, unarchived device.
type deviceHandler func(w http.ResponseWriter, r *http.Request, d *admit.Device)

// device authenticates the request's "Authorization: Api-Key KEY" and
// calls next with the key's device. A missing, malformed or unknown key is
// 403 "No app associated with this key."; an archived device's key is 403
// "App is archived.".
func (h *Handler) device(next deviceHandler) http.HandlerFunc {
	return h.authenticated(h.core.AuthenticateDevice, next)
}

// scanner is device for the scan endpoints: the core checks the device
// again with the scan (admit.Core.AuthenticateScanner).
func (h *Handler) scanner(next deviceHandler) http.HandlerFunc {
	return h.authenticated(h.core.AuthenticateScanner, next)
}

func (h *Handler) authenticated(auth func(context.Context, string) (*admit.Device, error), next deviceHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, ok := apiKey(r.Header.Get("Authorization"))
		if !ok {
			h.writeError(w, r, admit.Errorf(admit.EUnauthorized, "no key"))
			return
		}
		d, err := auth(r.Context(), key)
		if err == nil {
			err = h.sameOrganizer(r, d)
		}
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		next(w, r, d)
	}
}

// urlOrganizer is the organizer a request's URL names under OrgPrefix; nil
// for a route without the prefix. An unknown organizer is ENotFound.
func (h *Handler) urlOrganizer(r *http.Request) (*admit.Organizer, error) {
	slug := r.PathValue("org") // the mux matches no empty segment
	if slug == "" {
		return nil, nil
	}
	return h.core.OrganizerBySlug(r.Context(), slug)
}

// sameOrganizer refuses, under OrgPrefix, a device of another organizer
// than the URL's, as a key of no app of this organizer.
func (h *Handler) sameOrganizer(r *http.Request, d *admit.Device) error {
	org, err := h.urlOrganizer(r)
	if admit.IsNotFound(err) || (err == nil && org != nil && org.ID != d.OrganizerID) {
		return admit.Errorf(admit.EUnauthorized, "a device of another organizer")
	}
	return err
}

// apiKey reads "Api-Key KEY", the keyword compared case-insensitively.
func apiKey(header string) (string, bool) {
	keyword, key, ok := strings.Cut(strings.TrimSpace(header), " ")
	key = strings.TrimSpace(key)
	if !ok || !strings.EqualFold(keyword, "Api-Key") || key == "" {
		return "", false
	}
	return key, true
}

// maxBody bounds a request body: the largest legitimate one is a QR code.
const maxBody = 64 << 10

// body is a decoded request body: a JSON object, or a form (TiBillet's
// server, Django REST framework, accepts both).
type body map[string]any

// readBody decodes the request body. An empty body is an empty object.
func readBody(r *http.Request) (body, error) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, admit.Errorf(admit.EInvalid, "Could not read the request body")
	}
	if len(raw) > maxBody {
		return nil, admit.Errorf(admit.EInvalid, "Request body too large")
	}
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var vals url.Values
	switch ct {
	case "application/x-www-form-urlencoded":
		if vals, err = url.ParseQuery(string(raw)); err != nil {
			return nil, admit.Errorf(admit.EInvalid, "Malformed form data: %v", err)
		}
	case "multipart/form-data":
		form, err := multipart.NewReader(bytes.NewReader(raw), params["boundary"]).ReadForm(maxBody)
		if err != nil {
			return nil, admit.Errorf(admit.EInvalid, "Malformed multipart form data: %v", err)
		}
		defer form.RemoveAll()
		vals = form.Value
	}
	if vals != nil {
		b := body{}
		for k, v := range vals {
			if len(v) > 0 {
				b[k] = v[len(v)-1]
			}
		}
		return b, nil
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return body{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, admit.Errorf(admit.EInvalid, "JSON parse error: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, admit.Errorf(admit.EInvalid, "JSON parse error: more than one JSON value")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, admit.Errorf(admit.EInvalid, "JSON parse error: the body must be a JSON object")
	}
	return body(m), nil
}

// str returns a string field: "" when absent or null.
func (b body) str(field string) (string, error) {
	switch v := b[field].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	}
	return "", &fieldError{field, "Not a valid string."}
}

// integer returns an integer field (a JSON number or a numeric string),
// def when absent, null or empty, within [min, max].
func (b body) integer(field string, def, min, max int) (int, error) {
	var s string
	switch v := b[field].(type) {
	case nil:
		return def, nil
	case json.Number:
		s = v.String()
	case string:
		s = strings.TrimSpace(v)
		if s == "" {
			return def, nil
		}
	default:
		return 0, &fieldError{field, "A valid integer is required."}
	}
	// 2.0 is an integer too, as Django REST framework reads it; a number too
	// large for a float64 (ErrRange, ±Inf) is out of range below.
	f, err := strconv.ParseFloat(s, 64)
	switch {
	case errors.Is(err, strconv.ErrRange):
	case err != nil, math.IsNaN(f), math.IsInf(f, 0), math.Trunc(f) != f:
		return 0, &fieldError{field, "A valid integer is required."}
	}
	if f < float64(min) {
		return 0, &fieldError{field, "Ensure this value is greater than or equal to " + strconv.Itoa(min) + "."}
	}
	if f > float64(max) {
		return 0, &fieldError{field, "Ensure this value is less than or equal to " + strconv.Itoa(max) + "."}
	}
	return int(f), nil
}

package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/reqid"
)

// ProblemBase is the base of every problem's type URI.
const ProblemBase = "https://admit.dev/problems/"

// Problem is an RFC 9457 problem detail.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	// RequestID is the request's id (X-Request-Id), to find its log line.
	RequestID string `json:"request_id,omitempty"`
}

func (h *Handler) problem(w http.ResponseWriter, r *http.Request, status int, kind, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(Problem{Type: ProblemBase + kind, Title: title, Status: status, Detail: detail, RequestID: reqid.From(r.Context())})
}

// badRequest is a client's mistake in the request itself (malformed JSON,
// a wrong type, a bad parameter): 400, the detail names it.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func bad(msg string) error { return &badRequest{msg} }

// tooLarge is a body over its limit.
type tooLarge struct{ msg string }

func (e *tooLarge) Error() string { return e.msg }

// fail is the one place where errors become answers: the core's codes map
// to statuses, internal details go to the log only, and a request its
// client gave up is no error of ours.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var br *badRequest
	var tl *tooLarge
	var us *unsupported
	switch {
	case errors.As(err, &us):
		h.problem(w, r, http.StatusUnsupportedMediaType, "unsupported_media_type", "Unsupported media type", us.msg)
		return
	case errors.As(err, &br):
		h.problem(w, r, http.StatusBadRequest, "bad_request", "Bad request", br.msg)
		return
	case errors.As(err, &tl):
		h.problem(w, r, http.StatusRequestEntityTooLarge, "too_large", "Request too large", tl.msg)
		return
	}
	msg := admit.ErrorMessage(err)
	switch admit.RequestErrorCode(r.Context(), err) {
	case admit.ECanceled:
		// The client went away: nobody but a half-closed connection
		// reads this answer.
		h.log.Debug("api: request canceled", "method", r.Method, "route", r.Pattern)
		h.problem(w, r, admit.StatusClientClosed, "canceled", "Request canceled", "The client closed the request.")
	case admit.EInvalid:
		h.problem(w, r, http.StatusUnprocessableEntity, "invalid", "Invalid input", msg)
	case admit.ENotFound:
		h.problem(w, r, http.StatusNotFound, "not_found", "Not found", msg)
	case admit.EUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="admit"`)
		h.problem(w, r, http.StatusUnauthorized, "unauthorized", "Unauthorized", msg)
	case admit.EForbidden:
		h.problem(w, r, http.StatusForbidden, "forbidden", "Forbidden", msg)
	case admit.EConflict:
		h.problem(w, r, http.StatusConflict, "conflict", "Conflict", msg)
	case admit.ERateLimited:
		w.Header().Set("Retry-After", strconv.Itoa(admit.RetryAfter(h.core.Now())))
		h.problem(w, r, http.StatusTooManyRequests, "rate_limited", "Too many requests", msg)
	default:
		h.log.Error("api: request failed", "method", r.Method, "route", r.Pattern, "request_id", reqid.From(r.Context()), "err", err)
		h.problem(w, r, http.StatusInternalServerError, "internal", "Internal error", "The server failed to answer; the error is logged.")
	}
}

// writeJSON writes v as a JSON answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// maxBody bounds every JSON request body but imports.
const maxBody = 64 << 10

// decode reads a JSON body into v: one object, no unknown fields, at most
// maxBody bytes.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeMax(w, r, v, maxBody)
}

// decodeMax is decode with a bound of max bytes.
func decodeMax(w http.ResponseWriter, r *http.Request, v any, max int64) error {
	if r.Body == nil {
		return bad("the request needs a JSON body")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, max))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var ute *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &mbe):
			return &tooLarge{fmt.Sprintf("the body is larger than %d KiB", max>>10)}
		case errors.As(err, &ute):
			return bad("field " + ute.Field + ": must be " + ute.Type.String() + ", not " + ute.Value)
		case errors.As(err, &se):
			return bad("malformed JSON: " + se.Error())
		case err.Error() == "EOF":
			return bad("the request needs a JSON body")
		}
		return bad("malformed JSON: " + err.Error())
	}
	if dec.More() {
		return bad("malformed JSON: more than one value")
	}
	return nil
}

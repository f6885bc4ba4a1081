package server

import (
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"reflect"
	"strconv"
	"strings"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/api"
)

// withClient puts the request's client address (after realClient) into its
// context, for the core's guessing limits: an IPv4 address, or the /64 of an
// IPv6 one (one client holds a whole /64).
func withClient(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(admit.WithClient(r.Context(), clientAddr(r.RemoteAddr))))
	})
}

func clientAddr(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// dialectAnswers serves mux, but answers what ServeMux would answer itself
// (a redirect to a path's canonical form, for // or .. or a missing
// trailing slash; 404 for a path no route family has; 405 for a route
// with another method) in the shape of the path's route family, not in
// ServeMux's plain text or HTML: TiBillet's and TickeTing's JSON, the API's
// problem details, pretix's plain text, and JSON elsewhere. Statuses and
// the Location and Allow headers stay ServeMux's. Every request a route
// serves goes straight to it.
func dialectAnswers(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" && !isRedirect(h) {
			mux.ServeHTTP(w, r)
			return
		}
		// ServeMux's own answer: learn its status and headers, then say it
		// in the family's shape.
		c := &capture{header: http.Header{}}
		h.ServeHTTP(c, r)
		status := c.status
		if status == 0 {
			status = http.StatusOK
		}
		for _, name := range []string{"Location", "Allow"} {
			if v := c.header.Get(name); v != "" {
				w.Header().Set(name, v)
			}
		}
		writeFamilyError(w, r, status, muxMessage(r, status, c.header.Get("Location")))
	})
}

// isRedirect reports whether h is ServeMux's redirect to a canonical path
// (its handler type is not exported).
func isRedirect(h http.Handler) bool {
	return reflect.TypeOf(h).String() == "*http.redirectHandler"
}

func muxMessage(r *http.Request, status int, location string) string {
	switch {
	case status >= 300 && status < 400:
		return "The canonical path of this resource is " + location + "."
	case status == http.StatusMethodNotAllowed:
		return "The method " + r.Method + " is not allowed on this path."
	case status == http.StatusNotFound:
		return "There is nothing at this path."
	}
	return http.StatusText(status)
}

// capture records a handler's status and headers and drops its body.
type capture struct {
	header http.Header
	status int
}

func (c *capture) Header() http.Header { return c.header }
func (c *capture) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}
func (c *capture) Write(b []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	return len(b), nil
}

// family names the route family of a path, by its first segments.
func family(path string) string {
	switch {
	case strings.HasPrefix(path, "/scan/") || strings.HasPrefix(path, "/o/"):
		return "tibillet"
	case strings.HasPrefix(path, "/v3/"):
		return "ticketing"
	case strings.HasPrefix(path, "/api/"):
		return "api"
	case strings.HasPrefix(path, "/pretixdroid/"):
		return "pretixdroid"
	}
	return ""
}

// writeFamilyError writes an error in the shape of the path's route family,
// as each door writes its own errors.
func writeFamilyError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	switch family(cleanish(r.URL.Path)) {
	case "pretixdroid":
		// pretix answers its errors in plain text.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(status)
		w.Write([]byte(msg))
		return
	case "tibillet":
		writeJSON(w, "application/json", status, map[string]string{"error": msg, "detail": msg})
	case "ticketing":
		writeJSON(w, "application/json", status, map[string]string{"error": msg, "message": msg})
	case "api":
		kind := map[int]string{http.StatusNotFound: "not_found", http.StatusMethodNotAllowed: "method_not_allowed",
			http.StatusBadRequest: "bad_request", http.StatusRequestEntityTooLarge: "too_large"}[status]
		if kind == "" {
			kind = "moved"
		}
		writeJSON(w, "application/problem+json", status, api.Problem{Type: api.ProblemBase + kind,
			Title: http.StatusText(status), Status: status, Detail: msg})
	default:
		writeJSON(w, "application/json", status, map[string]string{"error": msg})
	}
}

// cleanish collapses repeated slashes, so that //api/v1 is the API's family.
func cleanish(p string) string {
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	return p
}

func writeJSON(w http.ResponseWriter, contentType string, status int, v any) {
	b, _ := json.Marshal(v)
	b = append(b, '\n')
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

package web

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/admitdev/admit"
)

// Cookies. Both are HttpOnly and SameSite=Strict, and Secure when the
// server is reached over https. The session cookie holds the session's
// secret (the database holds only its hash); the sign-in cookie is the
// double-submit CSRF token of the sign-in forms, used before a session
// exists.
const (
	sessionCookie = "admit_session"
	signinCookie  = "admit_signin"
)

func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: h.secure || r.TLS != nil,
	})
}

func (h *Handler) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	h.setCookie(w, r, name, "", -1)
}

func cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// session returns the request's session: no cookie, unknown or expired:
// EUnauthorized.
func (h *Handler) session(r *http.Request) (*admit.Session, error) {
	secret := cookieValue(r, sessionCookie)
	if secret == "" {
		return nil, admit.Errorf(admit.EUnauthorized, "not signed in")
	}
	return h.core.Session(r.Context(), secret)
}

// SessionInfo is the organizer signed in on a request.
type SessionInfo struct {
	SessionID   int64
	OrganizerID int64
	KeyID       int64  // the management key the session signed in with; 0: a sign-in link
	Name        string // who, for the scan log
}

// SessionPrincipal is the hook the API authenticates browser requests
// with: the organizer of the request's session cookie; nil, nil when the
// request carries none. For methods other than GET, HEAD and OPTIONS the
// X-CSRF-Token header must hold the session's CSRF token, else an
// *admit.Error with admit.EForbidden. An unknown or expired session is
// admit.EUnauthorized.
func (h *Handler) SessionPrincipal(r *http.Request) (*SessionInfo, error) {
	secret := cookieValue(r, sessionCookie)
	if secret == "" {
		return nil, nil
	}
	s, err := h.core.Session(r.Context(), secret)
	if err != nil {
		return nil, err
	}
	if !safeMethod(r.Method) && !tokenMatches(r.Header.Get("X-CSRF-Token"), s.CSRF) {
		return nil, admit.Errorf(admit.EForbidden, "This request needs the page's CSRF token (X-CSRF-Token): reload the page and try again.")
	}
	return &SessionInfo{SessionID: s.ID, OrganizerID: s.OrganizerID, KeyID: s.KeyID, Name: s.Name}, nil
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// tokenMatches compares a presented CSRF token with the expected one in
// constant time; an empty expected token never matches.
func tokenMatches(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(want)) == 1
}

// errCSRF is the refusal of a form posted without its token.
func errCSRF() error {
	return admit.Errorf(admit.EForbidden, "This form was sent without its security token (CSRF), or with a wrong one. Reload the page and send it again.")
}

// localPath returns p if it is a path on this server (for redirects after
// sign-in), else "/": never another host.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") ||
		strings.ContainsAny(p, "\r\n\\") {
		return "/"
	}
	return p
}

// Caller is SessionPrincipal as admit's own API takes it (api.Options.Session):
// a signed-in organizer is an admin of its organizer.
func (h *Handler) Caller(r *http.Request) (*admit.Caller, error) {
	s, err := h.SessionPrincipal(r)
	if err != nil || s == nil {
		return nil, err
	}
	return &admit.Caller{OrganizerID: s.OrganizerID, Role: admit.RoleAdmin, Name: s.Name}, nil
}

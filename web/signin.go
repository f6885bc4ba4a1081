package web

import (
	"net/http"

	"github.com/admitdev/admit"
)

// Sign-in: with a one-time sign-in link (GET /signin?token=...: a page
// whose form posts the token, sent at once by its script, so that a link
// preview that only GETs never uses it up), or with an organizer's
// management key. Signing in always makes a new session (the old one, if
// any, ends): a session id planted before sign-in is worth nothing.

const maxFormBytes = 64 << 10

type signinData struct {
	Error string
	Next  string
	Token string
}

// signinForm renders the key sign-in form, with a fresh double-submit token.
func (h *Handler) signinForm(w http.ResponseWriter, r *http.Request, status int, d signinData) {
	csrf := h.signinToken(w, r)
	h.render(w, r, status, &page{Title: "Sign in", View: "signin", CSRF: csrf, Data: d, BodyClass: "narrow"})
}

// signinToken returns the sign-in forms' double-submit token: the
// browser's, else a new one set in its cookie (an hour).
func (h *Handler) signinToken(w http.ResponseWriter, r *http.Request) string {
	csrf := cookieValue(r, signinCookie)
	if len(csrf) != 32 {
		csrf = admit.RandomString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 32)
	}
	h.setCookie(w, r, signinCookie, csrf, 3600)
	return csrf
}

// signinRequired answers a page asked for without a valid session.
func (h *Handler) signinRequired(w http.ResponseWriter, r *http.Request, err error) {
	if admit.ErrorCode(err) != admit.EUnauthorized {
		h.errorPage(w, r, nil, err)
		return
	}
	d := signinData{Next: localPath(r.URL.RequestURI())}
	if cookieValue(r, sessionCookie) != "" {
		d.Error = admit.ErrorMessage(err) // an ended session, not a first visit
	}
	h.signinForm(w, r, http.StatusUnauthorized, d)
}

func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	s, err := h.session(r)
	if err != nil {
		if admit.ErrorCode(err) != admit.EUnauthorized {
			h.errorPage(w, r, nil, err)
			return
		}
		h.signinForm(w, r, http.StatusOK, signinData{})
		return
	}
	h.eventsPage(w, r, s)
}

func (h *Handler) signinPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if token == "" {
		if _, err := h.session(r); err == nil {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		h.signinForm(w, r, http.StatusOK, signinData{Next: localPath(r.URL.Query().Get("next"))})
		return
	}
	if err := h.core.CheckSigninLink(r.Context(), token); err != nil {
		h.signinLinkRefused(w, r, err)
		return
	}
	csrf := h.signinToken(w, r)
	h.render(w, r, http.StatusOK, &page{Title: "Signing in", View: "signin_link", CSRF: csrf,
		Script: "js/signin.js", Data: signinData{Token: token}, BodyClass: "narrow"})
}

// signinLinkRefused explains a wrong, used or expired sign-in link.
func (h *Handler) signinLinkRefused(w http.ResponseWriter, r *http.Request, err error) {
	if code := admit.ErrorCode(err); code == admit.EInternal || code == "" {
		h.errorPage(w, r, nil, err)
		return
	}
	status, _ := statusOf(err)
	title := map[admit.Code]string{
		admit.ENotFound:      "This sign-in link is not valid",
		admit.EConflict:      "This sign-in link was already used",
		admit.ESigninExpired: "This sign-in link has expired",
	}[admit.ErrorCode(err)]
	if title == "" {
		title = "This sign-in link does not work"
	}
	h.render(w, r, status, &page{Title: title, View: "error", BodyClass: "narrow", Data: map[string]string{
		"Message":  admit.ErrorMessage(err),
		"Hint":     "A new link: admit signin --organizer SLUG. Or sign in with an organizer's management key.",
		"Link":     "/signin",
		"LinkText": "Sign in with a key",
	}})
}

func (h *Handler) signinPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.errorPage(w, r, nil, admit.Errorf(admit.EInvalid, "The form could not be read."))
		return
	}
	token, key, next := r.PostForm.Get("token"), r.PostForm.Get("key"), localPath(r.PostForm.Get("next"))
	if !tokenMatches(r.PostForm.Get("csrf"), cookieValue(r, signinCookie)) {
		h.errorPage(w, r, nil, errCSRF())
		return
	}
	var ns *admit.NewSession
	var err error
	switch {
	case token != "":
		if ns, err = h.core.SignInWithLink(r.Context(), token); err != nil {
			h.signinLinkRefused(w, r, err)
			return
		}
		if ns.Event != nil {
			next = "/events/" + ns.Event.UUID
		} else {
			next = "/"
		}
	case key != "":
		if ns, err = h.core.SignInWithKey(r.Context(), key); err != nil {
			if admit.ErrorCode(err) == admit.EUnauthorized {
				h.signinForm(w, r, http.StatusUnauthorized, signinData{Next: next,
					Error: "This key is not valid. Sign in with an organizer's management key (admit apikey create), or with a sign-in link (admit signin)."})
				return
			}
			h.errorPage(w, r, nil, err)
			return
		}
	default:
		h.signinForm(w, r, http.StatusBadRequest, signinData{Next: next, Error: "Enter a key to sign in."})
		return
	}
	// Rotate: the session the browser had, if any, ends now.
	if old := cookieValue(r, sessionCookie); old != "" {
		if err := h.core.SignOut(r.Context(), old); err != nil {
			h.log.Warn("web: end the previous session", "err", err)
		}
	}
	h.setCookie(w, r, sessionCookie, ns.Secret, int(admit.SessionTTL.Seconds()))
	h.clearCookie(w, r, signinCookie)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *Handler) signoutPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	s, err := h.session(r)
	if err != nil {
		h.clearCookie(w, r, sessionCookie)
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	if err := r.ParseForm(); err != nil || !tokenMatches(r.PostForm.Get("csrf"), s.CSRF) {
		h.errorPage(w, r, s, errCSRF())
		return
	}
	if err := h.core.SignOut(r.Context(), cookieValue(r, sessionCookie)); err != nil {
		h.errorPage(w, r, s, err)
		return
	}
	h.clearCookie(w, r, sessionCookie)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

package ticketing

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/admitdev/admit"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// hiddenCode stands for a token's code in every answer but the one that
// shows it: codes are stored hashed and cannot be read back.
const hiddenCode = "********"

// tokenJSON is a token: {"self", "code", "global", "sections"}, sections as
// full URIs (the global token's: every section of the event). The code is
// shown once: in the answer that issued the token, and for the global
// token (made without one) in the first answer that holds it; else it is
// hiddenCode.
func (h *Handler) tokenJSON(ctx context.Context, t *admit.AdmissionToken) (map[string]any, error) {
	ids, err := h.core.TokenSectionIDs(ctx, t)
	if err != nil {
		return nil, err
	}
	if err := h.core.ShowTokenCode(ctx, t); err != nil {
		return nil, err
	}
	code := t.Code
	if code == "" {
		code = hiddenCode
	}
	return map[string]any{
		"self": tokenURI(t.EventID, t.ID), "code": code, "global": t.Global,
		"sections": sectionURIs(t.EventID, ids),
	}, nil
}

func sectionURIs(eventID int64, ids []int64) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = sectionURI(eventID, id)
	}
	return out
}

// tokenBody is the body of POST and PUT on tokens.
type tokenBody struct {
	Sections []string `json:"sections"`
}

// readSections decodes {"sections": [URIs]} into section ids of ev. No
// sections, null or an empty list → the API's "required" error; a section
// that is not one of ev's → 400 naming it.
func (h *Handler) readSections(w http.ResponseWriter, r *http.Request, ev *admit.Event) ([]int64, error) {
	var b tokenBody
	if err := decodeBody(w, r, &b); err != nil {
		return nil, err
	}
	if len(b.Sections) == 0 {
		return nil, errRequired("sections")
	}
	secs, err := h.core.Store.Sections(r.Context(), ev.ID)
	if err != nil {
		return nil, err
	}
	known := map[int64]bool{}
	for _, s := range secs {
		known[s.ID] = true
	}
	ids := make([]int64, 0, len(b.Sections))
	for _, s := range b.Sections {
		e, id, ok := sectionRef(s)
		switch {
		case !ok:
			return nil, admit.Errorf(admit.EInvalid, "%q is not a section URI: expected /events/%d/sections/{id}.", s, ev.ID)
		case e != 0 && e != ev.ID:
			return nil, admit.Errorf(admit.EInvalid, "The section %s does not belong to this event.", s)
		case !known[id]:
			return nil, admit.Errorf(admit.EInvalid, "The section %s does not exist in this event.", s)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// issueToken: POST /events/{event}/tokens {"sections": [...]} → 201.
func (h *Handler) issueToken(w http.ResponseWriter, r *http.Request) {
	_, ev, err := h.event(r, manage)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ids, err := h.readSections(w, r, ev)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	t, err := h.core.IssueToken(r.Context(), ev, ids)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeToken(w, r, http.StatusCreated, t)
}

func (h *Handler) writeToken(w http.ResponseWriter, r *http.Request, status int, t *admit.AdmissionToken) {
	j, err := h.tokenJSON(r.Context(), t)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, status, j)
}

// listTokens: GET /events/{event}/tokens?global=&page=&records= → the
// global token first, then the others in issue order.
func (h *Handler) listTokens(w http.ResponseWriter, r *http.Request) {
	_, ev, err := h.event(r, manage)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	p, err := parsePagination(q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var global *bool
	if s := q.Get("global"); s != "" {
		g, err := parseBool("global", s)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		global = &g
	}
	if _, err := h.core.EnsureGlobalToken(r.Context(), ev); err != nil {
		h.fail(w, r, err)
		return
	}
	ts, total, err := h.core.Store.Tokens(r.Context(), ev.ID, global, p.records, p.offset())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	entries := make([]map[string]any, 0, len(ts))
	for _, t := range ts {
		j, err := h.tokenJSON(r.Context(), t)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		entries = append(entries, j)
	}
	h.writeList(w, r, p, total, entries)
}

// tokenOf returns the token of the path within ev.
func (h *Handler) tokenOf(r *http.Request, ev *admit.Event) (*admit.AdmissionToken, error) {
	id, err := pathID(r, "token")
	if err != nil {
		return nil, err
	}
	t, err := h.core.Token(r.Context(), ev, id)
	if admit.IsNotFound(err) {
		return nil, errNoResource
	}
	return t, err
}

// getToken: GET /events/{event}/tokens/{token}.
func (h *Handler) getToken(w http.ResponseWriter, r *http.Request) {
	_, ev, err := h.event(r, manage)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	t, err := h.tokenOf(r, ev)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeToken(w, r, http.StatusOK, t)
}

// updateToken: PUT /events/{event}/tokens/{token} {"sections": [...]}. The
// global token → 409 (checked before the body).
func (h *Handler) updateToken(w http.ResponseWriter, r *http.Request) {
	_, ev, err := h.event(r, manage)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	t, err := h.tokenOf(r, ev)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if t.Global {
		// The core refuses it too; answering before reading the body gives
		// the same 409 whatever the body holds.
		h.fail(w, r, admit.Errorf(admit.EConflict, "The global admission token cannot be modified or invalidated."))
		return
	}
	ids, err := h.readSections(w, r, ev)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	t, err = h.core.UpdateToken(r.Context(), ev, t.ID, ids)
	if admit.IsNotFound(err) {
		err = errNoResource // deleted meanwhile
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeToken(w, r, http.StatusOK, t)
}

// deleteToken: DELETE /events/{event}/tokens/{token} → 204; its staff keys
// are refused from their next request.
func (h *Handler) deleteToken(w http.ResponseWriter, r *http.Request) {
	_, ev, err := h.event(r, manage)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	id, err := pathID(r, "token")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.core.DeleteToken(r.Context(), ev, id); err != nil {
		if admit.IsNotFound(err) {
			err = errNoResource
		}
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// login: GET /tokens/{code} → {"key", "event", "sections"}. The code is the
// credential: no X-API-Key is needed (one sent is ignored). Guessing is
// limited per client address, by the core.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	l, err := h.core.LoginWithCode(r.Context(), r.PathValue("code"), clientAddr(r))
	if admit.IsNotFound(err) {
		err = admit.Errorf(admit.ENotFound, msgUnknownCode)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"key": l.Key, "event": eventURI(l.Event.ID), "sections": sectionURIs(l.Event.ID, l.SectionIDs),
	})
}

// clientAddr is the client's address for the guessing limit: the host of
// the connection's remote address, an IPv6 address reduced to its /64 (one
// subscriber commonly holds a whole /64). Forwarding headers are not
// trusted: a client could send any.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
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

package ticketing

import (
	"net/http"
	"strings"

	"github.com/admitdev/admit"
)

// caller is who sent a request: an organizer's management key, or a staff
// key of an admission token.
type caller struct {
	key   *admit.APIKey
	token *admit.AdmissionToken // staff keys: the token, read at this request
}

func (c *caller) staff() bool { return c.key.Kind == admit.KeyStaff }

// sections is what the caller may admit and see within its event: nil for
// no restriction (management keys, the global token), else the token's
// current sections.
func (c *caller) sections() []int64 {
	if !c.staff() {
		return nil
	}
	return admit.StaffSections(c.token)
}

// authenticate checks X-API-Key: missing or empty → 401; unknown, revoked,
// of a kind this API does not take, or a staff key whose token was
// invalidated → 403.
func (h *Handler) authenticate(r *http.Request) (*caller, error) {
	plain := strings.TrimSpace(r.Header.Get("X-API-Key"))
	if plain == "" {
		return nil, errUnauthenticated
	}
	k, err := h.core.Authenticate(r.Context(), plain, admit.KeyManagement, admit.KeyStaff)
	if err != nil {
		if admit.ErrorCode(err) == admit.EUnauthorized {
			return nil, errRestricted
		}
		return nil, err
	}
	c := &caller{key: k}
	if c.staff() {
		if c.token, err = h.core.StaffToken(r.Context(), k); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Permissions of the endpoints.
type access int

const (
	manage access = iota // management keys only
	admits               // management keys, and staff keys of the event
)

// event authenticates the caller and returns the event of the path with
// it. A staff key on an endpoint it may not use is refused before any
// lookup; an unknown event is no resource (404); an event of another
// organizer (TickeTing's host) is refused as TickeTing refuses a valid key
// without permission on it (403, "You are not authorised to access this
// unlisted event."); a staff key on another event of its organizer is
// refused (403).
func (h *Handler) event(r *http.Request, need access) (*caller, *admit.Event, error) {
	c, err := h.authenticate(r)
	if err != nil {
		return nil, nil, err
	}
	if need == manage && c.staff() {
		return nil, nil, errRestricted
	}
	id, err := pathID(r, "event")
	if err != nil {
		return nil, nil, err
	}
	ev, err := h.core.Store.Event(r.Context(), id)
	if admit.IsNotFound(err) {
		return nil, nil, errNoResource
	}
	if err != nil {
		return nil, nil, err
	}
	if ev.OrganizerID != c.key.OrganizerID {
		return nil, nil, errUnlistedEvent
	}
	if c.key.EventID != 0 && c.key.EventID != ev.ID {
		return nil, nil, errRestricted
	}
	return c, ev, nil
}

package admit

import (
	"context"
	"strings"
)

// Role is what a client of admit's own API may do.
type Role string

const (
	RoleAdmin   Role = "admin"   // everything, for its organizer
	RoleScanner Role = "scanner" // scan, check, search, read occupancy
)

// Caller is an authenticated client of admit's own API.
type Caller struct {
	OrganizerID int64
	Role        Role
	Key         *APIKey // nil for a web session
	// Device is set for a paired device's key: it scans for its event (and
	// list) only.
	Device *Device
	// Name says who acted, for the scan log (a key's or device's name).
	Name string
}

// CanSeeEvent reports whether the caller may read or scan the event.
func (c *Caller) CanSeeEvent(ev *Event) bool {
	if ev == nil || ev.OrganizerID != c.OrganizerID {
		return false
	}
	return c.Device == nil || c.Device.EventID == 0 || c.Device.EventID == ev.ID
}

// AuthenticateCaller checks a key of admit's own API: an organizer's
// management key (admin), an organizer's scanner key, or a paired device's
// key (scanner, limited to its event). Unknown, revoked or of another kind:
// EUnauthorized; an archived device: EForbidden.
func (c *Core) AuthenticateCaller(ctx context.Context, plain string) (*Caller, error) {
	k, err := c.Authenticate(ctx, plain, KeyManagement, KeyScanner, KeyDevice)
	if err != nil {
		return nil, err
	}
	switch k.Kind {
	case KeyManagement:
		return &Caller{OrganizerID: k.OrganizerID, Role: RoleAdmin, Key: k, Name: k.Name}, nil
	case KeyScanner:
		return &Caller{OrganizerID: k.OrganizerID, Role: RoleScanner, Key: k, Name: k.Name}, nil
	}
	d, err := c.AuthenticateScanner(ctx, plain)
	if err != nil {
		return nil, err
	}
	return &Caller{OrganizerID: d.OrganizerID, Role: RoleScanner, Key: k, Device: d, Name: d.Name}, nil
}

// CreateOrganizerKey creates an organizer's key for admit's own API with
// the given role (RoleAdmin keys are management keys, which the TickeTing
// API takes too) and returns it, shown once and stored hashed.
func (c *Core) CreateOrganizerKey(ctx context.Context, organizerSlug, name string, role Role) (string, error) {
	kind := KeyManagement
	switch role {
	case RoleAdmin, "":
	case RoleScanner:
		kind = KeyScanner
	default:
		return "", Errorf(EInvalid, "unknown role %q: admin or scanner", role)
	}
	if strings.TrimSpace(name) == "" {
		return "", Errorf(EInvalid, "a key needs a name")
	}
	org, err := c.Store.OrganizerBySlug(ctx, organizerSlug)
	if err != nil {
		if IsNotFound(err) {
			return "", Errorf(ENotFound, "unknown organizer %q", organizerSlug)
		}
		return "", err
	}
	return c.CreateKey(ctx, &APIKey{Kind: kind, Name: name, OrganizerID: org.ID})
}

// SetTicketBlocked blocks or unblocks a ticket of ev: a blocked ticket is
// refused from its next scan on every node.
func (c *Core) SetTicketBlocked(ctx context.Context, ev *Event, ticketUUID string, blocked bool) (*Ticket, error) {
	t, err := c.EventTicket(ctx, ev, ticketUUID)
	if err != nil {
		return nil, err
	}
	return c.Store.SetTicketBlocked(ctx, t.ID, blocked, c.now())
}

// EventTicket finds a ticket of ev by uuid: a ticket of another event is
// ENotFound, as an unknown one.
func (c *Core) EventTicket(ctx context.Context, ev *Event, ticketUUID string) (*Ticket, error) {
	notFound := Errorf(ENotFound, "no ticket %q in this event", ticketUUID)
	if !ValidUUID(ticketUUID) {
		return nil, notFound
	}
	t, err := c.Store.TicketByUUID(ctx, strings.ToLower(ticketUUID))
	if IsNotFound(err) || (err == nil && t.EventID != ev.ID) {
		return nil, notFound
	}
	return t, err
}

// EventByUUIDFor finds an event by uuid for a caller: an unknown event and
// one the caller may not see are both ENotFound (never another
// organizer's data).
func (c *Core) EventByUUIDFor(ctx context.Context, caller *Caller, uuid string) (*Event, error) {
	notFound := Errorf(ENotFound, "no event %q", uuid)
	if !ValidUUID(uuid) {
		return nil, notFound
	}
	cv, err := c.view(ctx)
	if err != nil {
		return nil, err
	}
	ev, err := cv.eventByUUID(ctx, strings.ToLower(uuid))
	if IsNotFound(err) || (err == nil && !caller.CanSeeEvent(ev)) {
		return nil, notFound
	}
	return ev, err
}

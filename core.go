package admit

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Core is the one admission core that every dialect calls. Dialects decode
// their wire format into a RedeemRequest (or another call here), and encode
// what comes back; they hold no SQL and no admission rule.
type Core struct {
	// Store is exported for the dialects' read-only listings (search,
	// status, downloads); every write goes through a Core method.
	Store      Store
	Keys       *Keys
	Log        *slog.Logger
	Now        func() time.Time
	PairingTTL time.Duration
	// Live, when set, is handed every scan Redeem records (not dry runs,
	// not replays, not scans of no known event), for live subscribers on
	// every node. Publish never blocks a scan.
	Live Live
	// Observer, when set, is told of scans and imports (observe.go).
	Observer Observer

	// TicketCacheBytes, when > 0, keeps events' tickets in memory up to
	// this many bytes (ticketcache.go). Set it before the first scan.
	TicketCacheBytes int64

	catalog    catalog
	guesses    guessLimiter
	tcacheOnce sync.Once
	tcache     *ticketCache
}

// NewCore returns a core on store with default settings.
func NewCore(store Store, log *slog.Logger) *Core {
	if log == nil {
		log = slog.Default()
	}
	return &Core{Store: store, Keys: &Keys{}, Log: log, Now: time.Now, PairingTTL: 24 * time.Hour}
}

func (c *Core) now() time.Time { return c.Now().UTC() }

// Import imports a file held in memory (validated by ParseImport or
// Validate) and returns every ticket of it: for small files (tests, tools);
// ImportJSON streams any size. It makes the event's keys if the import
// creates the event, and signs new tickets' QR codes.
func (c *Core) Import(ctx context.Context, f *ImportFile) (*ImportResult, error) {
	opts, err := c.importOptions(ctx, f)
	if err != nil {
		return nil, err
	}
	res, err := c.Store.Import(ctx, f, opts)
	if err != nil {
		return nil, err
	}
	// Every event has its global admission token from the start.
	if _, err := c.EnsureGlobalToken(ctx, res.Event); err != nil {
		return nil, err
	}
	return res, nil
}

// TicketQR returns the QR content of a ticket.
func (c *Core) TicketQR(ctx context.Context, uuid string) (*Ticket, error) {
	t, err := c.Store.TicketByUUID(ctx, strings.ToLower(uuid))
	if err != nil {
		return nil, err
	}
	if t.QRCode == "" {
		return nil, Errorf(EInvalid, "ticket %s has no QR code of this server: its event only verifies codes issued elsewhere", t.UUID)
	}
	return t, nil
}

// ListByName finds a check-in list of an event by name.
func (c *Core) ListByName(ctx context.Context, eventID int64, name string) (*CheckinList, error) {
	lists, err := c.Store.Lists(ctx, eventID)
	if err != nil {
		return nil, err
	}
	for _, l := range lists {
		if l.Name == name {
			return l, nil
		}
	}
	return nil, Errorf(ENotFound, "unknown check-in list %q", name)
}

// Occupancy counts an event's entries, exits and tickets inside, per list
// and per section, with their capacities and how many tickets could enter.
func (c *Core) Occupancy(ctx context.Context, eventID int64) (*Occupancy, error) {
	return c.Store.Occupancy(ctx, eventID)
}

// scopeEvent resolves req.EventUUID into req.EventID.
func (c *Core) scopeEvent(ctx context.Context, cv *catalogView, req *RedeemRequest) error {
	if req.EventUUID == "" {
		return nil
	}
	ev, err := cv.scopeEvent(ctx, req.OrganizerID, req.EventID, req.EventUUID)
	if err != nil {
		return err
	}
	req.EventID = ev.ID
	return nil
}

// ScopeEvent resolves an event uuid given by a client scoped to organizerID
// and, if boundEventID is set, to that one event: EInvalid when it is no
// uuid, ENotFound when it names none of the organizer's events, EForbidden
// when it names another than the bound one.
func (c *Core) ScopeEvent(ctx context.Context, organizerID, boundEventID int64, uuid string) (*Event, error) {
	cv, err := c.view(ctx)
	if err != nil {
		return nil, err
	}
	return cv.scopeEvent(ctx, organizerID, boundEventID, uuid)
}

func (cv *catalogView) scopeEvent(ctx context.Context, organizerID, boundEventID int64, uuid string) (*Event, error) {
	if !ValidUUID(uuid) {
		return nil, Errorf(EInvalid, "Invalid event uuid")
	}
	ev, err := cv.eventByUUID(ctx, strings.ToLower(uuid))
	if IsNotFound(err) || (err == nil && organizerID != 0 && ev.OrganizerID != organizerID) {
		return nil, Errorf(ENotFound, "Event not found")
	}
	if err != nil {
		return nil, err
	}
	if boundEventID != 0 && boundEventID != ev.ID {
		return nil, Errorf(EForbidden, "This app is bound to another event")
	}
	return ev, nil
}

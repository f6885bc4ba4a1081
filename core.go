package admit

import (
	"bytes"
	"context"
	"errors"
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

// DeviceSpec describes a device to create.
type DeviceSpec struct {
	Organizer string // slug
	Name      string
	Event     string // slug, optional
	List      string // name, optional (needs Event)
}

// CreateDevice creates a scanner and its single-use pairing token.
func (c *Core) CreateDevice(ctx context.Context, spec DeviceSpec) (*Device, string, error) {
	if strings.TrimSpace(spec.Name) == "" {
		return nil, "", Errorf(EInvalid, "a device needs a name")
	}
	if TooLong(spec.Name, MaxLabel) {
		return nil, "", Errorf(EInvalid, "a device's name has at most %d characters", MaxLabel)
	}
	org, err := c.Store.OrganizerBySlug(ctx, spec.Organizer)
	if err != nil {
		if IsNotFound(err) {
			return nil, "", Errorf(ENotFound, "unknown organizer %q", spec.Organizer)
		}
		return nil, "", err
	}
	d := &Device{UUID: NewUUID(), OrganizerID: org.ID, Name: spec.Name, CreatedAt: c.now()}
	if spec.List != "" && spec.Event == "" {
		return nil, "", Errorf(EInvalid, "--list needs --event")
	}
	if spec.Event != "" {
		ev, err := c.Store.EventBySlug(ctx, org.ID, spec.Event)
		if err != nil {
			if IsNotFound(err) {
				return nil, "", Errorf(ENotFound, "unknown event %q of organizer %q", spec.Event, spec.Organizer)
			}
			return nil, "", err
		}
		d.EventID = ev.ID
		if spec.List != "" {
			l, err := c.ListByName(ctx, ev.ID, spec.List)
			if err != nil {
				return nil, "", err
			}
			d.ListID = l.ID
		}
	}
	token := NewPairingToken()
	d.PairingExpires = d.CreatedAt.Add(c.PairingTTL)
	if err := c.Store.CreateDevice(ctx, d, HashSecret(token)); err != nil {
		return nil, "", err
	}
	return d, token, nil
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

// PairDevice consumes a pairing token and returns the device with its new
// API key (shown once, stored hashed). A wrong token counts toward the
// client's guessing limit (guess.go): over it, ERateLimited.
func (c *Core) PairDevice(ctx context.Context, token string) (*Device, string, error) {
	return c.PairDeviceOf(ctx, 0, token)
}

// PairDeviceOf is PairDevice for a token that must be one of organizerID's
// devices (0: any organizer's): a token of another organizer is refused as
// an unknown one, and stays unused.
func (c *Core) PairDeviceOf(ctx context.Context, organizerID int64, token string) (*Device, string, error) {
	if token == "" {
		return nil, "", Errorf(EInvalid, "Invalid or expired pairing token")
	}
	if err := c.secretGuessAllowed(ctx); err != nil {
		return nil, "", err
	}
	plain, prefix, hash := NewAPIKey()
	key := &APIKey{Kind: KeyDevice, Prefix: prefix, Hash: hash, CreatedAt: c.now()}
	d, err := c.Store.PairDevice(ctx, HashSecret(token), organizerID, c.now(), key)
	if err != nil {
		if IsNotFound(err) {
			return nil, "", c.secretMiss(ctx, Errorf(EInvalid, "Invalid or expired pairing token"))
		}
		return nil, "", err
	}
	return d, plain, nil
}

// ArchiveDevice archives a device: its key is refused from its next request.
func (c *Core) ArchiveDevice(ctx context.Context, uuid string) (*Device, error) {
	d, err := c.Store.ArchiveDevice(ctx, strings.ToLower(uuid))
	if IsNotFound(err) {
		return nil, Errorf(ENotFound, "unknown device %q", uuid)
	}
	return d, err
}

// CreateKey stores a new API key made from the template k (Kind and scope
// set by the caller) and returns the key, shown once.
func (c *Core) CreateKey(ctx context.Context, k *APIKey) (string, error) {
	plain, prefix, hash := NewAPIKey()
	k.Prefix, k.Hash, k.CreatedAt = prefix, hash, c.now()
	if err := c.Store.CreateAPIKey(ctx, k); err != nil {
		return "", err
	}
	return plain, nil
}

// Authenticate checks an API key of one of the given kinds, in constant
// time against its stored hash. Unknown, revoked or of another kind:
// EUnauthorized.
// A wrong key counts toward the client's guessing limit (guess.go): over
// it, ERateLimited.
func (c *Core) Authenticate(ctx context.Context, plain string, kinds ...KeyKind) (*APIKey, error) {
	denied := Errorf(EUnauthorized, "invalid key")
	if plain == "" {
		return nil, denied // no key: not a guess
	}
	if err := c.secretGuessAllowed(ctx); err != nil {
		return nil, err
	}
	prefix, ok := APIKeyPrefix(plain)
	if !ok {
		return nil, c.secretMiss(ctx, denied)
	}
	k, err := c.Store.APIKeyByPrefix(ctx, prefix)
	if err != nil {
		if IsNotFound(err) {
			return nil, c.secretMiss(ctx, denied)
		}
		return nil, err
	}
	if !SecretMatches(plain, k.Hash) {
		return nil, c.secretMiss(ctx, denied)
	}
	if k.Revoked {
		return nil, denied
	}
	for _, kind := range kinds {
		if k.Kind == kind {
			return k, nil
		}
	}
	return nil, denied
}

// AuthenticateDevice checks a device's API key: unknown → EUnauthorized,
// archived → EForbidden. Devices are cached per catalog version, which
// archiving moves on: an archived device is refused from its next request,
// on every node.
func (c *Core) AuthenticateDevice(ctx context.Context, plain string) (*Device, error) {
	if err := c.secretGuessAllowed(ctx); err != nil {
		return nil, err
	}
	cv, err := c.view(ctx)
	if err != nil {
		return nil, err
	}
	d, err := cv.authDevice(ctx, plain)
	if ErrorCode(err) == EUnauthorized {
		return nil, c.secretMiss(ctx, err)
	}
	return d, err
}

// AuthenticateScanner is AuthenticateDevice for a device about to scan: it
// checks the key on the cached catalog, without a query, and the device it
// returns must go into the scan's RedeemRequest.Scanner: Redeem checks it
// again on the catalog version its ticket was read at, so an archived
// device is still refused from its next scan on every node. A key refused
// on the cached catalog is checked again on the current one.
func (c *Core) AuthenticateScanner(ctx context.Context, plain string) (*Device, error) {
	if err := c.secretGuessAllowed(ctx); err != nil {
		return nil, err
	}
	d, err := c.authenticateScanner(ctx, plain)
	if ErrorCode(err) == EUnauthorized {
		return nil, c.secretMiss(ctx, err)
	}
	return d, err
}

func (c *Core) authenticateScanner(ctx context.Context, plain string) (*Device, error) {
	cv, err := c.lastView(ctx)
	if err != nil {
		return nil, err
	}
	d, err := cv.authDevice(ctx, plain)
	if err == nil || failed(err) {
		return d, err
	}
	now, verr := c.view(ctx)
	if verr != nil {
		return nil, verr
	}
	if now.version() == cv.version() {
		return nil, err
	}
	return now.authDevice(ctx, plain)
}

// deviceCheck is how a device was authenticated: by the key with this
// prefix and hash, on the catalog at version.
type deviceCheck struct {
	prefix  string
	hash    []byte
	version int64
}

func (cv *catalogView) authDevice(ctx context.Context, plain string) (*Device, error) {
	prefix, ok := APIKeyPrefix(plain)
	if !ok {
		return nil, Errorf(EUnauthorized, "invalid key")
	}
	da, err := cv.deviceByKey(ctx, prefix, func(k *APIKey) bool { return SecretMatches(plain, k.Hash) })
	if err != nil {
		return nil, err
	}
	d := *da.device // the cached device is shared
	d.check = &deviceCheck{prefix: prefix, hash: da.key.Hash, version: cv.version()}
	return &d, nil
}

// recheck checks again, on cv, a device authenticated on another catalog
// version: its key must still be the one it was authenticated by.
func (cv *catalogView) recheck(ctx context.Context, d *Device) error {
	if d.check == nil {
		return Errorf(EInternal, "device %s was not authenticated", d.UUID)
	}
	if d.check.version == cv.version() {
		return nil
	}
	da, err := cv.deviceByKey(ctx, d.check.prefix, func(k *APIKey) bool { return bytes.Equal(k.Hash, d.check.hash) })
	if err != nil {
		return err
	}
	if da.device.ID != d.ID {
		return Errorf(EUnauthorized, "invalid key")
	}
	return nil
}

// deviceByKey finds the device whose key has prefix, if match accepts the
// key: unknown, revoked or not matching → EUnauthorized, archived →
// EForbidden. What it returns is shared.
func (cv *catalogView) deviceByKey(ctx context.Context, prefix string, match func(*APIKey) bool) (deviceAuth, error) {
	denied := Errorf(EUnauthorized, "invalid key")
	da, err := cv.deviceByPrefix(ctx, prefix)
	if err != nil {
		if IsNotFound(err) {
			return deviceAuth{}, denied
		}
		return deviceAuth{}, err
	}
	if da.device == nil || da.key.Revoked || !match(da.key) {
		return deviceAuth{}, denied
	}
	if da.device.Archived {
		return deviceAuth{}, Errorf(EForbidden, "App is archived.")
	}
	return da, nil
}

// PlainLookup says what an unsigned scanned string may be.
type PlainLookup int

const (
	PlainNone   PlainLookup = iota // only signed codes are accepted
	PlainSecret                    // a ticket secret (pretix)
	PlainSerial                    // a ticket serial (TickeTing)
	PlainAny                       // a secret, else a serial (admit's own API)
)

// RedeemRequest is one scan, in the core's terms.
type RedeemRequest struct {
	Code  string // the scanned content: a signed QR code, or a secret/serial
	Plain PlainLookup

	// Scope. OrganizerID: the ticket must be the organizer's. EventID: the
	// scan is for this event (a ticket of another is ReasonWrongEvent).
	// ListID: scan on this list, else the ticket's event's default list.
	// SubeventID: the date the scan is for. Sections: a further restriction.
	OrganizerID int64
	EventID     int64
	ListID      int64
	SubeventID  int64
	Sections    []int64
	// EventUUID names the event the scan is for (TiBillet's event_uuid):
	// it must be one of OrganizerID's events, and EventID's if that is set
	// (a device bound to one event). Else the scan is refused as
	// ReasonWrongEvent before the code is read.
	EventUUID string

	Type  ScanType // default entry
	Force bool     // admit even if unpaid, already redeemed or the area is full
	// LenientExit records an exit of a ticket that is not inside, as pretix
	// does (the pretixdroid door sets it); else such an exit is refused
	// with ReasonNotInside.
	LenientExit  bool
	IgnoreUnpaid bool
	Nonce        string
	DeviceTime   *time.Time

	// Scanner is the device that scans, as AuthenticateScanner returned it:
	// Redeem checks it again if the catalog moved on since.
	Scanner *Device

	// Who scanned, for the log.
	DeviceID   int64
	DeviceUUID string
	DeviceName string
	Redeemer   string
	Source     string

	// DryRun decides without recording anything (a status check).
	DryRun bool

	// Offline marks a scan a device decided on its own while it had no
	// network, uploaded later with its Nonce (required) and DeviceTime
	// (required): it is decided at DeviceTime + ClockOffset (the device's
	// clock error, server minus device), recorded once per event and nonce
	// whatever its result, and compared with the device's own verdict:
	// DeviceAdmitted, in the device's words DeviceVerdict. A scan the
	// device refused is never recorded as an entry. Its time must lie
	// within OfflineMaxAge before and OfflineMaxAhead after the server's,
	// unless OfflineUnbounded (pretix accepts any datetime).
	Offline          bool
	DeviceAdmitted   bool
	DeviceVerdict    string
	ClockOffset      time.Duration
	OfflineUnbounded bool

	// noCache: the ticket is read from the store, not the ticket cache.
	noCache bool
}

// at is when the scan happened: the device's time (corrected by its clock
// offset) for an offline upload, else the server's.
func (req *RedeemRequest) at(serverTime time.Time) time.Time {
	if req.DeviceTime != nil {
		return req.DeviceTime.Add(req.ClockOffset)
	}
	return serverTime
}

// RedeemResult is the core's answer to a scan.
type RedeemResult struct {
	Reason Reason
	Detail string // for unreadable codes: what was wrong
	// Ticket, Event and List are set as far as they were found; Ticket
	// without its QRCode.
	Ticket         *Ticket
	Event          *Event
	List           *CheckinList
	State          *CheckinState // the ticket's state on the list after the scan
	CheckinAllowed bool
	Forced         bool
	Replayed       bool
	// ScanID is the scan log row recorded (the first one, for a replay);
	// 0 for a dry run. ServerTime is when the server received the scan.
	ScanID     int64
	ServerTime time.Time
	// Conflict: how an offline scan's device and the server disagree.
	Conflict Conflict

	// cachedAt: Ticket came from the ticket cache, read at this
	// Store.TicketsVersion; 0: from the store.
	cachedAt int64
}

// OK reports whether the ticket was (or, for a dry run, would be) admitted.
func (r *RedeemResult) OK() bool { return r.Reason == ReasonOK }

// Redeem is the one redeem decision for every dialect: it reads and
// verifies the code before any lookup, finds the ticket, applies the rules
// in their order, records the attempt and, atomically, the entry.
//
// The catalog (events, keys, lists) comes from the core's cache at the last
// version seen, and is checked against the version the ticket was read at
// (one statement): if an import moved it, the scan is judged again on the
// new catalog. A refusal that read no ticket checks the version with a query
// of its own; one about the code's format needs no catalog at all.
//
// A ticket may come from the ticket cache (ticketcache.go): then the store
// records the scan only if the catalog is still at the ticket's version,
// else the scan is judged again from the store.
func (c *Core) redeem(ctx context.Context, req *RedeemRequest) (*RedeemResult, error) {
	res, err := c.redeemOnce(ctx, req)
	if err != errStaleTicket {
		return res, err
	}
	if tc := c.ticketCache(); tc != nil && res != nil && res.Ticket != nil {
		tc.forget(res.Ticket.EventID)
	}
	again := *req
	again.noCache = true
	return c.redeemOnce(ctx, &again)
}

// errStaleTicket: a scan judged on a cached ticket found the catalog moved on.
var errStaleTicket = errors.New("admit: cached ticket of an older catalog")

func (c *Core) redeemOnce(ctx context.Context, req *RedeemRequest) (*RedeemResult, error) {
	if req.Type == "" {
		req.Type = ScanEntry
	}
	if err := checkRedeemText(req); err != nil {
		return nil, err
	}
	serverTime := c.now()
	if req.Offline {
		if err := checkOffline(req, serverTime); err != nil {
			return nil, err
		}
	}
	cv, err := c.lastView(ctx)
	if err != nil {
		return nil, err
	}
	var res *RedeemResult
	var scope RedeemRequest
	for try := 1; ; try++ {
		res, scope = &RedeemResult{}, *req
		err := c.judge(ctx, cv, &scope, res, serverTime)
		if err != nil && failed(err) {
			return nil, err
		}
		var seen int64
		switch {
		case res.Ticket != nil && res.Ticket.CatalogVersion != 0:
			seen = res.Ticket.CatalogVersion
		case err == nil && req.Scanner == nil &&
			(res.Reason == ReasonBadFormat || res.Reason == ReasonBadEncoding || res.Reason == ReasonNoUUID):
			// No catalog in the answer (a scanner's is: it is checked again).
			seen = cv.version()
		default:
			v, verr := c.Store.CatalogVersion(ctx)
			if verr != nil {
				return nil, verr
			}
			seen = v
		}
		if seen == cv.version() || try == 3 {
			if err != nil {
				return nil, err
			}
			break
		}
		cv = c.viewAt(seen)
	}
	req = &scope
	res.ServerTime = serverTime
	if req.DryRun {
		return res, c.stateVerdict(ctx, req, res)
	}
	if req.Offline {
		if err := c.offlineVerdict(ctx, req, res); err != nil {
			return nil, err
		}
	}
	a := &ScanAttempt{
		Scan: Scan{
			DeviceID: req.DeviceID, DeviceName: req.DeviceName, Redeemer: req.Redeemer,
			Source: req.Source, Type: req.Type, Result: res.Reason, Nonce: req.Nonce,
			DeviceTime: req.DeviceTime, ServerTime: serverTime, Forced: res.Forced,
			Offline: req.Offline, DeviceVerdict: req.DeviceVerdict, ClockOffset: req.ClockOffset,
			Conflict: res.Conflict,
		},
		Admit:       res.Reason == ReasonOK,
		Force:       req.Force,
		LenientExit: req.LenientExit,
		DeviceUUID:  req.DeviceUUID,
	}
	a.TicketsVersion = res.cachedAt // 0 when the ticket was read from the store
	if res.Ticket != nil {
		a.Scan.TicketID, a.Scan.EventID = res.Ticket.ID, res.Ticket.EventID
	} else if req.EventID != 0 {
		a.Scan.EventID = req.EventID
	}
	if req.Offline && req.EventID != 0 {
		// An upload is the event's, whatever ticket it names: its nonce
		// and its conflicts are counted there.
		a.Scan.EventID = req.EventID
	}
	if res.List != nil {
		a.Scan.ListID = res.List.ID
		a.Policy = res.List.Policy()
	}
	if a.Admit && (a.Scan.TicketID == 0 || a.Scan.ListID == 0) {
		return nil, Errorf(EInternal, "admit without ticket or list")
	}
	if a.Admit {
		// The areas with a capacity, from the catalog the scan was judged on.
		a.ListLimited = res.List.Capacity != nil
		if sid := res.Ticket.SectionID; sid != 0 {
			limited, err := cv.limitedSections(ctx, res.Ticket.EventID)
			if err != nil {
				return nil, err
			}
			a.SectionID, a.SectionLimited = sid, limited[sid]
		}
	}
	out, err := c.Store.Scan(ctx, a)
	if err != nil {
		return nil, err
	}
	if out.Stale {
		return res, errStaleTicket
	}
	res.Reason, res.State, res.Replayed, res.ScanID = out.Result, out.State, out.Replayed, out.ScanID
	res.Forced = res.Forced || out.Forced
	if req.Offline {
		res.Conflict = out.Conflict
	}
	if c.Live != nil && !out.Replayed && a.Scan.EventID != 0 {
		c.Live.Publish(c.liveScan(ctx, cv, req, res, &a.Scan, out.ScanID))
	}
	return res, nil
}

// Occupancy counts an event's entries, exits and tickets inside, per list
// and per section, with their capacities and how many tickets could enter.
func (c *Core) Occupancy(ctx context.Context, eventID int64) (*Occupancy, error) {
	return c.Store.Occupancy(ctx, eventID)
}

// judge resolves the scan's event, reads the code, finds the ticket and
// decides, on the catalog view cv; nothing is written. A refusal is set in
// res.Reason.
func (c *Core) judge(ctx context.Context, cv *catalogView, req *RedeemRequest, res *RedeemResult, serverTime time.Time) error {
	if req.Scanner != nil {
		if err := cv.recheck(ctx, req.Scanner); err != nil {
			return err
		}
	}
	if err := c.scopeEvent(ctx, cv, req); err != nil {
		if code := ErrorCode(err); code == EInvalid || code == ENotFound || code == EForbidden {
			// An event this scan may not be for: an unknown one, another
			// organizer's, or not the bound one.
			res.Reason = ReasonWrongEvent
			return nil
		}
		return err
	}
	t, ev, err := c.resolve(ctx, cv, req, res)
	if err != nil {
		return err
	}
	if t != nil && res.Reason == "" {
		res.Ticket, res.Event = t, ev
		if err := c.decide(ctx, cv, req, res, serverTime); err != nil {
			return err
		}
		if res.Reason == "" && res.List == nil {
			return Errorf(EInternal, "no check-in list")
		}
	}
	if res.List == nil && res.Reason == "" {
		res.Reason = ReasonUnknown
	}
	return nil
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

// resolve reads the code and finds the ticket. A refusal is set in res.Reason.
func (c *Core) resolve(ctx context.Context, cv *catalogView, req *RedeemRequest, res *RedeemResult) (*Ticket, *Event, error) {
	code := strings.TrimSpace(req.Code)
	if code == "" {
		res.Reason, res.Detail = ReasonBadFormat, "empty code"
		return nil, nil, nil
	}
	if req.Plain == PlainNone || LooksSigned(code) {
		return c.resolveSigned(ctx, cv, req, code, res)
	}
	if req.EventID == 0 {
		return nil, nil, Errorf(EInternal, "plain lookup without an event")
	}
	var t *Ticket
	var err error
	switch req.Plain {
	case PlainSecret:
		t, err = c.ticketBy(ctx, cv, req, res, req.EventID, keySecret, code)
	case PlainSerial:
		t, err = c.ticketBy(ctx, cv, req, res, req.EventID, keySerial, code)
	case PlainAny:
		if t, err = c.ticketBy(ctx, cv, req, res, req.EventID, keySecret, code); IsNotFound(err) {
			t, err = c.ticketBy(ctx, cv, req, res, req.EventID, keySerial, code)
		}
	}
	if IsNotFound(err) {
		res.Reason = ReasonUnknown
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	ev, err := cv.event(ctx, t.EventID)
	if err != nil {
		return nil, nil, err
	}
	return t, ev, nil
}

func (c *Core) resolveSigned(ctx context.Context, cv *catalogView, req *RedeemRequest, code string, res *RedeemResult) (*Ticket, *Event, error) {
	pc, reason, detail := ParseCode(code)
	if pc == nil {
		res.Reason, res.Detail = reason, detail
		return nil, nil, nil
	}
	// Find the key without touching the ticket.
	var candidates []*Event
	switch {
	case pc.Claims.Event != "":
		ev, err := cv.eventByUUID(ctx, strings.ToLower(pc.Claims.Event))
		if err != nil && !IsNotFound(err) {
			return nil, nil, err
		}
		if ev != nil {
			candidates = []*Event{ev}
		}
	case req.EventID != 0:
		ev, err := cv.event(ctx, req.EventID)
		if err != nil {
			return nil, nil, err
		}
		candidates = []*Event{ev}
		// A genuine code of another of the organizer's events must come out
		// as "wrong event", not as forged: try their keys after the scan's.
		if req.OrganizerID != 0 {
			evs, err := cv.events(ctx, req.OrganizerID)
			if err != nil {
				return nil, nil, err
			}
			for _, other := range evs {
				if other.ID != ev.ID {
					candidates = append(candidates, other)
				}
			}
		}
	case req.OrganizerID != 0:
		evs, err := cv.events(ctx, req.OrganizerID)
		if err != nil {
			return nil, nil, err
		}
		candidates = evs
	}
	var signer *Event
	for _, ev := range candidates {
		ok, err := c.Keys.Verify(ev.PublicKeyPEM, pc.Payload, pc.Signature)
		if err != nil {
			c.Log.Error("event public key unusable", "event", ev.UUID, "err", err)
			continue
		}
		if ok {
			signer = ev
			break
		}
	}
	if signer == nil {
		res.Reason = ReasonBadSignature
		return nil, nil, nil
	}
	if req.OrganizerID != 0 && signer.OrganizerID != req.OrganizerID {
		res.Reason = ReasonUnknown
		return nil, nil, nil
	}
	t, err := c.ticketBy(ctx, cv, req, res, signer.ID, keyUUID, pc.Claims.UUID)
	if IsNotFound(err) || (err == nil && t.EventID != signer.ID) {
		res.Reason = ReasonUnknown
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return t, signer, nil
}

// ticketBy finds a ticket of event eventID by uuid, secret or serial:
// from the ticket cache at the catalog view's version when the scan may
// (it will be recorded, and the store checks the version then), else from
// the store. res.cachedAt says which. The ticket carries no QR code.
func (c *Core) ticketBy(ctx context.Context, cv *catalogView, req *RedeemRequest, res *RedeemResult, eventID int64, kind byte, key string) (*Ticket, error) {
	res.cachedAt = 0
	if kind == keyUUID {
		key = strings.ToLower(key)
	}
	if !req.noCache && !req.DryRun && !req.Offline {
		if t, at, ok := c.cachedTicket(eventID, cv.version(), kind, key); ok && at != 0 {
			res.cachedAt = at
			return t, nil
		}
	}
	var t *Ticket
	var err error
	switch kind {
	case keySecret:
		t, err = c.Store.TicketBySecret(ctx, eventID, key)
	case keySerial:
		t, err = c.Store.TicketBySerial(ctx, eventID, key)
	default:
		t, err = c.Store.TicketByUUID(ctx, key)
	}
	if t != nil {
		t.QRCode = "" // as the cache has it: a scan has its code
	}
	return t, err
}

// decide applies scope, list and the rules to a known ticket.
func (c *Core) decide(ctx context.Context, cv *catalogView, req *RedeemRequest, res *RedeemResult, serverTime time.Time) error {
	t := res.Ticket
	if req.EventID != 0 && t.EventID != req.EventID {
		res.Reason = ReasonWrongEvent
		return nil
	}
	var l *CheckinList
	var err error
	if req.ListID != 0 {
		l, err = cv.list(ctx, req.ListID)
	} else {
		l, err = cv.defaultList(ctx, t.EventID)
	}
	if err != nil {
		return err
	}
	if l.EventID != t.EventID {
		res.Reason = ReasonWrongEvent
		return nil
	}
	res.List = l
	if (req.SubeventID != 0 && t.SubeventID != req.SubeventID) || !l.CoversDate(t) {
		res.Reason = ReasonUnknown
		return nil
	}
	d := Decide(DecideInput{Ticket: t, List: l, At: req.at(serverTime), Type: req.Type, Force: req.Force,
		IgnoreUnpaid: req.IgnoreUnpaid, Sections: req.Sections})
	res.Reason, res.CheckinAllowed, res.Forced = d.Reason, d.CheckinAllowed, d.Forced
	return nil
}

// The redeem decision: a scan (RedeemRequest) resolved to its ticket, judged
// and recorded once (RedeemResult).

package admit

import (
	"context"
	"errors"
	"strings"
	"time"
)

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

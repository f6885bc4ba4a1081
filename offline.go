package admit

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Offline scanning: a device keeps a snapshot of what the decision needs
// (OfflineSnapshot), decides on its own while the network is down, and
// uploads its scans later (RedeemRequest.Offline). The server decides each
// again at the time it happened and records where the device and the
// server disagree (Scan.Conflict).

// OfflineTicket is what a device needs to decide on a ticket offline.
type OfflineTicket struct {
	UUID        string
	ProductID   int64
	SectionID   int64
	SubeventID  int64
	OrderStatus OrderStatus
	Blocked     bool
	ValidFrom   *time.Time
	ValidUntil  *time.Time
}

// ListState is one ticket's state on a list, for a snapshot: inside now,
// or entered before (and not inside).
type ListState struct {
	UUID    string
	Inside  bool
	Entered bool // has entries (inside or not)
}

// OfflineSnapshot is an event's tickets and one list's states, or what
// changed since a cursor.
type OfflineSnapshot struct {
	Full       bool // false: a delta on the snapshot of the cursor asked for
	Cursor     string
	ServerTime time.Time
	Event      *Event
	List       *CheckinList
	Products   []*Product
	Sections   []*Section
	// Tickets: every ticket of the event (full), or those whose data
	// changed (delta). States: every ticket with a state on the list
	// (full), or those whose state may have changed (delta).
	Tickets []*OfflineTicket
	States  []ListState
}

// OfflineMaxAhead and OfflineMaxAge bound an offline scan's time (its
// device time corrected by the clock offset) around the server's: a scan
// from the future or from long ago is refused, not recorded.
const (
	OfflineMaxAhead = 10 * time.Minute
	OfflineMaxAge   = 7 * 24 * time.Hour
	// OfflineMaxOffset bounds a device's stated clock offset.
	OfflineMaxOffset = 400 * 24 * time.Hour
)

// Cursor timing: scans logged less than cursorSettle ago may still be
// committing (PostgreSQL hands out ids before commit), and a ticket's
// change may carry an updated_at a little older than its commit: a delta
// repeats what falls in those margins rather than miss it.
const (
	cursorSettle = 10 * time.Second
	ticketSettle = time.Minute
)

type offlineCursor struct {
	version, listID, scanID int64
	ticketsSince            time.Time
}

func (oc offlineCursor) String() string {
	return fmt.Sprintf("1.%d.%d.%d.%d", oc.version, oc.listID, oc.scanID, oc.ticketsSince.UnixMilli())
}

func parseOfflineCursor(s string) (offlineCursor, bool) {
	var oc offlineCursor
	parts := strings.Split(s, ".")
	if len(parts) != 5 || parts[0] != "1" {
		return oc, false
	}
	var n [4]int64
	for i, p := range parts[1:] {
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil || v < 0 {
			return oc, false
		}
		n[i] = v
	}
	oc.version, oc.listID, oc.scanID = n[0], n[1], n[2]
	oc.ticketsSince = time.UnixMilli(n[3]).UTC()
	return oc, true
}

// OfflineSnapshot returns what a device scanning on list needs to decide
// offline: everything, or with a cursor of an earlier snapshot of the same
// list and catalog version, what changed since (repeating a little, never
// missing). An unreadable or outdated cursor gets a full snapshot.
func (c *Core) OfflineSnapshot(ctx context.Context, ev *Event, list *CheckinList, cursor string) (*OfflineSnapshot, error) {
	if list.EventID != ev.ID {
		return nil, Errorf(EInvalid, "the list is not the event's")
	}
	now := c.now()
	version, err := c.Store.CatalogVersion(ctx)
	if err != nil {
		return nil, err
	}
	settled, err := c.Store.SettledScanID(ctx, list.ID, now.Add(-cursorSettle))
	if err != nil {
		return nil, err
	}
	next := offlineCursor{version: version, listID: list.ID, scanID: settled, ticketsSince: now.Add(-ticketSettle)}
	snap := &OfflineSnapshot{ServerTime: now, Event: ev, List: list}
	prev, ok := parseOfflineCursor(cursor)
	snap.Full = !ok || prev.version != version || prev.listID != list.ID || prev.scanID > settled
	if snap.Full {
		next.scanID = settled
	} else if next.scanID < prev.scanID {
		next.scanID = prev.scanID
	}
	snap.Cursor = next.String()

	if snap.Products, err = c.Store.Products(ctx, ev.ID); err != nil {
		return nil, err
	}
	if snap.Sections, err = c.Store.Sections(ctx, ev.ID); err != nil {
		return nil, err
	}
	var since *time.Time
	after := int64(-1) // every state
	if !snap.Full {
		since, after = &prev.ticketsSince, prev.scanID
	}
	err = c.Store.OfflineTickets(ctx, ev.ID, since, func(t *OfflineTicket) error {
		snap.Tickets = append(snap.Tickets, t)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = c.Store.ListStates(ctx, list.ID, after, func(s ListState) error {
		snap.States = append(snap.States, s)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return snap, nil
}

// ConflictReport is an offline scan in conflict with the server, and the
// scan that got there first (nil when there is none: a refusal by the
// server for another reason, or a refusal by the device).
type ConflictReport struct {
	Kind  Conflict
	Scan  *Scan
	Other *Scan
}

// Conflicts lists an event's conflicts: by ticket, then device time, then
// device; at most limit, with their total.
//
// Two admissions of one ticket are reported the same whichever was
// uploaded first: Scan is the later one (by when it happened: device time
// corrected by the clock offset, or server time for an online scan) and
// Other the earlier, which got there first.
func (c *Core) Conflicts(ctx context.Context, eventID int64, limit int) ([]*ConflictReport, int, error) {
	out, total, err := c.Store.Conflicts(ctx, eventID, limit)
	if err != nil {
		return nil, 0, err
	}
	for _, r := range out {
		if r.Kind == ConflictNone {
			r.Kind = r.Scan.Conflict
		}
		if r.Other != nil && scanAt(r.Other).After(scanAt(r.Scan)) {
			r.Scan, r.Other = r.Other, r.Scan
		}
	}
	uuid := func(sc *Scan) string {
		if sc.Ticket != nil {
			return sc.Ticket.UUID
		}
		return ""
	}
	slices.SortStableFunc(out, func(a, b *ConflictReport) int {
		return cmp.Or(
			cmp.Compare(uuid(a.Scan), uuid(b.Scan)),
			scanAt(a.Scan).Compare(scanAt(b.Scan)),
			cmp.Compare(a.Scan.DeviceName, b.Scan.DeviceName),
			cmp.Compare(a.Scan.ID, b.Scan.ID))
	})
	return out, total, nil
}

// scanAt is when a logged scan happened: an offline scan's device time
// corrected by its clock offset, else its device time, else the server's.
func scanAt(sc *Scan) time.Time {
	if sc.DeviceTime != nil {
		return sc.DeviceTime.Add(sc.ClockOffset)
	}
	return sc.ServerTime
}

// offlineTime checks an offline scan's time and offset, and returns when
// the scan happened by the server's clock.
func offlineTime(req *RedeemRequest, now time.Time) (time.Time, error) {
	if req.DeviceTime == nil {
		return time.Time{}, Errorf(EInvalid, "an offline scan needs its device time")
	}
	off := req.ClockOffset
	if off > OfflineMaxOffset || off < -OfflineMaxOffset {
		return time.Time{}, Errorf(EInvalid, "clock offset of %s is not believable", off.Round(time.Second))
	}
	at := req.DeviceTime.Add(off)
	switch {
	case at.After(now.Add(OfflineMaxAhead)):
		return time.Time{}, Errorf(EInvalid, "device time is %s ahead of the server's", at.Sub(now).Round(time.Second))
	case at.Before(now.Add(-OfflineMaxAge)):
		return time.Time{}, Errorf(EInvalid, "device time is %s in the past: older than %s", now.Sub(at).Round(time.Second), OfflineMaxAge)
	}
	return at, nil
}

// checkOffline checks what an offline scan must carry, and its time.
func checkOffline(req *RedeemRequest, now time.Time) error {
	if req.Nonce == "" {
		return Errorf(EInvalid, "an offline scan needs a nonce")
	}
	if req.DeviceTime == nil {
		return Errorf(EInvalid, "an offline scan needs its device time")
	}
	if req.OfflineUnbounded {
		return nil
	}
	_, err := offlineTime(req, now)
	return err
}

// stateVerdict completes a decision without recording it: "already
// redeemed" and "not inside" from the ticket's state on the list. It does
// not count places: a full area is known only when an entry tries to take
// one.
func (c *Core) stateVerdict(ctx context.Context, req *RedeemRequest, res *RedeemResult) error {
	if res.Ticket == nil || res.List == nil {
		return nil
	}
	st, err := c.Store.CheckinState(ctx, res.Ticket.ID, res.List.ID)
	if err != nil && !IsNotFound(err) {
		return err
	}
	res.State = st
	switch {
	case res.Reason != ReasonOK:
	case req.Type == ScanEntry && !req.Force && !res.List.Policy().Admits(st):
		res.Reason = ReasonAlreadyRedeemed
	case req.Type == ScanExit && !req.LenientExit && (st == nil || !st.Inside):
		res.Reason = ReasonNotInside
	}
	return nil
}

// offlineVerdict sets what an offline scan records, given the device's
// verdict and the server's decision so far. A ticket the device admitted
// went in: its entry is recorded if the server admits it too, and a
// refusal is a conflict (the store names "already inside" itself, when it
// finds the ticket inside). A ticket the device refused did not go in: the
// scan is recorded as a refusal, and a conflict if the server would have
// admitted it (then its result is ReasonDeviceRefused). Exits are always
// recorded (the holder left) and are no conflict.
func (c *Core) offlineVerdict(ctx context.Context, req *RedeemRequest, res *RedeemResult) error {
	if req.Type == ScanExit {
		req.LenientExit = true
		if !req.DeviceAdmitted && res.Reason == ReasonOK {
			res.Reason = ReasonDeviceRefused
		}
		return nil
	}
	if req.DeviceAdmitted {
		if res.Reason != ReasonOK && res.Reason != "" {
			res.Conflict = ConflictRefusedByServer
		}
		return nil
	}
	if err := c.stateVerdict(ctx, req, res); err != nil {
		return err
	}
	if res.Reason == ReasonOK {
		res.Reason, res.Conflict = ReasonDeviceRefused, ConflictAdmissible
	}
	return nil
}

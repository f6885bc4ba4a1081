package admit

import (
	"slices"
	"time"
)

// Reason is the outcome of a scan: ReasonOK or why the ticket was refused.
type Reason string

const (
	ReasonOK Reason = "ok"
	// The code could not be read: no "payload:signature" shape, a payload
	// that does not decode to JSON, or no uuid in it.
	ReasonBadFormat   Reason = "bad_format"
	ReasonBadEncoding Reason = "bad_encoding"
	ReasonNoUUID      Reason = "no_uuid"
	// The signature does not verify with any key the scan may use.
	ReasonBadSignature Reason = "bad_signature"
	ReasonUnknown      Reason = "unknown_ticket"
	// The ticket exists but belongs to another event than the scan's.
	ReasonWrongEvent      Reason = "wrong_event"
	ReasonCanceled        Reason = "canceled"
	ReasonBlocked         Reason = "blocked"
	ReasonInvalidTime     Reason = "invalid_time"
	ReasonProduct         Reason = "product"
	ReasonUnpaid          Reason = "unpaid"
	ReasonAlreadyRedeemed Reason = "already_redeemed"
	// ReasonCapacity: the entry would make an area (a list or a section
	// with a capacity) hold more than its capacity.
	ReasonCapacity Reason = "capacity"
	// ReasonNotInside: an exit of a ticket that is not inside.
	ReasonNotInside Reason = "not_inside"
	// ReasonDeviceRefused: an offline device refused the ticket, which the
	// server would have admitted (the scan's Conflict says so).
	ReasonDeviceRefused Reason = "device_refused"
)

// Unreadable reports whether the reason is about the code itself rather than
// a ticket (nothing was looked up).
func (r Reason) Unreadable() bool {
	switch r {
	case ReasonBadFormat, ReasonBadEncoding, ReasonNoUUID, ReasonBadSignature:
		return true
	}
	return false
}

// Decision is the static part of the one redeem decision: every rule but
// "already redeemed", which the store decides atomically (see ListPolicy).
type Decision struct {
	Reason Reason // ReasonOK: go on to the atomic check-in
	// CheckinAllowed is pretix's flag: the order is paid, or pending on a list
	// that accepts pending orders (and not canceled).
	CheckinAllowed bool
	// Forced is set when Force overrode a refusal (unpaid) here; the store
	// also sets it when Force overrides "already redeemed".
	Forced bool
}

// DecideInput is what the decision needs to know.
type DecideInput struct {
	Ticket *Ticket
	List   *CheckinList
	// At is when the scan happened: the device's time for offline uploads,
	// else the server's.
	At           time.Time
	Type         ScanType
	Force        bool // admit even if unpaid or already redeemed
	IgnoreUnpaid bool // admit a pending order where the list accepts pending orders
	// Sections, when non-nil, further restricts the sections admitted (a
	// TickeTing staff token's sections).
	Sections []int64
}

// Decide applies the admission rules to a known ticket, in this order:
// canceled, blocked, outside its validity window, product or section not on
// the list, unpaid. The earlier rules (unreadable or forged code, unknown
// ticket, another event or date) are the core's, before a ticket is known;
// the last (already redeemed) is the store's, atomically, per ListPolicy.
func Decide(in DecideInput) Decision {
	t, l := in.Ticket, in.List
	d := Decision{CheckinAllowed: t.OrderStatus == OrderPaid || (t.OrderStatus == OrderPending && l.IncludePending)}
	switch {
	case t.OrderStatus == OrderCanceled:
		d.Reason = ReasonCanceled
	case t.Blocked:
		d.Reason = ReasonBlocked
	case in.Type == ScanExit:
		// Leaving is never refused for a valid ticket.
		d.Reason = ReasonOK
	case t.ValidFrom != nil && in.At.Before(*t.ValidFrom),
		t.ValidUntil != nil && in.At.After(*t.ValidUntil):
		d.Reason = ReasonInvalidTime
	case !l.CoversProduct(t), in.Sections != nil && !slices.Contains(in.Sections, t.SectionID):
		d.Reason = ReasonProduct
	case t.OrderStatus != OrderPaid:
		switch {
		case in.Force:
			d.Reason, d.Forced = ReasonOK, true
		case l.IncludePending && in.IgnoreUnpaid:
			d.Reason = ReasonOK
		default:
			d.Reason = ReasonUnpaid
		}
	default:
		d.Reason = ReasonOK
	}
	return d
}

// ListPolicy is the part of a list's rules that the store applies atomically
// when it records an entry.
type ListPolicy struct {
	AllowMultipleEntries bool
	AllowEntryAfterExit  bool
}

// Policy returns the list's atomic policy.
func (l *CheckinList) Policy() ListPolicy {
	return ListPolicy{AllowMultipleEntries: l.AllowMultipleEntries, AllowEntryAfterExit: l.AllowEntryAfterExit}
}

// Admits reports whether an entry may be recorded given the ticket's current
// state on the list (nil: never admitted). It is the reference for the
// store's conditional write; the store must apply the same rule atomically.
func (p ListPolicy) Admits(s *CheckinState) bool {
	switch {
	case s == nil || s.Entries == 0:
		return true
	case p.AllowMultipleEntries:
		return true
	case p.AllowEntryAfterExit && !s.Inside:
		return true
	}
	return false
}

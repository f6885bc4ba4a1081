package admit_test

import (
	"testing"
	"time"

	"github.com/admitdev/admit"
)

func TestDecideOrder(t *testing.T) {
	now := time.Date(2026, 12, 28, 20, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	paid := func(mod func(*admit.Ticket)) *admit.Ticket {
		tk := &admit.Ticket{ProductID: 1, SectionID: 10, OrderStatus: admit.OrderPaid}
		if mod != nil {
			mod(tk)
		}
		return tk
	}
	all := &admit.CheckinList{}
	onlyProduct2 := &admit.CheckinList{ProductIDs: []int64{2}}
	onlySection11 := &admit.CheckinList{SectionIDs: []int64{11}}
	pendingOK := &admit.CheckinList{IncludePending: true}
	tests := []struct {
		name         string
		ticket       *admit.Ticket
		list         *admit.CheckinList
		force        bool
		ignoreUnpaid bool
		sections     []int64
		typ          admit.ScanType
		want         admit.Reason
		allowed      bool
		forced       bool
	}{
		{name: "paid ticket on an open list is ok", ticket: paid(nil), list: all, want: admit.ReasonOK, allowed: true},
		{name: "canceled comes before everything", ticket: paid(func(t *admit.Ticket) {
			t.OrderStatus, t.Blocked, t.ValidUntil = admit.OrderCanceled, true, &past
		}), list: onlyProduct2, want: admit.ReasonCanceled},
		{name: "force does not admit a canceled ticket", ticket: paid(func(t *admit.Ticket) { t.OrderStatus = admit.OrderCanceled }), list: all, force: true, want: admit.ReasonCanceled},
		{name: "blocked comes before the window", ticket: paid(func(t *admit.Ticket) { t.Blocked, t.ValidUntil = true, &past }), list: all, want: admit.ReasonBlocked, allowed: true},
		{name: "expired window", ticket: paid(func(t *admit.Ticket) { t.ValidUntil = &past }), list: all, want: admit.ReasonInvalidTime, allowed: true},
		{name: "window not yet open", ticket: paid(func(t *admit.Ticket) { t.ValidFrom = &future }), list: all, want: admit.ReasonInvalidTime, allowed: true},
		{name: "inside the window", ticket: paid(func(t *admit.Ticket) { t.ValidFrom, t.ValidUntil = &past, &future }), list: all, want: admit.ReasonOK, allowed: true},
		{name: "window comes before the product", ticket: paid(func(t *admit.Ticket) { t.ValidUntil = &past }), list: onlyProduct2, want: admit.ReasonInvalidTime, allowed: true},
		{name: "product not on the list", ticket: paid(nil), list: onlyProduct2, want: admit.ReasonProduct, allowed: true},
		{name: "section not on the list", ticket: paid(nil), list: onlySection11, want: admit.ReasonProduct, allowed: true},
		{name: "section not among the token's sections", ticket: paid(nil), list: all, sections: []int64{11}, want: admit.ReasonProduct, allowed: true},
		{name: "section among the token's sections", ticket: paid(nil), list: all, sections: []int64{10, 11}, want: admit.ReasonOK, allowed: true},
		{name: "product comes before unpaid", ticket: paid(func(t *admit.Ticket) { t.OrderStatus = admit.OrderPending }), list: onlyProduct2, want: admit.ReasonProduct},
		{name: "pending on a list without pending orders", ticket: paid(func(t *admit.Ticket) { t.OrderStatus = admit.OrderPending }), list: all, want: admit.ReasonUnpaid},
		{name: "ignore_unpaid needs a list that accepts pending", ticket: paid(func(t *admit.Ticket) { t.OrderStatus = admit.OrderPending }), list: all, ignoreUnpaid: true, want: admit.ReasonUnpaid},
		{name: "pending on a pending list is unpaid but allowed", ticket: paid(func(t *admit.Ticket) { t.OrderStatus = admit.OrderPending }), list: pendingOK, want: admit.ReasonUnpaid, allowed: true},
		{name: "pending on a pending list with ignore_unpaid is ok", ticket: paid(func(t *admit.Ticket) { t.OrderStatus = admit.OrderPending }), list: pendingOK, ignoreUnpaid: true, want: admit.ReasonOK, allowed: true},
		{name: "force admits unpaid and marks it forced", ticket: paid(func(t *admit.Ticket) { t.OrderStatus = admit.OrderPending }), list: all, force: true, want: admit.ReasonOK, forced: true},
		{name: "exit of a valid ticket is ok outside its window", ticket: paid(func(t *admit.Ticket) { t.ValidUntil = &past }), list: onlyProduct2, typ: admit.ScanExit, want: admit.ReasonOK, allowed: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			typ := tc.typ
			if typ == "" {
				typ = admit.ScanEntry
			}
			d := admit.Decide(admit.DecideInput{Ticket: tc.ticket, List: tc.list, At: now, Type: typ,
				Force: tc.force, IgnoreUnpaid: tc.ignoreUnpaid, Sections: tc.sections})
			if d.Reason != tc.want || d.CheckinAllowed != tc.allowed || d.Forced != tc.forced {
				t.Errorf("Decide = %+v, want reason %s, checkin_allowed %v, forced %v", d, tc.want, tc.allowed, tc.forced)
			}
		})
	}
}

func TestListPolicyAdmits(t *testing.T) {
	never := (*admit.CheckinState)(nil)
	inside := &admit.CheckinState{Entries: 1, Inside: true}
	left := &admit.CheckinState{Entries: 1, Inside: false}
	exitedOnly := &admit.CheckinState{Entries: 0}
	tests := []struct {
		name   string
		policy admit.ListPolicy
		state  *admit.CheckinState
		want   bool
	}{
		{"first entry is admitted", admit.ListPolicy{}, never, true},
		{"an exit without entry does not use up the ticket", admit.ListPolicy{}, exitedOnly, true},
		{"second entry is refused", admit.ListPolicy{}, inside, false},
		{"second entry after exit is refused without the flag", admit.ListPolicy{}, left, false},
		{"entry after exit is admitted with the flag", admit.ListPolicy{AllowEntryAfterExit: true}, left, true},
		{"entry while inside is refused even with entry after exit", admit.ListPolicy{AllowEntryAfterExit: true}, inside, false},
		{"multiple entries admit while inside", admit.ListPolicy{AllowMultipleEntries: true}, inside, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.policy.Admits(tc.state); got != tc.want {
				t.Errorf("Admits = %v, want %v", got, tc.want)
			}
		})
	}
}

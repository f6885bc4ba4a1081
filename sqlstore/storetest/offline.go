package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/admitdev/admit"
)

// offlineAttempt is an uploaded offline scan: the device's verdict, its
// time and clock offset; admit says whether the core asks to admit.
func offlineAttempt(tk *admit.Ticket, l *admit.CheckinList, nonce, device string, at time.Time, admit_ bool, result admit.Reason) *admit.ScanAttempt {
	dt := at
	verdict := "ok"
	if result != admit.ReasonOK {
		verdict = string(result)
	}
	a := &admit.ScanAttempt{
		Scan: admit.Scan{TicketID: tk.ID, EventID: tk.EventID, ListID: l.ID, DeviceName: device,
			Source: "api", Type: admit.ScanEntry, Result: result, Nonce: nonce, DeviceTime: &dt,
			ServerTime: t0.Add(time.Hour), Offline: true, DeviceVerdict: verdict, ClockOffset: 1500 * time.Millisecond},
		Admit: admit_,
	}
	return a
}

func testOfflineRecordedOnce(t *testing.T, st admit.Store) {
	res, l := setup(t, st)
	alice, dan := res.Tickets[tAlice], res.Tickets[tDan]
	// An admission and a refusal (canceled), each uploaded three times.
	first := scan(t, st, offlineAttempt(alice, l, "n-alice", "phone 1", t0, true, admit.ReasonOK))
	expect(t, "alice", first, admit.ReasonOK, true, 1)
	if first.Replayed || first.Conflict != admit.ConflictNone {
		t.Errorf("first upload %+v", first)
	}
	refused := scan(t, st, offlineAttempt(dan, l, "n-dan", "phone 1", t0, false, admit.ReasonCanceled))
	for i := range 2 {
		again := scan(t, st, offlineAttempt(alice, l, "n-alice", "phone 1", t0, true, admit.ReasonOK))
		if !again.Replayed || again.Result != admit.ReasonOK || again.ScanID != first.ScanID || again.State == nil || again.State.Entries != 1 {
			t.Errorf("re-upload %d of an admission: %+v, want a replay of scan %d", i, again, first.ScanID)
		}
		againRefused := scan(t, st, offlineAttempt(dan, l, "n-dan", "phone 1", t0, false, admit.ReasonCanceled))
		if !againRefused.Replayed || againRefused.Result != admit.ReasonCanceled || againRefused.ScanID != refused.ScanID {
			t.Errorf("re-upload %d of a refusal: %+v, want a replay of scan %d", i, againRefused, refused.ScanID)
		}
	}
	scans, _, err := st.Scans(ctx, admit.ScanFilter{EventID: res.Event.ID})
	must(t, err)
	if len(scans) != 2 {
		t.Fatalf("%d scans logged, want 2", len(scans))
	}
	sc := scans[0]
	if !sc.Offline || sc.DeviceVerdict != "ok" || sc.ClockOffset != 1500*time.Millisecond || sc.DeviceTime == nil || !sc.DeviceTime.Equal(t0) || sc.Conflict != "" {
		t.Errorf("offline scan as logged: %+v", sc)
	}
	// The entry happened at the device time corrected by the offset.
	if s := first.State; !s.FirstAt.Equal(t0.Add(1500 * time.Millisecond)) {
		t.Errorf("entry at %v, want the device time plus the offset", s.FirstAt)
	}
	if scans[1].DeviceVerdict != "canceled" || scans[1].Result != admit.ReasonCanceled {
		t.Errorf("refusal as logged: %+v", scans[1])
	}
}

func testOfflineConflicts(t *testing.T, st admit.Store) {
	res, l := setup(t, st)
	alice, bob := res.Tickets[tAlice], res.Tickets[tBob]
	p := admit.ListPolicy{}
	// Alice enters online at the gate; phone 2 admitted her offline.
	online := scan(t, st, attempt(alice, l, p, admit.ScanEntry, ""))
	late := offlineAttempt(alice, l, "n-2", "phone 2", t0.Add(5*time.Minute), true, admit.ReasonOK)
	out := scan(t, st, late)
	expect(t, "alice offline after online", out, admit.ReasonAlreadyRedeemed, true, 1)
	if out.Conflict != admit.ConflictAlreadyInside {
		t.Errorf("conflict %q, want already_inside", out.Conflict)
	}
	// Bob: phone 2 refused him offline (it thought him inside); the core
	// says the server would have admitted him.
	ref := offlineAttempt(bob, l, "n-3", "phone 2", t0.Add(6*time.Minute), false, admit.ReasonDeviceRefused)
	ref.Scan.DeviceVerdict, ref.Scan.Conflict = "already_inside", admit.ConflictAdmissible
	out = scan(t, st, ref)
	if out.Result != admit.ReasonDeviceRefused || out.Conflict != admit.ConflictAdmissible || (out.State != nil && out.State.Inside) {
		t.Errorf("device refusal %+v, want device_refused, admissible, not inside", out)
	}
	// A replay of the conflict does not record it twice.
	if again := scan(t, st, offlineAttempt(alice, l, "n-2", "phone 2", t0.Add(5*time.Minute), true, admit.ReasonOK)); !again.Replayed || again.Conflict != admit.ConflictAlreadyInside {
		t.Errorf("replayed conflict %+v", again)
	}

	reports, total, err := st.Conflicts(ctx, res.Event.ID, 0)
	must(t, err)
	if total != 2 || len(reports) != 2 {
		t.Fatalf("%d conflicts (total %d), want 2", len(reports), total)
	}
	byTicket := map[int64]*admit.ConflictReport{}
	for _, r := range reports {
		byTicket[r.Scan.TicketID] = r
	}
	a := byTicket[alice.ID]
	if a == nil || a.Scan.Conflict != admit.ConflictAlreadyInside || a.Other == nil || a.Other.ID != online.ScanID ||
		a.Scan.Ticket == nil || a.Scan.Ticket.UUID != alice.UUID || a.Other.DeviceName != "gate 1" {
		t.Errorf("alice's conflict %+v (other %+v), want the online entry %d as the other", a, a.Other, online.ScanID)
	}
	if b := byTicket[bob.ID]; b == nil || b.Scan.Conflict != admit.ConflictAdmissible || b.Other != nil {
		t.Errorf("bob's conflict %+v", b)
	}
	// Ordered by ticket uuid.
	if reports[0].Scan.Ticket.UUID > reports[1].Scan.Ticket.UUID {
		t.Errorf("conflicts not ordered by ticket")
	}
}

func testOfflineConcurrentUpload(t *testing.T, st admit.Store) {
	res, l := setup(t, st)
	alice, dan := res.Tickets[tAlice], res.Tickets[tDan]
	// One batch sent 10 times at once: an admission and a refusal.
	outs := race(t, st, 20, func(i int) *admit.ScanAttempt {
		if i%2 == 0 {
			return offlineAttempt(alice, l, "same-a", "phone", t0, true, admit.ReasonOK)
		}
		return offlineAttempt(dan, l, "same-d", "phone", t0, false, admit.ReasonCanceled)
	})
	ids := map[int64]int{}
	for _, o := range outs {
		ids[o.ScanID]++
	}
	if len(ids) != 2 {
		t.Errorf("scan ids %v: want two scans, each answered 10 times", ids)
	}
	scans, _, err := st.Scans(ctx, admit.ScanFilter{EventID: res.Event.ID})
	must(t, err)
	if len(scans) != 2 {
		t.Errorf("%d scans logged, want 2", len(scans))
	}
	s, err := st.CheckinState(ctx, alice.ID, l.ID)
	must(t, err)
	if !s.Inside || s.Entries != 1 {
		t.Errorf("state %+v, want inside once", s)
	}
}

func testOfflineSnapshotReads(t *testing.T, st admit.Store) {
	res, l := setup(t, st)
	alice, bob := res.Tickets[tAlice], res.Tickets[tBob]
	var all []*admit.OfflineTicket
	must(t, st.OfflineTickets(ctx, res.Event.ID, nil, func(tk *admit.OfflineTicket) error {
		all = append(all, tk)
		return nil
	}))
	if len(all) != nFixture {
		t.Fatalf("%d offline tickets, want %d", len(all), nFixture)
	}
	for _, ot := range all {
		var tk *admit.Ticket
		for _, r := range res.Tickets {
			if r.UUID == ot.UUID {
				tk = r
			}
		}
		if tk == nil {
			t.Fatalf("unknown ticket %s", ot.UUID)
		}
		if ot.ProductID != tk.ProductID || ot.SectionID != tk.SectionID || ot.SubeventID != tk.SubeventID ||
			ot.OrderStatus != tk.OrderStatus || ot.Blocked != tk.Blocked ||
			fmt.Sprint(ot.ValidFrom) != fmt.Sprint(tk.ValidFrom) || fmt.Sprint(ot.ValidUntil) != fmt.Sprint(tk.ValidUntil) {
			t.Errorf("offline ticket %+v does not match %+v", ot, tk)
		}
	}
	// Only what changed since: bob is blocked later.
	later := t0.Add(time.Hour)
	_, err := st.SetTicketBlocked(ctx, bob.ID, true, later)
	must(t, err)
	var changed []string
	must(t, st.OfflineTickets(ctx, res.Event.ID, &later, func(tk *admit.OfflineTicket) error {
		changed = append(changed, tk.UUID)
		if !tk.Blocked {
			t.Errorf("changed ticket not blocked: %+v", tk)
		}
		return nil
	}))
	if !slices.Equal(changed, []string{bob.UUID}) {
		t.Errorf("changed since %v: %v, want bob", later, changed)
	}

	states := func(after int64) map[string]admit.ListState {
		m := map[string]admit.ListState{}
		must(t, st.ListStates(ctx, l.ID, after, func(s admit.ListState) error {
			m[s.UUID] = s
			return nil
		}))
		return m
	}
	settled, err := st.SettledScanID(ctx, l.ID, t0.Add(time.Hour))
	must(t, err)
	if settled != 0 {
		t.Errorf("settled scan id %d before any scan", settled)
	}
	p := admit.ListPolicy{}
	a1 := scan(t, st, attempt(alice, l, p, admit.ScanEntry, ""))
	scan(t, st, attempt(bob, l, p, admit.ScanEntry, ""))
	b2 := scan(t, st, attempt(bob, l, p, admit.ScanExit, ""))
	if got := states(-1); len(got) != 2 || !got[alice.UUID].Inside || got[bob.UUID].Inside || !got[bob.UUID].Entered {
		t.Errorf("every state: %+v", got)
	}
	if got := states(a1.ScanID); len(got) != 1 || got[bob.UUID].Inside || !got[bob.UUID].Entered {
		t.Errorf("states changed after alice's entry: %+v, want bob's only", got)
	}
	if got := states(b2.ScanID); len(got) != 0 {
		t.Errorf("states changed after the last scan: %+v", got)
	}
	// The scans were logged at t0 (the suite's clock).
	if id, err := st.SettledScanID(ctx, l.ID, t0.Add(time.Second)); err != nil || id != b2.ScanID {
		t.Errorf("settled scan id %d, %v; want %d", id, err, b2.ScanID)
	}
	if id, err := st.SettledScanID(ctx, l.ID, t0); err != nil || id != 0 {
		t.Errorf("settled before t0: %d, %v; want 0", id, err)
	}
}

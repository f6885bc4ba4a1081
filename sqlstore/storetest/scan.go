package storetest

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/admitdev/admit"
)

// attempt is an admitted scan of tk on l at t0.
func attempt(tk *admit.Ticket, l *admit.CheckinList, p admit.ListPolicy, typ admit.ScanType, nonce string) *admit.ScanAttempt {
	return &admit.ScanAttempt{
		Scan: admit.Scan{TicketID: tk.ID, EventID: tk.EventID, ListID: l.ID, DeviceName: "gate 1", Redeemer: "staff",
			Source: "tibillet", Type: typ, Result: admit.ReasonOK, Nonce: nonce, ServerTime: t0},
		Admit:  true,
		Policy: p,
	}
}

// forced makes a an entry recorded even when the list's policy refuses it.
func forced(a *admit.ScanAttempt) *admit.ScanAttempt {
	a.Force = true
	return a
}

// lenient makes a an exit recorded even of a ticket not inside (pretix's).
func lenient(a *admit.ScanAttempt) *admit.ScanAttempt {
	a.LenientExit = true
	return a
}

func scan(t *testing.T, st admit.Store, a *admit.ScanAttempt) *admit.ScanOutcome {
	t.Helper()
	out, err := st.Scan(ctx, a)
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return out
}

// expect checks an outcome's result and state (inside, entries).
func expect(t *testing.T, step string, out *admit.ScanOutcome, result admit.Reason, inside bool, entries int) {
	t.Helper()
	if out.Result != result {
		t.Errorf("%s: result %q, want %q", step, out.Result, result)
	}
	if out.State == nil {
		t.Errorf("%s: no state", step)
		return
	}
	if out.State.Inside != inside || out.State.Entries != entries {
		t.Errorf("%s: state inside=%v entries=%d, want inside=%v entries=%d", step, out.State.Inside, out.State.Entries, inside, entries)
	}
	if out.ScanID == 0 {
		t.Errorf("%s: no scan id", step)
	}
}

func testScanSingleEntry(t *testing.T, st admit.Store) {
	res, l := setup(t, st)
	tk := res.Tickets[tAlice]
	p := admit.ListPolicy{}
	out := scan(t, st, attempt(tk, l, p, admit.ScanEntry, ""))
	expect(t, "first entry", out, admit.ReasonOK, true, 1)
	if out.Forced || out.Replayed {
		t.Errorf("first entry %+v", out)
	}
	if s := out.State; s.TicketID != tk.ID || s.ListID != l.ID || !s.FirstAt.Equal(t0) || !s.LastAt.Equal(t0) || s.FirstDeviceName != "gate 1" {
		t.Errorf("state %+v", s)
	}
	expect(t, "second entry", scan(t, st, attempt(tk, l, p, admit.ScanEntry, "")), admit.ReasonAlreadyRedeemed, true, 1)
	expect(t, "exit", scan(t, st, attempt(tk, l, p, admit.ScanExit, "")), admit.ReasonOK, false, 1)
	expect(t, "entry after exit", scan(t, st, attempt(tk, l, p, admit.ScanEntry, "")), admit.ReasonAlreadyRedeemed, false, 1)

	s, err := st.CheckinState(ctx, tk.ID, l.ID)
	must(t, err)
	if s.Inside || s.Entries != 1 || !s.FirstAt.Equal(t0) {
		t.Errorf("CheckinState %+v", s)
	}
	scans, n, err := st.Scans(ctx, admit.ScanFilter{TicketID: tk.ID})
	must(t, err)
	var got []string
	for _, sc := range scans {
		got = append(got, string(sc.Type)+":"+string(sc.Result))
	}
	if want := "[entry:ok entry:already_redeemed exit:ok entry:already_redeemed]"; fmt.Sprint(got) != want || n != 4 {
		t.Errorf("scan log %v (%d), want %s", got, n, want)
	}
}

func testScanMultipleEntries(t *testing.T, st admit.Store) {
	res, l := setup(t, st)
	tk := res.Tickets[tBob]
	p := admit.ListPolicy{AllowMultipleEntries: true}
	for i := 1; i <= 3; i++ {
		at := t0.Add(time.Duration(i) * time.Minute)
		a := attempt(tk, l, p, admit.ScanEntry, "")
		a.Scan.ServerTime = at
		out := scan(t, st, a)
		expect(t, fmt.Sprintf("entry %d", i), out, admit.ReasonOK, true, i)
		if !out.State.FirstAt.Equal(t0.Add(time.Minute)) || !out.State.LastAt.Equal(at) {
			t.Errorf("entry %d: state %+v", i, out.State)
		}
	}
}

func testScanEntryAfterExit(t *testing.T, st admit.Store) {
	res, l := setup(t, st)
	p := admit.ListPolicy{AllowEntryAfterExit: true}
	tk := res.Tickets[tAlice]
	expect(t, "entry", scan(t, st, attempt(tk, l, p, admit.ScanEntry, "")), admit.ReasonOK, true, 1)
	expect(t, "entry again", scan(t, st, attempt(tk, l, p, admit.ScanEntry, "")), admit.ReasonAlreadyRedeemed, true, 1)
	expect(t, "exit", scan(t, st, attempt(tk, l, p, admit.ScanExit, "")), admit.ReasonOK, false, 1)
	expect(t, "exit again", scan(t, st, attempt(tk, l, p, admit.ScanExit, "")), admit.ReasonNotInside, false, 1)
	expect(t, "exit again, lenient", scan(t, st, lenient(attempt(tk, l, p, admit.ScanExit, ""))), admit.ReasonOK, false, 1)
	expect(t, "re-entry", scan(t, st, attempt(tk, l, p, admit.ScanEntry, "")), admit.ReasonOK, true, 2)
	expect(t, "entry again", scan(t, st, attempt(tk, l, p, admit.ScanEntry, "")), admit.ReasonAlreadyRedeemed, true, 2)

	// An exit before any entry makes a state with no entry; the first entry
	// is then admitted by every policy, and is the first one.
	dev := &admit.Device{OrganizerID: res.Organizer.ID, Name: "Scanner A"}
	must(t, st.CreateDevice(ctx, dev, nil))
	bob := res.Tickets[tBob]
	if out := scan(t, st, attempt(bob, l, admit.ListPolicy{}, admit.ScanExit, "")); out.Result != admit.ReasonNotInside || out.State != nil {
		t.Errorf("exit before any entry: %+v, want not_inside and no state", out)
	}
	expect(t, "exit first, lenient", scan(t, st, lenient(attempt(bob, l, admit.ListPolicy{}, admit.ScanExit, ""))), admit.ReasonOK, false, 0)
	a := attempt(bob, l, admit.ListPolicy{}, admit.ScanEntry, "")
	a.Scan.DeviceID, a.Scan.DeviceName = dev.ID, dev.Name
	dt := t0.Add(-time.Hour)
	a.Scan.DeviceTime = &dt
	out := scan(t, st, a)
	expect(t, "entry after an exit without entry", out, admit.ReasonOK, true, 1)
	if s := out.State; !s.FirstAt.Equal(dt) || !s.LastAt.Equal(dt) || s.FirstDeviceUUID != dev.UUID || s.FirstDeviceName != "Scanner A" {
		t.Errorf("state %+v: the first entry's time is the device's, the device is the scanner", s)
	}
}

func testScanForce(t *testing.T, st admit.Store) {
	res, l := setup(t, st)
	tk := res.Tickets[tAlice]
	p := admit.ListPolicy{}
	a := forced(attempt(tk, l, p, admit.ScanEntry, ""))
	out := scan(t, st, a)
	expect(t, "forced first entry", out, admit.ReasonOK, true, 1)
	if out.Forced {
		t.Errorf("a first entry the policy admits is not forced")
	}
	out = scan(t, st, a)
	expect(t, "forced second entry", out, admit.ReasonOK, true, 2)
	if !out.Forced {
		t.Errorf("second entry not marked forced")
	}
	expect(t, "unforced third", scan(t, st, attempt(tk, l, p, admit.ScanEntry, "")), admit.ReasonAlreadyRedeemed, true, 2)
	scans, _, err := st.Scans(ctx, admit.ScanFilter{TicketID: tk.ID})
	must(t, err)
	if len(scans) != 3 || scans[0].Forced || !scans[1].Forced || scans[2].Forced {
		t.Errorf("forced flags in the log: %v %v %v", scans[0].Forced, scans[1].Forced, scans[2].Forced)
	}
	// The decision forced it (unpaid): the outcome and the log say so.
	carol := res.Tickets[tCarol]
	a = attempt(carol, l, p, admit.ScanEntry, "")
	a.Force, a.Scan.Forced = true, true
	out = scan(t, st, a)
	expect(t, "forced unpaid", out, admit.ReasonOK, true, 1)
	if !out.Forced {
		t.Errorf("an entry the decision forced is forced")
	}
	scans, _, err = st.Scans(ctx, admit.ScanFilter{TicketID: carol.ID})
	must(t, err)
	if len(scans) != 1 || !scans[0].Forced {
		t.Errorf("log %+v", scans)
	}
}

func testScanNonce(t *testing.T, st admit.Store) {
	res, l := setup(t, st)
	tk := res.Tickets[tAlice]
	p := admit.ListPolicy{}
	first := scan(t, st, attempt(tk, l, p, admit.ScanEntry, "n1"))
	expect(t, "entry n1", first, admit.ReasonOK, true, 1)
	again := scan(t, st, attempt(tk, l, p, admit.ScanEntry, "n1"))
	expect(t, "replay n1", again, admit.ReasonOK, true, 1)
	if !again.Replayed || again.ScanID != first.ScanID || first.Replayed {
		t.Errorf("replay %+v, first %+v", again, first)
	}
	refused := scan(t, st, attempt(tk, l, p, admit.ScanEntry, "n2"))
	expect(t, "entry n2", refused, admit.ReasonAlreadyRedeemed, true, 1)
	// A refused nonce is no success: retried, it is refused again.
	expect(t, "retry n2", scan(t, st, attempt(tk, l, p, admit.ScanEntry, "n2")), admit.ReasonAlreadyRedeemed, true, 1)
	// Exits too.
	ex := scan(t, st, attempt(tk, l, p, admit.ScanExit, "x1"))
	expect(t, "exit x1", ex, admit.ReasonOK, false, 1)
	ex2 := scan(t, st, attempt(tk, l, p, admit.ScanExit, "x1"))
	if !ex2.Replayed || ex2.ScanID != ex.ScanID {
		t.Errorf("exit replay %+v", ex2)
	}
	// The nonce of another ticket is another nonce.
	expect(t, "bob n1", scan(t, st, attempt(res.Tickets[tBob], l, p, admit.ScanEntry, "n1")), admit.ReasonOK, true, 1)

	_, n, err := st.Scans(ctx, admit.ScanFilter{TicketID: tk.ID})
	must(t, err)
	if n != 4 {
		t.Errorf("%d scans logged, want 4 (replays write nothing)", n)
	}
	scans, _, err := st.Scans(ctx, admit.ScanFilter{TicketID: tk.ID, Limit: 1})
	must(t, err)
	if len(scans) != 1 || scans[0].Nonce != "n1" {
		t.Errorf("nonce not stored: %+v", scans)
	}
}

func testScanNotAdmitted(t *testing.T, st admit.Store) {
	res, l := setup(t, st)
	dan := res.Tickets[tDan]
	dt := t0.Add(-time.Minute)
	a := &admit.ScanAttempt{Scan: admit.Scan{TicketID: dan.ID, EventID: dan.EventID, ListID: l.ID, Type: admit.ScanEntry,
		Result: admit.ReasonCanceled, Source: "pretixdroid", DeviceName: "gate", Nonce: "c1", DeviceTime: &dt, ServerTime: t0}}
	out := scan(t, st, a)
	if out.Result != admit.ReasonCanceled || out.State != nil || out.ScanID == 0 || out.Replayed {
		t.Errorf("refused scan %+v", out)
	}
	// A state, when there is one, is returned unchanged.
	alice := res.Tickets[tAlice]
	scan(t, st, attempt(alice, l, admit.ListPolicy{}, admit.ScanEntry, ""))
	a2 := attempt(alice, l, admit.ListPolicy{}, admit.ScanEntry, "")
	a2.Admit, a2.Scan.Result = false, admit.ReasonInvalidTime
	out = scan(t, st, a2)
	if out.Result != admit.ReasonInvalidTime || out.State == nil || out.State.Entries != 1 {
		t.Errorf("refused scan of an admitted ticket %+v", out)
	}
	// Unknown and unreadable codes are logged too.
	out = scan(t, st, &admit.ScanAttempt{Scan: admit.Scan{EventID: res.Event.ID, ListID: l.ID, Type: admit.ScanEntry,
		Result: admit.ReasonUnknown, ServerTime: t0}})
	if out.Result != admit.ReasonUnknown || out.State != nil || out.ScanID == 0 {
		t.Errorf("unknown ticket %+v", out)
	}
	out = scan(t, st, &admit.ScanAttempt{Scan: admit.Scan{Type: admit.ScanEntry, Result: admit.ReasonBadSignature}})
	if out.Result != admit.ReasonBadSignature || out.State != nil {
		t.Errorf("unreadable %+v", out)
	}
	// Admitting needs a ticket and a list.
	_, err := st.Scan(ctx, &admit.ScanAttempt{Scan: admit.Scan{ListID: l.ID, Type: admit.ScanEntry, Result: admit.ReasonOK}, Admit: true})
	wantCode(t, err, admit.EInvalid)

	scans, n, err := st.Scans(ctx, admit.ScanFilter{})
	must(t, err)
	if n != 5 || len(scans) != 5 {
		t.Fatalf("%d scans logged, want 5", n)
	}
	s := scans[0]
	if s.TicketID != dan.ID || s.EventID != dan.EventID || s.ListID != l.ID || s.Result != admit.ReasonCanceled || s.Source != "pretixdroid" ||
		s.DeviceName != "gate" || s.Nonce != "c1" || s.DeviceTime == nil || !s.DeviceTime.Equal(dt) || !s.ServerTime.Equal(t0) ||
		s.Type != admit.ScanEntry || s.Forced || s.Ticket == nil {
		t.Errorf("logged scan %+v", s)
	}
	if u := scans[3]; u.TicketID != 0 || u.Ticket != nil || u.EventID != res.Event.ID || u.Result != admit.ReasonUnknown {
		t.Errorf("unknown ticket's scan %+v", u)
	}
	if u := scans[4]; u.EventID != 0 || u.ListID != 0 || u.DeviceTime != nil || u.ServerTime.IsZero() {
		t.Errorf("unreadable code's scan %+v", u)
	}
}

func testScans(t *testing.T, st admit.Store) {
	f := fixture(t, func(f *admit.ImportFile) {
		f.Lists = []admit.ImportList{{Name: "Main"}, {Name: "Balcony", Sections: []string{"Balcony"}}}
	})
	res := importFile(t, st, f, options(t, t0))
	lists, err := st.Lists(ctx, res.Event.ID)
	must(t, err)
	main, balcony := lists[0], lists[1]
	secs, err := st.Sections(ctx, res.Event.ID)
	must(t, err)
	floor := secs[0]
	dev := &admit.Device{OrganizerID: res.Organizer.ID, EventID: res.Event.ID, Name: "Scanner"}
	must(t, st.CreateDevice(ctx, dev, nil))

	alice, bob := res.Tickets[tAlice], res.Tickets[tBob]
	mk := func(tk *admit.Ticket, l *admit.CheckinList, typ admit.ScanType, redeemer string) *admit.ScanAttempt {
		a := attempt(tk, l, admit.ListPolicy{}, typ, "")
		a.Scan.Redeemer, a.Scan.DeviceID, a.Scan.DeviceName = redeemer, dev.ID, dev.Name
		return a
	}
	var want []int64
	for _, a := range []*admit.ScanAttempt{
		mk(alice, main, admit.ScanEntry, "ann"),    // ok
		mk(alice, main, admit.ScanEntry, "ann"),    // already redeemed
		mk(bob, main, admit.ScanEntry, "ben"),      // ok
		mk(bob, balcony, admit.ScanEntry, "ben"),   // ok
		mk(bob, balcony, admit.ScanExit, "ann"),    // ok
		mk(alice, balcony, admit.ScanEntry, "ann"), // ok (the core would refuse it; the store logs it)
	} {
		want = append(want, scan(t, st, a).ScanID)
	}
	// A scan of another device name (bob is in: already redeemed).
	a := mk(bob, main, admit.ScanEntry, "ben")
	a.Scan.DeviceName = "Other"
	want = append(want, scan(t, st, a).ScanID)

	all, n, err := st.Scans(ctx, admit.ScanFilter{EventID: res.Event.ID})
	must(t, err)
	if n != 7 || fmt.Sprint(ids(all, func(s *admit.Scan) int64 { return s.ID })) != fmt.Sprint(want) {
		t.Fatalf("all scans %v (%d), want %v", ids(all, func(s *admit.Scan) int64 { return s.ID }), n, want)
	}
	equalTicket(t, "scan's ticket", all[0].Ticket, alice)
	equalTicket(t, "scan's ticket", all[2].Ticket, bob)
	if all[0].DeviceID != dev.ID || all[0].Redeemer != "ann" || all[0].ListID != main.ID || all[0].Source != "tibillet" {
		t.Errorf("scan %+v", all[0])
	}

	for _, c := range []struct {
		name string
		f    admit.ScanFilter
		want []int // indexes in want
		n    int
	}{
		{"list", admit.ScanFilter{ListID: balcony.ID}, []int{3, 4, 5}, 3},
		{"ticket", admit.ScanFilter{TicketID: alice.ID}, []int{0, 1, 5}, 3},
		{"result", admit.ScanFilter{EventID: res.Event.ID, Result: admit.ReasonAlreadyRedeemed}, []int{1, 6}, 2},
		{"type", admit.ScanFilter{Type: admit.ScanExit}, []int{4}, 1},
		{"redeemer", admit.ScanFilter{Redeemer: "ben"}, []int{2, 3, 6}, 3},
		{"device", admit.ScanFilter{DeviceName: "Other"}, []int{6}, 1},
		{"holder", admit.ScanFilter{HolderNumber: bob.HolderNumber}, []int{2, 3, 4, 6}, 4},
		{"sections", admit.ScanFilter{SectionIDs: []int64{floor.ID}}, []int{0, 1, 5}, 3},
		{"no sections", admit.ScanFilter{SectionIDs: []int64{}}, nil, 0},
		{"combined", admit.ScanFilter{EventID: res.Event.ID, ListID: main.ID, Result: admit.ReasonOK, Redeemer: "ben"}, []int{2}, 1},
		{"page", admit.ScanFilter{EventID: res.Event.ID, Limit: 2, Offset: 2}, []int{2, 3}, 7},
		{"offset", admit.ScanFilter{EventID: res.Event.ID, Offset: 5}, []int{5, 6}, 7},
		{"other event", admit.ScanFilter{EventID: res.Event.ID + 1000}, nil, 0},
	} {
		got, n, err := st.Scans(ctx, c.f)
		must(t, err)
		var w []int64
		for _, i := range c.want {
			w = append(w, want[i])
		}
		if g := ids(got, func(s *admit.Scan) int64 { return s.ID }); fmt.Sprint(g) != fmt.Sprint(w) && !(len(g) == 0 && len(w) == 0) || n != c.n {
			t.Errorf("%s: %v (%d), want %v (%d)", c.name, g, n, w, c.n)
		}
	}
}

// An admitted scan of a ticket or a list that does not exist fails, with a
// client's error, on every path of the scan (plain, with a nonce, forced,
// an exit recorded anyway), and writes nothing.
func testScanMissingTicketOrList(t *testing.T, st admit.Store) {
	res, l := setup(t, st)
	tk := res.Tickets[tAlice]
	noTicket := &admit.Ticket{ID: 1 << 40, EventID: tk.EventID}
	noList := &admit.CheckinList{ID: 1 << 40, EventID: l.EventID}
	for _, c := range []struct {
		name string
		a    *admit.ScanAttempt
	}{
		{"plain entry, no ticket", attempt(noTicket, l, admit.ListPolicy{}, admit.ScanEntry, "")},
		{"plain entry, no list", attempt(tk, noList, admit.ListPolicy{}, admit.ScanEntry, "")},
		{"entry with a nonce, no ticket", attempt(noTicket, l, admit.ListPolicy{}, admit.ScanEntry, "n-1")},
		{"entry with a nonce, no list", attempt(tk, noList, admit.ListPolicy{}, admit.ScanEntry, "n-2")},
		{"forced entry, no ticket", forced(attempt(noTicket, l, admit.ListPolicy{}, admit.ScanEntry, ""))},
		{"exit recorded anyway, no ticket", lenient(attempt(noTicket, l, admit.ListPolicy{}, admit.ScanExit, ""))},
	} {
		out, err := st.Scan(ctx, c.a)
		if err == nil || admit.ErrorCode(err) == admit.EInternal {
			t.Errorf("%s: %+v, %v; want a client's error", c.name, out, err)
		}
	}
	_, logged, err := st.Scans(ctx, admit.ScanFilter{EventID: tk.EventID})
	must(t, err)
	if logged != 0 {
		t.Errorf("%d scans logged, want none", logged)
	}
	// The ticket itself still enters, once.
	out, err := st.Scan(ctx, attempt(tk, l, admit.ListPolicy{}, admit.ScanEntry, ""))
	must(t, err)
	if out.Result != admit.ReasonOK || out.State == nil || out.State.Entries != 1 {
		t.Errorf("the ticket's entry: %+v", out)
	}
}

func testScanFailureIsolation(t *testing.T, st admit.Store) {
	res, l := setup(t, st)
	tk := res.Tickets[tAlice]
	// Scans that fail (a ticket that does not exist) among scans that do not,
	// all at once: a store that batches them must fail only the bad ones.
	const n = 60
	var wg sync.WaitGroup
	errs := make([]error, n)
	outs := make([]*admit.ScanOutcome, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var a *admit.ScanAttempt
			switch i % 3 {
			case 0: // an entry of a ticket that does not exist
				a = attempt(&admit.Ticket{ID: 1 << 40, EventID: tk.EventID}, l, admit.ListPolicy{}, admit.ScanEntry, "")
			case 1:
				a = attempt(tk, l, admit.ListPolicy{}, admit.ScanEntry, fmt.Sprint(i))
			case 2:
				a = &admit.ScanAttempt{Scan: admit.Scan{EventID: tk.EventID, ListID: l.ID, Type: admit.ScanEntry,
					Result: admit.ReasonUnknown, ServerTime: t0}}
			}
			outs[i], errs[i] = st.Scan(ctx, a)
		}()
	}
	wg.Wait()
	ok := 0
	for i := range n {
		if i%3 == 0 {
			if errs[i] == nil || admit.ErrorCode(errs[i]) == admit.EInternal {
				t.Errorf("scan %d of a missing ticket: %v", i, errs[i])
			}
			continue
		}
		if errs[i] != nil {
			t.Errorf("scan %d: %v", i, errs[i])
			continue
		}
		if i%3 == 1 && outs[i].Result == admit.ReasonOK {
			ok++
		}
	}
	if ok != 1 {
		t.Errorf("%d entries, want 1", ok)
	}
	_, logged, err := st.Scans(ctx, admit.ScanFilter{EventID: tk.EventID})
	must(t, err)
	if logged != 2*n/3 {
		t.Errorf("%d scans logged, want %d", logged, 2*n/3)
	}
	s, err := st.CheckinState(ctx, tk.ID, l.ID)
	must(t, err)
	if s.Entries != 1 {
		t.Errorf("state %+v", s)
	}
}

// A first entry answers the state as stored, whether the attempt names
// its device's uuid or only its id (the store looks the uuid up).
func testScanFirstEntryState(t *testing.T, st admit.Store) {
	res, l := setup(t, st)
	d := &admit.Device{UUID: admit.NewUUID(), OrganizerID: res.Organizer.ID, Name: "Door", CreatedAt: t0}
	must(t, st.CreateDevice(ctx, d, nil))
	for _, c := range []struct {
		name       string
		ticket     *admit.Ticket
		deviceUUID string
	}{
		{"device uuid given", res.Tickets[tAlice], d.UUID},
		{"device uuid looked up", res.Tickets[tBob], ""},
	} {
		a := attempt(c.ticket, l, admit.ListPolicy{}, admit.ScanEntry, "")
		a.Scan.DeviceID, a.Scan.DeviceName, a.DeviceUUID = d.ID, d.Name, c.deviceUUID
		a.Scan.ServerTime = t0.Add(1234567 * time.Nanosecond) // stored to the microsecond
		out := scan(t, st, a)
		stored, err := st.CheckinState(ctx, c.ticket.ID, l.ID)
		must(t, err)
		if out.Result != admit.ReasonOK || out.State == nil || !reflect.DeepEqual(*out.State, *stored) {
			t.Errorf("%s: answered %+v, stored %+v", c.name, out.State, stored)
		}
		if stored.FirstDeviceUUID != d.UUID || stored.FirstDeviceName != "Door" || !stored.FirstAt.Equal(t0.Add(1234*time.Microsecond)) {
			t.Errorf("%s: stored %+v", c.name, stored)
		}
	}
}

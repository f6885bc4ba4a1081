package storetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/admitdev/admit"
)

// Exits, occupancy and capacities (issue 14).

// capFixture is the fixture with two lists ("Main", the default, and
// "Side", both admitting everything), n more paid tickets on the floor
// (order "CAP"), and the capacities given (nil: none).
func capFixture(t *testing.T, n int, mainCap, floorCap *int) *admit.ImportFile {
	return fixture(t, func(f *admit.ImportFile) {
		f.Lists = []admit.ImportList{
			{Name: "Main", Default: true, Capacity: mainCap},
			{Name: "Side", AllowMultipleEntries: true},
		}
		f.Sections[0].Capacity = floorCap
		o := admit.ImportOrder{Code: "CAP", Email: "cap@example.com"}
		for i := range n {
			o.Tickets = append(o.Tickets, admit.ImportTicket{Product: "VIP", Section: "Floor", FirstName: fmt.Sprint("Guest ", i)})
		}
		f.Orders = append(f.Orders, o)
	})
}

func intp(n int) *int { return &n }

// door is what the core knows from its catalog: the lists by name and the
// sections with a capacity.
type door struct {
	st      admit.Store
	res     *admit.ImportResult
	lists   map[string]*admit.CheckinList
	limited map[int64]bool
}

func openDoor(t *testing.T, st admit.Store, res *admit.ImportResult) *door {
	t.Helper()
	d := &door{st: st, res: res, lists: map[string]*admit.CheckinList{}, limited: map[int64]bool{}}
	ls, err := st.Lists(ctx, res.Event.ID)
	must(t, err)
	for _, l := range ls {
		d.lists[l.Name] = l
	}
	secs, err := st.Sections(ctx, res.Event.ID)
	must(t, err)
	for _, s := range secs {
		if s.Capacity != nil {
			d.limited[s.ID] = true
		}
	}
	return d
}

// attempt is an admitted scan of tk on the named list, with the areas the
// core would flag.
func (d *door) attempt(tk *admit.Ticket, list string, typ admit.ScanType) *admit.ScanAttempt {
	l := d.lists[list]
	a := attempt(tk, l, l.Policy(), typ, "")
	a.ListLimited = l.Capacity != nil
	a.SectionID, a.SectionLimited = tk.SectionID, d.limited[tk.SectionID]
	return a
}

func (d *door) scan(t *testing.T, tk *admit.Ticket, list string, typ admit.ScanType) *admit.ScanOutcome {
	t.Helper()
	return scan(t, d.st, d.attempt(tk, list, typ))
}

// result checks an outcome's result.
func result(t *testing.T, step string, out *admit.ScanOutcome, want admit.Reason) {
	t.Helper()
	if out.Result != want {
		t.Errorf("%s: %q, want %q", step, out.Result, want)
	}
}

func occupancy(t *testing.T, st admit.Store, eventID int64) (map[string]admit.AreaOccupancy, map[string]admit.AreaOccupancy) {
	t.Helper()
	occ, err := st.Occupancy(ctx, eventID)
	must(t, err)
	if occ.EventID != eventID {
		t.Errorf("occupancy of event %d, want %d", occ.EventID, eventID)
	}
	lists, secs := map[string]admit.AreaOccupancy{}, map[string]admit.AreaOccupancy{}
	for _, a := range occ.Lists {
		lists[a.Name] = a
	}
	for _, a := range occ.Sections {
		secs[a.Name] = a
	}
	return lists, secs
}

func testCapacityExits(t *testing.T, st admit.Store) {
	res := importFile(t, st, capFixture(t, 0, nil, nil), options(t, t0))
	d := openDoor(t, st, res)
	alice := res.Tickets[tAlice]
	if out := d.scan(t, alice, "Main", admit.ScanExit); out.Result != admit.ReasonNotInside || out.State != nil {
		t.Errorf("exit before entry: %+v", out)
	}
	expect(t, "entry", d.scan(t, alice, "Main", admit.ScanEntry), admit.ReasonOK, true, 1)
	out := d.scan(t, alice, "Main", admit.ScanExit)
	expect(t, "exit", out, admit.ReasonOK, false, 1)
	if out.State.Exits != 1 {
		t.Errorf("exits %d, want 1", out.State.Exits)
	}
	expect(t, "exit again", d.scan(t, alice, "Main", admit.ScanExit), admit.ReasonNotInside, false, 1)
	// pretix records every exit of a valid ticket, and counts it.
	out = scan(t, st, lenient(d.attempt(alice, "Main", admit.ScanExit)))
	expect(t, "lenient exit", out, admit.ReasonOK, false, 1)
	if out.State.Exits != 2 {
		t.Errorf("exits %d after a lenient exit, want 2", out.State.Exits)
	}
	// Re-entry after an exit: Main allows it (the default), as its policy says.
	expect(t, "re-entry", d.scan(t, alice, "Main", admit.ScanEntry), admit.ReasonOK, true, 2)
	expect(t, "entry while inside", d.scan(t, alice, "Main", admit.ScanEntry), admit.ReasonAlreadyRedeemed, true, 2)
	s, err := st.CheckinState(ctx, alice.ID, d.lists["Main"].ID)
	must(t, err)
	if s.Entries != 2 || s.Exits != 2 || !s.Inside {
		t.Errorf("state %+v", s)
	}
	scans, _, err := st.Scans(ctx, admit.ScanFilter{TicketID: alice.ID})
	must(t, err)
	var got []string
	for _, sc := range scans {
		got = append(got, string(sc.Type)+":"+string(sc.Result))
	}
	if want := "[exit:not_inside entry:ok exit:ok exit:not_inside exit:ok entry:ok entry:already_redeemed]"; fmt.Sprint(got) != want {
		t.Errorf("scan log %v, want %s", got, want)
	}
}

func testCapacityReentryPolicy(t *testing.T, st admit.Store) {
	res := importFile(t, st, fixture(t, func(f *admit.ImportFile) {
		no := false
		f.Lists = []admit.ImportList{{Name: "Once", Default: true, AllowEntryAfterExit: &no, Capacity: intp(5)}}
	}), options(t, t0))
	d := openDoor(t, st, res)
	alice := res.Tickets[tAlice]
	expect(t, "entry", d.scan(t, alice, "Once", admit.ScanEntry), admit.ReasonOK, true, 1)
	expect(t, "exit", d.scan(t, alice, "Once", admit.ScanExit), admit.ReasonOK, false, 1)
	expect(t, "re-entry refused by the list", d.scan(t, alice, "Once", admit.ScanEntry), admit.ReasonAlreadyRedeemed, false, 1)
	lists, _ := occupancy(t, st, res.Event.ID)
	if o := lists["Once"]; o.Inside != 0 || o.Entries != 1 || o.Exits != 1 {
		t.Errorf("occupancy %+v: a refused re-entry takes no place", o)
	}
}

func testCapacityList(t *testing.T, st admit.Store) {
	res := importFile(t, st, capFixture(t, 2, intp(2), nil), options(t, t0))
	d := openDoor(t, st, res)
	alice, bob := res.Tickets[tAlice], res.Tickets[tBob]
	g0, g1 := res.Tickets[nFixture], res.Tickets[nFixture+1]
	if l := d.lists["Main"]; l.Capacity == nil || *l.Capacity != 2 || !admit.ValidUUID(l.UUID) {
		t.Fatalf("list %+v: capacity 2 and a uuid", l)
	}
	expect(t, "alice", d.scan(t, alice, "Main", admit.ScanEntry), admit.ReasonOK, true, 1)
	expect(t, "bob", d.scan(t, bob, "Main", admit.ScanEntry), admit.ReasonOK, true, 1)
	out := d.scan(t, g0, "Main", admit.ScanEntry)
	if out.Result != admit.ReasonCapacity || out.State != nil || out.Forced {
		t.Errorf("entry into a full list: %+v", out)
	}
	// Already inside comes before capacity.
	expect(t, "alice again", d.scan(t, alice, "Main", admit.ScanEntry), admit.ReasonAlreadyRedeemed, true, 1)
	// An exit frees a place.
	expect(t, "bob leaves", d.scan(t, bob, "Main", admit.ScanExit), admit.ReasonOK, false, 1)
	expect(t, "g0 enters", d.scan(t, g0, "Main", admit.ScanEntry), admit.ReasonOK, true, 1)
	out = d.scan(t, bob, "Main", admit.ScanEntry)
	expect(t, "bob's re-entry into the full list", out, admit.ReasonCapacity, false, 1)
	// A refused exit frees nothing.
	result(t, "g1 exits", d.scan(t, g1, "Main", admit.ScanExit), admit.ReasonNotInside)
	result(t, "g1 full", d.scan(t, g1, "Main", admit.ScanEntry), admit.ReasonCapacity)
	// Side has no capacity.
	expect(t, "g1 on side", d.scan(t, g1, "Side", admit.ScanEntry), admit.ReasonOK, true, 1)

	// A forced entry goes over, and says so.
	a := forced(d.attempt(g1, "Main", admit.ScanEntry))
	out = scan(t, st, a)
	expect(t, "forced", out, admit.ReasonOK, true, 1)
	if !out.Forced {
		t.Errorf("an entry over the capacity is forced")
	}
	scans, _, err := st.Scans(ctx, admit.ScanFilter{TicketID: g1.ID, ListID: d.lists["Main"].ID, Result: admit.ReasonOK})
	must(t, err)
	if len(scans) != 1 || !scans[0].Forced {
		t.Errorf("the forced entry's log: %+v", scans)
	}
	lists, _ := occupancy(t, st, res.Event.ID)
	if o := lists["Main"]; o.Inside != 3 || o.Capacity == nil || *o.Capacity != 2 {
		t.Errorf("Main %+v: 3 inside a capacity of 2", o)
	}
	// Two have to leave before the next one enters.
	expect(t, "alice leaves", d.scan(t, alice, "Main", admit.ScanExit), admit.ReasonOK, false, 1)
	result(t, "still full", d.scan(t, bob, "Main", admit.ScanEntry), admit.ReasonCapacity)
	expect(t, "g0 leaves", d.scan(t, g0, "Main", admit.ScanExit), admit.ReasonOK, false, 1)
	expect(t, "bob back", d.scan(t, bob, "Main", admit.ScanEntry), admit.ReasonOK, true, 2)
}

func testCapacityMultipleEntries(t *testing.T, st admit.Store) {
	res := importFile(t, st, fixture(t, func(f *admit.ImportFile) {
		f.Lists = []admit.ImportList{{Name: "Bar", Default: true, AllowMultipleEntries: true, Capacity: intp(1)}}
	}), options(t, t0))
	d := openDoor(t, st, res)
	alice, bob := res.Tickets[tAlice], res.Tickets[tBob]
	expect(t, "alice", d.scan(t, alice, "Bar", admit.ScanEntry), admit.ReasonOK, true, 1)
	// A re-entry while inside takes no place.
	expect(t, "alice again", d.scan(t, alice, "Bar", admit.ScanEntry), admit.ReasonOK, true, 2)
	expect(t, "alice a third time", d.scan(t, alice, "Bar", admit.ScanEntry), admit.ReasonOK, true, 3)
	result(t, "bob", d.scan(t, bob, "Bar", admit.ScanEntry), admit.ReasonCapacity)
	expect(t, "alice leaves", d.scan(t, alice, "Bar", admit.ScanExit), admit.ReasonOK, false, 3)
	expect(t, "bob", d.scan(t, bob, "Bar", admit.ScanEntry), admit.ReasonOK, true, 1)
}

func testCapacitySection(t *testing.T, st admit.Store) {
	res := importFile(t, st, capFixture(t, 2, nil, intp(2)), options(t, t0))
	d := openDoor(t, st, res)
	alice, bob := res.Tickets[tAlice], res.Tickets[tBob]
	g0, g1 := res.Tickets[nFixture], res.Tickets[nFixture+1]
	expect(t, "alice on main", d.scan(t, alice, "Main", admit.ScanEntry), admit.ReasonOK, true, 1)
	// A ticket inside on two lists counts twice in its section.
	expect(t, "alice on side", d.scan(t, alice, "Side", admit.ScanEntry), admit.ReasonOK, true, 1)
	result(t, "g0: the floor is full", d.scan(t, g0, "Main", admit.ScanEntry), admit.ReasonCapacity)
	// Another section is another area.
	expect(t, "bob on the balcony", d.scan(t, bob, "Main", admit.ScanEntry), admit.ReasonOK, true, 1)
	expect(t, "alice leaves side", d.scan(t, alice, "Side", admit.ScanExit), admit.ReasonOK, false, 1)
	expect(t, "g0", d.scan(t, g0, "Side", admit.ScanEntry), admit.ReasonOK, true, 1)
	result(t, "g1: full again", d.scan(t, g1, "Side", admit.ScanEntry), admit.ReasonCapacity)
	_, secs := occupancy(t, st, res.Event.ID)
	if o := secs["Floor"]; o.Inside != 2 || o.Entries != 3 || o.Exits != 1 || o.Capacity == nil || *o.Capacity != 2 {
		t.Errorf("Floor %+v", o)
	}
	if o := secs["Balcony"]; o.Inside != 1 || o.Entries != 1 || o.Capacity != nil {
		t.Errorf("Balcony %+v", o)
	}
}

// A list and a section both limited: the entry needs a place in both; a
// refusal by the second gives back the first's.
func testCapacityBoth(t *testing.T, st admit.Store) {
	res := importFile(t, st, capFixture(t, 3, intp(2), intp(1)), options(t, t0))
	d := openDoor(t, st, res)
	bob := res.Tickets[tBob]
	g0, g1 := res.Tickets[nFixture], res.Tickets[nFixture+1]
	expect(t, "g0", d.scan(t, g0, "Main", admit.ScanEntry), admit.ReasonOK, true, 1)
	result(t, "g1: list free, floor full", d.scan(t, g1, "Main", admit.ScanEntry), admit.ReasonCapacity)
	result(t, "g1 again", d.scan(t, g1, "Main", admit.ScanEntry), admit.ReasonCapacity)
	// Had the refusals kept their list places, Main would be full.
	expect(t, "bob (balcony, no capacity)", d.scan(t, bob, "Main", admit.ScanEntry), admit.ReasonOK, true, 1)
	result(t, "alice: list full now", d.scan(t, res.Tickets[tAlice], "Main", admit.ScanEntry), admit.ReasonCapacity)
}

// The import makes, changes and removes counters.
func testCapacityImport(t *testing.T, st admit.Store) {
	res := importFile(t, st, capFixture(t, 3, nil, nil), options(t, t0))
	d := openDoor(t, st, res)
	uuid := d.lists["Main"].UUID
	g := res.Tickets[nFixture:]
	for i := range 2 {
		expect(t, "enter", d.scan(t, g[i], "Main", admit.ScanEntry), admit.ReasonOK, true, 1)
	}
	// A counter made now counts who is inside.
	res = importFile(t, st, capFixture(t, 3, intp(2), nil), options(t, t0))
	d = openDoor(t, st, res)
	if d.lists["Main"].UUID != uuid {
		t.Errorf("re-import changed the list's uuid %s → %s", uuid, d.lists["Main"].UUID)
	}
	result(t, "full from the start", d.scan(t, g[2], "Main", admit.ScanEntry), admit.ReasonCapacity)
	// A changed capacity keeps the count.
	res = importFile(t, st, capFixture(t, 3, intp(3), nil), options(t, t0))
	d = openDoor(t, st, res)
	expect(t, "one more place", d.scan(t, g[2], "Main", admit.ScanEntry), admit.ReasonOK, true, 1)
	result(t, "full again", d.scan(t, res.Tickets[tAlice], "Main", admit.ScanEntry), admit.ReasonCapacity)
	// No capacity in the file: no limit (the file is the truth, as for the
	// list's other fields).
	res = importFile(t, st, capFixture(t, 3, nil, nil), options(t, t0))
	d = openDoor(t, st, res)
	if d.lists["Main"].Capacity != nil {
		t.Errorf("capacity kept: %v", *d.lists["Main"].Capacity)
	}
	expect(t, "no limit", d.scan(t, res.Tickets[tAlice], "Main", admit.ScanEntry), admit.ReasonOK, true, 1)
	// A section counter made now counts its tickets inside on every list.
	expect(t, "g0 on side", d.scan(t, g[0], "Side", admit.ScanEntry), admit.ReasonOK, true, 1)
	res = importFile(t, st, capFixture(t, 3, nil, intp(5)), options(t, t0))
	d = openDoor(t, st, res)
	// Inside on the floor: alice, g0 (twice), g1, g2 = 5.
	result(t, "floor full", d.scan(t, g[1], "Side", admit.ScanEntry), admit.ReasonCapacity)
	_, secs := occupancy(t, st, res.Event.ID)
	if o := secs["Floor"]; o.Inside != 5 {
		t.Errorf("Floor %+v", o)
	}
	// A ticket moved to another section moves its places: g0 (inside
	// twice) goes to the balcony, the floor has alice, g1, g2 inside.
	f := capFixture(t, 3, nil, intp(5))
	f.Orders[len(f.Orders)-1].Tickets[0].Section = "Balcony"
	res = importFile(t, st, f, options(t, t0))
	d = openDoor(t, st, res)
	expect(t, "g1 on side: 4", d.scan(t, g[1], "Side", admit.ScanEntry), admit.ReasonOK, true, 1)
	expect(t, "alice on side: 5", d.scan(t, res.Tickets[tAlice], "Side", admit.ScanEntry), admit.ReasonOK, true, 1)
	result(t, "g2 on side: full", d.scan(t, g[2], "Side", admit.ScanEntry), admit.ReasonCapacity)
}

// Occupancy's counts are those of the scan log after a mixed load.
func testCapacityOccupancy(t *testing.T, st admit.Store) {
	const n = 8
	res := importFile(t, st, capFixture(t, n, intp(4), intp(6)), options(t, t0))
	d := openDoor(t, st, res)
	lists, secs := occupancy(t, st, res.Event.ID)
	if o := lists["Main"]; o.Total != 3+n || o.UUID != d.lists["Main"].UUID || o.ID != d.lists["Main"].ID || o.Entries != 0 {
		t.Errorf("Main before: %+v (total: alice, her t-shirt, bob and the guests)", o)
	}
	if o := secs["Floor"]; o.Total != 1+n || o.Inside != 0 {
		t.Errorf("Floor before: %+v (total: alice and the guests)", o)
	}
	if o := secs["Balcony"]; o.Total != 1 {
		t.Errorf("Balcony before: %+v", o)
	}
	people := append([]*admit.Ticket{res.Tickets[tAlice], res.Tickets[tBob]}, res.Tickets[nFixture:]...)
	for round := range 7 {
		for i, tk := range people {
			list := []string{"Main", "Side"}[(i+round/3)%2]
			typ := admit.ScanEntry
			if round%2 == 1 && i%4 != 0 {
				typ = admit.ScanExit
			}
			scan(t, st, d.attempt(tk, list, typ))
		}
	}
	lists, secs = occupancy(t, st, res.Event.ID)
	floor := map[int64]bool{}
	for _, tk := range people {
		if tk.SectionID == d.res.Tickets[tAlice].SectionID {
			floor[tk.ID] = true
		}
	}
	var floorEntries, floorExits int
	for name, l := range d.lists {
		scans, _, err := st.Scans(ctx, admit.ScanFilter{ListID: l.ID, Result: admit.ReasonOK})
		must(t, err)
		var entries, exits int
		for _, sc := range scans {
			if sc.Type == admit.ScanEntry {
				entries++
				if floor[sc.TicketID] {
					floorEntries++
				}
			} else {
				exits++
				if floor[sc.TicketID] {
					floorExits++
				}
			}
		}
		inside, _, err := st.FindTickets(ctx, admit.TicketFilter{EventID: res.Event.ID, StateListID: l.ID})
		must(t, err)
		in := 0
		for _, tk := range inside {
			if tk.State != nil && tk.State.Inside {
				in++
			}
		}
		o := lists[name]
		if o.Entries != entries || o.Exits != exits || o.Inside != in {
			t.Errorf("%s: occupancy %+v, the log says %d entries, %d exits, %d inside", name, o, entries, exits, in)
		}
		if entries == 0 || exits == 0 {
			t.Errorf("%s: the load made %d entries, %d exits", name, entries, exits)
		}
	}
	if o := lists["Main"]; o.Inside > 4 {
		t.Errorf("Main %+v over its capacity", o)
	}
	if o := secs["Floor"]; o.Entries != floorEntries || o.Exits != floorExits || o.Inside > 6 {
		t.Errorf("Floor %+v, the log says %d entries, %d exits", o, floorEntries, floorExits)
	}
}

// 50 entries of 50 tickets at once into an area of 10 admit exactly 10.
func testCapacityConcurrent(t *testing.T, st admit.Store) {
	for _, tc := range []struct {
		name            string
		main, floor     *int
		mainAfter, free int // Main's inside after the race; places left on Main once the floor is unlimited
	}{
		{"list", intp(10), nil, 10, 0},
		{"section", nil, intp(10), 10, -1},
		{"section within a list", intp(12), intp(10), 10, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := func(floor *int) *admit.ImportFile { // an event of its own for each case
				f := capFixture(t, 90, tc.main, floor)
				f.Event.Slug = "fest-" + strings.ReplaceAll(tc.name, " ", "-")
				return f
			}
			res := importFile(t, st, file(tc.floor), options(t, t0))
			d := openDoor(t, st, res)
			g := res.Tickets[len(res.Tickets)-90:]
			outs := race(t, st, 50, func(i int) *admit.ScanAttempt { return d.attempt(g[i], "Main", admit.ScanEntry) })
			ok, full := 0, 0
			for _, o := range outs {
				switch o.Result {
				case admit.ReasonOK:
					ok++
				case admit.ReasonCapacity:
					full++
				}
			}
			if ok != 10 || full != 40 {
				t.Fatalf("%d admitted, %d refused for capacity: want exactly 10 and 40", ok, full)
			}
			lists, secs := occupancy(t, st, res.Event.ID)
			if lists["Main"].Inside != tc.mainAfter || secs["Floor"].Inside != 10 || lists["Main"].Entries != 10 {
				t.Errorf("occupancy Main %+v Floor %+v", lists["Main"], secs["Floor"])
			}
			if tc.free < 0 {
				return
			}
			// The refusals gave back every place they took on Main.
			res = importFile(t, st, file(nil), options(t, t0))
			d = openDoor(t, st, res)
			admitted := 0
			for _, tk := range g[50:60] {
				if d.scan(t, tk, "Main", admit.ScanEntry).Result == admit.ReasonOK {
					admitted++
				}
			}
			if admitted != tc.free {
				t.Errorf("%d more admitted on Main, want %d", admitted, tc.free)
			}
		})
	}
}

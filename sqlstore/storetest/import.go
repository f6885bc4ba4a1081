package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/admitdev/admit"
)

func testImportBasic(t *testing.T, st admit.Store) {
	opts := options(t, t0)
	res := importFile(t, st, fixture(t), opts)

	if res.Organizer.ID == 0 || res.Organizer.Slug != "org" || res.Organizer.Name != "Org" || res.Organizer.Domain != "org.example" {
		t.Errorf("organizer %+v", res.Organizer)
	}
	ev := res.Event
	if ev.ID == 0 || !admit.ValidUUID(ev.UUID) || ev.OrganizerID != res.Organizer.ID || ev.Slug != "fest" || ev.Name != "Fest" ||
		ev.Timezone != "Europe/Paris" || !ev.DateFrom.Equal(time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)) ||
		!ev.DateTo.Equal(time.Date(2026, 7, 3, 22, 0, 0, 0, time.UTC)) || !ev.CreatedAt.Equal(t0) {
		t.Errorf("event %+v", ev)
	}
	if ev.Signing != admit.SigningEd25519 || ev.PublicKeyPEM != opts.NewKeys.PublicKeyPEM || ev.PrivateKeyPEM != opts.NewKeys.PrivateKeyPEM {
		t.Errorf("a new event takes the new key pair: %+v", ev)
	}
	if len(res.Subevents) != 2 || res.Subevents[0].Name != "Day 1" || res.Subevents[1].Name != "Day 2" ||
		res.Subevents[0].EventID != ev.ID || !res.Subevents[0].DateFrom.Equal(time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("subevents %+v", res.Subevents)
	}

	if len(res.Tickets) != nFixture {
		t.Fatalf("%d tickets, want %d", len(res.Tickets), nFixture)
	}
	seen := map[string]bool{}
	for i, tk := range res.Tickets {
		if tk.ID == 0 || !admit.ValidUUID(tk.UUID) || len(tk.Secret) != 32 || len(tk.Serial) != 19 || tk.EventID != ev.ID {
			t.Errorf("ticket %d: %+v", i, tk)
		}
		for _, v := range []string{tk.UUID, tk.Secret, tk.Serial} {
			if seen[v] {
				t.Errorf("ticket %d: %q used twice", i, v)
			}
			seen[v] = true
		}
		pc, reason, _ := admit.ParseCode(tk.QRCode)
		if reason != "" || pc.Claims.UUID != tk.UUID || pc.Claims.Event != ev.UUID {
			t.Errorf("ticket %d: QR code %q does not name it", i, tk.QRCode)
		}
		if !tk.CreatedAt.Equal(t0) || !tk.UpdatedAt.Equal(t0) {
			t.Errorf("ticket %d: times %v %v", i, tk.CreatedAt, tk.UpdatedAt)
		}
	}
	alice, shirt, bob := res.Tickets[tAlice], res.Tickets[tShirt], res.Tickets[tBob]
	if alice.FirstName != "Alice" || alice.ProductName != "Pass" || alice.VariationName != "Adult" || alice.SectionName != "Floor" ||
		alice.SectionDescription != "Standing" || alice.SubeventName != "Day 1" || alice.OrderCode != "A1" ||
		alice.OrderStatus != admit.OrderPaid || alice.OrderEmail != "alice@example.com" || alice.OrderName != "Alice Martin" ||
		!admit.ValidUUID(alice.OrderUUID) || !alice.OrderCreatedAt.Equal(t0) || !alice.ProductAdmission ||
		alice.Price != "50.00" || alice.Position != 0 || alice.ParentID != 0 ||
		alice.ValidFrom == nil || !alice.ValidFrom.Equal(time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)) || alice.ValidUntil == nil {
		t.Errorf("alice %+v", alice)
	}
	if alice.HolderNumber != admit.HolderNumber("alice@example.com") {
		t.Errorf("alice's holder number %q: the order's email", alice.HolderNumber)
	}
	if bob.HolderNumber != admit.HolderNumber("bob@example.com") || bob.Position != 1 || bob.VariationName != "Child" {
		t.Errorf("bob %+v", bob)
	}
	if shirt.ParentID != alice.ID || shirt.ProductName != "T-shirt" || shirt.ProductAdmission || shirt.Position != 0 ||
		shirt.OrderID != alice.OrderID || shirt.VariationID != 0 || shirt.SectionID != 0 || shirt.SubeventID != 0 {
		t.Errorf("add-on %+v", shirt)
	}
	if c := res.Tickets[tCarol]; c.OrderStatus != admit.OrderPending || c.Price != "100% off_x" {
		t.Errorf("carol %+v", c)
	}
	if d := res.Tickets[tDan]; d.OrderStatus != admit.OrderCanceled {
		t.Errorf("dan %+v", d)
	}
	if e := res.Tickets[tEve]; !e.Blocked {
		t.Errorf("eve %+v", e)
	}

	// What was returned is what is stored.
	for i, tk := range res.Tickets {
		got, err := st.TicketByUUID(ctx, tk.UUID)
		must(t, err)
		equalTicket(t, "ticket "+tk.UUID, got, tk)
		if i == tAlice {
			got, err = st.TicketByUUID(ctx, strings.ToUpper(tk.UUID))
			must(t, err)
			equalTicket(t, "ticket by upper-case uuid", got, tk)
		}
	}
}

func testImportLookups(t *testing.T, st admit.Store) {
	res, def := setup(t, st)
	ev := res.Event

	org, err := st.Organizer(ctx, res.Organizer.ID)
	must(t, err)
	if *org != *res.Organizer {
		t.Errorf("Organizer %+v, want %+v", org, res.Organizer)
	}
	org, err = st.OrganizerBySlug(ctx, "org")
	must(t, err)
	if *org != *res.Organizer {
		t.Errorf("OrganizerBySlug %+v", org)
	}
	for name, get := range map[string]func() (*admit.Event, error){
		"Event":       func() (*admit.Event, error) { return st.Event(ctx, ev.ID) },
		"EventByUUID": func() (*admit.Event, error) { return st.EventByUUID(ctx, ev.UUID) },
		"EventBySlug": func() (*admit.Event, error) { return st.EventBySlug(ctx, ev.OrganizerID, "fest") },
	} {
		got, err := get()
		must(t, err)
		if *got != *ev {
			t.Errorf("%s: %+v, want %+v", name, got, ev)
		}
	}

	// A second event of the organizer, created later: Events lists oldest first.
	f2 := fixture(t, func(f *admit.ImportFile) { f.Event.Slug = "alpha"; f.Orders = nil })
	res2 := importFile(t, st, f2, options(t, t0.Add(time.Hour)))
	evs, err := st.Events(ctx, ev.OrganizerID)
	must(t, err)
	if len(evs) != 2 || evs[0].ID != ev.ID || evs[1].ID != res2.Event.ID {
		t.Errorf("Events: %v", evs)
	}

	subs, err := st.Subevents(ctx, ev.ID)
	must(t, err)
	if len(subs) != 2 || *subs[0] != *res.Subevents[0] || *subs[1] != *res.Subevents[1] {
		t.Errorf("Subevents %v", subs)
	}
	secs, err := st.Sections(ctx, ev.ID)
	must(t, err)
	if len(secs) != 2 || secs[0].Name != "Floor" || secs[0].Description != "Standing" || secs[0].Position != 0 ||
		secs[1].Name != "Balcony" || secs[1].Position != 1 || secs[0].EventID != ev.ID {
		t.Errorf("Sections %+v %+v", secs[0], secs[1])
	}
	prods, err := st.Products(ctx, ev.ID)
	must(t, err)
	if len(prods) != 3 || prods[0].Name != "Pass" || prods[1].Name != "T-shirt" || prods[2].Name != "VIP" ||
		prods[1].Admission || !prods[0].Admission {
		t.Fatalf("Products %+v", prods)
	}
	if v := prods[0].Variations; len(v) != 2 || v[0].Name != "Adult" || v[1].Name != "Child" || v[0].ProductID != prods[0].ID ||
		v[1].Position != 1 || v[0].ID != res.Tickets[tAlice].VariationID {
		t.Errorf("variations %+v", v)
	}
	if len(prods[1].Variations) != 0 {
		t.Errorf("T-shirt variations %+v", prods[1].Variations)
	}

	// No lists in the file: an implicit default list that admits everything.
	lists, err := st.Lists(ctx, ev.ID)
	must(t, err)
	if len(lists) != 1 || lists[0].ID != def.ID {
		t.Fatalf("Lists %+v", lists)
	}
	if def.Name != "Default" || !def.IsDefault || def.EventID != ev.ID || len(def.ProductIDs) != 0 || len(def.SectionIDs) != 0 ||
		def.SubeventID != 0 || def.IncludePending || def.AllowMultipleEntries {
		t.Errorf("implicit default list %+v", def)
	}
	l, err := st.List(ctx, def.ID)
	must(t, err)
	if !reflectEqual(l, def) {
		t.Errorf("List %+v, want %+v", l, def)
	}

	alice := res.Tickets[tAlice]
	got, err := st.TicketBySecret(ctx, ev.ID, alice.Secret)
	must(t, err)
	equalTicket(t, "TicketBySecret", got, alice)
	got, err = st.TicketBySerial(ctx, ev.ID, alice.Serial)
	must(t, err)
	equalTicket(t, "TicketBySerial", got, alice)
	_, err = st.TicketBySecret(ctx, res2.Event.ID, alice.Secret)
	wantCode(t, err, admit.ENotFound)

	addons, err := st.Addons(ctx, alice.ID)
	must(t, err)
	if len(addons) != 1 {
		t.Fatalf("Addons %v", addons)
	}
	equalTicket(t, "add-on", addons[0], res.Tickets[tShirt])
	addons, err = st.Addons(ctx, res.Tickets[tBob].ID)
	must(t, err)
	if len(addons) != 0 {
		t.Errorf("bob's add-ons %v", addons)
	}
	// A single lookup counts the tickets of the ticket's order.
	for _, c := range []struct {
		name string
		get  func() (*admit.Ticket, error)
		want int
	}{
		{"by uuid, two tickets and an add-on", func() (*admit.Ticket, error) { return st.TicketByUUID(ctx, alice.UUID) }, 3},
		{"by secret, the add-on", func() (*admit.Ticket, error) {
			return st.TicketBySecret(ctx, ev.ID, res.Tickets[tShirt].Secret)
		}, 3},
		{"by serial, alone in its order", func() (*admit.Ticket, error) {
			return st.TicketBySerial(ctx, ev.ID, res.Tickets[tCarol].Serial)
		}, 1},
	} {
		got, err := c.get()
		must(t, err)
		if got.OrderTickets != c.want {
			t.Errorf("%s: OrderTickets %d, want %d", c.name, got.OrderTickets, c.want)
		}
	}
}

func reflectEqual(a, b *admit.CheckinList) bool {
	return a.ID == b.ID && a.EventID == b.EventID && a.Name == b.Name && slices.Equal(a.ProductIDs, b.ProductIDs) &&
		slices.Equal(a.SectionIDs, b.SectionIDs) && a.SubeventID == b.SubeventID &&
		a.AllowMultipleEntries == b.AllowMultipleEntries && a.AllowEntryAfterExit == b.AllowEntryAfterExit &&
		a.IncludePending == b.IncludePending && a.IsDefault == b.IsDefault && a.Position == b.Position
}

func testImportIdempotent(t *testing.T, st admit.Store) {
	res1, def1 := setup(t, st)
	// The same file again, later, with other keys: nothing changes.
	res2 := importFile(t, st, fixture(t), options(t, t0.Add(time.Hour)))
	if *res2.Event != *res1.Event {
		t.Errorf("event changed:\n%+v\n%+v", res2.Event, res1.Event)
	}
	if len(res2.Tickets) != len(res1.Tickets) {
		t.Fatalf("%d tickets, then %d", len(res1.Tickets), len(res2.Tickets))
	}
	for i := range res1.Tickets {
		equalTicket(t, "re-imported ticket", res2.Tickets[i], res1.Tickets[i])
	}
	all, n, err := st.FindTickets(ctx, admit.TicketFilter{EventID: res1.Event.ID, Count: true})
	must(t, err)
	if n != nFixture || len(all) != nFixture {
		t.Errorf("%d tickets stored after a re-import, want %d", n, nFixture)
	}
	lists, err := st.Lists(ctx, res1.Event.ID)
	must(t, err)
	if len(lists) != 1 || lists[0].ID != def1.ID || !lists[0].IsDefault {
		t.Errorf("lists after a re-import %+v", lists)
	}
	subs, err := st.Subevents(ctx, res1.Event.ID)
	must(t, err)
	if len(subs) != 2 || res2.Subevents[0].ID != res1.Subevents[0].ID {
		t.Errorf("subevents after a re-import %+v", subs)
	}
	// Nothing modified: a sync since the first import finds nothing.
	since := t0.Add(time.Minute)
	mod, _, err := st.FindTickets(ctx, admit.TicketFilter{EventID: res1.Event.ID, ModifiedSince: &since})
	must(t, err)
	if len(mod) != 0 {
		t.Errorf("%d tickets modified by a no-op re-import", len(mod))
	}
}

func testImportUpdates(t *testing.T, st admit.Store) {
	res1, _ := setup(t, st)
	later := t0.Add(time.Hour)
	f := fixture(t, func(f *admit.ImportFile) {
		f.Orders[0].Tickets[1].FirstName = "Robert"                                                             // bob renamed
		f.Orders[0].Tickets[0].Addons = append(f.Orders[0].Tickets[0].Addons, f.Orders[0].Tickets[0].Addons[0]) // a 2nd add-on
		f.Orders[3].Tickets[0].Blocked = false                                                                  // eve unblocked
		f.Orders = append(f.Orders, admit.ImportOrder{Code: "E5", Email: "fred@example.com",
			Tickets: []admit.ImportTicket{{Product: "Pass", FirstName: "Fred", Email: "FRED2@example.com "}}})
		f.Sections = append(f.Sections, admit.ImportSection{Name: "Pit"})
	})
	res2 := importFile(t, st, f, options(t, later))
	if len(res2.Tickets) != nFixture+2 {
		t.Fatalf("%d tickets", len(res2.Tickets))
	}
	// Order: alice, shirt, shirt 2, bob, carol, dan, eve, fred.
	for _, c := range []struct{ old, new int }{{tAlice, 0}, {tShirt, 1}, {tBob, 3}, {tCarol, 4}, {tDan, 5}, {tEve, 6}} {
		o, n := res1.Tickets[c.old], res2.Tickets[c.new]
		if o.ID != n.ID || o.UUID != n.UUID || o.Secret != n.Secret || o.Serial != n.Serial || o.QRCode != n.QRCode || !o.CreatedAt.Equal(n.CreatedAt) {
			t.Errorf("ticket %d changed identity: %+v -> %+v", c.old, o, n)
		}
	}
	bob, eve, shirt2, fred := res2.Tickets[3], res2.Tickets[6], res2.Tickets[2], res2.Tickets[7]
	if bob.FirstName != "Robert" || !bob.UpdatedAt.Equal(later) {
		t.Errorf("bob %+v", bob)
	}
	if eve.Blocked || !eve.UpdatedAt.Equal(later) {
		t.Errorf("eve %+v", eve)
	}
	if !res2.Tickets[tAlice].UpdatedAt.Equal(t0) {
		t.Errorf("alice unchanged but updated at %v", res2.Tickets[tAlice].UpdatedAt)
	}
	if shirt2.ParentID != res1.Tickets[tAlice].ID || shirt2.Position != 1 || shirt2.ID == 0 || !shirt2.CreatedAt.Equal(later) {
		t.Errorf("second add-on %+v", shirt2)
	}
	if fred.OrderCode != "E5" || fred.HolderNumber != admit.HolderNumber("fred2@example.com") {
		t.Errorf("fred %+v", fred)
	}
	for _, tk := range res2.Tickets {
		got, err := st.TicketByUUID(ctx, tk.UUID)
		must(t, err)
		equalTicket(t, "stored ticket", got, tk)
	}
	since := t0.Add(time.Minute)
	mod, n, err := st.FindTickets(ctx, admit.TicketFilter{EventID: res1.Event.ID, ModifiedSince: &since, Count: true})
	must(t, err)
	if got, want := ticketIDs(mod), []int64{res2.Tickets[2].ID, bob.ID, eve.ID, fred.ID}; !sameSet(got, want) || n != 4 {
		t.Errorf("modified since: %v, want %v", got, want)
	}
	secs, err := st.Sections(ctx, res1.Event.ID)
	must(t, err)
	if len(secs) != 3 {
		t.Errorf("sections %v", secs)
	}
}

func sameSet(a, b []int64) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func testImportMatchByUUID(t *testing.T, st admit.Store) {
	u1, u2 := admit.NewUUID(), admit.NewUUID()
	f := fixture(t, func(f *admit.ImportFile) {
		f.Orders[0].Tickets[0].UUID = strings.ToUpper(u1)
		f.Orders[0].Tickets[0].Secret = "given-secret"
		f.Orders[0].Tickets[0].Serial = "GIVEN-SERIAL"
		f.Orders[0].Tickets[1].UUID = u2
	})
	res1 := importFile(t, st, f, options(t, t0))
	alice, bob := res1.Tickets[tAlice], res1.Tickets[tBob]
	if alice.UUID != u1 || alice.Secret != "given-secret" || alice.Serial != "GIVEN-SERIAL" || bob.UUID != u2 {
		t.Fatalf("given values not kept: %+v %+v", alice, bob)
	}
	// Swap the two tickets in the file: matched by uuid, not by place. A new
	// secret given for a stored ticket is ignored: it keeps its own.
	f2 := fixture(t, func(f *admit.ImportFile) {
		f.Orders[0].Tickets[0], f.Orders[0].Tickets[1] = f.Orders[0].Tickets[1], f.Orders[0].Tickets[0]
		f.Orders[0].Tickets[0].UUID = u2
		f.Orders[0].Tickets[1].UUID = u1
		f.Orders[0].Tickets[1].Secret = "other-secret"
	})
	res2 := importFile(t, st, f2, options(t, t0.Add(time.Hour)))
	nb, na := res2.Tickets[0], res2.Tickets[1]
	if nb.ID != bob.ID || nb.Position != 0 || nb.FirstName != "Bob" || na.ID != alice.ID || na.Position != 1 ||
		na.Secret != "given-secret" || na.FirstName != "Alice" {
		t.Errorf("after swap: %+v %+v", nb, na)
	}
	if sh := res2.Tickets[2]; sh.ID != res1.Tickets[tShirt].ID || sh.ParentID != alice.ID {
		t.Errorf("add-on after swap: %+v", sh)
	}
	_, n, err := st.FindTickets(ctx, admit.TicketFilter{EventID: res1.Event.ID, Count: true})
	must(t, err)
	if n != nFixture {
		t.Errorf("%d tickets, want %d", n, nFixture)
	}

	// Alice moves to another order with her add-on: the add-on follows.
	f3 := fixture(t, func(f *admit.ImportFile) {
		alice := f.Orders[0].Tickets[0]
		alice.UUID = u1
		f.Orders[0].Tickets = f.Orders[0].Tickets[1:]
		f.Orders[0].Tickets[0].UUID = u2
		f.Orders[1].Tickets = append(f.Orders[1].Tickets, alice)
	})
	res3 := importFile(t, st, f3, options(t, t0.Add(2*time.Hour)))
	// Order: bob, carol, alice, shirt, dan, eve.
	a3, sh3 := res3.Tickets[2], res3.Tickets[3]
	if a3.ID != alice.ID || a3.OrderCode != "B2" || a3.Position != 1 || sh3.ID != res1.Tickets[tShirt].ID ||
		sh3.ParentID != alice.ID || sh3.OrderCode != "B2" || sh3.OrderID != a3.OrderID {
		t.Errorf("after a move: %+v\n%+v", a3, sh3)
	}
	_, n, err = st.FindTickets(ctx, admit.TicketFilter{EventID: res1.Event.ID, Count: true})
	must(t, err)
	if n != nFixture {
		t.Errorf("%d tickets after a move, want %d", n, nFixture)
	}
	for _, tk := range res3.Tickets {
		got, err := st.TicketByUUID(ctx, tk.UUID)
		must(t, err)
		equalTicket(t, "ticket after a move", got, tk)
	}
}

func testImportCancelOrder(t *testing.T, st admit.Store) {
	res1, _ := setup(t, st)
	f := fixture(t, func(f *admit.ImportFile) { f.Orders[0].Status = "canceled" })
	later := t0.Add(time.Hour)
	res2 := importFile(t, st, f, options(t, later))
	for _, i := range []int{tAlice, tShirt, tBob} {
		tk, err := st.TicketByUUID(ctx, res1.Tickets[i].UUID)
		must(t, err)
		if tk.OrderStatus != admit.OrderCanceled || res2.Tickets[i].OrderStatus != admit.OrderCanceled {
			t.Errorf("ticket %d of a canceled order: %s", i, tk.OrderStatus)
		}
		if !tk.UpdatedAt.Equal(later) {
			t.Errorf("ticket %d of a canceled order not modified: %v", i, tk.UpdatedAt)
		}
		if d := admit.Decide(admit.DecideInput{Ticket: tk, List: &admit.CheckinList{}, At: later}); d.Reason != admit.ReasonCanceled {
			t.Errorf("decision %v", d)
		}
	}
	adm, _, err := st.FindTickets(ctx, admit.TicketFilter{EventID: res1.Event.ID, Admissible: true})
	must(t, err)
	if len(adm) != 0 {
		t.Errorf("admissible after canceling A1: %v", ticketIDs(adm))
	}
	// And back to paid.
	importFile(t, st, fixture(t), options(t, later))
	adm, _, err = st.FindTickets(ctx, admit.TicketFilter{EventID: res1.Event.ID, Admissible: true})
	must(t, err)
	if len(adm) != 3 {
		t.Errorf("admissible after un-canceling A1: %v", ticketIDs(adm))
	}
}

func testImportAllOrNothing(t *testing.T, st admit.Store) {
	f := fixture(t, func(f *admit.ImportFile) {
		f.Orders[0].Tickets[1].Secret = "taken-secret"
		f.Orders[0].Tickets[1].Serial = "TAKEN-SERIAL"
	})
	res := importFile(t, st, f, options(t, t0))
	other := fixture(t, func(f *admit.ImportFile) { f.Event.Slug = "other"; f.Orders = f.Orders[:1] })
	resOther := importFile(t, st, other, options(t, t0))
	before, _, err := st.FindTickets(ctx, admit.TicketFilter{})
	must(t, err)

	for _, c := range []struct {
		name  string
		edit  func(f *admit.ImportFile)
		place string
	}{
		{"secret", func(f *admit.ImportFile) { f.Orders[4].Tickets[0].Secret = "taken-secret" }, "orders[4].tickets[0].secret"},
		{"serial", func(f *admit.ImportFile) { f.Orders[4].Tickets[0].Serial = "TAKEN-SERIAL" }, "orders[4].tickets[0].serial"},
		{"uuid of another event", func(f *admit.ImportFile) {
			f.Orders = append(f.Orders, admit.ImportOrder{Code: "NEW", Tickets: []admit.ImportTicket{
				{Product: "Pass"}, {Product: "Pass", Addons: []admit.ImportTicket{{Product: "T-shirt", UUID: resOther.Tickets[tAlice].UUID}}}}})
		}, "orders[5].tickets[1].addons[0].uuid"},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Everything else in the file changes something: none of it may stay.
			bad := fixture(t, func(f *admit.ImportFile) {
				f.Organizer.Name = "Renamed"
				f.Event.Name = "Renamed"
				f.Sections = append(f.Sections, admit.ImportSection{Name: "Pit"})
				f.Orders[0].Tickets[0].FirstName = "Renamed"
				f.Orders[1].Status = "paid"
				f.Orders = append(f.Orders, admit.ImportOrder{Code: "Z9", Tickets: []admit.ImportTicket{{Product: "VIP"}}})
				f.Lists = []admit.ImportList{{Name: "New"}}
			}, c.edit)
			_, err := st.Import(ctx, bad, options(t, t0.Add(time.Hour)))
			wantCode(t, err, admit.EConflict)
			if msg, want := admit.ErrorMessage(err), c.place+": already used by another ticket"; msg != want {
				t.Errorf("message %q, want %q", msg, want)
			}
			after, _, err := st.FindTickets(ctx, admit.TicketFilter{})
			must(t, err)
			if len(after) != len(before) {
				t.Fatalf("%d tickets after a failed import, want %d", len(after), len(before))
			}
			for i := range after {
				equalTicket(t, "ticket after a failed import", after[i], before[i])
			}
			org, err := st.Organizer(ctx, res.Organizer.ID)
			must(t, err)
			ev, err := st.Event(ctx, res.Event.ID)
			must(t, err)
			secs, err := st.Sections(ctx, res.Event.ID)
			must(t, err)
			lists, err := st.Lists(ctx, res.Event.ID)
			must(t, err)
			if org.Name != "Org" || ev.Name != "Fest" || len(secs) != 2 || len(lists) != 1 {
				t.Errorf("a failed import left changes: %q %q %d sections %d lists", org.Name, ev.Name, len(secs), len(lists))
			}
		})
	}
}

package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/admitdev/admit"
)

// pick returns the ids of the fixture's tickets at the given indexes.
func pick(res *admit.ImportResult, idx ...int) []int64 {
	out := make([]int64, len(idx))
	for i, x := range idx {
		out[i] = res.Tickets[x].ID
	}
	return out
}

func testFindTicketsFilters(t *testing.T, st admit.Store) {
	res, _ := setup(t, st)
	ev := res.Event.ID
	alice, bob := res.Tickets[tAlice], res.Tickets[tBob]
	pass, floor, day2 := alice.ProductID, alice.SectionID, bob.SubeventID
	for _, c := range []struct {
		name string
		f    admit.TicketFilter
		want []int64
	}{
		{"event", admit.TicketFilter{EventID: ev}, pick(res, tAlice, tShirt, tBob, tCarol, tDan, tEve)},
		{"other event", admit.TicketFilter{EventID: ev + 1000}, nil},
		{"list products", admit.TicketFilter{EventID: ev, List: &admit.CheckinList{EventID: ev, ProductIDs: []int64{pass}}}, pick(res, tAlice, tBob, tDan)},
		{"list sections", admit.TicketFilter{List: &admit.CheckinList{EventID: ev, SectionIDs: []int64{floor}}}, pick(res, tAlice, tDan, tEve)},
		{"list date", admit.TicketFilter{List: &admit.CheckinList{EventID: ev, SubeventID: day2}}, pick(res, tBob)},
		{"list of everything", admit.TicketFilter{List: &admit.CheckinList{EventID: ev}}, pick(res, tAlice, tShirt, tBob, tCarol, tDan, tEve)},
		{"sections", admit.TicketFilter{EventID: ev, SectionIDs: []int64{bob.SectionID}}, pick(res, tBob)},
		{"two sections", admit.TicketFilter{EventID: ev, SectionIDs: []int64{bob.SectionID, floor}}, pick(res, tAlice, tBob, tDan, tEve)},
		{"no sections", admit.TicketFilter{EventID: ev, SectionIDs: []int64{}}, nil},
		{"subevent", admit.TicketFilter{EventID: ev, SubeventID: alice.SubeventID}, pick(res, tAlice)},
		{"admissible", admit.TicketFilter{EventID: ev, Admissible: true}, pick(res, tAlice, tShirt, tBob)},
		{"admissible or pending", admit.TicketFilter{EventID: ev, Admissible: true, IncludePending: true}, pick(res, tAlice, tShirt, tBob, tCarol)},
		{"paid", admit.TicketFilter{EventID: ev, PaidOnly: true}, pick(res, tAlice, tShirt, tBob, tEve)},
		{"combined", admit.TicketFilter{EventID: ev, Admissible: true, List: &admit.CheckinList{EventID: ev, ProductIDs: []int64{pass}}, SectionIDs: []int64{floor}}, pick(res, tAlice)},
	} {
		got, n, err := st.FindTickets(ctx, c.f)
		must(t, err)
		if !sameSet(ticketIDs(got), c.want) {
			t.Errorf("%s: %v, want %v", c.name, ticketIDs(got), c.want)
		}
		if n != len(c.want) {
			t.Errorf("%s: total %d, want %d", c.name, n, len(c.want))
		}
	}
	// What FindTickets returns is complete.
	got, _, err := st.FindTickets(ctx, admit.TicketFilter{EventID: ev})
	must(t, err)
	byID := map[int64]*admit.Ticket{}
	for _, tk := range got {
		byID[tk.ID] = tk
	}
	for _, tk := range res.Tickets {
		if byID[tk.ID] == nil {
			t.Fatalf("ticket %d missing", tk.ID)
		}
		equalTicket(t, "found ticket", byID[tk.ID], tk)
	}
	// Pages and counts.
	all := slices.Sorted(slices.Values(pick(res, tAlice, tShirt, tBob, tCarol, tDan, tEve)))
	for _, c := range []struct{ limit, offset int }{{2, 0}, {2, 1}, {4, 4}, {0, 5}, {10, 10}} {
		got, n, err := st.FindTickets(ctx, admit.TicketFilter{EventID: ev, Limit: c.limit, Offset: c.offset, Count: true})
		must(t, err)
		end := len(all)
		if c.limit > 0 {
			end = min(c.offset+c.limit, len(all))
		}
		want := all[min(c.offset, len(all)):end]
		if fmt.Sprint(ticketIDs(got)) != fmt.Sprint(want) && len(want)+len(got) > 0 || n != len(all) {
			t.Errorf("limit %d offset %d: %v (%d), want %v (%d)", c.limit, c.offset, ticketIDs(got), n, want, len(all))
		}
	}
}

func testFindTicketsSearch(t *testing.T, st admit.Store) {
	res, _ := setup(t, st)
	ev := res.Event.ID
	alice := res.Tickets[tAlice]
	for _, c := range []struct {
		q      string
		fields admit.SearchFields
		want   []int64
	}{
		{"mart", admit.SearchName, pick(res, tAlice, tBob)},
		{"ALI", admit.SearchName, pick(res, tAlice)},
		{"alice martin", admit.SearchName, pick(res, tAlice)},
		{"zola", admit.SearchEmail, nil},
		{"bob@", admit.SearchEmail, pick(res, tBob)},
		{"CAROL@", admit.SearchEmail, pick(res, tCarol)},
		{"a1", admit.SearchOrderCodePrefix, pick(res, tAlice, tShirt, tBob)},
		{"1", admit.SearchOrderCodePrefix, nil},
		{alice.Secret[:10], admit.SearchSecretPrefix, pick(res, tAlice)},
		{alice.Secret[2:12], admit.SearchSecretPrefix, nil},
		{strings.ToUpper(alice.UUID[:13]), admit.SearchUUIDPrefix, pick(res, tAlice)},
		{alice.OrderUUID[:13], admit.SearchOrderUUIDPrefix, pick(res, tAlice, tShirt, tBob)},
		{"shirt", admit.SearchProduct, pick(res, tShirt)},
		{"pass", admit.SearchProduct, pick(res, tAlice, tBob, tDan)},
		{"0.0", admit.SearchPrice, pick(res, tAlice, tShirt)},
		{".00", admit.SearchPrice, pick(res, tAlice, tShirt, tBob)},
		{"%", admit.SearchPrice, pick(res, tCarol)},
		{"_", admit.SearchPrice, pick(res, tCarol)},
		{"0%", admit.SearchPrice, pick(res, tCarol)},
		{"vip", admit.SearchName | admit.SearchProduct, pick(res, tCarol, tEve)},
		{"eve", admit.SearchName | admit.SearchEmail, pick(res, tEve)},
		{"%", admit.SearchName, nil},
	} {
		got, n, err := st.FindTickets(ctx, admit.TicketFilter{EventID: ev, Query: c.q, Fields: c.fields, Count: true})
		must(t, err)
		if !sameSet(ticketIDs(got), c.want) || n != len(c.want) {
			t.Errorf("search %q in %b: %v, want %v", c.q, c.fields, ticketIDs(got), c.want)
		}
	}
}

func testFindTicketsOrder(t *testing.T, st admit.Store) {
	res, _ := setup(t, st)
	ev := res.Event.ID
	keys := map[admit.TicketOrder]func(tk *admit.Ticket) string{
		admit.OrderByID:        func(tk *admit.Ticket) string { return "" },
		admit.OrderByOrderTime: func(tk *admit.Ticket) string { return tk.OrderCreatedAt.Format("20060102150405.000000") },
		admit.OrderByLastName:  func(tk *admit.Ticket) string { return tk.LastName },
		admit.OrderByFirstName: func(tk *admit.Ticket) string { return tk.FirstName },
		admit.OrderByUUID:      func(tk *admit.Ticket) string { return tk.UUID },
		admit.OrderByStatus:    func(tk *admit.Ticket) string { return string(tk.OrderStatus) },
		admit.OrderByOrderUUID: func(tk *admit.Ticket) string { return tk.OrderUUID },
	}
	for order, key := range keys {
		for _, desc := range []bool{false, true} {
			want := slices.Clone(res.Tickets)
			slices.SortFunc(want, func(a, b *admit.Ticket) int {
				c := cmp.Or(strings.Compare(key(a), key(b)), cmp.Compare(a.ID, b.ID))
				if desc {
					return -c
				}
				return c
			})
			got, _, err := st.FindTickets(ctx, admit.TicketFilter{EventID: ev, OrderBy: order, Desc: desc})
			must(t, err)
			if fmt.Sprint(ticketIDs(got)) != fmt.Sprint(ticketIDs(want)) {
				t.Errorf("order by %q desc=%v: %v, want %v", order, desc, ticketIDs(got), ticketIDs(want))
			}
			// A page of the order.
			got, n, err := st.FindTickets(ctx, admit.TicketFilter{EventID: ev, OrderBy: order, Desc: desc, Limit: 2, Offset: 3, Count: true})
			must(t, err)
			if fmt.Sprint(ticketIDs(got)) != fmt.Sprint(ticketIDs(want[3:5])) || n != nFixture {
				t.Errorf("order by %q desc=%v, page: %v, want %v", order, desc, ticketIDs(got), ticketIDs(want[3:5]))
			}
		}
	}
	_, _, err := st.FindTickets(ctx, admit.TicketFilter{EventID: ev, OrderBy: "price; DROP TABLE tickets"})
	wantCode(t, err, admit.EInvalid)
}

func testFindTicketsState(t *testing.T, st admit.Store) {
	res, l := setup(t, st)
	alice, bob := res.Tickets[tAlice], res.Tickets[tBob]
	scan(t, st, attempt(alice, l, admit.ListPolicy{}, admit.ScanEntry, ""))
	scan(t, st, lenient(attempt(bob, l, admit.ListPolicy{}, admit.ScanExit, ""))) // a state without entry
	got, _, err := st.FindTickets(ctx, admit.TicketFilter{EventID: res.Event.ID, StateListID: l.ID})
	must(t, err)
	if len(got) != nFixture {
		t.Fatalf("%d tickets", len(got))
	}
	for _, tk := range got {
		switch tk.ID {
		case alice.ID:
			if s := tk.State; s == nil || !s.Inside || s.Entries != 1 || s.ListID != l.ID || s.TicketID != alice.ID ||
				!s.FirstAt.Equal(t0) || s.FirstDeviceName != "gate 1" || !s.LastAt.Equal(t0) {
				t.Errorf("alice's state %+v", tk.State)
			}
		case bob.ID:
			if s := tk.State; s == nil || s.Inside || s.Entries != 0 || !s.FirstAt.IsZero() {
				t.Errorf("bob's state %+v", tk.State)
			}
		default:
			if tk.State != nil {
				t.Errorf("ticket %d has a state %+v", tk.ID, tk.State)
			}
		}
	}
	// With filters and a page, and without a state list.
	got, n, err := st.FindTickets(ctx, admit.TicketFilter{EventID: res.Event.ID, StateListID: l.ID, Query: "alice",
		Fields: admit.SearchName, Limit: 1, Count: true})
	must(t, err)
	if len(got) != 1 || n != 1 || got[0].State == nil || got[0].State.Entries != 1 {
		t.Errorf("filtered with state: %+v", got)
	}
	got, _, err = st.FindTickets(ctx, admit.TicketFilter{EventID: res.Event.ID})
	must(t, err)
	for _, tk := range got {
		if tk.State != nil {
			t.Errorf("a state without StateListID")
		}
	}
}

func testTicketCounts(t *testing.T, st admit.Store) {
	res, l := setup(t, st)
	alice, dan := res.Tickets[tAlice], res.Tickets[tDan]
	scan(t, st, attempt(alice, l, admit.ListPolicy{}, admit.ScanEntry, ""))
	scan(t, st, attempt(alice, l, admit.ListPolicy{}, admit.ScanExit, ""))
	scan(t, st, lenient(attempt(res.Tickets[tBob], l, admit.ListPolicy{}, admit.ScanExit, ""))) // an exit is no check-in
	prods, err := st.Products(ctx, res.Event.ID)
	must(t, err)
	pass, shirt, vip := prods[0], prods[1], prods[2]
	adult, child := pass.Variations[0].ID, pass.Variations[1].ID
	type row = admit.TicketCount
	cnt := func(p, v int64, total, checkins int) row {
		return row{ProductID: p, VariationID: v, Total: total, Checkins: checkins}
	}
	for _, c := range []struct {
		name string
		f    admit.TicketFilter
		want []row
	}{
		{"all", admit.TicketFilter{EventID: res.Event.ID}, []row{
			cnt(pass.ID, adult, 2, 1), cnt(pass.ID, child, 1, 0), cnt(shirt.ID, 0, 1, 0), cnt(vip.ID, 0, 2, 0)}},
		{"admissible", admit.TicketFilter{EventID: res.Event.ID, Admissible: true}, []row{
			cnt(pass.ID, adult, 1, 1), cnt(pass.ID, child, 1, 0), cnt(shirt.ID, 0, 1, 0)}},
		{"list", admit.TicketFilter{List: &admit.CheckinList{EventID: res.Event.ID, SectionIDs: []int64{dan.SectionID}}}, []row{
			cnt(pass.ID, adult, 2, 1), cnt(vip.ID, 0, 1, 0)}},
	} {
		got, err := st.TicketCounts(ctx, c.f, l.ID)
		must(t, err)
		slices.SortFunc(got, func(a, b row) int {
			return cmp.Or(cmp.Compare(a.ProductID, b.ProductID), cmp.Compare(a.VariationID, b.VariationID))
		})
		slices.SortFunc(c.want, func(a, b row) int {
			return cmp.Or(cmp.Compare(a.ProductID, b.ProductID), cmp.Compare(a.VariationID, b.VariationID))
		})
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	// Another list has no check-ins.
	got, err := st.TicketCounts(ctx, admit.TicketFilter{EventID: res.Event.ID}, l.ID+1000)
	must(t, err)
	for _, c := range got {
		if c.Checkins != 0 {
			t.Errorf("check-ins on another list: %v", got)
		}
	}
}

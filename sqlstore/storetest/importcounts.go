package storetest

import (
	"testing"

	"github.com/admitdev/admit"
)

// An import counts the tickets it created and the stored ones it changed.
func testImportCounts(t *testing.T, st admit.Store) {
	for _, c := range []struct {
		name             string
		edit             func(f *admit.ImportFile)
		created, updated int
	}{
		{"a new event", func(*admit.ImportFile) {}, nFixture, 0},
		{"the same file again", func(*admit.ImportFile) {}, 0, 0},
		{"a ticket renamed", func(f *admit.ImportFile) { f.Orders[3].Tickets[0].FirstName = "Evelyn" }, 0, 1},
		{"an order canceled, with its ticket and add-on", func(f *admit.ImportFile) {
			f.Orders[3].Tickets[0].FirstName = "Evelyn"
			f.Orders[0].Status = "canceled"
		}, 0, 3},
		{"a ticket added", func(f *admit.ImportFile) {
			f.Orders[3].Tickets[0].FirstName = "Evelyn"
			f.Orders[0].Status = "canceled"
			f.Orders[3].Tickets = append(f.Orders[3].Tickets, admit.ImportTicket{Product: "VIP", FirstName: "Zoe"})
		}, 1, 0},
	} {
		res := importFile(t, st, fixture(t, c.edit), options(t, t0))
		if res.Created != c.created || res.Updated != c.updated {
			t.Errorf("%s: created %d, updated %d; want %d, %d", c.name, res.Created, res.Updated, c.created, c.updated)
		}
	}
}

// Each order's ticket count (read with a ticket, TiBillet's
// reservation.tickets_count) follows the imports: an order made with its
// tickets and add-ons, a ticket added to a stored order, tickets moved
// between stored orders and into a new one, the same file again. (The
// fixture's tickets carry uuids, so that a ticket is matched wherever it
// goes; an import never deletes a stored ticket the file leaves out.)
func testImportOrderTicketCounts(t *testing.T, st admit.Store) {
	uuids := []string{admit.NewUUID(), admit.NewUUID(), admit.NewUUID(), admit.NewUUID(), admit.NewUUID()}
	withUUIDs := func(f *admit.ImportFile) {
		n := 0
		for i := range f.Orders {
			for j := range f.Orders[i].Tickets {
				f.Orders[i].Tickets[j].UUID = uuids[n]
				n++
			}
		}
	}
	steps := []struct {
		name string
		edit func(f *admit.ImportFile)
		want map[string]int
	}{
		{"the fixture", func(*admit.ImportFile) {}, map[string]int{"A1": 3, "B2": 1, "C3": 1, "D4": 1}},
		{"a ticket added to a stored order, a new order with an add-on", func(f *admit.ImportFile) {
			f.Orders[3].Tickets = append(f.Orders[3].Tickets, admit.ImportTicket{Product: "VIP", FirstName: "Zoe"})
			f.Orders = append(f.Orders, admit.ImportOrder{Code: "E5", Tickets: []admit.ImportTicket{
				{Product: "Pass", FirstName: "Fred", Addons: []admit.ImportTicket{{Product: "T-shirt"}}},
				{Product: "Pass", FirstName: "Gina"}}})
		}, map[string]int{"A1": 3, "B2": 1, "C3": 1, "D4": 2, "E5": 3}},
		{"a ticket and its add-on moved to another stored order", func(f *admit.ImportFile) {
			a := f.Orders[0].Tickets[0]
			f.Orders[0].Tickets = f.Orders[0].Tickets[1:]
			f.Orders[1].Tickets = append(f.Orders[1].Tickets, a)
		}, map[string]int{"A1": 1, "B2": 3, "C3": 1, "D4": 2}},
		{"moved again, into a new order", func(f *admit.ImportFile) {
			a := f.Orders[0].Tickets[0]
			f.Orders[0].Tickets = f.Orders[0].Tickets[1:]
			f.Orders = append(f.Orders, admit.ImportOrder{Code: "F6", Tickets: []admit.ImportTicket{a}})
		}, map[string]int{"A1": 1, "B2": 1, "F6": 2}},
		{"the same file again", func(f *admit.ImportFile) {
			a := f.Orders[0].Tickets[0]
			f.Orders[0].Tickets = f.Orders[0].Tickets[1:]
			f.Orders = append(f.Orders, admit.ImportOrder{Code: "F6", Tickets: []admit.ImportTicket{a}})
		}, map[string]int{"A1": 1, "B2": 1, "F6": 2}},
	}
	for _, s := range steps {
		res := importFile(t, st, fixture(t, withUUIDs, s.edit), options(t, t0))
		seen := map[string]bool{}
		for _, tk := range res.Tickets {
			got, err := st.TicketByUUID(ctx, tk.UUID)
			must(t, err)
			want, ok := s.want[got.OrderCode]
			if !ok {
				continue
			}
			seen[got.OrderCode] = true
			if got.OrderTickets != want {
				t.Errorf("%s: order %s counts %d tickets, want %d (ticket %s)", s.name, got.OrderCode, got.OrderTickets, want, tk.FirstName)
			}
		}
		for code := range s.want {
			if !seen[code] {
				t.Errorf("%s: no ticket of order %s in the import's result", s.name, code)
			}
		}
	}
}

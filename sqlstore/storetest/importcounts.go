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

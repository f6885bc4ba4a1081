package bench_test

import (
	"bytes"
	"context"
	"reflect"
	"testing"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/admittest"
	"github.com/admitdev/admit/bench"
)

// TestBulkReferenceInsertsTheSameRows: the import benchmark's reference
// reads an imported event's orders and tickets out, deletes them and
// inserts the same rows again; afterwards every ticket reads back as
// before (ids, codes, QR codes, orders) and is found by a name search (the
// SQLite search triggers ran).
func TestBulkReferenceInsertsTheSameRows(t *testing.T) {
	ctx := context.Background()
	dsn := admittest.DSN(t)
	core := admittest.OpenCore(t, dsn)
	var file bytes.Buffer
	if err := bench.WriteImportJSON(&file, 1500, "bulk"); err != nil {
		t.Fatal(err)
	}
	rep, err := core.ImportJSON(ctx, &file, admit.ImportRequest{})
	if err != nil {
		t.Fatal(err)
	}
	rep.Close()
	ev := rep.Output.Event
	all := func() []*admit.Ticket {
		ts, n, err := core.Store.FindTickets(ctx, admit.TicketFilter{EventID: ev.ID, Count: true})
		if err != nil {
			t.Fatal(err)
		}
		if n != 1500 || len(ts) != 1500 {
			t.Fatalf("%d tickets (%d listed), want 1500", n, len(ts))
		}
		return ts
	}
	before := all()
	res, err := bench.BulkReference(ctx, dsn, bench.Organizer, "bulk", admittest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if res.Tickets != 1500 || res.Orders != rep.Output.Counts.Orders || res.InsertSeconds <= 0 {
		t.Fatalf("bulk result %+v", res)
	}
	after := all()
	for i := range before {
		if !reflect.DeepEqual(before[i], after[i]) {
			t.Fatalf("ticket %d differs after the bulk insert:\n%+v\n%+v", i, before[i], after[i])
		}
	}
	name := before[700].FirstName + " " + before[700].LastName
	found, _, err := core.Store.FindTickets(ctx, admit.TicketFilter{EventID: ev.ID, Query: name, Fields: admit.SearchName})
	if err != nil {
		t.Fatal(err)
	}
	ok := false
	for _, f := range found {
		ok = ok || f.ID == before[700].ID
	}
	if !ok {
		t.Errorf("a search for %q does not find ticket %d after the bulk insert", name, before[700].ID)
	}
}

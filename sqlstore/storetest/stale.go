package storetest

import (
	"reflect"
	"testing"

	"github.com/admitdev/admit"
)

// A scan judged at a tickets version that is no longer the store's (a
// ticket the core read from its cache before an import or a block) is
// answered Stale and writes nothing: no log row, no entry. At the current
// version it is recorded as any scan; every kind of attempt is checked.
// Blocking a ticket moves the tickets version, as an import does.
func testScanStaleCatalogWritesNothing(t *testing.T, st admit.Store) {
	res, l := setup(t, st)
	tk := res.Tickets[tAlice]
	before, err := st.TicketsVersion(ctx)
	must(t, err)
	catalog, err := st.CatalogVersion(ctx)
	must(t, err)
	// Blocking a ticket moves the tickets version on, as an import does,
	// and leaves the catalog's (offline devices keep their deltas).
	_, err = st.SetTicketBlocked(ctx, res.Tickets[tBob].ID, true, t0)
	must(t, err)
	v, err := st.TicketsVersion(ctx)
	must(t, err)
	if v <= before {
		t.Fatalf("blocking a ticket left the tickets version at %d (was %d)", v, before)
	}
	if c, err := st.CatalogVersion(ctx); err != nil || c != catalog {
		t.Fatalf("blocking a ticket moved the catalog version %d → %d (%v)", catalog, c, err)
	}
	p := admit.ListPolicy{}
	cases := []struct {
		name string
		a    *admit.ScanAttempt
	}{
		{"entry", attempt(tk, l, p, admit.ScanEntry, "")},
		{"entry with a nonce", attempt(tk, l, p, admit.ScanEntry, "n-1")},
		{"forced entry", forced(attempt(tk, l, p, admit.ScanEntry, ""))},
		{"exit", lenient(attempt(tk, l, p, admit.ScanExit, ""))},
		{"refusal", func() *admit.ScanAttempt {
			a := attempt(tk, l, p, admit.ScanEntry, "")
			a.Admit, a.Scan.Result = false, admit.ReasonBlocked
			return a
		}()},
	}
	for _, c := range cases {
		for _, old := range []int64{before, v + 1} {
			a := *c.a
			a.TicketsVersion = old
			out := scan(t, st, &a)
			if !out.Stale || out.ScanID != 0 {
				t.Errorf("%s judged at tickets version %d, store at %d: %+v, want stale and nothing written", c.name, old, v, out)
			}
		}
	}
	if scans, n, err := st.Scans(ctx, admit.ScanFilter{TicketID: tk.ID}); err != nil || n != 0 {
		t.Fatalf("stale scans wrote %d log rows (%v): %+v", n, err, scans)
	}
	if s, err := st.CheckinState(ctx, tk.ID, l.ID); err == nil && s != nil && s.Entries+s.Exits > 0 {
		t.Fatalf("stale scans changed the state: %+v", s)
	}
	a := attempt(tk, l, p, admit.ScanEntry, "")
	a.TicketsVersion = v
	out := scan(t, st, a)
	if out.Stale {
		t.Fatalf("a scan at the current version %d answered stale", v)
	}
	expect(t, "entry at the current version", out, admit.ReasonOK, true, 1)
}

// EventTickets gives every ticket of the event as the single lookups give
// it, with the order's ticket count and the catalog version read at once.
func testEventTickets(t *testing.T, st admit.Store) {
	res, _ := setup(t, st)
	v, err := st.CatalogVersion(ctx)
	must(t, err)
	tv, err := st.TicketsVersion(ctx)
	must(t, err)
	seen := map[string]bool{}
	got, err := st.EventTickets(ctx, res.Event.ID, 0, func(tk *admit.Ticket) error {
		want, err := st.TicketByUUID(ctx, tk.UUID)
		must(t, err)
		if !reflect.DeepEqual(tk, want) {
			t.Errorf("EventTickets gave\n%+v\nTicketByUUID gives\n%+v", tk, want)
		}
		seen[tk.UUID] = true
		return nil
	})
	must(t, err)
	if got.Catalog != v || got.Tickets != tv {
		t.Errorf("EventTickets at versions %+v, the store is at catalog %d, tickets %d", got, v, tv)
	}
	for _, tk := range res.Tickets {
		if !seen[tk.UUID] {
			t.Errorf("EventTickets left out ticket %s", tk.UUID)
		}
	}
	if len(seen) != len(res.Tickets) || got.Count != int64(len(res.Tickets)) {
		t.Errorf("EventTickets gave %d tickets and a count of %d, the event has %d", len(seen), got.Count, len(res.Tickets))
	}
	// More than max: counted, not read.
	called := false
	got, err = st.EventTickets(ctx, res.Event.ID, int64(len(res.Tickets)-1), func(*admit.Ticket) error { called = true; return nil })
	must(t, err)
	if called || got.Count != int64(len(res.Tickets)) {
		t.Errorf("EventTickets with max %d of %d tickets: fn called %v, count %d", len(res.Tickets)-1, len(res.Tickets), called, got.Count)
	}
}

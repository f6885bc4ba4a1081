package admit_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/admittest"
)

// cacheFixture: tickets with every kind of field the cache keeps (section,
// variation, validity window, add-on, secrets and serials, statuses).
const cacheFixture = `{"organizer": {"slug": "o", "name": "O"}, "event": {"slug": "e", "name": "E"},
  "sections": [{"name": "Floor", "description": "Standing"}],
  "products": [{"name": "Day"}, {"name": "Shirt", "admission": false, "variations": ["Red", "Blue"]}],
  "lists": [{"name": "Gate", "products": ["Day"], "default": true, "allow_multiple_entries": true},
            {"name": "Shop", "products": ["Shirt"]}],
  "orders": [
    {"code": "A", "status": "paid", "email": "a@example.org", "name": "Ann Order", "tickets": [
      {"product": "Day", "first_name": "Ann", "last_name": "Alpha", "email": "ann@example.org", "section": "Floor",
       "secret": "sec-ann-0001", "serial": "SER-ANN-1", "price": "12.50",
       "valid_from": "2020-01-01T10:00:00Z", "valid_until": "2099-12-31T23:00:00Z",
       "addons": [{"product": "Shirt", "variation": "Red"}]},
      {"product": "Day", "first_name": "Ben", "last_name": "Beta"}]},
    {"code": "B", "status": "paid", "tickets": [{"product": "Day", "first_name": "Cy", "last_name": "Gamma", "secret": "sec-cy-0002"}]},
    {"code": "C", "status": "%s", "tickets": [{"product": "Day", "first_name": "Di", "last_name": "Delta"}]}]}`

// waitCached scans a ticket of the event (which starts loading the event
// into the cache) and waits until the load is done.
func waitCached(t *testing.T, c *admit.Core, res *admit.ImportResult, want int64) {
	t.Helper()
	ctx := context.Background()
	for deadline := time.Now().Add(20 * time.Second); ; {
		if _, err := c.Redeem(ctx, &admit.RedeemRequest{Code: res.Tickets[len(res.Tickets)-1].QRCode,
			OrganizerID: res.Organizer.ID, Source: "test", Type: admit.ScanExit, LenientExit: true}); err != nil {
			t.Fatal(err)
		}
		c.WaitTicketCache()
		if c.TicketCacheStats().Tickets >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the event's tickets were not cached: %+v", c.TicketCacheStats())
		}
	}
}

// A scan served from the ticket cache answers with the very ticket the
// store holds (every field but the QR code, which no scan's ticket
// carries), and finds it by uuid, secret and serial.
func TestTicketCacheServesTheStoredTicket(t *testing.T) {
	env := admittest.Start(t)
	res := env.Import(t, fmt.Sprintf(cacheFixture, "paid"))
	ctx := context.Background()
	waitCached(t, env.Core, res, int64(len(res.Tickets)))
	before := env.Core.TicketCacheStats()
	for _, tk := range res.Tickets {
		reqs := []*admit.RedeemRequest{{Code: tk.QRCode, OrganizerID: res.Organizer.ID}}
		if tk.Secret != "" {
			reqs = append(reqs, &admit.RedeemRequest{Code: tk.Secret, Plain: admit.PlainSecret, EventID: res.Event.ID})
		}
		if tk.Serial != "" {
			reqs = append(reqs, &admit.RedeemRequest{Code: tk.Serial, Plain: admit.PlainSerial, EventID: res.Event.ID})
		}
		for _, req := range reqs {
			req.Source, req.Type, req.LenientExit = "test", admit.ScanExit, true
			r, err := env.Core.Redeem(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			want, err := env.Core.Store.TicketByUUID(ctx, tk.UUID)
			if err != nil {
				t.Fatal(err)
			}
			want.QRCode = "" // a scan's ticket has none: the scan has the code
			if !reflect.DeepEqual(r.Ticket, want) {
				t.Errorf("scan of %q answered with\n%+v\nthe store holds\n%+v", req.Code, r.Ticket, want)
			}
		}
	}
	after := env.Core.TicketCacheStats()
	if after.Hits <= before.Hits || after.Misses != before.Misses {
		t.Errorf("scans of cached tickets: hits %d → %d, misses %d → %d; want every one a hit",
			before.Hits, after.Hits, before.Misses, after.Misses)
	}
}

// What changes a ticket or its order applies from the next scan, on this
// node and on another one sharing the database whose cache holds the old
// ticket: a re-import that cancels an order or renames a holder, and a
// ticket blocked through the API.
func TestTicketCacheSeesEveryChangeAtOnce(t *testing.T) {
	env := admittest.Start(t)
	other := admittest.OpenCore(t, env.DSN) // a second node
	res := env.Import(t, fmt.Sprintf(cacheFixture, "paid"))
	ctx := context.Background()
	cores := map[string]*admit.Core{"this node": env.Core, "another node": other}
	for _, c := range cores {
		waitCached(t, c, res, int64(len(res.Tickets)))
	}
	byName := map[string]*admit.Ticket{}
	for _, tk := range res.Tickets {
		byName[tk.FirstName] = tk
	}
	scan := func(c *admit.Core, tk *admit.Ticket) *admit.RedeemResult {
		t.Helper()
		r, err := c.Redeem(ctx, &admit.RedeemRequest{Code: tk.QRCode, OrganizerID: res.Organizer.ID, Source: "test"})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for name, c := range cores {
		if r := scan(c, byName["Di"]); r.Reason != admit.ReasonOK {
			t.Fatalf("%s: Di before any change: %s", name, r.Reason)
		}
	}

	// Order C canceled and Ann renamed, by a re-import on this node.
	file := fmt.Sprintf(cacheFixture, "canceled")
	env.Import(t, replaceOnce(t, file, `"first_name": "Ann"`, `"first_name": "Anna"`))
	for name, c := range cores {
		if r := scan(c, byName["Di"]); r.Reason != admit.ReasonCanceled {
			t.Errorf("%s: Di after her order was canceled: %s, want canceled", name, r.Reason)
		}
		if r := scan(c, byName["Ann"]); r.Ticket == nil || r.Ticket.FirstName != "Anna" {
			t.Errorf("%s: Ann after the rename: %+v", name, r.Ticket)
		}
	}

	// Ben blocked on this node; both nodes have cached the re-import.
	for _, c := range cores {
		waitCached(t, c, res, int64(len(res.Tickets)))
	}
	if _, err := env.Core.SetTicketBlocked(ctx, res.Event, byName["Ben"].UUID, true); err != nil {
		t.Fatal(err)
	}
	for name, c := range cores {
		if r := scan(c, byName["Ben"]); r.Reason != admit.ReasonBlocked {
			t.Errorf("%s: Ben after he was blocked: %s, want blocked", name, r.Reason)
		}
	}
	// Nothing a stale cached ticket admitted was recorded.
	scans, _, err := env.Core.Store.Scans(ctx, admit.ScanFilter{EventID: res.Event.ID, Result: admit.ReasonOK, TicketID: byName["Ben"].ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(scans) != 0 {
		t.Errorf("Ben was recorded as admitted %d times", len(scans))
	}
}

func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("%q not in the fixture", old)
	}
	return strings.Replace(s, old, new, 1)
}

// An event that does not fit in the cache's budget is counted, not read
// into memory, and its scans read the store, as without a cache.
func TestTicketCacheLeavesOutAnEventOverBudget(t *testing.T) {
	env := admittest.Start(t)
	res := env.Import(t, fmt.Sprintf(cacheFixture, "paid"))
	small := admittest.OpenCore(t, env.DSN)
	small.TicketCacheBytes = 1000 // fewer bytes than the event's tickets need
	ctx := context.Background()
	for round := 0; round < 2; round++ {
		for _, tk := range res.Tickets[:2] {
			r, err := small.Redeem(ctx, &admit.RedeemRequest{Code: tk.QRCode, OrganizerID: res.Organizer.ID, Source: "test",
				Type: admit.ScanExit, LenientExit: true})
			if err != nil || r.Reason != admit.ReasonOK || r.Ticket == nil || r.Ticket.UUID != tk.UUID {
				t.Fatalf("scan of a ticket of an event over budget: %+v, %v", r, err)
			}
		}
		small.WaitTicketCache()
	}
	if st := small.TicketCacheStats(); st.Tickets != 0 || st.Loads != 0 || st.Hits != 0 || st.Misses != 4 {
		t.Errorf("cache of 1,000 bytes after 4 scans: %+v; want nothing loaded and every scan a miss", st)
	}
}

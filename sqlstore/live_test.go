package sqlstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/admittest"
	"github.com/admitdev/admit/bench"
	"github.com/admitdev/admit/live"
	"github.com/admitdev/admit/sqlstore"
)

// Every NOTIFY payload fits PostgreSQL's limit (shorter than 8000 bytes),
// whatever the names hold; a payload that fits is the scan unchanged, one
// that does not keeps every field but cuts the names, at a character.
func TestLivePayloadAlwaysFits(t *testing.T) {
	at := time.Date(2026, 12, 27, 18, 0, 0, 0, time.UTC)
	base := admit.LiveScan{ID: 42, EventID: 7, EventUUID: "5b2a8a1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
		TicketUUID: "6c3b9b2f-4d5e-4f60-9bac-1d2e3f4a5b6c", AttendeeName: "Ada Lovelace", ProductName: "Day",
		ListID: 3, ListName: "Gate", SectionName: "Floor", DeviceName: "Gate 1", Source: "tibillet",
		Type: admit.ScanEntry, Result: admit.ReasonOK, Forced: true, DeviceTime: &at, ServerTime: at}
	long := func(unit string) string { return strings.Repeat(unit, 20000) }
	cases := []struct {
		name string
		long string // every name, "" keeps the base's
	}{
		{"short names are sent as they are", ""},
		{"ASCII", long("a")},
		{"characters JSON escapes as six bytes", long("<>&\x01")},
		{"four-byte characters", long("🎟")},
		{"invalid UTF-8", long("\xff")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := base
			if c.long != "" {
				s.AttendeeName, s.ProductName, s.ListName, s.SectionName, s.DeviceName = c.long, c.long, c.long, c.long, c.long
			}
			p := sqlstore.EncodeLive("node-a", &s)
			if len(p) > sqlstore.MaxLivePayload {
				t.Fatalf("payload of %d bytes, at most %d", len(p), sqlstore.MaxLivePayload)
			}
			var env struct {
				Node string
				Scan admit.LiveScan
			}
			if err := json.Unmarshal([]byte(p), &env); err != nil {
				t.Fatalf("payload is no JSON: %v", err)
			}
			got := env.Scan
			if env.Node != "node-a" || got.ID != 42 || got.EventID != 7 || got.EventUUID != s.EventUUID ||
				got.TicketUUID != s.TicketUUID || got.ListID != 3 || got.Result != admit.ReasonOK || !got.Forced ||
				!got.ServerTime.Equal(at) || got.DeviceTime == nil || !got.DeviceTime.Equal(at) {
				t.Fatalf("payload lost a field: %+v", env)
			}
			if c.long == "" {
				got.DeviceTime, s.DeviceTime = nil, nil
				if got != s {
					t.Fatalf("a short scan changed:\n got %+v\nwant %+v", got, s)
				}
				return
			}
			if got.AttendeeName == "" || !strings.HasSuffix(got.AttendeeName, "…") {
				t.Fatalf("attendee name %q: want a cut name", got.AttendeeName)
			}
			if !utf8.ValidString(got.AttendeeName) {
				t.Fatalf("cut name is not UTF-8")
			}
			if want := strings.ToValidUTF8(strings.TrimSuffix(got.AttendeeName, "…"), "\uFFFD"); c.long != long("\xff") && !strings.HasPrefix(c.long, want) {
				t.Fatalf("cut name %q is no prefix of the name", got.AttendeeName)
			}
		})
	}
}

func TestLiveOnSQLiteIsTheHub(t *testing.T) {
	st, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "admit.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hub := live.NewHub(0, nil)
	l, err := st.Live(context.Background(), hub)
	if err != nil {
		t.Fatal(err)
	}
	if l != admit.Live(hub) {
		t.Fatalf("live feed on SQLite is %T, want the hub", l)
	}
	if _, err := st.Live(context.Background(), nil); err == nil {
		t.Fatal("a live feed without a hub")
	}
}

// liveNode is one node: a store and a core on it with its live feed.
type liveNode struct {
	store *sqlstore.Store
	core  *admit.Core
}

func openLiveNode(t *testing.T, dsn string) *liveNode {
	t.Helper()
	log := admittest.Logger(t)
	st, err := sqlstore.Open(context.Background(), dsn, log)
	if err != nil {
		t.Fatal(err)
	}
	hub := live.NewHub(0, log)
	t.Cleanup(func() {
		st.Close()
		hub.Close()
	})
	core := admit.NewCore(st, log)
	if core.Live, err = st.Live(context.Background(), hub); err != nil {
		t.Fatal(err)
	}
	return &liveNode{store: st, core: core}
}

// probeEvent is the event id of the probes: no real event has it.
const probeEvent = -1

// waitLinked publishes probes on from until sub (a subscription to
// probeEvent on another node) receives one of them: the other node's
// LISTEN is on and from's NOTIFYs go through. What a test times comes
// after. Probes of earlier calls still arriving are skipped.
func waitLinked(t *testing.T, from admit.Live, sub <-chan *admit.LiveScan) {
	t.Helper()
	token := fmt.Sprintf("probe-%d", probes.Add(1))
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for id := int64(1); ; id++ {
		from.Publish(&admit.LiveScan{ID: id, EventID: probeEvent, Source: token, ServerTime: time.Now()})
		for wait := true; wait; {
			select {
			case s, ok := <-sub:
				if !ok {
					t.Fatal("probe subscription closed")
				}
				if s.Source == token {
					return
				}
			case <-tick.C:
				wait = false
			case <-deadline:
				t.Fatal("no probe went through in 30 s")
			}
		}
	}
}

var probes atomic.Int64

// within returns the next scan on ch, failing the test if none comes
// within d.
func within(t *testing.T, ch <-chan *admit.LiveScan, d time.Duration, what string) *admit.LiveScan {
	t.Helper()
	select {
	case s, ok := <-ch:
		if !ok {
			t.Fatalf("%s: subscription closed", what)
		}
		return s
	case <-time.After(d):
		t.Fatalf("%s: nothing within %v", what, d)
	}
	return nil
}

// Two nodes on one PostgreSQL database: a scan on node A reaches node B's
// subscribers within a second, and node A's own subscribers exactly once;
// when the feed's connections are killed, they reconnect and delivery
// resumes.
func TestLiveBetweenNodesOnPostgres(t *testing.T) {
	ctx := context.Background()
	dsn := admittest.PostgresDSN(t)
	a, b := openLiveNode(t, dsn), openLiveNode(t, dsn)
	f, err := bench.GenerateImport(4, "livenodes")
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.core.Import(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	ev := res.Event

	subA, stopA := a.core.Live.Subscribe(ev.ID)
	defer stopA()
	subB, stopB := b.core.Live.Subscribe(ev.ID)
	defer stopB()
	probeA, stopProbeA := a.core.Live.Subscribe(probeEvent)
	defer stopProbeA()
	probeB, stopProbeB := b.core.Live.Subscribe(probeEvent)
	defer stopProbeB()
	waitLinked(t, a.core.Live, probeB)
	waitLinked(t, b.core.Live, probeA)

	// redeemOnA scans ticket i on node A and checks that node B has it
	// within a second, and node A's subscriber once.
	redeemOnA := func(i int) {
		t.Helper()
		tk := res.Tickets[i]
		r, err := a.core.Redeem(ctx, &admit.RedeemRequest{Code: tk.QRCode, OrganizerID: ev.OrganizerID, Source: "test", DeviceName: "Gate A"})
		if err != nil || r.Reason != admit.ReasonOK {
			t.Fatalf("redeem on A: %+v %v", r, err)
		}
		got := within(t, subB, time.Second, "node B")
		if got.TicketUUID != tk.UUID || got.EventUUID != ev.UUID || got.Result != admit.ReasonOK ||
			got.DeviceName != "Gate A" || got.AttendeeName != tk.AttendeeName() || got.ID == 0 {
			t.Fatalf("node B got %+v", got)
		}
		own := within(t, subA, time.Second, "node A")
		if own.ID != got.ID {
			t.Fatalf("node A got scan %d, node B %d", own.ID, got.ID)
		}
		// A marker from B on the same event: notifications come in the
		// order they were sent, so node A's own scan, had A delivered it
		// again from its LISTEN, would come before it.
		marker := &admit.LiveScan{ID: -got.ID, EventID: ev.ID, Source: "marker", ServerTime: time.Now()}
		b.core.Live.Publish(marker)
		if m := within(t, subB, time.Second, "node B's marker"); m != marker {
			t.Fatalf("node B got %+v before its marker", m)
		}
		if m := within(t, subA, 5*time.Second, "marker on node A"); m.ID != marker.ID {
			t.Fatalf("node A got scan %d twice (then %+v)", own.ID, m)
		}
	}
	redeemOnA(0)

	// A scan with names too long for a NOTIFY arrives, cut.
	huge := strings.Repeat("Ü", 10000)
	a.core.Live.Publish(&admit.LiveScan{ID: 9999, EventID: ev.ID, AttendeeName: huge, ProductName: huge, Source: "test", ServerTime: time.Now()})
	if got := within(t, subB, time.Second, "long names on node B"); got.ID != 9999 || !strings.HasSuffix(got.AttendeeName, "…") {
		t.Fatalf("long names: %+v", got)
	}
	if got := within(t, subA, time.Second, "long names on node A"); got.AttendeeName != huge {
		t.Fatal("node A's own subscriber must get the scan as it was")
	}

	// Kill every connection of both feeds.
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var killed int
	err = admin.QueryRow(ctx, `SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name IN ('admit-live-listen', 'admit-live-notify')) k`).Scan(&killed)
	if err != nil || killed != 4 {
		t.Fatalf("terminated %d live connections (want 4, two per node): %v", killed, err)
	}
	// Both listeners notice at once, and connect again.
	for deadline := time.Now().Add(30 * time.Second); a.store.LiveStats().Reconnects < 1 || b.store.LiveStats().Reconnects < 1; {
		if time.Now().After(deadline) {
			t.Fatalf("no reconnect in 30 s: A %+v, B %+v", a.store.LiveStats(), b.store.LiveStats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	waitLinked(t, a.core.Live, probeB)
	waitLinked(t, b.core.Live, probeA)
	if len(subA)+len(subB) > 0 { // the probes are of another event
		t.Fatalf("unexpected scans: A %d, B %d", len(subA), len(subB))
	}
	if sa, sb := a.store.LiveStats(), b.store.LiveStats(); sa.Reconnects < 1 || sb.Reconnects < 1 || sa.Sent == 0 || sb.Received == 0 {
		t.Fatalf("after the kill: A %+v, B %+v", sa, sb)
	}
	redeemOnA(1)
}

// Close sends what was queued, then stops the feed's goroutines and
// connections: none is left behind, and publishing after it is harmless.
func TestLiveCloseStopsEverythingOnPostgres(t *testing.T) {
	dsn := admittest.PostgresDSN(t)
	before := runtime.NumGoroutine()
	st, err := sqlstore.Open(context.Background(), dsn, admittest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	hub := live.NewHub(0, nil)
	l, err := st.Live(context.Background(), hub)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := st.Live(context.Background(), hub); err != nil || again != l {
		t.Fatalf("a second Live on the same hub: %v %v", again, err)
	}
	if _, err := st.Live(context.Background(), live.NewHub(0, nil)); err == nil {
		t.Fatal("a second feed on another hub")
	}
	const n = 500
	for i := range int64(n) {
		l.Publish(&admit.LiveScan{ID: i + 1, EventID: 1, Source: "test", ServerTime: time.Now()})
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if s := st.LiveStats(); s.Sent != n || s.Dropped != 0 {
		t.Fatalf("after Close: %+v, want all %d sent", s, n)
	}
	l.Publish(&admit.LiveScan{ID: n + 1, EventID: 1}) // no panic, no goroutine
	hub.Close()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines after Close, %d before:\n%s", g, before, buf[:runtime.Stack(buf, true)])
	}
}

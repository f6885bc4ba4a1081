package admit_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/admittest"
	"github.com/admitdev/admit/bench"
)

// The hot path of a scan on a real database (SQLite, durable, or PostgreSQL
// with ADMIT_TEST_STORE=postgres): the redeem decision through Core.Redeem,
// and the store's Scan alone. The event's list allows multiple entries, so
// that every iteration is an admitted scan that writes its entry and its log
// row, however many iterations the benchmark runs over its tickets. Every
// recorded scan is published to a live subscriber of the event (and, on
// PostgreSQL, NOTIFYed to the other nodes).

const benchTickets = 500

type redeemFixture struct {
	core    *admit.Core
	codes   []string
	tickets []*admit.Ticket
	list    *admit.CheckinList
	event   *admit.Event
}

func newRedeemFixture(b *testing.B, multiple bool) *redeemFixture {
	b.Helper()
	core := admittest.OpenCore(b, admittest.DSN(b))
	f, err := bench.GenerateImport(benchTickets, "corebench")
	if err != nil {
		b.Fatal(err)
	}
	f.Lists[0].AllowMultipleEntries = multiple
	res, err := core.Import(context.Background(), f)
	if err != nil {
		b.Fatal(err)
	}
	list, err := core.Store.DefaultList(context.Background(), res.Event.ID)
	if err != nil {
		b.Fatal(err)
	}
	// A live subscriber of the event reads every scan the core publishes
	// (admittest.OpenCore gives the core the store's live feed).
	sub, stop := core.Live.Subscribe(res.Event.ID)
	b.Cleanup(stop)
	go func() {
		for range sub {
		}
	}()
	fx := &redeemFixture{core: core, tickets: res.Tickets, list: list, event: res.Event}
	for _, t := range res.Tickets {
		fx.codes = append(fx.codes, t.QRCode)
	}
	return fx
}

func (fx *redeemFixture) redeem(b *testing.B, i int, want admit.Reason) {
	res, err := fx.core.Redeem(context.Background(), &admit.RedeemRequest{
		Code: fx.codes[i%len(fx.codes)], OrganizerID: fx.event.OrganizerID, Source: "bench", DeviceName: "bench",
	})
	if err != nil {
		b.Fatal(err)
	}
	if res.Reason != want {
		b.Fatalf("redeem: %s, want %s", res.Reason, want)
	}
}

// BenchmarkCoreRedeem is one scan at a time: verify the code, read the
// event, ticket and list, decide, write the entry and the log row durably.
// On SQLite each iteration waits for its own commit (a batch of one).
func BenchmarkCoreRedeem(b *testing.B) {
	fx := newRedeemFixture(b, true)
	b.ResetTimer()
	for i := range b.N {
		fx.redeem(b, i, admit.ReasonOK)
	}
}

// BenchmarkCoreRedeemParallel is many scans at once, as at a busy door: on
// SQLite the concurrent writes share group commits.
func BenchmarkCoreRedeemParallel(b *testing.B) {
	fx := newRedeemFixture(b, true)
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			fx.redeem(b, int(n.Add(1)), admit.ReasonOK)
		}
	})
}

// BenchmarkCoreRedeemAlreadyScanned is the refusal of a rescan: the same
// reads, a refused conditional write and the log row.
func BenchmarkCoreRedeemAlreadyScanned(b *testing.B) {
	fx := newRedeemFixture(b, false)
	for i := range fx.codes {
		fx.redeem(b, i, admit.ReasonOK)
	}
	b.ResetTimer()
	for i := range b.N {
		fx.redeem(b, i, admit.ReasonAlreadyRedeemed)
	}
}

// BenchmarkCoreRedeemDryRun is the read side of a scan alone: everything
// but the write.
func BenchmarkCoreRedeemDryRun(b *testing.B) {
	fx := newRedeemFixture(b, true)
	b.ResetTimer()
	for i := range b.N {
		res, err := fx.core.Redeem(context.Background(), &admit.RedeemRequest{
			Code: fx.codes[i%len(fx.codes)], OrganizerID: fx.event.OrganizerID, DryRun: true,
		})
		if err != nil || res.Reason != admit.ReasonOK {
			b.Fatalf("dry run: %v %v", res, err)
		}
	}
}

func (fx *redeemFixture) attempt(i int) *admit.ScanAttempt {
	t := fx.tickets[i%len(fx.tickets)]
	return &admit.ScanAttempt{
		Scan: admit.Scan{TicketID: t.ID, EventID: t.EventID, ListID: fx.list.ID, Source: "bench",
			Type: admit.ScanEntry, Result: admit.ReasonOK, ServerTime: time.Now()},
		Admit: true, Policy: fx.list.Policy(),
	}
}

// BenchmarkStoreScan is the store's redeem alone: the conditional upsert of
// the check-in state and the log row, committed durably, one at a time.
func BenchmarkStoreScan(b *testing.B) {
	fx := newRedeemFixture(b, true)
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		out, err := fx.core.Store.Scan(ctx, fx.attempt(i))
		if err != nil || out.Result != admit.ReasonOK {
			b.Fatalf("scan: %v %v", out, err)
		}
	}
}

// BenchmarkStoreScanParallel is the store's redeem under concurrency: on
// SQLite, group commit.
func BenchmarkStoreScanParallel(b *testing.B) {
	fx := newRedeemFixture(b, true)
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			out, err := fx.core.Store.Scan(ctx, fx.attempt(int(n.Add(1))))
			if err != nil || out.Result != admit.ReasonOK {
				b.Errorf("scan: %v %v", out, err)
				return
			}
		}
	})
}

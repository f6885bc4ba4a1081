package bench

import (
	"bytes"
	"cmp"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/admittest"
)

func TestGenerateImportIsValidJSON(t *testing.T) {
	var b bytes.Buffer
	if err := WriteImportJSON(&b, 250, "gen"); err != nil {
		t.Fatal(err)
	}
	f, err := admit.ParseImport(&b)
	if err != nil {
		t.Fatalf("generated file does not parse: %v", err)
	}
	n := 0
	for _, o := range f.Orders {
		n += len(o.Tickets)
		if len(o.Tickets) < 1 || len(o.Tickets) > 4 {
			t.Errorf("order %s has %d tickets", o.Code, len(o.Tickets))
		}
	}
	if n != 250 {
		t.Errorf("%d tickets, want 250", n)
	}
}

func TestSkipWriteStoreAnswersLikeTheRealOne(t *testing.T) {
	w := NewSkipWriteStore(nil)
	ctx := context.Background()
	a := &admit.ScanAttempt{Scan: admit.Scan{TicketID: 7, ListID: 1, Type: admit.ScanEntry, Result: admit.ReasonOK, ServerTime: time.Now()}, Admit: true}
	for i, want := range []admit.Reason{admit.ReasonOK, admit.ReasonAlreadyRedeemed, admit.ReasonAlreadyRedeemed} {
		out, err := w.Scan(ctx, a)
		if err != nil || out.Result != want {
			t.Fatalf("scan %d: %v %v, want %s", i, out, err, want)
		}
	}
	// Another node's floor shares the state.
	if out, _ := w.On(nil).Scan(ctx, a); out.Result != admit.ReasonAlreadyRedeemed {
		t.Errorf("shared state: %s", out.Result)
	}
	a.Force = true
	if out, _ := w.Scan(ctx, a); out.Result != admit.ReasonOK || !out.Forced {
		t.Errorf("forced: %+v", out)
	}
	refused := &admit.ScanAttempt{Scan: admit.Scan{TicketID: 8, ListID: 1, Result: admit.ReasonCanceled}}
	if out, _ := w.Scan(ctx, refused); out.Result != admit.ReasonCanceled {
		t.Errorf("refused: %s", out.Result)
	}
	if w.Admitted() != 1 {
		t.Errorf("admitted %d", w.Admitted())
	}
}

// A short run of the whole benchmark, in-process on SQLite: it must
// answer, record every admission once and report its figures.
func TestBenchRunSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("a load run")
	}
	for _, dialect := range []string{"tibillet", "pretixdroid", "ticketing"} {
		t.Run(dialect, func(t *testing.T) {
			rep, err := Run(context.Background(), Config{
				Dialect: dialect, Tickets: 600, Duration: 400 * time.Millisecond, Concurrency: 8,
				Devices: 2, Duplicates: 0.2, ForgedShare: 0.05, SkipWrite: true, MaxScans: 400,
				Searches:      map[string]int{"tibillet": 10, "pretixdroid": 10}[dialect],
				TicketCacheMB: 16,
			})
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Verified {
				t.Fatalf("not verified: %+v %+v", rep.Verification, rep.FloorVerification)
			}
			d := rep.Durable
			if d.Errors > 0 {
				t.Fatalf("errors: %d %v", d.Errors, d.ErrorSamples)
			}
			if d.Outcomes["fresh"]["ok"] == 0 || rep.Verification.AdmittedAnswers != rep.Verification.RecordedInLog {
				t.Fatalf("outcomes %v, verification %+v", d.Outcomes, rep.Verification)
			}
			if d.Outcomes["duplicate"]["ok"] > 0 || d.Outcomes["forged"]["ok"] > 0 {
				t.Fatalf("a duplicate or forged code got in: %v", d.Outcomes)
			}
			// Every dialect's lookup (uuid, secret, serial) finds the
			// tickets in memory, loaded once before the load.
			if c := rep.TicketCache; c == nil || c.Loads != 1 || c.Tickets != 600 || c.Hits < int64(d.Outcomes["fresh"]["ok"]) {
				t.Fatalf("ticket cache %+v after %v", c, d.Outcomes)
			}
			if rep.Floor == nil || rep.DurableToFloor <= 0 {
				t.Fatalf("no floor: %+v", rep.Floor)
			}
			// Five rounds each, taking turns; a round goes on with fresh
			// tickets the last one did not use: no fresh ticket is found
			// already scanned.
			if len(rep.RoundRatios) != 5 {
				t.Fatalf("round ratios %v, want 5", rep.RoundRatios)
			}
			for _, p := range []*Phase{d, rep.Floor} {
				if n := p.Outcomes["fresh"]["already_scanned"]; n > 0 {
					t.Fatalf("%s: %d fresh tickets were already scanned: %v", p.Name, n, p.Outcomes)
				}
			}
			if rep.Search != nil && rep.Search.Errors > 0 {
				t.Fatalf("search errors: %+v", rep.Search)
			}
			if s := rep.Search; s != nil {
				// The slowest searches, slowest first, the first of them the max.
				if len(s.Slowest) != min(10, s.LatencyMS.N) || s.Slowest[0].MS != s.LatencyMS.Max || s.Slowest[0].Query == "" ||
					!slices.IsSortedFunc(s.Slowest, func(a, b SlowSearch) int { return cmp.Compare(b.MS, a.MS) }) {
					t.Errorf("slowest searches %+v of %+v", s.Slowest, s.LatencyMS)
				}
			}
			if !strings.Contains(rep.Machine.OS, "/") {
				t.Errorf("machine: %+v", rep.Machine)
			}
		})
	}
}

// --max-scans bounds each phase over all its rounds, and a bound that
// cannot give every round a scan is refused.
func TestBenchMaxScansOverRounds(t *testing.T) {
	if testing.Short() {
		t.Skip("a load run")
	}
	if _, err := Run(context.Background(), Config{Tickets: 600, SkipWrite: true, MaxScans: 3}); admit.ErrorCode(err) != admit.EInvalid {
		t.Fatalf("--max-scans 3 over 5 rounds: %v, want invalid", err)
	}
	rep, err := Run(context.Background(), Config{Tickets: 600, Duration: 400 * time.Millisecond, Concurrency: 4,
		Devices: 1, SkipWrite: true, MaxScans: 7})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*Phase{rep.Durable, rep.Floor} {
		if p.TotalScans != 7 {
			t.Errorf("%s: %d scans, want 7 (1, 1, 2, 1, 2 in the rounds)", p.Name, p.TotalScans)
		}
	}
	if rep.Rounds != 5 || !rep.Verified {
		t.Errorf("rounds %d, verified %v", rep.Rounds, rep.Verified)
	}
}

// --ceiling runs the ceiling in turns with the durable phase, on the same
// load, and states the durable throughput as a share of it; its answers
// are checked as the floor's are (no duplicate or forged code admitted).
func TestBenchCeilingRunsInTurns(t *testing.T) {
	if testing.Short() {
		t.Skip("a load run")
	}
	if _, err := Run(context.Background(), Config{Tickets: 600, Ceiling: true, Dialect: "pretixdroid"}); admit.ErrorCode(err) != admit.EInvalid {
		t.Fatalf("--ceiling with pretixdroid: %v, want invalid", err)
	}
	rep, err := Run(context.Background(), Config{Tickets: 600, Duration: 500 * time.Millisecond, Concurrency: 4, Devices: 2, Ceiling: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Ceiling == nil || rep.Ceiling.TotalScans == 0 || rep.CeilingVerification == nil || !rep.CeilingVerification.OK {
		t.Fatalf("ceiling phase %+v, verification %+v", rep.Ceiling, rep.CeilingVerification)
	}
	if rep.DurableToCeiling <= 0 || len(rep.CeilingRoundRatios) == 0 || rep.Rounds != 5 || !rep.Verified {
		t.Errorf("ratio %v, rounds %v, verified %v", rep.DurableToCeiling, rep.CeilingRoundRatios, rep.Verified)
	}
}

// The bench checkpoints the database between its import and the load, so
// that PostgreSQL's checkpoint of the import's pages does not run through
// the timed rounds; --no-checkpoint leaves it out.
func TestBenchCheckpointsBeforeTheLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("a load run")
	}
	for _, tc := range []struct {
		name         string
		noCheckpoint bool
	}{
		{"checkpointed by default", false},
		{"not with --no-checkpoint", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Run(context.Background(), Config{DB: admittest.PostgresDSN(t), Tickets: 600, Duration: 300 * time.Millisecond,
				Concurrency: 4, Devices: 1, MaxScans: 50, NoCheckpoint: tc.noCheckpoint})
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Verified || rep.Store != "postgres" {
				t.Fatalf("store %q, verified %v", rep.Store, rep.Verified)
			}
			if got := rep.CheckpointSeconds > 0; got == tc.noCheckpoint {
				t.Errorf("checkpoint_seconds %v with NoCheckpoint %v", rep.CheckpointSeconds, tc.noCheckpoint)
			}
		})
	}
}

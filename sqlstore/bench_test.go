package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/sqlstore"
)

// genFile makes an import file of n tickets: orders of two tickets, one
// product with two variations, two sections.
func genFile(n int) *admit.ImportFile {
	yes := true
	adult, child := "Adult", "Child"
	f := &admit.ImportFile{
		Organizer: admit.ImportOrganizer{Slug: "bench", Name: "Bench"},
		Event:     admit.ImportEvent{Slug: "big", Name: "Big"},
		Sections:  []admit.ImportSection{{Name: "Floor"}, {Name: "Balcony"}},
		Products:  []admit.ImportProduct{{Name: "Pass", Admission: &yes, Variations: []string{adult, child}}},
	}
	for i := 0; i < n; i += 2 {
		o := admit.ImportOrder{Code: "O" + strconv.Itoa(i), Email: fmt.Sprintf("buyer%d@example.com", i), Name: "Buyer"}
		for j := 0; j < 2 && i+j < n; j++ {
			v, sec := &adult, "Floor"
			if j == 1 {
				v, sec = &child, "Balcony"
			}
			o.Tickets = append(o.Tickets, admit.ImportTicket{Product: "Pass", Variation: v, Section: sec, Price: "10.00",
				FirstName: "First" + strconv.Itoa(i+j), LastName: "Last", Email: fmt.Sprintf("holder%d@example.com", i+j)})
		}
		f.Orders = append(f.Orders, o)
	}
	if err := f.Validate(); err != nil {
		panic(err)
	}
	return f
}

func benchOpen(tb testing.TB, dir string) *sqlstore.Store {
	st, err := sqlstore.Open(context.Background(), filepath.Join(dir, "bench.db"), nil)
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// importTickets imports n tickets into a new SQLite database and reports
// the time.
func importTickets(tb testing.TB, n int, sign bool) time.Duration {
	st := benchOpen(tb, tb.TempDir())
	defer st.Close()
	f := genFile(n)
	kp, err := admit.GenerateKeyPair(admit.SigningEd25519)
	if err != nil {
		tb.Fatal(err)
	}
	opts := admit.ImportOptions{NewKeys: kp}
	if sign {
		var keys admit.Keys
		opts.Sign = keys.SignCode
	}
	start := time.Now()
	res, err := st.Import(context.Background(), f, opts)
	if err != nil {
		tb.Fatal(err)
	}
	d := time.Since(start)
	if len(res.Tickets) != n {
		tb.Fatalf("%d tickets", len(res.Tickets))
	}
	return d
}

// BenchmarkImport imports 100,000 tickets into a new database per
// iteration, with and without signing the QR codes.
func BenchmarkImport(b *testing.B) {
	const n = 100_000
	for _, c := range []struct {
		engine string
		sign   bool
	}{{"sqlite", false}, {"sqlite", true}, {"postgres", false}} {
		sign := c.sign
		b.Run(fmt.Sprintf("%s/100k/sign=%v", c.engine, sign), func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				b.StopTimer()
				var st *sqlstore.Store
				if c.engine == "sqlite" {
					st = benchOpen(b, b.TempDir())
				} else {
					st = benchPostgres(b)
				}
				f := genFile(n)
				kp, _ := admit.GenerateKeyPair(admit.SigningEd25519)
				opts := admit.ImportOptions{NewKeys: kp}
				if sign {
					var keys admit.Keys
					opts.Sign = keys.SignCode
				}
				b.StartTimer()
				start := time.Now()
				if _, err := st.Import(context.Background(), f, opts); err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
				b.StopTimer()
				st.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(n)*float64(b.N)/total.Seconds(), "tickets/s")
		})
	}
}

// TestImportMillion measures an import of 1,000,000 tickets on SQLite (and
// a re-import of the same file). It runs with ADMIT_IMPORT_1M=1 only: it
// takes a few GB of memory and tens of seconds.
func TestImportMillion(t *testing.T) {
	if os.Getenv("ADMIT_IMPORT_1M") != "1" {
		t.Skip("set ADMIT_IMPORT_1M=1 to import 1,000,000 tickets")
	}
	const n = 1_000_000
	sign := os.Getenv("ADMIT_IMPORT_SIGN") == "1"
	st := benchOpen(t, t.TempDir())
	defer st.Close()
	f := genFile(n)
	kp, _ := admit.GenerateKeyPair(admit.SigningEd25519)
	opts := admit.ImportOptions{NewKeys: kp}
	if sign {
		var keys admit.Keys
		opts.Sign = keys.SignCode
	}
	start, cpu := time.Now(), cpuTime()
	if _, err := st.Import(context.Background(), f, opts); err != nil {
		t.Fatal(err)
	}
	first, firstCPU := time.Since(start), cpuTime()-cpu
	start, cpu = time.Now(), cpuTime()
	if _, err := st.Import(context.Background(), f, opts); err != nil {
		t.Fatal(err)
	}
	t.Logf("1,000,000 tickets (sign=%v, GOMAXPROCS=%d): import %v (CPU %v), re-import (no change) %v (CPU %v)",
		sign, runtime.GOMAXPROCS(0), first.Round(time.Millisecond), firstCPU.Round(time.Millisecond),
		time.Since(start).Round(time.Millisecond), (cpuTime() - cpu).Round(time.Millisecond))
	if first > 60*time.Second {
		t.Errorf("import took %v, want well under 60 s", first)
	}
}

// cpuTime is the CPU time of the process so far (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// scanBench imports tickets and returns a function that makes the i-th
// scan: an entry on a multiple-entry list, so that every scan writes.
func scanBench(b *testing.B, st admit.Store) func(i int64) *admit.ScanAttempt {
	ctx := context.Background()
	kp, _ := admit.GenerateKeyPair(admit.SigningEd25519)
	res, err := st.Import(ctx, genFile(1000), admit.ImportOptions{NewKeys: kp})
	if err != nil {
		b.Fatal(err)
	}
	l, err := st.DefaultList(ctx, res.Event.ID)
	if err != nil {
		b.Fatal(err)
	}
	return func(i int64) *admit.ScanAttempt {
		tk := res.Tickets[i%int64(len(res.Tickets))]
		return &admit.ScanAttempt{
			Scan: admit.Scan{TicketID: tk.ID, EventID: tk.EventID, ListID: l.ID, Type: admit.ScanEntry, Result: admit.ReasonOK,
				Source: "bench", DeviceName: "gate", Nonce: strconv.FormatInt(i, 36), ServerTime: time.Now()},
			Admit:  true,
			Policy: admit.ListPolicy{AllowMultipleEntries: true},
		}
	}
}

func runScans(b *testing.B, st admit.Store, parallel int) {
	mk := scanBench(b, st)
	ctx := context.Background()
	var seq atomic.Int64
	b.ResetTimer()
	start := time.Now()
	if parallel == 0 {
		for b.Loop() {
			if _, err := st.Scan(ctx, mk(seq.Add(1))); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		b.SetParallelism(parallel)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := st.Scan(ctx, mk(seq.Add(1))); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.ReportMetric(float64(seq.Load())/time.Since(start).Seconds(), "scans/s")

}

// BenchmarkScan measures durable scans: sequential (one fsync per scan)
// and from many goroutines at once (the group commit shares the fsyncs).
func BenchmarkScan(b *testing.B) {
	b.Run("sqlite/sequential", func(b *testing.B) {
		st := benchOpen(b, b.TempDir())
		defer st.Close()
		runScans(b, st, 0)
	})
	for _, p := range []int{4, 32} {
		b.Run(fmt.Sprintf("sqlite/parallel-%dxGOMAXPROCS", p), func(b *testing.B) {
			st := benchOpen(b, b.TempDir())
			defer st.Close()
			runScans(b, st, p)
		})
	}
	b.Run("postgres/sequential", func(b *testing.B) {
		st := benchPostgres(b)
		runScans(b, st, 0)
	})
	b.Run("postgres/parallel-32xGOMAXPROCS", func(b *testing.B) {
		st := benchPostgres(b)
		runScans(b, st, 32)
	})
}

func benchPostgres(b *testing.B) *sqlstore.Store {
	st, err := sqlstore.Open(context.Background(), createDatabase(b, postgresServer(b)), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// BenchmarkFindTickets searches an event of 100,000 tickets on SQLite.
func BenchmarkFindTickets(b *testing.B) {
	st := benchOpen(b, b.TempDir())
	defer st.Close()
	ctx := context.Background()
	kp, _ := admit.GenerateKeyPair(admit.SigningEd25519)
	res, err := st.Import(ctx, genFile(100_000), admit.ImportOptions{NewKeys: kp})
	if err != nil {
		b.Fatal(err)
	}
	ev := res.Event.ID
	l, _ := st.DefaultList(ctx, ev)
	some := res.Tickets[77_777]
	for _, c := range []struct {
		name string
		f    admit.TicketFilter
	}{
		{"secret-prefix", admit.TicketFilter{EventID: ev, Query: some.Secret[:8], Fields: admit.SearchSecretPrefix, Limit: 50}},
		{"all-fields", admit.TicketFilter{EventID: ev, Query: "first77777", Fields: ^admit.SearchFields(0), Limit: 50, Count: true}},
		{"page-with-state", admit.TicketFilter{EventID: ev, StateListID: l.ID, OrderBy: admit.OrderByLastName, Limit: 50, Offset: 50_000, Count: true}},
		{"modified-since", admit.TicketFilter{EventID: ev, ModifiedSince: &some.UpdatedAt, Limit: 100}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, _, err := st.FindTickets(ctx, c.f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("by-secret", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.TicketBySecret(ctx, ev, some.Secret); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkOccupancy reads the occupancy of an event of 100,000 tickets,
// every one of them checked in on one of its two lists (a third of them
// gone out again), with a capacity on a section: what a dashboard polling
// every 250 ms costs.
func BenchmarkOccupancy(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			var st *sqlstore.Store
			if engine == "sqlite" {
				st = benchOpen(b, b.TempDir())
				defer st.Close()
			} else {
				st = benchPostgres(b)
			}
			ctx := context.Background()
			f := genFile(100_000)
			floor := 60_000
			f.Sections[0].Capacity = &floor
			f.Lists = []admit.ImportList{{Name: "Main", Default: true}, {Name: "Side"}}
			if err := f.Validate(); err != nil {
				b.Fatal(err)
			}
			kp, _ := admit.GenerateKeyPair(admit.SigningEd25519)
			res, err := st.Import(ctx, f, admit.ImportOptions{NewKeys: kp})
			if err != nil {
				b.Fatal(err)
			}
			ls, err := st.Lists(ctx, res.Event.ID)
			if err != nil {
				b.Fatal(err)
			}
			w, _ := st.DBs()
			if _, err := w.ExecContext(ctx, fmt.Sprintf(`INSERT INTO checkin_state (ticket_id, list_id, inside, entries, exits, section_id)
				SELECT id, CASE WHEN id %% 2 = 0 THEN %d ELSE %d END, (id %% 3 <> 0), 1 + id %% 2, CASE WHEN id %% 3 = 0 THEN 1 ELSE 0 END,
				section_id FROM tickets WHERE event_id = %d`, ls[0].ID, ls[1].ID, res.Event.ID)); err != nil {
				b.Fatal(err)
			}
			if _, err := w.ExecContext(ctx, `ANALYZE`); err != nil {
				b.Fatal(err)
			}
			occ, err := st.Occupancy(ctx, res.Event.ID)
			if err != nil {
				b.Fatal(err)
			}
			if in := occ.Lists[0].Inside + occ.Lists[1].Inside; in < 66_000 || in > 67_000 || occ.Lists[0].Total != 100_000 ||
				occ.Sections[0].Inside+occ.Sections[1].Inside != in {
				b.Fatalf("occupancy %+v", occ)
			}
			for b.Loop() {
				if _, err := st.Occupancy(ctx, res.Event.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

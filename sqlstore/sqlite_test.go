package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/sqlstore"
)

// The pragmas really apply, on the writer and on every reader connection.
func TestSQLiteDurabilityPragmas(t *testing.T) {
	st, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "admit.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w, r := st.DBs()
	ctx := context.Background()
	check := func(name string, conn *sql.Conn, readOnly bool) {
		t.Helper()
		for pragma, want := range map[string]string{
			"journal_mode": "wal",
			// The writer's commits do not wait for the disk: the store
			// syncs the WAL before it answers (TestSQLiteAnswersAfterTheWALSync).
			"synchronous":  map[bool]string{false: "1", true: "2"}[readOnly], // NORMAL, FULL
			"foreign_keys": "1",
			"busy_timeout": "10000",
			"query_only":   map[bool]string{false: "0", true: "1"}[readOnly],
		} {
			var got string
			if err := conn.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatalf("%s: PRAGMA %s: %v", name, pragma, err)
			}
			if strings.ToLower(got) != want {
				t.Errorf("%s: PRAGMA %s = %s, want %s", name, pragma, got, want)
			}
		}
	}
	wc, err := w.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check("writer", wc, false)
	wc.Close()
	// Several reader connections at once: each is a new connection.
	var conns []*sql.Conn
	for range 4 {
		c, err := r.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		check("reader", c, true)
	}
	for _, c := range conns {
		c.Close()
	}
	// A reader cannot write.
	if _, err := r.ExecContext(ctx, "DELETE FROM organizers"); err == nil {
		t.Errorf("a reader connection wrote")
	}
	if w.Stats().MaxOpenConnections != 1 {
		t.Errorf("the writer has %d connections, want 1", w.Stats().MaxOpenConnections)
	}
}

func TestSQLiteDSN(t *testing.T) {
	w, r := sqlstore.SQLiteDSN("/data/admit.db")
	for _, want := range []string{"journal_mode(WAL)", "foreign_keys(1)", "busy_timeout("} {
		if !strings.Contains(w, want) || !strings.Contains(r, want) {
			t.Errorf("DSNs %q / %q lack %s", w, r, want)
		}
	}
	if !strings.Contains(w, "synchronous(NORMAL)") {
		t.Errorf("writer DSN %q", w)
	}
	if !strings.Contains(w, "_txlock=immediate") || !strings.Contains(r, "_query_only=1") {
		t.Errorf("DSNs %q / %q", w, r)
	}
	if w, _ := sqlstore.SQLiteDSN("file:x.db?cache=private"); !strings.HasPrefix(w, "file:x.db?cache=private&_pragma=") {
		t.Errorf("DSN with parameters: %q", w)
	}
	if _, err := sqlstore.Open(context.Background(), ":memory:", nil); admit.ErrorCode(err) != admit.EInvalid {
		t.Errorf("in-memory database: %v", err)
	}
}

// A success answered must survive a power cut: a write is committed with
// synchronous=NORMAL, and answered only once the store has synced the WAL.
// While the sync is held, the scan is committed (a reader sees it) but not
// answered; it is answered when the sync goes through. The same holds for a
// write transaction outside the group commit (a device created).
func TestSQLiteAnswersAfterTheWALSync(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "admit.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, r := st.DBs()
	count := func() int {
		t.Helper()
		var n int
		if err := r.QueryRowContext(ctx, `SELECT COUNT(*) FROM scans`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	release := st.HoldSyncs()
	answered := make(chan error, 1)
	go func() {
		_, err := st.Scan(ctx, unknownScan(0))
		answered <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for count() == 0 {
		if time.Now().After(deadline) {
			release()
			t.Fatal("the scan was never committed")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-answered:
		release()
		t.Fatalf("answered (%v) before the WAL was synced", err)
	case <-time.After(100 * time.Millisecond):
	}
	release()
	if err := <-answered; err != nil {
		t.Fatalf("scan after the sync: %v", err)
	}

	f, err := admit.ParseImport(strings.NewReader(`{"organizer": {"slug": "o"}, "event": {"slug": "e"}, "products": [{"name": "P"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	res := importNew(t, st, f)
	release = st.HoldSyncs()
	done := make(chan error, 1)
	go func() {
		done <- st.CreateDevice(ctx, &admit.Device{UUID: admit.NewUUID(), OrganizerID: res.Organizer.ID, Name: "Door"}, nil)
	}()
	select {
	case err := <-done:
		release()
		t.Fatalf("a device was created (%v) before the WAL was synced", err)
	case <-time.After(100 * time.Millisecond):
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// The writer does not checkpoint (its batches never wait for one): the
// checkpointer copies the WAL into the database file in the background.
func TestSQLiteCheckpointsInTheBackground(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "admit.db")
	st, err := sqlstore.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w, _ := st.DBs()
	var auto int
	if err := w.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("writer wal_autocheckpoint = %d (%v), want 0", auto, err)
	}
	size := func() int64 {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	var wg sync.WaitGroup
	for i := range 2000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := st.Scan(ctx, unknownScan(i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for size() <= before {
		if time.Now().After(deadline) {
			t.Fatalf("the database file stayed at %d bytes: nothing was checkpointed", before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// unknownScan is a scan of an unreadable code: a log row, nothing else.
func unknownScan(i int) *admit.ScanAttempt {
	return &admit.ScanAttempt{Scan: admit.Scan{Type: admit.ScanEntry, Result: admit.ReasonBadSignature,
		Nonce: string(rune('a' + i%26)), ServerTime: time.Now()}}
}

// Under load (the last batch held 4 writes or more), writes that arrive
// within CommitEvery of the last batch share the next commit rather than
// each taking one of their own; below that, and for a lone writer, every
// write commits at once.
func TestSQLiteGroupCommitGathersWritesUnderLoad(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "admit.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const every = 2 * time.Second
	st.SetCommitEvery(every)
	w, _ := st.DBs()

	scan := func(i int, errs chan<- error) {
		go func() {
			_, err := st.Scan(ctx, unknownScan(i))
			errs <- err
		}()
	}
	wait := func(errs <-chan error, n int) {
		t.Helper()
		for range n {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	}
	until := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("never: %s", what)
			}
		}
	}
	// batchOf makes the last commit hold exactly n writes: the writer is
	// kept from its connection while they queue up behind a first one.
	batchOf := func(n int) {
		t.Helper()
		tx, err := w.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, n+1)
		before := st.Batches()
		scan(0, errs)
		until("the writer took the first write", func() bool { return st.Batches() > before })
		for i := range n {
			scan(i+1, errs)
		}
		until("the writes queued", func() bool { return st.Queued() == n })
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		wait(errs, n+1)
		if got := st.LastBatch(); got != int64(n) {
			t.Fatalf("the last commit held %d writes, want %d", got, n)
		}
	}
	// spaced sends n writes, one every 5 ms, each from a caller of its own
	// (without the interval each finds the writer idle and commits alone),
	// and returns how many commits they took and how long the sending took.
	spaced := func(n int) (int64, time.Duration) {
		t.Helper()
		errs := make(chan error, n)
		before, start := st.Batches(), time.Now()
		for i := range n {
			time.Sleep(time.Until(start.Add(time.Duration(i) * 5 * time.Millisecond)))
			scan(i, errs)
		}
		span := time.Since(start)
		wait(errs, n)
		return st.Batches() - before, span
	}

	// A lone writer, one write after the other: each commits at once.
	start := time.Now()
	for i := range 4 {
		if _, err := st.Scan(ctx, unknownScan(i)); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took >= every/2 {
		t.Fatalf("4 writes one after the other took %v: one waited for the interval (%v)", took, every)
	}

	// After a commit of 3 writes (no load): the next writes are not held
	// back. One after the other, so that a slow fsync on a busy machine
	// cannot queue two of them: each commits alone, and none waits for the
	// interval.
	batchOf(3)
	before, start := st.Batches(), time.Now()
	for i := range 10 {
		if _, err := st.Scan(ctx, unknownScan(i)); err != nil {
			t.Fatal(err)
		}
	}
	if took, batches := time.Since(start), st.Batches()-before; batches != 10 || took >= every/2 {
		t.Fatalf("after a commit of 3, 10 writes one after the other took %d commits in %v: want 10, none waiting for the interval (%v)", batches, took, every)
	}

	// After a commit of 4 (load): they share the commits of every interval.
	batchOf(4)
	batches, span := spaced(20)
	if limit := int64(span/every) + 1; batches > limit {
		t.Fatalf("after a commit of 4, 20 writes sent over %v took %d commits, want at most %d", span, batches, limit)
	}
}

// Close drains the group commit: every scan answered a success is in the
// log after a reopen, every other one failed cleanly.
func TestSQLiteCloseDrains(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admit.db")
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
			_, err := st.Scan(ctx, unknownScan(i))
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
			} else if !strings.Contains(admit.ErrorMessage(err)+err.Error(), "closed") {
				t.Errorf("scan: %v", err)
			}
		}()
	}
	time.Sleep(time.Millisecond)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := st.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	st, err = sqlstore.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, n, err := st.Scans(ctx, admit.ScanFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if n != ok {
		t.Errorf("%d scans answered ok, %d in the log", ok, n)
	}
	t.Logf("%d of 200 scans before Close", ok)
}

// A caller who gives up does not take the others' scans with it, and the
// check-in stays exactly once.
func TestSQLiteCanceledCallers(t *testing.T) {
	st := openSQLite(t)
	ctx := context.Background()
	kp, _ := admit.GenerateKeyPair(admit.SigningEd25519)
	f, err := admit.ParseImport(strings.NewReader(`{"organizer": {"slug": "o"}, "event": {"slug": "e"},
		"products": [{"name": "P"}], "orders": [{"code": "A", "tickets": [{"product": "P"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := st.Import(ctx, f, admit.ImportOptions{NewKeys: kp})
	if err != nil {
		t.Fatal(err)
	}
	l, err := st.DefaultList(ctx, res.Event.ID)
	if err != nil {
		t.Fatal(err)
	}
	tk := res.Tickets[0]
	var wg sync.WaitGroup
	var mu sync.Mutex
	answeredOK := 0
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, time.Duration(rand.IntN(3000))*time.Microsecond)
			defer cancel()
			a := &admit.ScanAttempt{Scan: admit.Scan{TicketID: tk.ID, EventID: tk.EventID, ListID: l.ID, Type: admit.ScanEntry,
				Result: admit.ReasonOK}, Admit: true, Policy: l.Policy()}
			if i%2 == 0 {
				a = unknownScan(i)
			}
			out, err := st.Scan(cctx, a)
			if err != nil {
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("scan: %v", err)
				}
				return
			}
			if out.Result == admit.ReasonOK && a.Admit {
				mu.Lock()
				answeredOK++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	_, okRows, err := st.Scans(ctx, admit.ScanFilter{TicketID: tk.ID, Result: admit.ReasonOK})
	if err != nil {
		t.Fatal(err)
	}
	if okRows > 1 || answeredOK > okRows {
		t.Errorf("%d entries answered ok, %d logged ok", answeredOK, okRows)
	}
	s, err := st.CheckinState(ctx, tk.ID, l.ID)
	if okRows == 1 && (err != nil || s.Entries != 1) {
		t.Errorf("state %+v, %v", s, err)
	}
}

// A new database file, and its WAL, are readable by their owner only: they
// hold private signing keys and credential hashes.
func TestSQLiteNewFileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "private.db")
	st, err := sqlstore.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has mode %v, want no access for group and others", p, perm)
		}
	}
}

package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/admitdev/admit/admittest"
	"github.com/admitdev/admit/sqlstore"
)

// scanLogDB opens a store on a fresh database (SQLite file, or PostgreSQL
// with ADMIT_TEST_STORE=postgres) and a second, raw connection to the same
// database, as someone with access to the file would have.
func scanLogDB(t *testing.T) (*sqlstore.Store, *sql.DB, bool) {
	t.Helper()
	st, raw, pg, _ := scanLogDSN(t)
	return st, raw, pg
}

// scanLogDSN is scanLogDB, with the database's DSN.
func scanLogDSN(t *testing.T) (*sqlstore.Store, *sql.DB, bool, string) {
	t.Helper()
	dsn := admittest.DSN(t)
	st, err := sqlstore.Open(context.Background(), dsn, admittest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pg := strings.HasPrefix(dsn, "postgres")
	driver := "sqlite"
	if pg {
		driver = "pgx"
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return st, raw, pg, dsn
}

// addScans writes scan rows ids from..to directly, logged an hour ago (so
// that the PostgreSQL appender takes them at once).
func addScans(t *testing.T, raw *sql.DB, pg bool, from, to int64) {
	t.Helper()
	for id := from; id <= to; id++ {
		at := time.Now().Add(-time.Hour).Add(time.Duration(id) * time.Second)
		var ts any = at.UnixMicro()
		if pg {
			ts = at
		}
		result := "ok"
		if id%3 == 0 {
			result = "already_redeemed"
		}
		_, err := raw.Exec(`INSERT INTO scans (id, ticket_id, event_id, list_id, device_id, device_name, redeemer, source, type, result, nonce, device_time, server_time)
			VALUES ($1, $2, 1, 1, 1, 'Gate A', 'anna', 'pretixdroid', 'entry', $3, $4, $5, $5)`,
			id, 100+id, result, fmt.Sprintf("nonce-%d", id), ts)
		if err != nil {
			t.Fatal(err)
		}
	}
}

func appendAll(t *testing.T, st *sqlstore.Store, want int64) {
	t.Helper()
	size, err := st.AppendScanLog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if size != want {
		t.Fatalf("tree size %d, want %d", size, want)
	}
}

// A log appended in two rounds verifies, and every scan's inclusion proof
// checks against the latest signed checkpoint.
func TestScanLogCleanVerifiesAndProves(t *testing.T) {
	ctx := context.Background()
	st, raw, pg := scanLogDB(t)
	if rep, err := st.VerifyScanLog(ctx); err != nil || !rep.OK {
		t.Fatalf("empty log: %+v, %v", rep, err)
	}
	addScans(t, raw, pg, 1, 5)
	appendAll(t, st, 5)
	addScans(t, raw, pg, 6, 9)
	appendAll(t, st, 9)
	appendAll(t, st, 9) // nothing new: no new checkpoint
	rep, err := st.VerifyScanLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Leaves != 9 || rep.Scans != 9 || rep.Checkpoints != 2 {
		t.Fatalf("clean log: %+v", rep)
	}
	vkey, err := st.ScanLogVerifierKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	for id := int64(1); id <= 9; id++ {
		p, err := st.ProveScan(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		n, err := note.Open([]byte(p.Checkpoint), note.VerifierList(verifier))
		if err != nil {
			t.Fatalf("checkpoint: %v", err)
		}
		tree, err := tlog.ParseTree([]byte(n.Text))
		if err != nil || tree.N != 9 || tree.Hash != p.RootHash {
			t.Fatalf("checkpoint %q: %v", n.Text, err)
		}
		if !strings.Contains(p.Record, fmt.Sprintf("\nid %d\n", id)) {
			t.Fatalf("record of scan %d: %q", id, p.Record)
		}
		if err := tlog.CheckRecord(p.Proof, tree.N, tree.Hash, p.Leaf, tlog.RecordHash([]byte(p.Record))); err != nil {
			t.Fatalf("proof of scan %d: %v", id, err)
		}
		other := tlog.RecordHash([]byte(strings.Replace(p.Record, "anna", "bob", 1)))
		if tlog.CheckRecord(p.Proof, tree.N, tree.Hash, p.Leaf, other) == nil {
			t.Fatalf("proof of scan %d checks an altered record", id)
		}
	}
	if _, err := st.ProveScan(ctx, 42); err == nil {
		t.Fatal("a proof of a scan that does not exist")
	}
}

// Each way of rewriting the rows behind the server's back is caught and
// the first scan affected is named.
func TestScanLogTamperingIsCaught(t *testing.T) {
	cases := []struct {
		name   string
		tamper []string
		first  int64
	}{
		{"result changed", []string{`UPDATE scans SET result = 'ok' WHERE id = 3`}, 3},
		{"device renamed", []string{`UPDATE scans SET device_name = 'Gate B' WHERE id = 7`}, 7},
		{"row deleted", []string{`DELETE FROM scans WHERE id = 4`}, 4},
		{"last row deleted", []string{`DELETE FROM scans WHERE id = 9`}, 9},
		{"two rows swapped", []string{
			`UPDATE scans SET id = -2 WHERE id = 2`,
			`UPDATE scans SET id = 2 WHERE id = 5`,
			`UPDATE scans SET id = 5 WHERE id = -2`,
		}, 2},
		{"row inserted in a gap", []string{
			`DELETE FROM scans WHERE id = 6`,
			`UPDATE scans SET id = 6 WHERE id = 8`,
		}, 6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			st, raw, pg := scanLogDB(t)
			addScans(t, raw, pg, 1, 6)
			appendAll(t, st, 6)
			addScans(t, raw, pg, 7, 9)
			appendAll(t, st, 9)
			for _, q := range c.tamper {
				if _, err := raw.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			rep, err := st.VerifyScanLog(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK || rep.FirstScan != c.first || rep.Problem == "" {
				t.Fatalf("report %+v, want scan %d named", rep, c.first)
			}
		})
	}
}

// Stored hashes and checkpoints rewritten without the rows are caught too.
func TestScanLogStoredTreeTamperingIsCaught(t *testing.T) {
	for _, q := range []string{
		`UPDATE scanlog_hashes SET hash = (SELECT hash FROM scanlog_hashes WHERE idx = 0) WHERE idx = 2`,
		`UPDATE scanlog_checkpoints SET note = replace(note, '5', '4') WHERE size = 5`,
		`DELETE FROM scanlog_leaves WHERE n = 4`,
	} {
		t.Run(q, func(t *testing.T) {
			st, raw, pg := scanLogDB(t)
			addScans(t, raw, pg, 1, 5)
			appendAll(t, st, 5)
			if _, err := raw.Exec(q); err != nil {
				t.Fatal(err)
			}
			rep, err := st.VerifyScanLog(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK {
				t.Fatalf("report %+v", rep)
			}
		})
	}
}

// The appender works in short transactions (so that scans never wait long
// for the writer): a call that spans several of them, ending inside one or
// on the boundary of one, still leaves one signed checkpoint of the whole
// tree, and the log verifies and proves. (150 rows use every shape of the
// appender's row INSERTs: 64, 16, 4 and 1 rows.)
func TestScanLogAppendSpanningTransactions(t *testing.T) {
	ctx := context.Background()
	st, raw, pg := scanLogDB(t)
	addScans(t, raw, pg, 1, 150) // two full transactions and part of a third
	appendAll(t, st, 150)
	addScans(t, raw, pg, 151, 278) // exactly two full transactions
	appendAll(t, st, 278)
	rep, err := st.VerifyScanLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Leaves != 278 || rep.Checkpoints != 2 {
		t.Fatalf("log appended over several transactions: %+v", rep)
	}
	for _, id := range []int64{1, 64, 65, 150, 151, 278} {
		p, err := st.ProveScan(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		tree, err := tlog.ParseTree([]byte(p.Checkpoint[:strings.Index(p.Checkpoint, "\n\n")+1]))
		if err != nil || tree.N != 278 {
			t.Fatalf("scan %d proved against %q: %v", id, p.Checkpoint, err)
		}
		if err := tlog.CheckRecord(p.Proof, tree.N, tree.Hash, p.Leaf, tlog.RecordHash([]byte(p.Record))); err != nil {
			t.Fatalf("proof of scan %d: %v", id, err)
		}
	}
}

// Verifying for one event checks the whole tree (one tree over every
// event) and says where the first damage lies: in the event's rows, in
// another event's, or where no event can be told. Damage anywhere fails.
func TestScanLogEventAccount(t *testing.T) {
	cases := []struct {
		name    string
		tamper  []string
		first   int64
		damage1 string // seen from event 1 (odd ids)
		damage2 string // seen from event 2 (even ids)
	}{
		{"clean", nil, 0, "", ""},
		{"result changed in event 1", []string{`UPDATE scans SET result = 'ok' WHERE id = 3`}, 3,
			sqlstore.DamageEvent, sqlstore.DamageOtherEvent},
		{"device renamed in event 2", []string{`UPDATE scans SET device_name = 'Gate B' WHERE id = 8`}, 8,
			sqlstore.DamageOtherEvent, sqlstore.DamageEvent},
		{"row deleted", []string{`DELETE FROM scans WHERE id = 4`}, 4,
			sqlstore.DamageUnattributed, sqlstore.DamageUnattributed},
		{"two rows swapped", []string{
			`UPDATE scans SET id = -2 WHERE id = 2`,
			`UPDATE scans SET id = 2 WHERE id = 5`,
			`UPDATE scans SET id = 5 WHERE id = -2`,
		}, 2, sqlstore.DamageEvent, sqlstore.DamageOtherEvent}, // row 2 now holds scan 5, of event 1
		{"stored hash rewritten", []string{
			`UPDATE scanlog_hashes SET hash = (SELECT hash FROM scanlog_hashes WHERE idx = 0) WHERE idx = 2`,
		}, 0, sqlstore.DamageUnattributed, sqlstore.DamageUnattributed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			st, raw, pg := scanLogDB(t)
			addScans(t, raw, pg, 1, 9)
			if _, err := raw.Exec(`UPDATE scans SET event_id = 2 WHERE id IN (2, 4, 6, 8)`); err != nil {
				t.Fatal(err)
			}
			appendAll(t, st, 9)
			addScans(t, raw, pg, 10, 11) // event 1, not in the tree yet
			for _, q := range c.tamper {
				if _, err := raw.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			for _, ev := range []struct {
				id            int64
				damage        string
				scans, covers int64
			}{{1, c.damage1, 7, 5}, {2, c.damage2, 4, 4}} {
				rep, err := st.VerifyScanLogEvent(ctx, ev.id)
				if err != nil {
					t.Fatal(err)
				}
				if rep.Event == nil {
					t.Fatalf("event %d: no account: %+v", ev.id, rep)
				}
				if c.tamper == nil {
					if !rep.OK || rep.Event.Scans != ev.scans || rep.Event.Covered != ev.covers || rep.Event.Damage != "" {
						t.Fatalf("clean, event %d: %+v %+v", ev.id, rep, rep.Event)
					}
					continue
				}
				if rep.OK || rep.FirstScan != c.first || rep.Event.Damage != ev.damage || rep.Event.Covered != 0 {
					t.Fatalf("event %d: %+v %+v, want damage %q at scan %d", ev.id, rep, rep.Event, ev.damage, c.first)
				}
			}
		})
	}
}

// The appender keeps the right edge of the tree it committed last, to read
// no stored hash when it goes on: appends of every size in between (across
// levels of the tree), and by two stores of the same database taking turns
// (two nodes, or a second process), leave a tree that verifies, with a
// checkpoint of each size.
func TestScanLogAppendsOfOddSizesByTwoStoresVerify(t *testing.T) {
	ctx := context.Background()
	st, raw, pg, dsn := scanLogDSN(t)
	other, err := sqlstore.Open(ctx, dsn, admittest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	var size int64
	for i, n := range []int64{1, 1, 2, 3, 57, 64, 1, 127, 2, 9, 70, 1, 192, 5} {
		addScans(t, raw, pg, size+1, size+n)
		size += n
		who := st
		if i%4 == 3 || i%4 == 2 && i > 8 {
			who = other
		}
		appendAll(t, who, size)
		rep, err := st.VerifyScanLog(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK || rep.Leaves != size || rep.Checkpoints != i+1 {
			t.Fatalf("after appending %d rows (tree of %d): %+v", n, size, rep)
		}
	}
}

package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/sqlstore"
)

// A backup taken while scans are being written holds every scan answered
// before it began, passes SQLite's integrity check, and restores.
func TestSQLiteBackupUnderScanLoad(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlstore.Open(ctx, filepath.Join(dir, "admit.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	// Scanners write log rows until told to stop; each records the nonces
	// answered.
	var (
		mu     sync.Mutex
		acked  = map[string]bool{}
		stop   atomic.Bool
		wg     sync.WaitGroup
		failed atomic.Value
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load() && i < 100_000; i++ {
				a := unknownScan(i)
				a.Scan.Nonce = fmt.Sprintf("w%d-%d", w, i)
				if _, err := st.Scan(ctx, a); err != nil {
					failed.Store(err)
					return
				}
				mu.Lock()
				acked[a.Scan.Nonce] = true
				mu.Unlock()
			}
		}()
	}
	for { // some load first
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 200 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	before := make(map[string]bool, len(acked))
	for k := range acked {
		before[k] = true
	}
	mu.Unlock()
	dst := filepath.Join(dir, "backup.db")
	info, err := st.Backup(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	during := len(acked) - len(before)
	mu.Unlock()
	stop.Store(true)
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
	t.Logf("backup of %d bytes in %.3fs; %d scans before it, %d answered while it ran", info.Bytes, info.Seconds, len(before), during)
	if fi, err := os.Stat(dst); err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != info.Bytes {
		t.Fatalf("backup file: %v %v", fi, err)
	}

	db, err := sql.Open("sqlite", "file:"+dst+"?mode=ro&immutable=1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
	rows, err := db.Query(`SELECT nonce, COUNT(*) FROM scans GROUP BY nonce`)
	if err != nil {
		t.Fatal(err)
	}
	inBackup := map[string]int{}
	for rows.Next() {
		var n string
		var c int
		if err := rows.Scan(&n, &c); err != nil {
			t.Fatal(err)
		}
		inBackup[n] = c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for n := range before {
		if inBackup[n] != 1 {
			t.Fatalf("scan %s, answered before the backup began, is in it %d times", n, inBackup[n])
		}
	}
	for n, c := range inBackup {
		if c != 1 {
			t.Fatalf("scan %s is in the backup %d times", n, c)
		}
	}

	// A backup never overwrites a file.
	if _, err := st.Backup(ctx, dst); admit.ErrorCode(err) != admit.EConflict {
		t.Fatalf("second backup to the same file: %v, want a conflict", err)
	}
}

func TestSQLiteRestore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	live := filepath.Join(dir, "admit.db")
	st, err := sqlstore.Open(ctx, live, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := unknownScan(0)
	a.Scan.Nonce = "kept"
	if _, err := st.Scan(ctx, a); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "backup.db")
	if _, err := st.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	a.Scan.Nonce = "after the backup"
	if _, err := st.Scan(ctx, a); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.db")
	os.WriteFile(garbage, []byte("not a database at all, not even close to one"), 0o600)
	notAdmit := filepath.Join(dir, "other.db")
	if db, err := sql.Open("sqlite", notAdmit); err != nil {
		t.Fatal(err)
	} else {
		db.Exec(`CREATE TABLE t (x)`)
		db.Close()
	}
	newer := filepath.Join(dir, "newer.db")
	if _, err := sqlstore.BackupSQLite(ctx, backup, newer); err != nil {
		t.Fatal(err)
	}
	if db, err := sql.Open("sqlite", newer); err != nil {
		t.Fatal(err)
	} else {
		if _, err := db.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (999, true)`); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}

	cases := []struct {
		name, src, dst string
		code           admit.Code
		detail         string
	}{
		{"a database in use by an open store", backup, live, admit.EConflict, "in use"},
		{"a file that is no database", garbage, filepath.Join(dir, "new.db"), admit.EInvalid, "not a sound"},
		{"a database of something else", notAdmit, filepath.Join(dir, "new.db"), admit.EInvalid, "no migrations"},
		{"a backup of a newer admit", newer, filepath.Join(dir, "new.db"), admit.EInvalid, "newer admit"},
		{"a missing backup", filepath.Join(dir, "missing.db"), filepath.Join(dir, "new.db"), admit.EInvalid, "no backup file"},
		{"into PostgreSQL", backup, "postgres://localhost/x", admit.EInvalid, "pg_restore"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := sqlstore.RestoreSQLite(ctx, c.src, c.dst)
			if admit.ErrorCode(err) != c.code || !containsFold(admit.ErrorMessage(err), c.detail) {
				t.Fatalf("restore: %v, want %s naming %q", err, c.code, c.detail)
			}
		})
	}

	// Stopped, the database is replaced; the one replaced is kept aside.
	st.Close()
	info, err := sqlstore.RestoreSQLite(ctx, backup, live)
	if err != nil {
		t.Fatal(err)
	}
	if info.Previous == "" || info.Schema == 0 {
		t.Fatalf("restore: %+v", info)
	}
	nonces := func(path string) map[string]bool {
		t.Helper()
		st, err := sqlstore.Open(ctx, path, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		_, r := st.DBs()
		rows, err := r.Query(`SELECT nonce FROM scans`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		m := map[string]bool{}
		for rows.Next() {
			var n string
			rows.Scan(&n)
			m[n] = true
		}
		return m
	}
	if got := nonces(live); !got["kept"] || got["after the backup"] {
		t.Fatalf("restored database's scans: %v", got)
	}
	if got := nonces(info.Previous); !got["kept"] || !got["after the backup"] {
		t.Fatalf("the database replaced, kept at %s: %v", info.Previous, got)
	}
	// A new database file is restored as well.
	fresh := filepath.Join(dir, "fresh.db")
	if info, err := sqlstore.RestoreSQLite(ctx, backup, fresh); err != nil || info.Previous != "" {
		t.Fatalf("restore into a new file: %+v %v", info, err)
	}
	if fi, err := os.Stat(fresh); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("restored file: %v %v", fi, err)
	}
}

// Ready: the database answers and has this binary's migrations.
func TestSQLiteReady(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "admit.db")
	st, err := sqlstore.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Ready(ctx); err != nil {
		t.Fatalf("ready: %v", err)
	}
	if st.Engine() != "sqlite" || st.SchemaVersion() < 6 {
		t.Fatalf("engine %s, schema %d", st.Engine(), st.SchemaVersion())
	}
	w, _ := st.DBs()
	if _, err := w.Exec(`UPDATE goose_db_version SET is_applied = false WHERE version_id = (SELECT MAX(version_id) FROM goose_db_version)`); err != nil {
		t.Fatal(err)
	}
	if err := st.Ready(ctx); err == nil || !containsFold(err.Error(), "migration") {
		t.Fatalf("ready with a migration missing: %v", err)
	}
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// Checkpoint runs PostgreSQL's CHECKPOINT (one has completed, begun after
// the call, when it returns) and refuses a user who may not run it with
// EForbidden; on SQLite it checkpoints the WAL (which the store's own
// checkpointer does every 100 ms too, so only its success is checked).
func TestCheckpoint(t *testing.T) {
	ctx := context.Background()
	t.Run("SQLite checkpoints the WAL without error", func(t *testing.T) {
		st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "admit.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if _, err := st.Scan(ctx, unknownScan(1)); err != nil {
			t.Fatal(err)
		}
		if err := st.Checkpoint(ctx); err != nil {
			t.Fatalf("Checkpoint: %v", err)
		}
	})
	t.Run("PostgreSQL requests a checkpoint", func(t *testing.T) {
		server := postgresServer(t)
		dsn := createDatabase(t, server)
		st, err := sqlstore.Open(ctx, dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		admin, err := sql.Open("pgx", server)
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		// A checkpoint that began after this point of the WAL has completed
		// (the control file names its redo point) when the call returns.
		var start string
		if err := admin.QueryRowContext(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&start); err != nil {
			t.Fatal(err)
		}
		if err := st.Checkpoint(ctx); err != nil {
			t.Fatalf("Checkpoint: %v", err)
		}
		var redo string
		var after bool
		if err := admin.QueryRowContext(ctx, `SELECT redo_lsn::text, redo_lsn >= $1::pg_lsn FROM pg_control_checkpoint()`, start).Scan(&redo, &after); err != nil {
			t.Fatal(err)
		}
		if !after {
			t.Errorf("the last checkpoint's redo point %s is before %s, where Checkpoint was called", redo, start)
		}
	})
	t.Run("PostgreSQL user without the right is refused", func(t *testing.T) {
		server := postgresServer(t)
		dsn := createDatabase(t, server)
		st, err := sqlstore.Open(ctx, dsn, nil) // migrates, as the owner
		if err != nil {
			t.Fatal(err)
		}
		st.Close()
		admin, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		var b [4]byte
		rand.Read(b[:])
		role := "admit_nockpt_" + hex.EncodeToString(b[:])
		for _, q := range []string{
			`CREATE ROLE ` + role + ` LOGIN`,
			`GRANT ALL ON ALL TABLES IN SCHEMA public TO ` + role,
			`GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ` + role,
		} {
			if _, err := admin.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		t.Cleanup(func() {
			admin.ExecContext(ctx, `DROP OWNED BY `+role)
			admin.ExecContext(ctx, `DROP ROLE `+role)
		})
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.User(role)
		st, err = sqlstore.Open(ctx, u.String(), nil)
		if err != nil {
			t.Fatalf("open as %s: %v", role, err)
		}
		defer st.Close()
		err = st.Checkpoint(ctx)
		if admit.ErrorCode(err) != admit.EForbidden {
			t.Fatalf("Checkpoint as a plain user: %v (code %q), want %q", err, admit.ErrorCode(err), admit.EForbidden)
		}
	})
}

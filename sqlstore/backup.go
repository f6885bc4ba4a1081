package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/admitdev/admit"
)

// Backups of a SQLite database, taken while a server runs and scans.
//
// A backup is VACUUM INTO on a connection of its own: one read transaction,
// so the copy is the database as it was when the backup began (every
// write answered before then is in it, none after), written compactly to
// a new file. In WAL mode a reader never blocks the writer: scans go on
// during the backup, sharing the machine with it. (SQLite's online backup
// API restarts its copy whenever another connection writes: under a steady
// scan load it would never end.) The copy is written to a temporary file
// beside the destination, synced, then renamed: a backup file is complete
// or absent.

// BackupInfo describes a backup made.
type BackupInfo struct {
	Path     string        `json:"path"`
	Bytes    int64         `json:"bytes"`
	Duration time.Duration `json:"-"`
	Seconds  float64       `json:"seconds"`
}

// Backup writes a consistent copy of the store's SQLite database to dst
// (which must not exist); see BackupSQLite.
func (s *Store) Backup(ctx context.Context, dst string) (*BackupInfo, error) {
	if !s.sqlite {
		return nil, admit.Errorf(admit.EInvalid, "a PostgreSQL database is backed up with pg_dump (see the README)")
	}
	return BackupSQLite(ctx, s.path, dst)
}

// BackupSQLite writes a consistent copy of the SQLite database file src to
// dst, which must not exist, while other processes may use src. It does not
// migrate src. The copy is readable by its owner only: it holds the events'
// signing keys and the credentials' hashes.
func BackupSQLite(ctx context.Context, src, dst string) (*BackupInfo, error) {
	start := time.Now()
	if IsPostgres(src) {
		return nil, admit.Errorf(admit.EInvalid, "a PostgreSQL database is backed up with pg_dump (see the README)")
	}
	if _, err := os.Stat(src); err != nil {
		return nil, admit.Errorf(admit.EInvalid, "no database file %s: %v", src, err)
	}
	if _, err := os.Lstat(dst); err == nil {
		return nil, admit.Errorf(admit.EConflict, "%s already exists: a backup never overwrites a file", dst)
	}
	lock, err := os.Open(src)
	if err != nil {
		return nil, admit.Errorf(admit.EInvalid, "cannot open %s: %v", src, err)
	}
	defer lock.Close()
	if err := lockShared(lock); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return nil, admit.Errorf(admit.EInvalid, "cannot write in %s: %v", filepath.Dir(dst), err)
	}
	tmpName := tmp.Name()
	tmp.Close() // VACUUM INTO writes into an empty file
	ok := false
	defer func() {
		if !ok {
			os.Remove(tmpName)
		}
	}()
	// No _query_only: it refuses VACUUM INTO. The connection writes nothing
	// to src.
	_, reader := SQLiteDSN(src)
	reader = strings.Replace(reader, "&_query_only=1", "", 1)
	db, err := sql.Open("sqlite", reader)
	if err != nil {
		return nil, admit.WrapInternal(err, "backup: open the database")
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmpName); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, admit.WrapInternal(err, "backup: VACUUM INTO")
	}
	db.Close()
	if err := syncFile(tmpName); err != nil {
		return nil, err
	}
	// Never replace a file that appeared meanwhile.
	if err := os.Link(tmpName, dst); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, admit.Errorf(admit.EConflict, "%s already exists: a backup never overwrites a file", dst)
		}
		return nil, admit.WrapInternal(err, "backup: name the copy")
	}
	os.Remove(tmpName)
	ok = true
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return nil, err
	}
	fi, err := os.Stat(dst)
	if err != nil {
		return nil, admit.WrapInternal(err, "backup")
	}
	d := time.Since(start)
	return &BackupInfo{Path: dst, Bytes: fi.Size(), Duration: d, Seconds: float64(d.Milliseconds()) / 1000}, nil
}

// RestoreInfo describes a restore done.
type RestoreInfo struct {
	Path     string `json:"path"`               // the database restored
	From     string `json:"from"`               // the backup it is a copy of
	Previous string `json:"previous,omitempty"` // where the database it replaced was moved
	Schema   int64  `json:"schema"`             // the backup's newest migration
}

// RestoreSQLite makes the SQLite database file dst a copy of the backup
// src. It refuses when any admit process has dst open (a server, or another
// command: see lockShared), when src is not a sound admit database (PRAGMA
// integrity_check), or when src was written by a newer admit than this one.
// A database dst replaced is kept beside it, renamed (with its WAL): a
// restore loses nothing. The next admit to open dst applies the
// migrations the backup lacks.
func RestoreSQLite(ctx context.Context, src, dst string) (*RestoreInfo, error) {
	if IsPostgres(dst) || IsPostgres(src) {
		return nil, admit.Errorf(admit.EInvalid, "a PostgreSQL database is restored with pg_restore or psql (see the README)")
	}
	info := &RestoreInfo{Path: dst, From: src}
	schema, err := checkBackup(ctx, src)
	if err != nil {
		return nil, err
	}
	info.Schema = schema
	lock, err := os.OpenFile(dst, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, admit.Errorf(admit.EInvalid, "cannot open %s: %v", dst, err)
	}
	defer lock.Close()
	if err := lockExclusive(lock); err != nil {
		return nil, err
	}
	// The copy, complete and synced before anything is moved.
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".restore-*")
	if err != nil {
		return nil, admit.Errorf(admit.EInvalid, "cannot write in %s: %v", filepath.Dir(dst), err)
	}
	ok := false
	defer func() {
		if !ok {
			os.Remove(tmp.Name())
		}
	}()
	in, err := os.Open(src)
	if err != nil {
		tmp.Close()
		return nil, admit.Errorf(admit.EInvalid, "cannot open %s: %v", src, err)
	}
	_, err = io.Copy(tmp, in)
	in.Close()
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, admit.WrapInternal(err, "restore: copy the backup")
	}
	// The database replaced, with its WAL, moves aside.
	fi, err := lock.Stat()
	if err != nil {
		return nil, admit.WrapInternal(err, "restore")
	}
	if fi.Size() > 0 {
		info.Previous = fmt.Sprintf("%s.replaced-%s", dst, time.Now().UTC().Format("20060102T150405Z"))
		if err := os.Rename(dst, info.Previous); err != nil {
			return nil, admit.WrapInternal(err, "restore: move the database replaced aside")
		}
		if _, err := os.Stat(dst + "-wal"); err == nil {
			if err := os.Rename(dst+"-wal", info.Previous+"-wal"); err != nil {
				return nil, admit.WrapInternal(err, "restore: move the replaced database's WAL aside")
			}
		}
	} else if err := os.Remove(dst + "-wal"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, admit.WrapInternal(err, "restore: remove a stale WAL")
	}
	// The shared-memory index describes the WAL moved away: SQLite makes a
	// new one.
	if err := os.Remove(dst + "-shm"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, admit.WrapInternal(err, "restore: remove the old WAL index")
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return nil, admit.WrapInternal(err, "restore: put the copy in place")
	}
	ok = true
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return nil, err
	}
	return info, nil
}

// checkBackup checks that path is a sound SQLite database of admit, not
// from a newer admit, and returns its newest migration.
func checkBackup(ctx context.Context, path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, admit.Errorf(admit.EInvalid, "no backup file %s: %v", path, err)
	}
	if !fi.Mode().IsRegular() || fi.Size() == 0 {
		return 0, admit.Errorf(admit.EInvalid, "%s is not a backup: not a database file", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return 0, admit.WrapInternal(err, "restore")
	}
	// Read-only and immutable: the check writes nothing beside the file
	// (no WAL index), and a backup is never written to.
	db, err := sql.Open("sqlite", "file:"+abs+"?mode=ro&immutable=1")
	if err != nil {
		return 0, admit.WrapInternal(err, "restore: open the backup")
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check(1)`).Scan(&res); err != nil {
		return 0, admit.Errorf(admit.EInvalid, "%s is not a sound SQLite database: %v", path, err)
	}
	if res != "ok" {
		return 0, admit.Errorf(admit.EInvalid, "%s fails SQLite's integrity check: %s", path, res)
	}
	var v sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT MAX(version_id) FROM goose_db_version WHERE is_applied`).Scan(&v); err != nil || !v.Valid {
		return 0, admit.Errorf(admit.EInvalid, "%s is not a backup of admit: it has no migrations", path)
	}
	if newest := newestMigration(); v.Int64 > newest {
		return 0, admit.Errorf(admit.EInvalid, "%s was written by a newer admit (schema %d; this one knows up to %d): restore it with that version", path, v.Int64, newest)
	}
	return v.Int64, nil
}

// newestMigration is the newest SQLite migration embedded in the binary.
func newestMigration() int64 {
	entries, _ := fs.ReadDir(migrations, "migrations/sqlite")
	var n int64
	for _, e := range entries {
		var v int64
		if _, err := fmt.Sscanf(e.Name(), "%d_", &v); err == nil {
			n = max(n, v)
		}
	}
	for _, m := range (&Store{sqlite: true}).goMigrations() {
		n = max(n, m.Version)
	}
	return n
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return admit.WrapInternal(err, "sync "+path)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return admit.WrapInternal(err, "sync "+path)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return admit.WrapInternal(err, "sync "+dir)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return admit.WrapInternal(err, "sync "+dir)
	}
	return nil
}

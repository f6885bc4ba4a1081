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
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/sqlstore"
	"github.com/admitdev/admit/sqlstore/storetest"
)

func TestSQLite(t *testing.T) {
	storetest.Run(t, openSQLite)
}

func openSQLite(t *testing.T) admit.Store {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "admit.db"), nil)
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return st
}

func TestPostgres(t *testing.T) {
	storetest.Run(t, postgresOpener(t))
}

// postgresServer returns the DSN of the test server, or skips the test
// when it cannot be reached (fails instead with ADMIT_REQUIRE_POSTGRES=1).
func postgresServer(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("ADMIT_TEST_POSTGRES")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err == nil {
		err = conn.Ping(ctx)
		conn.Close(ctx)
	}
	if err != nil {
		if os.Getenv("ADMIT_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("PostgreSQL required (ADMIT_REQUIRE_POSTGRES=1) but unreachable: %v", err)
		}
		t.Skipf("PostgreSQL unreachable at %s: %v", redact(dsn), err)
	}
	return dsn
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable DSN)"
	}
	return u.Redacted()
}

// postgresOpener creates one database for the suite (migrated by the first
// Open) and returns an open function that empties it for each subtest: DDL
// is slow on PostgreSQL, DELETE of a few rows is not.
func postgresOpener(t *testing.T) func(t *testing.T) admit.Store {
	server := postgresServer(t)
	dsn := createDatabase(t, server)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	first := true
	return func(t *testing.T) admit.Store {
		t.Helper()
		if !first {
			if err := emptyTables(db); err != nil {
				t.Fatalf("empty tables: %v", err)
			}
		}
		first = false
		st, err := sqlstore.Open(context.Background(), dsn, nil)
		if err != nil {
			t.Fatalf("open postgres: %v", err)
		}
		t.Cleanup(func() {
			if err := st.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
		return st
	}
}

// tables lists every table of the schema, children before parents.
var tables = []string{"scanlog_checkpoints", "scanlog_hashes", "scanlog_leaves", "web_sessions", "signin_tokens", "area_counts", "rate_hits", "api_keys", "token_sections", "admission_tokens", "scans", "checkin_state",
	"devices", "list_sections", "list_products", "checkin_lists", "tickets", "orders", "variations", "products",
	"sections", "subevents", "events", "organizers"}

// kept are the tables a new database starts with rows in.
var kept = []string{"goose_db_version", "catalog_version", "tickets_version", "secrets"}

func emptyTables(db *sql.DB) error {
	ctx := context.Background()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&n); err != nil {
		return err
	}
	n -= len(kept)
	if n != len(tables) {
		return fmt.Errorf("the schema has %d tables, the test knows %d: update tables", n, len(tables))
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, table := range tables {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+table); err != nil {
			return err
		}
	}
	// As a new database has them.
	for _, reset := range []string{"UPDATE catalog_version SET version = 0", "UPDATE tickets_version SET version = 1"} {
		if _, err := tx.ExecContext(ctx, reset); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// createDatabase creates admit_test_<random> on the server and returns its
// DSN; the database is dropped (WITH (FORCE)) when the test ends.
func createDatabase(t testing.TB, server string) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	name := "admit_test_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", server)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// Several nodes start at once on a new database: one migrates, the others
// wait on the advisory lock, all open.
func TestPostgresConcurrentMigrations(t *testing.T) {
	dsn := createDatabase(t, postgresServer(t))
	const nodes = 4
	var wg sync.WaitGroup
	errs := make([]error, nodes)
	stores := make([]*sqlstore.Store, nodes)
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = sqlstore.Open(context.Background(), dsn, nil)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: %v", i, err)
			continue
		}
		stores[i].Close()
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Each migration applied once.
	var applied, distinct int
	if err := db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0`).Scan(&applied, &distinct); err != nil {
		t.Fatal(err)
	}
	if applied != distinct || applied == 0 {
		t.Errorf("%d migrations recorded for %d versions", applied, distinct)
	}
}

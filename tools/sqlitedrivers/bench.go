package main

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// The tables admit's scan path writes, as migrations 00001, 00005 and 00007
// of sqlstore/migrations/sqlite leave them, without the foreign keys of
// checkin_state (to tickets and checkin_lists, tables not made here).
var schema = []string{
	`CREATE TABLE checkin_state (
    ticket_id         INTEGER NOT NULL,
    list_id           INTEGER NOT NULL,
    inside            INTEGER NOT NULL DEFAULT 0,
    entries           INTEGER NOT NULL DEFAULT 0,
    first_at          INTEGER,
    first_device_uuid TEXT NOT NULL DEFAULT '',
    first_device_name TEXT NOT NULL DEFAULT '',
    last_at           INTEGER,
    exits             INTEGER NOT NULL DEFAULT 0,
    section_id        INTEGER,
    PRIMARY KEY (ticket_id, list_id)
) STRICT, WITHOUT ROWID`,
	`CREATE INDEX checkin_state_list ON checkin_state (list_id, section_id, inside, entries, exits)`,
	`CREATE TABLE scans (
    id              INTEGER PRIMARY KEY,
    ticket_id       INTEGER,
    event_id        INTEGER,
    list_id         INTEGER,
    device_id       INTEGER,
    device_name     TEXT NOT NULL DEFAULT '',
    redeemer        TEXT NOT NULL DEFAULT '',
    source          TEXT NOT NULL DEFAULT '',
    type            TEXT NOT NULL,
    result          TEXT NOT NULL,
    nonce           TEXT,
    device_time     INTEGER,
    server_time     INTEGER NOT NULL,
    forced          INTEGER NOT NULL DEFAULT 0,
    offline         INTEGER NOT NULL DEFAULT 0,
    device_verdict  TEXT,
    clock_offset_ms INTEGER,
    conflict        TEXT
) STRICT`,
	`CREATE INDEX scans_ticket_nonce ON scans (ticket_id, list_id, nonce)`,
	`CREATE INDEX scans_event ON scans (event_id, id)`,
	`CREATE INDEX scans_list ON scans (list_id, id)`,
	`CREATE UNIQUE INDEX scans_offline_nonce ON scans (event_id, nonce) WHERE offline`,
	`CREATE INDEX scans_conflicts ON scans (event_id) WHERE conflict IS NOT NULL`,
}

// The statements, as admit's rebindSQLite hands them to the driver: each $N
// a plain ?, the arguments repeated where $N is ($3 twice in qFirstEntry).
const (
	qFirstEntry = `INSERT INTO checkin_state
	(ticket_id, list_id, inside, entries, first_at, first_device_uuid, first_device_name, last_at, section_id)
	VALUES (?, ?, true, 1, ?, ?, ?, ?, ?)
	ON CONFLICT (ticket_id, list_id) DO NOTHING`
	qInsertScanExec = `INSERT INTO scans (ticket_id, event_id, list_id, device_id, device_name, redeemer, source,
	type, result, nonce, device_time, server_time, forced, offline, device_verdict, clock_offset_ms, conflict)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qState = `SELECT ticket_id, list_id, inside, entries, exits, first_at, first_device_uuid, first_device_name, last_at FROM checkin_state WHERE ticket_id = ? AND list_id = ?`
	qOne   = `SELECT 1`
)

// The pragmas of admit's SQLite DSNs (sqlstore.sqliteDSNs), run on the one
// connection of each pool right after it opens, in the same order for
// every driver. Both set a busy timeout, WAL, foreign keys and temp_store;
// the writer commits with synchronous=NORMAL and never checkpoints by
// itself; the reader is query-only. _txlock=immediate in the DSN (which all
// three drivers read) makes the writer's transactions BEGIN IMMEDIATE.
var (
	commonPragmas = []string{"busy_timeout=10000", "journal_mode=WAL", "foreign_keys=1", "temp_store=memory"}
	writerPragmas = []string{"synchronous=NORMAL", "wal_autocheckpoint=0", "cache_size=-65536"}
	readerPragmas = []string{"synchronous=FULL", "cache_size=-16384", "query_only=1"}
	// What each pool must read back: a driver whose connection lost its
	// pragmas would be measured on other terms.
	writerWant = map[string]string{"journal_mode": "wal", "synchronous": "1", "wal_autocheckpoint": "0",
		"foreign_keys": "1", "temp_store": "2", "cache_size": "-65536", "busy_timeout": "10000"}
	readerWant = map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1",
		"temp_store": "2", "cache_size": "-16384", "query_only": "1", "busy_timeout": "10000"}
)

type config struct {
	scans   int   // scans (or reads) per measured run
	runs    int   // measured runs per operation
	batches []int // scans per transaction
	tickets int   // distinct ticket ids
	warmup  int   // unmeasured scans before the first run
	dir     string
}

// result is one measured run of one operation; the JSON lines the children
// print and the report reads.
type result struct {
	Driver  string  `json:"driver"`
	Desc    string  `json:"desc"`
	SQLite  string  `json:"sqlite"`
	Op      string  `json:"op"`
	N       int     `json:"n"`
	CPUNs   float64 `json:"cpu_ns_per_op"`
	WallNs  float64 `json:"wall_ns_per_op"`
	Run     int     `json:"run"`
	Ordinal int     `json:"ordinal"` // sort key of the operation
}

type bench struct {
	cfg     config
	d       driverSpec
	version string
	w, r    *sql.DB
	first   *sql.Stmt
	insert  *sql.Stmt
	state   *sql.Stmt
	one     *sql.Stmt
	perm    []int64 // ticket ids, shuffled
	next    int     // (ticket, list) pairs used so far
	rng     *rand.Rand
	now     int64
}

func openPool(d driverSpec, dsn string, pragmas ...[]string) (*sql.DB, error) {
	db, err := d.open(dsn)
	if err != nil {
		return nil, err
	}
	// One connection that lives as long as the pool, like admit's writer.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	for _, ps := range pragmas {
		for _, p := range ps {
			// journal_mode answers a row: read to the end (a driver may
			// not step the statement before the first Next).
			rows, err := db.Query("PRAGMA " + p)
			if err == nil {
				for rows.Next() {
				}
				err = rows.Err()
				rows.Close()
			}
			if err != nil {
				db.Close()
				return nil, fmt.Errorf("PRAGMA %s: %w", p, err)
			}
		}
	}
	return db, nil
}

func checkPragmas(db *sql.DB, want map[string]string) error {
	for p, v := range want {
		var got string
		if err := db.QueryRow("PRAGMA " + p).Scan(&got); err != nil {
			return fmt.Errorf("PRAGMA %s: %w", p, err)
		}
		if !strings.EqualFold(got, v) {
			return fmt.Errorf("PRAGMA %s is %s, want %s", p, got, v)
		}
	}
	return nil
}

func newBench(cfg config, d driverSpec) (*bench, error) {
	b := &bench{cfg: cfg, d: d, rng: rand.New(rand.NewPCG(1, 2)), now: time.Date(2026, 6, 1, 18, 0, 0, 0, time.UTC).UnixMicro()}
	path := filepath.Join(cfg.dir, "bench.db")
	dsn := "file:" + path + "?_txlock=immediate"
	var err error
	if b.w, err = openPool(d, dsn, commonPragmas, writerPragmas); err != nil {
		return nil, fmt.Errorf("writer: %w", err)
	}
	for _, q := range schema {
		if _, err := b.w.Exec(q); err != nil {
			return nil, fmt.Errorf("schema: %w", err)
		}
	}
	if b.r, err = openPool(d, dsn, commonPragmas, readerPragmas); err != nil {
		return nil, fmt.Errorf("reader: %w", err)
	}
	if err := checkPragmas(b.w, writerWant); err != nil {
		return nil, fmt.Errorf("writer: %w", err)
	}
	if err := checkPragmas(b.r, readerWant); err != nil {
		return nil, fmt.Errorf("reader: %w", err)
	}
	if err := b.w.QueryRow("SELECT sqlite_version()").Scan(&b.version); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		st **sql.Stmt
		db *sql.DB
		q  string
	}{{&b.first, b.w, qFirstEntry}, {&b.insert, b.w, qInsertScanExec}, {&b.state, b.r, qState}, {&b.one, b.r, qOne}} {
		if *p.st, err = p.db.Prepare(p.q); err != nil {
			return nil, fmt.Errorf("prepare: %w", err)
		}
	}
	b.perm = make([]int64, cfg.tickets)
	for i := range b.perm {
		b.perm[i] = int64(i + 1)
	}
	b.rng.Shuffle(len(b.perm), func(i, j int) { b.perm[i], b.perm[j] = b.perm[j], b.perm[i] })
	return b, nil
}

func (b *bench) close() {
	for _, st := range []*sql.Stmt{b.first, b.insert, b.state, b.one} {
		if st != nil {
			st.Close()
		}
	}
	if b.r != nil {
		b.r.Close()
	}
	if b.w != nil {
		b.w.Close()
	}
}

// pair is the k-th (ticket, list) pair: every ticket once on list 1, then
// every ticket on list 2, and so on, so that each first entry inserts.
func (b *bench) pair(k int) (ticket, list int64) {
	return b.perm[k%len(b.perm)], int64(1 + k/len(b.perm))
}

// scans writes n scans, batch to a transaction, as admit's writer does a
// first entry without a nonce: qFirstEntry, its RowsAffected, the scan
// row, its LastInsertId; statements prepared on the writer's pool and
// bound to each transaction with StmtContext (sqlstore's dbx.prepared).
func (b *bench) scans(ctx context.Context, n, batch int) error {
	for done := 0; done < n; {
		tx, err := b.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for i := 0; i < batch && done < n; i, done = i+1, done+1 {
			ticket, list := b.pair(b.next)
			b.next++
			b.now += 1000
			device := int64(1 + ticket%8)
			res, err := tx.StmtContext(ctx, b.first).ExecContext(ctx, ticket, list, b.now, "", "Gate 3", b.now, int64(1+ticket%4))
			if err != nil {
				tx.Rollback()
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				tx.Rollback()
				return fmt.Errorf("first entry of (%d, %d): %d rows, %v", ticket, list, n, err)
			}
			res, err = tx.StmtContext(ctx, b.insert).ExecContext(ctx, ticket, int64(1), list, device, "Gate 3", "", "pretixdroid",
				"entry", "ok", nil, nil, b.now, false, false, nil, nil, nil)
			if err != nil {
				tx.Rollback()
				return err
			}
			if _, err := res.LastInsertId(); err != nil {
				tx.Rollback()
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// reads reads n check-in states written before, by primary key, on the
// reader's pool.
func (b *bench) reads(ctx context.Context, n int) error {
	var (
		ticket, list, inside, entries, exits int64
		firstAt, lastAt                      sql.NullInt64
		uuid, name                           string
	)
	for i := 0; i < n; i++ {
		t, l := b.pair(b.rng.IntN(b.next))
		if err := b.state.QueryRowContext(ctx, t, l).Scan(&ticket, &list, &inside, &entries, &exits, &firstAt, &uuid, &name, &lastAt); err != nil {
			return err
		}
		if ticket != t || list != l {
			return fmt.Errorf("read (%d, %d), got (%d, %d)", t, l, ticket, list)
		}
	}
	return nil
}

// ones runs SELECT 1 n times on the reader's pool: a statement's fixed cost.
func (b *bench) ones(ctx context.Context, n int) error {
	var v int64
	for i := 0; i < n; i++ {
		if err := b.one.QueryRowContext(ctx).Scan(&v); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) checkpoint() error {
	var busy, logFrames, ckpt int64
	if err := b.w.QueryRow("PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &ckpt); err != nil {
		return err
	}
	if busy != 0 {
		return fmt.Errorf("wal_checkpoint(TRUNCATE) was blocked")
	}
	return nil
}

// measure runs f once, between two checkpoints and after a GC, and returns
// its CPU and wall time per op.
func (b *bench) measure(n int, f func() error) (cpu, wall float64, err error) {
	if err := b.checkpoint(); err != nil {
		return 0, 0, err
	}
	runtime.GC()
	c0, t0 := cpuTime(), time.Now()
	if err := f(); err != nil {
		return 0, 0, err
	}
	wall = float64(time.Since(t0)) / float64(n)
	cpu = float64(cpuTime()-c0) / float64(n)
	if c0 < 0 {
		cpu = -1 // no getrusage here
	}
	return cpu, wall, nil
}

// runDriver measures one driver in a fresh database and returns its runs.
// The operations take turns within each repetition, so that each sees the
// tables at about the same size.
func runDriver(ctx context.Context, cfg config, d driverSpec, progress func(string)) ([]result, error) {
	dir, err := os.MkdirTemp(cfg.dir, "sqlitedrivers-"+d.name+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cfg.dir = dir
	b, err := newBench(cfg, d)
	if err != nil {
		if b != nil {
			b.close()
		}
		return nil, err
	}
	defer b.close()

	need := cfg.warmup + cfg.runs*cfg.scans*len(cfg.batches)
	progress(fmt.Sprintf("%s: SQLite %s, %d scans to write over %d (ticket, list) pairs per list", d.name, b.version, need, cfg.tickets))
	if cfg.warmup > 0 {
		if err := b.scans(ctx, cfg.warmup, 16); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
		if err := b.reads(ctx, cfg.warmup); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	var out []result
	add := func(op string, ord, run, n int, cpu, wall float64) {
		out = append(out, result{Driver: d.name, Desc: d.desc, SQLite: b.version, Op: op, N: n,
			CPUNs: cpu, WallNs: wall, Run: run, Ordinal: ord})
	}
	for run := 1; run <= cfg.runs; run++ {
		for i, batch := range cfg.batches {
			cpu, wall, err := b.measure(cfg.scans, func() error { return b.scans(ctx, cfg.scans, batch) })
			if err != nil {
				return nil, fmt.Errorf("scans, %d a transaction: %w", batch, err)
			}
			add(fmt.Sprintf("scan, %d per tx", batch), i, run, cfg.scans, cpu, wall)
		}
		cpu, wall, err := b.measure(cfg.scans, func() error { return b.reads(ctx, cfg.scans) })
		if err != nil {
			return nil, fmt.Errorf("reads: %w", err)
		}
		add("read state by key", len(cfg.batches), run, cfg.scans, cpu, wall)
		// SELECT 1 takes about a microsecond: ten times as many, for a
		// run long enough to time.
		ones := 10 * cfg.scans
		cpu, wall, err = b.measure(ones, func() error { return b.ones(ctx, ones) })
		if err != nil {
			return nil, fmt.Errorf("SELECT 1: %w", err)
		}
		add("SELECT 1", len(cfg.batches)+1, run, ones, cpu, wall)
		progress(fmt.Sprintf("%s: run %d of %d done", d.name, run, cfg.runs))
	}
	// The pools must still be on their pragmas (one connection each, never
	// reopened), and every scan must be there.
	if err := checkPragmas(b.w, writerWant); err != nil {
		return nil, fmt.Errorf("writer, after the runs: %w", err)
	}
	if err := checkPragmas(b.r, readerWant); err != nil {
		return nil, fmt.Errorf("reader, after the runs: %w", err)
	}
	var nscans, nstates int
	if err := b.r.QueryRow("SELECT (SELECT count(*) FROM scans), (SELECT count(*) FROM checkin_state)").Scan(&nscans, &nstates); err != nil {
		return nil, err
	}
	if nscans != b.next || nstates != b.next {
		return nil, fmt.Errorf("%d scans and %d states, want %d", nscans, nstates, b.next)
	}
	return out, nil
}

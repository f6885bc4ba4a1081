// Package sqlstore implements admit.Store on SQLite (modernc.org/sqlite, pure
// Go) and PostgreSQL (pgx v5) with one SQL code base.
//
// SQL is written once with $1..$N placeholders; on SQLite each query text is
// rewritten once (cached) to anonymous ? placeholders, its arguments
// reordered to match. The few differences between the engines are the
// schema's column types (one migrations directory per engine, same shape),
// how a time is bound (unix microseconds on SQLite, timestamptz on
// PostgreSQL) and how writes are scheduled:
//
//   - SQLite runs in WAL mode with synchronous=FULL. Writes go through ONE
//     writer connection (BEGIN IMMEDIATE), reads through a pool of read-only
//     connections. Scans (and rate-limit hits) are group-committed: a writer
//     goroutine takes every one waiting, runs them in order in one
//     transaction (a savepoint each) and answers them after the commit, so
//     one fsync covers many.
//   - PostgreSQL uses a pgxpool; each Scan is one READ COMMITTED transaction
//     whose conditional upsert's row lock serialises concurrent check-ins.
//     Migrations take a session advisory lock: nodes may start at once.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/admitdev/admit"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// Store is an admit.Store on SQLite or PostgreSQL.
type Store struct {
	sqlite bool
	// codeKey is the key of admission token codes' hashes (tokencode.go).
	codeKey []byte
	log     *slog.Logger
	// searchGrams: the bucketed trigrams of migration 00018 can be looked
	// up (PostgreSQL with pg_trgm; searchgrams.go).
	searchGrams bool

	// wdb takes every write; rdb every read outside a write transaction. On
	// SQLite wdb is a single connection and rdb a read-only pool; on
	// PostgreSQL both are the same pool.
	wdb, rdb *sql.DB
	readers  int           // SQLite: the readers' pool size
	pool     *pgxpool.Pool // PostgreSQL only
	// batchPool holds the PostgreSQL group commit's connections (pgbatch.go).
	batchPool *pgxpool.Pool

	rebound sync.Map // query text → *bound, for SQLite

	// SQLite prepared statements, per *sql.DB: read by every query, written
	// once per query text (stmtMu orders the writes and the close).
	stmtMu sync.Mutex
	stmts  sync.Map // stmtKey → *sql.Stmt
	nstmts atomic.Int64

	// Group commit of small writes: scans, rate-limit hits (SQLite).
	writeMu     sync.RWMutex // guards writeClosed against sends on writeCh
	writeClosed bool
	writeCh     chan *writeReq
	commitEvery atomic.Int64 // CommitEvery, in nanoseconds
	batches     atomic.Int64 // group commits begun
	lastBatch   atomic.Int64 // the writes of the last one
	writeDone   chan struct{}

	// The PostgreSQL group commit of plain scans (pgbatch.go).
	pgScanCh   chan *pgScanReq
	pgScanDone chan struct{}

	// SQLite: the WAL, synced by the store, and the checkpointer's
	// connection (see walsync.go).
	wal      walFile
	syncCh   chan committed
	syncDone chan struct{}
	ckdb     *sql.DB
	ckStop   chan struct{}
	ckDone   chan struct{}

	occTotals sync.Map // event id → *occupancyTotals (occupancy.go)

	// logEdge: the scan log tree's edge the appender committed last (scanlog.go).
	logEdge atomic.Pointer[logEdge]

	// The live feed between nodes (PostgreSQL; see live.go).
	liveMu     sync.Mutex
	live       *pgLive
	liveClosed bool

	// Operations (ops.go): the measurements' receiver, the newest
	// migration this binary knows, and (SQLite) the shared lock on the
	// database file that tells admit restore the file is in use.
	obs       atomic.Pointer[Observer]
	schema    int64
	path      string // SQLite: the database file
	inUseLock *os.File

	hits      atomic.Int64 // Hit calls, to purge old windows now and then
	closeOnce sync.Once
	closeErr  error
}

var _ admit.Store = (*Store)(nil)

type stmtKey struct {
	db    *sql.DB
	query string
}

// maxBatch is the most writes one group commit takes.
const maxBatch = 256

// CommitEvery is how often, at most, the SQLite group commit begins a batch
// under load (when the last batch held four writes or more). A write that
// arrives sooner after the last batch waits for the rest of the interval:
// fewer, larger batches cost less per scan (a commit writes every page it
// changed to the WAL, and every commit makes the readers drop their page
// caches). At 64 concurrent scanners, 1 ms took the CPU per durable scan
// from about 140 to about 121 µs (docs/BENCHMARKS.md). A lone writer, one
// write after the other, commits each at once.
const CommitEvery = time.Millisecond

// Open opens the store named by dsn and applies the migrations: a dsn that
// starts with postgres:// or postgresql:// is a PostgreSQL connection string,
// anything else the path of a SQLite database file (created if missing).
// A nil logger discards.
func Open(ctx context.Context, dsn string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{log: logger}
	var err error
	if IsPostgres(dsn) {
		err = s.openPostgres(ctx, dsn)
	} else {
		err = s.openSQLite(ctx, dsn)
	}
	if err != nil {
		s.closeDBs()
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.closeDBs()
		return nil, err
	}
	if err := s.loadCodeKey(ctx); err != nil {
		s.closeDBs()
		return nil, err
	}
	if err := s.ensureSearchIndexes(ctx); err != nil {
		s.closeDBs()
		return nil, err
	}
	if s.sqlite {
		for _, q := range slices.Concat(scanQueries, scanLogQueries) {
			s.stmt(ctx, s.wdb, q, true)
		}
		path, err := walPath(ctx, s)
		if err != nil {
			s.closeDBs()
			return nil, err
		}
		s.wal.path = path
		s.path = strings.TrimSuffix(path, "-wal")
		if err := s.wal.sync(); err != nil { // the migrations
			s.closeDBs()
			return nil, err
		}
		s.writeCh = make(chan *writeReq, 4*maxBatch)
		s.commitEvery.Store(int64(CommitEvery))
		s.writeDone = make(chan struct{})
		s.syncCh = make(chan committed, 64)
		s.syncDone = make(chan struct{})
		go s.syncer()
		go s.groupWriter()
		s.ckStop, s.ckDone = make(chan struct{}), make(chan struct{})
		go s.checkpointer(s.ckdb, s.ckStop, s.ckDone)
	} else {
		s.startPGBatch()
	}
	return s, nil
}

// IsPostgres reports whether dsn names a PostgreSQL database rather than a
// SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Page cache sizes of the SQLite writer (KiB, as PRAGMA cache_size takes
// them when negative): its usual one, and the one of an import. An import
// had 1 GB (its random-key index inserts ran a third faster when the
// indexes fit), but a page of the cache costs about twice its size in
// resident memory (the driver's allocator), and an import of any size must
// stay within 300 MB: its new values now go in in ascending runs.
const (
	writerCache = -65536
	importCache = -65536
)

// SQLiteDSN returns the modernc.org/sqlite DSNs Open uses for a database
// file: the writer's and the readers'. Both set WAL, foreign keys and a busy
// timeout; the writer begins IMMEDIATE transactions and commits with
// synchronous=NORMAL, the store syncing the WAL itself before it answers
// (walsync.go); the readers are query-only.
func SQLiteDSN(path string) (writer, reader string) {
	writer, reader, _ = sqliteDSNs(path)
	return writer, reader
}

// sqliteDSNs returns SQLiteDSN's and the checkpointer's, which checkpoints
// with synchronous=NORMAL: the WAL synced before, the database after.
func sqliteDSNs(path string) (writer, reader, checkpointer string) {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	common := path + sep + "_pragma=busy_timeout(10000)" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)" +
		"&_pragma=temp_store(memory)"
	writer = common + "&_pragma=synchronous(NORMAL)&_pragma=wal_autocheckpoint(0)&_pragma=cache_size(" +
		strconv.Itoa(writerCache) + ")&_txlock=immediate"
	reader = common + "&_pragma=synchronous(FULL)&_pragma=cache_size(-16384)&_query_only=1"
	checkpointer = common + "&_pragma=synchronous(NORMAL)"
	return writer, reader, checkpointer
}

func (s *Store) openSQLite(ctx context.Context, path string) error {
	if path == "" || path == ":memory:" || strings.Contains(path, "mode=memory") {
		return admit.Errorf(admit.EInvalid, "sqlstore: an in-memory SQLite database cannot be shared by the writer and the readers; give a file path")
	}
	s.sqlite = true
	// The database holds the events' private signing keys and the hashes
	// of every credential: a new file is readable by its owner only (SQLite
	// gives its WAL and shared-memory files the same permissions).
	if !strings.ContainsAny(path, "?") && !strings.HasPrefix(path, "file:") {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return admit.Errorf(admit.EInvalid, "sqlstore: cannot open database file %s: %v", path, err)
		}
		// Held open until Close: a shared lock that admit restore sees.
		if err := lockShared(f); err != nil {
			f.Close()
			return err
		}
		s.inUseLock = f
	}
	wdsn, rdsn, cdsn := sqliteDSNs(path)
	var err error
	if s.wdb, err = sql.Open("sqlite", wdsn); err != nil {
		return admit.WrapInternal(err, "open sqlite")
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)
	// The writer connects first: it switches a new file to WAL.
	if err := s.wdb.PingContext(ctx); err != nil {
		return admit.WrapInternal(err, "open sqlite")
	}
	if s.rdb, err = sql.Open("sqlite", rdsn); err != nil {
		return admit.WrapInternal(err, "open sqlite")
	}
	// The checkpointer: synchronous=NORMAL syncs around each checkpoint.
	if s.ckdb, err = sql.Open("sqlite", cdsn); err != nil {
		return admit.WrapInternal(err, "open sqlite")
	}
	s.ckdb.SetMaxOpenConns(1)
	s.ckdb.SetMaxIdleConns(1)
	s.ckdb.SetConnMaxLifetime(0)
	s.ckdb.SetConnMaxIdleTime(0)
	// More readers with smaller caches cost more CPU than the waits for a
	// connection they save (measured: 8 of 8 MB, 152 µs a scan; 4 of 16 MB,
	// 143 µs).
	s.readers = max(4, 2*runtime.GOMAXPROCS(0))
	s.rdb.SetMaxOpenConns(s.readers)
	s.rdb.SetMaxIdleConns(s.readers)
	s.rdb.SetConnMaxLifetime(0)
	s.rdb.SetConnMaxIdleTime(0)
	return nil
}

func (s *Store) openPostgres(ctx context.Context, dsn string) error {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return admit.Errorf(admit.EInvalid, "sqlstore: bad PostgreSQL connection string")
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = max(cfg.MaxConns, pgPoolMin)
	}
	// No JIT compilation: admit's statements are short, and the planner's
	// estimate of a search's lookups in the bucketed trigrams (an array
	// known at run time: a default selectivity) took it past jit_above_cost,
	// 1.1 to 2 s of compiling for a page found in a few milliseconds.
	if _, set := cfg.ConnConfig.RuntimeParams["jit"]; !set {
		cfg.ConnConfig.RuntimeParams["jit"] = "off"
	}
	bcfg := cfg.Copy()
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return admit.WrapInternal(err, "connect to postgres")
	}
	// The group commit's own connections (see pgBatchPlans).
	bcfg.MaxConns, bcfg.MinConns = pgBatchWorkers+1, 0
	for k, v := range map[string]string{"plan_cache_mode": "force_generic_plan", "enable_seqscan": "off"} {
		if _, set := bcfg.ConnConfig.RuntimeParams[k]; !set {
			bcfg.ConnConfig.RuntimeParams[k] = v
		}
	}
	if s.batchPool, err = pgxpool.NewWithConfig(ctx, bcfg); err != nil {
		s.pool.Close()
		return admit.WrapInternal(err, "connect to postgres")
	}
	s.wdb = stdlib.OpenDBFromPool(s.pool)
	s.rdb = s.wdb
	if err := s.wdb.PingContext(ctx); err != nil {
		return admit.WrapInternal(err, "connect to postgres")
	}
	return nil
}

func (s *Store) migrate(ctx context.Context) error {
	p, err := s.migrations(true)
	if err != nil {
		return err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return admit.WrapInternal(err, "apply migrations")
	}
	for _, r := range res {
		s.log.Info("sqlstore: migration applied", "version", r.Source.Version, "path", r.Source.Path, "duration", r.Duration)
	}
	for _, src := range p.ListSources() {
		s.schema = max(s.schema, src.Version)
	}
	return nil
}

// goMigrations are the migrations written in Go, beside the SQL files.
func (s *Store) goMigrations() []*goose.Migration {
	return []*goose.Migration{s.migration8()}
}

// migrations returns the schema's migrations: the SQL files of the
// engine, and those written in Go (tokencode.go). locked: on PostgreSQL,
// under an advisory lock.
func (s *Store) migrations(locked bool) (*goose.Provider, error) {
	dir, dialect := "migrations/postgres", goose.DialectPostgres
	var opts []goose.ProviderOption
	if s.sqlite {
		dir, dialect = "migrations/sqlite", goose.DialectSQLite3
	} else if locked {
		// Several nodes may start at once: one migrates, the others wait on
		// a session-level advisory lock.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 600))
		if err != nil {
			return nil, admit.WrapInternal(err, "migration lock")
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return nil, admit.WrapInternal(err, "migrations")
	}
	opts = append(opts, goose.WithSlog(s.log), goose.WithDisableGlobalRegistry(true),
		goose.WithGoMigrations(s.goMigrations()...))
	p, err := goose.NewProvider(dialect, s.wdb, fsys, opts...)
	if err != nil {
		return nil, admit.WrapInternal(err, "migrations")
	}
	return p, nil
}

// Close stops the live feed, drains the queued scans, stops the writer and
// closes the databases.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closeLive()
		s.closePGBatch()
		if s.writeCh != nil {
			s.writeMu.Lock()
			s.writeClosed = true
			close(s.writeCh)
			s.writeMu.Unlock()
			<-s.writeDone
		}
		if s.ckStop != nil {
			close(s.ckStop)
			<-s.ckDone
		}
		s.closeErr = s.closeDBs()
	})
	return s.closeErr
}

func (s *Store) closeDBs() error {
	s.stmtMu.Lock()
	s.stmts.Range(func(k, st any) bool {
		st.(*sql.Stmt).Close()
		s.stmts.Delete(k)
		return true
	})
	s.stmtMu.Unlock()
	var errs []error
	if s.rdb != nil && s.rdb != s.wdb {
		errs = append(errs, s.rdb.Close())
	}
	if s.ckdb != nil {
		errs = append(errs, s.ckdb.Close())
	}
	if s.wdb != nil {
		errs = append(errs, s.wdb.Close())
	}
	if s.pool != nil {
		s.pool.Close()
	}
	if s.batchPool != nil {
		s.batchPool.Close()
	}
	s.wal.close()
	if s.inUseLock != nil {
		s.inUseLock.Close() // releases the lock
		s.inUseLock = nil
	}
	if err := errors.Join(errs...); err != nil {
		return admit.WrapInternal(err, "close database")
	}
	return nil
}

package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/admitdev/admit"
	"github.com/jackc/pgx/v5/pgconn"
)

// Observer receives the store's measurements (package metrics). Its
// functions run on the write path: they must be quick and never block.
type Observer struct {
	// GroupCommit is told the writes of each durable group commit (SQLite).
	GroupCommit func(writes int)
	// WALSync is told how long each fsync of the WAL took (SQLite).
	WALSync func(time.Duration)
}

// SetObserver sets (nil: removes) the receiver of the store's
// measurements.
func (s *Store) SetObserver(o *Observer) { s.obs.Store(o) }

// Engine names the database engine: "sqlite" or "postgres".
func (s *Store) Engine() string {
	if s.sqlite {
		return "sqlite"
	}
	return "postgres"
}

// SchemaVersion is the newest migration this binary knows (and applied at
// Open).
func (s *Store) SchemaVersion() int64 { return s.schema }

// readyTimeout bounds Ready's query: a database that does not answer
// within it is not ready.
const readyTimeout = 2 * time.Second

// Ready reports whether the store can serve: the database answers, within
// two seconds, and its schema is at this binary's newest migration (an
// older binary on a newer schema is ready too: migrations only add). The
// error says which, without the driver's details (those go to the log).
func (s *Store) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	var v sql.NullInt64
	if err := s.rdb.QueryRowContext(ctx, `SELECT MAX(version_id) FROM goose_db_version WHERE is_applied`).Scan(&v); err != nil {
		s.log.Warn("sqlstore: not ready: the database does not answer", "err", err)
		return admit.Errorf(admit.EInternal, "the database does not answer")
	}
	if v.Int64 < s.schema {
		return admit.Errorf(admit.EInternal, "the database schema is at migration %d, this binary needs %d", v.Int64, s.schema)
	}
	return nil
}

// PoolStats is the PostgreSQL connection pool's state.
type PoolStats struct {
	Acquired, Idle, Constructing, Total, Max int32
	// Since the pool was made: connections acquired, acquisitions that
	// had to wait for one, and their total wait.
	Acquires, EmptyAcquires int64
	AcquireWait             time.Duration
}

// PoolStats returns the PostgreSQL pool's state; false on SQLite.
func (s *Store) PoolStats() (PoolStats, bool) {
	if s.pool == nil {
		return PoolStats{}, false
	}
	st := s.pool.Stat()
	return PoolStats{
		Acquired: st.AcquiredConns(), Idle: st.IdleConns(), Constructing: st.ConstructingConns(),
		Total: st.TotalConns(), Max: st.MaxConns(),
		Acquires: st.AcquireCount(), EmptyAcquires: st.EmptyAcquireCount(), AcquireWait: st.AcquireDuration(),
	}, true
}

// WriteQueue is the number of small writes (scans) waiting for the SQLite
// group commit; 0 on PostgreSQL.
func (s *Store) WriteQueue() int {
	if s.writeCh == nil {
		return 0
	}
	return len(s.writeCh)
}

// Checkpoint writes what the database holds only in memory and in its log
// to its files now. On PostgreSQL it runs CHECKPOINT (a superuser or a
// member of pg_checkpoint; otherwise EForbidden). On SQLite it copies the
// WAL into the database file (walCheckpoint), as the store's checkpointer
// does every 100 ms on its own.
//
// admit bench runs it between its import and the scans it times: after a
// large import PostgreSQL's checkpoint, spread over minutes, would still be
// writing the import's pages while the scans are measured.
func (s *Store) Checkpoint(ctx context.Context) error {
	if s.sqlite {
		return s.dbErr(walCheckpoint(ctx, s.ckdb), "checkpoint")
	}
	_, err := s.pool.Exec(ctx, `CHECKPOINT`)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42501" { // insufficient_privilege
		return &admit.Error{Code: admit.EForbidden, Message: "checkpoint: the database user may not run CHECKPOINT", Err: err}
	}
	return s.dbErr(err, "checkpoint")
}

package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/admitdev/admit"
)

// ---------------------------------------------------------------------------
// Running queries: one SQL text for both engines.

// bound is a query rewritten for the engine, with how to order its
// arguments.
type bound struct {
	q string
	// order gives, for each placeholder of q, the index of its argument;
	// nil when the arguments go as given.
	order []int
	nargs int // the arguments the query text expects ($1..$nargs)
}

// args orders args for the rewritten query. A wrong number of arguments
// goes through unchanged, for the driver to report.
func (b *bound) args(args []any) []any {
	if b.order == nil || len(args) != b.nargs {
		return args
	}
	out := make([]any, len(b.order))
	for i, j := range b.order {
		out[i] = args[j]
	}
	return out
}

// bind returns q rewritten for the engine, cached per query text. SQL is
// written with $N placeholders; on SQLite they become anonymous "?" with
// the arguments reordered (and repeated) to match. Numbered ?NNN would do
// without reordering, but modernc.org/sqlite looks up every parameter's name
// when it binds, in a list as long as the parameters: quadratic in their
// number, a fifth of the CPU of a scan and far worse for a multi-row INSERT.
func (s *Store) bind(q string) *bound {
	if !s.sqlite {
		return &bound{q: q}
	}
	if b, ok := s.rebound.Load(q); ok {
		return b.(*bound)
	}
	b := rebindSQLite(q)
	s.rebound.Store(q, b)
	return b
}

// rebindSQLite turns each $N into ? outside string literals and quoted
// names, and records N.
func rebindSQLite(q string) *bound {
	var sb strings.Builder
	sb.Grow(len(q))
	var order []int
	var quote byte
	inOrder := true
	nargs := 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '$' && i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9':
			n := 0
			for i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9' {
				i++
				n = n*10 + int(q[i]-'0')
			}
			if n != len(order)+1 {
				inOrder = false
			}
			order = append(order, n-1)
			nargs = max(nargs, n)
			c = '?'
		}
		sb.WriteByte(c)
	}
	b := &bound{q: sb.String(), order: order, nargs: nargs}
	if inOrder {
		b.order = nil
	}
	return b
}

// maxStmts bounds the prepared statement cache; queries built from filters
// beyond it run unprepared.
const maxStmts = 1000

// stmt returns a statement prepared on db for q (SQLite), or nil. It
// prepares one only when prepare is set: never inside a transaction of the
// single-connection writer, whose connection the transaction holds.
func (s *Store) stmt(ctx context.Context, db *sql.DB, q string, prepare bool) *sql.Stmt {
	if !s.sqlite {
		// pgx caches prepared statements per connection itself.
		return nil
	}
	k := stmtKey{db, q}
	if st, ok := s.stmts.Load(k); ok {
		return st.(*sql.Stmt)
	}
	if !prepare || s.nstmts.Load() >= maxStmts {
		return nil
	}
	st, err := db.PrepareContext(ctx, s.bind(q).q)
	if err != nil {
		return nil // the unprepared run reports the error
	}
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if old, ok := s.stmts.Load(k); ok {
		st.Close()
		return old.(*sql.Stmt)
	}
	s.stmts.Store(k, st)
	s.nstmts.Add(1)
	return st
}

// dbx runs queries on a *sql.DB or on a transaction of it.
type dbx struct {
	s  *Store
	db *sql.DB
	tx *sql.Tx
	// batch: what the writes of one group commit's transaction share.
	batch *batchMemo
}

// batchMemo is read once per group commit transaction: nothing else
// writes while it runs (SQLite's one writer).
type batchMemo struct {
	ticketsVersion int64 // 0: not read yet
}

func (s *Store) reader() dbx { return dbx{s: s, db: s.rdb} }
func (s *Store) writer() dbx { return dbx{s: s, db: s.wdb} }

func (x dbx) prepared(ctx context.Context, q string) *sql.Stmt {
	st := x.s.stmt(ctx, x.db, q, x.tx == nil)
	if st != nil && x.tx != nil {
		st = x.tx.StmtContext(ctx, st)
	}
	return st
}

func (x dbx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	b := x.s.bind(q)
	args = b.args(args)
	if st := x.prepared(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	if x.tx != nil {
		return x.tx.ExecContext(ctx, b.q, args...)
	}
	return x.db.ExecContext(ctx, b.q, args...)
}

func (x dbx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	b := x.s.bind(q)
	args = b.args(args)
	if st := x.prepared(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	if x.tx != nil {
		return x.tx.QueryContext(ctx, b.q, args...)
	}
	return x.db.QueryContext(ctx, b.q, args...)
}

func (x dbx) row(ctx context.Context, q string, args ...any) *sql.Row {
	b := x.s.bind(q)
	args = b.args(args)
	if st := x.prepared(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	if x.tx != nil {
		return x.tx.QueryRowContext(ctx, b.q, args...)
	}
	return x.db.QueryRowContext(ctx, b.q, args...)
}

// inTx runs fn in a write transaction and commits it if fn succeeds. On
// PostgreSQL a serialization failure or deadlock is retried.
func (s *Store) inTx(ctx context.Context, what string, fn func(x dbx) error) error {
	for attempt := 0; ; attempt++ {
		err := s.tryTx(ctx, what, fn)
		if err != nil && attempt < 4 && s.retryable(err) {
			continue
		}
		return err
	}
}

func (s *Store) tryTx(ctx context.Context, what string, fn func(x dbx) error) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return s.dbErr(err, what)
	}
	if err := fn(dbx{s: s, db: s.wdb, tx: tx}); err != nil {
		tx.Rollback()
		return s.dbErr(err, what)
	}
	if err := tx.Commit(); err != nil {
		return s.dbErr(err, what)
	}
	if s.sqlite {
		return s.syncWAL()
	}
	return nil
}

func (s *Store) retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// ---------------------------------------------------------------------------
// Errors.

// errKind classifies a driver error.
type errKind int

const (
	errOther errKind = iota
	errUnique
	errForeignKey
	errText
)

func classify(err error) errKind {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return errUnique
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return errForeignKey
		}
		return errOther
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return errUnique
		case "23503":
			return errForeignKey
		case "22021", "22P05":
			// character_not_in_repertoire, untranslatable_character: a
			// client's text PostgreSQL cannot hold (a NUL byte).
			return errText
		}
	}
	return errOther
}

// dbErr translates a driver error at the boundary: no rows → ENotFound,
// unique violation → EConflict, a reference to a missing row or text the
// database cannot hold → EInvalid, anything else → EInternal. what names
// the thing, for the message.
func (s *Store) dbErr(err error, what string) error {
	if err == nil {
		return nil
	}
	var ae *admit.Error
	if errors.As(err, &ae) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return admit.Errorf(admit.ENotFound, "%s not found", what)
	}
	switch classify(err) {
	case errUnique:
		return &admit.Error{Code: admit.EConflict, Message: what + ": already exists", Err: err}
	case errForeignKey:
		return &admit.Error{Code: admit.EInvalid, Message: what + ": refers to something that does not exist", Err: err}
	case errText:
		return &admit.Error{Code: admit.EInvalid, Message: what + ": text with a character that cannot be stored (a NUL byte?)", Err: err}
	}
	return admit.WrapInternal(err, what+": database error")
}

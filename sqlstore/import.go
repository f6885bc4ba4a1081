package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/admitdev/admit"
)

// Import applies an import file held in memory, and returns every ticket
// of the file (read back from the database): for small files. A conflict
// with a concurrent transaction is retried.
func (s *Store) Import(ctx context.Context, f *admit.ImportFile, opts admit.ImportOptions) (*admit.ImportResult, error) {
	var sum *admit.ImportSummary
	var ids []int64
	placed := opts.Placed
	opts.Placed = func(c []int64) error {
		ids = append(ids, c...)
		if placed != nil {
			return placed(c)
		}
		return nil
	}
	err := s.withImportCache(ctx, func() error {
		return s.inTx(ctx, "import", func(x dbx) error {
			ids = ids[:0]
			var err error
			sum, err = s.importTx(ctx, x, admit.FileSource(f), opts)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	s.afterImport(ctx, sum)
	res := &admit.ImportResult{Organizer: sum.Organizer, Event: sum.Event, Subevents: sum.Subevents,
		Created: sum.Created, Updated: sum.Updated}
	if res.Tickets, err = s.TicketsByID(ctx, ids); err != nil {
		return nil, err
	}
	return res, nil
}

// ImportStream applies an import read from src as it goes, in one
// transaction (not retried: src is read once). See admit.ImportFile.
//
// It is built for large files in bounded memory: the orders come in chunks
// of about importChunk tickets; each chunk's stored orders and tickets are
// looked up, the new ones written with multi-row INSERTs prepared once per
// import, the stored ones updated only where something changed, and new
// tickets' QR codes signed on the other CPUs while the rows go in. What
// cannot be kept per chunk (which stored orders and tickets the file has
// matched already) is a bit per row id. opts.Sign is therefore called from
// several goroutines at once.
func (s *Store) ImportStream(ctx context.Context, src admit.ImportSource, opts admit.ImportOptions) (*admit.ImportSummary, error) {
	var sum *admit.ImportSummary
	err := s.withImportCache(ctx, func() error {
		return s.tryTx(ctx, "import", func(x dbx) error {
			var err error
			sum, err = s.importTx(ctx, x, src, opts)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	s.afterImport(ctx, sum)
	return sum, nil
}

// afterImport merges the search index's segments after a large import
// (mergeSearchIndex) on SQLite; on PostgreSQL it vacuums the tickets, so
// that the search walk reads its index alone (migration 00017: an index
// entry whose table page is not marked all-visible is checked in the
// table, 20 µs and more a ticket, until autovacuum comes by). The import is
// recorded: a merge or vacuum that fails leaves things as they were, as
// good for the answers, and is logged, not returned.
func (s *Store) afterImport(ctx context.Context, sum *admit.ImportSummary) {
	if int64(sum.Created+sum.Updated) < searchMergeFloor.Load() {
		return
	}
	t0 := time.Now()
	what := "merging the search index"
	var done bool
	var err error
	if s.sqlite {
		done, err = s.mergeSearchIndex(ctx)
	} else {
		what = "vacuuming the tickets"
		_, err = s.wdb.ExecContext(ctx, `VACUUM tickets`)
		done = err == nil
	}
	switch {
	case err != nil && ctx.Err() != nil: // the caller went away: it stops where it was
		s.log.Info("sqlstore: "+what+" after an import: stopped", "err", ctx.Err())
	case err != nil:
		s.log.Warn("sqlstore: "+what+" after an import", "err", err)
	case done:
		s.log.Info("sqlstore: "+what+" after an import: done", "tickets", sum.Created+sum.Updated, "seconds", time.Since(t0).Seconds())
	}
}

// withImportCache runs fn with the SQLite writer's import cache (the
// writer is one connection: the pragmas apply to the import's
// transaction).
func (s *Store) withImportCache(ctx context.Context, fn func() error) error {
	if s.sqlite {
		// Temporary data (the sort of the new search rows, the notes of
		// the changed ones) goes to a file, as large as the import; the
		// writer's usual setting keeps it in memory.
		for _, q := range []string{`PRAGMA cache_size = ` + strconv.Itoa(importCache), `PRAGMA temp_store = FILE`} {
			if _, err := s.wdb.ExecContext(ctx, q); err != nil {
				return s.dbErr(err, "import")
			}
		}
		defer func() {
			for _, q := range []string{`PRAGMA cache_size = ` + strconv.Itoa(writerCache), `PRAGMA temp_store = MEMORY`} {
				s.wdb.ExecContext(context.Background(), q)
			}
		}()
	}
	return fn()
}

func (s *Store) importTx(ctx context.Context, x dbx, src admit.ImportSource, opts admit.ImportOptions) (*admit.ImportSummary, error) {
	at := opts.Now
	if at.IsZero() {
		at = time.Now()
	}
	im := &importer{s: s, x: x, src: src, h: src.Header(), opts: opts, now: at.UTC().Truncate(time.Microsecond)}
	defer im.close()
	sum, err := im.run(ctx)
	if err != nil {
		return nil, err
	}
	// Caches of events and lists (every node's) start afresh at commit.
	return sum, bumpCatalog(ctx, x)
}

// importChunk is about how many tickets an import handles at a time.
const importChunk = 4096

type importer struct {
	s    *Store
	x    dbx
	src  admit.ImportSource
	h    *admit.ImportFile // the file's header
	opts admit.ImportOptions
	now  time.Time

	org *admit.Organizer
	ev  *admit.Event

	subevents map[string]*admit.Subevent
	sections  map[string]*admit.Section
	products  map[string]*importProduct
	added     int // products and sections an open catalog (CSV) created

	stmts     []*sql.Stmt
	named     map[string]*stmt // statements prepared once, by name
	analyzed  bool             // the planner's statistics changed
	syncMaxID int64            // the highest ticket id before the import (search.go)
	existingN int              // the event's tickets before the import

	// seenOrders are the orders the file has named so far, touched the
	// tickets it has matched or created: a second time is a duplicate.
	seenOrders, touched idSet
	pools               map[string]*pool // new values drawn ahead, ascending
	orderIns, ticketIns *batchInsert

	orders, tickets, created, updated int
	readTime                          time.Duration

	areas []area        // the file's lists and sections, with their capacities
	moved []sectionMove // stored tickets whose section changed
}

// stmt is a statement prepared for the import's duration.
type stmt struct {
	st *sql.Stmt
	b  *bound
}

func (p *stmt) exec(ctx context.Context, args ...any) (sql.Result, error) {
	return p.st.ExecContext(ctx, p.b.args(args)...)
}

func (p *stmt) query(ctx context.Context, args ...any) (*sql.Rows, error) {
	return p.st.QueryContext(ctx, p.b.args(args)...)
}

type importProduct struct {
	*admit.Product
	variations map[string]int64
}

func (im *importer) close() {
	for _, st := range im.stmts {
		st.Close()
	}
}

// prepare prepares q in the import's transaction, for the import's duration.
func (im *importer) prepare(ctx context.Context, q string) (*stmt, error) {
	b := im.s.bind(q)
	st, err := im.x.tx.PrepareContext(ctx, b.q)
	if err != nil {
		return nil, err
	}
	im.stmts = append(im.stmts, st)
	return &stmt{st, b}, nil
}

// prepared prepares q once per import, under name.
func (im *importer) prepared(ctx context.Context, name, q string) (*stmt, error) {
	if st := im.named[name]; st != nil {
		return st, nil
	}
	st, err := im.prepare(ctx, q)
	if err != nil {
		return nil, err
	}
	if im.named == nil {
		im.named = map[string]*stmt{}
	}
	im.named[name] = st
	return st, nil
}

func (im *importer) run(ctx context.Context) (*admit.ImportSummary, error) {
	steps := []func(context.Context) error{im.syncBegin, im.organizer, im.event, im.subeventsStep, im.sectionsStep, im.productsStep}
	if im.h.Existing {
		steps = []func(context.Context) error{im.syncBegin, im.existingEvent, im.loadCatalog}
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	if err := im.x.row(ctx, `SELECT COUNT(*) FROM tickets WHERE event_id = $1`, im.ev.ID).Scan(&im.existingN); err != nil {
		return nil, err
	}
	if err := im.ordersLoop(ctx); err != nil {
		return nil, err
	}
	if !im.h.Existing {
		if err := im.listsStep(ctx); err != nil {
			return nil, err
		}
	}
	if err := im.analyze(ctx); err != nil {
		return nil, err
	}
	if err := im.areasStep(ctx); err != nil {
		return nil, err
	}
	if err := im.syncEnd(ctx); err != nil {
		return nil, err
	}
	sum := &admit.ImportSummary{Organizer: im.org, Event: im.ev, Orders: im.orders, Tickets: im.tickets,
		Created: im.created, Updated: im.updated, ReadTime: im.readTime}
	if im.h.Existing {
		for _, se := range im.subevents {
			sum.Subevents = append(sum.Subevents, se)
		}
		slices.SortFunc(sum.Subevents, func(a, b *admit.Subevent) int { return int(a.ID - b.ID) })
	} else {
		for _, se := range im.h.Subevents {
			sum.Subevents = append(sum.Subevents, im.subevents[se.Name])
		}
	}
	return sum, nil
}

// ordersLoop reads the file's orders a chunk at a time and writes each.
func (im *importer) ordersLoop(ctx context.Context) error {
	var chunk []*admit.ImportOrder
	n := 0
	for {
		t0 := time.Now()
		o, err := im.src.Next()
		im.readTime += time.Since(t0)
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if o != nil {
			chunk = append(chunk, o)
			n += len(o.Tickets)
			for i := range o.Tickets {
				n += len(o.Tickets[i].Addons)
			}
		}
		if (o == nil && len(chunk) > 0) || n >= importChunk {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := im.writeChunk(ctx, chunk); err != nil {
				return err
			}
			clear(chunk)
			chunk, n = chunk[:0], 0
		}
		if o == nil {
			return nil
		}
	}
}

// batchInsert inserts rows (ncol values each) with multi-row INSERTs of up
// to size rows, prepared once; each returned row goes to scan.
type batchInsert struct {
	im      *importer
	head    string // INSERT INTO t (cols) VALUES
	tail    string // RETURNING ...
	ncol    int
	size    int
	full    *stmt
	args    []any
	pending int
	scan    func(rows *sql.Rows) error
}

func (b *batchInsert) query(n int) string {
	var sb strings.Builder
	head := b.head
	if b.im.s.sqlite {
		// A failing row fails the import: rolling back the transaction at
		// once (and the SQLite schema's deferred foreign keys on orders and
		// tickets) spares SQLite a statement journal of every page the batch
		// touches, a quarter of the time of a large import.
		head = strings.Replace(head, "INSERT INTO", "INSERT OR ROLLBACK INTO", 1)
	}
	sb.WriteString(head)
	p := 1
	for i := range n {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteByte('(')
		for j := range b.ncol {
			if j > 0 {
				sb.WriteString(", ")
			}
			sb.WriteByte('$')
			sb.WriteString(strconv.Itoa(p))
			p++
		}
		sb.WriteByte(')')
	}
	sb.WriteString(b.tail)
	return sb.String()
}

func (b *batchInsert) add(ctx context.Context, vals ...any) error {
	b.args = append(b.args, vals...)
	b.pending++
	if b.pending == b.size {
		return b.flush(ctx)
	}
	return nil
}

func (b *batchInsert) flush(ctx context.Context) error {
	if b.pending == 0 {
		return nil
	}
	var st *stmt
	var err error
	if b.pending == b.size {
		if b.full == nil {
			if b.full, err = b.im.prepare(ctx, b.query(b.size)); err != nil {
				return err
			}
		}
		st = b.full
	} else {
		// A last, shorter batch: its statement is closed at once (one per
		// chunk would otherwise stay until the import's end).
		q := b.im.s.bind(b.query(b.pending))
		raw, err := b.im.x.tx.PrepareContext(ctx, q.q)
		if err != nil {
			return err
		}
		defer raw.Close()
		st = &stmt{raw, q}
	}
	rows, err := st.query(ctx, b.args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		if err := b.scan(rows); err != nil {
			rows.Close()
			return err
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	clear(b.args)
	b.args, b.pending = b.args[:0], 0
	return nil
}

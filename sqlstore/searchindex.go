// Keeping the search indexes: an import's ticket_search rows (SQLite), the
// trigram indexes' pending lists (PostgreSQL), and creating the trigram
// indexes where the migration could not.

package sqlstore

import (
	"context"
	"database/sql"
	"io/fs"
	"math"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/admitdev/admit"
)

// The ticket_search columns of ticket t with its order o (LEFT JOIN), each
// ending with two U+0001 (migration 00004).
const searchColumns = `t.first_name || ' ' || t.last_name || char(1, 1),
	CASE WHEN o.email IS NULL OR o.email = t.email THEN t.email ELSE t.email || ' ' || o.email END || char(1, 1),
	t.price || char(1, 1)`

// An import (SQLite) writes the ticket_search rows of its tickets itself,
// in rowid order (see migrations 00003 and 00004): syncBegin defers the
// triggers for its transaction and notes the highest ticket id; syncOrder and
// syncTicket note the rows to rewrite, before their order's email or the
// ticket's searched fields change; syncEnd rewrites them and writes the new
// tickets' rows.
func (im *importer) syncBegin(ctx context.Context) error {
	x := im.x
	if err := x.row(ctx, `SELECT COALESCE(MAX(id), 0) FROM tickets`).Scan(&im.syncMaxID); err != nil {
		return err
	}
	if !im.s.sqlite {
		// The GIN indexes' new entries (the trigrams, the pairs, the
		// bucketed trigrams of migration 00018: 50 to 100 a ticket) wait
		// in each index's pending list, merged into the index each time it
		// is full, sorted in work_mem: 4 MB each by default, so that an
		// import of 1,000,000 tickets merged hundreds of times into the
		// whole index (469 s against 252 without the bucketed trigrams).
		// Larger for the import's transaction; searches meanwhile read
		// the lists whole (cleanPendingTrigrams empties them at its end).
		for _, q := range []string{`SET LOCAL gin_pending_list_limit = '64MB'`, `SET LOCAL work_mem = '64MB'`} {
			if _, err := x.exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	}
	for _, q := range []string{
		`UPDATE search_sync SET deferred = 1`,
		`CREATE TEMP TABLE IF NOT EXISTS search_dirty (id INTEGER PRIMARY KEY, skey INTEGER NOT NULL)`,
		`DELETE FROM temp.search_dirty`,
	} {
		if _, err := x.exec(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// syncOrder notes the tickets of an order whose email is about to change.
func (im *importer) syncOrder(ctx context.Context, orderID int64) error {
	return im.syncDirty(ctx, "t.order_id", orderID)
}

// syncTicket notes a ticket whose searched fields are about to change.
func (im *importer) syncTicket(ctx context.Context, id int64) error {
	return im.syncDirty(ctx, "t.id", id)
}

// syncDirty notes the tickets whose column col is v (SQLite: their rows of
// the search index are written again at the end of the import).
func (im *importer) syncDirty(ctx context.Context, col string, v int64) error {
	if !im.s.sqlite {
		return nil
	}
	_, err := im.x.exec(ctx, `INSERT OR IGNORE INTO temp.search_dirty (id, skey) SELECT t.id, `+skeyOf("t")+`
		FROM tickets t WHERE `+col+` = $1`, v)
	return err
}

// searchRun is how many search rows an import writes at a time.
const searchRun = 20000

func (im *importer) syncEnd(ctx context.Context) error {
	if !im.s.sqlite {
		return im.cleanPendingTrigrams(ctx)
	}
	x := im.x
	if _, err := x.exec(ctx, `DELETE FROM ticket_search WHERE rowid IN (SELECT skey FROM temp.search_dirty)`); err != nil {
		return err
	}
	// The rows go into the index in rowid order, a run at a time: first
	// into a temporary table keyed by rowid (a file, as the import's
	// temporary data: see withImportCache), then from there in runs of
	// searchRun rows. One INSERT ... SELECT ... ORDER BY of them all held
	// memory in proportion to the import (a tenth of a kilobyte a ticket).
	for _, q := range []string{
		`CREATE TEMP TABLE IF NOT EXISTS search_new (skey INTEGER PRIMARY KEY, name TEXT, email TEXT, price TEXT)`,
		`DELETE FROM temp.search_new`,
	} {
		if _, err := x.exec(ctx, q); err != nil {
			return err
		}
	}
	if _, err := x.exec(ctx, `INSERT INTO temp.search_new (skey, name, email, price)
		SELECT `+skeyOf("t")+`, `+searchColumns+` FROM tickets t LEFT JOIN orders o ON o.id = t.order_id
		WHERE t.id > $1 OR t.id IN (SELECT id FROM temp.search_dirty)`, im.syncMaxID); err != nil {
		return err
	}
	lo := int64(math.MinInt64)
	for {
		var hi int64
		err := x.row(ctx, `SELECT skey FROM temp.search_new WHERE skey > $1 ORDER BY skey LIMIT 1 OFFSET `+strconv.Itoa(searchRun-1), lo).Scan(&hi)
		last := err == sql.ErrNoRows
		if err != nil && !last {
			return err
		}
		if last {
			hi = math.MaxInt64
		}
		if _, err := x.exec(ctx, `INSERT INTO ticket_search (rowid, name, email, price)
			SELECT skey, name, email, price FROM temp.search_new WHERE skey > $1 AND skey <= $2 ORDER BY skey`, lo, hi); err != nil {
			return err
		}
		if last {
			break
		}
		lo = hi
	}
	if _, err := x.exec(ctx, `DELETE FROM temp.search_new`); err != nil {
		return err
	}
	for _, q := range []string{`DELETE FROM temp.search_dirty`, `UPDATE search_sync SET deferred = 0`} {
		if _, err := x.exec(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// searchMergeFloor is the number of tickets an import creates or updates
// from which mergeSearchIndex follows it (SQLite), and searchMergeSegments
// the number of segments from which it merges them; the tests change them.
var searchMergeFloor, searchMergeSegments atomic.Int64

func init() {
	searchMergeFloor.Store(10000)
	searchMergeSegments.Store(4)
}

// searchMergePages bounds the pages of the search index one transaction of
// mergeSearchIndex writes (4 KiB each): short transactions, between which
// scans are recorded.
const searchMergePages = 500

// mergeSearchIndex merges the segments of the SQLite search index
// (ticket_search, FTS5) into one, as its 'optimize' does, but a few hundred
// pages per transaction (FTS5's 'merge' with a negative count), until a
// merge has nothing left to do; merged reports whether it did (SQLite
// only). An import writes its rows in runs (searchRun), each run new
// segments, and every lookup of a term seeks in each segment: over
// 1,000,000 tickets, merged, a full name's page took half the time (p99
// 13 -> 6 ms). It runs after imports of searchMergeFloor tickets or more,
// and merges only an index of searchMergeSegments segments or more: each
// merge rewrites the whole index (about 4 s of the writer's time over
// 1,000,000 tickets, between scans), and an import of a few thousand
// tickets into a merged index adds one segment; smaller imports add few,
// which FTS5's automerge folds in.
func (s *Store) mergeSearchIndex(ctx context.Context) (merged bool, err error) {
	var segments int64
	if err := s.reader().row(ctx, `SELECT COUNT(DISTINCT segid) FROM ticket_search_idx`).Scan(&segments); err != nil {
		return false, s.dbErr(err, "search index")
	}
	if segments < searchMergeSegments.Load() {
		return false, nil
	}
	for {
		var before, after int64
		err := s.inTx(ctx, "search index", func(x dbx) error {
			if err := x.row(ctx, `SELECT total_changes()`).Scan(&before); err != nil {
				return err
			}
			if _, err := x.exec(ctx, `INSERT INTO ticket_search (ticket_search, rank) VALUES ('merge', $1)`, -searchMergePages); err != nil {
				return err
			}
			return x.row(ctx, `SELECT total_changes()`).Scan(&after)
		})
		if err != nil {
			return false, err
		}
		// The command itself counts one change: one or none, no work.
		if after-before <= 1 {
			return true, nil
		}
	}
}

// cleanPendingTrigrams moves the entries an import of many tickets left in
// the trigram indexes' (and pair indexes', migrations 00014 and 00019, and
// bucketed trigrams', migration 00018) pending lists (PostgreSQL's GIN
// "fastupdate": up to 4 MB each, until the next vacuum) into the indexes
// themselves: every search reads the whole of those lists (a
// 1,000,000-ticket import left 10 ms on every search).
func (im *importer) cleanPendingTrigrams(ctx context.Context) error {
	if im.created < 1000 {
		return nil
	}
	_, err := im.x.exec(ctx, `SELECT gin_clean_pending_list(c.oid) FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind = 'i' AND pg_has_role(c.relowner, 'MEMBER')
			AND c.relname IN ('tickets_search_name', 'tickets_search_email', 'tickets_search_price', 'orders_search_email',
				'tickets_pair_grams', 'orders_email_pairs', 'tickets_search_grams')`)
	return err
}

// searchIndexes are the indexes that need pg_trgm (migrations 00003 and
// 00018), and searchIndexMigrations the migrations that make them.
var (
	searchIndexes = []string{"tickets_search_name", "tickets_search_email", "tickets_search_price", "orders_search_email",
		"tickets_search_grams"}
	searchIndexMigrations = []string{"00003_search.sql", "00018_search_grams.sql"}
)

// ensureSearchIndexes creates the trigram indexes of migrations 00003 and
// 00018 where those migrations could not (PostgreSQL without pg_trgm then),
// once the extension can be created; otherwise it logs that search reads
// every ticket. It notes whether the bucketed trigrams of 00018 can be
// looked up (searchGrams).
func (s *Store) ensureSearchIndexes(ctx context.Context) error {
	if s.sqlite {
		return nil
	}
	count := func() (int, error) {
		var n int
		err := s.wdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema()
			AND indexname = ANY ($1)`, searchIndexes).Scan(&n)
		if err != nil {
			return 0, admit.WrapInternal(err, "search indexes")
		}
		return n, nil
	}
	n, err := count()
	if err != nil {
		return err
	}
	if n < len(searchIndexes) {
		err = s.inTx(ctx, "search indexes", func(x dbx) error {
			// One node at a time.
			if _, err := x.tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7150452301)`); err != nil {
				return err
			}
			for _, name := range searchIndexMigrations {
				block, err := searchIndexBlock(name)
				if err != nil {
					return err
				}
				if _, err := x.tx.ExecContext(ctx, block); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if n, err = count(); err != nil {
			return err
		}
		if n == len(searchIndexes) {
			s.log.Info("sqlstore: ticket search indexes created (pg_trgm)")
		}
	}
	if n < len(searchIndexes) {
		s.log.Warn("sqlstore: the pg_trgm extension cannot be created in this database: ticket search reads every ticket of the event; " +
			"have it created (CREATE EXTENSION pg_trgm, by a user allowed to) and restart to index it")
	}
	s.searchGrams = n == len(searchIndexes)
	return nil
}

// searchIndexBlock returns the DO block of a migration that creates
// indexes that need pg_trgm (searchIndexMigrations).
func searchIndexBlock(name string) (string, error) {
	b, err := fs.ReadFile(migrations, "migrations/postgres/"+name)
	if err != nil {
		return "", admit.WrapInternal(err, "search indexes")
	}
	text := string(b)
	const begin, end = "-- +goose StatementBegin\n", "-- +goose StatementEnd"
	i, j := strings.Index(text, begin), strings.Index(text, end)
	if i < 0 || j < i {
		return "", admit.Errorf(admit.EInternal, "sqlstore: migration %s has no statement block", name)
	}
	return text[i+len(begin) : j], nil
}

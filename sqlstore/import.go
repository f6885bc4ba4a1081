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
	return sum, nil
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

// existingEvent takes the event a CSV file goes into, and its row lock
// (PostgreSQL): imports of one event run one after the other.
func (im *importer) existingEvent(ctx context.Context) error {
	ev, err := scanEvent(im.x.row(ctx, `UPDATE events SET name = name WHERE id = $1 RETURNING `+eventCols, im.h.Event.ID))
	if err == sql.ErrNoRows {
		return admit.Errorf(admit.ENotFound, "unknown event")
	}
	if err != nil {
		return err
	}
	im.ev = ev
	im.org, err = scanOrganizer(im.x.row(ctx, `SELECT `+organizerCols+` FROM organizers WHERE id = $1`, ev.OrganizerID))
	return err
}

// loadCatalog reads the existing event's subevents, sections and products.
func (im *importer) loadCatalog(ctx context.Context) error {
	im.subevents, im.sections, im.products = map[string]*admit.Subevent{}, map[string]*admit.Section{}, map[string]*importProduct{}
	rows, err := im.x.query(ctx, `SELECT `+subeventCols+` FROM subevents WHERE event_id = $1`, im.ev.ID)
	if err != nil {
		return err
	}
	for rows.Next() {
		se, err := scanSubevent(rows)
		if err != nil {
			rows.Close()
			return err
		}
		im.subevents[se.Name] = se
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = im.x.query(ctx, `SELECT id, name, description, position FROM sections WHERE event_id = $1`, im.ev.ID)
	if err != nil {
		return err
	}
	for rows.Next() {
		sec := &admit.Section{EventID: im.ev.ID}
		if err := rows.Scan(&sec.ID, &sec.Name, &sec.Description, &sec.Position); err != nil {
			rows.Close()
			return err
		}
		im.sections[sec.Name] = sec
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = im.x.query(ctx, `SELECT id, name, admission, position FROM products WHERE event_id = $1`, im.ev.ID)
	if err != nil {
		return err
	}
	for rows.Next() {
		p := &importProduct{Product: &admit.Product{EventID: im.ev.ID}, variations: map[string]int64{}}
		if err := rows.Scan(&p.ID, &p.Name, &p.Admission, &p.Position); err != nil {
			rows.Close()
			return err
		}
		im.products[p.Name] = p
	}
	rows.Close()
	return rows.Err()
}

// maxAdded bounds the products and sections one CSV file may create.
const maxAdded = 1000

// catalogOf resolves a ticket's product, section and subevent by name; in
// an existing event (CSV) it creates an absent product (an admission
// product) or section, after the others.
func (im *importer) catalogOf(ctx context.Context, ft *admit.ImportTicket) (*importProduct, *admit.Section, *admit.Subevent, error) {
	p := im.products[ft.Product]
	if p == nil {
		if !im.h.Existing {
			return nil, nil, nil, admit.Errorf(admit.EInvalid, "%s: unknown product %q", ft.Where.Field("product"), ft.Product)
		}
		if im.added++; im.added > maxAdded {
			return nil, nil, nil, admit.Errorf(admit.EInvalid, "%s: the file names more than %d new products and sections", ft.Where.Field("product"), maxAdded)
		}
		p = &importProduct{Product: &admit.Product{EventID: im.ev.ID, Name: ft.Product, Admission: true, Position: len(im.products)},
			variations: map[string]int64{}}
		if err := im.x.row(ctx, `INSERT INTO products (event_id, name, admission, position) VALUES ($1, $2, true,
			(SELECT COALESCE(MAX(position) + 1, 0) FROM products WHERE event_id = $1)) RETURNING id, position`,
			im.ev.ID, ft.Product).Scan(&p.ID, &p.Position); err != nil {
			return nil, nil, nil, err
		}
		im.products[p.Name] = p
	}
	var sec *admit.Section
	if ft.Section != "" {
		if sec = im.sections[ft.Section]; sec == nil {
			if !im.h.Existing {
				return nil, nil, nil, admit.Errorf(admit.EInvalid, "%s: unknown section %q", ft.Where.Field("section"), ft.Section)
			}
			if im.added++; im.added > maxAdded {
				return nil, nil, nil, admit.Errorf(admit.EInvalid, "%s: the file names more than %d new products and sections", ft.Where.Field("section"), maxAdded)
			}
			sec = &admit.Section{EventID: im.ev.ID, Name: ft.Section}
			if err := im.x.row(ctx, `INSERT INTO sections (event_id, name, description, position) VALUES ($1, $2, '',
				(SELECT COALESCE(MAX(position) + 1, 0) FROM sections WHERE event_id = $1)) RETURNING id, position`,
				im.ev.ID, ft.Section).Scan(&sec.ID, &sec.Position); err != nil {
				return nil, nil, nil, err
			}
			im.sections[sec.Name] = sec
		}
	}
	var se *admit.Subevent
	if ft.Subevent != "" {
		if se = im.subevents[ft.Subevent]; se == nil {
			return nil, nil, nil, admit.Errorf(admit.EInvalid, "%s: unknown subevent %q", ft.Where.Field("subevent"), ft.Subevent)
		}
	}
	return p, sec, se, nil
}

func (im *importer) organizer(ctx context.Context) error {
	o := im.h.Organizer
	var err error
	// An organizer block without a name or domain keeps the stored ones.
	im.org, err = scanOrganizer(im.x.row(ctx, `INSERT INTO organizers (slug, name, domain)
		VALUES ($1, COALESCE(NULLIF($2, ''), $1), $3)
		ON CONFLICT (slug) DO UPDATE SET name = COALESCE(NULLIF($2, ''), organizers.name),
			domain = COALESCE(NULLIF($3, ''), organizers.domain)
		RETURNING `+organizerCols, o.Slug, o.Name, o.Domain))
	return err
}

func (im *importer) event(ctx context.Context) error {
	s, x, fe := im.s, im.x, &im.h.Event
	// The UPDATE takes the event's row lock (PostgreSQL): imports of one
	// event run one after the other.
	update := func() (*admit.Event, error) {
		ev, err := scanEvent(x.row(ctx, `UPDATE events SET name = $3, date_from = $4, date_to = $5, timezone = $6
			WHERE organizer_id = $1 AND slug = $2 RETURNING `+eventCols,
			im.org.ID, fe.Slug, fe.Name, s.tsz(fe.From), s.tsz(fe.To), fe.Timezone))
		if err == sql.ErrNoRows {
			return nil, nil
		}
		return ev, err
	}
	ev, err := update()
	if err != nil {
		return err
	}
	if ev == nil {
		var signing, pub, priv string
		switch {
		case fe.PublicKeyPEM != nil:
			signing, pub = fe.Signing, *fe.PublicKeyPEM
		case im.opts.NewKeys != nil:
			signing, pub, priv = im.opts.NewKeys.Signing, im.opts.NewKeys.PublicKeyPEM, im.opts.NewKeys.PrivateKeyPEM
			if signing == "" {
				signing = fe.Signing
			}
		default:
			return admit.Errorf(admit.EInvalid, "event.public_key_pem: the import creates event %q: it needs a public key or a new key pair", fe.Slug)
		}
		ev, err = scanEvent(x.row(ctx, `INSERT INTO events (uuid, organizer_id, slug, name, date_from, date_to, timezone,
			signing, public_key_pem, private_key_pem, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT (organizer_id, slug) DO NOTHING RETURNING `+eventCols,
			admit.NewUUID(), im.org.ID, fe.Slug, fe.Name, s.tsz(fe.From), s.tsz(fe.To), fe.Timezone,
			signing, pub, priv, s.ts(im.now)))
		if err == sql.ErrNoRows {
			// Created meanwhile by a concurrent import.
			ev, err = update()
		}
		if err != nil {
			return err
		}
	} else if fe.PublicKeyPEM != nil && ev.PrivateKeyPEM == "" && *fe.PublicKeyPEM != ev.PublicKeyPEM {
		// A verify-only event takes the issuer's new key; a signing event
		// keeps its own pair.
		ev, err = scanEvent(x.row(ctx, `UPDATE events SET public_key_pem = $2, signing = $3 WHERE id = $1 RETURNING `+eventCols,
			ev.ID, *fe.PublicKeyPEM, fe.Signing))
		if err != nil {
			return err
		}
	}
	im.ev = ev
	return nil
}

func (im *importer) subeventsStep(ctx context.Context) error {
	im.subevents = map[string]*admit.Subevent{}
	for _, fs := range im.h.Subevents {
		se, err := scanSubevent(im.x.row(ctx, `INSERT INTO subevents (event_id, name, date_from, date_to) VALUES ($1, $2, $3, $4)
			ON CONFLICT (event_id, name) DO UPDATE SET date_from = excluded.date_from, date_to = excluded.date_to
			RETURNING `+subeventCols, im.ev.ID, fs.Name, im.s.tsz(fs.From), im.s.tsz(fs.To)))
		if err != nil {
			return err
		}
		im.subevents[se.Name] = se
	}
	return nil
}

func (im *importer) sectionsStep(ctx context.Context) error {
	im.sections = map[string]*admit.Section{}
	for i, fs := range im.h.Sections {
		sec := &admit.Section{EventID: im.ev.ID, Name: fs.Name, Description: fs.Description, Position: i}
		sec.Capacity = fs.Capacity
		if err := im.x.row(ctx, `INSERT INTO sections (event_id, name, description, position, capacity) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (event_id, name) DO UPDATE SET description = excluded.description, position = excluded.position,
				capacity = excluded.capacity
			RETURNING id`, im.ev.ID, fs.Name, fs.Description, i, optArg(fs.Capacity)).Scan(&sec.ID); err != nil {
			return err
		}
		im.sections[sec.Name] = sec
		im.areas = append(im.areas, area{kind: areaSection, id: sec.ID, capacity: fs.Capacity})
	}
	return nil
}

func (im *importer) productsStep(ctx context.Context) error {
	im.products = map[string]*importProduct{}
	for i, fp := range im.h.Products {
		p := &importProduct{Product: &admit.Product{EventID: im.ev.ID, Name: fp.Name, Admission: *fp.Admission, Position: i},
			variations: map[string]int64{}}
		if err := im.x.row(ctx, `INSERT INTO products (event_id, name, admission, position) VALUES ($1, $2, $3, $4)
			ON CONFLICT (event_id, name) DO UPDATE SET admission = excluded.admission, position = excluded.position
			RETURNING id`, im.ev.ID, fp.Name, p.Admission, i).Scan(&p.ID); err != nil {
			return err
		}
		for j, v := range fp.Variations {
			var id int64
			if err := im.x.row(ctx, `INSERT INTO variations (product_id, name, position) VALUES ($1, $2, $3)
				ON CONFLICT (product_id, name) DO UPDATE SET position = excluded.position RETURNING id`,
				p.ID, v, j).Scan(&id); err != nil {
				return err
			}
			p.variations[v] = id
			p.Variations = append(p.Variations, admit.Variation{ID: id, ProductID: p.ID, Name: v, Position: j})
		}
		im.products[p.Name] = p
	}
	return nil
}

// listsStep upserts the lists by name and sets the default: the list marked
// default, else the file's first. A file without lists leaves the event's
// lists alone, and gives an event that has none an implicit "Default" list
// that admits every product and section, and no pending order.
func (im *importer) listsStep(ctx context.Context) error {
	x, evID := im.x, im.ev.ID
	if len(im.h.Lists) == 0 {
		var n, defaults int
		if err := x.row(ctx, `SELECT COUNT(*), COUNT(CASE WHEN is_default THEN 1 END) FROM checkin_lists WHERE event_id = $1`,
			evID).Scan(&n, &defaults); err != nil {
			return err
		}
		switch {
		case n == 0:
			_, err := x.exec(ctx, `INSERT INTO checkin_lists (uuid, event_id, name, allow_multiple_entries, allow_entry_after_exit,
				include_pending, is_default, position) VALUES ($2, $1, 'Default', false, true, false, true, 0)`, evID, admit.NewUUID())
			return err
		case defaults == 0:
			_, err := x.exec(ctx, `UPDATE checkin_lists SET is_default = true WHERE id =
				(SELECT id FROM checkin_lists WHERE event_id = $1 ORDER BY position, id LIMIT 1)`, evID)
			return err
		}
		return nil
	}
	var defaultID int64
	for i, fl := range im.h.Lists {
		var id int64
		var sub any
		if fl.Subevent != "" {
			sub = im.subevents[fl.Subevent].ID
		}
		// A new list gets a uuid; a stored one keeps its own.
		if err := x.row(ctx, `INSERT INTO checkin_lists (event_id, name, subevent_id, allow_multiple_entries,
			allow_entry_after_exit, include_pending, is_default, position, uuid, capacity)
			VALUES ($1, $2, $3, $4, $5, $6, false, $7, $8, $9)
			ON CONFLICT (event_id, name) DO UPDATE SET subevent_id = excluded.subevent_id,
				allow_multiple_entries = excluded.allow_multiple_entries, allow_entry_after_exit = excluded.allow_entry_after_exit,
				include_pending = excluded.include_pending, position = excluded.position, capacity = excluded.capacity
			RETURNING id`, evID, fl.Name, sub, fl.AllowMultipleEntries, *fl.AllowEntryAfterExit, fl.IncludePending, i,
			admit.NewUUID(), optArg(fl.Capacity)).Scan(&id); err != nil {
			return err
		}
		im.areas = append(im.areas, area{kind: areaList, id: id, capacity: fl.Capacity})
		if i == 0 || fl.Default {
			defaultID = id
		}
		if _, err := x.exec(ctx, `DELETE FROM list_products WHERE list_id = $1`, id); err != nil {
			return err
		}
		for _, name := range fl.Products {
			if _, err := x.exec(ctx, `INSERT INTO list_products (list_id, product_id) VALUES ($1, $2)`, id, im.products[name].ID); err != nil {
				return err
			}
		}
		if _, err := x.exec(ctx, `DELETE FROM list_sections WHERE list_id = $1`, id); err != nil {
			return err
		}
		for _, name := range fl.Sections {
			if _, err := x.exec(ctx, `INSERT INTO list_sections (list_id, section_id) VALUES ($1, $2)`, id, im.sections[name].ID); err != nil {
				return err
			}
		}
	}
	// Two statements: the partial unique index allows one default per event.
	if _, err := x.exec(ctx, `UPDATE checkin_lists SET is_default = false WHERE event_id = $1 AND is_default AND id <> $2`, evID, defaultID); err != nil {
		return err
	}
	_, err := x.exec(ctx, `UPDATE checkin_lists SET is_default = true WHERE id = $1 AND NOT is_default`, defaultID)
	return err
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

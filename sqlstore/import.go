package sqlstore

import (
	"context"
	"database/sql"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/admitdev/admit"
)

// Import applies an import file in one transaction; see admit.ImportFile.
//
// It is built for large files: the event's existing orders and tickets are
// read once into maps, new rows are written with multi-row INSERTs prepared
// once per import, existing rows are updated only where something changed,
// and new tickets' secrets and QR codes are made on every CPU. opts.Sign is
// therefore called from several goroutines at once.
func (s *Store) Import(ctx context.Context, f *admit.ImportFile, opts admit.ImportOptions) (*admit.ImportResult, error) {
	at := opts.Now
	if at.IsZero() {
		at = time.Now()
	}
	at = at.UTC().Truncate(time.Microsecond)
	if s.sqlite {
		// A large cache for the import's duration (the writer is one
		// connection: the pragma applies to the import's transaction).
		if _, err := s.wdb.ExecContext(ctx, `PRAGMA cache_size = `+strconv.Itoa(importCache)); err != nil {
			return nil, s.dbErr(err, "import")
		}
		defer s.wdb.ExecContext(context.Background(), `PRAGMA cache_size = `+strconv.Itoa(writerCache))
	}
	var res *admit.ImportResult
	err := s.inTx(ctx, "import", func(x dbx) error {
		im := &importer{s: s, x: x, f: f, opts: opts, now: at}
		defer im.close()
		var err error
		if res, err = im.run(ctx); err != nil {
			return err
		}
		return bumpCatalog(ctx, x)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

type importer struct {
	s    *Store
	x    dbx
	f    *admit.ImportFile
	opts admit.ImportOptions
	now  time.Time

	org *admit.Organizer
	ev  *admit.Event

	subevents map[string]*admit.Subevent
	sections  map[string]*admit.Section
	products  map[string]*importProduct
	orders    []*importOrder // file order

	stmts     []*sql.Stmt
	analyzed  bool  // the planner's statistics changed
	syncMaxID int64 // the highest ticket id before the import (search.go)

	created, updated int // tickets

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

type importOrder struct {
	admit.Order
	changed bool // status, email or name changed: its tickets are modified
}

// existingTicket is what an import needs of a stored ticket.
type existingTicket struct {
	id                                 int64
	uuid, secret, serial, qr           string
	orderID, parentID                  int64
	position                           int
	productID, variationID, subeventID int64
	sectionID                          int64
	price, first, last, email, holder  string
	validFrom, validUntil              *time.Time
	blocked                            bool
	createdAt, updatedAt               time.Time
	claimed                            bool
}

// item is one ticket of the file.
type item struct {
	place  string // orders[i].tickets[j](.addons[k])
	ft     *admit.ImportTicket
	order  *importOrder
	parent int // index of the parent item, -1 for a top-level ticket
	pos    int
	ex     *existingTicket
	t      *admit.Ticket
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

func (im *importer) run(ctx context.Context) (*admit.ImportResult, error) {
	steps := []func(context.Context) error{
		im.syncBegin, im.organizer, im.event, im.subeventsStep, im.sectionsStep, im.productsStep, im.listsStep, im.ordersStep,
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	tickets, err := im.ticketsStep(ctx)
	if err != nil {
		return nil, err
	}
	if err := im.areasStep(ctx); err != nil {
		return nil, err
	}
	if err := im.syncEnd(ctx); err != nil {
		return nil, err
	}
	// Caches of events and lists (every node's) start afresh at commit.
	if err := bumpCatalog(ctx, im.x); err != nil {
		return nil, err
	}
	res := &admit.ImportResult{Organizer: im.org, Event: im.ev, Tickets: tickets, Created: im.created, Updated: im.updated}
	for _, se := range im.f.Subevents {
		res.Subevents = append(res.Subevents, im.subevents[se.Name])
	}
	return res, nil
}

func (im *importer) organizer(ctx context.Context) error {
	o := im.f.Organizer
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
	s, x, fe := im.s, im.x, &im.f.Event
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
	for _, fs := range im.f.Subevents {
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
	for i, fs := range im.f.Sections {
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
	for i, fp := range im.f.Products {
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
	if len(im.f.Lists) == 0 {
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
	for i, fl := range im.f.Lists {
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
		if st, err = b.im.prepare(ctx, b.query(b.pending)); err != nil {
			return err
		}
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

func (im *importer) ordersStep(ctx context.Context) error {
	s, x := im.s, im.x
	existing := map[string]*importOrder{}
	rows, err := x.query(ctx, `SELECT id, code, uuid, status, email, name, created_at FROM orders WHERE event_id = $1`, im.ev.ID)
	if err != nil {
		return err
	}
	for rows.Next() {
		o := &importOrder{}
		var status string
		if err := rows.Scan(&o.ID, &o.Code, &o.UUID, &status, &o.Email, &o.Name, tm{&o.CreatedAt}); err != nil {
			rows.Close()
			return err
		}
		o.EventID, o.Status = im.ev.ID, admit.OrderStatus(status)
		existing[o.Code] = o
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var update *stmt
	fresh := map[string]*importOrder{}
	ins := &batchInsert{im: im, ncol: 8, size: 1000,
		head: `INSERT INTO orders (event_id, code, uuid, status, email, name, created_at, updated_at) VALUES `,
		tail: ` RETURNING id, code`,
		scan: func(rows *sql.Rows) error {
			var id int64
			var code string
			if err := rows.Scan(&id, &code); err != nil {
				return err
			}
			fresh[code].ID = id
			return nil
		}}
	// The new orders' uuids, drawn at once and handed out in ascending
	// order, as the tickets' (see generate): the uuid indexes are appended
	// to rather than written all over.
	need := 0
	for i := range im.f.Orders {
		if fo := &im.f.Orders[i]; fo.UUID == "" && existing[fo.Code] == nil {
			need++
		}
	}
	uuids := make([]string, need)
	parallel(need, func(lo, hi int) error {
		for k := lo; k < hi; k++ {
			uuids[k] = admit.NewUUID()
		}
		return nil
	})
	slices.Sort(uuids)
	im.orders = make([]*importOrder, len(im.f.Orders))
	for i := range im.f.Orders {
		fo := &im.f.Orders[i]
		status := admit.OrderStatus(fo.Status)
		uuid := strings.ToLower(fo.UUID)
		if o := existing[fo.Code]; o != nil {
			if uuid == "" {
				uuid = o.UUID
			}
			if o.Status != status || o.Email != fo.Email || o.Name != fo.Name || o.UUID != uuid {
				if o.Email != fo.Email {
					if err := im.syncOrder(ctx, o.ID); err != nil {
						return err
					}
				}
				o.Status, o.Email, o.Name, o.UUID, o.changed = status, fo.Email, fo.Name, uuid, true
				if update == nil {
					if update, err = im.prepare(ctx, `UPDATE orders SET uuid = $2, status = $3, email = $4, name = $5, updated_at = $6 WHERE id = $1`); err != nil {
						return err
					}
				}
				if _, err := update.exec(ctx, o.ID, o.UUID, string(o.Status), o.Email, o.Name, s.ts(im.now)); err != nil {
					return err
				}
			}
			im.orders[i] = o
			continue
		}
		if uuid == "" {
			uuid, uuids = uuids[0], uuids[1:]
		}
		o := &importOrder{Order: admit.Order{EventID: im.ev.ID, Code: fo.Code, UUID: uuid, Status: status,
			Email: fo.Email, Name: fo.Name, CreatedAt: im.now}}
		fresh[o.Code] = o
		im.orders[i] = o
		if err := ins.add(ctx, im.ev.ID, o.Code, o.UUID, string(o.Status), o.Email, o.Name, s.ts(im.now), s.ts(im.now)); err != nil {
			return err
		}
	}
	return ins.flush(ctx)
}

type posKey struct {
	order, parent int64
	pos           int
}

// loadTickets reads the event's tickets.
func (im *importer) loadTickets(ctx context.Context) ([]*existingTicket, error) {
	rows, err := im.x.query(ctx, `SELECT id, uuid, secret, serial, qr_code, order_id, parent_id, position, product_id,
		variation_id, subevent_id, section_id, price, first_name, last_name, email, holder_number, valid_from, valid_until,
		blocked, created_at, updated_at FROM tickets WHERE event_id = $1 ORDER BY id`, im.ev.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*existingTicket
	for rows.Next() {
		e := &existingTicket{}
		if err := rows.Scan(&e.id, &e.uuid, &e.secret, &e.serial, &e.qr, &e.orderID, zid{&e.parentID}, &e.position,
			&e.productID, zid{&e.variationID}, zid{&e.subeventID}, zid{&e.sectionID}, &e.price, &e.first, &e.last,
			&e.email, &e.holder, tmp{&e.validFrom}, tmp{&e.validUntil}, &e.blocked, tm{&e.createdAt}, tm{&e.updatedAt}); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond))
}

func (im *importer) ticketsStep(ctx context.Context) ([]*admit.Ticket, error) {
	s := im.s
	existing, err := im.loadTickets(ctx)
	if err != nil {
		return nil, err
	}
	existingN := len(existing)
	byUUID := make(map[string]*existingTicket, len(existing))
	byPos := make(map[posKey]*existingTicket, len(existing))
	secrets := make(map[string]bool, len(existing))
	serials := make(map[string]bool, len(existing))
	for _, e := range existing {
		byUUID[e.uuid] = e
		// A top-level ticket's place is in its order, an add-on's under its
		// parent (wherever the parent is now).
		k := posKey{e.orderID, 0, e.position}
		if e.parentID != 0 {
			k = posKey{0, e.parentID, e.position}
		}
		if _, dup := byPos[k]; !dup {
			byPos[k] = e
		}
		secrets[e.secret], serials[e.serial] = true, true
	}
	existing = nil

	// The file's tickets, add-ons right after their parent.
	var items []item
	for i := range im.f.Orders {
		fo := &im.f.Orders[i]
		for j := range fo.Tickets {
			ft := &fo.Tickets[j]
			parent := len(items)
			items = append(items, item{place: "orders[" + strconv.Itoa(i) + "].tickets[" + strconv.Itoa(j) + "]",
				ft: ft, order: im.orders[i], parent: -1, pos: j})
			for k := range ft.Addons {
				items = append(items, item{place: items[parent].place + ".addons[" + strconv.Itoa(k) + "]",
					ft: &ft.Addons[k], order: im.orders[i], parent: parent, pos: k})
			}
		}
	}

	// Match: by uuid first, then top-level tickets by their place in their
	// order, then add-ons by their place under their (existing) parent. A
	// stored ticket matches once.
	for i := range items {
		it := &items[i]
		if u := it.ft.UUID; u != "" {
			if e := byUUID[u]; e != nil {
				it.ex, e.claimed = e, true
			}
		}
	}
	for pass := 0; pass < 2; pass++ {
		for i := range items {
			it := &items[i]
			if it.ft.UUID != "" || (it.parent < 0) != (pass == 0) {
				continue
			}
			k := posKey{it.order.ID, 0, it.pos}
			if it.parent >= 0 {
				p := items[it.parent].ex
				if p == nil {
					continue
				}
				k = posKey{0, p.id, it.pos}
			}
			if e := byPos[k]; e != nil && !e.claimed {
				it.ex, e.claimed = e, true
			}
		}
	}
	byPos, byUUID = nil, nil

	// New tickets: check what the file gives against the database, then
	// make the rest (uuid, secret, serial, QR) on every CPU.
	var fresh []int
	var checkUUIDs []int
	for i := range items {
		it := &items[i]
		if it.ex != nil {
			continue
		}
		fresh = append(fresh, i)
		if it.ft.Secret != "" && secrets[it.ft.Secret] {
			return nil, admit.Errorf(admit.EConflict, "%s.secret: already used by another ticket", it.place)
		}
		if it.ft.Serial != "" && serials[it.ft.Serial] {
			return nil, admit.Errorf(admit.EConflict, "%s.serial: already used by another ticket", it.place)
		}
		if it.ft.UUID != "" {
			checkUUIDs = append(checkUUIDs, i)
		}
	}
	secrets, serials = nil, nil
	if err := im.checkUUIDs(ctx, items, checkUUIDs); err != nil {
		return nil, err
	}
	im.created = len(fresh)
	im.generate(items, fresh)
	// The QR codes are signed on the other CPUs while the rows go in.
	signed := im.sign(items, fresh)
	defer signed.stop()

	// Fill every result ticket.
	for i := range items {
		im.fill(&items[i])
	}

	// Insert the new top-level tickets, then the new add-ons (their parents'
	// ids known), then update the stored tickets that changed.
	ins := &batchInsert{im: im, ncol: 22, size: 500,
		head: `INSERT INTO tickets (uuid, secret, serial, event_id, order_id, product_id, variation_id, subevent_id,
			section_id, parent_id, position, price, first_name, last_name, email, holder_number, valid_from, valid_until,
			blocked, qr_code, created_at, updated_at) VALUES `,
		tail: ` RETURNING id, uuid`}
	batch := map[string]*admit.Ticket{}
	ins.scan = func(rows *sql.Rows) error {
		var id int64
		var uuid string
		if err := rows.Scan(&id, &uuid); err != nil {
			return err
		}
		batch[uuid].ID = id
		return nil
	}
	for _, addons := range []bool{false, true} {
		for k, i := range fresh {
			it := &items[i]
			if (it.parent >= 0) != addons {
				continue
			}
			if err := signed.wait(k); err != nil {
				return nil, err
			}
			t := it.t
			if addons {
				t.ParentID = items[it.parent].t.ID
			}
			batch[t.UUID] = t
			if err := ins.add(ctx, t.UUID, t.Secret, t.Serial, t.EventID, t.OrderID, t.ProductID, nid(t.VariationID),
				nid(t.SubeventID), nid(t.SectionID), nid(t.ParentID), t.Position, t.Price, t.FirstName, t.LastName,
				t.Email, t.HolderNumber, s.tsp(t.ValidFrom), s.tsp(t.ValidUntil), t.Blocked, t.QRCode,
				s.ts(t.CreatedAt), s.ts(t.UpdatedAt)); err != nil {
				return nil, im.insertErr(err)
			}
			if ins.pending == 0 {
				clear(batch)
			}
		}
		if err := ins.flush(ctx); err != nil {
			return nil, im.insertErr(err)
		}
		clear(batch)
	}

	var update *stmt
	for i := range items {
		it := &items[i]
		e := it.ex
		if e == nil {
			continue
		}
		t := it.t
		if it.parent >= 0 {
			t.ParentID = items[it.parent].t.ID
		}
		if !it.order.changed && e.orderID == t.OrderID && e.parentID == t.ParentID && e.position == t.Position &&
			e.productID == t.ProductID && e.variationID == t.VariationID && e.subeventID == t.SubeventID &&
			e.sectionID == t.SectionID && e.price == t.Price && e.first == t.FirstName && e.last == t.LastName &&
			e.email == t.Email && e.holder == t.HolderNumber && sameTime(e.validFrom, t.ValidFrom) &&
			sameTime(e.validUntil, t.ValidUntil) && e.blocked == t.Blocked {
			t.UpdatedAt = e.updatedAt
			continue
		}
		if update == nil {
			if update, err = im.prepare(ctx, `UPDATE tickets SET order_id = $2, parent_id = $3, position = $4,
				product_id = $5, variation_id = $6, subevent_id = $7, section_id = $8, price = $9, first_name = $10,
				last_name = $11, email = $12, holder_number = $13, valid_from = $14, valid_until = $15, blocked = $16,
				updated_at = $17 WHERE id = $1`); err != nil {
				return nil, err
			}
		}
		if e.first != t.FirstName || e.last != t.LastName || e.email != t.Email || e.price != t.Price || e.orderID != t.OrderID {
			if err := im.syncTicket(ctx, t.ID); err != nil {
				return nil, err
			}
		}
		im.updated++
		if e.sectionID != t.SectionID {
			im.moved = append(im.moved, sectionMove{ticketID: t.ID, from: e.sectionID, to: t.SectionID})
		}
		if _, err := update.exec(ctx, t.ID, t.OrderID, nid(t.ParentID), t.Position, t.ProductID,
			nid(t.VariationID), nid(t.SubeventID), nid(t.SectionID), t.Price, t.FirstName, t.LastName, t.Email,
			t.HolderNumber, s.tsp(t.ValidFrom), s.tsp(t.ValidUntil), t.Blocked, s.ts(t.UpdatedAt)); err != nil {
			return nil, err
		}
	}

	// The query planner's statistics, when the import grew the event a lot:
	// without them SQLite reads "all of one event" through an index and
	// sorts, where a scan in id order stops at the page wanted.
	if n := len(fresh); n >= 1000 && n*10 >= existingN {
		for _, q := range []string{`ANALYZE tickets`, `ANALYZE orders`} {
			if _, err := im.x.exec(ctx, q); err != nil {
				return nil, err
			}
		}
		if s.sqlite {
			// Keep the row counts (sqlite_stat1) but drop the value samples
			// (sqlite_stat4, where the driver's SQLite has them): with
			// samples, every statement whose plan could depend on a bound
			// value (t.uuid = $1) is compiled again at each execution, a
			// quarter of a scan's CPU.
			if _, err := im.x.exec(ctx, `DELETE FROM sqlite_stat4`); err != nil && !strings.Contains(err.Error(), "no such table") {
				return nil, err
			}
		}
		im.analyzed = true
	}

	out := make([]*admit.Ticket, len(items))
	for i := range items {
		out[i] = items[i].t
	}
	return out, nil
}

// insertErr names a unique violation the checks did not foresee (a
// concurrent import, or a random value drawn twice).
func (im *importer) insertErr(err error) error {
	if classify(err) == errUnique {
		return &admit.Error{Code: admit.EConflict, Message: "tickets: a uuid, secret or serial is already used by another ticket; try again", Err: err}
	}
	return err
}

// checkUUIDs refuses a new ticket whose uuid (from the file) is another
// event's ticket's.
func (im *importer) checkUUIDs(ctx context.Context, items []item, idx []int) error {
	const chunk = 500
	var st *stmt
	for len(idx) > 0 {
		n := min(chunk, len(idx))
		part := idx[:n]
		idx = idx[n:]
		args := make([]any, n)
		where := map[string]int{}
		for j, i := range part {
			args[j] = items[i].ft.UUID
			where[items[i].ft.UUID] = i
		}
		query := `SELECT uuid FROM tickets WHERE uuid IN (` + placeholders(1, n) + `)`
		var rows *sql.Rows
		var err error
		if n == chunk {
			if st == nil {
				if st, err = im.prepare(ctx, query); err != nil {
					return err
				}
			}
			rows, err = st.query(ctx, args...)
		} else {
			rows, err = im.x.query(ctx, query, args...)
		}
		if err != nil {
			return err
		}
		var found []string
		for rows.Next() {
			var u string
			if err := rows.Scan(&u); err != nil {
				rows.Close()
				return err
			}
			found = append(found, u)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(found) > 0 {
			first := -1
			for _, u := range found {
				if i := where[u]; first < 0 || i < first {
					first = i
				}
			}
			return admit.Errorf(admit.EConflict, "%s.uuid: already used by another ticket", items[first].place)
		}
	}
	return nil
}

// generate makes the uuid, secret and serial of the new tickets the file
// does not give, on every CPU.
//
// The values it draws for a column are handed out in ascending order, in
// the file's order: each is as random as ever (a uuid, secret or serial
// tells nothing of its neighbours' beyond their being above or below it, a
// handful of bits of their 122 to 165), but the unique indexes on them are
// then appended to rather than written all over, which halves the time of
// a large import.
func (im *importer) generate(items []item, fresh []int) {
	tickets := make([]*admit.Ticket, len(fresh))
	for k, i := range fresh {
		ft := items[i].ft
		tickets[k] = &admit.Ticket{UUID: ft.UUID, Secret: ft.Secret, Serial: ft.Serial, CreatedAt: im.now, UpdatedAt: im.now}
		items[i].t = tickets[k]
	}
	type column struct {
		get  func(t *admit.Ticket) *string
		draw func() string
	}
	columns := []column{
		{func(t *admit.Ticket) *string { return &t.UUID }, admit.NewUUID},
		{func(t *admit.Ticket) *string { return &t.Secret }, admit.NewTicketSecret},
		{func(t *admit.Ticket) *string { return &t.Serial }, admit.NewSerial},
	}
	for _, c := range columns {
		var need []*string
		for _, t := range tickets {
			if p := c.get(t); *p == "" {
				need = append(need, p)
			}
		}
		vals := make([]string, len(need))
		parallel(len(need), func(lo, hi int) error {
			for k := lo; k < hi; k++ {
				vals[k] = c.draw()
			}
			return nil
		})
		slices.Sort(vals)
		for k, p := range need {
			*p = vals[k]
		}
	}
}

// signing is the QR codes of the new tickets being signed, in chunks, in
// the order of fresh.
type signing struct {
	done    []chan struct{} // closed when its chunk is signed
	err     []error         // its chunk's error
	stopped atomic.Bool
}

const signChunk = 512

// sign starts signing the new tickets' QR codes on every CPU.
func (im *importer) sign(items []item, fresh []int) *signing {
	sg := &signing{}
	if im.opts.Sign == nil {
		return sg
	}
	n := (len(fresh) + signChunk - 1) / signChunk
	sg.done, sg.err = make([]chan struct{}, n), make([]error, n)
	for c := range sg.done {
		sg.done[c] = make(chan struct{})
	}
	var next atomic.Int64
	for range min(im.signers(), n) {
		go func() {
			for {
				c := int(next.Add(1) - 1)
				if c >= n {
					return
				}
				if !sg.stopped.Load() {
					for _, i := range fresh[c*signChunk : min((c+1)*signChunk, len(fresh))] {
						t := items[i].t
						qr, err := im.opts.Sign(im.ev, t.UUID)
						if err != nil {
							sg.err[c] = err
							break
						}
						t.QRCode = qr
					}
				}
				close(sg.done[c])
			}
		}()
	}
	return sg
}

// wait waits for the k-th new ticket's QR code.
func (sg *signing) wait(k int) error {
	if sg.done == nil {
		return nil
	}
	c := k / signChunk
	<-sg.done[c]
	return sg.err[c]
}

// stop tells the signers to skip what is left and waits for them.
func (sg *signing) stop() {
	sg.stopped.Store(true)
	for _, d := range sg.done {
		<-d
	}
}

// parallel runs fn on n items split in ranges, on every CPU, and returns
// the first error.
func parallel(n int, fn func(lo, hi int) error) error {
	workers := min(runtime.GOMAXPROCS(0), max(1, n/256))
	per := (n + workers - 1) / workers
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		lo, hi := w*per, min((w+1)*per, n)
		if lo >= hi {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = fn(lo, hi)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// fill sets the fields of it.t from the file and the related rows.
func (im *importer) fill(it *item) {
	t := it.t
	if e := it.ex; e != nil {
		t = &admit.Ticket{ID: e.id, UUID: e.uuid, Secret: e.secret, Serial: e.serial, QRCode: e.qr,
			CreatedAt: e.createdAt, UpdatedAt: im.now}
		it.t = t
	}
	ft, o := it.ft, it.order
	p := im.products[ft.Product]
	t.EventID, t.OrderID, t.ProductID, t.Position = im.ev.ID, o.ID, p.ID, it.pos
	t.ProductName, t.ProductAdmission = p.Name, p.Admission
	if ft.Variation != nil {
		t.VariationID, t.VariationName = p.variations[*ft.Variation], *ft.Variation
	}
	if ft.Section != "" {
		sec := im.sections[ft.Section]
		t.SectionID, t.SectionName, t.SectionDescription = sec.ID, sec.Name, sec.Description
	}
	if ft.Subevent != "" {
		se := im.subevents[ft.Subevent]
		t.SubeventID, t.SubeventName = se.ID, se.Name
	}
	t.Price, t.FirstName, t.LastName, t.Email = ft.Price, ft.FirstName, ft.LastName, ft.Email
	t.ValidFrom, t.ValidUntil, t.Blocked = utcp(ft.From), utcp(ft.Until), ft.Blocked
	t.OrderCode, t.OrderUUID, t.OrderStatus = o.Code, o.UUID, o.Status
	t.OrderEmail, t.OrderName, t.OrderCreatedAt = o.Email, o.Name, o.CreatedAt
	if email := t.HolderEmail(); email != "" {
		t.HolderNumber = admit.HolderNumber(email)
	}
}

func utcp(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

// signers is how many goroutines sign QR codes while the rows go in: one
// CPU fewer than there are, the last one being the inserts' (the SQLite
// writer's, or the PostgreSQL server's). With every CPU signing, the inserts
// got less than one (PostgreSQL, 1,000,000 tickets on 2 CPUs: 61 s with two
// signers, 56 s with one, measured once each).
func (im *importer) signers() int {
	return max(1, runtime.GOMAXPROCS(0)-1)
}

package sqlstore

import (
	"context"
	"database/sql"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/admitdev/admit"
)

// idSet is a set of row ids: the rows the import created, as runs of
// consecutive ids (their ids come in ascending order: one run on SQLite,
// and on PostgreSQL unless a concurrent transaction takes ids between
// two of its inserts), and stored rows, a bit each in pages of 65,536 ids.
// An import that only creates rows keeps a few bytes, whatever its size;
// one that matches stored rows a bit per row id at most (125 kB a
// million).
type idSet struct {
	runs []idRun // ascending, disjoint
	bits map[int64]*[1024]uint64
}

type idRun struct{ lo, hi int64 }

func (s *idSet) has(id int64) bool {
	i := sort.Search(len(s.runs), func(i int) bool { return s.runs[i].hi >= id })
	if i < len(s.runs) && s.runs[i].lo <= id {
		return true
	}
	p := s.bits[id>>16]
	return p != nil && p[(id>>6)&1023]&(1<<(id&63)) != 0
}

// addCreated adds the id of a row the import created, above the ones it
// created before.
func (s *idSet) addCreated(id int64) {
	if n := len(s.runs); n > 0 && id <= s.runs[n-1].hi+1 {
		if id == s.runs[n-1].hi+1 {
			s.runs[n-1].hi = id
			return
		}
		if id >= s.runs[n-1].lo {
			return
		}
		s.add(id) // out of order: not expected, but kept right
		return
	}
	s.runs = append(s.runs, idRun{id, id})
}

// add adds the id of a stored row.
func (s *idSet) add(id int64) {
	if s.bits == nil {
		s.bits = map[int64]*[1024]uint64{}
	}
	p := s.bits[id>>16]
	if p == nil {
		p = new([1024]uint64)
		s.bits[id>>16] = p
	}
	p[(id>>6)&1023] |= 1 << (id & 63)
}

// pool hands out new random values of a column in ascending order, drawn
// poolSize at a time on every CPU.
//
// Each value is drawn as randomly as ever, but sorting a run costs some of
// its unpredictability: a value's neighbour lies above it within about
// 1/65,536 of the space, and the first values a small import takes are
// among a run's lowest (their first characters zeros). That is about 16
// bits (log2 of poolSize) of the 122 of a uuid or 165 of a secret, which
// leaves a secret some 149. In return the unique indexes on them are
// written in ascending runs of poolSize rather than all over, which halves
// the time of a large import (measured when the whole import was one run;
// a run of 65,536 keeps the memory bounded).
type pool struct {
	draw func() string
	vals []string
	i    int
}

const poolSize = 1 << 16

func (im *importer) next(name string, draw func() string) string {
	p := im.pools[name]
	if p == nil {
		if im.pools == nil {
			im.pools = map[string]*pool{}
		}
		p = &pool{draw: draw}
		im.pools[name] = p
	}
	if p.i == len(p.vals) {
		if p.vals == nil {
			p.vals = make([]string, poolSize)
		}
		parallel(len(p.vals), func(lo, hi int) error {
			for k := lo; k < hi; k++ {
				p.vals[k] = p.draw()
			}
			return nil
		})
		slices.Sort(p.vals)
		p.i = 0
	}
	p.i++
	return p.vals[p.i-1]
}

type importOrder struct {
	admit.Order
	changed bool // status, email or name changed: its tickets are modified
	fresh   bool // created by the import: no stored tickets
}

// existingTicket is what an import needs of a stored ticket.
type existingTicket struct {
	id                                 int64
	eventID                            int64
	uuid, secret, serial, qr           string
	orderID, parentID                  int64
	position                           int
	productID, variationID, subeventID int64
	sectionID                          int64
	price, first, last, email, holder  string
	validFrom, validUntil              *time.Time
	blocked                            bool
	createdAt, updatedAt               time.Time
}

const existingCols = `id, event_id, uuid, secret, serial, qr_code, order_id, parent_id, position, product_id,
	variation_id, subevent_id, section_id, price, first_name, last_name, email, holder_number, valid_from, valid_until,
	blocked, created_at, updated_at`

func scanExisting(rows *sql.Rows) (*existingTicket, error) {
	e := &existingTicket{}
	err := rows.Scan(&e.id, &e.eventID, &e.uuid, &e.secret, &e.serial, &e.qr, &e.orderID, zid{&e.parentID}, &e.position,
		&e.productID, zid{&e.variationID}, zid{&e.subeventID}, zid{&e.sectionID}, &e.price, &e.first, &e.last,
		&e.email, &e.holder, tmp{&e.validFrom}, tmp{&e.validUntil}, &e.blocked, tm{&e.createdAt}, tm{&e.updatedAt})
	return e, err
}

// item is one ticket of the chunk.
type item struct {
	ft     *admit.ImportTicket
	order  *importOrder
	parent int // index of the parent item, -1 for a top-level ticket
	pos    int
	ex     *existingTicket
	t      *admit.Ticket
}

type posKey struct {
	order, parent int64
	pos           int
}

// lookupBatch is how many values one lookup's IN list holds; shorter
// lists are padded (with a value no row has) so that one statement,
// prepared once, serves every lookup.
const lookupBatch = 500

// lookup runs the query named name, q ending with "IN (", for vals in
// batches, padded with pad, and hands each row to scan. The values before
// the list are pre.
func (im *importer) lookup(ctx context.Context, name, q string, pre []any, vals []any, pad any, scan func(*sql.Rows) error) error {
	if len(vals) == 0 {
		return nil
	}
	st, err := im.prepared(ctx, name, q+placeholders(len(pre)+1, lookupBatch)+`)`)
	if err != nil {
		return err
	}
	if !im.s.sqlite {
		// PostgreSQL plans a lookup at each execution: a plan made once,
		// while the tables looked small, scanned everything the import had
		// written so far, each time (1,000,000 tickets: 630 s instead of
		// 170). Only the lookups: planning the 500-row INSERTs each time
		// cost as much.
		if _, err := im.x.exec(ctx, `SET LOCAL plan_cache_mode = force_custom_plan`); err != nil {
			return err
		}
		defer im.x.exec(ctx, `SET LOCAL plan_cache_mode = auto`)
	}
	args := make([]any, len(pre)+lookupBatch)
	copy(args, pre)
	for len(vals) > 0 {
		n := min(lookupBatch, len(vals))
		for i := range lookupBatch {
			if i < n {
				args[len(pre)+i] = vals[i]
			} else {
				args[len(pre)+i] = pad
			}
		}
		vals = vals[n:]
		rows, err := st.query(ctx, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := scan(rows); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

func (im *importer) writeChunk(ctx context.Context, fos []*admit.ImportOrder) error {
	orders, err := im.ordersChunk(ctx, fos)
	if err != nil {
		return err
	}
	return im.ticketsChunk(ctx, fos, orders)
}

// ordersChunk upserts a chunk's orders by code.
func (im *importer) ordersChunk(ctx context.Context, fos []*admit.ImportOrder) ([]*importOrder, error) {
	s := im.s
	codes := make([]any, 0, len(fos))
	inChunk := make(map[string]bool, len(fos))
	for _, fo := range fos {
		if inChunk[fo.Code] {
			return nil, im.dupOrder(fo)
		}
		inChunk[fo.Code] = true
		codes = append(codes, fo.Code)
	}
	existing := map[string]*importOrder{}
	if err := im.lookup(ctx, "orders", `SELECT id, code, uuid, status, email, name, created_at FROM orders
		WHERE event_id = $1 AND code IN (`, []any{im.ev.ID}, codes, "", func(rows *sql.Rows) error {
		o := &importOrder{}
		var status string
		if err := rows.Scan(&o.ID, &o.Code, &o.UUID, &status, &o.Email, &o.Name, tm{&o.CreatedAt}); err != nil {
			return err
		}
		o.EventID, o.Status = im.ev.ID, admit.OrderStatus(status)
		existing[o.Code] = o
		return nil
	}); err != nil {
		return nil, err
	}
	fresh := map[string]*importOrder{}
	if im.orderIns == nil {
		im.orderIns = &batchInsert{im: im, ncol: 9, size: 1000,
			head: `INSERT INTO orders (event_id, code, uuid, status, email, name, created_at, updated_at, ticket_count) VALUES `,
			tail: ` RETURNING id, code`}
	}
	ins := im.orderIns
	ins.scan = func(rows *sql.Rows) error {
		var id int64
		var code string
		if err := rows.Scan(&id, &code); err != nil {
			return err
		}
		fresh[code].ID = id
		return nil
	}
	out := make([]*importOrder, len(fos))
	for i, fo := range fos {
		status := admit.OrderStatus(fo.Status)
		uuid := strings.ToLower(fo.UUID)
		if o := existing[fo.Code]; o != nil {
			if im.seenOrders.has(o.ID) {
				return nil, im.dupOrder(fo)
			}
			im.seenOrders.add(o.ID)
			if uuid == "" {
				uuid = o.UUID
			}
			if o.Status != status || o.Email != fo.Email || o.Name != fo.Name || o.UUID != uuid {
				if o.Email != fo.Email {
					if err := im.syncOrder(ctx, o.ID); err != nil {
						return nil, err
					}
				}
				o.Status, o.Email, o.Name, o.UUID, o.changed = status, fo.Email, fo.Name, uuid, true
				update, err := im.prepared(ctx, "order update", `UPDATE orders SET uuid = $2, status = $3, email = $4, name = $5, updated_at = $6 WHERE id = $1`)
				if err != nil {
					return nil, err
				}
				if _, err := update.exec(ctx, o.ID, o.UUID, string(o.Status), o.Email, o.Name, s.ts(im.now)); err != nil {
					return nil, err
				}
			}
			out[i] = o
			continue
		}
		if uuid == "" {
			// Drawn ahead and handed out in ascending order, as the
			// tickets': the orders' uuid index is appended to.
			uuid = im.next("order uuid", admit.NewUUID)
		}
		o := &importOrder{Order: admit.Order{EventID: im.ev.ID, Code: fo.Code, UUID: uuid, Status: status,
			Email: fo.Email, Name: fo.Name, CreatedAt: im.now}, fresh: true}
		fresh[o.Code] = o
		out[i] = o
		// Every ticket of the order in the file becomes its ticket (made,
		// or moved from another order), and none other can: its count.
		n := len(fo.Tickets)
		for j := range fo.Tickets {
			n += len(fo.Tickets[j].Addons)
		}
		if err := ins.add(ctx, im.ev.ID, o.Code, o.UUID, string(o.Status), o.Email, o.Name, s.ts(im.now), s.ts(im.now), n); err != nil {
			return nil, err
		}
	}
	if err := ins.flush(ctx); err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(fresh))
	for _, o := range fresh {
		ids = append(ids, o.ID)
	}
	slices.Sort(ids)
	for _, id := range ids {
		im.seenOrders.addCreated(id)
	}
	im.orders += len(fos)
	return out, nil
}

func (im *importer) dupOrder(fo *admit.ImportOrder) error {
	if fo.Where.Row > 0 {
		return admit.Errorf(admit.EInvalid, "%s: order %q again: the rows of an order must be next to each other", fo.Where.Field("code"), fo.Code)
	}
	return admit.Errorf(admit.EInvalid, "%s: duplicate order code %q", fo.Where.Field("code"), fo.Code)
}

// ticketsChunk matches a chunk's tickets with the stored ones, creates the
// new ones and updates the stored ones that changed.
func (im *importer) ticketsChunk(ctx context.Context, fos []*admit.ImportOrder, orders []*importOrder) error {
	s := im.s
	// The chunk's tickets, add-ons right after their parent.
	var items []item
	for i, fo := range fos {
		for j := range fo.Tickets {
			ft := &fo.Tickets[j]
			parent := len(items)
			items = append(items, item{ft: ft, order: orders[i], parent: -1, pos: j})
			for k := range ft.Addons {
				items = append(items, item{ft: &ft.Addons[k], order: orders[i], parent: parent, pos: k})
			}
		}
	}
	im.tickets += len(items)
	// A value the file gives twice within the chunk.
	given := map[string]string{}
	var uuids []any
	for i := range items {
		ft := items[i].ft
		for _, c := range []struct{ field, v string }{{"uuid", ft.UUID}, {"secret", ft.Secret}, {"serial", ft.Serial}} {
			if c.v == "" {
				continue
			}
			key := c.field + "\x00" + c.v
			if other, dup := given[key]; dup {
				if c.field == "secret" {
					return admit.Errorf(admit.EInvalid, "%s: duplicate secret (also at %s)", ft.Where.Field(c.field), other)
				}
				return admit.Errorf(admit.EInvalid, "%s: duplicate %s %q (also at %s)", ft.Where.Field(c.field), c.field, c.v, other)
			}
			given[key] = ft.Where.String()
		}
		if ft.UUID != "" {
			uuids = append(uuids, ft.UUID)
		}
	}
	given = nil

	// The stored tickets the chunk may match: those of its stored orders,
	// and those of the uuids it gives.
	loaded := map[int64]*existingTicket{}
	byUUID := map[string]*existingTicket{}
	add := func(rows *sql.Rows) error {
		e, err := scanExisting(rows)
		if err != nil {
			return err
		}
		if loaded[e.id] == nil {
			loaded[e.id] = e
		}
		if e.uuid != "" {
			byUUID[e.uuid] = loaded[e.id]
		}
		return nil
	}
	var orderIDs []any
	for _, o := range orders {
		if !o.fresh {
			orderIDs = append(orderIDs, o.ID)
		}
	}
	if err := im.lookup(ctx, "tickets of orders", `SELECT `+existingCols+` FROM tickets WHERE order_id IN (`, nil, orderIDs, int64(0), add); err != nil {
		return err
	}
	if err := im.lookup(ctx, "tickets by uuid", `SELECT `+existingCols+` FROM tickets WHERE uuid IN (`, nil, uuids, "", add); err != nil {
		return err
	}
	byPos := map[posKey]*existingTicket{}
	index := func() {
		ids := make([]int64, 0, len(loaded))
		for id := range loaded {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			e := loaded[id]
			if e.eventID != im.ev.ID {
				continue
			}
			// A top-level ticket's place is in its order, an add-on's under
			// its parent (wherever the parent is now).
			k := posKey{e.orderID, 0, e.position}
			if e.parentID != 0 {
				k = posKey{0, e.parentID, e.position}
			}
			if _, dup := byPos[k]; !dup {
				byPos[k] = e
			}
		}
	}
	index()

	// Match: by uuid first, then top-level tickets by their place in their
	// order, then add-ons by their place under their (stored) parent. A
	// stored ticket matches once in the whole file.
	claimed := map[int64]bool{}
	for i := range items {
		it := &items[i]
		u := it.ft.UUID
		if u == "" {
			continue
		}
		e := byUUID[u]
		if e == nil {
			continue
		}
		if e.eventID != im.ev.ID {
			return admit.Errorf(admit.EConflict, "%s: already used by another ticket", it.ft.Where.Field("uuid"))
		}
		if im.touched.has(e.id) || claimed[e.id] {
			return admit.Errorf(admit.EInvalid, "%s: duplicate uuid %q (an earlier ticket of the file is that ticket)", it.ft.Where.Field("uuid"), u)
		}
		it.ex, claimed[e.id] = e, true
	}
	for pass := 0; pass < 2; pass++ {
		if pass == 1 {
			// The add-ons of the matched parents.
			var parents []any
			for i := range items {
				if it := &items[i]; it.parent < 0 && it.ex != nil {
					parents = append(parents, it.ex.id)
				}
			}
			if err := im.lookup(ctx, "add-ons", `SELECT `+existingCols+` FROM tickets WHERE parent_id IN (`, nil, parents, int64(0), add); err != nil {
				return err
			}
			clear(byPos)
			index()
		}
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
			if e := byPos[k]; e != nil && !claimed[e.id] && !im.touched.has(e.id) {
				it.ex, claimed[e.id] = e, true
			}
		}
	}
	for id := range claimed {
		im.touched.add(id)
	}
	loaded, byUUID, byPos = nil, nil, nil

	// New tickets: check the secrets and serials the file gives against
	// the database, then make the rest (uuid, secret, serial, QR).
	var fresh []int
	var secrets, serials []any
	for i := range items {
		it := &items[i]
		if it.ex != nil {
			continue
		}
		fresh = append(fresh, i)
		if it.ft.Secret != "" {
			secrets = append(secrets, it.ft.Secret)
		}
		if it.ft.Serial != "" {
			serials = append(serials, it.ft.Serial)
		}
	}
	if err := im.checkTaken(ctx, items, fresh, "secret", secrets); err != nil {
		return err
	}
	if err := im.checkTaken(ctx, items, fresh, "serial", serials); err != nil {
		return err
	}
	im.created += len(fresh)
	im.generate(items, fresh)
	// The QR codes are signed on the other CPUs while the rows go in.
	signed := im.sign(items, fresh)
	defer signed.stop()
	for i := range items {
		if err := im.fill(ctx, &items[i]); err != nil {
			return err
		}
	}

	// Insert the new top-level tickets, then the new add-ons (their parents'
	// ids known), then update the stored tickets that changed.
	if im.ticketIns == nil {
		im.ticketIns = &batchInsert{im: im, ncol: 22, size: 500,
			head: `INSERT INTO tickets (uuid, secret, serial, event_id, order_id, product_id, variation_id, subevent_id,
			section_id, parent_id, position, price, first_name, last_name, email, holder_number, valid_from, valid_until,
			blocked, qr_code, created_at, updated_at) VALUES `,
			tail: ` RETURNING id, uuid`}
	}
	ins := im.ticketIns
	batch := map[string]*admit.Ticket{}
	ins.scan = func(rows *sql.Rows) error {
		var id int64
		var uuid string
		if err := rows.Scan(&id, &uuid); err != nil {
			return err
		}
		batch[uuid].ID = id
		im.touched.addCreated(id)
		return nil
	}
	for _, addons := range []bool{false, true} {
		for k, i := range fresh {
			it := &items[i]
			if (it.parent >= 0) != addons {
				continue
			}
			if err := signed.wait(k); err != nil {
				return err
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
				return im.insertErr(err)
			}
			if ins.pending == 0 {
				clear(batch)
			}
		}
		if err := ins.flush(ctx); err != nil {
			return im.insertErr(err)
		}
		clear(batch)
	}

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
			continue
		}
		update, err := im.prepared(ctx, "ticket update", `UPDATE tickets SET order_id = $2, parent_id = $3, position = $4,
				product_id = $5, variation_id = $6, subevent_id = $7, section_id = $8, price = $9, first_name = $10,
				last_name = $11, email = $12, holder_number = $13, valid_from = $14, valid_until = $15, blocked = $16,
				updated_at = $17 WHERE id = $1`)
		if err != nil {
			return err
		}
		if e.first != t.FirstName || e.last != t.LastName || e.email != t.Email || e.price != t.Price || e.orderID != t.OrderID {
			if err := im.syncTicket(ctx, t.ID); err != nil {
				return err
			}
		}
		im.updated++
		if e.sectionID != t.SectionID {
			im.moved = append(im.moved, sectionMove{ticketID: t.ID, from: e.sectionID, to: t.SectionID})
		}
		if _, err := update.exec(ctx, t.ID, t.OrderID, nid(t.ParentID), t.Position, t.ProductID,
			nid(t.VariationID), nid(t.SubeventID), nid(t.SectionID), t.Price, t.FirstName, t.LastName, t.Email,
			t.HolderNumber, s.tsp(t.ValidFrom), s.tsp(t.ValidUntil), t.Blocked, s.ts(t.UpdatedAt)); err != nil {
			return err
		}
	}
	if err := im.recount(ctx, items); err != nil {
		return err
	}
	if im.opts.Placed != nil {
		ids := make([]int64, len(items))
		for i := range items {
			ids[i] = items[i].t.ID
		}
		if err := im.opts.Placed(ids); err != nil {
			return err
		}
	}
	return nil
}

// recount counts again the tickets of the stored orders whose tickets the
// chunk changed: a stored order given a new ticket, and both orders of a
// ticket moved from one to the other. (A new order's count is set when it
// is made.)
func (im *importer) recount(ctx context.Context, items []item) error {
	var ids []int64
	for i := range items {
		it := &items[i]
		switch {
		case it.ex == nil && !it.order.fresh:
			ids = append(ids, it.order.ID)
		case it.ex != nil && it.ex.orderID != it.t.OrderID:
			ids = append(ids, it.ex.orderID)
			if !it.order.fresh {
				ids = append(ids, it.t.OrderID)
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	update, err := im.prepared(ctx, "order ticket count", `UPDATE orders SET ticket_count =
		(SELECT COUNT(*) FROM tickets WHERE order_id = $1) WHERE id = $1`)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := update.exec(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// checkTaken refuses a new ticket's secret or serial (from the file) that
// a ticket of the event has: one the file made earlier (a duplicate in
// the file), or a stored one.
func (im *importer) checkTaken(ctx context.Context, items []item, fresh []int, col string, vals []any) error {
	if len(vals) == 0 {
		return nil
	}
	taken := map[string]int64{}
	if err := im.lookup(ctx, col+" taken", `SELECT id, `+col+` FROM tickets WHERE event_id = $1 AND `+col+` IN (`,
		[]any{im.ev.ID}, vals, "", func(rows *sql.Rows) error {
			var id int64
			var v string
			if err := rows.Scan(&id, &v); err != nil {
				return err
			}
			taken[v] = id
			return nil
		}); err != nil {
		return err
	}
	if len(taken) == 0 {
		return nil
	}
	for _, i := range fresh {
		ft := items[i].ft
		v := ft.Secret
		if col == "serial" {
			v = ft.Serial
		}
		id, ok := taken[v]
		if v == "" || !ok {
			continue
		}
		if id > im.syncMaxID {
			if col == "secret" {
				return admit.Errorf(admit.EInvalid, "%s: duplicate secret (also earlier in the file)", ft.Where.Field(col))
			}
			return admit.Errorf(admit.EInvalid, "%s: duplicate %s %q (also earlier in the file)", ft.Where.Field(col), col, v)
		}
		return admit.Errorf(admit.EConflict, "%s: already used by another ticket", ft.Where.Field(col))
	}
	return nil
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond))
}

// generate makes the uuid, secret and serial of the new tickets the file
// does not give, from the pools (ascending, see pool).
func (im *importer) generate(items []item, fresh []int) {
	for _, i := range fresh {
		ft := items[i].ft
		t := &admit.Ticket{UUID: ft.UUID, Secret: ft.Secret, Serial: ft.Serial, CreatedAt: im.now, UpdatedAt: im.now}
		if t.UUID == "" {
			t.UUID = im.next("uuid", admit.NewUUID)
		}
		if t.Secret == "" {
			t.Secret = im.next("secret", admit.NewTicketSecret)
		}
		if t.Serial == "" {
			t.Serial = im.next("serial", admit.NewSerial)
		}
		items[i].t = t
	}
}

// fill sets the fields of it.t from the file and the related rows.
func (im *importer) fill(ctx context.Context, it *item) error {
	t := it.t
	if e := it.ex; e != nil {
		t = &admit.Ticket{ID: e.id, UUID: e.uuid, Secret: e.secret, Serial: e.serial, QRCode: e.qr,
			CreatedAt: e.createdAt, UpdatedAt: im.now}
		it.t = t
	}
	ft, o := it.ft, it.order
	p, sec, se, err := im.catalogOf(ctx, ft)
	if err != nil {
		return err
	}
	t.EventID, t.OrderID, t.ProductID, t.Position = im.ev.ID, o.ID, p.ID, it.pos
	t.ProductName, t.ProductAdmission = p.Name, p.Admission
	if ft.Variation != nil {
		t.VariationID, t.VariationName = p.variations[*ft.Variation], *ft.Variation
	}
	if sec != nil {
		t.SectionID, t.SectionName, t.SectionDescription = sec.ID, sec.Name, sec.Description
	}
	if se != nil {
		t.SubeventID, t.SubeventName = se.ID, se.Name
	}
	t.Price, t.FirstName, t.LastName, t.Email = ft.Price, ft.FirstName, ft.LastName, ft.Email
	t.ValidFrom, t.ValidUntil, t.Blocked = utcp(ft.From), utcp(ft.Until), ft.Blocked
	t.OrderCode, t.OrderUUID, t.OrderStatus = o.Code, o.UUID, o.Status
	t.OrderEmail, t.OrderName, t.OrderCreatedAt = o.Email, o.Name, o.CreatedAt
	if email := t.HolderEmail(); email != "" {
		t.HolderNumber = admit.HolderNumber(email)
	}
	return nil
}

func utcp(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

// analyze refreshes the query planner's statistics when the import grew
// the event a lot: without them SQLite reads "all of one event" through an
// index and sorts, where a scan in id order stops at the page wanted.
func (im *importer) analyze(ctx context.Context) error {
	if n := im.created; n < 1000 || n*10 < im.existingN {
		return nil
	}
	for _, q := range []string{`ANALYZE tickets`, `ANALYZE orders`} {
		if _, err := im.x.exec(ctx, q); err != nil {
			return err
		}
	}
	if im.s.sqlite {
		// Keep the row counts (sqlite_stat1) but drop the value samples
		// (sqlite_stat4, where the driver's SQLite has them): with
		// samples, every statement whose plan could depend on a bound
		// value (t.uuid = $1) is compiled again at each execution, a
		// quarter of a scan's CPU.
		if _, err := im.x.exec(ctx, `DELETE FROM sqlite_stat4`); err != nil && !strings.Contains(err.Error(), "no such table") {
			return err
		}
	}
	im.analyzed = true
	return nil
}

// TicketsByID reads tickets with their related fields, in the order of ids.
func (s *Store) TicketsByID(ctx context.Context, ids []int64) ([]*admit.Ticket, error) {
	out := make([]*admit.Ticket, 0, len(ids))
	for len(ids) > 0 {
		n := min(lookupBatch, len(ids))
		part := ids[:n]
		ids = ids[n:]
		args := make([]any, n)
		for i, id := range part {
			args[i] = id
		}
		rows, err := s.reader().query(ctx, ticketSelect+` WHERE t.id IN (`+placeholders(1, n)+`)`, args...)
		if err != nil {
			return nil, s.dbErr(err, "tickets")
		}
		byID := make(map[int64]*admit.Ticket, n)
		for rows.Next() {
			t, err := scanTicket(rows)
			if err != nil {
				rows.Close()
				return nil, s.dbErr(err, "tickets")
			}
			byID[t.ID] = t
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, s.dbErr(err, "tickets")
		}
		for _, id := range part {
			if t := byID[id]; t != nil {
				out = append(out, t)
			}
		}
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

// signers is how many goroutines sign QR codes while the rows go in: one
// CPU fewer than there are, the last one being the inserts' (the SQLite
// writer's, or the PostgreSQL server's). With every CPU signing, the inserts
// got less than one (PostgreSQL, 1,000,000 tickets on 2 CPUs: 61 s with two
// signers, 56 s with one, measured once each).
func (im *importer) signers() int {
	return max(1, runtime.GOMAXPROCS(0)-1)
}

// An import chunk's tickets: matched with the stored ones, checked, filled
// from the file, created or updated; the orders whose counts changed are
// counted again.

package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/admitdev/admit"
)

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

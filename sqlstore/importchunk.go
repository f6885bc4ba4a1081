package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strings"

	"github.com/admitdev/admit"
)

type importOrder struct {
	admit.Order
	changed bool // status, email or name changed: its tickets are modified
	fresh   bool // created by the import: no stored tickets
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

package sqlstore

import (
	"bufio"
	"context"
	"encoding/gob"
	"errors"
	"io"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/admitdev/admit"
)

// BulkResult is what BulkReinsert measured.
type BulkResult struct {
	Orders  int `json:"orders"`
	Tickets int `json:"tickets"`
	// ExportSeconds is reading the rows out to a temporary file,
	// DeleteSeconds deleting them (and, on PostgreSQL, the VACUUM after):
	// neither is the reference.
	ExportSeconds float64 `json:"export_seconds"`
	DeleteSeconds float64 `json:"delete_seconds"`
	// InsertSeconds is the reference: the same rows inserted again in one
	// transaction, committed as durably as an import (SQLite: the WAL
	// synced), by the plainest fast way of the engine: prepared one-row
	// INSERTs on SQLite (the schema's search triggers write the search
	// index row by row), COPY on PostgreSQL.
	InsertSeconds float64 `json:"insert_seconds"`
	Method        string  `json:"method"`
}

// bulkOrder and bulkTicket are the rows of orders and tickets, every
// column, as the temporary file holds them.
type bulkOrder struct {
	ID, EventID                     int64
	Code, UUID, Status, Email, Name string
	CreatedAt, UpdatedAt            time.Time
	TicketCount                     int64
}

type bulkTicket struct {
	ID, EventID                                   int64
	UUID, Secret, Serial, QR                      string
	OrderID, ParentID                             int64
	Position                                      int64
	ProductID, VariationID, SubeventID, SectionID int64
	Price, First, Last, Email, Holder             string
	ValidFrom, ValidUntil                         *time.Time
	Blocked                                       bool
	CreatedAt, UpdatedAt                          time.Time
}

// BulkReinsert is admit bench's reference for an import's time: it reads
// every order and ticket of the event out to a temporary file (streamed),
// deletes them, and inserts the very same rows again (the same ids,
// values and QR codes) into the same tables, with the same indexes and
// triggers, timing only that insert. It destroys nothing else, but it is
// a benchmark's tool: the event must have no scans.
func (s *Store) BulkReinsert(ctx context.Context, eventID int64) (*BulkResult, error) {
	res := &BulkResult{Method: "SQLite: one transaction of prepared one-row INSERTs"}
	if !s.sqlite {
		res.Method = "PostgreSQL: COPY FROM STDIN (binary) in one transaction"
	}
	f, err := os.CreateTemp("", "admit-bulk-*.gob")
	if err != nil {
		return nil, admit.WrapInternal(err, "bulk: a temporary file")
	}
	os.Remove(f.Name())
	defer f.Close()

	t0 := time.Now()
	if err := s.bulkExport(ctx, eventID, f, res); err != nil {
		return nil, s.dbErr(err, "bulk export")
	}
	res.ExportSeconds = time.Since(t0).Seconds()

	t0 = time.Now()
	if err := s.inTx(ctx, "bulk delete", func(x dbx) error {
		var scans int
		if err := x.row(ctx, `SELECT COUNT(*) FROM checkin_state cs JOIN tickets t ON t.id = cs.ticket_id WHERE t.event_id = $1`,
			eventID).Scan(&scans); err != nil {
			return err
		}
		if scans > 0 {
			return admit.Errorf(admit.EConflict, "bulk: the event has scans")
		}
		for _, q := range []string{`DELETE FROM tickets WHERE event_id = $1 AND parent_id IS NOT NULL`,
			`DELETE FROM tickets WHERE event_id = $1`, `DELETE FROM orders WHERE event_id = $1`} {
			if _, err := x.exec(ctx, q, eventID); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if !s.sqlite {
		for _, q := range []string{`VACUUM tickets`, `VACUUM orders`} {
			if _, err := s.wdb.ExecContext(ctx, q); err != nil {
				return nil, s.dbErr(err, "bulk vacuum")
			}
		}
	}
	res.DeleteSeconds = time.Since(t0).Seconds()

	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, admit.WrapInternal(err, "bulk")
	}
	dec := gob.NewDecoder(bufio.NewReaderSize(f, 1<<20))
	t0 = time.Now()
	if s.sqlite {
		err = s.bulkInsertSQLite(ctx, dec, res)
	} else {
		err = s.bulkCopyPostgres(ctx, dec, res)
	}
	if err != nil {
		return nil, s.dbErr(err, "bulk insert")
	}
	res.InsertSeconds = time.Since(t0).Seconds()
	return res, nil
}

// bulkExport writes the orders (their count first) then the tickets
// (parents before add-ons: id order) of the event to w.
func (s *Store) bulkExport(ctx context.Context, eventID int64, w io.Writer, res *BulkResult) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := gob.NewEncoder(bw)
	x := s.writer()
	if err := x.row(ctx, `SELECT COUNT(*) FROM orders WHERE event_id = $1`, eventID).Scan(&res.Orders); err != nil {
		return err
	}
	if err := x.row(ctx, `SELECT COUNT(*) FROM tickets WHERE event_id = $1`, eventID).Scan(&res.Tickets); err != nil {
		return err
	}
	rows, err := x.query(ctx, `SELECT id, event_id, code, uuid, status, email, name, created_at, updated_at, ticket_count
		FROM orders WHERE event_id = $1 ORDER BY id`, eventID)
	if err != nil {
		return err
	}
	n := 0
	for rows.Next() {
		var o bulkOrder
		if err := rows.Scan(&o.ID, &o.EventID, &o.Code, &o.UUID, &o.Status, &o.Email, &o.Name, tm{&o.CreatedAt}, tm{&o.UpdatedAt}, &o.TicketCount); err != nil {
			rows.Close()
			return err
		}
		if err := enc.Encode(&o); err != nil {
			rows.Close()
			return err
		}
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if n != res.Orders {
		return errors.New("bulk: the orders changed while exported")
	}
	rows, err = x.query(ctx, `SELECT `+existingCols+` FROM tickets WHERE event_id = $1 ORDER BY id`, eventID)
	if err != nil {
		return err
	}
	n = 0
	for rows.Next() {
		e, err := scanExisting(rows)
		if err != nil {
			rows.Close()
			return err
		}
		t := bulkTicket{ID: e.id, EventID: e.eventID, UUID: e.uuid, Secret: e.secret, Serial: e.serial, QR: e.qr,
			OrderID: e.orderID, ParentID: e.parentID, Position: int64(e.position), ProductID: e.productID,
			VariationID: e.variationID, SubeventID: e.subeventID, SectionID: e.sectionID, Price: e.price,
			First: e.first, Last: e.last, Email: e.email, Holder: e.holder, ValidFrom: e.validFrom,
			ValidUntil: e.validUntil, Blocked: e.blocked, CreatedAt: e.createdAt, UpdatedAt: e.updatedAt}
		if err := enc.Encode(&t); err != nil {
			rows.Close()
			return err
		}
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if n != res.Tickets {
		return errors.New("bulk: the tickets changed while exported")
	}
	return bw.Flush()
}

const bulkTicketCols = `id, event_id, uuid, secret, serial, qr_code, order_id, parent_id, position, product_id,
	variation_id, subevent_id, section_id, price, first_name, last_name, email, holder_number, valid_from, valid_until,
	blocked, created_at, updated_at`

func (s *Store) bulkInsertSQLite(ctx context.Context, dec *gob.Decoder, res *BulkResult) error {
	return s.tryTx(ctx, "bulk insert", func(x dbx) error {
		ord, err := x.tx.PrepareContext(ctx, `INSERT INTO orders (id, event_id, code, uuid, status, email, name, created_at, updated_at, ticket_count)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer ord.Close()
		tic, err := x.tx.PrepareContext(ctx, `INSERT INTO tickets (`+bulkTicketCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer tic.Close()
		for range res.Orders {
			var o bulkOrder
			if err := dec.Decode(&o); err != nil {
				return err
			}
			if _, err := ord.ExecContext(ctx, o.ID, o.EventID, o.Code, o.UUID, o.Status, o.Email, o.Name,
				s.ts(o.CreatedAt), s.ts(o.UpdatedAt), o.TicketCount); err != nil {
				return err
			}
		}
		for range res.Tickets {
			var t bulkTicket
			if err := dec.Decode(&t); err != nil {
				return err
			}
			if _, err := tic.ExecContext(ctx, t.values(s)...); err != nil {
				return err
			}
		}
		return nil
	})
}

func (t *bulkTicket) values(s *Store) []any {
	return []any{t.ID, t.EventID, t.UUID, t.Secret, t.Serial, t.QR, t.OrderID, nid(t.ParentID), t.Position,
		t.ProductID, nid(t.VariationID), nid(t.SubeventID), nid(t.SectionID), t.Price, t.First, t.Last, t.Email,
		t.Holder, s.tsp(t.ValidFrom), s.tsp(t.ValidUntil), t.Blocked, s.ts(t.CreatedAt), s.ts(t.UpdatedAt)}
}

// gobRows feeds pgx's CopyFrom n values decoded from dec.
type gobRows struct {
	n    int
	dec  *gob.Decoder
	next func(dec *gob.Decoder) ([]any, error)
	vals []any
	err  error
}

func (r *gobRows) Next() bool {
	if r.n == 0 || r.err != nil {
		return false
	}
	r.n--
	r.vals, r.err = r.next(r.dec)
	return r.err == nil
}

func (r *gobRows) Values() ([]any, error) { return r.vals, r.err }
func (r *gobRows) Err() error             { return r.err }

func (s *Store) bulkCopyPostgres(ctx context.Context, dec *gob.Decoder, res *BulkResult) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	orders := &gobRows{n: res.Orders, dec: dec, next: func(dec *gob.Decoder) ([]any, error) {
		var o bulkOrder
		if err := dec.Decode(&o); err != nil {
			return nil, err
		}
		return []any{o.ID, o.EventID, o.Code, o.UUID, o.Status, o.Email, o.Name, o.CreatedAt, o.UpdatedAt, o.TicketCount}, nil
	}}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"orders"}, []string{"id", "event_id", "code", "uuid", "status", "email",
		"name", "created_at", "updated_at", "ticket_count"}, orders); err != nil {
		return err
	}
	if orders.err != nil {
		return orders.err
	}
	tickets := &gobRows{n: res.Tickets, dec: dec, next: func(dec *gob.Decoder) ([]any, error) {
		var t bulkTicket
		if err := dec.Decode(&t); err != nil {
			return nil, err
		}
		return t.values(s), nil
	}}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"tickets"}, []string{"id", "event_id", "uuid", "secret", "serial",
		"qr_code", "order_id", "parent_id", "position", "product_id", "variation_id", "subevent_id", "section_id", "price",
		"first_name", "last_name", "email", "holder_number", "valid_from", "valid_until", "blocked", "created_at",
		"updated_at"}, tickets); err != nil {
		return err
	}
	if tickets.err != nil {
		return tickets.err
	}
	return tx.Commit(ctx)
}

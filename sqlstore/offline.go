package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/admitdev/admit"
)

// Offline snapshots and the conflict report; see admit.Store.

func (s *Store) OfflineTickets(ctx context.Context, eventID int64, since *time.Time, fn func(*admit.OfflineTicket) error) error {
	q := `SELECT t.uuid, t.product_id, t.section_id, t.subevent_id, o.status, t.blocked, t.valid_from, t.valid_until
	FROM tickets t JOIN orders o ON o.id = t.order_id WHERE t.event_id = $1`
	args := []any{eventID}
	if since != nil {
		q += ` AND t.updated_at >= $2`
		args = append(args, s.ts(*since))
	}
	rows, err := s.reader().query(ctx, q, args...)
	if err != nil {
		return s.dbErr(err, "offline tickets")
	}
	defer rows.Close()
	for rows.Next() {
		t := &admit.OfflineTicket{}
		var status string
		if err := rows.Scan(&t.UUID, &t.ProductID, zid{&t.SectionID}, zid{&t.SubeventID}, &status, &t.Blocked,
			tmp{&t.ValidFrom}, tmp{&t.ValidUntil}); err != nil {
			return s.dbErr(err, "offline tickets")
		}
		t.OrderStatus = admit.OrderStatus(status)
		if err := fn(t); err != nil {
			return err
		}
	}
	return s.dbErr(rows.Err(), "offline tickets")
}

func (s *Store) ListStates(ctx context.Context, listID, afterScanID int64, fn func(admit.ListState) error) error {
	q := `SELECT t.uuid, cs.inside, cs.entries > 0 FROM checkin_state cs JOIN tickets t ON t.id = cs.ticket_id
	WHERE cs.list_id = $1`
	args := []any{listID}
	if afterScanID >= 0 {
		q += ` AND cs.ticket_id IN (SELECT sc.ticket_id FROM scans sc WHERE sc.list_id = $1 AND sc.id > $2 AND sc.result = 'ok')`
		args = append(args, afterScanID)
	}
	rows, err := s.reader().query(ctx, q, args...)
	if err != nil {
		return s.dbErr(err, "list states")
	}
	defer rows.Close()
	for rows.Next() {
		var st admit.ListState
		if err := rows.Scan(&st.UUID, &st.Inside, &st.Entered); err != nil {
			return s.dbErr(err, "list states")
		}
		if err := fn(st); err != nil {
			return err
		}
	}
	return s.dbErr(rows.Err(), "list states")
}

func (s *Store) SettledScanID(ctx context.Context, listID int64, before time.Time) (int64, error) {
	var id int64
	err := s.reader().row(ctx, `SELECT id FROM scans WHERE list_id = $1 AND server_time < $2 ORDER BY id DESC LIMIT 1`,
		listID, s.ts(before)).Scan(&id)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	return id, s.dbErr(err, "scans")
}

func (s *Store) Conflicts(ctx context.Context, eventID int64, limit int) ([]*admit.ConflictReport, int, error) {
	if limit <= 0 {
		limit = 1000
	}
	x := s.reader()
	var total int
	if err := x.row(ctx, `SELECT COUNT(*) FROM scans WHERE event_id = $1 AND conflict IS NOT NULL`, eventID).Scan(&total); err != nil {
		return nil, 0, s.dbErr(err, "conflicts")
	}
	rows, err := x.query(ctx, `SELECT `+scanCols+` FROM scans sc LEFT JOIN tickets t ON t.id = sc.ticket_id
	WHERE sc.event_id = $1 AND sc.conflict IS NOT NULL
	ORDER BY COALESCE(t.uuid, ''), sc.device_time, sc.device_name, sc.id LIMIT $2`, eventID, limit)
	if err != nil {
		return nil, 0, s.dbErr(err, "conflicts")
	}
	var out []*admit.ConflictReport
	for rows.Next() {
		sc, err := scanRow(rows)
		if err != nil {
			rows.Close()
			return nil, 0, s.dbErr(err, "conflicts")
		}
		out = append(out, &admit.ConflictReport{Scan: sc})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, s.dbErr(err, "conflicts")
	}
	ids := map[int64]bool{}
	for _, c := range out {
		sc := c.Scan
		if sc.Conflict == admit.ConflictAlreadyInside && sc.TicketID != 0 && sc.ListID != 0 {
			// The entry it ran into: the last admitted entry before it.
			other, err := scanRow(x.row(ctx, `SELECT `+scanCols+` FROM scans sc
			WHERE sc.ticket_id = $1 AND sc.list_id = $2 AND sc.type = 'entry' AND sc.result = 'ok' AND sc.id < $3
			ORDER BY sc.id DESC LIMIT 1`, sc.TicketID, sc.ListID, sc.ID))
			switch {
			case err == sql.ErrNoRows:
			case err != nil:
				return nil, 0, s.dbErr(err, "conflicts")
			default:
				c.Other = other
			}
		}
		for _, v := range []*admit.Scan{c.Scan, c.Other} {
			if v != nil && v.TicketID != 0 {
				ids[v.TicketID] = true
			}
		}
	}
	list := make([]int64, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	tickets, err := s.ticketsByID(ctx, x, list)
	if err != nil {
		return nil, 0, s.dbErr(err, "conflicts")
	}
	for _, c := range out {
		for _, v := range []*admit.Scan{c.Scan, c.Other} {
			if v != nil {
				v.Ticket = tickets[v.TicketID]
			}
		}
	}
	return out, total, nil
}

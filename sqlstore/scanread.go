package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/admitdev/admit"
)

// Reading the scan log.

// ---------------------------------------------------------------------------
// The scan log.

const scanCols = `sc.id, sc.ticket_id, sc.event_id, sc.list_id, sc.device_id, sc.device_name, sc.redeemer,
	sc.source, sc.type, sc.result, sc.nonce, sc.device_time, sc.server_time, sc.forced,
	sc.offline, sc.device_verdict, sc.clock_offset_ms, sc.conflict`

// scanRow reads a row of scanCols.
func scanRow(r interface{ Scan(...any) error }) (*admit.Scan, error) {
	var sc admit.Scan
	var typ, res string
	var offset sql.NullInt64
	if err := r.Scan(&sc.ID, zid{&sc.TicketID}, zid{&sc.EventID}, zid{&sc.ListID}, zid{&sc.DeviceID},
		&sc.DeviceName, &sc.Redeemer, &sc.Source, &typ, &res, zstr{&sc.Nonce}, tmp{&sc.DeviceTime},
		tm{&sc.ServerTime}, &sc.Forced, &sc.Offline, zstr{&sc.DeviceVerdict}, &offset, zstr{(*string)(&sc.Conflict)}); err != nil {
		return nil, err
	}
	sc.Type, sc.Result = admit.ScanType(typ), admit.Reason(res)
	sc.ClockOffset = time.Duration(offset.Int64) * time.Millisecond
	return &sc, nil
}

// offsetMS is an offline scan's clock offset as stored.
func offsetMS(sc *admit.Scan) any {
	if !sc.Offline {
		return nil
	}
	return sc.ClockOffset.Milliseconds()
}

func (s *Store) Scans(ctx context.Context, f admit.ScanFilter) ([]*admit.Scan, int, error) {
	var conds []string
	var args []any
	add := func(c string, v any) {
		args = append(args, v)
		conds = append(conds, c+" $"+strconv.Itoa(len(args)))
	}
	if f.EventID != 0 {
		add("sc.event_id =", f.EventID)
	}
	if f.ListID != 0 {
		add("sc.list_id =", f.ListID)
	}
	if f.TicketID != 0 {
		add("sc.ticket_id =", f.TicketID)
	}
	if f.Result != "" {
		add("sc.result =", string(f.Result))
	}
	if f.Type != "" {
		add("sc.type =", string(f.Type))
	}
	if f.Redeemer != "" {
		add("sc.redeemer =", f.Redeemer)
	}
	if f.DeviceName != "" {
		add("sc.device_name =", f.DeviceName)
	}
	if f.DeviceID != 0 {
		add("sc.device_id =", f.DeviceID)
	}
	if f.Refused {
		conds = append(conds, "sc.result <> 'ok'")
	}
	if f.AfterID != 0 {
		add("sc.id >", f.AfterID)
	}
	if f.Since != nil {
		add("sc.server_time >=", s.ts(*f.Since))
	}
	if f.Until != nil {
		add("sc.server_time <", s.ts(*f.Until))
	}
	if f.HolderNumber != "" {
		add("t.holder_number =", f.HolderNumber)
	}
	if f.SectionIDs != nil {
		var c string
		c, args = inSections(f.SectionIDs, args)
		conds = append(conds, c)
	}
	from := ` FROM scans sc LEFT JOIN tickets t ON t.id = sc.ticket_id`
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	x := s.reader()
	rows, err := x.query(ctx, `SELECT `+scanCols+from+where+` ORDER BY sc.id`+limitClause(f.Limit, f.Offset), args...)
	if err != nil {
		return nil, 0, s.dbErr(err, "scans")
	}
	var out []*admit.Scan
	for rows.Next() {
		sc, err := scanRow(rows)
		if err != nil {
			rows.Close()
			return nil, 0, s.dbErr(err, "scans")
		}
		out = append(out, sc)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, s.dbErr(err, "scans")
	}
	total := len(out)
	if (f.Limit > 0 || f.Offset > 0) && !f.NoTotal {
		if err := x.row(ctx, `SELECT COUNT(*)`+from+where, args...).Scan(&total); err != nil {
			return nil, 0, s.dbErr(err, "scans")
		}
	}
	// The tickets, with their related fields.
	var ids []int64
	seen := map[int64]bool{}
	for _, sc := range out {
		if sc.TicketID != 0 && !seen[sc.TicketID] {
			seen[sc.TicketID] = true
			ids = append(ids, sc.TicketID)
		}
	}
	tickets, err := s.ticketsByID(ctx, x, ids)
	if err != nil {
		return nil, 0, s.dbErr(err, "scans")
	}
	for _, sc := range out {
		sc.Ticket = tickets[sc.TicketID]
	}
	return out, total, nil
}

// ticketsByID loads tickets by id, in chunks.
func (s *Store) ticketsByID(ctx context.Context, x dbx, ids []int64) (map[int64]*admit.Ticket, error) {
	out := make(map[int64]*admit.Ticket, len(ids))
	const chunk = 500
	for len(ids) > 0 {
		n := min(chunk, len(ids))
		cond, args := inIDs("t.id", ids[:n], nil)
		ids = ids[n:]
		rows, err := x.query(ctx, ticketSelect+` WHERE `+cond, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			t, err := scanTicket(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out[t.ID] = t
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

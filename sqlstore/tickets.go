package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"github.com/admitdev/admit"
)

// ticketSelect reads a ticket with its related fields.
const ticketCols = `t.id, t.uuid, t.secret, t.serial, t.event_id, t.order_id, t.product_id,
	t.variation_id, t.subevent_id, t.section_id, t.parent_id, t.position, t.price,
	t.first_name, t.last_name, t.email, t.holder_number, t.valid_from, t.valid_until,
	t.blocked, t.qr_code, t.created_at, t.updated_at,
	o.code, o.uuid, o.status, o.email, o.name, o.created_at,
	p.name, p.admission, v.name, sec.name, sec.description, se.name`

const ticketJoins = ` FROM tickets t
	JOIN orders o ON o.id = t.order_id
	JOIN products p ON p.id = t.product_id
	LEFT JOIN variations v ON v.id = t.variation_id
	LEFT JOIN sections sec ON sec.id = t.section_id
	LEFT JOIN subevents se ON se.id = t.subevent_id`

const ticketSelect = `SELECT ` + ticketCols + ticketJoins

// stateCols are the checkin_state columns read with a ticket (LEFT JOIN cs).
const stateCols = `cs.ticket_id, cs.list_id, cs.inside, cs.entries, cs.exits, cs.first_at, cs.first_device_uuid, cs.first_device_name, cs.last_at`

// ticketDest returns the scan destinations of ticketCols for t.
func ticketDest(t *admit.Ticket) []any {
	var status *string = (*string)(&t.OrderStatus)
	return []any{&t.ID, &t.UUID, &t.Secret, &t.Serial, &t.EventID, &t.OrderID, &t.ProductID,
		zid{&t.VariationID}, zid{&t.SubeventID}, zid{&t.SectionID}, zid{&t.ParentID}, &t.Position, &t.Price,
		&t.FirstName, &t.LastName, &t.Email, &t.HolderNumber, tmp{&t.ValidFrom}, tmp{&t.ValidUntil},
		&t.Blocked, &t.QRCode, tm{&t.CreatedAt}, tm{&t.UpdatedAt},
		&t.OrderCode, &t.OrderUUID, status, &t.OrderEmail, &t.OrderName, tm{&t.OrderCreatedAt},
		&t.ProductName, &t.ProductAdmission, zstr{&t.VariationName}, zstr{&t.SectionName},
		zstr{&t.SectionDescription}, zstr{&t.SubeventName}}
}

// stateDest scans stateCols; set reports whether a row was joined.
type stateDest struct {
	ticketID, listID int64
	st               admit.CheckinState
	inside           sql.NullBool
	entries, exits   sql.NullInt64
	uuid, name       string
}

func (d *stateDest) dest() []any {
	return []any{zid{&d.ticketID}, zid{&d.listID}, &d.inside, &d.entries, &d.exits, tm{&d.st.FirstAt},
		zstr{&d.uuid}, zstr{&d.name}, tm{&d.st.LastAt}}
}

func (d *stateDest) state() *admit.CheckinState {
	if d.ticketID == 0 {
		return nil
	}
	st := d.st
	st.TicketID, st.ListID = d.ticketID, d.listID
	st.Inside, st.Entries, st.Exits = d.inside.Bool, int(d.entries.Int64), int(d.exits.Int64)
	st.FirstDeviceUUID, st.FirstDeviceName = d.uuid, d.name
	return &st
}

func scanTicket(r interface{ Scan(...any) error }) (*admit.Ticket, error) {
	var t admit.Ticket
	if err := r.Scan(ticketDest(&t)...); err != nil {
		return nil, err
	}
	return &t, nil
}

// oneTicketSelect reads one ticket with the count of its order's tickets
// (kept on the order by the imports) and the catalog version, in one
// statement: one snapshot, one round trip.
const oneTicketSelect = `SELECT ` + ticketCols + `, o.ticket_count,
	(SELECT cv.version FROM catalog_version cv WHERE cv.id = 1)` + ticketJoins

func (s *Store) oneTicket(ctx context.Context, where string, args ...any) (*admit.Ticket, error) {
	var t admit.Ticket
	dest := append(ticketDest(&t), &t.OrderTickets, &t.CatalogVersion)
	if err := s.reader().row(ctx, oneTicketSelect+` WHERE `+where, args...).Scan(dest...); err != nil {
		return nil, s.dbErr(err, "ticket")
	}
	return &t, nil
}

// EventTickets reads every ticket of an event in one read transaction; see
// admit.Store.
func (s *Store) EventTickets(ctx context.Context, eventID, max int64, fn func(*admit.Ticket) error) (admit.TicketsAt, error) {
	var at admit.TicketsAt
	tx, err := s.readTx(ctx, "event tickets")
	if err != nil {
		return at, err
	}
	defer tx.Rollback()
	x := dbx{s: s, db: s.rdb, tx: tx}
	err = x.row(ctx, `SELECT cv.version, tv.version FROM catalog_version cv, tickets_version tv WHERE cv.id = 1 AND tv.id = 1`).
		Scan(&at.Catalog, &at.Tickets)
	if err != nil {
		return at, s.dbErr(err, "event tickets")
	}
	if err := x.row(ctx, `SELECT COUNT(*) FROM tickets WHERE event_id = $1`, eventID).Scan(&at.Count); err != nil {
		return at, s.dbErr(err, "event tickets")
	}
	if max > 0 && at.Count > max {
		return at, nil
	}
	rows, err := x.query(ctx, `SELECT `+ticketCols+`, o.ticket_count`+ticketJoins+` WHERE t.event_id = $1`, eventID)
	if err != nil {
		return at, s.dbErr(err, "event tickets")
	}
	defer rows.Close()
	for rows.Next() {
		t := &admit.Ticket{CatalogVersion: at.Catalog}
		if err := rows.Scan(append(ticketDest(t), &t.OrderTickets)...); err != nil {
			return at, s.dbErr(err, "event tickets")
		}
		if err := fn(t); err != nil {
			return at, err
		}
	}
	return at, s.dbErr(rows.Err(), "event tickets")
}

// TicketsVersion returns the counter that every change of a ticket or an
// order moves; see admit.Store.
func (s *Store) TicketsVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.reader().row(ctx, qTicketsVersion).Scan(&v)
	return v, s.dbErr(err, "tickets version")
}

func (s *Store) TicketByUUID(ctx context.Context, uuid string) (*admit.Ticket, error) {
	return s.oneTicket(ctx, `t.uuid = $1`, strings.ToLower(uuid))
}

func (s *Store) TicketBySecret(ctx context.Context, eventID int64, secret string) (*admit.Ticket, error) {
	return s.oneTicket(ctx, `t.event_id = $1 AND t.secret = $2`, eventID, secret)
}

func (s *Store) TicketBySerial(ctx context.Context, eventID int64, serial string) (*admit.Ticket, error) {
	return s.oneTicket(ctx, `t.event_id = $1 AND t.serial = $2`, eventID, serial)
}

func (s *Store) Addons(ctx context.Context, parentID int64) ([]*admit.Ticket, error) {
	rows, err := s.reader().query(ctx, ticketSelect+` WHERE t.parent_id = $1 ORDER BY t.position, t.id`, parentID)
	if err != nil {
		return nil, s.dbErr(err, "add-ons")
	}
	defer rows.Close()
	var out []*admit.Ticket
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, s.dbErr(err, "add-ons")
		}
		out = append(out, t)
	}
	return out, s.dbErr(rows.Err(), "add-ons")
}

// ticketWhere builds the WHERE clause of a ticket filter, its search as
// planned by planSearch (sp, nil for none: see search.go); args continue
// after the ones given.
func (s *Store) ticketWhere(f admit.TicketFilter, sp *searchPlan, args []any) (string, []any) {
	var conds []string
	add := func(c string, vals ...any) {
		for _, v := range vals {
			args = append(args, v)
			c = strings.Replace(c, "?", "$"+strconv.Itoa(len(args)), 1)
		}
		conds = append(conds, c)
	}
	if f.EventID != 0 {
		add("t.event_id = ?", f.EventID)
	}
	if l := f.List; l != nil {
		if l.EventID != 0 {
			add("t.event_id = ?", l.EventID)
		}
		if len(l.ProductIDs) > 0 {
			var c string
			c, args = inIDs("t.product_id", l.ProductIDs, args)
			conds = append(conds, c)
		}
		if len(l.SectionIDs) > 0 {
			var c string
			c, args = inIDs("t.section_id", l.SectionIDs, args)
			conds = append(conds, c)
		}
		if l.SubeventID != 0 {
			add("t.subevent_id = ?", l.SubeventID)
		}
	}
	if f.SectionIDs != nil {
		var c string
		c, args = inSections(f.SectionIDs, args)
		conds = append(conds, c)
	}
	if f.SubeventID != 0 {
		add("t.subevent_id = ?", f.SubeventID)
	}
	if f.Admissible {
		if f.IncludePending {
			conds = append(conds, "o.status IN ('paid', 'pending') AND NOT t.blocked")
		} else {
			conds = append(conds, "o.status = 'paid' AND NOT t.blocked")
		}
	}
	if f.PaidOnly {
		conds = append(conds, "o.status = 'paid'")
	}
	if f.ModifiedSince != nil {
		add("t.updated_at >= ?", s.ts(*f.ModifiedSince))
	}
	if sp != nil {
		var c string
		c, args = sp.where(s, args)
		conds = append(conds, c)
	}
	if len(conds) == 0 {
		return "", args
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

func ticketOrder(f admit.TicketFilter) (string, error) {
	dir := ""
	if f.Desc {
		dir = " DESC"
	}
	var key string
	switch f.OrderBy {
	case admit.OrderByID:
	case admit.OrderByOrderTime:
		key = "o.created_at"
	case admit.OrderByLastName:
		key = "LOWER(t.last_name)"
	case admit.OrderByFirstName:
		key = "LOWER(t.first_name)"
	case admit.OrderByUUID:
		key = "t.uuid"
	case admit.OrderByStatus:
		key = "o.status"
	case admit.OrderByOrderUUID:
		key = "o.uuid"
	default:
		return "", admit.Errorf(admit.EInvalid, "unknown ticket order %q", f.OrderBy)
	}
	if key == "" {
		return " ORDER BY t.id" + dir, nil
	}
	return " ORDER BY " + key + dir + ", t.id" + dir, nil
}

// limitClause returns LIMIT/OFFSET for limit (0: none) and offset.
func limitClause(limit, offset int) string {
	if limit <= 0 && offset <= 0 {
		return ""
	}
	l := "9223372036854775807"
	if limit > 0 {
		l = strconv.Itoa(limit)
	}
	return " LIMIT " + l + " OFFSET " + strconv.Itoa(max(offset, 0))
}

func (s *Store) FindTickets(ctx context.Context, f admit.TicketFilter) ([]*admit.Ticket, int, error) {
	order, err := ticketOrder(f)
	if err != nil {
		return nil, 0, err
	}
	sp, err := s.planSearch(ctx, f, true)
	if err != nil {
		return nil, 0, err
	}
	var args []any
	cols, joins := ticketCols, ticketJoins
	if f.StateListID != 0 {
		args = append(args, f.StateListID)
		cols += ", " + stateCols
		joins += ` LEFT JOIN checkin_state cs ON cs.ticket_id = t.id AND cs.list_id = $1`
	}
	where, args := s.ticketWhere(f, sp, args)
	x := s.reader()
	rows, err := x.query(ctx, `SELECT `+cols+joins+where+order+limitClause(f.Limit, f.Offset), args...)
	if err != nil {
		return nil, 0, s.dbErr(err, "tickets")
	}
	var out []*admit.Ticket
	for rows.Next() {
		t := &admit.Ticket{}
		dest := ticketDest(t)
		var sd stateDest
		if f.StateListID != 0 {
			dest = append(dest, sd.dest()...)
		}
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return nil, 0, s.dbErr(err, "tickets")
		}
		t.State = sd.state()
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, s.dbErr(err, "tickets")
	}
	total := len(out)
	if f.Count {
		if f.Limit > 0 || f.Offset > 0 {
			// The count does not need the state join.
			where, cargs := s.ticketWhere(f, sp, nil)
			if err := x.row(ctx, `SELECT COUNT(*)`+ticketJoins+where, cargs...).Scan(&total); err != nil {
				return nil, 0, s.dbErr(err, "tickets")
			}
		}
	}
	return out, total, nil
}

func (s *Store) TicketCounts(ctx context.Context, f admit.TicketFilter, listID int64) ([]admit.TicketCount, error) {
	sp, err := s.planSearch(ctx, f, false)
	if err != nil {
		return nil, err
	}
	args := []any{listID}
	where, args := s.ticketWhere(f, sp, args)
	rows, err := s.reader().query(ctx, `SELECT t.product_id, t.variation_id, COUNT(*), COUNT(cs.ticket_id)`+ticketJoins+`
		LEFT JOIN checkin_state cs ON cs.ticket_id = t.id AND cs.list_id = $1 AND cs.entries > 0`+where+`
		GROUP BY t.product_id, t.variation_id ORDER BY t.product_id, COALESCE(t.variation_id, 0)`, args...)
	if err != nil {
		return nil, s.dbErr(err, "ticket counts")
	}
	defer rows.Close()
	var out []admit.TicketCount
	for rows.Next() {
		var c admit.TicketCount
		if err := rows.Scan(&c.ProductID, zid{&c.VariationID}, &c.Total, &c.Checkins); err != nil {
			return nil, s.dbErr(err, "ticket counts")
		}
		out = append(out, c)
	}
	return out, s.dbErr(rows.Err(), "ticket counts")
}

const stateSelect = `SELECT ticket_id, list_id, inside, entries, exits, first_at, first_device_uuid, first_device_name, last_at FROM checkin_state`

func scanState(r interface{ Scan(...any) error }) (*admit.CheckinState, error) {
	var st admit.CheckinState
	if err := r.Scan(&st.TicketID, &st.ListID, &st.Inside, &st.Entries, &st.Exits, tm{&st.FirstAt},
		&st.FirstDeviceUUID, &st.FirstDeviceName, tm{&st.LastAt}); err != nil {
		return nil, err
	}
	return &st, nil
}

// CheckinState returns the ticket's state on the list; ENotFound if the
// ticket was never scanned on it.
func (s *Store) CheckinState(ctx context.Context, ticketID, listID int64) (*admit.CheckinState, error) {
	st, err := scanState(s.reader().row(ctx, stateSelect+` WHERE ticket_id = $1 AND list_id = $2`, ticketID, listID))
	return st, s.dbErr(err, "check-in state")
}

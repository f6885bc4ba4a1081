package sqlstore

import (
	"context"
	"database/sql"

	"github.com/admitdev/admit"
)

// Organizers, events and what an event is made of: subevents, sections,
// products with their variations, check-in lists.

const organizerCols = `id, slug, name, domain`

func scanOrganizer(r interface{ Scan(...any) error }) (*admit.Organizer, error) {
	var o admit.Organizer
	if err := r.Scan(&o.ID, &o.Slug, &o.Name, &o.Domain); err != nil {
		return nil, err
	}
	return &o, nil
}

func (s *Store) Organizer(ctx context.Context, id int64) (*admit.Organizer, error) {
	o, err := scanOrganizer(s.reader().row(ctx, `SELECT `+organizerCols+` FROM organizers WHERE id = $1`, id))
	return o, s.dbErr(err, "organizer")
}

func (s *Store) OrganizerBySlug(ctx context.Context, slug string) (*admit.Organizer, error) {
	o, err := scanOrganizer(s.reader().row(ctx, `SELECT `+organizerCols+` FROM organizers WHERE slug = $1`, slug))
	return o, s.dbErr(err, "organizer")
}

const eventCols = `id, uuid, organizer_id, slug, name, date_from, date_to, timezone, signing, public_key_pem, private_key_pem, created_at`

func scanEvent(r interface{ Scan(...any) error }) (*admit.Event, error) {
	var e admit.Event
	if err := r.Scan(&e.ID, &e.UUID, &e.OrganizerID, &e.Slug, &e.Name, tm{&e.DateFrom}, tm{&e.DateTo},
		&e.Timezone, &e.Signing, &e.PublicKeyPEM, &e.PrivateKeyPEM, tm{&e.CreatedAt}); err != nil {
		return nil, err
	}
	return &e, nil
}

func (s *Store) Event(ctx context.Context, id int64) (*admit.Event, error) {
	e, err := scanEvent(s.reader().row(ctx, `SELECT `+eventCols+` FROM events WHERE id = $1`, id))
	return e, s.dbErr(err, "event")
}

func (s *Store) EventByUUID(ctx context.Context, uuid string) (*admit.Event, error) {
	e, err := scanEvent(s.reader().row(ctx, `SELECT `+eventCols+` FROM events WHERE uuid = $1`, uuid))
	return e, s.dbErr(err, "event")
}

func (s *Store) EventBySlug(ctx context.Context, organizerID int64, slug string) (*admit.Event, error) {
	e, err := scanEvent(s.reader().row(ctx, `SELECT `+eventCols+` FROM events WHERE organizer_id = $1 AND slug = $2`, organizerID, slug))
	return e, s.dbErr(err, "event")
}

func (s *Store) Events(ctx context.Context, organizerID int64) ([]*admit.Event, error) {
	rows, err := s.reader().query(ctx, `SELECT `+eventCols+` FROM events WHERE organizer_id = $1 ORDER BY created_at, id`, organizerID)
	if err != nil {
		return nil, s.dbErr(err, "events")
	}
	defer rows.Close()
	var out []*admit.Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, s.dbErr(err, "events")
		}
		out = append(out, e)
	}
	return out, s.dbErr(rows.Err(), "events")
}

const subeventCols = `id, event_id, name, date_from, date_to`

func scanSubevent(r interface{ Scan(...any) error }) (*admit.Subevent, error) {
	var e admit.Subevent
	if err := r.Scan(&e.ID, &e.EventID, &e.Name, tm{&e.DateFrom}, tm{&e.DateTo}); err != nil {
		return nil, err
	}
	return &e, nil
}

func (s *Store) Subevents(ctx context.Context, eventID int64) ([]*admit.Subevent, error) {
	rows, err := s.reader().query(ctx, `SELECT `+subeventCols+` FROM subevents WHERE event_id = $1 ORDER BY id`, eventID)
	if err != nil {
		return nil, s.dbErr(err, "subevents")
	}
	defer rows.Close()
	var out []*admit.Subevent
	for rows.Next() {
		e, err := scanSubevent(rows)
		if err != nil {
			return nil, s.dbErr(err, "subevents")
		}
		out = append(out, e)
	}
	return out, s.dbErr(rows.Err(), "subevents")
}

func (s *Store) Sections(ctx context.Context, eventID int64) ([]*admit.Section, error) {
	rows, err := s.reader().query(ctx, `SELECT id, event_id, name, description, position, capacity FROM sections WHERE event_id = $1 ORDER BY position, id`, eventID)
	if err != nil {
		return nil, s.dbErr(err, "sections")
	}
	defer rows.Close()
	var out []*admit.Section
	for rows.Next() {
		var e admit.Section
		var capacity sql.NullInt64
		if err := rows.Scan(&e.ID, &e.EventID, &e.Name, &e.Description, &e.Position, &capacity); err != nil {
			return nil, s.dbErr(err, "sections")
		}
		e.Capacity = optInt(capacity)
		out = append(out, &e)
	}
	return out, s.dbErr(rows.Err(), "sections")
}

func (s *Store) Products(ctx context.Context, eventID int64) ([]*admit.Product, error) {
	x := s.reader()
	rows, err := x.query(ctx, `SELECT id, event_id, name, admission, position FROM products WHERE event_id = $1 ORDER BY position, id`, eventID)
	if err != nil {
		return nil, s.dbErr(err, "products")
	}
	var out []*admit.Product
	byID := map[int64]*admit.Product{}
	for rows.Next() {
		var p admit.Product
		if err := rows.Scan(&p.ID, &p.EventID, &p.Name, &p.Admission, &p.Position); err != nil {
			rows.Close()
			return nil, s.dbErr(err, "products")
		}
		out = append(out, &p)
		byID[p.ID] = &p
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.dbErr(err, "products")
	}
	rows, err = x.query(ctx, `SELECT v.id, v.product_id, v.name, v.position FROM variations v JOIN products p ON p.id = v.product_id
		WHERE p.event_id = $1 ORDER BY v.product_id, v.position, v.id`, eventID)
	if err != nil {
		return nil, s.dbErr(err, "variations")
	}
	defer rows.Close()
	for rows.Next() {
		var v admit.Variation
		if err := rows.Scan(&v.ID, &v.ProductID, &v.Name, &v.Position); err != nil {
			return nil, s.dbErr(err, "variations")
		}
		if p := byID[v.ProductID]; p != nil {
			p.Variations = append(p.Variations, v)
		}
	}
	return out, s.dbErr(rows.Err(), "variations")
}

const listCols = `id, uuid, event_id, name, subevent_id, allow_multiple_entries, allow_entry_after_exit, include_pending, is_default, position, capacity`

func scanList(r interface{ Scan(...any) error }) (*admit.CheckinList, error) {
	var l admit.CheckinList
	var capacity sql.NullInt64
	if err := r.Scan(&l.ID, &l.UUID, &l.EventID, &l.Name, zid{&l.SubeventID}, &l.AllowMultipleEntries,
		&l.AllowEntryAfterExit, &l.IncludePending, &l.IsDefault, &l.Position, &capacity); err != nil {
		return nil, err
	}
	l.Capacity = optInt(capacity)
	return &l, nil
}

// optInt is a nullable integer column: NULL is nil.
func optInt(n sql.NullInt64) *int {
	if !n.Valid {
		return nil
	}
	v := int(n.Int64)
	return &v
}

// lists loads the lists where cond holds, with their products and sections.
func (s *Store) lists(ctx context.Context, x dbx, cond string, arg int64) ([]*admit.CheckinList, error) {
	rows, err := x.query(ctx, `SELECT `+listCols+` FROM checkin_lists WHERE `+cond+` ORDER BY position, id`, arg)
	if err != nil {
		return nil, err
	}
	var out []*admit.CheckinList
	byID := map[int64]*admit.CheckinList{}
	for rows.Next() {
		l, err := scanList(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, l)
		byID[l.ID] = l
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	for _, link := range []struct {
		table, col string
		dst        func(l *admit.CheckinList) *[]int64
	}{
		{"list_products", "product_id", func(l *admit.CheckinList) *[]int64 { return &l.ProductIDs }},
		{"list_sections", "section_id", func(l *admit.CheckinList) *[]int64 { return &l.SectionIDs }},
	} {
		rows, err := x.query(ctx, `SELECT k.list_id, k.`+link.col+` FROM `+link.table+` k JOIN checkin_lists l ON l.id = k.list_id
			WHERE l.`+cond+` ORDER BY k.list_id, k.`+link.col, arg)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var lid, id int64
			if err := rows.Scan(&lid, &id); err != nil {
				rows.Close()
				return nil, err
			}
			if l := byID[lid]; l != nil {
				*link.dst(l) = append(*link.dst(l), id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) Lists(ctx context.Context, eventID int64) ([]*admit.CheckinList, error) {
	ls, err := s.lists(ctx, s.reader(), "event_id = $1", eventID)
	return ls, s.dbErr(err, "lists")
}

func (s *Store) List(ctx context.Context, id int64) (*admit.CheckinList, error) {
	ls, err := s.lists(ctx, s.reader(), "id = $1", id)
	if err == nil && len(ls) == 0 {
		err = sql.ErrNoRows
	}
	if err != nil {
		return nil, s.dbErr(err, "list")
	}
	return ls[0], nil
}

func (s *Store) DefaultList(ctx context.Context, eventID int64) (*admit.CheckinList, error) {
	ls, err := s.lists(ctx, s.reader(), "event_id = $1 AND is_default", eventID)
	if err == nil && len(ls) == 0 {
		err = sql.ErrNoRows
	}
	if err != nil {
		return nil, s.dbErr(err, "default list")
	}
	return ls[0], nil
}

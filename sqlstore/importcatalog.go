// An import's catalog: the event and its organizer, subevents, sections,
// products and check-in lists, written from the file or, for an existing
// event, loaded.

package sqlstore

import (
	"context"
	"database/sql"

	"github.com/admitdev/admit"
)

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

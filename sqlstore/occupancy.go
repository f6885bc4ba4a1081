package sqlstore

import (
	"context"
	"slices"

	"github.com/admitdev/admit"
)

// Occupancy: the live counts come from checkin_state, per list and per
// section in one pass over its index (list_id, section_id, inside,
// entries, exits); the totals from the tickets, which only an import changes:
// they are kept per event for one catalog version (every import moves it).

// ticketGroup counts an event's tickets that are not blocked, of paid or
// pending orders, per product, section, date and payment.
type ticketGroup struct {
	product, section, subevent int64
	pending                    bool
	n                          int
}

type occupancyTotals struct {
	version int64
	groups  []ticketGroup
}

func (s *Store) Occupancy(ctx context.Context, eventID int64) (*admit.Occupancy, error) {
	occ, err := s.occupancy(ctx, eventID)
	return occ, s.dbErr(err, "occupancy")
}

func (s *Store) occupancy(ctx context.Context, eventID int64) (*admit.Occupancy, error) {
	x := s.reader()
	version, err := s.CatalogVersion(ctx)
	if err != nil {
		return nil, err
	}
	lists, err := s.lists(ctx, x, "event_id = $1", eventID)
	if err != nil {
		return nil, err
	}
	sections, err := s.Sections(ctx, eventID)
	if err != nil {
		return nil, err
	}
	occ := &admit.Occupancy{EventID: eventID}
	listAt := map[int64]int{}
	for i, l := range lists {
		listAt[l.ID] = i
		occ.Lists = append(occ.Lists, admit.AreaOccupancy{ID: l.ID, UUID: l.UUID, Name: l.Name, Capacity: l.Capacity})
	}
	sectionAt := map[int64]int{}
	for i, sec := range sections {
		sectionAt[sec.ID] = i
		occ.Sections = append(occ.Sections, admit.AreaOccupancy{ID: sec.ID, Name: sec.Name, Capacity: sec.Capacity})
	}
	if len(lists) == 0 {
		return occ, nil
	}
	// One pass over the index (list_id, section_id, inside, entries, exits).
	rows, err := x.query(ctx, `SELECT cs.list_id, cs.section_id, COALESCE(SUM(cs.entries), 0), COALESCE(SUM(cs.exits), 0),
		COUNT(CASE WHEN cs.inside THEN 1 END)
		FROM checkin_state cs WHERE cs.list_id IN (SELECT id FROM checkin_lists WHERE event_id = $1)
		GROUP BY cs.list_id, cs.section_id`, eventID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var listID, sectionID int64
		var entries, exits, inside int
		if err := rows.Scan(&listID, zid{&sectionID}, &entries, &exits, &inside); err != nil {
			return nil, err
		}
		areas := []*admit.AreaOccupancy{}
		if i, ok := listAt[listID]; ok {
			areas = append(areas, &occ.Lists[i])
		}
		if i, ok := sectionAt[sectionID]; ok {
			areas = append(areas, &occ.Sections[i])
		}
		for _, a := range areas {
			a.Entries += entries
			a.Exits += exits
			a.Inside += inside
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()

	groups, err := s.ticketGroups(ctx, x, eventID, version)
	if err != nil {
		return nil, err
	}
	// A list's total: the admissible tickets it covers. A section's: its
	// tickets admissible on at least one list of the event.
	admits := func(l *admit.CheckinList, g ticketGroup) bool {
		return (!g.pending || l.IncludePending) &&
			(len(l.ProductIDs) == 0 || slices.Contains(l.ProductIDs, g.product)) &&
			(len(l.SectionIDs) == 0 || slices.Contains(l.SectionIDs, g.section)) &&
			(l.SubeventID == 0 || l.SubeventID == g.subevent)
	}
	for _, g := range groups {
		anyList := false
		for i, l := range lists {
			if admits(l, g) {
				occ.Lists[i].Total += g.n
				anyList = true
			}
		}
		if i, ok := sectionAt[g.section]; ok && anyList {
			occ.Sections[i].Total += g.n
		}
	}
	return occ, nil
}

// ticketGroups counts the event's tickets that could be admitted, per
// product, section, date and payment, once per catalog version.
func (s *Store) ticketGroups(ctx context.Context, x dbx, eventID, version int64) ([]ticketGroup, error) {
	cache := &s.occTotals
	if v, ok := cache.Load(eventID); ok && v.(*occupancyTotals).version == version {
		return v.(*occupancyTotals).groups, nil
	}
	rows, err := x.query(ctx, `SELECT t.product_id, t.section_id, t.subevent_id, o.status = 'pending', COUNT(*)
		FROM tickets t JOIN orders o ON o.id = t.order_id
		WHERE t.event_id = $1 AND NOT t.blocked AND o.status IN ('paid', 'pending')
		GROUP BY t.product_id, t.section_id, t.subevent_id, o.status`, eventID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var groups []ticketGroup
	for rows.Next() {
		var g ticketGroup
		if err := rows.Scan(&g.product, zid{&g.section}, zid{&g.subevent}, &g.pending, &g.n); err != nil {
			return nil, err
		}
		groups = append(groups, g)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Read after the version: an import between the two is already in the
	// groups, and its version makes the next call read them again.
	cache.Store(eventID, &occupancyTotals{version: version, groups: groups})
	return groups, nil
}

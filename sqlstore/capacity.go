package sqlstore

import (
	"context"
	"database/sql"

	"github.com/admitdev/admit"
)

// Capacities: a counter row per area (a list, or a section over every list
// of its event) that has a capacity, in area_counts, apart from the
// catalog's tables (an import locks those; scans must not wait for it).
//
// An entry that takes a place (the ticket goes from outside to inside)
// claims one in each of its areas with a conditional UPDATE (inside <
// capacity), in the check-in's transaction: on PostgreSQL the row lock
// serialises the claims on one area across nodes, and the WHERE is
// re-evaluated on the latest committed count. A claim that finds its area
// full refuses the entry (ReasonCapacity) after giving back the claims it
// made: a refusal leaves nothing half-done, which SQLite's group commit
// (batches without savepoints) needs. An exit that makes a ticket leave
// gives its places back. Attempts on one (ticket, list) into limited areas
// take turns on PostgreSQL (qNonceLock), so that the state read before the
// claim is the state the check-in changes.
//
// Lock order on PostgreSQL: the (ticket, list) advisory lock, then the
// list's counter, then the section's, then the check-in state. An exit
// locks its check-in state before the counters, but never one an entry of
// another (ticket, list) waits for: no cycle.

const (
	areaList    = "list"
	areaSection = "section"

	// qClaim takes a place (any place when $3, a forced entry) and says
	// whether it went over the capacity; no row: full, or no counter.
	qClaim = `UPDATE area_counts SET inside = inside + 1
	WHERE area = $1 AND area_id = $2 AND (inside < capacity OR $3) RETURNING inside > capacity`
	qRelease   = `UPDATE area_counts SET inside = inside - 1 WHERE area = $1 AND area_id = $2 AND inside > 0`
	qAreaKnown = `SELECT capacity FROM area_counts WHERE area = $1 AND area_id = $2`
)

// area is a list or a section with its capacity (nil: none).
type area struct {
	kind     string
	id       int64
	capacity *int
}

// sectionMove is a stored ticket that an import moved to another section.
type sectionMove struct {
	ticketID int64
	from, to int64
}

// optArg is a nullable integer argument.
func optArg(n *int) any {
	if n == nil {
		return nil
	}
	return int64(*n)
}

// limitedAreas are the areas with a capacity that the attempt enters or
// leaves, in lock order.
func limitedAreas(a *admit.ScanAttempt) []area {
	var out []area
	if a.ListLimited {
		out = append(out, area{kind: areaList, id: a.Scan.ListID})
	}
	if a.SectionLimited && a.SectionID != 0 {
		out = append(out, area{kind: areaSection, id: a.SectionID})
	}
	return out
}

// claim takes a place in ar. ok false: the area is full (or has no counter
// any more: then limited is false).
func (s *Store) claim(ctx context.Context, x dbx, ar area, force bool) (ok, over, limited bool, err error) {
	err = x.row(ctx, qClaim, ar.kind, ar.id, force).Scan(&over)
	if err == nil {
		return true, over, true, nil
	}
	if err != sql.ErrNoRows {
		return false, false, false, err
	}
	var capacity int64
	err = x.row(ctx, qAreaKnown, ar.kind, ar.id).Scan(&capacity)
	if err == sql.ErrNoRows {
		return false, false, false, nil
	}
	return false, false, err == nil, err
}

// release gives back a place in each area.
func (s *Store) release(ctx context.Context, x dbx, areas []area) error {
	for _, ar := range areas {
		if _, err := x.exec(ctx, qRelease, ar.kind, ar.id); err != nil {
			return err
		}
	}
	return nil
}

// enterLimited records an entry into areas with a capacity (scanTx): the
// state before it decides whether the entry takes a place; "already
// redeemed" comes before "capacity".
func (s *Store) enterLimited(ctx context.Context, x dbx, a *admit.ScanAttempt, sc *admit.Scan, at any) (
	st *admit.CheckinState, result admit.Reason, forced bool, err error) {
	prev, err := s.stateIn(ctx, x, sc.TicketID, sc.ListID)
	if err != nil {
		return nil, "", false, err
	}
	if !a.Policy.Admits(prev) && !a.Force {
		return prev, admit.ReasonAlreadyRedeemed, false, nil
	}
	var claimed []area
	if prev == nil || !prev.Inside {
		for _, ar := range limitedAreas(a) {
			ok, over, limited, err := s.claim(ctx, x, ar, a.Force)
			if err != nil {
				return nil, "", false, err
			}
			if !ok {
				if !limited {
					continue // its capacity was removed
				}
				if err := s.release(ctx, x, claimed); err != nil {
					return nil, "", false, err
				}
				return prev, admit.ReasonCapacity, false, nil
			}
			claimed = append(claimed, ar)
			forced = forced || over
		}
	}
	st, err = s.optState(x.row(ctx, qEnter, sc.TicketID, sc.ListID, at, nid(sc.DeviceID), sc.DeviceName,
		a.Policy.AllowMultipleEntries, a.Policy.AllowEntryAfterExit, nid(a.SectionID)))
	if err != nil {
		return nil, "", false, err
	}
	if st == nil && a.Force {
		if st, err = s.optState(x.row(ctx, qForceEnter, sc.TicketID, sc.ListID, at)); err != nil {
			return nil, "", false, err
		}
		forced = forced || st != nil
	}
	if st == nil {
		// Refused after all (a state written by a scan that judged on an
		// older catalog, without the turn): the places go back.
		if err := s.release(ctx, x, claimed); err != nil {
			return nil, "", false, err
		}
		if st, err = s.stateIn(ctx, x, sc.TicketID, sc.ListID); err != nil {
			return nil, "", false, err
		}
		return st, admit.ReasonAlreadyRedeemed, false, nil
	}
	return st, admit.ReasonOK, forced, nil
}

// areasStep applies the file's capacities to the counters: a new counter
// counts who is inside now (in the import's transaction), a changed
// capacity keeps the count, a removed one drops the counter. Tickets the
// import moved to another section move their places with them.
func (im *importer) areasStep(ctx context.Context) error {
	x := im.x
	created := map[area]bool{}
	for _, ar := range im.areas {
		if ar.capacity == nil {
			if _, err := x.exec(ctx, `DELETE FROM area_counts WHERE area = $1 AND area_id = $2`, ar.kind, ar.id); err != nil {
				return err
			}
			continue
		}
		res, err := x.exec(ctx, `UPDATE area_counts SET capacity = $3 WHERE area = $1 AND area_id = $2 AND capacity <> $3`,
			ar.kind, ar.id, *ar.capacity)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			continue
		}
		count := `SELECT COUNT(*) FROM checkin_state WHERE list_id = $4 AND inside`
		if ar.kind == areaSection {
			count = `SELECT COUNT(*) FROM checkin_state cs JOIN tickets t ON t.id = cs.ticket_id WHERE t.section_id = $4 AND cs.inside`
		}
		res, err = x.exec(ctx, `INSERT INTO area_counts (area, area_id, capacity, inside) SELECT CAST($1 AS TEXT), CAST($2 AS BIGINT), CAST($3 AS INTEGER), (`+count+`)
			WHERE NOT EXISTS (SELECT 1 FROM area_counts WHERE area = $1 AND area_id = $2)`, ar.kind, ar.id, *ar.capacity, ar.id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			created[area{kind: ar.kind, id: ar.id}] = true
		}
	}
	for _, m := range im.moved {
		if _, err := x.exec(ctx, `UPDATE checkin_state SET section_id = $2 WHERE ticket_id = $1`, m.ticketID, nid(m.to)); err != nil {
			return err
		}
		var n int
		if err := x.row(ctx, `SELECT COUNT(*) FROM checkin_state WHERE ticket_id = $1 AND inside`, m.ticketID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			continue
		}
		if m.from != 0 && !created[area{kind: areaSection, id: m.from}] {
			if _, err := x.exec(ctx, `UPDATE area_counts SET inside = CASE WHEN inside > $3 THEN inside - $3 ELSE 0 END
				WHERE area = $1 AND area_id = $2`, areaSection, m.from, n); err != nil {
				return err
			}
		}
		if m.to != 0 && !created[area{kind: areaSection, id: m.to}] {
			if _, err := x.exec(ctx, `UPDATE area_counts SET inside = inside + $3 WHERE area = $1 AND area_id = $2`,
				areaSection, m.to, n); err != nil {
				return err
			}
		}
	}
	return nil
}

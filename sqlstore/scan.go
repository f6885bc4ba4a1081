package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/admitdev/admit"
)

// The scan path: it decides "exactly once".
//
// An admitted scan, in one transaction:
//
//  1. a nonce already logged as a success on the ticket and list is a
//     replay: answered ok with the state, nothing written;
//  2. an entry is one conditional upsert on checkin_state, keyed by
//     (ticket_id, list_id):
//
//     INSERT ... ON CONFLICT (ticket_id, list_id) DO UPDATE SET inside, entries+1, ...
//     WHERE entries = 0 OR <allow multiple> OR (<allow after exit> AND NOT inside)
//     RETURNING ...
//
//     A row returned means the entry was recorded; none means the policy
//     refused it (ListPolicy.Admits): then Force records it anyway (forced),
//     else the nonce is checked again (a concurrent copy of this scan that
//     won makes this one its replay) and the answer is already_redeemed.
//     An exit of a ticket inside sets inside = false and counts it; of a
//     ticket not inside, it is refused (not_inside), or with LenientExit
//     (pretix) recorded all the same, making the row if there is none.
//     Entries into, and exits from, areas with a capacity take the path
//     of capacity.go;
//  3. the scan is logged with its result.
//
// On PostgreSQL (READ COMMITTED) the upsert takes the row lock and
// re-evaluates its WHERE on the latest committed version, so two concurrent
// entries cannot both pass; attempts with a nonce also take an advisory lock
// per (ticket, list) before step 1. On SQLite every write runs on the one
// writer connection in IMMEDIATE transactions: they are serial anyway.
//
// The entry's time (first_at, last_at) is the device's for an offline
// upload, else the server's: when the scan happened.

const (
	qReplay = `SELECT id FROM scans WHERE ticket_id = $1 AND list_id = $2 AND nonce = $3 AND result = 'ok' ORDER BY id LIMIT 1`

	stateReturning = ` RETURNING ticket_id, list_id, inside, entries, exits, first_at, first_device_uuid, first_device_name, last_at`

	qEnter = qEnterInto + `
	VALUES ($1, $2, true, 1, $3, COALESCE((SELECT d.uuid FROM devices d WHERE d.id = $4), ''), $5, $3, $8)` + qEnterConflict

	qEnterInto = `INSERT INTO checkin_state AS cs
	(ticket_id, list_id, inside, entries, first_at, first_device_uuid, first_device_name, last_at, section_id)`
	qEnterConflict = qEnterUpdate + `
	WHERE cs.entries = 0 OR $6 OR ($7 AND NOT cs.inside)` + stateReturning
	qEnterUpdate = `
	ON CONFLICT (ticket_id, list_id) DO UPDATE SET
		inside = true,
		entries = cs.entries + 1,
		first_at = CASE WHEN cs.entries = 0 THEN excluded.first_at ELSE cs.first_at END,
		first_device_uuid = CASE WHEN cs.entries = 0 THEN excluded.first_device_uuid ELSE cs.first_device_uuid END,
		first_device_name = CASE WHEN cs.entries = 0 THEN excluded.first_device_name ELSE cs.first_device_name END,
		last_at = excluded.last_at`

	// qStateKeys (PostgreSQL) finds the ticket and the list a check-in
	// state is written for: checkin_state has no foreign keys there (their
	// checks locked the ticket's row and the list's; migration 00016), and
	// a scan of a ticket or list that does not exist must fail, as the
	// foreign keys' checks make it fail on SQLite (errMissingKeys).
	qStateKeys = `SELECT 1 FROM tickets t, checkin_lists l WHERE t.id = $1 AND l.id = $2`

	// qFirstEntry (SQLite) records a ticket's first entry on a list, if it
	// has no state there yet: the common case, a statement without rows.
	// Whatever it does not insert goes on to qEnter.
	qFirstEntry = `INSERT INTO checkin_state
	(ticket_id, list_id, inside, entries, first_at, first_device_uuid, first_device_name, last_at, section_id)
	VALUES ($1, $2, true, 1, $3, $4, $5, $3, $6)
	ON CONFLICT (ticket_id, list_id) DO NOTHING`

	qForceEnter = `UPDATE checkin_state SET inside = true, entries = entries + 1, last_at = $3
	WHERE ticket_id = $1 AND list_id = $2` + stateReturning

	// qExitInside records the exit of a ticket that is inside; no row: it
	// is not. qExit records any exit (LenientExit), making the state if
	// there is none.
	qExitInside = `UPDATE checkin_state SET inside = false, exits = exits + 1
	WHERE ticket_id = $1 AND list_id = $2 AND inside` + stateReturning
	qExit = `INSERT INTO checkin_state AS cs (ticket_id, list_id, inside, entries, exits, section_id) VALUES ($1, $2, false, 0, 1, $3)
	ON CONFLICT (ticket_id, list_id) DO UPDATE SET inside = false, exits = cs.exits + 1` + stateReturning

	qState = stateSelect + ` WHERE ticket_id = $1 AND list_id = $2`

	// qNonceLock (PostgreSQL) serialises the attempts with a nonce on one
	// (ticket, list) until their transactions end. Two int4 keys: a space
	// apart from goose's bigint migration lock; a collision only serialises.
	qNonceLock = `SELECT pg_advisory_xact_lock(CAST($1 % 2147483647 AS INTEGER), CAST($2 % 2147483647 AS INTEGER))`

	qInsertScanExec = `INSERT INTO scans (ticket_id, event_id, list_id, device_id, device_name, redeemer, source,
	type, result, nonce, device_time, server_time, forced, offline, device_verdict, clock_offset_ms, conflict)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`

	// qOfflineReplay finds an offline scan uploaded before, or the online
	// scan of the ticket on the list it repeats (a phone that got no answer
	// in time decides on its own and uploads the scan with the same nonce):
	// an event's offline scans are recorded once per nonce, whatever their
	// result.
	qOfflineReplay = `SELECT id, result, COALESCE(conflict, '') FROM scans WHERE event_id = $1 AND nonce = $2 AND offline
	UNION ALL
	SELECT id, result, COALESCE(conflict, '') FROM scans WHERE ticket_id = $3 AND list_id = $4 AND nonce = $2
	ORDER BY id LIMIT 1`
	// qOfflineLock (PostgreSQL) serialises the uploads of one nonce.
	qOfflineLock = `SELECT pg_advisory_xact_lock(CAST($1 % 2147483647 AS INTEGER), hashtext($2))`
	qInsertScan  = qInsertScanExec + ` RETURNING id`

	qTicketsVersion = `SELECT version FROM tickets_version WHERE id = 1`
)

// errMissingKeys is the answer to an admitted scan of a ticket or list that
// does not exist: what a foreign key's check answers on SQLite.
var errMissingKeys = admit.Errorf(admit.EInvalid, "scan: refers to a ticket or list that does not exist")

// scanQueries are prepared on the SQLite writer at Open: the group commit
// runs them inside its transactions, where nothing can be prepared.
var scanQueries = []string{qTicketsVersion, qReplay, qOfflineReplay, qFirstEntry, qInsertScanExec, qEnter, qForceEnter, qExitInside, qExit, qState, qInsertScan,
	qClaim, qRelease, qAreaKnown, qHit, qPurgeHits,
	"SAVEPOINT w", "RELEASE w", "ROLLBACK TO w"}

// Scan records a scan; see admit.Store. On SQLite the call is queued to the
// group-commit writer and answered after its batch is committed.
func (s *Store) Scan(ctx context.Context, a *admit.ScanAttempt) (*admit.ScanOutcome, error) {
	if a.Admit && (a.Scan.TicketID == 0 || a.Scan.ListID == 0) {
		return nil, admit.Errorf(admit.EInvalid, "an admitted scan needs a ticket and a list")
	}
	att := *a // the caller may give up and reuse a while the writer runs it
	if !s.sqlite && att.Scan.Nonce == "" && !att.Force && att.Scan.Type != admit.ScanExit && !att.ListLimited && !att.SectionLimited {
		// One statement, in a group commit with the other scans waiting.
		return s.pgScan(ctx, &att)
	}
	if !s.sqlite && att.TicketsVersion != 0 {
		// Checked before the statement, as a ticket read would have been.
		if stale, err := s.staleTickets(ctx, s.writer(), att.TicketsVersion); err != nil || stale {
			return &admit.ScanOutcome{Stale: stale}, s.dbErr(err, "scan")
		}
		att.TicketsVersion = 0
	}
	v, err := s.groupWrite(ctx, "scan", func(ctx context.Context, x dbx) (any, error) {
		return s.scanTx(ctx, x, &att)
	})
	if err != nil {
		return nil, err
	}
	return v.(*admit.ScanOutcome), nil
}

// scanTx records one attempt in the transaction x.
func (s *Store) scanTx(ctx context.Context, x dbx, a *admit.ScanAttempt) (*admit.ScanOutcome, error) {
	if a.TicketsVersion != 0 {
		// In the writer's transaction: no import can commit in between.
		if stale, err := s.staleTickets(ctx, x, a.TicketsVersion); err != nil || stale {
			return &admit.ScanOutcome{Stale: stale}, err
		}
	}
	sc := a.Scan
	if sc.ServerTime.IsZero() {
		sc.ServerTime = now()
	}
	if sc.Type == "" {
		sc.Type = admit.ScanEntry
	}
	at := sc.ServerTime
	if sc.DeviceTime != nil {
		at = sc.DeviceTime.Add(sc.ClockOffset)
	}
	out := &admit.ScanOutcome{Result: sc.Result, Forced: sc.Forced, Conflict: sc.Conflict}
	known := sc.TicketID != 0 && sc.ListID != 0
	if sc.Offline {
		// Uploaded before (a retry, or the same upload twice at once):
		// answer what was recorded, write nothing.
		if !s.sqlite {
			if _, err := x.exec(ctx, qOfflineLock, sc.EventID, sc.Nonce); err != nil {
				return nil, err
			}
		}
		var id int64
		var result, conflict string
		err := x.row(ctx, qOfflineReplay, sc.EventID, sc.Nonce, nid(sc.TicketID), nid(sc.ListID)).Scan(&id, &result, &conflict)
		if err == nil {
			out.Result, out.Conflict, out.Replayed, out.ScanID, out.Forced = admit.Reason(result), admit.Conflict(conflict), true, id, false
			if known {
				if out.State, err = s.stateIn(ctx, x, sc.TicketID, sc.ListID); err != nil {
					return nil, err
				}
			}
			return out, nil
		}
		if err != sql.ErrNoRows {
			return nil, err
		}
	}
	if !a.Admit {
		id, err := s.insertScan(ctx, x, &sc)
		if err != nil {
			return nil, err
		}
		out.ScanID = id
		if known {
			if out.State, err = s.stateIn(ctx, x, sc.TicketID, sc.ListID); err != nil {
				return nil, err
			}
		}
		return out, nil
	}

	if !s.sqlite {
		// No foreign keys to check the state's (migration 00016).
		if err := x.row(ctx, qStateKeys, sc.TicketID, sc.ListID).Scan(new(int)); err == sql.ErrNoRows {
			return nil, errMissingKeys
		} else if err != nil {
			return nil, err
		}
	}

	// A nonce already recorded as a success: answer it again, write nothing.
	replay := func() (bool, error) {
		if sc.Nonce == "" {
			return false, nil
		}
		var id int64
		err := x.row(ctx, qReplay, sc.TicketID, sc.ListID, sc.Nonce).Scan(&id)
		if err == sql.ErrNoRows {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		out.Result, out.Replayed, out.Forced, out.ScanID = admit.ReasonOK, true, false, id
		out.State, err = s.stateIn(ctx, x, sc.TicketID, sc.ListID)
		return true, err
	}
	limited := limitedAreas(a)
	if (sc.Nonce != "" || len(limited) > 0) && !s.sqlite {
		// PostgreSQL: the same upload sent twice at once (a client retrying
		// while its first try is in flight) must not pass the nonce check
		// twice, on a multiple-entry list where the upsert admits both.
		// Attempts with a nonce on one (ticket, list) take turns; the check
		// after the lock sees what the one before committed. So do attempts
		// into areas with a capacity: the state read before a claim is the
		// one the check-in changes (capacity.go). (SQLite's single writer
		// already runs them one after the other.)
		if _, err := x.exec(ctx, qNonceLock, sc.TicketID, sc.ListID); err != nil {
			return nil, err
		}
	}
	if ok, err := replay(); ok || err != nil {
		return out, err
	}

	var st *admit.CheckinState
	var err error
	out.Result = admit.ReasonOK
	switch {
	case sc.Type == admit.ScanExit:
		if st, err = s.optState(x.row(ctx, qExitInside, sc.TicketID, sc.ListID)); err != nil {
			return nil, err
		}
		switch {
		case st != nil:
			// It left: its places go back.
			if err := s.release(ctx, x, limited); err != nil {
				return nil, err
			}
		case a.LenientExit:
			if st, err = scanState(x.row(ctx, qExit, sc.TicketID, sc.ListID, nid(a.SectionID))); err != nil {
				return nil, err
			}
		default:
			if st, err = s.stateIn(ctx, x, sc.TicketID, sc.ListID); err != nil {
				return nil, err
			}
			out.Result, out.Forced = admit.ReasonNotInside, false
		}
	case len(limited) > 0:
		if st, out.Result, out.Forced, err = s.enterLimited(ctx, x, a, &sc, s.ts(at)); err != nil {
			return nil, err
		}
		out.Forced = out.Forced || (out.Result == admit.ReasonOK && sc.Forced)
	default:
		if s.sqlite && (a.DeviceUUID != "" || sc.DeviceID == 0) {
			res, err := x.exec(ctx, qFirstEntry, sc.TicketID, sc.ListID, s.ts(at), a.DeviceUUID, sc.DeviceName, nid(a.SectionID))
			if err != nil {
				return nil, err
			}
			if n, err := res.RowsAffected(); err != nil {
				return nil, err
			} else if n == 1 {
				ts := at.UTC().Truncate(time.Microsecond) // as stored
				st = &admit.CheckinState{TicketID: sc.TicketID, ListID: sc.ListID, Inside: true, Entries: 1,
					FirstAt: ts, FirstDeviceUUID: a.DeviceUUID, FirstDeviceName: sc.DeviceName, LastAt: ts}
			}
		}
		if st == nil {
			st, err = s.optState(x.row(ctx, qEnter, sc.TicketID, sc.ListID, s.ts(at), nid(sc.DeviceID), sc.DeviceName,
				a.Policy.AllowMultipleEntries, a.Policy.AllowEntryAfterExit, nid(a.SectionID)))
			if err != nil {
				return nil, err
			}
		}
		if st == nil && a.Force {
			if st, err = s.optState(x.row(ctx, qForceEnter, sc.TicketID, sc.ListID, s.ts(at))); err != nil {
				return nil, err
			}
			out.Forced = st != nil
		}
		if st == nil {
			// Refused. If a concurrent scan with our nonce won, we are its replay.
			if ok, err := replay(); ok || err != nil {
				return out, err
			}
			if st, err = s.stateIn(ctx, x, sc.TicketID, sc.ListID); err != nil {
				return nil, err
			}
			out.Result, out.Forced = admit.ReasonAlreadyRedeemed, false
		}
	}
	sc.Result, sc.Forced = out.Result, out.Forced
	if sc.Offline && sc.Conflict == admit.ConflictNone && out.Result != admit.ReasonOK {
		// The device admitted it; the server did not.
		sc.Conflict = admit.ConflictRefusedByServer
		if out.Result == admit.ReasonAlreadyRedeemed {
			sc.Conflict = admit.ConflictAlreadyInside
		}
	}
	out.Conflict = sc.Conflict
	if out.ScanID, err = s.insertScan(ctx, x, &sc); err != nil {
		return nil, err
	}
	out.State = st
	return out, nil
}

// optState scans a state row; no row is nil.
func (s *Store) optState(r *sql.Row) (*admit.CheckinState, error) {
	st, err := scanState(r)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	return st, err
}

func (s *Store) stateIn(ctx context.Context, x dbx, ticketID, listID int64) (*admit.CheckinState, error) {
	return s.optState(x.row(ctx, qState, ticketID, listID))
}

func (s *Store) insertScan(ctx context.Context, x dbx, sc *admit.Scan) (int64, error) {
	args := []any{nid(sc.TicketID), nid(sc.EventID), nid(sc.ListID), nid(sc.DeviceID),
		sc.DeviceName, sc.Redeemer, sc.Source, string(sc.Type), string(sc.Result), nstr(sc.Nonce),
		s.tsp(sc.DeviceTime), s.ts(sc.ServerTime), sc.Forced, sc.Offline, nstr(sc.DeviceVerdict), offsetMS(sc), nstr(string(sc.Conflict))}
	if s.sqlite {
		// No rows to read: SQLite knows the row id it just gave.
		res, err := x.exec(ctx, qInsertScanExec, args...)
		if err != nil {
			return 0, err
		}
		return res.LastInsertId()
	}
	var id int64
	err := x.row(ctx, qInsertScan, args...).Scan(&id)
	return id, err
}

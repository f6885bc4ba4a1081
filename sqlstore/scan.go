package sqlstore

import (
	"context"
	"database/sql"
	"runtime"
	"strconv"
	"strings"
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

// writeReq is a small write for the group commit.
type writeReq struct {
	ctx  context.Context
	what string
	fn   func(ctx context.Context, x dbx) (any, error)
	resp chan writeResp // buffered: the writer never waits for a caller
}

type writeResp struct {
	v   any
	err error
}

// groupWrite runs fn in a write transaction and returns its result once the
// transaction is durable. On SQLite fn is queued to the group-commit writer,
// which runs it in a batch; if a write of the batch fails, the batch is
// rolled back and runs again with a savepoint each, so fn may run twice and
// must not keep state outside the transaction. On PostgreSQL fn runs in a
// transaction of its own.
func (s *Store) groupWrite(ctx context.Context, what string, fn func(ctx context.Context, x dbx) (any, error)) (any, error) {
	if !s.sqlite {
		var v any
		err := s.inTx(ctx, what, func(x dbx) error {
			var err error
			v, err = fn(ctx, x)
			return err
		})
		return v, err
	}
	req := &writeReq{ctx: ctx, what: what, fn: fn, resp: make(chan writeResp, 1)}
	s.writeMu.RLock()
	if s.writeClosed {
		s.writeMu.RUnlock()
		return nil, admit.Errorf(admit.EInternal, "store closed")
	}
	select {
	case s.writeCh <- req:
		s.writeMu.RUnlock()
	case <-ctx.Done():
		s.writeMu.RUnlock()
		return nil, admit.WrapInternal(ctx.Err(), what+": not queued")
	}
	select {
	case r := <-req.resp:
		return r.v, r.err
	case <-ctx.Done():
		// The batch goes on without us: the write may still be recorded
		// (a scan retried with the same nonce is answered as a replay).
		return nil, admit.WrapInternal(ctx.Err(), what+": abandoned")
	}
}

// lingerFrom is the size of a batch that shows the writer under load. At
// 2,000 scans/s a batch holds one or two writes (the writer keeps up, and
// waiting would only add latency); at the CPU's limit, eight or more.
const lingerFrom = 4

// groupWriter is the SQLite group commit: it takes every write waiting (up
// to maxBatch), runs them in order in one transaction and hands them to the
// syncer, which answers them once the WAL is synced: one fsync for the lot,
// while the writer goes on with the next batch. Under load, a batch begins
// at most every commitEvery: writes that arrive sooner after the last one
// wait for the rest of the interval and share the next commit. It returns
// when writeCh is closed and drained.
func (s *Store) groupWriter() {
	defer func() {
		close(s.syncCh)
		<-s.syncDone
		close(s.writeDone)
	}()
	batch := make([]*writeReq, 0, maxBatch)
	wait := time.NewTimer(time.Hour)
	wait.Stop()
	var last time.Time // when the last batch began
	var loaded bool    // the last batch held lingerFrom writes or more
	for req := range s.writeCh {
		batch = append(batch[:0], req)
		open := true
		// Take what is waiting; then let the callers that were just answered
		// and are about to send run once, and take theirs too.
		for yielded := false; open && len(batch) < maxBatch; {
			select {
			case r, ok := <-s.writeCh:
				if !ok {
					open = false
					break
				}
				batch = append(batch, r)
				continue
			default:
			}
			if yielded {
				break
			}
			yielded = true
			runtime.Gosched()
		}
		// Under load (the last batch held lingerFrom writes or more), take what
		// arrives until commitEvery has passed since the last batch began.
		// A lone writer, one write after the other, is not held back.
		if d := time.Until(last.Add(time.Duration(s.commitEvery.Load()))); open && loaded && d > 0 && len(batch) < maxBatch {
			wait.Reset(d)
		linger:
			for len(batch) < maxBatch {
				select {
				case r, ok := <-s.writeCh:
					if !ok {
						break linger
					}
					batch = append(batch, r)
				case <-wait.C:
					break linger
				}
			}
			wait.Stop()
		}
		last, loaded = time.Now(), len(batch) >= lingerFrom
		s.batches.Add(1)
		s.lastBatch.Store(int64(len(batch)))
		s.runBatch(batch)
		clear(batch)
	}
}

func (s *Store) runBatch(batch []*writeReq) {
	// Callers' contexts do not reach the transaction: a caller who gives up
	// must not abort the others' writes.
	ctx := context.Background()
	live := make([]*writeReq, 0, len(batch))
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.resp <- writeResp{err: admit.WrapInternal(err, r.what+": abandoned")}
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	resps := make([]writeResp, len(live))
	err := func() error {
		tx, err := s.wdb.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		x := dbx{s: s, db: s.wdb, tx: tx, batch: &batchMemo{}}
		// First without savepoints: the writes of a batch seldom fail, and
		// a savepoint each costs statements and journaled pages.
		failed := false
		for i, r := range live {
			v, err := r.fn(ctx, x)
			if err != nil {
				failed = true
				break
			}
			resps[i].v = v
		}
		if !failed {
			return tx.Commit()
		}
		// One failed: nothing of this run stays, and the batch runs again
		// with a savepoint each, so that a failure undoes only its own writes.
		if err := tx.Rollback(); err != nil {
			return err
		}
		clear(resps)
		if tx, err = s.wdb.BeginTx(ctx, nil); err != nil {
			return err
		}
		x = dbx{s: s, db: s.wdb, tx: tx, batch: &batchMemo{}}
		for i, r := range live {
			if _, err := x.exec(ctx, "SAVEPOINT w"); err != nil {
				tx.Rollback()
				return err
			}
			v, err := r.fn(ctx, x)
			if err != nil {
				resps[i].err = s.dbErr(err, r.what)
				if _, err := x.exec(ctx, "ROLLBACK TO w"); err != nil {
					tx.Rollback()
					return err
				}
			} else {
				resps[i].v = v
			}
			if _, err := x.exec(ctx, "RELEASE w"); err != nil {
				tx.Rollback()
				return err
			}
		}
		return tx.Commit()
	}()
	if err != nil {
		// Nothing of the batch is durable: every write of it fails.
		err = s.dbErr(err, "write")
		s.log.Error("sqlstore: group commit failed", "writes", len(live), "err", err)
		for i := range resps {
			resps[i] = writeResp{err: err}
		}
	}
	if err == nil {
		// Committed: answered once the WAL is synced.
		s.syncCh <- committed{live: live, resps: resps}
		return
	}
	for i, r := range live {
		r.resp <- resps[i]
	}
}

// staleTickets reports whether the tickets version is no longer v.
func (s *Store) staleTickets(ctx context.Context, x dbx, v int64) (bool, error) {
	if x.batch != nil && x.batch.ticketsVersion != 0 {
		return x.batch.ticketsVersion != v, nil
	}
	var cur int64
	if err := x.row(ctx, qTicketsVersion).Scan(&cur); err != nil {
		return false, err
	}
	if x.batch != nil {
		x.batch.ticketsVersion = cur
	}
	return cur != v, nil
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

// PostgreSQL: an entry attempt without nonce or force, or a refusal, in one
// statement (one round trip, its own transaction): the conditional upsert of
// qEnter, the log row whose result says whether the upsert took, and the
// state before the statement, which is the answer's state when the entry
// was refused. Its row lock and WHERE work as in scanTx. A ticket or list
// that does not exist (qStateKeys) writes nothing and returns no row:
// errMissingKeys.
const (
	qEnterLogged = `WITH keys AS (` + qStateKeys + `),
	st AS (` + qEnterInto + `
		SELECT $1, $2, true, 1, CAST($3 AS TIMESTAMPTZ), COALESCE((SELECT d.uuid FROM devices d WHERE d.id = $4), ''),
			CAST($5 AS TEXT), CAST($3 AS TIMESTAMPTZ), CAST($8 AS BIGINT) FROM keys` + qEnterConflict + `),
	sc AS (INSERT INTO scans (ticket_id, event_id, list_id, device_id, device_name, redeemer, source,
		type, result, nonce, device_time, server_time, forced)
		SELECT $1, CAST($9 AS BIGINT), $2, CAST($4 AS BIGINT), $5, CAST($10 AS TEXT), CAST($11 AS TEXT), 'entry',
			CASE WHEN EXISTS (SELECT 1 FROM st) THEN 'ok' ELSE 'already_redeemed' END,
			NULL, CAST($12 AS TIMESTAMPTZ), CAST($13 AS TIMESTAMPTZ), false
		FROM keys
		RETURNING id, result)
	SELECT sc.id, sc.result, ` + stateCols + `, ` + prevCols + `
	FROM sc LEFT JOIN st cs ON true
	LEFT JOIN checkin_state prev ON prev.ticket_id = $1 AND prev.list_id = $2`

	qRefusalLogged = `WITH sc AS (` + qInsertScan + `)
	SELECT sc.id, ` + prevCols + `
	FROM sc LEFT JOIN checkin_state prev ON prev.ticket_id = $1 AND prev.list_id = $3`

	prevCols = `prev.ticket_id, prev.list_id, prev.inside, prev.entries, prev.exits, prev.first_at,
	prev.first_device_uuid, prev.first_device_name, prev.last_at`
)

// plainScan is a scan recorded on PostgreSQL by one statement (see
// qEnterLogged): the statement, its arguments, and where its row goes.
type plainScan struct {
	a         *admit.ScanAttempt
	sc        admit.Scan
	out       *admit.ScanOutcome
	result    string
	cur, prev stateDest
	missing   bool // in a group commit: no ticket or list (errMissingKeys)
}

func newPlainScan(a *admit.ScanAttempt) *plainScan {
	p := &plainScan{a: a, sc: a.Scan}
	if p.sc.ServerTime.IsZero() {
		p.sc.ServerTime = now()
	}
	return p
}

// statement returns the statement, its arguments and its row's destinations.
// It may be called again for another try: the destinations start afresh.
func (p *plainScan) statement(s *Store) (string, []any, []any) {
	a, sc := p.a, &p.sc
	p.reset()
	if a.Admit {
		at := sc.ServerTime
		if sc.DeviceTime != nil {
			at = *sc.DeviceTime
		}
		dest := append([]any{&p.out.ScanID, &p.result}, p.cur.dest()...)
		return qEnterLogged, []any{sc.TicketID, sc.ListID, s.ts(at), nid(sc.DeviceID), sc.DeviceName,
			a.Policy.AllowMultipleEntries, a.Policy.AllowEntryAfterExit, nid(a.SectionID),
			nid(sc.EventID), sc.Redeemer, sc.Source, s.tsp(sc.DeviceTime), s.ts(sc.ServerTime)}, append(dest, p.prev.dest()...)
	}
	return qRefusalLogged, []any{nid(sc.TicketID), nid(sc.EventID), nid(sc.ListID), nid(sc.DeviceID),
		sc.DeviceName, sc.Redeemer, sc.Source, string(sc.Type), string(sc.Result), nil,
		s.tsp(sc.DeviceTime), s.ts(sc.ServerTime), sc.Forced, false, nil, nil, nil}, append([]any{&p.out.ScanID}, p.prev.dest()...)
}

// reset starts p's answer afresh, for a statement or another try.
func (p *plainScan) reset() {
	p.out = &admit.ScanOutcome{Result: p.sc.Result, Forced: p.sc.Forced}
	p.result, p.cur, p.prev, p.missing = "", stateDest{}, stateDest{}, false
}

// outcome is the answer once the statement's transaction has committed.
func (p *plainScan) outcome(ctx context.Context, s *Store) (*admit.ScanOutcome, error) {
	if p.missing {
		return nil, errMissingKeys
	}
	out := p.out
	if p.a.Admit {
		out.Result, out.Forced, out.State = admit.Reason(p.result), false, p.cur.state()
	}
	if out.State == nil {
		out.State = p.prev.state()
		if out.State == nil && out.Result == admit.ReasonAlreadyRedeemed {
			// Refused by an entry committed after the statement's snapshot.
			st, err := s.stateIn(ctx, s.reader(), p.sc.TicketID, p.sc.ListID)
			if err != nil {
				return nil, s.dbErr(err, "scan")
			}
			out.State = st
		}
	}
	return out, nil
}

// scanStatement records a on PostgreSQL in one statement, in a transaction
// of its own; see qEnterLogged.
func (s *Store) scanStatement(ctx context.Context, a *admit.ScanAttempt) (*admit.ScanOutcome, error) {
	p := newPlainScan(a)
	for attempt := 0; ; attempt++ {
		q, args, dest := p.statement(s)
		err := s.writer().row(ctx, q, args...).Scan(dest...)
		if err == sql.ErrNoRows {
			return nil, errMissingKeys
		}
		if err != nil && attempt < 4 && s.retryable(err) {
			continue
		}
		if err != nil {
			return nil, s.dbErr(err, "scan")
		}
		break
	}
	return p.outcome(ctx, s)
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
		if len(f.SectionIDs) == 0 {
			conds = append(conds, "1 = 0")
		} else {
			var c string
			c, args = inIDs("t.section_id", f.SectionIDs, args)
			conds = append(conds, c)
		}
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

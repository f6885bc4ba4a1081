package sqlstore

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/admitdev/admit"
	"github.com/jackc/pgx/v5"
)

// The PostgreSQL group commit.
//
// A plain scan (an entry without nonce or force into no area with a
// capacity, or a refusal) is one statement, qEnterLogged or qRefusalLogged.
// Alone, each is a transaction of its own, and each commit waits for its WAL
// flush: under load the backends queue for the flush (LWLock:WALWrite,
// IO:WALSync), a flush takes one or two commits, and the node's connections
// are all waiting. So each node hands its plain scans to pgBatchWorkers
// workers; a worker takes every scan waiting (up to pgBatchMax), sends their
// statements in one round trip inside one transaction and commits once: one
// WAL flush for the lot. The batch's entries go in statements of many rows
// (qEnterRows: one per list policy as a rule), not one statement each: a
// statement's fixed cost (bind, executor start and end, its messages) was
// most of PostgreSQL's work per scan. Nothing is answered before the commit
// returns.
//
// Exactly once holds as for one statement: each upsert takes its row lock
// and re-evaluates its WHERE on the latest committed version; a later
// statement of the same batch sees the earlier ones. A batch locks the
// check-in states of its tickets in (ticket, list) order, so two batches
// (on this node or another) cannot deadlock on them; the scans of one batch
// arrived at the same time, and any order of them is one they could have
// had. If a statement fails (a deadlock with some other transaction, text
// PostgreSQL refuses, a broken connection), nothing of the batch stays and
// each scan runs again alone, as before; an error at the commit itself
// fails the batch's scans (their fate is not known: a scan retried with the
// same nonce is answered as a replay). A scan of a ticket or list that does
// not exist is no failure: its statement writes nothing and returns no row.

// One worker per node: with two, each batch held half the scans and the
// node made twice the commits (two nodes, 64 clients, runs taken in turns:
// durable/ceiling 0.307 and 0.313 with one worker against 0.28 and 0.271
// with two; docs/BENCHMARKS.md, session 9). Scans that arrive while a batch
// commits wait for the next, which takes them all.
const (
	pgBatchMax     = 64
	pgBatchWorkers = 1
	// pgPoolMin is the least pool size unless the DSN sets pool_max_conns:
	// the worker holds a connection while it commits, and the reads and the
	// other writes need theirs (16 measured better than pgxpool's default,
	// 4 on 2 cores).
	pgPoolMin = 16
)

// pgBatchPlans: the group commit runs on connections of its own
// (Store.batchPool), where a prepared statement keeps its generic plan
// (plan_cache_mode force_generic_plan) and that plan reads no table whole
// (enable_seqscan off), unless the DSN sets these. Each of the group
// commit's lookups is by key, the plan wanted at any size of the tables;
// but PostgreSQL, free to choose, either planned qEnterRows anew for each
// batch (its arrays' lengths vary) or kept a plan made while checkin_state
// was small, which joined the states before the statement by reading the
// whole table: each batch slower than the last as the table grew
// (docs/BENCHMARKS.md, session 11).

type pgScanReq struct {
	ctx  context.Context
	a    *admit.ScanAttempt
	resp chan pgScanResp // buffered: a worker never waits for a caller
}

type pgScanResp struct {
	out *admit.ScanOutcome
	err error
}

func (s *Store) startPGBatch() {
	s.pgScanCh = make(chan *pgScanReq, 4*pgBatchMax)
	s.pgScanDone = make(chan struct{})
	var wg sync.WaitGroup
	for range pgBatchWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.pgBatcher()
		}()
	}
	go func() {
		wg.Wait()
		close(s.pgScanDone)
	}()
}

// pgScan queues a plain scan to the group commit and waits for its answer.
func (s *Store) pgScan(ctx context.Context, a *admit.ScanAttempt) (*admit.ScanOutcome, error) {
	req := &pgScanReq{ctx: ctx, a: a, resp: make(chan pgScanResp, 1)}
	s.writeMu.RLock()
	if s.writeClosed {
		s.writeMu.RUnlock()
		return nil, admit.Errorf(admit.EInternal, "store closed")
	}
	select {
	case s.pgScanCh <- req:
		s.writeMu.RUnlock()
	case <-ctx.Done():
		s.writeMu.RUnlock()
		return nil, admit.WrapInternal(ctx.Err(), "scan: not queued")
	}
	select {
	case r := <-req.resp:
		return r.out, r.err
	case <-ctx.Done():
		// The batch goes on without us: the scan may still be recorded.
		return nil, admit.WrapInternal(ctx.Err(), "scan: abandoned")
	}
}

// pgBatcher is one worker of the group commit; it returns when pgScanCh is
// closed and drained.
func (s *Store) pgBatcher() {
	batch := make([]*pgScanReq, 0, pgBatchMax)
	for r := range s.pgScanCh {
		batch = append(batch[:0], r)
	take:
		for len(batch) < pgBatchMax {
			select {
			case r, ok := <-s.pgScanCh:
				if !ok {
					break take
				}
				batch = append(batch, r)
			default:
				break take
			}
		}
		s.runPGBatch(batch)
		clear(batch)
	}
}

// runPGBatch records a batch of plain scans and answers each.
func (s *Store) runPGBatch(batch []*pgScanReq) {
	// Callers' contexts do not reach the transaction: a caller who gives up
	// must not abort the others' scans.
	ctx := context.Background()
	live := make([]*pgScanReq, 0, len(batch))
	version := int64(-1)
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.resp <- pgScanResp{err: admit.WrapInternal(err, "scan: abandoned")}
			continue
		}
		if v := r.a.TicketsVersion; v != 0 {
			// Judged on a cached ticket: read as a ticket read would have
			// been, before the statement; once for the batch.
			if version < 0 {
				if err := s.writer().row(ctx, qTicketsVersion).Scan(&version); err != nil {
					version = -1
					r.resp <- pgScanResp{err: s.dbErr(err, "scan")}
					continue
				}
			}
			if v != version {
				r.resp <- pgScanResp{out: &admit.ScanOutcome{Stale: true}}
				continue
			}
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	s.batches.Add(1)
	s.lastBatch.Store(int64(len(live)))
	if len(live) == 1 {
		r := live[0]
		out, err := s.scanStatement(r.ctx, r.a)
		r.resp <- pgScanResp{out: out, err: err}
		return
	}
	slices.SortStableFunc(live, func(x, y *pgScanReq) int {
		return cmp.Or(cmp.Compare(x.a.Scan.TicketID, y.a.Scan.TicketID), cmp.Compare(x.a.Scan.ListID, y.a.Scan.ListID))
	})
	plains := make([]*plainScan, len(live))
	for i, r := range live {
		plains[i] = newPlainScan(r.a)
	}
	committed, err := s.pgBatchTx(ctx, plains)
	if err != nil && !committed {
		// A statement failed: nothing of the batch stays; each scan again,
		// alone.
		if !s.retryable(err) {
			s.log.Warn("sqlstore: a scan of a group commit failed; its scans run one by one", "scans", len(live), "err", s.dbErr(err, "scan"))
		}
		for _, r := range live {
			out, err := s.scanStatement(r.ctx, r.a)
			r.resp <- pgScanResp{out: out, err: err}
		}
		return
	}
	if err != nil {
		err = s.dbErr(err, "scan")
		s.log.Error("sqlstore: group commit failed", "scans", len(live), "err", err)
		for _, r := range live {
			r.resp <- pgScanResp{err: err}
		}
		return
	}
	for i, r := range live {
		out, err := plains[i].outcome(r.ctx, s)
		r.resp <- pgScanResp{out: out, err: err}
	}
}

// pgBatchTx runs the statements of plains in one transaction, in one round
// trip: a pipeline of the statements and one Sync, which PostgreSQL runs as
// one implicit transaction, committed at the Sync (no BEGIN, no COMMIT: two
// round trips fewer per batch). A failing statement rolls the transaction
// back and the statements after it are skipped. committed says whether the
// error came after every statement had run (the commit: the batch's fate
// unknown) rather than from a statement (nothing stays).
//
// The entries go in few statements of many rows (qEnterRows, see
// entryGroups); each refusal is a statement of its own (qRefusalLogged),
// after the entries.
func (s *Store) pgBatchTx(ctx context.Context, plains []*plainScan) (committed bool, err error) {
	b := &pgx.Batch{}
	groups := entryGroups(plains)
	for _, g := range groups {
		b.Queue(qEnterRows, enterRowsArgs(g)...)
	}
	var refusals []*plainScan
	var dests [][]any
	for _, p := range plains {
		if p.a.Admit {
			continue
		}
		q, args, dest := p.statement(s)
		b.Queue(q, args...)
		refusals = append(refusals, p)
		dests = append(dests, dest)
	}
	br := s.batchPool.SendBatch(ctx, b)
	for _, g := range groups {
		if err := readEnterRows(br, g); err != nil {
			br.Close()
			return false, err
		}
	}
	for i, dest := range dests {
		err := br.QueryRow().Scan(dest...)
		if errors.Is(err, pgx.ErrNoRows) {
			// No ticket or list: the statement wrote nothing, and the
			// transaction goes on.
			refusals[i].missing = true
			continue
		}
		if err != nil {
			br.Close()
			return false, err
		}
	}
	return true, br.Close()
}

// entryGroups splits the entries of plains (sorted by ticket and list) into
// the statements of qEnterRows: one per list policy (a statement takes
// one), and one more for each further entry of a ticket on a list, since a
// statement's upsert cannot touch a row twice; the later statement sees the
// earlier one's entry, as a scan alone would. The groups come in that order
// (all first entries, then the second ones...), each in ticket order.
func entryGroups(plains []*plainScan) [][]*plainScan {
	type key struct {
		round         int
		multi, reexit bool
	}
	type pair struct{ ticket, list int64 }
	var (
		order  []key
		groups = map[key][]*plainScan{}
		seen   = map[pair]int{}
	)
	for _, p := range plains {
		if !p.a.Admit {
			continue
		}
		pk := pair{p.sc.TicketID, p.sc.ListID}
		k := key{seen[pk], p.a.Policy.AllowMultipleEntries, p.a.Policy.AllowEntryAfterExit}
		seen[pk]++
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], p)
	}
	slices.SortStableFunc(order, func(x, y key) int { return cmp.Compare(x.round, y.round) })
	out := make([][]*plainScan, len(order))
	for i, k := range order {
		out[i] = groups[k]
	}
	return out
}

// qEnterRows (PostgreSQL) records many entries without nonce or force, of
// distinct (ticket, list) pairs and one list policy, in one statement: what
// qEnterLogged does for one, row by row, in the order given (the order
// their check-in states are locked in). The arguments are arrays, one
// element a scan; 0 is NULL for the ids, "" an unknown device uuid (looked
// up). A row whose ticket or list does not exist writes nothing and returns
// nothing. Each row returned: the scan's id, its ticket and list, its
// result, the state the entry made (none when refused) and the state before
// the statement.
const qEnterRows = `WITH i AS (
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::bigint[], $5::text[], $6::text[],
			$7::bigint[], $8::bigint[], $9::text[], $10::text[], $11::timestamptz[], $12::timestamptz[]) WITH ORDINALITY
			AS i(tid, lid, at_time, device_id, device_uuid, device_name, section_id, event_id, redeemer, src, device_time, server_time, ord)
		WHERE EXISTS (SELECT 1 FROM tickets t WHERE t.id = i.tid) AND EXISTS (SELECT 1 FROM checkin_lists l WHERE l.id = i.lid)),
	st AS (` + qEnterInto + `
		SELECT tid, lid, true, 1, at_time,
			CASE WHEN device_uuid <> '' OR device_id = 0 THEN device_uuid
				ELSE COALESCE((SELECT d.uuid FROM devices d WHERE d.id = i.device_id), '') END,
			device_name, at_time, NULLIF(section_id, 0)
		FROM i ORDER BY ord` + qEnterUpdate + `
		WHERE cs.entries = 0 OR $13 OR ($14 AND NOT cs.inside)` + stateReturning + `),
	sc AS (INSERT INTO scans (ticket_id, event_id, list_id, device_id, device_name, redeemer, source,
		type, result, nonce, device_time, server_time, forced)
		SELECT tid, NULLIF(event_id, 0), lid, NULLIF(device_id, 0), device_name, redeemer, src, 'entry',
			CASE WHEN EXISTS (SELECT 1 FROM st WHERE st.ticket_id = i.tid AND st.list_id = i.lid) THEN 'ok' ELSE 'already_redeemed' END,
			NULL, device_time, server_time, false
		FROM i ORDER BY ord
		RETURNING id, ticket_id, list_id, result)
	SELECT sc.id, sc.ticket_id, sc.list_id, sc.result, ` + stateCols + `, ` + prevCols + `
	FROM sc LEFT JOIN st cs ON cs.ticket_id = sc.ticket_id AND cs.list_id = sc.list_id
	LEFT JOIN checkin_state prev ON prev.ticket_id = sc.ticket_id AND prev.list_id = sc.list_id`

// enterRowsArgs are qEnterRows's arguments for g, one policy's entries.
func enterRowsArgs(g []*plainScan) []any {
	n := len(g)
	var (
		tids, lids, devs, sections, events = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		ats, servers                       = make([]time.Time, n), make([]time.Time, n)
		devTimes                           = make([]*time.Time, n)
		uuids, names, redeemers, sources   = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	)
	for i, p := range g {
		p.reset()
		a, sc := p.a, &p.sc
		at := sc.ServerTime
		if sc.DeviceTime != nil {
			at = *sc.DeviceTime
			t := sc.DeviceTime.UTC().Truncate(time.Microsecond)
			devTimes[i] = &t
		}
		tids[i], lids[i], devs[i], sections[i], events[i] = sc.TicketID, sc.ListID, sc.DeviceID, a.SectionID, sc.EventID
		ats[i], servers[i] = at.UTC().Truncate(time.Microsecond), sc.ServerTime.UTC().Truncate(time.Microsecond)
		uuids[i], names[i], redeemers[i], sources[i] = a.DeviceUUID, sc.DeviceName, sc.Redeemer, sc.Source
	}
	pol := g[0].a.Policy
	return []any{tids, lids, ats, devs, uuids, names, sections, events, redeemers, sources, devTimes, servers,
		pol.AllowMultipleEntries, pol.AllowEntryAfterExit}
}

// readEnterRows reads the rows of g's qEnterRows into its scans; a scan
// without a row has no ticket or list (missing).
func readEnterRows(br pgx.BatchResults, g []*plainScan) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	for _, p := range g {
		p.missing = true // until its row comes
	}
	for rows.Next() {
		var (
			id, tid, lid int64
			result       string
			cur, prev    stateDest
		)
		if err := rows.Scan(append(append([]any{&id, &tid, &lid, &result}, cur.dest()...), prev.dest()...)...); err != nil {
			return err
		}
		for _, p := range g {
			if p.sc.TicketID == tid && p.sc.ListID == lid {
				p.out.ScanID, p.result, p.cur, p.prev, p.missing = id, result, cur, prev, false
				break
			}
		}
	}
	return rows.Err()
}

// closePGBatch stops the group commit once the scans queued are answered.
func (s *Store) closePGBatch() {
	if s.pgScanCh == nil {
		return
	}
	s.writeMu.Lock()
	s.writeClosed = true
	close(s.pgScanCh)
	s.writeMu.Unlock()
	<-s.pgScanDone
}

package sqlstore

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"

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
// WAL flush for the lot. Nothing is answered before the commit returns.
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
func (s *Store) pgBatchTx(ctx context.Context, plains []*plainScan) (committed bool, err error) {
	b := &pgx.Batch{}
	dests := make([][]any, len(plains))
	for i, p := range plains {
		q, args, dest := p.statement(s)
		b.Queue(q, args...)
		dests[i] = dest
	}
	br := s.pool.SendBatch(ctx, b)
	for i, dest := range dests {
		err := br.QueryRow().Scan(dest...)
		if errors.Is(err, pgx.ErrNoRows) {
			// No ticket or list: the statement wrote nothing, and the
			// transaction goes on.
			plains[i].missing = true
			continue
		}
		if err != nil {
			br.Close()
			return false, err
		}
	}
	return true, br.Close()
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

package sqlstore

import (
	"context"
	"runtime"
	"time"

	"github.com/admitdev/admit"
)

// The SQLite group commit: the one writer connection takes the small writes
// waiting, runs them in one transaction and commits once.

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

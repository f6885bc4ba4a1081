package sqlstore

import (
	"context"
	"database/sql"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/admitdev/admit"
)

// Durability on SQLite, pipelined.
//
// The writer connection commits with synchronous=NORMAL: a commit writes
// its WAL frames but does not wait for the disk. The store makes them
// durable itself: the group writer hands each committed batch to the
// syncer, which fsyncs the WAL file once for every batch committed before
// it started, and only then answers their writes. Meanwhile the writer
// runs the next batch: the fsync no longer stops it, and it never sits in a
// long system call that would cost it its turn on a CPU. Every other write
// transaction (tryTx) fsyncs the WAL itself before it returns.
//
// Checkpoints stay safe: in WAL mode synchronous=NORMAL syncs the WAL
// before a checkpoint copies it into the database, syncs the database
// after, and syncs the WAL header when the file is reused. They run on a
// connection of their own (checkpointer), not in the writer. A power cut can
// lose only commits not yet answered; a reader may have seen one of those
// (a rescan answered "already scanned" of an entry whose own answer was
// still waiting for the fsync).

// walFile fsyncs a database's WAL file.
type walFile struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

// sync makes every WAL frame written so far durable.
func (w *walFile) sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		// SQLite deletes the WAL only when its last connection closes; if
		// that happened (another process), sync the file now in place.
		if fi, err := w.f.Stat(); err != nil || linkCount(fi) == 0 {
			w.f.Close()
			w.f = nil
		}
	}
	if w.f == nil {
		f, err := os.Open(w.path)
		if err != nil {
			return admit.WrapInternal(err, "open the WAL to sync it")
		}
		w.f = f
	}
	if err := syncData(w.f); err != nil {
		return admit.WrapInternal(err, "sync the WAL")
	}
	return nil
}

func (w *walFile) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

func linkCount(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}

// walPath asks SQLite where the database file is: its WAL is beside it.
func walPath(ctx context.Context, s *Store) (string, error) {
	rows, err := s.wdb.QueryContext(ctx, `PRAGMA database_list`)
	if err != nil {
		return "", admit.WrapInternal(err, "database file")
	}
	defer rows.Close()
	for rows.Next() {
		var seq int
		var name, file string
		if err := rows.Scan(&seq, &name, &file); err != nil {
			return "", admit.WrapInternal(err, "database file")
		}
		if name == "main" && file != "" {
			return file + "-wal", nil
		}
	}
	if err := rows.Err(); err != nil {
		return "", admit.WrapInternal(err, "database file")
	}
	return "", admit.Errorf(admit.EInternal, "sqlstore: the database has no file")
}

// syncWAL syncs the WAL and reports the time it took to the observer.
func (s *Store) syncWAL() error {
	o := s.obs.Load()
	if o == nil || o.WALSync == nil {
		return s.wal.sync()
	}
	t0 := time.Now()
	err := s.wal.sync()
	o.WALSync(time.Since(t0))
	return err
}

// committed is a batch committed but not yet synced.
type committed struct {
	live  []*writeReq
	resps []writeResp
}

// syncer answers committed batches once the WAL is synced: one fsync for
// every batch waiting. It returns when syncCh is closed and drained.
func (s *Store) syncer() {
	defer close(s.syncDone)
	var pending []committed
	for b := range s.syncCh {
		pending = append(pending[:0], b)
	drain:
		for {
			select {
			case b, ok := <-s.syncCh:
				if !ok {
					break drain
				}
				pending = append(pending, b)
			default:
				break drain
			}
		}
		err := s.syncWAL()
		if err != nil {
			s.log.Error("sqlstore: sync of committed writes failed", "err", err)
		}
		if o := s.obs.Load(); o != nil && o.GroupCommit != nil && err == nil {
			for _, p := range pending {
				o.GroupCommit(len(p.live))
			}
		}
		for _, p := range pending {
			for i, r := range p.live {
				if err != nil {
					r.resp <- writeResp{err: err}
				} else {
					r.resp <- p.resps[i]
				}
			}
		}
		clear(pending)
	}
}

// checkpointEvery is how often the checkpointer copies the WAL into the
// database file.
const checkpointEvery = 100 * time.Millisecond

// checkpointer copies the WAL into the database file from a connection of
// its own (PASSIVE: it never waits for, nor blocks, the writer or the
// readers), so that the writer, whose automatic checkpoints are off, never
// stops a batch for one. It returns when stop is closed.
func (s *Store) checkpointer(db *sql.DB, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		if err := walCheckpoint(context.Background(), db); err != nil {
			s.log.Warn("sqlstore: checkpoint failed", "err", err)
		}
	}
}

// walCheckpoint copies the WAL into the database file from db, PASSIVE:
// it never waits for, nor blocks, the writer or the readers.
func walCheckpoint(ctx context.Context, db *sql.DB) error {
	var busy, logFrames, copied int
	return db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logFrames, &copied)
}

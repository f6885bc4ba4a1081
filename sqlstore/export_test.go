package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/admitdev/admit"
)

// DBs exposes the writer and reader pools to the tests.
func (s *Store) DBs() (writer, reader *sql.DB) { return s.wdb, s.rdb }

// HoldSyncs stops the WAL syncs (the group commit's and every other write
// transaction's) until release is called.
func (s *Store) HoldSyncs() (release func()) {
	s.wal.mu.Lock()
	return s.wal.mu.Unlock
}

// SetCommitEvery changes the group commit's interval (CommitEvery).
func (s *Store) SetCommitEvery(d time.Duration) { s.commitEvery.Store(int64(d)) }

// Batches returns how many group commits the SQLite writer has begun.
func (s *Store) Batches() int64 { return s.batches.Load() }

// LastBatch returns how many writes the last group commit took.
func (s *Store) LastBatch() int64 { return s.lastBatch.Load() }

// Queued returns how many writes wait for the group commit.
func (s *Store) Queued() int { return len(s.writeCh) }

// EncodeLive is the NOTIFY payload of a live scan sent by node.
func EncodeLive(node string, s *admit.LiveScan) string { return encodeLive(node, s) }

// MaxLivePayload is the longest NOTIFY payload PostgreSQL takes.
const MaxLivePayload = maxPayload

// RunPGBatch records attempts in one group commit, as a PostgreSQL worker
// does with the plain scans waiting, and returns each one's answer.
func (s *Store) RunPGBatch(ctx context.Context, attempts []*admit.ScanAttempt) ([]*admit.ScanOutcome, []error) {
	reqs := make([]*pgScanReq, len(attempts))
	for i, a := range attempts {
		reqs[i] = &pgScanReq{ctx: ctx, a: a, resp: make(chan pgScanResp, 1)}
	}
	s.runPGBatch(reqs)
	outs, errs := make([]*admit.ScanOutcome, len(reqs)), make([]error, len(reqs))
	for i, r := range reqs {
		resp := <-r.resp
		outs[i], errs[i] = resp.out, resp.err
	}
	return outs, errs
}

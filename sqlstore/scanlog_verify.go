package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/admitdev/admit"
)

// ScanLogReport is what VerifyScanLog found. OK is false when the rows,
// the stored hashes or a checkpoint disagree; FirstScan is then the id of
// the first scan affected (0 if no scan could be named) and Problem says
// what is wrong.
type ScanLogReport struct {
	OK          bool   `json:"ok"`
	Scans       int    `json:"scans"`
	Leaves      int64  `json:"leaves"`
	Checkpoints int    `json:"checkpoints"`
	FirstScan   int64  `json:"first_scan,omitempty"`
	Problem     string `json:"problem,omitempty"`
	// Event: with VerifyScanLogEvent, the event's account.
	Event *ScanLogEvent `json:"event,omitempty"`

	latest int64 // the size of the latest stored checkpoint checked
}

// ScanLogProof proves that a scan's row is leaf Leaf of the tree of the
// checkpoint Checkpoint: tlog.CheckRecord(Proof, TreeSize, RootHash, Leaf,
// tlog.RecordHash(Record)).
type ScanLogProof struct {
	ScanID     int64       `json:"scan_id"`
	Leaf       int64       `json:"leaf"`
	Record     string      `json:"record"`
	TreeSize   int64       `json:"tree_size"`
	RootHash   tlog.Hash   `json:"root_hash"`
	Proof      []tlog.Hash `json:"proof"`
	Checkpoint string      `json:"checkpoint"`
	Verifier   string      `json:"verifier_key"`
}

type memHashes []tlog.Hash

func (m memHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		if idx < 0 || idx >= int64(len(m)) {
			return nil, fmt.Errorf("hash %d not computed", idx)
		}
		out[i] = m[idx]
	}
	return out, nil
}

// readTx begins a read-only transaction that sees one state of the
// database.
func (s *Store) readTx(ctx context.Context, what string) (*sql.Tx, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if !s.sqlite {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.rdb.BeginTx(ctx, opts)
	return tx, s.dbErr(err, what)
}

// VerifyScanLog recomputes the tree from the scans and checks it against
// every stored leaf, hash and checkpoint, and against kept, the signed
// checkpoints kept outside the server (notes as admit log checkpoint
// prints them).
func (s *Store) VerifyScanLog(ctx context.Context, kept ...string) (*ScanLogReport, error) {
	return s.verifyScanLog(ctx, 0, kept)
}

// verifyScanLog is VerifyScanLog, and with eventID > 0 VerifyScanLogEvent.
func (s *Store) verifyScanLog(ctx context.Context, eventID int64, kept []string) (*ScanLogReport, error) {
	_, verifier, err := s.scanLogSigner(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := s.readTx(ctx, "scan log")
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	x := dbx{s: s, db: s.rdb, tx: tx}
	rep, latest, err := s.verifyTree(ctx, x, verifier, kept)
	if err != nil || eventID <= 0 {
		return rep, err
	}
	if rep.Event, err = s.scanLogEvent(ctx, x, rep, eventID, latest); err != nil {
		return nil, err
	}
	return rep, nil
}

// verifyTree checks the tree in x; latest is the size of the latest
// stored checkpoint checked.
func (s *Store) verifyTree(ctx context.Context, x dbx, verifier note.Verifier, kept []string) (rep *ScanLogReport, latest int64, err error) {
	rep = &ScanLogReport{}
	defer func() {
		if rep != nil {
			latest = rep.latest
		}
	}()

	var leafIDs []int64
	rows, err := x.query(ctx, `SELECT n, scan_id FROM scanlog_leaves ORDER BY n`)
	if err != nil {
		return nil, 0, s.dbErr(err, "scan log")
	}
	for rows.Next() {
		var n, id int64
		if err := rows.Scan(&n, &id); err != nil {
			rows.Close()
			return nil, 0, s.dbErr(err, "scan log")
		}
		if n != int64(len(leafIDs)) {
			rows.Close()
			rep.Problem = fmt.Sprintf("leaf %d is missing from the leaves", len(leafIDs))
			return rep, 0, nil
		}
		leafIDs = append(leafIDs, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, s.dbErr(err, "scan log")
	}
	rep.Leaves = int64(len(leafIDs))

	stored := map[int64]tlog.Hash{}
	rows, err = x.query(ctx, `SELECT idx, hash FROM scanlog_hashes`)
	if err != nil {
		return nil, 0, s.dbErr(err, "scan log")
	}
	for rows.Next() {
		var idx int64
		var h []byte
		if err := rows.Scan(&idx, &h); err != nil {
			rows.Close()
			return nil, 0, s.dbErr(err, "scan log")
		}
		var hh tlog.Hash
		copy(hh[:], h)
		stored[idx] = hh
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, s.dbErr(err, "scan log")
	}

	// The rows, in id order, against the leaves.
	var computed memHashes
	rows, err = x.query(ctx, qScanLogRows+` ORDER BY id`)
	if err != nil {
		return nil, 0, s.dbErr(err, "scan log")
	}
	n := int64(0)
	for rows.Next() {
		id, data, err := scanRecord(rows)
		if err != nil {
			rows.Close()
			return nil, 0, s.dbErr(err, "scan log")
		}
		rep.Scans++
		if n >= rep.Leaves {
			continue // not appended yet
		}
		if leafIDs[n] != id {
			rows.Close()
			rep.FirstScan = min(leafIDs[n], id)
			if leafIDs[n] < id {
				rep.Problem = fmt.Sprintf("scan %d (leaf %d) is missing: deleted", leafIDs[n], n)
			} else {
				rep.Problem = fmt.Sprintf("scan %d is not in the log where it stands (leaf %d is scan %d): inserted", id, n, leafIDs[n])
			}
			return rep, 0, nil
		}
		hs, err := tlog.StoredHashes(n, data, computed)
		if err != nil {
			rows.Close()
			return nil, 0, admit.WrapInternal(err, "scan log")
		}
		if want, ok := stored[tlog.StoredHashIndex(0, n)]; !ok || want != hs[0] {
			rows.Close()
			rep.FirstScan = id
			rep.Problem = fmt.Sprintf("scan %d (leaf %d) differs from the row logged", id, n)
			return rep, 0, nil
		}
		computed = append(computed, hs...)
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, s.dbErr(err, "scan log")
	}
	if n < rep.Leaves {
		rep.FirstScan = leafIDs[n]
		rep.Problem = fmt.Sprintf("scan %d (leaf %d) is missing: deleted", leafIDs[n], n)
		return rep, 0, nil
	}
	if int64(len(stored)) != int64(len(computed)) {
		rep.Problem = fmt.Sprintf("%d stored hashes, %d expected", len(stored), len(computed))
		return rep, 0, nil
	}
	for i, h := range computed {
		if stored[int64(i)] != h {
			rep.Problem = fmt.Sprintf("stored hash %d differs", i)
			return rep, 0, nil
		}
	}

	// Every checkpoint against the recomputed tree.
	type checkpoint struct {
		size int64
		msg  string
	}
	var cps []checkpoint
	rows, err = x.query(ctx, `SELECT size, note FROM scanlog_checkpoints ORDER BY size`)
	if err != nil {
		return nil, 0, s.dbErr(err, "scan log")
	}
	for rows.Next() {
		var c checkpoint
		if err := rows.Scan(&c.size, &c.msg); err != nil {
			rows.Close()
			return nil, 0, s.dbErr(err, "scan log")
		}
		cps = append(cps, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, s.dbErr(err, "scan log")
	}
	for _, msg := range kept {
		cps = append(cps, checkpoint{size: -1, msg: msg})
	}
	good := int64(0)
	for _, c := range cps {
		size, msg := c.size, c.msg
		rep.Checkpoints++
		outside := size < 0
		bad := func(problem string) *ScanLogReport {
			if !outside && good < rep.Leaves {
				rep.FirstScan = leafIDs[good]
			}
			rep.Problem = fmt.Sprintf("checkpoint of size %d: %s", size, problem)
			if outside {
				rep.Problem = fmt.Sprintf("kept checkpoint of size %d: %s", size, problem)
			}
			return rep
		}
		nt, err := note.Open([]byte(msg), note.VerifierList(verifier))
		if err != nil {
			return bad("signature: " + err.Error()), 0, nil
		}
		tree, err := tlog.ParseTree([]byte(nt.Text))
		if err != nil {
			return bad("unreadable"), 0, nil
		}
		if outside {
			size = tree.N
		}
		if tree.N != size || size > rep.Leaves {
			return bad(fmt.Sprintf("tree of %d leaves, %d in the log", tree.N, rep.Leaves)), 0, nil
		}
		root, err := tlog.TreeHash(size, computed)
		if err != nil {
			return nil, 0, admit.WrapInternal(err, "scan log")
		}
		if root != tree.Hash {
			return bad("root hash differs from the rows"), 0, nil
		}
		if !outside {
			good = size
			rep.latest = size
		}
	}
	rep.OK = true
	return rep, 0, nil
}

// LatestScanLogCheckpoint returns the latest signed checkpoint (ENotFound
// before the first).
func (s *Store) LatestScanLogCheckpoint(ctx context.Context) (string, error) {
	var msg string
	err := s.reader().row(ctx, `SELECT note FROM scanlog_checkpoints ORDER BY size DESC LIMIT 1`).Scan(&msg)
	return msg, s.dbErr(err, "scan log checkpoint")
}

// ProveScan proves that scan scanID is in the tree of the latest
// checkpoint (ENotFound if the scan is not in the log yet).
func (s *Store) ProveScan(ctx context.Context, scanID int64) (*ScanLogProof, error) {
	p, _, err := s.proveScan(ctx, scanID, 0)
	return p, err
}

// ProveScanAt proves that scan scanID is in the tree of the stored
// checkpoint of size treeSize (0: the latest).
func (s *Store) ProveScanAt(ctx context.Context, scanID, treeSize int64) (*admit.LogProof, error) {
	p, eventID, err := s.proveScan(ctx, scanID, treeSize)
	if err != nil {
		return nil, err
	}
	out := &admit.LogProof{ScanID: p.ScanID, EventID: eventID, Leaf: p.Leaf, Record: p.Record, TreeSize: p.TreeSize,
		RootHash: p.RootHash[:], Proof: make([][]byte, len(p.Proof)), Checkpoint: p.Checkpoint, VerifierKey: p.Verifier}
	for i, h := range p.Proof {
		out.Proof[i] = h[:]
	}
	return out, nil
}

func (s *Store) proveScan(ctx context.Context, scanID, treeSize int64) (*ScanLogProof, int64, error) {
	vkey, err := s.ScanLogVerifierKey(ctx)
	if err != nil {
		return nil, 0, err
	}
	tx, err := s.readTx(ctx, "scan log")
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback()
	x := dbx{s: s, db: s.rdb, tx: tx}
	p := &ScanLogProof{ScanID: scanID, Verifier: vkey}
	q, args := `SELECT note FROM scanlog_checkpoints ORDER BY size DESC LIMIT 1`, []any{}
	if treeSize > 0 {
		q, args = `SELECT note FROM scanlog_checkpoints WHERE size = $1`, []any{treeSize}
	}
	if err := x.row(ctx, q, args...).Scan(&p.Checkpoint); err != nil {
		return nil, 0, s.dbErr(err, "scan log checkpoint")
	}
	if err := x.row(ctx, `SELECT n FROM scanlog_leaves WHERE scan_id = $1`, scanID).Scan(&p.Leaf); err != nil {
		return nil, 0, s.dbErr(err, "scan in the log")
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, 0, admit.WrapInternal(err, "scan log key")
	}
	nt, err := note.Open([]byte(p.Checkpoint), note.VerifierList(verifier))
	if err != nil {
		return nil, 0, admit.WrapInternal(err, "scan log checkpoint")
	}
	tree, err := tlog.ParseTree([]byte(nt.Text))
	if err != nil {
		return nil, 0, admit.WrapInternal(err, "scan log checkpoint")
	}
	if p.Leaf >= tree.N {
		return nil, 0, admit.Errorf(admit.ENotFound, "scan %d is not under the latest checkpoint yet", scanID)
	}
	p.TreeSize, p.RootHash = tree.N, tree.Hash
	// The scan's event (none if the row is gone: the proof then has no record).
	var of sql.NullInt64
	if err := x.row(ctx, `SELECT event_id FROM scans WHERE id = $1`, scanID).Scan(&of); err != nil && err != sql.ErrNoRows {
		return nil, 0, s.dbErr(err, "scan")
	}
	eventID := of.Int64
	rows, err := x.query(ctx, qScanLogRows+` WHERE id = $1`, scanID)
	if err != nil {
		return nil, 0, s.dbErr(err, "scan")
	}
	if rows.Next() {
		_, data, err := scanRecord(rows)
		if err != nil {
			rows.Close()
			return nil, 0, s.dbErr(err, "scan")
		}
		p.Record = string(data)
	}
	rows.Close()
	if p.Proof, err = tlog.ProveRecord(tree.N, p.Leaf, s.hashReader(ctx, x)); err != nil {
		return nil, 0, admit.WrapInternal(err, "scan log proof")
	}
	return p, eventID, nil
}

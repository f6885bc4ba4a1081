package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/admitdev/admit"
)

// The scan log as an append-only Merkle tree (RFC 6962): every row of
// table scans, in id order, is a leaf; its content is ScanLogRecord's
// canonical encoding of the row. AppendScanLog, run in the background by
// the server, appends the rows not yet in the tree, keeps the tree's
// stored hashes and signs a checkpoint (a note: tree size and root hash)
// with the server's Ed25519 key (table secrets). VerifyScanLog recomputes
// the tree from the rows and checks every stored hash and checkpoint.

// scanLogKeyName names the signing key of checkpoints in table secrets.
const scanLogKeyName = "scanlog-signer"

// ScanLogName is the name of the key that signs checkpoints.
const ScanLogName = "admit-scanlog"

// scanLogDelay: on PostgreSQL a scan's id is given before its transaction
// commits, so a row with a smaller id may appear after a larger one; the
// appender takes only rows logged at least this long ago.
const scanLogDelay = 10 * time.Second

// scanLogBatch bounds the rows appended by one call.
const scanLogBatch = 5000

// scanLogLock is the key of the advisory lock of the appender (PostgreSQL).
const scanLogLock = 7150452302

const qScanLogRows = `SELECT id, ticket_id, event_id, list_id, device_id, device_name, redeemer, source,
	type, result, nonce, device_time, server_time, forced, offline, device_verdict, clock_offset_ms, conflict
	FROM scans`

// The appender's statements. Their text never varies, so that SQLite
// prepares them once (at Open, scanLogQueries: inside the appender's
// transaction the one writer connection is taken and nothing can be
// prepared; parsing a statement of 128 rows each time was a quarter of
// the appender's CPU) and PostgreSQL's connections cache them.
const (
	qLogLast       = `SELECT n + 1, scan_id FROM scanlog_leaves ORDER BY n DESC LIMIT 1`
	qLogRows       = qScanLogRows + ` WHERE id > $1 ORDER BY id LIMIT $2`
	qLogRowsBefore = qScanLogRows + ` WHERE id > $1 AND server_time < $2 ORDER BY id LIMIT $3`
	qLogHash       = `SELECT hash FROM scanlog_hashes WHERE idx = $1`
	qLogCheckpoint = `INSERT INTO scanlog_checkpoints (size, note) VALUES ($1, $2)`
)

// rowsPerShape are the numbers of rows of the appender's INSERT
// statements, greatest first: a run of rows is inserted by the greatest
// that fits, then the next.
var rowsPerShape = [...]int{64, 16, 4, 1}

// rowShapes are an INSERT of two columns with rowsPerShape rows.
type rowShapes [len(rowsPerShape)]string

func newRowShapes(head string) *rowShapes {
	var sh rowShapes
	for k, n := range rowsPerShape {
		var b strings.Builder
		b.WriteString(head)
		for r := range n {
			if r > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "($%d, $%d)", 2*r+1, 2*r+2)
		}
		sh[k] = b.String()
	}
	return &sh
}

var (
	qLogHashRows = newRowShapes(`INSERT INTO scanlog_hashes (idx, hash) VALUES `)
	qLogLeafRows = newRowShapes(`INSERT INTO scanlog_leaves (n, scan_id) VALUES `)
)

// scanLogQueries are prepared on the SQLite writer at Open.
var scanLogQueries = slices.Concat([]string{qLogLast, qLogRows, qLogHash, qLogCheckpoint}, qLogHashRows[:], qLogLeafRows[:])

var scanLogFields = []string{"id", "ticket_id", "event_id", "list_id", "device_id", "device_name", "redeemer", "source",
	"type", "result", "nonce", "device_time", "server_time", "forced", "offline", "device_verdict", "clock_offset_ms", "conflict"}

// scanRecord reads one row of qScanLogRows: its id and its leaf content,
// the same on both engines: one line per field, "name value", integers and
// times (unix microseconds) in decimal, booleans 0 or 1, strings quoted
// (Go syntax), NULL as null.
func scanRecord(rows *sql.Rows) (int64, []byte, error) {
	vals := make([]any, len(scanLogFields))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return 0, nil, err
	}
	var b strings.Builder
	b.WriteString("admit scan v1\n")
	var id int64
	for i, v := range vals {
		b.WriteString(scanLogFields[i])
		b.WriteByte(' ')
		switch x := v.(type) {
		case nil:
			b.WriteString("null")
		case int64:
			if i == 0 {
				id = x
			}
			if f := scanLogFields[i]; f == "forced" || f == "offline" {
				x = min(x, 1)
			}
			b.WriteString(strconv.FormatInt(x, 10))
		case int32:
			b.WriteString(strconv.FormatInt(int64(x), 10))
		case bool:
			if x {
				b.WriteString("1")
			} else {
				b.WriteString("0")
			}
		case time.Time:
			b.WriteString(strconv.FormatInt(x.UnixMicro(), 10))
		case string:
			b.WriteString(strconv.Quote(x))
		case []byte:
			b.WriteString(strconv.Quote(string(x)))
		default:
			return 0, nil, fmt.Errorf("sqlstore: scan log: field %s: unexpected %T", scanLogFields[i], v)
		}
		b.WriteByte('\n')
	}
	return id, []byte(b.String()), nil
}

// scanLogSigner returns the server's signer of checkpoints, made on first
// use and kept in table secrets.
func (s *Store) scanLogSigner(ctx context.Context) (note.Signer, note.Verifier, error) {
	var key []byte
	err := s.wdb.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = $1`, scanLogKeyName).Scan(&key)
	if err == sql.ErrNoRows {
		skey, vkey, gerr := note.GenerateKey(rand.Reader, ScanLogName)
		if gerr != nil {
			return nil, nil, admit.WrapInternal(gerr, "scan log key")
		}
		if _, err := s.wdb.ExecContext(ctx, `INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
			scanLogKeyName, []byte(skey+"\n"+vkey)); err != nil {
			return nil, nil, s.dbErr(err, "scan log key")
		}
		err = s.wdb.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = $1`, scanLogKeyName).Scan(&key)
	}
	if err != nil {
		return nil, nil, s.dbErr(err, "scan log key")
	}
	skey, vkey, ok := strings.Cut(string(key), "\n")
	if !ok {
		return nil, nil, admit.Errorf(admit.EInternal, "the scan log key is malformed")
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, nil, admit.WrapInternal(err, "scan log key")
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, nil, admit.WrapInternal(err, "scan log key")
	}
	return signer, verifier, nil
}

// ScanLogVerifierKey returns the public key that checks the checkpoints
// (note.NewVerifier's form).
func (s *Store) ScanLogVerifierKey(ctx context.Context) (string, error) {
	var key []byte
	if _, _, err := s.scanLogSigner(ctx); err != nil {
		return "", err
	}
	err := s.wdb.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = $1`, scanLogKeyName).Scan(&key)
	if err != nil {
		return "", s.dbErr(err, "scan log key")
	}
	_, vkey, _ := strings.Cut(string(key), "\n")
	return vkey, nil
}

// hashReader reads stored hashes through x.
func (s *Store) hashReader(ctx context.Context, x dbx) tlog.HashReaderFunc {
	return func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, idx := range indexes {
			var h []byte
			if err := x.row(ctx, qLogHash, idx).Scan(&h); err != nil {
				return nil, fmt.Errorf("stored hash %d: %w", idx, err)
			}
			if len(h) != tlog.HashSize {
				return nil, fmt.Errorf("stored hash %d: %d bytes", idx, len(h))
			}
			copy(out[i][:], h)
		}
		return out, nil
	}
}

// AppendScanLog appends the scans not yet in the tree (on PostgreSQL, those
// logged at least scanLogDelay ago), at most a batch, and signs a
// checkpoint if the tree grew. It returns the tree's size. On PostgreSQL
// one node appends at a time: another node's call returns at once.
func (s *Store) AppendScanLog(ctx context.Context) (int64, error) {
	size, _, err := s.appendScanLog(ctx)
	return size, err
}

// scanLogChunk bounds the rows one transaction of the appender adds: on
// SQLite the transaction holds the one writer connection, and the scans
// committed by the group writer wait for it; 64 rows hold it about a
// millisecond, where 5,000 held it for a quarter of a second, a stall
// every scan arriving meanwhile waited for.
const scanLogChunk = 64

// appendScanLog appends at most scanLogBatch rows, in transactions of
// scanLogChunk rows, and signs a checkpoint in the last. more reports that
// rows were left for the next call.
func (s *Store) appendScanLog(ctx context.Context) (size int64, more bool, err error) {
	signer, _, err := s.scanLogSigner(ctx)
	if err != nil {
		return 0, false, err
	}
	for done := 0; done < scanLogBatch; {
		n := min(scanLogChunk, scanLogBatch-done)
		var added int
		var lastChunk bool
		var edge *logEdge
		err = s.inTx(ctx, "scan log", func(x dbx) error {
			var err error
			size, added, lastChunk, edge, err = s.appendScanLogChunk(ctx, x, signer, n, done+n >= scanLogBatch, done > 0)
			return err
		})
		if err != nil {
			return size, false, err
		}
		if edge != nil {
			s.logEdge.Store(edge) // committed: the next chunk starts from it
		}
		done += added
		if lastChunk {
			return size, added == n && done >= scanLogBatch, nil
		}
	}
	return size, true, nil
}

// logEdge is the right edge of the tree of size leaves whose last leaf is
// scan lastID: the stored hashes of its complete subtrees, which are all
// that appending a leaf, or the root, reads of what is stored. The
// appender keeps the edge of the tree it last committed, so that a chunk
// reads no stored hash when the tree is still as it left it (a query per
// hash cost more than the rest of the chunk); on PostgreSQL another node
// may have appended since, and the chunk then reads them from the table.
type logEdge struct {
	size, lastID int64
	hashes       map[int64]tlog.Hash
}

// edgeIndexes are the stored hash indexes of the complete subtrees on the
// right edge of a tree of size leaves: one per bit set in size.
func edgeIndexes(size int64) []int64 {
	var out []int64
	for level := 0; level < 63 && size>>level != 0; level++ {
		if (size>>level)&1 == 1 {
			out = append(out, tlog.StoredHashIndex(level, (size>>level)-1))
		}
	}
	return out
}

// appendScanLogChunk appends at most n rows in the transaction x. It signs
// a checkpoint when it found fewer than n rows (the log is caught up), or
// when sign is set (the call's last chunk), if the tree grew in this chunk
// or, grew set, in an earlier chunk of the call; last reports that it
// signed or had nothing to add or sign; edge is the tree's edge after
// the chunk (nil if it appended nothing and signed nothing).
func (s *Store) appendScanLogChunk(ctx context.Context, x dbx, signer note.Signer, n int, sign, grew bool) (size int64, added int, last bool, edge *logEdge, err error) {
	if !s.sqlite {
		var ok bool
		if err := x.row(ctx, `SELECT pg_try_advisory_xact_lock(CAST($1 AS BIGINT))`, int64(scanLogLock)).Scan(&ok); err != nil {
			return 0, 0, true, nil, err
		}
		if !ok {
			return 0, 0, true, nil, nil
		}
	}
	// The leaves are numbered from 0 without gaps: the next is one past
	// the greatest (an index read; counting them read them all).
	var lastID int64
	// The last leaf is the greatest scan id (rows are appended in id
	// order). One index read: MAX of two columns in one query made SQLite
	// read every leaf, at every chunk.
	if err := x.row(ctx, qLogLast).Scan(&size, &lastID); err != nil && err != sql.ErrNoRows {
		return 0, 0, true, nil, err
	}
	var rows *sql.Rows
	if s.sqlite {
		rows, err = x.query(ctx, qLogRows, lastID, n)
	} else {
		rows, err = x.query(ctx, qLogRowsBefore, lastID, s.ts(time.Now().Add(-scanLogDelay)), n)
	}
	if err != nil {
		return size, 0, true, nil, err
	}
	type leaf struct {
		id   int64
		data []byte
	}
	var leaves []leaf
	for rows.Next() {
		id, data, err := scanRecord(rows)
		if err != nil {
			rows.Close()
			return size, 0, true, nil, err
		}
		leaves = append(leaves, leaf{id, data})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return size, 0, true, nil, err
	}
	if len(leaves) == 0 && !grew {
		return size, 0, true, nil, nil
	}
	// Hashes computed but not yet stored are read from pending, and so
	// are those of the edge the appender committed last, if the tree is
	// still that one.
	pending := map[int64]tlog.Hash{}
	if e := s.logEdge.Load(); e != nil && e.size == size && e.lastID == lastID {
		maps.Copy(pending, e.hashes)
	}
	stored := s.hashReader(ctx, x)
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, idx := range indexes {
			if h, ok := pending[idx]; ok {
				out[i] = h
				continue
			}
			hs, err := stored([]int64{idx})
			if err != nil {
				return nil, err
			}
			out[i] = hs[0]
		}
		return out, nil
	})
	var hashRows, leafRows []any
	for _, l := range leaves {
		hashes, err := tlog.StoredHashes(size, l.data, reader)
		if err != nil {
			return size, 0, true, nil, err
		}
		base := tlog.StoredHashIndex(0, size)
		for i, h := range hashes {
			pending[base+int64(i)] = h
			hashRows = append(hashRows, base+int64(i), h[:])
		}
		leafRows = append(leafRows, size, l.id)
		size++
	}
	// A few statements of many rows each: a statement per row cost about
	// as much as the scan it logs.
	if err := insertRows(ctx, x, qLogHashRows, hashRows); err != nil {
		return size, 0, true, nil, err
	}
	if err := insertRows(ctx, x, qLogLeafRows, leafRows); err != nil {
		return size, 0, true, nil, err
	}
	edge = &logEdge{size: size, lastID: lastID, hashes: map[int64]tlog.Hash{}}
	if len(leaves) > 0 {
		edge.lastID = leaves[len(leaves)-1].id
	}
	for _, idx := range edgeIndexes(size) {
		hs, err := reader([]int64{idx})
		if err != nil {
			return size, 0, true, nil, err
		}
		edge.hashes[idx] = hs[0]
	}
	if len(leaves) == n && !sign {
		return size, len(leaves), false, edge, nil
	}
	root, err := tlog.TreeHash(size, reader)
	if err != nil {
		return size, 0, true, nil, err
	}
	msg, err := note.Sign(&note.Note{Text: string(tlog.FormatTree(tlog.Tree{N: size, Hash: root}))}, signer)
	if err != nil {
		return size, 0, true, nil, err
	}
	if _, err = x.exec(ctx, qLogCheckpoint, size, string(msg)); err != nil {
		return size, 0, true, nil, err
	}
	return size, len(leaves), true, edge, nil
}

// insertRows inserts the rows of vals (two values each) with the
// statements of shapes, many rows per statement.
func insertRows(ctx context.Context, x dbx, shapes *rowShapes, vals []any) error {
	if len(vals)%2 != 0 {
		return fmt.Errorf("insert rows: %d values, not pairs", len(vals))
	}
	for len(vals) > 0 {
		rows := len(vals) / 2
		k := 0
		for rowsPerShape[k] > rows {
			k++
		}
		n := rowsPerShape[k] * 2
		if _, err := x.exec(ctx, shapes[k], vals[:n]...); err != nil {
			return err
		}
		vals = vals[n:]
	}
	return nil
}

// RunScanLog appends to the scan log every interval until ctx ends.
func (s *Store) RunScanLog(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		// A call appends at most scanLogBatch rows: more arrive between two
		// ticks under load, so call again until the log has caught up.
		for ctx.Err() == nil {
			_, more, err := s.appendScanLog(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.Error("scan log: append", "err", err)
			}
			if err != nil || !more {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

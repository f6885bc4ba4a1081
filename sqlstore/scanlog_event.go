package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/admitdev/admit"
)

// Where the first damage of a log that does not verify lies, for
// VerifyScanLogEvent.
const (
	// DamageEvent: the first scan affected is a row of the event.
	DamageEvent = "event"
	// DamageOtherEvent: the first scan affected is a row of another event.
	DamageOtherEvent = "other_event"
	// DamageUnattributed: the first scan affected is no row any more
	// (deleted: its event cannot be told), or the damage is in the stored
	// tree or a checkpoint rather than in a row.
	DamageUnattributed = "unattributed"
)

// ScanLogEvent is an event's account in a verification of the whole log.
type ScanLogEvent struct {
	// Event names the event (set by the caller: the store knows its id).
	Event string `json:"event,omitempty"`
	// Scans counts the event's rows in the log.
	Scans int64 `json:"scans"`
	// Covered counts the event's rows under the latest stored checkpoint,
	// when the whole log verifies (else 0: nothing is vouched for).
	Covered int64 `json:"covered"`
	// Damage, when the log does not verify, says where the first damage
	// lies (DamageEvent, DamageOtherEvent or DamageUnattributed).
	Damage string `json:"damage,omitempty"`
}

// VerifyScanLogEvent verifies the whole log as VerifyScanLog does (the
// tree is one over every event's scans: a checkpoint vouches for all its
// rows or for none), and accounts for the event eventID: its rows, those
// under the latest checkpoint, and, if the log does not verify, whether
// the first damage is in the event's rows or elsewhere. The report is OK
// only if the whole log is: damage outside the event is damage still.
func (s *Store) VerifyScanLogEvent(ctx context.Context, eventID int64, kept ...string) (*ScanLogReport, error) {
	return s.verifyScanLog(ctx, eventID, kept)
}

// scanLogEvent accounts for event eventID in rep, in x (the transaction
// that verified the tree); latest is the latest checkpoint's size.
func (s *Store) scanLogEvent(ctx context.Context, x dbx, rep *ScanLogReport, eventID, latest int64) (*ScanLogEvent, error) {
	ev := &ScanLogEvent{}
	if err := x.row(ctx, `SELECT COUNT(*) FROM scans WHERE event_id = $1`, eventID).Scan(&ev.Scans); err != nil {
		return nil, s.dbErr(err, "scan log")
	}
	if rep.OK {
		err := x.row(ctx, `SELECT COUNT(*) FROM scanlog_leaves l JOIN scans s ON s.id = l.scan_id
			WHERE s.event_id = $1 AND l.n < $2`, eventID, latest).Scan(&ev.Covered)
		if err != nil {
			return nil, s.dbErr(err, "scan log")
		}
		return ev, nil
	}
	ev.Damage = DamageUnattributed
	if rep.FirstScan > 0 {
		var of sql.NullInt64
		err := x.row(ctx, `SELECT event_id FROM scans WHERE id = $1`, rep.FirstScan).Scan(&of)
		switch {
		case err == sql.ErrNoRows:
		case err != nil:
			return nil, s.dbErr(err, "scan log")
		case of.Valid && of.Int64 == eventID:
			ev.Damage = DamageEvent
		default:
			ev.Damage = DamageOtherEvent
		}
	}
	switch ev.Damage {
	case DamageOtherEvent:
		rep.Problem = fmt.Sprintf("outside the event (scan %d is another event's): %s", rep.FirstScan, rep.Problem)
	case DamageUnattributed:
		rep.Problem = fmt.Sprintf("not attributable to the event (a row deleted, or the stored tree): %s", rep.Problem)
	}
	return ev, nil
}

// LatestLogCheckpoint returns the latest signed checkpoint with its size
// and the key that checks it (ENotFound before the first).
func (s *Store) LatestLogCheckpoint(ctx context.Context) (*admit.LogCheckpoint, error) {
	vkey, err := s.ScanLogVerifierKey(ctx)
	if err != nil {
		return nil, err
	}
	cp := &admit.LogCheckpoint{VerifierKey: vkey}
	err = s.reader().row(ctx, `SELECT size, note FROM scanlog_checkpoints ORDER BY size DESC LIMIT 1`).Scan(&cp.Size, &cp.Note)
	if err != nil {
		return nil, s.dbErr(err, "scan log checkpoint")
	}
	return cp, nil
}

// ScanLeaves returns the leaf index of each scan of ids in the tree.
func (s *Store) ScanLeaves(ctx context.Context, ids []int64) (map[int64]int64, error) {
	out := make(map[int64]int64, len(ids))
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		var q strings.Builder
		args := make([]any, len(chunk))
		q.WriteString(`SELECT scan_id, n FROM scanlog_leaves WHERE scan_id IN (`)
		for i, id := range chunk {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteString("$" + strconv.Itoa(i+1))
			args[i] = id
		}
		q.WriteByte(')')
		rows, err := s.reader().query(ctx, q.String(), args...)
		if err != nil {
			return nil, s.dbErr(err, "scan log leaves")
		}
		for rows.Next() {
			var id, n int64
			if err := rows.Scan(&id, &n); err != nil {
				rows.Close()
				return nil, s.dbErr(err, "scan log leaves")
			}
			out[id] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, s.dbErr(err, "scan log leaves")
		}
	}
	return out, nil
}

package sqlstore

import (
	"context"
	"database/sql"

	"github.com/admitdev/admit"
)

// A plain scan on PostgreSQL: one statement, alone or in a group commit
// (pgbatch.go).

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

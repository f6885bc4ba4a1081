package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/admitdev/admit"
)

// pgContains returns the condition "expr contains q" (expr lowercased, q
// the query lowercased) for PostgreSQL: one LIKE on the trigram index of
// expr, of q itself or, for an email, of its part before the last "@" (the
// domain's trigrams are every ticket's: "@example.org" made a search read
// long lists), then checked whole by strpos. pg_trgm takes from a LIKE
// pattern the trigrams of its words, padded where a word starts or ends
// inside the pattern ("nora.xu.12": "ra ", " xu", "xu ", " 12"...), which
// find the few tickets that have those words side by side, where the
// trigrams inside words alone ("nor", "ora") find every Nora.
func pgContains(b *binder, expr, q string) string {
	part := q
	if i := strings.LastIndex(q, "@"); i >= 0 && utf8.RuneCountInString(q[:i]) >= minTrigramQuery {
		part = q[:i]
	}
	c := expr + ` LIKE ` + b.bind("%"+likeEscape(part)+"%") + ` ESCAPE '\'`
	if part != q {
		c = "(" + c + ` AND strpos(` + expr + `, ` + b.bind(q) + `) > 0)`
	}
	return c
}

// PostgreSQL: a page in last-name order of a search that matches many
// tickets, without reading every match. The event's tickets are taken in
// the page's order (lower(last_name), id), in consecutive ranges: the first
// topChunks[0] tickets, the next topChunks[1], then the rest. Each range is
// bounded by the key of its last ticket, read from the index of migration
// 00010 (tickets_event_last, which holds the id), and searched as the whole
// event was: the trigram bitmaps, AND'ed with the range's on that index, so
// that only the matches inside the range are read. The ranges come in
// order, so once the matches found fill the page, those of the later
// ranges cannot enter it: the page is the plain query's. A query that
// matches few tickets reads the first ranges' few matches, then the rest
// (about what it cost before).
var topChunks = []int{8192, 65536}

// postgresTop returns the ids of f's first Offset+Limit tickets, in order,
// found range by range; ok is false where this does not apply (not the
// last-name order, no page for sp.top).
func (s *Store) postgresTop(ctx context.Context, f admit.TicketFilter, sp *searchPlan) (ids []int64, ok bool, err error) {
	if s.sqlite || sp.top == nil || sp.mode != searchIndexed || f.OrderBy != admit.OrderByLastName {
		return nil, false, nil
	}
	k := f.Offset + f.Limit
	after, upTo, dir := ">", "<=", ""
	if f.Desc {
		after, upTo, dir = "<", ">=", " DESC"
	}
	b := &binder{}
	match := sp.postgresMatch(b)
	if match == "" {
		return nil, true, nil
	}
	where, args := s.ticketWhere(*sp.top, nil, b.args)
	b.args = args
	if where == "" {
		where = " WHERE true"
	}
	where += ` AND t.event_id = ` + b.bind(sp.eventID)
	where += " AND " + match
	base := b.args
	x := s.reader()
	type key struct {
		k  string
		id int64
	}
	var lo *key // the last ticket of the ranges searched
	for i := 0; ; i++ {
		args := slices.Clone(base)
		ph := func(v any) string {
			args = append(args, v)
			return "$" + strconv.Itoa(len(args))
		}
		// The range's end: the key of its last ticket, none for the rest.
		var hi *key
		if i < len(topChunks) {
			bargs := []any{sp.eventID}
			q := `SELECT LOWER(last_name), id FROM tickets WHERE event_id = $1`
			if lo != nil {
				q += ` AND (LOWER(last_name), id) ` + after + ` ($2, $3)`
				bargs = append(bargs, lo.k, lo.id)
			}
			q += ` ORDER BY LOWER(last_name)` + dir + `, id` + dir + ` OFFSET ` + strconv.Itoa(topChunks[i]-1) + ` LIMIT 1`
			var h key
			switch err := x.row(ctx, q, bargs...).Scan(&h.k, &h.id); err {
			case nil:
				hi = &h
			case sql.ErrNoRows:
			default:
				return nil, false, s.dbErr(err, "tickets")
			}
		}
		q := `SELECT t.id, LOWER(t.last_name) FROM tickets t` + where
		if lo != nil {
			q += ` AND (LOWER(t.last_name), t.id) ` + after + ` (` + ph(lo.k) + `, ` + ph(lo.id) + `)`
		}
		if hi != nil {
			q += ` AND (LOWER(t.last_name), t.id) ` + upTo + ` (` + ph(hi.k) + `, ` + ph(hi.id) + `)`
		}
		// Sorted by expressions no index has (see postgresCond).
		q += ` ORDER BY (LOWER(t.last_name) || '')` + dir + `, (t.id + 0)` + dir + ` LIMIT ` + strconv.Itoa(k-len(ids))
		rows, err := x.query(ctx, q, args...)
		if err != nil {
			return nil, false, s.dbErr(err, "tickets")
		}
		for rows.Next() {
			var h key
			if err := rows.Scan(&h.id, &h.k); err != nil {
				rows.Close()
				return nil, false, s.dbErr(err, "tickets")
			}
			ids = append(ids, h.id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, false, s.dbErr(err, "tickets")
		}
		if len(ids) >= k || hi == nil {
			return ids, true, nil
		}
		lo = hi
	}
}

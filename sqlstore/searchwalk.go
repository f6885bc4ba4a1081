package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/admitdev/admit"
)

// A page of a search that matches many tickets, found by walking the
// event's tickets in the page's order (an index range scan on both engines:
// tickets_event_last, migration 00010, or the primary key), a chunk at a
// time, each ticket checked against the exact predicate and the filter's
// other conditions, until the page is full. The tickets walked are the
// first ones of the order, so the page's matches are the first ones of
// all: the answer is the one of the plain query.
//
// It serves the queries the trigram indexes cannot look up, or look up
// only slowly: those of one or two characters, which match a large share
// of the tickets as a rule ("a", "e", "ma": the page is full after a few
// hundred tickets, where reading every match or every ticket took seconds),
// and on PostgreSQL the longer queries that match many (see walkProbe).
// A query that matches few tickets stops the walk early: once the matches
// found so far say that the page would need more than walkBudget tickets
// walked, the search goes on as before (the indexes, or every ticket).
//
// On PostgreSQL, a query of one or two characters in last-name order walks
// the index alone (migration 00017: it holds each ticket's searched text,
// its order's included), about 1.5 µs a ticket where reading each
// ticket's row and order took 20 to 36 µs, checking only the tickets whose
// text has the query, up to walkIndexBudget tickets with matches found or
// not: the pair indexes read every match, and a common pair whose page
// lies deep in the order took seconds ("an": 228,000 matches, the page
// 20,783 tickets in: 5.8 s; 44 ms walked). A pair of characters, a page in
// ascending last-name order, walks on while it finds matches, up to
// pairWalkBudget tickets; if its first chunk has none, or the budget runs
// out, its page is looked up in the pairs bucketed by last name (migration
// 00019, usePairGrams). Otherwise, a pair that none of the first 4,096
// tickets have walks on only if it is common (commonPair).

// walkOff turns the walk off (the tests of the index lookups).
var walkOff atomic.Bool

// walkBudget bounds the tickets a walk reads, checking each; walkIndexBudget
// those a walk reads from the index alone (PostgreSQL, one or two
// characters, in last-name order), twice that for a common pair.
const (
	walkBudget      = 4096
	walkIndexBudget = 131072
	pairWalkBudget  = 32768
)

// walkChunk is the size of a walk's first chunk; the next ones are sized
// by walkNext. A query of three characters or more walks on PostgreSQL
// only, from a smaller first chunk (walkProbe), and only if it may match
// many (mayMatchMany): most such queries match too few tickets to be
// walked ("nora weber": one in two thousand), and the walk then costs them
// what reading that chunk costs; those that match many ("nora.", one in
// forty, and the tickets of their orders) had every match read, 0.5 to 1 s
// over 1,000,000 tickets. (On SQLite, searchTop reads their matches in
// last-name order already.)
const (
	walkChunk = 256
	walkProbe = 64
)

// walkNext returns the size of a walk's next chunk, read tickets walked so
// far and found matches among them, k wanted: what the matches found say
// the page still needs, and a quarter more (the matches are not spread
// evenly), or, none found yet, four times the last chunk; within what is
// left of the budget. (Chunks growing fourfold whatever the matches said
// read 1,280 tickets for a page of 50 at one match in ten.)
func walkNext(last, read, found, k, budget int) int {
	next := 4 * last
	if found > 0 {
		next = int(int64(k-found)*int64(read)/int64(found)*5/4) + 16
	}
	return max(min(next, budget-read), 1)
}

// mayMatchMany reports whether a query of three characters or more is
// worth walking for on PostgreSQL: a bare word or the start of one ("nora",
// "samir.", "bauer"), not a query with a digit, an "@" or a space (an email,
// a code, a uuid's start, a full name), which matches few tickets as a rule.
// The walk's first chunk cost every query 4 to 5 ms there (the statement is
// planned at each run: a generic plan reads every ticket).
func mayMatchMany(q string) bool {
	return !strings.ContainsAny(q, "0123456789@ \t\n")
}

// walkable reports whether f's page can be found by a walk: a page, in
// last-name or id order, without a count.
func walkable(f admit.TicketFilter, sp *searchPlan) bool {
	if walkOff.Load() || sp.eventID == 0 || sp.mode == searchNone || f.Count || f.Limit <= 0 || f.Offset < 0 || f.Offset+f.Limit > maxTopPage {
		return false
	}
	return f.OrderBy == admit.OrderByLastName || f.OrderBy == admit.OrderByID
}

// nameRange bounds the lowercase last names a walk in last-name order reads:
// from from, before to ("" none); the zero value, every ticket.
type nameRange struct{ from, to string }

// searchWalk returns the ids of f's page, in order, found by walking the
// event's tickets; ok is false if the walk gave up (the budget), ids then
// the matches it found.
func (s *Store) searchWalk(ctx context.Context, f admit.TicketFilter, sp *searchPlan, within nameRange, firstChunk, budget int) (ids []int64, ok bool, err error) {
	k := f.Offset + f.Limit
	byName := f.OrderBy == admit.OrderByLastName
	// The condition on t, o, p: the filter's others and the exact predicate.
	base := f
	base.Query = ""
	const head = 4 // $1 event, $2 key bound, $3 id bound, $4 chunk size
	args := make([]any, head)
	where, args := s.ticketWhere(base, nil, args)
	b := &binder{args: args}
	check := sp.exact(b)
	if where == "" {
		where = " WHERE " + check
	} else {
		where += " AND " + check
	}
	args = b.args
	args[0] = sp.eventID

	lt, dir, rdir := ">", "", " DESC"
	if f.Desc {
		lt, dir, rdir = "<", " DESC", ""
	}
	// PostgreSQL, in last-name order: the index of migration 00017 holds
	// each ticket's searched text, so the walk reads the index alone and
	// checks only the tickets whose text has the query (pre), not every
	// ticket's row and order. One or two characters get a larger budget.
	// A longer query keeps the budget it is given: most of those worth
	// walking fill their page early, and those that do not are found by the
	// trigram indexes (the walk of a query that matches few, "bastien.ols"
	// or "zoe.n", gave up after 20 to 25 ms reading rows, 1 to 5 ms reading
	// the index).
	pre := ""
	short := utf8.RuneCountInString(sp.q) < minTrigramQuery
	// projected: the walk gives up as soon as the matches it found say
	// that the page lies past its budget (or none were found in its first
	// chunk); a short query's index walk goes on to its budget.
	projected := !short || s.sqlite || !byName
	if !s.sqlite && byName {
		var may []string
		if sp.fields&(admit.SearchName|admit.SearchEmail|admit.SearchPrice) != 0 {
			may = append(may, `t.search_text LIKE `+b.bind("%"+likeEscape(sp.q)+"%")+` ESCAPE '\'`)
		}
		if sp.fields&(admit.SearchUUIDPrefix|admit.SearchSecretPrefix|admit.SearchOrderUUIDPrefix|admit.SearchOrderCodePrefix) != 0 {
			may = append(may, `t.search_keys LIKE `+b.bind("%\x02"+likeEscape(sp.q)+"%")+` ESCAPE '\'`)
		}
		if sp.fields&admit.SearchProduct != 0 {
			ids, err := s.matchingProducts(ctx, sp)
			if err != nil {
				return nil, false, err
			}
			for _, id := range ids {
				may = append(may, `t.product_id = `+b.bind(id))
			}
		}
		pre = "false"
		if len(may) > 0 {
			pre = "(" + strings.Join(may, " OR ") + ")"
		}
		args = b.args
		args[0] = sp.eventID
		switch {
		case short && sp.pairGrams:
			// A pair that none of the first tickets have is looked up in
			// the bucketed pairs (searchgrams.go), as is one whose page
			// lies past a smaller budget.
			budget = pairWalkBudget
		case short:
			budget = walkIndexBudget
		}
	}
	// The walk's key and order, on the ticket t.
	key, order := "''", "t.id"+dir
	idx := ""
	if byName {
		// The index of migration 00010, named on SQLite (an error rather
		// than a plan that sorts every ticket, should it not apply).
		key, order, idx = "LOWER(t.last_name)", "LOWER(t.last_name)"+dir+", t.id"+dir, s.lastIndex()
	}
	// One bucket's tickets (walkWordBucket): from within.from, before within.to.
	from, to := byName && !f.Desc && within.from != "", ""
	if from && within.to != "" {
		to = ` AND LOWER(t.last_name) < ` + b.bind(within.to)
		args = b.args
	}
	chunk := func(first bool) string {
		// A bound not compared is used all the same, by a condition that
		// holds (PostgreSQL needs a type for every placeholder).
		used2, used3 := ` AND CAST($2 AS TEXT) IS NOT NULL`, ` AND CAST($3 AS BIGINT) IS NOT NULL`
		bound := used2 + used3
		switch {
		case first && from:
			bound = ` AND LOWER(t.last_name) >= $2` + used3
		case first:
		case byName:
			bound = pastLastName("t", lt, "$2", "$3")
		default:
			bound = used2 + ` AND t.id ` + lt + ` $3`
		}
		bound += to
		if s.sqlite {
			// Each ticket checked as it is read (a LEFT JOIN keeps the
			// ticket the outer loop, and every ticket a row), not by a
			// subquery that looks it up again: a third less time.
			return `SELECT t.id, ` + key + `, CASE WHEN ` + strings.TrimPrefix(where, " WHERE ") + ` THEN 1 ELSE 0 END
				FROM tickets t` + idx + ` LEFT JOIN orders o ON o.id = t.order_id LEFT JOIN products p ON p.id = t.product_id
				WHERE t.event_id = $1` + bound + ` ORDER BY ` + order + ` LIMIT $4`
		}
		if pre != "" {
			// The tickets that may match, checked, in order; then the last
			// ticket read, with the number read (n), where the next chunk
			// begins.
			return `WITH w AS (SELECT t.id, ` + key + ` AS k, ` + pre + ` AS pre FROM tickets t WHERE t.event_id = $1` + bound + `
				ORDER BY ` + order + ` LIMIT $4)
				SELECT * FROM (SELECT t.id, ` + key + `, CASE WHEN ` + strings.TrimPrefix(where, " WHERE ") + ` THEN true ELSE false END, CAST(NULL AS BIGINT)
					` + ticketJoins + ` WHERE t.id = ANY (ARRAY(SELECT w.id FROM w WHERE w.pre)) ORDER BY ` + order + `) m
				UNION ALL
				SELECT * FROM (SELECT w.id, w.k, false, (SELECT COUNT(*) FROM w) FROM w ORDER BY w.k` + rdir + `, w.id` + rdir + ` LIMIT 1) l`
		}
		return `SELECT w.id, w.k, EXISTS (SELECT 1` + ticketJoins + where + ` AND t.id = w.id)
			FROM (SELECT t.id, ` + key + ` AS k FROM tickets t` + idx + ` WHERE t.event_id = $1` + bound + `
				ORDER BY ` + order + ` LIMIT $4) w ORDER BY w.k` + dir + `, w.id` + dir
	}
	x := s.reader()
	var lastKey string
	var lastID int64
	if from {
		lastKey = within.from
	}
	read := 0
	next := func(size int) int {
		n := walkNext(size, read, len(ids), k, budget)
		if pre != "" {
			// A chunk is read whole: one past the page would read tickets
			// for nothing, one sized from a few early matches many.
			n = min(n, 4*size)
		}
		return n
	}
	common := false // commonPair said so
	for size, first := firstChunk, true; ; size, first = next(size), false {
		args[1], args[2], args[3] = lastKey, lastID, size
		rows, err := x.query(ctx, chunk(first), args...)
		if err != nil {
			return nil, false, s.dbErr(err, "tickets")
		}
		n := 0
		for rows.Next() {
			var id int64
			var key sql.NullString
			var match bool
			var dest = []any{&id, &key, &match}
			var last sql.NullInt64
			if pre != "" {
				dest = append(dest, &last)
			}
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return nil, false, s.dbErr(err, "tickets")
			}
			if pre != "" && last.Valid {
				// The last ticket read: the walk goes on from it.
				n, lastKey, lastID = int(last.Int64), key.String, id
				continue
			}
			if pre == "" {
				n, lastKey, lastID = n+1, key.String, id
			}
			if match {
				ids = append(ids, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, false, s.dbErr(err, "tickets")
		}
		read += n
		if len(ids) >= k || n < size {
			// The page is full, or every ticket of the event was walked
			// (the rows come in the order wanted: see the query).
			break
		}
		if pre != "" && len(ids) == 0 && read >= walkBudget && !common && isPair(sp.q) && !sp.pairGrams {
			// Two characters none of the first tickets have: walked on if
			// many others have them (commonPair).
			var err error
			if common, err = s.commonPair(ctx, sp); err != nil {
				return nil, false, err
			}
			if common {
				budget = 2 * walkIndexBudget
			}
		}
		left := budget - read
		none := projected || read >= walkBudget || short && sp.pairGrams // gives up without a match
		if left <= 0 || len(ids) == 0 && !common && none ||
			len(ids) > 0 && projected && int64(k-len(ids))*int64(read)/int64(len(ids)) > int64(left) {
			return ids, false, nil // the matches found so far
		}
	}
	if len(ids) > k {
		ids = ids[:k]
	}
	return ids, true, nil
}

// pastLastName is the condition that ticket x comes after (lt ">") or
// before (lt "<") the one of lowercase last name key and id id, in
// last-name order: " AND ..." on the index of migration 00010.
func pastLastName(x, lt, key, id string) string {
	name := "LOWER(" + x + ".last_name)"
	return ` AND ` + name + ` ` + lt + `= ` + key + ` AND (` + name + ` ` + lt + ` ` + key + ` OR ` + x + `.id ` + lt + ` ` + id + `)`
}

// lastIndex names the index of migration 00010 for SQLite (INDEXED BY).
func (s *Store) lastIndex() string {
	if s.sqlite {
		return " INDEXED BY tickets_event_last"
	}
	return ""
}

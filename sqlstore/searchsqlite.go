// SQLite search: the FTS5 candidates of a query (its key trigrams, or the
// terms a short query starts), and searchTop, which finds a page in
// last-name order without reading every match.

package sqlstore

import (
	"context"
	"database/sql"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/admitdev/admit"
)

// ftsColumns returns the FTS columns of the search's "contains" fields.
func (sp *searchPlan) ftsColumns() []string {
	var cols []string
	if sp.fields&admit.SearchName != 0 {
		cols = append(cols, "name")
	}
	if sp.fields&admit.SearchEmail != 0 {
		cols = append(cols, "email")
	}
	if sp.fields&admit.SearchPrice != 0 {
		cols = append(cols, "price")
	}
	return cols
}

// maxShortTerms bounds the trigrams a short query looks up (shortTerms):
// past it, the query reads every ticket. (A two character query has a few
// dozen at most in names and emails; one character, a hundred and more.)
const maxShortTerms = 256

// shortTerms returns the terms of ticket_search (trigrams, case folded)
// that start with q, a query of one or two characters, lowercased, and the
// sum of their numbers of tickets (of every event): every ticket that
// matches has one of them (the two U+0001 ending every text make every
// occurrence of q the start of a trigram, see migration 00004), in the
// field's column. ok is false where q is to be searched by reading
// every ticket: q has a character other than ASCII (the exact predicate,
// LOWER and LIKE, folds ASCII only, the index folds more: the trigrams that
// start with q might not be those of what matches q), or more than
// maxShortTerms terms. withFTS false (no field of the index searched): no
// term to look up, ok.
//
// The lookup reads the range of terms only, but each term's list of
// tickets whole (fts5vocab counts them): over 1,000,000 tickets, 1 ms for a
// last name of 20,000 ("xu"), 7 ms for "ma" (4 terms, 250,000 tickets),
// 120 ms for "e" (100 terms, 5,000,000).
//
// uncounted (two characters): the terms are not read from the index but
// written out, q and each ASCII character but NUL and the capitals (which
// the index folds), a hundred and one, with the index's terms of q whose
// third character is NUL or not ASCII (few, and counted); docs is then -1,
// unknown. A term the index does not have matches nothing, and looking up
// the hundred and one costs well under a millisecond, where reading the
// terms of a common pair and counting their tickets took 7 to 12 ms ("an":
// 228,000 tickets).
func (s *Store) shortTerms(ctx context.Context, q string, withFTS, uncounted bool) (terms []string, docs int64, ok bool, err error) {
	for i := 0; i < len(q); i++ {
		if q[i] >= utf8.RuneSelf {
			return nil, 0, false, nil
		}
	}
	if !withFTS {
		return nil, 0, true, nil
	}
	lo, hi, _ := prefixRange(q) // q is ASCII: hi exists
	query, args := `SELECT term, doc FROM ticket_search_terms WHERE term >= $1 AND term < $2 LIMIT $3`, []any{lo, hi, maxShortTerms + 1}
	if uncounted && len(q) == 2 {
		for c := byte(1); c < utf8.RuneSelf; c++ {
			if c < 'A' || c > 'Z' {
				terms = append(terms, q+string(rune(c)))
			}
		}
		// Two ranges, each one of the table's term constraints: past
		// q+U+007F, the terms' third characters are not ASCII.
		query = `SELECT term, doc FROM ticket_search_terms WHERE term >= $1 AND term < $2
			UNION ALL SELECT term, doc FROM ticket_search_terms WHERE term >= $3 AND term < $4 LIMIT $5`
		args, docs = []any{q, q + "\x01", q + "\u0080", hi, maxShortTerms + 1}, -1
	}
	rows, err := s.reader().query(ctx, query, args...)
	if err != nil {
		return nil, 0, false, s.dbErr(err, "tickets")
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		var n int64
		if err := rows.Scan(&t, &n); err != nil {
			return nil, 0, false, s.dbErr(err, "tickets")
		}
		terms = append(terms, t)
		if docs >= 0 {
			docs += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, 0, false, s.dbErr(err, "tickets")
	}
	if len(terms) > maxShortTerms {
		return nil, 0, false, nil
	}
	return terms, docs, true, nil
}

// ftsQuery returns the FTS5 query of the search's candidates in cols: that
// of ftsMatch, or for a short query (shortTerms) any of its terms; "" when
// there is none (no FTS candidate).
func (sp *searchPlan) ftsQuery(cols []string) string {
	if len(cols) == 0 {
		return ""
	}
	if !sp.short {
		return ftsMatch(sp.q, cols)
	}
	if len(sp.terms) == 0 {
		return ""
	}
	return "{" + strings.Join(cols, " ") + "} : (" + strings.Join(ftsQuoteAll(sp.terms), " OR ") + ")"
}

// ftsQuoteAll quotes each of terms as an FTS5 string: in double quotes,
// those inside doubled.
func ftsQuoteAll(terms []string) []string {
	quoted := make([]string, len(terms))
	for i, t := range terms {
		quoted[i] = `"` + strings.ReplaceAll(t, `"`, `""`) + `"`
	}
	return quoted
}

// ftsMatch returns the FTS5 query that finds the candidates: the key
// trigrams of q (keyGrams), in the chosen columns. (The index stores no
// positions: a match has the trigrams, not necessarily in a row; the exact
// predicate decides.)
func ftsMatch(q string, cols []string) string {
	grams, _ := keyGrams(q, false)
	return "{" + strings.Join(cols, " ") + "} : (" + strings.Join(ftsQuoteAll(grams), " AND ") + ")"
}

// ftsID turns a ticket_search rowid back into the ticket's id.
const ftsID = `CASE WHEN ticket_search.rowid >= 0 THEN ticket_search.rowid & 2147483647 ELSE -ticket_search.rowid END`

// sqliteCandidates returns a query of the ids of the tickets that may
// match (every ticket that matches, and a few that do not). withFTS false
// leaves out the FTS rows of non-negative rowid (searchTop reads those
// itself).
func (sp *searchPlan) sqliteCandidates(b *binder, withFTS bool) string {
	var arms []string
	if match := sp.ftsQuery(sp.ftsColumns()); match != "" {
		m := b.bind(match)
		if withFTS {
			arms = append(arms, `SELECT `+ftsID+` FROM ticket_search WHERE ticket_search MATCH `+m)
		} else {
			arms = append(arms, `SELECT -rowid FROM ticket_search WHERE ticket_search MATCH `+m+` AND rowid < 0`)
		}
	}
	ev := func() string { return b.bind(sp.eventID) }
	lo, hi, hasHi := prefixRange(sp.q)
	rng := func(expr string) string {
		c := expr + " >= " + b.bind(lo)
		if hasHi {
			c += " AND " + expr + " < " + b.bind(hi)
		}
		return c
	}
	if sp.fields&admit.SearchSecretPrefix != 0 {
		arms = append(arms, `SELECT id FROM tickets WHERE event_id = `+ev()+` AND `+rng("lower(secret)"))
	}
	if sp.fields&admit.SearchUUIDPrefix != 0 {
		arms = append(arms, `SELECT id FROM tickets WHERE `+rng("uuid"))
	}
	if sp.fields&admit.SearchOrderCodePrefix != 0 {
		arms = append(arms, `SELECT tc.id FROM orders oc JOIN tickets tc ON tc.order_id = oc.id WHERE oc.event_id = `+ev()+` AND `+rng("lower(oc.code)"))
	}
	if sp.fields&admit.SearchOrderUUIDPrefix != 0 {
		arms = append(arms, `SELECT tu.id FROM orders ou JOIN tickets tu ON tu.order_id = ou.id WHERE `+rng("ou.uuid"))
	}
	if len(sp.products) > 0 {
		arms = append(arms, `SELECT id FROM tickets WHERE event_id = `+ev()+` AND product_id IN (`+sp.productList(b)+`)`)
	}
	if len(arms) == 0 {
		return "SELECT 0 WHERE 0"
	}
	return strings.Join(arms, " UNION ALL ")
}

// Bounds of searchTop: the page it finds (offset + limit), and the
// candidates it takes from the "starts with" and product lookups.
const (
	maxTopPage  = 500
	maxTopExtra = 1000
)

// topExtraAlways makes searchTop read the "starts with" and product
// candidates in order however few they are (the tests of topExtra).
var topExtraAlways atomic.Bool

// topHit is a ticket that matches, with what orders it.
type topHit struct {
	key  string // LOWER(last_name)
	id   int64
	code int64 // the rowid's high bits (see the migration)
}

// searchTop finds the first Offset+Limit tickets, in last-name order, that
// match f (SQLite), without reading every match: the FTS candidates are read
// in rowid order, whose high bits order them by their last name's first
// four characters, a page at a time, each checked against the exact
// predicate and f's other filters; once the page wanted is full and the
// candidates left start with a later code, none of them can enter it. The
// "starts with" and product candidates (a few, unless the query is short)
// are checked all at once. ok is false where this does not apply: another
// order, no page, a count, or too many of those candidates.
func (s *Store) searchTop(ctx context.Context, f admit.TicketFilter, sp *searchPlan) (ids []int64, ok bool, err error) {
	k := f.Offset + f.Limit
	if f.OrderBy != admit.OrderByLastName || f.Limit <= 0 || f.Offset < 0 || k > maxTopPage || f.Count ||
		len(sp.ftsColumns()) == 0 {
		return nil, false, nil
	}
	desc := f.Desc
	x := s.reader()
	// The other filters and the exact predicate, on the ticket t.
	base := f
	base.Query = ""
	const head = 3 // $1 match, $2 rowid bound, $3 page size
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
	const verified = ` FROM tickets t JOIN orders o ON o.id = t.order_id JOIN products p ON p.id = t.product_id`

	better := func(a, c topHit) bool { // a comes before c in the order wanted
		if a.key != c.key {
			return (a.key < c.key) != desc
		}
		return (a.id < c.id) != desc
	}
	var top []topHit         // sorted, at most k
	seen := map[int64]bool{} // a ticket can be a candidate twice (FTS and another lookup)
	add := func(h topHit) {
		if seen[h.id] {
			return
		}
		seen[h.id] = true
		i, _ := slices.BinarySearchFunc(top, h, func(a, c topHit) int {
			if better(a, c) {
				return -1
			}
			return 1
		})
		if i < k {
			top = slices.Insert(top, i, h)
			if len(top) > k {
				top = top[:k]
			}
		}
	}

	// The other candidates, all at once, if they are few.
	eb := &binder{args: slices.Clone(args)}
	extra := sp.sqliteCandidates(eb, false)
	var n int
	if err := x.row(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM (`+extra+`) LIMIT `+strconv.Itoa(maxTopExtra+1)+`)`, eb.args...).Scan(&n); err != nil {
		return nil, false, s.dbErr(err, "tickets")
	}
	match := sp.ftsQuery(sp.ftsColumns())
	switch {
	case n > maxTopExtra || n > 0 && topExtraAlways.Load():
		// Many ("bc": the tickets whose uuid or order's uuid starts with
		// it, 7,800 of 1,000,000): read in the page's order instead.
		if err := s.topExtra(ctx, sp.eventID, extra, eb.args, verified+where, k, desc, add); err != nil {
			return nil, false, err
		}
	case n > 0:
		rows, err := x.query(ctx, `SELECT t.id, LOWER(t.last_name), `+codeOf("t")+verified+where+` AND t.id IN (`+extra+`)`, eb.args...)
		if err := s.readHits(rows, err, add); err != nil {
			return nil, false, err
		}
	}

	// The FTS candidates, in rowid order, a page at a time.
	dir, cmp, bound := "", ">", int64(-1)
	if desc {
		dir, cmp, bound = " DESC", "<", int64(math.MaxInt64)
	}
	q := `SELECT ticket_search.rowid, (SELECT LOWER(t.last_name)` + verified + where + ` AND t.id = ticket_search.rowid & 2147483647)
		FROM ticket_search WHERE ticket_search MATCH $1 AND ticket_search.rowid ` + cmp + ` $2 AND ticket_search.rowid >= 0
		ORDER BY ticket_search.rowid` + dir + ` LIMIT $3`
	args[0] = match
	for page := 64; match != ""; page = min(2*page, 1024) {
		args[1], args[2] = bound, page
		rows, err := x.query(ctx, q, args...)
		if err != nil {
			return nil, false, s.dbErr(err, "tickets")
		}
		read := 0
		for rows.Next() {
			var rowid int64
			var key sql.NullString
			if err := rows.Scan(&rowid, &key); err != nil {
				rows.Close()
				return nil, false, s.dbErr(err, "tickets")
			}
			read++
			bound = rowid
			if key.Valid {
				add(topHit{key: key.String, id: rowid & (1<<31 - 1), code: rowid >> 31})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, false, s.dbErr(err, "tickets")
		}
		if read < page {
			break // no candidate left
		}
		// The candidates left have codes from bound's on (down, if desc):
		// past the last hit's code, none can enter a full page. At its
		// code, none can if the event has no ticket left to read whose
		// last name and id would come before the last hit's.
		if len(top) == k {
			kth := top[k-1]
			c := bound >> 31
			if (!desc && c > kth.code) || (desc && c < kth.code) {
				break
			}
			if c == kth.code {
				none, err := s.noneBefore(ctx, sp.eventID, kth, bound&(1<<31-1), desc)
				if err != nil {
					return nil, false, err
				}
				if none {
					break
				}
			}
		}
	}
	ids = make([]int64, len(top))
	for i, h := range top {
		ids[i] = h.id
	}
	return ids, true, nil
}

// topExtra gives add the first k tickets, in last-name order (desc:
// reversed), of the candidates of the query extra (its arguments args) that
// pass cond (FROM and WHERE on t, o, p): the event's tickets are read in
// that order from the index of migration 00010, each looked up in the set
// of candidates (the index and the candidates' own indexes only, no
// ticket's row), and those found checked against cond, a page at a time.
// Reading every candidate's row to sort them took 20-50 ms for 7,800.
func (s *Store) topExtra(ctx context.Context, eventID int64, extra string, args []any, cond string, k int, desc bool, add func(topHit)) error {
	a := slices.Clone(args)
	a = append(a, eventID, "", int64(0), int64(0))
	ph := func(i int) string { return "$" + strconv.Itoa(len(args)+i) }
	lt, dir := ">", ""
	if desc {
		lt, dir = "<", " DESC"
	}
	query := func(first bool) string {
		bound := ""
		if !first {
			bound = pastLastName("e", lt, ph(2), ph(3))
		}
		return `SELECT w.id, w.k, w.c, EXISTS (SELECT 1` + cond + ` AND t.id = w.id)
			FROM (SELECT e.id, LOWER(e.last_name) AS k, ` + codeOf("e") + ` AS c FROM tickets e` + s.lastIndex() + `
				WHERE e.event_id = ` + ph(1) + ` AND e.id IN (` + extra + `)` + bound + `
				ORDER BY LOWER(e.last_name)` + dir + `, e.id` + dir + ` LIMIT ` + ph(4) + `) w
			ORDER BY w.k` + dir + `, w.id` + dir
	}
	x := s.reader()
	found := 0
	for page, first := k, true; found < k; page, first = min(4*page, maxTopExtra), false {
		a[len(args)+3] = int64(page)
		rows, err := x.query(ctx, query(first), a...)
		if err != nil {
			return s.dbErr(err, "tickets")
		}
		read := 0
		for rows.Next() {
			var h topHit
			var ok bool
			if err := rows.Scan(&h.id, &h.key, &h.code, &ok); err != nil {
				rows.Close()
				return s.dbErr(err, "tickets")
			}
			read++
			a[len(args)+1], a[len(args)+2] = h.key, h.id
			if ok {
				add(h)
				found++
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return s.dbErr(err, "tickets")
		}
		if read < page {
			break // every candidate read
		}
	}
	return nil
}

// noneBefore reports whether the event has no ticket of kth's code with
// an id past readID (before it, if desc) that comes before kth in the order
// (after it, if desc): then no candidate left to read can enter the page.
// It reads the index on (event_id, lower(last_name)) (migration 00010),
// across the code's
// range of last names, or a part of it.
func (s *Store) noneBefore(ctx context.Context, eventID int64, kth topHit, readID int64, desc bool) (bool, error) {
	lo, hi, hasHi := codeRange(kth.code)
	type check struct {
		where string
		args  []any
	}
	var checks []check
	if !desc {
		// A smaller last name of the code, or the same one with an id
		// between the last read and kth's.
		checks = []check{
			{`event_id = $1 AND lower(last_name) >= $2 AND lower(last_name) < $3 AND id > $4`, []any{eventID, lo, kth.key, readID}},
			{`event_id = $1 AND lower(last_name) = $2 AND id > $3 AND id < $4`, []any{eventID, kth.key, readID, kth.id}},
		}
	} else {
		// A greater last name of the code, or the same one with an id
		// between kth's and the last read.
		c := check{`event_id = $1 AND lower(last_name) > $2 AND id < $3`, []any{eventID, kth.key, readID}}
		if hasHi {
			c.where += ` AND lower(last_name) < $4`
			c.args = append(c.args, hi)
		}
		checks = []check{c, {`event_id = $1 AND lower(last_name) = $2 AND id < $3 AND id > $4`, []any{eventID, kth.key, readID, kth.id}}}
	}
	x := s.reader()
	for _, c := range checks {
		var one int
		err := x.row(ctx, `SELECT 1 FROM tickets`+s.lastIndex()+` WHERE `+c.where+` LIMIT 1`, c.args...).Scan(&one)
		if err == nil {
			return false, nil
		}
		if err != sql.ErrNoRows {
			return false, s.dbErr(err, "tickets")
		}
	}
	return true, nil
}

// codeRange returns a range [lo, hi) of the lowercase last names that have
// the code code (see the migration): those that start with its characters,
// or, where one is capped (255), with the ones before it and then one of
// U+00FF or above; a 0 ends the name (or stands for U+0000). hasHi is false
// when the range has no upper bound.
func codeRange(code int64) (lo, hi string, hasHi bool) {
	var p []rune
	for shift := 24; shift >= 0; shift -= 8 {
		switch c := rune(code >> shift & 0xff); c {
		case 0:
			return string(p), string(p) + "\x01", true
		case 0xff:
			lo = string(p) + "\u00ff"
			if len(p) == 0 {
				return lo, "", false
			}
			_, hi, hasHi = prefixRange(string(p))
			return lo, hi, hasHi
		default:
			p = append(p, c)
		}
	}
	lo, hi, hasHi = prefixRange(string(p))
	return lo, hi, hasHi
}

// readHits reads (id, key, code) rows into add.
func (s *Store) readHits(rows *sql.Rows, err error, add func(topHit)) error {
	if err != nil {
		return s.dbErr(err, "tickets")
	}
	defer rows.Close()
	for rows.Next() {
		var h topHit
		if err := rows.Scan(&h.id, &h.key, &h.code); err != nil {
			return s.dbErr(err, "tickets")
		}
		add(h)
	}
	return s.dbErr(rows.Err(), "tickets")
}

// codeOf is the code of ticket x's last name: the high bits of its
// ticket_search rowid, as the migration's triggers compute them.
func codeOf(x string) string {
	var b strings.Builder
	b.WriteString("(")
	for i, shift := range []string{"24", "16", "8", "0"} {
		if i > 0 {
			b.WriteString(" | ")
		}
		b.WriteString("(coalesce(min(unicode(substr(lower(" + x + ".last_name), " + strconv.Itoa(i+1) + ", 1)), 255), 0) << " + shift + ")")
	}
	b.WriteString(")")
	return b.String()
}

// skeyOf is the ticket_search rowid of the ticket x, as the migration's
// triggers compute it.
func skeyOf(x string) string {
	return "(CASE WHEN " + x + ".id < 2147483648 THEN (" + codeOf(x) + " << 31) | " + x + ".id ELSE -" + x + ".id END)"
}

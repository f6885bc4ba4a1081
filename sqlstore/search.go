package sqlstore

import (
	"context"
	"database/sql"
	"io/fs"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/admitdev/admit"
)

// Ticket search: TicketFilter.Query matched against the fields of
// TicketFilter.Fields (see admit.SearchFields). What matches is defined by
// the exact predicate, the same on both engines and the same as before the
// search had indexes:
//
//	LOWER(column) LIKE '%q%' ESCAPE '\'   name, emails, product, price
//	LOWER(column) LIKE 'q%'  ESCAPE '\'   order code, secret, uuids
//
// with q the query lowercased and its LIKE wildcards escaped. The indexes
// only find the candidates faster:
//
//   - SQLite: "contains" fields through the FTS5 trigram index
//     ticket_search (migration 00003), whose candidates are then checked with
//     the exact predicate; "starts with" fields as range scans.
//   - PostgreSQL: pg_trgm GIN indexes on the very expressions compared, so
//     the predicate is its own index condition (the query whole, or an
//     email's part before the "@", then checked whole: see pgContains); "starts with" fields as range
//     scans in byte order; the order and product fields as arrays of the
//     matching orders and products, all OR'ed into one bitmap scan
//     (postgresCond). Every match is read (its heap row rechecked), so a
//     query that matches tens of thousands of tickets takes a hundred
//     milliseconds or more; the page is cut before the joins.
//
// A trigram index cannot look up fewer than three characters as such. On
// SQLite, every text of ticket_search ends with two U+0001 (migration
// 00004), so that every occurrence of one or two characters is the start
// of a trigram of the index: a short query of ASCII characters looks up
// the trigrams that start with it (ticket_search_terms, a range of terms)
// and matches any of them (shortTerms). A short query that includes a
// "contains" field otherwise reads every ticket of the event (as every
// search did before the indexes; about 2 s over 1,000,000 tickets on
// SQLite): on SQLite, one with other characters, with too many such
// trigrams, or whose candidates, all read (a count, another order), are
// half the event's tickets or more; on PostgreSQL, one of one character
// (pg_trgm's LIKE needs a trigram of the query). On PostgreSQL, two
// characters are looked up in GIN indexes of the pairs of consecutive
// characters of each ticket's name, email and price (one text) and of each
// order's email (migration 00014), each field then checked. A query of "starts with" fields only
// is a range scan at any length. A search without an event reads every
// ticket too (no caller makes one: the lookups are per event).
//
// A query with a NUL character or invalid UTF-8 matches nothing: PostgreSQL
// refuses such text (that was a 500), and SQLite's LIKE stopped at the NUL.
//
// On SQLite, a page of results ordered by last name (TiBillet's search) is
// found without reading every match: the FTS rowids are ordered by the
// first characters of the last name (see the migration), so the matches are
// read in that order, a page at a time, until the page is certain
// (searchTop).

// searchMode is how a search finds its tickets.
type searchMode int

const (
	searchScan    searchMode = iota // the exact predicate alone: reads every ticket of the event
	searchIndexed                   // candidates from the indexes, then the exact predicate
	searchIDs                       // the tickets found by searchTop, then the exact predicate
	searchNone                      // nothing matches
)

// searchPlan is a search resolved for ticketWhere.
type searchPlan struct {
	q       string // the query, lowercased
	fields  admit.SearchFields
	eventID int64
	mode    searchMode
	ids     []int64 // searchIDs
	walked  bool    // ids found by searchWalk
	// SQLite, a query shorter than a trigram (short): the index's terms
	// that start with it, whose rows are the candidates (none: no FTS
	// candidate).
	short bool
	terms []string
	docs  int64 // the terms' numbers of tickets, summed
	// The event's products whose name contains q (SearchProduct): looked
	// up first, since a product's tickets are an arm of their own.
	products []int64
	// PostgreSQL, a query of two characters: looked up in the indexes of
	// the pairs of characters (migration 00014).
	pairs bool
	// PostgreSQL: the filter (without the query) whose first page the
	// candidates' lookup itself sorts and cuts, nil when it cannot.
	top *admit.TicketFilter
}

// Minimum length (in characters) of a query a trigram index can look up.
const minTrigramQuery = 3

// containsFields are the fields matched by "contains" (a trigram index).
const containsFields = admit.SearchName | admit.SearchEmail | admit.SearchProduct | admit.SearchPrice

// planSearch resolves f's query; nil when f has none. fast allows the
// SQLite page-at-a-time lookup of searchTop (not for a count).
func (s *Store) planSearch(ctx context.Context, f admit.TicketFilter, fast bool) (*searchPlan, error) {
	if f.Query == "" {
		return nil, nil
	}
	if admit.TooLong(f.Query, admit.MaxSearch) {
		// The doors refuse it first; a database refuses a LIKE pattern
		// far longer than any search (a 500 otherwise).
		return nil, admit.Errorf(admit.EInvalid, "a search text has at most %d characters", admit.MaxSearch)
	}
	fields := f.Fields
	if fields == 0 {
		fields = ^admit.SearchFields(0)
	}
	sp := &searchPlan{q: strings.ToLower(f.Query), fields: fields, eventID: f.EventID}
	if sp.eventID == 0 && f.List != nil {
		sp.eventID = f.List.EventID
	}
	switch {
	case strings.ContainsRune(sp.q, 0) || !utf8.ValidString(sp.q):
		sp.mode = searchNone
	case sp.eventID == 0:
		sp.mode = searchScan
	case fields&containsFields != 0 && utf8.RuneCountInString(sp.q) < minTrigramQuery:
		sp.mode = searchScan
		// One character: the index's terms that start with it are too
		// many to look up at all as a rule (hundreds; reading them alone
		// took 300 ms over 1,000,000 tickets): the walk first.
		oneChar := utf8.RuneCountInString(sp.q) == 1
		lookup := func() error {
			terms, docs, ok, err := s.shortTerms(ctx, sp.q, len(sp.ftsColumns()) > 0)
			if ok {
				sp.mode, sp.short, sp.terms, sp.docs = searchIndexed, true, terms, docs
			}
			return err
		}
		walkFirst := oneChar && fast && walkable(f, sp)
		walkFound := false // the walk gave up, some matches found
		if s.sqlite && !walkFirst {
			if err := lookup(); err != nil {
				return nil, err
			}
		}
		// A short query the index finds few candidates of takes them (SQLite);
		// one with many, or none the index can look up, finds its page by
		// walking the tickets in order (searchWalk), a page of them found
		// among the first few hundred as a rule.
		if fast && walkable(f, sp) && (sp.mode == searchScan || sp.docs > shortScanFloor) {
			ids, ok, err := s.searchWalk(ctx, f, sp)
			if err != nil {
				return nil, err
			}
			if ok {
				sp.mode, sp.ids, sp.walked = searchIDs, ids, true
				return sp, nil
			}
			walkFound = len(ids) > 0
		}
		if s.sqlite && walkFirst { // a rare character: its few terms, perhaps
			if err := lookup(); err != nil {
				return nil, err
			}
		}
		// PostgreSQL, two characters: the pairs' indexes, unless the walk
		// found matches early in the order, but too few for its budget:
		// then reading the tickets in the page's order (the plan of the
		// plain query) stops sooner than reading every match of the
		// pair's ("xu": 30,000, about a second).
		if !s.sqlite && sp.mode == searchScan && !walkFound && utf8.RuneCountInString(sp.q) == 2 && !strings.Contains(sp.q, "\n") {
			sp.mode, sp.pairs = searchIndexed, true
		}
	default:
		sp.mode = searchIndexed
	}
	if sp.mode == searchIndexed && fields&admit.SearchProduct != 0 {
		ids, err := scanIDs(s.reader().query(ctx, `SELECT id FROM products WHERE event_id = $1 AND LOWER(name) LIKE $2 ESCAPE '\'`,
			sp.eventID, "%"+likeEscape(sp.q)+"%"))
		if err != nil {
			return nil, s.dbErr(err, "products")
		}
		sp.products = ids
	}
	if fast && sp.mode == searchIndexed && !s.sqlite && f.Limit > 0 && f.Offset >= 0 && f.Offset+f.Limit <= maxTopPage &&
		!f.Count && !f.Admissible && !f.PaidOnly {
		switch f.OrderBy {
		case admit.OrderByID, admit.OrderByLastName, admit.OrderByFirstName, admit.OrderByUUID:
			base := f
			base.Query = ""
			sp.top = &base
		}
	}
	if fast && sp.mode == searchIndexed && s.sqlite {
		ids, ok, err := s.searchTop(ctx, f, sp)
		if err != nil {
			return nil, err
		}
		if ok {
			sp.mode, sp.ids = searchIDs, ids
		}
	}
	if sp.mode == searchIndexed && sp.short && sp.docs > shortScanFloor {
		// Every candidate read (not a page at a time): the event's tickets
		// are read faster where the candidates are half as many or more.
		var n int64
		if err := s.reader().row(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM tickets WHERE event_id = $1 LIMIT $2)`,
			sp.eventID, 2*sp.docs).Scan(&n); err != nil {
			return nil, s.dbErr(err, "tickets")
		}
		if n < 2*sp.docs {
			sp.mode = searchScan
		}
	}
	return sp, nil
}

// shortScanFloor is the number of candidates of a short query (summed over
// its terms) up to which they are read without comparing with the event's
// tickets.
const shortScanFloor = 10000

// where returns the plan's condition on t (tickets), o (orders) and p
// (products), its arguments appended to args.
func (sp *searchPlan) where(s *Store, args []any) (string, []any) {
	if sp.mode == searchNone {
		return "1 = 0", args
	}
	b := &binder{args: args}
	switch sp.mode {
	case searchIDs:
		// Padded to a power of two with 0 (no ticket has id 0): few
		// distinct query texts for the statement cache.
		n := 8
		for n < len(sp.ids) {
			n *= 2
		}
		ph := make([]string, n)
		for i := range ph {
			var id int64
			if i < len(sp.ids) {
				id = sp.ids[i]
			}
			ph[i] = b.bind(id)
		}
		return "t.id IN (" + strings.Join(ph, ", ") + ") AND " + sp.exact(b), b.args
	case searchIndexed:
		if s.sqlite {
			c := "t.id IN (" + sp.sqliteCandidates(b, true) + ") AND "
			return c + sp.exact(b), b.args
		}
		return sp.postgresCond(s, b), b.args
	}
	return sp.exact(b), b.args
}

// binder numbers placeholders after the arguments already given; a value
// bound twice is one placeholder.
type binder struct {
	args []any
	seen map[any]string
}

func (b *binder) bind(v any) string {
	if ph, ok := b.seen[v]; ok {
		return ph
	}
	b.args = append(b.args, v)
	ph := "$" + strconv.Itoa(len(b.args))
	if b.seen == nil {
		b.seen = map[any]string{}
	}
	if _, ok := v.(int64); !ok { // ids of searchIDs are bound each
		b.seen[v] = ph
	}
	return ph
}

// exact is the search's exact predicate.
func (sp *searchPlan) exact(b *binder) string {
	contains := func() string { return b.bind("%" + likeEscape(sp.q) + "%") }
	prefix := func() string { return b.bind(likeEscape(sp.q) + "%") }
	var or []string
	like := func(col, pat string) { or = append(or, "LOWER("+col+") LIKE "+pat+` ESCAPE '\'`) }
	if sp.fields&admit.SearchName != 0 {
		// First name, last name or full name contains q: the full name
		// contains whatever either part contains, one LIKE for the three.
		like("t.first_name || ' ' || t.last_name", contains())
	}
	if sp.fields&admit.SearchEmail != 0 {
		like("t.email", contains())
		like("o.email", contains())
	}
	if sp.fields&admit.SearchOrderCodePrefix != 0 {
		like("o.code", prefix())
	}
	if sp.fields&admit.SearchSecretPrefix != 0 {
		like("t.secret", prefix())
	}
	if sp.fields&admit.SearchUUIDPrefix != 0 {
		like("t.uuid", prefix())
	}
	if sp.fields&admit.SearchOrderUUIDPrefix != 0 {
		like("o.uuid", prefix())
	}
	if sp.fields&admit.SearchProduct != 0 {
		like("p.name", contains())
	}
	if sp.fields&admit.SearchPrice != 0 {
		like("t.price", contains())
	}
	if len(or) == 0 {
		return "1 = 0"
	}
	return "(" + strings.Join(or, " OR ") + ")"
}

// prefixRange returns the byte-order range [lo, hi) of the strings that
// start with q; hasHi is false when there is no upper bound (q is all
// U+10FFFF).
func prefixRange(q string) (lo, hi string, hasHi bool) {
	r := []rune(q)
	for len(r) > 0 {
		last := r[len(r)-1]
		if last < utf8.MaxRune {
			last++
			if last == 0xD800 { // surrogates are not encodable
				last = 0xE000
			}
			r[len(r)-1] = last
			return q, string(r), true
		}
		r = r[:len(r)-1]
	}
	return q, "", false
}

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

// keyGrams returns the trigrams of q that the trigram indexes look up. Any
// of them finds every ticket that contains q (and some more, which the
// exact predicate drops), and rare ones find them fastest: a search costs
// about what its trigrams' lists of tickets cost to read. So:
//
//   - of an email, the part before the last "@" (if three characters or
//     more): the domain is every ticket's ("@example.org" made an email
//     search over 1,000,000 tickets take 7 ms on SQLite and 43 ms on
//     PostgreSQL, against 1 and 2 ms without it);
//   - if three trigrams or more have a digit, those only: digits are rare
//     in names and emails, and a uuid's prefix is found by them at once
//     (with fewer, "martin.12" would read every "n.1" and ".12");
//   - at most 12, spread over the query.
//
// alnum keeps the trigrams of letters and digits only (PostgreSQL's
// pg_trgm splits words at anything else). all reports whether grams are
// every trigram of q.
func keyGrams(q string, alnum bool) (grams []string, all bool) {
	part := q
	if i := strings.LastIndex(q, "@"); i >= 0 && utf8.RuneCountInString(q[:i]) >= minTrigramQuery {
		part = q[:i]
	}
	r := []rune(part)
	seen := map[string]bool{}
	var withDigit []string
	for i := 0; i+minTrigramQuery <= len(r); i++ {
		g := string(r[i : i+minTrigramQuery])
		if seen[g] {
			continue
		}
		seen[g] = true
		keep, digit := true, false
		for _, c := range r[i : i+minTrigramQuery] {
			digit = digit || c >= '0' && c <= '9'
			keep = keep && (!alnum || unicode.IsLetter(c) || unicode.IsDigit(c))
		}
		if !keep {
			continue
		}
		grams = append(grams, g)
		if digit {
			withDigit = append(withDigit, g)
		}
	}
	all = part == q && len(grams) == len(seen)
	if len(withDigit) >= 3 && len(withDigit) < len(grams) {
		grams, all = withDigit, false
	}
	if n := len(grams); n > 12 {
		spread := make([]string, 12)
		for i := range spread {
			spread[i] = grams[i*(n-1)/11]
		}
		grams, all = spread, false
	}
	return grams, all
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
func (s *Store) shortTerms(ctx context.Context, q string, withFTS bool) (terms []string, docs int64, ok bool, err error) {
	for i := 0; i < len(q); i++ {
		if q[i] >= utf8.RuneSelf {
			return nil, 0, false, nil
		}
	}
	if !withFTS {
		return nil, 0, true, nil
	}
	lo, hi, _ := prefixRange(q) // q is ASCII: hi exists
	rows, err := s.reader().query(ctx, `SELECT term, doc FROM ticket_search_terms WHERE term >= $1 AND term < $2 LIMIT $3`,
		lo, hi, maxShortTerms+1)
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
		docs += n
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

// productList binds the ids of the products found.
func (sp *searchPlan) productList(b *binder) string {
	ph := make([]string, len(sp.products))
	for i, id := range sp.products {
		ph[i] = b.bind(id)
	}
	return strings.Join(ph, ", ")
}

// postgresCond returns the search's condition on PostgreSQL: the ids of
// the tickets that match, as an array made once (an InitPlan) by a query of
// tickets alone whose condition is an OR of index conditions (one bitmap
// scan of each index, OR'ed): the exact predicate of each field, on the
// trigram indexes for "contains", as byte-order ranges for "starts with",
// and the orders' and products' ids for theirs. Where the page allows
// (sp.top), that query also applies the other filters and returns the
// page's tickets only. (As one OR over the joined tables, the planner reads
// every ticket.)
func (sp *searchPlan) postgresCond(s *Store, b *binder) string {
	match := sp.postgresMatch(b)
	if match == "" {
		return "1 = 0"
	}
	ev := func() string { return b.bind(sp.eventID) }
	var inner string
	if f := sp.top; f == nil {
		inner = `SELECT t.id FROM tickets t WHERE t.event_id = ` + ev() + ` AND ` + match
	} else {
		where, args := s.ticketWhere(*f, nil, b.args)
		b.args = args
		if where == "" {
			where = " WHERE true"
		}
		order, _ := ticketOrder(*f)
		// Sorted by expressions no index has: the page is cut from the
		// matches the trigram bitmaps give, never by walking the last-name
		// index of migration 00010 and filtering (every ticket read for a
		// query that matches few, or late in the order).
		order = strings.Replace(order, "LOWER(t.last_name)", "(LOWER(t.last_name) || '')", 1)
		order = strings.ReplaceAll(order, "t.id", "(t.id + 0)")
		inner = `SELECT t.id FROM tickets t` + where + ` AND t.event_id = ` + ev() + ` AND ` + match + order +
			` LIMIT ` + strconv.Itoa(f.Offset+f.Limit)
	}
	return "t.id = ANY (ARRAY(" + inner + "))"
}

// pairsText is the text of a ticket t whose pairs of characters migration
// 00014 indexes (PostgreSQL): the expression of its index.
const pairsText = `lower(t.first_name || ' ' || t.last_name || ' ' || t.email || ' ' || t.price)`

// postgresMatch returns the condition on t (tickets alone) that holds for
// exactly the tickets of the event that match (but for the event itself):
// an OR of index conditions (see postgresCond); "" when no field is
// searched.
func (sp *searchPlan) postgresMatch(b *binder) string {
	contains := func(expr string) string { return pgContains(b, expr, sp.q) }
	ev := func() string { return b.bind(sp.eventID) }
	lo, hi, hasHi := prefixRange(sp.q)
	rng := func(expr string) string {
		c := expr + ` COLLATE "C" >= ` + b.bind(lo)
		if hasHi {
			c += " AND " + expr + ` COLLATE "C" < ` + b.bind(hi)
		}
		return c
	}
	byOrders := func(where string) string {
		return `t.order_id = ANY (ARRAY(SELECT id FROM orders WHERE ` + where + `))`
	}
	var or []string
	if sp.pairs {
		// Two characters: the tickets and orders that have the pair
		// (migration 00014), each field then checked.
		like := func(expr string) string {
			return expr + ` LIKE ` + b.bind("%"+likeEscape(sp.q)+"%") + ` ESCAPE '\'`
		}
		has := func(expr string) string {
			return `admit_search_pairs(` + expr + `) @> ARRAY[` + b.bind(sp.q) + `]::text[]`
		}
		var fields []string
		if sp.fields&admit.SearchName != 0 {
			fields = append(fields, like(`lower(t.first_name || ' ' || t.last_name)`))
		}
		if sp.fields&admit.SearchEmail != 0 {
			fields = append(fields, like(`lower(t.email)`))
		}
		if sp.fields&admit.SearchPrice != 0 {
			fields = append(fields, like(`lower(t.price)`))
		}
		if len(fields) > 0 {
			or = append(or, "("+has(pairsText)+" AND ("+strings.Join(fields, " OR ")+"))")
		}
		if sp.fields&admit.SearchEmail != 0 {
			or = append(or, byOrders(`event_id = `+ev()+` AND `+has(`lower(email)`)+` AND `+like(`lower(email)`)))
		}
	}
	if sp.fields&admit.SearchName != 0 && !sp.pairs {
		or = append(or, contains(`lower(t.first_name || ' ' || t.last_name)`))
	}
	if sp.fields&admit.SearchEmail != 0 && !sp.pairs {
		or = append(or, contains(`lower(t.email)`), byOrders(`event_id = `+ev()+` AND `+contains(`lower(email)`)))
	}
	if sp.fields&admit.SearchOrderCodePrefix != 0 {
		or = append(or, byOrders(`event_id = `+ev()+` AND `+rng("lower(code)")))
	}
	if sp.fields&admit.SearchSecretPrefix != 0 {
		or = append(or, `(t.event_id = `+ev()+` AND `+rng("lower(t.secret)")+`)`)
	}
	if sp.fields&admit.SearchUUIDPrefix != 0 {
		or = append(or, "("+rng("t.uuid")+")")
	}
	if sp.fields&admit.SearchOrderUUIDPrefix != 0 {
		or = append(or, byOrders(rng("uuid")))
	}
	if len(sp.products) > 0 {
		or = append(or, `t.product_id IN (`+sp.productList(b)+`)`)
	}
	if sp.fields&admit.SearchPrice != 0 && !sp.pairs {
		or = append(or, contains(`lower(t.price)`))
	}
	if len(or) == 0 {
		return ""
	}
	return "(" + strings.Join(or, " OR ") + ")"
}

// Bounds of searchTop: the page it finds (offset + limit), and the
// candidates it takes from the "starts with" and product lookups.
const (
	maxTopPage  = 500
	maxTopExtra = 1000
)

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
	if n > maxTopExtra {
		return nil, false, nil
	}
	match := sp.ftsQuery(sp.ftsColumns())
	if n > 0 {
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

// The ticket_search columns of ticket t with its order o (LEFT JOIN), each
// ending with two U+0001 (migration 00004).
const searchColumns = `t.first_name || ' ' || t.last_name || char(1, 1),
	CASE WHEN o.email IS NULL OR o.email = t.email THEN t.email ELSE t.email || ' ' || o.email END || char(1, 1),
	t.price || char(1, 1)`

// An import (SQLite) writes the ticket_search rows of its tickets itself,
// in rowid order (see migrations 00003 and 00004): syncBegin defers the
// triggers for its transaction and notes the highest ticket id; syncOrder and
// syncTicket note the rows to rewrite, before their order's email or the
// ticket's searched fields change; syncEnd rewrites them and writes the new
// tickets' rows.
func (im *importer) syncBegin(ctx context.Context) error {
	x := im.x
	if err := x.row(ctx, `SELECT COALESCE(MAX(id), 0) FROM tickets`).Scan(&im.syncMaxID); err != nil {
		return err
	}
	if !im.s.sqlite {
		return nil
	}
	for _, q := range []string{
		`UPDATE search_sync SET deferred = 1`,
		`CREATE TEMP TABLE IF NOT EXISTS search_dirty (id INTEGER PRIMARY KEY, skey INTEGER NOT NULL)`,
		`DELETE FROM temp.search_dirty`,
	} {
		if _, err := x.exec(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// syncOrder notes the tickets of an order whose email is about to change.
func (im *importer) syncOrder(ctx context.Context, orderID int64) error {
	return im.syncDirty(ctx, "t.order_id", orderID)
}

// syncTicket notes a ticket whose searched fields are about to change.
func (im *importer) syncTicket(ctx context.Context, id int64) error {
	return im.syncDirty(ctx, "t.id", id)
}

// syncDirty notes the tickets whose column col is v (SQLite: their rows of
// the search index are written again at the end of the import).
func (im *importer) syncDirty(ctx context.Context, col string, v int64) error {
	if !im.s.sqlite {
		return nil
	}
	_, err := im.x.exec(ctx, `INSERT OR IGNORE INTO temp.search_dirty (id, skey) SELECT t.id, `+skeyOf("t")+`
		FROM tickets t WHERE `+col+` = $1`, v)
	return err
}

// searchRun is how many search rows an import writes at a time.
const searchRun = 20000

func (im *importer) syncEnd(ctx context.Context) error {
	if !im.s.sqlite {
		return im.cleanPendingTrigrams(ctx)
	}
	x := im.x
	if _, err := x.exec(ctx, `DELETE FROM ticket_search WHERE rowid IN (SELECT skey FROM temp.search_dirty)`); err != nil {
		return err
	}
	// The rows go into the index in rowid order, a run at a time: first
	// into a temporary table keyed by rowid (a file, as the import's
	// temporary data: see withImportCache), then from there in runs of
	// searchRun rows. One INSERT ... SELECT ... ORDER BY of them all held
	// memory in proportion to the import (a tenth of a kilobyte a ticket).
	for _, q := range []string{
		`CREATE TEMP TABLE IF NOT EXISTS search_new (skey INTEGER PRIMARY KEY, name TEXT, email TEXT, price TEXT)`,
		`DELETE FROM temp.search_new`,
	} {
		if _, err := x.exec(ctx, q); err != nil {
			return err
		}
	}
	if _, err := x.exec(ctx, `INSERT INTO temp.search_new (skey, name, email, price)
		SELECT `+skeyOf("t")+`, `+searchColumns+` FROM tickets t LEFT JOIN orders o ON o.id = t.order_id
		WHERE t.id > $1 OR t.id IN (SELECT id FROM temp.search_dirty)`, im.syncMaxID); err != nil {
		return err
	}
	lo := int64(math.MinInt64)
	for {
		var hi int64
		err := x.row(ctx, `SELECT skey FROM temp.search_new WHERE skey > $1 ORDER BY skey LIMIT 1 OFFSET `+strconv.Itoa(searchRun-1), lo).Scan(&hi)
		last := err == sql.ErrNoRows
		if err != nil && !last {
			return err
		}
		if last {
			hi = math.MaxInt64
		}
		if _, err := x.exec(ctx, `INSERT INTO ticket_search (rowid, name, email, price)
			SELECT skey, name, email, price FROM temp.search_new WHERE skey > $1 AND skey <= $2 ORDER BY skey`, lo, hi); err != nil {
			return err
		}
		if last {
			break
		}
		lo = hi
	}
	if _, err := x.exec(ctx, `DELETE FROM temp.search_new`); err != nil {
		return err
	}
	for _, q := range []string{`DELETE FROM temp.search_dirty`, `UPDATE search_sync SET deferred = 0`} {
		if _, err := x.exec(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// cleanPendingTrigrams moves the entries an import of many tickets left in
// the trigram indexes' (and pair indexes', migration 00014) pending lists (PostgreSQL's GIN "fastupdate": up to
// 4 MB each, until the next vacuum) into the indexes themselves: every
// search reads the whole of those lists (a 1,000,000-ticket import left
// 10 ms on every search).
func (im *importer) cleanPendingTrigrams(ctx context.Context) error {
	if im.created < 1000 {
		return nil
	}
	_, err := im.x.exec(ctx, `SELECT gin_clean_pending_list(c.oid) FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind = 'i' AND pg_has_role(c.relowner, 'MEMBER')
			AND c.relname IN ('tickets_search_name', 'tickets_search_email', 'tickets_search_price', 'orders_search_email',
				'tickets_text_pairs', 'orders_email_pairs')`)
	return err
}

// ensureSearchIndexes creates the trigram indexes of migration 00003 where
// that migration could not (PostgreSQL without pg_trgm then), once the
// extension can be created; otherwise it logs that search reads every
// ticket.
func (s *Store) ensureSearchIndexes(ctx context.Context) error {
	if s.sqlite {
		return nil
	}
	var n int
	if err := s.wdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema()
		AND indexname IN ('tickets_search_name', 'tickets_search_email', 'tickets_search_price', 'orders_search_email')`).Scan(&n); err != nil {
		return admit.WrapInternal(err, "search indexes")
	}
	if n == 4 {
		return nil
	}
	block, err := searchIndexBlock()
	if err != nil {
		return err
	}
	err = s.inTx(ctx, "search indexes", func(x dbx) error {
		// One node at a time.
		if _, err := x.tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7150452301)`); err != nil {
			return err
		}
		_, err := x.tx.ExecContext(ctx, block)
		return err
	})
	if err != nil {
		return err
	}
	if err := s.wdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema()
		AND indexname IN ('tickets_search_name', 'tickets_search_email', 'tickets_search_price', 'orders_search_email')`).Scan(&n); err != nil {
		return admit.WrapInternal(err, "search indexes")
	}
	if n == 4 {
		s.log.Info("sqlstore: ticket search indexes created (pg_trgm)")
		return nil
	}
	s.log.Warn("sqlstore: the pg_trgm extension cannot be created in this database: ticket search reads every ticket of the event; " +
		"have it created (CREATE EXTENSION pg_trgm, by a user allowed to) and restart to index it")
	return nil
}

// searchIndexBlock returns the DO block of migration 00003 that creates
// pg_trgm and the trigram indexes.
func searchIndexBlock() (string, error) {
	b, err := fs.ReadFile(migrations, "migrations/postgres/00003_search.sql")
	if err != nil {
		return "", admit.WrapInternal(err, "search indexes")
	}
	text := string(b)
	const begin, end = "-- +goose StatementBegin\n", "-- +goose StatementEnd"
	i, j := strings.Index(text, begin), strings.Index(text, end)
	if i < 0 || j < i {
		return "", admit.Errorf(admit.EInternal, "sqlstore: migration 00003 has no statement block")
	}
	return text[i+len(begin) : j], nil
}

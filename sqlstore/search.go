package sqlstore

import (
	"context"
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
//     milliseconds or more; the page is cut before the joins. A page in
//     last-name order of a one-word query finds its "contains" matches in
//     the trigrams bucketed by last name instead (migration 00018,
//     searchgrams.go), reading the first buckets' matches only.
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
// characters of each ticket's searched text (migration 00019: name, email,
// price, the order's email; each pair behind the bucket of the ticket's
// last name, so that a page in last-name order reads the first buckets'
// matches only) and of each order's email (migration 00014), each field
// then checked. A query of "starts with" fields only is a range scan at
// any length. A search without an event reads every
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
	sqlite  bool
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
	// the pairs of characters (migrations 00019 and 00014).
	pairs bool
	// PostgreSQL: the filter (without the query) whose first page the
	// candidates' lookup itself sorts and cuts, nil when it cannot.
	top *admit.TicketFilter
	// PostgreSQL, a page in last-name order: the trigrams its "contains"
	// fields are looked up by in the bucketed index (searchgrams.go).
	grams []string
	// gramSkip, if not 0, is a bucket the lookup of grams skips: the
	// first matches of its tickets are gramWalked (walkWordBucket).
	gramSkip   int
	gramWalked []int64
	// pairGrams: a pair of characters, looked up in the bucketed pairs
	// (migration 00019) should the walk not find its page; grams then
	// the pair.
	pairGrams bool
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
	sp := &searchPlan{q: strings.ToLower(f.Query), fields: fields, eventID: f.EventID, sqlite: s.sqlite}
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
		// The walk first: the index's terms that start with one
		// character are too many to look up at all as a rule (hundreds;
		// reading them alone took 300 ms over 1,000,000 tickets), and
		// those of a common pair of characters cost more to look up
		// (fts5vocab reads each term's list whole: 7 to 15 ms for "ar",
		// "ma") than walking to their page (1 to 3 ms).
		walkFirst := fast && walkable(f, sp)
		walkFound := false // the walk gave up, some matches found
		sp.pairGrams = fast && s.usePairGrams(f, sp)
		if s.sqlite && !walkFirst {
			if err := s.lookupShort(ctx, sp, false); err != nil {
				return nil, err
			}
		}
		// A short query the index finds few candidates of takes them (SQLite);
		// one with many, or none the index can look up, finds its page by
		// walking the tickets in order (searchWalk), a page of them found
		// among the first few hundred as a rule.
		if fast && walkable(f, sp) && (sp.mode == searchScan || sp.docs > shortScanFloor) {
			budget := walkBudget
			if pairTerms(f, sp) {
				// Its terms written out (shortTerms) find the page
				// sooner than a walk past its first chunk: a pair whose
				// page lies 1,000 to 4,000 tickets in took 8 to 11 ms
				// walked ("ev", "tj", "qu", "at"), 3 to 5 ms looked up.
				budget = walkChunk
			}
			ids, ok, err := s.searchWalk(ctx, f, sp, nameRange{}, walkChunk, budget)
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
			// A page in last-name order (searchTop) reads the candidates a
			// page at a time: their number does not matter.
			if err := s.lookupShort(ctx, sp, pairTerms(f, sp)); err != nil {
				return nil, err
			}
		}
		// PostgreSQL, two characters: the pairs' indexes, unless the walk
		// found matches early in the order, but too few for its budget:
		// then reading the tickets in the page's order (the plan of the
		// plain query) stops sooner than reading every match of the
		// pair's ("xu": 30,000, about a second).
		switch {
		case sp.pairGrams:
			// PostgreSQL, a page in last-name order: the pair in the
			// first buckets of last names, then the next ones.
			sp.mode, sp.grams = searchIndexed, []string{sp.q}
		case !s.sqlite && isPair(sp.q) && sp.mode == searchScan && !walkFound:
			sp.mode, sp.pairs = searchIndexed, true
		}
	default:
		sp.mode = searchIndexed
		if fast {
			var err error
			if sp.grams, err = s.useGrams(ctx, f, sp); err != nil {
				return nil, err
			}
		}
		if sp.grams != nil && walkable(f, sp) {
			if err := s.walkWordBucket(ctx, f, sp); err != nil {
				return nil, err
			}
		}
		if sp.grams == nil && !s.sqlite && fast && walkable(f, sp) && mayMatchMany(sp.q) { // see walkProbe
			ids, ok, err := s.searchWalk(ctx, f, sp, nameRange{}, walkProbe, walkBudget)
			if err != nil {
				return nil, err
			}
			if ok {
				sp.mode, sp.ids, sp.walked = searchIDs, ids, true
				return sp, nil
			}
		}
	}
	if sp.mode == searchIndexed && fields&admit.SearchProduct != 0 {
		ids, err := s.matchingProducts(ctx, sp)
		if err != nil {
			return nil, err
		}
		sp.products = ids
	}
	if fast && sp.mode == searchIndexed && !s.sqlite && pgTopPage(f) {
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

// lookupShort gives sp, a query shorter than a trigram (SQLite), the
// index's terms that start with it (shortTerms), or the mode of a search
// that reads every ticket where they cannot be looked up.
func (s *Store) lookupShort(ctx context.Context, sp *searchPlan, uncounted bool) error {
	terms, docs, ok, err := s.shortTerms(ctx, sp.q, len(sp.ftsColumns()) > 0, uncounted)
	if ok {
		sp.mode, sp.short, sp.terms, sp.docs = searchIndexed, true, terms, docs
	}
	return err
}

// pairTerms reports whether sp's query is looked up by its terms written
// out, uncounted (shortTerms), should the walk not find its page: a pair of
// ASCII characters (SQLite), for a page in last-name order. Such a page,
// walkable, is always found by searchTop, a page of candidates at a time,
// so that their number (docs, unknown then) is never asked.
func pairTerms(f admit.TicketFilter, sp *searchPlan) bool {
	return sp.sqlite && f.OrderBy == admit.OrderByLastName && len(sp.q) == 2 &&
		sp.q[0] < utf8.RuneSelf && sp.q[1] < utf8.RuneSelf
}

// pairCommon is the number of tickets and orders that have a pair of
// characters (or start with it, by uuid) from which a walk that found none
// of them among the first tickets goes on (searchWalk): the pairs' indexes
// would read every match (2 s for "yi", 30,000 matches, its page 140,000
// tickets into the last-name order). Below it, the pair is looked up in
// them, where the walk would read far for a page that is not there.
const pairCommon = 1000

// commonPair (PostgreSQL) reports whether pairCommon tickets and orders or
// more have sp's two characters in their searched text or start with
// them, counted in the pairs' indexes (migrations 00019 and 00014) and the
// uuids'.
func (s *Store) commonPair(ctx context.Context, sp *searchPlan) (bool, error) {
	count := func(from string) string {
		return `(SELECT COUNT(*) FROM (SELECT 1 FROM ` + from + ` LIMIT $3) c)`
	}
	arms := []string{
		count(`tickets t WHERE t.event_id = $1 AND ` + pairGrams + ` @@ $4::tsquery`),
		count(`orders WHERE event_id = $1 AND admit_search_pairs(lower(email)) @> ARRAY[$2]::text[]`),
	}
	args := []any{sp.eventID, sp.q, pairCommon, lexemePrefix(sp.q, "")}
	if sp.fields&(admit.SearchUUIDPrefix|admit.SearchOrderUUIDPrefix) != 0 {
		lo, hi, _ := prefixRange(sp.q) // two characters: hi exists
		args = append(args, lo, hi)
		arms = append(arms, count(`tickets t WHERE t.uuid COLLATE "C" >= $5 AND t.uuid COLLATE "C" < $6`))
	}
	var n int
	err := s.reader().row(ctx, `SELECT `+strings.Join(arms, " + "), args...).Scan(&n)
	return n >= pairCommon, s.dbErr(err, "tickets")
}

// isPair reports whether q is a query of two characters that the pairs'
// indexes (PostgreSQL, migrations 00014 and 00019) can look up: no
// newline, which cuts their pairs.
func isPair(q string) bool {
	return utf8.RuneCountInString(q) == 2 && !strings.Contains(q, "\n")
}

// matchingProducts returns the ids of the event's products whose name
// contains the query.
func (s *Store) matchingProducts(ctx context.Context, sp *searchPlan) ([]int64, error) {
	ids, err := scanIDs(s.reader().query(ctx, `SELECT id FROM products WHERE event_id = $1 AND LOWER(name) LIKE $2 ESCAPE '\'`,
		sp.eventID, "%"+likeEscape(sp.q)+"%"))
	return ids, s.dbErr(err, "products")
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
		return "t.id IN (" + bindIDs(b, sp.ids) + ") AND " + sp.exact(b), b.args
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

// bindIDs binds ids each and returns their placeholders, separated by
// commas, padded to a power of two with 0 (no ticket has id 0): few
// distinct query texts for the statement cache.
func bindIDs(b *binder, ids []int64) string {
	n := 8
	for n < len(ids) {
		n *= 2
	}
	ph := make([]string, n)
	for i := range ph {
		var id int64
		if i < len(ids) {
			id = ids[i]
		}
		ph[i] = b.bind(id)
	}
	return strings.Join(ph, ", ")
}

// exact is the search's exact predicate.
func (sp *searchPlan) exact(b *binder) string {
	contains := func() string { return b.bind("%" + likeEscape(sp.q) + "%") }
	prefix := func() string { return b.bind(likeEscape(sp.q) + "%") }
	var or []string
	like := func(col, pat string) { or = append(or, "LOWER("+col+") LIKE "+pat+` ESCAPE '\'`) }
	if sp.sqlite {
		// SQLite's LIKE folds the case of ASCII letters itself, and LOWER
		// folds those only: the same answers, without a lowered copy of
		// each field of each ticket checked (the walk to the page of
		// "he", 1,200 tickets, took a fifth less time).
		like = func(col, pat string) { or = append(or, col+" LIKE "+pat+` ESCAPE '\'`) }
	}
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

// productList binds the ids of the products found.
func (sp *searchPlan) productList(b *binder) string {
	ph := make([]string, len(sp.products))
	for i, id := range sp.products {
		ph[i] = b.bind(id)
	}
	return strings.Join(ph, ", ")
}

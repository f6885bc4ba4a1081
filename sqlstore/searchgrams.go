package sqlstore

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/admitdev/admit"
)

// A page of a search in last-name order on PostgreSQL, found without reading
// every match: migration 00018 indexes each ticket's trigrams behind the
// bucket of its last name (where it lies among "aa" to "zz" in the
// database's collation, 677 buckets). Every ticket of a lower bucket comes
// before every ticket of a higher one in the page's order, so the query's
// trigrams are looked up in the first buckets, then in the next ones (a
// nested loop over gramGroups, each group's matches sorted), and the lookup
// stops once it has the page: the tickets read are the matches of the
// buckets up to the page's last, not all of them ("bauer": 30,000 matches
// over 1,000,000 tickets, 300 to 500 ms read whole).
//
// It takes the "contains" fields (name, email, the order's email, price),
// whose text each ticket holds (migration 00017); the "starts with" fields
// and the products are looked up as before, every match of theirs, and the
// page is cut from both (postgresCond). A query with a character that is
// not ASCII, or no trigram, is looked up as before (gramKeys).

// gramsOff turns the lookup off (the tests compare it with the plain one).
var gramsOff atomic.Bool

// gramGroups are the groups of buckets looked up one after the other, each
// as the prefixes of its keys (two digits: 8 buckets; three: one; see the
// migration): 1, 1, 2, 4, 8 and 16 buckets, then 32 at a time. Small first,
// so that a page found in the first buckets (the common case of a query
// many tickets match) reads little; 27 groups in all, so that a query that
// matches few tickets, late in the order or not at all, takes 27 lookups,
// each of a few ranges of keys per trigram (1 to 2 ms in all over 1,000,000
// tickets). (With 8, 8, 16 and then 32, 24 groups, "gauthier" took 21.6
// ms against 17.7 and "weber" 13.3 against 10.9; 44 other words of the
// bench within half a millisecond either way.)
var gramGroups = gramGroupsKeeping(func(int) bool { return true })

// gramBuckets are the buckets of last names (see the migration), written
// in blocks of gramBlock whose keys share a prefix of two digits.
const gramBuckets, gramBlock = 677, 8

// gramGroupsKeeping returns the groups of buckets of gramGroups, of the
// buckets keep keeps: a block kept whole by its prefix, else each bucket
// kept by its code; empty groups dropped.
func gramGroupsKeeping(keep func(bucket int) bool) [][]string {
	var groups [][]string
	for lo := 0; lo < gramBuckets; {
		hi := min(lo+gramGroupSize(lo), gramBuckets)
		var g []string
		for b := lo; b < hi; {
			if end := min(b+gramBlock, gramBuckets); b%gramBlock == 0 && end <= hi && keepsAll(keep, b, end) {
				g = append(g, blockCode(b/gramBlock))
				b = end
				continue
			}
			if keep(b) {
				g = append(g, bucketCode(b))
			}
			b++
		}
		if len(g) > 0 {
			groups = append(groups, g)
		}
		lo = hi
	}
	return groups
}

// gramGroupSize is the number of buckets of the group that starts at
// bucket lo (see gramGroups).
func gramGroupSize(lo int) int {
	switch {
	case lo < 2:
		return 1
	case lo < 32:
		return lo // 2, 4, 8, 16
	}
	return 32
}

// keepsAll reports whether keep keeps every bucket from lo, before hi.
func keepsAll(keep func(bucket int) bool, lo, hi int) bool {
	for m := lo; m < hi; m++ {
		if !keep(m) {
			return false
		}
	}
	return true
}

// blockCode is the two digits of block j (buckets 8j to 8j+7), the prefix
// of their keys; bucketCode is bucket n's three digits (see the migration).
func blockCode(j int) string { return string(rune(0x1000+j/8)) + string(rune(0x1000+j%8)) }

func bucketCode(n int) string { return blockCode(n/gramBlock) + string(rune(0x1000+n%gramBlock)) }

// gramGroupsSkipping returns gramGroups without bucket n, and, if before,
// without every bucket after it.
func gramGroupsSkipping(n int, before bool) [][]string {
	return gramGroupsKeeping(func(m int) bool { return m < n || m > n && !before })
}

// wordBucket returns the bucket of the last names that start with the
// first two characters of q's word, two ASCII letters (1 for "aa", 676
// for "zz" and on); 0 when it does not start so.
func wordBucket(q string) int {
	i := strings.IndexFunc(q, func(r rune) bool { return r < utf8.RuneSelf && asciiWord(byte(r)) })
	if i < 0 || i+2 > len(q) || q[i] < 'a' || q[i] > 'z' || q[i+1] < 'a' || q[i+1] > 'z' {
		return 0
	}
	return 1 + int(q[i]-'a')*26 + int(q[i+1]-'a')
}

// bucketRange returns the lowercase last names of bucket n (1 to 676):
// from, and before to ("" for the last, which has no end). Compared in the
// database's collation, as the buckets themselves were drawn (the pairs of
// letters sort alike in every collation that admit meets, but the range is
// the bucket's whatever the order).
func bucketRange(n int) (from, to string) {
	pair := func(m int) string { return string([]byte{byte('a' + (m-1)/26), byte('a' + (m-1)%26)}) }
	if n < 676 {
		to = pair(n + 1)
	}
	return pair(n), to
}

// walkWordBucket walks, for sp's one word looked up in the bucketed index,
// the tickets of the bucket of the last names that start with it (the
// index alone, walkProbe at first, up to gramWalkBudget tickets), and if
// the walk has that bucket's first matches, the lookup skips the bucket
// and takes them instead (gramsArm). A name that many tickets have is one
// bucket's many tickets ("bernard", "engel": 20,000 over 1,000,000, every
// one a match): its page, when the buckets before it do not fill it, was
// found by reading and sorting every match of the group of buckets it is
// in, 45 to 110 ms; walked, the first of them are read. A bucket whose
// first tickets do not match gives up at once (a chunk of walkProbe, under
// a millisecond), and the lookup reads it as before.
func (s *Store) walkWordBucket(ctx context.Context, f admit.TicketFilter, sp *searchPlan) error {
	n := wordBucket(sp.q)
	if n == 0 || f.Desc {
		return nil
	}
	from, to := bucketRange(n)
	ids, ok, err := s.searchWalk(ctx, f, sp, nameRange{from, to}, walkProbe, gramWalkBudget)
	if err != nil || !ok {
		return err
	}
	sp.gramSkip, sp.gramWalked = n, ids
	return nil
}

// gramWalkBudget bounds the tickets walkWordBucket reads from the index.
const gramWalkBudget = 8192

// gramKeysMax bounds the trigrams a lookup intersects: more read more of
// the index for no fewer tickets as a rule. The first and the last of a
// word's (spreadKeys) find its tickets with the least of the index read:
// with four, "weberr" took 30.2 ms (none found) against 7.5, "example" 55.9
// against 30.4, "gauthier" 17.7 against 11.5. Of 71 words measured (the
// bench's names and others), 18 took 1 to 25 ms less with two, none more
// than 0.7 ms more.
const gramKeysMax = 2

// gramKeys returns trigrams that every ticket whose searched text contains
// q has among those of the bucketed index (pg_trgm's show_trgm: each word,
// a run of letters and digits, lowercased, with two spaces before it and
// one after), for a query of one word of ASCII letters and digits: the
// word's, with the spaces on the sides where q itself ends it ("nora.":
// "nor", "ora", "ra "), at most gramKeysMax spread over it (gramWord: a
// word with a character that is not ASCII, whose trigrams the database
// gives). None for a query of two words or more, or without a trigram:
// those are looked up as before.
// A word is what a door person types to find the many tickets of a name
// ("bauer", "ann": 200 ms to 1 s read whole over 1,000,000 tickets, 10 to
// 20 ms so). Two words are a full name, an email or its start, which most
// tickets have neither of: the trigram indexes of migration 00003 read
// their few matches in 3 to 12 ms, where the keys of the bucketed index,
// at most four (then) and some of them every other ticket's ("72 ", "  r"),
// took 20 to 270 ms.
func gramKeys(q string) []string {
	start, end, ascii := gramWord(q)
	if start < 0 || !ascii {
		return nil
	}
	w := q[start:end]
	if start > 0 {
		w = "  " + w
	}
	if end < len(q) {
		w += " "
	}
	var keys []string
	for k := 0; k+3 <= len(w); k++ {
		if g := w[k : k+3]; !slices.Contains(keys, g) {
			keys = append(keys, g)
		}
	}
	return spreadKeys(keys)
}

// gramWord returns where q's one word is (start -1: none, or two words or
// more), a character that is not ASCII counting as a letter, and whether
// it is all ASCII.
func gramWord(q string) (start, end int, ascii bool) {
	start, end, ascii = -1, -1, true
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case c < utf8.RuneSelf && !asciiWord(c):
		case end >= 0 && end < i:
			return -1, -1, false // a second word
		default:
			if start < 0 {
				start = i
			}
			end = i + 1
			ascii = ascii && c < utf8.RuneSelf
		}
	}
	return start, end, ascii
}

// spreadKeys returns at most gramKeysMax of keys, spread over them.
func spreadKeys(keys []string) []string {
	n := len(keys)
	if n <= gramKeysMax {
		return keys
	}
	spread := make([]string, gramKeysMax)
	for i := range spread {
		spread[i] = keys[i*(n-1)/(gramKeysMax-1)]
	}
	return spread
}

// wordGrams returns the keys of q in the bucketed index (gramKeys), asking
// the database for those of a word with a character that is not ASCII,
// which pg_trgm hashes (and which it may take for a letter or not): the
// trigrams show_trgm gives for the word, but those it gives for its first
// two characters and its last two, which hold every trigram that depends
// on what is around the word (the padded ones). "jovanović" is looked up
// by the hash of "vić" so; by its ASCII trigrams alone, each of the 20,000
// "jovanovic.…@" emails of the bench's orders was read and refused.
func (s *Store) wordGrams(ctx context.Context, q string) ([]string, error) {
	start, end, ascii := gramWord(q)
	if start < 0 || ascii {
		return gramKeys(q), nil
	}
	r := []rune(q[start:end])
	if len(r) < 3 {
		return nil, nil
	}
	rows, err := s.reader().query(ctx, `SELECT k FROM unnest(show_trgm($1)) k EXCEPT SELECT unnest(show_trgm($2))
		EXCEPT SELECT unnest(show_trgm($3))`, string(r), string(r[:2]), string(r[len(r)-2:]))
	if err != nil {
		return nil, s.dbErr(err, "trigrams")
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, s.dbErr(err, "trigrams")
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, s.dbErr(err, "trigrams")
	}
	// Those of the characters that are not ASCII are rarer (their words'),
	// and each key costs what reading its tickets costs (a prefix of the
	// index's keys, read whole): those alone, if any ("müller" by "mül"
	// and "üll", not by "lle" and "ler" that every Keller has: 16.8 ms
	// with them, against 2.8 by the trigram indexes).
	var rare []string
	for _, k := range keys {
		if !strings.Contains(q[start:end], k) {
			rare = append(rare, k)
		}
	}
	if len(rare) > 0 {
		keys = rare
	}
	slices.Sort(keys)
	return spreadKeys(keys), nil
}

// asciiWord reports whether c is a character of a word for pg_trgm: a
// letter or a digit (lowercased: the query is).
func asciiWord(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

// useGrams returns the keys sp's page is looked up by in the bucketed
// index, nil if it is not: PostgreSQL with the index, a page (pgTopPage)
// in ascending last-name order, a query of "contains" fields with a key and
// without the separators of the tickets' searched text.
func (s *Store) useGrams(ctx context.Context, f admit.TicketFilter, sp *searchPlan) ([]string, error) {
	if s.sqlite || !s.searchGrams || gramsOff.Load() || !pgTopPage(f) || f.OrderBy != admit.OrderByLastName || f.Desc ||
		sp.fields&(admit.SearchName|admit.SearchEmail|admit.SearchPrice) == 0 || strings.ContainsAny(sp.q, "\x01\x02") {
		return nil, nil
	}
	return s.wordGrams(ctx, sp.q)
}

// usePairGrams reports whether sp's page, of a pair of characters, is
// looked up in the bucketed pairs (migration 00019), should a walk not find
// it (see searchwalk.go): as useGrams, for a pair that the pairs' index can
// look up (isPair); the one key is the pair. A pair that many tickets have
// but whose page lies deep in the order ("yi", 30,000 over 1,000,000, the
// page 140,000 tickets in) was walked to (0.3 to 0.9 s) or had every match
// read. The lookup reads every match of each group of buckets up to the
// page's, so that a group where the pair is a common last name's ("rn" in
// 20,000 "Arnaud"s) costs what reading them does (140 ms, where the walk
// to them took 40). Giving up on such a group (at 2,048 or 8,192 matches)
// and walking instead cost more to other pairs than it saved ("ng": 69 ms
// read, 520 ms walked).
func (s *Store) usePairGrams(f admit.TicketFilter, sp *searchPlan) bool {
	return !s.sqlite && !gramsOff.Load() && pgTopPage(f) && f.OrderBy == admit.OrderByLastName && !f.Desc && isPair(sp.q) &&
		sp.fields&(admit.SearchName|admit.SearchEmail|admit.SearchPrice) != 0 && !strings.ContainsAny(sp.q, "\x01\x02")
}

// byGrams reports whether sp's "contains" fields are looked up in the
// bucketed index (gramsArm): keys, and a page the lookup cuts (top).
func (sp *searchPlan) byGrams() bool { return sp.grams != nil && sp.top != nil }

// pgTopPage reports whether the lookup of f's candidates (PostgreSQL) can
// sort and cut f's page itself (searchPlan.top).
func pgTopPage(f admit.TicketFilter) bool {
	return f.Limit > 0 && f.Offset >= 0 && f.Offset+f.Limit <= maxTopPage && !f.Count && !f.Admissible && !f.PaidOnly
}

// gramsArm returns the condition on t that holds for the first tickets of
// sp's page that match by a "contains" field, looked up in the bucketed
// index a group of buckets at a time (see above).
func (sp *searchPlan) gramsArm(s *Store, b *binder) string {
	f := *sp.top
	where, args := s.ticketWhere(f, nil, b.args)
	b.args = args
	if where == "" {
		where = " WHERE true"
	}
	pat := b.bind("%" + likeEscape(sp.q) + "%")
	like := func(expr string) string { return expr + ` LIKE ` + pat + ` ESCAPE '\'` }
	var exact string
	if all := admit.SearchName | admit.SearchEmail | admit.SearchPrice; sp.fields&all == all {
		// The searched text holds these fields whole, each after a U+0001
		// (migration 00017), which the query has not.
		exact = like(`t.search_text`)
	} else {
		var or []string
		if sp.fields&admit.SearchName != 0 {
			or = append(or, like(`lower(t.first_name || ' ' || t.last_name)`))
		}
		if sp.fields&admit.SearchEmail != 0 {
			or = append(or, like(`lower(t.email)`),
				`EXISTS (SELECT 1 FROM orders o WHERE o.id = t.order_id AND `+like(`lower(o.email)`)+`)`)
		}
		if sp.fields&admit.SearchPrice != 0 {
			or = append(or, like(`lower(t.price)`))
		}
		exact = "(" + strings.Join(or, " OR ") + ")"
	}
	// Each group's condition: the ticket has every key, with the group's
	// buckets (one of its prefixes) after each; a ticket has one bucket.
	groups := gramGroups
	if sp.gramSkip != 0 {
		// The walk gave the skipped bucket's first matches; if a page of
		// them, no ticket of a later bucket is on the page.
		groups = gramGroupsSkipping(sp.gramSkip, len(sp.gramWalked) >= f.Offset+f.Limit)
	}
	qs := make([]string, len(groups))
	for i, g := range groups {
		and := make([]string, len(sp.grams))
		for j, key := range sp.grams {
			or := make([]string, len(g))
			for k, prefix := range g {
				or[k] = lexemePrefix(key, prefix)
			}
			and[j] = "(" + strings.Join(or, " | ") + ")"
		}
		qs[i] = "(" + b.bind(strings.Join(and, " & ")) + "::tsquery)"
	}
	k := strconv.Itoa(f.Offset + f.Limit)
	// The condition twice: the planner estimates it at a default
	// selectivity (the query is known at run time), 5,000 tickets of
	// 1,000,000 once, and read those with parallel workers started at each
	// group (a query of one trigram, "1111": 1.1 s); twice, 25. The index
	// looks each key up once.
	match := `admit_search_grams(lower(t.last_name), t.search_text) @@ gb.q`
	if sp.pairGrams {
		match = pairGrams + ` @@ gb.q` // the one key is the pair
	}
	// The groups in order (the nested loop reads the VALUES in order), each
	// group's matches sorted, by expressions no index has (as in
	// postgresCond: never a walk of the last-name index that computes each
	// ticket's keys): the first k of them all are the first k of the page
	// that match by these fields.
	arm := `t.id = ANY (ARRAY(SELECT gt.id FROM (VALUES ` + strings.Join(qs, ", ") + `) gb (q) CROSS JOIN LATERAL (SELECT t.id FROM tickets t` +
		where + ` AND t.event_id = ` + b.bind(sp.eventID) + ` AND ` + match + ` AND ` + match + ` AND ` + exact +
		` ORDER BY (LOWER(t.last_name) || ''), (t.id + 0) LIMIT ` + k + `) gt LIMIT ` + k + `))`
	if sp.gramSkip != 0 {
		// The skipped bucket's first matches, walked (every field checked).
		arm = "(" + arm + " OR t.id IN (" + bindIDs(b, sp.gramWalked) + "))"
	}
	return arm
}

package sqlstore

import (
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
// as the prefixes of its keys (two digits: 8 buckets; see the migration):
// 8, 8, 16 and 32 buckets, then 32 at a time. Small first, so that a page
// found in the first buckets (the common case of a query many tickets
// match) reads little; 24 groups in all, so that a query that matches few
// tickets, late in the order or not at all, takes 24 lookups, each of a few
// ranges of keys per trigram (1 to 2 ms in all over 1,000,000 tickets).
var gramGroups = func() [][]string {
	const buckets, block = 677, 8
	var groups [][]string
	for lo := 0; lo < buckets; {
		size := 32
		switch {
		case lo < 16:
			size = 8
		case lo < 32:
			size = 16
		}
		var g []string
		for b := lo; b < lo+size && b < buckets; b += block {
			j := b / block
			g = append(g, string(rune(0x1000+j/8))+string(rune(0x1000+j%8)))
		}
		groups = append(groups, g)
		lo += size
	}
	return groups
}()

// gramKeysMax bounds the trigrams a lookup intersects: more read more of
// the index for no fewer tickets as a rule.
const gramKeysMax = 4

// gramKeys returns trigrams that every ticket whose searched text contains
// q has among those of the bucketed index (pg_trgm's show_trgm: each word,
// a run of letters and digits, lowercased, with two spaces before it and
// one after), for a query of one word: the word's, with the spaces on the
// sides where q itself ends it ("nora.": "nor", "ora", "ra "), at most
// gramKeysMax spread over it. None for a query of two words or more, of a
// character that is not ASCII (the index holds its trigrams as pg_trgm's
// hashes of them), or without a trigram: those are looked up as before.
// A word is what a door person types to find the many tickets of a name
// ("bauer", "ann": 200 ms to 1 s read whole over 1,000,000 tickets, 10 to
// 20 ms so). Two words are a full name, an email or its start, which most
// tickets have neither of: the trigram indexes of migration 00003 read
// their few matches in 3 to 12 ms, where the keys of the bucketed index,
// at most four and some of them every other ticket's ("72 ", "  r"), took
// 20 to 270 ms.
func gramKeys(q string) []string {
	start, end := -1, -1
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case c >= utf8.RuneSelf:
			return nil
		case !asciiWord(c):
		case end >= 0 && end < i:
			return nil // a second word
		default:
			if start < 0 {
				start = i
			}
			end = i + 1
		}
	}
	if start < 0 {
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
	if n := len(keys); n > gramKeysMax {
		spread := make([]string, gramKeysMax)
		for i := range spread {
			spread[i] = keys[i*(n-1)/(gramKeysMax-1)]
		}
		keys = spread
	}
	return keys
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
func (s *Store) useGrams(f admit.TicketFilter, sp *searchPlan) []string {
	if s.sqlite || !s.searchGrams || gramsOff.Load() || !pgTopPage(f) || f.OrderBy != admit.OrderByLastName || f.Desc ||
		sp.fields&(admit.SearchName|admit.SearchEmail|admit.SearchPrice) == 0 || strings.ContainsAny(sp.q, "\x01\x02") {
		return nil
	}
	return gramKeys(sp.q)
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
	qs := make([]string, len(gramGroups))
	for i, g := range gramGroups {
		and := make([]string, len(sp.grams))
		for j, key := range sp.grams {
			or := make([]string, len(g))
			for k, prefix := range g {
				or[k] = "'" + strings.ReplaceAll(strings.ReplaceAll(key+prefix, `\`, `\\`), "'", "''") + "':*"
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
	// The groups in order (the nested loop reads the VALUES in order), each
	// group's matches sorted, by expressions no index has (as in
	// postgresCond: never a walk of the last-name index that computes each
	// ticket's keys): the first k of them all are the first k of the page
	// that match by these fields.
	return `t.id = ANY (ARRAY(SELECT gt.id FROM (VALUES ` + strings.Join(qs, ", ") + `) gb (q) CROSS JOIN LATERAL (SELECT t.id FROM tickets t` +
		where + ` AND t.event_id = ` + b.bind(sp.eventID) + ` AND ` + match + ` AND ` + match + ` AND ` + exact +
		` ORDER BY (LOWER(t.last_name) || ''), (t.id + 0) LIMIT ` + k + `) gt LIMIT ` + k + `))`
}

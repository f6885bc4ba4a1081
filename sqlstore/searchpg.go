package sqlstore

import (
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/admitdev/admit"
)

// pgContains returns the condition "expr contains q" (expr lowercased, q
// the query lowercased) for PostgreSQL, looked up on the trigram index of
// expr and checked whole (strpos, or the LIKE itself):
//
//   - a query with three trigrams or more that have a digit (an email with
//     its number, a uuid's start): by those trigrams only (keyGrams), one
//     LIKE each: rare, they find the few tickets at once;
//   - a query with a word of one or two characters ("nora.xu.12"), or a
//     word whose trigrams the other words have ("tremblay.emb",
//     hasWordWithoutGram): by one LIKE of the query, or of an email's part
//     before its last "@" (the domain's trigrams are every ticket's):
//     pg_trgm takes from it the
//     trigrams of its words, padded where a word starts or ends inside the
//     pattern (" xu", "xu ", " 12"), which find the few tickets that have
//     those words side by side, where the trigrams inside words alone
//     ("nor", "ora") found every Nora;
//   - any other, by the trigrams inside its words (keyGrams), at most
//     pgKeysMax of them, each word's own first (ownKeys), one LIKE each:
//     the padded trigrams of its words' edges are common, and only cost
//     more to read ("nora weber" took 10 ms more at p50).
func pgContains(b *binder, expr, q string) string {
	grams, all := keyGrams(q, true)
	part := q
	if i := strings.LastIndex(q, "@"); i >= 0 && utf8.RuneCountInString(q[:i]) >= minTrigramQuery {
		part = q[:i]
	}
	digits := !all && len(grams) >= 3 && allHaveDigit(grams)
	if !digits && (len(grams) == 0 || hasShortWord(part) || hasWordWithoutGram(part)) {
		c := expr + ` LIKE ` + b.bind("%"+likeEscape(part)+"%") + ` ESCAPE '\'`
		if part != q {
			c = "(" + c + ` AND strpos(` + expr + `, ` + b.bind(q) + `) > 0)`
		}
		return c
	}
	if all {
		return expr + ` LIKE ` + b.bind("%"+likeEscape(q)+"%") + ` ESCAPE '\'`
	}
	if len(grams) > pgKeysMax && !digits {
		grams = ownKeys(part)
	}
	var c []string
	for _, g := range grams {
		c = append(c, expr+` LIKE `+b.bind("%"+likeEscape(g)+"%")+` ESCAPE '\'`)
	}
	return "(" + strings.Join(c, " AND ") + ` AND strpos(` + expr + `, ` + b.bind(q) + `) > 0)`
}

// pgKeysMax bounds the trigrams inside the words that pgContains looks a
// query up by (but those with a digit): the index reads each one's whole
// list of tickets, and three (ownKeys) leave few to check.
// Thirty full names and email starts of the bench took 16% less time in
// all than with twelve (the means of four rounds of each, in turns; the
// slowest of them 14.4 to 20.9 ms against 17.9 to 23.6).
const pgKeysMax = 3

// hasShortWord reports whether s has a word (letters and digits) of one or
// two characters, which has no trigram inside it.
func hasShortWord(s string) bool {
	n := 0
	for _, r := range s + " " {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			n++
			continue
		}
		if n > 0 && n < minTrigramQuery {
			return true
		}
		n = 0
	}
	return false
}

// ownKeys returns at most pgKeysMax trigrams inside the words of s (letters
// and digits), each one that no other word of s has: the first of each
// word, then the last of each, then the others, word after word. A
// trigram another word has finds that word's tickets too ("ine" of "ines"
// every Fontaine's, 20,000 over 1,000,000: "ines.fontaine" took 90 ms).
func ownKeys(s string) []string {
	own := ownGrams(s)
	var keys []string
	add := func(g string) {
		if len(keys) < pgKeysMax && !slices.Contains(keys, g) {
			keys = append(keys, g)
		}
	}
	for _, o := range own {
		if len(o) > 0 {
			add(o[0])
		}
	}
	for _, o := range own {
		if len(o) > 0 {
			add(o[len(o)-1])
		}
	}
	for _, o := range own {
		for _, g := range o {
			add(g)
		}
	}
	return keys
}

// hasWordWithoutGram reports whether a word of s (letters and digits) has
// no trigram inside it that its other words do not have: "emb" of
// "tremblay.emb", whose one trigram every Tremblay has. By the trigrams
// inside the words, every Tremblay was read (20,000 over 1,000,000: 116
// ms for none found); by the query whole, pg_trgm looks up the padded
// trigrams of the words' edges too (" em", "ay "), which few of them have.
func hasWordWithoutGram(s string) bool {
	own := ownGrams(s)
	return len(own) >= 2 && slices.ContainsFunc(own, func(o []string) bool { return len(o) == 0 })
}

// ownGrams returns, for each word of s (letters and digits), its trigrams
// that no other word of s has, each once.
func ownGrams(s string) [][]string {
	words := strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	own := make([][]string, len(words))
	for i, w := range words {
		r := []rune(w)
		for k := 0; k+minTrigramQuery <= len(r); k++ {
			g := string(r[k : k+minTrigramQuery])
			shared := slices.Contains(own[i], g)
			for j, v := range words {
				shared = shared || j != i && strings.Contains(v, g)
			}
			if !shared {
				own[i] = append(own[i], g)
			}
		}
	}
	return own
}

// allHaveDigit reports whether each of grams has a digit.
func allHaveDigit(grams []string) bool {
	for _, g := range grams {
		if !strings.ContainsAny(g, "0123456789") {
			return false
		}
	}
	return true
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
	grams := ""
	if sp.byGrams() {
		grams = sp.gramsArm(s, b)
	}
	match := sp.postgresMatch(b, grams)
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

// pairGrams is a ticket t's pairs of characters of its searched text, each
// behind the bucket of its last name (PostgreSQL, migration 00019): the
// expression of their index. hasPair is the condition that t has the pair
// q, whatever the bucket (every key that starts with it).
const pairGrams = `admit_search_pair_grams(lower(t.last_name), t.search_text)`

func hasPair(b *binder, q string) string {
	return pairGrams + ` @@ ` + b.bind(lexemePrefix(q, "")) + `::tsquery`
}

// lexemePrefix is the tsquery of the keys that start with key and prefix:
// quoted, matched as a prefix.
func lexemePrefix(key, prefix string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(key+prefix, `\`, `\\`), "'", "''") + "':*"
}

// postgresMatch returns the condition on t (tickets alone) that holds for
// exactly the tickets of the event that match (but for the event itself):
// an OR of index conditions (see postgresCond); "" when no field is
// searched. grams, if not "", is the condition of the "contains" fields
// (gramsArm), for those of the trigram indexes.
func (sp *searchPlan) postgresMatch(b *binder, grams string) string {
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
	contained := grams == ""
	if !contained {
		or = append(or, grams)
	}
	if sp.pairs {
		// Two characters: the tickets that have the pair (migration
		// 00019) and the orders (migration 00014), each field then
		// checked.
		like := func(expr string) string {
			return expr + ` LIKE ` + b.bind("%"+likeEscape(sp.q)+"%") + ` ESCAPE '\'`
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
			or = append(or, "("+hasPair(b, sp.q)+" AND ("+strings.Join(fields, " OR ")+"))")
		}
		if sp.fields&admit.SearchEmail != 0 {
			has := `admit_search_pairs(lower(email)) @> ARRAY[` + b.bind(sp.q) + `]::text[]`
			or = append(or, byOrders(`event_id = `+ev()+` AND `+has+` AND `+like(`lower(email)`)))
		}
	}
	if sp.fields&admit.SearchName != 0 && !sp.pairs && contained {
		or = append(or, contains(`lower(t.first_name || ' ' || t.last_name)`))
	}
	if sp.fields&admit.SearchEmail != 0 && !sp.pairs && contained {
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
	if sp.fields&admit.SearchPrice != 0 && !sp.pairs && contained {
		or = append(or, contains(`lower(t.price)`))
	}
	if len(or) == 0 {
		return ""
	}
	return "(" + strings.Join(or, " OR ") + ")"
}

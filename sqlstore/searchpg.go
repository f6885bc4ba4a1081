package sqlstore

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// pgContains returns the condition "expr contains q" (expr lowercased, q
// the query lowercased) for PostgreSQL, looked up on the trigram index of
// expr and checked whole (strpos, or the LIKE itself):
//
//   - a query with three trigrams or more that have a digit (an email with
//     its number, a uuid's start): by those trigrams only (keyGrams), one
//     LIKE each: rare, they find the few tickets at once;
//   - a query with a word of one or two characters ("nora.xu.12"): by one
//     LIKE of the query, or of an email's part before its last "@" (the
//     domain's trigrams are every ticket's): pg_trgm takes from it the
//     trigrams of its words, padded where a word starts or ends inside the
//     pattern (" xu", "xu ", " 12"), which find the few tickets that have
//     those words side by side, where the trigrams inside words alone
//     ("nor", "ora") found every Nora;
//   - any other, by the trigrams inside its words (keyGrams), one LIKE
//     each: the padded trigrams of its words' edges are common, and only
//     cost more to read ("nora weber" took 10 ms more at p50).
func pgContains(b *binder, expr, q string) string {
	grams, all := keyGrams(q, true)
	part := q
	if i := strings.LastIndex(q, "@"); i >= 0 && utf8.RuneCountInString(q[:i]) >= minTrigramQuery {
		part = q[:i]
	}
	digits := !all && len(grams) >= 3 && allHaveDigit(grams)
	if !digits && (len(grams) == 0 || hasShortWord(part)) {
		c := expr + ` LIKE ` + b.bind("%"+likeEscape(part)+"%") + ` ESCAPE '\'`
		if part != q {
			c = "(" + c + ` AND strpos(` + expr + `, ` + b.bind(q) + `) > 0)`
		}
		return c
	}
	if all {
		return expr + ` LIKE ` + b.bind("%"+likeEscape(q)+"%") + ` ESCAPE '\'`
	}
	var c []string
	for _, g := range grams {
		c = append(c, expr+` LIKE `+b.bind("%"+likeEscape(g)+"%")+` ESCAPE '\'`)
	}
	return "(" + strings.Join(c, " AND ") + ` AND strpos(` + expr + `, ` + b.bind(q) + `) > 0)`
}

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

// allHaveDigit reports whether each of grams has a digit.
func allHaveDigit(grams []string) bool {
	for _, g := range grams {
		if !strings.ContainsAny(g, "0123456789") {
			return false
		}
	}
	return true
}

package sqlstore

import (
	"strings"
	"unicode/utf8"
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
//
// A query with three trigrams or more that have a digit (an email with its
// number, a uuid's start) is looked up by those trigrams only (keyGrams),
// one LIKE each: rare, they find the few tickets at once, where the
// query's every trigram ("nor", "ra ") would read long lists first.
func pgContains(b *binder, expr, q string) string {
	if grams, all := keyGrams(q, true); !all && len(grams) >= 3 && allHaveDigit(grams) {
		var c []string
		for _, g := range grams {
			c = append(c, expr+` LIKE `+b.bind("%"+likeEscape(g)+"%")+` ESCAPE '\'`)
		}
		return "(" + strings.Join(c, " AND ") + ` AND strpos(` + expr + `, ` + b.bind(q) + `) > 0)`
	}
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

// allHaveDigit reports whether each of grams has a digit.
func allHaveDigit(grams []string) bool {
	for _, g := range grams {
		if !strings.ContainsAny(g, "0123456789") {
			return false
		}
	}
	return true
}

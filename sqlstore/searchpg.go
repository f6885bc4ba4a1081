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

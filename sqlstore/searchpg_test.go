package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/sqlstore"
)

// PostgreSQL looks a query of two words or more up by the trigrams inside
// its words, unless a word has no trigram of its own (none, or only some
// the other words have too: "emb" of "tremblay.emb"): then by the query
// whole, whose padded trigrams (" em") filter where the inner ones cannot.
func TestPostgresContainsLooksUpTheQueryWhole(t *testing.T) {
	cases := []struct {
		name  string
		q     string
		whole bool
	}{
		{"one word", "tremblay", true},
		{"two words, each with a trigram of its own", "nora weber", false},
		{"an email's start, each word its own", "bastien.ols", false},
		{"a word whose one trigram the other has", "tremblay.emb", true},
		{"a word repeated", "ann.ann", true},
		{"the start of the other word", "bauer.bau", true},
		{"the end of the other word", "dubois.bois", true},
		{"a word of one character", "tremblay.e", true},
		{"a word not ASCII whose trigram the other has", "ölaf.öla", true},
		{"an email with digits", "nora.weber.1234", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cond, args := sqlstore.PGContains("x", c.q)
			whole := strings.Count(cond, " LIKE ") == 1 && slices.Contains(args, any("%"+c.q+"%"))
			if whole != c.whole {
				t.Errorf("%q: looked up whole %v, want %v: %s %v", c.q, whole, c.whole, cond, args)
			}
		})
	}
}

// A query of words looked up by the trigrams inside them takes for each
// word one that no other word has, at most three in all: "nes" of "ines",
// not "ine", which every Fontaine has.
func TestPostgresContainsTakesEachWordsOwnTrigram(t *testing.T) {
	cases := []struct {
		q    string
		want []string
	}{
		{"ines.fontaine", []string{"nes", "fon", "ain"}},
		{"nora weber", []string{"nor", "web", "ora"}},
		{"lena olsen hoffmann", []string{"len", "ols", "hof"}},
		{"alice zimmermann", []string{"ali", "zim", "ice"}},
	}
	for _, c := range cases {
		t.Run(c.q, func(t *testing.T) {
			_, args := sqlstore.PGContains("x", c.q)
			var got []string
			for _, a := range args {
				if s, ok := a.(string); ok && strings.HasPrefix(s, "%") {
					got = append(got, strings.Trim(s, "%"))
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("looked up by %q, want %q", got, c.want)
			}
		})
	}
}

// Queries of two words, some whose words share trigrams, find on PostgreSQL
// the page the exact predicate gives over every ticket (exactPage).
func TestPostgresSearchWordsSharingTrigrams(t *testing.T) {
	ctx := context.Background()
	st, db := postgresStoreAndDB(t)
	firsts := []string{"Emma", "Emil", "Ann", "Bau", "Bois", "Nora", "Ines"}
	lasts := []string{"Tremblay", "Bauer", "Dubois", "Ann", "Weber", "Fontaine"}
	var b strings.Builder
	b.WriteString(`{"organizer": {"slug": "org"}, "event": {"slug": "words"}, "products": [{"name": "Pass"}], "orders": [`)
	for i := range 120 {
		if i > 0 {
			b.WriteString(",")
		}
		first, last := firsts[i%len(firsts)], lasts[i%len(lasts)]
		email := strings.ToLower(first + "." + last)
		if i%4 == 0 {
			email = strings.ToLower(last + "." + first) // "tremblay.emma", "bauer.bau"
		}
		fmt.Fprintf(&b, `{"code": "O%d", "email": "buyer.%d@example.org", "tickets": [
			{"product": "Pass", "first_name": %q, "last_name": %q, "email": "%s.%d@example.org"}]}`, i, i, first, last, email, i)
	}
	b.WriteString(`]}`)
	ev := importJSON(t, st, b.String())
	for _, q := range []string{"tremblay.emb", "tremblay.emm", "ann.ann", "bauer.bau", "dubois.bois", "nora.weber", "emil tremblay", "tremblay.e", "ines.fontaine", "ines fontaine"} {
		for _, order := range []admit.TicketOrder{admit.OrderByLastName, admit.OrderByID} {
			t.Run(fmt.Sprintf("%s by %v", q, order), func(t *testing.T) {
				flt := admit.TicketFilter{EventID: ev, Query: q, Fields: admit.SearchName | admit.SearchEmail | admit.SearchPrice,
					OrderBy: order, Limit: 50}
				got, _, err := st.FindTickets(ctx, flt)
				if err != nil {
					t.Fatal(err)
				}
				want := exactPage(t, db, ev, flt)
				if !slices.Equal(ticketIDs(got), want) {
					t.Errorf("page %v, want %v", ticketIDs(got), want)
				}
			})
		}
	}
}

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

// PostgreSQL, a page in last-name order looked up by the bucketed trigrams
// (migration 00018): the same page as the trigram indexes give, whether it
// lies in the first buckets or the last, across several, with an offset,
// with the matches of a "starts with" field or a product among it, or
// empty. The last names span the buckets: below "aa" (digits, nothing),
// "aa" to "zz", and above (not ASCII, sorted after "zz" in byte order).
func TestPostgresSearchPageByBucketedTrigrams(t *testing.T) {
	st, err := sqlstore.Open(context.Background(), createDatabase(t, postgresServer(t)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lasts := []string{"", "007", "Aaron", "Abel", "Bauer", "Baumann", "Klein", "Müller", "Muller", "Zed", "Zz Top", "Zzyzx", "Ébert", "Øst"}
	var b strings.Builder
	b.WriteString(`{"organizer": {"slug": "org"}, "event": {"slug": "grams"}, "products": [{"name": "Pass"}, {"name": "Bauer Lounge"}], "orders": [`)
	for i := range 400 {
		if i > 0 {
			b.WriteString(",")
		}
		last := lasts[(i*7)%len(lasts)]
		buyer := "someone"
		if i%9 == 0 {
			buyer = "jo.bauer" // the order's email: every ticket of the order matches
		}
		product, price := "Pass", "Standard"
		if i%31 == 0 {
			product = "Bauer Lounge"
		}
		if i%37 == 0 {
			price = "Bauer rate"
		}
		second := "Bo"
		if i%11 == 0 {
			second = "Marjo" // "jo." within a word: not the start of one
		}
		fmt.Fprintf(&b, `{"code": "O%d", "email": "%s.%d@example.org", "tickets": [
			{"product": %q, "first_name": "Ann%d", "last_name": %q, "email": "ann.%d@example.org", "price": %q},
			{"product": "Pass", "first_name": %q, "last_name": %q, "email": "%s.%d@example.org"}]}`,
			i, buyer, i, product, i, last, i, price, second, lasts[(i*5+3)%len(lasts)], strings.ToLower(second), i)
	}
	b.WriteString(`]}`)
	ev := importJSON(t, st, b.String())
	ctx := context.Background()
	// The lookup itself: the walk that a word tries first (every ticket of
	// this event in its first chunk) is held off, here and in the plan
	// compared with.
	defer sqlstore.SearchWalk(false)()
	cases := []struct {
		name          string
		q             string
		fields        admit.SearchFields
		offset, limit int
		full          bool // the page is full (else cut short, or empty)
		plan          string
	}{
		{"many matches, the page in the first buckets", "bauer", tibilletFields, 0, 50, true, "grams"},
		{"the page past the first buckets", "muller", tibilletFields, 0, 20, true, "grams"},
		{"a page further on, across buckets", "bauer", tibilletFields, 60, 50, true, "grams"},
		{"the last page, cut short", "bauer", tibilletFields, 120, 50, false, "grams"},
		{"a last name above zz", "zzyzx", tibilletFields, 0, 10, true, "grams"},
		{"a digit name below aa", "007", tibilletFields, 0, 10, true, "grams"},
		{"a word and the end of one", "jo.", tibilletFields, 0, 50, true, "grams"},
		{"the start of a word", ".bau", tibilletFields, 0, 50, true, "grams"},
		{"a product's tickets among the page", "lounge", tibilletFields, 0, 50, false, "grams"},
		{"name only", "bauer", admit.SearchName, 0, 20, true, "grams"},
		{"name and email, not the price", "bauer", admit.SearchName | admit.SearchEmail, 0, 30, true, "grams"},
		{"no match", "qqzx", tibilletFields, 0, 50, false, "grams"},
		{"two words: the trigram indexes", "zz top", tibilletFields, 0, 20, true, "indexed"},
		{"a letter not ASCII: the word's ASCII trigrams", "ébert", tibilletFields, 0, 10, true, "grams"},
		{"a letter not ASCII inside the word", "müller", tibilletFields, 0, 10, true, "grams"},
		{"three characters, one not ASCII: its hashed trigram", "øst", tibilletFields, 0, 10, true, "grams"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			flt := admit.TicketFilter{EventID: ev, Query: c.q, Fields: c.fields, OrderBy: admit.OrderByLastName,
				Offset: c.offset, Limit: c.limit}
			mode, _, keys, err := st.SearchPlan(ctx, flt)
			if err != nil {
				t.Fatal(err)
			}
			if mode != c.plan || mode == "grams" && len(keys) == 0 {
				t.Errorf("plan %q %v, want %q", mode, keys, c.plan)
			}
			got, _, err := st.FindTickets(ctx, flt)
			if err != nil {
				t.Fatal(err)
			}
			want := trigramIndexesPage(t, st, flt)
			if full := len(got) == c.limit; full != c.full || !c.full && c.plan == "grams" && c.q != "qqzx" && len(got) == 0 {
				t.Errorf("%d tickets on a page of %d", len(got), c.limit)
			}
			if !slices.Equal(ticketIDs(got), ticketIDs(want)) {
				t.Errorf("page %v, want the trigram indexes' %v", ticketIDs(got), ticketIDs(want))
			}
		})
	}
}

// PostgreSQL, a word looked up by the bucketed trigrams walks the bucket of
// the last names that start with it (the index alone, within a budget), and
// if that bucket's first tickets match, the lookup skips the bucket and
// takes the walked matches: a name that many tickets have is found without
// reading every one of them. A bucket whose first tickets do not match is
// looked up as before. The page is the one of the trigram indexes either
// way.
func TestPostgresSearchWordWalksItsBucket(t *testing.T) {
	st, err := sqlstore.Open(context.Background(), createDatabase(t, postgresServer(t)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Orders of two: an "Abadie" (the first bucket) and a "Dense" (bucket
	// "de", 600 tickets); every 40th order's email names a "dense" (so do
	// both its tickets: 15 Abadies come before the Denses), every 100th
	// one's a "derby" (the first such Dense is the 84th); the last three
	// orders' second tickets are a "Derby",
	// and the first five a "Quinn" (bucket "qu", five tickets), the next
	// two a "Zzyzx" (the last bucket).
	var b strings.Builder
	b.WriteString(`{"organizer": {"slug": "org"}, "event": {"slug": "walk"}, "products": [{"name": "Pass"}], "orders": [`)
	const orders = 600
	for i := range orders {
		if i > 0 {
			b.WriteString(",")
		}
		buyer := "someone"
		switch {
		case i == 6:
			buyer = "quinn" // a Zzyzx: after the Quinns' bucket
		case i%40 == 7:
			buyer = "dense"
		case i%100 == 90:
			buyer = "derby"
		}
		second := "Dense"
		switch {
		case i >= orders-3:
			second = "Derby"
		case i < 5:
			second = "Quinn"
		case i < 7:
			second = "Zzyzx"
		}
		fmt.Fprintf(&b, `{"code": "O%d", "email": "%s.%d@example.org", "tickets": [
			{"product": "Pass", "first_name": "Eve%d", "last_name": "Abadie", "email": "eve.%d@example.org"},
			{"product": "Pass", "first_name": "Ned%d", "last_name": %q, "email": "ned.%d@example.org"}]}`,
			i, buyer, i, i, i, i, second, i)
	}
	b.WriteString(`]}`)
	ev := importJSON(t, st, b.String())
	ctx := context.Background()
	cases := []struct {
		name          string
		q             string
		fields        admit.SearchFields
		offset, limit int
		plan          string
	}{
		{"a name many tickets have, past the first buckets", "dense", tibilletFields, 0, 50, "grams, bucket walked"},
		{"the start of the name", "dens", tibilletFields, 0, 50, "grams, bucket walked"},
		{"a page further on", "dense", tibilletFields, 30, 50, "grams, bucket walked"},
		{"name only", "dense", admit.SearchName, 0, 20, "grams, bucket walked"},
		{"a bucket walked to its end, a match after it", "quinn", tibilletFields, 0, 50, "grams, bucket walked"},
		{"the last bucket, which has no end", "zzyzx", tibilletFields, 0, 50, "grams, bucket walked"},
		{"the bucket's first tickets do not match", "derby", tibilletFields, 0, 50, "grams"},
		{"a word that starts with a digit", "123", tibilletFields, 0, 50, "grams"},
		{"an empty bucket, walked at once", "qqzx", tibilletFields, 0, 50, "grams, bucket walked"},
		{"no match at all", "abqqzx", tibilletFields, 0, 50, "grams"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			flt := admit.TicketFilter{EventID: ev, Query: c.q, Fields: c.fields, OrderBy: admit.OrderByLastName,
				Offset: c.offset, Limit: c.limit}
			mode, _, _, err := st.SearchPlan(ctx, flt)
			if err != nil {
				t.Fatal(err)
			}
			if mode != c.plan {
				t.Errorf("plan %q, want %q", mode, c.plan)
			}
			got, _, err := st.FindTickets(ctx, flt)
			if err != nil {
				t.Fatal(err)
			}
			want := trigramIndexesPage(t, st, flt)
			if !slices.Equal(ticketIDs(got), ticketIDs(want)) {
				t.Errorf("page %v, want the trigram indexes' %v", ticketIDs(got), ticketIDs(want))
			}
			if !strings.Contains(c.q, "qqzx") && len(got) == 0 {
				t.Errorf("no ticket found")
			}
		})
	}
}

// The keys of a one-word query in the bucketed trigrams are trigrams every
// ticket that contains the query has: padded only where the query itself
// ends the word; for a word with a character that is not ASCII, pg_trgm's
// own (its hashes among them), none of them padded.
func TestPostgresGramKeys(t *testing.T) {
	st, err := sqlstore.Open(context.Background(), createDatabase(t, postgresServer(t)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	w, _ := st.DBs()
	cases := []struct {
		name, q string
		want    []string // nil: any keys (one of pg_trgm's hashes among them, for a letter not ASCII)
		none    bool
	}{
		{"a word: its first and last", "bauer", []string{"bau", "uer"}, false},
		{"a word the query ends", "nora.", []string{"nor", "ra "}, false},
		{"a word the query starts", ".xu", []string{"  x", " xu"}, false},
		{"a word of one trigram", "ann", []string{"ann"}, false},
		{"at most two, the word's ends", "gauthier", []string{"gau", "ier"}, false},
		{"a letter not ASCII inside", "müller", nil, false},
		{"a letter not ASCII at the end", "jovanović", nil, false},
		{"a letter not ASCII at the start, the query ended after", "ébert.", nil, false},
		{"a character not ASCII that pg_trgm does not take for a letter", "o\u2019brien", nil, false},
		{"two characters: no trigram", "øs", nil, true},
		{"two words", "zoé nova", nil, true},
		{"a word and a number", "bauer 1", nil, true},
		{"no word", "..", nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := st.GramKeys(ctx, c.q)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case c.none:
				if got != nil {
					t.Fatalf("keys %q, want none", got)
				}
				return
			case c.want != nil && !slices.Equal(got, c.want):
				t.Errorf("keys %q, want %q", got, c.want)
			case len(got) == 0 || len(got) > 2:
				t.Fatalf("keys %q: want one or two", got)
			}
			// Each key is a trigram of every text that has the query,
			// whatever is around it.
			for _, text := range []string{c.q, "xy" + c.q + "zw", "a " + c.q + " b", "9" + c.q, c.q + "ß"} {
				var have []string
				rows, err := w.QueryContext(ctx, `SELECT unnest(show_trgm($1))`, text)
				if err != nil {
					t.Fatal(err)
				}
				for rows.Next() {
					var k string
					if err := rows.Scan(&k); err != nil {
						t.Fatal(err)
					}
					have = append(have, k)
				}
				rows.Close()
				for _, k := range got {
					if !slices.Contains(have, k) {
						t.Errorf("key %q is not a trigram of %q (%q)", k, text, have)
					}
				}
			}
			if c.want == nil && !strings.Contains(c.q, "\u2019") && !slices.ContainsFunc(got, func(k string) bool { return strings.HasPrefix(k, "0x") }) {
				t.Errorf("keys %q: none of pg_trgm's hashes", got)
			}
		})
	}
}

// tibilletFields are the fields TiBillet's search_ticket searches.
const tibilletFields = admit.SearchUUIDPrefix | admit.SearchName | admit.SearchEmail | admit.SearchPrice |
	admit.SearchProduct | admit.SearchOrderUUIDPrefix

// importJSON imports the import file text into st as a new event and
// returns its id, or fails the test.
func importJSON(t *testing.T, st admit.Store, text string) int64 {
	t.Helper()
	f, err := admit.ParseImport(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return importNew(t, st, f).Event.ID
}

// trigramIndexesPage returns flt's page as the trigram indexes of
// migration 00003 give it: the bucketed trigrams and the walk held off.
func trigramIndexesPage(t *testing.T, st *sqlstore.Store, flt admit.TicketFilter) []*admit.Ticket {
	t.Helper()
	defer sqlstore.SearchGrams(false)()
	defer sqlstore.SearchWalk(false)()
	if mode, _, _, err := st.SearchPlan(context.Background(), flt); err != nil || strings.HasPrefix(mode, "grams") {
		t.Fatalf("plan without the bucketed trigrams: %q, %v", mode, err)
	}
	want, _, err := st.FindTickets(context.Background(), flt)
	if err != nil {
		t.Fatal(err)
	}
	return want
}

// ticketIDs returns the tickets' ids, in order.
func ticketIDs(ts []*admit.Ticket) []int64 {
	var out []int64
	for _, tk := range ts {
		out = append(out, tk.ID)
	}
	return out
}

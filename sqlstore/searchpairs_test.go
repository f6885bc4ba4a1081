package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/sqlstore"
)

// PostgreSQL, a pair of characters in last-name order whose page the walk's
// first tickets do not hold is looked up in the pairs bucketed by last name
// (migration 00019): its page is the one the exact predicate gives, read
// over every ticket and its order (exactPage), wherever the pair is (a
// name, an email, the order's email, a price), between two letters that are
// not ASCII, with a quote or a backslash, at an offset, or nowhere. The first
// 300 tickets (last names "Abel", "Adams") have none of the deep pairs, so
// that the walk gives up after its first chunk.
func TestPostgresSearchPairByBucketedPairs(t *testing.T) {
	ctx := context.Background()
	st, db := postgresStoreAndDB(t)

	// Orders of two tickets; the second ticket's last name picks its
	// bucket: early ones first ("Abel", "Adams": 300 tickets), then a
	// middle one and the deep ones.
	type holder struct{ first, last, email, price string }
	var b strings.Builder
	b.WriteString(`{"organizer": {"slug": "org"}, "event": {"slug": "pairs"}, "products": [{"name": "Pass"}], "orders": [`)
	const orders = 300
	for i := range orders {
		if i > 0 {
			b.WriteString(",")
		}
		buyer := fmt.Sprintf("buyer.%d@example.org", i)
		if i%50 == 7 && i > 200 { // past the walk's first chunk
			buyer = fmt.Sprintf("yi.buyer.%d@example.org", i) // the order's email only
		}
		one := holder{"Ann", "Abel", fmt.Sprintf("ann.%d@example.org", i), "Standard"}
		if i%2 == 1 {
			one.last = "Adams"
		}
		var two holder
		switch {
		case i < 150:
			two = holder{"Bo", "Adams", fmt.Sprintf("bo.%d@example.org", i), "Standard"}
		case i == 150:
			two = holder{"Äxuö", "Moreau", "m.150@example.org", "Standard"} // "xu" between two letters not ASCII
		case i == 151:
			two = holder{"Back\\slash", "Moreau", "m.151@example.org", "Standard"}
		case i == 152:
			two = holder{"Ivo", "D'Arcy", "jo@example.org", "Standard"} // "o@", "'a"
		case i%3 == 0:
			two = holder{"Lin", "Xu", fmt.Sprintf("lin.xu.%d@example.org", i), "12.50"}
		case i%3 == 1:
			two = holder{"Ece", "Yildiz", fmt.Sprintf("ece.%d@example.org", i), "Standard"}
		default:
			two = holder{"Zoe", "Zed", fmt.Sprintf("zoe.%d@example.org", i), "Standard"}
		}
		fmt.Fprintf(&b, `{"code": "O%d", "email": %q, "tickets": [
			{"product": "Pass", "first_name": %q, "last_name": %q, "email": %q, "price": %q},
			{"product": "Pass", "first_name": %q, "last_name": %q, "email": %q, "price": %q}]}`,
			i, buyer, one.first, one.last, one.email, one.price, two.first, two.last, two.email, two.price)
	}
	b.WriteString(`]}`)
	ev := importJSON(t, st, b.String())

	const text = admit.SearchName | admit.SearchEmail | admit.SearchPrice
	cases := []struct {
		name          string
		q             string
		fields        admit.SearchFields
		offset, limit int
		plan          string // "" any
		has           string // a first name the page holds
	}{
		{"deep, many matches", "xu", text, 0, 50, "pair grams", "Äxuö"},
		{"deep, at an offset across buckets", "xu", text, 40, 30, "pair grams", ""},
		{"the order's email", "yi", text, 0, 50, "pair grams", "Ann"},
		{"names only: not the order's email", "yi", admit.SearchName, 0, 50, "pair grams", "Ece"},
		{"email only", "yi", admit.SearchEmail, 0, 20, "pair grams", "Ann"},
		{"an email's at sign", "o@", text, 0, 50, "pair grams", "Ivo"},
		{"a quote", "'a", text, 0, 50, "pair grams", "Ivo"},
		{"a backslash", `\s`, text, 0, 50, "pair grams", `Back\slash`},
		{"a price", "2.", text, 0, 50, "pair grams", "Lin"},
		{"a space", "n ", text, 0, 50, "walk", "Ann"},
		{"no match", "qz", text, 0, 50, "pair grams", ""},
		{"common from the first tickets: walked", "ab", text, 0, 50, "walk", "Ann"},
		{"with the uuids' starts and the products", "xu", tibilletFields, 0, 50, "pair grams", "Lin"},
	}
	for _, c := range cases {
		for _, walk := range []bool{true, false} {
			name := c.name
			if !walk {
				name += ", without the walk"
			}
			t.Run(name, func(t *testing.T) {
				defer sqlstore.SearchWalk(walk)()
				flt := admit.TicketFilter{EventID: ev, Query: c.q, Fields: c.fields, OrderBy: admit.OrderByLastName,
					Offset: c.offset, Limit: c.limit}
				mode, _, _, err := st.SearchPlan(ctx, flt)
				if err != nil {
					t.Fatal(err)
				}
				want := c.plan
				if !walk && want == "walk" {
					want = "pair grams"
				}
				if want != "" && mode != want {
					t.Errorf("plan %q, want %q", mode, want)
				}
				got, _, err := st.FindTickets(ctx, flt)
				if err != nil {
					t.Fatal(err)
				}
				if oracle := exactPage(t, db, ev, flt); !slices.Equal(ticketIDs(got), oracle) {
					t.Errorf("page %v, want %v", ticketIDs(got), oracle)
				}
				if c.has != "" && !slices.ContainsFunc(got, func(tk *admit.Ticket) bool { return tk.FirstName == c.has }) {
					t.Errorf("no %s on the page", c.has)
				}
			})
		}
	}
}

// postgresStoreAndDB opens a store on a new PostgreSQL database, and the
// database itself, for the exact predicate's pages; both closed at the
// test's end.
func postgresStoreAndDB(t *testing.T) (*sqlstore.Store, *sql.DB) {
	t.Helper()
	dsn := createDatabase(t, postgresServer(t))
	st, err := sqlstore.Open(context.Background(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return st, db
}

// exactPage returns the ids of flt's page (its query, fields, offset and
// limit, in last-name order, or by id) by the exact predicate over every
// ticket of event ev and its order and product, without an index of the
// search.
func exactPage(t *testing.T, db *sql.DB, ev int64, flt admit.TicketFilter) []int64 {
	t.Helper()
	has := func(expr string) string { return `strpos(lower(` + expr + `), $2) > 0` }
	starts := func(expr string) string { return `starts_with(lower(` + expr + `), $2)` }
	var or []string
	if flt.Fields&admit.SearchName != 0 {
		or = append(or, has(`t.first_name || ' ' || t.last_name`))
	}
	if flt.Fields&admit.SearchEmail != 0 {
		or = append(or, has(`t.email`), has(`o.email`))
	}
	if flt.Fields&admit.SearchPrice != 0 {
		or = append(or, has(`t.price`))
	}
	if flt.Fields&admit.SearchProduct != 0 {
		or = append(or, has(`p.name`))
	}
	if flt.Fields&admit.SearchUUIDPrefix != 0 {
		or = append(or, starts(`t.uuid`))
	}
	if flt.Fields&admit.SearchOrderUUIDPrefix != 0 {
		or = append(or, starts(`o.uuid`))
	}
	order := "lower(t.last_name), t.id"
	if flt.OrderBy == admit.OrderByID {
		order = "t.id"
	}
	rows, err := db.QueryContext(context.Background(), `SELECT t.id FROM tickets t JOIN orders o ON o.id = t.order_id
		JOIN products p ON p.id = t.product_id WHERE t.event_id = $1 AND (`+strings.Join(or, " OR ")+`)
		ORDER BY `+order+` OFFSET $3 LIMIT $4`, ev, strings.ToLower(flt.Query), flt.Offset, flt.Limit)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

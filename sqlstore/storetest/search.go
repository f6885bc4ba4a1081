package storetest

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/admitdev/admit"
)

// The search's edges on the fixture: wildcards taken literally, one and two
// character queries (no trigram to look up), a name across first and last
// name, case, the order's email and uuid, odd characters.
func testFindTicketsSearchEdges(t *testing.T, st admit.Store) {
	res, _ := setup(t, st)
	ev := res.Event.ID
	alice := res.Tickets[tAlice]
	all := admit.SearchFields(0)
	checkSearches(ctx, t, st, ev, []searchCase{
		{"a name across first and last name", "e mar", admit.SearchName, pick(res, tAlice)},
		{"an uppercase query", "MARTIN", admit.SearchName, pick(res, tAlice, tBob)},
		{"a mixed-case query", "DuPoNt", admit.SearchName, pick(res, tCarol)},
		{"a two-character name query", "ma", admit.SearchName, pick(res, tAlice, tBob)},
		{"a two-character query inside a name", "ol", admit.SearchName, pick(res, tCarol, tEve)},
		{"a one-character query", "z", admit.SearchName, pick(res, tEve)},
		{"a one-character order code prefix", "a", admit.SearchOrderCodePrefix, pick(res, tAlice, tShirt, tBob)},
		{"a two-character price query", ".0", admit.SearchPrice, pick(res, tAlice, tShirt, tBob)},
		{"a two-character product query", "sh", admit.SearchProduct, pick(res, tShirt)},
		{"an uppercase product query", "T-SH", admit.SearchProduct, pick(res, tShirt)},
		{"percent is no wildcard", "100%", admit.SearchPrice, pick(res, tCarol)},
		{"percent inside a query", "% o", admit.SearchPrice, pick(res, tCarol)},
		{"underscore is no wildcard", "f_x", admit.SearchPrice, pick(res, tCarol)},
		{"underscore does not match another character", "0%_", admit.SearchPrice, nil},
		{"two-character query with underscore", "_x", admit.SearchPrice, pick(res, tCarol)},
		{"percent in every field", "%", all, pick(res, tCarol)},
		{"the order's email", "alice@", admit.SearchEmail, pick(res, tAlice, tShirt, tBob)},
		{"a whole email", "BOB@example.com", admit.SearchEmail, pick(res, tBob)},
		{"an email of another domain", "bob@example.org", admit.SearchEmail, nil},
		{"digits and more", "100% off", admit.SearchPrice, pick(res, tCarol)},
		{"digits and something else", "100% on", admit.SearchPrice, nil},
		{"a price's digits, then more", "50.00 eur", admit.SearchPrice, nil},
		{"a price's digits", "50.00", admit.SearchPrice, pick(res, tAlice)},
		{"every field when none is chosen", "dupont", all, pick(res, tCarol)},
		{"a query longer than any field", "alice martin and more", admit.SearchName, nil},
		{"a repeated trigram", "aaaa", all, nil},
		{"a double quote", `ali"ce`, all, nil},
		{"a quoted query", `"alice"`, all, nil},
		{"FTS syntax is text", "alice OR bob", all, nil},
		{"a NUL character", "ali\x00ce", all, nil},
		{"invalid UTF-8", "ali\xffce", all, nil},
		{"an uppercase secret prefix", strings.ToUpper(alice.Secret[:6]), admit.SearchSecretPrefix, pick(res, tAlice)},
		{"a whole uppercase uuid", strings.ToUpper(alice.UUID), admit.SearchUUIDPrefix, pick(res, tAlice)},
		{"an uppercase order uuid prefix", strings.ToUpper(alice.OrderUUID[:8]), admit.SearchOrderUUIDPrefix, pick(res, tAlice, tShirt, tBob)},
		{"a uuid prefix is no infix", alice.UUID[1:9], admit.SearchUUIDPrefix, nil},
		{"only spaces", "   ", admit.SearchName, nil},
		// Two characters that few tickets have (PostgreSQL looks up the
		// pairs of characters of the ticket's fields in one text, of its
		// order's email in another: a pair across two fields is no match).
		{"a rare pair", "zo", admit.SearchName, pick(res, tEve)},
		{"an uppercase rare pair", "ZO", admit.SearchName | admit.SearchEmail, pick(res, tEve)},
		{"a pair across name and price", " 5", admit.SearchName | admit.SearchEmail | admit.SearchPrice, nil},
		{"a pair across name and email", " b", admit.SearchName | admit.SearchEmail | admit.SearchPrice, nil},
		{"a pair across email and price", "m ", admit.SearchName | admit.SearchEmail | admit.SearchPrice, nil},
		{"a pair across first and last name", " d", admit.SearchName, pick(res, tCarol, tDan)},
		{"a pair with a space", "b ", admit.SearchName, pick(res, tBob)},
		{"a pair of the order's email", "e@", admit.SearchEmail, pick(res, tAlice, tShirt, tBob, tEve)},
		{"a pair of the ticket's email", "b@", admit.SearchEmail, pick(res, tBob)},
		{"a pair of the order's email, not of its name", "e@", admit.SearchName, nil},
		{"a pair with a percent", "% ", admit.SearchPrice, pick(res, tCarol)},
		{"a pair with an underscore", "f_", admit.SearchPrice | admit.SearchName, pick(res, tCarol)},
		{"a pair nobody has", "qz", admit.SearchFields(0), nil},
		{"a pair with a newline", "a\n", admit.SearchFields(0), nil},
	})
	// A page in last-name order (TiBillet's search), both ways.
	tibillet := admit.SearchUUIDPrefix | admit.SearchName | admit.SearchEmail | admit.SearchPrice | admit.SearchProduct | admit.SearchOrderUUIDPrefix
	for _, c := range []struct {
		name          string
		desc          bool
		limit, offset int
		want          []int64
	}{
		{"first of two Martins", false, 1, 0, pick(res, tAlice)},
		{"second of two Martins", false, 1, 1, pick(res, tBob)},
		{"both Martins", false, 50, 0, pick(res, tAlice, tBob)},
		{"descending", true, 2, 0, pick(res, tBob, tAlice)},
	} {
		got, _, err := st.FindTickets(ctx, admit.TicketFilter{EventID: ev, Query: "martin", Fields: tibillet,
			OrderBy: admit.OrderByLastName, Desc: c.desc, Limit: c.limit, Offset: c.offset})
		must(t, err)
		if !slices.Equal(ticketIDs(got), c.want) {
			t.Errorf("%s: %v, want %v", c.name, ticketIDs(got), c.want)
		}
	}
	testFindTicketsSearchShort(t, st)
}

// One and two character queries (shorter than a trigram: SQLite looks up
// the trigrams that start with them) find what they contain at the end of a
// field, in its middle, a field that is the query, and nothing else.
func testFindTicketsSearchShort(t *testing.T, st admit.Store) {
	f := &admit.ImportFile{
		Organizer: admit.ImportOrganizer{Slug: "short", Name: "Short"},
		Event:     admit.ImportEvent{Slug: "short", Name: "Short", Timezone: "UTC"},
		Products:  []admit.ImportProduct{{Name: "Entry"}},
		Lists:     []admit.ImportList{{Name: "Main", Default: true}},
		Orders: []admit.ImportOrder{
			{Code: "S1", Status: "paid", Email: "orders@shop.example", Tickets: []admit.ImportTicket{
				{Product: "Entry", FirstName: "Wei", LastName: "Xu", Email: "wei.li@example.org", Price: "10"},
				{Product: "Entry", FirstName: "Bo", LastName: "Lexus", Email: "bo@mail.xu", Price: "110"},
			}},
			{Code: "S2", Status: "paid", Email: "buyer@mail.iq", Tickets: []admit.ImportTicket{
				{Product: "Entry", FirstName: "Xu", LastName: "Li", Price: "Free"},
				{Product: "Entry", FirstName: "Ann", LastName: "Ux", Email: "ux@example.org", Price: "1.0"},
				{Product: "Entry", FirstName: "Eve", LastName: "Q", Email: "eve@example.org", Price: "5 EUR"},
				{Product: "Entry", FirstName: "Jürgen", LastName: "öz", Email: "j@example.org", Price: "Ü"},
			}},
		},
	}
	if err := f.Validate(); err != nil {
		t.Fatalf("validate the short search event: %v", err)
	}
	res := importFile(t, st, f, options(t, t0))
	ev := res.Event.ID
	const (
		wei    = iota // Wei Xu
		bo            // Bo Lexus
		xu            // Xu Li
		ann           // Ann Ux
		eve           // Eve Q
		jurgen        // Jürgen öz
	)
	all := admit.SearchName | admit.SearchEmail | admit.SearchPrice
	checkSearches(ctx, t, st, ev, []searchCase{
		{"a last name that is the query, inside one, a first name that is it", "xu", admit.SearchName, pick(res, wei, bo, xu)},
		{"uppercase, in any field", "XU", all, pick(res, wei, bo, xu)},
		{"an email that ends with the query", "xu", admit.SearchEmail, pick(res, bo)},
		{"the same characters the other way round", "ux", admit.SearchName, pick(res, ann)},
		{"inside an email", "o@", admit.SearchEmail, pick(res, bo)},
		{"the order's email, at its end", "iq", admit.SearchEmail, pick(res, xu, ann, eve, jurgen)},
		{"a price that is the query, one that ends with it", "10", admit.SearchPrice, pick(res, wei, bo)},
		{"a one-character price query", "0", admit.SearchPrice, pick(res, wei, bo, ann)},
		{"a one-character last name", "q", admit.SearchName, pick(res, eve)},
		{"a one-character query at the end of an email", "q", admit.SearchEmail, pick(res, xu, ann, eve, jurgen)},
		{"a space and a letter", " l", admit.SearchName, pick(res, bo, xu)},
		{"a letter and a space", "i ", admit.SearchName, pick(res, wei)},
		{"no such pair", "qx", all, nil},
		{"non-ASCII, at the end", "öz", admit.SearchName, pick(res, jurgen)},
		{"non-ASCII, one character", "ü", all, pick(res, jurgen)},
		{"a control character is no text", "\x01", all, nil},
		{"a control character after a letter", "u\x01", all, nil},
	})
	// TiBillet's page: in last-name order (Lexus, Li, Xu), both ways.
	tibillet := admit.SearchUUIDPrefix | admit.SearchName | admit.SearchEmail | admit.SearchPrice | admit.SearchProduct | admit.SearchOrderUUIDPrefix
	for _, c := range []struct {
		q             string
		desc          bool
		limit, offset int
		want          []int64
	}{
		{"xu", false, 50, 0, pick(res, bo, xu, wei)},
		{"Xu", true, 50, 0, pick(res, wei, xu, bo)},
		{"xu", false, 1, 1, pick(res, xu)},
		{"10", false, 50, 0, pick(res, bo, wei)},
		{"q", false, 50, 0, pick(res, xu, eve, ann, jurgen)}, // Li, Q, Ux, öz
	} {
		got, _, err := st.FindTickets(ctx, admit.TicketFilter{EventID: ev, Query: c.q, Fields: tibillet,
			OrderBy: admit.OrderByLastName, Desc: c.desc, Limit: c.limit, Offset: c.offset})
		must(t, err)
		if !slices.Equal(ticketIDs(got), c.want) {
			t.Errorf("page of %q (desc %v, %d at %d): %v, want %v", c.q, c.desc, c.limit, c.offset, ticketIDs(got), c.want)
		}
	}
}

// searchLastNames share first characters (the SQLite index orders its
// candidates by the first four), differ in case, and include lowercase
// non-ASCII letters (every engine lowercases ASCII alike; SQLite leaves
// other letters as they are).
var searchLastNames = []string{"Martin", "MARTINEZ", "martin", "Mart", "Marta", "Martín", "Engel", "Engelbert",
	"Xu", "Zimmermann", "Abadie", "Du", "", "Ullmann", "müller", "Maartin"}

var searchFirstNames = []string{"Alice", "Bob", "Tin", "Martina", "Eve", "élodie", "Zoé", "Ann", "X"}

// searchCase is a search and the tickets it must find, in any order.
type searchCase struct {
	name   string
	q      string
	fields admit.SearchFields
	want   []int64
}

// checkSearches runs each case over event ev, counting too.
func checkSearches(ctx context.Context, t *testing.T, st admit.Store, ev int64, cases []searchCase) {
	t.Helper()
	for _, c := range cases {
		got, n, err := st.FindTickets(ctx, admit.TicketFilter{EventID: ev, Query: c.q, Fields: c.fields, Count: true})
		if err != nil {
			t.Errorf("%s: search %q: %v", c.name, c.q, err)
			continue
		}
		if !sameSet(ticketIDs(got), c.want) || n != len(c.want) {
			t.Errorf("%s: search %q in %b: %v (%d), want %v", c.name, c.q, c.fields, ticketIDs(got), n, c.want)
		}
	}
}

// searchEvent returns an event of n tickets (and a few add-ons) in orders of
// one to three, whose names, emails, products and prices make the searches
// below find many tickets, in many orders.
func searchEvent(t *testing.T, n int) *admit.ImportFile {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 5))
	yes, no := true, false
	f := &admit.ImportFile{
		Organizer: admit.ImportOrganizer{Slug: "org", Name: "Org"},
		Event:     admit.ImportEvent{Slug: "search", Name: "Search", Timezone: "UTC"},
		Sections:  []admit.ImportSection{{Name: "Floor"}, {Name: "Balcony"}},
		Products: []admit.ImportProduct{{Name: "Entry", Admission: &yes}, {Name: "T-shirt Martin", Admission: &no},
			{Name: "VIP", Admission: &yes}},
		Lists: []admit.ImportList{{Name: "Main", Products: []string{"Entry", "VIP"}, Default: true}},
	}
	prices := []string{"General", "VIP Martin special", "10% off", "Reduced_1", ""}
	statuses := []string{"paid", "paid", "paid", "pending", "canceled"}
	person := func(i int) (first, last, email string) {
		first = searchFirstNames[rng.IntN(len(searchFirstNames))]
		last = searchLastNames[rng.IntN(len(searchLastNames))]
		switch rng.IntN(4) {
		case 0: // no email of the ticket's own
		case 1:
			email = asciiUpper(first) + "." + last + "." + strconv.Itoa(i) + "@Example.org"
		default:
			email = strings.ToLower(first+"."+last) + "." + strconv.Itoa(i) + "@example.org"
		}
		return first, last, email
	}
	for i, o := 0, 0; i < n; o++ {
		size := min(1+rng.IntN(3), n-i)
		_, _, oemail := person(i)
		ord := admit.ImportOrder{Code: fmt.Sprintf("O%dx", o), Status: statuses[rng.IntN(len(statuses))], Email: oemail}
		for range size {
			first, last, email := person(i)
			tk := admit.ImportTicket{Product: "Entry", Price: prices[rng.IntN(len(prices))], FirstName: first,
				LastName: last, Email: email, Section: f.Sections[rng.IntN(2)].Name, Blocked: rng.IntN(20) == 0}
			switch rng.IntN(10) {
			case 0:
				tk.Product = "VIP"
			case 1:
				tk.Addons = []admit.ImportTicket{{Product: "T-shirt Martin", Price: "Merch"}}
			}
			ord.Tickets = append(ord.Tickets, tk)
			i++
		}
		f.Orders = append(f.Orders, ord)
	}
	if err := f.Validate(); err != nil {
		t.Fatalf("validate the search event: %v", err)
	}
	return f
}

// asciiUpper uppercases the ASCII letters of s (the other letters are
// lowercased alike by no two engines).
func asciiUpper(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

// searchMatches is the search's definition, on a ticket as read back.
func searchMatches(tk *admit.Ticket, q string, fields admit.SearchFields) bool {
	if fields == 0 {
		fields = ^admit.SearchFields(0)
	}
	q = strings.ToLower(q)
	has := func(f admit.SearchFields, s string, prefix bool) bool {
		if fields&f == 0 {
			return false
		}
		s = strings.ToLower(s)
		if prefix {
			return strings.HasPrefix(s, q)
		}
		return strings.Contains(s, q)
	}
	return has(admit.SearchName, tk.FirstName+" "+tk.LastName, false) ||
		has(admit.SearchEmail, tk.Email, false) || has(admit.SearchEmail, tk.OrderEmail, false) ||
		has(admit.SearchOrderCodePrefix, tk.OrderCode, true) || has(admit.SearchSecretPrefix, tk.Secret, true) ||
		has(admit.SearchUUIDPrefix, tk.UUID, true) || has(admit.SearchOrderUUIDPrefix, tk.OrderUUID, true) ||
		has(admit.SearchProduct, tk.ProductName, false) || has(admit.SearchPrice, tk.Price, false)
}

// Searches over a thousand tickets, in every order and page, with other
// filters, give what the search's definition gives read from every
// ticket: the indexes find every match and nothing else, and a page in
// last-name order is the right page even where it ends among many tickets
// whose last names start alike.
func testFindTicketsSearchPages(t *testing.T, st admit.Store) {
	res := importFile(t, st, searchEvent(t, 400), options(t, t0))
	ev := res.Event.ID
	list, err := st.DefaultList(ctx, ev)
	must(t, err)
	all, _, err := st.FindTickets(ctx, admit.TicketFilter{EventID: ev})
	must(t, err)
	admissible, _, err := st.FindTickets(ctx, admit.TicketFilter{EventID: ev, List: list, Admissible: true})
	must(t, err)
	inList := map[int64]bool{}
	for _, tk := range admissible {
		inList[tk.ID] = true
	}
	some := all[len(all)/2]
	emailStart := "nobody."
	for _, tk := range all[len(all)/4:] {
		if i := strings.LastIndex(tk.Email, "."); i > 0 && strings.Count(tk.Email[:i], ".") > 0 {
			emailStart = tk.Email[:i]
			break
		}
	}
	email := "nobody@example.org"
	for _, tk := range all[len(all)/3:] {
		if strings.ContainsAny(tk.Email, "0123456789") {
			email = strings.ToUpper(tk.Email)
			break
		}
	}
	tibillet := admit.SearchUUIDPrefix | admit.SearchName | admit.SearchEmail | admit.SearchPrice | admit.SearchProduct | admit.SearchOrderUUIDPrefix
	pretixdroid := admit.SearchSecretPrefix | admit.SearchName | admit.SearchOrderCodePrefix
	queries := []string{"martin", "MART", "art", "engel", "xu", "tin m", "zimm", "0%", "_1", "ü", "martín", "x",
		"example", email, "7@example.org", some.UUID[:5], strings.ToUpper(some.Secret[:4]), "o1", "shirt", "nobody",
		// Short queries that match many tickets (a page found by walking the
		// tickets in order), LIKE's wildcards alone, an email's start with dots.
		"a", "E", "e.", "%", "_", ".", "\\", emailStart,
		// The start of a uuid as short: few name matches, many uuid ones.
		some.UUID[:1], some.UUID[:2]}
	type page struct {
		fields        admit.SearchFields
		order         admit.TicketOrder
		desc          bool
		limit, offset int
		count, listed bool
	}
	pages := []page{
		{tibillet, admit.OrderByLastName, false, 50, 0, false, false}, // TiBillet's search
		{tibillet, admit.OrderByLastName, false, 50, 0, false, true},
		{pretixdroid, admit.OrderByLastName, true, 7, 13, false, false},
		{pretixdroid, admit.OrderByID, false, 25, 0, false, true}, // pretixdroid's
		{0, admit.OrderByLastName, false, 10, 0, true, false},
		{tibillet, admit.OrderByLastName, true, 5, 2, false, true}, // a short page, some tickets not in the list
	}
	more := map[string][]page{ // longer pages, another order
		"martin": {{tibillet, admit.OrderByLastName, false, 300, 0, false, false}},
		"art":    {{0, admit.OrderByLastName, true, 300, 0, false, false}},
		"engel":  {{tibillet, admit.OrderByFirstName, true, 20, 5, true, false}},
	}
	keys := map[admit.TicketOrder]func(tk *admit.Ticket) string{
		admit.OrderByID:        func(*admit.Ticket) string { return "" },
		admit.OrderByLastName:  func(tk *admit.Ticket) string { return strings.ToLower(tk.LastName) },
		admit.OrderByFirstName: func(tk *admit.Ticket) string { return strings.ToLower(tk.FirstName) },
	}
	calls := 0
	for _, q := range queries {
		for _, p := range append(pages, more[q]...) {
			f := admit.TicketFilter{EventID: ev, Query: q, Fields: p.fields, OrderBy: p.order, Desc: p.desc,
				Limit: p.limit, Offset: p.offset, Count: p.count, StateListID: list.ID}
			if p.listed {
				f.List, f.Admissible = list, true
			}
			var want []*admit.Ticket
			for _, tk := range all {
				if searchMatches(tk, q, p.fields) && (!p.listed || inList[tk.ID]) {
					want = append(want, tk)
				}
			}
			key := keys[p.order]
			slices.SortFunc(want, func(a, b *admit.Ticket) int {
				c := cmp.Or(strings.Compare(key(a), key(b)), cmp.Compare(a.ID, b.ID))
				if p.desc {
					return -c
				}
				return c
			})
			total := len(want)
			want = want[min(p.offset, len(want)):]
			want = want[:min(p.limit, len(want))]
			got, n, err := st.FindTickets(ctx, f)
			calls++
			what := fmt.Sprintf("search %q, %+v", q, p)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if !slices.Equal(ticketIDs(got), ticketIDs(want)) {
				t.Errorf("%s: %d tickets %v, want %d %v", what, len(got), ticketIDs(got), len(want), ticketIDs(want))
			}
			if p.count && n != total {
				t.Errorf("%s: total %d, want %d", what, n, total)
			}
		}
	}
	if calls == 0 {
		t.Fatal("no search ran")
	}
}

// After a re-import that renames tickets, changes their email, price or
// order email, the search finds the new values and not the old ones.
func testFindTicketsSearchReimport(t *testing.T, st admit.Store) {
	res, _ := setup(t, st)
	ev := res.Event.ID
	search := func(q string) []int64 {
		t.Helper()
		got, _, err := st.FindTickets(ctx, admit.TicketFilter{EventID: ev, Query: q,
			Fields: admit.SearchName | admit.SearchEmail | admit.SearchPrice, OrderBy: admit.OrderByLastName, Limit: 50})
		must(t, err)
		return ticketIDs(got)
	}
	if got := search("martin"); !sameSet(got, pick(res, tAlice, tBob)) {
		t.Fatalf("before: %v", got)
	}
	importFile(t, st, fixture(t, func(f *admit.ImportFile) {
		f.Orders[0].Email = "ana@example.net"               // order A1: alice, shirt, bob
		f.Orders[0].Tickets[0].LastName = "Smith"           // alice
		f.Orders[0].Tickets[1].Email = "robert@example.net" // bob
		f.Orders[1].Tickets[0].Price = "Complimentary"      // carol
		f.Orders[3].Tickets[0].FirstName = "Evangeline"     // eve
		f.Orders[2].Tickets[0].LastName = "Martinez-Durand" // dan
	}), options(t, t0.Add(1)))
	for _, c := range []struct {
		q    string
		want []int64
	}{
		{"martin", pick(res, tBob, tDan)},
		{"alice smith", pick(res, tAlice)},
		{"ana@example", pick(res, tAlice, tShirt, tBob)},
		{"alice@", nil},
		{"robert@", pick(res, tBob)},
		{"bob@", nil},
		{"complimentary", pick(res, tCarol)},
		{"100%", nil},
		{"evangeline", pick(res, tEve)},
	} {
		if got := search(c.q); !sameSet(got, c.want) {
			t.Errorf("after the re-import, %q: %v, want %v", c.q, got, c.want)
		}
	}
}

// RunSearch runs the search tests alone, on stores whose open function
// prepares something of its own (ids past 2^31, a database without the
// search indexes).
func RunSearch(t *testing.T, open func(t *testing.T) admit.Store) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, st admit.Store)
	}{
		{"Search", testFindTicketsSearch},
		{"SearchEdges", testFindTicketsSearchEdges},
		{"SearchPages", testFindTicketsSearchPages},
		{"SearchReimport", testFindTicketsSearchReimport},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

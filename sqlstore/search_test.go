package sqlstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/bench"
	"github.com/admitdev/admit/sqlstore"
	"github.com/admitdev/admit/sqlstore/storetest"
)

// Ticket ids of 2^31 and above do not fit beside the last name's code in
// the SQLite search index's rowid (see migration 00003): they are stored
// apart, and searches still find them, in order.
func TestSQLiteSearchFindsTicketIDsPast2To31(t *testing.T) {
	storetest.RunSearch(t, func(t *testing.T) admit.Store {
		st := openSQLite(t)
		w, _ := st.(*sqlstore.Store).DBs()
		// A ticket of another event with id 2^31 - 150: the next ones
		// imported go on from there, past 2^31.
		for _, q := range []string{
			`INSERT INTO organizers (id, slug, name) VALUES (9000, 'other', 'Other')`,
			`INSERT INTO events (id, uuid, organizer_id, slug, name, timezone, signing, public_key_pem, created_at)
				VALUES (9000, 'other-event', 9000, 'other', 'Other', 'UTC', 'ed25519', '', 0)`,
			`INSERT INTO orders (id, event_id, code, uuid, status, created_at, updated_at) VALUES (9000, 9000, 'X', 'x', 'paid', 0, 0)`,
			`INSERT INTO products (id, event_id, name) VALUES (9000, 9000, 'Other')`,
			`INSERT INTO tickets (id, uuid, secret, serial, event_id, order_id, product_id, position, last_name, created_at, updated_at)
				VALUES (2147483498, 'other-ticket', 's', 's', 9000, 9000, 9000, 0, 'Martin', 0, 0)`,
		} {
			if _, err := w.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		return st
	})
}

const searchFileJSON = `{
  "organizer": {"slug": "org"},
  "event": {"slug": "fest"},
  "products": [{"name": "Pass"}],
  "orders": [
    {"code": "A1", "email": "alice@example.com", "tickets": [
      {"product": "Pass", "first_name": "Alice", "last_name": "Martin", "price": "VIP"},
      {"product": "Pass", "first_name": "Bob", "last_name": "Martinez", "email": "bob@example.com"}]},
    {"code": "B2", "email": "carol@example.com", "tickets": [
      {"product": "Pass", "first_name": "Carol", "last_name": "Dupont"}]}
  ]
}`

// importNew imports f into st as a new event (keys made for it), or fails
// the test.
func importNew(t *testing.T, st admit.Store, f *admit.ImportFile) *admit.ImportResult {
	t.Helper()
	kp, _ := admit.GenerateKeyPair(admit.SigningEd25519)
	res, err := st.Import(context.Background(), f, admit.ImportOptions{NewKeys: kp})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// openSearchFile opens the database dsn and imports searchFileJSON into it
// as a new event, or fails the test; the caller closes the store.
func openSearchFile(t *testing.T, dsn string) (*sqlstore.Store, *admit.ImportResult) {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := admit.ParseImport(strings.NewReader(searchFileJSON))
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	return st, importNew(t, st, f)
}

// newDatabases returns, for each engine, a function that makes a new
// database for a test and returns its DSN.
func newDatabases() map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"SQLite":     func(t *testing.T) string { return filepath.Join(t.TempDir(), "admit.db") },
		"PostgreSQL": func(t *testing.T) string { return createDatabase(t, postgresServer(t)) },
	}
}

// searchNames runs a TiBillet-shaped search (last-name order, a page) and
// a counted one, and returns the names found.
func searchNames(t *testing.T, st admit.Store, eventID int64, q string) []string {
	t.Helper()
	ctx := context.Background()
	fields := admit.SearchName | admit.SearchEmail | admit.SearchPrice | admit.SearchUUIDPrefix | admit.SearchOrderUUIDPrefix
	page, _, err := st.FindTickets(ctx, admit.TicketFilter{EventID: eventID, Query: q, Fields: fields,
		OrderBy: admit.OrderByLastName, Limit: 50})
	if err != nil {
		t.Fatalf("search %q: %v", q, err)
	}
	counted, n, err := st.FindTickets(ctx, admit.TicketFilter{EventID: eventID, Query: q, Fields: fields,
		OrderBy: admit.OrderByLastName, Limit: 50, Count: true})
	if err != nil {
		t.Fatalf("counted search %q: %v", q, err)
	}
	var names []string
	for _, tk := range page {
		names = append(names, tk.FirstName)
	}
	var again []string
	for _, tk := range counted {
		again = append(again, tk.FirstName)
	}
	if !slices.Equal(names, again) || n != len(names) {
		t.Errorf("search %q: %v, counted %v (%d)", q, names, again, n)
	}
	return names
}

// uniquePrefix returns the shortest prefix of u, of 6 characters or more,
// that starts none of others. An import draws its uuids in sorted runs
// (sqlstore's pool), so the tickets of one import are neighbours and two of
// them may share their first 6 characters (about once in 256 pairs).
func uniquePrefix(u string, others ...string) string {
	for n := 6; n < len(u); n++ {
		if !slices.ContainsFunc(others, func(o string) bool { return strings.HasPrefix(o, u[:n]) }) {
			return u[:n]
		}
	}
	return u
}

// A database made before migration 00003 (here: rolled back to 00002) is
// searched alike once migrated: the migration fills the search index from
// the tickets already there.
func TestSearchMigrationBackfillsExistingTickets(t *testing.T) {
	for name, dsn := range newDatabases() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			dsn := dsn(t)
			st, res := openSearchFile(t, dsn)
			ev := res.Event.ID
			queries := map[string][]string{
				"martin":   {"Alice", "Bob"},
				"MARTINEZ": {"Bob"},
				"example":  {"Carol", "Alice", "Bob"}, // Dupont, Martin, Martinez
				"carol@":   {"Carol"},
				"vip":      {"Alice"},
				"du":       {"Carol"},
				"ez":       {"Bob"},                   // the end of Martinez
				"om":       {"Carol", "Alice", "Bob"}, // of the emails
				"ip":       {"Alice"},                 // of the price VIP
				"z":        {"Bob"},
				"n":        {"Carol", "Alice", "Bob"},
				uniquePrefix(res.Tickets[2].UUID, res.Tickets[0].UUID, res.Tickets[1].UUID): {"Carol"},
			}
			for q, want := range queries {
				if got := searchNames(t, st, ev, q); !slices.Equal(got, want) {
					t.Fatalf("before: %q: %v, want %v", q, got, want)
				}
			}
			// 00003 made the index, 00004 made it again for short queries.
			for _, v := range []int64{2, 3} {
				if err := st.MigrateDownTo(ctx, v); err != nil {
					t.Fatalf("migrate down to %d: %v", v, err)
				}
				st.Close()
				var err error
				st, err = sqlstore.Open(ctx, dsn, nil)
				if err != nil {
					t.Fatalf("open, migrating up again from %d: %v", v, err)
				}
				for q, want := range queries {
					if got := searchNames(t, st, ev, q); !slices.Equal(got, want) {
						t.Errorf("after the back-fill from %d: %q: %v, want %v", v, q, got, want)
					}
				}
			}
			st.Close()
		})
	}
}

// Where the database user may not create pg_trgm, the store still opens
// (no trigram index: search reads the event's tickets), warns, and every
// search answers the same; once the extension exists, the next start
// creates the indexes.
func TestPostgresSearchWithoutPgTrgm(t *testing.T) {
	server := postgresServer(t)
	dsn := createDatabase(t, server)
	ctx := context.Background()
	dbURL, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var b [6]byte
	rand.Read(b[:])
	role := "admit_test_role_" + hex.EncodeToString(b[:])
	// A role that may create tables in the database's schema, not
	// extensions in the database.
	for _, q := range []string{
		`CREATE ROLE ` + role + ` LOGIN`,
		`GRANT USAGE, CREATE ON SCHEMA public TO ` + role,
	} {
		if _, err := admin.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		srv, err := sql.Open("pgx", server)
		if err != nil {
			t.Error(err)
			return
		}
		defer srv.Close()
		// The role owns the database's tables: the database goes first.
		for _, q := range []string{`DROP DATABASE IF EXISTS ` + strings.TrimPrefix(dbURL.Path, "/") + ` WITH (FORCE)`, `DROP ROLE IF EXISTS ` + role} {
			if _, err := srv.ExecContext(context.Background(), q); err != nil {
				t.Errorf("%s: %v", q, err)
			}
		}
	})
	roleURL := *dbURL
	roleURL.User = url.User(role)
	roleDSN := roleURL.String()

	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	st, err := sqlstore.Open(ctx, roleDSN, logger)
	if err != nil {
		t.Fatalf("open as %s: %v", role, err)
	}
	st.Close()
	if !strings.Contains(logs.String(), "pg_trgm") {
		t.Errorf("no warning about pg_trgm in the log:\n%s", logs.String())
	}
	first := true
	storetest.RunSearch(t, func(t *testing.T) admit.Store {
		if !first {
			if err := emptyTables(admin); err != nil {
				t.Fatalf("empty tables: %v", err)
			}
		}
		first = false
		st, err := sqlstore.Open(ctx, roleDSN, nil)
		if err != nil {
			t.Fatalf("open as %s: %v", role, err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	})
	countIndexes := func() int {
		var n int
		if err := admin.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_indexes WHERE indexname LIKE '%search%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := countIndexes(); n != 0 {
		t.Fatalf("%d trigram indexes without pg_trgm", n)
	}
	// The extension made by someone allowed to: the next start indexes.
	if _, err := admin.ExecContext(ctx, `CREATE EXTENSION pg_trgm`); err != nil {
		t.Fatal(err)
	}
	st, err = sqlstore.Open(ctx, roleDSN, logger)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if n := countIndexes(); n != 5 { // migration 00003's four, 00018's one
		t.Errorf("%d trigram indexes after a start with pg_trgm, want 5", n)
	}
}

// An import of many tickets leaves nothing in the trigram indexes' pending
// lists (which every search would read whole until the next vacuum).
func TestPostgresImportLeavesNoPendingTrigrams(t *testing.T) {
	dsn := createDatabase(t, postgresServer(t))
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var b strings.Builder
	b.WriteString(`{"organizer": {"slug": "org"}, "event": {"slug": "big"}, "products": [{"name": "Pass"}], "orders": [`)
	for i := range 1500 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"code": "O%d", "email": "buyer.%d@example.org", "tickets": [{"product": "Pass", "first_name": "Ann",
			"last_name": "Lee %d", "email": "ann.%d@example.org", "price": "Price %d"}]}`, i, i, i, i, i%7)
	}
	b.WriteString(`]}`)
	f, err := admit.ParseImport(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	res := importNew(t, st, f)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, ix := range []string{"tickets_search_name", "tickets_search_email", "tickets_search_price", "orders_search_email",
		"tickets_pair_grams", "orders_email_pairs", "tickets_search_grams"} {
		var pages int64
		if err := db.QueryRowContext(ctx, `SELECT gin_clean_pending_list($1::regclass)`, ix).Scan(&pages); err != nil {
			t.Fatal(err)
		}
		if pages != 0 {
			t.Errorf("%s: %d pending pages after the import", ix, pages)
		}
	}
	if got := searchNames(t, st, res.Event.ID, "lee 1234"); !slices.Equal(got, []string{"Ann"}) {
		t.Errorf("search after the import: %v", got)
	}
}

// The search conformance without the walk of a short query's page: one
// and two characters found by the indexes (SQLite: the trigrams that start
// with them; PostgreSQL: the pairs of characters, migration 00014) or by
// reading the tickets, the same answers.
func TestSearchWithoutTheWalk(t *testing.T) {
	defer sqlstore.SearchWalk(false)()
	t.Run("SQLite", func(t *testing.T) { storetest.RunSearch(t, openSQLite) })
	t.Run("Postgres", func(t *testing.T) { storetest.RunSearch(t, postgresOpener(t)) })
}

// The search conformance with SQLite's page in last-name order reading
// the "starts with" and product candidates in that order (topExtra, for
// 1,000 and more, such as the tickets whose uuid or order's uuid starts
// with two characters) whenever there are any: the same answers.
func TestSQLiteSearchReadsManyPrefixCandidatesInOrder(t *testing.T) {
	defer sqlstore.SearchTopExtraAlways(true)()
	storetest.RunSearch(t, openSQLite)
}

// On SQLite, a query of one or two ASCII characters is looked up in the
// search index, by the trigrams that start with it (migration 00004): with
// the index emptied, it finds nothing (reading the tickets, it would find
// them). Other characters, or too many trigrams, read the tickets.
func TestSQLiteShortSearchUsesTheIndex(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t).(*sqlstore.Store)
	// The index lookups, not the walk of a short query's page (tested
	// below, at the end).
	restore := sqlstore.SearchWalk(false)
	defer restore()
	// Bob's last name has 300 trigrams that start with "k".
	var long strings.Builder
	for i := range 300 {
		long.WriteString("k" + string(rune(0x4e00+i)))
	}
	f, err := admit.ParseImport(strings.NewReader(`{
  "organizer": {"slug": "org"},
  "event": {"slug": "fest"},
  "products": [{"name": "Pass"}],
  "orders": [
    {"code": "A1", "email": "alice@example.com", "tickets": [
      {"product": "Pass", "first_name": "Alice", "last_name": "Xu", "price": "10"},
      {"product": "Pass", "first_name": "Bob", "last_name": "` + long.String() + `", "email": "bob@example.com"}]},
    {"code": "B2", "email": "j@example.com", "tickets": [
      {"product": "Pass", "first_name": "Jürgen", "last_name": "Lexus"}]}
  ]
}`))
	if err != nil {
		t.Fatal(err)
	}
	res := importNew(t, st, f)
	ev := res.Event.ID
	fields := admit.SearchName | admit.SearchEmail | admit.SearchPrice
	for _, c := range []struct {
		q     string
		mode  string // of a page in last-name order ("indexed" when counted)
		short bool
		terms []string
	}{
		{"xu", "ids", true, []string{"xu\x01", "xus"}}, // Xu, Lexus
		{"XU", "ids", true, []string{"xu\x01", "xus"}},
		{"10", "ids", true, []string{"10\x01"}},
		{"u", "ids", true, []string{"u\x01\x01", "us\x01"}},
		{"x", "ids", true, []string{"xam", "xu\x01", "xus"}},
		{"m", "ids", true, []string{"m\x01\x01", "m a", "mpl"}}, // "bob@example.com alice@example.com"
		{"@e", "ids", true, []string{"@ex"}},
		{"qz", "ids", true, nil},
		{"\x01", "ids", true, nil},
		{"s\x01", "ids", true, []string{"s\x01\x01"}}, // of Lexus: not a match
		{"ü", "scan", false, nil},                     // not ASCII
		{"ür", "scan", false, nil},
		{"k", "scan", false, nil}, // 300 trigrams
		{"xus", "ids", false, nil},
	} {
		for _, count := range []bool{false, true} {
			mode, short, terms, err := st.SearchPlan(ctx, admit.TicketFilter{EventID: ev, Query: c.q, Fields: fields,
				OrderBy: admit.OrderByLastName, Limit: 50, Count: count})
			if err != nil {
				t.Fatal(err)
			}
			want := c.mode
			if count && want == "ids" {
				want = "indexed"
			}
			if mode != want || short != c.short || !slices.Equal(terms, c.terms) {
				t.Errorf("%q (count %v): %s, short %v, terms %q; want %s, short %v, terms %q", c.q, count, mode, short, terms, want, c.short, c.terms)
			}
		}
	}
	for q, want := range map[string][]string{"xu": {"Jürgen", "Alice"}, "10": {"Alice"}, "ü": {"Jürgen"}, "k": {"Bob"}, "s\x01": nil} {
		if got := searchNames(t, st, ev, q); !slices.Equal(got, want) {
			t.Errorf("%q: %v, want %v", q, got, want)
		}
	}
	w, _ := st.DBs()
	if _, err := w.Exec(`INSERT INTO ticket_search (ticket_search) VALUES ('delete-all')`); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string][]string{"xu": nil, "10": nil, "x": nil, "ü": {"Jürgen"}} {
		if got := searchNames(t, st, ev, q); !slices.Equal(got, want) {
			t.Errorf("the index emptied: %q: %v, want %v", q, got, want)
		}
	}
	// With the walk, a page of a one-character query reads the tickets, not
	// the index: the same answers as the index gave before it was emptied.
	// (Two characters: the index first, the walk only if it has many.)
	restore()
	for _, c := range []struct {
		q    string
		want []string
	}{{"ü", []string{"Jürgen"}}, {"k", []string{"Bob"}}, {"x", []string{"Bob", "Jürgen", "Alice"}}} {
		mode, _, _, err := st.SearchPlan(ctx, admit.TicketFilter{EventID: ev, Query: c.q, Fields: fields, OrderBy: admit.OrderByLastName, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		if mode != "walk" {
			t.Errorf("%q: %s, want walk", c.q, mode)
		}
		page, _, err := st.FindTickets(ctx, admit.TicketFilter{EventID: ev, Query: c.q, Fields: fields, OrderBy: admit.OrderByLastName, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, tk := range page {
			got = append(got, tk.FirstName)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("walked, the index emptied: %q: %v, want %v", c.q, got, c.want)
		}
	}
}

// On SQLite, a pair of characters whose page a walk's first chunk does not
// fill is looked up by its terms written out, uncounted: the pair and each
// ASCII character, with the index's terms of the pair whose third
// character is not ASCII. It finds what the counted terms find (the
// counted search of searchNames reads those): at a field's end, before a
// space, an "@" or a letter not ASCII, case folded.
func TestSQLitePairLookedUpByItsTermsWrittenOut(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t).(*sqlstore.Store)
	var tickets []string
	for i := range 300 { // no "an" anywhere, first in last-name order
		tickets = append(tickets, fmt.Sprintf(`{"product": "Pass", "first_name": "Kim", "last_name": "B%04d"}`, i))
	}
	for _, tk := range []string{
		`{"product": "Pass", "first_name": "Jan", "last_name": "Zeta"}`,
		`{"product": "Pass", "first_name": "Ute", "last_name": "Zanöl"}`,
		`{"product": "Pass", "first_name": "Dora", "last_name": "Zibe", "email": "dan@example.com"}`,
		`{"product": "Pass", "first_name": "Eve", "last_name": "ZANE"}`,
		`{"product": "Pass", "first_name": "Ivo", "last_name": "Zo", "price": "6 AN"}`,
	} {
		tickets = append(tickets, tk)
	}
	f, err := admit.ParseImport(strings.NewReader(`{"organizer": {"slug": "org"}, "event": {"slug": "fest"},
		"products": [{"name": "Pass"}],
		"orders": [{"code": "A1", "email": "o@example.com", "tickets": [` + strings.Join(tickets, ",") + `]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	ev := importNew(t, st, f).Event.ID
	fields := admit.SearchName | admit.SearchEmail | admit.SearchPrice | admit.SearchUUIDPrefix | admit.SearchOrderUUIDPrefix
	for _, q := range []string{"an", "AN"} {
		mode, short, terms, err := st.SearchPlan(ctx, admit.TicketFilter{EventID: ev, Query: q, Fields: fields,
			OrderBy: admit.OrderByLastName, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		if mode != "ids" || !short || len(terms) < 101 || !slices.Contains(terms, "an\x01") || !slices.Contains(terms, "anö") {
			t.Errorf("%q: %s, short %v, %d terms %q; want ids, short, the terms written out", q, mode, short, len(terms), terms)
		}
		if got, want := searchNames(t, st, ev, q), []string{"Eve", "Ute", "Jan", "Dora", "Ivo"}; !slices.Equal(got, want) {
			t.Errorf("%q: %v, want %v", q, got, want)
		}
	}
}

// After an import of many tickets, SQLite's search index is merged into
// one segment (each import, and each run of its rows, writes segments of
// its own, and every term is looked up in each) if it has enough segments
// to be worth rewriting, and the searches answer as they did unmerged.
func TestSQLiteImportMergesTheSearchIndex(t *testing.T) {
	ctx := context.Background()
	queries := []string{"novak", "rosa.", "xu", "a", "rosa novak", "example.org", "zz"}
	answers := map[string][][]string{}
	cases := []struct {
		name              string
		tickets, segments int64 // the floors
		merge             bool
	}{
		{"imports under the tickets floor", math.MaxInt64, 2, false},
		{"an index under the segments floor", 1, 100, false},
		{"over both floors", 1, 2, true},
	}
	for _, c := range cases {
		merge := c.merge
		path := filepath.Join(t.TempDir(), "admit.db")
		st, err := sqlstore.Open(ctx, path, nil)
		if err != nil {
			t.Fatal(err)
		}
		restore := sqlstore.SearchMergeFloor(c.tickets, c.segments)
		var ev int64
		for i := range 3 {
			f, err := bench.GenerateImport(300, fmt.Sprintf("merge%d", i))
			if err != nil {
				t.Fatal(err)
			}
			res := importNew(t, st, f)
			ev = res.Event.ID
		}
		restore()
		for _, q := range queries {
			page, _, err := st.FindTickets(ctx, admit.TicketFilter{EventID: ev, Query: q, OrderBy: admit.OrderByLastName, Limit: 50})
			if err != nil {
				t.Fatalf("search %q: %v", q, err)
			}
			var got []string
			for _, tk := range page {
				got = append(got, tk.FirstName+" "+tk.LastName+" "+tk.Email)
			}
			answers[c.name] = append(answers[c.name], got)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		var segments int
		err = db.QueryRow(`SELECT COUNT(DISTINCT segid) FROM ticket_search_idx`).Scan(&segments)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case merge && segments != 1:
			t.Errorf("%s: %d segments, want 1 (merged)", c.name, segments)
		case !merge && segments < 2:
			t.Errorf("%s: %d segment(s), want the three imports' (not merged)", c.name, segments)
		}
	}
	for i, q := range queries {
		unmerged := answers[cases[0].name][i]
		for _, c := range cases[1:] {
			if got := answers[c.name][i]; !slices.Equal(got, unmerged) {
				t.Errorf("%q, %s: %v, want %v (unmerged)", q, c.name, got, unmerged)
			}
		}
		if len(unmerged) == 0 && q != "zz" {
			t.Errorf("%q found nothing: the comparison proves little", q)
		}
	}
}

// A search finds tickets by what their order says now: after an import
// changes an order's email and a ticket's name, or another writer an
// order's email, the new values are found and the old ones no longer (on
// PostgreSQL a query of two characters walks the index of migration 00017,
// which keeps the tickets whose search text, kept by triggers, has it).
func TestSearchFollowsChangedOrders(t *testing.T) {
	for name, dsn := range newDatabases() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, res := openSearchFile(t, dsn(t))
			defer st.Close()
			ev := res.Event.ID
			before := map[string][]string{
				"alice":  {"Alice", "Bob"}, // Bob by his order's email
				"zebra":  nil,
				"robert": nil,
				"carol":  {"Carol"},
			}
			for q, want := range before {
				if got := searchNames(t, st, ev, q); !slices.Equal(got, want) {
					t.Errorf("before: %q: %v, want %v", q, got, want)
				}
			}
			// The order's email alone, then a ticket's name.
			changed := strings.Replace(searchFileJSON, "alice@example.com", "zebra@example.org", 1)
			for _, file := range []string{changed, strings.Replace(changed, `"first_name": "Bob"`, `"first_name": "Robert"`, 1)} {
				f, err := admit.ParseImport(strings.NewReader(file))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := st.Import(ctx, f, admit.ImportOptions{}); err != nil {
					t.Fatal(err)
				}
				if got, want := searchNames(t, st, ev, "zebra"), []string{"Alice", "Bob"}; file == changed && !slices.Equal(got, want) {
					t.Errorf("after the order's email changed: %q: %v, want %v", "zebra", got, want)
				}
			}
			after := map[string][]string{
				"alice":  {"Alice"},
				"zebra":  {"Alice", "Robert"},
				"robert": {"Robert"},
				"bob":    {"Robert"}, // his own email
				"carol":  {"Carol"},
			}
			for q, want := range after {
				if got := searchNames(t, st, ev, q); !slices.Equal(got, want) {
					t.Errorf("after: %q: %v, want %v", q, got, want)
				}
			}
			// An order changed by another writer than the import: the
			// trigger of migration 00017 (PostgreSQL), the search index's
			// (SQLite, migration 00003).
			w, _ := st.DBs()
			if _, err := w.ExecContext(ctx, `UPDATE orders SET email = 'qj@example.net' WHERE code = 'B2'`); err != nil {
				t.Fatal(err)
			}
			if got, want := searchNames(t, st, ev, "qj"), []string{"Carol"}; !slices.Equal(got, want) {
				t.Errorf("after an order's email was updated: %q: %v, want %v", "qj", got, want)
			}
			if name == "PostgreSQL" {
				// The walk answered.
				mode, _, _, err := st.SearchPlan(ctx, admit.TicketFilter{EventID: ev, Query: "qj", Fields: admit.SearchEmail,
					OrderBy: admit.OrderByLastName, Limit: 50})
				if err != nil || mode != "walk" {
					t.Errorf("plan of %q: %q (%v), want walk", "qj", mode, err)
				}
			}
		})
	}
}

// Package storetest is the conformance suite of admit.Store: every
// implementation runs it (sqlstore on SQLite and on PostgreSQL).
package storetest

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/admitdev/admit"
)

// Run runs the suite. open returns a new, empty store for one subtest and
// arranges for it to be closed when the subtest ends (t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) admit.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st admit.Store)
	}{
		{"Import/Basic", testImportBasic},
		{"Import/Lookups", testImportLookups},
		{"Import/Idempotent", testImportIdempotent},
		{"Import/Updates", testImportUpdates},
		{"Import/OrganizerKept", testImportOrganizerKept},
		{"Import/MatchByUUID", testImportMatchByUUID},
		{"Import/CancelOrder", testImportCancelOrder},
		{"Import/AllOrNothing", testImportAllOrNothing},
		{"Import/Lists", testImportLists},
		{"Import/Keys", testImportKeys},
		{"Import/VerifyOnly", testImportVerifyOnly},
		{"Import/SignError", testImportSignError},
		{"Import/CatalogVersion", testImportCatalogVersion},
		{"Import/Counts", testImportCounts},
		{"Import/OrderTicketCounts", testImportOrderTicketCounts},
		{"NotFound", testNotFound},
		{"Scan/SingleEntry", testScanSingleEntry},
		{"Scan/MultipleEntries", testScanMultipleEntries},
		{"Scan/EntryAfterExit", testScanEntryAfterExit},
		{"Scan/FirstEntryState", testScanFirstEntryState},
		{"Scan/Force", testScanForce},
		{"Scan/Nonce", testScanNonce},
		{"Scan/NotAdmitted", testScanNotAdmitted},
		{"Scan/Concurrent", testScanConcurrent},
		{"Scan/ConcurrentNonce", testScanConcurrentNonce},
		{"Scan/ConcurrentMixed", testScanConcurrentMixed},
		{"Scan/FailureIsolation", testScanFailureIsolation},
		{"Scan/MissingTicketOrList", testScanMissingTicketOrList},
		{"Scan/StaleCatalog", testScanStaleCatalogWritesNothing},
		{"EventTickets", testEventTickets},
		{"Scans", testScans},
		{"Offline/RecordedOnce", testOfflineRecordedOnce},
		{"Offline/Conflicts", testOfflineConflicts},
		{"Offline/ConcurrentUpload", testOfflineConcurrentUpload},
		{"Offline/SnapshotReads", testOfflineSnapshotReads},
		{"Offline/RepeatsAnOnlineScan", testOfflineRepeatsAnOnlineScan},
		{"Capacity/Exits", testCapacityExits},
		{"Capacity/ReentryPolicy", testCapacityReentryPolicy},
		{"Capacity/List", testCapacityList},
		{"Capacity/MultipleEntries", testCapacityMultipleEntries},
		{"Capacity/Section", testCapacitySection},
		{"Capacity/ListAndSection", testCapacityBoth},
		{"Capacity/Import", testCapacityImport},
		{"Capacity/Occupancy", testCapacityOccupancy},
		{"Capacity/Concurrent", testCapacityConcurrent},
		{"FindTickets/Filters", testFindTicketsFilters},
		{"FindTickets/Search", testFindTicketsSearch},
		{"FindTickets/SearchEdges", testFindTicketsSearchEdges},
		{"FindTickets/SearchPages", testFindTicketsSearchPages},
		{"FindTickets/SearchReimport", testFindTicketsSearchReimport},
		{"FindTickets/Order", testFindTicketsOrder},
		{"FindTickets/State", testFindTicketsState},
		{"TicketCounts", testTicketCounts},
		{"Devices", testDevices},
		{"Pairing", testPairing},
		{"APIKeys", testAPIKeys},
		{"Tokens", testTokens},
		{"Hit", testHit},
		{"SigninTokens", testSigninTokens},
		{"Sessions", testSessions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// t0 is the suite's clock.
var t0 = time.Date(2026, 7, 1, 18, 0, 0, 0, time.UTC)

const fixtureJSON = `{
  "organizer": {"slug": "org", "name": "Org", "domain": "org.example"},
  "event": {"slug": "fest", "name": "Fest", "date_from": "2026-07-01T10:00:00Z", "date_to": "2026-07-03T22:00:00Z", "timezone": "Europe/Paris"},
  "subevents": [
    {"name": "Day 1", "date_from": "2026-07-01T10:00:00Z", "date_to": "2026-07-01T23:00:00Z"},
    {"name": "Day 2", "date_from": "2026-07-02T10:00:00Z", "date_to": "2026-07-02T23:00:00Z"}
  ],
  "sections": [
    {"name": "Floor", "description": "Standing"},
    {"name": "Balcony", "description": "Seated"}
  ],
  "products": [
    {"name": "Pass", "variations": ["Adult", "Child"]},
    {"name": "T-shirt", "admission": false},
    {"name": "VIP"}
  ],
  "orders": [
    {"code": "A1", "email": "alice@example.com", "name": "Alice Martin", "tickets": [
      {"product": "Pass", "variation": "Adult", "price": "50.00", "first_name": "Alice", "last_name": "Martin",
       "section": "Floor", "subevent": "Day 1", "valid_from": "2026-07-01T08:00:00Z", "valid_until": "2026-07-04T00:00:00Z",
       "addons": [{"product": "T-shirt", "price": "20.00"}]},
      {"product": "Pass", "variation": "Child", "price": "25.00", "first_name": "Bob", "last_name": "Martin",
       "email": "bob@example.com", "section": "Balcony", "subevent": "Day 2"}
    ]},
    {"code": "B2", "status": "pending", "email": "carol@example.com", "name": "Carol", "tickets": [
      {"product": "VIP", "first_name": "Carol", "last_name": "Dupont", "price": "100% off_x"}
    ]},
    {"code": "C3", "status": "canceled", "email": "dan@example.com", "tickets": [
      {"product": "Pass", "variation": "Adult", "first_name": "Dan", "last_name": "Durand", "section": "Floor"}
    ]},
    {"code": "D4", "email": "eve@example.com", "tickets": [
      {"product": "VIP", "first_name": "Eve", "last_name": "Zola", "blocked": true, "section": "Floor"}
    ]}
  ]
}`

// The fixture's tickets, in result order.
const (
	tAlice = iota
	tShirt
	tBob
	tCarol
	tDan
	tEve
	nFixture
)

// parse parses and validates an import file.
func parse(t *testing.T, js string) *admit.ImportFile {
	t.Helper()
	f, err := admit.ParseImport(strings.NewReader(js))
	if err != nil {
		t.Fatalf("parse import: %v", err)
	}
	return f
}

// fixture returns the fixture file, edited by the optional edits.
func fixture(t *testing.T, edits ...func(f *admit.ImportFile)) *admit.ImportFile {
	f := parse(t, fixtureJSON)
	for _, e := range edits {
		e(f)
	}
	if err := f.Validate(); err != nil {
		t.Fatalf("validate edited fixture: %v", err)
	}
	return f
}

var keys admit.Keys

// options returns import options with a new key pair and a signer.
func options(t *testing.T, now time.Time) admit.ImportOptions {
	t.Helper()
	kp, err := admit.GenerateKeyPair(admit.SigningEd25519)
	if err != nil {
		t.Fatal(err)
	}
	return admit.ImportOptions{NewKeys: kp, Sign: keys.SignCode, Now: now}
}

func importFile(t *testing.T, st admit.Store, f *admit.ImportFile, opts admit.ImportOptions) *admit.ImportResult {
	t.Helper()
	res, err := st.Import(context.Background(), f, opts)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return res
}

// setup imports the fixture and returns the result and the default list.
func setup(t *testing.T, st admit.Store) (*admit.ImportResult, *admit.CheckinList) {
	t.Helper()
	res := importFile(t, st, fixture(t), options(t, t0))
	l, err := st.DefaultList(context.Background(), res.Event.ID)
	if err != nil {
		t.Fatalf("default list: %v", err)
	}
	return res, l
}

func wantCode(t *testing.T, err error, code admit.Code) {
	t.Helper()
	if got := admit.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ids[T any](xs []T, id func(T) int64) []int64 {
	out := make([]int64, len(xs))
	for i, x := range xs {
		out[i] = id(x)
	}
	return out
}

func ticketIDs(ts []*admit.Ticket) []int64 {
	return ids(ts, func(t *admit.Ticket) int64 { return t.ID })
}

// equalTicket compares two tickets field by field, State excluded.
func equalTicket(t *testing.T, what string, got, want *admit.Ticket) {
	t.Helper()
	g, w := *got, *want
	g.State, w.State = nil, nil
	// Only single lookups fill these; they are checked where they matter.
	g.OrderTickets, w.OrderTickets, g.CatalogVersion, w.CatalogVersion = 0, 0, 0, 0
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, dump(&g), dump(&w))
	}
}

func dump(v any) string { return fmt.Sprintf("%+v", v) }

var ctx = context.Background()

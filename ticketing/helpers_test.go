package ticketing_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/admittest"
	"github.com/admitdev/admit/server"
)

// Serials of the main fixture's tickets. Imported serials are kept as they are.
const (
	serAda      = "FLOOR1-ADA000000001" // paid, Floor
	serCharles  = "BALCON-CHARLES00001" // paid, Balcony (same order as Ada, own email)
	serCanceled = "CANCEL-000000000001" // canceled order, Floor
	serPending  = "PENDIN-000000000001" // pending order, Floor
	serLegacy   = "legacy-42"           // paid, VIP, a serial of another system
	// Grace's ticket (paid, VIP) has no serial in the file: the server makes one.
)

// mainFixture: organizer acme, event "fest" with three sections, one
// admission product, a default list, and tickets in every state.
const mainFixture = `{
  "organizer": {"slug": "acme", "name": "Acme Events"},
  "event": {"slug": "fest", "name": "Summer Fest", "date_from": "2030-07-01T18:00:00Z",
            "date_to": "2030-07-02T02:00:00Z", "timezone": "Europe/Paris"},
  "sections": [{"name": "Floor", "description": "Standing area"}, {"name": "Balcony", "description": "Seated"},
               {"name": "VIP", "description": "Lounge"}],
  "products": [{"name": "Ticket"}],
  "lists": [{"name": "Main", "default": true}],
  "orders": [
    {"code": "A1", "status": "paid", "email": "ada@example.org", "name": "Ada Lovelace", "tickets": [
      {"product": "Ticket", "first_name": "Ada", "last_name": "Lovelace", "section": "Floor", "serial": "` + serAda + `"},
      {"product": "Ticket", "first_name": "Charles", "last_name": "Babbage", "email": "charles@example.org",
       "section": "Balcony", "serial": "` + serCharles + `"}
    ]},
    {"code": "G1", "status": "paid", "email": "grace@example.org", "tickets": [
      {"product": "Ticket", "first_name": "Grace", "last_name": "Hopper", "section": "VIP"}
    ]},
    {"code": "C1", "status": "canceled", "email": "carl@example.org", "tickets": [
      {"product": "Ticket", "first_name": "Carl", "last_name": "Canceled", "section": "Floor", "serial": "` + serCanceled + `"}
    ]},
    {"code": "P1", "status": "pending", "email": "paula@example.org", "tickets": [
      {"product": "Ticket", "first_name": "Paula", "last_name": "Pending", "section": "Floor", "serial": "` + serPending + `"}
    ]},
    {"code": "L1", "status": "paid", "email": "linus@example.org", "tickets": [
      {"product": "Ticket", "first_name": "Linus", "last_name": "Legacy", "section": "VIP", "serial": "` + serLegacy + `"}
    ]}
  ]
}`

// otherEventFixture: a second event of acme.
const otherEventFixture = `{
  "organizer": {"slug": "acme"},
  "event": {"slug": "winter", "name": "Winter Fest"},
  "sections": [{"name": "Hall"}],
  "products": [{"name": "Ticket"}],
  "lists": [{"name": "Main", "default": true}],
  "orders": [{"code": "W1", "status": "paid", "email": "ada@example.org", "tickets": [
    {"product": "Ticket", "first_name": "Ada", "last_name": "Lovelace", "section": "Hall", "serial": "WINTER-ADA000000001"}
  ]}]
}`

// otherOrganizerFixture: an event of another organizer.
const otherOrganizerFixture = `{
  "organizer": {"slug": "globex"},
  "event": {"slug": "expo"},
  "sections": [{"name": "Stand"}],
  "products": [{"name": "Ticket"}],
  "orders": [{"code": "X1", "status": "paid", "email": "x@example.org", "tickets": [
    {"product": "Ticket", "section": "Stand", "serial": "GLOBEX-000000000001"}
  ]}]
}`

var (
	reSerial  = regexp.MustCompile(`^[0-9A-Z]{6}-[0-9A-Z]{12}$`)
	reAccount = regexp.MustCompile(`^[A-Z]{2}-[0-9A-Z]{8}$`)
	reCode    = regexp.MustCompile(`^[0-9A-Z]{8}$`)
	reDate    = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$`)
)

// fixture is a running server with the main fixture, the other event and
// the other organizer imported, and a management key of acme.
type fixture struct {
	env      *admittest.Env
	clock    *clock
	ev       *admit.Event
	other    *admit.Event // acme's second event
	foreign  *admit.Event // globex's event
	sections map[string]int64
	tickets  map[string]*admit.Ticket // by last name
	key      string                   // acme's management key
}

// clock is a settable time source for the core, safe to move while the
// server runs.
type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time           { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Set(t time.Time)          { c.ns.Store(t.UnixNano()) }
func (c *clock) Add(d time.Duration)      { c.ns.Add(int64(d)) }
func newClock(t time.Time) *clock         { c := &clock{}; c.Set(t); return c }
func (f *fixture) now() time.Time         { return f.clock.Now() }
func (f *fixture) evPath(p string) string { return fmt.Sprintf("/v3/events/%d%s", f.ev.ID, p) }

// t0 is when the fixture is imported (mid-minute, for the guessing windows).
var t0 = time.Date(2030, 6, 1, 10, 0, 5, 0, time.UTC)

// startServer runs a real server on a fresh database whose core reads the
// time from a settable clock.
func startServer(t *testing.T) (*admittest.Env, *clock) {
	t.Helper()
	dsn := admittest.DSN(t)
	core := admittest.OpenCore(t, dsn)
	clk := newClock(t0)
	core.Now = clk.Now
	srv := httptest.NewServer(server.New(core, server.Config{Logger: core.Log}))
	t.Cleanup(srv.Close)
	return &admittest.Env{Core: core, Server: srv, URL: srv.URL, DSN: dsn}, clk
}

func start(t *testing.T) *fixture {
	t.Helper()
	env, clk := startServer(t)
	res := env.Import(t, mainFixture)
	f := &fixture{env: env, clock: clk, ev: res.Event, sections: map[string]int64{}, tickets: map[string]*admit.Ticket{}}
	for _, tk := range res.Tickets {
		f.tickets[tk.LastName] = tk
	}
	f.other = env.Import(t, otherEventFixture).Event
	f.foreign = env.Import(t, otherOrganizerFixture).Event
	secs, err := env.Core.Store.Sections(context.Background(), f.ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secs {
		f.sections[s.Name] = s.ID
	}
	key, err := env.Core.CreateManagementKey(context.Background(), "acme", "test")
	if err != nil {
		t.Fatal(err)
	}
	f.key = key
	return f
}

// do sends a request as the SDK does: X-Client-Version 3.0.0, the key as
// X-API-Key when not empty, and a JSON body ({} when body is nil, as the SDK
// sends even with GET and DELETE).
func (f *fixture) do(t *testing.T, method, path, key string, body any) *admittest.Response {
	t.Helper()
	if body == nil {
		body = "{}"
	}
	h := []string{"X-Client-Version", "3.0.0", "Content-Type", "application/json"}
	if key != "" {
		h = append(h, "X-API-Key", key)
	}
	return f.env.Do(t, method, path, body, h...)
}

// want checks a status, showing the body when it differs.
func want(t *testing.T, r *admittest.Response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
}

// wantError checks an error answer: its status and its text under "error".
func wantError(t *testing.T, r *admittest.Response, status int, text string) {
	t.Helper()
	want(t, r, status)
	if got := r.JSON(t)["error"]; got != text {
		t.Fatalf("error %q, want %q", got, text)
	}
}

// array decodes a JSON array of objects.
func array(t *testing.T, r *admittest.Response) []map[string]any {
	t.Helper()
	var a []map[string]any
	if err := json.Unmarshal(r.Body, &a); err != nil {
		t.Fatalf("body is not a JSON array of objects: %v\n%s", err, r.Body)
	}
	return a
}

// entries returns a list answer's entries, checking the envelope.
func entries(t *testing.T, r *admittest.Response) []map[string]any {
	t.Helper()
	want(t, r, 200)
	m := r.JSON(t)
	for _, k := range []string{"total", "page", "records"} {
		if _, ok := m[k].(float64); !ok {
			t.Fatalf("envelope without a number %q: %s", k, r.Body)
		}
	}
	raw, ok := m["entries"].([]any)
	if !ok {
		t.Fatalf("envelope without an entries array: %s", r.Body)
	}
	out := make([]map[string]any, len(raw))
	for i, e := range raw {
		out[i] = e.(map[string]any)
	}
	return out
}

func sectionURI(f *fixture, name string) string {
	return fmt.Sprintf("/events/%d/sections/%d", f.ev.ID, f.sections[name])
}

// issue issues a token of the main event for the named sections and
// returns its answer.
func (f *fixture) issue(t *testing.T, sections ...string) map[string]any {
	t.Helper()
	uris := []string{}
	for _, s := range sections {
		uris = append(uris, sectionURI(f, s))
	}
	r := f.do(t, "POST", f.evPath("/tokens"), f.key, map[string]any{"sections": uris})
	want(t, r, 201)
	return r.JSON(t)
}

// login logs in with a token's code and returns the staff key.
func (f *fixture) login(t *testing.T, code string) string {
	t.Helper()
	r := f.do(t, "GET", "/v3/tokens/"+code, "", nil)
	want(t, r, 200)
	k, _ := r.JSON(t)["key"].(string)
	if k == "" {
		t.Fatalf("login without a key: %s", r.Body)
	}
	return k
}

// staffKey issues a token for the sections and logs in with its code.
func (f *fixture) staffKey(t *testing.T, sections ...string) (key string, token map[string]any) {
	t.Helper()
	tok := f.issue(t, sections...)
	return f.login(t, tok["code"].(string)), tok
}

// admitSerials posts serials to the main event's admissions.
func (f *fixture) admitSerials(t *testing.T, key string, serials ...string) *admittest.Response {
	t.Helper()
	return f.do(t, "POST", f.evPath("/admissions"), key,
		map[string]any{"redeemer": "Rita", "device": "Gate 1", "serials": serials})
}

// serialsOf returns the "ticket" (or "serial") values of records.
func serialsOf(recs []map[string]any, field string) []string {
	var out []string
	for _, r := range recs {
		s, _ := r[field].(string)
		out = append(out, s)
	}
	return out
}

package ticketing_test

import (
	"fmt"
	"testing"

	"github.com/admitdev/admit"
)

// The conventions of the whole API: keys, client version, 404s.
func TestConventions(t *testing.T) {
	f := start(t)
	_, deviceKey := f.env.PairedDevice(t, admit.DeviceSpec{Organizer: "acme", Name: "gate"})
	const (
		unauth     = "Your request could not be authenticated."
		restricted = "You are restricted from accessing this resource."
		upgrade    = "Please upgrade your client to complete this request"
		noResource = "There is presently no resource with the given URI."
		unlisted   = "You are not authorised to access this unlisted event."
	)
	cases := []struct {
		name    string
		method  string
		path    string
		headers []string // replaces the SDK's headers when set
		status  int
		text    string
		message bool // the text is under "message" too
	}{
		{"no key is unauthenticated", "GET", f.evPath(""), []string{"X-Client-Version", "3.0.0"}, 401, unauth, true},
		{"an empty key is unauthenticated", "GET", f.evPath(""), []string{"X-Client-Version", "3.0.0", "X-API-Key", ""}, 401, unauth, true},
		{"an unknown key is restricted", "GET", f.evPath(""), []string{"X-Client-Version", "3.0.0", "X-API-Key", "AbCdEfGh.0123456789abcdef0123456789abcdef"}, 403, restricted, true},
		{"a garbage key is restricted", "GET", f.evPath(""), []string{"X-Client-Version", "3.0.0", "X-API-Key", "nonsense"}, 403, restricted, true},
		{"a TiBillet device key is restricted", "GET", f.evPath(""), []string{"X-Client-Version", "3.0.0", "X-API-Key", deviceKey}, 403, restricted, true},
		{"no client version", "GET", f.evPath(""), []string{"X-API-Key", f.key}, 412, upgrade, false},
		{"an old client version", "GET", f.evPath(""), []string{"X-API-Key", f.key, "X-Client-Version", "2.9.9"}, 412, upgrade, false},
		{"an unparsable client version", "GET", f.evPath(""), []string{"X-API-Key", f.key, "X-Client-Version", "three"}, 412, upgrade, false},
		{"the version is checked before the key", "GET", f.evPath(""), []string{"X-Client-Version", "1.0.0"}, 412, upgrade, false},
		{"an unknown endpoint names the path", "GET", "/v3/invalid/endpoint", []string{"X-API-Key", f.key, "X-Client-Version", "3.0.0"}, 404,
			"The requested endpoint /invalid/endpoint does not exist on this server.", true},
		{"an unknown method is an unknown endpoint", "PATCH", f.evPath(""), []string{"X-API-Key", f.key, "X-Client-Version", "3.0.0"}, 404,
			fmt.Sprintf("The requested endpoint /events/%d does not exist on this server.", f.ev.ID), true},
		{"an unknown event", "GET", "/v3/events/999999", nil, 404, noResource, false},
		{"a non-numeric event id", "GET", "/v3/events/fest", nil, 404, noResource, false},
		{"an event of another organizer is refused", "GET", fmt.Sprintf("/v3/events/%d", f.foreign.ID), nil, 403, unlisted, true},
		{"an unknown token", "GET", f.evPath("/tokens/999999"), nil, 404, noResource, false},
		{"a token of another event", "GET", fmt.Sprintf("/v3/events/%d/tokens/%d", f.other.ID, globalTokenID(t, f)), nil, 404, noResource, false},
		{"an unknown section", "GET", f.evPath("/sections/999999"), nil, 404, noResource, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := c.headers
			if h == nil {
				h = []string{"X-API-Key", f.key, "X-Client-Version", "3.0.0"}
			}
			r := f.env.Do(t, c.method, c.path, "{}", h...)
			wantError(t, r, c.status, c.text)
			if got, _ := r.JSON(t)["message"].(string); c.message && got != c.text {
				t.Errorf("message %q, want %q", got, c.text)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
	for _, v := range []string{"3.0.0", "3.1", "3.1.2", "4.0.0", "3.0.0-beta.1"} {
		t.Run("client version "+v+" is served", func(t *testing.T) {
			r := f.env.Do(t, "GET", f.evPath(""), nil, "X-API-Key", f.key, "X-Client-Version", v)
			want(t, r, 200)
		})
	}
}

// globalTokenID returns the id of the main event's global token.
func globalTokenID(t *testing.T, f *fixture) int64 {
	t.Helper()
	r := f.do(t, "GET", f.evPath("/tokens?global=true"), f.key, nil)
	es := entries(t, r)
	if len(es) != 1 {
		t.Fatalf("%d global tokens: %s", len(es), r.Body)
	}
	var id int64
	fmt.Sscanf(es[0]["self"].(string), fmt.Sprintf("/events/%d/tokens/%%d", f.ev.ID), &id)
	return id
}

// Lists: page and records default to 1 and 25, records echoes the page size
// asked for, and a page past the last is 404.
func TestPagination(t *testing.T) {
	f := start(t)
	for range 4 {
		f.issue(t, "Floor")
	} // 5 tokens with the global one
	cases := []struct {
		name    string
		query   string
		status  int
		page    float64
		records float64
		n       int
	}{
		{"defaults", "", 200, 1, 25, 5},
		{"records echoes the page size", "?records=2", 200, 1, 2, 2},
		{"the last page is partial", "?records=2&page=3", 200, 3, 2, 1},
		{"records larger than the total", "?records=100", 200, 1, 100, 5},
		{"a page past the last", "?records=2&page=4", 404, 0, 0, 0},
		{"page zero", "?page=0", 404, 0, 0, 0},
		{"records zero", "?records=0", 400, 0, 0, 0},
		{"records not a number", "?records=many", 400, 0, 0, 0},
		{"page not a number", "?page=first", 400, 0, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.do(t, "GET", f.evPath("/tokens"+c.query), f.key, nil)
			if c.status == 404 {
				wantError(t, r, 404, "The specified page does not exist for the given records per page")
				return
			}
			if c.status != 200 {
				want(t, r, c.status)
				if r.JSON(t)["error"] == "" {
					t.Fatal("no error text")
				}
				return
			}
			es := entries(t, r)
			m := r.JSON(t)
			if m["total"] != 5.0 || m["page"] != c.page || m["records"] != c.records || len(es) != c.n {
				t.Fatalf("total %v page %v records %v entries %d; want 5, %v, %v, %d", m["total"], m["page"], m["records"], len(es), c.page, c.records, c.n)
			}
		})
	}
	t.Run("page 1 of an empty list exists", func(t *testing.T) {
		r := f.do(t, "GET", f.evPath("/admissions"), f.key, nil)
		if es := entries(t, r); len(es) != 0 || r.JSON(t)["total"] != 0.0 {
			t.Fatalf("want an empty page: %s", r.Body)
		}
	})
	t.Run("page 2 of an empty list does not", func(t *testing.T) {
		wantError(t, f.do(t, "GET", f.evPath("/admissions?page=2"), f.key, nil), 404,
			"The specified page does not exist for the given records per page")
	})
}

// GET /events/{event} answers the event as the SDK reads it.
func TestEvent(t *testing.T) {
	f := start(t)
	r := f.do(t, "GET", f.evPath(""), f.key, nil)
	want(t, r, 200)
	e := r.JSON(t)
	if e["self"] != fmt.Sprintf("/events/%d", f.ev.ID) || e["title"] != "Summer Fest" || e["public"] != true {
		t.Errorf("self/title/public: %v %v %v", e["self"], e["title"], e["public"])
	}
	// The event's local time (Europe/Paris, summer time), as TickeTing writes it.
	if e["start"] != "2030-07-01T20:00" || e["end"] != "2030-07-02T04:00" {
		t.Errorf("start %v end %v", e["start"], e["end"])
	}
	if _, ok := e["description"].(string); !ok {
		t.Errorf("description %v", e["description"])
	}
	cat, ok := e["category"].(map[string]any)
	if !ok || cat["self"] == nil {
		t.Errorf("category %v", e["category"])
	}
	venue, ok := e["venue"].(map[string]any)
	if !ok || venue["self"] == nil {
		t.Fatalf("venue %v", e["venue"])
	}
	if region, ok := venue["region"].(map[string]any); !ok || region["self"] == nil {
		t.Errorf("venue region %v", venue["region"])
	}
	secs, _ := e["sections"].([]any)
	wantSecs := []struct{ name, desc string }{{"Floor", "Standing area"}, {"Balcony", "Seated"}, {"VIP", "Lounge"}}
	if len(secs) != len(wantSecs) {
		t.Fatalf("sections %v", e["sections"])
	}
	for i, w := range wantSecs {
		s := secs[i].(map[string]any)
		// Relative to the event: the SDK prefixes the event's self.
		if s["self"] != fmt.Sprintf("/sections/%d", f.sections[w.name]) || s["name"] != w.name || s["description"] != w.desc {
			t.Errorf("section %d: %v", i, s)
		}
	}
	// The section URIs name a resource.
	r = f.do(t, "GET", "/v3"+sectionURI(f, "VIP"), f.key, nil)
	want(t, r, 200)
	if s := r.JSON(t); s["self"] != sectionURI(f, "VIP") || s["name"] != "VIP" {
		t.Errorf("section resource %v", s)
	}
	// The organizer's events.
	es := entries(t, f.do(t, "GET", "/v3/events", f.key, nil))
	if len(es) != 2 || es[0]["self"] != fmt.Sprintf("/events/%d", f.ev.ID) || es[1]["self"] != fmt.Sprintf("/events/%d", f.other.ID) {
		t.Errorf("events of acme: %v", es)
	}
}

// An unexpected failure answers 500 with the spec's message, and no details.
func TestServerError(t *testing.T) {
	f := start(t)
	// A real failure: the database is gone under the running server.
	if err := f.env.Core.Store.Close(); err != nil {
		t.Fatal(err)
	}
	const msg = "There was a server error while excuting this request. Please see system logs for details."
	for _, path := range []string{f.evPath(""), f.evPath("/tickets"), "/v3/tokens/ABCDEFGH"} {
		r := f.do(t, "GET", path, f.key, nil)
		wantError(t, r, 500, msg)
		if m := r.JSON(t); m["message"] != msg || len(m) != 2 {
			t.Errorf("%s: body %s", path, r.Body)
		}
	}
}

// A staff web app in a browser may call the API: the CORS preflight (sent
// without the API's headers) is answered, and answers allow any origin.
func TestCORS(t *testing.T) {
	f := start(t)
	r := f.env.Do(t, "OPTIONS", f.evPath("/admissions"), nil,
		"Origin", "https://staff.example.org", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "x-api-key, x-client-version, content-type")
	want(t, r, 204)
	if r.Header.Get("Access-Control-Allow-Origin") != "*" || r.Header.Get("Access-Control-Allow-Headers") == "" ||
		r.Header.Get("Access-Control-Allow-Methods") == "" {
		t.Fatalf("preflight headers %v", r.Header)
	}
	r = f.do(t, "GET", f.evPath(""), f.key, nil)
	if r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("answer headers %v", r.Header)
	}
}

package tibillet_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/admittest"
	"github.com/admitdev/admit/api"
)

// pastFixture: an event of demoorga that ended long ago.
const pastFixture = `{
  "organizer": {"slug": "demoorga", "name": "Example Organization", "domain": "example.tibillet.org"},
  "event": {"slug": "pastfest", "name": "Past Fest", "date_from": "2001-06-01T18:00:00Z", "date_to": "2001-06-02T02:00:00Z"},
  "products": [{"name": "Ticket"}]
}`

// startedFixture: an event of demoorga with a start long ago and no end:
// it is over (a day after its start).
const startedFixture = `{
  "organizer": {"slug": "demoorga", "name": "Example Organization", "domain": "example.tibillet.org"},
  "event": {"slug": "oldopen", "name": "Old Open Day", "date_from": "2002-03-01T09:00:00Z"},
  "products": [{"name": "Ticket"}]
}`

// eventsFixture is the main fixture plus the past events; past is Past
// Fest, started Old Open Day.
type eventsFixture struct {
	*fixture
	past, started *admit.Event
}

func startEvents(t *testing.T) *eventsFixture {
	t.Helper()
	f := &eventsFixture{fixture: start(t)}
	f.past = f.env.Import(t, pastFixture).Event
	f.started = f.env.Import(t, startedFixture).Event
	return f
}

// publicEventKeys are the fields of every event of the events API.
const publicEventKeys = "description,endDate,name,publicKeyPem,slug,startDate,url,uuid"

// getEvents loads an events URL as the Scan app does: no key, JSON asked
// for; the answer must be JSON with the /scan/ routes' CORS header.
func getEvents(t *testing.T, url string) *admittest.Response {
	t.Helper()
	r := admittest.Do(t, "GET", url, nil, "Accept", "application/json", "Origin", "https://scan.example.org")
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("GET %s: Content-Type %q; body %s", url, ct, r.Body)
	}
	if o := r.Header.Get("Access-Control-Allow-Origin"); o != "*" {
		t.Fatalf("GET %s: Access-Control-Allow-Origin %q, want * as on /scan/", url, o)
	}
	return r
}

// eventList decodes a list answer: a JSON array of event objects.
func eventList(t *testing.T, r *admittest.Response) []map[string]any {
	t.Helper()
	want(t, r, http.StatusOK)
	var out []map[string]any
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatalf("body is not a JSON array of objects: %v\n%s", err, r.Body)
	}
	return out
}

func names(evs []map[string]any) []string {
	var out []string
	for _, e := range evs {
		out = append(out, fmt.Sprint(e["name"]))
	}
	return out
}

// The events API lists the URL's organizer's events, never another's, each
// with the fields the Scan app reads, the latest start first (as TiBillet
// lists them) and undated events last; only_futur=true leaves out those
// that are over.
func TestEventsAPIListsTheURLsOrganizersEventsWithWhatTheScanAppReads(t *testing.T) {
	t.Parallel()
	f := startEvents(t)
	all := []string{eventName, "Old Open Day", "Past Fest", "Other Fest"}
	cases := []struct {
		name  string
		query string
		want  []string
	}{
		{"every event", "", all},
		{"only_futur=true leaves out what is over", "?only_futur=true", []string{eventName, "Other Fest"}},
		{"only_futur=True, as Python writes it", "?only_futur=True", []string{eventName, "Other Fest"}},
		{"only_futur=false", "?only_futur=false", all},
	}
	for _, c := range cases {
		for _, path := range []string{"/o/demoorga/api/events", "/o/demoorga/api/events/"} {
			t.Run(c.name+" "+path, func(t *testing.T) {
				evs := eventList(t, getEvents(t, f.env.URL+path+c.query))
				if got := names(evs); !slices.Equal(got, c.want) {
					t.Fatalf("events %v, want %v", got, c.want)
				}
				for _, e := range evs {
					if got := keys(e); got != publicEventKeys {
						t.Errorf("event %v: fields %s, want %s", e["name"], got, publicEventKeys)
					}
				}
			})
		}
	}
	t.Run("the fields of an event", func(t *testing.T) {
		evs := eventList(t, getEvents(t, f.env.URL+"/o/demoorga/api/events"))
		e := evs[0]
		if e["uuid"] != f.ev.UUID || e["name"] != eventName || e["slug"] != "democon" || e["description"] != "" ||
			e["startDate"] != "2026-12-27T17:00:00Z" || e["endDate"] != "2026-12-30T18:00:00Z" ||
			e["url"] != f.env.URL+"/o/demoorga/api/events/"+f.ev.UUID+"/" {
			t.Errorf("event %v", e)
		}
		if e["publicKeyPem"] != f.ev.PublicKeyPEM || !strings.Contains(f.ev.PublicKeyPEM, "BEGIN PUBLIC KEY") {
			t.Errorf("publicKeyPem %q, want the event's %q", e["publicKeyPem"], f.ev.PublicKeyPEM)
		}
		if other := evs[len(evs)-1]; other["name"] != "Other Fest" || other["startDate"] != nil || other["endDate"] != nil {
			t.Errorf("an undated event: %v", other)
		}
	})
	t.Run("another organizer sees its own", func(t *testing.T) {
		evs := eventList(t, getEvents(t, f.env.URL+"/o/globex/api/events"))
		if got := names(evs); !slices.Equal(got, []string{"Expo"}) || evs[0]["uuid"] != f.foreign.UUID {
			t.Fatalf("globex's events %v", got)
		}
	})
	t.Run("an organizer that does not exist", func(t *testing.T) {
		r := getEvents(t, f.env.URL+"/o/nobody/api/events")
		want(t, r, http.StatusNotFound)
		if r.JSON(t)["detail"] != "Not found." {
			t.Errorf("body %s", r.Body)
		}
	})
}

// One event is the list's object for it; only the URL's organizer's
// events are found.
func TestEventsAPIAnswersOneEventOfTheURLsOrganizerOnly(t *testing.T) {
	t.Parallel()
	f := startEvents(t)
	evs := eventList(t, getEvents(t, f.env.URL+"/o/demoorga/api/events"))
	for _, path := range []string{"/o/demoorga/api/events/" + f.ev.UUID, "/o/demoorga/api/events/" + f.ev.UUID + "/",
		"/o/demoorga/api/events/" + strings.ToUpper(f.ev.UUID) + "/"} {
		t.Run(path, func(t *testing.T) {
			r := getEvents(t, f.env.URL+path)
			want(t, r, http.StatusOK)
			if got, list := r.JSON(t), evs[0]; fmt.Sprint(got) != fmt.Sprint(list) {
				t.Errorf("event %v, want the list's %v", got, list)
			}
		})
	}
	notFound := []struct{ name, path string }{
		{"another organizer's event", "/o/demoorga/api/events/" + f.foreign.UUID + "/"},
		{"an event of the organizer under another's prefix", "/o/globex/api/events/" + f.ev.UUID + "/"},
		{"an unknown uuid", "/o/demoorga/api/events/99999999-0000-4000-8000-000000000000/"},
		{"no uuid", "/o/demoorga/api/events/democon/"},
		{"an unknown organizer", "/o/nobody/api/events/" + f.ev.UUID + "/"},
		{"another path under the prefix's /api/", "/o/demoorga/api/nothing"},
	}
	for _, c := range notFound {
		t.Run(c.name, func(t *testing.T) {
			r := getEvents(t, f.env.URL+c.path)
			want(t, r, http.StatusNotFound)
			if r.JSON(t)["detail"] != "Not found." {
				t.Errorf("body %s", r.Body)
			}
		})
	}
}

// The page itself fetches the events API, from another origin: the CORS
// preflight and other methods are answered as on the /scan/ routes.
func TestEventsAPIHasTheScanRoutesCORS(t *testing.T) {
	t.Parallel()
	f := startEvents(t)
	for _, path := range []string{"/o/demoorga/api/events", "/o/demoorga/api/events/" + f.ev.UUID + "/", "/o/demoorga/scan/ticket/"} {
		t.Run(path, func(t *testing.T) {
			method := "GET"
			if strings.Contains(path, "/scan/") {
				method = "POST"
			}
			r := f.env.Do(t, "OPTIONS", path, nil, "Origin", "https://scan.example.org",
				"Access-Control-Request-Method", method, "Access-Control-Request-Headers", "authorization, content-type")
			want(t, r, http.StatusNoContent)
			if r.Header.Get("Access-Control-Allow-Origin") != "*" || r.Header.Get("Access-Control-Allow-Methods") != method+", OPTIONS" ||
				!strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
				t.Errorf("preflight headers %v", r.Header)
			}
		})
	}
	r := f.call(t, "DELETE", "/o/demoorga/api/events", "", nil)
	wantError(t, r, http.StatusMethodNotAllowed, `Method "DELETE" not allowed.`)
	if r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("405 without CORS: %v", r.Header)
	}
}

// The app as it runs against admit: it pairs with the pair URL admit makes,
// keeps everything before "/scan/" as its base, loads the events without a
// key, chooses one, keeps its public key (which verifies the event's QR
// codes offline) and scans under the same base.
func TestScanAppPairsFromThePairURLThenLoadsEventsAndScansUnderItsBase(t *testing.T) {
	t.Parallel()
	f := startEvents(t)
	_, token, err := f.env.Core.CreateDevice(context.Background(), admit.DeviceSpec{Organizer: "demoorga", Name: "Phone"})
	if err != nil {
		t.Fatal(err)
	}
	pairURL := api.PairURL(f.env.URL, "demoorga", token)
	r := admittest.Do(t, "GET", pairURL, nil)
	want(t, r, http.StatusOK)
	key, _ := r.JSON(t)["api_key"].(string)
	i := strings.Index(pairURL, "/scan/")
	if key == "" || i < 0 {
		t.Fatalf("pair %s: %s", pairURL, r.Body)
	}
	base := pairURL[:i]
	if base != f.env.URL+"/o/demoorga" {
		t.Fatalf("the app's base is %s", base)
	}
	evs := eventList(t, getEvents(t, base+"/api/events?only_futur=true"))
	if got := names(evs); !slices.Equal(got, []string{eventName, "Other Fest"}) {
		t.Fatalf("the app's events %v", got)
	}
	r = getEvents(t, base+"/api/events/"+fmt.Sprint(evs[0]["uuid"])+"/")
	want(t, r, http.StatusOK)
	chosen := r.JSON(t)
	pc, _, _ := admit.ParseCode(f.qr[uJohn])
	if pc == nil {
		t.Fatal("the fixture's QR code does not parse")
	}
	ok, err := f.env.Core.Keys.Verify(fmt.Sprint(chosen["publicKeyPem"]), pc.Payload, pc.Signature)
	if err != nil || !ok {
		t.Fatalf("the event's publicKeyPem does not verify its QR code: %v %v", ok, err)
	}
	for _, p := range []string{"/scan/check_api_scan/", "/scan/test_api/"} {
		want(t, f.call(t, "GET", strings.TrimPrefix(base, f.env.URL)+p, key, nil), http.StatusOK)
	}
	r = f.call(t, "POST", strings.TrimPrefix(base, f.env.URL)+"/scan/ticket/", key,
		map[string]any{"qrcode_data": f.qr[uJohn], "event_uuid": chosen["uuid"]})
	want(t, r, http.StatusOK)
	if r.JSON(t)["success"] != true {
		t.Fatalf("scan under the base: %s", r.Body)
	}
}

// Under an organizer's prefix, a device of another organizer is no app of
// it: every /scan/ route refuses its key, and its pairing token does not
// pair there (and stays usable under its own).
func TestOrganizerPrefixRefusesAnotherOrganizersDevice(t *testing.T) {
	t.Parallel()
	f := startEvents(t)
	_, key := f.device(t, "Door", "", "")
	routes := []struct{ method, path string }{
		{"GET", "/scan/test_api/"},
		{"GET", "/scan/check_api_scan/"},
		{"POST", "/scan/check_ticket/"},
		{"POST", "/scan/ticket/"},
		{"POST", "/scan/list_tickets/"},
		{"POST", "/scan/search_ticket/"},
	}
	body := map[string]any{"qrcode_data": f.qr[uJane], "event_uuid": f.ev.UUID, "search": "Doe"}
	for _, rt := range routes {
		t.Run("own organizer "+rt.path, func(t *testing.T) {
			want(t, f.call(t, rt.method, "/o/demoorga"+rt.path, key, body), http.StatusOK)
		})
		for _, org := range []string{"globex", "nobody"} {
			t.Run(org+" "+rt.path, func(t *testing.T) {
				r := f.call(t, rt.method, "/o/"+org+rt.path, key, body)
				wantError(t, r, http.StatusForbidden, "No app associated with this key.")
				if r.JSON(t)["detail"] != "No app associated with this key." {
					t.Errorf("body %s", r.Body)
				}
			})
		}
	}
	_, token, err := f.env.Core.CreateDevice(context.Background(), admit.DeviceSpec{Organizer: "demoorga", Name: "New phone"})
	if err != nil {
		t.Fatal(err)
	}
	for _, org := range []string{"globex", "nobody"} {
		r := f.call(t, "GET", "/o/"+org+"/scan/"+token+"/pair", "", nil)
		wantError(t, r, http.StatusBadRequest, "Invalid or expired pairing token")
	}
	r := f.call(t, "GET", "/o/demoorga/scan/"+token+"/pair/", "", nil)
	want(t, r, http.StatusOK)
	if m := r.JSON(t); m["tenant_name"] != tenantName || m["device_name"] != "New phone" {
		t.Errorf("pairing %s", r.Body)
	}
}

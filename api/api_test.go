package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
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

// Every route the API serves is in the OpenAPI document, with its method,
// and the document names no route the API does not serve.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(api.Document, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	router(t) // the document is valid OpenAPI
	served := map[string]bool{}
	for _, p := range api.New(nil, api.Options{}).Routes() {
		served[p] = true
		method, path, _ := strings.Cut(p, " ")
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("route %s is not in the OpenAPI document", p)
		}
	}
	for path, ops := range doc.Paths {
		for m := range ops {
			if !served[strings.ToUpper(m)+" "+path] {
				t.Errorf("the document names %s %s, which the API does not serve", strings.ToUpper(m), path)
			}
		}
	}
}

func TestOpenAPIIsServedWithoutAKey(t *testing.T) {
	f := setup(t)
	a := f.call(t, "", "GET", "/api/v1/openapi.json", nil)
	if a.Status != 200 || !bytes.Equal(a.Body, api.Document) {
		t.Fatalf("status %d, %d bytes", a.Status, len(a.Body))
	}
}

func scanBody(code string, kv ...string) map[string]any {
	b := map[string]any{"code": code}
	for i := 0; i+1 < len(kv); i += 2 {
		b[kv[i]] = kv[i+1]
	}
	return b
}

// The one decision, through the API: each case names what it proves.
func TestScanAnswersTheCoreDecision(t *testing.T) {
	f := setup(t)
	ann := f.res.Tickets[tAnn]
	forged := ann.QRCode[:len(ann.QRCode)-6] + "AAAAAA"
	cases := []struct {
		name    string
		body    map[string]any
		result  string
		reason  any
		message string
	}{
		{"a paid ticket is admitted with its name", scanBody(f.qr(tAnn)), "ok", nil, "Welcome, Ann Archer"},
		{"the same ticket again is already inside, since when and where", scanBody(f.qr(tAnn)), "refused", "already_inside", "Already inside since"},
		{"a canceled order is refused", scanBody(f.qr(tBob)), "refused", "canceled", "Canceled"},
		{"a pending order is refused as unpaid", scanBody(f.qr(tCid)), "refused", "unpaid", "Unpaid"},
		{"a ticket past its validity is expired", scanBody(f.qr(tEve)), "refused", "expired", "Expired"},
		{"a forged signature is refused before any lookup", scanBody(forged), "refused", "forged", "Forged"},
		{"garbage is unreadable", scanBody("not base64 at all, but long enough to be a code:c2ln"), "refused", "unreadable", "Unreadable"},
		{"a product not on the named list is refused", scanBody(f.qr(tDee), "list", "VIP lounge"), "refused", "not_on_list", "Not valid at this entrance"},
		{"a pretix secret scans too", scanBody(f.res.Tickets[tDee].Secret), "ok", nil, "Welcome, Dee Dunn"},
		{"a TickeTing serial scans too", scanBody(f.res.Tickets[tVic].Serial), "ok", nil, "Welcome, Vic Valdez"},
		{"an exit of a ticket inside is recorded", scanBody(f.qr(tDee), "type", "exit"), "ok", nil, "Exit recorded"},
		{"an exit of a ticket not inside is refused", scanBody(f.qr(tDee), "type", "exit"), "refused", "not_inside", "Not inside"},
		{"an unknown secret is an unknown ticket", scanBody("nosuchsecret"), "refused", "unknown_ticket", "Unknown"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := f.call(t, f.admin, "POST", "/api/v1/events/"+f.event+"/scans", c.body)
			if a.Status != 200 {
				t.Fatalf("status %d: %s", a.Status, a.Body)
			}
			m := a.json(t)
			if m["result"] != c.result || m["reason"] != c.reason || !strings.HasPrefix(m["message"].(string), c.message) {
				t.Fatalf("got %v / %v / %q, want %v / %v / %q", m["result"], m["reason"], m["message"], c.result, c.reason, c.message)
			}
		})
	}
	// What the log says matches what was answered.
	scans, _, err := f.env.Core.Store.Scans(context.Background(), admit.ScanFilter{EventID: f.res.Event.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(scans) != len(cases) {
		t.Fatalf("%d scans logged, want %d", len(scans), len(cases))
	}
	for _, sc := range scans {
		if sc.Source != api.SourceAPI || sc.Redeemer != "Box office" {
			t.Fatalf("scan logged as %q by %q", sc.Source, sc.Redeemer)
		}
	}
}

func TestARepeatedNonceRecordsNothingMore(t *testing.T) {
	f := setup(t)
	body := scanBody(f.qr(tAnn), "nonce", "n-1", "scanned_at", "2026-12-27T18:00:00+01:00")
	first := f.call(t, f.admin, "POST", "/api/v1/events/"+f.event+"/scans", body).json(t)
	again := f.call(t, f.admin, "POST", "/api/v1/events/"+f.event+"/scans", body).json(t)
	if first["result"] != "ok" || again["result"] != "ok" {
		t.Fatalf("first %v, again %v", first["result"], again["result"])
	}
	s1, s2 := first["scan"].(map[string]any), again["scan"].(map[string]any)
	if s1["id"] != s2["id"] || s2["replayed"] != true || s1["device_time"] != "2026-12-27T17:00:00Z" {
		t.Fatalf("first %v, again %v", s1, s2)
	}
	scans, _, _ := f.env.Core.Store.Scans(context.Background(), admit.ScanFilter{EventID: f.res.Event.ID})
	if len(scans) != 1 {
		t.Fatalf("%d scans logged, want 1", len(scans))
	}
}

// Who may do what: each row is a key and a request, and what it gets.
func TestAuthorization(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	scanner, err := f.env.Core.CreateOrganizerKey(ctx, "acme", "Door key", admit.RoleScanner)
	if err != nil {
		t.Fatal(err)
	}
	// Another organizer, with an event and a key of its own.
	other := f.env.Import(t, strings.NewReplacer(`"acme"`, `"rival"`, `"fest"`, `"rivalfest"`).Replace(eventJSON))
	rival, err := f.env.Core.CreateOrganizerKey(ctx, "rival", "Rival", admit.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	_, deviceKey := f.env.PairedDevice(t, admit.DeviceSpec{Organizer: "acme", Name: "Gate 1", Event: "fest"})
	archived, archivedKey := f.env.PairedDevice(t, admit.DeviceSpec{Organizer: "acme", Name: "Old", Event: "fest"})
	if _, err := f.env.Core.ArchiveDevice(ctx, archived.UUID); err != nil {
		t.Fatal(err)
	}
	ev := "/api/v1/events/" + f.event
	cases := []struct {
		name, key, method, path string
		body                    any
		status                  int
	}{
		{"no key is 401", "", "GET", "/api/v1/events", nil, 401},
		{"a wrong key is 401", "adm_nope", "GET", "/api/v1/events", nil, 401},
		{"an admin reads its events", f.admin, "GET", "/api/v1/events", nil, 200},
		{"a scanner key reads an event", scanner, "GET", ev, nil, 200},
		{"a scanner key scans", scanner, "POST", ev + "/scans", scanBody(f.qr(tAnn)), 200},
		{"a scanner key reads occupancy", scanner, "GET", ev + "/occupancy", nil, 200},
		{"a scanner key searches", scanner, "GET", ev + "/tickets?q=ann", nil, 200},
		{"a scanner key may not create devices", scanner, "POST", "/api/v1/devices", map[string]any{"name": "x"}, 403},
		{"a scanner key may not block tickets", scanner, "POST", ev + "/tickets/" + f.res.Tickets[tAnn].UUID + "/block", nil, 403},
		{"a scanner key may not import", scanner, "POST", "/api/v1/imports", eventJSON, 403},
		{"a device key scans its event", deviceKey, "POST", ev + "/scans", scanBody(f.qr(tVic)), 200},
		{"a device key may not list devices", deviceKey, "GET", ev + "/devices", nil, 403},
		{"an archived device's key is refused", archivedKey, "GET", ev, nil, 403},
		{"another organizer's event is 404", rival, "GET", ev, nil, 404},
		{"another organizer cannot scan here", rival, "POST", ev + "/scans", scanBody(f.qr(tAnn)), 404},
		{"another organizer's scan log is 404", rival, "GET", ev + "/scans", nil, 404},
		{"another organizer's ticket is 404", f.admin, "GET", "/api/v1/events/" + other.Event.UUID + "/tickets/" + other.Tickets[0].UUID, nil, 404},
		{"a device of one event cannot read another", deviceKey, "GET", "/api/v1/events/" + other.Event.UUID, nil, 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := f.call(t, c.key, c.method, c.path, c.body)
			if a.Status != c.status {
				t.Fatalf("status %d, want %d: %s", a.Status, c.status, a.Body)
			}
			if c.status >= 400 {
				a.problem(t, c.status)
			}
		})
	}
	// A rival's view of its events never holds acme's.
	evs := f.call(t, rival, "GET", "/api/v1/events", nil).json(t)["events"].([]any)
	if len(evs) != 1 || evs[0].(map[string]any)["uuid"] != other.Event.UUID {
		t.Fatalf("rival sees %v", evs)
	}
}

// Bad input of every kind gets a problem that names it, and nothing is recorded.
func TestBadInputIsAProblemAndRecordsNothing(t *testing.T) {
	f := setup(t)
	ev := "/api/v1/events/" + f.event
	big := `{"code": "` + strings.Repeat("x", 70<<10) + `"}`
	cases := []struct {
		name, method, path string
		body               any
		status             int
		detail             string
	}{
		{"malformed JSON", "POST", ev + "/scans", `{"code": `, 400, "malformed JSON"},
		{"a wrong type", "POST", ev + "/scans", `{"code": 12}`, 400, "field code"},
		{"an unknown field", "POST", ev + "/scans", `{"code": "x", "kode": "y"}`, 400, "unknown field"},
		{"no code", "POST", ev + "/scans", `{}`, 400, "code: required"},
		{"a code too long", "POST", ev + "/scans", map[string]any{"code": strings.Repeat("x", 5000)}, 400, "4096"},
		{"a body too large", "POST", ev + "/scans", big, 413, "64 KiB"},
		{"an unknown scan type", "POST", ev + "/scans", `{"code": "x", "type": "sideways"}`, 400, "entry"},
		{"an unknown list", "POST", ev + "/scans", `{"code": "x", "list": "Nope"}`, 422, `"Nope"`},
		{"a bad device time", "POST", ev + "/scans", `{"code": "x", "scanned_at": "yesterday"}`, 400, "scanned_at"},
		{"a malformed event id", "GET", "/api/v1/events/not-a-uuid", nil, 404, "no event"},
		{"an unknown ticket", "GET", ev + "/tickets/00000000-0000-4000-8000-000000000000", nil, 404, "no ticket"},
		{"a bad limit", "GET", ev + "/scans?limit=0", nil, 400, "limit"},
		{"a bad cursor", "GET", ev + "/scans?after=x", nil, 400, "after"},
		{"a bad result filter", "GET", ev + "/scans?result=maybe", nil, 400, "result"},
		{"a bad since", "GET", ev + "/scans?since=monday", nil, 400, "since"},
		{"an unknown device filter", "GET", ev + "/scans?device=00000000-0000-4000-8000-000000000000", nil, 422, "device"},
		{"an unknown format", "GET", ev + "/scans?format=xml", nil, 400, "format"},
		{"an unknown route", "GET", "/api/v1/nothing", nil, 404, "no route"},
		{"a route with another method", "DELETE", ev + "/scans", nil, 405, "not allowed"},
		{"a device without a name", "POST", "/api/v1/devices", `{"name": ""}`, 422, "name"},
		{"a device list without an event", "POST", "/api/v1/devices", `{"name": "x", "list": "Main"}`, 422, "needs an event"},
		{"a device of an unknown event", "POST", "/api/v1/devices", `{"name": "x", "event": "00000000-0000-4000-8000-000000000000"}`, 422, "event"},
		{"a used or unknown pairing token", "POST", "/api/v1/pair", `{"token": "nope"}`, 404, "pairing token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := f.callBad(t, f.admin, c.method, c.path, c.body).problem(t, c.status)
			if !contains(d, c.detail) {
				t.Fatalf("detail %q does not name %q", d, c.detail)
			}
		})
	}
	scans, _, _ := f.env.Core.Store.Scans(context.Background(), admit.ScanFilter{EventID: f.res.Event.ID})
	if len(scans) != 0 {
		t.Fatalf("%d scans recorded by bad requests", len(scans))
	}
}

func TestTheScanLogPagesAndExports(t *testing.T) {
	f := setup(t)
	ev := "/api/v1/events/" + f.event
	for _, i := range []int{tAnn, tAnn, tBob, tVic, tDee} {
		f.call(t, f.admin, "POST", ev+"/scans", scanBody(f.qr(i)))
	}
	f.call(t, f.admin, "POST", ev+"/scans", scanBody(f.qr(tDee), "type", "exit"))
	// Pages of two, by cursor, in log order.
	var ids []float64
	var names []string
	next := ""
	for pages := 0; ; pages++ {
		m := f.call(t, f.admin, "GET", ev+"/scans?limit=2"+next, nil).json(t)
		for _, s := range m["scans"].([]any) {
			ids = append(ids, s.(map[string]any)["id"].(float64))
			names = append(names, s.(map[string]any)["attendee_name"].(string))
		}
		if m["next"] == nil {
			break
		}
		next = "&after=" + m["next"].(string)
		if pages > 5 {
			t.Fatal("the cursor does not end")
		}
	}
	if len(ids) != 6 || !slices.IsSorted(ids) || names[0] != "Ann Archer" || names[3] != "Vic Valdez" {
		t.Fatalf("ids %v names %v", ids, names)
	}
	// Filters.
	refused := f.call(t, f.admin, "GET", ev+"/scans?result=refused", nil).json(t)["scans"].([]any)
	if len(refused) != 2 || refused[0].(map[string]any)["reason"] != "already_inside" || refused[1].(map[string]any)["reason"] != "canceled" {
		t.Fatalf("refused: %v", refused)
	}
	exits := f.call(t, f.admin, "GET", ev+"/scans?type=exit&ticket="+f.res.Tickets[tDee].UUID, nil).json(t)["scans"].([]any)
	if len(exits) != 1 {
		t.Fatalf("exits: %v", exits)
	}
	// CSV: a header and every row, whatever the limit.
	for _, how := range []struct{ query, accept string }{{"?format=csv&limit=1", ""}, {"", "text/csv"}} {
		a := f.call(t, f.admin, "GET", ev+"/scans"+how.query, nil, "Accept", how.accept)
		if a.Status != 200 || !strings.HasPrefix(a.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("csv: %d %s", a.Status, a.Header.Get("Content-Type"))
		}
		rows, err := csv.NewReader(bytes.NewReader(a.Body)).ReadAll()
		if err != nil || len(rows) != 7 || rows[0][0] != "id" || rows[1][2] != "Ann Archer" || rows[6][10] != "exit" ||
			rows[0][len(rows[0])-1] != "covered" || rows[1][len(rows[1])-1] != "false" {
			t.Fatalf("csv rows %v, %v", rows, err)
		}
	}
	a := f.call(t, f.admin, "GET", ev+"/scans?format=ndjson&result=ok", nil)
	sc := bufio.NewScanner(bytes.NewReader(a.Body))
	n := 0
	for sc.Scan() {
		var s map[string]any
		if err := json.Unmarshal(sc.Bytes(), &s); err == nil && s["id"] == nil {
			if _, ok := s["tree_size"]; !ok {
				t.Fatalf("ndjson end %q", sc.Text())
			}
			continue // the last line: the checkpoint
		}
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil || s["result"] != "ok" {
			t.Fatalf("ndjson line %q: %v", sc.Text(), err)
		}
		n++
	}
	if n != 4 {
		t.Fatalf("%d ok rows in ndjson, want 4", n)
	}
}

// An export larger than one chunk streams every row once, in order.
func TestTheExportStreamsPastOneChunk(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	const n = 2500
	for i := range n {
		_, err := f.env.Core.Redeem(ctx, &admit.RedeemRequest{Code: fmt.Sprintf("garbage-%d", i), EventID: f.res.Event.ID,
			OrganizerID: f.res.Organizer.ID, Plain: admit.PlainAny, Source: "test"})
		if err != nil {
			t.Fatal(err)
		}
	}
	a := f.call(t, f.admin, "GET", "/api/v1/events/"+f.event+"/scans?format=ndjson", nil)
	lines := bytes.Split(bytes.TrimSpace(a.Body), []byte("\n"))
	if len(lines) != n+1 || !bytes.Contains(lines[n], []byte(`"tree_size"`)) {
		t.Fatalf("%d lines, want %d rows and the checkpoint", len(lines), n)
	}
	lines = lines[:n]
	last := -1.0
	for _, l := range lines {
		var s map[string]any
		json.Unmarshal(l, &s)
		if id := s["id"].(float64); id <= last {
			t.Fatalf("id %v after %v", id, last)
		} else {
			last = id
		}
	}
}

func TestDevicesPairAndScan(t *testing.T) {
	f := setup(t)
	created := f.call(t, f.admin, "POST", "/api/v1/devices", map[string]any{"name": "Gate 2", "event": f.event, "list": "Main"})
	if created.Status != 201 {
		t.Fatalf("create: %d %s", created.Status, created.Body)
	}
	d := created.json(t)
	for _, k := range []string{"pair_qr_png", "scanner_qr_png"} {
		if !strings.HasPrefix(d[k].(string), "data:image/png;base64,") {
			t.Fatalf("%s is not a PNG data URL", k)
		}
	}
	token := d["pairing_token"].(string)
	if d["pair_url"] != f.env.URL+"/o/acme/scan/"+token+"/pair" || d["scanner_url"] != f.env.URL+"/scanner#pair="+token {
		t.Fatalf("pair_url %v scanner_url %v", d["pair_url"], d["scanner_url"])
	}
	if d["ticketing_code"] == nil || d["pretixdroid"] == nil {
		t.Fatalf("no pretixdroid setup or TickeTing code: %s", created.Body)
	}
	// The browser scanner pairs with the token, once.
	p := f.call(t, "", "POST", "/api/v1/pair", map[string]any{"token": token}).json(t)
	key := p["api_key"].(string)
	if p["device"].(map[string]any)["name"] != "Gate 2" || p["event"].(map[string]any)["uuid"] != f.event || p["list"].(map[string]any)["name"] != "Main" {
		t.Fatalf("paired: %v", p)
	}
	f.call(t, "", "POST", "/api/v1/pair", map[string]any{"token": token}).problem(t, 404)
	// Its key scans, and the log names the device.
	me := f.call(t, key, "GET", "/api/v1/me", nil).json(t)
	if me["role"] != "scanner" || me["device"].(map[string]any)["name"] != "Gate 2" {
		t.Fatalf("me: %v", me)
	}
	if r := f.call(t, key, "POST", "/api/v1/events/"+f.event+"/scans", scanBody(f.qr(tAnn))).json(t); r["result"] != "ok" {
		t.Fatalf("device scan: %v", r)
	}
	f.call(t, key, "POST", "/api/v1/events/"+f.event+"/scans", scanBody(f.qr(tBob)))
	devs := f.call(t, f.admin, "GET", "/api/v1/events/"+f.event+"/devices", nil).json(t)["devices"].([]any)
	var gate map[string]any
	for _, x := range devs {
		if x.(map[string]any)["name"] == "Gate 2" {
			gate = x.(map[string]any)
		}
	}
	if gate == nil || gate["scans"].(float64) != 2 || gate["refusals"].(float64) != 1 || gate["last_seen"] == nil || gate["claimed"] != true {
		t.Fatalf("devices: %v", devs)
	}
	// Archived: refused from its next request.
	f.call(t, f.admin, "POST", "/api/v1/devices/"+d["uuid"].(string)+"/archive", nil)
	f.call(t, key, "POST", "/api/v1/events/"+f.event+"/scans", scanBody(f.qr(tVic))).problem(t, 403)
}

// The TiBillet app pairs with the pair URL the API gives.
func TestTheAPIsPairURLPairsTheTiBilletApp(t *testing.T) {
	f := setup(t)
	d := f.call(t, f.admin, "POST", "/api/v1/devices", map[string]any{"name": "Phone", "event": f.event}).json(t)
	r := admittest.Do(t, "GET", d["pair_url"].(string), nil)
	if r.Status != 200 || r.JSON(t)["api_key"] == nil {
		t.Fatalf("pair: %d %s", r.Status, r.Body)
	}
}

func TestTicketsSearchCheckinAndBlock(t *testing.T) {
	f := setup(t)
	ev := "/api/v1/events/" + f.event
	found := f.call(t, f.admin, "GET", ev+"/tickets?q=arch", nil).json(t)["tickets"].([]any)
	if len(found) != 1 || found[0].(map[string]any)["name"] != "Ann Archer" || found[0].(map[string]any)["state"] != nil {
		t.Fatalf("search: %v", found)
	}
	ann := f.res.Tickets[tAnn].UUID
	r := f.call(t, f.admin, "POST", ev+"/tickets/"+ann+"/checkin", map[string]any{}).json(t)
	if r["result"] != "ok" {
		t.Fatalf("manual check-in: %v", r)
	}
	r = f.call(t, f.admin, "POST", ev+"/tickets/"+ann+"/checkin", map[string]any{"type": "entry"}).json(t)
	if r["reason"] != "already_inside" {
		t.Fatalf("manual check-in again: %v", r)
	}
	got := f.call(t, f.admin, "GET", ev+"/tickets/"+ann, nil).json(t)
	if st := got["state"].(map[string]any); st["inside"] != true || st["entries"].(float64) != 1 {
		t.Fatalf("state: %v", got)
	}
	scans, _, _ := f.env.Core.Store.Scans(context.Background(), admit.ScanFilter{EventID: f.res.Event.ID})
	if len(scans) != 2 || scans[0].Source != api.SourceManual || scans[0].Redeemer != "Box office" {
		t.Fatalf("logged as %q by %q", scans[0].Source, scans[0].Redeemer)
	}
	// Blocked: refused from the next scan; unblocked: admitted again.
	vic := f.res.Tickets[tVic].UUID
	if b := f.call(t, f.admin, "POST", ev+"/tickets/"+vic+"/block", nil).json(t); b["blocked"] != true {
		t.Fatalf("block: %v", b)
	}
	if r := f.call(t, f.admin, "POST", ev+"/scans", scanBody(f.qr(tVic))).json(t); r["reason"] != "blocked" {
		t.Fatalf("blocked ticket: %v", r)
	}
	f.call(t, f.admin, "POST", ev+"/tickets/"+vic+"/unblock", nil)
	if r := f.call(t, f.admin, "POST", ev+"/scans", scanBody(f.qr(tVic))).json(t); r["result"] != "ok" {
		t.Fatalf("unblocked ticket: %v", r)
	}
}

var _ = http.StatusOK

// Occupancy follows entries and exits per list and per section, and a
// full area refuses until an exit frees a place.
func TestOccupancyAndCapacity(t *testing.T) {
	f := setup(t)
	// The same event with a capacity of 2 on the Floor.
	f.env.Import(t, strings.Replace(eventJSON, `{"name": "Floor"}`, `{"name": "Floor", "capacity": 2}`, 1))
	ev := "/api/v1/events/" + f.event
	scan := func(i int, typ string) map[string]any {
		return f.call(t, f.admin, "POST", ev+"/scans", scanBody(f.qr(i), "type", typ)).json(t)
	}
	for _, step := range []struct {
		ticket       int
		typ, reason  string
		floor, total int // inside the Floor and on the Main list after the step
	}{
		{tAnn, "entry", "", 1, 1},
		{tDee, "entry", "", 2, 2},
		{tVic, "entry", "", 2, 3}, // the Balcony has no capacity
		{tEve, "entry", "expired", 2, 3},
		{tDee, "exit", "", 1, 2},
		{tDee, "entry", "", 2, 3},
	} {
		r := scan(step.ticket, step.typ)
		if got, _ := r["reason"].(string); got != step.reason {
			t.Fatalf("%d %s: reason %q, want %q (%v)", step.ticket, step.typ, got, step.reason, r["message"])
		}
		occ := f.call(t, f.admin, "GET", ev+"/occupancy", nil).json(t)
		var floor, main map[string]any
		for _, a := range occ["sections"].([]any) {
			if a.(map[string]any)["name"] == "Floor" {
				floor = a.(map[string]any)
			}
		}
		for _, a := range occ["lists"].([]any) {
			if a.(map[string]any)["name"] == "Main" {
				main = a.(map[string]any)
			}
		}
		if floor["inside"].(float64) != float64(step.floor) || main["inside"].(float64) != float64(step.total) || floor["capacity"].(float64) != 2 {
			t.Fatalf("after %d %s: floor %v, main %v", step.ticket, step.typ, floor, main)
		}
	}
	// The Floor is full (Ann and Dee): Eve, valid again, is refused as the area is full.
	f.env.Import(t, strings.Replace(strings.Replace(eventJSON, `{"name": "Floor"}`, `{"name": "Floor", "capacity": 2}`, 1),
		`, "valid_until": "2020-01-01T00:00:00Z"`, "", 1))
	r := scan(tEve, "entry")
	if r["reason"] != "capacity" || r["message"] != "Area full: no place left" {
		t.Fatalf("a full area: %v", r)
	}
	occ := f.call(t, f.admin, "GET", ev+"/occupancy", nil).json(t)
	main := occ["lists"].([]any)[0].(map[string]any)
	if main["entries"].(float64) != 4 || main["exits"].(float64) != 1 || main["inside"].(float64) != 3 {
		t.Fatalf("main list counts: %v", main)
	}
}

package ticketing_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

const msgNone = "None of the provided ticket serials grants admission to this event"

// POST /events/{event}/admissions admits through the core's one decision.
func TestAdmit(t *testing.T) {
	f := start(t)
	f.clock.Set(time.Date(2030, 7, 1, 18, 5, 0, 0, time.UTC))

	t.Run("201 with a bare array of the admissions", func(t *testing.T) {
		r := f.admitSerials(t, f.key, serCharles)
		want(t, r, 201)
		recs := array(t, r)
		if len(recs) != 1 {
			t.Fatalf("records %v", recs)
		}
		a := recs[0]
		if a["redeemer"] != "Rita" || a["device"] != "Gate 1" || a["ticket"] != serCharles || a["admitted"] != "2030-07-01T18:05:00+00:00" {
			t.Errorf("admission %v", a)
		}
		p := a["patron"].(map[string]any)
		num, _ := p["number"].(string)
		if p["self"] != "/accounts/"+num || !reAccount.MatchString(num) || p["email"] != "charles@example.org" ||
			p["firstName"] != "Charles" || p["lastName"] != "Babbage" || p["username"] == nil {
			t.Errorf("patron %v", p)
		}
		if s := a["section"].(map[string]any); s["self"] != sectionURI(f, "Balcony") || s["name"] != "Balcony" {
			t.Errorf("section %v", s)
		}
	})
	t.Run("an admitted ticket is not admitted again", func(t *testing.T) {
		wantError(t, f.admitSerials(t, f.key, serCharles), 400, msgNone)
	})
	t.Run("a serial repeated in the request is admitted once", func(t *testing.T) {
		recs := array(t, f.admitSerials(t, f.key, serLegacy, serLegacy, " "+serLegacy+" "))
		if got := serialsOf(recs, "ticket"); !slices.Equal(got, []string{serLegacy}) {
			t.Fatalf("admitted %v", got)
		}
	})
	t.Run("a QR string with a forged signature admits nothing", func(t *testing.T) {
		payload, sig, _ := strings.Cut(f.tickets["Lovelace"].QRCode, ":")
		b := []byte(sig)
		b[10] ^= 'A' ^ 'B' // A↔B: still base64, no longer the signature
		if b[10] != 'A' && b[10] != 'B' {
			b[10] = 'A'
		}
		wantError(t, f.admitSerials(t, f.key, payload+":"+string(b)), 400, msgNone)
	})
	t.Run("only the admissible serials are admitted", func(t *testing.T) {
		recs := array(t, f.admitSerials(t, f.key, serCharles, serCanceled, serPending, "NOSUCH-000000000000", serAda, "WINTER-ADA000000001"))
		if got := serialsOf(recs, "ticket"); !slices.Equal(got, []string{serAda}) {
			t.Fatalf("admitted %v, want only %s", got, serAda)
		}
	})
	t.Run("the full signed QR string is a serial too", func(t *testing.T) {
		grace := f.tickets["Hopper"]
		recs := array(t, f.admitSerials(t, f.key, grace.QRCode))
		if got := serialsOf(recs, "ticket"); !slices.Equal(got, []string{grace.Serial}) {
			t.Fatalf("admitted %v, want %s", got, grace.Serial)
		}
		wantError(t, f.admitSerials(t, f.key, grace.Serial), 400, msgNone)
	})
	cases := []struct {
		name string
		body any
	}{
		{"no serials", map[string]any{"redeemer": "Rita", "device": "Gate 1"}},
		{"an empty list", map[string]any{"redeemer": "Rita", "device": "Gate 1", "serials": []string{}}},
		{"only blank serials", map[string]any{"serials": []string{"", "  "}}},
		{"serials of the wrong type", map[string]any{"serials": "FLOOR1-ADA000000001"}},
		{"malformed JSON", `{"serials": [`},
	}
	for _, c := range cases {
		t.Run("400 for "+c.name, func(t *testing.T) {
			r := f.do(t, "POST", f.evPath("/admissions"), f.key, c.body)
			want(t, r, 400)
			if r.JSON(t)["error"] == "" {
				t.Fatal("no error text")
			}
		})
	}
}

// GET /events/{event}/admissions with its filters.
func TestAdmissionsList(t *testing.T) {
	f := start(t)
	floor, _ := f.staffKey(t, "Floor")
	post := func(key, redeemer, device string, serials ...string) {
		t.Helper()
		want(t, f.do(t, "POST", f.evPath("/admissions"), key,
			map[string]any{"redeemer": redeemer, "device": device, "serials": serials}), 201)
	}
	post(f.key, "Rita", "Gate 1", serCharles)
	post(floor, "Sam", "Gate 2", serAda)
	post(f.key, "Rita", "Gate 2", serLegacy)

	var ada map[string]any
	for _, e := range entries(t, f.do(t, "GET", f.evPath("/tickets"), f.key, nil)) {
		if e["serial"] == serAda {
			ada = e["owner"].(map[string]any)
		}
	}
	cases := []struct {
		name  string
		key   string
		query string
		want  []string
	}{
		{"all, oldest first", f.key, "", []string{serCharles, serAda, serLegacy}},
		{"by redeemer", f.key, "?redeemer=Rita", []string{serCharles, serLegacy}},
		{"by device", f.key, "?device=" + url.QueryEscape("Gate 2"), []string{serAda, serLegacy}},
		{"by redeemer and device", f.key, "?redeemer=Rita&device=" + url.QueryEscape("Gate 2"), []string{serLegacy}},
		{"by ticket serial", f.key, "?ticket=" + serAda, []string{serAda}},
		{"by an unknown serial", f.key, "?ticket=NOSUCH-000000000000", []string{}},
		{"by patron URI", f.key, "?patron=" + url.QueryEscape(ada["self"].(string)), []string{serAda}},
		{"by patron number", f.key, "?patron=" + ada["number"].(string), []string{serAda}},
		{"by section id", f.key, fmt.Sprintf("?section=%d", f.sections["VIP"]), []string{serLegacy}},
		{"by section URI", f.key, "?section=" + url.QueryEscape(sectionURI(f, "Balcony")), []string{serCharles}},
		{"a staff key sees its sections' only", floor, "", []string{serAda}},
		{"a staff key filtering on another section sees nothing", floor, fmt.Sprintf("?section=%d", f.sections["VIP"]), []string{}},
		{"paginated", f.key, "?records=2&page=2", []string{serLegacy}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			es := entries(t, f.do(t, "GET", f.evPath("/admissions"+c.query), c.key, nil))
			if got := serialsOf(es, "ticket"); !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
				t.Fatalf("admissions %v, want %v", got, c.want)
			}
		})
	}
	t.Run("a record's shape", func(t *testing.T) {
		es := entries(t, f.do(t, "GET", f.evPath("/admissions?ticket="+serAda), f.key, nil))
		a := es[0]
		if a["redeemer"] != "Sam" || a["device"] != "Gate 2" || a["patron"].(map[string]any)["self"] != ada["self"] {
			t.Errorf("admission %v", a)
		}
		if s, _ := a["admitted"].(string); !reDate.MatchString(s) {
			t.Errorf("admitted %q", s)
		}
		if s := a["section"].(map[string]any); s["self"] != sectionURI(f, "Floor") {
			t.Errorf("section %v", s)
		}
	})
	t.Run("a bad section filter", func(t *testing.T) {
		want(t, f.do(t, "GET", f.evPath("/admissions?section=Floor"), f.key, nil), 400)
	})
}

// A serial repeated in one request is admitted once even where the list
// would admit the ticket again and again.
func TestAdmitRepeatedSerialOnMultiEntryList(t *testing.T) {
	f := start(t)
	ev := f.env.Import(t, `{"organizer": {"slug": "acme"}, "event": {"slug": "club"},
	  "products": [{"name": "Member"}], "lists": [{"name": "Door", "default": true, "allow_multiple_entries": true}],
	  "orders": [{"code": "M1", "status": "paid", "email": "m@example.org", "tickets": [
	    {"product": "Member", "serial": "MEMBER-000000000001"}]}]}`).Event
	path := fmt.Sprintf("/v3/events/%d/admissions", ev.ID)
	body := map[string]any{"redeemer": "Rita", "device": "Door", "serials": []string{"MEMBER-000000000001", "MEMBER-000000000001"}}
	r := f.do(t, "POST", path, f.key, body)
	want(t, r, 201)
	if recs := array(t, r); len(recs) != 1 {
		t.Fatalf("%d admissions for one serial sent twice: %s", len(recs), r.Body)
	}
	// A ticket without a section: the section object is still there.
	if s := array(t, r)[0]["section"].(map[string]any); s["self"] != fmt.Sprintf("/events/%d/sections/0", ev.ID) {
		t.Errorf("section %v", s)
	}
	// The next request admits it again: the list allows it.
	want(t, f.do(t, "POST", path, f.key, body), 201)
}

package tibillet_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/admittest"
)

// Ticket and order uuids of the main fixture.
const (
	uJohn      = "10000000-0000-4000-8000-000000000001" // paid, Concert Ticket, order FOO (2 tickets)
	uJane      = "10000000-0000-4000-8000-000000000002" // paid, Concert Ticket, order FOO
	uCarl      = "10000000-0000-4000-8000-000000000003" // order canceled
	uPeter     = "10000000-0000-4000-8000-000000000004" // order pending
	uBob       = "10000000-0000-4000-8000-000000000005" // blocked
	uEarly     = "10000000-0000-4000-8000-000000000006" // valid from 2099
	uLate      = "10000000-0000-4000-8000-000000000007" // valid until 2000
	uTee       = "10000000-0000-4000-8000-000000000008" // T-Shirt: on no entrance list
	uVera      = "10000000-0000-4000-8000-000000000009" // VIP Pass
	uPaula     = "10000000-0000-4000-8000-00000000000a" // order pending (for the pending door)
	uRita      = "10000000-0000-4000-8000-00000000000b" // paid, for re-import cancel
	uOscar     = "20000000-0000-4000-8000-000000000001" // the other event's
	uGus       = "30000000-0000-4000-8000-000000000001" // the other organizer's
	oFOO       = "a0000000-0000-4000-8000-000000000001"
	tenantName = "Example Organization"
	tenantHost = "example.tibillet.org"
	eventName  = "Example Event"
)

// mainFixture: organizer demoorga, event democon with three products, three
// lists and tickets in every state.
const mainFixture = `{
  "organizer": {"slug": "demoorga", "name": "Example Organization", "domain": "example.tibillet.org"},
  "event": {"slug": "democon", "name": "Example Event", "date_from": "2026-12-27T17:00:00Z",
            "date_to": "2026-12-30T18:00:00Z", "timezone": "UTC"},
  "sections": [{"name": "Floor", "description": "Standing area"}],
  "products": [{"name": "Concert Ticket"}, {"name": "VIP Pass"},
               {"name": "T-Shirt", "admission": false, "variations": ["Red", "Blue"]}],
  "lists": [{"name": "Main entrance", "products": ["Concert Ticket", "VIP Pass"], "default": true},
            {"name": "VIP lounge", "products": ["VIP Pass"]},
            {"name": "Pending door", "include_pending": true}],
  "orders": [
    {"code": "FOO", "uuid": "` + oFOO + `", "status": "paid", "email": "john@example.org", "name": "John Doe", "tickets": [
      {"uuid": "` + uJohn + `", "product": "Concert Ticket", "price": "General Admission", "first_name": "John", "last_name": "Doe", "section": "Floor"},
      {"uuid": "` + uJane + `", "product": "Concert Ticket", "price": "General Admission", "first_name": "Jane", "last_name": "Doe", "email": "jane@example.org"}]},
    {"code": "CAN", "status": "canceled", "email": "carl@example.org", "tickets": [
      {"uuid": "` + uCarl + `", "product": "Concert Ticket", "price": "General Admission", "first_name": "Carl", "last_name": "Canceled"}]},
    {"code": "PEN", "status": "pending", "email": "peter@example.org", "tickets": [
      {"uuid": "` + uPeter + `", "product": "Concert Ticket", "price": "General Admission", "first_name": "Peter", "last_name": "Higgs"}]},
    {"code": "BLK", "status": "paid", "email": "bob@example.org", "tickets": [
      {"uuid": "` + uBob + `", "product": "Concert Ticket", "price": "General Admission", "first_name": "Bob", "last_name": "Blocked", "blocked": true}]},
    {"code": "EAR", "status": "paid", "email": "early@example.org", "tickets": [
      {"uuid": "` + uEarly + `", "product": "Concert Ticket", "price": "Next Year", "first_name": "Eve", "last_name": "Early",
       "valid_from": "2099-01-01T00:00:00Z"}]},
    {"code": "LAT", "status": "paid", "email": "late@example.org", "tickets": [
      {"uuid": "` + uLate + `", "product": "Concert Ticket", "price": "Last Year", "first_name": "Larry", "last_name": "Late",
       "valid_until": "2000-01-01T00:00:00Z"}]},
    {"code": "TEE", "status": "paid", "email": "tee@example.org", "tickets": [
      {"uuid": "` + uTee + `", "product": "T-Shirt", "variation": "Red", "price": "Merch", "first_name": "Tina", "last_name": "Shirt"}]},
    {"code": "VIP", "status": "paid", "email": "vera@example.org", "tickets": [
      {"uuid": "` + uVera + `", "product": "VIP Pass", "price": "Backstage", "first_name": "Vera", "last_name": "Important"}]},
    {"code": "PEN2", "status": "pending", "email": "paula@example.org", "tickets": [
      {"uuid": "` + uPaula + `", "product": "Concert Ticket", "price": "General Admission", "first_name": "Paula", "last_name": "Pending"}]},
    {"code": "RIT", "status": "paid", "email": "rita@example.org", "tickets": [
      {"uuid": "` + uRita + `", "product": "Concert Ticket", "price": "General Admission", "first_name": "Rita", "last_name": "Refund"}]}
  ]
}`

// otherEventFixture: a second event of demoorga. (An import names the
// organizer in full: a name left out would become the slug.)
const otherEventFixture = `{
  "organizer": {"slug": "demoorga", "name": "Example Organization", "domain": "example.tibillet.org"},
  "event": {"slug": "otherfest", "name": "Other Fest"},
  "products": [{"name": "Concert Ticket"}],
  "orders": [{"code": "OSC", "status": "paid", "email": "oscar@example.org", "tickets": [
    {"uuid": "` + uOscar + `", "product": "Concert Ticket", "first_name": "Oscar", "last_name": "Other"}]}]
}`

// otherOrganizerFixture: an event of another organizer.
const otherOrganizerFixture = `{
  "organizer": {"slug": "globex", "name": "Globex"},
  "event": {"slug": "expo", "name": "Expo"},
  "products": [{"name": "Ticket"}],
  "orders": [{"code": "GUS", "status": "paid", "email": "gus@example.org", "tickets": [
    {"uuid": "` + uGus + `", "product": "Ticket", "first_name": "Gus", "last_name": "Globex"}]}]
}`

// fixture is a running server with the three fixtures imported.
type fixture struct {
	env     *admittest.Env
	ev      *admit.Event // democon
	other   *admit.Event // demoorga's otherfest
	foreign *admit.Event // globex's expo
	qr      map[string]string
}

func start(t *testing.T) *fixture {
	t.Helper()
	env := admittest.Start(t)
	f := &fixture{env: env, qr: map[string]string{}}
	for i, file := range []string{mainFixture, otherEventFixture, otherOrganizerFixture} {
		res := env.Import(t, file)
		switch i {
		case 0:
			f.ev = res.Event
		case 1:
			f.other = res.Event
		case 2:
			f.foreign = res.Event
		}
		for _, tk := range res.Tickets {
			if tk.QRCode == "" {
				t.Fatalf("ticket %s imported without a QR code", tk.UUID)
			}
			f.qr[tk.UUID] = tk.QRCode
		}
	}
	return f
}

// device pairs a device of demoorga, bound to event and list when given.
func (f *fixture) device(t *testing.T, name, event, list string) (*admit.Device, string) {
	t.Helper()
	return f.env.PairedDevice(t, admit.DeviceSpec{Organizer: "demoorga", Name: name, Event: event, List: list})
}

// call sends a request with the key (none when empty) and checks that the
// answer is JSON.
func (f *fixture) call(t *testing.T, method, path, key string, body any) *admittest.Response {
	t.Helper()
	var h []string
	if key != "" {
		h = append(h, "Authorization", "Api-Key "+key)
	}
	r := f.env.Do(t, method, path, body, h...)
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: Content-Type %q, want application/json; body: %s", method, path, ct, r.Body)
	}
	return r
}

// scan posts a QR code to /scan/ticket/ (with event_uuid when not empty).
func (f *fixture) scan(t *testing.T, key, qr, eventUUID string) *admittest.Response {
	t.Helper()
	b := map[string]any{"qrcode_data": qr}
	if eventUUID != "" {
		b["event_uuid"] = eventUUID
	}
	return f.call(t, "POST", "/scan/ticket/", key, b)
}

func (f *fixture) check(t *testing.T, key, qr string) *admittest.Response {
	t.Helper()
	return f.call(t, "POST", "/scan/check_ticket/", key, map[string]any{"qrcode_data": qr})
}

// want checks a status, showing the body when it differs.
func want(t *testing.T, r *admittest.Response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
}

// wantError checks an error answer: its status and its "error" text.
func wantError(t *testing.T, r *admittest.Response, status int, text string) {
	t.Helper()
	want(t, r, status)
	if got := r.JSON(t)["error"]; got != text {
		t.Fatalf("error %q, want %q; body: %s", got, text, r.Body)
	}
}

// keys returns the sorted keys of a JSON object, joined by commas.
func keys(m map[string]any) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return strings.Join(ks, ",")
}

func obj(t *testing.T, m map[string]any, field string) map[string]any {
	t.Helper()
	o, ok := m[field].(map[string]any)
	if !ok {
		t.Fatalf("no object %q in %v", field, m)
	}
	return o
}

// flip changes one character of the signature part of a QR code.
func flip(qr string) string {
	payload, sig, _ := strings.Cut(qr, ":")
	b := []byte(sig)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return payload + ":" + string(b)
}

// withPayload returns a code with the given JSON payload and qr's signature.
func withPayload(qr, payloadJSON string) string {
	_, sig, _ := strings.Cut(qr, ":")
	return base64.URLEncoding.EncodeToString([]byte(payloadJSON)) + ":" + sig
}

// rsaFixture is testdata/tibillet_rsa_fixture.json, made by
// testdata/make_rsa_fixture.py with Python's cryptography package.
type rsaFixture struct {
	UUID          string `json:"uuid"`
	QRCodeData    string `json:"qrcode_data"`
	StdUUID       string `json:"std_uuid"`
	StdQRCodeData string `json:"std_qrcode_data"`
	PublicKeyPEM  string `json:"-"`
}

func loadRSAFixture(t *testing.T) *rsaFixture {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "tibillet_rsa_fixture.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx rsaFixture
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(filepath.Join("testdata", "tibillet_rsa_public.pem"))
	if err != nil {
		t.Fatal(err)
	}
	fx.PublicKeyPEM = string(pem)
	return &fx
}

// archive archives a device as the CLI does.
func (f *fixture) archive(t *testing.T, d *admit.Device) {
	t.Helper()
	if _, err := f.env.Core.ArchiveDevice(context.Background(), d.UUID); err != nil {
		t.Fatal(err)
	}
}

package pretixdroid_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/admittest"
)

// Secrets of the main fixture's tickets.
const (
	secHiggs    = "higgs00000000000000000000000000a" // paid, with two add-ons
	secShirt    = "shirtred000000000000000000000000" // add-on of Higgs: T-Shirt - Red
	secWSAddon  = "wsaddon0000000000000000000000000" // add-on of Higgs: Workshop
	secCurie    = "curie00000000000000000000000000b" // paid
	secPending  = "pending0000000000000000000000001" // pending order
	secPending2 = "pending0000000000000000000000002" // another pending order
	secCanceled = "canceled000000000000000000000001"
	secBlocked  = "blocked0000000000000000000000001" // paid, blocked
	secExpired  = "expired0000000000000000000000001" // paid, valid until 2020
	secWorkshop = "workshop000000000000000000000001" // paid, Workshop only
	secOther    = "otherevent0000000000000000000001" // a ticket of another event
)

// mainFixture is an event with products (one with variations), four lists
// and tickets in every state.
const mainFixture = `{
  "organizer": {"slug": "demoorga", "name": "Demo Organizer"},
  "event": {"slug": "democon", "name": "Demo Conference", "date_from": "2030-12-27T17:00:00Z",
            "date_to": "2030-12-30T18:00:00Z", "timezone": "Europe/Berlin"},
  "products": [
    {"name": "Ticket"},
    {"name": "T-Shirt", "admission": false, "variations": ["Red", "Blue"]},
    {"name": "Workshop"}
  ],
  "lists": [
    {"name": "Main", "default": true},
    {"name": "Workshop only", "products": ["Workshop"]},
    {"name": "Pending ok", "include_pending": true},
    {"name": "Side entrance"}
  ],
  "orders": [
    {"code": "PAID1", "status": "paid", "name": "Peter Higgs", "email": "peter@example.org", "tickets": [
      {"product": "Ticket", "first_name": "Peter", "last_name": "Higgs", "secret": "` + secHiggs + `",
       "addons": [
         {"product": "T-Shirt", "variation": "Red", "secret": "` + secShirt + `"},
         {"product": "Workshop", "secret": "` + secWSAddon + `"}
       ]}
    ]},
    {"code": "PAID2", "status": "paid", "tickets": [
      {"product": "Ticket", "first_name": "Marie", "last_name": "Curie", "secret": "` + secCurie + `"}
    ]},
    {"code": "PEND1", "status": "pending", "tickets": [
      {"product": "Ticket", "first_name": "Paula", "last_name": "Pending", "secret": "` + secPending + `"}
    ]},
    {"code": "PEND2", "status": "pending", "tickets": [
      {"product": "Ticket", "first_name": "Pete", "last_name": "Pending", "secret": "` + secPending2 + `"}
    ]},
    {"code": "CANC1", "status": "canceled", "tickets": [
      {"product": "Ticket", "first_name": "Carl", "last_name": "Canceled", "secret": "` + secCanceled + `"}
    ]},
    {"code": "BLOCK1", "status": "paid", "tickets": [
      {"product": "Ticket", "first_name": "Bob", "last_name": "Blocked", "secret": "` + secBlocked + `", "blocked": true}
    ]},
    {"code": "TIME1", "status": "paid", "tickets": [
      {"product": "Ticket", "first_name": "Tina", "last_name": "Late", "secret": "` + secExpired + `",
       "valid_until": "2020-01-01T00:00:00Z"}
    ]},
    {"code": "WS1", "status": "paid", "tickets": [
      {"product": "Workshop", "first_name": "Walter", "last_name": "Workshop", "secret": "` + secWorkshop + `"}
    ]}
  ]
}`

// otherFixture is a second event of the same organizer.
const otherFixture = `{
  "organizer": {"slug": "demoorga", "name": "Demo Organizer"},
  "event": {"slug": "othercon", "name": "Other Conference"},
  "products": [{"name": "Ticket"}],
  "orders": [
    {"code": "OTH1", "status": "paid", "tickets": [
      {"product": "Ticket", "first_name": "Otto", "last_name": "Other", "secret": "` + secOther + `"}
    ]}
  ]
}`

const mainBase = "/pretixdroid/api/demoorga/democon/"

// fixture is a running server with the main and the other event imported.
type fixture struct {
	env     *admittest.Env
	main    *admit.ImportResult
	other   *admit.ImportResult
	tickets map[string]*admit.Ticket // by secret
	// Keys of the main event: one per list, and one without search.
	keyMain, keyWorkshop, keyPending, keySide, keyNoSearch string
	// keyOther is a key of the other event.
	keyOther string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := admittest.Start(t)
	f := &fixture{env: env, tickets: map[string]*admit.Ticket{}}
	f.main = env.Import(t, mainFixture)
	f.other = env.Import(t, otherFixture)
	for _, res := range []*admit.ImportResult{f.main, f.other} {
		for _, tk := range res.Tickets {
			f.tickets[tk.Secret] = tk
		}
	}
	f.keyMain = newKey(t, env, admit.PretixdroidKeySpec{Organizer: "demoorga", Event: "democon"})
	f.keyWorkshop = newKey(t, env, admit.PretixdroidKeySpec{Organizer: "demoorga", Event: "democon", List: "Workshop only"})
	f.keyPending = newKey(t, env, admit.PretixdroidKeySpec{Organizer: "demoorga", Event: "democon", List: "Pending ok"})
	f.keySide = newKey(t, env, admit.PretixdroidKeySpec{Organizer: "demoorga", Event: "democon", List: "Side entrance"})
	f.keyNoSearch = newKey(t, env, admit.PretixdroidKeySpec{Organizer: "demoorga", Event: "democon", NoSearch: true})
	f.keyOther = newKey(t, env, admit.PretixdroidKeySpec{Organizer: "demoorga", Event: "othercon"})
	return f
}

// ticket returns the imported ticket with the secret.
func (f *fixture) ticket(t *testing.T, secret string) *admit.Ticket {
	t.Helper()
	tk, ok := f.tickets[secret]
	if !ok {
		t.Fatalf("no ticket with secret %s in the fixture", secret)
	}
	return tk
}

// newKey creates a pretixdroid key as `admit pretixdroid key` does.
func newKey(t *testing.T, env *admittest.Env, spec admit.PretixdroidKeySpec) string {
	t.Helper()
	k, err := env.Core.CreatePretixdroidKey(context.Background(), spec)
	if err != nil {
		t.Fatalf("create pretixdroid key %+v: %v", spec, err)
	}
	if k.Key.ListID == 0 {
		t.Fatalf("key %+v has no list", spec)
	}
	return k.Plain
}

// redeem posts a redeem form with the key in the query.
func redeem(t *testing.T, env *admittest.Env, base, key string, form url.Values) *admittest.Response {
	t.Helper()
	return env.Do(t, "POST", base+"redeem/?key="+url.QueryEscape(key), form.Encode(),
		"Content-Type", "application/x-www-form-urlencoded")
}

// get sends a GET to an endpoint (search/, status/, download/) with the key
// and extra query parameters.
func get(t *testing.T, env *admittest.Env, base, endpoint, key string, query url.Values) *admittest.Response {
	t.Helper()
	q := url.Values{"key": {key}}
	for k, v := range query {
		q[k] = v
	}
	return env.Do(t, "GET", base+endpoint+"?"+q.Encode(), nil)
}

// redeemAnswer is redeem/'s answer, strictly decoded.
type redeemAnswer struct {
	Status  string    `json:"status"`
	Reason  string    `json:"reason"`
	Version int       `json:"version"`
	Data    *position `json:"data"`
}

type position struct {
	Secret         string  `json:"secret"`
	Order          string  `json:"order"`
	Item           string  `json:"item"`
	ItemID         int64   `json:"item_id"`
	Variation      *string `json:"variation"`
	VariationID    *int64  `json:"variation_id"`
	AttendeeName   *string `json:"attendee_name"`
	Attention      bool    `json:"attention"`
	Redeemed       bool    `json:"redeemed"`
	Paid           bool    `json:"paid"`
	CheckinAllowed bool    `json:"checkin_allowed"`
	AddonsText     string  `json:"addons_text"`
}

type resultsAnswer struct {
	Results   []position `json:"results"`
	Version   int        `json:"version"`
	Questions []any      `json:"questions"`
}

// positionKeys are the fields of every position object.
var positionKeys = []string{"secret", "order", "item", "item_id", "variation", "variation_id", "attendee_name",
	"attention", "redeemed", "paid", "checkin_allowed", "addons_text"}

// decodeJSON requires a 200 JSON answer (Content-Type application/json)
// and decodes it strictly into v.
func decodeJSON(t *testing.T, r *admittest.Response, v any) {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("status %d, want 200: %s", r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %T: %v\n%s", v, err, r.Body)
	}
}

// redeemJSON redeems and decodes the answer; it checks the version and
// that a ticket's data carries every field.
func redeemJSON(t *testing.T, env *admittest.Env, base, key string, form url.Values) redeemAnswer {
	t.Helper()
	r := redeem(t, env, base, key, form)
	var a redeemAnswer
	decodeJSON(t, r, &a)
	if a.Version != 3 {
		t.Errorf("version %d, want 3", a.Version)
	}
	if a.Data != nil {
		data, _ := r.JSON(t)["data"].(map[string]any)
		for _, k := range positionKeys {
			if _, ok := data[k]; !ok {
				t.Errorf("data has no %q: %s", k, r.Body)
			}
		}
	}
	return a
}

// wantText requires a plain-text answer with the status and exact body.
func wantText(t *testing.T, r *admittest.Response, status int, body string) {
	t.Helper()
	if r.Status != status || string(r.Body) != body {
		t.Errorf("got %d %q, want %d %q", r.Status, r.Body, status, body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want text/plain", ct)
	}
}

// secrets lists the secrets of positions.
func secrets(ps []position) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Secret
	}
	return out
}

// scans lists the scan log rows of a ticket, oldest first.
func scans(t *testing.T, env *admittest.Env, ticketID int64) []*admit.Scan {
	t.Helper()
	rows, _, err := env.Core.Store.Scans(context.Background(), admit.ScanFilter{TicketID: ticketID})
	if err != nil {
		t.Fatalf("scans: %v", err)
	}
	return rows
}

func ptr[T any](v T) *T { return &v }

package admittest

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/admitdev/admit"
)

// World is a server for the doors' fuzz tests: organizer acme's event
// "fest" (sections Floor and Balcony, one paid ticket), with a key of every
// kind.
type World struct {
	Env    *Env
	Event  *admit.Event
	Ticket *admit.Ticket
	// Keys: a paired device's (TiBillet), a pretixdroid key, a management
	// key (TickeTing, admit's API), a staff key (a token code's).
	Device, Pretixdroid, Admin, Staff string
}

// WorldFixture is the World's import file.
const WorldFixture = `{
  "organizer": {"slug": "acme", "name": "Acme"},
  "event": {"slug": "fest", "name": "Fest"},
  "sections": [{"name": "Floor"}, {"name": "Balcony"}],
  "products": [{"name": "Ticket"}],
  "lists": [{"name": "Main", "default": true}],
  "orders": [{"code": "A1", "status": "paid", "email": "ada@example.org", "tickets": [
    {"product": "Ticket", "first_name": "Ada", "last_name": "Lovelace", "section": "Floor", "serial": "FLOOR1-ADA000000001"}
  ]}]
}`

// NewWorld starts a World.
func NewWorld(tb testing.TB) *World {
	tb.Helper()
	env := Start(tb)
	res := env.Import(tb, WorldFixture)
	w := &World{Env: env, Event: res.Event, Ticket: res.Tickets[0]}
	ctx := context.Background()
	core := env.Core
	_, w.Device = env.PairedDevice(tb, admit.DeviceSpec{Organizer: "acme", Name: "Gate", Event: "fest"})
	pk, err := core.CreatePretixdroidKey(ctx, admit.PretixdroidKeySpec{Organizer: "acme", Event: "fest"})
	if err != nil {
		tb.Fatal(err)
	}
	w.Pretixdroid = pk.Plain
	if w.Admin, err = core.CreateManagementKey(ctx, "acme", "manager"); err != nil {
		tb.Fatal(err)
	}
	secs, err := core.Store.Sections(ctx, w.Event.ID)
	if err != nil {
		tb.Fatal(err)
	}
	tok, err := core.IssueToken(ctx, w.Event, []int64{secs[0].ID})
	if err != nil {
		tb.Fatal(err)
	}
	login, err := core.LoginWithCode(ctx, tok.Code, "setup")
	if err != nil {
		tb.Fatal(err)
	}
	w.Staff = login.Key
	return w
}

// FuzzRoutes fuzzes the requests of one door's routes on a World. An input
// is a route (its index in routes, modulo), a query string, a content type
// and a body; path makes the route's path and auth adds the right
// credential. Any answer of 500 or more fails: bad input is a clear 4xx.
// Seeds add inputs as (route, query, content type, body).
func FuzzRoutes(f *testing.F, routes []string, path func(w *World, pattern string) string, auth func(w *World, r *http.Request)) {
	w := NewWorld(f)
	h := w.Env.Server.Config.Handler
	f.Fuzz(func(t *testing.T, route uint8, query, contentType string, body []byte) {
		rt := routes[int(route)%len(routes)]
		method, pattern, _ := strings.Cut(rt, " ")
		u := "http://admit.test" + path(w, pattern)
		if query != "" {
			u += "?" + query
		}
		req, err := http.NewRequest(method, u, bytes.NewReader(body))
		if err != nil {
			return // not a request a client can send
		}
		req.Header.Set("Content-Type", contentType)
		auth(w, req)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s with %q %q: %d %s", method, u, contentType, body, rec.Code, rec.Body)
		}
	})
}

// Fill replaces the path parameters of a pattern with the World's: the
// event (by id for TickeTing, by slug for pretixdroid, else by uuid), the
// ticket, and a trailing {$} removed.
func (w *World) Fill(pattern, event string) string {
	return strings.NewReplacer("{organizer}", "acme", "{event}", event, "{subevent}", "1", "{section}", "1",
		"{token}", "1", "{scan}", "1", "{code}", "ZZZZ0000", "{ticket}", w.Ticket.UUID, "{device}", w.Ticket.UUID, "{$}", "").Replace(pattern)
}

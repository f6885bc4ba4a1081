package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/admittest"
	"github.com/admitdev/admit/server"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// acmeFixture: organizer acme, event "fest" with two sections, one paid
// ticket; globexFixture: another organizer's event.
const acmeFixture = `{
  "organizer": {"slug": "acme", "name": "Acme"},
  "event": {"slug": "fest", "name": "Fest"},
  "sections": [{"name": "Floor"}, {"name": "Balcony"}],
  "products": [{"name": "Ticket"}],
  "lists": [{"name": "Main", "default": true}],
  "orders": [{"code": "A1", "status": "paid", "email": "ada@example.org", "tickets": [
    {"product": "Ticket", "first_name": "Ada", "last_name": "Lovelace", "section": "Floor", "serial": "FLOOR1-ADA000000001"}
  ]}]
}`

const globexFixture = `{
  "organizer": {"slug": "globex"},
  "event": {"slug": "expo"},
  "sections": [{"name": "Stand"}],
  "products": [{"name": "Ticket"}],
  "orders": [{"code": "X1", "status": "paid", "email": "x@example.org", "tickets": [
    {"product": "Ticket", "section": "Stand", "serial": "GLOBEX-000000000001"}
  ]}]
}`

// trustedLoopback: the tests' requests come through a "proxy" that names
// their client in X-Forwarded-For.
var trustedLoopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// creds are one organizer's credentials of every kind.
type creds struct {
	device, archived, pretixdroid, admin, staff, scanner string
}

// world is a running server (behind a trusted proxy: each request may name
// its client in X-Forwarded-For) with acme's and globex's events, every
// kind of credential of each, and the log lines at ERROR.
type world struct {
	env           *admittest.Env
	ev, foreignEv *admit.Event
	ticket        *admit.Ticket
	sections      []*admit.Section
	acme, globex  creds
	tokenID       int64  // an issued token of acme's event, for paths
	spareToken    int64  // another, that a matrix cell may delete
	spareDev      string // uuid of a device that a matrix cell may archive
	errors        *errorLog
	clients       atomic.Int64
}

func newWorld(t *testing.T) *world {
	t.Helper()
	errs := &errorLog{}
	env := admittest.StartWith(t, func(c *server.Config) {
		c.TrustedProxies = trustedLoopback
		c.Logger = errs.logger()
	})
	w := &world{env: env, errors: errs}
	res := env.Import(t, acmeFixture)
	w.ev, w.ticket = res.Event, res.Tickets[0]
	w.foreignEv = env.Import(t, globexFixture).Event
	ctx := context.Background()
	var err error
	if w.sections, err = env.Core.Store.Sections(ctx, w.ev.ID); err != nil {
		t.Fatal(err)
	}
	w.acme = w.credsOf(t, "acme", "fest", w.ev)
	w.globex = w.credsOf(t, "globex", "expo", w.foreignEv)
	tok, err := env.Core.IssueToken(ctx, w.ev, []int64{w.sections[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	w.tokenID = tok.ID
	spare, err := env.Core.IssueToken(ctx, w.ev, []int64{w.sections[1].ID})
	if err != nil {
		t.Fatal(err)
	}
	w.spareToken = spare.ID
	d, _, err := env.Core.CreateDevice(ctx, admit.DeviceSpec{Organizer: "acme", Name: "Spare"})
	if err != nil {
		t.Fatal(err)
	}
	w.spareDev = d.UUID
	return w
}

func (w *world) credsOf(t *testing.T, org, event string, ev *admit.Event) creds {
	t.Helper()
	ctx := context.Background()
	core := w.env.Core
	var c creds
	_, c.device = w.env.PairedDevice(t, admit.DeviceSpec{Organizer: org, Name: "Gate", Event: event})
	d, archived := w.env.PairedDevice(t, admit.DeviceSpec{Organizer: org, Name: "Old gate", Event: event})
	if _, err := core.ArchiveDevice(ctx, d.UUID); err != nil {
		t.Fatal(err)
	}
	c.archived = archived
	pk, err := core.CreatePretixdroidKey(ctx, admit.PretixdroidKeySpec{Organizer: org, Event: event})
	if err != nil {
		t.Fatal(err)
	}
	c.pretixdroid = pk.Plain
	if c.admin, err = core.CreateManagementKey(ctx, org, "manager"); err != nil {
		t.Fatal(err)
	}
	if c.scanner, err = core.CreateOrganizerKey(ctx, org, "scanner", admit.RoleScanner); err != nil {
		t.Fatal(err)
	}
	secs, err := core.Store.Sections(ctx, ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := core.IssueToken(ctx, ev, []int64{secs[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	login, err := core.LoginWithCode(ctx, tok.Code, "setup")
	if err != nil {
		t.Fatal(err)
	}
	c.staff = login.Key
	return c
}

// client returns a client address of its own for each call, so that the
// guessing limits do not mix the cases of a test.
func (w *world) client() string {
	n := w.clients.Add(1)
	return fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255)
}

// response is an answer, read whole (at most 1 MiB).
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request from client (X-Forwarded-For), with headers in pairs.
func (w *world) do(t *testing.T, client, method, path string, body string, headers ...string) *response {
	t.Helper()
	return w.send1(t, client, method, w.env.URL+path, body, headers...)
}

// doURL is do for a full URL (another node), without a body.
func (w *world) doURL(t *testing.T, client, method, url string, headers ...string) *response {
	t.Helper()
	return w.send1(t, client, method, url, "", headers...)
}

func (w *world) send1(t *testing.T, client, method, url string, body string, headers ...string) *response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Forwarded-For", client)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	r := &response{status: resp.StatusCode, header: resp.Header}
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		r.body, _ = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	}
	return r
}

// errorLog is a slog handler that keeps the messages logged at ERROR.
type errorLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *errorLog) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelError }
func (l *errorLog) Handle(_ context.Context, r slog.Record) error {
	var b bytes.Buffer
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	l.mu.Lock()
	l.lines = append(l.lines, b.String())
	l.mu.Unlock()
	return nil
}
func (l *errorLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *errorLog) WithGroup(string) slog.Handler      { return l }

func (l *errorLog) logger() *slog.Logger { return slog.New(l) }

// take returns the lines logged so far and forgets them.
func (l *errorLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.lines
	l.lines = nil
	return out
}

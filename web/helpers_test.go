package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/admittest"
)

// fixtureJSON: one organizer, one event, tickets in paid, pending and
// canceled orders.
const fixtureJSON = `{
  "organizer": {"slug": "acme", "name": "Acme Events"},
  "event": {"slug": "fest", "name": "Summer Fest", "date_from": "2026-07-01T16:00:00Z", "date_to": "2026-07-03T23:00:00Z", "timezone": "Europe/Paris"},
  "sections": [{"name": "Floor", "description": "Standing"}, {"name": "Balcony", "description": "Seated"}],
  "products": [{"name": "Day pass"}, {"name": "VIP pass"}],
  "lists": [{"name": "Main entrance", "default": true}, {"name": "VIP door", "products": ["VIP pass"]}],
  "orders": [
    {"code": "ADA01", "email": "ada@example.org", "tickets": [
      {"product": "Day pass", "first_name": "Ada", "last_name": "Lovelace", "section": "Floor"},
      {"product": "VIP pass", "first_name": "Grace", "last_name": "Hopper", "section": "Balcony"}]},
    {"code": "ALAN2", "status": "canceled", "email": "alan@example.org", "tickets": [
      {"product": "Day pass", "first_name": "Alan", "last_name": "Turing", "section": "Floor"}]},
    {"code": "KJ003", "email": "katherine@example.org", "tickets": [
      {"product": "Day pass", "first_name": "Katherine", "last_name": "Johnson", "section": "Floor"}]},
    {"code": "PEND4", "status": "pending", "email": "pat@example.org", "tickets": [
      {"product": "Day pass", "first_name": "Pat", "last_name": "Pending", "section": "Floor"}]}
  ]
}`

// The fixture's tickets, in result order.
const (
	tAda = iota
	tGrace
	tAlan
	tKatherine
	tPat
)

// otherJSON is another organizer's event.
const otherJSON = `{
  "organizer": {"slug": "rival", "name": "Rival Shows"},
  "event": {"slug": "gala", "name": "Rival Gala"},
  "products": [{"name": "Seat"}],
  "lists": [{"name": "Door", "default": true}],
  "orders": [{"code": "R1", "email": "r@example.org", "tickets": [{"product": "Seat", "first_name": "Rita"}]}]
}`

type fixture struct {
	env   *admittest.Env
	res   *admit.ImportResult
	other *admit.ImportResult
}

// startEnv starts the server of a test.
var startEnv = admittest.Start

func start(t *testing.T) *fixture {
	t.Helper()
	env := startEnv(t)
	return &fixture{env: env, res: env.Import(t, fixtureJSON), other: env.Import(t, otherJSON)}
}

// signinLink returns a fresh one-time sign-in URL of the fixture's organizer.
func (f *fixture) signinLink(t *testing.T, event string) string {
	t.Helper()
	l, err := f.env.Core.NewSigninLink(context.Background(), "acme", event)
	if err != nil {
		t.Fatal(err)
	}
	return f.env.URL + "/signin?token=" + url.QueryEscape(l.Token)
}

// client is a browser-like HTTP client: a cookie jar, no redirects followed.
func client(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type page struct {
	Status int
	Header http.Header
	Body   string
}

func get(t *testing.T, c *http.Client, u string) *page {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return readPage(t, resp)
}

func postForm(t *testing.T, c *http.Client, u string, form url.Values) *page {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	return readPage(t, resp)
}

func readPage(t *testing.T, resp *http.Response) *page {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &page{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

var hiddenRe = regexp.MustCompile(`name="(csrf|token|next)" value="([^"]*)"`)

// hidden returns a hidden field's value of a page's form.
func (p *page) hidden(name string) string {
	for _, m := range hiddenRe.FindAllStringSubmatch(p.Body, -1) {
		if m[1] == name {
			return m[2]
		}
	}
	return ""
}

// signIn signs c in with a sign-in link, as a browser does, and returns
// the page it lands on.
func (f *fixture) signIn(t *testing.T, c *http.Client, event string) *page {
	t.Helper()
	p := get(t, c, f.signinLink(t, event))
	if p.Status != 200 || p.hidden("token") == "" || p.hidden("csrf") == "" {
		t.Fatalf("sign-in link page: %d\n%s", p.Status, p.Body)
	}
	p = postForm(t, c, f.env.URL+"/signin", url.Values{"token": {p.hidden("token")}, "csrf": {p.hidden("csrf")}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("sign-in post: %d\n%s", p.Status, p.Body)
	}
	loc := p.Header.Get("Location")
	return get(t, c, f.env.URL+loc)
}

// csrfOf returns the session's CSRF token from a signed-in page.
func csrfOf(t *testing.T, p *page) string {
	t.Helper()
	m := regexp.MustCompile(`data-csrf="([^"]+)"`).FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no data-csrf in page:\n%s", p.Body)
	}
	return m[1]
}

// noLeak fails when a page shows what only the log may hold.
func noLeak(t *testing.T, p *page) {
	t.Helper()
	for _, bad := range []string{"goroutine ", "panic", ".go:", "sql:", "SQLSTATE", "runtime error"} {
		if strings.Contains(p.Body, bad) {
			t.Errorf("page shows %q:\n%s", bad, p.Body)
		}
	}
}

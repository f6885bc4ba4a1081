package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/admittest"
	"github.com/admitdev/admit/server"
)

func sessionCookieOf(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	u, _ := url.Parse(base)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "admit_session" {
			return ck.Value
		}
	}
	return ""
}

// A sign-in link signs in once and lands on the organizer's only event;
// the cookie is HttpOnly and SameSite=Strict; signing in again ends the
// session the browser had (rotation).
func TestSigninLink(t *testing.T) {
	f := start(t)
	c := client(t)
	p := get(t, c, f.signinLink(t, ""))
	if p.Status != 200 || !strings.Contains(p.Body, `id="signin-link"`) {
		t.Fatalf("link page %d:\n%s", p.Status, p.Body)
	}
	post := postForm(t, c, f.env.URL+"/signin", url.Values{"token": {p.hidden("token")}, "csrf": {p.hidden("csrf")}})
	if post.Status != http.StatusSeeOther || post.Header.Get("Location") != "/events/"+f.res.Event.UUID {
		t.Fatalf("sign-in: %d to %q, want 303 to the event", post.Status, post.Header.Get("Location"))
	}
	var set string
	for _, v := range post.Header.Values("Set-Cookie") {
		if strings.HasPrefix(v, "admit_session=") {
			set = v
		}
	}
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(set, want) {
			t.Errorf("session cookie %q lacks %s", set, want)
		}
	}
	if strings.Contains(set, "Secure") {
		t.Errorf("session cookie %q is Secure on http: the browser would drop it", set)
	}
	first := sessionCookieOf(t, c, f.env.URL)
	if s, err := f.env.Core.Session(context.Background(), first); err != nil || s.OrganizerID != f.res.Organizer.ID {
		t.Fatalf("session %+v, %v", s, err)
	}
	live := get(t, c, f.env.URL+"/events/"+f.res.Event.UUID)
	if live.Status != 200 || !strings.Contains(live.Body, "Summer Fest") || !strings.Contains(live.Body, "Acme Events") {
		t.Fatalf("live page %d:\n%s", live.Status, live.Body)
	}

	t.Run("with --event on an organizer of several events", func(t *testing.T) {
		f.env.Import(t, strings.Replace(strings.Replace(fixtureJSON, `"slug": "fest"`, `"slug": "fest2"`, 1), "Summer Fest", "Winter Fest", 1))
		c2 := client(t)
		p := f.signIn(t, c2, "")
		if p.Status != 200 || !strings.Contains(p.Body, "Summer Fest") || !strings.Contains(p.Body, "Winter Fest") {
			t.Fatalf("no --event, two events: want the list of events, got %d:\n%s", p.Status, p.Body)
		}
		p = f.signIn(t, c2, "fest")
		if !strings.Contains(p.Body, `data-event="`+f.res.Event.UUID+`"`) {
			t.Fatalf("--event fest: did not land on its live page:\n%s", p.Body)
		}
	})

	t.Run("signing in again ends the old session", func(t *testing.T) {
		f.signIn(t, c, "fest")
		second := sessionCookieOf(t, c, f.env.URL)
		if second == "" || second == first {
			t.Fatalf("session not rotated: %q, %q", first, second)
		}
		if _, err := f.env.Core.Session(context.Background(), first); admit.ErrorCode(err) != admit.EUnauthorized {
			t.Fatalf("old session: %v, want it ended", err)
		}
	})
}

// Cookies are Secure when the server is reached over https.
func TestSigninSecureCookie(t *testing.T) {
	env := admittest.StartWith(t, func(cfg *server.Config) { cfg.PublicURL = "https://gates.example.org" })
	env.Import(t, fixtureJSON)
	resp, err := http.Get(env.URL + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	set := resp.Header.Get("Set-Cookie")
	if !strings.Contains(set, "admit_signin=") || !strings.Contains(set, "Secure") || !strings.Contains(set, "HttpOnly") {
		t.Fatalf("cookie on an https server: %q", set)
	}
}

// A wrong, used or expired link, a wrong key, a form without its CSRF
// token: each gets a clear page with the right status, never a stack trace.
func TestSigninRefused(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	mgmt, err := f.env.Core.CreateManagementKey(ctx, "acme", "Box office")
	if err != nil {
		t.Fatal(err)
	}
	_, deviceKey := f.env.PairedDevice(t, admit.DeviceSpec{Organizer: "acme", Name: "Gate 1", Event: "fest"})
	rivalKey, err := f.env.Core.CreateManagementKey(ctx, "rival", "Rival office")
	if err != nil {
		t.Fatal(err)
	}

	used := f.signinLink(t, "")
	f.signIn(t, client(t), "") // uses another link
	c := client(t)
	first := get(t, c, used)
	postForm(t, c, f.env.URL+"/signin", url.Values{"token": {first.hidden("token")}, "csrf": {first.hidden("csrf")}})

	// A link made 16 minutes ago.
	made := time.Now().Add(-admit.SigninTTL - time.Minute)
	if err := f.env.Core.Store.CreateSigninToken(ctx, &admit.SigninToken{OrganizerID: f.res.Organizer.ID,
		CreatedAt: made, ExpiresAt: made.Add(admit.SigninTTL)}, admit.HashSecret("an-old-link-token")); err != nil {
		t.Fatal(err)
	}
	expiredPage := get(t, client(t), f.env.URL+"/signin?token=an-old-link-token")

	cases := []struct {
		name   string
		page   *page
		status int
		text   string
	}{
		{"a wrong link", get(t, client(t), f.env.URL+"/signin?token=notatokenatall"), 404, "This sign-in link is not valid"},
		{"a used link", get(t, client(t), used), 409, "already used"},
		{"an expired link", expiredPage, 410, "has expired"},
		{"a wrong link posted", func() *page {
			c := client(t)
			p := get(t, c, f.env.URL+"/signin")
			return postForm(t, c, f.env.URL+"/signin", url.Values{"token": {"nope"}, "csrf": {p.hidden("csrf")}})
		}(), 404, "not valid"},
		{"a wrong key", signInWithKey(t, f, "abcdefgh.abcdefghabcdefghabcdefghabcdefgh"), 401, "This key is not valid"},
		{"not a key at all", signInWithKey(t, f, "hello"), 401, "This key is not valid"},
		{"a device's key", signInWithKey(t, f, deviceKey), 401, "This key is not valid"},
		{"no key", signInWithKey(t, f, ""), 400, "Enter a key"},
		{"the sign-in form without its CSRF token", postForm(t, client(t), f.env.URL+"/signin", url.Values{"key": {mgmt}}), 403, "security token"},
		{"the sign-in form with another browser's CSRF token", func() *page {
			other := get(t, client(t), f.env.URL+"/signin")
			c := client(t)
			get(t, c, f.env.URL+"/signin")
			return postForm(t, c, f.env.URL+"/signin", url.Values{"key": {mgmt}, "csrf": {other.hidden("csrf")}})
		}(), 403, "security token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.page.Status != tc.status || !strings.Contains(tc.page.Body, tc.text) {
				t.Fatalf("status %d, want %d with %q:\n%s", tc.page.Status, tc.status, tc.text, tc.page.Body)
			}
			if ct := tc.page.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if tc.page.Header.Get("Content-Security-Policy") == "" {
				t.Error("no CSP on the page")
			}
			noLeak(t, tc.page)
		})
	}

	t.Run("a management key signs in, to its own organizer only", func(t *testing.T) {
		for _, k := range []struct {
			key, sees, not string
		}{{mgmt, "Summer Fest", "Rival Gala"}, {rivalKey, "Rival Gala", "Summer Fest"}} {
			c := client(t)
			p := get(t, c, f.env.URL+"/signin")
			p = postForm(t, c, f.env.URL+"/signin", url.Values{"key": {k.key}, "csrf": {p.hidden("csrf")}})
			if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/" {
				t.Fatalf("key sign-in: %d to %q\n%s", p.Status, p.Header.Get("Location"), p.Body)
			}
			home := get(t, c, f.env.URL+"/")
			if !strings.Contains(home.Body, k.sees) || strings.Contains(home.Body, k.not) {
				t.Fatalf("home page of the key's organizer shows the wrong events:\n%s", home.Body)
			}
		}
	})

	t.Run("a signed-out page asks to sign in and comes back after", func(t *testing.T) {
		c := client(t)
		target := "/events/" + f.res.Event.UUID + "/tickets"
		p := get(t, c, f.env.URL+target)
		if p.Status != 401 || !strings.Contains(p.Body, `name="key"`) || p.hidden("next") != target {
			t.Fatalf("signed out: %d, next %q:\n%s", p.Status, p.hidden("next"), p.Body)
		}
		p = postForm(t, c, f.env.URL+"/signin", url.Values{"key": {mgmt}, "csrf": {p.hidden("csrf")}, "next": {target}})
		if p.Header.Get("Location") != target {
			t.Fatalf("after sign-in: to %q, want %q", p.Header.Get("Location"), target)
		}
		c = client(t)
		p = postForm(t, c, f.env.URL+"/signin", url.Values{"key": {mgmt}, "csrf": {get(t, c, f.env.URL+"/signin").hidden("csrf")}, "next": {"//evil.example/x"}})
		if p.Header.Get("Location") != "/" {
			t.Fatalf("next=//evil.example: redirected to %q", p.Header.Get("Location"))
		}
	})
}

func signInWithKey(t *testing.T, f *fixture, key string) *page {
	t.Helper()
	c := client(t)
	p := get(t, c, f.env.URL+"/signin")
	return postForm(t, c, f.env.URL+"/signin", url.Values{"key": {key}, "csrf": {p.hidden("csrf")}})
}

// Signing out needs the session's CSRF token; a cross-site form post is
// refused before any handler runs.
func TestSignoutAndCrossSite(t *testing.T) {
	f := start(t)
	c := client(t)
	p := f.signIn(t, c, "")
	csrf := csrfOf(t, p)
	secret := sessionCookieOf(t, c, f.env.URL)

	out := postForm(t, c, f.env.URL+"/signout", url.Values{})
	if out.Status != 403 || !strings.Contains(out.Body, "security token") {
		t.Fatalf("sign out without the token: %d:\n%s", out.Status, out.Body)
	}
	if _, err := f.env.Core.Session(context.Background(), secret); err != nil {
		t.Fatalf("the session ended without the token: %v", err)
	}

	req, _ := http.NewRequest("POST", f.env.URL+"/signout", strings.NewReader(url.Values{"csrf": {csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("cross-site sign-out: %d, want 403", resp.StatusCode)
	}

	out = postForm(t, c, f.env.URL+"/signout", url.Values{"csrf": {csrf}})
	if out.Status != http.StatusSeeOther || out.Header.Get("Location") != "/signin" {
		t.Fatalf("sign out: %d %q", out.Status, out.Header.Get("Location"))
	}
	if _, err := f.env.Core.Session(context.Background(), secret); admit.ErrorCode(err) != admit.EUnauthorized {
		t.Fatalf("session after sign-out: %v", err)
	}
	if p := get(t, c, f.env.URL+"/events/"+f.res.Event.UUID); p.Status != 401 {
		t.Fatalf("live page after sign-out: %d", p.Status)
	}
}

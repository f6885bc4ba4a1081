package server_test

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/admittest"
	"github.com/admitdev/admit/server"
)

// wrongKey has a key's shape, and is nobody's.
var wrongKey = "AbCdEfGh." + strings.Repeat("x", 32)

// Guessing keys and pairing tokens: after admit.SecretGuessLimit wrong ones
// from one address within the window, that address gets 429 in its
// dialect's shape, right keys included; other addresses are untouched.
func TestSecretGuessingIsLimited(t *testing.T) {
	w := newWorld(t)
	cases := []struct {
		name        string
		call        func(t *testing.T, client, key string) *response
		right       string
		contentType string
		field       string // a JSON field of the answer; "" for plain text
	}{
		{"TiBillet", func(t *testing.T, client, key string) *response {
			return w.do(t, client, "GET", "/scan/test_api/", "", "Authorization", "Api-Key "+key)
		}, w.acme.device, "application/json", "detail"},
		{"pretixdroid", func(t *testing.T, client, key string) *response {
			return w.do(t, client, "GET", "/pretixdroid/api/acme/fest/status/?key="+key, "")
		}, w.acme.pretixdroid, "text/plain; charset=utf-8", ""},
		{"TickeTing", func(t *testing.T, client, key string) *response {
			return w.do(t, client, "GET", "/v3/events", "", "X-Client-Version", "3.0.0", "X-API-Key", key)
		}, w.acme.admin, "application/json", "error"},
		{"API", func(t *testing.T, client, key string) *response {
			return w.do(t, client, "GET", "/api/v1/me", "", "Authorization", "Bearer "+key)
		}, w.acme.admin, "application/problem+json", "detail"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inOneWindow()
			client := w.client()
			for i := range admit.SecretGuessLimit {
				if r := c.call(t, client, wrongKey); r.status == 429 || r.status >= 500 {
					t.Fatalf("wrong key %d: %d %s", i+1, r.status, r.body)
				}
			}
			checkLimited(t, c.call(t, client, wrongKey), c.contentType, c.field)
			if r := c.call(t, client, c.right); r.status != 429 {
				t.Errorf("the right key from the limited address: %d, want 429", r.status)
			}
			if r := c.call(t, w.client(), c.right); r.status != 200 {
				t.Errorf("the right key from another address: %d %s", r.status, r.body)
			}
		})
	}
	t.Run("pairing tokens count with keys", func(t *testing.T) {
		inOneWindow()
		client := w.client()
		for range admit.SecretGuessLimit {
			w.do(t, client, "GET", "/scan/nosuchtoken/pair", "")
		}
		checkLimited(t, w.do(t, client, "GET", "/scan/nosuchtoken/pair", ""), "application/json", "detail")
		checkLimited(t, w.do(t, client, "POST", "/api/v1/pair", `{"token": "nosuchtoken"}`), "application/problem+json", "detail")
	})
}

// inOneWindow waits, if less than 20 s of the guessing limit's fixed window
// (a minute of the clock) is left, for the next one: a test's misses, a
// few seconds of requests, then all count in one window. Misses split
// across two windows, neither over the limit, failed a test now and then.
func inOneWindow() {
	end := time.Now().Truncate(admit.SecretGuessWindow).Add(admit.SecretGuessWindow)
	if left := time.Until(end); left < 20*time.Second {
		time.Sleep(left + 10*time.Millisecond)
	}
}

func checkLimited(t *testing.T, r *response, contentType, field string) {
	t.Helper()
	if r.status != 429 || r.header.Get("Content-Type") != contentType {
		t.Fatalf("over the limit: %d %q %s, want 429 %q", r.status, r.header.Get("Content-Type"), r.body, contentType)
	}
	if n, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || n < 1 || n > 60 {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}
	if field != "" && !strings.Contains(string(r.body), `"`+field+`"`) {
		t.Errorf("a 429 without %q: %s", field, r.body)
	}
	if !strings.Contains(string(r.body), "Too many wrong keys") {
		t.Errorf("a 429 that does not say why: %s", r.body)
	}
}

// The limit is shared by the nodes on one database: misses counted on
// either node limit the address on both.
func TestSecretGuessingLimitIsSharedByNodes(t *testing.T) {
	a := newWorld(t)
	core := admittest.OpenCore(t, a.env.DSN) // a second node on the same database
	b := httptest.NewServer(server.New(core, server.Config{Logger: a.errors.logger(), TrustedProxies: trustedLoopback}))
	t.Cleanup(b.Close)
	nodes := []string{a.env.URL, b.URL}
	inOneWindow()
	client := a.client()
	for i := range admit.SecretGuessLimit {
		r := a.doURL(t, client, "GET", nodes[i%2]+"/scan/test_api/", "Authorization", "Api-Key "+wrongKey)
		if r.status != 403 {
			t.Fatalf("wrong key %d: %d", i+1, r.status)
		}
	}
	for i, url := range nodes {
		if r := a.doURL(t, client, "GET", url+"/scan/test_api/", "Authorization", "Api-Key "+wrongKey); r.status != 429 {
			t.Errorf("node %d after %d misses over both nodes: %d, want 429", i, admit.SecretGuessLimit, r.status)
		}
	}
	// Each node knows the address is over the limit: the right key is
	// refused on both.
	for i, url := range nodes {
		if r := a.doURL(t, client, "GET", url+"/scan/test_api/", "Authorization", "Api-Key "+a.acme.device); r.status != 429 {
			t.Errorf("the right key on node %d: %d, want 429", i, r.status)
		}
	}
}

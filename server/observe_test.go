package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/admittest"
	"github.com/admitdev/admit/server"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// logLines returns the JSON log lines whose msg is msg.
func logLines(t *testing.T, logs *syncBuffer, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func startLogged(t *testing.T, configure func(*server.Config)) (*admittest.Env, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	env := admittest.StartWith(t, func(c *server.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
		if configure != nil {
			configure(c)
		}
	})
	return env, logs
}

// Every answer carries an X-Request-Id; the access log line names it with
// the method, the route pattern, the status, the size and the client, and
// never the path (paths carry credentials) nor a header.
func TestEveryRequestHasAnIDInItsAnswerAndItsLogLine(t *testing.T) {
	env, logs := startLogged(t, nil)
	const secretPath = "/scan/pairing-token-that-is-a-credential/pair"
	a := env.Do(t, "GET", secretPath, nil, "Authorization", "Api-Key key-that-is-a-credential")
	b := env.Do(t, "GET", "/api/v1/me", nil) // a problem answer
	c := env.Do(t, "GET", "/healthz", nil)
	ids := map[string]bool{}
	for _, r := range []*admittest.Response{a, b, c} {
		id := r.Header.Get("X-Request-Id")
		if len(id) != 20 || ids[id] {
			t.Fatalf("X-Request-Id %q: want a new 20-character id per request", id)
		}
		ids[id] = true
	}
	// The API's problem bodies name it too.
	if p := b.JSON(t); b.Status != 401 || p["request_id"] != b.Header.Get("X-Request-Id") {
		t.Fatalf("problem: %d %s", b.Status, b.Body)
	}
	lines := logLines(t, logs, "request")
	if len(lines) != 2 { // /healthz is logged at debug level only
		t.Fatalf("%d access lines, want 2:\n%s", len(lines), logs)
	}
	for i, want := range []struct {
		r     *admittest.Response
		route string
	}{{a, "GET /scan/{token}/pair"}, {b, "GET /api/v1/me"}} {
		l := lines[i]
		if l["request_id"] != want.r.Header.Get("X-Request-Id") || l["method"] != "GET" || l["route"] != want.route ||
			l["status"] != float64(want.r.Status) || l["bytes"] != float64(len(want.r.Body)) || l["client"] != "127.0.0.1" || l["duration"] == nil {
			t.Errorf("access line %d: %v, want route %s, status %d, %d bytes", i, l, want.route, want.r.Status, len(want.r.Body))
		}
	}
	if s := logs.String(); strings.Contains(s, "credential") {
		t.Fatalf("a credential reached the log:\n%s", s)
	}
}

// A trusted proxy's request id is kept (one id from the balancer's log to
// the node's); anyone else's, or a malformed one, is replaced.
func TestRequestIDFromTrustedProxiesOnly(t *testing.T) {
	proxies, err := server.ParseTrustedProxies("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	trusting, _ := startLogged(t, func(c *server.Config) { c.TrustedProxies = proxies })
	other, _ := startLogged(t, nil)
	cases := []struct {
		name string
		env  *admittest.Env
		sent string
		kept bool
	}{
		{"a trusted proxy's id is kept", trusting, "nginx-5f2b8c1d9e", true},
		{"an untrusted client's id is replaced", other, "nginx-5f2b8c1d9e", false},
		{"a trusted proxy's malformed id is replaced", trusting, "bad id\twith spaces", false},
		{"a trusted proxy's overlong id is replaced", trusting, strings.Repeat("a", 129), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.env.Do(t, "GET", "/healthz", nil, "X-Request-Id", c.sent).Header.Get("X-Request-Id")
			if (got == c.sent) != c.kept || got == "" {
				t.Fatalf("sent %q, answered %q", c.sent, got)
			}
		})
	}
}

// /healthz says which admit answers; /readyz follows the store's Ready.
func TestHealthAndReadiness(t *testing.T) {
	var notReady error
	var mu sync.Mutex
	env, logs := startLogged(t, func(c *server.Config) {
		c.Store = "sqlite"
		c.Ready = func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			return notReady
		}
	})
	h := env.Do(t, "GET", "/healthz", nil).JSON(t)
	if h["status"] != "ok" || h["store"] != "sqlite" || h["version"] == "" || h["commit"] == "" {
		t.Fatalf("healthz: %v", h)
	}
	if r := env.Do(t, "GET", "/readyz", nil); r.Status != 200 || r.JSON(t)["status"] != "ready" {
		t.Fatalf("readyz: %d %s", r.Status, r.Body)
	}
	mu.Lock()
	notReady = admit.Errorf(admit.EInternal, "the database does not answer")
	mu.Unlock()
	r := env.Do(t, "GET", "/readyz", nil)
	if m := r.JSON(t); r.Status != 503 || m["status"] != "unavailable" || m["reason"] != "the database does not answer" || m["request_id"] != r.Header.Get("X-Request-Id") {
		t.Fatalf("readyz, not ready: %d %s", r.Status, r.Body)
	}
	mu.Lock()
	notReady = errors.New("driver: connection refused at 10.1.2.3:5432")
	mu.Unlock()
	if r := env.Do(t, "GET", "/readyz", nil); r.Status != 503 || strings.Contains(string(r.Body), "10.1.2.3") {
		t.Fatalf("readyz shows a driver's error: %d %s", r.Status, r.Body)
	}
	// A failing check is logged (at info: a 503), a passing one is not.
	if n := len(logLines(t, logs, "request")); n != 2 {
		t.Fatalf("%d access lines, want the 2 failed checks:\n%s", n, logs)
	}
	// Without ServeMetrics, no /metrics.
	if r := env.Do(t, "GET", "/metrics", nil); r.Status != 404 {
		t.Fatalf("/metrics without metrics: %d", r.Status)
	}
}

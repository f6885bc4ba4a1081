package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/admitdev/admit/admittest"
	"github.com/admitdev/admit/server"
)

const apikeyCLIFixture = `{
  "organizer": {"slug": "acme", "name": "Acme Events"},
  "event": {"slug": "fest", "name": "Summer Fest"},
  "sections": [{"name": "Floor"}],
  "products": [{"name": "Ticket"}],
  "lists": [{"name": "Main", "default": true}],
  "orders": [{"code": "A1", "email": "ada@example.org", "tickets": [{"product": "Ticket", "section": "Floor"}]}]
}`

func runAPIKeyCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

// apikey create prints an organizer's management key, which the TickeTing
// API then takes as X-API-Key, and which is stored only hashed.
func TestAPIKeyCreateCommand(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "admit.db")
	file := filepath.Join(dir, "fest.json")
	if err := os.WriteFile(file, []byte(apikeyCLIFixture), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := runAPIKeyCLI(t, "import", file, "--db", db); err != nil {
		t.Fatalf("import: %v: %s", err, stderr)
	}
	stdout, stderr, err := runAPIKeyCLI(t, "apikey", "create", "--organizer", "acme", "--name", "box office", "--db", db)
	if err != nil {
		t.Fatalf("apikey create: %v: %s", err, stderr)
	}
	var out struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil || out.Key == "" {
		t.Fatalf("output %q: %v", stdout, err)
	}

	t.Run("the key is stored hashed only", func(t *testing.T) {
		_, secret, _ := strings.Cut(out.Key, ".")
		for _, name := range []string{db, db + "-wal"} {
			b, err := os.ReadFile(name)
			if err != nil {
				continue
			}
			if bytes.Contains(b, []byte(secret)) {
				t.Fatalf("%s holds the key's secret", filepath.Base(name))
			}
		}
	})
	t.Run("the TickeTing API takes the key", func(t *testing.T) {
		core := admittest.OpenCore(t, db)
		srv := httptest.NewServer(server.New(core, server.Config{Logger: core.Log}))
		defer srv.Close()
		r := admittest.Do(t, "GET", srv.URL+"/v3/events", nil, "X-API-Key", out.Key, "X-Client-Version", "3.0.0")
		if r.Status != 200 || !strings.Contains(string(r.Body), `"title":"Summer Fest"`) {
			t.Fatalf("GET /v3/events: %d %s", r.Status, r.Body)
		}
	})

	t.Run("admit's own API takes an admin key, and a scanner key for scanning only", func(t *testing.T) {
		stdout, stderr, err := runAPIKeyCLI(t, "apikey", "create", "--organizer", "acme", "--name", "door", "--role", "scanner", "--db", db)
		if err != nil {
			t.Fatalf("apikey create --role scanner: %v: %s", err, stderr)
		}
		var sc struct{ Key, Role string }
		if err := json.Unmarshal([]byte(stdout), &sc); err != nil || sc.Role != "scanner" {
			t.Fatalf("output %q: %v", stdout, err)
		}
		core := admittest.OpenCore(t, db)
		srv := httptest.NewServer(server.New(core, server.Config{Logger: core.Log}))
		defer srv.Close()
		for _, c := range []struct {
			key, method, path string
			status            int
		}{
			{out.Key, "GET", "/api/v1/events", 200},
			{out.Key, "POST", "/api/v1/devices", 201},
			{sc.Key, "GET", "/api/v1/events", 200},
			{sc.Key, "POST", "/api/v1/devices", 403},
		} {
			r := admittest.Do(t, c.method, srv.URL+c.path, map[string]string{"name": "Gate"}, "Authorization", "Bearer "+c.key)
			if r.Status != c.status {
				t.Fatalf("%s %s: %d, want %d: %s", c.method, c.path, r.Status, c.status, r.Body)
			}
		}
	})

	cases := []struct {
		name string
		args []string
		text string
	}{
		{"without --organizer", []string{"--name", "x"}, "--organizer is required"},
		{"without --name", []string{"--organizer", "acme"}, "--name is required"},
		{"an unknown organizer", []string{"--organizer", "nobody", "--name", "x"}, `unknown organizer "nobody"`},
		{"a positional argument", []string{"--organizer", "acme", "--name", "x", "extra"}, "takes no arguments"},
		{"an unknown role", []string{"--organizer", "acme", "--name", "x", "--role", "root"}, "--role must be admin or scanner"},
	}
	for _, c := range cases {
		t.Run("refused: "+c.name, func(t *testing.T) {
			stdout, stderr, err := runAPIKeyCLI(t, append([]string{"apikey", "create", "--db", db}, c.args...)...)
			if err == nil || stdout != "" || !strings.Contains(stderr, c.text) {
				t.Fatalf("err %v, stdout %q, stderr %q; want an error naming %q", err, stdout, stderr, c.text)
			}
		})
	}
}

// Package admittest runs a real admit server for tests: a real database
// (a SQLite file in t.TempDir, or a throw-away PostgreSQL database when
// ADMIT_TEST_STORE=postgres) behind real HTTP on a loopback socket.
package admittest

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/live"
	"github.com/admitdev/admit/server"
	"github.com/admitdev/admit/sqlstore"
)

// PostgresURL is the server the PostgreSQL tests use (env ADMIT_TEST_POSTGRES).
func PostgresURL() string {
	if u := os.Getenv("ADMIT_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// PostgresDSN creates a throw-away PostgreSQL database, dropped when the test
// ends, and returns its URL. Without a reachable server it skips the test,
// unless ADMIT_REQUIRE_POSTGRES=1, where it fails.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	admin, err := sql.Open("pgx", PostgresURL())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = admin.PingContext(ctx)
		cancel()
	}
	if err != nil {
		if os.Getenv("ADMIT_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("PostgreSQL required but not reachable at %s: %v", PostgresURL(), err)
		}
		t.Skipf("no PostgreSQL server reachable at %s: %v", PostgresURL(), err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "admit_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		admin.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
		admin.Close()
	})
	u := PostgresURL()
	i := strings.LastIndex(u, "/")
	q := ""
	if j := strings.Index(u[i:], "?"); j >= 0 {
		q = u[i+j:]
	}
	return u[:i+1] + name + q
}

// DSN returns a fresh database for a test: a SQLite file in t.TempDir(), or
// a throw-away PostgreSQL database when ADMIT_TEST_STORE=postgres.
func DSN(t testing.TB) string {
	t.Helper()
	if os.Getenv("ADMIT_TEST_STORE") == "postgres" {
		return PostgresDSN(t)
	}
	return filepath.Join(t.TempDir(), "admit.db")
}

// Logger logs to the test's log, warnings and errors only; a fuzz test's
// to stderr (a fuzz target may not call its testing.F's Log).
func Logger(t testing.TB) *slog.Logger {
	var w io.Writer = testWriter{t}
	if _, ok := t.(*testing.F); ok {
		w = os.Stderr
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TicketCacheBytes is the ticket cache of the cores OpenCore makes: admit
// serve's default.
const TicketCacheBytes = 128 << 20

// OpenCore opens a store on dsn and a core on it, with the store's live
// feed (Core.Live), closed when the test ends.
func OpenCore(t testing.TB, dsn string) *admit.Core {
	t.Helper()
	log := Logger(t)
	store, err := sqlstore.Open(context.Background(), dsn, log)
	if err != nil {
		t.Fatalf("open store %s: %v", dsn, err)
	}
	hub := live.NewHub(0, log)
	t.Cleanup(func() {
		store.Close()
		hub.Close()
	})
	core := admit.NewCore(store, log)
	// As admit serve runs by default; its loads end before the store closes.
	core.TicketCacheBytes = TicketCacheBytes
	t.Cleanup(core.WaitTicketCache)
	if core.Live, err = store.Live(context.Background(), hub); err != nil {
		t.Fatalf("live feed: %v", err)
	}
	return core
}

// Env is a running server.
type Env struct {
	Core   *admit.Core
	Server *httptest.Server
	URL    string // base URL, no trailing slash
	DSN    string
}

// Start runs a server on a fresh database.
func Start(t testing.TB) *Env {
	t.Helper()
	return StartWith(t, nil)
}

// StartWith runs a server on a fresh database, with configure (if not nil)
// changing its server.Config.
func StartWith(t testing.TB, configure func(*server.Config)) *Env {
	t.Helper()
	dsn := DSN(t)
	core := OpenCore(t, dsn)
	srv := httptest.NewServer(nil)
	cfg := server.Config{Logger: core.Log, PublicURL: srv.URL}
	if configure != nil {
		configure(&cfg)
	}
	srv.Config.Handler = server.New(core, cfg)
	t.Cleanup(srv.Close)
	return &Env{Core: core, Server: srv, URL: srv.URL, DSN: dsn}
}

// Import imports a JSON import file and fails the test on error.
func (e *Env) Import(t testing.TB, fileJSON string) *admit.ImportResult {
	t.Helper()
	f, err := admit.ParseImport(strings.NewReader(fileJSON))
	if err != nil {
		t.Fatalf("parse import: %v", err)
	}
	res, err := e.Core.Import(context.Background(), f)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return res
}

// PairedDevice creates and pairs a device and returns it with its API key.
func (e *Env) PairedDevice(t testing.TB, spec admit.DeviceSpec) (*admit.Device, string) {
	t.Helper()
	ctx := context.Background()
	_, token, err := e.Core.CreateDevice(ctx, spec)
	if err != nil {
		t.Fatalf("create device: %v", err)
	}
	d, key, err := e.Core.PairDevice(ctx, token)
	if err != nil {
		t.Fatalf("pair device: %v", err)
	}
	return d, key
}

// Response is an HTTP answer, read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic map, failing the test if it is not
// a JSON object.
func (r *Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// Do sends a request to the server. body may be a string, []byte, nil, or
// any other value, which is sent as JSON. headers alternate name, value.
func (e *Env) Do(t testing.TB, method, path string, body any, headers ...string) *Response {
	t.Helper()
	return Do(t, method, e.URL+path, body, headers...)
}

// Do sends a request to url, as Env.Do.
func Do(t testing.TB, method, url string, body any, headers ...string) *Response {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("encode body: %v", err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if _, ok := body.(string); !ok && body != nil {
		if _, ok := body.([]byte); !ok {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

package server_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/server"
)

// D1: a search string far over any search (50,000 bytes and more, or
// wildcard-heavy) is refused at the door with a 4xx that says the limit;
// the database never sees it (it refuses such a LIKE pattern: a 500 before).
func TestLongSearchIsRefusedWithTheLimit(t *testing.T) {
	w := newWorld(t)
	for _, q := range []string{strings.Repeat("a", 50000), strings.Repeat("%_", 30000), strings.Repeat("é", 201)} {
		body, _ := json.Marshal(map[string]string{"event_uuid": w.ev.UUID, "search": q})
		r := w.do(t, w.client(), "POST", "/scan/search_ticket/", string(body), "Authorization", "Api-Key "+w.acme.device)
		if r.status != 400 || !strings.Contains(string(r.body), "200 characters") {
			t.Errorf("TiBillet search of %d bytes: %d %.200s", len(q), r.status, r.body)
		}
		r = w.do(t, w.client(), "GET", "/pretixdroid/api/acme/fest/search/?key="+w.acme.pretixdroid+"&query="+urlEscape(q), "")
		if r.status != 400 || !strings.Contains(string(r.body), "200 characters") {
			t.Errorf("pretixdroid search of %d bytes: %d %.200s", len(q), r.status, r.body)
		}
		r = w.do(t, w.client(), "GET", "/api/v1/events/"+w.ev.UUID+"/tickets?q="+urlEscape(q), "", "Authorization", "Bearer "+w.acme.admin)
		if r.status != 400 {
			t.Errorf("API search of %d bytes: %d %.200s", len(q), r.status, r.body)
		}
	}
	// At the limit, a search is a search.
	body, _ := json.Marshal(map[string]string{"event_uuid": w.ev.UUID, "search": strings.Repeat("é", 200)})
	if r := w.do(t, w.client(), "POST", "/scan/search_ticket/", string(body), "Authorization", "Api-Key "+w.acme.device); r.status != 200 {
		t.Errorf("a search of 200 characters: %d %s", r.status, r.body)
	}
	// The store refuses it too, for a door that would forget.
	_, _, err := w.env.Core.Store.FindTickets(context.Background(), admit.TicketFilter{EventID: w.ev.ID, Query: strings.Repeat("a", 50000)})
	if admit.ErrorCode(err) != admit.EInvalid {
		t.Errorf("the store's search of 50,000 bytes: %v", err)
	}
}

func urlEscape(s string) string {
	return strings.NewReplacer("%", "%25", "&", "%26", "+", "%2B", " ", "%20").Replace(s)
}

// D2: one TickeTing admissions request cannot write much: its strings are
// bounded (a 450,000-character redeemer is refused), so are its serials,
// and a request of unknown serials writes one short row per serial.
func TestTicketingAdmissionsCannotAmplify(t *testing.T) {
	w := newWorld(t)
	path := fmt.Sprintf("/v3/events/%d/admissions", w.ev.ID)
	hdr := []string{"X-Client-Version", "3.0.0", "X-API-Key", w.acme.staff}
	unknown := make([]string, 400)
	for i := range unknown {
		unknown[i] = fmt.Sprintf("NOSUCH-%012d", i)
	}
	cases := []struct {
		name string
		body map[string]any
		want string
	}{
		{"a 450,000-character redeemer", map[string]any{"redeemer": strings.Repeat("r", 450000), "device": "d", "serials": unknown[:1]}, "redeemer is longer than 100"},
		{"a 450,000-character device", map[string]any{"redeemer": "r", "device": strings.Repeat("d", 450000), "serials": unknown[:1]}, "device is longer than 100"},
		{"400 serials", map[string]any{"redeemer": "r", "device": "d", "serials": unknown}, "At most 100 serials"},
		{"a serial of 5,000 characters", map[string]any{"redeemer": "r", "device": "d", "serials": []string{strings.Repeat("S", 5000)}}, "longer than 4096"},
	}
	for _, c := range cases {
		body, _ := json.Marshal(c.body)
		r := w.do(t, w.client(), "POST", path, string(body), hdr...)
		if r.status != 400 || !strings.Contains(string(r.body), c.want) {
			t.Errorf("%s: %d %.300s, want 400 saying %q", c.name, r.status, r.body, c.want)
		}
	}
	if _, n, err := w.env.Core.Store.Scans(context.Background(), admit.ScanFilter{EventID: w.ev.ID}); err != nil || n != 0 {
		t.Fatalf("refused requests wrote %d scan rows (%v)", n, err)
	}
	// At the bounds: 100 unknown serials, 100-character labels: 100 short rows.
	body, _ := json.Marshal(map[string]any{"redeemer": strings.Repeat("r", 100), "device": strings.Repeat("d", 100), "serials": unknown[:100]})
	if r := w.do(t, w.client(), "POST", path, string(body), hdr...); r.status != 400 {
		t.Fatalf("100 unknown serials: %d %s", r.status, r.body)
	}
	scans, n, err := w.env.Core.Store.Scans(context.Background(), admit.ScanFilter{EventID: w.ev.ID})
	if err != nil || n != 100 {
		t.Fatalf("100 unknown serials wrote %d rows (%v)", n, err)
	}
	for _, sc := range scans {
		if len(sc.Redeemer) > admit.MaxLabel || len(sc.DeviceName) > admit.MaxLabel {
			t.Fatalf("a row with %d+%d bytes of labels", len(sc.Redeemer), len(sc.DeviceName))
		}
	}
}

// D3: a request whose client went away (its context canceled: a client
// that half-closed its connection is one) is no error of ours: no 500, no
// ERROR line, on every route that reads the database.
func TestCanceledRequestIsNotAnError(t *testing.T) {
	w := newWorld(t)
	h := server.New(w.env.Core, server.Config{Logger: w.errors.logger()})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		method, path string
		headers      []string
	}{
		{"GET", "/v3/events", []string{"X-Client-Version", "3.0.0", "X-API-Key", w.acme.admin}},
		{"GET", "/v3/tokens/ZZZZ0000", []string{"X-Client-Version", "3.0.0"}},
		{"GET", "/pretixdroid/api/acme/fest/status/?key=" + w.acme.pretixdroid, nil},
		{"GET", "/scan/nosuchpairingtoken/pair", nil},
		{"GET", "/api/v1/events", []string{"Authorization", "Bearer " + w.acme.admin}},
		{"GET", "/api/v1/events/" + w.ev.UUID + "/scans", []string{"Authorization", "Bearer " + w.acme.admin}},
		{"GET", fmt.Sprintf("/v3/events/%d/tickets", w.ev.ID), []string{"X-Client-Version", "3.0.0", "X-API-Key", w.acme.staff}},
	}
	for _, c := range cases {
		req := httptest.NewRequestWithContext(ctx, c.method, c.path, nil)
		for i := 0; i+1 < len(c.headers); i += 2 {
			req.Header.Set(c.headers[i], c.headers[i+1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Errorf("%s %s, canceled: %d %s", c.method, c.path, rec.Code, rec.Body)
		}
	}
	if lines := w.errors.take(); len(lines) > 0 {
		t.Errorf("ERROR lines for canceled requests: %q", lines)
	}
}

// D3 over a real connection: a client that shuts down its write side after
// its request never gets a 500.
func TestHalfClosedConnectionGetsNo500(t *testing.T) {
	w := newWorld(t)
	addr := strings.TrimPrefix(w.env.URL, "http://")
	for i := range 20 {
		path := []string{"/v3/events", "/pretixdroid/api/acme/fest/status/?key=" + w.acme.pretixdroid}[i%2]
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nX-Client-Version: 3.0.0\r\nX-API-Key: %s\r\n\r\n", path, w.acme.admin)
		conn.(*net.TCPConn).CloseWrite()
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err == nil {
			if resp.StatusCode >= 500 {
				t.Errorf("%s, half-closed: %d", path, resp.StatusCode)
			}
			resp.Body.Close()
		}
		conn.Close()
	}
	if lines := w.errors.take(); len(lines) > 0 {
		t.Errorf("ERROR lines for half-closed connections: %q", lines)
	}
}

// D4: what ServeMux answers itself (redirects for // and .., 404 outside
// every route, 405) is in the shape of the path's route family.
func TestMuxAnswersInEachFamilysShape(t *testing.T) {
	w := newWorld(t)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cases := []struct {
		method, path string
		status       int
		contentType  string
		field        string // a field the JSON body must have
	}{
		{"GET", "/scan/../scan/test_api/", 307, "application/json", "detail"},
		{"GET", "/v3//events", 307, "application/json", "message"},
		{"GET", "/api/v1//events", 307, "application/problem+json", "type"},
		{"GET", "/api/v1/./me", 307, "application/problem+json", "type"},
		{"GET", "/pretixdroid//api/a/b/status/", 307, "text/plain; charset=utf-8", ""},
		{"PUT", "/pretixdroid/api/a/b/status/", 405, "text/plain; charset=utf-8", ""},
		{"POST", "/healthz", 405, "application/json", "error"},
		{"PATCH", "/", 405, "application/json", "error"},
		{"GET", "/nothing", 404, "application/json", "error"},
		{"GET", "/o/acme/scan/nothing", 404, "application/json", "detail"},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, w.env.URL+c.path, nil)
		req.URL.Opaque = c.path // as sent, not cleaned by the client
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		jerr := json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if resp.StatusCode != c.status || resp.Header.Get("Content-Type") != c.contentType {
			t.Errorf("%s %s: %d %q, want %d %q", c.method, c.path, resp.StatusCode, resp.Header.Get("Content-Type"), c.status, c.contentType)
			continue
		}
		if c.field != "" && (jerr != nil || m[c.field] == nil) {
			t.Errorf("%s %s: body without %q: %v %v", c.method, c.path, c.field, m, jerr)
		}
		if c.status == 307 && resp.Header.Get("Location") == "" {
			t.Errorf("%s %s: a redirect without Location", c.method, c.path)
		}
		if c.status == 405 && resp.Header.Get("Allow") == "" {
			t.Errorf("%s %s: a 405 without Allow", c.method, c.path)
		}
	}
}

// Hostile inputs against every route, with the right credential: huge,
// nested, invalid UTF-8, NUL, wrong types, odd content types. No 5xx, no
// hang, no ERROR line, and the database grows by little.
func TestHostileInputs(t *testing.T) {
	w := newWorld(t)
	size := dbSize(t, w)
	nested := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	bodies := []struct{ contentType, body string }{
		{"application/json", strings.Repeat(`{"a":"`+strings.Repeat("x", 1000)+`"},`, 1000)},
		{"application/json", nested},
		{"application/json", `{"redeemer": {"a": 1}, "serials": 5, "sections": "x", "code": ["\u0000"], "search": 12, "event_uuid": [], "page": 1e400}`},
		{"application/json", "{\"search\": \"\xff\xfe\x00\", \"qrcode_data\": \"\x00\x00\", \"code\": \"\xc3\x28\", \"serials\": [\"\xff\"], \"redeemer\": \"\x00\"}"},
		{"application/x-www-form-urlencoded", "secret=%00%ff&nonce=" + strings.Repeat("n", 5000) + "&type=weird&datetime=notadate"},
		{"multipart/form-data", "--x\r\nno boundary\r\n"},
		{"text/xml", "<a>&xxe;</a>"},
		{"application/json", "\x00\x01\x02"},
	}
	queries := []string{"?search=" + strings.Repeat("%25", 20000), "?page=-1&records=99999999999999999999&global=maybe&modified_since=yesterday",
		"?query=%00%ff&key=" + w.acme.pretixdroid, "?q=" + strings.Repeat("x", 3000) + "&limit=0"}
	for _, rt := range allRoutes() {
		method, pattern, _ := strings.Cut(rt, " ")
		fam := familyOf(pattern)
		for _, b := range bodies {
			r := w.sendRaw(t, method, pattern, fam, "", b.contentType, b.body)
			if r.status >= 500 {
				t.Errorf("%s with a %s body: %d %.200s", rt, b.contentType, r.status, r.body)
			}
		}
		for _, q := range queries {
			r := w.sendRaw(t, method, pattern, fam, q, "", "")
			if r.status >= 500 {
				t.Errorf("%s%s: %d %.200s", rt, q[:min(40, len(q))], r.status, r.body)
			}
		}
	}
	if lines := w.errors.take(); len(lines) > 0 {
		t.Errorf("ERROR lines: %q", lines)
	}
	if grown := dbSize(t, w) - size; grown > 4<<20 {
		t.Errorf("the database grew by %d bytes", grown)
	}
}

// sendRaw sends a body of any content type to a route with its right
// credential.
func (w *world) sendRaw(t *testing.T, method, pattern, fam, query, contentType, body string) *response {
	t.Helper()
	path := w.fill(pattern, method)
	if query != "" {
		if strings.Contains(path, "?") {
			query = "&" + query[1:]
		}
		path += query
	}
	headers := w.auth(fam, &path, w.credential(fam, "right"))
	if contentType != "" {
		headers = append(headers, "Content-Type", contentType)
	}
	return w.do(t, w.client(), method, path, body, headers...)
}

// dbSize is the size of the SQLite database and its WAL, or of the
// PostgreSQL database.
func dbSize(t *testing.T, w *world) int64 {
	t.Helper()
	if strings.HasPrefix(w.env.DSN, "postgres") {
		db, err := sql.Open("pgx", w.env.DSN)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int64
		if err := db.QueryRow(`SELECT pg_database_size(current_database())`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	var n int64
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(w.env.DSN + suffix); err == nil {
			n += fi.Size()
		}
	}
	return n
}

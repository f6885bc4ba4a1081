package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Answers as the dialects send them (TiBillet's taken from a server), and
// shapes they could take.
var sampleAnswers = []string{
	`{"success":true,"message":"Ticket successfully scanned","ticket":{"uuid":"3606dd6a-33df-47c7-b9d0-d291d1c57708","status":"Valid and scanned","event":"Example Event","first_name":"John","last_name":"Doe","price":"General Admission","product":"Concert Ticket"},"reservation":{"uuid":"2c0a3aca-b4b8-4a1f-a6da-139ee983a336","tickets_count":2}}`,
	`{"success":false,"message":"Ticket already scanned","ticket":{"uuid":"3606dd6a-33df-47c7-b9d0-d291d1c57708","status":"Valid and scanned","event":"Example Event","first_name":"John","last_name":"Doe","price":"General Admission","product":"Concert Ticket","scanned_by":"43803383-1e37-4a33-96eb-a89d6cfcd31b"},"reservation":{"uuid":"2c0a3aca-b4b8-4a1f-a6da-139ee983a336","tickets_count":2}}`,
	`{"error":"Invalid ticket signature"}`,
	`{"error":"Ticket not found"}` + "\n",
	`{"success":false,"message":"Ticket canceled: the order \"FOO\" was canceled","ticket":{"message":"nested, not the answer's","success":true}}`,
	` { "success" : null , "message" : "Caf\u00e9 \ud83d\ude00 ferm\u00e9" , "error" : null } `,
	`{"success":true,"message":"Entrée validée ✓","n":[1,-2.5e+3,0.1,1E9,true,false,null,{},[],""]}`,
	`{"status":"ok","version":3,"data":{"secret":"az9u4mymhqktrbupmwt4ekbn4ek73bea","order":"B0001A","item":"Entry","attendee_name":"Alice Bauer","redeemed":true,"checkins":[{"datetime":"2026-11-23T21:00:00Z"}]}}`,
	`{"status":"error","reason":"already_redeemed","version":3,"data":{"secret":"az9u4mymhqktrbupmwt4ekbn4ek73bea","redeemed":true}}`,
	`{"status":"error","reason":"unknown_ticket","version":3}`,
	`{"status":"error","reason":"un\/paid"}`,
	`[{"id":1,"serial":"ABC-123","admitted_at":"2026-11-23T21:00:00Z","device":"bench","redeemer":"bench"}]`,
	`[]`, `[1,2]`, `null`, `true`, `"x"`, `12`, `{}`, `{"success":"yes"}`, `{"message":5}`, `{"status":true}`,
	"{\"message\":\"bad \xff byte\",\"status\":\"\xe2\x9c\x93\"}",
	`{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":1e}`, `{"a":"\x"}`, `{"a":"\u12"}`, `{"a":tru}`, `{"a":1}x`, `{"a":1}{}`, `{"a" 1}`,
	`{"a":1,}`, `[1,]`, `{,}`, "{\"a\":\"tab\there\"}", ``, ` `,
}

// The lean decoding of the classification reaches the same values, and
// refuses the same answers, as encoding/json: on sample answers, on every
// truncation of them, and on them with any one byte replaced by a JSON
// delimiter or another byte.
func TestLeanAnswerDecodingAgreesWithEncodingJSON(t *testing.T) {
	var bodies []string
	for _, s := range sampleAnswers {
		bodies = append(bodies, s)
		for i := range len(s) {
			bodies = append(bodies, s[:i])
			for _, c := range []byte("\"\\{}[],: 0-ex\x01\xff") {
				b := []byte(s)
				b[i] = c
				bodies = append(bodies, string(b))
			}
		}
	}
	for _, s := range bodies {
		b := []byte(s)
		var wantT tibilletAnswer
		errT := json.Unmarshal(b, &wantT)
		if got, ok := decodeTibillet(b); ok != (errT == nil) || ok && got != wantT {
			t.Errorf("tibillet %q: lean %+v %v, encoding/json %+v %v", s, got, ok, wantT, errT)
		}
		var wantP pretixAnswer
		errP := json.Unmarshal(b, &wantP)
		if got, ok := decodePretix(b); ok != (errP == nil) || ok && got != wantP {
			t.Errorf("pretixdroid %q: lean %+v %v, encoding/json %+v %v", s, got, ok, wantP, errP)
		}
		var recs []json.RawMessage
		errR := json.Unmarshal(b, &recs)
		if n, ok := jsonArrayLen(b); ok != (errR == nil) || ok && n != len(recs) {
			t.Errorf("ticketing %q: lean %d %v, encoding/json %d %v", s, n, ok, len(recs), errR)
		}
	}
	if t.Failed() {
		return
	}
	// And the classification of the samples.
	for _, c := range []struct {
		d      dialect
		status int
		body   string
		want   Outcome
	}{
		{tibilletDialect{}, 200, sampleAnswers[0], OutOK},
		{tibilletDialect{}, 200, sampleAnswers[1], OutAlready},
		{tibilletDialect{}, 400, sampleAnswers[2], OutBadSignature},
		{tibilletDialect{}, 404, sampleAnswers[3], OutUnknown},
		{tibilletDialect{}, 200, sampleAnswers[4], OutRefused},
		{tibilletDialect{}, 500, sampleAnswers[2], OutError},
		{tibilletDialect{}, 200, `{"success":true`, OutError},
		{pretixdroidDialect{}, 200, sampleAnswers[7], OutOK},
		{pretixdroidDialect{}, 200, sampleAnswers[8], OutAlready},
		{pretixdroidDialect{}, 200, sampleAnswers[9], OutUnknown},
		{pretixdroidDialect{}, 200, sampleAnswers[10], OutRefused},
		{pretixdroidDialect{}, 403, sampleAnswers[7], OutError},
		{ticketingDialect{}, 201, sampleAnswers[11], OutOK},
		{ticketingDialect{}, 201, `[]`, OutRefused},
		{ticketingDialect{}, 400, `{"message":"no"}`, OutRefused},
		{ticketingDialect{}, 201, `[{]`, OutError},
	} {
		if got := c.d.classify(c.status, []byte(c.body)); got != c.want {
			t.Errorf("%s: HTTP %d %s: %s, want %s", c.d.name(), c.status, c.body, got, c.want)
		}
	}
}

// Each dialect's pre-built request is a well-formed HTTP/1.1 request that
// carries its credential and the code, whatever characters the code has.
func TestScanRequestsCarryTheCodeAndCredential(t *testing.T) {
	type seen struct {
		method, path, query, host, ctype, auth, body string
		length                                       int64
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Host, r.Header.Get("Content-Type"),
			r.Header.Get("Authorization") + r.Header.Get("X-API-Key"), string(b), r.ContentLength}
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	ep, err := parseEndpoint(srv.URL + "/prefix/")
	if err != nil {
		t.Fatal(err)
	}
	conn := &scanConn{ep: ep}
	defer conn.close()
	for _, code := range []string{"eyJ1dWlkIjogIjM2MDZk:2ywG-RkK0Uc2Z9W==", `a "quoted" \ code`, "é\x01&=+ %"} {
		for _, d := range []dialect{tibilletDialect{event: "3606d3ac-0000-4000-8000-000000000001"}, pretixdroidDialect{path: "/pretixdroid/api/bench/ev/"}, ticketingDialect{event: "42"}} {
			head, err := d.head(ep, "cred+/=")
			if err != nil {
				t.Fatal(err)
			}
			req := &scanRequest{head: head}
			var body bytes.Buffer
			if _, err := conn.do(context.Background(), req.build(d, code), &body); err != nil {
				t.Fatalf("%s: %v", d.name(), err)
			}
			s := <-got
			if s.method != "POST" || s.host != ep.host || s.length != int64(len(s.body)) {
				t.Errorf("%s: %+v", d.name(), s)
			}
			var sent string
			switch d.(type) {
			case tibilletDialect:
				var v struct {
					QRCodeData string `json:"qrcode_data"`
					EventUUID  string `json:"event_uuid"`
				}
				err = json.Unmarshal([]byte(s.body), &v)
				sent = v.QRCodeData
				if s.path != "/prefix/scan/ticket/" || s.ctype != "application/json" || s.auth != "Api-Key cred+/=" ||
					v.EventUUID != "3606d3ac-0000-4000-8000-000000000001" {
					t.Errorf("tibillet: %+v", s)
				}
			case pretixdroidDialect:
				var q url.Values
				q, err = url.ParseQuery(s.body)
				sent = q.Get("secret")
				if s.path != "/prefix/pretixdroid/api/bench/ev/redeem/" || s.query != "key=cred%2B%2F%3D" || s.ctype != "application/x-www-form-urlencoded" {
					t.Errorf("pretixdroid: %+v", s)
				}
			case ticketingDialect:
				var v struct{ Serials []string }
				err = json.Unmarshal([]byte(s.body), &v)
				if len(v.Serials) == 1 {
					sent = v.Serials[0]
				}
				if s.path != "/prefix/v3/events/42/admissions" || s.ctype != "application/json" || s.auth != "cred+/=" {
					t.Errorf("ticketing: %+v", s)
				}
			}
			if err != nil || sent != code {
				t.Errorf("%s: sent %q (%v), want %q; body %s", d.name(), sent, err, code, s.body)
			}
		}
	}
}

// A load client reads an answer sent in chunks (Transfer-Encoding:
// chunked) whole, on the same kept-alive connection as the ones before and
// after it.
func TestScanConnReadsChunkedAnswers(t *testing.T) {
	var mu sync.Mutex
	remotes := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		remotes[r.RemoteAddr]++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("chunked") == "" {
			w.Write([]byte(`{"success":true,"message":"Ticket successfully scanned"}`))
			return
		}
		// No Content-Length, flushed in parts: a chunked answer.
		for _, part := range []string{`{"success":false,`, `"message":"Ticket already scanned",`, `"ticket":{"status":"Valid and scanned"}}`} {
			w.Write([]byte(part))
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()
	ep, err := parseEndpoint(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	conn := &scanConn{ep: ep}
	defer conn.close()
	d := tibilletDialect{}
	for i, c := range []struct {
		query string
		want  Outcome
	}{{"", OutOK}, {"chunked=1", OutAlready}, {"", OutOK}, {"chunked=1", OutAlready}} {
		head, err := requestHead("POST", ep, "/scan/ticket/?"+c.query, "Content-Type", "application/json")
		if err != nil {
			t.Fatal(err)
		}
		req := &scanRequest{head: head}
		var body bytes.Buffer
		status, err := conn.do(context.Background(), req.build(d, "CODE"), &body)
		if err != nil {
			t.Fatalf("scan %d: %v", i, err)
		}
		if got := d.classify(status, body.Bytes()); got != c.want {
			t.Fatalf("scan %d: HTTP %d %q: %s, want %s", i, status, body.String(), got, c.want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(remotes) != 1 {
		t.Errorf("4 scans over %d connections, want 1: %v", len(remotes), remotes)
	}
}

// When the server closes the connection (after an answer that says so,
// after one that ends with the connection, or without answering), a load
// client counts a scan that got no answer as an error, and its next scan
// goes on a new connection.
func TestScanConnReconnectsWhenTheServerCloses(t *testing.T) {
	var mu sync.Mutex
	var remotes []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		remotes = append(remotes, r.RemoteAddr)
		mu.Unlock()
		switch r.URL.Query().Get("close") {
		case "header": // answered, "Connection: close", then closed
			w.Header().Set("Connection", "close")
			w.Write([]byte(`{"success":true}`))
		case "eof": // answered as HTTP/1.0 without a length: the body ends with the connection
			c, bw, _ := w.(http.Hijacker).Hijack()
			bw.WriteString("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + `{"success":true}`)
			bw.Flush()
			c.Close()
		case "abort": // closed without an answer
			c, _, _ := w.(http.Hijacker).Hijack()
			c.Close()
		default:
			w.Write([]byte(`{"success":true}`))
		}
	}))
	defer srv.Close()
	ep, err := parseEndpoint(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	conn := &scanConn{ep: ep}
	defer conn.close()
	l := &load{dialect: tibilletDialect{}}
	steps := []struct {
		close   string
		want    Outcome
		newConn bool // the scan went on a new connection
	}{
		{"", OutOK, true},
		{"", OutOK, false},
		{"header", OutOK, false},
		{"", OutOK, true},
		{"eof", OutOK, false},
		{"", OutOK, true},
		{"abort", OutError, false},
		{"", OutOK, true},
		{"", OutOK, false},
	}
	for i, s := range steps {
		head, err := requestHead("POST", ep, "/scan/ticket/?close="+s.close, "Content-Type", "application/json")
		if err != nil {
			t.Fatal(err)
		}
		var resp bytes.Buffer
		out, errText := l.send(context.Background(), conn, &scanRequest{head: head}, "CODE", &resp)
		if out != s.want {
			t.Fatalf("scan %d (close=%q): %s %q, want %s", i, s.close, out, errText, s.want)
		}
		if out == OutError && errText == "" {
			t.Errorf("scan %d: an error without its text", i)
		}
		mu.Lock()
		n := len(remotes)
		newConn := n == 1 || n > 1 && remotes[n-1] != remotes[n-2]
		mu.Unlock()
		if n != i+1 || newConn != s.newConn {
			t.Fatalf("scan %d (close=%q): new connection %v, want %v (%v)", i, s.close, newConn, s.newConn, remotes)
		}
	}
}

// A connection that the server closed while it was idle (its idle
// timeout, or a load balancer's) is noticed before the next scan, which
// goes on a new connection instead of getting no answer; an open one is
// kept.
func TestScanConnNoticesAnIdleConnectionClosed(t *testing.T) {
	defer func(d time.Duration) { idleCheckAfter = d }(idleCheckAfter)
	idleCheckAfter = 0 // check before every scan
	var mu sync.Mutex
	remotes := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		remotes[r.RemoteAddr] = true
		mu.Unlock()
		w.Write([]byte(`{"success":true}`))
	}))
	defer srv.Close()
	ep, err := parseEndpoint(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	conn := &scanConn{ep: ep}
	defer conn.close()
	l := &load{dialect: tibilletDialect{}}
	head, _ := l.dialect.head(ep, "KEY")
	scan := func(n int) {
		t.Helper()
		for i := range n {
			var resp bytes.Buffer
			if out, errText := l.send(context.Background(), conn, &scanRequest{head: head}, "CODE", &resp); out != OutOK {
				t.Fatalf("scan %d: %s %s", i, out, errText)
			}
		}
	}
	conns := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(remotes)
	}
	scan(3)
	if !conn.alive() || conns() != 1 {
		t.Fatalf("an open connection: alive %v, %d connections, want 1", conn.alive(), conns())
	}
	srv.CloseClientConnections()
	for deadline := time.Now().Add(5 * time.Second); conn.alive(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a connection the server closed is still alive")
		}
	}
	scan(3)
	if conns() != 2 {
		t.Errorf("%d connections, want 2 (the second after the server closed the first)", conns())
	}
}

// A canceled context ends a scan waiting for its answer.
func TestScanConnStopsWhenCanceled(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.URL.Query().Get("hang") != "" {
			<-release
		}
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	defer close(release)
	ep, err := parseEndpoint(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	conn := &scanConn{ep: ep}
	defer conn.close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var body bytes.Buffer
	for _, q := range []string{"", "hang=1"} {
		head, _ := requestHead("POST", ep, "/scan/ticket/?"+q)
		if q != "" {
			time.AfterFunc(50*time.Millisecond, cancel)
		}
		t0 := time.Now()
		_, err := conn.do(ctx, (&scanRequest{head: head}).build(tibilletDialect{}, "C"), &body)
		if q == "" && err != nil {
			t.Fatal(err)
		}
		if q != "" && (err == nil || time.Since(t0) > 5*time.Second) {
			t.Fatalf("canceled scan: %v after %s", err, time.Since(t0))
		}
	}
}

func TestParseEndpoint(t *testing.T) {
	for base, want := range map[string]string{
		"http://127.0.0.1:8080":        "127.0.0.1:8080 127.0.0.1:8080  false",
		"http://example.org/admit/":    "example.org:80 example.org /admit false",
		"https://[::1]:8443/x":         "[::1]:8443 [::1]:8443 /x true",
		"https://admit.example.org":    "admit.example.org:443 admit.example.org  true",
		"ftp://example.org":            "error",
		"127.0.0.1:8080":               "error",
		"http://example.org/?x=1":      "error",
		"http://user:pw@example.org/":  "error",
		"http://exa mple.org/":         "error",
		"http://example.org/a%20b/":    "example.org:80 example.org /a%20b false",
		"http://example.org/a b/":      "example.org:80 example.org /a%20b false",
		"https://example.org:443/deep": "example.org:443 example.org:443 /deep true",
	} {
		got := "error"
		if ep, err := parseEndpoint(base); err == nil {
			got = fmt.Sprintf("%s %s %s %v", ep.addr, ep.host, ep.prefix, ep.tls != nil)
		}
		if got != want {
			t.Errorf("%s: %s, want %s", base, got, want)
		}
	}
	if _, err := requestHead("POST", &endpoint{host: "h"}, "/x", "X-API-Key", "a\r\nEvil: 1"); err == nil ||
		!strings.Contains(err.Error(), "cannot go") {
		t.Errorf("a header value with a line break: %v", err)
	}
}

// What a scan costs the load generator on the client side: building the
// request, and reading and classifying an answer.
func BenchmarkScanRequestBuild(b *testing.B) {
	ep := &endpoint{host: "127.0.0.1:8080"}
	head, _ := tibilletDialect{}.head(ep, "Zm9vYmFyYmF6cXV4.c2VjcmV0c2VjcmV0c2VjcmV0")
	req := &scanRequest{head: head}
	code := "eyJ1dWlkIjogIjM2MDZkZDZhLTMzZGYtNDdjNy1iOWQwLWQyOTFkMWM1NzcwOCIsICJldmVudCI6ICJjZGQwZTRiMi0zMTRjLTRkNzYtODM3YS00ZWY0Nzc0MzcxNmYifQ==:2ywG-RkK0Uc2Z9WDWXDsqqpQ3nO21jm_LXf0vo51AwjEK0LQcG9cRJ-ST9-RoWkXYDQb7c67BD46YKv0brb1DA=="
	b.ReportAllocs()
	for b.Loop() {
		req.build(tibilletDialect{}, code)
	}
}

func BenchmarkClassifyTibillet(b *testing.B) {
	body := []byte(sampleAnswers[1])
	b.ReportAllocs()
	for b.Loop() {
		if tibilletDialect.classify(tibilletDialect{}, 200, body) != OutAlready {
			b.Fatal("misread")
		}
	}
}

// The same with encoding/json, as the classification decoded before.
func BenchmarkClassifyTibilletEncodingJSON(b *testing.B) {
	body := []byte(sampleAnswers[1])
	b.ReportAllocs()
	for b.Loop() {
		var a tibilletAnswer
		if json.Unmarshal(body, &a) != nil || a.Message != "Ticket already scanned" {
			b.Fatal("misread")
		}
	}
}

package web_test

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/web"
)

// Every page renders for a signed-in organizer, with the security headers,
// and no page holds an inline script, an inline style or an event handler
// attribute (the CSP would block them).
func TestPages(t *testing.T) {
	f := start(t)
	c := client(t)
	f.signIn(t, c, "")
	ev := "/events/" + f.res.Event.UUID
	cases := []struct {
		path   string
		status int
		text   []string
	}{
		{"/", 200, []string{"Summer Fest", "Acme Events", "Sign out"}},
		{ev, 200, []string{"Summer Fest", "Main entrance", "VIP door", "Floor", "Balcony", "Latest scans", "Arrivals per 5 minutes", "/scans?format=csv", "Offline conflicts", `id="conflict-count"`}},
		{ev + "/devices", 200, []string{"Add a scanner", `<option value="Main entrance" selected>`, "VIP door"}},
		{ev + "/tickets", 200, []string{"Find a ticket", "Main entrance"}},
		{"/import", 200, []string{"Import", "Summer Fest"}},
		{"/scanner", 200, []string{"Start camera", "Type or scan a code", `id="net"`, "Offline · checked on this phone"}},
		{"/signin", http.StatusSeeOther, nil}, // already signed in
		{"/events/" + f.other.Event.UUID, 404, []string{"no such event"}},
		{"/events/not-a-uuid/devices", 404, []string{"no such event"}},
		{"/events/" + admit.NewUUID() + "/tickets", 404, []string{"no such event"}},
		{"/qr.png", 400, []string{"A QR code needs a text"}},
		{"/qr.png?text=x&size=9", 400, []string{"size must be"}},
	}
	inline := regexp.MustCompile(`<script(?:\s+type="module")?>|<script>|\sstyle=|\son[a-z]+=|javascript:`)
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			p := get(t, c, f.env.URL+tc.path)
			if p.Status != tc.status {
				t.Fatalf("status %d, want %d:\n%s", p.Status, tc.status, p.Body)
			}
			for _, want := range tc.text {
				if !strings.Contains(p.Body, want) {
					t.Errorf("page lacks %q:\n%s", want, p.Body)
				}
			}
			if p.Status == http.StatusSeeOther {
				return
			}
			if got := p.Header.Get("Content-Security-Policy"); got != web.CSP {
				t.Errorf("CSP %q", got)
			}
			for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
				"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"} {
				if got := p.Header.Get(h); got != want {
					t.Errorf("%s: %q, want %q", h, got, want)
				}
			}
			if m := inline.FindString(p.Body); m != "" {
				t.Errorf("page holds %q, which the CSP blocks", m)
			}
			noLeak(t, p)
		})
	}

	t.Run("the CSP allows no inline code and nothing from elsewhere", func(t *testing.T) {
		for _, want := range []string{"default-src 'none'", "script-src 'self';", "style-src 'self';", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
			if !strings.Contains(web.CSP, want) {
				t.Errorf("CSP lacks %q", want)
			}
		}
		if strings.Contains(web.CSP, "unsafe") || strings.Contains(web.CSP, "http") {
			t.Errorf("CSP allows too much: %s", web.CSP)
		}
	})

	t.Run("the QR code of a text", func(t *testing.T) {
		resp, err := c.Get(f.env.URL + "/qr.png?text=" + "https%3A%2F%2Fexample.org%2Fscanner%23pair%3Dabc")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(string(b), "\x89PNG") {
			t.Fatalf("qr.png: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if p := get(t, client(t), f.env.URL+"/qr.png?text=x"); p.Status != 401 {
			t.Fatalf("qr.png signed out: %d, want 401", p.Status)
		}
	})
}

var staticRe = regexp.MustCompile(`/static/([0-9a-f]+)/css/app\.css`)

// Static files: a checksummed URL, cached for good, compressed, with an
// ETag; the vendored decoder is the file its VERSIONS line names.
func TestStatic(t *testing.T) {
	f := start(t)
	p := get(t, client(t), f.env.URL+"/signin")
	m := staticRe.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no stylesheet URL in:\n%s", p.Body)
	}
	version := m[1]
	fetch := func(path string, hdr ...string) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", f.env.URL+path, nil)
		req.Header.Set("Accept-Encoding", "identity")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, css := fetch("/static/" + version + "/css/app.css")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/css; charset=utf-8" ||
		resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || resp.Header.Get("ETag") == "" {
		t.Fatalf("app.css: %d %v", resp.StatusCode, resp.Header)
	}
	if r, _ := fetch("/static/"+version+"/css/app.css", "If-None-Match", resp.Header.Get("ETag")); r.StatusCode != 304 {
		t.Errorf("If-None-Match: %d, want 304", r.StatusCode)
	}
	zr, zb := fetch("/static/"+version+"/css/app.css", "Accept-Encoding", "gzip")
	if zr.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip not served: %v", zr.Header)
	}
	gz, err := gzip.NewReader(strings.NewReader(string(zb)))
	if err != nil {
		t.Fatal(err)
	}
	if plain, _ := io.ReadAll(gz); string(plain) != string(css) {
		t.Error("gzip body differs from the file")
	}
	if r, _ := fetch("/static/" + version + "/js/scanner.js"); r.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Errorf("scanner.js type %q", r.Header.Get("Content-Type"))
	}
	if r, _ := fetch("/static/0123456789ab/css/app.css"); r.StatusCode != 200 || r.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("old version: %d %q, want the file, not cached for good", r.StatusCode, r.Header.Get("Cache-Control"))
	}
	for _, bad := range []string{"/static/" + version + "/nope.js", "/static/" + version + "/../web.go", "/static/" + version + "/js/../../web.go"} {
		resp, err := http.Get(f.env.URL + bad) // the mux cleans "..": follow it
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", bad, resp.StatusCode)
		}
	}

	// VERSIONS names each vendored file's sha256: the served file is it.
	vf, err := os.Open("static/vendor/VERSIONS")
	if err != nil {
		t.Fatal(err)
	}
	defer vf.Close()
	files := 0
	sc := bufio.NewScanner(vf)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 4 || fs[0] != "file" {
			continue
		}
		files++
		_, b := fetch("/static/" + version + "/vendor/" + fs[2])
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != fs[3] {
			t.Errorf("vendor/%s served with sha256 %x, VERSIONS says %s", fs[2], sum, fs[3])
		}
	}
	if files == 0 {
		t.Fatal("VERSIONS lists no file")
	}
}

// SessionPrincipal, the API's hook: nil without a cookie, the organizer
// with one, and on writes only with the session's CSRF token.
func TestSessionPrincipal(t *testing.T) {
	f := start(t)
	c := client(t)
	csrf := csrfOf(t, f.signIn(t, c, ""))
	secret := sessionCookieOf(t, c, f.env.URL)
	h := web.New(f.env.Core, web.Options{Logger: f.env.Core.Log})
	req := func(method, cookie, token string) *http.Request {
		r := httptest.NewRequest(method, "/api/v1/events", nil)
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: "admit_session", Value: cookie})
		}
		if token != "" {
			r.Header.Set("X-CSRF-Token", token)
		}
		return r
	}
	cases := []struct {
		name string
		r    *http.Request
		code admit.Code // "" : a principal (or none, with no cookie)
		who  bool
	}{
		{"no cookie", req("GET", "", ""), "", false},
		{"no cookie, a write", req("POST", "", ""), "", false},
		{"a read", req("GET", secret, ""), "", true},
		{"a write with the token", req("POST", secret, csrf), "", true},
		{"a delete with the token", req("DELETE", secret, csrf), "", true},
		{"a write without the token", req("POST", secret, ""), admit.EForbidden, false},
		{"a write with a wrong token", req("POST", secret, csrf+"x"), admit.EForbidden, false},
		{"an unknown session", req("GET", "nosuchsession", ""), admit.EUnauthorized, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			info, err := h.SessionPrincipal(tc.r)
			if admit.ErrorCode(err) != tc.code {
				t.Fatalf("error %v, want code %q", err, tc.code)
			}
			if (info != nil) != tc.who {
				t.Fatalf("principal %+v, want one: %v", info, tc.who)
			}
			if info != nil && (info.OrganizerID != f.res.Organizer.ID || info.Name == "") {
				t.Fatalf("principal %+v", info)
			}
		})
	}
}

package web_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/admitdev/admit/web"
)

// The scanner's service worker script: served from the root (so that its
// scope may be /scanner), never cached for good, with the page's security
// headers; it names the static version the pages use and the files the
// scanner needs, each of which is served.
func TestScannerServiceWorker(t *testing.T) {
	f := start(t)
	c := client(t)
	page := get(t, c, f.env.URL+"/scanner")
	m := staticRe.FindStringSubmatch(page.Body)
	if m == nil {
		t.Fatalf("no static URL in the scanner page")
	}
	version := m[1]
	p := get(t, c, f.env.URL+"/scanner-sw.js")
	if p.Status != 200 || p.Header.Get("Content-Type") != "text/javascript; charset=utf-8" || p.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("scanner-sw.js: %d %v", p.Status, p.Header)
	}
	if p.Header.Get("Content-Security-Policy") != web.CSP || !strings.Contains(web.CSP, "worker-src 'self'") {
		t.Errorf("CSP %q", p.Header.Get("Content-Security-Policy"))
	}
	if !strings.Contains(p.Body, `const VERSION = "`+version+`";`) {
		t.Errorf("the worker does not name the pages' static version %s:\n%.300s", version, p.Body)
	}
	am := regexp.MustCompile(`(?m)^const ASSETS = (\[.*\]);$`).FindStringSubmatch(p.Body)
	if am == nil {
		t.Fatalf("no ASSETS in the worker:\n%.300s", p.Body)
	}
	var assets []string
	if err := json.Unmarshal([]byte(am[1]), &assets); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, a := range assets {
		have[strings.TrimPrefix(a, "/static/"+version+"/")] = true
		if !strings.HasPrefix(a, "/static/"+version+"/") || strings.HasSuffix(a, ".LICENSE") {
			t.Errorf("asset %s", a)
			continue
		}
		resp, err := http.Get(f.env.URL + a)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", a, resp.StatusCode)
		}
	}
	// What the scanner page loads, and what it loads later (the decoder's
	// worker, the Ed25519 fallback), is all kept.
	for _, need := range []string{"css/app.css", "icon.svg", "js/scanner.js", "js/offline.js", "js/snapshot.js", "js/decide.js",
		"js/verify.js", "js/queue.js", "js/idb.js", "js/camera.js", "js/decoder-worker.js", "vendor/jsQR.js", "vendor/noble-ed25519.js"} {
		if !have[need] {
			t.Errorf("the worker does not keep %s", need)
		}
	}
	for _, u := range regexp.MustCompile(`/static/[0-9a-f]+/[^"]+`).FindAllString(page.Body, -1) {
		if !have[strings.TrimPrefix(u, "/static/"+version+"/")] {
			t.Errorf("the scanner page loads %s, which the worker does not keep", u)
		}
	}
}

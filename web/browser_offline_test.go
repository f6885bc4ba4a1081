package web_test

// Browser tests of the scanner without the network: the service worker
// keeps the page, the phone decides on its snapshot, the scans wait in
// IndexedDB and reach the server once it answers again.

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/admitdev/admit"
)

// pairScanner opens the scanner through the cut network with a fresh
// pairing link of a new device, and waits until it is ready and its
// service worker controls the page (the page and its files are kept).
func pairScanner(t *testing.T, f *fixture, b *browser, nc *netCut, spec admit.DeviceSpec) {
	t.Helper()
	_, token, err := f.env.Core.CreateDevice(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	b.must("open the pairing link", phone(), chromedp.Navigate(nc.URL+"/scanner#pair="+token))
	b.waitFor("the paired scanner", `document.querySelector("#app").dataset.state === "ready"`, 10*time.Second)
	b.waitFor("the service worker in control", `navigator.serviceWorker.controller !== null`, 15*time.Second)
}

// The scanner opens with no network after its first visit: the service
// worker answers the page and its files from its cache (the current
// version's; an older version's cache is dropped), the page says it is
// offline, the camera and its decoder work, and the snapshot kept in
// IndexedDB decides; a typed code is refused as "online only". When the
// network is back the banner goes by itself and the scans are sent.
func TestBrowserScannerOpensOffline(t *testing.T) {
	f := start(t)
	needAPI(t, f)
	nc := newNetCut(t, f.env.URL)
	code := f.res.Tickets[tKatherine].QRCode
	b := newBrowser(t, browserOpt{camera: writeY4M(t, 10, qrFrame(t, code))})

	// An older version's cache, left by an earlier visit.
	b.must("a page outside the scanner", chromedp.Navigate(nc.URL+"/signin"))
	evalAsync[bool](b, `caches.open("admit-scanner-0ld0ld0ld0ld").then(() => true)`)
	pairScanner(t, f, b, nc, admit.DeviceSpec{Organizer: "acme", Name: "Gate 4", Event: "fest"})
	b.waitFor("the first snapshot", `window.admitScanner.snapshot && window.admitScanner.snapshot.tickets >= 5`, 15*time.Second)
	// Each poll asks for the cache names and reads the last answer.
	b.waitFor("the cache of this version only", `(caches.keys().then(k => window.__keys = k), window.__keys && window.__keys.length === 1 &&
		window.__keys[0] === "admit-scanner-" + document.querySelector('link[rel=stylesheet]').href.split("/")[4])`, 5*time.Second)

	nc.set(netDown)
	b.must("reload with no network", chromedp.Reload())
	b.waitFor("the scanner from the cache", `document.querySelector("#app").dataset.state === "ready"`, 15*time.Second)
	if name := eval[string](b, `document.querySelector("#device-name").textContent`); name != "Gate 4" {
		t.Fatalf("device name %q offline", name)
	}
	b.waitFor("the offline banner", `!document.querySelector("#net").hidden && document.querySelector("#net-title").textContent.startsWith("Offline")`, 15*time.Second)
	if got := eval[string](b, `document.querySelector("#net-title").textContent`); got != "Offline — 0 scans waiting" {
		t.Errorf("banner %q", got)
	}
	// The snapshot kept in IndexedDB decides: the camera's ticket is green.
	b.must("start the camera", chromedp.Click("#start"))
	b.waitFor("the code read offline", `window.admitScanner.lastCode !== null`, 20*time.Second)
	if got := eval[string](b, `window.admitScanner.lastCode`); got != code {
		t.Fatalf("decoded %q offline", got)
	}
	b.waitFor("green offline", `window.admitScanner.results.some(r => r.tone === "ok" && r.offline)`, 5*time.Second)
	// A typed code (a ticket's secret) needs the server: refused, said so.
	b.hideResult()
	b.must("type a secret", chromedp.SendKeys("#code", f.res.Tickets[tAda].Secret+"\r"))
	b.resultWith("bad", "Online only", 5*time.Second)
	if d := eval[string](b, `window.admitScanner.lastResult.detail`); !strings.Contains(d, "only be checked when the network is back") {
		t.Errorf("the typed code's answer says %q", d)
	}
	b.waitFor("two scans waiting", `document.querySelector("#net-title").textContent === "Offline — 2 scans waiting"`, 5*time.Second)

	// Back: the two go to the server. Katherine is in; Ada, turned away
	// (the phone could not check her typed code), is a conflict: the
	// server would have admitted her.
	nc.set(netUp)
	b.waitFor("back online by itself", `document.querySelector("#net").hidden && window.admitScanner.mode === "online" && window.admitScanner.waiting === 0`, 15*time.Second)
	if n := entries(t, f, tKatherine); n != 1 {
		t.Errorf("Katherine's entries: %d, want 1", n)
	}
	if n := entries(t, f, tAda); n != 0 {
		t.Errorf("Ada, turned away, has %d entries", n)
	}
	r := f.env.Do(t, "GET", "/api/v1/events/"+f.res.Event.UUID+"/conflicts", nil, "Authorization", "Bearer "+eval[string](b, `JSON.parse(localStorage.getItem("admit.scanner.v1")).key`))
	if !strings.Contains(string(r.Body), `"kind":"admissible"`) || r.JSON(t)["count"] != 1.0 {
		t.Errorf("conflicts: %d %s", r.Status, r.Body)
	}
	b.clean()
	if strings.Contains(eval[string](b, `document.body.innerText`), "undefined") {
		t.Error("the page shows 'undefined'")
	}
}

// module is a JavaScript expression importing one of the static ES
// modules into the page (the page's static version).
func module(name string) string {
	return `import(document.querySelector('link[rel=stylesheet]').href.replace("css/app.css", "js/` + name + `"))`
}

// rsaJSON: an event of the fixture's organizer whose codes are signed
// with RSA-PSS.
const rsaJSON = `{
  "organizer": {"slug": "acme", "name": "Acme Events"},
  "event": {"slug": "rsafest", "name": "RSA Fest", "signing": "rsa-pss"},
  "products": [{"name": "Pass"}],
  "lists": [{"name": "Door", "default": true}],
  "orders": [{"code": "RSA01", "email": "r@example.org", "tickets": [{"product": "Pass", "first_name": "Rosa"}]}]
}`

// signPSS signs a ticket's claims with an event's RSA key and a given
// salt length (another issuer's choice than admit's longest salt).
func signPSS(t *testing.T, ev *admit.Event, ticketUUID string, salt int) string {
	t.Helper()
	block, _ := pem.Decode([]byte(ev.PrivateKeyPEM))
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	payload := base64.URLEncoding.EncodeToString([]byte(`{"uuid": "` + ticketUUID + `", "event": "` + ev.UUID + `"}`))
	digest := sha256.Sum256([]byte(payload))
	sig, err := rsa.SignPSS(rand.Reader, k.(*rsa.PrivateKey), crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: salt})
	if err != nil {
		t.Fatal(err)
	}
	return payload + ":" + base64.RawURLEncoding.EncodeToString(sig)
}

// flip changes one character of a code's signature.
func flip(code string) string {
	b := []byte(code)
	i := len(b) - 5
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// The phone verifies codes as the server does: an event's genuine
// Ed25519 and RSA-PSS codes (admit's longest salt, and a 32-byte salt as
// other issuers sign), and refuses a changed signature or payload, a code
// of another event's key, and what is not a code; with WebCrypto's
// Ed25519, and with the vendored @noble/ed25519 where WebCrypto lacks it.
// The server's own verdict on each code is checked beside it.
func TestBrowserOfflineSignatures(t *testing.T) {
	f := start(t)
	rsaEv := f.env.Import(t, rsaJSON)
	ed := f.res.Event
	ada := f.res.Tickets[tAda]
	rosa := rsaEv.Tickets[0]
	payload, sig, _ := strings.Cut(ada.QRCode, ":")
	otherPayload, _, _ := strings.Cut(f.res.Tickets[tKatherine].QRCode, ":")
	cases := []struct {
		name string
		code string
		key  *admit.Event
		want string // "ok", "forged", "unreadable"
	}{
		{"a genuine Ed25519 code", ada.QRCode, ed, "ok"},
		{"an Ed25519 signature changed", flip(ada.QRCode), ed, "forged"},
		{"another ticket's payload with this signature", otherPayload + ":" + sig, ed, "forged"},
		{"the payload without its padding (other signed bytes)", strings.TrimRight(payload, "=") + ":" + sig, ed, "forged"},
		{"the signature in the standard alphabet with padding", payload + ":" + base64.StdEncoding.EncodeToString(mustB64(t, sig)), ed, "ok"},
		{"a genuine code under another event's key", ada.QRCode, rsaEv.Event, "forged"},
		{"a genuine RSA-PSS code (longest salt)", rosa.QRCode, rsaEv.Event, "ok"},
		{"an RSA-PSS code with a 32-byte salt", signPSS(t, rsaEv.Event, rosa.UUID, 32), rsaEv.Event, "ok"},
		{"an RSA-PSS signature changed", flip(rosa.QRCode), rsaEv.Event, "forged"},
		{"no signature", payload + ":", ed, "unreadable"},
		{"a payload that is not JSON", base64.URLEncoding.EncodeToString([]byte("not json at all, really")) + ":" + sig, ed, "unreadable"},
		{"no uuid", base64.URLEncoding.EncodeToString([]byte(`{"event": "x", "other": "padding it out"}`)) + ":" + sig, ed, "unreadable"},
		{"two colons", payload + ":" + sig + ":x", ed, "unreadable"},
	}
	// The server's verdict on the same codes (a dry run on the key's event).
	for _, tc := range cases {
		res, err := f.env.Core.Redeem(context.Background(), &admit.RedeemRequest{Code: tc.code, EventID: tc.key.ID, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		server := "ok"
		switch {
		case res.Reason == admit.ReasonBadSignature:
			server = "forged"
		case res.Reason.Unreadable():
			server = "unreadable"
		case res.Reason != admit.ReasonOK && res.Reason != admit.ReasonWrongEvent:
			server = string(res.Reason)
		}
		if tc.key != ed && tc.code == ada.QRCode {
			server = "forged" // the server, told which event, tries that event's key only
		}
		if server != tc.want {
			t.Errorf("%s: the server says %s (%s), the test wants %s", tc.name, server, res.Reason, tc.want)
		}
	}

	check := func(b *browser, engine string) {
		t.Helper()
		for _, tc := range cases {
			js := `(async () => {
				const v = await ` + module("verify.js") + `;
				const p = v.parseCode(` + jsString(tc.code) + `);
				if (p.reason) return p.reason;
				const ok = await v.verifySignature([{pem: ` + jsString(tc.key.PublicKeyPEM) + `}], p.payload, p.signature);
				return ok ? "ok" : "forged";
			})()`
			if got := evalAsync[string](b, js); got != tc.want {
				t.Errorf("%s (%s): the phone says %s, want %s", tc.name, engine, got, tc.want)
			}
		}
		if got := evalAsync[string](b, module("verify.js")+`.then(v => v.engine.ed25519)`); got != engine {
			t.Errorf("Ed25519 verified by %q, want %q", got, engine)
		}
	}

	b := newBrowser(t, browserOpt{})
	b.must("a page", chromedp.Navigate(f.env.URL+"/signin"))
	check(b, "webcrypto")

	// A browser without Ed25519 in WebCrypto: the vendored code verifies.
	b.must("a fresh page", chromedp.Navigate(f.env.URL+"/signin?again"))
	b.must("no Ed25519 in WebCrypto", chromedp.Evaluate[chromedp.Void](`(() => {
		const imp = crypto.subtle.importKey.bind(crypto.subtle);
		crypto.subtle.importKey = (fmt, data, alg, ...rest) =>
			(alg && (alg === "Ed25519" || alg.name === "Ed25519")) ? Promise.reject(new DOMException("no", "NotSupportedError")) : imp(fmt, data, alg, ...rest);
	})()`))
	check(b, "noble")
	b.clean()
}

// jsString quotes a Go string as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// mustB64 decodes URL-safe base64 with or without padding.
func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hideResult taps the result away if it is still shown, and leaves no
// field focused (for the keyboard wedge).
func (b *browser) hideResult() {
	b.t.Helper()
	b.must("hide the result", chromedp.Evaluate[chromedp.Void](`(() => {
		const r = document.querySelector("#result");
		if (!r.hidden) r.click();
		if (document.activeElement) document.activeElement.blur();
	})()`))
}

// needOffline skips a test while the server has no offline API (the web
// side was built before the server side: OFFLINE.md).
func needOffline(t *testing.T, f *fixture, key string) {
	t.Helper()
	r := f.env.Do(t, "GET", "/api/v1/events/"+f.res.Event.UUID+"/offline", nil, "Authorization", "Bearer "+key)
	if r.Status == 404 {
		t.Skip("waits for the server's offline API (GET /api/v1/events/{event}/offline)")
	}
}

// offlineScans returns the event's scans recorded from offline uploads.
func offlineScans(t *testing.T, f *fixture, key string) []map[string]any {
	t.Helper()
	var off []map[string]any
	for _, s := range allScans(t, f, key) {
		if s["offline"] == true {
			off = append(off, s)
		}
	}
	return off
}

// scansOf counts a ticket's scans in the event's log.
func scansOf(t *testing.T, f *fixture, key, ticket string) int {
	t.Helper()
	n := 0
	for _, s := range allScans(t, f, key) {
		if s["ticket"] == ticket {
			n++
		}
	}
	return n
}

// allScans returns the event's scan log (up to 1,000 scans).
func allScans(t *testing.T, f *fixture, key string) []map[string]any {
	t.Helper()
	r := f.env.Do(t, "GET", "/api/v1/events/"+f.res.Event.UUID+"/scans?limit=1000", nil, "Authorization", "Bearer "+key)
	if r.Status != 200 {
		t.Fatalf("scans: %d %s", r.Status, r.Body)
	}
	var out struct {
		Scans []map[string]any `json:"scans"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatal(err)
	}
	return out.Scans
}

// The scanner at a door whose network fails. Paired and synced online;
// then the network goes deaf: a scan reaches the server, which admits it,
// but its answer is lost; after 3 s the phone decides (green, marked
// offline) and keeps the scan, with its nonce. The page says it is offline
// with the scans waiting; a ticket canceled in the snapshot is red; another
// door admits a ticket online, which the camera then reads on this phone:
// green, offline. The network comes back: the scans reach the server once
// each (the one it had already is a duplicate), the check-in state counts
// each ticket once, and the ticket admitted twice is in the conflict report
// (the API and the dashboard, whose count moves live).
func TestBrowserScannerOffline(t *testing.T) {
	f := start(t)
	needAPI(t, f)
	_, other := f.env.PairedDevice(t, admit.DeviceSpec{Organizer: "acme", Name: "Gate 1", Event: "fest"})
	needOffline(t, f, other)
	nc := newNetCut(t, f.env.URL)
	ada, alan, kath := f.res.Tickets[tAda], f.res.Tickets[tAlan], f.res.Tickets[tKatherine]
	b := newBrowser(t, browserOpt{camera: writeY4M(t, 10, qrFrame(t, kath.QRCode))})
	pairScanner(t, f, b, nc, admit.DeviceSpec{Organizer: "acme", Name: "Gate 5", Event: "fest"})
	b.waitFor("the first snapshot", `window.admitScanner.snapshot && window.admitScanner.snapshot.tickets >= 5`, 15*time.Second)

	nc.set(netDeaf)
	b.must("blur", chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`))
	began := time.Now()
	b.wedge(ada.QRCode)
	b.waitFor("Ada green offline", `window.admitScanner.results.some(r => r.tone === "ok" && r.offline)`, 10*time.Second)
	if waited := time.Since(began); waited < 3*time.Second {
		t.Errorf("answered offline after %s: the server had 3 s", waited)
	}
	if n := entries(t, f, tAda); n != 1 {
		t.Fatalf("Ada's entries on the server: %d, want 1 (the request got there, its answer did not)", n)
	}
	b.waitFor("the offline banner", `document.querySelector("#net-title").textContent === "Offline — 1 scan waiting"`, 5*time.Second)
	nc.set(netDown)

	b.hideResult()
	b.wedge(alan.QRCode)
	b.resultWith("bad", "Canceled", 10*time.Second)
	if !eval[bool](b, `window.admitScanner.lastResult.offline && !document.querySelector("#r-offline").hidden`) {
		t.Error("the red answer is not marked offline")
	}
	b.shot("scanner-offline-refused-phone")

	// Meanwhile another door admits Katherine online; then this phone's
	// camera reads her ticket.
	r := f.env.Do(t, "POST", "/api/v1/events/"+f.res.Event.UUID+"/scans", map[string]string{"code": kath.QRCode}, "Authorization", "Bearer "+other)
	if r.Status != 200 || r.JSON(t)["result"] != "ok" {
		t.Fatalf("Gate 1 admits Katherine: %d %s", r.Status, r.Body)
	}
	b.hideResult()
	b.must("start the camera", chromedp.Click("#start"))
	b.waitFor("Katherine green offline", `window.admitScanner.lastCode === `+jsString(kath.QRCode)+` &&
		window.admitScanner.results.filter(r => r.tone === "ok" && r.offline).length === 2`, 20*time.Second)
	b.shot("scanner-offline-admitted-phone")
	b.waitFor("three scans waiting", `document.querySelector("#net-title").textContent === "Offline — 3 scans waiting"`, 5*time.Second)
	b.hideResult()
	b.shot("scanner-offline-waiting-phone")
	b.must("desktop", desktop())
	b.shot("scanner-offline-desktop")
	b.must("phone", phone())
	if n := eval[int](b, `window.admitScanner.scansSent`); n != 3 {
		t.Errorf("%d codes checked, want 3 (the camera's code once)", n)
	}
	if n := entries(t, f, tKatherine); n != 1 {
		t.Fatalf("Katherine has %d entries while the phone is offline", n)
	}

	// The network is back: the queue goes, in order, once.
	nc.set(netUp)
	b.waitFor("the queue sent", `window.admitScanner.waiting === 0 && window.admitScanner.mode === "online" && document.querySelector("#net").hidden`, 20*time.Second)
	for _, c := range []struct {
		ticket, want int
	}{{tAda, 1}, {tKatherine, 1}, {tAlan, 0}} {
		if n := entries(t, f, c.ticket); n != c.want {
			t.Errorf("ticket %d: %d entries, want %d", c.ticket, n, c.want)
		}
	}
	// Alan's and Katherine's scans came offline; Ada's had reached the
	// server online: sent again, it is a duplicate, logged once.
	if scans := offlineScans(t, f, other); len(scans) != 2 {
		t.Fatalf("%d offline scans recorded, want 2: %v", len(scans), scans)
	}
	if up := eval[map[string]float64](b, `window.admitScanner.uploaded`); up["recorded"] != 2 || up["duplicate"] != 1 {
		t.Errorf("the upload's answers: %v, want 2 recorded and Ada's a duplicate", up)
	}
	for _, tk := range []*admit.Ticket{ada, alan} {
		if n := scansOf(t, f, other, tk.UUID); n != 1 {
			t.Errorf("%s's scans in the log: %d, want 1", tk.FirstName, n)
		}
	}
	if rej := eval[int](b, `window.admitScanner.rejected.length`); rej != 0 {
		t.Errorf("%d scans rejected: %s", rej, eval[string](b, `JSON.stringify(window.admitScanner.rejected)`))
	}

	// The conflict: Katherine admitted offline after Gate 1 admitted her.
	r = f.env.Do(t, "GET", "/api/v1/events/"+f.res.Event.UUID+"/conflicts", nil, "Authorization", "Bearer "+other)
	var cs struct {
		Count     int `json:"count"`
		Conflicts []struct {
			Kind   string         `json:"kind"`
			Ticket map[string]any `json:"ticket"`
			Scan   map[string]any `json:"scan"`
			Other  map[string]any `json:"other"`
		} `json:"conflicts"`
	}
	if err := json.Unmarshal(r.Body, &cs); err != nil || r.Status != 200 {
		t.Fatalf("conflicts: %d %s", r.Status, r.Body)
	}
	if cs.Count != 1 || len(cs.Conflicts) != 1 || cs.Conflicts[0].Kind != "already_inside" ||
		cs.Conflicts[0].Scan["device"] != "Gate 5" || cs.Conflicts[0].Other["device"] != "Gate 1" {
		t.Fatalf("conflicts: %s", r.Body)
	}

	// The dashboard shows it, and counts a new one live.
	b.must("sign in", desktop(), chromedp.Navigate(f.signinLink(t, "")))
	b.waitFor("the live stream", `document.querySelector("#live-status").dataset.state === "live"`, 10*time.Second)
	b.waitFor("the conflict listed", `document.querySelector("#conflict-count").textContent === "1 conflict" &&
		document.querySelector('#conflict-list li.c-item[data-kind="already_inside"]').textContent.includes("Katherine Johnson")`, 10*time.Second)
	item := eval[string](b, `document.querySelector("#conflict-list li.c-item").textContent`)
	for _, want := range []string{"Entered twice", "Gate 5", "Gate 1"} {
		if !strings.Contains(item, want) {
			t.Errorf("the conflict shown lacks %q: %s", want, item)
		}
	}
	_, late := f.env.PairedDevice(t, admit.DeviceSpec{Organizer: "acme", Name: "Gate 6", Event: "fest"})
	r = f.env.Do(t, "POST", "/api/v1/events/"+f.res.Event.UUID+"/scans/offline", map[string]any{
		"clock_offset_ms": 0,
		"scans": []map[string]string{{"nonce": admit.NewUUID(), "code": ada.QRCode, "type": "entry",
			"device_time": time.Now().UTC().Format(time.RFC3339Nano), "verdict": "ok"}},
	}, "Authorization", "Bearer "+late)
	if r.Status != 200 {
		t.Fatalf("Gate 6's upload: %d %s", r.Status, r.Body)
	}
	b.waitFor("the count moved live", `document.querySelector("#conflict-count").textContent === "2 conflicts"`, 5*time.Second)
	b.waitFor("the new one listed", `document.querySelectorAll("#conflict-list li.c-item").length === 2`, 5*time.Second)
	b.must("to the conflicts", chromedp.Evaluate[chromedp.Void](`document.querySelector("#conflicts").scrollIntoView()`))
	time.Sleep(1300 * time.Millisecond) // the new rows' highlight fades, for the picture
	b.shot("dashboard-conflicts-desktop")
	b.must("phone", phone(), chromedp.Evaluate[chromedp.Void](`document.querySelector("#conflicts").scrollIntoView()`))
	b.shot("dashboard-conflicts-phone")
	b.clean()
}

// More scans wait than one upload takes (450: three batches): they reach
// the server in the order they were made (entries and exits of one ticket,
// each admitted by the phone: out of order, the server would refuse some
// and report conflicts), each once.
func TestBrowserScannerOfflineBatches(t *testing.T) {
	f := start(t)
	needAPI(t, f)
	_, other := f.env.PairedDevice(t, admit.DeviceSpec{Organizer: "acme", Name: "Gate 1", Event: "fest"})
	needOffline(t, f, other)
	nc := newNetCut(t, f.env.URL)
	b := newBrowser(t, browserOpt{})
	pairScanner(t, f, b, nc, admit.DeviceSpec{Organizer: "acme", Name: "Gate 7", Event: "fest"})
	b.waitFor("the first snapshot", `window.admitScanner.snapshot && window.admitScanner.snapshot.tickets >= 5`, 15*time.Second)
	nc.set(netDown)
	verdicts := evalAsync[map[string]float64](b, `(async () => {
		const link = window.admitScanner.link;
		link.goOffline();
		const out = {};
		for (let i = 0; i < 450; i++) {
			const r = await link.scan(`+jsString(f.res.Tickets[tAda].QRCode)+`, i % 2 ? "exit" : "entry");
			const v = r.decision ? r.decision.verdict : "none";
			out[v] = (out[v] || 0) + 1;
		}
		return out;
	})()`)
	if verdicts["ok"] != 450 {
		t.Fatalf("the phone's verdicts: %v", verdicts)
	}
	b.waitFor("450 scans waiting", `window.admitScanner.waiting === 450`, 5*time.Second)
	nc.set(netUp)
	b.waitFor("the queue sent", `window.admitScanner.waiting === 0 && window.admitScanner.mode === "online"`, 60*time.Second)
	if n := len(offlineScans(t, f, other)); n != 450 {
		t.Errorf("%d offline scans recorded, want 450", n)
	}
	if n := entries(t, f, tAda); n != 225 {
		t.Errorf("Ada's entries: %d, want 225", n)
	}
	r := f.env.Do(t, "GET", "/api/v1/events/"+f.res.Event.UUID+"/conflicts", nil, "Authorization", "Bearer "+other)
	if r.Status != 200 || r.JSON(t)["count"] != 0.0 {
		t.Errorf("conflicts: %d %s", r.Status, r.Body)
	}
	b.clean()
}

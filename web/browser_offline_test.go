package web_test

// Browser tests of the scanner without the network: the service worker
// keeps the page, the phone decides on its snapshot, the scans wait in
// IndexedDB and reach the server once it answers again.

import (
	"context"
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
// offline, the camera and its decoder work; when the network is back the
// banner goes by itself.
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
	b.must("start the camera", chromedp.Click("#start"))
	b.waitFor("the code read offline", `window.admitScanner.lastCode !== null`, 20*time.Second)
	if got := eval[string](b, `window.admitScanner.lastCode`); got != code {
		t.Fatalf("decoded %q offline", got)
	}

	nc.set(netUp)
	b.waitFor("back online by itself", `document.querySelector("#net").hidden && window.admitScanner.mode === "online"`, 15*time.Second)
	b.clean()
	if strings.Contains(eval[string](b, `document.body.innerText`), "undefined") {
		t.Error("the page shows 'undefined'")
	}
}

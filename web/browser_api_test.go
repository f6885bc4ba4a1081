package web_test

// Browser tests of the pages working through admit's API (/api/v1). They
// skip while the server has no API at all (GET /api/v1/openapi.json is
// 404: the web branch before the API is merged); with the API they run.

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/admittest"
)

func needAPI(t *testing.T, f *fixture) {
	t.Helper()
	resp, err := http.Get(f.env.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		t.Skip("waits for admit's API (/api/v1): this server has none")
	}
}

// entries returns a ticket's entries on its event's default list.
func entries(t *testing.T, f *fixture, ticket int) int {
	t.Helper()
	ctx := context.Background()
	l, err := f.env.Core.Store.DefaultList(ctx, f.res.Event.ID)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.env.Core.Store.CheckinState(ctx, f.res.Tickets[ticket].ID, l.ID)
	if admit.IsNotFound(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return st.Entries
}

// resultWith waits for a shown scan result whose name or title holds text.
func (b *browser) resultWith(tone, text string, timeout time.Duration) {
	b.t.Helper()
	defer func() {
		if b.t.Failed() {
			b.t.Logf("results: %s", eval[string](b, `JSON.stringify(window.admitScanner.results)`))
			b.t.Logf("codes: %s", eval[string](b, `JSON.stringify(window.admitScanner.codes)`))
		}
	}()
	b.waitFor(tone+" result with "+text,
		`window.admitScanner.results.some(r => r.tone === "`+tone+`" && (r.name + " " + r.title + " " + r.detail).includes("`+text+`"))`, timeout)
}

// The scanner, paired by its pairing link (what `admit device create`
// prints as scanner_url), reads a real ticket from the fake camera: the
// ticket is admitted in the database and the page shows green with the
// name; a canceled ticket shows red with "Canceled"; a keyboard wedge
// admits a third ticket; a second entry is "Already inside" with where.
func TestBrowserScannerAdmits(t *testing.T) {
	f := start(t)
	needAPI(t, f)
	_, token, err := f.env.Core.CreateDevice(context.Background(), admit.DeviceSpec{Organizer: "acme", Name: "Gate 2", Event: "fest"})
	if err != nil {
		t.Fatal(err)
	}
	ada, alan := qrFrame(t, f.res.Tickets[tAda].QRCode), qrFrame(t, f.res.Tickets[tAlan].QRCode)
	var video []frame
	video = append(video, repeat(blankFrame(), 10)...)
	video = append(video, repeat(ada, 20)...)
	video = append(video, repeat(blankFrame(), 40)...)
	video = append(video, repeat(alan, 20)...)
	video = append(video, repeat(blankFrame(), 120)...)
	b := newBrowser(t, browserOpt{camera: writeY4M(t, 10, video...)})

	b.must("open the pairing link", phone(), chromedp.Navigate(f.env.URL+"/scanner#pair="+token))
	b.waitFor("the paired scanner", `document.querySelector("#app").dataset.state === "ready"`, 10*time.Second)
	if name := eval[string](b, `document.querySelector("#device-name").textContent`); name != "Gate 2" {
		t.Fatalf("device name %q", name)
	}
	if hash := eval[string](b, `location.hash`); hash != "" {
		t.Errorf("the pairing token stays in the address: %q", hash)
	}
	if !eval[bool](b, `!!JSON.parse(localStorage.getItem("admit.scanner.v1")).key`) {
		t.Fatal("the scanner did not keep its key")
	}
	b.shot("scanner-ready-phone")

	b.must("start the camera", chromedp.Click("#start"))
	b.resultWith("ok", "Ada Lovelace", 20*time.Second)
	b.shot("scanner-admitted-phone")
	if n := entries(t, f, tAda); n != 1 {
		t.Fatalf("Ada's entries in the database: %d, want 1", n)
	}
	if title := eval[string](b, `window.admitScanner.results.find(r => r.name.includes("Ada")).name`); !strings.Contains(title, "Ada") {
		t.Fatalf("the green result does not show the first name: %q", title)
	}

	b.resultWith("bad", "Canceled", 20*time.Second)
	b.shot("scanner-refused-phone")
	if n := entries(t, f, tAlan); n != 0 {
		t.Fatalf("the canceled ticket has %d entries", n)
	}

	b.must("hide", chromedp.Click("#result"), chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`))
	b.wedge(f.res.Tickets[tKatherine].QRCode)
	b.resultWith("ok", "Katherine Johnson", 10*time.Second)
	if n := entries(t, f, tKatherine); n != 1 {
		t.Fatalf("Katherine's entries: %d, want 1", n)
	}

	b.must("the field", chromedp.SendKeys("#code", f.res.Tickets[tAda].QRCode+"\r"))
	b.resultWith("bad", "at Gate 2", 10*time.Second)
	b.shot("scanner-already-inside-phone")
	if n := entries(t, f, tAda); n != 1 {
		t.Fatalf("Ada's entries after a second scan: %d, want 1", n)
	}

	b.must("exit mode", chromedp.Click("#result"), chromedp.Click("#mode"))
	if m := eval[string](b, `document.querySelector("#mode").dataset.mode`); m != "exit" {
		t.Fatalf("mode %q after one tap", m)
	}
	b.must("desktop", desktop())
	b.shot("scanner-exit-desktop")
	b.clean()
}

// The dashboard's live page moves without a reload: a scan made through
// the TiBillet API raises the inside count and shows in the feed with the
// attendee's name within a second; a refusal is there with its reason.
func TestBrowserDashboardLive(t *testing.T) {
	f := start(t)
	needAPI(t, f)
	_, key := f.env.PairedDevice(t, admit.DeviceSpec{Organizer: "acme", Name: "Gate 1", Event: "fest"})
	b := newBrowser(t, browserOpt{})
	b.must("sign in", desktop(), chromedp.Navigate(f.signinLink(t, "")))
	b.waitFor("the live stream", `document.querySelector("#live-status").dataset.state === "live"`, 10*time.Second)
	inside := `document.querySelector('#lists .area[data-name="Main entrance"] [data-f=inside]').textContent`
	b.waitFor("the occupancy", inside+` === "0"`, 5*time.Second)
	b.must("mark the page", chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))

	scan := func(code string) {
		r := admittest.Do(t, "POST", f.env.URL+"/scan/ticket/", map[string]string{"qrcode_data": code}, "Authorization", "Api-Key "+key)
		if r.Status != 200 {
			t.Fatalf("TiBillet scan: %d %s", r.Status, r.Body)
		}
	}
	scan(f.res.Tickets[tAda].QRCode)
	b.waitFor("the count and the feed", inside+` === "1" && document.querySelector("#feed li").textContent.includes("Ada Lovelace")`, time.Second)
	scan(f.res.Tickets[tAlan].QRCode)
	b.waitFor("the refusal in the feed", `document.querySelector("#feed li.refused") && document.querySelector("#feed li.refused").textContent.includes("Canceled")`, time.Second)
	if !eval[bool](b, `window.notReloaded === true`) {
		t.Fatal("the page was reloaded")
	}
	b.waitFor("the device's counts", `document.querySelector('#device-rows tr[data-device="Gate 1"]') && document.querySelector('#device-rows tr[data-device="Gate 1"]').textContent.includes("2")`, 2*time.Second)
	time.Sleep(1300 * time.Millisecond) // the new rows' highlight fades, for the picture
	b.shot("dashboard-live-desktop")
	b.must("phone", phone())
	b.shot("dashboard-live-phone")
	b.clean()
}

// Device pairing from the dashboard: the QR code shown for the browser
// scanner decodes (with the vendored decoder, in the page) to a pairing
// link, and opening that link pairs the browser as the device.
func TestBrowserDevicePairing(t *testing.T) {
	f := start(t)
	needAPI(t, f)
	b := newBrowser(t, browserOpt{})
	b.must("sign in", desktop(), chromedp.Navigate(f.signinLink(t, "")))
	b.waitFor("the live page", `!!document.querySelector("#lists")`, 10*time.Second)
	b.must("devices page", chromedp.Navigate(f.env.URL+"/events/"+f.res.Event.UUID+"/devices"), chromedp.WaitVisible("#device-form"))
	b.must("create a device", chromedp.SendKeys(`#device-form input[name=name]`, "Gate 3"), chromedp.Click(`#device-form button[type=submit]`))
	b.waitFor("the pairing codes", `!document.querySelector("#pairing").hidden && document.querySelector("#qr-scanner img").complete && document.querySelector("#qr-scanner img").naturalWidth > 0`, 10*time.Second)
	b.shot("devices-pairing-desktop")
	b.must("phone", phone())
	b.shot("devices-pairing-phone")

	// Load the vendored decoder into the page and read the image shown.
	decode := func(sel string) string {
		return evalAsync[string](b, `(async () => {
			if (!window.jsQR) await new Promise((ok, fail) => {
				const s = document.createElement("script");
				s.src = document.querySelector('link[rel=stylesheet]').href.replace("css/app.css", "vendor/jsQR.js");
				s.onload = ok; s.onerror = fail; document.head.append(s);
			});
			const img = document.querySelector(`+"`"+sel+"`"+`);
			await img.decode();
			const c = document.createElement("canvas");
			c.width = img.naturalWidth; c.height = img.naturalHeight;
			const g = c.getContext("2d");
			g.drawImage(img, 0, 0);
			const r = jsQR(g.getImageData(0, 0, c.width, c.height).data, c.width, c.height);
			return r ? r.data : "";
		})()`)
	}
	scannerLink := decode("#qr-scanner img")
	if !strings.HasPrefix(scannerLink, f.env.URL+"/scanner#pair=") {
		t.Fatalf("the scanner QR code reads %q", scannerLink)
	}
	if tib, shown := decode("#qr-tibillet img"), eval[string](b, `document.querySelector("#qr-tibillet .qr-text").textContent`); tib == "" || tib != shown {
		t.Errorf("the TiBillet QR code reads %q, the page shows %q", tib, shown)
	}
	b.must("open the decoded link", chromedp.Navigate(scannerLink))
	b.waitFor("the paired scanner", `document.querySelector("#app").dataset.state === "ready" && document.querySelector("#device-name").textContent === "Gate 3"`, 10*time.Second)
	b.clean()
}

// Find a ticket and check it in by hand: the same decision as a scan (a
// canceled ticket is refused), recorded in the database.
func TestBrowserManualCheckin(t *testing.T) {
	f := start(t)
	needAPI(t, f)
	b := newBrowser(t, browserOpt{})
	b.must("sign in", phone(), chromedp.Navigate(f.signinLink(t, "")))
	b.waitFor("the live page", `!!document.querySelector("#lists")`, 10*time.Second)
	b.must("tickets page", chromedp.Navigate(f.env.URL+"/events/"+f.res.Event.UUID+"/tickets"), chromedp.WaitVisible("#q"))
	b.must("search", chromedp.SendKeys("#q", "kath"))
	b.waitFor("the ticket found", `[...document.querySelectorAll("#tickets li.ticket")].some(li => li.textContent.includes("Katherine Johnson"))`, 5*time.Second)
	b.must("check in", chromedp.Click(`#tickets li.ticket button.primary`))
	b.waitFor("the green answer", `document.querySelector("#checkin-result").dataset.tone === "ok" && document.querySelector("#checkin-result").textContent.includes("Katherine")`, 5*time.Second)
	if n := entries(t, f, tKatherine); n != 1 {
		t.Fatalf("Katherine's entries: %d, want 1", n)
	}
	b.waitFor("the ticket shown inside", `document.querySelector("#tickets li.ticket").textContent.includes("inside since")`, 5*time.Second)
	b.shot("tickets-checkin-phone")

	b.must("search the canceled one", chromedp.Evaluate[chromedp.Void](`document.querySelector("#q").value = ""`), chromedp.SendKeys("#q", "Turing"))
	b.waitFor("Alan found", `[...document.querySelectorAll("#tickets li.ticket")].some(li => li.textContent.includes("Alan Turing") && li.textContent.includes("canceled"))`, 5*time.Second)
	b.must("check in", chromedp.Click(`#tickets li.ticket button.primary`))
	b.waitFor("the red answer", `document.querySelector("#checkin-result").dataset.tone === "bad" && document.querySelector("#checkin-result").textContent.includes("Canceled")`, 5*time.Second)
	if n := entries(t, f, tAlan); n != 0 {
		t.Fatalf("the canceled ticket got %d entries", n)
	}
	b.must("desktop", desktop())
	b.shot("tickets-refused-desktop")
	b.clean()
}

// Import a file from the dashboard: the summary, then a bad file's error
// with its place, and nothing imported.
func TestBrowserImport(t *testing.T) {
	f := start(t)
	needAPI(t, f)
	dir := t.TempDir()
	good := filepath.Join(dir, "more.json")
	bad := filepath.Join(dir, "bad.json")
	more := strings.Replace(fixtureJSON, `"code": "KJ003"`, `"code": "NEW05"`, 1)
	more = strings.Replace(more, `"first_name": "Katherine", "last_name": "Johnson"`, `"first_name": "Dorothy", "last_name": "Vaughan"`, 1)
	if err := os.WriteFile(good, []byte(more), 0o644); err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(fixtureJSON, `{"product": "Day pass", "first_name": "Ada"`, `{"product": "Nope", "first_name": "Ada"`, 1)
	if err := os.WriteFile(bad, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, browserOpt{})
	b.must("sign in", desktop(), chromedp.Navigate(f.signinLink(t, "")))
	b.waitFor("the live page", `!!document.querySelector("#lists")`, 10*time.Second)
	b.must("import page", chromedp.Navigate(f.env.URL+"/import"), chromedp.WaitVisible("#file"))
	b.must("upload", chromedp.SetUploadFiles("#file", []string{good}), chromedp.Click(`#import-form button[type=submit]`))
	b.waitFor("the summary", `!document.querySelector("#import-result").hidden && !!document.querySelector("#import-result .alert.ok")`, 15*time.Second)
	b.shot("import-done-desktop")
	ts, _, err := f.env.Core.Store.FindTickets(context.Background(), admit.TicketFilter{EventID: f.res.Event.ID, Query: "Vaughan", Fields: admit.SearchName})
	if err != nil || len(ts) != 1 {
		t.Fatalf("the imported ticket: %d found, %v", len(ts), err)
	}

	b.must("upload a bad file", chromedp.SetUploadFiles("#file", []string{bad}), chromedp.Click(`#import-form button[type=submit]`))
	b.waitFor("the error with its place", `!!document.querySelector("#import-result .alert.bad") && document.querySelector("#import-result").textContent.includes("orders[0].tickets[0].product")`, 15*time.Second)
	b.must("phone", phone())
	b.shot("import-error-phone")
	b.clean()
}

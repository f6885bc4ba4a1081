package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The scanner page in Chromium with a fake camera that shows a real
// ticket's QR code: the camera starts, the vendored decoder (this Chromium
// has no BarcodeDetector) reads the code in the page, and an unpaired
// scanner says so in red instead of sending it. Needs no API.
func TestBrowserScannerReadsTheCamera(t *testing.T) {
	f := start(t)
	code := f.res.Tickets[tAda].QRCode
	b := newBrowser(t, browserOpt{camera: writeY4M(t, 10, qrFrame(t, code))})
	b.must("open the scanner", phone(), chromedp.Navigate(f.env.URL+"/scanner"), chromedp.WaitVisible("#start"))
	b.waitFor("the unpaired state", `document.querySelector("#app").dataset.state === "unpaired"`, 5*time.Second)
	b.shot("scanner-unpaired-phone")
	b.must("start the camera", chromedp.Click("#start"))
	b.waitFor("the camera", `document.querySelector("#app").dataset.camera === "on"`, 10*time.Second)
	b.waitFor("the code read from the camera", `window.admitScanner.lastCode !== null`, 15*time.Second)
	if got := eval[string](b, `window.admitScanner.lastCode`); got != code {
		t.Fatalf("decoded %q, want the ticket's code %q", got, code)
	}
	if dec := eval[string](b, `window.admitScanner.decoder`); dec != "jsqr" && dec != "native" {
		t.Fatalf("decoder %q", dec)
	}
	t.Logf("decoder: %s", eval[string](b, `window.admitScanner.decoder`))
	b.waitFor("the red 'not paired'", `!document.querySelector("#result").hidden && document.querySelector("#result").dataset.tone === "bad"`, 5*time.Second)
	if title := eval[string](b, `document.querySelector("#r-title").textContent`); title != "Not paired" {
		t.Fatalf("result %q", title)
	}
	if sent := eval[int](b, `window.admitScanner.scansSent`); sent != 0 {
		t.Fatalf("an unpaired scanner sent %d scans", sent)
	}
	// The code stays in front of the camera: it is read again and again,
	// but shown once until it has been away for 3 s.
	time.Sleep(1500 * time.Millisecond)
	if n := eval[int](b, `window.admitScanner.results.length`); n != 1 {
		t.Errorf("the same code in view gave %d results in 1.5 s, want 1", n)
	}
	if frames := eval[int](b, `window.admitScanner.frames`); frames < 3 {
		t.Errorf("only %d frames decoded", frames)
	}
	b.must("hide the result", chromedp.Click("#result"))
	b.shot("scanner-camera-phone")

	// A keyboard wedge types the code and Enter with no field focused.
	b.must("blur", chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`))
	b.must("wedge", chromedp.KeyEvent("WEDGE-12345\r"))
	b.waitFor("the wedge's code", `window.admitScanner.codes.includes("WEDGE-12345")`, 5*time.Second)
	b.clean()
	if strings.Contains(eval[string](b, `document.body.innerText`), "undefined") {
		t.Error("the page shows 'undefined'")
	}
}

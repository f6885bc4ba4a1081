package web_test

// The harness of the browser tests: a real Chromium (Debian's chromium or
// chromium-headless-shell; .ci/run installs it) driven with chromedp. No
// browser is downloaded: without one the tests skip, or fail when
// ADMIT_REQUIRE_BROWSER=1 (CI).

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browserPath returns the Chromium to run: $ADMIT_CHROME, else the first
// of Debian's names found.
func browserPath() string {
	if p := os.Getenv("ADMIT_CHROME"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-headless-shell", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	for _, p := range []string{"/usr/lib/chromium/chromium", "/usr/lib/chromium/headless_shell"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

type browser struct {
	ctx context.Context
	t   *testing.T

	mu       sync.Mutex
	messages []chromedp.ConsoleMessage
}

type browserOpt struct {
	camera string // a Y4M file for the fake camera
}

// newBrowser starts a fresh Chromium (its own profile) for the test.
func newBrowser(t *testing.T, o browserOpt) *browser {
	t.Helper()
	path := browserPath()
	if path == "" {
		if os.Getenv("ADMIT_REQUIRE_BROWSER") == "1" {
			t.Fatal("no Chromium found (ADMIT_REQUIRE_BROWSER=1): install Debian's chromium or chromium-headless-shell, or set ADMIT_CHROME")
		}
		t.Skip("no Chromium found: install chromium or chromium-headless-shell (or set ADMIT_CHROME) to run the browser tests")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.WindowSize(1280, 900),
	}
	if o.camera != "" {
		opts = append(opts,
			chromedp.Flag("use-fake-ui-for-media-stream", true),
			chromedp.Flag("use-fake-device-for-media-stream", true),
			chromedp.Flag("use-file-for-fake-video-capture", o.camera))
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	b := &browser{ctx: ctx, t: t}
	console := chromedp.Console(ctx) // starts the browser
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.messages = append(b.messages, m)
			b.mu.Unlock()
		}
	}()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			b.mu.Lock()
			defer b.mu.Unlock()
			for _, m := range b.messages {
				t.Logf("browser console: %s %s", m.Type, m.Text)
			}
		}
	})
	return b
}

// do runs actions with a time limit.
func (b *browser) do(timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	return chromedp.Do(ctx, steps...)
}

// must runs actions or fails the test.
func (b *browser) must(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := b.do(30*time.Second, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// wedge types text and Enter as a keyboard-wedge scanner does, every key
// within a millisecond, on the page (not in a field). chromedp.KeyEvent
// sends one key per DevTools round trip, which on a loaded machine left
// more than the scanner's 500 ms between two keys: the page then starts
// the code anew, as it should for a person typing.
func (b *browser) wedge(text string) {
	b.t.Helper()
	js, err := json.Marshal(text)
	if err != nil {
		b.t.Fatal(err)
	}
	eval[bool](b, `(() => { for (const key of [...`+string(js)+`, "Enter"]) `+
		`document.body.dispatchEvent(new KeyboardEvent("keydown", {key, bubbles: true, cancelable: true})); return true })()`)
}

// eval evaluates a JavaScript expression.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAsValue))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// evalAsync evaluates an expression whose value is a promise.
func evalAsync[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAsValue, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript predicate until it is true, or fails. A
// predicate that throws (its element not there yet: the page still
// loading, or between two pages) is not true yet; so is a poll cut short
// by the page navigating (a sign-in's redirects): it polls on.
func (b *browser) waitFor(what, predicate string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	guarded := `(() => { try { return Boolean(` + predicate + `); } catch (e) { return false; } })()`
	for {
		left := time.Until(deadline)
		if left < 50*time.Millisecond {
			left = 50 * time.Millisecond
		}
		ctx, cancel := context.WithTimeout(b.ctx, left+5*time.Second)
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](guarded, chromedp.WithPollingTimeout(left), chromedp.WithPollingInterval(20*time.Millisecond)))
		cancel()
		if err == nil {
			return
		}
		// A page that navigates (the sign-in page posts its form by script)
		// loses the context the poll ran in, under one name or another.
		navigated := strings.Contains(err.Error(), "navigated or closed") || strings.Contains(err.Error(), "context was destroyed") ||
			strings.Contains(err.Error(), "Cannot find context with specified id")
		if !navigated || time.Now().After(deadline) {
			b.t.Fatalf("waiting %s for %s (%s): %v", timeout, what, predicate, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// phone and desktop are the screen sizes of the screenshots.
func phone() chromedp.Action[chromedp.Void] {
	return chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)
}

func desktop() chromedp.Action[chromedp.Void] {
	return chromedp.EmulateViewport(1280, 860)
}

// shot writes a screenshot of the viewport to the test's output folder:
// $ADMIT_SHOTS_DIR, else testdata/shots.
func (b *browser) shot(name string) {
	b.t.Helper()
	dir := os.Getenv("ADMIT_SHOTS_DIR")
	if dir == "" {
		dir = filepath.Join("testdata", "shots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// problems returns the console's CSP violations and uncaught exceptions.
func (b *browser) problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.messages {
		if m.IsException() || strings.Contains(m.Text, "Content Security Policy") || strings.Contains(m.Text, "Refused to") {
			out = append(out, fmt.Sprintf("%s: %s", m.Type, m.Text))
		}
	}
	return out
}

// clean fails the test if the page broke its CSP or threw.
func (b *browser) clean() {
	b.t.Helper()
	time.Sleep(100 * time.Millisecond) // let the last console events arrive
	if p := b.problems(); len(p) > 0 {
		b.t.Errorf("the page had problems:\n%s", strings.Join(p, "\n"))
	}
}

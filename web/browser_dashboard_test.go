package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/admittest"
)

// slowPath stands between the browser and the server as an HTTP proxy that
// holds back one path's GET: its request (the server reads after the
// release) or its answer (the server read at once, the page hears after
// the release). The live stream and every other request pass.
type slowPath struct {
	URL     string
	release chan struct{}
}

func newSlowPath(t *testing.T, target, suffix string, holdAnswer bool) *slowPath {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	s := &slowPath{release: make(chan struct{})}
	held := func(r *http.Request) bool { return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, suffix) }
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.FlushInterval = -1 // the live stream passes as it comes
	if holdAnswer {
		rp.ModifyResponse = func(resp *http.Response) error {
			if held(resp.Request) {
				<-s.release
			}
			return nil
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !holdAnswer && held(r) {
			select {
			case <-s.release:
			case <-r.Context().Done():
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		s.open()
		srv.CloseClientConnections()
		srv.Close()
	})
	s.URL = srv.URL
	return s
}

func (s *slowPath) open() {
	select {
	case <-s.release:
	default:
		close(s.release)
	}
}

// The dashboard's device table counts every scan once, whichever comes
// first: the devices' snapshot or the live stream's scans. The snapshot
// read before the scans but heard after them must not wipe them out; the
// snapshot read after them must not count them a second time.
func TestBrowserDashboardDeviceCountsWhicheverArrivesFirst(t *testing.T) {
	for _, tc := range []struct {
		name       string
		holdAnswer bool
	}{
		{"snapshot read before the scans, heard after them", true},
		{"snapshot read after the scans", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := start(t)
			needAPI(t, f)
			_, key := f.env.PairedDevice(t, admit.DeviceSpec{Organizer: "acme", Name: "Gate 1", Event: "fest"})
			slow := newSlowPath(t, f.env.URL, "/devices", tc.holdAnswer)
			link := strings.Replace(f.signinLink(t, ""), f.env.URL, slow.URL, 1)
			b := newBrowser(t, browserOpt{})
			b.must("sign in", desktop(), chromedp.Navigate(link))
			b.waitFor("the live stream", `document.querySelector("#live-status").dataset.state === "live"`, 10*time.Second)
			if tc.holdAnswer {
				time.Sleep(300 * time.Millisecond) // the snapshot is read, its answer held
			}
			for _, code := range []string{f.res.Tickets[tAda].QRCode, f.res.Tickets[tAlan].QRCode} {
				r := admittest.Do(t, "POST", f.env.URL+"/scan/ticket/", map[string]string{"qrcode_data": code}, "Authorization", "Api-Key "+key)
				if r.Status != 200 {
					t.Fatalf("TiBillet scan: %d %s", r.Status, r.Body)
				}
			}
			b.waitFor("both scans in the feed", `document.querySelectorAll("#feed li[data-id]").length === 2`, 5*time.Second)
			slow.open()
			row := `document.querySelector('#device-rows tr[data-device="Gate 1"]')`
			b.waitFor("the device's row", row+` && `+row+`.children.length === 4`, 5*time.Second)
			time.Sleep(500 * time.Millisecond) // a second count, if any, would land by now
			got := eval[[]string](b, `[...`+row+`.children].slice(2).map((td) => td.textContent)`)
			if len(got) != 2 || got[0] != "2" || got[1] != "1" {
				t.Fatalf("Gate 1's scans and refusals: %q, want 2 and 1", got)
			}
			b.clean()
		})
	}
}

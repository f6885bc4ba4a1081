package main_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// signInWith follows a sign-in link as a browser does (its page posts the
// token with the form's CSRF token) and returns where it lands.
func signInWith(t *testing.T, link string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	field := func(name string) string {
		m := regexp.MustCompile(`name="` + name + `" value="([^"]+)"`).FindSubmatch(body)
		if m == nil {
			t.Fatalf("sign-in page %d has no %s:\n%s", resp.StatusCode, name, body)
		}
		return string(m[1])
	}
	u, _ := url.Parse(link)
	resp, err = c.PostForm(u.Scheme+"://"+u.Host+"/signin", url.Values{"token": {field("token")}, "csrf": {field("csrf")}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

// admit signin prints a one-time sign-in link; it lands on the event's live
// page; device create prints the browser scanner's link; serve prints a
// sign-in link per organizer after its address line, and they sign in.
func TestSigninCommandAndPrintedLinks(t *testing.T) {
	db := filepath.Join(t.TempDir(), "admit.db")
	var imp importOut
	admitJSON(t, &imp, fmt.Sprintf(eventJSON, "paid"), "import", "-", "--db", db)

	var out struct {
		URL       string    `json:"url"`
		Organizer string    `json:"organizer"`
		Event     string    `json:"event"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	admitJSON(t, &out, "", "signin", "--organizer", "demoorga", "--db", db, "--public-url", "https://gates.example.org/")
	if !strings.HasPrefix(out.URL, "https://gates.example.org/signin?token=") || out.Organizer != "demoorga" || out.Event != "democon" ||
		time.Until(out.ExpiresAt) < 14*time.Minute || time.Until(out.ExpiresAt) > 15*time.Minute {
		t.Fatalf("signin output: %+v", out)
	}

	var dev struct {
		PairingToken string `json:"pairing_token"`
		ScannerURL   string `json:"scanner_url"`
	}
	admitJSON(t, &dev, "", "device", "create", "--organizer", "demoorga", "--name", "Phone", "--event", "democon", "--db", db, "--public-url", "https://gates.example.org")
	if dev.ScannerURL != "https://gates.example.org/scanner#pair="+dev.PairingToken {
		t.Errorf("scanner_url %q", dev.ScannerURL)
	}

	for _, c := range []struct {
		args []string
		text string
	}{
		{[]string{"signin"}, "--organizer is required"},
		{[]string{"signin", "--organizer", "nobody"}, `unknown organizer "nobody"`},
		{[]string{"signin", "--organizer", "demoorga", "--event", "nope"}, `unknown event "nope"`},
		{[]string{"signin", "--organizer", "demoorga", "extra"}, "takes no arguments"},
	} {
		stdout, stderr, code := runCLI(t, "", append(c.args, "--db", db)...)
		if code == 0 || stdout != "" || !strings.Contains(stderr, c.text) {
			t.Errorf("admit %v: exit %d, stdout %q, stderr %q; want an error naming %q", c.args, code, stdout, stderr, c.text)
		}
	}

	// serve: the address line first, then the sign-in links.
	cmd := exec.Command(admitBin, "serve", "--listen", "127.0.0.1:0", "--db", db)
	cmd.Env = append(os.Environ(), "ADMIT_PUBLIC_URL=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewReader(stdout)
	first, _ := lines.ReadString('\n')
	var hello struct{ Listening string }
	if err := json.Unmarshal([]byte(first), &hello); err != nil || hello.Listening == "" {
		t.Fatalf("first line %q", first)
	}
	second, _ := lines.ReadString('\n')
	var link struct {
		Signin struct{ URL, Organizer string }
	}
	if err := json.Unmarshal([]byte(second), &link); err != nil || link.Signin.Organizer != "demoorga" ||
		!strings.HasPrefix(link.Signin.URL, hello.Listening+"/signin?token=") {
		t.Fatalf("second line %q", second)
	}
	if to := signInWith(t, link.Signin.URL); to != "/events/"+imp.Event.UUID {
		t.Fatalf("serve's link lands on %q", to)
	}
	if to := signInWith(t, strings.Replace(out.URL, "https://gates.example.org", hello.Listening, 1)); to != "/events/"+imp.Event.UUID {
		t.Fatalf("admit signin's link lands on %q", to)
	}
}

// admit demo prints the dashboard's sign-in link first, and it signs in.
func TestDemoPrintsTheSigninLinkFirst(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(admitBin, "demo", "--listen", "127.0.0.1:0", "--db", filepath.Join(dir, "demo.db"))
	cmd.Env = append(os.Environ(), "ADMIT_PUBLIC_URL=", "ADMIT_LOG_LEVEL=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	r := bufio.NewReader(stderr)
	first, _ := r.ReadString('\n')
	m := regexp.MustCompile(`^Dashboard: (http://\S+/signin\?token=\S+)\n$`).FindStringSubmatch(first)
	if m == nil {
		t.Fatalf("first line of admit demo: %q", first)
	}
	var rest strings.Builder
	for {
		line, err := r.ReadString('\n')
		rest.WriteString(line)
		if err != nil || strings.Contains(line, "Devices:") {
			break
		}
	}
	if !strings.Contains(rest.String(), "/scanner#pair=") {
		t.Errorf("demo prints no scanner link:\n%s", rest.String())
	}
	go io.Copy(io.Discard, r)
	// The server may not listen yet: try for a while.
	var to string
	for i := 0; i < 50; i++ {
		if resp, err := http.Get(strings.SplitN(m[1], "/signin", 2)[0] + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	to = signInWith(t, m[1])
	if !strings.HasPrefix(to, "/events/") {
		t.Fatalf("demo's link lands on %q", to)
	}
}

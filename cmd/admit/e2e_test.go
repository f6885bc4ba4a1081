package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var admitBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "admit-e2e")
	if err != nil {
		panic(err)
	}
	admitBin = filepath.Join(dir, "admit")
	// Stamped as a release build is (see buildinfo and the Dockerfile).
	out, err := exec.Command("go", "build", "-ldflags", "-X "+buildinfoPkg+".version="+testVersion+" -X "+buildinfoPkg+".commit="+testCommit,
		"-o", admitBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build admit: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runCLI runs the CLI and returns stdout, stderr and the exit code.
func runCLI(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(admitBin, args...)
	cmd.Env = append(os.Environ(), "ADMIT_DB=", "ADMIT_PUBLIC_URL=")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run admit %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return out.String(), errb.String(), code
}

// admitJSON runs the CLI, requires success and decodes its JSON output.
func admitJSON(t *testing.T, v any, stdin string, args ...string) {
	t.Helper()
	out, errOut, code := runCLI(t, stdin, args...)
	if code != 0 {
		t.Fatalf("admit %v: exit %d: %s", args, code, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("admit %v: output is not JSON: %v\n%s", args, err, out)
	}
}

// The version and commit TestMain stamps into the binary.
const (
	buildinfoPkg = "github.com/admitdev/admit/buildinfo"
	testVersion  = "v9.9.9-e2e"
	testCommit   = "e2e0c0ffee"
)

type server struct {
	URL     string
	Metrics string // the --metrics-listen address's URL, if any
	cmd     *exec.Cmd
	out     *bytes.Buffer
}

// serve starts `admit serve` on port 0 and waits for /healthz.
func serve(t *testing.T, db string, extra ...string) *server {
	t.Helper()
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--db", db}, extra...)
	cmd := exec.Command(admitBin, args...)
	cmd.Env = append(os.Environ(), "ADMIT_PUBLIC_URL=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	cmd.Stderr = &lockedWriter{w: logs}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, out: logs}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("read listening line: %v (log: %s)", err, logs.String())
	}
	var hello struct{ Listening, Metrics string }
	if err := json.Unmarshal([]byte(line), &hello); err != nil || hello.Listening == "" {
		t.Fatalf("first line is not the listening address: %q", line)
	}
	go io.Copy(io.Discard, stdout)
	s.URL, s.Metrics = hello.Listening, hello.Metrics
	resp, err := http.Get(s.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	return s
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func call(t *testing.T, method, url, key string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Api-Key "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s %s: %d, body not JSON: %s", method, url, resp.StatusCode, raw)
	}
	return resp.StatusCode, m
}

const eventJSON = `{
  "organizer": {"slug": "demoorga", "name": "Example Organization", "domain": "example.tibillet.org"},
  "event": {"slug": "democon", "name": "Example Event", "date_from": "2026-12-27T17:00:00Z", "date_to": "2026-12-30T18:00:00Z"},
  "sections": [{"name": "Floor", "description": "Standing area"}],
  "products": [{"name": "Concert Ticket", "admission": true, "variations": []}],
  "orders": [
    {"code": "FOO", "status": "%s", "email": "john@example.org", "tickets": [
      {"product": "Concert Ticket", "price": "General Admission", "first_name": "John", "last_name": "Doe", "section": "Floor"},
      {"product": "Concert Ticket", "price": "General Admission", "first_name": "Jane", "last_name": "Doe", "section": "Floor"}]}
  ]
}`

type importOut struct {
	Event struct {
		UUID, Organizer, Slug, Name string
		PublicKeyPEM                string `json:"public_key_pem"`
		ID                          int64
	}
	Counts struct {
		Orders, Tickets, Created, Updated, Unchanged int
	}
	ReadSeconds   *float64 `json:"read_seconds"`
	ImportSeconds *float64 `json:"import_seconds"`
	Tickets       []struct {
		UUID, Secret, Serial, Order string
		QRCodeData                  string `json:"qrcode_data"`
	}
}

type deviceOut struct {
	UUID, Name   string
	PairingToken string `json:"pairing_token"`
	PairURL      string `json:"pair_url"`
}

func pair(t *testing.T, s *server, dev deviceOut) string {
	t.Helper()
	status, body := call(t, "GET", s.URL+"/scan/"+dev.PairingToken+"/pair", "", nil)
	if status != 200 || body["api_key"] == nil {
		t.Fatalf("pair: %d %v", status, body)
	}
	return body["api_key"].(string)
}

// The whole operator flow through the CLI and a running server: import,
// create and pair a device, scan, archive, re-import a cancellation.
func TestOperatorFlowAgainstRunningServer(t *testing.T) {
	db := filepath.Join(t.TempDir(), "admit.db")
	var imp importOut
	admitJSON(t, &imp, fmt.Sprintf(eventJSON, "paid"), "import", "-", "--tickets", "--db", db)
	if len(imp.Tickets) != 2 || imp.Tickets[0].QRCodeData == "" || imp.Event.Organizer != "demoorga" || !strings.Contains(imp.Event.PublicKeyPEM, "PUBLIC KEY") ||
		imp.Counts.Created != 2 {
		t.Fatalf("import output: %+v", imp)
	}
	s := serve(t, db)
	var dev deviceOut
	// Flags after the positional words work too.
	admitJSON(t, &dev, "", "device", "create", "--organizer", "demoorga", "--name", "Gate 1", "--db", db, "--public-url", "https://tickets.example.org/")
	if dev.PairURL != "https://tickets.example.org/o/demoorga/scan/"+dev.PairingToken+"/pair" {
		t.Errorf("pair_url = %q", dev.PairURL)
	}
	key := pair(t, s, dev)

	status, body := call(t, "POST", s.URL+"/scan/ticket/", key, map[string]string{"qrcode_data": imp.Tickets[0].QRCodeData})
	if status != 200 || body["success"] != true || body["message"] != "Ticket successfully scanned" {
		t.Fatalf("first scan: %d %v", status, body)
	}
	status, body = call(t, "POST", s.URL+"/scan/ticket/", key, map[string]string{"qrcode_data": imp.Tickets[0].QRCodeData})
	if status != 200 || body["success"] != false || body["message"] != "Ticket already scanned" {
		t.Fatalf("second scan: %d %v", status, body)
	}

	// A re-import that cancels the order refuses its tickets from then on,
	// and keeps every ticket's uuid, secret and QR code.
	var again importOut
	admitJSON(t, &again, fmt.Sprintf(eventJSON, "canceled"), "import", "--db", db, "-", "--tickets")
	if c := again.Counts; c.Tickets != 2 || c.Created != 0 || c.Updated != 2 || len(again.Tickets) != 2 {
		t.Errorf("re-import output: %+v", again)
	}
	for i := range imp.Tickets {
		if again.Tickets[i] != imp.Tickets[i] {
			t.Errorf("ticket %d changed on re-import: %+v → %+v", i, imp.Tickets[i], again.Tickets[i])
		}
	}
	status, body = call(t, "POST", s.URL+"/scan/ticket/", key, map[string]string{"qrcode_data": imp.Tickets[1].QRCodeData})
	if status != 200 || body["success"] != false || !strings.Contains(strings.ToLower(fmt.Sprint(body["message"])), "cancel") {
		t.Fatalf("scan of a canceled ticket: %d %v", status, body)
	}

	// Archiving a device refuses it on its next request.
	var arch map[string]any
	admitJSON(t, &arch, "", "device", "archive", dev.UUID, "--db", db)
	if arch["archived"] != true || arch["uuid"] != dev.UUID {
		t.Fatalf("archive output: %v", arch)
	}
	status, body = call(t, "GET", s.URL+"/scan/test_api/", key, nil)
	if status != 403 || body["detail"] != "App is archived." {
		t.Fatalf("archived device: %d %v", status, body)
	}
}

// Fifty devices scanning one ticket at the same instant against a real
// server process: exactly one is admitted.
func TestFiftyConcurrentScansAdmitOnce(t *testing.T) {
	db := filepath.Join(t.TempDir(), "admit.db")
	var imp importOut
	admitJSON(t, &imp, fmt.Sprintf(eventJSON, "paid"), "import", "-", "--tickets", "--db", db)
	s := serve(t, db)
	const n = 50
	keys := make([]string, n)
	for i := range keys {
		var dev deviceOut
		admitJSON(t, &dev, "", "device", "create", "--db", db, "--organizer", "demoorga", "--name", fmt.Sprintf("Gate %d", i))
		keys[i] = pair(t, s, dev)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	type result struct {
		status int
		body   map[string]any
	}
	results := make([]result, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			st, b := call(t, "POST", s.URL+"/scan/ticket/", keys[i], map[string]string{"qrcode_data": imp.Tickets[0].QRCodeData})
			results[i] = result{st, b}
		}()
	}
	close(start)
	wg.Wait()
	ok, already := 0, 0
	for _, r := range results {
		switch {
		case r.status == 200 && r.body["message"] == "Ticket successfully scanned":
			ok++
		case r.status == 200 && r.body["message"] == "Ticket already scanned":
			already++
		default:
			t.Errorf("unexpected answer: %d %v", r.status, r.body)
		}
	}
	if ok != 1 || already != n-1 {
		t.Fatalf("%d admitted and %d already scanned, want 1 and %d", ok, already, n-1)
	}
}

// By default `admit import` prints the event, the counts and the time taken,
// not a million tickets; --tickets adds them.
func TestImportPrintsCountsUnlessAskedForTickets(t *testing.T) {
	db := filepath.Join(t.TempDir(), "admit.db")
	for _, c := range []struct {
		name                        string
		status                      string
		created, updated, unchanged int
	}{
		{"a new event", "paid", 2, 0, 0},
		{"the same file again", "paid", 0, 0, 2},
		{"its order canceled", "canceled", 0, 2, 0},
	} {
		out, errOut, code := runCLI(t, fmt.Sprintf(eventJSON, c.status), "import", "-", "--db", db)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", c.name, code, errOut)
		}
		var imp importOut
		if err := json.Unmarshal([]byte(out), &imp); err != nil {
			t.Fatalf("%s: output is not JSON: %v\n%s", c.name, err, out)
		}
		want := importOut{}.Counts
		want.Orders, want.Tickets, want.Created, want.Updated, want.Unchanged = 1, 2, c.created, c.updated, c.unchanged
		if imp.Counts != want || imp.Event.Slug != "democon" || imp.Event.Organizer != "demoorga" ||
			imp.ReadSeconds == nil || imp.ImportSeconds == nil {
			t.Errorf("%s: %+v, want counts %+v", c.name, imp, want)
		}
		if strings.Contains(out, `"tickets": [`) || strings.Contains(out, "qrcode_data") || len(imp.Tickets) != 0 {
			t.Errorf("%s: tickets listed without --tickets:\n%s", c.name, out)
		}
	}
}

func TestImportRefusesBadInputWhole(t *testing.T) {
	db := filepath.Join(t.TempDir(), "admit.db")
	var imp importOut
	admitJSON(t, &imp, fmt.Sprintf(eventJSON, "paid"), "import", "-", "--tickets", "--db", db)
	base := `{"organizer": {"slug": "demoorga"}, "event": {"slug": "democon"},
	  "products": [{"name": "Concert Ticket"}],
	  "orders": [{"code": "NEW", "tickets": [{"product": "Concert Ticket", "uuid": "0b9c3c2e-1111-4aaa-8bbb-000000000001"}, %s]}]}`
	tests := []struct {
		name, file, want string
	}{
		{"malformed JSON", `{"organizer": `, "malformed"},
		{"unknown product", fmt.Sprintf(base, `{"product": "Nope"}`), "orders[0].tickets[1].product"},
		{"bad date", fmt.Sprintf(base, `{"product": "Concert Ticket", "valid_from": "tomorrow"}`), "orders[0].tickets[1].valid_from"},
		{"duplicate secret in the file", fmt.Sprintf(base, `{"product": "Concert Ticket", "secret": "s1"}, {"product": "Concert Ticket", "secret": "s1"}`), "orders[0].tickets[2].secret"},
		{"secret of an existing ticket", fmt.Sprintf(base, fmt.Sprintf(`{"product": "Concert Ticket", "secret": %q}`, imp.Tickets[0].Secret)), "secret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, tc.file, "import", "-", "--db", db)
			if code == 0 {
				t.Fatalf("import succeeded: %s", out)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr %q does not name %q", errOut, tc.want)
			}
			// Nothing half-imported: the valid first ticket is not there.
			if _, _, code := runCLI(t, "", "ticket", "qr", "0b9c3c2e-1111-4aaa-8bbb-000000000001", "--db", db); code == 0 {
				t.Error("the file's first ticket was imported although the import failed")
			}
		})
	}
}

func TestTicketQR(t *testing.T) {
	db := filepath.Join(t.TempDir(), "admit.db")
	var imp importOut
	admitJSON(t, &imp, fmt.Sprintf(eventJSON, "paid"), "import", "-", "--tickets", "--db", db)
	out, errOut, code := runCLI(t, "", "ticket", "qr", imp.Tickets[0].UUID, "--db", db)
	if code != 0 || !strings.Contains(out, "█") || !strings.Contains(out, imp.Tickets[0].QRCodeData) {
		t.Fatalf("ticket qr: exit %d, %s\n%s", code, errOut, out)
	}
	png := filepath.Join(t.TempDir(), "t.png")
	var res map[string]string
	admitJSON(t, &res, "", "ticket", "qr", "--db", db, imp.Tickets[0].UUID, "--png", png)
	b, err := os.ReadFile(png)
	if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("PNG not written: %v", err)
	}
	if _, errOut, code := runCLI(t, "", "ticket", "qr", "00000000-0000-4000-8000-000000000000", "--db", db); code == 0 || errOut == "" {
		t.Errorf("unknown ticket: exit %d, stderr %q", code, errOut)
	}
}

func TestCLIErrorsAreClear(t *testing.T) {
	db := filepath.Join(t.TempDir(), "admit.db")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		{"device without organizer", []string{"device", "create", "--name", "x", "--db", db}, "--organizer is required"},
		{"device of an unknown organizer", []string{"device", "create", "--organizer", "nobody", "--name", "x", "--db", db}, "unknown organizer"},
		{"archive an unknown device", []string{"device", "archive", "00000000-0000-4000-8000-000000000000", "--db", db}, "unknown device"},
		{"import of a missing file", []string{"import", filepath.Join(db, "nope.json"), "--db", db}, "open import file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, "", tc.args...)
			if code == 0 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q, stdout %q; want a failure naming %q", code, errOut, out, tc.want)
			}
		})
	}
}

// SIGTERM drains in-flight requests and exits cleanly.
func TestServeStopsCleanlyOnSIGTERM(t *testing.T) {
	db := filepath.Join(t.TempDir(), "admit.db")
	s := serve(t, db)
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, s.out)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not stop within 30 s of SIGTERM")
	}
}

package main_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/admitdev/admit/admittest"
	"github.com/admitdev/admit/bench"
	_ "github.com/admitdev/admit/sqlstore" // the sqlite driver
)

// getJSON GETs url and decodes its JSON body.
func getJSON(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("GET %s: %d, not JSON: %v", url, resp.StatusCode, err)
	}
	return resp.StatusCode, m
}

// A backup taken with `admit backup` while a server scans restores, with
// `admit restore`, to a database that passes SQLite's integrity check and
// holds every scan answered before the backup began, none twice; a server
// on it answers those tickets "already scanned".
func TestBackupUnderScanLoadRestores(t *testing.T) {
	if os.Getenv("ADMIT_TEST_STORE") == "postgres" {
		// The CLI refuses, pointing at pg_dump.
		_, errOut, code := runCLI(t, "", "backup", filepath.Join(t.TempDir(), "b.db"), "--db", "postgres://127.0.0.1:1/x")
		if code == 0 || !strings.Contains(errOut, "pg_dump") {
			t.Fatalf("backup of PostgreSQL: exit %d, %s", code, errOut)
		}
		t.Skip("backups of PostgreSQL are pg_dump's (checked that admit backup says so)")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "admit.db")
	const nTickets = 1500
	var file bytes.Buffer
	if err := bench.WriteImportJSON(&file, nTickets, "backup"); err != nil {
		t.Fatal(err)
	}
	var imp importOut
	admitJSON(t, &imp, file.String(), "import", "-", "--tickets", "--db", db)
	s := serve(t, db)
	var dev deviceOut
	admitJSON(t, &dev, "", "device", "create", "--db", db, "--organizer", bench.Organizer, "--name", "Gate")
	key := pair(t, s, dev)

	var (
		mu       sync.Mutex
		admitted []int // ticket indexes answered "successfully scanned", in order
		problems []string
		next     atomic.Int64
		stop     atomic.Bool
		wg       sync.WaitGroup
	)
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	defer client.CloseIdleConnections()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				idx := int(next.Add(1) - 1)
				if idx >= nTickets {
					return
				}
				a, detail := crashScan(client, s.URL, key, imp.Tickets[idx].QRCodeData)
				mu.Lock()
				if a == crashAdmitted {
					admitted = append(admitted, idx)
				} else if len(problems) < 10 {
					problems = append(problems, fmt.Sprintf("ticket #%d: %v %s", idx, a, detail))
				}
				mu.Unlock()
			}
		}()
	}
	acked := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(admitted)
	}
	deadline := time.Now().Add(60 * time.Second)
	for acked() < 150 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	before := append([]int(nil), admitted...)
	mu.Unlock()
	backup := filepath.Join(dir, "backup.db")
	var out struct {
		Backup  string
		Bytes   int64
		Seconds float64
	}
	admitJSON(t, &out, "", "backup", backup, "--db", db)
	during := acked() - len(before)
	stop.Store(true)
	wg.Wait()
	if len(problems) > 0 {
		t.Fatalf("during the load:\n%s", strings.Join(problems, "\n"))
	}
	t.Logf("backup of %d bytes in %.3fs: %d admissions answered before it, %d while it ran", out.Bytes, out.Seconds, len(before), during)
	if out.Backup != backup || out.Bytes == 0 || len(before) < 150 {
		t.Fatalf("backup: %+v after %d admissions", out, len(before))
	}

	// The file itself.
	bdb, err := sql.Open("sqlite", "file:"+backup+"?mode=ro&immutable=1")
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	var check string
	if err := bdb.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
	okScans := map[string]int{}
	rows, err := bdb.Query(`SELECT t.uuid, COUNT(*) FROM scans s JOIN tickets t ON t.id = s.ticket_id
		WHERE s.result = 'ok' AND s.type = 'entry' GROUP BY t.uuid`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var u string
		var n int
		rows.Scan(&u, &n)
		okScans[u] = n
	}
	rows.Close()
	for _, idx := range before {
		if n := okScans[imp.Tickets[idx].UUID]; n != 1 {
			t.Errorf("ticket #%d, admitted before the backup began, has %d admissions in it", idx, n)
		}
	}
	for u, n := range okScans {
		if n != 1 {
			t.Errorf("ticket %s is admitted %d times in the backup", u, n)
		}
	}

	// No restore over the database the server uses.
	if _, errOut, code := runCLI(t, "", "restore", backup, "--db", db); code == 0 || !strings.Contains(errOut, "in use") {
		t.Fatalf("restore over the served database: exit %d, %s", code, errOut)
	}
	// Restored elsewhere and served: the tickets admitted before the
	// backup are already scanned; a ticket never scanned is admitted.
	restored := filepath.Join(dir, "restored.db")
	var rinfo struct{ Path, From string }
	admitJSON(t, &rinfo, "", "restore", backup, "--db", restored)
	if rinfo.Path != restored || rinfo.From != backup {
		t.Fatalf("restore: %+v", rinfo)
	}
	r := serve(t, restored)
	for _, idx := range before {
		if a, detail := crashScan(client, r.URL, key, imp.Tickets[idx].QRCodeData); a != crashAlready {
			t.Fatalf("ticket #%d, admitted before the backup, on the restored database: %v %s", idx, a, detail)
		}
	}
	if a, detail := crashScan(client, r.URL, key, imp.Tickets[nTickets-1].QRCodeData); a != crashAdmitted && next.Load() < nTickets {
		t.Fatalf("a ticket never scanned, on the restored database: %v %s", a, detail)
	}
}

// serve --backup-every keeps the newest --backup-keep backups, each
// sound, and deletes no other file of the directory.
func TestScheduledBackupsRotate(t *testing.T) {
	if os.Getenv("ADMIT_TEST_STORE") == "postgres" {
		t.Skip("scheduled backups are SQLite's")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "admit.db")
	backups := filepath.Join(dir, "backups")
	os.MkdirAll(backups, 0o700)
	other := filepath.Join(backups, "admit-keep-me.db")
	os.WriteFile(other, []byte("not ours"), 0o600)
	s := serve(t, db, "--backup-every", "1s", "--backup-dir", backups, "--backup-keep", "2")
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		done := 0.0
		if f := fams["admit_backups_total"]; f != nil {
			for _, m := range f.Metric {
				if m.Label[0].GetValue() == "ok" {
					done = m.Counter.GetValue()
				}
			}
		}
		if done >= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v scheduled backups in 60 s\n%s", done, s.out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Between two backups (one may be being written: its temporary file
	// is hidden).
	var ours []string
	entries, _ := os.ReadDir(backups)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "admit-2") && strings.HasSuffix(e.Name(), ".db") {
			ours = append(ours, e.Name())
		}
	}
	if len(ours) < 2 || len(ours) > 3 {
		t.Fatalf("backups kept: %v, want the newest 2 (3 while the next is named)", ours)
	}
	if _, err := os.Stat(other); err != nil {
		t.Fatalf("another file of the directory was deleted: %v", err)
	}
	for _, name := range ours[:2] {
		var info struct{ Path string }
		admitJSON(t, &info, "", "restore", filepath.Join(backups, name), "--db", filepath.Join(dir, "check-"+name))
	}
}

// /readyz answers 503 while PostgreSQL is stopped under a running node,
// 200 again once it is back; /healthz answers all along. The cluster is
// one of the test's own.
func TestReadinessFollowsPostgres(t *testing.T) {
	c := startCluster(t)
	s := serve(t, c.URL())
	if st, m := getJSON(t, s.URL+"/readyz"); st != 200 || m["status"] != "ready" {
		t.Fatalf("readyz: %d %v", st, m)
	}
	wait := func(want int) map[string]any {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			st, m := getJSON(t, s.URL+"/readyz")
			if st == want {
				return m
			}
			if time.Now().After(deadline) {
				t.Fatalf("readyz stays %d %v, want %d", st, m, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	c.stop(t)
	if m := wait(503); m["status"] != "unavailable" || m["reason"] != "the database does not answer" {
		t.Fatalf("readyz with the database stopped: %v", m)
	}
	if st, m := getJSON(t, s.URL+"/healthz"); st != 200 || m["store"] != "postgres" {
		t.Fatalf("healthz with the database stopped: %d %v", st, m)
	}
	// The container's HEALTHCHECK command says the same.
	if _, errOut, code := runCLI(t, "", "healthcheck", "--ready", "--url", s.URL); code == 0 || !strings.Contains(errOut, "503") {
		t.Fatalf("admit healthcheck --ready with the database stopped: exit %d, %s", code, errOut)
	}
	if _, errOut, code := runCLI(t, "", "healthcheck", "--url", s.URL); code != 0 {
		t.Fatalf("admit healthcheck with the database stopped: exit %d, %s", code, errOut)
	}
	c.start(t)
	wait(200)
}

// admit version and /healthz name the build; --metrics-listen moves
// /metrics off the main listener.
func TestVersionHealthAndMetricsListener(t *testing.T) {
	var v struct{ Version, Commit, Go string }
	admitJSON(t, &v, "", "version")
	if v.Version != testVersion || v.Commit != testCommit || !strings.HasPrefix(v.Go, "go") {
		t.Fatalf("admit version: %+v", v)
	}
	db := admittest.DSN(t)
	store := "sqlite"
	if strings.HasPrefix(db, "postgres") {
		store = "postgres"
	}
	s := serve(t, db, "--metrics-listen", "127.0.0.1:0")
	if st, m := getJSON(t, s.URL+"/healthz"); st != 200 || m["version"] != testVersion || m["commit"] != testCommit || m["store"] != store {
		t.Fatalf("healthz: %d %v", st, m)
	}
	if s.Metrics == "" {
		t.Fatal("no metrics address in the listening line")
	}
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("/metrics on the main listener with --metrics-listen: %d", resp.StatusCode)
	}
	resp, err = http.Get(s.Metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	resp.Body.Close()
	if err != nil || fams["admit_build_info"] == nil {
		t.Fatalf("metrics listener: %v", err)
	}
	for _, l := range fams["admit_build_info"].Metric[0].Label {
		if l.GetName() == "version" && l.GetValue() != testVersion {
			t.Fatalf("admit_build_info version %q", l.GetValue())
		}
	}
	if st, _ := getJSON(t, s.Metrics+"/readyz"); st != 200 {
		t.Fatalf("readyz on the metrics listener: %d", st)
	}
	// admit healthcheck: the container's HEALTHCHECK (ADMIT_LISTEN's
	// unspecified host is reached on the loopback address).
	port := s.URL[strings.LastIndex(s.URL, ":")+1:]
	cmd := exec.Command(admitBin, "healthcheck", "--ready")
	cmd.Env = append(os.Environ(), "ADMIT_LISTEN=0.0.0.0:"+port)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), `"ready"`) {
		t.Fatalf("admit healthcheck --ready: %v %s", err, out)
	}
	if _, errOut, code := runCLI(t, "", "healthcheck", "--url", "http://127.0.0.1:1"); code == 0 || errOut == "" {
		t.Fatalf("admit healthcheck of nothing: exit %d", code)
	}
}

// The flags are checked before anything starts.
func TestServeOpsFlagsAreChecked(t *testing.T) {
	db := filepath.Join(t.TempDir(), "admit.db")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--backup-every", "1h"}, "--backup-every needs --backup-dir"},
		{[]string{"--backup-dir", t.TempDir()}, "--backup-dir needs --backup-every"},
		{[]string{"--backup-every", "10ms", "--backup-dir", t.TempDir()}, "at least 1s"},
		{[]string{"--backup-every", "1h", "--backup-dir", t.TempDir(), "--backup-keep", "0"}, "--backup-keep"},
		{[]string{"--backup-every", "1h", "--backup-dir", t.TempDir(), "--db", "postgres://127.0.0.1:1/x"}, "pg_dump"},
		{[]string{"--ticket-cache-mb", "-1"}, "--ticket-cache-mb must not be negative"},
		{[]string{"--ticket-cache-mb", "lots"}, "-ticket-cache-mb"},
	} {
		args := append([]string{"serve", "--listen", "127.0.0.1:0", "--db", db}, c.args...)
		_, errOut, code := runCLI(t, "", args...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("serve %v: exit %d, %q; want a usage error naming %q", c.args, code, errOut, c.want)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"backup"}, "usage: admit backup"},
		{[]string{"restore"}, "usage: admit restore"},
		{[]string{"backup", filepath.Join(t.TempDir(), "b.db"), "--db", filepath.Join(t.TempDir(), "missing.db")}, "no database file"},
		{[]string{"version", "extra"}, "no arguments"},
	} {
		_, errOut, code := runCLI(t, "", c.args...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("admit %v: exit %d, %q; want an error naming %q", c.args, code, errOut, c.want)
		}
	}
}

package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/admittest"
	"github.com/admitdev/admit/sqlstore"
)

// admit log verify, checkpoint and proof on a logged database, then on the
// same database with a scan's result rewritten behind the server's back.
func TestLogCommands(t *testing.T) {
	ctx := context.Background()
	dsn := admittest.DSN(t)
	st, err := sqlstore.Open(ctx, dsn, admittest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	pg := strings.HasPrefix(dsn, "postgres")
	driver := "sqlite"
	if pg {
		driver = "pgx"
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for id := 1; id <= 4; id++ {
		at := time.Now().Add(-time.Minute)
		var ts any = at.UnixMicro()
		if pg {
			ts = at
		}
		if _, err := raw.Exec(`INSERT INTO scans (id, ticket_id, event_id, type, result, server_time) VALUES ($1, $1, 1, 'entry', 'ok', $2)`, id, ts); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.AppendScanLog(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()

	out, errOut, err := runCLI(t, "log", "verify", "--db", dsn)
	if err != nil || !strings.Contains(out, `"ok": true`) {
		t.Fatalf("verify: %v %s %s", err, out, errOut)
	}
	out, _, err = runCLI(t, "log", "checkpoint", "--db", dsn)
	if err != nil || !strings.Contains(out, sqlstore.ScanLogName) {
		t.Fatalf("checkpoint: %v %s", err, out)
	}
	kept := filepath.Join(t.TempDir(), "checkpoint.json")
	if err := os.WriteFile(kept, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, _, err := runCLI(t, "log", "verify", "--checkpoint", kept, "--db", dsn); err != nil || !strings.Contains(out, `"checkpoints": 2`) {
		t.Fatalf("verify with the kept checkpoint: %v %s", err, out)
	}
	out, _, err = runCLI(t, "log", "proof", "2", "--db", dsn)
	if err != nil {
		t.Fatal(err)
	}
	var p sqlstore.ScanLogProof
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckRecord(p.Proof, p.TreeSize, p.RootHash, p.Leaf, tlog.RecordHash([]byte(p.Record))); err != nil || p.TreeSize != 4 {
		t.Fatalf("proof %s: %v", out, err)
	}
	if _, _, err := runCLI(t, "log", "proof", "x", "--db", dsn); err == nil {
		t.Fatal("proof of scan x")
	}

	if _, err := raw.Exec(`UPDATE scans SET result = 'already_redeemed' WHERE id = 3`); err != nil {
		t.Fatal(err)
	}
	out, errOut, err = runCLI(t, "log", "verify", "--db", dsn)
	if !errors.Is(err, errLogBroken) || !strings.Contains(out, `"first_scan": 3`) || !strings.Contains(errOut, "does not verify") {
		t.Fatalf("tampered verify: %v %s %s", err, out, errOut)
	}

	// Whoever holds the file can rebuild and re-sign the whole tree (the
	// key is in it): the stored log then verifies, a kept checkpoint does not.
	for _, q := range []string{`DELETE FROM scanlog_leaves`, `DELETE FROM scanlog_hashes`, `DELETE FROM scanlog_checkpoints`} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	st, err = sqlstore.Open(ctx, dsn, admittest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AppendScanLog(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, _, err := runCLI(t, "log", "verify", "--db", dsn); err != nil {
		t.Fatalf("rebuilt log: %v", err)
	}
	out, _, err = runCLI(t, "log", "verify", "--checkpoint", kept, "--db", dsn)
	if !errors.Is(err, errLogBroken) || !strings.Contains(out, "kept checkpoint") {
		t.Fatalf("rebuilt log against the kept checkpoint: %v %s", err, out)
	}
}

// admit log verify --event: the whole log is verified, the event accounted
// for; a row of another event altered fails the command still, and says the
// damage is outside the event.
func TestLogVerifyEvent(t *testing.T) {
	ctx := context.Background()
	dsn := admittest.DSN(t)
	core := admittest.OpenCore(t, dsn)
	var events []*admit.Event
	for _, slug := range []string{"fest", "fair"} {
		f, err := admit.ParseImport(strings.NewReader(`{"organizer": {"slug": "acme", "name": "Acme"},
			"event": {"slug": "` + slug + `", "name": "E", "date_from": "2026-12-27T17:00:00Z", "date_to": "2026-12-30T18:00:00Z", "timezone": "Europe/Paris"},
			"products": [{"name": "Ticket"}], "lists": [{"name": "Main", "default": true}], "orders": []}`))
		if err != nil {
			t.Fatal(err)
		}
		res, err := core.Import(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, res.Event)
	}
	st := core.Store.(*sqlstore.Store)
	pg := strings.HasPrefix(dsn, "postgres")
	driver := "sqlite"
	if pg {
		driver = "pgx"
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for id := 1; id <= 6; id++ { // odd ids: fest, even: fair
		at := time.Now().Add(-time.Minute)
		var ts any = at.UnixMicro()
		if pg {
			ts = at
		}
		if _, err := raw.Exec(`INSERT INTO scans (id, ticket_id, event_id, type, result, server_time) VALUES ($1, $1, $2, 'entry', 'ok', $3)`,
			id, events[(id+1)%2].ID, ts); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.AppendScanLog(ctx); err != nil {
		t.Fatal(err)
	}
	type report struct {
		OK        bool                   `json:"ok"`
		FirstScan int64                  `json:"first_scan"`
		Event     *sqlstore.ScanLogEvent `json:"event"`
	}
	verify := func(event string) (report, string, error) {
		t.Helper()
		out, errOut, err := runCLI(t, "log", "verify", "--event", event, "--db", dsn)
		var r report
		if jerr := json.Unmarshal([]byte(out), &r); jerr != nil && err == nil {
			t.Fatalf("verify --event %s: %v %s", event, jerr, out)
		}
		return r, errOut, err
	}
	for _, name := range []string{"acme/fest", events[0].UUID, strings.ToUpper(events[0].UUID)} {
		r, errOut, err := verify(name)
		if err != nil || !r.OK || r.Event == nil || r.Event.Event != events[0].UUID || r.Event.Scans != 3 || r.Event.Covered != 3 {
			t.Fatalf("clean, --event %s: %v %+v %s", name, err, r, errOut)
		}
	}
	for _, name := range []string{"acme/nope", "nope/fest", "fest", "acme/", "00000000-0000-4000-8000-000000000000"} {
		if _, _, err := verify(name); err == nil || errors.Is(err, errLogBroken) {
			t.Fatalf("--event %s: %v", name, err)
		}
	}

	if _, err := raw.Exec(`UPDATE scans SET result = 'already_redeemed' WHERE id = 4`); err != nil {
		t.Fatal(err)
	}
	r, errOut, err := verify("acme/fest")
	if !errors.Is(err, errLogBroken) || r.OK || r.FirstScan != 4 || r.Event.Damage != sqlstore.DamageOtherEvent ||
		!strings.Contains(errOut, "outside event acme/fest") {
		t.Fatalf("fair's row altered, --event acme/fest: %v %+v %s", err, r, errOut)
	}
	r, errOut, err = verify("acme/fair")
	if !errors.Is(err, errLogBroken) || r.FirstScan != 4 || r.Event.Damage != sqlstore.DamageEvent {
		t.Fatalf("fair's row altered, --event acme/fair: %v %+v %s", err, r, errOut)
	}
	if _, err := raw.Exec(`DELETE FROM scans WHERE id = 4`); err != nil {
		t.Fatal(err)
	}
	r, errOut, err = verify("acme/fest")
	if !errors.Is(err, errLogBroken) || r.Event.Damage != sqlstore.DamageUnattributed || !strings.Contains(errOut, "cannot be told") {
		t.Fatalf("a row deleted, --event acme/fest: %v %+v %s", err, r, errOut)
	}
}

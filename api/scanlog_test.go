package api_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/api"
	"github.com/admitdev/admit/sqlstore"
)

// The scan log export carries the signed checkpoint it is consistent with
// (a header, and the NDJSON's last line), checked by the server's key; each
// row its leaf in the tree, and an inclusion proof of that leaf checks
// against the export's checkpoint; a row not yet in the tree is marked.
func TestTheExportCarriesItsCheckpoint(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	st := f.env.Core.Store.(*sqlstore.Store)
	redeem := func(i int) {
		_, err := f.env.Core.Redeem(ctx, &admit.RedeemRequest{Code: fmt.Sprintf("garbage-%d", i), EventID: f.res.Event.ID,
			OrganizerID: f.res.Organizer.ID, Plain: admit.PlainAny, Source: "test"})
		if err != nil {
			t.Fatal(err)
		}
	}
	ev := "/api/v1/events/" + f.event + "/scans"
	// Before any checkpoint: no header, a null checkpoint, nothing covered.
	redeem(0)
	a := f.call(t, f.admin, "GET", ev+"?format=ndjson", nil)
	if a.Header.Get(api.HeaderLogCheckpoint) != "" || !bytes.Contains(a.Body, []byte(`{"checkpoint":null,"tree_size":0,`)) ||
		!bytes.Contains(a.Body, []byte(`"leaf":null,"covered":false`)) {
		t.Fatalf("before a checkpoint: %v\n%s", a.Header, a.Body)
	}
	for i := 1; i <= 3; i++ {
		redeem(i)
	}
	// Old enough for the appender on PostgreSQL (it leaves the last seconds).
	driver := "sqlite"
	var old any = time.Now().Add(-time.Minute).UnixMicro()
	if strings.HasPrefix(f.env.DSN, "postgres") {
		driver, old = "pgx", time.Now().Add(-time.Minute)
	}
	raw, err := sql.Open(driver, f.env.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE scans SET server_time = $1`, old); err != nil {
		t.Fatal(err)
	}
	if size, err := st.AppendScanLog(ctx); err != nil || size != 4 {
		t.Fatalf("append: %d %v", size, err)
	}
	redeem(4) // not in the tree

	a = f.call(t, f.admin, "GET", ev+"?format=ndjson", nil)
	// The checkpoint, checked with the server's key as admit log checkpoint prints it.
	vkey, err := st.ScanLogVerifierKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a.Header.Get(api.HeaderLogKey) != vkey {
		t.Fatalf("key %q, the server's is %q", a.Header.Get(api.HeaderLogKey), vkey)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := base64.StdEncoding.DecodeString(a.Header.Get(api.HeaderLogCheckpoint))
	if err != nil {
		t.Fatalf("header %q: %v", a.Header.Get(api.HeaderLogCheckpoint), err)
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		t.Fatalf("the export's checkpoint does not verify: %v\n%s", err, msg)
	}
	tree, err := tlog.ParseTree([]byte(n.Text))
	if err != nil || tree.N != 4 {
		t.Fatalf("tree %q: %v", n.Text, err)
	}
	type row struct {
		ID          int64   `json:"id"`
		Leaf        *int64  `json:"leaf"`
		Covered     bool    `json:"covered"`
		Checkpoint  *string `json:"checkpoint"`
		TreeSize    *int64  `json:"tree_size"`
		VerifierKey string  `json:"verifier_key"`
	}
	var rows []row
	sc := bufio.NewScanner(bytes.NewReader(a.Body))
	for sc.Scan() {
		var r row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		rows = append(rows, r)
	}
	if len(rows) != 6 {
		t.Fatalf("%d lines, want 5 rows and the checkpoint:\n%s", len(rows), a.Body)
	}
	end := rows[5]
	if end.Checkpoint == nil || *end.Checkpoint != string(msg) || end.TreeSize == nil || *end.TreeSize != 4 || end.VerifierKey != vkey {
		t.Fatalf("last line %+v, header %q", end, msg)
	}
	for i, r := range rows[:4] {
		if r.Leaf == nil || *r.Leaf != int64(i) || !r.Covered {
			t.Fatalf("row %d: %+v", i, r)
		}
		// The row's leaf is in the export's tree: its record, proved by
		// the API against the export's checkpoint (its root, not the answer's).
		pa := f.call(t, f.admin, "GET", fmt.Sprintf("%s/%d/proof?tree_size=%d", ev, r.ID, tree.N), nil)
		var p sqlstore.ScanLogProof
		if pa.Status != 200 || json.Unmarshal(pa.Body, &p) != nil {
			t.Fatalf("proof of scan %d: %d %s", r.ID, pa.Status, pa.Body)
		}
		if p.Leaf != *r.Leaf || p.Checkpoint != string(msg) || !strings.Contains(p.Record, "\nid "+strconv.FormatInt(r.ID, 10)+"\n") ||
			tlog.CheckRecord(p.Proof, tree.N, tree.Hash, *r.Leaf, tlog.RecordHash([]byte(p.Record))) != nil {
			t.Fatalf("row %d (scan %d, leaf %d) is not in the export's tree: %s", i, r.ID, *r.Leaf, pa.Body)
		}
		other := tlog.RecordHash([]byte(strings.Replace(p.Record, `"test"`, `"forged"`, 1)))
		if tlog.CheckRecord(p.Proof, tree.N, tree.Hash, *r.Leaf, other) == nil {
			t.Fatalf("row %d: the proof checks an altered record", i)
		}
	}
	for _, path := range []string{
		fmt.Sprintf("%s/%d/proof", ev, rows[4].ID),             // not in the tree yet
		fmt.Sprintf("%s/%d/proof?tree_size=3", ev, rows[0].ID), // no checkpoint of that size
		ev + "/999/proof", ev + "/x/proof",
	} {
		if a := f.call(t, f.admin, "GET", path, nil); a.Status != 404 {
			t.Fatalf("%s: %d %s", path, a.Status, a.Body)
		}
	}
	if a := f.callBad(t, f.admin, "GET", ev+"/1/proof?tree_size=0", nil); a.Status != 400 {
		t.Fatalf("tree_size=0: %d %s", a.Status, a.Body)
	}
	if r := rows[4]; r.Leaf != nil || r.Covered {
		t.Fatalf("a row not in the tree: %+v", r)
	}

	// CSV: the header, and leaf and covered as the last columns.
	a = f.call(t, f.admin, "GET", ev+"?format=csv", nil)
	if a.Header.Get(api.HeaderLogCheckpoint) != base64.StdEncoding.EncodeToString(msg) {
		t.Fatalf("csv header %q", a.Header.Get(api.HeaderLogCheckpoint))
	}
	recs, err := csv.NewReader(bytes.NewReader(a.Body)).ReadAll()
	if err != nil || len(recs) != 6 {
		t.Fatalf("csv %v %v", recs, err)
	}
	last := len(recs[0]) - 1
	if recs[0][last-1] != "leaf" || recs[1][last-1] != "0" || recs[1][last] != "true" || recs[5][last-1] != "" || recs[5][last] != "false" {
		t.Fatalf("csv %v", recs)
	}
}

package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/admitdev/admit"
)

// offlineScan is one scan of an upload.
func offlineScan(nonce, code, verdict string, at time.Time) map[string]any {
	return map[string]any{"nonce": nonce, "code": code, "verdict": verdict, "device_time": at.UTC().Format(time.RFC3339Nano)}
}

func (f *fixture) upload(t testing.TB, key string, offsetMS int64, scans ...map[string]any) []map[string]any {
	t.Helper()
	a := f.call(t, key, "POST", "/api/v1/events/"+f.event+"/scans/offline", map[string]any{"clock_offset_ms": offsetMS, "scans": scans})
	if a.Status != 200 {
		t.Fatalf("upload: status %d: %s", a.Status, a.Body)
	}
	var out struct {
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal(a.Body, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Results) != len(scans) {
		t.Fatalf("%d results for %d scans", len(out.Results), len(scans))
	}
	return out.Results
}

// uuids splits a snapshot's concatenated uuids.
func uuids(t testing.TB, s string) []string {
	t.Helper()
	if len(s)%32 != 0 {
		t.Fatalf("uuid string of %d characters", len(s))
	}
	var out []string
	for i := 0; i < len(s); i += 32 {
		out = append(out, s[i:i+32])
	}
	return out
}

func compact(u string) string { return strings.ReplaceAll(u, "-", "") }

type snapshot struct {
	Full    bool   `json:"full"`
	Cursor  string `json:"cursor"`
	Classes []struct {
		Product    int64      `json:"product"`
		Section    int64      `json:"section"`
		Status     string     `json:"status"`
		Blocked    bool       `json:"blocked"`
		ValidUntil *time.Time `json:"valid_until"`
	} `json:"classes"`
	Tickets []string `json:"tickets"`
	Inside  string   `json:"inside"`
	Used    string   `json:"used"`
	Outside string   `json:"outside"`
	Event   struct {
		Keys []struct {
			Alg, PEM string
		} `json:"keys"`
	} `json:"event"`
	List struct {
		UUID     string  `json:"uuid"`
		Products []int64 `json:"products"`
	} `json:"list"`
}

func (f *fixture) snapshot(t testing.TB, key, query string) *snapshot {
	t.Helper()
	a := f.call(t, key, "GET", "/api/v1/events/"+f.event+"/offline"+query, nil)
	if a.Status != 200 {
		t.Fatalf("snapshot: status %d: %s", a.Status, a.Body)
	}
	var s snapshot
	if err := json.Unmarshal(a.Body, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// classOf finds the class of a ticket in a snapshot (-1: not in it).
func (s *snapshot) classOf(t testing.TB, uuid string) int {
	for i, group := range s.Tickets {
		if slices.Contains(uuids(t, group), compact(uuid)) {
			return i
		}
	}
	return -1
}

func TestOfflineSnapshotHoldsWhatTheDecisionNeeds(t *testing.T) {
	f := setup(t)
	// The server's clock runs two minutes ahead: the import is older than
	// the minute a delta repeats, so a delta carries only what changed.
	f.env.Core.Now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	_, key := f.env.PairedDevice(t, admit.DeviceSpec{Organizer: "acme", Name: "Phone", Event: "fest"})
	s := f.snapshot(t, key, "")
	if !s.Full || s.Cursor == "" || len(s.Event.Keys) != 1 || s.Event.Keys[0].Alg != "ed25519" ||
		s.Event.Keys[0].PEM != f.res.Event.PublicKeyPEM {
		t.Fatalf("snapshot head: full %v cursor %q keys %+v", s.Full, s.Cursor, s.Event.Keys)
	}
	n := 0
	for _, g := range s.Tickets {
		n += len(uuids(t, g))
	}
	if n != len(f.res.Tickets) || len(s.Classes) != len(s.Tickets) {
		t.Fatalf("%d tickets in %d classes (%d groups), want %d", n, len(s.Classes), len(s.Tickets), len(f.res.Tickets))
	}
	for i, tk := range f.res.Tickets {
		c := s.classOf(t, tk.UUID)
		if c < 0 {
			t.Fatalf("ticket %d not in the snapshot", i)
		}
		cl := s.Classes[c]
		if cl.Product != tk.ProductID || cl.Section != tk.SectionID || cl.Status != string(tk.OrderStatus) || cl.Blocked != tk.Blocked ||
			fmt.Sprint(cl.ValidUntil) != fmt.Sprint(tk.ValidUntil) {
			t.Errorf("ticket %d in class %+v, want %s %s blocked=%v until %v", i, cl, tk.ProductName, tk.OrderStatus, tk.Blocked, tk.ValidUntil)
		}
	}
	if s.Inside != "" || s.Used != "" {
		t.Errorf("inside %q used %q before any scan", s.Inside, s.Used)
	}

	// Ann enters, Dee enters and leaves; Vic is blocked: the delta says so.
	for _, b := range []map[string]any{scanBody(f.qr(tAnn)), scanBody(f.qr(tDee)), scanBody(f.qr(tDee), "type", "exit")} {
		if m := f.call(t, f.admin, "POST", "/api/v1/events/"+f.event+"/scans", b).json(t); m["result"] != "ok" {
			t.Fatalf("scan: %v", m)
		}
	}
	vic := f.res.Tickets[tVic]
	if a := f.call(t, f.admin, "POST", "/api/v1/events/"+f.event+"/tickets/"+vic.UUID+"/block", nil); a.Status != 200 {
		t.Fatalf("block: %d %s", a.Status, a.Body)
	}
	d := f.snapshot(t, key, "?cursor="+s.Cursor)
	if d.Full {
		t.Fatalf("a delta was asked for, got a full snapshot")
	}
	if !slices.Contains(uuids(t, d.Inside), compact(f.res.Tickets[tAnn].UUID)) ||
		!slices.Contains(uuids(t, d.Used), compact(f.res.Tickets[tDee].UUID)) ||
		!slices.Contains(uuids(t, d.Outside), compact(f.res.Tickets[tDee].UUID)) {
		t.Errorf("delta inside %v used %v outside %v: want ann inside, dee used and outside", d.Inside, d.Used, d.Outside)
	}
	c := d.classOf(t, vic.UUID)
	if c < 0 || !d.Classes[c].Blocked {
		t.Errorf("delta: vic's class %d, want his new class (blocked)", c)
	}
	if d.classOf(t, f.res.Tickets[tBob].UUID) >= 0 {
		t.Errorf("delta carries bob, who did not change")
	}

	// A cursor from elsewhere, or after an import, gets everything.
	for _, cur := range []string{"garbage", "1.999.1.0.0"} {
		if s := f.snapshot(t, key, "?cursor="+cur); !s.Full {
			t.Errorf("cursor %q: not a full snapshot", cur)
		}
	}
	f.env.Import(t, eventJSON)
	if s := f.snapshot(t, key, "?cursor="+d.Cursor); !s.Full {
		t.Errorf("after an import: not a full snapshot")
	}
}

// twoDevices is a run of the two-device scenario on a fresh server: both
// devices scan offline, overlapping, then upload in the order given,
// concurrently and more than once.
func twoDevices(t *testing.T, order string) (report []string, states map[string]string, logged int) {
	f := setup(t)
	_, k1 := f.env.PairedDevice(t, admit.DeviceSpec{Organizer: "acme", Name: "Phone 1", Event: "fest"})
	_, k2 := f.env.PairedDevice(t, admit.DeviceSpec{Organizer: "acme", Name: "Phone 2", Event: "fest"})
	t0 := time.Now().Add(-30 * time.Minute).Truncate(time.Second)
	// Phone 1: Ann, Vic, Dee; phone 2: Vic, Dee (later), and Bob (canceled:
	// its snapshot predates the cancellation, it admitted him), and Cid
	// refused as unpaid (right).
	up1 := []map[string]any{
		offlineScan("p1-ann", f.qr(tAnn), "ok", t0),
		offlineScan("p1-vic", f.qr(tVic), "ok", t0.Add(time.Minute)),
		offlineScan("p1-dee", f.qr(tDee), "ok", t0.Add(2*time.Minute)),
	}
	up2 := []map[string]any{
		offlineScan("p2-vic", f.qr(tVic), "ok", t0.Add(5*time.Minute)),
		offlineScan("p2-dee", f.qr(tDee), "ok", t0.Add(6*time.Minute)),
		offlineScan("p2-bob", f.qr(tBob), "ok", t0.Add(7*time.Minute)),
		offlineScan("p2-cid", f.qr(tCid), "unpaid", t0.Add(8*time.Minute)),
	}
	send := func(key string, up []map[string]any, offset int64) {
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f.upload(t, key, offset, up...)
			}()
		}
		wg.Wait()
	}
	if order == "1 then 2" {
		send(k1, up1, 0)
		send(k2, up2, 2000)
	} else {
		send(k2, up2, 2000)
		send(k1, up1, 0)
	}
	// Once more, both at once: nothing new.
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); send(k1, up1, 0) }()
	go func() { defer wg.Done(); send(k2, up2, 2000) }()
	wg.Wait()

	names := map[string]string{}
	for _, tk := range f.res.Tickets {
		names[tk.UUID] = tk.FirstName
	}
	a := f.call(t, f.admin, "GET", "/api/v1/events/"+f.event+"/conflicts", nil)
	var rep struct {
		Count     int
		Conflicts []struct {
			Kind   string
			Ticket *struct{ UUID string }
			Scan   struct {
				Device        string
				DeviceTime    *time.Time `json:"device_time"`
				DeviceVerdict *string    `json:"device_verdict"`
				Conflict      *string
			}
			Other *struct {
				Device     string
				DeviceTime *time.Time `json:"device_time"`
			}
		}
	}
	if err := json.Unmarshal(a.Body, &rep); err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Conflicts {
		line := c.Kind + " " + names[c.Ticket.UUID] + ": " + c.Scan.Device + " at " + c.Scan.DeviceTime.Sub(t0).String()
		if c.Other != nil {
			line += " after " + c.Other.Device + " at " + c.Other.DeviceTime.Sub(t0).String()
		}
		report = append(report, line)
	}
	if rep.Count != len(rep.Conflicts) {
		t.Errorf("count %d, %d conflicts listed", rep.Count, len(rep.Conflicts))
	}
	states = map[string]string{}
	for i := range f.res.Tickets {
		m := f.call(t, f.admin, "GET", "/api/v1/events/"+f.event+"/tickets/"+f.res.Tickets[i].UUID, nil).json(t)
		st, _ := m["state"].(map[string]any)
		states[names[f.res.Tickets[i].UUID]] = fmt.Sprint(st["inside"], "/", st["entries"])
	}
	scans, _, err := f.env.Core.Store.Scans(context.Background(), admit.ScanFilter{EventID: f.res.Event.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range scans {
		if !sc.Offline || sc.DeviceTime == nil {
			t.Errorf("scan %d not logged as offline with its device time: %+v", sc.ID, sc)
		}
	}
	return report, states, len(scans)
}

func TestTwoOfflineDevicesUploadingInEitherOrderAgree(t *testing.T) {
	rep1, st1, n1 := twoDevices(t, "1 then 2")
	rep2, st2, n2 := twoDevices(t, "2 then 1")
	want := []string{
		// Sorted by ticket uuid, which differs per run: compare as sets.
		"already_inside Vic: Phone 2 at 5m0s after Phone 1 at 1m0s",
		"already_inside Dee: Phone 2 at 6m0s after Phone 1 at 2m0s",
		"refused_by_server Bob: Phone 2 at 7m0s",
	}
	sort.Strings(want)
	for _, run := range []struct {
		name   string
		report []string
		states map[string]string
		logged int
	}{{"1 then 2", rep1, st1, n1}, {"2 then 1", rep2, st2, n2}} {
		// The report names the device time as the device gave it.
		got := slices.Clone(run.report)
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: conflicts\n%s\nwant\n%s", run.name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if run.logged != 7 {
			t.Errorf("%s: %d scans logged, want the 7 scanned", run.name, run.logged)
		}
	}
	if fmt.Sprint(st1) != fmt.Sprint(st2) {
		t.Errorf("states differ by upload order:\n%v\n%v", st1, st2)
	}
	want2 := map[string]string{"Ann": "true/1", "Vic": "true/1", "Dee": "true/1", "Bob": "<nil>/<nil>", "Cid": "<nil>/<nil>", "Eve": "<nil>/<nil>"}
	if fmt.Sprint(st1) != fmt.Sprint(want2) {
		t.Errorf("states %v, want %v", st1, want2)
	}
}

func TestOfflineUploadKeepsTheGoodScansOfABadBatch(t *testing.T) {
	f := setup(t)
	_, key := f.env.PairedDevice(t, admit.DeviceSpec{Organizer: "acme", Name: "Phone", Event: "fest"})
	now := time.Now()
	ann := f.qr(tAnn)
	forged := ann[:len(ann)-6] + "AAAAAA"
	other := f.env.Import(t, strings.ReplaceAll(strings.ReplaceAll(eventJSON, `"slug": "fest"`, `"slug": "other"`), `"acme"`, `"acme"`))
	cases := []struct {
		name   string
		scan   map[string]any
		status string
		result any
		reason any
		err    string
	}{
		{"a ticket admitted offline is recorded", offlineScan("a", ann, "ok", now.Add(-time.Minute)), "recorded", "ok", nil, ""},
		{"a forged code is refused", offlineScan("b", forged, "ok", now), "recorded", "refused", "forged", ""},
		{"a ticket of another event is refused", offlineScan("c", other.Tickets[0].QRCode, "ok", now), "recorded", "refused", "wrong_event", ""},
		{"a device time a day ahead is rejected", offlineScan("d", f.qr(tDee), "ok", now.Add(24*time.Hour)), "rejected", nil, nil, "ahead"},
		{"a device time a month ago is rejected", offlineScan("e", f.qr(tDee), "ok", now.Add(-30*24*time.Hour)), "rejected", nil, nil, "in the past"},
		{"a scan without nonce is rejected", offlineScan("", f.qr(tDee), "ok", now), "rejected", nil, nil, "nonce"},
		{"an unknown verdict is rejected", offlineScan("g", f.qr(tDee), "maybe", now), "rejected", nil, nil, "verdict"},
		{"a time that is no time is rejected", map[string]any{"nonce": "h", "code": ann, "verdict": "ok", "device_time": "yesterday"}, "rejected", nil, nil, "device_time"},
		{"an unknown field is rejected", map[string]any{"nonce": "i", "code": ann, "verdict": "ok", "device_time": now.Format(time.RFC3339), "extra": 1}, "rejected", nil, nil, "unknown field"},
		{"the scan after the bad ones is kept", offlineScan("j", f.qr(tVic), "ok", now), "recorded", "ok", nil, ""},
	}
	var scans []map[string]any
	for _, c := range cases {
		scans = append(scans, c.scan)
	}
	a := f.callBad(t, key, "POST", "/api/v1/events/"+f.event+"/scans/offline", map[string]any{"scans": scans})
	if a.Status != 200 {
		t.Fatalf("status %d: %s", a.Status, a.Body)
	}
	var out struct{ Results []map[string]any }
	if err := json.Unmarshal(a.Body, &out); err != nil || len(out.Results) != len(cases) {
		t.Fatalf("%v: %s", err, a.Body)
	}
	for i, c := range cases {
		r := out.Results[i]
		if r["status"] != c.status || r["result"] != c.result || r["reason"] != c.reason || !contains(fmt.Sprint(r["error"]), c.err) {
			t.Errorf("%s: %v", c.name, r)
		}
	}
	scansLogged, _, err := f.env.Core.Store.Scans(context.Background(), admit.ScanFilter{EventID: f.res.Event.ID})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range scansLogged {
		got = append(got, s.Nonce+":"+string(s.Result))
	}
	if want := []string{"a:ok", "b:bad_signature", "c:wrong_event", "j:ok"}; !slices.Equal(got, want) {
		t.Errorf("logged %v, want %v: the recorded scans, on this event", got, want)
	}

	// Whole-request mistakes are problems.
	bad := []struct {
		name   string
		body   any
		status int
	}{
		{"not JSON", "{", 400},
		{"no scans", map[string]any{}, 400},
		{"too many scans", map[string]any{"scans": make([]map[string]any, 501)}, 400},
		{"an unbelievable clock offset", map[string]any{"clock_offset_ms": int64(1) << 50, "scans": []any{}}, 400},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			f.callBad(t, key, "POST", "/api/v1/events/"+f.event+"/scans/offline", b.body).problem(t, b.status)
		})
	}
}

func TestOfflineConflictsAreReportedOnceAndInTheLog(t *testing.T) {
	f := setup(t)
	_, gate := f.env.PairedDevice(t, admit.DeviceSpec{Organizer: "acme", Name: "Gate", Event: "fest"})
	_, phone := f.env.PairedDevice(t, admit.DeviceSpec{Organizer: "acme", Name: "Phone", Event: "fest"})
	// Ann enters online at the gate; the phone, offline, admitted her too.
	if m := f.call(t, gate, "POST", "/api/v1/events/"+f.event+"/scans", scanBody(f.qr(tAnn))).json(t); m["result"] != "ok" {
		t.Fatalf("online scan: %v", m)
	}
	at := time.Now() // after the gate's scan
	res := f.upload(t, phone, 0,
		offlineScan("n1", f.qr(tAnn), "ok", at),
		offlineScan("n2", f.qr(tDee), "already_inside", at), // wrongly refused: Dee never entered
		offlineScan("n3", f.qr(tDee), "ok", at.Add(time.Second)))
	want := []struct{ status, result, conflict string }{
		{"recorded", "refused", "already_inside"},
		{"recorded", "refused", "admissible"},
		{"recorded", "ok", ""},
	}
	for i, w := range want {
		r := res[i]
		c, _ := r["conflict"].(map[string]any)
		if r["status"] != w.status || r["result"] != w.result || fmt.Sprint(c["kind"]) != fmt.Sprint(map[bool]any{true: nil, false: w.conflict}[w.conflict == ""]) {
			t.Errorf("scan %d: %v, want %+v", i, r, w)
		}
	}
	// Uploaded again: duplicates, the same answers, nothing more recorded.
	again := f.upload(t, phone, 0,
		offlineScan("n1", f.qr(tAnn), "ok", at),
		offlineScan("n2", f.qr(tDee), "already_inside", at),
		offlineScan("n3", f.qr(tDee), "ok", at.Add(time.Second)))
	for i, r := range again {
		if r["status"] != "duplicate" || r["result"] != res[i]["result"] || fmt.Sprint(r["scan_id"]) != fmt.Sprint(res[i]["scan_id"]) ||
			fmt.Sprint(r["conflict"]) != fmt.Sprint(res[i]["conflict"]) {
			t.Errorf("re-upload %d: %v, want a duplicate of %v", i, r, res[i])
		}
	}
	rep := f.call(t, f.admin, "GET", "/api/v1/events/"+f.event+"/conflicts", nil).json(t)
	if rep["count"] != float64(2) {
		t.Fatalf("conflicts: %v", rep)
	}
	var kinds []string
	for _, c := range rep["conflicts"].([]any) {
		m := c.(map[string]any)
		kinds = append(kinds, m["kind"].(string))
		if m["kind"] == "already_inside" {
			other := m["other"].(map[string]any)
			scan := m["scan"].(map[string]any)
			if other["device"] != "Gate" || scan["device"] != "Phone" || other["offline"] != false || scan["offline"] != true {
				t.Errorf("already_inside: scan %v other %v, want the phone's after the gate's", scan, other)
			}
		}
	}
	sort.Strings(kinds)
	if !slices.Equal(kinds, []string{"admissible", "already_inside"}) {
		t.Errorf("kinds %v", kinds)
	}
	// The scan log export carries them.
	csv := f.call(t, f.admin, "GET", "/api/v1/events/"+f.event+"/scans?format=csv", nil)
	lines := strings.Split(strings.TrimSpace(string(csv.Body)), "\n")
	if !strings.HasSuffix(lines[0], ",device_verdict,clock_offset_ms,conflict,leaf,covered") {
		t.Fatalf("CSV header %q", lines[0])
	}
	var conflicts int
	for _, l := range lines[1:] {
		if strings.HasSuffix(l, ",already_inside,,false") || strings.HasSuffix(l, ",admissible,,false") { // not in the tree yet
			conflicts++
		}
	}
	if conflicts != 2 || len(lines) != 5 {
		t.Errorf("CSV: %d rows, %d conflicts:\n%s", len(lines)-1, conflicts, csv.Body)
	}
	// Dee is inside once.
	m := f.call(t, f.admin, "GET", "/api/v1/events/"+f.event+"/tickets/"+f.res.Tickets[tDee].UUID, nil).json(t)
	if st := m["state"].(map[string]any); st["inside"] != true || st["entries"] != float64(1) {
		t.Errorf("dee's state %v", st)
	}
}

package sqlstore_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/sqlstore"
)

const batchFixture = `{
  "organizer": {"slug": "org", "name": "Org"},
  "event": {"slug": "fest", "name": "Fest", "date_from": "2026-07-01T10:00:00Z", "date_to": "2026-07-03T22:00:00Z"},
  "products": [{"name": "Pass"}],
  "orders": [{"code": "A1", "email": "a@example.com", "tickets": [
    {"product": "Pass", "first_name": "Ann"}, {"product": "Pass", "first_name": "Ben"},
    {"product": "Pass", "first_name": "Cem"}, {"product": "Pass", "first_name": "Dee"}]}]
}`

// A second event of three tickets.
const batchFixture2 = `{
  "organizer": {"slug": "org", "name": "Org"},
  "event": {"slug": "night", "name": "Night", "date_from": "2026-07-01T10:00:00Z", "date_to": "2026-07-03T22:00:00Z"},
  "products": [{"name": "Pass"}],
  "orders": [{"code": "B1", "email": "b@example.com", "tickets": [
    {"product": "Pass", "first_name": "Eve"}, {"product": "Pass", "first_name": "Fay"}, {"product": "Pass", "first_name": "Gus"}]}]
}`

func mustParse(t *testing.T, s string) *admit.ImportFile {
	t.Helper()
	f, err := admit.ParseImport(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// The PostgreSQL group commit: the scans of a batch are judged as if each
// ran alone, and a batch one of whose statements fails loses none of the
// others.
func TestPostgresGroupCommit(t *testing.T) {
	dsn := createDatabase(t, postgresServer(t))
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f, err := admit.ParseImport(strings.NewReader(batchFixture))
	if err != nil {
		t.Fatal(err)
	}
	kp, err := admit.GenerateKeyPair(admit.SigningEd25519)
	if err != nil {
		t.Fatal(err)
	}
	var keys admit.Keys
	now := time.Date(2026, 7, 1, 18, 0, 0, 0, time.UTC)
	res, err := st.Import(ctx, f, admit.ImportOptions{NewKeys: kp, Sign: keys.SignCode, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	l, err := st.DefaultList(ctx, res.Event.ID)
	if err != nil {
		t.Fatal(err)
	}
	entry := func(tk *admit.Ticket) *admit.ScanAttempt {
		return &admit.ScanAttempt{Scan: admit.Scan{TicketID: tk.ID, EventID: tk.EventID, ListID: l.ID, DeviceName: "gate",
			Source: "tibillet", Type: admit.ScanEntry, Result: admit.ReasonOK, ServerTime: now}, Admit: true}
	}
	refusal := func(tk *admit.Ticket) *admit.ScanAttempt {
		a := entry(tk)
		a.Admit, a.Scan.Result = false, admit.ReasonCanceled
		return a
	}
	ann, ben, cem, dee := res.Tickets[0], res.Tickets[1], res.Tickets[2], res.Tickets[3]
	gone := &admit.Ticket{ID: dee.ID + 1000, EventID: dee.EventID} // no such ticket: its statement writes nothing
	// A device name PostgreSQL refuses (text cannot hold a NUL byte): its
	// statement fails, and with it the batch's transaction.
	failing := func(tk *admit.Ticket) *admit.ScanAttempt {
		a := entry(tk)
		a.Scan.DeviceName = "gate\x00"
		return a
	}

	type want struct {
		result admit.Reason // "" an error
		inside bool
	}
	for _, tc := range []struct {
		name     string
		attempts []*admit.ScanAttempt
		want     []want // result "": an error, a client's (EInvalid)
	}{
		{"two scans of one ticket in one batch: one entry", []*admit.ScanAttempt{entry(ann), refusal(cem), entry(ann), entry(ben)},
			[]want{{admit.ReasonOK, true}, {admit.ReasonCanceled, false}, {admit.ReasonAlreadyRedeemed, true}, {admit.ReasonOK, true}}},
		{"a missing ticket fails alone", []*admit.ScanAttempt{entry(cem), entry(gone), entry(ann), refusal(dee), entry(cem)},
			[]want{{admit.ReasonOK, true}, {"", false}, {admit.ReasonAlreadyRedeemed, true}, {admit.ReasonCanceled, false}, {admit.ReasonAlreadyRedeemed, true}}},
		{"a failing statement loses none of the others", []*admit.ScanAttempt{entry(ben), failing(ann), entry(dee)},
			[]want{{admit.ReasonAlreadyRedeemed, true}, {"", false}, {admit.ReasonOK, true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outs, errs := st.RunPGBatch(ctx, tc.attempts)
			for i, w := range tc.want {
				if w.result == "" {
					if admit.ErrorCode(errs[i]) != admit.EInvalid {
						t.Errorf("scan %d: %+v, %v; want a client's error", i, outs[i], errs[i])
					}
					continue
				}
				if errs[i] != nil {
					t.Errorf("scan %d: %v", i, errs[i])
					continue
				}
				if o := outs[i]; o.Result != w.result || o.ScanID == 0 || (o.State != nil && o.State.Inside) != w.inside {
					t.Errorf("scan %d: result %q, scan id %d, state %+v; want %q, inside %v", i, o.Result, o.ScanID, o.State, w.result, w.inside)
				}
			}
		})
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// Entries of one batch with a device time, a device whose uuid the
	// store looks up, and one whose uuid the caller gives: each state's
	// first entry is its own scan's, and each log row keeps its device
	// time (or none).
	dev := &admit.Device{OrganizerID: res.Organizer.ID, EventID: res.Event.ID, Name: "Gate B", CreatedAt: now}
	if err := st.CreateDevice(ctx, dev, nil); err != nil {
		t.Fatal(err)
	}
	kp2, err := admit.GenerateKeyPair(admit.SigningEd25519)
	if err != nil {
		t.Fatal(err)
	}
	more, err := st.Import(ctx, mustParse(t, batchFixture2), admit.ImportOptions{NewKeys: kp2, Sign: keys.SignCode, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	l2, err := st.DefaultList(ctx, more.Event.ID)
	if err != nil {
		t.Fatal(err)
	}
	early := now.Add(-90 * time.Minute)
	var batch []*admit.ScanAttempt
	for i, tk := range more.Tickets {
		a := entry(tk)
		a.Scan.ListID = l2.ID
		switch i {
		case 0: // device time, the device looked up
			a.Scan.DeviceTime, a.Scan.DeviceID = &early, dev.ID
		case 1: // the device's uuid given
			a.Scan.DeviceID, a.DeviceUUID = dev.ID, dev.UUID
		}
		batch = append(batch, a)
	}
	outs, errs := st.RunPGBatch(ctx, batch)
	for i, tk := range more.Tickets {
		if errs[i] != nil || outs[i].Result != admit.ReasonOK || outs[i].State == nil {
			t.Fatalf("scan %d: %+v, %v", i, outs[i], errs[i])
		}
		wantAt, wantUUID, wantDevTime := now, "", false
		switch i {
		case 0:
			wantAt, wantUUID, wantDevTime = early, dev.UUID, true
		case 1:
			wantUUID = dev.UUID
		}
		stt := outs[i].State
		if !stt.FirstAt.Equal(wantAt) || stt.FirstDeviceUUID != wantUUID || stt.TicketID != tk.ID {
			t.Errorf("scan %d: state %+v; want first at %v by %q", i, stt, wantAt, wantUUID)
		}
		var devTime sql.NullTime
		if err := db.QueryRowContext(ctx, `SELECT device_time FROM scans WHERE id = $1`, outs[i].ScanID).Scan(&devTime); err != nil {
			t.Fatal(err)
		}
		if devTime.Valid != wantDevTime || (wantDevTime && !devTime.Time.Equal(early)) {
			t.Errorf("scan %d: device time %v; want %v (%v)", i, devTime, early, wantDevTime)
		}
	}

	// Each ticket entered once; every scan but the failed ones logged once.
	for _, q := range []struct {
		sql  string
		want int
	}{
		{`SELECT COUNT(*) FROM scans`, 13},
		{`SELECT COUNT(*) FROM scans WHERE result = 'ok'`, 7},
		{`SELECT COUNT(*) FROM checkin_state WHERE inside`, 7},
		{`SELECT COALESCE(SUM(entries), 0) FROM checkin_state`, 7},
	} {
		var n int
		if err := db.QueryRowContext(ctx, q.sql).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
		if n != q.want {
			t.Errorf("%s: %d, want %d", q.sql, n, q.want)
		}
	}
}

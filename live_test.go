package admit_test

import (
	"context"
	"testing"
	"time"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/admittest"
	"github.com/admitdev/admit/bench"
)

// pending returns what ch holds now: Core.Redeem publishes before it
// returns, and the hub hands a scan to its subscribers' channels at once.
func pending(ch <-chan *admit.LiveScan) []*admit.LiveScan {
	var got []*admit.LiveScan
	for {
		select {
		case s, ok := <-ch:
			if !ok {
				return got
			}
			got = append(got, s)
		default:
			return got
		}
	}
}

// A scan recorded through a real store reaches the event's live
// subscribers once, as it was recorded; a replay, a dry run and a scan of
// no known event publish nothing.
func TestRedeemPublishesWhatItRecorded(t *testing.T) {
	ctx := context.Background()
	core := admittest.OpenCore(t, admittest.DSN(t))
	f, err := bench.GenerateImport(3, "live")
	if err != nil {
		t.Fatal(err)
	}
	res, err := core.Import(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	ev, tk := res.Event, res.Tickets[0]
	list, err := core.Store.DefaultList(ctx, ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	ch, stop := core.Live.Subscribe(ev.ID)
	defer stop()
	other, stopOther := core.Live.Subscribe(ev.ID + 1000)
	defer stopOther()

	deviceTime := time.Date(2026, 12, 27, 18, 0, 0, 0, time.UTC)
	req := func() *admit.RedeemRequest {
		return &admit.RedeemRequest{
			Code: tk.QRCode, OrganizerID: ev.OrganizerID, Nonce: "n-1", DeviceTime: &deviceTime,
			DeviceUUID: "0f7c9d2e-8a61-4f5e-9b1a-2c3d4e5f6a7b", DeviceName: "Gate 1", Source: "test",
		}
	}
	before := time.Now().UTC()
	r, err := core.Redeem(ctx, req())
	if err != nil || r.Reason != admit.ReasonOK || r.Replayed {
		t.Fatalf("redeem: %+v %v", r, err)
	}
	got := pending(ch)
	if len(got) != 1 {
		t.Fatalf("%d live scans after one redeem, want 1", len(got))
	}
	s := got[0]
	scans, _, err := core.Store.Scans(ctx, admit.ScanFilter{EventID: ev.ID})
	if err != nil || len(scans) != 1 {
		t.Fatalf("scan log: %d rows, %v", len(scans), err)
	}
	want := admit.LiveScan{
		ID: scans[0].ID, EventID: ev.ID, EventUUID: ev.UUID, TicketUUID: tk.UUID,
		AttendeeName: tk.FirstName + " " + tk.LastName, ProductName: tk.ProductName,
		ListID: list.ID, ListName: list.Name, SectionName: tk.SectionName,
		DeviceUUID: "0f7c9d2e-8a61-4f5e-9b1a-2c3d4e5f6a7b", DeviceName: "Gate 1",
		Source: "test", Type: admit.ScanEntry, Result: admit.ReasonOK,
	}
	if s.DeviceTime == nil || !s.DeviceTime.Equal(deviceTime) {
		t.Errorf("device time %v, want %v", s.DeviceTime, deviceTime)
	}
	// The time the core recorded (the log keeps it to the microsecond).
	if d := s.ServerTime.Sub(scans[0].ServerTime).Abs(); d > time.Millisecond || s.ServerTime.Before(before) {
		t.Errorf("server time %v, log says %v", s.ServerTime, scans[0].ServerTime)
	}
	gotFields := *s
	gotFields.DeviceTime, gotFields.ServerTime = nil, time.Time{}
	if gotFields != want {
		t.Errorf("live scan\n got %+v\nwant %+v", gotFields, want)
	}
	if tk.ProductName == "" || tk.SectionName == "" || want.AttendeeName == " " {
		t.Fatalf("fixture lacks the names the test compares: %+v", tk)
	}

	// The same nonce again: a replay, nothing recorded, nothing published.
	r, err = core.Redeem(ctx, req())
	if err != nil || !r.Replayed {
		t.Fatalf("replay: %+v %v", r, err)
	}
	// A dry run records nothing.
	dry := req()
	dry.DryRun, dry.Nonce = true, ""
	if _, err := core.Redeem(ctx, dry); err != nil {
		t.Fatal(err)
	}
	// An unreadable code with no event: recorded, of no event, not published.
	if r, err := core.Redeem(ctx, &admit.RedeemRequest{Code: "garbage", Source: "test"}); err != nil || r.Reason != admit.ReasonBadFormat {
		t.Fatalf("garbage: %+v %v", r, err)
	}
	if got := pending(ch); len(got) != 0 {
		t.Fatalf("%d live scans after a replay, a dry run and a scan of no event, want 0: %+v", len(got), got[0])
	}

	// A refusal is published too, with what the scan knew: a second entry
	// (no nonce) is already redeemed.
	again := req()
	again.Nonce = ""
	if r, err := core.Redeem(ctx, again); err != nil || r.Reason != admit.ReasonAlreadyRedeemed {
		t.Fatalf("second entry: %+v %v", r, err)
	}
	// A serial unknown to the event (a plain lookup): no ticket, the event
	// from the scan's scope.
	if r, err := core.Redeem(ctx, &admit.RedeemRequest{Code: "NO-SUCH-SERIAL", Plain: admit.PlainSerial,
		OrganizerID: ev.OrganizerID, EventID: ev.ID, Source: "test"}); err != nil || r.Reason != admit.ReasonUnknown {
		t.Fatalf("unknown serial: %+v %v", r, err)
	}
	got = pending(ch)
	if len(got) != 2 {
		t.Fatalf("%d live scans after two refusals, want 2", len(got))
	}
	if s := got[0]; s.Result != admit.ReasonAlreadyRedeemed || s.TicketUUID != tk.UUID || s.ListID != list.ID || s.ID <= scans[0].ID {
		t.Errorf("already redeemed: %+v", s)
	}
	if s := got[1]; s.Result != admit.ReasonUnknown || s.TicketUUID != "" || s.EventID != ev.ID || s.EventUUID != ev.UUID || s.ID <= got[0].ID {
		t.Errorf("unknown serial: %+v", s)
	}
	if n := len(pending(other)); n != 0 {
		t.Errorf("a subscriber of another event got %d scans", n)
	}
}

package pretixdroid_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/admitdev/admit"
)

// Every reason of the core reaches the wire as pretix's reason, with the
// ticket's data wherever the ticket is known.
func TestRedeemReasons(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	higgsQR := f.ticket(t, secHiggs).QRCode
	curieQR := f.ticket(t, secCurie).QRCode
	if higgsQR == "" || curieQR == "" {
		t.Fatal("fixture tickets have no signed QR code")
	}
	payload, sig, _ := strings.Cut(curieQR, ":")
	forged := payload + ":" + strings.Repeat("A", len(sig)-2) + "=="
	other := f.ticket(t, secOther)

	type want struct {
		status, reason string
		data           bool
		// When data: the flags.
		redeemed, paid, allowed bool
	}
	cases := []struct {
		name   string
		key    *string
		form   url.Values
		want   want
		secret string // the data's secret, when not form's
	}{
		{"paid ticket is admitted", &f.keyMain, url.Values{"secret": {secCurie}},
			want{"ok", "", true, true, true, true}, ""},
		{"unknown secret is unknown_ticket without data", &f.keyMain, url.Values{"secret": {"nosuchsecret0000000000000000000"}},
			want{"error", "unknown_ticket", false, false, false, false}, ""},
		{"secret of another event is unknown_ticket", &f.keyMain, url.Values{"secret": {secOther}},
			want{"error", "unknown_ticket", false, false, false, false}, ""},
		{"signed QR of another event is unknown_ticket", &f.keyMain, url.Values{"secret": {other.QRCode}},
			want{"error", "unknown_ticket", false, false, false, false}, ""},
		{"forged QR is unknown_ticket", &f.keyMain, url.Values{"secret": {forged}},
			want{"error", "unknown_ticket", false, false, false, false}, ""},
		{"garbled QR-like string is unknown_ticket", &f.keyMain, url.Values{"secret": {"not base64!:also not"}},
			want{"error", "unknown_ticket", false, false, false, false}, ""},
		{"full signed QR string as secret is admitted", &f.keyMain, url.Values{"secret": {higgsQR}},
			want{"ok", "", true, true, true, true}, secHiggs},
		{"pending on a list without include_pending is unpaid, check-in not allowed", &f.keyMain, url.Values{"secret": {secPending}},
			want{"error", "unpaid", true, false, false, false}, ""},
		{"ignore_unpaid does not help where the list refuses pending orders", &f.keyMain, url.Values{"secret": {secPending}, "ignore_unpaid": {"true"}},
			want{"error", "unpaid", true, false, false, false}, ""},
		{"pending on an include_pending list is unpaid, check-in allowed", &f.keyPending, url.Values{"secret": {secPending}},
			want{"error", "unpaid", true, false, false, true}, ""},
		{"ignore_unpaid=false is no flag", &f.keyPending, url.Values{"secret": {secPending}, "ignore_unpaid": {"false"}},
			want{"error", "unpaid", true, false, false, true}, ""},
		{"ignore_unpaid admits pending where the list accepts it", &f.keyPending, url.Values{"secret": {secPending}, "ignore_unpaid": {"True"}},
			want{"ok", "", true, true, false, true}, ""},
		{"product not on the list", &f.keyWorkshop, url.Values{"secret": {secCurie}},
			want{"error", "product", true, false, true, true}, ""},
		{"canceled order", &f.keyMain, url.Values{"secret": {secCanceled}},
			want{"error", "canceled", true, false, false, false}, ""},
		{"blocked ticket", &f.keyMain, url.Values{"secret": {secBlocked}},
			want{"error", "blocked", true, false, true, true}, ""},
		{"outside the validity window", &f.keyMain, url.Values{"secret": {secExpired}},
			want{"error", "invalid_time", true, false, true, true}, ""},
		{"second scan is already_redeemed", &f.keyMain, url.Values{"secret": {secCurie}},
			want{"error", "already_redeemed", true, true, true, true}, ""},
		{"signed QR of an admitted ticket is already_redeemed", &f.keyMain, url.Values{"secret": {curieQR}},
			want{"error", "already_redeemed", true, true, true, true}, secCurie},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := redeemJSON(t, f.env, mainBase, *c.key, c.form)
			if a.Status != c.want.status || a.Reason != c.want.reason {
				t.Fatalf("got %s/%s, want %s/%s", a.Status, a.Reason, c.want.status, c.want.reason)
			}
			if (a.Data != nil) != c.want.data {
				t.Fatalf("data = %+v, want present: %v", a.Data, c.want.data)
			}
			if a.Data == nil {
				return
			}
			secret := c.secret
			if secret == "" {
				secret = c.form.Get("secret")
			}
			tk := f.ticket(t, secret)
			d := a.Data
			if d.Secret != secret || d.Order != tk.OrderCode || d.ItemID != tk.ProductID || d.Item == "" {
				t.Errorf("data = %+v, want ticket %s of order %s, product %d", d, secret, tk.OrderCode, tk.ProductID)
			}
			if d.Redeemed != c.want.redeemed || d.Paid != c.want.paid || d.CheckinAllowed != c.want.allowed {
				t.Errorf("redeemed/paid/checkin_allowed = %v/%v/%v, want %v/%v/%v",
					d.Redeemed, d.Paid, d.CheckinAllowed, c.want.redeemed, c.want.paid, c.want.allowed)
			}
			if d.Attention {
				t.Errorf("attention = true")
			}
		})
	}
}

// The data describes the ticket: names, product, variation and add-ons.
func TestRedeemDataDescribesTicket(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	higgs := f.ticket(t, secHiggs)
	a := redeemJSON(t, f.env, mainBase, f.keyMain, url.Values{"secret": {secHiggs}})
	if a.Status != "ok" || a.Data == nil {
		t.Fatalf("redeem = %+v", a)
	}
	want := position{Secret: secHiggs, Order: "PAID1", Item: "Ticket", ItemID: higgs.ProductID,
		AttendeeName: ptr("Peter Higgs"), Redeemed: true, Paid: true, CheckinAllowed: true,
		AddonsText: "T-Shirt - Red, Workshop"}
	if !samePosition(*a.Data, want) {
		t.Errorf("data = %s, want %s", show(*a.Data), show(want))
	}

	// An add-on is a ticket of its own, with its variation; its name is
	// the order's where it has none.
	shirt := f.ticket(t, secShirt)
	a = redeemJSON(t, f.env, mainBase, f.keyMain, url.Values{"secret": {secShirt}})
	want = position{Secret: secShirt, Order: "PAID1", Item: "T-Shirt", ItemID: shirt.ProductID,
		Variation: ptr("Red"), VariationID: ptr(shirt.VariationID), AttendeeName: ptr("Peter Higgs"),
		Redeemed: true, Paid: true, CheckinAllowed: true}
	if a.Status != "ok" || a.Data == nil || !samePosition(*a.Data, want) {
		t.Errorf("add-on redeem = %+v, data %s, want ok with %s", a, showp(a.Data), show(want))
	}

	// No name at all: attendee_name is null.
	a = redeemJSON(t, f.env, mainBase, f.keyMain, url.Values{"secret": {secCurie}})
	if a.Data == nil || a.Data.AttendeeName == nil || *a.Data.AttendeeName != "Marie Curie" || a.Data.Variation != nil || a.Data.VariationID != nil || a.Data.AddonsText != "" {
		t.Errorf("Curie's data = %s", showp(a.Data))
	}
}

// force admits an already redeemed ticket and an unpaid one; the scan log
// records those check-ins as forced.
func TestForce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	curie, pending := f.ticket(t, secCurie), f.ticket(t, secPending)
	steps := []struct {
		name         string
		secret       string
		force        string
		status       string
		reason       string
		forcedLogged bool
	}{
		{"first scan admits", secCurie, "", "ok", "", false},
		{"second scan is refused", secCurie, "false", "error", "already_redeemed", false},
		{"force admits the redeemed ticket", secCurie, "true", "ok", "", true},
		{"force=True admits again", secCurie, "True", "ok", "", true},
		{"unpaid is refused without force", secPending, "", "error", "unpaid", false},
		{"force admits the unpaid ticket", secPending, "true", "ok", "", true},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			form := url.Values{"secret": {s.secret}}
			if s.force != "" {
				form.Set("force", s.force)
			}
			a := redeemJSON(t, f.env, mainBase, f.keyMain, form)
			if a.Status != s.status || a.Reason != s.reason {
				t.Fatalf("got %s/%s, want %s/%s", a.Status, a.Reason, s.status, s.reason)
			}
			if a.Status == "ok" && (a.Data == nil || !a.Data.Redeemed) {
				t.Errorf("data %s: want redeemed", showp(a.Data))
			}
			rows := scans(t, f.env, f.ticket(t, s.secret).ID)
			if len(rows) == 0 {
				t.Fatal("no scan logged")
			}
			last := rows[len(rows)-1]
			wantResult := admit.Reason(s.reason)
			if s.status == "ok" {
				wantResult = admit.ReasonOK
			}
			if last.Forced != s.forcedLogged || last.Result != wantResult {
				t.Errorf("last scan: forced %v result %q, want forced %v result %q", last.Forced, last.Result, s.forcedLogged, wantResult)
			}
			if last.Source != "pretixdroid" {
				t.Errorf("scan source %q, want pretixdroid", last.Source)
			}
		})
	}
	st, err := f.env.Core.Store.CheckinState(context.Background(), curie.ID, mainListID(t, f))
	if err != nil || st.Entries != 3 {
		t.Errorf("Curie's state = %+v, %v: want 3 entries (one plus two forced)", st, err)
	}
	if st, err := f.env.Core.Store.CheckinState(context.Background(), pending.ID, mainListID(t, f)); err != nil || st.Entries != 1 {
		t.Errorf("pending ticket's state = %+v, %v: want 1 entry", st, err)
	}
}

func mainListID(t *testing.T, f *fixture) int64 {
	t.Helper()
	l, err := f.env.Core.Store.DefaultList(context.Background(), f.main.Event.ID)
	if err != nil {
		t.Fatal(err)
	}
	return l.ID
}

// An offline scan's datetime is stored beside the server's time of arrival.
func TestDatetimeStored(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cases := []struct {
		name, secret, datetime string
		want                   time.Time
	}{
		{"RFC 3339 with offset", secCurie, "2030-12-28T10:11:12+01:00", time.Date(2030, 12, 28, 9, 11, 12, 0, time.UTC)},
		{"fraction and offset without colon", secHiggs, "2030-12-28T10:11:12.345+0100", time.Date(2030, 12, 28, 9, 11, 12, 345e6, time.UTC)},
		{"UTC with Z", secShirt, "2030-12-28T10:11:12Z", time.Date(2030, 12, 28, 10, 11, 12, 0, time.UTC)},
		{"no zone is the event's local time (Europe/Berlin)", secWSAddon, "2030-07-01T10:00:00", time.Date(2030, 7, 1, 8, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := time.Now().Add(-time.Minute)
			a := redeemJSON(t, f.env, mainBase, f.keyMain, url.Values{"secret": {c.secret}, "datetime": {c.datetime}})
			if a.Status != "ok" {
				t.Fatalf("redeem = %+v", a)
			}
			rows := scans(t, f.env, f.ticket(t, c.secret).ID)
			if len(rows) != 1 {
				t.Fatalf("%d scans, want 1", len(rows))
			}
			s := rows[0]
			if s.DeviceTime == nil || !s.DeviceTime.Equal(c.want) {
				t.Errorf("device time = %v, want %v", s.DeviceTime, c.want)
			}
			if s.ServerTime.Before(before) || s.ServerTime.Equal(c.want) {
				t.Errorf("server time = %v: want the time of arrival", s.ServerTime)
			}
		})
	}
	t.Run("without datetime only the server time", func(t *testing.T) {
		redeemJSON(t, f.env, mainBase, f.keyMain, url.Values{"secret": {secWorkshop}})
		rows := scans(t, f.env, f.ticket(t, secWorkshop).ID)
		if len(rows) != 1 || rows[0].DeviceTime != nil || rows[0].ServerTime.IsZero() {
			t.Errorf("scans = %+v, want one without device time", rows)
		}
	})
	t.Run("the device time decides the validity window", func(t *testing.T) {
		// Tina's ticket was valid until 2020: a scan made in 2019 and
		// uploaded now is admitted.
		a := redeemJSON(t, f.env, mainBase, f.keyMain, url.Values{"secret": {secExpired}, "datetime": {"2019-06-01T12:00:00Z"}})
		if a.Status != "ok" {
			t.Errorf("redeem = %+v, want ok", a)
		}
	})
}

// The same nonce uploaded twice answers ok both times and records one
// check-in; a new nonce is a new scan.
func TestNonceReplay(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	curie := f.ticket(t, secCurie)
	for i, want := range []string{"ok", "ok"} {
		a := redeemJSON(t, f.env, mainBase, f.keyMain, url.Values{"secret": {secCurie}, "nonce": {"Qm9uY2UxMjM0"}, "datetime": {"2030-12-28T10:00:00Z"}})
		if a.Status != want || a.Data == nil || !a.Data.Redeemed {
			t.Fatalf("upload %d = %+v, want %s with data", i+1, a, want)
		}
	}
	st, err := f.env.Core.Store.CheckinState(context.Background(), curie.ID, mainListID(t, f))
	if err != nil || st.Entries != 1 {
		t.Errorf("state = %+v, %v: want one entry", st, err)
	}
	var status statusAnswer
	decodeJSON(t, get(t, f.env, mainBase, "status/", f.keyMain, nil), &status)
	if status.Checkins != 1 {
		t.Errorf("status checkins = %d, want 1", status.Checkins)
	}
	if a := redeemJSON(t, f.env, mainBase, f.keyMain, url.Values{"secret": {secCurie}, "nonce": {"other"}}); a.Reason != "already_redeemed" {
		t.Errorf("a new nonce = %+v, want already_redeemed", a)
	}
	if a := redeemJSON(t, f.env, mainBase, f.keyMain, url.Values{"secret": {secCurie}}); a.Reason != "already_redeemed" {
		t.Errorf("no nonce = %+v, want already_redeemed", a)
	}
	// A refused scan's nonce does not admit later: the nonce of an unpaid
	// attempt replayed is still unpaid.
	for i := 0; i < 2; i++ {
		if a := redeemJSON(t, f.env, mainBase, f.keyMain, url.Values{"secret": {secPending}, "nonce": {"pend"}}); a.Reason != "unpaid" {
			t.Errorf("unpaid upload %d = %+v, want unpaid", i+1, a)
		}
	}
}

// Check-in state is per list: redeemed on one list, still redeemable on
// another with that list's key.
func TestStatePerList(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	steps := []struct {
		name   string
		key    *string
		reason string
	}{
		{"admitted on Main", &f.keyMain, ""},
		{"admitted on Side entrance too", &f.keySide, ""},
		{"already redeemed on Main", &f.keyMain, "already_redeemed"},
		{"already redeemed on Side entrance", &f.keySide, "already_redeemed"},
	}
	for _, s := range steps {
		a := redeemJSON(t, f.env, mainBase, *s.key, url.Values{"secret": {secCurie}})
		if a.Reason != s.reason {
			t.Errorf("%s: got %+v, want reason %q", s.name, a, s.reason)
		}
	}
	var main, side statusAnswer
	decodeJSON(t, get(t, f.env, mainBase, "status/", f.keyMain, nil), &main)
	decodeJSON(t, get(t, f.env, mainBase, "status/", f.keySide, nil), &side)
	if main.Checkins != 1 || side.Checkins != 1 {
		t.Errorf("checkins main %d side %d, want 1 each", main.Checkins, side.Checkins)
	}
}

func samePosition(a, b position) bool {
	eq := func(x, y *string) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	eqi := func(x, y *int64) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return a.Secret == b.Secret && a.Order == b.Order && a.Item == b.Item && a.ItemID == b.ItemID &&
		eq(a.Variation, b.Variation) && eqi(a.VariationID, b.VariationID) && eq(a.AttendeeName, b.AttendeeName) &&
		a.Attention == b.Attention && a.Redeemed == b.Redeemed && a.Paid == b.Paid &&
		a.CheckinAllowed == b.CheckinAllowed && a.AddonsText == b.AddonsText
}

func show(p position) string {
	s := func(x *string) string {
		if x == nil {
			return "null"
		}
		return *x
	}
	var vid string
	if p.VariationID != nil {
		vid = "set"
	}
	return strings.Join([]string{p.Secret, p.Order, p.Item, s(p.Variation), vid, s(p.AttendeeName), p.AddonsText}, "|") +
		map[bool]string{true: " redeemed", false: ""}[p.Redeemed] + map[bool]string{true: " paid", false: ""}[p.Paid] +
		map[bool]string{true: " allowed", false: ""}[p.CheckinAllowed]
}

func showp(p *position) string {
	if p == nil {
		return "<nil>"
	}
	return show(*p)
}

// An upload (datetime and nonce) of a ticket another device admitted
// meanwhile is refused as already redeemed and reported once as a
// conflict, however often it is uploaded.
func TestOfflineUploadOfATicketInsideIsOneConflict(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if a := redeemJSON(t, f.env, mainBase, f.keyMain, url.Values{"secret": {secCurie}}); a.Status != "ok" {
		t.Fatalf("online redeem = %+v", a)
	}
	for i := range 2 {
		a := redeemJSON(t, f.env, mainBase, f.keyMain, url.Values{"secret": {secCurie}, "nonce": {"offline-1"}, "datetime": {"2030-12-28T10:00:00Z"}})
		if a.Reason != "already_redeemed" {
			t.Errorf("upload %d = %+v, want already_redeemed", i+1, a)
		}
	}
	reports, total, err := f.env.Core.Conflicts(context.Background(), f.main.Event.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if total != 1 || len(reports) != 1 || reports[0].Kind != admit.ConflictAlreadyInside || reports[0].Other == nil ||
		reports[0].Scan.Ticket == nil || reports[0].Scan.Ticket.Secret != secCurie {
		t.Fatalf("conflicts = %d %+v, want curie's upload after the online entry", total, reports)
	}
	if rows := scans(t, f.env, f.ticket(t, secCurie).ID); len(rows) != 2 || !rows[1].Offline || rows[1].DeviceVerdict != "ok" {
		t.Errorf("scans = %+v, want the online entry and one offline upload", rows)
	}
}

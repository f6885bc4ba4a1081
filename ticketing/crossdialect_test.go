package ticketing_test

import (
	"testing"

	"github.com/admitdev/admit"
)

// Admissions through this API use the event's default list, the one TiBillet
// devices without a list of their own scan on: a patron admitted here is
// already scanned there, and the other way round.
func TestCrossDialectWithTiBillet(t *testing.T) {
	f := start(t)
	_, deviceKey := f.env.PairedDevice(t, admit.DeviceSpec{Organizer: "acme", Name: "Gate TiBillet"})
	scan := func(t *testing.T, tk *admit.Ticket) map[string]any {
		t.Helper()
		r := f.env.Do(t, "POST", "/scan/ticket/", map[string]any{"qrcode_data": tk.QRCode, "event_uuid": f.ev.UUID},
			"Authorization", "Api-Key "+deviceKey)
		return r.JSON(t)
	}

	t.Run("admitted through TickeTing, already scanned on TiBillet", func(t *testing.T) {
		charles := f.tickets["Babbage"]
		want(t, f.admitSerials(t, f.key, charles.Serial), 201)
		m := scan(t, charles)
		if m["success"] != false || m["message"] != "Ticket already scanned" {
			t.Fatalf("TiBillet answered %v", m)
		}
	})
	t.Run("scanned on TiBillet, not admitted through TickeTing", func(t *testing.T) {
		ada := f.tickets["Lovelace"]
		m := scan(t, ada)
		if m["success"] != true {
			t.Fatalf("TiBillet answered %v", m)
		}
		wantError(t, f.admitSerials(t, f.key, ada.Serial), 400, msgNone)
		wantError(t, f.admitSerials(t, f.key, ada.QRCode), 400, msgNone)
	})
	t.Run("a TiBillet scan shows as the ticket's redemption", func(t *testing.T) {
		for _, e := range entries(t, f.do(t, "GET", f.evPath("/tickets?records=100"), f.key, nil)) {
			if e["serial"] == serAda && e["redeemed"] == "N/A" {
				t.Fatalf("ticket %v", e)
			}
		}
		es := entries(t, f.do(t, "GET", f.evPath("/admissions?ticket="+serAda), f.key, nil))
		if len(es) != 1 || es[0]["device"] != "Gate TiBillet" {
			t.Fatalf("admissions %v", es)
		}
	})
}

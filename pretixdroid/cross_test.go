package pretixdroid_test

import (
	"net/url"
	"testing"

	"github.com/admitdev/admit"
)

// tibilletScan scans a QR code through the TiBillet API with a paired
// device's key and returns its answer's success and message.
func tibilletScan(t *testing.T, f *fixture, apiKey, qr string) (bool, string) {
	t.Helper()
	r := f.env.Do(t, "POST", "/scan/ticket/", map[string]string{"qrcode_data": qr}, "Authorization", "Api-Key "+apiKey)
	if r.Status == 404 && len(r.Body) > 0 && r.Body[0] != '{' {
		t.Fatalf("the TiBillet API is not served: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	ok, _ := m["success"].(bool)
	msg, _ := m["message"].(string)
	return ok, msg
}

// State is shared across dialects on the same list: a ticket admitted
// through the TiBillet API is already_redeemed here, and the other way round.
func TestCrossDialectWithTiBillet(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, deviceKey := f.env.PairedDevice(t, admit.DeviceSpec{Organizer: "demoorga", Name: "Gate 1", Event: "democon"})

	t.Run("admitted by TiBillet, already redeemed on pretixdroid", func(t *testing.T) {
		curie := f.ticket(t, secCurie)
		if ok, msg := tibilletScan(t, f, deviceKey, curie.QRCode); !ok {
			t.Fatalf("TiBillet scan: success false, %q", msg)
		}
		a := redeemJSON(t, f.env, mainBase, f.keyMain, url.Values{"secret": {secCurie}})
		if a.Reason != "already_redeemed" || a.Data == nil || !a.Data.Redeemed {
			t.Errorf("pretixdroid redeem = %+v, want already_redeemed", a)
		}
		// Another list's key is not affected.
		if a := redeemJSON(t, f.env, mainBase, f.keySide, url.Values{"secret": {secCurie}}); a.Status != "ok" {
			t.Errorf("redeem on another list = %+v, want ok", a)
		}
	})
	t.Run("admitted by pretixdroid, already scanned on TiBillet", func(t *testing.T) {
		if a := redeemJSON(t, f.env, mainBase, f.keyMain, url.Values{"secret": {secHiggs}}); a.Status != "ok" {
			t.Fatalf("pretixdroid redeem = %+v", a)
		}
		ok, msg := tibilletScan(t, f, deviceKey, f.ticket(t, secHiggs).QRCode)
		if ok || msg != "Ticket already scanned" {
			t.Errorf("TiBillet scan = %v %q, want Ticket already scanned", ok, msg)
		}
	})
}

package tibillet_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/admitdev/admit"
)

// rsaEventFile is an import of an event that only holds the public key of
// another TiBillet server, with the fixture's two tickets.
func rsaEventFile(t *testing.T, fx *rsaFixture) string {
	t.Helper()
	file := map[string]any{
		"organizer": map[string]any{"slug": "demoorga", "name": tenantName, "domain": tenantHost},
		"event": map[string]any{"slug": "tibillet-night", "name": "TiBillet Night",
			"signing": "rsa-pss", "public_key_pem": fx.PublicKeyPEM},
		"products": []any{map[string]any{"name": "Entry"}},
		"orders": []any{map[string]any{"code": "R1", "status": "paid", "email": "rosa@example.org", "tickets": []any{
			map[string]any{"uuid": fx.UUID, "product": "Entry", "price": "Free", "first_name": "Rosa", "last_name": "Parks"},
			map[string]any{"uuid": fx.StdUUID, "product": "Entry", "price": "Free", "first_name": "Stan", "last_name": "Dard"},
		}}},
	}
	b, err := json.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRSAPSSCodesOfAnotherTiBilletServerScan: the key and the codes were
// made by testdata/make_rsa_fixture.py (Python's cryptography package, the
// way TiBillet signs); the server only has the public key.
func TestRSAPSSCodesOfAnotherTiBilletServerScan(t *testing.T) {
	t.Parallel()
	fx := loadRSAFixture(t)
	f := start(t)
	res := f.env.Import(t, rsaEventFile(t, fx))
	ev := res.Event
	if ev.Signing != admit.SigningRSAPSS || ev.PrivateKeyPEM != "" {
		t.Fatalf("event imported with signing %q, private key %v", ev.Signing, ev.PrivateKeyPEM != "")
	}
	for _, tk := range res.Tickets {
		if tk.QRCode != "" {
			t.Fatalf("ticket %s of a verify-only event got a QR code of this server", tk.UUID)
		}
	}
	if strings.ContainsAny(strings.Split(fx.QRCodeData, ":")[0], "+/") ||
		!strings.ContainsAny(strings.Split(fx.StdQRCodeData, ":")[0], "+/") {
		t.Fatal("fixture: the first code must be base64url, the second use the standard alphabet")
	}
	scanner, key := f.device(t, "Door", "", "")
	_, kBound := f.device(t, "Night door", "tibillet-night", "")

	t.Run("check_ticket verifies it", func(t *testing.T) {
		r := f.check(t, key, fx.QRCodeData)
		want(t, r, http.StatusOK)
		m := r.JSON(t)
		tk := obj(t, m, "ticket")
		if m["success"] != true || tk["uuid"] != fx.UUID || tk["event"] != "TiBillet Night" || tk["is_scanned"] != false {
			t.Fatalf("check %s", r.Body)
		}
	})
	t.Run("the TiBillet code scans, with its event_uuid", func(t *testing.T) {
		r := f.scan(t, key, fx.QRCodeData, ev.UUID)
		want(t, r, http.StatusOK)
		m := r.JSON(t)
		if m["success"] != true || m["message"] != "Ticket successfully scanned" || obj(t, m, "ticket")["first_name"] != "Rosa" {
			t.Fatalf("scan %s", r.Body)
		}
		if res := obj(t, m, "reservation"); res["tickets_count"] != 2.0 {
			t.Fatalf("reservation %v", res)
		}
		r = f.scan(t, key, fx.QRCodeData, ev.UUID)
		if m := r.JSON(t); m["message"] != "Ticket already scanned" || obj(t, m, "ticket")["scanned_by"] != scanner.UUID {
			t.Fatalf("second scan %s", r.Body)
		}
	})
	t.Run("a code in the standard base64 alphabet scans", func(t *testing.T) {
		r := f.scan(t, kBound, fx.StdQRCodeData, "")
		want(t, r, http.StatusOK)
		if m := r.JSON(t); m["success"] != true || obj(t, m, "ticket")["uuid"] != fx.StdUUID {
			t.Fatalf("scan %s", r.Body)
		}
	})
	t.Run("a forged signature is refused", func(t *testing.T) {
		r := f.check(t, key, flip(fx.QRCodeData))
		wantError(t, r, http.StatusBadRequest, "Invalid ticket signature")
	})
	t.Run("a payload naming another ticket under the fixture's signature is refused", func(t *testing.T) {
		r := f.check(t, key, withPayload(fx.QRCodeData, `{"uuid": "`+fx.StdUUID+`"}`))
		wantError(t, r, http.StatusBadRequest, "Invalid ticket signature")
	})
	t.Run("list_tickets has no QR code of this server for them", func(t *testing.T) {
		r := f.call(t, "POST", "/scan/list_tickets/", key, map[string]any{"event_uuid": ev.UUID})
		want(t, r, http.StatusOK)
		results, _ := r.JSON(t)["results"].([]any)
		if len(results) != 2 {
			t.Fatalf("results %s", r.Body)
		}
		for _, x := range results {
			if v, ok := x.(map[string]any)["qrcode_data"]; !ok || v != nil {
				t.Fatalf("qrcode_data %v, want null", v)
			}
		}
	})
}

package admit_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/admitdev/admit"
)

// Fuzz targets: the QR code parser and verifier, the import file (JSON,
// in memory and streamed, and CSV). Their seed corpora are in
// testdata/fuzz/<target>/ (from real codes and files); go test runs them
// as tests, and scripts/test fuzzes each a few seconds. An input the
// fuzzer finds stays there.

// A scanned code, signed or not, of any bytes: parsing and verifying never
// panic, and a code verifies only with the key that signed it.
func FuzzParseCode(f *testing.F) {
	kp, err := admit.GenerateKeyPair(admit.SigningEd25519)
	if err != nil {
		f.Fatal(err)
	}
	ks := &admit.Keys{}
	ev := &admit.Event{UUID: admit.NewUUID(), PublicKeyPEM: kp.PublicKeyPEM, PrivateKeyPEM: kp.PrivateKeyPEM, Signing: admit.SigningEd25519}
	signed, err := ks.SignCode(ev, admit.NewUUID())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signed)
	f.Add(strings.ToUpper(signed))
	f.Add(strings.Replace(signed, ":", "::", 1))
	pub, err := admit.ParsePublicKey(kp.PublicKeyPEM)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, code string) {
		pc, reason, _ := admit.ParseCode(code)
		if pc == nil {
			if reason == "" {
				t.Fatalf("no code and no reason for %q", code)
			}
			return
		}
		if pc.Claims.UUID == "" {
			t.Fatalf("a parsed code without its uuid: %q", code)
		}
		ok := admit.Verify(pub, pc.Payload, pc.Signature)
		if ok2, err := ks.Verify(kp.PublicKeyPEM, pc.Payload, pc.Signature); err != nil || ok2 != ok {
			t.Fatalf("the two verifiers disagree on %q: %v %v %v", code, ok, ok2, err)
		}
		admit.LooksSigned(code)
	})
}

// An import file of any bytes: read in memory or streamed, it is a file
// or an error, never a panic.
func FuzzImportJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, file []byte) {
		admit.ParseImport(bytes.NewReader(file))
		admit.ReadImportStream(bytes.NewReader(file))
	})
}

// A CSV import of any bytes, for an existing event: orders or an error,
// never a panic.
func FuzzImportCSV(f *testing.F) {
	h, err := admit.ParseImport(strings.NewReader(`{"organizer": {"slug": "acme"}, "event": {"slug": "fest"},
		"sections": [{"name": "Floor"}], "products": [{"name": "Ticket"}], "lists": [{"name": "Main", "default": true}]}`))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, file []byte) {
		admit.ReadImportCSV(bytes.NewReader(file), h)
	})
}

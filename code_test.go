package admit_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/admitdev/admit"
)

func signedCode(t testing.TB, alg string) (*admit.Event, *admit.Keys, string) {
	t.Helper()
	kp, err := admit.GenerateKeyPair(alg)
	if err != nil {
		t.Fatal(err)
	}
	ev := &admit.Event{UUID: admit.NewUUID(), Slug: "e", Signing: kp.Signing, PublicKeyPEM: kp.PublicKeyPEM, PrivateKeyPEM: kp.PrivateKeyPEM}
	ks := &admit.Keys{}
	code, err := ks.SignCode(ev, admit.NewUUID())
	if err != nil {
		t.Fatal(err)
	}
	return ev, ks, code
}

func TestSignedCodesVerify(t *testing.T) {
	for _, alg := range []string{admit.SigningEd25519, admit.SigningRSAPSS} {
		t.Run(alg, func(t *testing.T) {
			ev, ks, code := signedCode(t, alg)
			pc, reason, _ := admit.ParseCode(code)
			if pc == nil {
				t.Fatalf("ParseCode: %s", reason)
			}
			if pc.Claims.Event != ev.UUID {
				t.Errorf("payload names event %q, want %q", pc.Claims.Event, ev.UUID)
			}
			pub, err := ks.Public(ev.PublicKeyPEM)
			if err != nil {
				t.Fatal(err)
			}
			if !admit.Verify(pub, pc.Payload, pc.Signature) {
				t.Fatal("own signature does not verify")
			}
			// Flip one character of the signature: it must no longer verify.
			payload, sig, _ := strings.Cut(code, ":")
			b := []byte(sig)
			if b[3] == 'A' {
				b[3] = 'B'
			} else {
				b[3] = 'A'
			}
			pc2, _, _ := admit.ParseCode(payload + ":" + string(b))
			if pc2 != nil && admit.Verify(pub, pc2.Payload, pc2.Signature) {
				t.Error("tampered signature verifies")
			}
			// Another event's key must not verify it.
			other, oks, _ := signedCode(t, alg)
			opub, _ := oks.Public(other.PublicKeyPEM)
			if admit.Verify(opub, pc.Payload, pc.Signature) {
				t.Error("another event's key verifies the code")
			}
		})
	}
}

func TestEd25519CodeIsShort(t *testing.T) {
	_, _, code := signedCode(t, admit.SigningEd25519)
	_, _, rsaCode := signedCode(t, admit.SigningRSAPSS)
	if len(code) >= len(rsaCode) || len(code) > 240 {
		t.Errorf("ed25519 code is %d characters (RSA %d)", len(code), len(rsaCode))
	}
}

func TestParseCodeRefusals(t *testing.T) {
	b64 := func(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name string
		code string
		want admit.Reason
	}{
		{"no colon", "abcdef", admit.ReasonBadFormat},
		{"two colons", "a:b:c", admit.ReasonBadFormat},
		{"empty signature", b64(`{"uuid": "x"}`) + ":", admit.ReasonBadFormat},
		{"payload not base64", "!!!!:" + b64("sig"), admit.ReasonBadEncoding},
		{"payload not JSON", b64("hello") + ":" + b64("sig"), admit.ReasonBadEncoding},
		{"payload without uuid", b64(`{"id": 1}`) + ":" + b64("sig"), admit.ReasonNoUUID},
		{"signature not base64", b64(`{"uuid": "x"}`) + ":%%%%", admit.ReasonBadEncoding},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pc, reason, detail := admit.ParseCode(tc.code)
			if pc != nil || reason != tc.want {
				t.Errorf("ParseCode = %v, %s (%s), want %s", pc, reason, detail, tc.want)
			}
		})
	}
}

func TestParseCodeAcceptsBothAlphabets(t *testing.T) {
	// A payload whose base64 differs between the alphabets: '?' and '>' produce
	// '/' and '+' in the standard alphabet.
	claims := `{"uuid": "6f1c2b9e-0000-4000-8000-000000000001", "n": "???>>>"}`
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		code := enc.EncodeToString([]byte(claims)) + ":" + base64.URLEncoding.EncodeToString([]byte("sig"))
		pc, reason, detail := admit.ParseCode(code)
		if pc == nil {
			t.Errorf("%v: %s (%s)", enc, reason, detail)
			continue
		}
		if pc.Claims.UUID != "6f1c2b9e-0000-4000-8000-000000000001" {
			t.Errorf("uuid = %q", pc.Claims.UUID)
		}
	}
}

func BenchmarkVerifyEd25519(b *testing.B) {
	ev, ks, code := signedCode(b, admit.SigningEd25519)
	pub, _ := ks.Public(ev.PublicKeyPEM)
	b.ResetTimer()
	for b.Loop() {
		pc, _, _ := admit.ParseCode(code)
		if !admit.Verify(pub, pc.Payload, pc.Signature) {
			b.Fatal("no verify")
		}
	}
}

// A rescan: the signature was verified before (Keys.Verify remembers it).
func BenchmarkVerifyEd25519Again(b *testing.B) {
	ev, ks, code := signedCode(b, admit.SigningEd25519)
	b.ResetTimer()
	for b.Loop() {
		pc, _, _ := admit.ParseCode(code)
		if ok, _ := ks.Verify(ev.PublicKeyPEM, pc.Payload, pc.Signature); !ok {
			b.Fatal("no verify")
		}
	}
}

func BenchmarkVerifyRSAPSS(b *testing.B) {
	ev, ks, code := signedCode(b, admit.SigningRSAPSS)
	pub, _ := ks.Public(ev.PublicKeyPEM)
	b.ResetTimer()
	for b.Loop() {
		pc, _, _ := admit.ParseCode(code)
		if !admit.Verify(pub, pc.Payload, pc.Signature) {
			b.Fatal("no verify")
		}
	}
}

func BenchmarkDecide(b *testing.B) {
	tk := &admit.Ticket{ProductID: 1, SectionID: 10, OrderStatus: admit.OrderPaid}
	l := &admit.CheckinList{ProductIDs: []int64{3, 2, 1}}
	in := admit.DecideInput{Ticket: tk, List: l, Type: admit.ScanEntry}
	for b.Loop() {
		if admit.Decide(in).Reason != admit.ReasonOK {
			b.Fatal("not ok")
		}
	}
}

// Keys.Verify remembers valid signatures only, per key: a tampered code or
// another key is refused even right after the genuine code was verified.
func TestKeysVerifyRemembersOnlyWhatVerified(t *testing.T) {
	ev, ks, code := signedCode(t, admit.SigningEd25519)
	other, _, _ := signedCode(t, admit.SigningEd25519)
	pc, _, _ := admit.ParseCode(code)
	tampered := append([]byte{}, pc.Signature...)
	tampered[0] ^= 1
	for i, c := range []struct {
		name    string
		pem     string
		payload string
		sig     []byte
		want    bool
	}{
		{"genuine", ev.PublicKeyPEM, pc.Payload, pc.Signature, true},
		{"genuine again", ev.PublicKeyPEM, pc.Payload, pc.Signature, true},
		{"tampered signature", ev.PublicKeyPEM, pc.Payload, tampered, false},
		{"tampered payload", ev.PublicKeyPEM, pc.Payload + "x", pc.Signature, false},
		{"another event's key", other.PublicKeyPEM, pc.Payload, pc.Signature, false},
		{"tampered again", ev.PublicKeyPEM, pc.Payload, tampered, false},
	} {
		got, err := ks.Verify(c.pem, c.payload, c.sig)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%d %s: %v, want %v", i, c.name, got, c.want)
		}
	}
	if _, err := ks.Verify("not a key", pc.Payload, pc.Signature); err == nil {
		t.Error("an unusable key gave no error")
	}
}

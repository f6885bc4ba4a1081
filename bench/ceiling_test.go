package bench

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/admitdev/admit"
)

// The ceiling answers the load's TiBillet requests as admit does, in the
// outcomes the load counts: a fresh ticket is admitted once, again it is
// already scanned, a forged code and an unknown ticket are refused, a wrong
// key is refused before anything else.
func TestCeilingAnswersLikeAdmit(t *testing.T) {
	kp, err := admit.GenerateKeyPair(admit.SigningEd25519)
	if err != nil {
		t.Fatal(err)
	}
	ev := &admit.Event{Slug: "e", PublicKeyPEM: kp.PublicKeyPEM, PrivateKeyPEM: kp.PrivateKeyPEM}
	var keys admit.Keys
	known, unknown := admit.NewUUID(), admit.NewUUID()
	code := func(u string) string {
		c, err := keys.SignCode(ev, u)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c, err := newCeilingServer(kp.PublicKeyPEM, []string{known}, []string{"device-key"})
	if err != nil {
		t.Fatal(err)
	}
	n, err := startCeiling(c)
	if err != nil {
		t.Fatal(err)
	}
	defer n.stop()
	d := tibilletDialect{}
	good := code(known)
	forged := good[:len(good)-6] + "AAAAAA"
	cases := []struct {
		name string
		key  string
		code string
		want Outcome
	}{
		{"a fresh ticket is admitted", "device-key", good, OutOK},
		{"the same again is already scanned", "device-key", good, OutAlready},
		{"a forged code is refused", "device-key", forged, OutBadSignature},
		{"a ticket the server does not know is not found", "device-key", code(unknown), OutUnknown},
	}
	for _, tc := range cases {
		body := d.appendBody(nil, tc.code)
		req, _ := http.NewRequest("POST", n.url+"/scan/ticket/", bytes.NewReader(body))
		req.Header.Set("Authorization", "Api-Key "+tc.key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := d.classify(resp.StatusCode, b); got != tc.want {
			t.Errorf("%s: %v (%d %s), want %v", tc.name, got, resp.StatusCode, b, tc.want)
		}
	}
	req, _ := http.NewRequest("POST", n.url+"/scan/ticket/", bytes.NewReader(d.appendBody(nil, code(known))))
	req.Header.Set("Authorization", "Api-Key wrong")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a wrong key: %d, want 403", resp.StatusCode)
	}
}

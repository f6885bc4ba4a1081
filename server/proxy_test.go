package server_test

import (
	"net/netip"
	"testing"

	"github.com/admitdev/admit/admittest"
	"github.com/admitdev/admit/server"
)

// The TickeTing guessing limit counts per client address; behind a trusted
// load balancer that address comes from X-Forwarded-For, and from nowhere
// else.
func TestTrustedProxiesDecideTheClientAddress(t *testing.T) {
	guess := func(env *admittest.Env, xff string) int {
		return env.Do(t, "GET", "/v3/tokens/ZZZZZZZZ", nil, "X-Client-Version", "3.0.0", "X-Forwarded-For", xff).Status
	}
	t.Run("behind a trusted proxy, each forwarded client has its own limit", func(t *testing.T) {
		proxies, err := server.ParseTrustedProxies("127.0.0.1, ::1/128")
		if err != nil {
			t.Fatal(err)
		}
		env := admittest.StartWith(t, func(c *server.Config) { c.TrustedProxies = proxies })
		for i := range 20 {
			if st := guess(env, "198.51.100.7, 203.0.113.5"); st != 404 {
				t.Fatalf("guess %d: %d, want 404", i+1, st)
			}
		}
		if st := guess(env, "203.0.113.5"); st != 429 {
			t.Fatalf("21st guess from one client: %d, want 429", st)
		}
		if st := guess(env, "203.0.113.6"); st != 404 {
			t.Fatalf("another client behind the proxy: %d, want 404", st)
		}
	})
	t.Run("without trusted proxies, X-Forwarded-For is ignored", func(t *testing.T) {
		env := admittest.Start(t)
		for i := range 20 {
			guess(env, netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}).String())
		}
		if st := guess(env, "203.0.113.200"); st != 429 {
			t.Fatalf("a client changing its X-Forwarded-For escaped the limit: %d, want 429", st)
		}
	})
}

func TestParseTrustedProxiesRefusesGarbage(t *testing.T) {
	if _, err := server.ParseTrustedProxies("10.0.0.0/8, not-an-address"); err == nil {
		t.Fatal("garbage accepted")
	}
	p, err := server.ParseTrustedProxies(" 10.0.0.0/8 ,192.0.2.1,")
	if err != nil || len(p) != 2 || p[1].Bits() != 32 {
		t.Fatalf("ParseTrustedProxies = %v, %v", p, err)
	}
}

package api_test

import (
	"testing"
)

// Each device made for a list without sections gets a TickeTing code of
// its own, made for that answer (codes are shown once): the global token's
// the first time, then a token's for every section. Each logs staff in.
func TestDeviceTicketingCodeIsShownOnce(t *testing.T) {
	f := setup(t)
	seen := map[string]bool{}
	for _, name := range []string{"Gate 1", "Gate 2"} {
		created := f.call(t, f.admin, "POST", "/api/v1/devices", map[string]any{"name": name, "event": f.event})
		if created.Status != 201 {
			t.Fatalf("create: %d %s", created.Status, created.Body)
		}
		code, _ := created.json(t)["ticketing_code"].(string)
		if len(code) != 8 || seen[code] {
			t.Fatalf("%s: ticketing_code %q (seen: %v)", name, code, seen)
		}
		seen[code] = true
		if r := f.env.Do(t, "GET", "/v3/tokens/"+code, nil, "X-Client-Version", "3.0.0"); r.Status != 200 {
			t.Fatalf("%s: staff login with %s: %d %s", name, code, r.Status, r.Body)
		}
	}
}

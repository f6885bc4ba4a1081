package admit_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/admittest"
)

// The core caches events and lists per catalog version: a re-import that
// changes a list applies from the very next scan, on a running core.
func TestReimportedListAppliesAtOnce(t *testing.T) {
	env := admittest.Start(t)
	file := `{"organizer": {"slug": "o", "name": "O"}, "event": {"slug": "e", "name": "E"},
	  "products": [{"name": "Day"}, {"name": "VIP"}],
	  "lists": [{"name": "Gate", "products": [%s], "allow_multiple_entries": true}],
	  "orders": [{"code": "A", "tickets": [{"product": "VIP"}]}]}`
	res := env.Import(t, fmt.Sprintf(file, `"Day"`))
	ctx := context.Background()
	scan := func() admit.Reason {
		t.Helper()
		r, err := env.Core.Redeem(ctx, &admit.RedeemRequest{Code: res.Tickets[0].QRCode, OrganizerID: res.Organizer.ID, Source: "test"})
		if err != nil {
			t.Fatal(err)
		}
		return r.Reason
	}
	v1, err := env.Core.Store.CatalogVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := scan(); got != admit.ReasonProduct {
		t.Fatalf("VIP on a Day-only list: %s, want product", got)
	}
	env.Import(t, fmt.Sprintf(file, `"Day", "VIP"`))
	if v2, _ := env.Core.Store.CatalogVersion(ctx); v2 <= v1 {
		t.Fatalf("import did not move the catalog version: %d → %d", v1, v2)
	}
	if got := scan(); got != admit.ReasonOK {
		t.Fatalf("after the list admits VIP: %s, want ok", got)
	}
	env.Import(t, fmt.Sprintf(file, `"Day"`))
	if got := scan(); got != admit.ReasonProduct {
		t.Fatalf("after VIP is taken off the list again: %s, want product", got)
	}
}

// A refusal that read no ticket is checked against the catalog too: after a
// re-import gives the event a new public key, a code signed with it is
// admitted on the very next scan, not refused as forged by a cached key.
func TestReimportedKeyAppliesAtOnce(t *testing.T) {
	env := admittest.Start(t)
	oldKey, err := admit.GenerateKeyPair(admit.SigningEd25519)
	if err != nil {
		t.Fatal(err)
	}
	newKey, err := admit.GenerateKeyPair(admit.SigningEd25519)
	if err != nil {
		t.Fatal(err)
	}
	ticketUUID := admit.NewUUID()
	file := func(pub string) string {
		return fmt.Sprintf(`{"organizer": {"slug": "o", "name": "O"}, "event": {"slug": "e", "name": "E", "public_key_pem": %q},
		  "products": [{"name": "Day"}], "orders": [{"code": "A", "tickets": [{"product": "Day", "uuid": %q}]}]}`, pub, ticketUUID)
	}
	res := env.Import(t, file(oldKey.PublicKeyPEM))
	ev := *res.Event
	ev.PrivateKeyPEM = newKey.PrivateKeyPEM
	code, err := (&admit.Keys{}).SignCode(&ev, ticketUUID)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	scan := func() admit.Reason {
		t.Helper()
		r, err := env.Core.Redeem(ctx, &admit.RedeemRequest{Code: code, OrganizerID: res.Organizer.ID, Source: "test"})
		if err != nil {
			t.Fatal(err)
		}
		return r.Reason
	}
	if got := scan(); got != admit.ReasonBadSignature {
		t.Fatalf("a code of a key the event does not have: %s, want bad signature", got)
	}
	env.Import(t, file(newKey.PublicKeyPEM))
	if got := scan(); got != admit.ReasonOK {
		t.Fatalf("after the event's key is replaced by the code's: %s, want ok", got)
	}
}

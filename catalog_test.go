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

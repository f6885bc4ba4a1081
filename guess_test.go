package admit_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/admittest"
)

// The secret guessing limit holds for its window only, per client address,
// and not at all for callers without one (the CLI).
func TestSecretGuessingLimitWindow(t *testing.T) {
	core := admittest.OpenCore(t, admittest.DSN(t))
	now := time.Date(2030, 1, 1, 10, 0, 5, 0, time.UTC)
	core.Now = func() time.Time { return now }
	f, err := admit.ParseImport(strings.NewReader(`{"organizer": {"slug": "o"}, "event": {"slug": "e"}, "products": [{"name": "P"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := core.Import(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	right, err := core.CreateManagementKey(context.Background(), "o", "m")
	if err != nil {
		t.Fatal(err)
	}
	wrong := "AbCdEfGh." + strings.Repeat("x", 32)
	ctx := admit.WithClient(context.Background(), "192.0.2.7")
	other := admit.WithClient(context.Background(), "192.0.2.8")
	for i := range admit.SecretGuessLimit {
		if _, err := core.Authenticate(ctx, wrong, admit.KeyManagement); admit.ErrorCode(err) != admit.EUnauthorized {
			t.Fatalf("wrong key %d: %v", i+1, err)
		}
	}
	if _, _, err := core.PairDevice(ctx, "nosuchtoken"); admit.ErrorCode(err) != admit.ERateLimited {
		t.Fatalf("a pairing token over the limit: %v", err)
	}
	if _, err := core.Authenticate(ctx, right, admit.KeyManagement); admit.ErrorCode(err) != admit.ERateLimited {
		t.Fatalf("the right key over the limit: %v", err)
	}
	if _, err := core.Authenticate(other, right, admit.KeyManagement); err != nil {
		t.Fatalf("the right key from another address: %v", err)
	}
	if _, err := core.Authenticate(context.Background(), wrong, admit.KeyManagement); admit.ErrorCode(err) != admit.EUnauthorized {
		t.Fatalf("without a client address: %v", err)
	}
	now = now.Add(admit.SecretGuessWindow)
	if _, err := core.Authenticate(ctx, right, admit.KeyManagement); err != nil {
		t.Fatalf("the right key in the next window: %v", err)
	}
	if _, err := core.Authenticate(ctx, wrong, admit.KeyManagement); admit.ErrorCode(err) != admit.EUnauthorized {
		t.Fatalf("a wrong key in the next window: %v", err)
	}
}

package bench

import (
	"context"

	"github.com/admitdev/admit"
)

// ticketingStaffKey logs a TickeTing staff member in with the event's
// global admission token and returns the key the admissions are sent with.
func ticketingStaffKey(ctx context.Context, core *admit.Core, ev *admit.Event) (string, error) {
	t, err := core.EnsureGlobalToken(ctx, ev)
	if err != nil {
		return "", err
	}
	login, err := core.LoginWithCode(ctx, t.Code, "admit-bench")
	if err != nil {
		return "", err
	}
	return login.Key, nil
}

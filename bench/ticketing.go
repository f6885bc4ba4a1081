package bench

import (
	"context"

	"github.com/admitdev/admit"
)

// ticketingStaffKey logs a TickeTing staff member in with a token covering
// every section of the event (the global token, or another if its code was
// shown already: codes are shown once) and returns the key the admissions
// are sent with.
func ticketingStaffKey(ctx context.Context, core *admit.Core, ev *admit.Event) (string, error) {
	t, err := core.TokenToShow(ctx, ev, nil)
	if err != nil {
		return "", err
	}
	login, err := core.LoginWithCode(ctx, t.Code, "admit-bench")
	if err != nil {
		return "", err
	}
	return login.Key, nil
}

package bench

import (
	"context"

	"github.com/admitdev/admit"
)

// ticketingStaffKey logs a TickeTing staff member in with a token covering
// every section of the event (as the global token does) and returns the
// key the admissions are sent with. A new token each time: codes are shown
// once, when made, and the global token's may have been shown already.
func ticketingStaffKey(ctx context.Context, core *admit.Core, ev *admit.Event) (string, error) {
	secs, err := core.Store.Sections(ctx, ev.ID)
	if err != nil {
		return "", err
	}
	var t *admit.AdmissionToken
	if len(secs) == 0 {
		// No sections: only the global token admits.
		if t, err = core.EnsureGlobalToken(ctx, ev); err == nil {
			err = core.ShowTokenCode(ctx, t)
		}
		if err == nil && t.Code == "" {
			err = admit.Errorf(admit.EConflict, "the global admission token's code was shown already: the benchmark needs an event with sections")
		}
	} else {
		ids := make([]int64, len(secs))
		for i, s := range secs {
			ids[i] = s.ID
		}
		t, err = core.IssueToken(ctx, ev, ids)
	}
	if err != nil {
		return "", err
	}
	login, err := core.LoginWithCode(ctx, t.Code, "admit-bench")
	if err != nil {
		return "", err
	}
	return login.Key, nil
}

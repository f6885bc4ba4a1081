// Scan tests of concurrent scans: of one ticket, with nonces, and mixed.

package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/admitdev/admit"
)

// race runs n scans of tickets at once and returns their outcomes.
func race(t *testing.T, st admit.Store, n int, mk func(i int) *admit.ScanAttempt) []*admit.ScanOutcome {
	t.Helper()
	outs := make([]*admit.ScanOutcome, n)
	errs := make([]error, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			a := mk(i)
			start.Wait()
			outs[i], errs[i] = st.Scan(ctx, a)
		}()
	}
	start.Done()
	done.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("scan %d: %v", i, err)
		}
	}
	return outs
}

func testScanConcurrent(t *testing.T, st admit.Store) {
	res, l := setup(t, st)
	tk := res.Tickets[tAlice]
	outs := race(t, st, 50, func(i int) *admit.ScanAttempt {
		return attempt(tk, l, admit.ListPolicy{}, admit.ScanEntry, fmt.Sprintf("n%d", i))
	})
	ok, refused := 0, 0
	for _, o := range outs {
		switch o.Result {
		case admit.ReasonOK:
			ok++
		case admit.ReasonAlreadyRedeemed:
			refused++
		}
		if o.State == nil || o.State.Entries != 1 || o.Replayed {
			t.Errorf("outcome %+v", o)
		}
	}
	if ok != 1 || refused != 49 {
		t.Errorf("%d ok, %d already redeemed: want exactly 1 and 49", ok, refused)
	}
	s, err := st.CheckinState(ctx, tk.ID, l.ID)
	must(t, err)
	if s.Entries != 1 {
		t.Errorf("%d entries recorded", s.Entries)
	}
	_, n, err := st.Scans(ctx, admit.ScanFilter{TicketID: tk.ID, Result: admit.ReasonOK})
	must(t, err)
	_, all, err := st.Scans(ctx, admit.ScanFilter{TicketID: tk.ID})
	must(t, err)
	if n != 1 || all != 50 {
		t.Errorf("log: %d ok of %d, want 1 of 50", n, all)
	}
}

func testScanConcurrentNonce(t *testing.T, st admit.Store) {
	res, l := setup(t, st)
	tk := res.Tickets[tAlice]
	// One scan uploaded 20 times at once: one entry, 19 replays of it.
	outs := race(t, st, 20, func(i int) *admit.ScanAttempt {
		return attempt(tk, l, admit.ListPolicy{}, admit.ScanEntry, "same")
	})
	replays := 0
	for _, o := range outs {
		if o.Result != admit.ReasonOK {
			t.Errorf("outcome %+v", o)
		}
		if o.Replayed {
			replays++
		}
	}
	if replays != 19 {
		t.Errorf("%d replays, want 19", replays)
	}
	_, n, err := st.Scans(ctx, admit.ScanFilter{TicketID: tk.ID, Result: admit.ReasonOK})
	must(t, err)
	if n != 1 {
		t.Errorf("%d successful scans logged, want 1", n)
	}

	// On a multiple-entry list too, where the policy admits every copy.
	bob := res.Tickets[tBob]
	multi := admit.ListPolicy{AllowMultipleEntries: true}
	outs = race(t, st, 20, func(i int) *admit.ScanAttempt {
		return attempt(bob, l, multi, admit.ScanEntry, "upload-1")
	})
	replays = 0
	for _, o := range outs {
		if o.Result != admit.ReasonOK {
			t.Errorf("outcome %+v", o)
		}
		if o.Replayed {
			replays++
		}
	}
	s, err := st.CheckinState(ctx, bob.ID, l.ID)
	must(t, err)
	if replays != 19 || s.Entries != 1 {
		t.Errorf("multiple-entry list: %d replays, %d entries; want 19 and 1", replays, s.Entries)
	}
	// Other nonces are other entries.
	outs = race(t, st, 10, func(i int) *admit.ScanAttempt {
		return attempt(bob, l, multi, admit.ScanEntry, fmt.Sprint("upload-", i+2))
	})
	for _, o := range outs {
		if o.Result != admit.ReasonOK || o.Replayed {
			t.Errorf("outcome %+v", o)
		}
	}
	s, err = st.CheckinState(ctx, bob.ID, l.ID)
	must(t, err)
	if s.Entries != 11 {
		t.Errorf("%d entries, want 11", s.Entries)
	}
}

func testScanConcurrentMixed(t *testing.T, st admit.Store) {
	res, l := setup(t, st)
	tickets := []*admit.Ticket{res.Tickets[tAlice], res.Tickets[tShirt], res.Tickets[tBob], res.Tickets[tCarol]}
	const per = 10
	// Entries and refusals of several tickets interleaved, with a multiple-
	// entry policy for one of them.
	// Every fifth scan of Dan's is a refusal, logged and nothing else.
	dan := res.Tickets[tDan]
	const refusals = 5
	n := per * len(tickets)
	outs := race(t, st, n+refusals, func(i int) *admit.ScanAttempt {
		if i >= n {
			a := attempt(dan, l, admit.ListPolicy{}, admit.ScanEntry, "")
			a.Admit, a.Scan.Result = false, admit.ReasonCanceled
			return a
		}
		tk := tickets[i%len(tickets)]
		p := admit.ListPolicy{AllowMultipleEntries: tk.ID == tickets[3].ID}
		return attempt(tk, l, p, admit.ScanEntry, "")
	})
	ok := map[int64]int{}
	seen := map[int64]bool{}
	for i, o := range outs {
		if o.ScanID == 0 || seen[o.ScanID] {
			t.Errorf("scan %d: scan id %d (zero or given twice)", i, o.ScanID)
		}
		seen[o.ScanID] = true
		if i >= n {
			if o.Result != admit.ReasonCanceled {
				t.Errorf("refusal %d: result %q", i, o.Result)
			}
			continue
		}
		if o.Result == admit.ReasonOK {
			ok[tickets[i%len(tickets)].ID]++
		}
	}
	_, logged, err := st.Scans(ctx, admit.ScanFilter{EventID: res.Event.ID})
	must(t, err)
	if logged != n+refusals {
		t.Errorf("%d scans logged, want %d", logged, n+refusals)
	}
	if s, err := st.CheckinState(ctx, dan.ID, l.ID); admit.ErrorCode(err) != admit.ENotFound {
		t.Errorf("a refused ticket's state: %+v, %v; want none", s, err)
	}
	for i, tk := range tickets {
		want := 1
		if i == 3 {
			want = per
		}
		if ok[tk.ID] != want {
			t.Errorf("ticket %d: %d entries, want %d", i, ok[tk.ID], want)
		}
	}
}

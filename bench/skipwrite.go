package bench

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/admitdev/admit"
)

// SkipWriteStore is the benchmark's floor: a store whose Scan writes
// nothing to the database. Every read (the API key, the device, the event,
// the ticket, the list) goes to the real store underneath, so a scan takes
// the same request path as a real one up to the write; the check-in state is
// kept in memory, so that a rescan is still answered "already scanned" and
// the answers are the same as the durable path's. It exists only to measure
// what the durable write costs; never serve with it.
type SkipWriteStore struct {
	admit.Store
	seq    *atomic.Int64
	shards *[64]skipShard
}

type skipShard struct {
	mu    sync.Mutex
	state map[[2]int64]admit.CheckinState
}

// NewSkipWriteStore wraps s.
func NewSkipWriteStore(s admit.Store) *SkipWriteStore {
	w := &SkipWriteStore{Store: s, seq: new(atomic.Int64), shards: new([64]skipShard)}
	for i := range w.shards {
		w.shards[i].state = map[[2]int64]admit.CheckinState{}
	}
	return w
}

// On returns a SkipWriteStore that reads from base and shares w's
// in-memory state: the floor of several nodes, each with its own store.
func (w *SkipWriteStore) On(base admit.Store) *SkipWriteStore {
	return &SkipWriteStore{Store: base, seq: w.seq, shards: w.shards}
}

// Scan applies the list's policy to the in-memory state and writes nothing.
func (w *SkipWriteStore) Scan(ctx context.Context, a *admit.ScanAttempt) (*admit.ScanOutcome, error) {
	out := &admit.ScanOutcome{Result: a.Scan.Result, Forced: a.Scan.Forced, ScanID: w.seq.Add(1)}
	if !a.Admit || a.Scan.TicketID == 0 || a.Scan.ListID == 0 {
		return out, nil
	}
	key := [2]int64{a.Scan.TicketID, a.Scan.ListID}
	sh := &w.shards[uint64(a.Scan.TicketID)%uint64(len(w.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st, seen := sh.state[key]
	var prev *admit.CheckinState
	if seen {
		prev = &st
	}
	if a.Scan.Type == admit.ScanExit {
		if !st.Inside && !a.LenientExit {
			cp := st
			out.Result, out.State = admit.ReasonNotInside, &cp
			if !seen {
				out.State = nil
			}
			return out, nil
		}
		st.TicketID, st.ListID, st.Inside, st.LastAt = key[0], key[1], false, a.Scan.ServerTime
		st.Exits++
		sh.state[key] = st
		out.Result, out.State = admit.ReasonOK, &st
		return out, nil
	}
	if !a.Policy.Admits(prev) {
		if !a.Force {
			cp := st
			out.Result, out.State = admit.ReasonAlreadyRedeemed, &cp
			return out, nil
		}
		out.Forced = true
	}
	if st.Entries == 0 {
		st.FirstAt, st.FirstDeviceName = a.Scan.ServerTime, a.Scan.DeviceName
	}
	st.TicketID, st.ListID = key[0], key[1]
	st.Entries++
	st.Inside, st.LastAt = true, a.Scan.ServerTime
	sh.state[key] = st
	cp := st
	out.Result, out.State = admit.ReasonOK, &cp
	return out, nil
}

// Admitted counts the tickets admitted in memory.
func (w *SkipWriteStore) Admitted() int {
	n := 0
	for i := range w.shards {
		w.shards[i].mu.Lock()
		n += len(w.shards[i].state)
		w.shards[i].mu.Unlock()
	}
	return n
}

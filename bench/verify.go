package bench

import (
	"context"
	"fmt"
	"sync"

	"github.com/admitdev/admit"
)

// Verification is what the database says about the answers of a phase.
type Verification struct {
	OK bool `json:"ok"`
	// Admitted answers, and the admissions the scan log records for the
	// phase's tickets.
	AdmittedAnswers int `json:"admitted_answers"`
	RecordedInLog   int `json:"recorded_in_log"`
	// Failures: each must be 0.
	AdmittedTwice        int `json:"admitted_twice"`          // a ticket with two admitted answers, or two successful log rows
	LostAdmissions       int `json:"lost_admissions"`         // admitted answer, but no single successful log row or no entry in the check-in state
	RecordedUnanswered   int `json:"recorded_without_answer"` // a successful log row without an admitted answer, where every scan of the ticket was answered
	DuplicatesAdmitted   int `json:"duplicates_admitted"`     // a rescan answered as admitted
	ForgedAdmitted       int `json:"forged_admitted"`         // a forged code answered as admitted, or its ticket admitted
	StateEntriesMismatch int `json:"state_entries_mismatch"`  // check-in state entries other than 1 for an admitted ticket
	// Allowed: a scan that got no answer (an error) may or may not have
	// been admitted.
	UnansweredThenAdmitted int      `json:"unanswered_then_admitted"`
	Problems               []string `json:"problems,omitempty"`
	Checked                string   `json:"checked"`
}

func (v *Verification) problem(format string, args ...any) {
	if len(v.Problems) < 10 {
		v.Problems = append(v.Problems, fmt.Sprintf(format, args...))
	}
}

func (v *Verification) settle() {
	v.OK = v.AdmittedTwice == 0 && v.LostAdmissions == 0 && v.RecordedUnanswered == 0 &&
		v.DuplicatesAdmitted == 0 && v.ForgedAdmitted == 0 && v.StateEntriesMismatch == 0
}

// verifyAnswers checks what the answers alone can tell.
func verifyAnswers(a *answers) *Verification {
	v := &Verification{Checked: "answers only: the phase writes nothing"}
	answersCheck(v, a)
	v.settle()
	return v
}

func answersCheck(v *Verification, a *answers) {
	for i := range a.okPerTicket {
		switch n := a.okPerTicket[i].Load(); {
		case n > 1:
			v.AdmittedTwice++
			v.problem("ticket #%d answered as admitted %d times", i, n)
			fallthrough
		case n == 1:
			v.AdmittedAnswers += int(n)
		}
	}
	v.DuplicatesAdmitted = a.counts[Duplicate][OutOK]
	v.ForgedAdmitted = a.counts[Forged][OutOK]
	if v.DuplicatesAdmitted > 0 {
		v.problem("%d rescans were answered as admitted", v.DuplicatesAdmitted)
	}
	if v.ForgedAdmitted > 0 {
		v.problem("%d forged codes were answered as admitted", v.ForgedAdmitted)
	}
}

// verify checks the answers against the database: the scan log's
// successful rows for the event and list, and the check-in state of every
// admitted ticket and of every forged code's ticket.
func verify(ctx context.Context, st admit.Store, ev *admit.Event, list *admit.CheckinList, tickets, forgedPool []ticketRef, a *answers) (*Verification, error) {
	v := &Verification{Checked: "scan log (successful rows of the event's list) and check-in state, from the database"}
	answersCheck(v, a)

	logOK := map[int64]int{}
	const page = 10_000
	for off := 0; ; off += page {
		rows, _, err := st.Scans(ctx, admit.ScanFilter{EventID: ev.ID, ListID: list.ID, Result: admit.ReasonOK, Type: admit.ScanEntry, Limit: page, Offset: off})
		if err != nil {
			return nil, fmt.Errorf("verify: read the scan log: %w", err)
		}
		for _, r := range rows {
			logOK[r.TicketID]++
		}
		if len(rows) < page {
			break
		}
	}
	var admitted []int64
	for i, t := range tickets {
		ok, rec, un := int(a.okPerTicket[i].Load()), logOK[t.ID], a.unanswered[i].Load()
		v.RecordedInLog += rec
		switch {
		case rec > 1:
			v.AdmittedTwice++
			v.problem("ticket %s has %d successful scan log rows", t.UUID, rec)
		case ok >= 1 && rec == 0:
			v.LostAdmissions++
			v.problem("ticket %s was answered as admitted but the scan log has no successful row", t.UUID)
		case ok == 0 && rec == 1 && un:
			v.UnansweredThenAdmitted++
		case ok == 0 && rec == 1:
			v.RecordedUnanswered++
			v.problem("ticket %s is admitted in the scan log but no answer said so", t.UUID)
		}
		if ok >= 1 {
			admitted = append(admitted, t.ID)
		}
	}
	for _, t := range forgedPool {
		if logOK[t.ID] > 0 {
			v.ForgedAdmitted++
			v.problem("ticket %s, only ever scanned with forged codes, is admitted in the scan log", t.UUID)
		}
		admitted = append(admitted, -t.ID) // negative: must have no entry
	}

	// Check-in state, a few readers at a time.
	var mu sync.Mutex
	var firstErr error
	work := make(chan int64)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				want := 1
				if id < 0 {
					id, want = -id, 0
				}
				s, err := st.CheckinState(ctx, id, list.ID)
				entries := 0
				if err == nil && s != nil {
					entries = s.Entries
				} else if err != nil && !admit.IsNotFound(err) {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					continue
				}
				if entries != want {
					mu.Lock()
					if want == 0 {
						v.ForgedAdmitted++
						v.problem("ticket %d, only ever scanned with forged codes, has %d entries", id, entries)
					} else {
						v.StateEntriesMismatch++
						v.problem("admitted ticket %d has %d entries in its check-in state, want 1", id, entries)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, id := range admitted {
		if ctx.Err() != nil {
			break
		}
		work <- id
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return nil, fmt.Errorf("verify: read check-in state: %w", firstErr)
	}
	v.settle()
	return v, nil
}

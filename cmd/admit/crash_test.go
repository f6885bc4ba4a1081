package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/admittest"
	"github.com/admitdev/admit/bench"
	"github.com/admitdev/admit/sqlstore"
)

// crashAnswer is what one scan of the crash test was answered.
type crashAnswer int

const (
	crashAdmitted crashAnswer = iota
	crashAlready
	crashNoAnswer // the server died first: the scan may or may not have been admitted
	crashOther
)

// crashScan sends one TiBillet scan and classifies its answer.
func crashScan(client *http.Client, url, key, qr string) (crashAnswer, string) {
	body, _ := json.Marshal(map[string]string{"qrcode_data": qr})
	req, _ := http.NewRequest("POST", url+"/scan/ticket/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Api-Key "+key)
	resp, err := client.Do(req)
	if err != nil {
		return crashNoAnswer, err.Error()
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return crashNoAnswer, err.Error()
	}
	var a struct {
		Success bool
		Message string
	}
	if json.Unmarshal(raw, &a) != nil {
		return crashOther, fmt.Sprintf("%d %s", resp.StatusCode, raw)
	}
	switch {
	case resp.StatusCode == 200 && a.Success && a.Message == "Ticket successfully scanned":
		return crashAdmitted, ""
	case resp.StatusCode == 200 && !a.Success && a.Message == "Ticket already scanned":
		return crashAlready, ""
	}
	return crashOther, fmt.Sprintf("%d %s", resp.StatusCode, raw)
}

// Durability: kill -9 the server in the middle of the load, several times,
// start it again on the same database each time, and check that every scan
// answered "Ticket successfully scanned" is still recorded as admitted (none
// lost) and that no ticket was admitted twice.
func TestCrashKeepsEveryAnsweredAdmission(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: not in -short")
	}
	db := filepath.Join(t.TempDir(), "admit.db")
	if os.Getenv("ADMIT_TEST_STORE") == "postgres" {
		db = admittest.PostgresDSN(t)
	}
	const nTickets = 3000
	var file bytes.Buffer
	if err := bench.WriteImportJSON(&file, nTickets, "crash"); err != nil {
		t.Fatal(err)
	}
	var imp importOut
	admitJSON(t, &imp, file.String(), "import", "-", "--tickets", "--db", db)
	if len(imp.Tickets) != nTickets {
		t.Fatalf("imported %d tickets, want %d", len(imp.Tickets), nTickets)
	}
	s := serve(t, db)
	keys := make([]string, 4)
	for i := range keys {
		var dev deviceOut
		admitJSON(t, &dev, "", "device", "create", "--db", db, "--organizer", bench.Organizer, "--name", fmt.Sprintf("Gate %d", i+1))
		keys[i] = pair(t, s, dev)
	}

	var (
		mu        sync.Mutex
		admitted  = map[int]int{}  // ticket index → "successfully scanned" answers
		noAnswer  = map[int]bool{} // ticket index → a scan of it got no answer
		ackedList []int            // admitted ticket indexes, in answer order
		problems  []string
	)
	record := func(idx int, a crashAnswer, detail string, rescan bool) {
		mu.Lock()
		defer mu.Unlock()
		switch a {
		case crashAdmitted:
			admitted[idx]++
			if admitted[idx] > 1 || rescan {
				problems = append(problems, fmt.Sprintf("ticket #%d answered as admitted again (rescan %v)", idx, rescan))
			}
			ackedList = append(ackedList, idx)
		case crashNoAnswer:
			noAnswer[idx] = true
		case crashOther:
			if len(problems) < 20 {
				problems = append(problems, fmt.Sprintf("ticket #%d: unexpected answer %s", idx, detail))
			}
		}
	}

	var next atomic.Int64 // next fresh ticket
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	defer client.CloseIdleConnections()
	const cycles = 3
	deadline := time.Now().Add(60 * time.Second)
	for cycle := range cycles {
		var wg sync.WaitGroup
		var cycleAcks atomic.Int64
		for w := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(cycle), uint64(w)))
				key := keys[w%len(keys)]
				for time.Now().Before(deadline) {
					// One scan in ten rescans a ticket already admitted.
					mu.Lock()
					n := len(ackedList)
					dup := -1
					if n > 0 && rng.IntN(10) == 0 {
						dup = ackedList[rng.IntN(n)]
					}
					mu.Unlock()
					idx := dup
					if idx < 0 {
						if idx = int(next.Add(1) - 1); idx >= nTickets {
							return
						}
					}
					a, detail := crashScan(client, s.URL, key, imp.Tickets[idx].QRCodeData)
					if dup >= 0 && a == crashNoAnswer {
						return // the rescan's outcome does not matter; the server is gone
					}
					record(idx, a, detail, dup >= 0)
					if a == crashAdmitted && dup < 0 {
						cycleAcks.Add(1)
					}
					if a == crashNoAnswer {
						return // the server is gone
					}
				}
			}()
		}
		// Kill in the middle of the load: once this cycle has some
		// admissions, at a moment of the load chosen at random.
		for cycleAcks.Load() < 100 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(time.Duration(50+rand.IntN(250)) * time.Millisecond)
		if err := s.cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		s.cmd.Wait()
		wg.Wait()
		client.CloseIdleConnections()
		mu.Lock()
		t.Logf("cycle %d: killed after %d admissions answered in this cycle; %d unanswered scans so far", cycle, cycleAcks.Load(), len(noAnswer))
		mu.Unlock()
		s = serve(t, db)
	}
	if len(problems) > 0 {
		t.Fatalf("during the load:\n%s", strings.Join(problems, "\n"))
	}
	if len(admitted) == 0 {
		t.Fatal("no scan was admitted")
	}

	// After the last restart: every answered admission is there, once.
	// Ask the server first: a rescan of each admitted ticket is refused.
	for idx := range admitted {
		if a, detail := crashScan(client, s.URL, keys[0], imp.Tickets[idx].QRCodeData); a != crashAlready {
			t.Errorf("ticket #%d was answered as admitted before a crash, but a rescan after it answers %v %s", idx, a, detail)
		}
	}
	// TiBillet's check_ticket of a few of them says it is scanned.
	n := 0
	for idx := range admitted {
		if n++; n > 10 {
			break
		}
		st, body := call(t, "POST", s.URL+"/scan/check_ticket/", keys[0], map[string]string{"qrcode_data": imp.Tickets[idx].QRCodeData})
		tk, _ := body["ticket"].(map[string]any)
		if st != 200 || tk == nil || tk["status"] != "Valid and scanned" || tk["is_scanned"] != true {
			t.Errorf("check_ticket of admitted ticket #%d: %d %v", idx, st, body)
		}
	}

	// Then the database itself: the check-in state and the scan log.
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	list, err := store.DefaultList(ctx, imp.Event.ID)
	if err != nil {
		t.Fatal(err)
	}
	index := map[string]int{}
	for i, tk := range imp.Tickets {
		index[tk.UUID] = i
	}
	ts, _, err := store.FindTickets(ctx, admit.TicketFilter{EventID: imp.Event.ID, StateListID: list.ID})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]int{}
	for _, tk := range ts {
		idx := index[tk.UUID]
		byID[tk.ID] = idx
		entries := 0
		if tk.State != nil {
			entries = tk.State.Entries
		}
		switch {
		case admitted[idx] > 0 && entries != 1:
			t.Errorf("ticket #%d was answered as admitted; its check-in state has %d entries after the crashes", idx, entries)
		case admitted[idx] == 0 && entries > 0 && !noAnswer[idx]:
			t.Errorf("ticket #%d has %d entries but no scan of it was answered as admitted", idx, entries)
		case entries > 1:
			t.Errorf("ticket #%d has %d entries", idx, entries)
		}
	}
	logOK := map[int]int{}
	rows, _, err := store.Scans(ctx, admit.ScanFilter{EventID: imp.Event.ID, ListID: list.ID, Result: admit.ReasonOK})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		logOK[byID[r.TicketID]]++
	}
	lostNone := 0
	for idx := range admitted {
		if logOK[idx] == 1 {
			lostNone++
		}
	}
	for idx, c := range logOK {
		if c > 1 {
			t.Errorf("ticket #%d has %d successful scan log rows", idx, c)
		}
	}
	if lostNone != len(admitted) {
		t.Errorf("%d of %d answered admissions have exactly one successful scan log row after the crashes", lostNone, len(admitted))
	}
	t.Logf("%d admissions answered across %d kill -9s: all recorded once; %d scans got no answer", len(admitted), cycles, len(noAnswer))
}

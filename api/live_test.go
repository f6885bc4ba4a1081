package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/admitdev/admit/admittest"
	"github.com/admitdev/admit/server"
)

type sse struct {
	event string
	data  map[string]any
}

// stream opens an event's live stream and returns its events as they come.
func stream(t *testing.T, base, event, key string) <-chan sse {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/events/"+event+"/live", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("live: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := make(chan sse, 100)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		var cur sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				cur.event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &cur.data); err != nil {
					t.Errorf("data is not one line of JSON: %q", line)
				}
			case line == "" && cur.event != "":
				out <- cur
				cur = sse{}
			}
		}
	}()
	return out
}

func next(t *testing.T, events <-chan sse, want string, within time.Duration) sse {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatalf("the stream ended before a %s event", want)
			}
			if e.event == want {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s event within %v", want, within)
		}
	}
}

func insideOf(occ map[string]any, list string) float64 {
	for _, a := range occ["lists"].([]any) {
		if a.(map[string]any)["name"] == list {
			return a.(map[string]any)["inside"].(float64)
		}
	}
	return -1
}

// The live stream starts with the occupancy, then sends each scan and the
// occupancy after it.
func TestTheLiveStreamSendsScansAndOccupancy(t *testing.T) {
	f := setup(t)
	events := stream(t, f.env.URL, f.event, f.admin)
	if occ := next(t, events, "occupancy", 2*time.Second); insideOf(occ.data, "Main") != 0 {
		t.Fatalf("first occupancy: %v", occ.data)
	}
	f.call(t, f.admin, "POST", "/api/v1/events/"+f.event+"/scans", scanBody(f.qr(tAnn)))
	sc := next(t, events, "scan", time.Second)
	if sc.data["attendee_name"] != "Ann Archer" || sc.data["result"] != "ok" || sc.data["list"] != "Main" || sc.data["source"] != "api" {
		t.Fatalf("scan event: %v", sc.data)
	}
	if occ := next(t, events, "occupancy", time.Second); insideOf(occ.data, "Main") != 1 {
		t.Fatalf("occupancy after the scan: %v", occ.data)
	}
	f.call(t, f.admin, "POST", "/api/v1/events/"+f.event+"/scans", scanBody(f.qr(tBob)))
	if sc := next(t, events, "scan", time.Second); sc.data["reason"] != "canceled" || sc.data["attendee_name"] != "Bob Baker" {
		t.Fatalf("refusal event: %v", sc.data)
	}
}

// A scan on one node reaches the live stream of another within a second
// (PostgreSQL LISTEN/NOTIFY).
func TestTheLiveStreamSeesAnotherNodesScans(t *testing.T) {
	if os.Getenv("ADMIT_TEST_STORE") != "postgres" {
		t.Skip("several nodes share a PostgreSQL database: runs in the PostgreSQL pass")
	}
	f := setup(t)
	coreB := admittest.OpenCore(t, f.env.DSN)
	nodeB := httptest.NewServer(server.New(coreB, server.Config{Logger: coreB.Log}))
	t.Cleanup(nodeB.Close)
	events := stream(t, nodeB.URL, f.event, f.admin)
	next(t, events, "occupancy", 2*time.Second)
	// Until B's listener is ready, a scan may pass it by: probe first.
	probe := []int{tBob, tCid, tEve}
	ready := false
	for i := 0; i < 30 && !ready; i++ {
		f.call(t, f.admin, "POST", "/api/v1/events/"+f.event+"/scans", scanBody(f.qr(probe[i%3])))
		select {
		case e := <-events:
			ready = e.event == "scan" || e.event == "occupancy"
		case <-time.After(300 * time.Millisecond):
		}
	}
	if !ready {
		t.Fatal("node B never heard node A")
	}
	for len(events) > 0 {
		<-events
	}
	f.call(t, f.admin, "POST", "/api/v1/events/"+f.event+"/scans", scanBody(f.qr(tAnn)))
	for {
		sc := next(t, events, "scan", time.Second)
		if sc.data["attendee_name"] == "Ann Archer" {
			break
		}
	}
}

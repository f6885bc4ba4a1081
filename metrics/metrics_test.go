package metrics_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/admittest"
	"github.com/admitdev/admit/live"
	"github.com/admitdev/admit/metrics"
	"github.com/admitdev/admit/server"
	"github.com/admitdev/admit/sqlstore"
)

const eventJSON = `{
 "organizer": {"slug": "acme", "name": "Acme"},
 "event": {"slug": "fest", "name": "Fest", "date_from": "2026-12-27T17:00:00Z", "date_to": "2026-12-30T18:00:00Z"},
 "products": [{"name": "Ticket"}],
 "orders": [
  {"code": "A1", "status": "paid", "tickets": [{"product": "Ticket", "first_name": "Ann"}, {"product": "Ticket", "first_name": "Bob"}]},
  {"code": "B2", "status": "paid", "tickets": [{"product": "Ticket", "first_name": "Cid"}, {"product": "Ticket", "first_name": "Dee"}]}
 ]}`

const fileTickets = 4

// node is a server wired as admit serve wires it.
type node struct {
	URL   string
	core  *admit.Core
	store *sqlstore.Store
}

func start(t *testing.T) *node {
	t.Helper()
	ctx := context.Background()
	log := admittest.Logger(t)
	store, err := sqlstore.Open(ctx, admittest.DSN(t), log)
	if err != nil {
		t.Fatal(err)
	}
	hub := live.NewHub(0, log)
	t.Cleanup(func() {
		store.Close()
		hub.Close()
	})
	core := admit.NewCore(store, log)
	core.TicketCacheBytes = admittest.TicketCacheBytes // as admit serve's
	t.Cleanup(core.WaitTicketCache)
	if core.Live, err = store.Live(ctx, hub); err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	m.WatchCore(core)
	m.WatchStore(store)
	m.WatchHub(hub)
	srv := httptest.NewServer(server.New(core, server.Config{Logger: log, Metrics: m, ServeMetrics: true,
		Store: store.Engine(), Ready: store.Ready}))
	// Live streams end before the server waits for its requests.
	t.Cleanup(srv.Close)
	t.Cleanup(hub.Close)
	return &node{URL: srv.URL, core: core, store: store}
}

// scrape reads /metrics with the Prometheus text parser.
func (n *node) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(n.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("the scrape does not parse: %v", err)
	}
	return fams
}

// value returns the value of the family's series with exactly these
// labels (name, value, ...); a histogram's sample count; -1 if there is no
// such series.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.Metric {
		if len(m.Label) != len(labels)/2 {
			continue
		}
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.Label {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

func sum(fams map[string]*dto.MetricFamily, name string) float64 {
	f := fams[name]
	if f == nil || len(f.Metric) != 1 || f.Metric[0].Histogram == nil {
		return -1
	}
	return f.Metric[0].Histogram.GetSampleSum()
}

type importedTicket struct {
	UUID   string `json:"uuid"`
	QRCode string `json:"qrcode_data"`
}

func post(t *testing.T, url, key, auth string, body any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", auth+" "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, raw)
	}
	m["status"] = resp.StatusCode
	return m
}

// A known load, then one scrape: every counter says what was done.
func TestScrapeMatchesAKnownLoad(t *testing.T) {
	n := start(t)
	ctx := context.Background()

	// An import through the core, then the same file over HTTP.
	rep, err := n.core.ImportJSON(ctx, strings.NewReader(eventJSON), admit.ImportRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := rep.WriteJSON(ctx, &buf, true); err != nil {
		t.Fatal(err)
	}
	rep.Close()
	var out struct {
		Event   struct{ UUID string }
		Tickets []importedTicket
	}
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil || len(out.Tickets) != fileTickets {
		t.Fatalf("import: %v %s", err, buf.Bytes())
	}
	admin, err := n.core.CreateOrganizerKey(ctx, "acme", "box office", admit.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", n.URL+"/api/v1/imports", strings.NewReader(eventJSON))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("import over HTTP: %v %v", resp, err)
	}
	resp.Body.Close()

	// Two live streams open.
	var streams []*http.Response
	for range 2 {
		req, _ := http.NewRequest("GET", n.URL+"/api/v1/events/"+out.Event.UUID+"/live", nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("live: %v %v", resp, err)
		}
		bufio.NewReader(resp.Body).ReadString('\n') // the stream has begun
		streams = append(streams, resp)
	}

	// Scans through admit's API and through TiBillet's door.
	scans := n.URL + "/api/v1/events/" + out.Event.UUID + "/scans"
	api := func(code, typ string) {
		t.Helper()
		if a := post(t, scans, admin, "Bearer", map[string]any{"code": code, "type": typ}); a["status"] != 200 {
			t.Fatalf("scan: %v", a)
		}
	}
	api(out.Tickets[0].QRCode, "entry")       // ok
	api(out.Tickets[0].QRCode, "entry")       // already_redeemed
	api(out.Tickets[1].QRCode, "exit")        // not_inside
	api(out.Tickets[1].QRCode, "entry")       // ok
	api("not-a-ticket-of-this-fest", "entry") // unknown_ticket
	_, token, err := n.core.CreateDevice(ctx, admit.DeviceSpec{Organizer: "acme", Name: "gate", Event: "fest"})
	if err != nil {
		t.Fatal(err)
	}
	_, devKey, err := n.core.PairDevice(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // ok, then already_redeemed
		if a := post(t, n.URL+"/scan/ticket/", devKey, "Api-Key", map[string]any{"qrcode_data": out.Tickets[2].QRCode}); a["status"] != 200 && a["status"] != 409 {
			t.Fatalf("tibillet scan: %v", a)
		}
	}

	m := n.scrape(t)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"admit_scans_total", []string{"dialect", "api", "type", "entry", "result", "ok"}, 2},
		{"admit_scans_total", []string{"dialect", "api", "type", "entry", "result", "already_redeemed"}, 1},
		{"admit_scans_total", []string{"dialect", "api", "type", "exit", "result", "not_inside"}, 1},
		{"admit_scans_total", []string{"dialect", "api", "type", "entry", "result", "unknown_ticket"}, 1},
		{"admit_scans_total", []string{"dialect", "tibillet", "type", "entry", "result", "ok"}, 1},
		{"admit_scans_total", []string{"dialect", "tibillet", "type", "entry", "result", "already_redeemed"}, 1},
		{"admit_scan_duration_seconds", []string{"dialect", "api"}, 5},
		{"admit_scan_duration_seconds", []string{"dialect", "tibillet"}, 2},
		{"admit_imports_running", nil, 0},
		{"admit_import_tickets_total", nil, 2 * fileTickets},
		{"admit_live_streams", nil, 2},
		{"admit_http_requests_total", []string{"method", "POST", "route", "POST /api/v1/events/{event}/scans", "code", "200"}, 5},
		{"admit_http_requests_total", []string{"method", "POST", "route", "POST /api/v1/imports", "code", "200"}, 1},
		{"admit_store_info", []string{"engine", n.store.Engine(), "schema", strconv.FormatInt(n.store.SchemaVersion(), 10)}, 1},
	} {
		if got := value(m, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if fam := m["admit_scans_total"]; fam == nil || len(fam.Metric) != 6 {
		t.Errorf("admit_scans_total has series beyond the load's: %v", fam)
	}
	if h, ms := value(m, "admit_catalog_cache_hits_total"), value(m, "admit_catalog_cache_misses_total"); h < 1 || ms < 1 {
		t.Errorf("catalog cache: %v hits, %v misses; want some of each after 7 scans of one event", h, ms)
	}
	// The first scan of the event found it not in memory yet.
	if ms := value(m, "admit_ticket_cache_misses_total"); ms < 1 {
		t.Errorf("ticket cache: %v misses after the first scans of an event", ms)
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "admit_build_info",
		"admit_ticket_cache_hits_total", "admit_ticket_cache_tickets", "admit_ticket_cache_bytes"} {
		if m[name] == nil {
			t.Errorf("no %s", name)
		}
	}
	if n.store.Engine() == "sqlite" {
		// Each of the 7 scans is one write of a group commit, answered
		// after its fsync; other small writes (none here) would add.
		if got := sum(m, "admit_sqlite_group_commit_writes"); got < 7 {
			t.Errorf("group commits took %v writes, want at least the 7 scans", got)
		}
		if got := value(m, "admit_sqlite_wal_fsync_seconds"); got < 1 {
			t.Errorf("%v WAL fsyncs", got)
		}
	} else {
		if got := value(m, "admit_pg_pool_max_connections"); got < 1 {
			t.Errorf("pool max connections: %v", got)
		}
		if got := value(m, "admit_pg_pool_acquires_total"); got < 7 {
			t.Errorf("pool acquisitions: %v, want at least one per scan", got)
		}
		if value(m, "admit_pg_pool_connections", "state", "idle") < 0 {
			t.Error("no idle pool connections series")
		}
	}

	// The streams close: the gauge follows.
	for _, s := range streams {
		s.Body.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for value(n.scrape(t), "admit_live_streams") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("admit_live_streams stays above 0 after the streams closed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

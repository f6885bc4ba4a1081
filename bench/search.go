package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/admitdev/admit"
)

// SearchReport times searches, one at a time, after the load.
type SearchReport struct {
	Endpoint  string             `json:"endpoint"`
	Requests  int                `json:"requests"`
	Errors    int                `json:"errors"`
	LatencyMS Latency            `json:"latency_ms"`
	ByKind    map[string]Latency `json:"latency_ms_by_kind"`
	// Results is the mean number of results per search.
	Results float64 `json:"mean_results"`
}

type searchQuery struct{ kind, q string }

// searchQueries returns n queries of the kinds a door's search gets: a
// last name, a first and last name, an email, the start of a ticket uuid,
// and (pretixdroid) the start of an order code or a secret.
func searchQueries(dialect string, tickets []ticketRef, n int) []searchQuery {
	rng := rand.New(rand.NewPCG(7, 11))
	qs := make([]searchQuery, 0, n)
	for len(qs) < n {
		i := rng.IntN(len(tickets))
		first, last, email := holder(i)
		var q searchQuery
		switch rng.IntN(4) {
		case 0:
			q = searchQuery{"last_name", last}
		case 1:
			q = searchQuery{"full_name", first + " " + last}
		case 2:
			q = searchQuery{"email", email}
		case 3:
			if dialect == "pretixdroid" {
				q = searchQuery{"secret_prefix", tickets[i].Code[:min(8, len(tickets[i].Code))]}
			} else {
				q = searchQuery{"uuid_prefix", tickets[i].UUID[:8]}
			}
		}
		qs = append(qs, q)
	}
	return qs
}

func runSearches(ctx context.Context, cfg *Config, ev *admit.Event, tickets []ticketRef, base, cred string) (*SearchReport, error) {
	rep := &SearchReport{ByKind: map[string]Latency{}}
	var build func(q string) (*http.Request, error)
	switch cfg.Dialect {
	case "tibillet":
		rep.Endpoint = "POST /scan/search_ticket/"
		build = func(q string) (*http.Request, error) {
			b, _ := json.Marshal(map[string]string{"search": q, "event_uuid": ev.UUID})
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/scan/search_ticket/", bytes.NewReader(b))
			if err == nil {
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Api-Key "+cred)
			}
			return req, err
		}
	case "pretixdroid":
		rep.Endpoint = "GET /pretixdroid/api/ORG/EVENT/search/"
		path := "/pretixdroid/api/" + Organizer + "/" + ev.Slug + "/search/"
		build = func(q string) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, http.MethodGet, base+path+"?key="+url.QueryEscape(cred)+"&query="+url.QueryEscape(q), nil)
		}
	default:
		return nil, admit.Errorf(admit.EInvalid, "--search times the tibillet or pretixdroid search")
	}
	client := newClient(1)
	byKind := map[string][]time.Duration{}
	var all []time.Duration
	results := 0
	deadline := time.Now().Add(5 * time.Minute)
	for _, q := range searchQueries(cfg.Dialect, tickets, cfg.Searches) {
		if ctx.Err() != nil || time.Now().After(deadline) {
			break
		}
		req, err := build(q.q)
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			rep.Errors++
			continue
		}
		var body struct {
			Results []json.RawMessage `json:"results"`
		}
		derr := json.NewDecoder(resp.Body).Decode(&body)
		drain(resp.Body)
		d := time.Since(t0)
		rep.Requests++
		if resp.StatusCode != 200 || derr != nil {
			rep.Errors++
			if rep.Errors == 1 && cfg.Progress != nil {
				fmt.Fprintf(cfg.Progress, "bench: search %q: HTTP %d %v\n", q.q, resp.StatusCode, derr)
			}
			continue
		}
		results += len(body.Results)
		all = append(all, d)
		byKind[q.kind] = append(byKind[q.kind], d)
	}
	rep.LatencyMS = latencyOf(all)
	for k, d := range byKind {
		rep.ByKind[k] = latencyOf(d)
	}
	if len(all) > 0 {
		rep.Results = round(float64(results)/float64(len(all)), 1)
	}
	return rep, nil
}

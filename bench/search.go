package bench

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
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
	// Slowest are the slowest searches, slowest first: whether a tail is
	// a few queries or the machine.
	Slowest []SlowSearch `json:"slowest"`
}

// SlowSearch is one search and how long it took.
type SlowSearch struct {
	Kind  string  `json:"kind"`
	Query string  `json:"query"`
	MS    float64 `json:"ms"`
}

// slowestSearches is the number of searches a report lists as its slowest.
const slowestSearches = 10

type searchQuery struct{ kind, q string }

// The kinds of search the doors get (issue 17): what a person at the door
// types.
const (
	kindLastName    = "last_name"    // a holder's last name
	kindFullName    = "full_name"    // first and last name
	kindEmail       = "email"        // a whole email
	kindEmailPrefix = "email_prefix" // the start of an email, dots included ("nora.xu.12")
	kindEmailMiss   = "email_miss"   // a last name, a dot, three letters: an email start nobody has ("xu.rar")
	kindUUIDPrefix  = "uuid_prefix"  // the start of a ticket uuid (tibillet), 4 to 8 characters
	kindSecret      = "secret_prefix"
	kindOrderCode   = "order_code_prefix"
	kindChar1       = "char_1" // one letter or digit
	kindChar2       = "char_2" // two letters
)

// searchQueries returns n queries, an equal share of each kind the dialect
// searches: names, emails, email starts (present or not), the start of a
// ticket uuid (tibillet) or of a secret or order code (pretixdroid), and
// (tibillet; pretixdroid answers nothing under 4 characters) queries of
// one and two characters.
func searchQueries(dialect string, tickets []ticketRef, n int) []searchQuery {
	rng := rand.New(rand.NewPCG(7, 11))
	kinds := []string{kindLastName, kindFullName, kindEmail, kindEmailPrefix, kindEmailMiss}
	if dialect == "pretixdroid" {
		kinds = append(kinds, kindSecret, kindOrderCode)
	} else {
		kinds = append(kinds, kindUUIDPrefix, kindChar1, kindChar2)
	}
	const letters = "abcdefghijklmnopqrstuvwxyz"
	const alnum = letters + "0123456789"
	qs := make([]searchQuery, 0, n)
	for len(qs) < n {
		i := rng.IntN(len(tickets))
		first, last, email := holder(i)
		local := email[:strings.IndexByte(email, '@')]
		var q string
		kind := kinds[len(qs)%len(kinds)]
		switch kind {
		case kindLastName:
			q = last
		case kindFullName:
			q = first + " " + last
		case kindEmail:
			q = email
		case kindEmailPrefix:
			q = local[:4+rng.IntN(len(local)-3)]
		case kindEmailMiss:
			b := []byte(strings.ToLower(asciiFold(last)) + ".")
			for range 3 {
				b = append(b, letters[rng.IntN(len(letters))])
			}
			q = string(b)
		case kindUUIDPrefix:
			q = tickets[i].UUID[:4+rng.IntN(5)]
		case kindSecret:
			q = tickets[i].Code[:min(4+rng.IntN(5), len(tickets[i].Code))]
		case kindOrderCode:
			q = OrderCode(i * 2 / 5)[:4+rng.IntN(3)]
		case kindChar1:
			q = string(alnum[rng.IntN(len(alnum))])
		case kindChar2:
			q = string([]byte{letters[rng.IntN(len(letters))], letters[rng.IntN(len(letters))]})
		}
		qs = append(qs, searchQuery{kind, q})
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
		i, _ := slices.BinarySearchFunc(rep.Slowest, ms(d), func(s SlowSearch, t float64) int { return cmp.Compare(t, s.MS) })
		if i < slowestSearches {
			rep.Slowest = slices.Insert(rep.Slowest, i, SlowSearch{Kind: q.kind, Query: q.q, MS: ms(d)})
			rep.Slowest = rep.Slowest[:min(len(rep.Slowest), slowestSearches)]
		}
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

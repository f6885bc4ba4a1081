package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Intent is what a scan of the mix is meant to be.
type Intent int

const (
	Fresh     Intent = iota // a ticket not scanned before
	Duplicate               // a rescan of a ticket answered as admitted
	Forged                  // a code whose signature is not the event's
	numIntents
)

func (i Intent) String() string { return [...]string{"fresh", "duplicate", "forged"}[i] }

// Outcome is how the server answered a scan.
type Outcome int

const (
	OutOK           Outcome = iota // admitted
	OutAlready                     // refused: already scanned
	OutBadSignature                // refused: the signature does not verify
	OutUnknown                     // refused: no such ticket
	OutRefused                     // refused for another reason, or a dialect that does not say why
	OutError                       // no answer, or an answer that is not one of the above
	numOutcomes
)

func (o Outcome) String() string {
	return [...]string{"ok", "already_scanned", "bad_signature", "unknown_ticket", "refused", "error"}[o]
}

// ticketRef is what the load needs of a ticket.
type ticketRef struct {
	ID                 int64
	UUID, Code, Serial string // Code: the signed QR content, or the secret (pretixdroid)
}

// dialect builds a scan request and reads its answer.
type dialect interface {
	name() string
	request(ctx context.Context, base, cred string, code string, body *bytes.Buffer) (*http.Request, error)
	classify(status int, body []byte) Outcome
}

// load is one phase's traffic against one or more servers.
type load struct {
	dialect   dialect
	bases     []string // server base URLs; worker k uses bases[k%len]
	creds     []string // credentials; worker k uses creds[k%len]
	tickets   []ticketRef
	forged    []string // forged codes, used in turn
	rate      float64  // scans/s; 0: closed loop
	workers   int
	duration  time.Duration
	warmup    time.Duration
	maxScans  int
	dupFrac   float64
	forgeFrac float64
	client    *http.Client
	seed      uint64
}

// answers is what one phase saw, per ticket and overall.
type answers struct {
	okPerTicket []atomic.Int32 // admitted answers per ticket index
	unanswered  []atomic.Bool  // a scan of the ticket got no answer (its outcome is unknown)
	counts      [numIntents][numOutcomes]int
	measured    int // answers inside the measured window
	window      time.Duration
	lat         []time.Duration // latencies inside the measured window
	errSamples  []string
	exhausted   bool
	intentLat   [numIntents][]time.Duration
	cpu, wall   time.Duration // this process's CPU time during the phase, and the phase's length
}

type workerStats struct {
	counts     [numIntents][numOutcomes]int
	lat        [numIntents][]time.Duration
	errSamples []string
	measured   int
}

// run drives the phase and returns what it saw.
func (l *load) run(ctx context.Context) *answers {
	n := len(l.tickets)
	a := &answers{okPerTicket: make([]atomic.Int32, n), unanswered: make([]atomic.Bool, n)}
	var (
		nextFresh atomic.Int64              // next fresh ticket index
		nextSlot  atomic.Int64              // open loop: next slot of the schedule
		doneOK    = make([]atomic.Int32, n) // ticket index+1 of each admitted answer, in order
		doneN     atomic.Int64
		exhausted atomic.Bool
		total     atomic.Int64 // scans started, for maxScans
	)
	var interval time.Duration
	if l.rate > 0 {
		interval = time.Duration(float64(time.Second) / l.rate)
	}
	start := time.Now().Add(20 * time.Millisecond)
	measureFrom := start.Add(l.warmup)
	end := measureFrom.Add(l.duration)
	var measureEnd atomic.Int64 // unix nanos of the last measured answer
	runCtx, cancel := context.WithDeadline(ctx, end.Add(10*time.Second))
	defer cancel()

	cpu0, wall0 := cpuTime(), time.Now()
	stats := make([]*workerStats, l.workers)
	var wg sync.WaitGroup
	for w := range l.workers {
		ws := &workerStats{}
		stats[w] = ws
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(l.seed, uint64(w)+1))
			base, cred := l.bases[w%len(l.bases)], l.creds[w%len(l.creds)]
			var body, resp bytes.Buffer
			// Every client waits for the start: a short phase (a few
			// hundred scans against a fast server) can otherwise be over
			// before the measured time begins, and measure nothing.
			if d := time.Until(start); d > 0 {
				select {
				case <-time.After(d):
				case <-runCtx.Done():
					return
				}
			}
			for runCtx.Err() == nil {
				if l.maxScans > 0 && total.Add(1) > int64(l.maxScans) {
					return
				}
				// When is this scan due? Open loop: its slot of the schedule,
				// whatever happened to the ones before (latency is measured
				// from then, so a stalled server is not hidden by the load
				// waiting for it). Closed loop: now.
				var due time.Time
				if interval > 0 {
					slot := nextSlot.Add(1) - 1
					due = start.Add(time.Duration(slot) * interval)
					if !due.Before(end) {
						return
					}
					if d := time.Until(due); d > 0 {
						select {
						case <-time.After(d):
						case <-runCtx.Done():
							return
						}
					}
				} else {
					due = time.Now()
					if !due.Before(end) {
						return
					}
				}
				// Pick the scan.
				intent, idx, code := Fresh, -1, ""
				r := rng.Float64()
				switch {
				case r < l.forgeFrac && len(l.forged) > 0:
					intent, code = Forged, l.forged[rng.IntN(len(l.forged))]
				case r < l.forgeFrac+l.dupFrac && doneN.Load() > 0:
					if v := doneOK[rng.Int64N(doneN.Load())].Load(); v > 0 {
						intent, idx = Duplicate, int(v-1)
					}
				}
				if intent == Fresh {
					if idx = int(nextFresh.Add(1) - 1); idx >= n {
						exhausted.Store(true)
						return
					}
				}
				if idx >= 0 {
					code = l.tickets[idx].Code
				}
				out, errText := l.send(runCtx, base, cred, code, &body, &resp)
				now := time.Now()
				if out == OutError && idx >= 0 {
					a.unanswered[idx].Store(true)
				}
				if out == OutOK && idx >= 0 {
					a.okPerTicket[idx].Add(1)
					if intent == Fresh {
						doneOK[doneN.Add(1)-1].Store(int32(idx + 1))
					}
				}
				ws.counts[intent][out]++
				if errText != "" && len(ws.errSamples) < 3 {
					ws.errSamples = append(ws.errSamples, errText)
				}
				if !due.Before(measureFrom) && due.Before(end) {
					ws.lat[intent] = append(ws.lat[intent], now.Sub(due))
					ws.measured++
					for {
						old := measureEnd.Load()
						if now.UnixNano() <= old || measureEnd.CompareAndSwap(old, now.UnixNano()) {
							break
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	a.cpu, a.wall = cpuTime()-cpu0, time.Since(wall0)
	for _, ws := range stats {
		for i := range numIntents {
			for o := range numOutcomes {
				a.counts[i][o] += ws.counts[i][o]
			}
			a.intentLat[i] = append(a.intentLat[i], ws.lat[i]...)
			a.lat = append(a.lat, ws.lat[i]...)
		}
		a.measured += ws.measured
		for _, e := range ws.errSamples {
			if len(a.errSamples) < 5 && !slices.Contains(a.errSamples, e) {
				a.errSamples = append(a.errSamples, e)
			}
		}
	}
	if me := measureEnd.Load(); me > 0 {
		a.window = time.Unix(0, me).Sub(measureFrom)
		if interval > 0 {
			// Open loop: the window is the schedule's, however early the
			// last answer came.
			a.window = max(a.window, end.Sub(measureFrom))
		}
	}
	a.exhausted = exhausted.Load()
	return a
}

// send sends one scan and classifies the answer; errText describes an
// OutError.
func (l *load) send(ctx context.Context, base, cred, code string, body, resp *bytes.Buffer) (Outcome, string) {
	req, err := l.dialect.request(ctx, base, cred, code, body)
	if err != nil {
		return OutError, err.Error()
	}
	r, err := l.client.Do(req)
	if err != nil {
		return OutError, err.Error()
	}
	resp.Reset()
	_, err = resp.ReadFrom(r.Body)
	r.Body.Close()
	if err != nil {
		return OutError, err.Error()
	}
	out := l.dialect.classify(r.StatusCode, resp.Bytes())
	if out == OutError {
		b := resp.Bytes()
		if len(b) > 200 {
			b = b[:200]
		}
		return out, fmt.Sprintf("HTTP %d: %s", r.StatusCode, bytes.TrimSpace(b))
	}
	return out, ""
}

// newClient returns a keep-alive client with an idle connection per worker.
func newClient(workers int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        4 * workers,
			MaxIdleConnsPerHost: 2 * workers,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		},
	}
}

// ---------------------------------------------------------------------------
// Dialects.

// tibilletDialect: POST /scan/ticket/ with the device's Api-Key.
type tibilletDialect struct{}

func (tibilletDialect) name() string { return "tibillet" }

func (tibilletDialect) request(ctx context.Context, base, cred, code string, body *bytes.Buffer) (*http.Request, error) {
	body.Reset()
	b := body.AvailableBuffer()
	b = append(b, `{"qrcode_data":`...)
	b = strconv.AppendQuote(b, code)
	b = append(b, '}')
	body.Write(b)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/scan/ticket/", bytes.NewReader(body.Bytes()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Api-Key "+cred)
	return req, nil
}

type tibilletAnswer struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
	Error   string `json:"error"`
}

func (tibilletDialect) classify(status int, body []byte) Outcome {
	var a tibilletAnswer
	if json.Unmarshal(body, &a) != nil {
		return OutError
	}
	switch {
	case status == 200 && a.Success:
		return OutOK
	case status == 200 && a.Message == "Ticket already scanned":
		return OutAlready
	case status == 400 && a.Error == "Invalid ticket signature":
		return OutBadSignature
	case status == 404:
		return OutUnknown
	case status == 200 || status == 406 || (status == 400 && a.Error != ""):
		return OutRefused
	}
	return OutError
}

// pretixdroidDialect: POST .../redeem/?key= with the form field secret.
type pretixdroidDialect struct{ path string } // /pretixdroid/api/ORG/EVENT/

func (pretixdroidDialect) name() string { return "pretixdroid" }

func (d pretixdroidDialect) request(ctx context.Context, base, cred, code string, body *bytes.Buffer) (*http.Request, error) {
	body.Reset()
	body.WriteString("secret=")
	body.WriteString(url.QueryEscape(code))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+d.path+"redeem/?key="+url.QueryEscape(cred), bytes.NewReader(body.Bytes()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req, nil
}

type pretixAnswer struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
}

func (pretixdroidDialect) classify(status int, body []byte) Outcome {
	var a pretixAnswer
	if status != 200 || json.Unmarshal(body, &a) != nil {
		return OutError
	}
	switch {
	case a.Status == "ok":
		return OutOK
	case a.Status == "error" && a.Reason == "already_redeemed":
		return OutAlready
	case a.Status == "error" && a.Reason == "unknown_ticket":
		return OutUnknown
	case a.Status == "error":
		return OutRefused
	}
	return OutError
}

// ticketingDialect: POST /v3/events/{event}/admissions with a staff key.
type ticketingDialect struct{ event string } // the event's id in URLs

func (ticketingDialect) name() string { return "ticketing" }

func (d ticketingDialect) request(ctx context.Context, base, cred, code string, body *bytes.Buffer) (*http.Request, error) {
	body.Reset()
	b := body.AvailableBuffer()
	b = append(b, `{"redeemer":"bench","device":"bench","serials":[`...)
	b = strconv.AppendQuote(b, code)
	b = append(b, "]}"...)
	body.Write(b)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v3/events/"+d.event+"/admissions", bytes.NewReader(body.Bytes()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", cred)
	req.Header.Set("X-Client-Version", "3.0.0")
	return req, nil
}

func (ticketingDialect) classify(status int, body []byte) Outcome {
	switch status {
	case 201:
		var recs []json.RawMessage
		if json.Unmarshal(body, &recs) != nil {
			return OutError
		}
		if len(recs) == 1 {
			return OutOK
		}
		return OutRefused
	case 400:
		// TickeTing does not say why: already admitted and unknown serials
		// get the same answer.
		return OutRefused
	}
	return OutError
}

// drain reads and closes a body, so that its connection is reused.
func drain(r io.ReadCloser) {
	io.Copy(io.Discard, r)
	r.Close()
}

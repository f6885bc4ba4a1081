package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
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
	// head is a client's scan request up to its Content-Length value: the
	// request line and the headers, with the credential.
	head(ep *endpoint, cred string) ([]byte, error)
	// appendBody appends the body of the scan of code.
	appendBody(b []byte, code string) []byte
	classify(status int, body []byte) Outcome
}

// load is one phase's traffic against one or more servers.
type load struct {
	dialect   dialect
	endpoints []*endpoint // servers; worker k uses endpoints[k%len]
	heads     [][]byte    // worker k's request head (its server, its credential)
	tickets   []ticketRef
	forged    []string // forged codes, used in turn
	rate      float64  // scans/s; 0: closed loop
	workers   int
	duration  time.Duration
	warmup    time.Duration
	maxScans  int
	dupFrac   float64
	forgeFrac float64
	seed      uint64
	freshFrom int // the first fresh ticket's index (an earlier round took those before)
	// serverCPU, when set, is the CPU time the servers (child processes,
	// --spawn) have used so far.
	serverCPU func() time.Duration

	answered atomic.Int64 // scans answered so far (for a progress bar)
}

// newLoad prepares a phase against the servers at bases, worker k using
// bases[k%len] and creds[k%len].
func newLoad(d dialect, bases, creds []string, workers int) (*load, error) {
	l := &load{dialect: d, workers: workers}
	for _, b := range bases {
		ep, err := parseEndpoint(b)
		if err != nil {
			return nil, err
		}
		l.endpoints = append(l.endpoints, ep)
	}
	for w := range workers {
		h, err := d.head(l.endpoints[w%len(l.endpoints)], creds[w%len(creds)])
		if err != nil {
			return nil, err
		}
		l.heads = append(l.heads, h)
	}
	return l, nil
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
	freshNext   int // the next fresh ticket's index after this phase
	intentLat   [numIntents][]time.Duration
	cpu, wall   time.Duration // this process's CPU time during the phase, and the phase's length
	serverCPU   time.Duration // the child servers' CPU time during the phase (--spawn)
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
	nextFresh.Store(int64(l.freshFrom))
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
	var srv0 time.Duration
	if l.serverCPU != nil {
		srv0 = l.serverCPU()
	}
	stats := make([]*workerStats, l.workers)
	var wg sync.WaitGroup
	for w := range l.workers {
		ws := &workerStats{}
		stats[w] = ws
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(l.seed, uint64(w)+1))
			conn := &scanConn{ep: l.endpoints[w%len(l.endpoints)]}
			defer conn.close()
			req := &scanRequest{head: l.heads[w]}
			var resp bytes.Buffer
			var wait *time.Timer // open loop: until the next scan is due
			// Every client connects, then waits for the start: a short
			// phase (a few hundred scans against a fast server) can
			// otherwise be over before the measured time begins, and
			// measure nothing. (A failed dial is tried again, and counted,
			// by the first scan.)
			_ = conn.dial(runCtx)
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
						if wait == nil {
							wait = time.NewTimer(d)
						} else {
							wait.Reset(d)
						}
						select {
						case <-wait.C:
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
				out, errText := l.send(runCtx, conn, req, code, &resp)
				now := time.Now()
				l.answered.Add(1)
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
	if l.serverCPU != nil {
		a.serverCPU = l.serverCPU() - srv0
	}
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
	a.freshNext = int(min(nextFresh.Load(), int64(n)))
	return a
}

// add returns a with b's answers added (b itself when a is nil): the rounds
// of one phase, as one.
func (a *answers) add(b *answers) *answers {
	if a == nil {
		return b
	}
	for i := range a.okPerTicket {
		if v := b.okPerTicket[i].Load(); v != 0 {
			a.okPerTicket[i].Add(v)
		}
		if b.unanswered[i].Load() {
			a.unanswered[i].Store(true)
		}
	}
	for i := range numIntents {
		for o := range numOutcomes {
			a.counts[i][o] += b.counts[i][o]
		}
		a.intentLat[i] = append(a.intentLat[i], b.intentLat[i]...)
	}
	a.measured += b.measured
	a.window += b.window
	a.lat = append(a.lat, b.lat...)
	for _, e := range b.errSamples {
		if len(a.errSamples) < 5 && !slices.Contains(a.errSamples, e) {
			a.errSamples = append(a.errSamples, e)
		}
	}
	a.exhausted = a.exhausted || b.exhausted
	a.freshNext = b.freshNext
	a.cpu += b.cpu
	a.wall += b.wall
	return a
}

// send sends one scan and classifies the answer; errText describes an
// OutError.
func (l *load) send(ctx context.Context, conn *scanConn, req *scanRequest, code string, resp *bytes.Buffer) (Outcome, string) {
	status, err := conn.do(ctx, req.build(l.dialect, code), resp)
	if err != nil {
		return OutError, err.Error()
	}
	out := l.dialect.classify(status, resp.Bytes())
	if out == OutError {
		b := resp.Bytes()
		if len(b) > 200 {
			b = b[:200]
		}
		return out, fmt.Sprintf("HTTP %d: %s", status, bytes.TrimSpace(b))
	}
	return out, ""
}

// newClient returns a keep-alive net/http client with an idle connection
// per worker, for the requests other than scans.
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

// tibilletDialect: POST /scan/ticket/ with the device's Api-Key, and the
// event's uuid, as TiBillet's app always sends it.
type tibilletDialect struct{ event string }

func (tibilletDialect) name() string { return "tibillet" }

func (tibilletDialect) head(ep *endpoint, cred string) ([]byte, error) {
	return requestHead(http.MethodPost, ep, "/scan/ticket/",
		"Content-Type", "application/json", "Authorization", "Api-Key "+cred)
}

func (d tibilletDialect) appendBody(b []byte, code string) []byte {
	b = append(b, `{"qrcode_data":`...)
	b = appendJSONString(b, code)
	if d.event != "" {
		b = append(b, `,"event_uuid":`...)
		b = appendJSONString(b, d.event)
	}
	return append(b, '}')
}

// tibilletAnswer is what the classification reads of a TiBillet answer.
type tibilletAnswer struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
	Error   string `json:"error"`
}

var tibilletMembers = []string{"success", "message", "error"}

// decodeTibillet decodes an answer as json.Unmarshal into a tibilletAnswer
// would.
func decodeTibillet(body []byte) (a tibilletAnswer, ok bool) {
	var v [3][]byte
	if !jsonMembers(body, tibilletMembers, v[:]) {
		return a, false
	}
	var ok1, ok2, ok3 bool
	a.Success, ok1 = jsonBool(v[0])
	a.Message, ok2 = jsonString(v[1], "Ticket successfully scanned", "Ticket already scanned")
	a.Error, ok3 = jsonString(v[2], "Invalid ticket signature", "Ticket not found")
	return a, ok1 && ok2 && ok3
}

func (tibilletDialect) classify(status int, body []byte) Outcome {
	a, ok := decodeTibillet(body)
	if !ok {
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

func (d pretixdroidDialect) head(ep *endpoint, cred string) ([]byte, error) {
	return requestHead(http.MethodPost, ep, d.path+"redeem/?key="+url.QueryEscape(cred),
		"Content-Type", "application/x-www-form-urlencoded")
}

func (pretixdroidDialect) appendBody(b []byte, code string) []byte {
	b = append(b, "secret="...)
	return appendQueryEscape(b, code)
}

// pretixAnswer is what the classification reads of a pretixdroid answer.
type pretixAnswer struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
}

var pretixMembers = []string{"status", "reason"}

// decodePretix decodes an answer as json.Unmarshal into a pretixAnswer
// would.
func decodePretix(body []byte) (a pretixAnswer, ok bool) {
	var v [2][]byte
	if !jsonMembers(body, pretixMembers, v[:]) {
		return a, false
	}
	var ok1, ok2 bool
	a.Status, ok1 = jsonString(v[0], "ok", "error")
	a.Reason, ok2 = jsonString(v[1], "already_redeemed", "unknown_ticket")
	return a, ok1 && ok2
}

func (pretixdroidDialect) classify(status int, body []byte) Outcome {
	if status != 200 {
		return OutError
	}
	a, ok := decodePretix(body)
	if !ok {
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

func (d ticketingDialect) head(ep *endpoint, cred string) ([]byte, error) {
	return requestHead(http.MethodPost, ep, "/v3/events/"+d.event+"/admissions",
		"Content-Type", "application/json", "X-API-Key", cred, "X-Client-Version", "3.0.0")
}

func (ticketingDialect) appendBody(b []byte, code string) []byte {
	b = append(b, `{"redeemer":"bench","device":"bench","serials":[`...)
	b = appendJSONString(b, code)
	return append(b, "]}"...)
}

func (ticketingDialect) classify(status int, body []byte) Outcome {
	switch status {
	case 201:
		// The admission records: one per serial admitted.
		n, ok := jsonArrayLen(body)
		if !ok {
			return OutError
		}
		if n == 1 {
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

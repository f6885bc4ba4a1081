// Package bench is admit's load benchmark: it creates an event with N
// tickets, starts servers (in-process, as child processes, or uses running
// ones), drives scans through a wire dialect's redeem endpoint with a mix of
// fresh tickets, duplicates and forged codes, in an open loop at a set rate
// or a closed loop of C clients, reports throughput and latency, and then
// verifies from the database that every admitted scan is recorded exactly
// once and that no duplicate or forged code was admitted.
//
// It can also measure the floor: the same request path with the storage
// write skipped (SkipWriteStore), in the same run.
package bench

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/server"
	"github.com/admitdev/admit/sqlstore"
)

// Config is one benchmark run.
type Config struct {
	// DB is the database: a SQLite file or a postgres:// URL; "" makes a
	// temporary SQLite file, removed afterwards unless Keep.
	DB   string
	Keep bool
	// Targets are running servers' base URLs on DB. Empty: start servers,
	// in-process, or as child processes when Spawn is set.
	Targets []string
	// Spawn is the command that runs the admit binary (argv, without
	// "serve"): each node is then a child `admit serve` process, whose
	// startup time and memory are measured on their own.
	Spawn []string
	Nodes int // servers on DB, the load split between them (PostgreSQL)

	Dialect string // tibillet (default), pretixdroid, ticketing
	Tickets int    // tickets of the event to create (default 250,000)
	// Event reuses the event of organizer "bench" with this slug if it
	// exists (its unscanned tickets), else creates it.
	Event string

	Rate        float64       // scans/s, open loop; 0: closed loop
	Concurrency int           // clients (open loop: senders)
	Duration    time.Duration // measured time of each phase
	Warmup      time.Duration // before the measured time, not measured
	MaxScans    int           // bound on the scans of a phase (0: none)
	Duplicates  float64       // share of rescans of admitted tickets
	ForgedShare float64       // share of forged codes
	Devices     int           // scanning devices (keys) the clients use in turn

	SkipWrite bool // also measure the floor: the same path with the write skipped
	// Ceiling: also measure the ceiling (ceiling.go), the least work a
	// verified scan needs, taking turns with the durable phase.
	Ceiling bool
	// Rounds splits each phase's measured time into this many rounds, the
	// durable and the floor phase taking turns (0: 5 with SkipWrite and no
	// CPUProfile, else 1), so that both see the same machine: on a shared
	// virtual machine the speed drifts by 20% within minutes.
	Rounds   int
	Searches int // search requests to time after the load (0: none)
	// DiskProbe: after the load, time fsyncs of a scratch file beside the
	// SQLite database for this long (disk.go; 0: not measured).
	DiskProbe time.Duration
	// TicketCacheMB is each in-process node's ticket cache
	// (admit.Core.TicketCacheBytes), in MiB; 0: none. Spawned nodes take
	// admit serve's --ticket-cache-mb.
	TicketCacheMB int

	// CPUProfile: write a CPU profile of the durable phase here, and of the
	// floor phase to the same name with ".floor" (in-process servers).
	CPUProfile string

	Log      *slog.Logger // the server's log (nil: warnings to stderr)
	Progress io.Writer    // progress lines (nil: none)
	// Phase, when set, is told when each round of a load phase begins: its
	// name, its length (warm-up included) and how to read the scans
	// answered so far; it returns what to call when the round ends (admit
	// bench draws a progress bar on a terminal).
	Phase func(name string, length time.Duration, answered func() int64) (end func())
}

func (c *Config) defaults() error {
	if c.Dialect == "" {
		c.Dialect = "tibillet"
	}
	switch c.Dialect {
	case "tibillet", "pretixdroid", "ticketing":
	default:
		return admit.Errorf(admit.EInvalid, "--dialect must be tibillet, pretixdroid or ticketing, not %q", c.Dialect)
	}
	if c.Tickets == 0 {
		c.Tickets = 250_000
	}
	if c.Concurrency == 0 {
		c.Concurrency = 64
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Nodes == 0 {
		c.Nodes = 1
	}
	if c.Devices == 0 {
		c.Devices = 8
	}
	if c.Rounds == 0 {
		c.Rounds = 1
		if (c.SkipWrite || c.Ceiling) && c.CPUProfile == "" {
			c.Rounds = 5
		}
	}
	switch {
	case c.Tickets < 100 || c.Tickets > 10_000_000:
		return admit.Errorf(admit.EInvalid, "--tickets must be between 100 and 10,000,000")
	case c.Concurrency < 1 || c.Concurrency > 4096:
		return admit.Errorf(admit.EInvalid, "--concurrency must be between 1 and 4096")
	case c.Duration <= 0 || c.Duration > 30*time.Minute || c.Warmup < 0 || c.Warmup > 5*time.Minute:
		return admit.Errorf(admit.EInvalid, "--duration must be positive and at most 30m, --warmup at most 5m")
	case c.Rate < 0 || c.Rate > 1_000_000:
		return admit.Errorf(admit.EInvalid, "--rate must be between 0 (closed loop) and 1,000,000")
	case c.Duplicates < 0 || c.ForgedShare < 0 || c.Duplicates+c.ForgedShare >= 1:
		return admit.Errorf(admit.EInvalid, "--duplicates and --forged are shares: at least 0, and less than 1 together")
	case c.Nodes < 1 || c.Nodes > 16:
		return admit.Errorf(admit.EInvalid, "--nodes must be between 1 and 16")
	case c.Devices < 1 || c.Devices > 1000:
		return admit.Errorf(admit.EInvalid, "--devices must be between 1 and 1000")
	case c.Searches < 0 || c.Searches > 1_000_000:
		return admit.Errorf(admit.EInvalid, "--search must be between 0 and 1,000,000")
	case c.Rounds < 1 || c.Rounds > 100:
		return admit.Errorf(admit.EInvalid, "--rounds must be between 1 and 100")
	case c.MaxScans < 0 || (c.MaxScans > 0 && c.MaxScans < c.Rounds):
		return admit.Errorf(admit.EInvalid, "--max-scans must be 0 (no bound) or at least --rounds: each round takes its share")
	case c.Rounds > 1 && c.CPUProfile != "":
		return admit.Errorf(admit.EInvalid, "--cpuprofile profiles one round per phase: --rounds 1")
	}
	if c.Nodes > 1 && c.DB != "" && !sqlstore.IsPostgres(c.DB) && len(c.Targets) == 0 {
		return admit.Errorf(admit.EInvalid, "--nodes above 1 needs a PostgreSQL --db: SQLite is one node's file")
	}
	if c.Nodes > 1 && c.DB == "" {
		return admit.Errorf(admit.EInvalid, "--nodes above 1 needs a PostgreSQL --db")
	}
	if len(c.Targets) > 0 {
		if c.DB == "" {
			return admit.Errorf(admit.EInvalid, "--target needs --db, the target's database: the benchmark imports the event and creates the devices there")
		}
		if c.SkipWrite {
			return admit.Errorf(admit.EInvalid, "--skip-write needs in-process servers, not --target")
		}
		for _, t := range c.Targets {
			if _, err := parseEndpoint(strings.TrimRight(t, "/")); err != nil {
				return admit.Errorf(admit.EInvalid, "--target: %v", err)
			}
		}
	}
	if c.Ceiling && c.Dialect != "tibillet" {
		return admit.Errorf(admit.EInvalid, "--ceiling answers TiBillet scans: --dialect tibillet")
	}
	if c.SkipWrite && len(c.Spawn) > 0 {
		return admit.Errorf(admit.EInvalid, "--skip-write needs in-process servers, not --spawn")
	}
	if c.TicketCacheMB < 0 {
		return admit.Errorf(admit.EInvalid, "--ticket-cache-mb must not be negative")
	}
	if c.DiskProbe < 0 || c.DiskProbe > 10*time.Minute {
		return admit.Errorf(admit.EInvalid, "--disk-probe must be between 0 and 10m")
	}
	if c.DiskProbe > 0 && sqlstore.IsPostgres(c.DB) {
		return admit.Errorf(admit.EInvalid, "--disk-probe measures the disk of a SQLite database, not PostgreSQL's")
	}
	if c.CPUProfile != "" && (len(c.Spawn) > 0 || len(c.Targets) > 0) {
		return admit.Errorf(admit.EInvalid, "--cpuprofile profiles in-process servers only")
	}
	return nil
}

func (c *Config) progress(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, "bench: "+format+"\n", args...)
	}
}

// phase tells Phase (if set) that a round of l begins.
func (c *Config) phase(name string, round int, l *load) (end func()) {
	if c.Phase == nil {
		return func() {}
	}
	if c.Rounds > 1 {
		name = fmt.Sprintf("%s %d/%d", name, round+1, c.Rounds)
	}
	return c.Phase(name, l.warmup+l.duration, l.answered.Load)
}

// Run runs the benchmark and returns its report. A report whose Verified is
// false comes with a nil error: the caller decides.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	rep := &Report{Machine: machineInfo(), Dialect: cfg.Dialect, Nodes: cfg.Nodes}
	if cfg.DB == "" {
		dir, err := os.MkdirTemp("", "admit-bench-")
		if err != nil {
			return nil, err
		}
		if !cfg.Keep {
			defer os.RemoveAll(dir)
		}
		cfg.DB = filepath.Join(dir, "bench.db")
	}
	rep.Store = "sqlite"
	if sqlstore.IsPostgres(cfg.DB) {
		rep.Store = "postgres"
	} else if cfg.Keep {
		rep.DB = cfg.DB
	}

	store, err := sqlstore.Open(ctx, cfg.DB, log)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	core := admit.NewCore(store, log)

	// The event and its tickets.
	ev, list, tickets, err := prepareEvent(ctx, &cfg, core, rep)
	if err != nil {
		return nil, err
	}
	// Reserve the forged codes' tickets: never scanned with a valid code, so
	// that the verification can check that none of them got in.
	nForged := min(1000, max(1, len(tickets)/100))
	if len(tickets) < nForged+10 {
		return nil, admit.Errorf(admit.EInvalid, "event %q has too few unscanned tickets left (%d)", ev.Slug, len(tickets))
	}
	forgedPool := tickets[len(tickets)-nForged:]
	tickets = tickets[:len(tickets)-nForged]
	d, forged, err := newDialect(cfg.Dialect, ev, forgedPool)
	if err != nil {
		return nil, err
	}

	// Servers.
	var bases []string
	var floorBases []string
	var durableNodes []*node // in-process only
	switch {
	case len(cfg.Targets) > 0:
		for _, t := range cfg.Targets {
			bases = append(bases, strings.TrimRight(t, "/"))
		}
	case len(cfg.Spawn) > 0:
		procs, err := spawnNodes(ctx, &cfg, rep)
		if err != nil {
			return nil, err
		}
		defer func() {
			for _, p := range procs {
				p.stop()
			}
		}()
		for _, p := range procs {
			bases = append(bases, p.url)
		}
		rep.procs = procs
	default:
		nodes, err := startNodes(ctx, &cfg, core, log, false)
		if err != nil {
			return nil, err
		}
		defer stopNodes(nodes)
		for _, n := range nodes {
			bases = append(bases, n.url)
		}
		durableNodes = nodes
		all := nodes
		if cfg.SkipWrite {
			fnodes, err := startNodes(ctx, &cfg, core, log, true)
			if err != nil {
				return nil, err
			}
			defer stopNodes(fnodes)
			for _, n := range fnodes {
				floorBases = append(floorBases, n.url)
			}
			all = append(all[:len(all):len(all)], fnodes...)
		}
		// Each node's ticket cache holds the event, as on a server that
		// has scanned it before (the first scan starts the same load).
		if cfg.TicketCacheMB > 0 {
			start := time.Now()
			for _, n := range all {
				if err := n.core.WarmTicketCache(ctx, ev.ID); err != nil {
					return nil, err
				}
			}
			rep.TicketCacheWarmSeconds = time.Since(start).Seconds()
			cfg.progress("ticket caches loaded in %.2f s", rep.TicketCacheWarmSeconds)
		}
	}

	creds, err := credentials(ctx, &cfg, core, ev)
	if err != nil {
		return nil, err
	}
	var ceilingBases []string
	if cfg.Ceiling {
		uuids := make([]string, 0, len(tickets)+len(forgedPool))
		for _, t := range tickets {
			uuids = append(uuids, t.UUID)
		}
		for _, t := range forgedPool {
			uuids = append(uuids, t.UUID)
		}
		cs, err := newCeilingServer(ev.PublicKeyPEM, uuids, creds)
		if err != nil {
			return nil, err
		}
		cn, err := startCeiling(cs)
		if err != nil {
			return nil, err
		}
		defer cn.stop()
		ceilingBases = []string{cn.url}
	}

	phaseLoad := func(bases []string, seed uint64) (*load, error) {
		l, err := newLoad(d, bases, creds, cfg.Concurrency)
		if err != nil {
			return nil, err
		}
		l.tickets, l.forged = tickets, forged
		l.rate, l.duration, l.warmup, l.maxScans = cfg.Rate, cfg.Duration, cfg.Warmup, cfg.MaxScans
		l.dupFrac, l.forgeFrac, l.seed = cfg.Duplicates, cfg.ForgedShare, seed
		if procs := rep.procs; len(procs) > 0 && slices.Equal(bases, procURLs(procs)) {
			l.serverCPU = func() time.Duration {
				var sum time.Duration
				for _, p := range procs {
					sum += procCPU(p.cmd.Process.Pid)
				}
				return sum
			}
		}
		return l, nil
	}

	// The durable phase and the floor take turns, round after round; each
	// round of a phase goes on with the fresh tickets where the last one
	// stopped.
	sampler := startRSSSampler(rep)
	cfg.progress("durable phase: %s for %s (+%s warm-up) against %d node(s), in %d round(s)",
		loadMode(&cfg), cfg.Duration, cfg.Warmup, len(bases), cfg.Rounds)
	if cfg.SkipWrite {
		cfg.progress("floor phase (storage write skipped): the same, taking turns with it")
	}
	if cfg.Ceiling {
		cfg.progress("ceiling phase (the least work a verified scan needs, in memory): the same, taking turns with it")
	}
	var ans, fans, cans *answers
	var fresh, ffresh, cfresh int
	for r := range cfg.Rounds {
		durable, err := phaseLoad(bases, uint64(1+r))
		if err != nil {
			return nil, err
		}
		durable.duration, durable.freshFrom = roundLength(cfg.Duration, cfg.Rounds, r), fresh
		if cfg.MaxScans > 0 {
			durable.maxScans = cfg.MaxScans*(r+1)/cfg.Rounds - cfg.MaxScans*r/cfg.Rounds
		}
		if r > 0 {
			durable.warmup = min(cfg.Warmup, roundWarmup)
		}
		stopProfile, err := startProfile(cfg.CPUProfile)
		if err != nil {
			return nil, err
		}
		endPhase := cfg.phase("durable", r, durable)
		a := durable.run(ctx)
		endPhase()
		stopProfile()
		fresh, ans = a.freshNext, ans.add(a)
		if cfg.Ceiling {
			ceil, err := phaseLoad(ceilingBases, uint64(1+r))
			if err != nil {
				return nil, err
			}
			ceil.duration, ceil.warmup, ceil.freshFrom, ceil.maxScans = durable.duration, durable.warmup, cfresh, durable.maxScans
			endPhase := cfg.phase("ceiling", r, ceil)
			c := ceil.run(ctx)
			endPhase()
			cfresh, cans = c.freshNext, cans.add(c)
			if cfg.Rounds > 1 && a.window > 0 && c.window > 0 && c.measured > 0 {
				ratio := (float64(a.measured) / a.window.Seconds()) / (float64(c.measured) / c.window.Seconds())
				rep.CeilingRoundRatios = append(rep.CeilingRoundRatios, round(ratio, 3))
				cfg.progress("round %d: durable/ceiling = %.2f", r+1, ratio)
			}
		}
		if !cfg.SkipWrite {
			continue
		}
		floor, err := phaseLoad(floorBases, uint64(1+r))
		if err != nil {
			return nil, err
		}
		floor.duration, floor.warmup, floor.freshFrom = durable.duration, durable.warmup, ffresh
		floor.maxScans = durable.maxScans
		stopProfile, err = startProfile(floorProfile(cfg.CPUProfile))
		if err != nil {
			return nil, err
		}
		endPhase = cfg.phase("floor", r, floor)
		f := floor.run(ctx)
		endPhase()
		stopProfile()
		ffresh, fans = f.freshNext, fans.add(f)
		if cfg.Rounds > 1 && a.window > 0 && f.window > 0 && f.measured > 0 {
			ratio := (float64(a.measured) / a.window.Seconds()) / (float64(f.measured) / f.window.Seconds())
			rep.RoundRatios = append(rep.RoundRatios, round(ratio, 3))
			cfg.progress("round %d: durable/floor = %.2f", r+1, ratio)
		}
	}
	rep.CPUProfile, rep.Rounds = cfg.CPUProfile, cfg.Rounds
	rep.Durable = phaseReport("durable", &cfg, ans)
	cfg.progress("durable: %.0f scans/s, p99 %.2f ms", rep.Durable.ScansPerSec, rep.Durable.LatencyMS.P99)
	sampler.stop()

	cfg.progress("verifying from the database")
	rep.Verification, err = verify(ctx, store, ev, list, tickets, forgedPool, ans)
	if err != nil {
		return nil, err
	}

	// The ceiling: the same scans, the least work.
	if cfg.Ceiling {
		rep.Ceiling = phaseReport("ceiling", &cfg, cans)
		rep.CeilingVerification = verifyAnswers(cans)
		if rep.Ceiling.ScansPerSec > 0 {
			rep.DurableToCeiling = round(rep.Durable.ScansPerSec/rep.Ceiling.ScansPerSec, 3)
		}
		cfg.progress("ceiling: %.0f scans/s; durable/ceiling = %.2f", rep.Ceiling.ScansPerSec, rep.DurableToCeiling)
	}

	// The floor: the same scans, the same path, nothing written.
	if cfg.SkipWrite {
		rep.Floor = phaseReport("floor_skip_write", &cfg, fans)
		if cfg.CPUProfile != "" {
			rep.FloorCPUProfile = floorProfile(cfg.CPUProfile)
		}
		rep.FloorVerification = verifyAnswers(fans)
		if rep.Floor.ScansPerSec > 0 {
			rep.DurableToFloor = round(rep.Durable.ScansPerSec/rep.Floor.ScansPerSec, 3)
		}
		cfg.progress("floor: %.0f scans/s; durable/floor = %.2f", rep.Floor.ScansPerSec, rep.DurableToFloor)
	}

	if cfg.Searches > 0 {
		cfg.progress("timing %d searches", cfg.Searches)
		rep.Search, err = runSearches(ctx, &cfg, ev, tickets, bases[0], creds[0])
		if err != nil {
			return nil, err
		}
	}
	if len(durableNodes) > 0 && cfg.TicketCacheMB > 0 {
		sum := &admit.TicketCacheStats{}
		for _, n := range durableNodes {
			st := n.core.TicketCacheStats()
			sum.Hits, sum.Misses, sum.Loads = sum.Hits+st.Hits, sum.Misses+st.Misses, sum.Loads+st.Loads
			sum.Tickets, sum.Bytes = sum.Tickets+st.Tickets, sum.Bytes+st.Bytes
		}
		rep.TicketCache = sum
	}
	if cfg.DiskProbe > 0 {
		cfg.progress("timing fsyncs beside the database for %s", cfg.DiskProbe)
		if rep.Disk, err = probeDisk(ctx, filepath.Dir(cfg.DB), cfg.DiskProbe); err != nil {
			return nil, err
		}
		cfg.progress("disk: fsync p50 %.2f ms, p99 %.2f ms", rep.Disk.FsyncMS.P50, rep.Disk.FsyncMS.P99)
	}
	for _, p := range rep.procs {
		p.stop()
	}
	if len(rep.procs) > 0 || len(cfg.Targets) > 0 {
		rep.rssPeak = 0 // this process is only the load generator
	}
	rep.finish(&cfg)
	return rep, nil
}

// roundWarmup is the warm-up of every round but the first: the servers are
// warm, the clients only connect again.
const roundWarmup = 250 * time.Millisecond

// roundLength is round r's share of a phase's measured time d.
func roundLength(d time.Duration, rounds, r int) time.Duration {
	return d*time.Duration(r+1)/time.Duration(rounds) - d*time.Duration(r)/time.Duration(rounds)
}

func loadMode(cfg *Config) string {
	if cfg.Rate > 0 {
		return fmt.Sprintf("open loop at %g scans/s", cfg.Rate)
	}
	return fmt.Sprintf("closed loop with %d clients", cfg.Concurrency)
}

// prepareEvent imports a new event (or reuses cfg.Event) and returns its
// default list and its unscanned tickets.
func prepareEvent(ctx context.Context, cfg *Config, core *admit.Core, rep *Report) (*admit.Event, *admit.CheckinList, []ticketRef, error) {
	slug := cfg.Event
	if slug == "" {
		slug = "run-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	if org, err := core.Store.OrganizerBySlug(ctx, Organizer); err == nil && cfg.Event != "" {
		if ev, err := core.Store.EventBySlug(ctx, org.ID, slug); err == nil {
			cfg.progress("reusing event %s/%s", Organizer, slug)
			list, err := core.Store.DefaultList(ctx, ev.ID)
			if err != nil {
				return nil, nil, nil, err
			}
			ts, _, err := core.Store.FindTickets(ctx, admit.TicketFilter{EventID: ev.ID, StateListID: list.ID})
			if err != nil {
				return nil, nil, nil, err
			}
			refs := make([]ticketRef, 0, len(ts))
			for _, t := range ts {
				if t.State == nil || t.State.Entries == 0 {
					refs = append(refs, ticketRef{ID: t.ID, UUID: t.UUID, Code: codeOf(cfg.Dialect, t), Serial: t.Serial})
				}
			}
			rep.Event = EventInfo{Organizer: Organizer, Slug: slug, UUID: ev.UUID, Tickets: len(ts), Reused: true, Unscanned: len(refs)}
			return ev, list, refs, nil
		} else if !admit.IsNotFound(err) {
			return nil, nil, nil, err
		}
	}
	cfg.progress("generating and importing %d tickets (event %s/%s)", cfg.Tickets, Organizer, slug)
	t0 := time.Now()
	f, err := GenerateImport(cfg.Tickets, slug)
	if err != nil {
		return nil, nil, nil, err
	}
	gen := time.Since(t0)
	t1 := time.Now()
	res, err := core.Import(ctx, f)
	if err != nil {
		return nil, nil, nil, err
	}
	took := time.Since(t1)
	f = nil
	cfg.progress("imported in %s", took.Round(time.Millisecond))
	list, err := core.Store.DefaultList(ctx, res.Event.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	refs := make([]ticketRef, len(res.Tickets))
	for i, t := range res.Tickets {
		refs[i] = ticketRef{ID: t.ID, UUID: t.UUID, Code: codeOf(cfg.Dialect, t), Serial: t.Serial}
	}
	rep.Event = EventInfo{
		Organizer: Organizer, Slug: slug, UUID: res.Event.UUID, Tickets: len(refs), Unscanned: len(refs),
		GenerateSeconds: round(gen.Seconds(), 3), ImportSeconds: round(took.Seconds(), 3),
		ImportTicketsPerSec: round(float64(len(refs))/took.Seconds(), 0),
	}
	return res.Event, list, refs, nil
}

// codeOf is what a scanner of the dialect reads off the ticket.
func codeOf(dialect string, t *admit.Ticket) string {
	switch dialect {
	case "pretixdroid":
		return t.Secret
	case "ticketing":
		return t.Serial
	}
	return t.QRCode
}

// newDialect returns the dialect and its forged codes: codes in the event's
// QR format naming real tickets (the reserved pool), signed with a key that
// is not the event's; for TickeTing, whose scanners read serials, serials
// that no ticket has.
func newDialect(name string, ev *admit.Event, pool []ticketRef) (dialect, []string, error) {
	var forged []string
	if name == "ticketing" {
		for i := range pool {
			forged = append(forged, fmt.Sprintf("FORGED-%012d", i))
		}
		return ticketingDialect{event: strconv.FormatInt(ev.ID, 10)}, forged, nil
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	for _, t := range pool {
		claims := `{"uuid": "` + t.UUID + `", "event": "` + ev.UUID + `"}`
		payload := base64.URLEncoding.EncodeToString([]byte(claims))
		sig := ed25519.Sign(priv, []byte(payload))
		forged = append(forged, payload+":"+base64.URLEncoding.EncodeToString(sig))
	}
	switch name {
	case "pretixdroid":
		org := Organizer
		return pretixdroidDialect{path: "/pretixdroid/api/" + org + "/" + ev.Slug + "/"}, forged, nil
	}
	return tibilletDialect{event: ev.UUID}, forged, nil
}

// node is an in-process server.
type node struct {
	core    *admit.Core
	url     string
	srv     *http.Server
	store   admit.Store // its own store, closed with it (nil: shared)
	stopLog func()      // stops its scan log appender
}

// startNodes starts cfg.Nodes in-process servers: the first on core's
// store, the others on stores of their own on the same database (as
// separate processes would be). floor wraps each store in a SkipWriteStore.
func startNodes(ctx context.Context, cfg *Config, core *admit.Core, log *slog.Logger, floor bool) ([]*node, error) {
	var nodes []*node
	var skip *SkipWriteStore
	for i := range cfg.Nodes {
		var st admit.Store = core.Store
		var own admit.Store
		if i > 0 {
			s, err := sqlstore.Open(ctx, cfg.DB, log)
			if err != nil {
				stopNodes(nodes)
				return nil, err
			}
			st, own = s, s
		}
		if floor {
			if skip == nil {
				skip = NewSkipWriteStore(st)
			} else {
				skip = skip.On(st)
			}
			st = skip
		}
		// Keys of its own, as a process of its own has: the signatures one
		// phase or node verified are not remembered by the next.
		c := &admit.Core{Store: st, Keys: &admit.Keys{}, Log: core.Log, Now: core.Now, PairingTTL: core.PairingTTL,
			TicketCacheBytes: int64(cfg.TicketCacheMB) << 20}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			if own != nil {
				own.Close()
			}
			stopNodes(nodes)
			return nil, err
		}
		url := "http://" + ln.Addr().String()
		srv := &http.Server{
			Handler:           server.New(c, server.Config{Logger: log, PublicURL: url}),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       120 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
		go srv.Serve(ln)
		n := &node{core: c, url: url, srv: srv, store: own}
		// The scan log's appender runs beside the scans, as in admit serve
		// (the floor, which writes no scans, has nothing to append).
		if sl, ok := st.(scanLogger); ok && !floor {
			lctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				sl.RunScanLog(lctx, scanLogEvery)
			}()
			n.stopLog = func() { cancel(); <-done }
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// scanLogger is the store's scan log appender (sqlstore).
type scanLogger interface {
	RunScanLog(ctx context.Context, every time.Duration)
}

// scanLogEvery is how often admit serve appends to the scan log.
const scanLogEvery = 2 * time.Second

func stopNodes(nodes []*node) {
	for _, n := range nodes {
		if n.stopLog != nil {
			n.stopLog()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		n.srv.Shutdown(ctx)
		cancel()
		if n.store != nil {
			n.store.Close()
		}
	}
}

// credentials makes the keys the clients scan with: paired TiBillet
// devices, pretixdroid app keys, or TickeTing staff keys.
func credentials(ctx context.Context, cfg *Config, core *admit.Core, ev *admit.Event) ([]string, error) {
	var creds []string
	for i := range cfg.Devices {
		name := fmt.Sprintf("Bench gate %d", i+1)
		switch cfg.Dialect {
		case "tibillet":
			_, token, err := core.CreateDevice(ctx, admit.DeviceSpec{Organizer: Organizer, Name: name, Event: ev.Slug})
			if err != nil {
				return nil, err
			}
			_, key, err := core.PairDevice(ctx, token)
			if err != nil {
				return nil, err
			}
			creds = append(creds, key)
		case "pretixdroid":
			k, err := core.CreatePretixdroidKey(ctx, admit.PretixdroidKeySpec{Organizer: Organizer, Event: ev.Slug, Name: name})
			if err != nil {
				return nil, err
			}
			creds = append(creds, k.Plain)
		case "ticketing":
			key, err := ticketingStaffKey(ctx, core, ev)
			if err != nil {
				return nil, err
			}
			creds = append(creds, key)
		}
	}
	return creds, nil
}

// floorProfile is where the floor phase's CPU profile goes.
func floorProfile(path string) string {
	if path == "" {
		return ""
	}
	return path + ".floor"
}

// startProfile starts a CPU profile to path; the returned func stops it.
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if strings.HasSuffix(path, ".trace") {
		if err := trace.Start(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("trace: %w", err)
		}
		return func() {
			trace.Stop()
			f.Close()
		}, nil
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func round(v float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	if v < 0 {
		return -float64(int64(-v*p+0.5)) / p
	}
	return float64(int64(v*p+0.5)) / p
}

// machineInfo describes this machine.
func machineInfo() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			m.LoadAvg, _ = strconv.ParseFloat(f[0], 64)
		}
	}
	if kb := procStatusKB("/proc/meminfo", "MemTotal"); kb > 0 {
		m.MemoryMB = kb / 1024
	}
	return m
}

// procStatusKB reads a "Name:   123 kB" line of a /proc file.
func procURLs(procs []*proc) []string {
	var urls []string
	for _, p := range procs {
		urls = append(urls, p.url)
	}
	return urls
}

func procStatusKB(path, name string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == name {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

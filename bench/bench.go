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
	"fmt"
	"log/slog"
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
	"github.com/admitdev/admit/sqlstore"
)

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

	// The database's own pages written out before the load: after a large
	// import PostgreSQL's checkpoint, spread over minutes, would still be
	// writing the import's pages during the first rounds.
	if !cfg.NoCheckpoint {
		start := time.Now()
		switch err := store.Checkpoint(ctx); {
		case err == nil:
			rep.CheckpointSeconds = round(time.Since(start).Seconds(), 3)
			cfg.progress("database checkpointed in %.2f s", rep.CheckpointSeconds)
		case admit.ErrorCode(err) == admit.EForbidden:
			cfg.progress("database not checkpointed: %v", err)
		default:
			return nil, err
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

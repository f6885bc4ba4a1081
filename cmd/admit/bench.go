package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/admitdev/admit/bench"
	"github.com/admitdev/admit/progress"
)

const benchUsage = `usage: admit bench [flags]

Creates an event with --tickets tickets (organizer "bench"), starts a server
on a temporary SQLite database (or --db), pairs devices, drives scans through
the dialect's redeem endpoint (a mix of fresh tickets, duplicates and forged
codes), prints the figures as JSON, then verifies from the database that every
admitted scan is recorded exactly once and that no duplicate or forged code
got in. Exits non-zero if the verification fails.

Open loop at a set rate:        admit bench --rate 2000 --duration 20s
Closed loop, as fast as it can: admit bench --concurrency 64 --skip-write
PostgreSQL, two nodes:          admit bench --db postgres://... --nodes 2
Import time and peak memory:    admit bench --import 1000000 [--csv] [--db ...]
  (then the same rows inserted again by the engine's plainest fast way, and
  import_to_bulk_ratio: the import's time / that insert's time)
`

func cmdBench(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags("bench", env)
	fs.Usage = func() {
		fmt.Fprint(env.stderr, benchUsage+"\nflags:\n")
		fs.PrintDefaults()
	}
	var cfg bench.Config
	fs.StringVar(&cfg.DB, "db", "", "database: a SQLite file or a postgres:// URL (default: a temporary SQLite file); ADMIT_DB is not read")
	target := fs.String("target", "", "drive running servers instead (base URLs, comma-separated); needs --db, their database")
	spawn := fs.Bool("spawn", false, "run each node as a child `admit serve` process (measures its startup time and memory)")
	fs.IntVar(&cfg.Nodes, "nodes", 1, "servers on the one database, the load split between them (PostgreSQL)")
	fs.StringVar(&cfg.Dialect, "dialect", "tibillet", "tibillet (POST /scan/ticket/), pretixdroid (redeem/) or ticketing (v3 admissions)")
	fs.IntVar(&cfg.Tickets, "tickets", 250_000, "tickets of the event to create")
	fs.StringVar(&cfg.Event, "event", "", "reuse this event of organizer bench if it exists (its unscanned tickets), else create it under this slug")
	fs.Float64Var(&cfg.Rate, "rate", 0, "open loop: scans per second (latency from each scan's due time); 0: closed loop")
	fs.IntVar(&cfg.Concurrency, "concurrency", 64, "clients (closed loop), or senders (open loop)")
	fs.DurationVar(&cfg.Duration, "duration", 0, "measured time of each phase (default 10s)")
	fs.DurationVar(&cfg.Warmup, "warmup", time.Second, "load before the measured time, not measured (with --rounds, the first round's; the later ones warm up for 250ms at most)")
	fs.IntVar(&cfg.MaxScans, "max-scans", 0, "at most this many scans per phase (0: no bound but the time)")
	fs.Float64Var(&cfg.Duplicates, "duplicates", 0.10, "share of rescans of admitted tickets")
	fs.Float64Var(&cfg.ForgedShare, "forged", 0.01, "share of forged codes")
	fs.IntVar(&cfg.Devices, "devices", 8, "scanning devices (keys) the clients use in turn")
	fs.IntVar(&cfg.TicketCacheMB, "ticket-cache-mb", defaultTicketCacheMB, "each in-process node's ticket cache in MiB, as admit serve's --ticket-cache-mb (0: none)")
	fs.DurationVar(&cfg.DiskProbe, "disk-probe", 0, "after the load, time fsyncs of a scratch file beside the SQLite database for this long: the disk's share of a durable scan's latency (0: not measured)")
	fs.BoolVar(&cfg.Ceiling, "ceiling", false, "also measure the ceiling: a minimal in-memory server doing the least work a verified TiBillet scan needs, taking turns with the durable phase, and the ratio")
	fs.BoolVar(&cfg.NoCheckpoint, "no-checkpoint", false, "start the load without checkpointing the database after the import (PostgreSQL would still be writing the import's pages during the first rounds)")
	fs.BoolVar(&cfg.SkipWrite, "skip-write", false, "also measure the floor: the same request path with the storage write skipped, and the ratio")
	fs.IntVar(&cfg.Rounds, "rounds", 0, "split each phase's time into this many rounds, the durable phase and the floor taking turns (default 5 with --skip-write, else 1)")
	fs.IntVar(&cfg.Searches, "search", 0, "after the load, time this many searches, one at a time")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the durable phase to this file, and of the floor phase to FILE.floor (go tool pprof)")
	fs.BoolVar(&cfg.Keep, "keep", false, "keep the temporary SQLite database (its path is printed)")
	genImport := fs.String("gen-import", "", "only write the generated event's import file (JSON) to this file, or - for stdout, and exit")
	importN := fs.Int("import", 0, "only time `admit import` (a child process) of a generated file of this many tickets, and its peak resident memory, and exit")
	importCSV := fs.Bool("csv", false, "with --import: a CSV file into an existing event (else JSON)")
	noBulk := fs.Bool("no-bulk", false, "with --import: skip the bulk reference (the same rows inserted again by the engine's plainest fast way, timed after the import)")
	bulkRef := fs.String("bulk-reference", "", "only read out the orders and tickets of event `ORGANIZER/EVENT` (of --db; it must have no scans), delete them, insert the same rows again in one transaction (SQLite: prepared INSERTs, PostgreSQL: COPY), print the times as JSON, and exit: --import's reference")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return errUsage(fmt.Sprintf("bench takes no arguments, got %q", pos))
	}
	if *genImport != "" {
		slug := cfg.Event
		if slug == "" {
			slug = "import"
		}
		if *genImport == "-" {
			return bench.WriteImportJSON(env.stdout, cfg.Tickets, slug)
		}
		f, err := os.Create(*genImport)
		if err != nil {
			return err
		}
		if err := bench.WriteImportJSON(f, cfg.Tickets, slug); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	if *bulkRef != "" {
		org, ev, ok := strings.Cut(*bulkRef, "/")
		if !ok || org == "" || ev == "" || cfg.DB == "" {
			return errUsage("--bulk-reference needs ORGANIZER/EVENT and --db")
		}
		res, err := bench.BulkReference(ctx, cfg.DB, org, ev, quietLogger(env))
		if err != nil {
			return err
		}
		return printJSON(env.stdout, res)
	}
	if *importN > 0 {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		rep, err := bench.RunImport(ctx, bench.ImportConfig{Tickets: *importN, CSV: *importCSV, DB: cfg.DB, Admit: exe, NoBulk: *noBulk, Progress: env.stderr})
		if err != nil {
			return err
		}
		return printJSON(env.stdout, rep)
	}
	for _, t := range strings.Split(*target, ",") {
		if t = strings.TrimSpace(t); t != "" {
			cfg.Targets = append(cfg.Targets, t)
		}
	}
	if *spawn {
		if len(cfg.Targets) > 0 {
			return errUsage("--spawn and --target exclude each other")
		}
		if cfg.Spawn, err = bench.SpawnArgs(); err != nil {
			return err
		}
	}
	cfg.Progress = env.stderr
	if progress.Enabled(env.stderr) {
		cfg.Phase = func(name string, length time.Duration, answered func() int64) func() {
			start := time.Now()
			bar := progress.Start(env.stderr, name, "scans", func() (float64, int64) {
				return time.Since(start).Seconds() / length.Seconds(), answered()
			})
			return bar.Stop
		}
	}
	cfg.Log = quietLogger(env)
	rep, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if err := printJSON(env.stdout, rep); err != nil {
		return err
	}
	if !rep.Verified {
		return errors.New("bench: verification failed: see \"verification\" in the report")
	}
	if rep.Durable.Errors > 0 || (rep.Floor != nil && rep.Floor.Errors > 0) {
		return errors.New("bench: some scans got no valid answer: see \"errors\" and \"error_samples\" in the report")
	}
	return nil
}

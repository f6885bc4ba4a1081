// The benchmark's configuration (Config) and its defaults.

package bench

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/admitdev/admit"
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
	// NoCheckpoint starts the load without checkpointing the database
	// after the import (Store.Checkpoint), as admit bench did before.
	NoCheckpoint bool
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

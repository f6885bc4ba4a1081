package bench

import (
	"bytes"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/admitdev/admit"
)

// Report is what a run measured, printed as JSON.
type Report struct {
	Machine Machine   `json:"machine"`
	Store   string    `json:"store"`        // sqlite or postgres
	DB      string    `json:"db,omitempty"` // the SQLite file, when kept
	Dialect string    `json:"dialect"`
	Nodes   int       `json:"nodes"`
	Event   EventInfo `json:"event"`
	// Servers are the child processes (--spawn): startup and memory.
	Servers []ServerInfo `json:"servers,omitempty"`
	// ProcessRSSMB is this process's peak resident memory when the servers
	// run in it (the load generator included).
	ProcessRSSMB float64 `json:"process_peak_rss_mb,omitempty"`

	Durable        *Phase        `json:"durable"`
	Verification   *Verification `json:"verification"`
	Floor          *Phase        `json:"floor_skip_write,omitempty"`
	DurableToFloor float64       `json:"durable_to_floor_ratio,omitempty"`
	// Rounds is how many rounds each phase ran in (--rounds).
	Rounds int `json:"rounds"`
	// RoundRatios is each round's durable/floor ratio (--rounds above 1).
	RoundRatios []float64 `json:"round_ratios,omitempty"`
	// The ceiling (--ceiling): its phase, the durable phase's throughput
	// as a share of it, each round's ratio, and its answers checked.
	Ceiling             *Phase        `json:"ceiling,omitempty"`
	DurableToCeiling    float64       `json:"durable_to_ceiling_ratio,omitempty"`
	CeilingRoundRatios  []float64     `json:"ceiling_round_ratios,omitempty"`
	CeilingVerification *Verification `json:"ceiling_verification,omitempty"`
	// FloorVerification checks the floor's answers only (it writes nothing).
	FloorVerification *Verification `json:"floor_verification,omitempty"`
	Search            *SearchReport `json:"search,omitempty"`
	// Disk is the fsync latency of the database's disk (--disk-probe).
	Disk *DiskReport `json:"disk,omitempty"`
	// TicketCache: the in-process durable nodes' ticket caches, summed,
	// after the load; TicketCacheWarmSeconds is how long loading the
	// event's tickets into them took, before the load began.
	TicketCache            *admit.TicketCacheStats `json:"ticket_cache,omitempty"`
	TicketCacheWarmSeconds float64                 `json:"ticket_cache_warm_seconds,omitempty"`
	// CheckpointSeconds is how long the database's checkpoint before the
	// load took (Config.NoCheckpoint: none).
	CheckpointSeconds float64 `json:"checkpoint_seconds,omitempty"`
	CPUProfile        string  `json:"cpu_profile,omitempty"`
	FloorCPUProfile   string  `json:"floor_cpu_profile,omitempty"`

	// Verified: every admitted scan recorded exactly once, no duplicate or
	// forged code admitted (durable and floor).
	Verified bool `json:"verified"`

	procs   []*proc
	rssPeak int64 // kB, this process
}

// Machine describes where the run ran.
type Machine struct {
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPUModel   string `json:"cpu_model"`
	MemoryMB   int64  `json:"memory_mb"`
	GoVersion  string `json:"go_version"`
	OS         string `json:"os"`
	// LoadAvg is the 1-minute load average before the run: other work on
	// the machine shares its CPUs with the benchmark.
	LoadAvg float64 `json:"load_avg_1m_at_start"`
}

// EventInfo is the benchmark's event.
type EventInfo struct {
	Organizer           string  `json:"organizer"`
	Slug                string  `json:"slug"`
	UUID                string  `json:"uuid"`
	Tickets             int     `json:"tickets"`
	Unscanned           int     `json:"unscanned_at_start"`
	Reused              bool    `json:"reused,omitempty"`
	GenerateSeconds     float64 `json:"generate_seconds,omitempty"`
	ImportSeconds       float64 `json:"import_seconds,omitempty"` // Core.Import, one transaction
	ImportTicketsPerSec float64 `json:"import_tickets_per_sec,omitempty"`
}

// ServerInfo is a child server process.
type ServerInfo struct {
	URL string `json:"url"`
	// ReadySeconds is the time from the process's start to its first 200
	// on /healthz.
	ReadySeconds float64 `json:"ready_seconds"`
	RSSAtReadyMB float64 `json:"rss_at_ready_mb"`
	PeakRSSMB    float64 `json:"peak_rss_mb"` // VmHWM after the load
}

// Phase is one load phase.
type Phase struct {
	Name        string  `json:"name"`
	Mode        string  `json:"mode"` // open_loop or closed_loop
	TargetRate  float64 `json:"target_rate,omitempty"`
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"` // the measured window
	// Scans were answered in the measured window; TotalScans counts the
	// warm-up too.
	Scans       int     `json:"scans"`
	TotalScans  int     `json:"total_scans"`
	ScansPerSec float64 `json:"scans_per_sec"`
	// LatencyMS is from when each scan was due (open loop: its slot in the
	// schedule, so that a stall is not hidden) to its whole answer.
	LatencyMS       Latency            `json:"latency_ms"`
	LatencyByIntent map[string]Latency `json:"latency_ms_by_intent"`
	Errors          int                `json:"errors"`
	ErrorSamples    []string           `json:"error_samples,omitempty"`
	// Outcomes counts the answers by what each scan was (fresh, duplicate,
	// forged) and how it was answered.
	Outcomes         map[string]map[string]int `json:"outcomes"`
	TicketsExhausted bool                      `json:"tickets_exhausted,omitempty"`
	// CPU is what this process used during the phase (warm-up included):
	// with in-process servers, the servers and the load generator together.
	// CPUMicrosPerScan is that per answered scan, a figure that other work
	// on the machine does not change much; CPUShare is the cores it kept
	// busy, out of the machine's.
	CPUSeconds       float64 `json:"cpu_seconds"`
	CPUMicrosPerScan float64 `json:"cpu_us_per_scan"`
	CPUCores         float64 `json:"cpu_cores_busy"`
	// ServerCPU* are the same for the child servers alone (--spawn): the
	// load generator's share left out.
	ServerCPUMicrosPerScan float64 `json:"server_cpu_us_per_scan,omitempty"`
	ServerCPUCores         float64 `json:"server_cpu_cores_busy,omitempty"`
}

// Latency is a latency distribution in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
	N    int     `json:"n"`
}

func latencyOf(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	slices.Sort(d)
	q := func(p float64) float64 {
		i := int(p*float64(len(d))+0.5) - 1
		i = max(0, min(len(d)-1, i))
		return ms(d[i])
	}
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	return Latency{P50: q(0.50), P90: q(0.90), P99: q(0.99), P999: q(0.999), Max: ms(d[len(d)-1]),
		Mean: ms(sum / time.Duration(len(d))), N: len(d)}
}

func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 3) }

// cpuTime is this process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func phaseReport(name string, cfg *Config, a *answers) *Phase {
	p := &Phase{Name: name, Mode: "closed_loop", Concurrency: cfg.Concurrency, Scans: a.measured,
		Outcomes: map[string]map[string]int{}, LatencyByIntent: map[string]Latency{},
		ErrorSamples: a.errSamples, TicketsExhausted: a.exhausted}
	if cfg.Rate > 0 {
		p.Mode, p.TargetRate = "open_loop", cfg.Rate
	}
	p.Seconds = round(a.window.Seconds(), 3)
	if a.window > 0 {
		p.ScansPerSec = round(float64(a.measured)/a.window.Seconds(), 1)
	}
	for i := range numIntents {
		m := map[string]int{}
		for o := range numOutcomes {
			if n := a.counts[i][o]; n > 0 {
				m[o.String()] = n
				p.TotalScans += n
				if o == OutError {
					p.Errors += n
				}
			}
		}
		p.Outcomes[i.String()] = m
		if len(a.intentLat[i]) > 0 {
			p.LatencyByIntent[i.String()] = latencyOf(a.intentLat[i])
		}
	}
	p.LatencyMS = latencyOf(a.lat)
	p.CPUSeconds = round(a.cpu.Seconds(), 3)
	if p.TotalScans > 0 {
		p.CPUMicrosPerScan = round(float64(a.cpu.Microseconds())/float64(p.TotalScans), 1)
	}
	if a.wall > 0 {
		p.CPUCores = round(a.cpu.Seconds()/a.wall.Seconds(), 2)
	}
	if a.serverCPU > 0 && p.TotalScans > 0 && a.wall > 0 {
		p.ServerCPUMicrosPerScan = round(float64(a.serverCPU.Microseconds())/float64(p.TotalScans), 1)
		p.ServerCPUCores = round(a.serverCPU.Seconds()/a.wall.Seconds(), 2)
	}
	return p
}

// finish fills what is known at the end.
func (r *Report) finish(cfg *Config) {
	r.Verified = r.Verification != nil && r.Verification.OK && (r.FloorVerification == nil || r.FloorVerification.OK) &&
		(r.CeilingVerification == nil || r.CeilingVerification.OK)
	for _, p := range r.procs {
		r.Servers = append(r.Servers, p.info())
	}
	if r.rssPeak > 0 {
		r.ProcessRSSMB = round(float64(r.rssPeak)/1024, 1)
	}
}

// rssSampler samples resident memory while the load runs: this process's
// (in-process servers) and each child server's.
type rssSampler struct {
	stopc chan struct{}
	done  sync.WaitGroup
}

func startRSSSampler(r *Report) *rssSampler {
	s := &rssSampler{stopc: make(chan struct{})}
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if kb := procStatusKB("/proc/self/status", "VmRSS"); kb > r.rssPeak {
				r.rssPeak = kb
			}
			for _, p := range r.procs {
				p.sampleRSS()
			}
			select {
			case <-s.stopc:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) stop() {
	close(s.stopc)
	s.done.Wait()
}

// procCPU is the user and system CPU time process pid has used so far
// (/proc/PID/stat, in clock ticks of 10 ms), 0 if unknown.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(procPath(pid, "stat"))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses and may
	// hold spaces: state is field 3, utime 14 and stime 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(ut+st) * 10 * time.Millisecond
}

func procPath(pid int, file string) string {
	return "/proc/" + strconv.Itoa(pid) + "/" + file
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

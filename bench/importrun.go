package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/sqlstore"
)

// ImportConfig is an import benchmark: a generated file of Tickets
// tickets imported by a child `admit import` process.
type ImportConfig struct {
	Tickets  int
	CSV      bool   // a CSV file into an existing event, else JSON
	DB       string // SQLite file or postgres:// URL; "" a temporary SQLite file
	Admit    string // the admit executable
	NoBulk   bool   // skip the bulk reference
	Progress io.Writer
}

// ImportReport is what the import benchmark measured.
type ImportReport struct {
	Tickets   int     `json:"tickets"`
	Format    string  `json:"format"`
	DB        string  `json:"db"`
	FileBytes int64   `json:"file_bytes"`
	Seconds   float64 `json:"seconds"` // the child's wall time
	// PeakRSSMB is the child's peak resident memory (getrusage's ru_maxrss);
	// VmHWMMB the highest VmHWM read from /proc/PID/status every 100 ms.
	PeakRSSMB float64 `json:"peak_rss_mb"`
	VmHWMMB   float64 `json:"vmhwm_mb"`
	// The child's own report: its counts and times.
	Output json.RawMessage `json:"admit_import"`
	// Bulk is the reference, measured in the same run right after the
	// import: the import's own rows read out, deleted and inserted again
	// by the plainest fast way of the engine, in a child process too
	// (`admit bench --bulk-reference`), with its peak resident memory.
	Bulk *BulkReport `json:"bulk,omitempty"`
	// ImportToBulkRatio is Seconds (the whole `admit import`: reading,
	// checking, signing and writing) divided by the bulk insert's time:
	// how many times longer the import takes than inserting its rows.
	ImportToBulkRatio float64 `json:"import_to_bulk_ratio,omitempty"`
}

// BulkReport is the bulk reference's child: its own figures and its peak
// resident memory.
type BulkReport struct {
	PeakRSSMB float64         `json:"peak_rss_mb"`
	Output    json.RawMessage `json:"admit_bench_bulk_reference"`
	Insert    float64         `json:"insert_seconds"`
}

// RunImport generates the file in a temporary directory and times the
// child `admit import` on it.
func RunImport(ctx context.Context, cfg ImportConfig) (*ImportReport, error) {
	if cfg.Tickets < 1 {
		return nil, admit.Errorf(admit.EInvalid, "--import needs at least one ticket")
	}
	dir, err := os.MkdirTemp("", "admit-import-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	db := cfg.DB
	if db == "" {
		db = filepath.Join(dir, "bench.db")
	}
	slug := "imp-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	rep := &ImportReport{Tickets: cfg.Tickets, Format: "json", DB: "sqlite"}
	if len(db) > 11 && db[:11] == "postgres://" {
		rep.DB = "postgresql"
	}
	progress := func(format string, args ...any) {
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, format+"\n", args...)
		}
	}
	file := filepath.Join(dir, "import.json")
	args := []string{"import", file, "--db", db}
	// A child process writes the JSON file: this one stays small (the
	// memory of the process that starts a child counts in the child's
	// ru_maxrss until it execs).
	write := func(io.Writer) error {
		_, _, err := runChild(ctx, cfg.Admit, "bench", "--gen-import", file, "--tickets", strconv.Itoa(cfg.Tickets), "--event", slug)
		return err
	}
	if cfg.CSV {
		rep.Format = "csv"
		head := filepath.Join(dir, "event.json")
		if err := writeFile(head, func(w io.Writer) error { return WriteImportHeader(w, slug) }); err != nil {
			return nil, err
		}
		if _, _, err := runChild(ctx, cfg.Admit, "import", head, "--db", db); err != nil {
			return nil, err
		}
		file = filepath.Join(dir, "import.csv")
		args = []string{"import", "--csv", file, "--event", Organizer + "/" + slug, "--db", db}
		write = func(f io.Writer) error { return WriteImportCSV(f, cfg.Tickets) }
	}
	progress("generating %s (%d tickets)", file, cfg.Tickets)
	if cfg.CSV {
		if err := writeFile(file, write); err != nil {
			return nil, err
		}
	} else if err := write(nil); err != nil {
		return nil, err
	}
	st, err := os.Stat(file)
	if err != nil {
		return nil, err
	}
	rep.FileBytes = st.Size()
	progress("admit %v", args)
	t0 := time.Now()
	var hwm int64
	out, rss, err := runChildWatched(ctx, cfg.Admit, func(pid int) {
		if kb := vmHWM(pid); kb > hwm {
			hwm = kb
		}
	}, args...)
	if err != nil {
		return nil, err
	}
	rep.Seconds = round(time.Since(t0).Seconds(), 3)
	rep.PeakRSSMB = round(float64(rss)/1024, 1)
	rep.VmHWMMB = round(float64(hwm)/1024, 1)
	rep.Output = out
	if !cfg.NoBulk {
		progress("admit bench --bulk-reference %s/%s (the same rows inserted again)", Organizer, slug)
		bout, brss, err := runChild(ctx, cfg.Admit, "bench", "--bulk-reference", Organizer+"/"+slug, "--db", db)
		if err != nil {
			return nil, err
		}
		var br sqlstore.BulkResult
		if err := json.Unmarshal(bout, &br); err != nil {
			return nil, fmt.Errorf("bulk reference: %v", err)
		}
		rep.Bulk = &BulkReport{PeakRSSMB: round(float64(brss)/1024, 1), Output: bout, Insert: round(br.InsertSeconds, 3)}
		if br.InsertSeconds > 0 {
			rep.ImportToBulkRatio = round(rep.Seconds/br.InsertSeconds, 2)
		}
	}
	return rep, nil
}

// BulkReference is `admit bench --bulk-reference ORGANIZER/EVENT`: the
// event's orders and tickets read out, deleted and inserted again in one
// transaction (sqlstore.BulkReinsert).
func BulkReference(ctx context.Context, db, orgSlug, evSlug string, log *slog.Logger) (*sqlstore.BulkResult, error) {
	store, err := sqlstore.Open(ctx, db, log)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	org, err := store.OrganizerBySlug(ctx, orgSlug)
	if err != nil {
		return nil, err
	}
	ev, err := store.EventBySlug(ctx, org.ID, evSlug)
	if err != nil {
		return nil, err
	}
	return store.BulkReinsert(ctx, ev.ID)
}

func writeFile(name string, write func(io.Writer) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// runChild runs admit with args and returns its stdout and peak RSS (kB).
func runChild(ctx context.Context, exe string, args ...string) ([]byte, int64, error) {
	return runChildWatched(ctx, exe, nil, args...)
}

// runChildWatched is runChild calling watch with the child's pid every
// 100 ms while it runs.
func runChildWatched(ctx context.Context, exe string, watch func(pid int), args ...string) ([]byte, int64, error) {
	cmd := exec.CommandContext(ctx, exe, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	done := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if watch != nil {
					watch(cmd.Process.Pid)
				}
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	<-watched
	if err != nil {
		return nil, 0, fmt.Errorf("admit %v: %v: %s", args, err, bytes.TrimSpace(stderr.Bytes()))
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss
	}
	return stdout.Bytes(), rss, nil
}

// vmHWM reads a process's VmHWM (kB) from /proc, 0 if it cannot.
func vmHWM(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb
		}
	}
	return 0
}

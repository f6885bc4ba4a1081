package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/admitdev/admit"
)

// ImportConfig is an import benchmark: a generated file of Tickets
// tickets imported by a child `admit import` process.
type ImportConfig struct {
	Tickets  int
	CSV      bool   // a CSV file into an existing event, else JSON
	DB       string // SQLite file or postgres:// URL; "" a temporary SQLite file
	Admit    string // the admit executable
	Progress io.Writer
}

// ImportReport is what the import benchmark measured.
type ImportReport struct {
	Tickets   int     `json:"tickets"`
	Format    string  `json:"format"`
	DB        string  `json:"db"`
	FileBytes int64   `json:"file_bytes"`
	Seconds   float64 `json:"seconds"` // the child's wall time
	// PeakRSSMB is the child's peak resident memory (getrusage's ru_maxrss).
	PeakRSSMB float64 `json:"peak_rss_mb"`
	// The child's own report: its counts and times.
	Output json.RawMessage `json:"admit_import"`
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
	write := func(f io.Writer) error { return WriteImportJSON(f, cfg.Tickets, slug) }
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
	if err := writeFile(file, write); err != nil {
		return nil, err
	}
	st, err := os.Stat(file)
	if err != nil {
		return nil, err
	}
	rep.FileBytes = st.Size()
	progress("admit %v", args)
	t0 := time.Now()
	out, rss, err := runChild(ctx, cfg.Admit, args...)
	if err != nil {
		return nil, err
	}
	rep.Seconds = round(time.Since(t0).Seconds(), 3)
	rep.PeakRSSMB = round(float64(rss)/1024, 1)
	rep.Output = out
	return rep, nil
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
	cmd := exec.CommandContext(ctx, exe, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, 0, fmt.Errorf("admit %v: %v: %s", args, err, bytes.TrimSpace(stderr.Bytes()))
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss
	}
	return stdout.Bytes(), rss, nil
}

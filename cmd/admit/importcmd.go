package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/progress"
)

const importUsage = `usage: admit import FILE.json|- [--tickets] [--db ...]
       admit import --csv FILE.csv|- --event ORGANIZER/EVENT [--map 'order_code=Order number,email=E-mail'] [--ignore 'Total,Date'] [--tickets] [--db ...]`

func cmdImport(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags("import", env)
	db := dbFlag(fs, env)
	list := fs.Bool("tickets", false, "also list every ticket of the file (uuid, secret, serial, order, QR code data), in its order")
	csvFile := fs.Bool("csv", false, "the file is CSV: one row per ticket, into the existing event --event")
	event := fs.String("event", "", "with --csv: the event, as ORGANIZER/EVENT (slugs)")
	mapping := fs.String("map", "", "with --csv: columns named otherwise in the file, as column=header,... (e.g. 'order_code=Order number,email=E-mail')")
	ignore := fs.String("ignore", "", "with --csv: the file's columns to skip, comma-separated headers")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errUsage(importUsage)
	}
	if !*csvFile && (*event != "" || *mapping != "" || *ignore != "") {
		return errUsage("--event, --map and --ignore go with --csv\n" + importUsage)
	}
	var req admit.CSVImportRequest
	var orgSlug, evSlug string
	if *csvFile {
		var ok bool
		if orgSlug, evSlug, ok = strings.Cut(*event, "/"); !ok || orgSlug == "" || evSlug == "" {
			return errUsage("--csv needs --event ORGANIZER/EVENT\n" + importUsage)
		}
		if req.Map, err = parseMap(*mapping); err != nil {
			return err
		}
		for _, c := range strings.Split(*ignore, ",") {
			if c = strings.TrimSpace(c); c != "" {
				req.Ignore = append(req.Ignore, c)
			}
		}
	}
	var r io.Reader = env.stdin
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return fmt.Errorf("open import file: %w", err)
		}
		defer f.Close()
		r = f
	}
	// On a terminal, a bar: how much of the file is read, the tickets
	// written, their rate and the time left.
	var cr *countingReader
	var tickets atomic.Int64
	if progress.Enabled(env.stderr) {
		cr = &countingReader{r: r, size: -1}
		if f, ok := r.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
				cr.size = fi.Size()
			}
		}
		r = cr
		req.Progress = func(n int) { tickets.Store(int64(n)) }
	}
	core, closeStore, err := openCore(ctx, env, *db, quietLogger(env))
	if err != nil {
		return err
	}
	defer closeStore()
	if cr != nil {
		bar := progress.Start(env.stderr, "import", "tickets", func() (float64, int64) { return cr.fraction(), tickets.Load() })
		defer bar.Stop() // before the output: the bar's line ends first
	}
	rep, err := runImportCmd(ctx, core, r, *csvFile, orgSlug, evSlug, req)
	if err != nil {
		return err
	}
	defer rep.Close()
	return rep.WriteJSON(ctx, env.stdout, *list)
}

// runImportCmd imports r: a CSV file into the event orgSlug/evSlug, or a
// JSON file.
func runImportCmd(ctx context.Context, core *admit.Core, r io.Reader, csvFile bool, orgSlug, evSlug string, req admit.CSVImportRequest) (*admit.ImportReport, error) {
	if !csvFile {
		return core.ImportJSON(ctx, r, admit.ImportRequest{Progress: req.Progress})
	}
	org, err := core.Store.OrganizerBySlug(ctx, orgSlug)
	if err != nil {
		if admit.IsNotFound(err) {
			return nil, admit.Errorf(admit.ENotFound, "unknown organizer %q", orgSlug)
		}
		return nil, err
	}
	if req.Event, err = core.Store.EventBySlug(ctx, org.ID, evSlug); err != nil {
		if admit.IsNotFound(err) {
			return nil, admit.Errorf(admit.ENotFound, "unknown event %q of organizer %q", evSlug, orgSlug)
		}
		return nil, err
	}
	return core.ImportCSV(ctx, r, req)
}

// countingReader counts what is read, for the progress bar.
type countingReader struct {
	r    io.Reader
	n    atomic.Int64
	size int64 // -1: unknown
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// fraction is how much of the file is read: 0 to 1, -1 when its size is
// unknown (a pipe).
func (c *countingReader) fraction() float64 {
	if c.size <= 0 {
		return -1
	}
	return float64(c.n.Load()) / float64(c.size)
}

// parseMap reads --map: column=header pairs, comma-separated.
func parseMap(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	m := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(pair, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return nil, errUsage(fmt.Sprintf("--map: %q is not column=header", pair))
		}
		if _, dup := m[strings.ToLower(k)]; dup {
			return nil, errUsage(fmt.Sprintf("--map: column %q is mapped twice", k))
		}
		m[strings.ToLower(k)] = v
	}
	return m, nil
}

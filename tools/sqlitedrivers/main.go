// Command sqlitedrivers measures what admit's SQLite scan path costs on
// different database/sql SQLite drivers: CPU and wall time per scan (a
// first entry and its scan row, in transactions of 1, 16 and 64 scans),
// per read of a check-in state by key, and per SELECT 1. See README.md.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
)

func main() {
	var (
		cfg     config
		only    = flag.String("driver", "", "comma-separated drivers to measure (default: every one built in: "+strings.Join(driverOrder(), ", ")+")")
		batches = flag.String("batches", "1,16,64", "scans per transaction, comma-separated")
		jsonl   = flag.Bool("jsonl", false, "measure in this process and print one JSON line per run (what -report reads)")
		report  = flag.Bool("report", false, "read JSON lines from standard input and print the table")
	)
	flag.IntVar(&cfg.scans, "scans", 20000, "scans (and reads; SELECT 1s: ten times as many) per measured run")
	flag.IntVar(&cfg.runs, "runs", 5, "measured runs per driver and operation")
	flag.IntVar(&cfg.tickets, "tickets", 250000, "distinct ticket ids")
	flag.IntVar(&cfg.warmup, "warmup", 2000, "unmeasured scans and reads before the first run")
	flag.StringVar(&cfg.dir, "dir", os.TempDir(), "where the temporary databases go (removed after)")
	flag.Parse()

	if *report {
		rows, err := readRows(os.Stdin)
		if err != nil {
			fatal(err)
		}
		printTable(os.Stdout, rows)
		return
	}
	for _, s := range strings.Split(*batches, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fatal(fmt.Errorf("-batches: bad size %q", s))
		}
		cfg.batches = append(cfg.batches, n)
	}
	if cfg.scans < 1 || cfg.runs < 1 || cfg.tickets < 1 || cfg.warmup < 0 {
		fatal(fmt.Errorf("-scans, -runs and -tickets must be positive, -warmup not negative"))
	}
	names := driverOrder()
	if *only != "" {
		names = nil
		for _, n := range strings.Split(*only, ",") {
			n = strings.TrimSpace(n)
			if _, ok := drivers[n]; !ok {
				fatal(fmt.Errorf("driver %q is not built in (built in: %s; mattn needs -tags mattn and cgo)", n, strings.Join(driverOrder(), ", ")))
			}
			names = append(names, n)
		}
	}

	ctx := context.Background()
	progress := func(s string) { fmt.Fprintln(os.Stderr, s) }
	if *jsonl {
		enc := json.NewEncoder(os.Stdout)
		for _, n := range names {
			rows, err := runDriver(ctx, cfg, drivers[n], progress)
			if err != nil {
				fatal(fmt.Errorf("%s: %w", n, err))
			}
			for _, r := range rows {
				if err := enc.Encode(r); err != nil {
					fatal(err)
				}
			}
		}
		return
	}

	// Each driver in a process of its own: the CPU time is the process's,
	// and no driver runs on the heap or the threads another left behind.
	self, err := os.Executable()
	if err != nil {
		fatal(err)
	}
	var all []result
	for _, n := range names {
		args := []string{"-jsonl", "-driver", n, "-batches", *batches,
			"-scans", strconv.Itoa(cfg.scans), "-runs", strconv.Itoa(cfg.runs),
			"-tickets", strconv.Itoa(cfg.tickets), "-warmup", strconv.Itoa(cfg.warmup), "-dir", cfg.dir}
		cmd := exec.Command(self, args...)
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			fatal(fmt.Errorf("%s: %w", n, err))
		}
		rows, err := readRows(strings.NewReader(string(out)))
		if err != nil {
			fatal(err)
		}
		all = append(all, rows...)
	}
	printTable(os.Stdout, all)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "sqlitedrivers:", err)
	os.Exit(1)
}

func readRows(r io.Reader) ([]result, error) {
	var rows []result
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var res result
		if err := json.Unmarshal([]byte(line), &res); err != nil {
			return nil, fmt.Errorf("bad result line %q: %w", line, err)
		}
		rows = append(rows, res)
	}
	return rows, sc.Err()
}

type stat struct{ med, min, max float64 }

func stats(v []float64) stat {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return stat{med, s[0], s[len(s)-1]}
}

func (s stat) String() string {
	if s.med < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f (%.2f–%.2f)", s.med/1e3, s.min/1e3, s.max/1e3)
}

// printTable prints one markdown row per driver and operation: the median
// and range over the runs, in µs per op, and the median CPU time against
// modernc's (admit's driver) for the same operation.
func printTable(w io.Writer, rows []result) {
	type key struct {
		driver string
		ord    int
		op     string
	}
	cpu := map[key][]float64{}
	wall := map[key][]float64{}
	var keys []key
	desc := map[string]string{}
	version := map[string]string{}
	var order []string
	for _, r := range rows {
		k := key{r.Driver, r.Ordinal, r.Op}
		if _, ok := cpu[k]; !ok {
			keys = append(keys, k)
		}
		cpu[k] = append(cpu[k], r.CPUNs)
		wall[k] = append(wall[k], r.WallNs)
		if _, ok := desc[r.Driver]; !ok {
			order = append(order, r.Driver)
		}
		desc[r.Driver], version[r.Driver] = r.Desc, r.SQLite
	}
	rank := map[string]int{}
	for i, d := range order {
		rank[d] = i
	}
	sort.SliceStable(keys, func(i, j int) bool {
		if keys[i].ord != keys[j].ord {
			return keys[i].ord < keys[j].ord
		}
		return rank[keys[i].driver] < rank[keys[j].driver]
	})
	base := map[string]float64{}
	for _, k := range keys {
		if k.driver == "modernc" {
			base[k.op] = stats(cpu[k]).med
		}
	}
	fmt.Fprintln(w, "| operation | driver | CPU µs/op, median (min–max) | wall µs/op, median (min–max) | CPU vs modernc | runs × ops |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- |")
	for _, k := range keys {
		c := stats(cpu[k])
		ratio := "–"
		if b, ok := base[k.op]; ok && b > 0 && c.med >= 0 {
			ratio = fmt.Sprintf("%.2f×", c.med/b)
		}
		n := 0
		for _, r := range rows {
			if r.Driver == k.driver && r.Op == k.op {
				n = r.N
				break
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %d × %d |\n", k.op, k.driver, c, stats(wall[k]), ratio, len(cpu[k]), n)
	}
	fmt.Fprintln(w)
	for _, d := range order {
		fmt.Fprintf(w, "- %s: %s, SQLite %s\n", d, desc[d], version[d])
	}
}

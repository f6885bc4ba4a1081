package bench

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/admitdev/admit"
)

// --disk-probe times fsyncs beside the SQLite database after the load: a
// distribution of as many syncs as the time allowed, one every interval at
// most, its scratch file gone afterwards; PostgreSQL's disk is not the
// bench's to probe.
func TestBenchDiskProbeTimesFsyncsBesideTheDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("a load run")
	}
	pg := "postgres://postgres@127.0.0.1:5432/none?sslmode=disable"
	if _, err := Run(context.Background(), Config{DB: pg, DiskProbe: time.Second}); admit.ErrorCode(err) != admit.EInvalid {
		t.Fatalf("--disk-probe with PostgreSQL: %v, want invalid", err)
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "b.db")
	rep, err := Run(context.Background(), Config{DB: db, Tickets: 300, Duration: 200 * time.Millisecond, Concurrency: 2,
		Devices: 1, DiskProbe: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	d := rep.Disk
	if d == nil {
		t.Fatal("no disk report")
	}
	l := d.FsyncMS
	if d.Dir != dir || d.Seconds < 0.4 || l.N < 1 || l.N > 201 || l.P50 <= 0 || l.P50 > l.P99 || l.P99 > l.Max {
		t.Errorf("disk report %+v", d)
	}
	left, err := filepath.Glob(filepath.Join(dir, "admit-disk-probe-*"))
	if err != nil || len(left) != 0 {
		t.Errorf("scratch files left: %v %v", left, err)
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("the database: %v", err)
	}
}

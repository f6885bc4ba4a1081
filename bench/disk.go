package bench

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/admitdev/admit"
)

// DiskReport is how long the disk under the SQLite database takes to make a
// write durable (fsync), measured beside the load in the same run: a
// durable answer waits for at least one fsync of the WAL, so these
// percentiles are the floor under a durable scan's latency on this machine,
// today, whatever the server does.
type DiskReport struct {
	Dir string `json:"dir"`
	// Each sync follows a write of WriteBytes appended to a file, at most
	// one sync every Interval (the next at once when one took longer), as
	// the store's syncer does under a moderate load.
	WriteBytes int     `json:"write_bytes"`
	IntervalMS float64 `json:"interval_ms"`
	Seconds    float64 `json:"seconds"`
	FsyncMS    Latency `json:"fsync_ms"`
}

const (
	diskWrite    = 8 << 10 // two pages of a batch, and the frame headers
	diskInterval = 2 * time.Millisecond
)

// probeDisk appends and fsyncs a scratch file in dir for d, and reports
// the fsync latencies. The file is removed.
func probeDisk(ctx context.Context, dir string, d time.Duration) (*DiskReport, error) {
	f, err := os.CreateTemp(dir, "admit-disk-probe-*")
	if err != nil {
		return nil, admit.WrapInternal(err, "disk probe: a scratch file")
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, diskWrite)
	for i := range buf {
		buf[i] = byte(i)
	}
	var lat []time.Duration
	start := time.Now()
	next := start
	for time.Since(start) < d && ctx.Err() == nil {
		if wait := time.Until(next); wait > 0 {
			time.Sleep(wait)
		}
		next = time.Now().Add(diskInterval)
		if _, err := f.Write(buf); err != nil {
			return nil, admit.WrapInternal(err, "disk probe: write")
		}
		t := time.Now()
		if err := f.Sync(); err != nil {
			return nil, admit.WrapInternal(err, "disk probe: fsync")
		}
		lat = append(lat, time.Since(t))
		if len(lat)%4096 == 0 { // keep the file small
			if err := f.Truncate(0); err != nil {
				return nil, admit.WrapInternal(err, "disk probe: truncate")
			}
			if _, err := f.Seek(0, 0); err != nil {
				return nil, admit.WrapInternal(err, "disk probe: seek")
			}
		}
	}
	return &DiskReport{Dir: filepath.Clean(dir), WriteBytes: diskWrite, IntervalMS: ms(diskInterval),
		Seconds: round(time.Since(start).Seconds(), 3), FsyncMS: latencyOf(lat)}, nil
}

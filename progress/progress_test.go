package progress_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/admitdev/admit/progress"
)

func TestLine(t *testing.T) {
	cases := []struct {
		name     string
		fraction float64
		count    int64
		elapsed  time.Duration
		want     string
	}{
		{"at the start, no rate yet", 0, 0, 100 * time.Millisecond,
			"import  [>                       ]   0%  0 tickets"},
		{"half way: rate and time left", 0.5, 123456, 10 * time.Second,
			"import  [============>           ]  50%  123,456 tickets  12,345/s  10s left"},
		{"done: no time left", 1, 1000000, 20 * time.Second,
			"import  [========================] 100%  1,000,000 tickets  50,000/s"},
		{"an unknown size: count and rate only", -1, 5000, 2 * time.Second,
			"import  5,000 tickets  2,500/s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := progress.Line("import", "tickets", c.fraction, c.count, c.elapsed); got != c.want {
				t.Fatalf("\n got %q\nwant %q", got, c.want)
			}
		})
	}
}

// Not a terminal: nothing is drawn.
func TestNothingOffATerminal(t *testing.T) {
	var buf bytes.Buffer
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, w := range []io.Writer{&buf, f} {
		b := progress.Start(w, "import", "tickets", func() (float64, int64) { return 0.5, 10 })
		time.Sleep(2 * progress.Every)
		b.Stop()
	}
	fi, _ := f.Stat()
	if buf.Len() != 0 || fi.Size() != 0 {
		t.Fatalf("drawn off a terminal: %q, %d bytes in a file", buf.String(), fi.Size())
	}
	if progress.Enabled(&buf) || progress.Enabled(f) {
		t.Fatal("a buffer or a file taken for a terminal")
	}
}

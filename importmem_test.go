package admit_test

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"testing"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/admittest"
	"github.com/admitdev/admit/bench"
)

// liveHeap is the Go heap still reachable after a collection.
func liveHeap() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestImportMemoryDoesNotGrowWithTheFile imports a generated file of
// 24,576 tickets (six chunks of the import), read from a file as admit
// import does, and reads the live Go heap after every chunk the import
// writes (inside its transaction, before the commit). A streamed import
// holds one chunk at a time: after the first chunk (which makes what an
// import keeps whatever its size: the pools of new values, the prepared
// statements) the heap stays level. An import holding the decoded file, or
// anything per ticket (a map of the file's uuids or secrets to find
// duplicates), rises with every chunk. The bound allows 32 bytes a ticket.
func TestImportMemoryDoesNotGrowWithTheFile(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 24,576 tickets")
	}
	core := admittest.OpenCore(t, admittest.DSN(t))
	const n, chunks = 24576, 6
	name := filepath.Join(t.TempDir(), "import.json")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := bench.WriteImportJSON(f, n, "mem"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	var heap []uint64
	var written []int
	rep, err := core.ImportJSON(bg, f, admit.ImportRequest{Progress: func(tickets int) {
		heap = append(heap, liveHeap())
		written = append(written, tickets)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer rep.Close()
	if rep.Output.Counts.Created != n {
		t.Fatalf("%d tickets created, want %d", rep.Output.Counts.Created, n)
	}
	if len(heap) < chunks {
		t.Fatalf("%d samples: the import reported fewer chunks than %d", len(heap), chunks)
	}
	t.Logf("live heap after each chunk (kB): %v, at tickets %v", kB(heap), written)
	const perTicket = 32
	for i := 2; i < len(heap); i++ {
		if heap[i] > heap[1] && heap[i]-heap[1] > uint64(written[i]-written[1])*perTicket {
			t.Errorf("the live heap rose by %d kB from ticket %d to %d (%d bytes a ticket): the import keeps something per ticket",
				(heap[i]-heap[1])>>10, written[1], written[i], (heap[i]-heap[1])/uint64(written[i]-written[1]))
		}
	}
}

func kB(xs []uint64) []uint64 {
	out := make([]uint64, len(xs))
	for i, x := range xs {
		out[i] = x >> 10
	}
	return out
}

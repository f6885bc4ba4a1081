package live_test

import (
	"testing"

	"github.com/admitdev/admit/live"
)

// The scan path's share of a live event: Publish to a hub with no
// subscriber of the event, and with one.
func BenchmarkPublishNoSubscriber(b *testing.B) {
	h := live.NewHub(0, nil)
	s := scan(1, 1)
	for b.Loop() {
		h.Publish(s)
	}
}

// One subscriber, read after each scan (in the benchmark's goroutine, so
// that it always keeps up): the fan-out's send and the reader's receive.
func BenchmarkPublishOneSubscriber(b *testing.B) {
	h := live.NewHub(0, nil)
	ch, stop := h.Subscribe(1)
	defer stop()
	s := scan(1, 1)
	for b.Loop() {
		h.Publish(s)
		<-ch
	}
}

// Package live fans recorded scans out to live subscribers on one node: a
// Hub implements admit.Live in memory. Between nodes on PostgreSQL,
// sqlstore wraps a Hub with LISTEN/NOTIFY (sqlstore.Store.Live).
//
// Publishing never blocks: every subscriber has one buffered channel, and a
// subscriber whose buffer is full when a scan arrives is dropped (its
// channel closed), counted, and logged at most once per LogEvery. A Hub
// runs no goroutine of its own.
package live

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/admitdev/admit"
)

// DefaultBuffer is a subscriber's channel capacity when NewHub is given 0.
const DefaultBuffer = 256

// LogEvery is how often, at most, a hub logs that it dropped subscribers.
const LogEvery = 10 * time.Second

// Hub is one node's live subscribers, per event. The zero value is not
// usable: make one with NewHub.
type Hub struct {
	log    *slog.Logger
	buffer int

	// mu guards subs and closed. Publish holds it shared while it sends
	// (non-blocking); a channel is closed only with it held exclusively, so
	// a send never meets a closed channel.
	mu     sync.RWMutex
	subs   map[int64]map[*sub]struct{}
	closed bool

	published atomic.Int64
	drops     atomic.Int64
	logged    Throttle
}

type sub struct {
	event int64
	ch    chan *admit.LiveScan
}

var _ admit.Live = (*Hub)(nil)

// NewHub returns a hub whose subscribers each have a channel of buffer
// scans (DefaultBuffer if 0 or less). A nil logger discards.
func NewHub(buffer int, log *slog.Logger) *Hub {
	if buffer <= 0 {
		buffer = DefaultBuffer
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Hub{log: log, buffer: buffer, subs: map[int64]map[*sub]struct{}{}, logged: Throttle{Every: LogEvery}}
}

// Publish hands s to every subscriber of its event on this node. It never
// blocks: a subscriber whose buffer is full is dropped. Subscribers share
// s: none may modify it. After Close it does nothing.
func (h *Hub) Publish(s *admit.LiveScan) {
	if s == nil {
		return
	}
	var full []*sub
	h.mu.RLock()
	if h.closed {
		h.mu.RUnlock()
		return
	}
	h.published.Add(1)
	for sb := range h.subs[s.EventID] {
		select {
		case sb.ch <- s:
		default:
			full = append(full, sb)
		}
	}
	h.mu.RUnlock()
	if len(full) == 0 {
		return
	}
	h.mu.Lock()
	n := 0
	for _, sb := range full {
		if h.remove(sb) {
			n++
		}
	}
	h.mu.Unlock()
	if n == 0 {
		return
	}
	total := h.drops.Add(int64(n))
	if h.logged.Allow() {
		h.log.Warn("live: dropped subscribers that did not keep up", "event", s.EventID,
			"dropped_now", n, "dropped_total", total, "buffer", h.buffer)
	}
}

// Subscribe returns a channel of the event's scans published from now on,
// and a function that ends the subscription and closes the channel; it may
// be called any number of times, from any goroutine. A subscriber whose
// buffer is full when a scan arrives is dropped: its channel is closed.
// After Close, the channel is closed at once.
func (h *Hub) Subscribe(eventID int64) (<-chan *admit.LiveScan, func()) {
	sb := &sub{event: eventID, ch: make(chan *admit.LiveScan, h.buffer)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(sb.ch)
		return sb.ch, func() {}
	}
	m := h.subs[eventID]
	if m == nil {
		m = map[*sub]struct{}{}
		h.subs[eventID] = m
	}
	m[sb] = struct{}{}
	return sb.ch, func() {
		h.mu.Lock()
		h.remove(sb)
		h.mu.Unlock()
	}
}

// remove ends sb's subscription if it is still on, and reports whether it
// was. h.mu must be held exclusively.
func (h *Hub) remove(sb *sub) bool {
	m := h.subs[sb.event]
	if _, ok := m[sb]; !ok {
		return false
	}
	delete(m, sb)
	if len(m) == 0 {
		delete(h.subs, sb.event)
	}
	close(sb.ch)
	return true
}

// Close ends every subscription (their channels are closed, which ends an
// SSE stream) and makes Publish a no-op. It may be called more than once.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for _, m := range h.subs {
		for sb := range m {
			close(sb.ch)
		}
	}
	h.subs = nil
}

// Stats is what a hub counted.
type Stats struct {
	Published   int64 // scans published (before Close)
	Dropped     int64 // subscribers dropped for not keeping up
	Subscribers int   // subscriptions on now
}

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	h.mu.RLock()
	n := 0
	for _, m := range h.subs {
		n += len(m)
	}
	h.mu.RUnlock()
	return Stats{Published: h.published.Load(), Dropped: h.drops.Load(), Subscribers: n}
}

// Throttle allows one event per Every (for log lines about drops): Allow
// reports whether this one may be logged. The zero Every allows every one.
// Safe for concurrent use.
type Throttle struct {
	Every time.Duration
	last  atomic.Int64 // unix nanoseconds of the last allowed event
}

// Allow reports whether an event now is the first in its period.
func (t *Throttle) Allow() bool {
	now := time.Now().UnixNano()
	last := t.last.Load()
	if last != 0 && now-last < int64(t.Every) {
		return false
	}
	return t.last.CompareAndSwap(last, now)
}

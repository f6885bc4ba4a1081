package admit

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// ticketCache keeps the tickets of events, read at one catalog version,
// in memory, so that a scan finds its ticket without a query: the read of
// the ticket was a fifth of a durable scan's CPU on SQLite, and most of it
// the page cache every commit makes the readers drop.
//
// An event's tickets are loaded whole (Store.EventTickets, one snapshot)
// in the background, when a scan of the event finds them missing or of
// another catalog version; until then scans read the store as before.
// Every change of a ticket or order moves the store's TicketsVersion
// (imports, blocking), so a cached ticket is the stored one while it
// stays: a scan judged on a cached ticket gives its version to Store.Scan,
// which writes nothing if it has moved on meanwhile (ScanOutcome.Stale),
// and the scan is judged again from the store (and the event's tickets
// loaded again). Dry runs and offline uploads, which the
// store would not check so, always read the store.
//
// Each ticket is kept encoded, without its QR code (about 400 bytes with
// its index entries), found through one map per event from a hash of its
// uuid, secret or serial; events that do not fit in the budget are not
// cached (a 1,000,000-ticket event would need about 400 MB). A scan's
// ticket carries no QR code, cached or not.
type ticketCache struct {
	budget int64 // bytes for every event's tickets together
	seed   maphash.Seed

	events sync.Map // event id → *cachedTickets

	mu      sync.Mutex
	loading map[int64]bool  // events being loaded
	skip    map[int64]int64 // event → the catalog version it did not fit at
	used    int64           // bytes of the events in events
	loads   sync.WaitGroup

	hits, misses, loaded atomic.Int64
}

// cachedTickets are one event's tickets as read at one state of the store.
type cachedTickets struct {
	at      TicketsAt
	chunks  [][]byte          // the encoded tickets, one after the other, in chunks of chunkSize
	index   map[uint64]uint32 // key hash → offset: chunk<<chunkBits | position (ambiguous: none)
	tickets int
	bytes   int64
}

// Key kinds, hashed with the key so that a secret cannot be found as a uuid.
const (
	keyUUID byte = iota + 1
	keySecret
	keySerial
)

// ambiguous marks a hash two tickets' keys share: those read the store.
const ambiguous = ^uint32(0)

// indexEntryBytes is what a map entry costs, about.
const indexEntryBytes = 24

// Tickets are kept in chunks of chunkSize bytes.
const (
	chunkBits = 20
	chunkSize = 1 << chunkBits
)

// ticketBytes is about what a ticket takes, encoded and indexed: an event
// with more tickets than the budget holds at that is not even read.
const ticketBytes = 400

var errCacheFull = errors.New("ticket cache: over budget")

// TicketCacheStats counts the scans that found their ticket in the cache
// and those that read the store, and the tickets and bytes cached.
type TicketCacheStats struct {
	Hits    int64 `json:"hits"`
	Misses  int64 `json:"misses"`
	Loads   int64 `json:"loads"` // events loaded, every time
	Tickets int64 `json:"tickets"`
	Bytes   int64 `json:"bytes"`
}

// TicketCacheStats reports the ticket cache's use; zero when it is off.
func (c *Core) TicketCacheStats() TicketCacheStats {
	tc := c.ticketCache()
	if tc == nil {
		return TicketCacheStats{}
	}
	st := TicketCacheStats{Hits: tc.hits.Load(), Misses: tc.misses.Load(), Loads: tc.loaded.Load()}
	tc.events.Range(func(_, v any) bool {
		e := v.(*cachedTickets)
		st.Tickets += int64(e.tickets)
		st.Bytes += e.bytes
		return true
	})
	return st
}

// WaitTicketCache waits for the loads of the ticket cache under way (call
// it before closing the store).
func (c *Core) WaitTicketCache() {
	if tc := c.ticketCache(); tc != nil {
		tc.loads.Wait()
	}
}

// WarmTicketCache loads an event's tickets into the cache now, at the
// store's catalog version, and waits for it (as the first scan of the
// event would start it); nothing when the cache is off or the event does
// not fit.
func (c *Core) WarmTicketCache(ctx context.Context, eventID int64) error {
	tc := c.ticketCache()
	if tc == nil {
		return nil
	}
	v, err := c.Store.CatalogVersion(ctx)
	if err != nil {
		return err
	}
	tc.want(c.Store, c.Log, eventID, v)
	tc.loads.Wait()
	return nil
}

// ticketCache returns the core's ticket cache, made on first use; nil when
// TicketCacheBytes is 0.
func (c *Core) ticketCache() *ticketCache {
	if c.TicketCacheBytes <= 0 {
		return nil
	}
	c.tcacheOnce.Do(func() {
		c.tcache = &ticketCache{budget: c.TicketCacheBytes, seed: maphash.MakeSeed(),
			loading: map[int64]bool{}, skip: map[int64]int64{}}
	})
	return c.tcache
}

func (tc *ticketCache) hash(kind byte, key string) uint64 {
	return maphash.String(tc.seed, key) ^ uint64(kind)*0x9e3779b97f4a7c15
}

// cachedTicket returns the ticket of the event with that key, as cached at
// catalog version version, and the tickets version it was read at; false
// when it is not cached so (the store must be read).
func (c *Core) cachedTicket(eventID, version int64, kind byte, key string) (*Ticket, int64, bool) {
	tc := c.ticketCache()
	if tc == nil {
		return nil, 0, false
	}
	v, ok := tc.events.Load(eventID)
	if !ok || v.(*cachedTickets).at.Catalog != version {
		tc.misses.Add(1)
		tc.want(c.Store, c.Log, eventID, version)
		return nil, 0, false
	}
	e := v.(*cachedTickets)
	off, ok := e.index[tc.hash(kind, key)]
	if !ok || off == ambiguous {
		tc.misses.Add(1)
		return nil, 0, false
	}
	t, err := decodeTicket(e.chunks[off>>chunkBits][off&(chunkSize-1):])
	if err != nil || !t.hasKey(kind, key) {
		tc.misses.Add(1)
		return nil, 0, false
	}
	t.CatalogVersion = e.at.Catalog
	tc.hits.Add(1)
	return t, e.at.Tickets, true
}

func (t *Ticket) hasKey(kind byte, key string) bool {
	switch kind {
	case keyUUID:
		return t.UUID == key
	case keySecret:
		return t.Secret == key
	case keySerial:
		return t.Serial == key
	}
	return false
}

// forget drops an event's tickets (a scan found them stale).
func (tc *ticketCache) forget(eventID int64) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if v, ok := tc.events.LoadAndDelete(eventID); ok {
		tc.used -= v.(*cachedTickets).bytes
	}
}

// want starts loading an event's tickets unless they are being loaded or
// did not fit at this version.
func (tc *ticketCache) want(store Store, log *slog.Logger, eventID, version int64) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.loading[eventID] {
		return
	}
	if v, ok := tc.skip[eventID]; ok && v == version {
		return
	}
	tc.loading[eventID] = true
	budget := tc.budget - tc.used
	if v, ok := tc.events.Load(eventID); ok {
		budget += v.(*cachedTickets).bytes
	}
	tc.loads.Add(1)
	go func() {
		defer tc.loads.Done()
		tc.load(store, log, eventID, budget)
	}()
}

// load reads an event's tickets into the cache, if they fit in budget.
func (tc *ticketCache) load(store Store, log *slog.Logger, eventID, budget int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	e := &cachedTickets{index: map[uint64]uint32{}}
	var buf []byte
	at, err := store.EventTickets(ctx, eventID, budget/ticketBytes, func(t *Ticket) error {
		buf = appendTicket(buf[:0], t)
		n := len(e.chunks)
		if n == 0 || len(e.chunks[n-1])+len(buf) > chunkSize {
			// Chunks are allocated whole: an arena grown by append would
			// hold twice its size while it grows.
			if len(buf) > chunkSize || int64(n+1)*chunkSize+int64(len(e.index)+3)*indexEntryBytes > budget || n+1 >= 1<<(32-chunkBits) {
				return errCacheFull
			}
			e.chunks = append(e.chunks, make([]byte, 0, chunkSize))
			n++
		}
		off := (n-1)<<chunkBits | len(e.chunks[n-1])
		e.chunks[n-1] = append(e.chunks[n-1], buf...)
		tc.add(e, keyUUID, t.UUID, off)
		tc.add(e, keySecret, t.Secret, off)
		tc.add(e, keySerial, t.Serial, off)
		e.tickets++
		return nil
	})
	if err == nil && int64(e.tickets) != at.Count {
		err = errCacheFull // more than the budget holds at ticketBytes each
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	delete(tc.loading, eventID)
	if err != nil {
		if errors.Is(err, errCacheFull) {
			// Not again before the catalog moves.
			tc.skip[eventID] = at.Catalog
			return
		}
		log.Warn("ticket cache: loading an event's tickets", "event_id", eventID, "err", err)
		return
	}
	e.at = at
	e.bytes = int64(len(e.chunks))*chunkSize + int64(len(e.index))*indexEntryBytes
	if old, ok := tc.events.Load(eventID); ok {
		tc.used -= old.(*cachedTickets).bytes
	}
	tc.events.Store(eventID, e)
	tc.used += e.bytes
	tc.loaded.Add(1)
	delete(tc.skip, eventID)
}

func (tc *ticketCache) add(e *cachedTickets, kind byte, key string, off int) {
	if key == "" {
		return
	}
	h := tc.hash(kind, key)
	if _, dup := e.index[h]; dup {
		e.index[h] = ambiguous
		return
	}
	e.index[h] = uint32(off)
}

// appendTicket encodes t: every field but QRCode (a scan has its code;
// it was half of what a ticket kept), State and CatalogVersion.
func appendTicket(b []byte, t *Ticket) []byte {
	ints := [...]int64{t.ID, t.EventID, t.OrderID, t.ProductID, t.VariationID, t.SubeventID, t.SectionID,
		t.ParentID, int64(t.Position), int64(t.OrderTickets)}
	for _, v := range ints {
		b = binary.AppendVarint(b, v)
	}
	strs := [...]string{t.UUID, t.Secret, t.Serial, t.Price, t.FirstName, t.LastName, t.Email, t.HolderNumber,
		t.OrderCode, t.OrderUUID, string(t.OrderStatus), t.OrderEmail, t.OrderName, t.ProductName,
		t.VariationName, t.SectionName, t.SectionDescription, t.SubeventName}
	for _, s := range strs {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	var flags byte
	if t.Blocked {
		flags |= 1
	}
	if t.ProductAdmission {
		flags |= 2
	}
	if t.ValidFrom != nil {
		flags |= 4
	}
	if t.ValidUntil != nil {
		flags |= 8
	}
	b = append(b, flags)
	for _, tp := range [...]*time.Time{t.ValidFrom, t.ValidUntil, &t.CreatedAt, &t.UpdatedAt, &t.OrderCreatedAt} {
		if tp != nil {
			b = appendTime(b, *tp)
		}
	}
	return b
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

var errBadTicket = errors.New("ticket cache: bad encoding")

type ticketReader struct {
	b   []byte
	err error
}

func (r *ticketReader) int() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err, r.b = errBadTicket, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *ticketReader) str() string {
	l, n := binary.Uvarint(r.b)
	if n <= 0 || uint64(len(r.b)-n) < l {
		r.err, r.b = errBadTicket, nil
		return ""
	}
	s := string(r.b[n : n+int(l)])
	r.b = r.b[n+int(l):]
	return s
}

func (r *ticketReader) byte() byte {
	if len(r.b) == 0 {
		r.err = errBadTicket
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *ticketReader) time() time.Time {
	if r.byte() == 0 {
		return time.Time{}
	}
	sec := r.int()
	ns, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err, r.b = errBadTicket, nil
		return time.Time{}
	}
	r.b = r.b[n:]
	return time.Unix(sec, int64(ns)).UTC()
}

// decodeTicket decodes what appendTicket encoded.
func decodeTicket(b []byte) (*Ticket, error) {
	r := &ticketReader{b: b}
	t := &Ticket{}
	t.ID, t.EventID, t.OrderID, t.ProductID = r.int(), r.int(), r.int(), r.int()
	t.VariationID, t.SubeventID, t.SectionID, t.ParentID = r.int(), r.int(), r.int(), r.int()
	t.Position, t.OrderTickets = int(r.int()), int(r.int())
	t.UUID, t.Secret, t.Serial, t.Price = r.str(), r.str(), r.str(), r.str()
	t.FirstName, t.LastName, t.Email, t.HolderNumber = r.str(), r.str(), r.str(), r.str()
	t.OrderCode, t.OrderUUID, t.OrderStatus = r.str(), r.str(), OrderStatus(r.str())
	t.OrderEmail, t.OrderName, t.ProductName = r.str(), r.str(), r.str()
	t.VariationName, t.SectionName, t.SectionDescription, t.SubeventName = r.str(), r.str(), r.str(), r.str()
	flags := r.byte()
	t.Blocked, t.ProductAdmission = flags&1 != 0, flags&2 != 0
	if flags&4 != 0 {
		v := r.time()
		t.ValidFrom = &v
	}
	if flags&8 != 0 {
		v := r.time()
		t.ValidUntil = &v
	}
	t.CreatedAt, t.UpdatedAt, t.OrderCreatedAt = r.time(), r.time(), r.time()
	return t, r.err
}

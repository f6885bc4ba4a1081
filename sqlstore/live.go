package sqlstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/live"
)

// Live scans between nodes on PostgreSQL: every node NOTIFYs the scans its
// core publishes on LiveChannel and LISTENs there for the other nodes'.
//
// Publish hands a scan to the node's own subscribers at once (the hub), and
// queues it for the other nodes: a bounded queue (LiveQueue) that one
// goroutine drains, several scans in one NOTIFY round trip, on a connection
// of its own (not the scans' pool). A full queue drops the scan for the
// other nodes and counts it: a scan never waits for PostgreSQL. Another
// goroutine LISTENs on a dedicated connection and hands the other nodes'
// scans to the hub; it reconnects with backoff when the connection drops
// (scans NOTIFYed meanwhile are not seen by this node). Every payload names
// the node that sent it, which skips its own.

// LiveChannel is the PostgreSQL notification channel of live scans.
const LiveChannel = "admit_live"

const (
	// LiveQueue is how many scans, at most, wait to be sent to the other nodes.
	LiveQueue = 4096
	// liveBatch is the most scans one NOTIFY round trip sends.
	liveBatch = 128
	// maxPayload is the longest NOTIFY payload PostgreSQL takes (shorter
	// than 8000 bytes).
	maxPayload = 7999

	liveBackoffMin = 100 * time.Millisecond
	liveBackoffMax = 5 * time.Second

	// Application names of the two connections, for pg_stat_activity.
	liveListenApp = "admit-live-listen"
	liveNotifyApp = "admit-live-notify"
)

// LiveStats is what a store's live feed counted (zero on SQLite).
type LiveStats struct {
	Sent       int64 // scans NOTIFYed to the other nodes
	Dropped    int64 // scans not sent: the queue was full, or the NOTIFY failed
	Received   int64 // other nodes' scans handed to this node's subscribers
	Reconnects int64 // LISTEN connections made again after one dropped
}

// Live returns the live feed of this node, publishing into hub: on SQLite
// (one node) hub itself; on PostgreSQL hub and, between nodes,
// LISTEN/NOTIFY. The LISTEN connection is made before Live returns (an
// error if it cannot be); Close stops the feed. A store has one feed: a
// second call returns the first one's, if it was on hub.
func (s *Store) Live(ctx context.Context, hub *live.Hub) (admit.Live, error) {
	if hub == nil {
		return nil, admit.Errorf(admit.EInternal, "sqlstore: a live feed needs a hub")
	}
	if s.sqlite {
		return hub, nil
	}
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	if s.live != nil {
		if s.live.hub != hub {
			return nil, admit.Errorf(admit.EInternal, "sqlstore: the store has a live feed on another hub")
		}
		return s.live, nil
	}
	if s.liveClosed {
		return nil, admit.Errorf(admit.EInternal, "sqlstore: store closed")
	}
	var id [8]byte
	rand.Read(id[:])
	l := &pgLive{
		hub: hub, store: s, node: hex.EncodeToString(id[:]),
		queue: make(chan *admit.LiveScan, LiveQueue),
	}
	l.dropLog.Every, l.badLog.Every, l.connLog.Every = live.LogEvery, live.LogEvery, live.LogEvery
	conn, err := l.connect(ctx, liveListenApp)
	if err != nil {
		return nil, err
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.wg.Add(2)
	go l.listen(conn)
	go l.send()
	s.live = l
	return l, nil
}

// LiveStats returns the counters of the store's live feed.
func (s *Store) LiveStats() LiveStats {
	s.liveMu.Lock()
	l := s.live
	s.liveMu.Unlock()
	if l == nil {
		return LiveStats{}
	}
	return LiveStats{Sent: l.sent.Load(), Dropped: l.dropped.Load(), Received: l.received.Load(), Reconnects: l.reconnects.Load()}
}

// closeLive stops the live feed (before the pool closes).
func (s *Store) closeLive() {
	s.liveMu.Lock()
	l := s.live
	s.liveClosed = true
	s.liveMu.Unlock()
	if l != nil {
		l.close()
	}
}

// pgLive is the live feed of a node on PostgreSQL.
type pgLive struct {
	hub   *live.Hub
	store *Store
	node  string // this node's id, in every payload it sends

	queue  chan *admit.LiveScan
	closed atomic.Bool
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	sent, dropped, received, reconnects atomic.Int64
	dropLog, badLog, connLog            live.Throttle
}

var _ admit.Live = (*pgLive)(nil)

// Publish hands s to this node's subscribers and queues it for the others;
// it never blocks.
func (l *pgLive) Publish(s *admit.LiveScan) {
	if s == nil {
		return
	}
	l.hub.Publish(s)
	if l.closed.Load() {
		return
	}
	select {
	case l.queue <- s:
	default:
		l.drop(1, nil)
	}
}

// Subscribe subscribes to the event's scans of every node.
func (l *pgLive) Subscribe(eventID int64) (<-chan *admit.LiveScan, func()) {
	return l.hub.Subscribe(eventID)
}

func (l *pgLive) drop(n int, err error) {
	total := l.dropped.Add(int64(n))
	if l.dropLog.Allow() {
		args := []any{"dropped_now", n, "dropped_total", total}
		if err != nil {
			args = append(args, "err", err)
		}
		l.store.log.Warn("live: scans not sent to the other nodes", args...)
	}
}

// close stops both goroutines: what is queued is sent first, if it can be
// within a second.
func (l *pgLive) close() {
	if l.closed.Swap(true) {
		return
	}
	l.cancel()
	l.wg.Wait()
}

// connect opens a connection of its own (the pool's settings), named app;
// the listener's LISTENs.
func (l *pgLive) connect(ctx context.Context, app string) (*pgx.Conn, error) {
	cfg := l.store.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = app
	if app == liveNotifyApp {
		// A NOTIFY's transaction gets an xid, and its commit would wait
		// for a WAL flush like a scan's: a notification needs no
		// durability, and the scans' own commits should not queue behind it.
		cfg.RuntimeParams["synchronous_commit"] = "off"
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, admit.WrapInternal(err, "live: connect to postgres")
	}
	if app == liveListenApp {
		if _, err := conn.Exec(ctx, "LISTEN "+LiveChannel); err != nil {
			conn.Close(context.Background())
			return nil, admit.WrapInternal(err, "live: listen")
		}
	}
	return conn, nil
}

// wait waits d or until the feed closes, and reports whether it is still on.
func (l *pgLive) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-l.ctx.Done():
		return false
	}
}

func nextBackoff(d time.Duration) time.Duration {
	return min(2*d, liveBackoffMax)
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn.Close(ctx)
}

// listen waits for notifications on conn, hands the other nodes' scans to
// the hub, and connects again (with backoff) whenever the connection drops.
func (l *pgLive) listen(conn *pgx.Conn) {
	defer l.wg.Done()
	backoff := liveBackoffMin
	for {
		if conn == nil {
			c, err := l.connect(l.ctx, liveListenApp)
			if err != nil {
				if l.ctx.Err() != nil {
					return
				}
				if l.connLog.Allow() {
					l.store.log.Warn("live: cannot listen for the other nodes' scans; retrying", "err", err, "retry_in", backoff)
				}
				if !l.wait(backoff) {
					return
				}
				backoff = nextBackoff(backoff)
				continue
			}
			conn, backoff = c, liveBackoffMin
			l.reconnects.Add(1)
			l.store.log.Info("live: listening for the other nodes' scans again")
		}
		n, err := conn.WaitForNotification(l.ctx)
		if err != nil {
			closeConn(conn)
			conn = nil
			if l.ctx.Err() != nil {
				return
			}
			l.store.log.Warn("live: the LISTEN connection dropped; reconnecting", "err", err)
			continue
		}
		l.deliver(n.Payload)
	}
}

// liveEnvelope is one NOTIFY payload: a scan and the node that sent it.
type liveEnvelope struct {
	Node string          `json:"node"`
	Scan *admit.LiveScan `json:"scan"`
}

// deliver hands another node's scan to this node's subscribers.
func (l *pgLive) deliver(payload string) {
	var env liveEnvelope
	if err := json.Unmarshal([]byte(payload), &env); err != nil || env.Scan == nil || env.Node == "" {
		if l.badLog.Allow() {
			l.store.log.Warn("live: a notification that is no live scan", "channel", LiveChannel, "bytes", len(payload))
		}
		return
	}
	if env.Node == l.node {
		return
	}
	l.received.Add(1)
	l.hub.Publish(env.Scan)
}

const notifyQuery = "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p"

// send drains the queue: each round takes what is waiting (liveBatch at
// most) and NOTIFYs it in one statement. A failed round drops its scans
// and connects again, after a backoff, at the next one.
func (l *pgLive) send() {
	defer l.wg.Done()
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			closeConn(conn)
		}
	}()
	backoff := liveBackoffMin
	batch := make([]*admit.LiveScan, 0, liveBatch)
	payloads := make([]string, 0, liveBatch)
	// Connect before the first scan, not at it; a failure is retried then.
	conn, _ = l.connect(l.ctx, liveNotifyApp)
	carry := false // the last batch was cut short by Close: send it again
	for {
		closing := l.ctx.Err() != nil
		if !carry {
			batch = batch[:0]
			if !closing {
				select {
				case s := <-l.queue:
					batch = append(batch, s)
				case <-l.ctx.Done():
					closing = true
				}
			}
		}
		carry = false
	take:
		for len(batch) < liveBatch {
			select {
			case s := <-l.queue:
				batch = append(batch, s)
			default:
				break take
			}
		}
		if len(batch) == 0 {
			return // closing, and nothing left
		}
		payloads = payloads[:0]
		for _, s := range batch {
			payloads = append(payloads, encodeLive(l.node, s))
		}
		if closing {
			// Send what was queued before Close, a second at most.
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			err := l.notify(ctx, &conn, payloads)
			cancel()
			if err != nil {
				l.drop(len(batch)+len(l.queue), err)
				return
			}
			continue
		}
		if err := l.notify(l.ctx, &conn, payloads); err != nil {
			if l.ctx.Err() != nil {
				carry = true
				continue
			}
			l.drop(len(batch), err)
			if l.wait(backoff) {
				backoff = nextBackoff(backoff)
			}
			continue
		}
		backoff = liveBackoffMin
	}
}

// notify sends payloads in one round trip on *conn, connecting first if
// it is nil; on failure *conn is closed and nil.
func (l *pgLive) notify(ctx context.Context, conn **pgx.Conn, payloads []string) error {
	if *conn == nil {
		c, err := l.connect(ctx, liveNotifyApp)
		if err != nil {
			return err
		}
		*conn = c
	}
	if _, err := (*conn).Exec(ctx, notifyQuery, LiveChannel, payloads); err != nil {
		closeConn(*conn)
		*conn = nil
		return err
	}
	l.sent.Add(int64(len(payloads)))
	return nil
}

// encodeLive is the NOTIFY payload of s sent by node: its JSON, shorter
// than 8000 bytes whatever the names hold. When it would be longer, the
// text fields are cut (at a character, marked with "…") until it fits;
// with every one empty it always does.
func encodeLive(node string, s *admit.LiveScan) string {
	b, err := json.Marshal(liveEnvelope{Node: node, Scan: s})
	if err == nil && len(b) <= maxPayload {
		return string(b)
	}
	for limit := 512; ; limit /= 2 {
		c := *s
		for _, f := range []*string{&c.EventUUID, &c.TicketUUID, &c.AttendeeName, &c.ProductName,
			&c.ListName, &c.SectionName, &c.DeviceUUID, &c.DeviceName, &c.Source} {
			*f = cut(*f, limit)
		}
		c.Type, c.Result = admit.ScanType(cut(string(c.Type), limit)), admit.Reason(cut(string(c.Result), limit))
		b, err = json.Marshal(liveEnvelope{Node: node, Scan: &c})
		if err == nil && len(b) <= maxPayload || limit == 0 {
			return string(b)
		}
	}
}

// cut returns s cut to n characters, the last one "…", if it is longer.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n == 0 {
		return ""
	}
	i, k := 0, 0
	for i = range s {
		if k == n-1 {
			break
		}
		k++
	}
	return s[:i] + "…"
}

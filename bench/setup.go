// Setting up a run: the event and its tickets, the dialect and its forged
// codes, the in-process servers, and the clients' credentials.

package bench

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/server"
	"github.com/admitdev/admit/sqlstore"
)

// prepareEvent imports a new event (or reuses cfg.Event) and returns its
// default list and its unscanned tickets.
func prepareEvent(ctx context.Context, cfg *Config, core *admit.Core, rep *Report) (*admit.Event, *admit.CheckinList, []ticketRef, error) {
	slug := cfg.Event
	if slug == "" {
		slug = "run-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	if org, err := core.Store.OrganizerBySlug(ctx, Organizer); err == nil && cfg.Event != "" {
		if ev, err := core.Store.EventBySlug(ctx, org.ID, slug); err == nil {
			cfg.progress("reusing event %s/%s", Organizer, slug)
			list, err := core.Store.DefaultList(ctx, ev.ID)
			if err != nil {
				return nil, nil, nil, err
			}
			ts, _, err := core.Store.FindTickets(ctx, admit.TicketFilter{EventID: ev.ID, StateListID: list.ID})
			if err != nil {
				return nil, nil, nil, err
			}
			refs := make([]ticketRef, 0, len(ts))
			for _, t := range ts {
				if t.State == nil || t.State.Entries == 0 {
					refs = append(refs, ticketRef{ID: t.ID, UUID: t.UUID, Code: codeOf(cfg.Dialect, t), Serial: t.Serial})
				}
			}
			rep.Event = EventInfo{Organizer: Organizer, Slug: slug, UUID: ev.UUID, Tickets: len(ts), Reused: true, Unscanned: len(refs)}
			return ev, list, refs, nil
		} else if !admit.IsNotFound(err) {
			return nil, nil, nil, err
		}
	}
	cfg.progress("generating and importing %d tickets (event %s/%s)", cfg.Tickets, Organizer, slug)
	t0 := time.Now()
	f, err := GenerateImport(cfg.Tickets, slug)
	if err != nil {
		return nil, nil, nil, err
	}
	gen := time.Since(t0)
	t1 := time.Now()
	res, err := core.Import(ctx, f)
	if err != nil {
		return nil, nil, nil, err
	}
	took := time.Since(t1)
	f = nil
	cfg.progress("imported in %s", took.Round(time.Millisecond))
	list, err := core.Store.DefaultList(ctx, res.Event.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	refs := make([]ticketRef, len(res.Tickets))
	for i, t := range res.Tickets {
		refs[i] = ticketRef{ID: t.ID, UUID: t.UUID, Code: codeOf(cfg.Dialect, t), Serial: t.Serial}
	}
	rep.Event = EventInfo{
		Organizer: Organizer, Slug: slug, UUID: res.Event.UUID, Tickets: len(refs), Unscanned: len(refs),
		GenerateSeconds: round(gen.Seconds(), 3), ImportSeconds: round(took.Seconds(), 3),
		ImportTicketsPerSec: round(float64(len(refs))/took.Seconds(), 0),
	}
	return res.Event, list, refs, nil
}

// codeOf is what a scanner of the dialect reads off the ticket.
func codeOf(dialect string, t *admit.Ticket) string {
	switch dialect {
	case "pretixdroid":
		return t.Secret
	case "ticketing":
		return t.Serial
	}
	return t.QRCode
}

// newDialect returns the dialect and its forged codes: codes in the event's
// QR format naming real tickets (the reserved pool), signed with a key that
// is not the event's; for TickeTing, whose scanners read serials, serials
// that no ticket has.
func newDialect(name string, ev *admit.Event, pool []ticketRef) (dialect, []string, error) {
	var forged []string
	if name == "ticketing" {
		for i := range pool {
			forged = append(forged, fmt.Sprintf("FORGED-%012d", i))
		}
		return ticketingDialect{event: strconv.FormatInt(ev.ID, 10)}, forged, nil
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	for _, t := range pool {
		claims := `{"uuid": "` + t.UUID + `", "event": "` + ev.UUID + `"}`
		payload := base64.URLEncoding.EncodeToString([]byte(claims))
		sig := ed25519.Sign(priv, []byte(payload))
		forged = append(forged, payload+":"+base64.URLEncoding.EncodeToString(sig))
	}
	switch name {
	case "pretixdroid":
		org := Organizer
		return pretixdroidDialect{path: "/pretixdroid/api/" + org + "/" + ev.Slug + "/"}, forged, nil
	}
	return tibilletDialect{event: ev.UUID}, forged, nil
}

// node is an in-process server.
type node struct {
	core    *admit.Core
	url     string
	srv     *http.Server
	store   admit.Store // its own store, closed with it (nil: shared)
	stopLog func()      // stops its scan log appender
}

// startNodes starts cfg.Nodes in-process servers: the first on core's
// store, the others on stores of their own on the same database (as
// separate processes would be). floor wraps each store in a SkipWriteStore.
func startNodes(ctx context.Context, cfg *Config, core *admit.Core, log *slog.Logger, floor bool) ([]*node, error) {
	var nodes []*node
	var skip *SkipWriteStore
	for i := range cfg.Nodes {
		var st admit.Store = core.Store
		var own admit.Store
		if i > 0 {
			s, err := sqlstore.Open(ctx, cfg.DB, log)
			if err != nil {
				stopNodes(nodes)
				return nil, err
			}
			st, own = s, s
		}
		if floor {
			if skip == nil {
				skip = NewSkipWriteStore(st)
			} else {
				skip = skip.On(st)
			}
			st = skip
		}
		// Keys of its own, as a process of its own has: the signatures one
		// phase or node verified are not remembered by the next.
		c := &admit.Core{Store: st, Keys: &admit.Keys{}, Log: core.Log, Now: core.Now, PairingTTL: core.PairingTTL,
			TicketCacheBytes: int64(cfg.TicketCacheMB) << 20}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			if own != nil {
				own.Close()
			}
			stopNodes(nodes)
			return nil, err
		}
		url := "http://" + ln.Addr().String()
		srv := &http.Server{
			Handler:           server.New(c, server.Config{Logger: log, PublicURL: url}),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       120 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
		go srv.Serve(ln)
		n := &node{core: c, url: url, srv: srv, store: own}
		// The scan log's appender runs beside the scans, as in admit serve
		// (the floor, which writes no scans, has nothing to append).
		if sl, ok := st.(scanLogger); ok && !floor {
			lctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				sl.RunScanLog(lctx, scanLogEvery)
			}()
			n.stopLog = func() { cancel(); <-done }
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// scanLogger is the store's scan log appender (sqlstore).
type scanLogger interface {
	RunScanLog(ctx context.Context, every time.Duration)
}

// scanLogEvery is how often admit serve appends to the scan log.
const scanLogEvery = 2 * time.Second

func stopNodes(nodes []*node) {
	for _, n := range nodes {
		if n.stopLog != nil {
			n.stopLog()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		n.srv.Shutdown(ctx)
		cancel()
		if n.store != nil {
			n.store.Close()
		}
	}
}

// credentials makes the keys the clients scan with: paired TiBillet
// devices, pretixdroid app keys, or TickeTing staff keys.
func credentials(ctx context.Context, cfg *Config, core *admit.Core, ev *admit.Event) ([]string, error) {
	var creds []string
	for i := range cfg.Devices {
		name := fmt.Sprintf("Bench gate %d", i+1)
		switch cfg.Dialect {
		case "tibillet":
			_, token, err := core.CreateDevice(ctx, admit.DeviceSpec{Organizer: Organizer, Name: name, Event: ev.Slug})
			if err != nil {
				return nil, err
			}
			_, key, err := core.PairDevice(ctx, token)
			if err != nil {
				return nil, err
			}
			creds = append(creds, key)
		case "pretixdroid":
			k, err := core.CreatePretixdroidKey(ctx, admit.PretixdroidKeySpec{Organizer: Organizer, Event: ev.Slug, Name: name})
			if err != nil {
				return nil, err
			}
			creds = append(creds, k.Plain)
		case "ticketing":
			key, err := ticketingStaffKey(ctx, core, ev)
			if err != nil {
				return nil, err
			}
			creds = append(creds, key)
		}
	}
	return creds, nil
}

package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/admitdev/admit"
)

type areaOut struct {
	Name     string  `json:"name"`
	UUID     *string `json:"uuid,omitempty"`
	Entries  int     `json:"entries"`
	Exits    int     `json:"exits"`
	Inside   int     `json:"inside"`
	Capacity *int    `json:"capacity"`
	Total    int     `json:"total"`
}

type occupancyOut struct {
	Lists    []areaOut `json:"lists"`
	Sections []areaOut `json:"sections"`
}

func occupancyOf(o *admit.Occupancy) *occupancyOut {
	out := &occupancyOut{Lists: []areaOut{}, Sections: []areaOut{}}
	for _, a := range o.Lists {
		out.Lists = append(out.Lists, areaOut{Name: a.Name, UUID: optStr(a.UUID), Entries: a.Entries, Exits: a.Exits,
			Inside: a.Inside, Capacity: a.Capacity, Total: a.Total})
	}
	for _, a := range o.Sections {
		out.Sections = append(out.Sections, areaOut{Name: a.Name, Entries: a.Entries, Exits: a.Exits,
			Inside: a.Inside, Capacity: a.Capacity, Total: a.Total})
	}
	return out
}

// occupancyCache is an event's occupancy as last read, shared by every
// request and stream of the node: one read per OccupancyEvery at most,
// however many dashboards watch.
type occupancyCache struct {
	mu  sync.Mutex
	at  time.Time
	val *occupancyOut
}

// occupancyNow returns the event's occupancy read at most OccupancyEvery
// ago, and not before notBefore (a scan the reader must see).
func (h *Handler) occupancyNow(ctx context.Context, ev *admit.Event, notBefore time.Time) (*occupancyOut, error) {
	h.occMu.Lock()
	c := h.occ[ev.ID]
	if c == nil {
		c = &occupancyCache{}
		h.occ[ev.ID] = c
	}
	h.occMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.val != nil && time.Since(c.at) < h.opts.OccupancyEvery && !c.at.Before(notBefore) {
		return c.val, nil
	}
	o, err := h.core.Occupancy(ctx, ev.ID)
	if err != nil {
		return nil, err
	}
	c.val, c.at = occupancyOf(o), time.Now()
	return c.val, nil
}

func (h *Handler) occupancy(w http.ResponseWriter, r *http.Request, c *admit.Caller) {
	ev, err := h.event(r.Context(), r, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// Read now: whoever asks sees every scan answered before.
	o, err := h.occupancyNow(r.Context(), ev, time.Now())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

// writeWait bounds each write to a live stream: a client that does not
// read fails its write and is dropped instead of holding the stream.
const writeWait = 10 * time.Second

// live streams an event's scans and its occupancy as Server-Sent Events:
// `scan` for every scan recorded on any node, `occupancy` once at the
// start and then at most every OccupancyEvery while scans arrive, and a
// comment every PingEvery so that proxies keep the stream open. A client
// that does not keep up is dropped by the hub (never slowing a scan); its
// stream ends and EventSource reconnects.
func (h *Handler) live(w http.ResponseWriter, r *http.Request, c *admit.Caller) {
	ctx := r.Context()
	ev, err := h.event(ctx, r, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	occ, err := h.occupancyNow(ctx, ev, time.Time{})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var scans <-chan *admit.LiveScan
	if h.opts.Live != nil {
		ch, stop := h.opts.Live.Subscribe(ev.ID)
		defer stop()
		scans = ch
	}
	rc := http.NewResponseController(w)
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	var buf bytes.Buffer
	send := func(event string, v any) bool {
		buf.Reset()
		if event != "" {
			data, err := json.Marshal(v)
			if err != nil {
				h.log.Error("api: live: encode", "err", err)
				return false
			}
			buf.WriteString("event: " + event + "\ndata: ")
			buf.Write(data) // JSON holds no raw newline
			buf.WriteString("\n\n")
		} else {
			buf.WriteString(": ping\n\n")
		}
		rc.SetWriteDeadline(time.Now().Add(writeWait))
		if _, err := w.Write(buf.Bytes()); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send("occupancy", occ) {
		return
	}
	ping := time.NewTicker(h.opts.PingEvery)
	defer ping.Stop()
	var due <-chan time.Time // armed while an occupancy event is owed
	lastOcc := time.Now()
	var lastScan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case s, ok := <-scans:
			if !ok {
				return // dropped: too slow
			}
			lastScan = time.Now()
			if !send("scan", liveScan(s)) {
				return
			}
			if due == nil {
				wait := max(0, h.opts.OccupancyEvery-time.Since(lastOcc))
				due = time.After(wait)
			}
		case <-due:
			due = nil
			o, err := h.occupancyNow(ctx, ev, lastScan)
			if err != nil {
				if ctx.Err() == nil {
					h.log.Error("api: live: occupancy", "event", ev.UUID, "err", err)
				}
				return
			}
			lastOcc = time.Now()
			if !send("occupancy", o) {
				return
			}
		case <-ping.C:
			if !send("", nil) {
				return
			}
		}
	}
}

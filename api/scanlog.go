package api

import (
	"bufio"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/admitdev/admit"
)

// scanOut is a scan log row on the API, in the list, the export and the
// live stream.
type scanOut struct {
	ID           int64      `json:"id"`
	Ticket       *string    `json:"ticket"`
	AttendeeName string     `json:"attendee_name"`
	Product      string     `json:"product"`
	List         string     `json:"list"`
	Section      string     `json:"section"`
	Device       string     `json:"device"`
	DeviceUUID   *string    `json:"device_uuid"`
	Source       string     `json:"source"`
	Redeemer     string     `json:"redeemer"`
	Type         string     `json:"type"`
	Result       string     `json:"result"`
	Reason       *string    `json:"reason"`
	Forced       bool       `json:"forced"`
	Offline      bool       `json:"offline"`
	DeviceTime   *time.Time `json:"device_time"`
	ServerTime   time.Time  `json:"server_time"`
	// Offline scans: what the device showed, its clock error (server
	// minus device) and the conflict with the server, if any.
	DeviceVerdict *string `json:"device_verdict"`
	ClockOffsetMS *int64  `json:"clock_offset_ms"`
	Conflict      *string `json:"conflict"`
}

func optStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func resultOf(reason string) (string, *string) {
	if reason == "" {
		return "ok", nil
	}
	return "refused", &reason
}

// logNames are the names a listing of an event's scans shows beside ids.
type logNames struct {
	lists   map[int64]string
	devices map[int64]string // uuid
}

func (h *Handler) namesOf(r *http.Request, ev *admit.Event) (*logNames, error) {
	n := &logNames{lists: map[int64]string{}, devices: map[int64]string{}}
	lists, err := h.core.Store.Lists(r.Context(), ev.ID)
	if err != nil {
		return nil, err
	}
	for _, l := range lists {
		n.lists[l.ID] = l.Name
	}
	devs, err := h.core.Store.Devices(r.Context(), ev.OrganizerID)
	if err != nil {
		return nil, err
	}
	for _, d := range devs {
		n.devices[d.ID] = d.UUID
	}
	return n, nil
}

func (n *logNames) scan(sc *admit.Scan) scanOut {
	at := sc.ServerTime
	if sc.DeviceTime != nil {
		at = sc.DeviceTime.Add(sc.ClockOffset)
	}
	o := scanOut{ID: sc.ID, List: n.lists[sc.ListID], Device: sc.DeviceName, DeviceUUID: optStr(n.devices[sc.DeviceID]),
		Source: sc.Source, Redeemer: sc.Redeemer, Type: string(sc.Type), Forced: sc.Forced,
		Offline: sc.Offline, DeviceTime: sc.DeviceTime, ServerTime: sc.ServerTime,
		DeviceVerdict: optStr(sc.DeviceVerdict), Conflict: optStr(string(sc.Conflict))}
	if sc.Offline {
		ms := sc.ClockOffset.Milliseconds()
		o.ClockOffsetMS = &ms
	}
	if t := sc.Ticket; t != nil {
		o.Ticket, o.AttendeeName, o.Product, o.Section = optStr(t.UUID), t.AttendeeName(), t.ProductName, t.SectionName
	}
	var st *admit.CheckinState
	if sc.Result == admit.ReasonAlreadyRedeemed {
		st = &admit.CheckinState{Inside: true} // the log keeps no state: "already inside"
	}
	o.Result, o.Reason = resultOf(apiReason(sc.Result, sc.Ticket, at, st))
	return o
}

// liveScan is a scan of the live stream in the list's shape.
func liveScan(s *admit.LiveScan) scanOut {
	o := scanOut{ID: s.ID, Ticket: optStr(s.TicketUUID), AttendeeName: s.AttendeeName, Product: s.ProductName,
		List: s.ListName, Section: s.SectionName, Device: s.DeviceName, DeviceUUID: optStr(s.DeviceUUID),
		Source: s.Source, Type: string(s.Type), Forced: s.Forced, Offline: s.Offline,
		DeviceTime: s.DeviceTime, ServerTime: s.ServerTime, Conflict: optStr(string(s.Conflict))}
	var st *admit.CheckinState
	if s.Result == admit.ReasonAlreadyRedeemed {
		st = &admit.CheckinState{Inside: true}
	}
	var t *admit.Ticket // a live scan names no validity window: invalid_time reads "expired"
	o.Result, o.Reason = resultOf(apiReason(s.Result, t, s.ServerTime, st))
	return o
}

// scanFilter reads a listing's query.
func (h *Handler) scanFilter(r *http.Request, ev *admit.Event) (admit.ScanFilter, int, error) {
	q := r.URL.Query()
	f := admit.ScanFilter{EventID: ev.ID, NoTotal: true}
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return f, 0, bad("limit: a whole number from 1 to 1000, not " + clip(v))
		}
		limit = n
	}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return f, 0, bad("after: not a cursor: " + clip(v))
		}
		f.AfterID = n
	}
	switch v := q.Get("result"); v {
	case "":
	case "ok":
		f.Result = admit.ReasonOK
	case "refused":
		f.Refused = true
	default:
		return f, 0, bad(`result: "ok" or "refused", not ` + clip(v))
	}
	if v := q.Get("type"); v != "" {
		t, err := scanType(v)
		if err != nil {
			return f, 0, err
		}
		f.Type = t
	}
	for _, p := range []struct {
		name string
		dst  **time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, 0, bad(p.name + ": not an RFC 3339 time: " + clip(v))
			}
			t = t.UTC()
			*p.dst = &t
		}
	}
	if v := q.Get("device"); v != "" {
		d, err := h.core.Store.DeviceByUUID(r.Context(), strings.ToLower(v))
		if admit.IsNotFound(err) || (err == nil && d.OrganizerID != ev.OrganizerID) || !admit.ValidUUID(v) {
			return f, 0, admit.Errorf(admit.EInvalid, "device: no device %q", clip(v))
		}
		if err != nil {
			return f, 0, err
		}
		f.DeviceID = d.ID
	}
	if v := q.Get("ticket"); v != "" {
		t, err := h.core.EventTicket(r.Context(), ev, v)
		if admit.IsNotFound(err) {
			return f, 0, admit.Errorf(admit.EInvalid, "ticket: no ticket %q in this event", clip(v))
		}
		if err != nil {
			return f, 0, err
		}
		f.TicketID = t.ID
	}
	return f, limit, nil
}

// exportChunk is how many rows an export reads at once: constant memory
// whatever the size of the log.
const exportChunk = 1000

func (h *Handler) listScans(w http.ResponseWriter, r *http.Request, c *admit.Caller) {
	ev, err := h.event(r.Context(), r, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f, limit, err := h.scanFilter(r, ev)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	names, err := h.namesOf(r, ev)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" && strings.Contains(r.Header.Get("Accept"), "text/csv") {
		format = "csv"
	}
	switch format {
	case "":
	case "csv", "ndjson":
		h.exportScans(w, r, ev, f, names, format)
		return
	default:
		h.fail(w, r, bad(`format: "csv" or "ndjson", not `+clip(format)))
		return
	}
	f.Limit = limit + 1
	scans, _, err := h.core.Store.Scans(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := struct {
		Scans []scanOut `json:"scans"`
		Next  *string   `json:"next"`
	}{Scans: []scanOut{}}
	if len(scans) > limit {
		scans = scans[:limit]
		next := strconv.FormatInt(scans[limit-1].ID, 10)
		out.Next = &next
	}
	for _, sc := range scans {
		out.Scans = append(out.Scans, names.scan(sc))
	}
	writeJSON(w, http.StatusOK, out)
}

var csvHeader = []string{"id", "ticket", "attendee_name", "product", "list", "section", "device", "device_uuid", "source",
	"redeemer", "type", "result", "reason", "forced", "offline", "device_time", "server_time",
	"device_verdict", "clock_offset_ms", "conflict", "leaf", "covered"}

// exportRow is a row of the export: a scan, its leaf index in the scan
// log's Merkle tree (null: not appended yet) and whether the export's
// checkpoint covers it (leaf < the checkpoint's tree size).
type exportRow struct {
	scanOut
	Leaf    *int64 `json:"leaf"`
	Covered bool   `json:"covered"`
}

// exportEnd is the NDJSON export's last line: the checkpoint the rows are
// consistent with (null before the first), and the key that checks it. A
// file without it was cut short.
type exportEnd struct {
	Checkpoint  *string `json:"checkpoint"`
	TreeSize    int64   `json:"tree_size"`
	VerifierKey string  `json:"verifier_key"`
}

// Headers of the export: the checkpoint (base64 of the signed note) and
// the key that checks it.
const (
	HeaderLogCheckpoint = "Admit-Log-Checkpoint"
	HeaderLogKey        = "Admit-Log-Key"
)

// exportScans streams every row that f matches, a chunk at a time.
func (h *Handler) exportScans(w http.ResponseWriter, r *http.Request, ev *admit.Event, f admit.ScanFilter, names *logNames, format string) {
	ctx := r.Context()
	f.Limit = exportChunk
	// The first chunk before the header: an error there is still a problem answer.
	// The checkpoint before the rows: the log only grows, so every row it
	// covers is read as it covers it; rows appended since are not covered.
	cp, err := h.core.Store.LatestLogCheckpoint(ctx)
	if admit.IsNotFound(err) {
		cp, err = &admit.LogCheckpoint{}, nil
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	scans, _, err := h.core.Store.Scans(ctx, f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	leaves, err := h.leavesOf(r, scans)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if cp.Note != "" {
		w.Header().Set(HeaderLogCheckpoint, base64.StdEncoding.EncodeToString([]byte(cp.Note)))
		w.Header().Set(HeaderLogKey, cp.VerifierKey)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var cw *csv.Writer
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="scans-`+ev.Slug+`.csv"`)
		cw = csv.NewWriter(bw)
		cw.Write(csvHeader)
	} else {
		w.Header().Set("Content-Type", "application/x-ndjson")
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	for {
		for _, sc := range scans {
			o := exportRow{scanOut: names.scan(sc)}
			if n, ok := leaves[sc.ID]; ok {
				o.Leaf, o.Covered = &n, n < cp.Size
			}
			if cw != nil {
				cw.Write(csvRow(&o))
			} else if err := enc.Encode(o); err != nil {
				return
			}
		}
		if cw != nil {
			cw.Flush()
		}
		if len(scans) < exportChunk {
			break
		}
		f.AfterID = scans[len(scans)-1].ID
		if scans, _, err = h.core.Store.Scans(ctx, f); err == nil {
			leaves, err = h.leavesOf(r, scans)
		}
		if err != nil {
			if ctx.Err() == nil {
				h.log.Error("api: export failed midway", "event", ev.UUID, "err", err)
			}
			return // the answer is cut short: the client sees a truncated file
		}
	}
	if cw == nil {
		end := exportEnd{TreeSize: cp.Size, VerifierKey: cp.VerifierKey}
		if cp.Note != "" {
			end.Checkpoint = &cp.Note
		}
		enc.Encode(end)
	}
	bw.Flush()
}

// leavesOf returns the leaf indexes of scans in the scan log's tree.
func (h *Handler) leavesOf(r *http.Request, scans []*admit.Scan) (map[int64]int64, error) {
	ids := make([]int64, len(scans))
	for i, sc := range scans {
		ids[i] = sc.ID
	}
	return h.core.Store.ScanLeaves(r.Context(), ids)
}

func csvRow(o *exportRow) []string {
	s := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	t := func(p *time.Time) string {
		if p == nil {
			return ""
		}
		return p.UTC().Format(time.RFC3339Nano)
	}
	leaf := ""
	if o.Leaf != nil {
		leaf = strconv.FormatInt(*o.Leaf, 10)
	}
	ms := ""
	if o.ClockOffsetMS != nil {
		ms = strconv.FormatInt(*o.ClockOffsetMS, 10)
	}
	return []string{strconv.FormatInt(o.ID, 10), s(o.Ticket), csvSafe(o.AttendeeName), csvSafe(o.Product), csvSafe(o.List),
		csvSafe(o.Section), csvSafe(o.Device), s(o.DeviceUUID), o.Source, csvSafe(o.Redeemer), o.Type, o.Result, s(o.Reason),
		strconv.FormatBool(o.Forced), strconv.FormatBool(o.Offline), t(o.DeviceTime), t(&o.ServerTime),
		s(o.DeviceVerdict), ms, s(o.Conflict), leaf, strconv.FormatBool(o.Covered)}
}

// csvSafe keeps a spreadsheet from reading a name as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// logProof is an inclusion proof of a scan on the API: hashes in base64.
type logProof struct {
	ScanID      int64    `json:"scan_id"`
	Leaf        int64    `json:"leaf"`
	Record      string   `json:"record"`
	TreeSize    int64    `json:"tree_size"`
	RootHash    []byte   `json:"root_hash"`
	Proof       [][]byte `json:"proof"`
	Checkpoint  string   `json:"checkpoint"`
	VerifierKey string   `json:"verifier_key"`
}

// proveScan answers an inclusion proof of one of the event's scans in the
// tree of the latest checkpoint, or with tree_size=N of the checkpoint of
// that size (an export's).
func (h *Handler) proveScan(w http.ResponseWriter, r *http.Request, c *admit.Caller) {
	ev, err := h.event(r.Context(), r, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	id, err := strconv.ParseInt(r.PathValue("scan"), 10, 64)
	if err != nil || id <= 0 {
		h.fail(w, r, admit.Errorf(admit.ENotFound, "no scan %q", clip(r.PathValue("scan"))))
		return
	}
	var size int64
	if v := r.URL.Query().Get("tree_size"); v != "" {
		if size, err = strconv.ParseInt(v, 10, 64); err != nil || size < 1 {
			h.fail(w, r, bad("tree_size: a checkpoint's tree size (a positive whole number), not "+clip(v)))
			return
		}
	}
	p, err := h.core.Store.ProveScanAt(r.Context(), id, size)
	if err == nil && p.EventID != ev.ID {
		err = admit.Errorf(admit.ENotFound, "no scan %d in this event", id)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, logProof{ScanID: p.ScanID, Leaf: p.Leaf, Record: p.Record, TreeSize: p.TreeSize,
		RootHash: p.RootHash, Proof: p.Proof, Checkpoint: p.Checkpoint, VerifierKey: p.VerifierKey})
}

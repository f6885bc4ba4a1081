package api

import (
	"compress/gzip"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/admitdev/admit"
)

// The offline scanner's routes: the snapshot a device decides on while the
// network is down, the upload of what it scanned meanwhile, and the
// conflicts between devices and the server.

type offlineKey struct {
	Alg        string `json:"alg"` // ed25519 or rsa-pss-sha256
	PEM        string `json:"pem"`
	SaltLength *int   `json:"salt_length,omitempty"` // RSA-PSS: the signer's salt length
}

type offlineEvent struct {
	UUID     string       `json:"uuid"`
	Name     string       `json:"name"`
	Slug     string       `json:"slug"`
	Timezone string       `json:"timezone"`
	Keys     []offlineKey `json:"keys"`
}

type offlineList struct {
	UUID                 string  `json:"uuid"`
	Name                 string  `json:"name"`
	AllProducts          bool    `json:"all_products"`
	Products             []int64 `json:"products"`
	Sections             []int64 `json:"sections"`
	Subevent             *int64  `json:"subevent"`
	IncludePending       bool    `json:"include_pending"`
	AllowMultipleEntries bool    `json:"allow_multiple_entries"`
	AllowEntryAfterExit  bool    `json:"allow_entry_after_exit"`
	AdmitUnknownOffline  bool    `json:"admit_unknown_offline"`
}

// offlineClass is a combination of what the decision reads of a ticket;
// the snapshot groups its tickets by class.
type offlineClass struct {
	Product    int64      `json:"product"`
	Section    int64      `json:"section"`
	Subevent   int64      `json:"subevent"`
	Status     string     `json:"status"`
	Blocked    bool       `json:"blocked"`
	ValidFrom  *time.Time `json:"valid_from"`
	ValidUntil *time.Time `json:"valid_until"`
}

type offlineOut struct {
	Format     int               `json:"format"`
	Full       bool              `json:"full"`
	Cursor     string            `json:"cursor"`
	ServerTime time.Time         `json:"server_time"`
	Event      offlineEvent      `json:"event"`
	List       offlineList       `json:"list"`
	Products   map[string]string `json:"products"`
	Sections   map[string]string `json:"sections"`
	Classes    []offlineClass    `json:"classes"`
	Tickets    []string          `json:"tickets"`
	Inside     string            `json:"inside"`
	Used       string            `json:"used"`
	Outside    string            `json:"outside"`
}

// compactUUID is a uuid as the snapshot writes it: 32 hex digits.
func compactUUID(u string) string { return strings.ReplaceAll(strings.ToLower(u), "-", "") }

func (h *Handler) offlineSnapshot(w http.ResponseWriter, r *http.Request, c *admit.Caller) {
	ev, err := h.event(r.Context(), r, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	cursor := q.Get("cursor")
	if len(cursor) > 100 {
		h.fail(w, r, bad("cursor: longer than 100 characters"))
		return
	}
	listID, err := h.scanList(r, c, ev, q.Get("list"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var list *admit.CheckinList
	if listID != 0 {
		list, err = h.core.Store.List(r.Context(), listID)
	} else {
		list, err = h.core.Store.DefaultList(r.Context(), ev.ID)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	snap, err := h.core.OfflineSnapshot(r.Context(), ev, list, cursor)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := offlineOf(snap)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Vary", "Accept-Encoding")
	var enc *json.Encoder
	if acceptsGzip(r) {
		w.Header().Set("Content-Encoding", "gzip")
		zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
		defer zw.Close()
		enc = json.NewEncoder(zw)
	} else {
		enc = json.NewEncoder(w)
	}
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		h.log.Debug("api: offline snapshot not sent", "err", err)
	}
}

// acceptsGzip reports whether the request accepts a gzip-encoded answer.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
		if !ok {
			return true
		}
		v, err := strconv.ParseFloat(q, 64)
		return err == nil && v > 0
	}
	return false
}

func offlineOf(s *admit.OfflineSnapshot) *offlineOut {
	ev, l := s.Event, s.List
	out := &offlineOut{Format: 1, Full: s.Full, Cursor: s.Cursor, ServerTime: s.ServerTime,
		Event:    offlineEvent{UUID: ev.UUID, Name: ev.Name, Slug: ev.Slug, Timezone: ev.Timezone},
		Products: map[string]string{}, Sections: map[string]string{},
		Classes: []offlineClass{}, Tickets: []string{}}
	if pub, err := admit.ParsePublicKey(ev.PublicKeyPEM); err == nil {
		k := offlineKey{Alg: "ed25519", PEM: ev.PublicKeyPEM}
		if rk, ok := pub.(*rsa.PublicKey); ok {
			// Signed with the longest salt (rsa.PSSSaltLengthAuto).
			salt := rk.Size() - 32 - 2
			k.Alg, k.SaltLength = "rsa-pss-sha256", &salt
		}
		out.Event.Keys = append(out.Event.Keys, k)
	}
	out.List = offlineList{UUID: l.UUID, Name: l.Name, AllProducts: len(l.ProductIDs) == 0,
		Products: nonNil(l.ProductIDs), Sections: nonNil(l.SectionIDs), IncludePending: l.IncludePending,
		AllowMultipleEntries: l.AllowMultipleEntries, AllowEntryAfterExit: l.AllowEntryAfterExit}
	if l.SubeventID != 0 {
		id := l.SubeventID
		out.List.Subevent = &id
	}
	for _, p := range s.Products {
		out.Products[strconv.FormatInt(p.ID, 10)] = p.Name
	}
	for _, sec := range s.Sections {
		out.Sections[strconv.FormatInt(sec.ID, 10)] = sec.Name
	}
	// A class's key holds its window as values: equal windows make one class.
	type classKey struct {
		product, section, subevent int64
		status                     admit.OrderStatus
		blocked                    bool
		from, until                int64 // unix µs; -1: none
	}
	micro := func(t *time.Time) int64 {
		if t == nil {
			return -1
		}
		return t.UnixMicro()
	}
	classes := map[classKey]int{}
	var groups []*strings.Builder
	for _, t := range s.Tickets {
		key := classKey{t.ProductID, t.SectionID, t.SubeventID, t.OrderStatus, t.Blocked, micro(t.ValidFrom), micro(t.ValidUntil)}
		i, ok := classes[key]
		if !ok {
			i = len(out.Classes)
			classes[key] = i
			out.Classes = append(out.Classes, offlineClass{Product: t.ProductID, Section: t.SectionID, Subevent: t.SubeventID,
				Status: string(t.OrderStatus), Blocked: t.Blocked, ValidFrom: t.ValidFrom, ValidUntil: t.ValidUntil})
			groups = append(groups, &strings.Builder{})
		}
		groups[i].WriteString(compactUUID(t.UUID))
	}
	for _, g := range groups {
		out.Tickets = append(out.Tickets, g.String())
	}
	var inside, used, outside strings.Builder
	for _, st := range s.States {
		u := compactUUID(st.UUID)
		switch {
		case st.Inside:
			inside.WriteString(u)
		case st.Entered:
			used.WriteString(u)
		}
		if !st.Inside && !s.Full {
			outside.WriteString(u)
		}
	}
	out.Inside, out.Used, out.Outside = inside.String(), used.String(), outside.String()
	return out
}

func nonNil(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return slices.Clone(ids)
}

// Bounds of an offline upload.
const (
	maxOfflineScans = 500
	maxOfflineBody  = 4 << 20 // 500 codes of at most 4 KiB, and their fields
	maxVerdict      = 40
)

type offlineUploadIn struct {
	ClockOffsetMS *int64            `json:"clock_offset_ms"`
	Scans         []json.RawMessage `json:"scans"`
}

type offlineScanIn struct {
	Nonce      string `json:"nonce"`
	Code       string `json:"code"`
	Type       string `json:"type"`
	List       string `json:"list"`
	DeviceTime string `json:"device_time"`
	Verdict    string `json:"verdict"`
}

type offlineResult struct {
	Nonce    *string      `json:"nonce"`
	Status   string       `json:"status"` // recorded, duplicate, rejected
	Error    string       `json:"error,omitempty"`
	ScanID   *int64       `json:"scan_id"`
	Result   *string      `json:"result"`
	Reason   *string      `json:"reason"`
	Conflict *conflictRef `json:"conflict"`
}

type conflictRef struct {
	Kind   string  `json:"kind"`
	Reason *string `json:"reason"`
}

type offlineUploadOut struct {
	ServerTime time.Time       `json:"server_time"`
	Results    []offlineResult `json:"results"`
}

// deviceVerdicts are the verdicts a device may report: "ok" (admitted, or
// an exit recorded) or why it refused, in the API's words.
var deviceVerdicts = map[string]bool{
	"ok": true, "already_inside": true, "already_used": true, "canceled": true, "blocked": true, "unpaid": true,
	"not_valid_yet": true, "expired": true, "not_on_list": true, "forged": true, "unreadable": true,
	"unknown_ticket": true, "wrong_event": true, "not_inside": true, "not_in_snapshot": true, "capacity": true,
}

func (h *Handler) uploadOffline(w http.ResponseWriter, r *http.Request, c *admit.Caller) {
	ev, err := h.event(r.Context(), r, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var in offlineUploadIn
	if err := decodeMax(w, r, &in, maxOfflineBody); err != nil {
		h.fail(w, r, err)
		return
	}
	switch {
	case in.Scans == nil:
		h.fail(w, r, bad("scans: required (an array of at most 500 scans)"))
		return
	case len(in.Scans) > maxOfflineScans:
		h.fail(w, r, bad(fmt.Sprintf("scans: %d scans, at most %d per upload", len(in.Scans), maxOfflineScans)))
		return
	}
	var offset time.Duration
	if in.ClockOffsetMS != nil {
		ms := *in.ClockOffsetMS
		if ms > admit.OfflineMaxOffset.Milliseconds() || ms < -admit.OfflineMaxOffset.Milliseconds() {
			h.fail(w, r, bad("clock_offset_ms: not a believable clock error: "+strconv.FormatInt(ms, 10)))
			return
		}
		offset = time.Duration(ms) * time.Millisecond
	}
	out := offlineUploadOut{Results: make([]offlineResult, 0, len(in.Scans))}
	for i, raw := range in.Scans {
		res, err := h.uploadOne(r, c, ev, raw, offset)
		var br *badRequest
		if err != nil && !errors.As(err, &br) {
			if r.Context().Err() != nil || admit.ErrorCode(err) == admit.EInternal {
				// What is recorded stays recorded: the device uploads again
				// and gets those as duplicates.
				h.fail(w, r, err)
				return
			}
		}
		if err != nil {
			res.Status, res.Error = "rejected", fmt.Sprintf("scan %d: %s", i, rejection(err))
		}
		out.Results = append(out.Results, res)
	}
	out.ServerTime = h.core.Now().UTC()
	writeJSON(w, http.StatusOK, out)
}

// rejection is what a per-scan refusal of an upload says.
func rejection(err error) string {
	var br *badRequest
	if errors.As(err, &br) {
		return br.msg
	}
	return admit.ErrorMessage(err)
}

func (h *Handler) uploadOne(r *http.Request, c *admit.Caller, ev *admit.Event, raw json.RawMessage, offset time.Duration) (offlineResult, error) {
	var res offlineResult
	var in offlineScanIn
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return res, bad("not a scan object: " + clip(err.Error()))
	}
	if in.Nonce != "" && len(in.Nonce) <= maxNonce {
		n := in.Nonce
		res.Nonce = &n
	}
	switch {
	case in.Nonce == "":
		return res, bad("nonce: required")
	case len(in.Nonce) > maxNonce:
		return res, bad("nonce: longer than 128 bytes")
	case strings.TrimSpace(in.Code) == "":
		return res, bad("code: required")
	case len(in.Code) > maxCode:
		return res, bad("code: longer than 4096 bytes")
	case in.DeviceTime == "":
		return res, bad("device_time: required")
	case len(in.Verdict) > maxVerdict || !deviceVerdicts[in.Verdict]:
		return res, bad("verdict: \"ok\" or a reason the device showed, not " + strconv.Quote(clip(in.Verdict)))
	}
	req := &admit.RedeemRequest{Code: in.Code, Plain: admit.PlainAny, Nonce: in.Nonce, Source: SourceAPI,
		Offline: true, DeviceAdmitted: in.Verdict == "ok", DeviceVerdict: in.Verdict, ClockOffset: offset}
	dt, err := time.Parse(time.RFC3339Nano, in.DeviceTime)
	if err != nil {
		return res, bad("device_time: not an RFC 3339 time: " + clip(in.DeviceTime))
	}
	if err := h.fillScan(r, c, ev, req, in.Type, in.List, nil); err != nil {
		return res, err
	}
	dt = dt.UTC()
	req.DeviceTime = &dt
	rr, err := h.core.Redeem(r.Context(), req)
	if err != nil {
		return res, err
	}
	res.Status = "recorded"
	if rr.Replayed {
		res.Status = "duplicate"
	}
	if rr.ScanID != 0 {
		id := rr.ScanID
		res.ScanID = &id
	}
	reason := apiReason(rr.Reason, rr.Ticket, req.DeviceTime.Add(offset), rr.State)
	result, why := resultOf(reason)
	res.Result, res.Reason = &result, why
	if rr.Conflict != admit.ConflictNone {
		res.Conflict = &conflictRef{Kind: string(rr.Conflict), Reason: why}
	}
	return res, nil
}

// conflictOut is one conflict of the report.
type conflictOut struct {
	Kind   string     `json:"kind"`
	Ticket *ticketOut `json:"ticket"`
	Scan   scanOut    `json:"scan"`
	Other  *scanOut   `json:"other"`
}

func (h *Handler) listConflicts(w http.ResponseWriter, r *http.Request, c *admit.Caller) {
	ev, err := h.event(r.Context(), r, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	limit := 1000
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			h.fail(w, r, bad("limit: a whole number from 1 to 1000, not "+clip(v)))
			return
		}
		limit = n
	}
	reports, total, err := h.core.Conflicts(r.Context(), ev.ID, limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	names, err := h.namesOf(r, ev)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := struct {
		Count     int           `json:"count"`
		Conflicts []conflictOut `json:"conflicts"`
	}{Count: total, Conflicts: make([]conflictOut, 0, len(reports))}
	for _, rep := range reports {
		co := conflictOut{Kind: string(rep.Kind), Scan: names.scan(rep.Scan)}
		if t := rep.Scan.Ticket; t != nil {
			co.Ticket = ticketOf(t, nil)
		}
		if rep.Other != nil {
			o := names.scan(rep.Other)
			co.Other = &o
		}
		out.Conflicts = append(out.Conflicts, co)
	}
	writeJSON(w, http.StatusOK, out)
}

package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/admitdev/admit"
)

// SourceAPI and SourceManual name admit's own API in the scan log: a scan
// of a code, and a check-in by hand (a ticket found and checked in).
const (
	SourceAPI    = "api"
	SourceManual = "manual"
)

// Bounds of what a scan request may carry: nothing larger reaches the log.
const (
	maxCode  = 4096
	maxNonce = 128
	maxName  = 200
)

type scanIn struct {
	Code      string  `json:"code"`
	Type      string  `json:"type"`
	List      string  `json:"list"`
	Nonce     string  `json:"nonce"`
	ScannedAt *string `json:"scanned_at"`
}

type scanResult struct {
	Result     string      `json:"result"` // ok or refused
	Reason     *string     `json:"reason"`
	Message    string      `json:"message"`
	Attention  bool        `json:"attention"`
	Ticket     *ticketOut  `json:"ticket"`
	Scan       scanRef     `json:"scan"`
	FirstEntry *firstEntry `json:"first_entry"`
}

type scanRef struct {
	ID         *int64     `json:"id"`
	Type       string     `json:"type"`
	ServerTime time.Time  `json:"server_time"`
	DeviceTime *time.Time `json:"device_time"`
	Replayed   bool       `json:"replayed"`
}

type firstEntry struct {
	At     time.Time `json:"at"`
	Device string    `json:"device"`
}

// scanType reads a scan type; "" is an entry.
func scanType(s string) (admit.ScanType, error) {
	switch s {
	case "", "entry":
		return admit.ScanEntry, nil
	case "exit":
		return admit.ScanExit, nil
	}
	return "", bad(`type must be "entry" or "exit", not "` + clip(s) + `"`)
}

// clip shortens what a client sent for an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// scanList resolves the list a caller scans on: a device's own list, else
// the one the request names (by uuid or name), else the event's default (0).
func (h *Handler) scanList(r *http.Request, c *admit.Caller, ev *admit.Event, name string) (int64, error) {
	if len(name) > maxName {
		return 0, bad("list: longer than 200 characters")
	}
	if c.Device != nil && c.Device.ListID != 0 {
		if name == "" {
			return c.Device.ListID, nil
		}
		l, err := h.findList(r, ev, name)
		if err != nil {
			return 0, err
		}
		if l.ID != c.Device.ListID {
			return 0, admit.Errorf(admit.EForbidden, "this device scans on its own list only")
		}
		return l.ID, nil
	}
	if name == "" {
		return 0, nil
	}
	l, err := h.findList(r, ev, name)
	if err != nil {
		return 0, err
	}
	return l.ID, nil
}

// findList finds a list of ev by uuid or name.
func (h *Handler) findList(r *http.Request, ev *admit.Event, name string) (*admit.CheckinList, error) {
	lists, err := h.core.Store.Lists(r.Context(), ev.ID)
	if err != nil {
		return nil, err
	}
	for _, l := range lists {
		if strings.EqualFold(l.UUID, name) || l.Name == name {
			return l, nil
		}
	}
	return nil, admit.Errorf(admit.EInvalid, "list: no check-in list %q in this event", clip(name))
}

func (h *Handler) scan(w http.ResponseWriter, r *http.Request, c *admit.Caller) {
	ev, err := h.event(r.Context(), r, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var in scanIn
	if err := decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	switch {
	case strings.TrimSpace(in.Code) == "":
		h.fail(w, r, bad("code: required"))
		return
	case len(in.Code) > maxCode:
		h.fail(w, r, bad("code: longer than 4096 bytes"))
		return
	case len(in.Nonce) > maxNonce:
		h.fail(w, r, bad("nonce: longer than 128 bytes"))
		return
	}
	req := &admit.RedeemRequest{Code: in.Code, Plain: admit.PlainAny, Nonce: in.Nonce, Source: SourceAPI}
	if err := h.fillScan(r, c, ev, req, in.Type, in.List, in.ScannedAt); err != nil {
		h.fail(w, r, err)
		return
	}
	h.redeem(w, r, ev, req)
}

// fillScan sets a redeem request's scope, type, time and who scans.
func (h *Handler) fillScan(r *http.Request, c *admit.Caller, ev *admit.Event, req *admit.RedeemRequest, typ, list string, scannedAt *string) error {
	var err error
	if req.Type, err = scanType(typ); err != nil {
		return err
	}
	if req.ListID, err = h.scanList(r, c, ev, list); err != nil {
		return err
	}
	if scannedAt != nil && *scannedAt != "" {
		t, err := time.Parse(time.RFC3339Nano, *scannedAt)
		if err != nil {
			return bad("scanned_at: not an RFC 3339 time: " + clip(*scannedAt))
		}
		t = t.UTC()
		req.DeviceTime = &t
	}
	req.OrganizerID, req.EventID = c.OrganizerID, ev.ID
	req.Redeemer = c.Name
	if d := c.Device; d != nil {
		req.Scanner, req.DeviceID, req.DeviceUUID, req.DeviceName = d, d.ID, d.UUID, d.Name
	}
	return nil
}

// redeem runs the core's one decision and answers it.
func (h *Handler) redeem(w http.ResponseWriter, r *http.Request, ev *admit.Event, req *admit.RedeemRequest) {
	res, err := h.core.Redeem(r.Context(), req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h.resultOf(ev, req, res))
}

func (h *Handler) resultOf(ev *admit.Event, req *admit.RedeemRequest, res *admit.RedeemResult) *scanResult {
	at := res.ServerTime
	if req.DeviceTime != nil {
		at = *req.DeviceTime
	}
	out := &scanResult{Result: "ok", Attention: res.Forced,
		Scan: scanRef{Type: string(req.Type), DeviceTime: req.DeviceTime, Replayed: res.Replayed}}
	if res.ScanID != 0 {
		id := res.ScanID
		out.Scan.ID = &id
	}
	out.Scan.ServerTime = res.ServerTime
	if res.Ticket != nil {
		out.Ticket = ticketOf(res.Ticket, res.State)
	}
	reason := apiReason(res.Reason, res.Ticket, at, res.State)
	if reason != "" {
		out.Result = "refused"
		out.Reason = &reason
	}
	if st := res.State; st != nil && st.Entries > 0 && (reason == "already_inside" || reason == "already_used") {
		out.FirstEntry = &firstEntry{At: st.FirstAt, Device: st.FirstDeviceName}
	}
	out.Message = message(reason, req.Type, res, ev)
	return out
}

// apiReason names a decision on the API: "" for an admission.
func apiReason(r admit.Reason, t *admit.Ticket, at time.Time, st *admit.CheckinState) string {
	switch r {
	case admit.ReasonOK:
		return ""
	case admit.ReasonBadFormat, admit.ReasonBadEncoding, admit.ReasonNoUUID:
		return "unreadable"
	case admit.ReasonBadSignature:
		return "forged"
	case admit.ReasonInvalidTime:
		if t != nil && t.ValidFrom != nil && at.Before(*t.ValidFrom) {
			return "not_valid_yet"
		}
		return "expired"
	case admit.ReasonProduct:
		return "not_on_list"
	case admit.ReasonAlreadyRedeemed:
		if st != nil && !st.Inside {
			return "already_used"
		}
		return "already_inside"
	}
	return string(r) // unknown_ticket, wrong_event, canceled, blocked, unpaid, capacity, not_inside
}

// message is the sentence the door shows.
func message(reason string, typ admit.ScanType, res *admit.RedeemResult, ev *admit.Event) string {
	name := ""
	if res.Ticket != nil {
		name = res.Ticket.AttendeeName()
	}
	loc := time.UTC
	if l, err := time.LoadLocation(ev.Timezone); err == nil {
		loc = l
	}
	switch reason {
	case "":
		if typ == admit.ScanExit {
			return "Exit recorded" + suffix(name)
		}
		if res.Forced {
			return "Admitted by force" + suffix(name) + ": check the ticket"
		}
		return "Welcome" + suffix(name)
	case "already_inside", "already_used":
		s := "Already inside"
		if reason == "already_used" {
			s = "Already used"
		}
		if st := res.State; st != nil && !st.FirstAt.IsZero() {
			s += " since " + st.FirstAt.In(loc).Format("15:04")
			if !sameDay(st.FirstAt.In(loc), time.Now().In(loc)) {
				s += " on " + st.FirstAt.In(loc).Format("Jan 2")
			}
			if st.FirstDeviceName != "" {
				s += " at " + st.FirstDeviceName
			}
		}
		return s
	case "unreadable":
		return "Unreadable code: not a ticket of this server"
	case "forged":
		return "Forged code: the signature does not match"
	case "unknown_ticket":
		return "Unknown ticket"
	case "wrong_event":
		return "Wrong event: this ticket is for another event"
	case "canceled":
		return "Canceled: the order was canceled"
	case "blocked":
		return "Blocked ticket"
	case "unpaid":
		return "Unpaid: the order is not paid"
	case "not_valid_yet":
		return "Not valid yet"
	case "expired":
		return "Expired: no longer valid"
	case "not_on_list":
		return "Not valid at this entrance"
	case "capacity":
		return "Area full: no place left"
	case "not_inside":
		return "Not inside: the ticket has not entered"
	}
	return "Refused: " + reason
}

func suffix(name string) string {
	if name == "" {
		return ""
	}
	return ", " + name
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

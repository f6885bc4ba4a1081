package ticketing

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/admitdev/admit"
)

// Admissions through this API are entries on the event's default check-in
// list (ListID 0 in a RedeemRequest), the list TiBillet devices without a
// list of their own scan on: one ticket, one admission, whichever API
// admitted it.

// ticketStatus is a ticket's TickeTing status, from the core's decision on
// the default list: "Issued" while admissible (also outside its validity
// window, and after admission: "redeemed" says that), else why not.
func ticketStatus(t *admit.Ticket, l *admit.CheckinList, sections []int64, at time.Time) string {
	d := admit.Decide(admit.DecideInput{Ticket: t, List: l, At: at, Type: admit.ScanEntry, Sections: sections})
	switch d.Reason {
	case admit.ReasonCanceled:
		return "Cancelled"
	case admit.ReasonBlocked:
		return "Void"
	case admit.ReasonUnpaid:
		return "Pending"
	}
	return "Issued"
}

// defaultListPage reads what both listings of the event's default list
// need: the caller allowed to admit, the event, its default list, the query
// and its page.
func (h *Handler) defaultListPage(r *http.Request) (*caller, *admit.Event, *admit.CheckinList, url.Values, pagination, error) {
	c, ev, err := h.event(r, admits)
	if err != nil {
		return nil, nil, nil, nil, pagination{}, err
	}
	q := r.URL.Query()
	p, err := parsePagination(q)
	if err != nil {
		return nil, nil, nil, nil, pagination{}, err
	}
	list, err := h.core.Store.DefaultList(r.Context(), ev.ID)
	if err != nil {
		return nil, nil, nil, nil, pagination{}, err
	}
	return c, ev, list, q, p, nil
}

// listTickets: GET /events/{event}/tickets?records=&page=&modified_since= →
// the tickets of the event's default list within the caller's sections.
func (h *Handler) listTickets(w http.ResponseWriter, r *http.Request) {
	c, ev, list, q, p, err := h.defaultListPage(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx := r.Context()
	f := admit.TicketFilter{
		EventID: ev.ID, List: list, SectionIDs: c.sections(), StateListID: list.ID,
		Limit: p.records, Offset: p.offset(), Count: true,
	}
	if s := q.Get("modified_since"); s != "" {
		since, err := parseQueryDate("modified_since", s)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		f.ModifiedSince = &since
	}
	ts, total, err := h.core.Store.FindTickets(ctx, f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := h.core.Now()
	entries := make([]map[string]any, 0, len(ts))
	for _, t := range ts {
		redeemed := "N/A"
		if t.State != nil && t.State.Entries > 0 {
			redeemed = formatDate(t.State.FirstAt)
		}
		entries = append(entries, map[string]any{
			"serial":   t.Serial,
			"status":   ticketStatus(t, list, c.sections(), now),
			"section":  ticketSection(t),
			"owner":    holder(t),
			"issued":   formatDate(t.CreatedAt),
			"redeemed": redeemed,
		})
	}
	h.writeList(w, r, p, total, entries)
}

// admissionBody is the body of POST /events/{event}/admissions.
type admissionBody struct {
	Redeemer string   `json:"redeemer"`
	Device   string   `json:"device"`
	Serials  []string `json:"serials"`
}

// maxSerials bounds the serials of one request, and so the scan log rows
// one request writes (each a few hundred bytes at most: its strings are
// bounded by admit.MaxLabel).
const maxSerials = 100

// admissionJSON is one admission record.
func admissionJSON(redeemer, device string, t *admit.Ticket, at time.Time) map[string]any {
	return map[string]any{
		"redeemer": redeemer,
		"device":   device,
		"ticket":   t.Serial,
		"patron":   holder(t),
		"section":  ticketSection(t),
		"admitted": formatDate(at),
	}
}

// admit: POST /events/{event}/admissions {"redeemer", "device", "serials"} →
// 201 with a bare array, one record per ticket admitted. Each serial (or
// full signed QR string) goes through the core's one redeem decision on the
// default list, within the caller's sections; a serial repeated in the
// request is tried once. None admitted → 400.
func (h *Handler) admit(w http.ResponseWriter, r *http.Request) {
	c, ev, err := h.event(r, admits)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var b admissionBody
	if err := decodeBody(w, r, &b); err != nil {
		h.fail(w, r, err)
		return
	}
	var serials []string
	seen := map[string]bool{}
	for _, s := range b.Serials {
		if s = strings.TrimSpace(s); s != "" && !seen[s] && len(serials) <= maxSerials {
			seen[s] = true
			serials = append(serials, s)
		}
	}
	if len(serials) == 0 {
		h.fail(w, r, errRequired("serials"))
		return
	}
	if len(serials) > maxSerials {
		h.fail(w, r, admit.Errorf(admit.EInvalid, "At most %d serials may be admitted in one request.", maxSerials))
		return
	}
	for _, s := range serials {
		if len(s) > admit.MaxCode {
			h.fail(w, r, admit.Errorf(admit.EInvalid, "A serial is longer than %d characters.", admit.MaxCode))
			return
		}
	}
	redeemer, device := strings.TrimSpace(b.Redeemer), strings.TrimSpace(b.Device)
	for _, a := range []struct{ name, v string }{{"redeemer", redeemer}, {"device", device}} {
		if admit.TooLong(a.v, admit.MaxLabel) {
			h.fail(w, r, admit.Errorf(admit.EInvalid, "The argument %s is longer than %d characters.", a.name, admit.MaxLabel))
			return
		}
	}
	out := []map[string]any{}
	var failed error
	full := false // a serial was refused because its area is full
	for _, s := range serials {
		res, err := h.core.Redeem(r.Context(), &admit.RedeemRequest{
			Code: s, Plain: admit.PlainSerial,
			OrganizerID: ev.OrganizerID, EventID: ev.ID, Sections: c.sections(),
			Redeemer: redeemer, DeviceName: device, Source: "ticketing",
		})
		if err != nil {
			// One serial failing does not lose the admissions already
			// recorded: it is answered as not admitted, and logged.
			if code := admit.RequestErrorCode(r.Context(), err); code != admit.EInternal {
				failed = err
				break // the client went away, or the request is refused whole
			}
			h.log.Error("ticketing: admit failed", "event", ev.ID, "err", err)
			failed = err
			continue
		}
		if !res.OK() {
			full = full || res.Reason == admit.ReasonCapacity
			continue
		}
		at := h.core.Now()
		if res.State != nil && !res.State.LastAt.IsZero() {
			at = res.State.LastAt
		}
		out = append(out, admissionJSON(redeemer, device, res.Ticket, at))
	}
	if len(out) == 0 {
		if failed != nil {
			h.fail(w, r, failed)
			return
		}
		if full {
			h.fail(w, r, admit.Errorf(admit.EInvalid, msgAreaFull))
			return
		}
		h.fail(w, r, admit.Errorf(admit.EInvalid, msgNoAdmission))
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

// listAdmissions: GET /events/{event}/admissions?redeemer=&device=&ticket=&
// patron=&section=&page=&records= → the entries on the event's default
// list, oldest first; a staff key sees its sections' only.
func (h *Handler) listAdmissions(w http.ResponseWriter, r *http.Request) {
	c, ev, list, q, p, err := h.defaultListPage(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx := r.Context()
	f := admit.ScanFilter{
		EventID: ev.ID, ListID: list.ID, Result: admit.ReasonOK, Type: admit.ScanEntry,
		Redeemer: q.Get("redeemer"), DeviceName: q.Get("device"), SectionIDs: c.sections(),
		Limit: p.records, Offset: p.offset(),
	}
	none := false // a filter that matches nothing
	if s := strings.TrimSpace(q.Get("ticket")); s != "" {
		t, err := h.core.Store.TicketBySerial(ctx, ev.ID, s)
		switch {
		case admit.IsNotFound(err):
			none = true
		case err != nil:
			h.fail(w, r, err)
			return
		default:
			f.TicketID = t.ID
		}
	}
	if s := strings.TrimSpace(q.Get("patron")); s != "" {
		s = strings.TrimPrefix(strings.TrimSuffix(s, "/"), Prefix)
		f.HolderNumber = strings.TrimPrefix(s, "/accounts/")
	}
	if s := q.Get("section"); s != "" {
		e, id, ok := sectionRef(s)
		if !ok {
			h.fail(w, r, admit.Errorf(admit.EInvalid, "The argument section must be a section id or URI."))
			return
		}
		switch {
		case e != 0 && e != ev.ID:
			none = true
		case f.SectionIDs != nil && !slices.Contains(f.SectionIDs, id):
			none = true // not one of the staff key's sections
		default:
			f.SectionIDs = []int64{id}
		}
	}
	entries := []map[string]any{}
	total := 0
	if !none {
		scans, n, err := h.core.Store.Scans(ctx, f)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		total = n
		for _, sc := range scans {
			if sc.Ticket == nil {
				continue // an admission always has its ticket
			}
			entries = append(entries, admissionJSON(sc.Redeemer, sc.DeviceName, sc.Ticket, sc.ServerTime))
		}
	}
	h.writeList(w, r, p, total, entries)
}

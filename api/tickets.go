package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/admitdev/admit"
)

type ticketOut struct {
	UUID        string      `json:"uuid"`
	OrderCode   string      `json:"order_code"`
	OrderStatus string      `json:"order_status"`
	FirstName   string      `json:"first_name"`
	LastName    string      `json:"last_name"`
	Name        string      `json:"name"`
	Email       string      `json:"email"`
	Product     string      `json:"product"`
	Variation   *string     `json:"variation"`
	Section     *string     `json:"section"`
	Price       string      `json:"price"`
	Blocked     bool        `json:"blocked"`
	ValidFrom   *time.Time  `json:"valid_from"`
	ValidUntil  *time.Time  `json:"valid_until"`
	State       *ticketStat `json:"state"`
}

type ticketStat struct {
	Inside  bool       `json:"inside"`
	Entries int        `json:"entries"`
	FirstAt *time.Time `json:"first_at"`
	LastAt  *time.Time `json:"last_at"`
}

func ticketOf(t *admit.Ticket, st *admit.CheckinState) *ticketOut {
	o := &ticketOut{UUID: t.UUID, OrderCode: t.OrderCode, OrderStatus: string(t.OrderStatus), FirstName: t.FirstName,
		LastName: t.LastName, Name: t.AttendeeName(), Email: t.HolderEmail(), Product: t.ProductName,
		Variation: optStr(t.VariationName), Section: optStr(t.SectionName), Price: t.Price, Blocked: t.Blocked,
		ValidFrom: t.ValidFrom, ValidUntil: t.ValidUntil}
	if st != nil {
		o.State = &ticketStat{Inside: st.Inside, Entries: st.Entries, FirstAt: optTime(st.FirstAt), LastAt: optTime(st.LastAt)}
	}
	return o
}

// stateList is the list whose check-in state a ticket listing shows: the
// caller's device's, else the event's default.
func (h *Handler) stateList(r *http.Request, c *admit.Caller, ev *admit.Event) (int64, error) {
	if c.Device != nil && c.Device.ListID != 0 {
		return c.Device.ListID, nil
	}
	l, err := h.core.Store.DefaultList(r.Context(), ev.ID)
	if err != nil {
		return 0, err
	}
	return l.ID, nil
}

func (h *Handler) searchTickets(w http.ResponseWriter, r *http.Request, c *admit.Caller) {
	ev, err := h.event(r.Context(), r, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(q) > maxName {
		h.fail(w, r, bad("q: longer than 200 characters"))
		return
	}
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			h.fail(w, r, bad("limit: a whole number from 1 to 200, not "+clip(v)))
			return
		}
		limit = n
	}
	listID, err := h.stateList(r, c, ev)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f := admit.TicketFilter{EventID: ev.ID, Limit: limit, StateListID: listID, OrderBy: admit.OrderByLastName}
	if q != "" {
		f.Query = q
		f.Fields = admit.SearchName | admit.SearchEmail | admit.SearchOrderCodePrefix | admit.SearchUUIDPrefix | admit.SearchSecretPrefix
	}
	ts, _, err := h.core.Store.FindTickets(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := struct {
		Tickets []*ticketOut `json:"tickets"`
	}{Tickets: []*ticketOut{}}
	for _, t := range ts {
		out.Tickets = append(out.Tickets, ticketOf(t, t.State))
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) getTicket(w http.ResponseWriter, r *http.Request, c *admit.Caller) {
	ev, err := h.event(r.Context(), r, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	t, err := h.core.EventTicket(r.Context(), ev, r.PathValue("ticket"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	listID, err := h.stateList(r, c, ev)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	st, err := h.core.Store.CheckinState(r.Context(), t.ID, listID)
	if err != nil && !admit.IsNotFound(err) {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ticketOf(t, st))
}

type checkinIn struct {
	Type string `json:"type"`
	List string `json:"list"`
}

// checkinTicket checks a ticket in or out by hand: the same decision as a
// scan of its code, logged as manual with who did it.
func (h *Handler) checkinTicket(w http.ResponseWriter, r *http.Request, c *admit.Caller) {
	ev, err := h.event(r.Context(), r, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var in checkinIn
	if r.ContentLength != 0 {
		if err := decode(w, r, &in); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	t, err := h.core.EventTicket(r.Context(), ev, r.PathValue("ticket"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	req := &admit.RedeemRequest{Code: t.Secret, Plain: admit.PlainSecret, Source: SourceManual}
	if err := h.fillScan(r, c, ev, req, in.Type, in.List, nil); err != nil {
		h.fail(w, r, err)
		return
	}
	h.redeem(w, r, ev, req)
}

func (h *Handler) blockTicket(w http.ResponseWriter, r *http.Request, c *admit.Caller) {
	h.setBlocked(w, r, c, true)
}

func (h *Handler) unblockTicket(w http.ResponseWriter, r *http.Request, c *admit.Caller) {
	h.setBlocked(w, r, c, false)
}

func (h *Handler) setBlocked(w http.ResponseWriter, r *http.Request, c *admit.Caller, blocked bool) {
	ev, err := h.event(r.Context(), r, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	t, err := h.core.SetTicketBlocked(r.Context(), ev, r.PathValue("ticket"), blocked)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ticketOf(t, nil))
}

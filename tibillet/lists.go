package tibillet

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/admitdev/admit"
)

// listItem is one ticket of list_tickets and search_ticket.
type listItem struct {
	UUID                string  `json:"uuid"`
	FirstName           string  `json:"first_name"`
	LastName            string  `json:"last_name"`
	Email               *string `json:"email"`
	Price               *string `json:"price"`
	Product             *string `json:"product"`
	ReservationUUID     string  `json:"reservation_uuid"`
	Status              string  `json:"status"`
	ReservationDatetime *string `json:"reservation_datetime"`
	QRCodeData          *string `json:"qrcode_data"` // null for tickets issued elsewhere
	CustomForm          any     `json:"custom_form"` // TiBillet's booking form answers: none here
}

func item(t *admit.Ticket) listItem {
	return listItem{
		UUID:                t.UUID,
		FirstName:           t.FirstName,
		LastName:            t.LastName,
		Email:               nullable(t.HolderEmail()),
		Price:               nullable(t.Price),
		Product:             nullable(t.ProductName),
		ReservationUUID:     t.OrderUUID,
		Status:              ticketStatus(t, t.State),
		ReservationDatetime: pythonISO(t.OrderCreatedAt),
		QRCodeData:          nullable(t.QRCode),
	}
}

func items(ts []*admit.Ticket) []listItem {
	out := make([]listItem, 0, len(ts))
	for _, t := range ts {
		out = append(out, item(t))
	}
	return out
}

// listScope resolves a listing's event_uuid for the device, and the list
// whose check-in state the statuses show: the device's list, else the
// event's default list.
func (h *Handler) listScope(ctx context.Context, d *admit.Device, b body) (*admit.Event, int64, error) {
	eventUUID, err := b.str("event_uuid")
	if err != nil {
		return nil, 0, err
	}
	eventUUID = strings.TrimSpace(eventUUID)
	if eventUUID == "" {
		return nil, 0, admit.Errorf(admit.EInvalid, msgEventRequired)
	}
	ev, err := h.core.ScopeEvent(ctx, d.OrganizerID, d.EventID, eventUUID)
	if err != nil {
		return nil, 0, err
	}
	if d.ListID != 0 {
		return ev, d.ListID, nil
	}
	l, err := h.core.Store.DefaultList(ctx, ev.ID)
	if err != nil {
		return nil, 0, err
	}
	return ev, l.ID, nil
}

// The sort keys list_tickets accepts, as TiBillet names them.
var orderKeys = map[string]admit.TicketOrder{
	"reservation__datetime": admit.OrderByOrderTime,
	"last_name":             admit.OrderByLastName,
	"first_name":            admit.OrderByFirstName,
	"uuid":                  admit.OrderByUUID,
	"status":                admit.OrderByStatus,
	"reservation__uuid":     admit.OrderByOrderUUID,
}

// Paging limits of list_tickets, as TiBillet's.
const (
	defaultPageSize = 40
	maxPageSize     = 200
	maxPage         = 1<<31 - 1
	maxSearch       = 50 // search_ticket's results
)

type ordering struct {
	OrderBy  string `json:"order_by"`
	OrderDir string `json:"order_dir"`
}

type listAnswer struct {
	Success    bool       `json:"success"`
	Count      int        `json:"count"`
	Total      int        `json:"total"`
	Page       int        `json:"page"`
	PageSize   int        `json:"page_size"`
	TotalPages int        `json:"total_pages"`
	Ordering   ordering   `json:"ordering"`
	Results    []listItem `json:"results"`
}

// choice reads a field that must be one of choices; def when absent.
func (b body) choice(field, def string, choices []string) (string, error) {
	s, err := b.str(field)
	if err != nil {
		return "", err
	}
	if s == "" {
		return def, nil
	}
	if !slices.Contains(choices, s) {
		return "", &fieldError{field, `"` + s + `" is not a valid choice.`}
	}
	return s, nil
}

// listTickets answers a page of the event's tickets.
func (h *Handler) listTickets(w http.ResponseWriter, r *http.Request, d *admit.Device) {
	b, err := readBody(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	page, err := b.integer("page", 1, 1, maxPage)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	size, err := b.integer("page_size", defaultPageSize, 1, maxPageSize)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	keys := make([]string, 0, len(orderKeys))
	for k := range orderKeys {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	orderBy, err := b.choice("order_by", "reservation__datetime", keys)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	orderDir, err := b.choice("order_dir", "desc", []string{"asc", "desc"})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	ev, listID, err := h.listScope(r.Context(), d, b)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	ts, total, err := h.core.Store.FindTickets(r.Context(), admit.TicketFilter{
		EventID:     ev.ID,
		StateListID: listID,
		OrderBy:     orderKeys[orderBy],
		Desc:        orderDir == "desc",
		Limit:       size,
		Offset:      (page - 1) * size,
		Count:       true,
	})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listAnswer{
		Success:    true,
		Count:      len(ts),
		Total:      total,
		Page:       page,
		PageSize:   size,
		TotalPages: (total + size - 1) / size,
		Ordering:   ordering{OrderBy: orderBy, OrderDir: orderDir},
		Results:    items(ts),
	})
}

type searchAnswer struct {
	Success bool       `json:"success"`
	Count   int        `json:"count"`
	Results []listItem `json:"results"`
}

// searchFields is what search_ticket matches, as TiBillet's: a ticket uuid
// prefix, the name, the email, the price or product name, a reservation
// uuid prefix.
const searchFields = admit.SearchUUIDPrefix | admit.SearchName | admit.SearchEmail |
	admit.SearchPrice | admit.SearchProduct | admit.SearchOrderUUIDPrefix

// searchTicket answers at most 50 of the event's tickets that match.
func (h *Handler) searchTicket(w http.ResponseWriter, r *http.Request, d *admit.Device) {
	b, err := readBody(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	search, err := b.str("search")
	if err != nil {
		// TiBillet reads any value as text: a number is searched as such.
		n, ok := b["search"].(interface{ String() string })
		if !ok {
			h.writeError(w, r, err)
			return
		}
		search = n.String()
	}
	ev, listID, err := h.listScope(r.Context(), d, b)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	search = strings.TrimSpace(search)
	if search == "" {
		fail(w, http.StatusBadRequest, msgSearchRequired)
		return
	}
	if admit.TooLong(search, admit.MaxSearch) {
		h.writeError(w, r, &fieldError{"search", fmt.Sprintf("Ensure this field has no more than %d characters.", admit.MaxSearch)})
		return
	}
	ts, _, err := h.core.Store.FindTickets(r.Context(), admit.TicketFilter{
		EventID:     ev.ID,
		Query:       search,
		Fields:      searchFields,
		StateListID: listID,
		OrderBy:     admit.OrderByLastName,
		Limit:       maxSearch,
	})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, searchAnswer{Success: true, Count: len(ts), Results: items(ts)})
}

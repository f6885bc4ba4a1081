package tibillet

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/admitdev/admit"
)

// pairAnswer is GET /scan/{token}/pair's answer.
type pairAnswer struct {
	Success    bool   `json:"success"`
	TenantName string `json:"tenant_name"`
	Message    string `json:"message"`
	APIKey     string `json:"api_key"`
	DeviceUUID string `json:"device_uuid"`
	DeviceName string `json:"device_name"`
}

// pair consumes a single-use pairing token and answers the device's new
// API key. A bad, expired or used token is 400 {"error": ...}.
func (h *Handler) pair(w http.ResponseWriter, r *http.Request) {
	var orgID int64
	switch org, err := h.urlOrganizer(r); {
	case admit.IsNotFound(err):
		// No device of an unknown organizer has this token.
		h.writeError(w, r, admit.Errorf(admit.EInvalid, "Invalid or expired pairing token"))
		return
	case err != nil:
		h.writeError(w, r, err)
		return
	case org != nil:
		orgID = org.ID
	}
	d, key, err := h.core.PairDeviceOf(r.Context(), orgID, r.PathValue("token"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	org, err := h.core.Store.Organizer(r.Context(), d.OrganizerID)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.log.Info("tibillet: device paired", "device", d.UUID, "name", d.Name)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, pairAnswer{
		Success: true, TenantName: org.Name, Message: msgPaired,
		APIKey: key, DeviceUUID: d.UUID, DeviceName: d.Name,
	})
}

type deviceInfo struct {
	UUID     string `json:"uuid"`
	Name     string `json:"name"`
	Claimed  bool   `json:"claimed"`
	Archived bool   `json:"archived"`
}

type serverInfo struct {
	Tenant    string `json:"tenant"`
	Domain    string `json:"domain"`
	Timestamp string `json:"timestamp"`
}

type testAPIAnswer struct {
	Success    bool       `json:"success"`
	Message    string     `json:"message"`
	DeviceInfo deviceInfo `json:"device_info"`
	ServerInfo serverInfo `json:"server_info"`
}

// pythonTime is Python's datetime.isoformat() of an aware UTC time with
// microseconds, as TiBillet's server_info.timestamp.
const pythonTime = "2006-01-02T15:04:05.000000-07:00"

func (h *Handler) testAPI(w http.ResponseWriter, r *http.Request, d *admit.Device) {
	org, err := h.core.Store.Organizer(r.Context(), d.OrganizerID)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, testAPIAnswer{
		Success:    true,
		Message:    msgKeyValid,
		DeviceInfo: deviceInfo{UUID: d.UUID, Name: d.Name, Claimed: d.Claimed, Archived: d.Archived},
		ServerInfo: serverInfo{Tenant: org.Name, Domain: org.Domain, Timestamp: h.core.Now().UTC().Format(pythonTime)},
	})
}

func (h *Handler) checkAPIScan(w http.ResponseWriter, r *http.Request, d *admit.Device) {
	writeJSON(w, http.StatusOK, map[string]string{"scan_app": d.Name})
}

// ticketBlock is the "ticket" object of the scan answers. IsScanned and
// ScannedBy appear where TiBillet has them: both on check_ticket, ScannedBy
// on a refused scan, neither on a successful one.
type ticketBlock struct {
	UUID      string    `json:"uuid"`
	Status    string    `json:"status"`
	IsScanned *bool     `json:"is_scanned,omitempty"`
	Event     string    `json:"event"`
	FirstName string    `json:"first_name"`
	LastName  string    `json:"last_name"`
	Price     *string   `json:"price"`
	Product   *string   `json:"product"`
	ScannedBy scannedBy `json:"scanned_by,omitzero"`
}

// scannedBy is the uuid of the device that admitted the ticket, null if
// none, or absent (the zero value).
type scannedBy struct {
	present bool
	uuid    string
}

func (s scannedBy) IsZero() bool { return !s.present }

func (s scannedBy) MarshalJSON() ([]byte, error) {
	if s.uuid == "" {
		return []byte("null"), nil
	}
	return json.Marshal(s.uuid)
}

type reservationBlock struct {
	UUID         string `json:"uuid"`
	TicketsCount int    `json:"tickets_count"`
}

type scanAnswer struct {
	Success     bool             `json:"success"`
	Message     string           `json:"message"`
	Ticket      ticketBlock      `json:"ticket"`
	Reservation reservationBlock `json:"reservation"`
}

// TiBillet's ticket statuses.
const (
	statusCreated    = "Created"
	statusInactive   = "Inactive"
	statusNotScanned = "Valid and not scanned"
	statusScanned    = "Valid and scanned"
	statusCanceled   = "Canceled"
)

// ticketStatus words a ticket's state in TiBillet's statuses: its order
// canceled, the ticket blocked ("Inactive"), scanned on the list, its order
// not paid yet ("Created", as TiBillet's tickets are until paid), or valid.
// It describes the ticket; whether it is admitted is the core's decision.
func ticketStatus(t *admit.Ticket, st *admit.CheckinState) string {
	switch {
	case t.OrderStatus == admit.OrderCanceled:
		return statusCanceled
	case t.Blocked:
		return statusInactive
	case scanned(st):
		return statusScanned
	case t.OrderStatus != admit.OrderPaid:
		return statusCreated
	}
	return statusNotScanned
}

func scanned(st *admit.CheckinState) bool { return st != nil && st.Entries > 0 }

// refusals words the core's refusals of a known ticket.
var refusals = map[admit.Reason]string{
	admit.ReasonAlreadyRedeemed: msgAlreadyScanned,
	admit.ReasonCanceled:        "Ticket canceled",
	admit.ReasonBlocked:         "Ticket blocked",
	admit.ReasonInvalidTime:     "Ticket not valid at this time",
	admit.ReasonProduct:         "Ticket not valid for this entrance",
	admit.ReasonUnpaid:          "Ticket not paid",
	admit.ReasonCapacity:        "Area full: no entry until someone leaves",
	admit.ReasonNotInside:       "Ticket not inside",
}

// checkTicket answers a ticket's state without scanning it: the scan is
// decided as a dry run, nothing is written. It does not look at the event.
func (h *Handler) checkTicket(w http.ResponseWriter, r *http.Request, d *admit.Device) {
	h.redeem(w, r, d, true)
}

// scanTicket scans a ticket: exactly once, under any concurrency.
func (h *Handler) scanTicket(w http.ResponseWriter, r *http.Request, d *admit.Device) {
	h.redeem(w, r, d, false)
}

func (h *Handler) redeem(w http.ResponseWriter, r *http.Request, d *admit.Device, check bool) {
	b, err := readBody(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	qr, err := b.str("qrcode_data")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if strings.TrimSpace(qr) == "" {
		status := http.StatusBadRequest
		if check {
			status = http.StatusNotAcceptable // as TiBillet answers on check_ticket
		}
		fail(w, status, msgQRRequired)
		return
	}
	req := &admit.RedeemRequest{
		Code:         qr,
		Plain:        admit.PlainNone,
		OrganizerID:  d.OrganizerID,
		EventID:      d.EventID,
		ListID:       d.ListID,
		IgnoreUnpaid: true, // TiBillet has no such flag: a list that accepts pending orders admits them
		Scanner:      d,
		DeviceID:     d.ID,
		DeviceUUID:   d.UUID,
		DeviceName:   d.Name,
		Source:       Source,
		DryRun:       check,
	}
	if !check {
		eventUUID, err := b.str("event_uuid")
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		req.EventUUID = strings.TrimSpace(eventUUID)
	}
	res, err := h.core.Redeem(r.Context(), req)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	switch res.Reason {
	case admit.ReasonBadFormat:
		fail(w, http.StatusBadRequest, msgBadFormat)
		return
	case admit.ReasonBadEncoding:
		fail(w, http.StatusBadRequest, msgBadEncoding+res.Detail)
		return
	case admit.ReasonNoUUID:
		fail(w, http.StatusBadRequest, msgNoUUID)
		return
	case admit.ReasonBadSignature:
		fail(w, http.StatusBadRequest, msgBadSignature)
		return
	case admit.ReasonUnknown:
		fail(w, http.StatusNotFound, msgNotFound)
		return
	case admit.ReasonWrongEvent:
		fail(w, http.StatusNotAcceptable, msgEventError)
		return
	}
	if res.Ticket == nil {
		h.writeError(w, r, admit.Errorf(admit.EInternal, "redeem answered %q without a ticket", res.Reason))
		return
	}
	var ans scanAnswer
	switch {
	case check && (res.Reason == admit.ReasonOK || res.Reason == admit.ReasonAlreadyRedeemed):
		ans.Success, ans.Message = true, msgRetrieved
	case res.Reason == admit.ReasonOK:
		ans.Success, ans.Message = true, msgScanned
	default:
		msg, ok := refusals[res.Reason]
		if !ok {
			h.writeError(w, r, admit.Errorf(admit.EInternal, "redeem answered an unknown reason %q", res.Reason))
			return
		}
		ans.Message = msg
	}
	t := res.Ticket
	eventName, err := h.eventName(r.Context(), res)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	ans.Ticket = ticketBlock{
		UUID:      t.UUID,
		Status:    ticketStatus(t, res.State),
		Event:     eventName,
		FirstName: t.FirstName,
		LastName:  t.LastName,
		Price:     nullable(t.Price),
		Product:   nullable(t.ProductName),
	}
	if check {
		is := scanned(res.State)
		ans.Ticket.IsScanned = &is
	}
	if check || !ans.Success {
		ans.Ticket.ScannedBy = scannedBy{present: true}
		if res.State != nil {
			ans.Ticket.ScannedBy.uuid = res.State.FirstDeviceUUID
		}
	}
	ans.Reservation = reservationBlock{UUID: t.OrderUUID, TicketsCount: t.OrderTickets}
	writeJSON(w, http.StatusOK, ans)
}

func (h *Handler) eventName(ctx context.Context, res *admit.RedeemResult) (string, error) {
	if res.Event != nil {
		return res.Event.Name, nil
	}
	ev, err := h.core.Store.Event(ctx, res.Ticket.EventID)
	if err != nil {
		return "", err
	}
	return ev.Name, nil
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// pythonISO is how Django REST framework writes a datetime: Python's
// isoformat(), microseconds only when there are some, "Z" for UTC.
func pythonISO(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	layout := "2006-01-02T15:04:05Z"
	if t.Nanosecond()/1000 != 0 {
		layout = "2006-01-02T15:04:05.000000Z"
	}
	s := t.Format(layout)
	return &s
}

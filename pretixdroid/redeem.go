package pretixdroid

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/admitdev/admit"
)

const (
	maxFormBytes = 64 << 10
	maxNonce     = 190 // pretix's column size
	maxSecret    = 4096
)

// redeemAnswer is redeem/'s answer.
type redeemAnswer struct {
	Status  string    `json:"status"`
	Reason  string    `json:"reason,omitempty"`
	Version int       `json:"version"`
	Data    *position `json:"data,omitempty"`
}

// Reasons on the wire.
const (
	wireUnknown         = "unknown_ticket"
	wireAlreadyRedeemed = "already_redeemed"
	wireUnpaid          = "unpaid"
	wireProduct         = "product"
	wireCanceled        = "canceled"
	wireBlocked         = "blocked"
	wireInvalidTime     = "invalid_time"
	// wireRules is pretix's refusal by the list's check-in rules, the
	// closest it has to a full area: the ticket is valid, the list's
	// conditions refuse it now (and may admit it later).
	wireRules = "rules"
)

// wireReason maps the core's reason to pretix's. Everything that means "no
// ticket of this event and date has this secret" is unknown_ticket; known
// says whether the answer may describe the ticket.
func wireReason(r admit.Reason) (reason string, known bool) {
	switch r {
	case admit.ReasonOK:
		return "", true
	case admit.ReasonAlreadyRedeemed:
		return wireAlreadyRedeemed, true
	case admit.ReasonUnpaid:
		return wireUnpaid, true
	case admit.ReasonProduct:
		return wireProduct, true
	case admit.ReasonCanceled:
		return wireCanceled, true
	case admit.ReasonBlocked:
		return wireBlocked, true
	case admit.ReasonInvalidTime:
		return wireInvalidTime, true
	case admit.ReasonCapacity:
		return wireRules, true
	}
	// unknown_ticket, wrong_event, unreadable or forged codes, and any
	// reason this dialect does not know.
	return wireUnknown, false
}

// redeem is POST redeem/: form fields secret, nonce, datetime, force,
// ignore_unpaid.
func (h *Handler) redeem(w http.ResponseWriter, r *http.Request, s *scope) error {
	form, err := parseForm(w, r)
	if err != nil {
		return err
	}
	secret := strings.TrimSpace(form.Get("secret"))
	if secret == "" {
		return admit.Errorf(admit.EInvalid, "Missing secret.")
	}
	if len(secret) > maxSecret {
		return admit.Errorf(admit.EInvalid, "Secret too long.")
	}
	nonce := form.Get("nonce")
	if utf8.RuneCountInString(nonce) > maxNonce {
		return admit.Errorf(admit.EInvalid, "Nonce too long (at most %d characters).", maxNonce)
	}
	var deviceTime *time.Time
	if v := strings.TrimSpace(form.Get("datetime")); v != "" {
		t, err := parseDateTime(v, s.event.Timezone)
		if err != nil {
			return err
		}
		deviceTime = &t
	}
	res, err := h.core.Redeem(r.Context(), &admit.RedeemRequest{
		Code:         secret,
		Plain:        admit.PlainSecret,
		OrganizerID:  s.org.ID,
		EventID:      s.event.ID,
		ListID:       s.list.ID,
		SubeventID:   s.subeventID(),
		Force:        isTrue(form.Get("force")),
		LenientExit:  true, // pretix records every exit of a valid ticket
		IgnoreUnpaid: isTrue(form.Get("ignore_unpaid")),
		Nonce:        nonce,
		DeviceTime:   deviceTime,
		DeviceName:   s.key.Name,
		Source:       "pretixdroid",
		// A scan with its datetime and nonce is pretixSCAN's upload of
		// what it admitted offline: recorded once, and a conflict where
		// the server disagrees. Any datetime is taken, as pretix does.
		Offline:          deviceTime != nil && nonce != "",
		DeviceAdmitted:   true,
		DeviceVerdict:    "ok",
		OfflineUnbounded: true,
	})
	if err != nil {
		return err
	}
	ans := redeemAnswer{Status: "ok", Version: APIVersion}
	reason, known := wireReason(res.Reason)
	if reason != "" {
		ans.Status, ans.Reason = "error", reason
	}
	if known && res.Ticket != nil {
		addons, err := h.core.Store.Addons(r.Context(), res.Ticket.ID)
		if err != nil {
			return err
		}
		p := positionOf(res.Ticket, res.State, res.CheckinAllowed, addonsText(addons))
		ans.Data = &p
	}
	return h.writeJSON(w, ans)
}

// isTrue is pretix's reading of a form flag.
func isTrue(v string) bool { return v == "true" || v == "True" }

// parseForm reads a form-encoded (or multipart) body; the fields come from
// the body only, as pretix reads request.POST.
func parseForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	if ct == "multipart/form-data" {
		err = r.ParseMultipartForm(maxFormBytes)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, admit.Errorf(admit.EInvalid, "Request body too large.")
		}
		return nil, admit.Errorf(admit.EInvalid, "Malformed form data.")
	}
	return r.PostForm, nil
}

// dateTimeLayouts are the ISO 8601 shapes accepted for datetime.
var dateTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04Z07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z0700",
}

// naiveLayouts have no zone: they are read in the event's time zone.
var naiveLayouts = []string{
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05.999999999",
}

// parseDateTime reads an ISO 8601 date and time; one without a zone is the
// event's local time.
func parseDateTime(v, tz string) (time.Time, error) {
	for _, layout := range dateTimeLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		loc = time.UTC
	}
	for _, layout := range naiveLayouts {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, admit.Errorf(admit.EInvalid, "Invalid datetime: want ISO 8601, e.g. 2026-05-01T18:30:00+02:00.")
}

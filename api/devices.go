package api

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/pretixdroid"
)

type deviceOut struct {
	UUID     string     `json:"uuid"`
	Name     string     `json:"name"`
	Event    *string    `json:"event"`
	List     *string    `json:"list"`
	Claimed  bool       `json:"claimed"`
	Archived bool       `json:"archived"`
	LastSeen *time.Time `json:"last_seen"`
	Scans    int        `json:"scans"`
	Refusals int        `json:"refusals"`
}

// PairURL is the TiBillet app's pairing URL of a token of a device of the
// organizer: under the organizer's prefix (/o/{organizer}), because the app
// keeps everything before "/scan/" as the base of every later call,
// the public events API included, which it sends without a key.
func PairURL(publicURL, organizer, token string) string {
	return publicURL + "/o/" + url.PathEscape(organizer) + "/scan/" + url.PathEscape(token) + "/pair"
}

// ScannerURL is the link that pairs a browser as the device and opens the
// scanner: the token travels in the fragment, which no request carries.
func ScannerURL(publicURL, token string) string {
	return publicURL + "/scanner#pair=" + url.QueryEscape(token)
}

func (h *Handler) listDevices(w http.ResponseWriter, r *http.Request, c *admit.Caller) {
	ev, err := h.event(r.Context(), r, c)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx := r.Context()
	devs, err := h.core.Store.Devices(ctx, c.OrganizerID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	act, err := h.core.Store.DeviceActivity(ctx, ev.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	byDevice := map[int64]admit.DeviceActivity{}
	for _, a := range act {
		byDevice[a.DeviceID] = a
	}
	lists, err := h.core.Store.Lists(ctx, ev.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	listName := map[int64]string{}
	for _, l := range lists {
		listName[l.ID] = l.Name
	}
	out := struct {
		Devices []deviceOut `json:"devices"`
	}{Devices: []deviceOut{}}
	for _, d := range devs {
		// The event's devices: bound to it, or to every event.
		if d.EventID != 0 && d.EventID != ev.ID {
			continue
		}
		o := deviceOut{UUID: d.UUID, Name: d.Name, Claimed: d.Claimed, Archived: d.Archived}
		if d.EventID != 0 {
			o.Event = &ev.UUID
		}
		if d.ListID != 0 {
			o.List = optStr(listName[d.ListID])
		}
		if a, ok := byDevice[d.ID]; ok {
			o.LastSeen, o.Scans, o.Refusals = optTime(a.LastSeen), a.Scans, a.Refusals
		}
		out.Devices = append(out.Devices, o)
	}
	writeJSON(w, http.StatusOK, out)
}

type deviceIn struct {
	Name  string  `json:"name"`
	Event *string `json:"event"`
	List  *string `json:"list"`
}

type createdDevice struct {
	UUID           string          `json:"uuid"`
	Name           string          `json:"name"`
	Event          *string         `json:"event"`
	List           *string         `json:"list"`
	PairingToken   string          `json:"pairing_token"`
	PairingExpires time.Time       `json:"pairing_expires"`
	PairURL        string          `json:"pair_url"`
	PairQRPNG      string          `json:"pair_qr_png"`
	ScannerURL     string          `json:"scanner_url"`
	ScannerQRPNG   string          `json:"scanner_qr_png"`
	Pretixdroid    *pretixdroidOut `json:"pretixdroid"`
	TicketingCode  *string         `json:"ticketing_code"`
}

type pretixdroidOut struct {
	Setup pretixdroid.Setup `json:"setup"`
	QRPNG string            `json:"qr_png"`
}

// qrPNG is a data: URL of a QR code's PNG.
func qrPNG(content string) (string, error) {
	png, err := qrcode.Encode(content, qrcode.Medium, 320)
	if err != nil {
		return "", admit.WrapInternal(err, "make QR code")
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(png), nil
}

// createDevice creates a scanner and every way to pair it: the TiBillet
// app's pair URL, the browser scanner's link, and for a device of one
// event a pretixdroid app configuration and a TickeTing token code.
func (h *Handler) createDevice(w http.ResponseWriter, r *http.Request, c *admit.Caller) {
	var in deviceIn
	if err := decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	if len(in.Name) > maxName {
		h.fail(w, r, bad("name: longer than 200 characters"))
		return
	}
	ctx := r.Context()
	org, err := h.core.Store.Organizer(ctx, c.OrganizerID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	spec := admit.DeviceSpec{Organizer: org.Slug, Name: in.Name}
	var ev *admit.Event
	if in.Event != nil && *in.Event != "" {
		if ev, err = h.core.EventByUUIDFor(ctx, c, *in.Event); err != nil {
			h.fail(w, r, admit.Errorf(admit.EInvalid, "event: no event %q", clip(*in.Event)))
			return
		}
		spec.Event = ev.Slug
	}
	if in.List != nil && *in.List != "" {
		if ev == nil {
			h.fail(w, r, admit.Errorf(admit.EInvalid, "list: a list needs an event"))
			return
		}
		l, err := h.findList(r, ev, *in.List)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		spec.List = l.Name
	}
	d, token, err := h.core.CreateDevice(ctx, spec)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := createdDevice{UUID: d.UUID, Name: d.Name, PairingToken: token, PairingExpires: d.PairingExpires,
		PairURL: PairURL(h.opts.PublicURL, org.Slug, token), ScannerURL: ScannerURL(h.opts.PublicURL, token)}
	if out.PairQRPNG, err = qrPNG(out.PairURL); err != nil {
		h.fail(w, r, err)
		return
	}
	if out.ScannerQRPNG, err = qrPNG(out.ScannerURL); err != nil {
		h.fail(w, r, err)
		return
	}
	if ev != nil {
		out.Event = &ev.UUID
		if spec.List != "" {
			out.List = &spec.List
		}
		if err := h.deviceExtras(r, org, ev, spec, &out); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusCreated, out)
}

// deviceExtras adds the other apps' pairing: a pretixdroid key on the
// device's list, and a TickeTing token code for the list's sections (the
// event's global code when the list admits every section).
func (h *Handler) deviceExtras(r *http.Request, org *admit.Organizer, ev *admit.Event, spec admit.DeviceSpec, out *createdDevice) error {
	ctx := r.Context()
	k, err := h.core.CreatePretixdroidKey(ctx, admit.PretixdroidKeySpec{Organizer: org.Slug, Event: ev.Slug, List: spec.List,
		Name: spec.Name, RequireDate: true})
	switch {
	case admit.ErrorCode(err) == admit.EInvalid:
		// An event series' list bound to no date: the app needs a date.
	case err != nil:
		return err
	default:
		setup := pretixdroid.SetupFor(h.opts.PublicURL, k)
		p := &pretixdroidOut{Setup: setup}
		data, err := json.Marshal(setup)
		if err != nil {
			return admit.WrapInternal(err, "encode pretixdroid setup")
		}
		if p.QRPNG, err = qrPNG(string(data)); err != nil {
			return err
		}
		out.Pretixdroid = p
	}
	var l *admit.CheckinList
	if spec.List != "" {
		l, err = h.core.ListByName(ctx, ev.ID, spec.List)
	} else {
		l, err = h.core.Store.DefaultList(ctx, ev.ID)
	}
	if err != nil {
		return err
	}
	// A code shown now (codes are shown once, when made).
	tok, err := h.core.TokenToShow(ctx, ev, l.SectionIDs)
	switch {
	case admit.ErrorCode(err) == admit.EConflict:
		// No code to show: the global one was shown, and no section.
	case err != nil:
		return err
	default:
		out.TicketingCode = &tok.Code
	}
	return nil
}

func (h *Handler) archiveDevice(w http.ResponseWriter, r *http.Request, c *admit.Caller) {
	ctx := r.Context()
	u := r.PathValue("device")
	d, err := h.core.Store.DeviceByUUID(ctx, u)
	if admit.IsNotFound(err) || (err == nil && d.OrganizerID != c.OrganizerID) || !admit.ValidUUID(u) {
		h.fail(w, r, admit.Errorf(admit.ENotFound, "no device %q", clip(u)))
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if d, err = h.core.ArchiveDevice(ctx, d.UUID); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, deviceOut{UUID: d.UUID, Name: d.Name, Claimed: d.Claimed, Archived: d.Archived})
}

type pairIn struct {
	Token string `json:"token"`
}

type pairOut struct {
	APIKey string   `json:"api_key"`
	Device namedID  `json:"device"`
	Event  *namedID `json:"event"`
	List   *namedID `json:"list"`
}

// pair consumes a device's single-use pairing token: the browser scanner
// becomes that device and keeps the key.
func (h *Handler) pair(w http.ResponseWriter, r *http.Request, _ *admit.Caller) {
	var in pairIn
	if err := decode(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	if len(in.Token) > maxName {
		h.fail(w, r, admit.Errorf(admit.EInvalid, "Invalid or expired pairing token"))
		return
	}
	ctx := r.Context()
	d, key, err := h.core.PairDevice(ctx, in.Token)
	if err != nil {
		if admit.ErrorCode(err) == admit.EInvalid {
			err = admit.Errorf(admit.ENotFound, "Invalid or expired pairing token: ask for a new pairing link")
		}
		h.fail(w, r, err)
		return
	}
	out := pairOut{APIKey: key, Device: namedID{UUID: d.UUID, Name: d.Name}}
	if d.EventID != 0 {
		ev, err := h.core.Store.Event(ctx, d.EventID)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		out.Event = &namedID{UUID: ev.UUID, Name: ev.Name}
		if d.ListID != 0 {
			l, err := h.core.Store.List(ctx, d.ListID)
			if err != nil {
				h.fail(w, r, err)
				return
			}
			out.List = &namedID{UUID: l.UUID, Name: l.Name}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

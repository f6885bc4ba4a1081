package web

import (
	"net/http"
	"strconv"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/admitdev/admit"
)

// qrPNG draws text (?text=, at most 1,024 bytes) as a QR code PNG
// (?size= pixels, 128 to 1,024, default 360), for a signed-in organizer:
// the devices page shows the browser scanner's pairing link with it.
func (h *Handler) qrPNG(w http.ResponseWriter, r *http.Request, s *admit.Session) {
	text := r.URL.Query().Get("text")
	if text == "" || len(text) > 1024 {
		h.errorPage(w, r, s, admit.Errorf(admit.EInvalid, "A QR code needs a text of 1 to 1,024 bytes."))
		return
	}
	size := 360
	if v := r.URL.Query().Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 128 || n > 1024 {
			h.errorPage(w, r, s, admit.Errorf(admit.EInvalid, "size must be a number of pixels from 128 to 1024."))
			return
		}
		size = n
	}
	png, err := qrcode.Encode(text, qrcode.Medium, size)
	if err != nil {
		h.errorPage(w, r, s, admit.WrapInternal(err, "draw QR code"))
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(png)
}

package api

import (
	"net/http"

	"github.com/admitdev/admit"
)

type occupancyCache struct{}

func (h *Handler) occupancy(w http.ResponseWriter, r *http.Request, c *admit.Caller) {
	h.fail(w, r, admit.Errorf(admit.EInvalid, "TEMPORARY"))
}

func (h *Handler) live(w http.ResponseWriter, r *http.Request, c *admit.Caller) {
	h.fail(w, r, admit.Errorf(admit.EInvalid, "TEMPORARY"))
}

package api

import (
	"net/http"

	"github.com/admitdev/admit"
)

// TEMPORARY until the streaming import lands: reads the whole body.
func (h *Handler) importJSON(w http.ResponseWriter, r *http.Request, c *admit.Caller) {
	f, err := admit.ParseImport(http.MaxBytesReader(w, r.Body, 64<<20))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	org, err := h.core.Store.Organizer(r.Context(), c.OrganizerID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if f.Organizer.Slug != org.Slug {
		h.fail(w, r, admit.Errorf(admit.EForbidden, "organizer.slug: this key imports for %q only", org.Slug))
		return
	}
	res, err := h.core.Import(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"event": map[string]any{"uuid": res.Event.UUID, "slug": res.Event.Slug}})
}

func (h *Handler) importCSV(w http.ResponseWriter, r *http.Request, c *admit.Caller) {
	h.fail(w, r, admit.Errorf(admit.EInvalid, "CSV import: not yet"))
}

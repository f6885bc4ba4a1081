package api

import (
	_ "embed"
	"net/http"

	"github.com/admitdev/admit"
)

// Document is the OpenAPI 3.1 document of every route, written by hand
// beside the handlers; the tests validate every request and answer they
// make against it, and fail when a route is missing from it.
//
//go:embed openapi.json
var Document []byte

func (h *Handler) openapi(w http.ResponseWriter, r *http.Request, _ *admit.Caller) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(Document)
}

// Package ticketing serves the ticketing wire dialect on the admit core. It only decodes
// requests, calls the core and encodes the core's answers.
package ticketing

import (
	"log/slog"
	"net/http"

	"github.com/admitdev/admit"
)

// Options configures the dialect.
type Options struct {
	Logger    *slog.Logger
	PublicURL string // the server's public base URL, without a trailing slash
}

// Handler serves the dialect's routes.
type Handler struct {
	core *admit.Core
	log  *slog.Logger
	opts Options
}

// New returns the dialect's handler on core.
func New(core *admit.Core, opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Handler{core: core, log: opts.Logger, opts: opts}
}

// Register adds every route of the dialect to mux.
func (h *Handler) Register(mux *http.ServeMux) {
}

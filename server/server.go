// Package server assembles the HTTP server: the health check and every wire
// dialect on one admit core.
package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/api"
	"github.com/admitdev/admit/metrics"
	"github.com/admitdev/admit/pretixdroid"
	"github.com/admitdev/admit/reqid"
	"github.com/admitdev/admit/tibillet"
	"github.com/admitdev/admit/ticketing"
	"github.com/admitdev/admit/web"
)

// Config configures the server.
type Config struct {
	Logger    *slog.Logger
	PublicURL string // base URL clients reach the server at, no trailing slash
	// TrustedProxies are the load balancers whose X-Forwarded-For is
	// believed for the client's address, and whose X-Request-Id is kept;
	// empty: none.
	TrustedProxies []netip.Prefix

	// Store names the database engine, for /healthz ("sqlite", "postgres").
	Store string
	// Ready answers /readyz: nil when the server can serve (the store's
	// Ready). nil: always ready.
	Ready func(context.Context) error
	// Metrics, when set, counts every request; with ServeMetrics, GET
	// /metrics serves them on this handler (without authentication; else
	// serve them on a listener of their own, see serve --metrics-listen).
	Metrics      *metrics.Metrics
	ServeMetrics bool
}

// New returns the server's handler: every route of every dialect.
func New(core *admit.Core, cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", healthz(cfg.Store))
	mux.Handle("GET /readyz", readyz(cfg.Ready))
	if cfg.Metrics != nil && cfg.ServeMetrics {
		mux.Handle("GET /metrics", cfg.Metrics.Handler())
	}
	tibillet.New(core, tibillet.Options{Logger: cfg.Logger, PublicURL: cfg.PublicURL}).Register(mux)
	pretixdroid.New(core, pretixdroid.Options{Logger: cfg.Logger, PublicURL: cfg.PublicURL}).Register(mux)
	ticketing.New(core, ticketing.Options{Logger: cfg.Logger, PublicURL: cfg.PublicURL}).Register(mux)
	wh := web.New(core, web.Options{Logger: cfg.Logger, PublicURL: cfg.PublicURL})
	wh.Register(mux)
	api.New(core, api.Options{Logger: cfg.Logger, PublicURL: cfg.PublicURL, Live: core.Live, Session: wh.Caller}).Register(mux)
	return observe(cfg.Logger, cfg.Metrics, cfg.TrustedProxies,
		realClient(cfg.TrustedProxies, recoverer(cfg.Logger, withClient(routed(dialectAnswers(mux))))))
}

// recoverer turns a panic into a logged 500, so that one bad request never
// takes the server down. Dialects never panic on purpose; this is the net.
// Logs name the route pattern, never the path: paths carry pairing tokens
// and admission token codes, which are credentials.
// The answer names the request id, to find the log line.
func recoverer(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				id := reqid.From(r.Context())
				log.Error("panic serving request", "method", r.Method, "route", r.Pattern, "request_id", id, "panic", v, "stack", string(debug.Stack()))
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusInternalServerError)
				b, _ := json.Marshal(map[string]string{"error": "internal server error", "request_id": id})
				w.Write(append(b, '\n'))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

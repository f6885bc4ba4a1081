// Package server assembles the HTTP server: the health check and every wire
// dialect on one admit core.
package server

import (
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"time"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/api"
	"github.com/admitdev/admit/pretixdroid"
	"github.com/admitdev/admit/tibillet"
	"github.com/admitdev/admit/ticketing"
	"github.com/admitdev/admit/web"
)

// Config configures the server.
type Config struct {
	Logger    *slog.Logger
	PublicURL string // base URL clients reach the server at, no trailing slash
	// TrustedProxies are the load balancers whose X-Forwarded-For is
	// believed for the client's address; empty: none.
	TrustedProxies []netip.Prefix
}

// New returns the server's handler: every route of every dialect.
func New(core *admit.Core, cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	tibillet.New(core, tibillet.Options{Logger: cfg.Logger, PublicURL: cfg.PublicURL}).Register(mux)
	pretixdroid.New(core, pretixdroid.Options{Logger: cfg.Logger, PublicURL: cfg.PublicURL}).Register(mux)
	ticketing.New(core, ticketing.Options{Logger: cfg.Logger, PublicURL: cfg.PublicURL}).Register(mux)
	wh := web.New(core, web.Options{Logger: cfg.Logger, PublicURL: cfg.PublicURL})
	wh.Register(mux)
	api.New(core, api.Options{Logger: cfg.Logger, PublicURL: cfg.PublicURL, Live: core.Live, Session: wh.Caller}).Register(mux)
	return recoverer(cfg.Logger, realClient(cfg.TrustedProxies, withClient(dialectAnswers(mux))))
}

// recoverer turns a panic into a logged 500, so that one bad request never
// takes the server down. Dialects never panic on purpose; this is the net.
// Logs name the route pattern, never the path: paths carry pairing tokens
// and admission token codes, which are credentials.
func recoverer(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("panic serving request", "method", r.Method, "route", r.Pattern, "panic", v, "stack", string(debug.Stack()))
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusInternalServerError)
				w.Write([]byte(`{"error":"internal server error"}` + "\n"))
			}
			if d := time.Since(start); d > time.Second {
				log.Warn("slow request", "method", r.Method, "route", r.Pattern, "duration", d)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

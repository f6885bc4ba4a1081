package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/buildinfo"
	"github.com/admitdev/admit/reqid"
)

// healthz answers that the process answers, and which admit it is: it
// reads no database (a balancer's liveness check; see readyz).
func healthz(store string) http.HandlerFunc {
	bi := buildinfo.Get()
	body, _ := json.Marshal(map[string]string{"status": "ok", "version": bi.Version, "commit": bi.Commit, "store": store})
	body = append(body, '\n')
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(body)
	}
}

// readyz answers 200 when the server can serve (ready returns nil: the
// database answers and has its migrations), else 503 saying why.
func readyz(ready func(context.Context) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		var err error
		if ready != nil {
			err = ready(r.Context())
		}
		if err == nil {
			w.Write([]byte(`{"status":"ready"}` + "\n"))
			return
		}
		if r.Context().Err() != nil {
			return // the client went away
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(map[string]string{"status": "unavailable", "reason": reason(err), "request_id": reqid.From(r.Context())})
	}
}

// reason is what a readiness check's error says: the message of a domain
// error (the store's Ready keeps the driver's details for the log).
func reason(err error) string {
	var e *admit.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "not ready"
}

// Ops returns the handler of the operations listener (serve
// --metrics-listen): GET /metrics, /healthz and /readyz, and nothing else.
func Ops(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", healthz(cfg.Store))
	mux.Handle("GET /readyz", readyz(cfg.Ready))
	if cfg.Metrics != nil {
		mux.Handle("GET /metrics", cfg.Metrics.Handler())
	}
	return observe(cfg.Logger, nil, nil, recoverer(cfg.Logger, routed(mux)))
}

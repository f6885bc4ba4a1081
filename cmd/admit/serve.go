package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/server"
)

func envOr(env *cmdEnv, name, def string) string {
	if v := env.getenv(name); v != "" {
		return v
	}
	return def
}

func serverLogger(env *cmdEnv) *slog.Logger {
	level := slog.LevelInfo
	switch strings.ToLower(env.getenv("ADMIT_LOG_LEVEL")) {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	return slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: level}))
}

// serveFlags are the flags of serve and demo.
type serveFlags struct {
	listen, db, publicURL, trustedProxies *string
	pairingTTL                            *time.Duration
}

// pairingTTLDefault is ADMIT_PAIRING_TTL, else 24 hours.
func pairingTTLDefault(env *cmdEnv) (time.Duration, error) {
	v := env.getenv("ADMIT_PAIRING_TTL")
	if v == "" {
		return 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, errUsage(fmt.Sprintf("ADMIT_PAIRING_TTL: not a positive duration: %q", v))
	}
	return d, nil
}

func addServeFlags(fs *flag.FlagSet, env *cmdEnv, dbDefault string) (*serveFlags, error) {
	ttl, err := pairingTTLDefault(env)
	if err != nil {
		return nil, err
	}
	return &serveFlags{
		listen:    fs.String("listen", envOr(env, "ADMIT_LISTEN", "127.0.0.1:8080"), "address to listen on (env ADMIT_LISTEN)"),
		db:        fs.String("db", envOr(env, "ADMIT_DB", dbDefault), "database: SQLite file or postgres:// URL (env ADMIT_DB)"),
		publicURL: fs.String("public-url", "", "public base URL of the server, for the URLs it prints (env ADMIT_PUBLIC_URL)"),
		trustedProxies: fs.String("trusted-proxies", env.getenv("ADMIT_TRUSTED_PROXIES"),
			"comma-separated addresses or CIDRs of load balancers whose X-Forwarded-For is trusted (env ADMIT_TRUSTED_PROXIES)"),
		pairingTTL: fs.Duration("pairing-ttl", ttl, "how long a device pairing token stays valid (env ADMIT_PAIRING_TTL)"),
	}, nil
}

func cmdServe(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags("serve", env)
	sf, err := addServeFlags(fs, env, "admit.db")
	if err != nil {
		return err
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return errUsage(fmt.Sprintf("serve takes no arguments, got %q", pos))
	}
	if *sf.pairingTTL <= 0 {
		return errUsage("--pairing-ttl must be positive")
	}
	proxies, err := server.ParseTrustedProxies(*sf.trustedProxies)
	if err != nil {
		return errUsage(fmt.Sprintf("--trusted-proxies: %v", err))
	}
	log := serverLogger(env)
	core, closeStore, err := openCore(ctx, env, *sf.db, log)
	if err != nil {
		return err
	}
	defer closeStore()
	core.PairingTTL = *sf.pairingTTL
	ln, err := net.Listen("tcp", *sf.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *sf.listen, err)
	}
	cfg := server.Config{Logger: log, PublicURL: publicURL(*sf.publicURL, env, ln.Addr().String()), TrustedProxies: proxies}
	return serve(ctx, env, core, ln, cfg)
}

// serve runs the HTTP server on ln until ctx ends, then drains in-flight
// requests and returns.
func serve(ctx context.Context, env *cmdEnv, core *admit.Core, ln net.Listener, cfg server.Config) error {
	log, pub := cfg.Logger, cfg.PublicURL
	srv := &http.Server{
		Handler:           server.New(core, cfg),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	addr := "http://" + ln.Addr().String()
	log.Info("admit listening", "addr", addr, "public_url", pub)
	// One line, so that scripts and tests can read the address.
	hello, _ := json.Marshal(map[string]string{"listening": addr, "public_url": pub})
	if _, err := fmt.Fprintf(env.stdout, "%s\n", hello); err != nil {
		log.Warn("print listening address", "err", err)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

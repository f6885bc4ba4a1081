package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/live"
	"github.com/admitdev/admit/metrics"
	"github.com/admitdev/admit/server"
	"github.com/admitdev/admit/sqlstore"
)

func envOr(env *cmdEnv, name, def string) string {
	if v := env.getenv(name); v != "" {
		return v
	}
	return def
}

// serverLogger logs at ADMIT_LOG_LEVEL, else at level.
func serverLogger(env *cmdEnv, level slog.Level) *slog.Logger {
	switch strings.ToLower(env.getenv("ADMIT_LOG_LEVEL")) {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	case "info":
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: level}))
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

// defaultTicketCacheMB is the ticket cache's size unless told: the
// tickets of events up to about 350,000 tickets.
const defaultTicketCacheMB = 128

// serveSettings are the settings of serve and demo, from flags and the
// environment, validated once.
type serveSettings struct {
	listen, db, publicURL string
	pairingTTL            time.Duration
	proxies               []netip.Prefix
	logLevel              slog.Level // unless ADMIT_LOG_LEVEL says otherwise
	metricsListen         string     // "": /metrics on the main listener
	backups               backupSchedule
	ticketCacheMB         int

	hub     *live.Hub        // set by open
	metrics *metrics.Metrics // set by open
	store   *sqlstore.Store  // set by open
}

func parseServeSettings(env *cmdEnv, name, dbDefault string, args []string) (*serveSettings, error) {
	ttl, err := pairingTTLDefault(env)
	if err != nil {
		return nil, err
	}
	fs := newFlags(name, env)
	listen := fs.String("listen", envOr(env, "ADMIT_LISTEN", "127.0.0.1:8080"), "address to listen on (env ADMIT_LISTEN)")
	db := fs.String("db", envOr(env, "ADMIT_DB", dbDefault), "database: SQLite file or postgres:// URL (env ADMIT_DB)")
	pub := fs.String("public-url", "", "public base URL of the server, for the URLs it prints (env ADMIT_PUBLIC_URL)")
	proxies := fs.String("trusted-proxies", env.getenv("ADMIT_TRUSTED_PROXIES"),
		"comma-separated addresses or CIDRs of load balancers whose X-Forwarded-For is trusted (env ADMIT_TRUSTED_PROXIES)")
	pairingTTL := fs.Duration("pairing-ttl", ttl, "how long a device pairing token stays valid (env ADMIT_PAIRING_TTL)")
	metricsListen := fs.String("metrics-listen", env.getenv("ADMIT_METRICS_LISTEN"),
		"serve GET /metrics (and /healthz, /readyz) on this address only, not on --listen (env ADMIT_METRICS_LISTEN; default: /metrics on --listen, without authentication)")
	cacheDefault := defaultTicketCacheMB
	if v := env.getenv("ADMIT_TICKET_CACHE_MB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, errUsage(fmt.Sprintf("ADMIT_TICKET_CACHE_MB: not a number of MiB: %q", v))
		}
		cacheDefault = n
	}
	ticketCache := fs.Int("ticket-cache-mb", cacheDefault,
		"memory for events' tickets kept in memory, in MiB (env ADMIT_TICKET_CACHE_MB; 0: every scan reads its ticket from the database; an event that does not fit is not kept)")
	backupSettings, err := backupFlags(fs, env)
	if err != nil {
		return nil, err
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, errUsage(fmt.Sprintf("%s takes no arguments, got %q", name, pos))
	}
	if *pairingTTL <= 0 {
		return nil, errUsage("--pairing-ttl must be positive")
	}
	if *ticketCache < 0 {
		return nil, errUsage("--ticket-cache-mb must not be negative")
	}
	st := &serveSettings{listen: *listen, db: *db, publicURL: *pub, pairingTTL: *pairingTTL, metricsListen: *metricsListen,
		ticketCacheMB: *ticketCache}
	if st.proxies, err = server.ParseTrustedProxies(*proxies); err != nil {
		return nil, errUsage(fmt.Sprintf("--trusted-proxies: %v", err))
	}
	if st.backups, err = backupSettings(*db); err != nil {
		return nil, err
	}
	return st, nil
}

// open opens the store, its live feed (core.Live) and the listener; call
// the returned close when done.
func (st *serveSettings) open(ctx context.Context, env *cmdEnv) (*admit.Core, net.Listener, server.Config, func(), error) {
	log := serverLogger(env, st.logLevel)
	core, closeCore, err := openCore(ctx, env, st.db, log)
	if err != nil {
		return nil, nil, server.Config{}, nil, err
	}
	core.PairingTTL = st.pairingTTL
	core.TicketCacheBytes = int64(st.ticketCacheMB) << 20
	// Scans to live subscribers: this node's, and on PostgreSQL every
	// node's. Closing the hub ends the subscriptions (live streams).
	st.hub = live.NewHub(0, log)
	closeStore := func() {
		closeCore()
		st.hub.Close()
	}
	store, ok := core.Store.(*sqlstore.Store)
	if !ok {
		closeStore()
		return nil, nil, server.Config{}, nil, fmt.Errorf("no live feed on a %T", core.Store)
	}
	if core.Live, err = store.Live(ctx, st.hub); err != nil {
		closeStore()
		return nil, nil, server.Config{}, nil, err
	}
	st.store = store
	st.metrics = metrics.New()
	st.metrics.WatchCore(core)
	st.metrics.WatchStore(store)
	st.metrics.WatchHub(st.hub)
	if st.backups.every > 0 {
		st.metrics.WatchBackups()
	}
	ln, err := net.Listen("tcp", st.listen)
	if err != nil {
		closeStore()
		return nil, nil, server.Config{}, nil, fmt.Errorf("listen on %s: %w", st.listen, err)
	}
	cfg := server.Config{Logger: log, PublicURL: publicURL(st.publicURL, env, ln.Addr().String()), TrustedProxies: st.proxies,
		Store: store.Engine(), Ready: store.Ready, Metrics: st.metrics, ServeMetrics: st.metricsListen == ""}
	return core, ln, cfg, closeStore, nil
}

func cmdServe(ctx context.Context, env *cmdEnv, args []string) error {
	st, err := parseServeSettings(env, "serve", "admit.db", args)
	if err != nil {
		return err
	}
	core, ln, cfg, closeStore, err := st.open(ctx, env)
	if err != nil {
		return err
	}
	defer closeStore()
	links, err := signinLinks(ctx, core, cfg.PublicURL)
	if err != nil {
		return err
	}
	return serve(ctx, env, core, ln, cfg, links, st)
}

// serve runs the HTTP server on ln until ctx ends, then drains in-flight
// requests and returns. After the line with the address it prints one line
// per sign-in link in links. When the draining begins, the live hub closes
// (live streams would never drain by themselves). With st.metricsListen it
// also serves the metrics there; with st.backups it backs up the database
// on schedule.
func serve(ctx context.Context, env *cmdEnv, core *admit.Core, ln net.Listener, cfg server.Config, links []signinLine, st *serveSettings) error {
	log, pub := cfg.Logger, cfg.PublicURL
	srv := &http.Server{
		Handler:           server.New(core, cfg),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(st.hub.Close)
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	addr := "http://" + ln.Addr().String()
	log.Info("admit listening", "addr", addr, "public_url", pub)
	hello := map[string]string{"listening": addr, "public_url": pub}
	var msrv *http.Server
	if st.metricsListen != "" {
		mln, err := net.Listen("tcp", st.metricsListen)
		if err != nil {
			srv.Close()
			return fmt.Errorf("--metrics-listen %s: %w", st.metricsListen, err)
		}
		msrv = metricsServer(cfg, log)
		go func() { errc <- msrv.Serve(mln) }()
		hello["metrics"] = "http://" + mln.Addr().String()
		log.Info("metrics listening", "addr", hello["metrics"])
	}
	// The scan log's Merkle tree, appended off the scans' path.
	lctx, stopLog := context.WithCancel(context.Background())
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		st.store.RunScanLog(lctx, 2*time.Second)
	}()
	defer func() { stopLog(); <-logDone }()
	if st.backups.every > 0 {
		bctx, stopBackups := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			st.backups.run(bctx, st.store, st.metrics, log)
		}()
		// Stop the schedule (a backup under way is abandoned) before the
		// store closes.
		defer func() { stopBackups(); <-done }()
	}
	// One line, so that scripts and tests can read the address.
	helloLine, _ := json.Marshal(hello)
	if _, err := fmt.Fprintf(env.stdout, "%s\n", helloLine); err != nil {
		log.Warn("print listening address", "err", err)
	}
	// The dashboard's sign-in links: one JSON line each, on stdout only
	// (they are credentials: never in the log).
	for _, l := range links {
		b, _ := json.Marshal(map[string]any{"signin": l})
		fmt.Fprintf(env.stdout, "%s\n", b)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if msrv != nil {
		msrv.Close()
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics listener", "err", err)
		}
	}
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// metricsServer serves /metrics, /healthz and /readyz on a listener of its
// own (--metrics-listen): for a monitoring network apart from the doors.
func metricsServer(cfg server.Config, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           server.Ops(cfg),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Package metrics exposes admit's measurements in the Prometheus text
// format: scans, their latency, the SQLite group commit and WAL fsyncs, the
// PostgreSQL pool, imports, live streams, the catalog cache, HTTP requests,
// backups, and the Go runtime and process.
//
// One Metrics per server, on a registry of its own (tests run several
// servers in one process). The core and the store are told to report to it
// (WatchCore, WatchStore, WatchHub); server uses ObserveRequest and
// Handler.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/buildinfo"
	"github.com/admitdev/admit/live"
	"github.com/admitdev/admit/sqlstore"
)

// Metrics holds a server's collectors.
type Metrics struct {
	reg *prometheus.Registry

	scans        *prometheus.CounterVec
	scanSeconds  *prometheus.HistogramVec
	batchWrites  prometheus.Histogram
	walSync      prometheus.Histogram
	importing    prometheus.Gauge
	imported     prometheus.Counter
	requests     *prometheus.CounterVec
	reqSeconds   *prometheus.HistogramVec
	backups      *prometheus.CounterVec
	lastBackup   prometheus.Gauge
	backupSecond prometheus.Gauge
}

// latencyBuckets spans a fast scan (under a millisecond) to a slow one.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

// New returns the metrics with the Go runtime's and the process's.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{reg: reg}
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	m.scans = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "admit_scans_total",
		Help: "Scans answered (dry runs not counted), by dialect, type (entry, exit) and result (the reason: ok, already_redeemed, ...; error_<code> when the scan failed).",
	}, []string{"dialect", "type", "result"})
	m.scanSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "admit_scan_duration_seconds",
		Help:    "Time the core took to decide and durably record a scan, by dialect.",
		Buckets: latencyBuckets,
	}, []string{"dialect"})
	m.batchWrites = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "admit_sqlite_group_commit_writes",
		Help:    "Writes (scans, rate-limit hits) per durable SQLite group commit.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
	})
	m.walSync = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "admit_sqlite_wal_fsync_seconds",
		Help:    "Time of each fsync of the SQLite WAL.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
	})
	m.importing = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "admit_imports_running",
		Help: "Imports running now.",
	})
	m.imported = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "admit_import_tickets_total",
		Help: "Tickets of the imports that committed (each ticket of a file, created, changed or unchanged).",
	})
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "admit_http_requests_total",
		Help: "HTTP requests answered, by method, route pattern (\"unmatched\" for none) and status code.",
	}, []string{"method", "route", "code"})
	m.reqSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "admit_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route pattern (live streams: their whole life).",
		Buckets: latencyBuckets,
	}, []string{"route"})
	m.backups = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "admit_backups_total",
		Help: "Scheduled backups (serve --backup-every), by result (ok, error).",
	}, []string{"result"})
	m.lastBackup = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "admit_backup_last_success_timestamp_seconds",
		Help: "When the last scheduled backup that succeeded ended (Unix time); 0: none yet.",
	})
	m.backupSecond = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "admit_backup_last_duration_seconds",
		Help: "How long the last scheduled backup that succeeded took.",
	})
	for _, c := range []prometheus.Collector{m.scans, m.scanSeconds, m.importing, m.imported, m.requests, m.reqSeconds} {
		f(c)
	}
	bi := buildinfo.Get()
	f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "admit_build_info",
		Help:        "Always 1: the version and commit of the running admit.",
		ConstLabels: prometheus.Labels{"version": bi.Version, "commit": bi.Commit, "goversion": bi.Go},
	}, func() float64 { return 1 }))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry is the registry the metrics are on, for tests and extra
// collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// WatchCore makes the core report its scans and imports, and exposes its
// catalog and ticket caches' counters.
func (m *Metrics) WatchCore(c *admit.Core) {
	c.Observer = coreObserver{m}
	m.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "admit_catalog_cache_hits_total",
			Help: "Lookups of events, lists and devices answered from the catalog cache.",
		}, func() float64 { return float64(c.CatalogStats().Hits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "admit_catalog_cache_misses_total",
			Help: "Lookups of events, lists and devices loaded from the database.",
		}, func() float64 { return float64(c.CatalogStats().Misses) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "admit_ticket_cache_hits_total",
			Help: "Scans that found their ticket in memory (--ticket-cache-mb).",
		}, func() float64 { return float64(c.TicketCacheStats().Hits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "admit_ticket_cache_misses_total",
			Help: "Scans that read their ticket from the database: its event not in memory (yet, or too large), or changed since.",
		}, func() float64 { return float64(c.TicketCacheStats().Misses) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "admit_ticket_cache_tickets",
			Help: "Tickets held in memory.",
		}, func() float64 { return float64(c.TicketCacheStats().Tickets) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "admit_ticket_cache_bytes",
			Help: "Memory taken by the tickets held, about.",
		}, func() float64 { return float64(c.TicketCacheStats().Bytes) }),
	)
}

type coreObserver struct{ m *Metrics }

func (o coreObserver) Redeemed(source string, typ admit.ScanType, result string, d time.Duration) {
	if source == "" {
		source = "unknown"
	}
	o.m.scans.WithLabelValues(source, string(typ), result).Inc()
	o.m.scanSeconds.WithLabelValues(source).Observe(d.Seconds())
}

func (o coreObserver) Importing(delta int) { o.m.importing.Add(float64(delta)) }
func (o coreObserver) Imported(n int)      { o.m.imported.Add(float64(n)) }

// WatchStore makes the store report its group commits and WAL fsyncs
// (SQLite), and exposes its queue (SQLite) or its pool (PostgreSQL), and
// the database engine.
func (m *Metrics) WatchStore(s *sqlstore.Store) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "admit_store_info",
		Help:        "Always 1: the database engine (sqlite, postgres) and the schema's newest migration.",
		ConstLabels: prometheus.Labels{"engine": s.Engine(), "schema": strconv.FormatInt(s.SchemaVersion(), 10)},
	}, func() float64 { return 1 }))
	if s.Engine() == "sqlite" {
		m.reg.MustRegister(m.batchWrites, m.walSync, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "admit_sqlite_write_queue",
			Help: "Small writes (scans) waiting for the SQLite group commit.",
		}, func() float64 { return float64(s.WriteQueue()) }))
		s.SetObserver(&sqlstore.Observer{
			GroupCommit: func(n int) { m.batchWrites.Observe(float64(n)) },
			WALSync:     func(d time.Duration) { m.walSync.Observe(d.Seconds()) },
		})
		return
	}
	m.reg.MustRegister(poolCollector{s})
}

// poolCollector reads the PostgreSQL pool's state at each scrape.
type poolCollector struct{ s *sqlstore.Store }

var (
	poolConns = prometheus.NewDesc("admit_pg_pool_connections",
		"PostgreSQL pool connections, by state (acquired, idle, constructing).", []string{"state"}, nil)
	poolMax = prometheus.NewDesc("admit_pg_pool_max_connections",
		"The PostgreSQL pool's largest size (pool_max_conns).", nil, nil)
	poolAcquires = prometheus.NewDesc("admit_pg_pool_acquires_total",
		"Connections acquired from the PostgreSQL pool.", nil, nil)
	poolWaits = prometheus.NewDesc("admit_pg_pool_empty_acquires_total",
		"Acquisitions that waited for a connection (none was idle).", nil, nil)
	poolWait = prometheus.NewDesc("admit_pg_pool_acquire_wait_seconds_total",
		"Time spent acquiring connections from the PostgreSQL pool.", nil, nil)
)

func (poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolConns, poolMax, poolAcquires, poolWaits, poolWait} {
		ch <- d
	}
}

func (p poolCollector) Collect(ch chan<- prometheus.Metric) {
	st, ok := p.s.PoolStats()
	if !ok {
		return
	}
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(st.Acquired), "acquired")
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(st.Idle), "idle")
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(st.Constructing), "constructing")
	ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(st.Max))
	ch <- prometheus.MustNewConstMetric(poolAcquires, prometheus.CounterValue, float64(st.Acquires))
	ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(st.EmptyAcquires))
	ch <- prometheus.MustNewConstMetric(poolWait, prometheus.CounterValue, st.AcquireWait.Seconds())
}

// WatchHub exposes the live hub's subscriptions (the open live streams of
// this node) and its counters.
func (m *Metrics) WatchHub(h *live.Hub) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "admit_live_streams",
			Help: "Live (SSE) streams open on this node.",
		}, func() float64 { return float64(h.Stats().Subscribers) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "admit_live_published_total",
			Help: "Scans handed to this node's live streams.",
		}, func() float64 { return float64(h.Stats().Published) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "admit_live_dropped_total",
			Help: "Live streams dropped for not keeping up.",
		}, func() float64 { return float64(h.Stats().Dropped) }),
	)
}

// ObserveRequest counts an HTTP request answered. route is the pattern
// that matched ("" for none).
func (m *Metrics) ObserveRequest(method, route string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	switch method {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
	default:
		method = "other" // a client chooses the method: bounded labels
	}
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.reqSeconds.WithLabelValues(route).Observe(d.Seconds())
}

// BackupDone counts a scheduled backup: its error, or how long it took.
func (m *Metrics) BackupDone(err error, d time.Duration) {
	if err != nil {
		m.backups.WithLabelValues("error").Inc()
		return
	}
	m.backups.WithLabelValues("ok").Inc()
	m.lastBackup.Set(float64(time.Now().UnixNano()) / 1e9)
	m.backupSecond.Set(d.Seconds())
}

// WatchBackups exposes the backup metrics (serve --backup-every).
func (m *Metrics) WatchBackups() {
	m.reg.MustRegister(m.backups, m.lastBackup, m.backupSecond)
}

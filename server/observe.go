package server

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/admitdev/admit/metrics"
	"github.com/admitdev/admit/reqid"
)

// What observe learns of a request from the handlers inside it: the route
// pattern that matched and the client's address (after realClient).
type reqInfo struct {
	route, client string
}

type infoKey struct{}

// observe gives every request an id and, once answered, logs its access
// line and counts it. The id is the X-Request-Id a trusted proxy sent (if
// it is a sane one), else a new one; it goes back in the answer's
// X-Request-Id (every answer, errors included), into the request's context
// (reqid.From) and into the log line. The line names the route pattern,
// never the path: paths carry pairing tokens and admission codes, which
// are credentials; nor the query, nor any header.
func observe(log *slog.Logger, m *metrics.Metrics, proxies []netip.Prefix, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(reqid.Header)
		if id == "" || !reqid.Valid(id) || !fromTrusted(proxies, r.RemoteAddr) {
			id = reqid.New()
		}
		w.Header().Set(reqid.Header, id)
		info := &reqInfo{client: r.RemoteAddr}
		ctx := context.WithValue(reqid.With(r.Context(), id), infoKey{}, info)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(ctx))
		d := time.Since(start)
		status := sw.status
		if status == 0 {
			status = http.StatusOK // nothing written: net/http answers 200
		}
		if m != nil {
			m.ObserveRequest(r.Method, info.route, status, d)
		}
		level, msg := slog.LevelInfo, "request"
		switch {
		case d > time.Second && sw.Header().Get("Content-Type") != "text/event-stream":
			level, msg = slog.LevelWarn, "slow request"
		case status < 400 && quietRoutes[info.route]:
			level = slog.LevelDebug // a balancer's or a monitor's checks
		}
		if !log.Enabled(ctx, level) {
			return
		}
		client := info.client
		if host, _, err := net.SplitHostPort(client); err == nil {
			client = host
		}
		log.LogAttrs(ctx, level, msg,
			slog.String("method", r.Method),
			slog.String("route", info.route),
			slog.Int("status", status),
			slog.Duration("duration", d),
			slog.Int64("bytes", sw.bytes),
			slog.String("client", client),
			slog.String("request_id", id))
	})
}

// routed records the route pattern and the client's address of the
// request the mux served, for observe.
func routed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		// The mux sets r.Pattern on the request it was given (an inner mux,
		// like the API's, on the same request: the most specific pattern).
		if info, ok := r.Context().Value(infoKey{}).(*reqInfo); ok {
			info.route, info.client = r.Pattern, r.RemoteAddr
		}
	})
}

// quietRoutes are polled by machines: logged at debug level when they
// succeed.
var quietRoutes = map[string]bool{"GET /healthz": true, "GET /readyz": true, "GET /metrics": true}

func fromTrusted(proxies []netip.Prefix, remoteAddr string) bool {
	if len(proxies) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	return err == nil && trusted(proxies, a)
}

// statusWriter records an answer's status and size. Unwrap lets
// http.ResponseController reach the connection (deadlines, flushes).
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

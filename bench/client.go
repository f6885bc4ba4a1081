package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The scan load's HTTP client. net/http's Transport runs two goroutines per
// connection and hands every request and answer between them over channels;
// with the load generator on the same CPUs as the server, that was about 13%
// of the benchmark's CPU. A load client instead owns one keep-alive
// HTTP/1.1 connection: it writes each request, built in a buffer of its own,
// with one write, and reads the answer on the same goroutine with
// http.ReadResponse (so that Content-Length, chunked and read-to-close
// answers are all read as net/http reads them).

// requestTimeout bounds one scan's round trip, as the former client's
// http.Client.Timeout did.
const requestTimeout = 30 * time.Second

// endpoint is a server the load sends scans to.
type endpoint struct {
	addr   string      // host:port to dial
	host   string      // the Host header
	prefix string      // the base URL's path, before each request's path
	tls    *tls.Config // https: nil for http
}

// parseEndpoint reads a server's base URL (http or https, with an optional
// path prefix).
func parseEndpoint(base string) (*endpoint, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("server URL %q: %w", base, err)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("server URL %q: want scheme://host[:port][/path]", base)
	}
	ep := &endpoint{host: u.Host, prefix: strings.TrimRight(u.EscapedPath(), "/")}
	port := u.Port()
	switch u.Scheme {
	case "http":
		if port == "" {
			port = "80"
		}
	case "https":
		if port == "" {
			port = "443"
		}
		ep.tls = &tls.Config{ServerName: u.Hostname(), NextProtos: []string{"http/1.1"}}
	default:
		return nil, fmt.Errorf("server URL %q: the scheme must be http or https", base)
	}
	ep.addr = net.JoinHostPort(u.Hostname(), port)
	return ep, nil
}

// requestHead is an HTTP/1.1 request's line and headers, up to and
// including "Content-Length: ": the part of a scan request that is the same
// for every scan of one client. headers are name, value pairs.
func requestHead(method string, ep *endpoint, target string, headers ...string) ([]byte, error) {
	target = ep.prefix + target
	for _, s := range append([]string{method, target}, headers...) {
		if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return nil, fmt.Errorf("request head: %q cannot go in an HTTP header", s)
		}
	}
	if strings.ContainsRune(target, ' ') || strings.ContainsRune(method, ' ') {
		return nil, fmt.Errorf("request head: %q cannot go in a request line", method+" "+target)
	}
	b := []byte(method + " " + target + " HTTP/1.1\r\nHost: " + ep.host + "\r\nUser-Agent: admit-bench\r\n")
	for i := 0; i+1 < len(headers); i += 2 {
		b = append(b, headers[i]+": "+headers[i+1]+"\r\n"...)
	}
	return append(b, "Content-Length: "...), nil
}

// scanRequest builds one client's scan requests in buffers it reuses: the
// head (request line, Host, Content-Type, credential) is built before the
// load; each scan only copies the head, its body's length and its body
// (0.15 µs, no allocation: BenchmarkScanRequestBuild). Building every
// ticket's body ahead would save that at the cost of a second copy of every
// code in memory (about 220 MB for 1,000,000 TiBillet tickets).
type scanRequest struct {
	head []byte
	body []byte
	buf  []byte
}

func (r *scanRequest) build(d dialect, code string) []byte {
	r.body = d.appendBody(r.body[:0], code)
	r.buf = append(r.buf[:0], r.head...)
	r.buf = strconv.AppendInt(r.buf, int64(len(r.body)), 10)
	r.buf = append(r.buf, "\r\n\r\n"...)
	r.buf = append(r.buf, r.body...)
	return r.buf
}

// scanConn is one load client's keep-alive connection to one server. It
// dials when it has none, and drops the connection after an error or when
// the server closes it (an answer with "Connection: close", or one whose
// end is the connection's), so that the next scan dials again.
type scanConn struct {
	ep   *endpoint
	conn net.Conn
	br   *bufio.Reader
	stop func() bool // unregisters the context's hold on conn
	used time.Time   // when conn was last used (dialed, or a request sent)
}

// idleCheckAfter: a connection idle for longer is checked before it is
// used, in case the server has closed it meanwhile (its idle timeout, or a
// load balancer's), so that a slow open loop does not send scans into
// connections that are already closed (net/http's Transport notices that
// too, with its reading goroutine).
var idleCheckAfter = time.Second

// do sends one request (whole, in req) and reads the answer's body into
// body; it returns the answer's status.
func (c *scanConn) do(ctx context.Context, req []byte, body *bytes.Buffer) (int, error) {
	now := time.Now()
	if c.conn != nil && now.Sub(c.used) > idleCheckAfter && !c.alive() {
		c.close()
	}
	if c.conn == nil {
		if err := c.dial(ctx); err != nil {
			return 0, err
		}
	}
	if err := c.conn.SetDeadline(now.Add(requestTimeout)); err != nil {
		c.close()
		return 0, err
	}
	// After the deadline is set: a cancellation from now on moves it to the
	// past (dial's AfterFunc), one before is seen here.
	if err := ctx.Err(); err != nil {
		c.close()
		return 0, err
	}
	if _, err := c.conn.Write(req); err != nil {
		c.close()
		return 0, fmt.Errorf("write: %w", err)
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.close()
		return 0, fmt.Errorf("read answer: %w", err)
	}
	body.Reset()
	_, err = body.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil || resp.Close {
		c.close()
	}
	if err != nil {
		return 0, fmt.Errorf("read answer's body: %w", err)
	}
	c.used = now
	return resp.StatusCode, nil
}

// alive reports whether the server has neither closed the idle connection
// nor sent anything on it, without waiting: it peeks at the socket.
func (c *scanConn) alive() bool {
	if c.br.Buffered() > 0 {
		return false // something the client did not ask for
	}
	nc := c.conn
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil || nc.SetReadDeadline(time.Time{}) != nil {
		return false
	}
	alive := false
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		alive = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK // nothing to read: neither data nor the end
		return true
	})
	return err == nil && alive
}

func (c *scanConn) dial(ctx context.Context) error {
	d := net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", c.ep.addr)
	if err != nil {
		return err
	}
	if c.ep.tls != nil {
		tc := tls.Client(conn, c.ep.tls)
		hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			conn.Close()
			return err
		}
		conn = tc
	}
	c.conn, c.used = conn, time.Now()
	if c.br == nil {
		c.br = bufio.NewReader(conn)
	} else {
		c.br.Reset(conn)
	}
	// A canceled context ends a scan in flight, as a request's context
	// does in net/http.
	c.stop = context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return nil
}

// close drops the connection, if any.
func (c *scanConn) close() {
	if c.conn != nil {
		c.stop()
		c.conn.Close()
		c.conn = nil
	}
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			q, _ := json.Marshal(s) // escapes what must be, and invalid UTF-8
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendQueryEscape appends url.QueryEscape(s).
func appendQueryEscape(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~') {
			return append(b, url.QueryEscape(s)...)
		}
	}
	return append(b, s...)
}

package web_test

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// netCut stands between the browser and the test server: a TCP proxy the
// test cuts and mends, as a venue's network fails. Down, it takes each
// connection and closes it at once (the browser sees no answer, as when the
// server is stopped); hanging, it takes connections and never answers (a
// network that swallows packets); deaf, it passes requests to the server
// but not its answers back (the server did it, the phone never hears).
// Cutting closes the connections open (keep-alive, the live stream).
type netCut struct {
	t      *testing.T
	ln     net.Listener
	target string
	URL    string

	mu    sync.Mutex
	state netState
	conns map[net.Conn]struct{}
	held  []net.Conn
}

type netState int

const (
	netUp netState = iota
	netDown
	netHang
	netDeaf
)

func newNetCut(t *testing.T, serverURL string) *netCut {
	t.Helper()
	u, err := url.Parse(serverURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := &netCut{t: t, ln: ln, target: u.Host, URL: "http://" + ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	go n.serve()
	t.Cleanup(func() {
		ln.Close()
		n.set(netDown)
	})
	return n
}

// set changes the network's state; cutting it closes what is open.
func (n *netCut) set(s netState) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.state = s
	if s != netUp {
		for c := range n.conns {
			c.Close()
		}
		n.conns = map[net.Conn]struct{}{}
	}
	if s != netHang {
		for _, c := range n.held {
			c.Close()
		}
		n.held = nil
	}
}

func (n *netCut) serve() {
	for {
		c, err := n.ln.Accept()
		if err != nil {
			return
		}
		n.mu.Lock()
		switch n.state {
		case netDown:
			c.Close()
			n.mu.Unlock()
			continue
		case netHang:
			n.held = append(n.held, c)
			n.mu.Unlock()
			continue
		}
		n.conns[c] = struct{}{}
		deaf := n.state == netDeaf
		n.mu.Unlock()
		go n.pipe(c, deaf)
	}
}

func (n *netCut) pipe(c net.Conn, deaf bool) {
	s, err := net.Dial("tcp", n.target)
	if err != nil {
		c.Close()
		return
	}
	n.mu.Lock()
	if _, open := n.conns[c]; !open {
		n.mu.Unlock()
		s.Close()
		return
	}
	n.conns[s] = struct{}{}
	n.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { io.Copy(s, c); done <- struct{}{} }()
	go func() {
		if deaf {
			io.Copy(io.Discard, s)
		} else {
			io.Copy(c, s)
		}
		done <- struct{}{}
	}()
	<-done
	c.Close()
	s.Close()
	n.mu.Lock()
	delete(n.conns, c)
	delete(n.conns, s)
	n.mu.Unlock()
}

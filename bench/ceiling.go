package bench

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/admitdev/admit"
)

// The ceiling: a minimal server, in the bench's own code, that answers the
// same TiBillet scan request with the least work a verified scan needs, and
// nothing more: read the Api-Key header and compare its SHA-256 with the
// paired key's in constant time; read and decode the JSON body; split the
// QR code at its last colon; base64-decode the signature; verify Ed25519
// over the payload with the event's public key; base64-decode the payload
// and read the uuid from its JSON; admit the ticket at most once with a
// compare-and-swap in a map held in memory; encode a TiBillet-shaped JSON
// answer. Standard library net/http, no database, nothing on disk. The
// durable phase's throughput is stated as a ratio to it, measured in the
// same run: a machine's speed drifts, the ratio much less.

// ceilingServer is the ceiling's handler.
type ceilingServer struct {
	keyHashes [][32]byte // SHA-256 of every paired device's key
	pub       ed25519.PublicKey
	tickets   map[string]*ceilingTicket // by uuid; built once, read-only
}

type ceilingTicket struct {
	mu       sync.Mutex // held only for the compare-and-swap
	admitted bool
}

// newCeilingServer makes the ceiling for an event's tickets and the
// devices' keys.
func newCeilingServer(pubPEM string, uuids []string, keys []string) (*ceilingServer, error) {
	pk, err := admit.ParsePublicKey(pubPEM)
	if err != nil {
		return nil, err
	}
	pub, ok := pk.(ed25519.PublicKey)
	if !ok {
		return nil, admit.Errorf(admit.EInvalid, "the ceiling verifies Ed25519 codes only")
	}
	c := &ceilingServer{pub: pub, tickets: make(map[string]*ceilingTicket, len(uuids))}
	for _, k := range keys {
		c.keyHashes = append(c.keyHashes, sha256.Sum256([]byte(k)))
	}
	for _, u := range uuids {
		c.tickets[strings.ToLower(u)] = &ceilingTicket{}
	}
	return c, nil
}

// admit admits the ticket at most once: a compare-and-swap.
func (t *ceilingTicket) admit() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.admitted {
		return false
	}
	t.admitted = true
	return true
}

func (c *ceilingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/scan/ticket/" {
		http.NotFound(w, r)
		return
	}
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Api-Key ")
	sum := sha256.Sum256([]byte(key))
	known := 0
	for _, h := range c.keyHashes {
		known |= subtle.ConstantTimeCompare(sum[:], h[:])
	}
	if !ok || known == 0 {
		ceilingAnswer(w, http.StatusForbidden, `{"success":false,"error":"Invalid API key"}`)
		return
	}
	var in struct {
		QRCode string `json:"qrcode_data"`
		Event  string `json:"event_uuid"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil || json.Unmarshal(body, &in) != nil || in.QRCode == "" {
		ceilingAnswer(w, http.StatusBadRequest, `{"success":false,"error":"QR code data is required"}`)
		return
	}
	i := strings.LastIndexByte(in.QRCode, ':')
	if i < 0 {
		ceilingAnswer(w, http.StatusBadRequest, `{"success":false,"error":"Invalid QR code format"}`)
		return
	}
	payload, sigText := in.QRCode[:i], in.QRCode[i+1:]
	sig, err := base64.URLEncoding.DecodeString(sigText)
	if err != nil {
		sig, err = base64.StdEncoding.DecodeString(sigText)
	}
	if err != nil || len(sig) != ed25519.SignatureSize || !ed25519.Verify(c.pub, []byte(payload), sig) {
		ceilingAnswer(w, http.StatusBadRequest, `{"success":false,"error":"Invalid ticket signature"}`)
		return
	}
	raw, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		raw, err = base64.URLEncoding.DecodeString(payload)
	}
	var claims struct {
		UUID string `json:"uuid"`
	}
	if err != nil || json.Unmarshal(raw, &claims) != nil {
		ceilingAnswer(w, http.StatusBadRequest, `{"success":false,"error":"Ticket UUID not found in QR code data"}`)
		return
	}
	t := c.tickets[strings.ToLower(claims.UUID)]
	if t == nil {
		ceilingAnswer(w, http.StatusNotFound, `{"success":false,"error":"Ticket not found"}`)
		return
	}
	var b bytes.Buffer
	if t.admit() {
		b.WriteString(`{"success":true,"message":"Ticket successfully scanned","ticket":{"uuid":`)
	} else {
		b.WriteString(`{"success":false,"message":"Ticket already scanned","ticket":{"uuid":`)
	}
	u, _ := json.Marshal(claims.UUID)
	b.Write(u)
	b.WriteString(`,"status":"Valid and scanned"}}`)
	ceilingAnswer(w, http.StatusOK, b.String())
}

func ceilingAnswer(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// ceilingNode is a running ceiling server on a loopback port.
type ceilingNode struct {
	url string
	srv *http.Server
}

func startCeiling(c *ceilingServer) (*ceilingNode, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: c, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return &ceilingNode{url: "http://" + ln.Addr().String(), srv: srv}, nil
}

func (n *ceilingNode) stop() { n.srv.Close() }

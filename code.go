package admit

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"sync"
)

// KeyPair is an event's signing keys, as PEM.
type KeyPair struct {
	Signing       string
	PublicKeyPEM  string // SubjectPublicKeyInfo
	PrivateKeyPEM string // PKCS#8
}

// GenerateKeyPair makes a key pair for alg (SigningEd25519 or SigningRSAPSS).
func GenerateKeyPair(alg string) (*KeyPair, error) {
	var pub, priv any
	switch alg {
	case SigningEd25519, "":
		alg = SigningEd25519
		p, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, WrapInternal(err, "generate ed25519 key")
		}
		pub, priv = p, k
	case SigningRSAPSS:
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, WrapInternal(err, "generate rsa key")
		}
		pub, priv = &k.PublicKey, k
	default:
		return nil, Errorf(EInvalid, "unknown signing algorithm %q", alg)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, WrapInternal(err, "marshal public key")
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, WrapInternal(err, "marshal private key")
	}
	return &KeyPair{
		Signing:       alg,
		PublicKeyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})),
		PrivateKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})),
	}, nil
}

// ParsePublicKey parses a SubjectPublicKeyInfo PEM holding an Ed25519 or RSA key.
func ParsePublicKey(pemText string) (crypto.PublicKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, Errorf(EInvalid, "not a PEM block")
	}
	var key any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return nil, Errorf(EInvalid, "PEM block %q is not a public key", block.Type)
	}
	if err != nil {
		return nil, Errorf(EInvalid, "bad public key: %v", err)
	}
	switch k := key.(type) {
	case ed25519.PublicKey:
		return k, nil
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, Errorf(EInvalid, "RSA key of %d bits is too short (at least 2048)", k.N.BitLen())
		}
		return k, nil
	}
	return nil, Errorf(EInvalid, "unsupported public key type %T", key)
}

// PublicKeyAlgorithm tells which signing algorithm a public key PEM is for.
func PublicKeyAlgorithm(pemText string) (string, error) {
	k, err := ParsePublicKey(pemText)
	if err != nil {
		return "", err
	}
	if _, ok := k.(ed25519.PublicKey); ok {
		return SigningEd25519, nil
	}
	return SigningRSAPSS, nil
}

func parsePrivateKey(pemText string) (crypto.Signer, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, Errorf(EInternal, "private key is not PEM")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, WrapInternal(err, "parse private key")
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, Errorf(EInternal, "private key of type %T cannot sign", key)
	}
	return s, nil
}

// Keys caches parsed keys by their PEM text, so that the hot path of a scan
// does not parse PEM. PEM text is immutable content, so the cache is
// correct on every node whatever the others do.
type Keys struct {
	pub  sync.Map // string → crypto.PublicKey
	priv sync.Map // string → crypto.Signer

	// verified remembers signatures found valid, so that a ticket scanned
	// again (a rescan at the door, a check before the scan) is not verified
	// twice: a SHA-256 of key, payload and signature; bounded, it starts
	// afresh when full.
	mu       sync.Mutex
	verified map[[sha256.Size]byte]struct{}
}

// maxVerified bounds Keys.verified (about 40 bytes an entry).
const maxVerified = 1 << 18

// Verify is Verify(Public(pemText), payload, sig), remembering success.
func (ks *Keys) Verify(pemText, payload string, sig []byte) (bool, error) {
	h := sha256.New()
	h.Write([]byte(pemText))
	h.Write([]byte{0})
	h.Write([]byte(payload))
	h.Write([]byte{0})
	h.Write(sig)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	ks.mu.Lock()
	_, ok := ks.verified[sum]
	ks.mu.Unlock()
	if ok {
		return true, nil
	}
	pub, err := ks.Public(pemText)
	if err != nil {
		return false, err
	}
	if !Verify(pub, payload, sig) {
		return false, nil
	}
	ks.mu.Lock()
	if ks.verified == nil || len(ks.verified) >= maxVerified {
		ks.verified = make(map[[sha256.Size]byte]struct{})
	}
	ks.verified[sum] = struct{}{}
	ks.mu.Unlock()
	return true, nil
}

// Public returns the parsed public key of pemText.
func (ks *Keys) Public(pemText string) (crypto.PublicKey, error) {
	if k, ok := ks.pub.Load(pemText); ok {
		return k, nil
	}
	k, err := ParsePublicKey(pemText)
	if err != nil {
		return nil, err
	}
	ks.pub.Store(pemText, k)
	return k, nil
}

func (ks *Keys) private(pemText string) (crypto.Signer, error) {
	if k, ok := ks.priv.Load(pemText); ok {
		return k.(crypto.Signer), nil
	}
	k, err := parsePrivateKey(pemText)
	if err != nil {
		return nil, err
	}
	ks.priv.Store(pemText, k)
	return k, nil
}

// CodeClaims is what a QR payload says.
type CodeClaims struct {
	UUID  string `json:"uuid"`
	Event string `json:"event,omitempty"` // the event's uuid, in codes this server issues
}

// SignCode returns the QR content "payload:signature" for a ticket of ev,
// signed with the event's private key. The payload names the event too, so
// that a scan finds the key without touching the ticket.
func (ks *Keys) SignCode(ev *Event, ticketUUID string) (string, error) {
	if ev.PrivateKeyPEM == "" {
		return "", Errorf(EInvalid, "event %q has no private key: it only verifies codes issued elsewhere", ev.Slug)
	}
	signer, err := ks.private(ev.PrivateKeyPEM)
	if err != nil {
		return "", err
	}
	// json.dumps style, as TiBillet writes it: a space after each separator.
	claims := `{"uuid": "` + ticketUUID + `", "event": "` + ev.UUID + `"}`
	payload := base64.URLEncoding.EncodeToString([]byte(claims))
	var sig []byte
	switch k := signer.(type) {
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, []byte(payload))
	case *rsa.PrivateKey:
		digest := sha256.Sum256([]byte(payload))
		sig, err = rsa.SignPSS(rand.Reader, k, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
		if err != nil {
			return "", WrapInternal(err, "sign code")
		}
	default:
		return "", Errorf(EInternal, "unsupported private key %T", signer)
	}
	return payload + ":" + base64.URLEncoding.EncodeToString(sig), nil
}

// Verify reports whether sig is a valid signature of payload under pub
// (Ed25519, or RSA-PSS with SHA-256 and any salt length).
func Verify(pub crypto.PublicKey, payload string, sig []byte) bool {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return len(sig) == ed25519.SignatureSize && ed25519.Verify(k, []byte(payload), sig)
	case *rsa.PublicKey:
		digest := sha256.Sum256([]byte(payload))
		return rsa.VerifyPSS(k, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) == nil
	}
	return false
}

// ParsedCode is a QR content split and decoded, not yet verified.
type ParsedCode struct {
	Payload   string // the payload as scanned: the signed bytes
	Signature []byte
	Claims    CodeClaims
}

// decodeB64 accepts both base64 alphabets, with or without padding.
func decodeB64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "+/") {
		return base64.RawStdEncoding.DecodeString(s)
	}
	return base64.RawURLEncoding.DecodeString(s)
}

// ParseCode splits "payload:signature" and decodes the payload. On failure
// it returns the reason (ReasonBadFormat, ReasonBadEncoding, ReasonNoUUID)
// and a detail for the client.
func ParseCode(code string) (*ParsedCode, Reason, string) {
	code = strings.TrimSpace(code)
	payload, sigText, ok := strings.Cut(code, ":")
	if !ok || payload == "" || sigText == "" || strings.Contains(sigText, ":") {
		return nil, ReasonBadFormat, "expected payload:signature"
	}
	raw, err := decodeB64(payload)
	if err != nil {
		return nil, ReasonBadEncoding, "payload is not base64"
	}
	var claims CodeClaims
	if err := json.Unmarshal(raw, &claims); err != nil {
		return nil, ReasonBadEncoding, "payload is not a JSON object"
	}
	if claims.UUID == "" {
		return nil, ReasonNoUUID, "no uuid"
	}
	sig, err := decodeB64(sigText)
	if err != nil {
		return nil, ReasonBadEncoding, "signature is not base64"
	}
	claims.UUID = strings.ToLower(claims.UUID)
	return &ParsedCode{Payload: payload, Signature: sig, Claims: claims}, "", ""
}

// LooksSigned reports whether a scanned string has the "payload:signature"
// shape rather than being a plain secret or serial.
func LooksSigned(code string) bool {
	return strings.Count(code, ":") == 1 && len(code) > 40
}

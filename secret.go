package admit

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
)

const (
	alnumUpper = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	alnumLower = "abcdefghijklmnopqrstuvwxyz0123456789"
	alnumMixed = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

// RandomString returns n characters drawn uniformly from alphabet with a
// cryptographic random source.
func RandomString(alphabet string, n int) string {
	out := make([]byte, n)
	buf := make([]byte, n+n/2+8)
	limit := 256 - 256%len(alphabet)
	for i := 0; i < n; {
		rand.Read(buf)
		for _, b := range buf {
			if int(b) >= limit {
				continue
			}
			out[i] = alphabet[int(b)%len(alphabet)]
			i++
			if i == n {
				break
			}
		}
	}
	return string(out)
}

// NewUUID returns a random (version 4) UUID in its canonical lower-case form.
func NewUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// ValidUUID reports whether s has the 8-4-4-4-12 hexadecimal shape.
func ValidUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// NewTicketSecret returns a ticket secret as pretix makes them: 32 characters
// of [a-z0-9].
func NewTicketSecret() string { return RandomString(alnumLower, 32) }

// NewSerial returns a serial shaped like TickeTing's: [0-9A-Z]{6}-[0-9A-Z]{12}.
func NewSerial() string { return RandomString(alnumUpper, 6) + "-" + RandomString(alnumUpper, 12) }

// NewTokenCode returns an admission token code: 8 characters of [0-9A-Z].
func NewTokenCode() string { return RandomString(alnumUpper, 8) }

// NewPairingToken returns a device pairing token (URL-safe, 32 characters).
func NewPairingToken() string { return RandomString(alnumMixed, 32) }

// NewAPIKey returns a new key as djangorestframework-api-key shapes them,
// "<8-character prefix>.<32-character secret>", with its prefix and hash.
func NewAPIKey() (plain, prefix string, hash []byte) {
	prefix = RandomString(alnumMixed, 8)
	plain = prefix + "." + RandomString(alnumMixed, 32)
	return plain, prefix, HashSecret(plain)
}

// APIKeyPrefix returns the prefix of a key made by NewAPIKey.
func APIKeyPrefix(plain string) (string, bool) {
	prefix, rest, ok := strings.Cut(plain, ".")
	if !ok || len(prefix) != 8 || len(rest) != 32 {
		return "", false
	}
	return prefix, true
}

// HashSecret is the stored form of a secret (SHA-256: the secrets are random
// and long, so a slow hash adds nothing but latency).
func HashSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// SecretMatches compares a presented secret with a stored hash in constant time.
func SecretMatches(plain string, hash []byte) bool {
	return subtle.ConstantTimeCompare(HashSecret(plain), hash) == 1
}

// HolderNumber is the stable account number of a ticket holder's email, in
// TickeTing's shape: two letters, a hyphen, eight letters or digits.
func HolderNumber(email string) string {
	h := sha256.Sum256([]byte("admit-holder:" + strings.ToLower(strings.TrimSpace(email))))
	out := make([]byte, 0, 11)
	out = append(out, 'A'+h[0]%26, 'A'+h[1]%26, '-')
	for _, b := range h[2:10] {
		out = append(out, alnumUpper[int(b)%len(alnumUpper)])
	}
	return string(out)
}

// HashTokenCode is the stored form of an admission token code: an
// HMAC-SHA256 under the server's key, in hex. It finds a code's token
// without keeping the code readable: codes are short (8 characters of
// [0-9A-Z]) and a plain hash of one is quickly reversed by trying them all;
// without the key it is not.
func HashTokenCode(key []byte, code string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(NormalizeTokenCode(code)))
	return hex.EncodeToString(m.Sum(nil))
}

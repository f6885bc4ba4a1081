// Package reqid carries a request's id (X-Request-Id) in its context, from
// the server's middleware to whatever logs or answers an error.
package reqid

import (
	"context"
	"crypto/rand"
	"encoding/base32"
)

// Header is the header that carries a request id, in and out.
const Header = "X-Request-Id"

type key struct{}

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// From returns the request id ctx carries, or "".
func From(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}

var enc = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// New returns a new random id: 20 characters of Crockford's base32 (100
// bits).
func New() string {
	var b [13]byte
	rand.Read(b[:])
	return enc.EncodeToString(b[:])[:20]
}

// Valid reports whether id, received from a proxy, may be used as is: 1 to
// 128 characters among letters, digits and "-_.:/+=@" (what request ids of
// common proxies and tracing headers use). Anything else is replaced: an id
// lands in log lines and answers.
func Valid(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == ':' || c == '/' || c == '+' || c == '=' || c == '@':
		default:
			return false
		}
	}
	return true
}

package admit

import (
	"unicode/utf8"
)

// Bounds of the text a client may send, so that no input can make the
// server store or search much more than a client could fairly need. Doors
// check them first, each with its dialect's wording; the core and the store
// check again, so a new door cannot forget them.
const (
	// MaxLabel bounds who scanned and on what (a redeemer's name, a
	// device's name): the strings a scan log row copies.
	MaxLabel = 100
	// MaxNonce bounds a scan's idempotency key.
	MaxNonce = 100
	// MaxCode bounds a scanned code (a signed QR code is a few hundred
	// bytes; a secret or serial much less).
	MaxCode = 4096
	// MaxSearch bounds a search text, in characters.
	MaxSearch = 200
)

// TooLong reports whether s is longer than max characters (or is not
// UTF-8 and longer than max bytes).
func TooLong(s string, max int) bool {
	return len(s) > max && (!utf8.ValidString(s) || utf8.RuneCountInString(s) > max)
}

// checkRedeemText refuses a scan whose text fields are over their bounds.
func checkRedeemText(req *RedeemRequest) error {
	switch {
	case TooLong(req.Redeemer, MaxLabel):
		return Errorf(EInvalid, "The redeemer's name is longer than %d characters.", MaxLabel)
	case TooLong(req.DeviceName, MaxLabel):
		return Errorf(EInvalid, "The device's name is longer than %d characters.", MaxLabel)
	case TooLong(req.Nonce, MaxNonce):
		return Errorf(EInvalid, "The nonce is longer than %d characters.", MaxNonce)
	case len(req.Code) > MaxCode:
		return Errorf(EInvalid, "The scanned code is longer than %d bytes.", MaxCode)
	}
	return nil
}

// failed reports whether err is a failure of the call itself (internal, or
// its context canceled), not an answer.
func failed(err error) bool {
	code := ErrorCode(err)
	return code == EInternal || code == ECanceled
}

// Devices and API keys: creating, pairing and archiving devices, storing
// keys, and authenticating the keys of clients, devices and scanners.

package admit

import (
	"bytes"
	"context"
	"strings"
)

// DeviceSpec describes a device to create.
type DeviceSpec struct {
	Organizer string // slug
	Name      string
	Event     string // slug, optional
	List      string // name, optional (needs Event)
}

// CreateDevice creates a scanner and its single-use pairing token.
func (c *Core) CreateDevice(ctx context.Context, spec DeviceSpec) (*Device, string, error) {
	if strings.TrimSpace(spec.Name) == "" {
		return nil, "", Errorf(EInvalid, "a device needs a name")
	}
	if TooLong(spec.Name, MaxLabel) {
		return nil, "", Errorf(EInvalid, "a device's name has at most %d characters", MaxLabel)
	}
	org, err := c.Store.OrganizerBySlug(ctx, spec.Organizer)
	if err != nil {
		if IsNotFound(err) {
			return nil, "", Errorf(ENotFound, "unknown organizer %q", spec.Organizer)
		}
		return nil, "", err
	}
	d := &Device{UUID: NewUUID(), OrganizerID: org.ID, Name: spec.Name, CreatedAt: c.now()}
	if spec.List != "" && spec.Event == "" {
		return nil, "", Errorf(EInvalid, "--list needs --event")
	}
	if spec.Event != "" {
		ev, err := c.Store.EventBySlug(ctx, org.ID, spec.Event)
		if err != nil {
			if IsNotFound(err) {
				return nil, "", Errorf(ENotFound, "unknown event %q of organizer %q", spec.Event, spec.Organizer)
			}
			return nil, "", err
		}
		d.EventID = ev.ID
		if spec.List != "" {
			l, err := c.ListByName(ctx, ev.ID, spec.List)
			if err != nil {
				return nil, "", err
			}
			d.ListID = l.ID
		}
	}
	token := NewPairingToken()
	d.PairingExpires = d.CreatedAt.Add(c.PairingTTL)
	if err := c.Store.CreateDevice(ctx, d, HashSecret(token)); err != nil {
		return nil, "", err
	}
	return d, token, nil
}

// PairDevice consumes a pairing token and returns the device with its new
// API key (shown once, stored hashed). A wrong token counts toward the
// client's guessing limit (guess.go): over it, ERateLimited.
func (c *Core) PairDevice(ctx context.Context, token string) (*Device, string, error) {
	return c.PairDeviceOf(ctx, 0, token)
}

// PairDeviceOf is PairDevice for a token that must be one of organizerID's
// devices (0: any organizer's): a token of another organizer is refused as
// an unknown one, and stays unused.
func (c *Core) PairDeviceOf(ctx context.Context, organizerID int64, token string) (*Device, string, error) {
	if token == "" {
		return nil, "", Errorf(EInvalid, "Invalid or expired pairing token")
	}
	if err := c.secretGuessAllowed(ctx); err != nil {
		return nil, "", err
	}
	plain, prefix, hash := NewAPIKey()
	key := &APIKey{Kind: KeyDevice, Prefix: prefix, Hash: hash, CreatedAt: c.now()}
	d, err := c.Store.PairDevice(ctx, HashSecret(token), organizerID, c.now(), key)
	if err != nil {
		if IsNotFound(err) {
			return nil, "", c.secretMiss(ctx, Errorf(EInvalid, "Invalid or expired pairing token"))
		}
		return nil, "", err
	}
	return d, plain, nil
}

// ArchiveDevice archives a device: its key is refused from its next request.
func (c *Core) ArchiveDevice(ctx context.Context, uuid string) (*Device, error) {
	d, err := c.Store.ArchiveDevice(ctx, strings.ToLower(uuid))
	if IsNotFound(err) {
		return nil, Errorf(ENotFound, "unknown device %q", uuid)
	}
	return d, err
}

// CreateKey stores a new API key made from the template k (Kind and scope
// set by the caller) and returns the key, shown once.
func (c *Core) CreateKey(ctx context.Context, k *APIKey) (string, error) {
	plain, prefix, hash := NewAPIKey()
	k.Prefix, k.Hash, k.CreatedAt = prefix, hash, c.now()
	if err := c.Store.CreateAPIKey(ctx, k); err != nil {
		return "", err
	}
	return plain, nil
}

// Authenticate checks an API key of one of the given kinds, in constant
// time against its stored hash. Unknown, revoked or of another kind:
// EUnauthorized.
// A wrong key counts toward the client's guessing limit (guess.go): over
// it, ERateLimited.
func (c *Core) Authenticate(ctx context.Context, plain string, kinds ...KeyKind) (*APIKey, error) {
	denied := Errorf(EUnauthorized, "invalid key")
	if plain == "" {
		return nil, denied // no key: not a guess
	}
	if err := c.secretGuessAllowed(ctx); err != nil {
		return nil, err
	}
	prefix, ok := APIKeyPrefix(plain)
	if !ok {
		return nil, c.secretMiss(ctx, denied)
	}
	k, err := c.Store.APIKeyByPrefix(ctx, prefix)
	if err != nil {
		if IsNotFound(err) {
			return nil, c.secretMiss(ctx, denied)
		}
		return nil, err
	}
	if !SecretMatches(plain, k.Hash) {
		return nil, c.secretMiss(ctx, denied)
	}
	if k.Revoked {
		return nil, denied
	}
	for _, kind := range kinds {
		if k.Kind == kind {
			return k, nil
		}
	}
	return nil, denied
}

// AuthenticateDevice checks a device's API key: unknown → EUnauthorized,
// archived → EForbidden. Devices are cached per catalog version, which
// archiving moves on: an archived device is refused from its next request,
// on every node.
func (c *Core) AuthenticateDevice(ctx context.Context, plain string) (*Device, error) {
	if err := c.secretGuessAllowed(ctx); err != nil {
		return nil, err
	}
	cv, err := c.view(ctx)
	if err != nil {
		return nil, err
	}
	d, err := cv.authDevice(ctx, plain)
	if ErrorCode(err) == EUnauthorized {
		return nil, c.secretMiss(ctx, err)
	}
	return d, err
}

// AuthenticateScanner is AuthenticateDevice for a device about to scan: it
// checks the key on the cached catalog, without a query, and the device it
// returns must go into the scan's RedeemRequest.Scanner: Redeem checks it
// again on the catalog version its ticket was read at, so an archived
// device is still refused from its next scan on every node. A key refused
// on the cached catalog is checked again on the current one.
func (c *Core) AuthenticateScanner(ctx context.Context, plain string) (*Device, error) {
	if err := c.secretGuessAllowed(ctx); err != nil {
		return nil, err
	}
	d, err := c.authenticateScanner(ctx, plain)
	if ErrorCode(err) == EUnauthorized {
		return nil, c.secretMiss(ctx, err)
	}
	return d, err
}

func (c *Core) authenticateScanner(ctx context.Context, plain string) (*Device, error) {
	cv, err := c.lastView(ctx)
	if err != nil {
		return nil, err
	}
	d, err := cv.authDevice(ctx, plain)
	if err == nil || failed(err) {
		return d, err
	}
	now, verr := c.view(ctx)
	if verr != nil {
		return nil, verr
	}
	if now.version() == cv.version() {
		return nil, err
	}
	return now.authDevice(ctx, plain)
}

// deviceCheck is how a device was authenticated: by the key with this
// prefix and hash, on the catalog at version.
type deviceCheck struct {
	prefix  string
	hash    []byte
	version int64
}

func (cv *catalogView) authDevice(ctx context.Context, plain string) (*Device, error) {
	prefix, ok := APIKeyPrefix(plain)
	if !ok {
		return nil, Errorf(EUnauthorized, "invalid key")
	}
	da, err := cv.deviceByKey(ctx, prefix, func(k *APIKey) bool { return SecretMatches(plain, k.Hash) })
	if err != nil {
		return nil, err
	}
	d := *da.device // the cached device is shared
	d.check = &deviceCheck{prefix: prefix, hash: da.key.Hash, version: cv.version()}
	return &d, nil
}

// recheck checks again, on cv, a device authenticated on another catalog
// version: its key must still be the one it was authenticated by.
func (cv *catalogView) recheck(ctx context.Context, d *Device) error {
	if d.check == nil {
		return Errorf(EInternal, "device %s was not authenticated", d.UUID)
	}
	if d.check.version == cv.version() {
		return nil
	}
	da, err := cv.deviceByKey(ctx, d.check.prefix, func(k *APIKey) bool { return bytes.Equal(k.Hash, d.check.hash) })
	if err != nil {
		return err
	}
	if da.device.ID != d.ID {
		return Errorf(EUnauthorized, "invalid key")
	}
	return nil
}

// deviceByKey finds the device whose key has prefix, if match accepts the
// key: unknown, revoked or not matching → EUnauthorized, archived →
// EForbidden. What it returns is shared.
func (cv *catalogView) deviceByKey(ctx context.Context, prefix string, match func(*APIKey) bool) (deviceAuth, error) {
	denied := Errorf(EUnauthorized, "invalid key")
	da, err := cv.deviceByPrefix(ctx, prefix)
	if err != nil {
		if IsNotFound(err) {
			return deviceAuth{}, denied
		}
		return deviceAuth{}, err
	}
	if da.device == nil || da.key.Revoked || !match(da.key) {
		return deviceAuth{}, denied
	}
	if da.device.Archived {
		return deviceAuth{}, Errorf(EForbidden, "App is archived.")
	}
	return da, nil
}

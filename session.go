package admit

import (
	"context"
	"strings"
	"time"
)

// The web pages' sign-in: an organizer signs in with a one-time sign-in
// link (printed by `admit signin`, `admit serve` and `admit demo`) or with
// an organizer's management key, and gets a session. Link tokens and
// session secrets are random, shown once and stored as SHA-256 only.
const (
	// SigninTTL is how long a sign-in link stays valid.
	SigninTTL = 15 * time.Minute
	// SessionTTL is how long a session lasts from its sign-in.
	SessionTTL = 7 * 24 * time.Hour
)

// ESigninExpired classifies a sign-in link used after its time.
const ESigninExpired Code = "expired"

// SigninToken is a one-time sign-in link of an organizer, optionally
// landing on one of its events.
type SigninToken struct {
	ID          int64
	OrganizerID int64
	EventID     int64 // 0: the organizer's events
	CreatedAt   time.Time
	ExpiresAt   time.Time
	UsedAt      time.Time // zero: unused
}

// Session is a signed-in browser of an organizer. Its secret lives in the
// browser's cookie only; CSRF is the token every state-changing request
// of the session must carry.
type Session struct {
	ID          int64
	OrganizerID int64
	KeyID       int64  // the management key it signed in with; 0: a sign-in link
	Name        string // who, for the scan log
	CSRF        string
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// SessionStore is what the web sign-in needs of a database (part of Store).
type SessionStore interface {
	// CreateSigninToken stores t with the hash of its token and sets its ID.
	CreateSigninToken(ctx context.Context, t *SigninToken, hash []byte) error
	// UseSigninToken marks the token whose hash is hash used at now,
	// exactly once under any concurrency: unknown, used or expired at now:
	// ENotFound.
	UseSigninToken(ctx context.Context, hash []byte, now time.Time) (*SigninToken, error)
	// SigninToken reads a token whatever its state (to say why it was refused).
	SigninToken(ctx context.Context, hash []byte) (*SigninToken, error)
	// CreateSession stores s with the hash of its secret and sets its ID.
	CreateSession(ctx context.Context, s *Session, hash []byte) error
	// SessionByHash returns the session whose secret hashes to hash if it
	// has not expired at now; else ENotFound.
	SessionByHash(ctx context.Context, hash []byte, now time.Time) (*Session, error)
	// DeleteSession ends a session (no error if there is none).
	DeleteSession(ctx context.Context, hash []byte) error
	// Organizers lists every organizer, by slug (for the sign-in links
	// `admit serve` prints).
	Organizers(ctx context.Context) ([]*Organizer, error)
	// PurgeSignins deletes the sessions and sign-in tokens that expired
	// before before, and returns how many.
	PurgeSignins(ctx context.Context, before time.Time) (int, error)
}

// SigninLink is a new sign-in link's token and where it lands.
type SigninLink struct {
	Token     string // shown once
	Organizer *Organizer
	Event     *Event // nil: the organizer's list of events
	ExpiresAt time.Time
}

// NewSigninLink makes a one-time sign-in link for an organizer (by slug),
// landing on the event eventSlug, or, without one, on the organizer's only
// event if it has exactly one.
func (c *Core) NewSigninLink(ctx context.Context, organizerSlug, eventSlug string) (*SigninLink, error) {
	org, err := c.Store.OrganizerBySlug(ctx, organizerSlug)
	if err != nil {
		if IsNotFound(err) {
			return nil, Errorf(ENotFound, "unknown organizer %q", organizerSlug)
		}
		return nil, err
	}
	var ev *Event
	if eventSlug != "" {
		if ev, err = c.Store.EventBySlug(ctx, org.ID, eventSlug); err != nil {
			if IsNotFound(err) {
				return nil, Errorf(ENotFound, "unknown event %q of organizer %q", eventSlug, organizerSlug)
			}
			return nil, err
		}
	} else {
		evs, err := c.Store.Events(ctx, org.ID)
		if err != nil {
			return nil, err
		}
		if len(evs) == 1 {
			ev = evs[0]
		}
	}
	now := c.now()
	c.purgeSignins(ctx, now)
	token := RandomString(alnumMixed, 32)
	t := &SigninToken{OrganizerID: org.ID, CreatedAt: now, ExpiresAt: now.Add(SigninTTL)}
	if ev != nil {
		t.EventID = ev.ID
	}
	if err := c.Store.CreateSigninToken(ctx, t, HashSecret(token)); err != nil {
		return nil, err
	}
	return &SigninLink{Token: token, Organizer: org, Event: ev, ExpiresAt: t.ExpiresAt}, nil
}

// CheckSigninLink says, without using it, whether a sign-in link's token
// would sign in now: nil, or the error SignInWithLink would return.
func (c *Core) CheckSigninLink(ctx context.Context, token string) error {
	t, err := c.Store.SigninToken(ctx, HashSecret(strings.TrimSpace(token)))
	if err != nil {
		if IsNotFound(err) {
			return errSigninUnknown()
		}
		return err
	}
	return signinRefusal(t, c.now())
}

func errSigninUnknown() error {
	return Errorf(ENotFound, "This sign-in link is not valid. Check that it was copied whole, or ask for a new one.")
}

// signinRefusal says why a stored token does not sign in at now (nil: it does).
func signinRefusal(t *SigninToken, now time.Time) error {
	switch {
	case !t.UsedAt.IsZero():
		return Errorf(EConflict, "This sign-in link was already used. A link signs in once: ask for a new one.")
	case !now.Before(t.ExpiresAt):
		return Errorf(ESigninExpired, "This sign-in link has expired (links last %d minutes). Ask for a new one.", int(SigninTTL/time.Minute))
	}
	return nil
}

// NewSession is a session just signed in, its secret shown once.
type NewSession struct {
	Session *Session
	Secret  string
	Event   *Event // where a sign-in link lands; nil: the list of events
}

// SignInWithLink uses a sign-in link's token, once, and opens a session.
// Unknown token: ENotFound; used: EConflict; expired: ESigninExpired.
func (c *Core) SignInWithLink(ctx context.Context, token string) (*NewSession, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, errSigninUnknown()
	}
	hash := HashSecret(token)
	now := c.now()
	t, err := c.Store.UseSigninToken(ctx, hash, now)
	if err != nil {
		if !IsNotFound(err) {
			return nil, err
		}
		stored, rerr := c.Store.SigninToken(ctx, hash)
		if rerr != nil {
			if IsNotFound(rerr) {
				return nil, errSigninUnknown()
			}
			return nil, rerr
		}
		if why := signinRefusal(stored, now); why != nil {
			return nil, why
		}
		return nil, errSigninUnknown()
	}
	ns, err := c.openSession(ctx, t.OrganizerID, 0, "sign-in link")
	if err != nil {
		return nil, err
	}
	if t.EventID != 0 {
		if ns.Event, err = c.Store.Event(ctx, t.EventID); err != nil {
			return nil, err
		}
	}
	return ns, nil
}

// SignInWithKey opens a session for the organizer of a management key.
// Any other key, unknown or revoked: EUnauthorized.
func (c *Core) SignInWithKey(ctx context.Context, key string) (*NewSession, error) {
	k, err := c.Authenticate(ctx, strings.TrimSpace(key), KeyManagement)
	if err != nil {
		return nil, err
	}
	if k.OrganizerID == 0 {
		return nil, Errorf(EUnauthorized, "invalid key")
	}
	name := k.Name
	if name == "" {
		name = "key " + k.Prefix
	}
	return c.openSession(ctx, k.OrganizerID, k.ID, name)
}

func (c *Core) openSession(ctx context.Context, organizerID, keyID int64, name string) (*NewSession, error) {
	now := c.now()
	c.purgeSignins(ctx, now)
	secret := RandomString(alnumMixed, 43)
	s := &Session{OrganizerID: organizerID, KeyID: keyID, Name: name, CSRF: RandomString(alnumMixed, 32),
		CreatedAt: now, ExpiresAt: now.Add(SessionTTL)}
	if err := c.Store.CreateSession(ctx, s, HashSecret(secret)); err != nil {
		return nil, err
	}
	return &NewSession{Session: s, Secret: secret}, nil
}

// Session returns the session of a secret: unknown or expired: EUnauthorized.
func (c *Core) Session(ctx context.Context, secret string) (*Session, error) {
	if secret == "" {
		return nil, Errorf(EUnauthorized, "not signed in")
	}
	s, err := c.Store.SessionByHash(ctx, HashSecret(secret), c.now())
	if err != nil {
		if IsNotFound(err) {
			return nil, Errorf(EUnauthorized, "Your session has ended: sign in again.")
		}
		return nil, err
	}
	return s, nil
}

// SignOut ends the session of a secret.
func (c *Core) SignOut(ctx context.Context, secret string) error {
	if secret == "" {
		return nil
	}
	return c.Store.DeleteSession(ctx, HashSecret(secret))
}

// purgeSignins deletes what expired a day ago, now and then; a failure is
// only logged (it never fails a sign-in).
func (c *Core) purgeSignins(ctx context.Context, now time.Time) {
	if _, err := c.Store.PurgeSignins(ctx, now.Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
		c.Log.Warn("purge expired sessions", "err", err)
	}
}

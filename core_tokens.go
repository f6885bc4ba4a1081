package admit

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ERateLimited classifies a refusal for too many attempts in a time window
// (HTTP 429 where the dialect has it).
const ERateLimited Code = "rate_limited"

// Staff log in with an admission token's code; guessing codes is limited
// per client address: after CodeGuessLimit unknown codes within one fixed
// window of CodeGuessWindow, every login from that address is refused until
// the window has passed. The counters live in the store (Store.Hit), so the
// limit holds across every node on the database.
const (
	CodeGuessLimit  = 20
	CodeGuessWindow = time.Minute
)

// tokenCreateTries bounds the retries when a new random code collides with
// an existing one (36^8 codes: a collision is already unlikely).
const tokenCreateTries = 5

// CreateManagementKey creates an organizer's management key (the TickeTing
// API's X-API-Key) and returns it, shown once and stored hashed.
func (c *Core) CreateManagementKey(ctx context.Context, organizerSlug, name string) (string, error) {
	return c.CreateOrganizerKey(ctx, organizerSlug, name, RoleAdmin)
}

// EnsureGlobalToken returns the event's global admission token, creating it
// if the event has none yet. It is safe under concurrency, across nodes: the
// store allows one global token per event (EConflict on a second), so the
// loser of a race reads the winner's token. The global token is made
// without a code: ShowTokenCode makes it the first time a manager sees the
// token, whenever the token was made (by an import, before another token).
func (c *Core) EnsureGlobalToken(ctx context.Context, ev *Event) (*AdmissionToken, error) {
	yes := true
	for range tokenCreateTries {
		ts, _, err := c.Store.Tokens(ctx, ev.ID, &yes, 1, 0)
		if err != nil {
			return nil, err
		}
		if len(ts) > 0 {
			return ts[0], nil
		}
		t := &AdmissionToken{EventID: ev.ID, Global: true, CreatedAt: c.now()}
		err = c.Store.CreateToken(ctx, t)
		if err == nil {
			return t, nil
		}
		if ErrorCode(err) != EConflict {
			return nil, err
		}
		// Another request made the global token: look again.
	}
	return nil, Errorf(EInternal, "could not create the global admission token of event %d", ev.ID)
}

// TokenSectionIDs returns the sections a token covers, for display: every
// section of the event for the global token (read now, so sections imported
// later are covered), else the token's own.
func (c *Core) TokenSectionIDs(ctx context.Context, t *AdmissionToken) ([]int64, error) {
	if !t.Global {
		return t.SectionIDs, nil
	}
	secs, err := c.Store.Sections(ctx, t.EventID)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(secs))
	for i, s := range secs {
		ids[i] = s.ID
	}
	return ids, nil
}

// checkTokenSections validates the sections of a token of ev: at least one,
// each a section of ev. It returns them without duplicates, in the order given.
func (c *Core) checkTokenSections(ctx context.Context, ev *Event, sectionIDs []int64) ([]int64, error) {
	if len(sectionIDs) == 0 {
		return nil, Errorf(EInvalid, "a token needs at least one section")
	}
	secs, err := c.Store.Sections(ctx, ev.ID)
	if err != nil {
		return nil, err
	}
	known := make(map[int64]bool, len(secs))
	for _, s := range secs {
		known[s.ID] = true
	}
	var out []int64
	for _, id := range sectionIDs {
		if !known[id] {
			return nil, Errorf(EInvalid, "section %d is not a section of this event", id)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// IssueToken issues a new (non-global) admission token of ev for the given
// sections, with a fresh unguessable code.
func (c *Core) IssueToken(ctx context.Context, ev *Event, sectionIDs []int64) (*AdmissionToken, error) {
	ids, err := c.checkTokenSections(ctx, ev, sectionIDs)
	if err != nil {
		return nil, err
	}
	// The global token is issued before any other, so that it stays first.
	if _, err := c.EnsureGlobalToken(ctx, ev); err != nil {
		return nil, err
	}
	for range tokenCreateTries {
		t := &AdmissionToken{EventID: ev.ID, Code: NewTokenCode(), SectionIDs: ids, CreatedAt: c.now()}
		err = c.Store.CreateToken(ctx, t)
		if ErrorCode(err) == EConflict {
			continue // the code collided
		}
		if err != nil {
			return nil, err
		}
		return t, nil
	}
	return nil, WrapInternal(err, "issue admission token")
}

// ShowTokenCode fills in t.Code if it is the first time anyone sees the
// token: a token made without a code (the global one) gets one now, stored
// hashed, shown in this answer and never again. Otherwise t.Code stays
// empty: codes cannot be read back (a lost code's token is deleted and
// another issued; the global token's code is replaced by issuing a token
// for every section).
func (c *Core) ShowTokenCode(ctx context.Context, t *AdmissionToken) error {
	if t.Code != "" || !t.NoCode {
		return nil
	}
	for range tokenCreateTries {
		code := NewTokenCode()
		ok, err := c.Store.RevealTokenCode(ctx, t.EventID, t.ID, code)
		if ErrorCode(err) == EConflict {
			continue // the code collided
		}
		if err != nil {
			return err
		}
		if ok {
			t.Code = code
		}
		t.NoCode = false
		return nil
	}
	return Errorf(EInternal, "could not make a code for admission token %d", t.ID)
}

// TokenToShow returns a token of ev whose code is shown now (in Code), for
// staff admitting in sectionIDs, none meaning every section: the global
// token while its code was never shown, else a token issued for the
// sections (for none, every section the event has now). An event without
// sections whose global code was shown already: EConflict.
func (c *Core) TokenToShow(ctx context.Context, ev *Event, sectionIDs []int64) (*AdmissionToken, error) {
	if len(sectionIDs) == 0 {
		t, err := c.EnsureGlobalToken(ctx, ev)
		if err != nil {
			return nil, err
		}
		if err := c.ShowTokenCode(ctx, t); err != nil || t.Code != "" {
			return t, err
		}
		if sectionIDs, err = c.TokenSectionIDs(ctx, t); err != nil {
			return nil, err
		}
		if len(sectionIDs) == 0 {
			return nil, Errorf(EConflict, "the global admission token's code was shown already, and the event has no sections to issue another token for")
		}
	}
	return c.IssueToken(ctx, ev, sectionIDs)
}

// errGlobalToken is the refusal to change or delete an event's global token.
func errGlobalToken() error {
	return Errorf(EConflict, "The global admission token cannot be modified or invalidated.")
}

// Token returns a token of ev (ENotFound if ev has no such token).
func (c *Core) Token(ctx context.Context, ev *Event, id int64) (*AdmissionToken, error) {
	if _, err := c.EnsureGlobalToken(ctx, ev); err != nil {
		return nil, err
	}
	return c.Store.Token(ctx, ev.ID, id)
}

// UpdateToken replaces the sections of a token of ev. The global token
// cannot be changed (EConflict). Staff keys of the token get the new
// sections from their next request.
func (c *Core) UpdateToken(ctx context.Context, ev *Event, id int64, sectionIDs []int64) (*AdmissionToken, error) {
	t, err := c.Token(ctx, ev, id)
	if err != nil {
		return nil, err
	}
	if t.Global {
		return nil, errGlobalToken()
	}
	ids, err := c.checkTokenSections(ctx, ev, sectionIDs)
	if err != nil {
		return nil, err
	}
	return c.Store.UpdateTokenSections(ctx, ev.ID, id, ids)
}

// DeleteToken invalidates a token of ev and revokes its staff keys at once.
// The global token cannot be deleted (EConflict).
func (c *Core) DeleteToken(ctx context.Context, ev *Event, id int64) error {
	t, err := c.Token(ctx, ev, id)
	if err != nil {
		return err
	}
	if t.Global {
		return errGlobalToken()
	}
	return c.Store.DeleteToken(ctx, ev.ID, id)
}

// StaffLogin is what a staff member gets for a token's code.
type StaffLogin struct {
	Key        string // the staff key, shown once
	Token      *AdmissionToken
	Event      *Event
	SectionIDs []int64 // the token's sections (every section for the global token)
}

// NormalizeTokenCode returns a typed code in its stored form (codes are
// upper case; staff may type them in lower case).
func NormalizeTokenCode(code string) string {
	return strings.ToUpper(strings.TrimSpace(code))
}

// LoginWithCode exchanges an admission token's code for a staff key limited
// to the token's sections of its event. client names the caller for the
// guessing limit (its network address). An unknown code is ENotFound; after
// CodeGuessLimit unknown codes from client within the window, every call is
// ERateLimited until the window has passed, known codes included (else the
// limit would still answer which guesses are right).
func (c *Core) LoginWithCode(ctx context.Context, code, client string) (*StaffLogin, error) {
	now := c.now()
	code = NormalizeTokenCode(code)
	var t *AdmissionToken
	if validTokenCode(code) {
		var err error
		t, err = c.Store.TokenByCode(ctx, code)
		if err != nil && !IsNotFound(err) {
			return nil, err
		}
	}
	// Three counters per client and window: every attempt, the unknown
	// codes and the known ones. An unknown code reads the count of unknown
	// codes directly; a known one reads it as all minus known, so that a
	// successful login never counts toward the limit.
	all, miss, ok := "code-login:all:"+client, "code-login:miss:"+client, "code-login:ok:"+client
	attempts, err := c.Store.Hit(ctx, all, now, CodeGuessWindow)
	if err != nil {
		return nil, err
	}
	if t == nil {
		misses, err := c.Store.Hit(ctx, miss, now, CodeGuessWindow)
		if err != nil {
			return nil, err
		}
		if misses > CodeGuessLimit {
			return nil, errTooManyCodes()
		}
		return nil, Errorf(ENotFound, "The provided code does not belong to any event token")
	}
	known, err := c.Store.Hit(ctx, ok, now, CodeGuessWindow)
	if err != nil {
		return nil, err
	}
	if attempts-known >= CodeGuessLimit {
		return nil, errTooManyCodes()
	}
	ev, err := c.Store.Event(ctx, t.EventID)
	if err != nil {
		return nil, err
	}
	sections, err := c.TokenSectionIDs(ctx, t)
	if err != nil {
		return nil, err
	}
	key, err := c.CreateKey(ctx, &APIKey{
		Kind: KeyStaff, Name: "admission token " + strconv.FormatInt(t.ID, 10),
		OrganizerID: ev.OrganizerID, EventID: ev.ID, TokenID: t.ID,
	})
	if err != nil {
		return nil, err
	}
	return &StaffLogin{Key: key, Token: t, Event: ev, SectionIDs: sections}, nil
}

func errTooManyCodes() error {
	return Errorf(ERateLimited, "Too many unknown codes from this address: try again in a minute")
}

// validTokenCode reports whether s could be a code made by NewTokenCode.
func validTokenCode(s string) bool {
	if len(s) != 8 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(alnumUpper, rune(s[i])) {
			return false
		}
	}
	return true
}

// StaffToken returns the admission token of a staff key, read now, so that
// a change of its sections applies from the key's next request. A key whose
// token was deleted is EForbidden.
func (c *Core) StaffToken(ctx context.Context, k *APIKey) (*AdmissionToken, error) {
	if k.Kind != KeyStaff || k.TokenID == 0 {
		return nil, Errorf(EForbidden, "not a staff key")
	}
	t, err := c.Store.Token(ctx, k.EventID, k.TokenID)
	if err != nil {
		if IsNotFound(err) {
			return nil, Errorf(EForbidden, "the key's admission token was invalidated")
		}
		return nil, err
	}
	return t, nil
}

// StaffSections returns the sections a staff key may admit, for
// RedeemRequest.Sections and listing filters: nil (no restriction within the
// event) for the global token, else the token's sections.
func StaffSections(t *AdmissionToken) []int64 {
	if t == nil || t.Global {
		return nil
	}
	if t.SectionIDs == nil {
		return []int64{}
	}
	return t.SectionIDs
}

package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/admitdev/admit"
)

// A sign-in token is used once, under any concurrency, only before it
// expires; its state stays readable to say why it was refused.
func testSigninTokens(t *testing.T, st admit.Store) {
	res, _ := setup(t, st)
	org := res.Organizer.ID
	mk := func(name string, expires time.Time, eventID int64) *admit.SigninToken {
		tok := &admit.SigninToken{OrganizerID: org, EventID: eventID, CreatedAt: t0.Add(-time.Minute), ExpiresAt: expires}
		must(t, st.CreateSigninToken(ctx, tok, admit.HashSecret(name)))
		if tok.ID == 0 {
			t.Fatalf("no id set: %+v", tok)
		}
		return tok
	}
	link := mk("link", t0.Add(15*time.Minute), res.Event.ID)
	mk("expired", t0.Add(-time.Second), 0)
	mk("at-expiry", t0, 0)

	got, err := st.SigninToken(ctx, admit.HashSecret("link"))
	must(t, err)
	if got.ID != link.ID || got.OrganizerID != org || got.EventID != res.Event.ID || !got.UsedAt.IsZero() ||
		!got.ExpiresAt.Equal(link.ExpiresAt) || !got.CreatedAt.Equal(link.CreatedAt) {
		t.Fatalf("SigninToken %+v, want %+v", got, link)
	}
	_, err = st.SigninToken(ctx, admit.HashSecret("nope"))
	wantCode(t, err, admit.ENotFound)

	// Two tokens with one hash: a conflict.
	err = st.CreateSigninToken(ctx, &admit.SigninToken{OrganizerID: org, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}, admit.HashSecret("link"))
	wantCode(t, err, admit.EConflict)

	for _, name := range []string{"expired", "at-expiry", "nope"} {
		if _, err := st.UseSigninToken(ctx, admit.HashSecret(name), t0); admit.ErrorCode(err) != admit.ENotFound {
			t.Errorf("use %s: %v, want not found", name, err)
		}
	}

	// Eight at once: exactly one uses it.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			used, err := st.UseSigninToken(ctx, admit.HashSecret("link"), t0)
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
				if used.ID != link.ID || !used.UsedAt.Equal(t0) || used.EventID != res.Event.ID {
					t.Errorf("used %+v", used)
				}
				return
			}
			if admit.ErrorCode(err) != admit.ENotFound {
				t.Errorf("use: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d concurrent uses succeeded, want 1", wins)
	}
	got, err = st.SigninToken(ctx, admit.HashSecret("link"))
	must(t, err)
	if !got.UsedAt.Equal(t0) {
		t.Errorf("used_at %v, want %v", got.UsedAt, t0)
	}
}

// A session is found by the hash of its secret until it expires, ends when
// deleted, and expired sessions and tokens are purged.
func testSessions(t *testing.T, st admit.Store) {
	orgs, err := st.Organizers(ctx)
	must(t, err)
	if len(orgs) != 0 {
		t.Fatalf("organizers of an empty store: %+v", orgs)
	}
	res, _ := setup(t, st)
	org := res.Organizer.ID
	orgs, err = st.Organizers(ctx)
	must(t, err)
	if len(orgs) != 1 || *orgs[0] != *res.Organizer {
		t.Fatalf("Organizers %+v, want [%+v]", orgs, res.Organizer)
	}
	key := &admit.APIKey{Kind: admit.KeyManagement, Prefix: "mgmtkey1", Hash: admit.HashSecret("k"), Name: "Box office", OrganizerID: org}
	must(t, st.CreateAPIKey(ctx, key))
	s := &admit.Session{OrganizerID: org, KeyID: key.ID, Name: "Box office", CSRF: "csrf-token",
		CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	must(t, st.CreateSession(ctx, s, admit.HashSecret("secret-1")))
	if s.ID == 0 {
		t.Fatal("no id set")
	}
	got, err := st.SessionByHash(ctx, admit.HashSecret("secret-1"), t0.Add(59*time.Minute))
	must(t, err)
	if *got != *s {
		t.Errorf("SessionByHash %+v, want %+v", got, s)
	}
	// Signed in with a link: no key.
	s2 := &admit.Session{OrganizerID: org, Name: "sign-in link", CSRF: "c2", CreatedAt: t0, ExpiresAt: t0.Add(2 * time.Hour)}
	must(t, st.CreateSession(ctx, s2, admit.HashSecret("secret-2")))
	got, err = st.SessionByHash(ctx, admit.HashSecret("secret-2"), t0)
	must(t, err)
	if got.KeyID != 0 || got.ID != s2.ID {
		t.Errorf("session %+v", got)
	}
	_, err = st.SessionByHash(ctx, admit.HashSecret("secret-1"), t0.Add(time.Hour))
	wantCode(t, err, admit.ENotFound)
	_, err = st.SessionByHash(ctx, admit.HashSecret("other"), t0)
	wantCode(t, err, admit.ENotFound)
	wantCode(t, st.CreateSession(ctx, &admit.Session{OrganizerID: org, CSRF: "c", CreatedAt: t0, ExpiresAt: t0}, admit.HashSecret("secret-1")), admit.EConflict)

	must(t, st.DeleteSession(ctx, admit.HashSecret("secret-2")))
	_, err = st.SessionByHash(ctx, admit.HashSecret("secret-2"), t0)
	wantCode(t, err, admit.ENotFound)
	must(t, st.DeleteSession(ctx, admit.HashSecret("secret-2"))) // again: no error

	// Purge: what expired before the bound goes, the rest stays.
	must(t, st.CreateSigninToken(ctx, &admit.SigninToken{OrganizerID: org, CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}, admit.HashSecret("old")))
	must(t, st.CreateSigninToken(ctx, &admit.SigninToken{OrganizerID: org, CreatedAt: t0, ExpiresAt: t0.Add(3 * time.Hour)}, admit.HashSecret("new")))
	s3 := &admit.Session{OrganizerID: org, CSRF: "c3", CreatedAt: t0, ExpiresAt: t0.Add(3 * time.Hour)}
	must(t, st.CreateSession(ctx, s3, admit.HashSecret("secret-3")))
	n, err := st.PurgeSignins(ctx, t0.Add(2*time.Hour))
	must(t, err)
	if n != 2 { // session 1 and token "old"
		t.Errorf("purged %d rows, want 2", n)
	}
	if _, err := st.SigninToken(ctx, admit.HashSecret("old")); admit.ErrorCode(err) != admit.ENotFound {
		t.Errorf("expired token kept: %v", err)
	}
	if tok, err := st.SigninToken(ctx, admit.HashSecret("new")); err != nil || tok == nil {
		t.Errorf("live token purged: %v", err)
	}
	got, err = st.SessionByHash(ctx, admit.HashSecret("secret-3"), t0)
	must(t, err)
	if got.ID != s3.ID || got.CSRF != "c3" {
		t.Errorf("session %+v", got)
	}
}

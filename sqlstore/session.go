package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/admitdev/admit"
)

// The web pages' sign-in links and sessions (admit.SessionStore).

const signinCols = `id, organizer_id, event_id, created_at, expires_at, used_at`

func scanSignin(r interface{ Scan(...any) error }) (*admit.SigninToken, error) {
	var t admit.SigninToken
	if err := r.Scan(&t.ID, &t.OrganizerID, zid{&t.EventID}, tm{&t.CreatedAt}, tm{&t.ExpiresAt}, tm{&t.UsedAt}); err != nil {
		return nil, err
	}
	return &t, nil
}

func (s *Store) CreateSigninToken(ctx context.Context, t *admit.SigninToken, hash []byte) error {
	if len(hash) == 0 {
		return admit.Errorf(admit.EInvalid, "a sign-in token needs a hash")
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now()
	}
	return s.inTx(ctx, "sign-in token", func(x dbx) error {
		return x.row(ctx, `INSERT INTO signin_tokens (hash, organizer_id, event_id, created_at, expires_at, used_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			hash, t.OrganizerID, nid(t.EventID), s.ts(t.CreatedAt), s.ts(t.ExpiresAt), s.tsz(t.UsedAt)).Scan(&t.ID)
	})
}

// UseSigninToken uses a token once: one conditional write, so that of two
// concurrent uses exactly one matches.
func (s *Store) UseSigninToken(ctx context.Context, hash []byte, at time.Time) (*admit.SigninToken, error) {
	var t *admit.SigninToken
	err := s.inTx(ctx, "sign-in token", func(x dbx) error {
		var err error
		t, err = scanSignin(x.row(ctx, `UPDATE signin_tokens SET used_at = $2
			WHERE hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING `+signinCols, hash, s.ts(at)))
		if err == sql.ErrNoRows {
			return admit.Errorf(admit.ENotFound, "sign-in token unknown, used or expired")
		}
		return err
	})
	return t, s.dbErr(err, "sign-in token")
}

func (s *Store) SigninToken(ctx context.Context, hash []byte) (*admit.SigninToken, error) {
	t, err := scanSignin(s.reader().row(ctx, `SELECT `+signinCols+` FROM signin_tokens WHERE hash = $1`, hash))
	return t, s.dbErr(err, "sign-in token")
}

const sessionCols = `id, organizer_id, key_id, name, csrf, created_at, expires_at`

func scanSession(r interface{ Scan(...any) error }) (*admit.Session, error) {
	var x admit.Session
	if err := r.Scan(&x.ID, &x.OrganizerID, zid{&x.KeyID}, &x.Name, &x.CSRF, tm{&x.CreatedAt}, tm{&x.ExpiresAt}); err != nil {
		return nil, err
	}
	return &x, nil
}

func (s *Store) CreateSession(ctx context.Context, x *admit.Session, hash []byte) error {
	if len(hash) == 0 || x.CSRF == "" {
		return admit.Errorf(admit.EInvalid, "a session needs a hash and a CSRF token")
	}
	if x.CreatedAt.IsZero() {
		x.CreatedAt = now()
	}
	err := s.inTx(ctx, "session", func(q dbx) error {
		return q.row(ctx, `INSERT INTO web_sessions (hash, organizer_id, key_id, name, csrf, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			hash, x.OrganizerID, nid(x.KeyID), x.Name, x.CSRF, s.ts(x.CreatedAt), s.ts(x.ExpiresAt)).Scan(&x.ID)
	})
	return s.dbErr(err, "session")
}

func (s *Store) SessionByHash(ctx context.Context, hash []byte, at time.Time) (*admit.Session, error) {
	x, err := scanSession(s.reader().row(ctx, `SELECT `+sessionCols+` FROM web_sessions
		WHERE hash = $1 AND expires_at > $2`, hash, s.ts(at)))
	return x, s.dbErr(err, "session")
}

func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	return s.inTx(ctx, "session", func(x dbx) error {
		_, err := x.exec(ctx, `DELETE FROM web_sessions WHERE hash = $1`, hash)
		return err
	})
}

func (s *Store) PurgeSignins(ctx context.Context, before time.Time) (int, error) {
	n := 0
	err := s.inTx(ctx, "sessions", func(x dbx) error {
		n = 0
		for _, q := range []string{`DELETE FROM web_sessions WHERE expires_at < $1`, `DELETE FROM signin_tokens WHERE expires_at < $1`} {
			r, err := x.exec(ctx, q, s.ts(before))
			if err != nil {
				return err
			}
			c, err := r.RowsAffected()
			if err != nil {
				return err
			}
			n += int(c)
		}
		return nil
	})
	return n, err
}

func (s *Store) Organizers(ctx context.Context) ([]*admit.Organizer, error) {
	rows, err := s.reader().query(ctx, `SELECT `+organizerCols+` FROM organizers ORDER BY slug`)
	if err != nil {
		return nil, s.dbErr(err, "organizers")
	}
	defer rows.Close()
	var out []*admit.Organizer
	for rows.Next() {
		o, err := scanOrganizer(rows)
		if err != nil {
			return nil, s.dbErr(err, "organizers")
		}
		out = append(out, o)
	}
	return out, s.dbErr(rows.Err(), "organizers")
}

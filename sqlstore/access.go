package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/admitdev/admit"
)

// Devices, API keys, admission tokens and rate-limit counters.

const deviceCols = `id, uuid, organizer_id, event_id, list_id, name, claimed, archived, pairing_expires, created_at`

func scanDevice(r interface{ Scan(...any) error }) (*admit.Device, error) {
	var d admit.Device
	if err := r.Scan(&d.ID, &d.UUID, &d.OrganizerID, zid{&d.EventID}, zid{&d.ListID}, &d.Name, &d.Claimed,
		&d.Archived, tm{&d.PairingExpires}, tm{&d.CreatedAt}); err != nil {
		return nil, err
	}
	return &d, nil
}

// CreateDevice stores d with the hash of its pairing token (nil: none) and
// sets its ID, and its UUID and CreatedAt when empty.
func (s *Store) CreateDevice(ctx context.Context, d *admit.Device, pairingHash []byte) error {
	if d.UUID == "" {
		d.UUID = admit.NewUUID()
	}
	if d.CreatedAt.IsZero() {
		d.CreatedAt = now()
	}
	var hash any
	if len(pairingHash) > 0 {
		hash = pairingHash
	}
	return s.inTx(ctx, "device", func(x dbx) error {
		return x.row(ctx, `INSERT INTO devices (uuid, organizer_id, event_id, list_id, name, claimed, archived,
		pairing_hash, pairing_expires, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
			d.UUID, d.OrganizerID, nid(d.EventID), nid(d.ListID), d.Name, d.Claimed, d.Archived,
			hash, s.tsz(d.PairingExpires), s.ts(d.CreatedAt)).Scan(&d.ID)
	})
}

func (s *Store) Device(ctx context.Context, id int64) (*admit.Device, error) {
	d, err := scanDevice(s.reader().row(ctx, `SELECT `+deviceCols+` FROM devices WHERE id = $1`, id))
	return d, s.dbErr(err, "device")
}

func (s *Store) DeviceByUUID(ctx context.Context, uuid string) (*admit.Device, error) {
	d, err := scanDevice(s.reader().row(ctx, `SELECT `+deviceCols+` FROM devices WHERE uuid = $1`, uuid))
	return d, s.dbErr(err, "device")
}

// PairDevice consumes a pairing token exactly once; see admit.Store.
func (s *Store) PairDevice(ctx context.Context, pairingHash []byte, organizerID int64, at time.Time, key *admit.APIKey) (*admit.Device, error) {
	if len(pairingHash) == 0 {
		return nil, admit.Errorf(admit.ENotFound, "pairing token not found")
	}
	var d *admit.Device
	err := s.inTx(ctx, "device", func(x dbx) error {
		// One conditional write: of two concurrent pairings, one matches.
		var err error
		d, err = scanDevice(x.row(ctx, `UPDATE devices SET pairing_hash = NULL, claimed = true
			WHERE pairing_hash = $1 AND pairing_expires > $2 AND NOT archived AND (CAST($3 AS BIGINT) = 0 OR organizer_id = CAST($3 AS BIGINT))
			RETURNING `+deviceCols, pairingHash, s.ts(at), organizerID))
		if err == sql.ErrNoRows {
			return admit.Errorf(admit.ENotFound, "pairing token unknown, used or expired")
		}
		if err != nil {
			return err
		}
		key.DeviceID = d.ID
		if key.OrganizerID == 0 {
			key.OrganizerID = d.OrganizerID
		}
		return s.insertKey(ctx, x, key)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// ArchiveDevice archives a device and voids its pairing token. Its keys
// stay as they are: the core refuses them by the device's Archived flag (and
// can say why).
// ArchiveDevice archives a device and moves the catalog version on, in one
// transaction: cores that cache devices per version see it at once.
func (s *Store) ArchiveDevice(ctx context.Context, uuid string) (*admit.Device, error) {
	var d *admit.Device
	err := s.inTx(ctx, "device", func(x dbx) error {
		var err error
		if d, err = scanDevice(x.row(ctx, `UPDATE devices SET archived = true, pairing_hash = NULL
			WHERE uuid = $1 RETURNING `+deviceCols, uuid)); err != nil {
			return err
		}
		return bumpCatalog(ctx, x)
	})
	return d, s.dbErr(err, "device")
}

const keyCols = `id, kind, prefix, hash, name, organizer_id, event_id, list_id, subevent_id, device_id, token_id,
	allow_search, show_info, created_at, revoked`

func scanKey(r interface{ Scan(...any) error }) (*admit.APIKey, error) {
	var k admit.APIKey
	var kind string
	if err := r.Scan(&k.ID, &kind, &k.Prefix, &k.Hash, &k.Name, zid{&k.OrganizerID}, zid{&k.EventID}, zid{&k.ListID},
		zid{&k.SubeventID}, zid{&k.DeviceID}, zid{&k.TokenID}, &k.AllowSearch, &k.ShowInfo, tm{&k.CreatedAt},
		&k.Revoked); err != nil {
		return nil, err
	}
	k.Kind = admit.KeyKind(kind)
	return &k, nil
}

func (s *Store) insertKey(ctx context.Context, x dbx, k *admit.APIKey) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = now()
	}
	return x.row(ctx, `INSERT INTO api_keys (kind, prefix, hash, name, organizer_id, event_id, list_id, subevent_id,
		device_id, token_id, allow_search, show_info, created_at, revoked)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
		string(k.Kind), k.Prefix, k.Hash, k.Name, nid(k.OrganizerID), nid(k.EventID), nid(k.ListID), nid(k.SubeventID),
		nid(k.DeviceID), nid(k.TokenID), k.AllowSearch, k.ShowInfo, s.ts(k.CreatedAt), k.Revoked).Scan(&k.ID)
}

// CreateAPIKey stores k and sets its ID (and CreatedAt when zero).
func (s *Store) CreateAPIKey(ctx context.Context, k *admit.APIKey) error {
	return s.inTx(ctx, "api key", func(x dbx) error { return s.insertKey(ctx, x, k) })
}

// APIKeyByPrefix finds an unrevoked key; a staff key only while its
// admission token exists.
func (s *Store) APIKeyByPrefix(ctx context.Context, prefix string) (*admit.APIKey, error) {
	k, err := scanKey(s.reader().row(ctx, `SELECT `+keyCols+` FROM api_keys k WHERE prefix = $1 AND NOT revoked
		AND (kind <> 'staff' OR EXISTS (SELECT 1 FROM admission_tokens a WHERE a.id = k.token_id))`, prefix))
	return k, s.dbErr(err, "api key")
}

func (s *Store) RevokeTokenKeys(ctx context.Context, tokenID int64) error {
	return s.inTx(ctx, "api keys", func(x dbx) error {
		_, err := x.exec(ctx, `UPDATE api_keys SET revoked = true WHERE token_id = $1 AND kind = 'staff' AND NOT revoked`, tokenID)
		return err
	})
}

// ---------------------------------------------------------------------------
// Admission tokens.

// tokenCols leaves the code out: only its hash is stored (tokencode.go).
const tokenCols = `id, event_id, global, created_at, code_hash LIKE 'unshown:%'`

// tokens loads the tokens where cond holds, with their sections.
func (s *Store) tokens(ctx context.Context, x dbx, cond string, args ...any) ([]*admit.AdmissionToken, error) {
	rows, err := x.query(ctx, `SELECT `+tokenCols+` FROM admission_tokens `+cond, args...)
	if err != nil {
		return nil, err
	}
	var out []*admit.AdmissionToken
	for rows.Next() {
		var t admit.AdmissionToken
		if err := rows.Scan(&t.ID, &t.EventID, &t.Global, tm{&t.CreatedAt}, &t.NoCode); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, &t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	ids := make([]int64, len(out))
	byID := map[int64]*admit.AdmissionToken{}
	for i, t := range out {
		ids[i] = t.ID
		byID[t.ID] = t
	}
	for len(ids) > 0 {
		n := min(len(ids), 500)
		c, a := inIDs("token_id", ids[:n], nil)
		ids = ids[n:]
		rows, err := x.query(ctx, `SELECT token_id, section_id FROM token_sections WHERE `+c+` ORDER BY token_id, section_id`, a...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var tid, sid int64
			if err := rows.Scan(&tid, &sid); err != nil {
				rows.Close()
				return nil, err
			}
			byID[tid].SectionIDs = append(byID[tid].SectionIDs, sid)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) oneToken(ctx context.Context, x dbx, cond string, args ...any) (*admit.AdmissionToken, error) {
	ts, err := s.tokens(ctx, x, cond, args...)
	if err == nil && len(ts) == 0 {
		err = sql.ErrNoRows
	}
	if err != nil {
		return nil, s.dbErr(err, "admission token")
	}
	return ts[0], nil
}

func (s *Store) setTokenSections(ctx context.Context, x dbx, id int64, sectionIDs []int64) error {
	if _, err := x.exec(ctx, `DELETE FROM token_sections WHERE token_id = $1`, id); err != nil {
		return err
	}
	ids := slices.Clone(sectionIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for _, sid := range ids {
		if _, err := x.exec(ctx, `INSERT INTO token_sections (token_id, section_id)
			SELECT CAST($1 AS BIGINT), id FROM sections
			WHERE id = $2 AND event_id = (SELECT event_id FROM admission_tokens WHERE id = CAST($1 AS BIGINT))`,
			id, sid); err != nil {
			return err
		}
	}
	// A section of another event is refused, not silently dropped.
	var n int
	if err := x.row(ctx, `SELECT COUNT(*) FROM token_sections WHERE token_id = $1`, id).Scan(&n); err != nil {
		return err
	}
	if n != len(ids) {
		return admit.Errorf(admit.EInvalid, "a section is not one of the event's")
	}
	return nil
}

// CreateToken stores t with the keyed hash of its code (none yet if empty:
// see RevealTokenCode), and sets ID and CreatedAt. t.Code is the only time
// the code is seen.
func (s *Store) CreateToken(ctx context.Context, t *admit.AdmissionToken) error {
	hash := unshownPrefix + admit.NewUUID()
	t.NoCode = t.Code == ""
	if t.Code != "" {
		hash = s.codeHash(t.Code)
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now()
	}
	return s.inTx(ctx, "admission token", func(x dbx) error {
		if err := x.row(ctx, `INSERT INTO admission_tokens (event_id, code_hash, global, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
			t.EventID, hash, t.Global, s.ts(t.CreatedAt)).Scan(&t.ID); err != nil {
			return err
		}
		return s.setTokenSections(ctx, x, t.ID, t.SectionIDs)
	})
}

func (s *Store) Token(ctx context.Context, eventID, id int64) (*admit.AdmissionToken, error) {
	return s.oneToken(ctx, s.reader(), `WHERE event_id = $1 AND id = $2`, eventID, id)
}

func (s *Store) TokenByCode(ctx context.Context, code string) (*admit.AdmissionToken, error) {
	return s.oneToken(ctx, s.reader(), `WHERE code_hash = $1`, s.codeHash(code))
}

func (s *Store) Tokens(ctx context.Context, eventID int64, global *bool, limit, offset int) ([]*admit.AdmissionToken, int, error) {
	cond, args := `WHERE event_id = $1`, []any{eventID}
	if global != nil {
		cond += ` AND global = $2`
		args = append(args, *global)
	}
	x := s.reader()
	ts, err := s.tokens(ctx, x, cond+` ORDER BY global DESC, id`+limitClause(limit, offset), args...)
	if err != nil {
		return nil, 0, s.dbErr(err, "admission tokens")
	}
	total := len(ts)
	if limit > 0 || offset > 0 {
		if err := x.row(ctx, `SELECT COUNT(*) FROM admission_tokens `+cond, args...).Scan(&total); err != nil {
			return nil, 0, s.dbErr(err, "admission tokens")
		}
	}
	return ts, total, nil
}

func (s *Store) UpdateTokenSections(ctx context.Context, eventID, id int64, sectionIDs []int64) (*admit.AdmissionToken, error) {
	var t *admit.AdmissionToken
	err := s.inTx(ctx, "admission token", func(x dbx) error {
		var found int64
		if err := x.row(ctx, `SELECT id FROM admission_tokens WHERE event_id = $1 AND id = $2`, eventID, id).Scan(&found); err != nil {
			return err
		}
		if err := s.setTokenSections(ctx, x, id, sectionIDs); err != nil {
			return err
		}
		var err error
		t, err = s.oneToken(ctx, x, `WHERE id = $1`, id)
		return err
	})
	return t, err
}

func (s *Store) DeleteToken(ctx context.Context, eventID, id int64) error {
	return s.inTx(ctx, "admission token", func(x dbx) error {
		res, err := x.exec(ctx, `DELETE FROM admission_tokens WHERE event_id = $1 AND id = $2`, eventID, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return sql.ErrNoRows
		}
		_, err = x.exec(ctx, `UPDATE api_keys SET revoked = true WHERE token_id = $1 AND kind = 'staff'`, id)
		return err
	})
}

// ---------------------------------------------------------------------------
// Rate limits.

// purgeEvery is how many Hit calls pass between purges of expired windows.
const purgeEvery = 1000

const (
	qHit = `INSERT INTO rate_hits AS h (hit_key, window_start, expires_at, hits) VALUES ($1, $2, $3, 1)
	ON CONFLICT (hit_key, window_start, expires_at) DO UPDATE SET hits = h.hits + 1 RETURNING hits`
	qPurgeHits = `DELETE FROM rate_hits WHERE expires_at < $1`
)

// Hit counts a hit in the fixed window of at; see admit.Store. On SQLite it
// is group-committed with the scans.
func (s *Store) Hit(ctx context.Context, key string, at time.Time, window time.Duration) (int, error) {
	if window <= 0 {
		return 0, admit.Errorf(admit.EInvalid, "rate window must be positive")
	}
	start := at.UTC().Truncate(window)
	purge := s.hits.Add(1)%purgeEvery == 0
	v, err := s.groupWrite(ctx, "rate limit", func(ctx context.Context, x dbx) (any, error) {
		var n int
		if err := x.row(ctx, qHit, key, s.ts(start), s.ts(start.Add(window))).Scan(&n); err != nil {
			return nil, err
		}
		if purge {
			if _, err := x.exec(ctx, qPurgeHits, s.ts(at)); err != nil {
				return nil, err
			}
		}
		return n, nil
	})
	if err != nil {
		return 0, err
	}
	return v.(int), nil
}

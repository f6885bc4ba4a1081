package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"

	"github.com/pressly/goose/v3"

	"github.com/admitdev/admit"
)

// Admission token codes are credentials (a code gives a staff key): the
// store keeps only admit.HashTokenCode of each, under a key of the
// database's own (table secrets, made by migration 8), and never reads a
// code back. A code is seen once, when its token is made.

// codeKeyName names the key of token codes in table secrets.
const codeKeyName = "token-code"

// migration8 turns the clear codes of admission tokens into their keyed
// hashes: it makes the table of server secrets and the key, renames
// admission_tokens.code to code_hash (its unique index follows) and hashes
// every code in it. Down keeps the hashes (the codes are gone).
func (s *Store) migration8() *goose.Migration {
	blob := "BYTEA"
	strict := ""
	if s.sqlite {
		blob, strict = "BLOB", " STRICT"
	}
	up := func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE secrets (name TEXT PRIMARY KEY, value `+blob+` NOT NULL)`+strict); err != nil {
			return err
		}
		key := make([]byte, 32)
		rand.Read(key)
		if _, err := tx.ExecContext(ctx, `INSERT INTO secrets (name, value) VALUES ($1, $2)`, codeKeyName, key); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `ALTER TABLE admission_tokens RENAME COLUMN code TO code_hash`); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, code_hash FROM admission_tokens`)
		if err != nil {
			return err
		}
		codes := map[int64]string{}
		for rows.Next() {
			var id int64
			var code string
			if err := rows.Scan(&id, &code); err != nil {
				rows.Close()
				return err
			}
			codes[id] = code
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for id, code := range codes {
			if _, err := tx.ExecContext(ctx, `UPDATE admission_tokens SET code_hash = $1 WHERE id = $2`,
				admit.HashTokenCode(key, code), id); err != nil {
				return err
			}
		}
		return nil
	}
	down := func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `ALTER TABLE admission_tokens RENAME COLUMN code_hash TO code`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DROP TABLE secrets`)
		return err
	}
	return goose.NewGoMigration(8, &goose.GoFunc{RunTx: up}, &goose.GoFunc{RunTx: down})
}

// loadCodeKey reads the key of token codes.
func (s *Store) loadCodeKey(ctx context.Context) error {
	err := s.wdb.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = $1`, codeKeyName).Scan(&s.codeKey)
	if err == nil && len(s.codeKey) < 32 {
		err = admit.Errorf(admit.EInternal, "the key of token codes is too short")
	}
	return s.dbErr(err, "the key of token codes")
}

// codeHash is the stored form of a token code.
func (s *Store) codeHash(code string) string { return admit.HashTokenCode(s.codeKey, code) }

// unshownPrefix marks the code_hash of a token whose code is not made yet:
// no code's hash (64 hex digits) is ever equal to it.
const unshownPrefix = "unshown:"

// RevealTokenCode gives a token that has no code yet the code code; see
// admit.Store.
func (s *Store) RevealTokenCode(ctx context.Context, eventID, id int64, code string) (bool, error) {
	var n int64
	err := s.inTx(ctx, "admission token", func(x dbx) error {
		res, err := x.exec(ctx, `UPDATE admission_tokens SET code_hash = $1 WHERE event_id = $2 AND id = $3 AND code_hash LIKE 'unshown:%'`,
			s.codeHash(code), eventID, id)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

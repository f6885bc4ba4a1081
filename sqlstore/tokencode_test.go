package sqlstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/admitdev/admit"
	"github.com/admitdev/admit/sqlstore"
)

// A database made before migration 00008 keeps admission token codes in
// clear; migrated, it keeps only their keyed hashes, and each code still
// finds its token.
func TestTokenCodeMigrationHashesExistingCodes(t *testing.T) {
	for name, dsn := range newDatabases() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			dsn := dsn(t)
			st, res := openSearchFile(t, dsn)
			if err := st.MigrateDownTo(ctx, 6); err != nil {
				t.Fatalf("migrate down to 6: %v", err)
			}
			// Tokens as the old schema kept them: the code in clear.
			w, _ := st.DBs()
			codes := []string{"OLDCODE1", "OLDCODE2"}
			for i, code := range codes {
				if _, err := w.ExecContext(ctx, `INSERT INTO admission_tokens (event_id, code, global, created_at) VALUES ($1, $2, $3, $4)`,
					res.Event.ID, code, i == 0, stamp(dsn, time.Now())); err != nil {
					t.Fatal(err)
				}
			}
			st.Close()
			var err error
			st, err = sqlstore.Open(ctx, dsn, nil)
			if err != nil {
				t.Fatalf("open, migrating up: %v", err)
			}
			defer st.Close()
			w, _ = st.DBs()
			rows, err := w.QueryContext(ctx, `SELECT code_hash FROM admission_tokens`)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for rows.Next() {
				var h string
				if err := rows.Scan(&h); err != nil {
					t.Fatal(err)
				}
				n++
				if len(h) != 64 || strings.Contains(h, "OLDCODE") {
					t.Errorf("stored %q: not a keyed hash", h)
				}
			}
			rows.Close()
			if n != 2 {
				t.Fatalf("%d tokens after the migration", n)
			}
			for i, code := range codes {
				tok, err := st.TokenByCode(ctx, strings.ToLower(code))
				if err != nil || tok.Global != (i == 0) || tok.Code != "" {
					t.Errorf("code %s after the migration: %+v, %v", code, tok, err)
				}
			}
			if _, err := st.TokenByCode(ctx, "OLDCODE3"); !admit.IsNotFound(err) {
				t.Errorf("an unknown code: %v", err)
			}
		})
	}
}

// stamp binds a time as the schema of dsn stores it.
func stamp(dsn string, t time.Time) any {
	if strings.HasPrefix(dsn, "postgres") {
		return t.UTC()
	}
	return t.UnixMicro()
}

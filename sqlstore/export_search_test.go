package sqlstore

import (
	"context"
	"io/fs"

	"github.com/pressly/goose/v3"
)

// MigrateDownTo rolls the schema back to version v, for the tests of a
// migration's back-fill.
func (s *Store) MigrateDownTo(ctx context.Context, v int64) error {
	dir, dialect := "migrations/postgres", goose.DialectPostgres
	if s.sqlite {
		dir, dialect = "migrations/sqlite", goose.DialectSQLite3
	}
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(dialect, s.wdb, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return err
	}
	_, err = p.DownTo(ctx, v)
	return err
}

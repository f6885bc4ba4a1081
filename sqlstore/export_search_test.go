package sqlstore

import (
	"context"
	"io/fs"

	"github.com/admitdev/admit"
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

// SearchPlan returns how the search of f is made: "scan" (every ticket of
// the event read), "indexed", "ids" (a page found by searchTop) or "none";
// short reports a query looked up by the trigrams that start with it, of
// which terms are the index's.
func (s *Store) SearchPlan(ctx context.Context, f admit.TicketFilter) (mode string, short bool, terms []string, err error) {
	sp, err := s.planSearch(ctx, f, !f.Count)
	if err != nil || sp == nil {
		return "", false, nil, err
	}
	return [...]string{searchScan: "scan", searchIndexed: "indexed", searchIDs: "ids", searchNone: "none"}[sp.mode],
		sp.short, sp.terms, nil
}

package sqlstore

import "context"

// CatalogVersion returns the counter every import bumps.
func (s *Store) CatalogVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.reader().row(ctx, `SELECT version FROM catalog_version WHERE id = 1`).Scan(&v)
	return v, s.dbErr(err, "catalog version")
}

// bumpCatalog moves the catalog version on, and the tickets version with
// it, inside a write transaction.
func bumpCatalog(ctx context.Context, x dbx) error {
	if _, err := x.exec(ctx, `UPDATE catalog_version SET version = version + 1 WHERE id = 1`); err != nil {
		return err
	}
	return bumpTickets(ctx, x)
}

// bumpTickets moves the tickets version on (a ticket changed), inside a
// write transaction.
func bumpTickets(ctx context.Context, x dbx) error {
	_, err := x.exec(ctx, `UPDATE tickets_version SET version = version + 1 WHERE id = 1`)
	return err
}

package sqlstore

import "database/sql"

// DBs exposes the writer and reader pools to the tests.
func (s *Store) DBs() (writer, reader *sql.DB) { return s.wdb, s.rdb }

package sqlstore

import "database/sql"

// DBs exposes the writer and reader pools to the tests.
func (s *Store) DBs() (writer, reader *sql.DB) { return s.wdb, s.rdb }

// HoldSyncs stops the WAL syncs (the group commit's and every other write
// transaction's) until release is called.
func (s *Store) HoldSyncs() (release func()) {
	s.wal.mu.Lock()
	return s.wal.mu.Unlock
}

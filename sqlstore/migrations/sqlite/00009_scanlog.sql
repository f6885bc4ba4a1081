-- +goose Up
-- The scan log's Merkle tree (issue 16, RFC 6962, golang.org/x/mod/sumdb/tlog):
-- leaf n is the scan scanlog_leaves.scan_id, the scans taken in id order;
-- scanlog_hashes keeps the tree's stored hashes (tlog.StoredHashIndex);
-- scanlog_checkpoints the signed notes of tree size and root hash. Written
-- only by the appender, off the scan's path; checked by admit log verify.
CREATE TABLE scanlog_leaves (n INTEGER PRIMARY KEY, scan_id INTEGER NOT NULL UNIQUE) STRICT;
CREATE TABLE scanlog_hashes (idx INTEGER PRIMARY KEY, hash BLOB NOT NULL) STRICT;
CREATE TABLE scanlog_checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL) STRICT;

-- +goose Down
DROP TABLE scanlog_checkpoints;
DROP TABLE scanlog_hashes;
DROP TABLE scanlog_leaves;

-- +goose Up
-- Nothing on SQLite: migration 00019 of PostgreSQL indexes each ticket's
-- pairs of characters by where its last name lies in the order, which
-- SQLite's search index (its rowids in last-name order, migration 00003)
-- does already. The version is kept alike on both engines.
SELECT 1;

-- +goose Down
SELECT 1;

-- +goose Up
-- Nothing on SQLite: migration 00014 of PostgreSQL indexes the pairs of
-- characters of the searched text, which SQLite's search index (migration
-- 00004) looks up already. The version is kept alike on both engines.
SELECT 1;

-- +goose Down
SELECT 1;

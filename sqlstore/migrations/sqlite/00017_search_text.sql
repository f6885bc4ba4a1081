-- +goose Up
-- Nothing on SQLite: migration 00017 of PostgreSQL gives the index of the
-- search walk each ticket's searched text, which SQLite's search index
-- (migration 00003) holds already. The version is kept alike on both
-- engines.
SELECT 1;

-- +goose Down
SELECT 1;

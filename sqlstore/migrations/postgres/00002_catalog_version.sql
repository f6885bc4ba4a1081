-- +goose Up
-- One counter that every import bumps in its transaction: the core caches
-- events and check-in lists for one version, and re-reads them when the
-- counter moved (on any node sharing the database).
CREATE TABLE catalog_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO catalog_version (id, version) VALUES (1, 0);

-- +goose Down
DROP TABLE catalog_version;

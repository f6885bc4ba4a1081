-- +goose Up
-- A counter that moves whenever a ticket or an order may have changed:
-- every import (with catalog_version) and a ticket blocked or unblocked
-- (alone, so that offline devices keep their deltas). Cores keep events'
-- tickets in memory for one value of it; a scan judged on such a ticket is
-- recorded only while the counter stays (issue 17).
CREATE TABLE tickets_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
-- From 1: a cached ticket read at version 0 would count as unchecked.
INSERT INTO tickets_version (id, version) VALUES (1, 1);

-- +goose Down
DROP TABLE tickets_version;

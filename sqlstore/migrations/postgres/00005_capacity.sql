-- +goose Up
-- Exits, list uuids and capacities (issue 14); see the SQLite migration.
ALTER TABLE checkin_state ADD COLUMN exits INTEGER NOT NULL DEFAULT 0;
ALTER TABLE checkin_state ADD COLUMN section_id BIGINT;
UPDATE checkin_state SET section_id = (SELECT t.section_id FROM tickets t WHERE t.id = checkin_state.ticket_id);
CREATE INDEX checkin_state_list ON checkin_state (list_id, section_id, inside, entries, exits);

ALTER TABLE checkin_lists ADD COLUMN uuid TEXT NOT NULL DEFAULT '';
UPDATE checkin_lists SET uuid = gen_random_uuid()::text;
CREATE UNIQUE INDEX checkin_lists_uuid ON checkin_lists (uuid);

ALTER TABLE checkin_lists ADD COLUMN capacity INTEGER CHECK (capacity >= 0);
ALTER TABLE sections ADD COLUMN capacity INTEGER CHECK (capacity >= 0);

CREATE TABLE area_counts (
    area     TEXT NOT NULL CHECK (area IN ('list', 'section')),
    area_id  BIGINT NOT NULL,
    capacity INTEGER NOT NULL CHECK (capacity >= 0),
    inside   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (area, area_id)
);

-- +goose Down
DROP TABLE area_counts;
ALTER TABLE sections DROP COLUMN capacity;
ALTER TABLE checkin_lists DROP COLUMN capacity;
DROP INDEX checkin_lists_uuid;
ALTER TABLE checkin_lists DROP COLUMN uuid;
DROP INDEX checkin_state_list;
ALTER TABLE checkin_state DROP COLUMN section_id;
ALTER TABLE checkin_state DROP COLUMN exits;

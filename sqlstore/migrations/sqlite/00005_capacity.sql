-- +goose Up
-- Exits, list uuids and capacities (issue 14).
--
-- checkin_state counts a ticket's exits on a list beside its entries.
ALTER TABLE checkin_state ADD COLUMN exits INTEGER NOT NULL DEFAULT 0;
-- The ticket's section, written with the state (the scan knows it) and
-- moved by an import that moves the ticket: occupancy sums a list's states
-- per section from one index, without reading the table or the tickets.
-- No foreign key: it would cost every first entry a lookup.
ALTER TABLE checkin_state ADD COLUMN section_id INTEGER;
UPDATE checkin_state SET section_id = (SELECT t.section_id FROM tickets t WHERE t.id = checkin_state.ticket_id);
CREATE INDEX checkin_state_list ON checkin_state (list_id, section_id, inside, entries, exits);

-- A list is named by its uuid too; existing lists get a fresh one (v4).
ALTER TABLE checkin_lists ADD COLUMN uuid TEXT NOT NULL DEFAULT '';
UPDATE checkin_lists SET uuid = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' ||
    substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) ||
    substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)));
CREATE UNIQUE INDEX checkin_lists_uuid ON checkin_lists (uuid);

-- Capacities, as the import file says (NULL: no limit).
ALTER TABLE checkin_lists ADD COLUMN capacity INTEGER CHECK (capacity >= 0);
ALTER TABLE sections ADD COLUMN capacity INTEGER CHECK (capacity >= 0);

-- One counter per area with a capacity: a list, or a section (its tickets
-- inside on any list of its event). An entry that takes a place claims it
-- with a conditional UPDATE (inside < capacity) in the check-in's
-- transaction, an exit gives it back. Apart from the catalog's tables,
-- which imports lock and scans must not.
CREATE TABLE area_counts (
    area     TEXT NOT NULL CHECK (area IN ('list', 'section')),
    area_id  INTEGER NOT NULL,
    capacity INTEGER NOT NULL CHECK (capacity >= 0),
    inside   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (area, area_id)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE area_counts;
ALTER TABLE sections DROP COLUMN capacity;
ALTER TABLE checkin_lists DROP COLUMN capacity;
DROP INDEX checkin_lists_uuid;
ALTER TABLE checkin_lists DROP COLUMN uuid;
DROP INDEX checkin_state_list;
ALTER TABLE checkin_state DROP COLUMN section_id;
ALTER TABLE checkin_state DROP COLUMN exits;

-- +goose Up
-- Times are INTEGER unix microseconds (UTC); the PostgreSQL schema has the
-- same shape with TIMESTAMPTZ. Booleans are INTEGER 0/1; tables are STRICT.
-- Optional references are NULL, never 0.
CREATE TABLE organizers (
    id     INTEGER PRIMARY KEY,
    slug   TEXT NOT NULL UNIQUE,
    name   TEXT NOT NULL,
    domain TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE events (
    id              INTEGER PRIMARY KEY,
    uuid            TEXT NOT NULL UNIQUE,
    organizer_id    INTEGER NOT NULL REFERENCES organizers (id),
    slug            TEXT NOT NULL,
    name            TEXT NOT NULL,
    date_from       INTEGER,
    date_to         INTEGER,
    timezone        TEXT NOT NULL,
    signing         TEXT NOT NULL,
    public_key_pem  TEXT NOT NULL,
    private_key_pem TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    UNIQUE (organizer_id, slug)
) STRICT;

CREATE TABLE subevents (
    id        INTEGER PRIMARY KEY,
    event_id  INTEGER NOT NULL REFERENCES events (id),
    name      TEXT NOT NULL,
    date_from INTEGER,
    date_to   INTEGER,
    UNIQUE (event_id, name)
) STRICT;

CREATE TABLE sections (
    id          INTEGER PRIMARY KEY,
    event_id    INTEGER NOT NULL REFERENCES events (id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    position    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (event_id, name)
) STRICT;

CREATE TABLE products (
    id        INTEGER PRIMARY KEY,
    event_id  INTEGER NOT NULL REFERENCES events (id),
    name      TEXT NOT NULL,
    admission INTEGER NOT NULL DEFAULT 1,
    position  INTEGER NOT NULL DEFAULT 0,
    UNIQUE (event_id, name)
) STRICT;

CREATE TABLE variations (
    id         INTEGER PRIMARY KEY,
    product_id INTEGER NOT NULL REFERENCES products (id),
    name       TEXT NOT NULL,
    position   INTEGER NOT NULL DEFAULT 0,
    UNIQUE (product_id, name)
) STRICT;

-- Orders and tickets are written in bulk by imports: their foreign keys are
-- checked at commit (with INSERT OR ROLLBACK, SQLite then needs no
-- statement journal for a multi-row INSERT).
CREATE TABLE orders (
    id         INTEGER PRIMARY KEY,
    event_id   INTEGER NOT NULL REFERENCES events (id) DEFERRABLE INITIALLY DEFERRED,
    code       TEXT NOT NULL,
    uuid       TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('paid', 'pending', 'canceled')),
    email      TEXT NOT NULL DEFAULT '',
    name       TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (event_id, code)
) STRICT;

CREATE TABLE tickets (
    id            INTEGER PRIMARY KEY,
    uuid          TEXT NOT NULL UNIQUE,
    secret        TEXT NOT NULL,
    serial        TEXT NOT NULL,
    event_id      INTEGER NOT NULL REFERENCES events (id) DEFERRABLE INITIALLY DEFERRED,
    order_id      INTEGER NOT NULL REFERENCES orders (id) DEFERRABLE INITIALLY DEFERRED,
    product_id    INTEGER NOT NULL REFERENCES products (id) DEFERRABLE INITIALLY DEFERRED,
    variation_id  INTEGER REFERENCES variations (id) DEFERRABLE INITIALLY DEFERRED,
    subevent_id   INTEGER REFERENCES subevents (id) DEFERRABLE INITIALLY DEFERRED,
    section_id    INTEGER REFERENCES sections (id) DEFERRABLE INITIALLY DEFERRED,
    parent_id     INTEGER REFERENCES tickets (id) DEFERRABLE INITIALLY DEFERRED,
    position      INTEGER NOT NULL,
    price         TEXT NOT NULL DEFAULT '',
    first_name    TEXT NOT NULL DEFAULT '',
    last_name     TEXT NOT NULL DEFAULT '',
    email         TEXT NOT NULL DEFAULT '',
    holder_number TEXT NOT NULL DEFAULT '',
    valid_from    INTEGER,
    valid_until   INTEGER,
    blocked       INTEGER NOT NULL DEFAULT 0,
    qr_code       TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    CONSTRAINT tickets_secret UNIQUE (event_id, secret),
    CONSTRAINT tickets_serial UNIQUE (event_id, serial)
) STRICT;
CREATE INDEX tickets_order ON tickets (order_id, position);
CREATE INDEX tickets_parent ON tickets (parent_id, position) WHERE parent_id IS NOT NULL;
CREATE INDEX tickets_event_updated ON tickets (event_id, updated_at);
CREATE INDEX tickets_event_product ON tickets (event_id, product_id);
CREATE INDEX tickets_event_section ON tickets (event_id, section_id);
CREATE INDEX tickets_subevent ON tickets (subevent_id) WHERE subevent_id IS NOT NULL;
CREATE INDEX tickets_holder ON tickets (holder_number);

CREATE TABLE checkin_lists (
    id                     INTEGER PRIMARY KEY,
    event_id               INTEGER NOT NULL REFERENCES events (id),
    name                   TEXT NOT NULL,
    subevent_id            INTEGER REFERENCES subevents (id),
    allow_multiple_entries INTEGER NOT NULL DEFAULT 0,
    allow_entry_after_exit INTEGER NOT NULL DEFAULT 1,
    include_pending        INTEGER NOT NULL DEFAULT 0,
    is_default             INTEGER NOT NULL DEFAULT 0,
    position               INTEGER NOT NULL DEFAULT 0,
    UNIQUE (event_id, name)
) STRICT;
CREATE UNIQUE INDEX checkin_lists_default ON checkin_lists (event_id) WHERE is_default;

CREATE TABLE list_products (
    list_id    INTEGER NOT NULL REFERENCES checkin_lists (id) ON DELETE CASCADE,
    product_id INTEGER NOT NULL REFERENCES products (id),
    PRIMARY KEY (list_id, product_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE list_sections (
    list_id    INTEGER NOT NULL REFERENCES checkin_lists (id) ON DELETE CASCADE,
    section_id INTEGER NOT NULL REFERENCES sections (id),
    PRIMARY KEY (list_id, section_id)
) STRICT, WITHOUT ROWID;

-- One row per (ticket, list) once scanned: the row the atomic check-in locks.
CREATE TABLE checkin_state (
    ticket_id         INTEGER NOT NULL REFERENCES tickets (id),
    list_id           INTEGER NOT NULL REFERENCES checkin_lists (id),
    inside            INTEGER NOT NULL DEFAULT 0,
    entries           INTEGER NOT NULL DEFAULT 0,
    first_at          INTEGER,
    first_device_uuid TEXT NOT NULL DEFAULT '',
    first_device_name TEXT NOT NULL DEFAULT '',
    last_at           INTEGER,
    PRIMARY KEY (ticket_id, list_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE devices (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid            TEXT NOT NULL UNIQUE,
    organizer_id    INTEGER NOT NULL REFERENCES organizers (id),
    event_id        INTEGER REFERENCES events (id),
    list_id         INTEGER REFERENCES checkin_lists (id),
    name            TEXT NOT NULL DEFAULT '',
    claimed         INTEGER NOT NULL DEFAULT 0,
    archived        INTEGER NOT NULL DEFAULT 0,
    pairing_hash    BLOB UNIQUE,
    pairing_expires INTEGER,
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX devices_organizer ON devices (organizer_id);

-- The append-only scan log: every attempt, admitted or not. Its references
-- are plain columns, no foreign keys: the log outlives what it names, and
-- the checks would cost the hot path (admitted scans are checked anyway by
-- checkin_state's foreign keys).
CREATE TABLE scans (
    id          INTEGER PRIMARY KEY,
    ticket_id   INTEGER,
    event_id    INTEGER,
    list_id     INTEGER,
    device_id   INTEGER,
    device_name TEXT NOT NULL DEFAULT '',
    redeemer    TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL DEFAULT '',
    type        TEXT NOT NULL,
    result      TEXT NOT NULL,
    nonce       TEXT,
    device_time INTEGER,
    server_time INTEGER NOT NULL,
    forced      INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX scans_ticket_nonce ON scans (ticket_id, list_id, nonce);
CREATE INDEX scans_event ON scans (event_id, id);
CREATE INDEX scans_list ON scans (list_id, id);

-- Admission tokens (TickeTing). Each event has at most one global token.
CREATE TABLE admission_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id   INTEGER NOT NULL REFERENCES events (id),
    code       TEXT NOT NULL UNIQUE,
    global     INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX admission_tokens_event ON admission_tokens (event_id, global, id);
CREATE UNIQUE INDEX admission_tokens_global ON admission_tokens (event_id) WHERE global;

CREATE TABLE token_sections (
    token_id   INTEGER NOT NULL REFERENCES admission_tokens (id) ON DELETE CASCADE,
    section_id INTEGER NOT NULL REFERENCES sections (id),
    PRIMARY KEY (token_id, section_id)
) STRICT, WITHOUT ROWID;

-- API keys: only the prefix (lookup) and SHA-256 hash of the key are stored.
-- token_id has no foreign key: a staff key outlives its deleted token (revoked).
CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL,
    prefix       TEXT NOT NULL UNIQUE,
    hash         BLOB NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    organizer_id INTEGER REFERENCES organizers (id),
    event_id     INTEGER REFERENCES events (id),
    list_id      INTEGER REFERENCES checkin_lists (id),
    subevent_id  INTEGER REFERENCES subevents (id),
    device_id    INTEGER REFERENCES devices (id),
    token_id     INTEGER,
    allow_search INTEGER NOT NULL DEFAULT 0,
    show_info    INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    revoked      INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX api_keys_token ON api_keys (token_id) WHERE token_id IS NOT NULL;
CREATE INDEX api_keys_device ON api_keys (device_id) WHERE device_id IS NOT NULL;

-- Fixed-window rate-limit counters shared by every node: one row per key
-- and window (start and end: windows of different lengths count apart).
CREATE TABLE rate_hits (
    hit_key      TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    hits         INTEGER NOT NULL,
    PRIMARY KEY (hit_key, window_start, expires_at)
) STRICT, WITHOUT ROWID;
CREATE INDEX rate_hits_expires ON rate_hits (expires_at);

-- +goose Down
DROP TABLE rate_hits;
DROP TABLE api_keys;
DROP TABLE token_sections;
DROP TABLE admission_tokens;
DROP TABLE scans;
DROP TABLE devices;
DROP TABLE checkin_state;
DROP TABLE list_sections;
DROP TABLE list_products;
DROP TABLE checkin_lists;
DROP TABLE tickets;
DROP TABLE orders;
DROP TABLE variations;
DROP TABLE products;
DROP TABLE sections;
DROP TABLE subevents;
DROP TABLE events;
DROP TABLE organizers;

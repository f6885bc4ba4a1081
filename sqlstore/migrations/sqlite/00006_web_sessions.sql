-- +goose Up
-- The web pages' sign-in: one-time sign-in links and sessions. Neither
-- secret is stored: only its SHA-256.
CREATE TABLE signin_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    hash         BLOB NOT NULL UNIQUE,
    organizer_id INTEGER NOT NULL REFERENCES organizers (id),
    event_id     INTEGER REFERENCES events (id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER
) STRICT;
CREATE INDEX signin_tokens_expires ON signin_tokens (expires_at);

CREATE TABLE web_sessions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    hash         BLOB NOT NULL UNIQUE,
    organizer_id INTEGER NOT NULL REFERENCES organizers (id),
    key_id       INTEGER REFERENCES api_keys (id),
    name         TEXT NOT NULL DEFAULT '',
    csrf         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);

-- +goose Down
DROP TABLE web_sessions;
DROP TABLE signin_tokens;

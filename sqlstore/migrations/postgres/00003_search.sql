-- +goose Up
-- Ticket search (see sqlstore/search.go).
--
-- "Contains" searches (names, emails, price labels) use pg_trgm GIN indexes
-- on exactly the expressions the search compares (lower(...) LIKE '%q%').
-- pg_trgm ships with PostgreSQL (contrib) and is a trusted extension: any
-- user allowed to CREATE in the database may create it. Where it cannot be
-- created (not installed, or no such right), this migration still applies
-- without the trigram indexes: search stays correct but reads every ticket
-- of the event, and the store logs a warning at each start. Once the
-- extension can be created, the next start creates it and the indexes
-- (sqlstore.ensureSearchIndexes runs the same block).
--
-- +goose StatementBegin
DO $$
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'admit: cannot create extension pg_trgm (%): ticket search will read every ticket', SQLERRM;
    END;
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX IF NOT EXISTS tickets_search_name ON tickets USING gin (lower(first_name || ' ' || last_name) gin_trgm_ops);
        CREATE INDEX IF NOT EXISTS tickets_search_email ON tickets USING gin (lower(email) gin_trgm_ops);
        CREATE INDEX IF NOT EXISTS tickets_search_price ON tickets USING gin (lower(price) gin_trgm_ops);
        CREATE INDEX IF NOT EXISTS orders_search_email ON orders USING gin (lower(email) gin_trgm_ops);
    END IF;
END
$$;
-- +goose StatementEnd

-- "Starts with" searches are range scans in byte order (COLLATE "C", so
-- that a prefix is one range whatever the database's collation). Ticket and
-- order uuids are stored lowercase (the import lowercases them); secrets
-- and order codes keep their case, so their indexes are on lower().
CREATE INDEX tickets_uuid_prefix ON tickets (uuid COLLATE "C");
CREATE INDEX tickets_secret_prefix ON tickets (event_id, (lower(secret)) COLLATE "C");
CREATE INDEX orders_code_prefix ON orders (event_id, (lower(code)) COLLATE "C");
CREATE INDEX orders_uuid_prefix ON orders (uuid COLLATE "C");

-- +goose Down
DROP INDEX orders_uuid_prefix;
DROP INDEX orders_code_prefix;
DROP INDEX tickets_secret_prefix;
DROP INDEX tickets_uuid_prefix;
DROP INDEX IF EXISTS orders_search_email;
DROP INDEX IF EXISTS tickets_search_price;
DROP INDEX IF EXISTS tickets_search_email;
DROP INDEX IF EXISTS tickets_search_name;

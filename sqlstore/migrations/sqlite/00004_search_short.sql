-- +goose Up
-- Ticket search (see sqlstore/search.go): one and two character queries
-- through the trigram index.
--
-- Every text of ticket_search (migration 00003) now ends with two U+0001
-- (char(1, 1)), which the trigram tokenizer keeps as characters (case
-- folding leaves them alone): every occurrence of one or two characters in
-- a field is followed by at least two more, so is the start of a trigram of
-- the index. A short query looks up the trigrams that start with it in
-- ticket_search_terms (a range of terms) and matches any of them; the exact
-- LIKE decides, as for longer queries. A query of three characters or more
-- is looked up as before, by its own trigrams, which the texts still have:
-- it finds what it found. (A field that holds U+0001 itself is found
-- alike: the exact LIKE decides.)
--
-- The index is made again, as migration 00003 made it (its rows in
-- ascending rowid order, the same rowids), the triggers with the sentinel;
-- an import writes its rows itself with it (search.go, searchColumns).
DROP TRIGGER ticket_search_order_email;
DROP TRIGGER ticket_search_delete;
DROP TRIGGER ticket_search_update;
DROP TRIGGER ticket_search_insert;
DROP TABLE ticket_search;

CREATE VIRTUAL TABLE ticket_search USING fts5(
    name, email, price,
    content = '', contentless_delete = 1, tokenize = 'trigram', detail = column
);
-- Flush the pending terms of a large import in 64 MB runs rather than 1 MB
-- ones: fewer segments to merge (a fifth faster for 1,000,000 tickets).
INSERT INTO ticket_search (ticket_search, rank) VALUES ('hashsize', 67108864);


INSERT INTO ticket_search (rowid, name, email, price)
SELECT CASE WHEN t.id < 2147483648 THEN
        (coalesce(min(unicode(substr(lower(t.last_name), 1, 1)), 255), 0) << 55) |
        (coalesce(min(unicode(substr(lower(t.last_name), 2, 1)), 255), 0) << 47) |
        (coalesce(min(unicode(substr(lower(t.last_name), 3, 1)), 255), 0) << 39) |
        (coalesce(min(unicode(substr(lower(t.last_name), 4, 1)), 255), 0) << 31) | t.id
    ELSE -t.id END,
    t.first_name || ' ' || t.last_name || char(1, 1),
    CASE WHEN o.email IS NULL OR o.email = t.email THEN t.email ELSE t.email || ' ' || o.email END || char(1, 1),
    t.price || char(1, 1)
FROM tickets t LEFT JOIN orders o ON o.id = t.order_id
ORDER BY 1;

-- +goose StatementBegin
CREATE TRIGGER ticket_search_insert AFTER INSERT ON tickets
WHEN (SELECT deferred FROM search_sync) = 0
BEGIN
    INSERT INTO ticket_search (rowid, name, email, price)
    SELECT CASE WHEN NEW.id < 2147483648 THEN
            (coalesce(min(unicode(substr(lower(NEW.last_name), 1, 1)), 255), 0) << 55) |
            (coalesce(min(unicode(substr(lower(NEW.last_name), 2, 1)), 255), 0) << 47) |
            (coalesce(min(unicode(substr(lower(NEW.last_name), 3, 1)), 255), 0) << 39) |
            (coalesce(min(unicode(substr(lower(NEW.last_name), 4, 1)), 255), 0) << 31) | NEW.id
        ELSE -NEW.id END,
        NEW.first_name || ' ' || NEW.last_name || char(1, 1),
        CASE WHEN o.email IS NULL OR o.email = NEW.email THEN NEW.email ELSE NEW.email || ' ' || o.email END || char(1, 1),
        NEW.price || char(1, 1)
    FROM (SELECT 1) LEFT JOIN orders o ON o.id = NEW.order_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER ticket_search_update AFTER UPDATE OF first_name, last_name, email, price, order_id ON tickets
WHEN (OLD.first_name IS NOT NEW.first_name OR OLD.last_name IS NOT NEW.last_name OR OLD.email IS NOT NEW.email
    OR OLD.price IS NOT NEW.price OR OLD.order_id IS NOT NEW.order_id) AND (SELECT deferred FROM search_sync) = 0
BEGIN
    DELETE FROM ticket_search WHERE rowid = CASE WHEN OLD.id < 2147483648 THEN
            (coalesce(min(unicode(substr(lower(OLD.last_name), 1, 1)), 255), 0) << 55) |
            (coalesce(min(unicode(substr(lower(OLD.last_name), 2, 1)), 255), 0) << 47) |
            (coalesce(min(unicode(substr(lower(OLD.last_name), 3, 1)), 255), 0) << 39) |
            (coalesce(min(unicode(substr(lower(OLD.last_name), 4, 1)), 255), 0) << 31) | OLD.id
        ELSE -OLD.id END;
    INSERT INTO ticket_search (rowid, name, email, price)
    SELECT CASE WHEN NEW.id < 2147483648 THEN
            (coalesce(min(unicode(substr(lower(NEW.last_name), 1, 1)), 255), 0) << 55) |
            (coalesce(min(unicode(substr(lower(NEW.last_name), 2, 1)), 255), 0) << 47) |
            (coalesce(min(unicode(substr(lower(NEW.last_name), 3, 1)), 255), 0) << 39) |
            (coalesce(min(unicode(substr(lower(NEW.last_name), 4, 1)), 255), 0) << 31) | NEW.id
        ELSE -NEW.id END,
        NEW.first_name || ' ' || NEW.last_name || char(1, 1),
        CASE WHEN o.email IS NULL OR o.email = NEW.email THEN NEW.email ELSE NEW.email || ' ' || o.email END || char(1, 1),
        NEW.price || char(1, 1)
    FROM (SELECT 1) LEFT JOIN orders o ON o.id = NEW.order_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER ticket_search_delete AFTER DELETE ON tickets
WHEN (SELECT deferred FROM search_sync) = 0
BEGIN
    DELETE FROM ticket_search WHERE rowid = CASE WHEN OLD.id < 2147483648 THEN
            (coalesce(min(unicode(substr(lower(OLD.last_name), 1, 1)), 255), 0) << 55) |
            (coalesce(min(unicode(substr(lower(OLD.last_name), 2, 1)), 255), 0) << 47) |
            (coalesce(min(unicode(substr(lower(OLD.last_name), 3, 1)), 255), 0) << 39) |
            (coalesce(min(unicode(substr(lower(OLD.last_name), 4, 1)), 255), 0) << 31) | OLD.id
        ELSE -OLD.id END;
END;
-- +goose StatementEnd

-- An order's email is searched with its tickets.
-- +goose StatementBegin
CREATE TRIGGER ticket_search_order_email AFTER UPDATE OF email ON orders
WHEN OLD.email IS NOT NEW.email AND (SELECT deferred FROM search_sync) = 0
BEGIN
    DELETE FROM ticket_search WHERE rowid IN (
        SELECT CASE WHEN t.id < 2147483648 THEN
                (coalesce(min(unicode(substr(lower(t.last_name), 1, 1)), 255), 0) << 55) |
                (coalesce(min(unicode(substr(lower(t.last_name), 2, 1)), 255), 0) << 47) |
                (coalesce(min(unicode(substr(lower(t.last_name), 3, 1)), 255), 0) << 39) |
                (coalesce(min(unicode(substr(lower(t.last_name), 4, 1)), 255), 0) << 31) | t.id
            ELSE -t.id END
        FROM tickets t WHERE t.order_id = NEW.id);
    INSERT INTO ticket_search (rowid, name, email, price)
    SELECT CASE WHEN t.id < 2147483648 THEN
            (coalesce(min(unicode(substr(lower(t.last_name), 1, 1)), 255), 0) << 55) |
            (coalesce(min(unicode(substr(lower(t.last_name), 2, 1)), 255), 0) << 47) |
            (coalesce(min(unicode(substr(lower(t.last_name), 3, 1)), 255), 0) << 39) |
            (coalesce(min(unicode(substr(lower(t.last_name), 4, 1)), 255), 0) << 31) | t.id
        ELSE -t.id END,
        t.first_name || ' ' || t.last_name || char(1, 1),
        CASE WHEN NEW.email = t.email THEN t.email ELSE t.email || ' ' || NEW.email END || char(1, 1),
        t.price || char(1, 1)
    FROM tickets t WHERE t.order_id = NEW.id;
END;
-- +goose StatementEnd

-- The index's terms, for the lookup of the trigrams that start with a
-- short query (term >= q AND term < q's successor reads that range only).
CREATE VIRTUAL TABLE ticket_search_terms USING fts5vocab(ticket_search, 'row');

-- +goose Down
DROP TABLE ticket_search_terms;
DROP TRIGGER ticket_search_order_email;
DROP TRIGGER ticket_search_delete;
DROP TRIGGER ticket_search_update;
DROP TRIGGER ticket_search_insert;
DROP TABLE ticket_search;

CREATE VIRTUAL TABLE ticket_search USING fts5(
    name, email, price,
    content = '', contentless_delete = 1, tokenize = 'trigram', detail = column
);
-- Flush the pending terms of a large import in 64 MB runs rather than 1 MB
-- ones: fewer segments to merge (a fifth faster for 1,000,000 tickets).
INSERT INTO ticket_search (ticket_search, rank) VALUES ('hashsize', 67108864);


INSERT INTO ticket_search (rowid, name, email, price)
SELECT CASE WHEN t.id < 2147483648 THEN
        (coalesce(min(unicode(substr(lower(t.last_name), 1, 1)), 255), 0) << 55) |
        (coalesce(min(unicode(substr(lower(t.last_name), 2, 1)), 255), 0) << 47) |
        (coalesce(min(unicode(substr(lower(t.last_name), 3, 1)), 255), 0) << 39) |
        (coalesce(min(unicode(substr(lower(t.last_name), 4, 1)), 255), 0) << 31) | t.id
    ELSE -t.id END,
    t.first_name || ' ' || t.last_name,
    CASE WHEN o.email IS NULL OR o.email = t.email THEN t.email ELSE t.email || ' ' || o.email END,
    t.price
FROM tickets t LEFT JOIN orders o ON o.id = t.order_id
ORDER BY 1;

-- +goose StatementBegin
CREATE TRIGGER ticket_search_insert AFTER INSERT ON tickets
WHEN (SELECT deferred FROM search_sync) = 0
BEGIN
    INSERT INTO ticket_search (rowid, name, email, price)
    SELECT CASE WHEN NEW.id < 2147483648 THEN
            (coalesce(min(unicode(substr(lower(NEW.last_name), 1, 1)), 255), 0) << 55) |
            (coalesce(min(unicode(substr(lower(NEW.last_name), 2, 1)), 255), 0) << 47) |
            (coalesce(min(unicode(substr(lower(NEW.last_name), 3, 1)), 255), 0) << 39) |
            (coalesce(min(unicode(substr(lower(NEW.last_name), 4, 1)), 255), 0) << 31) | NEW.id
        ELSE -NEW.id END,
        NEW.first_name || ' ' || NEW.last_name,
        CASE WHEN o.email IS NULL OR o.email = NEW.email THEN NEW.email ELSE NEW.email || ' ' || o.email END,
        NEW.price
    FROM (SELECT 1) LEFT JOIN orders o ON o.id = NEW.order_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER ticket_search_update AFTER UPDATE OF first_name, last_name, email, price, order_id ON tickets
WHEN (OLD.first_name IS NOT NEW.first_name OR OLD.last_name IS NOT NEW.last_name OR OLD.email IS NOT NEW.email
    OR OLD.price IS NOT NEW.price OR OLD.order_id IS NOT NEW.order_id) AND (SELECT deferred FROM search_sync) = 0
BEGIN
    DELETE FROM ticket_search WHERE rowid = CASE WHEN OLD.id < 2147483648 THEN
            (coalesce(min(unicode(substr(lower(OLD.last_name), 1, 1)), 255), 0) << 55) |
            (coalesce(min(unicode(substr(lower(OLD.last_name), 2, 1)), 255), 0) << 47) |
            (coalesce(min(unicode(substr(lower(OLD.last_name), 3, 1)), 255), 0) << 39) |
            (coalesce(min(unicode(substr(lower(OLD.last_name), 4, 1)), 255), 0) << 31) | OLD.id
        ELSE -OLD.id END;
    INSERT INTO ticket_search (rowid, name, email, price)
    SELECT CASE WHEN NEW.id < 2147483648 THEN
            (coalesce(min(unicode(substr(lower(NEW.last_name), 1, 1)), 255), 0) << 55) |
            (coalesce(min(unicode(substr(lower(NEW.last_name), 2, 1)), 255), 0) << 47) |
            (coalesce(min(unicode(substr(lower(NEW.last_name), 3, 1)), 255), 0) << 39) |
            (coalesce(min(unicode(substr(lower(NEW.last_name), 4, 1)), 255), 0) << 31) | NEW.id
        ELSE -NEW.id END,
        NEW.first_name || ' ' || NEW.last_name,
        CASE WHEN o.email IS NULL OR o.email = NEW.email THEN NEW.email ELSE NEW.email || ' ' || o.email END,
        NEW.price
    FROM (SELECT 1) LEFT JOIN orders o ON o.id = NEW.order_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER ticket_search_delete AFTER DELETE ON tickets
WHEN (SELECT deferred FROM search_sync) = 0
BEGIN
    DELETE FROM ticket_search WHERE rowid = CASE WHEN OLD.id < 2147483648 THEN
            (coalesce(min(unicode(substr(lower(OLD.last_name), 1, 1)), 255), 0) << 55) |
            (coalesce(min(unicode(substr(lower(OLD.last_name), 2, 1)), 255), 0) << 47) |
            (coalesce(min(unicode(substr(lower(OLD.last_name), 3, 1)), 255), 0) << 39) |
            (coalesce(min(unicode(substr(lower(OLD.last_name), 4, 1)), 255), 0) << 31) | OLD.id
        ELSE -OLD.id END;
END;
-- +goose StatementEnd

-- An order's email is searched with its tickets.
-- +goose StatementBegin
CREATE TRIGGER ticket_search_order_email AFTER UPDATE OF email ON orders
WHEN OLD.email IS NOT NEW.email AND (SELECT deferred FROM search_sync) = 0
BEGIN
    DELETE FROM ticket_search WHERE rowid IN (
        SELECT CASE WHEN t.id < 2147483648 THEN
                (coalesce(min(unicode(substr(lower(t.last_name), 1, 1)), 255), 0) << 55) |
                (coalesce(min(unicode(substr(lower(t.last_name), 2, 1)), 255), 0) << 47) |
                (coalesce(min(unicode(substr(lower(t.last_name), 3, 1)), 255), 0) << 39) |
                (coalesce(min(unicode(substr(lower(t.last_name), 4, 1)), 255), 0) << 31) | t.id
            ELSE -t.id END
        FROM tickets t WHERE t.order_id = NEW.id);
    INSERT INTO ticket_search (rowid, name, email, price)
    SELECT CASE WHEN t.id < 2147483648 THEN
            (coalesce(min(unicode(substr(lower(t.last_name), 1, 1)), 255), 0) << 55) |
            (coalesce(min(unicode(substr(lower(t.last_name), 2, 1)), 255), 0) << 47) |
            (coalesce(min(unicode(substr(lower(t.last_name), 3, 1)), 255), 0) << 39) |
            (coalesce(min(unicode(substr(lower(t.last_name), 4, 1)), 255), 0) << 31) | t.id
        ELSE -t.id END,
        t.first_name || ' ' || t.last_name,
        CASE WHEN NEW.email = t.email THEN t.email ELSE t.email || ' ' || NEW.email END,
        t.price
    FROM tickets t WHERE t.order_id = NEW.id;
END;
-- +goose StatementEnd

-- +goose Up
-- Two-character searches (issue 17). pg_trgm cannot look up fewer than
-- three characters, and a walk of the event's tickets in order (migration
-- 00010) finds the page of a pair that many tickets have, not of a rare
-- one ("qz"): that read every ticket of the event (seconds over 1,000,000).
-- These indexes hold, for each ticket, the pairs of consecutive characters
-- of its searched text lowercased (name, email and price in one text), and
-- for each order those of its email: a ticket whose field contains a pair
-- has it among its own. The search checks the field itself afterwards (a
-- pair across two fields of the one text is no match).
-- +goose StatementBegin
CREATE FUNCTION admit_search_pairs(s text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT ARRAY(SELECT substr(s, i, 2) FROM generate_series(1, length(s) - 1) AS i) $$;
-- +goose StatementEnd
CREATE INDEX tickets_text_pairs ON tickets USING gin
    (admit_search_pairs(lower(first_name || ' ' || last_name || ' ' || email || ' ' || price)));
CREATE INDEX orders_email_pairs ON orders USING gin (admit_search_pairs(lower(email)));

-- +goose Down
DROP INDEX orders_email_pairs;
DROP INDEX tickets_text_pairs;
DROP FUNCTION admit_search_pairs(text);

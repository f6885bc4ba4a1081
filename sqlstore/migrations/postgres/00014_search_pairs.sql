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
--
-- The pairs are cut by two regexp_replace, one from the first character,
-- one from the second, each ending every two characters with a newline,
-- then split at the newlines: pairs with a newline are cut short, the
-- others all kept (the search looks up no query with a newline). Builtin
-- functions only, in one expression, so that PostgreSQL inlines the
-- function: a SELECT of generate_series instead cost twice as much at
-- each ticket written.
-- +goose StatementBegin
CREATE FUNCTION admit_search_pairs(s text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT string_to_array(regexp_replace(s, '(..)', E'\\1\n', 'g'), E'\n')
    || string_to_array(regexp_replace(substr(s, 2), '(..)', E'\\1\n', 'g'), E'\n') $$;
-- +goose StatementEnd
CREATE INDEX tickets_text_pairs ON tickets USING gin
    (admit_search_pairs(lower(first_name || ' ' || last_name || ' ' || email || ' ' || price)));
CREATE INDEX orders_email_pairs ON orders USING gin (admit_search_pairs(lower(email)));

-- +goose Down
DROP INDEX orders_email_pairs;
DROP INDEX tickets_text_pairs;
DROP FUNCTION admit_search_pairs(text);

-- +goose Up
-- A page of a two-character search in last-name order without reading every
-- match (issue 17). The pair index of migration 00014 gives every ticket that
-- has the pair, in no order: a pair that 30,000 tickets have, the first of
-- them 140,000 tickets into the last-name order ("xu", "yi"), was either
-- walked to (the index of migration 00017, 0.3 to 0.9 s) or read whole (about
-- a second). This index takes the place of the tickets' one of migration
-- 00014: it holds the pairs of consecutive characters of each ticket's
-- searched text (migration 00017: name, email, price, the order's email), cut
-- as migration 00014 cuts them, each followed by the bucket of the ticket's
-- last name, written as migration 00018 writes it (three characters from
-- U+1000, a prefix of two naming 8 buckets in a row). The search looks the
-- pair up in the first buckets, then the next ones, and stops once it has
-- the page (searchgrams.go); without buckets (a prefix of the pair alone:
-- 'xu':*), it finds every ticket that has the pair, as the index it replaces
-- did. Pieces of one character (a pair cut by a newline, the last character
-- of an odd text) are kept with their bucket: no query of two characters is
-- a prefix of one (the bucket's first character is U+1000 to U+1001).
-- Builtin functions only (no pg_trgm needed), in one expression, so that
-- PostgreSQL inlines the function; the pieces (but empty ones) are
-- joined and split at newlines, which no piece has.
-- +goose StatementBegin
DO $$
DECLARE
    th text;
    codes text;
BEGIN
    SELECT array_agg(x ORDER BY x)::text INTO th
        FROM (SELECT chr(a) || chr(b) AS x FROM generate_series(97, 122) a, generate_series(97, 122) b) p;
    SELECT string_agg(chr(4096 + b / 64) || chr(4096 + b / 8 % 8) || chr(4096 + b % 8), '' ORDER BY b) INTO codes
        FROM generate_series(0, 676) b;
    EXECUTE format($f$CREATE OR REPLACE FUNCTION admit_search_pair_grams(k text, s text) RETURNS tsvector
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $b$ SELECT array_to_tsvector(array_remove(string_to_array(array_to_string(
            array_remove(string_to_array(regexp_replace(s, '(..)', E'\\1\n', 'g'), E'\n')
            || string_to_array(regexp_replace(substr(s, 2), '(..)', E'\\1\n', 'g'), E'\n'), '') || ''::text,
            substr(%L, width_bucket(k, %L::text[]) * 3 + 1, 3) || E'\n'), E'\n'), '')) $b$ $f$, codes, th);
END
$$;
-- +goose StatementEnd
CREATE INDEX tickets_pair_grams ON tickets USING gin (admit_search_pair_grams(lower(last_name), search_text));
DROP INDEX tickets_text_pairs;

-- +goose Down
CREATE INDEX tickets_text_pairs ON tickets USING gin
    (admit_search_pairs(lower(first_name || ' ' || last_name || ' ' || email || ' ' || price)));
DROP INDEX tickets_pair_grams;
DROP FUNCTION admit_search_pair_grams(text, text);

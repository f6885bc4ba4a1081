-- +goose Up
-- A page of a search in last-name order without reading every match
-- (issue 17). The trigram indexes of migration 00003 give every ticket that
-- matches, in no order: a last name that 30,000 tickets match (as a holder's
-- name, an email, the order's email) read them all, 200 to 500 ms over
-- 1,000,000 tickets, for a page of 50. This index holds the trigrams of each
-- ticket's searched text (migration 00017: name, email, price, the order's
-- email; pg_trgm's show_trgm), each followed by the bucket of the ticket's
-- last name: where the last name lies among the 676 pairs of letters "aa"
-- to "zz", sorted in the database's collation (width_bucket: 0 below "aa",
-- 676 from "zz" on, in any collation). A ticket of a lower bucket comes
-- before every ticket of a higher one in the page's order (lower(last_name),
-- id), so the search looks up the query's trigrams in the first buckets,
-- then in the next ones, and stops once it has the page (searchgrams.go).
--
-- The bucket is written as three characters, its digits in base 8 from
-- U+1000 (bucket 9: U+1000 U+1001 U+1001), so that a prefix of it names 64
-- or 8 buckets in a row: each key is a lexeme of a tsvector, whose GIN index
-- looks up a prefix as one range of its keys ('bau' and two digits: the
-- tickets of 8 buckets that have "bau"). One expression of builtin and
-- pg_trgm functions, the buckets' digits read from one string, so that
-- PostgreSQL inlines the function. Like the indexes of migration 00003 it
-- needs pg_trgm; without it, nothing is made here and
-- sqlstore.ensureSearchIndexes runs this block once the extension can be
-- created.
-- +goose StatementBegin
DO $$
DECLARE
    th text;
    codes text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        RETURN;
    END IF;
    SELECT array_agg(x ORDER BY x)::text INTO th
        FROM (SELECT chr(a) || chr(b) AS x FROM generate_series(97, 122) a, generate_series(97, 122) b) p;
    SELECT string_agg(chr(4096 + b / 64) || chr(4096 + b / 8 % 8) || chr(4096 + b % 8), '' ORDER BY b) INTO codes
        FROM generate_series(0, 676) b;
    EXECUTE format($f$CREATE OR REPLACE FUNCTION admit_search_grams(k text, s text) RETURNS tsvector
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $b$ SELECT array_to_tsvector(array_remove(string_to_array(array_to_string(show_trgm(s) || ''::text,
            substr(%L, width_bucket(k, %L::text[]) * 3 + 1, 3) || '|'), '|'), '')) $b$ $f$, codes, th);
    CREATE INDEX IF NOT EXISTS tickets_search_grams ON tickets USING gin (admit_search_grams(lower(last_name), search_text));
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP INDEX IF EXISTS tickets_search_grams;
DROP FUNCTION IF EXISTS admit_search_grams(text, text);

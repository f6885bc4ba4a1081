-- +goose Up
-- A search that matches many tickets finds its page by walking the event's
-- tickets in last-name order (search walk, issue 17): this index gives that
-- order, (lower(last_name), id), for one event, as a range scan (the walk
-- names it: INDEXED BY). It replaces tickets_last_lower, whose order,
-- (lower(last_name), event_id, id), is not the walk's for one event.
-- ANALYZE gives the planner its statistics at once: an index that starts
-- with event_id and has none would be taken for every "event_id = ?" query
-- (see 00003), an "ORDER BY id" page then sorting every ticket of the event.
-- (Not partial, which would avoid that: SQLite drops the condition such an
-- index needs from the query, "IS NOT NULL" of a NOT NULL column, or
-- "event_id > 0" next to "event_id = ?", and cannot use it.)
CREATE INDEX tickets_event_last ON tickets (event_id, lower(last_name));
DROP INDEX tickets_last_lower;
ANALYZE tickets_event_last;

-- +goose Down
CREATE INDEX tickets_last_lower ON tickets (lower(last_name), event_id);
DROP INDEX tickets_event_last;

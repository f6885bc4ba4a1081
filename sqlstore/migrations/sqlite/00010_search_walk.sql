-- +goose Up
-- A search that matches many tickets finds its page by walking the event's
-- tickets in last-name order (search walk, issue 17): this index gives that
-- order, (lower(last_name), id), for one event, as a range scan. It is
-- partial so that only a query that says "last_name IS NOT NULL" (the walk,
-- noneBefore) can take it: until ANALYZE it has no statistics, and the
-- planner would take an index without statistics that starts with event_id
-- for every "event_id = ?" query (see 00003), an "ORDER BY id" page then
-- sorting every ticket of the event. It replaces tickets_last_lower, whose
-- order, (lower(last_name), event_id, id), is not the walk's for one event.
CREATE INDEX tickets_event_last ON tickets (event_id, lower(last_name)) WHERE last_name IS NOT NULL;
DROP INDEX tickets_last_lower;

-- +goose Down
CREATE INDEX tickets_last_lower ON tickets (lower(last_name), event_id);
DROP INDEX tickets_event_last;

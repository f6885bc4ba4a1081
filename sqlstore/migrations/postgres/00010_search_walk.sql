-- +goose Up
-- A search that matches many tickets finds its page by walking the event's
-- tickets in last-name order (search walk, issue 17): this index gives that
-- order, (lower(last_name), id) in the database's collation (that of the
-- ORDER BY), for one event, as a range scan.
CREATE INDEX tickets_event_last ON tickets (event_id, lower(last_name), id);

-- +goose Down
DROP INDEX tickets_event_last;

-- +goose Up
-- The check-in state's foreign keys go (issue 17): on PostgreSQL each
-- first entry's key check locked its ticket's row (FOR KEY SHARE: a WAL
-- record, and a full page image of the ticket's page after each
-- checkpoint) and the list's row (one row every scan locks: a MultiXact).
-- Only the scan path writes checkin_state, with a ticket and a list it
-- has just read; no ticket or list is deleted while it has state.
ALTER TABLE checkin_state DROP CONSTRAINT checkin_state_ticket_id_fkey;
ALTER TABLE checkin_state DROP CONSTRAINT checkin_state_list_id_fkey;

-- +goose Down
ALTER TABLE checkin_state ADD CONSTRAINT checkin_state_ticket_id_fkey FOREIGN KEY (ticket_id) REFERENCES tickets (id);
ALTER TABLE checkin_state ADD CONSTRAINT checkin_state_list_id_fkey FOREIGN KEY (list_id) REFERENCES checkin_lists (id);

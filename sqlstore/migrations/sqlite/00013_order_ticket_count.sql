-- +goose Up
-- Each order keeps the count of its tickets (add-ons included), which a
-- scan's answer carries (TiBillet's reservation.tickets_count): read with
-- the order's row instead of counted under every scan (issue 17). Imports
-- set it when they create an order and count again the orders whose
-- tickets they add or move.
ALTER TABLE orders ADD COLUMN ticket_count INTEGER NOT NULL DEFAULT 0;
UPDATE orders SET ticket_count = (SELECT COUNT(*) FROM tickets t WHERE t.order_id = orders.id);

-- +goose Down
ALTER TABLE orders DROP COLUMN ticket_count;

-- The saga's undo of shipping: a cancelled shipment keeps its row (status 'cancelled'), so that
-- its order id can never be booked again. A cancellation that arrives before any booking
-- claims the order id with a row that has no carrier; a booking arriving later is refused.
ALTER TABLE shipping_shipments ADD COLUMN cancelled_at_ms BIGINT;

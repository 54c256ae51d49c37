-- The parcel's journey after the booking (day 6): where the carrier says it is, the events it
-- reported (each taken once: `event_id` is the carrier's), and the claims opened when a parcel
-- missed its delivery deadline (one per order).
ALTER TABLE shipping_shipments ADD COLUMN delivery_state TEXT NOT NULL DEFAULT 'booked';
ALTER TABLE shipping_shipments ADD COLUMN last_event_at_ms BIGINT;
ALTER TABLE shipping_shipments ADD COLUMN delivery_attempts BIGINT NOT NULL DEFAULT 0;

CREATE TABLE shipping_carrier_events (
    event_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    detail TEXT,
    received_at_ms BIGINT NOT NULL,
    -- When the shipment workflow was told; NULL until then (a redelivery tells it again).
    signalled_at_ms BIGINT
);
CREATE INDEX shipping_carrier_events_by_order ON shipping_carrier_events (order_id);

CREATE TABLE shipping_claims (
    order_id TEXT PRIMARY KEY,
    claim_id TEXT NOT NULL UNIQUE,
    carrier TEXT NOT NULL,
    reason TEXT NOT NULL,
    opened_at_ms BIGINT NOT NULL
);

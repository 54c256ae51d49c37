-- Shipping owns the shipments: one per order (order_id is the idempotency key).
CREATE TABLE shipping_shipments (
    shipment_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL UNIQUE,
    carrier TEXT NOT NULL,
    tracking_number TEXT NOT NULL,
    country TEXT NOT NULL,
    address_json TEXT NOT NULL,
    lines_json TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

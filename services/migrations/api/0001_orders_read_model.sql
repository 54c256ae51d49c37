-- The api's read model: one row per accepted order, written when the api accepts the order
-- and updated by the workflow (through PUT /internal/orders/{id}) when it finishes.
-- request_fingerprint lets a repeated POST with the same idempotency key be recognised, and
-- a different request reusing the key be refused.
CREATE TABLE api_orders (
    order_id TEXT PRIMARY KEY,
    workflow_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    status TEXT NOT NULL,
    total_cents BIGINT NOT NULL,
    request_fingerprint TEXT NOT NULL,
    snapshot_json TEXT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

CREATE INDEX api_orders_by_customer ON api_orders (customer_id, created_at_ms);
CREATE INDEX api_orders_by_created ON api_orders (created_at_ms);

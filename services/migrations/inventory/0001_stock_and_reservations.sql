-- Inventory owns the catalog, the stock levels and the reservations that hold stock for orders.
CREATE TABLE inventory_stock (
    sku TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    unit_price_cents BIGINT NOT NULL CHECK (unit_price_cents > 0),
    available BIGINT NOT NULL CHECK (available >= 0)
);

-- One row per reservation id: the idempotency key of reserve and release. A release that
-- arrives before (or without) its reserve leaves a 'released' row with no lines, so a late
-- reserve with that id can no longer take stock.
CREATE TABLE inventory_reservations (
    reservation_id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('reserved', 'released')),
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

CREATE TABLE inventory_reservation_lines (
    reservation_id TEXT NOT NULL REFERENCES inventory_reservations (reservation_id),
    sku TEXT NOT NULL REFERENCES inventory_stock (sku),
    qty BIGINT NOT NULL CHECK (qty > 0),
    PRIMARY KEY (reservation_id, sku)
);

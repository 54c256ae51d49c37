-- Rows of supplier stock files that have been applied, one per (ingestion, row): a resumed or
-- repeated ingestion skips what is here, so no row ever adds stock twice.
CREATE TABLE inventory_stock_receipts (
    ingestion_id TEXT NOT NULL,
    row_number BIGINT NOT NULL,
    sku TEXT NOT NULL REFERENCES inventory_stock (sku),
    qty BIGINT NOT NULL CHECK (qty > 0),
    applied_at_ms BIGINT NOT NULL,
    PRIMARY KEY (ingestion_id, row_number)
);

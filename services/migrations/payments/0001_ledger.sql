-- Payments owns the ledger: every movement of money, one row each, never updated.
--   charge: money taken from the customer
--   refund: a charge given back (charge_id says which)
--   void:   a refund that found no charge; it claims the charge's idempotency key so that a
--           charge arriving late (a lost request, delivered after the refund) is refused.
CREATE TABLE payments_ledger (
    entry_id TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('charge', 'refund', 'void')),
    order_id TEXT NOT NULL,
    charge_id TEXT,
    provider TEXT,
    amount_cents BIGINT NOT NULL CHECK (amount_cents >= 0),
    created_at_ms BIGINT NOT NULL
);

CREATE INDEX payments_ledger_by_order ON payments_ledger (order_id);

-- A charge is refunded at most once, whatever idempotency keys the refunds carry.
CREATE UNIQUE INDEX payments_one_refund_per_charge ON payments_ledger (charge_id) WHERE kind = 'refund';

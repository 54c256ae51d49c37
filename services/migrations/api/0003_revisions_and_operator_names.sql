-- The read model only moves forward: every record carries the order's revision (how many
-- timeline entries the saga has written), and a record older than the row's is ignored, so
-- that a late retry of an earlier write can never take an order back.
ALTER TABLE api_orders ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;

-- Operator keys carry the operator's name: a decision is taken in the key's name, never in a
-- name the request body chooses.
ALTER TABLE api_keys ADD COLUMN operator_name TEXT;

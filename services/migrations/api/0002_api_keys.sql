-- API keys (day 10, access control). Only a SHA-256 of each key is kept: the key itself is
-- shown once, when it is created. Keys are 256 random bits, so a plain hash (no salt, no
-- slow KDF) is enough: there is no dictionary to try.
-- role: customer (own orders: create, read), operator (everything), service (the workers'
-- internal calls). customer_id is set for customer keys only.
CREATE TABLE api_keys (
    key_hash TEXT PRIMARY KEY,
    key_prefix TEXT NOT NULL,
    role TEXT NOT NULL,
    customer_id TEXT,
    label TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE INDEX api_keys_by_label ON api_keys (label);

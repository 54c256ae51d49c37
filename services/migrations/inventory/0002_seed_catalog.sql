-- The demo shop's catalog. PR-007 has little stock on purpose: order 4 to see a rejection.
INSERT INTO inventory_stock (sku, name, unit_price_cents, available) VALUES
    ('KB-001', 'Mechanical keyboard', 8900, 1000),
    ('MS-002', 'Wireless mouse', 2900, 1000),
    ('MN-003', '27-inch monitor', 34900, 1000),
    ('CB-004', 'USB-C cable', 1200, 1000),
    ('HP-005', 'Noise-cancelling headphones', 15900, 1000),
    ('LS-006', 'Laptop stand', 4900, 1000),
    ('PR-007', 'Signed poster (limited edition)', 9900, 3);

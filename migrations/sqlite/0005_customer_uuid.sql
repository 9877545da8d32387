-- Customers get a stable UUID (clients that name customers by UUID look them up with it)
-- and an optional company name. Mirrored in migrations/postgres/0005_customer_uuid.sql.

ALTER TABLE customers ADD COLUMN uuid TEXT;
ALTER TABLE customers ADD COLUMN company_name TEXT;

-- Existing customers get a random (version 4) UUID; new ones get theirs from the core.
UPDATE customers SET uuid =
    lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' ||
    substr(lower(hex(randomblob(2))), 2) || '-' ||
    substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || '-' ||
    lower(hex(randomblob(6)))
WHERE uuid IS NULL;

CREATE UNIQUE INDEX customers_uuid ON customers (uuid);

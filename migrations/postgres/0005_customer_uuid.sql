-- Customers get a stable UUID (clients that name customers by UUID look them up with it)
-- and an optional company name. Mirrored in migrations/sqlite/0005_customer_uuid.sql.

ALTER TABLE customers ADD COLUMN uuid TEXT;
ALTER TABLE customers ADD COLUMN company_name TEXT;

-- Existing customers get a random (version 4) UUID; new ones get theirs from the core.
UPDATE customers SET uuid = gen_random_uuid()::text WHERE uuid IS NULL;

ALTER TABLE customers ALTER COLUMN uuid SET NOT NULL;
CREATE UNIQUE INDEX customers_uuid ON customers (uuid);

-- Write paths of billing runs.
--
-- A run lowers the balance of every customer it bills. With room left in each page the new
-- row version stays on the page and, as no indexed column changes, the customers' indexes
-- are not touched (a HOT update). Pages written from now on keep that room; an existing
-- table gets it with VACUUM FULL customers (or pg_repack) in a quiet hour.
ALTER TABLE customers SET (fillfactor = 85);

-- Most invoices and events belong to no reseller: index only those that do (queries by
-- reseller compare partner_id with a value, which implies it is not null).
DROP INDEX invoices_partner;
CREATE INDEX invoices_partner ON invoices (partner_id, id) WHERE partner_id IS NOT NULL;
DROP INDEX events_partner;
CREATE INDEX events_partner ON events (partner_id, id) WHERE partner_id IS NOT NULL;

-- A run writes an invoice's lines and charges before the invoice itself (which waits for
-- its number, taken last because the counter is held until commit): these two keys may be
-- checked at commit by a transaction that asks (SET CONSTRAINTS … DEFERRED); everything
-- else still checks them at once.
ALTER TABLE invoice_lines ALTER CONSTRAINT invoice_lines_invoice_id_fkey DEFERRABLE INITIALLY IMMEDIATE;
ALTER TABLE charges ALTER CONSTRAINT charges_invoice_id_fkey DEFERRABLE INITIALLY IMMEDIATE;

-- A run walks the customers with billed services in id order, and reads each batch's
-- services: both from this index alone.
CREATE INDEX services_billed ON services (customer_id, id) WHERE status IN ('active', 'suspended') AND deleted_at IS NULL;

-- Write paths of billing runs (PostgreSQL also leaves room in the customers' pages for
-- balance updates and lets a run check two foreign keys at commit, which SQLite does with
-- PRAGMA defer_foreign_keys).
--
-- Most invoices and events belong to no reseller: index only those that do (queries by
-- reseller compare partner_id with a value, which implies it is not null).
DROP INDEX invoices_partner;
CREATE INDEX invoices_partner ON invoices (partner_id, id) WHERE partner_id IS NOT NULL;
DROP INDEX events_partner;
CREATE INDEX events_partner ON events (partner_id, id) WHERE partner_id IS NOT NULL;

-- A run walks the customers with billed services in id order, and reads each batch's
-- services: both from this index alone.
CREATE INDEX services_billed ON services (customer_id, id) WHERE status IN ('active', 'suspended') AND deleted_at IS NULL;

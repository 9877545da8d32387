-- The directory customers reference: partners, organizations and user groups become
-- resources with a description (and contact details for partners), and names unique
-- among the live entries of one kind, ignoring case.
-- Mirrored in migrations/sqlite/0003_directory.sql; keep the two in step.

ALTER TABLE partners ADD COLUMN description TEXT;
ALTER TABLE partners ADD COLUMN contact_email TEXT;
ALTER TABLE partners ADD COLUMN contact_phone TEXT;
ALTER TABLE organizations ADD COLUMN description TEXT;
ALTER TABLE user_groups ADD COLUMN description TEXT;

-- The guarantee under concurrent creates; the core checks first for a good message.
CREATE UNIQUE INDEX partners_name_live ON partners (lower(name)) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX organizations_name_live ON organizations (lower(name)) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX user_groups_name_live ON user_groups (lower(name)) WHERE deleted_at IS NULL;

-- "Does a live customer still reference this?" before a delete.
CREATE INDEX customers_user_group ON customers (user_group_id) WHERE deleted_at IS NULL;

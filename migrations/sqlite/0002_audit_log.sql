-- The audit log, and the partner a (reseller) API key acts for.
-- Mirrored in migrations/postgres/0002_audit_log.sql; keep the two in step.

CREATE TABLE audit_log (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    occurred_at      TEXT NOT NULL,
    actor_user_id    BIGINT,
    actor_api_key_id BIGINT,
    actor_role       TEXT NOT NULL,
    action           TEXT NOT NULL,
    resource_type    TEXT NOT NULL,
    resource_id      TEXT NOT NULL,
    -- The changed fields before and after, as JSON objects; never secrets.
    before_values    TEXT,
    after_values     TEXT,
    reason           TEXT,
    request_id       TEXT NOT NULL DEFAULT '',
    client_address   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_time ON audit_log (occurred_at, id);
CREATE INDEX audit_log_resource ON audit_log (resource_type, resource_id);
CREATE INDEX audit_log_actor_user ON audit_log (actor_user_id);
CREATE INDEX audit_log_actor_key ON audit_log (actor_api_key_id);

-- Append-only, in the database too: no statement may change or remove an entry.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

ALTER TABLE api_keys ADD COLUMN partner_id BIGINT REFERENCES partners (id);

-- Idempotency records belong to a principal ("key:<id>" or "user:<id>"), not only to API
-- keys. Records live two days, so the table is recreated rather than converted.
DROP TABLE idempotency_records;
CREATE TABLE idempotency_records (
    subject         TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    operation       TEXT NOT NULL,
    request_digest  TEXT NOT NULL,
    response        BLOB NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (subject, idempotency_key)
);
CREATE INDEX idempotency_records_created ON idempotency_records (created_at);

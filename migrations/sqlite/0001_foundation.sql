-- Foundation: API keys, customers and what they reference, idempotency records.
-- Mirrored in migrations/postgres/0001_foundation.sql; keep the two in step.

CREATE TABLE api_keys (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL,
    description   TEXT,
    -- The first characters of the key, shown to operators and used to find the row.
    prefix        TEXT NOT NULL,
    -- SHA-256 of the whole key, hex. The key itself is never stored.
    key_digest    TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'billing', 'support', 'technician', 'reseller', 'read_only')),
    tier          TEXT NOT NULL DEFAULT 'standard' CHECK (tier IN ('standard', 'free', 'professional', 'enterprise')),
    owner_user_id BIGINT,
    expires_at    TEXT,
    revoked_at    TEXT,
    last_used_at  TEXT,
    created_at    TEXT NOT NULL
);
CREATE INDEX api_keys_prefix ON api_keys (prefix);

-- One-time start-up steps (e.g. the first admin key), claimed by insert so that several
-- processes starting together on one database perform each exactly once.
CREATE TABLE setup_steps (
    name       TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);

CREATE TABLE partners (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT
);

CREATE TABLE organizations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT
);

CREATE TABLE user_groups (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT
);

CREATE TABLE customers (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    portal_id            TEXT NOT NULL UNIQUE CHECK (length(portal_id) = 8),
    first_name           TEXT NOT NULL,
    last_name            TEXT,
    email                TEXT,
    phone                TEXT NOT NULL,
    portal_password_hash TEXT NOT NULL,
    street               TEXT NOT NULL DEFAULT '',
    city                 TEXT NOT NULL DEFAULT '',
    state                TEXT NOT NULL DEFAULT '',
    postal_code          TEXT NOT NULL DEFAULT '',
    country              TEXT NOT NULL DEFAULT '',
    billing_street       TEXT NOT NULL DEFAULT '',
    billing_city         TEXT NOT NULL DEFAULT '',
    billing_state        TEXT NOT NULL DEFAULT '',
    billing_postal_code  TEXT NOT NULL DEFAULT '',
    billing_country      TEXT NOT NULL DEFAULT '',
    user_group_id        BIGINT REFERENCES user_groups (id),
    partner_id           BIGINT REFERENCES partners (id),
    billing_method       TEXT CHECK (billing_method IN ('cycle', 'prorata')),
    billing_day          INTEGER CHECK (billing_day BETWEEN 1 AND 28),
    auto_suspension      BOOLEAN NOT NULL,
    suspend_after_days   INTEGER NOT NULL CHECK (suspend_after_days BETWEEN 0 AND 365),
    status               TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'terminated')),
    status_reason        TEXT,
    -- Money is integer minor units of `currency`.
    balance_minor        BIGINT NOT NULL DEFAULT 0,
    currency             TEXT NOT NULL CHECK (length(currency) = 3),
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    deleted_at           TEXT
);
-- Phone and e-mail are unique among live customers only: a deleted customer's number can
-- be given to a new subscriber. These indexes are the guarantee under concurrent creates.
CREATE UNIQUE INDEX customers_phone_live ON customers (phone) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX customers_email_live ON customers (email) WHERE deleted_at IS NULL AND email IS NOT NULL;
CREATE INDEX customers_live_created ON customers (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX customers_partner ON customers (partner_id) WHERE deleted_at IS NULL;
CREATE INDEX customers_status ON customers (status) WHERE deleted_at IS NULL;

CREATE TABLE customer_organizations (
    customer_id     BIGINT NOT NULL REFERENCES customers (id),
    organization_id BIGINT NOT NULL REFERENCES organizations (id),
    PRIMARY KEY (customer_id, organization_id)
);
CREATE INDEX customer_organizations_organization ON customer_organizations (organization_id);

-- The first answer to a POST made with an Idempotency-Key, written in the transaction of
-- the change itself, so the work and its record exist together or not at all.
CREATE TABLE idempotency_records (
    api_key_id      BIGINT NOT NULL REFERENCES api_keys (id),
    idempotency_key TEXT NOT NULL,
    operation       TEXT NOT NULL,
    request_digest  TEXT NOT NULL,
    response        BLOB NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (api_key_id, idempotency_key)
);
CREATE INDEX idempotency_records_created ON idempotency_records (created_at);

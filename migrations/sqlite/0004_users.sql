-- Staff users, their refresh tokens, and settings the core generates once (the token
-- signing secret). Mirrored in migrations/postgres/0004_users.sql; keep the two in step.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL,
    email         TEXT NOT NULL,
    -- The email lowercased: emails are unique ignoring case.
    email_key     TEXT NOT NULL,
    -- argon2id PHC string; never shown, never audited.
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'billing', 'support', 'technician', 'reseller', 'read_only')),
    partner_id    BIGINT REFERENCES partners (id),
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    deleted_at    TEXT,
    CHECK (role <> 'reseller' OR partner_id IS NOT NULL)
);
-- Deleted users keep their row (the audit log names them) but free their email.
CREATE UNIQUE INDEX users_email_key ON users (email_key) WHERE deleted_at IS NULL;

-- Refresh tokens: only the SHA-256 of each is stored. Every token of one login shares a
-- family, so a spent token presented again can revoke the whole chain.
CREATE TABLE refresh_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      BIGINT NOT NULL REFERENCES users (id),
    family_id    TEXT NOT NULL,
    token_digest TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    used_at      TEXT,
    revoked_at   TEXT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

-- Values the core generates once and keeps across restarts.
CREATE TABLE instance_settings (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE INDEX api_keys_owner ON api_keys (owner_user_id);

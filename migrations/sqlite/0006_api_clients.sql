-- API clients: credentials for the client-credentials flow. A client is an API key with a
-- public client_id (a UUID); its secret is stored like a key (SHA-256 digest) but is only
-- accepted in exchange for short-lived access tokens, never as a key. Mirrored in
-- migrations/postgres/0006_api_clients.sql.

ALTER TABLE api_keys ADD COLUMN client_id TEXT;
CREATE UNIQUE INDEX api_keys_client_id ON api_keys (client_id) WHERE client_id IS NOT NULL;

-- Access tokens issued to API clients: only the SHA-256 of each is stored.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    api_key_id   BIGINT NOT NULL REFERENCES api_keys (id),
    token_digest TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT
);
CREATE INDEX api_tokens_key ON api_tokens (api_key_id);
CREATE INDEX api_tokens_expires ON api_tokens (expires_at);

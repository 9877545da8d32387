-- Durable work: the job queue every core process works on, the outbox of events written in
-- the transaction of each change, and webhook endpoints with their deliveries. Mirrored in
-- migrations/postgres/0007_durable_work.sql.

-- One table for all background work. A job is claimed by setting status 'running' with a
-- lease; a lease that runs out (the worker died) makes it claimable again. 'failed' means
-- the last attempt failed and it runs again at run_at; 'dead' that it ran out of attempts.
-- A dedupe key is never shared (scheduler slots); jobs with one ordering key run one at a
-- time in id order.
CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT NOT NULL,
    payload          TEXT NOT NULL DEFAULT '{}',
    priority         INTEGER NOT NULL DEFAULT 0,
    status           TEXT NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 10,
    last_error       TEXT,
    run_at           TEXT NOT NULL,
    lease_owner      TEXT,
    lease_expires_at TEXT,
    dedupe_key       TEXT UNIQUE,
    ordering_key     TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    started_at       TEXT,
    finished_at      TEXT
);
CREATE INDEX jobs_due ON jobs (priority DESC, run_at, id) WHERE status IN ('queued', 'failed');
CREATE INDEX jobs_leased ON jobs (lease_expires_at) WHERE status = 'running';
CREATE INDEX jobs_ordering ON jobs (ordering_key, id)
    WHERE ordering_key IS NOT NULL AND status IN ('queued', 'running', 'failed');
CREATE INDEX jobs_kind_status ON jobs (kind, status);
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;

-- What a diagnostic probe job leaves behind: one row per completed run.
CREATE TABLE job_probe_runs (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id  BIGINT NOT NULL,
    label   TEXT NOT NULL,
    worker  TEXT NOT NULL,
    ran_at  TEXT NOT NULL
);
CREATE INDEX job_probe_runs_label ON job_probe_runs (label);

-- The outbox: one row per event, in commit order (ids are taken under a lock held until
-- commit on PostgreSQL; SQLite has one writer). data is the resource's REST JSON.
CREATE TABLE events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid          TEXT NOT NULL UNIQUE,
    type          TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    partner_id    BIGINT,
    data          TEXT NOT NULL,
    occurred_at   TEXT NOT NULL
);
CREATE INDEX events_partner ON events (partner_id, id);
CREATE INDEX events_occurred ON events (occurred_at);

-- Webhook endpoints. The secret signs deliveries; after a rotation the previous one signs
-- too until it expires.
CREATE TABLE webhook_endpoints (
    id                         INTEGER PRIMARY KEY AUTOINCREMENT,
    url                        TEXT NOT NULL,
    events                     TEXT NOT NULL,
    description                TEXT,
    active                     INTEGER NOT NULL DEFAULT 1,
    partner_id                 BIGINT REFERENCES partners (id),
    secret                     TEXT NOT NULL,
    previous_secret            TEXT,
    previous_secret_expires_at TEXT,
    disabled_reason            TEXT,
    failing_since              TEXT,
    created_at                 TEXT NOT NULL,
    updated_at                 TEXT NOT NULL
);
CREATE INDEX webhook_endpoints_active ON webhook_endpoints (active);

-- One event's delivery to one endpoint; payload is the exact body sent on every attempt.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id      BIGINT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'failed', 'dead', 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    response_status INTEGER,
    response_body   TEXT,
    duration_ms     BIGINT,
    last_error      TEXT,
    next_attempt_at TEXT,
    delivered_at    TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);

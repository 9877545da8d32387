-- Recurring billing: runs, the service periods they charged, and the adjustments (plan
-- changes, suspended and terminated days) waiting for the next invoice.
-- Mirrored in migrations/postgres/0011_billing_runs.sql.

-- What a plan credits: days its services spend suspended, and the unused days of a service
-- terminated within a charged period.
ALTER TABLE plans ADD COLUMN credit_suspended_days BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE plans ADD COLUMN credit_unused_days_on_termination BOOLEAN NOT NULL DEFAULT FALSE;

-- Billing runs. A real run is done by a durable job (job_id; a job that is retried after a
-- crash continues the same run) and adds each committed batch's counts and totals in that
-- batch's transaction, so the counts are exact whatever interrupts it. Dry runs keep their
-- preview's counts. No reference to jobs: finished jobs are purged, runs stay.
CREATE TABLE billing_runs (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    run_date           TEXT NOT NULL,
    dry_run            BOOLEAN NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
    run_trigger        TEXT NOT NULL CHECK (run_trigger IN ('api', 'schedule')),
    job_id             BIGINT UNIQUE,
    currency           TEXT NOT NULL CHECK (length(currency) = 3),
    customers_count    BIGINT NOT NULL DEFAULT 0,
    invoices_count     BIGINT NOT NULL DEFAULT 0,
    credit_notes_count BIGINT NOT NULL DEFAULT 0,
    lines_count        BIGINT NOT NULL DEFAULT 0,
    charges_count      BIGINT NOT NULL DEFAULT 0,
    skipped_count      BIGINT NOT NULL DEFAULT 0,
    subtotal_minor     BIGINT NOT NULL DEFAULT 0,
    tax_minor          BIGINT NOT NULL DEFAULT 0,
    total_minor        BIGINT NOT NULL DEFAULT 0,
    attempts           INTEGER NOT NULL DEFAULT 0,
    error              TEXT NOT NULL DEFAULT '',
    created_at         TEXT NOT NULL,
    started_at         TEXT,
    finished_at        TEXT,
    updated_at         TEXT NOT NULL
);

-- One row per service period charged, written in the transaction of the invoice that
-- charges it. UNIQUE (service_id, period_start) makes a second charge of the same period
-- impossible, whatever crashes, retries or concurrent runs happen. period_end is the day
-- after the last day charged (the next period's start); period_days the full period's days
-- (a first prorated charge is amount = fee × days / period_days).
CREATE TABLE charges (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    service_id   BIGINT NOT NULL REFERENCES services (id),
    customer_id  BIGINT NOT NULL REFERENCES customers (id),
    plan_id      BIGINT NOT NULL REFERENCES plans (id),
    period_start TEXT NOT NULL,
    period_end   TEXT NOT NULL,
    period_days  INTEGER NOT NULL CHECK (period_days > 0),
    fee_minor    BIGINT NOT NULL,
    amount_minor BIGINT NOT NULL,
    invoice_id   BIGINT NOT NULL REFERENCES invoices (id),
    run_id       BIGINT REFERENCES billing_runs (id),
    created_at   TEXT NOT NULL,
    UNIQUE (service_id, period_start),
    CHECK (period_end > period_start)
);
CREATE INDEX charges_service_end ON charges (service_id, period_end);
CREATE INDEX charges_invoice ON charges (invoice_id);

-- Credits and charges that events in a charged period owe (a plan change, days suspended,
-- days after a termination), written in the transaction of the change and carried by the
-- customer's next run invoice (invoice_id set in that invoice's transaction, once).
CREATE TABLE billing_adjustments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    service_id   BIGINT NOT NULL REFERENCES services (id),
    customer_id  BIGINT NOT NULL REFERENCES customers (id),
    charge_id    BIGINT NOT NULL REFERENCES charges (id),
    plan_id      BIGINT NOT NULL REFERENCES plans (id),
    kind         TEXT NOT NULL CHECK (kind IN ('plan_change_credit', 'plan_change_charge', 'suspension_credit', 'termination_credit')),
    description  TEXT NOT NULL,
    fee_minor    BIGINT NOT NULL,
    days         INTEGER NOT NULL CHECK (days > 0),
    period_days  INTEGER NOT NULL CHECK (period_days > 0),
    amount_minor BIGINT NOT NULL,
    first_day    TEXT NOT NULL,
    last_day     TEXT NOT NULL,
    invoice_id   BIGINT REFERENCES invoices (id),
    created_at   TEXT NOT NULL
);
CREATE INDEX billing_adjustments_pending ON billing_adjustments (customer_id) WHERE invoice_id IS NULL;

-- The day each suspended service's suspension began (for the plans that credit it).
CREATE TABLE billing_suspensions (
    service_id BIGINT PRIMARY KEY REFERENCES services (id),
    since      TEXT NOT NULL
);

-- Foreign keys into invoices that had no index: deleting a draft checks each of them, which
-- without one reads the whole table.
CREATE INDEX ledger_entries_invoice ON ledger_entries (invoice_id) WHERE invoice_id IS NOT NULL;
CREATE INDEX payments_invoice ON payments (invoice_id) WHERE invoice_id IS NOT NULL;
CREATE INDEX billing_adjustments_invoice ON billing_adjustments (invoice_id) WHERE invoice_id IS NOT NULL;

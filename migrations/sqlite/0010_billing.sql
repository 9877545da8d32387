-- Billing: tax rates, settings, invoices and credit notes with their lines, gapless
-- numbering, payments, their allocations, and each customer's append-only ledger.
-- Mirrored in migrations/postgres/0010_billing.sql.

-- Customers may be exempt from tax (with the certificate's reference, printed on invoices).
ALTER TABLE customers ADD COLUMN tax_exempt BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE customers ADD COLUMN tax_exempt_reference TEXT;
-- Set when dunning suspended the customer (and cleared by any status change), so that only
-- dunning's own suspensions are lifted when the customer pays.
ALTER TABLE customers ADD COLUMN dunning_suspended BOOLEAN NOT NULL DEFAULT FALSE;

-- Tax rates. Plans name a rate by its name (their tax class); among live active rates of
-- that name the customer's country and region pick one. Rates are in ten-thousandths of a
-- percent (16 % = 160000). Deleting is soft: issued lines name the rate.
CREATE TABLE tax_rates (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    rate        BIGINT NOT NULL CHECK (rate BETWEEN 0 AND 1000000),
    inclusive   BOOLEAN NOT NULL DEFAULT FALSE,
    country     TEXT NOT NULL DEFAULT '',
    region      TEXT NOT NULL DEFAULT '',
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    deleted_at  TEXT
);
CREATE UNIQUE INDEX tax_rates_jurisdiction ON tax_rates (lower(name), country, lower(region)) WHERE deleted_at IS NULL;

-- The deployment's billing settings: one row.
CREATE TABLE billing_settings (
    id                   INTEGER PRIMARY KEY CHECK (id = 1),
    company_name         TEXT NOT NULL DEFAULT '',
    company_address      TEXT NOT NULL DEFAULT '[]',
    company_tax_id       TEXT NOT NULL DEFAULT '',
    company_email        TEXT NOT NULL DEFAULT '',
    company_phone        TEXT NOT NULL DEFAULT '',
    payment_instructions TEXT NOT NULL DEFAULT '[]',
    invoice_prefix       TEXT NOT NULL DEFAULT 'INV',
    credit_note_prefix   TEXT NOT NULL DEFAULT 'CN',
    payment_terms_days   INTEGER NOT NULL DEFAULT 14 CHECK (payment_terms_days BETWEEN 0 AND 365),
    reminder_days        TEXT NOT NULL DEFAULT '[-3,0,7]',
    updated_at           TEXT
);
INSERT INTO billing_settings (id) VALUES (1);

-- The last number given per series (prefix) and year. Finalising takes the next one in its
-- own transaction, holding the row until it commits, so numbers have no gaps (a rollback
-- gives its number back) and no duplicates (the row lock orders the finalisations).
CREATE TABLE invoice_counters (
    series      TEXT NOT NULL,
    year        INTEGER NOT NULL,
    last_number BIGINT NOT NULL,
    PRIMARY KEY (series, year)
);

-- Invoices and credit notes. Amounts are minor units of currency. A draft has no number and
-- is not in the ledger; issuing gives it its number, its customer snapshot and its ledger
-- debit in one transaction, after which nothing but payment state changes. amount_paid is
-- what payments and applied credit covered, amount_credited what credit notes covered.
CREATE TABLE invoices (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    kind                 TEXT NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
    number               TEXT UNIQUE,
    series               TEXT,
    year                 INTEGER,
    sequence             BIGINT,
    status               TEXT NOT NULL CHECK (status IN ('draft', 'open', 'paid', 'void', 'uncollectible', 'issued')),
    invoice_type         TEXT NOT NULL,
    customer_id          BIGINT NOT NULL REFERENCES customers (id),
    partner_id           BIGINT REFERENCES partners (id),
    customer_name        TEXT NOT NULL DEFAULT '',
    customer_address     TEXT NOT NULL DEFAULT '[]',
    currency             TEXT NOT NULL CHECK (length(currency) = 3),
    issue_date           TEXT,
    due_date             TEXT,
    period_start         TEXT,
    period_end           TEXT,
    subtotal_minor       BIGINT NOT NULL DEFAULT 0,
    tax_minor            BIGINT NOT NULL DEFAULT 0,
    total_minor          BIGINT NOT NULL DEFAULT 0,
    paid_minor           BIGINT NOT NULL DEFAULT 0,
    credited_minor       BIGINT NOT NULL DEFAULT 0,
    unallocated_minor    BIGINT NOT NULL DEFAULT 0,
    credit_note_for      BIGINT REFERENCES invoices (id),
    tax_exempt           BOOLEAN NOT NULL DEFAULT FALSE,
    tax_exempt_reference TEXT NOT NULL DEFAULT '',
    notes                TEXT NOT NULL DEFAULT '',
    reason               TEXT NOT NULL DEFAULT '',
    created_at           TEXT NOT NULL,
    finalized_at         TEXT,
    paid_at              TEXT,
    voided_at            TEXT,
    updated_at           TEXT NOT NULL,
    UNIQUE (series, year, sequence),
    CHECK ((status = 'draft') = (number IS NULL)),
    CHECK (paid_minor >= 0 AND credited_minor >= 0 AND unallocated_minor >= 0)
);
CREATE INDEX invoices_customer ON invoices (customer_id, id);
CREATE INDEX invoices_partner ON invoices (partner_id, id);
CREATE INDEX invoices_unpaid ON invoices (customer_id, due_date, id) WHERE status IN ('open', 'uncollectible');
CREATE INDEX invoices_credit_note_for ON invoices (credit_note_for) WHERE credit_note_for IS NOT NULL;
CREATE INDEX invoices_unallocated ON invoices (customer_id, id) WHERE unallocated_minor > 0;

-- The lines, each with its own tax as issued (rate in ten-thousandths of a percent,
-- quantity in thousandths, proration factor in millionths).
CREATE TABLE invoice_lines (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    invoice_id       BIGINT NOT NULL REFERENCES invoices (id),
    position         INTEGER NOT NULL,
    kind             TEXT NOT NULL,
    service_id       BIGINT REFERENCES services (id),
    description      TEXT NOT NULL,
    quantity_milli   BIGINT NOT NULL,
    unit_minor       BIGINT NOT NULL,
    period_start     TEXT,
    period_end       TEXT,
    proration_micro  BIGINT NOT NULL,
    net_minor        BIGINT NOT NULL,
    tax_rate_id      BIGINT REFERENCES tax_rates (id),
    tax_name         TEXT NOT NULL DEFAULT '',
    tax_rate         BIGINT NOT NULL DEFAULT 0,
    tax_inclusive    BOOLEAN NOT NULL DEFAULT FALSE,
    tax_minor        BIGINT NOT NULL DEFAULT 0,
    UNIQUE (invoice_id, position)
);
CREATE INDEX invoice_lines_service ON invoice_lines (service_id) WHERE service_id IS NOT NULL;

-- Payments, refunds and reversals. (gateway, transaction_id) is unique, so a gateway's
-- retry finds the payment it already made. unallocated_minor is the customer's credit still
-- held by a payment; refunded_minor what refunds and reversals took back from it.
CREATE TABLE payments (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    kind              TEXT NOT NULL CHECK (kind IN ('payment', 'refund', 'reversal')),
    customer_id       BIGINT NOT NULL REFERENCES customers (id),
    partner_id        BIGINT REFERENCES partners (id),
    amount_minor      BIGINT NOT NULL CHECK (amount_minor > 0),
    currency          TEXT NOT NULL CHECK (length(currency) = 3),
    method            TEXT NOT NULL CHECK (method IN ('cash', 'bank_transfer', 'card', 'mobile_money', 'other')),
    gateway           TEXT NOT NULL DEFAULT '',
    transaction_id    TEXT,
    paid_at           TEXT NOT NULL,
    invoice_id        BIGINT REFERENCES invoices (id),
    refund_of         BIGINT REFERENCES payments (id),
    unallocated_minor BIGINT NOT NULL DEFAULT 0 CHECK (unallocated_minor >= 0),
    refunded_minor    BIGINT NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0),
    notes             TEXT NOT NULL DEFAULT '',
    created_at        TEXT NOT NULL,
    CHECK (refunded_minor <= amount_minor)
);
CREATE UNIQUE INDEX payments_transaction ON payments (gateway, transaction_id) WHERE transaction_id IS NOT NULL;
CREATE INDEX payments_customer ON payments (customer_id, id);
CREATE INDEX payments_partner ON payments (partner_id, id);
CREATE INDEX payments_unallocated ON payments (customer_id, id) WHERE unallocated_minor > 0;

-- What covered an invoice: a share of a payment or of a credit note. Refunds take shares
-- back by adding negative rows, so the history stays.
CREATE TABLE allocations (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    invoice_id     BIGINT NOT NULL REFERENCES invoices (id),
    payment_id     BIGINT REFERENCES payments (id),
    credit_note_id BIGINT REFERENCES invoices (id),
    amount_minor   BIGINT NOT NULL,
    created_at     TEXT NOT NULL,
    CHECK ((payment_id IS NULL) <> (credit_note_id IS NULL))
);
CREATE INDEX allocations_invoice ON allocations (invoice_id);
CREATE INDEX allocations_payment ON allocations (payment_id) WHERE payment_id IS NOT NULL;
CREATE INDEX allocations_credit_note ON allocations (credit_note_id) WHERE credit_note_id IS NOT NULL;

-- Each customer's ledger, append-only: an issued invoice is a debit; a payment, a credit
-- note or a voided invoice's reversal a credit; a refund or reversal a debit. balance_minor
-- is the balance after the entry (positive: credit) and equals customers.balance_minor for
-- the customer's last entry; both change in the entry's transaction under the customer's row.
CREATE TABLE ledger_entries (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id   BIGINT NOT NULL REFERENCES customers (id),
    kind          TEXT NOT NULL CHECK (kind IN ('invoice', 'credit_note', 'payment', 'refund', 'reversal', 'invoice_voided')),
    description   TEXT NOT NULL,
    invoice_id    BIGINT REFERENCES invoices (id),
    payment_id    BIGINT REFERENCES payments (id),
    debit_minor   BIGINT NOT NULL DEFAULT 0 CHECK (debit_minor >= 0),
    credit_minor  BIGINT NOT NULL DEFAULT 0 CHECK (credit_minor >= 0),
    balance_minor BIGINT NOT NULL,
    currency      TEXT NOT NULL,
    occurred_at   TEXT NOT NULL
);
-- Dunning reminders sent, once per invoice and day offset from its due date.
CREATE TABLE invoice_reminders (
    invoice_id  BIGINT NOT NULL REFERENCES invoices (id),
    offset_days INTEGER NOT NULL,
    sent_at     TEXT NOT NULL,
    PRIMARY KEY (invoice_id, offset_days)
);

CREATE INDEX ledger_entries_customer ON ledger_entries (customer_id, occurred_at, id);

-- Support tickets and their SLA. Mirrored in migrations/postgres/0009_tickets.sql.

-- SLA policies: the targets (in business minutes of the calendar, NULL = 24×7) of the
-- tickets of one priority, optionally only of a customer group or of a plan's services.
-- One live policy per (priority, group, plan); deleting is soft, as tickets name them.
CREATE TABLE sla_policies (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    name                    TEXT NOT NULL,
    priority                TEXT NOT NULL CHECK (priority IN ('critical', 'high', 'normal', 'low')),
    user_group_id           BIGINT REFERENCES user_groups (id),
    plan_id                 BIGINT REFERENCES plans (id),
    first_response_minutes  INTEGER NOT NULL CHECK (first_response_minutes > 0),
    resolution_minutes      INTEGER NOT NULL CHECK (resolution_minutes >= first_response_minutes),
    calendar                TEXT,
    pause_while_waiting     BOOLEAN NOT NULL DEFAULT TRUE,
    warning_percent         INTEGER NOT NULL DEFAULT 80 CHECK (warning_percent BETWEEN 1 AND 99),
    escalate_to_priority    TEXT CHECK (escalate_to_priority IN ('critical', 'high', 'normal', 'low')),
    escalate_to_team_id     BIGINT REFERENCES user_groups (id),
    active                  BOOLEAN NOT NULL DEFAULT TRUE,
    created_at              TEXT NOT NULL,
    updated_at              TEXT NOT NULL,
    deleted_at              TEXT
);
CREATE UNIQUE INDEX sla_policies_name ON sla_policies (lower(name)) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX sla_policies_scope ON sla_policies
    (priority, COALESCE(user_group_id, 0), COALESCE(plan_id, 0)) WHERE deleted_at IS NULL;

-- Tickets. A ticket keeps what its policy said when it got it (targets, calendar, pause
-- rule, warning threshold), so editing a policy never moves the due times of tickets
-- already open. Due and warning times are computed when something happens to the ticket
-- (opened, paused, resumed, priority changed), never ticked: the breach check is a query
-- over them. paused_since is set while the clocks stand (waiting on the customer under a
-- pausing policy, or resolved); paused_micros holds the business time of every pause so
-- far, in microseconds. *_breached_at and *_warned_at record each report once per ticket and target.
-- first_response_seconds and resolution_seconds are the wall-clock times from opening,
-- kept so that both engines average them with the same SQL.
CREATE TABLE tickets (
    id                          INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id                 BIGINT NOT NULL REFERENCES customers (id),
    partner_id                  BIGINT REFERENCES partners (id),
    service_id                  BIGINT REFERENCES services (id),
    subject                     TEXT NOT NULL,
    description                 TEXT NOT NULL DEFAULT '',
    category                    TEXT NOT NULL CHECK (category IN ('outage', 'billing', 'installation', 'technical', 'other')),
    priority                    TEXT NOT NULL CHECK (priority IN ('critical', 'high', 'normal', 'low')),
    status                      TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'waiting_on_customer', 'resolved', 'closed')),
    source                      TEXT NOT NULL CHECK (source IN ('api', 'email', 'phone', 'portal')),
    assignee_id                 BIGINT REFERENCES users (id),
    team_id                     BIGINT REFERENCES user_groups (id),
    sla_policy_id               BIGINT REFERENCES sla_policies (id),
    first_response_minutes      INTEGER,
    resolution_minutes          INTEGER,
    sla_calendar                TEXT,
    pause_while_waiting         BOOLEAN NOT NULL DEFAULT TRUE,
    warning_percent             INTEGER NOT NULL DEFAULT 80,
    first_response_due_at       TEXT,
    resolution_due_at           TEXT,
    first_response_warn_at      TEXT,
    resolution_warn_at          TEXT,
    paused_since                TEXT,
    paused_micros               BIGINT NOT NULL DEFAULT 0,
    first_response_at           TEXT,
    first_response_seconds      BIGINT,
    resolved_at                 TEXT,
    resolution_seconds          BIGINT,
    closed_at                   TEXT,
    first_response_breached_at  TEXT,
    resolution_breached_at      TEXT,
    first_response_warned_at    TEXT,
    resolution_warned_at        TEXT,
    escalated_at                TEXT,
    escalation_level            INTEGER NOT NULL DEFAULT 0,
    comments_count              BIGINT NOT NULL DEFAULT 0,
    created_at                  TEXT NOT NULL,
    updated_at                  TEXT NOT NULL,
    deleted_at                  TEXT
);
CREATE INDEX tickets_customer ON tickets (customer_id, id);
CREATE INDEX tickets_partner ON tickets (partner_id, id);
CREATE INDEX tickets_created ON tickets (created_at);
-- The breach check reads only the tickets whose target is still running.
CREATE INDEX tickets_first_response_due ON tickets (first_response_due_at)
    WHERE first_response_at IS NULL AND first_response_breached_at IS NULL AND deleted_at IS NULL;
CREATE INDEX tickets_resolution_due ON tickets (resolution_due_at)
    WHERE resolved_at IS NULL AND resolution_breached_at IS NULL AND deleted_at IS NULL;
CREATE INDEX tickets_first_response_warn ON tickets (first_response_warn_at)
    WHERE first_response_at IS NULL AND first_response_warned_at IS NULL AND deleted_at IS NULL;
CREATE INDEX tickets_resolution_warn ON tickets (resolution_warn_at)
    WHERE resolved_at IS NULL AND resolution_warned_at IS NULL AND deleted_at IS NULL;

-- Replies the customer sees (public) and internal notes, in order.
CREATE TABLE ticket_comments (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id      BIGINT NOT NULL REFERENCES tickets (id),
    body           TEXT NOT NULL,
    public         BOOLEAN NOT NULL,
    from_customer  BOOLEAN NOT NULL,
    author         TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE INDEX ticket_comments_ticket ON ticket_comments (ticket_id, id);

-- Network: routers (NAS), IP pools, plans, services, and the FreeRADIUS tables that
-- describe them, in one database so that billing and the network cannot drift apart.
-- Mirrored in migrations/postgres/0008_network.sql.

-- Routers (NAS) and the FreeRADIUS `nas` table they are mirrored into: a router's row and
-- its `nas` row (same id) change in one transaction.
CREATE TABLE routers (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    ip_address  TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL CHECK (kind IN ('mikrotik', 'cisco', 'ubiquiti', 'other')),
    secret      TEXT NOT NULL,
    coa_port    INTEGER NOT NULL DEFAULT 3799 CHECK (coa_port BETWEEN 1 AND 65535),
    location    TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- IP pools: static pools hand out addresses (one row per address ever assigned); dynamic
-- pools name a pool on the NAS (`Framed-Pool`). excluded is a JSON array of addresses.
-- usage_high is set by the allocation that brings a static pool to 90 % used (which
-- raises `ip_pool.usage_high`) and cleared once it is below again, so each crossing
-- raises the alert once.
CREATE TABLE ip_pools (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    cidr        TEXT NOT NULL,
    gateway     TEXT,
    router_id   BIGINT REFERENCES routers (id),
    kind        TEXT NOT NULL CHECK (kind IN ('static', 'dynamic')),
    excluded    TEXT NOT NULL DEFAULT '[]',
    usage_high  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- One row per address of a static pool that was ever assigned. service_id is set while it is
-- assigned; released_at starts its quarantine. The unique keys make a double assignment
-- impossible under any concurrency: one row per address, one address per service.
CREATE TABLE ip_assignments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    pool_id     BIGINT NOT NULL REFERENCES ip_pools (id),
    address     TEXT NOT NULL,
    service_id  BIGINT,
    assigned_at TEXT,
    released_at TEXT,
    UNIQUE (pool_id, address)
);
CREATE UNIQUE INDEX ip_assignments_service ON ip_assignments (service_id) WHERE service_id IS NOT NULL;

-- Plans: what is sold. Speeds in kbit/s, data cap in MB (NULL = unlimited), money in minor
-- units of currency. Each plan is the RADIUS group `plan-<id>`. Deleting is soft (terminated
-- services still name the plan), so names are unique among live plans only, ignoring case.
CREATE TABLE plans (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    name                   TEXT NOT NULL,
    service_type           TEXT NOT NULL DEFAULT 'internet' CHECK (service_type IN ('internet')),
    download_kbps          BIGINT NOT NULL CHECK (download_kbps > 0),
    upload_kbps            BIGINT NOT NULL CHECK (upload_kbps > 0),
    burst_download_kbps    BIGINT,
    burst_upload_kbps      BIGINT,
    burst_threshold_download_kbps BIGINT,
    burst_threshold_upload_kbps   BIGINT,
    burst_time_seconds     INTEGER,
    data_limit_mb          BIGINT CHECK (data_limit_mb IS NULL OR data_limit_mb > 0),
    cap_policy             TEXT NOT NULL DEFAULT 'none' CHECK (cap_policy IN ('none', 'throttle', 'suspend')),
    throttle_download_kbps BIGINT,
    throttle_upload_kbps   BIGINT,
    monthly_fee_minor      BIGINT NOT NULL CHECK (monthly_fee_minor >= 0),
    activation_fee_minor   BIGINT NOT NULL DEFAULT 0 CHECK (activation_fee_minor >= 0),
    currency               TEXT NOT NULL CHECK (length(currency) = 3),
    billing_period_months  INTEGER NOT NULL DEFAULT 1 CHECK (billing_period_months IN (1, 3, 6, 12)),
    tax_class              TEXT,
    ip_pool_id             BIGINT REFERENCES ip_pools (id),
    radius_attributes      TEXT NOT NULL DEFAULT '[]',
    status                 TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL,
    deleted_at             TEXT,
    -- A burst is whole or absent; throttle speeds exist exactly under the throttle policy;
    -- a policy other than none needs a limit to act on.
    CHECK ((burst_download_kbps IS NULL) = (burst_upload_kbps IS NULL)
       AND (burst_download_kbps IS NULL) = (burst_threshold_download_kbps IS NULL)
       AND (burst_download_kbps IS NULL) = (burst_threshold_upload_kbps IS NULL)
       AND (burst_download_kbps IS NULL) = (burst_time_seconds IS NULL)),
    CHECK ((cap_policy = 'throttle') = (throttle_download_kbps IS NOT NULL AND throttle_upload_kbps IS NOT NULL)),
    CHECK (cap_policy = 'none' OR data_limit_mb IS NOT NULL)
);
CREATE UNIQUE INDEX plans_live_name ON plans (lower(name)) WHERE deleted_at IS NULL;
CREATE INDEX plans_pool ON plans (ip_pool_id) WHERE deleted_at IS NULL;

-- Services: a customer's subscription to a plan, and its PPPoE/hotspot credentials. The
-- username is the RADIUS User-Name; suspended_with_customer marks the services a customer
-- suspension suspended, so that reactivating the customer restores exactly those.
CREATE TABLE services (
    id                       INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id              BIGINT NOT NULL REFERENCES customers (id),
    partner_id               BIGINT REFERENCES partners (id),
    plan_id                  BIGINT NOT NULL REFERENCES plans (id),
    status                   TEXT NOT NULL CHECK (status IN ('pending_activation', 'active', 'suspended', 'terminated')),
    status_reason            TEXT,
    suspended_with_customer  BOOLEAN NOT NULL DEFAULT FALSE,
    download_kbps            BIGINT,
    upload_kbps              BIGINT,
    data_limit_mb            BIGINT,
    installation_address     TEXT,
    scheduled_activation     TEXT,
    notes                    TEXT,
    username                 TEXT NOT NULL,
    password                 TEXT NOT NULL,
    mac                      TEXT,
    expiration               TEXT,
    router_id                BIGINT REFERENCES routers (id),
    vlan_id                  INTEGER,
    ip_pool_id               BIGINT REFERENCES ip_pools (id),
    ip_address               TEXT,
    pending_plan_id          BIGINT REFERENCES plans (id),
    pending_plan_at          TEXT,
    activated_at             TEXT,
    terminated_at            TEXT,
    created_at               TEXT NOT NULL,
    updated_at               TEXT NOT NULL,
    deleted_at               TEXT
);
-- A login names one live service: FreeRADIUS finds rows by username alone.
CREATE UNIQUE INDEX services_username_live ON services (username) WHERE deleted_at IS NULL;
CREATE INDEX services_customer ON services (customer_id);
CREATE INDEX services_plan ON services (plan_id) WHERE status <> 'terminated';
CREATE INDEX services_status ON services (status);
CREATE INDEX services_partner ON services (partner_id);
CREATE INDEX services_scheduled ON services (scheduled_activation) WHERE status = 'pending_activation';

-- The FreeRADIUS 3 tables (rlm_sql's standard schema), read by FreeRADIUS on every request.
-- Lastmile writes the check/reply/group rows in the transaction of the service or plan
-- they describe; FreeRADIUS writes radacct. Indexes cover the authorize and session
-- queries (username, groupname) and the open-session lookups.
CREATE TABLE radcheck (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    username  TEXT NOT NULL DEFAULT '',
    attribute TEXT NOT NULL DEFAULT '',
    op        VARCHAR(2) NOT NULL DEFAULT '==',
    value     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX radcheck_username ON radcheck (username, attribute);
CREATE TABLE radreply (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    username  TEXT NOT NULL DEFAULT '',
    attribute TEXT NOT NULL DEFAULT '',
    op        VARCHAR(2) NOT NULL DEFAULT '=',
    value     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX radreply_username ON radreply (username, attribute);
CREATE TABLE radgroupcheck (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    groupname TEXT NOT NULL DEFAULT '',
    attribute TEXT NOT NULL DEFAULT '',
    op        VARCHAR(2) NOT NULL DEFAULT '==',
    value     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX radgroupcheck_groupname ON radgroupcheck (groupname, attribute);
CREATE TABLE radgroupreply (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    groupname TEXT NOT NULL DEFAULT '',
    attribute TEXT NOT NULL DEFAULT '',
    op        VARCHAR(2) NOT NULL DEFAULT '=',
    value     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX radgroupreply_groupname ON radgroupreply (groupname, attribute);
CREATE TABLE radusergroup (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    username  TEXT NOT NULL DEFAULT '',
    groupname TEXT NOT NULL DEFAULT '',
    priority  INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX radusergroup_username ON radusergroup (username);

-- FreeRADIUS writes the acct times here as epoch seconds (INTEGER), whatever the type says.
CREATE TABLE radacct (
    radacctid           INTEGER PRIMARY KEY AUTOINCREMENT,
    acctsessionid       VARCHAR(64) NOT NULL DEFAULT '',
    acctuniqueid        VARCHAR(32) NOT NULL DEFAULT '',
    username            VARCHAR(64) NOT NULL DEFAULT '',
    realm               VARCHAR(64) DEFAULT '',
    nasipaddress        VARCHAR(15) NOT NULL DEFAULT '',
    nasportid           VARCHAR(32) DEFAULT NULL,
    nasporttype         VARCHAR(32) DEFAULT NULL,
    acctstarttime       DATETIME NULL DEFAULT NULL,
    acctupdatetime      DATETIME NULL DEFAULT NULL,
    acctstoptime        DATETIME NULL DEFAULT NULL,
    acctinterval        INTEGER DEFAULT NULL,
    acctsessiontime     INTEGER DEFAULT NULL,
    acctauthentic       VARCHAR(32) DEFAULT NULL,
    connectinfo_start   VARCHAR(128) DEFAULT NULL,
    connectinfo_stop    VARCHAR(128) DEFAULT NULL,
    acctinputoctets     BIGINT DEFAULT NULL,
    acctoutputoctets    BIGINT DEFAULT NULL,
    calledstationid     VARCHAR(50) NOT NULL DEFAULT '',
    callingstationid    VARCHAR(50) NOT NULL DEFAULT '',
    acctterminatecause  VARCHAR(32) NOT NULL DEFAULT '',
    servicetype         VARCHAR(32) DEFAULT NULL,
    framedprotocol      VARCHAR(32) DEFAULT NULL,
    framedipaddress     VARCHAR(15) NOT NULL DEFAULT '',
    framedipv6address   VARCHAR(45) NOT NULL DEFAULT '',
    framedipv6prefix    VARCHAR(45) NOT NULL DEFAULT '',
    framedinterfaceid   VARCHAR(44) NOT NULL DEFAULT '',
    delegatedipv6prefix VARCHAR(45) NOT NULL DEFAULT '',
    class               VARCHAR(64) DEFAULT NULL
);
CREATE UNIQUE INDEX radacct_acctuniqueid ON radacct (acctuniqueid);
CREATE INDEX radacct_active_user ON radacct (username) WHERE acctstoptime IS NULL;
CREATE INDEX radacct_bulk_close ON radacct (nasipaddress, acctstarttime) WHERE acctstoptime IS NULL;
CREATE INDEX radacct_acctsessionid ON radacct (acctsessionid);
CREATE INDEX radacct_start_user ON radacct (acctstarttime, username);
CREATE INDEX radacct_class ON radacct (class);

CREATE TABLE radpostauth (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    username VARCHAR(64) NOT NULL DEFAULT '',
    pass     VARCHAR(64) NOT NULL DEFAULT '',
    reply    VARCHAR(32) NOT NULL DEFAULT '',
    authdate TIMESTAMP NOT NULL,
    class    VARCHAR(64) DEFAULT NULL
);

CREATE TABLE nas (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    nasname     VARCHAR(128) NOT NULL,
    shortname   VARCHAR(32),
    type        VARCHAR(30) DEFAULT 'other',
    ports       INTEGER,
    secret      VARCHAR(60) DEFAULT 'secret' NOT NULL,
    server      VARCHAR(64),
    community   VARCHAR(50),
    description VARCHAR(200) DEFAULT 'RADIUS Client'
);
CREATE INDEX nas_nasname ON nas (nasname);

-- Read by Simultaneous-Use's session count: sessions older than a NAS reload do not count.
CREATE TABLE nasreload (
    nasipaddress VARCHAR(15) PRIMARY KEY,
    reloadtime   DATETIME NOT NULL
);

-- What a job's last attempt came to, in its handler's words (a NAS's ACK, or its NAK and
-- Error-Cause), kept for operators beside last_error.
ALTER TABLE jobs ADD COLUMN result TEXT;

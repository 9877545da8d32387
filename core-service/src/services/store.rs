//! Service SQL, one text for both engines.

use chrono::{DateTime, Utc};

use super::input::Checked;
use super::{Service, ServiceStatus};
use crate::db::Conn;
use crate::error::Result;
use crate::on_conn;

const COLUMNS: &str = "s.id, s.customer_id, s.partner_id, s.plan_id, p.name AS plan_name, \
     p.download_kbps AS plan_download_kbps, p.upload_kbps AS plan_upload_kbps, s.status, \
     s.status_reason, s.suspended_with_customer, s.download_kbps, s.upload_kbps, \
     s.data_limit_mb, s.installation_address, s.scheduled_activation, s.notes, s.username, \
     s.password, s.mac, s.expiration, s.router_id, s.vlan_id, s.ip_pool_id, s.ip_address, \
     s.pending_plan_id, s.activated_at, s.terminated_at, s.created_at, s.updated_at";

const FROM: &str = "FROM services s JOIN plans p ON p.id = s.plan_id";

#[derive(Debug, sqlx::FromRow)]
struct Row {
    id: i64,
    customer_id: i64,
    partner_id: Option<i64>,
    plan_id: i64,
    plan_name: String,
    plan_download_kbps: i64,
    plan_upload_kbps: i64,
    status: String,
    status_reason: Option<String>,
    suspended_with_customer: bool,
    download_kbps: Option<i64>,
    upload_kbps: Option<i64>,
    data_limit_mb: Option<i64>,
    installation_address: Option<String>,
    scheduled_activation: Option<DateTime<Utc>>,
    notes: Option<String>,
    username: String,
    password: String,
    mac: Option<String>,
    expiration: Option<DateTime<Utc>>,
    router_id: Option<i64>,
    vlan_id: Option<i32>,
    ip_pool_id: Option<i64>,
    ip_address: Option<String>,
    pending_plan_id: Option<i64>,
    activated_at: Option<DateTime<Utc>>,
    terminated_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<Row> for Service {
    type Error = crate::error::Error;

    fn try_from(r: Row) -> Result<Self> {
        let status = ServiceStatus::parse(&r.status)
            .ok_or_else(|| anyhow::anyhow!("service {} has status {:?}", r.id, r.status))?;
        Ok(Service {
            id: r.id,
            customer_id: r.customer_id,
            partner_id: r.partner_id,
            plan_id: r.plan_id,
            plan_name: r.plan_name,
            plan_download_kbps: r.plan_download_kbps,
            plan_upload_kbps: r.plan_upload_kbps,
            status,
            status_reason: r.status_reason,
            suspended_with_customer: r.suspended_with_customer,
            download_kbps: r.download_kbps,
            upload_kbps: r.upload_kbps,
            data_limit_mb: r.data_limit_mb,
            installation_address: r.installation_address,
            scheduled_activation: r.scheduled_activation,
            notes: r.notes,
            username: r.username,
            password: r.password,
            mac: r.mac,
            expiration: r.expiration,
            router_id: r.router_id,
            vlan_id: r.vlan_id,
            ip_pool_id: r.ip_pool_id,
            ip_address: r.ip_address,
            pending_plan_id: r.pending_plan_id,
            activated_at: r.activated_at,
            terminated_at: r.terminated_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

fn services(rows: Vec<Row>) -> Result<Vec<Service>> {
    rows.into_iter().map(Service::try_from).collect()
}

/// The service `id`, if `partner` (a reseller's restriction) may see it.
pub(super) async fn find(
    conn: &mut Conn<'_>,
    id: i64,
    partner: Option<i64>,
) -> Result<Option<Service>> {
    let sql = format!(
        "SELECT {COLUMNS} {FROM} WHERE s.id = $1 AND s.deleted_at IS NULL \
         AND ($2 IS NULL OR s.partner_id = $2)"
    );
    let row: Option<Row> = on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(partner)
        .fetch_optional(c)
        .await)?;
    row.map(Service::try_from).transpose()
}

/// The service whose login is `username`.
pub(super) async fn find_by_username(
    conn: &mut Conn<'_>,
    username: &str,
    partner: Option<i64>,
) -> Result<Option<Service>> {
    let sql = format!(
        "SELECT {COLUMNS} {FROM} WHERE s.username = $1 AND s.deleted_at IS NULL \
         AND ($2 IS NULL OR s.partner_id = $2)"
    );
    let row: Option<Row> = on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(username)
        .bind(partner)
        .fetch_optional(c)
        .await)?;
    row.map(Service::try_from).transpose()
}

/// What a list asks for.
#[derive(Debug, Clone, Default)]
pub(super) struct Filter {
    pub partner: Option<i64>,
    pub customer_id: Option<i64>,
    pub status: Option<ServiceStatus>,
    pub plan_id: Option<i64>,
    pub router_id: Option<i64>,
    pub search: Option<String>,
}

/// A page of services, newest first, and the total.
pub(super) async fn list(
    conn: &mut Conn<'_>,
    filter: &Filter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Service>, i64)> {
    let search = filter
        .search
        .as_ref()
        .map(|s| format!("%{}%", s.to_lowercase().replace(['%', '_'], "")));
    let status = filter.status.map(ServiceStatus::as_str);
    let filters = "s.deleted_at IS NULL AND ($1 IS NULL OR s.partner_id = $1) AND ($2 IS NULL OR s.customer_id = $2) \
         AND ($3 IS NULL OR s.status = $3) AND ($4 IS NULL OR s.plan_id = $4) \
         AND ($5 IS NULL OR s.router_id = $5) AND ($6 IS NULL OR lower(s.username) LIKE $6)";
    let sql =
        format!("SELECT {COLUMNS} {FROM} WHERE {filters} ORDER BY s.id DESC LIMIT $7 OFFSET $8");
    let rows: Vec<Row> = on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(filter.partner)
        .bind(filter.customer_id)
        .bind(status)
        .bind(filter.plan_id)
        .bind(filter.router_id)
        .bind(search.as_deref())
        .bind(limit)
        .bind(offset)
        .fetch_all(c)
        .await)?;
    let count = format!("SELECT COUNT(*) FROM services s WHERE {filters}");
    let total: i64 = on_conn!(conn, c => sqlx::query_scalar(sqlx::AssertSqlSafe(count))
        .bind(filter.partner)
        .bind(filter.customer_id)
        .bind(status)
        .bind(filter.plan_id)
        .bind(filter.router_id)
        .bind(search.as_deref())
        .fetch_one(c)
        .await)?;
    Ok((services(rows)?, total))
}

/// Every service of `customer_id` not yet terminated, oldest first; on PostgreSQL their
/// rows are locked at once, so that the cascade holds every row it changes before it
/// writes its first event (whose commit-order lock must come after any row lock).
pub(super) async fn of_customer(conn: &mut Conn<'_>, customer_id: i64) -> Result<Vec<Service>> {
    let lock = if conn.is_postgres() {
        " FOR UPDATE OF s"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {COLUMNS} {FROM} WHERE s.customer_id = $1 AND s.status <> 'terminated' AND s.deleted_at IS NULL \
         ORDER BY s.id{lock}"
    );
    let rows: Vec<Row> = on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(customer_id)
        .fetch_all(c)
        .await)?;
    services(rows)
}

/// Every service, a batch at a time in id order (for the drift report).
pub(crate) async fn batch_after(
    conn: &mut Conn<'_>,
    after_id: i64,
    limit: i64,
) -> Result<Vec<Service>> {
    let sql = format!(
        "SELECT {COLUMNS} {FROM} WHERE s.id > $1 AND s.deleted_at IS NULL ORDER BY s.id LIMIT $2"
    );
    let rows: Vec<Row> = on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(after_id)
        .bind(limit)
        .fetch_all(c)
        .await)?;
    services(rows)
}

/// Pending services whose activation time has come.
pub(super) async fn due_activations(conn: &mut Conn<'_>, now: DateTime<Utc>) -> Result<Vec<i64>> {
    Ok(on_conn!(conn, c => sqlx::query_scalar(
        "SELECT id FROM services WHERE status = 'pending_activation' AND deleted_at IS NULL \
         AND scheduled_activation IS NOT NULL AND scheduled_activation <= $1 ORDER BY id LIMIT 500")
        .bind(now)
        .fetch_all(c)
        .await)?)
}

/// What a new service is made of.
pub(super) struct NewService<'a> {
    pub customer_id: i64,
    pub partner_id: Option<i64>,
    pub status: ServiceStatus,
    pub suspended_with_customer: bool,
    pub values: &'a Checked,
    pub username: &'a str,
    pub password: &'a str,
}

pub(super) async fn insert(
    conn: &mut Conn<'_>,
    new: &NewService<'_>,
    now: DateTime<Utc>,
) -> Result<i64> {
    let v = new.values;
    let activated_at = (new.status == ServiceStatus::Active).then_some(now);
    Ok(on_conn!(conn, c => sqlx::query_scalar(
        "INSERT INTO services (customer_id, partner_id, plan_id, status, suspended_with_customer, \
         download_kbps, upload_kbps, data_limit_mb, installation_address, scheduled_activation, \
         notes, username, password, mac, expiration, router_id, vlan_id, ip_pool_id, \
         activated_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19, $20, $20) RETURNING id")
        .bind(new.customer_id)
        .bind(new.partner_id)
        .bind(v.plan_id)
        .bind(new.status.as_str())
        .bind(new.suspended_with_customer)
        .bind(v.download_kbps)
        .bind(v.upload_kbps)
        .bind(v.data_limit_mb)
        .bind(v.installation_address.as_deref())
        .bind(v.scheduled_activation)
        .bind(v.notes.as_deref())
        .bind(new.username)
        .bind(new.password)
        .bind(v.mac.as_deref())
        .bind(v.expiration)
        .bind(v.router_id)
        .bind(v.vlan_id)
        .bind(v.ip_pool_id)
        .bind(activated_at)
        .bind(now)
        .fetch_one(c)
        .await)?)
}

/// Writes every writable field of `values` (credentials included).
pub(super) async fn update(
    conn: &mut Conn<'_>,
    id: i64,
    v: &Checked,
    now: DateTime<Utc>,
) -> Result<()> {
    on_conn!(conn, c => sqlx::query(
        "UPDATE services SET download_kbps = $2, upload_kbps = $3, data_limit_mb = $4, \
         installation_address = $5, scheduled_activation = $6, notes = $7, username = $8, \
         password = $9, mac = $10, expiration = $11, router_id = $12, vlan_id = $13, \
         ip_pool_id = $14, updated_at = $15 WHERE id = $1")
        .bind(id)
        .bind(v.download_kbps)
        .bind(v.upload_kbps)
        .bind(v.data_limit_mb)
        .bind(v.installation_address.as_deref())
        .bind(v.scheduled_activation)
        .bind(v.notes.as_deref())
        .bind(v.username.as_deref())
        .bind(v.password.as_deref())
        .bind(v.mac.as_deref())
        .bind(v.expiration)
        .bind(v.router_id)
        .bind(v.vlan_id)
        .bind(v.ip_pool_id)
        .bind(now)
        .execute(c).await.map(|d| d.rows_affected()))?;
    Ok(())
}

/// Sets the static address (or clears it).
pub(super) async fn set_address(
    conn: &mut Conn<'_>,
    id: i64,
    pool_id: Option<i64>,
    address: Option<&str>,
) -> Result<()> {
    on_conn!(conn, c => sqlx::query(
        "UPDATE services SET ip_pool_id = $2, ip_address = $3 WHERE id = $1")
        .bind(id)
        .bind(pool_id)
        .bind(address)
        .execute(c).await.map(|d| d.rows_affected()))?;
    Ok(())
}

/// A life-cycle move: the state, its reason, whether the customer's suspension made it,
/// and the activation or termination time.
pub(super) async fn set_status(
    conn: &mut Conn<'_>,
    id: i64,
    status: ServiceStatus,
    reason: Option<&str>,
    with_customer: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    let before: Option<(String, i64, i64)> = on_conn!(conn, c => sqlx::query_as(
        "SELECT status, customer_id, plan_id FROM services WHERE id = $1")
        .bind(id).fetch_optional(c).await)?;
    on_conn!(conn, c => sqlx::query(
        "UPDATE services SET status = $2, status_reason = $3, suspended_with_customer = $4, \
         activated_at = CASE WHEN $2 = 'active' AND activated_at IS NULL THEN $5 ELSE activated_at END, \
         terminated_at = CASE WHEN $2 = 'terminated' THEN $5 ELSE terminated_at END, \
         updated_at = $5 WHERE id = $1")
        .bind(id)
        .bind(status.as_str())
        .bind(reason)
        .bind(with_customer)
        .bind(now)
        .execute(c).await.map(|d| d.rows_affected()))?;
    // What billing owes for the move (days suspended, days after a termination).
    if let Some((from, customer_id, plan_id)) = before {
        crate::billing::adjustments::status_changed(
            conn,
            (id, customer_id, plan_id),
            &from,
            status.as_str(),
            now,
        )
        .await?;
    }
    Ok(())
}

/// Moves the service to `plan_id` now, or schedules it (`pending`).
pub(super) async fn set_plan(
    conn: &mut Conn<'_>,
    id: i64,
    plan_id: i64,
    pending_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    let before: Option<(i64, i64)> = if pending_at.is_none() {
        on_conn!(conn, c => sqlx::query_as(
            "SELECT customer_id, plan_id FROM services WHERE id = $1")
            .bind(id).fetch_optional(c).await)?
    } else {
        None
    };
    let sql = if pending_at.is_some() {
        "UPDATE services SET pending_plan_id = $2, pending_plan_at = $4, updated_at = $3 \
         WHERE id = $1"
    } else {
        "UPDATE services SET plan_id = $2, pending_plan_id = NULL, pending_plan_at = NULL, \
         updated_at = $3 WHERE id = $1"
    };
    on_conn!(conn, c => sqlx::query(sql)
        .bind(id)
        .bind(plan_id)
        .bind(now)
        .bind(pending_at)
        .execute(c).await.map(|d| d.rows_affected()))?;
    // A change now within a charged period: billing credits the old plan and charges the new.
    if let Some((customer_id, old)) = before {
        crate::billing::adjustments::plan_changed(conn, (id, customer_id), old, plan_id, now)
            .await?;
    }
    Ok(())
}

/// Takes the service out of lists and lookups (it stays for billing history).
pub(super) async fn soft_delete(conn: &mut Conn<'_>, id: i64, now: DateTime<Utc>) -> Result<()> {
    on_conn!(conn, c => sqlx::query(
        "UPDATE services SET deleted_at = $2, updated_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(c).await.map(|d| d.rows_affected()))?;
    Ok(())
}

/// Services whose scheduled plan change is due: (service id, plan id).
pub(super) async fn due_plan_changes(conn: &mut Conn<'_>, now: DateTime<Utc>) -> Result<Vec<i64>> {
    Ok(on_conn!(conn, c => sqlx::query_scalar(
        "SELECT id FROM services WHERE pending_plan_id IS NOT NULL AND pending_plan_at <= $1 \
         AND deleted_at IS NULL AND status <> 'terminated' ORDER BY id LIMIT 500")
        .bind(now)
        .fetch_all(c)
        .await)?)
}

/// Whether a service other than `except` has the login `username`.
pub(super) async fn username_taken(
    conn: &mut Conn<'_>,
    username: &str,
    except: Option<i64>,
) -> Result<bool> {
    let found: Option<i64> = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT id FROM services WHERE username = $1 AND deleted_at IS NULL \
         AND ($2 IS NULL OR id <> $2)")
        .bind(username)
        .bind(except)
        .fetch_optional(c)
        .await)?;
    Ok(found.is_some())
}

/// How many live logins are `portal_id` or `portal_id-<n>`.
pub(super) async fn logins_like(conn: &mut Conn<'_>, portal_id: &str) -> Result<i64> {
    Ok(on_conn!(conn, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM services WHERE deleted_at IS NULL \
         AND (username = $1 OR username LIKE $2)")
        .bind(portal_id)
        .bind(format!("{portal_id}-%"))
        .fetch_one(c)
        .await)?)
}

/// A plan as a sale needs it: whether it exists and is active.
pub(super) async fn plan_status(conn: &mut Conn<'_>, plan_id: i64) -> Result<Option<String>> {
    Ok(
        on_conn!(conn, c => sqlx::query_scalar("SELECT status FROM plans WHERE id = $1")
        .bind(plan_id)
        .fetch_optional(c)
        .await)?,
    )
}

/// Whether router `id` exists.
pub(super) async fn router_exists(conn: &mut Conn<'_>, id: i64) -> Result<bool> {
    let found: Option<i64> = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT id FROM routers WHERE id = $1")
        .bind(id)
        .fetch_optional(c)
        .await)?;
    Ok(found.is_some())
}

/// A customer as its services see it: partner, state and portal id.
pub(super) struct Owner {
    pub partner_id: Option<i64>,
    pub status: String,
    pub portal_id: String,
    pub billing_day: Option<i32>,
}

/// The live customer `id`, read (and on PostgreSQL locked) inside the transaction, so a
/// concurrent suspension of the customer cannot miss a service created meanwhile.
pub(super) async fn owner(conn: &mut Conn<'_>, id: i64) -> Result<Option<Owner>> {
    let lock = if conn.is_postgres() {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!(
        "SELECT partner_id, status, portal_id, billing_day FROM customers WHERE id = $1 AND deleted_at IS NULL{lock}"
    );
    let row: Option<(Option<i64>, String, String, Option<i32>)> = on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(c).await)?;
    Ok(
        row.map(|(partner_id, status, portal_id, billing_day)| Owner {
            partner_id,
            status,
            portal_id,
            billing_day,
        }),
    )
}

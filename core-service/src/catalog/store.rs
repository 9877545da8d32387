//! Catalog SQL, written once for both engines. Only the row lock differs: PostgreSQL takes
//! `FOR UPDATE`; SQLite needs none because its write transactions are `IMMEDIATE` and so
//! already exclusive.

use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;

use super::{Burst, CapPolicy, Plan, PlanFields, PlanQuery, PlanStatus, ServiceType, Throttle};
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::on_conn;
use crate::paging::search_pattern;
use crate::radius_rows::RadiusRow;

/// Every column of a plan, with how many services that are not terminated are on it.
const COLUMNS: &str = "id, name, service_type, download_kbps, upload_kbps, \
    burst_download_kbps, burst_upload_kbps, burst_threshold_download_kbps, \
    burst_threshold_upload_kbps, burst_time_seconds, data_limit_mb, cap_policy, \
    throttle_download_kbps, throttle_upload_kbps, monthly_fee_minor, activation_fee_minor, \
    currency, billing_period_months, tax_class, ip_pool_id, radius_attributes, status, \
    credit_suspended_days, credit_unused_days_on_termination, created_at, updated_at, \
    (SELECT COUNT(*) FROM services s WHERE s.plan_id = plans.id AND s.status <> 'terminated') \
    AS services_count";

#[derive(sqlx::FromRow)]
struct PlanRow {
    id: i64,
    name: String,
    service_type: String,
    download_kbps: i64,
    upload_kbps: i64,
    burst_download_kbps: Option<i64>,
    burst_upload_kbps: Option<i64>,
    burst_threshold_download_kbps: Option<i64>,
    burst_threshold_upload_kbps: Option<i64>,
    burst_time_seconds: Option<i32>,
    data_limit_mb: Option<i64>,
    cap_policy: String,
    throttle_download_kbps: Option<i64>,
    throttle_upload_kbps: Option<i64>,
    monthly_fee_minor: i64,
    activation_fee_minor: i64,
    currency: String,
    billing_period_months: i32,
    tax_class: Option<String>,
    ip_pool_id: Option<i64>,
    radius_attributes: String,
    status: String,
    credit_suspended_days: bool,
    credit_unused_days_on_termination: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    services_count: i64,
}

fn unknown(what: &str, value: &str) -> Error {
    Error::Internal(anyhow::anyhow!(
        "stored plan has an unknown {what}: {value}"
    ))
}

impl TryFrom<PlanRow> for Plan {
    type Error = Error;

    fn try_from(r: PlanRow) -> Result<Plan> {
        let burst = match (
            r.burst_download_kbps,
            r.burst_upload_kbps,
            r.burst_threshold_download_kbps,
            r.burst_threshold_upload_kbps,
            r.burst_time_seconds,
        ) {
            (Some(download_kbps), Some(upload_kbps), Some(td), Some(tu), Some(time_seconds)) => {
                Some(Burst {
                    download_kbps,
                    upload_kbps,
                    threshold_download_kbps: td,
                    threshold_upload_kbps: tu,
                    time_seconds,
                })
            }
            _ => None,
        };
        let throttle = r.throttle_download_kbps.zip(r.throttle_upload_kbps).map(
            |(download_kbps, upload_kbps)| Throttle {
                download_kbps,
                upload_kbps,
            },
        );
        let radius_attributes = serde_json::from_str(&r.radius_attributes)
            .map_err(|e| Error::Internal(anyhow::anyhow!("stored plan attributes: {e}")))?;
        Ok(Plan {
            id: r.id,
            fields: PlanFields {
                service_type: ServiceType::parse(&r.service_type)
                    .ok_or_else(|| unknown("service type", &r.service_type))?,
                cap_policy: CapPolicy::parse(&r.cap_policy)
                    .ok_or_else(|| unknown("cap policy", &r.cap_policy))?,
                status: PlanStatus::parse(&r.status).ok_or_else(|| unknown("status", &r.status))?,
                name: r.name,
                download_kbps: r.download_kbps,
                upload_kbps: r.upload_kbps,
                burst,
                data_limit_mb: r.data_limit_mb,
                throttle,
                monthly_fee_minor: r.monthly_fee_minor,
                activation_fee_minor: r.activation_fee_minor,
                currency: r.currency,
                billing_period_months: r.billing_period_months,
                tax_class: r.tax_class,
                ip_pool_id: r.ip_pool_id,
                radius_attributes,
                credit_suspended_days: r.credit_suspended_days,
                credit_unused_days_on_termination: r.credit_unused_days_on_termination,
            },
            services_count: r.services_count,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// The live plan `id`, locked for the transaction when `lock`.
pub(super) async fn find(conn: &mut Conn<'_>, id: i64, lock: bool) -> Result<Option<Plan>> {
    if lock && conn.is_postgres() {
        on_conn!(conn, c => sqlx::query(
            "SELECT id FROM plans WHERE id = $1 AND deleted_at IS NULL FOR UPDATE")
            .bind(id).execute(c).await.map(drop))?;
    }
    let sql = format!("SELECT {COLUMNS} FROM plans WHERE id = $1 AND deleted_at IS NULL");
    let row: Option<PlanRow> = on_conn!(conn, c => sqlx::query_as(AssertSqlSafe(sql))
        .bind(id).fetch_optional(c).await)?;
    row.map(Plan::try_from).transpose()
}

/// Whether another live plan (not `except`) has `name`, ignoring case.
pub(super) async fn name_taken(
    conn: &mut Conn<'_>,
    name: &str,
    except: Option<i64>,
) -> Result<bool> {
    let found: Option<i64> = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT id FROM plans WHERE lower(name) = lower($1) AND deleted_at IS NULL \
         AND ($2 IS NULL OR id <> $2) LIMIT 1")
        .bind(name).bind(except).fetch_optional(c).await)?;
    Ok(found.is_some())
}

/// Whether IP pool `id` exists.
pub(super) async fn pool_exists(conn: &mut Conn<'_>, id: i64) -> Result<bool> {
    let found: Option<i64> = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT id FROM ip_pools WHERE id = $1")
        .bind(id).fetch_optional(c).await)?;
    Ok(found.is_some())
}

/// The name of IP pool `id` when it is a dynamic pool (a pool on the NAS).
pub(super) async fn dynamic_pool_name(conn: &mut Conn<'_>, id: i64) -> Result<Option<String>> {
    let name: Option<String> = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT name FROM ip_pools WHERE id = $1 AND kind = 'dynamic'")
        .bind(id).fetch_optional(c).await)?;
    Ok(name)
}

/// The live plans drawing from pool `pool_id`.
pub(super) async fn plans_of_pool(conn: &mut Conn<'_>, pool_id: i64) -> Result<Vec<i64>> {
    let ids: Vec<i64> = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT id FROM plans WHERE ip_pool_id = $1 AND deleted_at IS NULL ORDER BY id")
        .bind(pool_id).fetch_all(c).await)?;
    Ok(ids)
}

/// How many services that are not terminated are on plan `id`.
pub(super) async fn services_in_use(conn: &mut Conn<'_>, id: i64) -> Result<i64> {
    let count: i64 = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM services WHERE plan_id = $1 AND status <> 'terminated'")
        .bind(id).fetch_one(c).await)?;
    Ok(count)
}

/// The columns a plan's fields are written to, in the order of [`bind_fields!`].
const FIELD_COLUMNS: [&str; 23] = [
    "name",
    "service_type",
    "download_kbps",
    "upload_kbps",
    "burst_download_kbps",
    "burst_upload_kbps",
    "burst_threshold_download_kbps",
    "burst_threshold_upload_kbps",
    "burst_time_seconds",
    "data_limit_mb",
    "cap_policy",
    "throttle_download_kbps",
    "throttle_upload_kbps",
    "monthly_fee_minor",
    "activation_fee_minor",
    "currency",
    "billing_period_months",
    "tax_class",
    "ip_pool_id",
    "radius_attributes",
    "status",
    "credit_suspended_days",
    "credit_unused_days_on_termination",
];

/// Binds the fields of `f` in the order of [`FIELD_COLUMNS`].
macro_rules! bind_fields {
    ($query:expr, $f:expr, $attributes:expr) => {{
        let f = $f;
        let burst = f.burst;
        $query
            .bind(&f.name)
            .bind(f.service_type.as_str())
            .bind(f.download_kbps)
            .bind(f.upload_kbps)
            .bind(burst.map(|b| b.download_kbps))
            .bind(burst.map(|b| b.upload_kbps))
            .bind(burst.map(|b| b.threshold_download_kbps))
            .bind(burst.map(|b| b.threshold_upload_kbps))
            .bind(burst.map(|b| b.time_seconds))
            .bind(f.data_limit_mb)
            .bind(f.cap_policy.as_str())
            .bind(f.throttle.map(|t| t.download_kbps))
            .bind(f.throttle.map(|t| t.upload_kbps))
            .bind(f.monthly_fee_minor)
            .bind(f.activation_fee_minor)
            .bind(&f.currency)
            .bind(f.billing_period_months)
            .bind(&f.tax_class)
            .bind(f.ip_pool_id)
            .bind($attributes)
            .bind(f.status.as_str())
            .bind(f.credit_suspended_days)
            .bind(f.credit_unused_days_on_termination)
    }};
}

/// The attributes as stored: a JSON array. Writing strings and unit variants cannot fail.
fn attributes_json(f: &PlanFields) -> String {
    serde_json::to_string(&f.radius_attributes).unwrap_or_else(|_| "[]".to_owned())
}

/// Inserts a plan; returns its id. The raw error comes back so that the caller can turn
/// a unique violation (a concurrent create of the same name) into a field error.
pub(super) async fn insert(
    conn: &mut Conn<'_>,
    f: &PlanFields,
    now: DateTime<Utc>,
) -> std::result::Result<i64, sqlx::Error> {
    let attributes = attributes_json(f);
    let placeholders: Vec<String> = (1..=FIELD_COLUMNS.len()).map(|n| format!("${n}")).collect();
    let at = FIELD_COLUMNS.len() + 1;
    let sql = format!(
        "INSERT INTO plans ({}, created_at, updated_at) VALUES ({}, ${at}, ${at}) RETURNING id",
        FIELD_COLUMNS.join(", "),
        placeholders.join(", ")
    );
    on_conn!(conn, c => bind_fields!(sqlx::query_scalar(AssertSqlSafe(sql)), f, &attributes)
        .bind(now).fetch_one(c).await)
}

/// Writes every field of live plan `id`.
pub(super) async fn update(
    conn: &mut Conn<'_>,
    id: i64,
    f: &PlanFields,
    now: DateTime<Utc>,
) -> std::result::Result<(), sqlx::Error> {
    let attributes = attributes_json(f);
    let assignments: Vec<String> = FIELD_COLUMNS
        .iter()
        .enumerate()
        .map(|(i, column)| format!("{column} = ${}", i + 1))
        .collect();
    let (at, key) = (FIELD_COLUMNS.len() + 1, FIELD_COLUMNS.len() + 2);
    let sql = format!(
        "UPDATE plans SET {}, updated_at = ${at} WHERE id = ${key} AND deleted_at IS NULL",
        assignments.join(", ")
    );
    on_conn!(conn, c => bind_fields!(sqlx::query(AssertSqlSafe(sql)), f, &attributes)
        .bind(now).bind(id).execute(c).await.map(drop))
}

/// Marks live plan `id` deleted. The row stays: terminated services and the audit log
/// still name it.
pub(super) async fn soft_delete(conn: &mut Conn<'_>, id: i64, now: DateTime<Utc>) -> Result<()> {
    on_conn!(conn, c => sqlx::query(
        "UPDATE plans SET deleted_at = $2, updated_at = $2 WHERE id = $1 AND deleted_at IS NULL")
        .bind(id).bind(now).execute(c).await.map(drop))?;
    Ok(())
}

// One WHERE clause for the page and its count: `$1` the escaped name pattern ('' for no
// search), `$2` the status ('' for all).
const LIST_FILTER: &str = "deleted_at IS NULL AND ($1 = '' OR lower(name) LIKE $1 ESCAPE '\\') \
    AND ($2 = '' OR status = $2)";

/// One page of live plans matching `query`, and how many match in all.
pub(super) async fn list(conn: &mut Conn<'_>, query: &PlanQuery) -> Result<(Vec<Plan>, i64)> {
    let pattern = search_pattern(&query.search);
    let status = query.status.map_or("", PlanStatus::as_str);
    let direction = query.sort.direction();
    // The sort expression comes from a closed list, never from client text.
    let page_sql = format!(
        "SELECT {COLUMNS} FROM plans WHERE {LIST_FILTER} ORDER BY {} {direction}, id {direction} \
         LIMIT $3 OFFSET $4",
        query.sort.column.as_sql()
    );
    let count_sql = format!("SELECT COUNT(*) FROM plans WHERE {LIST_FILTER}");
    let rows: Vec<PlanRow> = on_conn!(conn, c => sqlx::query_as(AssertSqlSafe(page_sql))
        .bind(&pattern).bind(status).bind(query.page.limit()).bind(query.page.offset())
        .fetch_all(c).await)?;
    let total: i64 = on_conn!(conn, c => sqlx::query_scalar(AssertSqlSafe(count_sql))
        .bind(&pattern).bind(status).fetch_one(c).await)?;
    let plans = rows
        .into_iter()
        .map(Plan::try_from)
        .collect::<Result<_>>()?;
    Ok((plans, total))
}

/// Every live plan (archived ones too: their services still use their group).
pub(super) async fn live(conn: &mut Conn<'_>) -> Result<Vec<Plan>> {
    let sql = format!("SELECT {COLUMNS} FROM plans WHERE deleted_at IS NULL ORDER BY id");
    let rows: Vec<PlanRow> = on_conn!(conn, c => sqlx::query_as(AssertSqlSafe(sql))
        .fetch_all(c).await)?;
    rows.into_iter().map(Plan::try_from).collect()
}

/// Replaces the rows of group `group` in `radgroupreply` with `rows`, in order (FreeRADIUS
/// reads a group's rows by id).
pub(super) async fn replace_group(
    conn: &mut Conn<'_>,
    group: &str,
    rows: &[RadiusRow],
) -> Result<()> {
    crate::radius_rows::write_group(conn, group, rows).await
}

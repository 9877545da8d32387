//! SLA policy SQL, one text for both engines.

use chrono::{DateTime, Utc};
use lastmile_proto::RestName;
use lastmile_proto::v1::TicketPriority;

use super::CalendarSpec;
use super::policies::{Policy, PolicyFields};
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::on_conn;
use crate::paging::PageQuery;

const COLUMNS: &str = "id, name, priority, user_group_id, plan_id, first_response_minutes, \
    resolution_minutes, calendar, pause_while_waiting, warning_percent, escalate_to_priority, \
    escalate_to_team_id, active, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct PolicyRow {
    id: i64,
    name: String,
    priority: String,
    user_group_id: Option<i64>,
    plan_id: Option<i64>,
    first_response_minutes: i32,
    resolution_minutes: i32,
    calendar: Option<String>,
    pause_while_waiting: bool,
    warning_percent: i32,
    escalate_to_priority: Option<String>,
    escalate_to_team_id: Option<i64>,
    active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<PolicyRow> for Policy {
    type Error = Error;

    fn try_from(r: PolicyRow) -> Result<Policy> {
        let calendar = r
            .calendar
            .as_deref()
            .map(serde_json::from_str::<CalendarSpec>)
            .transpose()
            .map_err(|e| Error::Internal(anyhow::anyhow!("stored policy calendar: {e}")))?;
        Ok(Policy {
            id: r.id,
            fields: PolicyFields {
                name: r.name,
                priority: super::stored("priority", &r.priority)?,
                user_group_id: r.user_group_id,
                plan_id: r.plan_id,
                first_response_minutes: r.first_response_minutes,
                resolution_minutes: r.resolution_minutes,
                calendar,
                pause_while_waiting: r.pause_while_waiting,
                warning_percent: r.warning_percent,
                escalate_to_priority: r
                    .escalate_to_priority
                    .as_deref()
                    .map(|p| super::stored("priority", p))
                    .transpose()?,
                escalate_to_team_id: r.escalate_to_team_id,
                active: r.active,
            },
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

fn calendar_json(f: &PolicyFields) -> Option<String> {
    f.calendar
        .as_ref()
        .and_then(|c| serde_json::to_string(c).ok())
}

/// Binds the fields in the order of the column list of `insert` and `update`.
macro_rules! bind_fields {
    ($query:expr, $f:expr) => {{
        let f = $f;
        $query
            .bind(&f.name)
            .bind(f.priority.rest_name())
            .bind(f.user_group_id)
            .bind(f.plan_id)
            .bind(f.first_response_minutes)
            .bind(f.resolution_minutes)
            .bind(calendar_json(f))
            .bind(f.pause_while_waiting)
            .bind(f.warning_percent)
            .bind(f.escalate_to_priority.map(|p| p.rest_name()))
            .bind(f.escalate_to_team_id)
            .bind(f.active)
    }};
}

/// The live policy `id`.
pub(super) async fn find(conn: &mut Conn<'_>, id: i64) -> Result<Option<Policy>> {
    let sql = format!("SELECT {COLUMNS} FROM sla_policies WHERE id = $1 AND deleted_at IS NULL");
    let row: Option<PolicyRow> = on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id).fetch_optional(c).await)?;
    row.map(Policy::try_from).transpose()
}

/// Inserts a policy; the raw error lets the caller name a unique violation.
pub(super) async fn insert(
    conn: &mut Conn<'_>,
    f: &PolicyFields,
    now: DateTime<Utc>,
) -> std::result::Result<i64, sqlx::Error> {
    on_conn!(conn, c => bind_fields!(sqlx::query_scalar(
        "INSERT INTO sla_policies (name, priority, user_group_id, plan_id, \
         first_response_minutes, resolution_minutes, calendar, pause_while_waiting, \
         warning_percent, escalate_to_priority, escalate_to_team_id, active, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) \
         RETURNING id"), f)
        .bind(now).fetch_one(c).await)
}

/// Writes every field of live policy `id`.
pub(super) async fn update(
    conn: &mut Conn<'_>,
    id: i64,
    f: &PolicyFields,
    now: DateTime<Utc>,
) -> std::result::Result<(), sqlx::Error> {
    on_conn!(conn, c => bind_fields!(sqlx::query(
        "UPDATE sla_policies SET name = $1, priority = $2, user_group_id = $3, plan_id = $4, \
         first_response_minutes = $5, resolution_minutes = $6, calendar = $7, \
         pause_while_waiting = $8, warning_percent = $9, escalate_to_priority = $10, \
         escalate_to_team_id = $11, active = $12, updated_at = $13 \
         WHERE id = $14 AND deleted_at IS NULL"), f)
        .bind(now).bind(id).execute(c).await.map(drop))
}

/// Marks policy `id` deleted; tickets still name it.
pub(super) async fn soft_delete(conn: &mut Conn<'_>, id: i64, now: DateTime<Utc>) -> Result<()> {
    on_conn!(conn, c => sqlx::query(
        "UPDATE sla_policies SET deleted_at = $2, updated_at = $2 WHERE id = $1 AND deleted_at IS NULL")
        .bind(id).bind(now).execute(c).await.map(drop))?;
    Ok(())
}

/// A page of live policies, by priority (critical first) then id.
pub(super) async fn list(
    conn: &mut Conn<'_>,
    page: PageQuery,
    priority: Option<TicketPriority>,
) -> Result<(Vec<Policy>, i64)> {
    let priority = priority.map_or("", |p| p.rest_name());
    let filter = "deleted_at IS NULL AND ($1 = '' OR priority = $1)";
    let page_sql = format!(
        "SELECT {COLUMNS} FROM sla_policies WHERE {filter} ORDER BY CASE priority \
         WHEN 'critical' THEN 1 WHEN 'high' THEN 2 WHEN 'normal' THEN 3 ELSE 4 END, id \
         LIMIT $2 OFFSET $3"
    );
    let count_sql = format!("SELECT COUNT(*) FROM sla_policies WHERE {filter}");
    let rows: Vec<PolicyRow> = on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(page_sql))
        .bind(priority).bind(page.limit()).bind(page.offset()).fetch_all(c).await)?;
    let total: i64 = on_conn!(conn, c => sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql))
        .bind(priority).fetch_one(c).await)?;
    let items = rows
        .into_iter()
        .map(Policy::try_from)
        .collect::<Result<_>>()?;
    Ok((items, total))
}

/// The most specific active policy for a ticket (plan, then group, then general).
pub(super) async fn matching(
    conn: &mut Conn<'_>,
    priority: TicketPriority,
    user_group_id: Option<i64>,
    plan_id: Option<i64>,
) -> Result<Option<Policy>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM sla_policies WHERE deleted_at IS NULL AND active AND priority = $1 \
         AND (user_group_id IS NULL OR user_group_id = $2) AND (plan_id IS NULL OR plan_id = $3) \
         ORDER BY CASE WHEN plan_id IS NULL THEN 0 ELSE 2 END \
         + CASE WHEN user_group_id IS NULL THEN 0 ELSE 1 END DESC, id LIMIT 1"
    );
    let row: Option<PolicyRow> = on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(priority.rest_name()).bind(user_group_id.unwrap_or(0)).bind(plan_id.unwrap_or(0))
        .fetch_optional(c).await)?;
    row.map(Policy::try_from).transpose()
}

/// Whether another live policy (not `except`) has `name`, ignoring case.
pub(super) async fn name_taken(
    conn: &mut Conn<'_>,
    name: &str,
    except: Option<i64>,
) -> Result<bool> {
    let found: Option<i64> = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT id FROM sla_policies WHERE lower(name) = lower($1) AND deleted_at IS NULL \
         AND id <> $2 LIMIT 1")
        .bind(name).bind(except.unwrap_or(0)).fetch_optional(c).await)?;
    Ok(found.is_some())
}

/// Whether another live policy covers the same tickets.
pub(super) async fn scope_taken(
    conn: &mut Conn<'_>,
    f: &PolicyFields,
    except: Option<i64>,
) -> Result<bool> {
    let found: Option<i64> = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT id FROM sla_policies WHERE deleted_at IS NULL AND priority = $1 \
         AND COALESCE(user_group_id, 0) = $2 AND COALESCE(plan_id, 0) = $3 AND id <> $4 LIMIT 1")
        .bind(f.priority.rest_name()).bind(f.user_group_id.unwrap_or(0))
        .bind(f.plan_id.unwrap_or(0)).bind(except.unwrap_or(0)).fetch_optional(c).await)?;
    Ok(found.is_some())
}

/// Whether live user group `id` exists.
pub(super) async fn user_group_exists(conn: &mut Conn<'_>, id: i64) -> Result<bool> {
    let found: Option<i64> = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT id FROM user_groups WHERE id = $1 AND deleted_at IS NULL")
        .bind(id).fetch_optional(c).await)?;
    Ok(found.is_some())
}

/// Whether live plan `id` exists.
pub(super) async fn plan_exists(conn: &mut Conn<'_>, id: i64) -> Result<bool> {
    let found: Option<i64> = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT id FROM plans WHERE id = $1 AND deleted_at IS NULL")
        .bind(id).fetch_optional(c).await)?;
    Ok(found.is_some())
}

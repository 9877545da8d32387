//! Ticket SQL, one text for both engines. A ticket is written whole: every change reads
//! it (locked), changes the value, and writes every column back.

use chrono::{DateTime, Utc};
use lastmile_proto::RestName;
use lastmile_proto::v1::{TicketPriority, TicketStatus};

use super::{Comment, SlaState, Ticket};
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::on_conn;
use crate::paging::{PageQuery, search_pattern};

/// Every column of a ticket.
pub(super) const COLUMNS: &str = "id, customer_id, partner_id, service_id, subject, description, \
    category, priority, status, source, assignee_id, team_id, sla_policy_id, \
    first_response_minutes, resolution_minutes, sla_calendar, pause_while_waiting, \
    warning_percent, first_response_due_at, resolution_due_at, first_response_warn_at, \
    resolution_warn_at, paused_since, paused_micros, first_response_at, resolved_at, \
    closed_at, first_response_breached_at, resolution_breached_at, first_response_warned_at, \
    resolution_warned_at, escalated_at, escalation_level, comments_count, created_at, updated_at";

#[derive(sqlx::FromRow)]
pub(super) struct TicketRow {
    id: i64,
    customer_id: i64,
    partner_id: Option<i64>,
    service_id: Option<i64>,
    subject: String,
    description: String,
    category: String,
    priority: String,
    status: String,
    source: String,
    assignee_id: Option<i64>,
    team_id: Option<i64>,
    sla_policy_id: Option<i64>,
    first_response_minutes: Option<i32>,
    resolution_minutes: Option<i32>,
    sla_calendar: Option<String>,
    pause_while_waiting: bool,
    warning_percent: i32,
    first_response_due_at: Option<DateTime<Utc>>,
    resolution_due_at: Option<DateTime<Utc>>,
    first_response_warn_at: Option<DateTime<Utc>>,
    resolution_warn_at: Option<DateTime<Utc>>,
    paused_since: Option<DateTime<Utc>>,
    paused_micros: i64,
    first_response_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    first_response_breached_at: Option<DateTime<Utc>>,
    resolution_breached_at: Option<DateTime<Utc>>,
    first_response_warned_at: Option<DateTime<Utc>>,
    resolution_warned_at: Option<DateTime<Utc>>,
    escalated_at: Option<DateTime<Utc>>,
    escalation_level: i32,
    comments_count: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<TicketRow> for Ticket {
    type Error = Error;

    fn try_from(r: TicketRow) -> Result<Ticket> {
        use super::stored;
        Ok(Ticket {
            id: r.id,
            customer_id: r.customer_id,
            partner_id: r.partner_id,
            service_id: r.service_id,
            subject: r.subject,
            description: r.description,
            category: stored("category", &r.category)?,
            priority: stored("priority", &r.priority)?,
            status: stored("status", &r.status)?,
            source: stored("source", &r.source)?,
            assignee_id: r.assignee_id,
            team_id: r.team_id,
            sla: SlaState {
                policy_id: r.sla_policy_id,
                first_response_minutes: r.first_response_minutes,
                resolution_minutes: r.resolution_minutes,
                calendar: r.sla_calendar,
                pause_while_waiting: r.pause_while_waiting,
                warning_percent: r.warning_percent,
                first_response_due_at: r.first_response_due_at,
                resolution_due_at: r.resolution_due_at,
                first_response_warn_at: r.first_response_warn_at,
                resolution_warn_at: r.resolution_warn_at,
                paused_since: r.paused_since,
                paused_micros: r.paused_micros,
                first_response_breached_at: r.first_response_breached_at,
                resolution_breached_at: r.resolution_breached_at,
                first_response_warned_at: r.first_response_warned_at,
                resolution_warned_at: r.resolution_warned_at,
            },
            first_response_at: r.first_response_at,
            resolved_at: r.resolved_at,
            closed_at: r.closed_at,
            escalated_at: r.escalated_at,
            escalation_level: r.escalation_level,
            comments_count: r.comments_count,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// Seconds from opening to `at`, kept so both engines average them with one SQL text.
fn seconds_since(t: &Ticket, at: Option<DateTime<Utc>>) -> Option<i64> {
    at.map(|at| (at - t.created_at).num_seconds().max(0))
}

/// The columns written from a ticket, in bind order (`$1` … `$35`).
const WRITTEN: [&str; 35] = [
    "customer_id",
    "partner_id",
    "service_id",
    "subject",
    "description",
    "category",
    "priority",
    "status",
    "source",
    "assignee_id",
    "team_id",
    "sla_policy_id",
    "first_response_minutes",
    "resolution_minutes",
    "sla_calendar",
    "pause_while_waiting",
    "warning_percent",
    "first_response_due_at",
    "resolution_due_at",
    "first_response_warn_at",
    "resolution_warn_at",
    "paused_since",
    "paused_micros",
    "first_response_at",
    "first_response_seconds",
    "resolved_at",
    "resolution_seconds",
    "closed_at",
    "first_response_breached_at",
    "resolution_breached_at",
    "first_response_warned_at",
    "resolution_warned_at",
    "escalated_at",
    "escalation_level",
    "comments_count",
];

macro_rules! bind_ticket {
    ($query:expr, $t:expr) => {{
        let t: &Ticket = $t;
        let s = &t.sla;
        $query
            .bind(t.customer_id)
            .bind(t.partner_id)
            .bind(t.service_id)
            .bind(&t.subject)
            .bind(&t.description)
            .bind(t.category.rest_name())
            .bind(t.priority.rest_name())
            .bind(t.status.rest_name())
            .bind(t.source.rest_name())
            .bind(t.assignee_id)
            .bind(t.team_id)
            .bind(s.policy_id)
            .bind(s.first_response_minutes)
            .bind(s.resolution_minutes)
            .bind(&s.calendar)
            .bind(s.pause_while_waiting)
            .bind(s.warning_percent)
            .bind(s.first_response_due_at)
            .bind(s.resolution_due_at)
            .bind(s.first_response_warn_at)
            .bind(s.resolution_warn_at)
            .bind(s.paused_since)
            .bind(s.paused_micros)
            .bind(t.first_response_at)
            .bind(seconds_since(t, t.first_response_at))
            .bind(t.resolved_at)
            .bind(seconds_since(t, t.resolved_at))
            .bind(t.closed_at)
            .bind(s.first_response_breached_at)
            .bind(s.resolution_breached_at)
            .bind(s.first_response_warned_at)
            .bind(s.resolution_warned_at)
            .bind(t.escalated_at)
            .bind(t.escalation_level)
            .bind(t.comments_count)
    }};
}

/// Inserts `ticket` (its id, comment count and times are the database's and `now`).
pub(super) async fn insert(
    conn: &mut Conn<'_>,
    ticket: &Ticket,
    now: DateTime<Utc>,
) -> Result<i64> {
    let n = WRITTEN.len();
    let placeholders: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
    let sql = format!(
        "INSERT INTO tickets ({}, created_at, updated_at) VALUES ({}, ${}, ${}) RETURNING id",
        WRITTEN.join(", "),
        placeholders.join(", "),
        n + 1,
        n + 1
    );
    let id: i64 = on_conn!(conn, c => bind_ticket!(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)), ticket)
        .bind(now).fetch_one(c).await)?;
    Ok(id)
}

/// Writes every column of `ticket` back, stamped `now`.
pub(super) async fn save(conn: &mut Conn<'_>, ticket: &Ticket, now: DateTime<Utc>) -> Result<()> {
    let n = WRITTEN.len();
    let sets: Vec<String> = WRITTEN
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = ${}", i + 1))
        .collect();
    let sql = format!(
        "UPDATE tickets SET {}, updated_at = ${} WHERE id = ${}",
        sets.join(", "),
        n + 1,
        n + 2
    );
    on_conn!(conn, c => bind_ticket!(sqlx::query(sqlx::AssertSqlSafe(sql)), ticket)
        .bind(now).bind(ticket.id).execute(c).await.map(drop))?;
    Ok(())
}

/// The live ticket `id` that `partner` (a reseller's restriction) may see, locked for the
/// transaction when `lock`.
pub(super) async fn find(
    conn: &mut Conn<'_>,
    id: i64,
    partner: Option<i64>,
    lock: bool,
) -> Result<Option<Ticket>> {
    let lock = if lock && conn.is_postgres() {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM tickets WHERE id = $1 AND deleted_at IS NULL \
         AND ($2 IS NULL OR partner_id = $2){lock}"
    );
    let row: Option<TicketRow> = on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id).bind(partner).fetch_optional(c).await)?;
    row.map(Ticket::try_from).transpose()
}

/// The live tickets of `ids`, in id order.
pub(super) async fn by_ids(conn: &mut Conn<'_>, ids: &[i64]) -> Result<Vec<Ticket>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    let sql = format!(
        "SELECT {COLUMNS} FROM tickets WHERE id IN ({}) ORDER BY id",
        list.join(", ")
    );
    let rows: Vec<TicketRow> = on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(c).await)?;
    rows.into_iter().map(Ticket::try_from).collect()
}

/// What a list is filtered by.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    /// A reseller's restriction.
    pub partner: Option<i64>,
    /// One customer's.
    pub customer_id: Option<i64>,
    /// In this status.
    pub status: Option<TicketStatus>,
    /// Of this priority.
    pub priority: Option<TicketPriority>,
    /// Assigned to this user.
    pub assignee_id: Option<i64>,
    /// With this team.
    pub team_id: Option<i64>,
    /// Subject substring.
    pub search: String,
}

const LIST_FILTER: &str = "deleted_at IS NULL AND ($1 IS NULL OR partner_id = $1) \
    AND ($2 = 0 OR customer_id = $2) AND ($3 = '' OR status = $3) AND ($4 = '' OR priority = $4) \
    AND ($5 = 0 OR assignee_id = $5) AND ($6 = 0 OR team_id = $6) \
    AND ($7 = '' OR lower(subject) LIKE $7 ESCAPE '\\')";

/// A page of tickets, newest first, and how many match.
pub(super) async fn list(
    conn: &mut Conn<'_>,
    filter: &TicketFilter,
    page: PageQuery,
) -> Result<(Vec<Ticket>, i64)> {
    let status = filter.status.map_or("", |s| s.rest_name());
    let priority = filter.priority.map_or("", |p| p.rest_name());
    let pattern = search_pattern(&filter.search);
    let page_sql = format!(
        "SELECT {COLUMNS} FROM tickets WHERE {LIST_FILTER} ORDER BY id DESC LIMIT $8 OFFSET $9"
    );
    let count_sql = format!("SELECT COUNT(*) FROM tickets WHERE {LIST_FILTER}");
    macro_rules! filters {
        ($q:expr) => {
            $q.bind(filter.partner)
                .bind(filter.customer_id.unwrap_or(0))
                .bind(status)
                .bind(priority)
                .bind(filter.assignee_id.unwrap_or(0))
                .bind(filter.team_id.unwrap_or(0))
                .bind(&pattern)
        };
    }
    let rows: Vec<TicketRow> = on_conn!(conn, c => filters!(sqlx::query_as(sqlx::AssertSqlSafe(page_sql)))
        .bind(page.limit()).bind(page.offset()).fetch_all(c).await)?;
    let total: i64 = on_conn!(conn, c => filters!(sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql)))
        .fetch_one(c).await)?;
    let items = rows
        .into_iter()
        .map(Ticket::try_from)
        .collect::<Result<_>>()?;
    Ok((items, total))
}

/// Marks ticket `id` deleted.
pub(super) async fn soft_delete(conn: &mut Conn<'_>, id: i64, now: DateTime<Utc>) -> Result<()> {
    on_conn!(conn, c => sqlx::query(
        "UPDATE tickets SET deleted_at = $2, updated_at = $2 WHERE id = $1")
        .bind(id).bind(now).execute(c).await.map(drop))?;
    Ok(())
}

/// Adds a comment; returns it.
pub(super) async fn insert_comment(
    conn: &mut Conn<'_>,
    ticket_id: i64,
    body: &str,
    public: bool,
    from_customer: bool,
    author: &str,
    now: DateTime<Utc>,
) -> Result<Comment> {
    let comment: Comment = on_conn!(conn, c => sqlx::query_as(
        "INSERT INTO ticket_comments (ticket_id, body, public, from_customer, author, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         RETURNING id, ticket_id, body, public, from_customer, author, created_at")
        .bind(ticket_id).bind(body).bind(public).bind(from_customer).bind(author).bind(now)
        .fetch_one(c).await)?;
    Ok(comment)
}

/// A page of a ticket's comments, oldest first.
pub(super) async fn comments(
    conn: &mut Conn<'_>,
    ticket_id: i64,
    page: PageQuery,
) -> Result<(Vec<Comment>, i64)> {
    let items: Vec<Comment> = on_conn!(conn, c => sqlx::query_as(
        "SELECT id, ticket_id, body, public, from_customer, author, created_at \
         FROM ticket_comments WHERE ticket_id = $1 ORDER BY id LIMIT $2 OFFSET $3")
        .bind(ticket_id).bind(page.limit()).bind(page.offset()).fetch_all(c).await)?;
    let total: i64 = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM ticket_comments WHERE ticket_id = $1")
        .bind(ticket_id).fetch_one(c).await)?;
    Ok((items, total))
}

/// Whether live user `id` exists.
pub(super) async fn user_exists(conn: &mut Conn<'_>, id: i64) -> Result<bool> {
    let found: Option<i64> = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT id FROM users WHERE id = $1 AND deleted_at IS NULL")
        .bind(id).fetch_optional(c).await)?;
    Ok(found.is_some())
}

/// The plan of live service `id` of customer `customer_id`, if it is one of theirs.
pub(super) async fn service_plan(
    conn: &mut Conn<'_>,
    id: i64,
    customer_id: i64,
) -> Result<Option<i64>> {
    let plan: Option<i64> = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT plan_id FROM services WHERE id = $1 AND customer_id = $2 AND deleted_at IS NULL")
        .bind(id).bind(customer_id).fetch_optional(c).await)?;
    Ok(plan)
}

//! Audit log SQL, one text for both engines. There is deliberately no update or delete.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{AuditQuery, Change};
use crate::auth::RequestContext;
use crate::db::Conn;
use crate::error::Result;
use crate::on_conn;
use crate::paging::PageQuery;

/// A stored entry.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    /// Id.
    pub id: i64,
    /// When.
    pub occurred_at: DateTime<Utc>,
    /// The acting user.
    pub actor_user_id: Option<i64>,
    /// The API key used.
    pub actor_api_key_id: Option<i64>,
    /// The actor's role.
    pub actor_role: String,
    /// What.
    pub action: String,
    /// Resource type.
    pub resource_type: String,
    /// Resource id.
    pub resource_id: String,
    /// Changed fields before (JSON object text).
    pub before_values: Option<String>,
    /// Changed fields after (JSON object text).
    pub after_values: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// Request id.
    pub request_id: String,
    /// Client address.
    pub client_address: String,
}

impl AuditRow {
    /// The before values as a JSON object.
    pub fn before(&self) -> Option<Map<String, Value>> {
        parse(self.before_values.as_deref())
    }

    /// The after values as a JSON object.
    pub fn after(&self) -> Option<Map<String, Value>> {
        parse(self.after_values.as_deref())
    }
}

fn parse(text: Option<&str>) -> Option<Map<String, Value>> {
    text.and_then(|t| serde_json::from_str::<Value>(t).ok())
        .and_then(|v| match v {
            Value::Object(map) => Some(map),
            _ => None,
        })
}

/// Who made a change, as written in an entry.
pub(super) struct Actor<'a> {
    pub user_id: Option<i64>,
    pub api_key_id: Option<i64>,
    pub role: &'a str,
    pub request_id: &'a str,
    pub client_address: &'a str,
}

pub(super) async fn insert(
    conn: &mut Conn<'_>,
    context: &RequestContext,
    change: &Change,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> Result<()> {
    let principal = &context.principal;
    let actor = Actor {
        user_id: principal.user_id,
        api_key_id: principal.api_key_id,
        role: principal.role.as_str(),
        request_id: &context.request_id,
        client_address: &context.client_address,
    };
    insert_as(conn, &actor, change, reason, at).await
}

pub(super) async fn insert_as(
    conn: &mut Conn<'_>,
    actor: &Actor<'_>,
    change: &Change,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> Result<()> {
    let json = |values: &Option<Map<String, Value>>| {
        values
            .as_ref()
            .map(|v| Value::Object(v.clone()).to_string())
    };
    on_conn!(conn, c => sqlx::query(
        "INSERT INTO audit_log (occurred_at, actor_user_id, actor_api_key_id, actor_role, action, resource_type, \
         resource_id, before_values, after_values, reason, request_id, client_address) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
        .bind(at).bind(actor.user_id).bind(actor.api_key_id).bind(actor.role)
        .bind(&change.action).bind(change.resource_type).bind(&change.resource_id)
        .bind(json(&change.before)).bind(json(&change.after)).bind(reason)
        .bind(actor.request_id).bind(actor.client_address)
        .execute(c).await.map(|done| done.rows_affected()))?;
    Ok(())
}

const FILTER: &str = "($1 IS NULL OR actor_user_id = $1) AND ($2 IS NULL OR actor_api_key_id = $2) \
    AND ($3 IS NULL OR action = $3) AND ($4 IS NULL OR resource_type = $4) AND ($5 IS NULL OR resource_id = $5) \
    AND ($6 IS NULL OR occurred_at >= $6) AND ($7 IS NULL OR occurred_at <= $7)";

pub(super) async fn list(conn: &mut Conn<'_>, q: &AuditQuery) -> Result<(Vec<AuditRow>, i64)> {
    // The rules of every list, also for callers inside the core that fill in the numbers.
    let page = PageQuery::new(q.page, q.per_page)?;
    let rows: Vec<AuditRow> = on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, occurred_at, actor_user_id, actor_api_key_id, actor_role, action, resource_type, resource_id, \
         before_values, after_values, reason, request_id, client_address FROM audit_log WHERE {FILTER} \
         ORDER BY occurred_at DESC, id DESC LIMIT $8 OFFSET $9")))
        .bind(q.actor_user_id).bind(q.actor_api_key_id).bind(&q.action).bind(&q.resource_type).bind(&q.resource_id)
        .bind(q.from).bind(q.to).bind(page.limit()).bind(page.offset()).fetch_all(c).await)?;
    let total: i64 = on_conn!(conn, c => sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM audit_log WHERE {FILTER}")))
        .bind(q.actor_user_id).bind(q.actor_api_key_id).bind(&q.action).bind(&q.resource_type).bind(&q.resource_id)
        .bind(q.from).bind(q.to).fetch_one(c).await)?;
    Ok((rows, total))
}

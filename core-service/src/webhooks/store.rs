//! Webhook SQL, one text for both engines.

use chrono::{DateTime, Utc};

use crate::db::Conn;
use crate::error::Result;
use crate::on_conn;

const ENDPOINT_COLUMNS: &str = "id, url, events, description, active, partner_id, secret, \
     previous_secret, previous_secret_expires_at, disabled_reason, failing_since, created_at, \
     updated_at";

/// A stored endpoint.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct EndpointRow {
    pub id: i64,
    pub url: String,
    pub events: String,
    pub description: Option<String>,
    pub active: bool,
    pub partner_id: Option<i64>,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What fan-out needs of an active endpoint.
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub id: i64,
    pub events: Vec<String>,
    pub partner_id: Option<i64>,
}

/// The writable values of an endpoint.
#[derive(Debug, Clone)]
pub(super) struct EndpointValues<'a> {
    pub url: &'a str,
    pub events: &'a [String],
    pub description: Option<&'a str>,
    pub active: bool,
}

pub(super) fn events_text(events: &[String]) -> String {
    serde_json::to_string(events).unwrap_or_else(|_| "[]".into())
}

pub(super) fn events_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

pub(super) async fn active_endpoints(conn: &mut Conn<'_>) -> Result<Vec<Target>> {
    let rows: Vec<(i64, String, Option<i64>)> = on_conn!(conn, c => sqlx::query_as(
        "SELECT id, events, partner_id FROM webhook_endpoints WHERE active = $1 ORDER BY id")
        .bind(true)
        .fetch_all(c)
        .await)?;
    Ok(rows
        .into_iter()
        .map(|(id, events, partner_id)| Target {
            id,
            events: events_list(&events),
            partner_id,
        })
        .collect())
}

pub(super) async fn insert_endpoint(
    conn: &mut Conn<'_>,
    values: &EndpointValues<'_>,
    partner_id: Option<i64>,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    Ok(on_conn!(conn, c => sqlx::query_scalar(
        "INSERT INTO webhook_endpoints (url, events, description, active, partner_id, secret, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id")
        .bind(values.url)
        .bind(events_text(values.events))
        .bind(values.description)
        .bind(values.active)
        .bind(partner_id)
        .bind(secret)
        .bind(now)
        .fetch_one(c)
        .await)?)
}

/// The endpoint `id`, if `partner` (a reseller's restriction) may see it.
pub(super) async fn find_endpoint(
    conn: &mut Conn<'_>,
    id: i64,
    partner: Option<i64>,
) -> Result<Option<EndpointRow>> {
    let sql = format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 \
         AND ($2 IS NULL OR partner_id = $2)"
    );
    Ok(on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(partner)
        .fetch_optional(c)
        .await)?)
}

pub(super) async fn list_endpoints(
    conn: &mut Conn<'_>,
    partner: Option<i64>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<EndpointRow>, i64)> {
    let sql = format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE ($1 IS NULL OR partner_id = $1) \
         ORDER BY id DESC LIMIT $2 OFFSET $3"
    );
    let rows = on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(partner)
        .bind(limit)
        .bind(offset)
        .fetch_all(c)
        .await)?;
    let total = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM webhook_endpoints WHERE ($1 IS NULL OR partner_id = $1)")
        .bind(partner)
        .fetch_one(c)
        .await)?;
    Ok((rows, total))
}

pub(super) async fn update_endpoint(
    conn: &mut Conn<'_>,
    id: i64,
    values: &EndpointValues<'_>,
    now: DateTime<Utc>,
) -> Result<()> {
    // Turning an endpoint on again clears why it was off and its failure streak.
    on_conn!(conn, c => sqlx::query(
        "UPDATE webhook_endpoints SET url = $2, events = $3, description = $4, active = $5, \
         disabled_reason = CASE WHEN $5 THEN NULL ELSE disabled_reason END, \
         failing_since = CASE WHEN $5 AND NOT active THEN NULL ELSE failing_since END, \
         updated_at = $6 WHERE id = $1")
        .bind(id)
        .bind(values.url)
        .bind(events_text(values.events))
        .bind(values.description)
        .bind(values.active)
        .bind(now)
        .execute(c).await.map(|d| d.rows_affected()))?;
    Ok(())
}

pub(super) async fn delete_endpoint(conn: &mut Conn<'_>, id: i64) -> Result<()> {
    on_conn!(conn, c => sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1")
        .bind(id)
        .execute(c).await.map(|d| d.rows_affected()))?;
    on_conn!(conn, c => sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
        .bind(id)
        .execute(c).await.map(|d| d.rows_affected()))?;
    Ok(())
}

pub(super) async fn rotate_secret(
    conn: &mut Conn<'_>,
    id: i64,
    secret: &str,
    previous_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<()> {
    on_conn!(conn, c => sqlx::query(
        "UPDATE webhook_endpoints SET previous_secret = secret, \
         previous_secret_expires_at = $3, secret = $2, updated_at = $4 WHERE id = $1")
        .bind(id)
        .bind(secret)
        .bind(previous_until)
        .bind(now)
        .execute(c).await.map(|d| d.rows_affected()))?;
    Ok(())
}

/// Turns endpoint `id` off for `reason` (by the system); its deliveries still waiting for
/// an attempt are cancelled with it, so the log promises no retry that will not come.
pub(super) async fn disable_endpoint(
    conn: &mut Conn<'_>,
    id: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = on_conn!(conn, c => sqlx::query(
        "UPDATE webhook_endpoints SET active = $2, disabled_reason = $3, updated_at = $4 \
         WHERE id = $1 AND active = $5")
        .bind(id)
        .bind(false)
        .bind(reason)
        .bind(now)
        .bind(true)
        .execute(c).await.map(|d| d.rows_affected()))?;
    if done == 1 {
        on_conn!(conn, c => sqlx::query(
            "UPDATE webhook_deliveries SET status = 'cancelled', next_attempt_at = NULL, \
             updated_at = $2 WHERE webhook_id = $1 AND status IN ('pending', 'failed')")
            .bind(id)
            .bind(now)
            .execute(c).await.map(|d| d.rows_affected()))?;
    }
    Ok(done == 1)
}

/// Records a success (`failing` false: the streak ends) or a failure (the streak starts
/// now unless it already runs); answers when the streak started.
pub(super) async fn mark_health(
    conn: &mut Conn<'_>,
    id: i64,
    failing: bool,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    if failing {
        Ok(on_conn!(conn, c => sqlx::query_scalar(
            "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $2) \
             WHERE id = $1 RETURNING failing_since")
            .bind(id)
            .bind(now)
            .fetch_optional(c)
            .await)?
        .flatten())
    } else {
        on_conn!(conn, c => sqlx::query(
            "UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL")
            .bind(id)
            .execute(c).await.map(|d| d.rows_affected()))?;
        Ok(None)
    }
}

const DELIVERY_COLUMNS: &str = "id, webhook_id, event_id, event_type, payload, status, attempts, \
     response_status, response_body, duration_ms, last_error, next_attempt_at, delivered_at, \
     created_at, updated_at";

/// A stored delivery.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct DeliveryRow {
    pub id: i64,
    pub webhook_id: i64,
    pub event_id: String,
    pub event_type: String,
    pub payload: String,
    pub status: String,
    pub attempts: i32,
    pub response_status: Option<i32>,
    pub response_body: Option<String>,
    pub duration_ms: Option<i64>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(super) async fn insert_delivery(
    conn: &mut Conn<'_>,
    webhook_id: i64,
    event_id: &str,
    event_type: &str,
    payload: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    Ok(on_conn!(conn, c => sqlx::query_scalar(
        "INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, payload, status, \
         attempts, next_attempt_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5, $5) RETURNING id")
        .bind(webhook_id)
        .bind(event_id)
        .bind(event_type)
        .bind(payload)
        .bind(now)
        .fetch_one(c)
        .await)?)
}

pub(super) async fn find_delivery(conn: &mut Conn<'_>, id: i64) -> Result<Option<DeliveryRow>> {
    let sql = format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1");
    Ok(on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(c)
        .await)?)
}

pub(super) async fn list_deliveries(
    conn: &mut Conn<'_>,
    webhook_id: i64,
    status: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<DeliveryRow>, i64)> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 \
         AND ($2 IS NULL OR status = $2) ORDER BY id DESC LIMIT $3 OFFSET $4"
    );
    let rows = on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(webhook_id)
        .bind(status)
        .bind(limit)
        .bind(offset)
        .fetch_all(c)
        .await)?;
    let total = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = $1 AND ($2 IS NULL OR status = $2)")
        .bind(webhook_id)
        .bind(status)
        .fetch_one(c)
        .await)?;
    Ok((rows, total))
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub(super) struct AttemptRecord {
    pub status: &'static str,
    pub response_status: Option<i32>,
    pub response_body: Option<String>,
    pub duration_ms: i64,
    pub error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

pub(super) async fn record_attempt(
    conn: &mut Conn<'_>,
    id: i64,
    attempt: &AttemptRecord,
    now: DateTime<Utc>,
) -> Result<()> {
    on_conn!(conn, c => sqlx::query(
        "UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1, \
         response_status = $3, response_body = $4, duration_ms = $5, last_error = $6, \
         next_attempt_at = $7, \
         delivered_at = CASE WHEN $2 = 'delivered' THEN $8 ELSE delivered_at END, \
         updated_at = $8 WHERE id = $1")
        .bind(id)
        .bind(attempt.status)
        .bind(attempt.response_status)
        .bind(&attempt.response_body)
        .bind(attempt.duration_ms)
        .bind(&attempt.error)
        .bind(attempt.next_attempt_at)
        .bind(now)
        .execute(c).await.map(|d| d.rows_affected()))?;
    Ok(())
}

pub(super) async fn set_delivery_status(
    conn: &mut Conn<'_>,
    id: i64,
    status: &str,
    next_attempt_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    on_conn!(conn, c => sqlx::query(
        "UPDATE webhook_deliveries SET status = $2, next_attempt_at = $3, updated_at = $4 WHERE id = $1")
        .bind(id)
        .bind(status)
        .bind(next_attempt_at)
        .bind(now)
        .execute(c).await.map(|d| d.rows_affected()))?;
    Ok(())
}

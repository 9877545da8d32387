//! API key SQL, one text for both engines.

use chrono::{DateTime, Utc};

use super::NewApiKey;
use crate::db::Conn;
use crate::error::Result;
use crate::on_conn;

/// A stored key.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ApiKeyRow {
    pub id: i64,
    pub name: String,
    pub key_digest: String,
    pub role: String,
    pub tier: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub owner_user_id: Option<i64>,
    pub partner_id: Option<i64>,
    /// False when the owner was deactivated or deleted: the key then stops working.
    pub owner_active: bool,
    /// The owner's current role, if the key has an owner.
    pub owner_role: Option<String>,
}

/// The columns of [`ApiKeyRow`].
const ROW_COLUMNS: &str = "id, name, key_digest, role, tier, expires_at, revoked_at, last_used_at, \
    owner_user_id, partner_id, CASE WHEN owner_user_id IS NULL THEN TRUE ELSE EXISTS (SELECT 1 FROM users u \
    WHERE u.id = api_keys.owner_user_id AND u.active AND u.deleted_at IS NULL) END AS owner_active, \
    (SELECT u.role FROM users u WHERE u.id = api_keys.owner_user_id) AS owner_role";

pub(super) async fn insert(
    conn: &mut Conn<'_>,
    new: &NewApiKey,
    prefix: &str,
    digest: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    let id = on_conn!(conn, c => sqlx::query_scalar(
        "INSERT INTO api_keys (name, description, prefix, key_digest, role, tier, expires_at, created_at, partner_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id")
        .bind(&new.name).bind(&new.description).bind(prefix).bind(digest).bind(new.role.as_str())
        .bind(new.tier.as_str()).bind(new.expires_at).bind(now).bind(new.partner_id).fetch_one(c).await)?;
    Ok(id)
}

/// Every key with this prefix (normally one).
pub(crate) async fn find_by_prefix(conn: &mut Conn<'_>, prefix: &str) -> Result<Vec<ApiKeyRow>> {
    Ok(
        on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ROW_COLUMNS} FROM api_keys WHERE prefix = $1")))
        .bind(prefix).fetch_all(c).await)?,
    )
}

pub(super) async fn find_by_digest(conn: &mut Conn<'_>, digest: &str) -> Result<Option<ApiKeyRow>> {
    Ok(
        on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ROW_COLUMNS} FROM api_keys WHERE key_digest = $1")))
        .bind(digest).fetch_optional(c).await)?,
    )
}

/// Records a use, unless one was recorded in the last minute (checked in SQL too, so
/// that several core processes do not all write).
pub(crate) async fn touch(
    conn: &mut Conn<'_>,
    id: i64,
    now: DateTime<Utc>,
    stale_before: DateTime<Utc>,
) -> Result<()> {
    on_conn!(conn, c => sqlx::query(
        "UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)")
        .bind(id).bind(now).bind(stale_before).execute(c).await.map(|done| done.rows_affected()))?;
    Ok(())
}

pub(super) async fn count(conn: &mut Conn<'_>) -> Result<i64> {
    Ok(on_conn!(conn, c => sqlx::query_scalar("SELECT COUNT(*) FROM api_keys").fetch_one(c).await)?)
}

/// Claims a one-time set-up step; false when another process already did.
pub(super) async fn claim_setup_step(
    conn: &mut Conn<'_>,
    name: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let claimed: Option<String> = on_conn!(conn, c => sqlx::query_scalar(
        "INSERT INTO setup_steps (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING name")
        .bind(name).bind(now).fetch_optional(c).await)?;
    Ok(claimed.is_some())
}

/// A key as listed: everything but its digest.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct KeyListRow {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub prefix: String,
    pub role: String,
    pub tier: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub owner_user_id: Option<i64>,
    pub partner_id: Option<i64>,
}

const LIST_COLUMNS: &str = "id, name, description, prefix, role, tier, expires_at, created_at, \
    last_used_at, revoked_at, owner_user_id, partner_id";

/// Which keys a listing covers: all, a user's, or a single key (an owner-less key
/// listing its own).
#[derive(Debug, Clone, Copy)]
pub(super) enum KeyScope {
    All,
    Owner(i64),
    Only(i64),
}

impl KeyScope {
    fn bounds(self) -> (Option<i64>, Option<i64>) {
        match self {
            KeyScope::All => (None, None),
            KeyScope::Owner(user) => (Some(user), None),
            KeyScope::Only(key) => (None, Some(key)),
        }
    }
}

const SCOPE: &str =
    "revoked_at IS NULL AND ($1 IS NULL OR owner_user_id = $1) AND ($2 IS NULL OR id = $2)";

pub(super) async fn page(
    conn: &mut Conn<'_>,
    scope: KeyScope,
    limit: i64,
    offset: i64,
) -> Result<Vec<KeyListRow>> {
    let (owner, only) = scope.bounds();
    Ok(
        on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {LIST_COLUMNS} FROM api_keys WHERE {SCOPE} ORDER BY id DESC LIMIT $3 OFFSET $4")))
        .bind(owner).bind(only).bind(limit).bind(offset).fetch_all(c).await)?,
    )
}

pub(super) async fn count_in(conn: &mut Conn<'_>, scope: KeyScope) -> Result<i64> {
    let (owner, only) = scope.bounds();
    Ok(
        on_conn!(conn, c => sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM api_keys WHERE {SCOPE}")))
        .bind(owner).bind(only).fetch_one(c).await)?,
    )
}

pub(super) async fn find_listed(conn: &mut Conn<'_>, id: i64) -> Result<Option<KeyListRow>> {
    Ok(
        on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {LIST_COLUMNS} FROM api_keys WHERE id = $1")))
        .bind(id).fetch_optional(c).await)?,
    )
}

pub(super) async fn set_owner(conn: &mut Conn<'_>, id: i64, owner: Option<i64>) -> Result<()> {
    on_conn!(conn, c => sqlx::query("UPDATE api_keys SET owner_user_id = $2 WHERE id = $1")
        .bind(id).bind(owner).execute(c).await.map(|done| done.rows_affected()))?;
    Ok(())
}

pub(super) async fn revoke(conn: &mut Conn<'_>, id: i64, now: DateTime<Utc>) -> Result<u64> {
    Ok(on_conn!(conn, c => sqlx::query(
        "UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(id).bind(now).execute(c).await.map(|done| done.rows_affected()))?)
}

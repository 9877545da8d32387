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

/// Stores a key, or with `client_id` an API client's secret.
pub(super) async fn insert(
    conn: &mut Conn<'_>,
    new: &NewApiKey,
    prefix: &str,
    digest: &str,
    client_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<i64> {
    let id = on_conn!(conn, c => sqlx::query_scalar(
        "INSERT INTO api_keys (name, description, prefix, key_digest, role, tier, expires_at, created_at, partner_id, client_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id")
        .bind(&new.name).bind(&new.description).bind(prefix).bind(digest).bind(new.role.as_str())
        .bind(new.tier.as_str()).bind(new.expires_at).bind(now).bind(new.partner_id).bind(client_id)
        .fetch_one(c).await)?;
    Ok(id)
}

/// Every key with this prefix (normally one). An API client's secret is no key.
pub(crate) async fn find_by_prefix(conn: &mut Conn<'_>, prefix: &str) -> Result<Vec<ApiKeyRow>> {
    Ok(
        on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ROW_COLUMNS} FROM api_keys WHERE prefix = $1 AND client_id IS NULL")))
        .bind(prefix).fetch_all(c).await)?,
    )
}

/// The API client with this public id.
pub(super) async fn find_client(conn: &mut Conn<'_>, client_id: &str) -> Result<Option<ApiKeyRow>> {
    Ok(
        on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ROW_COLUMNS} FROM api_keys WHERE client_id = $1")))
        .bind(client_id).fetch_optional(c).await)?,
    )
}

/// An access token issued to an API client, with the client's row.
#[derive(Debug, Clone)]
pub(crate) struct TokenRow {
    pub key: ApiKeyRow,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct TokenFields {
    api_key_id: i64,
    expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

/// The token with this digest, and its client.
pub(crate) async fn find_token(conn: &mut Conn<'_>, digest: &str) -> Result<Option<TokenRow>> {
    let token: Option<TokenFields> = on_conn!(conn, c => sqlx::query_as(
        "SELECT api_key_id, expires_at, revoked_at FROM api_tokens WHERE token_digest = $1")
        .bind(digest).fetch_optional(c).await)?;
    let Some(token) = token else { return Ok(None) };
    let key: Option<ApiKeyRow> = on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ROW_COLUMNS} FROM api_keys WHERE id = $1")))
        .bind(token.api_key_id).fetch_optional(c).await)?;
    Ok(key.map(|key| TokenRow {
        key,
        expires_at: token.expires_at,
        revoked_at: token.revoked_at,
    }))
}

pub(super) async fn insert_token(
    conn: &mut Conn<'_>,
    api_key_id: i64,
    digest: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    on_conn!(conn, c => sqlx::query(
        "INSERT INTO api_tokens (api_key_id, token_digest, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(api_key_id).bind(digest).bind(now).bind(expires_at).execute(c).await.map(|done| done.rows_affected()))?;
    Ok(())
}

/// Deletes the tokens that expired before `before`.
pub(super) async fn purge_tokens(conn: &mut Conn<'_>, before: DateTime<Utc>) -> Result<u64> {
    Ok(
        on_conn!(conn, c => sqlx::query("DELETE FROM api_tokens WHERE expires_at < $1")
        .bind(before).execute(c).await.map(|done| done.rows_affected()))?,
    )
}

/// Revokes the live token with this digest if it belongs to `api_key_id`.
pub(super) async fn revoke_token(
    conn: &mut Conn<'_>,
    api_key_id: i64,
    digest: &str,
    now: DateTime<Utc>,
) -> Result<u64> {
    Ok(on_conn!(conn, c => sqlx::query(
        "UPDATE api_tokens SET revoked_at = $3 WHERE token_digest = $2 AND api_key_id = $1 AND revoked_at IS NULL")
        .bind(api_key_id).bind(digest).bind(now).execute(c).await.map(|done| done.rows_affected()))?)
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
    pub client_id: Option<String>,
}

const LIST_COLUMNS: &str = "id, name, description, prefix, role, tier, expires_at, created_at, \
    last_used_at, revoked_at, owner_user_id, partner_id, client_id";

/// Plain keys or API clients: listings show one kind at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyKind {
    Key,
    Client,
}

impl KeyKind {
    /// The resource's name in the audit log.
    pub(super) fn resource(self) -> &'static str {
        match self {
            KeyKind::Key => "api_key",
            KeyKind::Client => "api_client",
        }
    }

    /// The name in messages ("API key not found").
    pub(super) fn title(self) -> &'static str {
        match self {
            KeyKind::Key => "API key",
            KeyKind::Client => "API client",
        }
    }

    fn filter(self) -> &'static str {
        match self {
            KeyKind::Key => "client_id IS NULL",
            KeyKind::Client => "client_id IS NOT NULL",
        }
    }
}

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
    kind: KeyKind,
    scope: KeyScope,
    limit: i64,
    offset: i64,
) -> Result<Vec<KeyListRow>> {
    let (owner, only) = scope.bounds();
    let kind = kind.filter();
    Ok(
        on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {LIST_COLUMNS} FROM api_keys WHERE {SCOPE} AND {kind} ORDER BY id DESC LIMIT $3 OFFSET $4")))
        .bind(owner).bind(only).bind(limit).bind(offset).fetch_all(c).await)?,
    )
}

pub(super) async fn count_in(conn: &mut Conn<'_>, kind: KeyKind, scope: KeyScope) -> Result<i64> {
    let (owner, only) = scope.bounds();
    let kind = kind.filter();
    Ok(
        on_conn!(conn, c => sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM api_keys WHERE {SCOPE} AND {kind}")))
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

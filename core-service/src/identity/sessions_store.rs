//! Refresh token and instance setting SQL, one text for both engines.

use chrono::{DateTime, Utc};

use crate::db::{Conn, Db};
use crate::error::Result;
use crate::on_conn;

/// A stored refresh token (its digest only).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct RefreshRow {
    pub id: i64,
    pub user_id: i64,
    pub family_id: String,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub(super) async fn insert(
    conn: &mut Conn<'_>,
    user_id: i64,
    family_id: &str,
    digest: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    on_conn!(conn, c => sqlx::query(
        "INSERT INTO refresh_tokens (user_id, family_id, token_digest, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)")
        .bind(user_id).bind(family_id).bind(digest).bind(now).bind(expires_at)
        .execute(c).await.map(|done| done.rows_affected()))?;
    Ok(())
}

pub(super) async fn find(conn: &mut Conn<'_>, digest: &str) -> Result<Option<RefreshRow>> {
    Ok(on_conn!(conn, c => sqlx::query_as(
        "SELECT id, user_id, family_id, expires_at, used_at, revoked_at FROM refresh_tokens WHERE token_digest = $1")
        .bind(digest).fetch_optional(c).await)?)
}

/// Spends a token; false when it was already spent or revoked (a concurrent refresh won).
pub(super) async fn spend(conn: &mut Conn<'_>, id: i64, now: DateTime<Utc>) -> Result<bool> {
    let done = on_conn!(conn, c => sqlx::query(
        "UPDATE refresh_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL")
        .bind(id).bind(now).execute(c).await.map(|done| done.rows_affected()))?;
    Ok(done == 1)
}

/// Revokes every live token of a family; how many.
pub(super) async fn revoke_family(
    conn: &mut Conn<'_>,
    family_id: &str,
    now: DateTime<Utc>,
) -> Result<u64> {
    Ok(on_conn!(conn, c => sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL")
        .bind(family_id).bind(now).execute(c).await.map(|done| done.rows_affected()))?)
}

/// The value of a generated setting: the stored one, or `candidate` stored now. Of several
/// processes starting together, the first insert wins and all read the same value.
pub(super) async fn setting_or_insert(
    db: &Db,
    name: &str,
    candidate: &str,
    now: DateTime<Utc>,
) -> Result<String> {
    let mut conn = db.conn();
    on_conn!(&mut conn, c => sqlx::query(
        "INSERT INTO instance_settings (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
        .bind(name).bind(candidate).bind(now).execute(c).await.map(|done| done.rows_affected()))?;
    Ok(on_conn!(&mut conn, c => sqlx::query_scalar(
        "SELECT value FROM instance_settings WHERE name = $1")
        .bind(name).fetch_one(c).await)?)
}

/// Deletes refresh tokens that expired before `before` (spent ones included: past expiry
/// a reuse can no longer be told from a stale token, and either is refused).
pub(super) async fn purge_expired(conn: &mut Conn<'_>, before: DateTime<Utc>) -> Result<u64> {
    let done = on_conn!(conn, c => sqlx::query("DELETE FROM refresh_tokens WHERE expires_at < $1")
        .bind(before)
        .execute(c).await.map(|d| d.rows_affected()))?;
    Ok(done)
}

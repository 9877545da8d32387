//! User SQL, one text for both engines. Deleted users keep their row (the audit log and
//! API keys name them) with `deleted_at` set, and are invisible to every query here.

use chrono::{DateTime, Utc};

use crate::db::Conn;
use crate::error::Result;
use crate::on_conn;

/// A stored user.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct UserRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub partner_id: Option<i64>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, name, email, password_hash, role, partner_id, active, created_at, updated_at";

/// The values a user row is written with.
#[derive(Debug, Clone)]
pub(super) struct UserValues<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub partner_id: Option<i64>,
    pub active: bool,
}

pub(super) async fn insert(
    conn: &mut Conn<'_>,
    user: &UserValues<'_>,
    now: DateTime<Utc>,
) -> std::result::Result<i64, sqlx::Error> {
    on_conn!(conn, c => sqlx::query_scalar(
        "INSERT INTO users (name, email, email_key, password_hash, role, partner_id, active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id")
        .bind(user.name).bind(user.email).bind(user.email.to_lowercase()).bind(user.password_hash)
        .bind(user.role).bind(user.partner_id).bind(user.active).bind(now).fetch_one(c).await)
}

pub(super) async fn update(
    conn: &mut Conn<'_>,
    id: i64,
    user: &UserValues<'_>,
    now: DateTime<Utc>,
) -> std::result::Result<u64, sqlx::Error> {
    on_conn!(conn, c => sqlx::query(
        "UPDATE users SET name = $2, email = $3, email_key = $4, password_hash = $5, role = $6, partner_id = $7, \
         active = $8, updated_at = $9 WHERE id = $1 AND deleted_at IS NULL")
        .bind(id).bind(user.name).bind(user.email).bind(user.email.to_lowercase()).bind(user.password_hash)
        .bind(user.role).bind(user.partner_id).bind(user.active).bind(now)
        .execute(c).await.map(|done| done.rows_affected()))
}

/// Replaces a password hash by a new hash of the same password (new parameters), unless
/// the password was changed meanwhile. Not a change of the user: `updated_at` stays.
pub(super) async fn replace_password_hash(
    conn: &mut Conn<'_>,
    id: i64,
    old: &str,
    new: &str,
) -> Result<u64> {
    Ok(on_conn!(conn, c => sqlx::query(
        "UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2 AND deleted_at IS NULL")
        .bind(id).bind(old).bind(new).execute(c).await.map(|done| done.rows_affected()))?)
}

pub(super) async fn mark_deleted(conn: &mut Conn<'_>, id: i64, now: DateTime<Utc>) -> Result<u64> {
    Ok(on_conn!(conn, c => sqlx::query(
        "UPDATE users SET deleted_at = $2, active = FALSE, updated_at = $2 WHERE id = $1 AND deleted_at IS NULL")
        .bind(id).bind(now).execute(c).await.map(|done| done.rows_affected()))?)
}

pub(crate) async fn find(conn: &mut Conn<'_>, id: i64) -> Result<Option<UserRow>> {
    Ok(
        on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM users WHERE id = $1 AND deleted_at IS NULL")))
        .bind(id).fetch_optional(c).await)?,
    )
}

pub(super) async fn find_by_email(conn: &mut Conn<'_>, email: &str) -> Result<Option<UserRow>> {
    Ok(
        on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM users WHERE email_key = $1 AND deleted_at IS NULL")))
        .bind(email.trim().to_lowercase()).fetch_optional(c).await)?,
    )
}

pub(super) async fn email_taken(conn: &mut Conn<'_>, email: &str, except: i64) -> Result<bool> {
    let found: Option<i64> = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT id FROM users WHERE email_key = $1 AND deleted_at IS NULL AND id <> $2")
        .bind(email.to_lowercase()).bind(except).fetch_optional(c).await)?;
    Ok(found.is_some())
}

pub(super) async fn partner_exists(conn: &mut Conn<'_>, id: i64) -> Result<bool> {
    let found: Option<i64> = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT id FROM partners WHERE id = $1 AND deleted_at IS NULL")
        .bind(id).fetch_optional(c).await)?;
    Ok(found.is_some())
}

pub(super) async fn page(conn: &mut Conn<'_>, limit: i64, offset: i64) -> Result<Vec<UserRow>> {
    Ok(
        on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM users WHERE deleted_at IS NULL ORDER BY id LIMIT $1 OFFSET $2")))
        .bind(limit).bind(offset).fetch_all(c).await)?,
    )
}

pub(super) async fn count(conn: &mut Conn<'_>) -> Result<i64> {
    Ok(on_conn!(conn, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE deleted_at IS NULL").fetch_one(c).await)?)
}

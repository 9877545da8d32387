//! Idempotency record SQL, one text for both engines.

use chrono::{DateTime, Utc};

use super::Scope;
use crate::db::Conn;
use crate::error::Result;
use crate::on_conn;

#[derive(sqlx::FromRow)]
pub(super) struct Record {
    pub operation: String,
    pub request_digest: String,
    pub response: Vec<u8>,
}

pub(super) async fn find(conn: &mut Conn<'_>, subject: &str, key: &str) -> Result<Option<Record>> {
    Ok(on_conn!(conn, c => sqlx::query_as(
        "SELECT operation, request_digest, response FROM idempotency_records \
         WHERE subject = $1 AND idempotency_key = $2")
        .bind(subject).bind(key).fetch_optional(c).await)?)
}

/// Inserts the record with an empty answer; a unique violation means the key is taken.
pub(super) async fn claim(
    conn: &mut Conn<'_>,
    scope: &Scope,
    now: DateTime<Utc>,
) -> std::result::Result<(), sqlx::Error> {
    on_conn!(conn, c => sqlx::query(
        "INSERT INTO idempotency_records (subject, idempotency_key, operation, request_digest, response, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&scope.subject).bind(&scope.key).bind(&scope.operation).bind(&scope.request_digest)
        .bind(Vec::<u8>::new()).bind(now).execute(c).await.map(|done| done.rows_affected()))?;
    Ok(())
}

pub(super) async fn set_response(
    conn: &mut Conn<'_>,
    scope: &Scope,
    response: &[u8],
) -> Result<()> {
    on_conn!(conn, c => sqlx::query(
        "UPDATE idempotency_records SET response = $3 WHERE subject = $1 AND idempotency_key = $2")
        .bind(&scope.subject).bind(&scope.key).bind(response).execute(c).await.map(|done| done.rows_affected()))?;
    Ok(())
}

pub(super) async fn purge(conn: &mut Conn<'_>, before: DateTime<Utc>) -> Result<u64> {
    let deleted = on_conn!(conn, c => sqlx::query("DELETE FROM idempotency_records WHERE created_at < $1")
        .bind(before).execute(c).await.map(|done| done.rows_affected()))?;
    Ok(deleted)
}

//! The SQL of static addresses (`ip_assignments`), one text for both engines. Only the
//! pool lock differs: PostgreSQL locks the pool's row; SQLite's write transactions are
//! `IMMEDIATE` and so already exclusive.

use std::net::Ipv4Addr;

use chrono::{DateTime, Utc};

use crate::db::Conn;
use crate::error::Result;
use crate::on_conn;

/// Makes the caller's transaction the only one allocating in pool `pool_id` until it ends.
/// `FOR NO KEY UPDATE` does not conflict with the key-share locks that foreign-key checks
/// take, so rows that merely reference the pool are not held up.
pub(super) async fn lock_pool(conn: &mut Conn<'_>, pool_id: i64) -> Result<()> {
    if conn.is_postgres() {
        let _: Option<i64> = on_conn!(conn, c => sqlx::query_scalar(
            "SELECT id FROM ip_pools WHERE id = $1 FOR NO KEY UPDATE")
            .bind(pool_id).fetch_optional(c).await)?;
    }
    Ok(())
}

/// The pool and address service `service_id` holds, if any.
pub(super) async fn held_by(
    conn: &mut Conn<'_>,
    service_id: i64,
) -> Result<Option<(i64, Ipv4Addr)>> {
    let row: Option<(i64, String)> = on_conn!(conn, c => sqlx::query_as(
        "SELECT pool_id, address FROM ip_assignments WHERE service_id = $1")
        .bind(service_id).fetch_optional(c).await)?;
    row.map(|(pool, address)| Ok((pool, parse(&address)?)))
        .transpose()
}

/// Every row of pool `pool_id`: address, holder, release time.
pub(super) async fn rows(
    conn: &mut Conn<'_>,
    pool_id: i64,
) -> Result<Vec<(Ipv4Addr, Option<i64>, Option<DateTime<Utc>>)>> {
    let rows: Vec<(String, Option<i64>, Option<DateTime<Utc>>)> = on_conn!(conn, c => sqlx::query_as(
        "SELECT address, service_id, released_at FROM ip_assignments WHERE pool_id = $1")
        .bind(pool_id).fetch_all(c).await)?;
    rows.into_iter()
        .map(|(address, service, released)| Ok((parse(&address)?, service, released)))
        .collect()
}

/// The holder and release time of `address` in pool `pool_id`, if it has a row.
pub(super) async fn find(
    conn: &mut Conn<'_>,
    pool_id: i64,
    address: Ipv4Addr,
) -> Result<Option<(Option<i64>, Option<DateTime<Utc>>)>> {
    Ok(on_conn!(conn, c => sqlx::query_as(
        "SELECT service_id, released_at FROM ip_assignments WHERE pool_id = $1 AND address = $2")
        .bind(pool_id).bind(address.to_string()).fetch_optional(c).await)?)
}

/// Gives a never-assigned `address` to the service; `false` when the address has a row
/// already (a concurrent writer's, or a released one). A clash on the service's own key is
/// the raw error, for the caller to report.
pub(super) async fn insert(
    conn: &mut Conn<'_>,
    pool_id: i64,
    address: Ipv4Addr,
    service_id: i64,
    now: DateTime<Utc>,
) -> std::result::Result<bool, sqlx::Error> {
    let id: Option<i64> = on_conn!(conn, c => sqlx::query_scalar(
        "INSERT INTO ip_assignments (pool_id, address, service_id, assigned_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (pool_id, address) DO NOTHING RETURNING id")
        .bind(pool_id)
        .bind(address.to_string())
        .bind(service_id)
        .bind(now)
        .fetch_optional(c).await)?;
    Ok(id.is_some())
}

/// Gives a released `address` whose quarantine ended by `cutoff` to the service; `false`
/// when it is not free (any more).
pub(super) async fn take_over(
    conn: &mut Conn<'_>,
    pool_id: i64,
    address: Ipv4Addr,
    service_id: i64,
    now: DateTime<Utc>,
    cutoff: DateTime<Utc>,
) -> std::result::Result<bool, sqlx::Error> {
    let done = on_conn!(conn, c => sqlx::query(
        "UPDATE ip_assignments SET service_id = $3, assigned_at = $4, released_at = NULL \
         WHERE pool_id = $1 AND address = $2 AND service_id IS NULL \
         AND (released_at IS NULL OR released_at <= $5)")
        .bind(pool_id)
        .bind(address.to_string())
        .bind(service_id)
        .bind(now)
        .bind(cutoff)
        .execute(c).await.map(|d| d.rows_affected()))?;
    Ok(done == 1)
}

/// Takes back the address of service `service_id`; answers it.
pub(super) async fn release(
    conn: &mut Conn<'_>,
    service_id: i64,
    now: DateTime<Utc>,
) -> Result<Option<Ipv4Addr>> {
    let address: Option<String> = on_conn!(conn, c => sqlx::query_scalar(
        "UPDATE ip_assignments SET service_id = NULL, released_at = $2 \
         WHERE service_id = $1 RETURNING address")
        .bind(service_id).bind(now).fetch_optional(c).await)?;
    address.as_deref().map(parse).transpose()
}

/// How many addresses of pool `pool_id` are assigned, and how many were released after
/// `cutoff` (still quarantined).
pub(super) async fn counts(
    conn: &mut Conn<'_>,
    pool_id: i64,
    cutoff: DateTime<Utc>,
) -> Result<(i64, i64)> {
    let assigned: i64 = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM ip_assignments WHERE pool_id = $1 AND service_id IS NOT NULL")
        .bind(pool_id).fetch_one(c).await)?;
    let quarantined: i64 = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM ip_assignments WHERE pool_id = $1 AND service_id IS NULL \
         AND released_at > $2")
        .bind(pool_id).bind(cutoff).fetch_one(c).await)?;
    Ok((assigned, quarantined))
}

/// Sets pool `pool_id`'s usage mark to `high`; answers whether it changed (so that of
/// concurrent writers only one sees the crossing).
pub(super) async fn set_usage_high(conn: &mut Conn<'_>, pool_id: i64, high: bool) -> Result<bool> {
    let done = on_conn!(conn, c => sqlx::query(
        "UPDATE ip_pools SET usage_high = $2 WHERE id = $1 AND usage_high <> $2")
        .bind(pool_id).bind(high)
        .execute(c).await.map(|d| d.rows_affected()))?;
    Ok(done == 1)
}

fn parse(address: &str) -> Result<Ipv4Addr> {
    address
        .parse()
        .map_err(|_| anyhow::anyhow!("ip_assignments holds a bad address {address:?}").into())
}

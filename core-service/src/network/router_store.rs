//! Router SQL, one text for both engines, with the `nas` mirror FreeRADIUS reads. Only the
//! row lock differs: PostgreSQL takes `FOR UPDATE`; SQLite needs none because its write
//! transactions are `IMMEDIATE` and so already exclusive.

use std::net::Ipv4Addr;

use chrono::{DateTime, Utc};
use lastmile_proto::RestName;
use lastmile_proto::v1::RouterKind;
use sqlx::AssertSqlSafe;

use super::routers::{Router, RouterFields, RouterSecret};
use crate::db::Conn;
use crate::error::Result;
use crate::on_conn;

const COLUMNS: &str = "id, name, ip_address, kind, coa_port, location, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct RouterRow {
    id: i64,
    name: String,
    ip_address: String,
    kind: String,
    coa_port: i32,
    location: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl RouterRow {
    fn into_router(self) -> Result<Router> {
        let ip_address = self
            .ip_address
            .parse()
            .map_err(|_| anyhow::anyhow!("router {} has a bad ip_address", self.id))?;
        let kind = RouterKind::from_rest_name(&self.kind).ok_or_else(|| {
            anyhow::anyhow!("router {} has unknown kind {:?}", self.id, self.kind)
        })?;
        Ok(Router {
            id: self.id,
            fields: RouterFields {
                name: self.name,
                ip_address,
                kind,
                coa_port: self.coa_port,
                location: self.location,
            },
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// Router `id`, locked for the transaction when `lock`.
pub(super) async fn find(conn: &mut Conn<'_>, id: i64, lock: bool) -> Result<Option<Router>> {
    let lock = if lock && conn.is_postgres() {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!("SELECT {COLUMNS} FROM routers WHERE id = $1{lock}");
    let row: Option<RouterRow> = on_conn!(conn, c => sqlx::query_as(AssertSqlSafe(sql))
        .bind(id).fetch_optional(c).await)?;
    row.map(RouterRow::into_router).transpose()
}

/// Whether router `id` exists.
pub(super) async fn exists(conn: &mut Conn<'_>, id: i64) -> Result<bool> {
    let found: Option<i64> = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT id FROM routers WHERE id = $1")
        .bind(id).fetch_optional(c).await)?;
    Ok(found.is_some())
}

/// Whether another router (not `except`) has `name`, ignoring case.
pub(super) async fn name_taken(
    conn: &mut Conn<'_>,
    name: &str,
    except: Option<i64>,
) -> Result<bool> {
    let found: Option<i64> = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT id FROM routers WHERE lower(name) = lower($1) AND ($2 IS NULL OR id <> $2) LIMIT 1")
        .bind(name).bind(except).fetch_optional(c).await)?;
    Ok(found.is_some())
}

/// Whether another router (not `except`) has address `ip`.
pub(super) async fn ip_taken(
    conn: &mut Conn<'_>,
    ip: Ipv4Addr,
    except: Option<i64>,
) -> Result<bool> {
    let found: Option<i64> = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT id FROM routers WHERE ip_address = $1 AND ($2 IS NULL OR id <> $2) LIMIT 1")
        .bind(ip.to_string()).bind(except).fetch_optional(c).await)?;
    Ok(found.is_some())
}

/// Inserts a router; returns its id. The raw error is returned so that the caller can turn
/// a unique violation (a concurrent create of the same name or address) into a field error.
pub(super) async fn insert(
    conn: &mut Conn<'_>,
    f: &RouterFields,
    secret: &str,
    now: DateTime<Utc>,
) -> std::result::Result<i64, sqlx::Error> {
    on_conn!(conn, c => sqlx::query_scalar(
        "INSERT INTO routers (name, ip_address, kind, secret, coa_port, location, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id")
        .bind(&f.name)
        .bind(f.ip_address.to_string())
        .bind(f.kind.rest_name())
        .bind(secret)
        .bind(f.coa_port)
        .bind(&f.location)
        .bind(now)
        .fetch_one(c).await)
}

/// Writes every field of router `id`, and its secret when `secret` is given.
pub(super) async fn update(
    conn: &mut Conn<'_>,
    id: i64,
    f: &RouterFields,
    secret: Option<&str>,
    now: DateTime<Utc>,
) -> std::result::Result<(), sqlx::Error> {
    on_conn!(conn, c => sqlx::query(
        "UPDATE routers SET name = $2, ip_address = $3, kind = $4, secret = COALESCE($5, secret), \
         coa_port = $6, location = $7, updated_at = $8 WHERE id = $1")
        .bind(id)
        .bind(&f.name)
        .bind(f.ip_address.to_string())
        .bind(f.kind.rest_name())
        .bind(secret)
        .bind(f.coa_port)
        .bind(&f.location)
        .bind(now)
        .execute(c).await.map(|done| done.rows_affected()))?;
    Ok(())
}

/// Whether `secret` is router `id`'s secret.
pub(super) async fn secret_is(conn: &mut Conn<'_>, id: i64, secret: &str) -> Result<bool> {
    let found: Option<i64> = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT id FROM routers WHERE id = $1 AND secret = $2")
        .bind(id).bind(secret).fetch_optional(c).await)?;
    Ok(found.is_some())
}

/// Makes router `id`'s `nas` row (same id) say what the router's row says: FreeRADIUS
/// reads its clients from there. A row missing or changed behind Lastmile's back is
/// written anew.
pub(super) async fn mirror_nas(conn: &mut Conn<'_>, id: i64) -> Result<()> {
    on_conn!(conn, c => sqlx::query(
        "INSERT INTO nas (id, nasname, shortname, type, secret, description) \
         SELECT id, ip_address, name, kind, secret, location FROM routers WHERE id = $1 \
         ON CONFLICT (id) DO UPDATE SET nasname = excluded.nasname, shortname = excluded.shortname, \
         type = excluded.type, secret = excluded.secret, description = excluded.description")
        .bind(id)
        .execute(c).await.map(|done| done.rows_affected()))?;
    Ok(())
}

/// How many IP pools, and how many services that are not terminated, use router `id`.
pub(super) async fn users(conn: &mut Conn<'_>, id: i64) -> Result<(i64, i64)> {
    let pools: i64 = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM ip_pools WHERE router_id = $1")
        .bind(id).fetch_one(c).await)?;
    let services: i64 = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM services WHERE router_id = $1 AND status <> 'terminated'")
        .bind(id).fetch_one(c).await)?;
    Ok((pools, services))
}

/// Removes router `id` and its `nas` row. Terminated services keep their history but lose
/// the reference, which the foreign key would otherwise refuse the deletion for.
pub(super) async fn delete(conn: &mut Conn<'_>, id: i64) -> Result<()> {
    on_conn!(conn, c => sqlx::query(
        "UPDATE services SET router_id = NULL WHERE router_id = $1 AND status = 'terminated'")
        .bind(id).execute(c).await.map(|done| done.rows_affected()))?;
    on_conn!(conn, c => sqlx::query("DELETE FROM nas WHERE id = $1")
        .bind(id).execute(c).await.map(|done| done.rows_affected()))?;
    on_conn!(conn, c => sqlx::query("DELETE FROM routers WHERE id = $1")
        .bind(id).execute(c).await.map(|done| done.rows_affected()))?;
    Ok(())
}

// One WHERE clause for the page and its count; `$1` is the escaped pattern ('' for none).
const LIST_FILTER: &str = "($1 = '' OR lower(name) LIKE $1 ESCAPE '\\' \
     OR ip_address LIKE $1 ESCAPE '\\' OR lower(location) LIKE $1 ESCAPE '\\')";

/// One page of routers matching `pattern`, by name, and how many match in all.
pub(super) async fn list(
    conn: &mut Conn<'_>,
    pattern: &str,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Router>, i64)> {
    let page_sql = format!(
        "SELECT {COLUMNS} FROM routers WHERE {LIST_FILTER} ORDER BY name, id LIMIT $2 OFFSET $3"
    );
    let count_sql = format!("SELECT COUNT(*) FROM routers WHERE {LIST_FILTER}");
    let rows: Vec<RouterRow> = on_conn!(conn, c => sqlx::query_as(AssertSqlSafe(page_sql))
        .bind(pattern).bind(limit).bind(offset).fetch_all(c).await)?;
    let total: i64 = on_conn!(conn, c => sqlx::query_scalar(AssertSqlSafe(count_sql))
        .bind(pattern).fetch_one(c).await)?;
    let routers = rows
        .into_iter()
        .map(RouterRow::into_router)
        .collect::<Result<Vec<_>>>()?;
    Ok((routers, total))
}

#[derive(sqlx::FromRow)]
struct SecretRow {
    id: i64,
    name: String,
    ip_address: String,
    kind: String,
    secret: String,
    coa_port: i32,
}

/// Routers with their secrets, by id: all, or the one with `id`, or the one at `ip`.
pub(super) async fn secrets(
    conn: &mut Conn<'_>,
    id: Option<i64>,
    ip: Option<Ipv4Addr>,
) -> Result<Vec<RouterSecret>> {
    let rows: Vec<SecretRow> = on_conn!(conn, c => sqlx::query_as(
        "SELECT id, name, ip_address, kind, secret, coa_port FROM routers \
         WHERE ($1 IS NULL OR id = $1) AND ($2 IS NULL OR ip_address = $2) ORDER BY id")
        .bind(id)
        .bind(ip.map(|ip| ip.to_string()))
        .fetch_all(c).await)?;
    rows.into_iter()
        .map(|r| {
            let broken = |what: &str| anyhow::anyhow!("router {} has a bad {what}", r.id);
            Ok(RouterSecret {
                ip: r.ip_address.parse().map_err(|_| broken("ip_address"))?,
                kind: RouterKind::from_rest_name(&r.kind).ok_or_else(|| broken("kind"))?,
                coa_port: u16::try_from(r.coa_port).map_err(|_| broken("coa_port"))?,
                id: r.id,
                name: r.name,
                secret: r.secret,
            })
        })
        .collect()
}

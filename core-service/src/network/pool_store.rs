//! IP pool SQL, one text for both engines. Only the row lock differs: PostgreSQL takes
//! `FOR UPDATE`; SQLite needs none because its write transactions are `IMMEDIATE` and so
//! already exclusive.

use std::net::Ipv4Addr;

use chrono::{DateTime, Utc};
use lastmile_proto::RestName;
use lastmile_proto::v1::IpPoolKind;
use sqlx::AssertSqlSafe;

use super::address::Cidr;
use super::allocation::Usage;
use super::pools::{IpPool, PoolFields, excluded_texts};
use crate::db::Conn;
use crate::error::Result;
use crate::on_conn;

const COLUMNS: &str = "id, name, cidr, gateway, router_id, kind, excluded, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct PoolRow {
    id: i64,
    name: String,
    cidr: String,
    gateway: Option<String>,
    router_id: Option<i64>,
    kind: String,
    excluded: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl PoolRow {
    fn into_pool(self) -> Result<IpPool> {
        let broken = |what: &str| anyhow::anyhow!("ip pool {} has a bad {what}", self.id);
        let cidr = Cidr::parse(&self.cidr).map_err(|_| broken("cidr"))?;
        let gateway = match &self.gateway {
            Some(g) => Some(g.parse().map_err(|_| broken("gateway"))?),
            None => None,
        };
        let kind = IpPoolKind::from_rest_name(&self.kind).ok_or_else(|| broken("kind"))?;
        let texts: Vec<String> =
            serde_json::from_str(&self.excluded).map_err(|_| broken("excluded"))?;
        let excluded = texts
            .iter()
            .map(|t| t.parse::<Ipv4Addr>())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| broken("excluded"))?;
        Ok(IpPool {
            id: self.id,
            fields: PoolFields {
                name: self.name,
                cidr,
                gateway,
                router_id: self.router_id,
                kind,
                excluded,
            },
            usage: None,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// Pool `id` (without its usage), locked for the transaction when `lock`.
pub(super) async fn find(conn: &mut Conn<'_>, id: i64, lock: bool) -> Result<Option<IpPool>> {
    let lock = if lock && conn.is_postgres() {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!("SELECT {COLUMNS} FROM ip_pools WHERE id = $1{lock}");
    let row: Option<PoolRow> = on_conn!(conn, c => sqlx::query_as(AssertSqlSafe(sql))
        .bind(id).fetch_optional(c).await)?;
    row.map(PoolRow::into_pool).transpose()
}

/// Whether another pool (not `except`) has `name`, ignoring case.
pub(super) async fn name_taken(
    conn: &mut Conn<'_>,
    name: &str,
    except: Option<i64>,
) -> Result<bool> {
    let found: Option<i64> = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT id FROM ip_pools WHERE lower(name) = lower($1) AND ($2 IS NULL OR id <> $2) LIMIT 1")
        .bind(name).bind(except).fetch_optional(c).await)?;
    Ok(found.is_some())
}

/// Inserts a pool; returns its id. The raw error is returned so that the caller can turn a
/// unique violation (a concurrent create of the same name) into a field error.
pub(super) async fn insert(
    conn: &mut Conn<'_>,
    f: &PoolFields,
    now: DateTime<Utc>,
) -> std::result::Result<i64, sqlx::Error> {
    on_conn!(conn, c => sqlx::query_scalar(
        "INSERT INTO ip_pools (name, cidr, gateway, router_id, kind, excluded, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id")
        .bind(&f.name)
        .bind(f.cidr.to_string())
        .bind(f.gateway.map(|g| g.to_string()))
        .bind(f.router_id)
        .bind(f.kind.rest_name())
        .bind(excluded_json(&f.excluded))
        .bind(now)
        .fetch_one(c).await)
}

/// Writes every field of pool `id`.
pub(super) async fn update(
    conn: &mut Conn<'_>,
    id: i64,
    f: &PoolFields,
    now: DateTime<Utc>,
) -> std::result::Result<(), sqlx::Error> {
    on_conn!(conn, c => sqlx::query(
        "UPDATE ip_pools SET name = $2, cidr = $3, gateway = $4, router_id = $5, kind = $6, \
         excluded = $7, updated_at = $8 WHERE id = $1")
        .bind(id)
        .bind(&f.name)
        .bind(f.cidr.to_string())
        .bind(f.gateway.map(|g| g.to_string()))
        .bind(f.router_id)
        .bind(f.kind.rest_name())
        .bind(excluded_json(&f.excluded))
        .bind(now)
        .execute(c).await.map(|done| done.rows_affected()))?;
    Ok(())
}

fn excluded_json(excluded: &[Ipv4Addr]) -> String {
    serde_json::to_string(&excluded_texts(excluded)).unwrap_or_else(|_| "[]".into())
}

/// The addresses of pool `id` that services hold.
pub(super) async fn assigned(conn: &mut Conn<'_>, id: i64) -> Result<Vec<Ipv4Addr>> {
    let rows: Vec<String> = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT address FROM ip_assignments WHERE pool_id = $1 AND service_id IS NOT NULL")
        .bind(id).fetch_all(c).await)?;
    Ok(rows.iter().filter_map(|a| a.parse().ok()).collect())
}

/// Forgets the released addresses of pool `id` that `keep` refuses (no longer handed out:
/// outside a new network, or now the gateway or excluded), so that every row of a pool is
/// an address it hands out and its usage adds up.
pub(super) async fn prune_released(
    conn: &mut Conn<'_>,
    id: i64,
    keep: impl Fn(Ipv4Addr) -> bool,
) -> Result<()> {
    let rows: Vec<(i64, String)> = on_conn!(conn, c => sqlx::query_as(
        "SELECT id, address FROM ip_assignments WHERE pool_id = $1 AND service_id IS NULL")
        .bind(id).fetch_all(c).await)?;
    for (row, address) in rows {
        if address.parse().is_ok_and(&keep) {
            continue;
        }
        on_conn!(conn, c => sqlx::query("DELETE FROM ip_assignments WHERE id = $1")
            .bind(row).execute(c).await.map(|d| d.rows_affected()))?;
    }
    Ok(())
}

/// What holds on to pool `id`: assigned addresses, plans naming it, and services that are
/// not terminated naming it.
pub(super) async fn users(conn: &mut Conn<'_>, id: i64) -> Result<(i64, i64, i64)> {
    let assigned: i64 = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM ip_assignments WHERE pool_id = $1 AND service_id IS NOT NULL")
        .bind(id).fetch_one(c).await)?;
    let plans: i64 = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM plans WHERE ip_pool_id = $1")
        .bind(id).fetch_one(c).await)?;
    let services: i64 = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM services WHERE ip_pool_id = $1 AND status <> 'terminated'")
        .bind(id).fetch_one(c).await)?;
    Ok((assigned, plans, services))
}

/// Removes pool `id` with its released addresses. Terminated services keep their history
/// but lose the reference, which the foreign key would otherwise refuse the deletion for.
pub(super) async fn delete(conn: &mut Conn<'_>, id: i64) -> Result<()> {
    on_conn!(conn, c => sqlx::query(
        "UPDATE services SET ip_pool_id = NULL WHERE ip_pool_id = $1 AND status = 'terminated'")
        .bind(id).execute(c).await.map(|d| d.rows_affected()))?;
    on_conn!(conn, c => sqlx::query("DELETE FROM ip_assignments WHERE pool_id = $1")
        .bind(id).execute(c).await.map(|d| d.rows_affected()))?;
    on_conn!(conn, c => sqlx::query("DELETE FROM ip_pools WHERE id = $1")
        .bind(id).execute(c).await.map(|d| d.rows_affected()))?;
    Ok(())
}

// One WHERE clause for the page and its count: `$1` is the escaped pattern ('' for none),
// `$2` the router (NULL for any).
const LIST_FILTER: &str = "($1 = '' OR lower(name) LIKE $1 ESCAPE '\\' OR cidr LIKE $1 ESCAPE '\\') \
     AND ($2 IS NULL OR router_id = $2)";

#[derive(sqlx::FromRow)]
struct ListedRow {
    #[sqlx(flatten)]
    pool: PoolRow,
    assigned: i64,
    quarantined: i64,
}

/// One page of pools matching the filters, by name, each with its usage at `cutoff` (the
/// quarantine's start), and how many match in all.
pub(super) async fn list(
    conn: &mut Conn<'_>,
    pattern: &str,
    router_id: Option<i64>,
    cutoff: DateTime<Utc>,
    (limit, offset): (i64, i64),
) -> Result<(Vec<IpPool>, i64)> {
    let page_sql = format!(
        "SELECT {COLUMNS}, \
         (SELECT COUNT(*) FROM ip_assignments a WHERE a.pool_id = ip_pools.id \
          AND a.service_id IS NOT NULL) AS assigned, \
         (SELECT COUNT(*) FROM ip_assignments a WHERE a.pool_id = ip_pools.id \
          AND a.service_id IS NULL AND a.released_at > $3) AS quarantined \
         FROM ip_pools WHERE {LIST_FILTER} ORDER BY name, id LIMIT $4 OFFSET $5"
    );
    let count_sql = format!("SELECT COUNT(*) FROM ip_pools WHERE {LIST_FILTER}");
    let rows: Vec<ListedRow> = on_conn!(conn, c => sqlx::query_as(AssertSqlSafe(page_sql))
        .bind(pattern).bind(router_id).bind(cutoff).bind(limit).bind(offset)
        .fetch_all(c).await)?;
    let total: i64 = on_conn!(conn, c => sqlx::query_scalar(AssertSqlSafe(count_sql))
        .bind(pattern).bind(router_id).fetch_one(c).await)?;
    let pools = rows
        .into_iter()
        .map(|row| {
            let mut pool = row.pool.into_pool()?;
            if pool.fields.kind == IpPoolKind::Static {
                let total = pool.fields.capacity();
                pool.usage = Some(Usage::new(total, row.assigned, row.quarantined));
            }
            Ok(pool)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((pools, total))
}

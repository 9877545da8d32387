//! A service's static address, taken from and given back to its IP pool in the
//! transaction of the service's change: the pool's unique keys make a double assignment
//! impossible, and a released address rests in quarantine before another service gets it.

use std::net::Ipv4Addr;

use chrono::{DateTime, Utc};

use super::input::Checked;
use super::store;
use crate::db::Conn;
use crate::error::{Error, FieldErrors, Result};
use crate::network::{self, Cidr, NetworkSettings};
use crate::on_conn;

/// What a service holds now: its pool and address.
pub(super) type Held = Option<(Option<i64>, Option<String>)>;

/// Gives service `id` the address `checked` asks for (a pool, an address, or both), or
/// none; an address it held and no longer asks for goes back to its pool.
pub(super) async fn assign(
    conn: &mut Conn<'_>,
    id: i64,
    checked: &Checked,
    held: Held,
    now: DateTime<Utc>,
    settings: &NetworkSettings,
) -> Result<()> {
    let requested = checked
        .static_ip
        .as_deref()
        .map(str::parse::<Ipv4Addr>)
        .transpose()
        .map_err(|_| refused("The static ip must be an IPv4 address."))?;
    if let Some((pool, address)) = held {
        let keeps = pool.is_some()
            && pool == checked.ip_pool_id
            && (requested.is_none() || requested.map(|r| r.to_string()) == address);
        if !keeps {
            network::release(conn, id, now).await?;
        }
    }
    let pool = match (checked.ip_pool_id, requested) {
        (None, None) => return store::set_address(conn, id, None, None).await,
        (Some(pool), _) => pool,
        (None, Some(address)) => pool_containing(conn, address).await?,
    };
    let address = network::allocate(conn, pool, requested, id, now, settings).await?;
    store::set_address(conn, id, Some(pool), Some(&address.to_string())).await
}

/// Gives the address of service `id` back to its pool (its quarantine starts now).
pub(super) async fn release(conn: &mut Conn<'_>, id: i64, now: DateTime<Utc>) -> Result<()> {
    network::release(conn, id, now).await?;
    Ok(())
}

/// The static pool whose network holds `address`, for a service that names an address
/// and no pool.
async fn pool_containing(conn: &mut Conn<'_>, address: Ipv4Addr) -> Result<i64> {
    let pools: Vec<(i64, String)> = on_conn!(conn, c => sqlx::query_as(
        "SELECT id, cidr FROM ip_pools WHERE kind = 'static' ORDER BY id")
        .fetch_all(c)
        .await)?;
    pools
        .into_iter()
        .find(|(_, cidr)| Cidr::parse(cidr).is_ok_and(|cidr| cidr.contains(address)))
        .map(|(id, _)| id)
        .ok_or_else(|| refused(&format!("No static IP pool holds the address {address}.")))
}

fn refused(message: &str) -> Error {
    let mut errors = FieldErrors::new();
    errors.add("static_ip", message);
    Error::Validation(errors)
}

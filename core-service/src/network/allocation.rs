//! Static addresses: handing one out to a service, taking it back, and what a pool's
//! addresses are doing. Every function runs on its caller's connection, inside the
//! caller's transaction (the services domain creates a service and its address together).
//!
//! Concurrency: the unique keys of `ip_assignments` (one row per address of a pool, one
//! address per service) are the guarantee. A new address is claimed with an insert that
//! does nothing on conflict, a released one with an update conditional on it still being
//! free; a claim that finds the address taken by a concurrent writer moves on to the next
//! candidate, a bounded number of times. On PostgreSQL the pool's row is also locked
//! first (`FOR NO KEY UPDATE`, which foreign-key checks do not wait for), so allocations in
//! one pool queue instead of all racing for the same lowest address, and the usage that
//! decides the 90 % alert is exact. SQLite's `IMMEDIATE` transactions queue them anyway.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use chrono::{DateTime, Utc};
use lastmile_proto::v1::IpPoolKind;

use super::allocation_store as store;
use super::pools::PoolFields;
use super::{NetworkSettings, pool_store, usage_alert};
use crate::db::{Conn, unique_violation};
use crate::error::{Error, FieldErrors, Result};

/// Lost races one allocation tolerates before it asks the caller to retry.
const MAX_LOST_RACES: usize = 64;
/// A static pool this used (in percent) raises `ip_pool.usage_high`.
const HIGH_PERCENT: i64 = 90;

/// What a static pool's addresses are doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Addresses it can hand out: its hosts less the gateway and the excluded addresses.
    pub total: i64,
    /// Held by a service.
    pub assigned: i64,
    /// Released less than the quarantine ago.
    pub quarantined: i64,
    /// Neither.
    pub free: i64,
}

impl Usage {
    /// The usage of a pool of `total` addresses with these counts.
    pub fn new(total: i64, assigned: i64, quarantined: i64) -> Self {
        Self {
            total,
            assigned,
            quarantined,
            free: (total - assigned - quarantined).max(0),
        }
    }

    /// Addresses not free to hand out.
    pub fn used(self) -> i64 {
        self.assigned + self.quarantined
    }

    /// `used / total` in percent, rounded down to two decimals (0 for an empty pool).
    pub fn percent(self) -> f64 {
        if self.total <= 0 {
            return 0.0;
        }
        let hundredths = (self.used().min(self.total) * 10_000) / self.total;
        // At most 10 000: exact in an f64.
        hundredths as f64 / 100.0
    }

    fn is_high(self) -> bool {
        self.total > 0 && self.used() * 100 >= self.total * HIGH_PERCENT
    }
}

/// Hands out an address of static pool `pool_id` to service `service_id`: `requested` if
/// given (inside the pool, not reserved, free), else the lowest free one. An address
/// released less than `settings.ip_quarantine` before `now` is not free. A service that
/// already holds an address of this pool gets it back. Refusals are validation errors on
/// `static_ip` (`ip_pool_id` for a pool that does not exist).
pub async fn allocate(
    conn: &mut Conn<'_>,
    pool_id: i64,
    requested: Option<Ipv4Addr>,
    service_id: i64,
    now: DateTime<Utc>,
    settings: &NetworkSettings,
) -> Result<Ipv4Addr> {
    store::lock_pool(conn, pool_id).await?;
    let Some(pool) = pool_store::find(conn, pool_id, false).await? else {
        return Err(refused("ip_pool_id", "The selected ip pool id is invalid."));
    };
    let fields = pool.fields;
    if fields.kind == IpPoolKind::Dynamic {
        return Err(refused(
            "static_ip",
            "The IP pool is dynamic; static addresses come from static pools.",
        ));
    }
    if let Some((held_pool, held)) = store::held_by(conn, service_id).await? {
        if held_pool == pool_id && requested.is_none_or(|r| r == held) {
            return Ok(held);
        }
        return Err(refused(
            "static_ip",
            format!("The service already holds the address {held}; release it first."),
        ));
    }
    let cutoff = quarantine_cutoff(now, settings);
    let address = match requested {
        Some(address) => {
            claim_requested(
                conn, pool_id, &fields, address, service_id, now, cutoff, settings,
            )
            .await?
        }
        None => claim_next(conn, pool_id, &fields, service_id, now, cutoff).await?,
    };
    let after = usage_at(conn, pool_id, &fields, cutoff).await?;
    let before = Usage::new(after.total, after.assigned - 1, after.quarantined);
    if !before.is_high() {
        // Below the mark before this address: the next crossing raises the alert again.
        store::set_usage_high(conn, pool_id, false).await?;
    }
    if after.is_high() && store::set_usage_high(conn, pool_id, true).await? {
        usage_alert::enqueue(conn, pool_id, now).await?;
    }
    Ok(address)
}

/// Takes back the address service `service_id` holds, if any; its quarantine starts
/// `now`.
pub async fn release(
    conn: &mut Conn<'_>,
    service_id: i64,
    now: DateTime<Utc>,
) -> Result<Option<Ipv4Addr>> {
    store::release(conn, service_id, now).await
}

/// What the addresses of pool `pool_id` are doing at `now` (a dynamic pool's are the
/// router's business: its usage is all zero).
pub async fn usage(
    conn: &mut Conn<'_>,
    pool_id: i64,
    now: DateTime<Utc>,
    settings: &NetworkSettings,
) -> Result<Usage> {
    let Some(pool) = pool_store::find(conn, pool_id, false).await? else {
        return Err(Error::NotFound("IP pool"));
    };
    if pool.fields.kind != IpPoolKind::Static {
        return Ok(Usage::default());
    }
    usage_at(
        conn,
        pool_id,
        &pool.fields,
        quarantine_cutoff(now, settings),
    )
    .await
}

/// Addresses released after this are still quarantined at `now`. Never before 1970 (no
/// release is older), which also keeps it inside what PostgreSQL can store.
pub(super) fn quarantine_cutoff(now: DateTime<Utc>, settings: &NetworkSettings) -> DateTime<Utc> {
    now.checked_sub_signed(settings.quarantine())
        .unwrap_or(DateTime::UNIX_EPOCH)
        .max(DateTime::UNIX_EPOCH)
}

pub(super) async fn usage_at(
    conn: &mut Conn<'_>,
    pool_id: i64,
    fields: &PoolFields,
    cutoff: DateTime<Utc>,
) -> Result<Usage> {
    let (assigned, quarantined) = store::counts(conn, pool_id, cutoff).await?;
    Ok(Usage::new(fields.capacity(), assigned, quarantined))
}

/// Claims `address`, or says why it cannot be had.
#[allow(clippy::too_many_arguments)]
async fn claim_requested(
    conn: &mut Conn<'_>,
    pool_id: i64,
    fields: &PoolFields,
    address: Ipv4Addr,
    service_id: i64,
    now: DateTime<Utc>,
    cutoff: DateTime<Utc>,
    settings: &NetworkSettings,
) -> Result<Ipv4Addr> {
    let cidr = fields.cidr;
    if !cidr.contains(address) {
        return Err(refused(
            "static_ip",
            format!("The address is outside the pool {cidr}."),
        ));
    }
    if !fields.hands_out(address) {
        return Err(refused(
            "static_ip",
            format!(
                "The address {address} is reserved in the pool {cidr} (network, broadcast, \
                 gateway or excluded)."
            ),
        ));
    }
    if claim(conn, pool_id, address, service_id, now, cutoff, None).await? {
        return Ok(address);
    }
    let message = match store::find(conn, pool_id, address).await? {
        Some((None, Some(released))) => {
            let until = released
                .checked_add_signed(settings.quarantine())
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            format!(
                "The address {address} was released recently and is quarantined until {}.",
                until.format("%Y-%m-%dT%H:%M:%S%.6fZ")
            )
        }
        _ => format!("The address {address} is already assigned."),
    };
    Err(refused("static_ip", message))
}

/// Claims the lowest free address of the pool.
async fn claim_next(
    conn: &mut Conn<'_>,
    pool_id: i64,
    fields: &PoolFields,
    service_id: i64,
    now: DateTime<Utc>,
    cutoff: DateTime<Utc>,
) -> Result<Ipv4Addr> {
    let mut blocked = HashSet::new();
    let mut reusable = HashSet::new();
    for (address, service, released_at) in store::rows(conn, pool_id).await? {
        let free = service.is_none() && released_at.is_none_or(|at| at <= cutoff);
        if free {
            reusable.insert(address);
        } else {
            blocked.insert(address);
        }
    }
    let mut lost = 0;
    for address in fields.cidr.hosts() {
        if blocked.contains(&address) || !fields.hands_out(address) {
            continue;
        }
        let released = Some(reusable.contains(&address));
        if claim(conn, pool_id, address, service_id, now, cutoff, released).await? {
            return Ok(address);
        }
        // A concurrent allocation took it first: the next one, a bounded number of times.
        lost += 1;
        if lost >= MAX_LOST_RACES {
            return Err(Error::Overloaded(
                "The IP pool is busy handing out addresses; retry in a moment.",
            ));
        }
    }
    Err(refused("static_ip", "The IP pool is exhausted."))
}

/// Tries to give `address` to the service: as a new row, or by taking over a released
/// row whose quarantine is over (`released`: which one it is, when known). Answers whether
/// it now belongs to the service.
async fn claim(
    conn: &mut Conn<'_>,
    pool_id: i64,
    address: Ipv4Addr,
    service_id: i64,
    now: DateTime<Utc>,
    cutoff: DateTime<Utc>,
    released: Option<bool>,
) -> Result<bool> {
    if released != Some(true)
        && store::insert(conn, pool_id, address, service_id, now)
            .await
            .map_err(service_clash)?
    {
        return Ok(true);
    }
    if released == Some(false) {
        return Ok(false);
    }
    store::take_over(conn, pool_id, address, service_id, now, cutoff)
        .await
        .map_err(service_clash)
}

/// The service's own unique key refused the claim: a concurrent allocation gave it an
/// address first.
fn service_clash(err: sqlx::Error) -> Error {
    if unique_violation(&err).is_some() {
        return refused("static_ip", "The service already holds an address.");
    }
    err.into()
}

fn refused(field: &str, message: impl Into<String>) -> Error {
    let mut errors = FieldErrors::new();
    errors.add(field, message);
    Error::Validation(errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_counts_what_is_not_free_and_rounds_down() {
        let usage = Usage::new(126, 100, 13);
        assert_eq!(usage.free, 13);
        assert_eq!(usage.percent(), 89.68);
        assert!(!usage.is_high());
        assert!(Usage::new(10, 9, 0).is_high());
        assert!(!Usage::new(10, 8, 0).is_high());
        assert_eq!(Usage::new(0, 0, 0).percent(), 0.0);
        assert_eq!(Usage::new(3, 1, 0).percent(), 33.33);
        assert_eq!(Usage::new(2, 3, 1).free, 0);
        assert_eq!(Usage::new(2, 3, 1).percent(), 100.0);
    }
}

//! The network as RADIUS sees it: routers (the NAS that ask FreeRADIUS about subscribers)
//! and IP pools (static pools hand out one address per service; dynamic ones name a pool
//! on the router).
//!
//! A router's row and its mirror in FreeRADIUS's `nas` table (same id) change in one
//! transaction, so FreeRADIUS never trusts a NAS Lastmile does not know, or the reverse.
//! Its RADIUS secret is write-only: it reaches the `nas` row and the functions other
//! domains call to talk to the router ([`all_routers_with_secrets`], [`router_secret`],
//! [`router_by_ip`]), never an answer, an audit entry or an event.
//!
//! `address` reads networks, `routers` and `pools` hold the types and field rules (with
//! their operations in `router_service` and `pool_service` and their SQL in the `*_store`
//! files), `allocation` hands out static addresses inside the caller's transaction,
//! `usage_alert` raises `ip_pool.usage_high`, and `grpc` (with `convert`) is the adapter.

pub mod address;
pub mod allocation;
mod allocation_store;
mod convert;
pub mod grpc;
mod pool_service;
mod pool_store;
pub mod pools;
mod router_service;
mod router_store;
pub mod routers;
mod usage_alert;

use std::sync::Arc;
use std::time::Duration;

use crate::clock::SharedClock;
use crate::db::Db;

pub use address::Cidr;
pub use allocation::{Usage, allocate, release, usage};
pub use pools::{IpPool, IpPoolInput, PoolFields};
pub use routers::{
    Router, RouterFields, RouterInput, RouterSecret, all_routers_with_secrets, router_by_ip,
    router_secret,
};
pub use usage_alert::{USAGE_ALERT_KIND, register};

/// How the network behaves in this deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSettings {
    /// How long a released static address waits before it is handed out again, so that a
    /// new subscriber never receives traffic (or blame) meant for the previous one.
    pub ip_quarantine: Duration,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        Self {
            ip_quarantine: Duration::from_secs(24 * 3600),
        }
    }
}

impl NetworkSettings {
    /// The quarantine as a span of the clock's time (a quarantine too long to represent
    /// never ends).
    pub fn quarantine(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.ip_quarantine).unwrap_or(chrono::Duration::MAX)
    }
}

/// The router and IP pool operations.
#[derive(Debug, Clone)]
pub struct Network {
    db: Db,
    clock: SharedClock,
    settings: Arc<NetworkSettings>,
}

impl Network {
    /// The operations over `db`.
    pub fn new(db: Db, clock: SharedClock, settings: NetworkSettings) -> Self {
        Self {
            db,
            clock,
            settings: Arc::new(settings),
        }
    }

    /// The deployment's settings (what [`allocate`] needs).
    pub fn settings(&self) -> &NetworkSettings {
        &self.settings
    }
}

/// The message for a name another router (or pool) already has.
pub const NAME_TAKEN: &str = "The name has already been taken.";

/// `name` of a router or a pool: required, trimmed, within
/// [`lastmile_proto::NETWORK_NAME_LENGTH`].
fn name(raw: &str) -> Result<String, String> {
    let (min, max) = lastmile_proto::NETWORK_NAME_LENGTH;
    let value = raw.trim();
    let length = value.chars().count();
    if value.is_empty() {
        Err("The name field is required.".into())
    } else if length < min {
        Err(format!("The name must be at least {min} characters."))
    } else if length > max {
        Err(format!(
            "The name may not be greater than {max} characters."
        ))
    } else {
        Ok(value.to_owned())
    }
}

/// The fields an update mask names, each once; every path that is not one of `fields` is
/// reported on `update_mask`.
fn selected<'a>(paths: &[String], fields: &[&'a str]) -> Result<Vec<&'a str>, crate::error::Error> {
    let mut chosen = Vec::new();
    let mut errors = crate::error::FieldErrors::new();
    for path in paths {
        match fields.iter().find(|f| **f == path.as_str()) {
            Some(field) if !chosen.contains(field) => chosen.push(*field),
            Some(_) => {}
            None => errors.add(
                "update_mask",
                format!("The field \"{path}\" cannot be updated."),
            ),
        }
    }
    errors.into_result()?;
    Ok(chosen)
}

/// "1 IP pool" or "2 IP pools" ("2 addresses").
fn counted(n: i64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else if noun.ends_with('s') {
        format!("{n} {noun}es")
    } else {
        format!("{n} {noun}s")
    }
}

/// A LIKE pattern for a search text: lower-cased with `%`, `_` and `\` escaped; empty for
/// no search.
fn search_pattern(search: &str) -> String {
    let search = search.trim();
    if search.is_empty() {
        return String::new();
    }
    let escaped = search
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_required_trimmed_and_bounded() {
        assert_eq!(name("  ").unwrap_err(), "The name field is required.");
        assert_eq!(
            name("x").unwrap_err(),
            "The name must be at least 2 characters."
        );
        assert_eq!(
            name(&"x".repeat(65)).unwrap_err(),
            "The name may not be greater than 64 characters."
        );
        assert_eq!(name(" Core-1 ").unwrap(), "Core-1");
    }

    #[test]
    fn update_masks_name_known_fields_once() {
        let paths = |p: &[&str]| p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            selected(&paths(&["name", "kind", "name"]), &["name", "kind"]).unwrap(),
            ["name", "kind"]
        );
        assert!(selected(&paths(&["secret_set"]), &["name"]).is_err());
        assert_eq!(counted(1, "IP pool"), "1 IP pool");
        assert_eq!(counted(3, "service"), "3 services");
        assert_eq!(counted(2, "address"), "2 addresses");
        assert_eq!(search_pattern(" 10.0_ "), "%10.0\\_%");
    }
}

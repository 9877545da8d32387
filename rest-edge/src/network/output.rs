//! The JSON of routers and IP pools. A router's RADIUS secret is write-only: its JSON says
//! only that one is set.

use crate::base_url::BaseUrl;
use crate::format::{SelfLink, timestamp};
use lastmile_proto::RestName;
use lastmile_proto::v1::{IpPool, IpPoolKind, IpPoolUsage, Router, RouterKind};
use serde::Serialize;
use utoipa::ToSchema;

/// A router (NAS).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RouterJson {
    /// Router id (also its FreeRADIUS `nas` row's).
    pub id: i64,
    /// Unique name, ignoring case.
    pub name: String,
    /// The address its RADIUS requests come from; unique.
    #[schema(example = "10.0.0.1")]
    pub ip_address: String,
    /// `mikrotik`, `cisco`, `ubiquiti` or `other`.
    #[schema(example = "mikrotik")]
    pub kind: &'static str,
    /// Always true: a RADIUS secret is set. The secret itself is never shown.
    pub secret_set: bool,
    /// The UDP port it takes CoA and Disconnect requests on.
    #[schema(example = 3799)]
    pub coa_port: i32,
    /// Where it stands.
    pub location: Option<String>,
    /// RFC 3339 UTC with microseconds.
    #[schema(value_type = String, example = "2024-01-15T10:30:00.000000Z")]
    pub created_at: Option<String>,
    /// RFC 3339 UTC with microseconds.
    #[schema(value_type = String, example = "2024-01-15T10:30:00.000000Z")]
    pub updated_at: Option<String>,
    /// Links to this resource.
    // Left out of JSON rendered outside a request (an event's data): no base URL there.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = SelfLink, required = true)]
    pub links: Option<SelfLink>,
}

impl RouterJson {
    /// The JSON of a router of the collection at `path`; links start at `base`.
    pub(crate) fn new(r: Router, base: &BaseUrl, path: &str) -> Self {
        Self {
            links: SelfLink::new(base, path, r.id),
            id: r.id,
            name: r.name,
            ip_address: r.ip_address,
            kind: RouterKind::rest_name_of(r.kind),
            secret_set: r.secret_set,
            coa_port: r.coa_port,
            location: r.location,
            created_at: timestamp(r.created_at),
            updated_at: timestamp(r.updated_at),
        }
    }
}

/// What a static pool's addresses are doing.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IpPoolUsageJson {
    /// Addresses it can hand out: its hosts (without network and broadcast up to /30)
    /// less the gateway and the excluded addresses.
    pub total: i64,
    /// Held by a service.
    pub assigned: i64,
    /// Released less than the quarantine (24 hours by default) ago.
    pub quarantined: i64,
    /// Neither assigned nor quarantined.
    pub free: i64,
    /// (assigned + quarantined) / total in percent, rounded down to two decimals.
    #[schema(example = 42.5)]
    pub percent: f64,
}

impl From<IpPoolUsage> for IpPoolUsageJson {
    fn from(u: IpPoolUsage) -> Self {
        Self {
            total: u.total,
            assigned: u.assigned,
            quarantined: u.quarantined,
            free: u.free,
            percent: u.percent,
        }
    }
}

/// An IP pool.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IpPoolJson {
    /// Pool id.
    pub id: i64,
    /// Unique name, ignoring case; a dynamic pool's is the router's pool name.
    pub name: String,
    /// The IPv4 network.
    #[schema(example = "10.0.0.0/24")]
    pub cidr: String,
    /// The subscribers' gateway, a host of the network.
    pub gateway: Option<String>,
    /// The router serving it.
    pub router_id: Option<i64>,
    /// `static` (Lastmile hands out fixed addresses) or `dynamic` (the router does).
    #[schema(example = "static")]
    pub kind: &'static str,
    /// Addresses of the network never handed out, ascending.
    pub excluded: Vec<String>,
    /// For static pools: what the addresses are doing; null for dynamic pools.
    pub usage: Option<IpPoolUsageJson>,
    /// RFC 3339 UTC with microseconds.
    #[schema(value_type = String, example = "2024-01-15T10:30:00.000000Z")]
    pub created_at: Option<String>,
    /// RFC 3339 UTC with microseconds.
    #[schema(value_type = String, example = "2024-01-15T10:30:00.000000Z")]
    pub updated_at: Option<String>,
    /// Links to this resource.
    // Left out of JSON rendered outside a request (an event's data): no base URL there.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = SelfLink, required = true)]
    pub links: Option<SelfLink>,
}

impl IpPoolJson {
    /// The JSON of a pool of the collection at `path`; links start at `base`.
    pub(crate) fn new(p: IpPool, base: &BaseUrl, path: &str) -> Self {
        Self {
            links: SelfLink::new(base, path, p.id),
            id: p.id,
            name: p.name,
            cidr: p.cidr,
            gateway: p.gateway,
            router_id: p.router_id,
            kind: IpPoolKind::rest_name_of(p.kind),
            excluded: p.excluded,
            usage: p.usage.map(Into::into),
            created_at: timestamp(p.created_at),
            updated_at: timestamp(p.updated_at),
        }
    }
}

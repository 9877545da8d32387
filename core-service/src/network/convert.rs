//! Routers and IP pools between the domain and the contract's messages.

use lastmile_proto::timestamp;
use lastmile_proto::v1 as pb;

use super::allocation::Usage;
use super::pools::{IpPool, IpPoolInput, excluded_texts};
use super::routers::{Router, RouterInput};

impl From<Router> for pb::Router {
    fn from(r: Router) -> Self {
        let f = r.fields;
        Self {
            id: r.id,
            name: f.name,
            ip_address: f.ip_address.to_string(),
            kind: f.kind as i32,
            // A router cannot exist without its secret; the secret itself never leaves.
            secret_set: true,
            coa_port: f.coa_port,
            location: f.location,
            created_at: Some(timestamp(r.created_at)),
            updated_at: Some(timestamp(r.updated_at)),
        }
    }
}

impl From<pb::RouterInput> for RouterInput {
    fn from(i: pb::RouterInput) -> Self {
        Self {
            name: i.name,
            ip_address: i.ip_address,
            kind: i.kind,
            secret: i.secret,
            coa_port: i.coa_port,
            location: i.location,
        }
    }
}

impl From<Usage> for pb::IpPoolUsage {
    fn from(u: Usage) -> Self {
        Self {
            total: u.total,
            assigned: u.assigned,
            quarantined: u.quarantined,
            free: u.free,
            percent: u.percent(),
        }
    }
}

impl From<IpPool> for pb::IpPool {
    fn from(p: IpPool) -> Self {
        let f = p.fields;
        Self {
            id: p.id,
            name: f.name,
            cidr: f.cidr.to_string(),
            gateway: f.gateway.map(|g| g.to_string()),
            router_id: f.router_id,
            kind: f.kind as i32,
            excluded: excluded_texts(&f.excluded),
            usage: p.usage.map(Into::into),
            created_at: Some(timestamp(p.created_at)),
            updated_at: Some(timestamp(p.updated_at)),
        }
    }
}

impl From<pb::IpPoolInput> for IpPoolInput {
    fn from(i: pb::IpPoolInput) -> Self {
        Self {
            name: i.name,
            cidr: i.cidr,
            gateway: i.gateway,
            router_id: i.router_id,
            kind: i.kind,
            excluded: i.excluded,
        }
    }
}

//! The registration list: every domain the core serves, each declared in its own folder
//! (its gRPC service and who may call its RPCs). The server, its health report and the
//! auth layer's access table are made from this list alone, so adding a domain adds one
//! line here and edits no other central file.

use tonic::service::RoutesBuilder;

use crate::Core;
use crate::authz::{AccessTable, ServiceAccess};
use crate::{
    audit, billing, catalog, customers, directory, events, identity, jobs, network, provisioning,
    services, sla, webhooks,
};

/// A domain as the server sees it.
#[derive(Debug, Clone, Copy)]
pub struct Domain {
    /// Its gRPC service's name and who may call each of its RPCs.
    pub access: ServiceAccess,
    /// Adds its gRPC service, made over `core`, to the server's routes.
    pub serve: fn(&Core, &mut RoutesBuilder),
}

/// Every domain the core serves.
pub const DOMAINS: &[Domain] = &[
    customers::grpc::DOMAIN,
    identity::grpc::DOMAIN,
    audit::grpc::DOMAIN,
    directory::grpc::DOMAIN,
    jobs::grpc::DOMAIN,
    events::grpc::DOMAIN,
    webhooks::grpc::DOMAIN,
    catalog::grpc::DOMAIN,
    network::grpc::DOMAIN,
    services::grpc::DOMAIN,
    provisioning::grpc::DOMAIN,
    sla::grpc::TICKETS,
    sla::grpc::SLA,
    billing::grpc::BILLING,
    billing::grpc::PAYMENTS,
];

/// The access every RPC of every domain needs.
pub fn access_table() -> AccessTable {
    AccessTable::new(DOMAINS.iter().map(|domain| &domain.access))
}

/// Adds the gRPC service of every domain, made over `core`, to `routes`.
pub fn serve(core: &Core, routes: &mut RoutesBuilder) {
    for domain in DOMAINS {
        (domain.serve)(core, routes);
    }
}

/// The full names of every domain's gRPC service (for the health service).
pub fn service_names() -> impl Iterator<Item = &'static str> {
    DOMAINS.iter().map(|domain| domain.access.service)
}

//! `/api/v1/routers` (also at `/api/v1/servers`) and `/api/v1/ip-pools`: the network as
//! RADIUS sees it, served by the core's `NetworkService`. The edge checks the bodies' JSON
//! types and states every rule the core applies in the document; the core decides them
//! (addresses inside networks, taken names and addresses, pools and services in use).

mod ip_pools;
mod output;
mod routers;

pub(crate) use ip_pools::IpPools;
pub(crate) use routers::Routers;

use crate::core_channel::Channel;
use crate::resource::query::text_parameter;
use crate::resource::{FieldSpec, Kind, Rule};
use lastmile_proto::NETWORK_NAME_LENGTH;
use lastmile_proto::v1::network_service_client::NetworkServiceClient;
use utoipa::openapi::path::Parameter;

/// A client of the core's network service.
fn client(core: Channel) -> NetworkServiceClient<Channel> {
    NetworkServiceClient::new(core)
}

/// `name` of a router or a pool: required, 2-64 characters, unique ignoring case.
const fn name_field<I>(set: fn(&mut I, Option<String>)) -> FieldSpec<I> {
    FieldSpec {
        name: "name",
        kind: Kind::Text(set),
        nullable: false,
        required: true,
        rule: Rule::length(NETWORK_NAME_LENGTH.0, NETWORK_NAME_LENGTH.1),
        description: "2-64 characters; unique ignoring case.",
    }
}

/// The `search` filter.
fn search(about: &str) -> Parameter {
    text_parameter("search", about, &[])
}

#[cfg(test)]
mod tests;

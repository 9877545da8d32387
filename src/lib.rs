//! The Lastmile contract in Rust: messages and gRPC stubs generated from
//! `proto/lastmile/v1`, the descriptor set that reflection serves, and the few conversions
//! that both the core and the edge need. No business logic lives here.
#![forbid(unsafe_code)]

/// Package `lastmile.v1`.
pub mod v1 {
    #![allow(missing_docs, clippy::all, clippy::pedantic)]
    tonic::include_proto!("lastmile.v1");
}

/// The encoded `FileDescriptorSet` of every Lastmile proto, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("lastmile_descriptor");

mod convert;
mod error_code;
mod names;
mod network;
mod radius;
mod webhooks;
pub use convert::*;
pub use error_code::ErrorCode;
pub use names::{RestName, UNKNOWN_ENUM_VALUE};
pub use network::{
    CIDR_PREFIX, DEFAULT_COA_PORT, EXCLUDED_MAX, LOCATION_MAX, NETWORK_NAME_LENGTH,
    RADIUS_SECRET_LENGTH, RADIUS_SECRET_PATTERN, cidr_pattern, ipv4_pattern, is_ipv4,
    is_radius_secret, is_secret_byte,
};
pub use radius::{RADIUS_USERNAME_MAX, valid_radius_username};
pub use webhooks::{
    EVENT_SUBSCRIPTIONS, EVENT_TYPES, MAX_SUBSCRIPTIONS, WEBHOOK_URL_PATTERN, is_webhook_url,
};

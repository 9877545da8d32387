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
mod webhooks;
pub use convert::*;
pub use error_code::ErrorCode;
pub use names::{RestName, UNKNOWN_ENUM_VALUE};
pub use webhooks::{
    EVENT_SUBSCRIPTIONS, EVENT_TYPES, MAX_SUBSCRIPTIONS, WEBHOOK_URL_PATTERN, is_webhook_url,
};

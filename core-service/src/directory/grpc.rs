//! The gRPC adapter of the directory.

use crate::authz::Access;

/// The access each directory RPC needs (see [`crate::authz`]).
pub const ACCESS: &[(&str, Access)] = &[];

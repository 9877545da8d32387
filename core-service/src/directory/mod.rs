//! The directory customers reference: partners (resellers), organizations and user groups.

pub mod grpc;

//! Compiles `proto/lastmile/v1` with protox (no system `protoc`) and generates the prost
//! messages and tonic stubs. The encoded descriptor set is written to OUT_DIR so that the
//! core can serve gRPC reflection from it.

use prost::Message;
use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "proto/lastmile/v1/common.proto",
    "proto/lastmile/v1/customer.proto",
    "proto/lastmile/v1/identity.proto",
    "proto/lastmile/v1/audit.proto",
    "proto/lastmile/v1/directory.proto",
    "proto/lastmile/v1/jobs.proto",
    "proto/lastmile/v1/events.proto",
    "proto/lastmile/v1/webhooks.proto",
    "proto/lastmile/v1/catalog.proto",
    "proto/lastmile/v1/network.proto",
    "proto/lastmile/v1/subscribers.proto",
    "proto/lastmile/v1/provisioning.proto",
    "proto/lastmile/v1/sla.proto",
    "proto/lastmile/v1/billing.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile(PROTOS, ["proto"])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("lastmile_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}

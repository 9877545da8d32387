//! The end-to-end suite as one test binary (one link of the whole stack instead of one per
//! file): each module tests one area through HTTP and gRPC as clients do.
//!
//! Run one area with `cargo test -p lastmile-tests --test api customers_read::`.

mod access_matrix;
mod api_clients;
mod api_keys;
mod audit_log;
mod auth;
mod billing_runs;
mod compatibility;
mod compose;
mod customers_create;
mod customers_read;
mod customers_write;
mod directory;
mod dunning;
mod events;
mod first_start;
mod grpc;
mod idempotency;
mod invoices;
mod ip_pools;
mod jobs;
mod login;
mod metrics;
mod overload;
mod paging;
mod payments;
mod plans;
mod provisioning;
mod radius;
mod rate_limits;
mod resellers;
mod roles;
mod routers;
mod services;
mod settings_and_retention;
mod sla;
mod tickets;
mod users;
mod webhooks;

/// A CI run must cover PostgreSQL: without `LASTMILE_TEST_POSTGRES_URL` the PostgreSQL
/// half would be ignored, so under `CI` this fails the run instead.
#[test]
fn ci_runs_the_postgresql_half() {
    if !lastmile_tests::in_ci() {
        return;
    }
    let at_run_time =
        std::env::var(lastmile_tests::POSTGRES_URL_VAR).is_ok_and(|url| !url.trim().is_empty());
    assert!(
        cfg!(postgres_tests) && at_run_time,
        "CI is set but {} is not (at build time: {}, now: {at_run_time}): the PostgreSQL \
         half of the suite would not run",
        lastmile_tests::POSTGRES_URL_VAR,
        cfg!(postgres_tests),
    );
}

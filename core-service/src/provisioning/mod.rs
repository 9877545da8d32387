//! Provisioning: what carries a service's state beyond the database. The RADIUS rows are
//! written with the service itself (see `services::radius`); what is left here is what the
//! database cannot do: telling a NAS about online sessions (RFC 5176 CoA and Disconnect,
//! as durable jobs), and proving the tables say what the services say (the drift report).

pub mod drift;
pub mod grpc;
pub mod nas;
mod service;
pub mod sessions;

pub use nas::NasSettings;
pub use service::{JOB_PREFIX, Provisioning};

/// The job that sends a Disconnect-Request for one session.
pub const DISCONNECT_KIND: &str = "radius.disconnect";
/// The job that sends a CoA-Request with a new rate for one session.
pub const COA_KIND: &str = "radius.coa";
/// Attempts a NAS gets before the job is given up (timeouts and NAKs are retried).
pub const NAS_ATTEMPTS: i32 = 6;

/// The scheduler's drift check, which keeps `lastmile_radius_drift_rows` current.
pub const DRIFT_KIND: &str = "provisioning.drift_check";

/// The periodic tasks: the drift check every 15 minutes.
pub fn tasks() -> Vec<crate::jobs::scheduler::Task> {
    vec![crate::jobs::scheduler::Task {
        kind: DRIFT_KIND,
        every: crate::jobs::scheduler::Every::Interval(std::time::Duration::from_secs(900)),
    }]
}

/// Registers the drift check.
pub fn register(registry: &mut crate::jobs::Registry, provisioning: Provisioning) {
    use futures::FutureExt;
    registry.register(
        DRIFT_KIND,
        move |_attempt: crate::jobs::Attempt| {
            let provisioning = provisioning.clone();
            async move {
                match provisioning.drift().await {
                    Ok(rows) if rows.is_empty() => crate::jobs::Outcome::done(),
                    Ok(rows) => {
                        tracing::warn!(rows = rows.len(), "RADIUS tables differ from services");
                        crate::jobs::Outcome::done()
                    }
                    Err(err) => crate::jobs::Outcome::retry(err.to_string()),
                }
            }
            .boxed()
        },
        crate::jobs::default_backoff(),
    );
}

//! The gRPC server: the `lastmile.v1` services behind the auth layer, reflection (v1 and
//! v1alpha, so that grpcurl 1.8 works too) and `grpc.health.v1`, which follows the
//! database: NOT_SERVING while it is unreachable, and on shutdown.

use std::time::Duration;

use lastmile_proto::FILE_DESCRIPTOR_SET;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::RoutesBuilder;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::Core;
use crate::auth::AuthLayer;
use crate::jobs::{JobWorkers, scheduler};
use crate::metrics::GrpcMetricsLayer;
use crate::telemetry::GrpcTraceLayer;
use crate::{domains, housekeeping, jobs};

/// How often the database is checked for the health service.
pub const HEALTH_CHECK_INTERVAL: Duration = Duration::from_millis(500);
const QUEUE_GAUGE_INTERVAL: Duration = Duration::from_secs(5);
/// How often the scheduler looks for a new slot of its tasks.
const SCHEDULER_TICK: Duration = Duration::from_secs(1);

/// Serves the core's gRPC API on `listener` until `shutdown` is cancelled; in-flight
/// calls finish first.
pub async fn serve(
    core: Core,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (reporter, health) = tonic_health::server::health_reporter();
    set_all(&reporter, ServingStatus::Serving).await;
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            // So that grpcurl and buf curl can decode error details (BadRequest, ErrorInfo).
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
    };
    let background = CancellationToken::new();
    tokio::spawn(watch_database(
        core.clone(),
        reporter.clone(),
        background.clone(),
    ));
    tokio::spawn(watch_queue(core.clone(), background.clone()));
    tokio::spawn(scheduler::run(
        core.db.clone(),
        core.clock.clone(),
        core.time_zone,
        housekeeping::tasks()
            .into_iter()
            .chain(crate::services::tasks())
            .chain(crate::provisioning::tasks())
            .chain(crate::sla::tasks())
            .chain(crate::billing::dunning::tasks())
            .chain(crate::billing::runs::tasks(core.billing_run_at))
            .collect(),
        SCHEDULER_TICK,
        background.clone(),
    ));
    tokio::spawn(crate::revocations::follow(
        core.db.clone(),
        core.authenticator.clone(),
        core.revocations.clone(),
        background.clone(),
    ));
    let workers = JobWorkers::start(
        core.db.clone(),
        core.clock.clone(),
        core.jobs.clone(),
        core.workers.clone(),
    );

    let mut routes = RoutesBuilder::default();
    routes
        .add_service(health)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?);
    domains::serve(&core, &mut routes);
    let result = Server::builder()
        // Outermost, so the RPC's span covers authentication and the metrics too.
        .layer(GrpcTraceLayer)
        .layer(GrpcMetricsLayer)
        .layer(AuthLayer::new(
            core.authenticator.clone(),
            domains::access_table(),
        ))
        .add_routes(routes.routes())
        .serve_with_incoming_shutdown(TcpIncoming::from(listener).with_nodelay(Some(true)), {
            let reporter = reporter.clone();
            async move {
                shutdown.cancelled().await;
                // Tell load balancers first, then stop accepting.
                set_all(&reporter, ServingStatus::NotServing).await;
            }
        })
        .await;
    background.cancel();
    // Running jobs finish (or are handed back) before the database closes.
    workers.shutdown().await;
    result?;
    Ok(())
}

/// Sets the status of the whole server ("") and of every domain's service.
async fn set_all(reporter: &HealthReporter, status: ServingStatus) {
    for service in std::iter::once("").chain(domains::service_names()) {
        reporter.set_service_status(service, status).await;
    }
}

async fn watch_database(core: Core, reporter: HealthReporter, stop: CancellationToken) {
    let mut serving = true;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(HEALTH_CHECK_INTERVAL) => {}
        }
        let reachable = core.db.ping().await;
        if reachable != serving {
            serving = reachable;
            if serving {
                tracing::info!("database reachable again; serving");
                set_all(&reporter, ServingStatus::Serving).await;
            } else {
                tracing::error!("database unreachable; reporting NOT_SERVING");
                set_all(&reporter, ServingStatus::NotServing).await;
            }
        }
    }
}

/// Keeps the queue-depth gauge (jobs per kind and status) current.
async fn watch_queue(core: Core, stop: CancellationToken) {
    let mut seen: std::collections::HashSet<(String, String)> = std::collections::HashSet::new();
    loop {
        match jobs::depth(&mut core.db.conn()).await {
            Ok(rows) => {
                let mut now_seen = std::collections::HashSet::new();
                for (kind, status, count) in rows {
                    metrics::gauge!("lastmile_jobs", "kind" => kind.clone(), "status" => status.clone())
                        .set(count as f64);
                    now_seen.insert((kind, status));
                }
                for (kind, status) in seen.difference(&now_seen) {
                    metrics::gauge!("lastmile_jobs", "kind" => kind.clone(), "status" => status.clone())
                        .set(0.0);
                }
                seen = now_seen;
            }
            Err(err) => tracing::debug!(error = %err, "could not read the queue depth"),
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(QUEUE_GAUGE_INTERVAL) => {}
        }
    }
}

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
use crate::metrics::GrpcMetricsLayer;
use crate::{domains, idempotency};

/// How often the database is checked for the health service.
pub const HEALTH_CHECK_INTERVAL: Duration = Duration::from_millis(500);
const PURGE_INTERVAL: Duration = Duration::from_secs(3600);

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
    tokio::spawn(purge_idempotency_records(core.clone(), background.clone()));

    let mut routes = RoutesBuilder::default();
    routes
        .add_service(health)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?);
    domains::serve(&core, &mut routes);
    let result = Server::builder()
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

async fn purge_idempotency_records(core: Core, stop: CancellationToken) {
    loop {
        match idempotency::purge(&core.db, &core.clock).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(records = n, "purged expired idempotency records"),
            Err(err) => tracing::warn!(error = %err, "could not purge idempotency records"),
        }
        match core.authenticator.identity().purge_client_tokens().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(tokens = n, "purged expired API client tokens"),
            Err(err) => tracing::warn!(error = %err, "could not purge API client tokens"),
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(PURGE_INTERVAL) => {}
        }
    }
}

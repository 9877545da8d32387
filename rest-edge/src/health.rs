//! Liveness and readiness for load balancers and orchestrators.

use crate::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use std::time::Duration;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use utoipa::ToSchema;

/// How long readiness waits for the core's health answer.
const READY_TIMEOUT: Duration = Duration::from_secs(3);

/// A health answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HealthStatus {
    /// `ok`, `ready` or `unavailable`.
    #[schema(value_type = String, example = "ok")]
    pub status: &'static str,
}

/// The edge process is alive.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses((status = 200, description = "Alive", body = HealthStatus))
)]
pub(crate) async fn healthz() -> Json<HealthStatus> {
    Json(HealthStatus { status: "ok" })
}

/// The edge can serve: the core answers its gRPC health check with SERVING.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "Ready", body = HealthStatus),
        (status = 503, description = "The core is not serving", body = HealthStatus),
    )
)]
pub(crate) async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<HealthStatus>) {
    let mut client = state.health.clone();
    let check = client.check(HealthCheckRequest {
        service: String::new(),
    });
    let serving = match tokio::time::timeout(READY_TIMEOUT, check).await {
        Ok(Ok(response)) => response.into_inner().status() == ServingStatus::Serving,
        Ok(Err(status)) => {
            tracing::warn!(code = ?status.code(), message = status.message(), "core health check failed");
            false
        }
        Err(_) => {
            tracing::warn!("core health check timed out");
            false
        }
    };
    if serving {
        (StatusCode::OK, Json(HealthStatus { status: "ready" }))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(HealthStatus {
                status: "unavailable",
            }),
        )
    }
}

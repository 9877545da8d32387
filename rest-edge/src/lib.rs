//! The Lastmile REST edge: the JSON `/api/v1` contract served over axum by calling the
//! gRPC core. The edge is stateless: it holds a channel to the core, rate-limit budgets and
//! a few seconds' memory of who is behind each credential. The core authenticates and
//! authorizes every call; the edge only refuses what is plainly missing and counts requests.
#![forbid(unsafe_code)]

mod audit;
mod base_url;
mod billing;
mod catalog;
pub mod clock;
mod core_channel;
mod credentials;
mod customers;
mod directory;
mod discovery;
mod envelope;
pub mod events;
mod format;
mod guard;
mod health;
mod identity;
mod jobs;
mod json_input;
mod limits;
pub mod metrics;
mod network;
mod openapi;
mod principals;
mod provisioning;
mod request_id;
mod resource;
mod resources;
mod services;
mod shared;
mod sla;
pub mod telemetry;
mod webhooks;

pub use shared::SharedConfig;

use axum::Router;
use axum::extract::Request;
use axum::http::Method;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::get;
pub use events::render_event_subject;

use core_channel::Channel;
use envelope::{ApiError, ErrorCode};
use guard::RateGuard;
use lastmile_proto::v1::customer_service_client::CustomerServiceClient;
use std::net::SocketAddr;
use std::sync::Arc;
use telemetry::Answered;
use tonic_health::pb::health_client::HealthClient;
use tower::util::MapRequestLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa_swagger_ui::SwaggerUi;

/// How the edge is run.
#[derive(Clone, Debug)]
pub struct EdgeConfig {
    /// None: the edge does no credential resolution and no rate limiting (e.g. behind a
    /// gateway that does); the core still authenticates every call.
    pub rate_limits: Option<RateLimits>,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        Self {
            rate_limits: Some(RateLimits::default()),
        }
    }
}

/// Rate limiting at the edge. API keys of the free, professional and enterprise tiers have
/// fixed budgets (100/min and 10,000/day; 500/min and 50,000/day; 2,000/min and
/// 200,000/day); standard keys and requests without a key get the default.
#[derive(Clone, Debug)]
pub struct RateLimits {
    /// Requests per minute for standard-tier keys and, per client address, for requests
    /// without a key. At least 1.
    pub default_per_minute: u32,
    /// What the budgets and the memory of principals are timed by.
    pub clock: clock::SharedClock,
    /// Budgets and revocations shared with the deployment's other edges, when set.
    pub shared: Option<SharedConfig>,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            default_per_minute: 60,
            clock: clock::system(),
            shared: None,
        }
    }
}

/// The routes of one domain module: those that need a credential and those that do not.
pub(crate) struct ModuleRoutes {
    /// Behind the credential check and the key's budget.
    pub protected: Router<AppState>,
    /// Open, counted against the client address's budget.
    pub public: Router<AppState>,
}

impl Default for ModuleRoutes {
    fn default() -> Self {
        Self {
            protected: Router::new(),
            public: Router::new(),
        }
    }
}

/// What every handler shares, behind one `Arc`: axum clones the state for each middleware
/// and extractor that asks for it, on every request, and a `Channel` clone allocates (each
/// of the three here does).
#[derive(Clone)]
pub(crate) struct AppState(Arc<Shared>);

pub(crate) struct Shared {
    /// The channel to the core; each resource makes its client from it.
    core: Channel,
    customers: CustomerServiceClient<Channel>,
    health: HealthClient<Channel>,
    guard: Option<RateGuard>,
    /// Discovery's links (name, path), collected once from the registration list.
    links: Vec<(&'static str, &'static str)>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The edge's routes, calling the core on `core`.
pub fn router(config: EdgeConfig, core: tonic::transport::Channel) -> Router {
    let core = Channel::new(core);
    let state = AppState(Arc::new(Shared {
        core: core.clone(),
        customers: CustomerServiceClient::new(core.clone()),
        health: HealthClient::new(core.clone()),
        guard: config
            .rate_limits
            .map(|limits| RateGuard::new(limits, core)),
        links: discovery::collections(),
    }));

    let mut protected = Router::new();
    let mut public = Router::new()
        .route("/api/v1", get(discovery::discovery))
        .route("/api/security-settings", get(discovery::security_settings));
    for entry in resources::all() {
        protected = protected.merge(entry.routes.protected);
        public = public.merge(entry.routes.public);
    }
    let protected = protected
        .route_layer(from_fn_with_state(state.clone(), guard::protected))
        .route_layer(from_fn(metrics::record))
        .route_layer(MapRequestLayer::new(telemetry::name_route));
    let public = public
        .route_layer(from_fn_with_state(state.clone(), guard::public))
        .route_layer(from_fn(metrics::record))
        .route_layer(MapRequestLayer::new(telemetry::name_route));

    let operations = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::render))
        .route_layer(MapRequestLayer::new(telemetry::name_route))
        .merge(SwaggerUi::new("/docs").url("/api/v1/openapi.json", openapi::document()));

    Router::new()
        .merge(protected)
        .merge(public)
        .merge(operations)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(Answered(
                    DefaultOnResponse::new().level(tracing::Level::INFO),
                )),
        )
        // Outermost, so the id exists before the log span opens and stamps every answer.
        .layer(from_fn(request_id::assign))
}

/// The log span of one request; every line logged while serving it carries the request id.
/// While traces are recorded it is also the request's server span.
fn request_span(request: &Request) -> tracing::Span {
    let request_id = request
        .headers()
        .get(request_id::REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if telemetry::enabled() {
        return telemetry::server_span(request, request_id);
    }
    tracing::info_span!(
        "http",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id,
    )
}

async fn not_found() -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        "Not found",
        Some("The requested resource does not exist.".to_owned()),
    )
}

async fn method_not_allowed(method: Method) -> ApiError {
    let mut error = ApiError::new(
        ErrorCode::BadRequest,
        "Method not allowed",
        Some(format!(
            "The {method} method is not supported for this route."
        )),
    );
    error.status = axum::http::StatusCode::METHOD_NOT_ALLOWED;
    error
}

/// Serves with ConnectInfo<SocketAddr> (client address for IP limits) until `shutdown`
/// resolves; in-flight requests finish (axum graceful shutdown).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

#[cfg(test)]
mod fake_core;
#[cfg(test)]
mod fake_core_tests;
#[cfg(test)]
mod router_tests;

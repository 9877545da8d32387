//! Distributed traces of the edge: an HTTP server span per request that continues the
//! client's W3C trace context (`traceparent`/`tracestate`) or starts a trace, and a gRPC
//! client span per call to the core whose context travels in the call's metadata. The
//! binary turns this on only when it exports traces; off, the request's log span is what
//! it always was and nothing else is made, read or allocated.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::Response;
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::TraceContextExt;
use tower_http::trace::{DefaultOnResponse, OnResponse};
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Makes the edge record trace spans (call once an OpenTelemetry layer is installed).
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Whether trace spans are recorded.
pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The HTTP server span of one request, child of the client's trace when it sent one.
/// Named by the method until routing names the route ([`name_route`]).
pub(crate) fn server_span(request: &Request, request_id: &str) -> tracing::Span {
    let method = request.method().as_str();
    let span = tracing::info_span!(
        "http",
        method = %method,
        path = %request.uri().path(),
        request_id = %request_id,
        otel.name = %method,
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = %method,
        http.route = Empty,
        http.response.status_code = Empty,
    );
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&Headers(request.headers()))
    });
    // Fails only without an OpenTelemetry layer, when there is no trace to join.
    let _ = span.set_parent(parent);
    span
}

/// Names the request's span after its route template (`GET /api/v1/customers/{id}`), so
/// that ids in paths do not make every span unique. A plain request map, not a `from_fn`
/// middleware, which would box the rest of the stack on every request.
pub(crate) fn name_route(request: Request) -> Request {
    if !enabled() {
        return request;
    }
    if let Some(route) = request.extensions().get::<MatchedPath>() {
        let span = tracing::Span::current();
        span.record("http.route", route.as_str());
        // The OpenTelemetry span has started by now, so `otel.name` would not rename it.
        let name = format!("{} {}", request.method(), route.as_str());
        span.context().span().update_name(name);
    }
    request
}

/// Logs the answer as before and, while traces are recorded, puts its status on the span.
#[derive(Clone, Debug)]
pub(crate) struct Answered(pub(crate) DefaultOnResponse);

impl<B> OnResponse<B> for Answered {
    fn on_response(self, response: &Response<B>, latency: Duration, span: &tracing::Span) {
        if enabled() {
            let status = response.status();
            span.record("http.response.status_code", status.as_u16());
            if status.is_server_error() {
                span.record("otel.status_code", "error");
            }
        }
        self.0.on_response(response, latency, span);
    }
}

/// The gRPC client span of one call to the core at `path` (`/package.Service/Method`).
pub(crate) fn client_span(path: &str) -> tracing::Span {
    let full = path.trim_start_matches('/');
    let (service, method) = full.split_once('/').unwrap_or((full, ""));
    tracing::info_span!(
        "grpc.client",
        otel.name = %full,
        otel.kind = "client",
        rpc.system = "grpc",
        rpc.service = %service,
        rpc.method = %method,
        rpc.grpc.status_code = Empty,
    )
}

/// Writes `span`'s trace context into the headers (gRPC metadata) of a call.
pub(crate) fn inject(span: &tracing::Span, headers: &mut HeaderMap) {
    let context = span.context();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut HeadersMut(headers));
    });
}

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

struct HeadersMut<'a>(&'a mut HeaderMap);

impl Injector for HeadersMut<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

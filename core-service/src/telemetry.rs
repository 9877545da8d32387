//! Distributed traces of the core: a server span per RPC, continuing the trace context the
//! caller sent in the gRPC metadata (W3C `traceparent`/`tracestate`), with the database
//! and job work inside as its children. The binary turns this on only when it exports
//! traces; off, no span is made and no header is read, so the hot path costs what it did.

use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use futures::future::{BoxFuture, Either};
use opentelemetry::propagation::Extractor;
use tower::{Layer, Service};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Makes the core record trace spans (call once an OpenTelemetry layer is installed).
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Whether trace spans are recorded.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// A span over one database transaction, or a disabled one when traces are off.
pub(crate) fn transaction_span(system: &'static str) -> tracing::Span {
    if !enabled() {
        return tracing::Span::none();
    }
    tracing::info_span!(
        "db.transaction",
        otel.kind = "client",
        db.system.name = system
    )
}

/// A span over one run of a job, or a disabled one when traces are off.
pub(crate) fn job_span(kind: &str, id: i64, attempt: i32) -> tracing::Span {
    if !enabled() {
        return tracing::Span::none();
    }
    tracing::info_span!(
        "job",
        otel.name = %format_args!("job {kind}"),
        job.kind = %kind,
        job.id = id,
        job.attempt = attempt,
        otel.status_code = tracing::field::Empty,
    )
}

/// The tower layer that makes a server span per RPC, child of the caller's span.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcTraceLayer;

impl<S> Layer<S> for GrpcTraceLayer {
    type Service = GrpcTrace<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcTrace { inner }
    }
}

/// See [`GrpcTraceLayer`].
#[derive(Debug, Clone)]
pub struct GrpcTrace<S> {
    inner: S,
}

impl<S, B, R> Service<http::Request<B>> for GrpcTrace<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Send,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Either<S::Future, BoxFuture<'static, Result<Self::Response, Self::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if !enabled() {
            return Either::Left(self.inner.call(request));
        }
        let span = server_span(&request);
        let future = span.in_scope(|| self.inner.call(request));
        let recorded = span.clone();
        Either::Right(Box::pin(
            async move {
                let response = future.await?;
                // As in the metrics: a refusal is trailers-only with grpc-status in the
                // headers; no header means the status comes in the trailers, i.e. OK.
                let code = response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                    .unwrap_or(0);
                recorded.record("rpc.grpc.status_code", code);
                if is_server_error(code) {
                    recorded.record("otel.status_code", "error");
                }
                Ok(response)
            }
            .instrument(span),
        ))
    }
}

/// The server span of one RPC, its parent taken from the request's metadata.
fn server_span<B>(request: &http::Request<B>) -> tracing::Span {
    let path = request.uri().path();
    let full = path.trim_start_matches('/');
    let (service, method) = full.split_once('/').unwrap_or((full, ""));
    let request_id = request
        .headers()
        .get(lastmile_proto::REQUEST_ID_METADATA)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let span = tracing::info_span!(
        "grpc.server",
        otel.name = %full,
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = %service,
        rpc.method = %method,
        rpc.grpc.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        request_id = %request_id,
    );
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&Metadata(request.headers()))
    });
    // Fails only without an OpenTelemetry layer, when there is no trace to join.
    let _ = span.set_parent(parent);
    span
}

/// gRPC codes that mean the server failed (OpenTelemetry's rule for server spans), not
/// that the caller asked for something it may not have.
fn is_server_error(code: i32) -> bool {
    use tonic::Code;
    matches!(
        Code::from_i32(code),
        Code::Unknown
            | Code::DeadlineExceeded
            | Code::Unimplemented
            | Code::Internal
            | Code::Unavailable
            | Code::DataLoss
    )
}

/// The request's metadata as a source of trace context.
struct Metadata<'a>(&'a http::HeaderMap);

impl Extractor for Metadata<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_of_the_server_mark_its_span_as_an_error() {
        assert!(is_server_error(tonic::Code::Internal as i32));
        assert!(is_server_error(tonic::Code::Unavailable as i32));
        assert!(!is_server_error(tonic::Code::Ok as i32));
        assert!(!is_server_error(tonic::Code::NotFound as i32));
        assert!(!is_server_error(tonic::Code::PermissionDenied as i32));
    }
}

//! Prometheus metrics of the core: every gRPC call counted by method and status code, and
//! its duration. The recorder is the process's (installed by the binary); without one,
//! recording costs next to nothing.

use std::task::{Context, Poll};
use std::time::Instant;

use futures::future::BoxFuture;
use tower::{Layer, Service};

/// The tower layer that records every call.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcMetricsLayer;

impl<S> Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcMetrics { inner }
    }
}

/// See [`GrpcMetricsLayer`].
#[derive(Debug, Clone)]
pub struct GrpcMetrics<S> {
    inner: S,
}

impl<S, B, R> Service<http::Request<B>> for GrpcMetrics<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Send,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = request.uri().path().to_owned();
        let started = Instant::now();
        let future = self.inner.call(request);
        Box::pin(async move {
            let response = future.await?;
            // A refusal travels as a trailers-only response with grpc-status in the
            // headers; a success carries it in the trailers, so no header means OK.
            let code = response
                .headers()
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("0")
                .to_owned();
            metrics::counter!("lastmile_grpc_requests_total", "method" => method.clone(), "code" => code).increment(1);
            metrics::histogram!("lastmile_grpc_request_duration_seconds", "method" => method)
                .record(started.elapsed().as_secs_f64());
            Ok(response)
        })
    }
}

/// Sets `lastmile_radius_drift_rows`: how many RADIUS rows differ from what services and
/// plans say (0 unless someone edited the tables by hand).
pub fn radius_drift_rows(rows: usize) {
    metrics::gauge!("lastmile_radius_drift_rows").set(rows as f64);
}

//! The channel to the core: tonic's, with a gRPC client span around each call and the
//! trace context carried in the call's metadata while traces are recorded. Off, a call
//! goes straight to tonic's channel, with nothing added.

use std::task::{Context, Poll};

use futures::future::{BoxFuture, Either};
use tonic::body::Body;
use tower::Service;
use tracing::Instrument;

use crate::telemetry;

/// A channel to the core that every client of the edge is built on.
#[derive(Clone, Debug)]
pub(crate) struct Channel(tonic::transport::Channel);

impl Channel {
    pub(crate) fn new(inner: tonic::transport::Channel) -> Self {
        Self(inner)
    }
}

type Answer = Result<http::Response<Body>, tonic::transport::Error>;

impl Service<http::Request<Body>> for Channel {
    type Response = http::Response<Body>;
    type Error = tonic::transport::Error;
    type Future = Either<tonic::transport::channel::ResponseFuture, BoxFuture<'static, Answer>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        if !telemetry::enabled() {
            return Either::Left(self.0.call(request));
        }
        let span = telemetry::client_span(request.uri().path());
        telemetry::inject(&span, request.headers_mut());
        let future = self.0.call(request);
        let recorded = span.clone();
        Either::Right(Box::pin(
            async move {
                let response = future.await?;
                // The core refuses trailers-only, with grpc-status in the headers; an
                // answer without it carries OK in its trailers.
                let code = response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                    .unwrap_or(0);
                recorded.record("rpc.grpc.status_code", code);
                Ok(response)
            }
            .instrument(span),
        ))
    }
}

//! Trace export over OTLP gRPC, configured by the standard `OTEL_*` variables as the
//! OpenTelemetry SDK reads them (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_SERVICE_NAME`,
//! `OTEL_TRACES_SAMPLER`, `OTEL_BSP_*`, …). Without an endpoint nothing is set up: no
//! exporter, no propagator, and the core and the edge make no trace spans.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use tracing::Level;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::registry::LookupSpan;

/// A running trace exporter; [`Traces::shutdown`] sends what is still buffered.
#[derive(Debug)]
pub struct Traces {
    provider: SdkTracerProvider,
}

fn set(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Traces {
    /// The exporter the environment asks for, or `None` when no OTLP endpoint is set (or
    /// `OTEL_SDK_DISABLED=true`). `service` names the process when neither
    /// `OTEL_SERVICE_NAME` nor a `service.name` in `OTEL_RESOURCE_ATTRIBUTES` does. Call
    /// inside the Tokio runtime: the batch exporter runs on it.
    pub fn from_env(service: &str) -> anyhow::Result<Option<Traces>> {
        let endpoint = set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .or_else(|| set("OTEL_EXPORTER_OTLP_ENDPOINT"))
            .is_some();
        let disabled = set("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if !endpoint || disabled {
            return Ok(None);
        }
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .build()?;
        let named = set("OTEL_SERVICE_NAME").is_some()
            || set("OTEL_RESOURCE_ATTRIBUTES").is_some_and(|a| a.contains("service.name="));
        let mut resource = Resource::builder();
        if !named {
            resource = resource.with_service_name(service.to_owned());
        }
        let provider = SdkTracerProvider::builder()
            .with_span_processor(
                BatchSpanProcessor::builder(exporter, opentelemetry_sdk::runtime::Tokio).build(),
            )
            .with_resource(resource.build())
            .build();
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        Ok(Some(Traces { provider }))
    }

    /// The `tracing` layer that turns spans into OpenTelemetry spans. It has its own
    /// level (info), so `RUST_LOG` quietens the log without losing traces; the exporter's
    /// own stack is left out, so that exporting never makes spans to export.
    pub fn layer<S>(&self) -> impl Layer<S> + use<S>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    {
        let own = Targets::new()
            .with_default(Level::INFO)
            .with_targets(["opentelemetry", "tonic", "hyper", "h2"].map(|t| (t, LevelFilter::OFF)));
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer("lastmile"))
            .with_filter(own)
    }

    /// Makes the core and the edge record their spans (once the layer is installed).
    pub fn enable_spans(&self) {
        lastmile_core::telemetry::enable();
        lastmile_edge::telemetry::enable();
    }

    /// Exports the spans still buffered and stops the exporter.
    pub async fn shutdown(self) {
        // The SDK waits for its export task by blocking the thread; that task runs on
        // this runtime, so the wait happens off its worker threads.
        let provider = self.provider;
        let outcome = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        if let Ok(Err(err)) = outcome {
            eprintln!("lastmile: exporting the last traces failed: {err}");
        }
    }
}

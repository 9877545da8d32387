//! Traces and metrics of real `lastmile core` and `lastmile edge` processes: one REST
//! request is one trace (the client's `traceparent` continued) from the edge's HTTP span
//! through its gRPC client span and the core's server span down to a database span, sent
//! over OTLP gRPC to a receiver in the test, and flushed when the processes stop; and a
//! core alone serves `/metrics` on `--metrics-addr`. Real processes, because the tracer
//! provider is process-wide.

use std::collections::HashMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;

const BIN: &str = env!("CARGO_BIN_EXE_lastmile");
const KEY: &str = "lm_telemetry_test_admin_key_0123456789";
const DEADLINE: Duration = Duration::from_secs(60);

fn free_addr() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

/// One span as the receiver got it.
#[derive(Debug, Clone)]
struct Received {
    service: String,
    name: String,
    kind: i32,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    attributes: HashMap<String, String>,
}

impl Received {
    fn attribute(&self, key: &str) -> &str {
        self.attributes.get(key).map_or("", String::as_str)
    }
}

fn text(attributes: &[KeyValue]) -> HashMap<String, String> {
    attributes
        .iter()
        .filter_map(|kv| {
            let value = match kv.value.as_ref()?.value.as_ref()? {
                Value::StringValue(s) => s.clone(),
                Value::IntValue(i) => i.to_string(),
                Value::BoolValue(b) => b.to_string(),
                Value::DoubleValue(d) => d.to_string(),
                _ => return None,
            };
            Some((kv.key.clone(), value))
        })
        .collect()
}

/// An OTLP trace receiver on 127.0.0.1.
#[derive(Clone, Default)]
struct Receiver {
    spans: Arc<Mutex<Vec<Received>>>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            let resource = resource_spans
                .resource
                .map(|r| text(&r.attributes))
                .unwrap_or_default();
            let service = resource.get("service.name").cloned().unwrap_or_default();
            for span in resource_spans.scope_spans.into_iter().flat_map(|s| s.spans) {
                spans.push(Received {
                    service: service.clone(),
                    name: span.name,
                    kind: span.kind,
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    attributes: text(&span.attributes),
                });
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Receiver {
    async fn start(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let service = TraceServiceServer::new(self.clone());
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
        );
        format!("http://{addr}")
    }

    fn spans(&self) -> Vec<Received> {
        self.spans.lock().unwrap().clone()
    }
}

/// A `lastmile` child process, stopped with SIGTERM (then SIGKILL) when dropped.
struct Process(Child);

impl Process {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Process {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .env("RUST_LOG", "warn")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .env_remove("OTEL_SERVICE_NAME")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (name, value) in env {
            command.env(name, value);
        }
        Process(command.spawn().expect("start lastmile"))
    }

    /// SIGTERM, and waits for a clean exit.
    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.0.try_wait() {
                assert!(status.success(), "exit status after SIGTERM: {status:?}");
                return;
            }
            assert!(started.elapsed() < DEADLINE, "not stopped after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// Polls `url` until it answers 200.
async fn wait_until_up(http: &reqwest::Client, url: &str) {
    let started = Instant::now();
    loop {
        let answer = http.get(url).send().await;
        if answer.is_ok_and(|a| a.status().is_success()) {
            return;
        }
        assert!(started.elapsed() < DEADLINE, "{url} not up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn database(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("lastmile.db").display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_rest_request_is_one_trace_from_the_edge_through_the_core_to_the_database() {
    let receiver = Receiver::default();
    let endpoint = receiver.start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = database(&dir);
    let (grpc, http) = (free_addr(), free_addr());
    // Spans leave only in the flush at shutdown: the batch would wait a minute otherwise.
    let otel = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "60000"),
    ];
    let core = Process::start(
        &[
            "core",
            "--database-url",
            &url,
            "--grpc-addr",
            &grpc,
            "--bootstrap-api-key",
            KEY,
        ],
        &otel,
    );
    let core_url = format!("http://{grpc}");
    let edge = Process::start(
        &["edge", "--http-addr", &http, "--core-url", &core_url],
        &otel,
    );
    let http_client = client();
    wait_until_up(&http_client, &format!("http://{http}/readyz")).await;

    let trace_id = uuid::Uuid::new_v4().simple().to_string();
    let caller_span = "00f067aa0ba902b7";
    let answer = http_client
        .post(format!("http://{http}/api/v1/partners"))
        .header("x-api-key", KEY)
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .header("x-request-id", "telemetry-test-request")
        .json(&serde_json::json!({"name": "North Net"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201, "{}", answer.text().await.unwrap());
    let answer = http_client
        .get(format!("http://{http}/api/v1/partners"))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    edge.stop();
    core.stop();

    let started = Instant::now();
    let new_trace = loop {
        let found = receiver
            .spans()
            .into_iter()
            .find(|s| s.name == "GET /api/v1/partners");
        if let Some(span) = found {
            break span;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "no span of the request without traceparent"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        new_trace.parent_span_id, "",
        "a request without traceparent starts a trace"
    );
    assert_ne!(new_trace.trace_id, trace_id);

    let spans = loop {
        let spans: Vec<Received> = receiver
            .spans()
            .into_iter()
            .filter(|s| s.trace_id == trace_id)
            .collect();
        if spans.iter().any(|s| s.name == "db.transaction")
            && spans.iter().any(|s| s.name.starts_with("POST "))
        {
            break spans;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "spans of the trace not all received: {spans:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let http_span = spans
        .iter()
        .find(|s| s.kind == SpanKind::Server as i32 && s.service == "lastmile-edge")
        .expect("the edge's HTTP span");
    assert_eq!(http_span.name, "POST /api/v1/partners");
    assert_eq!(http_span.parent_span_id, caller_span, "{http_span:#?}");
    assert_eq!(http_span.attribute("http.route"), "/api/v1/partners");
    assert_eq!(http_span.attribute("http.request.method"), "POST");
    assert_eq!(http_span.attribute("http.response.status_code"), "201");
    assert_eq!(http_span.attribute("request_id"), "telemetry-test-request");

    let call = spans
        .iter()
        .find(|s| s.kind == SpanKind::Client as i32 && s.attribute("rpc.method") == "CreatePartner")
        .unwrap_or_else(|| panic!("the edge's call to CreatePartner: {spans:#?}"));
    assert_eq!(call.service, "lastmile-edge");
    assert_eq!(call.parent_span_id, http_span.span_id);
    assert_eq!(call.attribute("rpc.system"), "grpc");

    let served = spans
        .iter()
        .find(|s| {
            s.kind == SpanKind::Server as i32
                && s.service == "lastmile-core"
                && s.parent_span_id == call.span_id
        })
        .unwrap_or_else(|| panic!("the core's span of CreatePartner: {spans:#?}"));
    assert_eq!(served.attribute("rpc.system"), "grpc");
    assert_eq!(served.attribute("rpc.method"), "CreatePartner");
    assert!(
        served.attribute("rpc.service").ends_with("Service"),
        "{served:#?}"
    );
    assert_eq!(served.attribute("rpc.grpc.status_code"), "0");
    assert_eq!(served.attribute("request_id"), "telemetry-test-request");

    assert!(
        spans.iter().any(|s| s.name == "db.transaction"
            && s.service == "lastmile-core"
            && s.parent_span_id == served.span_id),
        "no database span under the core's span: {spans:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_core_alone_serves_metrics_on_its_metrics_address() {
    let dir = tempfile::tempdir().unwrap();
    let url = database(&dir);
    let (grpc, metrics) = (free_addr(), free_addr());
    let core = Process::start(
        &[
            "core",
            "--database-url",
            &url,
            "--grpc-addr",
            &grpc,
            "--metrics-addr",
            &metrics,
        ],
        &[],
    );
    let http = client();
    let started = Instant::now();
    let body = loop {
        // A call to the core, so that there is a gRPC count to show.
        if let Ok(channel) = tonic::transport::Endpoint::from_shared(format!("http://{grpc}"))
            .unwrap()
            .connect()
            .await
        {
            let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
            let _ = health
                .check(tonic_health::pb::HealthCheckRequest::default())
                .await;
            if let Ok(answer) = http.get(format!("http://{metrics}/metrics")).send().await {
                let body = answer.text().await.unwrap_or_default();
                if body.contains("lastmile_grpc_requests_total") {
                    break body;
                }
            }
        }
        assert!(started.elapsed() < DEADLINE, "no gRPC metrics on {metrics}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(body.contains("grpc.health.v1.Health/Check"), "{body}");
    core.stop();
}

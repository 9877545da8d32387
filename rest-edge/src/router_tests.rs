//! The router's own decisions, those it makes without the core: routing, envelopes,
//! missing credentials, input shape, request ids and address budgets. The core here is
//! an address nobody listens on.

use super::*;
use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use tower::ServiceExt;

fn unreachable_core() -> tonic::transport::Channel {
    tonic::transport::Channel::from_static("http://127.0.0.1:9").connect_lazy()
}

fn edge(rate_limits: Option<RateLimits>) -> Router {
    router(EdgeConfig { rate_limits }, unreachable_core())
}

fn request(method: &str, uri: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "edge.test")
}

async fn send(router: &Router, request: Request<Body>) -> Response {
    router.clone().oneshot(request).await.unwrap()
}

async fn json_of(response: Response) -> Value {
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn keyed(method: &str, uri: &str, body: &'static str) -> Request<Body> {
    request(method, uri)
        .header("x-api-key", "k")
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn an_unknown_route_is_a_404_envelope() {
    let response = send(
        &edge(None),
        request("GET", "/api/v1/nothing")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.headers().contains_key("x-request-id"));
    let body = json_of(response).await;
    assert_eq!(body["success"], false);
    assert_eq!(body["code"], "NOT_FOUND");
}

#[tokio::test]
async fn a_wrong_method_is_a_405_envelope() {
    for (method, uri) in [
        ("DELETE", "/api/v1/customers"),
        ("POST", "/api/v1"),
        ("PUT", "/healthz"),
    ] {
        let response = send(
            &edge(None),
            request(method, uri).body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {uri}"
        );
        let body = json_of(response).await;
        assert_eq!(body["code"], "BAD_REQUEST");
        assert_eq!(body["message"], "Method not allowed");
    }
}

#[tokio::test]
async fn a_request_without_a_credential_is_refused_at_the_edge() {
    for limits in [None, Some(RateLimits::default())] {
        let response = send(
            &edge(limits),
            request("GET", "/api/v1/customers")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            json_of(response).await,
            json!({"success": false, "message": "Missing API key", "code": "UNAUTHENTICATED",
                "error": "No API key was provided. Send it in the X-API-Key header."})
        );
    }
}

#[tokio::test]
async fn discovery_links_start_at_the_host_the_client_used() {
    let response = send(
        &edge(None),
        request("GET", "/api/v1").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(!response.headers().contains_key("x-ratelimit-limit"));
    // Two literals: one would exceed the json! macro's recursion limit.
    let mut links = json!({
        "customers": "http://edge.test/api/v1/customers",
        "tickets": "http://edge.test/api/v1/tickets",
        "sla_policies": "http://edge.test/api/v1/sla/policies",
        "sla_check_breaches": "http://edge.test/api/v1/sla/check-breaches",
        "sla_performance_metrics": "http://edge.test/api/v1/sla/performance-metrics",
        "clients": "http://edge.test/api/v1/clients",
        "api_clients": "http://edge.test/api/v1/api-clients",
        "security_settings": "http://edge.test/api/security-settings",
        "openapi": "http://edge.test/api/v1/openapi.json",
        "docs": "http://edge.test/docs",
        "partners": "http://edge.test/api/v1/partners",
        "organizations": "http://edge.test/api/v1/organizations",
        "user_groups": "http://edge.test/api/v1/user-groups",
        "users": "http://edge.test/api/v1/users",
        "api_keys": "http://edge.test/api/v1/api-keys",
        "roles": "http://edge.test/api/v1/roles",
        "audit_log": "http://edge.test/api/v1/audit-log",
        "jobs": "http://edge.test/api/v1/jobs",
    });
    let rest = json!({
        "routers": "http://edge.test/api/v1/routers",
        "servers": "http://edge.test/api/v1/servers",
        "ip_pools": "http://edge.test/api/v1/ip-pools",
        "webhooks": "http://edge.test/api/v1/webhooks",
        "plans": "http://edge.test/api/v1/plans",
        "packages": "http://edge.test/api/v1/packages",
        "products": "http://edge.test/api/v1/products",
        "pricing": "http://edge.test/api/v1/products/pricing",
        "services": "http://edge.test/api/v1/services",
        "subscriptions": "http://edge.test/api/v1/subscriptions",
        "subscribers": "http://edge.test/api/v1/subscribers",
        "provisioning_jobs": "http://edge.test/api/v1/provisioning-jobs",
        "drift": "http://edge.test/api/v1/provisioning/drift",
        "reconciliations": "http://edge.test/api/v1/provisioning/reconcile",
        "tax_rates": "http://edge.test/api/v1/tax-rates",
        "billing_settings": "http://edge.test/api/v1/settings/billing",
        "invoices": "http://edge.test/api/v1/invoices",
        "bills": "http://edge.test/api/v1/bills",
        "billing_dunning": "http://edge.test/api/v1/billing/dunning",
        "billing_runs": "http://edge.test/api/v1/billing/runs",
        "payments": "http://edge.test/api/v1/payments",
    });
    if let (Some(all), serde_json::Value::Object(rest)) = (links.as_object_mut(), rest) {
        all.extend(rest);
    }
    assert_eq!(
        json_of(response).await,
        json!({"success": true, "message": "OK", "data": {"links": links}})
    );
}

#[tokio::test]
async fn public_routes_spend_the_client_address_budget() {
    let router = edge(Some(RateLimits {
        default_per_minute: 2,
        ..RateLimits::default()
    }));
    let discover = || request("GET", "/api/v1").body(Body::empty()).unwrap();
    let first = send(&router, discover()).await;
    assert_eq!(first.headers()["x-ratelimit-limit"], "2");
    assert_eq!(first.headers()["x-ratelimit-remaining"], "1");
    assert!(first.headers().contains_key("x-ratelimit-reset"));
    send(&router, discover()).await;
    let refused = send(&router, discover()).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()["x-ratelimit-remaining"], "0");
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    let body = json_of(refused).await;
    assert_eq!(body["code"], "RATE_LIMITED");
    assert_eq!(body["message"], "Too many requests");
    assert_eq!(
        body["error"],
        format!("Rate limit exceeded. Retry in {retry} seconds.")
    );
    // Health and documents are never limited.
    let health = send(
        &router,
        request("GET", "/healthz").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(health.status(), StatusCode::OK);
    assert!(!health.headers().contains_key("x-ratelimit-limit"));
}

#[tokio::test]
async fn a_sane_request_id_is_kept_and_any_other_replaced() {
    let router = edge(None);
    let kept = send(
        &router,
        request("GET", "/healthz")
            .header("x-request-id", "abc-123")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(kept.headers()["x-request-id"], "abc-123");
    let replaced = send(
        &router,
        request("GET", "/healthz")
            .header("x-request-id", HeaderValue::from_static("a b"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let id = replaced.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);
}

#[tokio::test]
async fn health_is_ok_and_readiness_follows_the_core() {
    let router = edge(None);
    let live = send(
        &router,
        request("GET", "/healthz").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(json_of(live).await, json!({"status": "ok"}));
    let ready = send(
        &router,
        request("GET", "/readyz").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json_of(ready).await, json!({"status": "unavailable"}));
}

#[tokio::test]
async fn an_unreachable_core_is_a_503_without_internals() {
    let response = send(&edge(None), keyed("GET", "/api/v1/customers", "")).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        json_of(response).await,
        json!({"success": false, "message": "Service unavailable", "code": "UNAVAILABLE"})
    );
}

#[tokio::test]
async fn the_openapi_document_and_its_viewer_are_served() {
    let router = edge(Some(RateLimits::default()));
    let doc = send(
        &router,
        request("GET", "/api/v1/openapi.json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(doc.status(), StatusCode::OK);
    assert!(!doc.headers().contains_key("x-ratelimit-limit"));
    assert_eq!(json_of(doc).await["openapi"], "3.1.0");
    let docs = send(
        &router,
        request("GET", "/docs/").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(docs.status(), StatusCode::OK);
}

#[tokio::test]
async fn input_the_edge_can_judge_is_refused_without_the_core() {
    let router = edge(None);
    let cases = [
        ("GET", "/api/v1/customers/abc", "", 404, "NOT_FOUND"),
        ("GET", "/api/v1/customers?page=0", "", 400, "BAD_REQUEST"),
        (
            "GET",
            "/api/v1/customers?status=gone",
            "",
            400,
            "BAD_REQUEST",
        ),
        ("POST", "/api/v1/customers", "{not json", 400, "BAD_REQUEST"),
        ("PATCH", "/api/v1/customers/12", "[]", 400, "BAD_REQUEST"),
        (
            "POST",
            "/api/v1/customers/12/action",
            r#"{"action": 3}"#,
            422,
            "VALIDATION_ERROR",
        ),
        ("GET", "/api/v1/jobs?status=gone", "", 400, "BAD_REQUEST"),
        ("POST", "/api/v1/jobs/0/retry", "", 404, "NOT_FOUND"),
        (
            "GET",
            "/api/v1/webhooks/abc/deliveries",
            "",
            404,
            "NOT_FOUND",
        ),
        (
            "GET",
            "/api/v1/webhooks/1/deliveries?status=sent",
            "",
            400,
            "BAD_REQUEST",
        ),
        (
            "POST",
            "/api/v1/webhooks/1/deliveries/-2/redeliver",
            "",
            404,
            "NOT_FOUND",
        ),
        ("POST", "/api/v1/webhooks/x/test", "", 404, "NOT_FOUND"),
    ];
    for (method, uri, body, status, code) in cases {
        let response = send(&router, keyed(method, uri, body)).await;
        assert_eq!(response.status().as_u16(), status, "{method} {uri} {body}");
        assert_eq!(
            json_of(response).await["code"],
            code,
            "{method} {uri} {body}"
        );
    }
}

#[tokio::test]
async fn a_bad_idempotency_key_is_a_400() {
    let long = "k".repeat(256);
    for key in ["", long.as_str()] {
        let request = request("POST", "/api/v1/customers")
            .header("x-api-key", "k")
            .header("idempotency-key", key)
            .body(Body::from("{}"))
            .unwrap();
        let response = send(&edge(None), request).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn serve_limits_by_peer_address_and_stops_on_shutdown() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, edge(Some(RateLimits::default())), async {
        let _ = stopped.await;
    }));
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /api/v1 HTTP/1.1\r\nHost: edge.test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("x-ratelimit-remaining: 59"), "{answer}");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn an_oversized_body_is_a_413_envelope() {
    let huge = format!("{{\"first_name\": \"{}\"}}", "a".repeat(3 * 1024 * 1024));
    let request = request("POST", "/api/v1/customers")
        .header("x-api-key", "k")
        .body(Body::from(huge))
        .unwrap();
    let response = send(&edge(None), request).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body = json_of(response).await;
    assert_eq!(body["message"], "Payload too large");
    assert_eq!(body["code"], "BAD_REQUEST");
}

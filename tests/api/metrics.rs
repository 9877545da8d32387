//! `/metrics` serves Prometheus text without a credential and counts requests of the edge
//! (by route template, never by id) and calls of the core.

use lastmile_tests::{StatusCode, TestApp, engine_tests};

engine_tests!(metrics_count_edge_requests_by_route_and_core_calls_by_method);

async fn metrics_count_edge_requests_by_route_and_core_calls_by_method(app: TestApp) {
    let customer = app.create_customer("Amina", "+254711000901").await;
    let (status, _) = app
        .get(&format!("/api/v1/customers/{}", customer["id"]))
        .await;
    assert_eq!(status, StatusCode::OK);

    let response = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    let has = |needle: &str| {
        text.lines()
            .any(|l| l.starts_with(needle) || (l.contains(needle) && !l.starts_with('#')))
    };
    assert!(has("lastmile_http_requests_total"), "{text}");
    assert!(text.contains(r#"route="/api/v1/customers/{id}""#), "{text}");
    assert!(text.contains(r#"status="201""#), "{text}");
    assert!(
        !text.contains(&format!("/api/v1/customers/{}\"", customer["id"])),
        "ids never become labels"
    );
    assert!(
        text.contains(r#"method="/lastmile.v1.CustomerService/CreateCustomer""#),
        "{text}"
    );
    assert!(has("lastmile_http_request_duration_seconds"), "{text}");
    app.stop().await;
}

//! What the edge sends to the core and how it renders the answers, against the stand-in
//! core: metadata forwarding, principal lookups and their cache, tier budgets, and the JSON
//! of successful answers.

use super::*;
use crate::fake_core::{meta, start_core};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use tower::ServiceExt;

async fn call(
    router: &Router,
    method: &str,
    uri: &str,
    key: Option<&str>,
    body: &str,
) -> (StatusCode, Response) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "edge.test");
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::from(body.to_owned())).unwrap())
        .await
        .unwrap();
    (response.status(), response)
}

async fn json_of(response: Response) -> Value {
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

#[tokio::test]
async fn the_credential_request_id_and_idempotency_key_reach_the_core() {
    let (core, calls) = start_core().await;
    let router = router(EdgeConfig { rate_limits: None }, core);
    let request = Request::builder()
        .method("POST")
        .uri("/api/v1/customers")
        .header("authorization", "bearer tok")
        .header("x-request-id", "req-9")
        .header("idempotency-key", "once")
        .body(Body::from(r#"{"first_name": "Ada"}"#))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let (metadata, _) = calls.named("CreateCustomer").remove(0);
    assert_eq!(
        meta(&metadata, "authorization").as_deref(),
        Some("Bearer tok")
    );
    assert_eq!(meta(&metadata, "x-request-id").as_deref(), Some("req-9"));
    assert_eq!(meta(&metadata, "idempotency-key").as_deref(), Some("once"));
    // Without rate limits the edge never asks who the caller is.
    assert!(calls.named("GetCurrentPrincipal").is_empty());
}

#[tokio::test]
async fn a_refused_key_gets_the_cores_401_and_no_business_call() {
    let (core, calls) = start_core().await;
    let router = router(EdgeConfig::default(), core);
    for _ in 0..2 {
        let (status, response) = call(&router, "GET", "/api/v1/customers", Some("wrong"), "").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            json_of(response).await,
            json!({"success": false, "message": "Invalid API key", "code": "UNAUTHENTICATED",
                "error": "The provided API key is invalid or does not exist."})
        );
    }
    assert!(calls.named("ListCustomers").is_empty());
    // The second request was answered from the cache.
    assert_eq!(calls.named("GetCurrentPrincipal").len(), 1);
}

#[tokio::test]
async fn keys_spend_their_tiers_budget() {
    let (core, calls) = start_core().await;
    let router = router(EdgeConfig::default(), core);
    let (status, response) = call(&router, "GET", "/api/v1/customers", Some("free-key"), "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(response.headers()["x-ratelimit-limit"], "100");
    assert_eq!(response.headers()["x-ratelimit-remaining"], "99");
    let (_, response) = call(
        &router,
        "GET",
        "/api/v1/customers/5",
        Some("standard-key"),
        "",
    )
    .await;
    assert_eq!(response.headers()["x-ratelimit-limit"], "60");
    // A valid key on a public route spends the key's budget, not the address's.
    let (_, response) = call(&router, "GET", "/api/v1", Some("free-key"), "").await;
    assert_eq!(response.headers()["x-ratelimit-remaining"], "98");
    assert_eq!(calls.named("GetCurrentPrincipal").len(), 2);
}

#[tokio::test]
async fn answers_are_rendered_in_the_envelope() {
    let (core, calls) = start_core().await;
    let router = router(EdgeConfig { rate_limits: None }, core);
    let (status, response) = call(
        &router,
        "GET",
        "/api/v1/customers?per_page=500",
        Some("k"),
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let body = json_of(response).await;
    assert_eq!(
        body["meta"],
        json!({"current_page": 1, "per_page": 25, "total": 2, "last_page": 1})
    );
    assert_eq!(
        body["data"]["customers"][1]["links"]["self"],
        "http://edge.test/api/v1/customers/2"
    );

    let (status, response) =
        call(&router, "GET", "/api/v1/customers/10000005", Some("k"), "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        json_of(response).await["message"],
        "Customer retrieved successfully"
    );

    let (status, response) = call(
        &router,
        "POST",
        "/api/v1/customers/5/action",
        Some("k"),
        r#"{"action":"suspend"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        json_of(response).await["message"],
        "Customer suspended successfully"
    );

    let (status, response) = call(&router, "DELETE", "/api/v1/customers/5", Some("k"), "").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(
        axum::body::to_bytes(response.into_body(), 16)
            .await
            .unwrap()
            .is_empty()
    );

    let (status, response) = call(
        &router,
        "PATCH",
        "/api/v1/customers/5",
        Some("k"),
        r#"{"city": "X", "email": null}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        json_of(response).await["message"],
        "Customer updated successfully"
    );
    let (status, _) = call(&router, "PUT", "/api/v1/customers/5", Some("k"), "").await;
    assert_eq!(status, StatusCode::OK);
    let masks: Vec<Vec<String>> = calls
        .named("UpdateCustomer")
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    assert_eq!(
        masks,
        [vec!["email".to_owned(), "address.city".to_owned()], vec![]]
    );
}

#[tokio::test]
async fn core_validation_errors_become_the_422_map() {
    let (core, _) = start_core().await;
    let router = router(EdgeConfig { rate_limits: None }, core);
    let (status, response) = call(&router, "POST", "/api/v1/customers", Some("k"), "{}").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        json_of(response).await,
        json!({"success": false, "message": "Validation failed", "code": "VALIDATION_ERROR",
            "errors": {"first_name": ["The first name field is required."]}})
    );
}

#[tokio::test]
async fn security_settings_need_no_credential_and_forward_none() {
    let (core, calls) = start_core().await;
    let router = router(EdgeConfig::default(), core);
    let (status, response) =
        call(&router, "GET", "/api/security-settings", Some("wrong"), "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        json_of(response).await["data"]["password_policy"],
        json!({"min_length": 8, "max_length": 128, "require_uppercase": true,
            "require_lowercase": false, "require_number": false, "require_special": false})
    );
    let (metadata, _) = calls.named("GetSecuritySettings").remove(0);
    assert!(metadata.get("authorization").is_none());
    assert!(metadata.get("x-request-id").is_some());
}

#[tokio::test]
async fn field_type_errors_are_reported_with_the_cores_rule_failures() {
    let (core, calls) = start_core().await;
    let router = router(EdgeConfig { rate_limits: None }, core);
    // first_name has the wrong type, so it is left out of what the core checks; the core's
    // "required" for it is shadowed by the type error, and nothing is created.
    let body = r#"{"first_name": 5, "billing_day": "x", "auto_suspension": "no", "organization_ids": "1"}"#;
    let (status, response) = call(&router, "POST", "/api/v1/customers", Some("k"), body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        json_of(response).await,
        json!({"success": false, "message": "Validation failed", "code": "VALIDATION_ERROR",
            "errors": {
                "first_name": ["The first name must be a string."],
                "billing_day": ["The billing day must be an integer."],
                "auto_suspension": ["The auto suspension field must be true or false."],
                "organization_ids": ["The organization ids must be an array of integers."]}})
    );
    assert_eq!(
        calls.named("CreateCustomer").len(),
        1,
        "the core validated the rest"
    );
}

#[tokio::test]
async fn a_type_error_alone_still_gets_the_core_to_validate_the_rest() {
    let (core, _calls) = start_core().await;
    let router = router(EdgeConfig { rate_limits: None }, core);
    let (status, response) = call(
        &router,
        "POST",
        "/api/v1/customers",
        Some("k"),
        r#"{"billing_day": "x"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        json_of(response).await["errors"],
        json!({"first_name": ["The first name field is required."],
               "billing_day": ["The billing day must be an integer."]})
    );
}

#[tokio::test]
async fn login_is_public_and_answers_the_token_pair_under_data() {
    let (core, calls) = start_core().await;
    let router = router(EdgeConfig::default(), core);
    let body = r#"{"email":"ana@isp.example","password":"Str0ng!pass"}"#;
    let (status, response) = call(&router, "POST", "/api/v1/auth/login", None, body).await;
    assert_eq!(status, StatusCode::OK);
    let json = json_of(response).await;
    assert_eq!(json["success"], json!(true));
    assert_eq!(
        json["data"],
        json!({"access_token": "a.b.c", "token_type": "bearer", "expires_in": 900,
            "refresh_token": "r"})
    );
    let (metadata, _) = calls.named("Login").remove(0);
    assert!(metadata.get("authorization").is_none());
    assert!(metadata.get("x-request-id").is_some());
}

#[tokio::test]
async fn a_refused_login_is_401_invalid_credentials_and_a_missing_field_422() {
    let (core, _calls) = start_core().await;
    let router = router(EdgeConfig::default(), core);
    let body = r#"{"email":"ana@isp.example","password":"nope"}"#;
    let (status, response) = call(&router, "POST", "/api/v1/auth/login", None, body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(json_of(response).await["message"], "Invalid credentials");
    let (status, response) = call(
        &router,
        "POST",
        "/api/v1/auth/login",
        None,
        r#"{"email":"a@b.co"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        json_of(response).await["errors"]["password"],
        json!(["The password field is required."])
    );
}

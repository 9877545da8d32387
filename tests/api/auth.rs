//! Authentication at the REST edge: the three credential headers, the exact 401 answers,
//! expiry, the public routes, `last_used_at`, keys stored only as digests, and the request
//! id on every answer.

use std::time::Duration;

use chrono::{DateTime, Utc};
use lastmile_core::clock::Clock;
use lastmile_core::db::Db;
use lastmile_core::identity::{NewApiKey, Role, Tier};
use lastmile_tests::{StatusCode, TestApp, engine_tests, fetch, json};
use serde_json::Value;

engine_tests!(
    each_of_the_three_credential_headers_is_accepted,
    a_request_without_a_credential_is_401_missing_api_key,
    empty_credential_headers_count_as_missing,
    an_unknown_key_is_401_invalid_api_key,
    malformed_keys_are_401_invalid_api_key,
    another_authorization_scheme_is_not_a_credential,
    a_key_created_already_expired_is_401_api_key_has_expired,
    a_key_stops_working_when_its_expiry_passes,
    a_key_with_a_future_expiry_works,
    discovery_needs_no_credential,
    security_settings_need_no_credential_and_show_the_password_policy,
    health_and_readiness_need_no_credential,
    the_openapi_document_is_public_openapi_3_1_with_the_customer_paths,
    the_interactive_docs_are_served_as_html,
    last_used_at_is_recorded_when_a_key_is_used,
    api_keys_are_stored_only_as_a_digest,
    every_answer_carries_a_request_id,
    a_sane_client_request_id_is_echoed,
);

const INVALID_DETAIL: &str = "The provided API key is invalid or does not exist.";

/// A key made directly in the core, with the given expiry.
async fn new_key(app: &TestApp, name: &str, expires_at: Option<DateTime<Utc>>) -> (i64, String) {
    app.core()
        .api_keys
        .create(NewApiKey {
            name: name.to_owned(),
            description: None,
            role: Role::Admin,
            tier: Tier::Standard,
            expires_at,
            partner_id: None,
        })
        .await
        .expect("create API key")
}

fn customers_without_credential(app: &TestApp) -> reqwest::RequestBuilder {
    app.http.get(app.url("/api/v1/customers"))
}

/// Asserts a 401 with the exact envelope of the contract.
fn assert_unauthenticated(status: StatusCode, body: &Value, message: &str) {
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["success"], json!(false), "{body}");
    assert_eq!(body["message"], json!(message), "{body}");
    assert_eq!(body["code"], json!("UNAUTHENTICATED"), "{body}");
    assert!(body.get("data").is_none(), "a 401 carries no data: {body}");
    assert!(
        body.get("errors").is_none(),
        "only 422 carries errors: {body}"
    );
}

fn assert_invalid_key(status: StatusCode, body: &Value) {
    assert_unauthenticated(status, body, "Invalid API key");
    assert_eq!(body["error"], json!(INVALID_DETAIL), "{body}");
}

async fn each_of_the_three_credential_headers_is_accepted(app: TestApp) {
    app.create_customer("Amina", "+254712345678").await;
    let key = app.admin_key.clone();
    let requests = [
        (
            "X-API-Key",
            customers_without_credential(&app).header("X-API-Key", &key),
        ),
        (
            "Authorization: Bearer",
            customers_without_credential(&app).header("Authorization", format!("Bearer {key}")),
        ),
        (
            "X-Auth-Token",
            customers_without_credential(&app).header("X-Auth-Token", &key),
        ),
    ];
    for (how, request) in requests {
        let (status, _, body) = fetch(request).await;
        assert_eq!(status, StatusCode::OK, "{how}: {body}");
        assert_eq!(body["success"], json!(true), "{how}: {body}");
        assert_eq!(body["meta"]["total"], json!(1), "{how}: {body}");
        assert_eq!(
            body["data"]["customers"][0]["phone"],
            json!("+254712345678"),
            "{how}: {body}"
        );
    }
    // The scheme name is case-insensitive.
    let (status, _, body) =
        fetch(customers_without_credential(&app).header("Authorization", format!("bearer {key}")))
            .await;
    assert_eq!(status, StatusCode::OK, "lower-case bearer: {body}");
    app.stop().await;
}

async fn a_request_without_a_credential_is_401_missing_api_key(app: TestApp) {
    let (status, _, body) = fetch(customers_without_credential(&app)).await;
    assert_unauthenticated(status, &body, "Missing API key");
    let object = body.as_object().expect("an object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "error", "message", "success"], "{body}");
    assert!(
        !body["error"]
            .as_str()
            .expect("error is a string")
            .is_empty(),
        "{body}"
    );

    // Every protected route, whatever the method.
    for (method, path) in [
        (reqwest::Method::POST, "/api/v1/customers"),
        (reqwest::Method::GET, "/api/v1/customers/1"),
        (reqwest::Method::PATCH, "/api/v1/customers/1"),
        (reqwest::Method::DELETE, "/api/v1/customers/1"),
        (reqwest::Method::POST, "/api/v1/customers/1/action"),
    ] {
        let request = app
            .http
            .request(method.clone(), app.url(path))
            .json(&json!({}));
        let (status, _, body) = fetch(request).await;
        assert_unauthenticated(status, &body, "Missing API key");
        assert!(body["error"].is_string(), "{method} {path}: {body}");
    }
    app.stop().await;
}

async fn empty_credential_headers_count_as_missing(app: TestApp) {
    let request = customers_without_credential(&app)
        .header("X-API-Key", "")
        .header("X-Auth-Token", "  ");
    let (status, _, body) = fetch(request).await;
    assert_unauthenticated(status, &body, "Missing API key");
    app.stop().await;
}

async fn an_unknown_key_is_401_invalid_api_key(app: TestApp) {
    // Shaped exactly like a generated key, but never issued.
    let unknown = "lm_Zz9Yy8Xx_0123456789abcdefghijABCDEFGHIJ";
    for header in ["X-API-Key", "X-Auth-Token"] {
        let (status, _, body) =
            fetch(customers_without_credential(&app).header(header, unknown)).await;
        assert_invalid_key(status, &body);
    }
    let request =
        customers_without_credential(&app).header("Authorization", format!("Bearer {unknown}"));
    let (status, _, body) = fetch(request).await;
    assert_invalid_key(status, &body);
    // A real key with one character changed is just as unknown.
    let mut altered = app.admin_key.clone();
    let last = altered.pop().unwrap();
    altered.push(if last == 'a' { 'b' } else { 'a' });
    let (status, _, body) =
        fetch(customers_without_credential(&app).header("X-API-Key", &altered)).await;
    assert_invalid_key(status, &body);
    app.stop().await;
}

async fn malformed_keys_are_401_invalid_api_key(app: TestApp) {
    for malformed in [
        "short",
        "lm_abc",
        "lm_has spaces in the middle of it",
        "lm_tab\tinside_the_key_value",
    ] {
        let (status, _, body) =
            fetch(customers_without_credential(&app).header("X-API-Key", malformed)).await;
        assert_invalid_key(status, &body);
        let request = customers_without_credential(&app)
            .header("Authorization", format!("Bearer {malformed}"));
        let (status, _, body) = fetch(request).await;
        assert_invalid_key(status, &body);
    }
    // Bytes that are not printable ASCII cannot be a key either.
    let not_ascii =
        reqwest::header::HeaderValue::from_bytes("ключ-ключ-ключ-ключ".as_bytes()).unwrap();
    let (status, _, body) =
        fetch(customers_without_credential(&app).header("X-API-Key", not_ascii)).await;
    assert_invalid_key(status, &body);
    app.stop().await;
}

async fn another_authorization_scheme_is_not_a_credential(app: TestApp) {
    let request = customers_without_credential(&app)
        .header("Authorization", format!("Basic {}", app.admin_key));
    let (status, _, body) = fetch(request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], json!("UNAUTHENTICATED"), "{body}");
    app.stop().await;
}

async fn a_key_created_already_expired_is_401_api_key_has_expired(app: TestApp) {
    let (_, key) = new_key(
        &app,
        "expired",
        Some(Utc::now() - chrono::Duration::hours(1)),
    )
    .await;
    let (status, _, body) =
        fetch(customers_without_credential(&app).header("X-API-Key", &key)).await;
    assert_unauthenticated(status, &body, "API key has expired");
    assert!(body["error"].is_string(), "{body}");
    // Whichever header carries it.
    let request =
        customers_without_credential(&app).header("Authorization", format!("Bearer {key}"));
    let (status, _, body) = fetch(request).await;
    assert_unauthenticated(status, &body, "API key has expired");
    // And on writes too: nothing is created.
    let request = app
        .http
        .post(app.url("/api/v1/customers"))
        .header("X-API-Key", &key)
        .json(&lastmile_tests::customer_body("Amina", "+254712345678"));
    let (status, _, body) = fetch(request).await;
    assert_unauthenticated(status, &body, "API key has expired");
    let (_, list) = app.get("/api/v1/customers").await;
    assert_eq!(list["meta"]["total"], json!(0), "{list}");
    app.stop().await;
}

async fn a_key_stops_working_when_its_expiry_passes(app: TestApp) {
    let expires_at = app.clock.now() + chrono::Duration::minutes(5);
    let (_, key) = new_key(&app, "short-lived", Some(expires_at)).await;
    let (status, _, body) =
        fetch(customers_without_credential(&app).header("X-API-Key", &key)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "before its expiry the key works: {body}"
    );
    // The servers' clock moves past the expiry; the core checks it on every call, even for
    // a key it has just looked up and remembered.
    app.clock.advance(chrono::Duration::minutes(5));
    let (status, _, body) =
        fetch(customers_without_credential(&app).header("X-API-Key", &key)).await;
    assert_unauthenticated(status, &body, "API key has expired");
    app.stop().await;
}

async fn a_key_with_a_future_expiry_works(app: TestApp) {
    let (_, key) = new_key(
        &app,
        "yearly",
        Some(Utc::now() + chrono::Duration::days(365)),
    )
    .await;
    let (status, _, body) =
        fetch(customers_without_credential(&app).header("X-Auth-Token", &key)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], json!(true), "{body}");
    app.stop().await;
}

async fn discovery_needs_no_credential(app: TestApp) {
    let (status, _, body) = fetch(app.http.get(app.url("/api/v1"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], json!(true), "{body}");
    let customers = body["data"]["links"]["customers"]
        .as_str()
        .expect("customers link");
    assert_eq!(customers, app.url("/api/v1/customers"), "{body}");
    app.stop().await;
}

async fn security_settings_need_no_credential_and_show_the_password_policy(app: TestApp) {
    let (status, _, body) = fetch(app.http.get(app.url("/api/security-settings"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], json!(true), "{body}");
    let policy = &body["data"]["password_policy"];
    assert_eq!(policy["min_length"], json!(8), "{body}");
    for rule in [
        "require_uppercase",
        "require_lowercase",
        "require_number",
        "require_special",
    ] {
        assert_eq!(policy[rule], json!(true), "{rule}: {body}");
    }
    app.stop().await;
}

async fn health_and_readiness_need_no_credential(app: TestApp) {
    let (status, _, body) = fetch(app.http.get(app.url("/healthz"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], json!("ok"), "{body}");
    let (status, _, body) = fetch(app.http.get(app.url("/readyz"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], json!("ready"), "{body}");
    app.stop().await;
}

async fn the_openapi_document_is_public_openapi_3_1_with_the_customer_paths(app: TestApp) {
    let (status, headers, body) = fetch(app.http.get(app.url("/api/v1/openapi.json"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let version = body["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3.1"), "{version}");
    for path in [
        "/api/v1/customers",
        "/api/v1/customers/{id}",
        "/api/v1/customers/{id}/action",
    ] {
        assert!(body["paths"][path].is_object(), "{path} is missing");
    }
    assert!(body["paths"]["/api/v1/customers"]["get"].is_object());
    assert!(body["paths"]["/api/v1/customers"]["post"].is_object());
    app.stop().await;
}

async fn the_interactive_docs_are_served_as_html(app: TestApp) {
    let response = app
        .http
        .get(app.url("/docs"))
        .send()
        .await
        .expect("HTTP request");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = response.text().await.expect("HTML body");
    assert!(html.to_ascii_lowercase().contains("<html"), "{html}");
    app.stop().await;
}

/// The stored `last_used_at` of a key, read from the database directly.
async fn last_used_at(db: &Db, id: i64) -> Option<DateTime<Utc>> {
    let query = "SELECT last_used_at FROM api_keys WHERE id = $1";
    match db {
        Db::Sqlite(pool) => sqlx::query_scalar(query).bind(id).fetch_one(pool).await,
        Db::Postgres(pool) => sqlx::query_scalar(query).bind(id).fetch_one(pool).await,
    }
    .expect("read last_used_at")
}

async fn last_used_at_is_recorded_when_a_key_is_used(app: TestApp) {
    let db = Db::connect(&app.database.url)
        .await
        .expect("connect to the test database");
    let (id, key) = new_key(&app, "observed", None).await;
    assert_eq!(
        last_used_at(&db, id).await,
        None,
        "a new key has not been used"
    );
    // The time of use is the servers' (a day ahead here), not the machine's.
    app.clock.advance(chrono::Duration::days(1));
    let before = app.clock.now();
    let (status, _, body) =
        fetch(customers_without_credential(&app).header("X-API-Key", &key)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let after = app.clock.now();
    // The write happens beside the answer, not before it: wait for the database to show it.
    let mut recorded = None;
    for _ in 0..250 {
        recorded = last_used_at(&db, id).await;
        if recorded.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let recorded = recorded.expect("last_used_at is set within 5 s of a use");
    assert!(
        before <= recorded && recorded <= after,
        "{before} <= {recorded} <= {after}"
    );
    db.close().await;
    app.stop().await;
}

async fn api_keys_are_stored_only_as_a_digest(app: TestApp) {
    let db = Db::connect(&app.database.url)
        .await
        .expect("connect to the test database");
    let (id, key) = new_key(&app, "secret", None).await;
    let query =
        "SELECT name, COALESCE(description, ''), prefix, key_digest FROM api_keys WHERE id = $1";
    let row: (String, String, String, String) = match &db {
        Db::Sqlite(pool) => sqlx::query_as(query).bind(id).fetch_one(pool).await,
        Db::Postgres(pool) => sqlx::query_as(query).bind(id).fetch_one(pool).await,
    }
    .expect("read the key row");
    for column in [&row.0, &row.1, &row.2, &row.3] {
        assert!(!column.contains(&key), "the key is stored in the clear");
    }
    assert!(
        key.starts_with(&row.2),
        "the prefix is the start of the key"
    );
    assert!(
        row.2.len() < key.len() / 2,
        "the prefix gives away at most a small part of the key"
    );
    db.close().await;
    app.stop().await;
}

async fn every_answer_carries_a_request_id(app: TestApp) {
    let key = app.admin_key.clone();
    let requests = [
        (
            "200",
            app.http
                .get(app.url("/api/v1/customers"))
                .header("X-API-Key", &key),
            StatusCode::OK,
        ),
        (
            "401",
            app.http.get(app.url("/api/v1/customers")),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "404",
            app.http
                .get(app.url("/api/v1/customers/999999"))
                .header("X-API-Key", &key),
            StatusCode::NOT_FOUND,
        ),
        (
            "unknown route",
            app.http
                .get(app.url("/api/v1/nothing-here"))
                .header("X-API-Key", &key),
            StatusCode::NOT_FOUND,
        ),
        (
            "422",
            app.http
                .post(app.url("/api/v1/customers"))
                .header("X-API-Key", &key)
                .json(&json!({})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "discovery",
            app.http.get(app.url("/api/v1")),
            StatusCode::OK,
        ),
        (
            "security settings",
            app.http.get(app.url("/api/security-settings")),
            StatusCode::OK,
        ),
        ("healthz", app.http.get(app.url("/healthz")), StatusCode::OK),
        ("readyz", app.http.get(app.url("/readyz")), StatusCode::OK),
        (
            "openapi",
            app.http.get(app.url("/api/v1/openapi.json")),
            StatusCode::OK,
        ),
    ];
    let mut seen = Vec::new();
    for (what, request, expected) in requests {
        let (status, headers, body) = fetch(request).await;
        assert_eq!(status, expected, "{what}: {body}");
        let id = headers
            .get("x-request-id")
            .unwrap_or_else(|| panic!("{what}: no x-request-id"))
            .to_str()
            .expect("ASCII request id")
            .to_owned();
        assert!(!id.is_empty(), "{what}: empty x-request-id");
        seen.push(id);
    }
    let count = seen.len();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), count, "each request gets its own id");
    app.stop().await;
}

async fn a_sane_client_request_id_is_echoed(app: TestApp) {
    let request = app
        .http
        .get(app.url("/api/v1/customers"))
        .header("X-API-Key", &app.admin_key)
        .header("X-Request-Id", "req-42.abc");
    let (status, headers, body) = fetch(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        headers.get("x-request-id").and_then(|v| v.to_str().ok()),
        Some("req-42.abc")
    );
    let request = app
        .http
        .get(app.url("/api/v1/customers"))
        .header("X-Request-Id", "req-43");
    let (status, headers, _) = fetch(request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        headers.get("x-request-id").and_then(|v| v.to_str().ok()),
        Some("req-43")
    );
    app.stop().await;
}

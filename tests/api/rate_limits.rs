//! Rate limits at the REST edge: the `X-RateLimit-*` headers, the 429 answer with
//! `Retry-After`, budgets per API key and per client address, and the tier budgets.
//! Budgets refill as the servers' clock moves, so the tests move it instead of waiting.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use lastmile::Settings;
use lastmile_core::clock::Clock;
use lastmile_core::identity::{NewApiKey, Role, Tier};
use lastmile_tests::{StatusCode, TestApp, engine_tests, fetch, json};
use reqwest::header::HeaderMap;
use serde_json::Value;

/// An edge whose default budget is 3 requests a minute (one back every 20 s).
fn three_a_minute(settings: &mut Settings) {
    settings.rate_limit_per_minute = 3;
}

engine_tests!(with = three_a_minute;
    every_answer_carries_the_rate_limit_headers,
    the_request_over_the_limit_is_429_rate_limited_with_retry_after,
    a_refused_request_does_no_work,
    limits_are_per_api_key,
    requests_without_a_key_are_limited_per_client_address,
    answers_to_requests_without_a_credential_spend_the_client_address_budget,
    answers_to_requests_with_an_invalid_key_spend_the_client_address_budget,
    each_tier_gets_its_own_budget,
    a_client_that_waits_retry_after_seconds_gets_through,
    a_minute_later_the_whole_budget_is_back,
);

/// A numeric header.
fn number(headers: &HeaderMap, name: &str) -> u64 {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
        .to_str()
        .expect("ASCII header")
        .parse()
        .unwrap_or_else(|e| panic!("{name} is not a whole number: {e}"))
}

/// The servers' now in unix seconds.
fn unix_now(app: &TestApp) -> u64 {
    u64::try_from(app.clock.now().timestamp()).expect("after 1970")
}

/// Asserts the three budget headers: the limit, what is left, and a reset time in unix
/// seconds within the servers' coming minute.
fn assert_budget(app: &TestApp, headers: &HeaderMap, limit: u64, remaining: u64) {
    assert_eq!(number(headers, "x-ratelimit-limit"), limit, "{headers:?}");
    assert_eq!(
        number(headers, "x-ratelimit-remaining"),
        remaining,
        "{headers:?}"
    );
    let reset = number(headers, "x-ratelimit-reset");
    let now = unix_now(app);
    assert!(
        reset >= now,
        "X-RateLimit-Reset {reset} is in the past (now {now})"
    );
    assert!(
        reset <= now + 61,
        "X-RateLimit-Reset {reset} is more than a minute away (now {now})"
    );
}

/// Asserts the 429 answer of the contract; returns its `Retry-After`.
fn assert_refused(
    app: &TestApp,
    status: StatusCode,
    headers: &HeaderMap,
    body: &Value,
    limit: u64,
) -> u64 {
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["success"], json!(false), "{body}");
    assert_eq!(body["code"], json!("RATE_LIMITED"), "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(body.get("data").is_none(), "{body}");
    assert_budget(app, headers, limit, 0);
    let retry_after = number(headers, "retry-after");
    assert!(retry_after >= 1, "Retry-After {retry_after}");
    assert!(
        retry_after <= 60,
        "Retry-After {retry_after} is longer than the budget's minute"
    );
    retry_after
}

async fn new_key(app: &TestApp, name: &str, tier: Tier) -> String {
    let new = NewApiKey {
        name: name.to_owned(),
        description: None,
        role: Role::Admin,
        tier,
        expires_at: None,
        partner_id: None,
    };
    app.core()
        .api_keys
        .create(new)
        .await
        .expect("create API key")
        .1
}

fn list_with(app: &TestApp, key: &str) -> reqwest::RequestBuilder {
    app.http
        .get(app.url("/api/v1/customers"))
        .header("X-API-Key", key)
}

async fn every_answer_carries_the_rate_limit_headers(app: TestApp) {
    // The reset time is read from the servers' clock, not the machine's: a day ahead here.
    app.clock.advance(chrono::Duration::days(1));
    let key = app.admin_key.clone();
    let requests = [
        (list_with(&app, &key), StatusCode::OK),
        (
            app.http
                .get(app.url("/api/v1/customers/424242"))
                .header("X-API-Key", &key),
            StatusCode::NOT_FOUND,
        ),
        (
            app.http
                .post(app.url("/api/v1/customers"))
                .header("X-API-Key", &key)
                .json(&json!({"first_name": "Al"})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (remaining, (request, expected)) in (0..3).rev().zip(requests) {
        let (status, headers, body) = fetch(request).await;
        assert_eq!(status, expected, "{body}");
        assert_budget(&app, &headers, 3, remaining);
    }
    app.stop().await;
}

async fn the_request_over_the_limit_is_429_rate_limited_with_retry_after(app: TestApp) {
    for remaining in [2, 1, 0] {
        let (status, headers, body) = fetch(list_with(&app, &app.admin_key)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_budget(&app, &headers, 3, remaining);
    }
    let (status, headers, body) = fetch(list_with(&app, &app.admin_key)).await;
    assert_refused(&app, status, &headers, &body, 3);
    assert!(
        headers.contains_key("x-request-id"),
        "a 429 carries the request id too"
    );
    // Refusals do not refill the budget.
    let (status, headers, body) = fetch(list_with(&app, &app.admin_key)).await;
    assert_refused(&app, status, &headers, &body, 3);
    app.stop().await;
}

async fn a_refused_request_does_no_work(app: TestApp) {
    for _ in 0..3 {
        let (status, _, body) = fetch(list_with(&app, &app.admin_key)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let create = app
        .http
        .post(app.url("/api/v1/customers"))
        .header("X-API-Key", &app.admin_key)
        .json(&lastmile_tests::customer_body("Amina", "+254712345678"));
    let (status, headers, body) = fetch(create).await;
    assert_refused(&app, status, &headers, &body, 3);
    let other = new_key(&app, "observer", Tier::Standard).await;
    let (status, _, body) = fetch(list_with(&app, &other)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["meta"]["total"],
        json!(0),
        "the refused create must not have run: {body}"
    );
    app.stop().await;
}

async fn limits_are_per_api_key(app: TestApp) {
    for _ in 0..3 {
        let (status, _, body) = fetch(list_with(&app, &app.admin_key)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, headers, body) = fetch(list_with(&app, &app.admin_key)).await;
    assert_refused(&app, status, &headers, &body, 3);

    let second = new_key(&app, "second", Tier::Standard).await;
    let (status, headers, body) = fetch(list_with(&app, &second)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "another key has its own budget: {body}"
    );
    assert_budget(&app, &headers, 3, 2);
    // Whichever header carries a key, it is the same key and the same budget.
    let request = app
        .http
        .get(app.url("/api/v1/customers"))
        .header("Authorization", format!("Bearer {second}"));
    let (status, headers, body) = fetch(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_budget(&app, &headers, 3, 1);
    let request = app
        .http
        .get(app.url("/api/v1/customers"))
        .header("X-Auth-Token", &second);
    let (status, headers, body) = fetch(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_budget(&app, &headers, 3, 0);

    // The first key is still refused.
    let (status, headers, body) = fetch(list_with(&app, &app.admin_key)).await;
    assert_refused(&app, status, &headers, &body, 3);
    app.stop().await;
}

/// An HTTP client whose connections come from `ip` (any 127.x.y.z reaches the loopback).
fn client_from(ip: IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

async fn requests_without_a_key_are_limited_per_client_address(app: TestApp) {
    let first = client_from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)));
    for remaining in [2, 1, 0] {
        let (status, headers, body) = fetch(first.get(app.url("/api/v1"))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_budget(&app, &headers, 3, remaining);
    }
    let (status, headers, body) = fetch(first.get(app.url("/api/v1"))).await;
    assert_refused(&app, status, &headers, &body, 3);
    // Another public route draws on the same address budget.
    let (status, headers, body) = fetch(first.get(app.url("/api/security-settings"))).await;
    assert_refused(&app, status, &headers, &body, 3);

    // Another client address has a budget of its own.
    let second = client_from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)));
    let (status, headers, body) = fetch(second.get(app.url("/api/v1"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_budget(&app, &headers, 3, 2);

    // A request with a key spends the key's budget, not the address's.
    let (status, headers, body) = fetch(
        first
            .get(app.url("/api/v1"))
            .header("X-API-Key", &app.admin_key),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_budget(&app, &headers, 3, 2);
    app.stop().await;
}

async fn answers_to_requests_without_a_credential_spend_the_client_address_budget(app: TestApp) {
    for remaining in [2, 1, 0] {
        let (status, headers, body) = fetch(app.http.get(app.url("/api/v1/customers"))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_budget(&app, &headers, 3, remaining);
    }
    let (status, headers, body) = fetch(app.http.get(app.url("/api/v1/customers"))).await;
    assert_refused(&app, status, &headers, &body, 3);
    app.stop().await;
}

async fn answers_to_requests_with_an_invalid_key_spend_the_client_address_budget(app: TestApp) {
    // A different made-up key each time, as a client guessing keys would send.
    for (attempt, remaining) in [2u64, 1, 0].into_iter().enumerate() {
        let guess = format!("lm_guess000_{attempt:0>32}");
        let (status, headers, body) = fetch(list_with(&app, &guess)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["message"], json!("Invalid API key"), "{body}");
        assert_budget(&app, &headers, 3, remaining);
    }
    let (status, headers, body) = fetch(list_with(
        &app,
        "lm_guess000_ffffffffffffffffffffffffffffffff",
    ))
    .await;
    assert_refused(&app, status, &headers, &body, 3);
    app.stop().await;
}

async fn each_tier_gets_its_own_budget(app: TestApp) {
    for (tier, limit) in [
        (Tier::Enterprise, 2000),
        (Tier::Professional, 500),
        (Tier::Free, 100),
        (Tier::Standard, 3),
    ] {
        let key = new_key(&app, tier.as_str(), tier).await;
        let (status, headers, body) = fetch(list_with(&app, &key)).await;
        assert_eq!(status, StatusCode::OK, "{}: {body}", tier.as_str());
        assert_budget(&app, &headers, limit, limit - 1);
        // A large budget refills a request every few milliseconds, so the second answer
        // may already show part of the first one returned.
        let (status, headers, body) = fetch(list_with(&app, &key)).await;
        assert_eq!(status, StatusCode::OK, "{}: {body}", tier.as_str());
        assert_eq!(number(&headers, "x-ratelimit-limit"), limit, "{headers:?}");
        let remaining = number(&headers, "x-ratelimit-remaining");
        assert!(
            (limit - 2..limit).contains(&remaining),
            "{}: remaining {remaining}",
            tier.as_str()
        );
    }
    // An enterprise key is not held to the deployment default of 3.
    let key = new_key(&app, "busy", Tier::Enterprise).await;
    for _ in 0..10 {
        let (status, _, body) = fetch(list_with(&app, &key)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    app.stop().await;
}

async fn a_client_that_waits_retry_after_seconds_gets_through(app: TestApp) {
    for _ in 0..3 {
        let (status, _, body) = fetch(list_with(&app, &app.admin_key)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, headers, body) = fetch(list_with(&app, &app.admin_key)).await;
    let retry_after = assert_refused(&app, status, &headers, &body, 3);
    // One request comes back every 20 s, less the moments the requests took.
    assert!((11..=20).contains(&retry_after), "{headers:?}");

    // Half the wait is not enough, and the wait counts down with the servers' clock.
    app.clock.advance(chrono::Duration::seconds(10));
    let (status, headers, body) = fetch(list_with(&app, &app.admin_key)).await;
    let rest = assert_refused(&app, status, &headers, &body, 3);
    assert!(
        rest <= retry_after - 10,
        "{rest} s after 10 of {retry_after}"
    );

    app.clock
        .advance(chrono::Duration::seconds(i64::try_from(rest).unwrap()));
    let (status, headers, body) = fetch(list_with(&app, &app.admin_key)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "after waiting Retry-After ({rest} s): {body}"
    );
    assert_budget(&app, &headers, 3, 0);
    // One request came back, not more.
    let (status, headers, body) = fetch(list_with(&app, &app.admin_key)).await;
    assert_refused(&app, status, &headers, &body, 3);
    app.stop().await;
}

async fn a_minute_later_the_whole_budget_is_back(app: TestApp) {
    for _ in 0..3 {
        let (status, _, body) = fetch(list_with(&app, &app.admin_key)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, headers, body) = fetch(list_with(&app, &app.admin_key)).await;
    assert_refused(&app, status, &headers, &body, 3);

    app.clock.advance(chrono::Duration::minutes(1));
    for remaining in [2, 1, 0] {
        let (status, headers, body) = fetch(list_with(&app, &app.admin_key)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_budget(&app, &headers, 3, remaining);
    }
    let (status, headers, body) = fetch(list_with(&app, &app.admin_key)).await;
    assert_refused(&app, status, &headers, &body, 3);
    app.stop().await;
}

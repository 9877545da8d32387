//! Behaviour that depends on deployment settings or on time: the billing method rule when
//! billing is enabled, and how long idempotency keys are kept.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use lastmile_core::clock::ManualClock;
use lastmile_tests::{Engine, StatusCode, TestApp, customer_body, json};

async fn billing_enabled_requires_a_billing_method(engine: Engine) {
    let Some(app) = TestApp::spawn_with(engine, |s| s.billing_enabled = true).await else {
        return;
    };
    let (status, body) = app
        .post(
            "/api/v1/customers",
            &customer_body("Amina", "+254711000001"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["errors"],
        json!({"billing_method": ["The billing method field is required."]})
    );

    let mut with_method = customer_body("Amina", "+254711000001");
    with_method["billing_method"] = json!("prorata");
    let (status, body) = app.post("/api/v1/customers", &with_method).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["customer"]["billing_method"], json!("prorata"));

    // Clearing it later is refused too.
    let id = body["data"]["customer"]["id"].as_i64().unwrap();
    let (status, body) = app
        .patch(
            &format!("/api/v1/customers/{id}"),
            &json!({"billing_method": null}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["errors"]["billing_method"],
        json!(["The billing method field is required."])
    );
    app.stop().await;
}

async fn idempotency_keys_are_kept_a_day_and_purged_after_the_retention(engine: Engine) {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap());
    let shared = clock.clone();
    let Some(app) = TestApp::spawn_with(engine, move |s| s.clock = Arc::new(shared)).await else {
        return;
    };
    let post = |body: serde_json::Value| {
        app.request(reqwest::Method::POST, "/api/v1/customers")
            .header("Idempotency-Key", "order-77")
            .json(&body)
    };
    let first = customer_body("Amina", "+254711000002");
    let (status, created) = lastmile_tests::send(post(first.clone())).await;
    assert_eq!(status, StatusCode::CREATED);

    // A day later the first answer is still replayed, and a purge keeps it.
    clock.advance(Duration::hours(25));
    let purged = lastmile_core::idempotency::purge(&app.core().db, &app.core().clock)
        .await
        .unwrap();
    assert_eq!(purged, 0);
    let (status, replayed) = lastmile_tests::send(post(first)).await;
    assert_eq!((status, &replayed), (StatusCode::CREATED, &created));

    // After the retention the record is purged and the key is free for new work.
    clock.advance(Duration::hours(24));
    let purged = lastmile_core::idempotency::purge(&app.core().db, &app.core().clock)
        .await
        .unwrap();
    assert_eq!(purged, 1);
    let (status, body) = lastmile_tests::send(post(customer_body("Baraka", "+254711000003"))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_ne!(
        body["data"]["customer"]["id"],
        created["data"]["customer"]["id"]
    );
    app.stop().await;
}

macro_rules! on_both_engines {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(lastmile_tests::Engine::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name(lastmile_tests::Engine::Postgres).await;
                }
            }
        )+
    };
}

on_both_engines!(
    billing_enabled_requires_a_billing_method,
    idempotency_keys_are_kept_a_day_and_purged_after_the_retention,
);

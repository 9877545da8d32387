//! Behaviour that depends on deployment settings or on time: the billing method rule when
//! billing is enabled, and how long idempotency keys are kept.

use chrono::Duration;
use lastmile::Settings;
use lastmile_tests::{StatusCode, TestApp, customer_body, engine_tests, json};

engine_tests!(with = billing_enabled;
    billing_enabled_requires_a_billing_method,
);
engine_tests!(idempotency_keys_are_kept_a_day_and_purged_after_the_retention);

fn billing_enabled(settings: &mut Settings) {
    settings.billing_enabled = true;
}

async fn billing_enabled_requires_a_billing_method(app: TestApp) {
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

async fn idempotency_keys_are_kept_a_day_and_purged_after_the_retention(app: TestApp) {
    let clock = app.clock.clone();
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

//! A fresh installation: the bootstrap key works, discovery is open, and the core serves.

use lastmile_tests::{StatusCode, TestApp, engine_tests, json};

engine_tests!(
    the_bootstrap_key_can_create_and_read_a_customer,
    discovery_needs_no_key_and_links_the_collections,
);

async fn the_bootstrap_key_can_create_and_read_a_customer(app: TestApp) {
    let customer = app.create_customer("Amina", "+254712345678").await;
    let id = customer["id"].as_i64().unwrap();
    let (status, body) = app.get(&format!("/api/v1/customers/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["customer"]["phone"], json!("+254712345678"));
    app.stop().await;
}

async fn discovery_needs_no_key_and_links_the_collections(app: TestApp) {
    let (status, body) = lastmile_tests::send(app.http.get(app.url("/api/v1"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["data"]["links"]["customers"]
            .as_str()
            .unwrap()
            .ends_with("/api/v1/customers")
    );
    app.stop().await;
}

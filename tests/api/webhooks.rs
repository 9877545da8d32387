//! Webhooks end to end: an operator registers an endpoint, changes happen, and a receiver
//! in the test (a real HTTP server on 127.0.0.1) gets each event signed as the Standard
//! Webhooks specification says, checked here with an HMAC computed by the test itself.
//! `failures` covers retries, an outage and disabling; `receiver` is the test's server.

mod failures;
pub(crate) mod receiver;
pub(crate) mod support;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lastmile_core::clock::Clock;
use lastmile_core::identity::Role;
use lastmile_tests::{StatusCode, TestApp, customer_body, engine_tests, json, send};
use receiver::Receiver;
use serde_json::Value;
use support::{
    assert_signed_with, deliveries, delivery_after, register, signatures, standard_signature,
    timestamp,
};

engine_tests!(
    a_customer_created_after_registering_arrives_signed_with_its_rest_json,
    private_addresses_are_accepted_when_the_deployment_allows_them,
    after_a_rotation_deliveries_carry_the_new_and_the_old_signature,
    a_test_event_is_delivered_and_a_redelivery_sends_the_same_body_and_id,
    a_resellers_endpoint_receives_only_its_partners_events,
);

engine_tests!(with = refuse_private_networks;
    private_addresses_are_refused_on_the_url_field,
);

fn refuse_private_networks(settings: &mut lastmile::Settings) {
    settings.webhooks.allow_private_networks = false;
}

/// A loopback, a cloud metadata and a private address.
const PRIVATE_URLS: [&str; 3] = [
    "http://127.0.0.1:9/hooks",
    "http://169.254.169.254/latest/meta-data",
    "http://10.0.0.1/",
];

async fn a_customer_created_after_registering_arrives_signed_with_its_rest_json(app: TestApp) {
    let receiver = Receiver::start().await;
    let (_, secret) = register(&app, &receiver.url(), &["customer.*"]).await;
    // Two days ahead of the wall clock: the timestamp must be the servers' time.
    app.clock.advance(chrono::Duration::days(2));
    let before = app.clock.now().timestamp();
    let customer = app.create_customer("Wanjiru", "+254722000001").await;
    let requests = receiver.wait_for(1, "customer.created").await;
    let after = app.clock.now().timestamp();
    assert_eq!(requests.len(), 1, "one event, one request");
    let request = &requests[0];
    assert_eq!(request.path, "/hooks");
    assert_eq!(request.header("content-type"), "application/json");
    assert_eq!(request.header("x-isp-event"), "customer.created");

    let id = customer["id"].as_i64().unwrap();
    let (status, shown) = app.get(&format!("/api/v1/customers/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    let mut expected = shown["data"]["customer"].clone();
    expected.as_object_mut().unwrap().remove("links");
    let body = request.json();
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 4, "{body}");
    assert_eq!(body["type"], json!("customer.created"));
    assert_eq!(body["data"], expected);
    assert_eq!(body["id"].as_str(), Some(request.header("webhook-id")));
    let created_at = timestamp(&body["created_at"]).timestamp();
    assert!((before..=after).contains(&created_at), "{body}");

    let stamp: i64 = request.header("webhook-timestamp").parse().unwrap();
    assert!(
        (before..=after).contains(&stamp),
        "webhook-timestamp {stamp} is not the servers' time ({before}..={after})"
    );
    assert_eq!(signatures(request).len(), 1, "one secret, one signature");
    assert_signed_with(request, &secret);
    // A signature made with another secret does not match.
    let other = format!("whsec_{}", STANDARD.encode([7u8; 32]));
    let forged = standard_signature(
        &other,
        request.header("webhook-id"),
        &stamp.to_string(),
        &request.body,
    );
    assert_ne!(signatures(request)[0], forged);
}

async fn private_addresses_are_refused_on_the_url_field(app: TestApp) {
    let expected = ["127.0.0.1", "169.254.169.254", "10.0.0.1"];
    for (url, ip) in PRIVATE_URLS.into_iter().zip(expected) {
        let (status, body) = app
            .post("/api/v1/webhooks", &json!({"url": url, "events": ["*"]}))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {body}");
        assert_eq!(body["success"], json!(false));
        assert_eq!(body["code"], json!("VALIDATION_ERROR"));
        assert_eq!(body["message"], json!("Validation failed"));
        let message = format!(
            "The url resolves to {ip}, a loopback, private, link-local or otherwise non-public \
             address; such endpoints are not allowed."
        );
        assert_eq!(body["errors"], json!({"url": [message]}), "{url}");
    }
    let (_, list) = app.get("/api/v1/webhooks").await;
    assert_eq!(list["meta"]["total"], json!(0), "{list}");
}

async fn private_addresses_are_accepted_when_the_deployment_allows_them(app: TestApp) {
    for url in PRIVATE_URLS {
        let (status, body) = app
            .post("/api/v1/webhooks", &json!({"url": url, "events": ["*"]}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{url}: {body}");
        assert_eq!(body["data"]["webhook"]["url"], json!(url));
    }
}

async fn after_a_rotation_deliveries_carry_the_new_and_the_old_signature(app: TestApp) {
    let receiver = Receiver::start().await;
    let (webhook_id, old) = register(&app, &receiver.url(), &["customer.*"]).await;
    let (status, body) = app
        .post(
            &format!("/api/v1/webhooks/{webhook_id}/rotate-secret"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rotated = &body["data"]["webhook"];
    let new = rotated["secret"]
        .as_str()
        .expect("the new secret")
        .to_owned();
    assert_ne!(new, old);
    let grace =
        timestamp(&rotated["previous_secret_expires_at"]) - timestamp(&rotated["updated_at"]);
    assert_eq!(grace, chrono::Duration::hours(24), "{rotated}");
    let (_, shown) = app.get(&format!("/api/v1/webhooks/{webhook_id}")).await;
    assert!(shown["data"]["webhook"].get("secret").is_none(), "{shown}");

    app.create_customer("Njeri", "+254722000005").await;
    let request = &receiver.wait_for(1, "customer.created").await[0];
    let id = request.header("webhook-id");
    let stamp = request.header("webhook-timestamp");
    assert_eq!(
        signatures(request),
        [
            standard_signature(&new, id, stamp, &request.body),
            standard_signature(&old, id, stamp, &request.body),
        ],
        "the new secret's signature, then the old one's"
    );
    assert_signed_with(request, &new);

    // A day later the old secret no longer signs.
    app.clock.advance(chrono::Duration::hours(25));
    app.create_customer("Njeri Two", "+254722000006").await;
    let request = &receiver.wait_for(2, "the second customer.created").await[1];
    assert_eq!(signatures(request).len(), 1, "{:?}", signatures(request));
    assert_signed_with(request, &new);
}

async fn a_test_event_is_delivered_and_a_redelivery_sends_the_same_body_and_id(app: TestApp) {
    let receiver = Receiver::start().await;
    let (webhook_id, secret) = register(&app, &receiver.url(), &["customer.*"]).await;
    let (status, body) = app
        .post(&format!("/api/v1/webhooks/{webhook_id}/test"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let queued = &body["data"]["delivery"];
    assert_eq!(queued["event_type"], json!("webhook.test"), "{body}");
    let delivery_id = queued["id"].as_i64().unwrap();

    let first = receiver.wait_for(1, "webhook.test").await[0].clone();
    assert_eq!(first.header("x-isp-event"), "webhook.test");
    assert_signed_with(&first, &secret);
    let event = first.json();
    assert_eq!(event["type"], json!("webhook.test"));
    assert_eq!(event["id"], queued["event_id"]);
    assert_eq!(event["id"].as_str(), Some(first.header("webhook-id")));
    assert_eq!(event["data"]["webhook_id"], json!(webhook_id));
    let delivered = delivery_after(&app, webhook_id, "delivered", 1).await;
    assert_eq!(delivered["id"], json!(delivery_id));

    let path = format!("/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver");
    let (status, body) = app.post(&path, &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["delivery"]["id"], json!(delivery_id), "{body}");
    let again = receiver.wait_for(2, "the redelivery").await[1].clone();
    assert_eq!(again.header("webhook-id"), first.header("webhook-id"));
    assert_eq!(again.body, first.body, "the same bytes");
    assert_signed_with(&again, &secret);
    delivery_after(&app, webhook_id, "delivered", 2).await;
}

async fn a_resellers_endpoint_receives_only_its_partners_events(app: TestApp) {
    let ours = app.insert_partner("Ours").await;
    let theirs = app.insert_partner("Theirs").await;
    let (_, key) = app.key(Role::Reseller, Some(ours), None).await;
    let resellers = Receiver::start().await;
    let operators = Receiver::start().await;
    let (status, body) = send(
        app.http
            .post(app.url("/api/v1/webhooks"))
            .header("X-API-Key", &key)
            .json(&json!({"url": resellers.url(), "events": ["customer.*"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let reseller_hook = body["data"]["webhook"]["id"].as_i64().unwrap();
    assert_eq!(body["data"]["webhook"]["partner_id"], json!(ours));
    let (operator_hook, _) = register(&app, &operators.url(), &["customer.*"]).await;

    let customer_of = |partner: Option<i64>, name: &'static str, phone: &'static str| {
        let app = &app;
        async move {
            let mut body = customer_body(name, phone);
            body["partner_id"] = json!(partner);
            let (status, body) = app.post("/api/v1/customers", &body).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            body["data"]["customer"]["id"].as_i64().unwrap()
        }
    };
    customer_of(Some(theirs), "Theirs", "+254722000007").await;
    customer_of(None, "Nobody's", "+254722000008").await;
    let mine = customer_of(Some(ours), "Ours", "+254722000009").await;

    // The operator's endpoint gets all three; by then the reseller's has had its one.
    operators.wait_for(3, "the operator's events").await;
    assert_eq!(deliveries(&app, operator_hook).await.len(), 3);
    let log = deliveries(&app, reseller_hook).await;
    assert_eq!(log.len(), 1, "{log:?}");
    let received = resellers.wait_for(1, "the reseller's event").await;
    assert_eq!(received.len(), 1);
    let event = received[0].json();
    assert_eq!(event["type"], json!("customer.created"));
    assert_eq!(event["data"]["id"], json!(mine));
    assert_eq!(event["data"]["partner_id"], json!(ours));
    delivery_after(&app, reseller_hook, "delivered", 1).await;
    assert_eq!(resellers.requests().len(), 1);

    // The reseller sees its own endpoint only.
    let (status, list) = send(
        app.http
            .get(app.url("/api/v1/webhooks"))
            .header("X-API-Key", &key),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let ids: Vec<&Value> = list["data"]["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| &w["id"])
        .collect();
    assert_eq!(ids, [&json!(reseller_hook)]);
}

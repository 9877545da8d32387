//! What the webhook tests share: the signatures computed the way a receiver would (with
//! the hmac, sha2 and base64 crates, not the product's signing code), and the REST calls
//! that register endpoints and read their delivery log.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use hmac::{Hmac, KeyInit, Mac};
use lastmile_proto::v1::ListEventsRequest;
use lastmile_proto::v1::event_service_client::EventServiceClient;
use lastmile_tests::{StatusCode, TestApp, json, with_key};
use serde_json::Value;
use sha2::Sha256;

use super::receiver::{PATIENCE, Received, eventually};

/// `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed with the secret's base64 part
/// decoded, as the Standard Webhooks specification says.
pub(crate) fn standard_signature(secret: &str, id: &str, timestamp: &str, body: &[u8]) -> String {
    let encoded = secret.strip_prefix("whsec_").expect("a whsec_ secret");
    let key = STANDARD.decode(encoded).expect("the secret is base64");
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The hex HMAC-SHA256 of the body keyed with the whole secret text.
pub(crate) fn body_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The signatures of `webhook-signature` (space-separated during a rotation).
pub(crate) fn signatures(request: &Received) -> Vec<String> {
    request
        .header("webhook-signature")
        .split(' ')
        .map(str::to_owned)
        .collect()
}

/// Checks every signature header of `request` against `secret`, which must be the
/// current one.
pub(crate) fn assert_signed_with(request: &Received, secret: &str) {
    let id = request.header("webhook-id");
    let timestamp = request.header("webhook-timestamp");
    let expected = standard_signature(secret, id, timestamp, &request.body);
    assert_eq!(signatures(request)[0], expected, "webhook-signature");
    let hex = body_signature(secret, &request.body);
    assert_eq!(request.header("x-isp-signature"), format!("sha256={hex}"));
    assert_eq!(request.header("x-signature"), hex);
}

/// Registers an endpoint as admin; answers its id and secret.
pub(super) async fn register(app: &TestApp, url: &str, events: &[&str]) -> (i64, String) {
    let (status, body) = app
        .post("/api/v1/webhooks", &json!({"url": url, "events": events}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let webhook = &body["data"]["webhook"];
    let secret = webhook["secret"]
        .as_str()
        .expect("the secret, once")
        .to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (webhook["id"].as_i64().unwrap(), secret)
}

/// The endpoint's delivery log, newest first.
pub(super) async fn deliveries(app: &TestApp, webhook_id: i64) -> Vec<Value> {
    let path = format!("/api/v1/webhooks/{webhook_id}/deliveries?per_page=100");
    let (status, body) = app.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["deliveries"].as_array().unwrap().clone()
}

/// Waits until the endpoint's only delivery shows `status` after `attempts` attempts.
pub(super) async fn delivery_after(
    app: &TestApp,
    webhook_id: i64,
    status: &str,
    attempts: i64,
) -> Value {
    let what = format!("webhook {webhook_id}'s delivery {status} after {attempts} attempts");
    eventually(&what, PATIENCE, || async move {
        let log = deliveries(app, webhook_id).await;
        assert_eq!(log.len(), 1, "{log:?}");
        let delivery = &log[0];
        (delivery["status"] == json!(status) && delivery["attempts"] == json!(attempts))
            .then(|| delivery.clone())
    })
    .await
}

/// The endpoint `id` as the admin reads it.
pub(super) async fn webhook(app: &TestApp, id: i64) -> Value {
    let (status, body) = app.get(&format!("/api/v1/webhooks/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["webhook"].clone()
}

/// Waits until the system has disabled endpoint `id`; answers it.
pub(super) async fn disabled(app: &TestApp, id: i64) -> Value {
    eventually("the endpoint disabled", PATIENCE, || async move {
        let webhook = webhook(app, id).await;
        (webhook["active"] == json!(false)).then_some(webhook)
    })
    .await
}

/// The `webhook.disabled` events, as the admin lists them over gRPC.
pub(super) async fn webhook_disabled_events(app: &TestApp) -> Vec<lastmile_proto::v1::Event> {
    let mut events = EventServiceClient::new(app.grpc_channel().await);
    let request = ListEventsRequest {
        after_cursor: 0,
        types: vec!["webhook.disabled".into()],
        limit: 100,
    };
    events
        .list_events(with_key(request, &app.admin_key))
        .await
        .expect("ListEvents")
        .into_inner()
        .events
}

/// An RFC 3339 timestamp of the API.
pub(super) fn timestamp(text: &Value) -> chrono::DateTime<Utc> {
    chrono::DateTime::parse_from_rfc3339(text.as_str().expect("a timestamp"))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

//! Webhooks end to end: an operator registers an endpoint, changes happen, and a receiver
//! in the test (a real HTTP server on 127.0.0.1) gets each event signed as the Standard
//! Webhooks specification says, checked here with an HMAC computed by the test itself.
//! Failed attempts are retried on the schedule (the test moves the servers' clock), one
//! resource's events arrive in order, a 410 or failing too long disables the endpoint.

mod receiver;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use hmac::{Hmac, KeyInit, Mac};
use lastmile_core::clock::Clock;
use lastmile_core::identity::Role;
use lastmile_proto::v1::ListEventsRequest;
use lastmile_proto::v1::event_service_client::EventServiceClient;
use lastmile_tests::{StatusCode, TestApp, customer_body, engine_tests, json, send, with_key};
use receiver::{PATIENCE, Received, Receiver, eventually, unused_address};
use serde_json::Value;
use sha2::Sha256;

engine_tests!(
    a_customer_created_after_registering_arrives_signed_with_its_rest_json,
    a_delivery_answered_500_twice_is_retried_on_the_schedule_and_delivered_once,
    an_endpoint_answering_410_is_disabled_with_a_webhook_disabled_event,
    private_addresses_are_accepted_when_the_deployment_allows_them,
    after_a_rotation_deliveries_carry_the_new_and_the_old_signature,
    a_test_event_is_delivered_and_a_redelivery_sends_the_same_body_and_id,
    a_resellers_endpoint_receives_only_its_partners_events,
);

engine_tests!(with = refuse_private_networks;
    private_addresses_are_refused_on_the_url_field,
);

engine_tests!(with = retry_every_forty_seconds;
    a_thousand_events_while_the_receiver_is_down_all_arrive_once_and_in_order_per_resource,
);

engine_tests!(with = disable_after_an_hour;
    an_endpoint_failing_for_longer_than_the_disable_period_is_disabled,
);

fn refuse_private_networks(settings: &mut lastmile::Settings) {
    settings.webhooks.allow_private_networks = false;
}

/// At once, then every 40 s: shorter than a job's 60 s lease, so moving the clock by one
/// wait never hands a running attempt to another worker.
fn retry_every_forty_seconds(settings: &mut lastmile::Settings) {
    settings.webhooks.retry_schedule = std::iter::once(Duration::ZERO)
        .chain(std::iter::repeat_n(Duration::from_secs(40), 30))
        .collect();
}

/// An endpoint failing for an hour is disabled; attempts every 20 minutes.
fn disable_after_an_hour(settings: &mut lastmile::Settings) {
    settings.webhooks.disable_after = Duration::from_secs(3600);
    settings.webhooks.retry_schedule = std::iter::once(Duration::ZERO)
        .chain(std::iter::repeat_n(Duration::from_secs(1200), 10))
        .collect();
}

// ---- helpers ----------------------------------------------------------------------------

/// `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed with the secret's base64 part
/// decoded, as the Standard Webhooks specification says.
fn standard_signature(secret: &str, id: &str, timestamp: &str, body: &[u8]) -> String {
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
fn body_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The signatures of `webhook-signature` (space-separated during a rotation).
fn signatures(request: &Received) -> Vec<String> {
    request
        .header("webhook-signature")
        .split(' ')
        .map(str::to_owned)
        .collect()
}

/// Checks every signature header of `request` against `secret`, which must be the
/// current one.
fn assert_signed_with(request: &Received, secret: &str) {
    let id = request.header("webhook-id");
    let timestamp = request.header("webhook-timestamp");
    let expected = standard_signature(secret, id, timestamp, &request.body);
    assert_eq!(signatures(request)[0], expected, "webhook-signature");
    let hex = body_signature(secret, &request.body);
    assert_eq!(request.header("x-isp-signature"), format!("sha256={hex}"));
    assert_eq!(request.header("x-signature"), hex);
}

/// Registers an endpoint as admin; answers its id and secret.
async fn register(app: &TestApp, url: &str, events: &[&str]) -> (i64, String) {
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
async fn deliveries(app: &TestApp, webhook_id: i64) -> Vec<Value> {
    let path = format!("/api/v1/webhooks/{webhook_id}/deliveries?per_page=100");
    let (status, body) = app.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["deliveries"].as_array().unwrap().clone()
}

/// Waits until the endpoint's only delivery shows `status` after `attempts` attempts.
async fn delivery_after(app: &TestApp, webhook_id: i64, status: &str, attempts: i64) -> Value {
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

async fn webhook(app: &TestApp, id: i64) -> Value {
    let (status, body) = app.get(&format!("/api/v1/webhooks/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["webhook"].clone()
}

/// Waits until the system has disabled endpoint `id`; answers it.
async fn disabled(app: &TestApp, id: i64) -> Value {
    eventually("the endpoint disabled", PATIENCE, || async move {
        let webhook = webhook(app, id).await;
        (webhook["active"] == json!(false)).then_some(webhook)
    })
    .await
}

/// The `webhook.disabled` events, as the admin lists them over gRPC.
async fn webhook_disabled_events(app: &TestApp) -> Vec<lastmile_proto::v1::Event> {
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

fn timestamp(text: &Value) -> chrono::DateTime<Utc> {
    chrono::DateTime::parse_from_rfc3339(text.as_str().expect("a timestamp"))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

// ---- tests ------------------------------------------------------------------------------

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

async fn a_delivery_answered_500_twice_is_retried_on_the_schedule_and_delivered_once(app: TestApp) {
    let receiver = Receiver::start().await.answering(&[500, 500], 200);
    let (webhook_id, secret) = register(&app, &receiver.url(), &["customer.created"]).await;
    app.create_customer("Otieno", "+254722000002").await;

    receiver.wait_for(1, "the first attempt").await;
    let failed = delivery_after(&app, webhook_id, "failed", 1).await;
    assert_eq!(failed["response_status"], json!(500), "{failed}");
    // The default schedule: at once, then 5 s, then 5 min later.
    let wait = timestamp(&failed["next_attempt_at"]) - timestamp(&failed["updated_at"]);
    assert_eq!(wait, chrono::Duration::seconds(5), "{failed}");
    app.clock.advance(chrono::Duration::seconds(5));

    receiver.wait_for(2, "the second attempt").await;
    let failed = delivery_after(&app, webhook_id, "failed", 2).await;
    let wait = timestamp(&failed["next_attempt_at"]) - timestamp(&failed["updated_at"]);
    assert_eq!(wait, chrono::Duration::minutes(5), "{failed}");
    app.clock.advance(chrono::Duration::minutes(5));

    receiver.wait_for(3, "the third attempt").await;
    let delivered = delivery_after(&app, webhook_id, "delivered", 3).await;
    assert_eq!(delivered["response_status"], json!(200), "{delivered}");
    assert!(delivered["delivered_at"].is_string(), "{delivered}");
    assert!(delivered["next_attempt_at"].is_null(), "{delivered}");

    // Nothing more comes, however late it gets: a later test event is the last request.
    app.clock.advance(chrono::Duration::days(1));
    let (status, body) = app
        .post(&format!("/api/v1/webhooks/{webhook_id}/test"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let requests = receiver.wait_for(4, "the test event").await;
    assert_eq!(requests.len(), 4);
    assert_eq!(requests[3].header("x-isp-event"), "webhook.test");
    let attempts = &requests[..3];
    let id = attempts[0].header("webhook-id");
    for attempt in attempts {
        assert_eq!(attempt.header("webhook-id"), id, "one id for every attempt");
        assert_eq!(attempt.body, attempts[0].body, "one body for every attempt");
        assert_eq!(attempt.header("x-isp-event"), "customer.created");
        assert_signed_with(attempt, &secret);
    }
    assert_eq!(attempts[0].json()["id"], json!(id));
}

async fn a_thousand_events_while_the_receiver_is_down_all_arrive_once_and_in_order_per_resource(
    app: TestApp,
) {
    use futures::StreamExt;
    let deadline = Duration::from_secs(120);
    let address = unused_address();
    let url = format!("http://{address}/hooks");
    let (webhook_id, _) = register(&app, &url, &["partner.*"]).await;

    // 100 partners, each created ("step 0") then updated 9 times ("step 1" … "step 9").
    let app = &app;
    futures::stream::iter(0..100)
        .map(|n| async move {
            let body = json!({"name": format!("Partner {n:03}"), "description": "step 0"});
            let (status, created) = app.post("/api/v1/partners", &body).await;
            assert_eq!(status, StatusCode::CREATED, "{created}");
            let id = created["data"]["partner"]["id"].as_i64().unwrap();
            for step in 1..=9 {
                let body = json!({"description": format!("step {step}")});
                let (status, updated) = app.patch(&format!("/api/v1/partners/{id}"), &body).await;
                assert_eq!(status, StatusCode::OK, "{updated}");
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;

    // Every event has its delivery, and the first ones failed: nobody was listening.
    let path = format!("/api/v1/webhooks/{webhook_id}/deliveries");
    let (_, all) = app.get(&path).await;
    assert_eq!(all["meta"]["total"], json!(1000), "{}", all["meta"]);
    let failed_path = format!("{path}?status=failed");
    let failed_path = &failed_path;
    eventually("failed attempts while down", PATIENCE, || async move {
        let (_, failed) = app.get(failed_path).await;
        (failed["meta"]["total"].as_i64() > Some(0)).then_some(())
    })
    .await;

    let receiver = Receiver::start_on(address).await;
    let started = tokio::time::Instant::now();
    let mut seen = 0;
    let mut quiet_since = tokio::time::Instant::now();
    loop {
        let count = receiver.requests().len();
        if count >= 1000 {
            break;
        }
        if count > seen {
            seen = count;
            quiet_since = tokio::time::Instant::now();
        } else if quiet_since.elapsed() > Duration::from_millis(500) {
            // The waiting attempts are due one wait (40 s) later.
            app.clock.advance(chrono::Duration::seconds(40));
            quiet_since = tokio::time::Instant::now();
        }
        assert!(
            started.elapsed() < deadline,
            "{count} of 1000 events arrived within {deadline:?}"
        );
        tokio::time::sleep(receiver::POLL).await;
    }
    let requests = receiver.requests();

    let mut ids = std::collections::HashSet::new();
    let mut steps: std::collections::BTreeMap<i64, Vec<u32>> = Default::default();
    for (arrived, request) in requests.iter().enumerate() {
        assert_eq!(request.order, arrived, "the log keeps arrival order");
        let id = request.header("webhook-id").to_owned();
        assert!(ids.insert(id.clone()), "{id} arrived twice");
        let body = request.json();
        let partner = body["data"]["id"].as_i64().unwrap();
        let description = body["data"]["description"].as_str().unwrap();
        let step: u32 = description.strip_prefix("step ").unwrap().parse().unwrap();
        let expected_type = if step == 0 {
            "partner.created"
        } else {
            "partner.updated"
        };
        assert_eq!(body["type"], json!(expected_type), "{body}");
        steps.entry(partner).or_default().push(step);
    }
    assert_eq!(steps.len(), 100, "every partner's events arrived");
    for (partner, arrived) in &steps {
        assert_eq!(
            arrived,
            &(0..=9).collect::<Vec<u32>>(),
            "partner {partner}'s events in arrival order"
        );
    }
    let (_, delivered) = app.get(&format!("{path}?status=delivered")).await;
    assert_eq!(
        delivered["meta"]["total"],
        json!(1000),
        "{}",
        delivered["meta"]
    );
}

async fn an_endpoint_answering_410_is_disabled_with_a_webhook_disabled_event(app: TestApp) {
    let receiver = Receiver::start().await.answering(&[410], 200);
    let (webhook_id, _) = register(&app, &receiver.url(), &["customer.*"]).await;
    app.create_customer("Kamau", "+254722000003").await;
    receiver.wait_for(1, "the customer.created attempt").await;

    let endpoint = disabled(&app, webhook_id).await;
    assert_eq!(
        endpoint["disabled_reason"],
        json!("The endpoint answered 410 Gone.")
    );
    let delivery = delivery_after(&app, webhook_id, "dead", 1).await;
    assert_eq!(delivery["response_status"], json!(410), "{delivery}");

    let events = webhook_disabled_events(&app).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].resource_type, "webhook");
    assert_eq!(events[0].resource_id, webhook_id.to_string());

    // Disabled means no more deliveries: the next customer queues nothing.
    app.create_customer("Kamau Two", "+254722000004").await;
    assert_eq!(deliveries(&app, webhook_id).await.len(), 1);
}

const PRIVATE_URLS: [&str; 3] = [
    "http://127.0.0.1:9/hooks",
    "http://169.254.169.254/latest/meta-data",
    "http://10.0.0.1/",
];

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

async fn an_endpoint_failing_for_longer_than_the_disable_period_is_disabled(app: TestApp) {
    let receiver = Receiver::start().await.answering(&[], 503);
    let (webhook_id, _) = register(&app, &receiver.url(), &["customer.*"]).await;
    app.create_customer("Mutua", "+254722000010").await;

    // Attempts at 0, 20 and 40 minutes fail with the endpoint still on; the one at 60
    // minutes ends an hour without a success.
    for attempt in 1..=3 {
        receiver
            .wait_for(attempt, &format!("attempt {attempt}"))
            .await;
        let failed = delivery_after(&app, webhook_id, "failed", attempt as i64).await;
        assert_eq!(failed["response_status"], json!(503), "{failed}");
        let endpoint = webhook(&app, webhook_id).await;
        assert_eq!(
            endpoint["active"],
            json!(true),
            "after attempt {attempt}: {endpoint}"
        );
        assert!(endpoint["failing_since"].is_string(), "{endpoint}");
        app.clock.advance(chrono::Duration::minutes(20));
    }
    receiver.wait_for(4, "attempt 4").await;
    let endpoint = disabled(&app, webhook_id).await;
    assert_eq!(
        endpoint["disabled_reason"],
        json!("Deliveries failed for 1 hour without a success.")
    );
    let events = webhook_disabled_events(&app).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].resource_id, webhook_id.to_string());
    let data = events[0].data.clone().expect("the endpoint's JSON");
    let active = data.fields.get("active").and_then(|v| v.kind.clone());
    assert_eq!(
        active,
        Some(prost_types::value::Kind::BoolValue(false)),
        "{data:?}"
    );
}

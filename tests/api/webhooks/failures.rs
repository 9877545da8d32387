//! When deliveries fail: retries on the schedule under the test clock with one
//! `webhook-id`, an outage that holds a thousand events until the receiver is back, a 410
//! that disables the endpoint, and failing for longer than the disable period.

use std::time::Duration;

use lastmile_tests::{StatusCode, TestApp, engine_tests, json};

use super::receiver::{self, PATIENCE, Receiver, eventually, unused_address};
use super::support::{
    assert_signed_with, deliveries, delivery_after, disabled, register, timestamp, webhook,
    webhook_disabled_events,
};

engine_tests!(
    a_delivery_answered_500_twice_is_retried_on_the_schedule_and_delivered_once,
    an_endpoint_answering_410_is_disabled_with_a_webhook_disabled_event,
);

engine_tests!(with = retry_every_forty_seconds;
    a_thousand_events_while_the_receiver_is_down_all_arrive_once_and_in_order_per_resource,
);

engine_tests!(with = disable_after_an_hour;
    an_endpoint_failing_for_longer_than_the_disable_period_is_disabled,
);

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

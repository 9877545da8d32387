//! The outbox and the event stream: every change of a customer, partner, user or API key
//! writes exactly one event of its type, showing the resource's REST JSON, in the
//! transaction of the change (a refused or rehearsed change writes none); `ListEvents`
//! pages by cursor, a reseller sees only its partner's events, and `StreamEvents` replays
//! from a cursor, then follows live commits, and resumes without losing any.

use std::time::Duration;

use futures::StreamExt;
use lastmile_core::identity::Role;
use lastmile_proto::struct_to_json;
use lastmile_proto::v1::event_service_client::EventServiceClient;
use lastmile_proto::v1::{Event, ListEventsRequest, StreamEventsRequest};
use lastmile_tests::{StatusCode, TestApp, customer_body, engine_tests, json, with_key};
use serde_json::Value;
use tonic::transport::Channel;

engine_tests!(
    each_customer_change_emits_one_event_with_its_rest_json,
    partner_user_and_key_changes_emit_their_events,
    refused_and_rehearsed_changes_emit_nothing,
    a_reseller_lists_only_its_partners_events,
    a_stream_replays_from_its_cursor_then_follows_and_resumes_without_loss,
    event_filters_and_cursors_are_checked,
);

async fn client(app: &TestApp) -> EventServiceClient<Channel> {
    EventServiceClient::new(app.grpc_channel().await)
}

/// Every event after `cursor` the admin may see.
async fn events_after(app: &TestApp, cursor: i64) -> Vec<Event> {
    let mut client = client(app).await;
    let mut all = Vec::new();
    let mut after = cursor;
    loop {
        let request = ListEventsRequest {
            after_cursor: after,
            types: vec![],
            limit: 1000,
        };
        let page = client
            .list_events(with_key(request, &app.admin_key))
            .await
            .expect("ListEvents")
            .into_inner();
        if page.events.is_empty() {
            return all;
        }
        after = page.next_cursor;
        all.extend(page.events);
    }
}

async fn last_cursor(app: &TestApp) -> i64 {
    events_after(app, 0).await.last().map_or(0, |e| e.cursor)
}

fn data(event: &Event) -> Value {
    Value::Object(struct_to_json(event.data.clone().expect("event data")))
}

/// The REST JSON of a resource as an event shows it: without `links`.
fn without_links(mut resource: Value) -> Value {
    resource.as_object_mut().unwrap().remove("links");
    resource
}

/// `value` with every number as a float: protobuf's `Struct` carries numbers as doubles,
/// so `0.00` and `0` are the same number once they crossed gRPC.
fn numbers_as_floats(value: Value) -> Value {
    match value {
        Value::Number(n) => json!(n.as_f64().unwrap()),
        Value::Array(items) => Value::Array(items.into_iter().map(numbers_as_floats).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, numbers_as_floats(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Runs `change` and answers the one event it wrote, checking its type.
async fn one_event(app: &TestApp, event_type: &str, change: impl AsyncFnOnce()) -> Event {
    let before = last_cursor(app).await;
    change().await;
    let new = events_after(app, before).await;
    let types: Vec<&str> = new.iter().map(|e| e.r#type.as_str()).collect();
    assert_eq!(types, [event_type], "exactly one {event_type} event");
    new.into_iter().next().unwrap()
}

async fn each_customer_change_emits_one_event_with_its_rest_json(app: TestApp) {
    let mut id = 0;
    let created = one_event(&app, "customer.created", async || {
        let (status, body) = app
            .post(
                "/api/v1/customers",
                &customer_body("Amina", "+254700100200"),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        id = body["data"]["customer"]["id"].as_i64().unwrap();
    })
    .await;
    let (_, shown) = app.get(&format!("/api/v1/customers/{id}")).await;
    let rest = without_links(shown["data"]["customer"].clone());
    assert_eq!(
        numbers_as_floats(data(&created)),
        numbers_as_floats(rest),
        "the event shows the REST JSON"
    );
    assert_eq!(created.resource_type, "customer");
    assert_eq!(created.resource_id, id.to_string());
    assert_eq!(created.partner_id, None);
    assert!(data(&created).get("password").is_none());

    let path = format!("/api/v1/customers/{id}");
    let updated = one_event(&app, "customer.updated", async || {
        let (status, body) = app.patch(&path, &json!({"city": "Mombasa"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    })
    .await;
    assert_eq!(data(&updated)["city"], "Mombasa");

    let action = format!("/api/v1/customers/{id}/action");
    for (act, event_type, status) in [
        ("suspend", "customer.suspended", "suspended"),
        ("activate", "customer.activated", "active"),
        ("terminate", "customer.terminated", "terminated"),
    ] {
        let event = one_event(&app, event_type, async || {
            let body = json!({"action": act, "reason": "test"});
            let (code, answer) = app.post(&action, &body).await;
            assert_eq!(code, StatusCode::OK, "{answer}");
        })
        .await;
        assert_eq!(data(&event)["status"], status, "{event_type}");
    }

    let deleted = one_event(&app, "customer.deleted", async || {
        let (status, body) = app.delete(&path).await;
        assert!(status.is_success(), "{status} {body}");
    })
    .await;
    assert_eq!(
        data(&deleted)["id"],
        json!(id),
        "a deletion shows what was deleted"
    );
}

async fn partner_user_and_key_changes_emit_their_events(app: TestApp) {
    let mut partner_id = 0;
    let created = one_event(&app, "partner.created", async || {
        let (status, body) = app
            .post("/api/v1/partners", &json!({"name": "Fibre Resellers Ltd"}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        partner_id = body["data"]["partner"]["id"].as_i64().unwrap();
    })
    .await;
    assert_eq!(data(&created)["name"], "Fibre Resellers Ltd");
    assert_eq!(
        created.partner_id,
        Some(partner_id),
        "a partner's events are its own"
    );
    let partner = format!("/api/v1/partners/{partner_id}");
    one_event(&app, "partner.updated", async || {
        let (status, body) = app.patch(&partner, &json!({"description": "North"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    })
    .await;

    let mut user_id = 0;
    let user = one_event(&app, "user.created", async || {
        let body = json!({"name": "Sue", "email": "sue@isp.example",
                          "password": "Str0ng!pass-word", "role": "support"});
        let (status, answer) = app.post("/api/v1/users", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        user_id = answer["data"]["user"]["id"].as_i64().unwrap();
    })
    .await;
    assert_eq!(data(&user)["email"], "sue@isp.example");
    let user_text = data(&user).to_string();
    assert!(
        !user_text.contains("password") && !user_text.contains("argon2"),
        "{user_text}"
    );
    let user_path = format!("/api/v1/users/{user_id}");
    one_event(&app, "user.updated", async || {
        let (status, body) = app.patch(&user_path, &json!({"name": "Susan"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    })
    .await;
    one_event(&app, "user.role_changed", async || {
        let (status, body) = app.patch(&user_path, &json!({"role": "billing"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    })
    .await;
    one_event(&app, "user.deleted", async || {
        let (status, body) = app.delete(&user_path).await;
        assert!(status.is_success(), "{status} {body}");
    })
    .await;

    let mut key_id = 0;
    let mut secret = String::new();
    let key = one_event(&app, "api_key.created", async || {
        let body = json!({"name": "billing sync", "role": "support"});
        let (status, answer) = app.post("/api/v1/api-keys", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        key_id = answer["data"]["api_key"]["id"].as_i64().unwrap();
        secret = answer["data"]["api_key"]["key"]
            .as_str()
            .unwrap()
            .to_owned();
    })
    .await;
    assert_eq!(data(&key)["id"], json!(key_id));
    assert!(
        !data(&key).to_string().contains(&secret),
        "the key itself never appears"
    );
    let revoked = one_event(&app, "api_key.revoked", async || {
        let (status, body) = app.delete(&format!("/api/v1/api-keys/{key_id}")).await;
        assert!(status.is_success(), "{status} {body}");
    })
    .await;
    assert_eq!(revoked.resource_id, key_id.to_string());

    one_event(&app, "partner.deleted", async || {
        let (status, body) = app.delete(&partner).await;
        assert!(status.is_success(), "{status} {body}");
    })
    .await;
}

async fn refused_and_rehearsed_changes_emit_nothing(app: TestApp) {
    let (status, body) = app
        .post(
            "/api/v1/customers",
            &customer_body("Baraka", "+254700100300"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["data"]["customer"]["id"].as_i64().unwrap();
    let before = last_cursor(&app).await;

    // Invalid input: refused before any write.
    let (status, _) = app
        .post("/api/v1/customers", &json!({"first_name": ""}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // A clash found by the database inside the transaction (the phone is taken): the
    // transaction, and anything it wrote, rolls back.
    let (status, body) = app
        .post("/api/v1/customers", &customer_body("Copy", "+254700100300"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // A body with a type error: the edge has the core rehearse the rest of the change
    // (run it whole and roll it back) to report every error at once.
    let (status, body) = app
        .patch(
            &format!("/api/v1/customers/{id}"),
            &json!({"city": "Kisumu", "billing_day": "first"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // An action the life cycle forbids.
    let (status, _) = app
        .post(
            &format!("/api/v1/customers/{id}/action"),
            &json!({"action": "activate"}),
        )
        .await;
    assert!(status.is_client_error(), "{status}");

    assert_eq!(
        events_after(&app, before).await.len(),
        0,
        "no event was written"
    );
    let (_, shown) = app.get(&format!("/api/v1/customers/{id}")).await;
    assert_ne!(shown["data"]["customer"]["city"], "Kisumu");
}

async fn a_reseller_lists_only_its_partners_events(app: TestApp) {
    let (ours, theirs) = (
        app.insert_partner("Ours").await,
        app.insert_partner("Theirs").await,
    );
    for (partner, phone) in [
        (ours, "+254700100401"),
        (theirs, "+254700100402"),
        (ours, "+254700100403"),
    ] {
        let mut body = customer_body("Resold", phone);
        body["partner_id"] = json!(partner);
        let (status, answer) = app.post("/api/v1/customers", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }
    let (_, reseller) = app.key(Role::Reseller, Some(ours), None).await;
    let mut client = client(&app).await;
    let request = ListEventsRequest {
        after_cursor: 0,
        types: vec!["customer.*".into()],
        limit: 100,
    };
    let seen = client
        .list_events(with_key(request.clone(), &reseller))
        .await
        .expect("a reseller may list events")
        .into_inner()
        .events;
    assert_eq!(seen.len(), 2, "only its partner's two customers");
    assert!(seen.iter().all(|e| e.partner_id == Some(ours)));
    let all = client
        .list_events(with_key(request, &app.admin_key))
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(all.len(), 3, "the admin sees every partner's");
    let (_, support) = app.key(Role::Support, None, None).await;
    let refused = client
        .list_events(with_key(ListEventsRequest::default(), &support))
        .await
        .expect_err("support may not read the event log");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
}

async fn create_partner(app: &TestApp, name: &str) -> i64 {
    let (status, body) = app.post("/api/v1/partners", &json!({ "name": name })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["data"]["partner"]["id"].as_i64().unwrap()
}

async fn next_event(
    stream: &mut tonic::Streaming<lastmile_proto::v1::StreamEventsResponse>,
) -> Event {
    let message = tokio::time::timeout(Duration::from_secs(30), stream.next())
        .await
        .expect("an event within 30 s")
        .expect("the stream is open")
        .expect("no stream error");
    message.event.expect("an event")
}

async fn a_stream_replays_from_its_cursor_then_follows_and_resumes_without_loss(app: TestApp) {
    create_partner(&app, "Before Cursor").await;
    let cursor = last_cursor(&app).await;
    let mut replayed_names = Vec::new();
    for n in 1..=3 {
        let name = format!("Replayed {n}");
        create_partner(&app, &name).await;
        replayed_names.push(name);
    }
    let mut client = client(&app).await;
    let request = StreamEventsRequest {
        after_cursor: cursor,
        types: vec!["partner.created".into()],
    };
    let mut stream = client
        .stream_events(with_key(request, &app.admin_key))
        .await
        .expect("StreamEvents")
        .into_inner();
    let mut names = Vec::new();
    let mut last = cursor;
    for _ in 0..3 {
        let event = next_event(&mut stream).await;
        assert!(event.cursor > last, "cursors increase");
        last = event.cursor;
        names.push(data(&event)["name"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        names, replayed_names,
        "the replay starts after the cursor, in order"
    );

    // Live: a change made now arrives on the open stream.
    create_partner(&app, "Live 1").await;
    let live = next_event(&mut stream).await;
    assert_eq!(data(&live)["name"], "Live 1");
    last = live.cursor;

    // The consumer goes away; changes happen meanwhile; it resumes from its last cursor.
    drop(stream);
    for n in 2..=4 {
        create_partner(&app, &format!("Live {n}")).await;
    }
    let request = StreamEventsRequest {
        after_cursor: last,
        types: vec!["partner.*".into()],
    };
    let mut resumed = client
        .stream_events(with_key(request, &app.admin_key))
        .await
        .expect("StreamEvents again")
        .into_inner();
    for n in 2..=4 {
        let event = next_event(&mut resumed).await;
        assert_eq!(
            data(&event)["name"],
            json!(format!("Live {n}")),
            "nothing lost"
        );
        assert_eq!(event.r#type, "partner.created");
    }
}

async fn event_filters_and_cursors_are_checked(app: TestApp) {
    let mut client = client(&app).await;
    for (types, after) in [(vec!["Customer Created".to_owned()], 0), (vec![], -1)] {
        let request = ListEventsRequest {
            after_cursor: after,
            types,
            limit: 0,
        };
        let refused = client
            .list_events(with_key(request, &app.admin_key))
            .await
            .expect_err("refused");
        assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
    }
    let request = ListEventsRequest {
        after_cursor: 0,
        types: vec![],
        limit: 5000,
    };
    let refused = client
        .list_events(with_key(request, &app.admin_key))
        .await
        .expect_err("limit over 1000");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
}

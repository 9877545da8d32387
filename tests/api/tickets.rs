//! Support tickets as clients see them: a ticket reads back as written, with its defaults
//! and its due times; bad fields are reported on their field; the status follows its state
//! machine and a resolved ticket reopens within seven days only; comments set the first
//! response and bring a ticket waiting on the customer back; each change emits its event; a
//! reseller sees only its partner's tickets; each role does what its permissions say; and
//! the same life cycle runs over gRPC.
//!
//! The helpers marked `pub(crate)` are shared with `sla.rs`.

use chrono::{DateTime, Duration, Utc};
use lastmile_core::clock::Clock;
use lastmile_core::identity::Role;
use lastmile_proto::struct_to_json;
use lastmile_proto::v1::event_service_client::EventServiceClient;
use lastmile_proto::v1::sla_service_client::SlaServiceClient;
use lastmile_proto::v1::ticket_service_client::TicketServiceClient;
use lastmile_proto::v1::{
    AddTicketCommentRequest, CheckBreachesRequest, CreateTicketRequest, Event,
    GetPerformanceMetricsRequest, GetTicketRequest, ListEventsRequest, ListTicketCommentsRequest,
    ListTicketsRequest, TicketCategory, TicketCommentInput, TicketInput, TicketPriority,
    TicketSource, TicketStatus, UpdateTicketRequest,
};
use lastmile_tests::{StatusCode, TestApp, customer_body, engine_tests, json, send, with_key};
use serde_json::Value;

engine_tests!(
    a_ticket_with_every_field_reads_back_as_written,
    a_ticket_gets_its_defaults_and_no_due_times_without_a_policy,
    bad_ticket_fields_are_reported_on_their_field,
    tickets_are_listed_newest_first_and_filtered,
    the_status_follows_its_state_machine,
    a_resolved_ticket_reopens_within_seven_days_only,
    comments_set_the_first_response_and_are_listed_oldest_first,
    a_customer_reply_moves_a_ticket_waiting_on_the_customer_back_to_open,
    ticket_changes_emit_their_events_with_the_ticket,
    a_reseller_sees_and_counts_only_its_partners_tickets,
    each_role_works_tickets_and_policies_as_its_permissions_say,
);

// Breach checks are run by the tests themselves: no job worker runs the scheduled one.
engine_tests!(with = without_workers;
    a_ticket_life_cycle_over_grpc_with_breaches_and_metrics,
);

/// No job workers in the servers: only the test runs the breach check, so a check's
/// answer shows every breach it finds.
pub(crate) fn without_workers(settings: &mut lastmile::Settings) {
    settings.workers.concurrency = 0;
}

// ---- shared helpers ----

/// A request with `key` in `X-API-Key`, with an optional JSON body.
pub(crate) async fn as_key(
    app: &TestApp,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = app
        .http
        .request(method, app.url(path))
        .header("X-API-Key", key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    send(request).await
}

/// The `id` of a JSON resource.
pub(crate) fn id(resource: &Value) -> i64 {
    resource["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id in {resource}"))
}

/// A staff user with `role`; answers its id.
pub(crate) async fn user(app: &TestApp, email: &str, role: &str) -> i64 {
    let body = json!({"name": "Agent", "email": email, "password": "Str0ng!pass-word",
                      "role": role});
    let (status, answer) = app.post("/api/v1/users", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    id(&answer["data"]["user"])
}

/// A user group (a team); answers its id.
pub(crate) async fn team(app: &TestApp, name: &str) -> i64 {
    let (status, answer) = app
        .post("/api/v1/user-groups", &json!({"name": name}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    id(&answer["data"]["user_group"])
}

/// A customer of `partner_id`, created by the admin; answers its id.
pub(crate) async fn customer_of(app: &TestApp, partner_id: i64, name: &str, phone: &str) -> i64 {
    let mut body = customer_body(name, phone);
    body["partner_id"] = json!(partner_id);
    let (status, answer) = app.post("/api/v1/customers", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    id(&answer["data"]["customer"])
}

/// Creates an SLA policy as the admin; answers `data.sla_policy`.
pub(crate) async fn policy(app: &TestApp, body: Value) -> Value {
    let (status, answer) = app.post("/api/v1/sla/policies", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}: {answer}");
    answer["data"]["sla_policy"].clone()
}

/// A 24×7 policy of `priority` with these targets in minutes; answers its id.
pub(crate) async fn policy_24x7(
    app: &TestApp,
    name: &str,
    priority: &str,
    first_response_minutes: i64,
    resolution_minutes: i64,
) -> i64 {
    let body = json!({"name": name, "priority": priority, "calendar": null,
        "first_response_minutes": first_response_minutes,
        "resolution_minutes": resolution_minutes});
    id(&policy(app, body).await)
}

/// Opens a ticket as the admin; answers `data.ticket`.
pub(crate) async fn open_ticket(app: &TestApp, body: Value) -> Value {
    let (status, answer) = app.post("/api/v1/tickets", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}: {answer}");
    answer["data"]["ticket"].clone()
}

/// Opens a ticket of `priority` for `customer` with only the required fields.
pub(crate) async fn simple_ticket(app: &TestApp, customer: i64, priority: &str) -> Value {
    open_ticket(
        app,
        json!({"customer_id": customer, "subject": "Slow connection", "priority": priority}),
    )
    .await
}

/// The ticket as the admin reads it.
pub(crate) async fn ticket(app: &TestApp, ticket: i64) -> Value {
    let (status, answer) = app.get(&format!("/api/v1/tickets/{ticket}")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["data"]["ticket"].clone()
}

/// Changes a ticket as the admin; answers it after the change.
pub(crate) async fn change(app: &TestApp, ticket: i64, body: Value) -> Value {
    let (status, answer) = app.patch(&format!("/api/v1/tickets/{ticket}"), &body).await;
    assert_eq!(status, StatusCode::OK, "{body}: {answer}");
    answer["data"]["ticket"].clone()
}

/// Moves a ticket to `status`.
pub(crate) async fn set_status(app: &TestApp, ticket: i64, status: &str) -> Value {
    change(app, ticket, json!({"status": status})).await
}

/// Adds a comment as the admin; answers `data.comment`.
pub(crate) async fn comment(app: &TestApp, ticket: i64, body: Value) -> Value {
    let (status, answer) = app
        .post(&format!("/api/v1/tickets/{ticket}/comments"), &body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}: {answer}");
    answer["data"]["comment"].clone()
}

/// A public staff reply: the first one is the ticket's first response.
pub(crate) async fn reply(app: &TestApp, ticket: i64) -> Value {
    comment(app, ticket, json!({"body": "We are looking into it."})).await
}

/// Runs the breach check as the admin; answers its `data`.
pub(crate) async fn check_breaches(app: &TestApp) -> Value {
    let (status, answer) = app.post("/api/v1/sla/check-breaches", &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["success"], json!(true), "{answer}");
    answer["data"].clone()
}

/// The `(target)` entries of a check's list (`breached_tickets` or `warnings_issued`)
/// about `ticket`.
pub(crate) fn reported(check: &Value, list: &str, ticket: i64) -> Vec<String> {
    check[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list} in {check}"))
        .iter()
        .filter(|entry| entry["ticket_id"] == json!(ticket))
        .map(|entry| entry["target"].as_str().expect("a target").to_owned())
        .collect()
}

/// An RFC 3339 timestamp of the API.
pub(crate) fn time(text: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(
        text.as_str()
            .unwrap_or_else(|| panic!("not a timestamp: {text}")),
    )
    .unwrap_or_else(|e| panic!("{text} is not RFC 3339: {e}"))
    .with_timezone(&Utc)
}

/// An instant written by hand in the test, `2027-03-29T08:00:00Z`.
pub(crate) fn utc(text: &str) -> DateTime<Utc> {
    time(&json!(text))
}

/// `at` without its seconds.
pub(crate) fn minute(at: DateTime<Utc>) -> DateTime<Utc> {
    let seconds = at.timestamp();
    DateTime::from_timestamp(seconds - seconds.rem_euclid(60), 0).expect("a valid instant")
}

/// The timestamp `actual` falls in the minute of `expected` (the servers' time runs on by
/// milliseconds between calls, so due times are compared to the minute).
#[track_caller]
pub(crate) fn assert_minute(actual: &Value, expected: DateTime<Utc>, what: &str) {
    assert!(!actual.is_null(), "{what}: null, expected {expected}");
    assert_eq!(minute(time(actual)), minute(expected), "{what}: {actual}");
}

/// The servers' time.
pub(crate) fn now(app: &TestApp) -> DateTime<Utc> {
    app.clock.now()
}

/// Moves the servers' clock forward to `at` (or a few milliseconds past it).
pub(crate) fn advance_to(app: &TestApp, at: DateTime<Utc>) {
    let now = now(app);
    assert!(
        at > now,
        "the clock only moves forward: from {now} to {at}?"
    );
    app.clock.advance(at - now);
}

/// Moves the servers' clock to the start of the next minute, so that a ticket opened
/// now starts within milliseconds of a whole minute.
pub(crate) fn to_next_minute(app: &TestApp) {
    advance_to(app, minute(now(app)) + Duration::minutes(1));
}

/// A 422 naming exactly `field`.
#[track_caller]
pub(crate) fn assert_invalid(status: StatusCode, body: &Value, field: &str) {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {body}");
    assert_eq!(body["success"], json!(false), "{body}");
    let errors = body["errors"]
        .as_object()
        .unwrap_or_else(|| panic!("no errors in {body}"));
    let fields: Vec<&String> = errors.keys().collect();
    assert_eq!(fields, [field], "{body}");
    assert!(
        errors[field]
            .as_array()
            .is_some_and(|messages| !messages.is_empty()),
        "{body}"
    );
}

/// A 403 in the envelope.
#[track_caller]
pub(crate) fn assert_forbidden(status: StatusCode, body: &Value, what: &str) {
    assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {body}");
    assert_eq!(body["success"], json!(false), "{what}: {body}");
    assert_eq!(body["code"], json!("FORBIDDEN"), "{what}: {body}");
}

/// Every event of these types (`ticket.*` style patterns allowed), oldest first.
pub(crate) async fn events(app: &TestApp, types: &[&str]) -> Vec<Event> {
    let mut client = EventServiceClient::new(app.grpc_channel().await);
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let request = ListEventsRequest {
            after_cursor: after,
            types: types.iter().map(|t| (*t).to_owned()).collect(),
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

/// How many events of `event_type` are about `ticket`.
pub(crate) fn count_of(events: &[Event], event_type: &str, ticket: i64) -> usize {
    events
        .iter()
        .filter(|e| e.r#type == event_type && e.resource_id == ticket.to_string())
        .count()
}

/// An event's data as JSON.
pub(crate) fn event_data(event: &Event) -> Value {
    Value::Object(struct_to_json(event.data.clone().expect("event data")))
}

/// A number of the API, whether sent as a JSON number or as decimal text (`"95.24"`).
pub(crate) fn number(value: &Value) -> f64 {
    match value {
        Value::Number(n) => n.as_f64().expect("a finite number"),
        Value::String(text) => text
            .parse()
            .unwrap_or_else(|e| panic!("{text} is not a number: {e}")),
        other => panic!("not a number: {other}"),
    }
}

/// The ids of a list answer's `data.tickets`.
fn ids_of(body: &Value) -> Vec<i64> {
    body["data"]["tickets"]
        .as_array()
        .unwrap_or_else(|| panic!("no tickets in {body}"))
        .iter()
        .map(id)
        .collect()
}

// ---- the ticket itself ----

async fn a_ticket_with_every_field_reads_back_as_written(app: TestApp) {
    let high = policy_24x7(&app, "High, around the clock", "high", 30, 240).await;
    let plan = crate::services::plan(&app, "Home 20", 20.0, 5.0).await;
    let customer = id(&app.create_customer("Amina", "+254711000001").await);
    let service = id(&crate::services::service(&app, customer, json!({"plan_id": plan})).await);
    let agent = user(&app, "agent@isp.example", "support").await;
    let field_team = team(&app, "Field team").await;

    to_next_minute(&app);
    let before = now(&app);
    let body = json!({
        "customer_id": customer,
        "service_id": service,
        "subject": "No signal since the storm",
        "description": "The outdoor unit's light is off.\nRebooting did not help.",
        "category": "outage",
        "priority": "high",
        "source": "phone",
        "assignee_id": agent,
        "team_id": field_team,
    });
    let (status, answer) = app.post("/api/v1/tickets", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["success"], json!(true));
    let created = answer["data"]["ticket"].clone();
    let ticket_id = id(&created);
    assert!(ticket_id > 0);
    for (field, expected) in [
        ("customer_id", json!(customer)),
        ("partner_id", json!(null)),
        ("service_id", json!(service)),
        ("subject", json!("No signal since the storm")),
        (
            "description",
            json!("The outdoor unit's light is off.\nRebooting did not help."),
        ),
        ("category", json!("outage")),
        ("priority", json!("high")),
        ("status", json!("open")),
        ("source", json!("phone")),
        ("assignee_id", json!(agent)),
        ("team_id", json!(field_team)),
        ("sla_policy_id", json!(high)),
        ("first_response_at", json!(null)),
        ("resolved_at", json!(null)),
        ("closed_at", json!(null)),
        ("first_response_breached", json!(false)),
        ("resolution_breached", json!(false)),
        ("sla_paused", json!(false)),
        ("escalated_at", json!(null)),
        ("escalation_level", json!(0)),
        ("comments_count", json!(0)),
    ] {
        assert_eq!(created[field], expected, "{field}: {created}");
    }
    let opened = time(&created["created_at"]);
    assert!(
        opened >= before && opened - before < Duration::seconds(30),
        "{created}"
    );
    assert!(time(&created["updated_at"]) >= opened, "{created}");
    // 24×7: thirty and 240 minutes after the opening.
    assert_minute(
        &created["first_response_due_at"],
        opened + Duration::minutes(30),
        "first response due",
    );
    assert_minute(
        &created["resolution_due_at"],
        opened + Duration::minutes(240),
        "resolution due",
    );
    assert!(!created["links"].is_null(), "{created}");

    // It reads back the same, by id and in both lists.
    assert_eq!(ticket(&app, ticket_id).await, created);
    let (status, list) = app.get("/api/v1/tickets").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["data"]["tickets"][0], created, "{list}");
    assert_eq!(list["meta"]["total"], json!(1), "{list}");
    let (status, list) = app
        .get(&format!("/api/v1/customers/{customer}/tickets"))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(ids_of(&list), [ticket_id]);

    // The customer's own route opens one the same way.
    let (status, answer) = app
        .post(
            &format!("/api/v1/customers/{customer}/tickets"),
            &json!({"subject": "Router keeps rebooting", "priority": "high"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let second = &answer["data"]["ticket"];
    assert_eq!(second["customer_id"], json!(customer));
    assert_eq!(second["sla_policy_id"], json!(high));
    assert_eq!(second["service_id"], json!(null));
}

async fn a_ticket_gets_its_defaults_and_no_due_times_without_a_policy(app: TestApp) {
    let customer = id(&app.create_customer("Baraka", "+254711000002").await);
    let (status, answer) = app
        .post(
            &format!("/api/v1/customers/{customer}/tickets"),
            &json!({"subject": "Question about my invoice"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let created = &answer["data"]["ticket"];
    for (field, expected) in [
        ("customer_id", json!(customer)),
        ("category", json!("other")),
        ("priority", json!("normal")),
        ("source", json!("api")),
        ("status", json!("open")),
        ("assignee_id", json!(null)),
        ("team_id", json!(null)),
        ("service_id", json!(null)),
        // No policy for normal tickets: no due times.
        ("sla_policy_id", json!(null)),
        ("first_response_due_at", json!(null)),
        ("resolution_due_at", json!(null)),
        ("sla_paused", json!(false)),
        ("escalation_level", json!(0)),
        ("comments_count", json!(0)),
    ] {
        assert_eq!(created[field], expected, "{field}: {created}");
    }
}

async fn bad_ticket_fields_are_reported_on_their_field(app: TestApp) {
    let plan = crate::services::plan(&app, "Home 10", 10.0, 2.0).await;
    let customer = id(&app.create_customer("Chege", "+254711000003").await);
    let other = id(&app.create_customer("Dalia", "+254711000004").await);
    let others_service = id(&crate::services::service(&app, other, json!({"plan_id": plan})).await);
    let valid = json!({"customer_id": customer, "subject": "No internet"});

    let with = |field: &str, value: Value| {
        let mut body = valid.clone();
        body[field] = value;
        body
    };
    let mut without_subject = valid.clone();
    without_subject.as_object_mut().unwrap().remove("subject");
    let mut without_customer = valid.clone();
    without_customer
        .as_object_mut()
        .unwrap()
        .remove("customer_id");
    let cases = [
        (without_subject, "subject"),
        (with("subject", json!("ab")), "subject"),
        (with("subject", json!("x".repeat(201))), "subject"),
        (with("priority", json!("urgent")), "priority"),
        (with("category", json!("weather")), "category"),
        (with("source", json!("pigeon")), "source"),
        (without_customer, "customer_id"),
        (with("customer_id", json!(999_999)), "customer_id"),
        (with("service_id", json!(others_service)), "service_id"),
        (with("service_id", json!(999_999)), "service_id"),
        (with("assignee_id", json!(999_999)), "assignee_id"),
        (with("team_id", json!(999_999)), "team_id"),
        (
            with("description", json!("x".repeat(20_001))),
            "description",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = app.post("/api/v1/tickets", &body).await;
        assert_invalid(status, &answer, field);
    }
    // A change is checked the same way.
    let created = simple_ticket(&app, customer, "normal").await;
    let path = format!("/api/v1/tickets/{}", id(&created));
    let (status, answer) = app.patch(&path, &json!({"priority": "urgent"})).await;
    assert_invalid(status, &answer, "priority");
    let (status, answer) = app
        .patch(&path, &json!({"service_id": others_service}))
        .await;
    assert_invalid(status, &answer, "service_id");
    let (status, answer) = app.patch(&path, &json!({"assignee_id": 999_999})).await;
    assert_invalid(status, &answer, "assignee_id");

    // Nothing but the valid ticket was written; an unknown ticket is a 404.
    let (_, list) = app.get("/api/v1/tickets").await;
    assert_eq!(list["meta"]["total"], json!(1), "{list}");
    let (status, answer) = app.get("/api/v1/tickets/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert_eq!(answer["success"], json!(false));
}

async fn tickets_are_listed_newest_first_and_filtered(app: TestApp) {
    let amina = id(&app.create_customer("Amina", "+254711000011").await);
    let baraka = id(&app.create_customer("Baraka", "+254711000012").await);
    let agent = user(&app, "lists@isp.example", "support").await;
    let noc = team(&app, "NOC").await;
    let first = id(&open_ticket(
        &app,
        json!({"customer_id": amina, "subject": "Fibre cut on Moi Avenue", "priority": "critical",
               "team_id": noc}),
    )
    .await);
    app.clock.advance(Duration::seconds(1));
    let second = id(&open_ticket(
        &app,
        json!({"customer_id": baraka, "subject": "Invoice twice", "category": "billing",
               "assignee_id": agent}),
    )
    .await);
    app.clock.advance(Duration::seconds(1));
    let third = id(&simple_ticket(&app, amina, "low").await);
    set_status(&app, third, "in_progress").await;

    let list = |query: String| {
        let app = &app;
        async move {
            let (status, body) = app.get(&format!("/api/v1/tickets{query}")).await;
            assert_eq!(status, StatusCode::OK, "{query}: {body}");
            assert_eq!(body["success"], json!(true));
            ids_of(&body)
        }
    };
    assert_eq!(
        list(String::new()).await,
        [third, second, first],
        "newest first"
    );
    assert_eq!(list("?status=in_progress".into()).await, [third]);
    assert_eq!(list("?status=open".into()).await, [second, first]);
    assert_eq!(list("?priority=critical".into()).await, [first]);
    assert_eq!(list(format!("?customer_id={amina}")).await, [third, first]);
    assert_eq!(list(format!("?assignee_id={agent}")).await, [second]);
    assert_eq!(list(format!("?team_id={noc}")).await, [first]);
    assert_eq!(list("?search=Moi%20Avenue".into()).await, [first]);
    assert_eq!(
        list("?search=nothing-like-this".into()).await,
        Vec::<i64>::new()
    );

    // A deleted ticket leaves the lists and answers 404.
    let (status, body) = app.delete(&format!("/api/v1/tickets/{second}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(list(String::new()).await, [third, first]);
    let (status, _) = app.get(&format!("/api/v1/tickets/{second}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// ---- the status ----

async fn the_status_follows_its_state_machine(app: TestApp) {
    let customer = id(&app.create_customer("Esther", "+254711000021").await);
    let ticket_id = id(&simple_ticket(&app, customer, "normal").await);
    let path = format!("/api/v1/tickets/{ticket_id}");

    // Every legal move from open, in_progress and waiting_on_customer.
    for status in [
        "in_progress",
        "waiting_on_customer",
        "in_progress",
        "open",
        "waiting_on_customer",
        "open",
        "in_progress",
        "waiting_on_customer",
    ] {
        let changed = set_status(&app, ticket_id, status).await;
        assert_eq!(changed["status"], json!(status), "{changed}");
        assert_eq!(changed["resolved_at"], json!(null));
    }

    // Resolving sets resolved_at.
    let before = now(&app);
    let resolved = set_status(&app, ticket_id, "resolved").await;
    assert_eq!(resolved["status"], json!("resolved"));
    let resolved_at = time(&resolved["resolved_at"]);
    assert!(
        resolved_at >= before && resolved_at - before < Duration::seconds(30),
        "{resolved}"
    );
    assert_eq!(resolved["closed_at"], json!(null));

    // A resolved ticket cannot wait on the customer; it can be reopened, which clears
    // resolved_at.
    let (status, body) = app
        .patch(&path, &json!({"status": "waiting_on_customer"}))
        .await;
    assert_invalid(status, &body, "status");
    let reopened = set_status(&app, ticket_id, "in_progress").await;
    assert_eq!(reopened["status"], json!("in_progress"));
    assert_eq!(reopened["resolved_at"], json!(null), "{reopened}");

    // Closing an unresolved ticket sets closed_at and resolved_at.
    let closed = set_status(&app, ticket_id, "closed").await;
    assert_eq!(closed["status"], json!("closed"));
    assert!(!closed["closed_at"].is_null(), "{closed}");
    assert!(!closed["resolved_at"].is_null(), "{closed}");

    // Closed is final.
    let (status, body) = app.patch(&path, &json!({"status": "open"})).await;
    assert_invalid(status, &body, "status");
    assert_eq!(
        body["errors"]["status"],
        json!(["The status cannot change from closed to open."]),
        "{body}"
    );
    for next in ["in_progress", "waiting_on_customer", "resolved"] {
        let (status, body) = app.patch(&path, &json!({"status": next})).await;
        assert_invalid(status, &body, "status");
    }
    let (status, body) = app.patch(&path, &json!({"status": "snoozed"})).await;
    assert_invalid(status, &body, "status");
    assert_eq!(ticket(&app, ticket_id).await["status"], json!("closed"));

    // Open → resolved → closed keeps the resolution time; open → closed directly works.
    let second = id(&simple_ticket(&app, customer, "normal").await);
    let resolved = set_status(&app, second, "resolved").await;
    app.clock.advance(Duration::hours(1));
    let closed = set_status(&app, second, "closed").await;
    assert_eq!(closed["resolved_at"], resolved["resolved_at"], "{closed}");
    assert!(time(&closed["closed_at"]) > time(&closed["resolved_at"]));
    let third = id(&simple_ticket(&app, customer, "normal").await);
    assert_eq!(
        set_status(&app, third, "closed").await["status"],
        json!("closed")
    );
    let fourth = id(&simple_ticket(&app, customer, "normal").await);
    set_status(&app, fourth, "resolved").await;
    assert_eq!(
        set_status(&app, fourth, "open").await["status"],
        json!("open")
    );
}

async fn a_resolved_ticket_reopens_within_seven_days_only(app: TestApp) {
    let customer = id(&app.create_customer("Faith", "+254711000022").await);
    let ticket_id = id(&simple_ticket(&app, customer, "normal").await);
    let path = format!("/api/v1/tickets/{ticket_id}");

    // Six days and 23 hours after the resolution it reopens.
    set_status(&app, ticket_id, "resolved").await;
    app.clock.advance(Duration::days(6) + Duration::hours(23));
    let reopened = set_status(&app, ticket_id, "open").await;
    assert_eq!(reopened["status"], json!("open"));
    assert_eq!(reopened["resolved_at"], json!(null));

    // Resolved again; seven days and a minute later it no longer does.
    set_status(&app, ticket_id, "resolved").await;
    app.clock.advance(Duration::days(7) + Duration::minutes(1));
    for status in ["open", "in_progress"] {
        let (code, body) = app.patch(&path, &json!({"status": status})).await;
        assert_invalid(code, &body, "status");
        assert_eq!(
            body["errors"]["status"],
            json!([
                "The ticket was resolved more than 7 days ago and cannot be reopened; open a new ticket."
            ]),
            "{body}"
        );
    }
    assert_eq!(ticket(&app, ticket_id).await["status"], json!("resolved"));
    // It can still be closed.
    assert_eq!(
        set_status(&app, ticket_id, "closed").await["status"],
        json!("closed")
    );
}

// ---- comments and events ----

async fn comments_set_the_first_response_and_are_listed_oldest_first(app: TestApp) {
    policy_24x7(&app, "Normal, around the clock", "normal", 60, 480).await;
    let customer = id(&app.create_customer("Grace", "+254711000031").await);
    let ticket_id = id(&simple_ticket(&app, customer, "normal").await);

    // An internal note and a customer's reply are not a first response.
    let note = comment(
        &app,
        ticket_id,
        json!({"body": "Checked the OLT: port is up.", "public": false}),
    )
    .await;
    app.clock.advance(Duration::minutes(1));
    let from_customer = comment(
        &app,
        ticket_id,
        json!({"body": "Still down here.", "from_customer": true}),
    )
    .await;
    assert_eq!(
        ticket(&app, ticket_id).await["first_response_at"],
        json!(null)
    );

    // The first public staff reply is.
    app.clock.advance(Duration::minutes(1));
    let before = now(&app);
    let staff = comment(
        &app,
        ticket_id,
        json!({"body": "A technician is on the way.", "public": true}),
    )
    .await;
    let answered = ticket(&app, ticket_id).await;
    let first_response_at = time(&answered["first_response_at"]);
    assert!(
        first_response_at >= before && first_response_at - before < Duration::seconds(30),
        "{answered}"
    );
    assert_minute(
        &answered["first_response_at"],
        time(&staff["created_at"]),
        "first response at the reply",
    );

    // A later reply does not move it.
    app.clock.advance(Duration::minutes(1));
    let later = comment(&app, ticket_id, json!({"body": "Fixed, please check."})).await;
    let after = ticket(&app, ticket_id).await;
    assert_eq!(after["first_response_at"], answered["first_response_at"]);
    assert_eq!(after["comments_count"], json!(4), "{after}");

    for (comment, body, public, from_customer) in [
        (&note, "Checked the OLT: port is up.", false, false),
        (&from_customer, "Still down here.", true, true),
        (&staff, "A technician is on the way.", true, false),
        (&later, "Fixed, please check.", true, false),
    ] {
        assert!(id(comment) > 0);
        assert_eq!(comment["ticket_id"], json!(ticket_id), "{comment}");
        assert_eq!(comment["body"], json!(body), "{comment}");
        assert_eq!(comment["public"], json!(public), "{comment}");
        assert_eq!(comment["from_customer"], json!(from_customer), "{comment}");
        assert!(
            comment["author"].as_str().is_some_and(|a| !a.is_empty()),
            "{comment}"
        );
        time(&comment["created_at"]);
    }

    // Oldest first, as they were answered.
    let (status, list) = app
        .get(&format!("/api/v1/tickets/{ticket_id}/comments"))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let listed = list["data"]["comments"].as_array().expect("comments");
    assert_eq!(listed, &[note, from_customer, staff, later], "{list}");

    // A comment needs a body of 1–20000 characters.
    let path = format!("/api/v1/tickets/{ticket_id}/comments");
    for body in [
        json!({}),
        json!({"body": ""}),
        json!({"body": "x".repeat(20_001)}),
    ] {
        let (status, answer) = app.post(&path, &body).await;
        assert_invalid(status, &answer, "body");
    }
    let (status, _) = app
        .post("/api/v1/tickets/999999/comments", &json!({"body": "Hello"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn a_customer_reply_moves_a_ticket_waiting_on_the_customer_back_to_open(app: TestApp) {
    let customer = id(&app.create_customer("Hassan", "+254711000032").await);
    let ticket_id = id(&simple_ticket(&app, customer, "normal").await);
    set_status(&app, ticket_id, "waiting_on_customer").await;

    // A staff reply or note leaves it waiting.
    reply(&app, ticket_id).await;
    comment(
        &app,
        ticket_id,
        json!({"body": "Asked for the router's serial.", "public": false}),
    )
    .await;
    assert_eq!(
        ticket(&app, ticket_id).await["status"],
        json!("waiting_on_customer")
    );

    // The customer's answer hands it back.
    comment(
        &app,
        ticket_id,
        json!({"body": "Serial is ABC123.", "from_customer": true}),
    )
    .await;
    let back = ticket(&app, ticket_id).await;
    assert_eq!(back["status"], json!("open"), "{back}");
    assert_eq!(back["sla_paused"], json!(false), "{back}");

    // On a ticket in progress a customer's reply changes nothing.
    set_status(&app, ticket_id, "in_progress").await;
    comment(
        &app,
        ticket_id,
        json!({"body": "Any news?", "from_customer": true}),
    )
    .await;
    assert_eq!(
        ticket(&app, ticket_id).await["status"],
        json!("in_progress")
    );
}

async fn ticket_changes_emit_their_events_with_the_ticket(app: TestApp) {
    let customer = id(&app.create_customer("Imani", "+254711000033").await);
    let agent = user(&app, "events@isp.example", "support").await;
    let ticket_id = id(&simple_ticket(&app, customer, "normal").await);
    change(&app, ticket_id, json!({"assignee_id": agent})).await;
    reply(&app, ticket_id).await;
    let resolved = set_status(&app, ticket_id, "resolved").await;

    let types = [
        "ticket.created",
        "ticket.assigned",
        "ticket.commented",
        "ticket.resolved",
    ];
    let found = events(&app, &types).await;
    let seen: Vec<&str> = found.iter().map(|e| e.r#type.as_str()).collect();
    assert_eq!(seen, types, "one of each, in order");
    for event in &found {
        assert_eq!(event.resource_type, "ticket", "{event:?}");
        assert_eq!(event.resource_id, ticket_id.to_string(), "{event:?}");
        assert_eq!(event.partner_id, None);
        let data = event_data(event);
        assert_eq!(data["id"].as_f64(), Some(ticket_id as f64), "{data}");
        assert_eq!(
            data["customer_id"].as_f64(),
            Some(customer as f64),
            "{data}"
        );
    }
    assert_eq!(event_data(&found[0])["status"], json!("open"));
    assert_eq!(event_data(&found[0])["assignee_id"], json!(null));
    assert_eq!(
        event_data(&found[1])["assignee_id"].as_f64(),
        Some(agent as f64)
    );
    assert_eq!(event_data(&found[2])["comments_count"].as_f64(), Some(1.0));
    let data = event_data(&found[3]);
    assert_eq!(data["status"], json!("resolved"));
    assert_eq!(data["resolved_at"], resolved["resolved_at"]);

    // The family pattern finds the same ones among others.
    let all = events(&app, &["ticket.*"]).await;
    for event_type in types {
        assert_eq!(count_of(&all, event_type, ticket_id), 1, "{event_type}");
    }

    // A deletion emits ticket.deleted.
    let (status, body) = app.delete(&format!("/api/v1/tickets/{ticket_id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let deleted = events(&app, &["ticket.deleted"]).await;
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0].resource_id, ticket_id.to_string());
}

// ---- who sees and does what ----

async fn a_reseller_sees_and_counts_only_its_partners_tickets(app: TestApp) {
    let ours = app.insert_partner("Ours").await;
    let theirs = app.insert_partner("Theirs").await;
    let mine = customer_of(&app, ours, "Amina", "+254711000041").await;
    let also_mine = customer_of(&app, ours, "Baraka", "+254711000042").await;
    let other = customer_of(&app, theirs, "Chege", "+254711000043").await;
    let nobodys = id(&app.create_customer("Dalia", "+254711000044").await);
    let first = simple_ticket(&app, mine, "normal").await;
    assert_eq!(first["partner_id"], json!(ours), "{first}");
    let second = id(&simple_ticket(&app, also_mine, "high").await);
    let others = simple_ticket(&app, other, "normal").await;
    assert_eq!(others["partner_id"], json!(theirs));
    let others = id(&others);
    simple_ticket(&app, nobodys, "low").await;
    let (_, key) = app.key(Role::Reseller, Some(ours), None).await;
    let get = reqwest::Method::GET;

    // Lists hold only its partner's tickets, whatever the filter.
    let (status, list) = as_key(&app, &key, get.clone(), "/api/v1/tickets", None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let mut ids = ids_of(&list);
    ids.sort_unstable();
    assert_eq!(ids, [id(&first), second]);
    assert_eq!(list["meta"]["total"], json!(2));
    let path = format!("/api/v1/tickets?customer_id={other}");
    let (_, list) = as_key(&app, &key, get.clone(), &path, None).await;
    assert_eq!(list["meta"]["total"], json!(0), "{list}");

    // Another partner's ticket is not found, to read, change or comment.
    let path = format!("/api/v1/tickets/{others}");
    let (status, body) = as_key(&app, &key, get.clone(), &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.get("data").is_none(), "no data leaks: {body}");
    let (status, _) = as_key(
        &app,
        &key,
        reqwest::Method::PATCH,
        &path,
        Some(json!({"status": "in_progress"})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = as_key(
        &app,
        &key,
        reqwest::Method::POST,
        &format!("{path}/comments"),
        Some(json!({"body": "Hello"})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = as_key(&app, &key, get.clone(), &format!("{path}/comments"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(ticket(&app, others).await["status"], json!("open"));

    // It opens tickets for its own customers only.
    let (status, body) = as_key(
        &app,
        &key,
        reqwest::Method::POST,
        "/api/v1/tickets",
        Some(json!({"customer_id": other, "subject": "Not mine"})),
    )
    .await;
    assert_invalid(status, &body, "customer_id");
    let (status, body) = as_key(
        &app,
        &key,
        reqwest::Method::POST,
        "/api/v1/tickets",
        Some(json!({"customer_id": mine, "subject": "Mine"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["ticket"]["partner_id"], json!(ours));

    // Its metrics count its three tickets; the admin's count all five.
    let metrics = "/api/v1/sla/performance-metrics?period_days=30";
    let (status, body) = as_key(&app, &key, get.clone(), metrics, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["total_tickets"], json!(3), "{body}");
    let (status, body) = app.get(metrics).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["total_tickets"], json!(5), "{body}");

    // A reseller key without a partner sees nothing at all, not everything.
    let (_, lone) = app.key(Role::Reseller, None, None).await;
    let (status, list) = as_key(&app, &lone, get.clone(), "/api/v1/tickets", None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["meta"]["total"], json!(0), "{list}");
    let path = format!("/api/v1/tickets/{others}");
    let (status, body) = as_key(&app, &lone, get.clone(), &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (_, body) = as_key(&app, &lone, get, metrics, None).await;
    assert_eq!(body["data"]["total_tickets"], json!(0), "{body}");
}

async fn each_role_works_tickets_and_policies_as_its_permissions_say(app: TestApp) {
    let customer = id(&app.create_customer("Juma", "+254711000051").await);
    let existing = id(&simple_ticket(&app, customer, "normal").await);
    let (_, support) = app.key(Role::Support, None, None).await;
    let (_, technician) = app.key(Role::Technician, None, None).await;
    let (_, read_only) = app.key(Role::ReadOnly, None, None).await;
    let (_, billing) = app.key(Role::Billing, None, None).await;
    let (_, manager) = app.key(Role::Manager, None, None).await;
    let new_ticket = json!({"customer_id": customer, "subject": "Slow evenings"});
    let ticket_path = format!("/api/v1/tickets/{existing}");
    let policy_body = |name: &str, priority: &str| {
        json!({"name": name, "priority": priority, "first_response_minutes": 30,
               "resolution_minutes": 240})
    };
    use reqwest::Method as M;

    // Support works tickets: opens, changes, comments; reads policies and metrics.
    let (status, body) = as_key(
        &app,
        &support,
        M::POST,
        "/api/v1/tickets",
        Some(new_ticket.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let by_support = id(&body["data"]["ticket"]);
    let (status, body) = as_key(
        &app,
        &support,
        M::PATCH,
        &ticket_path,
        Some(json!({"status": "in_progress", "priority": "high"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["ticket"]["status"], json!("in_progress"));
    let (status, body) = as_key(
        &app,
        &support,
        M::POST,
        &format!("{ticket_path}/comments"),
        Some(json!({"body": "On it."})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for path in [
        "/api/v1/sla/policies",
        "/api/v1/sla/performance-metrics",
        "/api/v1/tickets",
    ] {
        let (status, body) = as_key(&app, &support, M::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "support GET {path}: {body}");
    }
    // … but does not write policies, run the breach check or delete tickets.
    let (status, body) = as_key(
        &app,
        &support,
        M::POST,
        "/api/v1/sla/policies",
        Some(policy_body("Support's", "high")),
    )
    .await;
    assert_forbidden(status, &body, "support creates a policy");
    let (status, body) = as_key(
        &app,
        &support,
        M::POST,
        "/api/v1/sla/check-breaches",
        Some(json!({})),
    )
    .await;
    assert_forbidden(status, &body, "support runs the check");
    let (status, body) = as_key(&app, &support, M::DELETE, &ticket_path, None).await;
    assert_forbidden(status, &body, "support deletes a ticket");

    // A technician works tickets too, and cannot run the check.
    let (status, body) = as_key(
        &app,
        &technician,
        M::POST,
        "/api/v1/tickets",
        Some(new_ticket.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = as_key(
        &app,
        &technician,
        M::POST,
        "/api/v1/sla/check-breaches",
        Some(json!({})),
    )
    .await;
    assert_forbidden(status, &body, "a technician runs the check");

    // Read-only reads tickets, comments and policies, and changes nothing.
    for path in [
        "/api/v1/tickets".to_owned(),
        ticket_path.clone(),
        format!("{ticket_path}/comments"),
        "/api/v1/sla/policies".to_owned(),
        "/api/v1/sla/performance-metrics".to_owned(),
    ] {
        let (status, body) = as_key(&app, &read_only, M::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK, "read_only GET {path}: {body}");
    }
    let (status, body) = as_key(
        &app,
        &read_only,
        M::POST,
        "/api/v1/tickets",
        Some(new_ticket.clone()),
    )
    .await;
    assert_forbidden(status, &body, "read_only opens a ticket");
    let (status, body) = as_key(
        &app,
        &read_only,
        M::PATCH,
        &ticket_path,
        Some(json!({"status": "resolved"})),
    )
    .await;
    assert_forbidden(status, &body, "read_only changes a ticket");
    let (status, body) = as_key(
        &app,
        &read_only,
        M::POST,
        &format!("{ticket_path}/comments"),
        Some(json!({"body": "Hi"})),
    )
    .await;
    assert_forbidden(status, &body, "read_only comments");

    // Billing reads tickets but nothing of the SLA.
    let (status, body) = as_key(&app, &billing, M::GET, "/api/v1/tickets", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for path in ["/api/v1/sla/policies", "/api/v1/sla/performance-metrics"] {
        let (status, body) = as_key(&app, &billing, M::GET, path, None).await;
        assert_forbidden(status, &body, path);
    }

    // A manager writes policies, runs the check and deletes tickets.
    let (status, body) = as_key(
        &app,
        &manager,
        M::POST,
        "/api/v1/sla/policies",
        Some(policy_body("Manager's", "low")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = as_key(
        &app,
        &manager,
        M::POST,
        "/api/v1/sla/check-breaches",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let path = format!("/api/v1/tickets/{by_support}");
    let (status, body) = as_key(&app, &manager, M::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    // What was refused changed nothing.
    let shown = ticket(&app, existing).await;
    assert_eq!(shown["status"], json!("in_progress"));
    assert_eq!(shown["comments_count"], json!(1));
    let (_, policies) = app.get("/api/v1/sla/policies").await;
    assert_eq!(policies["meta"]["total"], json!(1), "{policies}");
}

// ---- gRPC ----

/// A protobuf timestamp as a UTC instant.
pub(crate) fn instant(timestamp: Option<&prost_types::Timestamp>) -> DateTime<Utc> {
    let t = timestamp.expect("a timestamp");
    DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).expect("nanos"))
        .expect("a valid instant")
}

async fn a_ticket_life_cycle_over_grpc_with_breaches_and_metrics(app: TestApp) {
    let key = app.admin_key.clone();
    let high = policy_24x7(&app, "High over gRPC", "high", 10, 60).await;
    let customer = id(&app.create_customer("Kamau", "+254711000061").await);
    let agent = user(&app, "grpc@isp.example", "support").await;
    let mut tickets = TicketServiceClient::new(app.grpc_channel().await);
    let mut sla = SlaServiceClient::new(app.grpc_channel().await);

    // Create: the customer by id, every enum set.
    to_next_minute(&app);
    let input = TicketInput {
        customer: Some(customer.to_string()),
        subject: Some("Dish misaligned after the wind".into()),
        description: Some("Signal at -80 dBm.".into()),
        category: TicketCategory::Technical as i32,
        priority: TicketPriority::High as i32,
        source: TicketSource::Email as i32,
        ..Default::default()
    };
    let created = tickets
        .create_ticket(with_key(
            CreateTicketRequest {
                ticket: Some(input.clone()),
                validate_only: false,
                customer: String::new(),
            },
            &key,
        ))
        .await
        .expect("CreateTicket")
        .into_inner()
        .ticket
        .expect("the ticket");
    assert!(created.id > 0);
    assert_eq!(created.customer_id, customer);
    assert_eq!(created.subject, "Dish misaligned after the wind");
    assert_eq!(created.category, TicketCategory::Technical as i32);
    assert_eq!(created.priority, TicketPriority::High as i32);
    assert_eq!(created.source, TicketSource::Email as i32);
    assert_eq!(created.status, TicketStatus::Open as i32);
    assert_eq!(created.sla_policy_id, Some(high));
    let opened = instant(created.created_at.as_ref());
    assert_eq!(
        minute(instant(created.first_response_due_at.as_ref())),
        minute(opened + Duration::minutes(10))
    );
    assert_eq!(
        minute(instant(created.resolution_due_at.as_ref())),
        minute(opened + Duration::minutes(60))
    );
    assert!(created.first_response_at.is_none() && created.resolved_at.is_none());

    // The REST view shows the same ticket.
    let rest = ticket(&app, created.id).await;
    assert_eq!(rest["subject"], json!(created.subject));
    assert_eq!(rest["category"], json!("technical"));
    assert_eq!(rest["source"], json!("email"));

    // A second one, never answered.
    let unanswered = tickets
        .create_ticket(with_key(
            CreateTicketRequest {
                ticket: Some(TicketInput {
                    subject: Some("No internet at all".into()),
                    ..input
                }),
                validate_only: false,
                customer: String::new(),
            },
            &key,
        ))
        .await
        .expect("CreateTicket")
        .into_inner()
        .ticket
        .unwrap();

    // Assign: only the masked field changes.
    let assigned = tickets
        .update_ticket(with_key(
            UpdateTicketRequest {
                id: created.id,
                changes: Some(TicketInput {
                    assignee_id: Some(agent),
                    subject: Some("Ignored: not in the mask".into()),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["assignee_id".into()],
                }),
                validate_only: false,
            },
            &key,
        ))
        .await
        .expect("UpdateTicket")
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!(assigned.assignee_id, Some(agent));
    assert_eq!(assigned.subject, created.subject);

    // Comment: a public reply five minutes in is the first response.
    app.clock.advance(Duration::minutes(5));
    let comment = tickets
        .add_ticket_comment(with_key(
            AddTicketCommentRequest {
                ticket_id: created.id,
                comment: Some(TicketCommentInput {
                    body: Some("We will realign it tomorrow morning.".into()),
                    public: Some(true),
                    from_customer: None,
                }),
                validate_only: false,
            },
            &key,
        ))
        .await
        .expect("AddTicketComment")
        .into_inner()
        .comment
        .unwrap();
    assert_eq!(comment.ticket_id, created.id);
    assert!(comment.public && !comment.from_customer);
    assert!(!comment.author.is_empty());
    let comments = tickets
        .list_ticket_comments(with_key(
            ListTicketCommentsRequest {
                ticket_id: created.id,
                page: None,
            },
            &key,
        ))
        .await
        .expect("ListTicketComments")
        .into_inner()
        .comments;
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert_eq!(comments[0], comment);
    let got = tickets
        .get_ticket(with_key(GetTicketRequest { id: created.id }, &key))
        .await
        .expect("GetTicket")
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!(
        minute(instant(got.first_response_at.as_ref())),
        minute(instant(comment.created_at.as_ref()))
    );
    assert_eq!(got.comments_count, 1);

    // Eleven and a half minutes in, the unanswered one has missed its first response.
    advance_to(&app, opened + Duration::minutes(11) + Duration::seconds(30));
    let check = sla
        .check_breaches(with_key(CheckBreachesRequest {}, &key))
        .await
        .expect("CheckBreaches")
        .into_inner();
    let breaches: Vec<(i64, &str)> = check
        .breached_tickets
        .iter()
        .map(|b| (b.ticket_id, b.target.as_str()))
        .collect();
    assert_eq!(breaches, [(unanswered.id, "first_response")], "{check:?}");
    let breach = &check.breached_tickets[0];
    assert_eq!(breach.customer_id, customer);
    assert_eq!(
        minute(instant(breach.breach_time.as_ref())),
        minute(opened + Duration::minutes(10))
    );
    assert_eq!(breach.overdue_minutes, 1);
    assert_eq!(check.total_checked, 2, "two tickets with running clocks");
    assert!(check.check_time.is_some());

    // Resolve the answered one.
    let resolved = tickets
        .update_ticket(with_key(
            UpdateTicketRequest {
                id: created.id,
                changes: Some(TicketInput {
                    status: TicketStatus::Resolved as i32,
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["status".into()],
                }),
                validate_only: false,
            },
            &key,
        ))
        .await
        .expect("resolve")
        .into_inner()
        .ticket
        .unwrap();
    assert_eq!(resolved.status, TicketStatus::Resolved as i32);
    assert!(resolved.resolved_at.is_some() && resolved.sla_paused);
    assert!(!resolved.first_response_breached && !resolved.resolution_breached);

    // Listing by status and by customer.
    let list = tickets
        .list_tickets(with_key(
            ListTicketsRequest {
                status: TicketStatus::Resolved as i32,
                customer: Some(customer.to_string()),
                ..Default::default()
            },
            &key,
        ))
        .await
        .expect("ListTickets")
        .into_inner();
    assert_eq!(
        list.tickets.iter().map(|t| t.id).collect::<Vec<_>>(),
        [created.id]
    );
    assert_eq!(list.meta.expect("meta").total, 1);

    // Metrics: two high tickets, one breached.
    let metrics = sla
        .get_performance_metrics(with_key(
            GetPerformanceMetricsRequest { period_days: None },
            &key,
        ))
        .await
        .expect("GetPerformanceMetrics")
        .into_inner();
    assert_eq!(metrics.period_days, 30, "zero means 30");
    assert_eq!(
        (
            metrics.total_tickets,
            metrics.tickets_within_sla,
            metrics.tickets_breached
        ),
        (2, 1, 1),
        "{metrics:?}"
    );
    assert_eq!(metrics.sla_compliance_rate, "50.00");
    assert_eq!(metrics.first_response_compliance_rate, "50.00");
    assert_eq!(metrics.escalation_rate, "0.00");
    // Five minutes of the clock, plus the milliseconds the calls took.
    let average: f64 = metrics.average_first_response_time_minutes.parse().unwrap();
    assert!((average - 5.0).abs() < 0.05, "{metrics:?}");
    assert!(
        (metrics
            .average_resolution_time_minutes
            .parse::<f64>()
            .unwrap()
            - 11.5)
            .abs()
            < 0.05,
        "{metrics:?}"
    );
    let high = &metrics.by_priority["high"];
    assert_eq!((high.total, high.within_sla), (2, 1), "{metrics:?}");
    assert_eq!(high.compliance_rate, "50.00");
    let low = &metrics.by_priority["low"];
    assert_eq!((low.total, low.within_sla), (0, 0));
    assert_eq!(low.compliance_rate, "100.00");
    let end = instant(metrics.period_end.as_ref());
    assert_eq!(
        minute(instant(metrics.period_start.as_ref())),
        minute(end - Duration::days(30))
    );

    // A bad field is INVALID_ARGUMENT; an unknown ticket NOT_FOUND.
    let status = tickets
        .create_ticket(with_key(
            CreateTicketRequest {
                ticket: Some(TicketInput {
                    customer: Some(customer.to_string()),
                    subject: Some("ab".into()),
                    ..Default::default()
                }),
                validate_only: false,
                customer: String::new(),
            },
            &key,
        ))
        .await
        .expect_err("a two-letter subject");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let status = tickets
        .get_ticket(with_key(GetTicketRequest { id: 999_999 }, &key))
        .await
        .expect_err("an unknown ticket");
    assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
}

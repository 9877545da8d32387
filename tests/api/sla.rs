//! SLA policies and what they do to tickets: a policy is created with its defaults and
//! checked field by field; a ticket gets the most specific policy of its priority; due
//! times are counted in business minutes (nights, weekends, holidays and a DST change
//! skipped); waiting on the customer stops the clocks; a priority change recomputes the
//! due times; the breach check reports each breach and warning once, at the minute, and
//! escalates; a webhook receives the breach signed; and the performance metrics of a
//! hand-built set of tickets are the numbers computed here by hand.
//!
//! Expected instants and numbers are written out by hand, never read from a policy.

use std::time::Duration as StdDuration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use lastmile_tests::{StatusCode, TestApp, customer_body, engine_tests, json};
use serde_json::Value;

use crate::webhooks::receiver::Receiver;
use crate::webhooks::support::{assert_signed_with, standard_signature};

use crate::tickets::{
    advance_to, assert_invalid, assert_minute, change, check_breaches, comment, count_of, events,
    id, minute, now, number, open_ticket, policy, policy_24x7, reply, reported, set_status,
    simple_ticket, team, ticket, time, to_next_minute, utc, without_workers,
};

engine_tests!(
    a_policy_is_created_with_its_defaults_and_bad_fields_are_reported,
    a_ticket_gets_the_most_specific_active_policy_of_its_priority,
    a_priority_change_recomputes_the_due_times_from_the_opening,
    a_breach_escalates_the_ticket_and_reaches_a_webhook_signed,
    bad_metric_periods_are_refused,
);

// The breach check is run by the tests themselves: with no job worker, no scheduled run
// reports a breach before the test's own call does.
engine_tests!(with = without_workers;
    a_ticket_breaches_at_its_target_minute_and_not_a_minute_before,
    business_minutes_skip_nights_weekends_holidays_and_the_dst_change,
    waiting_on_the_customer_stops_the_clocks_for_exactly_the_minutes_waited,
    each_breach_and_warning_is_reported_and_emitted_once,
    performance_metrics_are_the_hand_computed_numbers,
);

/// Monday to Friday, 09:00–17:00 in Berlin, with these holidays.
fn berlin_office_hours(holidays: &[&str]) -> Value {
    let hours: Vec<Value> = ["monday", "tuesday", "wednesday", "thursday", "friday"]
        .into_iter()
        .map(|day| json!({"day": day, "start": "09:00", "end": "17:00"}))
        .collect();
    json!({"time_zone": "Europe/Berlin", "hours": hours, "holidays": holidays})
}

// ---- policies ----

async fn a_policy_is_created_with_its_defaults_and_bad_fields_are_reported(app: TestApp) {
    let calendar = berlin_office_hours(&["2027-04-02"]);
    let body = json!({"name": "Gold critical", "priority": "critical",
        "first_response_minutes": 15, "resolution_minutes": 120, "calendar": calendar});
    let (status, answer) = app.post("/api/v1/sla/policies", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["success"], json!(true));
    let created = answer["data"]["sla_policy"].clone();
    for (field, expected) in [
        ("name", json!("Gold critical")),
        ("priority", json!("critical")),
        ("user_group_id", json!(null)),
        ("plan_id", json!(null)),
        ("first_response_minutes", json!(15)),
        ("resolution_minutes", json!(120)),
        ("calendar", calendar.clone()),
        ("pause_while_waiting", json!(true)),
        ("warning_percent", json!(80)),
        ("escalate_to_priority", json!(null)),
        ("escalate_to_team_id", json!(null)),
        ("active", json!(true)),
    ] {
        assert_eq!(created[field], expected, "{field}: {created}");
    }
    assert!(id(&created) > 0);
    time(&created["created_at"]);
    time(&created["updated_at"]);
    assert!(!created["links"].is_null(), "{created}");
    let path = format!("/api/v1/sla/policies/{}", id(&created));
    let (status, shown) = app.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["data"]["sla_policy"], created);

    // Every field given.
    let escalations = team(&app, "Escalations").await;
    let full = policy(
        &app,
        json!({"name": "Silver high", "priority": "high", "first_response_minutes": 60,
            "resolution_minutes": 480, "calendar": null, "pause_while_waiting": false,
            "warning_percent": 50, "escalate_to_priority": "critical",
            "escalate_to_team_id": escalations, "active": true}),
    )
    .await;
    assert_eq!(full["calendar"], json!(null), "24×7: {full}");
    assert_eq!(full["pause_while_waiting"], json!(false));
    assert_eq!(full["warning_percent"], json!(50));
    assert_eq!(full["escalate_to_priority"], json!("critical"));
    assert_eq!(full["escalate_to_team_id"], json!(escalations));

    let (status, list) = app.get("/api/v1/sla/policies").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["meta"]["total"], json!(2), "{list}");
    assert_eq!(list["data"]["sla_policies"].as_array().unwrap().len(), 2);

    // Bad fields, one at a time, from a valid low policy.
    let valid = json!({"name": "Bronze low", "priority": "low", "first_response_minutes": 60,
        "resolution_minutes": 1440});
    let with = |field: &str, value: Value| {
        let mut body = valid.clone();
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = valid.clone();
        body.as_object_mut().unwrap().remove(field);
        body
    };
    for (body, field) in [
        (without("name"), "name"),
        (with("name", json!("G")), "name"),
        (with("name", json!("x".repeat(101))), "name"),
        // Unique ignoring case.
        (with("name", json!("GOLD CRITICAL")), "name"),
        (without("priority"), "priority"),
        (with("priority", json!("urgent")), "priority"),
        (without("first_response_minutes"), "first_response_minutes"),
        (
            with("first_response_minutes", json!(0)),
            "first_response_minutes",
        ),
        (
            with("first_response_minutes", json!(525_601)),
            "first_response_minutes",
        ),
        (without("resolution_minutes"), "resolution_minutes"),
        // Below the first response.
        (with("resolution_minutes", json!(59)), "resolution_minutes"),
        (
            with("resolution_minutes", json!(525_601)),
            "resolution_minutes",
        ),
        (with("warning_percent", json!(0)), "warning_percent"),
        (with("warning_percent", json!(100)), "warning_percent"),
        (
            with("escalate_to_priority", json!("urgent")),
            "escalate_to_priority",
        ),
        (
            with("escalate_to_team_id", json!(999_999)),
            "escalate_to_team_id",
        ),
        (with("user_group_id", json!(999_999)), "user_group_id"),
        (with("plan_id", json!(999_999)), "plan_id"),
    ] {
        let (status, answer) = app.post("/api/v1/sla/policies", &body).await;
        assert_invalid(status, &answer, field);
    }
    // A bad calendar is reported on the calendar (or one of its parts).
    for calendar in [
        json!({"time_zone": "Mars/Olympus", "hours": [], "holidays": []}),
        json!({"time_zone": "Europe/Berlin",
               "hours": [{"day": "funday", "start": "09:00", "end": "17:00"}], "holidays": []}),
        json!({"time_zone": "Europe/Berlin",
               "hours": [{"day": "monday", "start": "17:00", "end": "09:00"}], "holidays": []}),
        json!({"time_zone": "Europe/Berlin",
               "hours": [{"day": "monday", "start": "09:00", "end": "25:00"}], "holidays": []}),
        json!({"time_zone": "Europe/Berlin",
               "hours": [{"day": "monday", "start": "09:00", "end": "17:00"}],
               "holidays": ["2027-02-30"]}),
    ] {
        let (status, answer) = app
            .post("/api/v1/sla/policies", &with("calendar", calendar.clone()))
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{calendar}: {answer}"
        );
        assert_eq!(answer["success"], json!(false));
        let errors = answer["errors"].as_object().expect("errors");
        assert!(
            !errors.is_empty() && errors.keys().all(|k| k.starts_with("calendar")),
            "{calendar}: {answer}"
        );
    }
    // "24:00" ends a day.
    let late = policy(
        &app,
        with(
            "calendar",
            json!({"time_zone": "Africa/Nairobi",
                   "hours": [{"day": "saturday", "start": "08:00", "end": "24:00"}],
                   "holidays": []}),
        ),
    )
    .await;
    assert_eq!(late["calendar"]["hours"][0]["end"], json!("24:00"));

    // Nothing refused was written; a second live general critical policy is refused.
    let (_, list) = app.get("/api/v1/sla/policies").await;
    assert_eq!(list["meta"]["total"], json!(3), "{list}");
    let (status, answer) = app
        .post(
            "/api/v1/sla/policies",
            &json!({"name": "Platinum critical", "priority": "critical",
                    "first_response_minutes": 5, "resolution_minutes": 60}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["success"], json!(false));
    let (status, answer) = app.get("/api/v1/sla/policies/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
}

async fn a_ticket_gets_the_most_specific_active_policy_of_its_priority(app: TestApp) {
    let business = team(&app, "Business customers").await;
    let plan = crate::services::plan(&app, "Fibre 500", 500.0, 100.0).await;
    let general = policy_24x7(&app, "Normal, general", "normal", 240, 2880).await;
    let for_group = id(&policy(
        &app,
        json!({"name": "Normal, business", "priority": "normal", "user_group_id": business,
               "first_response_minutes": 60, "resolution_minutes": 480}),
    )
    .await);
    let for_plan = id(&policy(
        &app,
        json!({"name": "Normal, fibre 500", "priority": "normal", "plan_id": plan,
               "first_response_minutes": 30, "resolution_minutes": 240}),
    )
    .await);
    // An inactive high policy gives nothing.
    policy(
        &app,
        json!({"name": "High, retired", "priority": "high", "active": false,
               "first_response_minutes": 10, "resolution_minutes": 60}),
    )
    .await;

    let home = id(&app.create_customer("Home", "+254711000101").await);
    let mut body = customer_body("Office", "+254711000102");
    body["user_group_id"] = json!(business);
    let (status, answer) = app.post("/api/v1/customers", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let office = id(&answer["data"]["customer"]);
    let fibre = id(&crate::services::service(&app, office, json!({"plan_id": plan})).await);
    let home_fibre = id(&crate::services::service(&app, home, json!({"plan_id": plan})).await);

    to_next_minute(&app);
    for (body, expected, first_response, resolution) in [
        (json!({"customer_id": home}), general, 240, 2880),
        (json!({"customer_id": office}), for_group, 60, 480),
        (
            json!({"customer_id": office, "service_id": fibre}),
            for_plan,
            30,
            240,
        ),
        // The plan's policy matches a customer outside the group too.
        (
            json!({"customer_id": home, "service_id": home_fibre}),
            for_plan,
            30,
            240,
        ),
    ] {
        let mut body = body;
        body["subject"] = json!("Intermittent drops");
        let opened = open_ticket(&app, body.clone()).await;
        assert_eq!(opened["sla_policy_id"], json!(expected), "{body}: {opened}");
        let start = time(&opened["created_at"]);
        assert_minute(
            &opened["first_response_due_at"],
            start + Duration::minutes(first_response),
            "first response",
        );
        assert_minute(
            &opened["resolution_due_at"],
            start + Duration::minutes(resolution),
            "resolution",
        );
    }
    let high = simple_ticket(&app, home, "high").await;
    assert_eq!(high["sla_policy_id"], json!(null), "{high}");
    assert_eq!(high["first_response_due_at"], json!(null));
    assert_eq!(high["resolution_due_at"], json!(null));
}

// ---- due times ----

async fn a_ticket_breaches_at_its_target_minute_and_not_a_minute_before(app: TestApp) {
    policy_24x7(&app, "High, around the clock", "high", 30, 240).await;
    let customer = id(&app.create_customer("Lulu", "+254711000111").await);
    to_next_minute(&app);
    let opened = simple_ticket(&app, customer, "high").await;
    let ticket_id = id(&opened);
    let start = time(&opened["created_at"]);
    // 24×7: first response 30 minutes, resolution 240 minutes after the opening.
    let first_response_due = start + Duration::minutes(30);
    let resolution_due = start + Duration::minutes(240);
    assert_minute(
        &opened["first_response_due_at"],
        first_response_due,
        "first response due",
    );
    assert_minute(
        &opened["resolution_due_at"],
        resolution_due,
        "resolution due",
    );

    // A minute before: nothing.
    advance_to(&app, first_response_due - Duration::minutes(1));
    let check = check_breaches(&app).await;
    assert_eq!(
        reported(&check, "breached_tickets", ticket_id),
        Vec::<String>::new(),
        "{check}"
    );
    assert_eq!(check["total_checked"], json!(1), "{check}");
    let shown = ticket(&app, ticket_id).await;
    assert_eq!(shown["first_response_breached"], json!(false), "{shown}");

    // At the minute (and a second): the first response is breached.
    advance_to(&app, first_response_due + Duration::seconds(1));
    let check = check_breaches(&app).await;
    assert_eq!(
        reported(&check, "breached_tickets", ticket_id),
        ["first_response"],
        "{check}"
    );
    let breach = &check["breached_tickets"][0];
    assert_eq!(breach["customer_id"], json!(customer));
    assert_minute(&breach["breach_time"], first_response_due, "breach time");
    assert_eq!(breach["overdue_minutes"], json!(0), "{breach}");
    let check_time = time(&check["check_time"]);
    assert!(check_time >= first_response_due, "{check}");
    let shown = ticket(&app, ticket_id).await;
    assert_eq!(shown["first_response_breached"], json!(true), "{shown}");
    assert_eq!(shown["resolution_breached"], json!(false), "{shown}");

    // The same for the resolution, 240 minutes in.
    advance_to(&app, resolution_due - Duration::minutes(1));
    let check = check_breaches(&app).await;
    assert_eq!(
        reported(&check, "breached_tickets", ticket_id),
        Vec::<String>::new(),
        "{check}"
    );
    advance_to(&app, resolution_due + Duration::seconds(1));
    let check = check_breaches(&app).await;
    assert_eq!(
        reported(&check, "breached_tickets", ticket_id),
        ["resolution"],
        "{check}"
    );
    let shown = ticket(&app, ticket_id).await;
    assert_eq!(shown["resolution_breached"], json!(true), "{shown}");

    // Answered late, the first response stays breached.
    reply(&app, ticket_id).await;
    let shown = ticket(&app, ticket_id).await;
    assert_eq!(shown["first_response_breached"], json!(true), "{shown}");
}

/// The first year still ahead whose calendar is 2027's (1 January a Friday, not a leap
/// year, so the same weekdays and the same last Sunday of March): the test clock only moves
/// forward, and the hand-written instants below are in such a year.
fn shaped_like_2027() -> i32 {
    let now = Utc::now();
    [2027, 2038, 2049, 2055, 2066, 2077, 2083, 2094]
        .into_iter()
        .find(|year| in_year_of(*year, "03-25T00:00:00Z") > now)
        .expect("a year shaped like 2027 before 2095")
}

fn in_year_of(year: i32, rest: &str) -> DateTime<Utc> {
    utc(&format!("{year}-{rest}"))
}

/// `MM-DDTHH:MM:SSZ` in the year of the business-hours test.
fn in_year(rest: &str) -> DateTime<Utc> {
    in_year_of(shaped_like_2027(), rest)
}

/// `MM-DD` in the year of the business-hours test.
fn in_year_date(rest: &str) -> String {
    format!("{}-{rest}", shaped_like_2027())
}

async fn business_minutes_skip_nights_weekends_holidays_and_the_dst_change(app: TestApp) {
    // Berlin office hours, Monday to Friday 09:00–17:00, in a year shaped like 2027 (see
    // `in_year`): Friday 26 March is a holiday (Good Friday in 2027); summer time starts on
    // Sunday 28 March (01:00Z: CET, UTC+1 → CEST, UTC+2).
    let with_good_friday = policy(
        &app,
        json!({"name": "Normal, office hours, Good Friday off", "priority": "normal",
               "first_response_minutes": 120, "resolution_minutes": 600,
               "calendar": berlin_office_hours(&[&in_year_date("03-26")])}),
    )
    .await;
    policy(
        &app,
        json!({"name": "High, office hours", "priority": "high",
               "first_response_minutes": 120, "resolution_minutes": 600,
               "calendar": berlin_office_hours(&[])}),
    )
    .await;
    policy(
        &app,
        json!({"name": "Low, office hours", "priority": "low",
               "first_response_minutes": 30, "resolution_minutes": 60,
               "calendar": berlin_office_hours(&[])}),
    )
    .await;
    policy(
        &app,
        json!({"name": "Critical, office hours", "priority": "critical",
               "first_response_minutes": 60, "resolution_minutes": 480,
               "calendar": berlin_office_hours(&[])}),
    )
    .await;
    let customer = id(&app.create_customer("Moritz", "+254711000121").await);

    // Thursday 25 March, 16:00 CET (15:00Z), with Good Friday off:
    // first response 120 = Thu 16–17 (60) + Mon 29 09:00–10:00 CEST (60) → 08:00Z;
    // resolution 600 = Thu 60 + Mon 480 + Tue 30 09:00–10:00 CEST (60) → 08:00Z.
    advance_to(&app, in_year("03-25T15:00:00Z"));
    let thursday = open_ticket(
        &app,
        json!({"customer_id": customer, "subject": "Thursday", "priority": "normal"}),
    )
    .await;
    assert_eq!(thursday["sla_policy_id"], json!(id(&with_good_friday)));
    assert_minute(
        &thursday["first_response_due_at"],
        in_year("03-29T08:00:00Z"),
        "Thursday's first response",
    );
    assert_minute(
        &thursday["resolution_due_at"],
        in_year("03-30T08:00:00Z"),
        "Thursday's resolution",
    );

    // Friday 26 March, 16:00 CET (15:00Z), no holiday:
    // first response 120 = Fri 16–17 (60) + Mon 09:00–10:00 CEST (60) → Mon 08:00Z;
    // resolution 600 = Fri 60 + Mon 480 + Tue 60 → Tue 10:00 CEST = 08:00Z.
    advance_to(&app, in_year("03-26T15:00:00Z"));
    let friday = open_ticket(
        &app,
        json!({"customer_id": customer, "subject": "Friday", "priority": "high"}),
    )
    .await;
    assert_minute(
        &friday["first_response_due_at"],
        in_year("03-29T08:00:00Z"),
        "Friday's first response",
    );
    assert_minute(
        &friday["resolution_due_at"],
        in_year("03-30T08:00:00Z"),
        "Friday's resolution",
    );

    // Saturday 27 March, 12:00 CET (11:00Z): the clocks start on Monday 09:00 CEST
    // (07:00Z): first response 30 → 07:30Z, resolution 60 → 08:00Z.
    advance_to(&app, in_year("03-27T11:00:00Z"));
    let saturday = open_ticket(
        &app,
        json!({"customer_id": customer, "subject": "Saturday", "priority": "low"}),
    )
    .await;
    assert_minute(
        &saturday["first_response_due_at"],
        in_year("03-29T07:30:00Z"),
        "Saturday's first response",
    );
    assert_minute(
        &saturday["resolution_due_at"],
        in_year("03-29T08:00:00Z"),
        "Saturday's resolution",
    );

    // The check agrees: at 09:59 CEST on Monday nothing of Thursday's or Friday's, at
    // 10:00 both first responses.
    let (thursday, friday, saturday) = (id(&thursday), id(&friday), id(&saturday));
    advance_to(&app, in_year("03-29T07:59:00Z"));
    let check = check_breaches(&app).await;
    for ticket_id in [thursday, friday] {
        assert_eq!(
            reported(&check, "breached_tickets", ticket_id),
            Vec::<String>::new(),
            "{check}"
        );
    }
    assert_eq!(
        reported(&check, "breached_tickets", saturday),
        ["first_response"],
        "{check}"
    );
    advance_to(&app, in_year("03-29T08:00:01Z"));
    let check = check_breaches(&app).await;
    for ticket_id in [thursday, friday] {
        assert_eq!(
            reported(&check, "breached_tickets", ticket_id),
            ["first_response"],
            "{check}"
        );
    }
    assert_eq!(
        reported(&check, "breached_tickets", saturday),
        ["resolution"],
        "{check}"
    );

    // Monday 29 March, 16:30 CEST (14:30Z): first response 60 = Mon 16:30–17:00 (30) +
    // Tue 09:00–09:30 CEST (30) → Tue 07:30Z; resolution 480 = 30 + Tue 09:00–16:30 (450)
    // → Tue 16:30 CEST = 14:30Z.
    advance_to(&app, in_year("03-29T14:30:00Z"));
    let monday = open_ticket(
        &app,
        json!({"customer_id": customer, "subject": "Monday", "priority": "critical"}),
    )
    .await;
    assert_minute(
        &monday["first_response_due_at"],
        in_year("03-30T07:30:00Z"),
        "Monday's first response",
    );
    assert_minute(
        &monday["resolution_due_at"],
        in_year("03-30T14:30:00Z"),
        "Monday's resolution",
    );
}

async fn waiting_on_the_customer_stops_the_clocks_for_exactly_the_minutes_waited(app: TestApp) {
    policy_24x7(&app, "Normal, pausing", "normal", 60, 480).await;
    let not_pausing = policy(
        &app,
        json!({"name": "Low, never pausing", "priority": "low", "calendar": null,
               "first_response_minutes": 60, "resolution_minutes": 480,
               "pause_while_waiting": false}),
    )
    .await;
    assert_eq!(not_pausing["pause_while_waiting"], json!(false));
    let customer = id(&app.create_customer("Nadia", "+254711000131").await);
    to_next_minute(&app);
    let pausing = simple_ticket(&app, customer, "normal").await;
    let running = simple_ticket(&app, customer, "low").await;
    let (pausing_start, running_start) =
        (time(&pausing["created_at"]), time(&running["created_at"]));
    let (pausing, running) = (id(&pausing), id(&running));

    // Ten minutes in, both wait on the customer; only the pausing policy stops the clocks.
    advance_to(&app, pausing_start + Duration::minutes(10));
    let waiting = set_status(&app, pausing, "waiting_on_customer").await;
    assert_eq!(waiting["sla_paused"], json!(true), "{waiting}");
    let not_waiting = set_status(&app, running, "waiting_on_customer").await;
    assert_eq!(not_waiting["sla_paused"], json!(false), "{not_waiting}");

    // Sixty minutes later both first-response due times have passed on the wall clock,
    // but only the running one is breached.
    advance_to(&app, pausing_start + Duration::minutes(70));
    let check = check_breaches(&app).await;
    assert_eq!(
        reported(&check, "breached_tickets", pausing),
        Vec::<String>::new(),
        "{check}"
    );
    assert_eq!(
        reported(&check, "breached_tickets", running),
        ["first_response"],
        "{check}"
    );

    // Back to open after 60 paused minutes: both due times move 60 minutes later.
    let back = set_status(&app, pausing, "open").await;
    assert_eq!(back["sla_paused"], json!(false), "{back}");
    assert_minute(
        &back["first_response_due_at"],
        pausing_start + Duration::minutes(60 + 60),
        "paused first response",
    );
    assert_minute(
        &back["resolution_due_at"],
        pausing_start + Duration::minutes(480 + 60),
        "paused resolution",
    );
    let same = set_status(&app, running, "open").await;
    assert_minute(
        &same["first_response_due_at"],
        running_start + Duration::minutes(60),
        "unpaused first response",
    );
    assert_minute(
        &same["resolution_due_at"],
        running_start + Duration::minutes(480),
        "unpaused resolution",
    );

    // A second pause of 45 minutes, ended by the customer's reply, adds 45 more; the
    // answered first response no longer moves.
    reply(&app, pausing).await;
    let answered = ticket(&app, pausing).await;
    set_status(&app, pausing, "waiting_on_customer").await;
    app.clock.advance(Duration::minutes(45));
    comment(
        &app,
        pausing,
        json!({"body": "Here is the photo.", "from_customer": true}),
    )
    .await;
    let resumed = ticket(&app, pausing).await;
    assert_eq!(resumed["status"], json!("open"));
    assert_eq!(resumed["sla_paused"], json!(false));
    assert_eq!(
        resumed["first_response_due_at"],
        answered["first_response_due_at"]
    );
    assert_minute(
        &resumed["resolution_due_at"],
        pausing_start + Duration::minutes(480 + 60 + 45),
        "twice paused resolution",
    );

    // Resolving stops the clocks too.
    let resolved = set_status(&app, pausing, "resolved").await;
    assert_eq!(resolved["sla_paused"], json!(true), "{resolved}");
}

async fn a_priority_change_recomputes_the_due_times_from_the_opening(app: TestApp) {
    policy_24x7(&app, "Normal, two hours", "normal", 120, 1440).await;
    let critical = policy_24x7(&app, "Critical, fifteen minutes", "critical", 15, 240).await;
    let customer = id(&app.create_customer("Otieno", "+254711000141").await);
    to_next_minute(&app);
    let opened = simple_ticket(&app, customer, "normal").await;
    let start = time(&opened["created_at"]);
    assert_minute(
        &opened["first_response_due_at"],
        start + Duration::minutes(120),
        "normal first response",
    );
    assert_minute(
        &opened["resolution_due_at"],
        start + Duration::minutes(1440),
        "normal resolution",
    );

    // Five minutes later it turns critical: the due times count from the opening.
    app.clock.advance(Duration::minutes(5));
    let raised = change(&app, id(&opened), json!({"priority": "critical"})).await;
    assert_eq!(raised["priority"], json!("critical"));
    assert_eq!(raised["sla_policy_id"], json!(critical));
    assert_minute(
        &raised["first_response_due_at"],
        start + Duration::minutes(15),
        "critical first response",
    );
    assert_minute(
        &raised["resolution_due_at"],
        start + Duration::minutes(240),
        "critical resolution",
    );
    assert_eq!(raised["created_at"], opened["created_at"]);
    assert_eq!(ticket(&app, id(&opened)).await, raised);

    // Lowered again, the normal targets return.
    let lowered = change(&app, id(&opened), json!({"priority": "normal"})).await;
    assert_minute(
        &lowered["first_response_due_at"],
        start + Duration::minutes(120),
        "normal again",
    );
    assert_minute(
        &lowered["resolution_due_at"],
        start + Duration::minutes(1440),
        "normal again",
    );
}

// ---- the breach check ----

async fn each_breach_and_warning_is_reported_and_emitted_once(app: TestApp) {
    policy(
        &app,
        json!({"name": "High, warned at half", "priority": "high", "calendar": null,
               "first_response_minutes": 10, "resolution_minutes": 20,
               "warning_percent": 50}),
    )
    .await;
    let first_customer = id(&app.create_customer("Pendo", "+254711000151").await);
    let second_customer = id(&app.create_customer("Rehema", "+254711000152").await);
    to_next_minute(&app);
    let first = simple_ticket(&app, first_customer, "high").await;
    let second = simple_ticket(&app, second_customer, "high").await;
    let start = time(&first["created_at"]);
    let (first, second) = (id(&first), id(&second));
    let both = [first, second];

    let counts = async |event_type: &str| -> Vec<usize> {
        let found = events(&app, &[event_type]).await;
        both.iter()
            .map(|ticket| count_of(&found, event_type, *ticket))
            .collect()
    };

    // Five minutes and ten seconds in: half of the first response is gone, a warning each.
    advance_to(&app, start + Duration::minutes(5) + Duration::seconds(10));
    let check = check_breaches(&app).await;
    assert_eq!(check["total_checked"], json!(2), "{check}");
    assert_eq!(check["breached_tickets"], json!([]), "{check}");
    for ticket_id in both {
        assert_eq!(
            reported(&check, "warnings_issued", ticket_id),
            ["first_response"],
            "{check}"
        );
    }
    for warning in check["warnings_issued"].as_array().unwrap() {
        // Four minutes and fifty seconds left: 4 or 5, as the minutes are counted.
        let left = warning["time_remaining_minutes"].as_i64().expect("minutes");
        assert!((4..=5).contains(&left), "{warning}");
    }
    let warning = check["warnings_issued"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["ticket_id"] == json!(second))
        .unwrap();
    assert_eq!(warning["customer_id"], json!(second_customer));
    assert_eq!(counts("sla.warning").await, [1, 1]);
    // Run again: nothing new, nothing emitted.
    let again = check_breaches(&app).await;
    assert_eq!(again["breached_tickets"], json!([]), "{again}");
    assert_eq!(again["warnings_issued"], json!([]), "{again}");
    assert_eq!(counts("sla.warning").await, [1, 1]);

    // Ten minutes and ten seconds in: the first responses are breached, and half of the
    // resolution is gone.
    advance_to(&app, start + Duration::minutes(10) + Duration::seconds(10));
    let check = check_breaches(&app).await;
    for ticket_id in both {
        assert_eq!(
            reported(&check, "breached_tickets", ticket_id),
            ["first_response"],
            "{check}"
        );
        assert_eq!(
            reported(&check, "warnings_issued", ticket_id),
            ["resolution"],
            "{check}"
        );
    }
    assert_eq!(counts("sla.breached").await, [1, 1]);
    assert_eq!(counts("sla.warning").await, [2, 2]);
    let again = check_breaches(&app).await;
    assert_eq!(again["breached_tickets"], json!([]), "{again}");
    assert_eq!(again["warnings_issued"], json!([]), "{again}");
    assert_eq!(counts("sla.breached").await, [1, 1]);
    assert_eq!(counts("sla.warning").await, [2, 2]);

    // Twenty minutes and ten seconds in: the resolutions, once.
    advance_to(&app, start + Duration::minutes(20) + Duration::seconds(10));
    let check = check_breaches(&app).await;
    for ticket_id in both {
        assert_eq!(
            reported(&check, "breached_tickets", ticket_id),
            ["resolution"],
            "{check}"
        );
    }
    assert_eq!(check["warnings_issued"], json!([]), "{check}");
    let breach = check["breached_tickets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["ticket_id"] == json!(first))
        .unwrap();
    assert_eq!(breach["overdue_minutes"], json!(0), "{breach}");
    assert_eq!(breach["customer_id"], json!(first_customer));
    let again = check_breaches(&app).await;
    assert_eq!(again["breached_tickets"], json!([]), "{again}");
    assert_eq!(counts("sla.breached").await, [2, 2]);
    assert_eq!(counts("sla.warning").await, [2, 2]);

    // The events carry the ticket, flagged.
    let breached = events(&app, &["sla.breached"]).await;
    let last = crate::tickets::event_data(breached.last().unwrap());
    assert_eq!(last["resolution_breached"], json!(true), "{last}");
    assert_eq!(last["first_response_breached"], json!(true), "{last}");
    assert_eq!(breached.last().unwrap().resource_type, "ticket");
}

async fn a_breach_escalates_the_ticket_and_reaches_a_webhook_signed(app: TestApp) {
    let escalations = team(&app, "Escalations").await;
    policy(
        &app,
        json!({"name": "High, escalating", "priority": "high", "calendar": null,
               "first_response_minutes": 10, "resolution_minutes": 600,
               "escalate_to_priority": "critical", "escalate_to_team_id": escalations}),
    )
    .await;
    let hooks = Receiver::start().await;
    let url = hooks.url();
    let (status, answer) = app
        .post(
            "/api/v1/webhooks",
            &json!({"url": url, "events": ["sla.breached"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let secret = answer["data"]["webhook"]["secret"]
        .as_str()
        .expect("the secret")
        .to_owned();
    let customer = id(&app.create_customer("Saida", "+254711000161").await);
    to_next_minute(&app);
    let opened = simple_ticket(&app, customer, "high").await;
    assert_eq!(opened["team_id"], json!(null));
    let ticket_id = id(&opened);
    let start = time(&opened["created_at"]);

    // Past the first response: the check reports the breach (unless the scheduled run of
    // the same check got there a moment earlier) and escalates the ticket once.
    advance_to(&app, start + Duration::minutes(10) + Duration::seconds(30));
    let check = check_breaches(&app).await;
    let escalated = ticket(&app, ticket_id).await;
    if reported(&check, "breached_tickets", ticket_id).is_empty() {
        assert_eq!(
            escalated["first_response_breached"],
            json!(true),
            "neither this check nor the scheduled one saw the breach: {check}"
        );
    } else {
        assert_eq!(
            reported(&check, "breached_tickets", ticket_id),
            ["first_response"]
        );
    }
    assert_eq!(escalated["priority"], json!("critical"), "{escalated}");
    assert_eq!(escalated["team_id"], json!(escalations), "{escalated}");
    assert_eq!(escalated["escalation_level"], json!(1), "{escalated}");
    assert_eq!(escalated["first_response_breached"], json!(true));
    let escalated_at = time(&escalated["escalated_at"]);
    assert!(escalated_at >= start + Duration::minutes(10), "{escalated}");
    assert!(escalated_at <= now(&app), "{escalated}");

    // Another check changes nothing.
    let again = check_breaches(&app).await;
    assert_eq!(
        reported(&again, "breached_tickets", ticket_id),
        Vec::<String>::new()
    );
    assert_eq!(ticket(&app, ticket_id).await["escalation_level"], json!(1));
    let found = events(&app, &["ticket.escalated", "sla.breached"]).await;
    assert_eq!(count_of(&found, "ticket.escalated", ticket_id), 1);
    assert_eq!(count_of(&found, "sla.breached", ticket_id), 1);
    let escalation = found
        .iter()
        .find(|e| e.r#type == "ticket.escalated")
        .unwrap();
    let data = crate::tickets::event_data(escalation);
    assert_eq!(data["priority"], json!("critical"), "{data}");
    assert_eq!(data["escalation_level"].as_f64(), Some(1.0), "{data}");

    // The breach reaches the endpoint, signed with its secret.
    let delivered = hooks.wait_for(1, "the sla.breached delivery").await;
    let request = &delivered[0];
    assert_eq!(request.header("x-isp-event"), "sla.breached");
    assert_eq!(request.header("content-type"), "application/json");
    let body = request.json();
    assert_eq!(body["type"], json!("sla.breached"), "{body}");
    assert_eq!(body["data"]["id"], json!(ticket_id), "{body}");
    assert_eq!(body["data"]["customer_id"], json!(customer), "{body}");
    assert_eq!(body["id"].as_str(), Some(request.header("webhook-id")));
    assert_signed_with(request, &secret);
    // Another secret's signature would not match.
    let other = format!("whsec_{}", STANDARD.encode([7u8; 32]));
    let (id_header, stamp) = (
        request.header("webhook-id"),
        request.header("webhook-timestamp"),
    );
    assert_ne!(
        request.header("webhook-signature"),
        standard_signature(&other, id_header, stamp, &request.body)
    );
    // One breach, one delivery.
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    assert_eq!(hooks.requests().len(), 1);
}

// ---- metrics ----

/// One ticket of the metrics set: when (minutes after its opening) it gets its first
/// public reply, when the breach check runs, when it is resolved, and how long the
/// clock runs on before the next ticket is opened.
struct Life {
    priority: &'static str,
    reply: Option<i64>,
    check: Option<i64>,
    resolve: Option<i64>,
    until: i64,
}

const fn life(
    priority: &'static str,
    reply: Option<i64>,
    check: Option<i64>,
    resolve: Option<i64>,
    until: i64,
) -> Life {
    Life {
        priority,
        reply,
        check,
        resolve,
        until,
    }
}

async fn performance_metrics_are_the_hand_computed_numbers(app: TestApp) {
    // Targets (24×7, minutes): first response / resolution.
    //   critical 15 / 60, high 30 / 120, normal 60 / 240 (escalates to a team), low 120 / 480.
    let escalations = team(&app, "Escalations").await;
    policy_24x7(&app, "Critical 15/60", "critical", 15, 60).await;
    policy_24x7(&app, "High 30/120", "high", 30, 120).await;
    policy(
        &app,
        json!({"name": "Normal 60/240", "priority": "normal", "calendar": null,
               "first_response_minutes": 60, "resolution_minutes": 240,
               "escalate_to_team_id": escalations}),
    )
    .await;
    policy_24x7(&app, "Low 120/480", "low", 120, 480).await;
    let customer = id(&app.create_customer("Tumaini", "+254711000171").await);

    // A ticket opened 31 days before the others is outside a 30-day period.
    let old = simple_ticket(&app, customer, "low").await;
    reply(&app, id(&old)).await;
    set_status(&app, id(&old), "resolved").await;
    let (_, body) = app.get("/api/v1/sla/performance-metrics").await;
    assert_eq!(body["data"]["total_tickets"], json!(1), "{body}");
    app.clock.advance(Duration::days(31));
    let (_, body) = app.get("/api/v1/sla/performance-metrics").await;
    assert_eq!(body["data"]["total_tickets"], json!(0), "{body}");

    // Twenty tickets, one after the other (minutes after each one's opening; the next
    // ticket is opened after the last step, or at "next at"):
    //
    //  #   priority  reply  check  resolved  next at  first response   resolution      breached
    //  C1  critical   10      -       50        -     in time          in time         no
    //  C2  critical    5      -       30        -     in time          in time         no
    //  C3  critical   20      -       55        -     late (>15)       in time         yes
    //  C4  critical   10      -       90        -     in time          late (>60)      yes
    //  C5  critical    -      -        -       61     unanswered, due  unresolved, due yes
    //  H1  high       20      -      100        -     in time          in time         no
    //  H2  high       25      -      110        -     in time          in time         no
    //  H3  high       40      -      100        -     late (>30)       in time         yes
    //  H4  high       10      -      200        -     in time          late (>120)     yes
    //  H5  high       15      -       60        -     in time          in time         no
    //  N1  normal     30      -      200        -     in time          in time         no
    //  N2  normal     50      -      230        -     in time          in time         no
    //  N4  normal     45     241     300        -     in time          late, escalated yes
    //  N5  normal     20      -      100        -     in time          in time         no
    //  N3  normal      -      61       -        -     unanswered, escalated            yes
    //  L1  low        60      -      400        -     in time          in time         no
    //  L2  low       130      -      300        -     late (>120)      in time         yes
    //  L3  low       100      -      471        -     in time          in time         no
    //  L4  low        90      -        -        -     in time          not yet due     no
    //  L5  low         -      -        -        -     not yet due      not yet due     no
    //
    // Total 20; breached 8 (C3 C4 C5 H3 H4 N4 N3 L2); within 12; compliance 12/20 = 60.00.
    // First response: late or unanswered past due C3 C5 H3 N3 L2 → 15/20 = 75.00.
    // Average first response over the 17 answered:
    //   C 10+5+20+10 = 45, H 20+25+40+10+15 = 110, N 30+50+45+20 = 145,
    //   L 60+130+100+90 = 380; 680 / 17 = 40.00.
    // Average resolution over the 16 resolved:
    //   C 50+30+55+90 = 225, H 100+110+100+200+60 = 570, N 200+230+300+100 = 830,
    //   L 400+300+471 = 1171; 2796 / 16 = 174.75.
    // Escalated N4, N3: 2/20 = 10.00.
    // By priority: critical 5, within 2 (40.00); high 5, within 3 (60.00);
    //   normal 5, within 3 (60.00); low 5, within 4 (80.00).
    //
    // The N3 check is the last one, so N3 escalates once; the N4 check runs before N3 is
    // opened. Counting back from the end: L5 0, L4 90, L3 561, L2 861, L1 1261, N3 1322,
    // N5 1422, N4 1722 minutes before; so the last day (1440 minutes) holds
    // N5 N3 L1 L2 L3 L4 L5: 7 tickets, breached N3 L2, within 5 → 71.43; first response
    // 5/7 → 71.43; escalated N3 → 1/7 = 14.29; normal 2, within 1 (50.00); low 5, within
    // 4 (80.00); critical and high none (100.00).
    let lives = [
        life("critical", Some(10), None, Some(50), 0),
        life("critical", Some(5), None, Some(30), 0),
        life("critical", Some(20), None, Some(55), 0),
        life("critical", Some(10), None, Some(90), 0),
        life("critical", None, None, None, 61),
        life("high", Some(20), None, Some(100), 0),
        life("high", Some(25), None, Some(110), 0),
        life("high", Some(40), None, Some(100), 0),
        life("high", Some(10), None, Some(200), 0),
        life("high", Some(15), None, Some(60), 0),
        life("normal", Some(30), None, Some(200), 0),
        life("normal", Some(50), None, Some(230), 0),
        life("normal", Some(45), Some(241), Some(300), 0),
        life("normal", Some(20), None, Some(100), 0),
        life("normal", None, Some(61), None, 0),
        life("low", Some(60), None, Some(400), 0),
        life("low", Some(130), None, Some(300), 0),
        life("low", Some(100), None, Some(471), 0),
        life("low", Some(90), None, None, 0),
        life("low", None, None, None, 0),
    ];
    let mut escalated = Vec::new();
    for life in &lives {
        let opened = simple_ticket(&app, customer, life.priority).await;
        let ticket_id = id(&opened);
        let start = time(&opened["created_at"]);
        let mut steps: Vec<(i64, &str)> = Vec::new();
        steps.extend(life.reply.map(|m| (m, "reply")));
        steps.extend(life.check.map(|m| (m, "check")));
        steps.extend(life.resolve.map(|m| (m, "resolve")));
        steps.sort_unstable();
        for (minutes, step) in steps {
            advance_to(&app, start + Duration::minutes(minutes));
            match step {
                "reply" => {
                    reply(&app, ticket_id).await;
                }
                "check" => {
                    let check = check_breaches(&app).await;
                    assert!(
                        !reported(&check, "breached_tickets", ticket_id).is_empty(),
                        "{check}"
                    );
                    escalated.push(ticket_id);
                }
                _ => {
                    set_status(&app, ticket_id, "resolved").await;
                }
            }
        }
        if life.until > 0 {
            advance_to(&app, start + Duration::minutes(life.until));
        }
    }
    for ticket_id in &escalated {
        let shown = ticket(&app, *ticket_id).await;
        assert_eq!(shown["escalation_level"], json!(1), "{shown}");
        assert_eq!(shown["team_id"], json!(escalations), "{shown}");
        assert_eq!(shown["priority"], json!("normal"), "{shown}");
    }

    let (status, body) = app
        .get("/api/v1/sla/performance-metrics?period_days=30")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], json!(true));
    let metrics = &body["data"];
    assert_eq!(metrics["period_days"], json!(30), "{metrics}");
    let end = time(&metrics["period_end"]);
    assert!((now(&app) - end).abs() < Duration::seconds(30), "{metrics}");
    assert_eq!(
        minute(time(&metrics["period_start"])),
        minute(end - Duration::days(30))
    );
    assert_eq!(metrics["total_tickets"], json!(20), "{metrics}");
    assert_eq!(metrics["tickets_within_sla"], json!(12), "{metrics}");
    assert_eq!(metrics["tickets_breached"], json!(8), "{metrics}");
    assert_rate(metrics, "sla_compliance_rate", 60.0);
    assert_rate(metrics, "first_response_compliance_rate", 75.0);
    assert_rate(metrics, "escalation_rate", 10.0);
    // Wall-clock averages: the clock's minutes plus the milliseconds the calls took.
    assert_average(metrics, "average_first_response_time_minutes", 40.0);
    assert_average(metrics, "average_resolution_time_minutes", 174.75);
    for (priority, total, within, rate) in [
        ("critical", 5, 2, 40.0),
        ("high", 5, 3, 60.0),
        ("normal", 5, 3, 60.0),
        ("low", 5, 4, 80.0),
    ] {
        let of = &metrics["by_priority"][priority];
        assert_eq!(of["total"], json!(total), "{priority}: {metrics}");
        assert_eq!(of["within_sla"], json!(within), "{priority}: {metrics}");
        assert_rate(of, "compliance_rate", rate);
    }

    // The last day.
    let (status, body) = app
        .get("/api/v1/sla/performance-metrics?period_days=1")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let day = &body["data"];
    assert_eq!(day["period_days"], json!(1));
    assert_eq!(day["total_tickets"], json!(7), "{day}");
    assert_eq!(day["tickets_within_sla"], json!(5), "{day}");
    assert_eq!(day["tickets_breached"], json!(2), "{day}");
    assert_rate(day, "sla_compliance_rate", 71.43);
    assert_rate(day, "first_response_compliance_rate", 71.43);
    assert_rate(day, "escalation_rate", 14.29);
    for (priority, total, within, rate) in [
        ("critical", 0, 0, 100.0),
        ("high", 0, 0, 100.0),
        ("normal", 2, 1, 50.0),
        ("low", 5, 4, 80.0),
    ] {
        let of = &day["by_priority"][priority];
        assert_eq!(of["total"], json!(total), "{priority}: {day}");
        assert_eq!(of["within_sla"], json!(within), "{priority}: {day}");
        assert_rate(of, "compliance_rate", rate);
    }
}

/// A rate of two decimals equals the hand-computed one.
#[track_caller]
fn assert_rate(metrics: &Value, field: &str, expected: f64) {
    let actual = number(&metrics[field]);
    assert!(
        (actual - expected).abs() < 0.001,
        "{field}: {actual}, expected {expected}: {metrics}"
    );
}

/// A wall-clock average is the hand-computed one, within three seconds.
#[track_caller]
fn assert_average(metrics: &Value, field: &str, expected: f64) {
    let actual = number(&metrics[field]);
    assert!(
        (actual - expected).abs() < 0.05,
        "{field}: {actual}, expected {expected}: {metrics}"
    );
}

async fn bad_metric_periods_are_refused(app: TestApp) {
    let (status, body) = app.get("/api/v1/sla/performance-metrics").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let metrics = &body["data"];
    assert_eq!(metrics["period_days"], json!(30), "the default: {body}");
    assert_eq!(metrics["total_tickets"], json!(0));
    assert_rate(metrics, "sla_compliance_rate", 100.0);
    assert_rate(metrics, "first_response_compliance_rate", 100.0);
    assert_eq!(metrics["average_resolution_time_minutes"], json!(null));
    assert_eq!(metrics["average_first_response_time_minutes"], json!(null));
    let (status, body) = app
        .get("/api/v1/sla/performance-metrics?period_days=365")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["period_days"], json!(365));

    for period in ["0", "366"] {
        let (status, body) = app
            .get(&format!(
                "/api/v1/sla/performance-metrics?period_days={period}"
            ))
            .await;
        assert_invalid(status, &body, "period_days");
    }
    let (status, body) = app
        .get("/api/v1/sla/performance-metrics?period_days=x")
        .await;
    assert!(
        status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY,
        "{status}: {body}"
    );
    assert_eq!(body["success"], json!(false), "{body}");
}

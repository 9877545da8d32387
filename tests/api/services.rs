//! Services as clients see them, and the RADIUS rows each state writes in the same
//! transaction: created active with generated credentials, suspended (reject), restored,
//! terminated (no rows), cascaded from the customer, activated on schedule, moved to
//! another plan, and found by login. Expected rows are written out here by hand.

use std::time::{Duration, Instant};

use lastmile_core::identity::Role;
use lastmile_core::radius_rows::RadiusRow;
use lastmile_core::services::radius::{UserRows, stored};
use lastmile_tests::{StatusCode, TestApp, engine_tests, json, send};
use serde_json::Value;

engine_tests!(
    a_new_service_gets_a_login_from_the_portal_id_and_its_radius_rows,
    bad_service_fields_are_reported_on_each_field,
    suspension_rejects_and_termination_removes_the_rows,
    a_customer_suspension_suspends_its_services_and_activation_restores_exactly_those,
    a_scheduled_activation_happens_on_time,
    a_plan_change_now_moves_the_group_and_next_period_waits,
    services_are_found_by_login_by_customer_and_as_subscriptions,
    passwords_are_shown_only_to_roles_that_may_see_them,
    a_hand_edited_row_is_drift_until_reconciled,
);

/// A plan of `down`/`up` Mbit/s; answers its id.
pub(crate) async fn plan(app: &TestApp, name: &str, down: f64, up: f64) -> i64 {
    let body = json!({"name": name, "speed_download_mbps": down, "speed_upload_mbps": up,
        "monthly_fee": 30.0, "billing_period_months": 1});
    let (status, body) = app.post("/api/v1/plans", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["data"]["plan"]["id"].as_i64().expect("plan id")
}

/// A customer; answers (id, portal id).
pub(crate) async fn customer(app: &TestApp, name: &str, phone: &str) -> (i64, String) {
    let customer = app.create_customer(name, phone).await;
    (
        customer["id"].as_i64().expect("customer id"),
        customer["portal_id"]
            .as_str()
            .expect("portal id")
            .to_owned(),
    )
}

/// Creates a service for `customer` with `body`; answers the service.
pub(crate) async fn service(app: &TestApp, customer: i64, body: Value) -> Value {
    let path = format!("/api/v1/customers/{customer}/services/internet");
    let (status, body) = app.post(&path, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["data"]["service"].clone()
}

/// The RADIUS rows of `username`, sorted.
pub(crate) async fn rows(app: &TestApp, username: &str) -> UserRows {
    stored(&mut app.core().db.conn(), username)
        .await
        .expect("read RADIUS rows")
        .normalized()
}

fn row(attribute: &str, op: &str, value: &str) -> RadiusRow {
    RadiusRow::new(attribute, op, value)
}

/// What an active service of `plan` with `password` and nothing else must have.
fn active_rows(plan: i64, password: &str) -> UserRows {
    UserRows {
        check: vec![
            row("Cleartext-Password", ":=", password),
            row("Simultaneous-Use", ":=", "1"),
        ],
        reply: vec![],
        groups: vec![(format!("plan-{plan}"), 1)],
    }
    .normalized()
}

fn suspended_rows() -> UserRows {
    UserRows {
        check: vec![row("Auth-Type", ":=", "Reject")],
        ..UserRows::default()
    }
}

async fn act(app: &TestApp, id: i64, action: &str) -> (StatusCode, Value) {
    app.post(&format!("/api/v1/services/{id}/{action}"), &json!({}))
        .await
}

async fn a_new_service_gets_a_login_from_the_portal_id_and_its_radius_rows(app: TestApp) {
    let plan = plan(&app, "Home 100", 100.0, 10.0).await;
    let (customer, portal_id) = customer(&app, "Alice", "+15550000101").await;
    let service = service(&app, customer, json!({"plan_id": plan})).await;
    assert_eq!(service["username"], json!(portal_id));
    assert_eq!(service["status"], json!("active"));
    assert_eq!(service["plan_id"], json!(plan));
    assert_eq!(service["profile_name"], json!("Home 100"));
    assert_eq!(service["speed_download_mbps"], json!(100.0));
    assert_eq!(service["speed_upload_mbps"], json!(10.0));
    let password = service["password"]
        .as_str()
        .expect("password shown to admins");
    assert_eq!(password.len(), 12);
    assert_eq!(rows(&app, &portal_id).await, active_rows(plan, password));

    // A second service of the same customer gets the next free login.
    let second = self::service(&app, customer, json!({"plan_id": plan})).await;
    assert_eq!(second["username"], json!(format!("{portal_id}-2")));

    // Given credentials, a MAC in another notation, an override and a VLAN.
    let third = self::service(
        &app,
        customer,
        json!({"plan_id": plan, "username": "alice@isp.example", "password": "s3cret!",
            "mac": "aa-bb-cc-00-11-22", "speed_download_mbps": 50.5, "vlan_id": 120,
            "installation_address": "1 Main St", "notes": "roof antenna"}),
    )
    .await;
    assert_eq!(third["mac"], json!("AA:BB:CC:00:11:22"));
    assert_eq!(third["speed_download_mbps"], json!(50.5));
    assert_eq!(third["speed_upload_mbps"], json!(10.0));
    assert_eq!(third["speed_override"], json!(true));
    assert_eq!(third["vlan_id"], json!(120));
    let expected = UserRows {
        check: vec![
            row("Cleartext-Password", ":=", "s3cret!"),
            row("Simultaneous-Use", ":=", "1"),
            row("Calling-Station-Id", "==", "AA:BB:CC:00:11:22"),
        ],
        reply: vec![
            row("Mikrotik-Rate-Limit", ":=", "10M/50500k"),
            row("WISPr-Bandwidth-Max-Down", ":=", "50500000"),
            row("WISPr-Bandwidth-Max-Up", ":=", "10000000"),
        ],
        groups: vec![(format!("plan-{plan}"), 1)],
    }
    .normalized();
    assert_eq!(rows(&app, "alice@isp.example").await, expected);
}

async fn bad_service_fields_are_reported_on_each_field(app: TestApp) {
    let plan = plan(&app, "Basic", 10.0, 2.0).await;
    let (customer, _) = customer(&app, "Bob", "+15550000102").await;
    let path = format!("/api/v1/customers/{customer}/services/internet");
    let (status, body) = app
        .post(
            &path,
            &json!({"plan_id": plan, "username": "bob smith", "mac": "not-a-mac",
                "vlan_id": 5000, "speed_download_mbps": 10.1234, "password": "a b"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    for field in [
        "username",
        "mac",
        "vlan_id",
        "speed_download_mbps",
        "password",
    ] {
        assert!(body["errors"][field].is_array(), "{field}: {body}");
    }

    let (status, body) = app.post(&path, &json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["errors"]["plan_id"][0],
        json!("The plan id field is required.")
    );

    let (status, body) = app.post(&path, &json!({"plan_id": 999_999})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["errors"]["plan_id"][0],
        json!("The selected plan id is invalid.")
    );

    service(
        &app,
        customer,
        json!({"plan_id": plan, "username": "taken"}),
    )
    .await;
    let (status, body) = app
        .post(&path, &json!({"plan_id": plan, "username": "taken"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["errors"]["username"][0],
        json!("A service with this username already exists.")
    );

    let (status, _) = app
        .post(
            "/api/v1/customers/99999999/services/internet",
            &json!({"plan_id": plan}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn suspension_rejects_and_termination_removes_the_rows(app: TestApp) {
    let plan = plan(&app, "Basic", 10.0, 2.0).await;
    let (customer, _) = customer(&app, "Carol", "+15550000103").await;
    let service = service(
        &app,
        customer,
        json!({"plan_id": plan, "password": "pw1234"}),
    )
    .await;
    let (id, username) = (
        service["id"].as_i64().unwrap(),
        service["username"].as_str().unwrap(),
    );

    let (status, body) = act(&app, id, "suspend").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["service"]["status"], json!("suspended"));
    assert_eq!(rows(&app, username).await, suspended_rows());

    let (status, body) = act(&app, id, "suspend").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let (status, _) = act(&app, id, "unsuspend").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rows(&app, username).await, active_rows(plan, "pw1234"));

    let (status, body) = act(&app, id, "terminate").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["service"]["status"], json!("terminated"));
    assert_eq!(rows(&app, username).await, UserRows::default());
    let (status, _) = act(&app, id, "unsuspend").await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Deleting takes it out of lists and lookups.
    let (status, _) = app.delete(&format!("/api/v1/services/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get(&format!("/api/v1/services/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn a_customer_suspension_suspends_its_services_and_activation_restores_exactly_those(
    app: TestApp,
) {
    let plan = plan(&app, "Basic", 10.0, 2.0).await;
    let (customer, _) = customer(&app, "Dave", "+15550000104").await;
    let one = service(
        &app,
        customer,
        json!({"plan_id": plan, "password": "pw-one"}),
    )
    .await;
    let two = service(
        &app,
        customer,
        json!({"plan_id": plan, "password": "pw-two"}),
    )
    .await;
    let (one_id, one_name) = (
        one["id"].as_i64().unwrap(),
        one["username"].as_str().unwrap(),
    );
    let two_name = two["username"].as_str().unwrap();
    // Suspended on its own before the customer: it stays suspended afterwards.
    let (status, _) = act(&app, one_id, "suspend").await;
    assert_eq!(status, StatusCode::OK);

    let customer_action = |action: &str| json!({"action": action, "reason": "unpaid"});
    let path = format!("/api/v1/customers/{customer}/action");
    let (status, body) = app.post(&path, &customer_action("suspend")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(rows(&app, two_name).await, suspended_rows());
    let (_, body) = app.get(&format!("/api/v1/services/{}", two["id"])).await;
    assert_eq!(
        body["data"]["service"]["suspended_with_customer"],
        json!(true)
    );

    let (status, _) = app.post(&path, &customer_action("activate")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rows(&app, two_name).await, active_rows(plan, "pw-two"));
    assert_eq!(rows(&app, one_name).await, suspended_rows());

    let (status, _) = app.post(&path, &customer_action("terminate")).await;
    assert_eq!(status, StatusCode::OK);
    for name in [one_name, two_name] {
        assert_eq!(rows(&app, name).await, UserRows::default());
    }

    // Deleting a customer ends its services too.
    let (other, _) = self::customer(&app, "Dora", "+15550000111").await;
    let three = service(
        &app,
        other,
        json!({"plan_id": plan, "password": "pw-three"}),
    )
    .await;
    let three_name = three["username"].as_str().unwrap();
    assert_eq!(rows(&app, three_name).await, active_rows(plan, "pw-three"));
    let (status, _) = app.delete(&format!("/api/v1/customers/{other}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(rows(&app, three_name).await, UserRows::default());
}

async fn a_scheduled_activation_happens_on_time(app: TestApp) {
    let plan = plan(&app, "Basic", 10.0, 2.0).await;
    let (customer, _) = customer(&app, "Erin", "+15550000105").await;
    let at = lastmile_core::clock::Clock::now(&app.clock) + chrono::Duration::hours(2);
    let service = service(
        &app,
        customer,
        json!({"plan_id": plan, "password": "pw1234",
            "scheduled_activation": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)}),
    )
    .await;
    let (id, username) = (
        service["id"].as_i64().unwrap(),
        service["username"].as_str().unwrap(),
    );
    assert_eq!(service["status"], json!("pending_activation"));
    assert_eq!(rows(&app, username).await, UserRows::default());

    // An hour early: still pending, whatever the scheduler does meanwhile.
    app.clock.advance(chrono::Duration::hours(1));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, body) = app.get(&format!("/api/v1/services/{id}")).await;
    assert_eq!(
        body["data"]["service"]["status"],
        json!("pending_activation")
    );

    app.clock.advance(chrono::Duration::minutes(61));
    let started = Instant::now();
    loop {
        let (_, body) = app.get(&format!("/api/v1/services/{id}")).await;
        if body["data"]["service"]["status"] == json!("active") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "never activated: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(rows(&app, username).await, active_rows(plan, "pw1234"));
}

async fn a_plan_change_now_moves_the_group_and_next_period_waits(app: TestApp) {
    let basic = plan(&app, "Basic", 10.0, 2.0).await;
    let fast = plan(&app, "Fast", 100.0, 20.0).await;
    let (customer, _) = customer(&app, "Frank", "+15550000106").await;
    let service = service(
        &app,
        customer,
        json!({"plan_id": basic, "password": "pw1234"}),
    )
    .await;
    let (id, username) = (
        service["id"].as_i64().unwrap(),
        service["username"].as_str().unwrap(),
    );
    let path = format!("/api/v1/services/{id}/change-plan");

    let (status, body) = app.post(&path, &json!({"plan_id": fast})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["service"]["plan_id"], json!(fast));
    assert_eq!(body["data"]["service"]["speed_download_mbps"], json!(100.0));
    assert_eq!(rows(&app, username).await, active_rows(fast, "pw1234"));

    let (status, body) = app
        .post(&path, &json!({"plan_id": basic, "timing": "next_period"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["service"]["plan_id"], json!(fast));
    assert_eq!(body["data"]["service"]["pending_plan_id"], json!(basic));
    assert_eq!(rows(&app, username).await, active_rows(fast, "pw1234"));

    let (status, body) = app.post(&path, &json!({"plan_id": 999_999})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = app
        .post(&path, &json!({"plan_id": fast, "timing": "later"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

async fn services_are_found_by_login_by_customer_and_as_subscriptions(app: TestApp) {
    let plan = plan(&app, "Basic", 10.0, 2.0).await;
    let (other, _) = customer(&app, "Hank", "+15550000108").await;
    let (customer, portal_id) = customer(&app, "Gina", "+15550000107").await;
    let mine = service(&app, customer, json!({"plan_id": plan})).await;
    service(&app, other, json!({"plan_id": plan})).await;

    let (status, body) = app.get(&format!("/api/v1/subscribers/{portal_id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["service"]["id"], mine["id"]);
    let (status, _) = app.get("/api/v1/subscribers/nobody").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    for segment in ["services", "subscriptions"] {
        let (status, body) = app
            .get(&format!("/api/v1/customers/{customer}/{segment}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["meta"]["total"], json!(1), "{segment}: {body}");
        assert_eq!(body["data"]["services"][0]["id"], mine["id"]);
    }
    let (_, body) = app.get("/api/v1/subscriptions").await;
    assert_eq!(body["meta"]["total"], json!(2));
    let (_, body) = app.get("/api/v1/services?status=suspended").await;
    assert_eq!(body["meta"]["total"], json!(0));
    let (status, _) = app.get("/api/v1/services?status=sleeping").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn passwords_are_shown_only_to_roles_that_may_see_them(app: TestApp) {
    let plan = plan(&app, "Basic", 10.0, 2.0).await;
    let (customer, _) = customer(&app, "Ivy", "+15550000109").await;
    let service = service(
        &app,
        customer,
        json!({"plan_id": plan, "password": "pw1234"}),
    )
    .await;
    let path = format!("/api/v1/services/{}", service["id"]);
    for (role, shown) in [(Role::Support, true), (Role::ReadOnly, false)] {
        let (_, key) = app.key(role, None, None).await;
        let (status, body) = send(app.http.get(app.url(&path)).header("X-API-Key", &key)).await;
        assert_eq!(status, StatusCode::OK, "{role:?}: {body}");
        let password = &body["data"]["service"]["password"];
        assert_eq!(password.is_string(), shown, "{role:?}: {body}");
    }
}

async fn a_hand_edited_row_is_drift_until_reconciled(app: TestApp) {
    let plan = plan(&app, "Basic", 10.0, 2.0).await;
    let (customer, _) = customer(&app, "Jack", "+15550000110").await;
    let service = service(
        &app,
        customer,
        json!({"plan_id": plan, "password": "pw1234"}),
    )
    .await;
    let username = service["username"].as_str().unwrap().to_owned();
    let (status, body) = app.get("/api/v1/provisioning/drift").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["meta"]["total"], json!(0), "{body}");

    // Someone changes the password behind Lastmile's back, and adds a stranger's login.
    let db = &app.core().db;
    lastmile_core::on_conn!(&mut db.conn(), c => sqlx::query(
        "UPDATE radcheck SET value = 'hacked' WHERE username = $1 AND attribute = 'Cleartext-Password'")
        .bind(&username)
        .execute(c)
        .await
        .map(drop))
    .expect("edit radcheck");
    lastmile_core::on_conn!(&mut db.conn(), c => sqlx::query(
        "INSERT INTO radcheck (username, attribute, op, value) VALUES ('ghost', 'Cleartext-Password', ':=', 'x')")
        .execute(c)
        .await
        .map(drop))
    .expect("insert radcheck");

    let (_, body) = app.get("/api/v1/provisioning/drift").await;
    assert_eq!(body["meta"]["total"], json!(3), "{body}");
    let drift: Vec<(String, String, String)> = body["data"]["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_owned(),
                d["kind"].as_str().unwrap().to_owned(),
                d["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("ghost", "unexpected", "x"),
        (username.as_str(), "missing", "pw1234"),
        (username.as_str(), "unexpected", "hacked"),
    ];
    for (name, kind, value) in expected {
        assert!(
            drift.contains(&(name.to_owned(), kind.to_owned(), value.to_owned())),
            "{name} {kind} {value}: {drift:?}"
        );
    }

    let (status, body) = app.post("/api/v1/provisioning/reconcile", &json!({})).await;
    assert!(status.is_success(), "{body}");
    assert_eq!(
        body["data"]["reconciliation"]["repaired"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(body["data"]["reconciliation"]["remaining"], json!([]));
    let (_, body) = app.get("/api/v1/provisioning/drift").await;
    assert_eq!(body["meta"]["total"], json!(0), "{body}");
    assert_eq!(rows(&app, &username).await, active_rows(plan, "pw1234"));
    assert_eq!(rows(&app, "ghost").await, UserRows::default());
}

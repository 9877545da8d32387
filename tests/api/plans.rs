//! `/api/v1/plans` (also at `/api/v1/packages` and `/api/v1/products`): the catalog. Every
//! field written and read back, each plan's RADIUS group in `radgroupreply` (read from the
//! database FreeRADIUS reads), the field rules, deletion refused while services use a
//! plan, archiving, the price list, and the plans' events.

use chrono::Utc;
use lastmile_proto::struct_to_json;
use lastmile_proto::v1::ListEventsRequest;
use lastmile_proto::v1::event_service_client::EventServiceClient;
use lastmile_proto::v1::plan_service_client::PlanServiceClient;
use lastmile_proto::v1::{CreatePlanRequest, PlanInput};
use lastmile_tests::{StatusCode, TestApp, engine_tests, json, with_key};
use serde_json::Value;
use tonic_types::StatusExt;

engine_tests!(
    a_plan_with_every_field_reads_back_as_written,
    a_plans_radius_group_holds_its_rates_and_follows_its_changes,
    bad_inputs_are_reported_on_their_fields,
    a_name_is_unique_among_live_plans_ignoring_case,
    deleting_a_plan_in_use_reports_the_count,
    an_archived_plan_stays_readable_and_can_be_sold_again,
    packages_and_products_are_the_same_plans,
    the_price_list_shows_the_active_plans_by_name,
    plan_changes_publish_their_events,
    the_plan_service_reads_decimals_over_grpc,
);

const PLANS: &str = "/api/v1/plans";

/// A valid plan body: 10.5 down, 2 up, 49.99 a month.
fn plan_body(name: &str) -> Value {
    json!({"name": name, "speed_download_mbps": 10.5, "speed_upload_mbps": 2,
           "monthly_fee": 49.99})
}

async fn create(app: &TestApp, body: &Value) -> Value {
    let (status, created) = app.post(PLANS, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["data"]["plan"].clone()
}

/// Inserts an IP pool directly (the pools are another resource's); returns its id.
async fn insert_pool(app: &TestApp, name: &str, kind: &str) -> i64 {
    let sql = "INSERT INTO ip_pools (name, cidr, kind, created_at, updated_at) \
               VALUES ($1, '100.64.0.0/16', $2, $3, $3) RETURNING id";
    let db = &app.core().db;
    lastmile_core::on_db!(db, pool => sqlx::query_scalar(sql)
        .bind(name).bind(kind).bind(Utc::now()).fetch_one(pool).await)
    .expect("insert pool")
}

/// The rows of a RADIUS group as FreeRADIUS reads them (by id).
async fn group_rows(app: &TestApp, group: &str) -> Vec<(String, String, String)> {
    let sql = "SELECT attribute, op, value FROM radgroupreply WHERE groupname = $1 ORDER BY id";
    let db = &app.core().db;
    lastmile_core::on_db!(db, pool => sqlx::query_as(sql).bind(group).fetch_all(pool).await)
        .expect("read radgroupreply")
}

fn rows(expected: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    expected
        .iter()
        .map(|(a, o, v)| ((*a).to_owned(), (*o).to_owned(), (*v).to_owned()))
        .collect()
}

/// Inserts a service of a new customer on plan `plan_id` in `status`.
async fn insert_service(app: &TestApp, plan_id: i64, status: &str, n: u32) {
    let customer = app
        .create_customer("Subscriber", &format!("+25471100{n:04}"))
        .await;
    let sql = "INSERT INTO services (customer_id, plan_id, status, username, password, \
               created_at, updated_at) VALUES ($1, $2, $3, $4, 'secret', $5, $5)";
    let db = &app.core().db;
    lastmile_core::on_db!(db, pool => sqlx::query(sql)
        .bind(customer["id"].as_i64()).bind(plan_id).bind(status)
        .bind(format!("user{n}")).bind(Utc::now()).execute(pool).await.map(drop))
    .expect("insert service");
}

/// The answer without what the server chose (id, times, link), which are checked apart.
fn chosen_by_the_server_removed(mut plan: Value) -> Value {
    let object = plan.as_object_mut().expect("a plan object");
    for key in ["id", "created_at", "updated_at", "links"] {
        object.remove(key);
    }
    plan
}

async fn a_plan_with_every_field_reads_back_as_written(app: TestApp) {
    let pool = insert_pool(&app, "cgnat-north", "dynamic").await;
    let body = json!({
        "name": "Fibre 10.5", "service_type": "internet",
        "speed_download_mbps": 10.5, "speed_upload_mbps": 2,
        "burst": {"download_mbps": 20, "upload_mbps": 4, "threshold_download_mbps": 8,
                  "threshold_upload_mbps": 1.5, "time_seconds": 8},
        "data_limit_gb": 150.5, "cap_policy": "throttle",
        "throttle_download_mbps": 1, "throttle_upload_mbps": 0.512,
        "monthly_fee": 49.99, "activation_fee": 15, "currency": "eur",
        "billing_period_months": 3, "tax_class": "standard", "ip_pool_id": pool,
        "radius_attributes": [
            {"attribute": "session-timeout", "op": ":=", "value": " 86400 "},
            {"attribute": "Mikrotik-Address-List", "op": "+=", "value": "residential"}],
        "status": "active", "credit_suspended_days": true,
        "credit_unused_days_on_termination": true
    });
    let (status, created) = app.post(PLANS, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["message"], json!("Plan created successfully"));
    let plan = created["data"]["plan"].clone();
    let expected = json!({
        "name": "Fibre 10.5", "service_type": "internet",
        "speed_download_mbps": 10.5, "speed_upload_mbps": 2,
        "burst": {"download_mbps": 20, "upload_mbps": 4, "threshold_download_mbps": 8,
                  "threshold_upload_mbps": 1.5, "time_seconds": 8},
        "data_limit_gb": 150.5, "cap_policy": "throttle",
        "throttle_download_mbps": 1, "throttle_upload_mbps": 0.512,
        "monthly_fee": 49.99, "activation_fee": 15.0, "currency": "EUR",
        "billing_period_months": 3, "tax_class": "standard", "ip_pool_id": pool,
        "radius_attributes": [
            {"attribute": "Session-Timeout", "op": ":=", "value": "86400"},
            {"attribute": "Mikrotik-Address-List", "op": "+=", "value": "residential"}],
        "status": "active", "services_count": 0, "credit_suspended_days": true,
        "credit_unused_days_on_termination": true
    });
    assert_eq!(chosen_by_the_server_removed(plan.clone()), expected);
    let id = plan["id"].as_i64().expect("an id");
    assert_eq!(
        plan["links"]["self"],
        json!(app.url(&format!("{PLANS}/{id}")))
    );
    let created_at = plan["created_at"].as_str().expect("created_at");
    assert_eq!(created_at.len(), 27, "{created_at}");
    assert!(created_at.ends_with('Z'));
    assert_eq!(plan["updated_at"], plan["created_at"]);

    // The fee is written with the currency's digits, as a JSON number.
    let text = app
        .request(reqwest::Method::GET, &format!("{PLANS}/{id}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(r#""monthly_fee":49.99,"activation_fee":15.00,"currency":"EUR""#),
        "{text}"
    );
    let (status, read) = app.get(&format!("{PLANS}/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["message"], json!("Plan retrieved successfully"));
    assert_eq!(read["data"]["plan"], plan);

    // A plan with only the required fields gets the defaults.
    let minimal = create(&app, &plan_body("Home 10")).await;
    assert_eq!(
        chosen_by_the_server_removed(minimal),
        json!({
            "name": "Home 10", "service_type": "internet",
            "speed_download_mbps": 10.5, "speed_upload_mbps": 2, "burst": null,
            "data_limit_gb": null, "cap_policy": "none",
            "throttle_download_mbps": null, "throttle_upload_mbps": null,
            "monthly_fee": 49.99, "activation_fee": 0.0, "currency": "USD",
            "billing_period_months": 1, "tax_class": null, "ip_pool_id": null,
            "radius_attributes": [], "status": "active", "services_count": 0,
            "credit_suspended_days": false, "credit_unused_days_on_termination": false
        })
    );
    app.stop().await;
}

async fn a_plans_radius_group_holds_its_rates_and_follows_its_changes(app: TestApp) {
    let dynamic = insert_pool(&app, "cgnat-north", "dynamic").await;
    let fixed = insert_pool(&app, "static-west", "static").await;
    let mut body = plan_body("Fibre 100");
    body["speed_download_mbps"] = json!(100);
    body["speed_upload_mbps"] = json!(10);
    body["ip_pool_id"] = json!(dynamic);
    body["radius_attributes"] = json!([{"attribute": "Acct-Interim-Interval", "op": "=",
                                        "value": "300"}]);
    let plan = create(&app, &body).await;
    let id = plan["id"].as_i64().unwrap();
    let group = format!("plan-{id}");
    assert_eq!(
        group_rows(&app, &group).await,
        rows(&[
            ("Mikrotik-Rate-Limit", "=", "10M/100M"),
            ("WISPr-Bandwidth-Max-Up", "=", "10000000"),
            ("WISPr-Bandwidth-Max-Down", "=", "100000000"),
            ("Framed-Pool", "=", "cgnat-north"),
            ("Acct-Interim-Interval", "=", "300"),
        ])
    );

    // A speed change, a burst, a static pool and no attributes rewrite the group.
    let changes = json!({"speed_download_mbps": 10.5, "speed_upload_mbps": 1.5,
        "burst": {"download_mbps": 21, "upload_mbps": 3, "threshold_download_mbps": 8.4,
                  "threshold_upload_mbps": 1.2, "time_seconds": 16},
        "ip_pool_id": fixed, "radius_attributes": null});
    let (status, changed) = app.patch(&format!("{PLANS}/{id}"), &changes).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["data"]["plan"]["speed_download_mbps"], json!(10.5));
    assert_eq!(
        group_rows(&app, &group).await,
        rows(&[
            (
                "Mikrotik-Rate-Limit",
                "=",
                "1500k/10500k 3M/21M 1200k/8400k 16/16"
            ),
            ("WISPr-Bandwidth-Max-Up", "=", "1500000"),
            ("WISPr-Bandwidth-Max-Down", "=", "10500000"),
        ])
    );

    // A refused change leaves the group as it was.
    let (status, _) = app
        .patch(&format!("{PLANS}/{id}"), &json!({"speed_download_mbps": 5}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(group_rows(&app, &group).await.len(), 3);

    // Deleting the plan removes its group; other groups stay.
    let other = create(&app, &plan_body("Home 10")).await;
    let (status, _) = app.delete(&format!("{PLANS}/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(group_rows(&app, &group).await, rows(&[]));
    let other_group = format!("plan-{}", other["id"]);
    assert_eq!(
        group_rows(&app, &other_group).await,
        rows(&[
            ("Mikrotik-Rate-Limit", "=", "2M/10500k"),
            ("WISPr-Bandwidth-Max-Up", "=", "2000000"),
            ("WISPr-Bandwidth-Max-Down", "=", "10500000"),
        ])
    );
    app.stop().await;
}

async fn bad_inputs_are_reported_on_their_fields(app: TestApp) {
    let with = |changes: Value| {
        let mut body = plan_body("Home 10");
        for (key, value) in changes.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    };
    let attribute = |name: &str| json!([{"attribute": name, "op": "=", "value": "1"}]);
    let cases = [
        (
            with(json!({"radius_attributes": attribute("Lastmile-Unknown-Attribute")})),
            "radius_attributes.0.attribute",
            "The attribute \"Lastmile-Unknown-Attribute\" is not in the RADIUS dictionary.",
        ),
        (
            with(json!({"radius_attributes": attribute("Mikrotik-Rate-Limit")})),
            "radius_attributes.0.attribute",
            "The attribute \"Mikrotik-Rate-Limit\" is managed by Lastmile and cannot be set on a plan.",
        ),
        (
            with(
                json!({"radius_attributes": [{"attribute": "Filter-Id", "op": "==",
                                               "value": "x"}]}),
            ),
            "radius_attributes.0.op",
            "The op must be one of =, :=, +=.",
        ),
        (
            with(json!({"burst": {"download_mbps": 10, "upload_mbps": 4,
                                  "threshold_download_mbps": 8, "threshold_upload_mbps": 1,
                                  "time_seconds": 8}})),
            "burst.download_mbps",
            "The burst download mbps must be greater than the speed download mbps.",
        ),
        (
            with(json!({"speed_download_mbps": 10.0001})),
            "speed_download_mbps",
            "The speed download mbps may not have more than 3 decimal places.",
        ),
        (
            with(json!({"speed_upload_mbps": 0})),
            "speed_upload_mbps",
            "The speed upload mbps must be at least 0.001.",
        ),
        (
            with(json!({"billing_period_months": 2})),
            "billing_period_months",
            "The billing period months must be one of 1, 3, 6, 12.",
        ),
        (
            json!({"speed_download_mbps": 10, "speed_upload_mbps": 2, "monthly_fee": 5}),
            "name",
            "The name field is required.",
        ),
        (
            with(json!({"monthly_fee": 49.999})),
            "monthly_fee",
            "The monthly fee may not have more than 2 decimal places.",
        ),
        (
            with(json!({"cap_policy": "suspend"})),
            "data_limit_gb",
            "The data limit gb field is required when cap policy is suspend.",
        ),
        (
            with(json!({"cap_policy": "throttle", "data_limit_gb": 100,
                        "throttle_download_mbps": 20, "throttle_upload_mbps": 1})),
            "throttle_download_mbps",
            "The throttle download mbps must be less than the speed download mbps.",
        ),
        (
            with(json!({"ip_pool_id": 999})),
            "ip_pool_id",
            "The selected ip pool id is invalid.",
        ),
        (
            with(json!({"speed_download_mbps": "fast"})),
            "speed_download_mbps",
            "The speed download mbps must be a number.",
        ),
    ];
    for (body, field, message) in cases {
        let (status, answer) = app.post(PLANS, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_eq!(answer["code"], json!("VALIDATION_ERROR"), "{answer}");
        assert_eq!(answer["message"], json!("Validation failed"), "{answer}");
        assert_eq!(answer["errors"], json!({field: [message]}), "{body}");
    }
    // Every failing field at once, type errors beside the core's rules.
    let (status, answer) = app
        .post(
            PLANS,
            &json!({"name": "X", "speed_download_mbps": "fast", "billing_period_months": 2}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        answer["errors"],
        json!({
            "name": ["The name must be at least 2 characters."],
            "speed_download_mbps": ["The speed download mbps must be a number."],
            "speed_upload_mbps": ["The speed upload mbps field is required."],
            "monthly_fee": ["The monthly fee field is required."],
            "billing_period_months": ["The billing period months must be one of 1, 3, 6, 12."],
        })
    );
    // Nothing was written.
    let (_, list) = app.get(PLANS).await;
    assert_eq!(list["meta"]["total"], json!(0), "{list}");
    app.stop().await;
}

async fn a_name_is_unique_among_live_plans_ignoring_case(app: TestApp) {
    let first = create(&app, &plan_body("Home 10")).await;
    let taken = json!({"name": ["A plan with this name already exists."]});
    let (status, answer) = app.post(PLANS, &plan_body("  home 10 ")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["errors"], taken);
    let second = create(&app, &plan_body("Home 20")).await;
    let (status, answer) = app
        .patch(
            &format!("{PLANS}/{}", second["id"]),
            &json!({"name": "HOME 10"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["errors"], taken);
    // A deleted plan's name is free again.
    let (status, _) = app.delete(&format!("{PLANS}/{}", first["id"])).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    create(&app, &plan_body("Home 10")).await;
    app.stop().await;
}

async fn deleting_a_plan_in_use_reports_the_count(app: TestApp) {
    let plan = create(&app, &plan_body("Home 10")).await;
    let id = plan["id"].as_i64().unwrap();
    for (n, status) in ["active", "suspended", "pending_activation", "terminated"]
        .into_iter()
        .enumerate()
    {
        insert_service(&app, id, status, n as u32).await;
    }
    let (status, answer) = app.delete(&format!("{PLANS}/{id}")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(
        answer,
        json!({"success": false, "message": "Validation failed", "code": "VALIDATION_ERROR",
               "errors": {"plan": ["The plan is used by 3 services; archive it instead."]}})
    );
    let (_, read) = app.get(&format!("{PLANS}/{id}")).await;
    assert_eq!(read["data"]["plan"]["services_count"], json!(3));
    assert_eq!(group_rows(&app, &format!("plan-{id}")).await.len(), 3);

    // Once only terminated services name it, it goes (and they keep their history).
    let db = &app.core().db;
    lastmile_core::on_db!(db, pool => sqlx::query(
        "UPDATE services SET status = 'terminated' WHERE plan_id = $1")
        .bind(id).execute(pool).await.map(drop))
    .unwrap();
    let (status, _) = app.delete(&format!("{PLANS}/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, answer) = app.get(&format!("{PLANS}/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(answer["message"], json!("Plan not found"));
    let (status, _) = app.delete(&format!("{PLANS}/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

async fn an_archived_plan_stays_readable_and_can_be_sold_again(app: TestApp) {
    let plan = create(&app, &plan_body("Home 10")).await;
    create(&app, &plan_body("Business 50")).await;
    let path = format!("{PLANS}/{}", plan["id"]);
    let (status, archived) = app.patch(&path, &json!({"status": "archived"})).await;
    assert_eq!(status, StatusCode::OK, "{archived}");
    assert_eq!(archived["data"]["plan"]["status"], json!("archived"));
    let (status, read) = app.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["data"]["plan"]["status"], json!("archived"));

    let names = |list: &Value| -> Vec<String> {
        list["data"]["plans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, all) = app.get(PLANS).await;
    assert_eq!(names(&all), ["Business 50", "Home 10"]);
    let (_, archived) = app.get(&format!("{PLANS}?status=archived")).await;
    assert_eq!(names(&archived), ["Home 10"]);
    let (_, active) = app.get(&format!("{PLANS}?status=active&search=BUS")).await;
    assert_eq!(names(&active), ["Business 50"]);
    let (status, answer) = app.get(&format!("{PLANS}?status=retired")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");

    let (status, restored) = app.put(&path, &json!({"status": "active"})).await;
    assert_eq!(status, StatusCode::OK, "{restored}");
    assert_eq!(restored["data"]["plan"]["status"], json!("active"));
    app.stop().await;
}

async fn packages_and_products_are_the_same_plans(app: TestApp) {
    let (status, created) = app.post("/api/v1/packages", &plan_body("Home 10")).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["message"], json!("Package created successfully"));
    let package = created["data"]["package"].clone();
    let id = package["id"].as_i64().unwrap();
    let (_, plan) = app.get(&format!("{PLANS}/{id}")).await;
    assert_eq!(plan["data"]["plan"], package);
    let (status, product) = app.get(&format!("/api/v1/products/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(product["data"]["product"], package);

    let (_, products) = app.get("/api/v1/products").await;
    assert_eq!(products["data"]["products"], json!([package]));
    assert_eq!(products["meta"]["total"], json!(1));
    let (status, changed) = app
        .patch(
            &format!("/api/v1/products/{id}"),
            &json!({"monthly_fee": 59}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    let (_, packages) = app.get("/api/v1/packages").await;
    assert_eq!(packages["data"]["packages"][0]["monthly_fee"], json!(59.0));
    let (status, _) = app.delete(&format!("/api/v1/packages/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get(&format!("{PLANS}/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

async fn the_price_list_shows_the_active_plans_by_name(app: TestApp) {
    let mut business = plan_body("Business 50");
    business["speed_download_mbps"] = json!(50);
    business["speed_upload_mbps"] = json!(10);
    business["monthly_fee"] = json!(120);
    business["activation_fee"] = json!(25.5);
    business["billing_period_months"] = json!(12);
    business["tax_class"] = json!("business");
    create(&app, &business).await;
    let home = create(&app, &plan_body("Home 10")).await;
    let old = create(&app, &plan_body("Legacy 2")).await;
    let (status, _) = app
        .patch(
            &format!("{PLANS}/{}", old["id"]),
            &json!({"status": "archived"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, answer) = app.get("/api/v1/products/pricing").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let pricing = answer["data"]["pricing"].as_array().unwrap().clone();
    let without_ids: Vec<Value> = pricing
        .iter()
        .map(|p| {
            let mut p = p.clone();
            p.as_object_mut().unwrap().remove("id");
            p
        })
        .collect();
    assert_eq!(
        without_ids,
        [
            json!({"name": "Business 50", "monthly_fee": 120.0, "activation_fee": 25.5,
                   "currency": "USD", "billing_period_months": 12, "tax_class": "business",
                   "speed_download_mbps": 50, "speed_upload_mbps": 10}),
            json!({"name": "Home 10", "monthly_fee": 49.99, "activation_fee": 0.0,
                   "currency": "USD", "billing_period_months": 1, "tax_class": null,
                   "speed_download_mbps": 10.5, "speed_upload_mbps": 2}),
        ]
    );
    assert_eq!(pricing[1]["id"], home["id"]);
    assert_eq!(
        answer["meta"],
        json!({"current_page": 1, "per_page": 25, "total": 2, "last_page": 1})
    );
    let (_, second) = app.get("/api/v1/products/pricing?per_page=1&page=2").await;
    assert_eq!(second["data"]["pricing"][0]["name"], json!("Home 10"));
    app.stop().await;
}

async fn plan_changes_publish_their_events(app: TestApp) {
    let plan = create(&app, &plan_body("Home 10")).await;
    let path = format!("{PLANS}/{}", plan["id"]);
    let (status, _) = app.patch(&path, &json!({"speed_download_mbps": 20})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.delete(&path).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let mut events = EventServiceClient::new(app.grpc_channel().await);
    let request = ListEventsRequest {
        after_cursor: 0,
        types: vec!["plan.*".into()],
        limit: 100,
    };
    let listed = events
        .list_events(with_key(request, &app.admin_key))
        .await
        .expect("ListEvents")
        .into_inner()
        .events;
    let seen: Vec<(String, String, Value, Value)> = listed
        .into_iter()
        .map(|e| {
            let data = Value::Object(struct_to_json(e.data.expect("data")));
            (
                e.r#type,
                e.resource_id,
                data["speed_download_mbps"].clone(),
                data["name"].clone(),
            )
        })
        .collect();
    let id = plan["id"].to_string();
    assert_eq!(
        seen,
        [
            (
                "plan.created".into(),
                id.clone(),
                json!(10.5),
                json!("Home 10")
            ),
            (
                "plan.updated".into(),
                id.clone(),
                json!(20),
                json!("Home 10")
            ),
            ("plan.deleted".into(), id, json!(20), json!("Home 10")),
        ]
    );
    app.stop().await;
}

async fn the_plan_service_reads_decimals_over_grpc(app: TestApp) {
    let mut plans = PlanServiceClient::new(app.grpc_channel().await);
    let input = PlanInput {
        name: "Home 10".into(),
        speed_download_mbps: "10.500".into(),
        speed_upload_mbps: "2".into(),
        monthly_fee: "49.99".into(),
        ..Default::default()
    };
    let request = CreatePlanRequest {
        plan: Some(input.clone()),
        validate_only: false,
    };
    let plan = plans
        .create_plan(with_key(request, &app.admin_key))
        .await
        .expect("CreatePlan")
        .into_inner()
        .plan
        .expect("a plan");
    assert_eq!((plan.download_kbps, plan.upload_kbps), (10_500, 2_000));
    let fee = plan.monthly_fee.expect("a fee");
    assert_eq!((fee.minor_units, fee.currency.as_str()), (4_999, "USD"));

    let bad = CreatePlanRequest {
        plan: Some(PlanInput {
            name: "Home 11".into(),
            speed_download_mbps: "10.0001".into(),
            ..input
        }),
        validate_only: true,
    };
    let status = plans
        .create_plan(with_key(bad, &app.admin_key))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let violations: Vec<(String, String)> = status
        .get_error_details()
        .bad_request()
        .expect("field violations")
        .field_violations
        .iter()
        .map(|v| (v.field.clone(), v.description.clone()))
        .collect();
    assert_eq!(
        violations,
        [(
            "speed_download_mbps".to_owned(),
            "The speed download mbps may not have more than 3 decimal places.".to_owned()
        )]
    );
    app.stop().await;
}

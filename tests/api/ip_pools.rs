//! `/api/v1/ip-pools`: static and dynamic pools, their field rules, the usage a static pool
//! shows, the network and kind kept while addresses are assigned, and deletion refused
//! while addresses, plans or live services hold a pool. `allocation` drives the core's
//! static allocation directly, on the test's database, as the services domain calls it.

mod allocation;

use chrono::Utc;
use lastmile_core::network::allocate;
use lastmile_core::on_db;
use lastmile_tests::{StatusCode, TestApp, engine_tests, json};
use serde_json::Value;

use crate::routers::{assert_refused, create_router, execute, insert_service};

engine_tests!(
    a_pool_can_be_created_read_listed_changed_and_deleted,
    a_dynamic_pool_shows_no_usage,
    every_broken_field_rule_is_reported_on_its_field,
    network_and_kind_stay_while_addresses_are_assigned,
    deleting_a_pool_in_use_reports_the_counts,
);

/// Creates a pool; returns its JSON.
pub async fn create_pool(app: &TestApp, body: Value) -> Value {
    let (status, answer) = app.post("/api/v1/ip-pools", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    answer["data"]["ip_pool"].clone()
}

/// Gives service `service` an address of pool `pool` in a transaction of its own, at the
/// servers' time.
pub async fn assign(app: &TestApp, pool: i64, service: i64) -> String {
    let core = app.core();
    let mut tx = core.db.begin().await.unwrap();
    let now = lastmile_core::clock::Clock::now(&app.clock);
    let settings = core.network.settings();
    let address = allocate(&mut tx.conn(), pool, None, service, now, settings)
        .await
        .expect("an address");
    tx.commit().await.unwrap();
    address.to_string()
}

async fn a_pool_can_be_created_read_listed_changed_and_deleted(app: TestApp) {
    let router = create_router(&app, "Core-1", "10.0.0.1").await["id"].clone();
    let body = json!({"name": "Residential", "cidr": "10.0.0.0/24", "gateway": "10.0.0.1",
                      "router_id": router, "kind": "static",
                      "excluded": ["10.0.0.10", "10.0.0.5", " 10.0.0.5 "]});
    let (status, answer) = app.post("/api/v1/ip-pools", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["message"], json!("IP pool created successfully"));
    let created = answer["data"]["ip_pool"].clone();
    let id = created["id"].as_i64().unwrap();
    let at = created["created_at"].clone();
    // 254 hosts less the gateway and two exclusions.
    assert_eq!(
        created,
        json!({"id": id, "name": "Residential", "cidr": "10.0.0.0/24", "gateway": "10.0.0.1",
               "router_id": router, "kind": "static", "excluded": ["10.0.0.5", "10.0.0.10"],
               "usage": {"total": 251, "assigned": 0, "quarantined": 0, "free": 251,
                         "percent": 0.0},
               "created_at": at, "updated_at": at,
               "links": {"self": app.url(&format!("/api/v1/ip-pools/{id}"))}})
    );
    let item = format!("/api/v1/ip-pools/{id}");
    let (status, answer) = app.get(&item).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["data"]["ip_pool"], created);

    for service in 1..=3 {
        assign(&app, id, service).await;
    }
    lastmile_core::network::release(
        &mut app.core().db.conn(),
        3,
        lastmile_core::clock::Clock::now(&app.clock),
    )
    .await
    .unwrap();
    let (_, answer) = app.get(&item).await;
    assert_eq!(
        answer["data"]["ip_pool"]["usage"],
        json!({"total": 251, "assigned": 2, "quarantined": 1, "free": 248, "percent": 1.19})
    );
    let other = create_pool(
        &app,
        json!({"name": "Business", "cidr": "192.168.8.0/29", "kind": "static"}),
    )
    .await;
    let (_, list) = app.get("/api/v1/ip-pools").await;
    let names: Vec<&Value> = list["data"]["ip_pools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["name"])
        .collect();
    assert_eq!(names, [&json!("Business"), &json!("Residential")]);
    assert_eq!(list["data"]["ip_pools"][1]["usage"]["assigned"], json!(2));
    let (_, list) = app
        .get(&format!("/api/v1/ip-pools?router_id={router}"))
        .await;
    assert_eq!(list["meta"]["total"], json!(1), "{list}");
    let (_, list) = app.get("/api/v1/ip-pools?search=192.168").await;
    assert_eq!(list["data"]["ip_pools"], json!([other]));

    let changes = json!({"name": "Residential West", "gateway": null, "excluded": [],
                         "router_id": null});
    let (status, answer) = app.patch(&item, &changes).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let updated = &answer["data"]["ip_pool"];
    assert_eq!(updated["name"], json!("Residential West"));
    assert_eq!(updated["gateway"], Value::Null);
    assert_eq!(updated["router_id"], Value::Null);
    assert_eq!(updated["excluded"], json!([]));
    assert_eq!(updated["usage"]["total"], json!(254));

    let (status, _) = app
        .delete(&format!("/api/v1/ip-pools/{}", other["id"]))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = app.get(&format!("/api/v1/ip-pools/{}", other["id"])).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["message"], json!("IP pool not found"));
    app.stop().await;
}

async fn a_dynamic_pool_shows_no_usage(app: TestApp) {
    let created = create_pool(
        &app,
        json!({"name": "pppoe-pool", "cidr": "100.64.0.0/16", "kind": "dynamic"}),
    )
    .await;
    assert_eq!(created["kind"], json!("dynamic"));
    assert_eq!(created["usage"], Value::Null);
    assert_eq!(created["gateway"], Value::Null);
    app.stop().await;
}

async fn every_broken_field_rule_is_reported_on_its_field(app: TestApp) {
    let (status, body) = app.post("/api/v1/ip-pools", &json!({})).await;
    assert_refused(
        status,
        &body,
        json!({"name": ["The name field is required."],
               "cidr": ["The cidr field is required."],
               "kind": ["The kind field is required."]}),
    );
    let host_bits = json!({"name": "Pool", "cidr": "10.0.0.1/24", "kind": "static"});
    let (status, body) = app.post("/api/v1/ip-pools", &host_bits).await;
    assert_refused(
        status,
        &body,
        json!({"cidr": ["The cidr must be a network address, e.g. 10.0.0.0/24."]}),
    );
    for (cidr, message) in [
        ("10.0.0.0/7", "The cidr prefix must be between /8 and /32."),
        (
            "10.0.0.0",
            "The cidr must be an IPv4 network in CIDR notation, e.g. 10.0.0.0/24.",
        ),
        (
            "10.0.300.0/24",
            "The cidr must be an IPv4 network in CIDR notation, e.g. 10.0.0.0/24.",
        ),
    ] {
        let body = json!({"name": "Pool", "cidr": cidr, "kind": "static"});
        let (status, answer) = app.post("/api/v1/ip-pools", &body).await;
        assert_refused(status, &answer, json!({"cidr": [message]}));
    }
    let outside = json!({"name": "Pool", "cidr": "10.0.0.0/24", "kind": "static",
                         "gateway": "10.0.1.1", "router_id": 999,
                         "excluded": ["10.0.0.7", "10.9.9.9", "nope"]});
    let (status, body) = app.post("/api/v1/ip-pools", &outside).await;
    assert_refused(
        status,
        &body,
        json!({"gateway": ["The gateway must be inside 10.0.0.0/24."],
               "router_id": ["The selected router id is invalid."],
               "excluded": ["The excluded address 10.9.9.9 is outside 10.0.0.0/24.",
                            "The excluded entry \"nope\" is not a valid IPv4 address."]}),
    );
    let odd = json!({"name": "P", "cidr": "10.0.0.0/24", "kind": "pppoe",
                     "gateway": "10.0.0.255"});
    let (status, body) = app.post("/api/v1/ip-pools", &odd).await;
    assert_refused(
        status,
        &body,
        json!({"name": ["The name must be at least 2 characters."],
               "kind": ["The selected kind is invalid."],
               "gateway": ["The gateway may not be the network or broadcast address of 10.0.0.0/24."]}),
    );
    create_pool(
        &app,
        json!({"name": "Pool", "cidr": "10.0.0.0/24", "kind": "static"}),
    )
    .await;
    let taken = json!({"name": "POOL", "cidr": "10.0.0.0/24", "kind": "static"});
    let (status, body) = app.post("/api/v1/ip-pools", &taken).await;
    assert_refused(
        status,
        &body,
        json!({"name": ["The name has already been taken."]}),
    );
    app.stop().await;
}

async fn network_and_kind_stay_while_addresses_are_assigned(app: TestApp) {
    let pool = create_pool(
        &app,
        json!({"name": "Pool", "cidr": "10.0.0.0/29", "kind": "static"}),
    )
    .await;
    let id = pool["id"].as_i64().unwrap();
    let item = format!("/api/v1/ip-pools/{id}");
    assert_eq!(assign(&app, id, 1).await, "10.0.0.1");
    assert_eq!(assign(&app, id, 2).await, "10.0.0.2");
    let (status, body) = app
        .patch(
            &item,
            &json!({"cidr": "10.0.0.0/28", "kind": "dynamic", "gateway": "10.0.0.2",
                    "excluded": ["10.0.0.1", "10.0.0.6"]}),
        )
        .await;
    assert_refused(
        status,
        &body,
        json!({"cidr": ["The cidr cannot change while 2 addresses are assigned."],
               "kind": ["The kind cannot change while 2 addresses are assigned."],
               "gateway": ["The gateway 10.0.0.2 is assigned to a service."],
               "excluded": ["The excluded address 10.0.0.1 is assigned to a service."]}),
    );
    // A new network moves the stored gateway with it: it must still lie inside.
    lastmile_core::network::release(&mut app.core().db.conn(), 1, Utc::now())
        .await
        .unwrap();
    lastmile_core::network::release(&mut app.core().db.conn(), 2, Utc::now())
        .await
        .unwrap();
    let (status, body) = app.patch(&item, &json!({"gateway": "10.0.0.6"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app.patch(&item, &json!({"cidr": "10.0.1.0/24"})).await;
    assert_refused(
        status,
        &body,
        json!({"gateway": ["The gateway must be inside 10.0.1.0/24."]}),
    );
    let (status, body) = app
        .patch(
            &item,
            &json!({"cidr": "10.0.1.0/24", "gateway": "10.0.1.1", "kind": "dynamic"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["ip_pool"]["usage"], Value::Null);
    app.stop().await;
}

async fn deleting_a_pool_in_use_reports_the_counts(app: TestApp) {
    let pool = create_pool(
        &app,
        json!({"name": "Pool", "cidr": "10.0.0.0/29", "kind": "static"}),
    )
    .await;
    let id = pool["id"].as_i64().unwrap();
    let item = format!("/api/v1/ip-pools/{id}");
    assign(&app, id, 7001).await;
    let now = Utc::now();
    let plan: i64 = on_db!(&app.core().db, pool => sqlx::query_scalar(
        "INSERT INTO plans (name, download_kbps, upload_kbps, monthly_fee_minor, currency, \
         ip_pool_id, created_at, updated_at) VALUES ('Static 10', 10000, 5000, 2500, 'USD', \
         $1, $2, $2) RETURNING id")
        .bind(id).bind(now).fetch_one(pool).await)
    .unwrap();
    let live = insert_service(&app, 1, "ip_pool_id", id, "suspended").await;
    let (status, body) = app.delete(&item).await;
    assert_refused(
        status,
        &body,
        json!({"ip_pool": ["The IP pool has 1 assigned address and is used by 1 plan and 1 service."]}),
    );
    lastmile_core::network::release(&mut app.core().db.conn(), 7001, now)
        .await
        .unwrap();
    execute(
        &app,
        "UPDATE plans SET ip_pool_id = NULL WHERE ip_pool_id = $1",
        id,
    )
    .await;
    let (status, body) = app.delete(&item).await;
    assert_refused(
        status,
        &body,
        json!({"ip_pool": ["The IP pool is used by 1 service."]}),
    );
    execute(
        &app,
        "UPDATE services SET status = 'terminated' WHERE id = $1",
        live,
    )
    .await;
    let (status, body) = app.delete(&item).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (plan_pool, service_pool): (Option<i64>, Option<i64>) =
        on_db!(&app.core().db, pool => sqlx::query_as(
            "SELECT p.ip_pool_id, s.ip_pool_id FROM plans p, services s WHERE p.id = $1 AND s.id = $2")
            .bind(plan).bind(live).fetch_one(pool).await)
        .unwrap();
    assert_eq!((plan_pool, service_pool), (None, None));
    app.stop().await;
}

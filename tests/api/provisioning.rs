//! Provisioning a service as a durable job: queued with 202, run by the workers (at once
//! or at its scheduled time), leaving the service on its router, VLAN, address and plan,
//! active, with the RADIUS rows to match; refused per field, for a terminated service, and
//! dead with its reason when the service was terminated before the job ran.

use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use lastmile_core::clock::Clock;
use lastmile_core::radius_rows::RadiusRow;
use lastmile_tests::{StatusCode, TestApp, engine_tests, json};
use serde_json::Value;

use crate::services::{customer, plan, rows, service};

engine_tests!(
    a_pending_service_is_provisioned_with_router_vlan_and_a_static_address,
    a_scheduled_provisioning_waits_for_its_time,
    bad_provisioning_fields_are_reported_on_each_field,
    a_terminated_service_cannot_be_provisioned,
    the_job_of_a_service_terminated_before_it_ran_is_dead_with_its_reason,
);

/// A router; answers its id.
async fn router(app: &TestApp) -> i64 {
    let body = json!({"name": "Edge 1", "ip_address": "192.0.2.1", "kind": "mikrotik",
        "secret": "provisioning-secret"});
    let (status, body) = app.post("/api/v1/routers", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["data"]["router"]["id"].as_i64().unwrap()
}

/// A static pool of `router`; answers its id.
async fn static_pool(app: &TestApp, router: i64, cidr: &str, gateway: &str) -> i64 {
    let body = json!({"name": format!("Pool {cidr}"), "cidr": cidr, "gateway": gateway,
        "router_id": router, "kind": "static"});
    let (status, body) = app.post("/api/v1/ip-pools", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["data"]["ip_pool"]["id"].as_i64().unwrap()
}

fn at(app: &TestApp, after: chrono::Duration) -> String {
    (Clock::now(&app.clock) + after).to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn provision(app: &TestApp, id: i64, body: &Value) -> (StatusCode, Value) {
    app.post(&format!("/api/v1/services/{id}/provision"), body)
        .await
}

/// Waits (up to 60 s of real time) until job `id` is in `status`; answers it.
async fn job_in(app: &TestApp, id: i64, status: &str) -> Value {
    let started = Instant::now();
    loop {
        let (code, body) = app.get(&format!("/api/v1/provisioning-jobs/{id}")).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        let job = &body["data"]["provisioning_job"];
        if job["status"] == json!(status) {
            return job.clone();
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn shown(app: &TestApp, id: i64) -> Value {
    let (status, body) = app.get(&format!("/api/v1/services/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["service"].clone()
}

async fn a_pending_service_is_provisioned_with_router_vlan_and_a_static_address(app: TestApp) {
    let router = router(&app).await;
    static_pool(&app, router, "100.64.0.0/24", "100.64.0.1").await;
    let basic = plan(&app, "Basic", 10.0, 2.0).await;
    let (customer, _) = customer(&app, "Pia", "+15550000301").await;
    let pending = service(
        &app,
        customer,
        json!({"plan_id": basic, "username": "pia", "password": "pw1234",
            "scheduled_activation": at(&app, chrono::Duration::hours(2))}),
    )
    .await;
    let id = pending["id"].as_i64().unwrap();
    assert_eq!(pending["status"], json!("pending_activation"));

    let body = json!({"provisioning_data": {"router_id": router, "vlan_id": 120,
        "ip_assignment": "static"}, "priority": "high"});
    let before = Clock::now(&app.clock);
    let (status, answer) = provision(&app, id, &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let queued = &answer["data"]["provisioning_job"];
    let job_id = queued["provisioning_job_id"].as_i64().unwrap();
    let estimated = queued["estimated_completion"].as_str().unwrap();
    let estimated: DateTime<Utc> = estimated.parse().unwrap();
    let expected = chrono::Duration::seconds(5);
    assert!(
        estimated >= before + expected && estimated <= Clock::now(&app.clock) + expected,
        "{estimated}"
    );
    assert_eq!(
        queued,
        &json!({"provisioning_job_id": job_id, "service_id": id, "status": "queued",
            "priority": "high", "estimated_completion": queued["estimated_completion"],
            "created_at": queued["created_at"], "kind": "provisioning.activate"})
    );

    let job = job_in(&app, job_id, "succeeded").await;
    assert_eq!(job["priority"], json!(10));
    assert_eq!(job["ordering_key"], json!("radius:pia"));
    assert_eq!(
        job["result"],
        json!(format!(
            "Service {id} provisioned: active, router {router}, VLAN 120, static 100.64.0.2, \
             plan {basic}"
        ))
    );
    let done = shown(&app, id).await;
    assert_eq!(done["status"], json!("active"));
    assert_eq!(done["router_id"], json!(router));
    assert_eq!(done["vlan_id"], json!(120));
    assert_eq!(done["ip_address"], json!("100.64.0.2"));
    assert_eq!(
        rows(&app, "pia").await.reply,
        vec![RadiusRow::new("Framed-IP-Address", ":=", "100.64.0.2")]
    );

    // The provisioning jobs list it; provisioned again, nothing more changes.
    let (_, list) = app.get("/api/v1/provisioning-jobs").await;
    assert_eq!(list["data"]["provisioning_jobs"][0]["id"], json!(job_id));
    let (status, again) = provision(&app, id, &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{again}");
    let second = again["data"]["provisioning_job"]["provisioning_job_id"]
        .as_i64()
        .unwrap();
    job_in(&app, second, "succeeded").await;
    let after = shown(&app, id).await;
    assert_eq!(after["ip_address"], json!("100.64.0.2"));
    assert_eq!(after["updated_at"], done["updated_at"]);
}

async fn a_scheduled_provisioning_waits_for_its_time(app: TestApp) {
    let basic = plan(&app, "Basic", 10.0, 2.0).await;
    let fast = plan(&app, "Fast", 100.0, 20.0).await;
    let (customer, _) = customer(&app, "Quinn", "+15550000302").await;
    let active = service(
        &app,
        customer,
        json!({"plan_id": basic, "password": "pw1234"}),
    )
    .await;
    let id = active["id"].as_i64().unwrap();
    let when = at(&app, chrono::Duration::hours(1));
    let body = json!({"provisioning_data": {"bandwidth_profile": "fast",
        "ip_assignment": "dynamic"}, "scheduled_time": when});
    let (status, answer) = provision(&app, id, &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let queued = &answer["data"]["provisioning_job"];
    assert_eq!(queued["priority"], json!("normal"));
    let estimated: DateTime<Utc> = queued["estimated_completion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(estimated.to_rfc3339_opts(SecondsFormat::Secs, true), when);
    let job_id = queued["provisioning_job_id"].as_i64().unwrap();

    tokio::time::sleep(Duration::from_millis(300)).await;
    job_in(&app, job_id, "queued").await;
    assert_eq!(shown(&app, id).await["plan_id"], json!(basic));

    app.clock.advance(chrono::Duration::minutes(61));
    let job = job_in(&app, job_id, "succeeded").await;
    assert_eq!(
        job["result"],
        json!(format!(
            "Service {id} provisioned: active, dynamic, plan {fast}"
        ))
    );
    assert_eq!(shown(&app, id).await["plan_id"], json!(fast));
}

async fn bad_provisioning_fields_are_reported_on_each_field(app: TestApp) {
    let basic = plan(&app, "Basic", 10.0, 2.0).await;
    let (customer, _) = customer(&app, "Rae", "+15550000303").await;
    let id = service(&app, customer, json!({"plan_id": basic})).await["id"]
        .as_i64()
        .unwrap();
    let body = json!({"provisioning_data": {"router_id": 999_999, "vlan_id": 5000,
        "ip_assignment": "sometimes", "bandwidth_profile": "No such plan"},
        "priority": "never", "scheduled_time": at(&app, chrono::Duration::hours(-1))});
    let (status, body) = provision(&app, id, &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    for field in [
        "provisioning_data.router_id",
        "provisioning_data.vlan_id",
        "provisioning_data.ip_assignment",
        "provisioning_data.bandwidth_profile",
        "priority",
        "scheduled_time",
    ] {
        assert!(body["errors"][field].is_array(), "{field}: {body}");
    }

    // A plan no longer for sale, and a body of the wrong shape.
    let (status, archived) = app
        .patch(
            &format!("/api/v1/plans/{basic}"),
            &json!({"status": "archived"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{archived}");
    let body = json!({"provisioning_data": {"bandwidth_profile": basic}});
    let (status, body) = provision(&app, id, &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["errors"]["provisioning_data.bandwidth_profile"][0],
        json!("The selected plan is archived and cannot be sold.")
    );
    let body = json!({"provisioning_data": {"bandwidth_profile": "Basic\u{0}"}});
    let (status, body) = provision(&app, id, &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["errors"]["provisioning_data.bandwidth_profile"][0],
        json!("The selected bandwidth profile is invalid.")
    );
    let (status, body) = provision(&app, id, &json!({"provisioning_data": 3})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["errors"]["provisioning_data"].is_array(), "{body}");

    let (status, body) = provision(&app, 999_999, &json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

async fn a_terminated_service_cannot_be_provisioned(app: TestApp) {
    let basic = plan(&app, "Basic", 10.0, 2.0).await;
    let (customer, _) = customer(&app, "Sol", "+15550000304").await;
    let id = service(&app, customer, json!({"plan_id": basic})).await["id"]
        .as_i64()
        .unwrap();
    let (status, body) = app
        .post(&format!("/api/v1/services/{id}/terminate"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = provision(&app, id, &json!({"priority": "urgent"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

async fn the_job_of_a_service_terminated_before_it_ran_is_dead_with_its_reason(app: TestApp) {
    let basic = plan(&app, "Basic", 10.0, 2.0).await;
    let (customer, _) = customer(&app, "Tam", "+15550000305").await;
    let id = service(&app, customer, json!({"plan_id": basic})).await["id"]
        .as_i64()
        .unwrap();
    let body = json!({"provisioning_data": {"vlan_id": 7},
        "scheduled_time": at(&app, chrono::Duration::minutes(30))});
    let (status, answer) = provision(&app, id, &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let job_id = answer["data"]["provisioning_job"]["provisioning_job_id"]
        .as_i64()
        .unwrap();
    let (status, body) = app
        .post(&format!("/api/v1/services/{id}/terminate"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    app.clock.advance(chrono::Duration::minutes(31));
    let job = job_in(&app, job_id, "dead").await;
    let reason = format!("Service {id} is terminated; it was not provisioned.");
    assert_eq!(job["last_error"], json!(reason));
    assert_eq!(job["result"], json!(reason));
    assert_eq!(shown(&app, id).await["vlan_id"], Value::Null);
}

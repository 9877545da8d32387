//! Provisioning proved against a real FreeRADIUS reading the test's own database with the
//! configuration `lastmile radius config` writes: a subscriber authenticates with the
//! plan's speed and static address, is refused for a wrong password, MAC or an expired
//! login, is cut off by suspension on the very next request and comes back when restored;
//! an open session is disconnected at its router with a signed Disconnect-Request; a
//! router that never answers leaves the job retrying, then dead.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use lastmile_core::radius::{Attribute, Code, kind};
use lastmile_tests::radius::{FreeRadius, Login, TestNas, freeradius_available};
use lastmile_tests::{StatusCode, TestApp, engine_tests, json};
use serde_json::Value;

use crate::services::{customer, plan, service};

mod model;

engine_tests!(
    a_subscriber_gets_the_plans_speed_and_is_cut_off_and_restored_on_the_next_request,
    a_suspended_subscribers_open_session_is_disconnected_at_its_router,
    a_plan_speed_change_sends_its_online_sessions_the_new_rate,
);

mod silent {
    use super::*;

    engine_tests!(with = quick_nas; a_router_that_never_answers_leaves_the_job_retrying_then_dead);
}

mod walled {
    use super::*;

    engine_tests!(with = walled_garden; a_suspended_subscriber_is_let_into_the_walled_garden_only);
}

fn walled_garden(settings: &mut lastmile::Settings) {
    settings.services = lastmile_core::services::ServiceSettings {
        suspended: lastmile_core::services::SuspendedMode::WalledGarden {
            address_list: Some("unpaid".into()),
            pool: None,
        },
    };
}

async fn a_suspended_subscriber_is_let_into_the_walled_garden_only(app: TestApp) {
    if !freeradius_available() {
        return;
    }
    let plan = plan(&app, "Home 100", 100.0, 10.0).await;
    let (customer_id, _) = customer(&app, "Walled Wanda", "+15550000205").await;
    let wanda = service(
        &app,
        customer_id,
        json!({"plan_id": plan, "username": "wanda", "password": "s3cret-pw"}),
    )
    .await;
    let radius = FreeRadius::start(&app, SECRET).await;
    let list = |reply: &lastmile_core::radius::Reply| {
        reply
            .packet
            .vendor_string(lastmile_core::radius::vendor::MIKROTIK, 19)
            .map(str::to_owned)
    };
    let reply = radius.auth("wanda", "s3cret-pw", Vec::new()).await;
    assert_eq!(Login::of(&reply), accepted("10M/100M", None));
    assert_eq!(list(&reply), None);

    act(&app, &format!("/api/v1/services/{}/suspend", wanda["id"])).await;
    let reply = radius.auth("wanda", "s3cret-pw", Vec::new()).await;
    assert_eq!(
        Login::of(&reply),
        Login::Accepted {
            rate: None,
            ip: None
        },
        "in the garden, without the plan's speed"
    );
    assert_eq!(list(&reply).as_deref(), Some("unpaid"));
    assert_eq!(radius.login("wanda", "wrong").await, Login::Rejected);

    act(&app, &format!("/api/v1/services/{}/unsuspend", wanda["id"])).await;
    let reply = radius.auth("wanda", "s3cret-pw", Vec::new()).await;
    assert_eq!(Login::of(&reply), accepted("10M/100M", None));
    let (_, body) = app.get("/api/v1/provisioning/drift").await;
    assert_eq!(body["meta"]["total"], json!(0), "{body}");
}

const SECRET: &str = "radius-test-secret";

fn quick_nas(settings: &mut lastmile::Settings) {
    settings.nas = lastmile_core::provisioning::NasSettings {
        timeout: Duration::from_millis(50),
        retransmits: 0,
        backoff: lastmile_core::jobs::Backoff::Schedule(vec![Duration::from_secs(10)]),
    };
}

fn accepted(rate: &str, ip: Option<Ipv4Addr>) -> Login {
    Login::Accepted {
        rate: Some(rate.to_owned()),
        ip,
    }
}

async fn act(app: &TestApp, path: &str) {
    let (status, body) = app
        .post(path, &json!({"action": path.rsplit('/').next()}))
        .await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
}

/// A static pool 100.64.0.0/24 with its gateway at .1; answers its id.
pub(crate) async fn pool(app: &TestApp, cidr: &str, gateway: &str) -> i64 {
    let body = json!({"name": format!("Pool {cidr}"), "cidr": cidr, "gateway": gateway,
        "kind": "static"});
    let (status, body) = app.post("/api/v1/ip-pools", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["data"]["ip_pool"]["id"].as_i64().unwrap()
}

async fn a_subscriber_gets_the_plans_speed_and_is_cut_off_and_restored_on_the_next_request(
    app: TestApp,
) {
    if !freeradius_available() {
        return;
    }
    let home = plan(&app, "Home 100", 100.0, 10.0).await;
    let fast = plan(&app, "Fast 300", 300.0, 30.5).await;
    let pool = pool(&app, "100.64.0.0/24", "100.64.0.1").await;
    let (customer_id, _) = customer(&app, "Radius Rita", "+15550000201").await;
    let rita = service(
        &app,
        customer_id,
        json!({"plan_id": home, "username": "rita", "password": "s3cret-pw",
            "mac": "AA:BB:CC:00:11:22", "ip_pool_id": pool, "static_ip": "100.64.0.10"}),
    )
    .await;
    let id = rita["id"].as_i64().unwrap();
    assert_eq!(rita["ip_address"], json!("100.64.0.10"));
    let expired = service(
        &app,
        customer_id,
        json!({"plan_id": home, "username": "gone", "password": "s3cret-pw",
            "expiration": "2020-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(expired["status"], json!("active"));
    let radius = FreeRadius::start(&app, SECRET).await;
    let mac = |m: &str| vec![Attribute::string(kind::CALLING_STATION_ID, m)];
    let login = |extra: Vec<Attribute>| {
        let radius = &radius;
        async move { Login::of(&radius.auth("rita", "s3cret-pw", extra).await) }
    };
    let ip = Some(Ipv4Addr::new(100, 64, 0, 10));

    assert_eq!(
        login(mac("AA:BB:CC:00:11:22")).await,
        accepted("10M/100M", ip)
    );
    assert_eq!(login(mac("AA:BB:CC:00:11:99")).await, Login::Rejected);
    assert_eq!(radius.login("rita", "wrong").await, Login::Rejected);
    assert_eq!(radius.login("gone", "s3cret-pw").await, Login::Rejected);
    assert_eq!(radius.login("nobody", "s3cret-pw").await, Login::Rejected);

    act(&app, &format!("/api/v1/services/{id}/suspend")).await;
    assert_eq!(login(mac("AA:BB:CC:00:11:22")).await, Login::Rejected);
    act(&app, &format!("/api/v1/services/{id}/unsuspend")).await;
    assert_eq!(
        login(mac("AA:BB:CC:00:11:22")).await,
        accepted("10M/100M", ip)
    );

    let (status, body) = app
        .post(
            &format!("/api/v1/services/{id}/change-plan"),
            &json!({"plan_id": fast}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        login(mac("AA:BB:CC:00:11:22")).await,
        accepted("30500k/300M", ip)
    );

    // A per-service speed beats the plan's (a user := row over the group's =).
    let (status, body) = app
        .patch(
            &format!("/api/v1/services/{id}"),
            &json!({"speed_download_mbps": 50, "speed_upload_mbps": 5}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        login(mac("AA:BB:CC:00:11:22")).await,
        accepted("5M/50M", ip)
    );

    let path = format!("/api/v1/customers/{customer_id}/action");
    let (status, _) = app.post(&path, &json!({"action": "suspend"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(login(mac("AA:BB:CC:00:11:22")).await, Login::Rejected);
    let (status, _) = app.post(&path, &json!({"action": "activate"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        login(mac("AA:BB:CC:00:11:22")).await,
        accepted("5M/50M", ip)
    );

    act(&app, &format!("/api/v1/services/{id}/terminate")).await;
    assert_eq!(login(mac("AA:BB:CC:00:11:22")).await, Login::Rejected);

    let (_, body) = app.get("/api/v1/provisioning/drift").await;
    assert_eq!(body["meta"]["total"], json!(0), "{body}");
}

/// A router at 127.0.0.1 whose CoA port is `nas`'s; answers its id.
async fn router(app: &TestApp, nas: &TestNas) -> i64 {
    let body = json!({"name": "Test NAS", "ip_address": "127.0.0.1", "kind": "mikrotik",
        "secret": SECRET, "coa_port": nas.port()});
    let (status, body) = app.post("/api/v1/routers", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["data"]["router"]["id"].as_i64().unwrap()
}

/// Waits (up to 60 s of real time) for the only provisioning job to satisfy `done`.
async fn provisioning_job(app: &TestApp, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let (status, body) = app.get("/api/v1/provisioning-jobs").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if let Some(job) = body["data"]["provisioning_jobs"].get(0)
            && done(job)
        {
            return job.clone();
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{body}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn a_suspended_subscribers_open_session_is_disconnected_at_its_router(app: TestApp) {
    if !freeradius_available() {
        return;
    }
    let nas = TestNas::bind(SECRET).await;
    router(&app, &nas).await;
    let plan = plan(&app, "Home 100", 100.0, 10.0).await;
    let (customer_id, _) = customer(&app, "Session Sam", "+15550000202").await;
    let sam = service(
        &app,
        customer_id,
        json!({"plan_id": plan, "username": "sam", "password": "s3cret-pw"}),
    )
    .await;
    let radius = FreeRadius::start(&app, SECRET).await;
    assert_eq!(
        radius.login("sam", "s3cret-pw").await,
        accepted("10M/100M", None)
    );
    radius
        .start_session("sam", "sess-0001", Some(Ipv4Addr::new(100, 64, 0, 77)))
        .await;
    // One session at a time: the open session now refuses a second login.
    assert_eq!(radius.login("sam", "s3cret-pw").await, Login::Rejected);

    act(&app, &format!("/api/v1/services/{}/suspend", sam["id"])).await;
    let request = nas
        .receive(Duration::from_secs(30), Some(Code::DisconnectAck))
        .await
        .expect("a Disconnect-Request reaches the router");
    assert_eq!(request.code, Code::DisconnectRequest);
    let text = |k: u8| {
        request
            .attribute(k)
            .and_then(|a| a.as_str())
            .map(str::to_owned)
    };
    assert_eq!(text(kind::USER_NAME).as_deref(), Some("sam"));
    assert_eq!(text(kind::ACCT_SESSION_ID).as_deref(), Some("sess-0001"));
    assert!(request.attribute(kind::MESSAGE_AUTHENTICATOR).is_some());
    assert_eq!(
        request.framed_ip_address(),
        Some(Ipv4Addr::new(100, 64, 0, 77))
    );
    let job = provisioning_job(&app, |job| job["status"] == json!("succeeded")).await;
    assert_eq!(job["kind"], json!("radius.disconnect"));
    assert!(
        job["result"]
            .as_str()
            .unwrap()
            .starts_with("Disconnect-ACK"),
        "{job}"
    );
}

/// An open session of `user` at NAS 127.0.0.1, as FreeRADIUS records one.
async fn open_session(app: &TestApp, user: &str, session: &str) {
    let db = &app.core().db;
    lastmile_core::on_conn!(&mut db.conn(), c => sqlx::query(
        "INSERT INTO radacct (acctsessionid, acctuniqueid, username, nasipaddress) \
         VALUES ($1, $2, $3, '127.0.0.1')")
        .bind(session)
        .bind(format!("unique-{session}"))
        .bind(user)
        .execute(c)
        .await
        .map(drop))
    .expect("open session");
}

async fn a_plan_speed_change_sends_its_online_sessions_the_new_rate(app: TestApp) {
    let nas = TestNas::bind(SECRET).await;
    router(&app, &nas).await;
    let plan = plan(&app, "Home 100", 100.0, 10.0).await;
    let (customer_id, _) = customer(&app, "Online Olga", "+15550000204").await;
    service(
        &app,
        customer_id,
        json!({"plan_id": plan, "username": "olga"}),
    )
    .await;
    open_session(&app, "olga", "sess-olga").await;

    let (status, body) = app
        .patch(
            &format!("/api/v1/plans/{plan}"),
            &json!({"speed_download_mbps": 200, "speed_upload_mbps": 20}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let request = nas
        .receive(Duration::from_secs(30), Some(Code::CoaAck))
        .await
        .expect("a CoA-Request reaches the router");
    assert_eq!(request.code, Code::CoaRequest);
    assert_eq!(
        request.vendor_string(lastmile_core::radius::vendor::MIKROTIK, 8),
        Some("20M/200M")
    );
    let text = |k: u8| {
        request
            .attribute(k)
            .and_then(|a| a.as_str())
            .map(str::to_owned)
    };
    assert_eq!(text(kind::USER_NAME).as_deref(), Some("olga"));
    assert_eq!(text(kind::ACCT_SESSION_ID).as_deref(), Some("sess-olga"));
    let job = provisioning_job(&app, |job| job["status"] == json!("succeeded")).await;
    assert_eq!(job["kind"], json!("radius.coa"));
    assert!(
        job["result"].as_str().unwrap().starts_with("CoA-ACK"),
        "{job}"
    );
}

async fn a_router_that_never_answers_leaves_the_job_retrying_then_dead(app: TestApp) {
    let nas = TestNas::bind(SECRET).await;
    router(&app, &nas).await;
    let plan = plan(&app, "Home 100", 100.0, 10.0).await;
    let (customer_id, _) = customer(&app, "Silent Sue", "+15550000203").await;
    let sue = service(
        &app,
        customer_id,
        json!({"plan_id": plan, "username": "sue"}),
    )
    .await;
    open_session(&app, "sue", "sess-9").await;

    act(&app, &format!("/api/v1/services/{}/suspend", sue["id"])).await;
    for attempt in 1..=6 {
        let request = nas.receive(Duration::from_secs(30), None).await;
        assert!(request.is_some(), "attempt {attempt} reaches the router");
        let job = provisioning_job(&app, |job| {
            job["attempts"] == json!(attempt) && job["status"] != json!("running")
        })
        .await;
        assert!(
            job["last_error"]
                .as_str()
                .unwrap()
                .starts_with("no answer from 127.0.0.1:"),
            "{job}"
        );
        if attempt < 6 {
            assert_eq!(job["status"], json!("failed"), "{job}");
            app.clock.advance(chrono::Duration::seconds(11));
        } else {
            assert_eq!(job["status"], json!("dead"), "{job}");
        }
    }
    // Given up: operators and webhooks learn it.
    let (status, body) = app
        .get("/api/v1/audit-log?action=provisioning.failed")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["meta"]["total"], json!(1), "{body}");
}

//! Provisioning on PostgreSQL, measured from outside:
//!
//! 1. **Services over REST**: `BENCH_REST_SERVICES` services created (and so activated,
//!    with their RADIUS rows) through the edge by 16 concurrent clients: services/s.
//! 2. **FreeRADIUS on our tables**: `BENCH_SERVICES` active services (bulk-loaded with the
//!    rows the product writes, then checked by the drift report, whose duration is
//!    printed); a real FreeRADIUS started with `lastmile radius config` answers PAP
//!    Access-Requests for random subscribers from `BENCH_AUTH_CONCURRENCY` requests in
//!    flight for `BENCH_AUTH_SECONDS`: Access-Accepts/s, p50/p99.
//! 3. **A plan's speed change to its online sessions**: `BENCH_SESSIONS` open sessions on
//!    one router (a simulated NAS answering CoA-ACK); the time from the plan's PATCH to
//!    the last CoA job done.
//!
//! Figures, not a pass/fail test.
//!
//! ```sh
//! LASTMILE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!     cargo bench -p lastmile-tests --bench provisioning
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lastmile_core::on_conn;
use lastmile_core::radius::{Code, Packet, access_request};
use lastmile_tests::radius::{FreeRadius, freeradius_available};
use lastmile_tests::{Engine, StatusCode, TestApp, json};
use rand::Rng;
use tokio::net::UdpSocket;

const SECRET: &str = "bench-radius-secret";

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

async fn sql(app: &TestApp, text: &str, binds: &[i64]) {
    let db = &app.core().db;
    on_conn!(&mut db.conn(), c => {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(text.to_owned()));
        for b in binds {
            query = query.bind(*b);
        }
        query.execute(c).await.map(drop)
    })
    .expect(text);
}

async fn count(app: &TestApp, text: &str) -> i64 {
    let db = &app.core().db;
    on_conn!(&mut db.conn(), c =>
        sqlx::query_scalar(sqlx::AssertSqlSafe(text.to_owned())).fetch_one(c).await)
    .expect(text)
}

async fn create_plan(app: &TestApp, name: &str) -> i64 {
    let body = json!({"name": name, "speed_download_mbps": 100, "speed_upload_mbps": 10,
        "monthly_fee": 30});
    let (status, body) = app.post("/api/v1/plans", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["data"]["plan"]["id"].as_i64().unwrap()
}

/// 1. Services created over REST by 16 clients.
async fn rest_services(app: &TestApp, plan: i64, customer: i64, total: usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..16 {
        let (next, http, url, key) = (
            next.clone(),
            app.http.clone(),
            app.url(&format!("/api/v1/customers/{customer}/services/internet")),
            app.admin_key.clone(),
        );
        clients.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < total {
                let answer = http
                    .post(&url)
                    .header("X-API-Key", &key)
                    .json(&json!({"plan_id": plan}))
                    .send()
                    .await
                    .expect("create service");
                assert_eq!(answer.status(), StatusCode::CREATED);
            }
        }));
    }
    for client in clients {
        client.await.expect("client");
    }
    let elapsed = started.elapsed();
    println!(
        "services over REST: {total} created and activated in {:.2} s = {:.0} services/s",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
}

/// Bulk-loads `total` active services `bench1…` with exactly the rows the product writes.
async fn bulk_services(app: &TestApp, plan: i64, customer: i64, total: i64) {
    let started = Instant::now();
    sql(
        app,
        "INSERT INTO services (customer_id, plan_id, status, username, password, activated_at, \
         created_at, updated_at) SELECT $1, $2, 'active', 'bench' || g, 'pw' || g, now(), now(), \
         now() FROM generate_series(1, $3) g",
        &[customer, plan, total],
    )
    .await;
    sql(
        app,
        "INSERT INTO radcheck (username, attribute, op, value) \
         SELECT 'bench' || g, 'Cleartext-Password', ':=', 'pw' || g FROM generate_series(1, $1) g \
         UNION ALL SELECT 'bench' || g, 'Simultaneous-Use', ':=', '1' FROM generate_series(1, $1) g",
        &[total],
    )
    .await;
    sql(
        app,
        &format!(
            "INSERT INTO radusergroup (username, groupname, priority) \
             SELECT 'bench' || g, 'plan-{plan}', 1 FROM generate_series(1, $1) g"
        ),
        &[total],
    )
    .await;
    sql(app, "ANALYZE", &[]).await;
    println!(
        "bulk load: {total} active services with their RADIUS rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// 2. Access-Requests to FreeRADIUS for random subscribers among the first `users`.
async fn auth(radius: &FreeRadius, users: u64, concurrency: usize, seconds: u64) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let target = radius.auth;
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut rejects = 0u64;
            while Instant::now() < deadline {
                let n = rand::rng().random_range(1..=users);
                let started = Instant::now();
                let reply = access_request(
                    target,
                    SECRET.as_bytes(),
                    &format!("bench{n}"),
                    &format!("pw{n}"),
                    Vec::new(),
                    Duration::from_secs(2),
                    1,
                )
                .await;
                latencies.push(started.elapsed());
                if !matches!(reply, Ok(ref r) if r.packet.code == Code::AccessAccept) {
                    rejects += 1;
                }
            }
            (latencies, rejects)
        }));
    }
    let mut all = Vec::new();
    let mut rejects = 0;
    for worker in workers {
        let (latencies, r) = worker.await.expect("worker");
        all.extend(latencies);
        rejects += r;
    }
    all.sort();
    println!(
        "FreeRADIUS auth on {users} services: {:.0} Access-Requests/s ({} in flight), \
         p50 {:.2} ms, p99 {:.2} ms, {rejects} not accepted",
        all.len() as f64 / seconds as f64,
        concurrency,
        percentile(&all, 0.50).as_secs_f64() * 1000.0,
        percentile(&all, 0.99).as_secs_f64() * 1000.0,
    );
}

/// A router that answers every CoA and Disconnect with an ACK.
async fn simulated_nas() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind NAS");
    let port = socket.local_addr().expect("address").port();
    tokio::spawn(async move {
        let mut buffer = vec![0; 4096];
        loop {
            let Ok((length, from)) = socket.recv_from(&mut buffer).await else {
                continue;
            };
            let Ok(request) = Packet::decode(&buffer[..length]) else {
                continue;
            };
            let code = match request.code {
                Code::CoaRequest => Code::CoaAck,
                _ => Code::DisconnectAck,
            };
            if let Ok(bytes) = Packet::new(code, request.identifier)
                .encode_response(&request.authenticator, SECRET.as_bytes())
            {
                let _ = socket.send_to(&bytes, from).await;
            }
        }
    });
    port
}

/// 3. A plan's speed change to `sessions` online sessions.
async fn coa(app: &TestApp, plan: i64, sessions: i64) {
    let port = simulated_nas().await;
    let body = json!({"name": "Bench NAS", "ip_address": "127.0.0.1", "kind": "mikrotik",
        "secret": SECRET, "coa_port": port});
    let (status, body) = app.post("/api/v1/routers", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    sql(
        app,
        "INSERT INTO radacct (acctsessionid, acctuniqueid, username, nasipaddress, acctstarttime) \
         SELECT 's' || g, 'u' || g, 'bench' || g, '127.0.0.1', now() FROM generate_series(1, $1) g",
        &[sessions],
    )
    .await;
    let started = Instant::now();
    let (status, body) = app
        .patch(
            &format!("/api/v1/plans/{plan}"),
            &json!({"speed_download_mbps": 200, "speed_upload_mbps": 20}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let committed = started.elapsed();
    loop {
        let done = count(
            app,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'radius.coa' AND status = 'succeeded'",
        )
        .await;
        if done >= sessions {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1800),
            "CoA jobs stuck at {done}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = started.elapsed();
    println!(
        "plan speed change to {sessions} online sessions: PATCH committed (jobs enqueued) in \
         {:.2} s; last CoA-ACK job done after {:.2} s = {:.0} CoA/s",
        committed.as_secs_f64(),
        elapsed.as_secs_f64(),
        sessions as f64 / elapsed.as_secs_f64()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::var(lastmile_tests::POSTGRES_URL_VAR).is_err() {
        eprintln!("set LASTMILE_TEST_POSTGRES_URL: the benchmark runs on PostgreSQL");
        return;
    }
    if !freeradius_available() {
        return;
    }
    let services = env_number("BENCH_SERVICES", 100_000) as i64;
    let rest = env_number("BENCH_REST_SERVICES", 2_000) as usize;
    let sessions = env_number("BENCH_SESSIONS", 10_000) as i64;
    let app = TestApp::spawn(Engine::Postgres)
        .await
        .expect("PostgreSQL is configured");
    let customer = app.create_customer("Bench", "+15559990000").await["id"]
        .as_i64()
        .unwrap();
    let rest_plan = create_plan(&app, "Bench REST").await;
    rest_services(&app, rest_plan, customer, rest).await;

    let plan = create_plan(&app, "Bench bulk").await;
    bulk_services(&app, plan, customer, services).await;
    let started = Instant::now();
    let (status, body) = app.get("/api/v1/provisioning/drift?per_page=1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    println!(
        "drift report over {} services: {} rows differ, in {:.2} s",
        services + rest as i64,
        body["meta"]["total"],
        started.elapsed().as_secs_f64()
    );
    let radius = FreeRadius::start(&app, SECRET).await;
    auth(
        &radius,
        services as u64,
        env_number("BENCH_AUTH_CONCURRENCY", 32) as usize,
        env_number("BENCH_AUTH_SECONDS", 10),
    )
    .await;
    drop(radius);
    coa(&app, plan, sessions).await;
    app.stop().await;
}

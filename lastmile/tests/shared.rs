//! Two edges and one core sharing Redis behave as one deployment: one rate limit across
//! the edges, a key revoked through one edge refused by the other at once, and a Redis
//! outage that degrades to local limits instead of refusing traffic. Real `lastmile`
//! processes on the machine's PostgreSQL and Redis; ignored unless
//! `LASTMILE_TEST_POSTGRES_URL` was set at build time (Redis: `LASTMILE_TEST_REDIS_URL`,
//! default redis://127.0.0.1:6379; the outage test runs its own `redis-server`).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::{BIN, Core, Database, Process, authorized, free_port};

const KEY: &str = "lm_shared_limits_test_admin_key_0123456789";

fn redis_url() -> String {
    std::env::var("LASTMILE_TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "redis://127.0.0.1:6379".into())
}

/// A deployment: cores and two edges sharing one database and one Redis namespace; edge
/// i calls core i (modulo the cores).
struct Deployment {
    cores: Vec<Core>,
    _edges: Vec<Process>,
    edges: Vec<String>,
}

/// `count` cores on `database`, sharing `redis` under `prefix`, each answering gRPC.
async fn shared_cores(database: &Database, redis: &str, prefix: &str, count: usize) -> Vec<Core> {
    let env = [
        ("LASTMILE_REDIS_URL", redis),
        ("LASTMILE_REDIS_PREFIX", prefix),
    ];
    let mut cores = Vec::new();
    for _ in 0..count {
        cores.push(Core::start(database, KEY, 60_000, &env).await);
    }
    cores
}

async fn wait_until_ready(url: &str) {
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(answer) = client.get(format!("{url}/readyz")).send().await
            && answer.status().is_success()
        {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{url} not ready in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Deployment {
    async fn start(database: &Database, redis: &str, cores: usize) -> Deployment {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let prefix = format!("lmtest{}", uuid::Uuid::new_v4().simple());
        let cores = shared_cores(database, redis, &prefix, cores).await;
        let mut processes = Vec::new();
        let mut edges = Vec::new();
        for n in 0..2 {
            let http = format!("127.0.0.1:{}", free_port());
            let edge = Command::new(BIN)
                .arg("edge")
                .args(["--core-url", &cores[n % cores.len()].grpc])
                .args(["--http-addr", &http])
                .args(["--rate-limit-per-minute", "60"])
                .args(["--redis-url", redis])
                .args(["--redis-prefix", &prefix])
                .env("RUST_LOG", "warn")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start lastmile edge");
            processes.push(Process(edge));
            edges.push(format!("http://{http}"));
        }
        for edge in &edges {
            wait_until_ready(edge).await;
        }
        // Shared budgets are used once the edges reach Redis.
        for edge in &edges {
            wait_for_metric(edge, "lastmile_shared_limits_degraded", 0.0).await;
        }
        Deployment {
            cores,
            _edges: processes,
            edges,
        }
    }
}

async fn metric(edge: &str, name: &str) -> Option<f64> {
    let text = reqwest::get(format!("{edge}/metrics"))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find(|l| l.starts_with(name) && !l.starts_with('#'))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn wait_for_metric(edge: &str, name: &str, value: f64) {
    let started = Instant::now();
    loop {
        if metric(edge, name).await == Some(value) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{name} on {edge} never became {value} (now {:?})",
            metric(edge, name).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn get(client: &reqwest::Client, url: String, key: &str) -> reqwest::StatusCode {
    client
        .get(url)
        .header("X-API-Key", key)
        .send()
        .await
        .expect("request")
        .status()
}

/// 70 requests of one key, alternating between the two edges, `at_once` in flight: the
/// budget is 60 a minute for the deployment, not per edge.
async fn seventy_requests_share_one_budget(at_once: usize) {
    let database = Database::create().await;
    let deployment = Deployment::start(&database, &redis_url(), 1).await;
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut statuses = Vec::new();
    for wave in 0..70usize.div_ceil(at_once) {
        let calls = (wave * at_once..((wave + 1) * at_once).min(70)).map(|n| {
            let edge = &deployment.edges[n % 2];
            get(&client, format!("{edge}/api/v1/customers"), KEY)
        });
        statuses.extend(futures::future::join_all(calls).await);
    }
    let elapsed = started.elapsed();
    let ok = statuses.iter().filter(|s| s.as_u16() == 200).count();
    let limited = statuses.iter().filter(|s| s.as_u16() == 429).count();
    assert_eq!(ok + limited, 70, "{statuses:?}");
    // The budget is 60 a minute, refilled one a second: within the first second exactly
    // 60 pass (each later second could let one more through).
    let refills = usize::try_from(elapsed.as_secs()).unwrap_or(usize::MAX);
    if refills == 0 {
        assert_eq!((ok, limited), (60, 10), "one budget for both edges");
    } else {
        assert!(
            (60..=60 + refills).contains(&ok),
            "{ok} passed in {elapsed:?}"
        );
    }
    drop(deployment);
    database.drop_it().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "set LASTMILE_TEST_POSTGRES_URL to run on PostgreSQL"
)]
async fn two_edges_share_one_rate_limit() {
    seventy_requests_share_one_budget(14).await;
}

/// All 70 at once: each edge sends the checks that arrive together in one batch, and one
/// budget still lets exactly 60 through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "set LASTMILE_TEST_POSTGRES_URL to run on PostgreSQL"
)]
async fn two_edges_share_one_rate_limit_under_a_burst() {
    seventy_requests_share_one_budget(70).await;
}

/// A customer's fields as the REST edge `edge` answers them, without its links (each edge
/// names itself in them).
async fn customer_through(client: &reqwest::Client, edge: &str, id: i64) -> serde_json::Value {
    let answer = client
        .get(format!("{edge}/api/v1/customers/{id}"))
        .header("X-API-Key", KEY)
        .send()
        .await
        .expect("request");
    assert_eq!(answer.status(), 200, "{edge}");
    let mut body: serde_json::Value = answer.json().await.expect("JSON");
    let mut customer = body["data"]["customer"].take();
    customer.as_object_mut().expect("an object").remove("links");
    customer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "set LASTMILE_TEST_POSTGRES_URL to run on PostgreSQL"
)]
async fn every_process_reads_what_another_wrote() {
    use lastmile_proto::v1::customer_service_client::CustomerServiceClient;
    use lastmile_proto::v1::{CustomerRef, GetCustomerRequest, customer_ref::Key};

    let database = Database::create().await;
    let deployment = Deployment::start(&database, &redis_url(), 2).await;
    let client = reqwest::Client::new();
    let (first, second) = (&deployment.edges[0], &deployment.edges[1]);
    // Written through the first edge and its core...
    let created = client
        .post(format!("{first}/api/v1/customers"))
        .header("X-API-Key", KEY)
        .json(&serde_json::json!({
            "first_name": "Wanjiru",
            "last_name": "Kamau",
            "password": "Str0ng!pass",
            "phone": "+254700000001",
        }))
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), 201);
    let created: serde_json::Value = created.json().await.expect("JSON");
    let mut created = created["data"]["customer"].clone();
    let id = created["id"].as_i64().expect("customer id");
    created.as_object_mut().expect("an object").remove("links");
    // ...read through the second edge and the other core, field for field.
    assert_eq!(customer_through(&client, second, id).await, created);
    // Changed through the second, read back through the first at once: no process
    // answers from a copy of its own.
    let changed = client
        .patch(format!("{second}/api/v1/customers/{id}"))
        .header("X-API-Key", KEY)
        .json(&serde_json::json!({"first_name": "Njeri"}))
        .send()
        .await
        .expect("update");
    assert_eq!(changed.status(), 200);
    let through_first = customer_through(&client, first, id).await;
    assert_eq!(through_first["first_name"], "Njeri");
    assert_eq!(through_first, customer_through(&client, second, id).await);
    // Each core answers the same over gRPC.
    for core in &deployment.cores {
        let request = authorized(
            KEY,
            GetCustomerRequest {
                customer: Some(CustomerRef {
                    key: Some(Key::Id(id)),
                }),
            },
        );
        let customer = CustomerServiceClient::new(core.channel().await)
            .get_customer(request)
            .await
            .expect("GetCustomer")
            .into_inner()
            .customer
            .expect("customer");
        assert_eq!(customer.first_name, "Njeri", "{}", core.grpc);
        assert_eq!(customer.phone, "+254700000001", "{}", core.grpc);
    }
    drop(deployment);
    database.drop_it().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "set LASTMILE_TEST_POSTGRES_URL to run on PostgreSQL"
)]
async fn a_key_revoked_through_one_edge_is_refused_by_the_other_at_once() {
    let database = Database::create().await;
    let deployment = Deployment::start(&database, &redis_url(), 1).await;
    let client = reqwest::Client::new();
    let (first, second) = (&deployment.edges[0], &deployment.edges[1]);
    let created: serde_json::Value = client
        .post(format!("{first}/api/v1/api-keys"))
        .header("X-API-Key", KEY)
        .json(&serde_json::json!({"name": "integration", "role": "support"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["data"]["api_key"]["id"].as_i64().expect("key id");
    let key = created["data"]["api_key"]["key"]
        .as_str()
        .expect("key")
        .to_owned();
    // Both edges know the key now.
    for edge in [first, second] {
        assert_eq!(
            get(&client, format!("{edge}/api/v1/customers"), &key).await,
            200
        );
    }
    let revoked = client
        .delete(format!("{first}/api/v1/api-keys/{id}"))
        .header("X-API-Key", KEY)
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success(), "{}", revoked.status());
    let started = Instant::now();
    loop {
        let status = get(&client, format!("{second}/api/v1/customers"), &key).await;
        if status == 401 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the other edge still accepts the revoked key ({status})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(deployment);
    database.drop_it().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "set LASTMILE_TEST_POSTGRES_URL to run on PostgreSQL"
)]
async fn a_redis_outage_degrades_to_local_limits_and_recovers() {
    let port = free_port();
    let start_redis = || {
        Process(
            Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .stdout(Stdio::null())
                .spawn()
                .expect("redis-server (apt-get install redis-server)"),
        )
    };
    let redis = start_redis();
    let url = format!("redis://127.0.0.1:{port}");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "redis-server did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let database = Database::create().await;
    let deployment = Deployment::start(&database, &url, 1).await;
    let client = reqwest::Client::new();
    let edge = &deployment.edges[0];
    assert_eq!(
        get(&client, format!("{edge}/api/v1/customers"), KEY).await,
        200
    );

    drop(redis);
    // Requests keep being served, limited by the edge itself.
    for _ in 0..5 {
        let status = get(&client, format!("{edge}/api/v1/customers"), KEY).await;
        assert_eq!(status, 200, "served while Redis is down");
    }
    wait_for_metric(edge, "lastmile_shared_limits_degraded", 1.0).await;

    let _redis = start_redis();
    wait_for_metric(edge, "lastmile_shared_limits_degraded", 0.0).await;
    assert_eq!(
        get(&client, format!("{edge}/api/v1/customers"), KEY).await,
        200
    );
    drop(deployment);
    database.drop_it().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "set LASTMILE_TEST_POSTGRES_URL to run on PostgreSQL"
)]
async fn login_attempt_limits_hold_across_two_cores() {
    use lastmile_proto::v1::LoginRequest;
    use lastmile_proto::v1::identity_service_client::IdentityServiceClient;

    let database = Database::create().await;
    let prefix = format!("lmtest{}", uuid::Uuid::new_v4().simple());
    let cores = shared_cores(&database, &redis_url(), &prefix, 2).await;
    let mut clients = Vec::new();
    for core in &cores {
        clients.push(IdentityServiceClient::new(core.channel().await));
    }
    let attempt = || LoginRequest {
        email: "nobody@isp.example".into(),
        password: "wrong-password".into(),
    };
    // Five attempts a minute per e-mail: spread over two cores, they are still five.
    for n in 0..5 {
        let refused = clients[n % 2]
            .login(attempt())
            .await
            .expect_err("wrong credentials");
        assert_eq!(
            refused.code(),
            tonic::Code::Unauthenticated,
            "attempt {n}: {refused:?}"
        );
    }
    for client in &mut clients {
        let refused = client.login(attempt()).await.expect_err("over the limit");
        assert_eq!(
            refused.code(),
            tonic::Code::ResourceExhausted,
            "the sixth attempt is refused on every core: {refused:?}"
        );
    }
    drop(cores);
    database.drop_it().await;
}

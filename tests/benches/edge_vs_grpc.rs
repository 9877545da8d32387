//! GET one customer, three ways, at the same concurrency, on PostgreSQL seeded with
//! 100,000 customers:
//!
//! 1. directly over gRPC to the core;
//! 2. through the REST edge with authentication and rate limiting (the normal edge);
//! 3. through a REST edge without them (credential still forwarded; the core still
//!    authenticates), to price the edge's own auth and limits.
//!
//! Prints requests/s and p50/p99 for each and the ratios. Figures, not a pass/fail test.
//!
//! `LASTMILE_BENCH_POSTGRES_URL` (or `LASTMILE_TEST_POSTGRES_URL`) names the server;
//! `BENCH_SECONDS` (default 8), `BENCH_CONCURRENCY` (default 32), `BENCH_ROUNDS` (default 3).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lastmile::{Role, Settings};
use lastmile_proto::v1::customer_service_client::CustomerServiceClient;
use lastmile_proto::v1::{CustomerRef, GetCustomerRequest, customer_ref::Key};
use lastmile_tests::{Engine, TestDatabase};
use rand::Rng;
use tonic::transport::Endpoint;

const CUSTOMERS: i64 = 100_000;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scenario {
    Grpc,
    EdgeWithAuthAndLimits,
    EdgeWithoutThem,
}

impl Scenario {
    fn label(self) -> &'static str {
        match self {
            Scenario::Grpc => "gRPC direct (GetCustomer)",
            Scenario::EdgeWithAuthAndLimits => "REST edge, auth + rate limits",
            Scenario::EdgeWithoutThem => "REST edge, no edge auth/limits",
        }
    }
}

struct Figures {
    requests_per_second: f64,
    p50: Duration,
    p99: Duration,
    errors: u64,
}

struct Target {
    grpc_addr: SocketAddr,
    limited_edge: SocketAddr,
    open_edge: SocketAddr,
    key: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let url = std::env::var("LASTMILE_BENCH_POSTGRES_URL")
        .or_else(|_| std::env::var(lastmile_tests::POSTGRES_URL_VAR))
        .ok()
        .filter(|u| !u.is_empty());
    let Some(url) = url else {
        eprintln!(
            "edge_vs_grpc: set LASTMILE_BENCH_POSTGRES_URL (or LASTMILE_TEST_POSTGRES_URL) to run"
        );
        return Ok(());
    };
    // SAFETY-free: the harness reads this variable to create its database.
    let database = create_database(&url).await?;
    let seconds = env_number("BENCH_SECONDS", 8);
    let concurrency = env_number("BENCH_CONCURRENCY", 32) as usize;
    let rounds = env_number("BENCH_ROUNDS", 3);

    let key = format!("lm_benchkey_{}", uuid::Uuid::new_v4().simple());
    let stack = lastmile::start(
        Role::Serve,
        Settings {
            database_url: database.url.clone(),
            http_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            bootstrap_api_key: Some(key.clone()),
            // High enough never to refuse, so the limiter does its full work on every call.
            rate_limit_per_minute: 1_000_000_000,
            ..Settings::default()
        },
    )
    .await?;
    let grpc_addr = stack.grpc_addr.expect("core address");
    let open = lastmile::start(
        Role::Edge,
        Settings {
            http_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            core_url: format!("http://{grpc_addr}"),
            rate_limits_enabled: false,
            ..Settings::default()
        },
    )
    .await?;
    seed(stack.core.as_ref().expect("core in process")).await?;
    let target = Arc::new(Target {
        grpc_addr,
        limited_edge: stack.http_addr.expect("edge address"),
        open_edge: open.http_addr.expect("edge address"),
        key,
    });

    println!(
        "GET one of {CUSTOMERS} customers on PostgreSQL; concurrency {concurrency}, {seconds} s per run, \
         best of {rounds} rounds, {} CPUs",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    let scenarios = [
        Scenario::Grpc,
        Scenario::EdgeWithAuthAndLimits,
        Scenario::EdgeWithoutThem,
    ];
    for scenario in scenarios {
        run(
            target.clone(),
            scenario,
            concurrency,
            Duration::from_secs(1),
        )
        .await; // warm-up
    }
    let mut best: Vec<Option<Figures>> = scenarios.iter().map(|_| None).collect();
    for _ in 0..rounds {
        // Interleaved rounds so that drift of the machine touches every scenario alike.
        for (i, scenario) in scenarios.iter().enumerate() {
            let figures = run(
                target.clone(),
                *scenario,
                concurrency,
                Duration::from_secs(seconds),
            )
            .await;
            if best[i]
                .as_ref()
                .is_none_or(|b| figures.requests_per_second > b.requests_per_second)
            {
                best[i] = Some(figures);
            }
        }
    }
    println!(
        "\n{:<34} {:>10} {:>10} {:>10} {:>8}",
        "scenario", "req/s", "p50 ms", "p99 ms", "errors"
    );
    for (scenario, figures) in scenarios.iter().zip(&best) {
        let f = figures.as_ref().expect("measured");
        println!(
            "{:<34} {:>10.0} {:>10.2} {:>10.2} {:>8}",
            scenario.label(),
            f.requests_per_second,
            f.p50.as_secs_f64() * 1e3,
            f.p99.as_secs_f64() * 1e3,
            f.errors
        );
    }
    let rps = |i: usize| best[i].as_ref().map_or(0.0, |f| f.requests_per_second);
    println!(
        "\nedge (auth + limits) / direct gRPC throughput: {:.0}%   (target >= 50%)",
        100.0 * rps(1) / rps(0)
    );
    println!(
        "cost of the edge's auth + rate limits:          {:.1}%   (target <= 10%)",
        100.0 * (1.0 - rps(1) / rps(2))
    );

    open.stop().await?;
    stack.stop().await?;
    drop(database);
    Ok(())
}

async fn create_database(url: &str) -> anyhow::Result<TestDatabase> {
    // The harness creates a fresh database on the server named by this variable.
    if std::env::var(lastmile_tests::POSTGRES_URL_VAR).is_err() {
        anyhow::bail!(
            "set {} as well (the bench database is created there)",
            lastmile_tests::POSTGRES_URL_VAR
        );
    }
    let _ = url;
    TestDatabase::create(Engine::Postgres)
        .await
        .ok_or_else(|| anyhow::anyhow!("no PostgreSQL"))
}

async fn seed(core: &lastmile_core::Core) -> anyhow::Result<()> {
    let started = Instant::now();
    let lastmile_core::db::Db::Postgres(pool) = &core.db else {
        anyhow::bail!("the benchmark runs on PostgreSQL");
    };
    sqlx::query(
        "INSERT INTO customers (portal_id, first_name, last_name, email, phone, portal_password_hash, \
         street, city, country, auto_suspension, suspend_after_days, status, currency, created_at, updated_at) \
         SELECT (10000000 + g)::text, 'Customer' || g, 'Bench', 'customer' || g || '@example.com', \
         '+1555' || lpad(g::text, 7, '0'), '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA', \
         'Main Street ' || g, 'Nairobi', 'KE', true, 14, 'active', 'USD', now(), now() \
         FROM generate_series(1, $1) AS g",
    )
    .bind(CUSTOMERS)
    .execute(pool)
    .await?;
    sqlx::query("ANALYZE customers").execute(pool).await?;
    println!(
        "seeded {CUSTOMERS} customers in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn run(
    target: Arc<Target>,
    scenario: Scenario,
    concurrency: usize,
    length: Duration,
) -> Figures {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("client");
    let channel = Endpoint::from_shared(format!("http://{}", target.grpc_addr))
        .expect("url")
        .tcp_nodelay(true)
        .connect()
        .await
        .expect("connect");
    let deadline = Instant::now() + length;
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let target = target.clone();
        let http = http.clone();
        let mut grpc = CustomerServiceClient::new(channel.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(4096);
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let id = rand::rng().random_range(1..=CUSTOMERS);
                let sent = Instant::now();
                let ok = match scenario {
                    Scenario::Grpc => {
                        let request = lastmile_tests::with_key(
                            GetCustomerRequest {
                                customer: Some(CustomerRef {
                                    key: Some(Key::Id(id)),
                                }),
                            },
                            &target.key,
                        );
                        grpc.get_customer(request).await.is_ok()
                    }
                    Scenario::EdgeWithAuthAndLimits | Scenario::EdgeWithoutThem => {
                        let edge = if scenario == Scenario::EdgeWithAuthAndLimits {
                            target.limited_edge
                        } else {
                            target.open_edge
                        };
                        match http
                            .get(format!("http://{edge}/api/v1/customers/{id}"))
                            .header("X-API-Key", &target.key)
                            .send()
                            .await
                        {
                            Ok(response) => {
                                response.status().is_success() && response.bytes().await.is_ok()
                            }
                            Err(_) => false,
                        }
                    }
                };
                latencies.push(sent.elapsed());
                if !ok {
                    errors += 1;
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (mut l, e) = worker.await.expect("worker");
        latencies.append(&mut l);
        errors += e;
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Figures {
        requests_per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
        errors,
    }
}

//! Durable work on PostgreSQL, measured from outside:
//!
//! 1. **Jobs/s**: 20,000 no-op jobs are queued while no worker runs (a core with its
//!    workers off), then one core with the default workers claims and completes them; the
//!    figure is jobs / time to drain.
//! 2. **Webhook deliveries/s**: 5,000 events are written while no worker runs, each
//!    matching one endpoint (a local receiver that answers 204); then one core's workers
//!    drain them; the figure is deliveries / time until the receiver got the last.
//! 3. **Commit → delivery latency**: with workers running, events are written by
//!    `BENCH_WRITERS` concurrent writers; for each delivery the receiver notes the time
//!    from the event's `created_at` (taken in its transaction, just before the commit) to
//!    its arrival; p50/p90/p99/max are printed.
//!
//! Figures, not a pass/fail test. Targets: ≥ 3,000 jobs/s and ≥ 1,000 deliveries/s on 2
//! CPUs.
//!
//! ```sh
//! LASTMILE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!     cargo bench -p lastmile-tests --bench durable_work
//! ```
//!
//! Environment: `LASTMILE_BENCH_POSTGRES_URL` (or `LASTMILE_TEST_POSTGRES_URL`);
//! `BENCH_JOBS` (20000), `BENCH_DELIVERIES` (5000), `BENCH_LATENCY_EVENTS` (2000),
//! `BENCH_WRITERS` (8), `BENCH_JOB_WORKERS` (16).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use lastmile::{Role, Running, Settings};
use lastmile_core::jobs::WorkerSettings;
use lastmile_core::webhooks::WebhookSettings;
use lastmile_proto::v1::directory_service_client::DirectoryServiceClient;
use lastmile_proto::v1::job_service_client::JobServiceClient;
use lastmile_proto::v1::webhook_service_client::WebhookServiceClient;
use lastmile_proto::v1::{
    CreatePartnerRequest, CreateWebhookRequest, EnqueueProbesRequest, PartnerInput, WebhookInput,
};
use lastmile_tests::{Engine, TestDatabase, with_key};
use tonic::transport::{Channel, Endpoint};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn settings(url: &str, key: &str, workers: usize) -> Settings {
    Settings {
        database_url: url.to_owned(),
        http_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        grpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        bootstrap_api_key: Some(key.to_owned()),
        rate_limits_enabled: false,
        workers: WorkerSettings {
            concurrency: workers,
            ..WorkerSettings::default()
        },
        webhooks: WebhookSettings {
            allow_private_networks: true,
            ..WebhookSettings::default()
        },
        ..Settings::default()
    }
}

async fn channel(running: &Running) -> anyhow::Result<Channel> {
    let addr = running.grpc_addr.expect("core address");
    Ok(Endpoint::from_shared(format!("http://{addr}"))?
        .tcp_nodelay(true)
        .connect()
        .await?)
}

async fn count(pool: &sqlx::PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(pool)
        .await
        .unwrap_or(0)
}

/// What the receiver saw: per delivery, the latency from the event's `created_at`.
#[derive(Default)]
struct Seen {
    latencies_ms: Vec<f64>,
    last: Option<Instant>,
}

async fn receive(State(seen): State<Arc<Mutex<Seen>>>, body: Bytes) -> StatusCode {
    let arrived = chrono::Utc::now();
    let latency = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["created_at"].as_str().map(str::to_owned))
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| {
            (arrived - t.with_timezone(&chrono::Utc))
                .num_microseconds()
                .unwrap_or(0) as f64
                / 1000.0
        });
    let mut seen = seen.lock().unwrap();
    if let Some(latency) = latency {
        seen.latencies_ms.push(latency);
    }
    seen.last = Some(Instant::now());
    StatusCode::NO_CONTENT
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

async fn create_partners(channel: Channel, key: &str, count: u64, writers: u64, tag: &str) {
    let mut tasks = Vec::new();
    for writer in 0..writers {
        let mut client = DirectoryServiceClient::new(channel.clone());
        let key = key.to_owned();
        let tag = tag.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut n = writer;
            while n < count {
                let request = CreatePartnerRequest {
                    partner: Some(PartnerInput {
                        name: format!("{tag} partner {n}"),
                        ..Default::default()
                    }),
                    validate_only: false,
                };
                client
                    .create_partner(with_key(request, &key))
                    .await
                    .expect("create partner");
                n += writers;
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer");
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let url = std::env::var("LASTMILE_BENCH_POSTGRES_URL")
        .or_else(|_| std::env::var(lastmile_tests::POSTGRES_URL_VAR))
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        eprintln!("durable_work: set LASTMILE_BENCH_POSTGRES_URL (or LASTMILE_TEST_POSTGRES_URL)");
        return Ok(());
    }
    let jobs = env_number("BENCH_JOBS", 20_000);
    let deliveries = env_number("BENCH_DELIVERIES", 5_000);
    let latency_events = env_number("BENCH_LATENCY_EVENTS", 2_000);
    let writers = env_number("BENCH_WRITERS", 8).max(1);
    let workers = env_number("BENCH_JOB_WORKERS", 16).max(1) as usize;
    let database = TestDatabase::create(Engine::Postgres)
        .await
        .expect("PostgreSQL configured");
    let key = format!("lm_benchkey_{}", uuid::Uuid::new_v4().simple());
    let pool = sqlx::PgPool::connect(&database.url).await?;

    // 1. Jobs/s.
    let idle = lastmile::start(Role::Core, settings(&database.url, &key, 0)).await?;
    let mut client = JobServiceClient::new(channel(&idle).await?);
    let mut queued = 0;
    while queued < jobs {
        let batch = (jobs - queued).min(10_000);
        let request = EnqueueProbesRequest {
            count: batch as i32,
            label: "bench".into(),
            noop: true,
            ..Default::default()
        };
        client.enqueue_probes(with_key(request, &key)).await?;
        queued += batch;
    }
    let started = Instant::now();
    let working = lastmile::start(Role::Core, settings(&database.url, &key, workers)).await?;
    let done_sql =
        "SELECT COUNT(*) FROM jobs WHERE kind = 'diagnostics.noop' AND status = 'succeeded'";
    while (count(&pool, done_sql).await as u64) < jobs {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    println!(
        "jobs: {jobs} no-op jobs claimed and completed by one core ({workers} workers) in {:.2} s = {:.0} jobs/s (target ≥ 3,000/s)",
        elapsed.as_secs_f64(),
        jobs as f64 / elapsed.as_secs_f64()
    );
    working.stop().await?;

    // 2. Deliveries/s: the events are written while no worker runs.
    let seen = Arc::new(Mutex::new(Seen::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let receiver = listener.local_addr()?;
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(seen.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut webhooks = WebhookServiceClient::new(channel(&idle).await?);
    let request = CreateWebhookRequest {
        webhook: Some(WebhookInput {
            url: format!("http://{receiver}/hook"),
            events: vec!["partner.created".into()],
            ..Default::default()
        }),
        validate_only: false,
    };
    webhooks.create_webhook(with_key(request, &key)).await?;
    create_partners(channel(&idle).await?, &key, deliveries, writers, "drain").await;
    let started = Instant::now();
    let working = lastmile::start(Role::Core, settings(&database.url, &key, workers)).await?;
    loop {
        if seen.lock().unwrap().latencies_ms.len() as u64 >= deliveries {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "deliveries stalled"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let last = seen.lock().unwrap().last.unwrap_or_else(Instant::now);
    let elapsed = last - started;
    println!(
        "webhooks: {deliveries} queued deliveries sent to a local receiver by one core in {:.2} s = {:.0} deliveries/s (target ≥ 1,000/s)",
        elapsed.as_secs_f64(),
        deliveries as f64 / elapsed.as_secs_f64()
    );

    // 3. Latency with workers running while events are written.
    *seen.lock().unwrap() = Seen::default();
    let started = Instant::now();
    create_partners(
        channel(&working).await?,
        &key,
        latency_events,
        writers,
        "live",
    )
    .await;
    let written = started.elapsed();
    loop {
        if seen.lock().unwrap().latencies_ms.len() as u64 >= latency_events {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "deliveries stalled"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut latencies = std::mem::take(&mut seen.lock().unwrap().latencies_ms);
    latencies.sort_by(f64::total_cmp);
    println!(
        "latency: {latency_events} events written by {writers} writers at {:.0} events/s; commit → delivery p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latency_events as f64 / written.as_secs_f64(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.90),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN),
    );
    working.stop().await?;
    idle.stop().await?;
    pool.close().await;
    Ok(())
}

//! The SLA breach check and the compliance metrics over many open tickets, on PostgreSQL,
//! measured from outside (REST, as an operator or the scheduler's check sees them):
//!
//! 1. `BENCH_TICKETS` open tickets (default 100,000) bulk-loaded with due times spread so
//!    that 1 % of first responses are past due and about 1.2 % are inside their warning
//!    window; one `POST /api/v1/sla/check-breaches` that reports (and emits events for)
//!    all of them, then a second run that finds nothing new: the scheduler's steady
//!    state every minute.
//! 2. `GET /api/v1/sla/performance-metrics?period_days=30` over the same tickets.
//!
//! Figures, not a pass/fail test. The job workers are off, so the scheduler's own check
//! does not run beside the measured one.
//!
//! ```sh
//! LASTMILE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!     cargo bench -p lastmile-tests --bench sla
//! ```

use std::time::Instant;

use lastmile_core::on_conn;
use lastmile_tests::{Engine, StatusCode, TestApp, json};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn policy(app: &TestApp, priority: &str, first: i64, resolution: i64) -> i64 {
    let body = json!({"name": format!("Bench {priority}"), "priority": priority,
        "first_response_minutes": first, "resolution_minutes": resolution});
    let (status, body) = app.post("/api/v1/sla/policies", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["data"]["sla_policy"]["id"].as_i64().unwrap()
}

/// Loads `total` open tickets of the first customers in one statement.
async fn load(app: &TestApp, total: i64, customers: i64, policy: i64) {
    let sql = "INSERT INTO tickets (customer_id, subject, category, priority, status, source, \
        sla_policy_id, first_response_minutes, resolution_minutes, warning_percent, \
        first_response_due_at, resolution_due_at, first_response_warn_at, resolution_warn_at, \
        created_at, updated_at) \
        SELECT (SELECT min(id) FROM customers) + g % $2, 'Bench ticket ' || g, 'other', \
          (ARRAY['critical','high','normal','low'])[1 + g % 4], 'open', 'api', $3, 60, 480, 80, \
          now() + make_interval(mins => (g % 1000)::int - 10), \
          now() + make_interval(mins => (g % 2000)::int + 100), \
          now() + make_interval(mins => (g % 1000)::int - 22), \
          now() + make_interval(mins => (g % 2000)::int + 4), \
          now() - make_interval(mins => (g % 43000)::int), now() \
        FROM generate_series(1, $1) AS g";
    let db = &app.core().db;
    on_conn!(&mut db.conn(), c => sqlx::query(sql).bind(total).bind(customers).bind(policy)
        .execute(c).await.map(drop))
    .expect("load tickets");
    on_conn!(&mut db.conn(), c => sqlx::query("ANALYZE tickets").execute(c).await.map(drop))
        .expect("analyze");
}

async fn check(app: &TestApp, label: &str) {
    let started = Instant::now();
    let (status, body) = app.post("/api/v1/sla/check-breaches", &json!({})).await;
    let elapsed = started.elapsed();
    assert_eq!(status, StatusCode::OK, "{body}");
    let data = &body["data"];
    println!(
        "check-breaches ({label}): {:.3} s — {} checked, {} breaches and {} warnings reported",
        elapsed.as_secs_f64(),
        data["total_checked"],
        data["breached_tickets"].as_array().map_or(0, Vec::len),
        data["warnings_issued"].as_array().map_or(0, Vec::len),
    );
}

#[tokio::main]
async fn main() {
    if std::env::var(lastmile_tests::POSTGRES_URL_VAR).is_err() {
        eprintln!("set LASTMILE_TEST_POSTGRES_URL: the benchmark runs on PostgreSQL");
        return;
    }
    let total = env_number("BENCH_TICKETS", 100_000) as i64;
    let app = TestApp::spawn_with(Engine::Postgres, |s| s.workers.concurrency = 0)
        .await
        .expect("PostgreSQL is configured");
    let customers = 100;
    for n in 0..customers {
        app.create_customer("Bench", &format!("+1555{n:07}")).await;
    }
    let general = policy(&app, "normal", 60, 480).await;
    for (priority, first, resolution) in
        [("critical", 15, 240), ("high", 30, 480), ("low", 240, 2880)]
    {
        policy(&app, priority, first, resolution).await;
    }
    let started = Instant::now();
    load(&app, total, customers, general).await;
    println!(
        "{total} open tickets loaded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    check(&app, "first run").await;
    check(&app, "steady state, nothing new").await;
    for days in [30, 7] {
        let started = Instant::now();
        let path = format!("/api/v1/sla/performance-metrics?period_days={days}");
        let (status, body) = app.get(&path).await;
        let elapsed = started.elapsed();
        assert_eq!(status, StatusCode::OK, "{body}");
        println!(
            "performance-metrics over {days} days: {:.3} s — {} tickets, {} breached, compliance {} %",
            elapsed.as_secs_f64(),
            body["data"]["total_tickets"],
            body["data"]["tickets_breached"],
            body["data"]["sla_compliance_rate"],
        );
    }
    app.stop().await;
}

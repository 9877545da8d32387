//! Several `lastmile core` processes on one PostgreSQL behave as one deployment: 10,000
//! jobs shared between two cores each run exactly once; a core killed with SIGKILL in the
//! middle of a job loses nothing (another core runs it again once the lease runs out); and
//! a scheduler slot is one job however many cores schedule it. PostgreSQL only (SQLite is
//! one process); ignored unless `LASTMILE_TEST_POSTGRES_URL` was set at build time.

use std::time::Duration;

use lastmile_proto::v1::EnqueueProbesRequest;
use lastmile_proto::v1::job_service_client::JobServiceClient;
use tonic::transport::Channel;

mod support;

use support::{Core, Database};

const KEY: &str = "lm_processes_test_admin_key_0123456789";

async fn jobs(core: &Core) -> JobServiceClient<Channel> {
    JobServiceClient::new(core.channel().await)
}

fn authorized<T>(message: T) -> tonic::Request<T> {
    support::authorized(KEY, message)
}

async fn until<F: AsyncFn() -> bool>(limit: Duration, what: &str, probe: F) {
    support::until(limit, Duration::from_millis(100), what, probe).await;
}

async fn enqueue(core: &Core, count: i32, label: &str, hold_ms: i32) -> Vec<i64> {
    let request = EnqueueProbesRequest {
        count,
        label: label.into(),
        hold_ms,
        fail_attempts: 0,
        noop: false,
    };
    jobs(core)
        .await
        .enqueue_probes(authorized(request))
        .await
        .expect("EnqueueProbes")
        .into_inner()
        .job_ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "set LASTMILE_TEST_POSTGRES_URL to run on PostgreSQL"
)]
async fn two_cores_run_ten_thousand_jobs_exactly_once() {
    let database = Database::create().await;
    let first = Core::start(&database, KEY, 60_000, &[]).await;
    let second = Core::start(&database, KEY, 60_000, &[]).await;
    for _ in 0..5 {
        enqueue(&first, 2000, "shared", 0).await;
    }
    let pool = database.pool().await;
    until(Duration::from_secs(300), "10,000 probes run", async || {
        let done: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM jobs WHERE kind = 'diagnostics.probe' AND status = 'succeeded'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        done == 10_000
    })
    .await;
    let (runs, jobs): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT job_id) FROM job_probe_runs WHERE label = 'shared'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((runs, jobs), (10_000, 10_000), "every job ran, none twice");
    let per_worker: Vec<(String, i64)> = sqlx::query_as(
        "SELECT worker, COUNT(*) FROM job_probe_runs GROUP BY worker ORDER BY worker",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(per_worker.len(), 2, "both cores took work: {per_worker:?}");
    let retried: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM jobs WHERE kind = 'diagnostics.probe' AND attempts <> 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(retried, 0, "no job needed a second attempt");
    pool.close().await;
    first.stop();
    second.stop();
    database.drop_it().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "set LASTMILE_TEST_POSTGRES_URL to run on PostgreSQL"
)]
async fn a_job_whose_core_was_killed_runs_again_after_its_lease() {
    let database = Database::create().await;
    let mut cores = vec![
        Core::start(&database, KEY, 2000, &[]).await,
        Core::start(&database, KEY, 2000, &[]).await,
    ];
    let id = enqueue(&cores[0], 1, "killed", 4000).await[0];
    let pool = database.pool().await;
    let owner = async || -> Option<String> {
        sqlx::query_scalar("SELECT lease_owner FROM jobs WHERE id = $1 AND status = 'running'")
            .bind(id)
            .fetch_optional(&pool)
            .await
            .unwrap()
            .flatten()
    };
    until(
        Duration::from_secs(30),
        "the probe is claimed",
        async || owner().await.is_some(),
    )
    .await;
    let holder = owner().await.unwrap();
    let victim = cores
        .iter()
        .position(|c| holder.contains(&format!(":{}:", c.pid())))
        .expect("the owner names a core's pid");
    cores[victim].kill_9();
    let survivor = cores.remove(1 - victim);
    until(
        Duration::from_secs(60),
        "the probe completes on the other core",
        async || {
            let status: String = sqlx::query_scalar("SELECT status FROM jobs WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap();
            status == "succeeded"
        },
    )
    .await;
    let (attempts,): (i32,) = sqlx::query_as("SELECT attempts FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(attempts, 2, "the killed attempt and the one that finished");
    let workers: Vec<String> =
        sqlx::query_scalar("SELECT worker FROM job_probe_runs WHERE job_id = $1")
            .bind(id)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(workers.len(), 1, "the killed attempt wrote nothing");
    assert!(
        workers[0].contains(&format!(":{}:", survivor.pid())),
        "{workers:?}"
    );
    pool.close().await;
    survivor.stop();
    database.drop_it().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "set LASTMILE_TEST_POSTGRES_URL to run on PostgreSQL"
)]
async fn a_scheduler_slot_runs_once_with_three_cores() {
    let database = Database::create().await;
    let mut cores = Vec::new();
    for _ in 0..3 {
        cores.push(Core::start(&database, KEY, 60_000, &[]).await);
    }
    let pool = database.pool().await;
    // Every core's scheduler looks every second; give each several looks at the slot.
    until(
        Duration::from_secs(30),
        "the hourly slot has run",
        async || {
            let done: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM jobs WHERE kind = 'housekeeping.idempotency_records' \
             AND status = 'succeeded'",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            done >= 1
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rows: Vec<(String, String, i32)> = sqlx::query_as(
        "SELECT dedupe_key, status, attempts FROM jobs \
         WHERE kind = 'housekeeping.idempotency_records' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let slots: std::collections::HashSet<&String> = rows.iter().map(|r| &r.0).collect();
    assert_eq!(rows.len(), slots.len(), "one job per slot: {rows:?}");
    assert!(
        rows.len() <= 2,
        "one slot (two if the hour turned during the test): {rows:?}"
    );
    for (_, status, attempts) in &rows {
        assert_eq!((status.as_str(), *attempts), ("succeeded", 1), "{rows:?}");
    }
    pool.close().await;
    for core in cores {
        core.stop();
    }
    database.drop_it().await;
}

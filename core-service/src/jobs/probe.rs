//! The diagnostic probe: a job that, when a worker completes it, leaves one row in
//! `job_probe_runs` in the same transaction as its completion. Operators enqueue probes to
//! check that workers run, and how often each job ran (exactly once, unless the row count
//! says otherwise).

use std::time::Duration;

use futures::FutureExt;

use super::{Attempt, Outcome, Registry, default_backoff};
use crate::on_conn;

/// The probe's kind.
pub const PROBE_KIND: &str = "diagnostics.probe";
/// The kind of jobs that do nothing (the queue's own cost).
pub const NOOP_KIND: &str = "diagnostics.noop";

/// Registers the probe and the no-op job.
pub fn register(registry: &mut Registry) {
    registry.register(
        PROBE_KIND,
        |attempt: Attempt| run(attempt).boxed(),
        default_backoff(),
    );
    registry.register(
        NOOP_KIND,
        |_: Attempt| async { Outcome::done() }.boxed(),
        default_backoff(),
    );
}

async fn run(attempt: Attempt) -> Outcome {
    let payload = &attempt.job.payload;
    let fail = payload
        .get("fail_attempts")
        .and_then(|v| v.as_i64())
        .unwrap_or(0);
    if i64::from(attempt.job.attempts) <= fail {
        return Outcome::retry(format!(
            "probe asked to fail its first {fail} attempts (this is attempt {})",
            attempt.job.attempts
        ));
    }
    let hold = payload.get("hold_ms").and_then(|v| v.as_u64()).unwrap_or(0);
    if hold > 0 {
        tokio::time::sleep(Duration::from_millis(hold.min(60_000))).await;
    }
    let label = payload
        .get("label")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    let job_id = attempt.job.id;
    let worker = attempt.worker;
    Outcome::done_with(Box::new(move |tx, completion| {
        async move {
            let now = completion.now;
            on_conn!(&mut tx.conn(), c => sqlx::query(
                "INSERT INTO job_probe_runs (job_id, label, worker, ran_at) VALUES ($1, $2, $3, $4)")
                .bind(job_id)
                .bind(&label)
                .bind(&worker)
                .bind(now)
                .execute(c).await.map(|d| d.rows_affected()))?;
            Ok(())
        }
        .boxed()
    }))
}

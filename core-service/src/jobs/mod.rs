//! Durable background work: one job table for everything that runs outside a request
//! (webhook deliveries, scheduled housekeeping, later provisioning and billing runs).
//!
//! A job is enqueued inside the transaction of the change that calls for it, so it exists
//! exactly when the change does. Workers in every core process claim due jobs in batches
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the single writer on SQLite), each under a
//! lease their process keeps extending; a job whose worker died becomes claimable again
//! when its lease runs out. A handler does its outside work, then hands back what to write:
//! those writes commit in the same transaction as the job's completion, and only while the
//! lease is still held, so a job's effects on the database happen once. Failures back off
//! (exponentially with jitter, or on a declared schedule) up to the kind's attempt budget,
//! then the job is dead until an operator retries it.
//!
//! `store` holds the SQL, `worker` the claiming loop, `scheduler` the periodic tasks,
//! `probe` the diagnostic job and `grpc` the operators' view.

pub mod grpc;
mod probe;
pub mod scheduler;
mod store;
mod worker;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde_json::Value;

use crate::db::{Conn, Tx};
use crate::error::Result;

pub use probe::{NOOP_KIND, PROBE_KIND};
pub use store::JobQuery;
pub use worker::{JobWorkers, WorkerSettings};

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// Waiting for its `run_at` and a free worker.
    Queued,
    /// Claimed by a worker holding a lease.
    Running,
    /// Done.
    Succeeded,
    /// The last attempt failed; it runs again at `run_at`.
    Failed,
    /// Out of attempts; it runs again only when retried.
    Dead,
}

impl JobStatus {
    /// Every status.
    pub const ALL: [JobStatus; 5] = [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Succeeded,
        JobStatus::Failed,
        JobStatus::Dead,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Dead => "dead",
        }
    }

    /// The status stored as `name`.
    pub fn parse(name: &str) -> Option<JobStatus> {
        JobStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// A stored job.
#[derive(Debug, Clone)]
pub struct Job {
    /// Id.
    pub id: i64,
    /// The handler's kind.
    pub kind: String,
    /// Its input (a JSON object).
    pub payload: Value,
    /// Higher runs first.
    pub priority: i32,
    /// Status.
    pub status: JobStatus,
    /// Attempts made (this one included, while running).
    pub attempts: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
    /// The last failure.
    pub last_error: Option<String>,
    /// When it may run (next).
    pub run_at: DateTime<Utc>,
    /// The worker holding it.
    pub lease_owner: Option<String>,
    /// When that lease runs out.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// Never shared by two jobs.
    pub dedupe_key: Option<String>,
    /// Jobs sharing it run one at a time, in id order.
    pub ordering_key: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// When the current or last attempt started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it succeeded or died.
    pub finished_at: Option<DateTime<Utc>>,
    /// What the last attempt came to, in the handler's words (a NAS's ACK or NAK).
    pub result: Option<String>,
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// The handler's kind.
    pub kind: &'static str,
    /// Its input.
    pub payload: Value,
    /// Higher runs first (default 0).
    pub priority: i32,
    /// Not before (default: now).
    pub run_at: Option<DateTime<Utc>>,
    /// Attempts allowed (default: the kind's).
    pub max_attempts: Option<i32>,
    /// A key no other job has or had: enqueueing it again does nothing.
    pub dedupe_key: Option<String>,
    /// Jobs with the same key run one at a time, in the order they were enqueued.
    pub ordering_key: Option<String>,
}

impl NewJob {
    /// A job of `kind` with `payload`, due now.
    pub fn new(kind: &'static str, payload: Value) -> Self {
        Self {
            kind,
            payload,
            priority: 0,
            run_at: None,
            max_attempts: None,
            dedupe_key: None,
            ordering_key: None,
        }
    }

    /// Not before `at`.
    pub fn at(mut self, at: DateTime<Utc>) -> Self {
        self.run_at = Some(at);
        self
    }

    /// Deduplicated by `key`.
    pub fn dedupe(mut self, key: impl Into<String>) -> Self {
        self.dedupe_key = Some(key.into());
        self
    }

    /// Serialised with every job of `key`.
    pub fn ordered_by(mut self, key: impl Into<String>) -> Self {
        self.ordering_key = Some(key.into());
        self
    }

    /// With `attempts` allowed.
    pub fn attempts(mut self, attempts: i32) -> Self {
        self.max_attempts = Some(attempts);
        self
    }
}

/// Enqueues `job` inside the caller's transaction (it exists exactly when the caller's
/// change commits) and wakes the workers of every process on commit. Answers the new id,
/// or `None` when a job with the same dedupe key exists.
pub async fn enqueue(conn: &mut Conn<'_>, job: NewJob, now: DateTime<Utc>) -> Result<Option<i64>> {
    store::insert(conn, &job, now).await
}

/// How long to wait before the next attempt after a failure.
#[derive(Debug, Clone)]
pub enum Backoff {
    /// `base × 2^(failures−1)`, capped, with ±25 % jitter so that jobs failing together
    /// do not retry together.
    Exponential {
        /// The first wait.
        base: Duration,
        /// The longest wait.
        cap: Duration,
    },
    /// Waits before attempt 2, 3, … in order (the last repeats).
    Schedule(Vec<Duration>),
}

impl Backoff {
    /// The wait after `failures` failed attempts (at least 1).
    pub fn delay(&self, failures: i32) -> Duration {
        let failures = failures.max(1);
        match self {
            Backoff::Exponential { base, cap } => {
                let shift = u32::try_from(failures - 1).unwrap_or(0).min(30);
                let full = base.saturating_mul(1u32 << shift).min(*cap);
                let jitter = rand::random_range(0.75..=1.25);
                full.mul_f64(jitter).min(*cap)
            }
            Backoff::Schedule(waits) => {
                let index = usize::try_from(failures - 1).unwrap_or(0);
                waits
                    .get(index)
                    .or(waits.last())
                    .copied()
                    .unwrap_or_default()
            }
        }
    }
}

/// How a finished attempt ends for the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// It succeeded.
    Succeeded,
    /// It failed and runs again at the given time.
    Retrying(DateTime<Utc>),
    /// It failed for the last time.
    Dead,
}

/// How and when an attempt ended, as its writes learn it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    /// What happens to the job.
    pub transition: Transition,
    /// The time of the completion (the core's clock).
    pub now: DateTime<Utc>,
}

/// Writes a handler asks for, committed with the job's completion (only while the lease
/// is still held).
pub type Finish =
    Box<dyn for<'t> FnOnce(&'t mut Tx, Completion) -> BoxFuture<'t, Result<()>> + Send>;

/// What an attempt came to.
pub struct Outcome {
    /// `Ok` or the failure's message.
    pub result: std::result::Result<(), Failure>,
    /// Writes to commit with the completion.
    pub finish: Option<Finish>,
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outcome")
            .field("result", &self.result)
            .field("finish", &self.finish.is_some())
            .finish()
    }
}

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth retrying.
    Retry(String),
    /// Never going to work: the job is dead at once.
    Permanent(String),
}

impl Failure {
    /// The message.
    pub fn message(&self) -> &str {
        match self {
            Failure::Retry(m) | Failure::Permanent(m) => m,
        }
    }
}

impl Outcome {
    /// Succeeded, nothing to write.
    pub fn done() -> Self {
        Self {
            result: Ok(()),
            finish: None,
        }
    }

    /// Succeeded; `finish` commits with the completion.
    pub fn done_with(finish: Finish) -> Self {
        Self {
            result: Ok(()),
            finish: Some(finish),
        }
    }

    /// Failed, worth retrying.
    pub fn retry(message: impl Into<String>) -> Self {
        Self {
            result: Err(Failure::Retry(message.into())),
            finish: None,
        }
    }

    /// With writes to commit with the completion, whatever the result.
    pub fn with_finish(mut self, finish: Finish) -> Self {
        self.finish = Some(finish);
        self
    }
}

/// What a handler gets: the claimed job and the process's identity.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The job as claimed (attempts counts this one).
    pub job: Job,
    /// The worker's lease owner name.
    pub worker: String,
}

/// Runs jobs of one kind. Must be idempotent: an attempt may run again after a crash.
pub trait Handler: Send + Sync + 'static {
    /// Runs one attempt.
    fn run(&self, attempt: Attempt) -> BoxFuture<'static, Outcome>;
}

impl<F> Handler for F
where
    F: Fn(Attempt) -> BoxFuture<'static, Outcome> + Send + Sync + 'static,
{
    fn run(&self, attempt: Attempt) -> BoxFuture<'static, Outcome> {
        self(attempt)
    }
}

/// Attempts a job gets unless it says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 10;

/// A kind of job and how its failures are retried.
#[derive(Clone)]
pub struct Kind {
    /// The handler.
    pub handler: Arc<dyn Handler>,
    /// Waits between attempts.
    pub backoff: Backoff,
}

impl std::fmt::Debug for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kind")
            .field("backoff", &self.backoff)
            .finish()
    }
}

/// The default retry policy: 10 attempts, from 5 s up to an hour apart.
pub fn default_backoff() -> Backoff {
    Backoff::Exponential {
        base: Duration::from_secs(5),
        cap: Duration::from_secs(3600),
    }
}

/// Every kind this process can run, by name.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    kinds: HashMap<&'static str, Kind>,
}

impl Registry {
    /// No kinds.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `kind` with its handler and retry policy.
    pub fn register(&mut self, name: &'static str, handler: impl Handler, backoff: Backoff) {
        self.kinds.insert(
            name,
            Kind {
                handler: Arc::new(handler),
                backoff,
            },
        );
    }

    /// The kind named `name`.
    pub fn get(&self, name: &str) -> Option<&Kind> {
        self.kinds.get(name)
    }

    /// Every registered name.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.kinds.keys().copied()
    }
}

/// Registers the kinds the queue itself provides (the diagnostic probe).
pub fn register_builtin(registry: &mut Registry) {
    probe::register(registry);
}

/// The jobs matching `query`, newest first, and how many match.
pub async fn list(conn: &mut Conn<'_>, query: &JobQuery) -> Result<(Vec<Job>, i64)> {
    store::list(conn, query).await
}

/// The job `id`.
pub async fn get(conn: &mut Conn<'_>, id: i64) -> Result<Job> {
    store::get(conn, id)
        .await?
        .ok_or(crate::error::Error::NotFound("Job"))
}

/// Queues a failed or dead job to run now with a fresh attempt budget.
pub async fn retry(conn: &mut Conn<'_>, id: i64, now: DateTime<Utc>) -> Result<Job> {
    let job = get(conn, id).await?;
    if !matches!(job.status, JobStatus::Failed | JobStatus::Dead) {
        return Err(crate::error::Error::Conflict(format!(
            "Only failed or dead jobs can be retried; this one is {}.",
            job.status.as_str()
        )));
    }
    store::requeue(conn, id, now).await?;
    get(conn, id).await
}

/// How many jobs there are per kind and status (succeeded ones are not counted).
pub async fn depth(conn: &mut Conn<'_>) -> Result<Vec<(String, String, i64)>> {
    store::depth(conn).await
}

/// Keeps what job `id`'s attempt came to (written with its completion).
pub async fn set_result(conn: &mut Conn<'_>, id: i64, result: &str) -> Result<()> {
    store::set_result(conn, id, result).await
}

/// Deletes succeeded jobs that finished before `before`; answers how many.
pub async fn purge_finished(conn: &mut Conn<'_>, before: DateTime<Utc>) -> Result<u64> {
    store::purge_succeeded(conn, before).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_backoff_doubles_within_jitter_and_caps() {
        let backoff = Backoff::Exponential {
            base: Duration::from_secs(10),
            cap: Duration::from_secs(60),
        };
        for (failures, nominal) in [(1, 10.0), (2, 20.0), (3, 40.0)] {
            let d = backoff.delay(failures).as_secs_f64();
            assert!(
                d >= nominal * 0.75 && d <= nominal * 1.25,
                "{failures}: {d}"
            );
        }
        for failures in [4, 10, 40] {
            assert!(backoff.delay(failures) <= Duration::from_secs(60));
        }
    }

    #[test]
    fn a_schedule_is_followed_and_its_last_wait_repeats() {
        let backoff = Backoff::Schedule(vec![
            Duration::from_secs(0),
            Duration::from_secs(5),
            Duration::from_secs(300),
        ]);
        let waits: Vec<u64> = (1..=5).map(|n| backoff.delay(n).as_secs()).collect();
        assert_eq!(waits, [0, 5, 300, 300, 300]);
    }

    #[test]
    fn statuses_round_trip_their_names() {
        for status in JobStatus::ALL {
            assert_eq!(JobStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(JobStatus::parse("paused"), None);
    }
}

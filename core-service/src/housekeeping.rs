//! Periodic housekeeping, run as scheduled jobs (so each slot runs once however many cores
//! run): expired idempotency records, expired API client and refresh tokens, finished jobs
//! and old events.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveTime;
use futures::FutureExt;

use crate::auth::Authenticator;
use crate::clock::SharedClock;
use crate::db::Db;
use crate::jobs::scheduler::{Every, Task};
use crate::jobs::{Attempt, Outcome, Registry, default_backoff};
use crate::{events, idempotency, jobs};

/// How long succeeded jobs are kept for operators to look at.
pub const JOB_RETENTION: chrono::Duration = chrono::Duration::days(7);
/// How long events stay readable by cursor (streams resume within it).
pub const EVENT_RETENTION: chrono::Duration = chrono::Duration::days(30);

const IDEMPOTENCY: &str = "housekeeping.idempotency_records";
const CLIENT_TOKENS: &str = "housekeeping.client_tokens";
const REFRESH_TOKENS: &str = "housekeeping.refresh_tokens";
const FINISHED_JOBS: &str = "housekeeping.finished_jobs";
const OLD_EVENTS: &str = "housekeeping.old_events";

/// The housekeeping tasks and when they run.
pub fn tasks() -> Vec<Task> {
    let hourly = Every::Interval(Duration::from_secs(3600));
    let at = |h, m| Every::Daily(NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default());
    vec![
        Task {
            kind: IDEMPOTENCY,
            every: hourly,
        },
        Task {
            kind: CLIENT_TOKENS,
            every: hourly,
        },
        Task {
            kind: REFRESH_TOKENS,
            every: at(3, 10),
        },
        Task {
            kind: FINISHED_JOBS,
            every: at(3, 20),
        },
        Task {
            kind: OLD_EVENTS,
            every: at(3, 30),
        },
    ]
}

/// Registers the housekeeping jobs.
pub fn register(
    registry: &mut Registry,
    db: Db,
    clock: SharedClock,
    authenticator: Arc<Authenticator>,
) {
    let run = |name: &'static str,
               work: Arc<
        dyn Fn() -> futures::future::BoxFuture<'static, crate::error::Result<u64>> + Send + Sync,
    >| {
        move |_attempt: Attempt| {
            let work = work.clone();
            async move {
                match work().await {
                    Ok(0) => Outcome::done(),
                    Ok(n) => {
                        tracing::info!(task = name, removed = n, "housekeeping");
                        Outcome::done()
                    }
                    Err(err) => Outcome::retry(err.to_string()),
                }
            }
            .boxed()
        }
    };
    let (d, c) = (db.clone(), clock.clone());
    registry.register(
        IDEMPOTENCY,
        run(
            IDEMPOTENCY,
            Arc::new(move || {
                let (d, c) = (d.clone(), c.clone());
                async move { idempotency::purge(&d, &c).await }.boxed()
            }),
        ),
        default_backoff(),
    );
    let a = authenticator.clone();
    registry.register(
        CLIENT_TOKENS,
        run(
            CLIENT_TOKENS,
            Arc::new(move || {
                let a = a.clone();
                async move { a.identity().purge_client_tokens().await }.boxed()
            }),
        ),
        default_backoff(),
    );
    let a = authenticator;
    registry.register(
        REFRESH_TOKENS,
        run(
            REFRESH_TOKENS,
            Arc::new(move || {
                let a = a.clone();
                async move { a.identity().purge_refresh_tokens().await }.boxed()
            }),
        ),
        default_backoff(),
    );
    let (d, c) = (db.clone(), clock.clone());
    registry.register(
        FINISHED_JOBS,
        run(
            FINISHED_JOBS,
            Arc::new(move || {
                let (d, c) = (d.clone(), c.clone());
                async move { jobs::purge_finished(&mut d.conn(), c.now() - JOB_RETENTION).await }
                    .boxed()
            }),
        ),
        default_backoff(),
    );
    let (d, c) = (db, clock);
    registry.register(
        OLD_EVENTS,
        run(
            OLD_EVENTS,
            Arc::new(move || {
                let (d, c) = (d.clone(), c.clone());
                async move { events::purge(&mut d.conn(), c.now() - EVENT_RETENTION).await }.boxed()
            }),
        ),
        default_backoff(),
    );
}

//! The workers of one process: a loop that claims due jobs in batches while it has free
//! slots, runs each on its own task, completes plain successes in batches, and keeps the
//! process's leases alive. Woken at once by a local commit or (on PostgreSQL) a NOTIFY
//! from another process; polling is only the fallback.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{Attempt, Failure, Job, Outcome, Registry, Transition, store};
use crate::clock::SharedClock;
use crate::db::{Db, Signal};
use crate::error::Result;

/// How the workers of one process run.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Jobs run at once (0: no workers in this process).
    pub concurrency: usize,
    /// Most jobs claimed by one query.
    pub batch: usize,
    /// How long a claim holds a job without a heartbeat; the process extends its leases
    /// every third of it.
    pub lease: Duration,
    /// The fallback poll when no wake-up comes.
    pub poll: Duration,
    /// How long shutdown waits for running jobs before handing them back.
    pub shutdown_grace: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            concurrency: 16,
            batch: 64,
            lease: Duration::from_secs(60),
            poll: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

struct Inner {
    db: Db,
    clock: SharedClock,
    registry: Registry,
    settings: WorkerSettings,
    owner: String,
    kinds: Vec<&'static str>,
}

/// The running workers of this process.
#[derive(Debug)]
pub struct JobWorkers {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    owner: String,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner").field("owner", &self.owner).finish()
    }
}

impl JobWorkers {
    /// Starts the workers over `db` for the kinds in `registry`.
    pub fn start(db: Db, clock: SharedClock, registry: Registry, settings: WorkerSettings) -> Self {
        let owner = format!(
            "{}:{}:{}",
            hostname(),
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let mut kinds: Vec<&'static str> = registry.names().collect();
        kinds.sort_unstable();
        let inner = Arc::new(Inner {
            db: db.clone(),
            clock,
            registry,
            settings,
            owner: owner.clone(),
            kinds,
        });
        let stop = CancellationToken::new();
        if let Db::Postgres(pool) = &db {
            tokio::spawn(listen(pool.clone(), stop.clone()));
        }
        let task = tokio::spawn(run(inner, stop.clone()));
        Self { stop, task, owner }
    }

    /// The lease owner name of this process's workers.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Stops claiming, lets running jobs finish within the grace period, hands the rest
    /// back, and returns when done.
    pub async fn shutdown(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// The host's name for lease owners (falls back to "core").
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "core".to_owned())
}

/// Relays PostgreSQL notifications from other processes to this process's waiters.
async fn listen(pool: sqlx::PgPool, stop: CancellationToken) {
    use sqlx::postgres::PgListener;
    let mut warned = false;
    loop {
        let connected = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener
                .listen_all([store::CHANNEL, crate::events::CHANNEL])
                .await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = tokio::select! {
            () = stop.cancelled() => return,
            connected = connected => match connected {
                Ok(listener) => { warned = false; listener }
                Err(err) => {
                    if !warned {
                        tracing::warn!(error = %err, "cannot LISTEN for jobs and events; polling");
                        warned = true;
                    }
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            },
        };
        // Whatever was notified while not listening is found by the next poll; wake now.
        Signal::Jobs.raise();
        Signal::Events.raise();
        loop {
            let received = tokio::select! {
                () = stop.cancelled() => return,
                received = listener.try_recv() => received,
            };
            match received {
                Ok(Some(note)) if note.channel() == store::CHANNEL => Signal::Jobs.raise(),
                Ok(Some(_)) => Signal::Events.raise(),
                // The connection was lost; it reconnects on the next call, and whatever was
                // sent meanwhile is caught by raising both.
                Ok(None) => {
                    Signal::Jobs.raise();
                    Signal::Events.raise();
                }
                Err(err) => {
                    tracing::debug!(error = %err, "job listener lost its connection");
                    break;
                }
            }
        }
    }
}

async fn run(inner: Arc<Inner>, stop: CancellationToken) {
    let concurrency = inner.settings.concurrency;
    if concurrency == 0 || inner.kinds.is_empty() {
        stop.cancelled().await;
        return;
    }
    let slots = Arc::new(Semaphore::new(concurrency));
    let freed = Arc::new(Notify::new());
    let (done_tx, done_rx) = mpsc::unbounded_channel::<i64>();
    let completer = tokio::spawn(complete_batches(inner.clone(), done_rx));
    let heartbeat = tokio::spawn(heartbeat(inner.clone()));
    let mut wake = Signal::Jobs.subscribe();
    let mut running = JoinSet::new();
    // Claimed jobs waiting for a free slot: claims fetch whole batches however many slots
    // are free, so a backlog of short jobs costs one claim per batch, not per slot. They
    // hold leases (kept alive by the heartbeat) and are handed back at shutdown.
    let mut ready: VecDeque<Job> = VecDeque::new();
    let mut failing_since: Option<Instant> = None;
    let start = |ready: &mut VecDeque<Job>, running: &mut JoinSet<()>| {
        while !ready.is_empty() {
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                break;
            };
            if let Some(job) = ready.pop_front() {
                let span = crate::telemetry::job_span(&job.kind, job.id, job.attempts);
                running.spawn(
                    run_one(inner.clone(), job, permit, freed.clone(), done_tx.clone())
                        .instrument(span),
                );
            }
        }
    };
    while !stop.is_cancelled() {
        start(&mut ready, &mut running);
        let room = inner.settings.batch.saturating_sub(ready.len());
        // Seen before claiming: a wake-up that comes during the claim is not lost.
        wake.borrow_and_update();
        let mut more = false;
        if room > 0 {
            match claim(&inner, room).await {
                Ok(jobs) => {
                    if failing_since.take().is_some() {
                        tracing::info!("job queue reachable again");
                    }
                    more = jobs.len() == room;
                    ready.extend(jobs);
                }
                Err(err) => {
                    if failing_since.is_none() {
                        tracing::warn!(error = %err, "cannot claim jobs; retrying");
                        failing_since = Some(Instant::now());
                    }
                }
            }
        }
        start(&mut ready, &mut running);
        while running.try_join_next().is_some() {}
        if more && slots.available_permits() > 0 {
            continue;
        }
        tokio::select! {
            () = stop.cancelled() => break,
            _ = wake.changed(), if !more => {}
            () = freed.notified(), if !ready.is_empty() || more => {}
            () = tokio::time::sleep(inner.settings.poll) => {}
        }
    }
    // Shutdown: running jobs get the grace period, then are handed back.
    let grace = tokio::time::sleep(inner.settings.shutdown_grace);
    tokio::pin!(grace);
    loop {
        tokio::select! {
            () = &mut grace => {
                running.abort_all();
                break;
            }
            next = running.join_next() => if next.is_none() { break },
        }
    }
    drop(done_tx);
    let _ = completer.await;
    heartbeat.abort();
    let now = inner.clock.now();
    match store::release(&mut inner.db.conn(), &inner.owner, now).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(jobs = n, "handed back running jobs at shutdown"),
        Err(err) => {
            tracing::warn!(error = %err, "could not hand back jobs; their leases will run out")
        }
    }
}

async fn claim(inner: &Inner, limit: usize) -> Result<Vec<Job>> {
    let now = inner.clock.now();
    let lease_until = now + lease(inner);
    let jobs = store::claim(
        &mut inner.db.conn(),
        &inner.owner,
        &inner.kinds,
        i64::try_from(limit).unwrap_or(i64::MAX),
        now,
        lease_until,
    )
    .await?;
    for job in &jobs {
        let waited = (now - job.run_at).to_std().unwrap_or_default();
        metrics::histogram!("lastmile_job_wait_seconds", "kind" => job.kind.clone())
            .record(waited.as_secs_f64());
    }
    Ok(jobs)
}

fn lease(inner: &Inner) -> chrono::Duration {
    chrono::Duration::from_std(inner.settings.lease).unwrap_or(chrono::Duration::seconds(60))
}

/// Runs one claimed job and records how it ended.
async fn run_one(
    inner: Arc<Inner>,
    job: Job,
    permit: OwnedSemaphorePermit,
    freed: Arc<Notify>,
    done: mpsc::UnboundedSender<i64>,
) {
    let started = Instant::now();
    let kind = job.kind.clone();
    let outcome = match inner.registry.get(&kind) {
        Some(k) => {
            let attempt = Attempt {
                job: job.clone(),
                worker: inner.owner.clone(),
            };
            k.handler.run(attempt).await
        }
        None => Outcome {
            result: Err(Failure::Permanent(format!("no handler for kind {kind}"))),
            finish: None,
        },
    };
    metrics::histogram!("lastmile_job_run_seconds", "kind" => kind.clone())
        .record(started.elapsed().as_secs_f64());
    if let Err(failure) = &outcome.result {
        metrics::counter!("lastmile_job_failures_total", "kind" => kind.clone()).increment(1);
        tracing::Span::current().record("otel.status_code", "error");
        tracing::debug!(job = job.id, kind = %kind, error = failure.message(), "job attempt failed");
    }
    match outcome {
        Outcome {
            result: Ok(()),
            finish: None,
        } => {
            let _ = done.send(job.id);
        }
        outcome => {
            if let Err(err) = record(&inner, &job, outcome).await {
                tracing::warn!(job = job.id, error = %err, "could not record a job's end; it runs again after its lease");
            }
        }
    }
    drop(permit);
    freed.notify_one();
}

/// Writes an attempt's end (and the handler's writes) in one transaction, only while the
/// lease is held: if another worker took the job over, nothing is written.
async fn record(inner: &Inner, job: &Job, outcome: Outcome) -> Result<()> {
    let now = inner.clock.now();
    let transition = match &outcome.result {
        Ok(()) => Transition::Succeeded,
        Err(Failure::Permanent(_)) => Transition::Dead,
        Err(Failure::Retry(_)) if job.attempts >= job.max_attempts => Transition::Dead,
        Err(Failure::Retry(_)) => {
            let backoff = inner
                .registry
                .get(&job.kind)
                .map(|k| k.backoff.clone())
                .unwrap_or_else(super::default_backoff);
            let wait = chrono::Duration::from_std(backoff.delay(job.attempts))
                .unwrap_or(chrono::Duration::hours(1));
            Transition::Retrying(now + wait)
        }
    };
    let mut tx = inner.db.begin().await?;
    let held = match (&outcome.result, transition) {
        (Ok(()), _) => store::succeed(&mut tx.conn(), &inner.owner, &[job.id], now).await? == 1,
        (Err(failure), Transition::Retrying(at)) => {
            store::fail(
                &mut tx.conn(),
                &inner.owner,
                job.id,
                failure.message(),
                Some(at),
                now,
            )
            .await?
        }
        (Err(failure), _) => {
            store::fail(
                &mut tx.conn(),
                &inner.owner,
                job.id,
                failure.message(),
                None,
                now,
            )
            .await?
        }
    };
    if !held {
        // Dropped: rolled back. Another worker holds the job now.
        tracing::warn!(
            job = job.id,
            "lost the lease before finishing; discarding this attempt's writes"
        );
        return Ok(());
    }
    if let Some(finish) = outcome.finish {
        finish(&mut tx, super::Completion { transition, now }).await?;
    }
    tx.commit().await?;
    if transition == Transition::Dead {
        metrics::counter!("lastmile_jobs_dead_total", "kind" => job.kind.clone()).increment(1);
        tracing::warn!(job = job.id, kind = %job.kind, "job is dead after its last attempt");
    }
    Ok(())
}

/// Completes plain successes in batches: one statement for every id waiting.
async fn complete_batches(inner: Arc<Inner>, mut done: mpsc::UnboundedReceiver<i64>) {
    let mut ids = Vec::with_capacity(256);
    while done.recv_many(&mut ids, 256).await > 0 {
        let mut delay = Duration::from_millis(50);
        loop {
            let now: DateTime<Utc> = inner.clock.now();
            match store::succeed(&mut inner.db.conn(), &inner.owner, &ids, now).await {
                Ok(_) => break,
                Err(err) => {
                    // Keep trying while the lease lasts; after that the jobs run again.
                    tracing::warn!(error = %err, jobs = ids.len(), "could not complete jobs; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(inner.settings.lease / 3);
                    if delay >= inner.settings.lease / 3 {
                        break;
                    }
                }
            }
        }
        ids.clear();
    }
}

/// Extends this process's leases every third of the lease, so long jobs keep theirs and
/// a dead process's run out; then ends the attempts of any process whose leases ran out,
/// so their jobs run again.
async fn heartbeat(inner: Arc<Inner>) {
    let every = (inner.settings.lease / 3).max(Duration::from_millis(100));
    loop {
        let now = inner.clock.now();
        if let Err(err) =
            store::extend_leases(&mut inner.db.conn(), &inner.owner, now + lease(&inner), now).await
        {
            tracing::warn!(error = %err, "could not extend job leases");
        }
        match store::reap_expired(&mut inner.db.conn(), now).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::warn!(jobs = n, "jobs of a stopped worker run again");
                Signal::Jobs.raise();
            }
            Err(err) => tracing::debug!(error = %err, "could not look for expired leases"),
        }
        // It keeps going through the shutdown grace period and is aborted after it.
        tokio::time::sleep(every).await;
    }
}

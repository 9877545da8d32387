//! `ip_pool.usage_high`: raised once each time an allocation brings a static pool to 90 %
//! used. The allocation that crosses the mark flips the pool's `usage_high` flag and
//! enqueues this job in its own transaction; the job writes the event in a transaction of
//! its own. Writing the event inside the allocation would take the outbox's ordering lock
//! in the middle of the caller's transaction (the services domain's), held until it
//! commits, while the caller may still wait on rows another writer holds as it waits for
//! that lock: a deadlock. The job keeps the lock where every other change takes it, last.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::FutureExt;
use lastmile_proto::v1::IpPoolKind;
use serde_json::json;

use super::allocation::{quarantine_cutoff, usage_at};
use super::pool_service::subject;
use super::{NetworkSettings, pool_store};
use crate::db::{Conn, Tx};
use crate::error::Result;
use crate::events::{self, NewEvent};
use crate::jobs::{self, Attempt, Completion, NewJob, Outcome, Registry, default_backoff};

/// The job that raises `ip_pool.usage_high`.
pub const USAGE_ALERT_KIND: &str = "network.usage_alert";

/// Registers the alert job.
pub fn register(registry: &mut Registry, settings: NetworkSettings) {
    let settings = Arc::new(settings);
    registry.register(
        USAGE_ALERT_KIND,
        move |attempt: Attempt| {
            let settings = settings.clone();
            async move { run(attempt, settings) }.boxed()
        },
        default_backoff(),
    );
}

/// Enqueues the alert of pool `pool_id` inside the allocation's transaction.
pub(super) async fn enqueue(conn: &mut Conn<'_>, pool_id: i64, now: DateTime<Utc>) -> Result<()> {
    let job = NewJob::new(USAGE_ALERT_KIND, json!({ "pool_id": pool_id }));
    jobs::enqueue(conn, job, now).await.map(drop)
}

fn run(attempt: Attempt, settings: Arc<NetworkSettings>) -> Outcome {
    let Some(pool_id) = attempt.job.payload.get("pool_id").and_then(|v| v.as_i64()) else {
        return Outcome {
            result: Err(jobs::Failure::Permanent("the job names no pool_id".into())),
            finish: None,
        };
    };
    Outcome::done_with(Box::new(move |tx: &mut Tx, completion: Completion| {
        async move { publish(tx, pool_id, completion.now, &settings).await }.boxed()
    }))
}

/// Writes the event showing the pool as it is now; a pool deleted meanwhile, or no longer
/// static, has nothing to report.
async fn publish(
    tx: &mut Tx,
    pool_id: i64,
    now: DateTime<Utc>,
    settings: &NetworkSettings,
) -> Result<()> {
    let mut conn = tx.conn();
    let Some(mut pool) = pool_store::find(&mut conn, pool_id, false).await? else {
        return Ok(());
    };
    if pool.fields.kind != IpPoolKind::Static {
        return Ok(());
    }
    let cutoff = quarantine_cutoff(now, settings);
    pool.usage = Some(usage_at(&mut conn, pool_id, &pool.fields, cutoff).await?);
    let fallback = pool.audit_view();
    let event = NewEvent::about(
        "ip_pool.usage_high".into(),
        "ip_pool",
        pool_id.to_string(),
        subject(&pool),
        Some(&fallback),
    );
    events::publish(&mut conn, event, now).await.map(drop)
}

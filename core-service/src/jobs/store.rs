//! Job SQL, one text for both engines except the claim's row locking, which only
//! PostgreSQL needs (SQLite's single writer already serialises claims).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Job, JobStatus, NewJob};
use crate::db::{Conn, Signal};
use crate::error::{Error, Result};
use crate::on_conn;
use crate::paging::PageQuery;

const COLUMNS: &str = "id, kind, payload, priority, status, attempts, max_attempts, last_error, \
     run_at, lease_owner, lease_expires_at, dedupe_key, ordering_key, created_at, updated_at, \
     started_at, finished_at, result";

/// The channel PostgreSQL notifies when jobs are enqueued.
pub(crate) const CHANNEL: &str = "lastmile_jobs";

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    kind: String,
    payload: String,
    priority: i32,
    status: String,
    attempts: i32,
    max_attempts: i32,
    last_error: Option<String>,
    run_at: DateTime<Utc>,
    lease_owner: Option<String>,
    lease_expires_at: Option<DateTime<Utc>>,
    dedupe_key: Option<String>,
    ordering_key: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    result: Option<String>,
}

impl TryFrom<Row> for Job {
    type Error = Error;

    fn try_from(r: Row) -> Result<Job> {
        let status = JobStatus::parse(&r.status).ok_or_else(|| {
            Error::Internal(anyhow::anyhow!(
                "job {} has unknown status {}",
                r.id,
                r.status
            ))
        })?;
        Ok(Job {
            id: r.id,
            kind: r.kind,
            payload: serde_json::from_str(&r.payload).unwrap_or(Value::Null),
            priority: r.priority,
            status,
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            last_error: r.last_error,
            run_at: r.run_at,
            lease_owner: r.lease_owner,
            lease_expires_at: r.lease_expires_at,
            dedupe_key: r.dedupe_key,
            ordering_key: r.ordering_key,
            created_at: r.created_at,
            updated_at: r.updated_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
            result: r.result,
        })
    }
}

fn jobs(rows: Vec<Row>) -> Result<Vec<Job>> {
    rows.into_iter().map(Job::try_from).collect()
}

/// Inserts `job`; `None` when its dedupe key is taken.
pub(super) async fn insert(
    conn: &mut Conn<'_>,
    job: &NewJob,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    let postgres = conn.is_postgres();
    let payload = job.payload.to_string();
    let id: Option<i64> = on_conn!(conn, c => sqlx::query_scalar(
        "INSERT INTO jobs (kind, payload, priority, status, attempts, max_attempts, run_at, \
         dedupe_key, ordering_key, created_at, updated_at) \
         VALUES ($1, $2, $3, 'queued', 0, $4, $5, $6, $7, $8, $8) \
         ON CONFLICT (dedupe_key) DO NOTHING RETURNING id")
        .bind(job.kind)
        .bind(&payload)
        .bind(job.priority)
        .bind(job.max_attempts.unwrap_or(super::DEFAULT_MAX_ATTEMPTS))
        .bind(job.run_at.unwrap_or(now))
        .bind(&job.dedupe_key)
        .bind(&job.ordering_key)
        .bind(now)
        .fetch_optional(c)
        .await)?;
    if id.is_some() {
        conn.signal_on_commit(Signal::Jobs);
    }
    if postgres && id.is_some() {
        // Delivered to every listening core when (and only if) the transaction commits.
        on_conn!(conn, c => sqlx::query("SELECT pg_notify($1, '')")
            .bind(CHANNEL)
            .execute(c).await.map(|d| d.rows_affected()))?;
    }
    Ok(id)
}

/// Claims up to `limit` due jobs of the given kinds for `owner` until `lease_until`:
/// queued or failed jobs whose time has come, highest priority and oldest first (read in
/// that order from the partial index `jobs_due`, so a claim costs the same with ten or a
/// million jobs waiting). A job with an ordering key waits while an earlier job with the
/// same key is unfinished. Jobs whose worker died are made claimable by [`reap_expired`].
pub(super) async fn claim(
    conn: &mut Conn<'_>,
    owner: &str,
    kinds: &[&str],
    limit: i64,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<Vec<Job>> {
    let lock = if conn.is_postgres() {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let kinds_list = placeholders(5, kinds.len());
    let sql = format!(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = $1, \
         lease_expires_at = $2, started_at = $3, updated_at = $3 \
         WHERE id IN (SELECT j.id FROM jobs j \
           WHERE j.status IN ('queued', 'failed') AND j.run_at <= $3 \
             AND j.kind IN ({kinds_list}) \
             AND (j.ordering_key IS NULL OR NOT EXISTS (SELECT 1 FROM jobs k \
                  WHERE k.ordering_key = j.ordering_key AND k.id < j.id \
                    AND k.status IN ('queued', 'running', 'failed'))) \
           ORDER BY j.priority DESC, j.run_at, j.id LIMIT $4{lock}) \
         RETURNING {COLUMNS}"
    );
    let rows: Vec<Row> = on_conn!(conn, c => {
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .bind(lease_until)
            .bind(now)
            .bind(limit);
        for kind in kinds {
            query = query.bind(*kind);
        }
        query.fetch_all(c).await
    })?;
    let mut claimed = jobs(rows)?;
    claimed.sort_by_key(|j| (-j.priority, j.run_at, j.id));
    Ok(claimed)
}

/// Marks the jobs `ids` held by `owner` succeeded; answers how many were still held.
pub(super) async fn succeed(
    conn: &mut Conn<'_>,
    owner: &str,
    ids: &[i64],
    now: DateTime<Utc>,
) -> Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let list = placeholders(3, ids.len());
    let sql = format!(
        "UPDATE jobs SET status = 'succeeded', finished_at = $2, updated_at = $2, \
         lease_owner = NULL, lease_expires_at = NULL, last_error = NULL \
         WHERE status = 'running' AND lease_owner = $1 AND id IN ({list})"
    );
    let done = on_conn!(conn, c => {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(owner).bind(now);
        for id in ids {
            query = query.bind(*id);
        }
        query.execute(c).await.map(|d| d.rows_affected())
    })?;
    Ok(done)
}

/// Records a failed attempt of job `id` held by `owner`: `failed` until `run_at`, or
/// `dead`. Answers whether the lease was still held.
pub(super) async fn fail(
    conn: &mut Conn<'_>,
    owner: &str,
    id: i64,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let (status, run_at, finished) = match retry_at {
        Some(at) => ("failed", at, None),
        None => ("dead", now, Some(now)),
    };
    let error: String = error.chars().take(2000).collect();
    let done = on_conn!(conn, c => sqlx::query(
        "UPDATE jobs SET status = $3, run_at = $4, last_error = $5, finished_at = $6, \
         updated_at = $7, lease_owner = NULL, lease_expires_at = NULL \
         WHERE id = $1 AND status = 'running' AND lease_owner = $2")
        .bind(id)
        .bind(owner)
        .bind(status)
        .bind(run_at)
        .bind(&error)
        .bind(finished)
        .bind(now)
        .execute(c).await.map(|d| d.rows_affected()))?;
    Ok(done == 1)
}

/// Ends the attempts whose lease ran out (their worker died or lost the database): each
/// such job fails (due at once) or, if that was its last attempt, is dead. Answers how
/// many.
pub(super) async fn reap_expired(conn: &mut Conn<'_>, now: DateTime<Utc>) -> Result<u64> {
    let done = on_conn!(conn, c => sqlx::query(
        "UPDATE jobs SET \
           status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'failed' END, \
           finished_at = CASE WHEN attempts >= max_attempts THEN $1 ELSE NULL END, \
           last_error = 'the worker stopped before finishing (its lease ran out)', \
           run_at = $1, updated_at = $1, lease_owner = NULL, lease_expires_at = NULL \
         WHERE status = 'running' AND lease_expires_at < $1")
        .bind(now)
        .execute(c).await.map(|d| d.rows_affected()))?;
    Ok(done)
}

/// Extends every lease `owner` holds to `until`.
pub(super) async fn extend_leases(
    conn: &mut Conn<'_>,
    owner: &str,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<u64> {
    let done = on_conn!(conn, c => sqlx::query(
        "UPDATE jobs SET lease_expires_at = $2, updated_at = $3 \
         WHERE status = 'running' AND lease_owner = $1")
        .bind(owner)
        .bind(until)
        .bind(now)
        .execute(c).await.map(|d| d.rows_affected()))?;
    Ok(done)
}

/// Hands back every job `owner` still holds (at shutdown): queued again, the attempt not
/// counted.
pub(super) async fn release(conn: &mut Conn<'_>, owner: &str, now: DateTime<Utc>) -> Result<u64> {
    let done = on_conn!(conn, c => sqlx::query(
        "UPDATE jobs SET status = 'queued', attempts = attempts - 1, run_at = $2, \
         updated_at = $2, lease_owner = NULL, lease_expires_at = NULL \
         WHERE status = 'running' AND lease_owner = $1")
        .bind(owner)
        .bind(now)
        .execute(c).await.map(|d| d.rows_affected()))?;
    Ok(done)
}

/// Queues job `id` again now with a fresh attempt budget.
pub(super) async fn requeue(conn: &mut Conn<'_>, id: i64, now: DateTime<Utc>) -> Result<()> {
    on_conn!(conn, c => sqlx::query(
        "UPDATE jobs SET status = 'queued', attempts = 0, run_at = $2, updated_at = $2, \
         finished_at = NULL, lease_owner = NULL, lease_expires_at = NULL WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(c).await.map(|d| d.rows_affected()))?;
    conn.signal_on_commit(Signal::Jobs);
    if conn.is_postgres() {
        on_conn!(conn, c => sqlx::query("SELECT pg_notify($1, '')")
            .bind(CHANNEL)
            .execute(c).await.map(|d| d.rows_affected()))?;
    }
    Ok(())
}

/// The job `id`.
pub(super) async fn get(conn: &mut Conn<'_>, id: i64) -> Result<Option<Job>> {
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1");
    let row: Option<Row> = on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(c)
        .await)?;
    row.map(Job::try_from).transpose()
}

/// Filters for listing jobs.
#[derive(Debug, Clone, Default)]
pub struct JobQuery {
    /// The page.
    pub page: PageQuery,
    /// Only this kind.
    pub kind: Option<String>,
    /// Only kinds starting with this (`radius.` for the requests to routers).
    pub kind_prefix: Option<String>,
    /// Also (with `kind_prefix`) or only these kinds; empty is no filter of its own.
    pub kinds: Vec<String>,
    /// Only this status.
    pub status: Option<JobStatus>,
}

/// A page of jobs matching `query`, newest first, and how many match.
pub(super) async fn list(conn: &mut Conn<'_>, query: &JobQuery) -> Result<(Vec<Job>, i64)> {
    let mut filters = Vec::new();
    let mut binds: Vec<String> = Vec::new();
    if let Some(kind) = &query.kind {
        binds.push(kind.clone());
        filters.push(format!("kind = ${}", binds.len()));
    }
    let mut kinds = Vec::new();
    if let Some(prefix) = &query.kind_prefix {
        binds.push(format!("{}%", prefix.replace(['%', '_'], "")));
        kinds.push(format!("kind LIKE ${}", binds.len()));
    }
    for kind in &query.kinds {
        binds.push(kind.clone());
        kinds.push(format!("kind = ${}", binds.len()));
    }
    if !kinds.is_empty() {
        filters.push(format!("({})", kinds.join(" OR ")));
    }
    if let Some(status) = query.status {
        binds.push(status.as_str().to_owned());
        filters.push(format!("status = ${}", binds.len()));
    }
    let filter = if filters.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", filters.join(" AND "))
    };
    let n = binds.len();
    let page_sql = format!(
        "SELECT {COLUMNS} FROM jobs{filter} ORDER BY id DESC LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    let count_sql = format!("SELECT COUNT(*) FROM jobs{filter}");
    let rows: Vec<Row> = on_conn!(conn, c => {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(page_sql));
        for b in &binds {
            q = q.bind(b.clone());
        }
        q.bind(query.page.limit()).bind(query.page.offset()).fetch_all(c).await
    })?;
    let total: i64 = on_conn!(conn, c => {
        let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql));
        for b in &binds {
            q = q.bind(b.clone());
        }
        q.fetch_one(c).await
    })?;
    Ok((jobs(rows)?, total))
}

/// How many jobs there are per kind and status (for the queue-depth gauge).
pub(super) async fn depth(conn: &mut Conn<'_>) -> Result<Vec<(String, String, i64)>> {
    Ok(on_conn!(conn, c => sqlx::query_as(
        "SELECT kind, status, COUNT(*) FROM jobs \
         WHERE status IN ('queued', 'running', 'failed', 'dead') GROUP BY kind, status")
        .fetch_all(c)
        .await)?)
}

/// Deletes succeeded jobs finished before `before`.
pub(super) async fn purge_succeeded(conn: &mut Conn<'_>, before: DateTime<Utc>) -> Result<u64> {
    let done = on_conn!(conn, c => sqlx::query(
        "DELETE FROM jobs WHERE status = 'succeeded' AND finished_at < $1")
        .bind(before)
        .execute(c).await.map(|d| d.rows_affected()))?;
    Ok(done)
}

/// `$first, $first+1, …` for `count` values.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) async fn set_result(conn: &mut Conn<'_>, id: i64, result: &str) -> Result<()> {
    on_conn!(conn, c => sqlx::query("UPDATE jobs SET result = $2 WHERE id = $1")
        .bind(id)
        .bind(result)
        .execute(c)
        .await
        .map(|d| d.rows_affected()))?;
    Ok(())
}

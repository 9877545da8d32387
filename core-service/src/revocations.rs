//! What the cores of one deployment share: login attempt counters in Redis (so a limit of
//! five attempts a minute holds across cores), and principal changes.
//!
//! Makes a revoked key or a changed user take effect at once everywhere: each core follows
//! the outbox (woken by its own commits and other cores' NOTIFY), drops what its
//! authenticator remembers of the principal, and, with Redis configured, publishes the
//! principal's subject (`key:<id>`, `user:<id>`) on `<prefix>:principals` so that every
//! edge drops its remembered answer too, rather than after their cache lifetimes. Each core
//! publishes what it reads; a subject announced twice is dropped twice, which is harmless.

use std::time::Duration;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::auth::Authenticator;

use crate::db::{Db, Signal};
use crate::events::{self, EventFilter};
use crate::on_conn;

/// The event types after which a principal's remembered answers are stale.
const CHANGES: &[&str] = &[
    "api_key.revoked",
    "api_client.revoked",
    "user.updated",
    "user.role_changed",
    "user.deleted",
];

/// Where revocations are published.
#[derive(Debug, Clone)]
pub struct RevocationConfig {
    /// `redis://…`.
    pub url: String,
    /// The deployment's key prefix.
    pub prefix: String,
}

/// The subject an event's principal is remembered under.
fn subject(event_type: &str, resource_id: &str) -> String {
    if event_type.starts_with("user.") {
        format!("user:{resource_id}")
    } else {
        format!("key:{resource_id}")
    }
}

/// Follows principal changes until `stop`.
pub async fn follow(
    db: Db,
    authenticator: Arc<Authenticator>,
    config: Option<RevocationConfig>,
    stop: CancellationToken,
) {
    let channel = config
        .as_ref()
        .map(|c| format!("{}:principals", c.prefix))
        .unwrap_or_default();
    let filter = EventFilter {
        types: CHANGES.iter().map(|t| (*t).to_owned()).collect(),
        tenancy: None,
    };
    // Only what happens from now on: older changes are past every edge's cache lifetime.
    let mut cursor: i64 = loop {
        let latest = on_conn!(&mut db.conn(), c => sqlx::query_scalar::<_, Option<i64>>(
            "SELECT MAX(id) FROM events").fetch_one(c).await);
        match latest {
            Ok(latest) => break latest.unwrap_or(0),
            Err(_) => tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            },
        }
    };
    let mut wake = Signal::Events.subscribe();
    let mut connection: Option<redis::aio::MultiplexedConnection> = None;
    let mut warned = false;
    loop {
        wake.borrow_and_update();
        if let Ok((changes, next)) = events::follow(&mut db.conn(), cursor, &filter, 500).await {
            let mut sent = true;
            for change in changes {
                let subject = subject(&change.event_type, &change.resource_id);
                authenticator.forget(&subject);
                let Some(config) = &config else {
                    cursor = change.id;
                    continue;
                };
                if connection.is_none() {
                    connection = connect(&config.url).await.ok();
                }
                let Some(open) = connection.as_mut() else {
                    sent = false;
                    break;
                };
                let published: redis::RedisResult<i64> = redis::cmd("PUBLISH")
                    .arg(&channel)
                    .arg(&subject)
                    .query_async(open)
                    .await;
                match published {
                    Ok(_) => {
                        cursor = change.id;
                        warned = false;
                    }
                    Err(err) => {
                        if !warned {
                            tracing::warn!(error = %err, "cannot publish revocations; edges forget principals after their cache lifetime until Redis answers");
                            warned = true;
                        }
                        connection = None;
                        sent = false;
                        break;
                    }
                }
            }
            if sent {
                cursor = next;
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            _ = wake.changed() => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        // Commits can come hundreds a second (a billing run's batches); one read per
        // READ_GAP catches all of them, well within the edges' one second.
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(READ_GAP) => {}
        }
    }
}

/// The shortest time between two reads of the events.
const READ_GAP: Duration = Duration::from_millis(100);

/// A client of the Redis at `url`, with `TCP_NODELAY` (the crate leaves Nagle's algorithm
/// on: a small command written while another is unanswered would wait for an ACK).
fn client(url: &str) -> redis::RedisResult<redis::Client> {
    let info = redis::IntoConnectionInfo::into_connection_info(url)?
        .set_tcp_settings(redis::io::tcp::TcpSettings::default().set_nodelay(true));
    redis::Client::open(info)
}

async fn connect(url: &str) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
    let client = client(url)?;
    match tokio::time::timeout(
        Duration::from_secs(2),
        client.get_multiplexed_async_connection(),
    )
    .await
    {
        Ok(connection) => connection,
        Err(_) => Err(redis::RedisError::from((
            redis::ErrorKind::Io,
            "connecting to Redis timed out",
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_keys_have_their_subjects() {
        assert_eq!(subject("user.role_changed", "7"), "user:7");
        assert_eq!(subject("api_key.revoked", "12"), "key:12");
        assert_eq!(subject("api_client.revoked", "3"), "key:3");
    }
}

/// Sliding-window attempt counters per key (a sorted set of attempt times): counts one
/// attempt under every key unless one is full; answers 0, or the milliseconds until every
/// key has room again. KEYS: the counters; ARGV: now (ms), window (ms), limit, a unique
/// member for this attempt.
const ATTEMPTS_SCRIPT: &str = r#"
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local wait = 0
for _, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local w = tonumber(oldest[2]) + window - now
    if w > wait then wait = w end
  end
end
if wait > 0 then return math.ceil(wait) end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, window)
end
return 0
"#;

/// Login attempt counters shared through Redis.
#[derive(Debug)]
pub struct SharedAttempts {
    client: redis::Client,
    prefix: String,
    connection: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
    warned: std::sync::atomic::AtomicBool,
    script: redis::Script,
}

impl SharedAttempts {
    /// Counters on `config`'s Redis (connected on first use).
    pub fn new(config: &RevocationConfig) -> redis::RedisResult<Self> {
        Ok(Self {
            client: client(config.url.as_str())?,
            prefix: config.prefix.clone(),
            connection: tokio::sync::Mutex::new(None),
            warned: std::sync::atomic::AtomicBool::new(false),
            script: redis::Script::new(ATTEMPTS_SCRIPT),
        })
    }

    /// `Some(Ok)` to admit, `Some(Err(wait))` to refuse, `None` when Redis could not decide
    /// (the caller counts in this process instead).
    pub async fn admit(
        &self,
        keys: &[String],
        now: chrono::DateTime<chrono::Utc>,
        window: Duration,
        limit: usize,
    ) -> Option<Result<(), Duration>> {
        use std::sync::atomic::Ordering;
        let mut connection = {
            let mut open = self.connection.lock().await;
            if open.is_none() {
                *open = connect_client(&self.client).await.ok();
            }
            open.clone()?
        };
        let mut invocation = self.script.prepare_invoke();
        for key in keys {
            invocation.key(format!("{}:login:{key}", self.prefix));
        }
        invocation
            .arg(now.timestamp_millis())
            .arg(u64::try_from(window.as_millis()).unwrap_or(u64::MAX))
            .arg(limit)
            .arg(uuid::Uuid::new_v4().to_string());
        let answer = tokio::time::timeout(
            Duration::from_millis(500),
            invocation.invoke_async::<i64>(&mut connection),
        )
        .await;
        match answer {
            Ok(Ok(0)) => {
                self.warned.store(false, Ordering::Relaxed);
                Some(Ok(()))
            }
            Ok(Ok(wait)) => Some(Err(Duration::from_millis(u64::try_from(wait).unwrap_or(1)))),
            failed => {
                if !self.warned.swap(true, Ordering::Relaxed) {
                    let why = match failed {
                        Ok(Err(err)) => err.to_string(),
                        _ => "no answer in time".to_owned(),
                    };
                    tracing::warn!(error = %why, "login attempts counted per core until Redis answers");
                }
                *self.connection.lock().await = None;
                None
            }
        }
    }
}

async fn connect_client(
    client: &redis::Client,
) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
    match tokio::time::timeout(
        Duration::from_secs(1),
        client.get_multiplexed_async_connection(),
    )
    .await
    {
        Ok(connection) => connection,
        Err(_) => Err(redis::RedisError::from((
            redis::ErrorKind::Io,
            "connecting to Redis timed out",
        ))),
    }
}

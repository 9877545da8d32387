//! Budgets and revocations shared by every edge of a deployment through Redis.
//!
//! Each budget is a GCRA limiter (the same rule `governor` applies in one process): one
//! Lua script checks the minute and, for tiers that have one, the day budget of a key in
//! one round trip, and spends both only when both allow. The edges' own clocks time it, so
//! they must agree (NTP). When Redis cannot be reached, the edge keeps serving with its
//! own in-process budgets, says so once in the log and on `lastmile_shared_limits_degraded`,
//! and returns to the shared ones as soon as Redis answers again: a Redis outage never
//! refuses traffic.
//!
//! The core publishes on `<prefix>:principals` the subject of every principal that was
//! revoked or changed (from its outbox); every edge drops what it remembers of that
//! subject at once, instead of after its cache lifetime.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::RwLock;

use crate::limits::Decision;
use crate::principals::PrincipalCache;

/// How long one check may take before the edge decides locally.
const CHECK_TIMEOUT: Duration = Duration::from_millis(250);
/// How often a degraded edge (or a lost subscription) tries Redis again.
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// Where the shared state lives.
#[derive(Clone, Debug)]
pub struct SharedConfig {
    /// `redis://host:port[/db]`.
    pub url: String,
    /// The prefix of every key and channel (one per deployment sharing a Redis).
    pub prefix: String,
}

/// GCRA over the minute budget (KEYS[1]) and, when ARGV[5] > 0, the day budget (KEYS[2]).
/// ARGV: now (ms), minute interval (ms), minute burst, day interval (ms), day burst.
/// Answers {allowed, remaining, reset_after_ms, retry_after_ms}.
const SCRIPT: &str = r#"
local now = tonumber(ARGV[1])
local function gcra(key, interval, burst)
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
  local allow_at = new_tat - interval * burst
  if allow_at > now then
    return {false, tat, allow_at - now}
  end
  return {true, new_tat, 0}
end
local mi, mb = tonumber(ARGV[2]), tonumber(ARGV[3])
local m = gcra(KEYS[1], mi, mb)
if not m[1] then
  return {0, 0, math.ceil(m[2] - now), math.ceil(m[3])}
end
local remaining = math.floor((now + mi * mb - m[2]) / mi)
local reset_after = m[2] - now
local db = tonumber(ARGV[5])
if db > 0 then
  local di = tonumber(ARGV[4])
  local d = gcra(KEYS[2], di, db)
  if not d[1] then
    return {0, 0, math.ceil(math.max(reset_after, d[3])), math.ceil(d[3])}
  end
  remaining = math.min(remaining, math.floor((now + di * db - d[2]) / di))
  redis.call('SET', KEYS[2], tostring(d[2]), 'PX', math.ceil(d[2] - now) + 1000)
end
redis.call('SET', KEYS[1], tostring(m[2]), 'PX', math.ceil(m[2] - now) + 1000)
return {1, remaining, math.ceil(reset_after), 0}
"#;

/// The shared budgets of a deployment.
pub(crate) struct SharedLimits {
    config: SharedConfig,
    connection: RwLock<Option<ConnectionManager>>,
    script: redis::Script,
    degraded: AtomicBool,
}

impl std::fmt::Debug for SharedLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedLimits")
            .field("prefix", &self.config.prefix)
            .field("degraded", &self.degraded.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

fn millis(at: SystemTime) -> f64 {
    at.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
        * 1000.0
}

impl SharedLimits {
    /// Shared budgets on `config`'s Redis; connects in the background, degraded until it
    /// answers. Also starts following the core's revocations into `principals`.
    pub(crate) fn start(config: SharedConfig, principals: Arc<PrincipalCache>) -> Arc<Self> {
        let shared = Arc::new(Self {
            config,
            connection: RwLock::new(None),
            script: redis::Script::new(SCRIPT),
            degraded: AtomicBool::new(true),
        });
        metrics::gauge!("lastmile_shared_limits_degraded").set(1.0);
        tokio::spawn(keep_connected(Arc::downgrade(&shared)));
        tokio::spawn(follow_revocations(shared.config.clone(), principals));
        shared
    }

    /// Whether budgets are decided locally now.
    pub(crate) fn degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }

    fn mark(&self, degraded: bool, why: &str) {
        if self.degraded.swap(degraded, Ordering::Relaxed) != degraded {
            metrics::gauge!("lastmile_shared_limits_degraded").set(if degraded {
                1.0
            } else {
                0.0
            });
            if degraded {
                tracing::warn!(
                    reason = why,
                    "shared rate limits unavailable; limiting locally until Redis answers"
                );
            } else {
                tracing::info!("shared rate limits available again");
            }
        }
    }

    /// Counts one request of `subject` against the shared `budget` (`per_minute`, and
    /// `per_day` when set); `None` when Redis could not decide (the caller decides locally).
    pub(crate) async fn check(
        &self,
        budget: &str,
        subject: &str,
        per_minute: u32,
        per_day: Option<u32>,
        at: SystemTime,
    ) -> Option<Decision> {
        if self.degraded() {
            return None;
        }
        let mut connection = self.connection.read().await.clone()?;
        let per_minute = per_minute.max(1);
        let prefix = &self.config.prefix;
        let mut invocation = self.script.prepare_invoke();
        invocation
            .key(format!("{prefix}:rl:{budget}:m:{subject}"))
            .key(format!("{prefix}:rl:{budget}:d:{subject}"))
            .arg(millis(at))
            .arg(60_000.0 / f64::from(per_minute))
            .arg(per_minute)
            .arg(per_day.map_or(0.0, |d| 86_400_000.0 / f64::from(d.max(1))))
            .arg(per_day.unwrap_or(0));
        let answer = tokio::time::timeout(
            CHECK_TIMEOUT,
            invocation.invoke_async::<(i64, i64, i64, i64)>(&mut connection),
        )
        .await;
        match answer {
            Ok(Ok((allowed, remaining, reset_after, retry_after))) => Some(Decision {
                limit: per_minute,
                remaining: u32::try_from(remaining.max(0)).unwrap_or(0),
                reset_after: Duration::from_millis(u64::try_from(reset_after.max(0)).unwrap_or(0)),
                retry_after: (allowed == 0)
                    .then(|| Duration::from_millis(u64::try_from(retry_after.max(1)).unwrap_or(1))),
                at,
            }),
            Ok(Err(err)) => {
                self.mark(true, &err.to_string());
                None
            }
            Err(_) => {
                self.mark(true, "no answer in time");
                None
            }
        }
    }
}

/// Connects, and while degraded tries again every second until Redis answers.
async fn keep_connected(shared: std::sync::Weak<SharedLimits>) {
    let mut warned = false;
    loop {
        let Some(limits) = shared.upgrade() else {
            return;
        };
        if limits.degraded() {
            let connected = connect(&limits.config.url).await;
            match connected {
                Ok(mut connection) => {
                    let pong: redis::RedisResult<String> =
                        redis::cmd("PING").query_async(&mut connection).await;
                    if pong.is_ok() {
                        *limits.connection.write().await = Some(connection);
                        limits.mark(false, "");
                        warned = false;
                    }
                }
                Err(err) => {
                    if !warned {
                        // Logged once per outage (and once at start without Redis).
                        limits.mark(true, &err.to_string());
                        tracing::warn!(error = %err, "Redis unreachable; limiting locally");
                        warned = true;
                    }
                }
            }
        }
        drop(limits);
        tokio::time::sleep(RETRY_EVERY).await;
    }
}

/// A client of the Redis at `url`, with `TCP_NODELAY` (the crate leaves Nagle's algorithm
/// on: a small command written while another is unanswered would wait for an ACK).
fn client(url: &str) -> redis::RedisResult<redis::Client> {
    let info = redis::IntoConnectionInfo::into_connection_info(url)?
        .set_tcp_settings(redis::io::tcp::TcpSettings::default().set_nodelay(true));
    redis::Client::open(info)
}

async fn connect(url: &str) -> redis::RedisResult<ConnectionManager> {
    let client = client(url)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_millis(500)))
        .set_response_timeout(Some(CHECK_TIMEOUT))
        .set_number_of_retries(1);
    tokio::time::timeout(
        Duration::from_secs(2),
        ConnectionManager::new_with_config(client, config),
    )
    .await
    .unwrap_or_else(|_| {
        Err(redis::RedisError::from((
            redis::ErrorKind::Io,
            "connecting to Redis timed out",
        )))
    })
}

/// Drops remembered answers of every subject the core announces, re-subscribing after
/// a lost connection (meanwhile answers expire after the cache lifetime as without Redis).
async fn follow_revocations(config: SharedConfig, principals: Arc<PrincipalCache>) {
    let channel = format!("{}:principals", config.prefix);
    loop {
        let subscribed = async {
            let client = client(config.url.as_str())?;
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        if let Ok(Ok(pubsub)) = tokio::time::timeout(Duration::from_secs(2), subscribed).await {
            let mut messages = pubsub.into_on_message();
            while let Some(message) = messages.next().await {
                if let Ok(subject) = message.get_payload::<String>() {
                    principals.forget(&subject);
                }
            }
        }
        tokio::time::sleep(RETRY_EVERY).await;
    }
}

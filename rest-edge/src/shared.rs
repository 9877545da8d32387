//! Budgets and revocations shared by every edge of a deployment through Redis.
//!
//! Each budget is a GCRA limiter (the same rule `governor` applies in one process): a
//! Lua script checks the minute and, for tiers that have one, the day budget of a key,
//! and spends both only when both allow. The edges' own clocks time it, so they must agree
//! (NTP). Three things keep Redis off most requests' path without giving up one budget for
//! the whole deployment:
//!
//! - **Batches.** While one call to Redis is under way, the checks of the requests that
//!   arrive meanwhile queue up and go together in the next call, one script run for all of
//!   them, the checks of one key as one request for that many. An idle edge sends each
//!   check alone at once.
//! - **Leases.** When a key's budget had at least `LEASE_SHARE` passes left at its last
//!   call, the edge's next call spends more than it needs: 1/`LEASE_SHARE` of what was
//!   left, at most `MAX_LEASE`. The edge lets the next requests of that key through on
//!   those passes itself, for at most `LEASE_FOR`. Every request let through was spent in
//!   Redis first, so the deployment never lets more through than the budget; a lease an
//!   edge does not use in time is lost, which is at most 1/`LEASE_SHARE` of the budget left
//!   per edge. Budgets of `LEASE_SHARE` a minute or less (the standard 60 among them) are
//!   never leased: every request is counted in Redis, to the request.
//! - **Refusals.** A refused key is refused by the edge itself until the time Redis named
//!   for its next request: what other edges spend can only push that time later.
//!
//! When Redis cannot be reached, the edge keeps serving with its own in-process budgets,
//! says so once in the log and on `lastmile_shared_limits_degraded`, and returns to the
//! shared ones as soon as Redis answers again: a Redis outage never refuses traffic.
//!
//! The script names every key it touches, but one batch touches keys of many subjects, so
//! the budgets need one Redis server (or a primary with replicas), not a Redis Cluster.
//!
//! The core publishes on `<prefix>:principals` the subject of every principal that was
//! revoked or changed (from its outbox); every edge drops what it remembers of that
//! subject at once, instead of after its cache lifetime.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::{RwLock, mpsc, oneshot};

use crate::limits::Decision;
use crate::principals::PrincipalCache;

/// How long one check may take before the edge decides locally.
const CHECK_TIMEOUT: Duration = Duration::from_millis(250);
/// How often a degraded edge (or a lost subscription) tries Redis again.
const RETRY_EVERY: Duration = Duration::from_secs(1);
/// The most checks sent in one call.
const MAX_BATCH: usize = 256;
/// A lease is at most this share (1/n) of what is left of a budget.
const LEASE_SHARE: u32 = 256;
/// The most requests one lease lets through.
const MAX_LEASE: u32 = 64;
/// How long a lease may be used; what is left of it then is lost.
const LEASE_FOR: Duration = Duration::from_millis(500);
/// How long what is known of a budget is kept after its last call (the size of its next
/// lease).
const KEEP_FOR: Duration = Duration::from_secs(10);
/// Budgets held between sweeps of those no longer needed; past `MOST_HELD` the edge
/// forgets all of them rather than grow (the cost: one more call per budget).
const SWEEP_EVERY: u64 = 4096;
const MOST_HELD: usize = 100_000;

/// Where the shared state lives.
#[derive(Clone, Debug)]
pub struct SharedConfig {
    /// `redis://host:port[/db]`.
    pub url: String,
    /// The prefix of every key and channel (one per deployment sharing a Redis).
    pub prefix: String,
}

/// GCRA over a batch of requests for budgets, in order. Request i (from 0) asks for up
/// to `want` passes of the minute budget KEYS[2i+1] and, when its day burst is above 0,
/// of the day budget KEYS[2i+2]; it gets as many as both allow, spent in both.
/// ARGV, six per request: now (ms), minute interval (ms), minute burst, day interval (ms),
/// day burst, want. Answers four integers per request: granted, remaining after them,
/// reset_after_ms (until the minute budget is full again), retry_after_ms (until one more
/// could pass; 0 when it can now). A key is read once and written once per batch, in full
/// precision (`tostring` would keep 14 digits: a tenth of a millisecond, more than one
/// pass's interval for budgets above 600,000 a minute).
const SCRIPT: &str = r#"
local tats, dirty = {}, {}
local latest = 0
local function tat_of(key, now)
  local tat = tats[key]
  if tat == nil then
    tat = tonumber(redis.call('GET', key) or now)
    tats[key] = tat
  end
  if tat < now then return now end
  return tat
end
-- Passes that fit now; the slack absorbs the rounding of times near 1.8e12 ms.
local function room(tat, now, interval, burst)
  return math.floor((now + interval * burst - tat) / interval + 1e-3)
end
local out = {}
for i = 0, #KEYS / 2 - 1 do
  local a = 6 * i
  local now = tonumber(ARGV[a + 1])
  local mi, mb = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local di, db = tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])
  local want = tonumber(ARGV[a + 6])
  if now > latest then latest = now end
  local mkey, dkey = KEYS[2 * i + 1], KEYS[2 * i + 2]
  local mtat = tat_of(mkey, now)
  local granted = math.min(want, room(mtat, now, mi, mb))
  local dtat = 0
  if db > 0 then
    dtat = tat_of(dkey, now)
    granted = math.min(granted, room(dtat, now, di, db))
  end
  if granted > 0 then
    mtat = mtat + granted * mi
    tats[mkey] = mtat
    dirty[mkey] = true
    if db > 0 then
      dtat = dtat + granted * di
      tats[dkey] = dtat
      dirty[dkey] = true
    end
  else
    granted = 0
  end
  local left = room(mtat, now, mi, mb)
  local wait = mtat + mi - mi * mb - now
  if db > 0 then
    left = math.min(left, room(dtat, now, di, db))
    wait = math.max(wait, dtat + di - di * db - now)
  end
  if left > 0 then wait = 0 else left = 0 end
  out[#out + 1] = granted
  out[#out + 1] = left
  out[#out + 1] = math.ceil(mtat - now)
  out[#out + 1] = math.max(math.ceil(wait), 0)
end
for key in pairs(dirty) do
  local tat = tats[key]
  redis.call('SET', key, string.format('%.17g', tat), 'PX', math.ceil(tat - latest) + 1000)
end
return out
"#;

/// One request's check, waiting in the queue for the next call.
struct Check {
    minute_key: String,
    day_key: String,
    at: SystemTime,
    per_minute: u32,
    per_day: Option<u32>,
    answer: oneshot::Sender<Option<Decision>>,
}

/// What this edge knows of one budget from its last call.
#[derive(Debug)]
struct Held {
    /// Passes spent in Redis for this edge and not used yet.
    leased: u32,
    /// What Redis said was left after them.
    remaining: u32,
    /// When the minute budget is full again, as of that call.
    full_at: SystemTime,
    /// Until when the leased passes may be used.
    lease_until: SystemTime,
    /// Until when no request can pass, when Redis refused.
    refused_until: Option<SystemTime>,
}

impl Held {
    /// Decides a request of `limit` a minute at `at` on this edge alone, when what it
    /// holds can: a leased pass, or a refusal still standing.
    fn decide(&mut self, limit: u32, at: SystemTime) -> Option<Decision> {
        let reset_after = self.full_at.duration_since(at).unwrap_or_default();
        if let Some(until) = self.refused_until
            && at < until
        {
            let wait = until.duration_since(at).unwrap_or_default();
            return Some(Decision {
                limit,
                remaining: 0,
                reset_after,
                retry_after: Some(wait.max(Duration::from_millis(1))),
                at,
            });
        }
        if self.leased > 0 && at < self.lease_until {
            self.leased -= 1;
            return Some(Decision {
                limit,
                remaining: self.remaining.saturating_add(self.leased),
                reset_after,
                retry_after: None,
                at,
            });
        }
        None
    }

    /// How many passes beyond its own needs the next call may ask for.
    fn lease_size(&self) -> u32 {
        (self.remaining / LEASE_SHARE).min(MAX_LEASE)
    }

    /// Whether it still says anything at `now`.
    fn useful(&self, now: SystemTime) -> bool {
        self.refused_until.is_some_and(|until| now < until) || now < self.lease_until + KEEP_FOR
    }
}

/// The checks of one budget in a batch.
struct Group {
    checks: Vec<Check>,
    /// Passes asked beyond the checks, to lease.
    extra: u32,
}

/// The shared budgets of a deployment.
pub(crate) struct SharedLimits {
    config: SharedConfig,
    connection: RwLock<Option<ConnectionManager>>,
    script: redis::Script,
    degraded: AtomicBool,
    queue: mpsc::UnboundedSender<Check>,
    /// What this edge holds per minute-budget key.
    held: Mutex<HashMap<String, Held>>,
    /// Calls answered, for sweeping `held`.
    calls: AtomicU64,
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

/// A count of milliseconds from the script, as a duration (negative counts as none).
fn millis_duration(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// A count from the script as a `u32` (negative counts as none).
fn count(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

impl SharedLimits {
    /// Shared budgets on `config`'s Redis; connects in the background, degraded until it
    /// answers. Also starts following the core's revocations into `principals`.
    pub(crate) fn start(config: SharedConfig, principals: Arc<PrincipalCache>) -> Arc<Self> {
        let (queue, checks) = mpsc::unbounded_channel();
        let shared = Arc::new(Self {
            config,
            connection: RwLock::new(None),
            script: redis::Script::new(SCRIPT),
            degraded: AtomicBool::new(true),
            queue,
            held: Mutex::new(HashMap::new()),
            calls: AtomicU64::new(0),
        });
        metrics::gauge!("lastmile_shared_limits_degraded").set(1.0);
        tokio::spawn(keep_connected(Arc::downgrade(&shared)));
        tokio::spawn(send_batches(Arc::downgrade(&shared), checks));
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
                // Leases and refusals were Redis's word; the local budgets decide now.
                self.held_map().clear();
                tracing::warn!(
                    reason = why,
                    "shared rate limits unavailable; limiting locally until Redis answers"
                );
            } else {
                tracing::info!("shared rate limits available again");
            }
        }
    }

    fn held_map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one request of `subject` against the shared `budget` (`per_minute`, and
    /// `per_day` when set); `None` when Redis could not decide in time (the caller decides
    /// locally).
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
        let prefix = &self.config.prefix;
        let per_minute = per_minute.max(1);
        let minute_key = format!("{prefix}:rl:{budget}:m:{subject}");
        if let Some(held) = self.held_map().get_mut(&minute_key)
            && let Some(decision) = held.decide(per_minute, at)
        {
            return Some(decision);
        }
        let (answer, answered) = oneshot::channel();
        let check = Check {
            minute_key,
            day_key: format!("{prefix}:rl:{budget}:d:{subject}"),
            at,
            per_minute,
            per_day,
            answer,
        };
        self.queue.send(check).ok()?;
        // A check that waited this long is dropped from the queue (its receiver is gone)
        // and decided locally; the batch it may already be part of times out by itself.
        tokio::time::timeout(CHECK_TIMEOUT, answered)
            .await
            .ok()?
            .ok()?
    }

    /// Answers what leases taken since the checks queued can answer, and groups the rest
    /// by budget, with the lease each group may ask for.
    fn group(&self, batch: Vec<Check>) -> Vec<Group> {
        let mut held = self.held_map();
        let mut groups: Vec<Group> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for check in batch {
            if let Some(h) = held.get_mut(&check.minute_key)
                && let Some(decision) = h.decide(check.per_minute, check.at)
            {
                let _ = check.answer.send(Some(decision));
                continue;
            }
            if let Some(&i) = index.get(&check.minute_key) {
                groups[i].checks.push(check);
                continue;
            }
            let extra = held.get(&check.minute_key).map_or(0, Held::lease_size);
            index.insert(check.minute_key.clone(), groups.len());
            groups.push(Group {
                checks: vec![check],
                extra,
            });
        }
        groups
    }

    /// Sends `batch` in one call and answers each of its checks.
    async fn decide(&self, batch: Vec<Check>) {
        let groups = self.group(batch);
        if groups.is_empty() {
            return;
        }
        let Some(mut connection) = self.connection.read().await.clone() else {
            return;
        };
        let mut invocation = self.script.prepare_invoke();
        for group in &groups {
            let first = &group.checks[0];
            let want = u32::try_from(group.checks.len())
                .unwrap_or(u32::MAX)
                .saturating_add(group.extra);
            invocation
                .key(first.minute_key.as_str())
                .key(first.day_key.as_str())
                .arg(millis(first.at))
                .arg(60_000.0 / f64::from(first.per_minute))
                .arg(first.per_minute)
                .arg(
                    first
                        .per_day
                        .map_or(0.0, |d| 86_400_000.0 / f64::from(d.max(1))),
                )
                .arg(first.per_day.unwrap_or(0))
                .arg(want);
        }
        let answer = tokio::time::timeout(
            CHECK_TIMEOUT,
            invocation.invoke_async::<Vec<i64>>(&mut connection),
        )
        .await;
        let figures = match answer {
            Ok(Ok(figures)) if figures.len() == 4 * groups.len() => figures,
            Ok(Ok(figures)) => {
                self.mark(
                    true,
                    &format!(
                        "the budget script answered {} figures for {} budgets",
                        figures.len(),
                        groups.len()
                    ),
                );
                return;
            }
            Ok(Err(err)) => {
                self.mark(true, &err.to_string());
                return;
            }
            Err(_) => {
                self.mark(true, "no answer in time");
                return;
            }
        };
        let mut held = self.held_map();
        for (group, figures) in groups.into_iter().zip(figures.chunks_exact(4)) {
            let &[granted, remaining, reset_after, retry_after] = figures else {
                continue;
            };
            let (granted, remaining) = (count(granted), count(remaining));
            let first = &group.checks[0];
            let (key, at, limit) = (first.minute_key.clone(), first.at, first.per_minute);
            let full_at = at + millis_duration(reset_after);
            let retry_after = millis_duration(retry_after);
            let mut passes = granted;
            for check in group.checks {
                let decision = if passes > 0 {
                    passes -= 1;
                    Decision {
                        limit,
                        remaining: remaining.saturating_add(passes),
                        reset_after: full_at.duration_since(check.at).unwrap_or_default(),
                        retry_after: None,
                        at: check.at,
                    }
                } else {
                    Decision {
                        limit,
                        remaining: 0,
                        reset_after: full_at.duration_since(check.at).unwrap_or_default(),
                        retry_after: Some(retry_after.max(Duration::from_millis(1))),
                        at: check.at,
                    }
                };
                // A check whose request stopped waiting has nobody to answer.
                let _ = check.answer.send(Some(decision));
            }
            let refused_until = (passes == 0 && !retry_after.is_zero()).then_some(at + retry_after);
            let worth_keeping = passes > 0 || refused_until.is_some() || remaining >= LEASE_SHARE;
            if worth_keeping {
                held.insert(
                    key,
                    Held {
                        leased: passes,
                        remaining,
                        full_at,
                        lease_until: at + LEASE_FOR,
                        refused_until,
                    },
                );
            } else {
                held.remove(&key);
            }
        }
        self.sweep(&mut held);
    }

    /// Now and then, forgets budgets whose lease, refusal and lease size are of no more use.
    fn sweep(&self, held: &mut HashMap<String, Held>) {
        let calls = self.calls.fetch_add(1, Ordering::Relaxed);
        if held.len() > MOST_HELD {
            held.clear();
        } else if calls % SWEEP_EVERY == SWEEP_EVERY - 1 {
            let now = SystemTime::now();
            held.retain(|_, h| h.useful(now));
        }
    }
}

/// Sends the queued checks to Redis, one call at a time: each call takes every check that
/// queued while the one before was under way (up to `MAX_BATCH`). Checks whose request
/// stopped waiting are left out, so they spend no shared budget; the checks of a failed
/// call are answered `None` (their requests decide locally).
async fn send_batches(shared: Weak<SharedLimits>, mut checks: mpsc::UnboundedReceiver<Check>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while checks.recv_many(&mut batch, MAX_BATCH).await > 0 {
        batch.retain(|check| !check.answer.is_closed());
        if batch.is_empty() {
            continue;
        }
        let Some(limits) = shared.upgrade() else {
            return;
        };
        let sending = std::mem::replace(&mut batch, Vec::with_capacity(MAX_BATCH));
        limits.decide(sending).await;
    }
}

/// Connects, and while degraded tries again every second until Redis answers.
async fn keep_connected(shared: Weak<SharedLimits>) {
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

#[cfg(test)]
#[path = "shared_tests.rs"]
mod tests;

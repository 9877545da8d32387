//! Request budgets: per principal (an API key, or a user signed in with an access token)
//! by tier, and per client IP for requests without a credential.
//! Each budget is a `governor` keyed GCRA limiter per minute, plus one per day for the tiers
//! that have a daily cap.

use crate::clock::{SharedClock, Ticks};
use crate::envelope::{ApiError, ErrorCode};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use governor::clock::Clock;
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use lastmile_proto::v1::RateLimitTier;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, Ticks, StateInformationMiddleware>;

/// How many checks pass between sweeps of keys whose budget is full again.
const SWEEP_EVERY: u64 = 4096;

const MINUTE: Duration = Duration::from_secs(60);
const DAY: Duration = Duration::from_secs(86_400);

/// The outcome of counting one request against a budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Decision {
    /// Requests per minute of the budget.
    pub limit: u32,
    /// Requests left before the limit bites.
    pub remaining: u32,
    /// How long until the minute budget is full again.
    pub reset_after: Duration,
    /// Set when the request is refused: how long until one more is let through.
    pub retry_after: Option<Duration>,
    /// When the decision was made, on the edge's wall clock.
    pub at: SystemTime,
}

/// Whole seconds, rounded up, so that a client waiting that long is let through.
fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl Decision {
    /// Puts the `X-RateLimit-*` headers (and `Retry-After` on a refusal) on an answer.
    pub(crate) fn apply(&self, headers: &mut HeaderMap) {
        let now = self.at.duration_since(UNIX_EPOCH).unwrap_or_default();
        let reset = ceil_secs(now + self.reset_after);
        const LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
        const REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
        const RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");
        const RETRY_AFTER: HeaderName = HeaderName::from_static("retry-after");
        headers.reserve(4);
        headers.insert(LIMIT, HeaderValue::from(self.limit));
        headers.insert(REMAINING, HeaderValue::from(self.remaining));
        headers.insert(RESET, HeaderValue::from(reset));
        if let Some(seconds) = self.retry_seconds() {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
    }

    /// `Retry-After` in whole seconds, at least 1.
    fn retry_seconds(&self) -> Option<u64> {
        self.retry_after.map(|d| ceil_secs(d).max(1))
    }

    /// The 429 answer for a refused request, or `None` when it may pass.
    pub(crate) fn refusal(&self) -> Option<ApiError> {
        let seconds = self.retry_seconds()?;
        Some(ApiError::new(
            ErrorCode::RateLimited,
            "Too many requests",
            Some(format!("Rate limit exceeded. Retry in {seconds} seconds.")),
        ))
    }
}

/// One budget: a per-minute limiter and, for some tiers, a per-day one.
struct Budget<K: Hash + Eq + Clone> {
    per_minute: u32,
    per_day: Option<u32>,
    minute: Keyed<K>,
    day: Option<Keyed<K>>,
}

/// A keyed limiter reading `clock`.
fn keyed<K: Hash + Eq + Clone>(quota: Quota, clock: &SharedClock) -> Keyed<K> {
    Keyed::new(
        quota,
        DefaultKeyedStateStore::default(),
        Ticks(clock.clone()),
    )
}

impl<K: Hash + Eq + Clone> Budget<K> {
    fn new(per_minute: u32, per_day: Option<u32>, clock: &SharedClock) -> Self {
        let per_minute = per_minute.max(1);
        let burst = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        let day = per_day.and_then(NonZeroU32::new).map(|n| {
            // Refills one request every day/n, up to n: n a day, not n in one burst a day.
            let quota = Quota::with_period(DAY / n.get())
                .unwrap_or_else(|| Quota::per_second(n))
                .allow_burst(n);
            keyed(quota, clock)
        });
        Self {
            per_minute,
            per_day,
            minute: keyed(Quota::per_minute(burst), clock),
            day,
        }
    }

    /// Time for one request to be refilled in the minute budget.
    fn refill(&self) -> Duration {
        MINUTE / self.per_minute
    }

    fn check(&self, key: &K, at: SystemTime) -> Decision {
        let refill = self.refill();
        let minute = match self.minute.check_key(key) {
            Ok(snapshot) => snapshot,
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.minute.clock().now());
                return Decision {
                    limit: self.per_minute,
                    remaining: 0,
                    reset_after: wait + refill * (self.per_minute - 1),
                    retry_after: Some(wait),
                    at,
                };
            }
        };
        let minute_left = minute.remaining_burst_capacity();
        let reset_after = refill * self.per_minute.saturating_sub(minute_left);
        let remaining = match &self.day {
            None => minute_left,
            Some(day) => match day.check_key(key) {
                Ok(snapshot) => minute_left.min(snapshot.remaining_burst_capacity()),
                Err(not_until) => {
                    let wait = not_until.wait_time_from(day.clock().now());
                    return Decision {
                        limit: self.per_minute,
                        remaining: 0,
                        reset_after: reset_after.max(wait),
                        retry_after: Some(wait),
                        at,
                    };
                }
            },
        };
        Decision {
            limit: self.per_minute,
            remaining,
            reset_after,
            retry_after: None,
            at,
        }
    }

    /// Forgets keys whose budget is full again, so idle keys do not pile up.
    fn sweep(&self) {
        self.minute.retain_recent();
        if let Some(day) = &self.day {
            day.retain_recent();
        }
    }
}

/// Every budget of the edge.
pub(crate) struct Limits {
    standard: Budget<Arc<str>>,
    free: Budget<Arc<str>>,
    professional: Budget<Arc<str>>,
    enterprise: Budget<Arc<str>>,
    by_ip: Budget<IpAddr>,
    checks: AtomicU64,
    clock: SharedClock,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("default_per_minute", &self.standard.per_minute)
            .finish_non_exhaustive()
    }
}

impl Limits {
    /// Budgets with `default_per_minute` for the standard tier and for client IPs, timed
    /// by `clock`.
    pub(crate) fn new(default_per_minute: u32, clock: SharedClock) -> Self {
        Self {
            standard: Budget::new(default_per_minute, None, &clock),
            free: Budget::new(100, Some(10_000), &clock),
            professional: Budget::new(500, Some(50_000), &clock),
            enterprise: Budget::new(2_000, Some(200_000), &clock),
            by_ip: Budget::new(default_per_minute, None, &clock),
            checks: AtomicU64::new(0),
            clock,
        }
    }

    fn tick(&self) {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            for budget in [
                &self.standard,
                &self.free,
                &self.professional,
                &self.enterprise,
            ] {
                budget.sweep();
            }
            self.by_ip.sweep();
        }
    }

    /// The budget of `tier`: its name (in shared keys), requests per minute and per day.
    pub(crate) fn quota(&self, tier: RateLimitTier) -> (&'static str, u32, Option<u32>) {
        let (name, budget) = match tier {
            RateLimitTier::Free => ("free", &self.free),
            RateLimitTier::Professional => ("professional", &self.professional),
            RateLimitTier::Enterprise => ("enterprise", &self.enterprise),
            RateLimitTier::Standard | RateLimitTier::Unspecified => ("standard", &self.standard),
        };
        (name, budget.per_minute, budget.per_day)
    }

    /// The budget of client addresses: requests per minute.
    pub(crate) fn ip_quota(&self) -> u32 {
        self.by_ip.per_minute
    }

    /// The edge's wall clock.
    pub(crate) fn now(&self) -> std::time::SystemTime {
        self.clock.wall()
    }

    /// Counts a request of a principal (its `subject`: "key:<id>" or "user:<id>") against
    /// its tier's budget.
    pub(crate) fn check_key(&self, tier: RateLimitTier, subject: &Arc<str>) -> Decision {
        self.tick();
        let budget = match tier {
            RateLimitTier::Free => &self.free,
            RateLimitTier::Professional => &self.professional,
            RateLimitTier::Enterprise => &self.enterprise,
            RateLimitTier::Standard | RateLimitTier::Unspecified => &self.standard,
        };
        budget.check(subject, self.clock.wall())
    }

    /// Counts a request without an API key against its client address.
    pub(crate) fn check_ip(&self, ip: IpAddr) -> Decision {
        self.tick();
        self.by_ip.check(&ip, self.clock.wall())
    }
}

#[cfg(test)]
#[path = "limits_tests.rs"]
mod tests;

use super::*;
use crate::clock::system;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Instant;

/// A clock that stands still until moved.
#[derive(Debug)]
struct Stopped {
    instant: Instant,
    wall: SystemTime,
    moved_nanos: AtomicU64,
}

impl Stopped {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            instant: Instant::now(),
            // A whole second, so that the unix times in the headers are exact.
            wall: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            moved_nanos: AtomicU64::new(0),
        })
    }

    fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap();
        self.moved_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    fn moved(&self) -> Duration {
        Duration::from_nanos(self.moved_nanos.load(Ordering::Relaxed))
    }
}

impl crate::clock::Clock for Stopped {
    fn instant(&self) -> Instant {
        self.instant + self.moved()
    }

    fn wall(&self) -> SystemTime {
        self.wall + self.moved()
    }
}

fn header(headers: &HeaderMap, name: &str) -> u64 {
    headers[name].to_str().unwrap().parse().unwrap()
}

#[test]
fn a_client_ip_gets_the_default_budget_and_then_a_refusal() {
    let limits = Limits::new(3, system());
    let ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let remaining: Vec<u32> = (0..3).map(|_| limits.check_ip(ip).remaining).collect();
    assert_eq!(remaining, [2, 1, 0]);
    let refused = limits.check_ip(ip);
    assert_eq!(refused.remaining, 0);
    let retry = refused.retry_after.unwrap();
    assert!(
        retry > Duration::from_secs(15) && retry <= Duration::from_secs(20),
        "{retry:?}"
    );
    // Another address has its own budget.
    let other = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
    assert!(limits.check_ip(other).retry_after.is_none());
}

#[test]
fn tiers_have_their_own_per_minute_limits() {
    let limits = Limits::new(60, system());
    let cases = [
        (RateLimitTier::Unspecified, 60),
        (RateLimitTier::Standard, 60),
        (RateLimitTier::Free, 100),
        (RateLimitTier::Professional, 500),
        (RateLimitTier::Enterprise, 2_000),
    ];
    for (id, (tier, limit)) in (1..).zip(cases) {
        let decision = limits.check_key(tier, &format!("key:{id}").into());
        assert_eq!(decision.limit, limit, "{tier:?}");
        assert_eq!(decision.remaining, limit - 1, "{tier:?}");
        assert!(decision.retry_after.is_none());
    }
}

#[test]
fn keys_are_counted_separately() {
    let limits = Limits::new(1, system());
    assert!(
        limits
            .check_key(RateLimitTier::Standard, &"key:1".into())
            .retry_after
            .is_none()
    );
    assert!(
        limits
            .check_key(RateLimitTier::Standard, &"key:1".into())
            .retry_after
            .is_some()
    );
    assert!(
        limits
            .check_key(RateLimitTier::Standard, &"key:2".into())
            .retry_after
            .is_none()
    );
}

#[test]
fn the_daily_cap_refuses_even_with_minute_budget_left() {
    let budget: Budget<i64> = Budget::new(10, Some(2), &system());
    assert!(budget.check(&1, SystemTime::now()).retry_after.is_none());
    let second = budget.check(&1, SystemTime::now());
    assert_eq!(second.remaining, 0);
    let refused = budget.check(&1, SystemTime::now());
    assert!(refused.retry_after.unwrap() > Duration::from_secs(60 * 60));
}

#[test]
fn headers_carry_limit_remaining_and_reset() {
    let decision = Decision {
        limit: 60,
        remaining: 59,
        reset_after: Duration::from_millis(1500),
        retry_after: None,
        at: SystemTime::now(),
    };
    let mut headers = HeaderMap::new();
    decision.apply(&mut headers);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(header(&headers, "x-ratelimit-limit"), 60);
    assert_eq!(header(&headers, "x-ratelimit-remaining"), 59);
    let reset = header(&headers, "x-ratelimit-reset");
    assert!(reset > now && reset <= now + 3, "{reset} vs {now}");
    assert!(headers.get("retry-after").is_none());
    assert!(decision.refusal().is_none());
}

#[test]
fn a_refusal_is_a_429_with_retry_after_in_whole_seconds() {
    let decision = Decision {
        limit: 60,
        remaining: 0,
        reset_after: Duration::from_secs(60),
        retry_after: Some(Duration::from_millis(200)),
        at: SystemTime::now(),
    };
    let error = decision.refusal().unwrap();
    assert_eq!(error.status.as_u16(), 429);
    assert_eq!(
        serde_json::to_value(&error.body).unwrap(),
        serde_json::json!({"success": false, "message": "Too many requests",
            "code": "RATE_LIMITED", "error": "Rate limit exceeded. Retry in 1 seconds."})
    );
    let mut headers = HeaderMap::new();
    decision.apply(&mut headers);
    assert_eq!(header(&headers, "retry-after"), 1);
    assert_eq!(header(&headers, "x-ratelimit-remaining"), 0);
}

#[test]
fn budgets_refill_as_the_edge_clock_moves() {
    let clock = Stopped::new();
    let limits = Limits::new(3, clock.clone());
    let ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
    for _ in 0..3 {
        assert!(limits.check_ip(ip).retry_after.is_none());
    }
    // The clock stands still: the refusal says exactly one refill (60 s / 3).
    let refused = limits.check_ip(ip);
    assert_eq!(refused.retry_after, Some(Duration::from_secs(20)));
    // Just short of it, still refused; at it, one more request passes, and only one.
    clock.advance(Duration::from_secs(20) - Duration::from_millis(1));
    assert_eq!(
        limits.check_ip(ip).retry_after,
        Some(Duration::from_millis(1))
    );
    clock.advance(Duration::from_millis(1));
    let admitted = limits.check_ip(ip);
    assert!(admitted.retry_after.is_none(), "{admitted:?}");
    assert_eq!(admitted.remaining, 0);
    assert!(limits.check_ip(ip).retry_after.is_some());
    // A full minute later the whole budget is back.
    clock.advance(Duration::from_secs(60));
    assert_eq!(limits.check_ip(ip).remaining, 2);
}

#[test]
fn the_reset_header_is_read_from_the_edge_clock() {
    let clock = Stopped::new();
    clock.advance(Duration::from_secs(3600));
    let limits = Limits::new(60, clock.clone());
    let decision = limits.check_key(RateLimitTier::Standard, &"key:1".into());
    let mut headers = HeaderMap::new();
    decision.apply(&mut headers);
    // One request spent: full again one refill (1 s) from the clock's now.
    assert_eq!(header(&headers, "x-ratelimit-reset"), 1_700_003_601);
}

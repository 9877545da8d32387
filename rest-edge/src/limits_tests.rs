use super::*;
use std::net::Ipv4Addr;

fn header(headers: &HeaderMap, name: &str) -> u64 {
    headers[name].to_str().unwrap().parse().unwrap()
}

#[test]
fn a_client_ip_gets_the_default_budget_and_then_a_refusal() {
    let limits = Limits::new(3);
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
    let limits = Limits::new(60);
    let cases = [
        (RateLimitTier::Unspecified, 60),
        (RateLimitTier::Standard, 60),
        (RateLimitTier::Free, 100),
        (RateLimitTier::Professional, 500),
        (RateLimitTier::Enterprise, 2_000),
    ];
    for (id, (tier, limit)) in (1..).zip(cases) {
        let decision = limits.check_key(tier, &format!("key:{id}"));
        assert_eq!(decision.limit, limit, "{tier:?}");
        assert_eq!(decision.remaining, limit - 1, "{tier:?}");
        assert!(decision.retry_after.is_none());
    }
}

#[test]
fn keys_are_counted_separately() {
    let limits = Limits::new(1);
    assert!(
        limits
            .check_key(RateLimitTier::Standard, "key:1")
            .retry_after
            .is_none()
    );
    assert!(
        limits
            .check_key(RateLimitTier::Standard, "key:1")
            .retry_after
            .is_some()
    );
    assert!(
        limits
            .check_key(RateLimitTier::Standard, "key:2")
            .retry_after
            .is_none()
    );
}

#[test]
fn the_daily_cap_refuses_even_with_minute_budget_left() {
    let budget: Budget<i64> = Budget::new(10, Some(2));
    assert!(budget.check(&1).retry_after.is_none());
    let second = budget.check(&1);
    assert_eq!(second.remaining, 0);
    let refused = budget.check(&1);
    assert!(refused.retry_after.unwrap() > Duration::from_secs(60 * 60));
}

#[test]
fn headers_carry_limit_remaining_and_reset() {
    let decision = Decision {
        limit: 60,
        remaining: 59,
        reset_after: Duration::from_millis(1500),
        retry_after: None,
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

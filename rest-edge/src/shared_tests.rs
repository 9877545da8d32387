//! The budget script and the batching in front of it, against the Redis named by
//! `LASTMILE_TEST_REDIS_URL` (compiled in only when it is set at build time; otherwise
//! these tests are reported as ignored). Each test works under its own key prefix.

use super::*;
use std::time::Duration;

fn config() -> SharedConfig {
    SharedConfig {
        url: std::env::var("LASTMILE_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
        prefix: format!("lmunit{}", uuid::Uuid::new_v4().simple()),
    }
}

/// Shared budgets that have reached Redis.
async fn connected() -> Arc<SharedLimits> {
    let limits = SharedLimits::start(config(), Arc::new(PrincipalCache::default()));
    for _ in 0..200 {
        if !limits.degraded() {
            return limits;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("Redis at {} never answered", limits.config.url);
}

/// One call of the script with these checks: (subject, per minute, per day, at).
async fn run_script(
    limits: &SharedLimits,
    checks: &[(&str, u32, Option<u32>, SystemTime)],
) -> Vec<Option<Decision>> {
    let mut batch = Vec::new();
    let mut answers = Vec::new();
    for &(subject, per_minute, per_day, at) in checks {
        let (answer, answered) = oneshot::channel();
        let prefix = &limits.config.prefix;
        batch.push(Check {
            minute_key: format!("{prefix}:rl:test:m:{subject}"),
            day_key: format!("{prefix}:rl:test:d:{subject}"),
            at,
            per_minute,
            per_day,
            answer,
        });
        answers.push(answered);
    }
    limits.decide(batch).await;
    let mut decisions = Vec::new();
    for answered in answers {
        decisions.push(answered.await.ok().flatten());
    }
    decisions
}

fn at(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_800_000_000_000 + ms)
}

/// (allowed, remaining, reset after in ms, retry after in ms).
fn summary(decision: &Option<Decision>) -> (bool, u32, u128, Option<u128>) {
    let d = decision.expect("Redis decided");
    (
        d.retry_after.is_none(),
        d.remaining,
        d.reset_after.as_millis(),
        d.retry_after.map(|r| r.as_millis()),
    )
}

#[tokio::test]
#[cfg_attr(not(redis_tests), ignore = "set LASTMILE_TEST_REDIS_URL to run")]
async fn one_batch_spends_a_budget_in_order() {
    let limits = connected().await;
    let t = at(0);
    // 3 a minute: one every 20 s, up to 3 at once.
    let decisions = run_script(&limits, &[("a", 3, None, t); 5]).await;
    let got: Vec<_> = decisions.iter().map(summary).collect();
    // The three passes are spent at once: the budget is full again in 60 s for each.
    assert_eq!(
        got,
        vec![
            (true, 2, 60_000, None),
            (true, 1, 60_000, None),
            (true, 0, 60_000, None),
            (false, 0, 60_000, Some(20_000)),
            (false, 0, 60_000, Some(20_000)),
        ]
    );
}

#[tokio::test]
#[cfg_attr(not(redis_tests), ignore = "set LASTMILE_TEST_REDIS_URL to run")]
async fn a_batch_keeps_subjects_apart_and_the_next_batch_sees_it() {
    let limits = connected().await;
    let t = at(0);
    let first = run_script(
        &limits,
        &[("a", 2, None, t), ("b", 2, None, t), ("a", 2, None, t)],
    )
    .await;
    let got: Vec<_> = first.iter().map(summary).collect();
    assert_eq!(
        got,
        vec![
            (true, 1, 60_000, None),
            (true, 1, 30_000, None),
            (true, 0, 60_000, None)
        ]
    );
    // 10 s later, in another call: "a" still has to wait 20 s (the edge knows it without
    // asking), "b" has one left.
    let t = at(10_000);
    let second = run_script(&limits, &[("a", 2, None, t), ("b", 2, None, t)]).await;
    let got: Vec<_> = second.iter().map(summary).collect();
    assert_eq!(
        got,
        vec![(false, 0, 50_000, Some(20_000)), (true, 0, 50_000, None)]
    );
    // 30 s after the start "a" has refilled one.
    let third = run_script(&limits, &[("a", 2, None, at(30_000))]).await;
    assert_eq!(summary(&third[0]), (true, 0, 60_000, None));
}

#[tokio::test]
#[cfg_attr(not(redis_tests), ignore = "set LASTMILE_TEST_REDIS_URL to run")]
async fn the_day_budget_refuses_without_spending_the_minute() {
    let limits = connected().await;
    let t = at(0);
    // 10 a minute, 2 a day: one every 12 h, up to 2.
    let decisions = run_script(&limits, &[("d", 10, Some(2), t); 3]).await;
    let got: Vec<_> = decisions.iter().map(summary).collect();
    assert_eq!(
        got,
        vec![
            (true, 1, 12_000, None),
            (true, 0, 12_000, None),
            (false, 0, 12_000, Some(43_200_000)),
        ]
    );
    // The refusal spent nothing: 12 h later one more passes (the minute budget long full
    // again), and none is left for the day.
    let later = run_script(&limits, &[("d", 10, Some(2), at(43_200_000))]).await;
    assert_eq!(summary(&later[0]), (true, 0, 6_000, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(redis_tests), ignore = "set LASTMILE_TEST_REDIS_URL to run")]
async fn concurrent_checks_let_exactly_the_budget_through() {
    let limits = connected().await;
    let now = SystemTime::now();
    let checks = (0..100).map(|_| {
        let limits = limits.clone();
        tokio::spawn(async move { limits.check("test", "many", 40, None, now).await })
    });
    let mut allowed = 0;
    let mut remaining = Vec::new();
    for check in checks {
        let decision = check.await.expect("task").expect("Redis decided");
        if decision.retry_after.is_none() {
            allowed += 1;
            remaining.push(decision.remaining);
        }
    }
    assert_eq!(allowed, 40);
    // Every request let through saw its own place in the budget.
    remaining.sort_unstable();
    assert_eq!(remaining, (0..40).collect::<Vec<u32>>());
}

/// Takes the edge's connection away, so that only what it holds can decide.
async fn cut_off(limits: &SharedLimits) {
    *limits.connection.write().await = None;
}

#[tokio::test]
#[cfg_attr(not(redis_tests), ignore = "set LASTMILE_TEST_REDIS_URL to run")]
async fn a_roomy_budget_is_leased_and_every_pass_was_spent_in_redis() {
    let limits = connected().await;
    let other_edge = SharedLimits::start(limits.config.clone(), Arc::default());
    for _ in 0..200 {
        if !other_edge.degraded() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let t = SystemTime::now();
    // 100,000 a minute: one pass every 0.6 ms.
    let mut remaining = Vec::new();
    for _ in 0..66 {
        let decision = limits.check("test", "big", 100_000, None, t).await;
        let decision = decision.expect("decided");
        assert_eq!(decision.retry_after, None);
        remaining.push(decision.remaining);
    }
    // One less left after each request: 99,999 after the first (one call), then a call
    // for 1 + 64 leased (99,934 left in Redis), whose passes the edge hands out itself.
    assert_eq!(remaining, (99_934..=99_999).rev().collect::<Vec<u32>>());
    // The leased passes were spent in Redis: another edge sees what is left after them.
    let theirs = other_edge
        .check("test", "big", 100_000, None, t)
        .await
        .expect("decided");
    assert_eq!(theirs.remaining, 99_933);
    // The lease is used up: the next request needs Redis again.
    cut_off(&limits).await;
    assert_eq!(limits.check("test", "big", 100_000, None, t).await, None);
}

#[tokio::test]
#[cfg_attr(not(redis_tests), ignore = "set LASTMILE_TEST_REDIS_URL to run")]
async fn a_lease_is_not_used_past_its_time() {
    let limits = connected().await;
    let t = SystemTime::now();
    for _ in 0..2 {
        limits
            .check("test", "late", 100_000, None, t)
            .await
            .expect("decided");
    }
    cut_off(&limits).await;
    // 64 passes are leased: good for half a second, not for longer.
    assert!(
        limits
            .check("test", "late", 100_000, None, t)
            .await
            .is_some()
    );
    let late = t + LEASE_FOR;
    assert_eq!(
        limits.check("test", "late", 100_000, None, late).await,
        None
    );
}

#[tokio::test]
#[cfg_attr(not(redis_tests), ignore = "set LASTMILE_TEST_REDIS_URL to run")]
async fn a_small_budget_is_never_leased() {
    let limits = connected().await;
    let t = SystemTime::now();
    // 255 a minute: below LEASE_SHARE, every request is counted in Redis.
    let first = limits.check("test", "small", 255, None, t).await;
    assert_eq!(first.map(|d| d.remaining), Some(254));
    cut_off(&limits).await;
    assert_eq!(limits.check("test", "small", 255, None, t).await, None);
}

#[tokio::test]
#[cfg_attr(not(redis_tests), ignore = "set LASTMILE_TEST_REDIS_URL to run")]
async fn a_refused_key_is_refused_by_the_edge_until_its_next_pass() {
    let limits = connected().await;
    let t = SystemTime::now();
    // 1 a minute.
    let first = limits
        .check("test", "one", 1, None, t)
        .await
        .expect("decided");
    assert_eq!(first.retry_after, None);
    let second = limits
        .check("test", "one", 1, None, t)
        .await
        .expect("decided");
    assert_eq!(second.retry_after, Some(Duration::from_secs(60)));
    // Without Redis the edge still refuses until then, counting down...
    cut_off(&limits).await;
    let later = limits
        .check("test", "one", 1, None, t + Duration::from_secs(45))
        .await
        .expect("refused by the edge");
    assert_eq!(later.retry_after, Some(Duration::from_secs(15)));
    assert_eq!(later.remaining, 0);
    // ...and asks Redis once it is over.
    let after = t + Duration::from_secs(60);
    assert_eq!(limits.check("test", "one", 1, None, after).await, None);
}

#[tokio::test]
#[cfg_attr(not(redis_tests), ignore = "set LASTMILE_TEST_REDIS_URL to run")]
async fn an_unreachable_redis_leaves_the_decision_to_the_edge() {
    let mut config = config();
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("address")
        .port();
    config.url = format!("redis://127.0.0.1:{port}");
    let limits = SharedLimits::start(config, Arc::new(PrincipalCache::default()));
    // Degraded until Redis answers, which it never does here.
    assert!(limits.degraded());
    assert_eq!(
        limits.check("test", "x", 10, None, SystemTime::now()).await,
        None
    );
}

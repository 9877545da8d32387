//! The servers' clock in tests: the real time plus an offset a test can move forward, so
//! that rules reading the injected clock (key and token expiry, `updated_at`, retention,
//! login attempt windows, rate-limit budgets, cached credentials) are tested without
//! waiting in real time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use lastmile_core::clock::Clock;

/// Real time shifted by an offset that only grows; clones share the offset. Reading it
/// takes no lock, like the system clock, so the edge's hot path costs the same in tests.
#[derive(Debug, Clone, Default)]
pub struct TestClock {
    offset_nanos: Arc<AtomicU64>,
}

impl TestClock {
    /// Moves the servers' time forward by `by` at once.
    pub fn advance(&self, by: Duration) {
        assert!(by >= Duration::zero(), "time only moves forward: {by}");
        let nanos = by
            .num_nanoseconds()
            .and_then(|n| u64::try_from(n).ok())
            .expect("an advance of less than 292 years");
        self.offset_nanos.fetch_add(nanos, Ordering::SeqCst);
    }

    fn offset(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.offset_nanos.load(Ordering::SeqCst))
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        (Utc::now() + self.offset()).trunc_subsecs(6)
    }

    fn instant(&self) -> Instant {
        Instant::now() + self.offset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_every_clone() {
        let clock = TestClock::default();
        let shared = clock.clone();
        let before = shared.now();
        let before_instant = shared.instant();
        clock.advance(Duration::hours(2));
        let after = shared.now();
        assert!(after - before >= Duration::hours(2), "{before} → {after}");
        assert!(after - before < Duration::hours(2) + Duration::minutes(1));
        let moved = shared.instant() - before_instant;
        assert!(moved >= std::time::Duration::from_secs(7200), "{moved:?}");
        assert!(moved < std::time::Duration::from_secs(7260), "{moved:?}");
    }
}

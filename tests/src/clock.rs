//! The servers' clock in tests: the real time plus an offset a test can move forward, so
//! that rules reading the injected clock (key and token expiry, `updated_at`, retention)
//! are tested without waiting in real time.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, SubsecRound, Utc};
use lastmile_core::clock::Clock;

/// Real time shifted by an offset that only grows; clones share the offset.
#[derive(Debug, Clone, Default)]
pub struct TestClock {
    offset: Arc<Mutex<Duration>>,
}

impl TestClock {
    /// Moves the servers' time forward by `by` at once.
    pub fn advance(&self, by: Duration) {
        assert!(by >= Duration::zero(), "time only moves forward: {by}");
        let mut offset = self.offset.lock().unwrap_or_else(|e| e.into_inner());
        *offset += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        let offset = *self.offset.lock().unwrap_or_else(|e| e.into_inner());
        (Utc::now() + offset).trunc_subsecs(6)
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
        clock.advance(Duration::hours(2));
        let after = shared.now();
        assert!(after - before >= Duration::hours(2), "{before} → {after}");
        assert!(after - before < Duration::hours(2) + Duration::minutes(1));
    }
}

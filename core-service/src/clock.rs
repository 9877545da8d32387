//! Time, injected: the core reads the time only through a [`Clock`], so rules that depend on
//! it (key expiry, idempotency retention, login attempt windows, cache ages, later billing
//! and SLA) are testable to the second.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Duration, SubsecRound, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, in UTC, truncated to microseconds (what both databases store).
    fn now(&self) -> DateTime<Utc>;

    /// Now on a monotonic scale, for ages and windows measured in this process (cache
    /// entries, attempt and request budgets): a step of the wall clock does not move it, a
    /// test's clock does. It is read on every request, so the system clock's is one plain
    /// monotonic reading (no lock, no allocation).
    fn instant(&self) -> Instant;
}

/// The system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(6)
    }

    fn instant(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that stands still until moved; for tests.
#[derive(Debug, Clone)]
pub struct ManualClock {
    at: Arc<Mutex<DateTime<Utc>>>,
    start: DateTime<Utc>,
    start_instant: Instant,
}

impl ManualClock {
    /// A clock showing `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        let at = at.trunc_subsecs(6);
        Self {
            at: Arc::new(Mutex::new(at)),
            start: at,
            start_instant: Instant::now(),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.at.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.at.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn instant(&self) -> Instant {
        let moved = (self.now() - self.start).to_std().unwrap_or_default();
        self.start_instant + moved
    }
}

/// The clock the core uses.
pub type SharedClock = Arc<dyn Clock>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_both_scales_together() {
        let clock = ManualClock::new(Utc::now());
        let (wall, mono) = (clock.now(), clock.instant());
        assert_eq!(clock.instant(), mono, "it stands still until moved");
        clock.advance(Duration::seconds(90));
        assert_eq!(clock.now() - wall, Duration::seconds(90));
        assert_eq!(clock.instant() - mono, std::time::Duration::from_secs(90));
    }
}

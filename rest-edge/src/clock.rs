//! The edge's time: request budgets, their `X-RateLimit-Reset`, and the age of remembered
//! principals are read from a [`Clock`]. A process that runs core and edge together gives
//! the edge the core's clock, so a test that moves the servers' time moves both; an edge of
//! its own reads the system's.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// A source of the current time. Both readings are taken on every request, so they must
/// be cheap: the system clock's are one call each, without a lock or an allocation.
pub trait Clock: Send + Sync + Debug {
    /// Now on a monotonic scale, for budgets and cache ages.
    fn instant(&self) -> Instant;
    /// Now on the wall clock, for the unix times the answers carry.
    fn wall(&self) -> SystemTime;
}

/// The system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn instant(&self) -> Instant {
        Instant::now()
    }

    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// The clock the edge uses.
pub type SharedClock = Arc<dyn Clock>;

/// The system clock, shared.
pub fn system() -> SharedClock {
    Arc::new(SystemClock)
}

/// A [`SharedClock`] as `governor` reads it: one monotonic reading per check.
#[derive(Debug, Clone)]
pub(crate) struct Ticks(pub SharedClock);

impl governor::clock::Clock for Ticks {
    type Instant = Instant;

    fn now(&self) -> Instant {
        self.0.instant()
    }
}

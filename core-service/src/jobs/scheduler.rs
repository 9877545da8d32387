//! Periodic tasks declared in code. Each process computes every task's current time slot
//! and enqueues one job for it with the dedupe key `schedule:<task>:<slot>`: whichever
//! process is first creates it, the others' inserts do nothing, so each slot runs exactly
//! once however many cores run. A slot missed while every core was down is not replayed;
//! the next one runs.

use std::time::Duration;

use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{NewJob, enqueue};
use crate::clock::SharedClock;
use crate::db::Db;

/// When a task runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Every {
    /// Every interval, slots aligned to the Unix epoch.
    Interval(Duration),
    /// Once a day at this local time in the scheduler's time zone.
    Daily(NaiveTime),
}

/// A periodic task: a job of `kind` each slot.
#[derive(Debug, Clone, Copy)]
pub struct Task {
    /// The job kind (also the task's name in dedupe keys).
    pub kind: &'static str,
    /// When.
    pub every: Every,
}

impl Every {
    /// The start of the slot `now` falls in.
    pub fn slot(self, now: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
        match self {
            Every::Interval(interval) => {
                let step = i64::try_from(interval.as_micros())
                    .unwrap_or(i64::MAX)
                    .max(1);
                let micros = now.timestamp_micros();
                let start = micros - micros.rem_euclid(step);
                DateTime::from_timestamp_micros(start).unwrap_or(now)
            }
            Every::Daily(at) => {
                let local = now.with_timezone(&zone).date_naive();
                let today = at_local(zone, local, at);
                match today {
                    Some(t) if t <= now => t,
                    _ => local
                        .pred_opt()
                        .and_then(|d| at_local(zone, d, at))
                        .unwrap_or(now),
                }
            }
        }
    }
}

/// `date` at `time` in `zone`, as UTC. A time skipped by a DST change moves to the first
/// instant after the gap; a repeated one takes its first occurrence.
fn at_local(zone: Tz, date: chrono::NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    let naive = date.and_time(time);
    match zone.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        chrono::LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        chrono::LocalResult::None => {
            let later = naive + chrono::Duration::hours(1);
            zone.from_local_datetime(&later)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
        }
    }
}

/// The dedupe key of `task`'s slot starting at `slot`.
pub fn slot_key(task: &Task, slot: DateTime<Utc>) -> String {
    format!(
        "schedule:{}:{}",
        task.kind,
        slot.format("%Y-%m-%dT%H:%M:%S%.6fZ")
    )
}

/// Enqueues the current slot of every task that this process has not enqueued yet, until
/// `stop`. Checks every `tick`.
pub async fn run(
    db: Db,
    clock: SharedClock,
    zone: Tz,
    tasks: Vec<Task>,
    tick: Duration,
    stop: CancellationToken,
) {
    let mut last: Vec<Option<DateTime<Utc>>> = vec![None; tasks.len()];
    loop {
        let now = clock.now();
        for (task, last) in tasks.iter().zip(last.iter_mut()) {
            let slot = task.every.slot(now, zone);
            if *last == Some(slot) {
                continue;
            }
            let job = NewJob::new(task.kind, json!({ "slot": slot }))
                .at(slot)
                .dedupe(slot_key(task, slot))
                .attempts(3);
            match enqueue(&mut db.conn(), job, now).await {
                Ok(_) => *last = Some(slot),
                Err(err) => {
                    tracing::warn!(task = task.kind, error = %err, "could not schedule a task")
                }
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(tick) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn interval_slots_align_to_the_epoch() {
        let hourly = Every::Interval(Duration::from_secs(3600));
        assert_eq!(
            hourly.slot(utc("2026-03-01T10:59:59Z"), Tz::UTC),
            utc("2026-03-01T10:00:00Z")
        );
        assert_eq!(
            hourly.slot(utc("2026-03-01T11:00:00Z"), Tz::UTC),
            utc("2026-03-01T11:00:00Z")
        );
    }

    #[test]
    fn daily_slots_follow_the_zone_across_dst() {
        let at_two_thirty = Every::Daily(NaiveTime::from_hms_opt(2, 30, 0).unwrap());
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // 28 March 2026, 02:30 CET is 01:30 UTC.
        assert_eq!(
            at_two_thirty.slot(utc("2026-03-28T12:00:00Z"), berlin),
            utc("2026-03-28T01:30:00Z")
        );
        // 29 March 2026 has no 02:30 in Berlin (clocks jump 02:00 → 03:00): 03:30 CEST.
        assert_eq!(
            at_two_thirty.slot(utc("2026-03-29T12:00:00Z"), berlin),
            utc("2026-03-29T01:30:00Z")
        );
        // Before today's time, the slot is yesterday's.
        assert_eq!(
            at_two_thirty.slot(utc("2026-03-30T00:00:00Z"), berlin),
            utc("2026-03-29T01:30:00Z")
        );
        // 30 March, 02:30 CEST is 00:30 UTC.
        assert_eq!(
            at_two_thirty.slot(utc("2026-03-30T00:30:00Z"), berlin),
            utc("2026-03-30T00:30:00Z")
        );
    }

    #[test]
    fn slot_keys_name_the_task_and_the_instant() {
        let task = Task {
            kind: "housekeeping.purge",
            every: Every::Interval(Duration::from_secs(60)),
        };
        assert_eq!(
            slot_key(&task, utc("2026-01-02T03:04:00Z")),
            "schedule:housekeeping.purge:2026-01-02T03:04:00.000000Z"
        );
    }
}

//! A ticket's SLA clocks, computed rather than ticked: due and warning times follow from
//! the ticket's start, its targets in business minutes, the business minutes of every
//! pause so far and the calendar. They are recomputed only when something happens to
//! the ticket; the breach check compares them with the time.

use chrono::{DateTime, TimeDelta, Utc};
use lastmile_proto::v1::TicketStatus;

use super::{CalendarSpec, SlaState, Target};

/// What a policy gives a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The policy.
    pub policy_id: i64,
    /// Business minutes to the first response.
    pub first_response_minutes: i32,
    /// Business minutes to the resolution.
    pub resolution_minutes: i32,
    /// JSON of the calendar; none: 24×7.
    pub calendar: Option<String>,
    /// Whether waiting on the customer stops the clocks.
    pub pause_while_waiting: bool,
    /// Warning threshold, percent.
    pub warning_percent: i32,
}

/// Which targets a ticket has met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Met {
    /// The first public staff reply was given.
    pub first_response: bool,
    /// Resolved (or closed).
    pub resolution: bool,
}

impl Met {
    fn target(self, target: Target) -> bool {
        match target {
            Target::FirstResponse => self.first_response,
            Target::Resolution => self.resolution,
        }
    }
}

/// The SLA computations.
#[derive(Debug, Clone, Copy)]
pub struct Clocks;

impl Clocks {
    /// Whether a ticket in `status` has its clocks stopped: resolved and closed tickets
    /// always, tickets waiting on the customer when the policy says so.
    pub fn stops(status: TicketStatus, pause_while_waiting: bool) -> bool {
        match status {
            TicketStatus::Resolved | TicketStatus::Closed => true,
            TicketStatus::WaitingOnCustomer => pause_while_waiting,
            _ => false,
        }
    }

    /// The SLA of a ticket opened at `start` under `grant` (none: no targets).
    pub fn granted(grant: Option<Grant>, start: DateTime<Utc>) -> SlaState {
        let mut sla = SlaState {
            warning_percent: 80,
            pause_while_waiting: true,
            ..SlaState::default()
        };
        if let Some(grant) = grant {
            apply_grant(&mut sla, grant);
            schedule(&mut sla, start, Met::default());
        }
        sla
    }

    /// A new grant for a ticket already running (its priority changed): the targets are
    /// the new policy's, counted from the ticket's `start`, with the pauses so far. A
    /// target not met whose new due time is still ahead may be reported again.
    pub fn regrant(
        sla: &mut SlaState,
        grant: Option<Grant>,
        start: DateTime<Utc>,
        met: Met,
        now: DateTime<Utc>,
    ) {
        match grant {
            Some(grant) => apply_grant(sla, grant),
            None => {
                sla.policy_id = None;
                sla.first_response_minutes = None;
                sla.resolution_minutes = None;
                sla.calendar = None;
            }
        }
        schedule(sla, start, met);
        if !met.first_response {
            if sla.first_response_due_at.is_some_and(|due| due > now) {
                sla.first_response_breached_at = None;
            }
            if sla.first_response_warn_at.is_some_and(|at| at > now) {
                sla.first_response_warned_at = None;
            }
        }
        if !met.resolution {
            if sla.resolution_due_at.is_some_and(|due| due > now) {
                sla.resolution_breached_at = None;
            }
            if sla.resolution_warn_at.is_some_and(|at| at > now) {
                sla.resolution_warned_at = None;
            }
        }
    }

    /// Moves the clocks for a status change at `now`: stopping them records the time;
    /// starting them again adds the business time of the pause (to the microsecond) and
    /// moves every unmet target later by exactly that much.
    pub fn follow_status(
        sla: &mut SlaState,
        status: TicketStatus,
        start: DateTime<Utc>,
        met: Met,
        now: DateTime<Utc>,
    ) {
        let stop = Self::stops(status, sla.pause_while_waiting);
        match (stop, sla.paused_since) {
            (true, None) => sla.paused_since = Some(now),
            (false, Some(since)) => {
                let calendar = CalendarSpec::stored(sla.calendar.as_deref());
                let paused = calendar.business_time_between(since, now);
                sla.paused_micros = sla
                    .paused_micros
                    .saturating_add(paused.num_microseconds().unwrap_or(i64::MAX));
                sla.paused_since = None;
                schedule(sla, start, met);
            }
            _ => {}
        }
    }

    /// Business minutes from `now` to `due` under the ticket's calendar.
    pub fn remaining(sla: &SlaState, now: DateTime<Utc>, due: DateTime<Utc>) -> i64 {
        CalendarSpec::stored(sla.calendar.as_deref()).business_minutes_between(now, due)
    }
}

fn apply_grant(sla: &mut SlaState, grant: Grant) {
    sla.policy_id = Some(grant.policy_id);
    sla.first_response_minutes = Some(grant.first_response_minutes);
    sla.resolution_minutes = Some(grant.resolution_minutes);
    sla.calendar = grant.calendar;
    sla.pause_while_waiting = grant.pause_while_waiting;
    sla.warning_percent = grant.warning_percent;
}

/// Due and warning times of every unmet target from `start`, with the pauses so far. A
/// met target keeps the due time it was met against.
fn schedule(sla: &mut SlaState, start: DateTime<Utc>, met: Met) {
    let calendar = CalendarSpec::stored(sla.calendar.as_deref());
    let paused = TimeDelta::microseconds(sla.paused_micros);
    for target in Target::BOTH {
        if met.target(target) {
            continue;
        }
        let minutes = match target {
            Target::FirstResponse => sla.first_response_minutes,
            Target::Resolution => sla.resolution_minutes,
        };
        let times = minutes.map(|m| {
            let m = i64::from(m);
            let warn = m * i64::from(sla.warning_percent) / 100;
            (
                calendar.add_business_time(start, TimeDelta::minutes(m) + paused),
                calendar.add_business_time(start, TimeDelta::minutes(warn) + paused),
            )
        });
        let (due, warn) = (times.map(|t| t.0), times.map(|t| t.1));
        match target {
            Target::FirstResponse => {
                sla.first_response_due_at = due;
                sla.first_response_warn_at = warn;
            }
            Target::Resolution => {
                sla.resolution_due_at = due;
                sla.resolution_warn_at = warn;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 3, 1, h, m, 0).unwrap()
    }

    fn grant(first: i32, resolution: i32, pause: bool) -> Grant {
        Grant {
            policy_id: 1,
            first_response_minutes: first,
            resolution_minutes: resolution,
            calendar: None,
            pause_while_waiting: pause,
            warning_percent: 80,
        }
    }

    #[test]
    fn a_grant_sets_due_and_warning_times_from_the_start() {
        let sla = Clocks::granted(Some(grant(30, 240, true)), at(10, 0));
        assert_eq!(sla.first_response_due_at, Some(at(10, 30)));
        assert_eq!(sla.first_response_warn_at, Some(at(10, 24)));
        assert_eq!(sla.resolution_due_at, Some(at(14, 0)));
        assert_eq!(sla.resolution_warn_at, Some(at(13, 12)));
    }

    #[test]
    fn a_pause_moves_unmet_targets_by_its_minutes() {
        let start = at(10, 0);
        let mut sla = Clocks::granted(Some(grant(30, 240, true)), start);
        let met = Met {
            first_response: true,
            resolution: false,
        };
        Clocks::follow_status(
            &mut sla,
            TicketStatus::WaitingOnCustomer,
            start,
            met,
            at(10, 20),
        );
        assert_eq!(sla.paused_since, Some(at(10, 20)));
        Clocks::follow_status(&mut sla, TicketStatus::Open, start, met, at(11, 5));
        assert_eq!(sla.paused_micros, 45 * 60 * 1_000_000);
        assert_eq!(sla.paused_since, None);
        assert_eq!(sla.resolution_due_at, Some(at(14, 45)));
        // Met before the pause: its due time stays what it was met against.
        assert_eq!(sla.first_response_due_at, Some(at(10, 30)));
    }

    #[test]
    fn waiting_does_not_stop_the_clocks_of_a_policy_that_says_so() {
        let start = at(10, 0);
        let mut sla = Clocks::granted(Some(grant(30, 240, false)), start);
        let met = Met::default();
        Clocks::follow_status(
            &mut sla,
            TicketStatus::WaitingOnCustomer,
            start,
            met,
            at(10, 20),
        );
        assert_eq!(sla.paused_since, None);
        // Resolved tickets always stop.
        Clocks::follow_status(&mut sla, TicketStatus::Resolved, start, met, at(10, 30));
        assert_eq!(sla.paused_since, Some(at(10, 30)));
    }

    #[test]
    fn a_new_grant_recomputes_from_the_start_and_rearms_reports_ahead() {
        let start = at(10, 0);
        let mut sla = Clocks::granted(Some(grant(30, 240, true)), start);
        sla.first_response_breached_at = Some(at(10, 30));
        sla.first_response_warned_at = Some(at(10, 24));
        Clocks::regrant(
            &mut sla,
            Some(grant(60, 480, true)),
            start,
            Met::default(),
            at(10, 40),
        );
        assert_eq!(sla.first_response_due_at, Some(at(11, 0)));
        assert_eq!(sla.resolution_due_at, Some(at(18, 0)));
        assert_eq!(sla.first_response_breached_at, None);
        // The new warning time (10:48) is still ahead too.
        assert_eq!(sla.first_response_warned_at, None);
        // A tighter target already past stays reported.
        let mut tight = Clocks::granted(Some(grant(30, 240, true)), start);
        tight.first_response_breached_at = Some(at(10, 30));
        Clocks::regrant(
            &mut tight,
            Some(grant(15, 60, true)),
            start,
            Met::default(),
            at(10, 40),
        );
        assert_eq!(tight.first_response_due_at, Some(at(10, 15)));
        assert_eq!(tight.first_response_breached_at, Some(at(10, 30)));
        // A priority without a policy has no targets, and erases no recorded breach.
        let mut none = Clocks::granted(Some(grant(30, 240, true)), start);
        none.first_response_breached_at = Some(at(10, 30));
        Clocks::regrant(&mut none, None, start, Met::default(), at(11, 0));
        assert_eq!(none.first_response_due_at, None);
        assert_eq!(none.first_response_breached_at, Some(at(10, 30)));
    }
}

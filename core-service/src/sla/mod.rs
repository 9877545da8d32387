//! Support tickets and their SLA.
//!
//! A ticket gets, when it is opened, the most specific active policy of its priority and
//! keeps a copy of what that policy said (targets, business hours, pause rule, warning
//! threshold), so editing a policy never moves the due times of open tickets. `clocks`
//! computes due times from that copy when something happens to a ticket (opened, paused,
//! resumed, reprioritised); nothing is ticked. `check` finds breaches and warnings with
//! set-based queries over the stored due times; `metrics` sums compliance in SQL.
//!
//! `calendar` holds business-hours arithmetic, `policies` the policies, `tickets` the
//! ticket operations (with `ticket_store` the SQL), and `grpc` the adapters.

pub mod calendar;
pub mod check;
pub mod clocks;
pub mod grpc;
pub mod metrics;
pub mod policies;
mod policy_store;
mod ticket_store;
pub mod tickets;

use chrono::{DateTime, NaiveDate, Utc};
use lastmile_proto::RestName;
use lastmile_proto::v1::{TicketCategory, TicketPriority, TicketSource, TicketStatus};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use self::calendar::{Calendar, CalendarError, parse_hours};
pub use self::clocks::Clocks;
pub use self::policies::Policies;
pub use self::tickets::Tickets;

/// The deployment's ticket rules.
#[derive(Debug, Clone, Copy)]
pub struct TicketSettings {
    /// How long after its resolution a ticket may be reopened.
    pub reopen_window: chrono::Duration,
}

impl Default for TicketSettings {
    fn default() -> Self {
        Self {
            reopen_window: chrono::Duration::days(7),
        }
    }
}

/// Business hours as a policy states them and a ticket keeps them: the JSON stored in
/// `sla_policies.calendar` and `tickets.sla_calendar`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CalendarSpec {
    /// IANA zone name.
    pub time_zone: String,
    /// Weekly opening hours.
    pub hours: Vec<HoursSpec>,
    /// `YYYY-MM-DD` local dates.
    pub holidays: Vec<String>,
}

/// Opening hours on one weekday, as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct HoursSpec {
    /// `monday` … `sunday`.
    pub day: String,
    /// `HH:MM`.
    pub start: String,
    /// `HH:MM` or `24:00`.
    pub end: String,
}

impl CalendarSpec {
    /// The calendar, or every message about what is wrong with it.
    pub fn build(&self) -> Result<Calendar, Vec<String>> {
        let mut messages = Vec::new();
        let mut hours = Vec::new();
        for h in &self.hours {
            match parse_hours(h.day.trim(), h.start.trim(), h.end.trim()) {
                Ok(parsed) => hours.push(parsed),
                Err(err) => messages.push(err.to_string()),
            }
        }
        let mut holidays = Vec::new();
        for day in &self.holidays {
            match NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d") {
                Ok(date) => holidays.push(date),
                Err(_) => messages.push(format!(
                    "The holiday \"{day}\" is not a date; use YYYY-MM-DD."
                )),
            }
        }
        if self.holidays.len() > 1000 {
            messages.push("A calendar may have at most 1000 holidays.".into());
        }
        if !messages.is_empty() {
            return Err(messages);
        }
        Calendar::new(self.time_zone.trim(), &hours, &holidays)
            .map_err(|err: CalendarError| vec![err.to_string()])
    }

    /// The calendar a stored JSON text describes; 24×7 when there is none. A stored
    /// calendar was valid when written; one that no longer reads (a zone dropped from the
    /// time zone database) counts every minute rather than failing the ticket.
    pub fn stored(text: Option<&str>) -> Calendar {
        text.and_then(|t| serde_json::from_str::<CalendarSpec>(t).ok())
            .and_then(|spec| spec.build().ok())
            .unwrap_or_else(Calendar::always)
    }
}

/// The two SLA targets of a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The first public reply by staff.
    FirstResponse,
    /// The resolution.
    Resolution,
}

impl Target {
    /// Both, in the order they are reported.
    pub const BOTH: [Target; 2] = [Target::FirstResponse, Target::Resolution];

    /// The name in answers and event data.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::FirstResponse => "first_response",
            Target::Resolution => "resolution",
        }
    }
}

/// A ticket's SLA: what its policy said when it got it, and where its clocks stand.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SlaState {
    /// The policy, if one applied.
    pub policy_id: Option<i64>,
    /// Business minutes to the first response.
    pub first_response_minutes: Option<i32>,
    /// Business minutes to the resolution.
    pub resolution_minutes: Option<i32>,
    /// The policy's calendar (JSON of [`CalendarSpec`]); none: 24×7.
    pub calendar: Option<String>,
    /// Whether waiting on the customer stops the clocks.
    pub pause_while_waiting: bool,
    /// Percent of a target after which a warning is due.
    pub warning_percent: i32,
    /// Due times.
    pub first_response_due_at: Option<DateTime<Utc>>,
    /// Due times.
    pub resolution_due_at: Option<DateTime<Utc>>,
    /// Warning times.
    pub first_response_warn_at: Option<DateTime<Utc>>,
    /// Warning times.
    pub resolution_warn_at: Option<DateTime<Utc>>,
    /// Since when the clocks stand, while they do.
    pub paused_since: Option<DateTime<Utc>>,
    /// Business time of every finished pause, in microseconds.
    pub paused_micros: i64,
    /// Reports made.
    pub first_response_breached_at: Option<DateTime<Utc>>,
    /// Reports made.
    pub resolution_breached_at: Option<DateTime<Utc>>,
    /// Reports made.
    pub first_response_warned_at: Option<DateTime<Utc>>,
    /// Reports made.
    pub resolution_warned_at: Option<DateTime<Utc>>,
}

/// A support ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// Id.
    pub id: i64,
    /// The customer.
    pub customer_id: i64,
    /// The customer's reseller.
    pub partner_id: Option<i64>,
    /// The service it is about.
    pub service_id: Option<i64>,
    /// One line.
    pub subject: String,
    /// Details.
    pub description: String,
    /// What it is about.
    pub category: TicketCategory,
    /// How urgent.
    pub priority: TicketPriority,
    /// Where it is.
    pub status: TicketStatus,
    /// Where it came from.
    pub source: TicketSource,
    /// The user on it.
    pub assignee_id: Option<i64>,
    /// The team (user group) on it.
    pub team_id: Option<i64>,
    /// The SLA.
    pub sla: SlaState,
    /// The first public staff reply.
    pub first_response_at: Option<DateTime<Utc>>,
    /// Resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// Last escalated.
    pub escalated_at: Option<DateTime<Utc>>,
    /// Times escalated.
    pub escalation_level: i32,
    /// Comments.
    pub comments_count: i64,
    /// Opened: the clocks start here.
    pub created_at: DateTime<Utc>,
    /// Changed.
    pub updated_at: DateTime<Utc>,
}

impl Ticket {
    /// Whether `target` is breached at `now`: met after its due time, or unmet past it
    /// with its clock running, or reported breached.
    pub fn breached(&self, target: Target, now: DateTime<Utc>) -> bool {
        let (due, met, reported) = match target {
            Target::FirstResponse => (
                self.sla.first_response_due_at,
                self.first_response_at,
                self.sla.first_response_breached_at,
            ),
            Target::Resolution => (
                self.sla.resolution_due_at,
                self.resolved_at,
                self.sla.resolution_breached_at,
            ),
        };
        let Some(due) = due else {
            return false;
        };
        if reported.is_some() {
            return true;
        }
        // A ticket resolved (or closed, which resolves it) without a reply ended its wait
        // for one then.
        let ended = match target {
            Target::FirstResponse => self.resolved_at.or(self.closed_at),
            Target::Resolution => None,
        };
        match (met, ended) {
            (Some(at), _) | (None, Some(at)) => at > due,
            (None, None) => self.sla.paused_since.is_none() && due <= now,
        }
    }

    /// The fields the audit log records.
    pub fn audit_view(&self) -> Map<String, Value> {
        let value = json!({
            "customer_id": self.customer_id,
            "service_id": self.service_id,
            "subject": self.subject,
            "description": self.description,
            "category": self.category.rest_name(),
            "priority": self.priority.rest_name(),
            "status": self.status.rest_name(),
            "source": self.source.rest_name(),
            "assignee_id": self.assignee_id,
            "team_id": self.team_id,
            "sla_policy_id": self.sla.policy_id,
            "first_response_due_at": self.sla.first_response_due_at,
            "resolution_due_at": self.sla.resolution_due_at,
            "escalation_level": self.escalation_level,
        });
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }
}

/// A reply or an internal note.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Comment {
    /// Id.
    pub id: i64,
    /// The ticket.
    pub ticket_id: i64,
    /// The text.
    pub body: String,
    /// Seen by the customer.
    pub public: bool,
    /// Written by the customer.
    pub from_customer: bool,
    /// The caller's name.
    pub author: String,
    /// Written.
    pub created_at: DateTime<Utc>,
}

/// The periodic breach check: every minute, so a breach is reported at most a minute late.
pub fn tasks() -> Vec<crate::jobs::scheduler::Task> {
    vec![crate::jobs::scheduler::Task {
        kind: check::CHECK_KIND,
        every: crate::jobs::scheduler::Every::Interval(std::time::Duration::from_secs(60)),
    }]
}

/// A stored enum name as the contract's value; an unknown one is a stored-data defect.
pub(crate) fn stored<E: RestName>(what: &str, name: &str) -> crate::error::Result<E> {
    E::from_rest_name(name).ok_or_else(|| {
        crate::error::Error::Internal(anyhow::anyhow!(
            "stored ticket has an unknown {what}: {name}"
        ))
    })
}

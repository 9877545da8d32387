//! Tickets, comments, SLA policies, breach reports and compliance metrics as the REST API
//! shows them. Rates and averages are the core's two-decimal text embedded as JSON
//! numbers, so no float rounds them.

use std::collections::BTreeMap;

use crate::base_url::BaseUrl;
use crate::format::{SelfLink, timestamp};
use lastmile_proto::RestName;
use lastmile_proto::v1::{
    CheckBreachesResponse, GetPerformanceMetricsResponse, SlaPolicy, Ticket, TicketCategory,
    TicketComment, TicketPriority, TicketSource, TicketStatus,
};
use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

/// A decimal the core wrote, as a JSON number; `null` when it wrote none.
fn number(text: String) -> Option<Box<RawValue>> {
    Some(text)
        .filter(|t| !t.is_empty())
        .and_then(|t| RawValue::from_string(t).ok())
}

/// An enum's REST name; `None` (null) for a value the edge does not know.
fn name<E: RestName>(value: i32) -> Option<&'static str> {
    Some(E::rest_name_of(value)).filter(|n| !n.is_empty())
}

/// A support ticket with its SLA state.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TicketJson {
    /// Ticket id.
    pub id: i64,
    /// The customer.
    pub customer_id: i64,
    /// The customer's reseller.
    pub partner_id: Option<i64>,
    /// The service it is about.
    pub service_id: Option<i64>,
    /// One line.
    pub subject: String,
    /// The details.
    pub description: String,
    /// `outage`, `billing`, `installation`, `technical` or `other`.
    pub category: Option<&'static str>,
    /// `critical`, `high`, `normal` or `low`.
    pub priority: Option<&'static str>,
    /// `open`, `in_progress`, `waiting_on_customer`, `resolved` or `closed`.
    pub status: Option<&'static str>,
    /// `api`, `email`, `phone` or `portal`.
    pub source: Option<&'static str>,
    /// The user working on it.
    pub assignee_id: Option<i64>,
    /// The team (user group).
    pub team_id: Option<i64>,
    /// The SLA policy that set its due times; null: none applied.
    pub sla_policy_id: Option<i64>,
    /// When the first public staff reply is due (RFC 3339 UTC).
    pub first_response_due_at: Option<String>,
    /// When the resolution is due.
    pub resolution_due_at: Option<String>,
    /// The first public staff reply.
    pub first_response_at: Option<String>,
    /// Resolved.
    pub resolved_at: Option<String>,
    /// Closed.
    pub closed_at: Option<String>,
    /// Answered late, or unanswered past its due time.
    pub first_response_breached: bool,
    /// Resolved late, or unresolved past its due time.
    pub resolution_breached: bool,
    /// The SLA clocks stand (waiting on the customer, or resolved).
    pub sla_paused: bool,
    /// When a breach last escalated it.
    pub escalated_at: Option<String>,
    /// Times escalated.
    pub escalation_level: i32,
    /// Comments.
    pub comments_count: i64,
    /// Opened; the SLA clocks start here.
    #[schema(value_type = String)]
    pub created_at: Option<String>,
    /// Last changed.
    #[schema(value_type = String)]
    pub updated_at: Option<String>,
    /// `self`.
    pub links: Option<SelfLink>,
}

impl TicketJson {
    pub(crate) fn new(t: Ticket, base: &BaseUrl) -> Self {
        Self {
            links: SelfLink::new(base, "/api/v1/tickets", t.id),
            id: t.id,
            customer_id: t.customer_id,
            partner_id: t.partner_id,
            service_id: t.service_id,
            subject: t.subject,
            description: t.description,
            category: name::<TicketCategory>(t.category),
            priority: name::<TicketPriority>(t.priority),
            status: name::<TicketStatus>(t.status),
            source: name::<TicketSource>(t.source),
            assignee_id: t.assignee_id,
            team_id: t.team_id,
            sla_policy_id: t.sla_policy_id,
            first_response_due_at: timestamp(t.first_response_due_at),
            resolution_due_at: timestamp(t.resolution_due_at),
            first_response_at: timestamp(t.first_response_at),
            resolved_at: timestamp(t.resolved_at),
            closed_at: timestamp(t.closed_at),
            first_response_breached: t.first_response_breached,
            resolution_breached: t.resolution_breached,
            sla_paused: t.sla_paused,
            escalated_at: timestamp(t.escalated_at),
            escalation_level: t.escalation_level,
            comments_count: t.comments_count,
            created_at: timestamp(t.created_at),
            updated_at: timestamp(t.updated_at),
        }
    }
}

/// A reply or an internal note.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CommentJson {
    /// Comment id.
    pub id: i64,
    /// The ticket.
    pub ticket_id: i64,
    /// The text.
    pub body: String,
    /// Seen by the customer; false: an internal note.
    pub public: bool,
    /// Written by the customer.
    pub from_customer: bool,
    /// Who wrote it.
    pub author: String,
    /// Written.
    #[schema(value_type = String)]
    pub created_at: Option<String>,
}

impl From<TicketComment> for CommentJson {
    fn from(c: TicketComment) -> Self {
        Self {
            id: c.id,
            ticket_id: c.ticket_id,
            body: c.body,
            public: c.public,
            from_customer: c.from_customer,
            author: c.author,
            created_at: timestamp(c.created_at),
        }
    }
}

/// Opening hours on one weekday.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HoursJson {
    /// `monday` … `sunday`.
    pub day: String,
    /// `HH:MM`.
    pub start: String,
    /// `HH:MM` or `24:00`.
    pub end: String,
}

/// Business hours.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CalendarJson {
    /// IANA time zone.
    pub time_zone: String,
    /// Weekly opening hours.
    pub hours: Vec<HoursJson>,
    /// Local dates without business hours.
    pub holidays: Vec<String>,
}

/// An SLA policy.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PolicyJson {
    /// Policy id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// The tickets' priority.
    pub priority: Option<&'static str>,
    /// Only customers of this user group.
    pub user_group_id: Option<i64>,
    /// Only tickets about a service on this plan.
    pub plan_id: Option<i64>,
    /// Business minutes to the first public staff reply.
    pub first_response_minutes: i32,
    /// Business minutes to resolution.
    pub resolution_minutes: i32,
    /// Business hours; null: 24x7.
    pub calendar: Option<CalendarJson>,
    /// Whether the clocks stop while waiting on the customer.
    pub pause_while_waiting: bool,
    /// Percent of a target after which `sla.warning` is raised.
    pub warning_percent: i32,
    /// On breach, the priority raised to.
    pub escalate_to_priority: Option<&'static str>,
    /// On breach, the team assigned.
    pub escalate_to_team_id: Option<i64>,
    /// Whether new tickets get it.
    pub active: bool,
    /// Created.
    #[schema(value_type = String)]
    pub created_at: Option<String>,
    /// Changed.
    #[schema(value_type = String)]
    pub updated_at: Option<String>,
    /// `self`.
    pub links: Option<SelfLink>,
}

impl PolicyJson {
    pub(crate) fn new(p: SlaPolicy, base: &BaseUrl) -> Self {
        Self {
            links: SelfLink::new(base, "/api/v1/sla/policies", p.id),
            id: p.id,
            name: p.name,
            priority: name::<TicketPriority>(p.priority),
            user_group_id: p.user_group_id,
            plan_id: p.plan_id,
            first_response_minutes: p.first_response_minutes,
            resolution_minutes: p.resolution_minutes,
            calendar: p.calendar.map(|c| CalendarJson {
                time_zone: c.time_zone,
                hours: c
                    .hours
                    .into_iter()
                    .map(|h| HoursJson {
                        day: h.day,
                        start: h.start,
                        end: h.end,
                    })
                    .collect(),
                holidays: c.holidays,
            }),
            pause_while_waiting: p.pause_while_waiting,
            warning_percent: p.warning_percent,
            escalate_to_priority: name::<TicketPriority>(p.escalate_to_priority),
            escalate_to_team_id: p.escalate_to_team_id,
            active: p.active,
            created_at: timestamp(p.created_at),
            updated_at: timestamp(p.updated_at),
        }
    }
}

/// A target missed.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BreachJson {
    /// The ticket.
    pub ticket_id: i64,
    /// Its customer.
    pub customer_id: i64,
    /// `first_response` or `resolution`.
    pub target: String,
    /// When it was due.
    pub breach_time: Option<String>,
    /// Whole minutes past due at the check.
    pub overdue_minutes: i64,
}

/// A target close to due.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WarningJson {
    /// The ticket.
    pub ticket_id: i64,
    /// Its customer.
    pub customer_id: i64,
    /// `first_response` or `resolution`.
    pub target: String,
    /// Business minutes left.
    pub time_remaining_minutes: i64,
}

/// What one breach check found that no earlier check reported.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CheckJson {
    /// New breaches.
    pub breached_tickets: Vec<BreachJson>,
    /// New warnings.
    pub warnings_issued: Vec<WarningJson>,
    /// Tickets with a running SLA clock.
    pub total_checked: i64,
    /// The time of the check.
    pub check_time: Option<String>,
}

impl From<CheckBreachesResponse> for CheckJson {
    fn from(r: CheckBreachesResponse) -> Self {
        Self {
            breached_tickets: r
                .breached_tickets
                .into_iter()
                .map(|b| BreachJson {
                    ticket_id: b.ticket_id,
                    customer_id: b.customer_id,
                    target: b.target,
                    breach_time: timestamp(b.breach_time),
                    overdue_minutes: b.overdue_minutes,
                })
                .collect(),
            warnings_issued: r
                .warnings_issued
                .into_iter()
                .map(|w| WarningJson {
                    ticket_id: w.ticket_id,
                    customer_id: w.customer_id,
                    target: w.target,
                    time_remaining_minutes: w.time_remaining_minutes,
                })
                .collect(),
            total_checked: r.total_checked,
            check_time: timestamp(r.check_time),
        }
    }
}

/// Compliance of one priority.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PriorityJson {
    /// Tickets of the priority.
    pub total: i64,
    /// Of them, with no target breached.
    pub within_sla: i64,
    /// Percent, two decimals.
    #[schema(value_type = f64, example = 95.24)]
    pub compliance_rate: Option<Box<RawValue>>,
}

/// Compliance of the tickets opened in the period.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MetricsJson {
    /// Start of the period.
    pub period_start: Option<String>,
    /// End of the period (now).
    pub period_end: Option<String>,
    /// Its length in days.
    pub period_days: i32,
    /// Tickets opened in it.
    pub total_tickets: i64,
    /// Of them, with no target breached.
    pub tickets_within_sla: i64,
    /// Of them, with a target breached.
    pub tickets_breached: i64,
    /// Percent within SLA, two decimals.
    #[schema(value_type = f64, example = 95.24)]
    pub sla_compliance_rate: Option<Box<RawValue>>,
    /// Percent whose first response was (or still may be) in time.
    #[schema(value_type = f64, example = 97.5)]
    pub first_response_compliance_rate: Option<Box<RawValue>>,
    /// Mean minutes from opening to resolution; null when none was resolved.
    #[schema(value_type = Option<f64>, example = 187.5)]
    pub average_resolution_time_minutes: Option<Box<RawValue>>,
    /// Mean minutes from opening to the first reply; null when none was answered.
    #[schema(value_type = Option<f64>, example = 22.25)]
    pub average_first_response_time_minutes: Option<Box<RawValue>>,
    /// Percent escalated.
    #[schema(value_type = f64, example = 5)]
    pub escalation_rate: Option<Box<RawValue>>,
    /// Per priority: `critical`, `high`, `normal`, `low`.
    pub by_priority: BTreeMap<String, PriorityJson>,
}

impl From<GetPerformanceMetricsResponse> for MetricsJson {
    fn from(m: GetPerformanceMetricsResponse) -> Self {
        Self {
            period_start: timestamp(m.period_start),
            period_end: timestamp(m.period_end),
            period_days: m.period_days,
            total_tickets: m.total_tickets,
            tickets_within_sla: m.tickets_within_sla,
            tickets_breached: m.tickets_breached,
            sla_compliance_rate: number(m.sla_compliance_rate),
            first_response_compliance_rate: number(m.first_response_compliance_rate),
            average_resolution_time_minutes: number(m.average_resolution_time_minutes),
            average_first_response_time_minutes: number(m.average_first_response_time_minutes),
            escalation_rate: number(m.escalation_rate),
            by_priority: m
                .by_priority
                .into_iter()
                .map(|(k, v)| {
                    (
                        k,
                        PriorityJson {
                            total: v.total,
                            within_sla: v.within_sla,
                            compliance_rate: number(v.compliance_rate),
                        },
                    )
                })
                .collect(),
        }
    }
}

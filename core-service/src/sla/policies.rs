//! SLA policies: targets per priority (optionally per customer group or plan), business
//! hours, the pause rule, the warning threshold and what a breach escalates to.

use chrono::{DateTime, Utc};
use lastmile_proto::RestName;
use lastmile_proto::v1 as pb;
use lastmile_proto::v1::TicketPriority;
use serde_json::{Map, Value, json};

use super::clocks::Grant;
use super::{CalendarSpec, HoursSpec, policy_store as store};
use crate::audit::{self, Change};
use crate::auth::RequestContext;
use crate::clock::SharedClock;
use crate::db::{Conn, Db, Tx, unique_violation};
use crate::error::{Error, FieldErrors, Result};
use crate::events::Subject;
use crate::paging::{Page, PageQuery};

/// Most minutes a target may have: a year.
pub const MINUTES_MAX: i32 = 525_600;
/// The message of a name another live policy has.
pub const NAME_TAKEN: &str = "An SLA policy with this name already exists.";
/// The message of a second policy for the same tickets.
pub const SCOPE_TAKEN: &str =
    "An SLA policy for this priority, user group and plan already exists.";

/// Everything about a policy that a client can write, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyFields {
    /// 2–100 characters, unique ignoring case.
    pub name: String,
    /// The tickets' priority.
    pub priority: TicketPriority,
    /// Only customers of this group.
    pub user_group_id: Option<i64>,
    /// Only tickets about a service on this plan.
    pub plan_id: Option<i64>,
    /// Business minutes.
    pub first_response_minutes: i32,
    /// Business minutes.
    pub resolution_minutes: i32,
    /// None: 24×7.
    pub calendar: Option<CalendarSpec>,
    /// Whether waiting on the customer stops the clocks.
    pub pause_while_waiting: bool,
    /// Percent.
    pub warning_percent: i32,
    /// Raised to on breach.
    pub escalate_to_priority: Option<TicketPriority>,
    /// Assigned on breach.
    pub escalate_to_team_id: Option<i64>,
    /// Given to new tickets.
    pub active: bool,
}

impl Default for PolicyFields {
    fn default() -> Self {
        Self {
            name: String::new(),
            priority: TicketPriority::Normal,
            user_group_id: None,
            plan_id: None,
            first_response_minutes: 0,
            resolution_minutes: 0,
            calendar: None,
            pause_while_waiting: true,
            warning_percent: 80,
            escalate_to_priority: None,
            escalate_to_team_id: None,
            active: true,
        }
    }
}

/// A stored policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Id.
    pub id: i64,
    /// The fields.
    pub fields: PolicyFields,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Changed.
    pub updated_at: DateTime<Utc>,
}

impl Policy {
    /// What a ticket keeps of the policy.
    pub fn grant(&self) -> Grant {
        let f = &self.fields;
        Grant {
            policy_id: self.id,
            first_response_minutes: f.first_response_minutes,
            resolution_minutes: f.resolution_minutes,
            calendar: f
                .calendar
                .as_ref()
                .and_then(|c| serde_json::to_string(c).ok()),
            pause_while_waiting: f.pause_while_waiting,
            warning_percent: f.warning_percent,
        }
    }

    fn audit_view(&self) -> Map<String, Value> {
        let f = &self.fields;
        let value = json!({
            "name": f.name,
            "priority": f.priority.rest_name(),
            "user_group_id": f.user_group_id,
            "plan_id": f.plan_id,
            "first_response_minutes": f.first_response_minutes,
            "resolution_minutes": f.resolution_minutes,
            "calendar": f.calendar.as_ref().map(|c| json!({
                "time_zone": c.time_zone, "hours": c.hours.iter().map(|h| json!({
                    "day": h.day, "start": h.start, "end": h.end})).collect::<Vec<_>>(),
                "holidays": c.holidays})),
            "pause_while_waiting": f.pause_while_waiting,
            "warning_percent": f.warning_percent,
            "escalate_to_priority": f.escalate_to_priority.map(|p| p.rest_name()),
            "escalate_to_team_id": f.escalate_to_team_id,
            "active": f.active,
        });
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }
}

impl From<Policy> for pb::SlaPolicy {
    fn from(p: Policy) -> Self {
        let f = p.fields;
        pb::SlaPolicy {
            id: p.id,
            name: f.name,
            priority: f.priority as i32,
            user_group_id: f.user_group_id,
            plan_id: f.plan_id,
            first_response_minutes: f.first_response_minutes,
            resolution_minutes: f.resolution_minutes,
            calendar: f.calendar.map(|c| pb::SlaCalendar {
                time_zone: c.time_zone,
                hours: c
                    .hours
                    .into_iter()
                    .map(|h| pb::SlaHours {
                        day: h.day,
                        start: h.start,
                        end: h.end,
                    })
                    .collect(),
                holidays: c.holidays,
            }),
            pause_while_waiting: f.pause_while_waiting,
            warning_percent: f.warning_percent,
            escalate_to_priority: f.escalate_to_priority.map_or(0, |p| p as i32),
            escalate_to_team_id: f.escalate_to_team_id,
            active: f.active,
            created_at: Some(lastmile_proto::timestamp(p.created_at)),
            updated_at: Some(lastmile_proto::timestamp(p.updated_at)),
        }
    }
}

/// Every writable path, in the order fields are read.
pub const PATHS: [&str; 12] = [
    "name",
    "priority",
    "user_group_id",
    "plan_id",
    "first_response_minutes",
    "resolution_minutes",
    "calendar",
    "pause_while_waiting",
    "warning_percent",
    "escalate_to_priority",
    "escalate_to_team_id",
    "active",
];

/// A priority sent as a wire number: `None` for unspecified, an error for a stranger.
fn priority(value: i32, label: &str) -> std::result::Result<Option<TicketPriority>, String> {
    if value == 0 {
        return Ok(None);
    }
    TicketPriority::try_from(value)
        .ok()
        .filter(|p| *p != TicketPriority::Unspecified)
        .map(Some)
        .ok_or_else(|| format!("The selected {label} is invalid."))
}

fn minutes(value: Option<i32>, key: &str, label: &str, errors: &mut FieldErrors) -> i32 {
    match value {
        None => {
            errors.add(key, format!("The {label} field is required."));
            0
        }
        Some(m) if !(1..=MINUTES_MAX).contains(&m) => {
            errors.add(
                key,
                format!("The {label} must be between 1 and {MINUTES_MAX}."),
            );
            0
        }
        Some(m) => m,
    }
}

/// The fields of `current` with the `selected` paths read from `input`, and every
/// message about them.
pub fn read(
    current: &PolicyFields,
    input: &pb::SlaPolicyInput,
    selected: &[&str],
) -> (PolicyFields, FieldErrors) {
    let mut f = current.clone();
    let mut errors = FieldErrors::new();
    let has = |path: &str| selected.contains(&path);
    if has("name") {
        match crate::fields::entry_name(input.name.as_deref()) {
            Ok(name) => f.name = name,
            Err(messages) => messages.into_iter().for_each(|m| errors.add("name", m)),
        }
    }
    if has("priority") {
        match priority(input.priority, "priority") {
            Ok(Some(p)) => f.priority = p,
            Ok(None) => errors.add("priority", "The priority field is required."),
            Err(m) => errors.add("priority", m),
        }
    }
    if has("user_group_id") {
        f.user_group_id = input.user_group_id;
    }
    if has("plan_id") {
        f.plan_id = input.plan_id;
    }
    if has("first_response_minutes") {
        f.first_response_minutes = minutes(
            input.first_response_minutes,
            "first_response_minutes",
            "first response minutes",
            &mut errors,
        );
    }
    if has("resolution_minutes") {
        f.resolution_minutes = minutes(
            input.resolution_minutes,
            "resolution_minutes",
            "resolution minutes",
            &mut errors,
        );
    }
    if has("calendar") {
        f.calendar = input.calendar.as_ref().map(|c| CalendarSpec {
            time_zone: c.time_zone.trim().to_owned(),
            hours: c
                .hours
                .iter()
                .map(|h| HoursSpec {
                    day: h.day.trim().to_lowercase(),
                    start: h.start.trim().to_owned(),
                    end: h.end.trim().to_owned(),
                })
                .collect(),
            holidays: c.holidays.iter().map(|d| d.trim().to_owned()).collect(),
        });
        if let Some(calendar) = &f.calendar
            && let Err(messages) = calendar.build()
        {
            messages.into_iter().for_each(|m| errors.add("calendar", m));
        }
    }
    if has("pause_while_waiting") {
        f.pause_while_waiting = input.pause_while_waiting.unwrap_or(true);
    }
    if has("warning_percent") {
        match input.warning_percent {
            None => f.warning_percent = 80,
            Some(p) if (1..=99).contains(&p) => f.warning_percent = p,
            Some(_) => errors.add(
                "warning_percent",
                "The warning percent must be between 1 and 99.",
            ),
        }
    }
    if has("escalate_to_priority") {
        match priority(input.escalate_to_priority, "escalate to priority") {
            Ok(p) => f.escalate_to_priority = p,
            Err(m) => errors.add("escalate_to_priority", m),
        }
    }
    if has("escalate_to_team_id") {
        f.escalate_to_team_id = input.escalate_to_team_id;
    }
    if has("active") {
        f.active = input.active.unwrap_or(true);
    }
    let both_read = errors.messages("first_response_minutes").is_empty()
        && errors.messages("resolution_minutes").is_empty();
    if both_read
        && (has("first_response_minutes") || has("resolution_minutes"))
        && f.resolution_minutes < f.first_response_minutes
    {
        errors.add(
            "resolution_minutes",
            "The resolution minutes must be at least the first response minutes.",
        );
    }
    (f, errors)
}

/// The policy operations.
#[derive(Debug, Clone)]
pub struct Policies {
    db: Db,
    clock: SharedClock,
}

impl Policies {
    /// The operations over `db`.
    pub fn new(db: Db, clock: SharedClock) -> Self {
        Self { db, clock }
    }

    /// Checks a create; writes nothing.
    pub async fn validate_create(&self, input: &pb::SlaPolicyInput) -> Result<()> {
        check(
            &mut self.db.conn(),
            &PolicyFields::default(),
            input,
            &PATHS,
            None,
        )
        .await
        .map(drop)
    }

    /// Creates a policy inside `tx`.
    pub async fn create(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        input: &pb::SlaPolicyInput,
    ) -> Result<Policy> {
        let fields = check(
            &mut tx.conn(),
            &PolicyFields::default(),
            input,
            &PATHS,
            None,
        )
        .await?;
        let now = self.clock.now();
        let id = store::insert(&mut tx.conn(), &fields, now)
            .await
            .map_err(clash)?;
        let policy = find(&mut tx.conn(), id).await?;
        let change =
            Change::created("sla_policy", id, policy.audit_view()).publish(subject(&policy));
        audit::record(&mut tx.conn(), context, change, now).await?;
        Ok(policy)
    }

    /// Policy `id`.
    pub async fn get(&self, id: i64) -> Result<Policy> {
        find(&mut self.db.conn(), id).await
    }

    /// A page of policies, by priority then id.
    pub async fn list(
        &self,
        page: PageQuery,
        priority: Option<TicketPriority>,
    ) -> Result<Page<Policy>> {
        let (items, total) = store::list(&mut self.db.conn(), page, priority).await?;
        Ok(Page {
            items,
            total,
            query: page,
        })
    }

    /// Changes the fields `paths` name inside `tx`.
    pub async fn update(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        id: i64,
        input: &pb::SlaPolicyInput,
        paths: &[String],
    ) -> Result<Policy> {
        let mut selected = Vec::new();
        let mut errors = FieldErrors::new();
        for path in paths {
            match PATHS.iter().find(|p| **p == path.as_str()) {
                Some(p) => selected.push(*p),
                None => errors.add(
                    "update_mask",
                    format!("The field \"{path}\" cannot be updated."),
                ),
            }
        }
        errors.into_result()?;
        let current = find(&mut tx.conn(), id).await?;
        let fields = check(&mut tx.conn(), &current.fields, input, &selected, Some(id)).await?;
        if fields == current.fields {
            return Ok(current);
        }
        let now = self.clock.now();
        store::update(&mut tx.conn(), id, &fields, now)
            .await
            .map_err(clash)?;
        let policy = find(&mut tx.conn(), id).await?;
        let change = Change::updated(
            "sla_policy.updated".into(),
            "sla_policy",
            id,
            &current.audit_view(),
            &policy.audit_view(),
        )
        .publish(subject(&policy));
        audit::record(&mut tx.conn(), context, change, now).await?;
        Ok(policy)
    }

    /// Deletes policy `id` inside `tx`; tickets keep the due times they got.
    pub async fn delete(&self, tx: &mut Tx, context: &RequestContext, id: i64) -> Result<()> {
        let current = find(&mut tx.conn(), id).await?;
        let now = self.clock.now();
        store::soft_delete(&mut tx.conn(), id, now).await?;
        let change =
            Change::deleted("sla_policy", id, current.audit_view()).publish(subject(&current));
        audit::record(&mut tx.conn(), context, change, now).await
    }
}

/// The live policy `id`, or "SLA policy not found".
async fn find(conn: &mut Conn<'_>, id: i64) -> Result<Policy> {
    if id <= 0 {
        return Err(Error::NotFound("SLA policy"));
    }
    store::find(conn, id)
        .await?
        .ok_or(Error::NotFound("SLA policy"))
}

/// The active policy for a ticket of `priority` of a customer in `user_group_id` about a
/// service on `plan_id`: the one naming the plan, else the group, else neither.
pub async fn matching(
    conn: &mut Conn<'_>,
    priority: TicketPriority,
    user_group_id: Option<i64>,
    plan_id: Option<i64>,
) -> Result<Option<Policy>> {
    store::matching(conn, priority, user_group_id, plan_id).await
}

/// Reads `input` over `current` and checks the stored references.
async fn check(
    conn: &mut Conn<'_>,
    current: &PolicyFields,
    input: &pb::SlaPolicyInput,
    selected: &[&str],
    except: Option<i64>,
) -> Result<PolicyFields> {
    let (fields, mut errors) = read(current, input, selected);
    let has = |path: &str, errors: &FieldErrors| {
        selected.contains(&path) && errors.messages(path).is_empty()
    };
    if has("name", &errors) && store::name_taken(conn, &fields.name, except).await? {
        errors.add("name", NAME_TAKEN);
    }
    for (path, group) in [
        ("user_group_id", fields.user_group_id),
        ("escalate_to_team_id", fields.escalate_to_team_id),
    ] {
        if has(path, &errors)
            && let Some(id) = group
            && !store::user_group_exists(conn, id).await?
        {
            let label = if path == "user_group_id" {
                "user group id"
            } else {
                "escalate to team id"
            };
            errors.add(path, format!("The selected {label} is invalid."));
        }
    }
    if has("plan_id", &errors)
        && let Some(id) = fields.plan_id
        && !store::plan_exists(conn, id).await?
    {
        errors.add("plan_id", "The selected plan id is invalid.");
    }
    let scope_changed = ["priority", "user_group_id", "plan_id"]
        .iter()
        .any(|p| selected.contains(p));
    if errors.is_empty() && scope_changed && store::scope_taken(conn, &fields, except).await? {
        errors.add("priority", SCOPE_TAKEN);
    }
    errors.into_result()?;
    Ok(fields)
}

fn clash(err: sqlx::Error) -> Error {
    match unique_violation(&err) {
        Some(constraint) => {
            let mut errors = FieldErrors::new();
            if constraint.contains("name") {
                errors.add("name", NAME_TAKEN);
            } else {
                errors.add("priority", SCOPE_TAKEN);
            }
            Error::Validation(errors)
        }
        None => err.into(),
    }
}

fn subject(policy: &Policy) -> Subject {
    Subject::new(
        pb::event_subject::Resource::SlaPolicy(policy.clone().into()),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> pb::SlaPolicyInput {
        pb::SlaPolicyInput {
            name: Some("Critical 24x7".into()),
            priority: TicketPriority::Critical as i32,
            first_response_minutes: Some(15),
            resolution_minutes: Some(240),
            ..Default::default()
        }
    }

    #[test]
    fn a_create_takes_the_defaults_of_what_is_left_out() {
        let (f, errors) = read(&PolicyFields::default(), &input(), &PATHS);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(f.warning_percent, 80);
        assert!(f.pause_while_waiting && f.active);
        assert_eq!(f.calendar, None);
    }

    #[test]
    fn targets_and_calendar_are_checked() {
        let mut bad = input();
        bad.first_response_minutes = Some(0);
        bad.resolution_minutes = None;
        bad.warning_percent = Some(100);
        bad.priority = 42;
        bad.calendar = Some(pb::SlaCalendar {
            time_zone: "Mars/Olympus".into(),
            hours: vec![],
            holidays: vec!["2027-13-01".into()],
        });
        let (_, errors) = read(&PolicyFields::default(), &bad, &PATHS);
        assert_eq!(
            errors.messages("first_response_minutes"),
            ["The first response minutes must be between 1 and 525600."]
        );
        assert_eq!(
            errors.messages("resolution_minutes"),
            ["The resolution minutes field is required."]
        );
        assert_eq!(
            errors.messages("warning_percent"),
            ["The warning percent must be between 1 and 99."]
        );
        assert_eq!(
            errors.messages("priority"),
            ["The selected priority is invalid."]
        );
        assert_eq!(
            errors.messages("calendar"),
            ["The holiday \"2027-13-01\" is not a date; use YYYY-MM-DD."]
        );
        let mut short = input();
        short.resolution_minutes = Some(10);
        let (_, errors) = read(&PolicyFields::default(), &short, &PATHS);
        assert_eq!(
            errors.messages("resolution_minutes"),
            ["The resolution minutes must be at least the first response minutes."]
        );
    }
}

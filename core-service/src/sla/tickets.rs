//! The ticket operations. Each write runs inside a transaction its caller owns, so the
//! ticket, its audit entry and its events commit together.

use chrono::{DateTime, Utc};
use lastmile_proto::RestName;
use lastmile_proto::v1 as pb;
use lastmile_proto::v1::{TicketCategory, TicketPriority, TicketSource, TicketStatus};

use super::clocks::{Clocks, Met};
use super::ticket_store::{self as store, TicketFilter};
use super::{Comment, SlaState, Ticket, TicketSettings, policies};
use crate::audit::{self, Change};
use crate::auth::RequestContext;
use crate::clock::SharedClock;
use crate::customers::{self, CustomerKey};
use crate::db::{Conn, Db, Tx};
use crate::error::{Error, FieldErrors, Result};
use crate::events::{self, NewEvent, Subject};
use crate::paging::{Page, PageQuery};
use crate::tenancy::Tenancy;

/// Longest subject.
const SUBJECT_MAX: usize = 200;
/// Longest description or comment.
const TEXT_MAX: usize = 20_000;

/// Every path an update may name.
pub const PATHS: [&str; 10] = [
    "customer_id",
    "source",
    "service_id",
    "subject",
    "description",
    "category",
    "priority",
    "status",
    "assignee_id",
    "team_id",
];

/// A create: the ticket as sent, and the customer of the path it was sent to, if any.
#[derive(Debug, Clone, Default)]
pub struct NewTicket {
    /// The fields.
    pub input: pb::TicketInput,
    /// The customer named by the path (unknown: not found).
    pub path_customer: Option<String>,
}

/// The ticket operations.
#[derive(Debug, Clone)]
pub struct Tickets {
    db: Db,
    clock: SharedClock,
    settings: TicketSettings,
}

/// A wire enum value: `Ok(None)` for unspecified, an error message for a stranger.
fn wire<E: RestName + TryFrom<i32>>(
    value: i32,
    label: &str,
) -> std::result::Result<Option<E>, String> {
    if value == 0 {
        return Ok(None);
    }
    E::try_from(value)
        .ok()
        .filter(|e| !e.rest_name().is_empty())
        .map(Some)
        .ok_or_else(|| format!("The selected {label} is invalid."))
}

/// Trimmed text of `min`–`max` characters.
fn text(
    raw: Option<&str>,
    key: &str,
    label: &str,
    (min, max): (usize, usize),
    errors: &mut FieldErrors,
) -> String {
    let value = raw.map(str::trim).unwrap_or_default();
    let length = value.chars().count();
    if min > 0 && length == 0 {
        errors.add(key, format!("The {label} field is required."));
    } else if length < min {
        errors.add(
            key,
            format!("The {label} must be at least {min} characters."),
        );
    } else if length > max {
        errors.add(
            key,
            format!("The {label} may not be greater than {max} characters."),
        );
    }
    value.to_owned()
}

/// Whether a ticket may move from `from` to `to` (the reopen window aside).
pub fn may_move(from: TicketStatus, to: TicketStatus) -> bool {
    use TicketStatus::*;
    match from {
        Open => matches!(to, InProgress | WaitingOnCustomer | Resolved | Closed),
        InProgress => matches!(to, Open | WaitingOnCustomer | Resolved | Closed),
        WaitingOnCustomer => matches!(to, Open | InProgress | Resolved | Closed),
        Resolved => matches!(to, Open | InProgress | Closed),
        _ => false,
    }
}

/// Which targets `ticket` has met.
fn met(ticket: &Ticket) -> Met {
    Met {
        first_response: ticket.first_response_at.is_some() || ticket.closed_at.is_some(),
        resolution: ticket.resolved_at.is_some(),
    }
}

impl Tickets {
    /// The operations over `db`.
    pub fn new(db: Db, clock: SharedClock, settings: TicketSettings) -> Self {
        Self {
            db,
            clock,
            settings,
        }
    }

    /// Checks a create; writes nothing.
    pub async fn validate_create(
        &self,
        context: &RequestContext,
        request: &NewTicket,
    ) -> Result<()> {
        let now = self.clock.now();
        self.new_ticket(&mut self.db.conn(), context, request, now)
            .await
            .map(drop)
    }

    /// Opens a ticket inside `tx`, with the due times of its policy.
    pub async fn create(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        request: &NewTicket,
    ) -> Result<Ticket> {
        let now = self.clock.now();
        let ticket = self
            .new_ticket(&mut tx.conn(), context, request, now)
            .await?;
        let id = store::insert(&mut tx.conn(), &ticket, now).await?;
        let ticket = find(&mut tx.conn(), id, None, false).await?;
        let change =
            Change::created("ticket", id, ticket.audit_view()).publish(subject(&ticket, now));
        audit::record(&mut tx.conn(), context, change, now).await?;
        if ticket.assignee_id.is_some() || ticket.team_id.is_some() {
            publish(&mut tx.conn(), "ticket.assigned", &ticket, now).await?;
        }
        Ok(ticket)
    }

    /// The ticket a create describes, checked against every rule.
    async fn new_ticket(
        &self,
        conn: &mut Conn<'_>,
        context: &RequestContext,
        request: &NewTicket,
        now: DateTime<Utc>,
    ) -> Result<Ticket> {
        let input = &request.input;
        let mut errors = FieldErrors::new();
        let tenancy = Tenancy::of(&context.principal);
        let customer = match request.path_customer.as_deref() {
            Some(key) => Some(
                customers::resolve(conn, tenancy, &CustomerKey::Reference(key.to_owned())).await?,
            ),
            None => {
                self.body_customer(conn, tenancy, input, &mut errors)
                    .await?
            }
        };
        let mut ticket = Ticket {
            id: 0,
            customer_id: customer.as_ref().map_or(0, |c| c.id),
            partner_id: customer.as_ref().and_then(|c| c.fields.partner_id),
            service_id: None,
            subject: String::new(),
            description: String::new(),
            category: TicketCategory::Other,
            priority: TicketPriority::Normal,
            status: TicketStatus::Open,
            source: TicketSource::Api,
            assignee_id: None,
            team_id: None,
            sla: SlaState::default(),
            first_response_at: None,
            resolved_at: None,
            closed_at: None,
            escalated_at: None,
            escalation_level: 0,
            comments_count: 0,
            created_at: now,
            updated_at: now,
        };
        // A ticket may be recorded already worked on or solved (a call answered at once).
        let status = match wire::<TicketStatus>(input.status, "status") {
            Ok(status) => status.unwrap_or(TicketStatus::Open),
            Err(m) => {
                errors.add("status", m);
                TicketStatus::Open
            }
        };
        match wire::<TicketSource>(input.source, "source") {
            Ok(source) => ticket.source = source.unwrap_or(TicketSource::Api),
            Err(m) => errors.add("source", m),
        }
        let paths: Vec<&str> = PATHS
            .iter()
            .copied()
            .filter(|p| !["status", "customer_id", "source"].contains(p))
            .collect();
        let plan = self
            .apply(conn, &mut ticket, input, &paths, &mut errors)
            .await?;
        errors.into_result()?;
        let user_group = customer.as_ref().and_then(|c| c.fields.user_group_id);
        let policy = policies::matching(conn, ticket.priority, user_group, plan).await?;
        ticket.sla = Clocks::granted(policy.map(|p| p.grant()), now);
        if status != TicketStatus::Open {
            self.move_status(&mut ticket, status, now)
                .map_err(|message| {
                    let mut errors = FieldErrors::new();
                    errors.add("status", message);
                    Error::Validation(errors)
                })?;
            let m = met(&ticket);
            Clocks::follow_status(&mut ticket.sla, ticket.status, now, m, now);
        }
        Ok(ticket)
    }

    /// The customer a create's body names, or a field error.
    async fn body_customer(
        &self,
        conn: &mut Conn<'_>,
        tenancy: Tenancy,
        input: &pb::TicketInput,
        errors: &mut FieldErrors,
    ) -> Result<Option<crate::customers::Customer>> {
        let key = match (input.customer_id, input.customer.as_deref().map(str::trim)) {
            (Some(id), _) => Some(CustomerKey::Id(id)),
            (None, Some(reference)) if !reference.is_empty() => {
                Some(CustomerKey::Reference(reference.to_owned()))
            }
            _ => None,
        };
        Ok(match key {
            None => {
                errors.add("customer_id", "The customer id field is required.");
                None
            }
            Some(key) => match customers::resolve(conn, tenancy, &key).await {
                Ok(customer) => Some(customer),
                Err(Error::NotFound(_)) => {
                    errors.add("customer_id", "The selected customer id is invalid.");
                    None
                }
                Err(err) => return Err(err),
            },
        })
    }

    /// Reads the `paths` of `input` into `ticket`, with the rules that need stored rows.
    /// Returns the plan of the ticket's service (policies may be per plan).
    async fn apply(
        &self,
        conn: &mut Conn<'_>,
        ticket: &mut Ticket,
        input: &pb::TicketInput,
        paths: &[&str],
        errors: &mut FieldErrors,
    ) -> Result<Option<i64>> {
        let has = |p: &str| paths.contains(&p);
        if has("customer_id") && input.customer_id != Some(ticket.customer_id) {
            errors.add(
                "customer_id",
                "A ticket's customer cannot change; open a new ticket for the other customer.",
            );
        }
        if has("source") {
            match wire::<TicketSource>(input.source, "source") {
                Ok(source) => ticket.source = source.unwrap_or(TicketSource::Api),
                Err(m) => errors.add("source", m),
            }
        }
        if has("subject") {
            ticket.subject = text(
                input.subject.as_deref(),
                "subject",
                "subject",
                (3, SUBJECT_MAX),
                errors,
            );
        }
        if has("description") {
            ticket.description = text(
                input.description.as_deref(),
                "description",
                "description",
                (0, TEXT_MAX),
                errors,
            );
        }
        if has("category") {
            match wire::<TicketCategory>(input.category, "category") {
                Ok(c) => ticket.category = c.unwrap_or(TicketCategory::Other),
                Err(m) => errors.add("category", m),
            }
        }
        if has("priority") {
            match wire::<TicketPriority>(input.priority, "priority") {
                Ok(p) => ticket.priority = p.unwrap_or(TicketPriority::Normal),
                Err(m) => errors.add("priority", m),
            }
        }
        if has("assignee_id") {
            ticket.assignee_id = input.assignee_id;
            if let Some(id) = input.assignee_id
                && (id <= 0 || !store::user_exists(conn, id).await?)
            {
                errors.add("assignee_id", "The selected assignee id is invalid.");
            }
        }
        if has("team_id") {
            ticket.team_id = input.team_id;
            if let Some(id) = input.team_id
                && (id <= 0 || !super::policy_store::user_group_exists(conn, id).await?)
            {
                errors.add("team_id", "The selected team id is invalid.");
            }
        }
        if has("service_id") {
            ticket.service_id = input.service_id;
        }
        let mut plan = None;
        if let Some(id) = ticket.service_id
            && ticket.customer_id > 0
        {
            plan = store::service_plan(conn, id, ticket.customer_id).await?;
            if plan.is_none() && has("service_id") {
                errors.add(
                    "service_id",
                    "The selected service id is not a service of the customer.",
                );
            }
        }
        Ok(plan)
    }

    /// Ticket `id`, if the caller may see it.
    pub async fn get(&self, context: &RequestContext, id: i64) -> Result<Ticket> {
        let partner = Tenancy::of(&context.principal).partner();
        find(&mut self.db.conn(), id, partner, false).await
    }

    /// A page of the tickets the caller may see; `customer` names one customer's.
    pub async fn list(
        &self,
        context: &RequestContext,
        customer: Option<&str>,
        mut filter: TicketFilter,
        page: PageQuery,
    ) -> Result<Page<Ticket>> {
        let tenancy = Tenancy::of(&context.principal);
        let mut conn = self.db.conn();
        if let Some(key) = customer {
            let found =
                customers::resolve(&mut conn, tenancy, &CustomerKey::Reference(key.to_owned()))
                    .await?;
            filter.customer_id = Some(found.id);
        }
        filter.partner = tenancy.partner();
        let (items, total) = store::list(&mut conn, &filter, page).await?;
        Ok(Page {
            items,
            total,
            query: page,
        })
    }

    /// Changes the fields `paths` name inside `tx`: a status move through the state
    /// machine (and the clocks it stops or starts), a priority change (due times
    /// recomputed from the start under the priority's policy), assignment and text.
    pub async fn update(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        id: i64,
        input: &pb::TicketInput,
        paths: &[String],
    ) -> Result<Ticket> {
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
        let partner = Tenancy::of(&context.principal).partner();
        let current = find(&mut tx.conn(), id, partner, true).await?;
        let now = self.clock.now();
        let mut ticket = current.clone();
        let mut errors = FieldErrors::new();
        let plan = self
            .apply(&mut tx.conn(), &mut ticket, input, &selected, &mut errors)
            .await?;
        if selected.contains(&"status") {
            match wire::<TicketStatus>(input.status, "status") {
                Ok(None) => errors.add("status", "The status field is required."),
                Ok(Some(to)) => {
                    if let Err(message) = self.move_status(&mut ticket, to, now) {
                        errors.add("status", message);
                    }
                }
                Err(m) => errors.add("status", m),
            }
        }
        if current.status == TicketStatus::Closed && errors.is_empty() && ticket != current {
            return Err(Error::Conflict(
                "The ticket is closed and cannot change; open a new ticket.".into(),
            ));
        }
        errors.into_result()?;
        if ticket == current {
            return Ok(current);
        }
        if ticket.priority != current.priority {
            let user_group = self.user_group(&mut tx.conn(), ticket.customer_id).await?;
            let policy =
                policies::matching(&mut tx.conn(), ticket.priority, user_group, plan).await?;
            let m = met(&ticket);
            Clocks::regrant(
                &mut ticket.sla,
                policy.map(|p| p.grant()),
                ticket.created_at,
                m,
                now,
            );
        }
        if ticket.status != current.status || ticket.priority != current.priority {
            // A new policy may pause while waiting where the old one did not, or the other
            // way round: the clocks follow the status under the rule in force now.
            let m = met(&ticket);
            Clocks::follow_status(&mut ticket.sla, ticket.status, ticket.created_at, m, now);
        }
        store::save(&mut tx.conn(), &ticket, now).await?;
        let ticket = find(&mut tx.conn(), id, None, false).await?;
        let assigned =
            ticket.assignee_id != current.assignee_id || ticket.team_id != current.team_id;
        // Only the assignment changed: that is what the change is.
        let only_assigned = assigned && {
            let mut same = ticket.clone();
            same.assignee_id = current.assignee_id;
            same.team_id = current.team_id;
            same.updated_at = current.updated_at;
            same == current
        };
        let action = match (current.status, ticket.status) {
            (from, TicketStatus::Resolved) if from != TicketStatus::Resolved => "ticket.resolved",
            (from, TicketStatus::Closed) if from != TicketStatus::Closed => "ticket.closed",
            (TicketStatus::Resolved, _) => "ticket.reopened",
            _ if only_assigned => "ticket.assigned",
            _ => "ticket.updated",
        };
        let change = Change::updated(
            action.into(),
            "ticket",
            id,
            &current.audit_view(),
            &ticket.audit_view(),
        )
        .publish(subject(&ticket, now));
        audit::record(&mut tx.conn(), context, change, now).await?;
        if assigned && action != "ticket.assigned" {
            publish(&mut tx.conn(), "ticket.assigned", &ticket, now).await?;
        }
        Ok(ticket)
    }

    /// Moves `ticket` to `to` at `now`, or says why it may not.
    fn move_status(
        &self,
        ticket: &mut Ticket,
        to: TicketStatus,
        now: DateTime<Utc>,
    ) -> std::result::Result<(), String> {
        let from = ticket.status;
        if from == to {
            return Ok(());
        }
        if !may_move(from, to) {
            return Err(format!(
                "The status cannot change from {} to {}.",
                from.rest_name(),
                to.rest_name()
            ));
        }
        match to {
            TicketStatus::Resolved => ticket.resolved_at = Some(now),
            TicketStatus::Closed => {
                ticket.closed_at = Some(now);
                ticket.resolved_at.get_or_insert(now);
            }
            _ if from == TicketStatus::Resolved => {
                let window = self.settings.reopen_window;
                if ticket.resolved_at.is_some_and(|at| now - at > window) {
                    return Err(format!(
                        "The ticket was resolved more than {} ago and cannot be reopened; \
                         open a new ticket.",
                        describe(window)
                    ));
                }
                ticket.resolved_at = None;
            }
            _ => {}
        }
        ticket.status = to;
        Ok(())
    }

    async fn user_group(&self, conn: &mut Conn<'_>, customer_id: i64) -> Result<Option<i64>> {
        let customer =
            customers::resolve(conn, Tenancy::unrestricted(), &CustomerKey::Id(customer_id)).await;
        match customer {
            Ok(c) => Ok(c.fields.user_group_id),
            Err(Error::NotFound(_)) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Removes ticket `id` from lists inside `tx`.
    pub async fn delete(&self, tx: &mut Tx, context: &RequestContext, id: i64) -> Result<()> {
        let partner = Tenancy::of(&context.principal).partner();
        let current = find(&mut tx.conn(), id, partner, true).await?;
        let now = self.clock.now();
        store::soft_delete(&mut tx.conn(), id, now).await?;
        let change =
            Change::deleted("ticket", id, current.audit_view()).publish(subject(&current, now));
        audit::record(&mut tx.conn(), context, change, now).await
    }

    /// Checks a comment; writes nothing.
    pub async fn validate_comment(
        &self,
        context: &RequestContext,
        ticket_id: i64,
        input: &pb::TicketCommentInput,
    ) -> Result<()> {
        let partner = Tenancy::of(&context.principal).partner();
        find(&mut self.db.conn(), ticket_id, partner, false).await?;
        comment_body(input).map(drop)
    }

    /// Adds a reply or note to ticket `ticket_id` inside `tx`. The first public staff
    /// reply meets the first-response target; a customer's reply to a ticket waiting on
    /// them opens it again (and starts its clocks).
    pub async fn comment(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        ticket_id: i64,
        input: &pb::TicketCommentInput,
    ) -> Result<Comment> {
        let partner = Tenancy::of(&context.principal).partner();
        let current = find(&mut tx.conn(), ticket_id, partner, true).await?;
        let body = comment_body(input)?;
        if current.status == TicketStatus::Closed {
            return Err(Error::Conflict(
                "The ticket is closed and cannot change; open a new ticket.".into(),
            ));
        }
        let public = input.public.unwrap_or(true);
        let from_customer = input.from_customer.unwrap_or(false);
        let now = self.clock.now();
        let comment = store::insert_comment(
            &mut tx.conn(),
            ticket_id,
            &body,
            public,
            from_customer,
            &context.principal.name,
            now,
        )
        .await?;
        let mut ticket = current.clone();
        ticket.comments_count += 1;
        // A reply after the ticket was resolved is not the first response its SLA waited
        // for: that wait ended with the resolution.
        if public
            && !from_customer
            && ticket.first_response_at.is_none()
            && ticket.resolved_at.is_none()
        {
            ticket.first_response_at = Some(now);
        }
        if from_customer && ticket.status == TicketStatus::WaitingOnCustomer {
            ticket.status = TicketStatus::Open;
            let m = met(&ticket);
            Clocks::follow_status(&mut ticket.sla, ticket.status, ticket.created_at, m, now);
        }
        store::save(&mut tx.conn(), &ticket, now).await?;
        let ticket = find(&mut tx.conn(), ticket_id, None, false).await?;
        let mut after = ticket.audit_view();
        after.insert("comment_id".into(), comment.id.into());
        after.insert("public".into(), public.into());
        after.insert("from_customer".into(), from_customer.into());
        let change = Change::updated(
            "ticket.commented".into(),
            "ticket",
            ticket_id,
            &current.audit_view(),
            &after,
        )
        .publish(subject(&ticket, now));
        audit::record(&mut tx.conn(), context, change, now).await?;
        Ok(comment)
    }

    /// A page of ticket `ticket_id`'s comments, oldest first.
    pub async fn comments(
        &self,
        context: &RequestContext,
        ticket_id: i64,
        page: PageQuery,
    ) -> Result<Page<Comment>> {
        let partner = Tenancy::of(&context.principal).partner();
        let mut conn = self.db.conn();
        find(&mut conn, ticket_id, partner, false).await?;
        let (items, total) = store::comments(&mut conn, ticket_id, page).await?;
        Ok(Page {
            items,
            total,
            query: page,
        })
    }
}

fn comment_body(input: &pb::TicketCommentInput) -> Result<String> {
    let mut errors = FieldErrors::new();
    let body = text(
        input.body.as_deref(),
        "body",
        "body",
        (1, TEXT_MAX),
        &mut errors,
    );
    errors.into_result()?;
    Ok(body)
}

/// "7 days", "36 hours".
fn describe(window: chrono::Duration) -> String {
    let days = window.num_days();
    if days > 0 && window == chrono::Duration::days(days) {
        let noun = if days == 1 { "day" } else { "days" };
        return format!("{days} {noun}");
    }
    let hours = window.num_hours();
    let noun = if hours == 1 { "hour" } else { "hours" };
    format!("{hours} {noun}")
}

/// The live ticket `id` that `partner` may see, or "Ticket not found".
pub(super) async fn find(
    conn: &mut Conn<'_>,
    id: i64,
    partner: Option<i64>,
    lock: bool,
) -> Result<Ticket> {
    if id <= 0 {
        return Err(Error::NotFound("Ticket"));
    }
    store::find(conn, id, partner, lock)
        .await?
        .ok_or(Error::NotFound("Ticket"))
}

/// What a ticket's events show: the ticket as the API returns it, as of `now`.
pub(super) fn subject(ticket: &Ticket, now: DateTime<Utc>) -> Subject {
    Subject::new(
        pb::event_subject::Resource::Ticket(into_proto(ticket.clone(), now)),
        ticket.partner_id,
    )
}

/// Event `event_type` about `ticket` as of `now`.
pub(super) fn event(event_type: &str, ticket: &Ticket, now: DateTime<Utc>) -> NewEvent {
    let fallback = ticket.audit_view();
    NewEvent::about(
        event_type.into(),
        "ticket",
        ticket.id.to_string(),
        subject(ticket, now),
        Some(&fallback),
    )
}

/// Writes event `event_type` about `ticket` (no audit entry: the change that caused it
/// has its own).
pub(super) async fn publish(
    conn: &mut Conn<'_>,
    event_type: &str,
    ticket: &Ticket,
    now: DateTime<Utc>,
) -> Result<()> {
    let event = event(event_type, ticket, now);
    events::publish(conn, event, now).await.map(drop)
}

/// The proto of `ticket` with its breach flags as of `now`.
pub fn into_proto(t: Ticket, now: DateTime<Utc>) -> pb::Ticket {
    use lastmile_proto::timestamp;
    let ts = |at: Option<DateTime<Utc>>| at.map(timestamp);
    pb::Ticket {
        first_response_breached: t.breached(super::Target::FirstResponse, now),
        resolution_breached: t.breached(super::Target::Resolution, now),
        id: t.id,
        customer_id: t.customer_id,
        partner_id: t.partner_id,
        service_id: t.service_id,
        subject: t.subject,
        description: t.description,
        category: t.category as i32,
        priority: t.priority as i32,
        status: t.status as i32,
        source: t.source as i32,
        assignee_id: t.assignee_id,
        team_id: t.team_id,
        sla_policy_id: t.sla.policy_id,
        first_response_due_at: ts(t.sla.first_response_due_at),
        resolution_due_at: ts(t.sla.resolution_due_at),
        first_response_at: ts(t.first_response_at),
        resolved_at: ts(t.resolved_at),
        closed_at: ts(t.closed_at),
        sla_paused: t.sla.paused_since.is_some(),
        escalated_at: ts(t.escalated_at),
        escalation_level: t.escalation_level,
        comments_count: t.comments_count,
        created_at: Some(timestamp(t.created_at)),
        updated_at: Some(timestamp(t.updated_at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_machine_allows_what_support_desks_do() {
        use TicketStatus::*;
        let table = [
            (Open, InProgress, true),
            (Open, Closed, true),
            (InProgress, Open, true),
            (WaitingOnCustomer, Resolved, true),
            (Resolved, Open, true),
            (Resolved, WaitingOnCustomer, false),
            (Closed, Open, false),
            (Closed, Resolved, false),
        ];
        for (from, to, allowed) in table {
            assert_eq!(may_move(from, to), allowed, "{from:?} → {to:?}");
        }
    }

    #[test]
    fn windows_read_as_people_say_them() {
        assert_eq!(describe(chrono::Duration::days(7)), "7 days");
        assert_eq!(describe(chrono::Duration::days(1)), "1 day");
        assert_eq!(describe(chrono::Duration::hours(36)), "36 hours");
    }
}

//! The breach check: set-based updates over the stored due and warning times mark every
//! target that is due and not yet reported, and return the rows they marked. Each
//! ticket and target is reported once, whoever runs the check and however often: checks
//! run one at a time (an advisory lock on PostgreSQL, the one writer on SQLite), and a row
//! once marked no longer matches. Breached tickets are escalated as their policy says, and every
//! report becomes an event, in the same transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures::FutureExt;
use lastmile_proto::RestName;
use lastmile_proto::v1::TicketPriority;

use super::clocks::Clocks;
use super::policies::Policy;
use super::ticket_store::by_ids;
use super::{Target, Ticket, policy_store, ticket_store, tickets};
use crate::audit::{self, Change};
use crate::clock::SharedClock;
use crate::db::{Conn, Db};
use crate::error::Result;
use crate::events;
use crate::on_conn;

/// The scheduler's job kind.
pub const CHECK_KIND: &str = "sla.check";

/// A target missed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    /// The ticket.
    pub ticket_id: i64,
    /// Its customer.
    pub customer_id: i64,
    /// Which target.
    pub target: Target,
    /// When it was due.
    pub breach_time: DateTime<Utc>,
    /// Whole minutes past due at the check.
    pub overdue_minutes: i64,
}

/// A target close to due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The ticket.
    pub ticket_id: i64,
    /// Its customer.
    pub customer_id: i64,
    /// Which target.
    pub target: Target,
    /// Business minutes left.
    pub time_remaining_minutes: i64,
}

/// What one check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// New breaches, by ticket then target.
    pub breaches: Vec<Breach>,
    /// New warnings, by ticket then target.
    pub warnings: Vec<Warning>,
    /// Tickets with a running clock.
    pub total_checked: i64,
    /// When.
    pub check_time: DateTime<Utc>,
}

/// The columns of a target: (due, warn, breached, warned, met).
fn columns(
    target: Target,
) -> (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
) {
    match target {
        Target::FirstResponse => (
            "first_response_due_at",
            "first_response_warn_at",
            "first_response_breached_at",
            "first_response_warned_at",
            "first_response_at",
        ),
        Target::Resolution => (
            "resolution_due_at",
            "resolution_warn_at",
            "resolution_breached_at",
            "resolution_warned_at",
            "resolved_at",
        ),
    }
}

/// The clock of a target runs: unmet, not paused, ticket not closed or deleted.
fn running(target: Target) -> String {
    let (_, _, _, _, met) = columns(target);
    format!("{met} IS NULL AND deleted_at IS NULL AND paused_since IS NULL AND closed_at IS NULL")
}

/// Runs the check at the clock's time.
pub async fn run(db: &Db, clock: &SharedClock) -> Result<Report> {
    let mut tx = db.begin().await?;
    let now = clock.now();
    let report = check(&mut tx.conn(), now).await?;
    tx.commit().await?;
    if !report.breaches.is_empty() || !report.warnings.is_empty() {
        tracing::info!(
            breaches = report.breaches.len(),
            warnings = report.warnings.len(),
            "SLA check reported"
        );
    }
    Ok(report)
}

/// Serializes checks on PostgreSQL (an arbitrary constant): two checks marking the same
/// rows in different orders would deadlock. SQLite's write transactions already are.
const CHECK_LOCK: i64 = 0x4c4d_534c; // "LMSL"

async fn check(conn: &mut Conn<'_>, now: DateTime<Utc>) -> Result<Report> {
    if conn.is_postgres() {
        on_conn!(conn, c => sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(CHECK_LOCK).execute(c).await.map(drop))?;
    }
    let total_checked: i64 = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT COUNT(*) FROM tickets WHERE deleted_at IS NULL AND paused_since IS NULL \
         AND closed_at IS NULL AND ((first_response_at IS NULL AND first_response_due_at IS NOT NULL) \
         OR (resolved_at IS NULL AND resolution_due_at IS NOT NULL))")
        .fetch_one(c).await)?;
    let mut breaches = Vec::new();
    for target in Target::BOTH {
        let (due, _, breached, warned, _) = columns(target);
        // A breach found before its warning was reported suppresses the warning.
        let sql = format!(
            "UPDATE tickets SET {breached} = $1, {warned} = COALESCE({warned}, $1) \
             WHERE {breached} IS NULL AND {} AND {due} <= $1 \
             RETURNING id, customer_id, {due}",
            running(target)
        );
        let rows: Vec<(i64, i64, DateTime<Utc>)> = on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(now).fetch_all(c).await)?;
        breaches.extend(
            rows.into_iter()
                .map(|(ticket_id, customer_id, due)| Breach {
                    ticket_id,
                    customer_id,
                    target,
                    breach_time: due,
                    overdue_minutes: (now - due).num_minutes().max(0),
                }),
        );
    }
    let mut warned_rows = Vec::new();
    for target in Target::BOTH {
        let (due, warn, breached, warned, _) = columns(target);
        let sql = format!(
            "UPDATE tickets SET {warned} = $1 WHERE {warned} IS NULL AND {breached} IS NULL \
             AND {} AND {warn} <= $1 RETURNING id, customer_id, {due}",
            running(target)
        );
        let rows: Vec<(i64, i64, DateTime<Utc>)> = on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(now).fetch_all(c).await)?;
        warned_rows.extend(rows.into_iter().map(|row| (target, row)));
    }
    breaches.sort_by_key(|b| (b.ticket_id, b.target == Target::Resolution));
    warned_rows.sort_by_key(|(target, row)| (row.0, *target == Target::Resolution));

    let mut ids: Vec<i64> = breaches
        .iter()
        .map(|b| b.ticket_id)
        .chain(warned_rows.iter().map(|(_, row)| row.0))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let loaded: HashMap<i64, Ticket> = by_ids(conn, &ids)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let find = |id: i64| loaded.get(&id);
    let warnings: Vec<Warning> = warned_rows
        .iter()
        .map(|(target, (ticket_id, customer_id, due))| Warning {
            ticket_id: *ticket_id,
            customer_id: *customer_id,
            target: *target,
            time_remaining_minutes: find(*ticket_id)
                .map_or(0, |t| Clocks::remaining(&t.sla, now, *due)),
        })
        .collect();

    // Escalations change rows: all of them before the first event takes the outbox's
    // ordering lock.
    let mut escalated = Vec::new();
    let mut breached_ids: Vec<i64> = breaches.iter().map(|b| b.ticket_id).collect();
    breached_ids.dedup();
    let mut policies: HashMap<i64, Option<Policy>> = HashMap::new();
    for id in &breached_ids {
        let Some(ticket) = find(*id) else { continue };
        let Some(policy_id) = ticket.sla.policy_id else {
            continue;
        };
        if let std::collections::hash_map::Entry::Vacant(slot) = policies.entry(policy_id) {
            slot.insert(policy_store::find(conn, policy_id).await?);
        }
        let Some(Some(policy)) = policies.get(&policy_id) else {
            continue;
        };
        if let Some(after) = escalate(conn, ticket, policy, now).await? {
            escalated.push((ticket.clone(), after));
        }
    }
    let reloaded: HashMap<i64, Ticket> = if escalated.is_empty() {
        loaded
    } else {
        by_ids(conn, &ids)
            .await?
            .into_iter()
            .map(|t| (t.id, t))
            .collect()
    };
    let current = |id: i64| reloaded.get(&id);
    let reports = breaches
        .iter()
        .map(|b| ("sla.breached", b.ticket_id))
        .chain(warnings.iter().map(|w| ("sla.warning", w.ticket_id)));
    let events = reports
        .filter_map(|(kind, id)| current(id).map(|t| tickets::event(kind, t, now)))
        .collect();
    events::publish_all(conn, events, now).await?;
    for (before, after) in escalated {
        let change = Change::updated(
            "ticket.escalated".into(),
            "ticket",
            after.id,
            &before.audit_view(),
            &after.audit_view(),
        )
        .publish(tickets::subject(&after, now));
        audit::record_system(conn, change, now).await?;
    }
    Ok(Report {
        breaches,
        warnings,
        total_checked,
        check_time: now,
    })
}

/// How urgent a priority is; lower is more.
fn urgency(p: TicketPriority) -> i32 {
    match p {
        TicketPriority::Critical => 1,
        TicketPriority::High => 2,
        TicketPriority::Normal => 3,
        _ => 4,
    }
}

/// Applies the escalation of `policy` (the ticket's), if it has one; returns the ticket
/// after. The due times stay those of the policy the ticket got: escalation routes the
/// ticket, it does not move its targets.
async fn escalate(
    conn: &mut Conn<'_>,
    ticket: &Ticket,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Option<Ticket>> {
    let f = &policy.fields;
    if f.escalate_to_priority.is_none() && f.escalate_to_team_id.is_none() {
        return Ok(None);
    }
    let mut after = ticket.clone();
    if let Some(p) = f.escalate_to_priority
        && urgency(p) < urgency(after.priority)
    {
        after.priority = p;
    }
    if let Some(team) = f.escalate_to_team_id {
        after.team_id = Some(team);
    }
    after.escalation_level += 1;
    after.escalated_at = Some(now);
    ticket_store::save(conn, &after, now).await?;
    tracing::info!(
        ticket = after.id,
        priority = after.priority.rest_name(),
        level = after.escalation_level,
        "ticket escalated"
    );
    Ok(Some(after))
}

/// Registers the scheduler's check.
pub fn register(registry: &mut crate::jobs::Registry, db: Db, clock: SharedClock) {
    registry.register(
        CHECK_KIND,
        move |_attempt: crate::jobs::Attempt| {
            let (db, clock) = (db.clone(), clock.clone());
            async move {
                match run(&db, &clock).await {
                    Ok(_) => crate::jobs::Outcome::done(),
                    Err(err) => crate::jobs::Outcome::retry(err.to_string()),
                }
            }
            .boxed()
        },
        crate::jobs::default_backoff(),
    );
}

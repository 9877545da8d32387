//! Dunning: reminders before and after an invoice's due date, suspension of customers who
//! do not pay, and their reactivation once they do.
//!
//! Reminders are the settings' `reminder_days` (days relative to the due date: -3 is three
//! days before, 7 a week after); each is recorded once per invoice, and when a run finds
//! several reached at once only the latest is sent. A customer with `auto_suspension` whose
//! oldest unpaid invoice is `suspend_after_days` past due is suspended with the reason
//! `non_payment` — through the customer's life cycle, so its active services are suspended
//! through provisioning and the network refuses them (`customers.dunning_suspended` marks
//! it, and any other status change clears the mark). When nothing is past that grace any
//! more (a payment, a credit note, a void), the customer is activated again, which restores
//! exactly the services the suspension took; a suspension made by a person is never lifted
//! here. Each decision is taken again under the customer's row lock, so a payment and a run,
//! or two runs, never act on a stale view.

use chrono::{DateTime, NaiveDate, Utc};
use futures::FutureExt;
use lastmile_proto::v1 as pb;

use super::invoices::{self, publish};
use super::settings;
use crate::audit::Actor;
use crate::clock::SharedClock;
use crate::customers::{Choice, CustomerAction, CustomerKey, Customers};
use crate::db::{Conn, Db};
use crate::error::Result;
use crate::events::{self, NewEvent, Subject};
use crate::on_conn;

/// The job kind of the periodic run.
pub const KIND: &str = "billing.dunning";
/// The reason dunning gives its suspensions.
pub const NON_PAYMENT: &str = "non_payment";
/// Takes turns between runs on PostgreSQL (an advisory lock for the reminders' transaction).
const RUN_LOCK: i64 = 0x4c4d_444e; // "LMDN"

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// (invoice, offset in days) of each reminder sent.
    pub reminders: Vec<(i64, i32)>,
    /// Customers suspended.
    pub suspended: Vec<i64>,
    /// Customers activated again.
    pub reactivated: Vec<i64>,
    /// When it ran.
    pub run_at: DateTime<Utc>,
}

/// The hourly run (a missed reminder day is caught up by the next run).
pub fn tasks() -> Vec<crate::jobs::scheduler::Task> {
    vec![crate::jobs::scheduler::Task {
        kind: KIND,
        every: crate::jobs::scheduler::Every::Interval(std::time::Duration::from_secs(3600)),
    }]
}

/// Registers the run's job kind.
pub fn register(
    registry: &mut crate::jobs::Registry,
    db: Db,
    clock: SharedClock,
    customers: Customers,
) {
    registry.register(
        KIND,
        move |_attempt: crate::jobs::Attempt| {
            let (db, clock, customers) = (db.clone(), clock.clone(), customers.clone());
            async move {
                match run(&db, &clock, &customers).await {
                    Ok(_) => crate::jobs::Outcome::done(),
                    Err(err) => crate::jobs::Outcome::retry(err.to_string()),
                }
            }
            .boxed()
        },
        crate::jobs::default_backoff(),
    );
}

/// Runs reminders, suspensions and reactivations as of the clock's now.
pub async fn run(db: &Db, clock: &SharedClock, customers: &Customers) -> Result<Report> {
    let now = clock.now();
    let today = crate::billing::day(now);
    let mut report = Report {
        run_at: now,
        ..Report::default()
    };
    report.reminders = remind(db, now).await?;
    for customer_id in overdue_customers(&mut db.conn(), today).await? {
        let mut tx = db.begin().await?;
        match suspend(&mut tx, customers, customer_id, today).await {
            Ok(true) => {
                tx.commit().await?;
                report.suspended.push(customer_id);
            }
            Ok(false) => {}
            // Changed or deleted since it was found (another run, a person): the next run
            // looks again.
            Err(crate::error::Error::Conflict(_) | crate::error::Error::NotFound(_)) => {}
            Err(err) => return Err(err),
        }
    }
    for customer_id in cleared_customers(&mut db.conn(), today).await? {
        let mut tx = db.begin().await?;
        match reactivate(&mut tx, customers, customer_id, now).await {
            Ok(true) => {
                tx.commit().await?;
                report.reactivated.push(customer_id);
            }
            Ok(false) => {}
            Err(crate::error::Error::Conflict(_) | crate::error::Error::NotFound(_)) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(report)
}

/// Suspends customer `id` inside `tx` if, under its row lock, it is still active with
/// automatic suspension and something unpaid past its grace (a payment may have come in
/// since the run listed it). Whether it did.
async fn suspend(
    tx: &mut crate::db::Tx,
    customers: &Customers,
    id: i64,
    today: NaiveDate,
) -> Result<bool> {
    super::ledger::lock_customer(&mut tx.conn(), id).await?;
    let eligible: Option<i64> = on_conn!(&mut tx.conn(), c => sqlx::query_scalar(
        "SELECT id FROM customers WHERE id = $1 AND deleted_at IS NULL AND status = 'active' \
         AND auto_suspension")
        .bind(id).fetch_optional(c).await)?;
    if eligible.is_none() || !still_overdue(&mut tx.conn(), id, today).await? {
        return Ok(false);
    }
    customers
        .act_as(
            tx,
            Actor::System,
            &CustomerKey::Id(id),
            Choice::Valid(CustomerAction::Suspend),
            NON_PAYMENT,
        )
        .await?;
    on_conn!(&mut tx.conn(), c => sqlx::query(
        "UPDATE customers SET dunning_suspended = TRUE WHERE id = $1")
        .bind(id).execute(c).await.map(drop))?;
    Ok(true)
}

#[derive(sqlx::FromRow)]
struct Candidate {
    id: i64,
    due_date: Option<NaiveDate>,
}

/// Sends the reminders reached and not yet sent, in one transaction.
async fn remind(db: &Db, now: DateTime<Utc>) -> Result<Vec<(i64, i32)>> {
    let today = crate::billing::day(now);
    let mut tx = db.begin().await?;
    // Runs take turns: a second one waits, then finds what the first recorded.
    if tx.is_postgres() {
        on_conn!(&mut tx.conn(), c => sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(RUN_LOCK).execute(c).await.map(drop))?;
    }
    let mut offsets = settings::load(&mut tx.conn()).await?.reminder_days;
    if offsets.is_empty() {
        return Ok(Vec::new());
    }
    offsets.sort_unstable();
    let earliest = offsets[0];
    // Invoices whose first reminder day has come: due on or before today minus it.
    let horizon = today - chrono::Duration::days(i64::from(earliest));
    let candidates: Vec<Candidate> = on_conn!(&mut tx.conn(), c => sqlx::query_as(
        "SELECT id, due_date FROM invoices WHERE kind = 'invoice' AND status = 'open' \
         AND total_minor - paid_minor - credited_minor > 0 AND due_date <= $1 ORDER BY id")
        .bind(horizon).fetch_all(c).await)?;
    let mut sent = Vec::new();
    for candidate in candidates {
        let Some(due) = candidate.due_date else {
            continue;
        };
        let done: Vec<i32> = on_conn!(&mut tx.conn(), c => sqlx::query_scalar(
            "SELECT offset_days FROM invoice_reminders WHERE invoice_id = $1")
            .bind(candidate.id).fetch_all(c).await)?;
        let reached: Vec<i32> = offsets
            .iter()
            .copied()
            .filter(|o| due + chrono::Duration::days(i64::from(*o)) <= today)
            .filter(|o| !done.contains(o))
            .collect();
        let Some(latest) = reached.iter().copied().max() else {
            continue;
        };
        let mut latest_new = false;
        for offset in &reached {
            let inserted = on_conn!(&mut tx.conn(), c => sqlx::query(
                "INSERT INTO invoice_reminders (invoice_id, offset_days, sent_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (invoice_id, offset_days) DO NOTHING")
                .bind(candidate.id).bind(offset).bind(now).execute(c).await.map(|done| done.rows_affected()))?;
            latest_new |= *offset == latest && inserted == 1;
        }
        // Recorded by a concurrent run first: that run sent it.
        if !latest_new {
            continue;
        }
        let invoice = invoices::find(&mut tx.conn(), candidate.id, None).await?;
        let event = if latest > 0 {
            "payment.overdue"
        } else {
            "invoice.due_soon"
        };
        publish(&mut tx.conn(), event, &invoice, now).await?;
        sent.push((candidate.id, latest));
    }
    tx.commit().await?;
    Ok(sent)
}

/// Live active customers with automatic suspension whose oldest unpaid invoice is past its
/// grace on `today`.
async fn overdue_customers(conn: &mut Conn<'_>, today: NaiveDate) -> Result<Vec<i64>> {
    let rows: Vec<(i64, i32, Option<NaiveDate>)> = on_conn!(conn, c => sqlx::query_as(
        "SELECT c.id, c.suspend_after_days, MIN(i.due_date) FROM customers c \
         JOIN invoices i ON i.customer_id = c.id \
         WHERE c.deleted_at IS NULL AND c.auto_suspension AND c.status = 'active' \
         AND i.kind = 'invoice' AND i.status IN ('open', 'uncollectible') \
         AND i.total_minor - i.paid_minor - i.credited_minor > 0 AND i.due_date < $1 \
         GROUP BY c.id, c.suspend_after_days ORDER BY c.id")
        .bind(today).fetch_all(c).await)?;
    Ok(rows
        .into_iter()
        .filter(|(_, grace, oldest)| past_grace(*oldest, *grace, today))
        .map(|(id, ..)| id)
        .collect())
}

/// Whether an invoice due on `due` is past due by `grace` days or more on `today` (and
/// past due at all: with no grace, from the day after the due date).
fn past_grace(due: Option<NaiveDate>, grace: i32, today: NaiveDate) -> bool {
    due.is_some_and(|d| d < today && (today - d).num_days() >= i64::from(grace))
}

/// Customers dunning suspended that nothing past grace holds any more.
async fn cleared_customers(conn: &mut Conn<'_>, today: NaiveDate) -> Result<Vec<i64>> {
    let ids: Vec<i64> = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT id FROM customers WHERE deleted_at IS NULL AND status = 'suspended' \
         AND dunning_suspended ORDER BY id")
        .fetch_all(c).await)?;
    let mut cleared = Vec::new();
    for id in ids {
        if !still_overdue(conn, id, today).await? {
            cleared.push(id);
        }
    }
    Ok(cleared)
}

/// Whether customer `id` still has an unpaid invoice past its grace.
async fn still_overdue(conn: &mut Conn<'_>, id: i64, today: NaiveDate) -> Result<bool> {
    let row: Option<(i32, Option<NaiveDate>)> = on_conn!(conn, c => sqlx::query_as(
        "SELECT c.suspend_after_days, (SELECT MIN(i.due_date) FROM invoices i \
         WHERE i.customer_id = c.id AND i.kind = 'invoice' AND i.status IN ('open', 'uncollectible') \
         AND i.total_minor - i.paid_minor - i.credited_minor > 0) FROM customers c WHERE c.id = $1")
        .bind(id).fetch_optional(c).await)?;
    Ok(row.is_some_and(|(grace, oldest)| past_grace(oldest, grace, today)))
}

/// Activates customer `id` again inside `tx` when dunning suspended it and nothing past
/// grace is left; publishes `customer.reactivated`. Whether it did.
pub async fn reactivate(
    tx: &mut crate::db::Tx,
    customers: &Customers,
    id: i64,
    now: DateTime<Utc>,
) -> Result<bool> {
    // Under the customer's row lock: a concurrent run or payment decides first.
    super::ledger::lock_customer(&mut tx.conn(), id).await?;
    let suspended_for_non_payment: Option<i64> = on_conn!(&mut tx.conn(), c => sqlx::query_scalar(
        "SELECT id FROM customers WHERE id = $1 AND deleted_at IS NULL AND status = 'suspended' \
         AND dunning_suspended")
        .bind(id).fetch_optional(c).await)?;
    if suspended_for_non_payment.is_none()
        || still_overdue(&mut tx.conn(), id, crate::billing::day(now)).await?
    {
        return Ok(false);
    }
    let customer = customers
        .act_as(
            tx,
            Actor::System,
            &CustomerKey::Id(id),
            Choice::Valid(CustomerAction::Activate),
            "nothing overdue any more",
        )
        .await?;
    let partner = customer.fields.partner_id;
    let shown: pb::Customer = customer.into();
    let event = NewEvent::about(
        "customer.reactivated".into(),
        "customer",
        id.to_string(),
        Subject::new(pb::event_subject::Resource::Customer(shown), partner),
        None,
    );
    events::publish(&mut tx.conn(), event, now).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grace_counts_whole_days_past_due() {
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        // Due on the 1st with 14 days' grace: suspended from the 15th, not on the 14th.
        assert!(!past_grace(Some(day(1)), 14, day(14)));
        assert!(past_grace(Some(day(1)), 14, day(15)));
        // No grace: from the day after the due date.
        assert!(!past_grace(Some(day(1)), 0, day(1)));
        assert!(past_grace(Some(day(1)), 0, day(2)));
        assert!(!past_grace(None, 0, day(2)));
    }
}

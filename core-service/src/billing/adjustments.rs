//! What a change within a charged period owes: a plan change credits the unused days of
//! the plan left and charges the new one for them; days a service spends suspended and the
//! days after its termination are credited when its plan says so. Each is written as a
//! `billing_adjustments` row in the transaction of the change itself (the services domain
//! calls in from its one status writer and its one plan writer), and the customer's next
//! run invoice carries it, once.

use chrono::{DateTime, NaiveDate, Utc};

use super::rules::{self, Period};
use crate::db::Conn;
use crate::error::Result;
use crate::on_conn;

/// A charged period of a service, as the adjustments read it.
#[derive(Debug, Clone, sqlx::FromRow)]
struct ChargeRow {
    id: i64,
    plan_id: i64,
    period_start: NaiveDate,
    period_end: NaiveDate,
    period_days: i32,
    fee_minor: i64,
}

/// What the adjustments need of a plan.
#[derive(Debug, Clone, sqlx::FromRow)]
struct PlanTerms {
    id: i64,
    name: String,
    monthly_fee_minor: i64,
    billing_period_months: i32,
    credit_suspended_days: bool,
    credit_unused_days_on_termination: bool,
}

async fn plan_terms(conn: &mut Conn<'_>, plan_id: i64) -> Result<Option<PlanTerms>> {
    Ok(on_conn!(conn, c => sqlx::query_as(
        "SELECT id, name, monthly_fee_minor, billing_period_months, credit_suspended_days, \
         credit_unused_days_on_termination FROM plans WHERE id = $1")
        .bind(plan_id).fetch_optional(c).await)?)
}

/// The charges of `service_id` whose periods end after `from` and, with `until`, begin
/// before it.
async fn charges_over(
    conn: &mut Conn<'_>,
    service_id: i64,
    from: NaiveDate,
    until: Option<NaiveDate>,
) -> Result<Vec<ChargeRow>> {
    // Open-ended: no upper bound (a sentinel date would not compare as a date where dates
    // are stored as text).
    Ok(on_conn!(conn, c => sqlx::query_as(
        "SELECT id, plan_id, period_start, period_end, period_days, fee_minor FROM charges \
         WHERE service_id = $1 AND period_end > $2 AND ($3 IS NULL OR period_start < $3) \
         ORDER BY period_start")
        .bind(service_id).bind(from).bind(until).fetch_all(c).await)?)
}

/// The fee a charged period is credited at for `plan`: the fee it was charged at while the
/// service is still on the plan charged, else the plan's fee (a change within the period
/// has moved it to another plan, whose own change line charged that fee).
fn fee_for(charge: &ChargeRow, plan: &PlanTerms) -> i64 {
    if charge.plan_id == plan.id {
        charge.fee_minor
    } else {
        plan.monthly_fee_minor
    }
}

/// One adjustment to write.
struct NewAdjustment<'a> {
    service_id: i64,
    customer_id: i64,
    charge_id: i64,
    plan: &'a PlanTerms,
    kind: &'static str,
    description: String,
    fee_minor: i64,
    days: i64,
    period_days: i64,
    amount_minor: i64,
    first_day: NaiveDate,
    last_day: NaiveDate,
}

async fn insert(conn: &mut Conn<'_>, a: NewAdjustment<'_>, now: DateTime<Utc>) -> Result<()> {
    if a.days <= 0 {
        return Ok(());
    }
    on_conn!(conn, c => sqlx::query(
        "INSERT INTO billing_adjustments (service_id, customer_id, charge_id, plan_id, kind, \
         description, fee_minor, days, period_days, amount_minor, first_day, last_day, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)")
        .bind(a.service_id).bind(a.customer_id).bind(a.charge_id).bind(a.plan.id).bind(a.kind)
        .bind(&a.description).bind(a.fee_minor).bind(a.days).bind(a.period_days)
        .bind(a.amount_minor).bind(a.first_day).bind(a.last_day).bind(now)
        .execute(c).await.map(drop))?;
    Ok(())
}

/// `first – last` of the days `[from, until)`.
fn days_text(from: NaiveDate, until: NaiveDate) -> String {
    let last = until.pred_opt().unwrap_or(until);
    format!("{from} – {last}")
}

/// Credits (`kind`) the days `[from, until)` (open-ended without `until`) of the charged
/// periods of the service that fall in them, at `plan`'s fee.
#[allow(clippy::too_many_arguments)]
async fn credit_days(
    conn: &mut Conn<'_>,
    (service_id, customer_id): (i64, i64),
    plan: &PlanTerms,
    from: NaiveDate,
    until: Option<NaiveDate>,
    kind: &'static str,
    what: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    for charge in charges_over(conn, service_id, from, until).await? {
        let first = from.max(charge.period_start);
        let end = until.map_or(charge.period_end, |u| u.min(charge.period_end));
        let days = (end - first).num_days();
        if days <= 0 {
            continue;
        }
        let fee = fee_for(&charge, plan);
        let period_days = i64::from(charge.period_days);
        insert(
            conn,
            NewAdjustment {
                service_id,
                customer_id,
                charge_id: charge.id,
                plan,
                kind,
                description: format!("Credit: {} {what} ({})", plan.name, days_text(first, end)),
                fee_minor: fee,
                days,
                period_days,
                amount_minor: -rules::prorate(fee, days, period_days),
                first_day: first,
                last_day: end.pred_opt().unwrap_or(end),
            },
            now,
        )
        .await?;
    }
    Ok(())
}

/// After a service on `plan_id` moved from `before` to `after` (status names): a suspension
/// starts being counted, an ended one is credited, a termination credits the unused days —
/// as far as the plan says so.
pub async fn status_changed(
    conn: &mut Conn<'_>,
    (service_id, customer_id, plan_id): (i64, i64, i64),
    before: &str,
    after: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    if before == after {
        return Ok(());
    }
    let today = super::day(now);
    if after == "suspended" {
        on_conn!(conn, c => sqlx::query(
            "INSERT INTO billing_suspensions (service_id, since) VALUES ($1, $2) \
             ON CONFLICT (service_id) DO NOTHING")
            .bind(service_id).bind(today).execute(c).await.map(drop))?;
        return Ok(());
    }
    let Some(plan) = plan_terms(conn, plan_id).await? else {
        return Ok(());
    };
    if before == "suspended" {
        let since: Option<NaiveDate> = on_conn!(conn, c => sqlx::query_scalar(
            "DELETE FROM billing_suspensions WHERE service_id = $1 RETURNING since")
            .bind(service_id).fetch_optional(c).await)?;
        if let Some(since) = since.filter(|_| plan.credit_suspended_days) {
            credit_days(
                conn,
                (service_id, customer_id),
                &plan,
                since,
                Some(today),
                "suspension_credit",
                "suspended",
                now,
            )
            .await?;
        }
    }
    if after == "terminated" && plan.credit_unused_days_on_termination {
        credit_days(
            conn,
            (service_id, customer_id),
            &plan,
            today,
            None,
            "termination_credit",
            "unused after termination",
            now,
        )
        .await?;
    }
    Ok(())
}

/// After a service moved from plan `old` to plan `new` now: when a charged period holds
/// today, the unused days of the old plan are credited and the new plan charged for them
/// (today itself at the new price).
pub async fn plan_changed(
    conn: &mut Conn<'_>,
    (service_id, customer_id): (i64, i64),
    old: i64,
    new: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    if old == new {
        return Ok(());
    }
    let today = super::day(now);
    let Some(charge) = charges_over(conn, service_id, today, today.succ_opt())
        .await?
        .into_iter()
        .next()
    else {
        return Ok(());
    };
    let (Some(left), Some(taken)) = (plan_terms(conn, old).await?, plan_terms(conn, new).await?)
    else {
        return Ok(());
    };
    let days = (charge.period_end - today).num_days();
    let old_fee = fee_for(&charge, &left);
    let old_days = i64::from(charge.period_days);
    // The new plan's own period length ending where this one ends (the same days when both
    // have the same months).
    let months = u32::try_from(taken.billing_period_months).unwrap_or(1);
    let new_days = Period::ending(charge.period_end, months).days();
    let range = days_text(today, charge.period_end);
    let last = charge.period_end.pred_opt().unwrap_or(charge.period_end);
    insert(
        conn,
        NewAdjustment {
            service_id,
            customer_id,
            charge_id: charge.id,
            plan: &left,
            kind: "plan_change_credit",
            description: format!("Credit: {} unused after plan change ({range})", left.name),
            fee_minor: old_fee,
            days,
            period_days: old_days,
            amount_minor: -rules::prorate(old_fee, days, old_days),
            first_day: today,
            last_day: last,
        },
        now,
    )
    .await?;
    insert(
        conn,
        NewAdjustment {
            service_id,
            customer_id,
            charge_id: charge.id,
            plan: &taken,
            kind: "plan_change_charge",
            description: format!("{} after plan change ({range})", taken.name),
            fee_minor: taken.monthly_fee_minor,
            days,
            period_days: new_days,
            amount_minor: rules::prorate(taken.monthly_fee_minor, days, new_days),
            first_day: today,
            last_day: last,
        },
        now,
    )
    .await
}

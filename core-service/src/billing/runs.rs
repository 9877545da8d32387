//! Recurring billing runs. A run for a date charges every active or suspended service for
//! each of its periods that begins on or before that date and is not charged yet, and
//! issues each customer one invoice with all its lines — the periods, activation fees, and
//! the adjustments changes left waiting (a credit note when the credits outweigh the
//! charges).
//!
//! Periods follow the customer's billing day (1 by default): `prorata` charges a first
//! partial period from the activation day up to the first billing date, `cycle` (the
//! default) the whole period the activation falls in; later periods are whole. A late run
//! catches up every missed period.
//!
//! A real run is a durable job and goes through the customers in batches of ids; each
//! batch is one transaction that locks its customers, reads what is due under the locks,
//! and writes the invoices, their lines, the `charges` rows (UNIQUE (service_id,
//! period_start)), the ledger, the events and the run's counts together. A period is
//! therefore charged once, whatever crashes, retries or concurrent runs happen; a run
//! interrupted anywhere continues from the start on its next attempt and finds the charged
//! periods charged. A dry run reads the same batches, writes nothing but its own row, and
//! answers with what it would issue.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use futures::FutureExt;
use futures::stream::{FuturesUnordered, StreamExt};
use lastmile_proto::v1 as pb;
use serde_json::json;

use super::invoices::{self, BillTo, Invoice, Kind, Line, NewLine, Status};
use super::ledger::EntryKind;
use super::rules::{self, Period};
use super::settings::{self, BillingSettings};
use super::tax_rates::{self, TaxRate};
use crate::auth::RequestContext;
use crate::clock::SharedClock;
use crate::db::bulk::Rows;
use crate::db::{Conn, Db, Tx};
use crate::error::{Error, FieldErrors, Result};
use crate::events::{self, NewEvent};
use crate::jobs::{self, NewJob};
use crate::paging::PageQuery;
use crate::{on_conn, on_postgres};

/// The job kind of a run (scheduled or asked for).
pub const KIND: &str = "billing.run";
/// Customers per batch (one transaction each).
const BATCH: i64 = 1000;
/// Batches under way at once on PostgreSQL.
const IN_FLIGHT: usize = 2;
/// Rows per multi-row insert (at most 17 parameters each: under either engine's limit).
const CHUNK: usize = 1000;
/// Periods one service may be charged in one run (a catch-up after a long pause).
const MAX_PERIODS: usize = 36;
/// Dry runs list this many customers' invoices unless asked otherwise.
const DEFAULT_PREVIEW: i64 = 100;
/// Real runs take turns.
const ORDERING_KEY: &str = "billing.run";

/// A run as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RunRow {
    /// Id.
    pub id: i64,
    /// The billing date.
    pub run_date: NaiveDate,
    /// A preview.
    pub dry_run: bool,
    /// queued, running, completed, failed.
    pub status: String,
    /// api or schedule.
    pub run_trigger: String,
    /// Its job.
    pub job_id: Option<i64>,
    /// Currency of the totals.
    pub currency: String,
    /// Customers invoiced.
    pub customers_count: i64,
    /// Invoices issued.
    pub invoices_count: i64,
    /// Credit notes issued.
    pub credit_notes_count: i64,
    /// Lines written.
    pub lines_count: i64,
    /// Service periods charged.
    pub charges_count: i64,
    /// Services skipped (plan currency is not the customer's).
    pub skipped_count: i64,
    /// Net (credit notes negative).
    pub subtotal_minor: i64,
    /// Tax (credit notes negative).
    pub tax_minor: i64,
    /// Total (credit notes negative).
    pub total_minor: i64,
    /// Attempts.
    pub attempts: i32,
    /// The last failure.
    pub error: String,
    /// Asked for.
    pub created_at: DateTime<Utc>,
    /// Started.
    pub started_at: Option<DateTime<Utc>>,
    /// Finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// What a run issues to one customer (a dry run's preview).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// The customer.
    pub customer_id: i64,
    /// Its name as invoices print it.
    pub customer_name: String,
    /// Invoice or credit note.
    pub kind: Kind,
    /// Currency.
    pub currency: String,
    /// The lines (as the document shows them).
    pub lines: Vec<NewLine>,
    /// Net.
    pub subtotal_minor: i64,
    /// Tax.
    pub tax_minor: i64,
    /// Total.
    pub total_minor: i64,
}

/// A run with, for a dry run, its preview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The stored run.
    pub row: RunRow,
    /// Dry runs: the invoices it would issue, by customer id.
    pub preview: Vec<Preview>,
    /// Dry runs: more would be issued than `preview` lists.
    pub truncated: bool,
}

fn money(minor: i64, currency: &str) -> Option<pb::Money> {
    super::money(minor, currency)
}

fn line_proto(l: &NewLine, currency: &str) -> pb::InvoiceLine {
    invoices::line_proto(&l.stored(0, 0, 0), currency)
}

/// The run as the proto carries it; `now` measures a run still going.
pub fn into_proto(run: Run, now: DateTime<Utc>) -> pb::BillingRun {
    let r = run.row;
    let status = match r.status.as_str() {
        "queued" => pb::BillingRunStatus::Queued,
        "running" => pb::BillingRunStatus::Running,
        "completed" => pb::BillingRunStatus::Completed,
        "failed" => pb::BillingRunStatus::Failed,
        _ => pb::BillingRunStatus::Unspecified,
    };
    let duration = r
        .started_at
        .map(|s| (r.finished_at.unwrap_or(now) - s).num_milliseconds().max(0))
        .unwrap_or(0);
    pb::BillingRun {
        id: r.id,
        date: r.run_date.to_string(),
        dry_run: r.dry_run,
        status: status as i32,
        trigger: r.run_trigger,
        customers_count: r.customers_count,
        invoices_count: r.invoices_count,
        credit_notes_count: r.credit_notes_count,
        lines_count: r.lines_count,
        charges_count: r.charges_count,
        subtotal: money(r.subtotal_minor, &r.currency),
        tax_amount: money(r.tax_minor, &r.currency),
        total_amount: money(r.total_minor, &r.currency),
        duration_ms: duration,
        created_at: Some(lastmile_proto::timestamp(r.created_at)),
        started_at: r.started_at.map(lastmile_proto::timestamp),
        finished_at: r.finished_at.map(lastmile_proto::timestamp),
        error: r.error,
        job_id: r.job_id,
        invoices: run
            .preview
            .into_iter()
            .map(|p| pb::BillingRunInvoice {
                customer_id: p.customer_id,
                customer_name: p.customer_name,
                kind: match p.kind {
                    Kind::Invoice => pb::InvoiceKind::Invoice,
                    Kind::CreditNote => pb::InvoiceKind::CreditNote,
                } as i32,
                line_items: p.lines.iter().map(|l| line_proto(l, &p.currency)).collect(),
                subtotal: money(p.subtotal_minor, &p.currency),
                tax_amount: money(p.tax_minor, &p.currency),
                total_amount: money(p.total_minor, &p.currency),
            })
            .collect(),
        preview_truncated: run.truncated,
        attempts: r.attempts,
        skipped_count: r.skipped_count,
        currency: r.currency,
    }
}

/// The run operations.
#[derive(Debug, Clone)]
pub struct Runs {
    db: Db,
    clock: SharedClock,
    currency: String,
}

impl Runs {
    /// Runs over `db`, stamped by `clock`, totals in `currency` (the deployment's).
    pub fn new(db: Db, clock: SharedClock, currency: String) -> Self {
        Self {
            db,
            clock,
            currency,
        }
    }

    /// The date and preview size a request asks for, or every rule it breaks.
    pub fn check(&self, r: &pb::RunBillingRequest) -> Result<(NaiveDate, i64)> {
        let mut errors = FieldErrors::new();
        let today = super::day(self.clock.now());
        let date = match r.date.trim() {
            "" => Some(today),
            text => match invoices::parse_date(text) {
                Some(d) if d > today => {
                    errors.add("date", "The date must not be after today.");
                    None
                }
                Some(d) => Some(d),
                None => {
                    errors.add("date", "The date must be a date (YYYY-MM-DD).");
                    None
                }
            },
        };
        let limit = match r.preview_limit {
            None => DEFAULT_PREVIEW,
            Some(n) if (1..=1000).contains(&n) => i64::from(n),
            Some(_) => {
                errors.add(
                    "preview_limit",
                    "The preview limit must be between 1 and 1000.",
                );
                DEFAULT_PREVIEW
            }
        };
        errors.into_result()?;
        Ok((date.unwrap_or(today), limit))
    }

    /// A dry run for `date`: what a run would issue (the first `limit` customers' invoices
    /// and the totals of all), recorded as a completed dry run.
    pub async fn preview(&self, date: NaiveDate, limit: i64) -> Result<Run> {
        let started = self.clock.now();
        let rates = tax_rates::active(&mut self.db.conn()).await?;
        let mut totals = Totals::default();
        let mut preview = Vec::new();
        let mut truncated = false;
        let mut after = 0;
        loop {
            let mut conn = self.db.conn();
            let Some((lo, hi)) = next_range(&mut conn, after).await? else {
                break;
            };
            let batch = load(&mut conn, (lo, hi), false).await?;
            let (bills, skipped) = bills(&batch, date, &rates);
            totals.skipped += skipped;
            for bill in bills {
                totals.add(&bill);
                if i64::try_from(preview.len()).unwrap_or(i64::MAX) < limit {
                    preview.push(bill.preview());
                } else {
                    truncated = true;
                }
            }
            after = hi;
        }
        let finished = self.clock.now();
        let mut tx = self.db.begin().await?;
        let id = insert_run(
            &mut tx.conn(),
            date,
            true,
            "api",
            None,
            &self.currency,
            started,
        )
        .await?;
        on_conn!(&mut tx.conn(), c => sqlx::query(
            "UPDATE billing_runs SET status = 'completed', started_at = $2, finished_at = $3, \
             updated_at = $3, attempts = 1 WHERE id = $1")
            .bind(id).bind(started).bind(finished).execute(c).await.map(drop))?;
        totals.record(&mut tx.conn(), id, finished).await?;
        set_skipped(&mut tx.conn(), id, totals.skipped).await?;
        let row = find(&mut tx.conn(), id).await?;
        tx.commit().await?;
        Ok(Run {
            row,
            preview,
            truncated,
        })
    }

    /// Queues a real run for `date` in `tx` (with its job).
    pub async fn queue(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        date: NaiveDate,
    ) -> Result<Run> {
        let now = self.clock.now();
        let id = insert_run(
            &mut tx.conn(),
            date,
            false,
            "api",
            None,
            &self.currency,
            now,
        )
        .await?;
        let job = NewJob::new(KIND, json!({ "run_id": id })).ordered_by(ORDERING_KEY);
        let job_id = jobs::enqueue(&mut tx.conn(), job, now).await?;
        on_conn!(&mut tx.conn(), c => sqlx::query(
            "UPDATE billing_runs SET job_id = $2 WHERE id = $1")
            .bind(id).bind(job_id).execute(c).await.map(drop))?;
        let after = json!({ "date": date.to_string(), "dry_run": false });
        let change = crate::audit::Change::created(
            "billing_run",
            id,
            after.as_object().cloned().unwrap_or_default(),
        )
        .unpublished();
        crate::audit::record(&mut tx.conn(), context, change, now).await?;
        Ok(Run {
            row: find(&mut tx.conn(), id).await?,
            preview: Vec::new(),
            truncated: false,
        })
    }

    /// Run `id`.
    pub async fn get(&self, id: i64) -> Result<Run> {
        Ok(Run {
            row: find(&mut self.db.conn(), id).await?,
            preview: Vec::new(),
            truncated: false,
        })
    }

    /// A page of runs, newest first, and the count of all.
    pub async fn list(&self, page: PageQuery) -> Result<(Vec<Run>, i64)> {
        let mut conn = self.db.conn();
        let sql =
            format!("SELECT {RUN_COLUMNS} FROM billing_runs ORDER BY id DESC LIMIT $1 OFFSET $2");
        let rows: Vec<RunRow> = on_conn!(&mut conn, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(page.limit()).bind(page.offset()).fetch_all(c).await)?;
        let total: i64 = on_conn!(&mut conn, c => sqlx::query_scalar(
            "SELECT COUNT(*) FROM billing_runs").fetch_one(c).await)?;
        Ok((
            rows.into_iter()
                .map(|row| Run {
                    row,
                    preview: Vec::new(),
                    truncated: false,
                })
                .collect(),
            total,
        ))
    }

    /// Now, by the runs' clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

const RUN_COLUMNS: &str = "id, run_date, dry_run, status, run_trigger, job_id, currency, \
    customers_count, invoices_count, credit_notes_count, lines_count, charges_count, \
    skipped_count, subtotal_minor, tax_minor, total_minor, attempts, error, created_at, \
    started_at, finished_at, updated_at";

async fn find(conn: &mut Conn<'_>, id: i64) -> Result<RunRow> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM billing_runs WHERE id = $1");
    let row: Option<RunRow> = on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id).fetch_optional(c).await)?;
    row.ok_or(Error::NotFound("Billing run"))
}

async fn insert_run(
    conn: &mut Conn<'_>,
    date: NaiveDate,
    dry_run: bool,
    trigger: &str,
    job_id: Option<i64>,
    currency: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    Ok(on_conn!(conn, c => sqlx::query_scalar(
        "INSERT INTO billing_runs (run_date, dry_run, status, run_trigger, job_id, currency, \
         created_at, updated_at) VALUES ($1, $2, 'queued', $3, $4, $5, $6, $6) RETURNING id")
        .bind(date).bind(dry_run).bind(trigger).bind(job_id).bind(currency).bind(now)
        .fetch_one(c).await)?)
}

async fn set_skipped(conn: &mut Conn<'_>, id: i64, skipped: i64) -> Result<()> {
    on_conn!(conn, c => sqlx::query("UPDATE billing_runs SET skipped_count = $2 WHERE id = $1")
        .bind(id).bind(skipped).execute(c).await.map(drop))?;
    Ok(())
}

/// The daily run at `at` (local time), when set.
pub fn tasks(at: Option<NaiveTime>) -> Vec<crate::jobs::scheduler::Task> {
    at.map(|at| crate::jobs::scheduler::Task {
        kind: KIND,
        every: crate::jobs::scheduler::Every::Daily(at),
    })
    .into_iter()
    .collect()
}

/// Registers the run's job kind.
pub fn register(
    registry: &mut crate::jobs::Registry,
    db: Db,
    clock: SharedClock,
    currency: String,
) {
    registry.register(
        KIND,
        move |attempt: crate::jobs::Attempt| {
            let (db, clock, currency) = (db.clone(), clock.clone(), currency.clone());
            async move {
                let job = &attempt.job;
                match execute(&db, &clock, &currency, job).await {
                    Ok(()) => crate::jobs::Outcome::done(),
                    Err(err) => {
                        let last = job.attempts >= job.max_attempts;
                        let _ = fail(&db, &clock, job.id, &err.to_string(), last).await;
                        crate::jobs::Outcome::retry(err.to_string())
                    }
                }
            }
            .boxed()
        },
        crate::jobs::default_backoff(),
    );
}

/// The run job `job` runs: named in its payload, or (a scheduled slot) made once for it.
async fn run_of(
    db: &Db,
    currency: &str,
    job: &crate::jobs::Job,
    now: DateTime<Utc>,
) -> Result<i64> {
    if let Some(id) = job
        .payload
        .get("run_id")
        .and_then(serde_json::Value::as_i64)
    {
        return Ok(id);
    }
    let slot = job
        .payload
        .get("slot")
        .and_then(|s| serde_json::from_value::<DateTime<Utc>>(s.clone()).ok())
        .unwrap_or(now);
    let date = super::day(slot);
    let mut tx = db.begin().await?;
    let existing: Option<i64> = on_conn!(&mut tx.conn(), c => sqlx::query_scalar(
        "SELECT id FROM billing_runs WHERE job_id = $1")
        .bind(job.id).fetch_optional(c).await)?;
    let id = match existing {
        Some(id) => id,
        None => {
            insert_run(
                &mut tx.conn(),
                date,
                false,
                "schedule",
                Some(job.id),
                currency,
                now,
            )
            .await?
        }
    };
    tx.commit().await?;
    Ok(id)
}

async fn fail(db: &Db, clock: &SharedClock, job_id: i64, error: &str, last: bool) -> Result<()> {
    let now = clock.now();
    on_conn!(&mut db.conn(), c => sqlx::query(
        "UPDATE billing_runs SET error = $2, updated_at = $3, \
         status = CASE WHEN $4 THEN 'failed' ELSE status END, \
         finished_at = CASE WHEN $4 THEN $3 ELSE finished_at END WHERE job_id = $1")
        .bind(job_id).bind(error).bind(now).bind(last).execute(c).await.map(drop))?;
    Ok(())
}

/// One attempt of a real run: every batch from the first customer (charged periods are
/// found charged), then completion.
async fn execute(
    db: &Db,
    clock: &SharedClock,
    currency: &str,
    job: &crate::jobs::Job,
) -> Result<()> {
    let id = run_of(db, currency, job, clock.now()).await?;
    let now = clock.now();
    let date: Option<NaiveDate> = on_conn!(&mut db.conn(), c => sqlx::query_scalar(
        "UPDATE billing_runs SET status = 'running', attempts = attempts + 1, \
         started_at = COALESCE(started_at, $2), error = '', updated_at = $2 \
         WHERE id = $1 AND status IN ('queued', 'running', 'failed') RETURNING run_date")
        .bind(id).bind(now).fetch_optional(c).await)?;
    // Completed already (a job retried after its run finished): nothing left.
    let Some(date) = date else {
        return Ok(());
    };
    let rates = tax_rates::active(&mut db.conn()).await?;
    let settings = settings::load(&mut db.conn()).await?;
    // Ranges follow one another; their batches overlap on PostgreSQL (one writes while the
    // next locks, reads and prices its customers). SQLite has one writer.
    let in_flight = if db.conn().is_postgres() {
        IN_FLIGHT
    } else {
        1
    };
    let issue = Issue {
        db,
        clock,
        run_id: id,
        date,
        rates: &rates,
        settings: &settings,
    };
    let mut pending = FuturesUnordered::new();
    let mut after = 0;
    let mut more = true;
    let mut skipped = 0;
    loop {
        while more && pending.len() < in_flight {
            match next_range(&mut db.conn(), after).await? {
                Some(range) => {
                    after = range.1;
                    pending.push(issue.range(range));
                }
                None => more = false,
            }
        }
        match pending.next().await {
            Some(done) => skipped += done?,
            None => break,
        }
    }
    let now = clock.now();
    on_conn!(&mut db.conn(), c => sqlx::query(
        "UPDATE billing_runs SET status = 'completed', finished_at = $2, updated_at = $2, \
         skipped_count = $3 WHERE id = $1")
        .bind(id).bind(now).bind(skipped).execute(c).await.map(drop))?;
    Ok(())
}

/// The next range of customer ids (`after` excluded) with something to bill: services that
/// are billed, or adjustments waiting; at most [`BATCH`] customers.
async fn next_range(conn: &mut Conn<'_>, after: i64) -> Result<Option<(i64, i64)>> {
    let ids: Vec<i64> = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT customer_id FROM (SELECT DISTINCT customer_id FROM (SELECT customer_id FROM services \
         WHERE customer_id > $1 AND status IN ('active', 'suspended') AND deleted_at IS NULL \
         ORDER BY customer_id LIMIT $2) s \
         UNION SELECT customer_id FROM (SELECT customer_id FROM billing_adjustments \
         WHERE customer_id > $1 AND invoice_id IS NULL ORDER BY customer_id LIMIT $2) a) u \
         ORDER BY customer_id LIMIT $2")
        .bind(after).bind(BATCH * 4).fetch_all(c).await)?;
    let ids: Vec<i64> = ids
        .into_iter()
        .take(usize::try_from(BATCH).unwrap_or(1000))
        .collect();
    Ok(ids.first().copied().zip(ids.last().copied()))
}

/// A customer as a run reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Customer {
    #[sqlx(flatten)]
    bill_to: BillTo,
    billing_method: Option<String>,
    billing_day: Option<i32>,
    balance_minor: i64,
}

/// A billed service with its plan and how far it is charged.
#[derive(Debug, Clone, sqlx::FromRow)]
struct ServiceRow {
    id: i64,
    customer_id: i64,
    plan_id: i64,
    activated_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    plan_name: String,
    fee_minor: i64,
    activation_fee_minor: i64,
    plan_currency: String,
    months: i32,
    tax_class: Option<String>,
    billed_until: Option<NaiveDate>,
}

/// An adjustment waiting for its invoice.
#[derive(Debug, Clone, sqlx::FromRow)]
struct AdjustmentRow {
    id: i64,
    customer_id: i64,
    service_id: i64,
    kind: String,
    description: String,
    fee_minor: i64,
    days: i32,
    period_days: i32,
    amount_minor: i64,
    first_day: NaiveDate,
    last_day: NaiveDate,
    tax_class: Option<String>,
}

/// Everything a batch of customers needs.
struct Batch {
    customers: Vec<Customer>,
    services: Vec<ServiceRow>,
    adjustments: Vec<AdjustmentRow>,
}

/// Reads the customers `lo..=hi` (taking their row locks when `lock`, PostgreSQL) with
/// their billed services and waiting adjustments.
async fn load(conn: &mut Conn<'_>, (lo, hi): (i64, i64), lock: bool) -> Result<Batch> {
    let lock = if lock && conn.is_postgres() {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!(
        "SELECT id, partner_id, first_name, last_name, company_name, email, street, city, state, \
         postal_code, country, billing_street, billing_city, billing_state, billing_postal_code, \
         billing_country, tax_exempt, tax_exempt_reference, currency, billing_method, billing_day, \
         balance_minor FROM customers WHERE id BETWEEN $1 AND $2 AND deleted_at IS NULL \
         ORDER BY id{lock}"
    );
    let customers: Vec<Customer> = on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(lo).bind(hi).fetch_all(c).await)?;
    let services: Vec<ServiceRow> = on_conn!(conn, c => sqlx::query_as(
        "SELECT s.id, s.customer_id, s.plan_id, s.activated_at, s.created_at, p.name AS plan_name, \
         p.monthly_fee_minor AS fee_minor, p.activation_fee_minor, p.currency AS plan_currency, \
         p.billing_period_months AS months, p.tax_class, \
         (SELECT MAX(ch.period_end) FROM charges ch WHERE ch.service_id = s.id) AS billed_until \
         FROM services s JOIN plans p ON p.id = s.plan_id \
         WHERE s.customer_id BETWEEN $1 AND $2 AND s.status IN ('active', 'suspended') \
         AND s.deleted_at IS NULL ORDER BY s.customer_id, s.id")
        .bind(lo).bind(hi).fetch_all(c).await)?;
    let adjustments: Vec<AdjustmentRow> = on_conn!(conn, c => sqlx::query_as(
        "SELECT a.id, a.customer_id, a.service_id, a.kind, a.description, a.fee_minor, a.days, \
         a.period_days, a.amount_minor, a.first_day, a.last_day, p.tax_class \
         FROM billing_adjustments a JOIN plans p ON p.id = a.plan_id \
         WHERE a.customer_id BETWEEN $1 AND $2 AND a.invoice_id IS NULL ORDER BY a.customer_id, a.id")
        .bind(lo).bind(hi).fetch_all(c).await)?;
    Ok(Batch {
        customers,
        services,
        adjustments,
    })
}

/// A service period to charge.
#[derive(Debug, Clone)]
struct NewCharge {
    service_id: i64,
    plan_id: i64,
    period: Period,
    period_days: i64,
    fee_minor: i64,
    amount_minor: i64,
}

/// What one customer is issued.
#[derive(Debug, Clone)]
struct Bill {
    customer: Customer,
    kind: Kind,
    lines: Vec<NewLine>,
    charges: Vec<NewCharge>,
    adjustments: Vec<i64>,
    subtotal_minor: i64,
    tax_minor: i64,
    total_minor: i64,
    period: (Option<NaiveDate>, Option<NaiveDate>),
}

impl Bill {
    fn preview(&self) -> Preview {
        Preview {
            customer_id: self.customer.bill_to.id,
            customer_name: self.customer.bill_to.name(),
            kind: self.kind,
            currency: self.customer.bill_to.currency.clone(),
            lines: self.lines.clone(),
            subtotal_minor: self.subtotal_minor,
            tax_minor: self.tax_minor,
            total_minor: self.total_minor,
        }
    }

    /// Signed as the run's totals count it: credit notes negative.
    fn signed(&self, amount: i64) -> i64 {
        if self.kind == Kind::CreditNote {
            -amount
        } else {
            amount
        }
    }
}

/// Counts and totals of what a run issued.
#[derive(Debug, Clone, Default)]
struct Totals {
    customers: i64,
    invoices: i64,
    credit_notes: i64,
    lines: i64,
    charges: i64,
    skipped: i64,
    subtotal: i64,
    tax: i64,
    total: i64,
}

impl Totals {
    fn add(&mut self, bill: &Bill) {
        self.customers += 1;
        if bill.kind == Kind::Invoice {
            self.invoices += 1;
        } else {
            self.credit_notes += 1;
        }
        self.lines += i64::try_from(bill.lines.len()).unwrap_or(0);
        self.charges += i64::try_from(bill.charges.len()).unwrap_or(0);
        self.subtotal += bill.signed(bill.subtotal_minor);
        self.tax += bill.signed(bill.tax_minor);
        self.total += bill.signed(bill.total_minor);
    }

    /// Adds these to run `id`'s counts.
    async fn record(&self, conn: &mut Conn<'_>, id: i64, now: DateTime<Utc>) -> Result<()> {
        on_conn!(conn, c => sqlx::query(
            "UPDATE billing_runs SET customers_count = customers_count + $2, \
             invoices_count = invoices_count + $3, credit_notes_count = credit_notes_count + $4, \
             lines_count = lines_count + $5, charges_count = charges_count + $6, \
             subtotal_minor = subtotal_minor + $7, tax_minor = tax_minor + $8, \
             total_minor = total_minor + $9, updated_at = $10 WHERE id = $1")
            .bind(id).bind(self.customers).bind(self.invoices).bind(self.credit_notes)
            .bind(self.lines).bind(self.charges).bind(self.subtotal).bind(self.tax)
            .bind(self.total).bind(now).execute(c).await.map(drop))?;
        Ok(())
    }
}

/// A line's description for the period `[start, end)`.
fn period_text(plan: &str, period: Period) -> String {
    let last = period.end.pred_opt().unwrap_or(period.end);
    format!("{plan} ({} – {last})", period.start)
}

/// The share `days / period_days` in millionths, rounded half to even.
fn factor_micro(days: i64, period_days: i64) -> i64 {
    i64::try_from(rules::div_half_even(
        i128::from(days) * rules::FACTOR_SCALE,
        i128::from(period_days),
    ))
    .unwrap_or(0)
}

/// The periods of `service` a run for `date` charges (the first prorated or whole by the
/// customer's method), in order.
fn due_periods(service: &ServiceRow, customer: &Customer, date: NaiveDate) -> Vec<NewCharge> {
    let months = u32::try_from(service.months).unwrap_or(1).max(1);
    let day = u32::try_from(customer.billing_day.unwrap_or(1)).unwrap_or(1);
    let prorata = customer.billing_method.as_deref() == Some("prorata");
    let mut charges = Vec::new();
    let charge = |period: Period, period_days: i64, amount: i64| NewCharge {
        service_id: service.id,
        plan_id: service.plan_id,
        period,
        period_days,
        fee_minor: service.fee_minor,
        amount_minor: amount,
    };
    let mut next = match service.billed_until {
        Some(end) => end,
        None => {
            let activation = super::day(service.activated_at.unwrap_or(service.created_at));
            if activation > date {
                return charges;
            }
            if prorata {
                match rules::first_prorated(service.fee_minor, activation, day, months) {
                    Some((part, amount)) => {
                        let full = Period::ending(part.end, months).days();
                        charges.push(charge(part, full, amount));
                        part.end
                    }
                    None => activation,
                }
            } else {
                rules::previous_billing_date(activation, day)
            }
        }
    };
    while next <= date && charges.len() < MAX_PERIODS {
        let period = Period::starting(next, months);
        charges.push(charge(period, period.days(), service.fee_minor));
        next = period.end;
    }
    charges
}

/// The bills of a batch for a run on `date`, and how many services were skipped.
fn bills(batch: &Batch, date: NaiveDate, rates: &[TaxRate]) -> (Vec<Bill>, i64) {
    let mut services: HashMap<i64, Vec<&ServiceRow>> = HashMap::new();
    for s in &batch.services {
        services.entry(s.customer_id).or_default().push(s);
    }
    let mut adjustments: HashMap<i64, Vec<&AdjustmentRow>> = HashMap::new();
    for a in &batch.adjustments {
        adjustments.entry(a.customer_id).or_default().push(a);
    }
    let mut skipped = 0;
    let mut out = Vec::new();
    for customer in &batch.customers {
        let c = &customer.bill_to;
        let (country, region) = c.jurisdiction();
        let rate = |class: &Option<String>| {
            class
                .as_deref()
                .and_then(|class| tax_rates::pick(rates, class, country, region))
        };
        let mut lines = Vec::new();
        let mut charges = Vec::new();
        for service in services.get(&c.id).into_iter().flatten() {
            if service.plan_currency != c.currency {
                skipped += 1;
                continue;
            }
            let due = due_periods(service, customer, date);
            if due.is_empty() {
                continue;
            }
            let tax = rate(&service.tax_class);
            if service.billed_until.is_none() && service.activation_fee_minor > 0 {
                lines.push(NewLine::priced(
                    "activation",
                    Some(service.id),
                    format!("{} activation", service.plan_name),
                    (1000, service.activation_fee_minor, 1_000_000),
                    (None, None),
                    tax,
                    c.tax_exempt,
                ));
            }
            for charge in &due {
                let days = charge.period.days();
                let whole = days == charge.period_days;
                lines.push(NewLine::with_amount(
                    if whole { "recurring" } else { "proration" },
                    Some(service.id),
                    period_text(&service.plan_name, charge.period),
                    (
                        charge.fee_minor,
                        factor_micro(days, charge.period_days),
                        charge.amount_minor,
                    ),
                    (Some(charge.period.start), charge.period.end.pred_opt()),
                    tax,
                    c.tax_exempt,
                ));
            }
            charges.extend(due);
        }
        let mut taken = Vec::new();
        for a in adjustments.get(&c.id).into_iter().flatten() {
            let kind = if a.kind == "plan_change_charge" {
                "proration"
            } else {
                "credit"
            };
            let unit = if a.amount_minor < 0 {
                -a.fee_minor
            } else {
                a.fee_minor
            };
            lines.push(NewLine::with_amount(
                kind,
                Some(a.service_id),
                a.description.clone(),
                (
                    unit,
                    factor_micro(i64::from(a.days), i64::from(a.period_days)),
                    a.amount_minor,
                ),
                (Some(a.first_day), Some(a.last_day)),
                rate(&a.tax_class),
                c.tax_exempt,
            ));
            taken.push(a.id);
        }
        if lines.is_empty() {
            continue;
        }
        let subtotal: i64 = lines.iter().map(|l| l.net_minor).sum();
        let tax: i64 = lines.iter().map(|l| l.tax_minor).sum();
        let mut kind = Kind::Invoice;
        if subtotal + tax < 0 {
            // Credits outweigh the charges: a credit note, whose lines read as amounts
            // credited.
            kind = Kind::CreditNote;
            for l in &mut lines {
                l.unit_minor = -l.unit_minor;
                l.net_minor = -l.net_minor;
                l.tax_minor = -l.tax_minor;
            }
        }
        let sign = if kind == Kind::CreditNote { -1 } else { 1 };
        let period = (
            lines.iter().filter_map(|l| l.period_start).min(),
            lines.iter().filter_map(|l| l.period_end).max(),
        );
        out.push(Bill {
            customer: customer.clone(),
            kind,
            lines,
            charges,
            adjustments: taken,
            subtotal_minor: sign * subtotal,
            tax_minor: sign * tax,
            total_minor: sign * (subtotal + tax),
            period,
        });
    }
    (out, skipped)
}

/// What every batch of one real run shares.
struct Issue<'a> {
    db: &'a Db,
    clock: &'a SharedClock,
    run_id: i64,
    date: NaiveDate,
    rates: &'a [TaxRate],
    settings: &'a BillingSettings,
}

impl Issue<'_> {
    /// One batch, read again under the locks when another writer got there first (a
    /// concurrent run charged a period); returns the services skipped.
    async fn range(&self, range: (i64, i64)) -> Result<i64> {
        let mut tries = 0;
        loop {
            tries += 1;
            match self.batch(range).await {
                Err(Error::Conflict(_)) if tries < 3 => {}
                done => return done,
            }
        }
    }

    /// One batch in one transaction; returns the services skipped.
    async fn batch(&self, range: (i64, i64)) -> Result<i64> {
        let mut tx = self.db.begin().await?;
        let now = self.clock.now();
        let batch = load(&mut tx.conn(), range, true).await?;
        let (bills, skipped) = bills(&batch, self.date, self.rates);
        if bills.is_empty() {
            tx.commit().await?;
            return Ok(skipped);
        }
        let mut totals = Totals::default();
        bills.iter().for_each(|b| totals.add(b));
        let issued = write_bills(&mut tx.conn(), &bills, self.settings, self.run_id, now).await?;
        totals.record(&mut tx.conn(), self.run_id, now).await?;
        // Credit the customers hold (overpayments, credit notes, these credit notes) goes to
        // their unpaid invoices, these included.
        for customer_id in with_credit(&mut tx.conn(), range).await? {
            if issued.contains_key(&customer_id) {
                invoices::settle(&mut tx.conn(), customer_id, now).await?;
            }
        }
        tx.commit().await?;
        Ok(skipped)
    }
}

/// Customers in `range` holding unapplied credit.
async fn with_credit(conn: &mut Conn<'_>, (lo, hi): (i64, i64)) -> Result<Vec<i64>> {
    Ok(on_conn!(conn, c => sqlx::query_scalar(
        "SELECT customer_id FROM payments WHERE unallocated_minor > 0 AND customer_id BETWEEN $1 AND $2 \
         UNION SELECT customer_id FROM invoices WHERE unallocated_minor > 0 AND customer_id BETWEEN $1 AND $2")
        .bind(lo).bind(hi).fetch_all(c).await)?)
}

/// Takes `count` numbers of `series` in `year`; returns the first.
async fn take_numbers(conn: &mut Conn<'_>, series: &str, year: i32, count: i64) -> Result<i64> {
    on_conn!(conn, c => sqlx::query(
        "INSERT INTO invoice_counters (series, year, last_number) VALUES ($1, $2, 0) \
         ON CONFLICT (series, year) DO NOTHING")
        .bind(series).bind(year).execute(c).await.map(drop))?;
    let last: i64 = on_conn!(conn, c => sqlx::query_scalar(
        "UPDATE invoice_counters SET last_number = last_number + $3 \
         WHERE series = $1 AND year = $2 RETURNING last_number")
        .bind(series).bind(year).bind(count).fetch_one(c).await)?;
    Ok(last - count + 1)
}

/// Lowers each customer's balance by what it now owes (`(customer_id, owed)`, one entry
/// per customer): one statement for the batch.
async fn lower_balances(conn: &mut Conn<'_>, changes: &[(i64, i64)]) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = changes.iter().map(|(id, _)| *id).collect();
    let owed: Vec<i64> = changes.iter().map(|(_, owed)| *owed).collect();
    let postgres = on_postgres!(conn, c => Some(sqlx::query(
        "UPDATE customers SET balance_minor = customers.balance_minor - d.owed \
         FROM UNNEST($1::bigint[], $2::bigint[]) AS d(id, owed) WHERE customers.id = d.id")
        .bind(&ids).bind(&owed).execute(c).await.map(drop)), else => None);
    if let Some(done) = postgres {
        return Ok(done?);
    }
    for chunk in changes.chunks(CHUNK) {
        let cases: String = chunk
            .iter()
            .map(|(id, owed)| format!(" WHEN {id} THEN {owed}"))
            .collect();
        let list = chunk
            .iter()
            .map(|(id, _)| id.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "UPDATE customers SET balance_minor = balance_minor - (CASE id{cases} ELSE 0 END) \
             WHERE id IN ({list})"
        );
        on_conn!(conn, c => sqlx::query(sqlx::AssertSqlSafe(sql)).execute(c).await.map(drop))?;
    }
    Ok(())
}

/// Makes the foreign keys from lines and charges to invoices wait for the commit, in this
/// transaction only (PostgreSQL: they are declared DEFERRABLE; SQLite: all keys).
async fn defer_invoice_keys(conn: &mut Conn<'_>) -> Result<()> {
    let sql = if conn.is_postgres() {
        "SET CONSTRAINTS invoice_lines_invoice_id_fkey, charges_invoice_id_fkey DEFERRED"
    } else {
        "PRAGMA defer_foreign_keys = ON"
    };
    on_conn!(conn, c => sqlx::query(sql).execute(c).await.map(drop))?;
    Ok(())
}

/// `count` new invoice ids, taken before the rows are written. PostgreSQL: from the
/// identity's sequence (never handed out twice, even when this transaction rolls back);
/// SQLite: after the highest id ever given, under the write lock this transaction holds.
async fn allocate_invoice_ids(conn: &mut Conn<'_>, count: usize) -> Result<Vec<i64>> {
    let count = i64::try_from(count).unwrap_or(i64::MAX);
    if conn.is_postgres() {
        return Ok(on_conn!(conn, c => sqlx::query_scalar(
            "SELECT nextval(pg_get_serial_sequence('invoices', 'id')) FROM generate_series(1, $1)")
            .bind(count).fetch_all(c).await)?);
    }
    let last: i64 = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'invoices'), 0), \
         COALESCE((SELECT MAX(id) FROM invoices), 0))")
        .fetch_one(c).await)?;
    Ok((last + 1..=last + count).collect())
}

/// Writes `bills` as issued invoices and credit notes with their lines, charges, ledger
/// entries and events; returns the invoice id per customer.
async fn write_bills(
    conn: &mut Conn<'_>,
    bills: &[Bill],
    settings: &BillingSettings,
    run_id: i64,
    now: DateTime<Utc>,
) -> Result<HashMap<i64, i64>> {
    let today = super::day(now);
    let year = today.year();
    let due = today + chrono::Duration::days(i64::from(settings.payment_terms_days));
    let owed = |b: &Bill| match b.kind {
        Kind::Invoice => b.total_minor,
        Kind::CreditNote => -b.total_minor,
    };
    // The balances first (the customers' rows are locked): the counters below are held
    // until commit, so what needs no number is written before them.
    let changes: Vec<(i64, i64)> = bills
        .iter()
        .map(|b| (b.customer.bill_to.id, owed(b)))
        .collect();
    lower_balances(conn, &changes).await?;
    // Ids first, numbers last: the counters are held until commit, so the lines and
    // charges go in before them, pointing at invoice ids taken now (their foreign keys to
    // invoices are checked at commit).
    defer_invoice_keys(conn).await?;
    let invoice_ids = allocate_invoice_ids(conn, bills.len()).await?;
    // Lines.
    let all_lines: Vec<(i64, i32, &NewLine)> = bills
        .iter()
        .zip(&invoice_ids)
        .flat_map(|(bill, id)| {
            let id = *id;
            bill.lines
                .iter()
                .enumerate()
                .map(move |(i, l)| (id, i32::try_from(i + 1).unwrap_or(i32::MAX), l))
        })
        .collect();
    let mut rows = Rows::new("invoice_lines");
    rows.int("invoice_id", all_lines.iter().map(|(id, ..)| *id))
        .int4("position", all_lines.iter().map(|(_, p, _)| *p))
        .text("kind", all_lines.iter().map(|(.., l)| l.kind.to_owned()))
        .opt_int("service_id", all_lines.iter().map(|(.., l)| l.service_id))
        .text(
            "description",
            all_lines.iter().map(|(.., l)| l.description.clone()),
        )
        .int(
            "quantity_milli",
            all_lines.iter().map(|(.., l)| l.quantity_milli),
        )
        .int("unit_minor", all_lines.iter().map(|(.., l)| l.unit_minor))
        .opt_date(
            "period_start",
            all_lines.iter().map(|(.., l)| l.period_start),
        )
        .opt_date("period_end", all_lines.iter().map(|(.., l)| l.period_end))
        .int(
            "proration_micro",
            all_lines.iter().map(|(.., l)| l.proration_micro),
        )
        .int("net_minor", all_lines.iter().map(|(.., l)| l.net_minor))
        .opt_int("tax_rate_id", all_lines.iter().map(|(.., l)| l.tax_rate_id))
        .text(
            "tax_name",
            all_lines.iter().map(|(.., l)| l.tax_name.clone()),
        )
        .int("tax_rate", all_lines.iter().map(|(.., l)| l.tax_rate))
        .bool(
            "tax_inclusive",
            all_lines.iter().map(|(.., l)| l.tax_inclusive),
        )
        .int("tax_minor", all_lines.iter().map(|(.., l)| l.tax_minor));
    let line_ids: HashMap<(i64, i32), i64> = rows
        .returning::<(i64, i64, i32)>(conn, "id, invoice_id, position")
        .await?
        .into_iter()
        .map(|(id, invoice, position)| ((invoice, position), id))
        .collect();
    // Charges: the UNIQUE (service_id, period_start) refuses a period charged twice, and
    // the whole batch with it.
    let all_charges: Vec<(i64, i64, &NewCharge)> = bills
        .iter()
        .zip(&invoice_ids)
        .flat_map(|(bill, id)| {
            let id = *id;
            let customer = bill.customer.bill_to.id;
            bill.charges.iter().map(move |c| (id, customer, c))
        })
        .collect();
    let mut rows = Rows::new("charges");
    rows.int("service_id", all_charges.iter().map(|(.., c)| c.service_id))
        .int(
            "customer_id",
            all_charges.iter().map(|(_, customer, _)| *customer),
        )
        .int("plan_id", all_charges.iter().map(|(.., c)| c.plan_id))
        .date(
            "period_start",
            all_charges.iter().map(|(.., c)| c.period.start),
        )
        .date("period_end", all_charges.iter().map(|(.., c)| c.period.end))
        .int(
            "period_days",
            all_charges.iter().map(|(.., c)| c.period_days),
        )
        .int("fee_minor", all_charges.iter().map(|(.., c)| c.fee_minor))
        .int(
            "amount_minor",
            all_charges.iter().map(|(.., c)| c.amount_minor),
        )
        .int("invoice_id", all_charges.iter().map(|(id, ..)| *id))
        .int("run_id", all_charges.iter().map(|_| run_id))
        .time("created_at", all_charges.iter().map(|_| now));
    rows.execute(conn)
        .await
        .map_err(|e| match crate::db::unique_violation(&e) {
            Some(_) => Error::Conflict("A service period was charged by another run.".into()),
            None => Error::from(e),
        })?;
    let invoices_count = bills.iter().filter(|b| b.kind == Kind::Invoice).count();
    let notes_count = bills.len() - invoices_count;
    let mut next_invoice = if invoices_count > 0 {
        take_numbers(
            conn,
            &settings.invoice_prefix,
            year,
            i64::try_from(invoices_count).unwrap_or(0),
        )
        .await?
    } else {
        0
    };
    let mut next_note = if notes_count > 0 {
        take_numbers(
            conn,
            &settings.credit_note_prefix,
            year,
            i64::try_from(notes_count).unwrap_or(0),
        )
        .await?
    } else {
        0
    };
    // The invoices, numbered in customer order.
    struct Head<'a> {
        id: i64,
        bill: &'a Bill,
        series: &'a str,
        sequence: i64,
        number: String,
        status: Status,
    }
    let heads: Vec<Head<'_>> = bills
        .iter()
        .zip(&invoice_ids)
        .map(|(bill, id)| {
            let (series, sequence) = if bill.kind == Kind::Invoice {
                next_invoice += 1;
                (settings.invoice_prefix.as_str(), next_invoice - 1)
            } else {
                next_note += 1;
                (settings.credit_note_prefix.as_str(), next_note - 1)
            };
            let status = match bill.kind {
                Kind::CreditNote => Status::Issued,
                Kind::Invoice if bill.total_minor == 0 => Status::Paid,
                Kind::Invoice => Status::Open,
            };
            Head {
                id: *id,
                bill,
                series,
                sequence,
                number: format!("{series}-{year}-{sequence:06}"),
                status,
            }
        })
        .collect();
    let mut rows = Rows::new("invoices");
    rows.text(
        "kind",
        heads.iter().map(|h| h.bill.kind.as_str().to_owned()),
    )
    .text("number", heads.iter().map(|h| h.number.clone()))
    .text("series", heads.iter().map(|h| h.series.to_owned()))
    .int4("year", heads.iter().map(|_| year))
    .int("sequence", heads.iter().map(|h| h.sequence))
    .text("status", heads.iter().map(|h| h.status.as_str().to_owned()))
    .text("invoice_type", heads.iter().map(|_| "recurring".to_owned()))
    .int(
        "customer_id",
        heads.iter().map(|h| h.bill.customer.bill_to.id),
    )
    .opt_int(
        "partner_id",
        heads.iter().map(|h| h.bill.customer.bill_to.partner_id),
    )
    .text(
        "customer_name",
        heads.iter().map(|h| h.bill.customer.bill_to.name()),
    )
    .text(
        "customer_address",
        heads.iter().map(|h| {
            serde_json::to_string(&h.bill.customer.bill_to.address())
                .unwrap_or_else(|_| "[]".into())
        }),
    )
    .text(
        "currency",
        heads
            .iter()
            .map(|h| h.bill.customer.bill_to.currency.clone()),
    )
    .date("issue_date", heads.iter().map(|_| today))
    .date("due_date", heads.iter().map(|_| due))
    .opt_date("period_start", heads.iter().map(|h| h.bill.period.0))
    .opt_date("period_end", heads.iter().map(|h| h.bill.period.1))
    .int(
        "subtotal_minor",
        heads.iter().map(|h| h.bill.subtotal_minor),
    )
    .int("tax_minor", heads.iter().map(|h| h.bill.tax_minor))
    .int("total_minor", heads.iter().map(|h| h.bill.total_minor))
    .int(
        "unallocated_minor",
        heads.iter().map(|h| match h.bill.kind {
            Kind::CreditNote => h.bill.total_minor,
            Kind::Invoice => 0,
        }),
    )
    .bool(
        "tax_exempt",
        heads.iter().map(|h| h.bill.customer.bill_to.tax_exempt),
    )
    .text(
        "tax_exempt_reference",
        heads.iter().map(|h| {
            h.bill
                .customer
                .bill_to
                .tax_exempt_reference
                .clone()
                .unwrap_or_default()
        }),
    )
    .time("created_at", heads.iter().map(|_| now))
    .opt_time("finalized_at", heads.iter().map(|_| Some(now)))
    .opt_time(
        "paid_at",
        heads
            .iter()
            .map(|h| (h.status == Status::Paid).then_some(now)),
    )
    .time("updated_at", heads.iter().map(|_| now));
    rows.int("id", invoice_ids.iter().copied());
    let id_of = |h: &Head<'_>| h.id;
    // Events: generated and finalized (a credit note: issued), with the invoice as issued.
    // Their JSON is rendered while PostgreSQL writes the invoices (the statement is sent
    // on the first poll, then the rendering runs until it is done).
    let render = async {
        let mut news = Vec::with_capacity(heads.len() * 2);
        for h in &heads {
            let invoice = issued_invoice(
                h.bill,
                id_of(h),
                &h.number,
                h.status,
                (today, due),
                &line_ids,
                now,
            );
            let event = NewEvent::about_with(
                if invoice.kind == Kind::Invoice {
                    "invoice.generated".into()
                } else {
                    "credit_note.issued".into()
                },
                "invoice",
                invoice.id.to_string(),
                invoices::subject(&invoice, today),
                || invoice.audit_view(),
            );
            if invoice.kind == Kind::Invoice {
                let finalized = event.retyped("invoice.finalized");
                news.push(event);
                news.push(finalized);
            } else {
                news.push(event);
            }
        }
        news
    };
    let (written, news) = futures::join!(rows.execute(conn), render);
    written?;
    // Adjustments carried, once.
    for h in &heads {
        if h.bill.adjustments.is_empty() {
            continue;
        }
        let list = h
            .bill
            .adjustments
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "UPDATE billing_adjustments SET invoice_id = $1 WHERE id IN ({list}) AND invoice_id IS NULL"
        );
        let done = on_conn!(conn, c => sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id_of(h)).execute(c).await.map(|d| d.rows_affected()))?;
        if usize::try_from(done).unwrap_or(0) != h.bill.adjustments.len() {
            return Err(Error::Conflict(
                "An adjustment was invoiced by another run.".into(),
            ));
        }
    }
    // The ledger.
    let mut rows = Rows::new("ledger_entries");
    rows.int(
        "customer_id",
        heads.iter().map(|h| h.bill.customer.bill_to.id),
    )
    .text(
        "kind",
        heads.iter().map(|h| {
            match h.bill.kind {
                Kind::Invoice => EntryKind::Invoice,
                Kind::CreditNote => EntryKind::CreditNote,
            }
            .as_str()
            .to_owned()
        }),
    )
    .text(
        "description",
        heads.iter().map(|h| match h.bill.kind {
            Kind::Invoice => format!("Invoice {}", h.number),
            Kind::CreditNote => format!("Credit note {}", h.number),
        }),
    )
    .opt_int("invoice_id", heads.iter().map(|h| Some(id_of(h))))
    .int("debit_minor", heads.iter().map(|h| owed(h.bill).max(0)))
    .int("credit_minor", heads.iter().map(|h| (-owed(h.bill)).max(0)))
    .int(
        "balance_minor",
        heads
            .iter()
            .map(|h| h.bill.customer.balance_minor - owed(h.bill)),
    )
    .text(
        "currency",
        heads
            .iter()
            .map(|h| h.bill.customer.bill_to.currency.clone()),
    )
    .time("occurred_at", heads.iter().map(|_| now));
    rows.execute(conn).await?;
    events::publish_all(conn, news, now).await?;
    Ok(heads
        .iter()
        .map(|h| (h.bill.customer.bill_to.id, id_of(h)))
        .collect())
}

/// The invoice `bill` became, as events carry it.
fn issued_invoice(
    bill: &Bill,
    id: i64,
    number: &str,
    status: Status,
    (issue_date, due_date): (NaiveDate, NaiveDate),
    line_ids: &HashMap<(i64, i32), i64>,
    now: DateTime<Utc>,
) -> Invoice {
    let c = &bill.customer.bill_to;
    let mut invoice = invoices::draft_of(c, bill.kind, "recurring".into(), &bill.lines, now);
    invoice.id = id;
    invoice.number = Some(number.to_owned());
    invoice.status = status;
    invoice.issue_date = Some(issue_date);
    invoice.due_date = Some(due_date);
    invoice.period_start = bill.period.0;
    invoice.period_end = bill.period.1;
    invoice.subtotal_minor = bill.subtotal_minor;
    invoice.tax_minor = bill.tax_minor;
    invoice.total_minor = bill.total_minor;
    invoice.finalized_at = Some(now);
    invoice.paid_at = (status == Status::Paid).then_some(now);
    if bill.kind == Kind::CreditNote {
        invoice.unallocated_minor = bill.total_minor;
    }
    invoice.lines = bill
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let position = i32::try_from(i + 1).unwrap_or(i32::MAX);
            let line_id = line_ids.get(&(id, position)).copied().unwrap_or(0);
            l.stored(line_id, id, position)
        })
        .collect::<Vec<Line>>();
    invoice
}

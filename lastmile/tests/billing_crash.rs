//! A billing run survives `kill -9`: 10,000 active services (2,000 customers with 5 each,
//! bulk-loaded by SQL after the core migrated the database) are billed by runs started
//! through gRPC while the `lastmile core` executing them is killed with SIGKILL three
//! times, at a random moment of the run each time, and started again on the same
//! database. Once the runs have completed (and one more run for the same date has charged
//! nothing), every service period is charged exactly once, every customer has exactly one
//! invoice, invoice numbers have no gap and no duplicate, and the ledger adds up.
//! PostgreSQL only (real processes on one database); ignored unless
//! `LASTMILE_TEST_POSTGRES_URL` was set at build time.
//!
//! The kills are placed by a seeded random number generator; the seed is printed and
//! `BILLING_CRASH_SEED=<seed>` repeats it. Each kill comes 0–N ms after a billing job was
//! seen running on the core about to be killed, N being the measured duration of an
//! uninterrupted run of the same data (on a database of its own, first; printed, and
//! `BILLING_CRASH_MAX_WAIT_MS` sets it instead) times the share of periods still to
//! charge. Every kill's progress (periods charged so far) is printed (`--nocapture`).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chrono::{Datelike, Months, NaiveDate, Utc};
use lastmile_proto::v1::billing_service_client::BillingServiceClient;
use lastmile_proto::v1::plan_service_client::PlanServiceClient;
use lastmile_proto::v1::{
    BillingRun, BillingRunStatus, CreatePlanRequest, GetBillingRunRequest, ListBillingRunsRequest,
    PageRequest, PlanInput, RunBillingRequest,
};
use sqlx::PgPool;
use tonic::transport::Channel;

mod support;

use support::Database;

const KEY: &str = "lm_billing_crash_test_admin_key_0123456789";
/// Short, so that the run a killed core held is taken up again soon after the restart.
const LEASE_MS: u64 = 2000;
const CUSTOMERS: i64 = 2000;
const SERVICES_PER_CUSTOMER: i64 = 5;
const SERVICES: i64 = CUSTOMERS * SERVICES_PER_CUSTOMER;
const KILLS: usize = 3;
/// Ten-thousandths of a percent: 16 % exclusive and 8 % inclusive.
const VAT: i64 = 160_000;
const SALES_TAX: i64 = 80_000;

/// A core for this test: its lease, no scheduled run beside the ones the test starts, and
/// UTC days.
async fn start_core(database: &Database) -> support::Core {
    support::Core::start(
        database,
        KEY,
        LEASE_MS,
        &[
            ("LASTMILE_BILLING_RUN_AT", "off"),
            ("LASTMILE_TIME_ZONE", "UTC"),
        ],
    )
    .await
}

async fn billing(core: &support::Core) -> BillingServiceClient<Channel> {
    BillingServiceClient::new(core.channel().await).max_decoding_message_size(64 << 20)
}

fn authorized<T>(message: T) -> tonic::Request<T> {
    support::authorized(KEY, message)
}

async fn until<F: AsyncFn() -> bool>(limit: Duration, what: &str, probe: F) {
    support::until(limit, Duration::from_millis(50), what, probe).await;
}

/// SplitMix64: a small seeded generator, so a failing order of kills can be repeated.
struct Random(u64);

impl Random {
    fn step(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// 0..=max.
    fn up_to(&mut self, max: u64) -> u64 {
        self.step() % (max + 1)
    }
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

// ---------------------------------------------------------------------------------------
// The data, and what the spec says a run charges for it.

/// A plan as seeded: (name, monthly fee, activation fee, months, tax class, rate, inclusive).
struct Plan {
    name: &'static str,
    fee: i64,
    activation_fee: i64,
    months: u32,
    tax: Option<(&'static str, i64, bool)>,
}

const PLANS: [Plan; 3] = [
    Plan {
        name: "Crash Basic",
        fee: 3000,
        activation_fee: 0,
        months: 1,
        tax: None,
    },
    Plan {
        name: "Crash Taxed",
        fee: 4550,
        activation_fee: 1000,
        months: 1,
        tax: Some(("VAT", VAT, false)),
    },
    Plan {
        name: "Crash Quarterly",
        fee: 5999,
        activation_fee: 0,
        months: 3,
        tax: Some(("Sales tax", SALES_TAX, true)),
    },
];

/// `n / d` rounded half to even (d > 0).
fn half_even(n: i128, d: i128) -> i64 {
    let (q, r) = (n.div_euclid(d), n.rem_euclid(d));
    let q = match (2 * r).cmp(&d) {
        std::cmp::Ordering::Less => q,
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal => q + (q & 1),
    };
    i64::try_from(q).unwrap()
}

/// (net, tax) of a line of `amount` under the plan's tax, for a customer exempt or not.
fn taxed(amount: i64, tax: Option<(&str, i64, bool)>, exempt: bool) -> (i64, i64) {
    match tax {
        None => (amount, 0),
        Some((_, rate, true)) => {
            let tax = half_even(
                i128::from(amount) * i128::from(rate),
                1_000_000 + i128::from(rate),
            );
            (amount - tax, if exempt { 0 } else { tax })
        }
        Some((_, rate, false)) => (
            amount,
            if exempt {
                0
            } else {
                half_even(i128::from(amount) * i128::from(rate), 1_000_000)
            },
        ),
    }
}

/// The one charge due by `run_date` for a service activated on `activated` (the run date
/// itself): (period start, day after its last day, full period's days, amount, prorated).
fn expected_charge(
    method: Option<&str>,
    billing_day: Option<i32>,
    activated: NaiveDate,
    plan: &Plan,
) -> (NaiveDate, NaiveDate, i64, i64, bool) {
    let day = billing_day.unwrap_or(1) as u32;
    let months = Months::new(plan.months);
    let on_or_before = if activated.day() >= day {
        activated.with_day(day).unwrap()
    } else {
        activated.with_day(day).unwrap() - Months::new(1)
    };
    let days = |a: NaiveDate, b: NaiveDate| (b - a).num_days();
    if method == Some("prorata") && on_or_before != activated {
        let first_billing = on_or_before + Months::new(1);
        let full = days(first_billing - months, first_billing);
        let part = days(activated, first_billing);
        let amount = half_even(i128::from(plan.fee) * i128::from(part), i128::from(full));
        return (activated, first_billing, full, amount, true);
    }
    // cycle (or null), or prorata activated on a billing date: the whole period.
    let start = if method == Some("prorata") {
        activated
    } else {
        on_or_before
    };
    let end = start + months;
    (start, end, days(start, end), plan.fee, false)
}

/// A charge as the test expects it: (period start, period end, period days, amount,
/// prorated).
type ExpectedCharge = (NaiveDate, NaiveDate, i64, i64, bool);

struct Seeded {
    plan_ids: Vec<i64>,
    /// service id → (customer id, plan index, expected charge).
    services: BTreeMap<i64, (i64, usize, ExpectedCharge)>,
    /// customer id → (net, tax) of its invoice.
    invoices: BTreeMap<i64, (i64, i64)>,
}

async fn run_sql(pool: &PgPool, text: &str) {
    sqlx::query(sqlx::AssertSqlSafe(text.to_owned()))
        .execute(pool)
        .await
        .expect(text);
}

/// Tax rates, plans (through gRPC), and customers with their active services (with the
/// RADIUS rows the product writes for a service) bulk-loaded straight into the migrated
/// database.
async fn seed(core: &support::Core, pool: &PgPool, today: NaiveDate) -> Seeded {
    let started = Instant::now();
    run_sql(
        pool,
        &format!(
            "INSERT INTO tax_rates (name, rate, inclusive, country, region, active, description, \
             created_at, updated_at) VALUES ('VAT', {VAT}, false, '', '', true, '', now(), now()), \
             ('Sales tax', {SALES_TAX}, true, '', '', true, '', now(), now())"
        ),
    )
    .await;
    // Plans through the API, with their RADIUS group rows.
    let mut plan_ids = Vec::new();
    let mut plans = PlanServiceClient::new(core.channel().await);
    for (n, plan) in PLANS.iter().enumerate() {
        let decimal = |minor: i64| format!("{}.{:02}", minor / 100, minor % 100);
        let input = PlanInput {
            name: plan.name.into(),
            speed_download_mbps: (10 * (n + 1)).to_string(),
            speed_upload_mbps: (2 * (n + 1)).to_string(),
            monthly_fee: decimal(plan.fee),
            activation_fee: decimal(plan.activation_fee),
            currency: "USD".into(),
            billing_period_months: plan.months as i32,
            tax_class: plan.tax.map(|t| t.0.to_owned()),
            ..PlanInput::default()
        };
        let created = plans
            .create_plan(authorized(CreatePlanRequest {
                plan: Some(input),
                validate_only: false,
            }))
            .await
            .expect("CreatePlan")
            .into_inner()
            .plan
            .expect("the plan");
        plan_ids.push(created.id);
    }
    // Customers with every billing method (null is cycle) and many billing days (null is
    // the 1st); every tenth is exempt from tax. A fixed argon2id PHC string: no hashing.
    sqlx::query(
        "INSERT INTO customers (portal_id, first_name, last_name, email, phone, \
         portal_password_hash, street, city, country, auto_suspension, suspend_after_days, \
         status, currency, billing_method, billing_day, tax_exempt, created_at, updated_at, uuid) \
         SELECT (70000000 + g)::text, 'Crash' || g, 'Billing', 'crash' || g || '@example.com', \
         '+1444' || lpad(g::text, 7, '0'), \
         '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA', 'Main Street ' || g, 'Nairobi', \
         'KE', true, 14, 'active', 'USD', (ARRAY['cycle', 'prorata', NULL])[1 + g % 3], \
         CASE WHEN g % 7 = 0 THEN NULL ELSE 1 + g % 28 END, g % 10 = 0, now(), now(), \
         gen_random_uuid()::text FROM generate_series(1, $1) AS g",
    )
    .bind(CUSTOMERS)
    .execute(pool)
    .await
    .expect("customers");
    // Services activated today (so exactly one period of each is due today, whatever the
    // method and billing day), on the three plans in turn.
    sqlx::query(
        "INSERT INTO services (customer_id, plan_id, status, username, password, activated_at, \
         created_at, updated_at) \
         SELECT c.id, ($2::bigint[])[1 + ((c.id + k) % 3)::int], 'active', \
         'crash' || c.id || '-' || k, 'pw' || c.id || '-' || k, \
         $1::date::timestamp AT TIME ZONE 'UTC', now(), now() \
         FROM customers c CROSS JOIN generate_series(1, $3) AS k",
    )
    .bind(today)
    .bind(&plan_ids)
    .bind(SERVICES_PER_CUSTOMER)
    .execute(pool)
    .await
    .expect("services");
    run_sql(
        pool,
        "INSERT INTO radcheck (username, attribute, op, value) \
         SELECT username, 'Cleartext-Password', ':=', password FROM services \
         UNION ALL SELECT username, 'Simultaneous-Use', ':=', '1' FROM services",
    )
    .await;
    run_sql(
        pool,
        "INSERT INTO radusergroup (username, groupname, priority) \
         SELECT username, 'plan-' || plan_id, 1 FROM services",
    )
    .await;
    run_sql(pool, "ANALYZE").await;

    type ServiceRow = (i64, i64, i64, Option<String>, Option<i32>, bool);
    let rows: Vec<ServiceRow> = sqlx::query_as(
        "SELECT s.id, s.customer_id, s.plan_id, c.billing_method, c.billing_day, c.tax_exempt \
         FROM services s JOIN customers c ON c.id = s.customer_id ORDER BY s.id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(rows.len() as i64, SERVICES);
    let mut services = BTreeMap::new();
    let mut invoices: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for (service, customer, plan_id, method, day, exempt) in rows {
        let index = plan_ids.iter().position(|p| *p == plan_id).unwrap();
        let plan = &PLANS[index];
        let charge = expected_charge(method.as_deref(), day, today, plan);
        let invoice = invoices.entry(customer).or_default();
        for amount in [charge.3, plan.activation_fee] {
            if amount != 0 {
                let (net, tax) = taxed(amount, plan.tax, exempt);
                invoice.0 += net;
                invoice.1 += tax;
            }
        }
        services.insert(service, (customer, index, charge));
    }
    println!(
        "seeded {CUSTOMERS} customers with {SERVICES} active services in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Seeded {
        plan_ids,
        services,
        invoices,
    }
}

// ---------------------------------------------------------------------------------------
// Runs.

async fn start_run(core: &support::Core, date: NaiveDate, dry_run: bool) -> BillingRun {
    let request = RunBillingRequest {
        date: date.to_string(),
        dry_run,
        preview_limit: dry_run.then_some(10),
    };
    billing(core)
        .await
        .run_billing(authorized(request))
        .await
        .expect("RunBilling")
        .into_inner()
        .billing_run
        .expect("a billing run")
}

async fn all_runs(core: &support::Core) -> Vec<BillingRun> {
    let request = ListBillingRunsRequest {
        page: Some(PageRequest {
            page: 1,
            per_page: 100,
        }),
    };
    billing(core)
        .await
        .list_billing_runs(authorized(request))
        .await
        .expect("ListBillingRuns")
        .into_inner()
        .billing_runs
}

async fn get_run(core: &support::Core, id: i64) -> BillingRun {
    billing(core)
        .await
        .get_billing_run(authorized(GetBillingRunRequest { id }))
        .await
        .expect("GetBillingRun")
        .into_inner()
        .billing_run
        .expect("a billing run")
}

fn status(run: &BillingRun) -> BillingRunStatus {
    BillingRunStatus::try_from(run.status).unwrap_or(BillingRunStatus::Unspecified)
}

fn finished(run: &BillingRun) -> bool {
    matches!(
        status(run),
        BillingRunStatus::Completed | BillingRunStatus::Failed
    )
}

fn minor(money: &Option<lastmile_proto::v1::Money>) -> i64 {
    money.as_ref().map_or(0, |m| m.minor_units)
}

async fn scalar(pool: &PgPool, text: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(text.to_owned()))
        .fetch_one(pool)
        .await
        .expect(text)
}

/// Whether a job of `jobs` is being run by the core `pid`, or none of them is left to run.
async fn billing_under_way(pool: &PgPool, jobs: &[i64], pid: u32) -> bool {
    let rows: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT status, lease_owner FROM jobs WHERE id = ANY($1)")
            .bind(jobs)
            .fetch_all(pool)
            .await
            .unwrap();
    let here = format!(":{pid}:");
    let running_here = rows
        .iter()
        .any(|(s, owner)| s == "running" && owner.as_ref().is_some_and(|o| o.contains(&here)));
    let all_done = rows.iter().all(|(s, _)| s == "succeeded" || s == "dead");
    running_here || all_done
}

/// An invoice with what its lines and events say about it.
#[derive(Debug, sqlx::FromRow)]
struct InvoiceCheck {
    id: i64,
    customer_id: i64,
    kind: String,
    status: String,
    invoice_type: String,
    subtotal_minor: i64,
    tax_minor: i64,
    total_minor: i64,
    issue_date: Option<NaiveDate>,
    due_date: Option<NaiveDate>,
    lines_net: i64,
    lines_tax: i64,
    period_of_lines: bool,
    generated: i64,
    finalized: i64,
    generated_first: bool,
}

/// Polls run `id` until it has finished.
async fn finished_run(core: &support::Core, id: i64, limit: Duration) -> BillingRun {
    let started = Instant::now();
    loop {
        let run = get_run(core, id).await;
        if finished(&run) {
            return run;
        }
        assert!(
            started.elapsed() < limit,
            "run {id} not finished in {limit:?}: {run:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How long an uninterrupted run of the same data takes, from the moment its job is seen
/// running to its completion: on a database of its own, dropped afterwards.
async fn calibrate(today: NaiveDate) -> u64 {
    let database = Database::create().await;
    let core = start_core(&database).await;
    let pool = database.pool().await;
    seed(&core, &pool, today).await;
    let run = start_run(&core, today, false).await;
    let jobs = [run.job_id.expect("a queued run names its job")];
    let pid = core.pid();
    until(
        Duration::from_secs(60),
        "the calibration run starts",
        async || billing_under_way(&pool, &jobs, pid).await,
    )
    .await;
    let started = Instant::now();
    let run = finished_run(&core, run.id, Duration::from_secs(600)).await;
    let elapsed = started.elapsed().as_millis() as u64;
    assert_eq!(status(&run), BillingRunStatus::Completed, "{run:?}");
    assert_eq!(run.charges_count, SERVICES, "{run:?}");
    println!(
        "calibration: an uninterrupted run of {SERVICES} services takes {elapsed} ms \
         ({} ms by the run)",
        run.duration_ms
    );
    pool.close().await;
    core.stop();
    database.drop_it().await;
    elapsed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "set LASTMILE_TEST_POSTGRES_URL to run on PostgreSQL"
)]
async fn a_billing_run_killed_three_times_charges_every_service_period_once() {
    let today = Utc::now().date_naive();
    let max_wait = match env_number("BILLING_CRASH_MAX_WAIT_MS") {
        Some(ms) => ms,
        None => calibrate(today).await,
    };
    let database = Database::create().await;
    let mut core = start_core(&database).await;
    let pool = database.pool().await;
    let seeded = seed(&core, &pool, today).await;
    let expected_total: i64 = seeded.invoices.values().map(|(n, t)| n + t).sum();

    // A dry run writes nothing but its own row.
    let started = Instant::now();
    let dry = start_run(&core, today, true).await;
    let dry_ms = started.elapsed().as_millis() as u64;
    assert_eq!(status(&dry), BillingRunStatus::Completed, "{dry:?}");
    assert!(dry.dry_run);
    assert_eq!(
        (
            dry.customers_count,
            dry.invoices_count,
            dry.credit_notes_count
        ),
        (CUSTOMERS, CUSTOMERS, 0),
        "dry run counts"
    );
    assert_eq!(dry.charges_count, SERVICES, "dry run charges");
    assert_eq!(dry.invoices.len(), 10, "preview_limit 10");
    assert!(dry.preview_truncated);
    assert_eq!(minor(&dry.total_amount), expected_total, "dry run total");
    for written in [
        "SELECT COUNT(*) FROM invoices",
        "SELECT COUNT(*) FROM charges",
        "SELECT COUNT(*) FROM ledger_entries",
        "SELECT COUNT(*) FROM events WHERE type LIKE 'invoice.%'",
    ] {
        assert_eq!(
            scalar(&pool, written).await,
            0,
            "a dry run wrote: {written}"
        );
    }

    let seed = env_number("BILLING_CRASH_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    });
    println!(
        "dry run of {SERVICES} services: {dry_ms} ms; kills up to \
         BILLING_CRASH_MAX_WAIT_MS={max_wait} ms into a run (scaled by the share of periods \
         left to charge); BILLING_CRASH_SEED={seed}"
    );
    let mut random = Random(seed);
    let mut jobs = Vec::new();
    let mut mid_run_kills = 0;
    for round in 1..=KILLS {
        let run = start_run(&core, today, false).await;
        assert_eq!(status(&run), BillingRunStatus::Queued, "{run:?}");
        assert!(!run.dry_run);
        jobs.push(run.job_id.expect("a queued run names its job"));
        let pid = core.pid();
        until(
            Duration::from_secs(60),
            "a billing job runs on the restarted core",
            async || billing_under_way(&pool, &jobs, pid).await,
        )
        .await;
        // A resumed run goes quickly over what is charged: aim within what is left.
        let left = SERVICES - scalar(&pool, "SELECT COUNT(*) FROM charges").await;
        let wait = random.up_to((max_wait * left as u64 / SERVICES as u64).max(20));
        tokio::time::sleep(Duration::from_millis(wait)).await;
        core.kill_9();
        let charged = scalar(&pool, "SELECT COUNT(*) FROM charges").await;
        if 0 < charged && charged < SERVICES {
            mid_run_kills += 1;
        }
        println!(
            "kill {round}: {wait} ms after the run was seen under way; \
             {charged}/{SERVICES} periods charged"
        );
        core = start_core(&database).await;
    }

    // The interrupted runs finish on the last core.
    let started = Instant::now();
    let runs = loop {
        let runs: Vec<BillingRun> = all_runs(&core)
            .await
            .into_iter()
            .filter(|r| !r.dry_run)
            .collect();
        if runs.len() == KILLS && runs.iter().all(finished) {
            break runs;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "runs not finished in 600 s: {runs:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    println!(
        "runs finished {:.1} s after the last restart; {mid_run_kills} of {KILLS} kills landed \
         while periods were still to charge",
        started.elapsed().as_secs_f64()
    );
    for run in &runs {
        println!(
            "run {}: {:?}, attempts {}, {} invoices, {} charges, {} lines, total {}, {} ms{}",
            run.id,
            status(run),
            run.attempts,
            run.invoices_count,
            run.charges_count,
            run.lines_count,
            minor(&run.total_amount),
            run.duration_ms,
            if run.error.is_empty() {
                String::new()
            } else {
                format!(", error: {}", run.error)
            }
        );
    }
    for run in &runs {
        assert_eq!(status(run), BillingRunStatus::Completed, "{run:?}");
        assert!(run.error.is_empty(), "{run:?}");
    }
    let sum = |f: fn(&BillingRun) -> i64| runs.iter().map(f).sum::<i64>();
    let invoices_written = scalar(&pool, "SELECT COUNT(*) FROM invoices").await;
    let lines_written = scalar(&pool, "SELECT COUNT(*) FROM invoice_lines").await;
    let total_written = scalar(
        &pool,
        "SELECT COALESCE(SUM(total_minor), 0)::bigint FROM invoices",
    )
    .await;

    // One more run for the same date: nothing left to charge.
    let last = start_run(&core, today, false).await;
    let last = finished_run(&core, last.id, Duration::from_secs(300)).await;
    assert_eq!(status(&last), BillingRunStatus::Completed, "{last:?}");
    assert_eq!(
        (
            last.invoices_count,
            last.credit_notes_count,
            last.charges_count,
            last.lines_count,
            minor(&last.total_amount)
        ),
        (0, 0, 0, 0, 0),
        "a run after everything was charged charges nothing: {last:?}"
    );

    // -----------------------------------------------------------------------------------
    // What the database holds.
    let (charges, charged_services): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT service_id) FROM charges")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (charges, charged_services),
        (SERVICES, SERVICES),
        "one charge per service"
    );
    let bad_lines: Vec<(Option<i64>, i64)> = sqlx::query_as(
        "SELECT service_id, COUNT(*) FROM invoice_lines WHERE kind IN ('recurring', 'proration') \
         GROUP BY service_id HAVING COUNT(*) <> 1 OR service_id IS NULL LIMIT 10",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        bad_lines.is_empty(),
        "services with other than one recurring/proration line: {bad_lines:?}"
    );
    let lined_services = scalar(
        &pool,
        "SELECT COUNT(DISTINCT service_id) FROM invoice_lines \
         WHERE kind IN ('recurring', 'proration')",
    )
    .await;
    assert_eq!(lined_services, SERVICES, "every service has its line");
    let bad_activation: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT s.id, COUNT(l.id) FROM services s \
         JOIN plans p ON p.id = s.plan_id \
         LEFT JOIN invoice_lines l ON l.service_id = s.id AND l.kind = 'activation' \
         GROUP BY s.id, p.activation_fee_minor \
         HAVING COUNT(l.id) <> CASE WHEN p.activation_fee_minor > 0 THEN 1 ELSE 0 END LIMIT 10",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        bad_activation.is_empty(),
        "services with a wrong number of activation lines: {bad_activation:?}"
    );

    // Each charge as the spec computes it, on an invoice of its customer that carries
    // its line for the same days.
    type ChargeRow = (i64, i64, i64, NaiveDate, NaiveDate, i32, i64, i64, i64);
    let rows: Vec<ChargeRow> = sqlx::query_as(
        "SELECT ch.service_id, ch.customer_id, ch.plan_id, ch.period_start, ch.period_end, \
         ch.period_days, ch.fee_minor, ch.amount_minor, i.customer_id \
         FROM charges ch JOIN invoices i ON i.id = ch.invoice_id ORDER BY ch.service_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut wrong = Vec::new();
    for (service, customer, plan, start, end, days, fee, amount, invoiced) in rows {
        let (c, index, expected) = seeded.services[&service];
        let plan_fee = PLANS[index].fee;
        let got = (
            customer,
            invoiced,
            plan,
            start,
            end,
            i64::from(days),
            fee,
            amount,
        );
        let want = (
            c,
            c,
            seeded.plan_ids[index],
            expected.0,
            expected.1,
            expected.2,
            plan_fee,
            expected.3,
        );
        if got != want {
            wrong.push(format!("service {service}: {got:?}, expected {want:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} charges differ from the spec, e.g. {:#?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
    type LineRow = (
        i64,
        i64,
        String,
        Option<NaiveDate>,
        Option<NaiveDate>,
        i64,
        i64,
        i64,
        i64,
        i64,
    );
    let lines: Vec<LineRow> = sqlx::query_as(
        "SELECT l.service_id, ch.invoice_id, l.kind, l.period_start, l.period_end, \
         l.proration_micro, l.net_minor, l.tax_minor, l.unit_minor, l.invoice_id \
         FROM invoice_lines l JOIN charges ch ON ch.service_id = l.service_id \
         WHERE l.kind IN ('recurring', 'proration') ORDER BY l.service_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let exempt: HashMap<i64, bool> =
        sqlx::query_as::<_, (i64, bool)>("SELECT id, tax_exempt FROM customers")
            .fetch_all(&pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
    let mut wrong = Vec::new();
    for (service, charge_invoice, kind, start, end, micro, net, tax, unit, invoice) in lines {
        let (customer, index, expected) = seeded.services[&service];
        let plan = &PLANS[index];
        let (want_net, want_tax) = taxed(expected.3, plan.tax, exempt[&customer]);
        let got = (
            invoice,
            kind.as_str(),
            start,
            end,
            micro == 1_000_000,
            net,
            tax,
            unit,
        );
        let want = (
            charge_invoice,
            if expected.4 { "proration" } else { "recurring" },
            Some(expected.0),
            expected.1.pred_opt(),
            !expected.4,
            want_net,
            want_tax,
            plan.fee,
        );
        if got != want {
            wrong.push(format!("service {service}: {got:?}, expected {want:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} recurring/proration lines differ from the spec, e.g. {:#?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );

    // One invoice per customer, issued today and due after the payment terms, recurring,
    // adding up to its lines and spanning their days, announced once (generated, then
    // finalized).
    let per_customer: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT c.id, COUNT(i.id) FROM customers c LEFT JOIN invoices i ON i.customer_id = c.id \
         GROUP BY c.id HAVING COUNT(i.id) <> 1 LIMIT 10",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        per_customer.is_empty(),
        "customers without exactly one invoice: {per_customer:?}"
    );
    let invoices: Vec<InvoiceCheck> = sqlx::query_as(
        "SELECT i.id, i.customer_id, i.kind, i.status, i.invoice_type, i.subtotal_minor, \
         i.tax_minor, i.total_minor, i.issue_date, i.due_date, \
         COALESCE(l.net, 0)::bigint AS lines_net, COALESCE(l.tax, 0)::bigint AS lines_tax, \
         i.period_start IS NOT DISTINCT FROM l.first_day \
           AND i.period_end IS NOT DISTINCT FROM l.last_day AS period_of_lines, \
         (SELECT COUNT(*) FROM events e WHERE e.resource_type = 'invoice' \
           AND e.resource_id = i.id::text AND e.type = 'invoice.generated') AS generated, \
         (SELECT COUNT(*) FROM events e WHERE e.resource_type = 'invoice' \
           AND e.resource_id = i.id::text AND e.type = 'invoice.finalized') AS finalized, \
         COALESCE((SELECT MIN(e.id) FROM events e WHERE e.resource_type = 'invoice' \
           AND e.resource_id = i.id::text AND e.type = 'invoice.generated') \
         < (SELECT MIN(e.id) FROM events e WHERE e.resource_type = 'invoice' \
           AND e.resource_id = i.id::text AND e.type = 'invoice.finalized'), false) \
           AS generated_first \
         FROM invoices i LEFT JOIN (SELECT invoice_id, SUM(net_minor) AS net, \
           SUM(tax_minor) AS tax, MIN(period_start) AS first_day, MAX(period_end) AS last_day \
           FROM invoice_lines GROUP BY invoice_id) l ON l.invoice_id = i.id ORDER BY i.id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let terms = i64::from(
        sqlx::query_scalar::<_, i32>("SELECT payment_terms_days FROM billing_settings")
            .fetch_one(&pool)
            .await
            .unwrap(),
    );
    let mut wrong = Vec::new();
    for i in &invoices {
        let want = seeded.invoices[&i.customer_id];
        let issued_today = i.issue_date.is_some_and(|d| d >= today);
        let due = i
            .issue_date
            .zip(i.due_date)
            .map(|(issue, due)| (due - issue).num_days());
        let got = (
            (i.kind.as_str(), i.status.as_str(), i.invoice_type.as_str()),
            (i.subtotal_minor, i.tax_minor, i.total_minor),
            (i.lines_net, i.lines_tax),
            (issued_today, due, i.period_of_lines),
            (i.generated, i.finalized, i.generated_first),
        );
        let expected = (
            ("invoice", "open", "recurring"),
            (want.0, want.1, want.0 + want.1),
            want,
            (true, Some(terms), true),
            (1, 1, true),
        );
        if got != expected {
            wrong.push(format!(
                "invoice {} of customer {}: {got:?}, expected {expected:?}",
                i.id, i.customer_id
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} invoices differ, e.g. {:#?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );

    // Gapless numbers: 1..N in each series and year, no duplicate, the counter at N.
    type Numbering = (
        Option<String>,
        Option<i32>,
        i64,
        i64,
        Option<i64>,
        Option<i64>,
        i64,
    );
    let numbering: Vec<Numbering> = sqlx::query_as(
        "SELECT i.series, i.year, COUNT(*), COUNT(DISTINCT i.sequence), MIN(i.sequence), \
             MAX(i.sequence), COUNT(DISTINCT i.number) FROM invoices i \
             GROUP BY i.series, i.year ORDER BY 1, 2",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for (series, year, count, distinct, min, max, numbers) in &numbering {
        assert!(
            series.is_some() && year.is_some(),
            "unnumbered: {numbering:?}"
        );
        assert_eq!(
            (*distinct, *min, *max, *numbers),
            (*count, Some(1), Some(*count), *count),
            "numbers of {series:?}/{year:?} are not 1..{count} without duplicates"
        );
        let counter: i64 = sqlx::query_scalar(
            "SELECT last_number FROM invoice_counters WHERE series = $1 AND year = $2",
        )
        .bind(series)
        .bind(year)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(counter, *count, "the counter of {series:?}/{year:?}");
    }

    // Balances: minus the invoices, equal to the last ledger entry's; debits = totals.
    type Balance = (i64, i64, i64, Option<i64>, i64, i64);
    let balances: Vec<Balance> = sqlx::query_as(
        "SELECT c.id, c.balance_minor, \
         COALESCE((SELECT SUM(total_minor) FROM invoices i WHERE i.customer_id = c.id), 0)::bigint, \
         (SELECT balance_minor FROM ledger_entries e WHERE e.customer_id = c.id \
           ORDER BY e.id DESC LIMIT 1), \
         COALESCE((SELECT SUM(debit_minor) - SUM(credit_minor) FROM ledger_entries e \
           WHERE e.customer_id = c.id), 0)::bigint, \
         (SELECT COUNT(*) FROM ledger_entries e WHERE e.customer_id = c.id) \
         FROM customers c ORDER BY c.id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut wrong = Vec::new();
    for (customer, balance, invoiced, last_entry, net_debits, entries) in &balances {
        let got = (*balance, *last_entry, *net_debits, *entries);
        let want = (-invoiced, Some(-invoiced), *invoiced, 1);
        if got != want {
            wrong.push(format!(
                "customer {customer}: (balance, last entry, debits - credits, entries) \
                 {got:?}, expected {want:?}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} balances differ, e.g. {:#?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
    let (debits, totals): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COALESCE(SUM(debit_minor), 0)::bigint FROM ledger_entries), \
         (SELECT COALESCE(SUM(total_minor), 0)::bigint FROM invoices)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        debits, totals,
        "the ledger's debits are the invoices' totals"
    );
    assert_eq!(totals, expected_total, "what was invoiced");
    let per_invoice_entries: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT i.id, COUNT(e.id) FROM invoices i \
         LEFT JOIN ledger_entries e ON e.invoice_id = i.id AND e.kind = 'invoice' \
         AND e.debit_minor = i.total_minor GROUP BY i.id HAVING COUNT(e.id) <> 1 LIMIT 10",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        per_invoice_entries.is_empty(),
        "invoices without exactly one debit of their total: {per_invoice_entries:?}"
    );

    // The runs' counts add up to what they wrote, whatever interrupted them.
    assert_eq!(
        (
            sum(|r| r.invoices_count),
            sum(|r| r.charges_count),
            sum(|r| r.lines_count),
            sum(|r| minor(&r.total_amount)),
        ),
        (invoices_written, SERVICES, lines_written, total_written),
        "the runs' counts and totals against the invoices written"
    );
    assert_eq!(invoices_written, CUSTOMERS);
    let unowned = scalar(
        &pool,
        "SELECT COUNT(*) FROM charges WHERE run_id IS NULL \
         OR run_id NOT IN (SELECT id FROM billing_runs WHERE NOT dry_run)",
    )
    .await;
    assert_eq!(unowned, 0, "every charge names the run that made it");

    pool.close().await;
    core.stop();
    database.drop_it().await;
}

/// A CI run must run the test above: without `LASTMILE_TEST_POSTGRES_URL` it would be
/// ignored, so under `CI` this fails instead.
#[test]
fn ci_runs_the_billing_crash_test() {
    let ci = std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"));
    if !ci {
        return;
    }
    let at_run_time =
        std::env::var("LASTMILE_TEST_POSTGRES_URL").is_ok_and(|url| !url.trim().is_empty());
    assert!(
        cfg!(postgres_tests) && at_run_time,
        "CI is set but LASTMILE_TEST_POSTGRES_URL is not (at build time: {}, now: \
         {at_run_time}): the billing crash test would not run",
        cfg!(postgres_tests),
    );
}

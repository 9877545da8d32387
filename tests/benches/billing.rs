//! A recurring billing run over many customers on PostgreSQL, measured from outside: a
//! real `lastmile core` process (the release binary) on a fresh database into which
//! `BENCH_CUSTOMERS` customers (default 100,000), each with one active service activated
//! today, are bulk-loaded by SQL (billing methods cycle and prorata, billing days 1–28,
//! one plan with an exclusive tax rate, so every customer gets one invoice of one taxed
//! line). Then, through gRPC:
//!
//! 1. **Dry run** (`RunBilling`, dry_run): the time until its answer, with the counts and
//!    totals of everything it would issue.
//! 2. **Real run** on a freshly started core: `RunBilling` answers with the queued run,
//!    `GetBillingRun` is polled every 50 ms until it completes: the total time, invoices/s,
//!    and the core process's resident set while it runs (`/proc/<pid>/status` sampled every
//!    20 ms; `VmHWM` is the peak since the process started, which is just before the run).
//! 3. **Raw inserts** beside it: the same number of invoice and line rows as the run wrote
//!    (copies of them, under a series of their own) in one transaction of two statements,
//!    `INSERT INTO invoices … SELECT … FROM UNNEST(…)` and `INSERT INTO invoice_lines …
//!    FROM UNNEST(…)`, then deleted: what the bare rows cost, and the run's speed as a
//!    percentage of that. Three rounds, as they swing with checkpoints and vacuum; the
//!    median is the reference.
//!
//! Figures with their targets (≥ 5,000 invoices/s, run ≤ 20 s, ≥ 30 % of raw, peak RSS
//! ≤ 150 MB), not a pass/fail test. The machine is shared by the core, PostgreSQL and the
//! bench: its CPUs and load average are printed.
//!
//! ```sh
//! cargo build --release -p lastmile
//! LASTMILE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!     cargo bench -p lastmile-tests --bench billing
//! ```
//!
//! `LASTMILE_BIN` names another binary (default `$CARGO_TARGET_DIR/release/lastmile`, else
//! `target/release/lastmile` of the workspace; that default must be newer than the sources).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use chrono::{NaiveDate, Utc};
use lastmile_proto::v1::billing_service_client::BillingServiceClient;
use lastmile_proto::v1::plan_service_client::PlanServiceClient;
use lastmile_proto::v1::{
    BillingRun, BillingRunStatus, CreatePlanRequest, GetBillingRunRequest, Money, PlanInput,
    RunBillingRequest,
};
use sqlx::PgPool;
use tonic::transport::{Channel, Endpoint};

const KEY: &str = "lm_billing_bench_admin_key_0123456789";
/// How often the core's `/proc/<pid>/status` is read during the run.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);
/// 16 %, in ten-thousandths of a percent.
const VAT: i64 = 160_000;

const TARGET_INVOICES_PER_SECOND: f64 = 5_000.0;
/// Rounds of the raw inserts (their median is the reference).
const RAW_ROUNDS: usize = 3;
const TARGET_RUN_SECONDS: f64 = 20.0;
const TARGET_PERCENT_OF_RAW: f64 = 30.0;
const TARGET_PEAK_MB: f64 = 150.0;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn env_text(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// The binary, its database and its process.

/// The newest modification time of the files under `dir`.
fn newest(dir: &Path) -> Option<SystemTime> {
    let mut newest = None;
    for entry in fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let time = if path.is_dir() {
            self::newest(&path)
        } else {
            entry.metadata().ok()?.modified().ok()
        };
        newest = newest.max(time);
    }
    newest
}

/// The release binary: `LASTMILE_BIN` as given, or the workspace's, refused when a source
/// file is newer than it.
fn binary() -> anyhow::Result<PathBuf> {
    if let Some(bin) = env_text("LASTMILE_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target =
        env_text("CARGO_TARGET_DIR").map_or_else(|| workspace.join("target"), PathBuf::from);
    let bin = target.join("release/lastmile");
    let built = fs::metadata(&bin)
        .and_then(|m| m.modified())
        .with_context(|| {
            format!(
                "no lastmile binary at {} (build it with `cargo build --release -p lastmile` \
                 or set LASTMILE_BIN)",
                bin.display()
            )
        })?;
    let sources = [
        "src",
        "core-service/src",
        "rest-edge/src",
        "lastmile/src",
        "proto",
        "migrations",
    ]
    .iter()
    .filter_map(|dir| newest(&workspace.join(dir)))
    .max();
    if sources.is_some_and(|s| s > built) {
        bail!(
            "{} is older than the sources: rebuild it with `cargo build --release -p lastmile` \
             (or name a binary with LASTMILE_BIN)",
            bin.display()
        );
    }
    Ok(bin)
}

/// A fresh database on the configured server, dropped at the end.
struct Database {
    admin_url: String,
    name: String,
    url: String,
}

impl Database {
    async fn create(admin_url: String) -> anyhow::Result<Database> {
        let name = format!("lastmile_billing_bench_{}", uuid::Uuid::new_v4().simple());
        let admin = PgPool::connect(&admin_url)
            .await
            .context("connect to LASTMILE_TEST_POSTGRES_URL")?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .context("create the bench database")?;
        admin.close().await;
        let (base, query) = match admin_url.split_once('?') {
            Some((base, query)) => (base, format!("?{query}")),
            None => (admin_url.as_str(), String::new()),
        };
        let authority = base.find("://").map_or(0, |i| i + 3);
        let path = base[authority..]
            .find('/')
            .map_or(base.len(), |i| authority + i);
        let url = format!("{}/{name}{query}", &base[..path]);
        Ok(Database {
            admin_url,
            name,
            url,
        })
    }

    async fn drop_it(self) {
        if let Ok(admin) = PgPool::connect(&self.admin_url).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            )))
            .execute(&admin)
            .await;
            admin.close().await;
        }
    }
}

/// Figures of `/proc/<pid>/status`, in kB.
#[derive(Debug, Clone, Copy, Default)]
struct Memory {
    rss_kb: u64,
    hwm_kb: u64,
}

fn memory(pid: u32) -> Option<Memory> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let mut memory = Memory::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let number = || {
            value
                .split_whitespace()
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        match key {
            "VmRSS" => memory.rss_kb = number(),
            "VmHWM" => memory.hwm_kb = number(),
            _ => {}
        }
    }
    Some(memory)
}

/// A running `lastmile core`.
struct Core {
    child: Child,
    grpc: String,
    log: PathBuf,
}

impl Core {
    async fn start(bin: &Path, database: &Database, log: PathBuf) -> anyhow::Result<Core> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let grpc = format!("127.0.0.1:{port}");
        let file = fs::File::create(&log)?;
        let child = Command::new(bin)
            .arg("core")
            .args(["--database-url", &database.url])
            .args(["--grpc-addr", &grpc])
            .args(["--bootstrap-api-key", KEY])
            .args(["--job-poll-ms", "100"])
            // Only the runs the bench starts; the days are UTC days.
            .env("LASTMILE_BILLING_RUN_AT", "off")
            .env("LASTMILE_TIME_ZONE", "UTC")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("start {}", bin.display()))?;
        let mut core = Core {
            child,
            grpc: format!("http://{grpc}"),
            log,
        };
        let started = Instant::now();
        loop {
            if let Some(exit) = core.child.try_wait()? {
                bail!("lastmile core exited with {exit}:\n{}", core.log_tail());
            }
            if Endpoint::from_shared(core.grpc.clone())?
                .connect()
                .await
                .is_ok()
            {
                return Ok(core);
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!("lastmile core not up after 60 s:\n{}", core.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    async fn channel(&self) -> anyhow::Result<Channel> {
        Ok(Endpoint::from_shared(self.grpc.clone())?.connect().await?)
    }

    async fn billing(&self) -> anyhow::Result<BillingServiceClient<Channel>> {
        Ok(BillingServiceClient::new(self.channel().await?).max_decoding_message_size(64 << 20))
    }

    /// SIGTERM, then SIGKILL after 20 s.
    async fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn authorized<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("x-api-key", KEY.parse().expect("ASCII key"));
    request
}

// ---------------------------------------------------------------------------------------
// The data.

/// A taxed plan (through gRPC) and `count` customers with one active service each (with
/// the RADIUS rows the product writes for a service), activated `today`, bulk-loaded.
async fn seed(core: &Core, pool: &PgPool, count: i64, today: NaiveDate) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO tax_rates (name, rate, inclusive, country, region, active, description, \
         created_at, updated_at) VALUES ('VAT', $1, false, '', '', true, '', now(), now())",
    )
    .bind(VAT)
    .execute(pool)
    .await?;
    // The plan through the API, with its RADIUS group rows.
    let plan = PlanServiceClient::new(core.channel().await?)
        .create_plan(authorized(CreatePlanRequest {
            plan: Some(PlanInput {
                name: "Bench 20/5".into(),
                speed_download_mbps: "20".into(),
                speed_upload_mbps: "5".into(),
                monthly_fee: "30.00".into(),
                currency: "USD".into(),
                billing_period_months: 1,
                tax_class: Some("VAT".into()),
                ..PlanInput::default()
            }),
            validate_only: false,
        }))
        .await
        .context("CreatePlan")?
        .into_inner()
        .plan
        .context("CreatePlan answered no plan")?
        .id;
    // A fixed argon2id PHC string: no hashing.
    sqlx::query(
        "INSERT INTO customers (portal_id, first_name, last_name, email, phone, \
         portal_password_hash, street, city, country, auto_suspension, suspend_after_days, \
         status, currency, billing_method, billing_day, created_at, updated_at, uuid) \
         SELECT (60000000 + g)::text, 'Customer' || g, 'Bench', 'bench' || g || '@example.com', \
         '+1333' || lpad(g::text, 7, '0'), \
         '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA', 'Main Street ' || g, 'Nairobi', \
         'KE', true, 14, 'active', 'USD', (ARRAY['cycle', 'prorata'])[1 + g % 2], 1 + g % 28, \
         now(), now(), gen_random_uuid()::text FROM generate_series(1, $1) AS g",
    )
    .bind(count)
    .execute(pool)
    .await?;
    sqlx::query(
        "INSERT INTO services (customer_id, plan_id, status, username, password, activated_at, \
         created_at, updated_at) \
         SELECT id, $1, 'active', 'bench' || id, 'pw' || id, \
         $2::date::timestamp AT TIME ZONE 'UTC', now(), now() FROM customers",
    )
    .bind(plan)
    .bind(today)
    .execute(pool)
    .await?;
    sqlx::query(
        "INSERT INTO radcheck (username, attribute, op, value) \
         SELECT username, 'Cleartext-Password', ':=', password FROM services \
         UNION ALL SELECT username, 'Simultaneous-Use', ':=', '1' FROM services",
    )
    .execute(pool)
    .await?;
    sqlx::query(
        "INSERT INTO radusergroup (username, groupname, priority) \
         SELECT username, 'plan-' || plan_id, 1 FROM services",
    )
    .execute(pool)
    .await?;
    sqlx::query("ANALYZE").execute(pool).await?;
    Ok(())
}

fn minor(money: &Option<Money>) -> i64 {
    money.as_ref().map_or(0, |m| m.minor_units)
}

fn status(run: &BillingRun) -> BillingRunStatus {
    BillingRunStatus::try_from(run.status).unwrap_or(BillingRunStatus::Unspecified)
}

fn describe(run: &BillingRun) -> String {
    format!(
        "{} customers, {} invoices, {} credit notes, {} lines, {} charges, {} skipped, total {:.2} {}",
        run.customers_count,
        run.invoices_count,
        run.credit_notes_count,
        run.lines_count,
        run.charges_count,
        run.skipped_count,
        minor(&run.total_amount) as f64 / 100.0,
        run.currency
    )
}

async fn run_billing(core: &Core, date: NaiveDate, dry_run: bool) -> anyhow::Result<BillingRun> {
    core.billing()
        .await?
        .run_billing(authorized(RunBillingRequest {
            date: date.to_string(),
            dry_run,
            preview_limit: None,
        }))
        .await
        .context("RunBilling")?
        .into_inner()
        .billing_run
        .context("RunBilling answered no run")
}

/// 1. The dry run.
async fn dry_run(core: &Core, today: NaiveDate) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let run = run_billing(core, today, true).await?;
    let elapsed = started.elapsed();
    anyhow::ensure!(
        status(&run) == BillingRunStatus::Completed,
        "the dry run did not complete: {run:?}"
    );
    println!(
        "dry run: {:.2} s ({} ms by the run) — would issue {}; preview of {}",
        elapsed.as_secs_f64(),
        run.duration_ms,
        describe(&run),
        run.invoices.len()
    );
    Ok(elapsed)
}

struct RealRun {
    elapsed: Duration,
    run: BillingRun,
    idle: Memory,
    peak_hwm_kb: u64,
    max_rss_kb: u64,
}

/// 2. The real run, polled to completion, the core's memory sampled meanwhile.
async fn real_run(core: &Core, today: NaiveDate) -> anyhow::Result<RealRun> {
    let pid = core.pid();
    let idle = memory(pid).unwrap_or_default();
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let mut max_rss = 0;
            let mut ticker = tokio::time::interval(SAMPLE_EVERY);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            while sampling.load(Ordering::Relaxed) {
                ticker.tick().await;
                if let Some(m) = memory(pid) {
                    max_rss = max_rss.max(m.rss_kb);
                }
            }
            max_rss
        })
    };
    let started = Instant::now();
    let queued = run_billing(core, today, false).await?;
    anyhow::ensure!(
        status(&queued) == BillingRunStatus::Queued && queued.job_id.is_some(),
        "a real run answers queued with its job: {queued:?}"
    );
    let mut client = core.billing().await?;
    let run = loop {
        let run = client
            .get_billing_run(authorized(GetBillingRunRequest { id: queued.id }))
            .await
            .context("GetBillingRun")?
            .into_inner()
            .billing_run
            .context("GetBillingRun answered no run")?;
        if matches!(
            status(&run),
            BillingRunStatus::Completed | BillingRunStatus::Failed
        ) {
            break run;
        }
        if started.elapsed() > Duration::from_secs(1800) {
            bail!("the run has not finished after 30 minutes: {run:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let elapsed = started.elapsed();
    sampling.store(false, Ordering::Relaxed);
    let max_rss_kb = sampler.await?;
    let peak_hwm_kb = memory(pid).unwrap_or_default().hwm_kb;
    anyhow::ensure!(
        status(&run) == BillingRunStatus::Completed,
        "the run failed: {run:?}"
    );
    println!(
        "real run: {:.2} s from RunBilling to completed seen ({} ms by the run, {} attempt(s)) — \
         issued {}",
        elapsed.as_secs_f64(),
        run.duration_ms,
        run.attempts,
        describe(&run)
    );
    Ok(RealRun {
        elapsed,
        run,
        idle,
        peak_hwm_kb,
        max_rss_kb,
    })
}

/// What the run wrote, as column arrays.
#[derive(Default)]
struct Copies {
    invoice_ids: Vec<i64>,
    customer_ids: Vec<i64>,
    customer_names: Vec<String>,
    customer_addresses: Vec<String>,
    issue_dates: Vec<NaiveDate>,
    due_dates: Vec<NaiveDate>,
    period_starts: Vec<NaiveDate>,
    period_ends: Vec<NaiveDate>,
    subtotals: Vec<i64>,
    taxes: Vec<i64>,
    totals: Vec<i64>,
    /// Lines: index of their invoice in the arrays above, and their columns.
    line_invoice: Vec<i32>,
    positions: Vec<i32>,
    kinds: Vec<String>,
    service_ids: Vec<Option<i64>>,
    descriptions: Vec<String>,
    quantities: Vec<i64>,
    units: Vec<i64>,
    line_starts: Vec<Option<NaiveDate>>,
    line_ends: Vec<Option<NaiveDate>>,
    factors: Vec<i64>,
    nets: Vec<i64>,
    tax_rate_ids: Vec<Option<i64>>,
    tax_names: Vec<String>,
    tax_rates: Vec<i64>,
    inclusive: Vec<bool>,
    line_taxes: Vec<i64>,
}

type InvoiceRow = (
    i64,
    i64,
    String,
    String,
    Option<NaiveDate>,
    Option<NaiveDate>,
    Option<NaiveDate>,
    Option<NaiveDate>,
    i64,
    i64,
    i64,
);

type LineRow = (
    i64,
    i32,
    String,
    Option<i64>,
    String,
    i64,
    i64,
    Option<NaiveDate>,
    Option<NaiveDate>,
    i64,
    i64,
    Option<i64>,
    String,
    i64,
    bool,
    i64,
);

async fn copies(pool: &PgPool, today: NaiveDate) -> anyhow::Result<Copies> {
    let invoices: Vec<InvoiceRow> = sqlx::query_as(
        "SELECT id, customer_id, customer_name, customer_address, issue_date, due_date, \
         period_start, period_end, subtotal_minor, tax_minor, total_minor FROM invoices \
         WHERE invoice_type = 'recurring' ORDER BY id",
    )
    .fetch_all(pool)
    .await?;
    let mut c = Copies::default();
    let mut index = std::collections::HashMap::new();
    for (n, row) in invoices.into_iter().enumerate() {
        index.insert(row.0, n as i32);
        c.invoice_ids.push(row.0);
        c.customer_ids.push(row.1);
        c.customer_names.push(row.2);
        c.customer_addresses.push(row.3);
        c.issue_dates.push(row.4.unwrap_or(today));
        c.due_dates.push(row.5.unwrap_or(today));
        c.period_starts.push(row.6.unwrap_or(today));
        c.period_ends.push(row.7.unwrap_or(today));
        c.subtotals.push(row.8);
        c.taxes.push(row.9);
        c.totals.push(row.10);
    }
    let lines: Vec<LineRow> = sqlx::query_as(
        "SELECT l.invoice_id, l.position, l.kind, l.service_id, l.description, l.quantity_milli, \
         l.unit_minor, l.period_start, l.period_end, l.proration_micro, l.net_minor, \
         l.tax_rate_id, l.tax_name, l.tax_rate, l.tax_inclusive, l.tax_minor \
         FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id \
         WHERE i.invoice_type = 'recurring' ORDER BY l.id",
    )
    .fetch_all(pool)
    .await?;
    for row in lines {
        c.line_invoice.push(index[&row.0]);
        c.positions.push(row.1);
        c.kinds.push(row.2);
        c.service_ids.push(row.3);
        c.descriptions.push(row.4);
        c.quantities.push(row.5);
        c.units.push(row.6);
        c.line_starts.push(row.7);
        c.line_ends.push(row.8);
        c.factors.push(row.9);
        c.nets.push(row.10);
        c.tax_rate_ids.push(row.11);
        c.tax_names.push(row.12);
        c.tax_rates.push(row.13);
        c.inclusive.push(row.14);
        c.line_taxes.push(row.15);
    }
    Ok(c)
}

/// Step 3: the same rows inserted raw (series `RAW`), then deleted. Answers the time of the
/// inserts and their commit.
async fn raw_inserts(pool: &PgPool, c: &Copies) -> anyhow::Result<Duration> {
    let count = c.invoice_ids.len() as i64;
    let sequences: Vec<i64> = (1..=count).collect();
    let started = Instant::now();
    let mut tx = pool.begin().await?;
    let ids: Vec<(i64, i64)> = sqlx::query_as(
        "INSERT INTO invoices (kind, number, series, year, sequence, status, invoice_type, \
         customer_id, customer_name, customer_address, currency, issue_date, due_date, \
         period_start, period_end, subtotal_minor, tax_minor, total_minor, created_at, \
         finalized_at, updated_at) \
         SELECT 'invoice', 'RAW-' || extract(year FROM now())::int || '-' || lpad(s::text, 6, '0'), \
         'RAW', extract(year FROM now())::int, s, 'open', 'recurring', cu, na, ad, 'USD', \
         iss, due, ps, pe, sub, tax, tot, now(), now(), now() \
         FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::date[], \
         $6::date[], $7::date[], $8::date[], $9::bigint[], $10::bigint[], $11::bigint[]) \
         AS t(s, cu, na, ad, iss, due, ps, pe, sub, tax, tot) RETURNING sequence, id",
    )
    .bind(&sequences)
    .bind(&c.customer_ids)
    .bind(&c.customer_names)
    .bind(&c.customer_addresses)
    .bind(&c.issue_dates)
    .bind(&c.due_dates)
    .bind(&c.period_starts)
    .bind(&c.period_ends)
    .bind(&c.subtotals)
    .bind(&c.taxes)
    .bind(&c.totals)
    .fetch_all(&mut *tx)
    .await
    .context("raw invoices")?;
    anyhow::ensure!(
        ids.len() as i64 == count,
        "raw invoices: {} rows",
        ids.len()
    );
    let mut new_ids = vec![0i64; count as usize];
    for (sequence, id) in ids {
        new_ids[(sequence - 1) as usize] = id;
    }
    let line_invoices: Vec<i64> = c
        .line_invoice
        .iter()
        .map(|i| new_ids[*i as usize])
        .collect();
    let lines = sqlx::query(
        "INSERT INTO invoice_lines (invoice_id, position, kind, service_id, description, \
         quantity_milli, unit_minor, period_start, period_end, proration_micro, net_minor, \
         tax_rate_id, tax_name, tax_rate, tax_inclusive, tax_minor) \
         SELECT * FROM UNNEST($1::bigint[], $2::int[], $3::text[], $4::bigint[], $5::text[], \
         $6::bigint[], $7::bigint[], $8::date[], $9::date[], $10::bigint[], $11::bigint[], \
         $12::bigint[], $13::text[], $14::bigint[], $15::bool[], $16::bigint[])",
    )
    .bind(&line_invoices)
    .bind(&c.positions)
    .bind(&c.kinds)
    .bind(&c.service_ids)
    .bind(&c.descriptions)
    .bind(&c.quantities)
    .bind(&c.units)
    .bind(&c.line_starts)
    .bind(&c.line_ends)
    .bind(&c.factors)
    .bind(&c.nets)
    .bind(&c.tax_rate_ids)
    .bind(&c.tax_names)
    .bind(&c.tax_rates)
    .bind(&c.inclusive)
    .bind(&c.line_taxes)
    .execute(&mut *tx)
    .await
    .context("raw lines")?
    .rows_affected();
    tx.commit().await?;
    let elapsed = started.elapsed();
    println!(
        "raw inserts: {count} invoices and {lines} lines (copies of the run's, series RAW) in \
         {:.2} s = {:.0} invoices/s",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64()
    );
    // Cleaning up: nothing refers to the copies, so the foreign key checks of the invoices'
    // delete (ledger_entries.invoice_id has no index: a scan per row) are skipped when the
    // connection may (a superuser's, as in tests); else the delete checks them.
    let started = Instant::now();
    let mut tx = pool.begin().await?;
    let unchecked = sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .is_ok();
    if !unchecked {
        tx.rollback().await?;
        tx = pool.begin().await?;
    }
    sqlx::query(
        "DELETE FROM invoice_lines WHERE invoice_id IN (SELECT id FROM invoices WHERE series = 'RAW')",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM invoices WHERE series = 'RAW'")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    println!(
        "raw copies deleted in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(elapsed)
}

async fn bench(bin: &Path, database: &Database, logs: &Path) -> anyhow::Result<()> {
    let customers = env_number("BENCH_CUSTOMERS", 100_000) as i64;
    let today = Utc::now().date_naive();
    let first = Core::start(bin, database, logs.join("core-1.log")).await?;
    let pool = PgPool::connect(&database.url).await?;
    let started = Instant::now();
    seed(&first, &pool, customers, today).await?;
    println!(
        "seeded {customers} customers with one active service each in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let dry = dry_run(&first, today).await?;
    first.stop().await;

    // A fresh core for the real run: its VmHWM is then the run's peak.
    let core = Core::start(bin, database, logs.join("core-2.log")).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let real = real_run(&core, today).await?;
    core.stop().await;
    let (invoices, charges): (i64, i64) =
        sqlx::query_as("SELECT (SELECT COUNT(*) FROM invoices), (SELECT COUNT(*) FROM charges)")
            .fetch_one(&pool)
            .await?;
    println!("written: {invoices} invoices, {charges} charges");

    let rows = copies(&pool, today).await?;
    // The raw inserts swing with checkpoints and vacuum: the median of three.
    let mut raws = Vec::new();
    for _ in 0..RAW_ROUNDS {
        raws.push(raw_inserts(&pool, &rows).await?);
    }
    raws.sort();
    let raw = raws[raws.len() / 2];
    println!(
        "raw inserts, {RAW_ROUNDS} rounds: {}; the median is compared",
        raws.iter()
            .map(|d| format!("{:.2} s", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    pool.close().await;

    let run = &real.run;
    let seconds = real.elapsed.as_secs_f64();
    let per_second = run.invoices_count as f64 / seconds;
    let percent = 100.0 * raw.as_secs_f64() / seconds;
    let peak = mb(real.peak_hwm_kb);
    println!();
    println!(
        "billing run of {customers} customers on {} CPUs (load {}):",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        loadavg()
    );
    println!("  dry run                {:>9.2} s", dry.as_secs_f64());
    println!(
        "  run                    {seconds:>9.2} s    target ≤ {TARGET_RUN_SECONDS} s: {}",
        verdict(seconds <= TARGET_RUN_SECONDS)
    );
    println!(
        "  invoices/s             {per_second:>9.0}      target ≥ {TARGET_INVOICES_PER_SECOND}: {}",
        verdict(per_second >= TARGET_INVOICES_PER_SECOND)
    );
    println!(
        "  raw inserts            {:>9.2} s    run speed = {percent:.1} % of raw, target ≥ \
         {TARGET_PERCENT_OF_RAW} %: {}",
        raw.as_secs_f64(),
        verdict(percent >= TARGET_PERCENT_OF_RAW)
    );
    println!(
        "  core RSS               idle {:.1} MB, max sampled {:.1} MB, peak (VmHWM) {peak:.1} MB    \
         target ≤ {TARGET_PEAK_MB} MB: {}",
        mb(real.idle.rss_kb),
        mb(real.max_rss_kb),
        verdict(peak <= TARGET_PEAK_MB)
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Some(admin_url) = env_text("LASTMILE_TEST_POSTGRES_URL") else {
        eprintln!("set LASTMILE_TEST_POSTGRES_URL: the benchmark runs on PostgreSQL");
        return Ok(());
    };
    let bin = binary()?;
    println!("lastmile billing bench: {}", bin.display());
    let database = Database::create(admin_url).await?;
    let logs = tempfile::tempdir()?;
    let result = bench(&bin, &database, logs.path()).await;
    database.drop_it().await;
    result
}

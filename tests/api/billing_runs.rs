//! Recurring billing runs as clients see them. What a client can rely on:
//!
//! - `POST /api/v1/billing/runs` queues a run as a durable job (201, `queued`), which
//!   charges every active or suspended service for each of its periods that begins on or
//!   before the run's date and is not charged yet, one invoice per customer;
//! - a first period is prorated over the days to the first billing date after the
//!   activation (`prorata`), or the whole period containing it is charged (`cycle`); the
//!   activation fee comes once, on the first invoice; a plan period is 1, 3, 6 or 12 months,
//!   and the days follow the calendar (28, 29, 30 and 31-day months);
//! - a plan change within a charged period credits the old plan's rest of the period and
//!   charges the new one's; suspended days and the days after a termination are credited
//!   when the plan says so; credits that outweigh the charges make a credit note; credit the
//!   customer holds pays the run's invoice at once;
//! - each line is rounded half to even once, and taxed by its plan's class (exclusive or
//!   inclusive); totals are the sums of the lines;
//! - a period is charged once, whatever runs follow; a late run catches up;
//! - a dry run answers 201 (it is recorded too) with the invoices the real run then issues, and writes none;
//! - runs are listed newest first and read by id; bad input is a 422 on its field;
//! - the scheduler starts a run every day at its time; gRPC serves the same.
//!
//! Time comes only from the servers' injected clock: services are activated at a clock
//! time, then the clock moves on. Expected amounts are computed by hand in the comments.

use std::time::{Duration as StdDuration, Instant};

use chrono::{Datelike, Duration, NaiveDate, NaiveTime};
use lastmile_proto::v1::billing_service_client::BillingServiceClient;
use lastmile_proto::v1::{
    BillingRunStatus, GetBillingRunRequest, InvoiceKind, ListBillingRunsRequest, PageRequest,
    RunBillingRequest,
};
use lastmile_tests::{StatusCode, TestApp, customer_body, engine_tests, json, send, with_key};
use serde_json::Value;

use crate::invoices::{assert_settled, balance, cents, date, invoice, items, pay, tax_rate, today};
use crate::tickets::{advance_to, assert_invalid, events, id, number, time};

engine_tests!(
    first_periods_are_charged_as_the_table_says,
    a_plan_change_credits_the_rest_of_the_period_and_charges_the_new_plan,
    suspended_days_are_credited_only_when_the_plan_says_so,
    unused_days_after_a_termination_are_credited_as_a_credit_note,
    credit_the_customer_holds_pays_the_runs_invoice,
    each_line_is_rounded_half_to_even_and_taxed_by_its_plans_class,
    a_period_is_charged_once_and_a_late_run_catches_up,
    a_late_run_charges_at_most_36_periods_of_a_service,
    a_dry_run_previews_what_the_run_then_issues_and_writes_nothing,
    runs_are_listed_newest_first_and_read_by_id,
    bad_run_requests_are_422_on_their_field,
    billing_runs_over_grpc,
);

engine_tests!(with = billing_at_two;
    the_scheduler_starts_a_run_every_day_at_its_time,
);

/// Scheduled billing runs every day at 02:00 (UTC in tests).
fn billing_at_two(settings: &mut lastmile::Settings) {
    settings.billing_run_at = NaiveTime::from_hms_opt(2, 0, 0);
}

const RUNS: &str = "/api/v1/billing/runs";

// ---- dates ----

/// The dates of this file are written for 2027 (a common year) and 2028 (a leap year), the
/// years ahead when it was written. Run later, they move by whole leap cycles of four years
/// until they lie ahead of the servers' today, so month lengths and the leap February stay
/// as written (and the amounts with them).
#[derive(Debug, Clone, Copy)]
struct Calendar {
    shift: i32,
}

impl Calendar {
    fn of(app: &TestApp) -> Calendar {
        let year = today(app).year();
        let mut shift = 0;
        while 2027 + shift <= year {
            shift += 4;
        }
        Calendar { shift }
    }

    /// The day written as `text` (`2027-03-15`), in the calendar's years.
    #[track_caller]
    fn day(self, text: &str) -> NaiveDate {
        let written = NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .unwrap_or_else(|e| panic!("{text} is not a date: {e}"));
        written
            .with_year(written.year() + self.shift)
            .unwrap_or_else(|| panic!("{text} moved by {} years", self.shift))
    }

    /// That day as the API writes it.
    #[track_caller]
    fn text(self, text: &str) -> String {
        date(self.day(text))
    }
}

/// Moves the servers' clock to 10:00 UTC of `day` (the test deployment counts billing days
/// in UTC), far from any midnight of real time while a test runs.
fn to_day(app: &TestApp, day: NaiveDate) {
    let ten = NaiveTime::from_hms_opt(10, 0, 0).expect("a valid time");
    advance_to(app, day.and_time(ten).and_utc());
}

// ---- set-up helpers ----

/// A plan of `fee` per period of `months`, with the `extra` fields; answers its id.
async fn plan_of(app: &TestApp, name: &str, fee: f64, months: u32, extra: Value) -> i64 {
    let mut body = json!({"name": name, "speed_download_mbps": 20, "speed_upload_mbps": 5,
                          "monthly_fee": fee, "billing_period_months": months});
    for (field, value) in extra.as_object().expect("extra fields") {
        body[field] = value.clone();
    }
    let (status, answer) = app.post("/api/v1/plans", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}: {answer}");
    let plan = &answer["data"]["plan"];
    for (field, value) in extra.as_object().expect("extra fields") {
        if field != "monthly_fee" && field != "activation_fee" {
            assert_eq!(&plan[field], value, "{field}: {plan}");
        }
    }
    id(plan)
}

/// A customer billed by `method` on `billing_day`, whom dunning never suspends (runs leave
/// invoices unpaid while the clock moves on); `n` makes its phone unique. Answers its id.
async fn billed(app: &TestApp, name: &str, n: u32, method: &str, billing_day: u32) -> i64 {
    let mut body = customer_body(name, &format!("+2547340{n:05}"));
    body["billing_method"] = json!(method);
    body["billing_day"] = json!(billing_day);
    body["auto_suspension"] = json!(false);
    let (status, answer) = app.post("/api/v1/customers", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}: {answer}");
    let customer = &answer["data"]["customer"];
    assert_eq!(customer["billing_method"], json!(method), "{customer}");
    assert_eq!(customer["billing_day"], json!(billing_day), "{customer}");
    id(customer)
}

/// An active service of `customer` on `plan`, activated at the servers' now; answers its id.
async fn activate(app: &TestApp, customer: i64, plan: i64) -> i64 {
    let service = crate::services::service(app, customer, json!({"plan_id": plan})).await;
    assert_eq!(service["status"], json!("active"), "{service}");
    id(&service)
}

/// `POST /api/v1/services/{id}/{action}` as the admin, answered 200.
async fn service_action(app: &TestApp, service: i64, action: &str, body: Value) {
    let path = format!("/api/v1/services/{service}/{action}");
    let (status, answer) = app.post(&path, &body).await;
    assert_eq!(status, StatusCode::OK, "{path} {body}: {answer}");
}

/// Moves `service` to `plan` at once.
async fn change_plan(app: &TestApp, service: i64, plan: i64) {
    let body = json!({"plan_id": plan, "timing": "now"});
    service_action(app, service, "change-plan", body).await;
}

/// `POST /api/v1/customers/{id}/action` as the admin, answered 200.
async fn customer_action(app: &TestApp, customer: i64, action: &str) {
    let path = format!("/api/v1/customers/{customer}/action");
    let body = json!({"action": action, "reason": "Moving house"});
    let (status, answer) = app.post(&path, &body).await;
    assert_eq!(status, StatusCode::OK, "{path} {body}: {answer}");
}

// ---- run helpers ----

/// Queues a run with `body`; answers the queued `data.billing_run`.
async fn start_run(app: &TestApp, body: Value) -> Value {
    let (status, answer) = app.post(RUNS, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}: {answer}");
    assert_eq!(answer["success"], json!(true), "{answer}");
    let run = answer["data"]["billing_run"].clone();
    assert_eq!(run["status"], json!("queued"), "{run}");
    assert_eq!(run["dry_run"], json!(false), "{run}");
    assert_eq!(run["trigger"], json!("api"), "{run}");
    assert!(run["job_id"].is_i64(), "a durable job runs it: {run}");
    run
}

/// The run `run` as the admin reads it.
async fn get_run(app: &TestApp, run: i64) -> Value {
    let (status, answer) = app.get(&format!("{RUNS}/{run}")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["data"]["billing_run"].clone()
}

/// Waits (up to 90 s of real time) until the run `run` is completed; answers it.
async fn completed(app: &TestApp, run: i64) -> Value {
    let started = Instant::now();
    loop {
        let shown = get_run(app, run).await;
        match shown["status"].as_str() {
            Some("completed") => return shown,
            Some("failed") => panic!("billing run {run} failed: {shown}"),
            _ => {}
        }
        assert!(
            started.elapsed() < StdDuration::from_secs(90),
            "billing run {run} not completed after 90 s: {shown}"
        );
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
}

/// Runs billing for `day` (today when `None`) and waits for the run to complete.
async fn run_billing(app: &TestApp, day: Option<NaiveDate>) -> Value {
    let body = day.map_or_else(|| json!({}), |d| json!({"date": date(d)}));
    let queued = start_run(app, body).await;
    let run = completed(app, id(&queued)).await;
    let expected = day.unwrap_or_else(|| today(app));
    assert_eq!(run["date"], json!(date(expected)), "{run}");
    run
}

/// A dry run with `body` (`dry_run` added): answers the completed `data.billing_run`.
async fn dry_run(app: &TestApp, mut body: Value) -> Value {
    body["dry_run"] = json!(true);
    let (status, answer) = app.post(RUNS, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}: {answer}");
    assert_eq!(answer["success"], json!(true), "{answer}");
    let run = answer["data"]["billing_run"].clone();
    assert_eq!(run["status"], json!("completed"), "{run}");
    assert_eq!(run["dry_run"], json!(true), "{run}");
    assert_eq!(run["job_id"], json!(null), "{run}");
    assert!(run["invoices"].is_array(), "{run}");
    assert!(run["preview_truncated"].is_boolean(), "{run}");
    run
}

/// A run's (customers, invoices, credit notes, lines, charges) counts.
#[track_caller]
fn counts(run: &Value) -> [i64; 5] {
    [
        "customers_count",
        "invoices_count",
        "credit_notes_count",
        "lines_count",
        "charges_count",
    ]
    .map(|field| {
        run[field]
            .as_i64()
            .unwrap_or_else(|| panic!("no {field} in {run}"))
    })
}

/// A run's or an invoice's (subtotal, tax_amount, total_amount) in cents.
#[track_caller]
fn totals(value: &Value) -> (i64, i64, i64) {
    (
        cents(&value["subtotal"]),
        cents(&value["tax_amount"]),
        cents(&value["total_amount"]),
    )
}

/// The customer's invoices and credit notes, newest first.
async fn invoices_of(app: &TestApp, customer: i64) -> Vec<Value> {
    let path = format!("/api/v1/customers/{customer}/invoices?per_page=100");
    let (status, answer) = app.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    items(&answer, "invoices").clone()
}

/// The customer's newest invoice, after checking it has `count` in all.
async fn newest_of(app: &TestApp, customer: i64, count: usize) -> Value {
    let all = invoices_of(app, customer).await;
    assert_eq!(all.len(), count, "customer {customer}: {all:?}");
    all[0].clone()
}

/// A line as (kind, first day, last day, amount in cents); no period: empty days.
type Row = (String, String, String, i64);

/// An invoice's lines as rows, sorted.
#[track_caller]
fn rows_of(invoice: &Value) -> Vec<Row> {
    let mut rows: Vec<Row> = invoice["line_items"]
        .as_array()
        .unwrap_or_else(|| panic!("no line_items in {invoice}"))
        .iter()
        .map(|line| {
            let text = |field: &str| line[field].as_str().unwrap_or_default().to_owned();
            (
                text("kind"),
                text("period_start"),
                text("period_end"),
                cents(&line["amount"]),
            )
        })
        .collect();
    rows.sort();
    rows
}

/// Expected rows, sorted: (kind, first day, last day as written, amount in cents).
fn rows(calendar: Calendar, expected: &[(&str, &str, &str, i64)]) -> Vec<Row> {
    let day = |text: &str| {
        if text.is_empty() {
            String::new()
        } else {
            calendar.text(text)
        }
    };
    let mut rows: Vec<Row> = expected
        .iter()
        .map(|(kind, first, last, amount)| ((*kind).to_owned(), day(first), day(last), *amount))
        .collect();
    rows.sort();
    rows
}

/// The lines of `invoice` of `kind`.
fn lines_of_kind<'a>(invoice: &'a Value, kind: &str) -> Vec<&'a Value> {
    invoice["line_items"]
        .as_array()
        .map(|lines| lines.iter().filter(|l| l["kind"] == json!(kind)).collect())
        .unwrap_or_default()
}

/// An invoice's totals are the sums of its lines: subtotal of the amounts, tax of the
/// taxes, total of the lines' totals and subtotal + tax.
#[track_caller]
fn assert_adds_up(invoice: &Value) {
    let lines = invoice["line_items"].as_array().expect("line items");
    let sum = |field: &str| lines.iter().map(|l| cents(&l[field])).sum::<i64>();
    for line in lines {
        assert_eq!(
            cents(&line["total"]),
            cents(&line["amount"]) + cents(&line["tax_amount"]),
            "{line}"
        );
    }
    let (subtotal, tax, total) = totals(invoice);
    assert_eq!(
        (subtotal, tax, total),
        (sum("amount"), sum("tax_amount"), sum("total")),
        "{invoice}"
    );
    assert_eq!(total, subtotal + tax, "{invoice}");
}

/// A proration factor in millionths (`"0.548387"` → 548387).
#[track_caller]
fn millionths(value: &Value) -> i64 {
    (number(value) * 1_000_000.0).round() as i64
}

/// Checks the fields every invoice of a run has: recurring, issued on `issued`, due after
/// the 14 days' terms, its period from its lines' first to last day.
#[track_caller]
fn assert_run_invoice(invoice: &Value, issued: NaiveDate) {
    assert_eq!(invoice["invoice_type"], json!("recurring"), "{invoice}");
    assert_eq!(invoice["issue_date"], json!(date(issued)), "{invoice}");
    assert!(
        invoice["invoice_number"]
            .as_str()
            .is_some_and(|n| !n.is_empty()),
        "{invoice}"
    );
    if invoice["kind"] == json!("invoice") {
        assert_eq!(
            invoice["due_date"],
            json!(date(issued + Duration::days(14))),
            "{invoice}"
        );
    }
    let days: Vec<&str> = invoice["line_items"]
        .as_array()
        .expect("line items")
        .iter()
        .flat_map(|l| [l["period_start"].as_str(), l["period_end"].as_str()])
        .flatten()
        .collect();
    if let (Some(first), Some(last)) = (days.iter().min(), days.iter().max()) {
        assert_eq!(
            invoice["billing_period"],
            json!({"start": first, "end": last}),
            "{invoice}"
        );
    }
}

// ---- the first period ----

/// A case of the first-period table.
struct FirstPeriod {
    what: &'static str,
    activated: &'static str,
    method: &'static str,
    billing_day: u32,
    /// Index into the table's plans.
    plan: usize,
    kind: &'static str,
    first: &'static str,
    last: &'static str,
    /// The proration factor in millionths.
    factor: i64,
    /// The line's amount in cents.
    amount: i64,
}

async fn first_periods_are_charged_as_the_table_says(app: TestApp) {
    let calendar = Calendar::of(&app);
    // (name, fee, months, fee in cents).
    let plans = [
        ("Home 30", 30.0, 1, 3000),
        ("Quarter 100", 100.0, 3, 10_000),
        ("Half-year 180", 180.0, 6, 18_000),
        ("Year 360", 360.0, 12, 36_000),
        ("Quarter 90", 90.0, 3, 9000),
    ];
    let mut plan_ids = Vec::new();
    for (name, fee, months, _) in plans {
        plan_ids.push(plan_of(&app, name, fee, months, json!({})).await);
    }
    let (home, quarter, half_year, year, quarter_90) = (0, 1, 2, 3, 4);
    let case = |what, activated, method, billing_day, plan, kind, first, last, factor, amount| {
        FirstPeriod {
            what,
            activated,
            method,
            billing_day,
            plan,
            kind,
            first,
            last,
            factor,
            amount,
        }
    };
    // In the order of their days: the clock only moves forward.
    #[rustfmt::skip]
    let cases = [
        // A 28-day February: [02-01, 03-01) is 28 days, 19 of them charged (10th to 28th):
        // 3000 × 19 / 28 = 2035.71 → 2036; 19 / 28 = 0.678571.
        case("28-day February, day 1", "2027-02-10", "prorata", 1, home,
             "proration", "2027-02-10", "2027-02-28", 678_571, 2036),
        // The day before billing day 28: [01-28, 02-28) is 31 days, 1 charged:
        // 3000 / 31 = 96.77 → 97; 1 / 31 = 0.032258.
        case("day before billing day 28", "2027-02-27", "prorata", 28, home,
             "proration", "2027-02-27", "2027-02-27", 32_258, 97),
        // Billing day 28 after a common February: [02-28, 03-28) is 28 days, 18 charged
        // (10th to 27th): 3000 × 18 / 28 = 1928.57 → 1929; 18 / 28 = 0.642857.
        case("billing day 28, 28-day period", "2027-03-10", "prorata", 28, home,
             "proration", "2027-03-10", "2027-03-27", 642_857, 1929),
        // A 31-day month: 17 of 31 days (15th to 31st): 3000 × 17 / 31 = 1645.16 → 1645;
        // 17 / 31 = 0.548387.
        case("31-day month, day 1", "2027-03-15", "prorata", 1, home,
             "proration", "2027-03-15", "2027-03-31", 548_387, 1645),
        // Cycle: the whole period containing the 20th, [03-01, 04-01), at the full fee.
        case("cycle, day 1", "2027-03-20", "cycle", 1, home,
             "recurring", "2027-03-01", "2027-03-31", 1_000_000, 3000),
        // A 3-month plan: [01-01, 04-01) is 31 + 28 + 31 = 90 days, 8 charged (24th to
        // 31st): 10000 × 8 / 90 = 888.89 → 889; 8 / 90 = 0.088889.
        case("3-month plan, prorata", "2027-03-24", "prorata", 1, quarter,
             "proration", "2027-03-24", "2027-03-31", 88_889, 889),
        // A 30-day month: 20 of 30 days (11th to 30th): 3000 × 20 / 30 = 2000;
        // 20 / 30 = 0.666667.
        case("30-day month, day 1", "2027-04-11", "prorata", 1, home,
             "proration", "2027-04-11", "2027-04-30", 666_667, 2000),
        // Activated on the billing day: the full period [05-01, 06-01).
        case("on billing day 1", "2027-05-01", "prorata", 1, home,
             "recurring", "2027-05-01", "2027-05-31", 1_000_000, 3000),
        // A 6-month plan: [12-01, 06-01) is 31 + 31 + 28 + 31 + 30 + 31 = 182 days, 12
        // charged (20th to 31st): 18000 × 12 / 182 = 1186.81 → 1187; 12 / 182 = 0.065934.
        case("6-month plan, prorata", "2027-05-20", "prorata", 1, half_year,
             "proration", "2027-05-20", "2027-05-31", 65_934, 1187),
        // The day before billing day 1: 1 of May's 31 days: 3000 / 31 = 96.77 → 97.
        case("day before billing day 1", "2027-05-31", "prorata", 1, home,
             "proration", "2027-05-31", "2027-05-31", 32_258, 97),
        // Activated on billing day 28: the full period [06-28, 07-28).
        case("on billing day 28", "2027-06-28", "prorata", 28, home,
             "recurring", "2027-06-28", "2027-07-27", 1_000_000, 3000),
        // Cycle on day 28: the period containing 07-05 began on 06-28.
        case("cycle, day 28", "2027-07-05", "cycle", 28, home,
             "recurring", "2027-06-28", "2027-07-27", 1_000_000, 3000),
        // A 12-month plan in common years: [2026-08-01, 2027-08-01) is 365 days, 22 charged
        // (10th to 31st): 36000 × 22 / 365 = 2169.86 → 2170; 22 / 365 = 0.060274.
        case("12-month plan, common year", "2027-07-10", "prorata", 1, year,
             "proration", "2027-07-10", "2027-07-31", 60_274, 2170),
        // Cycle with a 3-month plan: [08-01, 11-01) at the full fee.
        case("cycle, 3-month plan", "2027-08-15", "cycle", 1, quarter_90,
             "recurring", "2027-08-01", "2027-10-31", 1_000_000, 9000),
        // A leap February: [02-01, 03-01) is 29 days, 15 charged (15th to 29th):
        // 3000 × 15 / 29 = 1551.72 → 1552; 15 / 29 = 0.517241.
        case("leap February, day 1", "2028-02-15", "prorata", 1, home,
             "proration", "2028-02-15", "2028-02-29", 517_241, 1552),
        // Billing day 28 across the leap day: [02-28, 03-28) is 29 days, 18 charged:
        // 3000 × 18 / 29 = 1862.07 → 1862; 18 / 29 = 0.620690.
        case("billing day 28, 29-day period", "2028-03-10", "prorata", 28, home,
             "proration", "2028-03-10", "2028-03-27", 620_690, 1862),
        // A 12-month plan across the leap day: [2027-08-01, 2028-08-01) is 366 days, 22
        // charged: 36000 × 22 / 366 = 2163.93 → 2164; 22 / 366 = 0.060109.
        case("12-month plan, leap year", "2028-07-10", "prorata", 1, year,
             "proration", "2028-07-10", "2028-07-31", 60_109, 2164),
    ];

    for (n, case) in (1..).zip(&cases) {
        let what = case.what;
        let activated = calendar.day(case.activated);
        to_day(&app, activated);
        let customer = billed(&app, "Table", n, case.method, case.billing_day).await;
        let (plan_name, _, _, fee) = plans[case.plan];
        let service = activate(&app, customer, plan_ids[case.plan]).await;

        let run = run_billing(&app, None).await;
        // Earlier cases' services are terminated: this customer is the run's only one.
        assert_eq!(counts(&run), [1, 1, 0, 1, 1], "{what}: {run}");
        assert_eq!(totals(&run), (case.amount, 0, case.amount), "{what}: {run}");

        let issued = newest_of(&app, customer, 1).await;
        assert_run_invoice(&issued, activated);
        assert_eq!(issued["status"], json!("pending"), "{what}: {issued}");
        assert_eq!(issued["kind"], json!("invoice"), "{what}: {issued}");
        let (first, last) = (calendar.text(case.first), calendar.text(case.last));
        assert_eq!(
            issued["billing_period"],
            json!({"start": first, "end": last}),
            "{what}: {issued}"
        );
        let lines = issued["line_items"].as_array().expect("line items");
        assert_eq!(lines.len(), 1, "{what}: {issued}");
        let line = &lines[0];
        assert_eq!(line["kind"], json!(case.kind), "{what}: {line}");
        assert_eq!(
            line["description"],
            json!(format!("{plan_name} ({first} – {last})")),
            "{what}: {line}"
        );
        assert_eq!(line["service_id"], json!(service), "{what}: {line}");
        assert_eq!(number(&line["quantity"]), 1.0, "{what}: {line}");
        assert_eq!(cents(&line["unit_amount"]), fee, "{what}: {line}");
        assert_eq!(line["period_start"], json!(first), "{what}: {line}");
        assert_eq!(line["period_end"], json!(last), "{what}: {line}");
        assert_eq!(
            millionths(&line["proration_factor"]),
            case.factor,
            "{what}: {line}"
        );
        assert_eq!(cents(&line["amount"]), case.amount, "{what}: {line}");
        assert_eq!(cents(&line["tax_amount"]), 0, "{what}: {line}");
        assert_eq!(cents(&line["total"]), case.amount, "{what}: {line}");
        assert_eq!(
            totals(&issued),
            (case.amount, 0, case.amount),
            "{what}: {issued}"
        );
        assert_eq!(balance(&app, customer).await, -case.amount, "{what}");

        // Out of the later runs (the plan credits no unused days).
        service_action(&app, service, "terminate", json!({})).await;
    }
}

// ---- adjustments ----

async fn a_plan_change_credits_the_rest_of_the_period_and_charges_the_new_plan(app: TestApp) {
    let calendar = Calendar::of(&app);
    let basic = plan_of(&app, "Basic", 30.0, 1, json!({})).await;
    let premium = plan_of(&app, "Premium", 45.0, 1, json!({})).await;
    let fast = plan_of(&app, "Fast", 60.0, 1, json!({})).await;
    tax_rate(&app, json!({"name": "VAT", "rate_percent": 16})).await;
    let premium_vat = plan_of(&app, "Premium VAT", 45.0, 1, json!({"tax_class": "VAT"})).await;
    let up = billed(&app, "Upgrader", 1, "cycle", 1).await;
    let down = billed(&app, "Downgrader", 2, "cycle", 1).await;
    let twice = billed(&app, "Twice", 3, "cycle", 1).await;
    let unbilled = billed(&app, "Newcomer", 4, "prorata", 1).await;
    let taxed = billed(&app, "Taxed", 5, "cycle", 1).await;

    to_day(&app, calendar.day("2027-03-01"));
    let up_service = activate(&app, up, basic).await;
    let down_service = activate(&app, down, premium).await;
    let twice_service = activate(&app, twice, basic).await;
    let taxed_service = activate(&app, taxed, basic).await;
    // March, [03-01, 04-01): 30.00, 45.00, 30.00, 30.00.
    let run = run_billing(&app, None).await;
    assert_eq!(counts(&run), [4, 4, 0, 4, 4], "{run}");
    assert_eq!(totals(&run), (13_500, 0, 13_500), "{run}");

    // Not billed yet when its plan changes: no adjustment.
    to_day(&app, calendar.day("2027-03-05"));
    let unbilled_service = activate(&app, unbilled, basic).await;

    // On the 11th, 21 of March's 31 days are left (11th to 31st).
    to_day(&app, calendar.day("2027-03-11"));
    change_plan(&app, up_service, premium).await;
    change_plan(&app, down_service, basic).await;
    change_plan(&app, twice_service, premium).await;
    change_plan(&app, unbilled_service, premium).await;
    change_plan(&app, taxed_service, premium_vat).await;
    // On the 21st, 11 days are left (21st to 31st), and the plan left is Premium.
    to_day(&app, calendar.day("2027-03-21"));
    change_plan(&app, twice_service, fast).await;

    let april = calendar.day("2027-04-01");
    to_day(&app, april);
    let run = run_billing(&app, None).await;

    // Basic → Premium: credit 3000 × 21 / 31 = 2032.26 → −2032, charge
    // 4500 × 21 / 31 = 3048.39 → 3048; April at Premium's 45.00.
    // −2032 + 3048 + 4500 = 5516.
    let issued = newest_of(&app, up, 2).await;
    assert_run_invoice(&issued, april);
    assert_eq!(
        rows_of(&issued),
        rows(
            calendar,
            &[
                ("credit", "2027-03-11", "2027-03-31", -2032),
                ("proration", "2027-03-11", "2027-03-31", 3048),
                ("recurring", "2027-04-01", "2027-04-30", 4500),
            ]
        ),
        "{issued}"
    );
    assert_eq!(totals(&issued), (5516, 0, 5516), "{issued}");
    assert_adds_up(&issued);
    for line in issued["line_items"].as_array().expect("line items") {
        assert_eq!(line["service_id"], json!(up_service), "{line}");
    }

    // Premium → Basic: credit 4500 × 21 / 31 → −3048, charge 3000 × 21 / 31 → 2032; April
    // at Basic's 30.00. −3048 + 2032 + 3000 = 1984.
    let issued = newest_of(&app, down, 2).await;
    assert_eq!(
        rows_of(&issued),
        rows(
            calendar,
            &[
                ("credit", "2027-03-11", "2027-03-31", -3048),
                ("proration", "2027-03-11", "2027-03-31", 2032),
                ("recurring", "2027-04-01", "2027-04-30", 3000),
            ]
        ),
        "{issued}"
    );
    assert_eq!(totals(&issued), (1984, 0, 1984), "{issued}");

    // Basic → Premium on the 11th as above; Premium → Fast on the 21st credits Premium's
    // 4500 × 11 / 31 = 1596.77 → −1597 and charges 6000 × 11 / 31 = 2129.03 → 2129; April
    // at Fast's 60.00. −2032 + 3048 − 1597 + 2129 + 6000 = 7548.
    let issued = newest_of(&app, twice, 2).await;
    assert_eq!(
        rows_of(&issued),
        rows(
            calendar,
            &[
                ("credit", "2027-03-11", "2027-03-31", -2032),
                ("proration", "2027-03-11", "2027-03-31", 3048),
                ("credit", "2027-03-21", "2027-03-31", -1597),
                ("proration", "2027-03-21", "2027-03-31", 2129),
                ("recurring", "2027-04-01", "2027-04-30", 6000),
            ]
        ),
        "{issued}"
    );
    assert_eq!(totals(&issued), (7548, 0, 7548), "{issued}");

    // Never billed before its change: its first period [03-05, 04-01) at Premium's fee,
    // 27 of 31 days: 4500 × 27 / 31 = 3919.35 → 3919; then April, 4500. 8419 in all.
    let issued = newest_of(&app, unbilled, 1).await;
    assert_eq!(
        rows_of(&issued),
        rows(
            calendar,
            &[
                ("proration", "2027-03-05", "2027-03-31", 3919),
                ("recurring", "2027-04-01", "2027-04-30", 4500),
            ]
        ),
        "{issued}"
    );
    assert_eq!(totals(&issued), (8419, 0, 8419), "{issued}");
    assert_run_invoice(&issued, april);

    // Each line is taxed by its own plan's class: Basic's credit of 21 days, −2032, none;
    // Premium VAT's 3048 at 16 %, 487.68 → 488; April's 4500 at 16 %, 720.
    // Subtotal −2032 + 3048 + 4500 = 5516, tax 488 + 720 = 1208, total 6724.
    let issued = newest_of(&app, taxed, 2).await;
    let mut taxed_rows: Vec<(String, i64, i64)> = issued["line_items"]
        .as_array()
        .expect("line items")
        .iter()
        .map(|l| {
            let kind = l["kind"].as_str().unwrap_or_default().to_owned();
            (kind, cents(&l["amount"]), cents(&l["tax_amount"]))
        })
        .collect();
    taxed_rows.sort();
    assert_eq!(
        taxed_rows,
        [
            ("credit".to_owned(), -2032, 0),
            ("proration".to_owned(), 3048, 488),
            ("recurring".to_owned(), 4500, 720),
        ],
        "{issued}"
    );
    assert_eq!(totals(&issued), (5516, 1208, 6724), "{issued}");
    assert_adds_up(&issued);

    // Lines 3 + 3 + 5 + 2 + 3 = 16; periods charged 1 + 1 + 1 + 2 + 1 = 6;
    // subtotal 5516 + 1984 + 7548 + 8419 + 5516 = 28983, tax 1208, total 30191.
    assert_eq!(counts(&run), [5, 5, 0, 16, 6], "{run}");
    assert_eq!(totals(&run), (28_983, 1208, 30_191), "{run}");
}

async fn suspended_days_are_credited_only_when_the_plan_says_so(app: TestApp) {
    let calendar = Calendar::of(&app);
    let crediting = plan_of(
        &app,
        "Pausable",
        30.0,
        1,
        json!({"credit_suspended_days": true}),
    )
    .await;
    let plain = plan_of(&app, "Plain", 30.0, 1, json!({})).await;
    let (status, shown) = app.get(&format!("/api/v1/plans/{plain}")).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(
        shown["data"]["plan"]["credit_suspended_days"],
        json!(false),
        "the default: {shown}"
    );
    let paused = billed(&app, "Paused", 1, "cycle", 1).await;
    let not_credited = billed(&app, "Uncredited", 2, "cycle", 1).await;
    let cascaded = billed(&app, "Cascaded", 3, "cycle", 1).await;
    let spanning = billed(&app, "Spanning", 4, "cycle", 1).await;
    let ended = billed(&app, "Ended", 5, "cycle", 1).await;

    to_day(&app, calendar.day("2027-04-01"));
    let paused_service = activate(&app, paused, crediting).await;
    let not_credited_service = activate(&app, not_credited, plain).await;
    activate(&app, cascaded, crediting).await;
    let spanning_service = activate(&app, spanning, crediting).await;
    let ended_service = activate(&app, ended, crediting).await;
    // April, [04-01, 05-01) of 30 days, 30.00 each.
    let run = run_billing(&app, None).await;
    assert_eq!(counts(&run), [5, 5, 0, 5, 5], "{run}");

    // Suspended on the 11th, active again on the 21st: [04-11, 04-21), 10 days.
    to_day(&app, calendar.day("2027-04-11"));
    service_action(&app, paused_service, "suspend", json!({})).await;
    service_action(&app, not_credited_service, "suspend", json!({})).await;
    // The customer suspended on the 11th, activated on the 16th: [04-11, 04-16), 5 days.
    customer_action(&app, cascaded, "suspend").await;
    to_day(&app, calendar.day("2027-04-16"));
    customer_action(&app, cascaded, "activate").await;
    to_day(&app, calendar.day("2027-04-21"));
    service_action(&app, paused_service, "unsuspend", json!({})).await;
    service_action(&app, not_credited_service, "unsuspend", json!({})).await;
    // Suspended on the 25th and still suspended at the next run.
    to_day(&app, calendar.day("2027-04-25"));
    service_action(&app, spanning_service, "suspend", json!({})).await;

    to_day(&app, calendar.day("2027-05-01"));
    let run = run_billing(&app, None).await;
    // 3000 × 10 / 30 = 1000 credited; May at 30.00: 2000.
    let issued = newest_of(&app, paused, 2).await;
    assert_eq!(
        rows_of(&issued),
        rows(
            calendar,
            &[
                ("credit", "2027-04-11", "2027-04-20", -1000),
                ("recurring", "2027-05-01", "2027-05-31", 3000),
            ]
        ),
        "{issued}"
    );
    assert_eq!(totals(&issued), (2000, 0, 2000), "{issued}");
    assert_eq!(
        lines_of_kind(&issued, "credit")[0]["service_id"],
        json!(paused_service),
        "{issued}"
    );
    // The plain plan credits nothing.
    let issued = newest_of(&app, not_credited, 2).await;
    assert_eq!(
        rows_of(&issued),
        rows(calendar, &[("recurring", "2027-05-01", "2027-05-31", 3000)]),
        "{issued}"
    );
    // The customer's suspension counts the same: 3000 × 5 / 30 = 500; 2500.
    let issued = newest_of(&app, cascaded, 2).await;
    assert_eq!(
        rows_of(&issued),
        rows(
            calendar,
            &[
                ("credit", "2027-04-11", "2027-04-15", -500),
                ("recurring", "2027-05-01", "2027-05-31", 3000),
            ]
        ),
        "{issued}"
    );
    assert_eq!(totals(&issued), (2500, 0, 2500), "{issued}");
    // Still suspended: charged for May; nothing credited until the suspension ends.
    let issued = newest_of(&app, spanning, 2).await;
    assert_eq!(
        rows_of(&issued),
        rows(calendar, &[("recurring", "2027-05-01", "2027-05-31", 3000)]),
        "{issued}"
    );
    // With Ended's May, 2000 + 3000 + 2500 + 3000 + 3000 = 13500, in
    // 2 + 1 + 2 + 1 + 1 = 7 lines.
    assert_eq!(counts(&run), [5, 5, 0, 7, 5], "{run}");
    assert_eq!(totals(&run), (13_500, 0, 13_500), "{run}");

    // Active again on 05-05: [04-25, 05-05) touches two charged periods, one credit line
    // each: April's 6 of 30 days, 3000 × 6 / 30 = 600; May's 4 of 31 days,
    // 3000 × 4 / 31 = 387.10 → 387. With June: 3000 − 600 − 387 = 2013.
    to_day(&app, calendar.day("2027-05-05"));
    service_action(&app, spanning_service, "unsuspend", json!({})).await;
    // Suspended on 05-10 and terminated on 05-20: [05-10, 05-20), 10 of May's 31 days,
    // 3000 × 10 / 31 = 967.74 → 968 credited (the plan credits no unused days).
    to_day(&app, calendar.day("2027-05-10"));
    service_action(&app, ended_service, "suspend", json!({})).await;
    to_day(&app, calendar.day("2027-05-20"));
    service_action(&app, ended_service, "terminate", json!({})).await;
    to_day(&app, calendar.day("2027-06-01"));
    let run = run_billing(&app, None).await;
    let issued = newest_of(&app, spanning, 3).await;
    assert_eq!(
        rows_of(&issued),
        rows(
            calendar,
            &[
                ("credit", "2027-04-25", "2027-04-30", -600),
                ("credit", "2027-05-01", "2027-05-04", -387),
                ("recurring", "2027-06-01", "2027-06-30", 3000),
            ]
        ),
        "{issued}"
    );
    assert_eq!(totals(&issued), (2013, 0, 2013), "{issued}");
    assert_adds_up(&issued);
    // Nothing else to charge: its credit is a credit note.
    let note = newest_of(&app, ended, 3).await;
    assert_eq!(note["kind"], json!("credit_note"), "{note}");
    let lines = note["line_items"].as_array().expect("line items");
    assert_eq!(lines.len(), 1, "{note}");
    assert_eq!(lines[0]["kind"], json!("credit"), "{note}");
    assert_eq!(lines[0]["period_start"], json!(calendar.text("2027-05-10")));
    assert_eq!(lines[0]["period_end"], json!(calendar.text("2027-05-19")));
    assert_eq!(cents(&lines[0]["amount"]).abs(), 968, "{note}");
    assert_eq!(cents(&note["total_amount"]).abs(), 968, "{note}");
    // June for the others, already credited: 3 × 3000 + 2013 = 11013, less the credit
    // note's 968 = 10045; lines 1 + 1 + 1 + 3 + 1 = 7.
    assert_eq!(counts(&run), [5, 4, 1, 7, 4], "{run}");
    assert_eq!(totals(&run), (10_045, 0, 10_045), "{run}");
}

async fn unused_days_after_a_termination_are_credited_as_a_credit_note(app: TestApp) {
    let calendar = Calendar::of(&app);
    let refunding = plan_of(
        &app,
        "Refunding",
        30.0,
        1,
        json!({"credit_unused_days_on_termination": true}),
    )
    .await;
    let plain = plan_of(&app, "Plain", 30.0, 1, json!({})).await;
    let owing = billed(&app, "Owing", 1, "cycle", 1).await;
    let not_credited = billed(&app, "Uncredited", 2, "cycle", 1).await;
    let paid_up = billed(&app, "Paidup", 3, "cycle", 1).await;

    to_day(&app, calendar.day("2027-05-01"));
    let owing_service = activate(&app, owing, refunding).await;
    let not_credited_service = activate(&app, not_credited, plain).await;
    let paid_up_service = activate(&app, paid_up, refunding).await;
    // May, [05-01, 06-01) of 31 days, 30.00 each.
    let run = run_billing(&app, None).await;
    assert_eq!(counts(&run), [3, 3, 0, 3, 3], "{run}");
    let owing_may = id(&newest_of(&app, owing, 1).await);
    let paid_up_may = id(&newest_of(&app, paid_up, 1).await);
    pay(&app, paid_up, 30.0, Some(paid_up_may)).await;

    // Terminated on the 22nd: [05-22, 06-01), 10 days, are not used:
    // 3000 × 10 / 31 = 967.74 → 968 credited.
    to_day(&app, calendar.day("2027-05-22"));
    for service in [owing_service, not_credited_service, paid_up_service] {
        service_action(&app, service, "terminate", json!({})).await;
    }

    let june = calendar.day("2027-06-01");
    to_day(&app, june);
    // The credits outweigh the charges (none: the services are terminated): two credit
    // notes, counted negative; the plain plan's customer gets nothing.
    let preview = dry_run(&app, json!({})).await;
    assert_eq!(counts(&preview), [2, 0, 2, 2, 0], "{preview}");
    assert_eq!(totals(&preview), (-1936, 0, -1936), "{preview}");
    let previewed = preview["invoices"].as_array().expect("invoices");
    let previewed_customers: Vec<i64> = previewed
        .iter()
        .map(|p| p["customer_id"].as_i64().expect("a customer id"))
        .collect();
    assert_eq!(previewed_customers, [owing, paid_up], "{preview}");
    for note in previewed {
        assert_eq!(note["kind"], json!("credit_note"), "{note}");
        assert_eq!(note["line_items"].as_array().map(Vec::len), Some(1));
        let line = &note["line_items"][0];
        assert_eq!(line["kind"], json!("credit"), "{note}");
        assert_eq!(cents(&line["amount"]).abs(), 968, "{note}");
    }

    let run = run_billing(&app, None).await;
    assert_eq!(counts(&run), [2, 0, 2, 2, 0], "{run}");
    assert_eq!(totals(&run), (-1936, 0, -1936), "{run}");

    for (customer, service, n) in [(owing, owing_service, 1), (paid_up, paid_up_service, 2)] {
        let note = newest_of(&app, customer, 2).await;
        assert_run_invoice(&note, june);
        assert_eq!(note["kind"], json!("credit_note"), "{note}");
        assert_eq!(
            note["invoice_number"],
            json!(format!("CN-{}-{n:06}", june.year())),
            "{note}"
        );
        let lines = note["line_items"].as_array().expect("line items");
        assert_eq!(lines.len(), 1, "{note}");
        let line = &lines[0];
        assert_eq!(line["kind"], json!("credit"), "{line}");
        assert_eq!(line["service_id"], json!(service), "{line}");
        assert_eq!(line["period_start"], json!(calendar.text("2027-05-22")));
        assert_eq!(line["period_end"], json!(calendar.text("2027-05-31")));
        assert_eq!(cents(&line["amount"]).abs(), 968, "{line}");
        assert_eq!(cents(&note["total_amount"]).abs(), 968, "{note}");
        // The note's totals are its line's, in the sign it shows them in.
        let sign = cents(&line["amount"]).signum();
        assert_eq!(totals(&note), (968 * sign, 0, 968 * sign), "{note}");
        // Its preview showed the same line.
        let shown = previewed
            .iter()
            .find(|p| p["customer_id"] == json!(customer))
            .expect("previewed");
        assert_eq!(
            without_ids(&shown["line_items"]),
            without_ids(&note["line_items"])
        );
    }
    // An open invoice takes the credit: 3000 − 968 = 2032 still due.
    let may = invoice(&app, owing_may).await;
    assert_eq!(may["status"], json!("pending"), "{may}");
    assert_eq!(
        cents(&may["amount_paid"]) + cents(&may["amount_credited"]),
        968,
        "{may}"
    );
    assert_eq!(cents(&may["amount_due"]), 2032, "{may}");
    assert_eq!(balance(&app, owing).await, -2032);
    // Nothing open: the credit is kept.
    assert_eq!(balance(&app, paid_up).await, 968);
    // The plain plan credits nothing, and a terminated service is not charged.
    assert_eq!(invoices_of(&app, not_credited).await.len(), 1);
    assert_eq!(balance(&app, not_credited).await, -3000);
    let issued = events(&app, &["credit_note.issued"]).await;
    assert_eq!(issued.len(), 2, "{issued:?}");

    // Credited once: the next run has nothing for them.
    to_day(&app, calendar.day("2027-07-01"));
    let run = run_billing(&app, None).await;
    assert_eq!(counts(&run), [0; 5], "{run}");
    assert_eq!(balance(&app, owing).await, -2032);
}

async fn credit_the_customer_holds_pays_the_runs_invoice(app: TestApp) {
    let calendar = Calendar::of(&app);
    let plan = plan_of(&app, "Plain", 30.0, 1, json!({})).await;
    let ahead = billed(&app, "Ahead", 1, "cycle", 1).await;
    let partly = billed(&app, "Partly", 2, "cycle", 1).await;
    to_day(&app, calendar.day("2027-05-01"));
    // Paid before anything is owed: 50.00 and 10.00 of credit.
    pay(&app, ahead, 50.0, None).await;
    pay(&app, partly, 10.0, None).await;
    assert_eq!(balance(&app, ahead).await, 5000);
    activate(&app, ahead, plan).await;
    activate(&app, partly, plan).await;

    run_billing(&app, None).await;
    // 30.00 from the 50.00 of credit: paid at once, 20.00 left.
    let may = newest_of(&app, ahead, 1).await;
    assert_eq!(may["status"], json!("paid"), "{may}");
    assert_settled(&may, (3000, 0, 0));
    assert_eq!(balance(&app, ahead).await, 2000);
    // 10.00 of credit on 30.00: 20.00 due.
    let may = newest_of(&app, partly, 1).await;
    assert_eq!(may["status"], json!("pending"), "{may}");
    assert_settled(&may, (1000, 0, 2000));
    assert_eq!(balance(&app, partly).await, -2000);

    // June: the 20.00 left pays part of it, 10.00 due.
    to_day(&app, calendar.day("2027-06-01"));
    run_billing(&app, None).await;
    let june = newest_of(&app, ahead, 2).await;
    assert_eq!(june["status"], json!("pending"), "{june}");
    assert_settled(&june, (2000, 0, 1000));
    assert_eq!(balance(&app, ahead).await, -1000);
}

// ---- rounding and tax ----

async fn each_line_is_rounded_half_to_even_and_taxed_by_its_plans_class(app: TestApp) {
    let calendar = Calendar::of(&app);
    tax_rate(&app, json!({"name": "VAT", "rate_percent": 16})).await;
    tax_rate(
        &app,
        json!({"name": "VAT incl", "rate_percent": 16, "inclusive": true}),
    )
    .await;
    tax_rate(&app, json!({"name": "Levy", "rate_percent": 12.5})).await;
    let down = plan_of(&app, "Even down", 30.01, 1, json!({})).await;
    let up = plan_of(&app, "Even up", 30.03, 1, json!({})).await;
    let taxed = plan_of(&app, "Taxed", 30.01, 1, json!({"tax_class": "VAT"})).await;
    let included = plan_of(&app, "Included", 58.0, 1, json!({"tax_class": "VAT incl"})).await;
    let levy_a = plan_of(&app, "Levy A", 10.04, 1, json!({"tax_class": "Levy"})).await;
    let levy_b = plan_of(&app, "Levy B", 10.12, 1, json!({"tax_class": "Levy"})).await;
    let included_odd = plan_of(
        &app,
        "Included odd",
        29.99,
        1,
        json!({"tax_class": "VAT incl"}),
    )
    .await;
    let first = billed(&app, "Prorated", 1, "prorata", 1).await;
    let sixteenth = billed(&app, "Sixteenth", 2, "prorata", 16).await;
    let mut body = customer_body("Exempt", "+254734099999");
    body["billing_method"] = json!("prorata");
    body["billing_day"] = json!(1);
    body["auto_suspension"] = json!(false);
    body["tax_exempt"] = json!(true);
    body["tax_exempt_reference"] = json!("KRA-EX-0001");
    let (status, answer) = app.post("/api/v1/customers", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let exempt = id(&answer["data"]["customer"]);

    // The 16th: 15 of April's 30 days are left (16th to 30th) for billing day 1; for
    // billing day 16 it is a billing date, and the full period [04-16, 05-16) is charged.
    let day = calendar.day("2027-04-16");
    to_day(&app, day);
    let s_down = activate(&app, first, down).await;
    let s_up = activate(&app, first, up).await;
    let s_taxed = activate(&app, first, taxed).await;
    let s_included = activate(&app, first, included).await;
    let s_levy_a = activate(&app, sixteenth, levy_a).await;
    let s_levy_b = activate(&app, sixteenth, levy_b).await;
    let s_odd = activate(&app, sixteenth, included_odd).await;
    let s_exempt = activate(&app, exempt, taxed).await;

    let run = run_billing(&app, None).await;

    // (service, amount, tax, total) in cents:
    let expected_first = [
        // 3001 × 15 / 30 = 1500.5: half to even, 1500.
        (s_down, 1500, 0, 1500),
        // 3003 × 15 / 30 = 1501.5: half to even, 1502.
        (s_up, 1502, 0, 1502),
        // 1500 at 16 % on top: 240.
        (s_taxed, 1500, 240, 1740),
        // 5800 × 15 / 30 = 2900 including 16 %: tax 2900 × 16 / 116 = 400, net 2500.
        (s_included, 2500, 400, 2900),
    ];
    let expected_sixteenth = [
        // 1004 at 12.5 %: 125.5, half to even, 126.
        (s_levy_a, 1004, 126, 1130),
        // 1012 at 12.5 %: 126.5, half to even, 126.
        (s_levy_b, 1012, 126, 1138),
        // 2999 including 16 %: 2999 × 16 / 116 = 413.66 → 414, net 2585.
        (s_odd, 2585, 414, 2999),
    ];
    // 1500 at 16 %, but the customer is exempt: no tax.
    let expected_exempt = [(s_exempt, 1500, 0, 1500)];
    for (customer, expected, sums) in [
        // 1500 + 1502 + 1500 + 2500 = 7002; 240 + 400 = 640; 7642.
        (first, &expected_first[..], (7002, 640, 7642)),
        // 1004 + 1012 + 2585 = 4601; 126 + 126 + 414 = 666; 5267.
        (sixteenth, &expected_sixteenth[..], (4601, 666, 5267)),
        (exempt, &expected_exempt[..], (1500, 0, 1500)),
    ] {
        let issued = newest_of(&app, customer, 1).await;
        assert_run_invoice(&issued, day);
        let lines = issued["line_items"].as_array().expect("line items");
        assert_eq!(lines.len(), expected.len(), "{issued}");
        for (service, amount, tax, total) in expected {
            let line = lines
                .iter()
                .find(|l| l["service_id"] == json!(service))
                .unwrap_or_else(|| panic!("no line of service {service}: {issued}"));
            assert_eq!(
                (
                    cents(&line["amount"]),
                    cents(&line["tax_amount"]),
                    cents(&line["total"])
                ),
                (*amount, *tax, *total),
                "{line}"
            );
        }
        assert_eq!(totals(&issued), sums, "{issued}");
        assert_adds_up(&issued);
    }
    // The rates are named on their lines; the inclusive one says so.
    let issued = newest_of(&app, first, 1).await;
    let line_of = |service: i64| {
        issued["line_items"]
            .as_array()
            .and_then(|lines| lines.iter().find(|l| l["service_id"] == json!(service)))
            .cloned()
            .expect("a line")
    };
    assert_eq!(line_of(s_taxed)["tax_name"], json!("VAT"));
    assert_eq!(line_of(s_taxed)["tax_inclusive"], json!(false));
    assert_eq!(line_of(s_included)["tax_name"], json!("VAT incl"));
    assert_eq!(line_of(s_included)["tax_inclusive"], json!(true));
    assert_eq!(line_of(s_down)["tax_name"], json!(null));
    assert_eq!(newest_of(&app, exempt, 1).await["tax_exempt"], json!(true));

    // 7002 + 4601 + 1500 = 13103; 640 + 666 = 1306; 14409.
    assert_eq!(counts(&run), [3, 3, 0, 8, 8], "{run}");
    assert_eq!(totals(&run), (13_103, 1306, 14_409), "{run}");
}

// ---- exactly once ----

async fn a_period_is_charged_once_and_a_late_run_catches_up(app: TestApp) {
    let calendar = Calendar::of(&app);
    let plan = plan_of(&app, "Home 30", 30.0, 1, json!({"activation_fee": 25.0})).await;
    let customer = billed(&app, "Once", 1, "prorata", 1).await;
    let activated = calendar.day("2027-01-10");
    to_day(&app, activated);
    let service = activate(&app, customer, plan).await;
    // Pending until December: no run of this test charges it.
    let waiting = billed(&app, "Waiting", 2, "prorata", 1).await;
    let december = format!("{}T00:00:00Z", calendar.text("2027-12-01"));
    let body = json!({"plan_id": plan, "scheduled_activation": december});
    let pending = crate::services::service(&app, waiting, body).await;
    assert_eq!(pending["status"], json!("pending_activation"), "{pending}");

    // 22 of January's 31 days (10th to 31st): 3000 × 22 / 31 = 2129.03 → 2129, and the
    // activation fee, 25.00: 4629.
    let run = run_billing(&app, None).await;
    assert_eq!(counts(&run), [1, 1, 0, 2, 1], "{run}");
    assert_eq!(totals(&run), (4629, 0, 4629), "{run}");
    let january = newest_of(&app, customer, 1).await;
    assert_eq!(
        rows_of(&january),
        rows(
            calendar,
            &[
                ("activation", "", "", 2500),
                ("proration", "2027-01-10", "2027-01-31", 2129),
            ]
        ),
        "{january}"
    );
    let activation = lines_of_kind(&january, "activation")[0];
    assert_eq!(number(&activation["quantity"]), 1.0, "{activation}");
    assert_eq!(cents(&activation["unit_amount"]), 2500, "{activation}");
    assert_eq!(activation["period_start"], json!(null), "{activation}");
    assert_eq!(activation["period_end"], json!(null), "{activation}");
    let proration = lines_of_kind(&january, "proration")[0];
    assert_eq!(millionths(&proration["proration_factor"]), 709_677);
    // The line's period is the invoice's; the activation has none.
    assert_eq!(
        january["billing_period"],
        json!({"start": calendar.text("2027-01-10"), "end": calendar.text("2027-01-31")})
    );

    // The same date again: nothing is due.
    let again = run_billing(&app, Some(activated)).await;
    assert_eq!(counts(&again), [0; 5], "{again}");
    assert_eq!(totals(&again), (0, 0, 0), "{again}");
    assert_eq!(invoices_of(&app, customer).await.len(), 1);

    // After the next billing date: February only, without the activation fee. A run
    // dated February 1st on the 3rd issues its invoice on the 3rd.
    let third = calendar.day("2027-02-03");
    to_day(&app, third);
    let run = run_billing(&app, Some(calendar.day("2027-02-01"))).await;
    assert_eq!(counts(&run), [1, 1, 0, 1, 1], "{run}");
    let february = newest_of(&app, customer, 2).await;
    assert_run_invoice(&february, third);
    assert_eq!(
        rows_of(&february),
        rows(calendar, &[("recurring", "2027-02-01", "2027-02-28", 3000)]),
        "{february}"
    );
    let line = &february["line_items"][0];
    assert_eq!(
        line["description"],
        json!(format!(
            "Home 30 ({} – {})",
            calendar.text("2027-02-01"),
            calendar.text("2027-02-28")
        ))
    );
    assert_eq!(line["service_id"], json!(service));
    assert_eq!(millionths(&line["proration_factor"]), 1_000_000);

    // No run on March 1st nor April 1st: the run of May 10th catches up March, April and
    // May, on one invoice: 3 × 3000 = 9000.
    let may = calendar.day("2027-05-10");
    to_day(&app, may);
    let run = run_billing(&app, None).await;
    assert_eq!(counts(&run), [1, 1, 0, 3, 3], "{run}");
    assert_eq!(totals(&run), (9000, 0, 9000), "{run}");
    let caught_up = newest_of(&app, customer, 3).await;
    assert_run_invoice(&caught_up, may);
    assert_eq!(
        rows_of(&caught_up),
        rows(
            calendar,
            &[
                ("recurring", "2027-03-01", "2027-03-31", 3000),
                ("recurring", "2027-04-01", "2027-04-30", 3000),
                ("recurring", "2027-05-01", "2027-05-31", 3000),
            ]
        ),
        "{caught_up}"
    );
    assert_eq!(
        caught_up["billing_period"],
        json!({"start": calendar.text("2027-03-01"), "end": calendar.text("2027-05-31")})
    );

    // A run for an earlier date finds everything charged.
    let earlier = run_billing(&app, Some(calendar.day("2027-04-15"))).await;
    assert_eq!(counts(&earlier), [0; 5], "{earlier}");

    // Two runs at once take turns: June is charged by one of them, once.
    to_day(&app, calendar.day("2027-06-01"));
    let one = start_run(&app, json!({})).await;
    let two = start_run(&app, json!({})).await;
    let (one, two) = (
        completed(&app, id(&one)).await,
        completed(&app, id(&two)).await,
    );
    let charged = counts(&one)[4] + counts(&two)[4];
    assert_eq!(charged, 1, "{one} {two}");
    assert_eq!(
        counts(&one)[1] + counts(&two)[1],
        1,
        "one invoice: {one} {two}"
    );
    let june = newest_of(&app, customer, 4).await;
    assert_eq!(
        rows_of(&june),
        rows(calendar, &[("recurring", "2027-06-01", "2027-06-30", 3000)]),
        "{june}"
    );
    // 4629 + 3000 + 9000 + 3000 = 19629 owed.
    assert_eq!(balance(&app, customer).await, -19_629);
    assert_eq!(invoices_of(&app, waiting).await.len(), 0);
}

async fn a_late_run_charges_at_most_36_periods_of_a_service(app: TestApp) {
    let calendar = Calendar::of(&app);
    let plan = plan_of(&app, "Home 30", 30.0, 1, json!({})).await;
    let customer = billed(&app, "Forgotten", 1, "cycle", 1).await;
    to_day(&app, calendar.day("2027-01-01"));
    activate(&app, customer, plan).await;

    // The first run comes 37 months later: January 2027 to February 2030 are 38 periods,
    // of which one run charges 36, January 2027 to December 2029: 36 × 3000 = 108000.
    to_day(&app, calendar.day("2030-02-01"));
    let run = run_billing(&app, None).await;
    assert_eq!(counts(&run), [1, 1, 0, 36, 36], "{run}");
    assert_eq!(totals(&run), (108_000, 0, 108_000), "{run}");
    let first = newest_of(&app, customer, 1).await;
    assert_eq!(
        first["billing_period"],
        json!({"start": calendar.text("2027-01-01"), "end": calendar.text("2029-12-31")}),
        "{first}"
    );
    // The next run charges the rest, January and February 2030.
    let run = run_billing(&app, None).await;
    assert_eq!(counts(&run), [1, 1, 0, 2, 2], "{run}");
    let rest = newest_of(&app, customer, 2).await;
    assert_eq!(
        rows_of(&rest),
        rows(
            calendar,
            &[
                ("recurring", "2030-01-01", "2030-01-31", 3000),
                ("recurring", "2030-02-01", "2030-02-28", 3000),
            ]
        ),
        "{rest}"
    );
    let run = run_billing(&app, None).await;
    assert_eq!(counts(&run), [0; 5], "{run}");
}

// ---- dry runs ----

/// Lines without their ids (a preview's lines are not written, so have none).
fn without_ids(lines: &Value) -> Vec<Value> {
    lines
        .as_array()
        .unwrap_or_else(|| panic!("not lines: {lines}"))
        .iter()
        .map(|line| {
            let mut line = line.clone();
            line.as_object_mut().expect("a line").remove("id");
            line
        })
        .collect()
}

async fn a_dry_run_previews_what_the_run_then_issues_and_writes_nothing(app: TestApp) {
    let calendar = Calendar::of(&app);
    tax_rate(&app, json!({"name": "VAT", "rate_percent": 16})).await;
    let fibre = plan_of(&app, "Fibre 30", 30.0, 1, json!({"activation_fee": 20.0})).await;
    let taxed = plan_of(&app, "Fibre 45", 45.0, 1, json!({"tax_class": "VAT"})).await;
    let prorated = billed(&app, "Prorated", 1, "prorata", 1).await;
    let cycled = billed(&app, "Cycled", 2, "cycle", 1).await;
    let fifteenth = billed(&app, "Fifteenth", 3, "prorata", 15).await;
    let day = calendar.day("2027-06-10");
    to_day(&app, day);
    activate(&app, prorated, fibre).await;
    activate(&app, cycled, taxed).await;
    activate(&app, fifteenth, taxed).await;

    // Prorated: 21 of June's 30 days, 3000 × 21 / 30 = 2100, and 20.00 of activation:
    // 4100. Cycled: June, 4500 + 16 % = 720: 5220. Fifteenth: [05-15, 06-15) is 31 days,
    // 5 charged (10th to 14th): 4500 × 5 / 31 = 725.81 → 726, tax 116.16 → 116: 842.
    // Subtotal 2100 + 2000 + 4500 + 726 = 9326; tax 720 + 116 = 836; total 10162.
    let preview = dry_run(&app, json!({})).await;
    assert_eq!(preview["date"], json!(date(day)), "{preview}");
    assert_eq!(counts(&preview), [3, 3, 0, 4, 3], "{preview}");
    assert_eq!(totals(&preview), (9326, 836, 10_162), "{preview}");
    assert_eq!(preview["preview_truncated"], json!(false), "{preview}");
    let previewed = preview["invoices"].as_array().expect("invoices").clone();
    let expected = [
        (prorated, "Prorated Tester", (4100, 0, 4100)),
        (cycled, "Cycled Tester", (4500, 720, 5220)),
        (fifteenth, "Fifteenth Tester", (726, 116, 842)),
    ];
    assert_eq!(previewed.len(), 3, "{preview}");
    for (shown, (customer, name, sums)) in previewed.iter().zip(expected) {
        assert_eq!(shown["customer_id"], json!(customer), "{shown}");
        assert_eq!(shown["customer_name"], json!(name), "{shown}");
        assert_eq!(shown["kind"], json!("invoice"), "{shown}");
        assert_eq!(shown["currency"], json!("USD"), "{shown}");
        assert_eq!(totals(shown), sums, "{shown}");
        assert_adds_up(shown);
    }
    assert_eq!(
        rows_of(&previewed[0]),
        rows(
            calendar,
            &[
                ("activation", "", "", 2000),
                ("proration", "2027-06-10", "2027-06-30", 2100),
            ]
        )
    );

    // A limit lists the first customers by id; the counts still cover them all.
    let limited = dry_run(&app, json!({"preview_limit": 2})).await;
    let listed: Vec<i64> = limited["invoices"]
        .as_array()
        .expect("invoices")
        .iter()
        .map(|i| i["customer_id"].as_i64().expect("a customer id"))
        .collect();
    assert_eq!(listed, [prorated, cycled], "{limited}");
    assert_eq!(limited["preview_truncated"], json!(true), "{limited}");
    assert_eq!(counts(&limited), [3, 3, 0, 4, 3], "{limited}");
    assert_eq!(totals(&limited), (9326, 836, 10_162), "{limited}");
    let exact = dry_run(&app, json!({"preview_limit": 3})).await;
    assert_eq!(exact["preview_truncated"], json!(false), "{exact}");
    assert_eq!(exact["invoices"].as_array().map(Vec::len), Some(3));

    // Nothing written: no invoice, no event, no debt.
    let (_, all) = app.get("/api/v1/invoices").await;
    assert_eq!(all["meta"]["total"], json!(0), "{all}");
    assert_eq!(events(&app, &["invoice.*"]).await.len(), 0);
    for customer in [prorated, cycled, fifteenth] {
        assert_eq!(balance(&app, customer).await, 0);
    }

    // The real run issues exactly what was previewed.
    let run = run_billing(&app, None).await;
    assert_eq!(counts(&run), counts(&preview), "{run}");
    assert_eq!(totals(&run), totals(&preview), "{run}");
    let log = events(&app, &["invoice.*"]).await;
    for (shown, (customer, _, sums)) in previewed.iter().zip(expected) {
        let issued = newest_of(&app, customer, 1).await;
        assert_run_invoice(&issued, day);
        assert_eq!(issued["status"], json!("pending"), "{issued}");
        assert_eq!(totals(&issued), sums, "{issued}");
        assert_eq!(
            without_ids(&issued["line_items"]),
            without_ids(&shown["line_items"]),
            "customer {customer}"
        );
        assert_eq!(issued["customer_name"], shown["customer_name"]);
        assert_eq!(balance(&app, customer).await, -sums.2);
        let about: Vec<&str> = log
            .iter()
            .filter(|e| e.resource_id == id(&issued).to_string())
            .map(|e| e.r#type.as_str())
            .collect();
        assert_eq!(
            about,
            ["invoice.generated", "invoice.finalized"],
            "{issued}"
        );
    }

    // Now nothing is due.
    let after = dry_run(&app, json!({})).await;
    assert_eq!(counts(&after), [0; 5], "{after}");
    assert_eq!(after["invoices"], json!([]), "{after}");
}

// ---- the runs ----

async fn runs_are_listed_newest_first_and_read_by_id(app: TestApp) {
    // Far from midnight, so that "today" stays one day throughout.
    to_day(&app, today(&app) + Duration::days(1));
    let plan = plan_of(&app, "Home 30", 30.0, 1, json!({})).await;
    let euro = plan_of(&app, "Euro 30", 30.0, 1, json!({"currency": "EUR"})).await;
    let customer = billed(&app, "Listed", 1, "cycle", 1).await;
    activate(&app, customer, plan).await;
    // Its plan's currency is not the customer's: skipped.
    let foreign = billed(&app, "Foreign", 2, "cycle", 1).await;
    activate(&app, foreign, euro).await;
    let day = today(&app);

    let preview = dry_run(&app, json!({})).await;
    let (status, answer) = app.post(RUNS, &json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let queued = answer["data"]["billing_run"].clone();
    let run_id = id(&queued);
    for (field, expected) in [
        ("date", json!(date(day))),
        ("dry_run", json!(false)),
        ("status", json!("queued")),
        ("trigger", json!("api")),
        ("currency", json!("USD")),
    ] {
        assert_eq!(queued[field], expected, "{field}: {queued}");
    }
    assert!(queued["job_id"].is_i64(), "{queued}");
    let run = completed(&app, run_id).await;
    let fields = [
        "id",
        "date",
        "dry_run",
        "status",
        "trigger",
        "customers_count",
        "invoices_count",
        "credit_notes_count",
        "lines_count",
        "charges_count",
        "skipped_count",
        "subtotal",
        "tax_amount",
        "total_amount",
        "currency",
        "duration_ms",
        "created_at",
        "started_at",
        "finished_at",
        "error",
        "job_id",
        "attempts",
        "links",
    ];
    for shown in [&preview, &queued, &run] {
        for field in fields {
            assert!(shown.get(field).is_some(), "{field}: {shown}");
        }
    }
    for (field, expected) in [
        ("id", json!(run_id)),
        ("date", json!(date(day))),
        ("dry_run", json!(false)),
        ("status", json!("completed")),
        ("trigger", json!("api")),
        ("customers_count", json!(1)),
        ("invoices_count", json!(1)),
        ("credit_notes_count", json!(0)),
        ("charges_count", json!(1)),
        ("skipped_count", json!(1)),
        ("currency", json!("USD")),
        ("attempts", json!(1)),
        ("job_id", queued["job_id"].clone()),
    ] {
        assert_eq!(run[field], expected, "{field}: {run}");
    }
    assert!(
        run["error"].is_null() || run["error"] == json!(""),
        "no error: {run}"
    );
    assert!(run["duration_ms"].as_i64().is_some_and(|d| d >= 0), "{run}");
    let (created, started, finished) = (
        time(&run["created_at"]),
        time(&run["started_at"]),
        time(&run["finished_at"]),
    );
    assert!(created <= started && started <= finished, "{run}");
    assert!(
        run["links"]["self"]
            .as_str()
            .is_some_and(|l| l.ends_with(&format!("{RUNS}/{run_id}"))),
        "{run}"
    );
    assert_eq!(preview["trigger"], json!("api"), "{preview}");
    assert_eq!(preview["skipped_count"], json!(1), "{preview}");
    assert_eq!(counts(&preview), counts(&run), "{preview}");
    assert_eq!(totals(&preview), totals(&run), "{preview}");

    // A retry with the same Idempotency-Key is the same run.
    let retry = || {
        app.request(reqwest::Method::POST, RUNS)
            .header("Idempotency-Key", "billing-run-retry-1")
            .json(&json!({"dry_run": false}))
    };
    let (status, first) = send(retry()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, second) = send(retry()).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    let retried = id(&first["data"]["billing_run"]);
    assert_eq!(id(&second["data"]["billing_run"]), retried, "{second}");
    let retried_run = completed(&app, retried).await;
    assert_eq!(
        counts(&retried_run),
        [0; 5],
        "already charged: {retried_run}"
    );

    // Newest first, paged.
    let (status, list) = app.get(RUNS).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let ids: Vec<i64> = items(&list, "billing_runs").iter().map(id).collect();
    assert_eq!(ids, [retried, run_id, id(&preview)], "{list}");
    assert_eq!(list["meta"]["total"], json!(3), "{list}");
    assert_eq!(items(&list, "billing_runs")[1], run, "{list}");
    let (status, page) = app.get(&format!("{RUNS}?per_page=2&page=2")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let ids: Vec<i64> = items(&page, "billing_runs").iter().map(id).collect();
    assert_eq!(ids, [id(&preview)], "{page}");
    assert_eq!(page["meta"]["last_page"], json!(2), "{page}");

    // By id; an unknown id is a 404 in the envelope.
    assert_eq!(get_run(&app, run_id).await, run);
    let shown = get_run(&app, id(&preview)).await;
    assert_eq!(shown["dry_run"], json!(true), "{shown}");
    let (status, answer) = app.get(&format!("{RUNS}/999999")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert_eq!(answer["success"], json!(false), "{answer}");
    assert!(answer.get("data").is_none(), "{answer}");
}

async fn bad_run_requests_are_422_on_their_field(app: TestApp) {
    // Far from midnight, so that "tomorrow" stays after today throughout.
    to_day(&app, today(&app) + Duration::days(1));
    let tomorrow = date(today(&app) + Duration::days(1));
    let not_a_date = "The date must be a date (YYYY-MM-DD).";
    let after_today = "The date must not be after today.";
    let cases = [
        (json!({"date": "2027-02-30"}), "date", Some(not_a_date)),
        (json!({"date": "15/03/2027"}), "date", Some(not_a_date)),
        // Past, so refused for its shape only.
        (json!({"date": "2020-1-5"}), "date", Some(not_a_date)),
        (json!({"date": 20_200_105}), "date", None),
        (json!({"date": tomorrow}), "date", Some(after_today)),
        (
            json!({"date": tomorrow, "dry_run": true}),
            "date",
            Some(after_today),
        ),
        (json!({"dry_run": "yes"}), "dry_run", None),
        (
            json!({"dry_run": true, "preview_limit": 0}),
            "preview_limit",
            None,
        ),
        (
            json!({"dry_run": true, "preview_limit": 1001}),
            "preview_limit",
            None,
        ),
        (
            json!({"dry_run": true, "preview_limit": "ten"}),
            "preview_limit",
            None,
        ),
        (
            json!({"dry_run": true, "preview_limit": 2.5}),
            "preview_limit",
            None,
        ),
    ];
    for (body, field, message) in cases {
        let (status, answer) = app.post(RUNS, &body).await;
        assert_invalid(status, &answer, field);
        if let Some(message) = message {
            assert_eq!(
                answer["errors"][field][0],
                json!(message),
                "{body}: {answer}"
            );
        }
    }
    // 1 and 1000 are the limits, and are accepted.
    for limit in [1, 1000] {
        dry_run(&app, json!({"preview_limit": limit})).await;
    }
    // Nothing was queued by the refused requests: only the two dry runs exist.
    let (_, list) = app.get(RUNS).await;
    assert_eq!(list["meta"]["total"], json!(2), "{list}");
}

// ---- the scheduler ----

async fn the_scheduler_starts_a_run_every_day_at_its_time(app: TestApp) {
    let tomorrow = today(&app) + Duration::days(1);
    let scheduled_for = |list: &Value, day: NaiveDate| -> Vec<Value> {
        items(list, "billing_runs")
            .iter()
            .filter(|r| r["trigger"] == json!("schedule") && r["date"] == json!(date(day)))
            .cloned()
            .collect()
    };
    // 01:00: not yet time.
    let one = NaiveTime::from_hms_opt(1, 0, 0).expect("a valid time");
    advance_to(&app, tomorrow.and_time(one).and_utc());
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    let (status, list) = app.get(&format!("{RUNS}?per_page=100")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(
        scheduled_for(&list, tomorrow),
        Vec::<Value>::new(),
        "{list}"
    );

    // Past 02:00: a run of that day, by the schedule, without anyone asking.
    let half_past_two = NaiveTime::from_hms_opt(2, 30, 0).expect("a valid time");
    advance_to(&app, tomorrow.and_time(half_past_two).and_utc());
    let started = Instant::now();
    let run = loop {
        let (_, list) = app.get(&format!("{RUNS}?per_page=100")).await;
        let found = scheduled_for(&list, tomorrow);
        if let Some(run) = found.iter().find(|r| r["status"] == json!("completed")) {
            assert_eq!(found.len(), 1, "one run per day: {list}");
            break run.clone();
        }
        assert!(
            started.elapsed() < StdDuration::from_secs(90),
            "no scheduled run of {tomorrow} completed after 90 s: {list}"
        );
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    };
    assert_eq!(run["dry_run"], json!(false), "{run}");
    assert!(run["job_id"].is_i64(), "{run}");
}

// ---- gRPC ----

async fn billing_runs_over_grpc(app: TestApp) {
    let calendar = Calendar::of(&app);
    let key = app.admin_key.clone();
    let plan = plan_of(&app, "Home 30", 30.0, 1, json!({})).await;
    let customer = billed(&app, "Remote", 1, "prorata", 1).await;
    let day = calendar.day("2027-03-15");
    to_day(&app, day);
    let service = activate(&app, customer, plan).await;
    let mut billing = BillingServiceClient::new(app.grpc_channel().await);
    let money = |m: &Option<lastmile_proto::v1::Money>| m.as_ref().expect("money").minor_units;

    // 17 of March's 31 days: 3000 × 17 / 31 = 1645.16 → 1645.
    let preview = billing
        .run_billing(with_key(
            RunBillingRequest {
                date: String::new(),
                dry_run: true,
                preview_limit: None,
            },
            &key,
        ))
        .await
        .expect("RunBilling, dry")
        .into_inner()
        .billing_run
        .expect("the run");
    assert_eq!(preview.status, BillingRunStatus::Completed as i32);
    assert!(preview.dry_run);
    assert_eq!(preview.date, date(day));
    assert_eq!(preview.trigger, "api");
    assert_eq!(preview.job_id, None);
    assert_eq!(
        (
            preview.customers_count,
            preview.invoices_count,
            preview.charges_count
        ),
        (1, 1, 1)
    );
    assert_eq!(money(&preview.total_amount), 1645);
    assert!(!preview.preview_truncated);
    assert_eq!(preview.invoices.len(), 1, "{preview:?}");
    let shown = &preview.invoices[0];
    assert_eq!(shown.customer_id, customer);
    assert_eq!(shown.kind, InvoiceKind::Invoice as i32);
    assert_eq!(money(&shown.total_amount), 1645);
    assert_eq!(shown.line_items.len(), 1, "{shown:?}");
    let line = &shown.line_items[0];
    assert_eq!(line.id, 0);
    assert_eq!(line.kind, "proration");
    assert_eq!(line.service_id, Some(service));
    assert_eq!(line.proration_factor, "0.548387");
    assert_eq!(line.period_start, calendar.text("2027-03-15"));
    assert_eq!(line.period_end, calendar.text("2027-03-31"));
    assert_eq!(money(&line.amount), 1645);
    assert_eq!(money(&line.unit_amount), 3000);

    let queued = billing
        .run_billing(with_key(
            RunBillingRequest {
                date: date(day),
                dry_run: false,
                preview_limit: None,
            },
            &key,
        ))
        .await
        .expect("RunBilling")
        .into_inner()
        .billing_run
        .expect("the run");
    assert_eq!(queued.status, BillingRunStatus::Queued as i32);
    assert!(!queued.dry_run);
    assert!(queued.job_id.is_some(), "{queued:?}");
    let started = Instant::now();
    let run = loop {
        let run = billing
            .get_billing_run(with_key(GetBillingRunRequest { id: queued.id }, &key))
            .await
            .expect("GetBillingRun")
            .into_inner()
            .billing_run
            .expect("the run");
        if run.status == BillingRunStatus::Completed as i32 {
            break run;
        }
        assert_ne!(run.status, BillingRunStatus::Failed as i32, "{run:?}");
        assert!(
            started.elapsed() < StdDuration::from_secs(90),
            "not completed after 90 s: {run:?}"
        );
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    };
    assert_eq!(
        (
            run.customers_count,
            run.invoices_count,
            run.lines_count,
            run.charges_count
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(money(&run.total_amount), 1645);
    assert_eq!(run.currency, "USD");
    assert_eq!(run.attempts, 1);
    assert!(run.finished_at.is_some() && run.started_at.is_some());
    // The same line was issued.
    let issued = newest_of(&app, customer, 1).await;
    assert_eq!(cents(&issued["total_amount"]), 1645, "{issued}");

    let list = billing
        .list_billing_runs(with_key(
            ListBillingRunsRequest {
                page: Some(PageRequest {
                    page: 1,
                    per_page: 10,
                }),
            },
            &key,
        ))
        .await
        .expect("ListBillingRuns")
        .into_inner();
    let ids: Vec<i64> = list.billing_runs.iter().map(|r| r.id).collect();
    assert_eq!(ids, [queued.id, preview.id]);
    assert_eq!(list.meta.expect("meta").total, 2);

    let missing = billing
        .get_billing_run(with_key(GetBillingRunRequest { id: 999_999 }, &key))
        .await
        .expect_err("no such run");
    assert_eq!(missing.code(), tonic::Code::NotFound, "{missing:?}");
    let tomorrow = date(day + Duration::days(1));
    for (date, preview_limit) in [
        ("2027-02-30".to_owned(), None),
        (tomorrow, None),
        (String::new(), Some(1001)),
        (String::new(), Some(0)),
    ] {
        let refused = billing
            .run_billing(with_key(
                RunBillingRequest {
                    date: date.clone(),
                    dry_run: true,
                    preview_limit,
                },
                &key,
            ))
            .await
            .expect_err("refused");
        assert_eq!(
            refused.code(),
            tonic::Code::InvalidArgument,
            "{date} {preview_limit:?}: {refused:?}"
        );
    }
}

//! Dunning as clients see it. What a client can rely on:
//!
//! - `POST /api/v1/billing/dunning` runs dunning at once and answers 200 with what the run
//!   did: `reminders` ({invoice_id, offset_days}), `suspended_customer_ids`,
//!   `reactivated_customer_ids` and `run_at` (the servers' now); the scheduler runs the same
//!   every hour, and a run catches up whatever an earlier one missed;
//! - reminders follow the billing settings' `reminder_days` (days relative to an unpaid
//!   invoice's due date, default [-3, 0, 7]): each is sent once per invoice, on its day or
//!   at the first run after it; when several are reached at once only the latest is sent
//!   and the earlier ones never follow; up to the due date as `invoice.due_soon`, after it as
//!   `payment.overdue`, each with the invoice; paid invoices get none, and no days, none;
//! - a customer with `auto_suspension` whose oldest unpaid invoice is at least
//!   `suspend_after_days` past its due date (and past it at all: with 0 days, from the day
//!   after) is suspended with the reason `non_payment`: its active services are suspended
//!   and the network refuses them on the next request, and `customer.suspended` is emitted;
//! - a payment that leaves nothing past that grace activates such a customer at once, with
//!   exactly the services the suspension took (a service suspended by hand stays
//!   suspended), and emits `customer.reactivated`; a void or a credit note that clears the
//!   debt does the same at the next run; a customer without `auto_suspension`, or suspended
//!   by a person, is never suspended or activated by dunning;
//! - however many runs go at once (the hourly one beside a request), each reminder,
//!   suspension and reactivation happens once and every run answers 200; a customer who
//!   pays while a run is deciding is not cut off;
//! - `reminder_days` holds at most 10 days, each from -60 to 365, sorted and without
//!   duplicates.
//!
//! Time comes only from the servers' injected clock, and no job worker runs, so the only
//! dunning runs are the test's own. Where FreeRADIUS is installed, what the network answers
//! is proved against a real one reading the test's database (absent, those checks are
//! skipped with a message, and fail under CI).

use chrono::{Duration, NaiveTime};
use lastmile_core::clock::Clock;
use lastmile_tests::radius::{FreeRadius, Login, freeradius_available};
use lastmile_tests::{
    StatusCode, TestApp, customer_body, engine_tests, json, postgres_tests, send,
};
use serde_json::Value;

use crate::invoices::{cents, credit, invoice_due, pay, today, void};
use crate::services::{plan, service};
use crate::tickets::{advance_to, assert_invalid, event_data, events, id, time, without_workers};

engine_tests!(with = without_workers;
    reminders_are_sent_once_each_at_their_day,
    an_unpaid_customer_is_cut_off_after_the_grace_and_restored_by_payment,
    a_customer_without_auto_suspension_or_suspended_by_hand_is_left_alone,
    a_void_or_credit_note_clears_the_suspension_on_the_next_run,
    concurrent_runs_send_each_reminder_once,
    concurrent_runs_suspend_and_reactivate_each_customer_once,
    reminder_days_have_defaults_and_are_validated,
);

// A payment that lands while a run is deciding: only PostgreSQL lets a test hold a
// customer's row lock to put the two in a known order.
postgres_tests!(with = without_workers;
    a_customer_who_pays_while_a_run_decides_is_not_suspended,
);

const DUNNING: &str = "/api/v1/billing/dunning";
const SETTINGS: &str = "/api/v1/settings/billing";
const SECRET: &str = "dunning-radius-secret";
const PASSWORD: &str = "s3cret-pw";

// ---- helpers ----

/// Moves the servers' clock to 01:00 UTC of the next day (the test deployment counts
/// billing days in UTC), so that no midnight of real time passes while a test counts days.
fn to_next_morning(app: &TestApp) {
    let tomorrow = today(app) + Duration::days(1);
    let one_am = NaiveTime::from_hms_opt(1, 0, 0).expect("a valid time");
    advance_to(app, tomorrow.and_time(one_am).and_utc());
}

/// Moves the servers' clock `n` days forward.
fn days(app: &TestApp, n: i64) {
    app.clock.advance(Duration::days(n));
}

/// Runs dunning as the admin with an empty body; answers the run's `data`, after checking
/// its shape and that it ran at the servers' now.
async fn run(app: &TestApp) -> Value {
    let before = app.clock.now();
    let (status, answer) = send(app.request(reqwest::Method::POST, DUNNING)).await;
    let after = app.clock.now();
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["success"], json!(true), "{answer}");
    let data = answer["data"].clone();
    let mut keys: Vec<&str> = data
        .as_object()
        .unwrap_or_else(|| panic!("no data in {answer}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "reactivated_customer_ids",
            "reminders",
            "run_at",
            "suspended_customer_ids"
        ],
        "{answer}"
    );
    let run_at = time(&data["run_at"]);
    assert!(
        before <= run_at && run_at <= after,
        "{before} ≤ {run_at} ≤ {after}"
    );
    data
}

/// The reminders of a run as (invoice, offset in days), by invoice.
#[track_caller]
fn reminders(report: &Value) -> Vec<(i64, i64)> {
    let mut sent: Vec<(i64, i64)> = report["reminders"]
        .as_array()
        .unwrap_or_else(|| panic!("no reminders in {report}"))
        .iter()
        .map(|r| {
            let field = |name: &str| r[name].as_i64().unwrap_or_else(|| panic!("{r}"));
            (field("invoice_id"), field("offset_days"))
        })
        .collect();
    sent.sort_unstable();
    sent
}

/// The customer ids of a run's `list`, ascending.
#[track_caller]
fn customers_in(report: &Value, list: &str) -> Vec<i64> {
    let mut ids: Vec<i64> = report[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list} in {report}"))
        .iter()
        .map(|c| c.as_i64().unwrap_or_else(|| panic!("{report}")))
        .collect();
    ids.sort_unstable();
    ids
}

/// Checks whom a run suspended and whom it activated again.
#[track_caller]
fn assert_moved(report: &Value, suspended: &[i64], reactivated: &[i64]) {
    assert_eq!(
        customers_in(report, "suspended_customer_ids"),
        suspended,
        "suspended: {report}"
    );
    assert_eq!(
        customers_in(report, "reactivated_customer_ids"),
        reactivated,
        "reactivated: {report}"
    );
}

/// A customer with these dunning fields; answers its id.
async fn debtor(app: &TestApp, name: &str, phone: &str, auto: bool, grace: i64) -> i64 {
    let mut body = customer_body(name, phone);
    body["auto_suspension"] = json!(auto);
    body["suspend_after_days"] = json!(grace);
    let (status, answer) = app.post("/api/v1/customers", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}: {answer}");
    let customer = &answer["data"]["customer"];
    assert_eq!(customer["auto_suspension"], json!(auto), "{customer}");
    assert_eq!(customer["suspend_after_days"], json!(grace), "{customer}");
    assert_eq!(customer["status"], json!("active"), "{customer}");
    id(customer)
}

/// A customer's (status, status_reason) as the admin reads it.
async fn standing(app: &TestApp, customer: i64) -> (String, Option<String>) {
    let (status, answer) = app.get(&format!("/api/v1/customers/{customer}")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let shown = &answer["data"]["customer"];
    (
        shown["status"]
            .as_str()
            .unwrap_or_else(|| panic!("{shown}"))
            .to_owned(),
        shown["status_reason"].as_str().map(str::to_owned),
    )
}

/// Checks a customer is suspended for `reason`.
async fn assert_suspended_for(app: &TestApp, customer: i64, reason: &str) {
    assert_eq!(
        standing(app, customer).await,
        ("suspended".to_owned(), Some(reason.to_owned())),
        "customer {customer}"
    );
}

/// Checks a customer is active.
async fn assert_active(app: &TestApp, customer: i64) {
    assert_eq!(
        standing(app, customer).await.0,
        "active",
        "customer {customer}"
    );
}

/// A service of `customer` on `plan` logging in as `username`; answers its id.
async fn line_of(app: &TestApp, customer: i64, plan: i64, username: &str) -> i64 {
    let created = service(
        app,
        customer,
        json!({"plan_id": plan, "username": username, "password": PASSWORD}),
    )
    .await;
    assert_eq!(created["status"], json!("active"), "{created}");
    id(&created)
}

/// A service's status as the admin reads it.
async fn service_status(app: &TestApp, service: i64) -> String {
    let (status, answer) = app.get(&format!("/api/v1/services/{service}")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let shown = &answer["data"]["service"];
    shown["status"]
        .as_str()
        .unwrap_or_else(|| panic!("{shown}"))
        .to_owned()
}

/// Suspends a service by hand.
async fn suspend_service(app: &TestApp, service: i64) {
    let path = format!("/api/v1/services/{service}/suspend");
    let (status, answer) = app.post(&path, &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

/// The network, when FreeRADIUS is installed: a real FreeRADIUS on the test's database.
struct Network(Option<FreeRadius>);

impl Network {
    /// Starts FreeRADIUS, or says it is skipped when it is not installed (a failure under
    /// CI).
    async fn start(app: &TestApp) -> Network {
        if freeradius_available() {
            Network(Some(FreeRadius::start(app, SECRET).await))
        } else {
            Network(None)
        }
    }

    /// Checks the network lets `username` in (at the 20/5 Mbit/s plan's rate) or refuses it.
    async fn assert_login(&self, username: &str, let_in: bool) {
        let Some(radius) = &self.0 else {
            return;
        };
        let expected = if let_in {
            Login::Accepted {
                rate: Some("5M/20M".to_owned()),
                ip: None,
            }
        } else {
            Login::Rejected
        };
        assert_eq!(
            radius.login(username, PASSWORD).await,
            expected,
            "{username}"
        );
    }
}

/// The (type, resource id) of every event of these types, oldest first.
async fn event_log(app: &TestApp, types: &[&str]) -> Vec<(String, i64)> {
    events(app, types)
        .await
        .iter()
        .map(|e| {
            let resource = e.resource_id.parse().unwrap_or_else(|_| panic!("{e:?}"));
            (e.r#type.clone(), resource)
        })
        .collect()
}

/// Sets the billing settings' `reminder_days` as the admin; answers them as stored.
async fn set_reminder_days(app: &TestApp, days: Value) -> Value {
    let (status, answer) = app.patch(SETTINGS, &json!({"reminder_days": days})).await;
    assert_eq!(status, StatusCode::OK, "{days}: {answer}");
    answer["data"]["billing_settings"]["reminder_days"].clone()
}

// ---- reminders ----

async fn reminders_are_sent_once_each_at_their_day(app: TestApp) {
    to_next_morning(&app);
    let start = today(&app);
    let day = |n: i64| start + Duration::days(n);
    // No automatic suspension: these runs are about reminders only.
    let ana = debtor(&app, "Ana", "+254733000001", false, 14).await;
    let ben = debtor(&app, "Ben", "+254733000002", false, 14).await;
    let cleo = debtor(&app, "Cleo", "+254733000003", false, 14).await;
    let eva = debtor(&app, "Eva", "+254733000004", false, 14).await;
    let anas = id(&invoice_due(&app, ana, 30.0, day(10)).await);
    let cleos = id(&invoice_due(&app, cleo, 25.0, day(10)).await);
    pay(&app, cleo, 25.0, Some(cleos)).await;

    // Day 0: the first reminder is three days before the due date of day 10, so none yet.
    let report = run(&app).await;
    assert_eq!(reminders(&report), []);
    assert_moved(&report, &[], &[]);

    // Day 7 = due − 3: the first; a second run on the same day sends nothing again. Cleo's
    // invoice, due the same day but paid, gets none.
    days(&app, 7);
    assert_eq!(reminders(&run(&app).await), [(anas, -3)]);
    assert_eq!(reminders(&run(&app).await), []);

    // Day 10 = the due date: 0.
    days(&app, 3);
    assert_eq!(reminders(&run(&app).await), [(anas, 0)]);
    // Day 11: the next is a week after the due date.
    days(&app, 1);
    assert_eq!(reminders(&run(&app).await), []);
    // Day 17 = due + 7: 7, once.
    days(&app, 6);
    assert_eq!(reminders(&run(&app).await), [(anas, 7)]);
    assert_eq!(reminders(&run(&app).await), []);

    // Ben's invoice is due on day 17 and first seen on day 25, 8 days past due: -3, 0 and
    // 7 have all been reached, and only the latest, 7, is sent; the others never follow.
    let bens = id(&invoice_due(&app, ben, 40.0, day(17)).await);
    days(&app, 8);
    assert_eq!(reminders(&run(&app).await), [(bens, 7)]);
    assert_eq!(reminders(&run(&app).await), []);

    // Without reminder days no reminder is sent: Eva's invoice, due on day 25, is a week
    // past due on day 32 and gets none.
    assert_eq!(set_reminder_days(&app, json!([])).await, json!([]));
    let evas = id(&invoice_due(&app, eva, 15.0, day(25)).await);
    days(&app, 7);
    assert_eq!(reminders(&run(&app).await), []);
    // Nothing was recorded meanwhile: with the days back, Eva's latest reached day (7) is
    // sent, and nobody else's again.
    assert_eq!(
        set_reminder_days(&app, json!([-3, 0, 7])).await,
        json!([-3, 0, 7])
    );
    let report = run(&app).await;
    assert_eq!(reminders(&report), [(evas, 7)]);
    assert_moved(&report, &[], &[]);

    // One event per reminder, with the invoice as it was when sent: up to the due date
    // `invoice.due_soon`, after it `payment.overdue`.
    let found = events(&app, &["invoice.due_soon", "payment.overdue"]).await;
    let sent: Vec<(&str, i64, bool, i64)> = found
        .iter()
        .map(|e| {
            let data = event_data(e);
            assert_eq!(e.resource_type, "invoice", "{e:?}");
            assert_eq!(data["id"].as_f64(), e.resource_id.parse().ok(), "{data}");
            assert_eq!(data["status"], json!("pending"), "{data}");
            (
                e.r#type.as_str(),
                id_of(&data),
                data["overdue"]
                    .as_bool()
                    .unwrap_or_else(|| panic!("{data}")),
                data["days_overdue"]
                    .as_i64()
                    .unwrap_or_else(|| panic!("{data}")),
            )
        })
        .collect();
    assert_eq!(
        sent,
        [
            ("invoice.due_soon", anas, false, 0),
            ("invoice.due_soon", anas, false, 0),
            ("payment.overdue", anas, true, 7),
            ("payment.overdue", bens, true, 8),
            ("payment.overdue", evas, true, 7),
        ]
    );
    let first = event_data(&found[0]);
    assert_eq!(cents(&first["amount_due"]), 3000, "{first}");
    assert_eq!(first["customer_id"].as_f64(), Some(ana as f64), "{first}");
}

/// The id of an event's resource JSON (numbers there may be floats).
#[track_caller]
fn id_of(data: &Value) -> i64 {
    let value = data["id"]
        .as_f64()
        .unwrap_or_else(|| panic!("no id in {data}"));
    value as i64
}

// ---- suspension and reactivation ----

async fn an_unpaid_customer_is_cut_off_after_the_grace_and_restored_by_payment(app: TestApp) {
    to_next_morning(&app);
    let home = plan(&app, "Home 20", 20.0, 5.0).await;
    let dora = debtor(&app, "Dora", "+254733000011", true, 5).await;
    let online = line_of(&app, dora, home, "dora-home").await;
    let spare = line_of(&app, dora, home, "dora-spare").await;
    // The spare line was suspended by the operator before any dunning.
    suspend_service(&app, spare).await;
    let network = Network::start(&app).await;
    network.assert_login("dora-home", true).await;
    network.assert_login("dora-spare", false).await;

    let due = today(&app);
    let bill = id(&invoice_due(&app, dora, 50.0, due).await);

    // On the due date nothing is past due: only the day's reminder.
    let report = run(&app).await;
    assert_moved(&report, &[], &[]);
    assert_eq!(reminders(&report), [(bill, 0)]);

    // 4 days past due: one short of the 5 days' grace.
    days(&app, 4);
    assert_moved(&run(&app).await, &[], &[]);
    assert_active(&app, dora).await;
    assert_eq!(service_status(&app, online).await, "active");
    network.assert_login("dora-home", true).await;

    // 5 days past due, at least the grace: cut off, with the line that was active.
    days(&app, 1);
    let report = run(&app).await;
    assert_moved(&report, &[dora], &[]);
    assert_eq!(reminders(&report), []);
    assert_suspended_for(&app, dora, "non_payment").await;
    assert_eq!(service_status(&app, online).await, "suspended");
    assert_eq!(service_status(&app, spare).await, "suspended");
    network.assert_login("dora-home", false).await;
    network.assert_login("dora-spare", false).await;
    // Suspended once: the next run leaves her as she is.
    assert_moved(&run(&app).await, &[], &[]);

    // 30.00 of 50.00 leaves 20.00 still 5 days past due: still cut off.
    pay(&app, dora, 30.0, Some(bill)).await;
    assert_suspended_for(&app, dora, "non_payment").await;
    network.assert_login("dora-home", false).await;
    assert_moved(&run(&app).await, &[], &[]);
    assert_suspended_for(&app, dora, "non_payment").await;

    // The last 20.00: back at once, with exactly the line dunning took.
    pay(&app, dora, 20.0, Some(bill)).await;
    assert_active(&app, dora).await;
    assert_eq!(service_status(&app, online).await, "active");
    assert_eq!(service_status(&app, spare).await, "suspended");
    network.assert_login("dora-home", true).await;
    network.assert_login("dora-spare", false).await;
    // Nothing left for a run to do.
    assert_moved(&run(&app).await, &[], &[]);

    let found = events(&app, &["customer.suspended", "customer.reactivated"]).await;
    let about_dora: Vec<(&str, Value)> = found
        .iter()
        .filter(|e| e.resource_id == dora.to_string())
        .map(|e| (e.r#type.as_str(), event_data(e)))
        .collect();
    let types: Vec<&str> = about_dora.iter().map(|(t, _)| *t).collect();
    assert_eq!(types, ["customer.suspended", "customer.reactivated"]);
    let (_, suspended) = &about_dora[0];
    assert_eq!(suspended["status"], json!("suspended"), "{suspended}");
    assert_eq!(
        suspended["status_reason"],
        json!("non_payment"),
        "{suspended}"
    );
    let (_, reactivated) = &about_dora[1];
    assert_eq!(reactivated["status"], json!("active"), "{reactivated}");
    assert_eq!(id_of(reactivated), dora);
}

async fn a_customer_without_auto_suspension_or_suspended_by_hand_is_left_alone(app: TestApp) {
    to_next_morning(&app);
    let home = plan(&app, "Home 20", 20.0, 5.0).await;
    // Ed is never suspended automatically, whatever his grace.
    let ed = debtor(&app, "Edwin", "+254733000021", false, 0).await;
    let eds_line = line_of(&app, ed, home, "ed-home").await;
    // Fay would be, the day after a due date; but a person suspends her first.
    let fay = debtor(&app, "Fay", "+254733000022", true, 0).await;
    let fays_line = line_of(&app, fay, home, "fay-home").await;
    let network = Network::start(&app).await;
    let eds = id(&invoice_due(&app, ed, 20.0, today(&app)).await);
    let fays = id(&invoice_due(&app, fay, 20.0, today(&app)).await);
    let path = format!("/api/v1/customers/{fay}/action");
    let (status, answer) = app
        .post(
            &path,
            &json!({"action": "suspend", "reason": "fraud check"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_suspended_for(&app, fay, "fraud check").await;
    network.assert_login("fay-home", false).await;

    // 30 days past due.
    days(&app, 30);
    assert_moved(&run(&app).await, &[], &[]);
    assert_active(&app, ed).await;
    assert_eq!(service_status(&app, eds_line).await, "active");
    network.assert_login("ed-home", true).await;
    assert_suspended_for(&app, fay, "fraud check").await;

    // Fay pays everything: her suspension was not dunning's, so it stays.
    pay(&app, fay, 20.0, Some(fays)).await;
    assert_suspended_for(&app, fay, "fraud check").await;
    assert_eq!(service_status(&app, fays_line).await, "suspended");
    network.assert_login("fay-home", false).await;
    assert_moved(&run(&app).await, &[], &[]);
    assert_suspended_for(&app, fay, "fraud check").await;
    network.assert_login("fay-home", false).await;

    // Ed's payment changes nothing either.
    pay(&app, ed, 20.0, Some(eds)).await;
    assert_active(&app, ed).await;
    assert_moved(&run(&app).await, &[], &[]);

    // The only suspension is the person's; nobody was reactivated.
    assert_eq!(
        event_log(&app, &["customer.suspended", "customer.reactivated"]).await,
        [("customer.suspended".to_owned(), fay)]
    );
}

async fn a_void_or_credit_note_clears_the_suspension_on_the_next_run(app: TestApp) {
    to_next_morning(&app);
    let home = plan(&app, "Home 20", 20.0, 5.0).await;
    let gus = debtor(&app, "Gustav", "+254733000031", true, 0).await;
    let hana = debtor(&app, "Hana", "+254733000032", true, 0).await;
    let guss_line = line_of(&app, gus, home, "gus-home").await;
    let hanas_line = line_of(&app, hana, home, "hana-home").await;
    let network = Network::start(&app).await;
    let guss = id(&invoice_due(&app, gus, 40.0, today(&app)).await);
    let hanas = id(&invoice_due(&app, hana, 40.0, today(&app)).await);

    // Without grace both are cut off the day after the due date.
    assert_moved(&run(&app).await, &[], &[]);
    days(&app, 1);
    assert_moved(&run(&app).await, &[gus, hana], &[]);
    for (customer, line, username) in [
        (gus, guss_line, "gus-home"),
        (hana, hanas_line, "hana-home"),
    ] {
        assert_suspended_for(&app, customer, "non_payment").await;
        assert_eq!(service_status(&app, line).await, "suspended");
        network.assert_login(username, false).await;
    }

    // Gus's invoice is voided: nothing is owed. Hana's is credited 10.00 of 40.00: 30.00
    // is still a day past due.
    void(&app, guss).await;
    credit(&app, hanas, json!({"amount": 10.0, "reason": "Outage"})).await;
    assert_moved(&run(&app).await, &[], &[gus]);
    assert_active(&app, gus).await;
    assert_eq!(service_status(&app, guss_line).await, "active");
    network.assert_login("gus-home", true).await;
    assert_suspended_for(&app, hana, "non_payment").await;
    network.assert_login("hana-home", false).await;

    // The rest of Hana's invoice is credited: back at the next run.
    credit(&app, hanas, json!({"reason": "Outage"})).await;
    assert_moved(&run(&app).await, &[], &[hana]);
    assert_active(&app, hana).await;
    assert_eq!(service_status(&app, hanas_line).await, "active");
    network.assert_login("hana-home", true).await;
    assert_moved(&run(&app).await, &[], &[]);

    assert_eq!(
        event_log(&app, &["customer.reactivated"]).await,
        [
            ("customer.reactivated".to_owned(), gus),
            ("customer.reactivated".to_owned(), hana)
        ]
    );
}

// ---- concurrent runs ----
//
// The scheduler's hourly run may meet a run asked for over the API, or a payment.

/// How many runs go at once.
const AT_ONCE: usize = 8;

/// Runs dunning `AT_ONCE` times at once; every run must answer 200. Answers the runs'
/// reminders, suspended and reactivated customers, all together.
async fn runs_at_once(app: &TestApp) -> (Vec<(i64, i64)>, Vec<i64>, Vec<i64>) {
    let answers = futures::future::join_all(
        (0..AT_ONCE).map(|_| send(app.request(reqwest::Method::POST, DUNNING))),
    )
    .await;
    let (mut sent, mut suspended, mut reactivated) = (Vec::new(), Vec::new(), Vec::new());
    for (status, answer) in answers {
        assert_eq!(
            status,
            StatusCode::OK,
            "a run of {AT_ONCE} at once: {answer}"
        );
        let report = &answer["data"];
        sent.extend(reminders(report));
        suspended.extend(customers_in(report, "suspended_customer_ids"));
        reactivated.extend(customers_in(report, "reactivated_customer_ids"));
    }
    sent.sort_unstable();
    suspended.sort_unstable();
    reactivated.sort_unstable();
    (sent, suspended, reactivated)
}

/// Customers Ivo, Jana and Kofi (no grace), each with a line and an invoice of 20.00 due
/// today; answers their ids and their invoices'.
async fn three_debtors(app: &TestApp) -> (Vec<i64>, Vec<i64>) {
    let home = plan(app, "Home 20", 20.0, 5.0).await;
    let (mut customers, mut bills) = (Vec::new(), Vec::new());
    for (n, name) in ["Ivo", "Jana", "Kofi"].into_iter().enumerate() {
        let customer = debtor(app, name, &format!("+25473300004{n}"), true, 0).await;
        let username = format!("{}-home", name.to_lowercase());
        line_of(app, customer, home, &username).await;
        bills.push(id(&invoice_due(app, customer, 20.0, today(app)).await));
        customers.push(customer);
    }
    (customers, bills)
}

async fn concurrent_runs_send_each_reminder_once(app: TestApp) {
    to_next_morning(&app);
    let (_, bills) = three_debtors(&app).await;

    // On the due date: each invoice's reminder 0, sent by one of the runs only.
    let (sent, _, _) = runs_at_once(&app).await;
    let expected: Vec<(i64, i64)> = bills.iter().map(|b| (*b, 0)).collect();
    assert_eq!(sent, expected, "reminders of {AT_ONCE} runs at once");
    let mut reminded: Vec<i64> = event_log(&app, &["invoice.due_soon", "payment.overdue"])
        .await
        .into_iter()
        .map(|(_, invoice)| invoice)
        .collect();
    reminded.sort_unstable();
    assert_eq!(reminded, bills, "one reminder event per invoice");
}

async fn concurrent_runs_suspend_and_reactivate_each_customer_once(app: TestApp) {
    to_next_morning(&app);
    // Reminders are the test above's.
    set_reminder_days(&app, json!([])).await;
    let (customers, bills) = three_debtors(&app).await;
    let nobody: Vec<i64> = Vec::new();

    // The day after the due date: each customer suspended by one run.
    days(&app, 1);
    let (_, suspended, reactivated) = runs_at_once(&app).await;
    assert_eq!((&suspended, &reactivated), (&customers, &nobody));

    // Voided: each customer activated again by one run.
    for bill in &bills {
        void(&app, *bill).await;
    }
    let (_, suspended, reactivated) = runs_at_once(&app).await;
    assert_eq!((&suspended, &reactivated), (&nobody, &customers));
    for customer in &customers {
        assert_active(&app, *customer).await;
    }
    for event_type in ["customer.suspended", "customer.reactivated"] {
        let mut about: Vec<i64> = event_log(&app, &[event_type])
            .await
            .into_iter()
            .map(|(_, customer)| customer)
            .collect();
        about.sort_unstable();
        assert_eq!(about, customers, "one {event_type} per customer");
    }
}

/// How many of the test database's sessions wait for a lock.
async fn waiting_for_locks(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    .fetch_one(pool)
    .await
    .expect("read pg_stat_activity")
}

/// Waits (up to 30 s of real time) until `n` sessions wait for a lock.
async fn until_waiting(pool: &sqlx::PgPool, n: i64) {
    let started = std::time::Instant::now();
    while waiting_for_locks(pool).await < n {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{n} sessions never waited for a lock"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

async fn a_customer_who_pays_while_a_run_decides_is_not_suspended(app: TestApp) {
    to_next_morning(&app);
    // Reminders are not what this is about.
    set_reminder_days(&app, json!([])).await;
    let home = plan(&app, "Home 20", 20.0, 5.0).await;
    let lena = debtor(&app, "Lena", "+254733000051", true, 0).await;
    let line = line_of(&app, lena, home, "lena-home").await;
    let network = Network::start(&app).await;
    let bill = id(&invoice_due(&app, lena, 20.0, today(&app)).await);
    // The day after the due date: without grace, she is due to be cut off.
    days(&app, 1);

    // Her row is held, so that the payment waits first and the run second; then both go,
    // in that order.
    let pool = sqlx::PgPool::connect(&app.database.url)
        .await
        .expect("connect to the test database");
    let mut held = pool.begin().await.expect("begin");
    sqlx::query("SELECT id FROM customers WHERE id = $1 FOR UPDATE")
        .bind(lena)
        .execute(&mut *held)
        .await
        .expect("lock the customer");
    let payment = pay(&app, lena, 20.0, Some(bill));
    let then_run = async {
        until_waiting(&pool, 1).await;
        let release = async {
            until_waiting(&pool, 2).await;
            held.commit().await.expect("release the customer");
        };
        tokio::join!(run(&app), release).0
    };
    let (_, report) = tokio::join!(payment, then_run);

    pool.close().await;
    assert_active(&app, lena).await;
    assert_eq!(service_status(&app, line).await, "active");
    network.assert_login("lena-home", true).await;
    // Paid in full before the run could act: nothing of hers was past due any more, so the
    // run must not have cut her off, not even for a moment.
    assert_eq!(
        event_log(&app, &["customer.suspended", "customer.reactivated"]).await,
        [],
        "{report}"
    );
    assert_moved(&report, &[], &[]);
}

// ---- settings ----

async fn reminder_days_have_defaults_and_are_validated(app: TestApp) {
    let (status, answer) = app.get(SETTINGS).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer["data"]["billing_settings"]["reminder_days"],
        json!([-3, 0, 7]),
        "{answer}"
    );

    let eleven: Vec<i64> = (1..=11).collect();
    for bad in [
        json!(eleven),
        json!([400]),
        json!([366]),
        json!([-61]),
        json!([1.5]),
        json!(["7"]),
        json!(7),
    ] {
        let (status, answer) = app.patch(SETTINGS, &json!({"reminder_days": bad})).await;
        assert_invalid(status, &answer, "reminder_days");
    }
    let (_, answer) = app.get(SETTINGS).await;
    assert_eq!(
        answer["data"]["billing_settings"]["reminder_days"],
        json!([-3, 0, 7]),
        "unchanged by refused updates"
    );

    // Sorted, duplicates dropped; the bounds are allowed; other settings stay.
    assert_eq!(
        set_reminder_days(&app, json!([14, -1, 14, 1, -1])).await,
        json!([-1, 1, 14])
    );
    assert_eq!(
        set_reminder_days(&app, json!([365, -60])).await,
        json!([-60, 365])
    );
    let ten: Vec<i64> = (1..=10).collect();
    assert_eq!(set_reminder_days(&app, json!(ten)).await, json!(ten));
    assert_eq!(set_reminder_days(&app, json!([])).await, json!([]));
    assert_eq!(set_reminder_days(&app, json!([0])).await, json!([0]));
    assert_eq!(set_reminder_days(&app, json!(null)).await, json!([]));
    let (_, answer) = app.get(SETTINGS).await;
    let settings = &answer["data"]["billing_settings"];
    assert_eq!(settings["reminder_days"], json!([]), "{settings}");
    assert_eq!(settings["payment_terms_days"], json!(14), "{settings}");
    assert_eq!(settings["invoice_prefix"], json!("INV"), "{settings}");
}

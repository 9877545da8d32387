//! Invoices as clients see them. What a client can rely on:
//!
//! - an invoice reads back as written, each line rounded half to even once
//!   (`amount × quantity × proration_factor`), its totals the sums of its lines;
//! - a line's tax is the rate it names, else the tax class of its service's plan, picked for
//!   the customer's country and region; inclusive prices are split, exclusive ones taxed;
//!   issued lines keep their tax when the rate changes; a tax-exempt customer pays none;
//! - numbers are `{prefix}-{year}-{NNNNNN}`, given at issue without gaps or duplicates, even
//!   under concurrent finalisations of which some roll back;
//! - drafts have no number and no place in the balance; only they are deleted; void
//!   reverses an unpaid invoice's debit; credit notes reduce what is due, then become
//!   credit; overdue follows the clock; lists filter as asked;
//! - the PDF prints the issuer, the customer (in any script), the number and the totals;
//! - the statement's running balance adds up from the opening to the closing balance;
//! - a reseller sees only its partner's invoices; each role does what its grants say;
//! - each change emits its event with the invoice, and gRPC serves the same life cycle.
//!
//! Expected amounts are computed by hand in the comments, never read from the server.
//!
//! The helpers marked `pub(crate)` are shared with `payments.rs`.

use std::collections::BTreeSet;

use chrono::{Datelike, Duration, NaiveDate};
use lastmile_core::clock::Clock;
use lastmile_core::identity::Role;
use lastmile_proto::v1::billing_service_client::BillingServiceClient;
use lastmile_proto::v1::payment_service_client::PaymentServiceClient;
use lastmile_proto::v1::{
    CreateInvoiceRequest, FinalizeInvoiceRequest, GetInvoiceRequest, GetStatementRequest,
    InvoiceInput, InvoiceLineInput, InvoiceStatus, ListInvoicesRequest, PayInvoiceRequest,
    PaymentKind, PaymentMethod,
};
use lastmile_tests::{Engine, StatusCode, TestApp, customer_body, engine_tests, json, with_key};
use serde_json::Value;

use crate::tickets::{
    as_key, assert_forbidden, assert_invalid, customer_of, event_data, events, id, number,
};

engine_tests!(
    a_manual_invoice_rounds_each_line_once_half_to_even,
    taxes_follow_the_line_the_plan_and_the_jurisdiction,
    bad_tax_rates_are_reported_on_their_field,
    bad_invoices_are_reported_on_their_field,
    numbers_have_no_gaps_under_concurrent_finalisations_and_rollbacks,
    drafts_are_numbered_at_finalisation_and_only_drafts_are_deleted,
    only_an_unpaid_invoice_is_voided_and_a_void_one_is_not_paid,
    credit_notes_reduce_what_is_due_and_then_become_credit,
    an_invoice_is_overdue_once_the_clock_passes_its_due_date,
    invoices_are_listed_newest_first_and_filtered,
    the_pdf_prints_the_issuer_the_customer_and_the_totals,
    billing_settings_have_defaults_and_name_the_next_series,
    the_statement_runs_from_the_opening_to_the_closing_balance,
    a_reseller_sees_only_its_partners_invoices_and_roles_do_what_they_may,
    invoice_changes_emit_their_events_with_the_invoice,
    an_invoice_life_cycle_over_grpc,
);

// ---- shared helpers ----

/// Minor units (cents) of an amount of the API: a JSON number with the currency's digits.
#[track_caller]
pub(crate) fn cents(value: &Value) -> i64 {
    let amount = value
        .as_f64()
        .unwrap_or_else(|| panic!("not an amount: {value}"));
    (amount * 100.0).round() as i64
}

/// The servers' day (UTC), on which invoices are issued.
pub(crate) fn today(app: &TestApp) -> NaiveDate {
    app.clock.now().date_naive()
}

/// A date as the API writes it.
pub(crate) fn date(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// The `n`th number of series `prefix` in the servers' year: `INV-2026-000001`.
pub(crate) fn numbered(app: &TestApp, prefix: &str, n: u32) -> String {
    format!("{prefix}-{}-{n:06}", today(app).year())
}

/// A line of `amount` without tax.
pub(crate) fn line(description: &str, amount: f64) -> Value {
    json!({"description": description, "amount": amount})
}

/// Creates an invoice as the admin (issued unless `draft` is set); answers `data.invoice`.
pub(crate) async fn create_invoice(app: &TestApp, body: Value) -> Value {
    let (status, answer) = app.post("/api/v1/billing/invoices", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}: {answer}");
    assert_eq!(answer["success"], json!(true), "{answer}");
    answer["data"]["invoice"].clone()
}

/// Issues an invoice of one untaxed line of `amount` to `customer`.
pub(crate) async fn simple_invoice(app: &TestApp, customer: i64, amount: f64) -> Value {
    create_invoice(
        app,
        json!({"customer_id": customer, "line_items": [line("Monthly service", amount)]}),
    )
    .await
}

/// Issues an invoice of one untaxed line of `amount` due on `due`.
pub(crate) async fn invoice_due(
    app: &TestApp,
    customer: i64,
    amount: f64,
    due: NaiveDate,
) -> Value {
    create_invoice(
        app,
        json!({"customer_id": customer, "due_date": date(due),
               "line_items": [line("Monthly service", amount)]}),
    )
    .await
}

/// The invoice as the admin reads it.
pub(crate) async fn invoice(app: &TestApp, invoice: i64) -> Value {
    let (status, answer) = app.get(&format!("/api/v1/invoices/{invoice}")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["data"]["invoice"].clone()
}

/// The customer's balance in cents (positive: credit).
pub(crate) async fn balance(app: &TestApp, customer: i64) -> i64 {
    let (status, answer) = app.get(&format!("/api/v1/customers/{customer}")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    cents(&answer["data"]["customer"]["balance"])
}

/// Records a cash payment as the admin, for `invoice` if given; answers `data.payment`.
pub(crate) async fn pay(app: &TestApp, customer: i64, amount: f64, invoice: Option<i64>) -> Value {
    let mut body = json!({"customer_id": customer, "amount": amount, "method": "cash"});
    if let Some(invoice) = invoice {
        body["invoice_id"] = json!(invoice);
    }
    let (status, answer) = app.post("/api/v1/payments", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}: {answer}");
    answer["data"]["payment"].clone()
}

/// Issues a credit note against `invoice` as the admin; answers `data.credit_note`.
pub(crate) async fn credit(app: &TestApp, invoice: i64, body: Value) -> Value {
    let (status, answer) = app
        .post(&format!("/api/v1/invoices/{invoice}/credit-notes"), &body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}: {answer}");
    answer["data"]["credit_note"].clone()
}

/// Voids `invoice` as the admin; answers it.
pub(crate) async fn void(app: &TestApp, invoice: i64) -> Value {
    let (status, answer) = app
        .post(
            &format!("/api/v1/invoices/{invoice}/void"),
            &json!({"reason": "Raised in error"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["data"]["invoice"].clone()
}

/// The customer's statement (`query` like `?from=…&to=…`); answers `data.statement`.
pub(crate) async fn statement(app: &TestApp, customer: i64, query: &str) -> Value {
    let path = format!("/api/v1/customers/{customer}/statement{query}");
    let (status, answer) = app.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {answer}");
    answer["data"]["statement"].clone()
}

/// Creates a tax rate as the admin; answers `data.tax_rate`.
pub(crate) async fn tax_rate(app: &TestApp, body: Value) -> Value {
    let (status, answer) = app.post("/api/v1/tax-rates", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}: {answer}");
    answer["data"]["tax_rate"].clone()
}

/// The entries of a list answer (`data.invoices`, `data.payments`).
#[track_caller]
pub(crate) fn items<'a>(answer: &'a Value, list: &str) -> &'a Vec<Value> {
    answer["data"][list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list} in {answer}"))
}

/// The ids of a list answer's `data.<list>`.
#[track_caller]
pub(crate) fn ids_in(answer: &Value, list: &str) -> Vec<i64> {
    items(answer, list).iter().map(id).collect()
}

/// A 409 in the envelope with a message.
#[track_caller]
pub(crate) fn assert_conflict(status: StatusCode, body: &Value, what: &str) {
    assert_eq!(status, StatusCode::CONFLICT, "{what}: {body}");
    assert_eq!(body["success"], json!(false), "{what}: {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: no message in {body}"
    );
}

/// A plan of this tax class; answers its id.
async fn plan_taxed_as(app: &TestApp, name: &str, tax_class: &str) -> i64 {
    let body = json!({"name": name, "speed_download_mbps": 20, "speed_upload_mbps": 5,
                      "monthly_fee": 49.99, "tax_class": tax_class});
    let (status, answer) = app.post("/api/v1/plans", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    id(&answer["data"]["plan"])
}

/// A customer created from `body`; answers its id.
async fn customer_from(app: &TestApp, body: Value) -> i64 {
    let (status, answer) = app.post("/api/v1/customers", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}: {answer}");
    id(&answer["data"]["customer"])
}

/// A service of `customer` on `plan`; answers its id.
async fn service_on(app: &TestApp, customer: i64, plan: i64) -> i64 {
    id(&crate::services::service(app, customer, json!({"plan_id": plan})).await)
}

/// Checks a line's money: (amount, tax_amount, total) in cents.
#[track_caller]
fn assert_line_money(line: &Value, (amount, tax, total): (i64, i64, i64)) {
    assert_eq!(
        (
            cents(&line["amount"]),
            cents(&line["tax_amount"]),
            cents(&line["total"])
        ),
        (amount, tax, total),
        "{line}"
    );
}

/// Checks an invoice's totals: (subtotal, tax_amount, total_amount) in cents.
#[track_caller]
fn assert_totals(invoice: &Value, (subtotal, tax, total): (i64, i64, i64)) {
    assert_eq!(
        (
            cents(&invoice["subtotal"]),
            cents(&invoice["tax_amount"]),
            cents(&invoice["total_amount"])
        ),
        (subtotal, tax, total),
        "{invoice}"
    );
}

/// Checks what is paid, credited and due on an invoice, in cents.
#[track_caller]
pub(crate) fn assert_settled(invoice: &Value, (paid, credited, due): (i64, i64, i64)) {
    assert_eq!(
        (
            cents(&invoice["amount_paid"]),
            cents(&invoice["amount_credited"]),
            cents(&invoice["amount_due"])
        ),
        (paid, credited, due),
        "{invoice}"
    );
}

/// The body of a GET as text, untouched (to see how amounts are printed).
async fn raw_get(app: &TestApp, path: &str) -> String {
    let response = app
        .request(reqwest::Method::GET, path)
        .send()
        .await
        .expect("HTTP request");
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.expect("HTTP body")
}

// ---- an invoice and its lines ----

async fn a_manual_invoice_rounds_each_line_once_half_to_even(app: TestApp) {
    let customer = id(&app.create_customer("Amina", "+254722000001").await);
    let due = today(&app) + Duration::days(30);
    let body = json!({
        "customer_id": customer,
        "invoice_type": "manual",
        "billing_period": {"start": "2026-03-01", "end": "2026-03-31"},
        "due_date": date(due),
        "notes": "Thank you for your business.",
        "line_items": [
            {"description": "Home 20, half of March", "amount": 49.99, "quantity": 1,
             "proration_factor": 0.5},
            {"description": "Static IP, half of March", "amount": 10.01, "quantity": 1,
             "proration_factor": 0.5},
            {"description": "Metered usage", "amount": 3.33, "quantity": 1.5,
             "proration_factor": 0.003},
            {"description": "Patch cables", "amount": 2.50, "quantity": 3},
            {"description": "Loyalty discount", "amount": -5.00},
        ],
    });
    let (status, answer) = app.post("/api/v1/billing/invoices", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["success"], json!(true));
    let created = answer["data"]["invoice"].clone();
    let invoice_id = id(&created);

    for (field, expected) in [
        ("invoice_number", json!(numbered(&app, "INV", 1))),
        ("kind", json!("invoice")),
        ("status", json!("pending")),
        ("invoice_type", json!("manual")),
        ("customer_id", json!(customer)),
        ("partner_id", json!(null)),
        ("customer_name", json!("Amina Tester")),
        ("currency", json!("USD")),
        ("issue_date", json!(date(today(&app)))),
        ("due_date", json!(date(due))),
        (
            "billing_period",
            json!({"start": "2026-03-01", "end": "2026-03-31"}),
        ),
        ("tax_breakdown", json!([])),
        ("overdue", json!(false)),
        ("days_overdue", json!(0)),
        ("credit_note_for", json!(null)),
        ("tax_exempt", json!(false)),
        ("notes", json!("Thank you for your business.")),
        ("paid_at", json!(null)),
        ("voided_at", json!(null)),
    ] {
        assert_eq!(created[field], expected, "{field}: {created}");
    }
    // RFC 3339 in UTC with six fractional digits: 2026-03-01T09:30:00.123456Z.
    for stamp in ["created_at", "finalized_at", "updated_at"] {
        let text = created[stamp].as_str().unwrap_or_default();
        assert!(
            text.len() == 27 && text.ends_with('Z') && text.as_bytes()[19] == b'.',
            "{stamp}: {created}"
        );
        crate::tickets::time(&created[stamp]);
    }
    for (link, path) in [
        ("self", format!("/api/v1/invoices/{invoice_id}")),
        ("pdf", format!("/api/v1/invoices/{invoice_id}/pdf")),
        ("customer", format!("/api/v1/customers/{customer}")),
    ] {
        assert!(
            created["links"][link]
                .as_str()
                .is_some_and(|l| l.ends_with(&path)),
            "links.{link}: {created}"
        );
    }

    // Each line rounded half to even once, from amount × quantity × proration factor:
    // (description, unit, quantity, factor, cents).
    let expected = [
        // 49.99 × 0.5 = 24.995: 2499.5 cents, whose even neighbour is 2500.
        ("Home 20, half of March", 4999, 1.0, 0.5, 2500),
        // 10.01 × 0.5 = 5.005: 500.5 cents, whose even neighbour is 500.
        ("Static IP, half of March", 1001, 1.0, 0.5, 500),
        // 3.33 × 1.5 × 0.003 = 0.014985: 1.4985 cents → 1. Rounding 3.33 × 1.5 = 4.995
        // to 5.00 first would give 1.5 cents → 2.
        ("Metered usage", 333, 1.5, 0.003, 1),
        // 2.50 × 3 = 7.50.
        ("Patch cables", 250, 3.0, 1.0, 750),
        // A discount is a negative line.
        ("Loyalty discount", -500, 1.0, 1.0, -500),
    ];
    let lines = created["line_items"].as_array().expect("line items");
    assert_eq!(lines.len(), expected.len(), "{created}");
    for (line, (description, unit, quantity, factor, amount)) in lines.iter().zip(expected) {
        assert!(id(line) > 0);
        assert_eq!(line["description"], json!(description), "{line}");
        assert_eq!(cents(&line["unit_amount"]), unit, "{line}");
        assert_eq!(number(&line["quantity"]), quantity, "{line}");
        assert_eq!(number(&line["proration_factor"]), factor, "{line}");
        assert_line_money(line, (amount, 0, amount));
        assert_eq!(line["service_id"], json!(null), "{line}");
        assert_eq!(line["tax_rate_id"], json!(null), "{line}");
        assert_eq!(line["tax_name"], json!(null), "{line}");
        assert_eq!(line["tax_inclusive"], json!(false), "{line}");
    }
    // 2500 + 500 + 1 + 750 − 500 = 3251: the sum of the lines, nothing taxed.
    assert_totals(&created, (3251, 0, 3251));
    assert_settled(&created, (0, 0, 3251));
    assert_eq!(balance(&app, customer).await, -3251);

    // It reads back the same by id and by number; amounts carry the currency's two digits.
    assert_eq!(invoice(&app, invoice_id).await, created);
    let by_number = format!("/api/v1/invoices/{}", numbered(&app, "INV", 1));
    let (status, answer) = app.get(&by_number).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["data"]["invoice"], created);
    let raw: String = raw_get(&app, &format!("/api/v1/invoices/{invoice_id}"))
        .await
        .split_whitespace()
        .collect();
    for printed in [
        "\"subtotal\":32.51",
        "\"tax_amount\":0.00",
        "\"amount_paid\":0.00",
        "\"amount\":25.00",
        "\"amount\":5.00",
    ] {
        assert!(raw.contains(printed), "{printed} in {raw}");
    }

    // Without a due date or a type: due after the 14 days' terms, a manual invoice, no
    // period; the next number. The /invoices route creates the same way.
    let second = simple_invoice(&app, customer, 10.0).await;
    assert_eq!(second["invoice_number"], json!(numbered(&app, "INV", 2)));
    assert_eq!(second["invoice_type"], json!("manual"));
    assert_eq!(
        second["due_date"],
        json!(date(today(&app) + Duration::days(14)))
    );
    assert_eq!(second["billing_period"], json!(null), "{second}");
    let (status, answer) = app
        .post(
            "/api/v1/invoices",
            &json!({"customer_id": customer, "invoice_type": "installation",
                    "line_items": [line("Installation", 25.0)]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let third = &answer["data"]["invoice"];
    assert_eq!(third["invoice_number"], json!(numbered(&app, "INV", 3)));
    assert_eq!(third["invoice_type"], json!("installation"));
    // −32.51 − 10.00 − 25.00 = −67.51.
    assert_eq!(balance(&app, customer).await, -6751);
}

// ---- taxes ----

async fn taxes_follow_the_line_the_plan_and_the_jurisdiction(app: TestApp) {
    let vat = tax_rate(
        &app,
        json!({"name": "VAT", "rate_percent": 16, "description": "Standard rate"}),
    )
    .await;
    for (field, expected) in [
        ("name", json!("VAT")),
        ("inclusive", json!(false)),
        ("country", json!(null)),
        ("region", json!(null)),
        ("active", json!(true)),
        ("description", json!("Standard rate")),
    ] {
        assert_eq!(vat[field], expected, "{field}: {vat}");
    }
    assert_eq!(vat["rate_percent"].as_f64(), Some(16.0), "{vat}");
    assert!(vat["created_at"].is_string() && vat["updated_at"].is_string());
    let vat_id = id(&vat);
    assert!(
        vat["links"]["self"]
            .as_str()
            .is_some_and(|l| l.ends_with(&format!("/api/v1/tax-rates/{vat_id}"))),
        "{vat}"
    );
    let included = tax_rate(
        &app,
        json!({"name": "VAT incl", "rate_percent": 16, "inclusive": true}),
    )
    .await;
    let included_id = id(&included);
    assert_eq!(included["inclusive"], json!(true));
    assert_eq!(included["rate_percent"].as_f64(), Some(16.0));
    let (status, answer) = app.get(&format!("/api/v1/tax-rates/{vat_id}")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["data"]["tax_rate"], vat);

    // One name, three jurisdictions.
    let sales_anywhere = id(&tax_rate(&app, json!({"name": "Sales", "rate_percent": 5})).await);
    let sales_us = id(&tax_rate(
        &app,
        json!({"name": "Sales", "rate_percent": 7.25, "country": "US"}),
    )
    .await);
    let sales_ny = tax_rate(
        &app,
        json!({"name": "Sales", "rate_percent": 8.875, "country": "US", "region": "NY"}),
    )
    .await;
    assert_eq!(sales_ny["country"], json!("US"));
    assert_eq!(sales_ny["region"], json!("NY"));
    let sales_ny = id(&sales_ny);
    let (_, list) = app.get("/api/v1/tax-rates").await;
    assert_eq!(list["meta"]["total"], json!(5), "{list}");

    let vat_plan = plan_taxed_as(&app, "Home 20 VAT", "VAT").await;
    let sales_plan = plan_taxed_as(&app, "Home 20 Sales", "Sales").await;

    // A line of a service is taxed by its plan's class; a line may name its rate.
    let wanjiru = id(&app.create_customer("Wanjiru", "+254722000011").await);
    let service = service_on(&app, wanjiru, vat_plan).await;
    let body = json!({"customer_id": wanjiru, "line_items": [
        {"description": "Home 20, March", "amount": 49.99, "service_id": service},
        {"description": "Router, VAT included", "amount": 116.00, "tax_rate_id": included_id},
        {"description": "Wall plugs, VAT included", "amount": 9.99, "quantity": 3,
         "tax_rate_id": included_id},
        line("Installation visit", 10.00),
    ]});
    let taxed = create_invoice(&app, body).await;
    let lines = taxed["line_items"].as_array().expect("lines");
    // 49.99 at 16 % exclusive: 7.9984 → 8.00 of tax, 57.99 in all.
    assert_line_money(&lines[0], (4999, 800, 5799));
    assert_eq!(lines[0]["service_id"], json!(service));
    assert_eq!(lines[0]["tax_rate_id"], json!(vat_id));
    assert_eq!(lines[0]["tax_name"], json!("VAT"));
    assert_eq!(lines[0]["tax_rate_percent"].as_f64(), Some(16.0));
    assert_eq!(lines[0]["tax_inclusive"], json!(false));
    // 116.00 including 16 %: tax 116.00 × 16 / 116 = 16.00, net 100.00.
    assert_line_money(&lines[1], (10_000, 1600, 11_600));
    assert_eq!(lines[1]["tax_rate_id"], json!(included_id));
    assert_eq!(lines[1]["tax_name"], json!("VAT incl"));
    assert_eq!(lines[1]["tax_inclusive"], json!(true));
    // 3 × 9.99 = 29.97 including 16 %: tax 29.97 × 16 / 116 = 4.1338 → 4.13, net 25.84.
    assert_line_money(&lines[2], (2584, 413, 2997));
    // No service, no rate: no tax.
    assert_line_money(&lines[3], (1000, 0, 1000));
    assert_eq!(lines[3]["tax_rate_id"], json!(null));
    assert_eq!(lines[3]["tax_name"], json!(null));
    // Subtotal 49.99 + 100.00 + 25.84 + 10.00 = 185.83; tax 8.00 + 16.00 + 4.13 = 28.13;
    // total 213.96 (= 57.99 + 116.00 + 29.97 + 10.00).
    assert_totals(&taxed, (18_583, 2813, 21_396));
    // Per rate: VAT 49.99 / 8.00; VAT incl 100.00 + 25.84 = 125.84 / 16.00 + 4.13 = 20.13.
    let mut breakdown: Vec<(i64, String, f64, bool, i64, i64)> = taxed["tax_breakdown"]
        .as_array()
        .expect("tax breakdown")
        .iter()
        .map(|b| {
            (
                b["tax_rate_id"].as_i64().expect("a tax rate id"),
                b["name"].as_str().expect("a name").to_owned(),
                number(&b["rate_percent"]),
                b["inclusive"].as_bool().expect("inclusive"),
                cents(&b["net"]),
                cents(&b["tax"]),
            )
        })
        .collect();
    breakdown.sort_by_key(|b| b.0);
    assert_eq!(
        breakdown,
        [
            (vat_id, "VAT".to_owned(), 16.0, false, 4999, 800),
            (included_id, "VAT incl".to_owned(), 16.0, true, 12_584, 2013),
        ],
        "{taxed}"
    );

    // The plan's class picks the rate of the customer's country and region, else of its
    // country, else the one without a country; a billing address outranks the address.
    let mut ny = customer_body("Nia", "+254722000012");
    ny["country"] = json!("US");
    ny["state"] = json!("NY");
    let mut tx = customer_body("Omar", "+254722000013");
    tx["country"] = json!("US");
    tx["state"] = json!("TX");
    let anywhere = customer_body("Pili", "+254722000014");
    let mut billed_in_tx = customer_body("Rashid", "+254722000015");
    billed_in_tx["country"] = json!("US");
    billed_in_tx["state"] = json!("NY");
    billed_in_tx["billing_address"] = json!({"street": "1 Congress Ave", "city": "Austin",
                                             "state": "TX", "country": "US"});
    let cases = [
        // 100.00 at 8.875 %: 887.5 cents, whose even neighbour is 888.
        (ny, sales_ny, 888),
        // No Texas rate: the United States' 7.25 %.
        (tx, sales_us, 725),
        // No country: the general 5 %.
        (anywhere, sales_anywhere, 500),
        // Billed in Texas though served in New York: 7.25 %.
        (billed_in_tx, sales_us, 725),
    ];
    for (body, rate, tax) in cases {
        let customer = customer_from(&app, body.clone()).await;
        let service = service_on(&app, customer, sales_plan).await;
        let issued = create_invoice(
            &app,
            json!({"customer_id": customer, "line_items": [
                {"description": "Home 20, March", "amount": 100.00, "service_id": service}]}),
        )
        .await;
        let line = &issued["line_items"][0];
        assert_eq!(line["tax_rate_id"], json!(rate), "{body}: {issued}");
        assert_line_money(line, (10_000, tax, 10_000 + tax));
    }

    // A tax-exempt customer pays no tax; from an inclusive price only the net is charged.
    let mut exempt = customer_body("Subira", "+254722000016");
    exempt["tax_exempt"] = json!(true);
    exempt["tax_exempt_reference"] = json!("KRA-EX-2291");
    let subira = customer_from(&app, exempt).await;
    let (_, shown) = app.get(&format!("/api/v1/customers/{subira}")).await;
    assert_eq!(shown["data"]["customer"]["tax_exempt"], json!(true));
    assert_eq!(
        shown["data"]["customer"]["tax_exempt_reference"],
        json!("KRA-EX-2291")
    );
    let service = service_on(&app, subira, vat_plan).await;
    let untaxed = create_invoice(
        &app,
        json!({"customer_id": subira, "line_items": [
            {"description": "Home 20, March", "amount": 49.99, "service_id": service},
            {"description": "Router, VAT included", "amount": 116.00,
             "tax_rate_id": included_id}]}),
    )
    .await;
    assert_eq!(untaxed["tax_exempt"], json!(true), "{untaxed}");
    assert_eq!(untaxed["tax_exempt_reference"], json!("KRA-EX-2291"));
    assert_line_money(&untaxed["line_items"][0], (4999, 0, 4999));
    // 116.00 including 16 % is 100.00 net; the exempt customer is charged 100.00.
    assert_line_money(&untaxed["line_items"][1], (10_000, 0, 10_000));
    // 49.99 + 100.00 = 149.99, no tax.
    assert_totals(&untaxed, (14_999, 0, 14_999));

    // Changing the rate changes new invoices only.
    let (status, answer) = app
        .patch(
            &format!("/api/v1/tax-rates/{vat_id}"),
            &json!({"rate_percent": 20}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer["data"]["tax_rate"]["rate_percent"].as_f64(),
        Some(20.0)
    );
    assert_eq!(invoice(&app, id(&taxed)).await, taxed, "issued is issued");
    let later = create_invoice(
        &app,
        json!({"customer_id": wanjiru, "line_items": [
            {"description": "Home 20, April", "amount": 49.99, "service_id": service_on(&app, wanjiru, vat_plan).await}]}),
    )
    .await;
    // 49.99 at 20 %: 9.998 → 10.00.
    assert_line_money(&later["line_items"][0], (4999, 1000, 5999));
    assert_eq!(
        later["line_items"][0]["tax_rate_percent"].as_f64(),
        Some(20.0)
    );

    // An inactive rate is not applied to new lines.
    let (status, answer) = app
        .patch(
            &format!("/api/v1/tax-rates/{included_id}"),
            &json!({"active": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, answer) = app
        .post(
            "/api/v1/billing/invoices",
            &json!({"customer_id": wanjiru, "line_items": [
                {"description": "Router", "amount": 116.00, "tax_rate_id": included_id}]}),
        )
        .await;
    assert_invalid(status, &answer, "line_items.0.tax_rate_id");

    // A rate with decimals, for one country.
    let levy = tax_rate(
        &app,
        json!({"name": "Levy", "rate_percent": 7.25, "country": "ke"}),
    )
    .await;
    assert_eq!(levy["rate_percent"].as_f64(), Some(7.25), "{levy}");
    assert_eq!(levy["country"], json!("KE"), "{levy}");
}

async fn bad_tax_rates_are_reported_on_their_field(app: TestApp) {
    tax_rate(&app, json!({"name": "VAT", "rate_percent": 16})).await;
    tax_rate(
        &app,
        json!({"name": "Sales", "rate_percent": 7.25, "country": "US"}),
    )
    .await;
    let cases = [
        (
            json!({"name": "Excise", "rate_percent": 101}),
            "rate_percent",
        ),
        (
            json!({"name": "Excise", "rate_percent": -1}),
            "rate_percent",
        ),
        (
            json!({"name": "Excise", "rate_percent": 7.12345}),
            "rate_percent",
        ),
        (
            json!({"name": "Excise", "rate_percent": "a lot"}),
            "rate_percent",
        ),
        (json!({"name": "Excise"}), "rate_percent"),
        (json!({"rate_percent": 5}), "name"),
        (json!({"name": "", "rate_percent": 5}), "name"),
        (json!({"name": "x".repeat(51), "rate_percent": 5}), "name"),
        (
            json!({"name": "Excise", "rate_percent": 5, "region": "NY"}),
            "region",
        ),
        (
            json!({"name": "Excise", "rate_percent": 5, "country": "USA"}),
            "country",
        ),
        // The same name, country and region as a live rate.
        (json!({"name": "VAT", "rate_percent": 10}), "name"),
        (
            json!({"name": "Sales", "rate_percent": 6, "country": "US"}),
            "name",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = app.post("/api/v1/tax-rates", &body).await;
        assert_invalid(status, &answer, field);
    }
    // 100 and four decimals are the limits, and are accepted.
    tax_rate(&app, json!({"name": "Everything", "rate_percent": 100})).await;
    tax_rate(&app, json!({"name": "Odd", "rate_percent": 7.1234})).await;
    let (_, list) = app.get("/api/v1/tax-rates").await;
    assert_eq!(list["meta"]["total"], json!(4), "{list}");
}

async fn bad_invoices_are_reported_on_their_field(app: TestApp) {
    let plan = crate::services::plan(&app, "Home 10", 10.0, 2.0).await;
    let customer = id(&app.create_customer("Chege", "+254722000021").await);
    let other = id(&app.create_customer("Dalia", "+254722000022").await);
    let others_service = service_on(&app, other, plan).await;
    let yesterday = today(&app) - Duration::days(1);
    let valid = json!({"customer_id": customer, "line_items": [line("Router", 10.0)]});
    let with = |field: &str, value: Value| {
        let mut body = valid.clone();
        body[field] = value;
        body
    };
    let with_line = |field: &str, value: Value| {
        let mut body = valid.clone();
        body["line_items"][0][field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = valid.clone();
        body.as_object_mut().unwrap().remove(field);
        body
    };
    let mut without_amount = valid.clone();
    without_amount["line_items"][0]
        .as_object_mut()
        .unwrap()
        .remove("amount");
    let mut without_description = valid.clone();
    without_description["line_items"][0]
        .as_object_mut()
        .unwrap()
        .remove("description");
    let mut second_line_bad = valid.clone();
    second_line_bad["line_items"] = json!([line("Router", 10.0), line("Cable", 0.001)]);
    let cases = [
        (without("customer_id"), "customer_id"),
        (with("customer_id", json!(999_999)), "customer_id"),
        (without("line_items"), "line_items"),
        (with("line_items", json!([])), "line_items"),
        (
            with("line_items", json!(vec![line("Router", 1.0); 201])),
            "line_items",
        ),
        (without_amount, "line_items.0.amount"),
        (with_line("amount", json!("ten")), "line_items.0.amount"),
        // Three decimals for a currency of two.
        (with_line("amount", json!(10.001)), "line_items.0.amount"),
        (second_line_bad, "line_items.1.amount"),
        (without_description, "line_items.0.description"),
        (with_line("quantity", json!(0)), "line_items.0.quantity"),
        (with_line("quantity", json!(-1)), "line_items.0.quantity"),
        (
            with_line("quantity", json!(1.2345)),
            "line_items.0.quantity",
        ),
        (
            with_line("proration_factor", json!(1.5)),
            "line_items.0.proration_factor",
        ),
        (
            with_line("proration_factor", json!(-0.1)),
            "line_items.0.proration_factor",
        ),
        (
            with_line("proration_factor", json!(0.1234567)),
            "line_items.0.proration_factor",
        ),
        (
            with_line("service_id", json!(others_service)),
            "line_items.0.service_id",
        ),
        (
            with_line("tax_rate_id", json!(999_999)),
            "line_items.0.tax_rate_id",
        ),
        (with("due_date", json!(date(yesterday))), "due_date"),
        (with("due_date", json!("31/12/2030")), "due_date"),
        (with("invoice_type", json!("gift")), "invoice_type"),
    ];
    for (body, field) in cases {
        let (status, answer) = app.post("/api/v1/billing/invoices", &body).await;
        assert_invalid(status, &answer, field);
    }
    // Nothing was written: no invoice, no debit.
    let (_, list) = app.get("/api/v1/invoices").await;
    assert_eq!(list["meta"]["total"], json!(0), "{list}");
    assert_eq!(balance(&app, customer).await, 0);
    // Due today and a proration factor of 0 or 1 are the limits, and are accepted.
    let edge = create_invoice(
        &app,
        json!({"customer_id": customer, "due_date": date(today(&app)), "line_items": [
            {"description": "Free month", "amount": 10.0, "proration_factor": 0},
            {"description": "Full month", "amount": 10.0, "proration_factor": 1}]}),
    )
    .await;
    assert_totals(&edge, (1000, 0, 1000));
}

// ---- numbers ----

/// A trigger that aborts the finalising UPDATE of invoices whose notes are `fail`: their
/// finalisation rolls back after it took its number.
async fn install_failing_trigger(app: &TestApp) {
    let statements: &[&'static str] = match app.database.engine() {
        Engine::Sqlite => &[
            "CREATE TRIGGER fail_finalisation BEFORE UPDATE ON invoices \
             FOR EACH ROW WHEN OLD.number IS NULL AND NEW.number IS NOT NULL \
             AND NEW.notes = 'fail' \
             BEGIN SELECT RAISE(ABORT, 'forced rollback'); END",
        ],
        Engine::Postgres => &[
            "CREATE FUNCTION fail_finalisation() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'forced rollback'; END $$",
            "CREATE TRIGGER fail_finalisation BEFORE UPDATE ON invoices FOR EACH ROW \
             WHEN (OLD.number IS NULL AND NEW.number IS NOT NULL AND NEW.notes = 'fail') \
             EXECUTE FUNCTION fail_finalisation()",
        ],
    };
    for sql in statements {
        lastmile_core::on_db!(&app.core().db, pool => sqlx::query(*sql).execute(pool).await.map(drop))
            .expect("install the trigger");
    }
}

async fn drop_failing_trigger(app: &TestApp) {
    let sql: &'static str = match app.database.engine() {
        Engine::Sqlite => "DROP TRIGGER fail_finalisation",
        Engine::Postgres => "DROP TRIGGER fail_finalisation ON invoices",
    };
    lastmile_core::on_db!(&app.core().db, pool => sqlx::query(sql).execute(pool).await.map(drop))
        .expect("drop the trigger");
}

/// Finalises `drafts` all at once; answers each one's status and body, in order.
async fn finalize_all(app: &TestApp, drafts: &[i64]) -> Vec<(StatusCode, Value)> {
    futures::future::join_all(drafts.iter().map(|draft| async move {
        app.post(&format!("/api/v1/invoices/{draft}/finalize"), &json!({}))
            .await
    }))
    .await
}

async fn numbers_have_no_gaps_under_concurrent_finalisations_and_rollbacks(app: TestApp) {
    let customer = id(&app.create_customer("Faraji", "+254722000031").await);
    // 16 drafts of 10.00; four of them (3rd, 6th, 10th and 14th) will fail to finalise.
    let failing = [2, 5, 9, 13];
    let mut drafts = Vec::new();
    for n in 0..16 {
        let notes = if failing.contains(&n) { "fail" } else { "ok" };
        let draft = create_invoice(
            &app,
            json!({"customer_id": customer, "draft": true, "notes": notes,
                   "line_items": [line("Monthly service", 10.0)]}),
        )
        .await;
        assert_eq!(draft["status"], json!("draft"));
        assert_eq!(draft["invoice_number"], json!(null));
        drafts.push(id(&draft));
    }
    install_failing_trigger(&app).await;

    let answers = finalize_all(&app, &drafts).await;
    let mut issued = BTreeSet::new();
    for (n, (status, answer)) in answers.iter().enumerate() {
        if failing.contains(&n) {
            assert!(status.is_server_error(), "draft {n}: {status} {answer}");
            assert_eq!(answer["success"], json!(false), "{answer}");
        } else {
            assert_eq!(*status, StatusCode::OK, "draft {n}: {answer}");
            let number = answer["data"]["invoice"]["invoice_number"]
                .as_str()
                .expect("a number")
                .to_owned();
            assert!(issued.insert(number.clone()), "{number} given twice");
        }
    }
    // Twelve issued: exactly the first twelve numbers, whatever the order.
    let expected: BTreeSet<String> = (1..=12).map(|n| numbered(&app, "INV", n)).collect();
    assert_eq!(issued, expected);
    for &n in &failing {
        let draft = invoice(&app, drafts[n]).await;
        assert_eq!(draft["status"], json!("draft"), "{draft}");
        assert_eq!(draft["invoice_number"], json!(null), "{draft}");
    }
    // Only the twelve are debited: 12 × 10.00.
    assert_eq!(balance(&app, customer).await, -12_000);

    // Without the trigger the four are issued as 13 to 16.
    drop_failing_trigger(&app).await;
    let retried: Vec<i64> = failing.iter().map(|&n| drafts[n]).collect();
    let mut numbers = BTreeSet::new();
    for (status, answer) in finalize_all(&app, &retried).await {
        assert_eq!(status, StatusCode::OK, "{answer}");
        numbers.insert(
            answer["data"]["invoice"]["invoice_number"]
                .as_str()
                .expect("a number")
                .to_owned(),
        );
    }
    let expected: BTreeSet<String> = (13..=16).map(|n| numbered(&app, "INV", n)).collect();
    assert_eq!(numbers, expected);
    // 16 × 10.00.
    assert_eq!(balance(&app, customer).await, -16_000);
    let entries = statement(&app, customer, "").await;
    assert_eq!(entries["entries"].as_array().map(Vec::len), Some(16));
}

async fn drafts_are_numbered_at_finalisation_and_only_drafts_are_deleted(app: TestApp) {
    let customer = id(&app.create_customer("Gakii", "+254722000041").await);
    let body = json!({"customer_id": customer, "draft": true,
                      "line_items": [line("Monthly service", 40.0)]});
    let draft = create_invoice(&app, body.clone()).await;
    let draft_id = id(&draft);
    for (field, expected) in [
        ("status", json!("draft")),
        ("invoice_number", json!(null)),
        ("issue_date", json!(null)),
        ("finalized_at", json!(null)),
    ] {
        assert_eq!(draft[field], expected, "{field}: {draft}");
    }
    assert_totals(&draft, (4000, 0, 4000));
    // Not in the balance, not in the ledger.
    assert_eq!(balance(&app, customer).await, 0);
    let entries = statement(&app, customer, "").await;
    assert_eq!(entries["entries"], json!([]), "{entries}");

    // A deleted draft is gone and took no number.
    let deleted = id(&create_invoice(&app, body.clone()).await);
    let path = format!("/api/v1/invoices/{deleted}");
    let (status, answer) = app.delete(&path).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
    let (status, answer) = app.get(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert_eq!(answer["message"], json!("Invoice not found"), "{answer}");
    let (status, _) = app.delete(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Finalising gives the first number, the issue day and the debit; due after the terms.
    let path = format!("/api/v1/invoices/{draft_id}/finalize");
    let (status, answer) = app.post(&path, &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let issued = &answer["data"]["invoice"];
    assert_eq!(issued["status"], json!("pending"));
    assert_eq!(issued["invoice_number"], json!(numbered(&app, "INV", 1)));
    assert_eq!(issued["issue_date"], json!(date(today(&app))));
    assert_eq!(
        issued["due_date"],
        json!(date(today(&app) + Duration::days(14)))
    );
    assert!(issued["finalized_at"].is_string(), "{issued}");
    assert_eq!(balance(&app, customer).await, -4000);

    // Twice is a conflict; an issued invoice is never deleted.
    let (status, answer) = app.post(&path, &json!({})).await;
    assert_conflict(status, &answer, "finalize twice");
    let (status, answer) = app.delete(&format!("/api/v1/invoices/{draft_id}")).await;
    assert_conflict(status, &answer, "delete an issued invoice");
    assert_eq!(invoice(&app, draft_id).await["status"], json!("pending"));
    assert_eq!(balance(&app, customer).await, -4000);
    let next = simple_invoice(&app, customer, 5.0).await;
    assert_eq!(next["invoice_number"], json!(numbered(&app, "INV", 2)));
}

// ---- void ----

async fn only_an_unpaid_invoice_is_voided_and_a_void_one_is_not_paid(app: TestApp) {
    let customer = id(&app.create_customer("Halima", "+254722000051").await);
    let open = id(&simple_invoice(&app, customer, 50.0).await);
    assert_eq!(balance(&app, customer).await, -5000);

    let voided = void(&app, open).await;
    assert_eq!(voided["status"], json!("void"), "{voided}");
    assert_eq!(voided["reason"], json!("Raised in error"));
    assert!(voided["voided_at"].is_string(), "{voided}");
    assert_eq!(voided["overdue"], json!(false));
    // The debit is reversed: −50.00 + 50.00.
    assert_eq!(balance(&app, customer).await, 0);
    let ledger = statement(&app, customer, "").await;
    let rows: Vec<(String, i64, i64, i64)> = ledger["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().expect("kind").to_owned(),
                cents(&e["debit"]),
                cents(&e["credit"]),
                cents(&e["balance"]),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("invoice".to_owned(), 5000, 0, -5000),
            ("invoice_voided".to_owned(), 0, 5000, 0),
        ],
        "{ledger}"
    );

    // A void invoice is not paid, voided again, credited or given up on.
    let (status, answer) = app
        .post(
            &format!("/api/v1/invoices/{open}/pay"),
            &json!({"gateway": "mpesa", "transaction_id": "QK-VOID-1"}),
        )
        .await;
    assert_conflict(status, &answer, "pay a void invoice");
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.ends_with("is void and cannot be paid.")),
        "{answer}"
    );
    let (status, answer) = app
        .post(
            "/api/v1/payments",
            &json!({"customer_id": customer, "amount": 50.0, "method": "cash",
                    "invoice_id": open}),
        )
        .await;
    assert_conflict(status, &answer, "a payment for a void invoice");
    for (action, body) in [
        ("void", json!({"reason": "Again"})),
        (
            "credit-notes",
            json!({"amount": 10.0, "reason": "Goodwill"}),
        ),
        ("mark-uncollectible", json!({"reason": "Gone"})),
    ] {
        let (status, answer) = app
            .post(&format!("/api/v1/invoices/{open}/{action}"), &body)
            .await;
        assert_conflict(status, &answer, action);
    }
    assert_eq!(balance(&app, customer).await, 0);

    // Paid and partly paid invoices are not voided.
    let paid = id(&simple_invoice(&app, customer, 20.0).await);
    pay(&app, customer, 20.0, Some(paid)).await;
    let partly = id(&simple_invoice(&app, customer, 30.0).await);
    pay(&app, customer, 10.0, Some(partly)).await;
    for (invoice_id, status_before) in [(paid, "paid"), (partly, "pending")] {
        let (status, answer) = app
            .post(
                &format!("/api/v1/invoices/{invoice_id}/void"),
                &json!({"reason": "Too late"}),
            )
            .await;
        assert_conflict(status, &answer, status_before);
        assert_eq!(
            invoice(&app, invoice_id).await["status"],
            json!(status_before)
        );
    }
    // −20.00 + 20.00 − 30.00 + 10.00 = −20.00.
    assert_eq!(balance(&app, customer).await, -2000);

    // An uncollectible invoice is still owed, and may still be voided without payments.
    let given_up = id(&simple_invoice(&app, customer, 15.0).await);
    let (status, answer) = app
        .post(
            &format!("/api/v1/invoices/{given_up}/mark-uncollectible"),
            &json!({"reason": "Customer unreachable"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["data"]["invoice"]["status"], json!("uncollectible"));
    // −20.00 − 15.00.
    assert_eq!(balance(&app, customer).await, -3500);
    assert_eq!(void(&app, given_up).await["status"], json!("void"));
    assert_eq!(balance(&app, customer).await, -2000);
}

// ---- credit notes ----

async fn credit_notes_reduce_what_is_due_and_then_become_credit(app: TestApp) {
    let customer = id(&app.create_customer("Imani", "+254722000061").await);
    let vat = id(&tax_rate(&app, json!({"name": "VAT", "rate_percent": 16})).await);
    // 60.00 + 9.60 = 69.60 and 40.00 + 6.40 = 46.40: 116.00 in all.
    let taxed = create_invoice(
        &app,
        json!({"customer_id": customer, "line_items": [
            {"description": "Home 20", "amount": 60.00, "tax_rate_id": vat},
            {"description": "Static IP", "amount": 40.00, "tax_rate_id": vat}]}),
    )
    .await;
    let taxed_id = id(&taxed);
    assert_totals(&taxed, (10_000, 1600, 11_600));

    // 10.00 credited: shared 69.60 : 46.40, i.e. 6.00 and 4.00, each with its tax share,
    // 6.00 × 16 / 116 = 0.8276 → 0.83 and 4.00 × 16 / 116 = 0.5517 → 0.55.
    let partial = credit(
        &app,
        taxed_id,
        json!({"amount": 10.00, "reason": "Two days without service"}),
    )
    .await;
    for (field, expected) in [
        ("invoice_number", json!(numbered(&app, "CN", 1))),
        ("kind", json!("credit_note")),
        ("status", json!("issued")),
        ("credit_note_for", json!(taxed_id)),
        ("customer_id", json!(customer)),
        ("reason", json!("Two days without service")),
    ] {
        assert_eq!(partial[field], expected, "{field}: {partial}");
    }
    let lines = partial["line_items"].as_array().expect("lines");
    assert_eq!(lines.len(), 2, "{partial}");
    assert_line_money(&lines[0], (517, 83, 600));
    assert_line_money(&lines[1], (345, 55, 400));
    // 5.17 + 3.45 = 8.62 net, 0.83 + 0.55 = 1.38 tax, 10.00.
    assert_totals(&partial, (862, 138, 1000));
    let after = invoice(&app, taxed_id).await;
    assert_eq!(after["status"], json!("pending"));
    // 116.00 − 10.00 = 106.00 still due.
    assert_settled(&after, (0, 1000, 10_600));
    assert_eq!(balance(&app, customer).await, -10_600);

    // No more than what is left.
    let path = format!("/api/v1/invoices/{taxed_id}/credit-notes");
    let (status, answer) = app
        .post(&path, &json!({"amount": 106.01, "reason": "Too much"}))
        .await;
    assert_invalid(status, &answer, "amount");

    // Without an amount: all that is left, 106.00; the invoice is settled.
    let rest = credit(&app, taxed_id, json!({"reason": "Service cancelled"})).await;
    assert_eq!(rest["invoice_number"], json!(numbered(&app, "CN", 2)));
    assert_eq!(cents(&rest["total_amount"]), 10_600, "{rest}");
    let after = invoice(&app, taxed_id).await;
    assert_eq!(after["status"], json!("paid"), "{after}");
    assert_settled(&after, (0, 11_600, 0));
    assert_eq!(balance(&app, customer).await, 0);

    // Against a paid invoice the credit is the customer's, used by the next invoice.
    let paid = id(&simple_invoice(&app, customer, 50.0).await);
    pay(&app, customer, 50.0, Some(paid)).await;
    let goodwill = credit(&app, paid, json!({"amount": 20.0, "reason": "Goodwill"})).await;
    assert_eq!(goodwill["invoice_number"], json!(numbered(&app, "CN", 3)));
    assert_eq!(invoice(&app, paid).await["status"], json!("paid"));
    assert_eq!(balance(&app, customer).await, 2000);
    let next = simple_invoice(&app, customer, 30.0).await;
    // 30.00 − 20.00 of credit = 10.00 due.
    assert_eq!(next["status"], json!("pending"), "{next}");
    assert_eq!(cents(&next["amount_due"]), 1000, "{next}");
    assert_eq!(
        cents(&next["amount_paid"]) + cents(&next["amount_credited"]),
        2000,
        "{next}"
    );
    assert_eq!(balance(&app, customer).await, -1000);

    // Drafts and credit notes are not credited.
    let draft = id(&create_invoice(
        &app,
        json!({"customer_id": customer, "draft": true, "line_items": [line("X", 5.0)]}),
    )
    .await);
    for target in [draft, id(&goodwill)] {
        let (status, answer) = app
            .post(
                &format!("/api/v1/invoices/{target}/credit-notes"),
                &json!({"amount": 1.0, "reason": "No"}),
            )
            .await;
        assert_conflict(status, &answer, "credit a draft or a credit note");
    }
    let (_, notes) = app.get("/api/v1/invoices?kind=credit_note").await;
    assert_eq!(notes["meta"]["total"], json!(3), "{notes}");
}

// ---- overdue ----

async fn an_invoice_is_overdue_once_the_clock_passes_its_due_date(app: TestApp) {
    let customer = id(&app.create_customer("Jabari", "+254722000071").await);
    let start = today(&app);
    let late = id(&invoice_due(&app, customer, 25.0, start + Duration::days(3)).await);
    let later = id(&invoice_due(&app, customer, 25.0, start + Duration::days(30)).await);
    let paid = id(&invoice_due(&app, customer, 25.0, start + Duration::days(3)).await);
    pay(&app, customer, 25.0, Some(paid)).await;

    let shown = invoice(&app, late).await;
    assert_eq!(shown["overdue"], json!(false), "{shown}");
    assert_eq!(shown["days_overdue"], json!(0), "{shown}");

    // On its due date it is not overdue yet.
    app.clock.advance(Duration::days(3));
    let shown = invoice(&app, late).await;
    assert_eq!(shown["overdue"], json!(false), "{shown}");
    assert_eq!(shown["days_overdue"], json!(0), "{shown}");

    // Seven days later: due on day 3, today is day 10, 10 − 3 = 7 days overdue.
    app.clock.advance(Duration::days(7));
    let shown = invoice(&app, late).await;
    assert_eq!(shown["overdue"], json!(true), "{shown}");
    assert_eq!(shown["days_overdue"], json!(7), "{shown}");
    assert_eq!(shown["status"], json!("pending"), "overdue is not a status");
    for (invoice_id, what) in [(later, "due later"), (paid, "paid")] {
        let shown = invoice(&app, invoice_id).await;
        assert_eq!(shown["overdue"], json!(false), "{what}: {shown}");
        assert_eq!(shown["days_overdue"], json!(0), "{what}: {shown}");
    }
    let (status, answer) = app.get("/api/v1/invoices?overdue=true").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(ids_in(&answer, "invoices"), [late]);
    let (_, answer) = app.get("/api/v1/invoices?overdue=false").await;
    assert_eq!(ids_in(&answer, "invoices"), [paid, later]);

    // An uncollectible invoice past its due date is overdue too.
    let (status, answer) = app
        .post(
            &format!("/api/v1/invoices/{late}/mark-uncollectible"),
            &json!({"reason": "Moved away"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let shown = &answer["data"]["invoice"];
    assert_eq!(shown["overdue"], json!(true), "{shown}");
    assert_eq!(shown["days_overdue"], json!(7), "{shown}");
}

// ---- lists ----

async fn invoices_are_listed_newest_first_and_filtered(app: TestApp) {
    let kamau = id(&app.create_customer("Kamau", "+254722000081").await);
    let lulu = id(&app.create_customer("Lulu", "+254722000082").await);
    let step = || app.clock.advance(Duration::seconds(1));
    let first = id(&simple_invoice(&app, kamau, 10.0).await);
    step();
    let paid = id(&simple_invoice(&app, kamau, 20.0).await);
    pay(&app, kamau, 20.0, Some(paid)).await;
    step();
    let draft = id(&create_invoice(
        &app,
        json!({"customer_id": kamau, "draft": true, "line_items": [line("Draft", 30.0)]}),
    )
    .await);
    step();
    let credited = id(&simple_invoice(&app, lulu, 40.0).await);
    step();
    let voided = id(&simple_invoice(&app, lulu, 50.0).await);
    void(&app, voided).await;
    step();
    let note = id(&credit(&app, credited, json!({"amount": 5.0, "reason": "Outage"})).await);

    let list = |query: String| {
        let app = &app;
        async move {
            let (status, body) = app.get(&query).await;
            assert_eq!(status, StatusCode::OK, "{query}: {body}");
            assert_eq!(body["success"], json!(true));
            ids_in(&body, "invoices")
        }
    };
    let everything = [note, voided, credited, draft, paid, first];
    assert_eq!(list("/api/v1/invoices".into()).await, everything);
    assert_eq!(list("/api/v1/bills".into()).await, everything);
    assert_eq!(
        list(format!("/api/v1/customers/{kamau}/invoices")).await,
        [draft, paid, first]
    );
    let filtered = |query: &str| list(format!("/api/v1/invoices?{query}"));
    assert_eq!(filtered("status=pending").await, [credited, first]);
    assert_eq!(filtered("status=paid").await, [paid]);
    assert_eq!(filtered("status=draft").await, [draft]);
    assert_eq!(filtered("status=void").await, [voided]);
    assert_eq!(filtered("status=issued").await, [note]);
    assert_eq!(filtered("kind=credit_note").await, [note]);
    assert_eq!(
        filtered("kind=invoice").await,
        [voided, credited, draft, paid, first]
    );
    assert_eq!(
        filtered(&format!("customer_id={lulu}")).await,
        [note, voided, credited]
    );
    assert_eq!(
        filtered(&format!("customer_id={lulu}&status=pending")).await,
        [credited]
    );
    let day = today(&app);
    assert_eq!(
        filtered(&format!("issued_to={}&status=pending", date(day))).await,
        [credited, first]
    );
    let tomorrow = date(day + Duration::days(1));
    assert_eq!(
        filtered(&format!("issued_from={tomorrow}")).await,
        Vec::<i64>::new()
    );
    let yesterday = date(day - Duration::days(1));
    assert_eq!(
        filtered(&format!("issued_to={yesterday}")).await,
        Vec::<i64>::new()
    );

    // Pages of two: the second holds the third and fourth newest.
    let (status, page) = app.get("/api/v1/invoices?per_page=2&page=2").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(ids_in(&page, "invoices"), [credited, draft]);
    for (field, expected) in [
        ("current_page", 2),
        ("per_page", 2),
        ("total", 6),
        ("last_page", 3),
    ] {
        assert_eq!(page["meta"][field], json!(expected), "{field}: {page}");
    }

    // One invoice by id or number, at either path.
    for path in [
        format!("/api/v1/invoices/{}", numbered(&app, "INV", 1)),
        format!("/api/v1/bills/{first}"),
        format!("/api/v1/bills/{}", numbered(&app, "INV", 1)),
    ] {
        let (status, answer) = app.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {answer}");
        assert_eq!(id(&answer["data"]["invoice"]), first, "{path}");
    }
    let (status, answer) = app
        .get(&format!("/api/v1/invoices/{}", numbered(&app, "CN", 1)))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(id(&answer["data"]["invoice"]), note);
    for path in [
        "/api/v1/invoices/999999",
        "/api/v1/invoices/INV-1999-000001",
        "/api/v1/bills/999999",
    ] {
        let (status, answer) = app.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {answer}");
        assert_eq!(answer["message"], json!("Invoice not found"), "{answer}");
    }
    let (status, _) = app.get("/api/v1/customers/999999/invoices").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// ---- PDF ----

/// The PDF of `invoice` as the admin gets it, checked as a PDF attachment named `number`.
async fn pdf_of(app: &TestApp, invoice: i64, number: &str) -> Vec<u8> {
    let response = app
        .request(
            reqwest::Method::GET,
            &format!("/api/v1/invoices/{invoice}/pdf"),
        )
        .send()
        .await
        .expect("HTTP request");
    assert_eq!(response.status(), StatusCode::OK);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        header("content-type").starts_with("application/pdf"),
        "{}",
        header("content-type")
    );
    assert_eq!(
        header("content-disposition"),
        format!("attachment; filename=\"{number}.pdf\"")
    );
    let bytes = response.bytes().await.expect("PDF").to_vec();
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    bytes
}

/// The text `pdftotext -layout` reads from `pdf`; `None` when pdftotext is not installed
/// outside CI (in CI its absence fails the test).
async fn pdf_text(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("invoice.pdf");
    std::fs::write(&file, pdf).expect("write the PDF");
    let output = tokio::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&file)
        .arg("-")
        .output()
        .await;
    match output {
        Ok(output) => {
            assert!(
                output.status.success(),
                "pdftotext: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            Some(String::from_utf8(output.stdout).expect("pdftotext writes UTF-8"))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                !lastmile_tests::in_ci(),
                "pdftotext (poppler-utils) is needed to read the invoice PDFs in CI"
            );
            eprintln!("notice: pdftotext is not installed; the PDFs' text is not checked");
            None
        }
        Err(e) => panic!("pdftotext: {e}"),
    }
}

async fn the_pdf_prints_the_issuer_the_customer_and_the_totals(app: TestApp) {
    let settings = json!({
        "company_name": "Lastmile Networks Ltd",
        "company_address": ["12 Fibre Road", "Nairobi 00100"],
        "company_tax_id": "P051234567X",
        "company_email": "billing@lastmile.example",
        "company_phone": "+254 20 123 4567",
        "payment_instructions": ["Bank transfer to Example Bank, account 0123456789",
                                 "Quote your invoice number"],
        "invoice_prefix": "INV",
        "credit_note_prefix": "CN",
        "payment_terms_days": 14,
    });
    let (_, billing) = app.key(Role::Billing, None, None).await;
    let (status, answer) = as_key(
        &app,
        &billing,
        reqwest::Method::PUT,
        "/api/v1/settings/billing",
        Some(settings.clone()),
    )
    .await;
    assert_forbidden(status, &answer, "billing changes the billing settings");
    let (status, answer) = app.put("/api/v1/settings/billing", &settings).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let saved = &answer["data"]["billing_settings"];
    for field in settings.as_object().unwrap().keys() {
        assert_eq!(saved[field], settings[field], "{field}: {saved}");
    }

    let vat = id(&tax_rate(&app, json!({"name": "VAT", "rate_percent": 16})).await);
    let mut zoe = customer_body("Zoë", "+254722000091");
    zoe["last_name"] = json!("Ñandú");
    let zoe = customer_from(&app, zoe).await;
    let mut ivan = customer_body("Иван", "+254722000092");
    ivan["last_name"] = json!("Петров");
    let ivan = customer_from(&app, ivan).await;
    // 100.00 + 16 % = 116.00.
    let first = create_invoice(
        &app,
        json!({"customer_id": zoe, "line_items": [
            {"description": "Home 20, März", "amount": 100.0, "tax_rate_id": vat}]}),
    )
    .await;
    assert_eq!(first["customer_name"], json!("Zoë Ñandú"));
    let second = create_invoice(
        &app,
        json!({"customer_id": ivan, "line_items": [line("Домашний интернет", 250.0)]}),
    )
    .await;
    assert_eq!(second["customer_name"], json!("Иван Петров"));

    let cases = [
        (id(&first), numbered(&app, "INV", 1), "116.00", "Zoë Ñandú"),
        (
            id(&second),
            numbered(&app, "INV", 2),
            "250.00",
            "Иван Петров",
        ),
    ];
    for (invoice_id, number, total, name) in cases {
        let pdf = pdf_of(&app, invoice_id, &number).await;
        let Some(text) = pdf_text(&pdf).await else {
            return;
        };
        for expected in [
            number.as_str(),
            total,
            name,
            "Lastmile Networks Ltd",
            "12 Fibre Road",
            "Quote your invoice number",
        ] {
            assert!(text.contains(expected), "{expected:?} is not in\n{text}");
        }
    }
    let (status, answer) = app.get("/api/v1/invoices/999999/pdf").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
}

// ---- settings ----

async fn billing_settings_have_defaults_and_name_the_next_series(app: TestApp) {
    const SETTINGS: &str = "/api/v1/settings/billing";
    let (status, answer) = app.get(SETTINGS).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let defaults = &answer["data"]["billing_settings"];
    for (field, expected) in [
        ("currency", json!("USD")),
        ("invoice_prefix", json!("INV")),
        ("credit_note_prefix", json!("CN")),
        ("payment_terms_days", json!(14)),
        ("company_address", json!([])),
        ("payment_instructions", json!([])),
    ] {
        assert_eq!(defaults[field], expected, "{field}: {defaults}");
    }

    // Who reads and who changes them.
    use reqwest::Method as M;
    let change = json!({"invoice_prefix": "NOPE"});
    for role in [Role::Billing, Role::Manager, Role::ReadOnly] {
        let (_, key) = app.key(role, None, None).await;
        let (status, answer) = as_key(&app, &key, M::GET, SETTINGS, None).await;
        assert_eq!(status, StatusCode::OK, "{role:?}: {answer}");
        let (status, answer) = as_key(&app, &key, M::PATCH, SETTINGS, Some(change.clone())).await;
        assert_forbidden(status, &answer, &format!("{role:?} changes the settings"));
    }
    let (_, support) = app.key(Role::Support, None, None).await;
    let (status, answer) = as_key(&app, &support, M::GET, SETTINGS, None).await;
    assert_forbidden(status, &answer, "support reads the billing settings");

    let customer = id(&app.create_customer("Mosi", "+254722000101").await);
    let first = simple_invoice(&app, customer, 10.0).await;
    assert_eq!(first["invoice_number"], json!(numbered(&app, "INV", 1)));

    // A new prefix starts its own series; the terms set the default due date.
    let (status, answer) = app
        .patch(
            SETTINGS,
            &json!({"invoice_prefix": "BILL", "payment_terms_days": 30}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let changed = &answer["data"]["billing_settings"];
    assert_eq!(changed["invoice_prefix"], json!("BILL"));
    assert_eq!(changed["payment_terms_days"], json!(30));
    assert_eq!(changed["credit_note_prefix"], json!("CN"), "untouched");
    let billed = simple_invoice(&app, customer, 10.0).await;
    assert_eq!(billed["invoice_number"], json!(numbered(&app, "BILL", 1)));
    assert_eq!(
        billed["due_date"],
        json!(date(today(&app) + Duration::days(30)))
    );
    let billed = simple_invoice(&app, customer, 10.0).await;
    assert_eq!(billed["invoice_number"], json!(numbered(&app, "BILL", 2)));

    let cases = [
        (json!({"invoice_prefix": "1BILL"}), "invoice_prefix"),
        (json!({"invoice_prefix": "BILL_2026"}), "invoice_prefix"),
        (json!({"invoice_prefix": "ABCDEFGHIJK"}), "invoice_prefix"),
        (json!({"invoice_prefix": ""}), "invoice_prefix"),
        (json!({"credit_note_prefix": "BILL"}), "credit_note_prefix"),
        (json!({"payment_terms_days": 366}), "payment_terms_days"),
        (json!({"payment_terms_days": -1}), "payment_terms_days"),
        (json!({"company_email": "not-an-address"}), "company_email"),
        (
            json!({"company_address": vec!["line"; 7]}),
            "company_address",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = app.patch(SETTINGS, &body).await;
        assert_invalid(status, &answer, field);
    }
    let (_, answer) = app.get(SETTINGS).await;
    assert_eq!(
        answer["data"]["billing_settings"]["invoice_prefix"],
        json!("BILL")
    );

    // Back to INV: its series goes on where it stopped.
    let (status, answer) = app.patch(SETTINGS, &json!({"invoice_prefix": "INV"})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let again = simple_invoice(&app, customer, 10.0).await;
    assert_eq!(again["invoice_number"], json!(numbered(&app, "INV", 2)));
}

// ---- statement ----

/// A statement entry as (kind, debit, credit, balance) in cents.
pub(crate) fn entry_row(entry: &Value) -> (String, i64, i64, i64) {
    (
        entry["kind"].as_str().expect("a kind").to_owned(),
        cents(&entry["debit"]),
        cents(&entry["credit"]),
        cents(&entry["balance"]),
    )
}

/// The rows of a statement's entries.
#[track_caller]
pub(crate) fn entry_rows(statement: &Value) -> Vec<(String, i64, i64, i64)> {
    statement["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("no entries in {statement}"))
        .iter()
        .map(entry_row)
        .collect()
}

/// Checks a statement's (opening, closing, total debit, total credit) in cents.
#[track_caller]
fn assert_statement_sums(
    statement: &Value,
    (opening, closing, debit, credit): (i64, i64, i64, i64),
) {
    assert_eq!(
        (
            cents(&statement["opening_balance"]),
            cents(&statement["closing_balance"]),
            cents(&statement["total_debit"]),
            cents(&statement["total_credit"])
        ),
        (opening, closing, debit, credit),
        "{statement}"
    );
}

async fn the_statement_runs_from_the_opening_to_the_closing_balance(app: TestApp) {
    let customer = id(&app.create_customer("Nuru", "+254722000111").await);
    let day = |n: i64| date(today(&app) + Duration::days(n));
    let days: Vec<String> = (0..5).map(day).collect();
    // Day 0: invoice A of 100.00.
    let a = id(&simple_invoice(&app, customer, 100.0).await);
    app.clock.advance(Duration::days(1));
    // Day 1: 60.00 paid.
    let first_payment = id(&pay(&app, customer, 60.0, None).await);
    app.clock.advance(Duration::days(1));
    // Day 2: invoice B of 50.00.
    let b = id(&simple_invoice(&app, customer, 50.0).await);
    app.clock.advance(Duration::days(1));
    // Day 3: 10.00 credited on B.
    let note = id(&credit(&app, b, json!({"amount": 10.0, "reason": "Outage"})).await);
    app.clock.advance(Duration::days(1));
    // Day 4: 80.00 paid, which settles everything.
    let last_payment = id(&pay(&app, customer, 80.0, None).await);

    let all = statement(&app, customer, "").await;
    assert_eq!(all["customer_id"], json!(customer));
    assert_eq!(all["currency"], json!("USD"));
    let s = |text: &str| text.to_owned();
    assert_eq!(
        entry_rows(&all),
        [
            // 0 − 100.00
            (s("invoice"), 10_000, 0, -10_000),
            // −100.00 + 60.00
            (s("payment"), 0, 6000, -4000),
            // −40.00 − 50.00
            (s("invoice"), 5000, 0, -9000),
            // −90.00 + 10.00
            (s("credit_note"), 0, 1000, -8000),
            // −80.00 + 80.00
            (s("payment"), 0, 8000, 0),
        ],
        "{all}"
    );
    // Debits 100.00 + 50.00; credits 60.00 + 10.00 + 80.00.
    assert_statement_sums(&all, (0, 0, 15_000, 15_000));
    let entries = all["entries"].as_array().unwrap();
    let links: Vec<(Value, Value)> = entries
        .iter()
        .map(|e| (e["invoice_id"].clone(), e["payment_id"].clone()))
        .collect();
    assert_eq!(links[0], (json!(a), json!(null)));
    assert_eq!(links[1].1, json!(first_payment));
    assert_eq!(links[2], (json!(b), json!(null)));
    assert_eq!(links[3].0, json!(note));
    assert_eq!(links[4].1, json!(last_payment));
    for (entry, on) in entries.iter().zip(&days) {
        let occurred = crate::tickets::time(&entry["occurred_at"]);
        assert_eq!(&date(occurred.date_naive()), on, "{entry}");
        assert!(
            entry["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{entry}"
        );
    }
    assert_eq!(balance(&app, customer).await, 0);

    // Days 2 and 3: opens at −40.00, B and its credit note, closes at −80.00.
    let middle = statement(&app, customer, &format!("?from={}&to={}", days[2], days[3])).await;
    assert_eq!(middle["from"], json!(days[2]));
    assert_eq!(middle["to"], json!(days[3]));
    assert_eq!(
        entry_rows(&middle),
        [
            (s("invoice"), 5000, 0, -9000),
            (s("credit_note"), 0, 1000, -8000)
        ]
    );
    assert_statement_sums(&middle, (-4000, -8000, 5000, 1000));
    // Day 4 alone: opens at −80.00.
    let last = statement(&app, customer, &format!("?from={}&to={}", days[4], days[4])).await;
    assert_eq!(entry_rows(&last), [(s("payment"), 0, 8000, 0)]);
    assert_statement_sums(&last, (-8000, 0, 0, 8000));
    // Up to day 0: from nothing to −100.00.
    let first = statement(&app, customer, &format!("?to={}", days[0])).await;
    assert_eq!(entry_rows(&first), [(s("invoice"), 10_000, 0, -10_000)]);
    assert_statement_sums(&first, (0, -10_000, 10_000, 0));

    // Pages of two: the second holds the third and fourth entries.
    let page = statement(&app, customer, "?per_page=2&page=2").await;
    assert_eq!(
        entry_rows(&page),
        [
            (s("invoice"), 5000, 0, -9000),
            (s("credit_note"), 0, 1000, -8000)
        ]
    );
    for (field, expected) in [
        ("current_page", 2),
        ("per_page", 2),
        ("total", 5),
        ("last_page", 3),
    ] {
        assert_eq!(page["meta"][field], json!(expected), "{field}: {page}");
    }

    for query in ["?from=2026-13-01", "?to=2026-02-30", "?from=yesterday"] {
        let path = format!("/api/v1/customers/{customer}/statement{query}");
        let (status, answer) = app.get(&path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {answer}");
        assert_eq!(answer["success"], json!(false));
    }
    let (status, _) = app.get("/api/v1/customers/999999/statement").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// ---- who sees and does what ----

async fn a_reseller_sees_only_its_partners_invoices_and_roles_do_what_they_may(app: TestApp) {
    use reqwest::Method as M;
    let ours = app.insert_partner("Ours").await;
    let theirs = app.insert_partner("Theirs").await;
    let mine = customer_of(&app, ours, "Amina", "+254722000121").await;
    let other = customer_of(&app, theirs, "Baraka", "+254722000122").await;
    let my_invoice = simple_invoice(&app, mine, 30.0).await;
    assert_eq!(my_invoice["partner_id"], json!(ours), "{my_invoice}");
    let my_invoice = id(&my_invoice);
    let others_invoice = id(&simple_invoice(&app, other, 40.0).await);
    let my_payment = id(&pay(&app, mine, 5.0, Some(my_invoice)).await);
    let others_payment = id(&pay(&app, other, 5.0, Some(others_invoice)).await);
    let (_, reseller) = app.key(Role::Reseller, Some(ours), None).await;

    // Lists hold only its partner's, whatever the filter.
    let (status, list) = as_key(&app, &reseller, M::GET, "/api/v1/invoices", None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(ids_in(&list, "invoices"), [my_invoice]);
    assert_eq!(list["meta"]["total"], json!(1));
    let path = format!("/api/v1/invoices?customer_id={other}");
    let (_, list) = as_key(&app, &reseller, M::GET, &path, None).await;
    assert_eq!(list["meta"]["total"], json!(0), "{list}");
    let (status, list) = as_key(&app, &reseller, M::GET, "/api/v1/payments", None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(ids_in(&list, "payments"), [my_payment]);

    // Another partner's invoice, payment, customer lists and statement are not found.
    for path in [
        format!("/api/v1/invoices/{others_invoice}"),
        format!("/api/v1/invoices/{}", numbered(&app, "INV", 2)),
        format!("/api/v1/bills/{others_invoice}"),
        format!("/api/v1/invoices/{others_invoice}/pdf"),
        format!("/api/v1/payments/{others_payment}"),
        format!("/api/v1/customers/{other}/invoices"),
        format!("/api/v1/customers/{other}/payments"),
        format!("/api/v1/customers/{other}/statement"),
    ] {
        let (status, body) = as_key(&app, &reseller, M::GET, &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert!(body.get("data").is_none(), "no data leaks: {body}");
    }
    for path in [
        format!("/api/v1/invoices/{my_invoice}"),
        format!("/api/v1/customers/{mine}/statement"),
        format!("/api/v1/payments/{my_payment}"),
    ] {
        let (status, body) = as_key(&app, &reseller, M::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }

    // It takes payments from its own customers only; it issues nothing and refunds nothing.
    let (status, body) = as_key(
        &app,
        &reseller,
        M::POST,
        "/api/v1/payments",
        Some(json!({"customer_id": other, "amount": 5.0, "method": "cash"})),
    )
    .await;
    assert_invalid(status, &body, "customer_id");
    let path = format!("/api/v1/invoices/{others_invoice}/pay");
    let (status, _) = as_key(&app, &reseller, M::POST, &path, Some(json!({}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = as_key(
        &app,
        &reseller,
        M::POST,
        "/api/v1/payments",
        Some(json!({"customer_id": mine, "amount": 5.0, "method": "mobile_money"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["payment"]["partner_id"], json!(ours));
    let path = format!("/api/v1/invoices/{my_invoice}/pay");
    let (status, body) = as_key(&app, &reseller, M::POST, &path, Some(json!({}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let new_invoice = json!({"customer_id": mine, "line_items": [line("Router", 10.0)]});
    let (status, body) = as_key(
        &app,
        &reseller,
        M::POST,
        "/api/v1/invoices",
        Some(new_invoice.clone()),
    )
    .await;
    assert_forbidden(status, &body, "a reseller issues an invoice");
    let path = format!("/api/v1/payments/{my_payment}/refund");
    let (status, body) = as_key(
        &app,
        &reseller,
        M::POST,
        &path,
        Some(json!({"reason": "Mine"})),
    )
    .await;
    assert_forbidden(status, &body, "a reseller refunds");
    let (status, body) = as_key(&app, &reseller, M::GET, "/api/v1/tax-rates", None).await;
    assert_forbidden(status, &body, "a reseller reads tax rates");
    // The admin sees both partners' invoices.
    let (_, list) = app.get("/api/v1/invoices").await;
    assert_eq!(list["meta"]["total"], json!(2), "{list}");

    // Billing issues invoices, takes payments and manages tax rates.
    let (_, billing) = app.key(Role::Billing, None, None).await;
    let (status, body) = as_key(
        &app,
        &billing,
        M::POST,
        "/api/v1/billing/invoices",
        Some(new_invoice.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = as_key(
        &app,
        &billing,
        M::POST,
        "/api/v1/payments",
        Some(json!({"customer_id": mine, "amount": 1.0, "method": "cash"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = as_key(
        &app,
        &billing,
        M::POST,
        "/api/v1/tax-rates",
        Some(json!({"name": "VAT", "rate_percent": 16})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Support and read-only staff read, and write nothing.
    for role in [Role::Support, Role::ReadOnly] {
        let (_, key) = app.key(role, None, None).await;
        for path in [
            "/api/v1/invoices".to_owned(),
            format!("/api/v1/invoices/{my_invoice}"),
            "/api/v1/payments".to_owned(),
            "/api/v1/tax-rates".to_owned(),
            format!("/api/v1/customers/{mine}/statement"),
        ] {
            let (status, body) = as_key(&app, &key, M::GET, &path, None).await;
            assert_eq!(status, StatusCode::OK, "{role:?} GET {path}: {body}");
        }
        let (status, body) = as_key(
            &app,
            &key,
            M::POST,
            "/api/v1/invoices",
            Some(new_invoice.clone()),
        )
        .await;
        assert_forbidden(status, &body, &format!("{role:?} issues an invoice"));
        let (status, body) = as_key(
            &app,
            &key,
            M::POST,
            "/api/v1/payments",
            Some(json!({"customer_id": mine, "amount": 1.0, "method": "cash"})),
        )
        .await;
        assert_forbidden(status, &body, &format!("{role:?} records a payment"));
    }

    // A technician does not see billing at all.
    let (_, technician) = app.key(Role::Technician, None, None).await;
    for path in [
        "/api/v1/invoices".to_owned(),
        format!("/api/v1/invoices/{my_invoice}"),
        "/api/v1/payments".to_owned(),
        format!("/api/v1/customers/{mine}/statement"),
    ] {
        let (status, body) = as_key(&app, &technician, M::GET, &path, None).await;
        assert_forbidden(status, &body, &format!("technician GET {path}"));
    }

    // A reseller key without a partner sees nothing, not everything:
    // no list, invoice or payment.
    let (_, lone) = app.key(Role::Reseller, None, None).await;
    for path in ["/api/v1/invoices", "/api/v1/payments"] {
        let (status, list) = as_key(&app, &lone, M::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(list["meta"]["total"], json!(0), "{path}: {list}");
    }
    for path in [
        format!("/api/v1/invoices/{my_invoice}"),
        format!("/api/v1/payments/{my_payment}"),
    ] {
        let (status, body) = as_key(&app, &lone, M::GET, &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
}

// ---- events ----

async fn invoice_changes_emit_their_events_with_the_invoice(app: TestApp) {
    let customer = id(&app.create_customer("Pendo", "+254722000131").await);
    let draft = id(&create_invoice(
        &app,
        json!({"customer_id": customer, "draft": true,
               "line_items": [line("Monthly service", 30.0)]}),
    )
    .await);
    let (status, answer) = app
        .post(&format!("/api/v1/invoices/{draft}/finalize"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, answer) = app
        .post(
            &format!("/api/v1/invoices/{draft}/pay"),
            &json!({"gateway": "mpesa", "transaction_id": "QK-EVENTS-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let voided = id(&simple_invoice(&app, customer, 15.0).await);
    void(&app, voided).await;
    let credited = id(&simple_invoice(&app, customer, 20.0).await);
    let note = id(&credit(&app, credited, json!({"amount": 5.0, "reason": "Outage"})).await);
    let given_up = id(&simple_invoice(&app, customer, 12.0).await);
    let (status, answer) = app
        .post(
            &format!("/api/v1/invoices/{given_up}/mark-uncollectible"),
            &json!({"reason": "Unreachable"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    let found = events(&app, &["invoice.*", "credit_note.*"]).await;
    let of = |invoice: i64| -> Vec<&str> {
        found
            .iter()
            .filter(|e| e.resource_id == invoice.to_string())
            .map(|e| e.r#type.as_str())
            .collect()
    };
    assert_eq!(
        of(draft),
        ["invoice.generated", "invoice.finalized", "invoice.paid"]
    );
    assert_eq!(
        of(voided),
        ["invoice.generated", "invoice.finalized", "invoice.voided"]
    );
    assert_eq!(
        of(given_up),
        [
            "invoice.generated",
            "invoice.finalized",
            "invoice.marked_uncollectible"
        ]
    );
    assert!(of(note).contains(&"credit_note.issued"), "{:?}", of(note));

    let data_of = |invoice: i64, event_type: &str| {
        let event = found
            .iter()
            .find(|e| e.resource_id == invoice.to_string() && e.r#type == event_type)
            .unwrap_or_else(|| panic!("no {event_type} of {invoice}"));
        if event_type.starts_with("invoice.") {
            assert_eq!(event.resource_type, "invoice", "{event:?}");
        }
        assert_eq!(event.partner_id, None);
        let data = event_data(event);
        assert_eq!(data["id"].as_f64(), Some(invoice as f64), "{data}");
        assert_eq!(
            data["customer_id"].as_f64(),
            Some(customer as f64),
            "{data}"
        );
        data
    };
    let generated = data_of(draft, "invoice.generated");
    assert_eq!(generated["status"], json!("draft"), "{generated}");
    assert_eq!(generated["invoice_number"], json!(null), "{generated}");
    assert_eq!(cents(&generated["total_amount"]), 3000, "{generated}");
    let finalized = data_of(draft, "invoice.finalized");
    assert_eq!(finalized["status"], json!("pending"), "{finalized}");
    assert_eq!(
        finalized["invoice_number"],
        json!(numbered(&app, "INV", 1)),
        "{finalized}"
    );
    let paid = data_of(draft, "invoice.paid");
    assert_eq!(paid["status"], json!("paid"), "{paid}");
    assert_eq!(cents(&paid["amount_due"]), 0, "{paid}");
    let voided_data = data_of(voided, "invoice.voided");
    assert_eq!(voided_data["status"], json!("void"), "{voided_data}");
    let issued = data_of(note, "credit_note.issued");
    assert_eq!(issued["kind"], json!("credit_note"), "{issued}");
    assert_eq!(issued["credit_note_for"].as_f64(), Some(credited as f64));
    assert_eq!(cents(&issued["total_amount"]), 500, "{issued}");
    let uncollectible = data_of(given_up, "invoice.marked_uncollectible");
    assert_eq!(uncollectible["status"], json!("uncollectible"));
}

// ---- gRPC ----

async fn an_invoice_life_cycle_over_grpc(app: TestApp) {
    let key = app.admin_key.clone();
    let customer = id(&app.create_customer("Rehema", "+254722000141").await);
    let mut billing = BillingServiceClient::new(app.grpc_channel().await);
    let mut payments = PaymentServiceClient::new(app.grpc_channel().await);
    let money = |m: &Option<lastmile_proto::v1::Money>| m.as_ref().expect("money").minor_units;
    let one_line = |amount: &str, draft: bool| InvoiceInput {
        customer_id: customer,
        line_items: vec![InvoiceLineInput {
            description: "Monthly service".into(),
            amount: amount.into(),
            ..Default::default()
        }],
        draft,
        ..Default::default()
    };

    // Issued at once.
    let issued = billing
        .create_invoice(with_key(
            CreateInvoiceRequest {
                invoice: Some(one_line("20.00", false)),
                validate_only: false,
            },
            &key,
        ))
        .await
        .expect("CreateInvoice")
        .into_inner()
        .invoice
        .expect("the invoice");
    assert_eq!(issued.status, InvoiceStatus::Open as i32);
    assert_eq!(issued.number, numbered(&app, "INV", 1));
    assert_eq!(money(&issued.total_amount), 2000);
    assert_eq!(issued.currency, "USD");

    // A draft, then finalised.
    let draft = billing
        .create_invoice(with_key(
            CreateInvoiceRequest {
                invoice: Some(one_line("49.99", true)),
                validate_only: false,
            },
            &key,
        ))
        .await
        .expect("CreateInvoice")
        .into_inner()
        .invoice
        .expect("the draft");
    assert_eq!(draft.status, InvoiceStatus::Draft as i32);
    assert_eq!(draft.number, "");
    let finalized = billing
        .finalize_invoice(with_key(FinalizeInvoiceRequest { id: draft.id }, &key))
        .await
        .expect("FinalizeInvoice")
        .into_inner()
        .invoice
        .expect("the invoice");
    assert_eq!(finalized.status, InvoiceStatus::Open as i32);
    assert_eq!(finalized.number, numbered(&app, "INV", 2));
    assert_eq!(money(&finalized.amount_due), 4999);

    // Paid in full: the amount due by default.
    let paid = payments
        .pay_invoice(with_key(
            PayInvoiceRequest {
                invoice_id: draft.id,
                amount: String::new(),
                gateway: "mpesa".into(),
                transaction_id: "QK7Y2GRPC".into(),
                method: PaymentMethod::MobileMoney as i32,
                paid_at: String::new(),
            },
            &key,
        ))
        .await
        .expect("PayInvoice")
        .into_inner();
    let payment = paid.payment.expect("the payment");
    assert_eq!(payment.kind, PaymentKind::Payment as i32);
    assert_eq!(money(&payment.amount), 4999);
    assert_eq!(payment.method, PaymentMethod::MobileMoney as i32);
    assert_eq!(payment.allocations.len(), 1, "{payment:?}");
    assert_eq!(payment.allocations[0].invoice_id, draft.id);
    assert_eq!(money(&payment.allocations[0].amount), 4999);
    let after = paid.invoice.expect("the invoice");
    assert_eq!(after.status, InvoiceStatus::Paid as i32);
    assert!(after.paid_at.is_some());

    // By number, and in the customer's list.
    let got = billing
        .get_invoice(with_key(
            GetInvoiceRequest {
                invoice: numbered(&app, "INV", 2),
            },
            &key,
        ))
        .await
        .expect("GetInvoice")
        .into_inner()
        .invoice
        .expect("the invoice");
    assert_eq!(got.id, draft.id);
    assert_eq!(got.status, InvoiceStatus::Paid as i32);
    let list = billing
        .list_invoices(with_key(
            ListInvoicesRequest {
                customer_id: Some(customer),
                status: InvoiceStatus::Open as i32,
                ..Default::default()
            },
            &key,
        ))
        .await
        .expect("ListInvoices")
        .into_inner();
    assert_eq!(
        list.invoices.iter().map(|i| i.id).collect::<Vec<_>>(),
        [issued.id]
    );

    // The statement: two debits and the payment, with the running balance.
    let statement = billing
        .get_statement(with_key(
            GetStatementRequest {
                customer: customer.to_string(),
                ..Default::default()
            },
            &key,
        ))
        .await
        .expect("GetStatement")
        .into_inner();
    let rows: Vec<(&str, i64, i64, i64)> = statement
        .entries
        .iter()
        .map(|e| {
            (
                e.kind.as_str(),
                money(&e.debit),
                money(&e.credit),
                money(&e.balance),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            // 0 − 20.00
            ("invoice", 2000, 0, -2000),
            // −20.00 − 49.99
            ("invoice", 4999, 0, -6999),
            // −69.99 + 49.99
            ("payment", 0, 4999, -2000),
        ]
    );
    assert_eq!(money(&statement.opening_balance), 0);
    assert_eq!(money(&statement.closing_balance), -2000);
    assert_eq!(money(&statement.total_debit), 6999);
    assert_eq!(money(&statement.total_credit), 4999);
    assert_eq!(balance(&app, customer).await, -2000);

    // A bad amount is INVALID_ARGUMENT; an unknown invoice NOT_FOUND; a second
    // finalisation FAILED_PRECONDITION (the REST 409).
    let status = billing
        .create_invoice(with_key(
            CreateInvoiceRequest {
                invoice: Some(one_line("ten", false)),
                validate_only: false,
            },
            &key,
        ))
        .await
        .expect_err("a bad amount");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let status = billing
        .get_invoice(with_key(
            GetInvoiceRequest {
                invoice: "999999".into(),
            },
            &key,
        ))
        .await
        .expect_err("an unknown invoice");
    assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
    let status = billing
        .finalize_invoice(with_key(FinalizeInvoiceRequest { id: draft.id }, &key))
        .await
        .expect_err("finalised twice");
    assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
}

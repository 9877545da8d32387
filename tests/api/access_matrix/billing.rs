//! Billing in the matrix: tax rates, the billing settings, invoices (also at the bills
//! alias and the seed's create path), a customer's invoices, payments and statement, the
//! dunning run, and billing runs.
//!
//! Bodies break a rule (an empty name, a prefix starting with a digit, no lines, a
//! negative amount, an empty reason), so an allowed write is a 422 and changes nothing.
//! Invoice commands aim at a paid invoice, which none of them may change: finalising,
//! voiding and marking it uncollectible are refused for its state (409, authorized first),
//! and a credit note's negative amount is a 422. Paying aims at an open invoice with a
//! negative amount (a paid one would be refused for its state before the amount is read).
//! A dunning run takes no body: an allowed one answers 200 and changes nothing, since no
//! invoice is near its due date and the clock does not move. A billing run's date is not a
//! date, so an allowed one is a 422 and starts nothing; the run read by id is a dry run
//! made for the matrix. Deletes get a fresh draft or tax rate each time.

use lastmile_tests::{StatusCode, TestApp, json};
use serde_json::Value;

use super::Endpoint;

/// The path that pays an invoice, under the payments' permission.
pub(super) const PAY: &str = "/api/v1/invoices/{id}/pay";

/// Every route of billing with the permission it needs.
pub(super) fn endpoints() -> Vec<Endpoint> {
    let e = |method, path, resource, operation, body: Option<Value>| Endpoint {
        method,
        path,
        resource,
        operation,
        body,
    };
    let rate = || Some(json!({"name": "", "rate_percent": 101}));
    let settings = || Some(json!({"invoice_prefix": "1NV"}));
    let no_lines = || Some(json!({"line_items": []}));
    vec![
        e("GET", "/api/v1/tax-rates", "tax_rates", "read", None),
        e("POST", "/api/v1/tax-rates", "tax_rates", "create", rate()),
        e("GET", "/api/v1/tax-rates/{id}", "tax_rates", "read", None),
        e(
            "PUT",
            "/api/v1/tax-rates/{id}",
            "tax_rates",
            "update",
            rate(),
        ),
        e(
            "PATCH",
            "/api/v1/tax-rates/{id}",
            "tax_rates",
            "update",
            rate(),
        ),
        e(
            "DELETE",
            "/api/v1/tax-rates/{id}",
            "tax_rates",
            "delete",
            None,
        ),
        e(
            "GET",
            "/api/v1/settings/billing",
            "billing_settings",
            "read",
            None,
        ),
        e(
            "PUT",
            "/api/v1/settings/billing",
            "billing_settings",
            "update",
            settings(),
        ),
        e(
            "PATCH",
            "/api/v1/settings/billing",
            "billing_settings",
            "update",
            settings(),
        ),
        e(
            "POST",
            "/api/v1/billing/invoices",
            "invoices",
            "create",
            no_lines(),
        ),
        e("GET", "/api/v1/invoices", "invoices", "read", None),
        e("POST", "/api/v1/invoices", "invoices", "create", no_lines()),
        e("GET", "/api/v1/invoices/{id}", "invoices", "read", None),
        e(
            "DELETE",
            "/api/v1/invoices/{id}",
            "invoices",
            "delete",
            None,
        ),
        e("GET", "/api/v1/bills", "invoices", "read", None),
        e("GET", "/api/v1/bills/{id}", "invoices", "read", None),
        e(
            "POST",
            "/api/v1/invoices/{id}/finalize",
            "invoices",
            "act",
            None,
        ),
        e(
            "POST",
            "/api/v1/invoices/{id}/void",
            "invoices",
            "act",
            Some(json!({"reason": "Matrix"})),
        ),
        e(
            "POST",
            "/api/v1/invoices/{id}/mark-uncollectible",
            "invoices",
            "act",
            Some(json!({"reason": "Matrix"})),
        ),
        e(
            "POST",
            "/api/v1/invoices/{id}/credit-notes",
            "invoices",
            "act",
            Some(json!({"amount": -1, "reason": "Matrix"})),
        ),
        e("GET", "/api/v1/invoices/{id}/pdf", "invoices", "read", None),
        e("POST", "/api/v1/billing/dunning", "invoices", "act", None),
        e(
            "GET",
            "/api/v1/customers/{id}/invoices",
            "invoices",
            "read",
            None,
        ),
        e(
            "GET",
            "/api/v1/customers/{id}/statement",
            "invoices",
            "read",
            None,
        ),
        e(
            "POST",
            PAY,
            "payments",
            "create",
            Some(json!({"amount": -1})),
        ),
        e("GET", "/api/v1/payments", "payments", "read", None),
        e(
            "POST",
            "/api/v1/payments",
            "payments",
            "create",
            Some(json!({"amount": -1})),
        ),
        e("GET", "/api/v1/payments/{id}", "payments", "read", None),
        e(
            "POST",
            "/api/v1/payments/{id}/refund",
            "payments",
            "act",
            Some(json!({"reason": ""})),
        ),
        e(
            "GET",
            "/api/v1/customers/{id}/payments",
            "payments",
            "read",
            None,
        ),
        e(
            "POST",
            "/api/v1/billing/runs",
            "billing_runs",
            "create",
            Some(json!({"date": "not a date", "dry_run": true})),
        ),
        e("GET", "/api/v1/billing/runs", "billing_runs", "read", None),
        e(
            "GET",
            "/api/v1/billing/runs/{id}",
            "billing_runs",
            "read",
            None,
        ),
    ]
}

/// What billing's endpoints aim at: a paid invoice (and its payment) and an open one of
/// customer `customer`, and a tax rate.
pub(super) struct Targets {
    /// A paid invoice: commands on it are refused for its state.
    pub(super) paid_invoice: i64,
    /// An open invoice, to pay.
    pub(super) open_invoice: i64,
    /// The payment that paid `paid_invoice`.
    pub(super) payment: i64,
    /// A tax rate.
    pub(super) tax_rate: i64,
    /// A billing run (a dry one: it writes nothing but itself).
    pub(super) billing_run: i64,
}

impl Targets {
    /// Creates the targets as the admin.
    pub(super) async fn create(app: &TestApp, customer: i64) -> Targets {
        let paid_invoice = create_invoice(app, customer, false).await;
        let body = json!({"customer_id": customer, "amount": 10.0, "method": "cash",
                          "invoice_id": paid_invoice});
        let (status, paid) = app.post("/api/v1/payments", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{paid}");
        Targets {
            paid_invoice,
            open_invoice: create_invoice(app, customer, false).await,
            payment: paid["data"]["payment"]["id"].as_i64().unwrap(),
            tax_rate: create_tax_rate(app, 0).await,
            billing_run: create_dry_run(app).await,
        }
    }

    /// The id a billing path aims at, by the permission's resource.
    pub(super) fn id(&self, path: &str, resource: &str) -> Option<i64> {
        match resource {
            _ if path == PAY => Some(self.open_invoice),
            "invoices" => Some(self.paid_invoice),
            "payments" => Some(self.payment),
            "tax_rates" => Some(self.tax_rate),
            "billing_runs" => Some(self.billing_run),
            _ => None,
        }
    }
}

/// Creates an invoice of 10.00 for `customer` as the admin, a draft if `draft`; returns
/// its id.
pub(super) async fn create_invoice(app: &TestApp, customer: i64, draft: bool) -> i64 {
    let body = json!({"customer_id": customer, "draft": draft,
                      "line_items": [{"description": "Matrix service", "amount": 10.0}]});
    let (status, created) = app.post("/api/v1/billing/invoices", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["data"]["invoice"]["id"].as_i64().unwrap()
}

/// Creates tax rate number `n` as the admin; returns its id.
pub(super) async fn create_tax_rate(app: &TestApp, n: u32) -> i64 {
    let body = json!({"name": format!("Matrix rate {n}"), "rate_percent": 16});
    let (status, created) = app.post("/api/v1/tax-rates", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["data"]["tax_rate"]["id"].as_i64().unwrap()
}

/// Makes a dry billing run as the admin; returns its id.
pub(super) async fn create_dry_run(app: &TestApp) -> i64 {
    let (status, run) = app
        .post("/api/v1/billing/runs", &json!({"dry_run": true}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    run["data"]["billing_run"]["id"].as_i64().unwrap()
}

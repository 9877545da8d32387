//! Payments as clients see them. What a client can rely on:
//!
//! - a payment is recorded as written and allocated to the invoice it names, then to the
//!   oldest unpaid invoices by due date; what is left is the customer's credit, which pays
//!   the next invoice issued;
//! - a gateway's transaction is recorded once: retries, however many and however
//!   concurrent, answer the same payment and move the balance once; the same transaction
//!   with another amount or customer is a conflict;
//! - paying an invoice defaults to its amount due; paid and void invoices take no payment;
//! - a refund takes the payment's credit first, then its invoice shares newest first (they
//!   are due again); a reversal takes all that is left and is announced as a failure;
//!   refunds are new entries and never edit the payment beyond what it has refunded;
//! - at every step the balance equals the statement's credits less its debits and the
//!   payments' credit less what the unpaid invoices still owe;
//! - bad fields are reported on their field.
//!
//! Expected amounts are computed by hand in the comments, never read from the server.

use chrono::{Duration, SubsecRound};
use lastmile_core::clock::Clock;
use lastmile_tests::{StatusCode, TestApp, engine_tests, json};
use serde_json::Value;

use crate::invoices::{
    assert_conflict, assert_settled, balance, cents, create_invoice, credit, entry_rows, ids_in,
    invoice, invoice_due, items, pay, simple_invoice, statement, today, void,
};
use crate::tickets::{assert_invalid, event_data, events, id, time};

engine_tests!(
    a_payment_is_recorded_and_allocated_to_its_invoice,
    a_gateway_transaction_is_recorded_once_however_often_it_is_retried,
    an_overpayment_is_credit_that_pays_the_next_invoice,
    a_payment_without_an_invoice_pays_the_oldest_due_first,
    paying_an_invoice_defaults_to_its_amount_due,
    a_refund_takes_the_credit_first_and_then_reopens_invoices,
    the_ledger_always_adds_up,
    bad_payments_are_reported_on_their_field,
);

// ---- helpers ----

/// Records a payment from `body` as the admin; answers `data.payment`.
async fn record(app: &TestApp, body: Value) -> Value {
    let (status, answer) = app.post("/api/v1/payments", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}: {answer}");
    assert_eq!(answer["success"], json!(true), "{answer}");
    answer["data"]["payment"].clone()
}

/// The payment as the admin reads it.
async fn payment(app: &TestApp, payment: i64) -> Value {
    let (status, answer) = app.get(&format!("/api/v1/payments/{payment}")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["data"]["payment"].clone()
}

/// Refunds (or reverses) `payment` with `body` as the admin; answers `data.payment`.
async fn refund(app: &TestApp, payment: i64, body: Value) -> Value {
    let (status, answer) = app
        .post(&format!("/api/v1/payments/{payment}/refund"), &body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}: {answer}");
    answer["data"]["payment"].clone()
}

/// A payment's allocations as (invoice id, cents), by invoice id.
#[track_caller]
fn allocations(payment: &Value) -> Vec<(i64, i64)> {
    let mut shares: Vec<(i64, i64)> = payment["allocations"]
        .as_array()
        .unwrap_or_else(|| panic!("no allocations in {payment}"))
        .iter()
        .map(|a| {
            (
                a["invoice_id"].as_i64().unwrap_or_else(|| panic!("{a}")),
                cents(&a["amount"]),
            )
        })
        .collect();
    shares.sort_unstable();
    shares
}

/// How many events of `event_type` are about resource `id`.
async fn count_events(app: &TestApp, event_type: &str, id: i64) -> usize {
    events(app, &[event_type])
        .await
        .iter()
        .filter(|e| e.resource_id == id.to_string())
        .count()
}

/// Checks the books of `customer` three ways against `expected` (cents): the customer's
/// balance; the statement (credits less debits, each entry's running balance, the closing
/// balance, and its totals `(debit, credit)`); and the payments' unallocated credit less
/// what the unpaid invoices still owe.
async fn assert_books(app: &TestApp, customer: i64, expected: i64, (debit, credit): (i64, i64)) {
    assert_eq!(balance(app, customer).await, expected, "the balance");
    let ledger = statement(app, customer, "?per_page=100").await;
    let mut running = 0;
    for (kind, entry_debit, entry_credit, entry_balance) in entry_rows(&ledger) {
        running += entry_credit - entry_debit;
        assert_eq!(entry_balance, running, "{kind} entry of {ledger}");
    }
    assert_eq!(running, expected, "credits less debits: {ledger}");
    assert_eq!(cents(&ledger["closing_balance"]), expected, "{ledger}");
    assert_eq!(
        (
            cents(&ledger["total_debit"]),
            cents(&ledger["total_credit"])
        ),
        (debit, credit),
        "{ledger}"
    );
    let (status, payments) = app
        .get(&format!(
            "/api/v1/customers/{customer}/payments?per_page=100"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{payments}");
    let credit_held: i64 = items(&payments, "payments")
        .iter()
        .filter(|p| p["kind"] == json!("payment"))
        .map(|p| cents(&p["unallocated"]))
        .sum();
    let (status, invoices) = app
        .get(&format!(
            "/api/v1/customers/{customer}/invoices?per_page=100"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{invoices}");
    let owed: i64 = items(&invoices, "invoices")
        .iter()
        .filter(|i| {
            i["kind"] == json!("invoice")
                && (i["status"] == json!("pending") || i["status"] == json!("uncollectible"))
        })
        .map(|i| cents(&i["amount_due"]))
        .sum();
    assert_eq!(credit_held - owed, expected, "{payments}\n{invoices}");
}

// ---- recording and allocating ----

async fn a_payment_is_recorded_and_allocated_to_its_invoice(app: TestApp) {
    let customer = id(&app.create_customer("Amani", "+254733000001").await);
    let bill = simple_invoice(&app, customer, 100.0).await;
    let bill_id = id(&bill);

    let first = record(
        &app,
        json!({"customer_id": customer, "amount": 40.0, "method": "cash",
               "invoice_id": bill_id, "notes": "Paid at the counter"}),
    )
    .await;
    let first_id = id(&first);
    for (field, expected) in [
        ("kind", json!("payment")),
        ("customer_id", json!(customer)),
        ("partner_id", json!(null)),
        ("currency", json!("USD")),
        ("method", json!("cash")),
        ("gateway", json!(null)),
        ("transaction_id", json!(null)),
        ("invoice_id", json!(bill_id)),
        ("refund_of", json!(null)),
        ("notes", json!("Paid at the counter")),
    ] {
        assert_eq!(first[field], expected, "{field}: {first}");
    }
    assert_eq!(cents(&first["amount"]), 4000);
    assert_eq!(cents(&first["unallocated"]), 0);
    assert_eq!(cents(&first["refunded"]), 0);
    assert_eq!(
        first["allocations"][0]["invoice_number"], bill["invoice_number"],
        "{first}"
    );
    assert_eq!(allocations(&first), [(bill_id, 4000)]);
    assert!(first["paid_at"].is_string() && first["created_at"].is_string());
    assert!(
        first["links"]["self"]
            .as_str()
            .is_some_and(|l| l.ends_with(&format!("/api/v1/payments/{first_id}"))),
        "{first}"
    );
    // 100.00 − 40.00 still due.
    let partly = invoice(&app, bill_id).await;
    assert_eq!(partly["status"], json!("pending"));
    assert_eq!(partly["paid_at"], json!(null));
    assert_settled(&partly, (4000, 0, 6000));
    assert_eq!(balance(&app, customer).await, -6000);

    // The rest, by bank transfer an hour ago.
    let an_hour_ago = (app.clock.now() - Duration::hours(1)).trunc_subsecs(0);
    let second = record(
        &app,
        json!({"customer_id": customer, "amount": 60.0, "method": "bank_transfer",
               "gateway": "equity", "transaction_id": "EQ-2026-0001",
               "paid_at": an_hour_ago.to_rfc3339(), "invoice_id": bill_id}),
    )
    .await;
    assert_eq!(second["gateway"], json!("equity"));
    assert_eq!(second["transaction_id"], json!("EQ-2026-0001"));
    assert_eq!(time(&second["paid_at"]), an_hour_ago, "{second}");
    assert_eq!(allocations(&second), [(bill_id, 6000)]);
    let paid = invoice(&app, bill_id).await;
    assert_eq!(paid["status"], json!("paid"), "{paid}");
    assert!(paid["paid_at"].is_string(), "{paid}");
    assert_settled(&paid, (10_000, 0, 0));
    assert_eq!(balance(&app, customer).await, 0);

    // One invoice.paid with the paid invoice; one payment.received per payment.
    let paid_events = events(&app, &["invoice.paid"]).await;
    let ours: Vec<_> = paid_events
        .iter()
        .filter(|e| e.resource_id == bill_id.to_string())
        .collect();
    assert_eq!(ours.len(), 1, "{paid_events:?}");
    assert_eq!(event_data(ours[0])["status"], json!("paid"));
    for payment_id in [first_id, id(&second)] {
        assert_eq!(count_events(&app, "payment.received", payment_id).await, 1);
    }
    let received = events(&app, &["payment.received"]).await;
    let data = event_data(&received[0]);
    assert_eq!(data["id"].as_f64(), Some(first_id as f64), "{data}");
    assert_eq!(cents(&data["amount"]), 4000, "{data}");

    // Read back, listed newest first, and filtered.
    assert_eq!(payment(&app, first_id).await, first);
    let list = |query: String| {
        let app = &app;
        async move {
            let (status, body) = app.get(&query).await;
            assert_eq!(status, StatusCode::OK, "{query}: {body}");
            ids_in(&body, "payments")
        }
    };
    let both = [id(&second), first_id];
    assert_eq!(list("/api/v1/payments".into()).await, both);
    assert_eq!(
        list(format!("/api/v1/customers/{customer}/payments")).await,
        both
    );
    assert_eq!(
        list(format!("/api/v1/payments?invoice_id={bill_id}")).await,
        both
    );
    assert_eq!(
        list(format!(
            "/api/v1/payments?customer_id={customer}&method=cash"
        ))
        .await,
        [first_id]
    );
    assert_eq!(
        list("/api/v1/payments?kind=refund".into()).await,
        Vec::<i64>::new()
    );
    let (status, answer) = app.get("/api/v1/payments/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
}

async fn a_gateway_transaction_is_recorded_once_however_often_it_is_retried(app: TestApp) {
    let customer = id(&app.create_customer("Bahati", "+254733000011").await);
    let other = id(&app.create_customer("Chausiku", "+254733000012").await);
    let bill = id(&simple_invoice(&app, customer, 100.0).await);
    let body = json!({"customer_id": customer, "amount": 100.0, "method": "mobile_money",
                      "gateway": "mpesa", "transaction_id": "QKX123ABC", "invoice_id": bill});

    let answers =
        futures::future::join_all((0..50).map(|_| app.post("/api/v1/payments", &body))).await;
    let mut ids = std::collections::BTreeSet::new();
    for (status, answer) in &answers {
        assert_eq!(*status, StatusCode::CREATED, "{answer}");
        ids.insert(id(&answer["data"]["payment"]));
    }
    assert_eq!(ids.len(), 1, "one payment for every retry: {ids:?}");
    let payment_id = *ids.first().unwrap();

    let (_, list) = app
        .get(&format!("/api/v1/customers/{customer}/payments"))
        .await;
    assert_eq!(ids_in(&list, "payments"), [payment_id]);
    // −100.00 + 100.00, once.
    assert_eq!(balance(&app, customer).await, 0);
    let paid = invoice(&app, bill).await;
    assert_eq!(paid["status"], json!("paid"));
    assert_settled(&paid, (10_000, 0, 0));
    assert_eq!(count_events(&app, "payment.received", payment_id).await, 1);
    let ledger = statement(&app, customer, "").await;
    assert_eq!(entry_rows(&ledger).len(), 2, "the invoice and one payment");

    // The same transaction saying something else is a conflict.
    let mut other_amount = body.clone();
    other_amount["amount"] = json!(99.0);
    let mut other_customer = body.clone();
    other_customer["customer_id"] = json!(other);
    other_customer.as_object_mut().unwrap().remove("invoice_id");
    for conflicting in [other_amount, other_customer] {
        let (status, answer) = app.post("/api/v1/payments", &conflicting).await;
        assert_conflict(status, &answer, "the same transaction, changed");
    }
    assert_eq!(balance(&app, customer).await, 0);
    assert_eq!(balance(&app, other).await, 0);

    // The same transaction id at another gateway is another payment.
    let elsewhere = record(
        &app,
        json!({"customer_id": other, "amount": 5.0, "method": "mobile_money",
               "gateway": "airtel", "transaction_id": "QKX123ABC"}),
    )
    .await;
    assert_ne!(id(&elsewhere), payment_id);
    assert_eq!(balance(&app, other).await, 500);
}

async fn an_overpayment_is_credit_that_pays_the_next_invoice(app: TestApp) {
    let customer = id(&app.create_customer("Dalila", "+254733000021").await);
    let first = id(&simple_invoice(&app, customer, 30.0).await);
    let over = record(
        &app,
        json!({"customer_id": customer, "amount": 50.0, "method": "cash", "invoice_id": first}),
    )
    .await;
    let over_id = id(&over);
    // 30.00 to the invoice, 50.00 − 30.00 = 20.00 of credit.
    assert_eq!(allocations(&over), [(first, 3000)]);
    assert_eq!(cents(&over["unallocated"]), 2000);
    assert_eq!(invoice(&app, first).await["status"], json!("paid"));
    assert_eq!(balance(&app, customer).await, 2000);

    // The next invoice is paid from the credit as it is issued: 20.00 − 15.00 = 5.00 left.
    let second = simple_invoice(&app, customer, 15.0).await;
    assert_eq!(second["status"], json!("paid"), "{second}");
    assert!(second["paid_at"].is_string(), "{second}");
    assert_settled(&second, (1500, 0, 0));
    assert_eq!(balance(&app, customer).await, 500);
    let shown = payment(&app, over_id).await;
    assert_eq!(cents(&shown["unallocated"]), 500, "{shown}");
    assert_eq!(allocations(&shown), [(first, 3000), (id(&second), 1500)]);
    assert_eq!(count_events(&app, "invoice.paid", id(&second)).await, 1);

    // The one after is paid in part: 12.00 − 5.00 = 7.00 due.
    let third = simple_invoice(&app, customer, 12.0).await;
    assert_eq!(third["status"], json!("pending"), "{third}");
    assert_settled(&third, (500, 0, 700));
    assert_eq!(balance(&app, customer).await, -700);
    assert_eq!(cents(&payment(&app, over_id).await["unallocated"]), 0);
}

async fn a_payment_without_an_invoice_pays_the_oldest_due_first(app: TestApp) {
    let customer = id(&app.create_customer("Eshe", "+254733000031").await);
    let start = today(&app);
    // Created in this order, due in another: the second, then the third, then the first.
    let due_last = id(&invoice_due(&app, customer, 10.0, start + Duration::days(30)).await);
    let due_first = id(&invoice_due(&app, customer, 10.0, start + Duration::days(10)).await);
    let due_second = id(&invoice_due(&app, customer, 10.0, start + Duration::days(20)).await);

    let paid = pay(&app, customer, 15.0, None).await;
    assert_eq!(paid["invoice_id"], json!(null));
    // 10.00 to the one due first, the other 5.00 to the one due next.
    let mut expected = vec![(due_first, 1000), (due_second, 500)];
    expected.sort_unstable();
    assert_eq!(allocations(&paid), expected);
    assert_eq!(cents(&paid["unallocated"]), 0);
    assert_eq!(invoice(&app, due_first).await["status"], json!("paid"));
    let partly = invoice(&app, due_second).await;
    assert_eq!(partly["status"], json!("pending"));
    assert_settled(&partly, (500, 0, 500));
    assert_settled(&invoice(&app, due_last).await, (0, 0, 1000));
    // −30.00 + 15.00.
    assert_eq!(balance(&app, customer).await, -1500);

    // Another 5.00 finishes the second; the last one is still owed in full.
    let next = pay(&app, customer, 5.0, None).await;
    assert_eq!(allocations(&next), [(due_second, 500)]);
    assert_eq!(invoice(&app, due_second).await["status"], json!("paid"));
    assert_eq!(invoice(&app, due_last).await["status"], json!("pending"));
    assert_eq!(balance(&app, customer).await, -1000);
}

async fn paying_an_invoice_defaults_to_its_amount_due(app: TestApp) {
    let customer = id(&app.create_customer("Fumo", "+254733000041").await);
    let bill = id(&simple_invoice(&app, customer, 80.0).await);
    let path = format!("/api/v1/invoices/{bill}/pay");

    let (status, answer) = app
        .post(
            &path,
            &json!({"amount": 30.0, "gateway": "stripe", "transaction_id": "ch_001",
                    "method": "card"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let part = &answer["data"]["payment"];
    assert_eq!(cents(&part["amount"]), 3000);
    assert_eq!(part["method"], json!("card"));
    assert_eq!(part["invoice_id"], json!(bill));
    assert_eq!(allocations(part), [(bill, 3000)]);

    // Without an amount: what is due, 80.00 − 30.00 = 50.00; the method defaults to other.
    let rest_body = json!({"gateway": "stripe", "transaction_id": "ch_002"});
    let (status, answer) = app.post(&path, &rest_body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let rest = answer["data"]["payment"].clone();
    assert_eq!(cents(&rest["amount"]), 5000, "{rest}");
    assert_eq!(rest["method"], json!("other"), "{rest}");
    let paid = invoice(&app, bill).await;
    assert_eq!(paid["status"], json!("paid"));
    assert_settled(&paid, (8000, 0, 0));
    assert_eq!(balance(&app, customer).await, 0);

    // A paid invoice takes no new payment.
    let (status, answer) = app
        .post(
            &path,
            &json!({"gateway": "stripe", "transaction_id": "ch_003"}),
        )
        .await;
    assert_conflict(status, &answer, "pay a paid invoice");

    // Nor does a void one, nor a draft.
    let voided = id(&simple_invoice(&app, customer, 10.0).await);
    void(&app, voided).await;
    let (status, answer) = app
        .post(
            &format!("/api/v1/invoices/{voided}/pay"),
            &json!({"gateway": "stripe", "transaction_id": "ch_004"}),
        )
        .await;
    assert_conflict(status, &answer, "pay a void invoice");
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.ends_with("is void and cannot be paid.")),
        "{answer}"
    );
    let draft = id(&create_invoice(
        &app,
        json!({"customer_id": customer, "draft": true,
               "line_items": [{"description": "Draft", "amount": 10.0}]}),
    )
    .await);
    let (status, answer) = app
        .post(
            &format!("/api/v1/invoices/{draft}/pay"),
            &json!({"gateway": "stripe", "transaction_id": "ch_005"}),
        )
        .await;
    assert_conflict(status, &answer, "pay a draft");
    let (status, answer) = app
        .post(
            "/api/v1/payments",
            &json!({"customer_id": customer, "amount": 10.0, "method": "cash",
                    "invoice_id": draft}),
        )
        .await;
    assert_conflict(status, &answer, "a payment for a draft");
    assert_eq!(balance(&app, customer).await, 0);
    let (status, _) = app.post("/api/v1/invoices/999999/pay", &json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The gateway's retry of the call that paid the rest answers the same payment, though
    // the invoice is paid now, and moves nothing.
    let (status, answer) = app.post(&path, &rest_body).await;
    assert_eq!(status, StatusCode::CREATED, "a retry: {answer}");
    assert_eq!(id(&answer["data"]["payment"]), id(&rest));
    assert_eq!(balance(&app, customer).await, 0);
}

// ---- refunds ----

async fn a_refund_takes_the_credit_first_and_then_reopens_invoices(app: TestApp) {
    let customer = id(&app.create_customer("Gasira", "+254733000051").await);
    let bill = id(&simple_invoice(&app, customer, 100.0).await);
    let original = record(
        &app,
        json!({"customer_id": customer, "amount": 120.0, "method": "bank_transfer",
               "gateway": "equity", "transaction_id": "EQ-REFUND-1", "invoice_id": bill}),
    )
    .await;
    let paid_id = id(&original);
    // 100.00 to the invoice, 20.00 of credit.
    assert_eq!(cents(&original["unallocated"]), 2000);
    assert_eq!(balance(&app, customer).await, 2000);

    // 30.00 back: the 20.00 of credit, then 10.00 of the invoice, which is due again.
    let back = refund(
        &app,
        paid_id,
        json!({"amount": 30.0, "reason": "Customer moved"}),
    )
    .await;
    let back_id = id(&back);
    assert_ne!(back_id, paid_id);
    assert_eq!(back["kind"], json!("refund"));
    assert_eq!(back["refund_of"], json!(paid_id));
    assert_eq!(back["customer_id"], json!(customer));
    assert_eq!(cents(&back["amount"]), 3000);
    let after = payment(&app, paid_id).await;
    for field in [
        "id",
        "kind",
        "customer_id",
        "amount",
        "currency",
        "method",
        "gateway",
        "transaction_id",
        "paid_at",
        "invoice_id",
        "notes",
        "created_at",
    ] {
        assert_eq!(
            after[field], original[field],
            "{field} of the payment changed"
        );
    }
    assert_eq!(cents(&after["refunded"]), 3000, "{after}");
    assert_eq!(cents(&after["unallocated"]), 0, "{after}");
    // 100.00 − 10.00 of the invoice still paid by it.
    assert_eq!(allocations(&after), [(bill, 9000)]);
    let reopened = invoice(&app, bill).await;
    assert_eq!(reopened["status"], json!("pending"), "{reopened}");
    assert_eq!(reopened["paid_at"], json!(null), "{reopened}");
    assert_settled(&reopened, (9000, 0, 1000));
    // +20.00 − 30.00.
    assert_eq!(balance(&app, customer).await, -1000);
    assert_eq!(count_events(&app, "payment.refunded", back_id).await, 1);
    // The refund is a new debit; the payment's entry stays as it was.
    let s = |text: &str| text.to_owned();
    assert_eq!(
        entry_rows(&statement(&app, customer, "").await),
        [
            (s("invoice"), 10_000, 0, -10_000),
            (s("payment"), 0, 12_000, 2000),
            (s("refund"), 3000, 0, -1000),
        ]
    );

    // No more than what is left (120.00 − 30.00 = 90.00), with a reason; not a refund's.
    let path = format!("/api/v1/payments/{paid_id}/refund");
    let (status, answer) = app
        .post(&path, &json!({"amount": 90.01, "reason": "Too much"}))
        .await;
    assert_invalid(status, &answer, "amount");
    let (status, answer) = app.post(&path, &json!({"amount": 1.0})).await;
    assert_invalid(status, &answer, "reason");
    let (status, answer) = app
        .post(
            &format!("/api/v1/payments/{back_id}/refund"),
            &json!({"reason": "Refund the refund"}),
        )
        .await;
    assert_conflict(status, &answer, "refund a refund");

    // A reversal takes back the whole payment and is announced as a failed payment.
    let second = id(&simple_invoice(&app, customer, 25.0).await);
    let charged = id(&record(
        &app,
        json!({"customer_id": customer, "amount": 25.0, "method": "card",
               "gateway": "stripe", "transaction_id": "ch_reversed", "invoice_id": second}),
    )
    .await);
    assert_eq!(invoice(&app, second).await["status"], json!("paid"));
    let reversed = refund(
        &app,
        charged,
        json!({"reason": "Chargeback", "reversal": true}),
    )
    .await;
    assert_eq!(reversed["kind"], json!("reversal"));
    assert_eq!(reversed["refund_of"], json!(charged));
    assert_eq!(cents(&reversed["amount"]), 2500);
    assert_eq!(count_events(&app, "payment.failed", id(&reversed)).await, 1);
    let due_again = invoice(&app, second).await;
    assert_eq!(due_again["status"], json!("pending"));
    assert_settled(&due_again, (0, 0, 2500));
    // −10.00 − 25.00.
    assert_eq!(balance(&app, customer).await, -3500);
    let (status, answer) = app
        .post(
            &format!("/api/v1/payments/{charged}/refund"),
            &json!({"reason": "Again"}),
        )
        .await;
    assert_conflict(status, &answer, "refund a reversed payment");

    // Without an amount: all that is left, 90.00; then nothing is left.
    let all = refund(&app, paid_id, json!({"reason": "Closing the account"})).await;
    assert_eq!(cents(&all["amount"]), 9000, "{all}");
    assert_eq!(cents(&payment(&app, paid_id).await["refunded"]), 12_000);
    assert_settled(&invoice(&app, bill).await, (0, 0, 10_000));
    // −35.00 − 90.00 = −125.00, i.e. both invoices owed in full.
    assert_eq!(balance(&app, customer).await, -12_500);
    let (status, answer) = app
        .post(&path, &json!({"amount": 0.01, "reason": "More"}))
        .await;
    assert_conflict(status, &answer, "refund a fully refunded payment");
    let (_, refunds) = app
        .get(&format!(
            "/api/v1/payments?customer_id={customer}&kind=refund"
        ))
        .await;
    assert_eq!(refunds["meta"]["total"], json!(2), "{refunds}");
}

async fn the_ledger_always_adds_up(app: TestApp) {
    let customer = id(&app.create_customer("Hadiya", "+254733000061").await);
    let start = today(&app);
    // Each step: (balance, total debit, total credit), by hand.
    let first = id(&invoice_due(&app, customer, 100.0, start + Duration::days(10)).await);
    // 0 − 100.00.
    assert_books(&app, customer, -10_000, (10_000, 0)).await;
    let second = id(&invoice_due(&app, customer, 50.0, start + Duration::days(20)).await);
    // −100.00 − 50.00.
    assert_books(&app, customer, -15_000, (15_000, 0)).await;

    // 120.00 paid: 100.00 to the first, 20.00 to the second (30.00 left on it).
    let paid = pay(&app, customer, 120.0, None).await;
    assert_eq!(allocations(&paid), [(first, 10_000), (second, 2000)]);
    assert_books(&app, customer, -3000, (15_000, 12_000)).await;

    // 50.00 refunded: no credit held, so the second's 20.00 (newest first), then 30.00 of
    // the first: 50.00 and 30.00 are due again.
    refund(
        &app,
        id(&paid),
        json!({"amount": 50.0, "reason": "Overcharged"}),
    )
    .await;
    assert_settled(&invoice(&app, second).await, (0, 0, 5000));
    assert_settled(&invoice(&app, first).await, (7000, 0, 3000));
    // −30.00 − 50.00.
    assert_books(&app, customer, -8000, (20_000, 12_000)).await;

    // 30.00 credited on the first settles it.
    credit(&app, first, json!({"amount": 30.0, "reason": "Outage"})).await;
    assert_eq!(invoice(&app, first).await["status"], json!("paid"));
    // −80.00 + 30.00.
    assert_books(&app, customer, -5000, (20_000, 15_000)).await;

    // A third of 40.00, voided.
    let third = id(&simple_invoice(&app, customer, 40.0).await);
    // −50.00 − 40.00.
    assert_books(&app, customer, -9000, (24_000, 15_000)).await;
    void(&app, third).await;
    // −90.00 + 40.00.
    assert_books(&app, customer, -5000, (24_000, 19_000)).await;

    // 70.00 for the second: 50.00 to it, 20.00 of credit.
    let last = pay(&app, customer, 70.0, Some(second)).await;
    assert_eq!(cents(&last["unallocated"]), 2000);
    // −50.00 + 70.00.
    assert_books(&app, customer, 2000, (24_000, 26_000)).await;

    // Reversed: the 20.00 of credit, then the second's 50.00.
    refund(
        &app,
        id(&last),
        json!({"reason": "Bounced", "reversal": true}),
    )
    .await;
    assert_settled(&invoice(&app, second).await, (0, 0, 5000));
    // +20.00 − 70.00.
    assert_books(&app, customer, -5000, (31_000, 26_000)).await;
    let kinds: Vec<String> = entry_rows(&statement(&app, customer, "").await)
        .into_iter()
        .map(|row| row.0)
        .collect();
    assert_eq!(
        kinds,
        [
            "invoice",
            "invoice",
            "payment",
            "refund",
            "credit_note",
            "invoice",
            "invoice_voided",
            "payment",
            "reversal"
        ]
    );
}

// ---- bad fields ----

async fn bad_payments_are_reported_on_their_field(app: TestApp) {
    let customer = id(&app.create_customer("Imara", "+254733000071").await);
    let other = id(&app.create_customer("Jamila", "+254733000072").await);
    let others_invoice = id(&simple_invoice(&app, other, 10.0).await);
    let tomorrow = (app.clock.now() + Duration::days(1)).to_rfc3339();
    let valid = json!({"customer_id": customer, "amount": 10.0, "method": "cash"});
    let with = |field: &str, value: Value| {
        let mut body = valid.clone();
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = valid.clone();
        body.as_object_mut().unwrap().remove(field);
        body
    };
    let cases = [
        (with("amount", json!(0)), "amount"),
        (with("amount", json!(-1)), "amount"),
        // Three decimals for a currency of two.
        (with("amount", json!(10.001)), "amount"),
        (with("amount", json!("ten")), "amount"),
        (without("amount"), "amount"),
        (with("method", json!("cheque")), "method"),
        (without("method"), "method"),
        (with("paid_at", json!(tomorrow)), "paid_at"),
        (with("paid_at", json!("yesterday")), "paid_at"),
        (with("customer_id", json!(999_999)), "customer_id"),
        (without("customer_id"), "customer_id"),
        (with("invoice_id", json!(others_invoice)), "invoice_id"),
        (with("invoice_id", json!(999_999)), "invoice_id"),
    ];
    for (body, field) in cases {
        let (status, answer) = app.post("/api/v1/payments", &body).await;
        assert_invalid(status, &answer, field);
    }
    // Nothing was written.
    let (_, list) = app.get("/api/v1/payments").await;
    assert_eq!(list["meta"]["total"], json!(0), "{list}");
    assert_eq!(balance(&app, customer).await, 0);
    assert_eq!(balance(&app, other).await, -1000);
    assert_eq!(
        invoice(&app, others_invoice).await["status"],
        json!("pending")
    );
    // A valid one still goes through.
    let fine = record(&app, valid).await;
    assert_eq!(cents(&fine["amount"]), 1000);
    assert!(fine["paid_at"].is_string(), "{fine}");
}

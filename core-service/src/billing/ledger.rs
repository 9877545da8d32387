//! Each customer's ledger: append-only entries, each with the balance after it. Posting
//! moves `customers.balance_minor` and appends the entry in one transaction under the
//! customer's row, so the balance always equals the entries' sum and the running balance
//! is ordered as the entries were written.

use chrono::{DateTime, NaiveDate, Utc};
use lastmile_proto::timestamp;
use lastmile_proto::v1 as pb;

use super::money;
use crate::db::Conn;
use crate::error::{Error, Result};
use crate::on_conn;
use crate::paging::PageQuery;

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// An issued invoice (debit).
    Invoice,
    /// A credit note (credit).
    CreditNote,
    /// A payment (credit).
    Payment,
    /// A refund (debit).
    Refund,
    /// A reversed payment (debit).
    Reversal,
    /// A voided invoice's debit taken back (credit).
    InvoiceVoided,
}

impl EntryKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Invoice => "invoice",
            EntryKind::CreditNote => "credit_note",
            EntryKind::Payment => "payment",
            EntryKind::Refund => "refund",
            EntryKind::Reversal => "reversal",
            EntryKind::InvoiceVoided => "invoice_voided",
        }
    }
}

/// An entry to post.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Whose.
    pub customer_id: i64,
    /// What.
    pub kind: EntryKind,
    /// Shown on the statement.
    pub description: String,
    /// The invoice or credit note.
    pub invoice_id: Option<i64>,
    /// The payment, refund or reversal.
    pub payment_id: Option<i64>,
    /// Positive: the customer owes more; negative: less.
    pub amount_owed: i64,
    /// ISO 4217.
    pub currency: String,
}

/// Takes the customer's row lock for the rest of the transaction. Every billing write takes
/// it before touching the customer's invoices, payments or counters, so writes for one
/// customer take turns and locks are always taken in one order (customer, invoice, number
/// counter): no two billing writes can deadlock. SQLite has one writer anyway.
pub async fn lock_customer(conn: &mut Conn<'_>, customer_id: i64) -> Result<()> {
    if conn.is_postgres() {
        on_conn!(conn, c => sqlx::query("SELECT id FROM customers WHERE id = $1 FOR UPDATE")
            .bind(customer_id).execute(c).await.map(drop))?;
    }
    Ok(())
}

/// Posts `entry` at `at`; returns the customer's balance after it (positive: credit).
pub async fn post(conn: &mut Conn<'_>, entry: &Entry, at: DateTime<Utc>) -> Result<i64> {
    let balance: Option<i64> = on_conn!(conn, c => sqlx::query_scalar(
        "UPDATE customers SET balance_minor = balance_minor - $2 WHERE id = $1 \
         RETURNING balance_minor")
        .bind(entry.customer_id).bind(entry.amount_owed).fetch_optional(c).await)?;
    let balance = balance.ok_or(Error::NotFound("Customer"))?;
    let (debit, credit) = if entry.amount_owed >= 0 {
        (entry.amount_owed, 0)
    } else {
        (0, -entry.amount_owed)
    };
    on_conn!(conn, c => sqlx::query(
        "INSERT INTO ledger_entries (customer_id, kind, description, invoice_id, payment_id, \
         debit_minor, credit_minor, balance_minor, currency, occurred_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
        .bind(entry.customer_id).bind(entry.kind.as_str()).bind(&entry.description)
        .bind(entry.invoice_id).bind(entry.payment_id).bind(debit).bind(credit).bind(balance)
        .bind(&entry.currency).bind(at).execute(c).await.map(drop))?;
    Ok(balance)
}

#[derive(sqlx::FromRow)]
struct EntryRow {
    id: i64,
    occurred_at: DateTime<Utc>,
    kind: String,
    description: String,
    invoice_id: Option<i64>,
    payment_id: Option<i64>,
    debit_minor: i64,
    credit_minor: i64,
    balance_minor: i64,
    currency: String,
}

/// A customer's statement from the start of `from` to the end of `to` (UTC days).
pub async fn statement(
    conn: &mut Conn<'_>,
    customer_id: i64,
    currency: &str,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    page: PageQuery,
) -> Result<pb::GetStatementResponse> {
    // Bounds inside years 1-9999, which both engines order correctly (SQLite compares the
    // text, where chrono's extreme years carry a sign).
    let day_start = super::day_start;
    let first = NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or(NaiveDate::MIN);
    let last = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX);
    // A range that ends before it starts holds no entry: the balance stands still.
    let to = match (from, to) {
        (Some(f), Some(t)) if t < f => f.pred_opt(),
        _ => to,
    };
    let start = day_start(from.unwrap_or(first).max(first));
    let end = day_start(to.and_then(|d| d.succ_opt()).unwrap_or(last).min(last));
    let opening: Option<i64> = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT balance_minor FROM ledger_entries WHERE customer_id = $1 AND occurred_at < $2 \
         ORDER BY id DESC LIMIT 1")
        .bind(customer_id).bind(start).fetch_optional(c).await)?;
    let closing: Option<i64> = on_conn!(conn, c => sqlx::query_scalar(
        "SELECT balance_minor FROM ledger_entries WHERE customer_id = $1 AND occurred_at < $2 \
         ORDER BY id DESC LIMIT 1")
        .bind(customer_id).bind(end).fetch_optional(c).await)?;
    let range = "customer_id = $1 AND occurred_at >= $2 AND occurred_at < $3";
    let (total, debit, credit): (i64, i64, i64) = on_conn!(conn, c => sqlx::query_as(
        sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*), CAST(COALESCE(SUM(debit_minor), 0) AS BIGINT), \
             CAST(COALESCE(SUM(credit_minor), 0) AS BIGINT) FROM ledger_entries WHERE {range}"
        )))
        .bind(customer_id).bind(start).bind(end).fetch_one(c).await)?;
    let rows: Vec<EntryRow> = on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, occurred_at, kind, description, invoice_id, payment_id, debit_minor, \
         credit_minor, balance_minor, currency FROM ledger_entries WHERE {range} \
         ORDER BY id LIMIT $4 OFFSET $5")))
        .bind(customer_id).bind(start).bind(end).bind(page.limit()).bind(page.offset())
        .fetch_all(c).await)?;
    let opening = opening.unwrap_or(0);
    let meta = page.meta(total);
    Ok(pb::GetStatementResponse {
        customer_id,
        opening_balance: money(opening, currency),
        closing_balance: money(closing.unwrap_or(opening), currency),
        entries: rows
            .into_iter()
            .map(|r| pb::LedgerEntry {
                id: r.id,
                occurred_at: Some(timestamp(r.occurred_at)),
                kind: r.kind,
                description: r.description,
                invoice_id: r.invoice_id,
                payment_id: r.payment_id,
                debit: money(r.debit_minor, &r.currency),
                credit: money(r.credit_minor, &r.currency),
                balance: money(r.balance_minor, &r.currency),
            })
            .collect(),
        meta: Some(meta),
        total_debit: money(debit, currency),
        total_credit: money(credit, currency),
    })
}

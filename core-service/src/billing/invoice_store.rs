//! Invoice, line, counter and allocation SQL, one text for both engines.

use chrono::{DateTime, NaiveDate, Utc};

use super::invoices::{Invoice, InvoiceFilter, Line, NewLine};
use crate::db::Conn;
use crate::error::Result;
use crate::on_conn;
use crate::paging::PageQuery;

const COLUMNS: &str = "id, kind, number, status, invoice_type, customer_id, partner_id, \
    customer_name, customer_address, currency, issue_date, due_date, period_start, period_end, \
    subtotal_minor, tax_minor, total_minor, paid_minor, credited_minor, unallocated_minor, \
    credit_note_for, tax_exempt, tax_exempt_reference, notes, reason, created_at, finalized_at, \
    paid_at, voided_at, updated_at";

/// The partner of an invoice's customer as it is now (a customer moved to another reseller
/// takes its invoices along).
const PARTNER: &str = "(SELECT c.partner_id FROM customers c WHERE c.id = invoices.customer_id)";

const LINE_COLUMNS: &str = "id, invoice_id, position, kind, service_id, description, \
    quantity_milli, unit_minor, period_start, period_end, proration_micro, net_minor, \
    tax_rate_id, tax_name, tax_rate, tax_inclusive, tax_minor";

#[derive(sqlx::FromRow)]
pub(super) struct InvoiceRow {
    pub id: i64,
    pub kind: String,
    pub number: Option<String>,
    pub status: String,
    pub invoice_type: String,
    pub customer_id: i64,
    pub partner_id: Option<i64>,
    pub customer_name: String,
    pub customer_address: String,
    pub currency: String,
    pub issue_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub period_start: Option<NaiveDate>,
    pub period_end: Option<NaiveDate>,
    pub subtotal_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub paid_minor: i64,
    pub credited_minor: i64,
    pub unallocated_minor: i64,
    pub credit_note_for: Option<i64>,
    pub tax_exempt: bool,
    pub tax_exempt_reference: String,
    pub notes: String,
    pub reason: String,
    pub created_at: DateTime<Utc>,
    pub finalized_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    pub voided_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// The invoice `id` (any kind) that `partner` may see, without lines.
pub(super) async fn find(
    conn: &mut Conn<'_>,
    id: i64,
    partner: Option<i64>,
) -> Result<Option<InvoiceRow>> {
    let sql =
        format!("SELECT {COLUMNS} FROM invoices WHERE id = $1 AND ($2 = -1 OR {PARTNER} = $2)");
    Ok(on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id).bind(partner.unwrap_or(-1)).fetch_optional(c).await)?)
}

/// The id of the invoice numbered `number` that `partner` may see.
pub(super) async fn id_of_number(
    conn: &mut Conn<'_>,
    number: &str,
    partner: Option<i64>,
) -> Result<Option<i64>> {
    Ok(on_conn!(conn, c => sqlx::query_scalar(
        sqlx::AssertSqlSafe(format!(
        "SELECT id FROM invoices WHERE number = $1 AND ($2 = -1 OR {PARTNER} = $2)")))
        .bind(number).bind(partner.unwrap_or(-1)).fetch_optional(c).await)?)
}

/// Takes the row lock of invoice `id` for the rest of the transaction (PostgreSQL; SQLite
/// has one writer).
pub(super) async fn lock(conn: &mut Conn<'_>, id: i64) -> Result<()> {
    if conn.is_postgres() {
        on_conn!(conn, c => sqlx::query("SELECT id FROM invoices WHERE id = $1 FOR UPDATE")
            .bind(id).execute(c).await.map(drop))?;
    }
    Ok(())
}

/// The lines of the invoices `ids`, by invoice and position.
pub(super) async fn lines(conn: &mut Conn<'_>, ids: &[i64]) -> Result<Vec<Line>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {LINE_COLUMNS} FROM invoice_lines WHERE invoice_id IN ({list}) \
         ORDER BY invoice_id, position"
    );
    Ok(on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(c).await)?)
}

/// A page of invoices by the filter, newest first, and the count of all.
pub(super) async fn list(
    conn: &mut Conn<'_>,
    filter: &InvoiceFilter,
    today: NaiveDate,
    page: PageQuery,
) -> Result<(Vec<InvoiceRow>, i64)> {
    let overdue = match filter.overdue {
        None => 0,
        Some(true) => 1,
        Some(false) => 2,
    };
    let conditions = format!(
        "($1 = -1 OR {PARTNER} = $1) AND ($2 = 0 OR customer_id = $2) \
        AND ($3 = '' OR status = $3) AND ($4 = '' OR kind = $4) \
        AND ($5 = 0 OR ($5 = 1) = (status IN ('open', 'uncollectible') AND due_date < $6)) \
        AND ($7 = 0 OR issue_date >= $8) AND ($9 = 0 OR issue_date <= $10)"
    );
    let page_sql = format!(
        "SELECT {COLUMNS} FROM invoices WHERE {conditions} ORDER BY id DESC LIMIT $11 OFFSET $12"
    );
    let count_sql = format!("SELECT COUNT(*) FROM invoices WHERE {conditions}");
    macro_rules! binds {
        ($q:expr) => {
            $q.bind(filter.partner.unwrap_or(-1))
                .bind(filter.customer_id.unwrap_or(0))
                .bind(filter.status.unwrap_or(""))
                .bind(filter.kind.unwrap_or(""))
                .bind(overdue)
                .bind(today)
                .bind(i32::from(filter.issued_from.is_some()))
                .bind(filter.issued_from.unwrap_or(today))
                .bind(i32::from(filter.issued_to.is_some()))
                .bind(filter.issued_to.unwrap_or(today))
        };
    }
    let rows: Vec<InvoiceRow> = on_conn!(conn, c => binds!(sqlx::query_as(sqlx::AssertSqlSafe(page_sql)))
        .bind(page.limit()).bind(page.offset()).fetch_all(c).await)?;
    let total: i64 = on_conn!(conn, c => binds!(sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql)))
        .fetch_one(c).await)?;
    Ok((rows, total))
}

/// Inserts a draft and its lines with their totals; returns its id.
pub(super) async fn insert(
    conn: &mut Conn<'_>,
    invoice: &Invoice,
    lines: &[NewLine],
    now: DateTime<Utc>,
) -> Result<i64> {
    let id: i64 = on_conn!(conn, c => sqlx::query_scalar(
        "INSERT INTO invoices (kind, status, invoice_type, customer_id, partner_id, customer_name, \
         customer_address, currency, due_date, period_start, period_end, subtotal_minor, tax_minor, \
         total_minor, credit_note_for, tax_exempt, tax_exempt_reference, notes, reason, created_at, \
         updated_at) VALUES ($1, 'draft', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
         $15, $16, $17, $18, $19, $19) RETURNING id")
        .bind(invoice.kind.as_str()).bind(&invoice.invoice_type).bind(invoice.customer_id)
        .bind(invoice.partner_id).bind(&invoice.customer_name)
        .bind(serde_json::to_string(&invoice.customer_address).unwrap_or_else(|_| "[]".into()))
        .bind(&invoice.currency).bind(invoice.due_date).bind(invoice.period_start)
        .bind(invoice.period_end).bind(invoice.subtotal_minor).bind(invoice.tax_minor)
        .bind(invoice.total_minor).bind(invoice.credit_note_for).bind(invoice.tax_exempt)
        .bind(&invoice.tax_exempt_reference).bind(&invoice.notes).bind(&invoice.reason).bind(now)
        .fetch_one(c).await)?;
    for (position, l) in lines.iter().enumerate() {
        let position = i32::try_from(position).unwrap_or(i32::MAX) + 1;
        on_conn!(conn, c => sqlx::query(
            "INSERT INTO invoice_lines (invoice_id, position, kind, service_id, description, \
             quantity_milli, unit_minor, period_start, period_end, proration_micro, net_minor, \
             tax_rate_id, tax_name, tax_rate, tax_inclusive, tax_minor) VALUES ($1, $2, $3, $4, \
             $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)")
            .bind(id).bind(position).bind(l.kind).bind(l.service_id).bind(&l.description)
            .bind(l.quantity_milli).bind(l.unit_minor).bind(l.period_start).bind(l.period_end)
            .bind(l.proration_micro).bind(l.net_minor).bind(l.tax_rate_id).bind(&l.tax_name)
            .bind(l.tax_rate).bind(l.tax_inclusive).bind(l.tax_minor)
            .execute(c).await.map(drop))?;
    }
    Ok(id)
}

/// The next number of `series` in `year`, counted in a row that stays locked until the
/// transaction ends: a rollback gives the number back, and concurrent finalisations take
/// turns, so numbers have neither gaps nor duplicates.
pub(super) async fn next_number(conn: &mut Conn<'_>, series: &str, year: i32) -> Result<i64> {
    on_conn!(conn, c => sqlx::query(
        "INSERT INTO invoice_counters (series, year, last_number) VALUES ($1, $2, 0) \
         ON CONFLICT (series, year) DO NOTHING")
        .bind(series).bind(year).execute(c).await.map(drop))?;
    Ok(on_conn!(conn, c => sqlx::query_scalar(
        "UPDATE invoice_counters SET last_number = last_number + 1 \
         WHERE series = $1 AND year = $2 RETURNING last_number")
        .bind(series).bind(year).fetch_one(c).await)?)
}

/// Issues draft `id` under `number`.
#[allow(clippy::too_many_arguments)]
pub(super) async fn finalize(
    conn: &mut Conn<'_>,
    id: i64,
    (series, year, sequence, number): (&str, i32, i64, &str),
    status: &str,
    issue_date: NaiveDate,
    due_date: NaiveDate,
    (customer_name, customer_address): (&str, &[String]),
    now: DateTime<Utc>,
) -> Result<()> {
    let paid_at = (status == "paid").then_some(now);
    on_conn!(conn, c => sqlx::query(
        "UPDATE invoices SET status = $2, number = $3, series = $4, year = $5, sequence = $6, \
         issue_date = $7, due_date = $8, customer_name = $9, customer_address = $10, \
         finalized_at = $11, paid_at = $12, updated_at = $11 WHERE id = $1 AND status = 'draft'")
        .bind(id).bind(status).bind(number).bind(series).bind(year).bind(sequence)
        .bind(issue_date).bind(due_date).bind(customer_name)
        .bind(serde_json::to_string(customer_address).unwrap_or_else(|_| "[]".into()))
        .bind(now).bind(paid_at).execute(c).await.map(drop))?;
    Ok(())
}

/// Moves invoice `id` to `status`, with the time column that status sets and the reason.
pub(super) async fn set_status(
    conn: &mut Conn<'_>,
    id: i64,
    status: &str,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    on_conn!(conn, c => sqlx::query(
        "UPDATE invoices SET status = $2, reason = COALESCE($3, reason), \
         voided_at = CASE WHEN $2 = 'void' THEN $4 ELSE voided_at END, \
         paid_at = CASE WHEN $2 = 'paid' THEN $4 WHEN $2 = 'open' THEN NULL ELSE paid_at END, \
         updated_at = $4 WHERE id = $1")
        .bind(id).bind(status).bind(reason).bind(now).execute(c).await.map(drop))?;
    Ok(())
}

/// Deletes draft `id` and its lines.
pub(super) async fn delete_draft(conn: &mut Conn<'_>, id: i64) -> Result<()> {
    on_conn!(conn, c => sqlx::query("DELETE FROM invoice_lines WHERE invoice_id = $1")
        .bind(id).execute(c).await.map(drop))?;
    on_conn!(conn, c => sqlx::query("DELETE FROM invoices WHERE id = $1 AND status = 'draft'")
        .bind(id).execute(c).await.map(drop))?;
    Ok(())
}

/// What credit notes already credited of invoice `id` (their totals).
pub(super) async fn credited_total(conn: &mut Conn<'_>, id: i64) -> Result<i64> {
    Ok(on_conn!(conn, c => sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(total_minor), 0) AS BIGINT) FROM invoices \
         WHERE credit_note_for = $1 AND kind = 'credit_note' AND status <> 'draft'")
        .bind(id).fetch_one(c).await)?)
}

/// An open invoice and what is still due on it.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub(super) struct Due {
    pub id: i64,
    pub due_minor: i64,
}

/// A holder of the customer's credit: a payment or a credit note, with what it still holds.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub(super) struct Credit {
    pub payment_id: Option<i64>,
    pub credit_note_id: Option<i64>,
    pub unallocated_minor: i64,
}

/// The customer's unpaid invoices, oldest due first.
pub(super) async fn unpaid(conn: &mut Conn<'_>, customer_id: i64) -> Result<Vec<Due>> {
    Ok(on_conn!(conn, c => sqlx::query_as(
        "SELECT id, total_minor - paid_minor - credited_minor AS due_minor FROM invoices \
         WHERE customer_id = $1 AND kind = 'invoice' AND status IN ('open', 'uncollectible') \
         AND total_minor - paid_minor - credited_minor > 0 ORDER BY due_date, id")
        .bind(customer_id).fetch_all(c).await)?)
}

/// The customer's credit not yet applied, oldest first.
pub(super) async fn credits(conn: &mut Conn<'_>, customer_id: i64) -> Result<Vec<Credit>> {
    Ok(on_conn!(conn, c => sqlx::query_as(
        "SELECT id AS payment_id, NULL AS credit_note_id, unallocated_minor, created_at FROM payments \
         WHERE customer_id = $1 AND unallocated_minor > 0 \
         UNION ALL SELECT NULL, id, unallocated_minor, created_at FROM invoices \
         WHERE customer_id = $1 AND unallocated_minor > 0 ORDER BY 4, 1, 2")
        .bind(customer_id).fetch_all(c).await)?)
}

/// Applies `amount` of `credit` to invoice `invoice_id`: the allocation row, the invoice's
/// covered amount, and what the holder still holds.
pub(super) async fn allocate(
    conn: &mut Conn<'_>,
    invoice_id: i64,
    credit: Credit,
    amount: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    on_conn!(conn, c => sqlx::query(
        "INSERT INTO allocations (invoice_id, payment_id, credit_note_id, amount_minor, created_at) \
         VALUES ($1, $2, $3, $4, $5)")
        .bind(invoice_id).bind(credit.payment_id).bind(credit.credit_note_id).bind(amount)
        .bind(now).execute(c).await.map(drop))?;
    let column = if credit.payment_id.is_some() {
        "paid_minor"
    } else {
        "credited_minor"
    };
    let sql =
        format!("UPDATE invoices SET {column} = {column} + $2, updated_at = $3 WHERE id = $1");
    on_conn!(conn, c => sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(invoice_id).bind(amount).bind(now).execute(c).await.map(drop))?;
    match (credit.payment_id, credit.credit_note_id) {
        (Some(payment), _) => on_conn!(conn, c => sqlx::query(
            "UPDATE payments SET unallocated_minor = unallocated_minor - $2 WHERE id = $1")
            .bind(payment).bind(amount).execute(c).await.map(drop))?,
        (None, Some(note)) => on_conn!(conn, c => sqlx::query(
            "UPDATE invoices SET unallocated_minor = unallocated_minor - $2 WHERE id = $1")
            .bind(note).bind(amount).execute(c).await.map(drop))?,
        (None, None) => {}
    }
    Ok(())
}

/// Sets what credit note `id` still holds as credit.
pub(super) async fn set_unallocated(conn: &mut Conn<'_>, id: i64, amount: i64) -> Result<()> {
    on_conn!(conn, c => sqlx::query("UPDATE invoices SET unallocated_minor = $2 WHERE id = $1")
        .bind(id).bind(amount).execute(c).await.map(drop))?;
    Ok(())
}

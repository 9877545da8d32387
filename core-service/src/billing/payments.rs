//! Payments, refunds and reversals. A payment is a ledger credit, applied to the invoice it
//! names and then to the oldest unpaid ones; what is left is the customer's credit, applied
//! to the next invoice when it is issued. A gateway's transaction is recorded once: its
//! retry, however concurrent, answers the payment already made. Refunds and reversals are
//! new entries that take credit back, first what the payment still holds, then its shares of
//! invoices (which are due again).

use chrono::{DateTime, Utc};
use lastmile_proto::timestamp;
use lastmile_proto::v1 as pb;
use serde_json::{Map, Value, json};

use super::amount_text;
use super::invoice_store::Credit;
use super::invoices::{self, Invoice, Kind, Status};
use super::ledger::{self, Entry, EntryKind};
use super::money;
use crate::audit::{self, Change};
use crate::auth::RequestContext;
use crate::clock::SharedClock;
use crate::customers::{self, CustomerKey, Customers};
use crate::db::{Conn, Db, Tx};
use crate::error::{Error, FieldErrors, Result};
use crate::events::{self, NewEvent, Subject};
use crate::fields::decimal;
use crate::on_conn;
use crate::paging::{Page, PageQuery};
use crate::tenancy::Tenancy;

/// The methods, as stored.
pub const METHODS: [&str; 5] = ["cash", "bank_transfer", "card", "mobile_money", "other"];

/// A payment, refund or reversal as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Payment {
    /// Id.
    pub id: i64,
    /// payment, refund, reversal.
    pub kind: String,
    /// Customer.
    pub customer_id: i64,
    /// Partner.
    pub partner_id: Option<i64>,
    /// Positive amount.
    pub amount_minor: i64,
    /// ISO 4217.
    pub currency: String,
    /// How.
    pub method: String,
    /// Gateway.
    pub gateway: String,
    /// Gateway's id.
    pub transaction_id: Option<String>,
    /// When paid.
    pub paid_at: DateTime<Utc>,
    /// The invoice named.
    pub invoice_id: Option<i64>,
    /// For a refund: the payment.
    pub refund_of: Option<i64>,
    /// Credit still held.
    pub unallocated_minor: i64,
    /// Taken back so far.
    pub refunded_minor: i64,
    /// Notes.
    pub notes: String,
    /// Recorded.
    pub created_at: DateTime<Utc>,
}

/// A share of a payment on an invoice.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Allocation {
    /// The payment.
    pub payment_id: i64,
    /// The invoice.
    pub invoice_id: i64,
    /// Its number.
    pub number: Option<String>,
    /// Net share (refunds subtract).
    pub amount_minor: i64,
}

/// The partner of a payment's customer as it is now.
const PARTNER: &str = "(SELECT c.partner_id FROM customers c WHERE c.id = payments.customer_id)";

const COLUMNS: &str = "id, kind, customer_id, partner_id, amount_minor, currency, method, \
    gateway, transaction_id, paid_at, invoice_id, refund_of, unallocated_minor, refunded_minor, \
    notes, created_at";

impl Payment {
    fn audit_view(&self) -> Map<String, Value> {
        let value = json!({
            "kind": self.kind, "customer_id": self.customer_id, "amount_minor": self.amount_minor,
            "currency": self.currency, "method": self.method, "gateway": self.gateway,
            "transaction_id": self.transaction_id, "invoice_id": self.invoice_id,
            "refund_of": self.refund_of, "unallocated_minor": self.unallocated_minor,
            "refunded_minor": self.refunded_minor,
        });
        value.as_object().cloned().unwrap_or_default()
    }
}

fn method_wire(method: &str) -> pb::PaymentMethod {
    match method {
        "cash" => pb::PaymentMethod::Cash,
        "bank_transfer" => pb::PaymentMethod::BankTransfer,
        "card" => pb::PaymentMethod::Card,
        "mobile_money" => pb::PaymentMethod::MobileMoney,
        _ => pb::PaymentMethod::Other,
    }
}

fn method_name(method: pb::PaymentMethod) -> Option<&'static str> {
    Some(match method {
        pb::PaymentMethod::Unspecified => return None,
        pb::PaymentMethod::Cash => "cash",
        pb::PaymentMethod::BankTransfer => "bank_transfer",
        pb::PaymentMethod::Card => "card",
        pb::PaymentMethod::MobileMoney => "mobile_money",
        pb::PaymentMethod::Other => "other",
    })
}

/// The proto of `payment` with its `allocations`.
pub fn into_proto(p: Payment, allocations: Vec<Allocation>) -> pb::Payment {
    let kind = match p.kind.as_str() {
        "refund" => pb::PaymentKind::Refund,
        "reversal" => pb::PaymentKind::Reversal,
        _ => pb::PaymentKind::Payment,
    };
    let currency = p.currency.clone();
    pb::Payment {
        id: p.id,
        customer_id: p.customer_id,
        partner_id: p.partner_id,
        kind: kind.into(),
        amount: money(p.amount_minor, &currency),
        method: method_wire(&p.method).into(),
        gateway: p.gateway,
        transaction_id: p.transaction_id.unwrap_or_default(),
        paid_at: Some(timestamp(p.paid_at)),
        invoice_id: p.invoice_id,
        allocations: allocations
            .into_iter()
            .filter(|a| a.amount_minor != 0)
            .map(|a| pb::PaymentAllocation {
                invoice_id: a.invoice_id,
                invoice_number: a.number.unwrap_or_default(),
                amount: money(a.amount_minor, &currency),
            })
            .collect(),
        unallocated: money(p.unallocated_minor, &currency),
        refunded: money(p.refunded_minor, &currency),
        refund_of: p.refund_of,
        notes: p.notes,
        created_at: Some(timestamp(p.created_at)),
    }
}

/// The payment `id` that `partner` may see.
pub async fn find(conn: &mut Conn<'_>, id: i64, partner: Option<i64>) -> Result<Payment> {
    if id <= 0 {
        return Err(Error::NotFound("Payment"));
    }
    let sql =
        format!("SELECT {COLUMNS} FROM payments WHERE id = $1 AND ($2 = -1 OR {PARTNER} = $2)");
    let found: Option<Payment> = on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id).bind(partner.unwrap_or(-1)).fetch_optional(c).await)?;
    found.ok_or(Error::NotFound("Payment"))
}

/// The net shares of payments `ids` per invoice.
pub async fn allocations(conn: &mut Conn<'_>, ids: &[i64]) -> Result<Vec<Allocation>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT a.payment_id AS payment_id, a.invoice_id AS invoice_id, i.number AS number, \
         CAST(SUM(a.amount_minor) AS BIGINT) AS amount_minor FROM allocations a \
         JOIN invoices i ON i.id = a.invoice_id WHERE a.payment_id IN ({list}) \
         GROUP BY a.payment_id, a.invoice_id, i.number ORDER BY a.payment_id, a.invoice_id"
    );
    Ok(on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(c).await)?)
}

/// Payment `id` with its allocations, as the API shows it.
pub async fn shown(conn: &mut Conn<'_>, id: i64) -> Result<pb::Payment> {
    let payment = find(conn, id, None).await?;
    let shares = allocations(conn, &[id]).await?;
    Ok(into_proto(payment, shares))
}

/// Which payments a list shows.
#[derive(Debug, Clone, Default)]
pub struct PaymentFilter {
    /// The caller's partner.
    pub partner: Option<i64>,
    /// Only this customer's.
    pub customer_id: Option<i64>,
    /// Only this kind.
    pub kind: Option<&'static str>,
    /// Only this method.
    pub method: Option<&'static str>,
    /// Only with a share of this invoice.
    pub invoice_id: Option<i64>,
}

impl PaymentFilter {
    /// The filter of a list request.
    pub fn from_request(r: &pb::ListPaymentsRequest) -> Result<PaymentFilter> {
        let kind = match pb::PaymentKind::try_from(r.kind) {
            Ok(pb::PaymentKind::Unspecified) => None,
            Ok(pb::PaymentKind::Payment) => Some("payment"),
            Ok(pb::PaymentKind::Refund) => Some("refund"),
            Ok(pb::PaymentKind::Reversal) => Some("reversal"),
            Err(_) => return Err(Error::BadRequest("The kind is not a known kind.".into())),
        };
        let method = match pb::PaymentMethod::try_from(r.method) {
            Ok(m) => method_name(m),
            Err(_) => {
                return Err(Error::BadRequest(
                    "The method is not a known method.".into(),
                ));
            }
        };
        Ok(PaymentFilter {
            partner: None,
            customer_id: r.customer_id,
            kind,
            method,
            invoice_id: r.invoice_id,
        })
    }
}

/// A payment to record, read.
#[derive(Debug, Clone)]
struct NewPayment {
    customer_id: i64,
    partner_id: Option<i64>,
    currency: String,
    amount_minor: i64,
    method: &'static str,
    gateway: String,
    transaction_id: Option<String>,
    paid_at: DateTime<Utc>,
    invoice_id: Option<i64>,
    notes: String,
}

/// The payment operations.
#[derive(Debug, Clone)]
pub struct Payments {
    db: Db,
    clock: SharedClock,
    /// For reactivating a customer whose suspension for non-payment a payment ends.
    customers: Customers,
}

impl Payments {
    /// The operations over `db`.
    pub fn new(db: Db, clock: SharedClock, customers: Customers) -> Self {
        Self {
            db,
            clock,
            customers,
        }
    }

    async fn read(
        &self,
        conn: &mut Conn<'_>,
        context: &RequestContext,
        input: &pb::PaymentInput,
    ) -> Result<NewPayment> {
        let mut errors = FieldErrors::new();
        let tenancy = Tenancy::of(&context.principal);
        let customer = if input.customer_id == 0 {
            errors.add("customer_id", "The customer id field is required.");
            None
        } else {
            match customers::resolve(conn, tenancy, &CustomerKey::Id(input.customer_id)).await {
                Ok(c) => Some(c),
                Err(Error::NotFound(_)) => {
                    errors.add("customer_id", "The selected customer id is invalid.");
                    None
                }
                Err(e) => return Err(e),
            }
        };
        let currency = customer
            .as_ref()
            .map_or_else(|| "USD".to_owned(), |c| c.currency.clone());
        let digits = lastmile_proto::minor_digits(&currency);
        let amount = input.amount.trim();
        let amount_minor = if amount.is_empty() {
            errors.add("amount", "The amount field is required.");
            0
        } else {
            match decimal::scaled(amount, digits) {
                Ok(a) if a <= 0 => {
                    errors.add("amount", "The amount must be more than 0.");
                    0
                }
                Ok(a) if a > 1_000_000_000_000 => {
                    errors.add("amount", "The amount is too large.");
                    0
                }
                Ok(a) => a,
                Err(e) => {
                    errors.add("amount", decimal::message(e, "amount", digits));
                    0
                }
            }
        };
        let method = match pb::PaymentMethod::try_from(input.method)
            .ok()
            .and_then(method_name)
        {
            Some(m) => m,
            None if input.method == 0 => {
                errors.add("method", "The method field is required.");
                "other"
            }
            None => {
                errors.add(
                    "method",
                    format!("The method must be one of: {}.", METHODS.join(", ")),
                );
                "other"
            }
        };
        let gateway = input.gateway.trim().to_owned();
        if gateway.chars().count() > 50 {
            errors.add(
                "gateway",
                "The gateway may not be greater than 50 characters.",
            );
        }
        let transaction_id = Some(input.transaction_id.trim().to_owned()).filter(|t| !t.is_empty());
        if transaction_id
            .as_ref()
            .is_some_and(|t| t.chars().count() > 200)
        {
            errors.add(
                "transaction_id",
                "The transaction id may not be greater than 200 characters.",
            );
        }
        let now = self.clock.now();
        let paid_at = match input.paid_at.trim() {
            "" => now,
            text => match DateTime::parse_from_rfc3339(text) {
                Ok(t) if t.with_timezone(&Utc) > now + chrono::Duration::minutes(5) => {
                    errors.add("paid_at", "The paid at may not be in the future.");
                    now
                }
                Ok(t) => t.with_timezone(&Utc),
                Err(_) => {
                    errors.add("paid_at", "The paid at must be an RFC 3339 time.");
                    now
                }
            },
        };
        let notes = input.notes.trim().to_owned();
        if notes.chars().count() > 1000 {
            errors.add(
                "notes",
                "The notes may not be greater than 1000 characters.",
            );
        }
        if let (Some(invoice_id), Some(c)) = (input.invoice_id, &customer) {
            match invoices::find(conn, invoice_id, None).await {
                Ok(i) if i.customer_id == c.id && i.kind == Kind::Invoice => {}
                Ok(_) | Err(Error::NotFound(_)) => {
                    errors.add("invoice_id", "The selected invoice id is invalid.")
                }
                Err(e) => return Err(e),
            }
        }
        errors.into_result()?;
        let customer = customer.ok_or(Error::NotFound("Customer"))?;
        Ok(NewPayment {
            customer_id: customer.id,
            partner_id: customer.fields.partner_id,
            currency,
            amount_minor,
            method,
            gateway,
            transaction_id,
            paid_at,
            invoice_id: input.invoice_id,
            notes,
        })
    }

    /// Checks a payment; writes nothing.
    pub async fn validate_create(
        &self,
        context: &RequestContext,
        input: &pb::PaymentInput,
    ) -> Result<()> {
        self.read(&mut self.db.conn(), context, input)
            .await
            .map(drop)
    }

    /// Records a payment inside `tx` (or answers the one its gateway transaction already
    /// made).
    pub async fn create(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        input: &pb::PaymentInput,
    ) -> Result<pb::Payment> {
        let new = self.read(&mut tx.conn(), context, input).await?;
        ledger::lock_customer(&mut tx.conn(), new.customer_id).await?;
        if let Some(invoice_id) = new.invoice_id {
            refuse_unpayable(&mut tx.conn(), invoice_id, false).await?;
        }
        let id = self.record(tx, context, &new).await?;
        shown(&mut tx.conn(), id).await
    }

    /// Pays invoice `invoice_id` inside `tx`: its amount due unless an amount is given.
    pub async fn pay_invoice(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        r: &pb::PayInvoiceRequest,
    ) -> Result<(pb::Payment, Invoice)> {
        let partner = Tenancy::of(&context.principal).partner();
        let seen = invoices::find(&mut tx.conn(), r.invoice_id, partner).await?;
        ledger::lock_customer(&mut tx.conn(), seen.customer_id).await?;
        let invoice = invoices::find(&mut tx.conn(), r.invoice_id, partner).await?;
        if invoice.kind != Kind::Invoice {
            return Err(Error::Conflict("A credit note cannot be paid.".into()));
        }
        // A gateway's retry finds its payment even once the invoice is paid.
        let retry = match r.transaction_id.trim() {
            "" => None,
            t => by_transaction(&mut tx.conn(), r.gateway.trim(), t).await?,
        };
        if let Some(retry) = retry {
            // The gateway's retry: the payment it already made, if it is this one.
            let asked = r.amount.trim();
            let digits = lastmile_proto::minor_digits(&invoice.currency);
            let same_amount = asked.is_empty()
                || decimal::scaled(asked, digits).is_ok_and(|a| a == retry.amount_minor);
            if retry.customer_id != invoice.customer_id || !same_amount {
                return Err(Error::Conflict(
                    "This gateway transaction is already recorded with another customer or amount."
                        .into(),
                ));
            }
            let payment = shown(&mut tx.conn(), retry.id).await?;
            return Ok((payment, invoice));
        }
        refuse_unpayable(&mut tx.conn(), invoice.id, true).await?;
        let digits = lastmile_proto::minor_digits(&invoice.currency);
        let amount = match r.amount.trim() {
            "" => amount_text(invoice.amount_due(), digits),
            a => a.to_owned(),
        };
        let method = if r.method == 0 {
            pb::PaymentMethod::Other as i32
        } else {
            r.method
        };
        let input = pb::PaymentInput {
            customer_id: invoice.customer_id,
            amount,
            method,
            gateway: r.gateway.clone(),
            transaction_id: r.transaction_id.clone(),
            paid_at: r.paid_at.clone(),
            invoice_id: Some(invoice.id),
            notes: String::new(),
        };
        let new = self.read(&mut tx.conn(), context, &input).await?;
        let id = self.record(tx, context, &new).await?;
        let payment = shown(&mut tx.conn(), id).await?;
        let invoice = invoices::find(&mut tx.conn(), invoice.id, None).await?;
        Ok((payment, invoice))
    }

    /// Writes `new`: the row (once per gateway transaction), the ledger credit, its
    /// allocation and its events. Returns the payment's id.
    async fn record(&self, tx: &mut Tx, context: &RequestContext, new: &NewPayment) -> Result<i64> {
        ledger::lock_customer(&mut tx.conn(), new.customer_id).await?;
        let now = self.clock.now();
        let inserted: Option<i64> = on_conn!(&mut tx.conn(), c => sqlx::query_scalar(
            "INSERT INTO payments (kind, customer_id, partner_id, amount_minor, currency, method, \
             gateway, transaction_id, paid_at, invoice_id, unallocated_minor, notes, created_at) \
             VALUES ('payment', $1, $2, $3, $4, $5, $6, $7, $8, $9, $3, $10, $11) \
             ON CONFLICT (gateway, transaction_id) WHERE transaction_id IS NOT NULL DO NOTHING \
             RETURNING id")
            .bind(new.customer_id).bind(new.partner_id).bind(new.amount_minor).bind(&new.currency)
            .bind(new.method).bind(&new.gateway).bind(&new.transaction_id).bind(new.paid_at)
            .bind(new.invoice_id).bind(&new.notes).bind(now).fetch_optional(c).await)?;
        let Some(id) = inserted else {
            // The gateway's transaction is already recorded: its retry gets that payment,
            // unless it says something else.
            let transaction = new.transaction_id.as_deref().unwrap_or_default();
            let existing = by_transaction(&mut tx.conn(), &new.gateway, transaction)
                .await?
                .ok_or(Error::Unavailable(anyhow::anyhow!(
                    "conflicting payment not visible yet"
                )))?;
            if existing.customer_id != new.customer_id || existing.amount_minor != new.amount_minor
            {
                return Err(Error::Conflict(
                    "This gateway transaction is already recorded with another customer or amount."
                        .into(),
                ));
            }
            return Ok(existing.id);
        };
        let entry = Entry {
            customer_id: new.customer_id,
            kind: EntryKind::Payment,
            description: match &new.transaction_id {
                Some(t) if !new.gateway.is_empty() => format!("Payment {} {t}", new.gateway),
                Some(t) => format!("Payment {t}"),
                None => format!("Payment ({})", new.method.replace('_', " ")),
            },
            invoice_id: new.invoice_id,
            payment_id: Some(id),
            amount_owed: -new.amount_minor,
            currency: new.currency.clone(),
        };
        ledger::post(&mut tx.conn(), &entry, now).await?;
        if let Some(invoice_id) = new.invoice_id {
            let credit = Credit {
                payment_id: Some(id),
                credit_note_id: None,
                unallocated_minor: new.amount_minor,
            };
            invoices::apply_to(&mut tx.conn(), invoice_id, credit, now).await?;
        }
        invoices::settle(&mut tx.conn(), new.customer_id, now).await?;
        let payment = find(&mut tx.conn(), id, None).await?;
        let change = Change::created("payment", id, payment.audit_view()).unpublished();
        audit::record(&mut tx.conn(), context, change, now).await?;
        publish(&mut tx.conn(), "payment.received", id, now).await?;
        // A customer suspended for not paying is back once nothing is past its grace.
        super::dunning::reactivate(tx, &self.customers, new.customer_id, now).await?;
        Ok(id)
    }

    /// Payment `id` if the caller may see it.
    pub async fn get(&self, context: &RequestContext, id: i64) -> Result<pb::Payment> {
        let partner = Tenancy::of(&context.principal).partner();
        let mut conn = self.db.conn();
        find(&mut conn, id, partner).await?;
        shown(&mut conn, id).await
    }

    /// A page of the payments the caller may see, newest first.
    pub async fn list(
        &self,
        context: &RequestContext,
        customer: Option<&str>,
        mut filter: PaymentFilter,
        page: PageQuery,
    ) -> Result<Page<pb::Payment>> {
        let tenancy = Tenancy::of(&context.principal);
        let mut conn = self.db.conn();
        if let Some(key) = customer {
            let found =
                customers::resolve(&mut conn, tenancy, &CustomerKey::Reference(key.to_owned()))
                    .await?;
            filter.customer_id = Some(found.id);
        }
        filter.partner = tenancy.partner();
        let conditions = format!(
            "($1 = -1 OR {PARTNER} = $1) AND ($2 = 0 OR customer_id = $2) \
            AND ($3 = '' OR kind = $3) AND ($4 = '' OR method = $4) \
            AND ($5 = 0 OR id IN (SELECT payment_id FROM allocations WHERE invoice_id = $5) \
                 OR invoice_id = $5)"
        );
        let page_sql = format!(
            "SELECT {COLUMNS} FROM payments WHERE {conditions} ORDER BY id DESC LIMIT $6 OFFSET $7"
        );
        let count_sql = format!("SELECT COUNT(*) FROM payments WHERE {conditions}");
        macro_rules! binds {
            ($q:expr) => {
                $q.bind(filter.partner.unwrap_or(-1))
                    .bind(filter.customer_id.unwrap_or(0))
                    .bind(filter.kind.unwrap_or(""))
                    .bind(filter.method.unwrap_or(""))
                    .bind(filter.invoice_id.unwrap_or(0))
            };
        }
        let rows: Vec<Payment> = on_conn!(&mut conn, c => binds!(sqlx::query_as(sqlx::AssertSqlSafe(page_sql)))
            .bind(page.limit()).bind(page.offset()).fetch_all(c).await)?;
        let total: i64 = on_conn!(&mut conn, c => binds!(sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql)))
            .fetch_one(c).await)?;
        let ids: Vec<i64> = rows.iter().map(|p| p.id).collect();
        let shares = allocations(&mut conn, &ids).await?;
        let items = rows
            .into_iter()
            .map(|p| {
                let mine = shares
                    .iter()
                    .filter(|a| a.payment_id == p.id)
                    .cloned()
                    .collect();
                into_proto(p, mine)
            })
            .collect();
        Ok(Page {
            items,
            total,
            query: page,
        })
    }

    /// Refunds or reverses payment `r.payment_id` inside `tx`.
    pub async fn refund(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        r: &pb::RefundPaymentRequest,
    ) -> Result<pb::Payment> {
        let partner = Tenancy::of(&context.principal).partner();
        let seen = find(&mut tx.conn(), r.payment_id, partner).await?;
        ledger::lock_customer(&mut tx.conn(), seen.customer_id).await?;
        let payment = find(&mut tx.conn(), r.payment_id, partner).await?;
        if payment.kind != "payment" {
            return Err(Error::Conflict("Only payments can be refunded.".into()));
        }
        let refundable = payment.amount_minor - payment.refunded_minor;
        if refundable <= 0 {
            return Err(Error::Conflict(
                "This payment is already fully refunded.".into(),
            ));
        }
        let digits = lastmile_proto::minor_digits(&payment.currency);
        let mut errors = FieldErrors::new();
        let reason = r.reason.trim().to_owned();
        if reason.is_empty() {
            errors.add("reason", "The reason field is required.");
        } else if reason.chars().count() > 500 {
            errors.add(
                "reason",
                "The reason may not be greater than 500 characters.",
            );
        }
        let amount = match r.amount.trim() {
            "" => refundable,
            _ if r.reversal => {
                errors.add(
                    "amount",
                    "A reversal takes back the whole payment; leave the amount out.",
                );
                0
            }
            text => match decimal::scaled(text, digits) {
                Ok(a) if a <= 0 => {
                    errors.add("amount", "The amount must be more than 0.");
                    0
                }
                Ok(a) if a > refundable => {
                    errors.add(
                        "amount",
                        format!(
                            "The amount may not be greater than what is left to refund ({}).",
                            amount_text(refundable, digits)
                        ),
                    );
                    0
                }
                Ok(a) => a,
                Err(e) => {
                    errors.add("amount", decimal::message(e, "amount", digits));
                    0
                }
            },
        };
        errors.into_result()?;
        let now = self.clock.now();
        let kind = if r.reversal { "reversal" } else { "refund" };
        let refund_id: i64 = on_conn!(&mut tx.conn(), c => sqlx::query_scalar(
            "INSERT INTO payments (kind, customer_id, partner_id, amount_minor, currency, method, \
             gateway, paid_at, refund_of, notes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $8) RETURNING id")
            .bind(kind).bind(payment.customer_id).bind(payment.partner_id).bind(amount)
            .bind(&payment.currency).bind(&payment.method).bind(&payment.gateway).bind(now)
            .bind(payment.id).bind(&reason).fetch_one(c).await)?;
        // The entry first: it takes the customer's row, which orders this refund with the
        // customer's other payments and invoices.
        let entry = Entry {
            customer_id: payment.customer_id,
            kind: if r.reversal {
                EntryKind::Reversal
            } else {
                EntryKind::Refund
            },
            description: format!(
                "{} of payment {}",
                if r.reversal { "Reversal" } else { "Refund" },
                payment.id
            ),
            invoice_id: None,
            payment_id: Some(refund_id),
            amount_owed: amount,
            currency: payment.currency.clone(),
        };
        ledger::post(&mut tx.conn(), &entry, now).await?;
        // What the payment still holds goes first; then its shares of invoices, newest first.
        let from_credit = amount.min(payment.unallocated_minor);
        let mut left = amount - from_credit;
        on_conn!(&mut tx.conn(), c => sqlx::query(
            "UPDATE payments SET unallocated_minor = unallocated_minor - $2, \
             refunded_minor = refunded_minor + $3 WHERE id = $1")
            .bind(payment.id).bind(from_credit).bind(amount).execute(c).await.map(drop))?;
        let shares = allocations(&mut tx.conn(), &[payment.id]).await?;
        for share in shares.iter().rev() {
            if left <= 0 {
                break;
            }
            let take = left.min(share.amount_minor);
            if take <= 0 {
                continue;
            }
            on_conn!(&mut tx.conn(), c => sqlx::query(
                "INSERT INTO allocations (invoice_id, payment_id, amount_minor, created_at) \
                 VALUES ($1, $2, $3, $4)")
                .bind(share.invoice_id).bind(payment.id).bind(-take).bind(now)
                .execute(c).await.map(drop))?;
            on_conn!(&mut tx.conn(), c => sqlx::query(
                "UPDATE invoices SET paid_minor = paid_minor - $2, updated_at = $3, \
                 status = CASE WHEN status = 'paid' THEN 'open' ELSE status END, \
                 paid_at = CASE WHEN status = 'paid' THEN NULL ELSE paid_at END WHERE id = $1")
                .bind(share.invoice_id).bind(take).bind(now).execute(c).await.map(drop))?;
            left -= take;
        }
        // Invoices due again may be covered by other credit the customer holds.
        invoices::settle(&mut tx.conn(), payment.customer_id, now).await?;
        let refund = find(&mut tx.conn(), refund_id, None).await?;
        let change = Change::created("payment", refund_id, refund.audit_view())
            .because(Some(&reason))
            .unpublished();
        let change = Change {
            action: format!(
                "payment.{}",
                if r.reversal { "reversed" } else { "refunded" }
            ),
            ..change
        };
        audit::record(&mut tx.conn(), context, change, now).await?;
        let event = if r.reversal {
            "payment.failed"
        } else {
            "payment.refunded"
        };
        publish(&mut tx.conn(), event, refund_id, now).await?;
        shown(&mut tx.conn(), refund_id).await
    }
}

/// The payment of a gateway's transaction, if recorded.
async fn by_transaction(
    conn: &mut Conn<'_>,
    gateway: &str,
    transaction_id: &str,
) -> Result<Option<Payment>> {
    let sql = format!("SELECT {COLUMNS} FROM payments WHERE gateway = $1 AND transaction_id = $2");
    Ok(on_conn!(conn, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(gateway).bind(transaction_id).fetch_optional(c).await)?)
}

/// A 409 for paying an invoice that cannot take a payment: void, a draft, or (when
/// `strict`, paying it by name) already paid.
async fn refuse_unpayable(conn: &mut Conn<'_>, invoice_id: i64, strict: bool) -> Result<()> {
    let invoice = invoices::find(conn, invoice_id, None).await?;
    match invoice.status {
        Status::Void => Err(Error::Conflict(format!(
            "{} is void and cannot be paid.",
            invoice.title()
        ))),
        Status::Draft => Err(Error::Conflict(format!(
            "{} is a draft; finalize it before paying it.",
            invoice.title()
        ))),
        Status::Paid if strict => Err(Error::Conflict(format!(
            "{} is already paid.",
            invoice.title()
        ))),
        _ => Ok(()),
    }
}

/// Writes event `event_type` about payment `id`.
async fn publish(conn: &mut Conn<'_>, event_type: &str, id: i64, now: DateTime<Utc>) -> Result<()> {
    let payment = find(conn, id, None).await?;
    let fallback = payment.audit_view();
    let partner = payment.partner_id;
    let shown = shown(conn, id).await?;
    let event = NewEvent::about(
        event_type.into(),
        "payment",
        id.to_string(),
        Subject::new(pb::event_subject::Resource::Payment(shown), partner),
        Some(&fallback),
    );
    events::publish(conn, event, now).await.map(drop)
}

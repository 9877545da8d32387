//! Invoices and credit notes. A draft has lines and totals but no number and no place in
//! the ledger; issuing it (at once, or later from a draft) gives it the next number of its
//! series and year, a copy of whom it bills, its ledger debit, and whatever credit the
//! customer holds — all in the caller's transaction. After that only its payment state
//! moves; reducing it takes a credit note.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use lastmile_proto::timestamp;
use lastmile_proto::v1 as pb;
use serde_json::{Map, Value, json};

use super::invoice_store::{self as store, Credit, InvoiceRow};
use super::ledger::{self, Entry, EntryKind};
use super::money;
use super::rules::{self, LineTax};
use super::settings::{self, BillingSettings};
use super::tax_rates::{self, TaxRate};
use super::{decimal_text, stored};
use crate::audit::{self, Change};
use crate::auth::RequestContext;
use crate::clock::SharedClock;
use crate::customers::{self, CustomerKey};
use crate::db::{Conn, Db, Tx};
use crate::error::{Error, FieldErrors, Result};
use crate::events::{self, NewEvent, Subject};
use crate::fields::decimal;
use crate::on_conn;
use crate::paging::{Page, PageQuery};
use crate::tenancy::Tenancy;

/// Most lines of one invoice.
pub const LINES_MAX: usize = 200;
/// Largest line amount in minor units (net and tax together): 10^15, so that the sum of
/// the most lines an invoice may have, and of any realistic number of invoices in a
/// balance, stays far inside 64 bits.
pub const AMOUNT_MAX: u64 = 1_000_000_000_000_000;
/// The invoice types a manual invoice may have.
pub const INVOICE_TYPES: [&str; 7] = [
    "manual",
    "one_time",
    "recurring",
    "activation",
    "installation",
    "adjustment",
    "other",
];

/// Invoice or credit note.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The customer owes it.
    Invoice,
    /// It reduces an invoice or is credit.
    CreditNote,
}

impl Kind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Invoice => "invoice",
            Kind::CreditNote => "credit_note",
        }
    }

    fn parse(text: &str) -> Result<Kind> {
        match text {
            "invoice" => Ok(Kind::Invoice),
            "credit_note" => Ok(Kind::CreditNote),
            other => stored("invoice kind", other),
        }
    }
}

/// Where an invoice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Being prepared.
    Draft,
    /// Issued, not fully paid.
    Open,
    /// Paid or credited in full.
    Paid,
    /// Cancelled.
    Void,
    /// Given up on, still owed.
    Uncollectible,
    /// A credit note.
    Issued,
}

impl Status {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Open => "open",
            Status::Paid => "paid",
            Status::Void => "void",
            Status::Uncollectible => "uncollectible",
            Status::Issued => "issued",
        }
    }

    fn parse(text: &str) -> Result<Status> {
        Ok(match text {
            "draft" => Status::Draft,
            "open" => Status::Open,
            "paid" => Status::Paid,
            "void" => Status::Void,
            "uncollectible" => Status::Uncollectible,
            "issued" => Status::Issued,
            other => return stored("invoice status", other),
        })
    }

    fn from_wire(status: pb::InvoiceStatus) -> Option<Status> {
        Some(match status {
            pb::InvoiceStatus::Unspecified => return None,
            pb::InvoiceStatus::Draft => Status::Draft,
            pb::InvoiceStatus::Open => Status::Open,
            pb::InvoiceStatus::Paid => Status::Paid,
            pb::InvoiceStatus::Void => Status::Void,
            pb::InvoiceStatus::Uncollectible => Status::Uncollectible,
            pb::InvoiceStatus::Issued => Status::Issued,
        })
    }

    fn wire(self) -> pb::InvoiceStatus {
        match self {
            Status::Draft => pb::InvoiceStatus::Draft,
            Status::Open => pb::InvoiceStatus::Open,
            Status::Paid => pb::InvoiceStatus::Paid,
            Status::Void => pb::InvoiceStatus::Void,
            Status::Uncollectible => pb::InvoiceStatus::Uncollectible,
            Status::Issued => pb::InvoiceStatus::Issued,
        }
    }

    /// Issued and still owed.
    pub fn unpaid(self) -> bool {
        matches!(self, Status::Open | Status::Uncollectible)
    }
}

/// A line as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Line {
    /// Id.
    pub id: i64,
    /// Its invoice.
    pub invoice_id: i64,
    /// 1-based order.
    pub position: i32,
    /// manual, recurring, activation, proration, credit.
    pub kind: String,
    /// The service charged.
    pub service_id: Option<i64>,
    /// What.
    pub description: String,
    /// Thousandths.
    pub quantity_milli: i64,
    /// Unit price.
    pub unit_minor: i64,
    /// Period charged.
    pub period_start: Option<NaiveDate>,
    /// Period charged.
    pub period_end: Option<NaiveDate>,
    /// Millionths.
    pub proration_micro: i64,
    /// Amount without tax.
    pub net_minor: i64,
    /// The rate applied.
    pub tax_rate_id: Option<i64>,
    /// Its name at issue.
    pub tax_name: String,
    /// Its rate at issue (ten-thousandths of a percent).
    pub tax_rate: i64,
    /// Inclusive.
    pub tax_inclusive: bool,
    /// Tax.
    pub tax_minor: i64,
}

/// A line to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLine {
    /// manual, recurring, activation, proration, credit.
    pub kind: &'static str,
    /// The service charged.
    pub service_id: Option<i64>,
    /// What.
    pub description: String,
    /// Thousandths.
    pub quantity_milli: i64,
    /// Unit price.
    pub unit_minor: i64,
    /// Period.
    pub period_start: Option<NaiveDate>,
    /// Period.
    pub period_end: Option<NaiveDate>,
    /// Millionths.
    pub proration_micro: i64,
    /// Net.
    pub net_minor: i64,
    /// Rate.
    pub tax_rate_id: Option<i64>,
    /// Rate name.
    pub tax_name: String,
    /// Rate.
    pub tax_rate: i64,
    /// Inclusive.
    pub tax_inclusive: bool,
    /// Tax.
    pub tax_minor: i64,
}

impl NewLine {
    /// The line as stored under `id`, at `position` of invoice `invoice_id`.
    pub fn stored(&self, id: i64, invoice_id: i64, position: i32) -> Line {
        Line {
            id,
            invoice_id,
            position,
            kind: self.kind.to_owned(),
            service_id: self.service_id,
            description: self.description.clone(),
            quantity_milli: self.quantity_milli,
            unit_minor: self.unit_minor,
            period_start: self.period_start,
            period_end: self.period_end,
            proration_micro: self.proration_micro,
            net_minor: self.net_minor,
            tax_rate_id: self.tax_rate_id,
            tax_name: self.tax_name.clone(),
            tax_rate: self.tax_rate,
            tax_inclusive: self.tax_inclusive,
            tax_minor: self.tax_minor,
        }
    }

    /// A line whose amount before tax is `amount_minor`, already worked out (a prorated
    /// charge or credit: `unit_minor` × days / period days, rounded once), shown with
    /// quantity 1 and its proration factor; taxed by `rate` unless the customer is `exempt`.
    #[allow(clippy::too_many_arguments)]
    pub fn with_amount(
        kind: &'static str,
        service_id: Option<i64>,
        description: String,
        (unit_minor, proration_micro, amount_minor): (i64, i64, i64),
        period: (Option<NaiveDate>, Option<NaiveDate>),
        rate: Option<&TaxRate>,
        exempt: bool,
    ) -> NewLine {
        let mut line = NewLine::priced(
            kind,
            service_id,
            description,
            (1000, unit_minor, proration_micro),
            period,
            rate,
            exempt,
        );
        let tax = rate.map(|r| LineTax {
            rate: r.rate,
            inclusive: r.inclusive,
        });
        (line.net_minor, line.tax_minor) = rules::taxed(amount_minor, tax, exempt);
        line
    }

    /// A line of `quantity_milli` × `unit_minor` × `factor_micro`, taxed by `rate` unless
    /// the customer is `exempt`.
    #[allow(clippy::too_many_arguments)]
    pub fn priced(
        kind: &'static str,
        service_id: Option<i64>,
        description: String,
        (quantity_milli, unit_minor, proration_micro): (i64, i64, i64),
        period: (Option<NaiveDate>, Option<NaiveDate>),
        rate: Option<&TaxRate>,
        exempt: bool,
    ) -> NewLine {
        let tax = rate.map(|r| LineTax {
            rate: r.rate,
            inclusive: r.inclusive,
        });
        let (net_minor, tax_minor) =
            rules::line_amounts(unit_minor, quantity_milli, proration_micro, tax, exempt);
        NewLine {
            kind,
            service_id,
            description,
            quantity_milli,
            unit_minor,
            period_start: period.0,
            period_end: period.1,
            proration_micro,
            net_minor,
            // An exempt customer's line names no tax: none was charged.
            tax_rate_id: rate.filter(|_| !exempt).map(|r| r.id),
            tax_name: rate
                .filter(|_| !exempt)
                .map(|r| r.name.clone())
                .unwrap_or_default(),
            tax_rate: if exempt {
                0
            } else {
                rate.map_or(0, |r| r.rate)
            },
            tax_inclusive: !exempt && rate.is_some_and(|r| r.inclusive),
            tax_minor,
        }
    }
}

/// An invoice or credit note as stored, with its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    /// Id.
    pub id: i64,
    /// Invoice or credit note.
    pub kind: Kind,
    /// Number, once issued.
    pub number: Option<String>,
    /// Status.
    pub status: Status,
    /// manual, recurring, ...
    pub invoice_type: String,
    /// Customer.
    pub customer_id: i64,
    /// Customer's partner.
    pub partner_id: Option<i64>,
    /// Billed name.
    pub customer_name: String,
    /// Billed address lines.
    pub customer_address: Vec<String>,
    /// ISO 4217.
    pub currency: String,
    /// Issue day.
    pub issue_date: Option<NaiveDate>,
    /// Due day.
    pub due_date: Option<NaiveDate>,
    /// Period.
    pub period_start: Option<NaiveDate>,
    /// Period.
    pub period_end: Option<NaiveDate>,
    /// Sum of nets.
    pub subtotal_minor: i64,
    /// Sum of tax.
    pub tax_minor: i64,
    /// Subtotal plus tax.
    pub total_minor: i64,
    /// Covered by payments and credit.
    pub paid_minor: i64,
    /// Covered by credit notes.
    pub credited_minor: i64,
    /// A credit note's credit not yet applied.
    pub unallocated_minor: i64,
    /// For a credit note: the invoice.
    pub credit_note_for: Option<i64>,
    /// Exempt at issue.
    pub tax_exempt: bool,
    /// Exemption reference.
    pub tax_exempt_reference: String,
    /// Notes.
    pub notes: String,
    /// Void reason or credit note reason.
    pub reason: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Issued.
    pub finalized_at: Option<DateTime<Utc>>,
    /// Paid.
    pub paid_at: Option<DateTime<Utc>>,
    /// Voided.
    pub voided_at: Option<DateTime<Utc>>,
    /// Changed.
    pub updated_at: DateTime<Utc>,
    /// Lines.
    pub lines: Vec<Line>,
}

impl Invoice {
    fn from_row(r: InvoiceRow, lines: Vec<Line>) -> Result<Invoice> {
        Ok(Invoice {
            id: r.id,
            kind: Kind::parse(&r.kind)?,
            number: r.number,
            status: Status::parse(&r.status)?,
            invoice_type: r.invoice_type,
            customer_id: r.customer_id,
            partner_id: r.partner_id,
            customer_name: r.customer_name,
            customer_address: serde_json::from_str(&r.customer_address).unwrap_or_default(),
            currency: r.currency,
            issue_date: r.issue_date,
            due_date: r.due_date,
            period_start: r.period_start,
            period_end: r.period_end,
            subtotal_minor: r.subtotal_minor,
            tax_minor: r.tax_minor,
            total_minor: r.total_minor,
            paid_minor: r.paid_minor,
            credited_minor: r.credited_minor,
            unallocated_minor: r.unallocated_minor,
            credit_note_for: r.credit_note_for,
            tax_exempt: r.tax_exempt,
            tax_exempt_reference: r.tax_exempt_reference,
            notes: r.notes,
            reason: r.reason,
            created_at: r.created_at,
            finalized_at: r.finalized_at,
            paid_at: r.paid_at,
            voided_at: r.voided_at,
            updated_at: r.updated_at,
            lines,
        })
    }

    /// What is still owed on it.
    pub fn amount_due(&self) -> i64 {
        match (self.kind, self.status) {
            (Kind::Invoice, Status::Open | Status::Uncollectible | Status::Draft) => {
                self.total_minor - self.paid_minor - self.credited_minor
            }
            _ => 0,
        }
    }

    /// Days past due on `today`, when unpaid and past due.
    pub fn days_overdue(&self, today: NaiveDate) -> Option<i64> {
        let due = self.due_date?;
        (self.kind == Kind::Invoice && self.status.unpaid() && due < today)
            .then(|| (today - due).num_days())
    }

    /// The title in messages and on the ledger: "Invoice INV-2026-000001".
    pub fn title(&self) -> String {
        let noun = match self.kind {
            Kind::Invoice => "Invoice",
            Kind::CreditNote => "Credit note",
        };
        match &self.number {
            Some(number) => format!("{noun} {number}"),
            None => format!("{noun} draft {}", self.id),
        }
    }

    pub(crate) fn audit_view(&self) -> Map<String, Value> {
        let value = json!({
            "number": self.number, "kind": self.kind.as_str(), "status": self.status.as_str(),
            "customer_id": self.customer_id, "currency": self.currency,
            "total_minor": self.total_minor, "paid_minor": self.paid_minor,
            "credited_minor": self.credited_minor,
            "due_date": self.due_date.map(|d| d.to_string()), "reason": self.reason,
        });
        value.as_object().cloned().unwrap_or_default()
    }

    /// The lines' tax per rate, in the order the rates first appear.
    pub fn tax_breakdown(&self) -> Vec<(Option<i64>, String, i64, bool, i64, i64)> {
        let mut groups: Vec<(Option<i64>, String, i64, bool, i64, i64)> = Vec::new();
        for l in self.lines.iter().filter(|l| !l.tax_name.is_empty()) {
            let key = (
                l.tax_rate_id,
                l.tax_name.clone(),
                l.tax_rate,
                l.tax_inclusive,
            );
            match groups
                .iter_mut()
                .find(|g| (g.0, g.1.clone(), g.2, g.3) == key)
            {
                Some(g) => {
                    g.4 += l.net_minor;
                    g.5 += l.tax_minor;
                }
                None => groups.push((key.0, key.1, key.2, key.3, l.net_minor, l.tax_minor)),
            }
        }
        groups
    }
}

/// A line as the proto carries it.
pub fn line_proto(l: &Line, currency: &str) -> pb::InvoiceLine {
    let money = |minor| super::money(minor, currency);
    pb::InvoiceLine {
        id: l.id,
        service_id: l.service_id,
        description: l.description.clone(),
        quantity: decimal_text(l.quantity_milli, 3),
        unit_amount: money(l.unit_minor),
        period_start: date_text(l.period_start),
        period_end: date_text(l.period_end),
        proration_factor: decimal_text(l.proration_micro, 6),
        amount: money(l.net_minor),
        tax_rate_id: l.tax_rate_id,
        tax_name: l.tax_name.clone(),
        tax_rate_percent: tax_rates::percent_text(l.tax_rate),
        tax_inclusive: l.tax_inclusive,
        tax_amount: money(l.tax_minor),
        total: money(l.net_minor + l.tax_minor),
        kind: l.kind.clone(),
    }
}

fn date_text(date: Option<NaiveDate>) -> String {
    date.map(|d| d.to_string()).unwrap_or_default()
}

/// The proto of `invoice` as of `today` (for its overdue state).
pub fn into_proto(i: Invoice, today: NaiveDate) -> pb::Invoice {
    let currency = i.currency.clone();
    let days_overdue = i.days_overdue(today);
    let amount_due = i.amount_due();
    let taxes = i
        .tax_breakdown()
        .into_iter()
        .map(|(id, name, rate, inclusive, net, tax)| pb::TaxBreakdown {
            tax_rate_id: id,
            name,
            rate_percent: tax_rates::percent_text(rate),
            inclusive,
            net: money(net, &currency),
            tax: money(tax, &currency),
        })
        .collect();
    let kind = match i.kind {
        Kind::Invoice => pb::InvoiceKind::Invoice,
        Kind::CreditNote => pb::InvoiceKind::CreditNote,
    };
    pb::Invoice {
        id: i.id,
        number: i.number.unwrap_or_default(),
        kind: kind.into(),
        status: i.status.wire().into(),
        invoice_type: i.invoice_type,
        customer_id: i.customer_id,
        partner_id: i.partner_id,
        customer_name: i.customer_name,
        issue_date: date_text(i.issue_date),
        due_date: date_text(i.due_date),
        period_start: date_text(i.period_start),
        period_end: date_text(i.period_end),
        line_items: i
            .lines
            .into_iter()
            .map(|l| line_proto(&l, &currency))
            .collect(),
        tax_breakdown: taxes,
        subtotal: money(i.subtotal_minor, &currency),
        tax_amount: money(i.tax_minor, &currency),
        total_amount: money(i.total_minor, &currency),
        amount_paid: money(i.paid_minor, &currency),
        amount_credited: money(i.credited_minor, &currency),
        amount_due: money(amount_due, &currency),
        overdue: days_overdue.is_some(),
        days_overdue: days_overdue.map_or(0, |d| i32::try_from(d).unwrap_or(i32::MAX)),
        credit_note_for: i.credit_note_for,
        tax_exempt: i.tax_exempt,
        tax_exempt_reference: i.tax_exempt_reference,
        notes: i.notes,
        reason: i.reason,
        created_at: Some(timestamp(i.created_at)),
        finalized_at: i.finalized_at.map(timestamp),
        paid_at: i.paid_at.map(timestamp),
        voided_at: i.voided_at.map(timestamp),
        updated_at: Some(timestamp(i.updated_at)),
        currency,
    }
}

/// Which invoices a list shows.
#[derive(Debug, Clone, Default)]
pub struct InvoiceFilter {
    /// Only this partner's (the caller's scope).
    pub partner: Option<i64>,
    /// Only this customer's.
    pub customer_id: Option<i64>,
    /// Only in this status.
    pub status: Option<&'static str>,
    /// Only of this kind.
    pub kind: Option<&'static str>,
    /// Only overdue, or only not.
    pub overdue: Option<bool>,
    /// Issued on or after.
    pub issued_from: Option<NaiveDate>,
    /// Issued on or before.
    pub issued_to: Option<NaiveDate>,
}

impl InvoiceFilter {
    /// The filter of a list request (a bad value is a bad request).
    pub fn from_request(r: &pb::ListInvoicesRequest) -> Result<InvoiceFilter> {
        let status = match pb::InvoiceStatus::try_from(r.status) {
            Ok(s) => Status::from_wire(s).map(Status::as_str),
            Err(_) => {
                return Err(Error::BadRequest(
                    "The status is not a known status.".into(),
                ));
            }
        };
        let kind = match pb::InvoiceKind::try_from(r.kind) {
            Ok(pb::InvoiceKind::Unspecified) => None,
            Ok(pb::InvoiceKind::Invoice) => Some("invoice"),
            Ok(pb::InvoiceKind::CreditNote) => Some("credit_note"),
            Err(_) => return Err(Error::BadRequest("The kind is not a known kind.".into())),
        };
        let day = |text: &Option<String>, label: &str| -> Result<Option<NaiveDate>> {
            match text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
                None => Ok(None),
                Some(t) => parse_date(t).map(Some).ok_or_else(|| {
                    Error::BadRequest(format!("The {label} must be a date (YYYY-MM-DD)."))
                }),
            }
        };
        Ok(InvoiceFilter {
            partner: None,
            customer_id: r.customer_id,
            status,
            kind,
            overdue: r.overdue,
            issued_from: day(&r.issued_from, "issued_from")?,
            issued_to: day(&r.issued_to, "issued_to")?,
        })
    }
}

/// A `YYYY-MM-DD` date.
/// A `YYYY-MM-DD` date with a four-digit year (chrono alone would take a signed or longer
/// year, which neither engine stores in order).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shaped {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// What billing needs of a customer.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BillTo {
    /// Id.
    pub id: i64,
    /// Partner.
    pub partner_id: Option<i64>,
    /// Name parts.
    pub first_name: String,
    /// Name parts.
    pub last_name: Option<String>,
    /// Company.
    pub company_name: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Address.
    pub street: String,
    /// Address.
    pub city: String,
    /// Address.
    pub state: String,
    /// Address.
    pub postal_code: String,
    /// Address.
    pub country: String,
    /// Billing address.
    pub billing_street: String,
    /// Billing address.
    pub billing_city: String,
    /// Billing address.
    pub billing_state: String,
    /// Billing address.
    pub billing_postal_code: String,
    /// Billing address.
    pub billing_country: String,
    /// Exempt from tax.
    pub tax_exempt: bool,
    /// The exemption's reference.
    pub tax_exempt_reference: Option<String>,
    /// Balance currency.
    pub currency: String,
}

impl BillTo {
    /// The name invoices print: the company, else the person.
    pub fn name(&self) -> String {
        if let Some(company) = self.company_name.as_deref().filter(|c| !c.is_empty()) {
            return company.to_owned();
        }
        match self.last_name.as_deref().filter(|l| !l.is_empty()) {
            Some(last) => format!("{} {last}", self.first_name),
            None => self.first_name.clone(),
        }
    }

    /// The address invoices print: the billing address when given, else the service's.
    pub fn address(&self) -> Vec<String> {
        let billing = !(self.billing_street.is_empty() && self.billing_city.is_empty());
        let (street, city, state, zip, country) = if billing {
            (
                &self.billing_street,
                &self.billing_city,
                &self.billing_state,
                &self.billing_postal_code,
                &self.billing_country,
            )
        } else {
            (
                &self.street,
                &self.city,
                &self.state,
                &self.postal_code,
                &self.country,
            )
        };
        let city_line = [zip.as_str(), city.as_str(), state.as_str()]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let mut lines: Vec<String> = [street.clone(), city_line, country.clone()]
            .into_iter()
            .filter(|l| !l.is_empty())
            .collect();
        if let Some(email) = self.email.as_deref().filter(|e| !e.is_empty()) {
            lines.push(email.to_owned());
        }
        lines
    }

    /// The country and region taxes are picked by.
    pub fn jurisdiction(&self) -> (&str, &str) {
        if !self.billing_country.is_empty() {
            (&self.billing_country, &self.billing_state)
        } else {
            (&self.country, &self.state)
        }
    }
}

/// The live customer `id` as billing sees it.
pub async fn bill_to(conn: &mut Conn<'_>, id: i64) -> Result<BillTo> {
    let found: Option<BillTo> = on_conn!(conn, c => sqlx::query_as(
        "SELECT id, partner_id, first_name, last_name, company_name, email, street, city, state, \
         postal_code, country, billing_street, billing_city, billing_state, billing_postal_code, \
         billing_country, tax_exempt, tax_exempt_reference, currency FROM customers WHERE id = $1")
        .bind(id).fetch_optional(c).await)?;
    found.ok_or(Error::NotFound("Customer"))
}

/// The invoice `id` with its lines, if `partner` may see it.
pub async fn find(conn: &mut Conn<'_>, id: i64, partner: Option<i64>) -> Result<Invoice> {
    if id <= 0 {
        return Err(Error::NotFound("Invoice"));
    }
    let row = store::find(conn, id, partner)
        .await?
        .ok_or(Error::NotFound("Invoice"))?;
    let lines = store::lines(conn, &[id]).await?;
    Invoice::from_row(row, lines)
}

/// A 422 on `reason` beyond 500 characters (trimmed).
fn reason_within_limit(reason: &str) -> Result<()> {
    if reason.trim().chars().count() > 500 {
        let mut errors = FieldErrors::new();
        errors.add(
            "reason",
            "The reason may not be greater than 500 characters.",
        );
        return Err(Error::Validation(errors));
    }
    Ok(())
}

/// The invoice `id` that `partner` may see, read again once its customer's row and its own
/// are locked (in that order, as every billing write takes them).
async fn locked(conn: &mut Conn<'_>, id: i64, partner: Option<i64>) -> Result<Invoice> {
    let seen = find(conn, id, partner).await?;
    ledger::lock_customer(conn, seen.customer_id).await?;
    store::lock(conn, id).await?;
    find(conn, id, partner).await
}

/// The proto subject of `invoice`'s events.
pub fn subject(invoice: &Invoice, today: NaiveDate) -> Subject {
    Subject::new(
        pb::event_subject::Resource::Invoice(into_proto(invoice.clone(), today)),
        invoice.partner_id,
    )
}

/// Writes event `event_type` about `invoice`.
pub async fn publish(
    conn: &mut Conn<'_>,
    event_type: &str,
    invoice: &Invoice,
    now: DateTime<Utc>,
) -> Result<()> {
    let fallback = invoice.audit_view();
    let event = NewEvent::about(
        event_type.into(),
        "invoice",
        invoice.id.to_string(),
        subject(invoice, crate::billing::day(now)),
        Some(&fallback),
    );
    events::publish(conn, event, now).await.map(drop)
}

/// A decimal field of `digits` decimals, required or defaulting to `default` when empty.
fn decimal_field(
    text: &str,
    digits: u32,
    key: &str,
    label: &str,
    default: Option<i64>,
    errors: &mut FieldErrors,
) -> Option<i64> {
    let text = text.trim();
    if text.is_empty() {
        if default.is_none() {
            errors.add(key, format!("The {label} field is required."));
        }
        return default;
    }
    match decimal::scaled(text, digits) {
        Ok(v) => Some(v),
        Err(e) => {
            errors.add(key, decimal::message(e, label, digits));
            None
        }
    }
}

fn optional_date(
    text: &str,
    key: &str,
    label: &str,
    errors: &mut FieldErrors,
) -> Option<NaiveDate> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let parsed = parse_date(text);
    if parsed.is_none() {
        errors.add(key, format!("The {label} must be a date (YYYY-MM-DD)."));
    }
    parsed
}

/// The invoice operations.
#[derive(Debug, Clone)]
pub struct Invoices {
    db: Db,
    clock: SharedClock,
}

impl Invoices {
    /// The operations over `db`.
    pub fn new(db: Db, clock: SharedClock) -> Self {
        Self { db, clock }
    }

    /// Today (UTC) by the clock.
    pub fn today(&self) -> NaiveDate {
        crate::billing::day(self.clock.now())
    }

    /// Reads a manual invoice: the customer, the lines priced and taxed, the dates. Every
    /// rule is checked and reported together.
    async fn read(
        &self,
        conn: &mut Conn<'_>,
        context: &RequestContext,
        input: &pb::InvoiceInput,
    ) -> Result<(Invoice, Vec<NewLine>)> {
        let mut errors = FieldErrors::new();
        let tenancy = Tenancy::of(&context.principal);
        let customer = if input.customer_id == 0 {
            errors.add("customer_id", "The customer id field is required.");
            None
        } else {
            match customers::resolve(conn, tenancy, &CustomerKey::Id(input.customer_id)).await {
                Ok(c) => Some(bill_to(conn, c.id).await?),
                Err(Error::NotFound(_)) => {
                    errors.add("customer_id", "The selected customer id is invalid.");
                    None
                }
                Err(e) => return Err(e),
            }
        };
        let invoice_type = match input.invoice_type.trim().to_lowercase() {
            t if t.is_empty() => "manual".to_owned(),
            t if INVOICE_TYPES.contains(&t.as_str()) => t,
            _ => {
                errors.add(
                    "invoice_type",
                    format!(
                        "The invoice type must be one of: {}.",
                        INVOICE_TYPES.join(", ")
                    ),
                );
                String::new()
            }
        };
        let period_start = optional_date(
            &input.period_start,
            "period_start",
            "period start",
            &mut errors,
        );
        let period_end = optional_date(&input.period_end, "period_end", "period end", &mut errors);
        if let (Some(s), Some(e)) = (period_start, period_end)
            && e < s
        {
            errors.add(
                "period_end",
                "The period end must not be before the period start.",
            );
        }
        let due_date = optional_date(&input.due_date, "due_date", "due date", &mut errors);
        if due_date.is_some_and(|d| d < self.today()) && !input.draft {
            errors.add(
                "due_date",
                "The due date must not be before the issue date.",
            );
        }
        let notes = input.notes.trim().to_owned();
        if notes.chars().count() > 1000 {
            errors.add(
                "notes",
                "The notes may not be greater than 1000 characters.",
            );
        }
        if input.line_items.is_empty() {
            errors.add("line_items", "The line items field is required.");
        } else if input.line_items.len() > LINES_MAX {
            errors.add(
                "line_items",
                format!("An invoice may not have more than {LINES_MAX} lines."),
            );
        }
        let digits = customer
            .as_ref()
            .map_or(2, |c| lastmile_proto::minor_digits(&c.currency));
        let mut lines = Vec::new();
        for (n, l) in input.line_items.iter().enumerate().take(LINES_MAX) {
            let key = |field: &str| format!("line_items.{n}.{field}");
            let description = l.description.trim().to_owned();
            if description.is_empty() {
                errors.add(key("description"), "The description field is required.");
            } else if description.chars().count() > 500 {
                errors.add(
                    key("description"),
                    "The description may not be greater than 500 characters.",
                );
            }
            let unit = decimal_field(
                &l.amount,
                digits,
                &key("amount"),
                "amount",
                None,
                &mut errors,
            );
            let quantity = decimal_field(
                &l.quantity,
                3,
                &key("quantity"),
                "quantity",
                Some(1000),
                &mut errors,
            );
            if quantity.is_some_and(|q| q <= 0 || q > 1_000_000_000) {
                errors.add(
                    key("quantity"),
                    "The quantity must be more than 0 and at most 1000000.",
                );
            }
            let factor = decimal_field(
                &l.proration_factor,
                6,
                &key("proration_factor"),
                "proration factor",
                Some(1_000_000),
                &mut errors,
            );
            if factor.is_some_and(|f| !(0..=1_000_000).contains(&f)) {
                errors.add(
                    key("proration_factor"),
                    "The proration factor must be between 0 and 1.",
                );
            }
            if unit.is_some_and(|u| u.unsigned_abs() > 1_000_000_000_000) {
                errors.add(key("amount"), "The amount is too large.");
            }
            let start = optional_date(
                &l.period_start,
                &key("period_start"),
                "period start",
                &mut errors,
            );
            let end = optional_date(&l.period_end, &key("period_end"), "period end", &mut errors);
            if let (Some(s), Some(e)) = (start, end)
                && e < s
            {
                errors.add(
                    key("period_end"),
                    "The period end must not be before the period start.",
                );
            }
            let mut rate = None;
            let mut service_class = None;
            if let (Some(service_id), Some(c)) = (l.service_id, &customer) {
                let found: Option<Option<String>> = on_conn!(conn, x => sqlx::query_scalar(
                    "SELECT p.tax_class FROM services s JOIN plans p ON p.id = s.plan_id \
                     WHERE s.id = $1 AND s.customer_id = $2 AND s.deleted_at IS NULL")
                    .bind(service_id).bind(c.id).fetch_optional(x).await)?;
                match found {
                    None => errors.add(key("service_id"), "The selected service id is invalid."),
                    Some(class) => service_class = class.filter(|c| !c.trim().is_empty()),
                }
            }
            if let Some(rate_id) = l.tax_rate_id {
                match tax_rates::find(conn, rate_id).await {
                    Ok(r) if r.active => rate = Some(r),
                    Ok(_) | Err(Error::NotFound(_)) => {
                        errors.add(key("tax_rate_id"), "The selected tax rate id is invalid.")
                    }
                    Err(e) => return Err(e),
                }
            } else if let (Some(class), Some(c)) = (&service_class, &customer) {
                let (country, region) = c.jurisdiction();
                rate = tax_rates::for_class(conn, class, country, region).await?;
            }
            if let (Some(unit), Some(quantity), Some(factor), Some(c)) =
                (unit, quantity, factor, &customer)
            {
                let line = NewLine::priced(
                    "manual",
                    l.service_id,
                    description,
                    (quantity, unit, factor),
                    (start, end),
                    rate.as_ref(),
                    c.tax_exempt,
                );
                if line.net_minor.unsigned_abs() + line.tax_minor.unsigned_abs() > AMOUNT_MAX {
                    errors.add(key("amount"), "The line's amount is too large.");
                }
                lines.push(line);
            }
        }
        errors.into_result()?;
        let customer = customer.ok_or(Error::NotFound("Customer"))?;
        let invoice = draft_of(
            &customer,
            Kind::Invoice,
            invoice_type,
            &lines,
            self.clock.now(),
        );
        let invoice = Invoice {
            period_start,
            period_end,
            due_date,
            notes,
            ..invoice
        };
        if invoice.total_minor < 0 {
            let mut errors = FieldErrors::new();
            errors.add(
                "line_items",
                "An invoice's total may not be negative; issue a credit note instead.",
            );
            return Err(Error::Validation(errors));
        }
        Ok((invoice, lines))
    }

    /// Checks a manual invoice; writes nothing.
    pub async fn validate_create(
        &self,
        context: &RequestContext,
        input: &pb::InvoiceInput,
    ) -> Result<()> {
        self.read(&mut self.db.conn(), context, input)
            .await
            .map(drop)
    }

    /// Creates a manual invoice inside `tx`, issued unless it is asked for as a draft.
    pub async fn create(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        input: &pb::InvoiceInput,
    ) -> Result<Invoice> {
        let (invoice, lines) = self.read(&mut tx.conn(), context, input).await?;
        ledger::lock_customer(&mut tx.conn(), invoice.customer_id).await?;
        let now = self.clock.now();
        let id = store::insert(&mut tx.conn(), &invoice, &lines, now).await?;
        let draft = find(&mut tx.conn(), id, None).await?;
        let mut change = Change::created("invoice", id, draft.audit_view()).unpublished();
        change.action = "invoice.generated".into();
        audit::record(&mut tx.conn(), context, change, now).await?;
        if input.draft {
            publish(&mut tx.conn(), "invoice.generated", &draft, now).await?;
            return Ok(draft);
        }
        // Issued at once: `invoice.generated` is published by the issue, after the number
        // is taken, so that every billing write takes the number counter before the event
        // log's ordering lock (no two can wait on each other).
        self.issue_generated(tx, context, id, true).await
    }

    /// Issues draft `id` inside `tx` (the caller checked it may see it).
    pub async fn issue(&self, tx: &mut Tx, context: &RequestContext, id: i64) -> Result<Invoice> {
        self.issue_generated(tx, context, id, false).await
    }

    /// Issues draft `id`; `generated`: it was made in this transaction, and its
    /// `invoice.generated` goes out first.
    async fn issue_generated(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        id: i64,
        generated: bool,
    ) -> Result<Invoice> {
        let now = self.clock.now();
        let invoice = issue(&mut tx.conn(), id, now, generated).await?;
        let mut change = Change::created("invoice", id, invoice.audit_view()).unpublished();
        change.action = format!(
            "{}.finalized",
            if invoice.kind == Kind::Invoice {
                "invoice"
            } else {
                "credit_note"
            }
        );
        audit::record(&mut tx.conn(), context, change, now).await?;
        Ok(invoice)
    }

    /// Issues draft `id` that the caller may see.
    pub async fn finalize(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        id: i64,
    ) -> Result<Invoice> {
        let partner = Tenancy::of(&context.principal).partner();
        let current = locked(&mut tx.conn(), id, partner).await?;
        if current.status != Status::Draft {
            return Err(Error::Conflict(format!(
                "{} is already issued.",
                current.title()
            )));
        }
        self.issue(tx, context, id).await
    }

    /// Invoice `id` (or number) if the caller may see it.
    pub async fn get(&self, context: &RequestContext, key: &str) -> Result<Invoice> {
        let partner = Tenancy::of(&context.principal).partner();
        let mut conn = self.db.conn();
        let key = key.trim();
        let id = match key.parse::<i64>() {
            Ok(id) => id,
            Err(_) => store::id_of_number(&mut conn, key, partner)
                .await?
                .ok_or(Error::NotFound("Invoice"))?,
        };
        find(&mut conn, id, partner).await
    }

    /// A page of the invoices the caller may see; `customer` names one customer's.
    pub async fn list(
        &self,
        context: &RequestContext,
        customer: Option<&str>,
        mut filter: InvoiceFilter,
        page: PageQuery,
    ) -> Result<Page<Invoice>> {
        let tenancy = Tenancy::of(&context.principal);
        let mut conn = self.db.conn();
        if let Some(key) = customer {
            let found =
                customers::resolve(&mut conn, tenancy, &CustomerKey::Reference(key.to_owned()))
                    .await?;
            filter.customer_id = Some(found.id);
        }
        filter.partner = tenancy.partner();
        let (rows, total) = store::list(&mut conn, &filter, self.today(), page).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut lines = store::lines(&mut conn, &ids).await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            let (mine, rest): (Vec<Line>, Vec<Line>) =
                lines.into_iter().partition(|l| l.invoice_id == row.id);
            lines = rest;
            items.push(Invoice::from_row(row, mine)?);
        }
        Ok(Page {
            items,
            total,
            query: page,
        })
    }

    /// Voids open invoice `id` that has no payment: its debit is taken back.
    pub async fn void(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        id: i64,
        reason: &str,
    ) -> Result<Invoice> {
        reason_within_limit(reason)?;
        let partner = Tenancy::of(&context.principal).partner();
        let current = locked(&mut tx.conn(), id, partner).await?;
        match (current.kind, current.status) {
            (Kind::Invoice, Status::Open | Status::Uncollectible) => {}
            (_, Status::Draft) => {
                return Err(Error::Conflict(
                    "A draft is not issued; delete it instead of voiding it.".into(),
                ));
            }
            (_, Status::Void) => {
                return Err(Error::Conflict(format!(
                    "{} is already void.",
                    current.title()
                )));
            }
            (Kind::CreditNote, _) => {
                return Err(Error::Conflict("A credit note cannot be voided.".into()));
            }
            (_, _) => {
                return Err(Error::Conflict(format!(
                    "{} is paid; issue a credit note to reduce it.",
                    current.title()
                )));
            }
        }
        let credited = store::credited_total(&mut tx.conn(), id).await?;
        if current.paid_minor != 0 || current.credited_minor != 0 || credited != 0 {
            return Err(Error::Conflict(format!(
                "{} has payments or credit notes; issue a credit note to reduce it.",
                current.title()
            )));
        }
        let now = self.clock.now();
        let reason = reason.trim();
        store::set_status(&mut tx.conn(), id, "void", Some(reason), now).await?;
        let entry = Entry {
            customer_id: current.customer_id,
            kind: EntryKind::InvoiceVoided,
            description: format!("{} voided", current.title()),
            invoice_id: Some(id),
            payment_id: None,
            amount_owed: -current.total_minor,
            currency: current.currency.clone(),
        };
        ledger::post(&mut tx.conn(), &entry, now).await?;
        let invoice = find(&mut tx.conn(), id, None).await?;
        let change = Change::updated(
            "invoice.voided".into(),
            "invoice",
            id,
            &current.audit_view(),
            &invoice.audit_view(),
        )
        .because(Some(reason))
        .publish(subject(&invoice, crate::billing::day(now)));
        audit::record(&mut tx.conn(), context, change, now).await?;
        Ok(invoice)
    }

    /// Marks open invoice `id` uncollectible.
    pub async fn mark_uncollectible(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        id: i64,
        reason: &str,
    ) -> Result<Invoice> {
        reason_within_limit(reason)?;
        let partner = Tenancy::of(&context.principal).partner();
        let current = locked(&mut tx.conn(), id, partner).await?;
        if current.kind != Kind::Invoice || current.status != Status::Open {
            return Err(Error::Conflict(format!(
                "Only open invoices can be marked uncollectible; {} is {}.",
                current.title(),
                current.status.as_str()
            )));
        }
        let now = self.clock.now();
        store::set_status(
            &mut tx.conn(),
            id,
            "uncollectible",
            Some(reason.trim()),
            now,
        )
        .await?;
        let invoice = find(&mut tx.conn(), id, None).await?;
        let change = Change::updated(
            "invoice.marked_uncollectible".into(),
            "invoice",
            id,
            &current.audit_view(),
            &invoice.audit_view(),
        )
        .because(Some(reason))
        .publish(subject(&invoice, crate::billing::day(now)));
        audit::record(&mut tx.conn(), context, change, now).await?;
        Ok(invoice)
    }

    /// Deletes draft `id`.
    pub async fn delete(&self, tx: &mut Tx, context: &RequestContext, id: i64) -> Result<()> {
        let partner = Tenancy::of(&context.principal).partner();
        let current = locked(&mut tx.conn(), id, partner).await?;
        if current.status != Status::Draft {
            return Err(Error::Conflict(format!(
                "{} is issued and cannot be deleted; void it or issue a credit note.",
                current.title()
            )));
        }
        store::delete_draft(&mut tx.conn(), id).await?;
        let now = self.clock.now();
        let change = Change::deleted("invoice", id, current.audit_view()).unpublished();
        audit::record(&mut tx.conn(), context, change, now).await
    }

    /// Issues a credit note of `input.amount` (all that is left when empty) against issued
    /// invoice `invoice_id`. Its lines share the amount among the invoice's lines in
    /// proportion, each keeping its line's tax share, so the tax breakdown stays right.
    pub async fn credit(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        invoice_id: i64,
        input: &pb::CreditNoteInput,
    ) -> Result<Invoice> {
        let partner = Tenancy::of(&context.principal).partner();
        let invoice = locked(&mut tx.conn(), invoice_id, partner).await?;
        match (invoice.kind, invoice.status) {
            (Kind::CreditNote, _) => {
                return Err(Error::Conflict("A credit note cannot be credited.".into()));
            }
            (_, Status::Draft) => {
                return Err(Error::Conflict(
                    "A draft is not issued; change or delete it instead.".into(),
                ));
            }
            (_, Status::Void) => {
                return Err(Error::Conflict(format!("{} is void.", invoice.title())));
            }
            _ => {}
        }
        let creditable =
            invoice.total_minor - store::credited_total(&mut tx.conn(), invoice_id).await?;
        let digits = lastmile_proto::minor_digits(&invoice.currency);
        let mut errors = FieldErrors::new();
        let reason = input.reason.trim().to_owned();
        if reason.is_empty() {
            errors.add("reason", "The reason field is required.");
        } else if reason.chars().count() > 500 {
            errors.add(
                "reason",
                "The reason may not be greater than 500 characters.",
            );
        }
        let amount = decimal_field(
            &input.amount,
            digits,
            "amount",
            "amount",
            Some(creditable),
            &mut errors,
        );
        if let Some(a) = amount {
            if a <= 0 && !input.amount.trim().is_empty() {
                errors.add("amount", "The amount must be more than 0.");
            } else if a > creditable {
                errors.add(
                    "amount",
                    format!(
                        "The amount may not be greater than what is left to credit ({}).",
                        super::amount_text(creditable, digits)
                    ),
                );
            }
        }
        errors.into_result()?;
        let amount = amount.unwrap_or(0);
        if amount <= 0 {
            return Err(Error::Conflict(format!(
                "{} is already fully credited.",
                invoice.title()
            )));
        }
        let totals: Vec<i64> = invoice
            .lines
            .iter()
            .map(|l| l.net_minor + l.tax_minor)
            .collect();
        let shares = rules::share(amount, &totals);
        let number = invoice.number.clone().unwrap_or_default();
        let lines: Vec<NewLine> = invoice
            .lines
            .iter()
            .zip(shares)
            .filter(|(_, share)| *share != 0)
            .map(|(l, share)| {
                let total = l.net_minor + l.tax_minor;
                let tax = if total == 0 {
                    0
                } else {
                    i64::try_from(rules::div_half_even(
                        i128::from(share) * i128::from(l.tax_minor),
                        i128::from(total),
                    ))
                    .unwrap_or(0)
                };
                NewLine {
                    kind: "credit",
                    service_id: l.service_id,
                    description: format!("{} ({number})", l.description),
                    quantity_milli: 1000,
                    unit_minor: share - tax,
                    period_start: l.period_start,
                    period_end: l.period_end,
                    proration_micro: 1_000_000,
                    net_minor: share - tax,
                    tax_rate_id: l.tax_rate_id,
                    tax_name: l.tax_name.clone(),
                    tax_rate: l.tax_rate,
                    tax_inclusive: l.tax_inclusive,
                    tax_minor: tax,
                }
            })
            .collect();
        let customer = bill_to(&mut tx.conn(), invoice.customer_id).await?;
        let now = self.clock.now();
        let note = draft_of(
            &customer,
            Kind::CreditNote,
            "credit_note".into(),
            &lines,
            now,
        );
        let note = Invoice {
            credit_note_for: Some(invoice_id),
            reason,
            period_start: invoice.period_start,
            period_end: invoice.period_end,
            currency: invoice.currency.clone(),
            tax_exempt: invoice.tax_exempt,
            tax_exempt_reference: invoice.tax_exempt_reference.clone(),
            ..note
        };
        let id = store::insert(&mut tx.conn(), &note, &lines, now).await?;
        self.issue(tx, context, id).await
    }

    /// The document of invoice `id` for its PDF, if the caller may see it.
    pub async fn document(
        &self,
        context: &RequestContext,
        id: i64,
    ) -> Result<(Invoice, BillingSettings)> {
        let partner = Tenancy::of(&context.principal).partner();
        let mut conn = self.db.conn();
        let invoice = find(&mut conn, id, partner).await?;
        let settings = settings::load(&mut conn).await?;
        Ok((invoice, settings))
    }
}

/// A draft of `kind` for `customer` with `lines` and their totals.
pub fn draft_of(
    customer: &BillTo,
    kind: Kind,
    invoice_type: String,
    lines: &[NewLine],
    now: DateTime<Utc>,
) -> Invoice {
    let subtotal: i64 = lines.iter().map(|l| l.net_minor).sum();
    let tax: i64 = lines.iter().map(|l| l.tax_minor).sum();
    Invoice {
        id: 0,
        kind,
        number: None,
        status: Status::Draft,
        invoice_type,
        customer_id: customer.id,
        partner_id: customer.partner_id,
        customer_name: customer.name(),
        customer_address: customer.address(),
        currency: customer.currency.clone(),
        issue_date: None,
        due_date: None,
        period_start: None,
        period_end: None,
        subtotal_minor: subtotal,
        tax_minor: tax,
        total_minor: subtotal + tax,
        paid_minor: 0,
        credited_minor: 0,
        unallocated_minor: 0,
        credit_note_for: None,
        tax_exempt: customer.tax_exempt,
        tax_exempt_reference: customer.tax_exempt_reference.clone().unwrap_or_default(),
        notes: String::new(),
        reason: String::new(),
        created_at: now,
        finalized_at: None,
        paid_at: None,
        voided_at: None,
        updated_at: now,
        lines: Vec::new(),
    }
}

/// Issues draft `id`: its number, its copy of whom it bills, its ledger entry, and the
/// customer's credit applied — one transaction. Publishes `invoice.finalized` (and
/// `invoice.paid` when credit covers it).
pub async fn issue(
    conn: &mut Conn<'_>,
    id: i64,
    now: DateTime<Utc>,
    generated: bool,
) -> Result<Invoice> {
    let draft = find(conn, id, None).await?;
    if draft.status != Status::Draft {
        return Err(Error::Conflict(format!(
            "{} is already issued.",
            draft.title()
        )));
    }
    if draft
        .due_date
        .is_some_and(|due| due < crate::billing::day(now))
    {
        return Err(Error::Conflict(format!(
            "The due date of {} has passed; delete the draft and create it again with a later one.",
            draft.title()
        )));
    }
    let customer = bill_to(conn, draft.customer_id).await?;
    let settings = settings::load(conn).await?;
    let today = crate::billing::day(now);
    let (series, status) = match draft.kind {
        Kind::Invoice => (
            settings.invoice_prefix.clone(),
            if draft.total_minor == 0 {
                Status::Paid
            } else {
                Status::Open
            },
        ),
        Kind::CreditNote => (settings.credit_note_prefix.clone(), Status::Issued),
    };
    let year = today.year();
    let sequence = store::next_number(conn, &series, year).await?;
    let number = format!("{series}-{year}-{sequence:06}");
    let due = draft
        .due_date
        .unwrap_or_else(|| today + chrono::Duration::days(i64::from(settings.payment_terms_days)));
    store::finalize(
        conn,
        id,
        (&series, year, sequence, &number),
        status.as_str(),
        today,
        due,
        (&customer.name(), &customer.address()),
        now,
    )
    .await?;
    let (kind, owed) = match draft.kind {
        Kind::Invoice => (EntryKind::Invoice, draft.total_minor),
        Kind::CreditNote => (EntryKind::CreditNote, -draft.total_minor),
    };
    let noun = if draft.kind == Kind::Invoice {
        "Invoice"
    } else {
        "Credit note"
    };
    let entry = Entry {
        customer_id: draft.customer_id,
        kind,
        description: format!("{noun} {number}"),
        invoice_id: Some(id),
        payment_id: None,
        amount_owed: owed,
        currency: draft.currency.clone(),
    };
    ledger::post(conn, &entry, now).await?;
    if draft.kind == Kind::CreditNote {
        store::set_unallocated(conn, id, draft.total_minor).await?;
        // The credited invoice first, then whatever else is unpaid.
        if let Some(target) = draft.credit_note_for {
            apply_to(
                conn,
                target,
                Credit {
                    payment_id: None,
                    credit_note_id: Some(id),
                    unallocated_minor: draft.total_minor,
                },
                now,
            )
            .await?;
        }
    }
    let issued = find(conn, id, None).await?;
    if generated {
        publish(conn, "invoice.generated", &issued, now).await?;
    }
    let event = if issued.kind == Kind::Invoice {
        "invoice.finalized"
    } else {
        "credit_note.issued"
    };
    publish(conn, event, &issued, now).await?;
    settle(conn, draft.customer_id, now).await?;
    find(conn, id, None).await
}

/// Applies up to `credit.unallocated_minor` of `credit` to invoice `invoice_id`, as far as
/// it is unpaid; returns how much was applied.
pub(super) async fn apply_to(
    conn: &mut Conn<'_>,
    invoice_id: i64,
    credit: Credit,
    now: DateTime<Utc>,
) -> Result<i64> {
    let invoice = find(conn, invoice_id, None).await?;
    if invoice.kind != Kind::Invoice || !invoice.status.unpaid() {
        return Ok(0);
    }
    let amount = invoice.amount_due().min(credit.unallocated_minor);
    if amount <= 0 {
        return Ok(0);
    }
    store::allocate(conn, invoice_id, credit, amount, now).await?;
    paid_if_covered(conn, invoice_id, now).await?;
    Ok(amount)
}

/// Marks invoice `id` paid (and tells) when nothing is due on it any more.
async fn paid_if_covered(conn: &mut Conn<'_>, id: i64, now: DateTime<Utc>) -> Result<()> {
    let invoice = find(conn, id, None).await?;
    if invoice.kind == Kind::Invoice && invoice.status.unpaid() && invoice.amount_due() <= 0 {
        store::set_status(conn, id, "paid", None, now).await?;
        let paid = find(conn, id, None).await?;
        publish(conn, "invoice.paid", &paid, now).await?;
    }
    Ok(())
}

/// Applies the customer's unapplied credit (payments and credit notes, oldest first) to
/// its unpaid invoices (oldest due first) until one side runs out.
pub async fn settle(conn: &mut Conn<'_>, customer_id: i64, now: DateTime<Utc>) -> Result<()> {
    let mut credits = store::credits(conn, customer_id).await?;
    if credits.is_empty() {
        return Ok(());
    }
    let unpaid = store::unpaid(conn, customer_id).await?;
    let mut c = 0;
    for due in unpaid {
        let mut left = due.due_minor;
        while left > 0 && c < credits.len() {
            let amount = left.min(credits[c].unallocated_minor);
            store::allocate(conn, due.id, credits[c], amount, now).await?;
            credits[c].unallocated_minor -= amount;
            left -= amount;
            if credits[c].unallocated_minor == 0 {
                c += 1;
            }
        }
        if left == 0 {
            paid_if_covered(conn, due.id, now).await?;
        }
        if c >= credits.len() {
            break;
        }
    }
    Ok(())
}

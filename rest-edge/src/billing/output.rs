//! Tax rates, billing settings, invoices, payments and statements as the REST API shows
//! them. Amounts are printed from integer minor units with the currency's digits and
//! embedded verbatim as JSON numbers, so no float ever rounds them; so are quantities,
//! proration factors and rates, which the core writes as exact decimals.

use crate::base_url::BaseUrl;
use crate::format::{SelfLink, text, timestamp};
use lastmile_proto::v1::{
    BillingRun, BillingRunInvoice, BillingRunStatus, BillingSettings, GetStatementResponse,
    Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, LedgerEntry, Money, Payment,
    PaymentAllocation, PaymentKind, PaymentMethod, RunDunningResponse, TaxBreakdown, TaxRate,
};
use lastmile_proto::{RestName, format_minor_units};
use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

/// An amount as a JSON number with its currency's digits.
fn amount(money: Option<Money>) -> Option<Box<RawValue>> {
    let money = money?;
    RawValue::from_string(format_minor_units(money.minor_units, &money.currency)).ok()
}

/// A decimal the core wrote, as a JSON number; `null` when it wrote none.
fn number(text: String) -> Option<Box<RawValue>> {
    Some(text)
        .filter(|t| !t.is_empty())
        .and_then(|t| RawValue::from_string(t).ok())
}

fn name<E: RestName>(value: i32) -> Option<&'static str> {
    Some(E::rest_name_of(value)).filter(|n| !n.is_empty())
}

/// The REST name of an invoice status: an open invoice is `pending`, as clients of ISP
/// billing APIs know it.
pub(crate) fn status_name(value: i32) -> Option<&'static str> {
    Some(match InvoiceStatus::try_from(value).ok()? {
        InvoiceStatus::Unspecified => return None,
        InvoiceStatus::Draft => "draft",
        InvoiceStatus::Open => "pending",
        InvoiceStatus::Paid => "paid",
        InvoiceStatus::Void => "void",
        InvoiceStatus::Uncollectible => "uncollectible",
        InvoiceStatus::Issued => "issued",
    })
}

/// Every REST invoice status, in the order of the proto enum.
pub(crate) const STATUS_NAMES: &[&str] = &[
    "draft",
    "pending",
    "paid",
    "void",
    "uncollectible",
    "issued",
];

/// A tax rate.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TaxRateJson {
    /// Id.
    pub id: i64,
    /// The name plans' tax classes refer to.
    pub name: String,
    /// Percent, e.g. 16 or 7.25.
    #[schema(value_type = f64)]
    pub rate_percent: Option<Box<RawValue>>,
    /// Prices include the tax.
    pub inclusive: bool,
    /// ISO 3166 alpha-2; null: any country.
    pub country: Option<String>,
    /// Region within the country; null: the whole country.
    pub region: Option<String>,
    /// Applied to new lines.
    pub active: bool,
    /// Description.
    pub description: Option<String>,
    /// Created.
    pub created_at: Option<String>,
    /// Changed.
    pub updated_at: Option<String>,
    /// Links.
    pub links: Option<SelfLink>,
}

impl TaxRateJson {
    pub(crate) fn new(r: TaxRate, base: &BaseUrl) -> Self {
        Self {
            links: SelfLink::new(base, "/api/v1/tax-rates", r.id),
            id: r.id,
            name: r.name,
            rate_percent: number(r.rate_percent),
            inclusive: r.inclusive,
            country: text(r.country),
            region: text(r.region),
            active: r.active,
            description: text(r.description),
            created_at: timestamp(r.created_at),
            updated_at: timestamp(r.updated_at),
        }
    }
}

/// The deployment's billing settings.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SettingsJson {
    /// ISO 4217 code of the deployment's money (its configuration).
    pub currency: String,
    /// The issuer's name on invoices.
    pub company_name: Option<String>,
    /// The issuer's address lines.
    pub company_address: Vec<String>,
    /// The issuer's tax id.
    pub company_tax_id: Option<String>,
    /// The issuer's e-mail.
    pub company_email: Option<String>,
    /// The issuer's phone.
    pub company_phone: Option<String>,
    /// How to pay, line by line.
    pub payment_instructions: Vec<String>,
    /// Prefix of invoice numbers.
    pub invoice_prefix: String,
    /// Prefix of credit note numbers.
    pub credit_note_prefix: String,
    /// Days from issue to due date.
    pub payment_terms_days: i32,
    /// Dunning reminders, in days relative to the due date.
    pub reminder_days: Vec<i32>,
    /// Last change; null: never changed.
    pub updated_at: Option<String>,
}

impl From<BillingSettings> for SettingsJson {
    fn from(s: BillingSettings) -> Self {
        Self {
            currency: s.currency,
            company_name: text(s.company_name),
            company_address: s.company_address,
            company_tax_id: text(s.company_tax_id),
            company_email: text(s.company_email),
            company_phone: text(s.company_phone),
            payment_instructions: s.payment_instructions,
            invoice_prefix: s.invoice_prefix,
            credit_note_prefix: s.credit_note_prefix,
            payment_terms_days: s.payment_terms_days,
            reminder_days: s.reminder_days,
            updated_at: timestamp(s.updated_at),
        }
    }
}

/// A reminder a dunning run sent.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReminderJson {
    /// The invoice.
    pub invoice_id: i64,
    /// Days relative to its due date.
    pub offset_days: i32,
}

/// What a dunning run did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DunningJson {
    /// Reminders sent (`invoice.due_soon` up to the due date, `payment.overdue` after).
    pub reminders: Vec<ReminderJson>,
    /// Customers suspended for non-payment.
    pub suspended_customer_ids: Vec<i64>,
    /// Customers activated again.
    pub reactivated_customer_ids: Vec<i64>,
    /// When it ran.
    pub run_at: Option<String>,
}

impl From<RunDunningResponse> for DunningJson {
    fn from(r: RunDunningResponse) -> Self {
        Self {
            reminders: r
                .reminders
                .into_iter()
                .map(|m| ReminderJson {
                    invoice_id: m.invoice_id,
                    offset_days: m.offset_days,
                })
                .collect(),
            suspended_customer_ids: r.suspended_customer_ids,
            reactivated_customer_ids: r.reactivated_customer_ids,
            run_at: timestamp(r.run_at),
        }
    }
}

/// A period, first and last day.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PeriodJson {
    /// First day, `YYYY-MM-DD`.
    pub start: Option<String>,
    /// Last day.
    pub end: Option<String>,
}

/// A line of an invoice.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LineJson {
    /// Id.
    pub id: i64,
    /// The service it charges.
    pub service_id: Option<i64>,
    /// What it charges.
    pub description: String,
    /// Quantity.
    #[schema(value_type = f64)]
    pub quantity: Option<Box<RawValue>>,
    /// Price of one unit.
    #[schema(value_type = f64)]
    pub unit_amount: Option<Box<RawValue>>,
    /// First day charged.
    pub period_start: Option<String>,
    /// Last day charged.
    pub period_end: Option<String>,
    /// Share of the period charged (0-1).
    #[schema(value_type = f64)]
    pub proration_factor: Option<Box<RawValue>>,
    /// Amount without tax, rounded half to even once.
    #[schema(value_type = f64)]
    pub amount: Option<Box<RawValue>>,
    /// The tax rate applied.
    pub tax_rate_id: Option<i64>,
    /// Its name at issue; null: untaxed.
    pub tax_name: Option<String>,
    /// Its percent at issue.
    #[schema(value_type = f64)]
    pub tax_rate_percent: Option<Box<RawValue>>,
    /// Whether the price included the tax.
    pub tax_inclusive: bool,
    /// The line's tax.
    #[schema(value_type = f64)]
    pub tax_amount: Option<Box<RawValue>>,
    /// Amount plus tax.
    #[schema(value_type = f64)]
    pub total: Option<Box<RawValue>>,
    /// manual, recurring, activation, proration, credit.
    pub kind: String,
}

impl From<InvoiceLine> for LineJson {
    fn from(l: InvoiceLine) -> Self {
        Self {
            id: l.id,
            service_id: l.service_id,
            description: l.description,
            quantity: number(l.quantity),
            unit_amount: amount(l.unit_amount),
            period_start: text(l.period_start),
            period_end: text(l.period_end),
            proration_factor: number(l.proration_factor),
            amount: amount(l.amount),
            tax_rate_id: l.tax_rate_id,
            tax_name: text(l.tax_name),
            tax_rate_percent: number(l.tax_rate_percent),
            tax_inclusive: l.tax_inclusive,
            tax_amount: amount(l.tax_amount),
            total: amount(l.total),
            kind: l.kind,
        }
    }
}

/// The tax of an invoice for one rate.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TaxJson {
    /// The rate.
    pub tax_rate_id: Option<i64>,
    /// Its name on the lines.
    pub name: String,
    /// Its percent on the lines.
    #[schema(value_type = f64)]
    pub rate_percent: Option<Box<RawValue>>,
    /// Inclusive.
    pub inclusive: bool,
    /// The lines' amounts without tax.
    #[schema(value_type = f64)]
    pub net: Option<Box<RawValue>>,
    /// The lines' tax.
    #[schema(value_type = f64)]
    pub tax: Option<Box<RawValue>>,
}

impl From<TaxBreakdown> for TaxJson {
    fn from(t: TaxBreakdown) -> Self {
        Self {
            tax_rate_id: t.tax_rate_id,
            name: t.name,
            rate_percent: number(t.rate_percent),
            inclusive: t.inclusive,
            net: amount(t.net),
            tax: amount(t.tax),
        }
    }
}

/// Links of an invoice.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct InvoiceLinks {
    /// The invoice.
    #[serde(rename = "self")]
    #[schema(rename = "self")]
    pub self_url: String,
    /// Its PDF.
    pub pdf: String,
    /// The customer.
    pub customer: String,
}

/// An invoice or credit note.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct InvoiceJson {
    /// Id.
    pub id: i64,
    /// `INV-2026-000001`; null while a draft.
    pub invoice_number: Option<String>,
    /// `invoice` or `credit_note`.
    pub kind: Option<&'static str>,
    /// `draft`, `pending` (issued, not fully paid), `paid`, `void`, `uncollectible`, or
    /// `issued` (a credit note).
    pub status: Option<&'static str>,
    /// What raised it.
    pub invoice_type: String,
    /// The customer.
    pub customer_id: i64,
    /// The customer's reseller.
    pub partner_id: Option<i64>,
    /// The billed name as at issue.
    pub customer_name: String,
    /// ISO 4217.
    pub currency: String,
    /// Day of issue; null while a draft.
    pub issue_date: Option<String>,
    /// Day payment is due.
    pub due_date: Option<String>,
    /// The period billed.
    pub billing_period: Option<PeriodJson>,
    /// The lines.
    pub line_items: Vec<LineJson>,
    /// Tax per rate.
    pub tax_breakdown: Vec<TaxJson>,
    /// Sum of the lines without tax.
    #[schema(value_type = f64)]
    pub subtotal: Option<Box<RawValue>>,
    /// Sum of the lines' tax.
    #[schema(value_type = f64)]
    pub tax_amount: Option<Box<RawValue>>,
    /// Subtotal plus tax.
    #[schema(value_type = f64)]
    pub total_amount: Option<Box<RawValue>>,
    /// Paid by payments and applied credit.
    #[schema(value_type = f64)]
    pub amount_paid: Option<Box<RawValue>>,
    /// Reduced by credit notes.
    #[schema(value_type = f64)]
    pub amount_credited: Option<Box<RawValue>>,
    /// Still owed.
    #[schema(value_type = f64)]
    pub amount_due: Option<Box<RawValue>>,
    /// Unpaid past its due date.
    pub overdue: bool,
    /// Days past due while overdue, else 0.
    pub days_overdue: i32,
    /// For a credit note: the invoice it credits.
    pub credit_note_for: Option<i64>,
    /// The customer was tax-exempt at issue.
    pub tax_exempt: bool,
    /// The exemption's reference.
    pub tax_exempt_reference: Option<String>,
    /// Printed on the invoice.
    pub notes: Option<String>,
    /// Why it was voided, or what a credit note is for.
    pub reason: Option<String>,
    /// Created.
    pub created_at: Option<String>,
    /// Issued.
    pub finalized_at: Option<String>,
    /// Paid in full.
    pub paid_at: Option<String>,
    /// Voided.
    pub voided_at: Option<String>,
    /// Changed.
    pub updated_at: Option<String>,
    /// Links.
    pub links: Option<InvoiceLinks>,
}

impl InvoiceJson {
    pub(crate) fn new(i: Invoice, base: &BaseUrl) -> Self {
        let links = base.linked().map(|base| InvoiceLinks {
            self_url: format!("{base}/api/v1/invoices/{}", i.id),
            pdf: format!("{base}/api/v1/invoices/{}/pdf", i.id),
            customer: format!("{base}/api/v1/customers/{}", i.customer_id),
        });
        let billing_period =
            (!i.period_start.is_empty() || !i.period_end.is_empty()).then(|| PeriodJson {
                start: text(i.period_start.clone()),
                end: text(i.period_end.clone()),
            });
        Self {
            links,
            id: i.id,
            invoice_number: text(i.number),
            kind: name::<InvoiceKind>(i.kind),
            status: status_name(i.status),
            invoice_type: i.invoice_type,
            customer_id: i.customer_id,
            partner_id: i.partner_id,
            customer_name: i.customer_name,
            currency: i.currency,
            issue_date: text(i.issue_date),
            due_date: text(i.due_date),
            billing_period,
            line_items: i.line_items.into_iter().map(Into::into).collect(),
            tax_breakdown: i.tax_breakdown.into_iter().map(Into::into).collect(),
            subtotal: amount(i.subtotal),
            tax_amount: amount(i.tax_amount),
            total_amount: amount(i.total_amount),
            amount_paid: amount(i.amount_paid),
            amount_credited: amount(i.amount_credited),
            amount_due: amount(i.amount_due),
            overdue: i.overdue,
            days_overdue: i.days_overdue,
            credit_note_for: i.credit_note_for,
            tax_exempt: i.tax_exempt,
            tax_exempt_reference: text(i.tax_exempt_reference),
            notes: text(i.notes),
            reason: text(i.reason),
            created_at: timestamp(i.created_at),
            finalized_at: timestamp(i.finalized_at),
            paid_at: timestamp(i.paid_at),
            voided_at: timestamp(i.voided_at),
            updated_at: timestamp(i.updated_at),
        }
    }
}

/// A share of a payment on an invoice.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AllocationJson {
    /// The invoice.
    pub invoice_id: i64,
    /// Its number.
    pub invoice_number: Option<String>,
    /// How much of the payment went to it.
    #[schema(value_type = f64)]
    pub amount: Option<Box<RawValue>>,
}

impl From<PaymentAllocation> for AllocationJson {
    fn from(a: PaymentAllocation) -> Self {
        Self {
            invoice_id: a.invoice_id,
            invoice_number: text(a.invoice_number),
            amount: amount(a.amount),
        }
    }
}

/// A payment, refund or reversal.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PaymentJson {
    /// Id.
    pub id: i64,
    /// `payment`, `refund` or `reversal`.
    pub kind: Option<&'static str>,
    /// The customer.
    pub customer_id: i64,
    /// The customer's reseller.
    pub partner_id: Option<i64>,
    /// The amount (positive).
    #[schema(value_type = f64)]
    pub amount: Option<Box<RawValue>>,
    /// ISO 4217.
    pub currency: String,
    /// `cash`, `bank_transfer`, `card`, `mobile_money` or `other`.
    pub method: Option<&'static str>,
    /// The gateway.
    pub gateway: Option<String>,
    /// The gateway's transaction id.
    pub transaction_id: Option<String>,
    /// When paid.
    pub paid_at: Option<String>,
    /// The invoice it was made for.
    pub invoice_id: Option<i64>,
    /// Where it went.
    pub allocations: Vec<AllocationJson>,
    /// Not allocated: the customer's credit from it.
    #[schema(value_type = f64)]
    pub unallocated: Option<Box<RawValue>>,
    /// Refunded or reversed so far.
    #[schema(value_type = f64)]
    pub refunded: Option<Box<RawValue>>,
    /// For a refund or reversal: the payment.
    pub refund_of: Option<i64>,
    /// Notes, or the refund's reason.
    pub notes: Option<String>,
    /// Recorded.
    pub created_at: Option<String>,
    /// Links.
    pub links: Option<SelfLink>,
}

impl PaymentJson {
    pub(crate) fn new(p: Payment, base: &BaseUrl) -> Self {
        let currency = p
            .amount
            .as_ref()
            .map(|m| m.currency.clone())
            .unwrap_or_default();
        Self {
            links: SelfLink::new(base, "/api/v1/payments", p.id),
            id: p.id,
            kind: name::<PaymentKind>(p.kind),
            customer_id: p.customer_id,
            partner_id: p.partner_id,
            amount: amount(p.amount),
            currency,
            method: name::<PaymentMethod>(p.method),
            gateway: text(p.gateway),
            transaction_id: text(p.transaction_id),
            paid_at: timestamp(p.paid_at),
            invoice_id: p.invoice_id,
            allocations: p.allocations.into_iter().map(Into::into).collect(),
            unallocated: amount(p.unallocated),
            refunded: amount(p.refunded),
            refund_of: p.refund_of,
            notes: text(p.notes),
            created_at: timestamp(p.created_at),
        }
    }
}

/// One entry of a customer's ledger.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LedgerEntryJson {
    /// Id; entries are in id order.
    pub id: i64,
    /// When it took effect.
    pub occurred_at: Option<String>,
    /// `invoice`, `credit_note`, `payment`, `refund`, `reversal` or `invoice_voided`.
    pub kind: String,
    /// What it is.
    pub description: String,
    /// The invoice or credit note.
    pub invoice_id: Option<i64>,
    /// The payment, refund or reversal.
    pub payment_id: Option<i64>,
    /// What the customer owes more.
    #[schema(value_type = f64)]
    pub debit: Option<Box<RawValue>>,
    /// What the customer owes less.
    #[schema(value_type = f64)]
    pub credit: Option<Box<RawValue>>,
    /// The balance after it (positive: credit).
    #[schema(value_type = f64)]
    pub balance: Option<Box<RawValue>>,
}

impl From<LedgerEntry> for LedgerEntryJson {
    fn from(e: LedgerEntry) -> Self {
        Self {
            id: e.id,
            occurred_at: timestamp(e.occurred_at),
            kind: e.kind,
            description: e.description,
            invoice_id: e.invoice_id,
            payment_id: e.payment_id,
            debit: amount(e.debit),
            credit: amount(e.credit),
            balance: amount(e.balance),
        }
    }
}

/// Where a page of entries sits.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StatementMeta {
    /// The page.
    pub current_page: i32,
    /// Entries per page.
    pub per_page: i32,
    /// Entries in the range.
    pub total: i64,
    /// The last page.
    pub last_page: i32,
}

/// A customer's statement: the ledger between two days with the running balance.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StatementJson {
    /// The customer.
    pub customer_id: i64,
    /// ISO 4217.
    pub currency: String,
    /// First day; null: from the beginning.
    pub from: Option<String>,
    /// Last day; null: until now.
    pub to: Option<String>,
    /// The balance before the first day (positive: credit).
    #[schema(value_type = f64)]
    pub opening_balance: Option<Box<RawValue>>,
    /// The balance after the last day.
    #[schema(value_type = f64)]
    pub closing_balance: Option<Box<RawValue>>,
    /// Sum of debits in the range.
    #[schema(value_type = f64)]
    pub total_debit: Option<Box<RawValue>>,
    /// Sum of credits in the range.
    #[schema(value_type = f64)]
    pub total_credit: Option<Box<RawValue>>,
    /// The entries of the page, oldest first.
    pub entries: Vec<LedgerEntryJson>,
    /// Where the page sits.
    pub meta: StatementMeta,
}

/// A statement as the core answered it, with the range asked for.
pub(crate) struct Statement {
    pub answer: GetStatementResponse,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl From<Statement> for StatementJson {
    fn from(s: Statement) -> Self {
        let a = s.answer;
        let meta = a.meta.unwrap_or_default();
        Self {
            customer_id: a.customer_id,
            currency: a
                .closing_balance
                .as_ref()
                .map(|m| m.currency.clone())
                .unwrap_or_default(),
            from: s.from,
            to: s.to,
            opening_balance: amount(a.opening_balance),
            closing_balance: amount(a.closing_balance),
            total_debit: amount(a.total_debit),
            total_credit: amount(a.total_credit),
            entries: a.entries.into_iter().map(Into::into).collect(),
            meta: StatementMeta {
                current_page: meta.current_page,
                per_page: meta.per_page,
                total: meta.total,
                last_page: meta.last_page,
            },
        }
    }
}

/// What a run issues (a dry run: would issue) to one customer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RunInvoiceJson {
    /// The customer.
    pub customer_id: i64,
    /// Its name as the invoice prints it.
    pub customer_name: String,
    /// `invoice`, or `credit_note` when the credits outweigh the charges.
    pub kind: Option<&'static str>,
    /// The lines (id 0: nothing written).
    pub line_items: Vec<LineJson>,
    /// Sum of the lines' amounts.
    #[schema(value_type = f64)]
    pub subtotal: Option<Box<RawValue>>,
    /// Sum of their tax.
    #[schema(value_type = f64)]
    pub tax_amount: Option<Box<RawValue>>,
    /// subtotal + tax_amount.
    #[schema(value_type = f64)]
    pub total_amount: Option<Box<RawValue>>,
    /// ISO 4217.
    pub currency: String,
}

impl From<BillingRunInvoice> for RunInvoiceJson {
    fn from(i: BillingRunInvoice) -> Self {
        let currency = i
            .total_amount
            .as_ref()
            .map(|m| m.currency.clone())
            .unwrap_or_default();
        Self {
            customer_id: i.customer_id,
            customer_name: i.customer_name,
            kind: name::<InvoiceKind>(i.kind),
            line_items: i.line_items.into_iter().map(Into::into).collect(),
            subtotal: amount(i.subtotal),
            tax_amount: amount(i.tax_amount),
            total_amount: amount(i.total_amount),
            currency,
        }
    }
}

/// A billing run.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BillingRunJson {
    /// Id.
    pub id: i64,
    /// The billing date: service periods that begin on or before it are charged.
    pub date: String,
    /// A preview that wrote no invoice.
    pub dry_run: bool,
    /// `queued`, `running`, `completed` or `failed`.
    pub status: Option<&'static str>,
    /// `api` or `schedule`.
    pub trigger: String,
    /// Customers invoiced (dry: to be).
    pub customers_count: i64,
    /// Invoices issued.
    pub invoices_count: i64,
    /// Credit notes issued.
    pub credit_notes_count: i64,
    /// Lines written.
    pub lines_count: i64,
    /// Service periods charged.
    pub charges_count: i64,
    /// Services not charged: their plan's currency is not their customer's.
    pub skipped_count: i64,
    /// Net of the invoices minus that of the credit notes.
    #[schema(value_type = f64)]
    pub subtotal: Option<Box<RawValue>>,
    /// Their tax, likewise.
    #[schema(value_type = f64)]
    pub tax_amount: Option<Box<RawValue>>,
    /// subtotal + tax_amount.
    #[schema(value_type = f64)]
    pub total_amount: Option<Box<RawValue>>,
    /// ISO 4217.
    pub currency: String,
    /// From start to finish (so far, while running).
    pub duration_ms: i64,
    /// Times it was started (more than 1 after an interruption).
    pub attempts: i32,
    /// Why it failed.
    pub error: Option<String>,
    /// The durable job that runs it.
    pub job_id: Option<i64>,
    /// RFC 3339 UTC with microseconds.
    pub created_at: Option<String>,
    /// When it started.
    pub started_at: Option<String>,
    /// When it finished.
    pub finished_at: Option<String>,
    /// Dry runs: the invoices it would issue, by customer id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoices: Option<Vec<RunInvoiceJson>>,
    /// Dry runs: more would be issued than `invoices` lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview_truncated: Option<bool>,
    /// Links.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = SelfLink)]
    pub links: Option<SelfLink>,
}

impl BillingRunJson {
    /// The JSON of `run`; links start at `base`.
    pub(crate) fn new(r: BillingRun, base: &BaseUrl) -> Self {
        let status = match BillingRunStatus::try_from(r.status) {
            Ok(BillingRunStatus::Queued) => Some("queued"),
            Ok(BillingRunStatus::Running) => Some("running"),
            Ok(BillingRunStatus::Completed) => Some("completed"),
            Ok(BillingRunStatus::Failed) => Some("failed"),
            _ => None,
        };
        Self {
            links: SelfLink::new(base, "/api/v1/billing/runs", r.id),
            id: r.id,
            date: r.date,
            dry_run: r.dry_run,
            status,
            trigger: r.trigger,
            customers_count: r.customers_count,
            invoices_count: r.invoices_count,
            credit_notes_count: r.credit_notes_count,
            lines_count: r.lines_count,
            charges_count: r.charges_count,
            skipped_count: r.skipped_count,
            subtotal: amount(r.subtotal),
            tax_amount: amount(r.tax_amount),
            total_amount: amount(r.total_amount),
            currency: r.currency,
            duration_ms: r.duration_ms,
            attempts: r.attempts,
            error: text(r.error),
            job_id: r.job_id,
            created_at: timestamp(r.created_at),
            started_at: timestamp(r.started_at),
            finished_at: timestamp(r.finished_at),
            invoices: r
                .dry_run
                .then(|| r.invoices.into_iter().map(Into::into).collect()),
            preview_truncated: r.dry_run.then_some(r.preview_truncated),
        }
    }
}

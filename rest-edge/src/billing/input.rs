//! The bodies of tax rates, billing settings, invoices, credit notes and payments as field
//! tables. Amounts, quantities and rates go to the core as the exact text of their JSON
//! numbers; the core, which owns the currency's digits, reads and checks them.

use crate::envelope::FieldErrors;
use crate::json_input::{Field, Fields, as_integer, number_text};
use crate::resource::enum_number;
use crate::resource::fields::{Changes, FieldSpec, Kind, NON_BLANK, Rule, Text, field};

/// Largest amount in major units a body may name (the core refuses lines above 10^15
/// minor units).
const AMOUNT_MAX: i64 = 10_000_000_000_000;

/// A time the body gave, as the core reads it.
fn rfc3339(at: Option<prost_types::Timestamp>) -> String {
    at.and_then(|t| lastmile_proto::datetime(&t))
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .unwrap_or_default()
}
use lastmile_proto::RestName;
use lastmile_proto::v1::{
    BillingSettingsInput, CreditNoteInput, InvoiceInput, InvoiceLineInput, PaymentInput,
    PaymentMethod, RefundPaymentRequest, RunBillingRequest, TaxRateInput,
};
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};

/// Every field of a tax rate body.
pub(crate) const TAX_RATE_FIELDS: &[FieldSpec<TaxRateInput>] = &[
    field(
        "name",
        Kind::Text(|r, v| r.name = v.unwrap_or_default()),
        false,
        true,
        Rule::length(1, 50),
        "The name plans' tax classes refer to, e.g. `VAT`.",
    ),
    field(
        "rate_percent",
        Kind::Decimal(|r, v| r.rate_percent = v.unwrap_or_default()),
        false,
        true,
        Rule::range(0, 100).places(4),
        "Percent, 0-100, with up to 4 decimals.",
    ),
    field(
        "inclusive",
        Kind::Boolean(|r, v| r.inclusive = v),
        false,
        false,
        Rule::NONE,
        "Whether prices include the tax (default false).",
    ),
    field(
        "country",
        Kind::Text(|r, v| r.country = v.unwrap_or_default()),
        true,
        false,
        Rule::text(Text::Country),
        "ISO 3166 alpha-2 code; null or empty: any country.",
    ),
    field(
        "region",
        Kind::Text(|r, v| r.region = v.unwrap_or_default()),
        true,
        false,
        Rule::length(0, 100),
        "A region or state within the country; needs a country.",
    ),
    field(
        "active",
        Kind::Boolean(|r, v| r.active = v),
        false,
        false,
        Rule::NONE,
        "Inactive rates are not applied to new lines (default true).",
    ),
    field(
        "description",
        Kind::Text(|r, v| r.description = v.unwrap_or_default()),
        true,
        false,
        Rule::length(0, 500),
        "Up to 500 characters.",
    ),
];

/// At most `most` lines of up to 200 characters.
const fn lines_rule(most: usize) -> Rule {
    Rule {
        items: Some((0, most)),
        ..Rule::length(0, 200)
    }
}

/// Every field of the billing settings.
pub(crate) const SETTINGS_FIELDS: &[FieldSpec<BillingSettingsInput>] = &[
    field(
        "company_name",
        Kind::Text(|s, v| s.company_name = v.unwrap_or_default()),
        true,
        false,
        Rule::length(0, 200),
        "The issuer's name on invoices.",
    ),
    field(
        "company_address",
        Kind::Texts(|s, v| s.company_address = v.unwrap_or_default()),
        true,
        false,
        lines_rule(6),
        "The issuer's address, at most 6 lines of up to 200 characters.",
    ),
    field(
        "company_tax_id",
        Kind::Text(|s, v| s.company_tax_id = v.unwrap_or_default()),
        true,
        false,
        Rule::length(0, 50),
        "The issuer's tax id.",
    ),
    field(
        "company_email",
        Kind::Text(|s, v| s.company_email = v.unwrap_or_default()),
        true,
        false,
        Rule::text(Text::Email { optional: true }),
        "The issuer's e-mail: a valid address, or null.",
    ),
    field(
        "company_phone",
        Kind::Text(|s, v| s.company_phone = v.unwrap_or_default()),
        true,
        false,
        Rule::length(0, 50),
        "The issuer's phone.",
    ),
    field(
        "payment_instructions",
        Kind::Texts(|s, v| s.payment_instructions = v.unwrap_or_default()),
        true,
        false,
        lines_rule(8),
        "How to pay (bank, account, reference), at most 8 lines; printed at the foot.",
    ),
    field(
        "invoice_prefix",
        Kind::Text(|s, v| s.invoice_prefix = v.unwrap_or_default()),
        false,
        false,
        Rule::text(Text::Prefix),
        "1-10 letters, digits or hyphens, starting with a letter; `INV` numbers invoices \
         `INV-2026-000001`. New numbers only.",
    ),
    field(
        "credit_note_prefix",
        Kind::Text(|s, v| s.credit_note_prefix = v.unwrap_or_default()),
        false,
        false,
        Rule::text(Text::Prefix),
        "As the invoice prefix, and different from it (`CN`).",
    ),
    field(
        "payment_terms_days",
        Kind::Integer(|s, v| s.payment_terms_days = v.map(crate::json_input::saturate_i32)),
        false,
        false,
        Rule::range(0, 365),
        "Days from issue to due date when an invoice names none (default 14).",
    ),
    field(
        "reminder_days",
        Kind::Custom {
            read: read_reminder_days,
            schema: reminder_days_schema,
        },
        true,
        false,
        Rule::NONE,
        "Dunning reminders, in days relative to an invoice's due date (-3: three days before, \
         0: on the day, 7: a week after); at most 10, each -60 to 365; null or empty: none \
         (default [-3, 0, 7]).",
    ),
];

/// `reminder_days`: null, or an array of integers.
fn read_reminder_days(
    fields: &Fields<'_>,
    out: &mut Changes<BillingSettingsInput>,
    errors: &mut FieldErrors,
) {
    let Some(value) = fields.raw("reminder_days") else {
        return;
    };
    out.touch("reminder_days");
    match value {
        Value::Null => out.input.reminder_days = Vec::new(),
        Value::Array(items) => {
            let days: Option<Vec<i32>> = items
                .iter()
                .map(|v| as_integer(v).and_then(|d| i32::try_from(d).ok()))
                .collect();
            match days {
                Some(days) => out.input.reminder_days = days,
                None => errors.add(
                    "reminder_days",
                    "The reminder days must be an array of integers.",
                ),
            }
        }
        _ => errors.add(
            "reminder_days",
            "The reminder days must be an array of integers.",
        ),
    }
}

fn reminder_days_schema() -> RefOr<Schema> {
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(-60))
                .maximum(Some(365)),
        )
        .max_items(Some(10))
        .description(Some(
            "Days relative to the due date; duplicates are dropped.",
        ))
        .into()
}

/// Every field of a manual invoice body.
pub(crate) const INVOICE_FIELDS: &[FieldSpec<InvoiceInput>] = &[
    field(
        "customer_id",
        Kind::Integer(|i, v| i.customer_id = v.unwrap_or_default()),
        false,
        true,
        Rule::range(1, i64::MAX),
        "The customer billed.",
    ),
    field(
        "invoice_type",
        Kind::OneOf(INVOICE_TYPES, |i, v| i.invoice_type = v.unwrap_or_default()),
        false,
        false,
        Rule::NONE,
        "What it is for (default `manual`).",
    ),
    field(
        "billing_period",
        Kind::Custom {
            read: read_period,
            schema: period_schema,
        },
        true,
        false,
        Rule::NONE,
        "The period billed, `{start, end}` (days).",
    ),
    field(
        "period_start",
        Kind::Text(|i, v| i.period_start = v.unwrap_or_default()),
        true,
        false,
        Rule::DATE,
        "First day billed, `YYYY-MM-DD` (or `billing_period.start`).",
    ),
    field(
        "period_end",
        Kind::Text(|i, v| i.period_end = v.unwrap_or_default()),
        true,
        false,
        Rule::DATE,
        "Last day billed (or `billing_period.end`).",
    ),
    field(
        "due_date",
        Kind::Text(|i, v| i.due_date = v.unwrap_or_default()),
        true,
        false,
        Rule::DATE,
        "`YYYY-MM-DD`, not before the issue day; default: the issue day plus the payment \
         terms.",
    ),
    field(
        "line_items",
        Kind::Custom {
            read: read_lines,
            schema: lines_schema,
        },
        false,
        true,
        Rule::NONE,
        "1-200 lines. Each line's amount is unit amount x quantity x proration factor, \
         rounded half to even once; its tax comes from `tax_rate_id`, else from the tax \
         class of the service's plan.",
    ),
    field(
        "notes",
        Kind::Text(|i, v| i.notes = v.unwrap_or_default()),
        true,
        false,
        Rule::length(0, 1000),
        "Printed on the invoice.",
    ),
    field(
        "draft",
        Kind::Boolean(|i, v| i.draft = v.unwrap_or_default()),
        false,
        false,
        Rule::NONE,
        "Keep it as a draft (no number, not owed) instead of issuing it (default false).",
    ),
];

/// The invoice types a manual invoice may have.
pub(crate) const INVOICE_TYPES: &[&str] = &[
    "",
    "manual",
    "one_time",
    "recurring",
    "activation",
    "installation",
    "adjustment",
    "other",
];

/// `billing_period`: null, or `{start, end}`.
fn read_period(fields: &Fields<'_>, out: &mut Changes<InvoiceInput>, errors: &mut FieldErrors) {
    if let Field::Value(object) = fields.object("billing_period", errors) {
        out.touch("billing_period");
        let nested = Fields::nested(object, "billing_period");
        if let Some(start) = nested.string("start", errors).value() {
            out.input.period_start = start;
        }
        if let Some(end) = nested.string("end", errors).value() {
            out.input.period_end = end;
        }
    }
}

fn date_schema(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .description(Some(description))
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Date,
        )))
}

fn period_schema() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .description(Some("A period of days."))
        .property("start", date_schema("First day, `YYYY-MM-DD`."))
        .property("end", date_schema("Last day, `YYYY-MM-DD`."))
        .into()
}

/// `line_items`: an array of line objects; a member of the wrong JSON type is reported on
/// `line_items.<n>.<field>`.
fn read_lines(fields: &Fields<'_>, out: &mut Changes<InvoiceInput>, errors: &mut FieldErrors) {
    let Some(value) = fields.raw("line_items") else {
        return;
    };
    out.touch("line_items");
    let Value::Array(items) = value else {
        if !value.is_null() {
            errors.add("line_items", "The line items must be an array.");
        }
        return;
    };
    for (n, item) in items.iter().enumerate() {
        let key = |field: &str| format!("line_items.{n}.{field}");
        let Value::Object(object) = item else {
            errors.add(format!("line_items.{n}"), "Each line must be an object.");
            continue;
        };
        let mut line = InvoiceLineInput::default();
        let text = |name: &str, errors: &mut FieldErrors| match object.get(name) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => {
                errors.add(
                    key(name),
                    format!("The {} must be a string.", name.replace('_', " ")),
                );
                String::new()
            }
        };
        let decimal = |name: &str, errors: &mut FieldErrors| match object.get(name) {
            None | Some(Value::Null) => String::new(),
            Some(Value::Number(n)) => number_text(n),
            Some(_) => {
                errors.add(
                    key(name),
                    format!("The {} must be a number.", name.replace('_', " ")),
                );
                String::new()
            }
        };
        let id = |name: &str, errors: &mut FieldErrors| match object.get(name) {
            None | Some(Value::Null) => None,
            Some(v) if as_integer(v).is_some() => as_integer(v),
            Some(_) => {
                errors.add(
                    key(name),
                    format!("The {} must be an integer.", name.replace('_', " ")),
                );
                None
            }
        };
        line.description = text("description", errors);
        line.amount = decimal("amount", errors);
        line.quantity = decimal("quantity", errors);
        line.proration_factor = decimal("proration_factor", errors);
        line.service_id = id("service_id", errors);
        line.tax_rate_id = id("tax_rate_id", errors);
        line.period_start = text("period_start", errors);
        line.period_end = text("period_end", errors);
        out.input.line_items.push(line);
    }
}

fn lines_schema() -> RefOr<Schema> {
    let number = |description: &str| {
        ObjectBuilder::new()
            .schema_type(Type::Number)
            .description(Some(description))
    };
    let id = |description: &str| {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::Integer, Type::Null]))
            .minimum(Some(1))
            .description(Some(description))
    };
    let line = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "description",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(500))
                .pattern(Some(NON_BLANK))
                .description(Some("What it charges.")),
        )
        .property(
            "amount",
            number("Price of one unit, with at most the currency's digits; may be negative."),
        )
        .property(
            "quantity",
            number("More than 0, up to 3 decimals (default 1).")
                .exclusive_minimum(Some(0))
                .maximum(Some(1_000_000)),
        )
        .property(
            "proration_factor",
            number("0-1, up to 6 decimals (default 1).")
                .minimum(Some(0))
                .maximum(Some(1)),
        )
        .property("service_id", id("A service of the customer."))
        .property("tax_rate_id", id("An active tax rate."))
        .property("period_start", date_schema("First day charged."))
        .property("period_end", date_schema("Last day charged."))
        .required("description")
        .required("amount");
    ArrayBuilder::new()
        .items(line)
        .min_items(Some(1))
        .max_items(Some(200))
        .description(Some("The lines."))
        .into()
}

/// The fields of a credit note.
pub(crate) const CREDIT_NOTE_FIELDS: &[FieldSpec<CreditNoteInput>] = &[
    field(
        "amount",
        Kind::Decimal(|c, v| c.amount = v.unwrap_or_default()),
        true,
        false,
        Rule::above(0, AMOUNT_MAX),
        "The amount credited, tax included; null: all that is left to credit.",
    ),
    field(
        "reason",
        Kind::Text(|c, v| c.reason = v.unwrap_or_default()),
        false,
        true,
        Rule::length(1, 500),
        "Why; printed on the credit note.",
    ),
];

/// The fields of a reason (void, uncollectible).
pub(crate) const REASON_FIELDS: &[FieldSpec<String>] = &[field(
    "reason",
    Kind::Text(|r, v| *r = v.unwrap_or_default()),
    true,
    false,
    Rule::length(0, 500),
    "Why; kept with the invoice and in the audit log.",
)];

fn method(value: Option<String>) -> i32 {
    match value.as_deref() {
        None | Some("") => 0,
        Some(name) => enum_number::<PaymentMethod>(name),
    }
}

/// Every field of a payment body.
pub(crate) const PAYMENT_FIELDS: &[FieldSpec<PaymentInput>] = &[
    field(
        "customer_id",
        Kind::Integer(|p, v| p.customer_id = v.unwrap_or_default()),
        false,
        true,
        Rule::range(1, i64::MAX),
        "The paying customer.",
    ),
    field(
        "amount",
        Kind::Decimal(|p, v| p.amount = v.unwrap_or_default()),
        false,
        true,
        Rule::above(0, AMOUNT_MAX),
        "More than 0, with at most the currency's digits.",
    ),
    field(
        "method",
        Kind::OneOf(PaymentMethod::NAMES, |p, v| p.method = method(v)),
        false,
        true,
        Rule::NONE,
        "How it was paid.",
    ),
    field(
        "gateway",
        Kind::Text(|p, v| p.gateway = v.unwrap_or_default()),
        true,
        false,
        Rule::length(0, 50),
        "The gateway, e.g. `mpesa`.",
    ),
    field(
        "transaction_id",
        Kind::Text(|p, v| p.transaction_id = v.unwrap_or_default()),
        true,
        false,
        Rule::length(0, 200),
        "The gateway's transaction id: recorded once per gateway; a retry answers the \
         payment already recorded.",
    ),
    field(
        "paid_at",
        Kind::DateTime(|p, v| p.paid_at = rfc3339(v)),
        true,
        false,
        Rule::NONE,
        "RFC 3339, not in the future (default now).",
    ),
    field(
        "invoice_id",
        Kind::Integer(|p, v| p.invoice_id = v),
        true,
        false,
        Rule::range(1, i64::MAX),
        "An issued invoice of the customer, paid first; the rest goes to the oldest unpaid \
         invoices, then stays as credit.",
    ),
    field(
        "notes",
        Kind::Text(|p, v| p.notes = v.unwrap_or_default()),
        true,
        false,
        Rule::length(0, 1000),
        "Up to 1000 characters.",
    ),
];

/// What paying an invoice takes.
#[derive(Debug, Default, Clone)]
pub(crate) struct PayInput {
    pub amount: String,
    pub gateway: String,
    pub transaction_id: String,
    pub method: i32,
    pub paid_at: String,
}

/// The fields of `POST /invoices/{id}/pay`.
pub(crate) const PAY_FIELDS: &[FieldSpec<PayInput>] = &[
    field(
        "amount",
        Kind::Decimal(|p, v| p.amount = v.unwrap_or_default()),
        true,
        false,
        Rule::above(0, AMOUNT_MAX),
        "Default: the amount due.",
    ),
    field(
        "gateway",
        Kind::Text(|p, v| p.gateway = v.unwrap_or_default()),
        true,
        false,
        Rule::length(0, 50),
        "The gateway.",
    ),
    field(
        "transaction_id",
        Kind::Text(|p, v| p.transaction_id = v.unwrap_or_default()),
        true,
        false,
        Rule::length(0, 200),
        "The gateway's transaction id (recorded once per gateway).",
    ),
    field(
        "method",
        Kind::OneOf(PaymentMethod::NAMES, |p, v| p.method = method(v)),
        false,
        false,
        Rule::NONE,
        "How it was paid (default `other`).",
    ),
    field(
        "paid_at",
        Kind::DateTime(|p, v| p.paid_at = rfc3339(v)),
        true,
        false,
        Rule::NONE,
        "RFC 3339, not in the future (default now).",
    ),
];

/// The fields of a refund.
pub(crate) const REFUND_FIELDS: &[FieldSpec<RefundPaymentRequest>] = &[
    field(
        "amount",
        Kind::Decimal(|r, v| r.amount = v.unwrap_or_default()),
        true,
        false,
        Rule::above(0, AMOUNT_MAX),
        "Default: all that is not yet refunded. A reversal always takes the whole rest.",
    ),
    field(
        "reason",
        Kind::Text(|r, v| r.reason = v.unwrap_or_default()),
        false,
        true,
        Rule::length(1, 500),
        "Why.",
    ),
    field(
        "reversal",
        Kind::Boolean(|r, v| r.reversal = v.unwrap_or_default()),
        false,
        false,
        Rule::NONE,
        "A failed or charged-back payment rather than money given back (default false).",
    ),
];

/// Every field of a billing run body.
pub(crate) const RUN_FIELDS: &[FieldSpec<RunBillingRequest>] = &[
    field(
        "date",
        Kind::Text(|r, v| r.date = v.unwrap_or_default()),
        true,
        false,
        Rule::DATE,
        "The billing date, `YYYY-MM-DD`, not after today (default today): every service \
         period that begins on or before it and is not charged yet is charged.",
    ),
    field(
        "dry_run",
        Kind::Boolean(|r, v| r.dry_run = v.unwrap_or_default()),
        false,
        false,
        Rule::NONE,
        "Preview only: answer with the invoices the run would issue and write none (default \
         false).",
    ),
    field(
        "preview_limit",
        Kind::Integer(|r, v| r.preview_limit = v.map(|v| i32::try_from(v).unwrap_or(-1))),
        false,
        false,
        Rule::range(1, 1000),
        "Dry runs: how many customers' invoices to list (default 100).",
    ),
];

//! The deployment's billing settings: who issues the invoices, how to pay them, how they
//! are numbered and when they fall due. One row; the currency is the deployment's
//! configuration and only shown here.

use chrono::{DateTime, Utc};
use lastmile_proto::timestamp;
use lastmile_proto::v1 as pb;
use serde_json::{Map, Value, json};

use crate::audit::{self, Change};
use crate::auth::RequestContext;
use crate::clock::SharedClock;
use crate::db::{Conn, Db, Tx};
use crate::error::{FieldErrors, Result};
use crate::on_conn;

/// Every path an update may name.
pub const PATHS: [&str; 10] = [
    "company_name",
    "company_address",
    "company_tax_id",
    "company_email",
    "company_phone",
    "payment_instructions",
    "invoice_prefix",
    "credit_note_prefix",
    "payment_terms_days",
    "reminder_days",
];

/// The settings as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingSettings {
    /// Issuer's name.
    pub company_name: String,
    /// Issuer's address lines.
    pub company_address: Vec<String>,
    /// Issuer's tax id.
    pub company_tax_id: String,
    /// Issuer's e-mail.
    pub company_email: String,
    /// Issuer's phone.
    pub company_phone: String,
    /// How to pay, line by line.
    pub payment_instructions: Vec<String>,
    /// Invoice number prefix.
    pub invoice_prefix: String,
    /// Credit note number prefix.
    pub credit_note_prefix: String,
    /// Days from issue to due.
    pub payment_terms_days: i32,
    /// Dunning reminders, in days relative to the due date.
    pub reminder_days: Vec<i32>,
    /// Last change.
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct Row {
    company_name: String,
    company_address: String,
    company_tax_id: String,
    company_email: String,
    company_phone: String,
    payment_instructions: String,
    invoice_prefix: String,
    credit_note_prefix: String,
    payment_terms_days: i32,
    reminder_days: String,
    updated_at: Option<DateTime<Utc>>,
}

fn lines(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

impl From<Row> for BillingSettings {
    fn from(r: Row) -> Self {
        Self {
            company_name: r.company_name,
            company_address: lines(&r.company_address),
            company_tax_id: r.company_tax_id,
            company_email: r.company_email,
            company_phone: r.company_phone,
            payment_instructions: lines(&r.payment_instructions),
            invoice_prefix: r.invoice_prefix,
            credit_note_prefix: r.credit_note_prefix,
            payment_terms_days: r.payment_terms_days,
            reminder_days: serde_json::from_str(&r.reminder_days).unwrap_or_default(),
            updated_at: r.updated_at,
        }
    }
}

impl BillingSettings {
    fn audit_view(&self) -> Map<String, Value> {
        let value = json!({
            "company_name": self.company_name, "company_address": self.company_address,
            "company_tax_id": self.company_tax_id, "company_email": self.company_email,
            "company_phone": self.company_phone,
            "payment_instructions": self.payment_instructions,
            "invoice_prefix": self.invoice_prefix, "credit_note_prefix": self.credit_note_prefix,
            "payment_terms_days": self.payment_terms_days,
            "reminder_days": self.reminder_days,
        });
        value.as_object().cloned().unwrap_or_default()
    }

    /// The proto, with the deployment's `currency`.
    pub fn into_proto(self, currency: &str) -> pb::BillingSettings {
        pb::BillingSettings {
            currency: currency.to_owned(),
            company_name: self.company_name,
            company_address: self.company_address,
            company_tax_id: self.company_tax_id,
            company_email: self.company_email,
            company_phone: self.company_phone,
            payment_instructions: self.payment_instructions,
            invoice_prefix: self.invoice_prefix,
            credit_note_prefix: self.credit_note_prefix,
            payment_terms_days: self.payment_terms_days,
            reminder_days: self.reminder_days,
            updated_at: self.updated_at.map(timestamp),
        }
    }
}

/// The settings.
pub async fn load(conn: &mut Conn<'_>) -> Result<BillingSettings> {
    let row: Row = on_conn!(conn, c => sqlx::query_as(
        "SELECT company_name, company_address, company_tax_id, company_email, company_phone, \
         payment_instructions, invoice_prefix, credit_note_prefix, payment_terms_days, \
         reminder_days, updated_at \
         FROM billing_settings WHERE id = 1")
        .fetch_one(c).await)?;
    Ok(row.into())
}

fn text(value: &str, key: &str, label: &str, max: usize, errors: &mut FieldErrors) -> String {
    let value = value.trim();
    if value.chars().count() > max {
        errors.add(
            key,
            format!("The {label} may not be greater than {max} characters."),
        );
    }
    value.to_owned()
}

fn text_lines(
    values: &[String],
    key: &str,
    label: &str,
    most: usize,
    errors: &mut FieldErrors,
) -> Vec<String> {
    if values.len() > most {
        errors.add(
            key,
            format!("The {label} may not have more than {most} lines."),
        );
    }
    values
        .iter()
        .map(|v| text(v, key, label, 200, errors))
        .filter(|v| !v.is_empty())
        .collect()
}

fn prefix(value: &str, key: &str, label: &str, errors: &mut FieldErrors) -> String {
    let value = value.trim().to_uppercase();
    let valid = (1..=10).contains(&value.len())
        && value.starts_with(|c: char| c.is_ascii_alphabetic())
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !valid {
        errors.add(
            key,
            format!(
                "The {label} must be 1 to 10 letters, digits or hyphens, starting with a letter."
            ),
        );
    }
    value
}

/// `current` with the `selected` paths read from `input`, and every message.
pub fn read(
    current: &BillingSettings,
    input: &pb::BillingSettingsInput,
    selected: &[&str],
) -> (BillingSettings, FieldErrors) {
    let mut s = current.clone();
    let mut errors = FieldErrors::new();
    let has = |path: &str| selected.contains(&path);
    if has("company_name") {
        s.company_name = text(
            &input.company_name,
            "company_name",
            "company name",
            200,
            &mut errors,
        );
    }
    if has("company_address") {
        s.company_address = text_lines(
            &input.company_address,
            "company_address",
            "company address",
            6,
            &mut errors,
        );
    }
    if has("company_tax_id") {
        s.company_tax_id = text(
            &input.company_tax_id,
            "company_tax_id",
            "company tax id",
            50,
            &mut errors,
        );
    }
    if has("company_email") {
        match crate::fields::email(Some(&input.company_email)) {
            Ok(email) => s.company_email = email.unwrap_or_default(),
            Err(_) => errors.add(
                "company_email",
                "The company email must be a valid email address.",
            ),
        }
    }
    if has("company_phone") {
        s.company_phone = text(
            &input.company_phone,
            "company_phone",
            "company phone",
            50,
            &mut errors,
        );
    }
    if has("payment_instructions") {
        s.payment_instructions = text_lines(
            &input.payment_instructions,
            "payment_instructions",
            "payment instructions",
            8,
            &mut errors,
        );
    }
    if has("invoice_prefix") {
        s.invoice_prefix = prefix(
            &input.invoice_prefix,
            "invoice_prefix",
            "invoice prefix",
            &mut errors,
        );
    }
    if has("credit_note_prefix") {
        s.credit_note_prefix = prefix(
            &input.credit_note_prefix,
            "credit_note_prefix",
            "credit note prefix",
            &mut errors,
        );
    }
    if has("payment_terms_days") {
        match input.payment_terms_days {
            None => s.payment_terms_days = 14,
            Some(d) if (0..=365).contains(&d) => s.payment_terms_days = d,
            Some(_) => errors.add(
                "payment_terms_days",
                "The payment terms days must be between 0 and 365.",
            ),
        }
    }
    if has("reminder_days") {
        let mut days = input.reminder_days.clone();
        let given = days.len();
        days.sort_unstable();
        days.dedup();
        if given > 10 {
            errors.add(
                "reminder_days",
                "The reminder days may not have more than 10 entries.",
            );
        } else if days.iter().any(|d| !(-60..=365).contains(d)) {
            errors.add(
                "reminder_days",
                "Each reminder day must be between -60 and 365.",
            );
        }
        s.reminder_days = days;
    }
    if s.invoice_prefix == s.credit_note_prefix
        && (has("invoice_prefix") || has("credit_note_prefix"))
    {
        errors.add(
            "credit_note_prefix",
            "The credit note prefix must differ from the invoice prefix.",
        );
    }
    (s, errors)
}

/// The settings operations.
#[derive(Debug, Clone)]
pub struct Settings {
    db: Db,
    clock: SharedClock,
}

impl Settings {
    /// The operations over `db`.
    pub fn new(db: Db, clock: SharedClock) -> Self {
        Self { db, clock }
    }

    /// The settings.
    pub async fn get(&self) -> Result<BillingSettings> {
        load(&mut self.db.conn()).await
    }

    /// Checks an update; writes nothing.
    pub async fn validate(&self, input: &pb::BillingSettingsInput, paths: &[String]) -> Result<()> {
        let selected = super::selected_paths(paths, &PATHS)?;
        let current = self.get().await?;
        read(&current, input, &selected).1.into_result()
    }

    /// Changes the fields `paths` name inside `tx`.
    pub async fn update(
        &self,
        tx: &mut Tx,
        context: &RequestContext,
        input: &pb::BillingSettingsInput,
        paths: &[String],
    ) -> Result<BillingSettings> {
        let selected = super::selected_paths(paths, &PATHS)?;
        // The row stays locked to the end: a concurrent change waits and then reads this
        // one's result, so neither overwrites the other's fields.
        if tx.is_postgres() {
            on_conn!(&mut tx.conn(), c => sqlx::query(
                "SELECT id FROM billing_settings WHERE id = 1 FOR UPDATE")
                .execute(c).await.map(drop))?;
        }
        let current = load(&mut tx.conn()).await?;
        let (s, errors) = read(&current, input, &selected);
        errors.into_result()?;
        if s == current {
            return Ok(current);
        }
        let now = self.clock.now();
        let address = serde_json::to_string(&s.company_address).unwrap_or_else(|_| "[]".into());
        let instructions =
            serde_json::to_string(&s.payment_instructions).unwrap_or_else(|_| "[]".into());
        let reminders = serde_json::to_string(&s.reminder_days).unwrap_or_else(|_| "[]".into());
        on_conn!(&mut tx.conn(), c => sqlx::query(
            "UPDATE billing_settings SET company_name = $1, company_address = $2, \
             company_tax_id = $3, company_email = $4, company_phone = $5, \
             payment_instructions = $6, invoice_prefix = $7, credit_note_prefix = $8, \
             payment_terms_days = $9, updated_at = $10, reminder_days = $11 WHERE id = 1")
            .bind(&s.company_name).bind(address).bind(&s.company_tax_id).bind(&s.company_email)
            .bind(&s.company_phone).bind(instructions).bind(&s.invoice_prefix)
            .bind(&s.credit_note_prefix).bind(s.payment_terms_days).bind(now).bind(reminders)
            .execute(c).await.map(drop))?;
        let updated = load(&mut tx.conn()).await?;
        let change = Change::updated(
            "billing_settings.updated".into(),
            "billing_settings",
            1,
            &current.audit_view(),
            &updated.audit_view(),
        )
        .unpublished();
        audit::record(&mut tx.conn(), context, change, now).await?;
        Ok(updated)
    }
}

//! Billing, declared on the resource layer: `/api/v1/tax-rates`, `/api/v1/settings/billing`,
//! `/api/v1/invoices` (also `/api/v1/bills`, `POST /api/v1/billing/invoices`, and a
//! customer's at `/api/v1/customers/{id}/invoices`) with their commands and PDF,
//! `/api/v1/payments` (and a customer's) with refunds, and a customer's statement. No rule
//! lives here; the core decides.

mod input;
mod output;
mod pdf;

pub(crate) use output::{InvoiceJson, PaymentJson};
pub(crate) use pdf::{Doc as PdfDoc, routes as pdf_routes};

use crate::base_url::BaseUrl;
use crate::core_channel::Channel;
use crate::customers::{Customers, reference_text as reference};
use crate::envelope::ApiError;
use crate::resource::query::{date_parameter, id_parameter, invalid, path_id, text_parameter};
use crate::resource::{
    Answer, Body, Changes, Command, Create, Delete, Edit, FieldSpec, Get, List, ListIn, NoFields,
    QueryPairs, Report, ReportIn, Resource, Submit, Update,
};
use input::{
    CREDIT_NOTE_FIELDS, INVOICE_FIELDS, PAY_FIELDS, PAYMENT_FIELDS, PayInput, REASON_FIELDS,
    REFUND_FIELDS, RUN_FIELDS, SETTINGS_FIELDS, TAX_RATE_FIELDS,
};
use lastmile_proto::RestName;
use lastmile_proto::v1::billing_service_client::BillingServiceClient;
use lastmile_proto::v1::payment_service_client::PaymentServiceClient;
use lastmile_proto::v1::{
    BillingRun, GetBillingRunRequest, ListBillingRunsRequest, RunBillingRequest,
};
use lastmile_proto::v1::{
    BillingSettings, BillingSettingsInput, CreateCreditNoteRequest, CreateInvoiceRequest,
    CreatePaymentRequest, CreateTaxRateRequest, CreditNoteInput, CustomerRef, DeleteInvoiceRequest,
    DeleteTaxRateRequest, FinalizeInvoiceRequest, GetBillingSettingsRequest, GetInvoiceRequest,
    GetPaymentRequest, GetStatementRequest, GetTaxRateRequest, Invoice, InvoiceInput, InvoiceKind,
    ListInvoicesRequest, ListPaymentsRequest, ListTaxRatesRequest, MarkInvoiceUncollectibleRequest,
    PageMeta, PageRequest, PayInvoiceRequest, Payment, PaymentInput, PaymentKind, PaymentMethod,
    RefundPaymentRequest, RunDunningRequest, RunDunningResponse, TaxRate, TaxRateInput,
    UpdateBillingSettingsRequest, UpdateTaxRateRequest, VoidInvoiceRequest,
};
use output::{BillingRunJson, DunningJson, SettingsJson, Statement, StatementJson, TaxRateJson};
use utoipa::openapi::path::Parameter;

fn billing(core: Channel) -> BillingServiceClient<Channel> {
    BillingServiceClient::new(core)
}

fn payments(core: Channel) -> PaymentServiceClient<Channel> {
    PaymentServiceClient::new(core)
}

fn mask(changes: &Changes<impl Default>) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: changes.mask.clone(),
    })
}

// ---- tax rates ----

/// `/api/v1/tax-rates`.
pub(crate) struct TaxRates;

impl Resource for TaxRates {
    const PATH: &'static str = "/api/v1/tax-rates";
    const SINGULAR: &'static str = "tax_rate";
    const PLURAL: &'static str = "tax_rates";
    const TITLE: &'static str = "Tax rate";
    const ABOUT: &'static str = "Tax rates that plans' tax classes name, per country and region";
    type Item = TaxRate;
    type View = TaxRateJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        path_id(segment)
    }

    fn view(rate: TaxRate, base: &BaseUrl) -> TaxRateJson {
        TaxRateJson::new(rate, base)
    }
}

impl List for TaxRates {
    type Request = ListTaxRatesRequest;

    fn filters() -> Vec<Parameter> {
        vec![
            text_parameter(
                "active",
                "Only active (true) or inactive (false) rates.",
                &["true", "false"],
            ),
            text_parameter("name", "Only rates of this name (case-insensitive).", &[]),
        ]
    }

    fn request(page: PageRequest, query: &QueryPairs) -> Result<ListTaxRatesRequest, ApiError> {
        let active = query
            .choice("active", &["true", "false"])?
            .map(|v| v == "true");
        let name = Some(query.text("name")).filter(|n| !n.trim().is_empty());
        Ok(ListTaxRatesRequest {
            page: Some(page),
            active,
            name,
        })
    }

    async fn call(
        core: Channel,
        request: tonic::Request<ListTaxRatesRequest>,
    ) -> Answer<(Vec<TaxRate>, Option<PageMeta>)> {
        let answer = billing(core).list_tax_rates(request).await?.into_inner();
        Ok((answer.tax_rates, answer.meta))
    }
}

impl Get for TaxRates {
    type Request = GetTaxRateRequest;

    fn request(id: i64) -> GetTaxRateRequest {
        GetTaxRateRequest { id }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<GetTaxRateRequest>,
    ) -> Answer<Option<TaxRate>> {
        Ok(billing(core)
            .get_tax_rate(request)
            .await?
            .into_inner()
            .tax_rate)
    }
}

impl Body for TaxRates {
    type Input = TaxRateInput;
    const FIELDS: &'static [FieldSpec<TaxRateInput>] = TAX_RATE_FIELDS;
}

impl Create for TaxRates {
    type Request = CreateTaxRateRequest;

    fn request(changes: Changes<TaxRateInput>, validate_only: bool) -> CreateTaxRateRequest {
        CreateTaxRateRequest {
            tax_rate: Some(changes.input),
            validate_only,
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<CreateTaxRateRequest>,
    ) -> Answer<Option<TaxRate>> {
        Ok(billing(core)
            .create_tax_rate(request)
            .await?
            .into_inner()
            .tax_rate)
    }
}

impl Update for TaxRates {
    type Request = UpdateTaxRateRequest;

    fn request(
        id: i64,
        changes: Changes<TaxRateInput>,
        validate_only: bool,
    ) -> UpdateTaxRateRequest {
        UpdateTaxRateRequest {
            id,
            update_mask: mask(&changes),
            changes: Some(changes.input),
            validate_only,
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<UpdateTaxRateRequest>,
    ) -> Answer<Option<TaxRate>> {
        Ok(billing(core)
            .update_tax_rate(request)
            .await?
            .into_inner()
            .tax_rate)
    }
}

impl Delete for TaxRates {
    type Request = DeleteTaxRateRequest;

    fn request(id: i64) -> DeleteTaxRateRequest {
        DeleteTaxRateRequest { id }
    }

    async fn call(core: Channel, request: tonic::Request<DeleteTaxRateRequest>) -> Answer<()> {
        billing(core).delete_tax_rate(request).await?;
        Ok(())
    }
}

// ---- settings ----

/// `/api/v1/settings/billing`: one item.
pub(crate) struct Settings;

impl Resource for Settings {
    const PATH: &'static str = "/api/v1/settings/billing";
    const SINGULAR: &'static str = "billing_settings";
    const PLURAL: &'static str = "billing_settings";
    const TITLE: &'static str = "Billing settings";
    const ABOUT: &'static str =
        "Who issues the invoices, how to pay them, how they are numbered and when they fall due";
    type Item = BillingSettings;
    type View = SettingsJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        path_id(segment)
    }

    fn view(settings: BillingSettings, _: &BaseUrl) -> SettingsJson {
        settings.into()
    }
}

impl Report for Settings {
    type Request = GetBillingSettingsRequest;

    fn parameters() -> Vec<Parameter> {
        Vec::new()
    }

    fn request(_: &QueryPairs) -> Result<GetBillingSettingsRequest, ApiError> {
        Ok(GetBillingSettingsRequest {})
    }

    async fn call(
        core: Channel,
        request: tonic::Request<GetBillingSettingsRequest>,
    ) -> Answer<Option<BillingSettings>> {
        Ok(billing(core)
            .get_billing_settings(request)
            .await?
            .into_inner()
            .settings)
    }
}

impl Body for Settings {
    type Input = BillingSettingsInput;
    const FIELDS: &'static [FieldSpec<BillingSettingsInput>] = SETTINGS_FIELDS;
}

impl Edit for Settings {
    type Request = UpdateBillingSettingsRequest;

    fn request(
        changes: Changes<BillingSettingsInput>,
        validate_only: bool,
    ) -> UpdateBillingSettingsRequest {
        UpdateBillingSettingsRequest {
            update_mask: mask(&changes),
            changes: Some(changes.input),
            validate_only,
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<UpdateBillingSettingsRequest>,
    ) -> Answer<Option<BillingSettings>> {
        Ok(billing(core)
            .update_billing_settings(request)
            .await?
            .into_inner()
            .settings)
    }
}

// ---- invoices ----

/// An invoice's path key: its id, or its number (`INV-2026-000001`) where it is read.
const NUMBER_PATTERN: &str = "^([0-9]{1,19}|[A-Za-z][A-Za-z0-9-]{0,9}-[0-9]{4}-[0-9]{6,12})$";

fn invoice_key(segment: &str) -> Option<String> {
    if let Some(id) = path_id(segment) {
        return Some(id.to_string());
    }
    let (series, rest) = segment.rsplit_once('-').and_then(|(head, seq)| {
        let (series, year) = head.rsplit_once('-')?;
        Some((series, (year, seq)))
    })?;
    let (year, sequence) = rest;
    let valid = series.starts_with(|c: char| c.is_ascii_alphabetic())
        && series.len() <= 10
        && series
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        && year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && (6..=12).contains(&sequence.len())
        && sequence.bytes().all(|b| b.is_ascii_digit());
    valid.then(|| segment.to_owned())
}

/// The id a command needs: a number in the path is no id, so the core answers 404.
fn invoice_id(key: &str) -> i64 {
    key.parse().unwrap_or(0)
}

fn invoice_filters() -> Vec<Parameter> {
    vec![
        text_parameter(
            "status",
            "Only invoices in this status.",
            output::STATUS_NAMES,
        ),
        text_parameter(
            "kind",
            "Only invoices or only credit notes.",
            InvoiceKind::NAMES,
        ),
        id_parameter("customer_id", "Only this customer's."),
        text_parameter(
            "overdue",
            "Only overdue (true) or not overdue (false).",
            &["true", "false"],
        ),
        date_parameter(
            "issued_from",
            "Only issued on or after this day (YYYY-MM-DD).",
        ),
        date_parameter(
            "issued_to",
            "Only issued on or before this day (YYYY-MM-DD).",
        ),
    ]
}

fn invoice_list_request(
    page: PageRequest,
    query: &QueryPairs,
    customer: Option<String>,
) -> Result<ListInvoicesRequest, ApiError> {
    let status = match query.choice("status", output::STATUS_NAMES)? {
        None => 0,
        Some(name) => output::STATUS_NAMES
            .iter()
            .position(|n| *n == name)
            .map_or(0, |i| i32::try_from(i).unwrap_or(0) + 1),
    };
    let kind = query
        .choice("kind", InvoiceKind::NAMES)?
        .map_or(0, InvoiceKind::wire_number);
    let overdue = query
        .choice("overdue", &["true", "false"])?
        .map(|v| v == "true");
    let day = |name: &str| Some(query.text(name)).filter(|d| !d.trim().is_empty());
    let customer_id = match customer {
        Some(_) => None,
        None => query.id("customer_id")?,
    };
    Ok(ListInvoicesRequest {
        page: Some(page),
        customer,
        customer_id,
        status,
        kind,
        overdue,
        issued_from: day("issued_from"),
        issued_to: day("issued_to"),
    })
}

async fn invoice_list_call(
    core: Channel,
    request: tonic::Request<ListInvoicesRequest>,
) -> Answer<(Vec<Invoice>, Option<PageMeta>)> {
    let answer = billing(core).list_invoices(request).await?.into_inner();
    Ok((answer.invoices, answer.meta))
}

/// `/api/v1/invoices` (and its aliases).
pub(crate) struct Invoices;

impl Resource for Invoices {
    const PATH: &'static str = "/api/v1/invoices";
    const SINGULAR: &'static str = "invoice";
    const PLURAL: &'static str = "invoices";
    const TITLE: &'static str = "Invoice";
    const ABOUT: &'static str = "Invoices and credit notes: numbered when issued, immutable after";
    const ID: &'static str = "The invoice's id, or where it is read its number (`INV-2026-000001`); anything else is a 404.";
    const INTEGER_ID: bool = false;
    const ID_PATTERN: &'static str = NUMBER_PATTERN;
    type Item = Invoice;
    type View = InvoiceJson;
    type Key = String;

    fn key(segment: &str) -> Option<String> {
        invoice_key(segment)
    }

    fn view(invoice: Invoice, base: &BaseUrl) -> InvoiceJson {
        InvoiceJson::new(invoice, base)
    }
}

impl List for Invoices {
    type Request = ListInvoicesRequest;

    fn filters() -> Vec<Parameter> {
        invoice_filters()
    }

    fn request(page: PageRequest, query: &QueryPairs) -> Result<ListInvoicesRequest, ApiError> {
        invoice_list_request(page, query, None)
    }

    async fn call(
        core: Channel,
        request: tonic::Request<ListInvoicesRequest>,
    ) -> Answer<(Vec<Invoice>, Option<PageMeta>)> {
        invoice_list_call(core, request).await
    }
}

impl Get for Invoices {
    type Request = GetInvoiceRequest;

    fn request(invoice: String) -> GetInvoiceRequest {
        GetInvoiceRequest { invoice }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<GetInvoiceRequest>,
    ) -> Answer<Option<Invoice>> {
        Ok(billing(core)
            .get_invoice(request)
            .await?
            .into_inner()
            .invoice)
    }
}

impl Body for Invoices {
    type Input = InvoiceInput;
    const FIELDS: &'static [FieldSpec<InvoiceInput>] = INVOICE_FIELDS;
}

impl Create for Invoices {
    type Request = CreateInvoiceRequest;

    fn request(changes: Changes<InvoiceInput>, validate_only: bool) -> CreateInvoiceRequest {
        CreateInvoiceRequest {
            invoice: Some(changes.input),
            validate_only,
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<CreateInvoiceRequest>,
    ) -> Answer<Option<Invoice>> {
        Ok(billing(core)
            .create_invoice(request)
            .await?
            .into_inner()
            .invoice)
    }
}

impl Delete for Invoices {
    type Request = DeleteInvoiceRequest;
    const CONFLICT: Option<&'static str> =
        Some("Issued invoices are never deleted: void it or issue a credit note");

    fn request(key: String) -> DeleteInvoiceRequest {
        DeleteInvoiceRequest {
            id: invoice_id(&key),
        }
    }

    async fn call(core: Channel, request: tonic::Request<DeleteInvoiceRequest>) -> Answer<()> {
        billing(core).delete_invoice(request).await?;
        Ok(())
    }
}

/// `GET /api/v1/customers/{id}/invoices`.
pub(crate) struct CustomerInvoices;

impl Resource for CustomerInvoices {
    const PATH: &'static str = Invoices::PATH;
    const SINGULAR: &'static str = Invoices::SINGULAR;
    const PLURAL: &'static str = Invoices::PLURAL;
    const STEM: &'static str = "customer_invoice";
    const TITLE: &'static str = Invoices::TITLE;
    const ABOUT: &'static str = Invoices::ABOUT;
    type Item = Invoice;
    type View = InvoiceJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        path_id(segment)
    }

    fn view(invoice: Invoice, base: &BaseUrl) -> InvoiceJson {
        InvoiceJson::new(invoice, base)
    }
}

impl ListIn for CustomerInvoices {
    type In = Customers;
    const SEGMENT: &'static str = "invoices";
    type Request = ListInvoicesRequest;

    fn filters() -> Vec<Parameter> {
        invoice_filters()
            .into_iter()
            .filter(|p| p.name != "customer_id")
            .collect()
    }

    fn request(
        customer: CustomerRef,
        page: PageRequest,
        query: &QueryPairs,
    ) -> Result<ListInvoicesRequest, ApiError> {
        invoice_list_request(page, query, Some(reference(customer)))
    }

    async fn call(
        core: Channel,
        request: tonic::Request<ListInvoicesRequest>,
    ) -> Answer<(Vec<Invoice>, Option<PageMeta>)> {
        invoice_list_call(core, request).await
    }
}

/// `POST /api/v1/invoices/{id}/finalize`.
pub(crate) struct Finalize;

impl Command for Finalize {
    type On = Invoices;
    type Out = Invoices;
    const PATH: &'static str = "finalize";
    const OPERATION: &'static str = "finalize_invoice";
    const SUMMARY: &'static str = "Issues a draft: it gets the next number of its series and year \
                                   and the customer owes it.";
    const MESSAGE: &'static str = "Invoice issued successfully";
    const ERRORS: &'static [(u16, &'static str)] = &[(409, "Already issued")];
    type Request = FinalizeInvoiceRequest;

    fn request(key: String, _: &[i64]) -> FinalizeInvoiceRequest {
        FinalizeInvoiceRequest {
            id: invoice_id(&key),
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<FinalizeInvoiceRequest>,
    ) -> Answer<Option<Invoice>> {
        Ok(billing(core)
            .finalize_invoice(request)
            .await?
            .into_inner()
            .invoice)
    }
}

/// `POST /api/v1/invoices/{id}/void`.
pub(crate) struct Void;

impl Submit for Void {
    type On = Invoices;
    type Out = Invoices;
    type Input = String;
    const PATH: &'static str = "void";
    const OPERATION: &'static str = "void_invoice";
    const SUMMARY: &'static str = "Voids an issued invoice that has no payment and no credit \
                                   note; the customer's debit is reversed.";
    const MESSAGE: &'static str = "Invoice voided successfully";
    const FIELDS: &'static [FieldSpec<String>] = REASON_FIELDS;
    const ERRORS: &'static [(u16, &'static str)] =
        &[(409, "Paid, partly paid, credited, a draft or already void")];
    type Request = VoidInvoiceRequest;

    fn request(key: String, changes: Changes<String>) -> VoidInvoiceRequest {
        VoidInvoiceRequest {
            id: invoice_id(&key),
            reason: changes.input,
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<VoidInvoiceRequest>,
    ) -> Answer<Option<Invoice>> {
        Ok(billing(core)
            .void_invoice(request)
            .await?
            .into_inner()
            .invoice)
    }
}

/// `POST /api/v1/invoices/{id}/mark-uncollectible`.
pub(crate) struct MarkUncollectible;

impl Submit for MarkUncollectible {
    type On = Invoices;
    type Out = Invoices;
    type Input = String;
    const PATH: &'static str = "mark-uncollectible";
    const OPERATION: &'static str = "mark_invoice_uncollectible";
    const SUMMARY: &'static str = "Marks an open invoice uncollectible: still owed and payable, \
                                   no longer pursued.";
    const MESSAGE: &'static str = "Invoice marked uncollectible";
    const FIELDS: &'static [FieldSpec<String>] = REASON_FIELDS;
    const ERRORS: &'static [(u16, &'static str)] = &[(409, "Not an open invoice")];
    type Request = MarkInvoiceUncollectibleRequest;

    fn request(key: String, changes: Changes<String>) -> MarkInvoiceUncollectibleRequest {
        MarkInvoiceUncollectibleRequest {
            id: invoice_id(&key),
            reason: changes.input,
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<MarkInvoiceUncollectibleRequest>,
    ) -> Answer<Option<Invoice>> {
        Ok(billing(core)
            .mark_invoice_uncollectible(request)
            .await?
            .into_inner()
            .invoice)
    }
}

/// Credit notes answer under `data.credit_note`.
pub(crate) struct CreditNotes;

impl Resource for CreditNotes {
    const PATH: &'static str = Invoices::PATH;
    const SINGULAR: &'static str = "credit_note";
    const PLURAL: &'static str = "credit_notes";
    const TITLE: &'static str = "Credit note";
    const ABOUT: &'static str = Invoices::ABOUT;
    type Item = Invoice;
    type View = InvoiceJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        path_id(segment)
    }

    fn view(invoice: Invoice, base: &BaseUrl) -> InvoiceJson {
        InvoiceJson::new(invoice, base)
    }
}

/// `POST /api/v1/invoices/{id}/credit-notes`.
pub(crate) struct IssueCreditNote;

impl Submit for IssueCreditNote {
    type On = Invoices;
    type Out = CreditNotes;
    type Input = CreditNoteInput;
    const PATH: &'static str = "credit-notes";
    const OPERATION: &'static str = "create_credit_note";
    const SUMMARY: &'static str = "Issues a credit note against an issued invoice, for all that is \
                                   left or part of it: the only way to reduce an issued invoice. \
                                   It covers the invoice first; the rest is the customer's credit.";
    const MESSAGE: &'static str = "Credit note issued successfully";
    const STATUS: u16 = 201;
    const FIELDS: &'static [FieldSpec<CreditNoteInput>] = CREDIT_NOTE_FIELDS;
    const ERRORS: &'static [(u16, &'static str)] = &[(
        409,
        "A draft, a void invoice, a credit note, or fully credited",
    )];
    type Request = CreateCreditNoteRequest;

    fn request(key: String, changes: Changes<CreditNoteInput>) -> CreateCreditNoteRequest {
        CreateCreditNoteRequest {
            invoice_id: invoice_id(&key),
            credit_note: Some(changes.input),
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<CreateCreditNoteRequest>,
    ) -> Answer<Option<Invoice>> {
        Ok(billing(core)
            .create_credit_note(request)
            .await?
            .into_inner()
            .credit_note)
    }
}

/// `POST /api/v1/invoices/{id}/pay`.
pub(crate) struct Pay;

impl Submit for Pay {
    type On = Invoices;
    type Out = Payments;
    type Input = PayInput;
    const PATH: &'static str = "pay";
    const OPERATION: &'static str = "pay_invoice";
    const SUMMARY: &'static str = "Records a payment of the invoice (its amount due unless an \
                                   amount is given). A gateway's transaction is recorded once.";
    const MESSAGE: &'static str = "Payment recorded successfully";
    const STATUS: u16 = 201;
    const FIELDS: &'static [FieldSpec<PayInput>] = PAY_FIELDS;
    const ERRORS: &'static [(u16, &'static str)] = &[(409, "Void, a draft, or already paid")];
    type Request = PayInvoiceRequest;

    fn request(key: String, changes: Changes<PayInput>) -> PayInvoiceRequest {
        let p = changes.input;
        PayInvoiceRequest {
            invoice_id: invoice_id(&key),
            amount: p.amount,
            gateway: p.gateway,
            transaction_id: p.transaction_id,
            method: p.method,
            paid_at: p.paid_at,
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<PayInvoiceRequest>,
    ) -> Answer<Option<Payment>> {
        Ok(payments(core)
            .pay_invoice(request)
            .await?
            .into_inner()
            .payment)
    }
}

// ---- payments ----

/// `/api/v1/payments`.
pub(crate) struct Payments;

impl Resource for Payments {
    const PATH: &'static str = "/api/v1/payments";
    const SINGULAR: &'static str = "payment";
    const PLURAL: &'static str = "payments";
    const TITLE: &'static str = "Payment";
    const ABOUT: &'static str = "Payments, refunds and reversals: each a new entry of the \
                                 customer's ledger";
    type Item = Payment;
    type View = PaymentJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        path_id(segment)
    }

    fn view(payment: Payment, base: &BaseUrl) -> PaymentJson {
        PaymentJson::new(payment, base)
    }
}

fn payment_filters() -> Vec<Parameter> {
    vec![
        id_parameter("customer_id", "Only this customer's."),
        text_parameter("kind", "Only this kind.", PaymentKind::NAMES),
        text_parameter("method", "Only this method.", PaymentMethod::NAMES),
        id_parameter("invoice_id", "Only payments with a share of this invoice."),
    ]
}

fn payment_list_request(
    page: PageRequest,
    query: &QueryPairs,
    customer: Option<String>,
) -> Result<ListPaymentsRequest, ApiError> {
    let customer_id = match customer {
        Some(_) => None,
        None => query.id("customer_id")?,
    };
    Ok(ListPaymentsRequest {
        page: Some(page),
        customer,
        customer_id,
        kind: query
            .choice("kind", PaymentKind::NAMES)?
            .map_or(0, PaymentKind::wire_number),
        method: query
            .choice("method", PaymentMethod::NAMES)?
            .map_or(0, PaymentMethod::wire_number),
        invoice_id: query.id("invoice_id")?,
    })
}

async fn payment_list_call(
    core: Channel,
    request: tonic::Request<ListPaymentsRequest>,
) -> Answer<(Vec<Payment>, Option<PageMeta>)> {
    let answer = payments(core).list_payments(request).await?.into_inner();
    Ok((answer.payments, answer.meta))
}

impl List for Payments {
    type Request = ListPaymentsRequest;

    fn filters() -> Vec<Parameter> {
        payment_filters()
    }

    fn request(page: PageRequest, query: &QueryPairs) -> Result<ListPaymentsRequest, ApiError> {
        payment_list_request(page, query, None)
    }

    async fn call(
        core: Channel,
        request: tonic::Request<ListPaymentsRequest>,
    ) -> Answer<(Vec<Payment>, Option<PageMeta>)> {
        payment_list_call(core, request).await
    }
}

impl Get for Payments {
    type Request = GetPaymentRequest;

    fn request(id: i64) -> GetPaymentRequest {
        GetPaymentRequest { id }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<GetPaymentRequest>,
    ) -> Answer<Option<Payment>> {
        Ok(payments(core)
            .get_payment(request)
            .await?
            .into_inner()
            .payment)
    }
}

impl Body for Payments {
    type Input = PaymentInput;
    const FIELDS: &'static [FieldSpec<PaymentInput>] = PAYMENT_FIELDS;
}

impl Create for Payments {
    type Request = CreatePaymentRequest;

    fn request(changes: Changes<PaymentInput>, validate_only: bool) -> CreatePaymentRequest {
        CreatePaymentRequest {
            payment: Some(changes.input),
            validate_only,
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<CreatePaymentRequest>,
    ) -> Answer<Option<Payment>> {
        Ok(payments(core)
            .create_payment(request)
            .await?
            .into_inner()
            .payment)
    }
}

/// `GET /api/v1/customers/{id}/payments`.
pub(crate) struct CustomerPayments;

impl Resource for CustomerPayments {
    const PATH: &'static str = Payments::PATH;
    const SINGULAR: &'static str = Payments::SINGULAR;
    const PLURAL: &'static str = Payments::PLURAL;
    const STEM: &'static str = "customer_payment";
    const TITLE: &'static str = Payments::TITLE;
    const ABOUT: &'static str = Payments::ABOUT;
    type Item = Payment;
    type View = PaymentJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        path_id(segment)
    }

    fn view(payment: Payment, base: &BaseUrl) -> PaymentJson {
        PaymentJson::new(payment, base)
    }
}

impl ListIn for CustomerPayments {
    type In = Customers;
    const SEGMENT: &'static str = "payments";
    type Request = ListPaymentsRequest;

    fn filters() -> Vec<Parameter> {
        payment_filters()
            .into_iter()
            .filter(|p| p.name != "customer_id")
            .collect()
    }

    fn request(
        customer: CustomerRef,
        page: PageRequest,
        query: &QueryPairs,
    ) -> Result<ListPaymentsRequest, ApiError> {
        payment_list_request(page, query, Some(reference(customer)))
    }

    async fn call(
        core: Channel,
        request: tonic::Request<ListPaymentsRequest>,
    ) -> Answer<(Vec<Payment>, Option<PageMeta>)> {
        payment_list_call(core, request).await
    }
}

/// `POST /api/v1/payments/{id}/refund`.
pub(crate) struct Refund;

impl Submit for Refund {
    type On = Payments;
    type Out = Payments;
    type Input = RefundPaymentRequest;
    const PATH: &'static str = "refund";
    const OPERATION: &'static str = "refund_payment";
    const SUMMARY: &'static str = "Refunds all or part of a payment, or reverses it (failed or \
                                   charged back): a new entry. The payment's unapplied credit goes \
                                   first, then its shares of invoices, which are due again.";
    const MESSAGE: &'static str = "Refund recorded successfully";
    const STATUS: u16 = 201;
    const FIELDS: &'static [FieldSpec<RefundPaymentRequest>] = REFUND_FIELDS;
    const ERRORS: &'static [(u16, &'static str)] =
        &[(409, "Not a payment, or already fully refunded")];
    type Request = RefundPaymentRequest;

    fn request(id: i64, changes: Changes<RefundPaymentRequest>) -> RefundPaymentRequest {
        RefundPaymentRequest {
            payment_id: id,
            ..changes.input
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<RefundPaymentRequest>,
    ) -> Answer<Option<Payment>> {
        Ok(payments(core)
            .refund_payment(request)
            .await?
            .into_inner()
            .refund)
    }
}

// ---- dunning ----

/// `POST /api/v1/billing/dunning`: a dunning run now.
pub(crate) struct Dunning;

impl Resource for Dunning {
    const PATH: &'static str = "/api/v1/billing/dunning";
    const SINGULAR: &'static str = "dunning_run";
    const PLURAL: &'static str = "dunning_runs";
    const LINK: &'static str = "billing_dunning";
    const TITLE: &'static str = "Dunning run";
    const ABOUT: &'static str = "Reminders, suspension of customers past their grace, and their \
                                 reactivation once paid (the scheduler runs it every hour)";
    type Item = RunDunningResponse;
    type View = DunningJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        path_id(segment)
    }

    fn view(answer: RunDunningResponse, _: &BaseUrl) -> DunningJson {
        answer.into()
    }
}

impl Body for Dunning {
    type Input = NoFields;
    const FIELDS: &'static [FieldSpec<NoFields>] = &[];
    const VALIDATES: bool = false;
}

impl Create for Dunning {
    const STATUS: u16 = 200;
    const MESSAGE: Option<&'static str> = Some("Dunning run completed");
    type Request = RunDunningRequest;

    fn request(_: Changes<NoFields>, _: bool) -> RunDunningRequest {
        RunDunningRequest {}
    }

    async fn call(
        core: Channel,
        request: tonic::Request<RunDunningRequest>,
    ) -> Answer<Option<RunDunningResponse>> {
        Ok(Some(billing(core).run_dunning(request).await?.into_inner()))
    }
}

// ---- billing runs ----

/// `/api/v1/billing/runs`: recurring billing runs, their previews and their history.
pub(crate) struct BillingRuns;

impl Resource for BillingRuns {
    const PATH: &'static str = "/api/v1/billing/runs";
    const SINGULAR: &'static str = "billing_run";
    const PLURAL: &'static str = "billing_runs";
    const LINK: &'static str = "billing_runs";
    const TITLE: &'static str = "Billing run";
    const ABOUT: &'static str = "Recurring billing: each run charges every service period that \
                                 has begun and issues each customer one invoice (a dry run \
                                 previews it); the scheduler starts one every day";
    type Item = BillingRun;
    type View = BillingRunJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        path_id(segment)
    }

    fn view(run: BillingRun, base: &BaseUrl) -> BillingRunJson {
        BillingRunJson::new(run, base)
    }
}

impl List for BillingRuns {
    type Request = ListBillingRunsRequest;

    fn filters() -> Vec<Parameter> {
        Vec::new()
    }

    fn request(page: PageRequest, _: &QueryPairs) -> Result<ListBillingRunsRequest, ApiError> {
        Ok(ListBillingRunsRequest { page: Some(page) })
    }

    async fn call(
        core: Channel,
        request: tonic::Request<ListBillingRunsRequest>,
    ) -> Answer<(Vec<BillingRun>, Option<PageMeta>)> {
        let answer = billing(core).list_billing_runs(request).await?.into_inner();
        Ok((answer.billing_runs, answer.meta))
    }
}

impl Get for BillingRuns {
    type Request = GetBillingRunRequest;

    fn request(id: i64) -> GetBillingRunRequest {
        GetBillingRunRequest { id }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<GetBillingRunRequest>,
    ) -> Answer<Option<BillingRun>> {
        Ok(billing(core)
            .get_billing_run(request)
            .await?
            .into_inner()
            .billing_run)
    }
}

impl Body for BillingRuns {
    type Input = RunBillingRequest;
    const FIELDS: &'static [FieldSpec<RunBillingRequest>] = RUN_FIELDS;
    const VALIDATES: bool = false;
}

impl Create for BillingRuns {
    const MESSAGE: Option<&'static str> =
        Some("Billing run created: a dry run answers with its preview, a real run is queued");
    type Request = RunBillingRequest;

    fn request(changes: Changes<RunBillingRequest>, _: bool) -> RunBillingRequest {
        changes.input
    }

    async fn call(
        core: Channel,
        request: tonic::Request<RunBillingRequest>,
    ) -> Answer<Option<BillingRun>> {
        Ok(billing(core)
            .run_billing(request)
            .await?
            .into_inner()
            .billing_run)
    }
}

// ---- statement ----

/// `GET /api/v1/customers/{id}/statement`.
pub(crate) struct Statements;

impl Resource for Statements {
    const PATH: &'static str = "/api/v1/customers";
    const SINGULAR: &'static str = "statement";
    const PLURAL: &'static str = "statements";
    const TITLE: &'static str = "Statement";
    const ABOUT: &'static str = "A customer's ledger between two days, with the running balance";
    type Item = Statement;
    type View = StatementJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        path_id(segment)
    }

    fn view(statement: Statement, _: &BaseUrl) -> StatementJson {
        statement.into()
    }
}

impl ReportIn for Statements {
    type In = Customers;
    const SEGMENT: &'static str = "statement";
    type Request = GetStatementRequest;

    fn parameters() -> Vec<Parameter> {
        let mut parameters = vec![
            date_parameter("from", "First day (YYYY-MM-DD); default: the first entry."),
            date_parameter(
                "to",
                "Last day (YYYY-MM-DD); default: today. Before `from`: no entries.",
            ),
        ];
        parameters.extend(crate::resource::query::page_parameters());
        parameters
    }

    fn request(customer: CustomerRef, query: &QueryPairs) -> Result<GetStatementRequest, ApiError> {
        let page = query.page()?;
        let day = |name: &str| -> Result<String, ApiError> {
            let text = query.text(name);
            let text = text.trim();
            if text.is_empty() {
                return Ok(String::new());
            }
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(|d| d.to_string())
                .map_err(|_| {
                    invalid(&format!(
                        "The {name} parameter must be a date (YYYY-MM-DD)."
                    ))
                })
        };
        Ok(GetStatementRequest {
            customer: reference(customer),
            from: day("from")?,
            to: day("to")?,
            page: Some(page),
        })
    }

    async fn call(
        core: Channel,
        request: tonic::Request<GetStatementRequest>,
    ) -> Answer<Option<Statement>> {
        let from = Some(request.get_ref().from.clone()).filter(|d| !d.is_empty());
        let to = Some(request.get_ref().to.clone()).filter(|d| !d.is_empty());
        let answer = billing(core).get_statement(request).await?.into_inner();
        Ok(Some(Statement { answer, from, to }))
    }
}

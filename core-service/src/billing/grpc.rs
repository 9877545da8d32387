//! The gRPC adapters: `BillingService` and `PaymentService`. No rule and no SQL here.

use lastmile_proto::v1 as pb;
use pb::billing_service_server::{BillingService, BillingServiceServer};
use pb::payment_service_server::{PaymentService, PaymentServiceServer};
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::{Request, Response, Status};

use super::invoices::{self, InvoiceFilter, Invoices, parse_date};
use super::payments::{PaymentFilter, Payments};
use super::runs::{self, Runs};
use super::settings::Settings;
use super::tax_rates::TaxRates;
use super::{ledger, pdf};
use crate::Core;
use crate::auth::{RequestContext, context};
use crate::authz::{Operation, Resource, ServiceAccess, rule};
use crate::clock::SharedClock;
use crate::customers::{self, CustomerKey};
use crate::db::{Db, Tx};
use crate::error::Error;
use crate::paging::PageQuery;
use crate::tenancy::Tenancy;
use crate::write::{Step, Writes};

/// The billing service as the server registers it.
pub const BILLING: crate::domains::Domain = crate::domains::Domain {
    access: ServiceAccess {
        service: <BillingServiceServer<BillingGrpc> as NamedService>::NAME,
        methods: &[
            rule("CreateTaxRate", Resource::TaxRates, Operation::Create),
            rule("GetTaxRate", Resource::TaxRates, Operation::Read),
            rule("ListTaxRates", Resource::TaxRates, Operation::Read),
            rule("UpdateTaxRate", Resource::TaxRates, Operation::Update),
            rule("DeleteTaxRate", Resource::TaxRates, Operation::Delete),
            rule(
                "GetBillingSettings",
                Resource::BillingSettings,
                Operation::Read,
            ),
            rule(
                "UpdateBillingSettings",
                Resource::BillingSettings,
                Operation::Update,
            ),
            rule("CreateInvoice", Resource::Invoices, Operation::Create),
            rule("GetInvoice", Resource::Invoices, Operation::Read),
            rule("ListInvoices", Resource::Invoices, Operation::Read),
            rule("FinalizeInvoice", Resource::Invoices, Operation::Act),
            rule("VoidInvoice", Resource::Invoices, Operation::Act),
            rule(
                "MarkInvoiceUncollectible",
                Resource::Invoices,
                Operation::Act,
            ),
            rule("DeleteInvoice", Resource::Invoices, Operation::Delete),
            rule("CreateCreditNote", Resource::Invoices, Operation::Act),
            rule("GetInvoicePdf", Resource::Invoices, Operation::Read),
            rule("GetStatement", Resource::Invoices, Operation::Read),
            rule("RunDunning", Resource::Invoices, Operation::Act),
            rule("RunBilling", Resource::BillingRuns, Operation::Create),
            rule("GetBillingRun", Resource::BillingRuns, Operation::Read),
            rule("ListBillingRuns", Resource::BillingRuns, Operation::Read),
        ],
    },
    serve: serve_billing,
};

/// The payment service as the server registers it.
pub const PAYMENTS: crate::domains::Domain = crate::domains::Domain {
    access: ServiceAccess {
        service: <PaymentServiceServer<PaymentGrpc> as NamedService>::NAME,
        methods: &[
            rule("CreatePayment", Resource::Payments, Operation::Create),
            rule("PayInvoice", Resource::Payments, Operation::Create),
            rule("GetPayment", Resource::Payments, Operation::Read),
            rule("ListPayments", Resource::Payments, Operation::Read),
            rule("RefundPayment", Resource::Payments, Operation::Act),
        ],
    },
    serve: serve_payments,
};

fn serve_billing(core: &Core, routes: &mut RoutesBuilder) {
    routes.add_service(BillingServiceServer::new(BillingGrpc {
        tax_rates: TaxRates::new(core.db.clone(), core.clock.clone()),
        settings: Settings::new(core.db.clone(), core.clock.clone()),
        invoices: Invoices::new(core.db.clone(), core.clock.clone()),
        runs: Runs::new(core.db.clone(), core.clock.clone(), core.currency.clone()),
        currency: core.currency.clone(),
        customers: core.customers.clone(),
        clock: core.clock.clone(),
        db: core.db.clone(),
        writes: Writes::new(core.db.clone(), core.clock.clone()),
    }));
}

fn serve_payments(core: &Core, routes: &mut RoutesBuilder) {
    routes.add_service(PaymentServiceServer::new(PaymentGrpc {
        payments: Payments::new(core.db.clone(), core.clock.clone(), core.customers.clone()),
        clock: core.clock.clone(),
        writes: Writes::new(core.db.clone(), core.clock.clone()),
    }));
}

/// `lastmile.v1.BillingService`.
#[derive(Debug, Clone)]
pub struct BillingGrpc {
    tax_rates: TaxRates,
    runs: Runs,
    settings: Settings,
    invoices: Invoices,
    currency: String,
    customers: crate::customers::Customers,
    clock: SharedClock,
    db: Db,
    writes: Writes,
}

/// `lastmile.v1.PaymentService`.
#[derive(Debug, Clone)]
pub struct PaymentGrpc {
    payments: Payments,
    clock: SharedClock,
    writes: Writes,
}

fn paths(mask: Option<prost_types::FieldMask>) -> Vec<String> {
    mask.map(|m| m.paths).unwrap_or_default()
}

fn optional_day(text: &str, label: &str) -> Result<Option<chrono::NaiveDate>, Status> {
    match text.trim() {
        "" => Ok(None),
        t => parse_date(t).map(Some).ok_or_else(|| {
            Error::BadRequest(format!("The {label} must be a date (YYYY-MM-DD).")).into()
        }),
    }
}

#[tonic::async_trait]
impl BillingService for BillingGrpc {
    async fn create_tax_rate(
        &self,
        request: Request<pb::CreateTaxRateRequest>,
    ) -> Result<Response<pb::CreateTaxRateResponse>, Status> {
        let read = async |r: pb::CreateTaxRateRequest| {
            let input = r.tax_rate.unwrap_or_default();
            if r.validate_only {
                self.tax_rates.validate_create(&input).await?;
                return Ok(Step::Answer(pb::CreateTaxRateResponse::default()));
            }
            Ok(Step::Commit(input))
        };
        let change = async |tx: &mut Tx, context: &RequestContext, input: pb::TaxRateInput| {
            let rate = self.tax_rates.create(tx, context, &input).await?;
            Ok(pb::CreateTaxRateResponse {
                tax_rate: Some(rate.into()),
            })
        };
        self.writes.run(request, read, change).await
    }

    async fn get_tax_rate(
        &self,
        request: Request<pb::GetTaxRateRequest>,
    ) -> Result<Response<pb::GetTaxRateResponse>, Status> {
        let rate = self.tax_rates.get(request.get_ref().id).await?;
        Ok(Response::new(pb::GetTaxRateResponse {
            tax_rate: Some(rate.into()),
        }))
    }

    async fn list_tax_rates(
        &self,
        request: Request<pb::ListTaxRatesRequest>,
    ) -> Result<Response<pb::ListTaxRatesResponse>, Status> {
        let r = request.get_ref();
        let page = PageQuery::from_request(r.page)?;
        let page = self
            .tax_rates
            .list(page, r.active, r.name.as_deref())
            .await?;
        let meta = page.meta();
        Ok(Response::new(pb::ListTaxRatesResponse {
            tax_rates: page.items.into_iter().map(Into::into).collect(),
            meta: Some(meta),
        }))
    }

    async fn update_tax_rate(
        &self,
        request: Request<pb::UpdateTaxRateRequest>,
    ) -> Result<Response<pb::UpdateTaxRateResponse>, Status> {
        let read = async |r: pb::UpdateTaxRateRequest| {
            let input = r.changes.unwrap_or_default();
            Ok(Step::of(
                (r.id, input, paths(r.update_mask)),
                r.validate_only,
            ))
        };
        let change =
            async |tx: &mut Tx,
                   context: &RequestContext,
                   (id, input, paths): (i64, pb::TaxRateInput, Vec<String>)| {
                let rate = self
                    .tax_rates
                    .update(tx, context, id, &input, &paths)
                    .await?;
                Ok(pb::UpdateTaxRateResponse {
                    tax_rate: Some(rate.into()),
                })
            };
        self.writes.run(request, read, change).await
    }

    async fn delete_tax_rate(
        &self,
        request: Request<pb::DeleteTaxRateRequest>,
    ) -> Result<Response<pb::DeleteTaxRateResponse>, Status> {
        let read = async |r: pb::DeleteTaxRateRequest| Ok(Step::Commit(r.id));
        let change = async |tx: &mut Tx, context: &RequestContext, id: i64| {
            self.tax_rates.delete(tx, context, id).await?;
            Ok(pb::DeleteTaxRateResponse {})
        };
        self.writes.run(request, read, change).await
    }

    async fn get_billing_settings(
        &self,
        _request: Request<pb::GetBillingSettingsRequest>,
    ) -> Result<Response<pb::GetBillingSettingsResponse>, Status> {
        let settings = self.settings.get().await?;
        Ok(Response::new(pb::GetBillingSettingsResponse {
            settings: Some(settings.into_proto(&self.currency)),
        }))
    }

    async fn update_billing_settings(
        &self,
        request: Request<pb::UpdateBillingSettingsRequest>,
    ) -> Result<Response<pb::UpdateBillingSettingsResponse>, Status> {
        let read = async |r: pb::UpdateBillingSettingsRequest| {
            let input = r.changes.unwrap_or_default();
            let paths = paths(r.update_mask);
            if r.validate_only {
                self.settings.validate(&input, &paths).await?;
                return Ok(Step::Answer(pb::UpdateBillingSettingsResponse::default()));
            }
            Ok(Step::Commit((input, paths)))
        };
        let change =
            async |tx: &mut Tx,
                   context: &RequestContext,
                   (input, paths): (pb::BillingSettingsInput, Vec<String>)| {
                let settings = self.settings.update(tx, context, &input, &paths).await?;
                Ok(pb::UpdateBillingSettingsResponse {
                    settings: Some(settings.into_proto(&self.currency)),
                })
            };
        self.writes.run(request, read, change).await
    }

    async fn create_invoice(
        &self,
        request: Request<pb::CreateInvoiceRequest>,
    ) -> Result<Response<pb::CreateInvoiceResponse>, Status> {
        let checking = context(&request)?.clone();
        let read = async |r: pb::CreateInvoiceRequest| {
            let input = r.invoice.unwrap_or_default();
            if r.validate_only {
                self.invoices.validate_create(&checking, &input).await?;
                return Ok(Step::Answer(pb::CreateInvoiceResponse::default()));
            }
            Ok(Step::Commit(input))
        };
        let change = async |tx: &mut Tx, context: &RequestContext, input: pb::InvoiceInput| {
            let invoice = self.invoices.create(tx, context, &input).await?;
            Ok(pb::CreateInvoiceResponse {
                invoice: Some(invoices::into_proto(invoice, self.invoices.today())),
            })
        };
        self.writes.run(request, read, change).await
    }

    async fn get_invoice(
        &self,
        request: Request<pb::GetInvoiceRequest>,
    ) -> Result<Response<pb::GetInvoiceResponse>, Status> {
        let context = context(&request)?;
        let invoice = self
            .invoices
            .get(context, &request.get_ref().invoice)
            .await?;
        Ok(Response::new(pb::GetInvoiceResponse {
            invoice: Some(invoices::into_proto(invoice, self.invoices.today())),
        }))
    }

    async fn list_invoices(
        &self,
        request: Request<pb::ListInvoicesRequest>,
    ) -> Result<Response<pb::ListInvoicesResponse>, Status> {
        let context = context(&request)?;
        let r = request.get_ref();
        let filter = InvoiceFilter::from_request(r)?;
        let page = PageQuery::from_request(r.page)?;
        let customer = r
            .customer
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty());
        let page = self.invoices.list(context, customer, filter, page).await?;
        let meta = page.meta();
        let today = self.invoices.today();
        Ok(Response::new(pb::ListInvoicesResponse {
            invoices: page
                .items
                .into_iter()
                .map(|i| invoices::into_proto(i, today))
                .collect(),
            meta: Some(meta),
        }))
    }

    async fn finalize_invoice(
        &self,
        request: Request<pb::FinalizeInvoiceRequest>,
    ) -> Result<Response<pb::FinalizeInvoiceResponse>, Status> {
        let read = async |r: pb::FinalizeInvoiceRequest| Ok(Step::Commit(r.id));
        let change = async |tx: &mut Tx, context: &RequestContext, id: i64| {
            let invoice = self.invoices.finalize(tx, context, id).await?;
            Ok(pb::FinalizeInvoiceResponse {
                invoice: Some(invoices::into_proto(invoice, self.invoices.today())),
            })
        };
        self.writes.run(request, read, change).await
    }

    async fn void_invoice(
        &self,
        request: Request<pb::VoidInvoiceRequest>,
    ) -> Result<Response<pb::VoidInvoiceResponse>, Status> {
        let read = async |r: pb::VoidInvoiceRequest| Ok(Step::Commit((r.id, r.reason)));
        let change = async |tx: &mut Tx, context: &RequestContext, (id, reason): (i64, String)| {
            let invoice = self.invoices.void(tx, context, id, &reason).await?;
            Ok(pb::VoidInvoiceResponse {
                invoice: Some(invoices::into_proto(invoice, self.invoices.today())),
            })
        };
        self.writes.run(request, read, change).await
    }

    async fn mark_invoice_uncollectible(
        &self,
        request: Request<pb::MarkInvoiceUncollectibleRequest>,
    ) -> Result<Response<pb::MarkInvoiceUncollectibleResponse>, Status> {
        let read =
            async |r: pb::MarkInvoiceUncollectibleRequest| Ok(Step::Commit((r.id, r.reason)));
        let change = async |tx: &mut Tx, context: &RequestContext, (id, reason): (i64, String)| {
            let invoice = self
                .invoices
                .mark_uncollectible(tx, context, id, &reason)
                .await?;
            Ok(pb::MarkInvoiceUncollectibleResponse {
                invoice: Some(invoices::into_proto(invoice, self.invoices.today())),
            })
        };
        self.writes.run(request, read, change).await
    }

    async fn delete_invoice(
        &self,
        request: Request<pb::DeleteInvoiceRequest>,
    ) -> Result<Response<pb::DeleteInvoiceResponse>, Status> {
        let read = async |r: pb::DeleteInvoiceRequest| Ok(Step::Commit(r.id));
        let change = async |tx: &mut Tx, context: &RequestContext, id: i64| {
            self.invoices.delete(tx, context, id).await?;
            Ok(pb::DeleteInvoiceResponse {})
        };
        self.writes.run(request, read, change).await
    }

    async fn create_credit_note(
        &self,
        request: Request<pb::CreateCreditNoteRequest>,
    ) -> Result<Response<pb::CreateCreditNoteResponse>, Status> {
        let read = async |r: pb::CreateCreditNoteRequest| {
            Ok(Step::Commit((
                r.invoice_id,
                r.credit_note.unwrap_or_default(),
            )))
        };
        let change = async |tx: &mut Tx,
                            context: &RequestContext,
                            (id, input): (i64, pb::CreditNoteInput)| {
            let note = self.invoices.credit(tx, context, id, &input).await?;
            Ok(pb::CreateCreditNoteResponse {
                credit_note: Some(invoices::into_proto(note, self.invoices.today())),
            })
        };
        self.writes.run(request, read, change).await
    }

    async fn get_invoice_pdf(
        &self,
        request: Request<pb::GetInvoicePdfRequest>,
    ) -> Result<Response<pb::GetInvoicePdfResponse>, Status> {
        let context = context(&request)?;
        let (invoice, settings) = self
            .invoices
            .document(context, request.get_ref().id)
            .await?;
        let file_name = format!(
            "{}.pdf",
            invoice
                .number
                .clone()
                .unwrap_or_else(|| format!("draft-{}", invoice.id))
        );
        let document = pdf_document(invoice, settings);
        let bytes = tokio::task::spawn_blocking(move || pdf::render(&document))
            .await
            .map_err(|e| Error::Internal(anyhow::anyhow!("rendering task: {e}")))?
            .map_err(|e| Error::Internal(anyhow::anyhow!("rendering the PDF: {e}")))?;
        Ok(Response::new(pb::GetInvoicePdfResponse {
            pdf: bytes,
            file_name,
        }))
    }

    async fn get_statement(
        &self,
        request: Request<pb::GetStatementRequest>,
    ) -> Result<Response<pb::GetStatementResponse>, Status> {
        let context = context(&request)?;
        let r = request.get_ref();
        let from = optional_day(&r.from, "from")?;
        let to = optional_day(&r.to, "to")?;
        let page = PageQuery::from_request(r.page)?;
        let tenancy = Tenancy::of(&context.principal);
        let mut conn = self.db.conn();
        let customer = customers::resolve(
            &mut conn,
            tenancy,
            &CustomerKey::Reference(r.customer.trim().to_owned()),
        )
        .await?;
        let answer =
            ledger::statement(&mut conn, customer.id, &customer.currency, from, to, page).await?;
        Ok(Response::new(answer))
    }

    async fn run_dunning(
        &self,
        _request: Request<pb::RunDunningRequest>,
    ) -> Result<Response<pb::RunDunningResponse>, Status> {
        let report = super::dunning::run(&self.db, &self.clock, &self.customers).await?;
        Ok(Response::new(pb::RunDunningResponse {
            reminders: report
                .reminders
                .into_iter()
                .map(|(invoice_id, offset_days)| pb::DunningReminder {
                    invoice_id,
                    offset_days,
                })
                .collect(),
            suspended_customer_ids: report.suspended,
            reactivated_customer_ids: report.reactivated,
            run_at: Some(lastmile_proto::timestamp(report.run_at)),
        }))
    }

    async fn run_billing(
        &self,
        request: Request<pb::RunBillingRequest>,
    ) -> Result<Response<pb::RunBillingResponse>, Status> {
        let read = async |r: pb::RunBillingRequest| {
            let (date, limit) = self.runs.check(&r)?;
            if r.dry_run {
                let run = self.runs.preview(date, limit).await?;
                return Ok(Step::Answer(pb::RunBillingResponse {
                    billing_run: Some(runs::into_proto(run, self.runs.now())),
                }));
            }
            Ok(Step::Commit(date))
        };
        let change = async |tx: &mut Tx, context: &RequestContext, date| {
            let run = self.runs.queue(tx, context, date).await?;
            Ok(pb::RunBillingResponse {
                billing_run: Some(runs::into_proto(run, self.runs.now())),
            })
        };
        self.writes.run(request, read, change).await
    }

    async fn get_billing_run(
        &self,
        request: Request<pb::GetBillingRunRequest>,
    ) -> Result<Response<pb::GetBillingRunResponse>, Status> {
        let run = self.runs.get(request.get_ref().id).await?;
        Ok(Response::new(pb::GetBillingRunResponse {
            billing_run: Some(runs::into_proto(run, self.runs.now())),
        }))
    }

    async fn list_billing_runs(
        &self,
        request: Request<pb::ListBillingRunsRequest>,
    ) -> Result<Response<pb::ListBillingRunsResponse>, Status> {
        let page = PageQuery::from_request(request.get_ref().page)?;
        let (items, total) = self.runs.list(page).await?;
        let now = self.runs.now();
        Ok(Response::new(pb::ListBillingRunsResponse {
            billing_runs: items
                .into_iter()
                .map(|r| runs::into_proto(r, now))
                .collect(),
            meta: Some(page.meta(total)),
        }))
    }
}

/// The printable document of `invoice`.
fn pdf_document(
    invoice: invoices::Invoice,
    settings: super::settings::BillingSettings,
) -> pdf::InvoiceDocument {
    let taxes = invoice
        .tax_breakdown()
        .into_iter()
        .map(|(_, name, rate, _, net, tax)| pdf::TaxLine {
            label: format!("{name} {}%", super::tax_rates::percent_text(rate)),
            net,
            tax,
        })
        .collect();
    let amount_due = invoice.amount_due();
    let kind = match invoice.kind {
        invoices::Kind::Invoice => pdf::DocumentKind::Invoice,
        invoices::Kind::CreditNote => pdf::DocumentKind::CreditNote,
    };
    let mut customer_lines = invoice.customer_address.clone();
    if !invoice.tax_exempt_reference.is_empty() {
        customer_lines.push(format!("Tax exempt: {}", invoice.tax_exempt_reference));
    }
    let mut company_lines = settings.company_address.clone();
    company_lines.extend(
        [
            settings.company_email.clone(),
            settings.company_phone.clone(),
        ]
        .into_iter()
        .filter(|l| !l.is_empty()),
    );
    pdf::InvoiceDocument {
        kind,
        number: invoice.number.clone().unwrap_or_default(),
        issued_on: invoice
            .issue_date
            .unwrap_or_else(|| crate::billing::day(invoice.created_at)),
        due_on: invoice.due_date,
        period: invoice.period_start.zip(invoice.period_end),
        minor_digits: lastmile_proto::minor_digits(&invoice.currency),
        currency: invoice.currency.clone(),
        company: pdf::Party {
            name: settings.company_name.clone(),
            lines: company_lines,
            tax_id: Some(settings.company_tax_id.clone()).filter(|t| !t.is_empty()),
        },
        customer: pdf::Party {
            name: invoice.customer_name.clone(),
            lines: customer_lines,
            tax_id: None,
        },
        lines: invoice
            .lines
            .iter()
            .map(|l| pdf::DocumentLine {
                description: l.description.clone(),
                period: l.period_start.zip(l.period_end),
                quantity: super::decimal_text(l.quantity_milli, 3),
                unit_amount: l.unit_minor,
                tax_label: if l.tax_name.is_empty() {
                    String::new()
                } else {
                    format!(
                        "{} {}%",
                        l.tax_name,
                        super::tax_rates::percent_text(l.tax_rate)
                    )
                },
                amount: l.net_minor,
            })
            .collect(),
        taxes,
        subtotal: invoice.subtotal_minor,
        tax_amount: invoice.tax_minor,
        total: invoice.total_minor,
        amount_paid: invoice.paid_minor + invoice.credited_minor,
        amount_due,
        payment_instructions: settings.payment_instructions,
        notes: Some(invoice.notes).filter(|n| !n.is_empty()),
    }
}

#[tonic::async_trait]
impl PaymentService for PaymentGrpc {
    async fn create_payment(
        &self,
        request: Request<pb::CreatePaymentRequest>,
    ) -> Result<Response<pb::CreatePaymentResponse>, Status> {
        let checking = context(&request)?.clone();
        let read = async |r: pb::CreatePaymentRequest| {
            let input = r.payment.unwrap_or_default();
            if r.validate_only {
                self.payments.validate_create(&checking, &input).await?;
                return Ok(Step::Answer(pb::CreatePaymentResponse::default()));
            }
            Ok(Step::Commit(input))
        };
        let change = async |tx: &mut Tx, context: &RequestContext, input: pb::PaymentInput| {
            let payment = self.payments.create(tx, context, &input).await?;
            Ok(pb::CreatePaymentResponse {
                payment: Some(payment),
            })
        };
        self.writes.run(request, read, change).await
    }

    async fn pay_invoice(
        &self,
        request: Request<pb::PayInvoiceRequest>,
    ) -> Result<Response<pb::PayInvoiceResponse>, Status> {
        let read = async |r: pb::PayInvoiceRequest| Ok(Step::Commit(r));
        let change = async |tx: &mut Tx, context: &RequestContext, r: pb::PayInvoiceRequest| {
            let (payment, invoice) = self.payments.pay_invoice(tx, context, &r).await?;
            Ok(pb::PayInvoiceResponse {
                payment: Some(payment),
                invoice: Some(invoices::into_proto(
                    invoice,
                    crate::billing::day(self.clock.now()),
                )),
            })
        };
        self.writes.run(request, read, change).await
    }

    async fn get_payment(
        &self,
        request: Request<pb::GetPaymentRequest>,
    ) -> Result<Response<pb::GetPaymentResponse>, Status> {
        let context = context(&request)?;
        let payment = self.payments.get(context, request.get_ref().id).await?;
        Ok(Response::new(pb::GetPaymentResponse {
            payment: Some(payment),
        }))
    }

    async fn list_payments(
        &self,
        request: Request<pb::ListPaymentsRequest>,
    ) -> Result<Response<pb::ListPaymentsResponse>, Status> {
        let context = context(&request)?;
        let r = request.get_ref();
        let filter = PaymentFilter::from_request(r)?;
        let page = PageQuery::from_request(r.page)?;
        let customer = r
            .customer
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty());
        let page = self.payments.list(context, customer, filter, page).await?;
        let meta = page.meta();
        Ok(Response::new(pb::ListPaymentsResponse {
            payments: page.items,
            meta: Some(meta),
        }))
    }

    async fn refund_payment(
        &self,
        request: Request<pb::RefundPaymentRequest>,
    ) -> Result<Response<pb::RefundPaymentResponse>, Status> {
        let read = async |r: pb::RefundPaymentRequest| Ok(Step::Commit(r));
        let change = async |tx: &mut Tx, context: &RequestContext, r: pb::RefundPaymentRequest| {
            let refund = self.payments.refund(tx, context, &r).await?;
            Ok(pb::RefundPaymentResponse {
                refund: Some(refund),
            })
        };
        self.writes.run(request, read, change).await
    }
}

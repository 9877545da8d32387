//! `GET /api/v1/invoices/{id}/pdf`: the invoice as the A4 PDF the core renders, answered
//! as a download.

use crate::credentials::Caller;
use crate::envelope::{ApiError, ErrorBody};
use crate::resource::query::path_id;
use crate::{AppState, ModuleRoutes};
use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use lastmile_proto::v1::GetInvoicePdfRequest;
use lastmile_proto::v1::billing_service_client::BillingServiceClient;
use utoipa::OpenApi;

/// Returns an invoice or credit note as an A4 PDF (company and customer blocks, number,
/// dates, lines, tax per rate, totals, amount due, payment instructions).
#[utoipa::path(
    get,
    path = "/api/v1/invoices/{id}/pdf",
    operation_id = "get_invoice_pdf",
    tag = "invoices",
    params(("id" = i64, Path, description = "The invoice's id (a positive 64-bit integer; anything else is a 404).", minimum = 1)),
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 200, description = "The PDF", content_type = "application/pdf", body = Vec<u8>),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "Invoice not found", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn invoice_pdf(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = path
        .ok()
        .and_then(|Path(segment)| path_id(&segment))
        .ok_or_else(|| ApiError::not_found("Invoice not found"))?;
    let answer = BillingServiceClient::new(state.core.clone())
        .get_invoice_pdf(caller.request(GetInvoicePdfRequest { id })?)
        .await?
        .into_inner();
    // The name is the invoice number: letters, digits and hyphens only.
    let file_name: String = answer
        .file_name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
        .collect();
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/pdf"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        answer.pdf,
    )
        .into_response())
}

/// The PDF route's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(invoice_pdf))]
pub(crate) struct Doc;

/// The PDF route.
pub(crate) fn routes() -> ModuleRoutes {
    ModuleRoutes {
        protected: Router::new().route("/api/v1/invoices/{id}/pdf", get(invoice_pdf)),
        public: Router::new(),
    }
}

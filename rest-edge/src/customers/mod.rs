//! `/api/v1/customers`: each handler reads the request, calls `CustomerService`, and
//! renders the answer. No rule lives here; the core decides.

mod input;
mod output;
mod query;

pub(crate) use output::{AddressJson, CustomerJson, OrganizationJson, SelfLink};
pub(crate) use query::ListCustomersParams;

use crate::AppState;
use crate::base_url::BaseUrl;
use crate::credentials::Caller;
use crate::envelope::FieldErrors;
use crate::envelope::{ApiError, ErrorBody, ListSuccess, Success};
use crate::json_input::{self, Fields};
use crate::openapi::{CustomerActionBody, CustomerBody};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lastmile_proto::v1::{
    CreateCustomerRequest, Customer, CustomerAction, CustomerRef, DeleteCustomerRequest,
    GetCustomerRequest, PerformCustomerActionRequest, UpdateCustomerRequest, customer_ref,
};
use serde::Serialize;
use utoipa::ToSchema;

/// `data` of an answer about one customer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CustomerData {
    /// The customer.
    pub customer: CustomerJson,
}

/// `data` of a customer list.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CustomerListData {
    /// One page of customers.
    pub customers: Vec<CustomerJson>,
}

type CustomerAnswer = Result<Json<Success<CustomerData>>, ApiError>;

/// The customer named by a path segment: an id or a portal id, 1 to 20 digits. Anything
/// else cannot name a customer, so it is a 404 without asking the core.
fn customer_ref(path: Result<Path<String>, PathRejection>) -> Result<CustomerRef, ApiError> {
    let segment = path.map_err(|_| not_found())?.0;
    if segment.is_empty() || segment.len() > 20 || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_found());
    }
    Ok(CustomerRef {
        key: Some(customer_ref::Key::Reference(segment)),
    })
}

fn not_found() -> ApiError {
    ApiError::not_found("Customer not found")
}

fn one(message: &str, customer: Option<Customer>, base: &BaseUrl) -> CustomerAnswer {
    let customer = customer.ok_or_else(|| {
        tracing::error!("the core answered without the customer");
        ApiError::internal()
    })?;
    Ok(Json(Success::new(
        message,
        CustomerData {
            customer: CustomerJson::new(customer, base),
        },
    )))
}

/// Lists customers, a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/customers",
    tag = "customers",
    params(ListCustomersParams),
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 200, description = "One page of customers", body = ListSuccess<CustomerListData>),
        (status = 400, description = "Bad query parameter", body = ErrorBody),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn list_customers(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<ListSuccess<CustomerListData>>, ApiError> {
    let Query(pairs) = query
        .map_err(|rejection| ApiError::bad_request("Invalid request", rejection.body_text()))?;
    let request = query::list_request(&pairs)?;
    let response = state
        .customers
        .clone()
        .list_customers(caller.request(request)?)
        .await?
        .into_inner();
    Ok(Json(ListSuccess {
        success: true,
        message: "OK".to_owned(),
        data: CustomerListData {
            customers: response
                .customers
                .into_iter()
                .map(|c| CustomerJson::new(c, &base))
                .collect(),
        },
        meta: response.meta.unwrap_or_default().into(),
    }))
}

/// Creates a customer. Honours `Idempotency-Key`.
#[utoipa::path(
    post,
    path = "/api/v1/customers",
    tag = "customers",
    request_body = CustomerBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters; a retry with the same key and body returns the first answer")),
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 201, description = "Customer created", body = Success<CustomerData>),
        (status = 400, description = "Malformed JSON or bad Idempotency-Key", body = ErrorBody),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 422, description = "Validation failed, or idempotency conflict", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn create_customer(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = json_input::object(body)?;
    let (changes, type_errors) = input::read_customer(&body);
    let mut request = CreateCustomerRequest {
        customer: Some(changes.input),
        validate_only: false,
    };
    if !type_errors.is_empty() {
        request.validate_only = true;
        let checked = state
            .customers
            .clone()
            .create_customer(caller.request(request)?)
            .await;
        return Err(with_type_errors(checked.map(drop), type_errors));
    }
    let response = state
        .customers
        .clone()
        .create_customer(caller.request(request)?)
        .await?
        .into_inner();
    let answer = one("Customer created successfully", response.customer, &base)?;
    Ok((StatusCode::CREATED, answer).into_response())
}

/// The answer to a body with fields of the wrong JSON type: the core validated the
/// well-typed rest (`validate_only`), so the client learns every failing field in one
/// round trip. A refusal that is not about fields (401, 404) wins as it is.
fn with_type_errors(checked: Result<(), tonic::Status>, type_errors: FieldErrors) -> ApiError {
    match checked {
        Ok(()) => ApiError::validation(type_errors),
        Err(status) => {
            let mut error = ApiError::from_status(&status);
            match error.body.errors.as_mut() {
                Some(rule_errors) => rule_errors.merge_shadowing(type_errors),
                None if error.status == StatusCode::UNPROCESSABLE_ENTITY => {
                    error = ApiError::validation(type_errors)
                }
                None => {}
            }
            error
        }
    }
}

/// Returns one customer, by id or 8-digit portal id.
#[utoipa::path(
    get,
    path = "/api/v1/customers/{id}",
    tag = "customers",
    params(("id" = String, Path, description = "Customer id or 8-digit portal id")),
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 200, description = "The customer", body = Success<CustomerData>),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 404, description = "No such customer", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn get_customer(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    path: Result<Path<String>, PathRejection>,
) -> CustomerAnswer {
    let request = GetCustomerRequest {
        customer: Some(customer_ref(path)?),
    };
    let response = state
        .customers
        .clone()
        .get_customer(caller.request(request)?)
        .await?
        .into_inner();
    one("Customer retrieved successfully", response.customer, &base)
}

/// Changes the fields present in the body; `null` clears a field. Same as PATCH: a key
/// left out of the body keeps its value.
#[utoipa::path(
    put,
    path = "/api/v1/customers/{id}",
    tag = "customers",
    operation_id = "replace_customer",
    params(("id" = String, Path, description = "Customer id or 8-digit portal id")),
    request_body = CustomerBody,
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 200, description = "The customer after the change", body = Success<CustomerData>),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 404, description = "No such customer", body = ErrorBody),
        (status = 422, description = "Validation failed", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn replace_customer(
    state: State<AppState>,
    caller: Caller,
    base: BaseUrl,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> CustomerAnswer {
    update_customer(state, caller, base, path, body).await
}

/// Changes the fields present in the body; `null` clears a field.
#[utoipa::path(
    patch,
    path = "/api/v1/customers/{id}",
    tag = "customers",
    params(("id" = String, Path, description = "Customer id or 8-digit portal id")),
    request_body = CustomerBody,
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 200, description = "The customer after the change", body = Success<CustomerData>),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 404, description = "No such customer", body = ErrorBody),
        (status = 422, description = "Validation failed", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn update_customer(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> CustomerAnswer {
    let customer = customer_ref(path)?;
    let body = json_input::object(body)?;
    let (changes, type_errors) = input::read_customer(&body);
    let mut request = UpdateCustomerRequest {
        customer: Some(customer),
        changes: Some(changes.input),
        update_mask: Some(prost_types::FieldMask {
            paths: changes.mask,
        }),
        validate_only: false,
    };
    if !type_errors.is_empty() {
        request.validate_only = true;
        let checked = state
            .customers
            .clone()
            .update_customer(caller.request(request)?)
            .await;
        return Err(with_type_errors(checked.map(drop), type_errors));
    }
    let response = state
        .customers
        .clone()
        .update_customer(caller.request(request)?)
        .await?
        .into_inner();
    one("Customer updated successfully", response.customer, &base)
}

/// Deletes a customer (soft: invoices and payments stay).
#[utoipa::path(
    delete,
    path = "/api/v1/customers/{id}",
    tag = "customers",
    params(("id" = String, Path, description = "Customer id or 8-digit portal id")),
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 404, description = "No such customer", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn delete_customer(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let request = DeleteCustomerRequest {
        customer: Some(customer_ref(path)?),
    };
    state
        .customers
        .clone()
        .delete_customer(caller.request(request)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Suspends, activates or terminates a customer. Honours `Idempotency-Key`.
#[utoipa::path(
    post,
    path = "/api/v1/customers/{id}/action",
    tag = "customers",
    params(
        ("id" = String, Path, description = "Customer id or 8-digit portal id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters"),
    ),
    request_body = CustomerActionBody,
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 200, description = "The customer after the action", body = Success<CustomerData>),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 404, description = "No such customer", body = ErrorBody),
        (status = 409, description = "Not possible in the customer's state", body = ErrorBody),
        (status = 422, description = "Validation failed", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn customer_action(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> CustomerAnswer {
    let customer = customer_ref(path)?;
    let body = json_input::object(body)?;
    let (action, reason) = action_input(&body)?;
    let request = PerformCustomerActionRequest {
        customer: Some(customer),
        action,
        reason,
    };
    let response = state
        .customers
        .clone()
        .perform_customer_action(caller.request(request)?)
        .await?
        .into_inner();
    let message = match CustomerAction::try_from(action) {
        Ok(CustomerAction::Suspend) => "Customer suspended successfully",
        Ok(CustomerAction::Activate) => "Customer activated successfully",
        Ok(CustomerAction::Terminate) => "Customer terminated successfully",
        _ => "Customer updated successfully",
    };
    one(message, response.customer, &base)
}

/// `action` and `reason` of an action body. A missing action is sent unspecified and an
/// unknown one as an invalid enum value, so the core reports either on the field.
fn action_input(
    body: &serde_json::Map<String, serde_json::Value>,
) -> Result<(i32, String), ApiError> {
    let fields = Fields::new(body);
    let mut errors = crate::envelope::FieldErrors::default();
    let action = fields.string("action", &mut errors).value();
    let reason = fields.string("reason", &mut errors).value();
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let action = match action.as_deref() {
        None => CustomerAction::Unspecified as i32,
        Some("suspend") => CustomerAction::Suspend as i32,
        Some("activate") => CustomerAction::Activate as i32,
        Some("terminate") => CustomerAction::Terminate as i32,
        Some(_) => -1,
    };
    Ok((action, reason.unwrap_or_default()))
}

#[cfg(test)]
mod tests;

//! `/api/v1/partners`: resellers.

use super::output::{PartnerBody, PartnerData, PartnerJson, PartnerListData};
use super::{ListEntriesParams, client, entry_id, list_query, read_entry, with_type_errors};
use crate::AppState;
use crate::base_url::BaseUrl;
use crate::credentials::Caller;
use crate::envelope::{ApiError, ErrorBody, ListSuccess, Success};
use crate::json_input;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lastmile_proto::v1::{
    CreatePartnerRequest, DeletePartnerRequest, GetPartnerRequest, ListPartnersRequest, Partner,
    PartnerInput, UpdatePartnerRequest,
};

const NOT_FOUND: &str = "Partner not found";

type PartnerAnswer = Result<Json<Success<PartnerData>>, ApiError>;

fn one(message: &str, partner: Option<Partner>, base: &BaseUrl) -> PartnerAnswer {
    let partner = partner.ok_or_else(|| {
        tracing::error!("the core answered without the partner");
        ApiError::internal()
    })?;
    Ok(Json(Success::new(
        message,
        PartnerData {
            partner: PartnerJson::new(partner, base),
        },
    )))
}

fn input(
    body: &serde_json::Map<String, serde_json::Value>,
) -> (PartnerInput, Vec<String>, crate::envelope::FieldErrors) {
    let (changes, errors) = read_entry(body, true);
    let input = PartnerInput {
        name: changes.name,
        description: changes.description,
        contact_email: changes.contact_email,
        contact_phone: changes.contact_phone,
    };
    (input, changes.mask, errors)
}

/// Lists partners, a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/partners",
    tag = "partners",
    params(ListEntriesParams),
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 200, description = "One page of partners", body = ListSuccess<PartnerListData>),
        (status = 400, description = "Bad query parameter", body = ErrorBody),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn list_partners(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<ListSuccess<PartnerListData>>, ApiError> {
    let Query(pairs) = query
        .map_err(|rejection| ApiError::bad_request("Invalid request", rejection.body_text()))?;
    let (page, search, sort) = list_query(&pairs)?;
    let request = ListPartnersRequest {
        page: Some(page),
        search,
        sort,
    };
    let response = client(&state)
        .list_partners(caller.request(request)?)
        .await?
        .into_inner();
    Ok(Json(ListSuccess {
        success: true,
        message: "OK".to_owned(),
        data: PartnerListData {
            partners: response
                .partners
                .into_iter()
                .map(|p| PartnerJson::new(p, &base))
                .collect(),
        },
        meta: response.meta.unwrap_or_default().into(),
    }))
}

/// Creates a partner. Honours `Idempotency-Key`.
#[utoipa::path(
    post,
    path = "/api/v1/partners",
    tag = "partners",
    request_body = PartnerBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters; a retry with the same key and body returns the first answer")),
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 201, description = "Partner created", body = Success<PartnerData>),
        (status = 400, description = "Malformed JSON or bad Idempotency-Key", body = ErrorBody),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 422, description = "Validation failed, or idempotency conflict", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn create_partner(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = json_input::object(body)?;
    let (partner, _, type_errors) = input(&body);
    let mut request = CreatePartnerRequest {
        partner: Some(partner),
        validate_only: false,
    };
    if !type_errors.is_empty() {
        request.validate_only = true;
        let checked = client(&state)
            .create_partner(caller.request(request)?)
            .await;
        return Err(with_type_errors(checked.map(drop), type_errors));
    }
    let response = client(&state)
        .create_partner(caller.request(request)?)
        .await?
        .into_inner();
    let answer = one("Partner created successfully", response.partner, &base)?;
    Ok((StatusCode::CREATED, answer).into_response())
}

/// Returns one partner.
#[utoipa::path(
    get,
    path = "/api/v1/partners/{id}",
    tag = "partners",
    params(("id" = i64, Path, description = "Partner id")),
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 200, description = "The partner", body = Success<PartnerData>),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such partner", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn get_partner(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    path: Result<Path<String>, PathRejection>,
) -> PartnerAnswer {
    let request = GetPartnerRequest {
        id: entry_id(path, NOT_FOUND)?,
    };
    let response = client(&state)
        .get_partner(caller.request(request)?)
        .await?
        .into_inner();
    one("Partner retrieved successfully", response.partner, &base)
}

/// Changes the fields present in the body; `null` clears a field. Same as PATCH: a key
/// left out of the body keeps its value.
#[utoipa::path(
    put,
    path = "/api/v1/partners/{id}",
    tag = "partners",
    params(("id" = i64, Path, description = "Partner id")),
    request_body = PartnerBody,
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 200, description = "The partner after the change", body = Success<PartnerData>),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such partner", body = ErrorBody),
        (status = 422, description = "Validation failed", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn replace_partner(
    state: State<AppState>,
    caller: Caller,
    base: BaseUrl,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> PartnerAnswer {
    update_partner(state, caller, base, path, body).await
}

/// Changes the fields present in the body; `null` clears a field.
#[utoipa::path(
    patch,
    path = "/api/v1/partners/{id}",
    tag = "partners",
    params(("id" = i64, Path, description = "Partner id")),
    request_body = PartnerBody,
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 200, description = "The partner after the change", body = Success<PartnerData>),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such partner", body = ErrorBody),
        (status = 422, description = "Validation failed", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn update_partner(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> PartnerAnswer {
    let id = entry_id(path, NOT_FOUND)?;
    let body = json_input::object(body)?;
    let (changes, mask, type_errors) = input(&body);
    let mut request = UpdatePartnerRequest {
        id,
        changes: Some(changes),
        update_mask: Some(prost_types::FieldMask { paths: mask }),
        validate_only: false,
    };
    if !type_errors.is_empty() {
        request.validate_only = true;
        let checked = client(&state)
            .update_partner(caller.request(request)?)
            .await;
        return Err(with_type_errors(checked.map(drop), type_errors));
    }
    let response = client(&state)
        .update_partner(caller.request(request)?)
        .await?
        .into_inner();
    one("Partner updated successfully", response.partner, &base)
}

/// Deletes a partner (soft). Refused with 409 while customers belong to it.
#[utoipa::path(
    delete,
    path = "/api/v1/partners/{id}",
    tag = "partners",
    params(("id" = i64, Path, description = "Partner id")),
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such partner", body = ErrorBody),
        (status = 409, description = "Customers or API keys still reference the partner", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn delete_partner(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let request = DeletePartnerRequest {
        id: entry_id(path, NOT_FOUND)?,
    };
    client(&state)
        .delete_partner(caller.request(request)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

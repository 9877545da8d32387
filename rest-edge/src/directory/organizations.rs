//! `/api/v1/organizations`: organizations customers belong to.

use super::output::{
    OrganizationBody, OrganizationData, OrganizationListData, OrganizationRecordJson,
};
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
    CreateOrganizationRequest, DeleteOrganizationRequest, GetOrganizationRequest,
    ListOrganizationsRequest, OrganizationInput, OrganizationRecord, UpdateOrganizationRequest,
};

const NOT_FOUND: &str = "Organization not found";

type OrganizationAnswer = Result<Json<Success<OrganizationData>>, ApiError>;

fn one(
    message: &str,
    organization: Option<OrganizationRecord>,
    base: &BaseUrl,
) -> OrganizationAnswer {
    let organization = organization.ok_or_else(|| {
        tracing::error!("the core answered without the organization");
        ApiError::internal()
    })?;
    Ok(Json(Success::new(
        message,
        OrganizationData {
            organization: OrganizationRecordJson::new(organization, base),
        },
    )))
}

fn input(
    body: &serde_json::Map<String, serde_json::Value>,
) -> (OrganizationInput, Vec<String>, crate::envelope::FieldErrors) {
    let (changes, errors) = read_entry(body, false);
    let input = OrganizationInput {
        name: changes.name,
        description: changes.description,
    };
    (input, changes.mask, errors)
}

/// Lists organizations, a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/organizations",
    tag = "organizations",
    params(ListEntriesParams),
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 200, description = "One page of organizations", body = ListSuccess<OrganizationListData>),
        (status = 400, description = "Bad query parameter", body = ErrorBody),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn list_organizations(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<ListSuccess<OrganizationListData>>, ApiError> {
    let Query(pairs) = query
        .map_err(|rejection| ApiError::bad_request("Invalid request", rejection.body_text()))?;
    let (page, search, sort) = list_query(&pairs)?;
    let request = ListOrganizationsRequest {
        page: Some(page),
        search,
        sort,
    };
    let response = client(&state)
        .list_organizations(caller.request(request)?)
        .await?
        .into_inner();
    Ok(Json(ListSuccess {
        success: true,
        message: "OK".to_owned(),
        data: OrganizationListData {
            organizations: response
                .organizations
                .into_iter()
                .map(|p| OrganizationRecordJson::new(p, &base))
                .collect(),
        },
        meta: response.meta.unwrap_or_default().into(),
    }))
}

/// Creates an organization. Honours `Idempotency-Key`.
#[utoipa::path(
    post,
    path = "/api/v1/organizations",
    tag = "organizations",
    request_body = OrganizationBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters; a retry with the same key and body returns the first answer")),
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 201, description = "Organization created", body = Success<OrganizationData>),
        (status = 400, description = "Malformed JSON or bad Idempotency-Key", body = ErrorBody),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 422, description = "Validation failed, or idempotency conflict", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn create_organization(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = json_input::object(body)?;
    let (organization, _, type_errors) = input(&body);
    let mut request = CreateOrganizationRequest {
        organization: Some(organization),
        validate_only: false,
    };
    if !type_errors.is_empty() {
        request.validate_only = true;
        let checked = client(&state)
            .create_organization(caller.request(request)?)
            .await;
        return Err(with_type_errors(checked.map(drop), type_errors));
    }
    let response = client(&state)
        .create_organization(caller.request(request)?)
        .await?
        .into_inner();
    let answer = one(
        "Organization created successfully",
        response.organization,
        &base,
    )?;
    Ok((StatusCode::CREATED, answer).into_response())
}

/// Returns one organization.
#[utoipa::path(
    get,
    path = "/api/v1/organizations/{id}",
    tag = "organizations",
    params(("id" = i64, Path, description = "Organization id")),
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 200, description = "The organization", body = Success<OrganizationData>),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such organization", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn get_organization(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    path: Result<Path<String>, PathRejection>,
) -> OrganizationAnswer {
    let request = GetOrganizationRequest {
        id: entry_id(path, NOT_FOUND)?,
    };
    let response = client(&state)
        .get_organization(caller.request(request)?)
        .await?
        .into_inner();
    one(
        "Organization retrieved successfully",
        response.organization,
        &base,
    )
}

/// Changes the fields present in the body; `null` clears a field. Same as PATCH: a key
/// left out of the body keeps its value.
#[utoipa::path(
    put,
    path = "/api/v1/organizations/{id}",
    tag = "organizations",
    params(("id" = i64, Path, description = "Organization id")),
    request_body = OrganizationBody,
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 200, description = "The organization after the change", body = Success<OrganizationData>),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such organization", body = ErrorBody),
        (status = 422, description = "Validation failed", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn replace_organization(
    state: State<AppState>,
    caller: Caller,
    base: BaseUrl,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> OrganizationAnswer {
    update_organization(state, caller, base, path, body).await
}

/// Changes the fields present in the body; `null` clears a field.
#[utoipa::path(
    patch,
    path = "/api/v1/organizations/{id}",
    tag = "organizations",
    params(("id" = i64, Path, description = "Organization id")),
    request_body = OrganizationBody,
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 200, description = "The organization after the change", body = Success<OrganizationData>),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such organization", body = ErrorBody),
        (status = 422, description = "Validation failed", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn update_organization(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> OrganizationAnswer {
    let id = entry_id(path, NOT_FOUND)?;
    let body = json_input::object(body)?;
    let (changes, mask, type_errors) = input(&body);
    let mut request = UpdateOrganizationRequest {
        id,
        changes: Some(changes),
        update_mask: Some(prost_types::FieldMask { paths: mask }),
        validate_only: false,
    };
    if !type_errors.is_empty() {
        request.validate_only = true;
        let checked = client(&state)
            .update_organization(caller.request(request)?)
            .await;
        return Err(with_type_errors(checked.map(drop), type_errors));
    }
    let response = client(&state)
        .update_organization(caller.request(request)?)
        .await?
        .into_inner();
    one(
        "Organization updated successfully",
        response.organization,
        &base,
    )
}

/// Deletes an organization (soft). Refused with 409 while customers belong to it.
#[utoipa::path(
    delete,
    path = "/api/v1/organizations/{id}",
    tag = "organizations",
    params(("id" = i64, Path, description = "Organization id")),
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such organization", body = ErrorBody),
        (status = 409, description = "Customers still belong to the organization", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn delete_organization(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let request = DeleteOrganizationRequest {
        id: entry_id(path, NOT_FOUND)?,
    };
    client(&state)
        .delete_organization(caller.request(request)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

//! `/api/v1/user-groups`: user groups customers are in.

use super::output::{UserGroupBody, UserGroupData, UserGroupJson, UserGroupListData};
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
    CreateUserGroupRequest, DeleteUserGroupRequest, GetUserGroupRequest, ListUserGroupsRequest,
    UpdateUserGroupRequest, UserGroup, UserGroupInput,
};

const NOT_FOUND: &str = "User group not found";

type UserGroupAnswer = Result<Json<Success<UserGroupData>>, ApiError>;

fn one(message: &str, user_group: Option<UserGroup>, base: &BaseUrl) -> UserGroupAnswer {
    let user_group = user_group.ok_or_else(|| {
        tracing::error!("the core answered without the user group");
        ApiError::internal()
    })?;
    Ok(Json(Success::new(
        message,
        UserGroupData {
            user_group: UserGroupJson::new(user_group, base),
        },
    )))
}

fn input(
    body: &serde_json::Map<String, serde_json::Value>,
) -> (UserGroupInput, Vec<String>, crate::envelope::FieldErrors) {
    let (changes, errors) = read_entry(body, false);
    let input = UserGroupInput {
        name: changes.name,
        description: changes.description,
    };
    (input, changes.mask, errors)
}

/// Lists user groups, a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/user-groups",
    tag = "user-groups",
    params(ListEntriesParams),
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 200, description = "One page of user groups", body = ListSuccess<UserGroupListData>),
        (status = 400, description = "Bad query parameter", body = ErrorBody),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn list_user_groups(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<ListSuccess<UserGroupListData>>, ApiError> {
    let Query(pairs) = query
        .map_err(|rejection| ApiError::bad_request("Invalid request", rejection.body_text()))?;
    let (page, search, sort) = list_query(&pairs)?;
    let request = ListUserGroupsRequest {
        page: Some(page),
        search,
        sort,
    };
    let response = client(&state)
        .list_user_groups(caller.request(request)?)
        .await?
        .into_inner();
    Ok(Json(ListSuccess {
        success: true,
        message: "OK".to_owned(),
        data: UserGroupListData {
            user_groups: response
                .user_groups
                .into_iter()
                .map(|p| UserGroupJson::new(p, &base))
                .collect(),
        },
        meta: response.meta.unwrap_or_default().into(),
    }))
}

/// Creates a user group. Honours `Idempotency-Key`.
#[utoipa::path(
    post,
    path = "/api/v1/user-groups",
    tag = "user-groups",
    request_body = UserGroupBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Up to 255 characters; a retry with the same key and body returns the first answer")),
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 201, description = "User group created", body = Success<UserGroupData>),
        (status = 400, description = "Malformed JSON or bad Idempotency-Key", body = ErrorBody),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 422, description = "Validation failed, or idempotency conflict", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn create_user_group(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = json_input::object(body)?;
    let (user_group, _, type_errors) = input(&body);
    let mut request = CreateUserGroupRequest {
        user_group: Some(user_group),
        validate_only: false,
    };
    if !type_errors.is_empty() {
        request.validate_only = true;
        let checked = client(&state)
            .create_user_group(caller.request(request)?)
            .await;
        return Err(with_type_errors(checked.map(drop), type_errors));
    }
    let response = client(&state)
        .create_user_group(caller.request(request)?)
        .await?
        .into_inner();
    let answer = one(
        "User group created successfully",
        response.user_group,
        &base,
    )?;
    Ok((StatusCode::CREATED, answer).into_response())
}

/// Returns one user group.
#[utoipa::path(
    get,
    path = "/api/v1/user-groups/{id}",
    tag = "user-groups",
    params(("id" = i64, Path, description = "User group id")),
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 200, description = "The user group", body = Success<UserGroupData>),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such user group", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn get_user_group(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    path: Result<Path<String>, PathRejection>,
) -> UserGroupAnswer {
    let request = GetUserGroupRequest {
        id: entry_id(path, NOT_FOUND)?,
    };
    let response = client(&state)
        .get_user_group(caller.request(request)?)
        .await?
        .into_inner();
    one(
        "User group retrieved successfully",
        response.user_group,
        &base,
    )
}

/// Changes the fields present in the body; `null` clears a field. Same as PATCH: a key
/// left out of the body keeps its value.
#[utoipa::path(
    put,
    path = "/api/v1/user-groups/{id}",
    tag = "user-groups",
    params(("id" = i64, Path, description = "User group id")),
    request_body = UserGroupBody,
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 200, description = "The user group after the change", body = Success<UserGroupData>),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such user group", body = ErrorBody),
        (status = 422, description = "Validation failed", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn replace_user_group(
    state: State<AppState>,
    caller: Caller,
    base: BaseUrl,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> UserGroupAnswer {
    update_user_group(state, caller, base, path, body).await
}

/// Changes the fields present in the body; `null` clears a field.
#[utoipa::path(
    patch,
    path = "/api/v1/user-groups/{id}",
    tag = "user-groups",
    params(("id" = i64, Path, description = "User group id")),
    request_body = UserGroupBody,
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 200, description = "The user group after the change", body = Success<UserGroupData>),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such user group", body = ErrorBody),
        (status = 422, description = "Validation failed", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn update_user_group(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> UserGroupAnswer {
    let id = entry_id(path, NOT_FOUND)?;
    let body = json_input::object(body)?;
    let (changes, mask, type_errors) = input(&body);
    let mut request = UpdateUserGroupRequest {
        id,
        changes: Some(changes),
        update_mask: Some(prost_types::FieldMask { paths: mask }),
        validate_only: false,
    };
    if !type_errors.is_empty() {
        request.validate_only = true;
        let checked = client(&state)
            .update_user_group(caller.request(request)?)
            .await;
        return Err(with_type_errors(checked.map(drop), type_errors));
    }
    let response = client(&state)
        .update_user_group(caller.request(request)?)
        .await?
        .into_inner();
    one(
        "User group updated successfully",
        response.user_group,
        &base,
    )
}

/// Deletes a user group (soft). Refused with 409 while customers are in it.
#[utoipa::path(
    delete,
    path = "/api/v1/user-groups/{id}",
    tag = "user-groups",
    params(("id" = i64, Path, description = "User group id")),
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such user group", body = ErrorBody),
        (status = 409, description = "Customers are still in the user group", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn delete_user_group(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let request = DeleteUserGroupRequest {
        id: entry_id(path, NOT_FOUND)?,
    };
    client(&state)
        .delete_user_group(caller.request(request)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

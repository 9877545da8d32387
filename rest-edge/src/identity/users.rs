//! `/api/v1/users`: staff accounts. Admins only (managers may read), per the core's table.

use super::output::{UserData, UserJson, UserListData};
use super::{client, page_query, path_id};
use crate::AppState;
use crate::credentials::Caller;
use crate::envelope::{ApiError, ErrorBody, FieldErrors, ListSuccess, Success};
use crate::json_input::{self, Field, Fields};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lastmile_proto::v1::{
    CreateUserRequest, DeleteUserRequest, GetUserRequest, ListUsersRequest, UpdateUserRequest, User,
};
use serde::Serialize;
use utoipa::ToSchema;

const NOT_FOUND: &str = "User not found";

/// A user to create or the fields to change.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserBody {
    /// Full name.
    pub name: String,
    /// Login email, unique ignoring case.
    pub email: String,
    /// Password; must satisfy the password policy (`GET /api/security-settings`).
    pub password: String,
    /// admin, manager, billing, support, technician, reseller or read_only.
    pub role: String,
    /// Required for resellers.
    pub partner_id: Option<i64>,
    /// Defaults to true.
    pub active: Option<bool>,
}

type UserAnswer = Result<Json<Success<UserData>>, ApiError>;

fn one(message: &str, user: Option<User>) -> UserAnswer {
    let user = user.ok_or_else(|| {
        tracing::error!("the core answered without the user");
        ApiError::internal()
    })?;
    Ok(Json(Success::new(
        message,
        UserData {
            user: UserJson::from(user),
        },
    )))
}

/// Lists users, a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    params(
        ("page" = Option<i32>, Query, description = "Page, from 1"),
        ("per_page" = Option<i32>, Query, description = "Page size, at most 100 (default 25)"),
    ),
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 200, description = "One page of users", body = ListSuccess<UserListData>),
        (status = 400, description = "Bad query parameter", body = ErrorBody),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
    )
)]
pub(crate) async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<ListSuccess<UserListData>>, ApiError> {
    let Query(pairs) = query
        .map_err(|rejection| ApiError::bad_request("Invalid request", rejection.body_text()))?;
    let request = ListUsersRequest {
        page: Some(page_query(&pairs)?),
    };
    let response = client(&state)
        .list_users(caller.request(request)?)
        .await?
        .into_inner();
    Ok(Json(ListSuccess {
        success: true,
        message: "OK".to_owned(),
        data: UserListData {
            users: response.users.into_iter().map(UserJson::from).collect(),
        },
        meta: response.meta.unwrap_or_default().into(),
    }))
}

/// Creates a user.
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    request_body = UserBody,
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 201, description = "User created", body = Success<UserData>),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 422, description = "Validation failed", body = ErrorBody),
    )
)]
pub(crate) async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let map = json_input::object(body)?;
    let fields = Fields::new(&map);
    let mut errors = FieldErrors::default();
    let name = fields.string("name", &mut errors).value();
    let email = fields.string("email", &mut errors).value();
    let password = fields.string("password", &mut errors).value();
    let role = fields.string("role", &mut errors).value();
    let partner_id = fields.integer("partner_id", &mut errors).value();
    let active = fields.boolean("active", &mut errors).value();
    // Missing fields are the core's to report, with every other rule it checks.
    let request = CreateUserRequest {
        name: name.unwrap_or_default(),
        email: email.unwrap_or_default(),
        password: password.unwrap_or_default(),
        role: role.unwrap_or_default(),
        partner_id,
        active,
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let response = client(&state)
        .create_user(caller.request(request)?)
        .await?
        .into_inner();
    let answer = one("User created successfully", response.user)?;
    Ok((StatusCode::CREATED, answer).into_response())
}

/// Returns one user.
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(("id" = i64, Path, description = "User id")),
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 200, description = "The user", body = Success<UserData>),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
pub(crate) async fn get_user(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> UserAnswer {
    let request = GetUserRequest {
        id: path_id(path, NOT_FOUND)?,
    };
    let response = client(&state)
        .get_user(caller.request(request)?)
        .await?
        .into_inner();
    one("User retrieved successfully", response.user)
}

/// Changes the fields present in the body (PUT and PATCH alike). Nobody changes their
/// own role.
#[utoipa::path(
    patch,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(("id" = i64, Path, description = "User id")),
    request_body = UserBody,
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 200, description = "The user after the change", body = Success<UserData>),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "Validation failed", body = ErrorBody),
    )
)]
pub(crate) async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> UserAnswer {
    let id = path_id(path, NOT_FOUND)?;
    let map = json_input::object(body)?;
    let fields = Fields::new(&map);
    let mut errors = FieldErrors::default();
    let text = |key: &str, errors: &mut FieldErrors| match fields.string(key, errors) {
        Field::Null => {
            errors.add(key, format!("The {key} field is required."));
            None
        }
        other => other.value(),
    };
    let name = text("name", &mut errors);
    let email = text("email", &mut errors);
    let password = text("password", &mut errors);
    let role = text("role", &mut errors);
    let partner_id = match fields.integer("partner_id", &mut errors) {
        Field::Absent => None,
        // null removes the partner.
        Field::Null => Some(0),
        Field::Value(id) => Some(id.max(1)),
    };
    let active = fields.boolean("active", &mut errors).value();
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let request = UpdateUserRequest {
        id,
        name,
        email,
        password,
        role,
        partner_id,
        active,
    };
    let response = client(&state)
        .update_user(caller.request(request)?)
        .await?
        .into_inner();
    one("User updated successfully", response.user)
}

/// Deletes a user: they can no longer sign in, and their tokens and keys stop working.
#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(("id" = i64, Path, description = "User id")),
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "Deleting oneself", body = ErrorBody),
    )
)]
pub(crate) async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let request = DeleteUserRequest {
        id: path_id(path, NOT_FOUND)?,
    };
    client(&state).delete_user(caller.request(request)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

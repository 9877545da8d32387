//! `/api/v1/api-keys`: the caller's API keys (every key, for admins).

use super::output::{ApiKeyData, ApiKeyJson, ApiKeyListData};
use super::{client, page_query, path_id};
use crate::AppState;
use crate::credentials::Caller;
use crate::envelope::{ApiError, ErrorBody, FieldErrors, ListSuccess, Success};
use crate::json_input::{self, Fields};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use lastmile_proto::timestamp;
use lastmile_proto::v1::{CreateApiKeyRequest, ListApiKeysRequest, RevokeApiKeyRequest};
use serde::Serialize;
use utoipa::ToSchema;

/// A key to create.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ApiKeyBody {
    /// Name shown to operators.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Role; at most the caller's own (defaults to it).
    pub role: Option<String>,
    /// standard, free, professional or enterprise; admins only.
    pub tier: Option<String>,
    /// RFC 3339 expiry, in the future.
    pub expires_at: Option<String>,
}

/// Lists the caller's keys (all keys for admins), newest first.
#[utoipa::path(
    get,
    path = "/api/v1/api-keys",
    tag = "api-keys",
    params(
        ("page" = Option<i32>, Query, description = "Page, from 1"),
        ("per_page" = Option<i32>, Query, description = "Page size, at most 100 (default 25)"),
    ),
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 200, description = "One page of keys", body = ListSuccess<ApiKeyListData>),
        (status = 400, description = "Bad query parameter", body = ErrorBody),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
    )
)]
pub(crate) async fn list_api_keys(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<ListSuccess<ApiKeyListData>>, ApiError> {
    let Query(pairs) = query
        .map_err(|rejection| ApiError::bad_request("Invalid request", rejection.body_text()))?;
    let request = ListApiKeysRequest {
        page: Some(page_query(&pairs)?),
    };
    let response = client(&state)
        .list_api_keys(caller.request(request)?)
        .await?
        .into_inner();
    Ok(Json(ListSuccess {
        success: true,
        message: "OK".to_owned(),
        data: ApiKeyListData {
            api_keys: response
                .api_keys
                .into_iter()
                .map(|k| ApiKeyJson::new(k, None))
                .collect(),
        },
        meta: response.meta.unwrap_or_default().into(),
    }))
}

/// Creates a key owned by the caller; the answer holds the key itself, this once.
#[utoipa::path(
    post,
    path = "/api/v1/api-keys",
    tag = "api-keys",
    request_body = ApiKeyBody,
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 201, description = "Key created", body = Success<ApiKeyData>),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 422, description = "Validation failed (e.g. a role above the caller's)", body = ErrorBody),
    )
)]
pub(crate) async fn create_api_key(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let map = json_input::object(body)?;
    let fields = Fields::new(&map);
    let mut errors = FieldErrors::default();
    let name = fields
        .string("name", &mut errors)
        .value()
        .unwrap_or_default();
    let description = fields.string("description", &mut errors).value();
    let role = fields
        .string("role", &mut errors)
        .value()
        .unwrap_or_default();
    let tier = fields.string("tier", &mut errors).value();
    let expires_at = fields.string("expires_at", &mut errors).value();
    let expires_at = match expires_at.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => match DateTime::parse_from_rfc3339(text) {
            Ok(at) => Some(timestamp(at.with_timezone(&Utc))),
            Err(_) => {
                errors.add(
                    "expires_at",
                    "The expires at must be an RFC 3339 date-time (e.g. 2027-01-01T00:00:00Z).",
                );
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let request = CreateApiKeyRequest {
        name,
        description,
        role,
        tier,
        expires_at,
    };
    let response = client(&state)
        .create_api_key(caller.request(request)?)
        .await?
        .into_inner();
    let api_key = response.api_key.ok_or_else(|| {
        tracing::error!("the core answered without the key");
        ApiError::internal()
    })?;
    let answer = Json(Success::new(
        "API key created successfully",
        ApiKeyData {
            api_key: ApiKeyJson::new(api_key, Some(response.key)),
        },
    ));
    Ok((StatusCode::CREATED, answer).into_response())
}

/// Revokes a key: it is refused from the next request on (within seconds everywhere).
#[utoipa::path(
    delete,
    path = "/api/v1/api-keys/{id}",
    tag = "api-keys",
    params(("id" = i64, Path, description = "Key id")),
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such key among the caller's", body = ErrorBody),
    )
)]
pub(crate) async fn revoke_api_key(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let request = RevokeApiKeyRequest {
        id: path_id(path, "API key not found")?,
    };
    client(&state)
        .revoke_api_key(caller.request(request)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

//! The client-credentials flow at `/api/v2/auth`: `POST /token {"client_id",
//! "client_secret"}` answers `{"access_token": "v2_…", "token_type": "bearer",
//! "expires_in": 1800}` (public: the client address's budget), and `POST /revoke` with the
//! token as the credential ends it (204); it is refused from then on.

use super::{client, required};
use crate::AppState;
use crate::credentials::Caller;
use crate::envelope::{ApiError, ErrorBody, FieldErrors};
use crate::json_input::{self, Fields};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use lastmile_proto::v1::{IssueClientTokenRequest, RevokeClientTokenRequest};
use serde::Serialize;
use utoipa::ToSchema;

/// Token request. The patterns are `resource::fields::NON_BLANK` (a derive wants a literal).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ClientTokenBody {
    /// The client's public id (a UUID); blank is missing.
    #[schema(pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")]
    pub client_id: String,
    /// The client's secret; blank is missing.
    #[schema(pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")]
    pub client_secret: String,
}

/// An access token for an API client.
#[derive(Debug, Serialize, ToSchema, PartialEq, Eq)]
pub(crate) struct ClientTokenJson {
    /// Send as `Authorization: Bearer …`.
    #[schema(example = "v2_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG")]
    pub access_token: String,
    /// Always `bearer`.
    #[schema(example = "bearer")]
    pub token_type: String,
    /// Seconds until it expires.
    #[schema(example = 1800)]
    pub expires_in: i64,
}

/// Exchanges an API client's id and secret for an access token.
#[utoipa::path(
    post,
    path = "/api/v2/auth/token",
    tag = "auth",
    request_body = ClientTokenBody,
    responses(
        (status = 200, description = "A new access token", body = ClientTokenJson),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Unknown client, wrong secret, or a revoked client", body = ErrorBody),
        (status = 422, description = "client_id or client_secret missing", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
        (status = 503, description = "The core is unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn token(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ClientTokenJson>, ApiError> {
    let map = json_input::object(body)?;
    let fields = Fields::new(&map);
    let mut errors = FieldErrors::default();
    let client_id = fields.string("client_id", &mut errors).value();
    let client_secret = fields.string("client_secret", &mut errors).value();
    let request = IssueClientTokenRequest {
        client_id: required(client_id, "client_id", &mut errors),
        client_secret: required(client_secret, "client_secret", &mut errors),
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let answer = client(state.core.clone())
        .issue_client_token(caller.anonymous_request(request))
        .await?
        .into_inner();
    Ok(Json(ClientTokenJson {
        access_token: answer.access_token,
        token_type: answer.token_type,
        expires_in: answer.expires_in,
    }))
}

/// Revokes the access token sent as the credential of this request.
#[utoipa::path(
    post,
    path = "/api/v2/auth/revoke",
    tag = "auth",
    responses(
        (status = 204, description = "Revoked: the token is refused from now on"),
        (status = 401, description = "Missing, unknown, expired or already revoked token", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
        (status = 503, description = "The core is unavailable", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    client(state.core.clone())
        .revoke_client_token(caller.request(RevokeClientTokenRequest {})?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

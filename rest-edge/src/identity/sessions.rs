//! `/api/v1/auth/login`, `/refresh` and `/logout`: public routes (the client address's
//! budget at the edge; the core limits login attempts per email and per address).

use super::output::TokensData;
use super::{client, required};
use crate::AppState;
use crate::credentials::Caller;
use crate::envelope::{ApiError, ErrorBody, FieldErrors, Success};
use crate::json_input::{self, Fields};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use lastmile_proto::v1::{LoginRequest, LogoutRequest, RefreshSessionRequest, SessionTokens};
use serde::Serialize;
use utoipa::ToSchema;

/// Login input. The patterns are `resource::fields::NON_BLANK` (a derive wants a literal).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LoginBody {
    /// Login email; blank is missing.
    #[schema(pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")]
    pub email: String,
    /// Password; blank is missing.
    #[schema(pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")]
    pub password: String,
}

/// Refresh and logout input.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RefreshBody {
    /// The refresh token of the current pair; blank is missing.
    #[schema(pattern = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")]
    pub refresh_token: String,
}

type TokensAnswer = Result<Json<Success<TokensData>>, ApiError>;

fn tokens(message: &str, tokens: Option<SessionTokens>) -> TokensAnswer {
    let tokens = tokens.ok_or_else(|| {
        tracing::error!("the core answered without tokens");
        ApiError::internal()
    })?;
    Ok(Json(Success::new(message, tokens.into())))
}

fn refresh_token(body: Result<Bytes, BytesRejection>) -> Result<String, ApiError> {
    let map = json_input::object(body)?;
    let mut errors = FieldErrors::default();
    let token = Fields::new(&map)
        .string("refresh_token", &mut errors)
        .value();
    let token = required(token, "refresh_token", &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(token)
}

/// Exchanges an email and password for an access token and a refresh token. An unknown
/// email and a wrong password get the same answer.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    request_body = LoginBody,
    responses(
        (status = 200, description = "Signed in", body = Success<TokensData>),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Invalid credentials", body = ErrorBody),
        (status = 422, description = "Email or password missing", body = ErrorBody),
        (status = 429, description = "Too many login attempts", body = ErrorBody),
    )
)]
pub(crate) async fn login(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> TokensAnswer {
    let map = json_input::object(body)?;
    let fields = Fields::new(&map);
    let mut errors = FieldErrors::default();
    let email = fields.string("email", &mut errors).value();
    let password = fields.string("password", &mut errors).value();
    let request = LoginRequest {
        email: required(email, "email", &mut errors),
        password: required(password, "password", &mut errors),
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let response = client(state.core.clone())
        .login(caller.anonymous_request(request))
        .await?
        .into_inner();
    tokens("Login successful", response.tokens)
}

/// Spends a refresh token for a new pair. A spent token presented again ends the session.
#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    tag = "auth",
    request_body = RefreshBody,
    responses(
        (status = 200, description = "The new pair", body = Success<TokensData>),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Invalid, spent, revoked or expired refresh token", body = ErrorBody),
        (status = 422, description = "refresh_token missing", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn refresh(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> TokensAnswer {
    let request = RefreshSessionRequest {
        refresh_token: refresh_token(body)?,
    };
    let response = client(state.core.clone())
        .refresh_session(caller.anonymous_request(request))
        .await?
        .into_inner();
    tokens("Token refreshed successfully", response.tokens)
}

/// Ends the session of a refresh token.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    request_body = RefreshBody,
    responses(
        (status = 200, description = "Signed out", body = Success<serde_json::Value>),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 422, description = "refresh_token missing", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn logout(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Success<serde_json::Value>>, ApiError> {
    let request = LogoutRequest {
        refresh_token: refresh_token(body)?,
    };
    client(state.core.clone())
        .logout(caller.anonymous_request(request))
        .await?;
    Ok(Json(Success::new(
        "Logged out successfully",
        serde_json::json!({}),
    )))
}

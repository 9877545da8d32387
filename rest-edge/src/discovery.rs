//! The public entry points of the API: discovery links and the password policy.

use crate::AppState;
use crate::base_url::BaseUrl;
use crate::credentials::Caller;
use crate::envelope::{ApiError, ErrorBody, Success};
use axum::Json;
use axum::extract::State;
use lastmile_proto::v1::{GetSecuritySettingsRequest, PasswordPolicy};
use serde::Serialize;
use utoipa::ToSchema;

/// `data` of the discovery answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DiscoveryData {
    /// Links to every top-level collection and document.
    pub links: DiscoveryLinks,
}

/// Links of the discovery answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DiscoveryLinks {
    /// The customer collection.
    pub customers: String,
    /// Resellers.
    pub partners: String,
    /// Organizations customers belong to.
    pub organizations: String,
    /// User groups customers are in.
    pub user_groups: String,
    /// The roles and what each may do.
    pub roles: String,
    /// The audit log.
    pub audit_log: String,
    /// The password policy.
    pub security_settings: String,
    /// This API's OpenAPI document.
    pub openapi: String,
    /// Interactive documentation.
    pub docs: String,
}

/// Lists the API's collections.
#[utoipa::path(
    get,
    path = "/api/v1",
    tag = "discovery",
    responses(
        (status = 200, description = "Links to every collection", body = Success<DiscoveryData>),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn discovery(base: BaseUrl) -> Json<Success<DiscoveryData>> {
    Json(Success::new(
        "OK",
        DiscoveryData {
            links: DiscoveryLinks {
                customers: base.join("/api/v1/customers"),
                partners: base.join("/api/v1/partners"),
                organizations: base.join("/api/v1/organizations"),
                user_groups: base.join("/api/v1/user-groups"),
                roles: base.join("/api/v1/roles"),
                audit_log: base.join("/api/v1/audit-log"),
                security_settings: base.join("/api/security-settings"),
                openapi: base.join("/api/v1/openapi.json"),
                docs: base.join("/docs"),
            },
        },
    ))
}

/// `data` of the security settings answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SecuritySettingsData {
    /// The policy customer portal passwords must satisfy.
    pub password_policy: PasswordPolicyJson,
}

/// Rules for passwords.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PasswordPolicyJson {
    /// Minimum length in characters.
    pub min_length: i32,
    /// Maximum length in characters.
    pub max_length: i32,
    /// At least one uppercase letter.
    pub require_uppercase: bool,
    /// At least one lowercase letter.
    pub require_lowercase: bool,
    /// At least one digit.
    pub require_number: bool,
    /// At least one character that is neither a letter nor a digit.
    pub require_special: bool,
}

impl From<PasswordPolicy> for PasswordPolicyJson {
    fn from(p: PasswordPolicy) -> Self {
        Self {
            min_length: p.min_length,
            max_length: p.max_length,
            require_uppercase: p.require_uppercase,
            require_lowercase: p.require_lowercase,
            require_number: p.require_number,
            require_special: p.require_special,
        }
    }
}

/// The password policy in force. Needs no credential.
#[utoipa::path(
    get,
    path = "/api/security-settings",
    tag = "discovery",
    responses(
        (status = 200, description = "The password policy", body = Success<SecuritySettingsData>),
        (status = 429, description = "Too many requests", body = ErrorBody),
        (status = 503, description = "The core is unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn security_settings(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Success<SecuritySettingsData>>, ApiError> {
    let response = state
        .customers
        .clone()
        .get_security_settings(caller.anonymous_request(GetSecuritySettingsRequest {}))
        .await?
        .into_inner();
    let policy = response.password_policy.unwrap_or_default();
    Ok(Json(Success::new(
        "OK",
        SecuritySettingsData {
            password_policy: policy.into(),
        },
    )))
}

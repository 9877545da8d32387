//! The public entry points of the API: discovery links and the password policy.

use crate::AppState;
use crate::base_url::BaseUrl;
use crate::credentials::Caller;
use crate::envelope::{ApiError, ErrorBody, Success};
use axum::Json;
use axum::extract::State;
use lastmile_proto::v1::{GetSecuritySettingsRequest, PasswordPolicy};
use serde::Serialize;
use serde::ser::SerializeMap;
use utoipa::ToSchema;

/// `data` of the discovery answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DiscoveryData {
    /// Links to every top-level collection and document, by name.
    #[schema(value_type = std::collections::HashMap<String, String>)]
    pub links: Links,
}

/// Named links, in the order of the registration list.
#[derive(Debug)]
pub(crate) struct Links(Vec<(&'static str, String)>);

impl Serialize for Links {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, url) in &self.0 {
            map.serialize_entry(name, url)?;
        }
        map.end()
    }
}

/// The links discovery lists: every registered collection, then the documents.
pub(crate) fn collections() -> Vec<(&'static str, &'static str)> {
    let documents = [
        ("security_settings", "/api/security-settings"),
        ("openapi", "/api/v1/openapi.json"),
        ("docs", "/docs"),
    ];
    let registered = crate::resources::all()
        .into_iter()
        .flat_map(|entry| entry.links);
    registered.chain(documents).collect()
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
pub(crate) async fn discovery(
    State(state): State<AppState>,
    base: BaseUrl,
) -> Json<Success<DiscoveryData>> {
    let links = state
        .links
        .iter()
        .map(|(name, path)| (*name, base.join(path)));
    Json(Success::new(
        "OK",
        DiscoveryData {
            links: Links(links.collect()),
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

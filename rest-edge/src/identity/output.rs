//! The JSON shapes of identity answers.

use crate::format::timestamp;
use lastmile_proto::RestName;
use lastmile_proto::v1::{ApiKey, RateLimitTier, Role, SessionTokens, User};
use serde::Serialize;
use utoipa::ToSchema;

/// `data` of a login or refresh: the token pair.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokensData {
    /// A signed JWT; send it as `Authorization: Bearer <token>`.
    pub access_token: String,
    /// Always "bearer".
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// A single-use token for `POST /api/v1/auth/refresh`.
    pub refresh_token: String,
}

impl From<SessionTokens> for TokensData {
    fn from(t: SessionTokens) -> Self {
        Self {
            access_token: t.access_token,
            token_type: t.token_type,
            expires_in: t.expires_in,
            refresh_token: t.refresh_token,
        }
    }
}

/// A staff user.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserJson {
    /// Id.
    pub id: i64,
    /// Full name.
    pub name: String,
    /// Login email.
    pub email: String,
    /// admin, manager, billing, support, technician, reseller or read_only.
    pub role: String,
    /// The partner of a reseller user.
    pub partner_id: Option<i64>,
    /// Whether the user can sign in.
    pub active: bool,
    /// When created.
    pub created_at: Option<String>,
    /// When last changed.
    pub updated_at: Option<String>,
}

impl From<User> for UserJson {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            name: u.name,
            email: u.email,
            role: Role::rest_name_of(u.role).to_owned(),
            partner_id: u.partner_id,
            active: u.active,
            created_at: timestamp(u.created_at),
            updated_at: timestamp(u.updated_at),
        }
    }
}

/// An API key; `key` only in the answer that created it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ApiKeyJson {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// The key's first characters, to recognise it.
    pub prefix: String,
    /// Role.
    pub role: String,
    /// Rate-limit tier.
    pub tier: String,
    /// When it stops working.
    pub expires_at: Option<String>,
    /// When created.
    pub created_at: Option<String>,
    /// When last used (to the minute).
    pub last_used_at: Option<String>,
    /// The owning user.
    pub owner_user_id: Option<i64>,
    /// The partner a reseller key acts for.
    pub partner_id: Option<i64>,
    /// The key itself: shown once, at creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl ApiKeyJson {
    /// The JSON of a key; `key` only when just created.
    pub(crate) fn new(k: ApiKey, key: Option<String>) -> Self {
        Self {
            id: k.id,
            name: k.name,
            description: (!k.description.is_empty()).then_some(k.description),
            prefix: k.prefix,
            role: Role::rest_name_of(k.role).to_owned(),
            tier: RateLimitTier::rest_name_of(k.tier).to_owned(),
            expires_at: timestamp(k.expires_at),
            created_at: timestamp(k.created_at),
            last_used_at: timestamp(k.last_used_at),
            owner_user_id: k.owner_user_id,
            partner_id: k.partner_id,
            key,
        }
    }
}

/// An API client; `client_secret` only in the answer that created it. A client belongs to
/// the deployment, not to the admin who made it (the audit log names them): it keeps
/// working when they leave, until it is revoked.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ApiClientJson {
    /// Id (for revoking it).
    pub id: i64,
    /// The public id the client signs in with (a UUID).
    pub client_id: String,
    /// Name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Role of its tokens.
    pub role: String,
    /// Rate-limit tier of its tokens.
    pub tier: String,
    /// When it stops working.
    pub expires_at: Option<String>,
    /// When created.
    pub created_at: Option<String>,
    /// When last used (to the minute).
    pub last_used_at: Option<String>,
    /// The secret: shown once, at creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl ApiClientJson {
    /// The JSON of a client; `client_secret` only when just created.
    pub(crate) fn new(k: ApiKey, client_secret: Option<String>) -> Self {
        Self {
            id: k.id,
            client_id: k.client_id,
            name: k.name,
            description: (!k.description.is_empty()).then_some(k.description),
            role: Role::rest_name_of(k.role).to_owned(),
            tier: RateLimitTier::rest_name_of(k.tier).to_owned(),
            expires_at: timestamp(k.expires_at),
            created_at: timestamp(k.created_at),
            last_used_at: timestamp(k.last_used_at),
            client_secret,
        }
    }
}

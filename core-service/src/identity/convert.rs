//! Conversions between the identity domain and its protobuf messages.

use lastmile_proto::v1 as pb;
use lastmile_proto::{RestName, timestamp};

use super::{ApiKeyRecord, SessionTokens, User};

impl From<User> for pb::User {
    fn from(user: User) -> Self {
        pb::User {
            id: user.id,
            name: user.name,
            email: user.email,
            role: pb::Role::from(user.role).into(),
            partner_id: user.partner_id,
            active: user.active,
            created_at: Some(timestamp(user.created_at)),
            updated_at: Some(timestamp(user.updated_at)),
        }
    }
}

impl From<ApiKeyRecord> for pb::ApiKey {
    fn from(key: ApiKeyRecord) -> Self {
        pb::ApiKey {
            id: key.id,
            name: key.name,
            description: key.description.unwrap_or_default(),
            prefix: key.prefix,
            role: pb::Role::from_rest_name(&key.role).map_or(0, Into::into),
            tier: pb::RateLimitTier::from_rest_name(&key.tier).map_or(0, Into::into),
            expires_at: key.expires_at.map(timestamp),
            created_at: Some(timestamp(key.created_at)),
            last_used_at: key.last_used_at.map(timestamp),
            revoked_at: key.revoked_at.map(timestamp),
            owner_user_id: key.owner_user_id,
            partner_id: key.partner_id,
            client_id: key.client_id.unwrap_or_default(),
        }
    }
}

impl From<SessionTokens> for pb::SessionTokens {
    fn from(tokens: SessionTokens) -> Self {
        pb::SessionTokens {
            access_token: tokens.access_token,
            token_type: tokens.token_type.to_owned(),
            expires_in: tokens.expires_in,
            refresh_token: tokens.refresh_token,
        }
    }
}

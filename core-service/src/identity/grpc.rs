//! The gRPC adapter of `IdentityService`.

use lastmile_proto::timestamp;
use lastmile_proto::v1 as pb;
use pb::identity_service_server::IdentityService;
use tonic::{Request, Response, Status};

use super::{Principal, Role, Tier};
use crate::auth::principal;

/// `lastmile.v1.IdentityService`.
#[derive(Debug, Clone, Default)]
pub struct IdentityGrpc;

#[tonic::async_trait]
impl IdentityService for IdentityGrpc {
    async fn get_current_principal(
        &self,
        request: Request<pb::GetCurrentPrincipalRequest>,
    ) -> Result<Response<pb::GetCurrentPrincipalResponse>, Status> {
        let principal = principal(&request)?.clone();
        Ok(Response::new(pb::GetCurrentPrincipalResponse {
            principal: Some(principal.into()),
        }))
    }
}

impl From<Role> for pb::Role {
    fn from(role: Role) -> Self {
        match role {
            Role::Admin => pb::Role::Admin,
            Role::Manager => pb::Role::Manager,
            Role::Billing => pb::Role::Billing,
            Role::Support => pb::Role::Support,
            Role::Technician => pb::Role::Technician,
            Role::Reseller => pb::Role::Reseller,
            Role::ReadOnly => pb::Role::ReadOnly,
        }
    }
}

impl From<Tier> for pb::RateLimitTier {
    fn from(tier: Tier) -> Self {
        match tier {
            Tier::Standard => pb::RateLimitTier::Standard,
            Tier::Free => pb::RateLimitTier::Free,
            Tier::Professional => pb::RateLimitTier::Professional,
            Tier::Enterprise => pb::RateLimitTier::Enterprise,
        }
    }
}

impl From<Principal> for pb::Principal {
    fn from(p: Principal) -> Self {
        pb::Principal {
            api_key_id: p.api_key_id,
            name: p.name,
            role: pb::Role::from(p.role).into(),
            tier: pb::RateLimitTier::from(p.tier).into(),
            expires_at: p.expires_at.map(timestamp),
        }
    }
}

//! The gRPC adapter of `IdentityService`.

use lastmile_proto::timestamp;
use lastmile_proto::v1 as pb;
use pb::identity_service_server::IdentityService;
use tonic::{Request, Response, Status};

use super::{Principal, Role, Tier};
use crate::auth::principal;
use crate::authz::{self, Access, Operation, Resource};

/// The access each `IdentityService` RPC needs (see [`crate::authz`]).
pub const ACCESS: &[(&str, Access)] = &[
    (
        "/lastmile.v1.IdentityService/GetCurrentPrincipal",
        Access::Authenticated,
    ),
    (
        "/lastmile.v1.IdentityService/ListRoles",
        Access::Requires(Resource::Roles, Operation::Read),
    ),
];

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

    async fn list_roles(
        &self,
        _request: Request<pb::ListRolesRequest>,
    ) -> Result<Response<pb::ListRolesResponse>, Status> {
        let roles = Role::ALL
            .into_iter()
            .map(|role| pb::RoleGrants {
                role: pb::Role::from(role).into(),
                name: role.as_str().to_owned(),
                grants: authz::grants(role)
                    .iter()
                    .map(|(resource, operations)| pb::ResourceGrant {
                        resource: resource.as_str().to_owned(),
                        operations: operations.iter().map(|o| o.as_str().to_owned()).collect(),
                    })
                    .collect(),
            })
            .collect();
        Ok(Response::new(pb::ListRolesResponse { roles }))
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
            subject: p.subject(),
            api_key_id: p.api_key_id.unwrap_or_default(),
            user_id: p.user_id,
            partner_id: p.partner_id,
            name: p.name,
            role: pb::Role::from(p.role).into(),
            tier: pb::RateLimitTier::from(p.tier).into(),
            expires_at: p.expires_at.map(timestamp),
        }
    }
}

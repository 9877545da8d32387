//! The gRPC adapter of `IdentityService`.

use lastmile_proto::timestamp;
use lastmile_proto::v1 as pb;
use pb::identity_service_server::IdentityService;
use prost::Message;
use tonic::{Request, Response, Status};

use super::convert::{page_meta, page_request};
use super::sessions::Origin;
use super::{Identity, KeyRequest, NewUser, Principal, Role, Tier, UserChanges};
use crate::auth::{context, principal};
use crate::authz::{self, Access, Operation, Resource};
use crate::clock::SharedClock;
use crate::db::Db;
use crate::error::Error;
use crate::idempotency::{self, Scope};

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
    (
        "/lastmile.v1.IdentityService/CreateUser",
        Access::Requires(Resource::Users, Operation::Create),
    ),
    (
        "/lastmile.v1.IdentityService/GetUser",
        Access::Requires(Resource::Users, Operation::Read),
    ),
    (
        "/lastmile.v1.IdentityService/ListUsers",
        Access::Requires(Resource::Users, Operation::Read),
    ),
    (
        "/lastmile.v1.IdentityService/UpdateUser",
        Access::Requires(Resource::Users, Operation::Update),
    ),
    (
        "/lastmile.v1.IdentityService/DeleteUser",
        Access::Requires(Resource::Users, Operation::Delete),
    ),
    ("/lastmile.v1.IdentityService/Login", Access::Public),
    (
        "/lastmile.v1.IdentityService/RefreshSession",
        Access::Public,
    ),
    ("/lastmile.v1.IdentityService/Logout", Access::Public),
    (
        "/lastmile.v1.IdentityService/ListApiKeys",
        Access::Requires(Resource::ApiKeys, Operation::Read),
    ),
    (
        "/lastmile.v1.IdentityService/CreateApiKey",
        Access::Requires(Resource::ApiKeys, Operation::Create),
    ),
    (
        "/lastmile.v1.IdentityService/RevokeApiKey",
        Access::Requires(Resource::ApiKeys, Operation::Delete),
    ),
];

/// Where a public call came from: the edge's report, else the peer.
fn origin<T>(request: &Request<T>) -> Origin {
    let header = |name: &str| {
        request
            .metadata()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    Origin {
        request_id: header(lastmile_proto::REQUEST_ID_METADATA).unwrap_or_default(),
        client_address: header(lastmile_proto::CLIENT_ADDRESS_METADATA)
            .or_else(|| request.remote_addr().map(|a| a.ip().to_string()))
            .unwrap_or_default(),
    }
}

fn valid_id(id: i64, what: &'static str) -> Result<i64, Status> {
    if id > 0 {
        Ok(id)
    } else {
        Err(Error::NotFound(what).into())
    }
}

/// `lastmile.v1.IdentityService`.
#[derive(Debug, Clone)]
pub struct IdentityGrpc {
    identity: Identity,
    db: Db,
    clock: SharedClock,
}

impl IdentityGrpc {
    /// The service over the identity domain (which shares the authenticator's token keys).
    pub fn new(identity: Identity, db: Db, clock: SharedClock) -> Self {
        Self {
            identity,
            db,
            clock,
        }
    }
}

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

    async fn create_user(
        &self,
        request: Request<pb::CreateUserRequest>,
    ) -> Result<Response<pb::CreateUserResponse>, Status> {
        let scope = Scope::of(&request, "CreateUser")?;
        if let Some(answer) = idempotency::replay(&self.db, scope.as_ref()).await? {
            return Ok(Response::new(answer));
        }
        let context = context(&request)?.clone();
        let m = request.into_inner();
        let new = NewUser {
            name: m.name,
            email: m.email,
            password: m.password,
            role: m.role,
            partner_id: m.partner_id,
            active: m.active,
        };
        let prepared = self.identity.prepare_user(new).await?;
        let answer = idempotency::transaction(&self.db, &self.clock, scope.as_ref(), async |tx| {
            let user = self.identity.insert_user(tx, &context, prepared).await?;
            Ok(pb::CreateUserResponse {
                user: Some(user.into()),
            })
        })
        .await?;
        Ok(Response::new(answer))
    }

    async fn get_user(
        &self,
        request: Request<pb::GetUserRequest>,
    ) -> Result<Response<pb::GetUserResponse>, Status> {
        let id = valid_id(request.get_ref().id, "User")?;
        let user = self.identity.get_user(id).await?;
        Ok(Response::new(pb::GetUserResponse {
            user: Some(user.into()),
        }))
    }

    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        let (page, per_page) = page_request(request.into_inner().page);
        let (users, total, page) = self.identity.list_users(page, per_page).await?;
        Ok(Response::new(pb::ListUsersResponse {
            users: users.into_iter().map(Into::into).collect(),
            meta: Some(page_meta(page, total)),
        }))
    }

    async fn update_user(
        &self,
        request: Request<pb::UpdateUserRequest>,
    ) -> Result<Response<pb::UpdateUserResponse>, Status> {
        let context = context(&request)?.clone();
        let m = request.into_inner();
        let id = valid_id(m.id, "User")?;
        let changes = UserChanges {
            name: m.name,
            email: m.email,
            password: m.password,
            role: m.role,
            partner_id: m.partner_id.map(|p| (p > 0).then_some(p)),
            active: m.active,
        };
        let user = self.identity.update_user(&context, id, changes).await?;
        Ok(Response::new(pb::UpdateUserResponse {
            user: Some(user.into()),
        }))
    }

    async fn delete_user(
        &self,
        request: Request<pb::DeleteUserRequest>,
    ) -> Result<Response<pb::DeleteUserResponse>, Status> {
        let context = context(&request)?.clone();
        let id = valid_id(request.get_ref().id, "User")?;
        self.identity.delete_user(&context, id).await?;
        Ok(Response::new(pb::DeleteUserResponse {}))
    }

    async fn login(
        &self,
        request: Request<pb::LoginRequest>,
    ) -> Result<Response<pb::LoginResponse>, Status> {
        let origin = origin(&request);
        let m = request.into_inner();
        let tokens = self.identity.login(&m.email, m.password, &origin).await?;
        Ok(Response::new(pb::LoginResponse {
            tokens: Some(tokens.into()),
        }))
    }

    async fn refresh_session(
        &self,
        request: Request<pb::RefreshSessionRequest>,
    ) -> Result<Response<pb::RefreshSessionResponse>, Status> {
        let origin = origin(&request);
        let tokens = self
            .identity
            .refresh(&request.get_ref().refresh_token, &origin)
            .await?;
        Ok(Response::new(pb::RefreshSessionResponse {
            tokens: Some(tokens.into()),
        }))
    }

    async fn logout(
        &self,
        request: Request<pb::LogoutRequest>,
    ) -> Result<Response<pb::LogoutResponse>, Status> {
        let origin = origin(&request);
        self.identity
            .logout(&request.get_ref().refresh_token, &origin)
            .await?;
        Ok(Response::new(pb::LogoutResponse {}))
    }

    async fn list_api_keys(
        &self,
        request: Request<pb::ListApiKeysRequest>,
    ) -> Result<Response<pb::ListApiKeysResponse>, Status> {
        let principal = principal(&request)?.clone();
        let (page, per_page) = page_request(request.into_inner().page);
        let (keys, total, page) = self
            .identity
            .list_api_keys(&principal, page, per_page)
            .await?;
        Ok(Response::new(pb::ListApiKeysResponse {
            api_keys: keys.into_iter().map(Into::into).collect(),
            meta: Some(page_meta(page, total)),
        }))
    }

    async fn create_api_key(
        &self,
        request: Request<pb::CreateApiKeyRequest>,
    ) -> Result<Response<pb::CreateApiKeyResponse>, Status> {
        let scope = Scope::of(&request, "CreateApiKey")?;
        // A replay answers with the key's record but not the key: it is shown once and
        // never kept, not even for replays.
        if let Some(answer) = idempotency::replay(&self.db, scope.as_ref()).await? {
            return Ok(Response::new(answer));
        }
        let context = context(&request)?.clone();
        let m = request.into_inner();
        let expires_at = match m.expires_at.as_ref() {
            Some(t) => Some(lastmile_proto::datetime(t).ok_or_else(|| {
                let mut errors = crate::error::FieldErrors::new();
                errors.add("expires_at", "The expires at is not a valid date.");
                Status::from(Error::Validation(errors))
            })?),
            None => None,
        };
        let wanted = KeyRequest {
            name: m.name,
            description: m.description,
            role: m.role,
            tier: m.tier,
            expires_at,
        };
        let without_key = |answer: &pb::CreateApiKeyResponse| {
            pb::CreateApiKeyResponse {
                api_key: answer.api_key.clone(),
                key: String::new(),
            }
            .encode_to_vec()
        };
        let answer = idempotency::transaction_storing(
            &self.db,
            &self.clock,
            scope.as_ref(),
            without_key,
            async |tx| {
                let (record, key) = self
                    .identity
                    .create_api_key_in(tx, &context, wanted)
                    .await?;
                Ok(pb::CreateApiKeyResponse {
                    api_key: Some(record.into()),
                    key,
                })
            },
        )
        .await?;
        Ok(Response::new(answer))
    }

    async fn revoke_api_key(
        &self,
        request: Request<pb::RevokeApiKeyRequest>,
    ) -> Result<Response<pb::RevokeApiKeyResponse>, Status> {
        let context = context(&request)?.clone();
        let id = valid_id(request.get_ref().id, "API key")?;
        self.identity.revoke_api_key(&context, id).await?;
        Ok(Response::new(pb::RevokeApiKeyResponse {}))
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

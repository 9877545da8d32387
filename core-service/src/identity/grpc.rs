//! The gRPC adapter of `IdentityService`.

use lastmile_proto::timestamp;
use lastmile_proto::v1 as pb;
use pb::identity_service_server::{IdentityService, IdentityServiceServer};
use prost::Message;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::{Request, Response, Status};

use super::sessions::Origin;
use super::{
    Identity, KeyRequest, NewUser, PreparedUser, PreparedUserUpdate, Principal, Role, UserChanges,
};
use crate::Core;
use crate::auth::{RequestContext, context, principal};
use crate::authz::{self, Access, Operation, Resource, ServiceAccess, rule};
use crate::clock::SharedClock;
use crate::db::{Db, Tx};
use crate::domains::Domain;
use crate::error::{Error, FieldErrors};
use crate::paging::PageQuery;
use crate::write::{Step, Writes};

/// The identity domain as the server registers it.
pub const DOMAIN: Domain = Domain {
    access: ServiceAccess {
        service: <IdentityServiceServer<IdentityGrpc> as NamedService>::NAME,
        methods: &[
            ("GetCurrentPrincipal", Access::Authenticated),
            rule("ListRoles", Resource::Roles, Operation::Read),
            rule("CreateUser", Resource::Users, Operation::Create),
            rule("GetUser", Resource::Users, Operation::Read),
            rule("ListUsers", Resource::Users, Operation::Read),
            rule("UpdateUser", Resource::Users, Operation::Update),
            rule("DeleteUser", Resource::Users, Operation::Delete),
            ("Login", Access::Public),
            ("RefreshSession", Access::Public),
            ("Logout", Access::Public),
            rule("ListApiKeys", Resource::ApiKeys, Operation::Read),
            rule("CreateApiKey", Resource::ApiKeys, Operation::Create),
            rule("RevokeApiKey", Resource::ApiKeys, Operation::Delete),
            rule("ListApiClients", Resource::ApiClients, Operation::Read),
            rule("CreateApiClient", Resource::ApiClients, Operation::Create),
            rule("RevokeApiClient", Resource::ApiClients, Operation::Delete),
            ("IssueClientToken", Access::Public),
            ("RevokeClientToken", Access::Authenticated),
        ],
    },
    serve,
};

fn serve(core: &Core, routes: &mut RoutesBuilder) {
    let identity = core.authenticator.identity().clone();
    let grpc = IdentityGrpc::new(identity, core.db.clone(), core.clock.clone());
    routes.add_service(IdentityServiceServer::new(grpc));
}

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

/// A key or client asked for, with its expiry checked.
fn key_request(m: pb::CreateApiKeyRequest) -> Result<KeyRequest, Error> {
    let expires_at = match m.expires_at.as_ref() {
        Some(t) => Some(lastmile_proto::datetime(t).ok_or_else(|| {
            let mut errors = FieldErrors::new();
            errors.add("expires_at", "The expires at is not a valid date.");
            Error::Validation(errors)
        })?),
        None => None,
    };
    Ok(KeyRequest {
        name: m.name,
        description: m.description,
        role: m.role,
        tier: m.tier,
        expires_at,
    })
}

fn valid_id(id: i64, what: &'static str) -> Result<i64, Error> {
    if id > 0 {
        Ok(id)
    } else {
        Err(Error::NotFound(what))
    }
}

/// `lastmile.v1.IdentityService`.
#[derive(Debug, Clone)]
pub struct IdentityGrpc {
    identity: Identity,
    writes: Writes,
}

impl IdentityGrpc {
    /// The service over the identity domain (which shares the authenticator's token keys).
    pub fn new(identity: Identity, db: Db, clock: SharedClock) -> Self {
        Self {
            identity,
            writes: Writes::new(db, clock),
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
                        operations: operations
                            .iter()
                            .map(|o| pb::Operation::from(*o).into())
                            .collect(),
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
        let read = async |m: pb::CreateUserRequest| {
            let new = NewUser {
                name: m.name,
                email: m.email,
                password: m.password,
                role: m.role,
                partner_id: m.partner_id,
                active: m.active,
            };
            Ok(Step::Commit(self.identity.prepare_user(new).await?))
        };
        let change = async |tx: &mut Tx, context: &RequestContext, prepared: PreparedUser| {
            let user = self.identity.insert_user(tx, context, prepared).await?;
            Ok(pb::CreateUserResponse {
                user: Some(user.into()),
            })
        };
        self.writes.run(request, read, change).await
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
        let page = PageQuery::from_request(request.into_inner().page)?;
        let users = self.identity.list_users(page).await?;
        Ok(Response::new(pb::ListUsersResponse {
            meta: Some(users.meta()),
            users: users.items.into_iter().map(Into::into).collect(),
        }))
    }

    async fn update_user(
        &self,
        request: Request<pb::UpdateUserRequest>,
    ) -> Result<Response<pb::UpdateUserResponse>, Status> {
        let context = context(&request)?.clone();
        let read = async |m: pb::UpdateUserRequest| {
            let id = valid_id(m.id, "User")?;
            let changes = UserChanges {
                name: m.name,
                email: m.email,
                password: m.password,
                role: m.role,
                partner_id: m.partner_id.map(|p| (p > 0).then_some(p)),
                active: m.active,
            };
            let prepared = self
                .identity
                .prepare_user_update(&context, id, changes)
                .await?;
            Ok(Step::Commit(prepared))
        };
        let change = async |tx: &mut Tx, context: &RequestContext, prepared: PreparedUserUpdate| {
            let user = self.identity.update_user(tx, context, prepared).await?;
            Ok(pb::UpdateUserResponse {
                user: Some(user.into()),
            })
        };
        self.writes.run(request, read, change).await
    }

    async fn delete_user(
        &self,
        request: Request<pb::DeleteUserRequest>,
    ) -> Result<Response<pb::DeleteUserResponse>, Status> {
        let read = async |m: pb::DeleteUserRequest| Ok(Step::Commit(valid_id(m.id, "User")?));
        let change = async |tx: &mut Tx, context: &RequestContext, id: i64| {
            self.identity.delete_user(tx, context, id).await?;
            Ok(pb::DeleteUserResponse {})
        };
        self.writes.run(request, read, change).await
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
        let page = PageQuery::from_request(request.into_inner().page)?;
        let keys = self.identity.list_api_keys(&principal, page).await?;
        Ok(Response::new(pb::ListApiKeysResponse {
            meta: Some(keys.meta()),
            api_keys: keys.items.into_iter().map(Into::into).collect(),
        }))
    }

    async fn create_api_key(
        &self,
        request: Request<pb::CreateApiKeyRequest>,
    ) -> Result<Response<pb::CreateApiKeyResponse>, Status> {
        let read = async |m: pb::CreateApiKeyRequest| Ok(Step::Commit(key_request(m)?));
        let change = async |tx: &mut Tx, context: &RequestContext, wanted: KeyRequest| {
            let (record, key) = self.identity.create_api_key_in(tx, context, wanted).await?;
            Ok(pb::CreateApiKeyResponse {
                api_key: Some(record.into()),
                key,
            })
        };
        // A replay answers with the key's record but not the key: it is shown once and
        // never kept, not even for replays.
        let without_key = |answer: &pb::CreateApiKeyResponse| {
            pb::CreateApiKeyResponse {
                api_key: answer.api_key.clone(),
                key: String::new(),
            }
            .encode_to_vec()
        };
        self.writes
            .run_storing(request, without_key, read, change)
            .await
    }

    async fn list_api_clients(
        &self,
        request: Request<pb::ListApiClientsRequest>,
    ) -> Result<Response<pb::ListApiClientsResponse>, Status> {
        let page = PageQuery::from_request(request.into_inner().page)?;
        let clients = self.identity.list_api_clients(page).await?;
        Ok(Response::new(pb::ListApiClientsResponse {
            meta: Some(clients.meta()),
            api_clients: clients.items.into_iter().map(Into::into).collect(),
        }))
    }

    async fn create_api_client(
        &self,
        request: Request<pb::CreateApiClientRequest>,
    ) -> Result<Response<pb::CreateApiClientResponse>, Status> {
        let read = async |m: pb::CreateApiClientRequest| {
            Ok(Step::Commit(key_request(m.client.unwrap_or_default())?))
        };
        let change = async |tx: &mut Tx, context: &RequestContext, wanted: KeyRequest| {
            let (record, secret) = self
                .identity
                .create_api_client_in(tx, context, wanted)
                .await?;
            Ok(pb::CreateApiClientResponse {
                api_client: Some(record.into()),
                client_secret: secret,
            })
        };
        // Like a key, the secret is shown once and never kept, not even for replays.
        let without_secret = |answer: &pb::CreateApiClientResponse| {
            pb::CreateApiClientResponse {
                api_client: answer.api_client.clone(),
                client_secret: String::new(),
            }
            .encode_to_vec()
        };
        self.writes
            .run_storing(request, without_secret, read, change)
            .await
    }

    async fn revoke_api_client(
        &self,
        request: Request<pb::RevokeApiClientRequest>,
    ) -> Result<Response<pb::RevokeApiClientResponse>, Status> {
        let read =
            async |m: pb::RevokeApiClientRequest| Ok(Step::Commit(valid_id(m.id, "API client")?));
        let change = async |tx: &mut Tx, context: &RequestContext, id: i64| {
            self.identity.revoke_api_client(tx, context, id).await?;
            Ok(pb::RevokeApiClientResponse {})
        };
        self.writes.run(request, read, change).await
    }

    async fn issue_client_token(
        &self,
        request: Request<pb::IssueClientTokenRequest>,
    ) -> Result<Response<pb::IssueClientTokenResponse>, Status> {
        let m = request.into_inner();
        let token = self
            .identity
            .issue_client_token(&m.client_id, &m.client_secret)
            .await?;
        Ok(Response::new(pb::IssueClientTokenResponse {
            access_token: token.access_token,
            token_type: "bearer".to_owned(),
            expires_in: token.expires_in,
        }))
    }

    async fn revoke_client_token(
        &self,
        request: Request<pb::RevokeClientTokenRequest>,
    ) -> Result<Response<pb::RevokeClientTokenResponse>, Status> {
        let principal = principal(&request)?.clone();
        let headers = request.metadata().clone().into_headers();
        let token = crate::auth::credential(&headers).unwrap_or_default().trim();
        self.identity.revoke_client_token(&principal, token).await?;
        Ok(Response::new(pb::RevokeClientTokenResponse {}))
    }

    async fn revoke_api_key(
        &self,
        request: Request<pb::RevokeApiKeyRequest>,
    ) -> Result<Response<pb::RevokeApiKeyResponse>, Status> {
        let read = async |m: pb::RevokeApiKeyRequest| Ok(Step::Commit(valid_id(m.id, "API key")?));
        let change = async |tx: &mut Tx, context: &RequestContext, id: i64| {
            self.identity.revoke_api_key(tx, context, id).await?;
            Ok(pb::RevokeApiKeyResponse {})
        };
        self.writes.run(request, read, change).await
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

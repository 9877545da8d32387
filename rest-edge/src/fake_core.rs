//! A stand-in core for the edge's tests: answers every RPC the edge uses with canned data
//! and records each call with its metadata.

use lastmile_proto::v1::customer_service_server::{CustomerService, CustomerServiceServer};
use lastmile_proto::v1::identity_service_server::{IdentityService, IdentityServiceServer};
use lastmile_proto::v1::*;
use lastmile_proto::{ERROR_DETAIL_KEY, ERROR_DOMAIN};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;
use tonic::{Request as GrpcRequest, Response as GrpcResponse, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// Every call the stand-in core received: the RPC name, its metadata, and for updates the mask.
#[derive(Clone, Default)]
pub(crate) struct Calls(Arc<Mutex<Vec<Call>>>);

/// One recorded call: RPC name, metadata, and (for updates) the mask.
type Call = (&'static str, MetadataMap, Vec<String>);

impl Calls {
    fn record<T>(&self, rpc: &'static str, request: &GrpcRequest<T>, mask: Vec<String>) {
        self.0
            .lock()
            .unwrap()
            .push((rpc, request.metadata().clone(), mask));
    }
    pub(crate) fn named(&self, rpc: &str) -> Vec<(MetadataMap, Vec<String>)> {
        let calls = self.0.lock().unwrap();
        calls
            .iter()
            .filter(|(r, _, _)| *r == rpc)
            .map(|(_, m, mask)| (m.clone(), mask.clone()))
            .collect()
    }
}

pub(crate) fn meta(map: &MetadataMap, key: &str) -> Option<String> {
    map.get(key).map(|v| v.to_str().unwrap().to_owned())
}

fn customer(id: i64) -> Customer {
    Customer {
        id,
        portal_id: format!("{:08}", 10_000_000 + id),
        first_name: "Ada".into(),
        full_name: "Ada".into(),
        phone: "5550100".into(),
        status: CustomerStatus::Active as i32,
        balance: Some(Money {
            minor_units: 0,
            currency: "USD".into(),
        }),
        ..Customer::default()
    }
}

struct Core(Calls);

#[tonic::async_trait]
impl IdentityService for Core {
    async fn get_current_principal(
        &self,
        request: GrpcRequest<GetCurrentPrincipalRequest>,
    ) -> Result<GrpcResponse<GetCurrentPrincipalResponse>, Status> {
        self.0.record("GetCurrentPrincipal", &request, vec![]);
        let tier = match meta(request.metadata(), "authorization").as_deref() {
            Some("Bearer free-key") => RateLimitTier::Free,
            Some("Bearer standard-key") => RateLimitTier::Standard,
            _ => {
                let mut detail = HashMap::new();
                detail.insert(
                    ERROR_DETAIL_KEY.to_owned(),
                    "The provided API key is invalid or does not exist.".to_owned(),
                );
                let details =
                    ErrorDetails::with_error_info("UNAUTHENTICATED", ERROR_DOMAIN, detail);
                return Err(Status::with_error_details(
                    tonic::Code::Unauthenticated,
                    "Invalid API key",
                    details,
                ));
            }
        };
        Ok(GrpcResponse::new(GetCurrentPrincipalResponse {
            principal: Some(Principal {
                api_key_id: tier as i64,
                tier: tier as i32,
                ..Principal::default()
            }),
        }))
    }

    async fn list_roles(
        &self,
        request: GrpcRequest<lastmile_proto::v1::ListRolesRequest>,
    ) -> Result<GrpcResponse<lastmile_proto::v1::ListRolesResponse>, Status> {
        self.0.record("ListRoles", &request, vec![]);
        Ok(GrpcResponse::new(
            lastmile_proto::v1::ListRolesResponse::default(),
        ))
    }

    async fn create_user(
        &self,
        _request: GrpcRequest<CreateUserRequest>,
    ) -> Result<GrpcResponse<CreateUserResponse>, Status> {
        Err(Status::unimplemented("not faked"))
    }

    async fn get_user(
        &self,
        _request: GrpcRequest<GetUserRequest>,
    ) -> Result<GrpcResponse<GetUserResponse>, Status> {
        Err(Status::unimplemented("not faked"))
    }

    async fn list_users(
        &self,
        _request: GrpcRequest<ListUsersRequest>,
    ) -> Result<GrpcResponse<ListUsersResponse>, Status> {
        Err(Status::unimplemented("not faked"))
    }

    async fn update_user(
        &self,
        _request: GrpcRequest<UpdateUserRequest>,
    ) -> Result<GrpcResponse<UpdateUserResponse>, Status> {
        Err(Status::unimplemented("not faked"))
    }

    async fn delete_user(
        &self,
        _request: GrpcRequest<DeleteUserRequest>,
    ) -> Result<GrpcResponse<DeleteUserResponse>, Status> {
        Err(Status::unimplemented("not faked"))
    }

    async fn refresh_session(
        &self,
        _request: GrpcRequest<RefreshSessionRequest>,
    ) -> Result<GrpcResponse<RefreshSessionResponse>, Status> {
        Err(Status::unimplemented("not faked"))
    }

    async fn logout(
        &self,
        _request: GrpcRequest<LogoutRequest>,
    ) -> Result<GrpcResponse<LogoutResponse>, Status> {
        Err(Status::unimplemented("not faked"))
    }

    async fn list_api_keys(
        &self,
        _request: GrpcRequest<ListApiKeysRequest>,
    ) -> Result<GrpcResponse<ListApiKeysResponse>, Status> {
        Err(Status::unimplemented("not faked"))
    }

    async fn create_api_key(
        &self,
        _request: GrpcRequest<CreateApiKeyRequest>,
    ) -> Result<GrpcResponse<CreateApiKeyResponse>, Status> {
        Err(Status::unimplemented("not faked"))
    }

    async fn revoke_api_key(
        &self,
        _request: GrpcRequest<RevokeApiKeyRequest>,
    ) -> Result<GrpcResponse<RevokeApiKeyResponse>, Status> {
        Err(Status::unimplemented("not faked"))
    }

    async fn list_api_clients(
        &self,
        _request: GrpcRequest<lastmile_proto::v1::ListApiClientsRequest>,
    ) -> Result<GrpcResponse<lastmile_proto::v1::ListApiClientsResponse>, Status> {
        Err(Status::unimplemented("not faked"))
    }

    async fn create_api_client(
        &self,
        _request: GrpcRequest<lastmile_proto::v1::CreateApiClientRequest>,
    ) -> Result<GrpcResponse<lastmile_proto::v1::CreateApiClientResponse>, Status> {
        Err(Status::unimplemented("not faked"))
    }

    async fn revoke_api_client(
        &self,
        _request: GrpcRequest<lastmile_proto::v1::RevokeApiClientRequest>,
    ) -> Result<GrpcResponse<lastmile_proto::v1::RevokeApiClientResponse>, Status> {
        Err(Status::unimplemented("not faked"))
    }

    async fn issue_client_token(
        &self,
        _request: GrpcRequest<lastmile_proto::v1::IssueClientTokenRequest>,
    ) -> Result<GrpcResponse<lastmile_proto::v1::IssueClientTokenResponse>, Status> {
        Err(Status::unimplemented("not faked"))
    }

    async fn revoke_client_token(
        &self,
        _request: GrpcRequest<lastmile_proto::v1::RevokeClientTokenRequest>,
    ) -> Result<GrpcResponse<lastmile_proto::v1::RevokeClientTokenResponse>, Status> {
        Err(Status::unimplemented("not faked"))
    }

    async fn login(
        &self,
        request: GrpcRequest<LoginRequest>,
    ) -> Result<GrpcResponse<LoginResponse>, Status> {
        self.0.record("Login", &request, vec![]);
        if request.get_ref().password != "Str0ng!pass" {
            let details =
                ErrorDetails::with_error_info("UNAUTHENTICATED", ERROR_DOMAIN, HashMap::new());
            return Err(Status::with_error_details(
                tonic::Code::Unauthenticated,
                "Invalid credentials",
                details,
            ));
        }
        Ok(GrpcResponse::new(LoginResponse {
            tokens: Some(SessionTokens {
                access_token: "a.b.c".into(),
                token_type: "bearer".into(),
                expires_in: 900,
                refresh_token: "r".into(),
            }),
        }))
    }
}

#[tonic::async_trait]
impl CustomerService for Core {
    async fn create_customer(
        &self,
        request: GrpcRequest<CreateCustomerRequest>,
    ) -> Result<GrpcResponse<CreateCustomerResponse>, Status> {
        self.0.record("CreateCustomer", &request, vec![]);
        let input = request.into_inner().customer.unwrap_or_default();
        if input.first_name.is_empty() {
            let mut details =
                ErrorDetails::with_error_info("VALIDATION_ERROR", ERROR_DOMAIN, HashMap::new());
            details.add_bad_request_violation("first_name", "The first name field is required.");
            return Err(Status::with_error_details(
                tonic::Code::InvalidArgument,
                "Validation failed",
                details,
            ));
        }
        let mut created = customer(1);
        created.first_name = input.first_name;
        Ok(GrpcResponse::new(CreateCustomerResponse {
            customer: Some(created),
        }))
    }
    async fn get_customer(
        &self,
        request: GrpcRequest<GetCustomerRequest>,
    ) -> Result<GrpcResponse<GetCustomerResponse>, Status> {
        self.0.record("GetCustomer", &request, vec![]);
        Ok(GrpcResponse::new(GetCustomerResponse {
            customer: Some(customer(5)),
        }))
    }
    async fn list_customers(
        &self,
        request: GrpcRequest<ListCustomersRequest>,
    ) -> Result<GrpcResponse<ListCustomersResponse>, Status> {
        self.0.record("ListCustomers", &request, vec![]);
        Ok(GrpcResponse::new(ListCustomersResponse {
            customers: vec![customer(1), customer(2)],
            meta: Some(PageMeta {
                current_page: 1,
                per_page: 25,
                total: 2,
                last_page: 1,
            }),
        }))
    }
    async fn update_customer(
        &self,
        request: GrpcRequest<UpdateCustomerRequest>,
    ) -> Result<GrpcResponse<UpdateCustomerResponse>, Status> {
        let mask = request
            .get_ref()
            .update_mask
            .clone()
            .unwrap_or_default()
            .paths;
        self.0.record("UpdateCustomer", &request, mask);
        Ok(GrpcResponse::new(UpdateCustomerResponse {
            customer: Some(customer(5)),
        }))
    }
    async fn delete_customer(
        &self,
        request: GrpcRequest<DeleteCustomerRequest>,
    ) -> Result<GrpcResponse<DeleteCustomerResponse>, Status> {
        self.0.record("DeleteCustomer", &request, vec![]);
        Ok(GrpcResponse::new(DeleteCustomerResponse {}))
    }
    async fn perform_customer_action(
        &self,
        request: GrpcRequest<PerformCustomerActionRequest>,
    ) -> Result<GrpcResponse<PerformCustomerActionResponse>, Status> {
        self.0.record("PerformCustomerAction", &request, vec![]);
        Ok(GrpcResponse::new(PerformCustomerActionResponse {
            customer: Some(customer(5)),
        }))
    }
    async fn get_security_settings(
        &self,
        request: GrpcRequest<GetSecuritySettingsRequest>,
    ) -> Result<GrpcResponse<GetSecuritySettingsResponse>, Status> {
        self.0.record("GetSecuritySettings", &request, vec![]);
        Ok(GrpcResponse::new(GetSecuritySettingsResponse {
            password_policy: Some(PasswordPolicy {
                min_length: 8,
                max_length: 128,
                require_uppercase: true,
                ..PasswordPolicy::default()
            }),
        }))
    }
}

/// Starts the stand-in core on a free port; returns a channel to it and its call log.
pub(crate) async fn start_core() -> (Channel, Calls) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let calls = Calls::default();
    let server = tonic::transport::Server::builder()
        .add_service(CustomerServiceServer::new(Core(calls.clone())))
        .add_service(IdentityServiceServer::new(Core(calls.clone())))
        .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener));
    tokio::spawn(server);
    let channel = Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect_lazy();
    (channel, calls)
}

//! `/api/v1/api-clients` (admins): credentials of the client-credentials flow. A client is
//! created with the body of an API key and answered with its `client_id` and, once, its
//! `client_secret`, which `POST /api/v2/auth/token` exchanges for access tokens.

use super::api_keys::ApiKeys;
use super::client;
use super::output::ApiClientJson;
use crate::base_url::BaseUrl;
use crate::core_channel::Channel;
use crate::envelope::ApiError;
use crate::resource::query::path_id;
use crate::resource::{
    Answer, Body, Changes, Create, Delete, FieldSpec, List, QueryPairs, Resource,
};
use lastmile_proto::v1::{
    ApiKey, CreateApiClientRequest, CreateApiKeyRequest, ListApiClientsRequest, PageMeta,
    PageRequest, RevokeApiClientRequest,
};
use utoipa::openapi::path::Parameter;

/// The API clients collection.
pub(crate) struct ApiClients;

/// A client, and its secret in the answer that created it (shown this once).
pub(crate) struct Shown {
    client: ApiKey,
    secret: Option<String>,
}

impl Resource for ApiClients {
    const PATH: &'static str = "/api/v1/api-clients";
    const SINGULAR: &'static str = "api_client";
    const PLURAL: &'static str = "api_clients";
    const TITLE: &'static str = "API client";
    const ABOUT: &'static str = "Client-credentials clients (admins only)";
    type Item = Shown;
    type View = ApiClientJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        path_id(segment)
    }

    fn view(shown: Shown, _: &BaseUrl) -> ApiClientJson {
        ApiClientJson::new(shown.client, shown.secret)
    }
}

impl List for ApiClients {
    type Request = ListApiClientsRequest;

    fn filters() -> Vec<Parameter> {
        Vec::new()
    }

    fn request(page: PageRequest, _: &QueryPairs) -> Result<ListApiClientsRequest, ApiError> {
        Ok(ListApiClientsRequest { page: Some(page) })
    }

    async fn call(
        core: Channel,
        request: tonic::Request<ListApiClientsRequest>,
    ) -> Answer<(Vec<Shown>, Option<PageMeta>)> {
        let answer = client(core).list_api_clients(request).await?.into_inner();
        let clients = answer.api_clients.into_iter().map(|client| Shown {
            client,
            secret: None,
        });
        Ok((clients.collect(), answer.meta))
    }
}

/// The same body as an API key's.
impl Body for ApiClients {
    type Input = CreateApiKeyRequest;
    const VALIDATES: bool = <ApiKeys as Body>::VALIDATES;
    const FIELDS: &'static [FieldSpec<CreateApiKeyRequest>] = <ApiKeys as Body>::FIELDS;
}

impl Create for ApiClients {
    type Request = CreateApiClientRequest;

    fn request(changes: Changes<CreateApiKeyRequest>, _: bool) -> CreateApiClientRequest {
        CreateApiClientRequest {
            client: Some(changes.input),
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<CreateApiClientRequest>,
    ) -> Answer<Option<Shown>> {
        let answer = client(core).create_api_client(request).await?.into_inner();
        Ok(answer.api_client.map(|client| Shown {
            client,
            secret: Some(answer.client_secret),
        }))
    }
}

impl Delete for ApiClients {
    type Request = RevokeApiClientRequest;

    /// Revokes the client and so every token it holds.
    fn request(id: i64) -> RevokeApiClientRequest {
        RevokeApiClientRequest { id }
    }

    async fn call(core: Channel, request: tonic::Request<RevokeApiClientRequest>) -> Answer<()> {
        client(core).revoke_api_client(request).await?;
        Ok(())
    }
}

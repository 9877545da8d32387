//! `/api/v1/api-keys`: the caller's API keys (every key, for admins).

use super::client;
use super::output::ApiKeyJson;
use crate::base_url::BaseUrl;
use crate::core_channel::Channel;
use crate::envelope::ApiError;
use crate::resource::query::path_id;
use crate::resource::{
    Answer, Body, Changes, Create, Delete, FieldSpec, Kind, List, QueryPairs, Resource, Rule,
    enum_number,
};
use lastmile_proto::RestName;
use lastmile_proto::v1::{
    ApiKey, CreateApiKeyRequest, ListApiKeysRequest, PageMeta, PageRequest, RateLimitTier,
    RevokeApiKeyRequest, Role,
};
use utoipa::openapi::path::Parameter;

/// The API keys collection.
pub(crate) struct ApiKeys;

/// A key, and the key itself in the answer that created it (shown this once).
pub(crate) struct Shown {
    key: ApiKey,
    secret: Option<String>,
}

impl Resource for ApiKeys {
    const PATH: &'static str = "/api/v1/api-keys";
    const SINGULAR: &'static str = "api_key";
    const PLURAL: &'static str = "api_keys";
    const TITLE: &'static str = "API key";
    const ABOUT: &'static str = "The caller's API keys";
    type Item = Shown;
    type View = ApiKeyJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        path_id(segment)
    }

    fn view(shown: Shown, _: &BaseUrl) -> ApiKeyJson {
        ApiKeyJson::new(shown.key, shown.secret)
    }
}

impl List for ApiKeys {
    type Request = ListApiKeysRequest;

    fn filters() -> Vec<Parameter> {
        Vec::new()
    }

    fn request(page: PageRequest, _: &QueryPairs) -> Result<ListApiKeysRequest, ApiError> {
        Ok(ListApiKeysRequest { page: Some(page) })
    }

    async fn call(
        core: Channel,
        request: tonic::Request<ListApiKeysRequest>,
    ) -> Answer<(Vec<Shown>, Option<PageMeta>)> {
        let answer = client(core).list_api_keys(request).await?.into_inner();
        let keys = answer
            .api_keys
            .into_iter()
            .map(|key| Shown { key, secret: None });
        Ok((keys.collect(), answer.meta))
    }
}

impl Body for ApiKeys {
    type Input = CreateApiKeyRequest;
    const VALIDATES: bool = false;
    const FIELDS: &'static [FieldSpec<CreateApiKeyRequest>] = &[
        FieldSpec {
            name: "name",
            kind: Kind::Text(|k, v| k.name = v.unwrap_or_default()),
            nullable: false,
            required: true,
            rule: Rule::length(1, 255),
            description: "Name shown to operators.",
        },
        FieldSpec {
            name: "description",
            kind: Kind::Text(|k, v| k.description = v),
            nullable: true,
            required: false,
            rule: Rule::length(0, 1000),
            description: "Free text; blank is as if not given.",
        },
        FieldSpec {
            name: "role",
            kind: Kind::OneOf(Role::NAMES_OR_EMPTY, |k, v| {
                k.role = v.map_or(0, |name| enum_number::<Role>(&name));
            }),
            nullable: true,
            required: false,
            rule: Rule::NONE,
            description: "At most the caller's own role; null or empty: the caller's role. \
                          `reseller` is the only role of a partner's staff and theirs alone.",
        },
        FieldSpec {
            name: "tier",
            kind: Kind::OneOf(RateLimitTier::NAMES_OR_EMPTY, |k, v| {
                k.tier = v.map_or(0, |name| enum_number::<RateLimitTier>(&name));
            }),
            nullable: true,
            required: false,
            rule: Rule::NONE,
            description: "Rate-limit tier; admins only (others may name `standard`). Null or \
                          empty: `standard`.",
        },
        FieldSpec {
            name: "expires_at",
            kind: Kind::DateTime(|k, v| k.expires_at = v),
            nullable: true,
            required: false,
            rule: Rule::NONE,
            description: "When the key stops working; in the future. Null or empty: never.",
        },
    ];
}

impl Create for ApiKeys {
    type Request = CreateApiKeyRequest;

    /// A key owned by the caller.
    fn request(changes: Changes<CreateApiKeyRequest>, _: bool) -> CreateApiKeyRequest {
        changes.input
    }

    async fn call(
        core: Channel,
        request: tonic::Request<CreateApiKeyRequest>,
    ) -> Answer<Option<Shown>> {
        let answer = client(core).create_api_key(request).await?.into_inner();
        Ok(answer.api_key.map(|key| Shown {
            key,
            secret: Some(answer.key),
        }))
    }
}

impl Delete for ApiKeys {
    type Request = RevokeApiKeyRequest;

    /// Revokes the key: it is refused from the next request on.
    fn request(id: i64) -> RevokeApiKeyRequest {
        RevokeApiKeyRequest { id }
    }

    async fn call(core: Channel, request: tonic::Request<RevokeApiKeyRequest>) -> Answer<()> {
        client(core).revoke_api_key(request).await?;
        Ok(())
    }
}

//! `/api/v1/ip-pools`: static pools whose addresses Lastmile hands out one per service,
//! and dynamic pools that name a pool on the router; a static pool shows its usage.

use super::output::IpPoolJson;
use super::{client, name_field, search};
use crate::base_url::BaseUrl;
use crate::core_channel::Channel;
use crate::envelope::ApiError;
use crate::resource::query::{id_parameter, path_id};
use crate::resource::{
    Answer, Body, Changes, Create, Delete, FieldSpec, Get, Kind, List, QueryPairs, Resource, Rule,
    Text, Update, enum_number,
};
use lastmile_proto::v1::{
    CreateIpPoolRequest, DeleteIpPoolRequest, GetIpPoolRequest, IpPool, IpPoolInput, IpPoolKind,
    ListIpPoolsRequest, PageMeta, PageRequest, UpdateIpPoolRequest,
};
use lastmile_proto::{EXCLUDED_MAX, RestName};
use utoipa::openapi::path::Parameter;

/// The IP pools collection.
pub(crate) struct IpPools;

impl Resource for IpPools {
    const PATH: &'static str = "/api/v1/ip-pools";
    const SINGULAR: &'static str = "ip_pool";
    const PLURAL: &'static str = "ip_pools";
    const TITLE: &'static str = "IP pool";
    const ABOUT: &'static str = "IP pools: static addresses handed out per service, or a \
                                 router's dynamic pool";
    type Item = IpPool;
    type View = IpPoolJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        path_id(segment)
    }

    fn view(pool: IpPool, base: &BaseUrl) -> IpPoolJson {
        IpPoolJson::new(pool, base, Self::PATH)
    }
}

impl Body for IpPools {
    type Input = IpPoolInput;
    const FIELDS: &'static [FieldSpec<IpPoolInput>] = &[
        name_field(|p, v| p.name = v.unwrap_or_default()),
        FieldSpec {
            name: "cidr",
            kind: Kind::Text(|p, v| p.cidr = v.unwrap_or_default()),
            nullable: false,
            required: true,
            rule: Rule::text(Text::Cidr),
            description: "An IPv4 network address with a prefix from /8 to /32, host bits \
                          zero (10.0.0.0/24, not 10.0.0.1/24). Cannot change while addresses \
                          are assigned.",
        },
        FieldSpec {
            name: "gateway",
            kind: Kind::Text(|p, v| p.gateway = v.filter(|v| !v.trim().is_empty())),
            nullable: true,
            required: false,
            rule: Rule::text(Text::Ipv4 { optional: true }),
            description: "The subscribers' gateway: a host address inside the network (never \
                          handed out); null or empty clears it.",
        },
        FieldSpec {
            name: "router_id",
            kind: Kind::Integer(|p, v| p.router_id = v),
            nullable: true,
            required: false,
            rule: Rule::REFERENCE,
            description: "The router serving the pool; must exist. Null clears it.",
        },
        FieldSpec {
            name: "kind",
            kind: Kind::OneOf(IpPoolKind::NAMES, |p, v| {
                p.kind = v.map_or(0, |name| enum_number::<IpPoolKind>(&name));
            }),
            nullable: false,
            required: true,
            rule: Rule::NONE,
            description: "`static`: Lastmile hands out one address per service; `dynamic`: the \
                          router hands them out of its pool of this name. Cannot change while \
                          addresses are assigned.",
        },
        FieldSpec {
            name: "excluded",
            kind: Kind::Texts(|p, v| p.excluded = v.unwrap_or_default()),
            nullable: true,
            required: false,
            rule: Rule {
                text: Some(Text::Ipv4 { optional: false }),
                items: Some((0, EXCLUDED_MAX)),
                ..Rule::NONE
            },
            description: "Addresses inside the network never to hand out; null or empty \
                          clears them.",
        },
    ];
}

impl List for IpPools {
    type Request = ListIpPoolsRequest;

    fn filters() -> Vec<Parameter> {
        vec![
            search("Matches the name or the cidr (case-insensitive substring)."),
            id_parameter("router_id", "Only the pools of this router."),
        ]
    }

    fn request(page: PageRequest, query: &QueryPairs) -> Result<ListIpPoolsRequest, ApiError> {
        Ok(ListIpPoolsRequest {
            page: Some(page),
            search: query.text("search"),
            router_id: query.id("router_id")?,
        })
    }

    async fn call(
        core: Channel,
        request: tonic::Request<ListIpPoolsRequest>,
    ) -> Answer<(Vec<IpPool>, Option<PageMeta>)> {
        let answer = client(core).list_ip_pools(request).await?.into_inner();
        Ok((answer.ip_pools, answer.meta))
    }
}

impl Get for IpPools {
    type Request = GetIpPoolRequest;

    fn request(id: i64) -> GetIpPoolRequest {
        GetIpPoolRequest { id }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<GetIpPoolRequest>,
    ) -> Answer<Option<IpPool>> {
        Ok(client(core)
            .get_ip_pool(request)
            .await?
            .into_inner()
            .ip_pool)
    }
}

impl Create for IpPools {
    type Request = CreateIpPoolRequest;

    fn request(changes: Changes<IpPoolInput>, validate_only: bool) -> CreateIpPoolRequest {
        CreateIpPoolRequest {
            ip_pool: Some(changes.input),
            validate_only,
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<CreateIpPoolRequest>,
    ) -> Answer<Option<IpPool>> {
        Ok(client(core)
            .create_ip_pool(request)
            .await?
            .into_inner()
            .ip_pool)
    }
}

impl Update for IpPools {
    type Request = UpdateIpPoolRequest;

    fn request(id: i64, changes: Changes<IpPoolInput>, validate_only: bool) -> UpdateIpPoolRequest {
        UpdateIpPoolRequest {
            id,
            changes: Some(changes.input),
            update_mask: Some(prost_types::FieldMask {
                paths: changes.mask,
            }),
            validate_only,
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<UpdateIpPoolRequest>,
    ) -> Answer<Option<IpPool>> {
        Ok(client(core)
            .update_ip_pool(request)
            .await?
            .into_inner()
            .ip_pool)
    }
}

impl Delete for IpPools {
    type Request = DeleteIpPoolRequest;
    const IN_USE: Option<&'static str> = Some(
        "Addresses of it are assigned, or plans or services that are not terminated name it \
         (`errors.ip_pool`)",
    );

    /// Removes the pool with its released addresses.
    fn request(id: i64) -> DeleteIpPoolRequest {
        DeleteIpPoolRequest { id }
    }

    async fn call(core: Channel, request: tonic::Request<DeleteIpPoolRequest>) -> Answer<()> {
        client(core).delete_ip_pool(request).await?;
        Ok(())
    }
}

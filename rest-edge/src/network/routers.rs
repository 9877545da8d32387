//! `/api/v1/routers`: the NAS that ask FreeRADIUS about subscribers, each mirrored into
//! FreeRADIUS's `nas` table. The RADIUS secret is written, never read back.

use super::output::RouterJson;
use super::{client, name_field, search};
use crate::base_url::BaseUrl;
use crate::core_channel::Channel;
use crate::envelope::ApiError;
use crate::json_input::saturate_i32;
use crate::resource::query::path_id;
use crate::resource::{
    Answer, Body, Changes, Create, Delete, FieldSpec, Get, Kind, List, QueryPairs, Resource, Rule,
    Text, Update, enum_number,
};
use lastmile_proto::v1::{
    CreateRouterRequest, DeleteRouterRequest, GetRouterRequest, ListRoutersRequest, PageMeta,
    PageRequest, Router, RouterInput, RouterKind, UpdateRouterRequest,
};
use lastmile_proto::{LOCATION_MAX, RestName};
use utoipa::openapi::path::Parameter;

/// The routers collection.
pub(crate) struct Routers;

impl Resource for Routers {
    const PATH: &'static str = "/api/v1/routers";
    const SINGULAR: &'static str = "router";
    const PLURAL: &'static str = "routers";
    const TITLE: &'static str = "Router";
    const ABOUT: &'static str = "Routers (NAS) that authenticate subscribers against RADIUS";
    type Item = Router;
    type View = RouterJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        path_id(segment)
    }

    fn view(router: Router, base: &BaseUrl) -> RouterJson {
        RouterJson::new(router, base, Self::PATH)
    }
}

impl Body for Routers {
    type Input = RouterInput;
    const FIELDS: &'static [FieldSpec<RouterInput>] = &[
        name_field(|r, v| r.name = v.unwrap_or_default()),
        FieldSpec {
            name: "ip_address",
            kind: Kind::Text(|r, v| r.ip_address = v.unwrap_or_default()),
            nullable: false,
            required: true,
            rule: Rule::text(Text::Ipv4 { optional: false }),
            description: "The IPv4 address its RADIUS requests come from; unique (422 \"A \
                          router with this IP address already exists.\").",
        },
        FieldSpec {
            name: "kind",
            kind: Kind::OneOf(RouterKind::NAMES, |r, v| {
                r.kind = v.map_or(0, |name| enum_number::<RouterKind>(&name));
            }),
            nullable: false,
            required: true,
            rule: Rule::NONE,
            description: "Its make: `mikrotik`, `cisco`, `ubiquiti` or `other`.",
        },
        FieldSpec {
            name: "secret",
            kind: Kind::Text(|r, v| r.secret = v.unwrap_or_default()),
            nullable: false,
            required: true,
            rule: Rule::text(Text::RadiusSecret),
            description: "The RADIUS shared secret: 8-128 printable ASCII characters without \
                          spaces or quotes. Write-only: answers show `secret_set` instead. \
                          Left out of an update, it stays.",
        },
        FieldSpec {
            name: "coa_port",
            kind: Kind::Integer(|r, v| r.coa_port = v.map(saturate_i32)),
            nullable: false,
            required: false,
            rule: Rule::range(1, 65535),
            description: "The UDP port for CoA and Disconnect requests. Default 3799 (older \
                          MikroTik setups use 1700).",
        },
        FieldSpec {
            name: "location",
            kind: Kind::Text(|r, v| r.location = v.filter(|v| !v.is_empty())),
            nullable: true,
            required: false,
            rule: Rule::length(0, LOCATION_MAX),
            description: "Where it stands; null or empty clears it.",
        },
    ];
}

impl List for Routers {
    type Request = ListRoutersRequest;

    fn filters() -> Vec<Parameter> {
        vec![search(
            "Matches the name, IP address or location (case-insensitive substring).",
        )]
    }

    fn request(page: PageRequest, query: &QueryPairs) -> Result<ListRoutersRequest, ApiError> {
        Ok(ListRoutersRequest {
            page: Some(page),
            search: query.text("search"),
        })
    }

    async fn call(
        core: Channel,
        request: tonic::Request<ListRoutersRequest>,
    ) -> Answer<(Vec<Router>, Option<PageMeta>)> {
        let answer = client(core).list_routers(request).await?.into_inner();
        Ok((answer.routers, answer.meta))
    }
}

impl Get for Routers {
    type Request = GetRouterRequest;

    fn request(id: i64) -> GetRouterRequest {
        GetRouterRequest { id }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<GetRouterRequest>,
    ) -> Answer<Option<Router>> {
        Ok(client(core).get_router(request).await?.into_inner().router)
    }
}

impl Create for Routers {
    type Request = CreateRouterRequest;

    fn request(changes: Changes<RouterInput>, validate_only: bool) -> CreateRouterRequest {
        CreateRouterRequest {
            router: Some(changes.input),
            validate_only,
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<CreateRouterRequest>,
    ) -> Answer<Option<Router>> {
        Ok(client(core)
            .create_router(request)
            .await?
            .into_inner()
            .router)
    }
}

impl Update for Routers {
    type Request = UpdateRouterRequest;

    fn request(id: i64, changes: Changes<RouterInput>, validate_only: bool) -> UpdateRouterRequest {
        UpdateRouterRequest {
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
        request: tonic::Request<UpdateRouterRequest>,
    ) -> Answer<Option<Router>> {
        Ok(client(core)
            .update_router(request)
            .await?
            .into_inner()
            .router)
    }
}

impl Delete for Routers {
    type Request = DeleteRouterRequest;
    const IN_USE: Option<&'static str> =
        Some("IP pools or services that are not terminated use it (`errors.router`)");

    /// Removes the router and its FreeRADIUS `nas` row.
    fn request(id: i64) -> DeleteRouterRequest {
        DeleteRouterRequest { id }
    }

    async fn call(core: Channel, request: tonic::Request<DeleteRouterRequest>) -> Answer<()> {
        client(core).delete_router(request).await?;
        Ok(())
    }
}

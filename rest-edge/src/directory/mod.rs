//! `/api/v1/partners`, `/api/v1/organizations` and `/api/v1/user-groups`: the directory
//! customers reference. The three kinds are served alike by `DirectoryService`, so their
//! calls are declared once here ([`directory_calls!`]); each kind's file holds its names,
//! its field table and its JSON view.

pub(crate) mod organizations;
pub(crate) mod partners;
pub(crate) mod user_groups;

use crate::base_url::BaseUrl;
use crate::core_channel::Channel;
use crate::format::{SelfLink, timestamp};
use crate::resource::query::text_parameter;
use crate::resource::{FieldSpec, Kind, QueryPairs, Rule};
use lastmile_proto::v1::PageRequest;
use lastmile_proto::v1::directory_service_client::DirectoryServiceClient;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::path::Parameter;

/// A client of the core's directory service.
pub(crate) fn client(core: Channel) -> DirectoryServiceClient<Channel> {
    DirectoryServiceClient::new(core)
}

/// The proto input of a directory entry: every kind has a name and a description.
pub(crate) trait EntryInput {
    /// `name`.
    fn name(&mut self) -> &mut String;
    /// `description`.
    fn description(&mut self) -> &mut Option<String>;
}

/// An organization or a user group as the REST API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EntryJson {
    /// Id.
    pub id: i64,
    /// Name, unique among its kind (ignoring case).
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// RFC 3339 UTC with microseconds.
    #[schema(value_type = String, example = "2024-01-15T10:30:00.000000Z")]
    pub created_at: Option<String>,
    /// RFC 3339 UTC with microseconds.
    #[schema(value_type = String, example = "2024-01-15T10:30:00.000000Z")]
    pub updated_at: Option<String>,
    /// Links to this resource.
    // Left out of JSON rendered outside a request (an event's data): no base URL there.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = SelfLink, required = true)]
    pub links: Option<SelfLink>,
}

impl EntryJson {
    /// The JSON of an entry of the collection at `path`; links start at `base`.
    pub(crate) fn new(
        base: &BaseUrl,
        path: &str,
        id: i64,
        name: String,
        description: Option<String>,
        [created_at, updated_at]: [Option<prost_types::Timestamp>; 2],
    ) -> Self {
        Self {
            links: SelfLink::new(base, path, id),
            id,
            name,
            description,
            created_at: timestamp(created_at),
            updated_at: timestamp(updated_at),
        }
    }
}

/// Implements [`EntryInput`] for a proto input with `name` and `description`.
macro_rules! entry_input {
    ($input:ty) => {
        impl $crate::directory::EntryInput for $input {
            fn name(&mut self) -> &mut String {
                &mut self.name
            }
            fn description(&mut self) -> &mut Option<String> {
                &mut self.description
            }
        }
    };
}
pub(crate) use entry_input;

/// Optional text where an empty string means "none".
pub(crate) fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// `name`: required, 2-100 characters, unique within the kind ignoring case.
pub(crate) const fn name_field<I: EntryInput>() -> FieldSpec<I> {
    FieldSpec {
        name: "name",
        kind: Kind::Text(|input, value| *input.name() = value.unwrap_or_default()),
        nullable: false,
        required: true,
        rule: Rule::length(2, 100),
        description: "2-100 characters; unique among its kind, ignoring case.",
    }
}

/// `description`: free text; `null` or empty clears it.
pub(crate) const fn description_field<I: EntryInput>() -> FieldSpec<I> {
    FieldSpec {
        name: "description",
        kind: Kind::Text(|input, value| *input.description() = non_empty(value)),
        nullable: true,
        required: false,
        rule: Rule::length(0, 1000),
        description: "Free text, up to 1000 characters; null or empty clears it.",
    }
}

/// The filters of a directory list: `search` and `sort`.
pub(crate) fn filters() -> Vec<Parameter> {
    vec![
        text_parameter(
            "search",
            "Matches the name (case-insensitive substring).",
            &[],
        ),
        text_parameter(
            "sort",
            "A leading `-` sorts descending. Default `name`.",
            &[
                "name",
                "-name",
                "created_at",
                "-created_at",
                "updated_at",
                "-updated_at",
                "id",
                "-id",
            ],
        ),
    ]
}

/// `(page, search, sort)` of a directory list.
pub(crate) fn list_query(
    page: PageRequest,
    query: &QueryPairs,
) -> (Option<PageRequest>, String, String) {
    (Some(page), query.text("search"), query.text("sort"))
}

/// The core calls of one directory kind: `directory_calls!(Kind, Item, Input, field,
/// plural_field, ListRequest, list_rpc, GetRequest, get_rpc, CreateRequest, create_rpc,
/// UpdateRequest, update_rpc, DeleteRequest, delete_rpc)`.
macro_rules! directory_calls {
    ($kind:ty, $item:ty, $input:ty, $one:ident, $many:ident,
     $list:ident, $list_rpc:ident, $get:ident, $get_rpc:ident,
     $create:ident, $create_rpc:ident, $update:ident, $update_rpc:ident,
     $delete:ident, $delete_rpc:ident) => {
        impl $crate::resource::List for $kind {
            type Request = $list;
            fn filters() -> Vec<utoipa::openapi::path::Parameter> {
                $crate::directory::filters()
            }
            fn request(
                page: lastmile_proto::v1::PageRequest,
                query: &$crate::resource::QueryPairs,
            ) -> Result<$list, $crate::envelope::ApiError> {
                let (page, search, sort) = $crate::directory::list_query(page, query);
                Ok($list { page, search, sort })
            }
            async fn call(
                core: crate::core_channel::Channel,
                request: tonic::Request<$list>,
            ) -> $crate::resource::Answer<(Vec<$item>, Option<lastmile_proto::v1::PageMeta>)> {
                let answer = $crate::directory::client(core)
                    .$list_rpc(request)
                    .await?
                    .into_inner();
                Ok((answer.$many, answer.meta))
            }
        }
        impl $crate::resource::Get for $kind {
            type Request = $get;
            fn request(id: i64) -> $get {
                $get { id }
            }
            async fn call(
                core: crate::core_channel::Channel,
                request: tonic::Request<$get>,
            ) -> $crate::resource::Answer<Option<$item>> {
                Ok($crate::directory::client(core)
                    .$get_rpc(request)
                    .await?
                    .into_inner()
                    .$one)
            }
        }
        impl $crate::resource::Create for $kind {
            type Request = $create;
            fn request(changes: $crate::resource::Changes<$input>, validate_only: bool) -> $create {
                $create {
                    $one: Some(changes.input),
                    validate_only,
                }
            }
            async fn call(
                core: crate::core_channel::Channel,
                request: tonic::Request<$create>,
            ) -> $crate::resource::Answer<Option<$item>> {
                Ok($crate::directory::client(core)
                    .$create_rpc(request)
                    .await?
                    .into_inner()
                    .$one)
            }
        }
        impl $crate::resource::Update for $kind {
            type Request = $update;
            fn request(
                id: i64,
                changes: $crate::resource::Changes<$input>,
                validate_only: bool,
            ) -> $update {
                let update_mask = Some(prost_types::FieldMask {
                    paths: changes.mask,
                });
                $update {
                    id,
                    changes: Some(changes.input),
                    update_mask,
                    validate_only,
                }
            }
            async fn call(
                core: crate::core_channel::Channel,
                request: tonic::Request<$update>,
            ) -> $crate::resource::Answer<Option<$item>> {
                Ok($crate::directory::client(core)
                    .$update_rpc(request)
                    .await?
                    .into_inner()
                    .$one)
            }
        }
        impl $crate::resource::Delete for $kind {
            type Request = $delete;
            const CONFLICT: Option<&'static str> = Some("Customers still reference it");
            fn request(id: i64) -> $delete {
                $delete { id }
            }
            async fn call(
                core: crate::core_channel::Channel,
                request: tonic::Request<$delete>,
            ) -> $crate::resource::Answer<()> {
                $crate::directory::client(core).$delete_rpc(request).await?;
                Ok(())
            }
        }
    };
}
pub(crate) use directory_calls;

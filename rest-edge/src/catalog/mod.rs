//! `/api/v1/plans`: the catalog, declared on the resource layer; the same collection at
//! `/api/v1/packages` and `/api/v1/products` (the names other ISP systems use), and
//! `GET /api/v1/products/pricing`, the active plans' prices (a list of its own view over
//! the same call). No rule lives here; the core decides.

mod input;
mod output;

pub(crate) use output::PlanJson;

use crate::base_url::BaseUrl;
use crate::core_channel::Channel;
use crate::envelope::ApiError;
use crate::resource::query::{sort_values, text_parameter};
use crate::resource::{
    Alias, Answer, Body, Changes, Create, Delete, FieldSpec, Get, List, Names, QueryPairs,
    Resource, Update,
};
use lastmile_proto::RestName;
use lastmile_proto::v1::plan_service_client::PlanServiceClient;
use lastmile_proto::v1::{
    CreatePlanRequest, DeletePlanRequest, GetPlanRequest, ListPlansRequest, PageMeta, PageRequest,
    Plan, PlanInput, PlanStatus, UpdatePlanRequest,
};
use output::PriceJson;
use utoipa::openapi::path::Parameter;

/// The path of the plans, where every plan's `links.self` points.
const PATH: &str = "/api/v1/plans";

fn client(core: Channel) -> PlanServiceClient<Channel> {
    PlanServiceClient::new(core)
}

/// The plans collection.
pub(crate) struct Plans;

impl Resource for Plans {
    const PATH: &'static str = PATH;
    const SINGULAR: &'static str = "plan";
    const PLURAL: &'static str = "plans";
    const TITLE: &'static str = "Plan";
    const ABOUT: &'static str = "The plans the ISP sells, each a RADIUS group";
    type Item = Plan;
    type View = PlanJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        crate::resource::query::path_id(segment)
    }

    fn view(plan: Plan, base: &BaseUrl) -> PlanJson {
        PlanJson::new(plan, base)
    }
}

impl List for Plans {
    type Request = ListPlansRequest;

    fn filters() -> Vec<Parameter> {
        let sorts = sort_values(&["name", "created_at", "updated_at", "id"]);
        vec![
            text_parameter(
                "search",
                "Matches the name (case-insensitive substring).",
                &[],
            ),
            text_parameter("status", "Only plans in this status.", PlanStatus::NAMES),
            text_parameter(
                "sort",
                "A leading `-` sorts descending. Default `name`.",
                &sorts.iter().map(String::as_str).collect::<Vec<_>>(),
            ),
        ]
    }

    fn request(page: PageRequest, query: &QueryPairs) -> Result<ListPlansRequest, ApiError> {
        let status = query
            .choice("status", PlanStatus::NAMES)?
            .map_or(0, PlanStatus::wire_number);
        Ok(ListPlansRequest {
            page: Some(page),
            search: query.text("search"),
            status,
            sort: query.text("sort"),
        })
    }

    async fn call(
        core: Channel,
        request: tonic::Request<ListPlansRequest>,
    ) -> Answer<(Vec<Plan>, Option<PageMeta>)> {
        let answer = client(core).list_plans(request).await?.into_inner();
        Ok((answer.plans, answer.meta))
    }
}

impl Get for Plans {
    type Request = GetPlanRequest;

    fn request(id: i64) -> GetPlanRequest {
        GetPlanRequest { id }
    }

    async fn call(core: Channel, request: tonic::Request<GetPlanRequest>) -> Answer<Option<Plan>> {
        Ok(client(core).get_plan(request).await?.into_inner().plan)
    }
}

impl Body for Plans {
    type Input = PlanInput;
    const FIELDS: &'static [FieldSpec<PlanInput>] = input::FIELDS;
}

impl Create for Plans {
    type Request = CreatePlanRequest;

    fn request(changes: Changes<PlanInput>, validate_only: bool) -> CreatePlanRequest {
        CreatePlanRequest {
            plan: Some(changes.input),
            validate_only,
        }
    }

    async fn call(
        core: Channel,
        request: tonic::Request<CreatePlanRequest>,
    ) -> Answer<Option<Plan>> {
        Ok(client(core).create_plan(request).await?.into_inner().plan)
    }
}

impl Update for Plans {
    type Request = UpdatePlanRequest;

    fn request(id: i64, changes: Changes<PlanInput>, validate_only: bool) -> UpdatePlanRequest {
        UpdatePlanRequest {
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
        request: tonic::Request<UpdatePlanRequest>,
    ) -> Answer<Option<Plan>> {
        Ok(client(core).update_plan(request).await?.into_inner().plan)
    }
}

impl Delete for Plans {
    type Request = DeletePlanRequest;
    const IN_USE: Option<&'static str> =
        Some("Services that are not terminated use the plan; archive it instead");

    fn request(id: i64) -> DeletePlanRequest {
        DeletePlanRequest { id }
    }

    async fn call(core: Channel, request: tonic::Request<DeletePlanRequest>) -> Answer<()> {
        client(core).delete_plan(request).await?;
        Ok(())
    }
}

/// The plans as packages.
pub(crate) struct PackageNames;

impl Names for PackageNames {
    const PATH: &'static str = "/api/v1/packages";
    const SINGULAR: &'static str = "package";
    const PLURAL: &'static str = "packages";
    const TITLE: &'static str = "Package";
    const ABOUT: &'static str = "The plans, for clients that call them packages";
}

/// The plans as products.
pub(crate) struct ProductNames;

impl Names for ProductNames {
    const PATH: &'static str = "/api/v1/products";
    const SINGULAR: &'static str = "product";
    const PLURAL: &'static str = "products";
    const TITLE: &'static str = "Product";
    const ABOUT: &'static str = "The plans, for clients that call them products";
}

/// `/api/v1/packages`.
pub(crate) type Packages = Alias<Plans, PackageNames>;
/// `/api/v1/products`.
pub(crate) type Products = Alias<Plans, ProductNames>;

/// `GET /api/v1/products/pricing`: the active plans' prices, by name, a page at a time.
pub(crate) struct Pricing;

impl Resource for Pricing {
    const PATH: &'static str = "/api/v1/products/pricing";
    const SINGULAR: &'static str = "price";
    const PLURAL: &'static str = "pricing";
    const TITLE: &'static str = "Price";
    const ABOUT: &'static str = "The active plans' prices, by name";
    type Item = Plan;
    type View = PriceJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        crate::resource::query::path_id(segment)
    }

    fn view(plan: Plan, base: &BaseUrl) -> PriceJson {
        PriceJson::from(PlanJson::new(plan, base))
    }
}

impl List for Pricing {
    type Request = ListPlansRequest;

    fn filters() -> Vec<Parameter> {
        Vec::new()
    }

    fn request(page: PageRequest, _: &QueryPairs) -> Result<ListPlansRequest, ApiError> {
        Ok(ListPlansRequest {
            page: Some(page),
            search: String::new(),
            status: PlanStatus::Active as i32,
            sort: "name".to_owned(),
        })
    }

    async fn call(
        core: Channel,
        request: tonic::Request<ListPlansRequest>,
    ) -> Answer<(Vec<Plan>, Option<PageMeta>)> {
        <Plans as List>::call(core, request).await
    }
}

#[cfg(test)]
mod tests;

//! `/api/v1/plans`: the catalog, declared on the resource layer; the same collection at
//! `/api/v1/packages` and `/api/v1/products` (the names other ISP systems use), and
//! `GET /api/v1/products/pricing`, the active plans' prices. No rule lives here; the core
//! decides.

mod input;
mod output;

pub(crate) use output::PlanJson;

use crate::base_url::BaseUrl;
use crate::core_channel::Channel;
use crate::credentials::Caller;
use crate::envelope::{ApiError, ErrorBody, Success};
use crate::resource::query::{sort_values, text_parameter};
use crate::resource::{
    Alias, Answer, Body, Changes, Create, Delete, FieldSpec, Get, List, Names, QueryPairs,
    Resource, Update,
};
use crate::{AppState, ModuleRoutes};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use lastmile_proto::RestName;
use lastmile_proto::v1::plan_service_client::PlanServiceClient;
use lastmile_proto::v1::{
    CreatePlanRequest, DeletePlanRequest, GetPlanRequest, ListPlanPricesRequest, ListPlansRequest,
    PageMeta, PageRequest, Plan, PlanInput, PlanStatus, UpdatePlanRequest,
};
use output::PriceJson;
use serde::Serialize;
use utoipa::openapi::path::Parameter;
use utoipa::{OpenApi, ToSchema};

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

/// `data` of the price list.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PricingData {
    /// Every active plan's prices, by name.
    pub pricing: Vec<PriceJson>,
}

/// The prices of every active plan, by name.
#[utoipa::path(
    get,
    path = "/api/v1/products/pricing",
    tag = "products",
    operation_id = "list_product_pricing",
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 200, description = "Every active plan's prices", body = Success<PricingData>),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
        (status = 503, description = "The core is unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn pricing(
    State(state): State<AppState>,
    caller: Caller,
    base: BaseUrl,
) -> Result<Json<Success<PricingData>>, ApiError> {
    let answer = client(state.core.clone())
        .list_plan_prices(caller.request(ListPlanPricesRequest {})?)
        .await?
        .into_inner();
    let pricing = answer
        .plans
        .into_iter()
        .map(|plan| PriceJson::from(PlanJson::new(plan, &base)))
        .collect();
    Ok(Json(Success::new("OK", PricingData { pricing })))
}

/// The price list's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(pricing), components(schemas(PricingData, PriceJson)))]
pub(crate) struct PricingDoc;

/// The price list's route.
pub(crate) fn pricing_routes() -> ModuleRoutes {
    ModuleRoutes {
        protected: Router::new().route("/api/v1/products/pricing", get(pricing)),
        public: Router::new(),
    }
}

#[cfg(test)]
mod tests;

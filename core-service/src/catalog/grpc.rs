//! The gRPC adapter: `PlanService` (conversions in `convert`). No rule and no SQL here.

use lastmile_proto::RestName;
use lastmile_proto::v1 as pb;
use pb::plan_service_server::{PlanService, PlanServiceServer};
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::{Request, Response, Status};

use super::{PlanInput, PlanQuery, PlanStatus, Plans};
use crate::Core;
use crate::auth::RequestContext;
use crate::authz::{Operation, Resource, ServiceAccess, rule};
use crate::db::Tx;
use crate::domains::Domain;
use crate::paging::PageQuery;
use crate::write::{Step, Writes};

/// The catalog domain as the server registers it.
pub const DOMAIN: Domain = Domain {
    access: ServiceAccess {
        service: <PlanServiceServer<PlanGrpc> as NamedService>::NAME,
        methods: &[
            rule("CreatePlan", Resource::Plans, Operation::Create),
            rule("GetPlan", Resource::Plans, Operation::Read),
            rule("ListPlans", Resource::Plans, Operation::Read),
            rule("UpdatePlan", Resource::Plans, Operation::Update),
            rule("DeletePlan", Resource::Plans, Operation::Delete),
        ],
    },
    serve,
};

fn serve(core: &Core, routes: &mut RoutesBuilder) {
    let grpc = PlanGrpc {
        plans: core.plans.clone(),
        writes: Writes::new(core.db.clone(), core.clock.clone()),
    };
    routes.add_service(PlanServiceServer::new(grpc));
}

/// `lastmile.v1.PlanService`.
#[derive(Debug, Clone)]
pub struct PlanGrpc {
    plans: Plans,
    writes: Writes,
}

/// The status filter of a list: unspecified is every plan; a number the contract does not
/// define is a bad request.
fn status_filter(value: i32) -> Result<Option<PlanStatus>, Status> {
    if value == 0 {
        return Ok(None);
    }
    pb::PlanStatus::try_from(value)
        .ok()
        .and_then(|status| PlanStatus::parse(status.rest_name()))
        .map(Some)
        .ok_or_else(|| {
            crate::error::Error::BadRequest(format!(
                "The status must be one of: {}.",
                pb::PlanStatus::NAMES.join(", ")
            ))
            .into()
        })
}

#[tonic::async_trait]
impl PlanService for PlanGrpc {
    async fn create_plan(
        &self,
        request: Request<pb::CreatePlanRequest>,
    ) -> Result<Response<pb::CreatePlanResponse>, Status> {
        let read = async |r: pb::CreatePlanRequest| {
            let input: PlanInput = r.plan.map(Into::into).unwrap_or_default();
            if r.validate_only {
                self.plans.validate_create(&input).await?;
                return Ok(Step::Answer(pb::CreatePlanResponse::default()));
            }
            Ok(Step::Commit(input))
        };
        let change = async |tx: &mut Tx, context: &RequestContext, input: PlanInput| {
            let plan = self.plans.create(tx, context, &input).await?;
            Ok(pb::CreatePlanResponse {
                plan: Some(plan.into()),
            })
        };
        self.writes.run(request, read, change).await
    }

    async fn get_plan(
        &self,
        request: Request<pb::GetPlanRequest>,
    ) -> Result<Response<pb::GetPlanResponse>, Status> {
        let plan = self.plans.get(request.into_inner().id).await?;
        Ok(Response::new(pb::GetPlanResponse {
            plan: Some(plan.into()),
        }))
    }

    async fn list_plans(
        &self,
        request: Request<pb::ListPlansRequest>,
    ) -> Result<Response<pb::ListPlansResponse>, Status> {
        let r = request.into_inner();
        let query = PlanQuery::new(
            PageQuery::from_request(r.page)?,
            r.search,
            status_filter(r.status)?,
            &r.sort,
        )?;
        let page = self.plans.list(&query).await?;
        let meta = page.meta();
        Ok(Response::new(pb::ListPlansResponse {
            plans: page.items.into_iter().map(Into::into).collect(),
            meta: Some(meta),
        }))
    }

    async fn update_plan(
        &self,
        request: Request<pb::UpdatePlanRequest>,
    ) -> Result<Response<pb::UpdatePlanResponse>, Status> {
        let read = async |r: pb::UpdatePlanRequest| {
            let input: PlanInput = r.changes.map(Into::into).unwrap_or_default();
            let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
            Ok(Step::of((r.id, input, paths), r.validate_only))
        };
        let change =
            async |tx: &mut Tx,
                   context: &RequestContext,
                   (id, input, paths): (i64, PlanInput, Vec<String>)| {
                let updated = self.plans.update(tx, context, id, &input, &paths).await?;
                Ok(pb::UpdatePlanResponse {
                    plan: Some(updated.plan.into()),
                })
            };
        self.writes.run(request, read, change).await
    }

    async fn delete_plan(
        &self,
        request: Request<pb::DeletePlanRequest>,
    ) -> Result<Response<pb::DeletePlanResponse>, Status> {
        let read = async |r: pb::DeletePlanRequest| Ok(Step::Commit(r.id));
        let change = async |tx: &mut Tx, context: &RequestContext, id: i64| {
            self.plans.delete(tx, context, id).await?;
            Ok(pb::DeletePlanResponse {})
        };
        self.writes.run(request, read, change).await
    }
}

//! The gRPC adapter of `ProvisioningService`.

use lastmile_proto::RestName;
use lastmile_proto::v1 as pb;
use pb::provisioning_service_server::{ProvisioningService, ProvisioningServiceServer};
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::{Request, Response, Status};

use super::Provisioning;
use super::drift::Difference;
use crate::Core;
use crate::auth::RequestContext;
use crate::authz::{Operation, Resource, ServiceAccess, rule};
use crate::db::Tx;
use crate::domains::Domain;
use crate::jobs::grpc::status_filter;
use crate::paging::PageQuery;
use crate::services::{ProvisionRequest, Queued, Services};
use crate::write::{Step, Writes};

/// The provisioning domain as the server registers it.
pub const DOMAIN: Domain = Domain {
    access: ServiceAccess {
        service: <ProvisioningServiceServer<ProvisioningGrpc> as NamedService>::NAME,
        methods: &[
            rule(
                "ListProvisioningJobs",
                Resource::Provisioning,
                Operation::Read,
            ),
            rule(
                "GetProvisioningJob",
                Resource::Provisioning,
                Operation::Read,
            ),
            rule("GetDrift", Resource::Provisioning, Operation::Read),
            rule("Reconcile", Resource::Provisioning, Operation::Act),
            rule("ProvisionService", Resource::Services, Operation::Act),
        ],
    },
    serve,
};

fn serve(core: &Core, routes: &mut RoutesBuilder) {
    let grpc = ProvisioningGrpc {
        provisioning: core.provisioning.clone(),
        services: core.services.clone(),
        writes: Writes::new(core.db.clone(), core.clock.clone()),
    };
    routes.add_service(ProvisioningServiceServer::new(grpc));
}

/// `lastmile.v1.ProvisioningService`.
#[derive(Debug, Clone)]
pub struct ProvisioningGrpc {
    provisioning: Provisioning,
    services: Services,
    writes: Writes,
}

impl From<Difference> for pb::DriftRow {
    fn from(d: Difference) -> Self {
        Self {
            table: d.table.to_owned(),
            name: d.name,
            service_id: d.service_id,
            kind: d.kind.to_owned(),
            attribute: d.attribute,
            op: d.op,
            value: d.value,
        }
    }
}

fn rows(differences: Vec<Difference>) -> Vec<pb::DriftRow> {
    differences.into_iter().map(Into::into).collect()
}

#[tonic::async_trait]
impl ProvisioningService for ProvisioningGrpc {
    async fn list_provisioning_jobs(
        &self,
        request: Request<pb::ListProvisioningJobsRequest>,
    ) -> Result<Response<pb::ListProvisioningJobsResponse>, Status> {
        let r = request.into_inner();
        let page = PageQuery::from_request(r.page)?;
        let list = self
            .provisioning
            .jobs(page, status_filter(r.status)?)
            .await?;
        Ok(Response::new(pb::ListProvisioningJobsResponse {
            meta: Some(list.meta()),
            jobs: list.items.into_iter().map(Into::into).collect(),
        }))
    }

    async fn get_provisioning_job(
        &self,
        request: Request<pb::GetProvisioningJobRequest>,
    ) -> Result<Response<pb::GetProvisioningJobResponse>, Status> {
        let job = self.provisioning.job(request.get_ref().id).await?;
        Ok(Response::new(pb::GetProvisioningJobResponse {
            job: Some(job.into()),
        }))
    }

    async fn get_drift(
        &self,
        request: Request<pb::GetDriftRequest>,
    ) -> Result<Response<pb::GetDriftResponse>, Status> {
        let page = PageQuery::from_request(request.get_ref().page)?;
        let report = self.provisioning.drift().await?;
        let total = i64::try_from(report.len()).unwrap_or(i64::MAX);
        let shown = report
            .into_iter()
            .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
            .take(usize::try_from(page.limit()).unwrap_or(0))
            .collect();
        Ok(Response::new(pb::GetDriftResponse {
            rows: rows(shown),
            meta: Some(page.meta(total)),
        }))
    }

    async fn reconcile(
        &self,
        request: Request<pb::ReconcileRequest>,
    ) -> Result<Response<pb::ReconcileResponse>, Status> {
        let read = async |_: pb::ReconcileRequest| Ok(Step::Commit(()));
        let change = async |tx: &mut Tx, context: &RequestContext, (): ()| {
            let (repaired, remaining) = self.provisioning.reconcile(tx, context).await?;
            Ok(pb::ReconcileResponse {
                repaired: rows(repaired),
                remaining: rows(remaining),
            })
        };
        self.writes.run(request, read, change).await
    }

    async fn provision_service(
        &self,
        request: Request<pb::ProvisionServiceRequest>,
    ) -> Result<Response<pb::ProvisionServiceResponse>, Status> {
        let read = async |r: pb::ProvisionServiceRequest| {
            let scheduled_time = match r.scheduled_time {
                Some(at) => Some(lastmile_proto::datetime(&at).ok_or_else(|| {
                    let mut errors = crate::error::FieldErrors::new();
                    errors.add("scheduled_time", "The scheduled time is not a valid date.");
                    crate::error::Error::Validation(errors)
                })?),
                None => None,
            };
            let input = ProvisionRequest {
                router_id: r.router_id,
                vlan_id: r.vlan_id,
                ip_assignment: r.ip_assignment,
                bandwidth_profile: r.bandwidth_profile,
                // The domain speaks the REST names; a number no name has stays unknown.
                priority: pb::ProvisioningPriority::try_from(r.priority)
                    .map_or_else(|_| r.priority.to_string(), |p| p.rest_name().to_owned()),
                scheduled_time,
            };
            Ok(Step::Commit((r.id, input)))
        };
        let change =
            async |tx: &mut Tx, context: &RequestContext, (id, input): (i64, ProvisionRequest)| {
                let queued = self.services.provision(tx, context, id, &input).await?;
                Ok(pb::ProvisionServiceResponse {
                    provisioning_job: Some(queued_message(queued)),
                })
            };
        self.writes.run(request, read, change).await
    }
}

fn queued_message(q: Queued) -> pb::QueuedProvisioning {
    pb::QueuedProvisioning {
        provisioning_job_id: q.job_id,
        service_id: q.service_id,
        status: "queued".into(),
        priority: pb::ProvisioningPriority::wire_number(&q.priority),
        estimated_completion: Some(lastmile_proto::timestamp(q.estimated_completion)),
        created_at: Some(lastmile_proto::timestamp(q.created_at)),
        kind: crate::services::PROVISION_KIND.into(),
    }
}

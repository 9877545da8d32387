//! The gRPC adapter of `ProvisioningService`.

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
        ],
    },
    serve,
};

fn serve(core: &Core, routes: &mut RoutesBuilder) {
    let grpc = ProvisioningGrpc {
        provisioning: core.provisioning.clone(),
        writes: Writes::new(core.db.clone(), core.clock.clone()),
    };
    routes.add_service(ProvisioningServiceServer::new(grpc));
}

/// `lastmile.v1.ProvisioningService`.
#[derive(Debug, Clone)]
pub struct ProvisioningGrpc {
    provisioning: Provisioning,
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
}

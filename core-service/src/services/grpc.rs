//! The gRPC adapter of `SubscriberService`.

use lastmile_proto::v1 as pb;
use lastmile_proto::{RestName, timestamp};
use pb::subscriber_service_server::{SubscriberService, SubscriberServiceServer};
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::{Request, Response, Status};

use super::service::ServiceQuery;
use super::{Service, ServiceAction, ServiceInput, ServiceStatus, Services, sees_credentials};
use crate::Core;
use crate::auth::{RequestContext, context};
use crate::authz::{Operation, Resource, ServiceAccess, rule};
use crate::db::Tx;
use crate::domains::Domain;
use crate::error::Error;
use crate::paging::PageQuery;
use crate::write::{Step, Writes};

/// The services domain as the server registers it.
pub const DOMAIN: Domain = Domain {
    access: ServiceAccess {
        service: <SubscriberServiceServer<ServiceGrpc> as NamedService>::NAME,
        methods: &[
            rule("CreateService", Resource::Services, Operation::Create),
            rule("GetService", Resource::Services, Operation::Read),
            rule("ListServices", Resource::Services, Operation::Read),
            rule("UpdateService", Resource::Services, Operation::Update),
            rule("DeleteService", Resource::Services, Operation::Delete),
            rule("PerformServiceAction", Resource::Services, Operation::Act),
            rule("ChangeServicePlan", Resource::Services, Operation::Act),
        ],
    },
    serve,
};

fn serve(core: &Core, routes: &mut RoutesBuilder) {
    let grpc = ServiceGrpc {
        services: core.services.clone(),
        writes: Writes::new(core.db.clone(), core.clock.clone()),
    };
    routes.add_service(SubscriberServiceServer::new(grpc));
}

/// `lastmile.v1.SubscriberService`.
#[derive(Debug, Clone)]
pub struct ServiceGrpc {
    services: Services,
    writes: Writes,
}

impl From<ServiceStatus> for pb::ServiceStatus {
    fn from(status: ServiceStatus) -> Self {
        match status {
            ServiceStatus::PendingActivation => pb::ServiceStatus::PendingActivation,
            ServiceStatus::Active => pb::ServiceStatus::Active,
            ServiceStatus::Suspended => pb::ServiceStatus::Suspended,
            ServiceStatus::Terminated => pb::ServiceStatus::Terminated,
        }
    }
}

impl From<Service> for pb::InternetService {
    fn from(s: Service) -> Self {
        Self {
            id: s.id,
            customer_id: s.customer_id,
            partner_id: s.partner_id,
            plan_id: s.plan_id,
            effective_download_kbps: s.download(),
            effective_upload_kbps: s.upload(),
            plan_name: s.plan_name,
            status: pb::ServiceStatus::from(s.status) as i32,
            status_reason: s.status_reason,
            download_kbps: s.download_kbps,
            upload_kbps: s.upload_kbps,
            data_limit_mb: s.data_limit_mb,
            installation_address: s.installation_address,
            scheduled_activation: s.scheduled_activation.map(timestamp),
            notes: s.notes,
            username: s.username,
            password: s.password,
            mac: s.mac,
            expiration: s.expiration.map(timestamp),
            router_id: s.router_id,
            vlan_id: s.vlan_id,
            ip_pool_id: s.ip_pool_id,
            ip_address: s.ip_address,
            pending_plan_id: s.pending_plan_id,
            suspended_with_customer: s.suspended_with_customer,
            activated_at: s.activated_at.map(timestamp),
            terminated_at: s.terminated_at.map(timestamp),
            created_at: Some(timestamp(s.created_at)),
            updated_at: Some(timestamp(s.updated_at)),
        }
    }
}

fn time(t: Option<prost_types::Timestamp>) -> Result<Option<chrono::DateTime<chrono::Utc>>, Error> {
    t.map(|t| {
        chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0))
            .ok_or_else(|| Error::BadRequest("A timestamp is out of range.".into()))
    })
    .transpose()
}

impl TryFrom<pb::InternetServiceInput> for ServiceInput {
    type Error = Error;

    fn try_from(i: pb::InternetServiceInput) -> Result<Self, Error> {
        Ok(Self {
            plan_id: i.plan_id,
            speed_download_mbps: i.speed_download_mbps,
            speed_upload_mbps: i.speed_upload_mbps,
            data_limit_gb: i.data_limit_gb,
            installation_address: i.installation_address,
            scheduled_activation: time(i.scheduled_activation)?,
            notes: i.notes,
            username: i.username,
            password: i.password,
            mac: i.mac,
            expiration: time(i.expiration)?,
            router_id: i.router_id,
            vlan_id: i.vlan_id,
            ip_pool_id: i.ip_pool_id,
            static_ip: i.static_ip,
        })
    }
}

/// The service as `context`'s caller may see it: the password only for roles that may.
fn shown(service: Service, context: &RequestContext) -> pb::InternetService {
    let mut shown = pb::InternetService::from(service);
    if !sees_credentials(context.principal.role) {
        shown.password.clear();
    }
    shown
}

fn input(i: Option<pb::InternetServiceInput>) -> Result<ServiceInput, Error> {
    i.map(ServiceInput::try_from)
        .transpose()
        .map(Option::unwrap_or_default)
}

#[tonic::async_trait]
impl SubscriberService for ServiceGrpc {
    async fn create_service(
        &self,
        request: Request<pb::CreateServiceRequest>,
    ) -> Result<Response<pb::CreateServiceResponse>, Status> {
        let read = async |r: pb::CreateServiceRequest| {
            Ok(Step::of((r.customer, input(r.service)?), r.validate_only))
        };
        let change = async |tx: &mut Tx,
                            context: &RequestContext,
                            (customer, input): (String, ServiceInput)| {
            let service = self.services.create(tx, context, &customer, &input).await?;
            Ok(pb::CreateServiceResponse {
                service: Some(shown(service, context)),
            })
        };
        self.writes.run(request, read, change).await
    }

    async fn get_service(
        &self,
        request: Request<pb::GetServiceRequest>,
    ) -> Result<Response<pb::GetServiceResponse>, Status> {
        let context = context(&request)?;
        let service = match &request.get_ref().key {
            Some(pb::get_service_request::Key::Id(id)) => self.services.get(context, *id).await?,
            Some(pb::get_service_request::Key::Username(name)) => {
                self.services.by_username(context, name).await?
            }
            None => return Err(Error::NotFound("Service").into()),
        };
        Ok(Response::new(pb::GetServiceResponse {
            service: Some(shown(service, context)),
        }))
    }

    async fn list_services(
        &self,
        request: Request<pb::ListServicesRequest>,
    ) -> Result<Response<pb::ListServicesResponse>, Status> {
        let r = request.get_ref();
        let page = PageQuery::from_request(r.page)?;
        let status = match pb::ServiceStatus::try_from(r.status) {
            Ok(pb::ServiceStatus::Unspecified) => None,
            Ok(status) => ServiceStatus::parse(status.rest_name()),
            Err(_) => {
                return Err(Error::BadRequest(format!(
                    "The status must be one of: {}.",
                    pb::ServiceStatus::NAMES.join(", ")
                ))
                .into());
            }
        };
        let query = ServiceQuery {
            customer: r.customer.clone(),
            status,
            plan_id: r.plan_id,
            router_id: r.router_id,
            search: r.search.clone().filter(|s| !s.trim().is_empty()),
        };
        let context = context(&request)?;
        let list = self.services.list(context, query, page).await?;
        Ok(Response::new(pb::ListServicesResponse {
            meta: Some(list.meta()),
            services: list.items.into_iter().map(|s| shown(s, context)).collect(),
        }))
    }

    async fn update_service(
        &self,
        request: Request<pb::UpdateServiceRequest>,
    ) -> Result<Response<pb::UpdateServiceResponse>, Status> {
        let read = async |r: pb::UpdateServiceRequest| {
            let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
            Ok(Step::of((r.id, input(r.changes)?, paths), r.validate_only))
        };
        let change =
            async |tx: &mut Tx,
                   context: &RequestContext,
                   (id, input, paths): (i64, ServiceInput, Vec<String>)| {
                let service = self
                    .services
                    .update(tx, context, id, &input, &paths)
                    .await?;
                Ok(pb::UpdateServiceResponse {
                    service: Some(shown(service, context)),
                })
            };
        self.writes.run(request, read, change).await
    }

    async fn delete_service(
        &self,
        request: Request<pb::DeleteServiceRequest>,
    ) -> Result<Response<pb::DeleteServiceResponse>, Status> {
        let read = async |r: pb::DeleteServiceRequest| Ok(Step::Commit(r.id));
        let change = async |tx: &mut Tx, context: &RequestContext, id: i64| {
            self.services.delete(tx, context, id).await?;
            Ok(pb::DeleteServiceResponse {})
        };
        self.writes.run(request, read, change).await
    }

    async fn perform_service_action(
        &self,
        request: Request<pb::PerformServiceActionRequest>,
    ) -> Result<Response<pb::PerformServiceActionResponse>, Status> {
        let read = async |r: pb::PerformServiceActionRequest| {
            let action = match pb::ServiceAction::try_from(r.action) {
                Ok(pb::ServiceAction::Activate) => Some(ServiceAction::Activate),
                Ok(pb::ServiceAction::Suspend) => Some(ServiceAction::Suspend),
                Ok(pb::ServiceAction::Unsuspend) => Some(ServiceAction::Unsuspend),
                Ok(pb::ServiceAction::Terminate) => Some(ServiceAction::Terminate),
                _ => None,
            };
            Ok(Step::Commit((r.id, action, r.reason)))
        };
        let change =
            async |tx: &mut Tx,
                   context: &RequestContext,
                   (id, action, reason): (i64, Option<ServiceAction>, String)| {
                let service = self.services.act(tx, context, id, action, &reason).await?;
                Ok(pb::PerformServiceActionResponse {
                    service: Some(shown(service, context)),
                })
            };
        self.writes.run(request, read, change).await
    }

    async fn change_service_plan(
        &self,
        request: Request<pb::ChangeServicePlanRequest>,
    ) -> Result<Response<pb::ChangeServicePlanResponse>, Status> {
        let read = async |r: pb::ChangeServicePlanRequest| {
            // Checked after the service is found: a caller who may not see it learns
            // nothing about the body.
            let next_period = match pb::PlanChangeTiming::try_from(r.timing) {
                Ok(pb::PlanChangeTiming::Unspecified | pb::PlanChangeTiming::Now) => Some(false),
                Ok(pb::PlanChangeTiming::NextPeriod) => Some(true),
                Err(_) => None,
            };
            Ok(Step::Commit((r.id, r.plan_id, next_period)))
        };
        let change = async |tx: &mut Tx,
                            context: &RequestContext,
                            (id, plan_id, next): (i64, i64, Option<bool>)| {
            let service = self
                .services
                .change_plan(tx, context, id, plan_id, next)
                .await?;
            Ok(pb::ChangeServicePlanResponse {
                service: Some(shown(service, context)),
            })
        };
        self.writes.run(request, read, change).await
    }
}

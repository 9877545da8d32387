//! The gRPC adapter of `NetworkService`.

use lastmile_proto::v1 as pb;
use pb::network_service_server::{NetworkService, NetworkServiceServer};
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::{Request, Response, Status};

use super::{IpPoolInput, Network, RouterInput};
use crate::Core;
use crate::auth::RequestContext;
use crate::authz::{Operation, Resource, ServiceAccess, rule};
use crate::db::Tx;
use crate::domains::Domain;
use crate::paging::PageQuery;
use crate::write::{Step, Writes};

/// The network domain as the server registers it.
pub const DOMAIN: Domain = Domain {
    access: ServiceAccess {
        service: <NetworkServiceServer<NetworkGrpc> as NamedService>::NAME,
        methods: &[
            rule("CreateRouter", Resource::Routers, Operation::Create),
            rule("GetRouter", Resource::Routers, Operation::Read),
            rule("ListRouters", Resource::Routers, Operation::Read),
            rule("UpdateRouter", Resource::Routers, Operation::Update),
            rule("DeleteRouter", Resource::Routers, Operation::Delete),
            rule("CreateIpPool", Resource::IpPools, Operation::Create),
            rule("GetIpPool", Resource::IpPools, Operation::Read),
            rule("ListIpPools", Resource::IpPools, Operation::Read),
            rule("UpdateIpPool", Resource::IpPools, Operation::Update),
            rule("DeleteIpPool", Resource::IpPools, Operation::Delete),
        ],
    },
    serve,
};

fn serve(core: &Core, routes: &mut RoutesBuilder) {
    let grpc = NetworkGrpc {
        network: core.network.clone(),
        writes: Writes::new(core.db.clone(), core.clock.clone()),
    };
    routes.add_service(NetworkServiceServer::new(grpc));
}

/// `lastmile.v1.NetworkService`.
#[derive(Debug, Clone)]
pub struct NetworkGrpc {
    network: Network,
    writes: Writes,
}

type Changes<I> = (i64, I, Vec<String>);

fn mask(mask: Option<prost_types::FieldMask>) -> Vec<String> {
    mask.map(|m| m.paths).unwrap_or_default()
}

#[tonic::async_trait]
impl NetworkService for NetworkGrpc {
    async fn create_router(
        &self,
        request: Request<pb::CreateRouterRequest>,
    ) -> Result<Response<pb::CreateRouterResponse>, Status> {
        let read = async |r: pb::CreateRouterRequest| {
            let input: RouterInput = r.router.map(Into::into).unwrap_or_default();
            if r.validate_only {
                self.network.validate_router(&input).await?;
                return Ok(Step::Answer(pb::CreateRouterResponse::default()));
            }
            Ok(Step::Commit(input))
        };
        let change = async |tx: &mut Tx, context: &RequestContext, input: RouterInput| {
            let router = self.network.create_router(tx, context, &input).await?;
            Ok(pb::CreateRouterResponse {
                router: Some(router.into()),
            })
        };
        self.writes.run(request, read, change).await
    }

    async fn get_router(
        &self,
        request: Request<pb::GetRouterRequest>,
    ) -> Result<Response<pb::GetRouterResponse>, Status> {
        let router = self.network.get_router(request.get_ref().id).await?;
        Ok(Response::new(pb::GetRouterResponse {
            router: Some(router.into()),
        }))
    }

    async fn list_routers(
        &self,
        request: Request<pb::ListRoutersRequest>,
    ) -> Result<Response<pb::ListRoutersResponse>, Status> {
        let r = request.get_ref();
        let page = PageQuery::from_request(r.page)?;
        let list = self.network.list_routers(&r.search, page).await?;
        Ok(Response::new(pb::ListRoutersResponse {
            meta: Some(list.meta()),
            routers: list.items.into_iter().map(Into::into).collect(),
        }))
    }

    async fn update_router(
        &self,
        request: Request<pb::UpdateRouterRequest>,
    ) -> Result<Response<pb::UpdateRouterResponse>, Status> {
        let read = async |r: pb::UpdateRouterRequest| {
            let input: RouterInput = r.changes.map(Into::into).unwrap_or_default();
            Ok(Step::of(
                (r.id, input, mask(r.update_mask)),
                r.validate_only,
            ))
        };
        let change = async |tx: &mut Tx,
                            context: &RequestContext,
                            (id, input, paths): Changes<RouterInput>| {
            let router = self
                .network
                .update_router(tx, context, id, &input, &paths)
                .await?;
            Ok(pb::UpdateRouterResponse {
                router: Some(router.into()),
            })
        };
        self.writes.run(request, read, change).await
    }

    async fn delete_router(
        &self,
        request: Request<pb::DeleteRouterRequest>,
    ) -> Result<Response<pb::DeleteRouterResponse>, Status> {
        let read = async |r: pb::DeleteRouterRequest| Ok(Step::Commit(r.id));
        let change = async |tx: &mut Tx, context: &RequestContext, id: i64| {
            self.network.delete_router(tx, context, id).await?;
            Ok(pb::DeleteRouterResponse {})
        };
        self.writes.run(request, read, change).await
    }

    async fn create_ip_pool(
        &self,
        request: Request<pb::CreateIpPoolRequest>,
    ) -> Result<Response<pb::CreateIpPoolResponse>, Status> {
        let read = async |r: pb::CreateIpPoolRequest| {
            let input: IpPoolInput = r.ip_pool.map(Into::into).unwrap_or_default();
            if r.validate_only {
                self.network.validate_pool(&input).await?;
                return Ok(Step::Answer(pb::CreateIpPoolResponse::default()));
            }
            Ok(Step::Commit(input))
        };
        let change = async |tx: &mut Tx, context: &RequestContext, input: IpPoolInput| {
            let pool = self.network.create_pool(tx, context, &input).await?;
            Ok(pb::CreateIpPoolResponse {
                ip_pool: Some(pool.into()),
            })
        };
        self.writes.run(request, read, change).await
    }

    async fn get_ip_pool(
        &self,
        request: Request<pb::GetIpPoolRequest>,
    ) -> Result<Response<pb::GetIpPoolResponse>, Status> {
        let pool = self.network.get_pool(request.get_ref().id).await?;
        Ok(Response::new(pb::GetIpPoolResponse {
            ip_pool: Some(pool.into()),
        }))
    }

    async fn list_ip_pools(
        &self,
        request: Request<pb::ListIpPoolsRequest>,
    ) -> Result<Response<pb::ListIpPoolsResponse>, Status> {
        let r = request.get_ref();
        let page = PageQuery::from_request(r.page)?;
        let list = self
            .network
            .list_pools(&r.search, r.router_id, page)
            .await?;
        Ok(Response::new(pb::ListIpPoolsResponse {
            meta: Some(list.meta()),
            ip_pools: list.items.into_iter().map(Into::into).collect(),
        }))
    }

    async fn update_ip_pool(
        &self,
        request: Request<pb::UpdateIpPoolRequest>,
    ) -> Result<Response<pb::UpdateIpPoolResponse>, Status> {
        let read = async |r: pb::UpdateIpPoolRequest| {
            let input: IpPoolInput = r.changes.map(Into::into).unwrap_or_default();
            Ok(Step::of(
                (r.id, input, mask(r.update_mask)),
                r.validate_only,
            ))
        };
        let change = async |tx: &mut Tx,
                            context: &RequestContext,
                            (id, input, paths): Changes<IpPoolInput>| {
            let pool = self
                .network
                .update_pool(tx, context, id, &input, &paths)
                .await?;
            Ok(pb::UpdateIpPoolResponse {
                ip_pool: Some(pool.into()),
            })
        };
        self.writes.run(request, read, change).await
    }

    async fn delete_ip_pool(
        &self,
        request: Request<pb::DeleteIpPoolRequest>,
    ) -> Result<Response<pb::DeleteIpPoolResponse>, Status> {
        let read = async |r: pb::DeleteIpPoolRequest| Ok(Step::Commit(r.id));
        let change = async |tx: &mut Tx, context: &RequestContext, id: i64| {
            self.network.delete_pool(tx, context, id).await?;
            Ok(pb::DeleteIpPoolResponse {})
        };
        self.writes.run(request, read, change).await
    }
}

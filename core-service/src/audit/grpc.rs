//! The gRPC adapter of `AuditService`.

use lastmile_proto::v1 as pb;
use lastmile_proto::{datetime, json_to_struct, timestamp};
use pb::audit_service_server::{AuditService, AuditServiceServer};
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::{Request, Response, Status};

use super::{AuditQuery, AuditRow};
use crate::Core;
use crate::authz::{Operation, Resource, ServiceAccess, rule};
use crate::db::Db;
use crate::domains::Domain;
use crate::error::Error;
use crate::paging::PageQuery;

/// The audit domain as the server registers it.
pub const DOMAIN: Domain = Domain {
    access: ServiceAccess {
        service: <AuditServiceServer<AuditGrpc> as NamedService>::NAME,
        methods: &[rule(
            "ListAuditEntries",
            Resource::AuditLog,
            Operation::Read,
        )],
    },
    serve,
};

fn serve(core: &Core, routes: &mut RoutesBuilder) {
    routes.add_service(AuditServiceServer::new(AuditGrpc::new(core.db.clone())));
}

/// `lastmile.v1.AuditService`.
#[derive(Debug, Clone)]
pub struct AuditGrpc {
    db: Db,
}

impl AuditGrpc {
    /// The service over `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[tonic::async_trait]
impl AuditService for AuditGrpc {
    async fn list_audit_entries(
        &self,
        request: Request<pb::ListAuditEntriesRequest>,
    ) -> Result<Response<pb::ListAuditEntriesResponse>, Status> {
        let r = request.into_inner();
        let page = PageQuery::from_request(r.page)?;
        let time = |t: Option<prost_types::Timestamp>, name: &str| match t {
            None => Ok(None),
            Some(t) => datetime(&t).map(Some).ok_or_else(|| {
                Error::BadRequest(format!("The {name} parameter is not a valid time."))
            }),
        };
        let text = |s: String| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let query = AuditQuery {
            page: page.page(),
            per_page: page.per_page(),
            action: text(r.action),
            resource_type: text(r.resource_type),
            resource_id: text(r.resource_id),
            from: time(r.from, "from")?,
            to: time(r.to, "to")?,
            ..AuditQuery::default()
        }
        .with_actor(&r.actor_id)?;
        let (rows, total) = super::list(&mut self.db.conn(), &query).await?;
        Ok(Response::new(pb::ListAuditEntriesResponse {
            audit_entries: rows.into_iter().map(Into::into).collect(),
            meta: Some(page.meta(total)),
        }))
    }
}

impl From<AuditRow> for pb::AuditEntry {
    fn from(row: AuditRow) -> Self {
        let before = row.before().map(json_to_struct);
        let after = row.after().map(json_to_struct);
        pb::AuditEntry {
            id: row.id,
            occurred_at: Some(timestamp(row.occurred_at)),
            actor: Some(pb::AuditActor {
                user_id: row.actor_user_id,
                api_key_id: row.actor_api_key_id,
                role: row.actor_role,
            }),
            action: row.action,
            resource_type: row.resource_type,
            resource_id: row.resource_id,
            before,
            after,
            reason: row.reason,
            request_id: row.request_id,
            client_address: row.client_address,
        }
    }
}

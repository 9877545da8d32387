//! The gRPC adapter: the `DirectoryService` implementation (conversions in `convert`).
//! The three kinds differ only in their messages, so every RPC converts its request and
//! hands it to one of five shared operations below; no rule and no SQL here.

use lastmile_proto::v1 as pb;
use pb::directory_service_server::{DirectoryService, DirectoryServiceServer};
use prost::Message;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::{Request, Response, Status};

use super::{Directory, DirectoryQuery, Entry, EntryInput, Kind};
use crate::Core;
use crate::auth::RequestContext;
use crate::authz::{Operation, Resource, ServiceAccess, rule};
use crate::clock::SharedClock;
use crate::db::{Db, Tx};
use crate::domains::Domain;
use crate::paging::PageQuery;
use crate::write::{Step, Writes};

/// The directory domain as the server registers it.
pub const DOMAIN: Domain = Domain {
    access: ServiceAccess {
        service: <DirectoryServiceServer<DirectoryGrpc> as NamedService>::NAME,
        methods: &[
            rule("CreatePartner", Resource::Partners, Operation::Create),
            rule("GetPartner", Resource::Partners, Operation::Read),
            rule("ListPartners", Resource::Partners, Operation::Read),
            rule("UpdatePartner", Resource::Partners, Operation::Update),
            rule("DeletePartner", Resource::Partners, Operation::Delete),
            rule(
                "CreateOrganization",
                Resource::Organizations,
                Operation::Create,
            ),
            rule("GetOrganization", Resource::Organizations, Operation::Read),
            rule(
                "ListOrganizations",
                Resource::Organizations,
                Operation::Read,
            ),
            rule(
                "UpdateOrganization",
                Resource::Organizations,
                Operation::Update,
            ),
            rule(
                "DeleteOrganization",
                Resource::Organizations,
                Operation::Delete,
            ),
            rule("CreateUserGroup", Resource::UserGroups, Operation::Create),
            rule("GetUserGroup", Resource::UserGroups, Operation::Read),
            rule("ListUserGroups", Resource::UserGroups, Operation::Read),
            rule("UpdateUserGroup", Resource::UserGroups, Operation::Update),
            rule("DeleteUserGroup", Resource::UserGroups, Operation::Delete),
        ],
    },
    serve,
};

fn serve(core: &Core, routes: &mut RoutesBuilder) {
    let grpc = DirectoryGrpc::new(core.db.clone(), core.clock.clone());
    routes.add_service(DirectoryServiceServer::new(grpc));
}

/// `lastmile.v1.DirectoryService`.
#[derive(Debug, Clone)]
pub struct DirectoryGrpc {
    directory: Directory,
    writes: Writes,
}

impl DirectoryGrpc {
    /// The service over `db`.
    pub fn new(db: Db, clock: SharedClock) -> Self {
        Self {
            directory: Directory::new(db.clone(), clock.clone()),
            writes: Writes::new(db, clock),
        }
    }

    /// Create: idempotent when the call carries a key; `validate_only` writes nothing and
    /// answers without an entry.
    async fn create<T: Message, R: Message + Default>(
        &self,
        request: Request<T>,
        kind: Kind,
        read: impl FnOnce(T) -> (EntryInput, bool),
        answer: impl Fn(Option<Entry>) -> R,
    ) -> Result<Response<R>, Status> {
        let read = async |r: T| {
            let (input, validate_only) = read(r);
            if validate_only {
                self.directory.validate_create(kind, &input).await?;
                return Ok(Step::Answer(answer(None)));
            }
            Ok(Step::Commit(input))
        };
        let change = async |tx: &mut Tx, context: &RequestContext, input: EntryInput| {
            let entry = self.directory.create(tx, context, kind, &input).await?;
            Ok(answer(Some(entry)))
        };
        self.writes.run(request, read, change).await
    }

    async fn get<R>(
        &self,
        kind: Kind,
        id: i64,
        answer: impl FnOnce(Entry) -> R,
    ) -> Result<Response<R>, Status> {
        let entry = self.directory.get(kind, id).await?;
        Ok(Response::new(answer(entry)))
    }

    async fn list<R>(
        &self,
        kind: Kind,
        page: Option<pb::PageRequest>,
        search: String,
        sort: &str,
        answer: impl FnOnce(Vec<Entry>, pb::PageMeta) -> R,
    ) -> Result<Response<R>, Status> {
        let query = DirectoryQuery::new(PageQuery::from_request(page)?, search, sort)?;
        let list = self.directory.list(kind, &query).await?;
        let meta = list.meta();
        Ok(Response::new(answer(list.items, meta)))
    }

    /// Update: `validate_only` runs the whole update and rolls it back.
    async fn update<T: Message, R: Message + Default>(
        &self,
        request: Request<T>,
        kind: Kind,
        read: impl FnOnce(T) -> (i64, EntryInput, Vec<String>, bool),
        answer: impl FnOnce(Entry) -> R,
    ) -> Result<Response<R>, Status> {
        let read = async |r: T| {
            let (id, input, paths, validate_only) = read(r);
            Ok(Step::of((id, input, paths), validate_only))
        };
        let change =
            async |tx: &mut Tx,
                   context: &RequestContext,
                   (id, input, paths): (i64, EntryInput, Vec<String>)| {
                let entry = self
                    .directory
                    .update(tx, context, kind, id, &input, &paths)
                    .await?;
                Ok(answer(entry))
            };
        self.writes.run(request, read, change).await
    }

    async fn delete<T: Message, R: Message + Default>(
        &self,
        request: Request<T>,
        kind: Kind,
        id: impl FnOnce(&T) -> i64,
    ) -> Result<Response<R>, Status> {
        let read = async |r: T| Ok(Step::Commit(id(&r)));
        let change = async |tx: &mut Tx, context: &RequestContext, id: i64| {
            self.directory.delete(tx, context, kind, id).await?;
            Ok(R::default())
        };
        self.writes.run(request, read, change).await
    }
}

fn mask(mask: Option<prost_types::FieldMask>) -> Vec<String> {
    mask.map(|m| m.paths).unwrap_or_default()
}

#[tonic::async_trait]
impl DirectoryService for DirectoryGrpc {
    async fn create_partner(
        &self,
        request: Request<pb::CreatePartnerRequest>,
    ) -> Result<Response<pb::CreatePartnerResponse>, Status> {
        let read = |r: pb::CreatePartnerRequest| {
            (
                r.partner.map(Into::into).unwrap_or_default(),
                r.validate_only,
            )
        };
        let answer = |e: Option<Entry>| pb::CreatePartnerResponse {
            partner: e.map(Into::into),
        };
        self.create(request, Kind::Partner, read, answer).await
    }

    async fn get_partner(
        &self,
        request: Request<pb::GetPartnerRequest>,
    ) -> Result<Response<pb::GetPartnerResponse>, Status> {
        let answer = |e: Entry| pb::GetPartnerResponse {
            partner: Some(e.into()),
        };
        self.get(Kind::Partner, request.into_inner().id, answer)
            .await
    }

    async fn list_partners(
        &self,
        request: Request<pb::ListPartnersRequest>,
    ) -> Result<Response<pb::ListPartnersResponse>, Status> {
        let r = request.into_inner();
        let answer = |entries: Vec<Entry>, meta| pb::ListPartnersResponse {
            partners: entries.into_iter().map(Into::into).collect(),
            meta: Some(meta),
        };
        self.list(Kind::Partner, r.page, r.search, &r.sort, answer)
            .await
    }

    async fn update_partner(
        &self,
        request: Request<pb::UpdatePartnerRequest>,
    ) -> Result<Response<pb::UpdatePartnerResponse>, Status> {
        let read = |r: pb::UpdatePartnerRequest| {
            (
                r.id,
                r.changes.map(Into::into).unwrap_or_default(),
                mask(r.update_mask),
                r.validate_only,
            )
        };
        let answer = |e: Entry| pb::UpdatePartnerResponse {
            partner: Some(e.into()),
        };
        self.update(request, Kind::Partner, read, answer).await
    }

    async fn delete_partner(
        &self,
        request: Request<pb::DeletePartnerRequest>,
    ) -> Result<Response<pb::DeletePartnerResponse>, Status> {
        self.delete(request, Kind::Partner, |r| r.id).await
    }

    async fn create_organization(
        &self,
        request: Request<pb::CreateOrganizationRequest>,
    ) -> Result<Response<pb::CreateOrganizationResponse>, Status> {
        let read = |r: pb::CreateOrganizationRequest| {
            (
                r.organization.map(Into::into).unwrap_or_default(),
                r.validate_only,
            )
        };
        let answer = |e: Option<Entry>| pb::CreateOrganizationResponse {
            organization: e.map(Into::into),
        };
        self.create(request, Kind::Organization, read, answer).await
    }

    async fn get_organization(
        &self,
        request: Request<pb::GetOrganizationRequest>,
    ) -> Result<Response<pb::GetOrganizationResponse>, Status> {
        let answer = |e: Entry| pb::GetOrganizationResponse {
            organization: Some(e.into()),
        };
        self.get(Kind::Organization, request.into_inner().id, answer)
            .await
    }

    async fn list_organizations(
        &self,
        request: Request<pb::ListOrganizationsRequest>,
    ) -> Result<Response<pb::ListOrganizationsResponse>, Status> {
        let r = request.into_inner();
        let answer = |entries: Vec<Entry>, meta| pb::ListOrganizationsResponse {
            organizations: entries.into_iter().map(Into::into).collect(),
            meta: Some(meta),
        };
        self.list(Kind::Organization, r.page, r.search, &r.sort, answer)
            .await
    }

    async fn update_organization(
        &self,
        request: Request<pb::UpdateOrganizationRequest>,
    ) -> Result<Response<pb::UpdateOrganizationResponse>, Status> {
        let read = |r: pb::UpdateOrganizationRequest| {
            (
                r.id,
                r.changes.map(Into::into).unwrap_or_default(),
                mask(r.update_mask),
                r.validate_only,
            )
        };
        let answer = |e: Entry| pb::UpdateOrganizationResponse {
            organization: Some(e.into()),
        };
        self.update(request, Kind::Organization, read, answer).await
    }

    async fn delete_organization(
        &self,
        request: Request<pb::DeleteOrganizationRequest>,
    ) -> Result<Response<pb::DeleteOrganizationResponse>, Status> {
        self.delete(request, Kind::Organization, |r| r.id).await
    }

    async fn create_user_group(
        &self,
        request: Request<pb::CreateUserGroupRequest>,
    ) -> Result<Response<pb::CreateUserGroupResponse>, Status> {
        let read = |r: pb::CreateUserGroupRequest| {
            (
                r.user_group.map(Into::into).unwrap_or_default(),
                r.validate_only,
            )
        };
        let answer = |e: Option<Entry>| pb::CreateUserGroupResponse {
            user_group: e.map(Into::into),
        };
        self.create(request, Kind::UserGroup, read, answer).await
    }

    async fn get_user_group(
        &self,
        request: Request<pb::GetUserGroupRequest>,
    ) -> Result<Response<pb::GetUserGroupResponse>, Status> {
        let answer = |e: Entry| pb::GetUserGroupResponse {
            user_group: Some(e.into()),
        };
        self.get(Kind::UserGroup, request.into_inner().id, answer)
            .await
    }

    async fn list_user_groups(
        &self,
        request: Request<pb::ListUserGroupsRequest>,
    ) -> Result<Response<pb::ListUserGroupsResponse>, Status> {
        let r = request.into_inner();
        let answer = |entries: Vec<Entry>, meta| pb::ListUserGroupsResponse {
            user_groups: entries.into_iter().map(Into::into).collect(),
            meta: Some(meta),
        };
        self.list(Kind::UserGroup, r.page, r.search, &r.sort, answer)
            .await
    }

    async fn update_user_group(
        &self,
        request: Request<pb::UpdateUserGroupRequest>,
    ) -> Result<Response<pb::UpdateUserGroupResponse>, Status> {
        let read = |r: pb::UpdateUserGroupRequest| {
            (
                r.id,
                r.changes.map(Into::into).unwrap_or_default(),
                mask(r.update_mask),
                r.validate_only,
            )
        };
        let answer = |e: Entry| pb::UpdateUserGroupResponse {
            user_group: Some(e.into()),
        };
        self.update(request, Kind::UserGroup, read, answer).await
    }

    async fn delete_user_group(
        &self,
        request: Request<pb::DeleteUserGroupRequest>,
    ) -> Result<Response<pb::DeleteUserGroupResponse>, Status> {
        self.delete(request, Kind::UserGroup, |r| r.id).await
    }
}

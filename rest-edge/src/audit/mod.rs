//! `/api/v1/audit-log` (who changed what, when, from where and why: a read-only resource)
//! and `/api/v1/roles` (the core's permission table). Both are read-only views of the core.

mod output;
mod query;

pub(crate) use output::{AuditActorJson, AuditEntryJson, RoleJson};

use crate::base_url::BaseUrl;
use crate::core_channel::Channel;
use crate::credentials::Caller;
use crate::envelope::{ApiError, ErrorBody, Success};
use crate::resource::{Answer, List, QueryPairs, Resource};
use crate::{AppState, ModuleRoutes};
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use lastmile_proto::v1::audit_service_client::AuditServiceClient;
use lastmile_proto::v1::identity_service_client::IdentityServiceClient;
use lastmile_proto::v1::{
    AuditEntry, ListAuditEntriesRequest, ListRolesRequest, PageMeta, PageRequest,
};
use serde::Serialize;
use utoipa::openapi::path::Parameter;
use utoipa::{OpenApi, ToSchema};

/// The audit log: entries newest first. It is append-only: no call changes or deletes an
/// entry.
pub(crate) struct AuditLog;

impl Resource for AuditLog {
    const PATH: &'static str = "/api/v1/audit-log";
    const SINGULAR: &'static str = "audit_entry";
    const PLURAL: &'static str = "audit_entries";
    const LINK: &'static str = "audit_log";
    const TITLE: &'static str = "Audit entry";
    const ABOUT: &'static str = "The append-only record of every change";
    type Item = AuditEntry;
    type View = AuditEntryJson;
    type Key = i64;

    fn key(segment: &str) -> Option<i64> {
        crate::resource::query::path_id(segment)
    }

    fn view(entry: AuditEntry, _: &BaseUrl) -> AuditEntryJson {
        entry.into()
    }
}

impl List for AuditLog {
    type Request = ListAuditEntriesRequest;

    fn filters() -> Vec<Parameter> {
        query::filters()
    }

    fn request(page: PageRequest, query: &QueryPairs) -> Result<ListAuditEntriesRequest, ApiError> {
        query::list_request(page, query)
    }

    async fn call(
        core: Channel,
        request: tonic::Request<ListAuditEntriesRequest>,
    ) -> Answer<(Vec<AuditEntry>, Option<PageMeta>)> {
        let answer = AuditServiceClient::new(core)
            .list_audit_entries(request)
            .await?
            .into_inner();
        Ok((answer.audit_entries, answer.meta))
    }
}

/// `data` of the roles answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RolesData {
    /// Every role with its permissions.
    pub roles: Vec<RoleJson>,
}

/// Lists every role with what it may do to each resource: the table the core enforces.
#[utoipa::path(
    get,
    path = "/api/v1/roles",
    tag = "roles",
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 200, description = "Every role with its permissions", body = Success<RolesData>),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn list_roles(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Success<RolesData>>, ApiError> {
    let response = IdentityServiceClient::new(state.core.clone())
        .list_roles(caller.request(ListRolesRequest {})?)
        .await?
        .into_inner();
    Ok(Json(Success::new(
        "OK",
        RolesData {
            roles: response.roles.into_iter().map(Into::into).collect(),
        },
    )))
}

/// The roles route's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(list_roles),
    components(schemas(RolesData, RoleJson, AuditActorJson)),
    tags((name = "roles", description = "The permission table: what each role may do"))
)]
pub(crate) struct Doc;

/// The roles route.
pub(crate) fn routes() -> ModuleRoutes {
    ModuleRoutes {
        protected: Router::new().route("/api/v1/roles", get(list_roles)),
        public: Router::new(),
    }
}

#[cfg(test)]
mod tests;

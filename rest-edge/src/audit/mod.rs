//! `/api/v1/roles` (the core's permission table) and `/api/v1/audit-log` (who changed
//! what, when, from where and why). Both are read-only views of the core.

mod output;
mod query;

pub(crate) use output::{AuditActorJson, AuditEntryJson, RoleJson};
pub(crate) use query::AuditLogParams;

use crate::credentials::Caller;
use crate::envelope::{ApiError, ErrorBody, ListSuccess, Success};
use crate::{AppState, ModuleRoutes};
use axum::Json;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use lastmile_proto::v1::ListRolesRequest;
use lastmile_proto::v1::audit_service_client::AuditServiceClient;
use lastmile_proto::v1::identity_service_client::IdentityServiceClient;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

/// `data` of the roles answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RolesData {
    /// Every role with its permissions.
    pub roles: Vec<RoleJson>,
}

/// `data` of an audit log page.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditLogData {
    /// One page of entries, newest first.
    pub audit_entries: Vec<AuditEntryJson>,
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

/// Lists audit entries, newest first, a page at a time. The log is append-only: no call
/// changes or deletes an entry.
#[utoipa::path(
    get,
    path = "/api/v1/audit-log",
    tag = "audit",
    params(AuditLogParams),
    security(("api_key" = []), ("bearer" = []), ("auth_token" = [])),
    responses(
        (status = 200, description = "One page of entries, newest first", body = ListSuccess<AuditLogData>),
        (status = 400, description = "Bad query parameter", body = ErrorBody),
        (status = 401, description = "Missing or invalid credential", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody),
    )
)]
pub(crate) async fn list_audit_entries(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<ListSuccess<AuditLogData>>, ApiError> {
    let Query(pairs) = query
        .map_err(|rejection| ApiError::bad_request("Invalid request", rejection.body_text()))?;
    let request = query::list_request(&pairs)?;
    let response = AuditServiceClient::new(state.core.clone())
        .list_audit_entries(caller.request(request)?)
        .await?
        .into_inner();
    Ok(Json(ListSuccess {
        success: true,
        message: "OK".to_owned(),
        data: AuditLogData {
            audit_entries: response.audit_entries.into_iter().map(Into::into).collect(),
        },
        meta: response.meta.unwrap_or_default().into(),
    }))
}

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(list_roles, list_audit_entries),
    components(schemas(RolesData, RoleJson, AuditLogData, AuditEntryJson, AuditActorJson)),
    tags(
        (name = "roles", description = "The permission table: what each role may do"),
        (name = "audit", description = "The append-only record of every change"),
    )
)]
pub(crate) struct Doc;

/// This module's routes.
pub(crate) fn routes() -> ModuleRoutes {
    ModuleRoutes {
        protected: Router::new()
            .route("/api/v1/roles", get(list_roles))
            .route("/api/v1/audit-log", get(list_audit_entries)),
        public: Router::new(),
    }
}

#[cfg(test)]
mod tests;

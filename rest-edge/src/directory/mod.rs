//! `/api/v1/partners`, `/api/v1/organizations` and `/api/v1/user-groups`: the directory
//! customers reference. Each handler reads the request, calls `DirectoryService`, and
//! renders the answer; the three kinds share the reading and the error handling here.

mod organizations;
mod output;
mod partners;
mod user_groups;

use crate::envelope::{ApiError, FieldErrors};
use crate::json_input::Fields;
use crate::{AppState, ModuleRoutes};
use axum::Router;
use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use axum::http::StatusCode;
use axum::routing::get;
use lastmile_proto::v1::PageRequest;
use lastmile_proto::v1::directory_service_client::DirectoryServiceClient;
use output::{
    OrganizationBody, OrganizationData, OrganizationListData, OrganizationRecordJson, PartnerBody,
    PartnerData, PartnerJson, PartnerListData, UserGroupBody, UserGroupData, UserGroupJson,
    UserGroupListData,
};
use serde_json::{Map, Value};
use tonic::transport::Channel;
use utoipa::OpenApi;

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(
        partners::list_partners,
        partners::create_partner,
        partners::get_partner,
        partners::replace_partner,
        partners::update_partner,
        partners::delete_partner,
        organizations::list_organizations,
        organizations::create_organization,
        organizations::get_organization,
        organizations::replace_organization,
        organizations::update_organization,
        organizations::delete_organization,
        user_groups::list_user_groups,
        user_groups::create_user_group,
        user_groups::get_user_group,
        user_groups::replace_user_group,
        user_groups::update_user_group,
        user_groups::delete_user_group,
    ),
    components(schemas(
        PartnerJson, PartnerData, PartnerListData, PartnerBody,
        OrganizationRecordJson, OrganizationData, OrganizationListData, OrganizationBody,
        UserGroupJson, UserGroupData, UserGroupListData, UserGroupBody,
    )),
    tags(
        (name = "partners", description = "Resellers that customers may belong to"),
        (name = "organizations", description = "Organizations customers belong to"),
        (name = "user-groups", description = "User groups customers are in"),
    )
)]
pub(crate) struct Doc;

/// This module's routes; all need a credential.
pub(crate) fn routes() -> ModuleRoutes {
    let protected = Router::new()
        .route(
            "/api/v1/partners",
            get(partners::list_partners).post(partners::create_partner),
        )
        .route(
            "/api/v1/partners/{id}",
            get(partners::get_partner)
                .put(partners::replace_partner)
                .patch(partners::update_partner)
                .delete(partners::delete_partner),
        )
        .route(
            "/api/v1/organizations",
            get(organizations::list_organizations).post(organizations::create_organization),
        )
        .route(
            "/api/v1/organizations/{id}",
            get(organizations::get_organization)
                .put(organizations::replace_organization)
                .patch(organizations::update_organization)
                .delete(organizations::delete_organization),
        )
        .route(
            "/api/v1/user-groups",
            get(user_groups::list_user_groups).post(user_groups::create_user_group),
        )
        .route(
            "/api/v1/user-groups/{id}",
            get(user_groups::get_user_group)
                .put(user_groups::replace_user_group)
                .patch(user_groups::update_user_group)
                .delete(user_groups::delete_user_group),
        );
    ModuleRoutes {
        protected,
        public: Router::new(),
    }
}

/// A client of the core's directory service.
fn client(state: &AppState) -> DirectoryServiceClient<Channel> {
    DirectoryServiceClient::new(state.core.clone())
}

/// The id in a path: 1 to 20 digits. Anything else names nothing, so it is a 404 without
/// asking the core (an id too large for the core is one it does not have).
fn entry_id(
    path: Result<Path<String>, PathRejection>,
    not_found: &'static str,
) -> Result<i64, ApiError> {
    let segment = path.map_err(|_| ApiError::not_found(not_found))?.0;
    if segment.is_empty() || segment.len() > 20 || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::not_found(not_found));
    }
    segment
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::not_found(not_found))
}

/// An entry body: the well-typed fields and the update mask of every key present.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct EntryChanges {
    /// `name`; `null` reads as empty (the core reports it as required).
    pub name: String,
    /// `description`; `null` or empty clears it.
    pub description: Option<String>,
    /// `contact_email` (partners).
    pub contact_email: Option<String>,
    /// `contact_phone` (partners).
    pub contact_phone: Option<String>,
    /// The input field paths of the keys present, in a stable order.
    pub mask: Vec<String>,
}

/// Reads an entry body; `contact` says whether the contact keys belong to the kind (other
/// kinds ignore them like any unknown key). Every field of the wrong JSON type is reported.
fn read_entry(body: &Map<String, Value>, contact: bool) -> (EntryChanges, FieldErrors) {
    let fields = Fields::new(body);
    let mut errors = FieldErrors::default();
    let mut out = EntryChanges::default();
    let name = fields.string("name", &mut errors);
    if name.is_present() {
        out.mask.push("name".to_owned());
        out.name = name.value().unwrap_or_default();
    }
    let mut text = |key: &str, target: &mut Option<String>, mask: &mut Vec<String>| {
        let value = fields.string(key, &mut errors);
        if value.is_present() {
            mask.push(key.to_owned());
            *target = value.value().filter(|v| !v.is_empty());
        }
    };
    text("description", &mut out.description, &mut out.mask);
    if contact {
        text("contact_email", &mut out.contact_email, &mut out.mask);
        text("contact_phone", &mut out.contact_phone, &mut out.mask);
    }
    (out, errors)
}

/// The answer to a body with fields of the wrong JSON type: the core validated the
/// well-typed rest (`validate_only`), so the client learns every failing field in one
/// round trip. A refusal that is not about fields (401, 403, 404) wins as it is.
fn with_type_errors(checked: Result<(), tonic::Status>, type_errors: FieldErrors) -> ApiError {
    match checked {
        Ok(()) => ApiError::validation(type_errors),
        Err(status) => {
            let mut error = ApiError::from_status(&status);
            match error.body.errors.as_mut() {
                Some(rule_errors) => rule_errors.merge_shadowing(type_errors),
                None if error.status == StatusCode::UNPROCESSABLE_ENTITY => {
                    error = ApiError::validation(type_errors)
                }
                None => {}
            }
            error
        }
    }
}

fn invalid(detail: &str) -> ApiError {
    ApiError::bad_request("Invalid request", detail)
}

fn positive_i32(value: &str, name: &str) -> Result<i32, ApiError> {
    let bad = || invalid(&format!("The {name} parameter must be a positive integer."));
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    // All digits, so only an overflow fails; such a number is simply very large.
    let n = value.parse::<u64>().unwrap_or(u64::MAX);
    if n == 0 {
        return Err(bad());
    }
    Ok(i32::try_from(n).unwrap_or(i32::MAX))
}

/// The list query shared by the three lists: page, per_page, search and sort. Unknown
/// parameters are ignored; an empty value counts as absent; the last repeat wins.
fn list_query(pairs: &[(String, String)]) -> Result<(PageRequest, String, String), ApiError> {
    let get = |name: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let page = get("page").map(|v| positive_i32(v, "page")).transpose()?;
    let per_page = get("per_page")
        .map(|v| positive_i32(v, "per_page"))
        .transpose()?;
    Ok((
        PageRequest {
            page: page.unwrap_or(1),
            per_page: per_page.unwrap_or(25),
        },
        get("search").unwrap_or_default().to_owned(),
        get("sort").unwrap_or_default().to_owned(),
    ))
}

/// Query parameters of the directory lists (for the OpenAPI document; the handlers read
/// them by hand so that every bad value gets the contract's 400).
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(
    dead_code,
    reason = "describes the query string for the OpenAPI document only"
)]
pub(crate) struct ListEntriesParams {
    /// Page number, from 1. Default 1.
    page: Option<u32>,
    /// Items per page. Default 25; values above 100 are capped at 100.
    per_page: Option<u32>,
    /// Matches the name (case-insensitive substring).
    search: Option<String>,
    /// `name`, `created_at`, `updated_at` or `id`; a leading `-` sorts descending.
    /// Default `name`.
    sort: Option<String>,
}

#[cfg(test)]
mod tests;

//! Identity endpoints: login and sessions (`/api/v1/auth/*`), staff users
//! (`/api/v1/users`) and API keys (`/api/v1/api-keys`). Each handler reads the request,
//! calls `IdentityService`, and renders the answer; the core decides every rule.

mod api_keys;
mod output;
mod sessions;
mod users;

use crate::envelope::{ApiError, FieldErrors};
use crate::{AppState, ModuleRoutes};
use axum::Router;
use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use axum::routing::{delete, get, post};
use lastmile_proto::v1::PageRequest;
use lastmile_proto::v1::identity_service_client::IdentityServiceClient;
use tonic::transport::Channel;
use utoipa::OpenApi;

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(
        sessions::login,
        sessions::refresh,
        sessions::logout,
        users::list_users,
        users::create_user,
        users::get_user,
        users::update_user,
        users::delete_user,
        api_keys::list_api_keys,
        api_keys::create_api_key,
        api_keys::revoke_api_key,
    ),
    tags(
        (name = "auth", description = "Login, token refresh and logout"),
        (name = "users", description = "Staff accounts (admins only)"),
        (name = "api-keys", description = "The caller's API keys"),
    )
)]
pub(crate) struct Doc;

/// This module's routes.
pub(crate) fn routes() -> ModuleRoutes {
    let public = Router::new()
        .route("/api/v1/auth/login", post(sessions::login))
        .route("/api/v1/auth/refresh", post(sessions::refresh))
        .route("/api/v1/auth/logout", post(sessions::logout));
    let protected = Router::new()
        .route(
            "/api/v1/users",
            get(users::list_users).post(users::create_user),
        )
        .route(
            "/api/v1/users/{id}",
            get(users::get_user)
                .put(users::update_user)
                .patch(users::update_user)
                .delete(users::delete_user),
        )
        .route(
            "/api/v1/api-keys",
            get(api_keys::list_api_keys).post(api_keys::create_api_key),
        )
        .route("/api/v1/api-keys/{id}", delete(api_keys::revoke_api_key));
    ModuleRoutes { protected, public }
}

fn client(state: &AppState) -> IdentityServiceClient<Channel> {
    IdentityServiceClient::new(state.core.clone())
}

/// The id in a path: 1 to 18 digits, else the resource is not found.
fn path_id(path: Result<Path<String>, PathRejection>, not_found: &str) -> Result<i64, ApiError> {
    let segment = path.map_err(|_| ApiError::not_found(not_found))?.0;
    if segment.is_empty() || segment.len() > 18 || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::not_found(not_found));
    }
    segment
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::not_found(not_found))
}

/// `page` and `per_page` of a list query; other parameters are ignored.
fn page_query(pairs: &[(String, String)]) -> Result<PageRequest, ApiError> {
    let mut page = PageRequest::default();
    for (name, value) in pairs {
        let target = match name.as_str() {
            "page" => &mut page.page,
            "per_page" => &mut page.per_page,
            _ => continue,
        };
        *target = value
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                ApiError::bad_request(
                    "Invalid request",
                    format!("The {name} parameter must be a positive integer."),
                )
            })?;
    }
    Ok(page)
}

/// A required string field: its value, or a "required" error.
/// The value of a required string field; a missing one is reported, unless the field
/// already failed (a wrong type is one message, not two).
fn required(value: Option<String>, field: &str, errors: &mut FieldErrors) -> String {
    match value.filter(|v| !v.trim().is_empty()) {
        Some(value) => value,
        None if errors.has(field) => String::new(),
        None => {
            errors.add(
                field,
                format!("The {} field is required.", field.replace('_', " ")),
            );
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_of_the_wrong_type_is_not_also_missing() {
        let mut errors = FieldErrors::default();
        errors.add("email", "The email must be a string.");
        assert_eq!(required(None, "email", &mut errors), "");
        assert_eq!(required(None, "password", &mut errors), "");
        assert_eq!(
            errors.get("email").unwrap(),
            ["The email must be a string."]
        );
        assert_eq!(
            errors.get("password").unwrap(),
            ["The password field is required."]
        );
    }

    #[test]
    fn path_ids_are_positive_integers() {
        let ok = |s: &str| path_id(Ok(Path(s.to_owned())), "x");
        assert_eq!(ok("12").unwrap(), 12);
        assert!(ok("0").is_err());
        assert!(ok("abc").is_err());
        assert!(ok("-1").is_err());
    }

    #[test]
    fn page_parameters_must_be_positive() {
        let pairs = vec![("page".to_owned(), "2".to_owned())];
        assert_eq!(page_query(&pairs).unwrap().page, 2);
        let bad = vec![("per_page".to_owned(), "x".to_owned())];
        assert_eq!(page_query(&bad).unwrap_err().status.as_u16(), 400);
    }
}

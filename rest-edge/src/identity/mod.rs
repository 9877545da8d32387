//! Identity endpoints: login and sessions (`/api/v1/auth/*`), staff users
//! (`/api/v1/users`) and API keys (`/api/v1/api-keys`). Each handler reads the request,
//! calls `IdentityService`, and renders the answer; the core decides every rule.

mod api_clients;
mod api_keys;
mod client_tokens;
mod output;
mod sessions;
mod users;

use crate::core_channel::Channel;
use crate::envelope::FieldErrors;
use crate::{AppState, ModuleRoutes};
use axum::Router;
use axum::routing::post;
use lastmile_proto::v1::identity_service_client::IdentityServiceClient;
use utoipa::OpenApi;

pub(crate) use api_clients::ApiClients;
pub(crate) use api_keys::ApiKeys;
pub(crate) use output::{ApiClientJson, ApiKeyJson, UserJson};
pub(crate) use users::Users;

/// The session routes' part of the OpenAPI document (users and API keys are resources).
#[derive(OpenApi)]
#[openapi(
    paths(
        sessions::login,
        sessions::refresh,
        sessions::logout,
        client_tokens::token,
        client_tokens::revoke
    ),
    components(schemas(client_tokens::ClientTokenBody, client_tokens::ClientTokenJson)),
    tags((name = "auth", description = "Login, token refresh, logout, and API clients' tokens"))
)]
pub(crate) struct Doc;

/// Earlier clients sign in without the version segment: the same operations there.
const UNVERSIONED: [(&str, &str); 2] = [
    ("/api/v1/auth/login", "/api/auth/login"),
    ("/api/v1/auth/refresh", "/api/auth/refresh"),
];

/// The session routes' document, with the unversioned aliases.
pub(crate) fn doc() -> utoipa::openapi::OpenApi {
    let mut doc = Doc::openapi();
    crate::resource::alias_paths(&mut doc, &UNVERSIONED);
    doc
}

/// The session routes: public (the client address's budget).
pub(crate) fn routes() -> ModuleRoutes {
    let public: Router<AppState> = Router::new()
        .route("/api/v1/auth/login", post(sessions::login))
        .route("/api/v1/auth/refresh", post(sessions::refresh))
        .route("/api/v1/auth/logout", post(sessions::logout))
        .route(UNVERSIONED[0].1, post(sessions::login))
        .route(UNVERSIONED[1].1, post(sessions::refresh))
        .route("/api/v2/auth/token", post(client_tokens::token));
    ModuleRoutes {
        protected: Router::new().route("/api/v2/auth/revoke", post(client_tokens::revoke)),
        public,
    }
}

/// A client of the core's identity service.
fn client(core: Channel) -> IdentityServiceClient<Channel> {
    IdentityServiceClient::new(core)
}

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
}

//! The OpenAPI 3.1 document: the entry points below, merged with the part of every entry
//! of the registration list (`resources.rs`).

use crate::customers::{AddressJson, OrganizationJson};
use crate::discovery::{self, DiscoveryData, PasswordPolicyJson, SecuritySettingsData};
use crate::envelope::{ErrorBody, PageMetaJson};
use crate::format::SelfLink;
use crate::health::{self, HealthStatus};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Declares the three ways to send a credential.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "auth_token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Auth-Token"))),
        );
    }
}

/// The whole document served at `/api/v1/openapi.json`.
pub(crate) fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    for entry in crate::resources::all() {
        doc.merge(entry.doc);
    }
    doc
}

/// The document served at `/api/v1/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Lastmile API",
        description = "ISP management: customers, services, billing and support. JSON in, \
                       JSON out, in the envelope `{success, message, data}`; errors carry \
                       `code` and, on 422, every failing field under `errors`. Every answer \
                       of a rate-limited route carries `X-RateLimit-Limit`, \
                       `X-RateLimit-Remaining` and `X-RateLimit-Reset`.",
        license(name = "Apache-2.0")
    ),
    paths(
        discovery::discovery,
        discovery::security_settings,
        health::healthz,
        health::readyz,
    ),
    components(schemas(
        ErrorBody, PageMetaJson, AddressJson, OrganizationJson, SelfLink,
        DiscoveryData, SecuritySettingsData, PasswordPolicyJson, HealthStatus,
    )),
    modifiers(&SecuritySchemes),
    tags(
        (name = "discovery", description = "Entry points that need no credential"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
pub(crate) struct ApiDoc;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_with_every_route_and_scheme() {
        let doc = serde_json::to_value(document()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        for path in [
            "/api/v1",
            "/api/security-settings",
            "/api/v1/customers",
            "/api/v1/customers/{id}",
            "/api/v1/customers/{id}/action",
            "/healthz",
            "/readyz",
        ] {
            assert!(doc["paths"][path].is_object(), "{path}");
        }
        let item = &doc["paths"]["/api/v1/customers/{id}"];
        for method in ["get", "put", "patch", "delete"] {
            assert!(item[method].is_object(), "{method}");
        }
        let schemes = &doc["components"]["securitySchemes"];
        assert_eq!(schemes["api_key"]["name"], "X-API-Key");
        assert_eq!(schemes["auth_token"]["name"], "X-Auth-Token");
        assert_eq!(schemes["bearer"]["scheme"], "bearer");
        let mut operation_ids: Vec<&str> = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .map(|operation| operation["operationId"].as_str().unwrap())
            .collect();
        let count = operation_ids.len();
        operation_ids.sort_unstable();
        operation_ids.dedup();
        assert_eq!(operation_ids.len(), count, "operation ids must be unique");
        let customer = &doc["components"]["schemas"]["CustomerJson"]["properties"];
        assert!(customer["links"].is_object());
        assert!(customer.get("password").is_none());
    }

    #[test]
    fn session_bodies_say_that_blank_is_missing() {
        let doc = serde_json::to_value(document()).unwrap();
        let schemas = &doc["components"]["schemas"];
        for (schema, field) in [
            ("LoginBody", "email"),
            ("LoginBody", "password"),
            ("RefreshBody", "refresh_token"),
            ("ClientTokenBody", "client_id"),
            ("ClientTokenBody", "client_secret"),
        ] {
            assert_eq!(
                schemas[schema]["properties"][field]["pattern"],
                crate::resource::fields::NON_BLANK,
                "{schema}.{field}"
            );
        }
    }

    fn collect_refs(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v) {
                        ("$ref", serde_json::Value::String(target)) => out.push(target.clone()),
                        _ => collect_refs(v, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_schema_reference_resolves() {
        let doc = serde_json::to_value(document()).unwrap();
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        assert!(!refs.is_empty());
        for target in refs {
            let name = target.strip_prefix("#/components/schemas/").unwrap();
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "{target} does not resolve"
            );
        }
    }
}

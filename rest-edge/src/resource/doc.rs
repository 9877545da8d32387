//! The document's operations of a resource, built from its declaration so that every
//! resource states the same rules, statuses and security.

use super::query;
use utoipa::openapi::path::{Operation, OperationBuilder, Parameter};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::{ResponseBuilder, ResponsesBuilder};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{ContentBuilder, Ref, Required};

/// What one operation is, for the document.
pub(super) struct Op<'a> {
    pub id: String,
    pub tag: &'a str,
    pub summary: String,
    pub parameters: Vec<Parameter>,
    /// The schema name of the JSON body, if the operation takes one, and whether it must be
    /// sent (an empty body reads as `{}`, which is all an update with no required field
    /// needs).
    pub body: Option<(String, bool)>,
    /// The success: status, description, and the schema name of its body (none for 204).
    pub success: (u16, String, Option<String>),
    /// The error statuses beyond 401, 403 and 429, with what they mean here.
    pub errors: Vec<(u16, String)>,
}

fn json(schema: &str) -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(Ref::from_schema_name(schema)))
        .build()
}

/// The header of a POST that may be retried safely.
pub(super) fn idempotency_key() -> Parameter {
    let schema = utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some("^[\t ]*[!-~]([\t -~]{0,253}[!-~])?[\t ]*$"));
    utoipa::openapi::path::ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(utoipa::openapi::path::ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "1 to 255 printable ASCII characters once spaces around are trimmed; a retry with the same key and body returns \
             the first answer, the same key with another body is a 422.",
        ))
        .schema(Some(schema))
        .build()
}

/// Builds the operation.
pub(super) fn operation(op: Op<'_>) -> Operation {
    let mut responses = ResponsesBuilder::new();
    let (status, description, schema) = op.success;
    let mut success = ResponseBuilder::new().description(description);
    if let Some(schema) = schema {
        success = success.content("application/json", json(&schema));
    }
    responses = responses.response(status.to_string(), success);
    let common = [
        (401, "Missing or invalid credential"),
        (403, "Not allowed"),
        (429, "Too many requests"),
        (503, "The core is unavailable"),
    ];
    let errors = op
        .errors
        .into_iter()
        .chain(common.iter().map(|(s, d)| (*s, (*d).to_owned())));
    for (status, description) in errors {
        let response = ResponseBuilder::new()
            .description(description)
            .content("application/json", json("ErrorBody"));
        responses = responses.response(status.to_string(), response);
    }
    let mut builder = OperationBuilder::new()
        .operation_id(Some(op.id))
        .tag(op.tag)
        .summary(Some(op.summary))
        .parameters(Some(op.parameters))
        .responses(responses)
        .securities(Some(
            ["api_key", "bearer", "auth_token"].map(|name| SecurityRequirement::new(name, [""; 0])),
        ));
    if let Some((body, required)) = op.body {
        let required = if required {
            Required::True
        } else {
            Required::False
        };
        let body = RequestBodyBuilder::new()
            .required(Some(required))
            .content("application/json", json(&body))
            .build();
        builder = builder.request_body(Some(body));
    }
    builder.build()
}

/// The `{id}` parameter.
pub(super) fn id<R: super::Resource>() -> Parameter {
    query::path_parameter(R::ID_NAME, R::ID, R::INTEGER_ID, R::ID_PATTERN)
}

/// What an alias appends to an operation id: its segments joined by `_`
/// (`/api/v1/servers` is `api_v1_servers`).
pub(super) fn alias_suffix(alias: &str) -> String {
    alias
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// Serves the operations documented at each `(path, alias)` pair's path at its alias too:
/// the same operations, each with an operation id of its own (the alias's segments
/// appended), so a client generated from the document gets one method per path.
pub(crate) fn alias_paths(doc: &mut utoipa::openapi::OpenApi, aliases: &[(&str, &str)]) {
    for &(path, alias) in aliases {
        let Some(item) = doc.paths.paths.get(path) else {
            panic!("no documented path {path} to alias as {alias}");
        };
        let mut item = item.clone();
        let suffix = alias_suffix(alias);
        for operation in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            let id = operation.operation_id.take().unwrap_or_default();
            operation.operation_id = Some(format!("{id}_at_{suffix}"));
            let summary = operation.summary.take().unwrap_or_default();
            operation.summary = Some(format!("{summary} (also at {path})").trim().to_owned());
        }
        doc.paths.paths.insert(alias.to_owned(), item);
    }
}

#[cfg(test)]
mod alias_tests {
    use super::*;
    use utoipa::openapi::path::{HttpMethod, PathItem};
    use utoipa::openapi::{OpenApiBuilder, PathsBuilder};

    #[test]
    fn an_alias_serves_the_same_operations_under_its_own_ids() {
        let operation = OperationBuilder::new()
            .operation_id(Some("login"))
            .summary(Some("Signs in"))
            .build();
        let paths = PathsBuilder::new()
            .path(
                "/api/v1/auth/login",
                PathItem::new(HttpMethod::Post, operation),
            )
            .build();
        let mut doc = OpenApiBuilder::new().paths(paths).build();
        alias_paths(&mut doc, &[("/api/v1/auth/login", "/api/auth/login")]);
        let original = doc.paths.paths["/api/v1/auth/login"].post.as_ref().unwrap();
        let alias = doc.paths.paths["/api/auth/login"].post.as_ref().unwrap();
        assert_eq!(original.operation_id.as_deref(), Some("login"));
        assert_eq!(
            alias.operation_id.as_deref(),
            Some("login_at_api_auth_login")
        );
        assert_eq!(
            alias.summary.as_deref(),
            Some("Signs in (also at /api/v1/auth/login)")
        );
    }
}

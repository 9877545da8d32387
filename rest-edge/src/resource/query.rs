//! The query string of a list and the id in a path, read with one behaviour for every
//! resource (the contract's "Lists" rules), and those rules as OpenAPI parameters.

use crate::envelope::ApiError;
use lastmile_proto::v1::PageRequest;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Type};
use utoipa::openapi::{Object, Required};

/// The default page size, and the largest one served (larger values are capped).
const DEFAULT_PER_PAGE: i32 = 25;
const MAX_PER_PAGE: i32 = 100;

/// The pairs of a query string. Unknown parameters are ignored; an empty value counts as
/// absent; when a parameter repeats, the last one wins.
#[derive(Clone, Debug, Default)]
pub(crate) struct QueryPairs(pub Vec<(String, String)>);

impl QueryPairs {
    /// A 400 when one of `names` is given more than once: which one counts would be a
    /// guess.
    pub(crate) fn once<'a>(
        &self,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), ApiError> {
        for name in names {
            if self.0.iter().filter(|(k, _)| k == name).count() > 1 {
                return Err(invalid(&format!(
                    "The {name} parameter must be given at most once."
                )));
            }
        }
        Ok(())
    }

    /// The trimmed value of a parameter, unless it is missing or empty.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The value of a free-text parameter, empty when absent.
    pub(crate) fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_owned()
    }

    /// `page` and `per_page`: missing or empty → page 1 of 25; `per_page` above 100 is
    /// capped; 0, a sign, a non-digit or a value beyond a 64-bit integer is a 400 naming
    /// the parameter. A page beyond the core's range is simply past the last one.
    pub(crate) fn page(&self) -> Result<PageRequest, ApiError> {
        let read = |name: &str, default: i32, most: i32| match self.get(name) {
            None => Ok(default),
            Some(value) => whole_number(value)
                .filter(|n| *n > 0)
                .map(|n| i32::try_from(n).unwrap_or(i32::MAX).min(most))
                .ok_or_else(|| {
                    invalid(&format!("The {name} parameter must be a positive integer."))
                }),
        };
        Ok(PageRequest {
            page: read("page", 1, i32::MAX)?,
            per_page: read("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)?,
        })
    }

    /// The page asked for, as a 64-bit number (1 when absent); call after [`Self::page`]
    /// accepted it.
    pub(crate) fn requested_page(&self) -> i64 {
        self.get("page").and_then(positive).unwrap_or(1)
    }

    /// An enumerated filter such as `status`: one of `values`, else a 400 naming them.
    pub(crate) fn choice(&self, name: &str, values: &[&str]) -> Result<Option<&str>, ApiError> {
        match self.get(name) {
            Some(value) if !values.contains(&value) => Err(invalid(&format!(
                "The {name} parameter must be one of: {}.",
                values.join(", ")
            ))),
            value => Ok(value),
        }
    }

    /// An id filter such as `partner_id`: a positive 64-bit integer, else a 400.
    pub(crate) fn id(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.get(name)
            .map(|value| {
                whole_number(value).filter(|n| *n > 0).ok_or_else(|| {
                    invalid(&format!("The {name} parameter must be a positive integer."))
                })
            })
            .transpose()
    }
}

/// The 400 of a bad query parameter.
pub(crate) fn invalid(detail: &str) -> ApiError {
    ApiError::bad_request("Invalid request", detail)
}

/// A positive 64-bit integer written in plain digits: no sign, no spaces, no fraction.
pub(crate) fn positive(value: &str) -> Option<i64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse::<i64>().ok().filter(|n| *n > 0)
}

/// A query's integer: digits with an optional sign, and a fraction of zeros allowed
/// (`1.0` is the integer 1, as JSON Schema counts it); anything else, or beyond 64 bits,
/// is `None`.
pub(crate) fn whole_number(value: &str) -> Option<i64> {
    let digits = match value.split_once('.') {
        Some((whole, fraction)) if !fraction.is_empty() && fraction.bytes().all(|b| b == b'0') => {
            whole
        }
        Some(_) => return None,
        None => value,
    };
    let unsigned = digits.strip_prefix('-').unwrap_or(digits);
    if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<i64>().ok()
}

/// The id in a path; anything but a positive 64-bit integer names nothing (a 404).
pub(crate) fn path_id(segment: &str) -> Option<i64> {
    positive(segment)
}

fn integer_parameter(name: &str, description: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(
            AnyOfBuilder::new()
                .item(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                            utoipa::openapi::KnownFormat::Int64,
                        )))
                        .minimum(Some(1)),
                )
                .item(empty()),
        ))
        .build()
}

/// An integer from `minimum` to `maximum`, or empty (as if not given). A value that is no
/// integer is a 400; one out of range is the core's 422 on the parameter.
pub(crate) fn range_parameter(
    name: &str,
    description: &str,
    minimum: i64,
    maximum: i64,
) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(format!(
            "{description} An integer from {minimum} to {maximum}; anything else is a 400 or 422."
        )))
        .schema(Some(
            AnyOfBuilder::new()
                .item(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(minimum))
                        .maximum(Some(maximum)),
                )
                .item(empty()),
        ))
        .build()
}

/// An empty (or blank) value: as if the parameter were not given.
fn empty() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!("^{}*$", super::fields::SPACE)))
}

/// `page` and `per_page` as the document states them.
pub(crate) fn page_parameters() -> [Parameter; 2] {
    [
        integer_parameter(
            "page",
            "Page number, from 1. Missing or empty: 1. 0, negative, non-numeric or beyond a \
             64-bit integer: 400. A page past the last is an empty list with correct meta.",
        ),
        integer_parameter(
            "per_page",
            "Items per page. Missing or empty: 25; above 100: capped at 100. 0, negative, \
             non-numeric or beyond a 64-bit integer: 400.",
        ),
    ]
}

/// A filter on an id: a positive 64-bit integer, else 400.
pub(crate) fn id_parameter(name: &str, description: &str) -> Parameter {
    integer_parameter(
        name,
        &format!("{description} A positive 64-bit integer; anything else is a 400."),
    )
}

/// A free-text or enumerated filter.
pub(crate) fn text_parameter(name: &str, description: &str, values: &[&str]) -> Parameter {
    let mut schema = ObjectBuilder::new().schema_type(Type::String);
    if !values.is_empty() {
        // An empty value is as if the parameter were not given.
        schema = schema.enum_values(Some([""].into_iter().chain(values.iter().copied())));
    }
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

/// A filter whose values follow `pattern` (after trimming; empty counts as absent).
pub(crate) fn pattern_parameter(name: &str, description: &str, pattern: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(pattern)),
        ))
        .build()
}

/// A filter on a day: `YYYY-MM-DD`, else a 400.
pub(crate) fn date_parameter(name: &str, description: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(format!(
            "{description} A date, `YYYY-MM-DD`; empty is as if not given; anything else is a \
             400."
        )))
        .schema(Some(
            AnyOfBuilder::new()
                .item(ObjectBuilder::new().schema_type(Type::String).format(Some(
                    utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Date),
                )))
                .item(empty()),
        ))
        .build()
}

/// A filter on a time: an RFC 3339 date-time, else a 400.
pub(crate) fn time_parameter(name: &str, description: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(format!(
            "{description} An RFC 3339 date-time; empty is as if not given; anything else \
             is a 400."
        )))
        .schema(Some(
            AnyOfBuilder::new()
                .item(ObjectBuilder::new().schema_type(Type::String).format(Some(
                    utoipa::openapi::SchemaFormat::KnownFormat(
                        utoipa::openapi::KnownFormat::DateTime,
                    ),
                )))
                .item(empty()),
        ))
        .build()
}

/// The values of `sort` for `keys`: each key ascending, and descending with a leading `-`.
pub(crate) fn sort_values(keys: &[&str]) -> Vec<String> {
    keys.iter()
        .flat_map(|key| [(*key).to_owned(), format!("-{key}")])
        .collect()
}

/// The `{id}` of a path: a positive 64-bit integer (or what `description` adds).
pub(crate) fn path_parameter(
    name: &str,
    description: &str,
    integer: bool,
    pattern: &str,
) -> Parameter {
    if integer {
        return id_path_parameter(name, description);
    }
    let schema: Object = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .build();
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

/// An id in a path, named `name`: a positive 64-bit integer.
pub(crate) fn id_path_parameter(name: &str, description: &str) -> Parameter {
    let schema = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Int64,
        )))
        .minimum(Some(1));
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

#[cfg(test)]
#[path = "query_tests.rs"]
mod tests;

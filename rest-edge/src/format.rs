//! How the contract writes values that every resource shares.

use lastmile_proto::datetime;

/// `2024-01-15T10:30:00.000000Z`: the contract's timestamps, UTC, always six fractional
/// digits.
pub(crate) fn timestamp(t: Option<prost_types::Timestamp>) -> Option<String> {
    let t = datetime(&t?)?;
    Some(t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
}

/// An empty string is "not given": null in JSON.
pub(crate) fn text(value: String) -> Option<String> {
    (!value.is_empty()).then_some(value)
}

/// `links.self` of a resource.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct SelfLink {
    /// The URL of the resource.
    #[serde(rename = "self")]
    #[schema(rename = "self")]
    pub self_url: String,
}

impl SelfLink {
    /// The link to item `id` of the collection at `path`.
    pub(crate) fn new(base: &crate::base_url::BaseUrl, path: &str, id: i64) -> Self {
        Self {
            self_url: base.join(&format!("{path}/{id}")),
        }
    }
}

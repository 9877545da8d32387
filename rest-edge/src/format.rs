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

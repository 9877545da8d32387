//! How the contract writes values that every resource shares.

use chrono::{Datelike, Timelike};
use lastmile_proto::datetime;
use std::fmt::Write;

/// `2024-01-15T10:30:00.000000Z`: the contract's timestamps, UTC, always six fractional
/// digits.
pub(crate) fn timestamp(t: Option<prost_types::Timestamp>) -> Option<String> {
    let t = datetime(&t?)?;
    let (year, nanos) = (t.year(), t.nanosecond());
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        // A year that needs a sign or a fifth digit, or a leap second: chrono's rules.
        return Some(t.format(PATTERN).to_string());
    }
    // Written out directly: `format` parses its pattern anew on every call, and every
    // resource answer carries two or three timestamps.
    let mut out = String::with_capacity(27);
    let _ = write!(
        out,
        "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        nanos / 1_000
    );
    Some(out)
}

/// The pattern [`timestamp`] follows.
const PATTERN: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// An empty string is "not given": null in JSON.
pub(crate) fn text(value: String) -> Option<String> {
    (!value.is_empty()).then_some(value)
}

// A resource's JSON holds it as `Option<SelfLink>`: none when the JSON is rendered outside
// a request (`BaseUrl::unlinked`, an event's data), where no base URL exists.
/// `links.self` of a resource.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct SelfLink {
    /// The URL of the resource.
    #[serde(rename = "self")]
    #[schema(rename = "self")]
    pub self_url: String,
}

impl SelfLink {
    /// The link to item `id` of the collection at `path`; none without a base.
    pub(crate) fn new(base: &crate::base_url::BaseUrl, path: &str, id: i64) -> Option<Self> {
        let base = base.linked()?;
        Some(Self {
            self_url: format!("{base}{path}/{id}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_types::Timestamp;

    fn written(seconds: i64, nanos: i32) -> Option<String> {
        timestamp(Some(Timestamp { seconds, nanos }))
    }

    fn chrono_written(seconds: i64, nanos: i32) -> Option<String> {
        let t = datetime(&Timestamp { seconds, nanos })?;
        Some(t.format(PATTERN).to_string())
    }

    #[test]
    fn timestamps_have_six_fractional_digits_in_utc() {
        assert_eq!(
            written(1_705_314_600, 0).as_deref(),
            Some("2024-01-15T10:30:00.000000Z")
        );
        assert_eq!(
            written(1_705_314_600, 123_456_789).as_deref(),
            Some("2024-01-15T10:30:00.123456Z")
        );
        assert_eq!(
            written(0, 999).as_deref(),
            Some("1970-01-01T00:00:00.000000Z")
        );
        assert_eq!(timestamp(None), None);
        assert_eq!(written(0, -1), None);
    }

    #[test]
    fn timestamps_are_written_as_chrono_writes_them() {
        // Across the years, into the edges of what is written by hand, and beyond it
        // (signed and five-digit years, leap seconds), where chrono writes them itself.
        let seconds = [
            -62_167_219_200 - 1, // the last second of 1 BCE
            -62_167_219_200,     // 0000-01-01
            -2_208_988_801,
            0,
            951_782_400, // 2000-02-29
            1_709_251_199,
            253_402_300_799, // 9999-12-31T23:59:59
            253_402_300_800, // 10000-01-01
        ];
        for s in seconds {
            for nanos in [0, 1_000, 999_999_999, 1_000_000_000, 1_500_000_000] {
                assert_eq!(written(s, nanos), chrono_written(s, nanos), "{s} {nanos}");
            }
        }
        assert_eq!(
            written(253_402_300_800, 0).as_deref(),
            Some("+10000-01-01T00:00:00.000000Z")
        );
    }
}

//! Conversions shared by the core and the edge.

use chrono::{DateTime, TimeZone, Utc};
use prost_types::Timestamp;

/// A UTC time as a protobuf timestamp.
pub fn timestamp(t: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// A protobuf timestamp as a UTC time; `None` when out of range.
pub fn datetime(t: &Timestamp) -> Option<DateTime<Utc>> {
    let nanos = u32::try_from(t.nanos).ok()?;
    Utc.timestamp_opt(t.seconds, nanos).single()
}

/// Metadata key carrying an idempotency key on gRPC calls.
pub const IDEMPOTENCY_KEY_METADATA: &str = "idempotency-key";
/// Metadata key carrying the request id on gRPC calls.
pub const REQUEST_ID_METADATA: &str = "x-request-id";
/// Error domain of every `ErrorInfo` the core returns.
pub const ERROR_DOMAIN: &str = "lastmile.v1";
/// `ErrorInfo` metadata key with the longer, human explanation of an error.
pub const ERROR_DETAIL_KEY: &str = "detail";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_to_the_microsecond() {
        let t = Utc.with_ymd_and_hms(2024, 1, 15, 10, 30, 0).unwrap()
            + chrono::Duration::microseconds(123_456);
        assert_eq!(datetime(&timestamp(t)), Some(t));
    }
}

/// Digits after the decimal point of an ISO 4217 currency (2 unless the currency says
/// otherwise). Amounts are stored in these minor units.
pub fn minor_digits(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// Minor units written as a decimal number with the currency's minor digits:
/// `format_minor_units(7999, "USD") == "79.99"`, `(-5, "USD") == "-0.05"`, `(100, "JPY") == "100"`.
/// Integer arithmetic only, so no amount is ever rounded by a float on its way out.
pub fn format_minor_units(minor_units: i64, currency: &str) -> String {
    let digits = minor_digits(currency);
    if digits == 0 {
        return minor_units.to_string();
    }
    let scale = 10u128.pow(digits);
    let sign = if minor_units < 0 { "-" } else { "" };
    let abs = u128::from(minor_units.unsigned_abs());
    format!(
        "{sign}{}.{:0width$}",
        abs / scale,
        abs % scale,
        width = digits as usize
    )
}

#[cfg(test)]
mod money_tests {
    use super::*;

    #[test]
    fn minor_units_print_with_the_currency_digits() {
        assert_eq!(format_minor_units(7999, "USD"), "79.99");
        assert_eq!(format_minor_units(0, "EUR"), "0.00");
        assert_eq!(format_minor_units(-5, "USD"), "-0.05");
        assert_eq!(format_minor_units(100, "JPY"), "100");
        assert_eq!(format_minor_units(1234, "KWD"), "1.234");
        assert_eq!(format_minor_units(i64::MIN, "USD"), "-92233720368547758.08");
    }
}

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
/// Metadata key carrying the client's address as the edge saw it (for the audit log).
pub const CLIENT_ADDRESS_METADATA: &str = "x-client-address";
/// Metadata key carrying the reason for a change (the REST `X-Reason` header).
pub const REASON_METADATA: &str = "x-reason";
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

/// A value scaled by 10^`digits` written as a decimal without trailing zeros: speeds in
/// kbit/s as Mbit/s (`decimal_text(10500, 3) == "10.5"`, `(100000, 3) == "100"`), data
/// in MB as GB. Integer arithmetic only.
pub fn decimal_text(value: i64, digits: u32) -> String {
    let scale = 10u128.pow(digits);
    let sign = if value < 0 { "-" } else { "" };
    let abs = u128::from(value.unsigned_abs());
    let (whole, fraction) = (abs / scale, abs % scale);
    if fraction == 0 {
        return format!("{sign}{whole}");
    }
    let fraction = format!("{fraction:0width$}", width = digits as usize);
    format!("{sign}{whole}.{}", fraction.trim_end_matches('0'))
}

#[cfg(test)]
mod money_tests {
    use super::*;

    #[test]
    fn scaled_values_are_written_without_trailing_zeros() {
        assert_eq!(decimal_text(10_500, 3), "10.5");
        assert_eq!(decimal_text(100_000, 3), "100");
        assert_eq!(decimal_text(1, 3), "0.001");
        assert_eq!(decimal_text(10_010, 3), "10.01");
        assert_eq!(decimal_text(-1_500, 3), "-1.5");
        assert_eq!(decimal_text(4_999, 2), "49.99");
        assert_eq!(decimal_text(7, 0), "7");
    }

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

/// A JSON object as a protobuf `Struct` (numbers become doubles, as protobuf JSON has it).
pub fn json_to_struct(map: serde_json::Map<String, serde_json::Value>) -> prost_types::Struct {
    prost_types::Struct {
        fields: map
            .into_iter()
            .map(|(k, v)| (k, json_to_value(v)))
            .collect(),
    }
}

fn json_to_value(value: serde_json::Value) -> prost_types::Value {
    use prost_types::value::Kind;
    use serde_json::Value as J;
    let kind = match value {
        J::Null => Kind::NullValue(0),
        J::Bool(b) => Kind::BoolValue(b),
        J::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        J::String(s) => Kind::StringValue(s),
        J::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.into_iter().map(json_to_value).collect(),
        }),
        J::Object(map) => Kind::StructValue(json_to_struct(map)),
    };
    prost_types::Value { kind: Some(kind) }
}

/// A protobuf `Struct` as a JSON object. Whole numbers come back as integers (ids, days).
pub fn struct_to_json(s: prost_types::Struct) -> serde_json::Map<String, serde_json::Value> {
    s.fields
        .into_iter()
        .map(|(k, v)| (k, value_to_json(v)))
        .collect()
}

fn value_to_json(value: prost_types::Value) -> serde_json::Value {
    use prost_types::value::Kind;
    use serde_json::Value as J;
    match value.kind {
        None | Some(Kind::NullValue(_)) => J::Null,
        Some(Kind::BoolValue(b)) => J::Bool(b),
        Some(Kind::NumberValue(n)) if n.fract() == 0.0 && n.abs() < 9.0e15 => J::from(n as i64),
        Some(Kind::NumberValue(n)) => serde_json::Number::from_f64(n).map_or(J::Null, J::Number),
        Some(Kind::StringValue(s)) => J::String(s),
        Some(Kind::ListValue(list)) => {
            J::Array(list.values.into_iter().map(value_to_json).collect())
        }
        Some(Kind::StructValue(s)) => J::Object(struct_to_json(s)),
    }
}

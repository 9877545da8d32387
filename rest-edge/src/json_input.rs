//! Reading JSON request bodies by hand, so that every failure is an envelope: a body that
//! is not a JSON object is a 400, and fields of the wrong JSON type are collected, all of
//! them, into one 422.

use crate::envelope::{ApiError, FieldErrors};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use serde_json::{Map, Value};

/// The body of a request as a JSON object. An empty body reads as `{}`, so a request
/// without one is judged by its (missing) fields rather than refused as malformed.
pub(crate) fn object(body: Result<Bytes, BytesRejection>) -> Result<Map<String, Value>, ApiError> {
    let body = body.map_err(|rejection| {
        let status = rejection.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "Payload too large"
        } else {
            "Unreadable request body"
        };
        let mut error = ApiError::bad_request(message, rejection.body_text());
        error.status = status;
        error
    })?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(malformed("The request body must be a JSON object.")),
        Err(error) => Err(malformed(error.to_string())),
    }
}

fn malformed(detail: impl Into<String>) -> ApiError {
    ApiError::bad_request("Malformed JSON", detail)
}

/// A JSON field as the client sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Field<T> {
    /// The key is not in the body (or its value had the wrong type, which is reported).
    Absent,
    /// The key is present with `null`.
    Null,
    /// The key is present with a value of the right type.
    Value(T),
}

impl<T> Field<T> {
    /// Whether the key was in the body with a usable value or `null`.
    pub(crate) fn is_present(&self) -> bool {
        !matches!(self, Self::Absent)
    }

    /// The value, if one was given.
    pub(crate) fn value(self) -> Option<T> {
        match self {
            Self::Value(value) => Some(value),
            Self::Absent | Self::Null => None,
        }
    }
}

/// The human name of a field in messages: `billing_day` → "billing day",
/// `address.city` → "address city".
pub(crate) fn label(path: &str) -> String {
    path.replace(['_', '.'], " ")
}

/// One JSON object of a body (the body itself, or a nested object such as `address`),
/// read field by field; type errors go to a shared list under the field's full path.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fields<'a> {
    map: &'a Map<String, Value>,
    prefix: Option<&'a str>,
}

impl<'a> Fields<'a> {
    /// The top level of a body.
    pub(crate) fn new(map: &'a Map<String, Value>) -> Self {
        Self { map, prefix: None }
    }

    /// A nested object whose fields are reported as `prefix.key`.
    pub(crate) fn nested(map: &'a Map<String, Value>, prefix: &'a str) -> Self {
        Self {
            map,
            prefix: Some(prefix),
        }
    }

    /// The full path of a key, for messages.
    pub(crate) fn path(&self, key: &str) -> String {
        match self.prefix {
            Some(prefix) => format!("{prefix}.{key}"),
            None => key.to_owned(),
        }
    }

    /// The raw value of a key.
    pub(crate) fn raw(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    fn read<T>(
        &self,
        key: &str,
        errors: &mut FieldErrors,
        message: impl FnOnce(&str) -> String,
        convert: impl FnOnce(&Value) -> Option<T>,
    ) -> Field<T> {
        match self.map.get(key) {
            None => Field::Absent,
            Some(Value::Null) => Field::Null,
            Some(value) => match convert(value) {
                Some(value) => Field::Value(value),
                None => {
                    let path = self.path(key);
                    errors.add(path.as_str(), message(&label(&path)));
                    Field::Absent
                }
            },
        }
    }

    /// A string field.
    pub(crate) fn string(&self, key: &str, errors: &mut FieldErrors) -> Field<String> {
        self.read(
            key,
            errors,
            |label| format!("The {label} must be a string."),
            |v| v.as_str().map(str::to_owned),
        )
    }

    /// An integer field (a JSON number without fraction).
    pub(crate) fn integer(&self, key: &str, errors: &mut FieldErrors) -> Field<i64> {
        self.read(
            key,
            errors,
            |label| format!("The {label} must be an integer."),
            as_integer,
        )
    }

    /// A decimal number field, as the text of its value (see [`number_text`]).
    pub(crate) fn decimal(&self, key: &str, errors: &mut FieldErrors) -> Field<String> {
        self.read(
            key,
            errors,
            |label| format!("The {label} must be a number."),
            |v| match v {
                Value::Number(n) => Some(number_text(n)),
                _ => None,
            },
        )
    }

    /// A boolean field.
    pub(crate) fn boolean(&self, key: &str, errors: &mut FieldErrors) -> Field<bool> {
        self.read(
            key,
            errors,
            |label| format!("The {label} field must be true or false."),
            Value::as_bool,
        )
    }

    /// An array of integers.
    pub(crate) fn integers(&self, key: &str, errors: &mut FieldErrors) -> Field<Vec<i64>> {
        self.read(
            key,
            errors,
            |label| format!("The {label} must be an array of integers."),
            |v| v.as_array()?.iter().map(as_integer).collect(),
        )
    }

    /// An array of strings.
    pub(crate) fn strings(&self, key: &str, errors: &mut FieldErrors) -> Field<Vec<String>> {
        self.read(
            key,
            errors,
            |label| format!("The {label} must be an array of strings."),
            |v| {
                v.as_array()?
                    .iter()
                    .map(|item| item.as_str().map(str::to_owned))
                    .collect()
            },
        )
    }

    /// A nested object.
    pub(crate) fn object(
        &self,
        key: &str,
        errors: &mut FieldErrors,
    ) -> Field<&'a Map<String, Value>> {
        match self.map.get(key) {
            None => Field::Absent,
            Some(Value::Null) => Field::Null,
            Some(Value::Object(map)) => Field::Value(map),
            Some(_) => {
                let path = self.path(key);
                errors.add(
                    path.as_str(),
                    format!("The {} must be an object.", label(&path)),
                );
                Field::Absent
            }
        }
    }
}

/// A JSON integer; one beyond `i64` saturates so that the core reports it as out of range.
pub(crate) fn as_integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) if n.is_i64() => n.as_i64(),
        Value::Number(n) if n.is_u64() => Some(i64::MAX),
        // JSON has one number type: `2.0` is the integer 2 (as JSON Schema counts it), and
        // a whole number beyond 64 bits saturates like a large integer does.
        Value::Number(n) => n
            .as_f64()
            .filter(|f| f.is_finite() && f.fract() == 0.0)
            .map(|f| f as i64),
        _ => None,
    }
}

/// A JSON number as decimal text without exponent, for the core to read exactly. Integers
/// are written as they are; other numbers arrive as IEEE doubles, which hold 15
/// significant digits exactly, so they are written to 15 significant digits: what a client
/// typed (`10.5`, `49.99`, `0.001`) comes back as typed, and the binary noise of a double
/// computed rather than typed (`10.501000000000001`) goes.
pub(crate) fn number_text(number: &serde_json::Number) -> String {
    if let Some(i) = number.as_i64() {
        return i.to_string();
    }
    if let Some(u) = number.as_u64() {
        return u.to_string();
    }
    let value = number.as_f64().unwrap_or_default();
    // `d.dddddddddddddde±x`: 15 significant digits and the power of ten of the first.
    let scientific = format!("{:.14e}", value.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let point = exponent.parse::<i64>().unwrap_or(0) + 1;
    let sign = if value < 0.0 { "-" } else { "" };
    let plain = match usize::try_from(point) {
        Err(_) => format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize)),
        Ok(point) if point >= digits.len() => {
            format!("{digits}{}", "0".repeat(point - digits.len()))
        }
        Ok(point) => format!("{}.{}", &digits[..point], &digits[point..]),
    };
    let plain = if plain.contains('.') {
        plain.trim_end_matches('0').trim_end_matches('.')
    } else {
        plain.as_str()
    };
    let plain = plain.trim_start_matches('0');
    match plain {
        "" => "0".to_owned(),
        p if p.starts_with('.') => format!("{sign}0{p}"),
        p => format!("{sign}{p}"),
    }
}

/// An `i32` proto field from a JSON integer, saturating like [`as_integer`].
pub(crate) fn saturate_i32(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(if value < 0 { i32::MIN } else { i32::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    #[test]
    fn a_body_that_is_not_json_is_malformed_with_serdes_message() {
        let error = object(Ok(Bytes::from_static(b"{\"a\":"))).unwrap_err();
        assert_eq!(error.status.as_u16(), 400);
        assert_eq!(error.body.message, "Malformed JSON");
        assert_eq!(error.body.code, "BAD_REQUEST");
        assert!(error.body.error.unwrap().contains("EOF"));
    }

    #[test]
    fn a_json_body_that_is_not_an_object_is_malformed() {
        let error = object(Ok(Bytes::from_static(b"[1,2]"))).unwrap_err();
        assert_eq!(error.body.message, "Malformed JSON");
    }

    #[test]
    fn an_empty_body_reads_as_an_empty_object() {
        assert!(object(Ok(Bytes::from_static(b" \n"))).unwrap().is_empty());
    }

    #[test]
    fn type_errors_are_collected_over_all_fields() {
        let body = map(
            json!({"name": 1, "count": "2", "flag": "yes", "ids": [1, "2"],
            "nested": 5, "ok": "fine"}),
        );
        let fields = Fields::new(&body);
        let mut errors = FieldErrors::default();
        assert_eq!(fields.string("name", &mut errors), Field::Absent);
        assert_eq!(fields.integer("count", &mut errors), Field::Absent);
        assert_eq!(fields.boolean("flag", &mut errors), Field::Absent);
        assert_eq!(fields.integers("ids", &mut errors), Field::Absent);
        assert_eq!(fields.object("nested", &mut errors), Field::Absent);
        assert_eq!(
            fields.string("ok", &mut errors),
            Field::Value("fine".to_owned())
        );
        assert_eq!(fields.string("missing", &mut errors), Field::Absent);
        assert_eq!(errors.fields(), ["name", "count", "flag", "ids", "nested"]);
        assert_eq!(
            errors.get("flag").unwrap(),
            ["The flag field must be true or false."]
        );
        assert_eq!(
            errors.get("ids").unwrap(),
            ["The ids must be an array of integers."]
        );
    }

    #[test]
    fn integers_must_not_have_a_fraction_and_saturate_when_huge() {
        let body = map(json!({"a": 1.5, "b": 18446744073709551615u64, "c": -3,
                              "d": 15.0, "e": 1e300, "f": -2.0}));
        let fields = Fields::new(&body);
        let mut errors = FieldErrors::default();
        assert_eq!(fields.integer("a", &mut errors), Field::Absent);
        assert_eq!(fields.integer("b", &mut errors), Field::Value(i64::MAX));
        assert_eq!(fields.integer("c", &mut errors), Field::Value(-3));
        assert_eq!(fields.integer("d", &mut errors), Field::Value(15));
        assert_eq!(fields.integer("e", &mut errors), Field::Value(i64::MAX));
        assert_eq!(fields.integer("f", &mut errors), Field::Value(-2));
        assert_eq!(saturate_i32(i64::MAX), i32::MAX);
        assert_eq!(saturate_i32(-5_000_000_000), i32::MIN);
        assert_eq!(errors.fields(), ["a"]);
    }

    #[test]
    fn numbers_are_read_as_the_decimal_a_client_typed() {
        let body = map(
            json!({"a": 10.5, "b": 49.99, "c": 0.001, "d": 10.501000000000001,
            "e": 100000, "f": -2.5, "g": 1e21, "h": 10.0001, "i": 0.0, "j": 1.5e-7, "k": "1"}),
        );
        let fields = Fields::new(&body);
        let mut errors = FieldErrors::default();
        let read = |key: &str, errors: &mut FieldErrors| fields.decimal(key, errors).value();
        let expected = [
            ("a", "10.5"),
            ("b", "49.99"),
            ("c", "0.001"),
            ("d", "10.501"),
            ("e", "100000"),
            ("f", "-2.5"),
            ("g", "1000000000000000000000"),
            ("h", "10.0001"),
            ("i", "0"),
            ("j", "0.00000015"),
        ];
        for (key, text) in expected {
            assert_eq!(read(key, &mut errors).as_deref(), Some(text), "{key}");
        }
        assert_eq!(read("k", &mut errors), None);
        assert_eq!(errors.get("k").unwrap(), ["The k must be a number."]);
    }

    #[test]
    fn nested_fields_are_reported_under_their_full_path() {
        let body = map(json!({"city": 7}));
        let mut errors = FieldErrors::default();
        Fields::nested(&body, "address").string("city", &mut errors);
        assert_eq!(
            errors.get("address.city").unwrap(),
            ["The address city must be a string."]
        );
    }

    #[test]
    fn null_is_present_but_carries_no_value() {
        let body = map(json!({"a": null}));
        let field = Fields::new(&body).string("a", &mut FieldErrors::default());
        assert!(field.is_present());
        assert_eq!(field.value(), None);
    }
}

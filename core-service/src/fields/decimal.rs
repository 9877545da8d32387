//! Decimal numbers written as text ("10.5", "49.99"), read exactly into integers of a
//! fixed scale: 10.5 Mbit/s with 3 digits is 10500 kbit/s, 49.99 USD with 2 is 4999
//! cents. No float is involved, so no value is ever rounded on its way in; a value with
//! more digits than the scale holds is refused rather than rounded.

use super::Messages;

/// Why a text is not a decimal of the wanted scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalError {
    /// Not a plain decimal number (`12`, `-3.5`, `.25`).
    NotANumber,
    /// More significant digits after the point than the scale holds.
    TooPrecise,
    /// Beyond a 64-bit integer once scaled.
    TooLarge,
}

/// `text` times 10^`digits`, exactly. Trailing zeros after the point do not count as
/// precision ("10.5000" with 3 digits is 10500).
pub fn scaled(text: &str, digits: u32) -> Result<i64, DecimalError> {
    let text = text.trim();
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction) {
        return Err(DecimalError::NotANumber);
    }
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > digits as usize {
        return Err(DecimalError::TooPrecise);
    }
    let mut value: i64 = 0;
    let padded = fraction
        .bytes()
        .chain(std::iter::repeat_n(b'0', digits as usize - fraction.len()));
    for byte in whole.bytes().chain(padded) {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(byte - b'0')))
            .ok_or(DecimalError::TooLarge)?;
    }
    Ok(if negative { -value } else { value })
}

/// A decimal field of scale `digits` that must lie in `min..=max` (both scaled), with the
/// contract's messages; `label` as it appears in them, `unit_min`/`unit_max` the bounds as
/// a client writes them.
pub fn bounded(
    text: &str,
    digits: u32,
    label: &str,
    (min, unit_min): (i64, &str),
    (max, unit_max): (i64, &str),
) -> Result<i64, Messages> {
    let below = || vec![format!("The {label} must be at least {unit_min}.")];
    let above = || vec![format!("The {label} may not be greater than {unit_max}.")];
    match scaled(text, digits) {
        // Beyond 64 bits is beyond any bound.
        Err(DecimalError::TooLarge) if text.trim_start().starts_with('-') => Err(below()),
        Err(DecimalError::TooLarge) => Err(above()),
        Err(error) => Err(vec![message(error, label, digits)]),
        Ok(value) if value < min => Err(below()),
        Ok(value) if value > max => Err(above()),
        Ok(value) => Ok(value),
    }
}

/// The message for a decimal that could not be read.
pub fn message(error: DecimalError, label: &str, digits: u32) -> String {
    match error {
        DecimalError::NotANumber => format!("The {label} must be a number."),
        DecimalError::TooPrecise if digits == 0 => format!("The {label} must be a whole number."),
        DecimalError::TooPrecise => {
            format!("The {label} may not have more than {digits} decimal places.")
        }
        DecimalError::TooLarge => format!("The {label} is too large."),
    }
}

/// `minor` units of a scale of `from` digits in a scale of `to` digits, when exact: 4999
/// cents are 49990 at 3 digits, and 5000 cents are 50 at 0 digits; 4999 cents have no
/// whole-unit equivalent.
pub fn rescaled(minor: i64, from: u32, to: u32) -> Option<i64> {
    if to >= from {
        minor.checked_mul(10i64.checked_pow(to - from)?)
    } else {
        let divisor = 10i64.checked_pow(from - to)?;
        (minor % divisor == 0).then_some(minor / divisor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_read_exactly_at_their_scale() {
        let cases: &[(&str, u32, Result<i64, DecimalError>)] = &[
            ("10", 3, Ok(10_000)),
            ("10.5", 3, Ok(10_500)),
            ("0.001", 3, Ok(1)),
            ("10.5000", 3, Ok(10_500)),
            (" 49.99 ", 2, Ok(4_999)),
            (".25", 2, Ok(25)),
            ("7.", 2, Ok(700)),
            ("-3.5", 1, Ok(-35)),
            ("+2", 0, Ok(2)),
            ("10.0001", 3, Err(DecimalError::TooPrecise)),
            ("49.999", 2, Err(DecimalError::TooPrecise)),
            ("1.5", 0, Err(DecimalError::TooPrecise)),
            ("", 3, Err(DecimalError::NotANumber)),
            (".", 3, Err(DecimalError::NotANumber)),
            ("1e3", 3, Err(DecimalError::NotANumber)),
            ("1,5", 3, Err(DecimalError::NotANumber)),
            ("--1", 3, Err(DecimalError::NotANumber)),
            ("ten", 3, Err(DecimalError::NotANumber)),
            ("99999999999999999999", 0, Err(DecimalError::TooLarge)),
            ("9223372036854775.808", 3, Err(DecimalError::TooLarge)),
        ];
        for (text, digits, expected) in cases {
            assert_eq!(scaled(text, *digits), *expected, "{text:?} at {digits}");
        }
    }

    #[test]
    fn bounded_decimals_say_what_is_wrong() {
        let speed = |text| {
            bounded(
                text,
                3,
                "speed download mbps",
                (1, "0.001"),
                (100_000_000, "100000"),
            )
        };
        assert_eq!(speed("10.5"), Ok(10_500));
        assert_eq!(
            speed("0"),
            Err(vec![
                "The speed download mbps must be at least 0.001.".to_owned()
            ])
        );
        assert_eq!(
            speed("100000.001"),
            Err(vec![
                "The speed download mbps may not be greater than 100000.".to_owned()
            ])
        );
        assert_eq!(
            speed("10.0001"),
            Err(vec![
                "The speed download mbps may not have more than 3 decimal places.".to_owned()
            ])
        );
        assert_eq!(
            speed("99999999999999999999"),
            Err(vec![
                "The speed download mbps may not be greater than 100000.".to_owned()
            ])
        );
        assert_eq!(
            speed("fast"),
            Err(vec!["The speed download mbps must be a number.".to_owned()])
        );
        assert_eq!(
            message(DecimalError::TooPrecise, "monthly fee", 0),
            "The monthly fee must be a whole number."
        );
    }

    #[test]
    fn amounts_move_between_scales_only_when_exact() {
        assert_eq!(rescaled(4_999, 2, 3), Some(49_990));
        assert_eq!(rescaled(5_000, 2, 0), Some(50));
        assert_eq!(rescaled(4_999, 2, 0), None);
        assert_eq!(rescaled(12, 2, 2), Some(12));
        assert_eq!(rescaled(i64::MAX, 0, 3), None);
    }
}

//! The rules of a plan's fields, one function per field, and the rules between fields,
//! which run on the plan as it would be and only over fields that were readable.

use super::attributes::known_attribute;
use super::input::{AttributeInput, BurstInput, PlanField};
use super::{Burst, CapPolicy, PlanFields, RadiusAttribute, Throttle};
use crate::customers::Choice;
use crate::error::FieldErrors;
use crate::fields::{self, Messages, decimal};

/// Speeds are decimal Mbit/s with kbit/s precision.
pub(super) const SPEED_DIGITS: u32 = 3;
/// 100 Gbit/s, in kbit/s.
pub(super) const SPEED_MAX_KBPS: i64 = 100_000_000;
/// Data limits are decimal GB with MB precision (1 GB = 1000 MB).
pub(super) const DATA_DIGITS: u32 = 3;
/// 10 PB, in MB.
pub(super) const DATA_MAX_MB: i64 = 10_000_000_000;
/// Most a fee may be, in the currency's major unit.
pub(super) const FEE_MAX_MAJOR: i64 = 1_000_000_000;
pub(super) const BURST_TIME_SECONDS: std::ops::RangeInclusive<i32> = 1..=3600;
pub(super) const BILLING_PERIODS: [i32; 4] = [1, 3, 6, 12];
pub(super) const TAX_CLASS_MAX: usize = 50;
pub(super) const ATTRIBUTES_MAX: usize = 50;
/// RADIUS carries at most 253 octets in one attribute.
pub(super) const VALUE_MAX: usize = 253;

/// The rules between fields, over the fields that were readable.
pub(super) fn relations(
    plan: &mut PlanFields,
    (throttle_down, throttle_up): (Option<i64>, Option<i64>),
    selected: &[PlanField],
    errors: &mut FieldErrors,
) {
    let readable = |errors: &FieldErrors, key: &str| errors.messages(key).is_empty();
    let speeds = [
        ("download", plan.download_kbps, "speed_download_mbps"),
        ("upload", plan.upload_kbps, "speed_upload_mbps"),
    ];
    if let Some(burst) = plan.burst {
        let rates = [burst.download_kbps, burst.upload_kbps];
        let thresholds = [burst.threshold_download_kbps, burst.threshold_upload_kbps];
        for (((direction, speed, speed_key), rate), threshold) in
            speeds.into_iter().zip(rates).zip(thresholds)
        {
            if !readable(errors, speed_key) {
                continue;
            }
            if rate <= speed {
                errors.add(
                    format!("burst.{direction}_mbps"),
                    format!(
                        "The burst {direction} mbps must be greater than the {}.",
                        label(speed_key)
                    ),
                );
            }
            if threshold >= speed {
                errors.add(
                    format!("burst.threshold_{direction}_mbps"),
                    format!(
                        "The burst threshold {direction} mbps must be less than the {}.",
                        label(speed_key)
                    ),
                );
            }
        }
    }
    let throttled = [
        (throttle_down, PlanField::ThrottleDownload),
        (throttle_up, PlanField::ThrottleUpload),
    ];
    if plan.cap_policy == CapPolicy::Throttle {
        for ((value, field), (_, speed, speed_key)) in throttled.into_iter().zip(speeds) {
            let key = field.key();
            match value {
                None if readable(errors, key) => errors.add(
                    key,
                    format!(
                        "The {} field is required when cap policy is throttle.",
                        label(key)
                    ),
                ),
                Some(value) if value >= speed && readable(errors, speed_key) => errors.add(
                    key,
                    format!(
                        "The {} must be less than the {}.",
                        label(key),
                        label(speed_key)
                    ),
                ),
                _ => {}
            }
        }
        plan.throttle = throttle_down
            .zip(throttle_up)
            .map(|(download_kbps, upload_kbps)| Throttle {
                download_kbps,
                upload_kbps,
            });
    } else {
        // Speeds of a former throttle policy go with it; speeds sent with another policy
        // are a mistake worth telling.
        for (value, field) in throttled {
            if value.is_some() && selected.contains(&field) {
                errors.add(
                    field.key(),
                    format!(
                        "The {} field is prohibited unless cap policy is throttle.",
                        label(field.key())
                    ),
                );
            }
        }
        plan.throttle = None;
    }
    let limit_key = PlanField::DataLimit.key();
    if plan.cap_policy != CapPolicy::None
        && plan.data_limit_mb.is_none()
        && readable(errors, limit_key)
    {
        errors.add(
            limit_key,
            format!(
                "The data limit gb field is required when cap policy is {}.",
                plan.cap_policy.as_str()
            ),
        );
    }
}

/// `billing_day` → "billing day": a key as messages name it.
pub(super) fn label(key: &str) -> String {
    key.replace(['_', '.'], " ")
}

/// An enum field: absent is its default.
pub(super) fn choice<T: Copy + Default>(value: &Choice<T>, key: &str) -> Result<T, Messages> {
    match value {
        Choice::Absent => Ok(T::default()),
        Choice::Valid(value) => Ok(*value),
        Choice::Invalid => Err(vec![format!("The selected {} is invalid.", label(key))]),
    }
}

/// A speed in kbit/s from decimal Mbit/s, when given.
pub(super) fn speed(raw: Option<&str>, key: &str) -> Result<Option<i64>, Messages> {
    let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    decimal::bounded(
        text,
        SPEED_DIGITS,
        &label(key),
        (1, "0.001"),
        (SPEED_MAX_KBPS, "100000"),
    )
    .map(Some)
}

pub(super) fn required_speed(raw: Option<&str>, key: &str) -> Result<i64, Messages> {
    speed(raw, key)?.ok_or_else(|| vec![format!("The {} field is required.", label(key))])
}

/// `data_limit_gb`: MB from decimal GB; none is unlimited.
pub(super) fn data_limit(raw: Option<&str>) -> Result<Option<i64>, Messages> {
    let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    decimal::bounded(
        text,
        DATA_DIGITS,
        "data limit gb",
        (1, "0.001"),
        (DATA_MAX_MB, "10000000"),
    )
    .map(Some)
}

/// A fee in minor units of a currency with `digits` minor digits; a missing optional fee
/// is 0.
pub(super) fn fee(
    raw: Option<&str>,
    digits: u32,
    key: &str,
    required: bool,
) -> Result<i64, Messages> {
    let text = raw.map(str::trim).unwrap_or_default();
    if text.is_empty() {
        return if required {
            Err(vec![format!("The {} field is required.", label(key))])
        } else {
            Ok(0)
        };
    }
    let max = FEE_MAX_MAJOR.saturating_mul(10i64.pow(digits));
    decimal::bounded(text, digits, &label(key), (0, "0"), (max, "1000000000"))
}

/// `currency`: three letters (ISO 4217), upper-cased; blank is the deployment's default.
pub(super) fn currency(raw: Option<&str>, default: &str) -> Result<String, Messages> {
    let text = raw.map(str::trim).unwrap_or_default();
    if text.is_empty() {
        return Ok(default.to_owned());
    }
    if text.len() == 3 && text.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Ok(text.to_ascii_uppercase());
    }
    Err(vec![
        "The currency must be a 3-letter ISO 4217 code.".into(),
    ])
}

/// `billing_period_months`: 1, 3, 6 or 12; 0 (not given) is 1.
pub(super) fn billing_period(raw: Option<i32>) -> Result<i32, Messages> {
    match raw.unwrap_or(0) {
        0 => Ok(1),
        months if BILLING_PERIODS.contains(&months) => Ok(months),
        _ => Err(vec![
            "The billing period months must be one of 1, 3, 6, 12.".into(),
        ]),
    }
}

/// The burst, every member required, or each failure under `burst.<member>`.
pub(super) fn burst(raw: Option<&BurstInput>) -> Result<Option<Burst>, Vec<(String, String)>> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let mut failures = Vec::new();
    let mut rate = |value: &Option<String>, member: &str| {
        let key = format!("burst.{member}");
        required_speed(value.as_deref(), &key).unwrap_or_else(|messages| {
            failures.extend(messages.into_iter().map(|m| (key.clone(), m)));
            0
        })
    };
    let download_kbps = rate(&raw.download_mbps, "download_mbps");
    let upload_kbps = rate(&raw.upload_mbps, "upload_mbps");
    let threshold_download_kbps = rate(&raw.threshold_download_mbps, "threshold_download_mbps");
    let threshold_upload_kbps = rate(&raw.threshold_upload_mbps, "threshold_upload_mbps");
    let time_seconds = match raw.time_seconds {
        None => {
            failures.push((
                "burst.time_seconds".into(),
                "The burst time seconds field is required.".into(),
            ));
            0
        }
        Some(seconds) => fields::in_range(seconds, BURST_TIME_SECONDS, "burst time seconds")
            .unwrap_or_else(|messages| {
                failures.extend(
                    messages
                        .into_iter()
                        .map(|m| ("burst.time_seconds".to_owned(), m)),
                );
                0
            }),
    };
    if !failures.is_empty() {
        return Err(failures);
    }
    Ok(Some(Burst {
        download_kbps,
        upload_kbps,
        threshold_download_kbps,
        threshold_upload_kbps,
        time_seconds,
    }))
}

/// The attributes that pass, and each failure under `radius_attributes.<i>.<member>`.
pub(super) fn radius_attributes(
    items: &[AttributeInput],
) -> (Vec<RadiusAttribute>, Vec<(String, String)>) {
    let mut failures = Vec::new();
    if items.len() > ATTRIBUTES_MAX {
        failures.push((
            "radius_attributes".to_owned(),
            format!("The radius attributes may not have more than {ATTRIBUTES_MAX} items."),
        ));
    }
    let mut attributes = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let key = |member: &str| format!("radius_attributes.{i}.{member}");
        let before = failures.len();
        let name = item.attribute.trim();
        let attribute = if name.is_empty() {
            failures.push((key("attribute"), "The attribute field is required.".into()));
            None
        } else {
            known_attribute(name)
                .map_err(|message| failures.push((key("attribute"), message)))
                .ok()
        };
        let op = match item.op {
            Choice::Valid(op) => Some(op),
            Choice::Absent => {
                failures.push((key("op"), "The op field is required.".into()));
                None
            }
            Choice::Invalid => {
                failures.push((key("op"), "The op must be one of =, :=, +=.".into()));
                None
            }
        };
        let value = item.value.trim();
        if value.is_empty() {
            failures.push((key("value"), "The value field is required.".into()));
        } else if value.chars().count() > VALUE_MAX {
            failures.push((
                key("value"),
                format!("The value may not be greater than {VALUE_MAX} characters."),
            ));
        } else if value.chars().any(char::is_control) {
            failures.push((
                key("value"),
                "The value may not contain control characters.".into(),
            ));
        }
        if let (Some(attribute), Some(op), true) = (attribute, op, failures.len() == before) {
            attributes.push(RadiusAttribute {
                attribute,
                op,
                value: value.to_owned(),
            });
        }
    }
    (attributes, failures)
}

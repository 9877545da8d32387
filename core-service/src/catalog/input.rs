//! What a client sent for a plan, and the rules that turn it into [`PlanFields`] that can
//! only be valid. Each field is read on its own first; the rules between fields (burst
//! above the speeds, throttle below them, a cap policy needing a limit) run last, on the
//! plan as it would be, and only over fields that were readable.

use super::attributes::known_attribute;
use super::{
    Burst, CapPolicy, PlanFields, PlanStatus, RadiusAttribute, RadiusOp, ServiceType, Throttle,
};
use crate::customers::Choice;
use crate::error::FieldErrors;
use crate::fields::{self, Messages, decimal};

/// Speeds are decimal Mbit/s with kbit/s precision.
const SPEED_DIGITS: u32 = 3;
/// 100 Gbit/s, in kbit/s.
const SPEED_MAX_KBPS: i64 = 100_000_000;
/// Data limits are decimal GB with MB precision (1 GB = 1000 MB).
const DATA_DIGITS: u32 = 3;
/// 10 PB, in MB.
const DATA_MAX_MB: i64 = 10_000_000_000;
/// Most a fee may be, in the currency's major unit.
const FEE_MAX_MAJOR: i64 = 1_000_000_000;
const BURST_TIME_SECONDS: std::ops::RangeInclusive<i32> = 1..=3600;
const BILLING_PERIODS: [i32; 4] = [1, 3, 6, 12];
const TAX_CLASS_MAX: usize = 50;
const ATTRIBUTES_MAX: usize = 50;
/// RADIUS carries at most 253 octets in one attribute.
const VALUE_MAX: usize = 253;

/// A burst as sent; `None` members were not given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BurstInput {
    /// Decimal Mbit/s.
    pub download_mbps: Option<String>,
    /// Decimal Mbit/s.
    pub upload_mbps: Option<String>,
    /// Decimal Mbit/s.
    pub threshold_download_mbps: Option<String>,
    /// Decimal Mbit/s.
    pub threshold_upload_mbps: Option<String>,
    /// Seconds.
    pub time_seconds: Option<i32>,
}

/// A RADIUS attribute as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttributeInput {
    /// The attribute's name.
    pub attribute: String,
    /// The operator.
    pub op: Choice<RadiusOp>,
    /// The value.
    pub value: String,
}

/// A plan as a client sent it; `None` is "not given" (or "clear", on update). Speeds,
/// amounts and the data limit are decimal text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanInput {
    /// Name.
    pub name: Option<String>,
    /// Service type.
    pub service_type: Choice<ServiceType>,
    /// Download speed, Mbit/s.
    pub speed_download_mbps: Option<String>,
    /// Upload speed, Mbit/s.
    pub speed_upload_mbps: Option<String>,
    /// Burst; `None`: no burst.
    pub burst: Option<BurstInput>,
    /// Data limit, GB; `None`: unlimited.
    pub data_limit_gb: Option<String>,
    /// Cap policy.
    pub cap_policy: Choice<CapPolicy>,
    /// Throttled download, Mbit/s.
    pub throttle_download_mbps: Option<String>,
    /// Throttled upload, Mbit/s.
    pub throttle_upload_mbps: Option<String>,
    /// Recurring fee, in the currency's major unit.
    pub monthly_fee: Option<String>,
    /// One-time fee, in the currency's major unit.
    pub activation_fee: Option<String>,
    /// ISO 4217 code.
    pub currency: Option<String>,
    /// Months per period.
    pub billing_period_months: Option<i32>,
    /// Tax class.
    pub tax_class: Option<String>,
    /// IP pool.
    pub ip_pool_id: Option<i64>,
    /// Extra RADIUS attributes.
    pub radius_attributes: Vec<AttributeInput>,
    /// For sale or archived.
    pub status: Choice<PlanStatus>,
}

/// A writable field, as an update mask names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanField {
    /// `name`
    Name,
    /// `service_type`
    ServiceType,
    /// `speed_download_mbps`
    SpeedDownload,
    /// `speed_upload_mbps`
    SpeedUpload,
    /// `burst`
    Burst,
    /// `data_limit_gb`
    DataLimit,
    /// `cap_policy`
    CapPolicy,
    /// `throttle_download_mbps`
    ThrottleDownload,
    /// `throttle_upload_mbps`
    ThrottleUpload,
    /// `monthly_fee`
    MonthlyFee,
    /// `activation_fee`
    ActivationFee,
    /// `currency`
    Currency,
    /// `billing_period_months`
    BillingPeriod,
    /// `tax_class`
    TaxClass,
    /// `ip_pool_id`
    IpPool,
    /// `radius_attributes`
    RadiusAttributes,
    /// `status`
    Status,
}

impl PlanField {
    /// Every field, in the order they are checked.
    pub const ALL: [PlanField; 17] = [
        PlanField::Name,
        PlanField::ServiceType,
        PlanField::SpeedDownload,
        PlanField::SpeedUpload,
        PlanField::Burst,
        PlanField::DataLimit,
        PlanField::CapPolicy,
        PlanField::ThrottleDownload,
        PlanField::ThrottleUpload,
        PlanField::MonthlyFee,
        PlanField::ActivationFee,
        PlanField::Currency,
        PlanField::BillingPeriod,
        PlanField::TaxClass,
        PlanField::IpPool,
        PlanField::RadiusAttributes,
        PlanField::Status,
    ];

    /// The field's name in the contract, in update masks and in error maps.
    pub fn key(self) -> &'static str {
        match self {
            PlanField::Name => "name",
            PlanField::ServiceType => "service_type",
            PlanField::SpeedDownload => "speed_download_mbps",
            PlanField::SpeedUpload => "speed_upload_mbps",
            PlanField::Burst => "burst",
            PlanField::DataLimit => "data_limit_gb",
            PlanField::CapPolicy => "cap_policy",
            PlanField::ThrottleDownload => "throttle_download_mbps",
            PlanField::ThrottleUpload => "throttle_upload_mbps",
            PlanField::MonthlyFee => "monthly_fee",
            PlanField::ActivationFee => "activation_fee",
            PlanField::Currency => "currency",
            PlanField::BillingPeriod => "billing_period_months",
            PlanField::TaxClass => "tax_class",
            PlanField::IpPool => "ip_pool_id",
            PlanField::RadiusAttributes => "radius_attributes",
            PlanField::Status => "status",
        }
    }

    /// The field an update-mask path names, if any.
    pub fn from_path(path: &str) -> Option<PlanField> {
        Self::ALL.into_iter().find(|field| field.key() == path)
    }
}

/// The plan `current` becomes with the `selected` fields of `input` (a create selects them
/// all over defaults), or every message of every field that breaks a rule. Rules that need
/// stored rows (a unique name, an existing pool) are the caller's.
pub fn check(
    current: &PlanFields,
    input: &PlanInput,
    selected: &[PlanField],
    default_currency: &str,
) -> Result<PlanFields, FieldErrors> {
    let (plan, errors) = read(current, input, selected, default_currency);
    if errors.is_empty() {
        Ok(plan)
    } else {
        Err(errors)
    }
}

/// Like [`check`], but the plan comes back beside the failures (its failing fields keep
/// their former values), so that the caller can add the failures of stored rows to them.
pub fn read(
    current: &PlanFields,
    input: &PlanInput,
    selected: &[PlanField],
    default_currency: &str,
) -> (PlanFields, FieldErrors) {
    use PlanField as F;
    let mut errors = FieldErrors::new();
    let mut plan = current.clone();
    let pick = |field| selected.contains(&field);
    let mut report = |field: &str, outcome: Result<(), Messages>| {
        for message in outcome.err().unwrap_or_default() {
            errors.add(field, message);
        }
    };
    let before = if current.currency.is_empty() {
        default_currency.to_owned()
    } else {
        current.currency.clone()
    };
    plan.currency = before.clone();
    if pick(F::Currency) {
        let outcome = currency(input.currency.as_deref(), default_currency);
        report(F::Currency.key(), outcome.map(|c| plan.currency = c));
    }
    let digits = lastmile_proto::minor_digits(&plan.currency);
    let digits_before = lastmile_proto::minor_digits(&before);
    let mut throttle = (
        current.throttle.map(|t| t.download_kbps),
        current.throttle.map(|t| t.upload_kbps),
    );
    for field in selected.iter().copied() {
        let key = field.key();
        let outcome = match field {
            F::Currency => Ok(()),
            F::Name => fields::entry_name(input.name.as_deref()).map(|v| plan.name = v),
            F::ServiceType => choice(&input.service_type, key).map(|v| plan.service_type = v),
            F::SpeedDownload => required_speed(input.speed_download_mbps.as_deref(), key)
                .map(|v| plan.download_kbps = v),
            F::SpeedUpload => required_speed(input.speed_upload_mbps.as_deref(), key)
                .map(|v| plan.upload_kbps = v),
            F::Burst => {
                let (value, failures) = match burst(input.burst.as_ref()) {
                    Ok(value) => (value, Vec::new()),
                    Err(failures) => (None, failures),
                };
                plan.burst = value;
                failures
                    .into_iter()
                    .for_each(|(k, m)| report(&k, Err(vec![m])));
                Ok(())
            }
            F::DataLimit => {
                data_limit(input.data_limit_gb.as_deref()).map(|v| plan.data_limit_mb = v)
            }
            F::CapPolicy => choice(&input.cap_policy, key).map(|v| plan.cap_policy = v),
            F::ThrottleDownload => {
                speed(input.throttle_download_mbps.as_deref(), key).map(|v| throttle.0 = v)
            }
            F::ThrottleUpload => {
                speed(input.throttle_upload_mbps.as_deref(), key).map(|v| throttle.1 = v)
            }
            F::MonthlyFee => fee(input.monthly_fee.as_deref(), digits, key, true)
                .map(|v| plan.monthly_fee_minor = v),
            F::ActivationFee => fee(input.activation_fee.as_deref(), digits, key, false)
                .map(|v| plan.activation_fee_minor = v),
            F::BillingPeriod => {
                billing_period(input.billing_period_months).map(|v| plan.billing_period_months = v)
            }
            F::TaxClass => {
                fields::optional_text(input.tax_class.as_deref(), "tax class", TAX_CLASS_MAX)
                    .map(|v| plan.tax_class = v)
            }
            F::IpPool => {
                fields::reference(input.ip_pool_id, "ip pool id").map(|v| plan.ip_pool_id = v)
            }
            F::RadiusAttributes => {
                let (attributes, failures) = radius_attributes(&input.radius_attributes);
                failures
                    .into_iter()
                    .for_each(|(k, m)| report(&k, Err(vec![m])));
                plan.radius_attributes = attributes;
                Ok(())
            }
            F::Status => choice(&input.status, key).map(|v| plan.status = v),
        };
        report(key, outcome);
    }
    // A new currency keeps the amounts that were not given, when it can write them.
    for (field, amount) in [
        (F::MonthlyFee, &mut plan.monthly_fee_minor),
        (F::ActivationFee, &mut plan.activation_fee_minor),
    ] {
        if pick(field) || digits == digits_before {
            continue;
        }
        match decimal::rescaled(*amount, digits_before, digits) {
            Some(value) => *amount = value,
            None => report(
                field.key(),
                Err(vec![decimal::message(
                    decimal::DecimalError::TooPrecise,
                    &label(field.key()),
                    digits,
                )]),
            ),
        }
    }
    relations(&mut plan, throttle, selected, &mut errors);
    (plan, errors)
}

/// The rules between fields, over the fields that were readable.
fn relations(
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
fn label(key: &str) -> String {
    key.replace(['_', '.'], " ")
}

/// An enum field: absent is its default.
fn choice<T: Copy + Default>(value: &Choice<T>, key: &str) -> Result<T, Messages> {
    match value {
        Choice::Absent => Ok(T::default()),
        Choice::Valid(value) => Ok(*value),
        Choice::Invalid => Err(vec![format!("The selected {} is invalid.", label(key))]),
    }
}

/// A speed in kbit/s from decimal Mbit/s, when given.
fn speed(raw: Option<&str>, key: &str) -> Result<Option<i64>, Messages> {
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

fn required_speed(raw: Option<&str>, key: &str) -> Result<i64, Messages> {
    speed(raw, key)?.ok_or_else(|| vec![format!("The {} field is required.", label(key))])
}

/// `data_limit_gb`: MB from decimal GB; none is unlimited.
fn data_limit(raw: Option<&str>) -> Result<Option<i64>, Messages> {
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
fn fee(raw: Option<&str>, digits: u32, key: &str, required: bool) -> Result<i64, Messages> {
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
fn currency(raw: Option<&str>, default: &str) -> Result<String, Messages> {
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
fn billing_period(raw: Option<i32>) -> Result<i32, Messages> {
    match raw.unwrap_or(0) {
        0 => Ok(1),
        months if BILLING_PERIODS.contains(&months) => Ok(months),
        _ => Err(vec![
            "The billing period months must be one of 1, 3, 6, 12.".into(),
        ]),
    }
}

/// The burst, every member required, or each failure under `burst.<member>`.
fn burst(raw: Option<&BurstInput>) -> Result<Option<Burst>, Vec<(String, String)>> {
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
fn radius_attributes(items: &[AttributeInput]) -> (Vec<RadiusAttribute>, Vec<(String, String)>) {
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

#[cfg(test)]
#[path = "input_tests.rs"]
mod tests;

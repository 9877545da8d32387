//! What a client sent for a plan, and the rules that turn it into [`PlanFields`] that can
//! only be valid. Each field is read on its own first; the rules between fields (burst
//! above the speeds, throttle below them, a cap policy needing a limit) run last, on the
//! plan as it would be, and only over fields that were readable.

use super::rules::{
    TAX_CLASS_MAX, billing_period, burst, choice, currency, data_limit, fee, label,
    radius_attributes, relations, required_speed, speed,
};
use super::{CapPolicy, PlanFields, PlanStatus, RadiusOp, ServiceType};
use crate::customers::Choice;
use crate::error::FieldErrors;
use crate::fields::{self, Messages, decimal};

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
    /// Credit days suspended.
    pub credit_suspended_days: Option<bool>,
    /// Credit unused days after a termination.
    pub credit_unused_days_on_termination: Option<bool>,
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
    /// `credit_suspended_days`
    CreditSuspendedDays,
    /// `credit_unused_days_on_termination`
    CreditTermination,
}

impl PlanField {
    /// Every field, in the order they are checked.
    pub const ALL: [PlanField; 19] = [
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
        PlanField::CreditSuspendedDays,
        PlanField::CreditTermination,
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
            PlanField::CreditSuspendedDays => "credit_suspended_days",
            PlanField::CreditTermination => "credit_unused_days_on_termination",
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
            F::CreditSuspendedDays => {
                plan.credit_suspended_days = input.credit_suspended_days.unwrap_or(false);
                Ok(())
            }
            F::CreditTermination => {
                plan.credit_unused_days_on_termination =
                    input.credit_unused_days_on_termination.unwrap_or(false);
                Ok(())
            }
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

#[cfg(test)]
#[path = "input_tests.rs"]
mod tests;

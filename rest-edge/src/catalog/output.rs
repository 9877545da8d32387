//! Proto `Plan` → the plan JSON of the contract. Speeds are decimal Mbit/s, the data limit
//! decimal GB and fees decimals of the currency, each printed from integers and embedded
//! verbatim as a JSON number, so no float ever rounds them.

use crate::base_url::BaseUrl;
use crate::format::{SelfLink, timestamp};
use lastmile_proto::v1::{CapPolicy, Plan, PlanBurst, PlanStatus, RadiusOperator, ServiceType};
use lastmile_proto::{RestName, decimal_text, format_minor_units};
use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

/// kbit/s as decimal Mbit/s (and MB as decimal GB).
const THOUSANDTHS: u32 = 3;

/// A number written by the core's integers, as a JSON number.
fn number(text: String) -> Option<Box<RawValue>> {
    RawValue::from_string(text).ok()
}

fn thousandths(value: i64) -> Option<Box<RawValue>> {
    number(decimal_text(value, THOUSANDTHS))
}

/// An enum's REST name; `None` (null) for a value the edge does not know.
fn name<E: RestName>(value: i32) -> Option<&'static str> {
    Some(E::rest_name_of(value)).filter(|n| !n.is_empty())
}

/// A MikroTik burst.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BurstJson {
    /// Burst download rate, Mbit/s.
    #[schema(value_type = f64, example = 20)]
    pub download_mbps: Option<Box<RawValue>>,
    /// Burst upload rate, Mbit/s.
    #[schema(value_type = f64, example = 4)]
    pub upload_mbps: Option<Box<RawValue>>,
    /// Download threshold, Mbit/s.
    #[schema(value_type = f64, example = 8)]
    pub threshold_download_mbps: Option<Box<RawValue>>,
    /// Upload threshold, Mbit/s.
    #[schema(value_type = f64, example = 1.5)]
    pub threshold_upload_mbps: Option<Box<RawValue>>,
    /// The averaging window, seconds.
    #[schema(example = 8)]
    pub time_seconds: i32,
}

impl From<PlanBurst> for BurstJson {
    fn from(b: PlanBurst) -> Self {
        Self {
            download_mbps: thousandths(b.download_kbps),
            upload_mbps: thousandths(b.upload_kbps),
            threshold_download_mbps: thousandths(b.threshold_download_kbps),
            threshold_upload_mbps: thousandths(b.threshold_upload_kbps),
            time_seconds: b.time_seconds,
        }
    }
}

/// An extra RADIUS reply attribute of the plan's group.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RadiusAttributeJson {
    /// The dictionary name.
    #[schema(example = "Session-Timeout")]
    pub attribute: String,
    /// `=`, `:=` or `+=`.
    #[schema(example = ":=")]
    pub op: &'static str,
    /// The value.
    #[schema(example = "86400")]
    pub value: String,
}

/// A plan as the REST API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PlanJson {
    /// Plan id; its RADIUS group is `plan-<id>`.
    pub id: i64,
    /// Name, unique among plans (ignoring case).
    pub name: String,
    /// `internet`.
    #[schema(value_type = String, example = "internet")]
    pub service_type: Option<&'static str>,
    /// Download speed, Mbit/s (kbit/s precision).
    #[schema(value_type = f64, example = 10.5)]
    pub speed_download_mbps: Option<Box<RawValue>>,
    /// Upload speed, Mbit/s (kbit/s precision).
    #[schema(value_type = f64, example = 2)]
    pub speed_upload_mbps: Option<Box<RawValue>>,
    /// The MikroTik burst, if any.
    pub burst: Option<BurstJson>,
    /// Data allowance per billing period, GB (1 GB = 1000 MB); null: unlimited.
    #[schema(value_type = Option<f64>, example = 150.5)]
    pub data_limit_gb: Option<Box<RawValue>>,
    /// `none`, `throttle` or `suspend`.
    #[schema(value_type = String, example = "none")]
    pub cap_policy: Option<&'static str>,
    /// Download once throttled, Mbit/s (cap policy throttle only).
    #[schema(value_type = Option<f64>, example = 1)]
    pub throttle_download_mbps: Option<Box<RawValue>>,
    /// Upload once throttled, Mbit/s (cap policy throttle only).
    #[schema(value_type = Option<f64>, example = 0.5)]
    pub throttle_upload_mbps: Option<Box<RawValue>>,
    /// The recurring fee per billing period, with the currency's minor digits.
    #[schema(value_type = f64, example = 49.99)]
    pub monthly_fee: Option<Box<RawValue>>,
    /// The one-time fee when a service starts.
    #[schema(value_type = f64, example = 0)]
    pub activation_fee: Option<Box<RawValue>>,
    /// ISO 4217 code of both fees.
    #[schema(example = "USD")]
    pub currency: String,
    /// Months per billing period: 1, 3, 6 or 12.
    #[schema(example = 1)]
    pub billing_period_months: i32,
    /// The tax class billing applies.
    pub tax_class: Option<String>,
    /// The IP pool the plan's services draw from.
    pub ip_pool_id: Option<i64>,
    /// Extra RADIUS reply attributes of the plan's group, in order.
    pub radius_attributes: Vec<RadiusAttributeJson>,
    /// `active` or `archived`.
    #[schema(value_type = String, example = "active")]
    pub status: Option<&'static str>,
    /// Services on the plan that are not terminated.
    pub services_count: i64,
    /// Days a service spends suspended are credited on the next invoice.
    pub credit_suspended_days: bool,
    /// The unused days of a service terminated within a charged period are credited.
    pub credit_unused_days_on_termination: bool,
    /// RFC 3339 UTC with microseconds.
    #[schema(value_type = String, example = "2024-01-15T10:30:00.000000Z")]
    pub created_at: Option<String>,
    /// RFC 3339 UTC with microseconds.
    #[schema(value_type = String, example = "2024-01-15T10:30:00.000000Z")]
    pub updated_at: Option<String>,
    /// Links to this resource.
    // Left out of JSON rendered outside a request (an event's data): no base URL there.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = SelfLink, required = true)]
    pub links: Option<SelfLink>,
}

impl PlanJson {
    /// The JSON of `plan`; links start at `base`.
    pub(crate) fn new(plan: Plan, base: &BaseUrl) -> Self {
        let monthly = plan.monthly_fee.unwrap_or_default();
        let activation = plan.activation_fee.unwrap_or_default();
        Self {
            links: SelfLink::new(base, super::PATH, plan.id),
            id: plan.id,
            name: plan.name,
            service_type: name::<ServiceType>(plan.service_type),
            speed_download_mbps: thousandths(plan.download_kbps),
            speed_upload_mbps: thousandths(plan.upload_kbps),
            burst: plan.burst.map(Into::into),
            data_limit_gb: plan.data_limit_mb.and_then(thousandths),
            cap_policy: name::<CapPolicy>(plan.cap_policy),
            throttle_download_mbps: plan.throttle_download_kbps.and_then(thousandths),
            throttle_upload_mbps: plan.throttle_upload_kbps.and_then(thousandths),
            monthly_fee: number(format_minor_units(monthly.minor_units, &monthly.currency)),
            activation_fee: number(format_minor_units(
                activation.minor_units,
                &monthly.currency,
            )),
            currency: monthly.currency,
            billing_period_months: plan.billing_period_months,
            tax_class: plan.tax_class,
            ip_pool_id: plan.ip_pool_id,
            radius_attributes: plan
                .radius_attributes
                .into_iter()
                .map(|a| RadiusAttributeJson {
                    attribute: a.attribute,
                    op: RadiusOperator::try_from(a.op).map_or("", RadiusOperator::token),
                    value: a.value,
                })
                .collect(),
            status: name::<PlanStatus>(plan.status),
            services_count: plan.services_count,
            credit_suspended_days: plan.credit_suspended_days,
            credit_unused_days_on_termination: plan.credit_unused_days_on_termination,
            created_at: timestamp(plan.created_at),
            updated_at: timestamp(plan.updated_at),
        }
    }
}

/// An active plan's prices, as the price list shows them.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PriceJson {
    /// Plan id.
    pub id: i64,
    /// Plan name.
    pub name: String,
    /// The recurring fee per billing period.
    #[schema(value_type = f64, example = 49.99)]
    pub monthly_fee: Option<Box<RawValue>>,
    /// The one-time fee.
    #[schema(value_type = f64, example = 0)]
    pub activation_fee: Option<Box<RawValue>>,
    /// ISO 4217 code of both fees.
    #[schema(example = "USD")]
    pub currency: String,
    /// Months per billing period.
    #[schema(example = 1)]
    pub billing_period_months: i32,
    /// The tax class billing applies.
    pub tax_class: Option<String>,
    /// Download speed, Mbit/s.
    #[schema(value_type = f64, example = 10.5)]
    pub speed_download_mbps: Option<Box<RawValue>>,
    /// Upload speed, Mbit/s.
    #[schema(value_type = f64, example = 2)]
    pub speed_upload_mbps: Option<Box<RawValue>>,
}

impl From<PlanJson> for PriceJson {
    fn from(p: PlanJson) -> Self {
        Self {
            id: p.id,
            name: p.name,
            monthly_fee: p.monthly_fee,
            activation_fee: p.activation_fee,
            currency: p.currency,
            billing_period_months: p.billing_period_months,
            tax_class: p.tax_class,
            speed_download_mbps: p.speed_download_mbps,
            speed_upload_mbps: p.speed_upload_mbps,
        }
    }
}

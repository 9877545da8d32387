//! The catalog: the plans an ISP sells, each also the RADIUS group `plan-<id>`.
//!
//! `input` turns what a client sent into [`PlanFields`] that can only be valid (with
//! `attributes` deciding which RADIUS attributes a plan may carry), `radius` builds and
//! writes the plan's group, `service` runs the operations, `store` holds the SQL and
//! `grpc` (with `convert`) the adapter. Other domains sell plans through
//! [`find_for_sale`].

pub mod attributes;
mod convert;
pub mod grpc;
pub mod input;
pub mod radius;
mod rules;
pub mod service;
mod store;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::db::Conn;
use crate::error::{Error, FieldErrors, Result};
pub use input::{AttributeInput, BurstInput, PlanField, PlanInput};
pub use radius::expected_groups;
pub use service::{PlanQuery, Plans, UpdatedPlan};

/// The message of a sale of an archived plan.
pub const ARCHIVED_NOT_FOR_SALE: &str = "The selected plan is archived and cannot be sold.";

/// What a plan sells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServiceType {
    /// Internet access.
    #[default]
    Internet,
}

/// What reaching the data limit does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CapPolicy {
    /// Nothing.
    #[default]
    None,
    /// The throttle speeds apply until the next period.
    Throttle,
    /// The service is suspended until the next period.
    Suspend,
}

/// Whether a plan is for sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlanStatus {
    /// For sale.
    #[default]
    Active,
    /// Kept for the services that have it; not sold.
    Archived,
}

/// A RADIUS reply operator a plan's attribute may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RadiusOp {
    /// `=`: added unless present.
    #[serde(rename = "=")]
    Add,
    /// `:=`: set, replacing.
    #[serde(rename = ":=")]
    Set,
    /// `+=`: appended.
    #[serde(rename = "+=")]
    Append,
}

macro_rules! names {
    ($type:ty, [$($value:ident => $name:literal),+ $(,)?]) => {
        impl $type {
            /// The stored and displayed name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$value => $name,)+
                }
            }

            /// Parses a stored or displayed name.
            pub fn parse(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(Self::$value),)+
                    _ => None,
                }
            }
        }
    };
}

names!(ServiceType, [Internet => "internet"]);
names!(CapPolicy, [None => "none", Throttle => "throttle", Suspend => "suspend"]);
names!(PlanStatus, [Active => "active", Archived => "archived"]);
names!(RadiusOp, [Add => "=", Set => ":=", Append => "+="]);

/// A MikroTik burst. Speeds in kbit/s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Burst {
    /// Burst download rate, above the plan's download speed.
    pub download_kbps: i64,
    /// Burst upload rate, above the plan's upload speed.
    pub upload_kbps: i64,
    /// Download threshold, below the plan's download speed.
    pub threshold_download_kbps: i64,
    /// Upload threshold, below the plan's upload speed.
    pub threshold_upload_kbps: i64,
    /// The averaging window in seconds.
    pub time_seconds: i32,
}

/// The speeds once the data limit is reached under the throttle policy, in kbit/s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    /// Download, below the plan's.
    pub download_kbps: i64,
    /// Upload, below the plan's.
    pub upload_kbps: i64,
}

/// An extra RADIUS reply attribute of a plan's group.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RadiusAttribute {
    /// The dictionary's spelling of the name.
    pub attribute: String,
    /// The operator.
    pub op: RadiusOp,
    /// The value.
    pub value: String,
}

/// Everything about a plan that a client can write, validated.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlanFields {
    /// Name, 2–100 characters, unique ignoring case.
    pub name: String,
    /// What it sells.
    pub service_type: ServiceType,
    /// Download speed in kbit/s.
    pub download_kbps: i64,
    /// Upload speed in kbit/s.
    pub upload_kbps: i64,
    /// The burst, if any.
    pub burst: Option<Burst>,
    /// Data allowance per period in MB (1 GB = 1000 MB); none: unlimited.
    pub data_limit_mb: Option<i64>,
    /// What reaching the limit does.
    pub cap_policy: CapPolicy,
    /// The throttled speeds (cap policy throttle only).
    pub throttle: Option<Throttle>,
    /// The recurring fee per billing period, in minor units of `currency`.
    pub monthly_fee_minor: i64,
    /// The one-time fee, in minor units of `currency`.
    pub activation_fee_minor: i64,
    /// ISO 4217 code of both fees.
    pub currency: String,
    /// 1, 3, 6 or 12.
    pub billing_period_months: i32,
    /// The tax class billing applies.
    pub tax_class: Option<String>,
    /// The IP pool the plan's services draw from.
    pub ip_pool_id: Option<i64>,
    /// Extra attributes of the RADIUS group, in order.
    pub radius_attributes: Vec<RadiusAttribute>,
    /// For sale or archived.
    pub status: PlanStatus,
    /// Days its services spend suspended are credited.
    pub credit_suspended_days: bool,
    /// The unused days of a service terminated within a charged period are credited.
    pub credit_unused_days_on_termination: bool,
}

/// A plan as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Id; the RADIUS group is `plan-<id>`.
    pub id: i64,
    /// The writable fields.
    pub fields: PlanFields,
    /// Services on the plan that are not terminated.
    pub services_count: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl Plan {
    /// The plan's fields as the audit log records them.
    pub fn audit_view(&self) -> Map<String, Value> {
        let f = &self.fields;
        let burst = f.burst.map(|b| {
            json!({
                "download_kbps": b.download_kbps,
                "upload_kbps": b.upload_kbps,
                "threshold_download_kbps": b.threshold_download_kbps,
                "threshold_upload_kbps": b.threshold_upload_kbps,
                "time_seconds": b.time_seconds,
            })
        });
        let value = json!({
            "name": f.name,
            "service_type": f.service_type.as_str(),
            "download_kbps": f.download_kbps,
            "upload_kbps": f.upload_kbps,
            "burst": burst,
            "data_limit_mb": f.data_limit_mb,
            "cap_policy": f.cap_policy.as_str(),
            "throttle_download_kbps": f.throttle.map(|t| t.download_kbps),
            "throttle_upload_kbps": f.throttle.map(|t| t.upload_kbps),
            "monthly_fee_minor": f.monthly_fee_minor,
            "activation_fee_minor": f.activation_fee_minor,
            "currency": f.currency,
            "billing_period_months": f.billing_period_months,
            "tax_class": f.tax_class,
            "ip_pool_id": f.ip_pool_id,
            "radius_attributes": f.radius_attributes,
            "status": f.status.as_str(),
            "credit_suspended_days": f.credit_suspended_days,
            "credit_unused_days_on_termination": f.credit_unused_days_on_termination,
        });
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }
}

/// The live plan `plan_id`, for a sale (a new service, a plan change): `NotFound("Plan")`
/// when there is none, and a validation error on `plan_id` when it is archived, which a
/// selling domain answers as its own 422.
pub async fn find_for_sale(conn: &mut Conn<'_>, plan_id: i64) -> Result<Plan> {
    let plan = service::find(conn, plan_id, false).await?;
    if plan.fields.status == PlanStatus::Archived {
        let mut errors = FieldErrors::new();
        errors.add("plan_id", ARCHIVED_NOT_FOR_SALE);
        return Err(Error::Validation(errors));
    }
    Ok(plan)
}

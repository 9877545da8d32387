//! Proto ↔ domain conversions of the catalog, for the gRPC adapter. Enums travel as the
//! contract's values and are read through their REST names, the same spelling the
//! domain stores.

use lastmile_proto::v1 as pb;
use lastmile_proto::{RestName, timestamp};

use super::{AttributeInput, BurstInput, Plan, PlanInput, RadiusOp};
use crate::customers::Choice;

fn given(text: String) -> Option<String> {
    Some(text).filter(|t| !t.trim().is_empty())
}

/// A proto enum value as a domain value: 0 is "not given", a number the contract does
/// not define (or the domain does not know) is invalid.
fn choice<E: RestName + TryFrom<i32>, T>(value: i32, parse: fn(&str) -> Option<T>) -> Choice<T> {
    if value == 0 {
        return Choice::Absent;
    }
    match E::try_from(value).ok().and_then(|e| parse(e.rest_name())) {
        Some(value) => Choice::Valid(value),
        None => Choice::Invalid,
    }
}

fn op_choice(value: i32) -> Choice<RadiusOp> {
    match pb::RadiusOperator::try_from(value) {
        Ok(pb::RadiusOperator::Unspecified) => Choice::Absent,
        Ok(op) => RadiusOp::parse(op.token()).map_or(Choice::Invalid, Choice::Valid),
        Err(_) => Choice::Invalid,
    }
}

impl From<pb::PlanBurstInput> for BurstInput {
    fn from(b: pb::PlanBurstInput) -> Self {
        BurstInput {
            download_mbps: given(b.download_mbps),
            upload_mbps: given(b.upload_mbps),
            threshold_download_mbps: given(b.threshold_download_mbps),
            threshold_upload_mbps: given(b.threshold_upload_mbps),
            time_seconds: b.time_seconds,
        }
    }
}

impl From<pb::RadiusAttribute> for AttributeInput {
    fn from(a: pb::RadiusAttribute) -> Self {
        AttributeInput {
            attribute: a.attribute,
            op: op_choice(a.op),
            value: a.value,
        }
    }
}

impl From<pb::PlanInput> for PlanInput {
    fn from(p: pb::PlanInput) -> Self {
        PlanInput {
            name: given(p.name),
            service_type: choice::<pb::ServiceType, _>(p.service_type, super::ServiceType::parse),
            speed_download_mbps: given(p.speed_download_mbps),
            speed_upload_mbps: given(p.speed_upload_mbps),
            burst: p.burst.map(Into::into),
            data_limit_gb: given(p.data_limit_gb),
            cap_policy: choice::<pb::CapPolicy, _>(p.cap_policy, super::CapPolicy::parse),
            throttle_download_mbps: given(p.throttle_download_mbps),
            throttle_upload_mbps: given(p.throttle_upload_mbps),
            monthly_fee: given(p.monthly_fee),
            activation_fee: given(p.activation_fee),
            currency: given(p.currency),
            billing_period_months: Some(p.billing_period_months),
            tax_class: p.tax_class,
            ip_pool_id: p.ip_pool_id,
            radius_attributes: p.radius_attributes.into_iter().map(Into::into).collect(),
            status: choice::<pb::PlanStatus, _>(p.status, super::PlanStatus::parse),
            credit_suspended_days: Some(p.credit_suspended_days),
            credit_unused_days_on_termination: Some(p.credit_unused_days_on_termination),
        }
    }
}

impl From<Plan> for pb::Plan {
    fn from(plan: Plan) -> Self {
        let f = plan.fields;
        let money = |minor_units| pb::Money {
            minor_units,
            currency: f.currency.clone(),
        };
        pb::Plan {
            id: plan.id,
            service_type: pb::ServiceType::wire_number(f.service_type.as_str()),
            download_kbps: f.download_kbps,
            upload_kbps: f.upload_kbps,
            burst: f.burst.map(|b| pb::PlanBurst {
                download_kbps: b.download_kbps,
                upload_kbps: b.upload_kbps,
                threshold_download_kbps: b.threshold_download_kbps,
                threshold_upload_kbps: b.threshold_upload_kbps,
                time_seconds: b.time_seconds,
            }),
            data_limit_mb: f.data_limit_mb,
            cap_policy: pb::CapPolicy::wire_number(f.cap_policy.as_str()),
            throttle_download_kbps: f.throttle.map(|t| t.download_kbps),
            throttle_upload_kbps: f.throttle.map(|t| t.upload_kbps),
            monthly_fee: Some(money(f.monthly_fee_minor)),
            activation_fee: Some(money(f.activation_fee_minor)),
            billing_period_months: f.billing_period_months,
            tax_class: f.tax_class,
            ip_pool_id: f.ip_pool_id,
            radius_attributes: f
                .radius_attributes
                .into_iter()
                .map(|a| pb::RadiusAttribute {
                    attribute: a.attribute,
                    op: pb::RadiusOperator::from_token(a.op.as_str())
                        .unwrap_or(pb::RadiusOperator::Unspecified) as i32,
                    value: a.value,
                })
                .collect(),
            status: pb::PlanStatus::wire_number(f.status.as_str()),
            services_count: plan.services_count,
            credit_suspended_days: f.credit_suspended_days,
            credit_unused_days_on_termination: f.credit_unused_days_on_termination,
            name: f.name,
            created_at: Some(timestamp(plan.created_at)),
            updated_at: Some(timestamp(plan.updated_at)),
        }
    }
}

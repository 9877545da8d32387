//! Proto `InternetService` → the service JSON of the contract (seed names: `plan_id`,
//! `speed_download_mbps`, …; the subscriber names `username, status, expiration, mac,
//! profile_id, profile_name, radius_id` too).

use crate::base_url::BaseUrl;
use crate::format::{SelfLink, text, timestamp};
use lastmile_proto::RestName;
use lastmile_proto::v1::{InternetService, ServiceStatus};
use serde::Serialize;
use utoipa::ToSchema;

/// kbit/s as Mbit/s with kbit/s precision (10500 → 10.5).
pub(crate) fn mbps(kbps: i64) -> f64 {
    kbps as f64 / 1000.0
}

/// MB as GB with MB precision.
fn gb(mb: i64) -> f64 {
    mb as f64 / 1000.0
}

/// A subscriber's internet service.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ServiceJson {
    /// Service id.
    pub id: i64,
    /// The customer.
    pub customer_id: i64,
    /// The customer's reseller.
    pub partner_id: Option<i64>,
    /// The plan.
    pub plan_id: i64,
    /// The plan's name.
    pub plan_name: String,
    /// The plan (its older name).
    pub profile_id: i64,
    /// The plan's name (its older name).
    pub profile_name: String,
    /// `pending_activation`, `active`, `suspended` or `terminated`.
    #[schema(example = "active")]
    pub status: &'static str,
    /// Why it is in that state, when given.
    pub status_reason: Option<String>,
    /// Download speed in force, Mbit/s (the override, else the plan's).
    pub speed_download_mbps: f64,
    /// Upload speed in force, Mbit/s.
    pub speed_upload_mbps: f64,
    /// Whether the speeds are this service's own rather than the plan's.
    pub speed_override: bool,
    /// Data cap override in GB, if any.
    pub data_limit_gb: Option<f64>,
    /// Installation address.
    pub installation_address: Option<String>,
    /// When it is to become active.
    pub scheduled_activation: Option<String>,
    /// Free text.
    pub notes: Option<String>,
    /// The PPPoE/hotspot login (RADIUS User-Name).
    pub username: String,
    /// The login's password; only for roles that may see credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// The MAC address the login is bound to.
    pub mac: Option<String>,
    /// When the login stops working.
    pub expiration: Option<String>,
    /// The router (NAS).
    pub router_id: Option<i64>,
    /// The VLAN.
    pub vlan_id: Option<i32>,
    /// The static IP pool.
    pub ip_pool_id: Option<i64>,
    /// The static address (Framed-IP-Address).
    pub ip_address: Option<String>,
    /// The static address (seed name).
    pub static_ip: Option<String>,
    /// The id its RADIUS rows are kept under (the login).
    pub radius_id: String,
    /// The plan it moves to at its next period start.
    pub pending_plan_id: Option<i64>,
    /// Whether its customer's suspension suspended it.
    pub suspended_with_customer: bool,
    /// When it became active.
    pub activated_at: Option<String>,
    /// When it was terminated.
    pub terminated_at: Option<String>,
    /// RFC 3339 UTC.
    #[schema(value_type = String)]
    pub created_at: Option<String>,
    /// RFC 3339 UTC.
    #[schema(value_type = String)]
    pub updated_at: Option<String>,
    /// `self`.
    pub links: Option<SelfLink>,
}

impl ServiceJson {
    /// The JSON of a service; links start at `base`.
    pub(crate) fn new(s: InternetService, base: &BaseUrl) -> Self {
        Self {
            links: SelfLink::new(base, "/api/v1/services", s.id),
            id: s.id,
            customer_id: s.customer_id,
            partner_id: s.partner_id,
            plan_id: s.plan_id,
            profile_id: s.plan_id,
            profile_name: s.plan_name.clone(),
            plan_name: s.plan_name,
            status: ServiceStatus::rest_name_of(s.status),
            status_reason: s.status_reason,
            speed_download_mbps: mbps(s.effective_download_kbps),
            speed_upload_mbps: mbps(s.effective_upload_kbps),
            speed_override: s.download_kbps.is_some() || s.upload_kbps.is_some(),
            data_limit_gb: s.data_limit_mb.map(gb),
            installation_address: s.installation_address,
            scheduled_activation: timestamp(s.scheduled_activation),
            notes: s.notes,
            radius_id: s.username.clone(),
            username: s.username,
            password: text(s.password),
            mac: s.mac,
            expiration: timestamp(s.expiration),
            router_id: s.router_id,
            vlan_id: s.vlan_id,
            ip_pool_id: s.ip_pool_id,
            static_ip: s.ip_address.clone(),
            ip_address: s.ip_address,
            pending_plan_id: s.pending_plan_id,
            suspended_with_customer: s.suspended_with_customer,
            activated_at: timestamp(s.activated_at),
            terminated_at: timestamp(s.terminated_at),
            created_at: timestamp(s.created_at),
            updated_at: timestamp(s.updated_at),
        }
    }
}

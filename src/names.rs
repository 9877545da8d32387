//! The REST names of the contract's enums: lowercase, without the enum's prefix
//! (`ROLE_READ_ONLY` is `read_only`), one spelling for the core's storage and the edge's
//! JSON alike.

use crate::v1::{
    CapPolicy, InvoiceKind, IpPoolKind, JobStatus, Operation, PaymentKind, PaymentMethod,
    PlanChangeTiming, PlanStatus, ProvisioningPriority, RadiusOperator, RateLimitTier, Role,
    RouterKind, ServiceAction, ServiceStatus, ServiceType, TicketCategory, TicketPriority,
    TicketSource, TicketStatus, WebhookDeliveryStatus,
};

/// Wire number the edge sends for a name that is no value of the enum, so that the core,
/// which owns the messages, reports the field as invalid.
pub const UNKNOWN_ENUM_VALUE: i32 = -1;

/// An enum of the contract with REST names for its values.
pub trait RestName: Sized + Copy + 'static {
    /// Every value but the unspecified one, in declaration order.
    const ALL: &'static [Self];
    /// Their REST names, in the same order.
    const NAMES: &'static [&'static str];
    /// The empty string (which a body may send for "the default") and [`RestName::NAMES`].
    const NAMES_OR_EMPTY: &'static [&'static str];

    /// The REST name; `""` for the unspecified value.
    fn rest_name(self) -> &'static str;

    /// The value a REST name stands for.
    fn from_rest_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.rest_name() == name)
    }

    /// The wire number of a REST name: [`UNKNOWN_ENUM_VALUE`] for any other string.
    fn wire_number(name: &str) -> i32;

    /// The REST name of a wire number; `""` for unspecified or unknown numbers.
    fn rest_name_of(number: i32) -> &'static str;
}

macro_rules! rest_names {
    ($enum:ident, $prefix:literal, [$($value:ident => $name:literal),+ $(,)?]) => {
        impl RestName for $enum {
            const ALL: &'static [Self] = &[$($enum::$value),+];
            const NAMES: &'static [&'static str] = &[$($name),+];
            const NAMES_OR_EMPTY: &'static [&'static str] = &["", $($name),+];

            fn rest_name(self) -> &'static str {
                match self {
                    $($enum::$value => $name,)+
                    _ => "",
                }
            }

            fn wire_number(name: &str) -> i32 {
                Self::from_rest_name(name).map_or(UNKNOWN_ENUM_VALUE, |v| v as i32)
            }

            fn rest_name_of(number: i32) -> &'static str {
                $enum::try_from(number).map_or("", RestName::rest_name)
            }
        }

        // The REST name is the proto name without its prefix, lowercased.
        #[cfg(test)]
        impl $enum {
            fn proto_names_agree() {
                for value in <$enum as RestName>::ALL {
                    let proto = value.as_str_name();
                    let expected = proto.strip_prefix($prefix).unwrap().to_lowercase();
                    assert_eq!(value.rest_name(), expected);
                }
                let names: Vec<_> = Self::ALL.iter().map(|v| v.rest_name()).collect();
                assert_eq!(names, <$enum as RestName>::NAMES);
            }
        }
    };
}

rest_names!(Role, "ROLE_", [
    Admin => "admin",
    Manager => "manager",
    Billing => "billing",
    Support => "support",
    Technician => "technician",
    Reseller => "reseller",
    ReadOnly => "read_only",
]);

rest_names!(RateLimitTier, "RATE_LIMIT_TIER_", [
    Standard => "standard",
    Free => "free",
    Professional => "professional",
    Enterprise => "enterprise",
]);

rest_names!(Operation, "OPERATION_", [
    Read => "read",
    Create => "create",
    Update => "update",
    Delete => "delete",
    Act => "act",
]);

rest_names!(JobStatus, "JOB_STATUS_", [
    Queued => "queued",
    Running => "running",
    Succeeded => "succeeded",
    Failed => "failed",
    Dead => "dead",
]);

rest_names!(WebhookDeliveryStatus, "WEBHOOK_DELIVERY_STATUS_", [
    Pending => "pending",
    Delivered => "delivered",
    Failed => "failed",
    Dead => "dead",
    Cancelled => "cancelled",
]);

rest_names!(ServiceType, "SERVICE_TYPE_", [
    Internet => "internet",
]);

rest_names!(CapPolicy, "CAP_POLICY_", [
    None => "none",
    Throttle => "throttle",
    Suspend => "suspend",
]);

rest_names!(PlanStatus, "PLAN_STATUS_", [
    Active => "active",
    Archived => "archived",
]);

impl RadiusOperator {
    /// Every operator a plan's attribute may use.
    pub const ALL: [RadiusOperator; 3] = [
        RadiusOperator::Add,
        RadiusOperator::Set,
        RadiusOperator::Append,
    ];

    /// The operator as FreeRADIUS's SQL tables and the REST contract write it (`=`, `:=`,
    /// `+=`); `""` for the unspecified value.
    pub fn token(self) -> &'static str {
        match self {
            RadiusOperator::Add => "=",
            RadiusOperator::Set => ":=",
            RadiusOperator::Append => "+=",
            RadiusOperator::Unspecified => "",
        }
    }

    /// The operator a token names.
    pub fn from_token(token: &str) -> Option<RadiusOperator> {
        Self::ALL.into_iter().find(|op| op.token() == token)
    }
}

rest_names!(RouterKind, "ROUTER_KIND_", [
    Mikrotik => "mikrotik",
    Cisco => "cisco",
    Ubiquiti => "ubiquiti",
    Other => "other",
]);

rest_names!(IpPoolKind, "IP_POOL_KIND_", [
    Static => "static",
    Dynamic => "dynamic",
]);

rest_names!(ServiceStatus, "SERVICE_STATUS_", [
    PendingActivation => "pending_activation",
    Active => "active",
    Suspended => "suspended",
    Terminated => "terminated",
]);

rest_names!(ServiceAction, "SERVICE_ACTION_", [
    Activate => "activate",
    Suspend => "suspend",
    Unsuspend => "unsuspend",
    Terminate => "terminate",
]);

rest_names!(PlanChangeTiming, "PLAN_CHANGE_TIMING_", [
    Now => "now",
    NextPeriod => "next_period",
]);

rest_names!(ProvisioningPriority, "PROVISIONING_PRIORITY_", [
    Low => "low",
    Normal => "normal",
    High => "high",
    Urgent => "urgent",
]);

rest_names!(TicketStatus, "TICKET_STATUS_", [
    Open => "open",
    InProgress => "in_progress",
    WaitingOnCustomer => "waiting_on_customer",
    Resolved => "resolved",
    Closed => "closed",
]);

rest_names!(TicketPriority, "TICKET_PRIORITY_", [
    Critical => "critical",
    High => "high",
    Normal => "normal",
    Low => "low",
]);

rest_names!(TicketCategory, "TICKET_CATEGORY_", [
    Outage => "outage",
    Billing => "billing",
    Installation => "installation",
    Technical => "technical",
    Other => "other",
]);

rest_names!(TicketSource, "TICKET_SOURCE_", [
    Api => "api",
    Email => "email",
    Phone => "phone",
    Portal => "portal",
]);

rest_names!(InvoiceKind, "INVOICE_KIND_", [
    Invoice => "invoice",
    CreditNote => "credit_note",
]);

rest_names!(PaymentMethod, "PAYMENT_METHOD_", [
    Cash => "cash",
    BankTransfer => "bank_transfer",
    Card => "card",
    MobileMoney => "mobile_money",
    Other => "other",
]);

rest_names!(PaymentKind, "PAYMENT_KIND_", [
    Payment => "payment",
    Refund => "refund",
    Reversal => "reversal",
]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radius_operators_are_written_as_freeradius_writes_them() {
        let tokens: Vec<&str> = RadiusOperator::ALL.iter().map(|op| op.token()).collect();
        assert_eq!(tokens, ["=", ":=", "+="]);
        assert_eq!(RadiusOperator::from_token(":="), Some(RadiusOperator::Set));
        assert_eq!(RadiusOperator::from_token("=="), None);
        assert_eq!(RadiusOperator::from_token(""), None);
    }

    #[test]
    fn rest_names_are_the_proto_names_without_prefix() {
        ServiceType::proto_names_agree();
        CapPolicy::proto_names_agree();
        PlanStatus::proto_names_agree();
        Role::proto_names_agree();
        RateLimitTier::proto_names_agree();
        Operation::proto_names_agree();
        JobStatus::proto_names_agree();
        WebhookDeliveryStatus::proto_names_agree();
        RouterKind::proto_names_agree();
        IpPoolKind::proto_names_agree();
        ServiceStatus::proto_names_agree();
        ServiceAction::proto_names_agree();
        PlanChangeTiming::proto_names_agree();
        ProvisioningPriority::proto_names_agree();
        TicketStatus::proto_names_agree();
        TicketPriority::proto_names_agree();
        TicketCategory::proto_names_agree();
        TicketSource::proto_names_agree();
        InvoiceKind::proto_names_agree();
        PaymentMethod::proto_names_agree();
        PaymentKind::proto_names_agree();
        assert_eq!(Role::ALL.len(), 7);
        assert_eq!(RateLimitTier::ALL.len(), 4);
    }

    #[test]
    fn names_and_numbers_round_trip_and_strangers_are_unknown() {
        assert_eq!(Role::wire_number("read_only"), Role::ReadOnly as i32);
        assert_eq!(Role::rest_name_of(Role::ReadOnly as i32), "read_only");
        assert_eq!(Role::wire_number("READ_ONLY"), UNKNOWN_ENUM_VALUE);
        assert_eq!(Role::wire_number(""), UNKNOWN_ENUM_VALUE);
        assert_eq!(Role::rest_name_of(0), "");
        assert_eq!(Role::rest_name_of(99), "");
        assert_eq!(
            RateLimitTier::from_rest_name("enterprise"),
            Some(RateLimitTier::Enterprise)
        );
        assert_eq!(RateLimitTier::from_rest_name("unspecified"), None);
    }
}

//! Proto `Customer` → the customer JSON of the contract.

use crate::base_url::BaseUrl;
use crate::format::{SelfLink, text, timestamp};
use lastmile_proto::format_minor_units;
use lastmile_proto::v1::{Address, BillingMethod, Customer, CustomerStatus, Organization};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;

/// A customer as the REST API shows it. The password never appears.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CustomerJson {
    /// Internal id.
    pub id: i64,
    /// The 8-digit number shown to the subscriber.
    #[schema(example = "10000001")]
    pub portal_id: String,
    /// A stable random UUID; the customer may be looked up by it.
    #[schema(
        pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        example = "6f9619ff-8b86-4d01-b42d-00cf4fc964ff"
    )]
    pub uuid: String,
    /// The company, for a business customer.
    pub company_name: Option<String>,
    /// Exempt from tax.
    pub tax_exempt: bool,
    /// The exemption's reference.
    pub tax_exempt_reference: Option<String>,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: Option<String>,
    /// First and last name joined.
    pub full_name: String,
    /// E-mail address, lower-cased.
    pub email: Option<String>,
    /// Phone number, normalised.
    pub phone: String,
    /// Street of the service address.
    pub address: Option<String>,
    /// City of the service address.
    pub city: Option<String>,
    /// State of the service address.
    pub state: Option<String>,
    /// Country of the service address.
    pub country: Option<String>,
    /// Postal code of the service address.
    pub postal_code: Option<String>,
    /// Billing address, when one is set.
    pub billing_address: Option<AddressJson>,
    /// The user group.
    pub user_group_id: Option<i64>,
    /// The reseller (partner) owning the customer.
    pub partner_id: Option<i64>,
    /// `cycle` or `prorata`.
    #[schema(value_type = Option<String>, example = "cycle")]
    pub billing_method: Option<&'static str>,
    /// Day of the month (1-28) the billing cycle starts.
    pub billing_day: Option<i32>,
    /// Whether unpaid invoices suspend the customer automatically.
    pub auto_suspension: bool,
    /// Days past due before automatic suspension.
    pub suspend_after_days: i32,
    /// `active`, `suspended` or `terminated`.
    #[schema(value_type = String, example = "active")]
    pub status: Option<&'static str>,
    /// The reason given with the last life-cycle action.
    pub status_reason: Option<String>,
    /// Account balance (positive: credit), with the currency's minor digits.
    #[schema(value_type = f64, example = 79.99)]
    pub balance: Option<Box<RawValue>>,
    /// ISO 4217 code of the balance.
    #[schema(example = "USD")]
    pub currency: String,
    /// The organizations the customer belongs to.
    pub organizations: Vec<OrganizationJson>,
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

/// A postal address.
#[derive(Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub(crate) struct AddressJson {
    /// Street and number.
    pub street: Option<String>,
    /// City or town.
    pub city: Option<String>,
    /// State, province or region.
    pub state: Option<String>,
    /// Postal code.
    pub zip: Option<String>,
    /// Country.
    pub country: Option<String>,
}

/// An organization a customer belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OrganizationJson {
    /// Organization id.
    pub id: i64,
    /// Organization name.
    pub name: String,
}

impl From<Address> for AddressJson {
    fn from(a: Address) -> Self {
        Self {
            street: text(a.street),
            city: text(a.city),
            state: text(a.state),
            zip: text(a.zip),
            country: text(a.country),
        }
    }
}

impl From<Organization> for OrganizationJson {
    fn from(o: Organization) -> Self {
        Self {
            id: o.id,
            name: o.name,
        }
    }
}

impl CustomerJson {
    /// The JSON of a customer; links start at `base`.
    pub(crate) fn new(c: Customer, base: &BaseUrl) -> Self {
        let billing_method = match BillingMethod::try_from(c.billing_method) {
            Ok(BillingMethod::Cycle) => Some("cycle"),
            Ok(BillingMethod::Prorata) => Some("prorata"),
            _ => None,
        };
        let status = match CustomerStatus::try_from(c.status) {
            Ok(CustomerStatus::Active) => Some("active"),
            Ok(CustomerStatus::Suspended) => Some("suspended"),
            Ok(CustomerStatus::Terminated) => Some("terminated"),
            _ => None,
        };
        let balance = c.balance.unwrap_or_default();
        // The amount is printed from integer minor units and embedded verbatim as a JSON
        // number, so no float ever rounds it.
        let amount = format_minor_units(balance.minor_units, &balance.currency);
        let address = c.address.unwrap_or_default();
        let billing_address = c
            .billing_address
            .map(AddressJson::from)
            .filter(|a| *a != AddressJson::from(Address::default()));
        Self {
            links: SelfLink::new(base, "/api/v1/customers", c.id),
            id: c.id,
            portal_id: c.portal_id,
            uuid: c.uuid,
            company_name: c.company_name,
            tax_exempt: c.tax_exempt,
            tax_exempt_reference: c.tax_exempt_reference,
            first_name: c.first_name,
            last_name: c.last_name,
            full_name: c.full_name,
            email: c.email,
            phone: c.phone,
            address: text(address.street),
            city: text(address.city),
            state: text(address.state),
            country: text(address.country),
            postal_code: text(address.zip),
            billing_address,
            user_group_id: c.user_group_id,
            partner_id: c.partner_id,
            billing_method,
            billing_day: c.billing_day,
            auto_suspension: c.auto_suspension,
            suspend_after_days: c.suspend_after_days,
            status,
            status_reason: c.status_reason,
            balance: RawValue::from_string(amount).ok(),
            currency: balance.currency,
            organizations: c.organizations.into_iter().map(Into::into).collect(),
            created_at: timestamp(c.created_at),
            updated_at: timestamp(c.updated_at),
        }
    }
}

#[cfg(test)]
#[path = "output_tests.rs"]
mod tests;

//! What a client sent for a customer, and how it becomes [`CustomerFields`]: every field
//! checked, every failure reported, nothing written until all of them pass.

use super::{Address, BillingMethod, CustomerFields, CustomerSettings};
use crate::error::FieldErrors;
use crate::fields::{self, Messages};

/// A value chosen from a fixed set, as sent: absent, one of the set, or something else.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Choice<T> {
    /// Not given.
    #[default]
    Absent,
    /// One of the allowed values.
    Valid(T),
    /// Not one of the allowed values.
    Invalid,
}

/// An address as sent; `None` parts were not given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressInput {
    /// Street and number.
    pub street: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State.
    pub state: Option<String>,
    /// Postal code.
    pub zip: Option<String>,
    /// Country.
    pub country: Option<String>,
}

/// Customer fields as sent, before any rule is applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerInput {
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Portal password, in clear; hashed before it is stored.
    pub password: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Service address.
    pub address: AddressInput,
    /// Billing address.
    pub billing_address: AddressInput,
    /// User group reference.
    pub user_group_id: Option<i64>,
    /// Organization references.
    pub organization_ids: Vec<i64>,
    /// Partner reference.
    pub partner_id: Option<i64>,
    /// Billing method.
    pub billing_method: Choice<BillingMethod>,
    /// Billing day.
    pub billing_day: Option<i32>,
    /// Automatic suspension.
    pub auto_suspension: Option<bool>,
    /// Days past due before suspension.
    pub suspend_after_days: Option<i32>,
    /// Company name.
    pub company_name: Option<String>,
    /// Tax exemption.
    pub tax_exempt: Option<bool>,
    /// Tax exemption reference.
    pub tax_exempt_reference: Option<String>,
    /// Without a password, generate one instead of refusing (a create only).
    pub generate_password: bool,
}

/// One part of an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressPart {
    /// Street.
    Street,
    /// City.
    City,
    /// State.
    State,
    /// Postal code.
    Zip,
    /// Country.
    Country,
}

const ADDRESS_PARTS: [AddressPart; 5] = [
    AddressPart::Street,
    AddressPart::City,
    AddressPart::State,
    AddressPart::Zip,
    AddressPart::Country,
];

/// A writable customer field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CustomerField {
    /// first_name
    FirstName,
    /// last_name
    LastName,
    /// email
    Email,
    /// password
    Password,
    /// phone
    Phone,
    /// A part of the service address.
    Address(AddressPart),
    /// A part of the billing address.
    BillingAddress(AddressPart),
    /// user_group_id
    UserGroupId,
    /// organization_ids
    OrganizationIds,
    /// partner_id
    PartnerId,
    /// billing_method
    BillingMethod,
    /// billing_day
    BillingDay,
    /// auto_suspension
    AutoSuspension,
    /// suspend_after_days
    SuspendAfterDays,
    /// company_name
    CompanyName,
    /// tax_exempt
    TaxExempt,
    /// tax_exempt_reference
    TaxExemptReference,
}

impl CustomerField {
    /// Every field, as a create sets them.
    pub fn all() -> Vec<CustomerField> {
        use CustomerField as F;
        let mut all = vec![F::FirstName, F::LastName, F::Email, F::Password, F::Phone];
        all.extend(ADDRESS_PARTS.map(F::Address));
        all.extend(ADDRESS_PARTS.map(F::BillingAddress));
        all.extend([
            F::UserGroupId,
            F::OrganizationIds,
            F::PartnerId,
            F::BillingMethod,
            F::BillingDay,
            F::AutoSuspension,
            F::SuspendAfterDays,
            F::CompanyName,
            F::TaxExempt,
            F::TaxExemptReference,
        ]);
        all
    }

    /// The fields an update-mask path names (`"address"` names all five parts), or `None`
    /// when the path names no writable field.
    pub fn from_path(path: &str) -> Option<Vec<CustomerField>> {
        use CustomerField as F;
        let part = |name: &str| match name {
            "street" => Some(AddressPart::Street),
            "city" => Some(AddressPart::City),
            "state" => Some(AddressPart::State),
            "zip" => Some(AddressPart::Zip),
            "country" => Some(AddressPart::Country),
            _ => None,
        };
        let single = match path {
            "first_name" => F::FirstName,
            "last_name" => F::LastName,
            "email" => F::Email,
            "password" => F::Password,
            "phone" => F::Phone,
            "address" => return Some(ADDRESS_PARTS.map(F::Address).to_vec()),
            "billing_address" => return Some(ADDRESS_PARTS.map(F::BillingAddress).to_vec()),
            "user_group_id" => F::UserGroupId,
            "organization_ids" => F::OrganizationIds,
            "partner_id" => F::PartnerId,
            "billing_method" => F::BillingMethod,
            "billing_day" => F::BillingDay,
            "auto_suspension" => F::AutoSuspension,
            "suspend_after_days" => F::SuspendAfterDays,
            "company_name" => F::CompanyName,
            "tax_exempt" => F::TaxExempt,
            "tax_exempt_reference" => F::TaxExemptReference,
            other => {
                let (parent, child) = other.split_once('.')?;
                let part = part(child)?;
                return match parent {
                    "address" => Some(vec![F::Address(part)]),
                    "billing_address" => Some(vec![F::BillingAddress(part)]),
                    _ => None,
                };
            }
        };
        Some(vec![single])
    }

    /// The name under which failures of this field are reported: the contract's names
    /// (`address` for the street, flat `city`, `state`, `postal_code`, `country`;
    /// `billing_address.<part>` for the billing address).
    pub fn error_key(self) -> String {
        use CustomerField as F;
        match self {
            F::FirstName => "first_name".into(),
            F::LastName => "last_name".into(),
            F::Email => "email".into(),
            F::Password => "password".into(),
            F::Phone => "phone".into(),
            F::Address(AddressPart::Street) => "address".into(),
            F::Address(AddressPart::City) => "city".into(),
            F::Address(AddressPart::State) => "state".into(),
            F::Address(AddressPart::Zip) => "postal_code".into(),
            F::Address(AddressPart::Country) => "country".into(),
            F::BillingAddress(part) => format!("billing_address.{}", part_name(part)),
            F::UserGroupId => "user_group_id".into(),
            F::OrganizationIds => "organization_ids".into(),
            F::PartnerId => "partner_id".into(),
            F::BillingMethod => "billing_method".into(),
            F::BillingDay => "billing_day".into(),
            F::AutoSuspension => "auto_suspension".into(),
            F::SuspendAfterDays => "suspend_after_days".into(),
            F::CompanyName => "company_name".into(),
            F::TaxExempt => "tax_exempt".into(),
            F::TaxExemptReference => "tax_exempt_reference".into(),
        }
    }
}

fn part_name(part: AddressPart) -> &'static str {
    match part {
        AddressPart::Street => "street",
        AddressPart::City => "city",
        AddressPart::State => "state",
        AddressPart::Zip => "zip",
        AddressPart::Country => "country",
    }
}

fn part_label(part: AddressPart, billing: bool) -> String {
    let name = match part {
        AddressPart::Street if !billing => "address",
        AddressPart::Zip if !billing => "postal code",
        other => part_name(other),
    };
    if billing {
        format!("billing address {name}")
    } else {
        name.to_owned()
    }
}

fn input_part(address: &AddressInput, part: AddressPart) -> Option<&str> {
    match part {
        AddressPart::Street => address.street.as_deref(),
        AddressPart::City => address.city.as_deref(),
        AddressPart::State => address.state.as_deref(),
        AddressPart::Zip => address.zip.as_deref(),
        AddressPart::Country => address.country.as_deref(),
    }
}

fn part_mut(address: &mut Address, part: AddressPart) -> &mut String {
    match part {
        AddressPart::Street => &mut address.street,
        AddressPart::City => &mut address.city,
        AddressPart::State => &mut address.state,
        AddressPart::Zip => &mut address.zip,
        AddressPart::Country => &mut address.country,
    }
}

/// Writes the `selected` fields of `input` into `target`, recording every failure in
/// `errors` under the field's contract name. A password is checked by the caller (it is
/// not part of [`CustomerFields`]). Fields that fail are left as they were.
pub fn apply(
    target: &mut CustomerFields,
    input: &CustomerInput,
    selected: &[CustomerField],
    errors: &mut FieldErrors,
) {
    use CustomerField as F;
    for field in selected {
        let outcome: Result<(), Messages> = match *field {
            F::FirstName => {
                fields::first_name(input.first_name.as_deref()).map(|v| target.first_name = v)
            }
            F::LastName => {
                fields::last_name(input.last_name.as_deref()).map(|v| target.last_name = v)
            }
            F::Email => fields::email(input.email.as_deref()).map(|v| target.email = v),
            F::Password => Ok(()),
            F::Phone => fields::phone(input.phone.as_deref()).map(|v| target.phone = v),
            F::Address(part) => {
                fields::address_part(input_part(&input.address, part), &part_label(part, false))
                    .map(|v| *part_mut(&mut target.address, part) = v)
            }
            F::BillingAddress(part) => fields::address_part(
                input_part(&input.billing_address, part),
                &part_label(part, true),
            )
            .map(|v| *part_mut(&mut target.billing_address, part) = v),
            F::UserGroupId => fields::reference(input.user_group_id, "user group id")
                .map(|v| target.user_group_id = v),
            F::PartnerId => {
                fields::reference(input.partner_id, "partner id").map(|v| target.partner_id = v)
            }
            F::OrganizationIds => {
                organization_ids(&input.organization_ids).map(|v| target.organization_ids = v)
            }
            F::BillingMethod => match input.billing_method {
                Choice::Absent => Ok(None),
                Choice::Valid(method) => Ok(Some(method)),
                Choice::Invalid => Err(vec!["The selected billing method is invalid.".into()]),
            }
            .map(|v| target.billing_method = v),
            F::BillingDay => input
                .billing_day
                .map(|day| fields::in_range(day, 1..=28, "billing day"))
                .transpose()
                .map(|v| target.billing_day = v),
            F::AutoSuspension => input
                .auto_suspension
                .ok_or_else(|| vec!["The auto suspension field must be true or false.".into()])
                .map(|v| target.auto_suspension = v),
            F::SuspendAfterDays => match input.suspend_after_days {
                None => Err(vec!["The suspend after days field is required.".into()]),
                Some(days) => fields::in_range(days, 0..=365, "suspend after days")
                    .map(|v| target.suspend_after_days = v),
            },
            F::CompanyName => {
                fields::optional_text(input.company_name.as_deref(), "company name", 255)
                    .map(|v| target.company_name = v)
            }
            F::TaxExempt => {
                target.tax_exempt = input.tax_exempt.unwrap_or(false);
                Ok(())
            }
            F::TaxExemptReference => fields::optional_text(
                input.tax_exempt_reference.as_deref(),
                "tax exempt reference",
                100,
            )
            .map(|v| target.tax_exempt_reference = v),
        };
        if let Err(messages) = outcome {
            for message in messages {
                errors.add(field.error_key(), message);
            }
        }
    }
}

/// Whole-customer rules that involve more than one field or the deployment's settings.
pub fn check_whole(fields: &CustomerFields, settings: &CustomerSettings, errors: &mut FieldErrors) {
    if settings.billing_enabled
        && fields.billing_method.is_none()
        && errors.messages("billing_method").is_empty()
    {
        errors.add("billing_method", "The billing method field is required.");
    }
}

fn organization_ids(ids: &[i64]) -> Result<Vec<i64>, Messages> {
    if ids.iter().any(|id| *id <= 0) {
        return Err(vec!["The selected organization ids is invalid.".into()]);
    }
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid_input() -> CustomerInput {
        CustomerInput {
            first_name: Some("Amina".into()),
            password: Some("Str0ng!pass".into()),
            phone: Some("+254 712 345 678".into()),
            auto_suspension: Some(true),
            suspend_after_days: Some(14),
            ..Default::default()
        }
    }

    #[test]
    fn a_valid_create_fills_every_field() {
        let mut target = CustomerFields::default();
        let mut errors = FieldErrors::new();
        let mut input = valid_input();
        input.address.city = Some(" Nairobi ".into());
        input.organization_ids = vec![3, 1, 3];
        apply(&mut target, &input, &CustomerField::all(), &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(target.phone, "+254712345678");
        assert_eq!(target.address.city, "Nairobi");
        assert_eq!(target.organization_ids, [1, 3]);
    }

    #[test]
    fn every_failing_field_is_reported_with_its_contract_name() {
        let mut errors = FieldErrors::new();
        let input = CustomerInput {
            first_name: Some("Al".into()),
            email: Some("not-an-email".into()),
            billing_method: Choice::Invalid,
            billing_day: Some(31),
            suspend_after_days: Some(400),
            auto_suspension: Some(false),
            billing_address: AddressInput {
                zip: Some("9".repeat(300)),
                ..Default::default()
            },
            ..Default::default()
        };
        apply(
            &mut CustomerFields::default(),
            &input,
            &CustomerField::all(),
            &mut errors,
        );
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "first_name",
                "email",
                "phone",
                "billing_address.zip",
                "billing_method",
                "billing_day",
                "suspend_after_days"
            ]
        );
        assert_eq!(errors.messages("phone"), ["The phone field is required."]);
        assert_eq!(
            errors.messages("billing_address.zip"),
            ["The billing address zip may not be greater than 255 characters."]
        );
    }

    #[test]
    fn billing_method_is_required_only_when_billing_is_enabled() {
        let fields = CustomerFields::default();
        let mut errors = FieldErrors::new();
        check_whole(&fields, &CustomerSettings::default(), &mut errors);
        assert!(errors.is_empty());
        let settings = CustomerSettings {
            billing_enabled: true,
            ..Default::default()
        };
        check_whole(&fields, &settings, &mut errors);
        assert_eq!(
            errors.messages("billing_method"),
            ["The billing method field is required."]
        );
    }

    #[test]
    fn mask_paths_name_fields() {
        assert_eq!(
            CustomerField::from_path("email"),
            Some(vec![CustomerField::Email])
        );
        assert_eq!(
            CustomerField::from_path("address.zip"),
            Some(vec![CustomerField::Address(AddressPart::Zip)])
        );
        assert_eq!(
            CustomerField::from_path("billing_address").map(|f| f.len()),
            Some(5)
        );
        assert_eq!(CustomerField::from_path("status"), None);
        assert_eq!(CustomerField::from_path("address.planet"), None);
        assert_eq!(
            CustomerField::Address(AddressPart::Zip).error_key(),
            "postal_code"
        );
    }

    #[test]
    fn an_update_leaves_unselected_fields_alone() {
        let mut target = CustomerFields {
            first_name: "Amina".into(),
            phone: "0712345678".into(),
            ..Default::default()
        };
        let input = CustomerInput {
            email: Some("a@b.co".into()),
            ..Default::default()
        };
        let mut errors = FieldErrors::new();
        apply(&mut target, &input, &[CustomerField::Email], &mut errors);
        assert!(errors.is_empty());
        assert_eq!(target.first_name, "Amina");
        assert_eq!(target.email.as_deref(), Some("a@b.co"));
    }
}

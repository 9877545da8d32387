//! JSON customer input → proto `CustomerInput` plus the update mask of the keys present.
//! One reading serves create and update: on create `null` means "not given", which the
//! proto expresses by an empty or absent value, the same value an update sends to clear.

use crate::envelope::FieldErrors;
use crate::json_input::{Field, Fields, saturate_i32};
use lastmile_proto::v1::{Address, BillingMethod, CustomerInput};
use serde_json::{Map, Value};

/// The parts of an address, as (JSON key, proto field).
const ADDRESS_PARTS: [(&str, &str); 5] = [
    ("street", "street"),
    ("city", "city"),
    ("state", "state"),
    ("zip", "zip"),
    ("country", "country"),
];

/// A customer body turned into proto input.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct CustomerChanges {
    /// The values.
    pub input: CustomerInput,
    /// The `CustomerInput` field paths of every key present, in a stable order.
    pub mask: Vec<String>,
}

impl CustomerChanges {
    fn touch(&mut self, path: impl Into<String>) {
        let path = path.into();
        if !self.mask.contains(&path) {
            self.mask.push(path);
        }
    }
}

/// Reads a customer body; every field of the wrong JSON type is reported.
#[cfg(test)]
pub(crate) fn customer_changes(body: &Map<String, Value>) -> Result<CustomerChanges, FieldErrors> {
    let (changes, errors) = read_customer(body);
    if errors.is_empty() {
        Ok(changes)
    } else {
        Err(errors)
    }
}

/// Reads a customer body: the well-typed fields as proto input, and a message for every
/// field of the wrong JSON type (those fields are left out of the input).
pub(crate) fn read_customer(body: &Map<String, Value>) -> (CustomerChanges, FieldErrors) {
    let fields = Fields::new(body);
    let mut errors = FieldErrors::default();
    let mut out = CustomerChanges::default();

    let first_name = fields.string("first_name", &mut errors);
    if first_name.is_present() {
        out.touch("first_name");
        out.input.first_name = first_name.value().unwrap_or_default();
    }
    let last_name = fields.string("last_name", &mut errors);
    if last_name.is_present() {
        out.touch("last_name");
        out.input.last_name = non_empty(last_name.value());
    }
    let email = fields.string("email", &mut errors);
    if email.is_present() {
        out.touch("email");
        out.input.email = non_empty(email.value());
    }
    let password = fields.string("password", &mut errors);
    if password.is_present() {
        out.touch("password");
        out.input.password = password.value().unwrap_or_default();
    }
    let phone = fields.string("phone", &mut errors);
    if phone.is_present() {
        out.touch("phone");
        out.input.phone = phone.value().unwrap_or_default();
    }

    read_address(&fields, &mut out, &mut errors);
    read_billing_address(&fields, &mut out, &mut errors);

    let user_group_id = fields.integer("user_group_id", &mut errors);
    if user_group_id.is_present() {
        out.touch("user_group_id");
        out.input.user_group_id = user_group_id.value();
    }
    let organization_ids = fields.integers("organization_ids", &mut errors);
    if organization_ids.is_present() {
        out.touch("organization_ids");
        out.input.organization_ids = organization_ids.value().unwrap_or_default();
    }
    let partner_id = fields.integer("partner_id", &mut errors);
    if partner_id.is_present() {
        out.touch("partner_id");
        out.input.partner_id = partner_id.value();
    }
    let billing_method = fields.string("billing_method", &mut errors);
    if billing_method.is_present() {
        out.touch("billing_method");
        out.input.billing_method = billing_method
            .value()
            .map_or(0, |m| billing_method_value(&m));
    }
    let billing_day = fields.integer("billing_day", &mut errors);
    if billing_day.is_present() {
        out.touch("billing_day");
        out.input.billing_day = billing_day.value().map(saturate_i32);
    }
    let auto_suspension = fields.boolean("auto_suspension", &mut errors);
    if auto_suspension.is_present() {
        out.touch("auto_suspension");
        out.input.auto_suspension = auto_suspension.value();
    }
    let suspend_after_days = fields.integer("suspend_after_days", &mut errors);
    if suspend_after_days.is_present() {
        out.touch("suspend_after_days");
        out.input.suspend_after_days = suspend_after_days.value().map(saturate_i32);
    }

    (out, errors)
}

/// `cycle` / `prorata`; any other string is sent as an invalid enum value (proto3 enums
/// are open) so that the core, which owns the message, reports it on the field.
fn billing_method_value(method: &str) -> i32 {
    match method {
        "cycle" => BillingMethod::Cycle as i32,
        "prorata" => BillingMethod::Prorata as i32,
        _ => -1,
    }
}

/// Optional text where an empty string means "none".
fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

fn address_part<'a>(address: &'a mut Address, part: &str) -> &'a mut String {
    match part {
        "street" => &mut address.street,
        "city" => &mut address.city,
        "state" => &mut address.state,
        "zip" => &mut address.zip,
        _ => &mut address.country,
    }
}

/// The parts of an address object that are present, read into `address` and touched in
/// the mask under `prefix`. `postal_code` is accepted for `zip`.
fn read_address_object(
    object: &Map<String, Value>,
    prefix: &str,
    address: &mut Address,
    mask: &mut Vec<String>,
    errors: &mut FieldErrors,
) {
    let fields = Fields::nested(object, prefix);
    for (key, part) in ADDRESS_PARTS.into_iter().chain([("postal_code", "zip")]) {
        let value = fields.string(key, errors);
        if value.is_present() {
            let path = format!("{prefix}.{part}");
            if !mask.contains(&path) {
                mask.push(path);
            }
            // `zip` and its alias may both be present; a given value beats an empty one.
            if let Some(value) = value.value().filter(|v| !v.is_empty()) {
                *address_part(address, part) = value;
            }
        }
    }
}

fn touch_all(prefix: &str, mask: &mut Vec<String>) {
    for (_, part) in ADDRESS_PARTS {
        let path = format!("{prefix}.{part}");
        if !mask.contains(&path) {
            mask.push(path);
        }
    }
}

/// `address` as a street string, as an object, or `null` (all parts); then the flat
/// `city`, `state`, `country` and `postal_code` keys.
fn read_address(fields: &Fields<'_>, out: &mut CustomerChanges, errors: &mut FieldErrors) {
    let mut address = Address::default();
    let mut present = false;
    match fields.raw("address") {
        None => {}
        Some(Value::Null) => {
            present = true;
            touch_all("address", &mut out.mask);
        }
        Some(Value::String(street)) => {
            present = true;
            out.touch("address.street");
            address.street.clone_from(street);
        }
        Some(Value::Object(object)) => {
            present = true;
            read_address_object(object, "address", &mut address, &mut out.mask, errors);
        }
        Some(_) => errors.add("address", "The address must be a string or an object."),
    }
    for (key, part) in [
        ("city", "city"),
        ("state", "state"),
        ("country", "country"),
        ("postal_code", "zip"),
    ] {
        let value = fields.string(key, errors);
        if value.is_present() {
            present = true;
            out.touch(format!("address.{part}"));
            if let Some(value) = value.value().filter(|v| !v.is_empty()) {
                *address_part(&mut address, part) = value;
            }
        }
    }
    if present {
        out.input.address = Some(address);
    }
}

/// `billing_address` as an object, or `null` (all parts).
fn read_billing_address(fields: &Fields<'_>, out: &mut CustomerChanges, errors: &mut FieldErrors) {
    match fields.object("billing_address", errors) {
        Field::Absent => {}
        Field::Null => {
            touch_all("billing_address", &mut out.mask);
            out.input.billing_address = Some(Address::default());
        }
        Field::Value(object) => {
            let mut address = Address::default();
            read_address_object(
                object,
                "billing_address",
                &mut address,
                &mut out.mask,
                errors,
            );
            out.input.billing_address = Some(address);
        }
    }
}

#[cfg(test)]
#[path = "input_tests.rs"]
mod tests;

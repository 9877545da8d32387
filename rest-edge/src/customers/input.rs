//! The customer body as a field table: JSON → proto `CustomerInput` plus the update mask
//! of the keys present, and the same table as the body's schema. On create `null` means
//! "not given", which the proto expresses by an empty or absent value, the same value an
//! update sends to clear.

use crate::envelope::FieldErrors;
use crate::json_input::{Field, Fields, saturate_i32};
use crate::resource::fields::{Changes, FieldSpec, Kind, Rule, Text, field};
use lastmile_proto::v1::{Address, BillingMethod, CustomerInput};
use serde_json::{Map, Value};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};

/// The parts of an address, as (JSON key, proto field).
const ADDRESS_PARTS: [(&str, &str); 5] = [
    ("street", "street"),
    ("city", "city"),
    ("state", "state"),
    ("zip", "zip"),
    ("country", "country"),
];

/// A customer body turned into proto input.
pub(crate) type CustomerChanges = Changes<CustomerInput>;

/// Reads a customer body as an update; every field of the wrong JSON type is reported.
#[cfg(test)]
pub(crate) fn customer_changes(body: &Map<String, Value>) -> Result<CustomerChanges, FieldErrors> {
    let intent = crate::resource::fields::Intent::Update;
    let (changes, errors) = crate::resource::fields::read(FIELDS, body, intent);
    if errors.is_empty() {
        Ok(changes)
    } else {
        Err(errors)
    }
}

/// A flat key of the service address (`city`, …), touched as `address.<part>`.
const fn flat(
    name: &'static str,
    read: fn(&Fields<'_>, &mut CustomerChanges, &mut FieldErrors),
) -> FieldSpec<CustomerInput> {
    field(
        name,
        Kind::Custom {
            read,
            schema: text_schema,
        },
        true,
        false,
        Rule::NONE,
        "A part of the service address.",
    )
}

/// Every field of a customer body, in the order of the update mask.
pub(crate) const FIELDS: &[FieldSpec<CustomerInput>] = &TABLE;

/// The body at the clients alias: the same, but a create without a password gets a
/// generated one.
pub(crate) const CLIENT_FIELDS: &[FieldSpec<CustomerInput>] = &password_optional(TABLE);

const fn password_optional<const N: usize>(
    mut table: [FieldSpec<CustomerInput>; N],
) -> [FieldSpec<CustomerInput>; N] {
    let mut i = 0;
    while i < N {
        if same(table[i].name, "password") {
            table[i].required = false;
            table[i].description = "Must satisfy the password policy (`GET \
                /api/security-settings`); when left out, a random one is set (the client \
                then resets it). Never returned.";
        }
        i += 1;
    }
    table
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const TABLE: [FieldSpec<CustomerInput>; 21] = [
    field(
        "first_name",
        Kind::Text(|c, v| c.first_name = v.unwrap_or_default()),
        false,
        true,
        Rule::length(3, 100),
        "At least 3 characters.",
    ),
    field(
        "last_name",
        Kind::Text(|c, v| c.last_name = non_empty(v)),
        true,
        false,
        Rule::length(0, 100),
        "Family name.",
    ),
    field(
        "email",
        Kind::Text(|c, v| c.email = non_empty(v)),
        true,
        false,
        Rule::text(Text::Email { optional: true }),
        "A valid address, unique among live customers; blank is as if not given.",
    ),
    field(
        "password",
        Kind::Text(|c, v| c.password = v.unwrap_or_default()),
        false,
        true,
        Rule::text(Text::Password),
        "Must satisfy the password policy (`GET /api/security-settings`). Never returned.",
    ),
    field(
        "phone",
        Kind::Text(|c, v| c.phone = v.unwrap_or_default()),
        false,
        true,
        Rule::text(Text::Phone { optional: false }),
        "E.164 or local digits; unique among live customers.",
    ),
    field(
        "address",
        Kind::Custom {
            read: read_address,
            schema: address_schema,
        },
        true,
        false,
        Rule::NONE,
        "The street, or the whole address as an object.",
    ),
    flat("city", |f, c, e| read_flat(f, c, e, "city", "city")),
    flat("state", |f, c, e| read_flat(f, c, e, "state", "state")),
    flat("country", |f, c, e| {
        read_flat(f, c, e, "country", "country")
    }),
    flat("postal_code", |f, c, e| {
        read_flat(f, c, e, "postal_code", "zip")
    }),
    field(
        "billing_address",
        Kind::Custom {
            read: read_billing_address,
            schema: address_object_schema,
        },
        true,
        false,
        Rule::NONE,
        "The billing address; null clears it.",
    ),
    field(
        "user_group_id",
        Kind::Integer(|c, v| c.user_group_id = v),
        true,
        false,
        Rule::REFERENCE,
        "A user group that exists.",
    ),
    field(
        "organization_ids",
        Kind::Integers(|c, v| c.organization_ids = v.unwrap_or_default()),
        true,
        false,
        Rule::NONE,
        "Organizations that exist.",
    ),
    field(
        "partner_id",
        Kind::Integer(|c, v| c.partner_id = v),
        true,
        false,
        Rule::REFERENCE,
        "A partner that exists.",
    ),
    field(
        "billing_method",
        Kind::OneOf(&["cycle", "prorata"], |c, v| {
            c.billing_method = v.map_or(0, |m| billing_method_value(&m))
        }),
        true,
        false,
        Rule::NONE,
        "Required when billing is enabled.",
    ),
    field(
        "billing_day",
        Kind::Integer(|c, v| c.billing_day = v.map(saturate_i32)),
        true,
        false,
        Rule::range(1, 28),
        "Day of the month the billing cycle starts.",
    ),
    field(
        "auto_suspension",
        Kind::Boolean(|c, v| c.auto_suspension = v),
        false,
        false,
        Rule::NONE,
        "Whether unpaid invoices suspend the customer automatically.",
    ),
    field(
        "suspend_after_days",
        Kind::Integer(|c, v| c.suspend_after_days = v.map(saturate_i32)),
        false,
        false,
        Rule::range(0, 365),
        "Days past due before automatic suspension.",
    ),
    field(
        "company_name",
        Kind::Text(|c, v| c.company_name = non_empty(v)),
        true,
        false,
        Rule::length(0, 255),
        "The company, for a business customer; null or empty clears it.",
    ),
    field(
        "tax_exempt",
        Kind::Boolean(|c, v| c.tax_exempt = v),
        false,
        false,
        Rule::NONE,
        "Exempt from tax: invoices charge no tax. Defaults to false.",
    ),
    field(
        "tax_exempt_reference",
        Kind::Text(|c, v| c.tax_exempt_reference = non_empty(v)),
        true,
        false,
        Rule::length(0, 100),
        "The exemption certificate's reference, printed on invoices; null or empty clears it.",
    ),
];

/// A part of an address: at most 255 characters once trimmed; blank or null is none.
fn part_schema(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(
            [Type::String, Type::Null]
                .into_iter()
                .collect::<utoipa::openapi::schema::SchemaType>(),
        )
        .pattern(Some(Text::Trimmed { min: 0, max: 255 }.pattern()))
        .description(Some(description))
}

fn text_schema() -> RefOr<Schema> {
    part_schema("A part of the service address; blank or null clears it.").into()
}

/// An address as a body gives it: the parts present change; `postal_code` is accepted for
/// `zip`.
fn address_object() -> ObjectBuilder {
    ADDRESS_PARTS
        .into_iter()
        .map(|(key, _)| key)
        .chain(["postal_code"])
        .fold(
            ObjectBuilder::new().schema_type(Type::Object),
            |object, key| object.property(key, part_schema("Blank or null clears it.")),
        )
}

fn address_object_schema() -> RefOr<Schema> {
    address_object()
        .schema_type(
            [Type::Object, Type::Null]
                .into_iter()
                .collect::<utoipa::openapi::schema::SchemaType>(),
        )
        .description(Some("The billing address; null clears it."))
        .into()
}

fn address_schema() -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(part_schema("The street.").schema_type(Type::String))
        .item(address_object())
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some(
            "The street, or the whole address as an object (`postal_code` is accepted for `zip`).",
        ))
        .into()
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

/// `address` as a street string, as an object, or `null` (all parts).
fn read_address(fields: &Fields<'_>, out: &mut CustomerChanges, errors: &mut FieldErrors) {
    match fields.raw("address") {
        None => {}
        Some(Value::Null) => {
            touch_all("address", &mut out.mask);
            out.input.address.get_or_insert_default();
        }
        Some(Value::String(street)) => {
            out.touch("address.street");
            out.input
                .address
                .get_or_insert_default()
                .street
                .clone_from(street);
        }
        Some(Value::Object(object)) => {
            let address = out.input.address.get_or_insert_default();
            read_address_object(object, "address", address, &mut out.mask, errors);
        }
        Some(_) => errors.add("address", "The address must be a string or an object."),
    }
}

/// A flat key of the service address (`city`, `state`, `country`, `postal_code`).
fn read_flat(
    fields: &Fields<'_>,
    out: &mut CustomerChanges,
    errors: &mut FieldErrors,
    key: &str,
    part: &str,
) {
    let value = fields.string(key, errors);
    if value.is_present() {
        out.touch(format!("address.{part}"));
        let address = out.input.address.get_or_insert_default();
        if let Some(value) = value.value().filter(|v| !v.is_empty()) {
            *address_part(address, part) = value;
        }
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

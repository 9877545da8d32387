//! The plan body as a field table: JSON → proto `PlanInput` plus the update mask of the
//! keys present, and the same table as the body's schema. Numbers go to the core as the
//! decimal text the client wrote; the core reads them at their scale and refuses digits
//! beyond it.

use crate::envelope::FieldErrors;
use crate::json_input::{Field, Fields, label, saturate_i32};
use crate::resource::enum_number;
use crate::resource::fields::{Changes, FieldSpec, Kind, Rule, Text, field};
use lastmile_proto::RestName;
use lastmile_proto::UNKNOWN_ENUM_VALUE;
use lastmile_proto::v1::{
    CapPolicy, PlanBurstInput, PlanInput, PlanStatus, RadiusAttribute, RadiusOperator, ServiceType,
};
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};

/// Most speed a plan may have, in Mbit/s.
const SPEED_MAX: i64 = 100_000;
/// The burst's averaging window, in seconds.
const BURST_SECONDS: (i64, i64) = (1, 3600);
/// Most attributes a plan may add.
const ATTRIBUTES_MAX: usize = 50;

/// A decimal given as text; null or absent is empty ("not given").
fn text(value: Option<String>) -> String {
    value.unwrap_or_default()
}

/// Every field of a plan body, in the order of the update mask.
pub(crate) const FIELDS: &[FieldSpec<PlanInput>] = &[
    field(
        "name",
        Kind::Text(|p, v| p.name = v.unwrap_or_default()),
        false,
        true,
        Rule::length(2, 100),
        "2-100 characters; unique among plans, ignoring case.",
    ),
    field(
        "service_type",
        Kind::OneOf(ServiceType::NAMES_OR_EMPTY, |p, v| {
            p.service_type = enum_number::<ServiceType>(&v.unwrap_or_default())
        }),
        false,
        false,
        Rule::NONE,
        "What the plan sells; `internet` (the default) is the only type for now.",
    ),
    field(
        "speed_download_mbps",
        Kind::Decimal(|p, v| p.speed_download_mbps = text(v)),
        false,
        true,
        Rule::above(0, SPEED_MAX).places(3),
        "Download speed in Mbit/s, at most 3 decimal places (kbit/s precision).",
    ),
    field(
        "speed_upload_mbps",
        Kind::Decimal(|p, v| p.speed_upload_mbps = text(v)),
        false,
        true,
        Rule::above(0, SPEED_MAX).places(3),
        "Upload speed in Mbit/s, at most 3 decimal places (kbit/s precision).",
    ),
    field(
        "burst",
        Kind::Custom {
            read: read_burst,
            schema: burst_schema,
        },
        true,
        false,
        Rule::NONE,
        "MikroTik burst; null removes it.",
    ),
    field(
        "data_limit_gb",
        Kind::Decimal(|p, v| p.data_limit_gb = text(v)),
        true,
        false,
        Rule::above(0, 10_000_000).places(3),
        "Data allowance per billing period in GB (1 GB = 1000 MB), at most 3 decimal \
         places; null is unlimited. Required when `cap_policy` is not `none`.",
    ),
    field(
        "cap_policy",
        Kind::OneOf(CapPolicy::NAMES_OR_EMPTY, |p, v| {
            p.cap_policy = enum_number::<CapPolicy>(&v.unwrap_or_default())
        }),
        false,
        false,
        Rule::NONE,
        "What reaching the data limit does (default `none`).",
    ),
    field(
        "throttle_download_mbps",
        Kind::Decimal(|p, v| p.throttle_download_mbps = text(v)),
        true,
        false,
        Rule::above(0, SPEED_MAX).places(3),
        "Download once throttled, Mbit/s, below `speed_download_mbps`; required when \
         `cap_policy` is `throttle`, refused otherwise.",
    ),
    field(
        "throttle_upload_mbps",
        Kind::Decimal(|p, v| p.throttle_upload_mbps = text(v)),
        true,
        false,
        Rule::above(0, SPEED_MAX).places(3),
        "Upload once throttled, Mbit/s, below `speed_upload_mbps`; required when \
         `cap_policy` is `throttle`, refused otherwise.",
    ),
    field(
        "monthly_fee",
        Kind::Decimal(|p, v| p.monthly_fee = text(v)),
        false,
        true,
        Rule::range(0, 1_000_000_000),
        "The recurring fee per billing period, with at most the currency's minor digits.",
    ),
    field(
        "activation_fee",
        Kind::Decimal(|p, v| p.activation_fee = text(v)),
        false,
        false,
        Rule::range(0, 1_000_000_000),
        "The one-time fee (default 0), with at most the currency's minor digits.",
    ),
    field(
        "currency",
        Kind::Text(|p, v| p.currency = v.unwrap_or_default()),
        false,
        false,
        Rule::text(Text::Currency),
        "ISO 4217 code of both fees; default: the deployment's currency.",
    ),
    field(
        "billing_period_months",
        Kind::Integer(|p, v| p.billing_period_months = v.map_or(0, saturate_i32)),
        false,
        false,
        Rule::integers(&[1, 3, 6, 12]),
        "Months per billing period (default 1).",
    ),
    field(
        "tax_class",
        Kind::Text(|p, v| p.tax_class = v.filter(|v| !v.is_empty())),
        true,
        false,
        Rule::length(0, 50),
        "The tax class billing applies; null or empty clears it.",
    ),
    field(
        "ip_pool_id",
        Kind::Integer(|p, v| p.ip_pool_id = v),
        true,
        false,
        Rule::REFERENCE,
        "An IP pool that exists; a dynamic pool becomes `Framed-Pool` of the plan's group.",
    ),
    field(
        "radius_attributes",
        Kind::Custom {
            read: read_attributes,
            schema: attributes_schema,
        },
        true,
        false,
        Rule::NONE,
        "Extra RADIUS reply attributes of the plan's group; null or [] removes them.",
    ),
    field(
        "status",
        Kind::OneOf(PlanStatus::NAMES_OR_EMPTY, |p, v| {
            p.status = enum_number::<PlanStatus>(&v.unwrap_or_default())
        }),
        false,
        false,
        Rule::NONE,
        "`archived` stops the plan's sale and keeps it readable; `active` sells it again.",
    ),
    field(
        "credit_suspended_days",
        Kind::Boolean(|p, v| p.credit_suspended_days = v.unwrap_or(false)),
        false,
        false,
        Rule::NONE,
        "Days a service spends suspended are credited on the next invoice (default false).",
    ),
    field(
        "credit_unused_days_on_termination",
        Kind::Boolean(|p, v| p.credit_unused_days_on_termination = v.unwrap_or(false)),
        false,
        false,
        Rule::NONE,
        "A service terminated within a charged period gets its unused days credited on the \
         next invoice (default false).",
    ),
];

/// `burst`: an object whose members are all required, or `null` (none).
fn read_burst(fields: &Fields<'_>, out: &mut Changes<PlanInput>, errors: &mut FieldErrors) {
    match fields.object("burst", errors) {
        Field::Absent => {}
        Field::Null => {
            out.touch("burst");
            out.input.burst = None;
        }
        Field::Value(object) => {
            out.touch("burst");
            let burst = Fields::nested(object, "burst");
            let mut decimal = |key: &str| burst.decimal(key, errors).value().unwrap_or_default();
            let mut input = PlanBurstInput {
                download_mbps: decimal("download_mbps"),
                upload_mbps: decimal("upload_mbps"),
                threshold_download_mbps: decimal("threshold_download_mbps"),
                threshold_upload_mbps: decimal("threshold_upload_mbps"),
                time_seconds: None,
            };
            input.time_seconds = burst
                .integer("time_seconds", errors)
                .value()
                .map(saturate_i32);
            out.input.burst = Some(input);
        }
    }
}

/// `radius_attributes`: an array of `{attribute, op, value}`, or `null` (none).
fn read_attributes(fields: &Fields<'_>, out: &mut Changes<PlanInput>, errors: &mut FieldErrors) {
    let key = "radius_attributes";
    let items = match fields.raw(key) {
        None => return,
        Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(_) => {
            errors.add(key, format!("The {} must be an array.", label(key)));
            return;
        }
    };
    out.touch(key);
    out.input.radius_attributes = items
        .into_iter()
        .enumerate()
        .filter_map(|(i, item)| {
            let path = format!("{key}.{i}");
            let Value::Object(object) = item else {
                errors.add(path.as_str(), "The attribute must be an object.");
                return None;
            };
            let attribute = Fields::nested(object, &path);
            let name = attribute.string("attribute", errors).value();
            let op = attribute.string("op", errors).value();
            let value = attribute.string("value", errors).value();
            Some(RadiusAttribute {
                attribute: name.unwrap_or_default(),
                op: op.map_or(0, |op| {
                    RadiusOperator::from_token(op.trim()).map_or(UNKNOWN_ENUM_VALUE, |op| op as i32)
                }),
                value: value.unwrap_or_default(),
            })
        })
        .collect();
}

fn nullable(base: Type) -> SchemaType {
    [base, Type::Null].into_iter().collect()
}

fn decimal_schema(description: &str, maximum: i64) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Number)
        .multiple_of(Some(0.001))
        .exclusive_minimum(Some(0))
        .maximum(Some(maximum))
        .description(Some(description))
}

fn burst_schema() -> RefOr<Schema> {
    let rate = |what: &str| decimal_schema(what, SPEED_MAX);
    ObjectBuilder::new()
        .schema_type(nullable(Type::Object))
        .property(
            "download_mbps",
            rate("Above `speed_download_mbps`, Mbit/s."),
        )
        .property("upload_mbps", rate("Above `speed_upload_mbps`, Mbit/s."))
        .property(
            "threshold_download_mbps",
            rate("Below `speed_download_mbps`, Mbit/s."),
        )
        .property(
            "threshold_upload_mbps",
            rate("Below `speed_upload_mbps`, Mbit/s."),
        )
        .property(
            "time_seconds",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(BURST_SECONDS.0))
                .maximum(Some(BURST_SECONDS.1))
                .description(Some("The averaging window, seconds.")),
        )
        .required("download_mbps")
        .required("upload_mbps")
        .required("threshold_download_mbps")
        .required("threshold_upload_mbps")
        .required("time_seconds")
        .description(Some(
            "MikroTik burst, every member required; speeds at most 3 decimal places; null \
             removes it.",
        ))
        .into()
}

fn attributes_schema() -> RefOr<Schema> {
    let ops: Vec<&str> = RadiusOperator::ALL.iter().map(|op| op.token()).collect();
    let item = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "attribute",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(r"^\s*[A-Za-z0-9][A-Za-z0-9._-]{0,63}\s*$"))
                .description(Some(
                    "A name of the server's FreeRADIUS dictionaries; the attributes Lastmile \
                     sets itself (Mikrotik-Rate-Limit, WISPr-Bandwidth-Max-Up/Down, \
                     Cleartext-Password, Auth-Type, Framed-IP-Address, Simultaneous-Use) are \
                     refused.",
                )),
        )
        .property(
            "op",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(ops)),
        )
        .property(
            "value",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(
                    r"^\s*[^\x00-\x1f\x7f-\x9f\s]([^\x00-\x1f\x7f-\x9f]{0,251}[^\x00-\x1f\x7f-\x9f\s])?\s*$",
                ))
                .description(Some("1-253 characters once trimmed, no control characters.")),
        )
        .required("attribute")
        .required("op")
        .required("value");
    ArrayBuilder::new()
        .schema_type(nullable(Type::Array))
        .items(item)
        .max_items(Some(ATTRIBUTES_MAX))
        .description(Some(
            "Extra RADIUS reply attributes, in order; null or [] removes them.",
        ))
        .into()
}

#[cfg(test)]
#[path = "input_tests.rs"]
mod tests;

//! A resource's body as a table of fields. The same table reads the JSON body into the
//! proto input (with the update mask of the keys present) and describes the body in the
//! OpenAPI document, so the document cannot say other than what the edge accepts.

use crate::envelope::FieldErrors;
use crate::json_input::{Field, Fields, label};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{KnownFormat, RefOr, SchemaFormat};

/// The wire number of an enum's REST name given in a body: 0 (unspecified) for an empty
/// string, [`lastmile_proto::UNKNOWN_ENUM_VALUE`] for a name that is no value, which the
/// core reports on the field.
pub(crate) fn enum_number<E: lastmile_proto::RestName>(name: &str) -> i32 {
    match name.trim() {
        "" => 0,
        name => E::wire_number(name),
    }
}

/// How one field is read and where its value goes in the proto input `I`. The setter gets
/// `None` for a JSON `null`.
pub(crate) enum Kind<I> {
    /// A string.
    Text(fn(&mut I, Option<String>)),
    /// A string out of a fixed set. Any other string is handed on too (the core, which owns
    /// the message, reports it on the field).
    OneOf(&'static [&'static str], fn(&mut I, Option<String>)),
    /// An RFC 3339 date-time, checked here; an empty string counts as null.
    DateTime(fn(&mut I, Option<prost_types::Timestamp>)),
    /// An integer (a JSON number without fraction).
    Integer(fn(&mut I, Option<i64>)),
    /// A decimal number, handed on as its text (see `json_input::number_text`) for the
    /// core to read exactly at its scale.
    Decimal(fn(&mut I, Option<String>)),
    /// `true` or `false`.
    Boolean(fn(&mut I, Option<bool>)),
    /// An array of integers.
    Integers(fn(&mut I, Option<Vec<i64>>)),
    /// An array of strings.
    Texts(fn(&mut I, Option<Vec<String>>)),
    /// A shape of its own (e.g. an address given as a string or an object): its reader
    /// touches the mask itself, and its schema describes what it reads.
    Custom {
        read: fn(&Fields<'_>, &mut Changes<I>, &mut FieldErrors),
        schema: fn() -> RefOr<Schema>,
    },
}

/// One field of a body.
pub(crate) struct FieldSpec<I> {
    /// The JSON key, also the input field path of the update mask.
    pub name: &'static str,
    /// What the client may send and where it goes.
    pub kind: Kind<I>,
    /// Whether `null` is accepted (it clears the field on update). On update a `null` for
    /// any other field is a 422 "field is required"; on create it is as if left out.
    pub nullable: bool,
    /// Whether a create must carry it (stated in the document; the core reports it).
    pub required: bool,
    /// The rules the core applies, for the document.
    pub rule: Rule,
    /// What the field means.
    pub description: &'static str,
}

/// A field of a table, in the order the struct lists them (for `const` tables).
pub(crate) const fn field<I>(
    name: &'static str,
    kind: Kind<I>,
    nullable: bool,
    required: bool,
    rule: Rule,
    description: &'static str,
) -> FieldSpec<I> {
    FieldSpec {
        name,
        kind,
        nullable,
        required,
        rule,
        description,
    }
}

/// The constraints the core checks on a field, as the document states them.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Rule {
    /// Smallest number.
    pub minimum: Option<i64>,
    /// Largest number.
    pub maximum: Option<i64>,
    /// What the core accepts of a string, stated as a pattern.
    pub text: Option<Text>,
    /// An id of another row: below 1 is "The selected … is invalid.".
    pub reference: bool,
    /// For an array of strings: the values an item may take.
    pub choices: Option<&'static [&'static str]>,
    /// For an array: how many items, at least and at most.
    pub items: Option<(usize, usize)>,
    /// A number must be above `minimum` (not equal to it).
    pub exclusive_minimum: bool,
    /// For an integer: the values it may take.
    pub integers: Option<&'static [i64]>,
    /// For a decimal: the most decimal places it may have (`multipleOf` 10^-places).
    pub places: Option<u32>,
    /// For a string: a day, `YYYY-MM-DD` (`format: date`).
    pub date: bool,
}

/// The string rules of the core, each stated as a pattern that accepts what the core
/// accepts. The core trims strings before it measures them, so lengths are of the trimmed
/// text and cannot be stated as `minLength`/`maxLength` of the raw one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Text {
    /// Between `min` and `max` characters once trimmed; with `min` 0 a blank string
    /// counts as not given.
    Trimmed { min: usize, max: usize },
    /// An e-mail address (local part, `@`, a dotted domain); `optional`: blank is not given.
    Email { optional: bool },
    /// E.164 (`+` and 8 to 15 digits) or local digits (6 to 15), with spaces, dots,
    /// dashes and brackets allowed between; `optional`: blank is not given.
    Phone { optional: bool },
    /// The default password policy: 8 to 128 characters with an upper-case and a
    /// lower-case letter, a digit and a special character.
    Password,
    /// A webhook endpoint's URL (`lastmile_proto::WEBHOOK_URL_PATTERN`).
    WebhookUrl,
    /// An ISO 4217 currency code: three letters, any case; blank is not given.
    Currency,
    /// A dotted IPv4 address (`lastmile_proto::ipv4_pattern`); `optional`: blank is not
    /// given.
    Ipv4 { optional: bool },
    /// An IPv4 network address in CIDR notation, /8 to /32, no host bits set
    /// (`lastmile_proto::cidr_pattern`).
    Cidr,
    /// A RADIUS shared secret (`lastmile_proto::RADIUS_SECRET_PATTERN`), taken as sent:
    /// nothing is trimmed.
    RadiusSecret,
    /// A RADIUS login: letters, digits and `@ . - _ :`, 1 to 64 (what FreeRADIUS leaves
    /// alone); blank is not given.
    RadiusUsername,
    /// A RADIUS password: 4 to 128 printable ASCII characters without spaces, taken as
    /// sent; empty is not given.
    RadiusPassword,
    /// A MAC address: six hex pairs with `:` or `-`, three quads with `.`, or twelve hex
    /// digits; blank is not given.
    Mac,
    /// An ISO 3166 alpha-2 country code, any case; blank is any country.
    Country,
    /// A document number prefix: a letter, then up to 9 letters, digits or hyphens.
    Prefix,
}

/// The white space the core trims (Unicode `White_Space`, as Rust's `str::trim`).
pub(crate) const SPACE: &str =
    r"[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";
/// Any character but that white space.
const SOLID: &str = NON_BLANK;
/// A string with something besides white space in it (a required string whose blank
/// value counts as missing).
pub(crate) const NON_BLANK: &str =
    r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";
/// The characters of an address's local part besides letters and digits.
const LOCAL: &str = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]";

impl Text {
    /// The pattern of the rule (an ECMA-262 regular expression, as JSON Schema wants).
    pub(crate) fn pattern(self) -> String {
        let body = match self {
            Text::Trimmed { min, max } => {
                let max = max.max(1);
                let inner = max.saturating_sub(2);
                match min {
                    0 => format!("({SOLID}([\\s\\S]{{0,{inner}}}{SOLID})?)?"),
                    1 => format!("{SOLID}([\\s\\S]{{0,{inner}}}{SOLID})?"),
                    _ => format!("{SOLID}[\\s\\S]{{{},{inner}}}{SOLID}", min - 2),
                }
            }
            Text::Email { optional } => {
                let address = format!(
                    "{LOCAL}{{1,20}}(\\.{LOCAL}{{1,20}}){{0,2}}@[A-Za-z0-9-]{{1,30}}(\\.[A-Za-z0-9-]{{1,30}}){{1,3}}"
                );
                optional_group(address, optional)
            }
            Text::Phone { optional } => {
                let gap = "[ ().-]*";
                let phone = format!("{gap}(\\+{gap}([0-9]{gap}){{8,15}}|([0-9]{gap}){{6,15}})");
                optional_group(phone, optional)
            }
            Text::WebhookUrl => lastmile_proto::WEBHOOK_URL_PATTERN.to_owned(),
            Text::Currency => "([A-Za-z]{3})?".to_owned(),
            Text::Ipv4 { optional } => optional_group(lastmile_proto::ipv4_pattern(), optional),
            Text::Cidr => lastmile_proto::cidr_pattern(),
            Text::RadiusSecret => return lastmile_proto::RADIUS_SECRET_PATTERN.to_owned(),
            Text::RadiusUsername => "([A-Za-z0-9@.:_-]{1,64})?".to_owned(),
            Text::RadiusPassword => return "^([!-~]{4,128})?$".to_owned(),
            Text::Mac => "(([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}|([0-9A-Fa-f]{4}\\.){2}[0-9A-Fa-f]{4}|[0-9A-Fa-f]{12})?"
                .to_owned(),
            Text::Country => "([A-Za-z]{2})?".to_owned(),
            Text::Prefix => "[A-Za-z][A-Za-z0-9-]{0,9}".to_owned(),
            Text::Password => {
                return "^(?=[\\s\\S]*[A-Z])(?=[\\s\\S]*[a-z])(?=[\\s\\S]*[0-9])(?=[\\s\\S]*[!-/:-@\\[-`{-~])[\\s\\S]{8,128}$".to_owned();
            }
        };
        format!("^{SPACE}*{body}{SPACE}*$")
    }
}

fn optional_group(pattern: String, optional: bool) -> String {
    if optional {
        format!("({pattern})?")
    } else {
        pattern
    }
}

impl Rule {
    /// No constraint beyond the type.
    pub(crate) const NONE: Rule = Rule {
        minimum: None,
        maximum: None,
        text: None,
        reference: false,
        choices: None,
        items: None,
        exclusive_minimum: false,
        integers: None,
        places: None,
        date: false,
    };

    /// A day, `YYYY-MM-DD`.
    pub(crate) const DATE: Rule = Rule {
        date: true,
        ..Rule::NONE
    };

    /// An array of `min` to `max` strings, each one of `choices`.
    pub(crate) const fn one_of_each(
        choices: &'static [&'static str],
        min: usize,
        max: usize,
    ) -> Rule {
        Rule {
            choices: Some(choices),
            items: Some((min, max)),
            ..Rule::NONE
        }
    }

    /// A length range in characters of the trimmed text; `min` 0: blank is not given.
    pub(crate) const fn length(min: usize, max: usize) -> Rule {
        Rule::text(Text::Trimmed { min, max })
    }

    /// A string rule.
    pub(crate) const fn text(text: Text) -> Rule {
        Rule {
            text: Some(text),
            ..Rule::NONE
        }
    }

    /// A number above `min` (not equal to it) and at most `max`.
    pub(crate) const fn above(min: i64, max: i64) -> Rule {
        Rule {
            exclusive_minimum: true,
            ..Rule::range(min, max)
        }
    }

    /// The same rule, for a decimal of at most `places` decimal places.
    pub(crate) const fn places(self, places: u32) -> Rule {
        Rule {
            places: Some(places),
            ..self
        }
    }

    /// An integer that is one of `values`.
    pub(crate) const fn integers(values: &'static [i64]) -> Rule {
        Rule {
            integers: Some(values),
            ..Rule::NONE
        }
    }

    /// A number range.
    pub(crate) const fn range(min: i64, max: i64) -> Rule {
        Rule {
            minimum: Some(min),
            maximum: Some(max),
            ..Rule::NONE
        }
    }

    /// A reference to another row: a positive 64-bit integer (that must exist).
    pub(crate) const REFERENCE: Rule = Rule {
        minimum: Some(1),
        reference: true,
        ..Rule::NONE
    };
}

/// A body read into proto input, with the input field paths of every key present.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Changes<I> {
    /// The values.
    pub input: I,
    /// The field paths of the keys present, in a stable order.
    pub mask: Vec<String>,
}

impl<I> Changes<I> {
    /// Records that a field path was given.
    pub(crate) fn touch(&mut self, path: impl Into<String>) {
        let path = path.into();
        if !self.mask.contains(&path) {
            self.mask.push(path);
        }
    }
}

/// Whether a body creates a resource or changes one: it decides what `null` means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Intent {
    Create,
    Update,
}

/// Reads a body through `table`: the well-typed fields into the input, and a message for
/// every field of the wrong type (left out of the input), all of them at once.
pub(crate) fn read<I: Default>(
    table: &[FieldSpec<I>],
    body: &Map<String, Value>,
    intent: Intent,
) -> (Changes<I>, FieldErrors) {
    let fields = Fields::new(body);
    let mut errors = FieldErrors::default();
    let mut out = Changes::<I>::default();
    for spec in table {
        let name = spec.name;
        if let Kind::Custom { read, .. } = spec.kind {
            read(&fields, &mut out, &mut errors);
            continue;
        }
        if matches!(fields.raw(name), Some(Value::Null)) && !spec.nullable {
            if intent == Intent::Update {
                errors.add(name, format!("The {} field is required.", label(name)));
            }
            continue;
        }
        let touched = match spec.kind {
            Kind::Text(set) | Kind::OneOf(_, set) => {
                apply(fields.string(name, &mut errors), |v| set(&mut out.input, v))
            }
            Kind::Decimal(set) => apply(fields.decimal(name, &mut errors), |v| {
                set(&mut out.input, v)
            }),
            Kind::Integer(set) => {
                let value = fields.integer(name, &mut errors);
                // A reference below 1 names no row: reported here, so that no core can
                // take it for "none".
                if spec.rule.reference && matches!(value, Field::Value(id) if id < 1) {
                    errors.add(name, format!("The selected {} is invalid.", label(name)));
                    continue;
                }
                apply(value, |v| set(&mut out.input, v))
            }
            Kind::Boolean(set) => apply(fields.boolean(name, &mut errors), |v| {
                set(&mut out.input, v)
            }),
            Kind::Integers(set) => apply(fields.integers(name, &mut errors), |v| {
                set(&mut out.input, v)
            }),
            Kind::Texts(set) => apply(fields.strings(name, &mut errors), |v| {
                set(&mut out.input, v)
            }),
            Kind::DateTime(set) => {
                let value = fields.string(name, &mut errors);
                let at = match &value {
                    Field::Value(text) if !text.trim().is_empty() => match date_time(text) {
                        Some(at) => Field::Value(at),
                        None => {
                            errors.add(name, format!("The {} must be an RFC 3339 date-time (e.g. 2027-01-01T00:00:00Z).", label(name)));
                            Field::Absent
                        }
                    },
                    Field::Absent => Field::Absent,
                    Field::Null | Field::Value(_) => Field::Null,
                };
                apply(at, |v| set(&mut out.input, v))
            }
            Kind::Custom { .. } => false,
        };
        if touched {
            out.touch(name);
        }
    }
    (out, errors)
}

/// Hands a present field to its setter; says whether it was present.
fn apply<T>(field: Field<T>, set: impl FnOnce(Option<T>)) -> bool {
    let present = field.is_present();
    if present {
        set(field.value());
    }
    present
}

fn date_time(text: &str) -> Option<prost_types::Timestamp> {
    let at = DateTime::parse_from_rfc3339(text.trim()).ok()?;
    Some(lastmile_proto::timestamp(at.with_timezone(&Utc)))
}

/// A rule between two fields: when `field` is `value`, `then` must be given, not null (on
/// update, left out it keeps the stored value, which the core checks).
#[derive(Clone, Copy, Debug)]
pub(crate) struct When {
    pub field: &'static str,
    pub value: &'static str,
    pub then: &'static str,
}

/// The body's schema with its rules between fields.
pub(crate) fn schema_with<I>(
    table: &[FieldSpec<I>],
    intent: Intent,
    description: &str,
    when: &[When],
) -> Schema {
    let base = schema(table, intent, description);
    if when.is_empty() {
        return base;
    }
    let mut all = utoipa::openapi::schema::AllOfBuilder::new().item(base);
    for rule in when {
        let others: Vec<Value> = table
            .iter()
            .find(|spec| spec.name == rule.field)
            .and_then(|spec| match spec.kind {
                Kind::OneOf(values, _) => Some(values),
                _ => None,
            })
            .unwrap_or(&[])
            .iter()
            .filter(|v| **v != rule.value)
            .map(|v| Value::from(*v))
            .collect();
        let not_value = ObjectBuilder::new()
            .property(rule.field, ObjectBuilder::new().enum_values(Some(others)));
        let mut given = ObjectBuilder::new()
            .property(rule.then, ObjectBuilder::new().schema_type(Type::Integer));
        if intent == Intent::Create {
            given = given.required(rule.then);
        }
        let either = utoipa::openapi::schema::AnyOfBuilder::new()
            .item(not_value)
            .item(given)
            .description(Some(format!(
                "When `{}` is `{}`, `{}` must be given.",
                rule.field, rule.value, rule.then
            )));
        all = all.item(either);
    }
    all.into()
}

/// The JSON schema of a body: on create the required fields are listed, on update none
/// is (a key left out keeps its value).
pub(crate) fn schema<I>(table: &[FieldSpec<I>], intent: Intent, description: &str) -> Schema {
    let mut object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(description));
    for spec in table {
        object = object.property(spec.name, field_schema(spec));
        if intent == Intent::Create && spec.required {
            object = object.required(spec.name);
        }
    }
    Schema::Object(object.build())
}

fn field_schema<I>(spec: &FieldSpec<I>) -> RefOr<Schema> {
    let base = match spec.kind {
        Kind::Custom { schema, .. } => return schema(),
        Kind::Text(_) | Kind::OneOf(..) | Kind::DateTime(_) => Type::String,
        Kind::Integer(_) => Type::Integer,
        Kind::Decimal(_) => Type::Number,
        Kind::Boolean(_) => Type::Boolean,
        Kind::Integers(_) | Kind::Texts(_) => Type::Array,
    };
    let schema_type: SchemaType = if spec.nullable {
        [base, Type::Null].into_iter().collect()
    } else {
        base.into()
    };
    let rule = spec.rule;
    if let Kind::Texts(_) = spec.kind {
        let item = ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(rule.text.map(Text::pattern))
            .enum_values(rule.choices.map(|c| c.iter().copied()));
        return ArrayBuilder::new()
            .schema_type(schema_type)
            .items(item)
            .min_items(rule.items.map(|(min, _)| min))
            .max_items(rule.items.map(|(_, max)| max))
            .description(Some(spec.description))
            .into();
    }
    if let Kind::Integers(_) = spec.kind {
        let item = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1));
        return ArrayBuilder::new()
            .schema_type(schema_type)
            .items(item)
            .description(Some(spec.description))
            .into();
    }
    let minimum = rule.minimum.filter(|_| !rule.exclusive_minimum);
    let exclusive_minimum = rule.minimum.filter(|_| rule.exclusive_minimum);
    let mut object = ObjectBuilder::new()
        .schema_type(schema_type)
        .description(Some(spec.description))
        .minimum(minimum)
        .exclusive_minimum(exclusive_minimum)
        .maximum(rule.maximum)
        .pattern(rule.text.map(Text::pattern));
    if let Some(places) = rule.places {
        object = object.multiple_of(Some(10f64.powi(-(places as i32))));
    }
    if let Some(values) = rule.integers {
        let mut values: Vec<Value> = values.iter().map(|v| Value::from(*v)).collect();
        if spec.nullable {
            values.push(Value::Null);
        }
        object = object.enum_values(Some(values));
    }
    if let Kind::Integer(_) = spec.kind {
        object = object.format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)));
    }
    if let Kind::OneOf(values, _) = spec.kind {
        let mut values: Vec<Value> = values.iter().map(|v| Value::from(*v)).collect();
        if spec.nullable {
            values.push(Value::Null);
        }
        object = object.enum_values(Some(values));
    }
    if let Kind::DateTime(_) = spec.kind {
        object = object.format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)));
    }
    if rule.date {
        object = object.format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)));
    }
    object.into()
}

/// The body of an action: `action`, one of `names`, and an optional `reason`.
pub(crate) fn action_schema(names: &[&str]) -> Schema {
    let action = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names.iter().copied()))
        .description(Some("The action to take."));
    let reason = ObjectBuilder::new()
        .schema_type(
            [Type::String, Type::Null]
                .into_iter()
                .collect::<SchemaType>(),
        )
        .max_length(Some(500))
        .description(Some("Why; kept with the item and in the audit log."));
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("action", action)
            .property("reason", reason)
            .required("action")
            .build(),
    )
}

#[cfg(test)]
#[path = "fields_tests.rs"]
mod tests;

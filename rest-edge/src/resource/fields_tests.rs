use super::*;
use serde_json::json;

#[derive(Debug, Default, PartialEq)]
struct Input {
    name: String,
    note: Option<String>,
    count: Option<i64>,
    flag: Option<bool>,
    ids: Vec<i64>,
    at: Option<prost_types::Timestamp>,
}

const TABLE: &[FieldSpec<Input>] = &[
    FieldSpec {
        name: "name",
        kind: Kind::Text(|i, v| i.name = v.unwrap_or_default()),
        nullable: false,
        required: true,
        rule: Rule::length(2, 100),
        description: "A name.",
    },
    FieldSpec {
        name: "note",
        kind: Kind::OneOf(&["a", "b"], |i, v| i.note = v),
        nullable: true,
        required: false,
        rule: Rule::NONE,
        description: "A note.",
    },
    FieldSpec {
        name: "count",
        kind: Kind::Integer(|i, v| i.count = v),
        nullable: true,
        required: false,
        rule: Rule::range(0, 365),
        description: "A count.",
    },
    FieldSpec {
        name: "flag",
        kind: Kind::Boolean(|i, v| i.flag = v),
        nullable: true,
        required: false,
        rule: Rule::NONE,
        description: "A flag.",
    },
    FieldSpec {
        name: "ids",
        kind: Kind::Integers(|i, v| i.ids = v.unwrap_or_default()),
        nullable: true,
        required: false,
        rule: Rule::NONE,
        description: "Ids.",
    },
    FieldSpec {
        name: "at",
        kind: Kind::DateTime(|i, v| i.at = v),
        nullable: true,
        required: false,
        rule: Rule::NONE,
        description: "A time.",
    },
];

fn read_body(value: Value, intent: Intent) -> (Changes<Input>, FieldErrors) {
    read(TABLE, value.as_object().unwrap(), intent)
}

#[test]
fn present_keys_make_the_mask_in_table_order() {
    let (changes, errors) = read_body(
        json!({"count": 3, "name": "North", "note": null, "at": "2027-01-01T00:00:00Z"}),
        Intent::Update,
    );
    assert!(errors.is_empty());
    assert_eq!(changes.mask, ["name", "note", "count", "at"]);
    assert_eq!(changes.input.name, "North");
    assert_eq!(changes.input.count, Some(3));
    assert_eq!(changes.input.at.unwrap().seconds, 1_798_761_600);
}

#[test]
fn every_field_of_the_wrong_type_is_reported_at_once() {
    let (changes, errors) = read_body(
        json!({"name": 7, "count": "2", "flag": "yes", "ids": [1, "2"], "at": "soon"}),
        Intent::Create,
    );
    assert_eq!(errors.fields(), ["name", "count", "flag", "ids", "at"]);
    assert_eq!(errors.get("name").unwrap(), ["The name must be a string."]);
    assert_eq!(
        errors.get("at").unwrap(),
        ["The at must be an RFC 3339 date-time (e.g. 2027-01-01T00:00:00Z)."]
    );
    assert!(changes.mask.is_empty());
}

#[test]
fn null_on_a_required_field_is_missing_on_update_and_absent_on_create() {
    let (_, errors) = read_body(json!({"name": null}), Intent::Update);
    assert_eq!(errors.get("name").unwrap(), ["The name field is required."]);
    let (changes, errors) = read_body(json!({"name": null}), Intent::Create);
    assert!(errors.is_empty());
    assert!(changes.mask.is_empty());
}

#[test]
fn the_schema_is_the_table() {
    let create = serde_json::to_value(schema(TABLE, Intent::Create, "x")).unwrap();
    assert_eq!(create["required"], json!(["name"]));
    assert_eq!(create["properties"]["name"]["type"], json!("string"));
    // Lengths are of the trimmed text, so they are a pattern, not minLength/maxLength.
    assert_eq!(
        create["properties"]["name"]["pattern"],
        json!(Rule::length(2, 100).text.unwrap().pattern())
    );
    assert!(create["properties"]["name"].get("minLength").is_none());
    assert_eq!(
        create["properties"]["count"]["type"],
        json!(["integer", "null"])
    );
    assert_eq!(create["properties"]["count"]["maximum"], json!(365));
    assert_eq!(
        create["properties"]["note"]["enum"],
        json!(["a", "b", null])
    );
    assert_eq!(create["properties"]["at"]["format"], json!("date-time"));
    assert_eq!(
        create["properties"]["ids"]["items"]["type"],
        json!("integer")
    );
    let update = serde_json::to_value(schema(TABLE, Intent::Update, "x")).unwrap();
    assert!(update.get("required").is_none());
    let names: Vec<&str> = TABLE.iter().map(|f| f.name).collect();
    let properties: Vec<&String> = create["properties"].as_object().unwrap().keys().collect();
    assert_eq!(properties.len(), names.len());
}

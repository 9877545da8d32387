use super::*;
use serde_json::json;

fn changes(value: Value) -> Result<CustomerChanges, FieldErrors> {
    match value {
        Value::Object(map) => customer_changes(&map),
        _ => unreachable!(),
    }
}

fn mask(value: Value) -> Vec<String> {
    changes(value).unwrap().mask
}

#[test]
fn a_full_create_body_becomes_customer_input() {
    let out = changes(json!({
        "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
        "password": "Secret123!", "phone": "+15550100",
        "address": "1 Main St", "city": "Springfield", "state": "IL", "country": "US",
        "postal_code": "62701",
        "billing_address": {"street": "PO Box 9", "postal_code": "62702"},
        "user_group_id": 3, "organization_ids": [1, 2], "partner_id": 7,
        "billing_method": "prorata", "billing_day": 15, "auto_suspension": false,
        "suspend_after_days": 30, "unknown_key": {"ignored": true}
    }))
    .unwrap();
    let input = out.input;
    assert_eq!(input.first_name, "Ada");
    assert_eq!(input.last_name.as_deref(), Some("Lovelace"));
    assert_eq!(input.email.as_deref(), Some("ada@example.com"));
    assert_eq!(input.password, "Secret123!");
    assert_eq!(input.phone, "+15550100");
    assert_eq!(
        input.address,
        Some(Address {
            street: "1 Main St".into(),
            city: "Springfield".into(),
            state: "IL".into(),
            zip: "62701".into(),
            country: "US".into(),
        })
    );
    assert_eq!(
        input.billing_address,
        Some(Address {
            street: "PO Box 9".into(),
            zip: "62702".into(),
            ..Address::default()
        })
    );
    assert_eq!(input.user_group_id, Some(3));
    assert_eq!(input.organization_ids, [1, 2]);
    assert_eq!(input.partner_id, Some(7));
    assert_eq!(input.billing_method, BillingMethod::Prorata as i32);
    assert_eq!(input.billing_day, Some(15));
    assert_eq!(input.auto_suspension, Some(false));
    assert_eq!(input.suspend_after_days, Some(30));
}

#[test]
fn wrong_types_are_reported_for_every_field_at_once() {
    let errors = changes(json!({
        "first_name": 12, "last_name": ["x"], "billing_day": "15",
        "auto_suspension": "yes", "organization_ids": [1, "two"], "address": 5,
        "billing_address": "PO Box 9", "partner_id": 1.5, "city": false
    }))
    .unwrap_err();
    assert_eq!(
        errors.get("first_name").unwrap(),
        ["The first name must be a string."]
    );
    assert_eq!(
        errors.get("last_name").unwrap(),
        ["The last name must be a string."]
    );
    assert_eq!(
        errors.get("billing_day").unwrap(),
        ["The billing day must be an integer."]
    );
    assert_eq!(
        errors.get("auto_suspension").unwrap(),
        ["The auto suspension field must be true or false."]
    );
    assert_eq!(
        errors.get("organization_ids").unwrap(),
        ["The organization ids must be an array of integers."]
    );
    assert_eq!(
        errors.get("address").unwrap(),
        ["The address must be a string or an object."]
    );
    assert_eq!(
        errors.get("billing_address").unwrap(),
        ["The billing address must be an object."]
    );
    assert_eq!(
        errors.get("partner_id").unwrap(),
        ["The partner id must be an integer."]
    );
    assert_eq!(errors.get("city").unwrap(), ["The city must be a string."]);
}

#[test]
fn nested_address_type_errors_name_the_nested_field() {
    let errors =
        changes(json!({"address": {"city": 1}, "billing_address": {"zip": []}})).unwrap_err();
    assert_eq!(errors.fields(), ["address.city", "billing_address.zip"]);
}

#[test]
fn unknown_billing_methods_are_sent_as_an_invalid_enum_value() {
    let out = changes(json!({"billing_method": "weekly"})).unwrap();
    assert_eq!(out.input.billing_method, -1);
    let out = changes(json!({"billing_method": "cycle"})).unwrap();
    assert_eq!(out.input.billing_method, BillingMethod::Cycle as i32);
    let out = changes(json!({"billing_method": null})).unwrap();
    assert_eq!(out.input.billing_method, 0);
    assert_eq!(out.mask, ["billing_method"]);
}

#[test]
fn an_empty_body_changes_nothing() {
    let out = changes(json!({})).unwrap();
    assert!(out.mask.is_empty());
    assert_eq!(out.input, CustomerInput::default());
}

#[test]
fn the_mask_names_each_plain_key_present() {
    assert_eq!(
        mask(
            json!({"suspend_after_days": 3, "email": "a@b.c", "first_name": "Ada",
            "organization_ids": [], "partner_id": 1})
        ),
        [
            "first_name",
            "email",
            "organization_ids",
            "partner_id",
            "suspend_after_days"
        ]
    );
}

#[test]
fn a_street_string_masks_only_the_street() {
    assert_eq!(mask(json!({"address": "1 Main St"})), ["address.street"]);
}

#[test]
fn an_address_object_masks_the_parts_present_with_postal_code_as_zip() {
    let out = changes(json!({"address": {"city": "Springfield", "postal_code": "62701"}})).unwrap();
    assert_eq!(out.mask, ["address.city", "address.zip"]);
    let address = out.input.address.unwrap();
    assert_eq!(address.city, "Springfield");
    assert_eq!(address.zip, "62701");
}

#[test]
fn flat_address_keys_mask_the_address_parts() {
    assert_eq!(
        mask(json!({"city": "X", "state": "Y", "country": "Z", "postal_code": "1"})),
        [
            "address.city",
            "address.state",
            "address.country",
            "address.zip"
        ]
    );
}

#[test]
fn a_null_address_clears_all_its_parts() {
    let out = changes(json!({"address": null})).unwrap();
    assert_eq!(
        out.mask,
        [
            "address.street",
            "address.city",
            "address.state",
            "address.zip",
            "address.country"
        ]
    );
    assert_eq!(out.input.address, Some(Address::default()));
}

#[test]
fn a_null_billing_address_clears_all_its_parts() {
    let out = changes(json!({"billing_address": null})).unwrap();
    assert_eq!(out.mask.len(), 5);
    assert!(out.mask.iter().all(|p| p.starts_with("billing_address.")));
    assert_eq!(out.input.billing_address, Some(Address::default()));
}

#[test]
fn a_billing_address_object_masks_the_parts_present() {
    assert_eq!(
        mask(json!({"billing_address": {"street": "PO Box 9", "zip": null}})),
        ["billing_address.street", "billing_address.zip"]
    );
}

#[test]
fn null_values_are_masked_with_empty_values() {
    let out = changes(
        json!({"last_name": null, "email": null, "billing_day": null,
        "user_group_id": null, "city": null}),
    )
    .unwrap();
    assert_eq!(
        out.mask,
        [
            "last_name",
            "email",
            "address.city",
            "user_group_id",
            "billing_day"
        ]
    );
    assert_eq!(out.input.last_name, None);
    assert_eq!(out.input.email, None);
    assert_eq!(out.input.billing_day, None);
    assert_eq!(out.input.address, Some(Address::default()));
}

#[test]
fn null_on_a_field_that_cannot_be_cleared_is_required() {
    let errors = changes(json!({"first_name": null, "phone": null, "suspend_after_days": null}))
        .unwrap_err();
    assert_eq!(
        errors.fields(),
        ["first_name", "phone", "suspend_after_days"]
    );
    assert_eq!(
        errors.get("phone").unwrap(),
        ["The phone field is required."]
    );
}

#[test]
fn empty_address_strings_mean_not_given() {
    let out = changes(json!({"address": {"city": ""}, "state": ""})).unwrap();
    assert_eq!(out.mask, ["address.city", "address.state"]);
    assert_eq!(out.input.address, Some(Address::default()));
}

#[test]
fn the_same_address_part_is_masked_once() {
    assert_eq!(
        mask(json!({"address": {"city": "A", "zip": "1", "postal_code": "1"}, "city": "B"})),
        ["address.city", "address.zip"]
    );
}

use super::*;
use crate::resource::action_input;
use serde_json::json;

fn action_of(value: serde_json::Value) -> Result<(i32, String), ApiError> {
    action_input::<Customers>(value.as_object().unwrap())
}

#[test]
fn actions_map_to_the_proto_enum() {
    assert_eq!(
        action_of(json!({"action": "suspend", "reason": "unpaid"})).unwrap(),
        (1, "unpaid".to_owned())
    );
    assert_eq!(
        action_of(json!({"action": "activate"})).unwrap(),
        (2, String::new())
    );
    assert_eq!(
        action_of(json!({"action": "terminate", "reason": null})).unwrap(),
        (3, String::new())
    );
    assert_eq!(action_of(json!({})).unwrap().0, 0);
    assert_eq!(action_of(json!({"action": "explode"})).unwrap().0, -1);
}

#[test]
fn action_fields_of_the_wrong_type_are_a_422() {
    let error = action_of(json!({"action": 1, "reason": false})).unwrap_err();
    assert_eq!(error.status.as_u16(), 422);
    let errors = error.body.errors.unwrap();
    assert_eq!(errors.fields(), ["action", "reason"]);
}

#[test]
fn a_path_segment_is_a_positive_id_or_a_portal_id() {
    let ok = Customers::key("10000001").unwrap();
    assert_eq!(
        ok.key,
        Some(customer_ref::Key::Reference("10000001".to_owned()))
    );
    assert!(
        Customers::key("00000001").is_some(),
        "any 8 digits may be a portal id"
    );
    assert!(Customers::key("9223372036854775807").is_some());
    for bad in [
        "",
        "0",
        "abc",
        "12a",
        "-1",
        "+1",
        "9223372036854775808",
        "1.0",
    ] {
        assert!(Customers::key(bad).is_none(), "{bad}");
    }
}

#[test]
fn a_bad_status_or_partner_filter_is_a_400() {
    let query = |k: &str, v: &str| QueryPairs(vec![(k.to_owned(), v.to_owned())]);
    let page = PageRequest {
        page: 1,
        per_page: 25,
    };
    let error = <Customers as List>::request(page, &query("status", "deleted")).unwrap_err();
    assert_eq!(
        error.body.error.as_deref(),
        Some("The status parameter must be one of: active, suspended, terminated.")
    );
    let error = <Customers as List>::request(page, &query("partner_id", "x")).unwrap_err();
    assert_eq!(error.status.as_u16(), 400);
    let request = <Customers as List>::request(page, &query("status", "suspended")).unwrap();
    assert_eq!(request.status, CustomerStatus::Suspended as i32);
}

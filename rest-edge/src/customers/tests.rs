use super::*;
use serde_json::json;

fn action_of(value: serde_json::Value) -> Result<(i32, String), ApiError> {
    action_input(value.as_object().unwrap())
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
fn a_path_segment_must_be_one_to_twenty_digits() {
    let ok = customer_ref(Ok(Path("10000001".to_owned()))).unwrap();
    assert_eq!(
        ok.key,
        Some(customer_ref::Key::Reference("10000001".to_owned()))
    );
    for bad in ["", "abc", "12a", "-1", "123456789012345678901", "1.0"] {
        let error = customer_ref(Ok(Path(bad.to_owned()))).unwrap_err();
        assert_eq!(error.status.as_u16(), 404, "{bad}");
        assert_eq!(error.body.message, "Customer not found");
    }
}

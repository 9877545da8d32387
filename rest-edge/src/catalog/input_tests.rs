use super::*;
use crate::resource::fields::{Intent, read};
use serde_json::json;

fn changes(body: Value) -> (Changes<PlanInput>, FieldErrors) {
    let Value::Object(map) = body else {
        unreachable!()
    };
    read(FIELDS, &map, Intent::Update)
}

#[test]
fn numbers_reach_the_core_as_the_decimals_written() {
    let (c, errors) = changes(json!({
        "speed_download_mbps": 10.5, "speed_upload_mbps": 2, "monthly_fee": 49.99,
        "data_limit_gb": null, "billing_period_months": 3,
        "burst": {"download_mbps": 20, "upload_mbps": 4.5, "threshold_download_mbps": 8,
                  "threshold_upload_mbps": 1.5, "time_seconds": 8},
        "radius_attributes": [{"attribute": "Session-Timeout", "op": ":=", "value": "3600"},
                              {"attribute": "Filter-Id", "op": "==", "value": "x"}],
        "cap_policy": "throttle", "status": "archived"
    }));
    assert!(errors.is_empty(), "{errors:?}");
    let input = &c.input;
    assert_eq!(input.speed_download_mbps, "10.5");
    assert_eq!(input.speed_upload_mbps, "2");
    assert_eq!(input.monthly_fee, "49.99");
    assert_eq!(input.data_limit_gb, "");
    assert_eq!(input.billing_period_months, 3);
    let burst = input.burst.clone().unwrap();
    assert_eq!(
        (burst.upload_mbps.as_str(), burst.time_seconds),
        ("4.5", Some(8))
    );
    assert_eq!(input.radius_attributes[0].op, RadiusOperator::Set as i32);
    assert_eq!(input.radius_attributes[0].value, "3600");
    assert_eq!(input.radius_attributes[1].op, UNKNOWN_ENUM_VALUE);
    assert_eq!(input.cap_policy, CapPolicy::Throttle as i32);
    assert_eq!(input.status, PlanStatus::Archived as i32);
    assert_eq!(
        c.mask,
        [
            "speed_download_mbps",
            "speed_upload_mbps",
            "burst",
            "data_limit_gb",
            "cap_policy",
            "monthly_fee",
            "billing_period_months",
            "radius_attributes",
            "status"
        ]
    );
}

#[test]
fn wrong_json_types_are_reported_on_their_fields() {
    let (_, errors) = changes(json!({
        "speed_download_mbps": "fast", "burst": {"download_mbps": "x", "time_seconds": 1.5},
        "radius_attributes": ["Session-Timeout", {"attribute": "Class", "op": "=", "value": 7}],
        "monthly_fee": null
    }));
    assert_eq!(
        errors.fields(),
        [
            "speed_download_mbps",
            "burst.download_mbps",
            "burst.time_seconds",
            "monthly_fee",
            "radius_attributes.0",
            "radius_attributes.1.value"
        ]
    );
    assert_eq!(
        errors.get("radius_attributes.1.value").unwrap(),
        ["The radius attributes 1 value must be a string."]
    );
    assert_eq!(
        errors.get("speed_download_mbps").unwrap(),
        ["The speed download mbps must be a number."]
    );
    assert_eq!(
        errors.get("monthly_fee").unwrap(),
        ["The monthly fee field is required."]
    );
}

use super::*;
use lastmile_proto::v1::{Money, PlanBurst, RadiusAttribute};
use serde_json::json;

fn plan() -> Plan {
    Plan {
        id: 7,
        name: "Home 10".into(),
        service_type: 1,
        download_kbps: 10_500,
        upload_kbps: 2_000,
        burst: Some(PlanBurst {
            download_kbps: 20_000,
            upload_kbps: 4_000,
            threshold_download_kbps: 8_000,
            threshold_upload_kbps: 1_500,
            time_seconds: 8,
        }),
        data_limit_mb: Some(150_500),
        cap_policy: 2,
        throttle_download_kbps: Some(1_000),
        throttle_upload_kbps: Some(512),
        monthly_fee: Some(Money {
            minor_units: 4_999,
            currency: "USD".into(),
        }),
        activation_fee: Some(Money {
            minor_units: 0,
            currency: "USD".into(),
        }),
        billing_period_months: 3,
        tax_class: Some("standard".into()),
        ip_pool_id: Some(4),
        radius_attributes: vec![RadiusAttribute {
            attribute: "Session-Timeout".into(),
            op: 2,
            value: "86400".into(),
        }],
        status: 2,
        services_count: 3,
        created_at: None,
        updated_at: None,
        credit_suspended_days: true,
        credit_unused_days_on_termination: false,
    }
}

#[test]
fn a_plan_is_shown_in_mbps_gb_and_money_with_the_currency_digits() {
    let view = serde_json::to_value(PlanJson::new(plan(), &BaseUrl::unlinked())).unwrap();
    assert_eq!(
        view,
        json!({
            "id": 7, "name": "Home 10", "service_type": "internet",
            "speed_download_mbps": 10.5, "speed_upload_mbps": 2,
            "burst": {"download_mbps": 20, "upload_mbps": 4, "threshold_download_mbps": 8,
                      "threshold_upload_mbps": 1.5, "time_seconds": 8},
            "data_limit_gb": 150.5, "cap_policy": "throttle",
            "throttle_download_mbps": 1, "throttle_upload_mbps": 0.512,
            "monthly_fee": 49.99, "activation_fee": 0.00, "currency": "USD",
            "billing_period_months": 3, "tax_class": "standard", "ip_pool_id": 4,
            "radius_attributes": [{"attribute": "Session-Timeout", "op": ":=", "value": "86400"}],
            "status": "archived", "services_count": 3,
            "credit_suspended_days": true, "credit_unused_days_on_termination": false,
            "created_at": null, "updated_at": null
        })
    );
    let text = serde_json::to_string(&PlanJson::new(plan(), &BaseUrl::unlinked())).unwrap();
    assert!(text.contains(r#""monthly_fee":49.99,"activation_fee":0.00,"currency":"USD""#));
}

#[test]
fn the_price_list_shows_prices_and_speeds() {
    let price = PriceJson::from(PlanJson::new(plan(), &BaseUrl::unlinked()));
    assert_eq!(
        serde_json::to_value(price).unwrap(),
        json!({"id": 7, "name": "Home 10", "monthly_fee": 49.99, "activation_fee": 0.0,
               "currency": "USD", "billing_period_months": 3, "tax_class": "standard",
               "speed_download_mbps": 10.5, "speed_upload_mbps": 2})
    );
}

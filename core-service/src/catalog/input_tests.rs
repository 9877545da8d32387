use super::*;
use crate::catalog::{Burst, RadiusAttribute, Throttle};

fn text(value: &str) -> Option<String> {
    Some(value.to_owned())
}

/// A plan of 10.5 down and 2 up at 49.99 with every field given.
fn valid() -> PlanInput {
    PlanInput {
        name: text("Home 10"),
        speed_download_mbps: text("10.5"),
        speed_upload_mbps: text("2"),
        monthly_fee: text("49.99"),
        ..PlanInput::default()
    }
}

fn create(input: &PlanInput) -> Result<PlanFields, FieldErrors> {
    check(&PlanFields::default(), input, &PlanField::ALL, "USD")
}

fn errors_of(input: &PlanInput) -> Vec<(String, String)> {
    let errors = create(input).expect_err("refused");
    errors
        .iter()
        .map(|(f, m)| (f.to_owned(), m.to_owned()))
        .collect()
}

fn one(field: &str, message: &str) -> Vec<(String, String)> {
    vec![(field.to_owned(), message.to_owned())]
}

#[test]
fn a_create_fills_the_defaults() {
    let plan = create(&valid()).unwrap();
    assert_eq!(
        plan,
        PlanFields {
            name: "Home 10".into(),
            service_type: ServiceType::Internet,
            download_kbps: 10_500,
            upload_kbps: 2_000,
            burst: None,
            data_limit_mb: None,
            cap_policy: CapPolicy::None,
            throttle: None,
            monthly_fee_minor: 4_999,
            activation_fee_minor: 0,
            currency: "USD".into(),
            billing_period_months: 1,
            tax_class: None,
            ip_pool_id: None,
            radius_attributes: Vec::new(),
            status: PlanStatus::Active,
            credit_suspended_days: false,
            credit_unused_days_on_termination: false,
        }
    );
}

#[test]
fn every_missing_required_field_is_reported() {
    let errors = errors_of(&PlanInput::default());
    let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        [
            "name",
            "speed_download_mbps",
            "speed_upload_mbps",
            "monthly_fee"
        ]
    );
    assert_eq!(errors[1].1, "The speed download mbps field is required.");
}

#[test]
fn speeds_have_kbps_precision_and_a_range() {
    let with = |speed: &str| PlanInput {
        speed_download_mbps: text(speed),
        ..valid()
    };
    assert_eq!(create(&with("0.001")).unwrap().download_kbps, 1);
    assert_eq!(create(&with("100000")).unwrap().download_kbps, 100_000_000);
    let cases = [
        (
            "10.0001",
            "The speed download mbps may not have more than 3 decimal places.",
        ),
        ("0", "The speed download mbps must be at least 0.001."),
        (
            "100000.5",
            "The speed download mbps may not be greater than 100000.",
        ),
        ("fast", "The speed download mbps must be a number."),
    ];
    for (speed, message) in cases {
        assert_eq!(
            errors_of(&with(speed)),
            one("speed_download_mbps", message),
            "{speed}"
        );
    }
}

#[test]
fn fees_have_the_currency_digits() {
    let yen = PlanInput {
        currency: text("jpy"),
        monthly_fee: text("5000"),
        activation_fee: text("1000"),
        ..valid()
    };
    let plan = create(&yen).unwrap();
    assert_eq!(
        (
            plan.currency.as_str(),
            plan.monthly_fee_minor,
            plan.activation_fee_minor
        ),
        ("JPY", 5_000, 1_000)
    );
    let fractional_yen = PlanInput {
        monthly_fee: text("49.99"),
        ..yen
    };
    assert_eq!(
        errors_of(&fractional_yen),
        one("monthly_fee", "The monthly fee must be a whole number.")
    );
    let cases = [
        (
            PlanInput {
                monthly_fee: text("49.999"),
                ..valid()
            },
            one(
                "monthly_fee",
                "The monthly fee may not have more than 2 decimal places.",
            ),
        ),
        (
            PlanInput {
                activation_fee: text("-1"),
                ..valid()
            },
            one("activation_fee", "The activation fee must be at least 0."),
        ),
        (
            PlanInput {
                currency: text("US"),
                ..valid()
            },
            one("currency", "The currency must be a 3-letter ISO 4217 code."),
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(errors_of(&input), expected);
    }
}

#[test]
fn a_new_currency_keeps_amounts_it_can_write() {
    let stored = create(&PlanInput {
        monthly_fee: text("50"),
        activation_fee: text("10.50"),
        ..valid()
    })
    .unwrap();
    let to = |code: &str| PlanInput {
        currency: text(code),
        ..PlanInput::default()
    };
    let kwd = check(&stored, &to("KWD"), &[PlanField::Currency], "USD").unwrap();
    assert_eq!(
        (kwd.monthly_fee_minor, kwd.activation_fee_minor),
        (50_000, 10_500)
    );
    let errors = check(&stored, &to("JPY"), &[PlanField::Currency], "USD").unwrap_err();
    assert_eq!(
        errors.messages("activation_fee"),
        ["The activation fee must be a whole number."]
    );
    assert!(errors.messages("monthly_fee").is_empty());
}

#[test]
fn billing_periods_are_one_three_six_or_twelve_months() {
    for (months, expected) in [(None, Ok(1)), (Some(0), Ok(1)), (Some(12), Ok(12))] {
        assert_eq!(
            billing_period(months),
            expected.map_err(|m: &str| vec![m.to_owned()])
        );
    }
    let input = PlanInput {
        billing_period_months: Some(2),
        ..valid()
    };
    assert_eq!(
        errors_of(&input),
        one(
            "billing_period_months",
            "The billing period months must be one of 1, 3, 6, 12."
        )
    );
}

fn burst_of(download: &str, upload: &str, threshold_down: &str, threshold_up: &str) -> BurstInput {
    BurstInput {
        download_mbps: text(download),
        upload_mbps: text(upload),
        threshold_download_mbps: text(threshold_down),
        threshold_upload_mbps: text(threshold_up),
        time_seconds: Some(8),
    }
}

#[test]
fn bursts_go_above_the_speeds_and_thresholds_below() {
    let input = |burst| PlanInput {
        burst: Some(burst),
        ..valid()
    };
    let plan = create(&input(burst_of("20", "4", "8", "1.5"))).unwrap();
    assert_eq!(
        plan.burst,
        Some(Burst {
            download_kbps: 20_000,
            upload_kbps: 4_000,
            threshold_download_kbps: 8_000,
            threshold_upload_kbps: 1_500,
            time_seconds: 8,
        })
    );
    let errors = errors_of(&input(burst_of("10.5", "1", "10.5", "2")));
    assert_eq!(
        errors,
        [
            (
                "burst.download_mbps".to_owned(),
                "The burst download mbps must be greater than the speed download mbps.".to_owned()
            ),
            (
                "burst.threshold_download_mbps".to_owned(),
                "The burst threshold download mbps must be less than the speed download mbps."
                    .to_owned()
            ),
            (
                "burst.upload_mbps".to_owned(),
                "The burst upload mbps must be greater than the speed upload mbps.".to_owned()
            ),
            (
                "burst.threshold_upload_mbps".to_owned(),
                "The burst threshold upload mbps must be less than the speed upload mbps."
                    .to_owned()
            ),
        ]
    );
    let partial = BurstInput {
        time_seconds: Some(0),
        ..BurstInput::default()
    };
    let fields: Vec<String> = errors_of(&input(partial))
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(
        fields,
        [
            "burst.download_mbps",
            "burst.upload_mbps",
            "burst.threshold_download_mbps",
            "burst.threshold_upload_mbps",
            "burst.time_seconds"
        ]
    );
}

#[test]
fn cap_policies_need_a_limit_and_throttle_needs_slower_speeds() {
    let capped = |policy, limit: Option<&str>, down: Option<&str>, up: Option<&str>| PlanInput {
        cap_policy: Choice::Valid(policy),
        data_limit_gb: limit.and_then(text),
        throttle_download_mbps: down.and_then(text),
        throttle_upload_mbps: up.and_then(text),
        ..valid()
    };
    let plan = create(&capped(
        CapPolicy::Throttle,
        Some("150.5"),
        Some("1"),
        Some("0.512"),
    ))
    .unwrap();
    assert_eq!(plan.data_limit_mb, Some(150_500));
    assert_eq!(
        plan.throttle,
        Some(Throttle {
            download_kbps: 1_000,
            upload_kbps: 512
        })
    );
    assert_eq!(
        errors_of(&capped(CapPolicy::Suspend, None, None, None)),
        one(
            "data_limit_gb",
            "The data limit gb field is required when cap policy is suspend."
        )
    );
    assert_eq!(
        errors_of(&capped(
            CapPolicy::Throttle,
            Some("100"),
            Some("10.5"),
            None
        )),
        [
            (
                "throttle_download_mbps".to_owned(),
                "The throttle download mbps must be less than the speed download mbps.".to_owned()
            ),
            (
                "throttle_upload_mbps".to_owned(),
                "The throttle upload mbps field is required when cap policy is throttle."
                    .to_owned()
            ),
        ]
    );
    assert_eq!(
        errors_of(&capped(CapPolicy::None, None, Some("1"), None)),
        one(
            "throttle_download_mbps",
            "The throttle download mbps field is prohibited unless cap policy is throttle."
        )
    );
}

#[test]
fn leaving_the_throttle_policy_drops_its_speeds() {
    let stored = create(&PlanInput {
        cap_policy: Choice::Valid(CapPolicy::Throttle),
        data_limit_gb: text("100"),
        throttle_download_mbps: text("1"),
        throttle_upload_mbps: text("1"),
        ..valid()
    })
    .unwrap();
    let change = PlanInput {
        cap_policy: Choice::Valid(CapPolicy::Suspend),
        ..PlanInput::default()
    };
    let plan = check(&stored, &change, &[PlanField::CapPolicy], "USD").unwrap();
    assert_eq!((plan.cap_policy, plan.throttle), (CapPolicy::Suspend, None));
}

#[test]
fn radius_attributes_are_checked_one_by_one() {
    let attribute = |name: &str, op, value: &str| AttributeInput {
        attribute: name.into(),
        op,
        value: value.into(),
    };
    let input = PlanInput {
        radius_attributes: vec![
            attribute("session-timeout", Choice::Valid(RadiusOp::Set), " 3600 "),
            attribute(
                "Lastmile-Unknown-Attribute",
                Choice::Valid(RadiusOp::Add),
                "x",
            ),
            attribute("Mikrotik-Rate-Limit", Choice::Valid(RadiusOp::Add), "1M/1M"),
            attribute("Filter-Id", Choice::Invalid, ""),
        ],
        ..valid()
    };
    assert_eq!(
        errors_of(&input),
        [
            (
                "radius_attributes.1.attribute".to_owned(),
                "The attribute \"Lastmile-Unknown-Attribute\" is not in the RADIUS dictionary.".to_owned()
            ),
            (
                "radius_attributes.2.attribute".to_owned(),
                "The attribute \"Mikrotik-Rate-Limit\" is managed by Lastmile and cannot be set on a plan."
                    .to_owned()
            ),
            (
                "radius_attributes.3.op".to_owned(),
                "The op must be one of =, :=, +=.".to_owned()
            ),
            (
                "radius_attributes.3.value".to_owned(),
                "The value field is required.".to_owned()
            ),
        ]
    );
    let plan = create(&PlanInput {
        radius_attributes: vec![attribute(
            "session-timeout",
            Choice::Valid(RadiusOp::Set),
            " 3600 ",
        )],
        ..valid()
    })
    .unwrap();
    assert_eq!(
        plan.radius_attributes,
        [RadiusAttribute {
            attribute: "Session-Timeout".into(),
            op: RadiusOp::Set,
            value: "3600".into()
        }]
    );
}

#[test]
fn update_mask_paths_name_fields() {
    assert_eq!(PlanField::from_path("burst"), Some(PlanField::Burst));
    assert_eq!(
        PlanField::from_path("speed_download_mbps"),
        Some(PlanField::SpeedDownload)
    );
    assert_eq!(PlanField::from_path("services_count"), None);
    for field in PlanField::ALL {
        assert_eq!(PlanField::from_path(field.key()), Some(field));
    }
}

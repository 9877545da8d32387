use super::*;
use crate::resource::ListIn;
use crate::resource::fields::{Intent, read};
use lastmile_proto::v1::WebhookDeliveryStatus;
use serde_json::{Value, json};

fn body(value: Value) -> serde_json::Map<String, Value> {
    value.as_object().unwrap().clone()
}

fn webhook() -> Webhook {
    Webhook {
        id: 4,
        url: "https://hooks.isp.example/lastmile".into(),
        events: vec!["customer.*".into()],
        active: true,
        partner_id: Some(2),
        created_at: Some(prost_types::Timestamp {
            seconds: 1_705_314_600,
            nanos: 0,
        }),
        updated_at: Some(prost_types::Timestamp {
            seconds: 1_705_314_600,
            nanos: 0,
        }),
        ..Webhook::default()
    }
}

#[test]
fn a_body_is_read_into_the_input_with_the_mask_of_its_keys() {
    let (changes, errors) = read(
        Webhooks::FIELDS,
        &body(
            json!({"url": "https://a.example/h", "events": ["customer.created", "*"],
                     "description": "", "active": false}),
        ),
        Intent::Create,
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        changes.input,
        WebhookInput {
            url: "https://a.example/h".into(),
            events: vec!["customer.created".into(), "*".into()],
            description: None,
            active: Some(false),
        }
    );
    assert_eq!(changes.mask, ["url", "events", "description", "active"]);
    let (changes, _) = read(
        Webhooks::FIELDS,
        &body(json!({"active": true})),
        Intent::Update,
    );
    assert_eq!(changes.mask, ["active"]);
}

#[test]
fn fields_of_the_wrong_type_are_reported_together() {
    let (_, errors) = read(
        Webhooks::FIELDS,
        &body(json!({"url": 5, "events": ["customer.created", 3], "active": "yes"})),
        Intent::Create,
    );
    assert_eq!(errors.get("url").unwrap(), ["The url must be a string."]);
    assert_eq!(
        errors.get("events").unwrap(),
        ["The events must be an array of strings."]
    );
    assert_eq!(
        errors.get("active").unwrap(),
        ["The active field must be true or false."]
    );
    let (_, errors) = read(
        Webhooks::FIELDS,
        &body(json!({"events": "*"})),
        Intent::Create,
    );
    assert_eq!(
        errors.get("events").unwrap(),
        ["The events must be an array of strings."]
    );
    let (_, errors) = read(
        Webhooks::FIELDS,
        &body(json!({"url": null, "active": null})),
        Intent::Update,
    );
    assert_eq!(errors.get("url").unwrap(), ["The url field is required."]);
    assert_eq!(
        errors.get("active").unwrap(),
        ["The active field is required."]
    );
}

#[test]
fn the_secret_shows_only_when_the_core_hands_one_over() {
    let base = BaseUrl("http://edge.test".to_owned());
    let created = Shown::made(Some(webhook()), "whsec_abc".into()).unwrap();
    let json = serde_json::to_value(Webhooks::view(created, &base)).unwrap();
    assert_eq!(json["secret"], "whsec_abc");
    // An idempotent replay: the core kept the answer without the secret.
    let replayed = Shown::made(Some(webhook()), String::new()).unwrap();
    let json = serde_json::to_value(Webhooks::view(replayed, &base)).unwrap();
    assert!(json.get("secret").is_none(), "{json}");
    let read = serde_json::to_value(Webhooks::view(Shown::stored(webhook()), &base)).unwrap();
    assert_eq!(
        read,
        json!({"id": 4, "url": "https://hooks.isp.example/lastmile", "events": ["customer.*"],
               "description": null, "active": true, "partner_id": 2, "disabled_reason": null,
               "failing_since": null, "previous_secret_expires_at": null,
               "created_at": "2024-01-15T10:30:00.000000Z",
               "updated_at": "2024-01-15T10:30:00.000000Z"})
    );
    assert!(Shown::made(None, "whsec_abc".into()).is_none());
}

#[test]
fn the_delivery_status_filter_takes_the_five_statuses_and_nothing_else() {
    let page = PageRequest {
        page: 1,
        per_page: 25,
    };
    let query = |status: &str| QueryPairs(vec![("status".into(), status.into())]);
    let request = <Deliveries as ListIn>::request(9, page, &query("dead")).unwrap();
    assert_eq!(
        (request.webhook_id, request.status),
        (9, WebhookDeliveryStatus::Dead as i32)
    );
    let request = <Deliveries as ListIn>::request(9, page, &query("")).unwrap();
    assert_eq!(request.status, 0, "no filter");
    let error = <Deliveries as ListIn>::request(9, page, &query("sent")).unwrap_err();
    assert_eq!(error.status.as_u16(), 400);
    assert_eq!(
        error.body.error.as_deref(),
        Some("The status parameter must be one of: pending, delivered, failed, dead, cancelled.")
    );
}

use super::*;
use lastmile_proto::v1::{
    ApiKey, Customer, CustomerStatus, Money, Partner, RateLimitTier, Role, Webhook,
};
use serde_json::json;

fn at() -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: 1_705_314_600,
        nanos: 0,
    })
}

fn subject(resource: Subject) -> EventSubject {
    EventSubject {
        resource: Some(resource),
    }
}

/// What the REST API shows for `view` at a request, without its links.
fn rest_without_links(view: impl Serialize) -> Value {
    let mut value = serde_json::to_value(view).unwrap();
    let links = value.as_object_mut().unwrap().remove("links");
    assert!(links.is_some(), "the REST view has links: {value}");
    value
}

fn request_base() -> BaseUrl {
    BaseUrl("http://edge.test".to_owned())
}

#[test]
fn a_customer_is_its_rest_json_without_links_or_password() {
    let customer = Customer {
        id: 42,
        portal_id: "10000042".into(),
        uuid: "6f9619ff-8b86-4d01-b42d-00cf4fc964ff".into(),
        first_name: "Ada".into(),
        full_name: "Ada".into(),
        phone: "+15550100".into(),
        partner_id: Some(7),
        status: CustomerStatus::Suspended as i32,
        balance: Some(Money {
            minor_units: 7999,
            currency: "USD".into(),
        }),
        created_at: at(),
        updated_at: at(),
        ..Customer::default()
    };
    let data = render_event_subject(&subject(Subject::Customer(customer.clone())));
    assert_eq!(
        data,
        rest_without_links(CustomerJson::new(customer, &request_base()))
    );
    assert_eq!(data["id"], 42);
    assert_eq!(data["portal_id"], "10000042");
    assert_eq!(data["status"], "suspended");
    assert_eq!(data["partner_id"], 7);
    assert_eq!(data["balance"], json!(79.99));
    assert_eq!(data["created_at"], "2024-01-15T10:30:00.000000Z");
    assert!(data.get("links").is_none(), "{data}");
    assert!(data.get("password").is_none(), "{data}");
}

#[test]
fn a_partner_is_its_rest_json_without_links() {
    let partner = Partner {
        id: 7,
        name: "Northern Resellers".into(),
        contact_email: Some("ops@north.example".into()),
        created_at: at(),
        updated_at: at(),
        ..Partner::default()
    };
    let data = render_event_subject(&subject(Subject::Partner(partner.clone())));
    assert_eq!(
        data,
        rest_without_links(Partners::view(partner, &request_base()))
    );
    assert_eq!(
        data,
        json!({"id": 7, "name": "Northern Resellers", "description": null,
               "contact_email": "ops@north.example", "contact_phone": null,
               "created_at": "2024-01-15T10:30:00.000000Z",
               "updated_at": "2024-01-15T10:30:00.000000Z"})
    );
}

#[test]
fn an_api_key_shows_its_record_but_never_a_secret() {
    let key = ApiKey {
        id: 5,
        name: "billing export".into(),
        prefix: "lm_ab12".into(),
        role: Role::Billing as i32,
        tier: RateLimitTier::Standard as i32,
        created_at: at(),
        owner_user_id: Some(1),
        ..ApiKey::default()
    };
    let data = render_event_subject(&subject(Subject::ApiKey(key)));
    assert_eq!(
        data,
        json!({"id": 5, "name": "billing export", "description": null, "prefix": "lm_ab12",
               "role": "billing", "tier": "standard", "expires_at": null,
               "created_at": "2024-01-15T10:30:00.000000Z", "last_used_at": null,
               "owner_user_id": 1, "partner_id": null})
    );

    let client = ApiKey {
        id: 6,
        client_id: "1b4e28ba-2fa1-11d2-883f-0016d3cca427".into(),
        role: Role::ReadOnly as i32,
        ..ApiKey::default()
    };
    let data = render_event_subject(&subject(Subject::ApiKey(client)));
    assert_eq!(data["client_id"], "1b4e28ba-2fa1-11d2-883f-0016d3cca427");
    assert_eq!(data["role"], "read_only");
    assert!(data.get("client_secret").is_none(), "{data}");
    assert!(data.get("key").is_none(), "{data}");
}

#[test]
fn a_webhook_never_shows_its_secret_and_no_subject_is_null() {
    let webhook = Webhook {
        id: 3,
        url: "https://hooks.isp.example/in".into(),
        events: vec!["*".into()],
        active: true,
        ..Webhook::default()
    };
    let data = render_event_subject(&subject(Subject::Webhook(webhook)));
    assert_eq!(data["url"], "https://hooks.isp.example/in");
    assert!(data.get("secret").is_none(), "{data}");
    assert_eq!(
        render_event_subject(&EventSubject { resource: None }),
        Value::Null
    );
}

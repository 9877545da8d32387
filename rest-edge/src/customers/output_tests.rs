use super::*;
use lastmile_proto::v1::Money;
use serde_json::json;

fn base() -> BaseUrl {
    BaseUrl("http://edge.test".to_owned())
}

fn customer() -> Customer {
    Customer {
        id: 42,
        portal_id: "10000042".into(),
        uuid: "6f9619ff-8b86-4d01-b42d-00cf4fc964ff".into(),
        company_name: Some("Analytical Engines Ltd".into()),
        tax_exempt: false,
        tax_exempt_reference: None,
        first_name: "Ada".into(),
        last_name: Some("Lovelace".into()),
        full_name: "Ada Lovelace".into(),
        email: Some("ada@example.com".into()),
        phone: "+15550100".into(),
        address: Some(Address {
            street: "1 Main St".into(),
            city: "Springfield".into(),
            state: String::new(),
            zip: "62701".into(),
            country: "US".into(),
        }),
        billing_address: None,
        user_group_id: Some(3),
        organizations: vec![Organization {
            id: 1,
            name: "North".into(),
        }],
        partner_id: None,
        billing_method: BillingMethod::Cycle as i32,
        billing_day: Some(15),
        auto_suspension: true,
        suspend_after_days: 14,
        status: CustomerStatus::Active as i32,
        status_reason: None,
        balance: Some(Money {
            minor_units: 7999,
            currency: "USD".into(),
        }),
        created_at: Some(prost_types::Timestamp {
            seconds: 1_705_314_600,
            nanos: 0,
        }),
        updated_at: Some(prost_types::Timestamp {
            seconds: 1_705_314_600,
            nanos: 123_456_789,
        }),
    }
}

fn render(c: Customer) -> String {
    serde_json::to_string(&CustomerJson::new(c, &base())).unwrap()
}

fn value(c: Customer) -> serde_json::Value {
    serde_json::from_str(&render(c)).unwrap()
}

#[test]
fn a_customer_renders_as_the_contract_says() {
    assert_eq!(
        value(customer()),
        json!({
            "id": 42, "portal_id": "10000042", "uuid": "6f9619ff-8b86-4d01-b42d-00cf4fc964ff",
            "company_name": "Analytical Engines Ltd", "tax_exempt": false,
            "tax_exempt_reference": null, "first_name": "Ada", "last_name": "Lovelace",
            "full_name": "Ada Lovelace", "email": "ada@example.com", "phone": "+15550100",
            "address": "1 Main St", "city": "Springfield", "state": null, "country": "US",
            "postal_code": "62701", "billing_address": null, "user_group_id": 3,
            "partner_id": null, "billing_method": "cycle", "billing_day": 15,
            "auto_suspension": true, "suspend_after_days": 14, "status": "active",
            "status_reason": null, "balance": 79.99, "currency": "USD",
            "organizations": [{"id": 1, "name": "North"}],
            "created_at": "2024-01-15T10:30:00.000000Z",
            "updated_at": "2024-01-15T10:30:00.123456Z",
            "links": {"self": "http://edge.test/api/v1/customers/42"}
        })
    );
}

#[test]
fn money_keeps_the_currency_digits_exactly() {
    let mut c = customer();
    c.balance = Some(Money {
        minor_units: 0,
        currency: "USD".into(),
    });
    assert!(render(c).contains(r#""balance":0.00,"#));
    let mut c = customer();
    c.balance = Some(Money {
        minor_units: -5,
        currency: "EUR".into(),
    });
    assert!(render(c).contains(r#""balance":-0.05,"currency":"EUR""#));
    let mut c = customer();
    c.balance = Some(Money {
        minor_units: 1500,
        currency: "JPY".into(),
    });
    assert!(render(c).contains(r#""balance":1500,"#));
    let mut c = customer();
    c.balance = Some(Money {
        minor_units: 9_007_199_254_740_993,
        currency: "USD".into(),
    });
    assert!(render(c).contains(r#""balance":90071992547409.93,"#));
}

#[test]
fn timestamps_have_exactly_six_fractional_digits() {
    let rendered = render(customer());
    assert!(rendered.contains(r#""created_at":"2024-01-15T10:30:00.000000Z""#));
    assert!(rendered.contains(r#""updated_at":"2024-01-15T10:30:00.123456Z""#));
}

#[test]
fn absent_optional_values_are_null() {
    let mut c = customer();
    c.last_name = None;
    c.email = None;
    c.address = None;
    c.user_group_id = None;
    c.billing_day = None;
    c.billing_method = BillingMethod::Unspecified as i32;
    c.status_reason = Some("unpaid".into());
    c.status = CustomerStatus::Suspended as i32;
    let v = value(c);
    for key in [
        "last_name",
        "email",
        "address",
        "city",
        "state",
        "country",
        "postal_code",
        "user_group_id",
        "billing_day",
        "billing_method",
    ] {
        assert!(v[key].is_null(), "{key}");
    }
    assert_eq!(v["status"], "suspended");
    assert_eq!(v["status_reason"], "unpaid");
}

#[test]
fn a_billing_address_shows_only_when_something_is_set() {
    let mut c = customer();
    c.billing_address = Some(Address::default());
    assert!(value(c)["billing_address"].is_null());
    let mut c = customer();
    c.billing_address = Some(Address {
        street: "PO Box 9".into(),
        ..Address::default()
    });
    assert_eq!(
        value(c)["billing_address"],
        json!({"street": "PO Box 9", "city": null, "state": null, "zip": null, "country": null})
    );
}

#[test]
fn the_password_is_never_rendered() {
    assert!(!render(customer()).contains("password"));
}

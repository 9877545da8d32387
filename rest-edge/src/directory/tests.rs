use super::*;
use serde_json::json;

fn body(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

#[test]
fn present_keys_make_the_mask_and_null_clears() {
    let (changes, errors) = read_entry(
        &body(json!({"name": "North", "description": null, "contact_email": "a@b.co"})),
        true,
    );
    assert!(errors.is_empty());
    assert_eq!(
        changes,
        EntryChanges {
            name: "North".into(),
            description: None,
            contact_email: Some("a@b.co".into()),
            contact_phone: None,
            mask: vec!["name".into(), "description".into(), "contact_email".into()],
        }
    );
}

#[test]
fn contact_keys_belong_to_partners_only() {
    let (changes, errors) = read_entry(&body(json!({"contact_phone": 5})), false);
    assert!(errors.is_empty());
    assert!(changes.mask.is_empty());
}

#[test]
fn fields_of_the_wrong_type_are_all_reported() {
    let (_, errors) = read_entry(
        &body(json!({"name": 7, "description": [], "contact_phone": 5})),
        true,
    );
    assert_eq!(errors.fields(), ["name", "description", "contact_phone"]);
    assert_eq!(errors.get("name").unwrap(), ["The name must be a string."]);
}

#[test]
fn a_path_segment_must_be_a_positive_id() {
    assert_eq!(
        entry_id(Ok(Path("42".into())), "Partner not found").unwrap(),
        42
    );
    for bad in ["", "0", "abc", "-1", "1.0", "99999999999999999999"] {
        let error = entry_id(Ok(Path(bad.into())), "Partner not found").unwrap_err();
        assert_eq!(error.status.as_u16(), 404, "{bad}");
        assert_eq!(error.body.message, "Partner not found");
    }
}

#[test]
fn list_parameters_are_read_and_checked() {
    let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let (page, search, sort) = list_query(&pairs(&[
        ("page", "2"),
        ("search", " no "),
        ("sort", "-name"),
    ]))
    .unwrap();
    assert_eq!((page.page, page.per_page), (2, 25));
    assert_eq!((search.as_str(), sort.as_str()), ("no", "-name"));
    let error = list_query(&pairs(&[("per_page", "x")])).unwrap_err();
    assert_eq!(error.status.as_u16(), 400);
    assert_eq!(
        error.body.error.as_deref(),
        Some("The per_page parameter must be a positive integer.")
    );
}

#[test]
fn the_document_describes_every_directory_route() {
    let doc = serde_json::to_value(Doc::openapi()).unwrap();
    for (collection, item) in [
        ("/api/v1/partners", "/api/v1/partners/{id}"),
        ("/api/v1/organizations", "/api/v1/organizations/{id}"),
        ("/api/v1/user-groups", "/api/v1/user-groups/{id}"),
    ] {
        for method in ["get", "post"] {
            let operation = &doc["paths"][collection][method];
            assert!(operation["security"].is_array(), "{method} {collection}");
        }
        for method in ["get", "put", "patch", "delete"] {
            let operation = &doc["paths"][item][method];
            assert!(operation["security"].is_array(), "{method} {item}");
        }
    }
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["PartnerJson"]["properties"]["contact_email"].is_object());
    assert!(schemas["UserGroupJson"]["properties"]["links"].is_object());
}

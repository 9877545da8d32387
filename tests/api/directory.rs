//! `/api/v1/partners`, `/api/v1/organizations` and `/api/v1/user-groups`: the directory
//! customers reference. CRUD of each kind, the name rules, soft delete refused while
//! customers still reference an entry, the audit entries, and who may do what.

use lastmile_core::db::Db;
use lastmile_core::identity::Role;
use lastmile_proto::v1::directory_service_client::DirectoryServiceClient;
use lastmile_proto::v1::{
    CreatePartnerRequest, ListPartnersRequest, OrganizationInput, PartnerInput,
    UpdateOrganizationRequest,
};
use lastmile_tests::{StatusCode, TestApp, customer_body, engine_tests, json, send, with_key};
use serde_json::Value;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;

engine_tests!(
    partners_can_be_created_read_listed_changed_and_deleted,
    organizations_and_user_groups_can_be_created_read_listed_changed_and_deleted,
    a_missing_short_or_long_name_is_reported_on_the_field,
    partner_contacts_are_checked_and_normalised,
    fields_of_the_wrong_json_type_are_a_422_per_field,
    a_name_is_unique_per_kind_ignoring_case_among_live_entries,
    unknown_entries_are_not_found,
    deleting_an_entry_customers_reference_is_a_409_conflict,
    a_customer_can_reference_existing_entries_and_not_deleted_ones,
    every_change_writes_one_audit_entry,
    lists_search_sort_and_paginate,
    a_create_with_an_idempotency_key_happens_once,
    roles_without_the_permission_are_forbidden,
    a_reseller_may_not_manage_partners,
    the_directory_service_answers_over_grpc_with_health_and_field_violations,
);

/// One kind of directory entry as the REST API names it.
#[derive(Clone, Copy)]
struct Kind {
    path: &'static str,
    singular: &'static str,
    plural: &'static str,
    noun: &'static str,
    resource_type: &'static str,
}

const PARTNERS: Kind = Kind {
    path: "/api/v1/partners",
    singular: "partner",
    plural: "partners",
    noun: "Partner",
    resource_type: "partner",
};
const ORGANIZATIONS: Kind = Kind {
    path: "/api/v1/organizations",
    singular: "organization",
    plural: "organizations",
    noun: "Organization",
    resource_type: "organization",
};
const USER_GROUPS: Kind = Kind {
    path: "/api/v1/user-groups",
    singular: "user_group",
    plural: "user_groups",
    noun: "User group",
    resource_type: "user_group",
};
const KINDS: [Kind; 3] = [PARTNERS, ORGANIZATIONS, USER_GROUPS];

impl Kind {
    fn item(&self, id: impl std::fmt::Display) -> String {
        format!("{}/{id}", self.path)
    }
}

/// Creates an entry; returns its JSON.
async fn create(app: &TestApp, kind: Kind, body: Value) -> Value {
    let (status, answer) = app.post(kind.path, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["success"], json!(true), "{answer}");
    assert_eq!(
        answer["message"],
        json!(format!("{} created successfully", kind.noun)),
        "{answer}"
    );
    answer["data"][kind.singular].clone()
}

async fn create_named(app: &TestApp, kind: Kind, name: &str) -> i64 {
    create(app, kind, json!({"name": name}))
        .await
        .get("id")
        .and_then(Value::as_i64)
        .expect("an id")
}

fn assert_validation(status: StatusCode, body: &Value, errors: Value) {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], json!("VALIDATION_ERROR"), "{body}");
    assert_eq!(body["message"], json!("Validation failed"), "{body}");
    assert_eq!(body["errors"], errors, "{body}");
}

fn assert_not_found(kind: Kind, status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["code"], json!("NOT_FOUND"), "{body}");
    assert_eq!(
        body["message"],
        json!(format!("{} not found", kind.noun)),
        "{body}"
    );
}

fn assert_forbidden(status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], json!("FORBIDDEN"), "{body}");
    assert_eq!(body["message"], json!("Forbidden"), "{body}");
    assert!(body.get("data").is_none(), "{body}");
}

async fn as_key(
    app: &TestApp,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = app
        .http
        .request(method, app.url(path))
        .header("X-API-Key", key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    send(request).await
}

async fn partners_can_be_created_read_listed_changed_and_deleted(app: TestApp) {
    let created = create(
        &app,
        PARTNERS,
        json!({"name": " North Net ", "description": "Resells fibre up north",
               "contact_email": "Sales@NorthNet.example", "contact_phone": "+254 712 000 111"}),
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["name"], json!("North Net"));
    assert_eq!(created["description"], json!("Resells fibre up north"));
    assert_eq!(created["contact_email"], json!("sales@northnet.example"));
    assert_eq!(created["contact_phone"], json!("+254712000111"));
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(created["links"]["self"], json!(app.url(&PARTNERS.item(id))));

    let (status, body) = app.get(&PARTNERS.item(id)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["message"], json!("Partner retrieved successfully"));
    assert_eq!(body["data"]["partner"], created);

    let (status, body) = app.get(PARTNERS.path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["partners"], json!([created]));
    assert_eq!(
        body["meta"],
        json!({"current_page": 1, "per_page": 25, "total": 1, "last_page": 1})
    );

    let (status, body) = app
        .patch(
            &PARTNERS.item(id),
            &json!({"name": "North Networks", "contact_phone": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["message"], json!("Partner updated successfully"));
    let updated = &body["data"]["partner"];
    assert_eq!(updated["name"], json!("North Networks"));
    assert_eq!(updated["contact_phone"], Value::Null);
    assert_eq!(updated["contact_email"], created["contact_email"]);
    assert_eq!(updated["description"], created["description"]);

    let (status, body) = app
        .put(&PARTNERS.item(id), &json!({"description": ""}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["partner"]["description"], Value::Null);
    assert_eq!(body["data"]["partner"]["name"], json!("North Networks"));

    let (status, body) = app.delete(&PARTNERS.item(id)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(body, Value::Null);
    let (status, body) = app.get(&PARTNERS.item(id)).await;
    assert_not_found(PARTNERS, status, &body);
    let (_, body) = app.get(PARTNERS.path).await;
    assert_eq!(body["data"]["partners"], json!([]));
    assert_eq!(body["meta"]["total"], json!(0));
    assert_eq!(body["meta"]["last_page"], json!(1));
    app.stop().await;
}

async fn organizations_and_user_groups_can_be_created_read_listed_changed_and_deleted(
    app: TestApp,
) {
    for kind in [ORGANIZATIONS, USER_GROUPS] {
        let created = create(
            &app,
            kind,
            json!({"name": "Campus", "description": "Students", "contact_email": "ignored"}),
        )
        .await;
        let id = created["id"].as_i64().unwrap();
        assert_eq!(created["name"], json!("Campus"));
        assert_eq!(created["description"], json!("Students"));
        assert!(created.get("contact_email").is_none(), "{created}");
        assert_eq!(created["links"]["self"], json!(app.url(&kind.item(id))));

        let (status, body) = app.get(&kind.item(id)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["data"][kind.singular], created);
        let (_, body) = app.get(kind.path).await;
        assert_eq!(body["data"][kind.plural], json!([created]));

        let (status, body) = app
            .patch(&kind.item(id), &json!({"name": "Campus West"}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body["message"],
            json!(format!("{} updated successfully", kind.noun))
        );
        assert_eq!(body["data"][kind.singular]["name"], json!("Campus West"));
        assert_eq!(
            body["data"][kind.singular]["description"],
            json!("Students")
        );

        let (status, _) = app.delete(&kind.item(id)).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, body) = app.get(&kind.item(id)).await;
        assert_not_found(kind, status, &body);
    }
    app.stop().await;
}

async fn a_missing_short_or_long_name_is_reported_on_the_field(app: TestApp) {
    for kind in KINDS {
        for (body, message) in [
            (json!({}), "The name field is required."),
            (json!({"name": "   "}), "The name field is required."),
            (json!({"name": null}), "The name field is required."),
            (
                json!({"name": "X"}),
                "The name must be at least 2 characters.",
            ),
            (
                json!({"name": "x".repeat(101)}),
                "The name may not be greater than 100 characters.",
            ),
        ] {
            let (status, answer) = app.post(kind.path, &body).await;
            assert_validation(status, &answer, json!({"name": [message]}));
        }
        let id = create_named(&app, kind, "Valid").await;
        let (status, answer) = app.patch(&kind.item(id), &json!({"name": ""})).await;
        assert_validation(
            status,
            &answer,
            json!({"name": ["The name field is required."]}),
        );
        let (status, answer) = app
            .patch(&kind.item(id), &json!({"description": "d".repeat(1001)}))
            .await;
        assert_validation(
            status,
            &answer,
            json!({"description": ["The description may not be greater than 1000 characters."]}),
        );
    }
    app.stop().await;
}

async fn partner_contacts_are_checked_and_normalised(app: TestApp) {
    let (status, body) = app
        .post(
            PARTNERS.path,
            &json!({"name": "A", "contact_email": "not-an-email", "contact_phone": "call me"}),
        )
        .await;
    assert_validation(
        status,
        &body,
        json!({
            "name": ["The name must be at least 2 characters."],
            "contact_email": ["The contact email must be a valid email address."],
            "contact_phone": ["The contact phone must be a valid phone number."],
        }),
    );
    let id = create_named(&app, PARTNERS, "Southern").await;
    let (status, body) = app
        .patch(&PARTNERS.item(id), &json!({"contact_email": "bad@"}))
        .await;
    assert_validation(
        status,
        &body,
        json!({"contact_email": ["The contact email must be a valid email address."]}),
    );
    app.stop().await;
}

async fn fields_of_the_wrong_json_type_are_a_422_per_field(app: TestApp) {
    let (status, body) = app
        .post(
            PARTNERS.path,
            &json!({"name": 12, "description": false, "contact_email": "nope"}),
        )
        .await;
    assert_validation(
        status,
        &body,
        json!({
            "contact_email": ["The contact email must be a valid email address."],
            "name": ["The name must be a string."],
            "description": ["The description must be a string."],
        }),
    );
    let id = create_named(&app, USER_GROUPS, "Gold").await;
    let (status, body) = app
        .patch(&USER_GROUPS.item(id), &json!({"name": ["Platinum"]}))
        .await;
    assert_validation(
        status,
        &body,
        json!({"name": ["The name must be a string."]}),
    );
    let (status, body) = send(
        app.request(reqwest::Method::POST, ORGANIZATIONS.path)
            .header("Content-Type", "application/json")
            .body("{\"name\":"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["message"], json!("Malformed JSON"));
    let (_, body) = app.get(&USER_GROUPS.item(id)).await;
    assert_eq!(body["data"]["user_group"]["name"], json!("Gold"));
    app.stop().await;
}

async fn a_name_is_unique_per_kind_ignoring_case_among_live_entries(app: TestApp) {
    let taken = json!({"name": ["The name has already been taken."]});
    for kind in KINDS {
        let first = create_named(&app, kind, "Metro").await;
        let (status, body) = app.post(kind.path, &json!({"name": " METRO "})).await;
        assert_validation(status, &body, taken.clone());

        let other = create_named(&app, kind, "Rural").await;
        let (status, body) = app
            .patch(&kind.item(other), &json!({"name": "metro"}))
            .await;
        assert_validation(status, &body, taken.clone());
        // An entry may keep its own name, in another case too.
        let (status, body) = app
            .patch(&kind.item(first), &json!({"name": "METRO"}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");

        // A deleted entry's name is free again.
        let (status, _) = app.delete(&kind.item(first)).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        create_named(&app, kind, "Metro").await;
    }
    // Kinds do not share names.
    let (_, body) = app.get(PARTNERS.path).await;
    assert_eq!(body["meta"]["total"], json!(2));
    app.stop().await;
}

async fn unknown_entries_are_not_found(app: TestApp) {
    for kind in KINDS {
        for id in ["999999", "0", "abc", "99999999999999999999999"] {
            let (status, body) = app.get(&kind.item(id)).await;
            assert_not_found(kind, status, &body);
            let (status, body) = app.patch(&kind.item(id), &json!({"name": "Valid"})).await;
            assert_not_found(kind, status, &body);
            let (status, body) = app.delete(&kind.item(id)).await;
            assert_not_found(kind, status, &body);
        }
        let id = create_named(&app, kind, "Gone soon").await;
        app.delete(&kind.item(id)).await;
        let (status, body) = app.delete(&kind.item(id)).await;
        assert_not_found(kind, status, &body);
        let (status, body) = app.put(&kind.item(id), &json!({"name": "Back"})).await;
        assert_not_found(kind, status, &body);
    }
    app.stop().await;
}

async fn deleting_an_entry_customers_reference_is_a_409_conflict(app: TestApp) {
    let partner = create_named(&app, PARTNERS, "Resell Co").await;
    let organization = create_named(&app, ORGANIZATIONS, "City Hall").await;
    let group = create_named(&app, USER_GROUPS, "Business").await;
    let mut body = customer_body("Amina", "+254712345678");
    body["partner_id"] = json!(partner);
    body["organization_ids"] = json!([organization]);
    body["user_group_id"] = json!(group);
    let customer = app.post("/api/v1/customers", &body).await.1["data"]["customer"].clone();
    let mut second = customer_body("Baraka", "+254712345679");
    second["partner_id"] = json!(partner);
    app.post("/api/v1/customers", &second).await;

    for (kind, id, message) in [
        (
            PARTNERS,
            partner,
            "The partner cannot be deleted while 2 customers belong to it.",
        ),
        (
            ORGANIZATIONS,
            organization,
            "The organization cannot be deleted while 1 customer belongs to it.",
        ),
        (
            USER_GROUPS,
            group,
            "The user group cannot be deleted while 1 customer is in it.",
        ),
    ] {
        let (status, body) = app.delete(&kind.item(id)).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["code"], json!("CONFLICT"), "{body}");
        assert_eq!(body["message"], json!(message), "{body}");
        let (status, _) = app.get(&kind.item(id)).await;
        assert_eq!(status, StatusCode::OK, "still there");
    }

    // Once the customer is gone (and the partner's other customer moved), deleting works.
    let customer_id = customer["id"].as_i64().unwrap();
    app.delete(&format!("/api/v1/customers/{customer_id}"))
        .await;
    for kind_and_id in [(ORGANIZATIONS, organization), (USER_GROUPS, group)] {
        let (status, body) = app.delete(&kind_and_id.0.item(kind_and_id.1)).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    let (status, body) = app.delete(&PARTNERS.item(partner)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        body["message"],
        json!("The partner cannot be deleted while 1 customer belongs to it.")
    );
    app.stop().await;
}

async fn a_customer_can_reference_existing_entries_and_not_deleted_ones(app: TestApp) {
    let partner = create_named(&app, PARTNERS, "Resell Co").await;
    let org_a = create_named(&app, ORGANIZATIONS, "Alpha Org").await;
    let org_b = create_named(&app, ORGANIZATIONS, "Beta Org").await;
    let group = create_named(&app, USER_GROUPS, "Residential").await;
    let mut body = customer_body("Amina", "+254712345678");
    body["partner_id"] = json!(partner);
    body["organization_ids"] = json!([org_b, org_a]);
    body["user_group_id"] = json!(group);
    let (status, answer) = app.post("/api/v1/customers", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let customer = &answer["data"]["customer"];
    assert_eq!(customer["partner_id"], json!(partner));
    assert_eq!(customer["user_group_id"], json!(group));
    assert_eq!(
        customer["organizations"],
        json!([{"id": org_a, "name": "Alpha Org"}, {"id": org_b, "name": "Beta Org"}])
    );

    // A renamed organization shows its new name on the customer.
    app.patch(&ORGANIZATIONS.item(org_a), &json!({"name": "Alpha Group"}))
        .await;
    let id = customer["id"].as_i64().unwrap();
    let (_, answer) = app.get(&format!("/api/v1/customers/{id}")).await;
    assert_eq!(
        answer["data"]["customer"]["organizations"][0]["name"],
        json!("Alpha Group")
    );

    // Deleted entries cannot be referenced any more.
    let gone_partner = create_named(&app, PARTNERS, "Gone Partner").await;
    let gone_group = create_named(&app, USER_GROUPS, "Gone Group").await;
    app.delete(&PARTNERS.item(gone_partner)).await;
    app.delete(&USER_GROUPS.item(gone_group)).await;
    let mut body = customer_body("Baraka", "+254712345679");
    body["partner_id"] = json!(gone_partner);
    body["user_group_id"] = json!(gone_group);
    let (status, answer) = app.post("/api/v1/customers", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(
        answer["errors"]["partner_id"],
        json!(["The selected partner id is invalid."])
    );
    assert_eq!(
        answer["errors"]["user_group_id"],
        json!(["The selected user group id is invalid."])
    );
    app.stop().await;
}

/// (action, before, after) of every audit entry about one resource, oldest first.
async fn audit_entries(
    app: &TestApp,
    resource_type: &str,
    id: i64,
) -> Vec<(String, Option<Value>, Option<Value>)> {
    let db = Db::connect(&app.database.url).await.expect("connect");
    let rows: Vec<(String, Option<String>, Option<String>)> =
        lastmile_core::on_db!(&db, pool => sqlx::query_as(
            "SELECT action, before_values, after_values FROM audit_log \
             WHERE resource_type = $1 AND resource_id = $2 ORDER BY id")
            .bind(resource_type)
            .bind(id.to_string())
            .fetch_all(pool)
            .await)
        .expect("read the audit log");
    db.close().await;
    let parse = |text: Option<String>| text.map(|t| serde_json::from_str::<Value>(&t).unwrap());
    rows.into_iter()
        .map(|(action, before, after)| (action, parse(before), parse(after)))
        .collect()
}

async fn audit_count(app: &TestApp) -> i64 {
    let db = Db::connect(&app.database.url).await.expect("connect");
    let count: i64 = lastmile_core::on_db!(&db, pool => sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log").fetch_one(pool).await)
    .expect("count audit entries");
    db.close().await;
    count
}

async fn every_change_writes_one_audit_entry(app: TestApp) {
    let partner = create(
        &app,
        PARTNERS,
        json!({"name": "North", "contact_email": "a@north.example"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    app.patch(&PARTNERS.item(partner), &json!({"name": "Northern"}))
        .await;
    // A change to nothing writes nothing.
    app.patch(&PARTNERS.item(partner), &json!({"name": "Northern"}))
        .await;
    app.delete(&PARTNERS.item(partner)).await;
    let entries = audit_entries(&app, "partner", partner).await;
    assert_eq!(
        entries,
        [
            (
                "partner.created".to_owned(),
                None,
                Some(json!({"name": "North", "description": null,
                            "contact_email": "a@north.example", "contact_phone": null}))
            ),
            (
                "partner.updated".to_owned(),
                Some(json!({"name": "North"})),
                Some(json!({"name": "Northern"}))
            ),
            (
                "partner.deleted".to_owned(),
                Some(json!({"name": "Northern", "description": null,
                            "contact_email": "a@north.example", "contact_phone": null})),
                None
            ),
        ]
    );
    for (kind, resource_type) in [(ORGANIZATIONS, "organization"), (USER_GROUPS, "user_group")] {
        assert_eq!(kind.resource_type, resource_type);
        let id = create_named(&app, kind, "Tracked").await;
        app.patch(&kind.item(id), &json!({"description": "now described"}))
            .await;
        app.delete(&kind.item(id)).await;
        let actions: Vec<String> = audit_entries(&app, resource_type, id)
            .await
            .into_iter()
            .map(|(action, _, _)| action)
            .collect();
        assert_eq!(
            actions,
            [
                format!("{resource_type}.created"),
                format!("{resource_type}.updated"),
                format!("{resource_type}.deleted")
            ]
        );
    }
    // Refused changes leave no entry.
    let (status, _) = app.post(PARTNERS.path, &json!({"name": "Northern"})).await;
    assert_eq!(status, StatusCode::CREATED, "the deleted name is free");
    let before = audit_count(&app).await;
    let (status, _) = app.post(PARTNERS.path, &json!({"name": "northern"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let group = create_named(&app, USER_GROUPS, "Busy").await;
    let mut body = customer_body("Amina", "+254712345678");
    body["user_group_id"] = json!(group);
    app.post("/api/v1/customers", &body).await;
    let with_customer = audit_count(&app).await;
    assert_eq!(with_customer, before + 2, "the group and the customer");
    let (status, _) = app.delete(&USER_GROUPS.item(group)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(audit_count(&app).await, with_customer);
    app.stop().await;
}

async fn lists_search_sort_and_paginate(app: TestApp) {
    for name in ["Delta", "alpha", "Charlie", "bravo", "Echo_1"] {
        create_named(&app, ORGANIZATIONS, name).await;
    }
    let names = |body: &Value| -> Vec<String> {
        body["data"]["organizations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, body) = app.get(ORGANIZATIONS.path).await;
    assert_eq!(
        names(&body),
        ["alpha", "bravo", "Charlie", "Delta", "Echo_1"]
    );
    let (_, body) = app
        .get(&format!(
            "{}?sort=-name&per_page=2&page=2",
            ORGANIZATIONS.path
        ))
        .await;
    assert_eq!(names(&body), ["Charlie", "bravo"]);
    assert_eq!(
        body["meta"],
        json!({"current_page": 2, "per_page": 2, "total": 5, "last_page": 3})
    );
    let (_, body) = app.get(&format!("{}?search=HAR", ORGANIZATIONS.path)).await;
    assert_eq!(names(&body), ["Charlie"]);
    let (_, body) = app.get(&format!("{}?search=_", ORGANIZATIONS.path)).await;
    assert_eq!(names(&body), ["Echo_1"], "LIKE wildcards are literal");
    let (_, body) = app
        .get(&format!(
            "{}?sort=-created_at&per_page=500",
            ORGANIZATIONS.path
        ))
        .await;
    assert_eq!(names(&body)[0], "Echo_1");
    assert_eq!(body["meta"]["per_page"], json!(100));
    let (status, body) = app
        .get(&format!("{}?sort=password", ORGANIZATIONS.path))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], json!("BAD_REQUEST"));
    let (status, _) = app.get(&format!("{}?page=0", PARTNERS.path)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    app.stop().await;
}

async fn a_create_with_an_idempotency_key_happens_once(app: TestApp) {
    let post = |body: Value| {
        send(
            app.request(reqwest::Method::POST, USER_GROUPS.path)
                .header("Idempotency-Key", "group-once")
                .json(&body),
        )
    };
    let (first_status, first) = post(json!({"name": "Gold"})).await;
    assert_eq!(first_status, StatusCode::CREATED, "{first}");
    let (again_status, again) = post(json!({"name": "Gold"})).await;
    assert_eq!(again_status, StatusCode::CREATED, "{again}");
    assert_eq!(again, first);
    let (status, body) = post(json!({"name": "Silver"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], json!("IDEMPOTENCY_CONFLICT"));
    let (_, list) = app.get(USER_GROUPS.path).await;
    assert_eq!(list["meta"]["total"], json!(1));
    app.stop().await;
}

async fn roles_without_the_permission_are_forbidden(app: TestApp) {
    let partner = create_named(&app, PARTNERS, "Resell Co").await;
    let organization = create_named(&app, ORGANIZATIONS, "City Hall").await;
    let technician = app.key(Role::Technician, None, None).await.1;
    for kind in KINDS {
        let (status, body) = as_key(&app, &technician, reqwest::Method::GET, kind.path, None).await;
        assert_forbidden(status, &body);
        let (status, body) = as_key(
            &app,
            &technician,
            reqwest::Method::POST,
            kind.path,
            Some(json!({"name": "Sneaky"})),
        )
        .await;
        assert_forbidden(status, &body);
    }
    let (status, body) = as_key(
        &app,
        &technician,
        reqwest::Method::DELETE,
        &PARTNERS.item(partner),
        None,
    )
    .await;
    assert_forbidden(status, &body);

    // Support reads organizations and user groups but changes none, and sees no partners.
    let support = app.key(Role::Support, None, None).await.1;
    let (status, body) = as_key(
        &app,
        &support,
        reqwest::Method::GET,
        &ORGANIZATIONS.item(organization),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = as_key(
        &app,
        &support,
        reqwest::Method::PATCH,
        &ORGANIZATIONS.item(organization),
        Some(json!({"name": "Renamed"})),
    )
    .await;
    assert_forbidden(status, &body);
    let (status, body) = as_key(&app, &support, reqwest::Method::GET, PARTNERS.path, None).await;
    assert_forbidden(status, &body);

    // Read-only reads everything and changes nothing.
    let read_only = app.key(Role::ReadOnly, None, None).await.1;
    for kind in KINDS {
        let (status, body) = as_key(&app, &read_only, reqwest::Method::GET, kind.path, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, body) = as_key(
        &app,
        &read_only,
        reqwest::Method::DELETE,
        &ORGANIZATIONS.item(organization),
        None,
    )
    .await;
    assert_forbidden(status, &body);
    let (status, _) = app.get(&ORGANIZATIONS.item(organization)).await;
    assert_eq!(status, StatusCode::OK, "nothing was deleted");
    app.stop().await;
}

async fn a_reseller_may_not_manage_partners(app: TestApp) {
    let partner = create_named(&app, PARTNERS, "Resell Co").await;
    let reseller = app.key(Role::Reseller, Some(partner), None).await.1;
    for (method, path, body) in [
        (reqwest::Method::GET, PARTNERS.path.to_owned(), None),
        (reqwest::Method::GET, PARTNERS.item(partner), None),
        (
            reqwest::Method::POST,
            PARTNERS.path.to_owned(),
            Some(json!({"name": "Mine too"})),
        ),
        (
            reqwest::Method::PATCH,
            PARTNERS.item(partner),
            Some(json!({"name": "Renamed"})),
        ),
        (reqwest::Method::DELETE, PARTNERS.item(partner), None),
    ] {
        let (status, answer) = as_key(&app, &reseller, method.clone(), &path, body).await;
        assert_forbidden(status, &answer);
    }
    // While the reseller's key acts for the partner, the partner stays.
    let (status, body) = app.delete(&PARTNERS.item(partner)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        body["message"],
        json!("The partner cannot be deleted while 1 API key acts for it; revoke them first.")
    );
    app.stop().await;
}

async fn the_directory_service_answers_over_grpc_with_health_and_field_violations(app: TestApp) {
    let mut health = HealthClient::new(app.grpc_channel().await);
    let status = health
        .check(HealthCheckRequest {
            service: "lastmile.v1.DirectoryService".into(),
        })
        .await
        .expect("health check")
        .into_inner()
        .status();
    assert_eq!(status, ServingStatus::Serving);

    let mut client = DirectoryServiceClient::new(app.grpc_channel().await);
    let input = PartnerInput {
        name: "Grpc Partner".into(),
        ..Default::default()
    };
    let status = client
        .create_partner(CreatePartnerRequest {
            partner: Some(input.clone()),
            validate_only: false,
        })
        .await
        .expect_err("no credential");
    assert_eq!(status.code(), Code::Unauthenticated);

    let checked = client
        .create_partner(with_key(
            CreatePartnerRequest {
                partner: Some(input.clone()),
                validate_only: true,
            },
            &app.admin_key,
        ))
        .await
        .expect("a valid partner")
        .into_inner();
    assert_eq!(checked.partner, None, "validate_only writes nothing");
    let listed = client
        .list_partners(with_key(ListPartnersRequest::default(), &app.admin_key))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.meta.unwrap().total, 0);
    let created = client
        .create_partner(with_key(
            CreatePartnerRequest {
                partner: Some(input),
                validate_only: false,
            },
            &app.admin_key,
        ))
        .await
        .expect("create")
        .into_inner()
        .partner
        .expect("the partner");
    assert_eq!(created.name, "Grpc Partner");

    let organization = create_named(&app, ORGANIZATIONS, "Grpc Org").await;
    let status = client
        .update_organization(with_key(
            UpdateOrganizationRequest {
                id: organization,
                changes: Some(OrganizationInput {
                    name: "X".into(),
                    description: None,
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["name".into(), "contact_email".into()],
                }),
                validate_only: false,
            },
            &app.admin_key,
        ))
        .await
        .expect_err("an unknown mask path");
    assert_eq!(status.code(), Code::InvalidArgument);
    let violations: Vec<(String, String)> = status
        .get_error_details()
        .bad_request()
        .expect("field violations")
        .field_violations
        .iter()
        .map(|v| (v.field.clone(), v.description.clone()))
        .collect();
    assert_eq!(
        violations,
        [(
            "update_mask".to_owned(),
            "The field \"contact_email\" cannot be updated.".to_owned()
        )]
    );
    app.stop().await;
}

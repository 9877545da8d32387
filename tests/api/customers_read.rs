//! `GET /api/v1/customers/{id}` and `GET /api/v1/customers`: lookups by id and portal id,
//! the 404 envelope, pagination, search, filters and sorting.

use lastmile_core::db::Db;
use lastmile_tests::{StatusCode, TestApp, customer_body, engine_tests, json};
use serde_json::Value;

engine_tests!(
    a_customer_can_be_read_by_id_and_by_portal_id,
    an_unknown_customer_is_not_found,
    a_deleted_customer_is_not_found_and_not_listed,
    an_empty_list_has_one_last_page,
    the_list_is_paginated,
    a_page_beyond_the_end_is_empty_with_the_right_total,
    per_page_above_100_is_capped_at_100,
    bad_page_and_per_page_values_are_a_400,
    searching_by_first_name_ignores_case,
    searching_by_email_phone_and_portal_id_finds_the_customer,
    percent_and_underscore_in_a_search_are_literal,
    the_list_can_be_filtered_by_status,
    the_list_can_be_filtered_by_partner,
    the_list_can_be_sorted,
    an_invalid_sort_is_a_400,
);

const CUSTOMERS: &str = "/api/v1/customers";

/// Asserts the 404 envelope of a customer that cannot be found.
fn assert_not_found(status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["success"], json!(false), "{body}");
    assert_eq!(body["code"], json!("NOT_FOUND"), "{body}");
    assert_eq!(body["message"], json!("Customer not found"), "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    assert!(body.get("data").is_none(), "{body}");
}

/// Asserts a 400 for a bad query parameter.
fn assert_bad_request(status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["success"], json!(false), "{body}");
    assert_eq!(body["code"], json!("BAD_REQUEST"), "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(body.get("errors").is_none(), "{body}");
    assert!(body.get("data").is_none(), "{body}");
}

/// GET a list; asserts 200 and the list envelope; returns the customers and `meta`.
async fn list(app: &TestApp, query: &str) -> (Vec<Value>, Value) {
    let (status, body) = app.get(&format!("{CUSTOMERS}{query}")).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    assert_eq!(body["success"], json!(true), "{body}");
    assert_eq!(body["message"], json!("OK"), "{body}");
    let customers = body["data"]["customers"]
        .as_array()
        .unwrap_or_else(|| panic!("no data.customers: {body}"))
        .clone();
    (customers, body["meta"].clone())
}

/// The first names of a page, in order.
fn first_names(customers: &[Value]) -> Vec<String> {
    customers
        .iter()
        .map(|c| c["first_name"].as_str().unwrap().to_owned())
        .collect()
}

/// Creates a customer from a full body; returns `data.customer`.
async fn create(app: &TestApp, body: &Value) -> Value {
    let (status, answer) = app.post(CUSTOMERS, body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    answer["data"]["customer"].clone()
}

/// Inserts a partner (no API yet); returns its id.
async fn insert_partner(app: &TestApp, name: &str) -> i64 {
    let db = Db::connect(&app.database.url)
        .await
        .expect("connect to the test database");
    let now = chrono::Utc::now();
    let id: i64 = lastmile_core::on_db!(&db, pool => sqlx::query_scalar(
        "INSERT INTO partners (name, created_at, updated_at) VALUES ($1, $2, $2) RETURNING id")
        .bind(name)
        .bind(now)
        .fetch_one(pool)
        .await)
    .expect("insert a partner");
    db.close().await;
    id
}

async fn a_customer_can_be_read_by_id_and_by_portal_id(app: TestApp) {
    let created = app.create_customer("Amina", "+254712345678").await;
    app.create_customer("Baraka", "+254712345679").await;
    let id = created["id"].as_i64().unwrap();
    let portal_id = created["portal_id"].as_str().unwrap().to_owned();
    for reference in [id.to_string(), portal_id] {
        let (status, body) = app.get(&format!("{CUSTOMERS}/{reference}")).await;
        assert_eq!(status, StatusCode::OK, "{reference}: {body}");
        assert_eq!(body["success"], json!(true), "{body}");
        assert_eq!(
            body["message"],
            json!("Customer retrieved successfully"),
            "{body}"
        );
        assert_eq!(body["data"]["customer"], created, "{reference}");
    }
    app.stop().await;
}

async fn an_unknown_customer_is_not_found(app: TestApp) {
    let created = app.create_customer("Amina", "+254712345678").await;
    let id = created["id"].as_i64().unwrap();
    let unknown_portal = if created["portal_id"] == json!("99999999") {
        "99999998"
    } else {
        "99999999"
    };
    for reference in [
        (id + 1000).to_string(),
        unknown_portal.to_owned(),
        "0".to_owned(),
        "abc".to_owned(),
        "12a".to_owned(),
        "-1".to_owned(),
        "99999999999999999999".to_owned(),
    ] {
        let (status, body) = app.get(&format!("{CUSTOMERS}/{reference}")).await;
        assert_not_found(status, &body);
    }
    app.stop().await;
}

async fn a_deleted_customer_is_not_found_and_not_listed(app: TestApp) {
    let gone = app.create_customer("Amina", "+254712345678").await;
    let kept = app.create_customer("Baraka", "+254712345679").await;
    let id = gone["id"].as_i64().unwrap();
    let (status, body) = app.delete(&format!("{CUSTOMERS}/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    for reference in [
        id.to_string(),
        gone["portal_id"].as_str().unwrap().to_owned(),
    ] {
        let (status, body) = app.get(&format!("{CUSTOMERS}/{reference}")).await;
        assert_not_found(status, &body);
    }
    let (customers, meta) = list(&app, "").await;
    assert_eq!(meta["total"], json!(1), "{meta}");
    assert_eq!(customers.len(), 1);
    assert_eq!(customers[0]["id"], kept["id"]);
    let (customers, meta) = list(&app, "?search=Amina").await;
    assert!(customers.is_empty(), "{customers:?}");
    assert_eq!(meta["total"], json!(0), "{meta}");
    app.stop().await;
}

async fn an_empty_list_has_one_last_page(app: TestApp) {
    let (customers, meta) = list(&app, "").await;
    assert!(customers.is_empty());
    assert_eq!(
        meta,
        json!({"current_page": 1, "per_page": 25, "total": 0, "last_page": 1})
    );
    app.stop().await;
}

async fn the_list_is_paginated(app: TestApp) {
    let mut ids = Vec::new();
    for i in 0..5 {
        let customer = app
            .create_customer(&format!("Client{i}"), &format!("+2547120000{i:02}"))
            .await;
        ids.push(customer["id"].as_i64().unwrap());
    }
    let (all, meta) = list(&app, "").await;
    assert_eq!(
        meta,
        json!({"current_page": 1, "per_page": 25, "total": 5, "last_page": 1})
    );
    assert_eq!(all.len(), 5);

    let mut seen = Vec::new();
    for (page, size) in [(1, 2), (2, 2), (3, 1)] {
        let (customers, meta) = list(&app, &format!("?page={page}&per_page=2")).await;
        assert_eq!(
            meta,
            json!({"current_page": page, "per_page": 2, "total": 5, "last_page": 3}),
            "page {page}"
        );
        assert_eq!(customers.len(), size, "page {page}");
        seen.extend(customers.iter().map(|c| c["id"].as_i64().unwrap()));
    }
    // The pages follow the order of the whole list, without gaps or repeats.
    let order: Vec<i64> = all.iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!(seen, order);
    seen.sort_unstable();
    assert_eq!(seen, ids);
    app.stop().await;
}

async fn a_page_beyond_the_end_is_empty_with_the_right_total(app: TestApp) {
    for i in 0..3 {
        app.create_customer(&format!("Client{i}"), &format!("+2547120000{i:02}"))
            .await;
    }
    let (customers, meta) = list(&app, "?page=4&per_page=2").await;
    assert!(customers.is_empty(), "{customers:?}");
    assert_eq!(
        meta,
        json!({"current_page": 4, "per_page": 2, "total": 3, "last_page": 2})
    );
    let (customers, meta) = list(&app, "?page=2").await;
    assert!(customers.is_empty(), "{customers:?}");
    assert_eq!(
        meta,
        json!({"current_page": 2, "per_page": 25, "total": 3, "last_page": 1})
    );
    app.stop().await;
}

async fn per_page_above_100_is_capped_at_100(app: TestApp) {
    for i in 0..3 {
        app.create_customer(&format!("Client{i}"), &format!("+2547120000{i:02}"))
            .await;
    }
    for per_page in ["500", "101", "100"] {
        let (customers, meta) = list(&app, &format!("?per_page={per_page}")).await;
        assert_eq!(customers.len(), 3);
        assert_eq!(
            meta,
            json!({"current_page": 1, "per_page": 100, "total": 3, "last_page": 1}),
            "per_page={per_page}"
        );
    }
    app.stop().await;
}

async fn bad_page_and_per_page_values_are_a_400(app: TestApp) {
    app.create_customer("Amina", "+254712345678").await;
    for parameter in ["page", "per_page"] {
        for bad in ["abc", "0", "-1", "1.5"] {
            let (status, body) = app.get(&format!("{CUSTOMERS}?{parameter}={bad}")).await;
            assert_bad_request(status, &body);
            assert_eq!(
                body["error"],
                json!(format!(
                    "The {parameter} parameter must be a positive integer."
                )),
                "{parameter}={bad}: {body}"
            );
        }
    }
    app.stop().await;
}

async fn searching_by_first_name_ignores_case(app: TestApp) {
    let amina = app.create_customer("Amina", "+254712000001").await;
    app.create_customer("Baraka", "+254712000002").await;
    app.create_customer("Chege", "+254712000003").await;
    for search in ["amina", "AMINA", "mIn"] {
        let (customers, meta) = list(&app, &format!("?search={search}")).await;
        assert_eq!(meta["total"], json!(1), "{search}: {meta}");
        assert_eq!(customers.len(), 1, "{search}");
        assert_eq!(customers[0]["id"], amina["id"], "{search}");
    }
    let (customers, meta) = list(&app, "?search=Zawadi").await;
    assert!(customers.is_empty());
    assert_eq!(
        meta,
        json!({"current_page": 1, "per_page": 25, "total": 0, "last_page": 1})
    );
    app.stop().await;
}

async fn searching_by_email_phone_and_portal_id_finds_the_customer(app: TestApp) {
    let mut body = customer_body("Amina", "+254712000001");
    body["email"] = json!("mail.one@provider.test");
    let by_email = create(&app, &body).await;
    let by_phone = app.create_customer("Baraka", "+254733111222").await;
    let by_portal = app.create_customer("Chege", "+254712000003").await;
    let portal_id = by_portal["portal_id"].as_str().unwrap().to_owned();
    let cases = [
        ("mail.one", &by_email),
        ("MAIL.ONE@PROVIDER", &by_email),
        ("733111", &by_phone),
        ("733%20111-222", &by_phone),
        (portal_id.as_str(), &by_portal),
    ];
    for (search, expected) in cases {
        let (customers, _) = list(&app, &format!("?search={search}")).await;
        let ids: Vec<&Value> = customers.iter().map(|c| &c["id"]).collect();
        assert_eq!(ids, [&expected["id"]], "search={search}");
    }
    app.stop().await;
}

async fn percent_and_underscore_in_a_search_are_literal(app: TestApp) {
    let percent = app.create_customer("Fibre100%Plan", "+254712000001").await;
    app.create_customer("Fibre100xPlan", "+254712000002").await;
    let underscore = app.create_customer("Ann_Lee", "+254712000003").await;
    app.create_customer("AnnxLee", "+254712000004").await;
    let cases = [
        ("100%25p", &percent),
        ("%25", &percent),
        ("ann_lee", &underscore),
        ("_", &underscore),
    ];
    for (search, expected) in cases {
        let (customers, meta) = list(&app, &format!("?search={search}")).await;
        assert_eq!(meta["total"], json!(1), "search={search}: {customers:?}");
        assert_eq!(customers[0]["id"], expected["id"], "search={search}");
    }
    app.stop().await;
}

async fn the_list_can_be_filtered_by_status(app: TestApp) {
    let amina = app.create_customer("Amina", "+254712000001").await;
    let baraka = app.create_customer("Baraka", "+254712000002").await;
    let chege = app.create_customer("Chege", "+254712000003").await;
    let id = baraka["id"].as_i64().unwrap();
    let (status, body) = app
        .post(
            &format!("{CUSTOMERS}/{id}/action"),
            &json!({"action": "suspend"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (customers, meta) = list(&app, "?status=suspended").await;
    assert_eq!(meta["total"], json!(1), "{meta}");
    assert_eq!(customers[0]["id"], baraka["id"]);
    assert_eq!(customers[0]["status"], json!("suspended"));

    let (customers, meta) = list(&app, "?status=active&sort=id").await;
    assert_eq!(meta["total"], json!(2), "{meta}");
    let ids: Vec<&Value> = customers.iter().map(|c| &c["id"]).collect();
    assert_eq!(ids, [&amina["id"], &chege["id"]]);

    let (customers, meta) = list(&app, "?status=terminated").await;
    assert!(customers.is_empty());
    assert_eq!(meta["total"], json!(0));

    let (status, body) = app.get(&format!("{CUSTOMERS}?status=deleted")).await;
    assert_bad_request(status, &body);
    app.stop().await;
}

async fn the_list_can_be_filtered_by_partner(app: TestApp) {
    let first = insert_partner(&app, "Fibre Resellers").await;
    let second = insert_partner(&app, "Metro Wireless").await;
    let mut ours = Vec::new();
    for (i, partner) in [Some(first), Some(second), Some(first), None]
        .into_iter()
        .enumerate()
    {
        let mut body = customer_body(&format!("Client{i}"), &format!("+2547120000{i:02}"));
        if let Some(partner) = partner {
            body["partner_id"] = json!(partner);
        }
        let customer = create(&app, &body).await;
        if partner == Some(first) {
            ours.push(customer["id"].clone());
        }
    }
    let (customers, meta) = list(&app, &format!("?partner_id={first}&sort=id")).await;
    assert_eq!(meta["total"], json!(2), "{meta}");
    let ids: Vec<Value> = customers.iter().map(|c| c["id"].clone()).collect();
    assert_eq!(ids, ours);
    assert!(customers.iter().all(|c| c["partner_id"] == json!(first)));

    let (customers, meta) = list(&app, &format!("?partner_id={second}")).await;
    assert_eq!(meta["total"], json!(1), "{meta}");
    assert_eq!(customers[0]["partner_id"], json!(second));

    let (customers, meta) = list(&app, &format!("?partner_id={}", second + 100)).await;
    assert!(customers.is_empty());
    assert_eq!(meta["total"], json!(0));

    let (status, body) = app.get(&format!("{CUSTOMERS}?partner_id=abc")).await;
    assert_bad_request(status, &body);
    app.stop().await;
}

async fn the_list_can_be_sorted(app: TestApp) {
    for (name, phone) in [
        ("Bob", "+254712000001"),
        ("Charlie", "+254712000002"),
        ("Alice", "+254712000003"),
    ] {
        app.create_customer(name, phone).await;
    }
    let cases = [
        ("?sort=first_name", ["Alice", "Bob", "Charlie"]),
        ("?sort=-first_name", ["Charlie", "Bob", "Alice"]),
        ("?sort=created_at", ["Bob", "Charlie", "Alice"]),
        ("?sort=-created_at", ["Alice", "Charlie", "Bob"]),
        // Newest first when no order is asked for.
        ("", ["Alice", "Charlie", "Bob"]),
    ];
    for (query, expected) in cases {
        let (customers, meta) = list(&app, query).await;
        assert_eq!(meta["total"], json!(3));
        assert_eq!(first_names(&customers), expected, "{query}");
    }
    // Sorting applies across pages, not within one.
    let (customers, _) = list(&app, "?sort=first_name&per_page=2&page=2").await;
    assert_eq!(first_names(&customers), ["Charlie"]);
    app.stop().await;
}

async fn an_invalid_sort_is_a_400(app: TestApp) {
    app.create_customer("Amina", "+254712345678").await;
    for bad in [
        "password",
        "portal_password_hash",
        "first_name;DROP",
        "--first_name",
        "status",
    ] {
        let (status, body) = app.get(&format!("{CUSTOMERS}?sort={bad}")).await;
        assert_bad_request(status, &body);
        let detail = body["error"].as_str().unwrap_or_default();
        assert!(detail.contains("sort"), "sort={bad}: {body}");
    }
    // The customer is still there: nothing was run.
    let (_, meta) = list(&app, "").await;
    assert_eq!(meta["total"], json!(1));
    app.stop().await;
}

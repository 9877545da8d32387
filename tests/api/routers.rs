//! `/api/v1/routers` (and `/api/v1/servers`): routers (NAS) with a write-only RADIUS
//! secret, each mirrored into FreeRADIUS's `nas` table in the same transaction; the field
//! rules; deletion refused while IP pools or live services use the router.

use lastmile_core::network::{RouterSecret, all_routers_with_secrets, router_by_ip, router_secret};
use lastmile_core::on_db;
use lastmile_proto::struct_to_json;
use lastmile_proto::v1::ListEventsRequest;
use lastmile_proto::v1::RouterKind;
use lastmile_proto::v1::event_service_client::EventServiceClient;
use lastmile_tests::{StatusCode, TestApp, engine_tests, json, with_key};
use serde_json::Value;

mod support;

pub(crate) use support::{
    SECRET, assert_refused, create_router, execute, insert_service, router_body,
};

engine_tests!(
    a_router_can_be_created_read_listed_changed_and_deleted,
    the_secret_never_appears_in_answers_events_or_the_audit_log,
    the_nas_row_follows_the_router,
    every_broken_field_rule_is_reported_on_its_field,
    a_taken_name_or_address_is_reported_on_the_field,
    deleting_a_router_in_use_reports_the_count,
    the_servers_path_serves_the_same_routers,
    other_domains_read_routers_with_their_secrets,
);

/// The `nas` row of router `id`: nasname, shortname, type, secret, description.
async fn nas_row(
    app: &TestApp,
    id: i64,
) -> Option<(String, String, String, String, Option<String>)> {
    let sql = "SELECT nasname, shortname, type, secret, description FROM nas WHERE id = $1";
    on_db!(&app.core().db, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await)
        .expect("read nas")
}

async fn a_router_can_be_created_read_listed_changed_and_deleted(app: TestApp) {
    let body = json!({"name": " Core-1 ", "ip_address": "10.0.0.1", "kind": "mikrotik",
                      "secret": SECRET, "location": "Westlands POP"});
    let (status, answer) = app.post("/api/v1/routers", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["message"], json!("Router created successfully"));
    let created = answer["data"]["router"].clone();
    let id = created["id"].as_i64().unwrap();
    let at = created["created_at"].clone();
    assert!(at.as_str().unwrap().ends_with('Z'), "{created}");
    assert_eq!(
        created,
        json!({"id": id, "name": "Core-1", "ip_address": "10.0.0.1", "kind": "mikrotik",
               "secret_set": true, "coa_port": 3799, "location": "Westlands POP",
               "created_at": at, "updated_at": at,
               "links": {"self": app.url(&format!("/api/v1/routers/{id}"))}})
    );

    let (status, answer) = app.get(&format!("/api/v1/routers/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["message"], json!("Router retrieved successfully"));
    assert_eq!(answer["data"]["router"], created);
    let second = create_router(&app, "Access-2", "10.0.0.2").await;
    let (_, list) = app.get("/api/v1/routers?search=core").await;
    assert_eq!(list["data"]["routers"], json!([created]));
    assert_eq!(
        list["meta"],
        json!({"current_page": 1, "per_page": 25, "total": 1, "last_page": 1})
    );
    let (_, list) = app.get("/api/v1/routers").await;
    assert_eq!(list["data"]["routers"], json!([second, created]), "by name");

    app.clock.advance(chrono::Duration::seconds(5));
    let (status, answer) = app
        .patch(
            &format!("/api/v1/routers/{id}"),
            &json!({"kind": "cisco", "coa_port": 1700, "location": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let updated = &answer["data"]["router"];
    assert_eq!(updated["kind"], json!("cisco"));
    assert_eq!(updated["coa_port"], json!(1700));
    assert_eq!(updated["location"], Value::Null);
    assert_eq!(updated["name"], json!("Core-1"));
    assert_eq!(updated["created_at"], at);
    assert_ne!(updated["updated_at"], at);

    let (status, answer) = app.delete(&format!("/api/v1/routers/{id}")).await;
    assert_eq!((status, answer), (StatusCode::NO_CONTENT, Value::Null));
    let (status, answer) = app.get(&format!("/api/v1/routers/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert_eq!(answer["message"], json!("Router not found"));
    app.stop().await;
}

async fn the_secret_never_appears_in_answers_events_or_the_audit_log(app: TestApp) {
    let rotated = "N3w/Secret#2025";
    let mut shown = Vec::new();
    let (_, created) = app
        .post("/api/v1/routers", &router_body("Core-1", "10.0.0.1"))
        .await;
    let id = created["data"]["router"]["id"].as_i64().unwrap();
    let item = format!("/api/v1/routers/{id}");
    shown.push(created);
    shown.push(app.get(&item).await.1);
    shown.push(app.get("/api/v1/routers").await.1);
    let (status, updated) = app.patch(&item, &json!({"secret": rotated})).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["data"]["router"]["secret_set"], json!(true));
    shown.push(updated);
    let (status, audit) = app.get("/api/v1/audit-log?resource_type=router").await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    let entries = audit["data"]["audit_entries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(entries.len(), 2, "{audit}");
    shown.push(audit.clone());

    let mut events = EventServiceClient::new(app.grpc_channel().await);
    let request = ListEventsRequest {
        after_cursor: 0,
        types: vec!["router.*".into()],
        limit: 100,
    };
    let page = events
        .list_events(with_key(request, &app.admin_key))
        .await
        .expect("ListEvents")
        .into_inner();
    let types: Vec<&str> = page.events.iter().map(|e| e.r#type.as_str()).collect();
    assert_eq!(types, ["router.created", "router.updated"]);
    for event in &page.events {
        let data = Value::Object(struct_to_json(event.data.clone().unwrap()));
        assert_eq!(data["secret_set"], json!(true), "{data}");
        shown.push(data);
    }
    for answer in &shown {
        let text = answer.to_string();
        assert!(!text.contains(SECRET) && !text.contains(rotated), "{text}");
        assert!(!text.contains("\"secret\":\"Z"), "{text}");
    }
    // The secret went where FreeRADIUS reads it, and only there.
    let (.., secret, _) = nas_row(&app, id).await.expect("nas row");
    assert_eq!(secret, rotated);
    app.stop().await;
}

async fn the_nas_row_follows_the_router(app: TestApp) {
    let created = create_router(&app, "Core-1", "10.0.0.1").await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        nas_row(&app, id).await,
        Some((
            "10.0.0.1".into(),
            "Core-1".into(),
            "mikrotik".into(),
            SECRET.into(),
            None
        ))
    );
    let changes = json!({"name": "Core-West", "ip_address": "10.0.9.1", "kind": "ubiquiti",
                         "secret": "another-S3cret", "location": "Rooftop"});
    let (status, body) = app.put(&format!("/api/v1/routers/{id}"), &changes).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        nas_row(&app, id).await,
        Some((
            "10.0.9.1".into(),
            "Core-West".into(),
            "ubiquiti".into(),
            "another-S3cret".into(),
            Some("Rooftop".into())
        ))
    );
    // A refused change leaves both rows as they were.
    let (status, _) = app
        .patch(
            &format!("/api/v1/routers/{id}"),
            &json!({"name": "Core-X", "coa_port": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(nas_row(&app, id).await.unwrap().1, "Core-West");
    let (status, _) = app.delete(&format!("/api/v1/routers/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(nas_row(&app, id).await, None);
    app.stop().await;
}

async fn every_broken_field_rule_is_reported_on_its_field(app: TestApp) {
    let (status, body) = app.post("/api/v1/routers", &json!({})).await;
    assert_refused(
        status,
        &body,
        json!({"name": ["The name field is required."],
               "ip_address": ["The ip address field is required."],
               "kind": ["The kind field is required."],
               "secret": ["The secret field is required."]}),
    );
    let bad = json!({"name": "X", "ip_address": "10.0.0.256", "kind": "juniper",
                     "secret": "short", "coa_port": 0, "location": "x".repeat(256)});
    let (status, body) = app.post("/api/v1/routers", &bad).await;
    assert_refused(
        status,
        &body,
        json!({"name": ["The name must be at least 2 characters."],
               "ip_address": ["The ip address must be a valid IPv4 address."],
               "kind": ["The selected kind is invalid."],
               "secret": ["The secret must be between 8 and 128 characters."],
               "coa_port": ["The coa port must be between 1 and 65535."],
               "location": ["The location may not be greater than 255 characters."]}),
    );
    let spaced = json!({"name": "Core-1", "ip_address": "10.0.0.01", "kind": "other",
                        "secret": "has a space", "coa_port": 65536});
    let (status, body) = app.post("/api/v1/routers", &spaced).await;
    assert_refused(
        status,
        &body,
        json!({"ip_address": ["The ip address must be a valid IPv4 address."],
               "secret": ["The secret may only contain printable ASCII characters other than spaces and quotes."],
               "coa_port": ["The coa port must be between 1 and 65535."]}),
    );
    let (status, body) = app
        .post("/api/v1/routers", &json!({"name": 7, "coa_port": "3799"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["errors"]["name"],
        json!(["The name must be a string."])
    );
    let (_, list) = app.get("/api/v1/routers").await;
    assert_eq!(
        list["meta"]["total"],
        json!(0),
        "nothing was written: {list}"
    );
    app.stop().await;
}

async fn a_taken_name_or_address_is_reported_on_the_field(app: TestApp) {
    let first = create_router(&app, "Core-1", "10.0.0.1").await;
    let (status, body) = app
        .post("/api/v1/routers", &router_body("core-1", "10.0.0.1"))
        .await;
    assert_refused(
        status,
        &body,
        json!({"name": ["The name has already been taken."],
               "ip_address": ["A router with this IP address already exists."]}),
    );
    let second = create_router(&app, "Core-2", "10.0.0.2").await;
    let path = format!("/api/v1/routers/{}", second["id"]);
    let (status, body) = app.patch(&path, &json!({"ip_address": "10.0.0.1"})).await;
    assert_refused(
        status,
        &body,
        json!({"ip_address": ["A router with this IP address already exists."]}),
    );
    // Its own name and address are not taken from itself.
    let own = json!({"name": "Core-1", "ip_address": "10.0.0.1"});
    let (status, body) = app
        .patch(&format!("/api/v1/routers/{}", first["id"]), &own)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.stop().await;
}

async fn deleting_a_router_in_use_reports_the_count(app: TestApp) {
    let router = create_router(&app, "Core-1", "10.0.0.1").await;
    let id = router["id"].as_i64().unwrap();
    let path = format!("/api/v1/routers/{id}");
    let mut pools = Vec::new();
    for (n, cidr) in ["10.1.0.0/24", "10.2.0.0/24"].into_iter().enumerate() {
        let body = json!({"name": format!("Pool {n}"), "cidr": cidr, "kind": "static",
                          "router_id": id});
        let (status, created) = app.post("/api/v1/ip-pools", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        pools.push(created["data"]["ip_pool"]["id"].as_i64().unwrap());
    }
    let live = insert_service(&app, 1, "router_id", id, "active").await;
    let ended = insert_service(&app, 2, "router_id", id, "terminated").await;
    let (status, body) = app.delete(&path).await;
    assert_refused(
        status,
        &body,
        json!({"router": ["The router is used by 2 IP pools and 1 service."]}),
    );
    for pool in pools {
        let (status, _) = app.delete(&format!("/api/v1/ip-pools/{pool}")).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let (status, body) = app.delete(&path).await;
    assert_refused(
        status,
        &body,
        json!({"router": ["The router is used by 1 service."]}),
    );
    execute(
        &app,
        "UPDATE services SET status = 'terminated' WHERE id = $1",
        live,
    )
    .await;
    let (status, body) = app.delete(&path).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // Terminated services keep their history without the reference.
    let left: Option<i64> = on_db!(&app.core().db, pool => sqlx::query_scalar(
        "SELECT router_id FROM services WHERE id = $1").bind(ended).fetch_one(pool).await)
    .unwrap();
    assert_eq!(left, None);
    app.stop().await;
}

async fn the_servers_path_serves_the_same_routers(app: TestApp) {
    let (status, body) = app
        .post("/api/v1/servers", &router_body("Core-1", "10.0.0.1"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let created = body["data"]["router"].clone();
    let id = created["id"].as_i64().unwrap();
    let (_, body) = app.get(&format!("/api/v1/routers/{id}")).await;
    assert_eq!(body["data"]["router"], created);
    let (_, body) = app.get("/api/v1/servers").await;
    assert_eq!(body["data"]["routers"], json!([created]));
    let (status, body) = app
        .patch(&format!("/api/v1/servers/{id}"), &json!({"name": "Core-9"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, discovery) = app.get("/api/v1").await;
    assert_eq!(
        discovery["data"]["links"]["servers"],
        json!(app.url("/api/v1/servers"))
    );
    let (status, _) = app.delete(&format!("/api/v1/servers/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get(&format!("/api/v1/routers/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

async fn other_domains_read_routers_with_their_secrets(app: TestApp) {
    let first = create_router(&app, "Core-1", "10.0.0.1").await["id"]
        .as_i64()
        .unwrap();
    let body = json!({"name": "Edge-2", "ip_address": "10.0.0.2", "kind": "cisco",
                      "secret": "edge-2-secret", "coa_port": 1700});
    let (status, created) = app.post("/api/v1/routers", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let second = created["data"]["router"]["id"].as_i64().unwrap();
    let expected = [
        RouterSecret {
            id: first,
            name: "Core-1".into(),
            ip: "10.0.0.1".parse().unwrap(),
            kind: RouterKind::Mikrotik,
            secret: SECRET.into(),
            coa_port: 3799,
        },
        RouterSecret {
            id: second,
            name: "Edge-2".into(),
            ip: "10.0.0.2".parse().unwrap(),
            kind: RouterKind::Cisco,
            secret: "edge-2-secret".into(),
            coa_port: 1700,
        },
    ];
    let mut conn = app.core().db.conn();
    assert_eq!(all_routers_with_secrets(&mut conn).await.unwrap(), expected);
    assert_eq!(
        router_secret(&mut conn, second).await.unwrap().as_ref(),
        Some(&expected[1])
    );
    assert_eq!(router_secret(&mut conn, 999).await.unwrap(), None);
    let found = router_by_ip(&mut conn, "10.0.0.1".parse().unwrap()).await;
    assert_eq!(found.unwrap().as_ref(), Some(&expected[0]));
    let nobody = router_by_ip(&mut conn, "10.9.9.9".parse().unwrap()).await;
    assert_eq!(nobody.unwrap(), None);
    app.stop().await;
}

use super::*;
use crate::base_url::BaseUrl;
use crate::resource::fields::{Intent, read};
use crate::resource::{Body, Resource};
use lastmile_proto::v1::{
    IpPool, IpPoolInput, IpPoolKind, IpPoolUsage, Router, RouterInput, RouterKind,
};
use serde_json::{Value, json};

fn body(value: Value) -> serde_json::Map<String, Value> {
    value.as_object().unwrap().clone()
}

fn at() -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: 1_705_314_600,
        nanos: 0,
    })
}

#[test]
fn a_router_body_is_read_with_its_kind_as_a_wire_number() {
    let (changes, errors) = read(
        Routers::FIELDS,
        &body(
            json!({"name": "Core-1", "ip_address": "10.0.0.1", "kind": "mikrotik",
                     "secret": "s3cr3t-Key!", "coa_port": 1700, "location": ""}),
        ),
        Intent::Create,
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        changes.input,
        RouterInput {
            name: "Core-1".into(),
            ip_address: "10.0.0.1".into(),
            kind: RouterKind::Mikrotik as i32,
            secret: "s3cr3t-Key!".into(),
            coa_port: Some(1700),
            location: None,
        }
    );
    let (changes, _) = read(
        Routers::FIELDS,
        &body(json!({"kind": "juniper", "coa_port": 99_999_999_999_i64})),
        Intent::Update,
    );
    assert_eq!(changes.mask, ["kind", "coa_port"]);
    assert_eq!(changes.input.kind, lastmile_proto::UNKNOWN_ENUM_VALUE);
    assert_eq!(changes.input.coa_port, Some(i32::MAX));
}

#[test]
fn a_router_shows_that_a_secret_is_set_never_the_secret() {
    let router = Router {
        id: 3,
        name: "Core-1".into(),
        ip_address: "10.0.0.1".into(),
        kind: RouterKind::Cisco as i32,
        secret_set: true,
        coa_port: 3799,
        location: None,
        created_at: at(),
        updated_at: at(),
    };
    let shown =
        serde_json::to_value(Routers::view(router, &BaseUrl("http://e.test".into()))).unwrap();
    assert_eq!(
        shown,
        json!({"id": 3, "name": "Core-1", "ip_address": "10.0.0.1", "kind": "cisco",
               "secret_set": true, "coa_port": 3799, "location": null,
               "created_at": "2024-01-15T10:30:00.000000Z",
               "updated_at": "2024-01-15T10:30:00.000000Z",
               "links": {"self": "http://e.test/api/v1/routers/3"}})
    );
}

#[test]
fn a_pool_body_clears_with_null_and_reads_its_exclusions() {
    let (changes, errors) = read(
        IpPools::FIELDS,
        &body(
            json!({"name": "Residential", "cidr": "10.0.0.0/24", "gateway": "10.0.0.1",
                     "router_id": 2, "kind": "static", "excluded": ["10.0.0.5"]}),
        ),
        Intent::Create,
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        changes.input,
        IpPoolInput {
            name: "Residential".into(),
            cidr: "10.0.0.0/24".into(),
            gateway: Some("10.0.0.1".into()),
            router_id: Some(2),
            kind: IpPoolKind::Static as i32,
            excluded: vec!["10.0.0.5".into()],
        }
    );
    let (changes, errors) = read(
        IpPools::FIELDS,
        &body(json!({"gateway": null, "router_id": null, "excluded": null})),
        Intent::Update,
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(changes.mask, ["gateway", "router_id", "excluded"]);
    assert_eq!(changes.input.gateway, None);
    let (_, errors) = read(
        IpPools::FIELDS,
        &body(json!({"router_id": 0})),
        Intent::Update,
    );
    assert_eq!(
        errors.get("router_id").unwrap(),
        ["The selected router id is invalid."]
    );
}

#[test]
fn a_static_pool_shows_its_usage_and_a_dynamic_one_none() {
    let pool = IpPool {
        id: 5,
        name: "Residential".into(),
        cidr: "10.0.0.0/30".into(),
        kind: IpPoolKind::Static as i32,
        usage: Some(IpPoolUsage {
            total: 2,
            assigned: 1,
            quarantined: 0,
            free: 1,
            percent: 50.0,
        }),
        created_at: at(),
        updated_at: at(),
        ..IpPool::default()
    };
    let shown = serde_json::to_value(IpPools::view(pool.clone(), &BaseUrl::unlinked())).unwrap();
    assert_eq!(
        shown,
        json!({"id": 5, "name": "Residential", "cidr": "10.0.0.0/30", "gateway": null,
               "router_id": null, "kind": "static", "excluded": [],
               "usage": {"total": 2, "assigned": 1, "quarantined": 0, "free": 1, "percent": 50.0},
               "created_at": "2024-01-15T10:30:00.000000Z",
               "updated_at": "2024-01-15T10:30:00.000000Z"})
    );
    let dynamic = IpPool {
        kind: IpPoolKind::Dynamic as i32,
        usage: None,
        ..pool
    };
    let shown = serde_json::to_value(IpPools::view(dynamic, &BaseUrl::unlinked())).unwrap();
    assert_eq!(shown["usage"], Value::Null);
    assert_eq!(shown["kind"], "dynamic");
}

#[test]
fn the_servers_alias_has_operations_of_its_own_and_a_discovery_link() {
    let doc = serde_json::to_value(crate::openapi::document()).unwrap();
    let servers = &doc["paths"]["/api/v1/servers/{id}"];
    assert_eq!(
        servers["get"]["operationId"],
        "get_router_at_api_v1_servers"
    );
    assert_eq!(
        doc["paths"]["/api/v1/routers/{id}"]["get"]["operationId"],
        "get_router"
    );
    assert_eq!(
        doc["paths"]["/api/v1/servers"]["post"]["operationId"],
        "create_router_at_api_v1_servers"
    );
    let delete = &doc["paths"]["/api/v1/routers/{id}"]["delete"]["responses"];
    assert!(delete["422"].is_object(), "{delete}");
    let links = crate::discovery::collections();
    assert!(links.contains(&("servers", "/api/v1/servers")));
    assert!(links.contains(&("routers", "/api/v1/routers")));
    assert!(links.contains(&("ip_pools", "/api/v1/ip-pools")));
    let secret = &doc["components"]["schemas"]["RouterCreate"]["properties"]["secret"];
    assert_eq!(secret["pattern"], lastmile_proto::RADIUS_SECRET_PATTERN);
    assert!(doc["components"]["schemas"]["RouterJson"]["properties"]["secret"].is_null());
}

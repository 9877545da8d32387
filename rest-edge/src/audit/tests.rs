//! The audit log handler against a stand-in `AuditService`: what reaches the core, and how
//! its answer is rendered.

use crate::{EdgeConfig, router};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use lastmile_proto::v1::audit_service_server::{AuditService, AuditServiceServer};
use lastmile_proto::v1::{
    AuditActor, AuditEntry, ListAuditEntriesRequest, ListAuditEntriesResponse, PageMeta,
    PageRequest,
};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;
use tower::ServiceExt;

type Seen = Arc<Mutex<Vec<(ListAuditEntriesRequest, MetadataMap)>>>;

struct FakeAudit(Seen);

#[tonic::async_trait]
impl AuditService for FakeAudit {
    async fn list_audit_entries(
        &self,
        request: tonic::Request<ListAuditEntriesRequest>,
    ) -> Result<tonic::Response<ListAuditEntriesResponse>, tonic::Status> {
        let metadata = request.metadata().clone();
        self.0
            .lock()
            .unwrap()
            .push((request.into_inner(), metadata));
        Ok(tonic::Response::new(ListAuditEntriesResponse {
            audit_entries: vec![AuditEntry {
                id: 7,
                occurred_at: Some(prost_types::Timestamp {
                    seconds: 1_705_314_600,
                    nanos: 0,
                }),
                actor: Some(AuditActor {
                    user_id: None,
                    api_key_id: Some(1),
                    role: "admin".into(),
                }),
                action: "customer.deleted".into(),
                resource_type: "customer".into(),
                resource_id: "3".into(),
                before: Some(lastmile_proto::json_to_struct(
                    json!({"first_name": "Ada"}).as_object().unwrap().clone(),
                )),
                after: None,
                reason: None,
                request_id: "r-1".into(),
                client_address: "192.0.2.1".into(),
            }],
            meta: Some(PageMeta {
                current_page: 2,
                per_page: 10,
                total: 11,
                last_page: 2,
            }),
        }))
    }
}

async fn start_core() -> (Channel, Seen) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let seen = Seen::default();
    let server = tonic::transport::Server::builder()
        .add_service(AuditServiceServer::new(FakeAudit(seen.clone())))
        .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener));
    tokio::spawn(server);
    let channel = Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect_lazy();
    (channel, seen)
}

async fn get(channel: Channel, uri: &str) -> (StatusCode, Value) {
    let request = Request::builder()
        .uri(uri)
        .header("host", "edge.test")
        .header("x-api-key", "k")
        .header("x-request-id", "req-42")
        .header("x-reason", "Quarterly review")
        .header("x-forwarded-for", "203.0.113.9")
        .extension(ConnectInfo(SocketAddr::from(([198, 51, 100, 7], 5000))))
        .body(Body::empty())
        .unwrap();
    let response = router(EdgeConfig { rate_limits: None }, channel)
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn the_query_and_the_caller_reach_the_core_and_the_page_is_rendered() {
    let (channel, seen) = start_core().await;
    let (status, body) = get(
        channel,
        "/api/v1/audit-log?page=2&per_page=10&actor_id=key:1&action=customer.deleted\
         &resource_type=customer&resource_id=3&from=2024-01-15T00:00:00Z",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({
            "success": true,
            "message": "OK",
            "data": {"audit_entries": [{
                "id": 7,
                "occurred_at": "2024-01-15T10:30:00.000000Z",
                "actor": {"user_id": null, "api_key_id": 1, "role": "admin"},
                "action": "customer.deleted",
                "resource_type": "customer",
                "resource_id": "3",
                "before": {"first_name": "Ada"},
                "after": null,
                "reason": null,
                "request_id": "r-1",
                "client_address": "192.0.2.1",
            }]},
            "meta": {"current_page": 2, "per_page": 10, "total": 11, "last_page": 2},
        })
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let (request, metadata) = &seen[0];
    assert_eq!(
        request.page,
        Some(PageRequest {
            page: 2,
            per_page: 10
        })
    );
    assert_eq!(request.actor_id, "key:1");
    assert_eq!(request.action, "customer.deleted");
    assert_eq!(request.resource_type, "customer");
    assert_eq!(request.resource_id, "3");
    assert_eq!(request.from.unwrap().seconds, 1_705_276_800);
    assert_eq!(request.to, None);
    let value = |key: &str| metadata.get(key).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(value("authorization").as_deref(), Some("Bearer k"));
    assert_eq!(value("x-request-id").as_deref(), Some("req-42"));
    assert_eq!(value("x-reason").as_deref(), Some("Quarterly review"));
    assert_eq!(value("x-client-address").as_deref(), Some("198.51.100.7"));
}

#[tokio::test]
async fn a_bad_query_is_a_400_without_asking_the_core() {
    let (channel, seen) = start_core().await;
    let (status, body) = get(channel, "/api/v1/audit-log?from=last-week").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"success": false, "message": "Invalid request", "code": "BAD_REQUEST",
            "error": "The from parameter must be an RFC 3339 time, e.g. 2024-01-15T10:30:00Z."})
    );
    assert!(seen.lock().unwrap().is_empty());
}

#[test]
fn the_document_holds_both_routes_read_only_with_their_schemas() {
    let doc = serde_json::to_value(crate::openapi::document()).unwrap();
    for path in ["/api/v1/roles", "/api/v1/audit-log"] {
        let item = doc["paths"][path].as_object().unwrap();
        assert_eq!(item.keys().collect::<Vec<_>>(), ["get"], "{path}");
    }
    let params: Vec<&str> = doc["paths"]["/api/v1/audit-log"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(params.len(), 8, "{params:?}");
    for name in [
        "page",
        "per_page",
        "actor_id",
        "action",
        "resource_type",
        "resource_id",
        "from",
        "to",
    ] {
        assert!(params.contains(&name), "{name}");
    }
    let entry = &doc["components"]["schemas"]["AuditEntryJson"]["properties"];
    for field in [
        "id",
        "occurred_at",
        "actor",
        "action",
        "resource_type",
        "resource_id",
        "before",
        "after",
        "reason",
        "request_id",
        "client_address",
    ] {
        assert!(entry[field].is_object(), "{field}");
    }
    let role = &doc["components"]["schemas"]["RoleJson"]["properties"];
    assert!(role["permissions"].is_object());
}

#[test]
fn the_whole_document_has_both_routes() {
    let doc = serde_json::to_value(crate::openapi::document()).unwrap();
    assert!(doc["paths"]["/api/v1/roles"]["get"].is_object());
    assert!(doc["paths"]["/api/v1/audit-log"]["get"].is_object());
}

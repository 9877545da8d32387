//! Every list and every item route of the document answers odd paging inputs and odd ids
//! the same way. The core is an address nobody listens on: what the edge judges alone is
//! answered before any call, and what it lets through reaches the (absent) core as a 503.

use crate::{EdgeConfig, router};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tonic::transport::Channel;
use tower::ServiceExt;

async fn get(uri: &str) -> (StatusCode, Value) {
    let core = Channel::from_static("http://127.0.0.1:9").connect_lazy();
    let edge = router(EdgeConfig { rate_limits: None }, core);
    let request = Request::get(uri)
        .header("x-api-key", "k")
        .body(Body::empty())
        .unwrap();
    let response = edge.oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

/// The GET paths ending in `suffix`; with an empty suffix, the lists (those that take
/// `page`), a collection inside an item (`/api/v1/webhooks/{id}/deliveries`) included.
fn document_paths(suffix: &str) -> Vec<String> {
    let doc = serde_json::to_value(crate::openapi::document()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let mut found: Vec<String> = paths
        .iter()
        .filter(|(path, item)| path.ends_with(suffix) && item["get"].is_object())
        .map(|(path, _)| path.clone())
        .collect();
    found.retain(|path| {
        suffix == "{id}"
            || query_parameters(&doc, path)
                .first()
                .is_some_and(|p| p["name"] == "page")
    });
    found
}

/// The query parameters of a GET, in the document's order (after those of the path).
fn query_parameters(doc: &Value, path: &str) -> Vec<Value> {
    let parameters = doc["paths"][path]["get"]["parameters"].as_array();
    let parameters = parameters.into_iter().flatten();
    parameters.filter(|p| p["in"] == "query").cloned().collect()
}

/// A list's path at an item that may exist (the core decides).
fn at_an_item(list: &str) -> String {
    list.replace("{id}", "1")
}

#[tokio::test]
async fn every_list_answers_odd_paging_inputs_alike() {
    let lists = document_paths("");
    assert!(lists.len() >= 7, "{lists:?}");
    assert!(lists.contains(&"/api/v1/webhooks/{id}/deliveries".to_owned()));
    for list in &lists {
        for parameter in ["page", "per_page"] {
            for bad in ["0", "-1", "%2B2", "abc", "99999999999999999999"] {
                let (status, body) = get(&format!("{}?{parameter}={bad}", at_an_item(list))).await;
                assert_eq!(status, StatusCode::BAD_REQUEST, "{list}?{parameter}={bad}");
                assert_eq!(
                    body,
                    json!({"success": false, "message": "Invalid request", "code": "BAD_REQUEST",
                           "error": format!("The {parameter} parameter must be a positive integer.")}),
                    "{list}?{parameter}={bad}"
                );
            }
            for fine in ["", "1", "101", "3000000000"] {
                let (status, _) = get(&format!("{}?{parameter}={fine}", at_an_item(list))).await;
                assert_eq!(
                    status,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "{list}?{parameter}={fine}"
                );
            }
        }
    }
}

#[tokio::test]
async fn every_item_route_takes_only_positive_64_bit_ids() {
    let items = document_paths("{id}");
    assert!(items.len() >= 5, "{items:?}");
    for item in &items {
        for bad in ["0", "-1", "abc", "1.0", "9223372036854775808"] {
            let (status, body) = get(&item.replace("{id}", bad)).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{item} {bad}");
            assert_eq!(body["code"], json!("NOT_FOUND"));
        }
        let (status, _) = get(&item.replace("{id}", "9223372036854775807")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{item}");
    }
}

#[test]
fn the_document_states_the_paging_rules_on_every_list() {
    let doc = serde_json::to_value(crate::openapi::document()).unwrap();
    for list in document_paths("") {
        let parameters = query_parameters(&doc, &list);
        for (i, name) in ["page", "per_page"].into_iter().enumerate() {
            assert_eq!(parameters[i]["name"], json!(name), "{list}");
            let schema = &parameters[i]["schema"]["anyOf"];
            assert_eq!(schema[0]["minimum"], json!(1), "{list}");
            assert_eq!(schema[0]["format"], json!("int64"), "{list}");
            assert_eq!(
                schema[1]["type"],
                json!("string"),
                "{list}: empty is the default"
            );
        }
    }
    let user = &doc["paths"]["/api/v1/users/{id}"];
    for method in ["get", "put", "patch", "delete"] {
        assert!(user[method].is_object(), "{method}");
    }
}

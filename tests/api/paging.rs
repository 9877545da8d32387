//! Every list endpoint of the OpenAPI document answers odd `page` and `per_page` values the
//! same way, as the contract's "Lists" section says:
//!
//! - missing or empty → the default (page 1, per_page 25);
//! - `per_page` above 100 → capped at 100 (3000000000 fits in 64 bits, so it is capped too);
//! - a page past the last → an empty list with correct `meta` (page 3000000000 included);
//! - `0`, negative, non-numeric or beyond a 64-bit integer → 400 naming the parameter.
//!
//! `+2` is a 400 too: the parameters are positive integers written in digits, and a sign is
//! not part of that form (`-1` is refused for its sign as much as for its value, and one
//! rule — digits only — is what every client writes). It is sent as `%2B2`, the encoding of
//! a literal `+` (a bare `+` in a query string means a space).
//!
//! The endpoints come from the document (every GET without a path parameter that declares
//! `page`) and from what the server answers (every such GET whose `data` holds a list), so a
//! new list is walked without editing this file.

use lastmile_tests::{StatusCode, TestApp, engine_tests, json};
use serde_json::Value;

engine_tests!(every_list_answers_odd_paging_inputs_alike);

/// What a list must answer to one input.
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// 200 with this page and per_page in `meta`.
    Page { page: u64, per_page: u64 },
    /// 400 `BAD_REQUEST` whose message names the parameter.
    BadRequest,
}

use Answer::{BadRequest, Page};

const DEFAULT: Answer = Page {
    page: 1,
    per_page: 25,
};

/// The expected answers: parameter, value (`None`: not sent), answer.
const CASES: &[(&str, Option<&str>, Answer)] = &[
    ("page", None, DEFAULT),
    ("page", Some(""), DEFAULT),
    ("page", Some("0"), BadRequest),
    ("page", Some("-1"), BadRequest),
    ("page", Some("+2"), BadRequest),
    (
        "page",
        Some("101"),
        Page {
            page: 101,
            per_page: 25,
        },
    ),
    (
        "page",
        Some("3000000000"),
        Page {
            page: 3_000_000_000,
            per_page: 25,
        },
    ),
    ("page", Some("99999999999999999999"), BadRequest),
    ("page", Some("abc"), BadRequest),
    ("per_page", Some(""), DEFAULT),
    ("per_page", Some("0"), BadRequest),
    ("per_page", Some("-1"), BadRequest),
    ("per_page", Some("+2"), BadRequest),
    (
        "per_page",
        Some("101"),
        Page {
            page: 1,
            per_page: 100,
        },
    ),
    (
        "per_page",
        Some("3000000000"),
        Page {
            page: 1,
            per_page: 100,
        },
    ),
    ("per_page", Some("99999999999999999999"), BadRequest),
    ("per_page", Some("abc"), BadRequest),
];

/// Lists that take no paging, with the reason: a small fixed set, not a growing collection.
const NOT_PAGED: &[(&str, &str)] = &[("/api/v1/roles", "the seven roles, a fixed set")];

/// One entry in each list, so that the lists are not all empty.
async fn seed(app: &TestApp) {
    app.create_customer("Paging", "+254711000555").await;
    for path in [
        "/api/v1/partners",
        "/api/v1/organizations",
        "/api/v1/user-groups",
    ] {
        let (status, body) = app.post(path, &json!({"name": "Paging seed"})).await;
        assert_eq!(status, StatusCode::CREATED, "{path}: {body}");
    }
    let user = json!({"name": "Paging User", "email": "paging@isp.example",
                      "password": "Str0ng!pass", "role": "support"});
    let (status, body) = app.post("/api/v1/users", &user).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// The list in `data` (its only array), if the answer is a list.
fn list_of(body: &Value) -> Option<&Vec<Value>> {
    // The items themselves under data (the clients alias's envelope), or one array in it.
    if let Some(list) = body["data"].as_array() {
        return Some(list);
    }
    let mut arrays = body["data"]
        .as_object()?
        .values()
        .filter_map(Value::as_array);
    let list = arrays.next()?;
    arrays.next().is_none().then_some(list)
}

/// The list endpoints: GETs without a path parameter that declare `page` or answer a list.
async fn list_endpoints(app: &TestApp) -> Vec<String> {
    let (status, doc) = app.get("/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    let mut lists = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let Some(get) = item.get("get") else { continue };
        if path.contains('{') {
            continue;
        }
        let declares_page = get["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["name"] == "page"));
        let (status, body) = app.get(path).await;
        let answers_a_list = status == StatusCode::OK && list_of(&body).is_some();
        let exempt = NOT_PAGED.iter().any(|(p, _)| p == path);
        if exempt {
            assert!(
                !declares_page,
                "{path} is listed as not paged but takes `page`"
            );
        } else if declares_page || answers_a_list {
            assert!(
                declares_page,
                "{path} answers a list but declares no `page`"
            );
            lists.push(path.clone());
        }
    }
    lists
}

/// `body` as text, cut short for a failure message.
fn short(body: &Value) -> String {
    let text = body.to_string();
    match text.char_indices().nth(160) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

/// `value` for a query string, with `+` sent literally.
fn encoded(value: &str) -> String {
    value.replace('+', "%2B")
}

/// Checks one answer; returns what is wrong with it, if anything.
fn check(expected: Answer, parameter: &str, status: StatusCode, body: &Value) -> Option<String> {
    match expected {
        BadRequest => {
            let text = body.to_string();
            // "page" alone must be named, not only as part of "per_page".
            let names = match parameter {
                "page" => text.replace("per_page", "").contains("page"),
                _ => text.contains(parameter),
            };
            let ok = status == StatusCode::BAD_REQUEST && body["code"] == "BAD_REQUEST" && names;
            (!ok).then(|| {
                format!(
                    "want 400 BAD_REQUEST naming {parameter}, got {status} {}",
                    short(body)
                )
            })
        }
        Page { page, per_page } => {
            let meta = &body["meta"];
            let total = meta["total"].as_u64();
            let (Some(list), Some(total)) = (list_of(body), total) else {
                return Some(format!(
                    "want a 200 list with meta.total, got {status} {}",
                    short(body)
                ));
            };
            let last_page = total.div_ceil(per_page).max(1);
            let skipped = (page - 1).saturating_mul(per_page);
            let len = total.saturating_sub(skipped).min(per_page);
            let ok = status == StatusCode::OK
                && meta["current_page"] == json!(page)
                && meta["per_page"] == json!(per_page)
                && meta["last_page"] == json!(last_page)
                && list.len() as u64 == len;
            (!ok).then(|| {
                format!(
                    "want 200 page {page} of {per_page} (last_page {last_page}, {len} items), \
                     got {status} meta {meta} with {} items",
                    list.len()
                )
            })
        }
    }
}

async fn every_list_answers_odd_paging_inputs_alike(app: TestApp) {
    seed(&app).await;
    let lists = list_endpoints(&app).await;
    assert!(
        lists.iter().any(|p| p == "/api/v1/customers"),
        "no list endpoint found in the document: {lists:?}"
    );
    let mut failures = Vec::new();
    for &(parameter, value, expected) in CASES {
        let mut refusals: Vec<(String, Value)> = Vec::new();
        for path in &lists {
            let url = match value {
                Some(value) => format!("{path}?{parameter}={}", encoded(value)),
                None => path.clone(),
            };
            let (status, body) = app.get(&url).await;
            if let Some(wrong) = check(expected, parameter, status, &body) {
                failures.push(format!("GET {url}: {wrong}"));
            } else if status == StatusCode::BAD_REQUEST {
                refusals.push((url, body));
            }
        }
        // And every list refuses with the same words.
        if let Some((first_url, first)) = refusals.first() {
            for (url, body) in &refusals[1..] {
                if body != first {
                    failures.push(format!(
                        "GET {url}: {} differs from {first_url}: {}",
                        short(body),
                        short(first)
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} answers differ from the contract:\n{}",
        failures.len(),
        CASES.len() * lists.len(),
        failures.join("\n")
    );
    app.stop().await;
}

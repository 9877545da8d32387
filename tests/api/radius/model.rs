//! A thousand random life-cycle operations over ten customers and up to fifty services
//! (create, plan change, suspend and unsuspend, customer suspension and activation,
//! static address given or taken, terminate), tracked by a model written here; then one
//! Access-Request per service to a real FreeRADIUS: what it answers must be what the
//! model says, and the drift report must be empty.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use lastmile_tests::radius::{FreeRadius, Login, freeradius_available};
use lastmile_tests::{StatusCode, TestApp, engine_tests, json};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use super::{SECRET, pool};
use crate::services::{customer, plan, service};

engine_tests!(a_thousand_random_operations_leave_the_network_as_the_model_says);

const OPERATIONS: usize = 1000;
const CUSTOMERS: usize = 10;
const SERVICES: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Active,
    Suspended { with_customer: bool },
    Terminated,
}

#[derive(Debug, Clone)]
struct Modelled {
    id: i64,
    customer: usize,
    username: String,
    password: String,
    plan: usize,
    state: State,
    ip: Option<Ipv4Addr>,
}

/// The plans, with the rate each must give (upload first, as MikroTik reads it).
const PLANS: [(f64, f64, &str); 3] = [
    (10.0, 2.0, "2M/10M"),
    (50.5, 5.0, "5M/50500k"),
    (100.0, 20.0, "20M/100M"),
];

fn ip_of(service: &Value) -> Option<Ipv4Addr> {
    service["ip_address"]
        .as_str()
        .map(|ip| ip.parse().expect("an IPv4 address"))
}

async fn post(app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
    app.post(path, &body).await
}

async fn a_thousand_random_operations_leave_the_network_as_the_model_says(app: TestApp) {
    if !freeradius_available() {
        return;
    }
    let seed: u64 = std::env::var("LASTMILE_MODEL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("model seed: {seed} (LASTMILE_MODEL_SEED={seed} repeats this run)");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut plans = Vec::new();
    for (i, (down, up, _)) in PLANS.iter().enumerate() {
        plans.push(plan(&app, &format!("Model plan {i}"), *down, *up).await);
    }
    let pool = pool(&app, "100.64.0.0/22", "100.64.0.1").await;
    let mut customers = Vec::new();
    for i in 0..CUSTOMERS {
        let (id, _) = customer(&app, "Model Customer", &format!("+1555100{i:04}")).await;
        customers.push((id, false)); // (id, suspended)
    }
    let mut services: Vec<Modelled> = Vec::new();
    for step in 0..OPERATIONS {
        let context = format!("step {step} (seed {seed})");
        let live: Vec<usize> = (0..services.len())
            .filter(|&i| services[i].state != State::Terminated)
            .collect();
        let pick = rng.random_range(0..100);
        if services.len() < SERVICES && (pick < 15 || live.is_empty()) {
            let c = rng.random_range(0..CUSTOMERS);
            let p = rng.random_range(0..PLANS.len());
            let password = format!("pw-{}", rng.random_range(100_000..999_999));
            let mut body = json!({"plan_id": plans[p], "password": password});
            if rng.random_bool(0.5) {
                body["ip_pool_id"] = json!(pool);
            }
            let created = service(&app, customers[c].0, body).await;
            let state = if customers[c].1 {
                State::Suspended {
                    with_customer: true,
                }
            } else {
                State::Active
            };
            assert_eq!(
                created["status"],
                json!(if customers[c].1 {
                    "suspended"
                } else {
                    "active"
                }),
                "{context}"
            );
            services.push(Modelled {
                id: created["id"].as_i64().unwrap(),
                customer: c,
                username: created["username"].as_str().unwrap().to_owned(),
                password,
                plan: p,
                state,
                ip: ip_of(&created),
            });
            continue;
        }
        if pick < 25 {
            // A customer's suspension or activation.
            let c = rng.random_range(0..CUSTOMERS);
            let (id, suspended) = customers[c];
            let action = if suspended { "activate" } else { "suspend" };
            let (status, body) = post(
                &app,
                &format!("/api/v1/customers/{id}/action"),
                json!({"action": action}),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{context}: {body}");
            customers[c].1 = !suspended;
            for s in services.iter_mut().filter(|s| s.customer == c) {
                s.state = match (action, s.state) {
                    ("suspend", State::Active) => State::Suspended {
                        with_customer: true,
                    },
                    (
                        "activate",
                        State::Suspended {
                            with_customer: true,
                        },
                    ) => State::Active,
                    (_, state) => state,
                };
            }
            continue;
        }
        let Some(&i) = live.get(rng.random_range(0..live.len().max(1))) else {
            continue;
        };
        let s = services[i].clone();
        let base = format!("/api/v1/services/{}", s.id);
        match pick {
            25..=44 => {
                let p = (s.plan + rng.random_range(1..PLANS.len())) % PLANS.len();
                let (status, body) = post(
                    &app,
                    &format!("{base}/change-plan"),
                    json!({"plan_id": plans[p]}),
                )
                .await;
                assert_eq!(status, StatusCode::OK, "{context}: {body}");
                services[i].plan = p;
            }
            45..=56 => {
                let (status, body) = post(&app, &format!("{base}/suspend"), json!({})).await;
                if s.state == State::Active {
                    assert_eq!(status, StatusCode::OK, "{context}: {body}");
                    services[i].state = State::Suspended {
                        with_customer: false,
                    };
                } else {
                    assert_eq!(status, StatusCode::CONFLICT, "{context}: {body}");
                }
            }
            57..=74 => {
                let (status, body) = post(&app, &format!("{base}/unsuspend"), json!({})).await;
                let customer_suspended = customers[s.customer].1;
                match s.state {
                    State::Suspended { .. } if !customer_suspended => {
                        assert_eq!(status, StatusCode::OK, "{context}: {body}");
                        services[i].state = State::Active;
                    }
                    _ => assert_eq!(status, StatusCode::CONFLICT, "{context}: {body}"),
                }
            }
            75..=97 => {
                let body = if s.ip.is_some() {
                    json!({"ip_pool_id": null, "static_ip": null})
                } else {
                    json!({"ip_pool_id": pool})
                };
                let (status, answer) = app.patch(&base, &body).await;
                assert_eq!(status, StatusCode::OK, "{context}: {answer}");
                services[i].ip = ip_of(&answer["data"]["service"]);
                assert_eq!(
                    services[i].ip.is_some(),
                    s.ip.is_none(),
                    "{context}: {answer}"
                );
            }
            _ => {
                let (status, body) = post(&app, &format!("{base}/terminate"), json!({})).await;
                assert_eq!(status, StatusCode::OK, "{context}: {body}");
                services[i].state = State::Terminated;
                services[i].ip = None;
            }
        }
    }

    let radius = FreeRadius::start(&app, SECRET).await;
    let mut mismatches = BTreeMap::new();
    let mut accepted = 0;
    for s in &services {
        let expected = match s.state {
            State::Active => Login::Accepted {
                rate: Some(PLANS[s.plan].2.to_owned()),
                ip: s.ip,
            },
            _ => Login::Rejected,
        };
        let got = radius.login(&s.username, &s.password).await;
        accepted += usize::from(matches!(got, Login::Accepted { .. }));
        if got != expected {
            mismatches.insert(
                s.username.clone(),
                (format!("{:?}", s.state), expected, got),
            );
        }
    }
    // Both answers must have been exercised, or the comparison proved little.
    assert!(
        accepted > 0 && accepted < services.len(),
        "seed {seed}: {accepted} of {} accepted",
        services.len()
    );
    assert!(
        mismatches.is_empty(),
        "seed {seed}: {} mismatches: {mismatches:#?}",
        mismatches.len()
    );
    eprintln!(
        "model: {} services, {accepted} accepted, 0 mismatches",
        services.len()
    );
    let (_, body) = app.get("/api/v1/provisioning/drift").await;
    assert_eq!(body["meta"]["total"], json!(0), "seed {seed}: {body}");
}

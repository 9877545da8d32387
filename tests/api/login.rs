//! Login and sessions over REST: the token pair, access tokens accepted by the core,
//! refresh rotation with reuse detection, logout, expiry, the uniform refusal, the login
//! attempt limit, deactivation and the audit entries of it all.

use std::time::{Duration, Instant};

use lastmile::Settings;
use lastmile_core::audit::{self, AuditQuery, AuditRow};
use lastmile_tests::{StatusCode, TestApp, engine_tests, json, send};
use reqwest::Method;
use serde_json::Value;

engine_tests!(
    login_returns_a_bearer_token_pair_that_the_api_accepts,
    refresh_rotates_the_pair_and_a_refresh_token_works_once,
    reusing_a_spent_refresh_token_revokes_its_whole_family,
    logout_revokes_the_refresh_token,
    an_unknown_email_and_a_wrong_password_get_the_same_answer,
    the_sixth_login_attempt_within_a_minute_is_429_rate_limited,
    a_deactivated_user_can_no_longer_log_in_nor_use_their_token,
    logins_and_failed_logins_are_audited_without_secrets,
    a_tampered_access_token_is_401,
    a_hash_with_older_parameters_still_logs_in_and_is_replaced_by_one_with_the_current,
);
engine_tests!(with = one_second_tokens; an_expired_access_token_is_401_token_has_expired);

const PASSWORD: &str = "Str0ng!pass";

async fn create_user(app: &TestApp, email: &str, role: &str) -> i64 {
    let body = json!({"name": "Staff Member", "email": email, "password": PASSWORD, "role": role});
    let (status, body) = app.post("/api/v1/users", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["data"]["user"]["id"].as_i64().expect("user id")
}

async fn post_public(app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
    send(app.http.post(app.url(path)).json(&body)).await
}

async fn login(app: &TestApp, email: &str, password: &str) -> (StatusCode, Value) {
    post_public(
        app,
        "/api/v1/auth/login",
        json!({"email": email, "password": password}),
    )
    .await
}

async fn session(app: &TestApp, email: &str) -> Value {
    let (status, body) = login(app, email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].clone()
}

async fn with_token(app: &TestApp, method: Method, path: &str, token: &str) -> (StatusCode, Value) {
    send(app.http.request(method, app.url(path)).bearer_auth(token)).await
}

async fn refresh(app: &TestApp, token: &Value) -> (StatusCode, Value) {
    post_public(app, "/api/v1/auth/refresh", json!({"refresh_token": token})).await
}

async fn audit_entries(app: &TestApp, action: &str) -> Vec<AuditRow> {
    let query = AuditQuery {
        page: 1,
        per_page: 100,
        action: Some(action.to_owned()),
        ..AuditQuery::default()
    };
    audit::list(&mut app.core().db.conn(), &query)
        .await
        .expect("audit log")
        .0
}

async fn login_returns_a_bearer_token_pair_that_the_api_accepts(app: TestApp) {
    create_user(&app, "ana@isp.example", "support").await;
    let (status, body) = login(&app, "ANA@isp.example", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], json!(true));
    let data = &body["data"];
    assert_eq!(data["token_type"], "bearer");
    assert_eq!(data["expires_in"], 900);
    let access = data["access_token"].as_str().unwrap();
    assert_eq!(access.matches('.').count(), 2, "a JWT");
    assert!(data["refresh_token"].as_str().unwrap().len() >= 32);

    let (status, body) = with_token(&app, Method::GET, "/api/v1/customers", access).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The support role may not manage users.
    let (status, body) = with_token(&app, Method::GET, "/api/v1/users", access).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    app.stop().await;
}

async fn refresh_rotates_the_pair_and_a_refresh_token_works_once(app: TestApp) {
    create_user(&app, "ben@isp.example", "billing").await;
    let first = session(&app, "ben@isp.example").await;
    let (status, body) = refresh(&app, &first["refresh_token"]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let second = body["data"].clone();
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_ne!(second["access_token"], first["access_token"]);
    let access = second["access_token"].as_str().unwrap();
    let (status, _) = with_token(&app, Method::GET, "/api/v1/customers", access).await;
    assert_eq!(status, StatusCode::OK);
    // The new refresh token works in turn.
    let (status, body) = refresh(&app, &second["refresh_token"]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.stop().await;
}

async fn reusing_a_spent_refresh_token_revokes_its_whole_family(app: TestApp) {
    create_user(&app, "cy@isp.example", "support").await;
    let first = session(&app, "cy@isp.example").await;
    let (status, body) = refresh(&app, &first["refresh_token"]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let second = body["data"].clone();

    // The spent token again: refused, and the session it belongs to is over.
    let (status, body) = refresh(&app, &first["refresh_token"]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], "UNAUTHENTICATED");
    let (status, body) = refresh(&app, &second["refresh_token"]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(
        audit_entries(&app, "auth.refresh_token_reused").await.len(),
        1
    );
    app.stop().await;
}

async fn logout_revokes_the_refresh_token(app: TestApp) {
    create_user(&app, "di@isp.example", "technician").await;
    let tokens = session(&app, "di@isp.example").await;
    let (status, body) = post_public(
        &app,
        "/api/v1/auth/logout",
        json!({"refresh_token": tokens["refresh_token"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = refresh(&app, &tokens["refresh_token"]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["message"], "Invalid refresh token");
    app.stop().await;
}

async fn an_unknown_email_and_a_wrong_password_get_the_same_answer(app: TestApp) {
    create_user(&app, "ed@isp.example", "support").await;
    let started = Instant::now();
    let (wrong_status, wrong_body) = login(&app, "ed@isp.example", "Wr0ng!pass").await;
    let wrong_time = started.elapsed();
    let started = Instant::now();
    let (unknown_status, unknown_body) = login(&app, "nobody@isp.example", PASSWORD).await;
    let unknown_time = started.elapsed();
    assert_eq!(wrong_status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_body, unknown_body);
    assert_eq!(wrong_body["message"], "Invalid credentials");
    assert_eq!(wrong_body["code"], "UNAUTHENTICATED");
    // Both paths check one argon2 hash: neither is several times faster than the other.
    assert!(
        unknown_time * 4 > wrong_time && wrong_time * 4 > unknown_time,
        "unknown email {unknown_time:?}, wrong password {wrong_time:?}"
    );
    app.stop().await;
}

async fn the_sixth_login_attempt_within_a_minute_is_429_rate_limited(app: TestApp) {
    for _ in 0..5 {
        let (status, _) = login(&app, "fay@isp.example", "Wr0ng!pass").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let attempt = || {
        app.http
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": "fay@isp.example", "password": "Wr0ng!pass"}))
    };
    let response = attempt().send().await.expect("HTTP request");
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .expect("a 429 carries Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let (status, body) = (response.status(), response.json::<Value>().await.unwrap());
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["code"], "RATE_LIMITED");
    // The oldest attempt leaves the minute's window within that minute (and the five
    // password checks took less than most of it).
    assert!((2..=60).contains(&retry_after), "Retry-After {retry_after}");

    // Refused attempts are not counted: two seconds before the wait is over, still
    // refused; once it is over, one more attempt is checked.
    let short = i64::try_from(retry_after).unwrap() - 2;
    app.clock.advance(chrono::Duration::seconds(short));
    let (status, body) = send(attempt()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    app.clock.advance(chrono::Duration::seconds(2));
    let (status, body) = send(attempt()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["message"], "Invalid credentials");
    app.stop().await;
}

async fn a_deactivated_user_can_no_longer_log_in_nor_use_their_token(app: TestApp) {
    let id = create_user(&app, "gus@isp.example", "support").await;
    let tokens = session(&app, "gus@isp.example").await;
    let access = tokens["access_token"].as_str().unwrap();
    let (status, _) = with_token(&app, Method::GET, "/api/v1/customers", access).await;
    assert_eq!(status, StatusCode::OK, "the token works before");
    let (status, body) = app
        .patch(&format!("/api/v1/users/{id}"), &json!({"active": false}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = login(&app, "gus@isp.example", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["message"], "Invalid credentials");
    // The core re-reads the user at least every two seconds; the edge remembers answers
    // for three. Past both, the token is refused at once.
    app.clock.advance(chrono::Duration::seconds(3));
    let (status, body) = with_token(&app, Method::GET, "/api/v1/customers", access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _) = refresh(&app, &tokens["refresh_token"]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

async fn logins_and_failed_logins_are_audited_without_secrets(app: TestApp) {
    let id = create_user(&app, "hal@isp.example", "manager").await;
    session(&app, "hal@isp.example").await;
    login(&app, "hal@isp.example", "Wr0ng!pass").await;
    login(&app, "ghost@isp.example", "Wr0ng!pass").await;

    let succeeded = audit_entries(&app, "auth.login_succeeded").await;
    assert_eq!(succeeded.len(), 1);
    assert_eq!(succeeded[0].actor_user_id, Some(id));
    assert_eq!(succeeded[0].actor_role, "manager");
    let failed = audit_entries(&app, "auth.login_failed").await;
    assert_eq!(failed.len(), 2);
    let anonymous = failed.iter().find(|e| e.actor_user_id.is_none()).unwrap();
    assert_eq!(anonymous.actor_role, "anonymous");
    for entry in succeeded.iter().chain(&failed) {
        let text = format!("{:?}{:?}", entry.before_values, entry.after_values);
        assert!(
            !text.contains("Wr0ng") && !text.contains(PASSWORD),
            "{text}"
        );
        assert!(!entry.client_address.is_empty());
    }
    app.stop().await;
}

async fn a_tampered_access_token_is_401(app: TestApp) {
    create_user(&app, "ida@isp.example", "support").await;
    let tokens = session(&app, "ida@isp.example").await;
    let access = tokens["access_token"].as_str().unwrap();
    let (head, signature) = access.rsplit_once('.').unwrap();
    let forged = format!("{head}.{}", signature.chars().rev().collect::<String>());
    let (status, body) = with_token(&app, Method::GET, "/api/v1/customers", &forged).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], "UNAUTHENTICATED");
    app.stop().await;
}

/// Access tokens of one second.
fn one_second_tokens(settings: &mut Settings) {
    settings.access_token_ttl = Duration::from_secs(1);
}

async fn an_expired_access_token_is_401_token_has_expired(app: TestApp) {
    create_user(&app, "jo@isp.example", "support").await;
    let tokens = session(&app, "jo@isp.example").await;
    assert_eq!(tokens["expires_in"], 1);
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    // The servers' clock moves past the expiry; no waiting in real time.
    app.clock.advance(chrono::Duration::seconds(2));
    let (status, body) = with_token(&app, Method::GET, "/api/v1/customers", &access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["message"], "Token has expired");
    assert_eq!(body["code"], "UNAUTHENTICATED");
    // The refresh token still renews the session.
    let (status, body) = refresh(&app, &tokens["refresh_token"]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.stop().await;
}

async fn a_hash_with_older_parameters_still_logs_in_and_is_replaced_by_one_with_the_current(
    app: TestApp,
) {
    use lastmile_core::password::{Argon2Settings, HashingSettings, Passwords};
    let id = create_user(&app, "legacy@isp.example", "support").await;
    // A hash as a deployment with weaker parameters stored it.
    let legacy = Passwords::start(HashingSettings {
        argon2: Argon2Settings {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        },
        ..HashingSettings::default()
    })
    .unwrap();
    let old_hash = legacy.hash(PASSWORD.to_owned()).await.unwrap();
    assert!(old_hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
    let db = &app.core().db;
    let stored = |db: &lastmile_core::db::Db| {
        let db = db.clone();
        async move {
            lastmile_core::on_db!(&db, pool => sqlx::query_scalar::<_, String>(
                "SELECT password_hash FROM users WHERE id = $1").bind(id).fetch_one(pool).await)
            .unwrap()
        }
    };
    lastmile_core::on_db!(db, pool => sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(&old_hash).bind(id).execute(pool).await.map(|done| done.rows_affected()))
    .unwrap();

    let (status, body) = login(&app, "legacy@isp.example", "wrong-Passw0rd!").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(stored(db).await, old_hash, "a failed login changes nothing");

    session(&app, "legacy@isp.example").await;
    let new_hash = stored(db).await;
    assert!(
        new_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "rehashed with the OWASP minimum: {new_hash}"
    );
    session(&app, "legacy@isp.example").await;
    assert_eq!(stored(db).await, new_hash, "a current hash is kept");
    app.stop().await;
}

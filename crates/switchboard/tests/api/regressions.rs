//! Regression tests for the review findings fixed together: one test per fixed bug, against an
//! in-process server (the real-binary ones are in `cli.rs`).

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

/// A server with one case (from one webhook) on a channel posting to `outbound_url`; returns
/// the case id.
async fn one_case(app: &TestApp, outbound_url: &str) -> String {
    let ch = app.create_channel(outbound_url).await;
    app.deliver(&ch, &message("r-1", "thread-r", "u-1", "hello"))
        .await;
    let case = app.wait_for_message("r-1").await;
    case["id"].as_str().unwrap().to_owned()
}

#[track_caller]
fn assert_field(a: &Answer, status: u16, code: &str, field: &str) {
    let p = a.assert_problem(status, code);
    assert_eq!(p["field"], field, "{}", a.text);
}

// ----- 1. NUL characters -------------------------------------------------------------------

async fn nul_is_refused(app: &TestApp) {
    let case = one_case(app, NOWHERE).await;
    for kind in ["replies", "notes"] {
        let a = app
            .post(
                &format!("/api/v1/cases/{case}/{kind}"),
                &app.agent,
                &json!({"text": "a\u{0000}b"}),
            )
            .await;
        assert_field(&a, 400, "invalid_field", "text");
    }
    let detail = app.case(&case).await;
    assert_eq!(
        detail["messages"].as_array().unwrap().len(),
        1,
        "nothing stored: {detail}"
    );
    let a = app
        .call(
            Method::POST,
            "/api/v1/login",
            None,
            Some(&json!({"username": "ad\u{0000}min", "password": "whatever-password"})),
        )
        .await;
    a.assert_problem(401, "unauthorized");
}

#[tokio::test]
async fn nul_in_text_and_username_is_refused_not_a_500() {
    nul_is_refused(&spawn_app().await).await;
}

#[tokio::test]
async fn nul_in_text_and_username_is_refused_not_a_500_on_postgres() {
    let Some(app) = spawn_app_pg("nul_in_text_and_username_is_refused_not_a_500_on_postgres").await
    else {
        return;
    };
    nul_is_refused(&app).await;
}

// ----- 2. Permission before body -----------------------------------------------------------

#[tokio::test]
async fn permission_is_checked_before_the_body() {
    let app = spawn_app().await;
    let case = one_case(&app, NOWHERE).await;
    app.send_raw(
        Method::POST,
        "/api/v1/channels",
        &app.agent,
        "application/json",
        "{bad",
    )
    .await
    .assert_problem(403, "forbidden");
    let r = app
        .http
        .post(app.url("/api/v1/channels"))
        .bearer_auth(&app.agent)
        .body("kind=webhook")
        .send()
        .await
        .unwrap();
    Answer::read(r).await.assert_problem(403, "forbidden");
    app.send_raw(
        Method::PATCH,
        &format!("/api/v1/cases/{case}"),
        &app.reviewer,
        "application/json",
        "{\"status\": ",
    )
    .await
    .assert_problem(403, "forbidden");
}

// ----- 3. 405 ------------------------------------------------------------------------------

#[tokio::test]
async fn wrong_method_is_a_405_problem() {
    let app = spawn_app().await;
    let ch = app.create_channel(NOWHERE).await;
    let labels = [("status", "405"), ("code", "method_not_allowed")];
    let before = app.metric("switchboard_api_errors_total", &labels).await;
    for (method, path) in [
        (Method::DELETE, format!("/api/v1/channels/{}", ch.id)),
        (Method::PUT, "/api/v1/cases".to_owned()),
        (Method::GET, format!("/hooks/webhook/{}", ch.id)),
    ] {
        let a = app
            .call(method.clone(), &path, Some(&app.admin), None)
            .await;
        assert_eq!(a.status.as_u16(), 405, "{method} {path}: {}", a.text);
        a.assert_problem(405, "method_not_allowed");
    }
    let after = app.metric("switchboard_api_errors_total", &labels).await;
    assert!(after >= before + 3.0, "before {before}, after {after}");
}

// ----- 4. Object-only bodies, unknown fields refused ---------------------------------------

async fn count(app: &TestApp, path: &str) -> usize {
    let a = app.get(path, &app.admin).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    a.json["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn bodies_must_be_objects_with_known_fields() {
    let app = spawn_app().await;

    let channels = count(&app, "/api/v1/channels").await;
    let a = app
        .post(
            "/api/v1/channels",
            &app.admin,
            &json!(["webhook", "Partner", "http://127.0.0.1:9/"]),
        )
        .await;
    a.assert_problem(400, "invalid_body");
    assert!(!a.text.contains("NewChannel"), "{}", a.text);
    assert_eq!(count(&app, "/api/v1/channels").await, channels);

    let tokens = count(&app, "/api/v1/tokens").await;
    let a = app
        .post("/api/v1/tokens", &app.admin, &json!(["CRM", "agent"]))
        .await;
    a.assert_problem(400, "invalid_body");
    assert!(!a.text.contains("NewToken"), "{}", a.text);
    assert_eq!(count(&app, "/api/v1/tokens").await, tokens);

    let users = count(&app, "/api/v1/users").await;
    let a = app
        .post(
            "/api/v1/users",
            &app.admin,
            &json!({"username": "typo", "display_nam": "Ty Po", "role": "agent"}),
        )
        .await;
    assert_field(&a, 400, "invalid_field", "display_nam");
    assert_eq!(count(&app, "/api/v1/users").await, users);

    let a = app
        .post("/api/v1/teams", &app.admin, &json!({"name": 5}))
        .await;
    assert_field(&a, 400, "invalid_field", "name");

    let a = app
        .post("/api/v1/tokens", &app.admin, &json!({"name": "CRM"}))
        .await;
    assert_field(&a, 400, "invalid_field", "role");
    assert!(!a.text.contains("NewToken"), "{}", a.text);
    let a = app
        .post("/api/v1/channels", &app.admin, &json!({"kind": "webhook"}))
        .await;
    assert_field(&a, 400, "invalid_field", "name");
    assert!(!a.text.contains("NewChannel"), "{}", a.text);
    assert_eq!(count(&app, "/api/v1/channels").await, channels);
    assert_eq!(count(&app, "/api/v1/tokens").await, tokens);
}

// ----- 5. Query parameters -----------------------------------------------------------------

#[tokio::test]
async fn query_errors_name_the_parameter() {
    let app = spawn_app().await;
    let a = app.get("/api/v1/cases?limit=abc", &app.admin).await;
    assert_field(&a, 400, "invalid_field", "limit");
    // In words a person reads, not the parser's.
    assert_eq!(
        a.json["detail"], "limit: must be a whole number",
        "{}",
        a.text
    );
    let a = app
        .get("/api/v1/cases?limit=99999999999999999999", &app.admin)
        .await;
    assert_eq!(
        a.json["detail"], "limit: is too large a number",
        "{}",
        a.text
    );
    let a = app.get("/api/v1/cases?stauts=open", &app.admin).await;
    assert_field(&a, 400, "invalid_field", "stauts");
    let a = app
        .get("/api/v1/stream?last_event_id=abc", &app.admin)
        .await;
    assert_field(&a, 400, "invalid_field", "last_event_id");

    // An endpoint that takes no parameters refuses any, naming it, and does nothing.
    let a = app.get("/api/v1/models?foo=1", &app.admin).await;
    assert_field(&a, 400, "invalid_field", "foo");
    assert_eq!(
        a.json["detail"], "foo: there is no such parameter (this endpoint takes none)",
        "{}",
        a.text
    );
    let a = app
        .post(
            "/api/v1/analyze?evidence=5",
            &app.agent,
            &json!({"text": "hello"}),
        )
        .await;
    assert_field(&a, 400, "invalid_field", "evidence");
    let a = app
        .post(
            "/api/v1/teams?dry_run=true",
            &app.admin,
            &json!({"name": "Ops"}),
        )
        .await;
    assert_field(&a, 400, "invalid_field", "dry_run");
    let teams = app.get("/api/v1/teams", &app.admin).await;
    assert!(!teams.text.contains("\"Ops\""), "{}", teams.text);
    // An empty query is no parameter; declared ones still work.
    assert_eq!(
        app.get("/api/v1/models?", &app.admin).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/v1/cases?limit=5", &app.admin).await.status,
        StatusCode::OK
    );
}

/// An endpoint that takes no body refuses one that says something, and does nothing; an
/// empty body, `{}` or `null` (what clients send by habit) is no body.
#[tokio::test]
async fn a_body_sent_where_none_is_taken_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let a = app
        .post(
            "/api/v1/kb/articles",
            &app.admin,
            &json!({"title": "Gates", "body": "Gates open at 1 pm."}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let path = format!("/api/v1/kb/articles/{}", a.json["id"].as_str().unwrap());
    for body in [json!({"archive": false}), json!([1]), json!("x")] {
        let a = app
            .call(Method::DELETE, &path, Some(&app.admin), Some(&body))
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}: {}", a.text);
        assert_eq!(a.json["code"], "unexpected_body", "{}", a.text);
        assert!(
            a.json["detail"]
                .as_str()
                .unwrap()
                .starts_with("DELETE /api/v1/kb/articles/"),
            "{}",
            a.text
        );
    }
    // Larger than what is read to look: refused too, not cut.
    let long = json!({"note": "x".repeat(10_000)});
    let a = app
        .call(
            Method::POST,
            "/api/v1/models/intent/deactivate",
            Some(&app.admin),
            Some(&long),
        )
        .await;
    assert_eq!(a.json["code"], "unexpected_body", "{}", a.text);
    assert_eq!(
        app.get(&path, &app.admin).await.json["archived_at"],
        Value::Null,
        "nothing was archived"
    );
    let a = app
        .call(Method::DELETE, &path, Some(&app.admin), Some(&json!({})))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert!(a.json["archived_at"].is_string(), "{}", a.text);
    let metrics = app.get("/metrics", &app.admin).await.text;
    assert!(metrics.contains("unexpected_body"), "counted: {metrics}");
}

// ----- 6. Field on 409 / 422 ---------------------------------------------------------------

#[tokio::test]
async fn conflicts_and_rule_violations_name_the_field() {
    let app = spawn_app().await;
    let a = app
        .post("/api/v1/teams", &app.admin, &json!({"name": "Billing"}))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let team = a.json["id"].as_str().unwrap().to_owned();
    let a = app
        .post("/api/v1/teams", &app.admin, &json!({"name": "Billing"}))
        .await;
    assert_eq!(a.status.as_u16(), 409, "{}", a.text);
    assert_eq!(a.json["field"], "name", "{}", a.text);

    let user = json!({"username": "dup", "display_name": "Dup", "role": "agent"});
    let a = app.post("/api/v1/users", &app.admin, &user).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let a = app.post("/api/v1/users", &app.admin, &user).await;
    assert_eq!(a.status.as_u16(), 409, "{}", a.text);
    assert_eq!(a.json["field"], "username", "{}", a.text);

    let case = one_case(&app, NOWHERE).await;
    let path = format!("/api/v1/cases/{case}");
    let nobody = uuid::Uuid::now_v7().to_string();
    let a = app.patch(&path, &app.agent, &json!({"team": nobody})).await;
    assert_field(&a, 422, "rule_violated", "team");
    let a = app
        .patch(&path, &app.agent, &json!({"assignee": nobody}))
        .await;
    assert_field(&a, 422, "rule_violated", "assignee");
    let a = app
        .patch(&path, &app.admin, &json!({"status": "closed"}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = app
        .patch(&path, &app.admin, &json!({"status": "open"}))
        .await;
    assert_field(&a, 422, "rule_violated", "status");

    let a = app
        .post(
            &format!("/api/v1/teams/{team}/members"),
            &app.admin,
            &json!({"user_id": nobody}),
        )
        .await;
    assert_eq!(a.status.as_u16(), 422, "{}", a.text);
    assert_eq!(a.json["field"], "user_id", "{}", a.text);
}

// ----- 7. Built-in purposes only -----------------------------------------------------------

#[tokio::test]
async fn only_built_in_purposes_are_accepted() {
    let app = spawn_app().await;
    let case = one_case(&app, NOWHERE).await;
    let before = app.case(&case).await["purpose"].clone();
    assert_eq!(before, "tier1");
    let a = app
        .patch(
            &format!("/api/v1/cases/{case}"),
            &app.agent,
            &json!({"purpose": "warrantyy"}),
        )
        .await;
    assert_field(&a, 400, "invalid_field", "purpose");
    assert_eq!(app.case(&case).await["purpose"], before);
    let a = app
        .get("/api/v1/cases?purpose=nonexistent", &app.admin)
        .await;
    assert_eq!(a.status.as_u16(), 400, "{}", a.text);
    assert_eq!(a.json["field"], "purpose", "{}", a.text);
}

// ----- 8. Credentials in outbound URLs -----------------------------------------------------

#[tokio::test]
async fn url_credentials_are_redacted_and_delivery_errors_say_why() {
    let app = spawn_app().await;
    let url = "http://user:hunter2pass@127.0.0.1:9/x?token=querysecret";
    let case = one_case(&app, url).await;
    let list = app.get("/api/v1/channels", &app.reviewer).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert!(!list.text.contains("hunter2pass"), "{}", list.text);
    assert!(!list.text.contains("querysecret"), "{}", list.text);
    let id = list.json["items"][0]["id"].as_str().unwrap().to_owned();
    let one = app
        .get(&format!("/api/v1/channels/{id}"), &app.reviewer)
        .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert!(!one.text.contains("hunter2pass"), "{}", one.text);
    assert!(!one.text.contains("querysecret"), "{}", one.text);

    let a = app
        .post(
            &format!("/api/v1/cases/{case}/replies"),
            &app.agent,
            &json!({"text": "hello?"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let reply = a.json["id"].as_str().unwrap().to_owned();
    let m = wait_for("the reply to fail", || async {
        let d = app.case(&case).await;
        let m = d["messages"]
            .as_array()?
            .iter()
            .find(|m| m["id"] == reply.as_str())?
            .clone();
        (m["delivery_state"] == "failed").then_some(m)
    })
    .await;
    let error = m["delivery_error"].as_str().expect("a delivery error");
    assert!(!error.contains("hunter2pass"), "{error}");
    assert!(!error.contains("querysecret"), "{error}");
    assert!(error.to_lowercase().contains("refused"), "{error}");
    let detail = app.case(&case).await.to_string();
    assert!(!detail.contains("hunter2pass"), "{detail}");
    assert!(!detail.contains("querysecret"), "{detail}");
}

// ----- 9. Last-Event-ID from the future ----------------------------------------------------

#[tokio::test]
async fn a_last_event_id_from_the_future_still_gets_live_events() {
    let app = spawn_app().await;
    let ch = app.create_channel(NOWHERE).await;
    let mut response = reqwest::Client::new()
        .get(app.url("/api/v1/stream"))
        .bearer_auth(&app.admin)
        .header("Last-Event-ID", "999999999")
        .send()
        .await
        .expect("connect to the stream");
    assert_eq!(response.status(), StatusCode::OK);
    app.deliver(&ch, &message("future-1", "thread-f", "u-1", "hi"))
        .await;
    let mut seen = String::new();
    let got = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = response.chunk().await.expect("read the stream") {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("event: message.created") || seen.contains("event:message.created") {
                return true;
            }
        }
        false
    })
    .await;
    assert!(
        matches!(got, Ok(true)),
        "no message.created within 10 s: {seen:?}"
    );
    assert!(seen.contains("future-1"), "{seen}");
}

// ----- 10. WWW-Authenticate ----------------------------------------------------------------

#[tokio::test]
async fn a_401_says_how_to_authenticate() {
    let app = spawn_app().await;
    let a = app.call(Method::GET, "/api/v1/cases", None, None).await;
    a.assert_problem(401, "unauthorized");
    let h = a
        .headers
        .get(reqwest::header::WWW_AUTHENTICATE)
        .expect("WWW-Authenticate on a 401");
    assert!(h.to_str().unwrap().starts_with("Bearer"), "{h:?}");
}

// ----- 11. Stricter names, passwords, tags -------------------------------------------------

#[tokio::test]
async fn invisible_names_blank_passwords_and_too_many_tags_are_refused() {
    let app = spawn_app().await;
    let a = app
        .post(
            "/api/v1/teams",
            &app.admin,
            &json!({"name": "admin\u{202e}"}),
        )
        .await;
    assert_field(&a, 400, "invalid_field", "name");
    let a = app
        .post(
            "/api/v1/users",
            &app.admin,
            &json!({"username": "spacey", "role": "agent", "password": " ".repeat(14)}),
        )
        .await;
    assert_field(&a, 400, "invalid_field", "password");

    let case = one_case(&app, NOWHERE).await;
    let tags: Vec<Value> = (0..51).map(|i| json!(format!("t{i}"))).collect();
    let a = app
        .patch(
            &format!("/api/v1/cases/{case}"),
            &app.agent,
            &json!({ "tags": tags }),
        )
        .await;
    assert_field(&a, 400, "invalid_field", "tags");
    assert_eq!(app.case(&case).await["tags"], json!([]));
}

//! Administration people expect from day one: changing one's password, listing and revoking
//! API tokens, editing and disabling a channel, rotating its secret.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn login(app: &TestApp, username: &str, password: &str) -> Answer {
    app.call(
        Method::POST,
        "/api/v1/login",
        None,
        Some(&json!({"username": username, "password": password})),
    )
    .await
}

fn cookie_of(a: &Answer) -> String {
    let set = a
        .headers
        .get("set-cookie")
        .expect("Set-Cookie")
        .to_str()
        .unwrap();
    set.split(';').next().unwrap().to_owned()
}

async fn with_cookie(
    app: &TestApp,
    method: Method,
    path: &str,
    cookie: &str,
    body: Option<serde_json::Value>,
) -> Answer {
    let mut req = app
        .http
        .request(method, app.url(path))
        .header("Cookie", cookie)
        .header("X-CSRF-Token", csrf_of(cookie));
    if let Some(b) = body {
        req = req.json(&b);
    }
    Answer::read(req.send().await.unwrap()).await
}

#[tokio::test]
async fn a_person_changes_their_password_and_other_sessions_end() {
    let app = spawn_app().await;
    let old = "correct horse battery";
    let new = "staple battery horse correct";
    let a = app
        .post(
            "/api/v1/users",
            &app.admin,
            &json!({"username": "bo", "role": "agent", "password": old}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let first = cookie_of(&login(&app, "bo", old).await);
    let second = cookie_of(&login(&app, "bo", old).await);

    let wrong = with_cookie(
        &app,
        Method::POST,
        "/api/v1/me/password",
        &first,
        Some(json!({"current_password": "nope", "new_password": new})),
    )
    .await;
    assert_eq!(
        wrong.assert_problem(403, "forbidden")["field"],
        "current_password"
    );
    let short = with_cookie(
        &app,
        Method::POST,
        "/api/v1/me/password",
        &first,
        Some(json!({"current_password": old, "new_password": "short"})),
    )
    .await;
    assert_eq!(
        short.assert_problem(400, "invalid_field")["field"],
        "new_password"
    );
    // Nothing changed yet: the old password still logs in.
    assert_eq!(login(&app, "bo", old).await.status, StatusCode::OK);

    let ok = with_cookie(
        &app,
        Method::POST,
        "/api/v1/me/password",
        &first,
        Some(json!({"current_password": old, "new_password": new})),
    )
    .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT, "{}", ok.text);
    login(&app, "bo", old)
        .await
        .assert_problem(401, "unauthorized");
    assert_eq!(login(&app, "bo", new).await.status, StatusCode::OK);
    with_cookie(&app, Method::GET, "/api/v1/me", &second, None)
        .await
        .assert_problem(401, "unauthorized");

    // A token has no password.
    app.post(
        "/api/v1/me/password",
        &app.agent,
        &json!({"current_password": "x", "new_password": new}),
    )
    .await
    .assert_problem(400, "not_a_person");
    let audit = app.get("/api/v1/audit?limit=200", &app.admin).await;
    assert!(
        audit.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "user.password_changed"),
        "{}",
        audit.text
    );
}

#[tokio::test]
async fn admins_list_and_revoke_tokens() {
    let app = spawn_app().await;
    let made = app
        .post(
            "/api/v1/tokens",
            &app.admin,
            &json!({"name": "CRM sync", "role": "agent"}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let token = made.json["token"].as_str().unwrap().to_owned();
    let id = made.json["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get("/api/v1/cases", &token).await.status,
        StatusCode::OK
    );

    let list = app.get("/api/v1/tokens", &app.admin).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert!(
        list.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id.as_str() && t["revoked_at"].is_null())
    );
    assert!(!list.text.contains(&token), "token values are never listed");
    app.get("/api/v1/tokens", &app.agent)
        .await
        .assert_problem(403, "forbidden");
    app.call(
        Method::DELETE,
        &format!("/api/v1/tokens/{id}"),
        Some(&app.agent),
        None,
    )
    .await
    .assert_problem(403, "forbidden");

    let gone = app
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.text);
    app.get("/api/v1/cases", &token)
        .await
        .assert_problem(401, "unauthorized");
    let again = app
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::NO_CONTENT,
        "revoking twice is a no-op"
    );
    let list = app.get("/api/v1/tokens", &app.admin).await;
    assert!(
        list.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id.as_str() && !t["revoked_at"].is_null())
    );
    app.call(
        Method::DELETE,
        "/api/v1/tokens/01a209e4-dadc-7ae0-9186-000000000000",
        Some(&app.admin),
        None,
    )
    .await
    .assert_problem(404, "not_found");
    app.call(
        Method::DELETE,
        "/api/v1/tokens/not-an-id",
        Some(&app.admin),
        None,
    )
    .await
    .assert_problem(404, "not_found");
}

#[tokio::test]
async fn a_channel_is_renamed_disabled_enabled_and_its_secret_rotated() {
    let app = spawn_app().await;
    let partner = FakePartner::start(&[], 200).await;
    let ch = app.create_channel(&partner.url).await;
    let path = format!("/api/v1/channels/{}", ch.id);
    let body = message("e-1", "t-1", "u-1", "hello");
    app.deliver(&ch, &body).await;
    // Ingest is asynchronous: wait for the case (under load it can come after the edits).
    let case = app.wait_for_message("e-1").await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Bad changes are refused and change nothing.
    app.patch(&path, &app.agent, &json!({"active": false}))
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(
        app.patch(&path, &app.admin, &json!({"outbound_url": "ftp://x"}))
            .await
            .assert_problem(400, "invalid_field")["field"],
        "outbound_url"
    );
    app.patch(&path, &app.admin, &json!({"colour": "red"}))
        .await
        .assert_problem(400, "invalid_field");
    app.patch(
        "/api/v1/channels/01a209e4-dadc-7ae0-9186-000000000000",
        &app.admin,
        &json!({"active": false}),
    )
    .await
    .assert_problem(404, "not_found");
    assert_eq!(app.get(&path, &app.admin).await.json["active"], true);

    let renamed = app
        .patch(
            &path,
            &app.admin,
            &json!({"name": "Partner app (EU)", "active": false}),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
    assert_eq!(
        (
            renamed.json["name"].as_str(),
            renamed.json["active"].as_bool()
        ),
        (Some("Partner app (EU)"), Some(false))
    );
    assert!(renamed.json.get("secret").is_none());
    let refused = app
        .post_webhook(&ch, &message("e-2", "t-1", "u-1", "anyone?"))
        .await;
    refused.assert_problem(410, "channel_disabled");
    assert!(app.webhook_outcomes("channel_disabled").await >= 1.0);

    // A reply on a disabled channel fails visibly, with the reason.
    let reply = app
        .post(
            &format!("/api/v1/cases/{case}/replies"),
            &app.agent,
            &json!({"text": "hi"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let mid = reply.json["id"].as_str().unwrap().to_owned();
    let failed = wait_for("the reply to fail", || async {
        let d = app.case(&case).await;
        d["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == mid.as_str() && m["delivery_state"] == "failed")
            .cloned()
    })
    .await;
    assert!(
        failed["delivery_error"]
            .as_str()
            .unwrap()
            .contains("disabled"),
        "{failed}"
    );
    assert!(
        partner.received().is_empty(),
        "nothing was sent to a disabled channel"
    );

    assert_eq!(
        app.patch(&path, &app.admin, &json!({"active": true}))
            .await
            .status,
        StatusCode::OK
    );
    app.deliver(&ch, &message("e-2", "t-1", "u-1", "anyone?"))
        .await;

    // Rotation: the new secret is shown once; the old one stops verifying at once.
    let rotated = app
        .post(&format!("{path}/secret"), &app.admin, &json!({}))
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    let new_secret = rotated.json["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, ch.secret);
    app.post_webhook(&ch, &message("e-3", "t-1", "u-1", "old key"))
        .await
        .assert_problem(401, "bad_signature");
    let fresh = Channel {
        id: ch.id.clone(),
        secret: new_secret,
    };
    app.deliver(&fresh, &message("e-4", "t-1", "u-1", "new key"))
        .await;
    app.post(&format!("{path}/secret"), &app.supervisor, &json!({}))
        .await
        .assert_problem(403, "forbidden");
}

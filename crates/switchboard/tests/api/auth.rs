//! People and trust: roles on every route, password login with a session, the audit log
//! (issue item 7).

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn channel_body() -> Value {
    json!({"kind": "webhook", "name": "Sneaky", "outbound_url": NOWHERE})
}

fn user_body(username: &str) -> Value {
    json!({"username": username, "role": "admin", "password": "correct horse battery"})
}

async fn count(app: &TestApp, path: &str) -> usize {
    let a = app.get(path, &app.admin).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    a.json["items"].as_array().unwrap().len()
}

async fn a_case(app: &TestApp) -> String {
    let ch = app.create_channel(NOWHERE).await;
    app.deliver(&ch, ISSUE_BODY).await;
    app.wait_for_message("ext-1").await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn an_agent_works_cases_but_cannot_manage_channels_users_or_read_the_audit() {
    let app = spawn_app().await;
    let case = a_case(&app).await;
    let channels = count(&app, "/api/v1/channels").await;
    let users = count(&app, "/api/v1/users").await;

    app.post("/api/v1/channels", &app.agent, &channel_body())
        .await
        .assert_problem(403, "forbidden");
    app.post("/api/v1/users", &app.agent, &user_body("mallory"))
        .await
        .assert_problem(403, "forbidden");
    app.post(
        "/api/v1/tokens",
        &app.agent,
        &json!({"name": "mine", "role": "admin"}),
    )
    .await
    .assert_problem(403, "forbidden");
    app.post("/api/v1/teams", &app.agent, &json!({"name": "Agents only"}))
        .await
        .assert_problem(403, "forbidden");
    app.get("/api/v1/audit", &app.agent)
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(count(&app, "/api/v1/channels").await, channels);
    assert_eq!(count(&app, "/api/v1/users").await, users);
    assert_eq!(count(&app, "/api/v1/teams").await, 0);

    let a = app.get("/api/v1/cases", &app.agent).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["items"].as_array().unwrap().len(), 1);
    let a = app.get(&format!("/api/v1/cases/{case}"), &app.agent).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = app
        .post(
            &format!("/api/v1/cases/{case}/replies"),
            &app.agent,
            &json!({"text": "on it"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let a = app
        .patch(
            &format!("/api/v1/cases/{case}"),
            &app.agent,
            &json!({"priority": "urgent"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
}

#[tokio::test]
async fn a_reviewer_reads_but_changes_nothing() {
    let app = spawn_app().await;
    let case = a_case(&app).await;
    let path = format!("/api/v1/cases/{case}");

    let a = app.get(&path, &app.reviewer).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    app.post(
        &format!("{path}/replies"),
        &app.reviewer,
        &json!({"text": "hi"}),
    )
    .await
    .assert_problem(403, "forbidden");
    app.post(
        &format!("{path}/notes"),
        &app.reviewer,
        &json!({"text": "hi"}),
    )
    .await
    .assert_problem(403, "forbidden");
    app.patch(&path, &app.reviewer, &json!({"status": "closed"}))
        .await
        .assert_problem(403, "forbidden");
    let after = app.case(&case).await;
    assert_eq!(after["status"], "new");
    assert_eq!(after["messages"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_supervisor_manages_teams_but_not_channels_or_users() {
    let app = spawn_app().await;
    let a = app
        .post(
            "/api/v1/teams",
            &app.supervisor,
            &json!({"name": "Escalations"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let team = a.json["id"].as_str().unwrap().to_owned();

    let user = app
        .post(
            "/api/v1/users",
            &app.admin,
            &json!({"username": "bo", "display_name": "Bo", "role": "agent"}),
        )
        .await;
    assert_eq!(user.status, StatusCode::CREATED, "{}", user.text);
    let a = app
        .post(
            &format!("/api/v1/teams/{team}/members"),
            &app.supervisor,
            &json!({"user_id": user.json["id"]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["members"][0]["username"], "bo");
    let a = app
        .get(&format!("/api/v1/teams/{team}"), &app.reviewer)
        .await;
    assert_eq!(a.json["members"].as_array().unwrap().len(), 1, "{}", a.text);

    app.post("/api/v1/channels", &app.supervisor, &channel_body())
        .await
        .assert_problem(403, "forbidden");
    app.post("/api/v1/users", &app.supervisor, &user_body("eve"))
        .await
        .assert_problem(403, "forbidden");
    app.get("/api/v1/audit", &app.supervisor)
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(count(&app, "/api/v1/channels").await, 0);
}

#[tokio::test]
async fn no_token_or_a_bogus_one_is_401() {
    let app = spawn_app().await;
    for path in [
        "/api/v1/cases",
        "/api/v1/me",
        "/api/v1/audit",
        "/api/v1/stream",
    ] {
        app.call(Method::GET, path, None, None)
            .await
            .assert_problem(401, "unauthorized");
        app.call(
            Method::GET,
            path,
            Some("sbt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            None,
        )
        .await
        .assert_problem(401, "unauthorized");
    }
    app.call(
        Method::POST,
        "/api/v1/channels",
        None,
        Some(&channel_body()),
    )
    .await
    .assert_problem(401, "unauthorized");
    let r = app
        .http
        .get(app.url("/api/v1/cases"))
        .header("Authorization", format!("Basic {}", app.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(count(&app, "/api/v1/channels").await, 0);
}

#[tokio::test]
async fn the_audit_log_names_who_changed_what() {
    let app = spawn_app().await;
    let case = a_case(&app).await;
    let a = app
        .patch(
            &format!("/api/v1/cases/{case}"),
            &app.agent,
            &json!({"status": "open", "tags": ["late"]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);

    let a = app.get("/api/v1/audit", &app.admin).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let items = a.json["items"].as_array().unwrap();
    let find = |action: &str| {
        items
            .iter()
            .find(|e| e["action"] == action)
            .unwrap_or_else(|| panic!("no {action} in {items:#?}"))
    };
    let created = find("channel.created");
    assert_eq!(created["actor_kind"], "token");
    assert_eq!(created["actor_name"], ADMIN_TOKEN_NAME);
    assert_eq!(created["subject_kind"], "channel");
    let updated = find("case.updated");
    assert_eq!(updated["actor_name"], AGENT_TOKEN_NAME);
    assert_eq!(updated["subject_id"], case.as_str());
    assert_eq!(
        updated["details"]["status"],
        json!({"from": "new", "to": "open"})
    );
    let opened = find("case.created");
    assert_eq!(opened["actor_kind"], "system");
    // Newest first.
    let seqs: Vec<i64> = items.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "{seqs:?}");
}

fn session_cookie(a: &Answer) -> Option<String> {
    a.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("sb_session="))
        .map(str::to_owned)
}

async fn with_cookie(app: &TestApp, method: Method, path: &str, cookie: &str) -> Answer {
    let r = app
        .http
        .request(method, app.url(path))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap();
    Answer::read(r).await
}

#[tokio::test]
async fn people_log_in_with_a_password_and_out_again() {
    let app = spawn_app().await;
    let short = app
        .post(
            "/api/v1/users",
            &app.admin,
            &json!({"username": "ann", "role": "agent", "password": "too short"}),
        )
        .await;
    assert_eq!(
        short.assert_problem(400, "invalid_field")["field"],
        "password"
    );

    let password = "correct horse battery";
    let a = app
        .post(
            "/api/v1/users",
            &app.admin,
            &json!({"username": "ann", "display_name": "Ann Agent", "role": "agent", "password": password}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert!(
        !a.text.contains("argon2") && !a.text.contains(password),
        "{}",
        a.text
    );

    // Wrong password, unknown user: 401 and no cookie.
    for (username, pw) in [("ann", "not the password"), ("nobody", password)] {
        let a = app
            .call(
                Method::POST,
                "/api/v1/login",
                None,
                Some(&json!({"username": username, "password": pw})),
            )
            .await;
        a.assert_problem(401, "unauthorized");
        assert_eq!(session_cookie(&a), None);
    }

    let a = app
        .call(
            Method::POST,
            "/api/v1/login",
            None,
            Some(&json!({"username": "ann", "password": password})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["user"]["username"], "ann");
    let set_cookie = session_cookie(&a).expect("Set-Cookie: sb_session=…");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    assert!(cookie.len() > "sb_session=".len() + 20, "{cookie}");

    let me = with_cookie(&app, Method::GET, "/api/v1/me", &cookie).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.json["role"], "agent");
    assert_eq!(me.json["actor"]["kind"], "user");
    assert_eq!(me.json["actor"]["name"], "Ann Agent");
    assert_eq!(me.json["actor"]["id"], a.json["user"]["id"]);
    // The session carries the user's role.
    let cases = with_cookie(&app, Method::GET, "/api/v1/cases", &cookie).await;
    assert_eq!(cases.status, StatusCode::OK, "{}", cases.text);
    let audit = with_cookie(&app, Method::GET, "/api/v1/audit", &cookie).await;
    audit.assert_problem(403, "forbidden");

    // A change made with the cookie needs the session's CSRF token (the login answered it);
    // without it, or with another one, nothing changes.
    let token = a.json["csrf_token"]
        .as_str()
        .expect("csrf_token")
        .to_owned();
    let away = json!({"availability": "away"});
    for presented in [None, Some("0123456789abcdef0123456789abcdef01234567")] {
        let mut req = app
            .http
            .put(app.url("/api/v1/me/availability"))
            .header("Cookie", &cookie)
            .json(&away);
        if let Some(t) = presented {
            req = req.header("X-CSRF-Token", t);
        }
        let refused = Answer::read(req.send().await.unwrap()).await;
        assert_eq!(refused.assert_problem(403, "csrf")["field"], "X-CSRF-Token");
    }
    let users = app.get("/api/v1/users", &app.admin).await;
    let ann = users.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "ann")
        .unwrap()
        .clone();
    assert_eq!(ann["availability"], "online", "{ann}");
    let r = app
        .http
        .put(app.url("/api/v1/me/availability"))
        .header("Cookie", &cookie)
        .header("X-CSRF-Token", &token)
        .json(&away)
        .send()
        .await
        .unwrap();
    let ok = Answer::read(r).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(ok.json["availability"], "away", "{}", ok.text);

    let out = with_cookie(&app, Method::POST, "/api/v1/logout", &cookie).await;
    assert!(out.status.is_success(), "{}", out.text);
    let cleared = session_cookie(&out).expect("the cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    with_cookie(&app, Method::GET, "/api/v1/me", &cookie)
        .await
        .assert_problem(401, "unauthorized");
    with_cookie(&app, Method::GET, "/api/v1/me", "sb_session=sbs_forged")
        .await
        .assert_problem(401, "unauthorized");
}

#[tokio::test]
async fn the_audit_log_pages_with_a_cursor() {
    let app = spawn_app().await;
    for i in 0..3 {
        let a = app
            .post(
                "/api/v1/teams",
                &app.admin,
                &json!({"name": format!("Team {i}")}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    }
    // 4 tokens from the test setup, 3 teams.
    let mut seqs = Vec::new();
    let mut path = "/api/v1/audit?limit=3".to_owned();
    let mut pages = 0;
    loop {
        let a = app.get(&path, &app.admin).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.text);
        pages += 1;
        let items = a.json["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seqs.extend(items.iter().map(|e| e["seq"].as_i64().unwrap()));
        match a.json["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/audit?limit=3&cursor={c}"),
            None => break,
        }
        assert!(pages < 10, "the cursor never ends");
    }
    assert_eq!(seqs.len(), 7, "{seqs:?}");
    assert_eq!(pages, 3);
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "newest first, each once: {seqs:?}"
    );
    let a = app.get("/api/v1/audit?limit=0", &app.admin).await;
    assert_eq!(a.assert_problem(400, "invalid_field")["field"], "limit");
}

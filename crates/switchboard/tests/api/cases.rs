//! The cases API: lists, filters, pagination, changes, notes, and its errors (issue item 5).

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashSet;

/// A server with `n` cases, one message each (ids `c-0`…); returns the case ids by message.
async fn app_with_cases(n: usize) -> (TestApp, Vec<String>) {
    let app = spawn_app().await;
    let ch = app.create_channel(NOWHERE).await;
    for i in 0..n {
        app.deliver(
            &ch,
            &message(&format!("c-{i}"), &format!("t-{i}"), "u-1", "hi"),
        )
        .await;
    }
    app.wait_for_inbound(n).await;
    let mut ids = Vec::new();
    for i in 0..n {
        let c = app.wait_for_message(&format!("c-{i}")).await;
        ids.push(c["id"].as_str().unwrap().to_owned());
    }
    (app, ids)
}

fn ids_of(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn create_user(app: &TestApp, username: &str, role: &str) -> String {
    let a = app
        .post(
            "/api/v1/users",
            &app.admin,
            &json!({"username": username, "display_name": format!("User {username}"), "role": role}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(a.json["username"], username);
    a.json["id"].as_str().unwrap().to_owned()
}

async fn create_team(app: &TestApp, name: &str) -> String {
    let a = app
        .post("/api/v1/teams", &app.admin, &json!({"name": name}))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(a.json["name"], name);
    a.json["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn lists_filter_by_status_purpose_team_and_assignee() {
    let (app, ids) = app_with_cases(4).await;
    let user = create_user(&app, "agent.smith", "agent").await;
    let team = create_team(&app, "Billing").await;
    let case = |i: usize| format!("/api/v1/cases/{}", ids[i]);
    // New cases take the purpose the understanding step found; start every one at Tier 1.
    for i in 0..4 {
        let a = app
            .patch(&case(i), &app.admin, &json!({"purpose": "tier1"}))
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    }

    let a = app
        .patch(&case(0), &app.admin, &json!({"status": "open"}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = app
        .patch(&case(1), &app.admin, &json!({"purpose": "support"}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = app
        .patch(&case(2), &app.admin, &json!({"assignee": user}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = app
        .patch(&case(3), &app.admin, &json!({"team": team}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);

    let set = |v: Vec<String>| v.into_iter().collect::<HashSet<_>>();
    let want = |is: &[usize]| is.iter().map(|&i| ids[i].clone()).collect::<HashSet<_>>();
    let list = |q: String| {
        let app = &app;
        async move {
            let a = app.get(&format!("/api/v1/cases?{q}"), &app.admin).await;
            assert_eq!(a.status, StatusCode::OK, "{q}: {}", a.text);
            set(ids_of(&a.json))
        }
    };
    assert_eq!(list("status=open".into()).await, want(&[0]));
    assert_eq!(list("status=new".into()).await, want(&[1, 2, 3]));
    assert_eq!(list("status=closed".into()).await, want(&[]));
    assert_eq!(list("purpose=support".into()).await, want(&[1]));
    assert_eq!(list("purpose=tier1".into()).await, want(&[0, 2, 3]));
    assert_eq!(list(format!("assignee={user}")).await, want(&[2]));
    assert_eq!(list("assignee=none".into()).await, want(&[0, 1, 3]));
    assert_eq!(list(format!("team={team}")).await, want(&[3]));
    assert_eq!(list("status=new&assignee=none".into()).await, want(&[1, 3]));

    // A filter value that cannot be right names its field.
    for (q, field) in [
        ("status=sleeping", "status"),
        ("assignee=bob", "assignee"),
        ("team=42", "team"),
    ] {
        let a = app.get(&format!("/api/v1/cases?{q}"), &app.admin).await;
        let p = a.assert_problem(400, "invalid_field");
        assert_eq!(p["field"], field, "{q}");
    }
}

#[tokio::test]
async fn lists_page_with_a_cursor() {
    let (app, ids) = app_with_cases(5).await;
    let mut seen = Vec::new();
    let mut path = "/api/v1/cases?limit=2".to_owned();
    let mut sizes = Vec::new();
    loop {
        let a = app.get(&path, &app.admin).await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.text);
        let page = ids_of(&a.json);
        sizes.push(page.len());
        seen.extend(page);
        match &a.json["next_cursor"] {
            Value::String(c) => path = format!("/api/v1/cases?limit=2&cursor={c}"),
            Value::Null => break,
            other => panic!("next_cursor must be a string or null, not {other}"),
        }
        assert!(sizes.len() < 10, "the cursor never ends");
    }
    assert_eq!(sizes, [2, 2, 1]);
    let distinct: HashSet<&String> = seen.iter().collect();
    assert_eq!(distinct.len(), 5, "no case twice: {seen:?}");
    assert_eq!(distinct, ids.iter().collect::<HashSet<_>>());

    // Exactly one full page: no cursor to an empty page.
    let a = app.get("/api/v1/cases?limit=5", &app.admin).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(ids_of(&a.json).len(), 5);
    assert_eq!(a.json["next_cursor"], Value::Null);
}

#[tokio::test]
async fn an_invalid_limit_or_cursor_is_400_naming_it() {
    let app = spawn_app().await;
    for limit in ["0", "201", "-1"] {
        let a = app
            .get(&format!("/api/v1/cases?limit={limit}"), &app.admin)
            .await;
        let p = a.assert_problem(400, "invalid_field");
        assert_eq!(p["field"], "limit", "limit={limit}");
    }
    let a = app.get("/api/v1/cases?cursor=garbage", &app.admin).await;
    let p = a.assert_problem(400, "invalid_field");
    assert_eq!(p["field"], "cursor");
    let a = app.get("/api/v1/cases?limit=ten", &app.admin).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    assert_eq!(a.content_type(), "application/problem+json");
}

#[tokio::test]
async fn a_case_changes_status_priority_tags_assignee_and_team() {
    let (app, ids) = app_with_cases(1).await;
    let user = create_user(&app, "ann", "agent").await;
    let team = create_team(&app, "Tier 1").await;
    let path = format!("/api/v1/cases/{}", ids[0]);

    // A case is worked in its team: Ann works it once she is in it.
    let a = app
        .patch(&path, &app.agent, &json!({"assignee": user, "team": team}))
        .await;
    assert_eq!(a.assert_problem(422, "rule_violated")["field"], "assignee");
    assert!(
        a.json["detail"]
            .as_str()
            .unwrap()
            .starts_with("User ann is not in the team \"Tier 1\""),
        "{}",
        a.text
    );
    assert_eq!(app.case(&ids[0]).await["assignee"], Value::Null);
    let m = app
        .post(
            &format!("/api/v1/teams/{team}/members"),
            &app.admin,
            &json!({"user_id": user}),
        )
        .await;
    assert_eq!(m.status, StatusCode::OK, "{}", m.text);

    let a = app
        .patch(
            &path,
            &app.agent,
            &json!({
                "status": "pending",
                "priority": "high",
                "tags": ["vip", "refund", "vip"],
                "assignee": user,
                "team": team,
                "purpose": "sales",
            }),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    for got in [a.json.clone(), app.case(&ids[0]).await] {
        assert_eq!(got["status"], "pending");
        assert_eq!(got["priority"], "high");
        assert_eq!(got["tags"], json!(["refund", "vip"]));
        assert_eq!(got["assignee"], user.as_str());
        assert_eq!(got["team"], team.as_str());
        assert_eq!(got["purpose"], "sales");
    }

    // Another team under the same person: only with someone of that team (or no one).
    let other = create_team(&app, "Tier 2").await;
    let a = app.patch(&path, &app.agent, &json!({"team": other})).await;
    assert_eq!(a.assert_problem(422, "rule_violated")["field"], "assignee");
    assert_eq!(app.case(&ids[0]).await["team"], team.as_str());

    // null clears.
    let a = app
        .patch(&path, &app.agent, &json!({"assignee": null, "team": null}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["assignee"], Value::Null);
    assert_eq!(a.json["team"], Value::Null);
    assert_eq!(a.json["priority"], "high", "untouched fields stay");

    // Someone or some team that does not exist.
    let nobody = uuid::Uuid::now_v7().to_string();
    let a = app
        .patch(&path, &app.agent, &json!({"assignee": nobody}))
        .await;
    assert_eq!(a.assert_problem(422, "rule_violated")["field"], "assignee");
    let a = app.patch(&path, &app.agent, &json!({"team": nobody})).await;
    a.assert_problem(422, "rule_violated");
    let a = app
        .patch(&path, &app.agent, &json!({"priority": "whenever"}))
        .await;
    assert_eq!(a.assert_problem(400, "invalid_field")["field"], "priority");
    let a = app.patch(&path, &app.agent, &json!({"tags": "vip"})).await;
    assert_eq!(a.assert_problem(400, "invalid_field")["field"], "tags");
    let after = app.case(&ids[0]).await;
    assert_eq!(after["assignee"], Value::Null);
    assert_eq!(after["team"], Value::Null);
    assert_eq!(after["priority"], "high");
    assert_eq!(after["tags"], json!(["refund", "vip"]));
}

#[tokio::test]
async fn a_closed_case_cannot_be_reopened_and_stays_closed() {
    let (app, ids) = app_with_cases(1).await;
    let path = format!("/api/v1/cases/{}", ids[0]);
    let a = app
        .patch(&path, &app.admin, &json!({"status": "closed"}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["status"], "closed");

    let a = app
        .patch(
            &path,
            &app.admin,
            &json!({"status": "open", "priority": "urgent"}),
        )
        .await;
    let p = a.assert_problem(422, "rule_violated");
    assert!(p["detail"].as_str().unwrap().contains("closed"), "{p}");
    let after = app.case(&ids[0]).await;
    assert_eq!(after["status"], "closed");
    assert_eq!(
        after["priority"], "normal",
        "a rejected change changes nothing"
    );

    // Nor can anyone reply on it.
    let a = app
        .post(
            &format!("{path}/replies"),
            &app.admin,
            &json!({"text": "hello?"}),
        )
        .await;
    a.assert_problem(422, "rule_violated");
    assert_eq!(
        app.case(&ids[0]).await["messages"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn bad_patches_are_400_and_change_nothing() {
    let (app, ids) = app_with_cases(1).await;
    let path = format!("/api/v1/cases/{}", ids[0]);
    let before = app.case(&ids[0]).await;

    let a = app
        .patch(
            &path,
            &app.admin,
            &json!({"colour": "red", "priority": "high"}),
        )
        .await;
    let p = a.assert_problem(400, "invalid_field");
    assert_eq!(p["field"], "colour");

    let a = app
        .send_raw(
            Method::PATCH,
            &path,
            &app.admin,
            "application/json",
            "{\"priority\": ",
        )
        .await;
    a.assert_problem(400, "malformed_json");

    let a = app
        .send_raw(Method::PATCH, &path, &app.admin, "application/json", "[]")
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    assert_eq!(a.content_type(), "application/problem+json");

    let a = app
        .send_raw(
            Method::PATCH,
            &path,
            &app.admin,
            "text/plain",
            "{\"priority\": \"high\"}",
        )
        .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", a.text);

    let after = app.case(&ids[0]).await;
    assert_eq!(after, before);
}

#[tokio::test]
async fn an_unknown_case_is_404() {
    let app = spawn_app().await;
    let nobody = uuid::Uuid::now_v7();
    for path in [
        format!("/api/v1/cases/{nobody}"),
        "/api/v1/cases/not-a-case".to_owned(),
    ] {
        app.get(&path, &app.admin)
            .await
            .assert_problem(404, "not_found");
        app.patch(&path, &app.admin, &json!({"priority": "high"}))
            .await
            .assert_problem(404, "not_found");
        app.post(
            &format!("{path}/replies"),
            &app.admin,
            &json!({"text": "x"}),
        )
        .await
        .assert_problem(404, "not_found");
        app.post(&format!("{path}/notes"), &app.admin, &json!({"text": "x"}))
            .await
            .assert_problem(404, "not_found");
    }
    app.get("/api/v1/no-such-route", &app.admin)
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn notes_are_internal_and_do_not_change_the_case() {
    let (app, ids) = app_with_cases(1).await;
    let path = format!("/api/v1/cases/{}", ids[0]);
    let a = app
        .post(
            &format!("{path}/notes"),
            &app.agent,
            &json!({"text": "customer is a VIP"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(a.json["direction"], "note");
    assert_eq!(a.json["delivery_state"], "internal");
    assert_ne!(a.json["author"]["kind"], "contact");
    assert_eq!(a.json["author"]["name"], AGENT_TOKEN_NAME);

    let detail = app.case(&ids[0]).await;
    assert_eq!(detail["status"], "new", "a note is not a response");
    assert_eq!(detail["first_response_at"], Value::Null);
    let msgs = detail["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0]["direction"], "inbound");
    assert_eq!(msgs[1]["direction"], "note");
    assert_eq!(msgs[1]["text"], "customer is a VIP");

    for text in [json!(""), json!("   ")] {
        let a = app
            .post(&format!("{path}/notes"), &app.agent, &json!({"text": text}))
            .await;
        assert_eq!(a.assert_problem(400, "invalid_field")["field"], "text");
    }
    let a = app
        .post(&format!("{path}/notes"), &app.agent, &json!({}))
        .await;
    assert_eq!(a.assert_problem(400, "invalid_field")["field"], "text");
    assert_eq!(
        app.case(&ids[0]).await["messages"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// A notification reaches the live stream of the person it is for, and no one else's.
#[tokio::test]
async fn a_notification_streams_only_to_the_person_it_is_for() {
    let app = spawn_app().await;
    let ch = app.create_channel("http://127.0.0.1:9/").await;
    app.deliver(&ch, &message("s-1", "s", "s", "hello")).await;
    let case = app.wait_for_message("s-1").await;
    let id = case["id"].as_str().expect("id").to_owned();
    let ann = app.person("ann", "agent").await;
    let bob = app.person("bob", "agent").await;
    let open = async |p: &Person| {
        let s = app
            .http
            .get(app.url("/api/v1/stream"))
            .header("Cookie", &p.cookie)
            .send()
            .await
            .expect("stream");
        assert_eq!(s.status(), StatusCode::OK);
        s
    };
    let (mut to_ann, mut to_bob) = (open(&ann).await, open(&bob).await);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    for text in ["@ann the customer is back", "end of test"] {
        let a = app
            .post(
                &format!("/api/v1/cases/{id}/notes"),
                &app.admin,
                &json!({ "text": text }),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    }
    let read = async |s: &mut reqwest::Response| {
        let mut seen = String::new();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            while let Ok(Some(chunk)) = s.chunk().await {
                seen.push_str(&String::from_utf8_lossy(&chunk));
                if seen.contains("end of test") {
                    break;
                }
            }
        })
        .await;
        seen
    };
    let (ann_saw, bob_saw) = (read(&mut to_ann).await, read(&mut to_bob).await);
    assert!(ann_saw.contains("end of test"), "{ann_saw}");
    assert!(bob_saw.contains("end of test"), "{bob_saw}");
    assert!(
        ann_saw.contains("event: notification.created") && ann_saw.contains("the customer is back"),
        "{ann_saw}"
    );
    assert!(
        !bob_saw.contains("event: notification.created"),
        "{bob_saw}"
    );
}

/// A note's `@username` tells that person (once, and never the author); an e-mail address or
/// an unknown name tells nobody.
#[tokio::test]
async fn a_note_mentioning_a_colleague_notifies_them() {
    let app = spawn_app().await;
    let partner = FakePartner::start(&[], 200).await;
    let ch = app.create_channel(&partner.url).await;
    app.deliver(&ch, &message("n-1", "n", "n", "hello")).await;
    let case = app.wait_for_message("n-1").await;
    let id = case["id"].as_str().expect("id").to_owned();
    let ann = app.person("ann", "agent").await;
    let sam = app.person("sam", "agent").await;
    let a = app
        .as_person(
            &ann,
            reqwest::Method::POST,
            &format!("/api/v1/cases/{id}/notes"),
            Some(&json!({"text": "@sam could you look? (@ann, @nobody, write to x@sam.example) @sam"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let mine = |p| {
        let app = &app;
        async move {
            app.as_person(p, reqwest::Method::GET, "/api/v1/notifications", None)
                .await
                .json["items"]
                .as_array()
                .expect("items")
                .iter()
                .filter(|n| n["kind"] == "mention")
                .cloned()
                .collect::<Vec<_>>()
        }
    };
    let told = mine(&sam).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["case_id"], id.as_str(), "{told:?}");
    assert!(
        told[0]["body"]
            .as_str()
            .is_some_and(|b| b.contains("ann mentioned you") && b.contains("could you look")),
        "{told:?}"
    );
    assert!(mine(&ann).await.is_empty(), "the author is not told");

    // In the browser: the count in the navigation, the page, and "Mark all read".
    let page = |p| {
        let app = &app;
        async move {
            app.as_person(p, reqwest::Method::GET, "/notifications", None)
                .await
                .text
        }
    };
    let html = page(&sam).await;
    assert!(html.contains("aria-label=\"1 unread\""), "{html}");
    assert!(html.contains("Mentioned you"), "{html}");
    assert!(html.contains(&format!("href=\"/cases/{id}\"")), "{html}");
    assert!(html.contains("id=\"read-all\""), "{html}");
    let empty = page(&ann).await;
    assert!(empty.contains("Nothing yet."), "{empty}");
    let a = app
        .as_person(
            &sam,
            reqwest::Method::POST,
            "/api/v1/notifications/read",
            Some(&json!({})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let html = page(&sam).await;
    assert!(!html.contains("unread"), "{html}");
    assert!(
        html.contains("Mentioned you"),
        "read ones stay listed: {html}"
    );
}

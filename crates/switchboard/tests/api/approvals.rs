//! Approvals, reply guards and transfers (issue 3): held replies, reviewers who may and may
//! not decide, personal data blocked or redacted, transfers with their reason in the history.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const PLAYBOOK: &str = r#"[guards]
personal_data = "redact"
banned_phrases = ["guaranteed refund"]

[[team]]
id = "pr"
name = "PR"

[[team]]
id = "legal"
name = "Legal"

[[team]]
id = "support"
name = "Support"
strategy = "round_robin"

[[rule]]
name = "Crisis"
when.public = true
when.text_any = ["outage"]
then.purpose = "crisis"
then.team = "pr"
then.require_approval = "legal"

[[rule]]
name = "Rest"
then.team = "pr"
"#;

/// A person logged in with a session cookie.
struct Person {
    id: String,
    cookie: String,
}

async fn person(app: &TestApp, username: &str, role: &str) -> Person {
    let password = "a long enough password";
    let a = app
        .post(
            "/api/v1/users",
            &app.admin,
            &json!({"username": username, "display_name": username, "role": role, "password": password}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let id = a.json["id"].as_str().unwrap().to_owned();
    let a = app
        .call(
            Method::POST,
            "/api/v1/login",
            None,
            Some(&json!({"username": username, "password": password})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let set = a.headers.get("set-cookie").unwrap().to_str().unwrap();
    Person {
        id,
        cookie: set.split(';').next().unwrap().to_owned(),
    }
}

async fn as_person(app: &TestApp, p: &Person, method: Method, path: &str, body: Value) -> Answer {
    let r = app
        .http
        .request(method, app.url(path))
        .header("Cookie", &p.cookie)
        .header("X-CSRF-Token", csrf_of(&p.cookie))
        .json(&body)
        .send()
        .await
        .unwrap();
    Answer::read(r).await
}

async fn setup() -> (TestApp, Channel, Value) {
    let app = spawn_app().await;
    let a = app
        .put(
            "/api/v1/playbook",
            &app.admin,
            &json!({ "source": PLAYBOOK }),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let teams = app.get("/api/v1/teams", &app.admin).await;
    let mut by_slug = serde_json::Map::new();
    for t in teams.json["items"].as_array().unwrap() {
        by_slug.insert(t["slug"].as_str().unwrap().into(), t["id"].clone());
    }
    let ch = app.create_channel(NOWHERE).await;
    (app, ch, Value::Object(by_slug))
}

async fn public_case(app: &TestApp, ch: &Channel, id: &str, text: &str) -> String {
    let body = json!({"id": id, "public": true, "from": {"id": format!("u-{id}")}, "text": text});
    app.deliver(ch, &body.to_string()).await;
    app.wait_for_message(id).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_reply_on_a_case_that_needs_approval_waits_for_a_reviewer() {
    let (app, ch, teams) = setup().await;
    let case = public_case(&app, &ch, "m-1", "Is there an outage?").await;
    let ann = person(&app, "ann", "agent").await;
    let rita = person(&app, "rita", "reviewer").await;
    let rob = person(&app, "rob", "reviewer").await;
    let a = app
        .post(
            &format!("/api/v1/teams/{}/members", teams["legal"].as_str().unwrap()),
            &app.admin,
            &json!({"user_id": rita.id}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);

    let a = as_person(
        &app,
        &ann,
        Method::POST,
        &format!("/api/v1/cases/{case}/replies"),
        json!({"text": "We are looking into it."}),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(a.json["delivery_state"], "pending_approval");
    assert_eq!(a.json["review_team"], teams["legal"]);
    let reply = a.json["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.case(&case).await["first_response_at"],
        Value::Null,
        "not answered until sent"
    );

    // Only members of Legal, never the author, and only people, may decide.
    let pending = as_person(&app, &rita, Method::GET, "/api/v1/approvals", Value::Null).await;
    assert_eq!(
        pending.json["items"].as_array().unwrap().len(),
        1,
        "{}",
        pending.text
    );
    let none = as_person(&app, &rob, Method::GET, "/api/v1/approvals", Value::Null).await;
    assert_eq!(
        none.json["items"].as_array().unwrap().len(),
        0,
        "{}",
        none.text
    );
    let approve = format!("/api/v1/messages/{reply}/approve");
    as_person(&app, &rob, Method::POST, &approve, json!({}))
        .await
        .assert_problem(403, "forbidden");
    as_person(&app, &ann, Method::POST, &approve, json!({}))
        .await
        .assert_problem(403, "forbidden");
    app.post(&approve, &app.reviewer, &json!({}))
        .await
        .assert_problem(403, "forbidden");
    let a = app
        .post(
            &format!("/api/v1/messages/{reply}/reject"),
            &app.admin,
            &json!({"comment": " "}),
        )
        .await;
    assert_eq!(a.assert_problem(400, "invalid_field")["field"], "comment");
    assert_eq!(
        app.case(&case).await["messages"][1]["delivery_state"],
        "pending_approval",
        "nothing changed"
    );

    // Edit and approve: the edited text is sent, and the case counts as answered.
    let a = as_person(
        &app,
        &rita,
        Method::POST,
        &approve,
        json!({"text": "We are on it; updates at status.example."}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["reviewed_by"], json!(rita.id));
    assert!(
        matches!(
            a.json["delivery_state"].as_str(),
            Some("queued" | "sending" | "failed")
        ),
        "{}",
        a.text
    );
    assert_eq!(a.json["text"], "We are on it; updates at status.example.");
    assert_ne!(app.case(&case).await["first_response_at"], Value::Null);
    as_person(&app, &rita, Method::POST, &approve, json!({}))
        .await
        .assert_problem(409, "conflict");

    // A second reply, rejected with a comment the agent sees.
    let a = as_person(
        &app,
        &ann,
        Method::POST,
        &format!("/api/v1/cases/{case}/replies"),
        json!({"text": "It was their fault."}),
    )
    .await;
    let second = a.json["id"].as_str().unwrap().to_owned();
    let a = as_person(
        &app,
        &rita,
        Method::POST,
        &format!("/api/v1/messages/{second}/reject"),
        json!({"comment": "Never blame a customer in public."}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["delivery_state"], "rejected");
    assert_eq!(
        a.json["review_comment"],
        "Never blame a customer in public."
    );
    // The agent is told, with the reviewer's reason and the case.
    let told = as_person(
        &app,
        &ann,
        Method::GET,
        "/api/v1/notifications?unread=true",
        Value::Null,
    )
    .await;
    let items = told.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", told.text);
    assert_eq!(items[0]["kind"], "reply.rejected");
    assert_eq!(
        items[0]["body"],
        "Your reply was not approved: Never blame a customer in public."
    );
    assert_eq!(items[0]["case_id"], json!(case));
    let audit = app.get("/api/v1/audit", &app.admin).await;
    let actions: Vec<&str> = audit.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for a in [
        "message.held_for_approval",
        "message.approved",
        "message.rejected",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
}

#[tokio::test]
async fn public_replies_with_personal_data_are_redacted_and_banned_phrases_block() {
    let (app, ch, _) = setup().await;
    let case = public_case(&app, &ch, "m-1", "Where is my parcel?").await;
    let path = format!("/api/v1/cases/{case}/replies");
    let a = app
        .post(
            &path,
            &app.agent,
            &json!({"text": "Call us on +49 30 1234567 or write to help@example.com"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(
        a.json["text"],
        "Call us on [phone number removed] or write to [e-mail address removed]"
    );
    assert_eq!(
        a.json["guard"],
        "redacted: an e-mail address and a phone number"
    );

    let before = app.case(&case).await["messages"].as_array().unwrap().len();
    let a = app
        .post(
            &path,
            &app.agent,
            &json!({"text": "You have a Guaranteed  Refund, card 4111 1111 1111 1111"}),
        )
        .await;
    let p = a.assert_problem(422, "reply_blocked");
    assert_eq!(
        p["detail"],
        "blocked: contains the banned phrase \"guaranteed refund\" and a card number"
    );
    assert_eq!(p["errors"][0]["kind"], "banned_phrase");
    assert!(
        !a.text.contains("4111"),
        "the card number is never echoed: {}",
        a.text
    );
    assert_eq!(
        app.case(&case).await["messages"].as_array().unwrap().len(),
        before,
        "nothing stored"
    );

    // Private conversations are not guarded (the customer may need their own data).
    let body = json!({"id": "dm-1", "from": {"id": "u-9"}, "text": "my number?"});
    app.deliver(&ch, &body.to_string()).await;
    let dm = app.wait_for_message("dm-1").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = app
        .post(
            &format!("/api/v1/cases/{dm}/replies"),
            &app.agent,
            &json!({"text": "It is +49 30 1234567"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(a.json["text"], "It is +49 30 1234567");
    assert!(a.json.get("guard").is_none());
}

#[tokio::test]
async fn transfers_move_the_case_with_its_history_and_a_reason() {
    let (app, ch, teams) = setup().await;
    let case = public_case(&app, &ch, "m-1", "Hello there").await;
    let before = app.case(&case).await;
    assert_eq!(before["team"], teams["pr"]);
    let sue = person(&app, "sue", "agent").await;
    let support = teams["support"].as_str().unwrap();
    app.post(
        &format!("/api/v1/teams/{support}/members"),
        &app.admin,
        &json!({"user_id": sue.id}),
    )
    .await;
    let path = format!("/api/v1/cases/{case}/transfer");
    let rita = person(&app, "rita", "reviewer").await;
    let tom = person(&app, "tom", "agent").await;

    // Bad input changes nothing; a reviewer, who only approves replies, is not handed a case,
    // nor is an agent outside the team that will own it (Tom is in no team; Sue is not in PR).
    let cases: [(Value, u16, &str); 8] = [
        (
            json!({"team": support, "assignee": rita.id, "reason": "why"}),
            422,
            "assignee",
        ),
        (
            json!({"team": support, "assignee": tom.id, "reason": "why"}),
            422,
            "assignee",
        ),
        (
            json!({"assignee": sue.id, "reason": "why"}),
            422,
            "assignee",
        ),
        (json!({"team": support}), 400, "reason"),
        (json!({"team": support, "reason": ""}), 400, "reason"),
        (json!({"reason": "why"}), 400, "team"),
        (json!({"team": "not-an-id", "reason": "why"}), 400, "team"),
        (
            json!({"team": "0193a000-0000-7000-8000-000000000000", "reason": "why"}),
            422,
            "team",
        ),
    ];
    for (body, status, field) in cases {
        let a = app.post(&path, &app.agent, &body).await;
        assert_eq!(a.status.as_u16(), status, "{body}: {}", a.text);
        assert_eq!(a.json["field"], field, "{body}: {}", a.text);
    }
    assert_eq!(app.case(&case).await["team"], teams["pr"]);
    let a = app
        .post(
            &path,
            &app.agent,
            &json!({"team": support, "assignee": tom.id, "reason": "why"}),
        )
        .await;
    assert!(
        a.json["detail"]
            .as_str()
            .unwrap()
            .ends_with("tom is not in the team \"Support\": add them to the team first, or transfer the case to a team they are in"),
        "{}",
        a.text
    );

    // To Support: its round robin picks Sue (she is online since she logged in).
    let a = app
        .post(
            &path,
            &app.agent,
            &json!({"team": support, "reason": "A billing question, not PR"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(
        (&a.json["team"], &a.json["assignee"]),
        (&teams["support"], &json!(sue.id))
    );
    let after = app.case(&case).await;
    let messages = after["messages"].as_array().unwrap();
    assert_eq!(messages[0]["text"], "Hello there", "the history goes along");
    let note = messages.last().unwrap();
    assert_eq!(note["direction"], "note");
    assert_eq!(
        note["text"],
        "Transferred from PR (nobody) to Support (sue): A billing question, not PR"
    );
    let audit = app.get("/api/v1/audit", &app.admin).await;
    let entry = audit.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "case.transferred")
        .cloned()
        .unwrap();
    assert_eq!(entry["details"]["reason"], "A billing question, not PR");
    assert_eq!(entry["details"]["to"]["assignee"], json!(sue.id));
}

/// Reports count held replies: how many, how many rejected, and how long each waited for the
/// reviewer's decision (issue 9).
#[tokio::test]
async fn reports_count_approvals_their_wait_and_rejections() {
    let (app, ch, teams) = setup().await;
    let case = public_case(&app, &ch, "r-1", "Is there an outage?").await;
    let ann = person(&app, "ann", "agent").await;
    let rita = person(&app, "rita", "reviewer").await;
    let a = app
        .post(
            &format!("/api/v1/teams/{}/members", teams["legal"].as_str().unwrap()),
            &app.admin,
            &json!({"user_id": rita.id}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let mut held = Vec::new();
    for text in ["We are on it.", "It is fixed, sorry!", "Still checking."] {
        let a = as_person(
            &app,
            &ann,
            Method::POST,
            &format!("/api/v1/cases/{case}/replies"),
            json!({ "text": text }),
        )
        .await;
        assert_eq!(a.json["delivery_state"], "pending_approval", "{}", a.text);
        held.push(a.json["id"].as_str().unwrap().to_owned());
    }
    let a = as_person(
        &app,
        &rita,
        Method::POST,
        &format!("/api/v1/messages/{}/approve", held[0]),
        json!({}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = as_person(
        &app,
        &rita,
        Method::POST,
        &format!("/api/v1/messages/{}/reject", held[1]),
        json!({"comment": "not yet"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);

    let r = app
        .get("/api/v1/reports/kpis?group_by=none", &app.admin)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let row = &r.json["rows"][0];
    assert_eq!(
        (
            &row["approvals"],
            &row["approvals_rejected"],
            &row["approvals_waiting"]
        ),
        (&json!(3), &json!(1), &json!(1)),
        "{row}"
    );
    assert_eq!(row["rejection_rate"], 0.5, "{row}");
    assert_eq!(row["approval_wait"]["count"], 2, "{row}");
    assert!(
        row["approval_wait"]["p90_s"].as_f64().unwrap() >= 0.0,
        "{row}"
    );
    // The approved reply is the first response; the rejected and waiting ones never count.
    assert_eq!(row["first_response"]["count"], 1, "{row}");
}

//! Merging and splitting cases, and replying on a chosen conversation: a public mention and
//! the private message that follows it become one case, answered on either, and split apart
//! again.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A webhook body from `from` on `conversation`, public or private.
fn post(id: &str, conversation: &str, public: bool, from: &str, text: &str) -> String {
    json!({
        "id": id,
        "conversation": conversation,
        "public": public,
        "from": {"id": from, "name": "Ann Lee"},
        "text": text,
    })
    .to_string()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no string {key:?} in {v}"))
}

/// The id of the message with this external id in a case detail.
fn message_id(detail: &Value, external_id: &str) -> String {
    detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["external_id"] == external_id)
        .map(|m| str_of(m, "id").to_owned())
        .unwrap_or_else(|| panic!("no message {external_id} in {detail}"))
}

/// Every case with its messages (without the SLA view, which depends on the time of asking).
async fn everything(app: &TestApp) -> Vec<Value> {
    let mut out = Vec::new();
    for c in app.all_cases().await {
        let mut detail = app.case(str_of(&c, "id")).await;
        detail.as_object_mut().unwrap().remove("sla");
        out.push(detail);
    }
    out
}

#[tokio::test]
async fn a_public_mention_and_its_follow_up_dm_become_one_case_and_split_again() {
    mention_and_dm(&spawn_app().await).await;
}

#[tokio::test]
async fn a_public_mention_and_its_follow_up_dm_become_one_case_and_split_again_on_postgres() {
    let test = "a_public_mention_and_its_follow_up_dm_become_one_case_and_split_again_on_postgres";
    if let Some(app) = spawn_app_pg(test).await {
        mention_and_dm(&app).await;
    }
}

async fn mention_and_dm(app: &TestApp) {
    let partner = FakePartner::start(&[], 200).await;
    let social = app.create_channel(&partner.url).await;
    let messenger = app.create_channel(&partner.url).await;
    // The same person, as two contacts: the mention's author on one channel, and the DM's on
    // another.
    app.deliver(
        &social,
        &post(
            "post-1",
            "post-1",
            true,
            "@ann",
            "@shop my order never came",
        ),
    )
    .await;
    let mention = app.wait_for_message("post-1").await;
    app.deliver(
        &messenger,
        &post("dm-1", "dm-ann", false, "ann-dm", "It's order 42"),
    )
    .await;
    let dm = app.wait_for_message("dm-1").await;
    let (a, b) = (str_of(&mention, "id"), str_of(&dm, "id"));
    let (public, private) = (
        str_of(&mention, "conversation_id"),
        str_of(&dm, "conversation_id"),
    );
    assert_ne!(mention["contact_id"], dm["contact_id"]);
    let merge = format!("/api/v1/cases/{a}/merge");

    // Two contacts: refused unless asked to merge them too; nothing changes.
    let before = everything(app).await;
    let r = app.post(&merge, &app.agent, &json!({"cases": [b]})).await;
    let p = r.assert_problem(422, "contacts_differ");
    assert_eq!(p["field"], "merge_contacts");
    assert!(
        str_of(p, "detail").contains("\"merge_contacts\": true"),
        "{p}"
    );
    assert_eq!(everything(app).await, before);

    let r = app
        .post(
            &merge,
            &app.agent,
            &json!({"cases": [b], "merge_contacts": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["id"], a);
    assert_eq!(r.json["merged_into"], Value::Null);
    assert_eq!(r.json["conversation_id"], public);
    let merged = app.case(a).await;
    let messages = merged["messages"].as_array().unwrap();
    assert_eq!(
        messages
            .iter()
            .map(|m| (str_of(m, "external_id"), str_of(m, "conversation_id")))
            .collect::<Vec<_>>(),
        [("post-1", public), ("dm-1", private)],
        "both messages in time order, each on its own conversation"
    );
    assert_eq!(
        messages
            .iter()
            .map(|m| str_of(m, "channel_id"))
            .collect::<Vec<_>>(),
        [social.id.as_str(), messenger.id.as_str()]
    );
    let source = app.case(b).await;
    assert_eq!(
        (&source["status"], &source["merged_into"]),
        (&json!("closed"), &json!(a))
    );
    assert_eq!(source["messages"], json!([]));
    assert_eq!(source["contact_id"], merged["contact_id"]);
    let contact = app
        .get(
            &format!("/api/v1/contacts/{}", str_of(&merged, "contact_id")),
            &app.agent,
        )
        .await;
    assert_eq!(contact.status, StatusCode::OK, "{}", contact.text);
    let mut ids: Vec<&str> = contact.json["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| str_of(i, "external_id"))
        .collect();
    ids.sort();
    assert_eq!(ids, ["@ann", "ann-dm"]);

    // Reply in private: an e-mail address is fine there (the public comment would block it),
    // and the reply goes out on the DM thread, to the DM's author.
    let replies = format!("/api/v1/cases/{a}/replies");
    let text = "Please write to help@example.com with the order number";
    let r = app.post(&replies, &app.agent, &json!({"text": text})).await;
    r.assert_problem(422, "reply_blocked");
    let r = app
        .post(
            &replies,
            &app.agent,
            &json!({"text": text, "conversation_id": private}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        (
            &r.json["conversation_id"],
            &r.json["text"],
            &r.json["guard"]
        ),
        (&json!(private), &json!(text), &Value::Null)
    );
    let reply = str_of(&r.json, "id").to_owned();
    let sent = wait_for("the DM reply to reach the partner", || async {
        partner.received().into_iter().next()
    })
    .await;
    let body: Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(
        body,
        json!({
            "id": reply,
            "conversation": "dm-ann",
            "in_reply_to": "dm-1",
            "to": {"id": "ann-dm"},
            "text": text,
        })
    );

    // A conversation that is not the case's is refused.
    app.deliver(&messenger, &post("x-1", "dm-bob", false, "bob", "hello"))
        .await;
    let other = app.wait_for_message("x-1").await;
    let before = everything(app).await;
    let r = app
        .post(
            &replies,
            &app.agent,
            &json!({"text": "hi", "conversation_id": other["conversation_id"]}),
        )
        .await;
    assert_eq!(
        r.assert_problem(422, "conversation_not_in_case")["field"],
        "conversation_id"
    );
    let r = app
        .post(
            &replies,
            &app.agent,
            &json!({"text": "hi", "conversation_id": "dm-ann"}),
        )
        .await;
    assert_eq!(
        r.assert_problem(400, "invalid_field")["field"],
        "conversation_id"
    );
    assert_eq!(everything(app).await, before);

    // Split the private conversation off again: a new open case on it.
    let dm1 = message_id(&merged, "dm-1");
    let r = app
        .post(
            &format!("/api/v1/cases/{a}/split"),
            &app.agent,
            &json!({"messages": [dm1, reply]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let new = str_of(&r.json, "id").to_owned();
    assert_ne!(new, a);
    assert_ne!(new, b);
    assert_eq!(
        (
            &r.json["status"],
            &r.json["conversation_id"],
            &r.json["public"]
        ),
        (&json!("open"), &json!(private), &json!(false))
    );
    assert_eq!(r.json["contact_id"], merged["contact_id"]);
    let split = app.case(&new).await;
    assert_eq!(
        split["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| str_of(m, "id"))
            .collect::<Vec<_>>(),
        [dm1.as_str(), reply.as_str()]
    );
    let left = app.case(a).await;
    assert_eq!(
        left["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| str_of(m, "external_id"))
            .collect::<Vec<_>>(),
        ["post-1"]
    );

    let audit = app.get("/api/v1/audit?limit=200", &app.admin).await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.text);
    let actions: Vec<&str> = audit.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| str_of(e, "action"))
        .collect();
    for action in ["case.merged", "contact.merged", "case.split"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

#[tokio::test]
async fn bad_merges_and_splits_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let ch = app.create_channel(NOWHERE).await;
    app.deliver(&ch, &message("a-1", "t-a", "u-1", "hello"))
        .await;
    app.deliver(&ch, &message("a-2", "t-a", "u-1", "again"))
        .await;
    app.deliver(&ch, &message("b-1", "t-b", "u-1", "other thing"))
        .await;
    // Someone else on the same channel.
    app.deliver(&ch, &message("c-1", "t-c", "u-2", "hi")).await;
    app.wait_for_inbound(4).await;
    let case_a = app.wait_for_message("a-1").await;
    let case_b = app.wait_for_message("b-1").await;
    let case_c = app.wait_for_message("c-1").await;
    let (a, b, c) = (
        str_of(&case_a, "id"),
        str_of(&case_b, "id"),
        str_of(&case_c, "id"),
    );
    let (a1, a2, b1) = (
        message_id(&case_a, "a-1"),
        message_id(&case_a, "a-2"),
        message_id(&case_b, "b-1"),
    );
    let unknown = "01a209e6-fe34-7cf2-83a6-c0d402817878";
    let merge = format!("/api/v1/cases/{a}/merge");
    let split = format!("/api/v1/cases/{a}/split");

    let before = everything(&app).await;
    let cases: [(&str, Value, u16, &str, Option<&str>); 18] = [
        (
            &format!("/api/v1/cases/{unknown}/merge"),
            json!({"cases": [b]}),
            404,
            "not_found",
            None,
        ),
        (
            "/api/v1/cases/42/merge",
            json!({"cases": [b]}),
            404,
            "not_found",
            None,
        ),
        (
            &merge,
            json!({"cases": [unknown]}),
            422,
            "unknown_case",
            Some("cases"),
        ),
        (
            &merge,
            json!({"cases": [a]}),
            422,
            "self_merge",
            Some("cases"),
        ),
        (
            &merge,
            json!({"cases": []}),
            400,
            "invalid_field",
            Some("cases"),
        ),
        (
            &merge,
            json!({"cases": [b, c]}),
            422,
            "contacts_differ",
            Some("merge_contacts"),
        ),
        (
            &merge,
            json!({"cases": [c], "merge_contacts": true}),
            422,
            "identities_clash",
            Some("merge_contacts"),
        ),
        (
            &merge,
            json!({"cases": ["nope"]}),
            400,
            "invalid_field",
            Some("cases"),
        ),
        (
            &merge,
            json!({"cases": [b, b]}),
            400,
            "invalid_field",
            Some("cases"),
        ),
        (
            &merge,
            json!({"cases": b}),
            400,
            "invalid_field",
            Some("cases"),
        ),
        (
            &merge,
            json!({"cases": [b], "force": true}),
            400,
            "invalid_field",
            Some("force"),
        ),
        (
            &split,
            json!({"messages": [a1, a2]}),
            422,
            "split_takes_all",
            Some("messages"),
        ),
        (
            &split,
            json!({"messages": [b1]}),
            422,
            "message_not_in_case",
            Some("messages"),
        ),
        (
            &split,
            json!({"messages": [unknown]}),
            422,
            "message_not_in_case",
            Some("messages"),
        ),
        (
            &split,
            json!({"messages": []}),
            400,
            "invalid_field",
            Some("messages"),
        ),
        (
            &split,
            json!({"messages": [a1, a1]}),
            400,
            "invalid_field",
            Some("messages"),
        ),
        (
            &split,
            json!({"messages": [a1], "cases": [b]}),
            400,
            "invalid_field",
            Some("cases"),
        ),
        (
            &format!("/api/v1/cases/{unknown}/split"),
            json!({"messages": [a1]}),
            404,
            "not_found",
            None,
        ),
    ];
    for (path, body, status, code, field) in cases {
        let r = app.post(path, &app.agent, &body).await;
        let p = r.assert_problem(status, code);
        assert_eq!(
            p.get("field").and_then(Value::as_str),
            field,
            "{path} {body}: {p}"
        );
        assert_eq!(
            everything(&app).await,
            before,
            "{path} {body} changed something"
        );
    }
    // Merging and splitting need the permission to work cases.
    for path in [&merge, &split] {
        let r = app
            .post(
                path,
                &app.reviewer,
                &json!({"cases": [b], "messages": [a1]}),
            )
            .await;
        r.assert_problem(403, "forbidden");
    }
    assert_eq!(everything(&app).await, before);

    // A merged case cannot be merged again, nor be merged into.
    let r = app.post(&merge, &app.agent, &json!({"cases": [b]})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let before = everything(&app).await;
    let r = app.post(&merge, &app.agent, &json!({"cases": [b]})).await;
    assert_eq!(
        r.assert_problem(422, "case_merged")["field"],
        "cases",
        "{}",
        r.text
    );
    let r = app
        .post(
            &format!("/api/v1/cases/{b}/merge"),
            &app.agent,
            &json!({"cases": [a]}),
        )
        .await;
    r.assert_problem(422, "case_merged");
    let r = app
        .post(
            &format!("/api/v1/cases/{a}/split"),
            &app.agent,
            &json!({"messages": [a1, b1]}),
        )
        .await;
    r.assert_problem(422, "split_across_conversations");
    assert_eq!(everything(&app).await, before);
}

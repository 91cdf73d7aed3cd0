//! The generic signed-webhook channel, inbound: the happy path, every bad input, duplicates,
//! threading (issue items 3, 4 and 8).

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn the_issue_example_opens_a_new_tier1_case_with_the_message() {
    let app = spawn_app().await;
    let ch = app.create_channel(NOWHERE).await;
    let accepted_before = app.webhook_outcomes("accepted").await;

    let a = app.post_webhook(&ch, ISSUE_BODY).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["status"], "accepted", "{}", a.text);
    assert!(a.json["event_id"].is_string(), "{}", a.text);
    assert!(app.webhook_outcomes("accepted").await > accepted_before);

    let listed = wait_for("the case in GET /api/v1/cases", || async {
        let cases = app.all_cases().await;
        (!cases.is_empty()).then_some(cases)
    })
    .await;
    assert_eq!(listed.len(), 1, "{listed:#?}");
    let case = &listed[0];
    assert_eq!(case["status"], "new");
    assert_eq!(case["purpose"], "tier1");
    assert_eq!(case["priority"], "normal");
    assert_eq!(case["assignee"], Value::Null);
    assert_eq!(case["team"], Value::Null);
    assert_eq!(case["tags"], json!([]));
    assert_eq!(case["channel_id"], ch.id.as_str());
    assert_eq!(case["public"], false);

    let detail = app.case(case["id"].as_str().unwrap()).await;
    assert_eq!(detail["id"], case["id"]);
    let messages = detail["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{detail:#}");
    let m = &messages[0];
    assert_eq!(m["direction"], "inbound");
    assert_eq!(m["text"], "…");
    assert_eq!(m["external_id"], "ext-1");
    assert_eq!(m["author"]["kind"], "contact");
    assert_eq!(m["author"]["name"], "Ann Lee");
    assert_eq!(m["author"]["id"], case["contact_id"]);
    assert_eq!(m["sent_at"], "2026-11-22T10:00:00Z");
    assert_eq!(m["delivery_state"], "received");
    assert_eq!(m["case_id"], case["id"]);

    // The contact: identity = channel + the sender's id there.
    let contact_id = case["contact_id"].as_str().unwrap();
    let contact = app
        .get(&format!("/api/v1/contacts/{contact_id}"), &app.admin)
        .await;
    assert_eq!(contact.status, StatusCode::OK, "{}", contact.text);
    assert_eq!(contact.json["display_name"], "Ann Lee");
    assert_eq!(
        contact.json["identities"],
        json!([{
            "channel_id": ch.id,
            "channel_kind": "webhook",
            "external_id": "u-1",
            "name": "Ann Lee",
            "handle": "@ann",
            "followers": null,
            "verified": null,
        }])
    );
    let timeline = app
        .get(
            &format!("/api/v1/contacts/{contact_id}/timeline"),
            &app.admin,
        )
        .await;
    assert_eq!(timeline.status, StatusCode::OK, "{}", timeline.text);
    let items = timeline.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", timeline.text);
    assert_eq!(items[0]["id"], m["id"]);
    assert_eq!(items[0]["text"], "…");
    assert_eq!(timeline.json["next_cursor"], Value::Null);

    // The secret is shown once: never again on the channel.
    let shown = app
        .get(&format!("/api/v1/channels/{}", ch.id), &app.admin)
        .await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.text);
    assert_eq!(shown.json["id"], ch.id.as_str());
    assert!(!shown.text.contains(&ch.secret), "{}", shown.text);
    let listed = app.get("/api/v1/channels", &app.admin).await;
    assert!(!listed.text.contains(&ch.secret), "{}", listed.text);
}

/// After a rejected request, a good one is delivered and processed; then exactly that one
/// message must exist. (Ingest is in order, so a wrongly stored bad request would show by now.)
async fn assert_only_the_sentinel_is_stored(app: &TestApp, ch: &Channel) {
    app.deliver(ch, &message("sentinel", "sentinel-thread", "s-1", "hi"))
        .await;
    app.wait_for_message("sentinel").await;
    let msgs = app.all_messages().await;
    assert_eq!(msgs.len(), 1, "only the sentinel is stored: {msgs:#?}");
    assert_eq!(msgs[0]["external_id"], "sentinel");
    assert_eq!(app.all_cases().await.len(), 1);
}

#[tokio::test]
async fn a_wrong_signature_is_401_and_stores_nothing() {
    let app = spawn_app().await;
    let ch = app.create_channel(NOWHERE).await;
    let before = app.webhook_outcomes("bad_signature").await;

    let body = ISSUE_BODY.as_bytes().to_vec();
    let signed_with_other_secret = sign("not the secret", &body);
    let a = app
        .post_webhook_with(&ch.id, Some(&signed_with_other_secret), body.clone())
        .await;
    let p = a.assert_problem(401, "bad_signature");
    assert!(p["detail"].as_str().unwrap().contains("signature"), "{p}");

    // The right signature over a different body is still wrong for this body.
    let other = sign(&ch.secret, b"{}");
    app.post_webhook_with(&ch.id, Some(&other), body.clone())
        .await
        .assert_problem(401, "bad_signature");
    // Not hex, and not sha256=.
    app.post_webhook_with(&ch.id, Some("sha256=zz"), body.clone())
        .await
        .assert_problem(401, "bad_signature");
    let bare = sign(&ch.secret, &body).replace("sha256=", "");
    app.post_webhook_with(&ch.id, Some(&bare), body.clone())
        .await
        .assert_problem(401, "bad_signature");

    assert!(app.webhook_outcomes("bad_signature").await >= before + 4.0);
    // Nothing was stored raw either: the same id, signed properly, is new (not a duplicate).
    app.deliver(&ch, ISSUE_BODY).await;
    app.wait_for_message("ext-1").await;
    assert_eq!(app.all_messages().await.len(), 1);
}

#[tokio::test]
async fn a_missing_signature_is_401_and_stores_nothing() {
    let app = spawn_app().await;
    let ch = app.create_channel(NOWHERE).await;
    let before = app.webhook_outcomes("bad_signature").await;

    let a = app
        .post_webhook_with(&ch.id, None, ISSUE_BODY.as_bytes().to_vec())
        .await;
    let p = a.assert_problem(401, "bad_signature");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("x-switchboard-signature"),
        "the problem names the header: {p}"
    );
    assert!(app.webhook_outcomes("bad_signature").await > before);
    assert_only_the_sentinel_is_stored(&app, &ch).await;
    // And the unsigned id was not remembered as seen.
    app.deliver(&ch, ISSUE_BODY).await;
}

/// A valid message padded with trailing whitespace to exactly `len` bytes.
fn padded_message(id: &str, len: usize) -> Vec<u8> {
    let mut body = message(id, "big", "u-big", "a large body").into_bytes();
    assert!(body.len() < len);
    body.resize(len, b' ');
    body
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_413_and_exactly_one_mebibyte_is_accepted() {
    let app = spawn_app().await;
    let ch = app.create_channel(NOWHERE).await;
    let before = app.webhook_outcomes("too_large").await;

    let over = padded_message("too-big", 1024 * 1024 + 1);
    let sig = sign(&ch.secret, &over);
    app.post_webhook_with(&ch.id, Some(&sig), over)
        .await
        .assert_problem(413, "too_large");
    assert!(app.webhook_outcomes("too_large").await > before);

    // Without a Content-Length the limit still holds (chunked transfer encoding).
    let status = post_chunked(
        &app,
        &format!("/hooks/webhook/{}", ch.id),
        &padded_message("too-big-chunked", 2 * 1024 * 1024),
    )
    .await;
    assert_eq!(status, 413);
    assert!(app.webhook_outcomes("too_large").await >= before + 2.0);

    // The limit is inclusive: 1 MiB itself is fine.
    let exact = padded_message("just-fits", 1024 * 1024);
    let sig = sign(&ch.secret, &exact);
    let a = app.post_webhook_with(&ch.id, Some(&sig), exact).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["status"], "accepted");
    app.wait_for_message("just-fits").await;
    let msgs = app.all_messages().await;
    assert_eq!(msgs.len(), 1, "{msgs:#?}");
    assert_eq!(msgs[0]["external_id"], "just-fits");
}

/// POSTs `body` with `Transfer-Encoding: chunked` (no Content-Length) over a plain socket and
/// returns the status code of the answer.
async fn post_chunked(app: &TestApp, path: &str, body: &[u8]) -> u16 {
    let host = app.address.trim_start_matches("http://");
    let stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         X-Switchboard-Signature: sha256=00\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let body = body.to_vec();
    // Write and read at once: the server may answer (and stop reading) before the end.
    let writer = tokio::spawn(async move {
        wr.write_all(head.as_bytes()).await?;
        for chunk in body.chunks(64 * 1024) {
            wr.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await?;
            wr.write_all(chunk).await?;
            wr.write_all(b"\r\n").await?;
        }
        wr.write_all(b"0\r\n\r\n").await?;
        std::io::Result::Ok(())
    });
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(15), async {
        let mut buf = [0u8; 4096];
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    writer.abort();
    assert!(read.is_ok(), "no answer to the chunked request");
    let text = String::from_utf8_lossy(&got);
    text.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"))
}

#[tokio::test]
async fn malformed_json_is_400_and_stores_nothing() {
    let app = spawn_app().await;
    let ch = app.create_channel(NOWHERE).await;
    let before = app.webhook_outcomes("bad_request").await;

    for body in [&b"{\"id\": \"ext-1\", "[..], b"not json at all", b"[1,2,3]"] {
        let sig = sign(&ch.secret, body);
        let a = app
            .post_webhook_with(&ch.id, Some(&sig), body.to_vec())
            .await;
        a.assert_problem(400, "malformed_body");
    }
    assert!(app.webhook_outcomes("bad_request").await >= before + 3.0);
    assert_only_the_sentinel_is_stored(&app, &ch).await;
}

#[tokio::test]
async fn a_missing_field_is_400_naming_the_field_and_stores_nothing() {
    let app = spawn_app().await;
    let ch = app.create_channel(NOWHERE).await;
    let before = app.webhook_outcomes("bad_request").await;

    let table = [
        (
            json!({"id": "m-1", "from": {"name": "No Id"}, "text": "hi"}),
            "from.id",
        ),
        (json!({"id": "m-2", "text": "hi"}), "from"),
        (json!({"from": {"id": "u-1"}, "text": "hi"}), "id"),
        (json!({"id": "m-3", "from": {"id": "u-1"}}), "text"),
        (
            json!({"id": "m-4", "from": {"id": "u-1"}, "text": "hi", "sent_at": "yesterday"}),
            "sent_at",
        ),
        (
            json!({"id": "m-5", "from": {"id": "u-1"}, "text": "hi", "public": "yes"}),
            "public",
        ),
        (
            json!({"id": "m-6", "from": {"id": "u-1"}, "text": "x".repeat(65 * 1024)}),
            "text",
        ),
        (
            json!({"id": "m-7", "from": {"id": "u-1", "name": 7}, "text": "hi"}),
            "from.name",
        ),
    ];
    for (body, field) in &table {
        let body = body.to_string();
        let a = app.post_webhook(&ch, &body).await;
        let p = a.assert_problem(400, "invalid_field");
        assert_eq!(p["field"], *field, "{body}: {p}");
        assert!(
            p["detail"].as_str().unwrap().contains(field),
            "the detail names the field: {p}"
        );
    }
    assert!(app.webhook_outcomes("bad_request").await >= before + table.len() as f64);
    assert_only_the_sentinel_is_stored(&app, &ch).await;
}

#[tokio::test]
async fn an_unknown_channel_is_404() {
    let app = spawn_app().await;
    let ch = app.create_channel(NOWHERE).await;
    let before = app.webhook_outcomes("unknown_channel").await;

    let body = ISSUE_BODY.as_bytes().to_vec();
    let sig = sign(&ch.secret, &body);
    for channel in [
        "0190f5c2-7b1e-7cc0-8a55-4b0e6f6c1a2b".to_owned(),
        uuid::Uuid::now_v7().to_string(),
        "not-a-channel".to_owned(),
    ] {
        let a = app
            .post_webhook_with(&channel, Some(&sig), body.clone())
            .await;
        a.assert_problem(404, "not_found");
    }
    assert!(app.webhook_outcomes("unknown_channel").await >= before + 3.0);
    assert_only_the_sentinel_is_stored(&app, &ch).await;
}

#[tokio::test]
async fn a_duplicate_is_acknowledged_and_stores_nothing_new() {
    let app = spawn_app().await;
    let ch = app.create_channel(NOWHERE).await;
    let before = app.webhook_outcomes("duplicate").await;

    app.deliver(&ch, ISSUE_BODY).await;
    // Straight away (maybe not yet processed) …
    let a = app.post_webhook(&ch, ISSUE_BODY).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json, json!({"status": "duplicate"}));
    app.wait_for_message("ext-1").await;
    // … and after processing, even with a different body under the same id.
    let changed = ISSUE_BODY.replace('…', "edited");
    let a = app.post_webhook(&ch, &changed).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json, json!({"status": "duplicate"}));
    assert!(app.webhook_outcomes("duplicate").await >= before + 2.0);

    app.deliver(&ch, &message("later", "other-thread", "u-2", "x"))
        .await;
    app.wait_for_message("later").await;
    let msgs = app.all_messages().await;
    assert_eq!(msgs.len(), 2, "{msgs:#?}");
    let ext1: Vec<&Value> = msgs
        .iter()
        .filter(|m| m["external_id"] == "ext-1")
        .collect();
    assert_eq!(ext1.len(), 1);
    assert_eq!(ext1[0]["text"], "…");

    // The same external id on another channel is another message.
    let other = app.create_channel(NOWHERE).await;
    app.deliver(&other, ISSUE_BODY).await;
    app.wait_for_inbound(3).await;
}

#[tokio::test]
async fn messages_thread_into_cases_and_contacts_across_conversations() {
    let app = spawn_app().await;
    let ch = app.create_channel(NOWHERE).await;

    app.deliver(&ch, &message("a", "thread-1", "u-1", "first"))
        .await;
    app.wait_for_inbound(1).await;
    app.deliver(&ch, &message("b", "thread-1", "u-1", "second"))
        .await;
    app.wait_for_inbound(2).await;
    let cases = app.all_cases().await;
    assert_eq!(cases.len(), 1, "same conversation, same case: {cases:#?}");
    let first = app.case(cases[0]["id"].as_str().unwrap()).await;
    let texts: Vec<&Value> = first["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["text"])
        .collect();
    assert_eq!(texts, [&json!("first"), &json!("second")]);

    app.deliver(&ch, &message("c", "thread-2", "u-1", "third"))
        .await;
    app.wait_for_inbound(3).await;
    let cases = app.all_cases().await;
    assert_eq!(cases.len(), 2, "another conversation, another case");
    assert_ne!(cases[0]["conversation_id"], cases[1]["conversation_id"]);
    assert_eq!(
        cases[0]["contact_id"], cases[1]["contact_id"],
        "the same sender is one contact"
    );
    let contacts = app.get("/api/v1/contacts", &app.admin).await;
    assert_eq!(contacts.status, StatusCode::OK, "{}", contacts.text);
    assert_eq!(contacts.json["items"].as_array().unwrap().len(), 1);

    let contact = cases[0]["contact_id"].as_str().unwrap();
    let timeline = app
        .get(&format!("/api/v1/contacts/{contact}/timeline"), &app.admin)
        .await;
    let texts: Vec<&Value> = timeline.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["text"])
        .collect();
    assert_eq!(texts, [&json!("first"), &json!("second"), &json!("third")]);

    // Another sender is another contact.
    app.deliver(&ch, &message("d", "thread-3", "u-2", "hello"))
        .await;
    app.wait_for_inbound(4).await;
    let contacts = app.get("/api/v1/contacts", &app.admin).await;
    assert_eq!(contacts.json["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_closed_case_stays_closed_and_a_resolved_one_reopens() {
    let app = spawn_app().await;
    let ch = app.create_channel(NOWHERE).await;

    app.deliver(&ch, &message("a", "t-closed", "u-1", "one"))
        .await;
    app.deliver(&ch, &message("b", "t-resolved", "u-2", "two"))
        .await;
    app.wait_for_inbound(2).await;
    let case_of = |ext: &'static str| {
        let app = &app;
        async move {
            app.wait_for_message(ext).await["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let closed = case_of("a").await;
    let resolved = case_of("b").await;
    let a = app
        .patch(
            &format!("/api/v1/cases/{closed}"),
            &app.admin,
            &json!({"status": "closed"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = app
        .patch(
            &format!("/api/v1/cases/{resolved}"),
            &app.admin,
            &json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["status"], "resolved");

    app.deliver(&ch, &message("a2", "t-closed", "u-1", "again"))
        .await;
    app.deliver(&ch, &message("b2", "t-resolved", "u-2", "again"))
        .await;
    app.wait_for_inbound(4).await;

    let old = app.case(&closed).await;
    assert_eq!(old["status"], "closed");
    assert_eq!(old["messages"].as_array().unwrap().len(), 1);
    let new = app.wait_for_message("a2").await;
    assert_ne!(new["id"], closed.as_str(), "a closed case is final");
    assert_eq!(new["status"], "new");
    assert_eq!(new["conversation_id"], old["conversation_id"]);

    let reopened = app.case(&resolved).await;
    assert_eq!(reopened["status"], "open");
    assert_eq!(reopened["reopen_count"], 1);
    assert_eq!(reopened["messages"].as_array().unwrap().len(), 2);
    assert_eq!(app.all_cases().await.len(), 3);
}

#[tokio::test]
async fn messages_posted_in_a_row_keep_their_order_on_the_case() {
    let app = spawn_app().await;
    let ch = app.create_channel(NOWHERE).await;
    let n = 30;
    for i in 0..n {
        let body = json!({
            "id": format!("m-{i:02}"),
            "conversation": "burst",
            "from": {"id": "u-1"},
            "text": format!("part {i:02}"),
            "sent_at": format!("2026-11-22T10:00:{i:02}Z"),
        })
        .to_string();
        app.deliver(&ch, &body).await;
    }
    let msgs = app.wait_for_inbound(n).await;
    let texts: Vec<String> = msgs
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect();
    let want: Vec<String> = (0..n).map(|i| format!("part {i:02}")).collect();
    assert_eq!(texts, want, "messages in time order");
}

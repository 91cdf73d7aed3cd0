//! Replies: signed POSTs to the channel's `outbound_url`, retried with backoff, ending
//! `delivered` or `failed` with the reason (issue item 3, outbound).

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A server, a fake partner answering from `script` then `otherwise`, a channel pointing at it,
/// and the case the issue's example message opened.
async fn setup(script: &[u16], otherwise: u16) -> (TestApp, FakePartner, Channel, String) {
    let app = spawn_app().await;
    let partner = FakePartner::start(script, otherwise).await;
    let ch = app.create_channel(&partner.url).await;
    app.deliver(&ch, ISSUE_BODY).await;
    let case = app.wait_for_message("ext-1").await;
    let id = case["id"].as_str().unwrap().to_owned();
    (app, partner, ch, id)
}

async fn reply(app: &TestApp, case: &str, text: &str) -> Value {
    let a = app
        .post(
            &format!("/api/v1/cases/{case}/replies"),
            &app.agent,
            &json!({"text": text}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(a.json["direction"], "outbound");
    assert_eq!(a.json["text"], text);
    assert_eq!(a.json["author"]["name"], AGENT_TOKEN_NAME);
    a.json
}

/// Waits until the message's delivery state is final; returns the message.
async fn wait_final(app: &TestApp, case: &str, message: &str) -> Value {
    wait_for(
        &format!("message {message} to be delivered or failed"),
        || async {
            let detail = app.case(case).await;
            let m = detail["messages"]
                .as_array()?
                .iter()
                .find(|m| m["id"] == message)?
                .clone();
            matches!(m["delivery_state"].as_str(), Some("delivered" | "failed")).then_some(m)
        },
    )
    .await
}

fn assert_signed(r: &Received, secret: &str) {
    let sig = r
        .headers
        .get("x-switchboard-signature")
        .and_then(|v| v.to_str().ok())
        .expect("X-Switchboard-Signature");
    assert_eq!(
        sig,
        sign(secret, &r.body),
        "the signature is over the raw body"
    );
}

fn idempotency_key(r: &Received) -> String {
    r.headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .expect("Idempotency-Key")
        .to_owned()
}

#[tokio::test]
async fn a_reply_is_posted_signed_to_the_partner_and_delivered() {
    let (app, partner, ch, case) = setup(&[], 200).await;
    let sent = reply(&app, &case, "Hi Ann, it is on its way").await;
    let id = sent["id"].as_str().unwrap();
    assert!(
        matches!(
            sent["delivery_state"].as_str(),
            Some("queued" | "sending" | "delivered")
        ),
        "{sent}"
    );

    let m = wait_final(&app, &case, id).await;
    assert_eq!(m["delivery_state"], "delivered", "{m}");
    assert_eq!(m["delivery_error"], Value::Null);
    assert_eq!(m["attempts"], 1);

    let got = partner.received();
    assert_eq!(got.len(), 1, "exactly one POST: {got:?}");
    let r = &got[0];
    let body: Value = serde_json::from_slice(&r.body).expect("a JSON body");
    assert_eq!(
        body,
        json!({
            "id": id,
            "conversation": "thread-9",
            "in_reply_to": "ext-1",
            "to": {"id": "u-1"},
            "text": "Hi Ann, it is on its way",
        })
    );
    assert_signed(r, &ch.secret);
    assert_eq!(idempotency_key(r), id);
    assert_eq!(
        r.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json")
    );

    // Replying is a first response: the new case is now open.
    let detail = app.case(&case).await;
    assert_eq!(detail["status"], "open");
    assert!(detail["first_response_at"].is_string(), "{detail}");
    let directions: Vec<&Value> = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["direction"])
        .collect();
    assert_eq!(directions, [&json!("inbound"), &json!("outbound")]);
}

#[tokio::test]
async fn server_errors_are_retried_with_the_same_idempotency_key() {
    let (app, partner, ch, case) = setup(&[500, 503], 200).await;
    let sent = reply(&app, &case, "third time lucky").await;
    let id = sent["id"].as_str().unwrap();

    let m = wait_final(&app, &case, id).await;
    assert_eq!(m["delivery_state"], "delivered", "{m}");
    assert_eq!(m["attempts"], 3);
    let got = partner.received();
    assert_eq!(got.len(), 3, "{got:?}");
    for r in &got {
        assert_eq!(idempotency_key(r), id);
        assert_signed(r, &ch.secret);
        assert_eq!(r.body, got[0].body, "every attempt sends the same body");
    }
}

#[tokio::test]
async fn a_reply_fails_with_the_reason_after_the_last_attempt() {
    let (app, partner, _ch, case) = setup(&[], 500).await;
    let sent = reply(&app, &case, "anyone there?").await;
    let id = sent["id"].as_str().unwrap();

    let m = wait_final(&app, &case, id).await;
    assert_eq!(m["delivery_state"], "failed", "{m}");
    assert_eq!(m["attempts"], 3);
    let error = m["delivery_error"].as_str().expect("a delivery error");
    assert!(error.contains("3 attempts"), "{error}");
    assert!(error.contains("500"), "{error}");
    assert_eq!(partner.received().len(), 3);

    // Never silently dropped: the failure is in the audit log too.
    let audit = app.get("/api/v1/audit", &app.admin).await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.text);
    assert!(
        audit.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "message.failed" && e["subject_id"] == id),
        "{}",
        audit.text
    );
}

#[tokio::test]
async fn a_client_error_fails_at_once() {
    let (app, partner, _ch, case) = setup(&[], 400).await;
    let sent = reply(&app, &case, "rejected").await;
    let id = sent["id"].as_str().unwrap();

    let m = wait_final(&app, &case, id).await;
    assert_eq!(m["delivery_state"], "failed", "{m}");
    assert_eq!(m["attempts"], 1);
    let error = m["delivery_error"].as_str().expect("a delivery error");
    assert!(error.contains("400"), "{error}");
    assert_eq!(partner.received().len(), 1);
}

#[tokio::test]
async fn an_unreachable_partner_fails_after_the_retries() {
    let (app, _partner, _ch, _) = setup(&[], 200).await;
    let ch = app.create_channel(NOWHERE).await;
    app.deliver(&ch, &message("x-1", "t", "u-9", "hello")).await;
    let case = app.wait_for_message("x-1").await;
    let case = case["id"].as_str().unwrap();
    let sent = reply(&app, case, "into the void").await;
    let m = wait_final(&app, case, sent["id"].as_str().unwrap()).await;
    assert_eq!(m["delivery_state"], "failed", "{m}");
    assert_eq!(m["attempts"], 3);
    assert!(
        m["delivery_error"]
            .as_str()
            .is_some_and(|e| e.contains("3 attempts")),
        "{m}"
    );
}

//! The web chat's WebSocket end to end (the widget's side, spoken by a Rust client): origin
//! allow-list, visitor identity, acknowledged and idempotent messages, agents' replies pushed,
//! and a reconnect that resumes after the last sequence number without loss or duplicates.

use crate::helpers::*;
use crate::social::connect;
use futures_util::{SinkExt, StreamExt};
use hmac::Mac;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) const SECRET: &str = "a-widget-secret-of-32-characters";

pub(crate) async fn open(
    app: &TestApp,
    channel: &str,
    origin: Option<&str>,
) -> Result<Socket, u16> {
    let url = format!("{}/chat/{channel}", app.address.replace("http://", "ws://"));
    let mut req = url.into_client_request().expect("request");
    if let Some(o) = origin {
        req.headers_mut()
            .insert("origin", o.parse().expect("origin"));
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((s, _)) => Ok(s),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
        Err(e) => panic!("connect: {e}"),
    }
}

pub(crate) async fn send(s: &mut Socket, v: Value) {
    s.send(Message::Text(v.to_string().into()))
        .await
        .expect("send");
}

/// The next JSON frame, within five seconds.
pub(crate) async fn next(s: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(5), s.next())
            .await
            .expect("a frame within 5 s")
            .expect("open")
            .expect("frame");
        if let Message::Text(t) = frame {
            return serde_json::from_str(&t).expect("json");
        }
    }
}

/// Frames until one of `kind` arrives (others are collected).
pub(crate) async fn until(s: &mut Socket, kind: &str) -> (Value, Vec<Value>) {
    let mut others = Vec::new();
    loop {
        let f = next(s).await;
        if f["type"] == kind {
            return (f, others);
        }
        others.push(f);
    }
}

/// No frame within `ms`.
pub(crate) async fn quiet(s: &mut Socket, ms: u64) -> bool {
    tokio::time::timeout(std::time::Duration::from_millis(ms), s.next())
        .await
        .is_err()
}

fn hs256(claims: Value) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let h = b64.encode(json!({"alg": "HS256", "typ": "JWT"}).to_string());
    let p = b64.encode(claims.to_string());
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(format!("{h}.{p}").as_bytes());
    format!("{h}.{p}.{}", b64.encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn chat_over_websocket_acknowledges_resumes_and_knows_its_visitors() {
    let app = spawn_app().await;
    let id = connect(
        &app,
        "webchat",
        json!({"allowed_origins": ["https://shop.example"], "greeting": "Hi! How can we help?"}),
        json!({"widget_secret": SECRET}),
    )
    .await;

    // Pages not on the list cannot open the chat.
    assert_eq!(open(&app, &id, None).await.err(), Some(403));
    assert_eq!(
        open(&app, &id, Some("https://evil.example")).await.err(),
        Some(403)
    );
    assert_eq!(
        open(
            &app,
            "0190a4d0-0000-7000-8000-000000000000",
            Some("https://shop.example")
        )
        .await
        .err(),
        Some(404)
    );

    // An anonymous visitor says hello and gets a token.
    let mut s = open(&app, &id, Some("https://shop.example"))
        .await
        .expect("open");
    send(
        &mut s,
        json!({"type": "hello", "name": "Ann", "email": "Ann@Example.com"}),
    )
    .await;
    let welcome = next(&mut s).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(welcome["seq"], 0);
    let token = welcome["token"].as_str().expect("token").to_owned();
    let visitor = welcome["visitor"].as_str().expect("visitor").to_owned();
    assert!(visitor.starts_with("visitor:"));

    // A message: acknowledged once stored, then shown with its sequence number.
    let hello_msg =
        json!({"type": "message", "client_id": "c-1", "text": "Do you ship to Canada?"});
    send(&mut s, hello_msg.clone()).await;
    let (ack, _) = until(&mut s, "ack").await;
    assert_eq!(
        ack,
        json!({"type": "ack", "client_id": "c-1", "status": "stored"})
    );
    let (m1, _) = until(&mut s, "message").await;
    assert_eq!(
        (m1["seq"].as_u64(), m1["from"].as_str()),
        (Some(1), Some("visitor"))
    );
    assert_eq!(m1["text"], "Do you ship to Canada?");
    // Sent again (the connection wavered): acknowledged, stored once.
    send(&mut s, hello_msg).await;
    let (ack, _) = until(&mut s, "ack").await;
    assert_eq!(ack["status"], "duplicate");
    assert!(quiet(&mut s, 400).await, "no second copy");

    // The agent answers: pushed at once.
    let case = app.wait_for_message(&format!("{visitor}:c-1")).await;
    let case_id = case["id"].as_str().expect("case").to_owned();
    // The address from the pre-chat form is a (weak) key of the visitor's contact.
    let contact = app
        .get(
            &format!(
                "/api/v1/contacts/{}",
                case["contact_id"].as_str().expect("contact")
            ),
            &app.admin,
        )
        .await;
    assert_eq!(
        contact.json["keys"],
        json!([{"kind": "email", "value": "ann@example.com", "source": "message"}])
    );
    let r = app
        .post(
            &format!("/api/v1/cases/{case_id}/replies"),
            &app.agent,
            &json!({"text": "Yes, in 5 to 7 days."}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let (m2, _) = until(&mut s, "message").await;
    assert_eq!(
        (m2["seq"].as_u64(), m2["from"].as_str()),
        (Some(2), Some("agent"))
    );
    assert_eq!(m2["text"], "Yes, in 5 to 7 days.");

    // Typing, both ways, stored nowhere: the agent's reaches the visitor; the visitor's reaches
    // the agents' live stream.
    let typing = app
        .post(
            &format!("/api/v1/cases/{case_id}/typing"),
            &app.agent,
            &json!({}),
        )
        .await;
    assert_eq!(typing.status, StatusCode::NO_CONTENT, "{}", typing.text);
    let (t, _) = until(&mut s, "typing").await;
    assert_eq!(t["active"], true);
    assert_eq!(t["author"], "test agent");
    let mut sse = app
        .http
        .get(app.url("/api/v1/stream"))
        .bearer_auth(&app.agent)
        .send()
        .await
        .expect("stream");
    // The stream is open once its first keep-alive or event could arrive; give it a moment.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    send(&mut s, json!({"type": "typing"})).await;
    let mut seen = String::new();
    let got = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while let Ok(Some(chunk)) = sse.chunk().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("event: typing") && seen.contains("\"from\":\"visitor\"") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(
        got,
        Ok(true),
        "the visitor's typing on the agents' stream: {seen}"
    );
    drop(sse);

    // Bad frames are refused with a reason; the chat goes on.
    s.send(Message::Text("not json".into()))
        .await
        .expect("send");
    assert_eq!(until(&mut s, "error").await.0["code"], "bad_frame");
    send(
        &mut s,
        json!({"type": "message", "client_id": "c-2", "text": "x".repeat(5001)}),
    )
    .await;
    assert_eq!(until(&mut s, "error").await.0["code"], "bad_message");
    send(
        &mut s,
        json!({"type": "message", "client_id": "no spaces allowed", "text": "hi"}),
    )
    .await;
    assert_eq!(until(&mut s, "error").await.0["code"], "bad_frame");

    // The connection drops; the agent writes meanwhile; the visitor comes back with the token
    // and the last sequence number seen, and gets only what they missed.
    drop(s);
    let r = app
        .post(
            &format!("/api/v1/cases/{case_id}/replies"),
            &app.agent,
            &json!({"text": "Anything else?"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    crate::social::wait_for_state(&app, r.json["id"].as_str().expect("id"), "sent").await;
    let mut s = open(&app, &id, Some("https://shop.example"))
        .await
        .expect("open");
    send(
        &mut s,
        json!({"type": "hello", "token": token, "last_seq": 2}),
    )
    .await;
    let welcome = next(&mut s).await;
    assert_eq!(welcome["visitor"], visitor.as_str(), "the same visitor");
    assert_eq!(welcome["seq"], 3);
    let missed = next(&mut s).await;
    assert_eq!(
        (missed["seq"].as_u64(), missed["text"].as_str()),
        (Some(3), Some("Anything else?"))
    );
    assert!(quiet(&mut s, 400).await, "nothing twice");

    // Too fast: the visitor is told to wait, nothing is lost that was acknowledged.
    for i in 0..40 {
        send(
            &mut s,
            json!({"type": "message", "client_id": format!("burst-{i}"), "text": format!("m{i}")}),
        )
        .await;
    }
    // Each of the 40 gets an answer, an ack or a refusal (stored messages come back too).
    let (mut acks, mut limited) = (0, 0);
    while acks + limited < 40 {
        let f = next(&mut s).await;
        match f["type"].as_str() {
            Some("ack") => acks += 1,
            Some("error") if f["code"] == "rate_limited" => limited += 1,
            _ => {}
        }
    }
    assert!(limited > 0 && acks >= 10, "acks {acks}, limited {limited}");
    drop(s);

    // A flood of frames of any kind closes the connection (policy), counted.
    let flooded = app
        .metric(
            "switchboard_webhook_requests_total",
            &[("kind", "webchat"), ("outcome", "flood_closed")],
        )
        .await;
    let mut s = open(&app, &id, Some("https://shop.example"))
        .await
        .expect("open");
    send(&mut s, json!({"type": "hello", "token": token})).await;
    until(&mut s, "welcome").await;
    for _ in 0..200 {
        if s.send(Message::Text(r#"{"type":"typing"}"#.into()))
            .await
            .is_err()
        {
            break;
        }
    }
    let close = loop {
        match tokio::time::timeout(std::time::Duration::from_secs(5), s.next())
            .await
            .expect("closed within 5 s")
        {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    let close = close.expect("a close frame with a reason");
    assert_eq!(
        (u16::from(close.code), close.reason.as_str()),
        (1008, "too many frames")
    );
    assert!(
        app.metric(
            "switchboard_webhook_requests_total",
            &[("kind", "webchat"), ("outcome", "flood_closed")],
        )
        .await
            > flooded
    );

    // A signed-in user of the shop, by identifier hash, and by JWT: one contact, not two.
    let hash = {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
        mac.update(b"customer-42");
        hex::encode(mac.finalize().into_bytes())
    };
    let mut s = open(&app, &id, Some("https://shop.example"))
        .await
        .expect("open");
    send(
        &mut s,
        json!({"type": "hello", "identifier": "customer-42", "identifier_hash": hash}),
    )
    .await;
    let w = next(&mut s).await;
    assert_eq!(w["visitor"], "user:customer-42");
    assert_eq!(w["token"], Value::Null);
    drop(s);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut s = open(&app, &id, Some("https://shop.example"))
        .await
        .expect("open");
    send(&mut s, json!({"type": "hello", "jwt": hs256(json!({"sub": "customer-42", "name": "Ann", "exp": now + 300}))})).await;
    assert_eq!(next(&mut s).await["visitor"], "user:customer-42");
    drop(s);
    for bad in [
        json!({"type": "hello", "identifier": "customer-42", "identifier_hash": "00"}),
        json!({"type": "hello", "jwt": hs256(json!({"sub": "customer-42", "exp": now - 1}))}),
        json!({"type": "hello", "token": "v1.someone-else.AAAA"}),
    ] {
        let mut s = open(&app, &id, Some("https://shop.example"))
            .await
            .expect("open");
        send(&mut s, bad.clone()).await;
        let f = next(&mut s).await;
        assert_eq!(f["code"], "bad_identity", "{bad}: {f}");
    }
}

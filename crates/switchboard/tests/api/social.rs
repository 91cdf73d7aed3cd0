//! Provider channels end to end: connected through the API, events signed as the provider
//! signs them and posted to `/hooks/<kind>/<id>`, replies sent to a local fake of the
//! provider's API that records every request.

use crate::helpers::*;
use crate::provider::{FakeProvider, Reply};
use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_channels::twilio;
use switchboard_channels::x::{self, ReplayTweet};
use switchboard_core::Timestamp;

pub fn now() -> Timestamp {
    Timestamp::from_offset_datetime(time::OffsetDateTime::now_utc())
}

/// Connects a provider channel; returns its id, checking the answer shows no secret.
pub async fn connect(app: &TestApp, kind: &str, config: Value, credentials: Value) -> String {
    let a = app
        .post(
            "/api/v1/channels",
            &app.admin,
            &json!({"kind": kind, "name": format!("Acme on {kind}"), "config": config, "credentials": credentials.clone()}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let id = a.json["id"].as_str().expect("id").to_owned();
    assert_eq!(
        a.json["webhook_url"],
        format!("{}/hooks/{kind}/{id}", app.address)
    );
    for (_, secret) in credentials.as_object().expect("object") {
        let secret = secret.as_str().expect("string");
        assert!(
            !a.text.contains(secret),
            "a credential is shown: {}",
            a.text
        );
        let listed = app.get("/api/v1/channels", &app.admin).await;
        assert!(!listed.text.contains(secret), "a credential is listed");
    }
    id
}

/// POSTs a raw body with headers to a channel's webhook.
pub async fn post_hook(
    app: &TestApp,
    kind: &str,
    id: &str,
    content_type: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Answer {
    let mut req = app
        .http
        .post(app.url(&format!("/hooks/{kind}/{id}")))
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body);
    for (k, v) in headers {
        req = req.header(*k, v.as_str());
    }
    Answer::read(req.send().await.expect("send")).await
}

/// Waits until the message with this id (ours) is in `state`; returns it.
pub async fn wait_for_state(app: &TestApp, message_id: &str, state: &str) -> Value {
    wait_for(&format!("message {message_id} {state}"), || async {
        app.all_messages()
            .await
            .into_iter()
            .find(|m| m["id"] == message_id && m["delivery_state"] == state)
    })
    .await
}

pub fn tweet(id: &str, author: &str, text: &str, reply_to: Option<(&str, &str)>) -> ReplayTweet {
    ReplayTweet {
        id: id.into(),
        author_id: author.into(),
        author_screen_name: if author == "1000" {
            "acme".into()
        } else {
            format!("user{author}")
        },
        text: text.into(),
        created_at: now(),
        in_reply_to_status_id: reply_to.map(|(t, _)| t.to_owned()),
        in_reply_to_user_id: reply_to.map(|(_, u)| u.to_owned()),
    }
}

pub async fn post_x(app: &TestApp, id: &str, secret: &str, body: Vec<u8>) -> Answer {
    let sig = x::sign(secret.as_bytes(), &body);
    post_hook(
        app,
        "x",
        id,
        "application/json",
        &[("x-twitter-webhooks-signature", sig)],
        body,
    )
    .await
}

#[tokio::test]
async fn x_crc_mentions_public_replies_and_brand_echoes() {
    let app = spawn_app().await;
    let fake = FakeProvider::start(
        vec![],
        Reply::json(201, json!({"data": {"id": "9001", "text": "Sorry Ann"}})),
    )
    .await;
    let id = connect(
        &app,
        "x",
        json!({"user_id": "1000", "api_base": fake.base}),
        json!({"consumer_secret": "x-consumer-secret", "access_token": "x-user-token"}),
    )
    .await;

    // The CRC handshake answers with the HMAC of the token.
    let crc = app
        .http
        .get(app.url(&format!("/hooks/x/{id}?crc_token=abc123")))
        .send()
        .await
        .expect("crc");
    assert_eq!(crc.status(), StatusCode::OK);
    let crc: Value = crc.json().await.expect("json");
    let want: Value =
        serde_json::from_str(&x::crc_response(b"x-consumer-secret", "abc123")).expect("json");
    assert_eq!(crc, want);
    let no_token = app.get(&format!("/hooks/x/{id}"), &app.admin).await;
    no_token.assert_problem(403, "handshake_refused");

    // A mention opens a public case.
    let mention = x::account_activity_tweet(
        "1000",
        &tweet("500", "42", "@acme my order #123 is late", None),
    );
    let a = post_x(&app, &id, "x-consumer-secret", mention.clone()).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["status"], "accepted");
    // A changed byte or another secret is refused, and nothing is stored.
    let mut forged = mention.clone();
    let last = forged.len() - 2;
    forged[last] ^= 1;
    let sig = x::sign(b"x-consumer-secret", &mention);
    let bad = post_hook(
        &app,
        "x",
        &id,
        "application/json",
        &[("x-twitter-webhooks-signature", sig)],
        forged,
    )
    .await;
    bad.assert_problem(401, "bad_signature");
    let bad = post_x(&app, &id, "another-secret", mention.clone()).await;
    bad.assert_problem(401, "bad_signature");
    // The same delivery again is a duplicate.
    let again = post_x(&app, &id, "x-consumer-secret", mention).await;
    assert_eq!(again.json["status"], "duplicate", "{}", again.text);

    let case = app.wait_for_message("500").await;
    assert_eq!(case["public"], true);
    let case_id = case["id"].as_str().expect("case id").to_owned();

    // Too long for a post: refused before anything is sent.
    let long = app
        .post(
            &format!("/api/v1/cases/{case_id}/replies"),
            &app.agent,
            &json!({"text": "x".repeat(281)}),
        )
        .await;
    long.assert_problem(422, "too_long");

    // A public reply goes to POST /2/tweets as a reply to the mention.
    let r = app
        .post(
            &format!("/api/v1/cases/{case_id}/replies"),
            &app.agent,
            &json!({"text": "Sorry Ann, we are looking into it"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let reply_id = r.json["id"].as_str().expect("id").to_owned();
    let sent = fake.wait_for(1).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, "POST");
    assert_eq!(sent[0].path, "/2/tweets");
    assert_eq!(sent[0].header("authorization"), Some("Bearer x-user-token"));
    assert_eq!(
        sent[0].json(),
        json!({"text": "Sorry Ann, we are looking into it", "reply": {"in_reply_to_tweet_id": "500"}})
    );
    let m = wait_for_state(&app, &reply_id, "delivered").await;
    assert_eq!(m["external_id"], "9001");

    // X echoes our own post back: recognised, not stored twice.
    let echo = x::account_activity_tweet(
        "1000",
        &tweet(
            "9001",
            "1000",
            "Sorry Ann, we are looking into it",
            Some(("500", "42")),
        ),
    );
    let a = post_x(&app, &id, "x-consumer-secret", echo).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    // The brand answering from X's own app: stored on the case as its reply.
    let native = x::account_activity_tweet(
        "1000",
        &tweet(
            "9002",
            "1000",
            "@user42 DM us your order number",
            Some(("500", "42")),
        ),
    );
    let a = post_x(&app, &id, "x-consumer-secret", native).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let detail = app.wait_for_message("9002").await;
    assert_eq!(detail["id"], case_id.as_str());
    let msgs = detail["messages"].as_array().expect("messages");
    let ours: Vec<&Value> = msgs.iter().filter(|m| m["external_id"] == "9001").collect();
    assert_eq!(
        ours.len(),
        1,
        "the echo of our reply was stored again: {msgs:?}"
    );
    let native = msgs
        .iter()
        .find(|m| m["external_id"] == "9002")
        .expect("native reply");
    assert_eq!(native["direction"], "outbound");
    assert_eq!(native["author"]["kind"], "channel");
    assert_eq!(native["delivery_state"], "delivered");

    // The customer answers the brand's native reply: same case.
    let follow = x::account_activity_tweet(
        "1000",
        &tweet("502", "42", "@acme it is order 123", Some(("9002", "1000"))),
    );
    assert_eq!(
        post_x(&app, &id, "x-consumer-secret", follow).await.status,
        StatusCode::OK
    );
    let detail = app.wait_for_message("502").await;
    assert_eq!(
        detail["id"],
        case_id.as_str(),
        "the reply started another case"
    );
    assert_eq!(fake.received().len(), 1, "nothing else was sent");
}

fn form(pairs: &[(&str, &str)]) -> (Vec<u8>, Vec<(String, String)>) {
    let owned: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(owned.iter())
        .finish()
        .into_bytes();
    (body, owned)
}

pub async fn post_twilio(app: &TestApp, id: &str, token: &str, pairs: &[(&str, &str)]) -> Answer {
    let (body, params) = form(pairs);
    let url = app.url(&format!("/hooks/twilio/{id}"));
    let sig = twilio::sign(token.as_bytes(), &url, &params);
    post_hook(
        app,
        "twilio",
        id,
        "application/x-www-form-urlencoded",
        &[("x-twilio-signature", sig)],
        body,
    )
    .await
}

#[tokio::test]
async fn twilio_sms_in_mms_attachments_replies_with_callbacks_and_receipts() {
    let app = spawn_app().await;
    let fake = FakeProvider::start(
        vec![
            // The first send is throttled: retried after the Retry-After.
            Reply::json(
                429,
                json!({"code": 20429, "message": "Too Many Requests", "status": 429}),
            )
            .with_header("retry-after", "1"),
        ],
        Reply::json(201, json!({"sid": "SM900", "status": "queued"})),
    )
    .await;
    let id = connect(
        &app,
        "twilio",
        json!({"account_sid": "AC0123456789abcdef0123456789abcdef", "from": "+15550001111", "api_base": fake.base}),
        json!({"auth_token": "twilio-auth-token"}),
    )
    .await;
    let inbound = [
        ("MessageSid", "SM0001"),
        ("SmsSid", "SM0001"),
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
        ("From", "+15551234567"),
        ("To", "+15550001111"),
        ("Body", "Hi, is my parcel on its way?"),
        ("NumMedia", "1"),
        (
            "MediaUrl0",
            "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages/SM0001/Media/ME1",
        ),
        ("MediaContentType0", "image/jpeg"),
        ("SmsStatus", "received"),
    ];
    let a = post_twilio(&app, &id, "twilio-auth-token", &inbound).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert!(
        a.content_type().starts_with("text/xml"),
        "{}",
        a.content_type()
    );
    assert!(a.text.contains("<Response>"), "{}", a.text);
    // Signed with another token, or a changed field: refused.
    let bad = post_twilio(&app, &id, "wrong-token", &inbound).await;
    bad.assert_problem(401, "bad_signature");
    let (body, params) = form(&inbound);
    let sig = twilio::sign(
        b"twilio-auth-token",
        &app.url(&format!("/hooks/twilio/{id}")),
        &params,
    );
    let mut changed = body.clone();
    let i = changed.iter().position(|b| *b == b'H').expect("H");
    changed[i] = b'h';
    let bad = post_hook(
        &app,
        "twilio",
        &id,
        "application/x-www-form-urlencoded",
        &[("x-twilio-signature", sig)],
        changed,
    )
    .await;
    bad.assert_problem(401, "bad_signature");

    let case = app.wait_for_message("SM0001").await;
    assert_eq!(case["public"], false);
    let msg = &case["messages"][0];
    assert_eq!(msg["text"], "Hi, is my parcel on its way?");
    assert_eq!(msg["attachments"][0]["kind"], "image");
    assert_eq!(msg["attachments"][0]["mime_type"], "image/jpeg");
    let case_id = case["id"].as_str().expect("id").to_owned();

    let r = app
        .post(
            &format!("/api/v1/cases/{case_id}/replies"),
            &app.agent,
            &json!({"text": "Yes, it arrives tomorrow."}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let reply_id = r.json["id"].as_str().expect("id").to_owned();
    let sent = fake.wait_for(2).await;
    for req in &sent {
        assert_eq!(
            req.path,
            "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json"
        );
        assert_eq!(
            req.header("authorization"),
            Some("Basic QUMwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjp0d2lsaW8tYXV0aC10b2tlbg==")
        );
        let fields = req.form();
        let field = |k: &str| fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.as_str());
        assert_eq!(field("To"), Some("+15551234567"));
        assert_eq!(field("From"), Some("+15550001111"));
        assert_eq!(field("Body"), Some("Yes, it arrives tomorrow."));
        let callback = app.url(&format!("/hooks/twilio/{id}"));
        assert_eq!(field("StatusCallback"), Some(callback.as_str()));
    }
    // The retry waited for the Retry-After second.
    let m = wait_for_state(&app, &reply_id, "sent").await;
    assert_eq!(m["external_id"], "SM900");
    assert_eq!(m["attempts"], 2);

    // Twilio's status callback moves it on; a repeat changes nothing.
    let delivered = [
        ("MessageSid", "SM900"),
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
        ("MessageStatus", "delivered"),
        ("From", "+15550001111"),
        ("To", "+15551234567"),
    ];
    assert_eq!(
        post_twilio(&app, &id, "twilio-auth-token", &delivered)
            .await
            .status,
        StatusCode::OK
    );
    wait_for_state(&app, &reply_id, "delivered").await;
    let again = post_twilio(&app, &id, "twilio-auth-token", &delivered).await;
    assert_eq!(again.status, StatusCode::OK);
    // A late "sent" never moves a delivered message back.
    let late = [
        ("MessageSid", "SM900"),
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
        ("MessageStatus", "sent"),
    ];
    assert_eq!(
        post_twilio(&app, &id, "twilio-auth-token", &late)
            .await
            .status,
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    wait_for_state(&app, &reply_id, "delivered").await;
}

pub async fn post_meta(app: &TestApp, kind: &str, id: &str, secret: &str, body: &Value) -> Answer {
    let bytes = body.to_string().into_bytes();
    let sig = switchboard_channels::meta::sign(secret.as_bytes(), &bytes);
    post_hook(
        app,
        kind,
        id,
        "application/json",
        &[("x-hub-signature-256", sig)],
        bytes,
    )
    .await
}

pub fn wa_message(wamid: &str, from: &str, secs: i64, message: Value) -> Value {
    let mut m = message;
    m["from"] = json!(from);
    m["id"] = json!(wamid);
    m["timestamp"] = json!(secs.to_string());
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "PN1"},
        "contacts": [{"profile": {"name": "Ann Lee"}, "wa_id": from}],
        "messages": [m]
    }}]}]})
}

fn wa_status(wamid: &str, status: &str, secs: i64) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "PN1"},
        "statuses": [{"id": wamid, "status": status, "timestamp": secs.to_string(), "recipient_id": "4915112345678"}]
    }}]}]})
}

#[tokio::test]
async fn whatsapp_handshake_messages_24_hour_window_timeouts_and_statuses() {
    let app = spawn_app_with(|c| c.outbound_timeout_ms = 500).await;
    let fake = FakeProvider::start(
        // The first send times out; the retry is accepted.
        vec![Reply::json(200, json!({})).slow(std::time::Duration::from_millis(1500))],
        Reply::json(200, json!({"messaging_product": "whatsapp", "contacts": [{"input": "4915112345678", "wa_id": "4915112345678"}], "messages": [{"id": "wamid.OUT1"}]})),
    )
    .await;
    // Bad settings are refused naming the key; nothing is connected.
    let bad = app
        .post(
            "/api/v1/channels",
            &app.admin,
            &json!({"kind": "whatsapp", "name": "WA", "config": {}, "credentials": {"app_secret": "s", "verify_token": "v", "access_token": "t"}}),
        )
        .await;
    bad.assert_problem(400, "invalid_field");
    assert!(bad.text.contains("phone_number_id"), "{}", bad.text);
    let id = connect(
        &app,
        "whatsapp",
        json!({"phone_number_id": "PN1", "api_base": fake.base}),
        json!({"app_secret": "wa-app-secret", "verify_token": "wa-verify", "access_token": "wa-access-token"}),
    )
    .await;

    // Meta's subscription handshake.
    let ok = app
        .http
        .get(app.url(&format!("/hooks/whatsapp/{id}?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=wa-verify")))
        .send()
        .await
        .expect("get");
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.text().await.expect("text"), "1158201444");
    let wrong = app
        .get(
            &format!(
                "/hooks/whatsapp/{id}?hub.mode=subscribe&hub.challenge=1&hub.verify_token=nope"
            ),
            &app.admin,
        )
        .await;
    wrong.assert_problem(403, "handshake_refused");

    // A customer's message from two days ago: its case is open, but the window is closed.
    let old = now().as_unix_secs() - 2 * 24 * 3600;
    let a = post_meta(
        &app,
        "whatsapp",
        &id,
        "wa-app-secret",
        &wa_message(
            "wamid.IN1",
            "4915112345678",
            old,
            json!({"type": "text", "text": {"body": "Where is my refund?"}}),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let bad = post_meta(
        &app,
        "whatsapp",
        &id,
        "another-secret",
        &wa_message(
            "wamid.IN9",
            "4915112345678",
            old,
            json!({"type": "text", "text": {"body": "forged"}}),
        ),
    )
    .await;
    bad.assert_problem(401, "bad_signature");
    let case = app.wait_for_message("wamid.IN1").await;
    let case_id = case["id"].as_str().expect("id").to_owned();
    let closed = app
        .post(
            &format!("/api/v1/cases/{case_id}/replies"),
            &app.agent,
            &json!({"text": "Hello Ann"}),
        )
        .await;
    closed.assert_problem(422, "window_closed");

    // The customer writes again (an image with a caption, answering our earlier message):
    // the window opens.
    let a = post_meta(&app, "whatsapp", &id, "wa-app-secret", &wa_message("wamid.IN2", "4915112345678", now().as_unix_secs(), json!({
        "type": "image", "image": {"id": "MEDIA1", "mime_type": "image/jpeg", "sha256": "abc", "caption": "This is the receipt"},
        "context": {"from": "15550001111", "id": "wamid.IN1"}
    }))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let case = app.wait_for_message("wamid.IN2").await;
    assert_eq!(case["id"], case_id.as_str());
    let img = case["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .find(|m| m["external_id"] == "wamid.IN2")
        .expect("image message")
        .clone();
    assert_eq!(img["text"], "This is the receipt");
    assert_eq!(img["attachments"][0]["kind"], "image");
    assert_eq!(img["attachments"][0]["provider_id"], "MEDIA1");
    assert_eq!(img["reply_to_external"], "wamid.IN1");

    let r = app
        .post(
            &format!("/api/v1/cases/{case_id}/replies"),
            &app.agent,
            &json!({"text": "Thanks, refund on its way"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let reply_id = r.json["id"].as_str().expect("id").to_owned();
    let sent = fake.wait_for(2).await;
    for req in &sent {
        assert_eq!(req.path, "/v23.0/PN1/messages");
        assert_eq!(req.header("authorization"), Some("Bearer wa-access-token"));
        assert_eq!(
            req.json(),
            json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "4915112345678",
                   "type": "text", "text": {"body": "Thanks, refund on its way", "preview_url": false},
                   "context": {"message_id": "wamid.IN2"}})
        );
    }
    let m = wait_for_state(&app, &reply_id, "sent").await;
    assert_eq!(m["external_id"], "wamid.OUT1");
    // The first attempt timed out; the second was accepted (and the error cleared).
    assert_eq!(m["attempts"], 2);
    assert_eq!(m["delivery_error"], Value::Null);

    // Statuses: read arrives before delivered; the message ends read.
    let t = now().as_unix_secs();
    assert_eq!(
        post_meta(
            &app,
            "whatsapp",
            &id,
            "wa-app-secret",
            &wa_status("wamid.OUT1", "read", t)
        )
        .await
        .status,
        StatusCode::OK
    );
    wait_for_state(&app, &reply_id, "read").await;
    assert_eq!(
        post_meta(
            &app,
            "whatsapp",
            &id,
            "wa-app-secret",
            &wa_status("wamid.OUT1", "delivered", t)
        )
        .await
        .status,
        StatusCode::OK
    );
    // A status for a message we do not know is kept, not an error.
    assert_eq!(
        post_meta(
            &app,
            "whatsapp",
            &id,
            "wa-app-secret",
            &wa_status("wamid.UNKNOWN", "delivered", t)
        )
        .await
        .status,
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    wait_for_state(&app, &reply_id, "read").await;
}

#[tokio::test]
async fn messenger_comment_private_reply_once_then_the_dm_joins_the_case() {
    let app = spawn_app().await;
    let fake = FakeProvider::start(
        vec![],
        Reply::json(
            200,
            json!({"recipient_id": "PSID-7", "message_id": "m_OUT1"}),
        ),
    )
    .await;
    let id = connect(
        &app,
        "messenger",
        json!({"page_id": "PAGE1", "app_id": "APP1", "api_base": fake.base}),
        json!({"app_secret": "fb-app-secret", "verify_token": "fb-verify", "access_token": "fb-page-token"}),
    )
    .await;
    let t = now().as_unix_secs();
    let comment = json!({"object": "page", "entry": [{"id": "PAGE1", "time": t * 1000, "changes": [{"field": "feed", "value": {
        "item": "comment", "verb": "add", "comment_id": "POST1_C1", "post_id": "POST1", "parent_id": "POST1",
        "from": {"id": "PSID-7", "name": "Bo Chen"}, "message": "My card was charged twice, help!", "created_time": t
    }}]}]});
    let a = post_meta(&app, "messenger", &id, "fb-app-secret", &comment).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let case = app.wait_for_message("POST1_C1").await;
    assert_eq!(case["public"], true);
    let case_id = case["id"].as_str().expect("id").to_owned();

    // Answered privately: the Send API with the comment as recipient.
    let r = app
        .post(
            &format!("/api/v1/cases/{case_id}/replies"),
            &app.agent,
            &json!({"text": "Sorry Bo, we will sort it out here.", "private": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["private_reply"], true);
    let reply_id = r.json["id"].as_str().expect("id").to_owned();
    let sent = fake.wait_for(1).await;
    assert_eq!(sent[0].path, "/v23.0/PAGE1/messages");
    assert_eq!(
        sent[0].header("authorization"),
        Some("Bearer fb-page-token")
    );
    let body = sent[0].json();
    assert_eq!(body["recipient"], json!({"comment_id": "POST1_C1"}));
    assert_eq!(
        body["message"]["text"],
        "Sorry Bo, we will sort it out here."
    );
    wait_for_state(&app, &reply_id, "sent").await;

    // One private reply per comment.
    let again = app
        .post(
            &format!("/api/v1/cases/{case_id}/replies"),
            &app.agent,
            &json!({"text": "Second", "private": true}),
        )
        .await;
    again.assert_problem(409, "conflict");

    // Our send echoed back by Meta: not stored again. Then the delivery and the read.
    let echo = json!({"object": "page", "entry": [{"id": "PAGE1", "time": t * 1000, "messaging": [
        {"sender": {"id": "PAGE1"}, "recipient": {"id": "PSID-7"}, "timestamp": t * 1000,
         "message": {"is_echo": true, "app_id": "APP1", "mid": "m_OUT1", "text": "Sorry Bo, we will sort it out here.", "metadata": reply_id}},
        {"sender": {"id": "PSID-7"}, "recipient": {"id": "PAGE1"}, "timestamp": t * 1000 + 5,
         "delivery": {"mids": ["m_OUT1"], "watermark": t * 1000 + 5}}
    ]}]});
    assert_eq!(
        post_meta(&app, "messenger", &id, "fb-app-secret", &echo)
            .await
            .status,
        StatusCode::OK
    );
    wait_for_state(&app, &reply_id, "delivered").await;

    // The customer answers in Messenger: a new private thread, the same case.
    let dm = json!({"object": "page", "entry": [{"id": "PAGE1", "time": t * 1000, "messaging": [
        {"sender": {"id": "PSID-7"}, "recipient": {"id": "PAGE1"}, "timestamp": t * 1000 + 10,
         "message": {"mid": "m_IN2", "text": "Thanks! Order 5521."}}
    ]}]});
    assert_eq!(
        post_meta(&app, "messenger", &id, "fb-app-secret", &dm)
            .await
            .status,
        StatusCode::OK
    );
    let detail = app.wait_for_message("m_IN2").await;
    assert_eq!(detail["id"], case_id.as_str(), "the DM opened another case");
    let msgs = detail["messages"].as_array().expect("messages");
    assert_eq!(
        msgs.iter().filter(|m| m["direction"] == "outbound").count(),
        1,
        "the echo was stored as another message: {msgs:?}"
    );
    // Read watermark.
    let read = json!({"object": "page", "entry": [{"id": "PAGE1", "time": t * 1000, "messaging": [
        {"sender": {"id": "PSID-7"}, "recipient": {"id": "PAGE1"}, "timestamp": t * 1000 + 20, "read": {"watermark": (t + 3600) * 1000}}
    ]}]});
    assert_eq!(
        post_meta(&app, "messenger", &id, "fb-app-secret", &read)
            .await
            .status,
        StatusCode::OK
    );
    // The private reply is kept on the comment's conversation; the watermark names the DM
    // thread, where the customer read it.
    wait_for_state(&app, &reply_id, "read").await;
}

#[tokio::test]
async fn telegram_secret_token_edits_and_rate_limited_replies() {
    let app = spawn_app().await;
    let fake = FakeProvider::start(
        vec![Reply::json(429, json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 1", "parameters": {"retry_after": 1}}))],
        Reply::json(200, json!({"ok": true, "result": {"message_id": 77, "chat": {"id": 555, "type": "private"}, "date": 1, "text": "ok"}})),
    )
    .await;
    let id = connect(
        &app,
        "telegram",
        json!({"api_base": fake.base, "bot_username": "acme_bot"}),
        json!({"bot_token": "123456:ABC-telegram-token", "secret_token": "tg-secret"}),
    )
    .await;
    let t = now().as_unix_secs();
    let update = |update_id: i64, field: &str, text: &str| {
        json!({"update_id": update_id, field: {"message_id": 10, "from": {"id": 555, "is_bot": false, "first_name": "Cy", "username": "cy"},
               "chat": {"id": 555, "type": "private", "first_name": "Cy"}, "date": t, "text": text}})
    };
    let post_tg = |secret: &'static str, body: Value| {
        let app = &app;
        let id = id.clone();
        async move {
            post_hook(
                app,
                "telegram",
                &id,
                "application/json",
                &[("x-telegram-bot-api-secret-token", secret.to_owned())],
                body.to_string().into_bytes(),
            )
            .await
        }
    };
    let wrong = post_tg("nope", update(1, "message", "hi")).await;
    wrong.assert_problem(401, "bad_signature");
    let a = post_tg("tg-secret", update(1, "message", "My app crashes on login")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    // The same update again (Telegram retries): a duplicate.
    let again = post_tg("tg-secret", update(1, "message", "My app crashes on login")).await;
    assert_eq!(again.json["status"], "duplicate", "{}", again.text);
    let case = app.wait_for_message("555:10").await;
    let case_id = case["id"].as_str().expect("id").to_owned();

    // The customer edits the message: the text changes, the original is kept.
    assert_eq!(
        post_tg(
            "tg-secret",
            update(2, "edited_message", "My app crashes on login since 2.3")
        )
        .await
        .status,
        StatusCode::OK
    );
    let m = wait_for("the edit", || async {
        app.all_messages()
            .await
            .into_iter()
            .find(|m| m["external_id"] == "555:10" && m["edited_at"].is_string())
    })
    .await;
    assert_eq!(m["text"], "My app crashes on login since 2.3");
    assert_eq!(m["original_text"], "My app crashes on login");

    let r = app
        .post(
            &format!("/api/v1/cases/{case_id}/replies"),
            &app.agent,
            &json!({"text": "Which phone do you use?"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let reply_id = r.json["id"].as_str().expect("id").to_owned();
    let sent = fake.wait_for(2).await;
    for req in &sent {
        assert_eq!(req.path, "/bot123456:ABC-telegram-token/sendMessage");
        assert_eq!(
            req.json(),
            json!({"chat_id": 555, "text": "Which phone do you use?", "reply_parameters": {"message_id": 10}})
        );
    }
    let m = wait_for_state(&app, &reply_id, "delivered").await;
    assert_eq!(m["external_id"], "555:77");
    assert_eq!(m["attempts"], 2);
    // A private reply is not something Telegram has.
    let private = app
        .post(
            &format!("/api/v1/cases/{case_id}/replies"),
            &app.agent,
            &json!({"text": "x", "private": true}),
        )
        .await;
    private.assert_problem(422, "not_public");
}

fn ig_body(t: i64, kind: &str, items: Value) -> Value {
    json!({"object": "instagram", "entry": [{"id": "IG1", "time": t * 1000, kind: items}]})
}

#[tokio::test]
async fn instagram_dms_comments_mentions_private_replies_and_forged_bodies() {
    let app = spawn_app().await;
    let fake = FakeProvider::start(
        vec![
            Reply::json(
                200,
                json!({"recipient_id": "IGSID-1", "message_id": "ig_out1"}),
            ),
            Reply::json(200, json!({"id": "C1_R"})),
            Reply::json(
                200,
                json!({"recipient_id": "IGSID-2", "message_id": "ig_out2"}),
            ),
            Reply::json(200, json!({"id": "C9_R"})),
        ],
        Reply::json(500, json!({"error": {"message": "unexpected", "code": 1}})),
    )
    .await;
    let id = connect(
        &app,
        "instagram",
        json!({"ig_id": "IG1", "app_id": "APP1", "api_base": fake.base}),
        json!({"app_secret": "ig-app-secret", "verify_token": "ig-verify", "access_token": "ig-token"}),
    )
    .await;
    let ok = app
        .http
        .get(app.url(&format!(
            "/hooks/instagram/{id}?hub.mode=subscribe&hub.challenge=42&hub.verify_token=ig-verify"
        )))
        .send()
        .await
        .expect("get");
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.text().await.expect("text"), "42");
    let t = now().as_unix_secs();

    // A forged body: refused, nothing stored.
    let dm = ig_body(
        t,
        "messaging",
        json!([{"sender": {"id": "IGSID-1"}, "recipient": {"id": "IG1"}, "timestamp": t * 1000,
                "message": {"mid": "ig_in1", "text": "Do you ship to Canada?"}}]),
    );
    let forged = post_meta(&app, "instagram", &id, "not-the-secret", &dm).await;
    forged.assert_problem(401, "bad_signature");
    assert!(app.all_cases().await.is_empty(), "nothing stored");

    // A DM, answered within the 24 hours.
    let a = post_meta(&app, "instagram", &id, "ig-app-secret", &dm).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let case = app.wait_for_message("ig_in1").await;
    assert_eq!(case["public"], false);
    let r = app
        .post(
            &format!("/api/v1/cases/{}/replies", case["id"].as_str().expect("id")),
            &app.agent,
            &json!({"text": "Yes, in 5 to 7 days."}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let sent = fake.wait_for(1).await;
    assert_eq!(sent[0].path, "/v23.0/IG1/messages");
    assert_eq!(sent[0].header("authorization"), Some("Bearer ig-token"));
    assert_eq!(
        sent[0].json(),
        json!({"recipient": {"id": "IGSID-1"}, "messaging_type": "RESPONSE", "message": {"text": "Yes, in 5 to 7 days."}})
    );
    wait_for_state(&app, r.json["id"].as_str().expect("id"), "sent").await;

    // A comment on a post: a public case, answered under the comment, then privately.
    let comment = ig_body(
        t,
        "changes",
        json!([{"field": "comments", "value": {"id": "C1", "from": {"id": "IGSID-2", "username": "bo.chen"},
                "text": "Love it! What does it cost?", "media": {"id": "MEDIA1", "media_product_type": "FEED"}}}]),
    );
    let a = post_meta(&app, "instagram", &id, "ig-app-secret", &comment).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let case = app.wait_for_message("C1").await;
    assert_eq!(case["public"], true);
    let case_id = case["id"].as_str().expect("id").to_owned();
    let contact = app
        .get(
            &format!(
                "/api/v1/contacts/{}",
                case["contact_id"].as_str().expect("contact")
            ),
            &app.admin,
        )
        .await;
    assert_eq!(contact.json["identities"][0]["handle"], "bo.chen");
    let public = app
        .post(
            &format!("/api/v1/cases/{case_id}/replies"),
            &app.agent,
            &json!({"text": "Thanks Bo! Sent you the prices by DM."}),
        )
        .await;
    assert_eq!(public.status, StatusCode::CREATED, "{}", public.text);
    let sent = fake.wait_for(2).await;
    assert_eq!(sent[1].path, "/v23.0/C1/replies");
    assert_eq!(
        sent[1].json(),
        json!({"message": "Thanks Bo! Sent you the prices by DM."})
    );
    wait_for_state(&app, public.json["id"].as_str().expect("id"), "delivered").await;
    let private = app
        .post(
            &format!("/api/v1/cases/{case_id}/replies"),
            &app.agent,
            &json!({"text": "Here are the prices: …", "private": true}),
        )
        .await;
    assert_eq!(private.status, StatusCode::CREATED, "{}", private.text);
    let sent = fake.wait_for(3).await;
    assert_eq!(sent[2].path, "/v23.0/IG1/messages");
    assert_eq!(sent[2].json()["recipient"], json!({"comment_id": "C1"}));
    wait_for_state(&app, private.json["id"].as_str().expect("id"), "sent").await;
    // Our public answer comes back as a comment by the account: recognised, not a customer's.
    let echo = ig_body(
        t,
        "changes",
        json!([{"field": "comments", "value": {"id": "C1_R", "parent_id": "C1", "from": {"id": "IG1", "username": "acme"},
                "text": "Thanks Bo! Sent you the prices by DM.", "media": {"id": "MEDIA1"}}}]),
    );
    let a = post_meta(&app, "instagram", &id, "ig-app-secret", &echo).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);

    // Two @mentions by two people the webhook does not name: two contacts, never one.
    let mentions = ig_body(
        t,
        "changes",
        json!([
            {"field": "mentions", "value": {"media_id": "MEDIA9", "comment_id": "C9"}},
            {"field": "mentions", "value": {"media_id": "MEDIA8"}}
        ]),
    );
    let a = post_meta(&app, "instagram", &id, "ig-app-secret", &mentions).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let c9 = app.wait_for_message("C9").await;
    let m8 = app.wait_for_message("MEDIA8").await;
    assert_ne!(c9["contact_id"], m8["contact_id"]);
    assert_eq!(c9["public"], true);
    let refused = app
        .post(
            &format!("/api/v1/cases/{}/replies", c9["id"].as_str().expect("id")),
            &app.agent,
            &json!({"text": "DM us", "private": true}),
        )
        .await;
    refused.assert_problem(422, "not_supported");
    let r = app
        .post(
            &format!("/api/v1/cases/{}/replies", c9["id"].as_str().expect("id")),
            &app.agent,
            &json!({"text": "Thanks for the shout-out!"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let sent = fake.wait_for(4).await;
    assert_eq!(sent[3].path, "/v23.0/IG1/mentions");
    assert_eq!(
        sent[3].json(),
        json!({"media_id": "MEDIA9", "comment_id": "C9", "message": "Thanks for the shout-out!"})
    );
    wait_for_state(&app, r.json["id"].as_str().expect("id"), "delivered").await;

    // The comment's case holds the customer's comment and our two answers, and no echo.
    let detail = app.case(&case_id).await;
    let msgs = detail["messages"].as_array().expect("messages");
    assert_eq!(
        msgs.iter()
            .map(|m| m["direction"].as_str().expect("direction"))
            .collect::<Vec<_>>(),
        ["inbound", "outbound", "outbound"],
        "{msgs:?}"
    );
    assert_eq!(fake.received().len(), 4, "nothing else was sent");
}

#[tokio::test]
async fn whatsapp_templates_reopen_a_conversation_after_the_window() {
    let app = spawn_app().await;
    let fake = FakeProvider::start(
        vec![],
        Reply::json(
            200,
            json!({"messaging_product": "whatsapp", "messages": [{"id": "wamid.T1"}]}),
        ),
    )
    .await;
    let id = connect(
        &app,
        "whatsapp",
        json!({"phone_number_id": "PN1", "api_base": fake.base}),
        json!({"app_secret": "wa-app-secret", "verify_token": "wa-verify", "access_token": "wa-access-token"}),
    )
    .await;
    let old = now().as_unix_secs() - 3 * 24 * 3600;
    let a = post_meta(
        &app,
        "whatsapp",
        &id,
        "wa-app-secret",
        &wa_message(
            "wamid.IN9",
            "4915112345678",
            old,
            json!({"type": "text", "text": {"body": "Please tell me when it ships"}}),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let case = app.wait_for_message("wamid.IN9").await;
    let replies = format!("/api/v1/cases/{}/replies", case["id"].as_str().expect("id"));

    // Free text is refused three days later; a bad template is a 400 naming its field.
    let r = app
        .post(&replies, &app.agent, &json!({"text": "It shipped!"}))
        .await;
    r.assert_problem(422, "window_closed");
    for (template, field) in [
        (
            json!({"name": "Order Shipped", "language": "en_US"}),
            "template.name",
        ),
        (
            json!({"name": "order_shipped", "language": "english"}),
            "template.language",
        ),
        (
            json!({"name": "order_shipped", "language": "en", "parameters": [""]}),
            "template.parameters[0]",
        ),
        (json!({"name": "order_shipped"}), "template.language"),
    ] {
        let r = app
            .post(
                &replies,
                &app.agent,
                &json!({"text": "It shipped!", "template": template}),
            )
            .await;
        let p = r.assert_problem(400, "invalid_field");
        assert_eq!(p["field"], field, "{}", r.text);
    }
    assert!(fake.received().is_empty(), "nothing refused was sent");

    // An approved template goes out.
    let r = app
        .post(
            &replies,
            &app.agent,
            &json!({"text": "Your order 5521 shipped on Tuesday.", "template": {"name": "order_shipped", "language": "en_US", "parameters": ["5521", "Tuesday"]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["template"]["name"], "order_shipped");
    let sent = fake.wait_for(1).await;
    assert_eq!(sent[0].path, "/v23.0/PN1/messages");
    assert_eq!(
        sent[0].json(),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "4915112345678", "type": "template",
               "template": {"name": "order_shipped", "language": {"code": "en_US"},
                            "components": [{"type": "body", "parameters": [{"type": "text", "text": "5521"}, {"type": "text", "text": "Tuesday"}]}]}})
    );
    wait_for_state(&app, r.json["id"].as_str().expect("id"), "sent").await;
}

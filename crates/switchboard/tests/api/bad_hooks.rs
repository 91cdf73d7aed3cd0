//! Bad input on every provider's webhook, end to end: forged, malformed, truncated, unknown
//! and oversized deliveries get a clear status and are counted; nothing forged is stored and
//! nothing valid is lost (a batch with one unreadable item keeps the others).

use crate::helpers::*;
use crate::social::{connect, now, post_hook};
use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_channels::{meta, twilio, x};

/// Signature headers for a body posted to a URL.
type Headers = Vec<(&'static str, String)>;

/// How to sign for one provider, and the bodies to try.
struct Provider {
    kind: &'static str,
    content_type: &'static str,
    /// Headers that sign `body` for the channel's webhook `url`.
    sign: fn(url: &str, body: &[u8]) -> Headers,
    /// Whether the signature covers the body (Telegram's secret token does not: TLS does).
    signs_body: bool,
    /// A signature header of the right name that is not even well-formed.
    garbled: (&'static str, &'static str),
    /// One customer message made from this id.
    message: fn(id: &str) -> Vec<u8>,
    /// The provider's id of that message, as Switchboard stores it.
    stored_id: fn(id: &str) -> String,
    /// An event kind the adapter does not act on.
    unknown: Vec<u8>,
    /// A body cut short, or missing what every delivery must have.
    truncated: Vec<u8>,
    /// One valid message (id `ok-<kind>`) and one unreadable item in the same delivery.
    partly_bad: Option<Vec<u8>>,
}

fn meta_sign(_: &str, body: &[u8]) -> Headers {
    vec![("x-hub-signature-256", meta::sign(b"meta-app-secret", body))]
}

fn page(messaging: Value) -> Vec<u8> {
    let t = now().as_unix_secs() * 1000;
    json!({"object": "page", "entry": [{"id": "PAGE1", "time": t, "messaging": messaging}]})
        .to_string()
        .into_bytes()
}

fn page_dm(id: &str) -> Value {
    json!({"sender": {"id": "PSID-1"}, "recipient": {"id": "PAGE1"}, "timestamp": now().as_unix_secs() * 1000,
           "message": {"mid": id, "text": "Where is my order?"}})
}

fn ig(changes: Value) -> Vec<u8> {
    let t = now().as_unix_secs() * 1000;
    json!({"object": "instagram", "entry": [{"id": "IG1", "time": t, "changes": changes}]})
        .to_string()
        .into_bytes()
}

fn ig_comment(id: &str) -> Value {
    json!({"field": "comments", "value": {"id": id, "from": {"id": "IGSID-1", "username": "ann"}, "text": "Price?", "media": {"id": "M1"}}})
}

fn wa(messages: Value) -> Vec<u8> {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "PN1"},
        "contacts": [{"profile": {"name": "Ann"}, "wa_id": "4915112345678"}],
        "messages": messages
    }}]}]})
    .to_string()
    .into_bytes()
}

fn wa_text(id: &str) -> Value {
    json!({"from": "4915112345678", "id": id, "timestamp": now().as_unix_secs().to_string(), "type": "text", "text": {"body": "Hello"}})
}

fn x_body(tweets: Value) -> Vec<u8> {
    json!({"for_user_id": "1000", "tweet_create_events": tweets})
        .to_string()
        .into_bytes()
}

fn x_tweet(id: &str) -> Value {
    json!({"id_str": id, "text": "@acme my parcel is late", "user": {"id_str": "2000", "screen_name": "ann"},
           "in_reply_to_user_id_str": "1000", "timestamp_ms": (now().as_unix_secs() * 1000).to_string()})
}

fn twilio_form(pairs: &[(&str, &str)]) -> Vec<u8> {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter())
        .finish()
        .into_bytes()
}

fn twilio_sign(url: &str, body: &[u8]) -> Headers {
    let params: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    vec![(
        "x-twilio-signature",
        twilio::sign(b"twilio-auth-token", url, &params),
    )]
}

/// Telegram's ids are numbers: one made from the test's id.
fn tg_number(id: &str) -> i64 {
    id.bytes().map(i64::from).sum()
}

fn tg_message(id: &str) -> Vec<u8> {
    let n = tg_number(id);
    json!({"update_id": n, "message": {"message_id": n, "from": {"id": 555, "is_bot": false, "first_name": "Cy"},
           "chat": {"id": 555, "type": "private"}, "date": now().as_unix_secs(), "text": "hi"}})
    .to_string()
    .into_bytes()
}

fn providers() -> Vec<(Provider, Value, Value)> {
    let fake = "http://127.0.0.1:9";
    let cut = |b: Vec<u8>| b[..b.len() / 2].to_vec();
    vec![
        (
            Provider {
                kind: "messenger",
                content_type: "application/json",
                sign: meta_sign,
                signs_body: true,
                garbled: ("x-hub-signature-256", "sha256=not-hex"),
                message: |id| page(json!([page_dm(id)])),
                stored_id: |id| id.to_owned(),
                unknown: page(
                    json!([{"sender": {"id": "PSID-1"}, "recipient": {"id": "PAGE1"}, "timestamp": 1, "game_play": {}}]),
                ),
                truncated: cut(page(json!([page_dm("cut")]))),
                partly_bad: Some(page(
                    json!([page_dm("ok-messenger"), {"sender": {"id": "PSID-1"}, "recipient": {"id": "PAGE1"}, "timestamp": "soon", "message": {"mid": "bad"}}]),
                )),
            },
            json!({"page_id": "PAGE1", "api_base": fake}),
            json!({"app_secret": "meta-app-secret", "verify_token": "meta-verify-token", "access_token": "meta-access-token"}),
        ),
        (
            Provider {
                kind: "instagram",
                content_type: "application/json",
                sign: meta_sign,
                signs_body: true,
                garbled: ("x-hub-signature-256", "md5=abc"),
                message: |id| ig(json!([ig_comment(id)])),
                stored_id: |id| id.to_owned(),
                unknown: ig(json!([{"field": "story_insights", "value": {"media_id": "1", "reach": 3}}])),
                truncated: cut(ig(json!([ig_comment("cut")]))),
                partly_bad: Some(ig(json!([
                    ig_comment("ok-instagram"),
                    {"field": "comments", "value": {"id": "C-bad", "text": "no author"}}
                ]))),
            },
            json!({"ig_id": "IG1", "api_base": fake}),
            json!({"app_secret": "meta-app-secret", "verify_token": "meta-verify-token", "access_token": "meta-access-token"}),
        ),
        (
            Provider {
                kind: "whatsapp",
                content_type: "application/json",
                sign: meta_sign,
                signs_body: true,
                garbled: ("x-hub-signature-256", "sha256="),
                message: |id| wa(json!([wa_text(id)])),
                stored_id: |id| id.to_owned(),
                unknown: json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": [
                    {"field": "message_template_status_update", "value": {"event": "APPROVED"}}]}]})
                .to_string()
                .into_bytes(),
                truncated: cut(wa(json!([wa_text("cut")]))),
                partly_bad: Some(wa(json!([
                    wa_text("ok-whatsapp"),
                    {"from": "4915112345678", "timestamp": "1", "type": "text", "text": {"body": "no id"}}
                ]))),
            },
            json!({"phone_number_id": "PN1", "api_base": fake}),
            json!({"app_secret": "meta-app-secret", "verify_token": "meta-verify-token", "access_token": "meta-access-token"}),
        ),
        (
            Provider {
                kind: "x",
                content_type: "application/json",
                signs_body: true,
                sign: |_, body| {
                    vec![(
                        "x-twitter-webhooks-signature",
                        x::sign(b"x-consumer-secret", body),
                    )]
                },
                garbled: ("x-twitter-webhooks-signature", "sha256=%%%"),
                message: |id| x_body(json!([x_tweet(id)])),
                stored_id: |id| id.to_owned(),
                unknown: json!({"for_user_id": "1000", "follow_events": [{"type": "follow"}]})
                    .to_string()
                    .into_bytes(),
                truncated: cut(x_body(json!([x_tweet("cut")]))),
                partly_bad: Some(x_body(
                    json!([x_tweet("ok-x"), {"text": "no id", "user": {"id_str": "2000"}}]),
                )),
            },
            json!({"user_id": "1000", "api_base": fake}),
            json!({"consumer_secret": "x-consumer-secret", "access_token": "x-access-token"}),
        ),
        (
            Provider {
                kind: "twilio",
                content_type: "application/x-www-form-urlencoded",
                sign: twilio_sign,
                signs_body: true,
                garbled: ("x-twilio-signature", "!!"),
                stored_id: |id| id.to_owned(),
                message: |id| {
                    twilio_form(&[
                        ("MessageSid", id),
                        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
                        ("From", "+4915112345678"),
                        ("To", "+15550001111"),
                        ("Body", "Hello"),
                    ])
                },
                unknown: twilio_form(&[
                    ("MessageSid", "SM-status"),
                    ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
                    ("MessageStatus", "scheduled"),
                ]),
                truncated: twilio_form(&[("Body", "no sid, no sender")]),
                partly_bad: None,
            },
            json!({"account_sid": "AC0123456789abcdef0123456789abcdef", "from": "+15550001111", "api_base": fake}),
            json!({"auth_token": "twilio-auth-token"}),
        ),
        (
            Provider {
                kind: "telegram",
                content_type: "application/json",
                sign: |_, _| vec![("x-telegram-bot-api-secret-token", "tg-secret".to_owned())],
                signs_body: false,
                garbled: ("x-telegram-bot-api-secret-token", "tg-secreT"),
                message: tg_message,
                stored_id: |id| format!("555:{}", tg_number(id)),
                unknown: json!({"update_id": 9, "poll": {"id": "1"}})
                    .to_string()
                    .into_bytes(),
                truncated: cut(tg_message("cut")),
                partly_bad: None,
            },
            json!({"api_base": fake}),
            json!({"bot_token": "123456:ABC-telegram-token", "secret_token": "tg-secret"}),
        ),
    ]
}

#[tokio::test]
async fn every_providers_bad_deliveries_get_a_clear_status_and_lose_nothing_valid() {
    let app = spawn_app().await;
    let mut expected_messages = 0;
    for (p, config, credentials) in providers() {
        let id = connect(&app, p.kind, config, credentials).await;
        let url = app.url(&format!("/hooks/{}/{id}", p.kind));
        let post = |headers: Headers, body: Vec<u8>| {
            let app = &app;
            let id = id.clone();
            let content_type = p.content_type;
            let kind = p.kind;
            async move { post_hook(app, kind, &id, content_type, &headers, body).await }
        };
        let counted = |outcome: &'static str| {
            let app = &app;
            let kind = p.kind;
            async move {
                app.metric(
                    "switchboard_webhook_requests_total",
                    &[("kind", kind), ("outcome", outcome)],
                )
                .await
            }
        };
        let what = |case: &str| format!("{}: {case}", p.kind);
        // Metrics are the process's: other tests running at once count too, so each check
        // is on this test's own increase, at least.
        let before = |outcome: &'static str| counted(outcome);
        let (forged_0, bad_0, accepted_0) = (
            before("bad_signature").await,
            before("bad_request").await,
            before("accepted").await,
        );
        let ignored_0 = app
            .metric(
                "switchboard_webhook_events_total",
                &[("kind", p.kind), ("event", "ignored")],
            )
            .await;
        let malformed_0 = app
            .metric(
                "switchboard_webhook_events_total",
                &[("kind", p.kind), ("event", "malformed")],
            )
            .await;

        // Forged: no signature, a garbled one, a valid one over other bytes.
        let body = (p.message)("forged");
        let mut tampered = body.clone();
        let last = tampered.len() - 2;
        tampered[last] ^= 1;
        let mut forgeries = vec![
            ("no signature", vec![], body.clone()),
            (
                "garbled signature",
                vec![(p.garbled.0, p.garbled.1.to_owned())],
                body.clone(),
            ),
        ];
        if p.signs_body {
            forgeries.push(("one byte changed", (p.sign)(&url, &body), tampered));
        }
        let n_forged = forgeries.len() as f64;
        for (case, headers, body) in forgeries {
            let a = post(headers, body).await;
            let problem = a.assert_problem(401, "bad_signature");
            assert!(
                !problem["detail"].as_str().unwrap_or("").is_empty(),
                "{}",
                what(case)
            );
        }
        assert!(
            counted("bad_signature").await - forged_0 >= n_forged,
            "{}",
            what("forgeries counted")
        );

        // Signed but unreadable: 400, counted, not stored.
        let a = post((p.sign)(&url, &p.truncated), p.truncated.clone()).await;
        assert_eq!(
            a.status,
            StatusCode::BAD_REQUEST,
            "{}: {}",
            what("truncated"),
            a.text
        );
        assert!(
            ["malformed_body", "invalid_field"].contains(&a.json["code"].as_str().unwrap_or("")),
            "{}: {}",
            what("truncated"),
            a.text
        );
        assert!(
            counted("bad_request").await - bad_0 >= 1.0,
            "{}",
            what("counted")
        );

        // Too large: 413 before anything is read.
        let big = vec![b'a'; 2 * 1024 * 1024];
        let a = post((p.sign)(&url, &big), big).await;
        a.assert_problem(413, "too_large");

        // An event kind Switchboard does not act on: accepted, kept raw, counted as ignored.
        let a = post((p.sign)(&url, &p.unknown), p.unknown.clone()).await;
        assert_eq!(a.status, StatusCode::OK, "{}: {}", what("unknown"), a.text);
        assert!(
            app.metric(
                "switchboard_webhook_events_total",
                &[("kind", p.kind), ("event", "ignored")]
            )
            .await
                - ignored_0
                >= 1.0,
            "{}",
            what("ignored counted")
        );

        // A valid message.
        let ok_id = format!("valid-{}", p.kind);
        let body = (p.message)(&ok_id);
        let a = post((p.sign)(&url, &body), body).await;
        assert_eq!(a.status, StatusCode::OK, "{}: {}", what("valid"), a.text);
        expected_messages += 1;
        app.wait_for_message(&(p.stored_id)(&ok_id)).await;

        // A batch with one unreadable item: the valid one is kept, the other counted.
        if let Some(body) = p.partly_bad.clone() {
            let a = post((p.sign)(&url, &body), body).await;
            assert_eq!(
                a.status,
                StatusCode::OK,
                "{}: {}",
                what("partly bad"),
                a.text
            );
            assert_eq!(a.json["malformed"], 1, "{}: {}", what("partly bad"), a.text);
            app.wait_for_message(&(p.stored_id)(&format!("ok-{}", p.kind)))
                .await;
            expected_messages += 1;
            assert!(
                app.metric(
                    "switchboard_webhook_events_total",
                    &[("kind", p.kind), ("event", "malformed")]
                )
                .await
                    - malformed_0
                    >= 1.0,
                "{}",
                what("malformed counted")
            );
        }
        assert!(
            counted("accepted").await - accepted_0
                >= if p.partly_bad.is_some() { 3.0 } else { 2.0 },
            "{}",
            what("accepted")
        );
    }
    // Nothing forged or unreadable was stored as a message; every valid message was.
    let mut inbound: Vec<String> = app
        .all_messages()
        .await
        .iter()
        .filter(|m| m["direction"] == "inbound")
        .map(|m| m["external_id"].as_str().expect("external id").to_owned())
        .collect();
    inbound.sort();
    assert_eq!(inbound.len(), expected_messages, "{inbound:?}");
    assert!(
        inbound
            .iter()
            .all(|id| !id.contains("forged") && !id.contains("cut") && !id.contains("bad")),
        "{inbound:?}"
    );

    // Unknown channels and kinds.
    let a = post_hook(
        &app,
        "messenger",
        "0190a4d0-0000-7000-8000-000000000000",
        "application/json",
        &[],
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.text);
    let a = post_hook(
        &app,
        "myspace",
        "x",
        "application/json",
        &[],
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.text);
}

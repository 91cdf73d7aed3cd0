//! The CPU cost of one provider webhook before it touches the store, through the same
//! `Adapter` the server uses: verify the signature over the raw body, then parse every event.
//! Run: `cargo bench -p switchboard-channels --bench providers`.

#![allow(clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use std::hint::black_box;
use switchboard_channels::adapter::{Adapter, InboundRequest};
use switchboard_channels::{ChannelKind, meta, twilio, x};

struct Case {
    name: &'static str,
    adapter: Adapter,
    url: &'static str,
    content_type: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

fn cases() -> Vec<Case> {
    let text =
        "Hello, my order has not arrived yet and the tracking page shows nothing. Can you help?";
    let meta_creds = json!({"app_secret": "app-secret", "verify_token": "v", "access_token": "t"});
    let messenger = json!({"object": "page", "entry": [{"id": "PAGE1", "time": 1_790_000_000_000i64, "messaging": [
        {"sender": {"id": "PSID-7"}, "recipient": {"id": "PAGE1"}, "timestamp": 1_790_000_000_000i64,
         "message": {"mid": "m_1", "text": text}}]}]})
    .to_string()
    .into_bytes();
    let whatsapp = json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550001111", "phone_number_id": "PN1"},
        "contacts": [{"profile": {"name": "Ann Lee"}, "wa_id": "4915112345678"}],
        "messages": [{"from": "4915112345678", "id": "wamid.1", "timestamp": "1790000000", "type": "text", "text": {"body": text}}]}}]}]})
    .to_string()
    .into_bytes();
    let tweet = x::account_activity_tweet(
        "1000",
        &x::ReplayTweet {
            id: "500".into(),
            author_id: "42".into(),
            author_screen_name: "ann".into(),
            text: format!("@acme {text}"),
            created_at: switchboard_core::Timestamp::from_unix_micros(1_790_000_000_000_000),
            in_reply_to_status_id: None,
            in_reply_to_user_id: None,
        },
    );
    let sms_params: Vec<(String, String)> = [
        ("MessageSid", "SM0001"),
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
        ("From", "+15551234567"),
        ("To", "+15550001111"),
        ("Body", text),
        ("NumMedia", "0"),
        ("SmsStatus", "received"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let sms = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(sms_params.iter())
        .finish()
        .into_bytes();
    let url = "https://sb.example.com/hooks/twilio/c1";
    let telegram = json!({"update_id": 1, "message": {"message_id": 10, "from": {"id": 555, "is_bot": false, "first_name": "Cy"},
        "chat": {"id": 555, "type": "private"}, "date": 1_790_000_000, "text": text}})
    .to_string()
    .into_bytes();
    let new = |kind, config: serde_json::Value, creds: serde_json::Value| {
        Adapter::new(kind, &config, &creds).expect("adapter")
    };
    vec![
        Case {
            name: "messenger",
            adapter: new(
                ChannelKind::Messenger,
                json!({"page_id": "PAGE1"}),
                meta_creds.clone(),
            ),
            url: "",
            content_type: "application/json",
            headers: vec![("x-hub-signature-256", meta::sign(b"app-secret", &messenger))],
            body: messenger,
        },
        Case {
            name: "whatsapp",
            adapter: new(
                ChannelKind::Whatsapp,
                json!({"phone_number_id": "PN1"}),
                meta_creds,
            ),
            url: "",
            content_type: "application/json",
            headers: vec![("x-hub-signature-256", meta::sign(b"app-secret", &whatsapp))],
            body: whatsapp,
        },
        Case {
            name: "x",
            adapter: new(
                ChannelKind::X,
                json!({"user_id": "1000"}),
                json!({"consumer_secret": "cs", "access_token": "t"}),
            ),
            url: "",
            content_type: "application/json",
            headers: vec![("x-twitter-webhooks-signature", x::sign(b"cs", &tweet))],
            body: tweet,
        },
        Case {
            name: "twilio",
            adapter: new(
                ChannelKind::Twilio,
                json!({"account_sid": "AC0123456789abcdef0123456789abcdef", "from": "+15550001111"}),
                json!({"auth_token": "tok"}),
            ),
            url,
            content_type: "application/x-www-form-urlencoded",
            headers: vec![("x-twilio-signature", twilio::sign(b"tok", url, &sms_params))],
            body: sms,
        },
        Case {
            name: "telegram",
            adapter: new(
                ChannelKind::Telegram,
                json!({}),
                json!({"bot_token": "123:abc", "secret_token": "tg-secret"}),
            ),
            url: "",
            content_type: "application/json",
            headers: vec![("x-telegram-bot-api-secret-token", "tg-secret".into())],
            body: telegram,
        },
    ]
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("provider_verify_and_parse");
    g.throughput(Throughput::Elements(1));
    for case in cases() {
        let header = |name: &str| {
            case.headers
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.as_str())
        };
        let req = InboundRequest {
            url: case.url,
            content_type: Some(case.content_type),
            header: &header,
            body: &case.body,
        };
        // The payload must verify and parse, or the figure means nothing.
        case.adapter.verify(&req).expect("verifies");
        assert!(!case.adapter.parse(&case.body).expect("parses").is_empty());
        g.bench_function(case.name, |b| {
            b.iter(|| {
                case.adapter.verify(black_box(&req)).ok();
                case.adapter.parse(black_box(&case.body))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Real Twilio SMS webhooks from Zammad's test data (`../shared/data/webhooks/zammad_fixtures/
//! twilio/`, read at test time, never copied). Zammad keeps the form fields as a JSON object;
//! they are form-encoded back into the body Twilio sends, signed as Twilio signs, verified and
//! parsed. Skips when the folder is absent.

use serde_json::{Value, json};
use std::path::Path;
use switchboard_channels::twilio::{Config, dedupe_key, parse, sign, verify};
use switchboard_core::ChannelEvent;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/webhooks/zammad_fixtures/twilio"
);

/// The fixture's fields in file order (`null` as an empty value, as a form would carry it).
fn fields(raw: &[u8]) -> Option<Vec<(String, String)>> {
    let v: Value = serde_json::from_slice(raw).ok()?;
    let pairs = v
        .as_object()?
        .iter()
        .map(|(k, v)| {
            let value = match v {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), value)
        })
        .collect();
    Some(pairs)
}

#[test]
fn zammad_twilio_webhooks_parse() {
    let dir = Path::new(DIR);
    if !dir.is_dir() {
        println!("skipped: {DIR} is absent (the shared data folder is not beside the project)");
        return;
    }
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("readable folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {DIR}");
    for path in &files {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let pairs = fields(&std::fs::read(path).expect("readable fixture"))
            .unwrap_or_else(|| panic!("{name}: not a JSON object of form fields"));
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let mut form = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &pairs {
            form.append_pair(k, v);
        }
        let body = form.finish().into_bytes();

        // Signed as Twilio signs (URL + sorted fields), verified from the raw body.
        let url = "https://switchboard.example.com/hooks/twilio/3";
        let token = b"0123456789abcdef0123456789abcdef";
        let signature = sign(token, url, &pairs);
        let ct = Some("application/x-www-form-urlencoded");
        assert_eq!(
            verify(token, url, ct, &body, Some(&signature)),
            Ok(()),
            "{name}"
        );
        let mut tampered = body.clone();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'0' { b'1' } else { b'0' };
        assert!(
            verify(token, url, ct, &tampered, Some(&signature)).is_err(),
            "{name}"
        );

        let cfg = Config::from_json(&json!({"account_sid": get("AccountSid"), "from": get("To")}))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let events = parse(&body, &cfg).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(events.len(), 1, "{name}: {events:?}");
        if pairs.iter().any(|(k, _)| k == "MessageStatus") {
            assert!(
                matches!(
                    events[0],
                    ChannelEvent::Receipt(_) | ChannelEvent::Ignored { .. }
                ),
                "{name}: {events:?}"
            );
            continue;
        }
        let ChannelEvent::Message(m) = &events[0] else {
            panic!("{name}: expected an inbound message, got {events:?}");
        };
        assert_eq!(m.external_id, get("MessageSid"), "{name}");
        assert_eq!(m.thread, format!("sms:{}", get("From")));
        assert_eq!(m.author.external_id, get("From"));
        assert_eq!(m.text, get("Body"));
        assert!(!m.public);
        assert_eq!(dedupe_key(&body), Some(get("MessageSid")), "{name}");

        // Another account's webhook is refused, naming AccountSid.
        let other = Config::from_json(
            &json!({"account_sid": "AC00000000000000000000000000000000", "from": "+1"}),
        )
        .expect("config");
        let err = parse(&body, &other).expect_err("another account");
        assert_eq!(err.field.as_deref(), Some("AccountSid"), "{name}");
    }
}

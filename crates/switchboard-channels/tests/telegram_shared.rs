//! Real Telegram updates from Zammad's test data (`../shared/data/webhooks/zammad_fixtures/
//! telegram/`, read at test time, never copied): every file must parse, with the events its
//! name promises. Zammad adds its own keys (`bid`, `callback_token`) beside the `Update`'s;
//! they are dropped first, as Telegram never sends them. Skips when the folder is absent.

use serde_json::Value;
use std::path::Path;
use switchboard_channels::telegram::{Config, dedupe_key, parse};
use switchboard_core::ChannelEvent;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/webhooks/zammad_fixtures/telegram"
);

/// Keys Zammad's fixtures add around Telegram's `Update`.
const ZAMMAD_KEYS: [&str; 2] = ["bid", "callback_token"];

/// The `Update` inside a fixture file, serialized as Telegram would send it.
fn payload(raw: &[u8]) -> serde_json::Result<Vec<u8>> {
    let mut v: Value = serde_json::from_slice(raw)?;
    if let Some(obj) = v.as_object_mut() {
        for k in ZAMMAD_KEYS {
            obj.remove(k);
        }
    }
    serde_json::to_vec(&v)
}

#[test]
fn zammad_telegram_updates_parse() {
    let dir = Path::new(DIR);
    if !dir.is_dir() {
        println!("skipped: {DIR} is absent (the shared data folder is not beside the project)");
        return;
    }
    let cfg = Config::from_json(&Value::Null).expect("default config");
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
        let raw = std::fs::read(path).expect("readable fixture");
        let body = payload(&raw).unwrap_or_else(|e| panic!("{name}: not JSON: {e}"));
        let events = parse(&body, &cfg).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(events.len(), 1, "{name}: {events:?}");
        let update_id = serde_json::from_slice::<Value>(&body).expect("JSON")["update_id"]
            .as_i64()
            .expect("update_id");
        assert_eq!(
            dedupe_key(&body),
            Some(format!("update:{update_id}")),
            "{name}"
        );
        // The raw file, Zammad's keys and all, parses the same way.
        assert_eq!(parse(&raw, &cfg).as_ref(), Ok(&events), "{name} (raw)");
        let ChannelEvent::Message(m) = &events[0] else {
            // Files named for other update kinds only need to parse.
            assert!(
                !(name.contains("text") || name.contains("photo") || name.contains("start")),
                "{name}: expected a message, got {events:?}"
            );
            continue;
        };
        assert!(m.thread.starts_with("chat:"), "{name}: {}", m.thread);
        assert!(m.external_id.contains(':'), "{name}: {}", m.external_id);
        assert!(m.sent_at.is_some(), "{name}: no date");
        match name {
            "channel_text" => {
                assert!(m.public, "{name}");
                assert_eq!(m.text, "Hello, I need your Help");
                assert_eq!(m.author.name.as_deref(), Some("ZBotChannel"));
            }
            "private_text" | "private_start" => {
                assert!(!m.public, "{name}");
                assert_eq!(m.author.external_id, "111111");
                assert_eq!(
                    m.author.name.as_deref(),
                    Some("Test Firstname Test Lastname")
                );
                assert_eq!(m.author.handle.as_deref(), Some("@Testusername"));
                assert!(!m.text.is_empty());
            }
            "private_photo" => {
                assert!(!m.public);
                assert_eq!(m.attachments.len(), 1, "{name}");
                assert_eq!(m.attachments[0].kind, "image");
                // The largest of the sizes.
                assert_eq!(
                    m.attachments[0].provider_id.as_deref(),
                    Some("photofileid3")
                );
                assert!(m.text.starts_with("caption 123"), "{}", m.text);
            }
            _ => {}
        }
    }
}

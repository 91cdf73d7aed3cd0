//! Cross-check of the WhatsApp adapter against the pywa project's webhook fixtures
//! (`shared/data/webhooks/whatsapp_cloud_pywa/*.json`, MIT): every file is a map of named,
//! real-shaped envelopes; each must parse without error into the expected kinds of event.
//! The fixtures are read at test time and never copied into the project; when the folder is
//! absent the test says so and passes.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use switchboard_channels::whatsapp;
use switchboard_core::ChannelEvent;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/webhooks/whatsapp_cloud_pywa"
);

/// The event kinds each file's envelopes must yield: the file's usual kind, and the cases
/// that differ.
fn expected(file: &str, case: &str) -> Option<&'static str> {
    Some(match (file, case) {
        ("message.json", "reaction" | "unreaction_empty" | "unreaction_no_emoji") => "reaction",
        ("message.json", "unsupported" | "unsupported_with_type") => "ignored",
        // `type: interactive` without its `interactive` object (the value carries `errors`).
        ("message.json", "interactive_message_with_err") => "ignored",
        ("message.json", _) => "message",
        ("message_status.json", "played") => "ignored",
        ("message_status.json", _) => "receipt",
        ("callback_button.json" | "callback_selection.json", _) => "message",
        ("edited_message.json", _) => "edited",
        ("deleted_message.json", _) => "deleted",
        ("outgoing_message.json", "text") => "echo",
        ("outgoing_message.json", _) => "ignored",
        (
            "system.json"
            | "flow_completion.json"
            | "call_permission_update.json"
            | "account_update.json"
            | "call_connect.json"
            | "call_status.json"
            | "call_terminate.json"
            | "template_category_update.json"
            | "template_components_update.json"
            | "template_quality_update.json"
            | "template_status_update.json"
            | "user_marketing_preferences.json",
            _,
        ) => "ignored",
        _ => return None,
    })
}

/// The phone number id an envelope is for (so the channel's config matches it), if any.
fn phone_number_id(envelope: &Value) -> Option<String> {
    envelope["entry"]
        .as_array()?
        .iter()
        .flat_map(|e| e["changes"].as_array().into_iter().flatten())
        .find_map(|c| c["value"]["metadata"]["phone_number_id"].as_str())
        .map(str::to_owned)
}

#[test]
fn pywa_fixtures_parse_into_the_expected_events() {
    let dir = Path::new(FIXTURES);
    if !dir.is_dir() {
        eprintln!("skipped: {} is absent", dir.display());
        return;
    }
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for path in files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let cases: BTreeMap<String, Value> =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        for (case, envelope) in cases {
            let body = serde_json::to_vec(&envelope).unwrap();
            let number = phone_number_id(&envelope).unwrap_or_else(|| "0".into());
            let cfg = whatsapp::Config::from_json(&json!({ "phone_number_id": number })).unwrap();
            let events =
                whatsapp::parse(&body, &cfg).unwrap_or_else(|e| panic!("{file} / {case}: {e}"));
            assert!(!events.is_empty(), "{file} / {case}: no events");
            let want = expected(&file, &case)
                .unwrap_or_else(|| panic!("{file} / {case}: no expectation written for it"));
            for event in &events {
                assert_eq!(event.kind(), want, "{file} / {case}: {event:?}");
                *seen.entry(event.kind().to_owned()).or_default() += 1;
                check_event(&file, &case, event);
            }
            // The same envelope for another number is none of this channel's business.
            let other =
                whatsapp::Config::from_json(&json!({"phone_number_id": "not-ours"})).unwrap();
            for event in whatsapp::parse(&body, &other).unwrap() {
                assert!(
                    matches!(event, ChannelEvent::Ignored { .. }),
                    "{file} / {case}: {event:?}"
                );
            }
        }
    }
    for kind in [
        "message", "reaction", "receipt", "edited", "deleted", "echo", "ignored",
    ] {
        assert!(
            seen.contains_key(kind),
            "no {kind} in the fixtures: {seen:?}"
        );
    }
    eprintln!("pywa fixtures: {seen:?}");
}

/// Spot checks of what the events carry.
fn check_event(file: &str, case: &str, event: &ChannelEvent) {
    match (file, case, event) {
        ("message.json", "text", ChannelEvent::Message(m)) => {
            assert_eq!(m.text, "Body Text");
            assert_eq!(m.thread, "dm:972987654321");
            assert_eq!(m.author.name.as_deref(), Some("Test Name"));
        }
        ("message.json", "reply", ChannelEvent::Message(m)) => {
            assert_eq!(m.reply_to.as_deref(), Some("wamid.xyzxyz=="));
        }
        ("message.json", "document", ChannelEvent::Message(m)) => {
            assert_eq!(m.text, "caption");
            assert_eq!(m.attachments[0].kind, "file");
            assert_eq!(m.attachments[0].name.as_deref(), Some("filename.pdf"));
        }
        ("message.json", "chosen_location", ChannelEvent::Message(m)) => {
            assert_eq!(m.attachments[0].kind, "location");
            let url = m.attachments[0].url.as_deref().unwrap_or_default();
            assert!(url.starts_with("geo:37.4611978,"), "{url}");
        }
        ("message.json", "contacts", ChannelEvent::Message(m)) => {
            assert_eq!(m.attachments.len(), 3);
            assert!(m.attachments.iter().all(|a| a.kind == "contact"));
        }
        ("message.json", "order", ChannelEvent::Message(m)) => {
            assert!(m.text.starts_with("Order: 3 × HAMBURGER"), "{}", m.text);
        }
        ("message.json", "unreaction_empty" | "unreaction_no_emoji", ChannelEvent::Reaction(r)) => {
            assert_eq!(r.emoji, None);
        }
        ("message_status.json", "failed", ChannelEvent::Receipt(r)) => {
            let error = r.error.as_deref().unwrap_or_default();
            assert!(error.starts_with("130472: "), "{r:?}");
        }
        ("callback_button.json", _, ChannelEvent::Message(m))
        | ("callback_selection.json", _, ChannelEvent::Message(m)) => {
            assert_eq!(m.text, "title");
        }
        ("edited_message.json", _, ChannelEvent::Edited { text, .. }) => {
            assert_eq!(text, "Updated image caption");
        }
        _ => {}
    }
}

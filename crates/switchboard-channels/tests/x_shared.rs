//! Parses the X Account Activity webhook payloads Zammad keeps as test fixtures
//! (`data/webhooks/zammad_fixtures/twitter/`, each `{"headers": …, "params": <body>}`).
//! Skips when the folder is absent. The fixtures' signatures cannot be checked: the consumer
//! secret and the exact bytes Zammad signed are not part of them.

use switchboard_channels::x;
use switchboard_core::ChannelEvent;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/webhooks/zammad_fixtures/twitter"
);

#[test]
fn zammad_account_activity_fixtures_parse() {
    if std::fs::metadata(DIR).is_err() {
        eprintln!("skipped: {DIR} is absent");
        return;
    }
    let cfg = x::Config::from_json(&serde_json::json!({"user_id": "123"})).unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(DIR).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let raw = std::fs::read(format!("{DIR}/{name}")).unwrap();
        let fixture: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        let body = serde_json::to_vec(&fixture["params"]).unwrap();
        let events = x::parse(&body, &cfg).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(x::dedupe_key(&body), None, "{name}");
        println!(
            "{name}: {:?}",
            events.iter().map(ChannelEvent::kind).collect::<Vec<_>>()
        );
        match name.as_str() {
            // The account (123) tweets at @medenhofer: an echo addressed to him.
            "webhook1_tweet.json" => match events.as_slice() {
                [ChannelEvent::Echo(e)] => {
                    assert_eq!(e.external_id, "1063212927510081536");
                    assert_eq!(e.thread, "tweet:1063212927510081536");
                    assert_eq!(e.to.external_id, "456");
                    assert_eq!(e.to.handle.as_deref(), Some("@medenhofer"));
                    assert_eq!(e.text, "Hey @medenhofer !  #hello1234");
                    assert_eq!(e.attachments.len(), 1);
                    assert_eq!(e.attachments[0].kind, "image");
                    assert_eq!(
                        e.sent_at.map(|t| t.to_rfc3339()).as_deref(),
                        Some("2018-11-15T23:31:30.116Z")
                    );
                }
                other => panic!("{name}: {other:?}"),
            },
            // The account DMs 456: an echo on 456's DM thread.
            "webhook1_direct_message.json" => match events.as_slice() {
                [ChannelEvent::Echo(e)] => {
                    assert_eq!(e.thread, "dm:456");
                    assert!(!e.public);
                    assert_eq!(e.to.name.as_deref(), Some("Martin Edenhofer"));
                    assert_eq!(e.text, "Hey! Hello!");
                }
                other => panic!("{name}: {other:?}"),
            },
            // 456 DMs the account with a photo.
            "webhook2_direct_message.json" => match events.as_slice() {
                [ChannelEvent::Message(m)] => {
                    assert_eq!(m.external_id, "1063077238797725700");
                    assert_eq!(m.thread, "dm:456");
                    assert_eq!(m.author.handle.as_deref(), Some("@medenhofer"));
                    assert_eq!(m.author.followers, Some(312));
                    assert_eq!(m.text, "Hello Zammad #zammad @znuny\n\nYeah!");
                    assert_eq!(m.attachments.len(), 1);
                    assert_eq!(m.attachments[0].kind, "image");
                }
                other => panic!("{name}: {other:?}"),
            },
            other => panic!("unexpected fixture {other}: {events:?}"),
        }
        checked += 1;
    }
    assert_eq!(checked, 3);
}

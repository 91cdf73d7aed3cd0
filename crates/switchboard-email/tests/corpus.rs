//! The project's corpus of real-world mail shapes (`tests/corpus/*.eml`, written for this
//! project): each is parsed and what Switchboard makes of it checked.

use switchboard_core::{ChannelEvent, DeliveryState};
use switchboard_email::{Machine, Mail, MailError, parse};

fn mail(name: &str) -> Mail {
    let path = format!("{}/tests/corpus/{name}", env!("CARGO_MANIFEST_DIR"));
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    parse(&raw).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn message(m: &Mail) -> switchboard_core::InboundMessage {
    match m.events("sha256:fallback").as_slice() {
        [ChannelEvent::Message(msg)] => msg.clone(),
        other => panic!("expected one message, got {other:?}"),
    }
}

#[test]
fn multipart_alternative_takes_the_text_part() {
    let m = mail("plain_alternative.eml");
    assert_eq!(m.from.address, "ann.lee@example.com");
    assert_eq!(m.from.name.as_deref(), Some("Ann Lee"));
    assert_eq!(m.subject, "Where is my order 5521?");
    assert_eq!(m.message_id.as_deref(), Some("CAF1xYz001@mail.example.com"));
    assert_eq!(
        m.text,
        "Hello,\n\nmy order 5521 has not arrived. Can you check? — Ann"
    );
    assert!(!m.html_only && m.machine.is_none() && m.attachments.is_empty());
    let msg = message(&m);
    assert_eq!(
        msg.thread, "mail:CAF1xYz001@mail.example.com",
        "a new thread"
    );
    assert_eq!(msg.external_id, "CAF1xYz001@mail.example.com");
    assert_eq!(msg.author.external_id, "ann.lee@example.com");
    assert!(!msg.public);
    assert_eq!(
        msg.sent_at.map(|t| t.as_unix_secs()),
        Some(1_772_525_700),
        "09:15 +0100 is 08:15 UTC"
    );
}

#[test]
fn html_only_mail_becomes_readable_text() {
    let m = mail("html_only_latin1.eml");
    assert!(m.html_only);
    assert!(m.text.contains("Grüße"), "{:?}", m.text);
    assert!(m.text.contains("refund for order 77"), "{:?}", m.text);
    assert!(
        !m.text.contains('<') && !m.text.contains("color:red"),
        "{:?}",
        m.text
    );
}

#[test]
fn legacy_charsets_are_decoded() {
    let m = mail("iso2022jp.eml");
    assert_eq!(m.subject, "こんにちは");
    assert_eq!(m.text, "こんにちは");
    assert_eq!(m.from.name.as_deref(), Some("山田太郎"));
    let m = mail("outlook_reply_cp1252.eml");
    assert!(
        m.text.starts_with("It still hasn’t come – please"),
        "{:?}",
        m.text
    );
}

#[test]
fn replies_thread_to_the_root_and_lose_their_quotes() {
    let m = mail("gmail_reply.eml");
    assert_eq!(m.reply, "Thanks, it arrived this morning!");
    assert!(
        m.text.contains("out for delivery"),
        "the whole mail is kept"
    );
    let msg = message(&m);
    assert_eq!(msg.text, "Thanks, it arrived this morning!");
    assert_eq!(
        msg.thread, "mail:CAF1xYz001@mail.example.com",
        "the References root"
    );
    assert_eq!(msg.reply_to.as_deref(), Some("sb-reply-1@acme.example"));
    assert_eq!(
        m.reply_token("acme.example").as_deref(),
        Some("0190a4d0c0de7000800000000000abcd")
    );
    assert_eq!(m.reply_token("other.example"), None);

    let m = mail("outlook_reply_cp1252.eml");
    assert_eq!(
        m.reply,
        "It still hasn’t come – please send a new one.\n\nAnn Lee"
    );
    let msg = message(&m);
    assert_eq!(
        msg.thread, "mail:sb-reply-1@acme.example",
        "no References: In-Reply-To"
    );
}

/// Kind, type, name, content id.
type AttachmentRow<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>);

#[test]
fn attachments_are_listed_with_type_and_name() {
    let m = mail("attachments.eml");
    assert_eq!(m.text, "Photo and invoice attached.");
    let got: Vec<AttachmentRow> = m
        .attachments
        .iter()
        .map(|a| {
            (
                a.kind.as_str(),
                a.mime_type.as_deref(),
                a.name.as_deref(),
                a.provider_id.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "image",
                Some("image/jpeg"),
                Some("screen.jpg"),
                Some("img1@example.net")
            ),
            (
                "file",
                Some("application/pdf"),
                Some("Rechnung März.pdf"),
                None
            ),
        ]
    );
    assert_eq!(message(&m).attachments.len(), 2);
}

#[test]
fn auto_replies_open_nothing() {
    for (file, why) in [
        ("out_of_office.eml", "Auto-Submitted: auto-replied"),
        (
            "out_of_office_subject_only.eml",
            "subject starts with \"abwesenheitsnotiz\"",
        ),
    ] {
        let m = mail(file);
        assert_eq!(m.machine, Some(Machine::AutoReply(why.into())), "{file}");
        assert_eq!(
            m.events("x"),
            [ChannelEvent::Ignored {
                kind: "auto_reply".into()
            }],
            "{file}"
        );
    }
}

#[test]
fn a_bounce_fails_the_reply_it_returns() {
    let m = mail("bounce_dsn.eml");
    let Some(Machine::Bounce(b)) = &m.machine else {
        panic!("{:?}", m.machine)
    };
    assert_eq!(b.recipient.as_deref(), Some("nobody@example.com"));
    assert_eq!(b.status.as_deref(), Some("5.1.1"));
    assert_eq!(
        b.original_message_id.as_deref(),
        Some("sb-reply-7@acme.example")
    );
    assert!(b.is_permanent());
    match m.events("x").as_slice() {
        [ChannelEvent::Receipt(r)] => {
            assert_eq!(r.external_id, "sb-reply-7@acme.example");
            assert_eq!(r.state, DeliveryState::Failed);
            let e = r.error.as_deref().unwrap_or("");
            assert!(
                e.starts_with("bounced 5.1.1 for nobody@example.com: "),
                "{e}"
            );
            assert!(e.contains("User unknown"), "{e}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_mime_is_read_as_far_as_it_goes() {
    let m = mail("malformed_mime.eml");
    assert_eq!(m.message_id, None);
    let msg = message(&m);
    assert_eq!(
        msg.external_id, "sha256:fallback",
        "no Message-ID: the caller's id"
    );
    assert_eq!(msg.thread, "mail:sha256:fallback");
}

#[test]
fn what_is_not_a_mail_is_refused() {
    assert_eq!(parse(b"").unwrap_err(), MailError::Empty);
    assert_eq!(parse(b" \r\n\t").unwrap_err(), MailError::Empty);
    assert_eq!(
        parse(b"To: help@acme.example\r\nSubject: hi\r\n\r\nbody").unwrap_err(),
        MailError::NoFrom
    );
    // Bytes that are no mail at all never panic.
    for junk in [
        &b"\xff\xfe\x00\x01"[..],
        b"no headers here",
        b"::::\r\n\r\n",
        b"From:\r\n\r\n",
    ] {
        let _ = parse(junk);
    }
}

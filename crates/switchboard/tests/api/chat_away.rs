//! The web chat when nobody is there: outside the team's hours the widget is told when the
//! team is back; a visitor leaves an e-mail address; replies written while they are gone go
//! out by mail through a real SMTP relay (aiosmtpd), and their answer by mail (smtplib to the
//! SMTP listener) joins the same case and shows in the chat when they come back.

use crate::chat::{SECRET, next, open, quiet, send, until};
use crate::email::{header, smtp_send};
use crate::helpers::*;
use crate::social::connect;
use reqwest::StatusCode;
use serde_json::json;
use time::format_description::well_known::Rfc3339;

const ORIGIN: &str = "https://shop.example";

#[tokio::test]
async fn away_visitors_are_answered_by_mail_and_their_mail_joins_the_chat() {
    let port = free_port();
    let app = spawn_app_with(|c| c.smtp_listen = Some(format!("127.0.0.1:{port}"))).await;
    let Some(relay) = SmtpPeer::start().await else {
        return;
    };
    let mail_id = connect(
        &app,
        "email",
        json!({"address": "help@acme.example", "from_name": "Acme Support"}),
        json!({"smtp_url": relay.url()}),
    )
    .await;
    // Open only tomorrow (UTC), all day: closed now.
    let now = time::OffsetDateTime::now_utc();
    let tomorrow = now.date().next_day().expect("tomorrow");
    let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        [tomorrow.weekday().number_days_from_monday() as usize];
    let chat_id = connect(
        &app,
        "webchat",
        json!({
            "allowed_origins": [ORIGIN],
            "hours": {"timezone": "UTC", day: "00:00-24:00"},
            "email_channel_id": mail_id,
            "offline_after_minutes": 0,
        }),
        json!({"widget_secret": SECRET}),
    )
    .await;
    let back = tomorrow.midnight().assume_utc();

    // The widget's settings say the team is away and when it is back.
    let cfg = app
        .http
        .get(app.url(&format!("/chat/{chat_id}/config")))
        .header("origin", ORIGIN)
        .send()
        .await
        .expect("config");
    assert_eq!(cfg.status(), StatusCode::OK);
    let cfg: serde_json::Value = cfg.json().await.expect("json");
    assert_eq!(
        (
            &cfg["open"],
            &cfg["followup"],
            &cfg["offline_after_minutes"]
        ),
        (&json!(false), &json!(true), &json!(0))
    );
    let next_open = cfg["next_open"].as_str().expect("next_open");
    assert_eq!(
        time::OffsetDateTime::parse(next_open, &Rfc3339).expect("rfc3339"),
        back
    );

    // A visitor writes anyway and leaves an address (a bad one first).
    let mut s = open(&app, &chat_id, Some(ORIGIN)).await.expect("open");
    send(&mut s, json!({"type": "hello"})).await;
    let welcome = next(&mut s).await;
    assert_eq!(
        (&welcome["open"], &welcome["followup"]),
        (&json!(false), &json!(null))
    );
    let token = welcome["token"].as_str().expect("token").to_owned();
    let visitor = welcome["visitor"].as_str().expect("visitor").to_owned();
    send(
        &mut s,
        json!({"type": "message", "client_id": "c-1", "text": "Has order 7781 shipped?"}),
    )
    .await;
    until(&mut s, "ack").await;
    for bad in [json!("not an address"), json!(""), json!(42)] {
        send(&mut s, json!({"type": "followup", "email": bad})).await;
        let (err, _) = until(&mut s, "error").await;
        assert_eq!(err["code"], "bad_email", "{bad}");
    }
    send(
        &mut s,
        json!({"type": "followup", "email": " Ann@Example.COM "}),
    )
    .await;
    let (saved, _) = until(&mut s, "followup_saved").await;
    assert_eq!(saved["email"], "ann@example.com");

    // While the visitor is here, an answer shows in the chat and is not mailed.
    let case = app.wait_for_message(&format!("{visitor}:c-1")).await;
    let case_id = case["id"].as_str().expect("case").to_owned();
    let reply = |text: &'static str| {
        let app = &app;
        let case_id = case_id.clone();
        async move {
            let r = app
                .post(
                    &format!("/api/v1/cases/{case_id}/replies"),
                    &app.agent,
                    &json!({"text": text}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        }
    };
    reply("Let me check.").await;
    let m = loop {
        let (m, _) = until(&mut s, "message").await;
        if m["from"] == "agent" {
            break m;
        }
    };
    assert_eq!(
        (m["seq"].as_i64(), m["text"].as_str()),
        (Some(2), Some("Let me check."))
    );
    assert!(
        relay.mails().is_empty(),
        "not mailed while the chat is open"
    );
    // Agents see the address on the visitor's contact.
    let contact = app
        .get(
            &format!(
                "/api/v1/contacts/{}",
                case["contact_id"].as_str().expect("contact")
            ),
            &app.agent,
        )
        .await;
    assert_eq!(
        contact.json["keys"],
        json!([{"kind": "email", "value": "ann@example.com", "source": "message"}]),
        "{}",
        contact.text
    );

    // The visitor leaves; the next answer goes by mail, with a reply address for this chat.
    drop(s);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    reply("It ships tomorrow morning.").await;
    let mails = wait_for("the mailed answer", || async {
        let m = relay.mails();
        (!m.is_empty()).then_some(m)
    })
    .await;
    let mail = &mails[0];
    assert!(
        header(mail, "To").is_some_and(|t| t.contains("ann@example.com")),
        "{mail}"
    );
    assert!(
        header(mail, "From").is_some_and(|f| f.contains("help@acme.example")),
        "{mail}"
    );
    assert_eq!(
        header(mail, "Subject"),
        Some("Re: Your chat with Acme Support")
    );
    assert!(mail.contains("It ships tomorrow morning."), "{mail}");
    let reply_to = header(mail, "Reply-To")
        .expect("Reply-To")
        .trim_matches(['<', '>'])
        .to_owned();
    let conversation = case["messages"][0]["conversation_id"]
        .as_str()
        .expect("conversation")
        .replace('-', "");
    assert!(
        reply_to.starts_with(&format!("reply+{conversation}@")),
        "{reply_to}"
    );
    let our_id = header(mail, "Message-ID").expect("Message-ID").to_owned();

    // The customer answers the mail: it joins the same case.
    let answer = format!(
        "From: Ann <ann@example.com>\nTo: {reply_to}\nSubject: Re: Your chat with Acme Support\nMessage-ID: <ann-2@example.com>\nIn-Reply-To: {our_id}\n\nGreat, thank you!\n"
    );
    assert_eq!(smtp_send(port, &[&reply_to], &answer).await, "ok");
    let joined = app.wait_for_message("ann-2@example.com").await;
    assert_eq!(
        joined["id"],
        case_id.as_str(),
        "the mail joined the chat's case"
    );

    // Back in the chat: what happened while away comes after what the browser had.
    let mut s = open(&app, &chat_id, Some(ORIGIN)).await.expect("open");
    send(
        &mut s,
        json!({"type": "hello", "token": token, "last_seq": 2}),
    )
    .await;
    let welcome = next(&mut s).await;
    assert_eq!(
        (&welcome["seq"], &welcome["followup"]),
        (&json!(4), &json!("ann@example.com"))
    );
    let m3 = next(&mut s).await;
    let m4 = next(&mut s).await;
    assert_eq!(
        (m3["seq"].as_i64(), m3["from"].as_str(), m3["text"].as_str()),
        (Some(3), Some("agent"), Some("It ships tomorrow morning."))
    );
    assert_eq!(
        (m4["seq"].as_i64(), m4["from"].as_str(), m4["text"].as_str()),
        (Some(4), Some("visitor"), Some("Great, thank you!"))
    );
    assert!(quiet(&mut s, 300).await, "nothing twice");
    assert_eq!(relay.mails().len(), 1, "one mail in all");
}

#[tokio::test]
async fn a_reply_sent_late_is_numbered_when_it_goes_out() {
    // An answer held for approval goes out after the visitor's next message: it comes after
    // that message in the chat (numbered when sent), and is not skipped by an open chat or a
    // reconnect.
    let app = spawn_app().await;
    let playbook = "[[team]]\nid = \"legal\"\nname = \"Legal\"\n\n[[team]]\nid = \"support\"\nname = \"Support\"\n\n[[rule]]\nname = \"All\"\nthen.team = \"support\"\nthen.require_approval = \"legal\"\n";
    let a = app
        .put("/api/v1/playbook", &app.admin, &json!({"source": playbook}))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let teams = app.get("/api/v1/teams", &app.admin).await;
    let legal = teams.json["items"]
        .as_array()
        .expect("teams")
        .iter()
        .find(|t| t["slug"] == "legal")
        .expect("legal")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let rita = app.person("rita", "reviewer").await;
    let a = app
        .post(
            &format!("/api/v1/teams/{legal}/members"),
            &app.admin,
            &json!({"user_id": rita.id}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let chat_id = connect(
        &app,
        "webchat",
        json!({"allowed_origins": [ORIGIN]}),
        json!({"widget_secret": SECRET}),
    )
    .await;

    let mut s = open(&app, &chat_id, Some(ORIGIN)).await.expect("open");
    send(&mut s, json!({"type": "hello"})).await;
    let welcome = next(&mut s).await;
    let visitor = welcome["visitor"].as_str().expect("visitor").to_owned();
    let token = welcome["token"].as_str().expect("token").to_owned();
    send(
        &mut s,
        json!({"type": "message", "client_id": "a", "text": "first"}),
    )
    .await;
    until(&mut s, "ack").await;
    let (m1, _) = until(&mut s, "message").await;
    assert_eq!(m1["seq"], 1);
    let case = app.wait_for_message(&format!("{visitor}:a")).await;
    let case_id = case["id"].as_str().expect("case").to_owned();
    let held = app
        .post(
            &format!("/api/v1/cases/{case_id}/replies"),
            &app.agent,
            &json!({"text": "held for review"}),
        )
        .await;
    assert_eq!(
        held.json["delivery_state"], "pending_approval",
        "{}",
        held.text
    );
    let held_id = held.json["id"].as_str().expect("id").to_owned();
    assert!(quiet(&mut s, 300).await, "a held reply is not shown");

    send(
        &mut s,
        json!({"type": "message", "client_id": "b", "text": "second"}),
    )
    .await;
    let (m2, _) = until(&mut s, "message").await;
    assert_eq!(
        (m2["seq"].as_i64(), m2["text"].as_str()),
        (Some(2), Some("second"))
    );
    let a = app
        .as_person(
            &rita,
            reqwest::Method::POST,
            &format!("/api/v1/messages/{held_id}/approve"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let (m3, _) = until(&mut s, "message").await;
    assert_eq!(
        (m3["seq"].as_i64(), m3["text"].as_str()),
        (Some(3), Some("held for review"))
    );
    drop(s);

    // A new page gets all three in the order the visitor could see them.
    let mut s = open(&app, &chat_id, Some(ORIGIN)).await.expect("open");
    send(&mut s, json!({"type": "hello", "token": token})).await;
    assert_eq!(next(&mut s).await["seq"], 3);
    let texts: Vec<String> = [next(&mut s).await, next(&mut s).await, next(&mut s).await]
        .iter()
        .map(|m| format!("{} {}", m["seq"], m["text"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(texts, ["1 first", "2 second", "3 held for review"]);
}

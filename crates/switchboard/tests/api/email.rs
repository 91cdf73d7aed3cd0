//! The e-mail channel end to end with real peers: Python's `smtplib` delivers mail to the
//! server's SMTP listener, the agent answers through the API, and the reply goes out through
//! an aiosmtpd relay, threaded; the customer's answer, an out-of-office and a bounce follow.

use crate::helpers::*;
use crate::social::connect;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Sends `raw` to the listener with smtplib as `rcpts`; the outcome as smtplib reports it:
/// `ok`, or the refusal's code and text.
pub(crate) async fn smtp_send(port: u16, rcpts: &[&str], raw: &str) -> String {
    let script = r#"
import smtplib, sys, json
port, rcpts = int(sys.argv[1]), json.loads(sys.argv[2])
raw = sys.stdin.buffer.read()
try:
    s = smtplib.SMTP("127.0.0.1", port, timeout=10)
    s.ehlo("client.example")
    s.sendmail("sender@example.com", rcpts, raw)
    s.quit()
    print("ok")
except smtplib.SMTPRecipientsRefused as e:
    code, msg = list(e.recipients.values())[0]
    print(f"{code} {msg.decode()}")
except smtplib.SMTPResponseException as e:
    print(f"{e.smtp_code} {e.smtp_error.decode()}")
"#;
    let rcpts = serde_json::to_string(rcpts).expect("json");
    let raw = raw.replace('\n', "\r\n");
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = std::process::Command::new("python3")
            .args(["-c", script, &port.to_string(), &rcpts])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(raw.as_bytes())
            .expect("write");
        let out = child.wait_with_output().expect("wait");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    })
    .await
    .expect("join")
}

pub(crate) fn header<'a>(mail: &'a str, name: &str) -> Option<&'a str> {
    mail.lines().take_while(|l| !l.is_empty()).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[tokio::test]
async fn mail_in_over_smtp_replies_out_threaded_auto_replies_and_bounces() {
    let port = free_port();
    let app = spawn_app_with(|c| c.smtp_listen = Some(format!("127.0.0.1:{port}"))).await;
    let Some(relay) = SmtpPeer::start().await else {
        return;
    };
    let id = connect(
        &app,
        "email",
        json!({"address": "help@acme.example", "from_name": "Acme Support"}),
        json!({"smtp_url": relay.url()}),
    )
    .await;

    // Bad input first: nothing of it is stored.
    let unknown = smtp_send(
        port,
        &["nobody@acme.example"],
        "From: a@example.com\n\nhi\n",
    )
    .await;
    assert!(unknown.starts_with("550"), "{unknown}");
    let no_from = smtp_send(port, &["help@acme.example"], "Subject: who am I\n\nhi\n").await;
    assert!(no_from.starts_with("550 5.6.0"), "{no_from}");
    let hook = app
        .post(&format!("/hooks/email/{id}"), &app.admin, &json!({}))
        .await;
    hook.assert_problem(404, "not_found");
    assert!(app.all_cases().await.is_empty());

    // A customer writes.
    let first = "From: Ann Lee <ann@example.com>\nTo: Acme Support <help@acme.example>\nSubject: Where is my order 5521?\nMessage-ID: <first@example.com>\nDate: Tue, 03 Mar 2026 09:15:00 +0100\nContent-Type: text/plain; charset=utf-8\n\nHello, my order 5521 has not arrived.\n\n-- \nAnn Lee\n";
    assert_eq!(smtp_send(port, &["help@acme.example"], first).await, "ok");
    // The relay retries: the same mail again is stored once.
    assert_eq!(smtp_send(port, &["help@acme.example"], first).await, "ok");
    let case = app.wait_for_message("first@example.com").await;
    let case_id = case["id"].as_str().expect("id").to_owned();
    let msgs = case["messages"].as_array().expect("messages");
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert_eq!(
        msgs[0]["text"], "Hello, my order 5521 has not arrived.",
        "no signature"
    );
    assert_eq!(case["public"], false);

    // The case goes to Billing, which writes from its own address and signs its mail.
    let team = app
        .post("/api/v1/teams", &app.admin, &json!({"name": "Billing"}))
        .await;
    assert_eq!(team.status, StatusCode::CREATED, "{}", team.text);
    let team_id = team.json["id"].as_str().expect("team id").to_owned();
    let bad = app
        .patch(
            &format!("/api/v1/teams/{team_id}"),
            &app.admin,
            &json!({"email_from": "billing at acme"}),
        )
        .await;
    assert_eq!(
        bad.assert_problem(400, "invalid_field")["field"],
        "email_from"
    );
    let t = app
        .patch(
            &format!("/api/v1/teams/{team_id}"),
            &app.admin,
            &json!({"email_from": "Billing@Acme.example", "email_signature": "Acme Billing\nMon-Fri 9-17"}),
        )
        .await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.text);
    assert_eq!(t.json["email_from"], "billing@acme.example");
    let moved = app
        .post(
            &format!("/api/v1/cases/{case_id}/transfer"),
            &app.agent,
            &json!({"team": team_id, "reason": "a billing question"}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);

    // The agent answers; the relay gets a threaded reply.
    let r = app
        .post(
            &format!("/api/v1/cases/{case_id}/replies"),
            &app.agent,
            &json!({"text": "Hello Ann, your parcel is out for delivery."}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let reply_id = r.json["id"].as_str().expect("id").to_owned();
    let sent: Value = wait_for("the reply to reach the relay", || async {
        let m = relay.mails();
        (!m.is_empty()).then(|| json!(m[0]))
    })
    .await;
    let mail = sent.as_str().expect("mail");
    assert_eq!(header(mail, "Subject"), Some("Re: Where is my order 5521?"));
    assert_eq!(header(mail, "In-Reply-To"), Some("<first@example.com>"));
    assert_eq!(header(mail, "References"), Some("<first@example.com>"));
    assert_eq!(header(mail, "To"), Some("ann@example.com"));
    assert!(
        header(mail, "From")
            .is_some_and(|f| f.contains("Billing") && f.contains("<billing@acme.example>")),
        "{mail}"
    );
    let conversation = case["conversation_id"]
        .as_str()
        .expect("conversation")
        .replace('-', "");
    let reply_address = format!("reply+{conversation}@acme.example");
    assert_eq!(
        header(mail, "Reply-To"),
        Some(reply_address.as_str()),
        "answers come back to the conversation's own address"
    );
    assert!(
        mail.replace("\r\n", "\n")
            .contains("-- \nAcme Billing\nMon-Fri 9-17"),
        "{mail}"
    );
    let our_id = header(mail, "Message-ID").expect("Message-ID").to_owned();
    assert_eq!(our_id, format!("<sb.{reply_id}@acme.example>"));
    assert!(mail.contains("your parcel is out for delivery"), "{mail}");
    crate::social::wait_for_state(&app, &reply_id, "sent").await;

    // Ann answers the reply, quoting it: the same case, without the quote.
    let answer = format!(
        "From: Ann Lee <ann@example.com>\nTo: help@acme.example\nSubject: Re: Where is my order 5521?\nMessage-ID: <second@example.com>\nIn-Reply-To: {our_id}\nReferences: <first@example.com> {our_id}\n\nThanks, it arrived!\n\nOn Tue, 3 Mar 2026 at 11:02, Acme Support <help@acme.example> wrote:\n> Hello Ann, your parcel is out for delivery.\n"
    );
    assert_eq!(smtp_send(port, &["help@acme.example"], &answer).await, "ok");
    let same = app.wait_for_message("second@example.com").await;
    assert_eq!(same["id"], case_id.as_str(), "the answer joins the case");
    let texts: Vec<&str> = same["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["direction"] != "note")
        .map(|m| m["text"].as_str().expect("text"))
        .collect();
    assert_eq!(
        texts,
        [
            "Hello, my order 5521 has not arrived.",
            "Hello Ann, your parcel is out for delivery.",
            "Thanks, it arrived!"
        ]
    );

    // A mail program that drops In-Reply-To and References: the reply address still threads it.
    let headerless = format!(
        "From: Ann Lee <ann@example.com>\nTo: {reply_address}\nSubject: one more thing\nMessage-ID: <third@example.com>\n\nCan you also send the invoice?\n"
    );
    assert_eq!(smtp_send(port, &[&reply_address], &headerless).await, "ok");
    let same = app.wait_for_message("third@example.com").await;
    assert_eq!(
        same["id"],
        case_id.as_str(),
        "threaded by the reply address"
    );

    // An out-of-office opens nothing.
    let oof = "From: Bo <bo@example.com>\nTo: help@acme.example\nSubject: Automatic reply: hello\nAuto-Submitted: auto-replied\nMessage-ID: <oof@example.com>\n\nI am away.\n";
    assert_eq!(smtp_send(port, &["help@acme.example"], oof).await, "ok");

    // A bounce of our reply fails it.
    let bounce = format!(
        "From: MAILER-DAEMON@mx.example.com\nTo: help@acme.example\nSubject: Undelivered Mail Returned to Sender\nMessage-ID: <bounce@mx.example.com>\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nYour message could not be delivered.\n--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.com\n\nFinal-Recipient: rfc822; ann@example.com\nAction: failed\nStatus: 5.2.2\nDiagnostic-Code: smtp; 552 5.2.2 mailbox full\n--b\nContent-Type: text/rfc822-headers\n\nMessage-ID: {our_id}\n--b--\n"
    );
    assert_eq!(smtp_send(port, &["help@acme.example"], &bounce).await, "ok");
    let failed = crate::social::wait_for_state(&app, &reply_id, "failed").await;
    let error = failed["delivery_error"].as_str().unwrap_or("");
    assert!(
        error.contains("5.2.2") && error.contains("mailbox full"),
        "{error}"
    );
    assert_eq!(app.all_cases().await.len(), 1, "neither opened a case");
    assert_eq!(relay.mails().len(), 1, "nothing else was sent");
}

fn mail(id: &str, text: &str) -> String {
    format!(
        "From: Ann Lee <ann@example.com>\nTo: help@acme.example\nSubject: {text}\nMessage-ID: <{id}>\n\n{text}\n"
    )
}

/// The inbound messages' ids, in the order stored.
async fn inbound_ids(app: &TestApp) -> Vec<String> {
    let mut msgs: Vec<(String, String)> = app
        .all_messages()
        .await
        .iter()
        .filter(|m| m["direction"] == "inbound")
        .map(|m| {
            (
                m["id"].as_str().expect("id").to_owned(),
                m["external_id"].as_str().expect("external id").to_owned(),
            )
        })
        .collect();
    msgs.sort();
    msgs.into_iter().map(|(_, e)| e).collect()
}

#[tokio::test]
async fn imap_fetches_each_mail_once_waits_with_idle_and_survives_a_renumbered_mailbox() {
    let Some(imap) = ImapPeer::start().await else {
        return;
    };
    let app = spawn_app().await;
    // Mail that was there before the channel was connected is fetched too.
    imap.append("Support", &mail("imap-1@example.com", "first"))
        .await;
    connect(
        &app,
        "email",
        json!({"address": "help@acme.example",
               "imap": {"host": "127.0.0.1", "port": imap.port, "tls": false, "mailbox": "Support"}}),
        json!({"imap_password": imap.password}),
    )
    .await;
    app.wait_for_message("imap-1@example.com").await;

    // New mail arrives while the worker waits in IDLE.
    imap.append("Support", &mail("imap-2@example.com", "second"))
        .await;
    app.wait_for_message("imap-2@example.com").await;

    // The mailbox is deleted and made again: its UIDs start over (a new UIDVALIDITY). The new
    // mail is fetched, and the old one put back is not stored twice.
    imap.recreate("Support").await;
    imap.append("Support", &mail("imap-3@example.com", "third"))
        .await;
    imap.append("Support", &mail("imap-1@example.com", "first"))
        .await;
    imap.append("Support", &mail("imap-4@example.com", "fourth"))
        .await;
    app.wait_for_message("imap-4@example.com").await;
    // A moment for anything fetched twice to show.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        inbound_ids(&app).await,
        [
            "imap-1@example.com",
            "imap-2@example.com",
            "imap-3@example.com",
            "imap-4@example.com"
        ]
    );
    // The mailbox was only read: every message is still unseen there.
    let seen = imap
        .imaplib("m.select('Support')\nprint(repr(m.search(None, 'SEEN')[1][0].decode()))")
        .await;
    assert_eq!(seen, "''", "no message was marked seen");

    // A gigantic mail is skipped (it stays in the mailbox); the next one still arrives.
    imap.imaplib(
        "big = ('From: x@example.com\\r\\nMessage-ID: <huge@example.com>\\r\\n\\r\\n' + 'a' * 76 + '\\r\\n') \
         \nbig = big + ('b' * 76 + '\\r\\n') * 340000\nprint(m.append('Support', None, None, big.encode()))",
    )
    .await;
    imap.append("Support", &mail("imap-5@example.com", "fifth"))
        .await;
    app.wait_for_message("imap-5@example.com").await;
    let ids = inbound_ids(&app).await;
    assert!(!ids.iter().any(|i| i == "huge@example.com"), "{ids:?}");
    assert_eq!(ids.len(), 5);
}

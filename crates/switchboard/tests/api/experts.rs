//! Hand-off to an outside expert (issue 3), with a real SMTP server: the invitation mail
//! carries a signed link; the expert's page shows the case and takes one answer; reminders go
//! out when the expert is late; links can be revoked; tampered, expired, used and revoked
//! links are refused with clear answers.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

/// The expert link in a raw mail.
fn link_in(mail: &str) -> String {
    let text = mail.replace("=\r\n", "").replace("=\n", "");
    let start = text.find("http://").expect("a link in the mail");
    text[start..]
        .split_whitespace()
        .next()
        .expect("the link")
        .to_owned()
}

async fn open_case(app: &TestApp, id: &str, text: &str) -> String {
    let ch = app.create_channel(NOWHERE).await;
    app.deliver(&ch, &message(id, &format!("conv-{id}"), "cust", text))
        .await;
    app.wait_for_message(id).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn an_expert_answers_through_a_mailed_signed_link_and_the_owner_is_told() {
    let Some(smtp) = SmtpPeer::start().await else {
        return;
    };
    let url = smtp.url();
    let app = spawn_app_with(|c| {
        c.smtp = Some(switchboard_server::mail::SmtpConfig {
            url,
            from: "desk@shop.example".into(),
        });
        c.expert_remind_after_micros = 1_000_000;
    })
    .await;
    let ana = app.person("ana", "agent").await;
    let case = open_case(
        &app,
        "x-1",
        "Is my <b>warranty</b> valid abroad? Card 4111 1111 1111 1111, SSN 123-45-6789",
    )
    .await;
    let experts = format!("/api/v1/cases/{case}/experts");

    // Bad input first: nothing is created.
    let bad = |body: serde_json::Value| {
        let app = &app;
        let ana = &ana;
        let experts = experts.clone();
        async move {
            app.as_person(ana, Method::POST, &experts, Some(&body))
                .await
        }
    };
    let a = bad(json!({"email": "not an address", "question": "?"})).await;
    assert_eq!(a.assert_problem(400, "invalid_field")["field"], "email");
    let a = bad(json!({"email": "lee@uni.example", "question": "  "})).await;
    assert_eq!(a.assert_problem(400, "invalid_field")["field"], "question");
    let a = bad(json!({"email": "lee@uni.example", "question": "q", "expires_in": "90d"})).await;
    assert_eq!(
        a.assert_problem(400, "invalid_field")["field"],
        "expires_in"
    );
    app.post(
        &experts,
        &app.admin,
        &json!({"email": "lee@uni.example", "question": "q"}),
    )
    .await
    .assert_problem(403, "forbidden");
    assert_eq!(app.get(&experts, &app.admin).await.json["items"], json!([]));
    assert!(smtp.mails().is_empty());

    // The invitation: the case waits on the expert, the mail carries the link.
    let a = app
        .as_person(
            &ana,
            Method::POST,
            &experts,
            Some(&json!({
                "email": "lee@uni.example",
                "name": "Dr Lee",
                "question": "Does the warranty cover repairs in Spain?",
                "remind_after": "1s",
            })),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(a.json["mailed"], true, "{}", a.text);
    assert_eq!(a.json["link"]["state"], "waiting");
    assert_eq!(app.case(&case).await["status"], "with_expert");
    let mail = wait_for("the invitation mail", || async {
        smtp.mails().into_iter().next()
    })
    .await;
    assert!(mail.contains("lee@uni.example"), "{mail}");
    assert!(
        mail.contains("Does the warranty cover repairs in Spain?"),
        "{mail}"
    );
    let link = link_in(&mail);
    assert_eq!(link, a.json["url"].as_str().unwrap());
    let token = link.rsplit('/').next().unwrap().to_owned();

    // The page shows the case (escaped), not the team's notes, and keeps the link private.
    let page = app.http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Is my &lt;b&gt;warranty&lt;/b&gt; valid abroad?"),
        "{html}"
    );
    assert!(!html.contains("<b>warranty"), "customer text is escaped");
    // An outside expert sees neither the card nor the id number whole.
    assert!(html.contains("Card •••• 1111, SSN •••• 6789"), "{html}");
    assert!(
        !html.contains("4111 1111") && !html.contains("123-45"),
        "{html}"
    );
    assert!(
        !html.contains("Asked Dr Lee"),
        "internal notes stay internal"
    );
    let a = app
        .call(Method::GET, &format!("/api/v1/expert/{token}"), None, None)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(
        a.json["question"],
        "Does the warranty cover repairs in Spain?"
    );
    assert_eq!(a.json["messages"][0]["from"], "customer");
    let shown = a.json["messages"][0]["text"].as_str().unwrap_or_default();
    assert!(
        shown.ends_with("Card •••• 1111, SSN •••• 6789"),
        "{}",
        a.text
    );
    assert!(a.json.get("email").is_none() && a.json["messages"][0].get("author").is_none());

    // Tampered links are refused before anything is read.
    let mut tampered = token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    for t in [tampered.as_str(), "abc", &token[..20]] {
        app.call(Method::GET, &format!("/api/v1/expert/{t}"), None, None)
            .await
            .assert_problem(403, "invalid_link");
        let r = app
            .http
            .get(app.url(&format!("/expert/{t}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }

    // Late: a reminder mail with the link again, and Ana is told.
    let reminder = wait_for("a reminder mail", || async {
        smtp.mails().into_iter().find(|m| m.contains("Reminder"))
    })
    .await;
    assert_eq!(link_in(&reminder), link);
    wait_for("Ana's expert.late notice", || async {
        let a = app
            .as_person(&ana, Method::GET, "/api/v1/notifications", None)
            .await;
        a.json["items"]
            .as_array()?
            .iter()
            .find(|n| n["kind"] == "expert.late")
            .cloned()
    })
    .await;

    // The answer, through the page's form: a suggested reply.
    let empty = app
        .http
        .post(&link)
        .form(&[("text", " "), ("kind", "reply")])
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
    let r = app
        .http
        .post(&link)
        .form(&[
            ("text", "Yes: EU-wide, bring the receipt."),
            ("kind", "reply"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("Thank you"));
    let detail = app.case(&case).await;
    assert_eq!(detail["status"], "open", "back from the expert");
    let answer = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["author"]["kind"] == "expert")
        .cloned()
        .expect("the expert's answer on the case");
    assert_eq!(answer["text"], "Yes: EU-wide, bring the receipt.");
    assert_eq!(answer["direction"], "note");
    assert_eq!(answer["suggested"], true);
    assert_eq!(answer["author"]["name"], "Dr Lee (lee@uni.example)");
    let notice = wait_for("Ana's expert.answered notice", || async {
        let a = app
            .as_person(&ana, Method::GET, "/api/v1/notifications", None)
            .await;
        a.json["items"]
            .as_array()?
            .iter()
            .find(|n| n["kind"] == "expert.answered")
            .cloned()
    })
    .await;
    assert_eq!(notice["case_id"], json!(case));
    let a = app.get(&experts, &app.agent).await;
    assert_eq!(a.json["items"][0]["state"], "answered");
    assert!(a.json["items"][0]["reminders"].as_i64().unwrap() >= 1);
    assert!(a.json["time_with_experts_seconds"].as_i64().unwrap() >= 1);

    // Used once: a second answer is refused and changes nothing.
    let before = app.case(&case).await["messages"].as_array().unwrap().len();
    app.call(
        Method::POST,
        &format!("/api/v1/expert/{token}/answer"),
        None,
        Some(&json!({"text": "again"})),
    )
    .await
    .assert_problem(410, "link_used");
    assert_eq!(
        app.case(&case).await["messages"].as_array().unwrap().len(),
        before
    );

    // A revoked link stops working and the case comes back.
    let a = app
        .as_person(
            &ana,
            Method::POST,
            &experts,
            Some(&json!({"email": "kim@uni.example", "question": "And in Norway?"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let second = a.json["url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let link_id = a.json["link"]["id"].as_str().unwrap().to_owned();
    assert_eq!(app.case(&case).await["status"], "with_expert");
    let a = app
        .as_person(
            &ana,
            Method::POST,
            &format!("{experts}/{link_id}/revoke"),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["state"], "revoked");
    assert_eq!(app.case(&case).await["status"], "open");
    app.call(Method::GET, &format!("/api/v1/expert/{second}"), None, None)
        .await
        .assert_problem(410, "link_revoked");
    app.as_person(
        &ana,
        Method::POST,
        &format!("{experts}/{link_id}/revoke"),
        None,
    )
    .await
    .assert_problem(422, "rule_violated");
    let audit = app.get("/api/v1/audit?limit=200", &app.admin).await;
    let actions: Vec<&str> = audit.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for a in [
        "expert.invited",
        "expert.reminded",
        "expert.answered",
        "expert.revoked",
    ] {
        assert!(actions.contains(&a), "{a} audited: {actions:?}");
    }
}

#[tokio::test]
async fn without_a_mail_relay_the_agent_gets_the_link_and_expired_links_say_so() {
    let app = spawn_app().await;
    let ana = app.person("ana", "agent").await;
    let case = open_case(&app, "y-1", "hello").await;
    let a = app
        .as_person(
            &ana,
            Method::POST,
            &format!("/api/v1/cases/{case}/experts"),
            Some(&json!({"email": "lee@uni.example", "question": "?", "expires_in": "1s"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(a.json["mailed"], false);
    assert!(
        a.json["mail_error"].as_str().unwrap().contains("SMTP"),
        "{}",
        a.text
    );
    let token = a.json["url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.call(Method::GET, &format!("/api/v1/expert/{token}"), None, None)
            .await
            .status,
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.call(Method::GET, &format!("/api/v1/expert/{token}"), None, None)
        .await
        .assert_problem(410, "link_expired");
    let r = app
        .http
        .get(app.url(&format!("/expert/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::GONE);
    assert!(r.text().await.unwrap().contains("expired"));
    let a = app
        .get(&format!("/api/v1/cases/{case}/experts"), &app.agent)
        .await;
    assert_eq!(a.json["items"][0]["state"], "expired");
    // The case does not wait forever: it comes back, and Ana is told.
    wait_for("the case back from the expert", || async {
        (app.case(&case).await["status"] == "open").then_some(())
    })
    .await;
    let a = app
        .as_person(&ana, Method::GET, "/api/v1/notifications", None)
        .await;
    assert!(
        a.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "expert.expired"),
        "{}",
        a.text
    );
}

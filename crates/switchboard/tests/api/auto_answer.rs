//! Automatic answers (issue 7): a playbook rule lets Switchboard answer Tier-1 questions with
//! a public article; the case resolves as deflected, a thank-you keeps it so, anything else
//! reopens it for a person; crisis, negative and unmatched questions are left to people.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const PLAYBOOK: &str = r#"
[[team]]
id = "front-desk"
name = "Front desk"

[[rule]]
name = "Outages are a crisis"
when.text_any = ["outage"]
then.purpose = "crisis"
then.team = "front-desk"

[[rule]]
name = "Tier 1 answers itself"
then.purpose = "tier1"
then.team = "front-desk"
then.auto_answer = { min_confidence = 0.3 }
"#;

/// A partner answering every send with `status`, its channel, and the game article.
async fn game_setup(app: &TestApp, status: u16) -> (FakePartner, Channel) {
    let partner = FakePartner::start(&[], status).await;
    let ch = app.create_channel(&partner.url).await;
    article(
        app,
        json!({"title": "When does the game start?", "body": "At 7 pm."}),
    )
    .await;
    (partner, ch)
}

async fn article(app: &TestApp, body: Value) {
    let r = app.post("/api/v1/kb/articles", &app.agent, &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

/// Waits until the case's automatic answer left `pending`; returns the case.
async fn decided(app: &TestApp, external: &str) -> Value {
    let case = app.wait_for_message(external).await;
    let id = case["id"].as_str().expect("case id").to_owned();
    settled(
        app,
        &id,
        &format!("the automatic answer to {external}"),
        |c| c["auto_answer"]["state"] != "pending",
    )
    .await
}

/// The case once `done` holds for it. Read again after: on PostgreSQL each statement of one
/// read sees the latest commit, so the read that first saw the change may have read the case
/// row just before it.
async fn settled(app: &TestApp, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    wait_for(what, || async { done(&app.case(id).await).then_some(()) }).await;
    app.case(id).await
}

#[tokio::test]
async fn confident_tier1_questions_are_answered_and_resolved_as_deflected() {
    deflection_flow(&spawn_app().await).await;
}

#[tokio::test]
async fn deflection_on_postgres() {
    if let Some(app) = spawn_app_pg("deflection_on_postgres").await {
        deflection_flow(&app).await;
    }
}

async fn deflection_flow(app: &TestApp) {
    let partner = FakePartner::start(&[], 200).await;
    let ch = app.create_channel(&partner.url).await;
    app.apply_playbook(PLAYBOOK).await;
    for body in [
        json!({"title": "When does the game start?",
               "body": "Hi {{contact.first_name}}! Saturday's **home game** starts at 7 pm. Gates open at 6 pm.",
               "questions": ["What time is kick-off?"], "purpose": "tier1"}),
        json!({"title": "Staff parking codes", "body": "The staff garage code is 4711.",
               "questions": ["staff parking permit code"], "public": false}),
    ] {
        let r = app.post("/api/v1/kb/articles", &app.agent, &body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }

    // A plain question: answered with the article, as plain text, and resolved as deflected.
    app.deliver(
        &ch,
        &message(
            "q-1",
            "conv-1",
            "ann",
            "What time does the game start on Saturday?",
        ),
    )
    .await;
    let case = decided(app, "q-1").await;
    assert_eq!(case["auto_answer"]["state"], "answered", "{case}");
    assert_eq!(case["status"], "resolved", "{case}");
    assert_eq!(case["resolution"], "deflected", "{case}");
    assert!(case["auto_answer"]["confidence"].as_f64().unwrap_or(0.0) >= 0.3);
    let reply = case["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .find(|m| m["direction"] == "outbound")
        .expect("the automatic reply")
        .clone();
    assert_eq!(reply["author"]["kind"], "system", "{reply}");
    let text = reply["text"].as_str().unwrap_or("");
    assert!(
        text.starts_with("Hi Customer!") && text.contains("home game starts at 7 pm"),
        "rendered, without Markdown: {text}"
    );
    wait_for("the answer at the partner", || async {
        partner_texts(&partner)
            .iter()
            .any(|t| t.contains("7 pm"))
            .then_some(())
    })
    .await;

    // The customer thanks: it stays resolved, the deflection confirmed.
    app.deliver(&ch, &message("q-1b", "conv-1", "ann", "Thanks for that!"))
        .await;
    let id = case["id"].as_str().expect("id").to_owned();
    let after = settled(app, &id, "the confirmation", |c| {
        c["auto_answer"]["state"] == "confirmed"
    })
    .await;
    assert_eq!(after["status"], "resolved", "{after}");
    assert_eq!(after["resolution"], "deflected");

    // Another customer says it did not help: back to a person.
    app.deliver(
        &ch,
        &message("q-2", "conv-2", "bob", "When does the game start?"),
    )
    .await;
    let case2 = decided(app, "q-2").await;
    assert_eq!(case2["status"], "resolved", "{case2}");
    app.deliver(
        &ch,
        &message(
            "q-2b",
            "conv-2",
            "bob",
            "That didn't help, the gates were closed at 6",
        ),
    )
    .await;
    let id2 = case2["id"].as_str().expect("id").to_owned();
    let reopened = settled(app, &id2, "the reopening", |c| c["status"] == "open").await;
    assert_eq!(reopened["auto_answer"]["state"], "reopened", "{reopened}");
    assert_eq!(reopened["resolution"], Value::Null);
    assert_eq!(reopened["reopen_count"], 1);
    assert_eq!(
        reopened["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .filter(|m| m["direction"] == "outbound")
            .count(),
        1,
        "no second automatic answer on a reopened case"
    );

    // Left to people: a crisis, an angry customer, and a question only an internal article
    // answers.
    for (id, text, reason) in [
        (
            "q-3",
            "Is there an outage? What time does the game start?",
            "crisis",
        ),
        (
            "q-4",
            "This is terrible and awful, I hate it. What time does the game start?",
            "negative_sentiment",
        ),
        (
            "q-5",
            "What is the staff parking permit code?",
            "no_article",
        ),
    ] {
        app.deliver(&ch, &message(id, &format!("conv-{id}"), id, text))
            .await;
        let c = decided(app, id).await;
        assert_eq!(c["auto_answer"]["state"], "skipped", "{id}: {c}");
        assert_eq!(c["auto_answer"]["reason"], reason, "{id}: {c}");
        assert_eq!(c["status"], "new", "{id}");
        assert_eq!(c["resolution"], Value::Null, "{id}");
    }
    assert!(
        !partner_texts(&partner).iter().any(|t| t.contains("4711")),
        "an internal article is never sent"
    );
    // Counted (the metrics are the process's: other tests add to them).
    for (kind, least) in [("answered", 2.0), ("crisis", 1.0), ("no_article", 1.0)] {
        let n = app
            .metric("switchboard_auto_answers_total", &[("kind", kind)])
            .await;
        assert!(n >= least, "{kind}: {n}");
    }
    let actions = app.audit_actions().await;
    assert_eq!(
        actions.iter().filter(|a| *a == "case.deflected").count(),
        2,
        "{actions:?}"
    );
}

#[tokio::test]
async fn without_a_rule_or_below_the_threshold_nothing_is_sent() {
    let app = spawn_app().await;
    let (partner, ch) = game_setup(&app, 200).await;

    // No playbook: no automatic answers at all.
    app.deliver(
        &ch,
        &message("n-1", "conv-n1", "n", "When does the game start?"),
    )
    .await;
    let c = app.wait_for_message("n-1").await;
    assert_eq!(c["auto_answer"], Value::Null, "{c}");

    // A threshold no retrieval reaches: skipped as low confidence, the best score recorded.
    let strict = PLAYBOOK.replace("min_confidence = 0.3", "min_confidence = 1.0");
    app.apply_playbook(&strict).await;
    app.deliver(
        &ch,
        &message("n-2", "conv-n2", "n2", "When does the game start?"),
    )
    .await;
    let c = decided(&app, "n-2").await;
    assert_eq!(c["auto_answer"]["reason"], "low_confidence", "{c}");
    assert!(c["auto_answer"]["confidence"].as_f64().is_some(), "{c}");
    assert_eq!(c["auto_answer"]["policy"]["min_confidence"], 1.0);

    // A playbook whose auto_answer is not a flag or a table is refused, naming the line.
    let bad = PLAYBOOK.replace("{ min_confidence = 0.3 }", "\"sometimes\"");
    let r = app
        .put("/api/v1/playbook", &app.admin, &json!({ "source": bad }))
        .await;
    let p = r.assert_problem(422, "invalid_playbook");
    assert!(p.to_string().contains("auto_answer is true, false"), "{p}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        partner.received().is_empty(),
        "nothing was sent: {:?}",
        partner_texts(&partner)
    );
}

#[tokio::test]
async fn an_answer_the_channel_would_refuse_is_left_to_a_person() {
    use crate::provider::{FakeProvider, Reply};
    use crate::social::{connect, post_x, tweet};
    use switchboard_channels::x;

    let app = spawn_app().await;
    let fake = FakeProvider::start(
        vec![],
        Reply::json(201, json!({"data": {"id": "9001", "text": "ok"}})),
    )
    .await;
    let id = connect(
        &app,
        "x",
        json!({"user_id": "1000", "api_base": fake.base}),
        json!({"consumer_secret": "x-consumer-secret", "access_token": "x-user-token"}),
    )
    .await;
    app.apply_playbook(PLAYBOOK).await;
    for body in [
        json!({"title": "Parking at the stadium", "body": format!("Parking is free in lots A and B. {}", "More details follow. ".repeat(20))}),
        json!({"title": "Ticket office opening hours", "body": "The ticket office is open 10 am to 4 pm."}),
    ] {
        let r = app.post("/api/v1/kb/articles", &app.agent, &body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    for (tweet_id, text) in [
        ("700", "@acme where is parking at the stadium?"),
        ("701", "@acme what are the ticket office opening hours?"),
    ] {
        let body = x::account_activity_tweet("1000", &tweet(tweet_id, "42", text, None));
        let a = post_x(&app, &id, "x-consumer-secret", body).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    }
    // Over X's 280 characters for a public reply: not sent, a person decides.
    let long = decided(&app, "700").await;
    assert_eq!(long["auto_answer"]["state"], "skipped", "{long}");
    assert_eq!(long["auto_answer"]["reason"], "channel_rules: too_long");
    assert_eq!(long["status"], "new");
    // Short enough: answered publicly, as a reply to the mention.
    let short = decided(&app, "701").await;
    assert_eq!(short["auto_answer"]["state"], "answered", "{short}");
    let sent = fake.wait_for(1).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path, "/2/tweets");
    assert_eq!(
        sent[0].json(),
        json!({"text": "The ticket office is open 10 am to 4 pm.", "reply": {"in_reply_to_tweet_id": "701"}})
    );
}

#[tokio::test]
async fn an_answer_the_channel_refuses_opens_the_case_again() {
    let app = spawn_app().await;
    // The partner refuses every message for good.
    let (partner, ch) = game_setup(&app, 400).await;
    app.apply_playbook(PLAYBOOK).await;
    app.deliver(
        &ch,
        &message("u-1", "conv-u1", "u", "When does the game start?"),
    )
    .await;
    let case = decided(&app, "u-1").await;
    let id = case["id"].as_str().expect("id").to_owned();
    let reopened = settled(&app, &id, "the case to open again", |c| {
        c["auto_answer"]["state"] == "undelivered"
    })
    .await;
    assert_eq!(reopened["status"], "open", "{reopened}");
    assert_eq!(reopened["resolution"], Value::Null);
    assert!(!partner.received().is_empty(), "it was tried");
}

//! Understanding (issue 4): every inbound message is understood before it is routed (purpose,
//! sentiment, language, personal data), the result is stored with the message, and the
//! playbook routes by it; `POST /api/v1/analyze` runs the same step on any text.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const PLAYBOOK: &str = r#"
[[team]]
id = "care"
name = "Customer care"

[[team]]
id = "payments"
name = "Payments"

[[rule]]
name = "Card numbers go to payments"
when.personal_data_any = ["card_number", "iban"]
then.team = "payments"
then.tags = ["pci"]
then.stop = true

[[team]]
id = "sales"
name = "Sales"

[[rule]]
name = "Unhappy customers go to care"
when.sentiment_any = ["negative"]
then.team = "care"
then.priority = "high"

[[rule]]
name = "Buyers go to sales"
when.purpose_any = ["sales"]
when.min_confidence = 0.4
then.team = "sales"
"#;

#[tokio::test]
async fn analyze_understands_a_text_and_refuses_bad_input() {
    let app = spawn_app().await;
    let text = "This is the WORST service ever, you charged my card 4111 1111 1111 1111 twice!!";
    let a = app
        .post("/api/v1/analyze", &app.agent, &json!({ "text": text }))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let u = &a.json;
    assert_eq!(u["sentiment"]["label"], "negative", "{u}");
    assert!(u["sentiment"]["score"].as_f64().unwrap() < 0.0, "{u}");
    assert_eq!(u["purpose"]["label"], "support", "{u}");
    let confidence = u["purpose"]["confidence"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&confidence), "{u}");
    assert!(
        !u["purpose"]["because"].as_array().unwrap().is_empty(),
        "{u}"
    );
    assert_eq!(u["language"], "en");
    let pd = u["personal_data"].as_array().unwrap();
    assert_eq!(pd.len(), 1, "{u}");
    assert_eq!(pd[0]["kind"], "card_number");
    let (s, e) = (
        pd[0]["start"].as_u64().unwrap() as usize,
        pd[0]["end"].as_u64().unwrap() as usize,
    );
    assert_eq!(&text[s..e], "4111 1111 1111 1111");
    assert_eq!(pd[0].get("scheme"), None, "{u}");
    // A national id says which.
    for (text, scheme) in [
        ("meu CPF é 529.982.247-25, obrigado", "br_cpf"),
        ("my SSN is 123-45-6789", "us_ssn"),
    ] {
        let a = app
            .post("/api/v1/analyze", &app.agent, &json!({ "text": text }))
            .await;
        let pd = &a.json["personal_data"];
        assert_eq!(pd[0]["kind"], "national_id", "{}", a.text);
        assert_eq!(pd[0]["scheme"], scheme, "{}", a.text);
    }
    assert_eq!(u["intent"], Value::Null, "no intent model installed");

    app.post("/api/v1/analyze", &app.agent, &json!({ "text": "  " }))
        .await
        .assert_problem(400, "invalid_field");
    app.post("/api/v1/analyze", &app.agent, &json!({ "txt": "hi" }))
        .await
        .assert_problem(400, "invalid_field");
    app.post(
        "/api/v1/analyze",
        &app.agent,
        &json!({ "text": "a".repeat(70_000) }),
    )
    .await
    .assert_problem(400, "invalid_field");
    app.call(
        reqwest::Method::POST,
        "/api/v1/analyze",
        None,
        Some(&json!({ "text": "hi" })),
    )
    .await
    .assert_problem(401, "unauthorized");
}

/// An `unknown` says which rule gave it, in the API and on the case page.
#[tokio::test]
async fn an_unknown_says_why_in_the_api_and_on_the_case_page() {
    let app = spawn_app().await;
    let a = app
        .post(
            "/api/v1/analyze",
            &app.agent,
            &json!({ "text": "https://t.co/abc 👍" }),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["purpose"]["label"], "unknown", "{}", a.text);
    assert_eq!(
        a.json["purpose"]["unknown"]["reason"], "no_words",
        "{}",
        a.text
    );
    let a = app
        .post(
            "/api/v1/analyze",
            &app.agent,
            &json!({ "text": "Terrible!! My order never arrived" }),
        )
        .await;
    assert_ne!(a.json["purpose"]["label"], "unknown", "{}", a.text);
    assert_eq!(a.json["purpose"].get("unknown"), None, "{}", a.text);

    let ch = app.create_channel("http://127.0.0.1:9/unused").await;
    app.deliver(
        &ch,
        &message("w-1", "conv-w1", "ann", "https://t.co/abc 👍"),
    )
    .await;
    let case = app.wait_for_message("w-1").await;
    let detail = app.case(case["id"].as_str().unwrap()).await;
    let stored = &detail["messages"][0]["understanding"]["purpose"];
    assert_eq!(stored["unknown"]["reason"], "no_words", "{detail}");
    let ada = app.person("ada", "agent").await;
    let page = app
        .http
        .get(app.url(&format!("/cases/{}", case["id"].as_str().unwrap())))
        .header("Cookie", ada.cookie.clone())
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    let box_ = &page[page.find("id=\"understanding\"").expect("the box")..];
    assert!(
        box_.contains("nothing to read (only links, handles, numbers or marks)"),
        "{box_}"
    );
}

async fn routed_by_understanding(app: TestApp) {
    let a = app
        .put(
            "/api/v1/playbook",
            &app.admin,
            &json!({ "source": PLAYBOOK }),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let teams = app.get("/api/v1/teams", &app.admin).await;
    let team_id = |slug: &str| {
        teams.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["slug"] == slug)
            .unwrap()["id"]
            .clone()
    };
    let ch = app.create_channel("http://127.0.0.1:9/unused").await;

    app.deliver(
        &ch,
        &message(
            "u-1",
            "conv-u1",
            "ann",
            "Terrible!! My order never arrived and nobody answers. So angry",
        ),
    )
    .await;
    let case = app.wait_for_message("u-1").await;
    assert_eq!(case["team"], team_id("care"), "{case}");
    assert_eq!(case["priority"], "high");
    assert_eq!(
        case["routing"]["fired"][0]["rule"],
        "Unhappy customers go to care"
    );
    let detail = app.case(case["id"].as_str().unwrap()).await;
    let u = &detail["messages"][0]["understanding"];
    assert_eq!(u["sentiment"]["label"], "negative", "{detail}");
    assert_eq!(u["language"], "en");
    // No rule set a purpose: the case has the understood one.
    assert_eq!(case["purpose"], u["purpose"]["label"], "{detail}");

    app.deliver(
        &ch,
        &message(
            "u-2",
            "conv-u2",
            "bob",
            "How much does the enterprise plan cost for 50 seats? We'd like a quote",
        ),
    )
    .await;
    let case = app.wait_for_message("u-2").await;
    assert_eq!(case["team"], team_id("sales"), "{case}");
    assert_eq!(case["purpose"], "sales");
    let reasons = case["routing"]["fired"][0]["reasons"].to_string();
    assert!(reasons.contains("sales"), "{reasons}");

    // Personal data routes too: an unhappy customer who wrote a card number goes to payments.
    app.deliver(
        &ch,
        &message(
            "u-3",
            "conv-u3",
            "cy",
            "Terrible!! You charged my card 4111 1111 1111 1111 twice. So angry",
        ),
    )
    .await;
    let case = app.wait_for_message("u-3").await;
    assert_eq!(case["team"], team_id("payments"), "{case}");
    assert_eq!(case["tags"], json!(["pci"]), "{case}");
    assert_eq!(
        case["routing"]["fired"][0]["reasons"],
        json!(["carries personal data: card_number"]),
        "{case}"
    );
}

#[tokio::test]
async fn inbound_messages_are_understood_and_routed_by_it() {
    routed_by_understanding(spawn_app().await).await;
}

#[tokio::test]
async fn understanding_on_postgres() {
    let Some(app) = spawn_app_pg("understanding_on_postgres").await else {
        return;
    };
    routed_by_understanding(app).await;
}

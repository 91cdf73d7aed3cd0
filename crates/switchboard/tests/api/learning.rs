//! Learning from agents (issue 4): a person correcting a case's purpose makes a labelled
//! example; the learning loop retrains the purpose model in the background and ships it only
//! if it labels the held-back recent corrections at least as well as the model in force; an
//! agent can also correct a message's intent.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn corrections_retrain_the_purpose_model_behind_a_gate() {
    let app = spawn_app_with(|c| {
        c.retrain_tick_ms = 100;
        c.retrain_min_new = 5;
    })
    .await;
    let text = |i: usize| format!("the zorblax quibbet number {i} is flumping again");
    let before = app
        .post("/api/v1/analyze", &app.agent, &json!({"text": text(9)}))
        .await;
    assert_ne!(before.json["purpose"]["label"], "crisis", "{}", before.text);

    let ch = app.create_channel("http://127.0.0.1:9/unused").await;
    for i in 0..5 {
        let id = format!("z-{i}");
        app.deliver(
            &ch,
            &message(&id, &format!("conv-z{i}"), &format!("c{i}"), &text(i)),
        )
        .await;
        let case = app.wait_for_message(&id).await;
        let a = app
            .patch(
                &format!("/api/v1/cases/{}", case["id"].as_str().unwrap()),
                &app.agent,
                &json!({"purpose": "crisis"}),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    }
    let examples = app
        .get("/api/v1/training-examples?kind=purpose", &app.admin)
        .await;
    let items = examples.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 5, "{}", examples.text);
    assert_eq!(items[0]["label"], "crisis");
    assert_eq!(items[0]["text"], text(0));

    let shipped = wait_for("the retrained purpose model to ship", || async {
        let list = app.get("/api/v1/models", &app.admin).await;
        list.json["items"]
            .as_array()?
            .iter()
            .find(|m| m["kind"] == "purpose" && m["active"] == true)
            .cloned()
    })
    .await;
    let gate = &shipped["summary"]["held_back_accuracy"];
    assert_eq!(shipped["summary"]["held_back"], 1, "{shipped}");
    assert!(
        gate["candidate"].as_f64().unwrap() >= gate["current"].as_f64().unwrap(),
        "{shipped}"
    );
    let after: Value = wait_for("the new model to be in force", || async {
        let a = app
            .post("/api/v1/analyze", &app.agent, &json!({"text": text(9)}))
            .await;
        (a.json["purpose"]["label"] == "crisis").then_some(a.json)
    })
    .await;
    assert!(after["purpose"]["confidence"].as_f64().unwrap() > 0.4);

    // Intent corrections are kept too, on the message and as examples.
    let detail = app
        .case(app.wait_for_message("z-0").await["id"].as_str().unwrap())
        .await;
    let message = detail["messages"][0]["id"].as_str().unwrap().to_owned();
    let a = app
        .post(
            &format!("/api/v1/messages/{message}/intent"),
            &app.agent,
            &json!({"label": "quibbet_fault"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["understanding"]["intent"]["label"], "quibbet_fault");
    let intents = app
        .get("/api/v1/training-examples?kind=intent", &app.admin)
        .await;
    assert_eq!(intents.json["items"][0]["label"], "quibbet_fault");
    app.post(
        &format!("/api/v1/messages/{message}/intent"),
        &app.agent,
        &json!({"label": "no spaces please"}),
    )
    .await
    .assert_problem(400, "invalid_field");
    app.get("/api/v1/training-examples?kind=weather", &app.admin)
        .await
        .assert_problem(400, "invalid_field");
    app.get("/api/v1/training-examples?kind=intent", &app.agent)
        .await
        .assert_problem(403, "forbidden");
}

#[tokio::test]
async fn a_candidate_that_does_worse_on_recent_corrections_never_ships() {
    let app = spawn_app_with(|c| {
        c.retrain_tick_ms = 100;
        c.retrain_min_new = 6;
    })
    .await;
    // Four corrections that teach "sales" for a plain crisis, one to "support", then the most
    // recent one (held back) saying "crisis", which the model in force already gets right.
    // (The model already labels these crisis, so the last case goes to support first: only a
    // change is a correction.)
    let text =
        |i: usize| format!("Your app leaked my data, I am calling my lawyer and the press ({i})");
    let ch = app.create_channel("http://127.0.0.1:9/unused").await;
    for i in 0..5 {
        let id = format!("w-{i}");
        app.deliver(
            &ch,
            &message(&id, &format!("conv-w{i}"), &format!("c{i}"), &text(i)),
        )
        .await;
        let case = app.wait_for_message(&id).await;
        let labels: &[&str] = if i < 4 {
            &["sales"]
        } else {
            &["support", "crisis"]
        };
        for label in labels {
            let a = app
                .patch(
                    &format!("/api/v1/cases/{}", case["id"].as_str().unwrap()),
                    &app.agent,
                    &json!({"purpose": label}),
                )
                .await;
            assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        }
    }
    wait_for("the candidate to be judged", || async {
        let judged = app
            .audit_actions()
            .await
            .iter()
            .any(|a| a == "model.rejected");
        let list = app.get("/api/v1/models", &app.admin).await;
        let shipped = list.json["items"]
            .as_array()?
            .iter()
            .any(|m| m["kind"] == "purpose");
        assert!(!shipped, "a worse candidate shipped: {}", list.text);
        judged.then_some(())
    })
    .await;
    let list = app.get("/api/v1/models", &app.admin).await;
    assert!(
        list.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["kind"] != "purpose"),
        "nothing shipped: {}",
        list.text
    );
    let a = app
        .post("/api/v1/analyze", &app.agent, &json!({"text": text(9)}))
        .await;
    assert_eq!(
        a.json["purpose"]["label"], "crisis",
        "the model in force stays: {}",
        a.text
    );
}

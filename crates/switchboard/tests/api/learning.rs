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

#[tokio::test]
async fn an_intent_model_trained_through_the_api_learns_from_intent_corrections() {
    let app = spawn_app_with(|c| {
        c.retrain_tick_ms = 100;
        c.retrain_min_new = 2;
    })
    .await;
    let train = |query: &str, body: &str| {
        let (app, query, body) = (&app, query.to_owned(), body.to_owned());
        async move {
            app.send_raw(
                reqwest::Method::POST,
                &format!("/api/v1/models/intent/train{query}"),
                &app.admin,
                "text/csv",
                body,
            )
            .await
        }
    };
    // Bad files are refused by name, and nothing is installed.
    train("?label_column=category&format=xml", "")
        .await
        .assert_problem(400, "invalid_field");
    let p = train("?label_column=label", &crate::model_cli::intents_csv()).await;
    let p = p.assert_problem(422, "invalid_examples");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("no column \"label\""),
        "{p}"
    );
    let p = train("?label_column=category", "text,category\na,x\nb,x\n").await;
    assert!(
        p.assert_problem(422, "invalid_examples")["detail"]
            .as_str()
            .unwrap()
            .contains("only one label")
    );
    app.send_raw(
        reqwest::Method::POST,
        "/api/v1/models/intent/train",
        &app.agent,
        "text/csv",
        "x",
    )
    .await
    .assert_problem(403, "forbidden");
    assert!(
        app.get("/api/v1/models", &app.admin).await.json["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let a = train("?label_column=category", &crate::model_cli::intents_csv()).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(
        (
            a.json["version"].as_i64(),
            a.json["summary"]["labels"].as_i64()
        ),
        (Some(1), Some(3))
    );
    let base = app
        .get("/api/v1/training-examples?kind=intent", &app.admin)
        .await;
    assert_eq!(base.json["items"].as_array().unwrap().len(), 24);

    // Two corrections: the older teaches, the newer is held back to judge.
    let ch = app.create_channel("http://127.0.0.1:9/unused").await;
    for i in 0..2 {
        let id = format!("b-{i}");
        let text = format!("blorptastic kerfuffle with the thing number {i}");
        app.deliver(&ch, &message(&id, &format!("conv-b{i}"), "bo", &text))
            .await;
        let case = app.wait_for_message(&id).await;
        let detail = app.case(case["id"].as_str().unwrap()).await;
        let m = detail["messages"][0]["id"].as_str().unwrap().to_owned();
        assert!(
            detail["messages"][0]["understanding"]["intent"]["label"].is_string(),
            "{detail}"
        );
        let a = app
            .post(
                &format!("/api/v1/messages/{m}/intent"),
                &app.agent,
                &json!({"label": "refund"}),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    }
    let shipped = wait_for("the retrained intent model to ship", || async {
        let list = app.get("/api/v1/models", &app.admin).await;
        list.json["items"]
            .as_array()?
            .iter()
            .find(|m| m["kind"] == "intent" && m["version"] == 2 && m["active"] == true)
            .cloned()
    })
    .await;
    assert_eq!(shipped["summary"]["corrections"], 1, "{shipped}");
    let a = app
        .post(
            "/api/v1/analyze",
            &app.agent,
            &json!({"text": "blorptastic kerfuffle with the thing number 7"}),
        )
        .await;
    assert_eq!(a.json["intent"]["label"], "refund", "{}", a.text);
}

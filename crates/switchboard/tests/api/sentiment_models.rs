//! A workspace's own sentiment (issue 4): agents correct the sentiment understood in a
//! customer's message, the learning loop retrains the sentiment model from those corrections
//! behind the same gate as purposes and intents, and an admin can train one from the
//! workspace's labelled messages, install one made by `model train --kind sentiment`, and go
//! back to the shipped model.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The sentiment Switchboard now understands in `text`.
async fn sentiment_of(app: &TestApp, text: &str) -> Value {
    let a = app
        .post("/api/v1/analyze", &app.agent, &json!({"text": text}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    a.json["sentiment"].clone()
}

/// Delivers a message for each of `texts` (ids `{prefix}-{i}`) and an agent sends `label` as
/// its sentiment; returns each message's id and the answer to its correction.
async fn correct_each(
    app: &TestApp,
    ch: &Channel,
    prefix: &str,
    texts: impl IntoIterator<Item = (usize, String)>,
    label: &str,
) -> Vec<(String, Answer)> {
    let mut out = Vec::new();
    for (i, text) in texts {
        let id = format!("{prefix}-{i}");
        app.deliver(
            ch,
            &message(&id, &format!("conv-{prefix}{i}"), prefix, &text),
        )
        .await;
        let case = app.wait_for_message(&id).await;
        let detail = app.case(case["id"].as_str().unwrap()).await;
        // Stored with the message as ingest understood it.
        assert!(
            detail["messages"][0]["understanding"]["sentiment"]["label"].is_string(),
            "{detail}"
        );
        let m = detail["messages"][0]["id"].as_str().unwrap().to_owned();
        let a = app
            .post(
                &format!("/api/v1/messages/{m}/sentiment"),
                &app.agent,
                &json!({ "label": label }),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        out.push((m, a));
    }
    out
}

/// Words no shipped example has: what a model says of them is what it was taught.
fn flumbo(i: usize) -> String {
    format!("the flumbo wazzit grommeted {i}")
}

#[tokio::test]
async fn agents_sentiment_corrections_retrain_the_shipped_sentiment_model() {
    let app = spawn_app_with(|c| {
        c.retrain_tick_ms = 100;
        c.retrain_min_new = 5;
    })
    .await;
    let before = sentiment_of(&app, &flumbo(9)).await;
    assert_ne!(before["label"], "negative", "{before}");
    let list = app.get("/api/v1/models", &app.admin).await;
    assert_eq!(
        list.json["in_force"]["sentiment"], "shipped",
        "{}",
        list.text
    );
    assert_eq!(list.json["learning"]["sentiment"]["learning"], true);

    let ch = app.create_channel("http://127.0.0.1:9/unused").await;
    // Case and spaces are forgiven; the label is stored as the model knows it.
    let corrected =
        correct_each(&app, &ch, "f", (0..5).map(|i| (i, flumbo(i))), " Negative ").await;
    for (_, a) in &corrected {
        assert_eq!(
            a.json["understanding"]["sentiment"],
            json!({"label": "negative", "score": -1.0, "by_person": true})
        );
    }
    let messages: Vec<String> = corrected.into_iter().map(|(m, _)| m).collect();
    let examples = app
        .get("/api/v1/training-examples?kind=sentiment", &app.admin)
        .await;
    let items = examples.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 5, "{}", examples.text);
    assert_eq!(
        (items[0]["label"].as_str(), items[0]["text"].as_str()),
        (Some("negative"), Some(flumbo(0).as_str()))
    );

    let shipped = active_version(&app, "sentiment", 1).await;
    assert_eq!(
        shipped["summary"]["trained_by"], "learning loop",
        "{shipped}"
    );
    assert_eq!(shipped["summary"]["corrections"], 4, "{shipped}");
    assert_eq!(shipped["summary"]["held_back"], 1, "{shipped}");
    let gate = &shipped["summary"]["held_back_accuracy"];
    assert!(
        gate["candidate"].as_f64().unwrap() >= gate["current"].as_f64().unwrap(),
        "{shipped}"
    );
    let after = wait_for("the retrained sentiment model to be in force", || async {
        let s = sentiment_of(&app, &flumbo(9)).await;
        (s["label"] == "negative").then_some(s)
    })
    .await;
    assert!(after["score"].as_f64().unwrap() < 0.0, "{after}");
    // It still reads plain feelings as the shipped model did.
    assert_eq!(
        sentiment_of(&app, "I love this, thank you so much!").await["label"],
        "positive"
    );
    // The admin's Models page shows the sentiment model in force and the loop's decision.
    let boss = app.person("boss", "admin").await;
    let page = models_page(&app, &boss).await;
    let section = page
        .split("id=\"models-sentiment\"")
        .nth(1)
        .expect("a sentiment section")
        .split("</section>")
        .next()
        .unwrap();
    assert!(section.contains("version 1"), "{section}");
    assert!(section.contains("it shipped as version 1"), "{section}");
    assert!(!section.contains("retrain nothing"), "{section}");

    // The model the loop made keeps learning: five more corrections make version 2.
    assert_eq!(shipped["summary"]["base"], "shipped", "{shipped}");
    let list = app.get("/api/v1/models", &app.admin).await;
    assert_eq!(
        list.json["learning"]["sentiment"]["learning"], true,
        "{}",
        list.text
    );
    correct_each(&app, &ch, "f", (5..10).map(|i| (i, flumbo(i))), "negative").await;
    let second = active_version(&app, "sentiment", 2).await;
    assert_eq!(second["summary"]["corrections"], 8, "{second}");

    // Going back to the shipped model is a rollback like any other.
    let a = app
        .post(
            "/api/v1/models/sentiment/deactivate",
            &app.admin,
            &json!({}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["was_active"], true);
    wait_for("the shipped sentiment model again", || async {
        let s = sentiment_of(&app, &flumbo(9)).await;
        (s["label"] != "negative").then_some(())
    })
    .await;
    let list = app.get("/api/v1/models", &app.admin).await;
    assert_eq!(
        list.json["in_force"]["sentiment"], "shipped",
        "{}",
        list.text
    );

    // Bad corrections are refused by name, and change nothing.
    let m = &messages[0];
    let path = format!("/api/v1/messages/{m}/sentiment");
    for body in [
        json!({"label": "angry"}),
        json!({"label": ""}),
        json!({"label": "unknown"}),
    ] {
        let p = app.post(&path, &app.agent, &body).await;
        let p = p.assert_problem(400, "invalid_field");
        assert!(
            p["detail"]
                .as_str()
                .unwrap()
                .contains("negative, neutral or positive"),
            "{p}"
        );
    }
    // Body errors in words a person reads, naming the field.
    let a = app
        .post(&path, &app.agent, &json!({"label": "positive", "why": "x"}))
        .await;
    assert_eq!(
        a.assert_problem(400, "invalid_field")["detail"],
        "why: there is no such field (expected `label`)"
    );
    let a = app.post(&path, &app.agent, &json!({})).await;
    assert_eq!(
        a.assert_problem(400, "invalid_field")["detail"],
        "label: is required"
    );
    app.post(
        "/api/v1/messages/01890000-0000-7000-8000-000000000000/sentiment",
        &app.agent,
        &json!({"label": "positive"}),
    )
    .await
    .assert_problem(404, "not_found");
    app.post(&path, &app.reviewer, &json!({"label": "positive"}))
        .await
        .assert_problem(403, "forbidden");
    let examples = app
        .get("/api/v1/training-examples?kind=sentiment", &app.admin)
        .await;
    assert_eq!(examples.json["items"].as_array().unwrap().len(), 10);
    let detail = app
        .case(app.wait_for_message("f-0").await["id"].as_str().unwrap())
        .await;
    assert_eq!(
        detail["messages"][0]["understanding"]["sentiment"]["label"],
        "negative"
    );
}

/// Labelled messages a workspace might have: invented words that only its examples explain.
fn labelled_csv() -> String {
    let mut out = String::from("text,feeling\n");
    for i in 0..6 {
        out.push_str(&format!("the snorkwhistle was zibbly {i},positive\n"));
        out.push_str(&format!("the snorkwhistle was gronky {i},negative\n"));
        out.push_str(&format!("the snorkwhistle came on tuesday {i},neutral\n"));
    }
    out
}

#[tokio::test]
async fn an_admin_trains_installs_and_rolls_back_a_sentiment_model() {
    let app = spawn_app_with(|c| {
        c.retrain_tick_ms = 100;
        c.retrain_min_new = 2;
    })
    .await;
    let train = |query: &str, body: String| {
        let (app, query) = (&app, query.to_owned());
        async move {
            app.send_raw(
                reqwest::Method::POST,
                &format!("/api/v1/models/sentiment/train{query}"),
                &app.admin,
                "text/csv",
                body,
            )
            .await
        }
    };
    // A label a sentiment model cannot have is refused by name; nothing is installed.
    let p = train(
        "?label_column=feeling",
        labelled_csv().replace(",neutral", ",meh"),
    )
    .await;
    let p = p.assert_problem(422, "invalid_examples");
    assert!(p["detail"].as_str().unwrap().contains("\"meh\""), "{p}");
    train("?label_column=mood", labelled_csv())
        .await
        .assert_problem(422, "invalid_examples");
    train("?label_column=feeling&hidden=lots", labelled_csv())
        .await
        .assert_problem(400, "invalid_field");
    app.send_raw(
        reqwest::Method::POST,
        "/api/v1/models/sentiment/train?label_column=feeling",
        &app.agent,
        "text/csv",
        labelled_csv(),
    )
    .await
    .assert_problem(403, "forbidden");
    let list = app.get("/api/v1/models", &app.admin).await;
    assert!(
        list.json["items"].as_array().unwrap().is_empty(),
        "{}",
        list.text
    );

    let a = train("?label_column=feeling", labelled_csv()).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(a.json["kind"], "sentiment");
    assert_eq!(a.json["summary"]["labels"], 3, "{}", a.text);
    // The shipped posts are learned from too.
    assert!(
        a.json["summary"]["examples"].as_u64().unwrap() > 1000,
        "{}",
        a.text
    );
    active_version(&app, "sentiment", 1).await;
    let zibbly = wait_for("the trained sentiment model in force", || async {
        let s = sentiment_of(&app, "the snorkwhistle was zibbly").await;
        (s["label"] == "positive").then_some(s)
    })
    .await;
    assert!(zibbly["score"].as_f64().unwrap() > 0.0);
    assert_eq!(
        sentiment_of(&app, "the snorkwhistle was gronky").await["label"],
        "negative"
    );
    let base = app
        .get(
            "/api/v1/training-examples?kind=sentiment&source=file",
            &app.admin,
        )
        .await;
    assert_eq!(
        base.json["items"].as_array().unwrap().len(),
        18,
        "{}",
        base.text
    );
    let list = app.get("/api/v1/models", &app.admin).await;
    assert_eq!(list.json["in_force"]["sentiment"], 1, "{}", list.text);

    // Installing a file checks its kind and labels: an intent model is not a sentiment one.
    let intents = {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("i.csv");
        std::fs::write(&csv, crate::model_cli::intents_csv()).unwrap();
        let out = dir.path().join("i.sbm");
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["model", "train", "--label-column", "category", "--input"])
            .arg(&csv)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read(&out).unwrap()
    };
    let p = app
        .send_raw(
            reqwest::Method::PUT,
            "/api/v1/models/sentiment",
            &app.admin,
            "application/octet-stream",
            intents,
        )
        .await;
    let p = p.assert_problem(422, "invalid_model");
    assert!(
        p["detail"].as_str().unwrap().contains("not \"sentiment\""),
        "{p}"
    );

    // Agents' corrections retrain the workspace's model, its file's examples included.
    let ch = app.create_channel("http://127.0.0.1:9/unused").await;
    let blimmered = (0..2).map(|i| (i, format!("the snorkwhistle was blimmered {i}")));
    correct_each(&app, &ch, "s", blimmered, "negative").await;
    let retrained = active_version(&app, "sentiment", 2).await;
    assert_eq!(retrained["summary"]["corrections"], 1, "{retrained}");
    wait_for("the retrained model in force", || async {
        let s = sentiment_of(&app, "the snorkwhistle was zibbly").await;
        (s["label"] == "positive").then_some(())
    })
    .await;

    // Version 1 again: a rollback.
    let a = app
        .post(
            "/api/v1/models/sentiment/versions/1/activate",
            &app.admin,
            &json!({}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let list = app.get("/api/v1/models", &app.admin).await;
    assert_eq!(list.json["in_force"]["sentiment"], 1, "{}", list.text);
}

#[tokio::test]
async fn a_sentiment_model_trained_without_the_shipped_posts_is_retrained_without_them() {
    let app = spawn_app_with(|c| {
        c.retrain_tick_ms = 100;
        c.retrain_min_new = 2;
    })
    .await;
    let train = |kind: &str, query: &str, body: String| {
        let (app, path) = (&app, format!("/api/v1/models/{kind}/train{query}"));
        async move {
            app.send_raw(reqwest::Method::POST, &path, &app.admin, "text/csv", body)
                .await
        }
    };
    // Only a sentiment model has shipped posts to leave out.
    let p = train(
        "intent",
        "?label_column=category&shipped_examples=false",
        crate::model_cli::intents_csv(),
    )
    .await;
    let p = p.assert_problem(400, "invalid_field");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .starts_with("shipped_examples: is for sentiment models"),
        "{p}"
    );
    train(
        "sentiment",
        "?label_column=feeling&shipped_examples=maybe",
        labelled_csv(),
    )
    .await
    .assert_problem(400, "invalid_field");
    let list = app.get("/api/v1/models", &app.admin).await;
    assert!(
        list.json["items"].as_array().unwrap().is_empty(),
        "{}",
        list.text
    );

    let a = train(
        "sentiment",
        "?label_column=feeling&shipped_examples=false",
        labelled_csv(),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    // The file's 18 examples alone.
    assert_eq!(a.json["summary"]["examples"], 18, "{}", a.text);
    assert_eq!(a.json["summary"]["shipped_examples"], false, "{}", a.text);
    assert_eq!(
        sentiment_of(&app, "the snorkwhistle was gronky").await["label"],
        "negative"
    );

    // Corrections retrain it on the file and the older corrections, still without the posts.
    let ch = app.create_channel("http://127.0.0.1:9/unused").await;
    let blimmered = (0..2).map(|i| (i, format!("the snorkwhistle was blimmered {i}")));
    correct_each(&app, &ch, "w", blimmered, "negative").await;
    let retrained = active_version(&app, "sentiment", 2).await;
    let summary = &retrained["summary"];
    assert_eq!(summary["base"], "file alone", "{summary}");
    assert_eq!(summary["examples"], 19, "{summary}");
    // And the next round keeps to that base.
    let more = (2..4).map(|i| (i, format!("the snorkwhistle was blimmered {i}")));
    correct_each(&app, &ch, "w", more, "negative").await;
    let third = active_version(&app, "sentiment", 3).await;
    assert_eq!(third["summary"]["base"], "file alone", "{third}");
    assert_eq!(third["summary"]["examples"], 21, "{third}");
}

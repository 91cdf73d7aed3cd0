//! A workspace's own intent model (issue 4): a file from `switchboard model train` is
//! installed through the API, inbound messages are then understood with it, a damaged file is
//! refused while the running model stays, and an older version can be made active again.

use crate::helpers::*;
use crate::model_cli::train_fixture;
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn upload(app: &TestApp, token: &str, bytes: Vec<u8>) -> Answer {
    app.send_raw(
        Method::PUT,
        "/api/v1/models/intent",
        token,
        "application/octet-stream",
        bytes,
    )
    .await
}

async fn intent_of(app: &TestApp, text: &str) -> serde_json::Value {
    let a = app
        .post("/api/v1/analyze", &app.agent, &json!({ "text": text }))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    a.json["intent"].clone()
}

#[tokio::test]
async fn an_installed_intent_model_understands_messages_and_can_be_rolled_back() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let (_, model, out) = train_fixture(dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&model).unwrap();

    assert_eq!(
        intent_of(&app, "my card has not arrived").await,
        serde_json::Value::Null
    );
    let a = upload(&app, &app.admin, bytes.clone()).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(
        (a.json["version"].as_i64(), a.json["active"].as_bool()),
        (Some(1), Some(true))
    );
    assert_eq!(a.json["summary"]["labels"], 3);
    let intent = intent_of(&app, "my card has not arrived yet").await;
    assert_eq!(intent["label"], "card_arrival", "{intent}");

    // Inbound messages carry it, and the playbook can route by it.
    let a = app
        .put(
            "/api/v1/playbook",
            &app.admin,
            &json!({"source": "[[team]]\nid = \"cards\"\nname = \"Cards\"\n\n[[rule]]\nname = \"Card deliveries\"\nwhen.intent_any = [\"card_arrival\"]\nthen.team = \"cards\"\n"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let ch = app.create_channel("http://127.0.0.1:9/unused").await;
    app.deliver(
        &ch,
        &message(
            "i-1",
            "conv-i1",
            "ann",
            "still waiting for my new card in the post",
        ),
    )
    .await;
    let case = app.wait_for_message("i-1").await;
    assert_eq!(
        case["routing"]["fired"][0]["rule"], "Card deliveries",
        "{case}"
    );
    let detail = app.case(case["id"].as_str().unwrap()).await;
    assert_eq!(
        detail["messages"][0]["understanding"]["intent"]["label"],
        "card_arrival"
    );

    // A damaged file, a foreign file and an empty body are refused; version 1 stays active.
    let mut damaged = bytes.clone();
    let mid = damaged.len() / 2;
    damaged[mid] ^= 0xff;
    for (body, want) in [
        (damaged, "damaged"),
        (b"not a model".to_vec(), "not a Switchboard model"),
        (Vec::new(), "not a Switchboard model"),
    ] {
        let a = upload(&app, &app.admin, body).await;
        let p = a.assert_problem(422, "invalid_model");
        assert!(p["detail"].as_str().unwrap().contains(want), "{p}");
    }
    let list = app.get("/api/v1/models", &app.admin).await;
    assert_eq!(
        list.json["items"].as_array().unwrap().len(),
        1,
        "{}",
        list.text
    );
    assert_eq!(
        intent_of(&app, "my card has not arrived yet").await["label"],
        "card_arrival"
    );

    // A second version (the same examples, another confidence floor), then back to the first;
    // the first file uploaded again is version 1 made active again, not a copy.
    let second = dir.path().join("second.model");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args([
            "model",
            "train",
            "--label-column",
            "category",
            "--unknown-below",
            "0.5",
        ])
        .arg("--input")
        .arg(dir.path().join("intents.csv"))
        .arg("--out")
        .arg(&second)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let a = upload(&app, &app.admin, std::fs::read(&second).unwrap()).await;
    assert_eq!(
        (a.status, &a.json["version"]),
        (StatusCode::CREATED, &json!(2)),
        "{}",
        a.text
    );
    let a = upload(&app, &app.admin, bytes.clone()).await;
    assert_eq!(
        (a.status, &a.json["version"], &a.json["active"]),
        (StatusCode::OK, &json!(1), &json!(true)),
        "{}",
        a.text
    );
    let list = app.get("/api/v1/models", &app.admin).await;
    assert_eq!(
        list.json["items"].as_array().unwrap().len(),
        2,
        "{}",
        list.text
    );
    let a = app
        .post(
            "/api/v1/models/intent/versions/2/activate",
            &app.admin,
            &json!({}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = app
        .post(
            "/api/v1/models/intent/versions/1/activate",
            &app.admin,
            &json!({}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let list = app.get("/api/v1/models", &app.admin).await;
    let active: Vec<i64> = list.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["active"] == true)
        .map(|m| m["version"].as_i64().unwrap())
        .collect();
    assert_eq!(active, [1]);

    // No version at all: messages are understood without an intent model again.
    let a = app
        .post("/api/v1/models/intent/deactivate", &app.admin, &json!({}))
        .await;
    assert_eq!(
        (a.status, a.json["was_active"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{}",
        a.text
    );
    assert_eq!(
        intent_of(&app, "my card has not arrived yet").await,
        serde_json::Value::Null
    );
    let list = app.get("/api/v1/models", &app.admin).await;
    assert!(
        list.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["active"] == false)
    );

    // Refusals.
    app.post(
        "/api/v1/models/intent/versions/9/activate",
        &app.admin,
        &json!({}),
    )
    .await
    .assert_problem(404, "not_found");
    app.post(
        "/api/v1/models/intent/versions/x/activate",
        &app.admin,
        &json!({}),
    )
    .await
    .assert_problem(404, "not_found");
    upload(&app, &app.agent, b"x".to_vec())
        .await
        .assert_problem(403, "forbidden");
    app.send_raw(
        Method::PUT,
        "/api/v1/models/weather",
        &app.admin,
        "application/octet-stream",
        b"x".to_vec(),
    )
    .await
    .assert_problem(404, "not_found");
    let actions = app.audit_actions().await;
    for a in ["model.installed", "model.activated", "model.deactivated"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

/// A person who closes the page while a model trains (or a proxy that stops waiting) does not
/// undo the training: the model is kept and put in force once trained.
#[tokio::test]
async fn a_training_goes_on_when_the_client_stops_waiting() {
    let app = spawn_app().await;
    let boss = app.person("boss", "admin").await;
    // 1,200 examples: a network, seconds to train.
    let mut csv = String::from("text,label\n");
    for i in 0..1200 {
        let label = ["parking", "tickets", "lost"][i % 3];
        csv.push_str(&format!(
            "question {i} about {label} at the stadium,{label}\n"
        ));
    }
    let impatient = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(100))
        .build()
        .expect("client");
    let sent = impatient
        .post(app.url("/api/v1/models/intent/train"))
        .bearer_auth(&app.admin)
        .header("content-type", "text/csv")
        .header("x-csrf-token", "unused with a token")
        .body(csv)
        .send()
        .await;
    assert!(
        sent.as_ref().is_err_and(reqwest::Error::is_timeout),
        "the client gave up before the training ended: {sent:?}"
    );
    // Meanwhile the models say who started it, and since when.
    let m = app.get("/api/v1/models", &app.admin).await;
    assert!(m.json["training"]["intent"]["by"].is_string(), "{}", m.text);
    assert!(
        m.json["training"]["intent"]["since"].is_string(),
        "{}",
        m.text
    );
    assert_eq!(m.json["training"]["intent"]["count"], 1, "{}", m.text);
    let page = models_page(&app, &boss).await;
    assert!(
        page.contains("A training from a file is running (started by "),
        "{page}"
    );
    for _ in 0..1200 {
        let m = app.get("/api/v1/models", &app.admin).await;
        if let Some(v) = m.json["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|v| v["kind"] == "intent")
        {
            assert_eq!(v["active"], true, "{v}");
            assert_eq!(v["summary"]["examples_from_file"], 1200, "{v}");
            // Once installed, it is no longer running.
            let after = wait_for("the training to be listed no longer", || async {
                let m = app.get("/api/v1/models", &app.admin).await;
                (m.json["training"] == json!({})).then_some(())
            });
            after.await;
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the model trained for a client that left was never installed");
}

/// A training from a file can be stopped (a wrong file sent, or one too large to wait for):
/// its request answers 409, nothing is installed or kept, the list of running trainings
/// empties, and the stop is audited. With none running there is nothing to stop.
#[tokio::test]
async fn a_training_from_a_file_can_be_stopped() {
    let app = spawn_app().await;
    let stop = |token: String| {
        let app = &app;
        async move {
            app.call(
                Method::DELETE,
                "/api/v1/models/intent/train",
                Some(&token),
                None,
            )
            .await
        }
    };
    stop(app.admin.clone())
        .await
        .assert_problem(404, "not_found");
    stop(app.agent.clone())
        .await
        .assert_problem(403, "forbidden");
    app.call(
        Method::DELETE,
        "/api/v1/models/purpose/train",
        Some(&app.admin),
        None,
    )
    .await
    .assert_problem(422, "not_installable");
    // 6,000 examples: a network, long enough to stop in a debug build.
    let mut csv = String::from("text,label\n");
    for i in 0..6000 {
        let label = ["parking", "tickets", "lost", "food"][i % 4];
        csv.push_str(&format!(
            "question {i} about {label} at gate {} of the stadium,{label}\n",
            i % 37
        ));
    }
    let (url, token) = (app.url("/api/v1/models/intent/train"), app.admin.clone());
    let training = tokio::spawn(async move {
        let r = reqwest::Client::new()
            .post(url)
            .bearer_auth(token)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .expect("send");
        Answer::read(r).await
    });
    wait_for("the training to be listed", || async {
        let m = app.get("/api/v1/models", &app.admin).await;
        m.json["training"]["intent"]["by"].is_string().then_some(())
    })
    .await;
    let stopped = stop(app.admin.clone()).await;
    assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.text);
    assert_eq!(stopped.json, json!({"kind": "intent", "stopped": 1}));
    // Until it has ended it is listed as stopping (or it has ended already).
    let m = app.get("/api/v1/models", &app.admin).await;
    let listed = &m.json["training"];
    assert!(
        *listed == json!({}) || listed["intent"]["stopping"] == true,
        "{}",
        m.text
    );
    let answer = training.await.expect("the training request");
    let problem = answer.assert_problem(409, "training_stopped");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("nothing was installed")),
        "{problem}"
    );
    let m = app.get("/api/v1/models", &app.admin).await;
    assert_eq!(m.json["training"], json!({}), "{}", m.text);
    assert!(
        !m.json["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|v| v["kind"] == "intent"),
        "{}",
        m.text
    );
    // The examples of a stopped training are not kept either.
    let kept = app
        .get("/api/v1/training-examples?kind=intent", &app.admin)
        .await;
    assert_eq!(kept.json["items"], json!([]), "{}", kept.text);
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|a| a == "model.training_stopped")
    );
    stop(app.admin.clone())
        .await
        .assert_problem(404, "not_found");
}

/// Without `?format=` or a JSON Lines content type, a body whose first line opens with `{` is
/// JSON Lines (a byte-order mark before it too); a JSON array is neither and says so.
#[tokio::test]
async fn a_training_file_says_its_format_by_its_first_line() {
    let app = spawn_app().await;
    let mut jsonl = String::from("\u{feff}");
    for (text, label) in [
        ("where do I park", "parking"),
        ("is there parking", "parking"),
        ("when do gates open", "times"),
        ("what time is kick off", "times"),
    ] {
        jsonl.push_str(&format!("{}\n", json!({"text": text, "label": label})));
    }
    let r = app
        .send_raw(
            Method::POST,
            "/api/v1/models/intent/train",
            &app.admin,
            "text/plain",
            jsonl,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["summary"]["labels"], 2, "{}", r.text);
    let r = app
        .send_raw(
            Method::POST,
            "/api/v1/models/intent/train",
            &app.admin,
            "application/json",
            r#"[{"text": "where do I park", "label": "parking"}]"#,
        )
        .await;
    let p = r.assert_problem(422, "invalid_examples");
    assert!(
        p["detail"].as_str().unwrap_or("").contains("JSON array"),
        "{p}"
    );
}

/// A TSV file trains by its content type or its header; one sent as CSV by `?format=` says
/// that its header is tab-separated, and nothing is installed.
#[tokio::test]
async fn a_tsv_training_file_is_read_by_its_content_type_or_header() {
    let app = spawn_app().await;
    let tsv = "text\tlabel\nwhere do I park, please\tparking\nis there parking\tparking\n\
               when do gates open\ttimes\twhat\nwhat time is kick off\ttimes\n";
    // A third field on line 4: refused, naming the line.
    let r = app
        .send_raw(
            Method::POST,
            "/api/v1/models/intent/train",
            &app.admin,
            "text/tab-separated-values",
            tsv,
        )
        .await;
    let p = r.assert_problem(422, "invalid_examples");
    assert!(
        p["detail"]
            .as_str()
            .unwrap_or("")
            .contains("line 4: 3 fields where the header has 2 (a text with a tab needs quotes)"),
        "{p}"
    );
    let tsv = tsv.replace("\twhat\n", "\n");
    // Said to be CSV, by `?format=` or by its content type.
    for (query, content_type) in [("?format=csv", "text/plain"), ("", "text/csv")] {
        let r = app
            .send_raw(
                Method::POST,
                &format!("/api/v1/models/intent/train{query}"),
                &app.admin,
                content_type,
                tsv.clone(),
            )
            .await;
        let p = r.assert_problem(422, "invalid_examples");
        assert!(
            p["detail"]
                .as_str()
                .unwrap_or("")
                .contains("separated by tabs: read the file as TSV"),
            "{content_type}: {p}"
        );
    }
    let listed = app.get("/api/v1/models", &app.admin).await;
    assert!(
        !listed.json["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|v| v["kind"] == "intent"),
        "nothing installed: {}",
        listed.text
    );
    // By its content type, then (one more row, so a new version) by its header alone.
    let more = format!("{tsv}is there a car park\tparking\n");
    for (content_type, body, examples) in [
        ("text/tab-separated-values", tsv.clone(), 4),
        ("text/plain", more, 5),
    ] {
        let r = app
            .send_raw(
                Method::POST,
                "/api/v1/models/intent/train",
                &app.admin,
                content_type,
                body,
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{content_type}: {}", r.text);
        assert_eq!(r.json["summary"]["labels"], 2, "{}", r.text);
        assert_eq!(r.json["summary"]["examples"], examples, "{}", r.text);
    }
}

/// How an intent model trained through the API says `unknown` can be set as `model train`
/// sets it; out of range, or for a sentiment model, is refused; the version's summary says.
#[tokio::test]
async fn a_training_sets_how_an_intent_model_says_unknown() {
    let app = spawn_app().await;
    let mut csv = String::from("text,label\n");
    for (text, label) in [
        ("where do I park", "parking"),
        ("is there parking", "parking"),
        ("when do gates open", "times"),
        ("what time is kick off", "times"),
    ] {
        csv.push_str(&format!("{text},{label}\n"));
    }
    let train = |query: &'static str, body: String| {
        let app = &app;
        async move {
            app.send_raw(
                Method::POST,
                &format!("/api/v1/models/{query}"),
                &app.admin,
                "text/csv",
                body,
            )
            .await
        }
    };
    for (query, field) in [
        ("intent/train?new_words_above=2", "new_words_above"),
        ("intent/train?unknown_below=-0.1", "unknown_below"),
        ("intent/train?unknown_below=1", "unknown_below"),
        ("sentiment/train?unknown_below=0.5", "unknown_below"),
    ] {
        let r = train(query, csv.clone()).await;
        let p = r.assert_problem(400, "invalid_field");
        assert!(p.to_string().contains(field), "{query}: {p}");
    }
    // Four examples: too few for the new-words rule by default (from 1,000 it is 0.2).
    let r = train("intent/train", csv.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(
        r.json["summary"].get("new_words_above").is_none(),
        "{}",
        r.text
    );
    let r = train(
        "intent/train?unknown_below=0.5&new_words_above=0.4",
        format!("{csv}where can I leave my car,parking\n"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json["summary"]["new_words_above"], 0.4, "{}", r.text);
    assert_eq!(r.json["summary"]["unknown_below"], 0.5, "{}", r.text);
    let r = train(
        "intent/train?new_words_above=1",
        format!("{csv}any parking nearby,parking\n"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(
        r.json["summary"].get("new_words_above").is_none(),
        "{}",
        r.text
    );
}

//! Learning from agents (issue 4): a person correcting a case's purpose makes a labelled
//! example; the learning loop retrains the purpose model in the background and ships it only
//! if it labels the held-back recent corrections at least as well as the model in force; an
//! agent can also correct a message's intent.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A customer's message `id` (its own conversation and customer), whose case an agent then
/// says is a crisis: one purpose correction.
async fn crisis_case(app: &TestApp, ch: &Channel, id: &str, text: &str) {
    app.deliver(
        ch,
        &message(id, &format!("conv-{id}"), &format!("c-{id}"), text),
    )
    .await;
    let case = app.wait_for_message(id).await;
    let a = app
        .patch(
            &format!("/api/v1/cases/{}", case["id"].as_str().unwrap()),
            &app.agent,
            &json!({"purpose": "crisis"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
}

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
        crisis_case(&app, &ch, &format!("z-{i}"), &text(i)).await;
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
    // The loop does not look until every correction is in (the last case's two corrections
    // make five with the first: a check between them would judge that one).
    let app = spawn_app_with(|c| {
        c.retrain_tick_ms = 3_600_000;
        c.retrain_min_new = 5;
    })
    .await;
    // Four corrections that teach "sales" for a plain crisis, then the most recent one (held
    // back) saying "crisis", which the model in force already gets right. (The model already
    // labels these crisis, so the last case goes to support first: only a change is a
    // correction, and the later one replaces it as that message's example.)
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
    let app = app
        .restart(|c| {
            c.retrain_tick_ms = 100;
            c.retrain_min_new = 5;
        })
        .await;
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
    // The field that named the missing column, for the page to mark.
    assert_eq!(p["field"], "label_column", "{p}");
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
    let latin1 = app
        .send_raw(
            reqwest::Method::POST,
            "/api/v1/models/intent/train?label_column=category",
            &app.admin,
            "text/csv",
            b"text,category\ncaf\xe9,a\n".to_vec(),
        )
        .await;
    assert_eq!(
        latin1.assert_problem(400, "invalid_body")["detail"],
        "the file: line 2 is not UTF-8 text (byte 17); save the file as UTF-8"
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
    teach_refunds(&app, &ch, "b", 2, true).await;
    let shipped = active_version(&app, "intent", 2).await;
    assert_eq!(shipped["summary"]["corrections"], 1, "{shipped}");
    refund_in_force(&app).await;
}

/// Corrections retrain an intent model from the stored file only while the model in force
/// was trained on that file: an older version made active again (trained on another file)
/// learns nothing, until the version trained on the stored file is in force again.
#[tokio::test]
async fn corrections_never_retrain_a_model_from_a_file_it_was_not_trained_on() {
    let app = spawn_app_with(|c| {
        c.retrain_tick_ms = 100;
        c.retrain_min_new = 2;
    })
    .await;
    let train = |body: String| {
        let app = &app;
        async move {
            app.send_raw(
                reqwest::Method::POST,
                "/api/v1/models/intent/train?label_column=category",
                &app.admin,
                "text/csv",
                body,
            )
            .await
        }
    };
    let full = crate::model_cli::intents_csv();
    let a = train(full.clone()).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    // A second file, two intents of the three: the stored examples are now its 16.
    let two: String = full
        .lines()
        .filter(|l| !l.ends_with(",card_arrival"))
        .map(|l| format!("{l}\n"))
        .collect();
    let b = train(two).await;
    assert_eq!(b.status, StatusCode::CREATED, "{}", b.text);
    assert_eq!(b.json["summary"]["labels"], 2, "{}", b.text);
    assert_eq!(learning(&app, "intent").await["learning"], true);

    // Version 1 again: it was not trained on the stored file.
    let a = app
        .post(
            "/api/v1/models/intent/versions/1/activate",
            &app.admin,
            &json!({}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(learning(&app, "intent").await["learning"], false);
    let ch = app.create_channel("http://127.0.0.1:9/unused").await;
    teach_refunds(&app, &ch, "v", 2, true).await;
    // Ten checks of the loop later, nothing was retrained and version 1 is in force.
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    let l = learning(&app, "intent").await;
    assert!(l["last_decision"].is_null(), "{l}");
    assert_eq!(l["corrections_waiting"], 2, "{l}");
    let list = app.get("/api/v1/models", &app.admin).await;
    assert_eq!(list.json["in_force"]["intent"], 1, "{}", list.text);
    assert_eq!(list.json["items"].as_array().unwrap().len(), 2);

    // The version trained on the stored file learns from the corrections waiting.
    let a = app
        .post(
            "/api/v1/models/intent/versions/2/activate",
            &app.admin,
            &json!({}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let shipped = active_version(&app, "intent", 3).await;
    let summary = &shipped["summary"];
    // Its file's 16 examples and the older correction: the two intents it knew.
    assert_eq!(summary["examples"], 17, "{summary}");
    assert_eq!(summary["labels"], 2, "{summary}");
    assert_eq!(summary["base_digest"], b.json["summary"]["base_digest"]);
}

/// Delivers `count` messages about a "blorptastic kerfuffle" (ids `{prefix}-{i}`) and an
/// agent corrects each one's intent to `refund`; with `understood`, each message is first
/// checked to carry an intent.
async fn teach_refunds(app: &TestApp, ch: &Channel, prefix: &str, count: usize, understood: bool) {
    for i in 0..count {
        let id = format!("{prefix}-{i}");
        let text = format!("blorptastic kerfuffle with the thing number {i}");
        app.deliver(ch, &message(&id, &format!("conv-{prefix}{i}"), "bo", &text))
            .await;
        let case = app.wait_for_message(&id).await;
        let detail = app.case(case["id"].as_str().unwrap()).await;
        let m = detail["messages"][0]["id"].as_str().unwrap().to_owned();
        if understood {
            assert!(
                detail["messages"][0]["understanding"]["intent"]["label"].is_string(),
                "{detail}"
            );
        }
        let a = app
            .post(
                &format!("/api/v1/messages/{m}/intent"),
                &app.agent,
                &json!({"label": "refund"}),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    }
}

/// Checks that the model `GET /models` says is in force understands the kerfuffle as a
/// refund: it names a version only once that version is analysing.
async fn refund_in_force(app: &TestApp) {
    assert_eq!(blorptastic_intent(app).await, "refund");
}

/// The intent Switchboard now understands in a new message about the kerfuffle.
async fn blorptastic_intent(app: &TestApp) -> Value {
    let a = app
        .post(
            "/api/v1/analyze",
            &app.agent,
            &json!({"text": "blorptastic kerfuffle with the thing number 7"}),
        )
        .await;
    a.json["intent"]["label"].clone()
}

/// A server stopped between claiming a retraining round and recording its outcome leaves the
/// round at `training`; the next start closes it as `interrupted` (counted, and said on the
/// Models page) instead of showing "in progress" until more corrections come.
#[tokio::test]
async fn a_round_cut_short_by_a_restart_is_closed_as_interrupted() {
    let tweak = |c: &mut switchboard_server::ServerConfig| {
        c.retrain_tick_ms = 100;
        c.retrain_min_new = 50;
    };
    let app = spawn_app_with(tweak).await;
    // What a killed server leaves behind: the round's claim, written as the loop writes it.
    let store =
        switchboard_store::Store::open(&switchboard_store::Location::Sqlite(app.sqlite_path()))
            .expect("open");
    let through = "0190f6a4-0000-7000-8000-000000000007";
    let started = switchboard_core::Timestamp::from_unix_micros(1_700_000_000_000_000);
    let claimed = store
        .record_learning_decision(
            "purpose".into(),
            String::new(),
            switchboard_store::LearningDecision {
                decided_through: through.into(),
                decided_at: started,
                outcome: "training".into(),
                detail: json!({"corrections": 7}),
            },
        )
        .await
        .expect("claim");
    assert!(claimed);
    drop(store);
    assert_eq!(
        learning(&app, "purpose").await["last_decision"]["outcome"],
        "training"
    );

    let app = app.restart(tweak).await;
    let l = wait_for("the interrupted round to be closed", || async {
        let l = learning(&app, "purpose").await;
        (l["last_decision"]["outcome"] == "interrupted").then_some(l)
    })
    .await;
    let last = &l["last_decision"];
    assert_eq!(last["decided_through"], through, "{l}");
    assert_eq!(last["detail"]["corrections"], 7, "{l}");
    assert_eq!(last["detail"]["started_at"], started.to_rfc3339(), "{l}");
    assert_eq!(
        last["detail"]["reason"], "the server stopped during training",
        "{l}"
    );
    assert_eq!(
        app.metric(
            "switchboard_retrains_total",
            &[("kind", "purpose"), ("outcome", "interrupted")]
        )
        .await,
        1.0
    );
    // Every outcome's series exists from the start (the counters are shared by the tests of
    // this process, so only their presence is checked).
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for outcome in ["shipped", "kept", "unchanged", "skipped", "failed"] {
        assert!(
            metric_value(
                &text,
                "switchboard_retrains_total",
                &[("kind", "intent"), ("outcome", outcome)]
            )
            .is_some(),
            "{outcome}: {text}"
        );
    }
    // The intent loop had no round: nothing to close there.
    assert!(
        learning(&app, "intent").await["last_decision"].is_null(),
        "{l}"
    );
    let boss = app.person("boss", "admin").await;
    let html = models_page(&app, &boss).await;
    assert!(
        html.contains("Last retraining: <strong>interrupted</strong>"),
        "{html}"
    );
    assert!(
        html.contains("the server stopped before it finished; the next round starts"),
        "{html}"
    );
}

/// An intent network trained through the API (`hidden`) is retrained by the learning loop
/// as a network of the same width; a width out of range is refused by name.
#[tokio::test]
async fn an_intent_network_is_retrained_as_a_network() {
    let app = spawn_app_with(|c| {
        c.retrain_tick_ms = 100;
        c.retrain_min_new = 2;
    })
    .await;
    let train = |query: &str| {
        let (app, query) = (&app, query.to_owned());
        async move {
            app.send_raw(
                reqwest::Method::POST,
                &format!("/api/v1/models/intent/train?label_column=category{query}"),
                &app.admin,
                "text/csv",
                crate::model_cli::intents_csv(),
            )
            .await
        }
    };
    for bad in ["&hidden=5000", "&hidden=wide"] {
        let r = train(bad).await;
        let p = r.assert_problem(400, "invalid_field");
        assert!(p["detail"].as_str().unwrap().contains("hidden"), "{p}");
    }
    // A share other than any default, to see it carried into the retrained version.
    let a = train("&hidden=16&new_words_above=0.9").await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(a.json["summary"]["hidden"], 16, "{}", a.text);
    assert_eq!(a.json["summary"]["new_words_above"], 0.9, "{}", a.text);
    assert_eq!(a.json["summary"]["format"], 2, "{}", a.text);

    // Two corrections with the same new words: the older one teaches (every n-gram of a
    // correction is kept, `model::tests::a_single_correction_teaches_a_network_its_new_word`),
    // the newer is held back to judge.
    assert_ne!(blorptastic_intent(&app).await, "refund");
    let ch = app.create_channel("http://127.0.0.1:9/unused").await;
    teach_refunds(&app, &ch, "n", 2, false).await;
    let shipped = active_version(&app, "intent", 2).await;
    assert_eq!(shipped["summary"]["hidden"], 16, "{shipped}");
    // It says `unknown` as the version before did (its floor, and words new to it).
    for key in ["unknown_below", "new_words_above"] {
        assert_eq!(
            shipped["summary"][key], a.json["summary"][key],
            "{key}: {shipped}"
        );
    }
    assert_eq!(shipped["summary"]["new_words_above"], 0.9, "{shipped}");
    assert_eq!(shipped["summary"]["corrections"], 1, "{shipped}");
    refund_in_force(&app).await;
}

/// The learning loop's view of `kind` in `GET /models`.
async fn learning(app: &TestApp, kind: &str) -> Value {
    let list = app.get("/api/v1/models", &app.admin).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    list.json["learning"][kind].clone()
}

/// Trains the workspace's intent model on the server from the three-intent test file.
async fn train_intents(app: &TestApp) {
    let a = app
        .send_raw(
            reqwest::Method::POST,
            "/api/v1/models/intent/train?label_column=category",
            &app.admin,
            "text/csv",
            crate::model_cli::intents_csv(),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
}

/// A label a training file has is an intent an agent can pick, whatever its characters
/// (BANKING77 has `reverted_card_payment?`); a new label an agent types is kept to plain ones.
#[tokio::test]
async fn an_intent_from_a_training_file_is_corrected_to_as_written() {
    let app = spawn_app().await;
    let csv = crate::model_cli::intents_csv().replace(",refund\n", ",refund?\n");
    let a = app
        .send_raw(
            reqwest::Method::POST,
            "/api/v1/models/intent/train?label_column=category",
            &app.admin,
            "text/csv",
            csv,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let ch = app.create_channel("http://127.0.0.1:9/unused").await;
    app.deliver(&ch, &message("q-0", "conv-q0", "qi", "money back now"))
        .await;
    let case = app.wait_for_message("q-0").await;
    let detail = app.case(case["id"].as_str().unwrap()).await;
    let path = format!(
        "/api/v1/messages/{}/intent",
        detail["messages"][0]["id"].as_str().unwrap()
    );
    let a = app
        .post(&path, &app.agent, &json!({"label": "Refund?"}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["understanding"]["intent"]["label"], "refund?");
    let p = app
        .post(
            &path,
            &app.agent,
            &json!({"label": "new one?", "new_label": true}),
        )
        .await;
    assert!(
        p.assert_problem(400, "invalid_field")["detail"]
            .as_str()
            .unwrap()
            .contains("a new intent is 1 to 100 letters"),
        "{p:?}"
    );
}

/// A JSON Lines body is read as such when its content type says so (`?format=` says first).
#[tokio::test]
async fn a_training_file_sent_as_json_lines_is_read_as_json_lines() {
    let app = spawn_app().await;
    let jsonl: String = crate::model_cli::intents_csv()
        .lines()
        .skip(1)
        .map(|l| {
            let (text, label) = l.rsplit_once(',').unwrap();
            format!("{}\n", json!({"text": text, "label": label}))
        })
        .collect();
    let send = |query: &str, content_type: &str| {
        let (app, jsonl) = (&app, jsonl.clone());
        let path = format!("/api/v1/models/intent/train{query}");
        let content_type = content_type.to_owned();
        async move {
            app.send_raw(
                reqwest::Method::POST,
                &path,
                &app.admin,
                &content_type,
                jsonl,
            )
            .await
        }
    };
    // Told it is CSV, it is read as CSV: no `text` column.
    send("?format=csv", "application/x-ndjson")
        .await
        .assert_problem(422, "invalid_examples");
    let a = send("", "application/x-ndjson; charset=utf-8").await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(a.json["summary"]["labels"], 3, "{}", a.text);
    assert_eq!(a.json["summary"]["examples"], 24, "{}", a.text);
}

/// Delivers one message and corrects its case's purpose to each of `labels` in turn.
async fn correct(app: &TestApp, ch: &Channel, id: &str, text: &str, labels: &[&str]) -> String {
    app.deliver(ch, &message(id, &format!("conv-{id}"), id, text))
        .await;
    let case = app.wait_for_message(id).await;
    let case = case["id"].as_str().unwrap().to_owned();
    for label in labels {
        let a = app
            .patch(
                &format!("/api/v1/cases/{case}"),
                &app.agent,
                &json!({"purpose": label}),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    }
    case
}

#[tokio::test]
async fn a_decision_is_kept_across_restarts_and_a_rollback_stands() {
    let tweak = |c: &mut switchboard_server::ServerConfig| {
        c.retrain_tick_ms = 100;
        c.retrain_min_new = 5;
    };
    let app = spawn_app_with(tweak).await;
    let text = |i: usize| format!("the zorblax quibbet number {i} is flumping again");
    let ch = app.create_channel("http://127.0.0.1:9/unused").await;
    let before = learning(&app, "purpose").await;
    assert_eq!(before["corrections_waiting"], 0, "{before}");
    assert_eq!(before["retrain_after"], 5, "{before}");
    assert!(before["last_decision"].is_null(), "{before}");
    // An agent changing their mind leaves one example per message, the latest. (On the
    // first message: on the fifth, the first label would start a round at once, and the
    // second would wait for the next one.)
    correct(&app, &ch, "r-0", &text(0), &["sales", "crisis"]).await;
    for i in 1..4 {
        correct(&app, &ch, &format!("r-{i}"), &text(i), &["crisis"]).await;
    }
    let case = correct(&app, &ch, "r-4", &text(4), &["crisis"]).await;
    let examples = app
        .get(
            "/api/v1/training-examples?kind=purpose&source=corrections",
            &app.admin,
        )
        .await;
    let items = examples.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 5, "{}", examples.text);
    assert!(
        items.iter().all(|e| e["label"] == "crisis"),
        "{}",
        examples.text
    );
    assert_eq!(items[4]["case_id"], case.as_str());

    let decided = wait_for("the purpose model to be retrained", || async {
        let l = learning(&app, "purpose").await;
        (l["last_decision"]["outcome"] == "shipped").then_some(l)
    })
    .await;
    assert_eq!(decided["corrections_waiting"], 0, "{decided}");
    assert_eq!(
        decided["last_decision"]["detail"]["version"], 1,
        "{decided}"
    );
    let list = app.get("/api/v1/models", &app.admin).await;
    assert_eq!(list.json["in_force"]["purpose"], 1, "{}", list.text);
    let summary = &list.json["items"][0]["summary"];
    assert_eq!(summary["trained_by"], "learning loop", "{summary}");
    assert!(summary["labels"].as_u64().unwrap() >= 5, "{summary}");
    assert!(
        app.metric(
            "switchboard_retrains_total",
            &[("kind", "purpose"), ("outcome", "shipped")]
        )
        .await
            >= 1.0
    );

    // The admin's page says the same.
    let boss = app.person("boss", "admin").await;
    let html = models_page(&app, &boss).await;
    assert!(
        html.contains("In force: <strong class=\"in-force\">version 1</strong>"),
        "{html}"
    );
    assert!(
        html.contains("Last retraining: <strong>shipped</strong>"),
        "{html}"
    );
    assert!(html.contains("/api/v1/models/purpose/deactivate"), "{html}");

    // The admin rolls back to the shipped model; a restart does not undo that by retraining
    // on the corrections already judged.
    let a = app
        .post("/api/v1/models/purpose/deactivate", &app.admin, &json!({}))
        .await;
    assert_eq!(a.json["was_active"], true, "{}", a.text);
    let app = app.restart(tweak).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let list = app.get("/api/v1/models", &app.admin).await;
    assert_eq!(list.json["in_force"]["purpose"], "shipped", "{}", list.text);
    assert_eq!(
        list.json["items"].as_array().unwrap().len(),
        1,
        "no new version: {}",
        list.text
    );
    assert_eq!(
        list.json["learning"]["purpose"]["last_decision"],
        decided["last_decision"]
    );
    let html = models_page(&app, &boss).await;
    assert!(
        html.contains("the model shipped with Switchboard"),
        "{html}"
    );
    assert!(
        html.contains("/api/v1/models/purpose/versions/1/activate"),
        "{html}"
    );
    assert!(html.contains("0 of 5 new corrections"), "{html}");

    // A purpose used once (new to the workspace) is left out of the next candidate instead
    // of failing it; four more corrections make five new ones.
    let a = app
        .post(
            "/api/v1/purposes",
            &app.admin,
            &json!({"id": "billing", "name": "Billing"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let ch = app.create_channel("http://127.0.0.1:9/unused2").await;
    correct(
        &app,
        &ch,
        "s-0",
        "my invoice shows a double charge",
        &["billing"],
    )
    .await;
    let waiting = learning(&app, "purpose").await;
    assert_eq!(waiting["corrections_waiting"], 1, "{waiting}");
    for i in 5..9 {
        correct(&app, &ch, &format!("s-{i}"), &text(i), &["crisis"]).await;
    }
    let next = wait_for("the next decision", || async {
        let l = learning(&app, "purpose").await;
        let outcome = l["last_decision"]["outcome"].as_str()?.to_owned();
        (l["last_decision"]["detail"]["corrections"] == 10 && outcome != "training").then_some(l)
    })
    .await;
    let outcome = next["last_decision"]["outcome"].as_str().unwrap();
    assert!(outcome == "shipped" || outcome == "kept", "{next}");
    if outcome == "shipped" {
        let list = app.get("/api/v1/models", &app.admin).await;
        let v2 = &list.json["items"][0];
        assert_eq!(v2["version"], 2, "{}", list.text);
        assert_eq!(v2["summary"]["labels_left_out"], json!(["billing"]), "{v2}");
    }
}

#[tokio::test]
async fn purpose_models_are_not_installed_and_examples_come_a_page_at_a_time() {
    let app = spawn_app().await;
    for (method, path) in [
        (reqwest::Method::PUT, "/api/v1/models/purpose"),
        (reqwest::Method::POST, "/api/v1/models/purpose/train"),
    ] {
        let p = app
            .send_raw(method, path, &app.admin, "text/csv", "text,label\n")
            .await;
        let p = p.assert_problem(422, "not_installable");
        assert!(
            p["detail"]
                .as_str()
                .unwrap()
                .contains("corrections retrain"),
            "{p}"
        );
    }
    train_intents(&app).await;
    let (mut seen, mut texts) = (Vec::new(), Vec::<String>::new());
    let mut path = "/api/v1/training-examples?kind=intent&source=file&limit=10".to_owned();
    loop {
        let page = app.get(&path, &app.admin).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let items = page.json["items"].as_array().unwrap();
        assert!(items.len() <= 10);
        seen.extend(items.iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        texts.extend(items.iter().map(|e| e["text"].as_str().unwrap().to_owned()));
        match page.json["next_cursor"].as_str() {
            Some(c) => {
                path =
                    format!("/api/v1/training-examples?kind=intent&source=file&limit=10&cursor={c}")
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 24);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique, seen, "in order, none twice");
    // In the file's order (its rows quote each text).
    let csv = crate::model_cli::intents_csv();
    let rows: Vec<String> = csv
        .lines()
        .skip(1)
        .map(|l| {
            let text = l.rsplit_once(',').unwrap().0;
            let text = text
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .unwrap_or(text);
            text.replace("\"\"", "\"")
        })
        .collect();
    assert_eq!(rows, texts);
    let none = app
        .get(
            "/api/v1/training-examples?kind=intent&source=corrections",
            &app.admin,
        )
        .await;
    assert_eq!(none.json["items"], json!([]), "{}", none.text);
    for bad in ["source=mine", "limit=0", "cursor=nope"] {
        app.get(
            &format!("/api/v1/training-examples?kind=intent&{bad}"),
            &app.admin,
        )
        .await
        .assert_problem(400, "invalid_field");
    }
}

#[tokio::test]
async fn an_intent_correction_names_a_known_intent_or_says_it_is_new() {
    let app = spawn_app().await;
    let ch = app.create_channel("http://127.0.0.1:9/unused").await;
    app.deliver(
        &ch,
        &message("i-0", "conv-i0", "ida", "I want my money back"),
    )
    .await;
    let case = app.wait_for_message("i-0").await;
    let detail = app.case(case["id"].as_str().unwrap()).await;
    let m = detail["messages"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/messages/{m}/intent");
    let p = app
        .post(&path, &app.agent, &json!({"label": "unknown"}))
        .await;
    assert!(
        p.assert_problem(400, "invalid_field")["detail"]
            .as_str()
            .unwrap()
            .contains("not sure"),
        "{p:?}"
    );
    // Without an intent model, the first intent needs nothing; once there is one, a label
    // nobody used before must be meant, as with a model.
    let a = app
        .post(&path, &app.agent, &json!({"label": "first_thing"}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let p = app
        .post(&path, &app.agent, &json!({"label": "frist_thing"}))
        .await;
    assert!(
        p.assert_problem(400, "invalid_field")["detail"]
            .as_str()
            .unwrap()
            .contains("there are 1: first_thing"),
        "{p:?}"
    );
    train_intents(&app).await;
    let p = app
        .post(&path, &app.agent, &json!({"label": "refnud"}))
        .await;
    let detail = p.assert_problem(400, "invalid_field")["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        detail.contains("refund") && detail.contains("new_label"),
        "{detail}"
    );
    let unchanged = app.case(case["id"].as_str().unwrap()).await;
    assert_ne!(
        unchanged["messages"][0]["understanding"]["intent"]["label"], "refnud",
        "a refused correction changes nothing"
    );
    // Any spelling of "unknown" is refused, even as a new label; a known intent in other
    // letters is that intent.
    for body in [
        json!({"label": "Unknown", "new_label": true}),
        json!({"label": "UNKNOWN"}),
    ] {
        app.post(&path, &app.agent, &body)
            .await
            .assert_problem(400, "invalid_field");
    }
    let a = app
        .post(&path, &app.agent, &json!({"label": "REFUND"}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["understanding"]["intent"]["label"], "refund");
    let a = app
        .post(
            &path,
            &app.agent,
            &json!({"label": "warranty_claim", "new_label": true}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    // Once taught, a new intent is known: the next message needs no `new_label`.
    app.deliver(&ch, &message("i-1", "conv-i1", "ida", "my kettle broke"))
        .await;
    let other = app.wait_for_message("i-1").await;
    let detail = app.case(other["id"].as_str().unwrap()).await;
    let m1 = detail["messages"][0]["id"].as_str().unwrap().to_owned();
    let a = app
        .post(
            &format!("/api/v1/messages/{m1}/intent"),
            &app.agent,
            &json!({"label": "Warranty_Claim"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["understanding"]["intent"]["label"], "warranty_claim");
    let ex = app
        .get(
            "/api/v1/training-examples?kind=intent&source=corrections",
            &app.admin,
        )
        .await;
    let items = ex.json["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        2,
        "the latest correction replaced the first: {}",
        ex.text
    );
    assert!(
        items.iter().all(|e| e["label"] == "warranty_claim"),
        "{}",
        ex.text
    );
}

#[tokio::test]
async fn corrections_that_cannot_teach_yet_ship_nothing() {
    let app = spawn_app_with(|c| {
        c.retrain_tick_ms = 100;
        c.retrain_min_new = 2;
    })
    .await;
    train_intents(&app).await;
    let ch = app.create_channel("http://127.0.0.1:9/unused").await;
    // Two corrections to intents used once each: nothing a candidate could learn.
    for (i, label) in ["praise", "complaint"].into_iter().enumerate() {
        let id = format!("n-{i}");
        app.deliver(
            &ch,
            &message(&id, &format!("conv-n{i}"), "nia", "you lot are something"),
        )
        .await;
        let case = app.wait_for_message(&id).await;
        let detail = app.case(case["id"].as_str().unwrap()).await;
        let m = detail["messages"][0]["id"].as_str().unwrap().to_owned();
        let a = app
            .post(
                &format!("/api/v1/messages/{m}/intent"),
                &app.agent,
                &json!({"label": label, "new_label": true}),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    }
    let decided = wait_for("the intent decision", || async {
        let l = learning(&app, "intent").await;
        (l["last_decision"]["outcome"] != "training" && l["last_decision"].is_object()).then_some(l)
    })
    .await;
    assert_eq!(decided["last_decision"]["outcome"], "skipped", "{decided}");
    assert!(
        decided["last_decision"]["detail"]["reason"]
            .as_str()
            .unwrap()
            .contains("praise"),
        "{decided}"
    );
    let list = app.get("/api/v1/models", &app.admin).await;
    assert_eq!(
        list.json["items"].as_array().unwrap().len(),
        1,
        "{}",
        list.text
    );
}

/// A learning round installs its candidate only over the version it started from: a version
/// someone makes active while the round trains stays in force, and the round says why it
/// shipped nothing.
#[tokio::test]
async fn a_round_does_not_replace_a_version_made_active_while_it_trained() {
    let app = spawn_app_with(|c| {
        c.retrain_tick_ms = 50;
        c.retrain_min_new = 3;
    })
    .await;
    let ch = app.create_channel("http://127.0.0.1:9/unused").await;
    let correct = |from: usize| {
        let (app, ch) = (&app, &ch);
        async move {
            for i in from..from + 3 {
                let text = format!("the zorblax quibbet number {i} is flumping again");
                crisis_case(app, ch, &format!("r-{i}"), &text).await;
            }
        }
    };
    let purpose_versions = || async {
        let list = app.get("/api/v1/models", &app.admin).await;
        (
            list.json["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["kind"] == "purpose")
                .cloned()
                .collect::<Vec<Value>>(),
            list.json["learning"]["purpose"]["last_decision"].clone(),
        )
    };
    // A first round ships version 1; then the shipped model is put back in force.
    correct(0).await;
    wait_for("version 1", || async {
        let (versions, _) = purpose_versions().await;
        (!versions.is_empty()).then_some(())
    })
    .await;
    let r = app
        .post("/api/v1/models/purpose/deactivate", &app.admin, &json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // A second round starts from the shipped model; while it trains, version 1 is made
    // active again.
    correct(3).await;
    wait_for("the second round to train", || async {
        let (_, last) = purpose_versions().await;
        (last["outcome"] == "training").then_some(())
    })
    .await;
    let r = app
        .post(
            "/api/v1/models/purpose/versions/1/activate",
            &app.admin,
            &json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let last = wait_for("the second round's decision", || async {
        let (_, last) = purpose_versions().await;
        (last["outcome"] != "training").then_some(last)
    })
    .await;
    assert_eq!(last["outcome"], "skipped", "{last}");
    assert!(
        last["detail"]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("another version was put in force"),
        "{last}"
    );
    let (versions, _) = purpose_versions().await;
    let active: Vec<&Value> = versions.iter().filter(|m| m["active"] == true).collect();
    assert_eq!(active.len(), 1, "{versions:?}");
    assert_eq!(active[0]["version"], 1, "{versions:?}");
}

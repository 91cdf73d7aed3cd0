//! The knowledge base over HTTP: articles and canned responses with versions and history,
//! ranked search that forgives typos, all-or-nothing JSONL import, export, and the suggestions
//! for a case.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn game() -> Value {
    json!({
        "title": "When does the game start?",
        "body": "Saturday's home game starts at 7 pm. Gates open at 6 pm.",
        "tags": ["sports"],
        "questions": ["What time is kick-off?"],
        "purpose": "tier1",
    })
}

fn aid() -> Value {
    json!({
        "title": "Applying for financial aid",
        "body": "Financial aid applications close on 1 March. The aid office answers questions about grants and loans.",
        "questions": ["How do I get a scholarship?"],
    })
}

/// The agent replies to the case and promotes the reply to an article: the reply's id and
/// the article.
async fn answer_as_article(app: &TestApp, case_id: &str, text: &str) -> (String, Answer) {
    let reply = app
        .post(
            &format!("/api/v1/cases/{case_id}/replies"),
            &app.agent,
            &json!({ "text": text }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let reply_id = reply.json["id"].as_str().expect("reply id").to_owned();
    let a = app
        .post(
            &format!("/api/v1/messages/{reply_id}/promote"),
            &app.agent,
            &json!({"as": "article"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    (reply_id, a)
}

#[tokio::test]
async fn articles_have_versions_search_and_history() {
    let app = spawn_app().await;
    let a = app.post("/api/v1/kb/articles", &app.agent, &game()).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(
        (a.json["version"].as_i64(), a.json["public"].as_bool()),
        (Some(1), Some(true))
    );
    let game_id = a.json["id"].as_str().expect("id").to_owned();
    let b = app.post("/api/v1/kb/articles", &app.agent, &aid()).await;
    assert_eq!(b.status, StatusCode::CREATED, "{}", b.text);

    // Bad documents name their field; reviewers do not write.
    for (body, field) in [
        (json!({"body": "no title"}), "title"),
        (
            json!({"title": "t", "body": "b", "language": "english"}),
            "language",
        ),
        (
            json!({"title": "t", "body": "b", "colour": "red"}),
            "colour",
        ),
        (json!({"title": "t", "body": 5}), "body"),
        (
            json!({"title": "t", "body": "b", "valid_from": "2026-05-02T00:00:00Z", "valid_until": "2026-05-01T00:00:00Z"}),
            "valid_until",
        ),
    ] {
        let r = app.post("/api/v1/kb/articles", &app.agent, &body).await;
        assert_eq!(
            r.assert_problem(400, "invalid_field")["field"],
            field,
            "{body}"
        );
    }
    app.post("/api/v1/kb/articles", &app.reviewer, &game())
        .await
        .assert_problem(403, "forbidden");

    // Search ranks, explains, and forgives typos.
    let found = app
        .get(
            "/api/v1/kb/articles?q=what+time+does+the+gaem+strat",
            &app.agent,
        )
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    let first = &found.json["items"][0];
    assert_eq!(first["item"]["id"], game_id.as_str(), "{}", found.text);
    assert!(
        first["snippet"].as_str().unwrap_or("").contains("7 pm"),
        "{first}"
    );
    assert!(first["confidence"].as_f64().unwrap_or(0.0) > 0.0);
    let aid_hit = app
        .get("/api/v1/kb/articles?q=scholarship+deadline", &app.agent)
        .await;
    assert_eq!(
        aid_hit.json["items"][0]["item"]["title"],
        "Applying for financial aid"
    );
    let none = app
        .get("/api/v1/kb/articles?q=%22%22%22((", &app.agent)
        .await;
    assert_eq!(
        none.status,
        StatusCode::OK,
        "odd queries are just words: {}",
        none.text
    );

    // A new version; an edit based on an old version is refused; history keeps both.
    let mut v2 = game();
    v2["body"] = json!("Saturday's home game starts at 8 pm (moved). Gates open at 7 pm.");
    v2["version"] = json!(1);
    let r = app
        .put(&format!("/api/v1/kb/articles/{game_id}"), &app.agent, &v2)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["version"], 2);
    let r = app
        .put(&format!("/api/v1/kb/articles/{game_id}"), &app.agent, &v2)
        .await;
    r.assert_problem(409, "conflict");
    // It says who saved in between, and that nothing was saved.
    let detail = r.json["detail"].as_str().unwrap();
    assert!(
        detail.contains(" saved this entry after you opened it (it is at version 2, you edited version 1); nothing was saved")
            && !detail.starts_with("someone"),
        "{detail}"
    );
    let history = app
        .get(
            &format!("/api/v1/kb/articles/{game_id}/revisions"),
            &app.agent,
        )
        .await;
    let versions: Vec<i64> = history.json["items"]
        .as_array()
        .expect("revisions")
        .iter()
        .map(|r| r["version"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(versions, [2, 1]);
    assert!(
        history.json["items"][1]["data"]["body"]
            .as_str()
            .unwrap_or("")
            .contains("7 pm")
    );
    assert_eq!(history.json["items"][0]["by"], "test agent");

    // Archived: kept, not listed, not editable.
    let r = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/kb/articles/{game_id}"),
            Some(&app.agent),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json["archived_at"].is_string());
    let listed = app.get("/api/v1/kb/articles", &app.agent).await;
    assert_eq!(listed.json["items"].as_array().map(Vec::len), Some(1));
    let all = app
        .get("/api/v1/kb/articles?archived=true", &app.agent)
        .await;
    assert_eq!(all.json["items"].as_array().map(Vec::len), Some(2));
    app.put(
        &format!("/api/v1/kb/articles/{game_id}"),
        &app.agent,
        &game(),
    )
    .await
    .assert_problem(422, "rule_violated");
    // Restored: back as it was, listed and editable again; audited both ways.
    let restore = format!("/api/v1/kb/articles/{game_id}/restore");
    app.post(&restore, &app.reviewer, &json!({}))
        .await
        .assert_problem(403, "forbidden");
    let r = app.post(&restore, &app.agent, &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json.get("archived_at").is_none(), "{}", r.text);
    assert_eq!(r.json["version"], 2);
    let listed = app.get("/api/v1/kb/articles", &app.agent).await;
    assert_eq!(listed.json["items"].as_array().map(Vec::len), Some(2));
    app.post(
        "/api/v1/kb/articles/not-an-id/restore",
        &app.agent,
        &json!({}),
    )
    .await
    .assert_problem(404, "not_found");
    let audit = app.get("/api/v1/audit", &app.admin).await;
    let actions: Vec<&str> = audit.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            e["action"]
                .as_str()
                .filter(|a| a.starts_with("kb.article_"))
        })
        .collect();
    assert!(
        actions.contains(&"kb.article_archived") && actions.contains(&"kb.article_restored"),
        "{actions:?}"
    );
    app.get("/api/v1/kb/articles/not-an-id", &app.agent)
        .await
        .assert_problem(404, "not_found");
    app.get(&format!("/api/v1/kb/canned/{game_id}"), &app.agent)
        .await
        .assert_problem(404, "not_found");
    app.get("/api/v1/kb/recipes", &app.agent)
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn imports_are_all_or_nothing_and_exports_read_back() {
    let app = spawn_app().await;
    let send = |body: String| {
        let app = &app;
        async move {
            let r = app
                .http
                .post(app.url("/api/v1/kb/import"))
                .bearer_auth(&app.agent)
                .header("content-type", "application/x-ndjson")
                .body(body)
                .send()
                .await
                .expect("import");
            Answer::read(r).await
        }
    };
    let good = |v: Value, kind: &str| {
        let mut v = v;
        v["type"] = json!(kind);
        v.to_string()
    };
    let bad = [
        good(game(), "article"),
        json!({"type": "article", "body": "no title"}).to_string(),
        "{not json".to_owned(),
        json!({"type": "recipe", "title": "x"}).to_string(),
        json!({"type": "canned", "name": "hi", "text": "Hi {{customer}}"}).to_string(),
    ]
    .join("\n");
    let r = send(bad).await;
    let p = r.assert_problem(400, "invalid_import");
    let lines: Vec<(i64, String)> = p["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["line"].as_i64().unwrap_or(0),
                e["field"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            (2, "title".to_owned()),
            (3, String::new()),
            (4, "type".to_owned()),
            (5, "text".to_owned())
        ]
    );
    let listed = app.get("/api/v1/kb/articles", &app.agent).await;
    assert_eq!(
        listed.json["items"],
        json!([]),
        "the good line was not stored either"
    );
    send(String::new())
        .await
        .assert_problem(400, "invalid_import");

    let lines = [
        good(game(), "article"),
        String::new(),
        good(aid(), "article"),
        json!({"type": "canned", "name": "greeting", "text": "Hi {{contact.first_name}}, {{agent.name}} here."}).to_string(),
    ]
    .join("\n");
    let r = send(lines).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        (r.json["articles"].as_u64(), r.json["canned"].as_u64()),
        (Some(2), Some(1))
    );

    // The export reads back as an import.
    let export = app
        .http
        .get(app.url("/api/v1/kb/export"))
        .bearer_auth(&app.agent)
        .send()
        .await
        .expect("export");
    assert!(
        export.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("application/x-ndjson")
    );
    let text = export.text().await.expect("text");
    assert_eq!(text.lines().count(), 3);
    // Imported again, it adds nothing: every entry is there word for word.
    let again = send(text.clone()).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(
        (
            again.json["articles"].as_u64(),
            again.json["skipped"].as_u64()
        ),
        (Some(0), Some(3)),
        "{}",
        again.text
    );
    let listed = app.get("/api/v1/kb/articles", &app.agent).await;
    assert_eq!(listed.json["items"].as_array().map(Vec::len), Some(2));
    // One entry changed since: that one is added, the others are not.
    let changed = text.replacen("Gates open", "Gates now open", 1);
    assert_ne!(changed, text, "the export holds the game article");
    let r = send(changed).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        (r.json["articles"].as_u64(), r.json["skipped"].as_u64()),
        (Some(1), Some(2)),
        "{}",
        r.text
    );

    // Without a format or content type, the first line says: a CSV file is read as CSV.
    let r = app
        .send_raw(
            reqwest::Method::POST,
            "/api/v1/kb/import",
            &app.agent,
            "application/octet-stream",
            "type,title,body\narticle,Lockers,Lockers cost 2 euros.\n",
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // Not UTF-8: the line, and what to do.
    let latin1 = app
        .send_raw(
            reqwest::Method::POST,
            "/api/v1/kb/import",
            &app.agent,
            "text/csv",
            b"type,title,body\narticle,Caf\xe9,x\n".to_vec(),
        )
        .await;
    assert_eq!(
        latin1.assert_problem(400, "invalid_import")["detail"],
        "the import: line 2 is not UTF-8 text (byte 27); save the file as UTF-8"
    );
    let big = "x".repeat((20 << 20) + 1);
    let r = app
        .send_raw(
            reqwest::Method::POST,
            "/api/v1/kb/import",
            &app.agent,
            "text/csv",
            big,
        )
        .await;
    let p = r.assert_problem(413, "payload_too_large");
    assert_eq!(
        p["detail"], "an import is at most 20 MB (20971520 bytes)",
        "{p}"
    );
}

#[tokio::test]
async fn a_case_gets_articles_in_force_and_filled_in_canned_responses() {
    let app = spawn_app().await;
    let ch = app.create_channel("http://127.0.0.1:9/").await;
    for body in [
        game(),
        aid(),
        // Last season's game: no longer true.
        json!({"title": "When did last season's final start?", "body": "The final started at 3 pm.",
               "valid_until": "2020-01-01T00:00:00Z", "questions": ["game start time"]}),
    ] {
        let r = app.post("/api/v1/kb/articles", &app.agent, &body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let c = app
        .post(
            "/api/v1/kb/canned",
            &app.agent,
            &json!({"name": "game-times", "text": "Hi {{contact.first_name}}! The game starts at 7 pm. – {{agent.name}}", "tags": ["game", "start"]}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
    // The same answer in Spanish: offered on Spanish cases only.
    let es = app
        .post(
            "/api/v1/kb/canned",
            &app.agent,
            &json!({"name": "game-times-es", "text": "¡Hola! El partido empieza a las 7.", "tags": ["game", "start"], "language": "ES"}),
        )
        .await;
    assert_eq!(es.status, StatusCode::CREATED, "{}", es.text);
    assert_eq!(es.json["language"], "es", "{}", es.text);
    app.post(
        "/api/v1/kb/canned",
        &app.agent,
        &json!({"name": "x", "text": "{{case.secret}}"}),
    )
    .await
    .assert_problem(400, "invalid_field");

    app.deliver(
        &ch,
        &message(
            "q-1",
            "conv-1",
            "ann",
            "Hi, what time does the game start on Saturday?",
        ),
    )
    .await;
    let case = app.wait_for_message("q-1").await;
    let r = app
        .get(
            &format!(
                "/api/v1/cases/{}/suggestions",
                case["id"].as_str().expect("id")
            ),
            &app.agent,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let titles: Vec<&str> = r.json["articles"]
        .as_array()
        .expect("articles")
        .iter()
        .filter_map(|a| a["title"].as_str())
        .collect();
    assert_eq!(
        titles.first(),
        Some(&"When does the game start?"),
        "{}",
        r.text
    );
    assert!(
        !titles.contains(&"When did last season's final start?"),
        "expired: {titles:?}"
    );
    assert_eq!(
        r.json["canned"][0]["text"], "Hi Customer! The game starts at 7 pm. – test agent",
        "{}",
        r.text
    );
    assert!(
        r.json["canned"]
            .as_array()
            .expect("canned")
            .iter()
            .all(|c| c["name"] != "game-times-es"),
        "an English question: {}",
        r.text
    );
    app.get(
        "/api/v1/cases/0190a4d0-0000-7000-8000-000000000000/suggestions",
        &app.agent,
    )
    .await
    .assert_problem(404, "not_found");
}

#[tokio::test]
async fn answers_become_entries_and_unanswered_questions_are_listed() {
    let app = spawn_app().await;
    let ch = app.create_channel("http://127.0.0.1:9/").await;
    let asked = [
        ("p-1", "Do you have parking for visitors?"),
        ("p-2", "Is there visitor parking near the stadium?"),
        ("p-3", "Where can visitors park their car?"),
    ];
    for (id, text) in asked {
        app.deliver(&ch, &message(id, &format!("conv-{id}"), id, text))
            .await;
    }
    let case = app.wait_for_message("p-1").await;
    for (id, _) in asked {
        app.wait_for_message(id).await;
    }
    let gap_count = |v: &Value| -> u64 {
        v["gaps"]
            .as_array()
            .expect("gaps")
            .iter()
            .map(|g| g["count"].as_u64().unwrap_or(0))
            .sum()
    };
    let before = app.get("/api/v1/kb/gaps?purpose=any", &app.agent).await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.text);
    assert_eq!(
        gap_count(&before.json),
        3,
        "nothing answers them yet: {}",
        before.text
    );
    app.get("/api/v1/kb/gaps?days=0", &app.agent)
        .await
        .assert_problem(400, "invalid_field");
    // A follow-up that asks nothing new is not one more question.
    app.deliver(
        &ch,
        &message(
            "p-2b",
            "conv-p-2",
            "p-2",
            "Still confused, this didn't help",
        ),
    )
    .await;
    app.wait_for_message("p-2b").await;
    let again = app.get("/api/v1/kb/gaps?purpose=any", &app.agent).await;
    assert_eq!(gap_count(&again.json), 3, "{}", again.text);

    // The customer thanks ahead of the answer; the question is still what the article is.
    app.deliver(&ch, &message("p-1b", "conv-p-1", "p-1", "thx!"))
        .await;
    app.wait_for_message("p-1b").await;

    // The agent's answer becomes an article in one step.
    let case_id = case["id"].as_str().expect("case");
    let (reply_id, a) = answer_as_article(
        &app,
        case_id,
        "Visitors park free in lot C, next to the stadium, after 5 pm.",
    )
    .await;
    let reply_id = reply_id.as_str();
    assert_eq!(a.json["title"], "Do you have parking for visitors?");
    assert_eq!(
        a.json["body"],
        "Visitors park free in lot C, next to the stadium, after 5 pm."
    );
    assert_eq!(
        a.json["questions"],
        json!(["Do you have parking for visitors?"])
    );
    let c = app
        .post(
            &format!("/api/v1/messages/{reply_id}/promote"),
            &app.agent,
            &json!({"as": "canned", "name": "parking"}),
        )
        .await;
    assert_eq!(
        (c.status, c.json["name"].as_str()),
        (StatusCode::CREATED, Some("parking"))
    );
    let question_id = case["messages"][0]["id"].as_str().expect("question id");
    app.post(
        &format!("/api/v1/messages/{question_id}/promote"),
        &app.agent,
        &json!({"as": "article"}),
    )
    .await
    .assert_problem(422, "rule_violated");
    app.post(
        &format!("/api/v1/messages/{reply_id}/promote"),
        &app.agent,
        &json!({"as": "poster"}),
    )
    .await
    .assert_problem(400, "invalid_field");
    app.post(
        &format!("/api/v1/messages/{reply_id}/promote"),
        &app.reviewer,
        &json!({"as": "article"}),
    )
    .await
    .assert_problem(403, "forbidden");

    // Now the knowledge base answers them.
    let after = app.get("/api/v1/kb/gaps?purpose=any", &app.agent).await;
    assert!(gap_count(&after.json) < 3, "{}", after.text);

    // A title of one's own, from the case page's box.
    let titled = app
        .post(
            &format!("/api/v1/messages/{reply_id}/promote"),
            &app.agent,
            &json!({"as": "article", "title": "Visitor parking"}),
        )
        .await;
    assert_eq!(titled.status, StatusCode::CREATED, "{}", titled.text);
    assert_eq!(titled.json["title"], "Visitor parking");

    // An article in another language answers no one: a question in Portuguese stays a gap,
    // in its language, though a Spanish article shares its words.
    let es = app
        .post(
            "/api/v1/kb/articles",
            &app.agent,
            &json!({"title": "Horário da biblioteca", "body": "A biblioteca abre às 8.", "language": "es"}),
        )
        .await;
    assert_eq!(es.status, StatusCode::CREATED, "{}", es.text);
    app.deliver(
        &ch,
        &message(
            "pt-1",
            "conv-pt-1",
            "pt-1",
            "Qual é o horário da biblioteca?",
        ),
    )
    .await;
    let pt = app.wait_for_message("pt-1").await;
    assert_eq!(pt["messages"][0]["understanding"]["language"], "pt", "{pt}");
    let gaps = app.get("/api/v1/kb/gaps?purpose=any", &app.agent).await;
    let gap = gaps.json["gaps"]
        .as_array()
        .expect("gaps")
        .iter()
        .find(|g| g["examples"][0] == "Qual é o horário da biblioteca?")
        .unwrap_or_else(|| panic!("{}", gaps.text))
        .clone();
    assert_eq!(gap["language"], "pt", "{gap}");
    assert!(gap["closest"].is_null(), "{gap}");
}

/// An article made from an answer may be public: the customer's card and id numbers in the
/// question it keeps are hidden but their last four digits, as on the case page.
#[tokio::test]
async fn a_promoted_question_keeps_no_card_or_id_number() {
    let app = spawn_app().await;
    let ch = app.create_channel("http://127.0.0.1:9/").await;
    app.deliver(
        &ch,
        &message(
            "id-1",
            "conv-id-1",
            "id-1",
            "Why was my SSN 123-45-6789 refused at sign-up?",
        ),
    )
    .await;
    let case = app.wait_for_message("id-1").await;
    let case_id = case["id"].as_str().expect("case");
    let (_, a) = answer_as_article(
        &app,
        case_id,
        "Sign-up takes the number with its dashes; try it again that way.",
    )
    .await;
    assert_eq!(
        a.json["title"],
        "Why was my SSN •••• 6789 refused at sign-up?"
    );
    assert_eq!(
        a.json["questions"],
        json!(["Why was my SSN •••• 6789 refused at sign-up?"])
    );
    assert!(!a.text.contains("123-45"), "{}", a.text);
}

#[tokio::test]
async fn a_question_asked_before_and_after_an_intent_model_is_one_gap() {
    let app = spawn_app().await;
    let ch = app.create_channel("http://127.0.0.1:9/").await;
    let asked = "When will my new card arrive?";
    app.deliver(&ch, &message("g-1", "conv-g-1", "g-1", asked))
        .await;
    let before = app.wait_for_message("g-1").await;
    assert!(
        before["messages"][0]["understanding"]["intent"].is_null(),
        "{before}"
    );
    let trained = app
        .send_raw(
            reqwest::Method::POST,
            "/api/v1/models/intent/train?label_column=category",
            &app.admin,
            "text/csv",
            crate::model_cli::intents_csv(),
        )
        .await;
    assert_eq!(trained.status, StatusCode::CREATED, "{}", trained.text);
    app.deliver(&ch, &message("g-2", "conv-g-2", "g-2", asked))
        .await;
    let after = app.wait_for_message("g-2").await;
    assert_eq!(
        after["messages"][0]["understanding"]["intent"]["label"], "card_arrival",
        "{after}"
    );
    let gaps = app.get("/api/v1/kb/gaps?purpose=any", &app.agent).await;
    let list = gaps.json["gaps"].as_array().expect("gaps");
    assert_eq!(list.len(), 1, "{}", gaps.text);
    assert_eq!(list[0]["key"], "intent:card_arrival", "{}", gaps.text);
    assert_eq!(list[0]["count"], 2, "{}", gaps.text);
    // An article for that intent answers both askings, the one before the model too.
    let a = app
        .post(
            "/api/v1/kb/articles",
            &app.agent,
            // No word in common with the question: only the intent links them.
            &json!({"title": "Post and shipping", "body": "Allow seven working days.",
                    "intents": ["card_arrival"]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let gaps = app.get("/api/v1/kb/gaps?purpose=any", &app.agent).await;
    assert_eq!(gaps.json["gaps"], json!([]), "{}", gaps.text);
}

#[tokio::test]
async fn past_conversations_are_searchable_and_odd_queries_are_not_errors() {
    let app = spawn_app().await;
    let ch = app.create_channel("http://127.0.0.1:9/").await;
    app.deliver(
        &ch,
        &message(
            "f-1",
            "c-1",
            "ann",
            "My refund for order 5521 <script>x</script> has not arrived",
        ),
    )
    .await;
    app.deliver(
        &ch,
        &message("f-2", "c-2", "bo", "Late delivery of order 77"),
    )
    .await;
    app.wait_for_message("f-1").await;
    app.wait_for_message("f-2").await;
    let r = app.get("/api/v1/search?q=refund+5521", &app.agent).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let items = r.json["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{}", r.text);
    assert_eq!(items[0]["message"]["external_id"], "f-1");
    let snippet = items[0]["snippet"].as_str().expect("snippet");
    assert!(
        snippet.contains("<script>"),
        "plain text, for the page to escape: {snippet}"
    );
    let marked: Vec<String> = items[0]["highlights"]
        .as_array()
        .expect("highlights")
        .iter()
        .map(|h| {
            let (a, b) = (
                h[0].as_u64().unwrap_or(0) as usize,
                h[1].as_u64().unwrap_or(0) as usize,
            );
            snippet.chars().skip(a).take(b - a).collect()
        })
        .collect();
    assert_eq!(marked, ["refund", "5521"]);
    let both = app
        .get("/api/v1/search?q=order&direction=inbound", &app.agent)
        .await;
    assert_eq!(both.json["items"].as_array().map(Vec::len), Some(2));
    // Typos: a word no message has is corrected to the closest one that one has.
    let typo = app
        .get("/api/v1/search?q=refnud+-delivery", &app.agent)
        .await;
    assert_eq!(typo.status, StatusCode::OK, "{}", typo.text);
    assert_eq!(
        typo.json["corrected_query"], "refund -delivery",
        "{}",
        typo.text
    );
    assert_eq!(typo.json["items"][0]["message"]["external_id"], "f-1");
    let long = app.get("/api/v1/search?q=delievry", &app.agent).await;
    assert_eq!(long.json["corrected_query"], "delivery", "{}", long.text);
    let exact = app.get("/api/v1/search?q=refund", &app.agent).await;
    assert_eq!(
        exact.json.get("corrected_query"),
        None,
        "nothing to correct"
    );
    let nothing = app.get("/api/v1/search?q=zebra", &app.agent).await;
    assert_eq!(nothing.json["items"].as_array().map(Vec::len), Some(0));
    assert_eq!(nothing.json.get("corrected_query"), None);
    // By sentiment: the understanding step reads the late-delivery complaint as it reads it.
    let f1 = app.wait_for_message("f-1").await;
    let label = f1["messages"][0]["understanding"]["sentiment"]["label"]
        .as_str()
        .expect("a sentiment")
        .to_owned();
    let by = app
        .get(
            &format!("/api/v1/search?q=order&sentiment={label}"),
            &app.agent,
        )
        .await;
    let ids: Vec<&str> = by.json["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", by.text))
        .iter()
        .filter_map(|i| i["message"]["external_id"].as_str())
        .collect();
    assert!(ids.contains(&"f-1"), "{}", by.text);
    let other = if label == "positive" {
        "negative"
    } else {
        "positive"
    };
    let none = app
        .get(
            &format!("/api/v1/search?q=refund&sentiment={other}"),
            &app.agent,
        )
        .await;
    assert_eq!(
        none.json["items"].as_array().map(Vec::len),
        Some(0),
        "{}",
        none.text
    );
    // Stray quotes and operators are only text; no words is a clear 400.
    let odd = app
        .get("/api/v1/search?q=%22refund+AND+(", &app.agent)
        .await;
    assert_eq!(odd.status, StatusCode::OK, "{}", odd.text);
    for q in ["", "%22%22", "-refund", "%21%21%21"] {
        app.get(&format!("/api/v1/search?q={q}"), &app.agent)
            .await
            .assert_problem(400, "invalid_query");
    }
    for (query, field) in [
        ("q=x&channel=nope", "channel"),
        ("q=x&limit=0", "limit"),
        ("q=x&from=yesterday", "from"),
        ("q=x&direction=sideways", "direction"),
        ("q=x&sentiment=angry", "sentiment"),
    ] {
        let r = app
            .get(&format!("/api/v1/search?{query}"), &app.agent)
            .await;
        assert_eq!(
            r.assert_problem(400, "invalid_field")["field"],
            field,
            "{query}"
        );
    }
    let anonymous = app
        .http
        .get(app.url("/api/v1/search?q=refund"))
        .send()
        .await
        .expect("get");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_spreadsheet_imports_as_csv_and_exports_again() {
    let app = spawn_app().await;
    let post_csv = |body: &'static str| {
        let app = &app;
        async move {
            Answer::read(
                app.http
                    .post(app.url("/api/v1/kb/import"))
                    .bearer_auth(&app.agent)
                    .header(reqwest::header::CONTENT_TYPE, "text/csv")
                    .body(body)
                    .send()
                    .await
                    .expect("send"),
            )
            .await
        }
    };
    // Every bad row, with its line (a quoted cell may span lines); nothing stored.
    let bad = post_csv(
        "title,body,public,tags\nGame,\"Starts at 7 pm.\nGates at 6.\",yes,sports|game\n,no title,yes,\nParking,Lots A and B,perhaps,\n",
    )
    .await;
    let p = bad.assert_problem(400, "invalid_import");
    let lines: Vec<(u64, &str)> = p["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap_or(0),
                e["field"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(lines, [(4, "title"), (5, "public")], "{}", bad.text);
    let none = app.get("/api/v1/kb/articles", &app.agent).await;
    assert_eq!(none.json["items"].as_array().map(Vec::len), Some(0));

    let good = post_csv(
        "title,body,public,tags\nGame,\"Starts at 7 pm.\nGates at 6.\",yes,sports|game\nParking,Lots A and B,no,\n",
    )
    .await;
    assert_eq!(good.status, StatusCode::CREATED, "{}", good.text);
    assert_eq!(good.json["articles"], 2);
    let export = app.get("/api/v1/kb/export?format=csv", &app.agent).await;
    assert_eq!(export.status, StatusCode::OK);
    assert!(
        export.content_type().starts_with("text/csv"),
        "{}",
        export.content_type()
    );
    assert!(
        export
            .text
            .contains("article,Game,,\"Starts at 7 pm.\nGates at 6.\",,sports|game"),
        "{}",
        export.text
    );
    assert!(
        export
            .text
            .contains("article,Parking,,Lots A and B,,,,,,,,false"),
        "{}",
        export.text
    );
    app.get("/api/v1/kb/export?format=xml", &app.agent)
        .await
        .assert_problem(400, "invalid_field");
}

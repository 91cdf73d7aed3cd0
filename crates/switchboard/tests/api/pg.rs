//! The core flow — webhook in, case, reply out — on both backends: SQLite always, PostgreSQL
//! when `SWITCHBOARD_TEST_DATABASE_URL` is set (a fresh database per test).

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

async fn core_flow(app: &TestApp) {
    let partner = FakePartner::start(&[503], 200).await;
    let ch = app.create_channel(&partner.url).await;

    // In, stored, threaded.
    app.deliver(&ch, ISSUE_BODY).await;
    let case = app.wait_for_message("ext-1").await;
    let case_id = case["id"].as_str().unwrap().to_owned();
    assert_eq!(case["status"], "new");
    assert_eq!(case["purpose"], "tier1");
    assert_eq!(case["messages"][0]["text"], "…");
    assert_eq!(case["messages"][0]["author"]["name"], "Ann Lee");

    // Bad input changes nothing; a duplicate is acknowledged.
    let a = app.post_webhook(&ch, ISSUE_BODY).await;
    assert_eq!(a.json, json!({"status": "duplicate"}), "{}", a.text);
    app.post_webhook_with(&ch.id, Some("sha256=00"), ISSUE_BODY.into())
        .await
        .assert_problem(401, "bad_signature");
    let no_sender = json!({"id": "ext-x", "from": {}, "text": "hi"}).to_string();
    let p = app.post_webhook(&ch, &no_sender).await;
    assert_eq!(p.assert_problem(400, "invalid_field")["field"], "from.id");

    let second = json!({
        "id": "ext-2", "conversation": "thread-9", "from": {"id": "u-1"},
        "text": "any news?", "sent_at": "2026-11-22T10:05:00Z",
    });
    app.deliver(&ch, &second.to_string()).await;
    app.deliver(&ch, &message("ext-3", "thread-10", "u-1", "another topic"))
        .await;
    let msgs = app.wait_for_inbound(3).await;
    assert_eq!(msgs.len(), 3);
    let cases = app.all_cases().await;
    assert_eq!(cases.len(), 2);
    let detail = app.case(&case_id).await;
    let texts: Vec<&Value> = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["text"])
        .collect();
    assert_eq!(texts, [&json!("…"), &json!("any news?")]);
    assert_eq!(cases[0]["contact_id"], cases[1]["contact_id"]);
    let contact = cases[0]["contact_id"].as_str().unwrap();
    let timeline = app
        .get(&format!("/api/v1/contacts/{contact}/timeline"), &app.admin)
        .await;
    assert_eq!(timeline.json["items"].as_array().unwrap().len(), 3);

    // Out: a reply, retried once, delivered signed.
    let a = app
        .post(
            &format!("/api/v1/cases/{case_id}/replies"),
            &app.agent,
            &json!({"text": "Tomorrow"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let reply_id = a.json["id"].as_str().unwrap().to_owned();
    let delivered = wait_for("the reply to be delivered", || async {
        let d = app.case(&case_id).await;
        let m = d["messages"]
            .as_array()?
            .iter()
            .find(|m| m["id"] == reply_id.as_str())?
            .clone();
        (m["delivery_state"] == "delivered").then_some(m)
    })
    .await;
    assert_eq!(delivered["attempts"], 2);
    let got = partner.received();
    assert_eq!(got.len(), 2);
    for r in &got {
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            body,
            json!({"id": reply_id, "conversation": "thread-9", "in_reply_to": "ext-2",
                   "to": {"id": "u-1"}, "text": "Tomorrow"})
        );
        assert_eq!(
            r.headers.get("x-switchboard-signature").unwrap(),
            sign(&ch.secret, &r.body).as_str()
        );
        assert_eq!(r.headers.get("idempotency-key").unwrap(), reply_id.as_str());
    }

    // Changes are audited and journaled.
    let a = app
        .patch(
            &format!("/api/v1/cases/{case_id}"),
            &app.agent,
            &json!({"status": "resolved", "tags": ["shipping"]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["status"], "resolved");
    assert!(a.json["resolved_at"].is_string(), "{}", a.text);
    let audit = app.get("/api/v1/audit", &app.admin).await;
    assert!(
        audit.json["items"].as_array().unwrap().iter().any(|e| {
            e["action"] == "case.updated"
                && e["actor_name"] == AGENT_TOKEN_NAME
                && e["subject_id"] == case_id.as_str()
        }),
        "{}",
        audit.text
    );
    let mut r = reqwest::Client::new()
        .get(app.url("/api/v1/stream?last_event_id=0"))
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // case.created ×2, message.created ×3 (inbound) + 1 (reply), case.updated ×2 (reply opens
    // the case; the patch), message.updated ×2 (retry, delivered).
    let want = 10;
    let mut text = String::new();
    while text.matches("\n\n").count() < want {
        let chunk = tokio::time::timeout(Duration::from_secs(10), r.chunk())
            .await
            .expect("events within 10 s")
            .unwrap()
            .expect("the stream stays open");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let ids: Vec<i64> = text
        .lines()
        .filter_map(|l| l.strip_prefix("id:"))
        .map(|v| v.trim().parse().unwrap())
        .collect();
    assert_eq!(ids.len(), want, "{text}");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}

#[tokio::test]
async fn core_flow_on_sqlite() {
    let app = spawn_app().await;
    core_flow(&app).await;
}

#[tokio::test]
async fn core_flow_on_postgres() {
    let Some(app) = spawn_app_pg("core_flow_on_postgres").await else {
        return;
    };
    core_flow(&app).await;
}

#[tokio::test]
async fn bad_input_stores_nothing_on_postgres() {
    let Some(app) = spawn_app_pg("bad_input_stores_nothing_on_postgres").await else {
        return;
    };
    let ch = app.create_channel(NOWHERE).await;
    app.post_webhook_with(&ch.id, None, ISSUE_BODY.into())
        .await
        .assert_problem(401, "bad_signature");
    app.post_webhook_with(&uuid::Uuid::now_v7().to_string(), None, ISSUE_BODY.into())
        .await
        .assert_problem(404, "not_found");
    let a = app.post_webhook(&ch, "{oops").await;
    a.assert_problem(400, "malformed_body");
    // None of those was stored, so the id is new.
    app.deliver(&ch, ISSUE_BODY).await;
    app.deliver(&ch, &message("pg-2", "thread-9", "u-1", "second"))
        .await;
    let msgs = app.wait_for_inbound(2).await;
    assert_eq!(msgs.len(), 2);
    assert_eq!(app.all_cases().await.len(), 1);
    let a = app.post_webhook(&ch, ISSUE_BODY).await;
    assert_eq!(a.json, json!({"status": "duplicate"}));
}

/// The first 5,000 rows of "Customer Support on Twitter", replayed by `switchboard replay`
/// with 16 in flight: reply chains whose thread keys differ reach the server out of order
/// across the ingest lanes. Every customer post must be stored and none recorded as failed
/// (lanes that waited on each other used to deadlock and drop the loser's events).
#[tokio::test]
async fn twcs_replay_loses_nothing_across_lanes_on_postgres() {
    const FILE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/twcs/twcs_head5000.csv"
    );
    let Ok(bytes) = std::fs::read(FILE) else {
        eprintln!("skipped: {FILE} is absent");
        return;
    };
    let _one_replay_at_a_time = REPLAY_LOAD.lock().await;
    let Some(app) = spawn_app_pg("twcs_replay_loses_nothing_across_lanes_on_postgres").await else {
        return;
    };
    let rows = switchboard_channels::twcs::read(&bytes).expect("read");
    let plan = switchboard_channels::twcs::plan(&rows);
    let inbound = rows.iter().filter(|r| r.inbound).count() - plan.unassigned.len();
    let (target, token) = (app.address.clone(), app.admin.clone());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["replay", "--format", "twcs", FILE, "--target", &target])
            .args(["--token", &token, "--concurrency", "16"])
            .output()
            .expect("run replay")
    })
    .await
    .expect("join");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let url = app.pg_url().expect("a PostgreSQL app");
    let counts = move || {
        let url = url.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                // One statement, so one snapshot: counted apart, a batch committing between
                // the message count and the pending count looked like lost messages.
                let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
                let r = c
                    .query_one(
                        "SELECT (SELECT COUNT(*) FROM messages WHERE direction = 'inbound'), \
                         (SELECT COUNT(*) FROM raw_events WHERE processed_at IS NULL), \
                         (SELECT COUNT(*) FROM raw_events WHERE outcome LIKE 'error%')",
                        &[],
                    )
                    .expect("query");
                (r.get::<_, i64>(0), r.get::<_, i64>(1), r.get::<_, i64>(2))
            })
            .await
            .expect("join")
        }
    };
    let (stored, _, failed) = wait_for("every raw event processed", || {
        let counts = counts.clone();
        async move {
            let (stored, pending, failed) = counts().await;
            (pending == 0).then_some((stored, pending, failed))
        }
    })
    .await;
    assert_eq!(failed, 0, "raw events recorded as failed");
    if stored as usize != inbound {
        // Say which posts are missing and what became of their raw events.
        let url = app.pg_url().expect("a PostgreSQL app");
        let lost = tokio::task::spawn_blocking(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
            c.query(
                "WITH j AS (SELECT channel_id, outcome, convert_from(body, 'UTF8')::json AS j FROM raw_events), \
                 r AS (SELECT channel_id, outcome, j ->> 'for_user_id' AS me, \
                   j -> 'tweet_create_events' -> 0 AS t FROM j) \
                 SELECT r.t ->> 'id_str', r.t -> 'user' ->> 'id_str', r.t ->> 'in_reply_to_status_id_str', \
                   r.outcome, (SELECT string_agg(m.direction || ':' || m.case_id, ',') FROM messages m \
                     WHERE m.external_id = r.t ->> 'id_str') \
                 FROM r WHERE r.t IS NOT NULL AND r.t -> 'user' ->> 'id_str' <> r.me AND NOT EXISTS (SELECT 1 FROM messages m \
                   WHERE m.channel_id = r.channel_id AND m.external_id = r.t ->> 'id_str' \
                   AND m.direction = 'inbound') LIMIT 400",
                &[],
            )
            .expect("query")
            .iter()
            .map(|r| {
                format!(
                    "{:?} {:?} {:?} {:?} {:?}",
                    r.get::<_, Option<String>>(0),
                    r.get::<_, Option<String>>(1),
                    r.get::<_, Option<String>>(2),
                    r.get::<_, Option<String>>(3),
                    r.get::<_, Option<String>>(4)
                )
            })
            .collect::<Vec<_>>()
        })
        .await
        .expect("join");
        panic!(
            "every customer post is a message: {stored} of {inbound} stored; replay said {}\n\
             raw events without an inbound message:\n{}",
            String::from_utf8_lossy(&out.stdout),
            lost.join("\n")
        );
    }
}

//! Lifecycle and SLAs through the API (issue 3): custom purposes, the SLA worker warning and
//! acting at a breach, and a person's notifications.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn custom_purposes_are_registered_then_usable() {
    let app = spawn_app().await;
    let a = app.get("/api/v1/purposes", &app.agent).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let ids: Vec<&str> = a.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["tier1", "support", "sales", "marketing_pr", "crisis"]);

    let body = json!({"id": "warranty", "name": "Warranty claims"});
    app.post("/api/v1/purposes", &app.agent, &body)
        .await
        .assert_problem(403, "forbidden");
    let a = app
        .post(
            "/api/v1/purposes",
            &app.admin,
            &json!({"id": "Warranty!", "name": "W"}),
        )
        .await;
    assert_eq!(a.assert_problem(400, "invalid_field")["field"], "id");
    let a = app
        .post(
            "/api/v1/purposes",
            &app.admin,
            &json!({"id": "sales", "name": "Sales"}),
        )
        .await;
    a.assert_problem(409, "conflict");

    let ch = app.create_channel(NOWHERE).await;
    app.deliver(&ch, &message("w-1", "conv-w", "cust", "my kettle broke"))
        .await;
    let case = app.wait_for_message("w-1").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/cases/{case}");
    let before = app.case(&case).await["purpose"].clone();
    let a = app
        .patch(&path, &app.agent, &json!({"purpose": "warranty"}))
        .await;
    assert_eq!(a.assert_problem(400, "invalid_field")["field"], "purpose");
    assert_eq!(app.case(&case).await["purpose"], before, "unchanged");

    let a = app.post("/api/v1/purposes", &app.supervisor, &body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(a.json["built_in"], false);
    app.post("/api/v1/purposes", &app.admin, &body)
        .await
        .assert_problem(409, "conflict");
    let a = app
        .patch(&path, &app.agent, &json!({"purpose": "warranty"}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["purpose"], "warranty");
    let a = app.get("/api/v1/cases?purpose=warranty", &app.agent).await;
    assert_eq!(a.json["items"].as_array().unwrap().len(), 1, "{}", a.text);
}

const SLA: &str = r#"[[team]]
id = "support"
name = "Support"
strategy = "round_robin"

[[sla]]
name = "fast"
first_response = "3s"
warn_before = "2s"
on_breach = ["raise_priority", "notify_supervisor"]

[[rule]]
name = "Everything to support"
then.team = "support"
then.purpose = "support"
"#;

#[tokio::test]
async fn the_sla_worker_warns_then_acts_at_the_breach_and_people_are_notified() {
    let app = spawn_app().await;
    let a = app
        .put("/api/v1/playbook", &app.admin, &json!({ "source": SLA }))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let teams = app.get("/api/v1/teams", &app.admin).await;
    let support = teams.json["items"][0]["id"].as_str().unwrap().to_owned();
    let ada = app.person("ada", "agent").await;
    let sam = app.person("sam", "supervisor").await;
    for p in [&ada, &sam] {
        let a = app
            .post(
                &format!("/api/v1/teams/{support}/members"),
                &app.admin,
                &json!({"user_id": p.id}),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    }
    // Sam is a supervisor who does not take cases: only Ada is online.
    let a = app
        .as_person(
            &sam,
            Method::PUT,
            "/api/v1/me/availability",
            Some(&json!({"availability": "offline"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);

    let ch = app.create_channel(NOWHERE).await;
    app.deliver(&ch, &message("s-1", "conv-s", "cust", "hello?"))
        .await;
    let case = app.wait_for_message("s-1").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.case(&case).await["assignee"], json!(ada.id));

    // About a second in, Ada is warned; at three seconds the target is breached.
    let warned = wait_for("Ada's SLA warning", || async {
        let a = app
            .as_person(&ada, Method::GET, "/api/v1/notifications?unread=true", None)
            .await;
        a.json["items"]
            .as_array()
            .and_then(|items| items.iter().find(|n| n["kind"] == "sla.warning").cloned())
    })
    .await;
    assert_eq!(warned["case_id"], json!(case));
    let breached = wait_for("Sam's breach notice", || async {
        let a = app
            .as_person(&sam, Method::GET, "/api/v1/notifications", None)
            .await;
        a.json["items"]
            .as_array()
            .and_then(|items| items.iter().find(|n| n["kind"] == "sla.breached").cloned())
    })
    .await;
    assert!(
        breached["body"].as_str().unwrap().contains("fast"),
        "{breached}"
    );
    let detail = app.case(&case).await;
    assert_eq!(detail["priority"], "high", "raised one step from normal");
    let first = &detail["sla"]["targets"][0];
    assert_eq!(
        (first["target"].as_str(), first["status"].as_str()),
        (Some("first_response"), Some("breached"))
    );
    let a = app.get("/api/v1/audit?limit=200", &app.admin).await;
    assert!(
        a.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "sla.breached"),
        "the breach is audited"
    );
    assert!(
        app.metric("switchboard_sla_events_total", &[("kind", "breach")])
            .await
            >= 1.0
    );

    // Notifications are per person; tokens have none; marking read.
    app.get("/api/v1/notifications", &app.admin)
        .await
        .assert_problem(403, "forbidden");
    let a = app
        .as_person(
            &ada,
            Method::POST,
            "/api/v1/notifications/read",
            Some(&json!({"ids": ["nope"]})),
        )
        .await;
    assert_eq!(a.assert_problem(400, "invalid_field")["field"], "ids");
    let a = app
        .as_person(
            &ada,
            Method::POST,
            "/api/v1/notifications/read",
            Some(&json!({})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert!(a.json["marked_read"].as_u64().unwrap() >= 1);
    let a = app
        .as_person(&ada, Method::GET, "/api/v1/notifications?unread=true", None)
        .await;
    assert_eq!(a.json["items"], json!([]));
}

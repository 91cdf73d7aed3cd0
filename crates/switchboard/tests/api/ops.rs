//! Health, the API description and metrics (issue items 5 and 8).

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn healthz_openapi_and_metrics_answer() {
    let app = spawn_app().await;

    let r = app.http.get(app.url("/healthz")).send().await.unwrap();
    let a = Answer::read(r).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json["status"], "ok");

    let r = app
        .http
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    let a = Answer::read(r).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert!(a.content_type().starts_with("application/json"));
    let doc: Value = serde_json::from_str(&a.text).expect("openapi.json is JSON");
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{doc}"
    );
    assert!(doc["info"]["title"].is_string(), "{doc}");
    let paths = doc["paths"].as_object().expect("paths");
    for route in [
        "/api/v1/cases",
        "/api/v1/cases/{id}",
        "/api/v1/cases/{id}/replies",
        "/api/v1/cases/{id}/notes",
        "/api/v1/contacts/{id}/timeline",
        "/api/v1/channels",
        "/api/v1/teams",
        "/api/v1/users",
        "/api/v1/audit",
        "/api/v1/stream",
        "/api/v1/login",
        "/hooks/webhook/{channel_id}",
    ] {
        assert!(paths.contains_key(route), "{route} is not documented");
    }

    // Something to count first.
    let ch = app.create_channel(NOWHERE).await;
    app.deliver(&ch, ISSUE_BODY).await;
    app.wait_for_message("ext-1").await;

    let r = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        ct.starts_with("text/plain") || ct.starts_with("application/openmetrics-text"),
        "{ct}"
    );
    let text = r.text().await.unwrap();
    assert!(text.contains("switchboard_ingest_messages_total"), "{text}");
    let ingested = metric_value(&text, "switchboard_ingest_messages_total", &[]).expect("a value");
    assert!(ingested >= 1.0, "{text}");
    assert!(
        metric_value(
            &text,
            "switchboard_webhook_requests_total",
            &[("kind", "webhook"), ("outcome", "accepted")]
        )
        .is_some_and(|v| v >= 1.0),
        "{text}"
    );
    // Gauges read from the store at scrape time. (Their values are process-wide, and other
    // tests' servers share this process, so only their presence is checked.)
    assert!(
        metric_value(&text, "switchboard_cases", &[("status", "new")]).is_some(),
        "{text}"
    );
    assert!(
        metric_value(&text, "switchboard_raw_events_pending", &[]).is_some(),
        "{text}"
    );
}

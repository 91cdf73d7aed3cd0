//! Health, the API description and metrics (issue items 5 and 8).

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

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
        "/hooks/{kind}/{channel_id}",
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

/// The live queue gauges: active cases per team and purpose, and SLA at risk per team, read
/// from the store at each scrape (a queue that empties reads 0 or disappears).
#[tokio::test]
async fn metrics_show_live_queues_per_team_and_purpose() {
    let app = spawn_app().await;
    let partner = FakePartner::start(&[], 200).await;
    let ch = app.create_channel(&partner.url).await;
    app.apply_playbook(
        "[[team]]\nid = \"queue-gauge\"\nname = \"Queue gauge team\"\n\n\
         [[sla]]\nname = \"fast\"\nfirst_response = \"1s\"\n\n\
         [[rule]]\nname = \"all\"\nthen.purpose = \"support\"\nthen.team = \"queue-gauge\"\n",
    )
    .await;
    app.deliver(&ch, &message("g-1", "g", "g", "hello there"))
        .await;
    app.deliver(&ch, &message("g-2", "h", "h", "hello again"))
        .await;
    let case = app.wait_for_message("g-2").await;
    let queue = [("team", "Queue gauge team"), ("purpose", "support")];
    let scrape = || async {
        app.http
            .get(app.url("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    };
    let text = scrape().await;
    assert_eq!(
        metric_value(&text, "switchboard_queue_cases", &queue),
        Some(2.0),
        "{text}"
    );
    // The one-second SLA breaches: both cases are at risk.
    wait_for("the breach in the gauge", || async {
        let text = scrape().await;
        (metric_value(
            &text,
            "switchboard_sla_at_risk",
            &[("team", "Queue gauge team")],
        ) == Some(2.0))
        .then_some(())
    })
    .await;
    // Resolving one empties its place in the queue.
    let r = app
        .patch(
            &format!("/api/v1/cases/{}", case["id"].as_str().expect("id")),
            &app.agent,
            &json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let text = scrape().await;
    assert_eq!(
        metric_value(&text, "switchboard_queue_cases", &queue),
        Some(1.0),
        "{text}"
    );
}

/// The router's source, read as text: every `.route(...)` it declares must be in openapi.json.
const ROUTER_SOURCE: &str = include_str!("../../../switchboard-server/src/api/mod.rs");

/// The `.route("path", handlers)` calls in `text`: each path with the HTTP methods its handler
/// expression names (`get(..).patch(..)` → `["get", "patch"]`).
fn routes_in(text: &str) -> Vec<(String, Vec<&'static str>)> {
    const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(".route(") {
        let call = &rest[at + ".route(".len()..];
        // The call's arguments: up to the parenthesis that closes `.route(`.
        let mut depth = 1usize;
        let end = call
            .char_indices()
            .find_map(|(i, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                (depth == 0).then_some(i)
            })
            .expect("a .route( call is closed");
        let args = call[..end].trim_start();
        let path = args
            .strip_prefix('"')
            .and_then(|a| a.split('"').next())
            .unwrap_or_else(|| panic!("a .route( call without a string path: {args}"));
        let handlers = &args[path.len() + 2..];
        let methods = METHODS
            .into_iter()
            .filter(|m| {
                handlers.match_indices(&format!("{m}(")).any(|(i, _)| {
                    handlers[..i]
                        .chars()
                        .next_back()
                        .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'))
                })
            })
            .collect::<Vec<_>>();
        assert!(!methods.is_empty(), "no method found for route {path}");
        out.push((path.to_owned(), methods));
        rest = &call[end..];
    }
    out
}

/// Every route the router serves, with the `/api/v1` prefix where it is nested.
fn served_routes() -> Vec<(String, Vec<&'static str>)> {
    let src = &ROUTER_SOURCE[ROUTER_SOURCE
        .find("pub fn router(")
        .expect("mod.rs has `pub fn router(`")..];
    // `.nest("/api/v1", api)`: the prefix, and the variable holding the nested router.
    let nest_at = src.find(".nest(\"").expect("the router nests the API");
    let nest = &src[nest_at + ".nest(\"".len()..];
    let (prefix, nest) = nest.split_once('"').expect("a quoted prefix");
    let var = nest
        .trim_start_matches([',', ' '])
        .split(')')
        .next()
        .expect("the nested router's name")
        .trim();
    let let_at = src
        .find(&format!("let {var} = Router::new()"))
        .unwrap_or_else(|| panic!("mod.rs builds `{var}` with Router::new()"));
    let nested_text = &src[let_at..];
    let nested_text = &nested_text[..nested_text.find(';').expect("the `let` ends")];
    let top_text = &src[nest_at..];
    let top_text = &top_text[..top_text.find("\n}").expect("router() ends")];

    let nested = routes_in(nested_text);
    let top = routes_in(top_text);
    assert!(
        nested.len() >= 30 && top.len() >= 3,
        "the router's source no longer looks as expected: {} nested, {} top-level routes",
        nested.len(),
        top.len()
    );
    nested
        .into_iter()
        .map(|(p, m)| (format!("{prefix}{p}"), m))
        .chain(top)
        .collect()
}

#[test]
fn every_route_is_documented() {
    let doc: Value =
        serde_json::from_str(switchboard_server::api::OPENAPI).expect("openapi.json is valid JSON");
    let file: Value = serde_json::from_str(include_str!(
        "../../../switchboard-server/src/api/openapi.json"
    ))
    .expect("openapi.json is valid JSON");
    assert_eq!(doc, file, "the served document is the file");
    let paths = doc["paths"].as_object().expect("the document has paths");

    let routes = served_routes();
    let mut missing = Vec::new();
    for (path, methods) in &routes {
        match paths.get(path) {
            None => missing.push(path.clone()),
            Some(item) => {
                for m in methods {
                    if item.get(m).is_none() {
                        missing.push(format!("{} {path}", m.to_uppercase()));
                    }
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "routes served but not documented in openapi.json: {missing:?}"
    );
    // And the other way: nothing documented that is not served.
    let served: Vec<&str> = routes.iter().map(|(p, _)| p.as_str()).collect();
    let extra: Vec<&String> = paths
        .keys()
        .filter(|p| !served.contains(&p.as_str()))
        .collect();
    assert!(
        extra.is_empty(),
        "paths documented in openapi.json that the router does not serve: {extra:?}"
    );
}

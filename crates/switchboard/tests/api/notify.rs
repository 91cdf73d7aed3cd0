//! Notify hooks (issue 3, `then.notify`): a rule that fires on a new case makes Switchboard
//! POST the case to the rule's URL, signed with the workspace's hook secret over a timestamp
//! and the body; retried with backoff, ending `delivered` or `failed`; the secret can be read
//! and rotated by an admin (the old one keeps signing beside the new one for a day).
//!
//! The receiver is a local HTTP server that records every request; the signature is checked
//! here with `hmac` directly, not with Switchboard's own code.

use crate::helpers::*;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;

fn playbook(url: &str) -> String {
    format!(
        r#"
[[team]]
id = "pr"
name = "PR"

[[rule]]
name = "Outages go to PR and the status page"
when.text_any = ["outage"]
then.team = "pr"
then.notify = "{url}"
then.escalate = true
"#
    )
}

/// Applies a playbook notifying `url` and returns a channel to write on.
async fn setup(app: &TestApp, url: &str) -> Channel {
    let a = app
        .put(
            "/api/v1/playbook",
            &app.admin,
            &json!({ "source": playbook(url) }),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    app.create_channel("http://127.0.0.1:9/unused").await
}

async fn secret(app: &TestApp) -> Value {
    let a = app.get("/api/v1/notify/secret", &app.admin).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    a.json
}

/// The `v1` signatures in the header that match `secret` over `t.body`, and `t`.
fn matching(r: &Received, secret: &str) -> (usize, i64) {
    let header = r
        .headers
        .get("x-switchboard-hook-signature")
        .and_then(|v| v.to_str().ok())
        .expect("X-Switchboard-Hook-Signature");
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        let (k, v) = part.split_once('=').expect("k=v");
        match k {
            "t" => t = Some(v.parse::<i64>().expect("t is a number")),
            "v1" => sigs.push(v.to_owned()),
            other => panic!("unexpected {other} in {header}"),
        }
    }
    let t = t.expect("t=");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&r.body);
    let expected = hex_lower(&mac.finalize().into_bytes());
    (sigs.iter().filter(|s| **s == expected).count(), t)
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn header<'a>(r: &'a Received, name: &str) -> &'a str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("{name} header"))
}

async fn deliveries(app: &TestApp, query: &str) -> Vec<Value> {
    let a = app
        .get(&format!("/api/v1/notify/deliveries{query}"), &app.admin)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    a.json["items"].as_array().unwrap().clone()
}

/// Waits until the case's only delivery has ended; returns it.
async fn ended(app: &TestApp, case: &str) -> Value {
    wait_for("the notify delivery to end", || async {
        let items = deliveries(app, &format!("?case_id={case}")).await;
        let d = items.first()?.clone();
        matches!(d["state"].as_str(), Some("delivered" | "failed")).then_some(d)
    })
    .await
}

async fn notify_flow(app: TestApp) {
    let receiver = FakePartner::start(&[503], 200).await;
    let ch = setup(&app, &receiver.url).await;
    let s = secret(&app).await;
    let key = s["secret"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 64, "{s}");
    assert_eq!(s["previous"], json!([]));

    app.deliver(&ch, &message("n-1", "conv-n1", "ann", "Is this an outage?"))
        .await;
    let case = app.wait_for_message("n-1").await;
    let case_id = case["id"].as_str().unwrap().to_owned();
    assert!(case["escalated"].as_bool().unwrap(), "{case}");
    let d = ended(&app, &case_id).await;
    assert_eq!(d["state"], "delivered", "{d}");
    assert_eq!(d["attempts"], 2, "the first answer was 503: {d}");
    assert_eq!(d["last_status"], 200);
    assert_eq!(d["url"], receiver.url.as_str());

    // Both attempts: the same delivery id and body, each signed over its own time.
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    for r in &got {
        let (ok, t) = matching(r, &key);
        assert_eq!(ok, 1, "one v1 matches the secret");
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        assert!((now - t).abs() < 60, "signed at {t}, now {now}");
        assert_eq!(header(r, "x-switchboard-event"), "case.routed");
        assert_eq!(
            header(r, "x-switchboard-delivery"),
            d["id"].as_str().unwrap()
        );
        assert_eq!(header(r, "content-type"), "application/json");
        assert_eq!(r.body, got[0].body);
    }
    let body: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(body["id"], d["id"]);
    assert_eq!(body["event"], "case.routed");
    assert_eq!(body["case"]["id"], case_id.as_str());
    assert_eq!(body["case"]["purpose"], case["purpose"]);
    assert_eq!(body["message"]["text"], "Is this an outage?");
    assert_eq!(
        body["case"]["routing"]["fired"][0]["rule"],
        "Outages go to PR and the status page"
    );
    // A tampered body does not verify.
    let mut tampered = got[0].clone();
    tampered.body.extend_from_slice(b" ");
    assert_eq!(matching(&tampered, &key).0, 0);

    // The single delivery shows the body it posts.
    let one = app
        .get(
            &format!("/api/v1/notify/deliveries/{}", d["id"].as_str().unwrap()),
            &app.admin,
        )
        .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_eq!(one.json["body"], body);

    // Rotation: the new secret signs, and the old one beside it for a day.
    let rotated = app
        .post("/api/v1/notify/secret/rotate", &app.admin, &json!({}))
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    let new_key = rotated.json["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_key, key);
    let s = secret(&app).await;
    assert_eq!(s["secret"].as_str(), Some(new_key.as_str()));
    assert_eq!(s["previous"], json!([key]));
    // Rotating again the same day keeps both older secrets signing.
    let again = app
        .post("/api/v1/notify/secret/rotate", &app.admin, &json!({}))
        .await;
    let newest = again.json["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret(&app).await["previous"], json!([new_key, key]));
    app.deliver(&ch, &message("n-2", "conv-n2", "bob", "outage again"))
        .await;
    let case2 = app.wait_for_message("n-2").await;
    let d2 = ended(&app, case2["id"].as_str().unwrap()).await;
    assert_eq!(
        (d2["state"].as_str(), d2["attempts"].as_i64()),
        (Some("delivered"), Some(1))
    );
    let last = receiver.received().pop().unwrap();
    for k in [&newest, &new_key, &key] {
        assert_eq!(matching(&last, k).0, 1, "every secret in force signs");
    }

    // A message that no notify rule matches posts nothing.
    app.deliver(&ch, &message("n-3", "conv-n3", "cy", "hello"))
        .await;
    let case3 = app.wait_for_message("n-3").await;
    assert!(
        deliveries(&app, &format!("?case_id={}", case3["id"].as_str().unwrap()))
            .await
            .is_empty()
    );
    assert!(
        app.metric(
            "switchboard_notify_webhooks_total",
            &[("kind", "delivered")]
        )
        .await
            >= 2.0
    );
    assert!(
        app.metric("switchboard_notify_webhooks_total", &[("kind", "retry")])
            .await
            >= 1.0
    );
}

#[tokio::test]
async fn a_rule_with_notify_posts_the_case_signed_retries_and_rotates() {
    notify_flow(spawn_app().await).await;
}

#[tokio::test]
async fn notify_hooks_on_postgres() {
    let Some(app) = spawn_app_pg("notify_hooks_on_postgres").await else {
        return;
    };
    notify_flow(app).await;
}

#[tokio::test]
async fn a_refused_delivery_fails_at_once_and_an_admin_can_send_it_again() {
    let app = spawn_app().await;
    let receiver = FakePartner::start(&[410], 200).await;
    let ch = setup(&app, &receiver.url).await;
    app.deliver(&ch, &message("f-1", "conv-f1", "ann", "outage!"))
        .await;
    let case = app.wait_for_message("f-1").await;
    let case_id = case["id"].as_str().unwrap();
    let d = ended(&app, case_id).await;
    assert_eq!(
        (
            d["state"].as_str(),
            d["attempts"].as_i64(),
            d["last_status"].as_i64()
        ),
        (Some("failed"), Some(1), Some(410)),
        "a 410 is final: {d}"
    );
    assert!(
        d["last_error"].as_str().unwrap().contains("HTTP 410"),
        "{d}"
    );
    let failed = deliveries(&app, "?state=failed").await;
    assert_eq!(failed.len(), 1);

    let id = d["id"].as_str().unwrap();
    let again = app
        .post(
            &format!("/api/v1/notify/deliveries/{id}/redeliver"),
            &app.supervisor,
            &json!({}),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.json["state"], "queued");
    let d = ended(&app, case_id).await;
    assert_eq!(
        (d["state"].as_str(), d["attempts"].as_i64()),
        (Some("delivered"), Some(1))
    );
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].body, got[1].body,
        "the same body, the same delivery id"
    );

    let actions = app.audit_actions().await;
    for a in ["notify.failed", "notify.redelivered", "notify.delivered"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

#[tokio::test]
async fn notify_endpoints_refuse_bad_input_and_other_roles() {
    let app = spawn_app().await;
    let before = secret(&app).await;
    // Only admins see or rotate the secret; agents cannot list deliveries.
    for (path, token) in [
        ("/api/v1/notify/secret", &app.supervisor),
        ("/api/v1/notify/secret", &app.agent),
        ("/api/v1/notify/deliveries", &app.agent),
    ] {
        app.get(path, token).await.assert_problem(403, "forbidden");
    }
    app.post("/api/v1/notify/secret/rotate", &app.agent, &json!({}))
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(secret(&app).await, before, "nothing rotated");
    app.get("/api/v1/notify/secret", "")
        .await
        .assert_problem(401, "unauthorized");

    app.get("/api/v1/notify/deliveries?state=lost", &app.admin)
        .await
        .assert_problem(400, "invalid_field");
    app.get("/api/v1/notify/deliveries?case_id=nope", &app.admin)
        .await
        .assert_problem(400, "invalid_field");
    app.get("/api/v1/notify/deliveries?color=red", &app.admin)
        .await
        .assert_problem(400, "invalid_field");
    app.get("/api/v1/notify/deliveries/not-an-id", &app.admin)
        .await
        .assert_problem(404, "not_found");
    let unknown = "01900000-0000-7000-8000-000000000000";
    app.get(&format!("/api/v1/notify/deliveries/{unknown}"), &app.admin)
        .await
        .assert_problem(404, "not_found");
    app.post(
        &format!("/api/v1/notify/deliveries/{unknown}/redeliver"),
        &app.admin,
        &json!({}),
    )
    .await
    .assert_problem(404, "not_found");
}

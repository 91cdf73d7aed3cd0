//! Files in the web chat: uploaded over HTTP with the chat's upload token, checked (origin,
//! token, size, type proven by content), attached to a message by id, and served to agents in a
//! sandbox. Every refusal stores nothing.

use crate::chat::{SECRET, next, open, send, until};
use crate::helpers::*;
use crate::social::connect;
use reqwest::StatusCode;
use serde_json::{Value, json};

const ORIGIN: &str = "https://shop.example";

/// A PNG header and some padding: enough for the type check.
fn png(len: usize) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    b.resize(len, 7);
    b
}

struct Upload {
    status: u16,
    json: Value,
    allow_origin: Option<String>,
}

async fn upload(
    app: &TestApp,
    channel: &str,
    origin: &str,
    token: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> Upload {
    let mut req = app
        .http
        .post(app.url(&format!("/chat/{channel}/files?name=..%2F..%2Freceipt.png")))
        .header("origin", origin)
        .header("content-type", content_type)
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.expect("upload");
    let status = r.status().as_u16();
    let allow_origin = r
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap_or("").to_owned());
    let json = r.json().await.unwrap_or(Value::Null);
    Upload {
        status,
        json,
        allow_origin,
    }
}

async fn stored_files(app: &TestApp) -> usize {
    let m = app
        .metric(
            "switchboard_webhook_requests_total",
            &[("kind", "webchat"), ("outcome", "file_stored")],
        )
        .await;
    m as usize
}

#[tokio::test]
async fn chat_files_are_checked_stored_and_shown_to_agents() {
    let app = spawn_app().await;
    let id = connect(
        &app,
        "webchat",
        json!({"allowed_origins": [ORIGIN], "max_attachment_bytes": 2048}),
        json!({"widget_secret": SECRET}),
    )
    .await;
    let mut s = open(&app, &id, Some(ORIGIN)).await.expect("open");
    send(&mut s, json!({"type": "hello"})).await;
    let welcome = next(&mut s).await;
    let token = welcome["upload_token"]
        .as_str()
        .expect("upload token")
        .to_owned();
    let visitor = welcome["visitor"].as_str().expect("visitor").to_owned();

    // The browser's preflight is answered for allowed pages only.
    let pre = app
        .http
        .request(
            reqwest::Method::OPTIONS,
            app.url(&format!("/chat/{id}/files")),
        )
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("preflight");
    assert_eq!(pre.status(), StatusCode::NO_CONTENT);
    let allowed = |n: &str| {
        pre.headers()
            .get(n)
            .map(|v| v.to_str().unwrap_or("").to_owned())
            .unwrap_or_default()
    };
    assert_eq!(allowed("access-control-allow-origin"), ORIGIN);
    assert!(allowed("access-control-allow-headers").contains("authorization"));

    // Refusals, each with its reason (readable by the page: CORS headers on errors too).
    let before = stored_files(&app).await;
    let cases = [
        (ORIGIN, None, "image/png", png(100), 401, "bad_upload_token"),
        (
            ORIGIN,
            Some("u1.eA.99999999999.AAAA"),
            "image/png",
            png(100),
            401,
            "bad_upload_token",
        ),
        (
            "https://evil.example",
            Some(token.as_str()),
            "image/png",
            png(100),
            403,
            "origin_not_allowed",
        ),
        (
            ORIGIN,
            Some(token.as_str()),
            "image/png",
            png(3000),
            413,
            "file_too_large",
        ),
        (
            ORIGIN,
            Some(token.as_str()),
            "image/svg+xml",
            b"<svg onload=alert(1)/>".to_vec(),
            415,
            "unsupported_type",
        ),
        (
            ORIGIN,
            Some(token.as_str()),
            "image/png",
            b"<script>alert(1)</script>".to_vec(),
            415,
            "content_mismatch",
        ),
        (
            ORIGIN,
            Some(token.as_str()),
            "text/plain",
            Vec::new(),
            400,
            "empty_file",
        ),
    ];
    for (origin, tok, ctype, body, status, code) in cases {
        let r = upload(&app, &id, origin, tok, ctype, body).await;
        assert_eq!(
            (r.status, r.json["code"].as_str()),
            (status, Some(code)),
            "{code}: {}",
            r.json
        );
        if status != 403 {
            assert_eq!(r.allow_origin.as_deref(), Some(ORIGIN), "{code}");
        }
    }
    assert_eq!(stored_files(&app).await, before, "no refusal stored a file");
    // A token from another channel's secret names nobody here.
    let other = connect(
        &app,
        "webchat",
        json!({"allowed_origins": [ORIGIN]}),
        json!({"widget_secret": "another-secret-of-32-characters!"}),
    )
    .await;
    let r = upload(&app, &other, ORIGIN, Some(&token), "image/png", png(100)).await;
    assert_eq!(r.status, 401);

    // A real picture: stored under a safe name.
    let bytes = png(1500);
    let r = upload(&app, &id, ORIGIN, Some(&token), "image/png", bytes.clone()).await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.allow_origin.as_deref(), Some(ORIGIN));
    let file_id = r.json["id"].as_str().expect("file id").to_owned();
    assert_eq!(
        (
            r.json["name"].as_str(),
            r.json["mime_type"].as_str(),
            r.json["size"].as_u64()
        ),
        (Some("receipt.png"), Some("image/png"), Some(1500))
    );

    // Sent with a message (text optional); the visitor sees it come back with its file.
    send(
        &mut s,
        json!({"type": "message", "client_id": "f-1", "text": "", "attachments": [file_id]}),
    )
    .await;
    let (ack, _) = until(&mut s, "ack").await;
    assert_eq!(ack["status"], "stored");
    let (m, _) = until(&mut s, "message").await;
    assert_eq!(
        m["attachments"],
        json!([{"id": file_id, "name": "receipt.png", "mime_type": "image/png"}])
    );

    // Nobody else can send that file, and ids must be real uploads, at most five.
    let mut stranger = open(&app, &id, Some(ORIGIN)).await.expect("open");
    send(&mut stranger, json!({"type": "hello"})).await;
    until(&mut stranger, "welcome").await;
    for attachments in [
        json!([file_id]),
        json!(["0190a4d0-0000-4000-8000-000000000000"]),
        json!(["not-a-uuid"]),
        json!([1]),
        json!(vec![file_id.clone(); 6]),
        json!("one"),
    ] {
        send(
            &mut stranger,
            json!({"type": "message", "client_id": "x-1", "text": "mine", "attachments": attachments}),
        )
        .await;
        let (err, _) = until(&mut stranger, "error").await;
        assert_eq!(err["code"], "bad_message", "{attachments}: {err}");
    }

    // The agent sees the file on the case and downloads it, sandboxed.
    let case = app.wait_for_message(&format!("{visitor}:f-1")).await;
    let msg = case["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .find(|m| m["external_id"] == format!("{visitor}:f-1"))
        .expect("the message")
        .clone();
    let url = format!("/api/v1/chat-files/{file_id}");
    assert_eq!(
        msg["attachments"],
        json!([{"kind": "image", "url": url, "provider_id": file_id, "mime_type": "image/png", "name": "receipt.png"}])
    );
    assert!(
        case["messages"].as_array().expect("messages").len() == 1,
        "the stranger's refused messages were not stored"
    );
    let got = app
        .http
        .get(app.url(&url))
        .bearer_auth(&app.agent)
        .send()
        .await
        .expect("download");
    assert_eq!(got.status(), StatusCode::OK);
    let h = |n: &str| got.headers()[n].to_str().expect("header").to_owned();
    assert_eq!(h("content-type"), "image/png");
    assert_eq!(h("x-content-type-options"), "nosniff");
    assert_eq!(h("content-security-policy"), "sandbox");
    assert!(h("content-disposition").starts_with("inline; filename*=UTF-8''receipt%2Epng"));
    assert_eq!(got.bytes().await.expect("bytes").to_vec(), bytes);
    let anonymous = app.http.get(app.url(&url)).send().await.expect("get");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    app.get(
        "/api/v1/chat-files/0190a4d0-0000-4000-8000-000000000000",
        &app.agent,
    )
    .await
    .assert_problem(404, "not_found");
    app.get("/api/v1/chat-files/nope", &app.agent)
        .await
        .assert_problem(404, "not_found");
}

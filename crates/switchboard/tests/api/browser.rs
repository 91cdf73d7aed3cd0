//! The chat widget in a real headless Chromium: a shop's page embeds it with one script tag,
//! a visitor chats, an agent answers through the API, the connection drops and comes back,
//! the page is reloaded; nothing is lost or doubled. Screenshots go to
//! `target/tmp/widget-screenshots/`. Skipped, with the reason, without Chromium, chromedriver
//! or Selenium (`.ci/run` installs them).

use crate::helpers::*;
use crate::social::connect;
use reqwest::StatusCode;
use serde_json::json;
use std::io::BufRead;

pub fn available() -> Result<(), String> {
    for bin in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
        if !std::path::Path::new(bin).exists() {
            return Err(format!(
                "{bin} is missing (apt-get install chromium chromium-driver)"
            ));
        }
    }
    let selenium = std::process::Command::new("python3")
        .args(["-c", "import selenium"])
        .status()
        .map_err(|e| e.to_string())?;
    if !selenium.success() {
        return Err("Selenium is missing (pip install selenium)".into());
    }
    Ok(())
}

/// A shop's page on its own origin, embedding the widget from the Switchboard server.
async fn shop_page(switchboard: &str, channel: &str) -> String {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Shop</title></head>\
         <body><h1>The Shop</h1><p>Jackets and more.</p>\
         <script src=\"{switchboard}/widget.js\" data-channel=\"{channel}\" data-lang=\"en\" async></script>\
         </body></html>"
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let html = html.clone();
            async move { axum::response::Html(html) }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    origin
}

/// Runs a browser script on the page; its output lines arrive on the receiver.
pub fn run_script(
    name: &str,
    page: &str,
    shots: &str,
    extra: &[&str],
) -> (
    std::process::Child,
    tokio::sync::mpsc::UnboundedReceiver<String>,
) {
    let script = format!("{}/tests/browser/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut child = std::process::Command::new("python3")
        .args([script.as_str(), page, shots])
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    // The script's errors go to the test's own output as they come, so a failing test shows
    // the traceback even when it gives up waiting before the script ends.
    let stderr = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            eprintln!("browser: {line}");
        }
    });
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    (child, rx)
}

/// A browser script's output, read line by line up to a marker.
pub struct Lines {
    rx: tokio::sync::mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
    timeout: std::time::Duration,
}

impl Lines {
    pub fn new(rx: tokio::sync::mpsc::UnboundedReceiver<String>, timeout_secs: u64) -> Lines {
        Lines {
            rx,
            seen: Vec::new(),
            timeout: std::time::Duration::from_secs(timeout_secs),
        }
    }

    /// The next line starting with `marker`; panics, with every line so far, when the script
    /// ends or is silent too long first.
    pub async fn expect(&mut self, marker: &str) -> String {
        loop {
            let line = tokio::time::timeout(self.timeout, self.rx.recv())
                .await
                .unwrap_or_else(|_| panic!("no {marker} from the browser; got {:?}", self.seen))
                .unwrap_or_else(|| {
                    panic!(
                        "the browser script ended before {marker}; got {:?}",
                        self.seen
                    )
                });
            self.seen.push(line.clone());
            if line.starts_with(marker) {
                return line;
            }
        }
    }
}

/// Where the screenshots go.
fn screenshot_dir() -> String {
    shots_dir("widget-screenshots")
}

/// A directory for a browser test's screenshots, under the target directory.
pub fn shots_dir(name: &str) -> String {
    let shots = format!("{}/{name}", env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    shots
}

#[tokio::test]
async fn the_widget_chats_in_chromium_across_a_dropped_connection_and_a_reload() {
    if let Err(why) = available() {
        eprintln!("skipped: {why}");
        return;
    }
    let app = spawn_app().await;
    // The channel is made first with no site, then the page's origin is allowed.
    let id = connect(
        &app,
        "webchat",
        json!({"greeting": "Hi! Ask us anything.", "color": "#0a7d4f"}),
        json!({"widget_secret": "a-widget-secret-of-32-characters"}),
    )
    .await;
    let origin = shop_page(&app.address, &id).await;
    let allowed = app
        .patch(
            &format!("/api/v1/channels/{id}"),
            &app.admin,
            &json!({"config": {"allowed_origins": [origin]}}),
        )
        .await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.text);
    let js = app
        .http
        .get(app.url("/widget.js"))
        .send()
        .await
        .expect("get");
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("application/javascript")
    );
    let size = js.bytes().await.expect("body").len();
    assert!(size < 32 * 1024, "the widget is small: {size} bytes");

    let shots = screenshot_dir();
    let (mut child, rx) = run_script("chat_widget.py", &format!("{origin}/"), &shots, &[]);
    let mut lines = Lines::new(rx, 60);
    let mut expect = async |marker: &str| lines.expect(marker).await;

    assert_eq!(expect("LABEL").await, "LABEL Open chat");
    assert_eq!(expect("OPEN").await, "OPEN Hi! Ask us anything.");
    expect("SENT1").await;
    let case = wait_for("the visitor's message on a case", || async {
        app.all_cases().await.into_iter().next()
    })
    .await;
    let case_id = case["id"].as_str().expect("id").to_owned();
    let reply = |text: &'static str| {
        let app = &app;
        let path = format!("/api/v1/cases/{case_id}/replies");
        async move {
            let r = app.post(&path, &app.agent, &json!({"text": text})).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        }
    };
    reply("Yes, size M is in stock.").await;
    expect("REPLY1").await;
    expect("SENT2").await;
    reply("Held until Friday.").await;
    expect("REPLY2").await;
    let history = expect("HISTORY").await;
    let texts: Vec<String> =
        serde_json::from_str(history.trim_start_matches("HISTORY ")).expect("json");
    assert_eq!(
        texts,
        [
            "Hi, is the blue jacket in stock?",
            "Yes, size M is in stock.",
            "Can you hold one for me?",
            "Held until Friday."
        ],
        "every message once, in order, after a dropped connection and a reload"
    );
    let status = child.wait().expect("wait");
    assert!(
        status.success(),
        "the browser script failed (its output is above)"
    );
    for shot in ["1-closed.png", "2-answered.png", "3-after-reload.png"] {
        assert!(
            std::path::Path::new(&format!("{shots}/{shot}")).exists(),
            "{shot}"
        );
    }
    // The case holds the same four messages.
    let detail = app.case(&case_id).await;
    assert_eq!(
        detail["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .filter(|m| m["direction"] != "note")
            .count(),
        4
    );
}

#[tokio::test]
async fn the_widget_asks_name_and_email_first_and_shows_the_agent_typing() {
    if let Err(why) = available() {
        eprintln!("skipped: {why}");
        return;
    }
    let app = spawn_app().await;
    let id = connect(
        &app,
        "webchat",
        json!({"greeting": "Welcome to the Shop", "prechat": "required"}),
        json!({"widget_secret": "a-widget-secret-of-32-characters"}),
    )
    .await;
    let origin = shop_page(&app.address, &id).await;
    let allowed = app
        .patch(
            &format!("/api/v1/channels/{id}"),
            &app.admin,
            &json!({"config": {"allowed_origins": [origin], "prechat": "required", "greeting": "Welcome to the Shop"}}),
        )
        .await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.text);
    let shots = screenshot_dir();
    let (mut child, mut rx) = run_script("chat_prechat.py", &format!("{origin}/"), &shots, &[]);
    let mut next = async || {
        tokio::time::timeout(std::time::Duration::from_secs(60), rx.recv())
            .await
            .expect("a line from the browser within a minute")
    };
    let first = next().await;
    if first.is_none() {
        let status = child.wait().expect("wait");
        panic!("the browser script ended ({status}; its output is above)");
    }
    assert_eq!(first.as_deref(), Some("BLOCKED"));
    assert_eq!(next().await.as_deref(), Some("SENT"));
    let case = wait_for("the visitor's message on a case", || async {
        app.all_cases().await.into_iter().next()
    })
    .await;
    let contact = app
        .get(
            &format!(
                "/api/v1/contacts/{}",
                case["contact_id"].as_str().expect("contact")
            ),
            &app.admin,
        )
        .await;
    assert_eq!(contact.json["display_name"], "Bo Chen");
    assert_eq!(contact.json["identities"][0]["handle"], "bo@example.com");
    let typing = app
        .post(
            &format!("/api/v1/cases/{}/typing", case["id"].as_str().expect("id")),
            &app.agent,
            &json!({}),
        )
        .await;
    assert_eq!(typing.status, StatusCode::NO_CONTENT);
    assert_eq!(
        next().await.as_deref(),
        Some("TYPING test agent is typing…")
    );
    let status = child.wait().expect("wait");
    assert!(
        status.success(),
        "the browser script failed (its output is above)"
    );
}

#[tokio::test]
async fn the_widget_says_when_the_team_is_back_sends_a_file_and_takes_an_address() {
    if let Err(why) = available() {
        eprintln!("skipped: {why}");
        return;
    }
    let app = spawn_app().await;
    let mail = connect(
        &app,
        "email",
        json!({"address": "help@acme.example"}),
        json!({}),
    )
    .await;
    let id = connect(
        &app,
        "webchat",
        json!({}),
        json!({"widget_secret": "a-widget-secret-of-32-characters"}),
    )
    .await;
    let origin = shop_page(&app.address, &id).await;
    // Open tomorrow only (UTC): closed now.
    let tomorrow = time::OffsetDateTime::now_utc()
        .date()
        .next_day()
        .expect("tomorrow");
    let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        [tomorrow.weekday().number_days_from_monday() as usize];
    let allowed = app
        .patch(
            &format!("/api/v1/channels/{id}"),
            &app.admin,
            &json!({"config": {"allowed_origins": [origin], "color": "#8a3ffc",
                               "hours": {"timezone": "UTC", day: "09:00-17:00"},
                               "email_channel_id": mail, "offline_after_minutes": 0}}),
        )
        .await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.text);
    let dir = tempfile::tempdir().expect("tempdir");
    let picture = dir.path().join("receipt.png");
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.resize(600, 1);
    std::fs::write(&picture, &png).expect("write");
    let shots = screenshot_dir();
    let (mut child, mut rx) = run_script(
        "chat_away.py",
        &format!("{origin}/"),
        &shots,
        &[picture.to_str().expect("path")],
    );
    let mut next = async || {
        tokio::time::timeout(std::time::Duration::from_secs(60), rx.recv())
            .await
            .expect("a line from the browser within a minute")
    };
    let Some(away) = next().await else {
        let status = child.wait().expect("wait");
        panic!("the browser script ended ({status}; its output is above)");
    };
    assert!(
        away.starts_with("AWAY We're away right now. We'll answer from ")
            && away.contains("09:00")
            && away.ends_with("Leave your e-mail and we'll answer by e-mail."),
        "{away}"
    );
    assert_eq!(next().await.as_deref(), Some("FILE receipt.png"));
    let case = wait_for("the visitor's message on a case", || async {
        app.all_cases().await.into_iter().next()
    })
    .await;
    let case = app.case(case["id"].as_str().expect("id")).await;
    let msg = &case["messages"][0];
    assert_eq!(msg["text"], "Here is my receipt");
    assert_eq!(msg["attachments"][0]["name"], "receipt.png");
    let file = app
        .http
        .get(app.url(msg["attachments"][0]["url"].as_str().expect("url")))
        .bearer_auth(&app.agent)
        .send()
        .await
        .expect("download");
    assert_eq!(file.bytes().await.expect("bytes").to_vec(), png);
    let followup = next().await.unwrap_or_default();
    assert!(
        followup.starts_with("FOLLOWUP We're away right now.")
            && followup.ends_with("We'll answer ann@example.com by e-mail if you have left."),
        "{followup}"
    );
    let status = child.wait().expect("wait");
    assert!(
        status.success(),
        "the browser script failed (its output is above)"
    );
}

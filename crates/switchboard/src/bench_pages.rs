//! `switchboard bench pages`: the browser workspace's pages with a large store (issue 8: inbox
//! and case pages rendered in under 50 ms with 100,000 cases; live updates on the page within
//! 100 ms of the event).
//!
//! It fills a new store with N cases (the same generated data as `bench kpis`), starts the
//! server on it in this process with the real pages, logs in an admin over HTTP, and times
//! each page as a browser would ask for it (over loopback, so the figure includes HTTP). Then,
//! with a browser's live stream open (`/api/v1/stream`, the page's own source of updates), it
//! posts signed webhook messages and times each from the POST to its `message.created` event on
//! the stream: what the inbox's script waits for before it redraws.

use crate::bench_kpis;
use anyhow::{Context, bail};
use hdrhistogram::Histogram;
use std::time::{Duration, Instant};
use switchboard_core::{Name, Role, Timestamp, Username};
use switchboard_server::ServerConfig;
use switchboard_store::{Actor, Location, NewUser, Store};

const PASSWORD: &str = "bench-pages-password";

/// The path of a page's i-th request.
type PathOf = Box<dyn Fn(usize) -> String>;

pub struct Options {
    pub cases: usize,
    pub data_dir: std::path::PathBuf,
    pub requests: usize,
    pub live: usize,
}

fn histogram() -> anyhow::Result<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, 60_000_000, 3)?)
}

fn summary(h: &Histogram<u64>) -> serde_json::Value {
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    serde_json::json!({"count": h.len(), "p50_ms": ms(0.5), "p95_ms": ms(0.95), "p99_ms": ms(0.99), "max_ms": h.max() as f64 / 1000.0})
}

pub async fn run(o: Options) -> anyhow::Result<()> {
    let db = o.data_dir.join("switchboard.db");
    if db.exists() {
        bail!(
            "{} already holds a workspace; the bench needs a new one",
            o.data_dir.display()
        );
    }
    std::fs::create_dir_all(&o.data_dir)?;
    let location = Location::Sqlite(db);
    let store = Store::open(&location)?;
    store.migrate().await?;
    let now = Timestamp::from_offset_datetime(time::OffsetDateTime::now_utc());
    let started = Instant::now();
    bench_kpis::fill(&location, o.cases, now).await?;
    eprintln!(
        "filled {} cases in {:.1} s",
        o.cases,
        started.elapsed().as_secs_f64()
    );
    let hash = crate::hash(PASSWORD).await?;
    store
        .create_user(
            NewUser {
                username: Username::parse("bench-admin").map_err(|e| anyhow::anyhow!(e))?,
                display_name: Name::parse("Bench Admin").map_err(|e| anyhow::anyhow!(e))?,
                role: Role::Admin,
                password_hash: Some(hash),
            },
            Actor::System,
            now,
        )
        .await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let secrets = switchboard_server::crypto::SecretBox::load_or_create(&o.data_dir, None)?;
    let config = ServerConfig {
        public_url: base.clone(),
        ..ServerConfig::default()
    };
    let state = switchboard_server::start(store.clone(), secrets, config).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(switchboard_server::serve_with(
        listener,
        state,
        switchboard_web::routes(),
        async move {
            let _ = stopped.await;
        },
    ));

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let login = http
        .post(format!("{base}/api/v1/login"))
        .json(&serde_json::json!({"username": "bench-admin", "password": PASSWORD}))
        .send()
        .await?
        .error_for_status()
        .context("log in")?;
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("no session cookie")?
        .to_owned();
    let csrf = login.json::<serde_json::Value>().await?["csrf_token"]
        .as_str()
        .context("no CSRF token")?
        .to_owned();

    // Case ids to open: spread over the store.
    let cases = store
        .list_cases(Default::default(), None, 200)
        .await?
        .items
        .into_iter()
        .map(|c| c.id.to_string())
        .collect::<Vec<_>>();
    let pages: Vec<(&str, PathOf)> = vec![
        (
            "inbox (all active)",
            Box::new(|_| "/inbox?queue=active".into()),
        ),
        (
            "inbox (unassigned)",
            Box::new(|_| "/inbox?queue=unassigned".into()),
        ),
        ("inbox (resolved)", Box::new(|_| "/inbox?queue=done".into())),
        (
            "inbox (a purpose)",
            Box::new(|_| "/inbox?queue=active&purpose=sales".into()),
        ),
        (
            "case",
            Box::new(move |i| format!("/cases/{}", cases[i % cases.len().max(1)])),
        ),
        ("supervisor", Box::new(|_| "/supervisor".into())),
        (
            "supervisor, the last 14 days' KPI charts (loaded after the page)",
            Box::new(|_| "/supervisor?part=days".into()),
        ),
    ];
    let mut results = serde_json::Map::new();
    for (name, path) in &pages {
        let mut h = histogram()?;
        for i in 0..o.requests {
            let t = Instant::now();
            let r = http
                .get(format!("{base}{}", path(i)))
                .header("cookie", &cookie)
                .send()
                .await?;
            let status = r.status();
            let body = r.bytes().await?;
            if !status.is_success() {
                bail!(
                    "{name}: {status}: {}",
                    String::from_utf8_lossy(&body[..body.len().min(300)])
                );
            }
            h.record(t.elapsed().as_micros() as u64)?;
        }
        results.insert((*name).to_owned(), summary(&h));
    }

    // Live updates: a webhook channel, the live stream open, then messages one at a time.
    let channel: serde_json::Value = http
        .post(format!("{base}/api/v1/channels"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"kind": "webhook", "name": "bench live", "outbound_url": "http://127.0.0.1:9/"}))
        .send()
        .await?
        .error_for_status()
        .context("connect a webhook channel")?
        .json()
        .await?;
    let (channel_id, secret) = (
        channel["id"].as_str().context("channel id")?.to_owned(),
        channel["secret"]
            .as_str()
            .context("channel secret")?
            .to_owned(),
    );
    let mut stream = http
        .get(format!("{base}/api/v1/stream"))
        .header("cookie", &cookie)
        .send()
        .await?
        .error_for_status()?;
    let mut live = histogram()?;
    let mut buffer = String::new();
    for i in 0..o.live {
        let external = format!("live-{i}-{}", uuid::Uuid::new_v4().simple());
        let message = serde_json::json!({
            "id": external, "conversation": format!("bench-live-{i}"),
            "from": {"id": format!("visitor-{i}"), "name": "Visitor"}, "text": "is anyone there?",
        })
        .to_string();
        let signature = switchboard_channels::webhook::sign(secret.as_bytes(), message.as_bytes());
        let t = Instant::now();
        http.post(format!("{base}/hooks/webhook/{channel_id}"))
            .header("content-type", "application/json")
            .header("x-switchboard-signature", signature)
            .body(message)
            .send()
            .await?
            .error_for_status()?;
        // Read the stream until this message's event.
        let deadline = t + Duration::from_secs(10);
        loop {
            // Whole events only (an event ends with a blank line): the message's own.
            let done = buffer.rsplit_once("\n\n").is_some_and(|(events, _)| {
                events.split("\n\n").any(|e| {
                    e.lines().any(|l| l == "event: message.created") && e.contains(&external)
                })
            });
            if done {
                break;
            }
            let chunk = tokio::time::timeout_at(deadline.into(), stream.chunk())
                .await
                .context("no live event within 10 s")??
                .context("the stream ended")?;
            buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
        live.record(t.elapsed().as_micros() as u64)?;
        buffer.clear();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    results.insert(
        "live update (webhook POST to the event on the page's stream)".into(),
        summary(&live),
    );
    let out =
        serde_json::json!({"cases": o.cases, "requests_per_page": o.requests, "pages": results});
    println!("{}", serde_json::to_string_pretty(&out)?);
    let _ = stop.send(());
    let _ = server.await;
    Ok(())
}

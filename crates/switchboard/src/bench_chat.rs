//! `switchboard bench chat`: a load generator for a running server's web chat. It connects a
//! fresh web chat channel, opens many idle widget connections (each says hello and is
//! welcomed, as a browser would) and reads the server's memory before and after; then, with
//! those connections still open, active visitors write while an agent's live stream
//! (`/api/v1/stream`) listens, and each message's round trip — visitor's send to the agent's
//! stream showing it — is recorded.

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::{Message as Frame, client::IntoClientRequest};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const ORIGIN: &str = "https://bench.switchboard.invalid";

pub struct ChatBench {
    pub url: String,
    pub token: String,
    pub idle: usize,
    pub visitors: usize,
    pub messages: usize,
    pub server_pid: Option<u32>,
}

/// Resident and peak memory of a process, in KiB (`/proc/<pid>/status`).
fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

async fn open(ws_url: &str) -> anyhow::Result<Socket> {
    let mut req = ws_url.into_client_request()?;
    req.headers_mut().insert("origin", ORIGIN.parse()?);
    let (mut s, _) = tokio_tungstenite::connect_async(req).await?;
    s.send(Frame::Text(r#"{"type":"hello"}"#.into())).await?;
    loop {
        match tokio::time::timeout(Duration::from_secs(30), s.next()).await {
            Ok(Some(Ok(Frame::Text(t)))) if t.contains("\"welcome\"") => return Ok(s),
            Ok(Some(Ok(_))) => continue,
            other => bail!("no welcome: {other:?}"),
        }
    }
}

pub async fn run(b: ChatBench) -> anyhow::Result<()> {
    let url = b.url.trim_end_matches('/').to_owned();
    let client = reqwest::Client::new();
    let created: serde_json::Value = client
        .post(format!("{url}/api/v1/channels"))
        .bearer_auth(&b.token)
        .json(&serde_json::json!({
            "kind": "webchat", "name": format!("bench chat {}", uuid::Uuid::now_v7()),
            "config": {"allowed_origins": [ORIGIN]},
            "credentials": {"widget_secret": uuid::Uuid::new_v4().simple().to_string()},
        }))
        .send()
        .await?
        .error_for_status()
        .context("cannot create the bench channel (is the token an admin token?)")?
        .json()
        .await?;
    let channel = created["id"].as_str().context("no channel id")?.to_owned();
    let ws_url = format!("{}/chat/{channel}", url.replacen("http", "ws", 1));

    // Idle connections, opened 200 at a time.
    let before = b.server_pid.and_then(memory_kib);
    let started = Instant::now();
    let mut idle = Vec::with_capacity(b.idle);
    let mut opening =
        futures_util::stream::iter((0..b.idle).map(|_| open(&ws_url))).buffer_unordered(200);
    while let Some(s) = opening.next().await {
        idle.push(s.context("opening an idle chat")?);
    }
    let opened_in = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = b.server_pid.and_then(memory_kib);
    println!(
        "idle connections: {} opened in {:.1} s ({:.0}/s)",
        idle.len(),
        opened_in.as_secs_f64(),
        idle.len() as f64 / opened_in.as_secs_f64()
    );
    if let (Some((rss0, _)), Some((rss1, hwm))) = (before, after) {
        println!(
            "server memory: {:.1} MiB before, {:.1} MiB with them open (+{:.1} MiB, {:.1} KiB per connection; peak {:.1} MiB)",
            rss0 as f64 / 1024.0,
            rss1 as f64 / 1024.0,
            (rss1 as f64 - rss0 as f64) / 1024.0,
            (rss1 as f64 - rss0 as f64) / idle.len().max(1) as f64,
            hwm as f64 / 1024.0
        );
    }
    // The idle sockets must keep reading (pings, pushes); a task drains them.
    let drain = tokio::spawn(async move {
        let mut all = futures_util::stream::select_all(idle);
        while all.next().await.is_some() {}
    });

    // The agent's live stream.
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let hist: Arc<Mutex<Histogram<u64>>> =
        Arc::new(Mutex::new(Histogram::new_with_max(60_000_000, 3)?));
    let stream = client
        .get(format!("{url}/api/v1/stream"))
        .bearer_auth(&b.token)
        .send()
        .await?
        .error_for_status()
        .context("cannot open the live stream")?;
    let (sent2, hist2) = (sent.clone(), hist.clone());
    let total = b.messages;
    let listener = tokio::spawn(async move {
        let mut stream = stream;
        let mut buf = String::new();
        let mut seen = 0usize;
        while let Ok(Some(chunk)) = stream.chunk().await {
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                if !block.contains("event: message.created") {
                    continue;
                }
                let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) else {
                    continue;
                };
                let Ok(v) = serde_json::from_str::<serde_json::Value>(data) else {
                    continue;
                };
                let Some(ext) = v["data"]["message"]["external_id"].as_str() else {
                    continue;
                };
                let client_id = ext.rsplit(':').next().unwrap_or("");
                let at = sent2.lock().ok().and_then(|mut m| m.remove(client_id));
                if let (Some(at), Ok(mut h)) = (at, hist2.lock()) {
                    let _ = h.record(at.elapsed().as_micros() as u64);
                    seen += 1;
                    if seen == total {
                        return;
                    }
                }
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Active visitors: four messages a second each (the chat allows five).
    let per = b.messages.div_ceil(b.visitors.max(1));
    let run = uuid::Uuid::now_v7().simple().to_string();
    let started = Instant::now();
    let mut writers = Vec::new();
    let visitors = b.visitors.max(1);
    for v in 0..b.visitors {
        let (ws_url, sent, run) = (ws_url.clone(), sent.clone(), run.clone());
        let n = per.min(b.messages.saturating_sub(v * per));
        writers.push(tokio::spawn(async move {
            let mut s = open(&ws_url).await?;
            // Spread over the quarter second, as independent visitors would be.
            tokio::time::sleep(Duration::from_micros((v as u64 * 250_000) / visitors as u64)).await;
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            for i in 0..n {
                tick.tick().await;
                let client_id = format!("{run}-{v}-{i}");
                let frame = serde_json::json!({"type": "message", "client_id": client_id, "text": format!("bench message {i} from visitor {v}")});
                if let Ok(mut m) = sent.lock() {
                    m.insert(client_id, Instant::now());
                }
                s.send(Frame::Text(frame.to_string().into())).await?;
                // Read what came back (the ack, the message itself) without waiting on it.
                while let Ok(Some(_)) =
                    tokio::time::timeout(Duration::from_millis(1), s.next()).await
                {}
            }
            // Stay until the server has shown the last ones.
            let _ = tokio::time::timeout(Duration::from_secs(5), async {
                while s.next().await.is_some() {}
            })
            .await;
            anyhow::Ok(())
        }));
    }
    let deadline = Duration::from_secs(120 + (per as u64) / 2);
    let waited = tokio::time::timeout(deadline, listener).await;
    let elapsed = started.elapsed();
    for w in writers {
        w.abort();
    }
    drain.abort();
    let h = hist
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    println!(
        "round trip visitor -> agent stream: {} of {} messages in {:.1} s ({:.0} msg/s){}",
        h.len(),
        b.messages,
        elapsed.as_secs_f64(),
        h.len() as f64 / elapsed.as_secs_f64(),
        if waited.is_err() {
            " — timed out"
        } else {
            ""
        }
    );
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        ms(0.5),
        ms(0.9),
        ms(0.99),
        h.max() as f64 / 1000.0
    );
    if let Some((rss, hwm)) = b.server_pid.and_then(memory_kib) {
        println!(
            "server memory at the end: {:.1} MiB (peak {:.1} MiB)",
            rss as f64 / 1024.0,
            hwm as f64 / 1024.0
        );
    }
    let _ = client
        .patch(format!("{url}/api/v1/channels/{channel}"))
        .bearer_auth(&b.token)
        .json(&serde_json::json!({"active": false}))
        .send()
        .await;
    Ok(())
}

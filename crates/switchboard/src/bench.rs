//! `switchboard bench ingest`: a load generator for a running server. It connects a fresh
//! webhook channel, signs distinct messages ahead of time, sends them over many keep-alive
//! connections, records each acknowledgement's latency, and then waits until the server has
//! fully processed every message (durable, threaded, on a case), read from `/metrics`.
//!
//! `switchboard bench chat`: web chat connections held and message round trips (see
//! `bench_chat.rs`).
//!
//! `switchboard bench simulate`: playbook simulation over a large SQLite store it builds
//! itself (see `bench_simulate.rs`).
//!
//! `switchboard bench search`: message search over a large store (see `bench_search.rs`).

use anyhow::{Context, bail};
use clap::Subcommand;
use hdrhistogram::Histogram;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use switchboard_channels::webhook;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Send signed webhook messages and report events/s processed end to end and ack latency.
    Ingest {
        /// The server's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// An admin API token (to connect the bench channel).
        #[arg(long, env = "SWITCHBOARD_TOKEN", hide_env_values = true)]
        token: String,
        /// Messages to send.
        #[arg(long, default_value_t = 50_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
        messages: u64,
        /// Concurrent connections.
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=4096))]
        connections: u64,
        /// Messages per conversation (1 = every message opens its own case).
        #[arg(long, default_value_t = 5)]
        per_conversation: usize,
        /// Send the same load to this URL instead (e.g. nginx answering a constant 200) and
        /// report only acknowledgements: the machine's ceiling, measured the same way.
        #[arg(long)]
        baseline: Option<String>,
    },
    /// Open many idle web chat connections and report the server's memory for them; then
    /// time messages from visitors to an agent's live stream.
    Chat {
        /// The server's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// An admin API token (to connect the bench channel and read the live stream).
        #[arg(long, env = "SWITCHBOARD_TOKEN", hide_env_values = true)]
        token: String,
        /// Idle widget connections held open throughout.
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(0..=100_000))]
        idle: u64,
        /// Visitors writing (four messages a second each).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        visitors: u64,
        /// Messages in all.
        #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        messages: u64,
        /// The server's process id, to read its memory from /proc.
        #[arg(long)]
        server_pid: Option<u32>,
    },
    /// Fill (or reuse) an SQLite store with N messages on cases over the last 30 days and time
    /// playbook simulation over all of it: a 1-rule floor, the 3-rule example, and an R-rule
    /// playbook with and without its open-cases rule.
    Simulate {
        /// Customer messages in the store.
        #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
        messages: u64,
        /// Messages per case (the first opens the case, the others attach to it).
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=1000))]
        messages_per_case: u64,
        /// Rules in the generated playbook (the last is a catch-all).
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=5000))]
        rules: u64,
        /// Where to keep the database (reused by later runs with the same sizes). Default:
        /// $CARGO_TARGET_DIR/bench-simulate, else target/bench-simulate.
        #[arg(long)]
        data_dir: Option<std::path::PathBuf>,
        /// Rounds over the playbooks (the first round may read a colder cache).
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=20))]
        runs: u64,
    },
    /// Fill (or reuse) an SQLite store with N messages whose words follow a real corpus, start
    /// the server on it, and time searches over HTTP and how soon a new message is found.
    Search {
        /// Messages in the store.
        #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
        messages: u64,
        /// Searches to time.
        #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        queries: u64,
        /// Where to keep the database (reused by later runs of the same size). Default:
        /// $CARGO_TARGET_DIR/bench-search, else target/bench-search.
        #[arg(long)]
        data_dir: Option<std::path::PathBuf>,
        /// A CSV with a `text` column whose word frequencies the messages follow.
        #[arg(long, default_value = "../shared/data/twcs/twcs_head5000.csv")]
        corpus: std::path::PathBuf,
    },
    /// Fill (or reuse) a store with N cases over a year, then time the KPI report against the
    /// equivalent hand-written SQL aggregate on the same database.
    Kpis {
        /// Cases in the store.
        #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=50_000_000))]
        cases: u64,
        /// Where to keep the SQLite database (reused by later runs of the same size). Default:
        /// $CARGO_TARGET_DIR/bench-kpis, else target/bench-kpis.
        #[arg(long)]
        data_dir: Option<std::path::PathBuf>,
        /// A PostgreSQL database to fill and measure instead (it must be new or a bench's).
        #[arg(long)]
        database: Option<String>,
        /// Timed runs of each (the median is reported).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=50))]
        runs: u64,
    },
    /// Fill a new store with N cases, serve it with the real pages, and time the inbox, case
    /// and supervisor pages as a logged-in browser asks for them, then live updates: a
    /// webhook's POST to its event on the page's live stream.
    Pages {
        /// Cases in the store.
        #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
        cases: u64,
        /// Requests per page.
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        requests: u64,
        /// Live messages to time.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        live: u64,
        /// Where to put the new store (it must not hold one). Default: a new temporary
        /// directory, removed after.
        #[arg(long)]
        data_dir: Option<std::path::PathBuf>,
    },
    /// Start a fresh demo workspace, send it the demo traffic's mix with every general
    /// question labelled by the article that answers it (or none), and report how many
    /// cases were answered automatically and how many of those answers were wrong.
    Deflection(DeflectionArgs),
}

#[derive(clap::Args)]
pub struct DeflectionArgs {
    /// Messages to send (each from a new person, so each opens a case).
    #[arg(long, default_value_t = 400, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub messages: u64,
    /// Replace the demo playbook's auto_answer threshold (0 to 1).
    #[arg(long)]
    pub min_confidence: Option<f64>,
    /// The traffic's random seed (the same seed sends the same messages).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Keep the workspace here (it must be new); default: a temporary directory, removed after.
    #[arg(long)]
    pub data_dir: Option<std::path::PathBuf>,
}

pub async fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Deflection(_) => bail!("bench deflection is run by main"),
        BenchCommand::Pages {
            cases,
            requests,
            live,
            data_dir,
        } => {
            let temporary = data_dir.is_none();
            let dir = data_dir.unwrap_or_else(|| {
                std::env::temp_dir().join(format!("switchboard-pages-{}", uuid::Uuid::now_v7()))
            });
            let result = crate::bench_pages::run(crate::bench_pages::Options {
                cases: cases as usize,
                data_dir: dir.clone(),
                requests: requests as usize,
                live: live as usize,
            })
            .await;
            if temporary {
                let _ = std::fs::remove_dir_all(&dir);
            }
            result
        }
        BenchCommand::Kpis {
            cases,
            data_dir,
            database,
            runs,
        } => {
            let location = match database {
                Some(url) => switchboard_store::Location::Postgres(url),
                None => {
                    let dir = data_dir.unwrap_or_else(|| {
                        std::path::PathBuf::from(
                            std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()),
                        )
                        .join("bench-kpis")
                    });
                    std::fs::create_dir_all(&dir)?;
                    switchboard_store::Location::Sqlite(dir.join(format!("kpis-{cases}.db")))
                }
            };
            crate::bench_kpis::run(crate::bench_kpis::Options {
                cases: cases as usize,
                location,
                runs: runs as usize,
            })
            .await
        }
        BenchCommand::Chat {
            url,
            token,
            idle,
            visitors,
            messages,
            server_pid,
        } => {
            crate::bench_chat::run(crate::bench_chat::ChatBench {
                url,
                token,
                idle: idle as usize,
                visitors: visitors as usize,
                messages: messages as usize,
                server_pid,
            })
            .await
        }
        BenchCommand::Ingest {
            url,
            token,
            messages,
            connections,
            per_conversation,
            baseline,
        } => {
            ingest(
                &url,
                &token,
                messages as usize,
                connections as usize,
                per_conversation.max(1),
                baseline,
            )
            .await
        }
        BenchCommand::Search {
            messages,
            queries,
            data_dir,
            corpus,
        } => {
            crate::bench_search::run(crate::bench_search::Options {
                messages: messages as usize,
                queries: queries as usize,
                data_dir,
                corpus,
            })
            .await
        }
        BenchCommand::Simulate {
            messages,
            messages_per_case,
            rules,
            data_dir,
            runs,
        } => {
            crate::bench_simulate::run(crate::bench_simulate::Options {
                messages: messages as usize,
                messages_per_case: messages_per_case as usize,
                rules: rules as usize,
                data_dir,
                runs: runs as usize,
            })
            .await
        }
    }
}

async fn ingested_total(client: &reqwest::Client, url: &str) -> anyhow::Result<(f64, f64)> {
    let text = client
        .get(format!("{url}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    let read = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    Ok((
        read("switchboard_ingest_messages_total") + read("switchboard_ingest_duplicates_total"),
        read("switchboard_raw_events_pending"),
    ))
}

async fn ingest(
    url: &str,
    token: &str,
    messages: usize,
    connections: usize,
    per_conversation: usize,
    baseline: Option<String>,
) -> anyhow::Result<()> {
    let url = url.trim_end_matches('/').to_owned();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()?;
    let (hook, secret) = match &baseline {
        Some(b) => (b.clone(), "baseline".to_owned()),
        None => connect_channel(&client, &url, token).await?,
    };
    let result = send_and_measure(
        &client,
        &url,
        &hook,
        &secret,
        messages,
        connections,
        per_conversation,
        baseline.is_some(),
    )
    .await;
    if baseline.is_none() {
        // Leave no live channel behind: disable the bench channel (its messages stay).
        let id = hook.rsplit('/').next().unwrap_or_default();
        let _ = client
            .patch(format!("{url}/api/v1/channels/{id}"))
            .bearer_auth(token)
            .json(&serde_json::json!({"active": false}))
            .send()
            .await;
    }
    result
}

async fn connect_channel(
    client: &reqwest::Client,
    url: &str,
    token: &str,
) -> anyhow::Result<(String, String)> {
    let created: serde_json::Value = client
        .post(format!("{url}/api/v1/channels"))
        .bearer_auth(token)
        .json(&serde_json::json!({"kind": "webhook", "name": format!("bench {}", uuid::Uuid::now_v7()), "outbound_url": "http://127.0.0.1:9/"}))
        .send()
        .await?
        .error_for_status()
        .context("cannot create the bench channel (is the token an admin token?)")?
        .json()
        .await?;
    let id = created["id"].as_str().context("no channel id")?.to_owned();
    let secret = created["secret"]
        .as_str()
        .context("no channel secret")?
        .to_owned();
    Ok((format!("{url}/hooks/webhook/{id}"), secret))
}

#[allow(clippy::too_many_arguments)]
async fn send_and_measure(
    client: &reqwest::Client,
    url: &str,
    hook: &str,
    secret: &str,
    messages: usize,
    connections: usize,
    per_conversation: usize,
    baseline: bool,
) -> anyhow::Result<()> {
    eprintln!("signing {messages} messages…");
    let run_id = uuid::Uuid::now_v7().simple().to_string();
    let bodies: Arc<Vec<(bytes_body::Body, String)>> = Arc::new(
        (0..messages)
            .map(|i| {
                let conv = i / per_conversation;
                let body = serde_json::json!({
                    "id": format!("{run_id}-{i}"),
                    "conversation": format!("{run_id}-c{conv}"),
                    "from": {"id": format!("{run_id}-u{conv}"), "name": format!("Customer {conv}")},
                    "text": format!("Hello, this is message {i}: my order has not arrived yet, can you help?"),
                })
                .to_string()
                .into_bytes();
                let sig = webhook::sign(secret.as_bytes(), &body);
                (bytes_body::Body(body), sig)
            })
            .collect(),
    );

    let before = if baseline {
        0.0
    } else {
        ingested_total(client, url).await?.0
    };
    eprintln!("sending over {connections} connections…");
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (client, hook, bodies, next) = (
            client.clone(),
            hook.to_owned(),
            bodies.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
            let mut errors = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((body, sig)) = bodies.get(i) else {
                    break;
                };
                let t = Instant::now();
                let res = client
                    .post(&hook)
                    .header("content-type", "application/json")
                    .header(webhook::SIGNATURE_HEADER, sig)
                    .body(body.0.clone())
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                    }
                    _ => errors += 1,
                }
                hist.record(t.elapsed().as_micros().max(1) as u64)?;
            }
            anyhow::Ok((hist, errors))
        }));
    }
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut errors = 0;
    for t in tasks {
        let (h, e) = t.await??;
        hist.add(h)?;
        errors += e;
    }
    let acked = start.elapsed();
    eprintln!(
        "all sent in {:.2}s; waiting for processing…",
        acked.as_secs_f64()
    );
    let deadline = Instant::now() + Duration::from_secs(600);
    let processed_at = loop {
        if baseline {
            break acked;
        }
        let (now_total, pending) = ingested_total(client, url).await?;
        if now_total - before >= (messages - errors) as f64 && pending == 0.0 {
            break start.elapsed();
        }
        if Instant::now() > deadline {
            bail!(
                "timed out waiting for processing ({} of {messages} processed)",
                now_total - before
            );
        }
        // Every scrape counts the raw events still pending, which costs the server more the
        // deeper its backlog: polled every 20 ms it took a core's worth from PostgreSQL's
        // ingest (900 against 2,600 messages/s end to end). A tenth of a second is the
        // figure's resolution.
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let ok = messages - errors;
    println!("messages          {messages} ({errors} errors)");
    println!("connections       {connections}");
    println!(
        "acked in          {:.3}s  ({:.0} msg/s)",
        acked.as_secs_f64(),
        ok as f64 / acked.as_secs_f64()
    );
    println!(
        "processed in      {:.3}s  ({:.0} msg/s end to end)",
        processed_at.as_secs_f64(),
        ok as f64 / processed_at.as_secs_f64()
    );
    println!(
        "ack latency       p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        hist.value_at_quantile(0.50) as f64 / 1000.0,
        hist.value_at_quantile(0.90) as f64 / 1000.0,
        hist.value_at_quantile(0.99) as f64 / 1000.0,
        hist.max() as f64 / 1000.0
    );
    if errors > 0 {
        bail!("{errors} requests failed");
    }
    Ok(())
}

mod bytes_body {
    /// A pre-built request body, cheap to clone into each request.
    #[derive(Clone)]
    pub struct Body(pub Vec<u8>);
}

//! `switchboard replay --format twcs FILE --target URL --token TOKEN [--rate N]`: replays
//! Kaggle's "Customer Support on Twitter" CSV through a running server's real X webhook path,
//! signed as X signs it. One X channel per company account is created (or reused, with a
//! fresh consumer secret); customer tweets arrive as mentions and replies, the company's own
//! tweets as echoes of its sends, all in the original order with the original times. It
//! doubles as a load generator: it prints throughput and latency as JSON.

use anyhow::{Context, bail};
use hdrhistogram::Histogram;
use rand::RngCore;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use switchboard_channels::{twcs, x};

#[derive(clap::Args)]
pub struct ReplayArgs {
    /// The file's format: twcs (Kaggle's "Customer Support on Twitter" CSV).
    #[arg(long, default_value = "twcs")]
    format: String,
    /// The file to replay.
    file: PathBuf,
    /// The server's address, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    target: String,
    /// An admin API token (to create the channels).
    #[arg(long, env = "SWITCHBOARD_TOKEN", hide_env_values = true)]
    token: String,
    /// Events per second at most (default: as fast as the server takes them).
    #[arg(long)]
    rate: Option<f64>,
    /// Requests in flight at once; 1 keeps the file's order exactly.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
}

struct Target {
    channel: String,
    secret: String,
}

/// The channel named for `company`, created or (if it exists) given a new consumer secret.
async fn channel_for(
    http: &reqwest::Client,
    args: &ReplayArgs,
    existing: &[Value],
    company: &str,
) -> anyhow::Result<Target> {
    let mut raw = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let secret = hex::encode(raw);
    let credentials = json!({"consumer_secret": secret, "access_token": "replay"});
    let base = args.target.trim_end_matches('/');
    let found = existing.iter().find(|c| {
        c["kind"] == "x" && c["config"]["user_id"] == company && c["config"]["replay"] == true
    });
    let resp = match found.and_then(|c| c["id"].as_str()) {
        Some(id) => {
            http.patch(format!("{base}/api/v1/channels/{id}"))
                .bearer_auth(&args.token)
                .json(&json!({"credentials": credentials, "active": true}))
                .send()
                .await?
        }
        None => {
            http.post(format!("{base}/api/v1/channels"))
                .bearer_auth(&args.token)
                .json(&json!({
                    "kind": "x",
                    "name": format!("@{company} (replay)"),
                    "config": {"user_id": company, "replay": true},
                    "credentials": credentials,
                }))
                .send()
                .await?
        }
    };
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("cannot set up the channel for @{company}: HTTP {status}: {body}");
    }
    Ok(Target {
        channel: body["id"]
            .as_str()
            .context("the channel answer has no id")?
            .to_owned(),
        secret,
    })
}

pub async fn run(args: ReplayArgs) -> anyhow::Result<()> {
    if args.format != "twcs" {
        return Err(crate::usage(format!(
            "unknown --format {:?}; expected twcs",
            args.format
        )));
    }
    if args.rate.is_some_and(|r| r.is_nan() || r <= 0.0) {
        return Err(crate::usage("--rate must be a positive number"));
    }
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let rows = twcs::read(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
    let plan = twcs::plan(&rows);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let base = args.target.trim_end_matches('/').to_owned();
    let listed = http
        .get(format!("{base}/api/v1/channels"))
        .bearer_auth(&args.token)
        .send()
        .await
        .with_context(|| format!("cannot reach {base}"))?;
    if !listed.status().is_success() {
        bail!("cannot list channels: HTTP {}", listed.status());
    }
    let existing: Value = listed.json().await?;
    let existing = existing["items"].as_array().cloned().unwrap_or_default();
    let mut targets = HashMap::new();
    for company in &plan.channels {
        let t = channel_for(&http, &args, &existing, &company.company).await?;
        targets.insert(company.company.clone(), t);
    }
    // Every tweet, in the original order across companies.
    let mut all: Vec<(&str, &x::ReplayTweet)> = plan
        .channels
        .iter()
        .flat_map(|c| c.tweets.iter().map(move |t| (c.company.as_str(), t)))
        .collect();
    all.sort_by(|a, b| (a.1.created_at, &a.1.id).cmp(&(b.1.created_at, &b.1.id)));

    let started = Instant::now();
    let mut latency = Histogram::<u64>::new(3)?;
    let mut statuses: HashMap<String, u64> = HashMap::new();
    let interval = args.rate.map(|r| Duration::from_secs_f64(1.0 / r));
    let mut in_flight = futures_util::stream::FuturesOrdered::new();
    // The ids of the tweets in flight, in the order they were sent (and complete).
    let mut flying: std::collections::VecDeque<&str> = std::collections::VecDeque::new();
    use futures_util::StreamExt;
    for (n, (company, tweet)) in all.iter().enumerate() {
        // A reply goes out only once the tweet it answers is stored, so it threads under it
        // whatever the concurrency.
        if let Some(parent) = tweet.in_reply_to_status_id.as_deref() {
            while flying.contains(&parent) {
                let Some((took, outcome)): Option<(Duration, String)> = in_flight.next().await
                else {
                    break;
                };
                flying.pop_front();
                latency.record(took.as_micros() as u64).ok();
                *statuses.entry(outcome).or_default() += 1;
            }
        }
        if let Some(every) = interval {
            let due = started + every.mul_f64(n as f64);
            tokio::time::sleep_until(due.into()).await;
        }
        let t = &targets[*company];
        let body = x::account_activity_tweet(company, tweet);
        let sig = x::sign(t.secret.as_bytes(), &body);
        let req = http
            .post(format!("{base}/hooks/x/{}", t.channel))
            .header("content-type", "application/json")
            .header("x-twitter-webhooks-signature", sig)
            .body(body);
        flying.push_back(tweet.id.as_str());
        in_flight.push_back(async move {
            let at = Instant::now();
            let outcome = match req.send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let body: Value = r.json().await.unwrap_or(Value::Null);
                    match body["status"].as_str() {
                        Some(s) => s.to_owned(),
                        None => format!("http_{status}"),
                    }
                }
                Err(e) => format!("error: {e}"),
            };
            (at.elapsed(), outcome)
        });
        if in_flight.len() >= args.concurrency.max(1)
            && let Some((took, outcome)) = in_flight.next().await
        {
            flying.pop_front();
            latency.record(took.as_micros() as u64).ok();
            *statuses.entry(outcome).or_default() += 1;
        }
    }
    while let Some((took, outcome)) = in_flight.next().await {
        latency.record(took.as_micros() as u64).ok();
        *statuses.entry(outcome).or_default() += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    let report = json!({
        "file": args.file.display().to_string(),
        "rows": rows.len(),
        "channels": plan.channels.len(),
        "sent": all.len(),
        "unassigned": plan.unassigned.len(),
        "outcomes": statuses,
        "seconds": (secs * 1000.0).round() / 1000.0,
        "events_per_second": (all.len() as f64 / secs.max(1e-9)).round(),
        "latency_ms": {
            "p50": latency.value_at_quantile(0.5) as f64 / 1000.0,
            "p99": latency.value_at_quantile(0.99) as f64 / 1000.0,
            "max": latency.max() as f64 / 1000.0,
        },
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    let failed: u64 = statuses
        .iter()
        .filter(|(k, _)| *k != "accepted" && *k != "duplicate")
        .map(|(_, v)| v)
        .sum();
    if failed > 0 {
        bail!("{failed} events were not accepted (see outcomes above)");
    }
    Ok(())
}

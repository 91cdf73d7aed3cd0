//! `switchboard bench search`: message search over a large store (issue 7: p95 under 50 ms
//! over 1,000,000 messages; a new message searchable within 1 s of arrival).
//!
//! It builds (once; later runs with the same size reuse it) an SQLite store of N customer
//! messages whose words follow a real corpus's word frequencies: each message is 6 to 20
//! words drawn from the words of the corpus's texts (TWCS customer-support tweets by
//! default), so common words are as common as they are in real support traffic and rare ones
//! as rare, and one in four carries an order number. The fill goes through the store's
//! ingest, full-text index and vocabulary included, and reports its rate.
//!
//! Then it starts the server in-process on that store and, over HTTP like an agent's browser:
//! - runs Q searches, one at a time, drawn the way people search: one content word, two
//!   words, a two-word phrase, an order number, or a word with a typo (two letters swapped,
//!   which goes through the typo correction); the 100 most frequent words are never
//!   searched alone (nobody searches for "the"), and reports latency percentiles per kind;
//! - posts 50 new messages through the webhook, each with a word no other message has, and
//!   times from the POST until `GET /api/v1/search` finds it.

use anyhow::{Context, bail};
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use switchboard_core::{Author, ChannelEvent, InboundMessage, Name, RawEventId, Role};
use switchboard_store::{Actor, IngestItem, Location, Store};

const BATCH: usize = 5_000;
const MARKER: &str = "bench.search";
const SEED: u64 = 0x5ea_6c4;
/// Words never searched alone: the most frequent ones.
const COMMON: usize = 100;

pub struct Options {
    pub messages: usize,
    pub queries: usize,
    pub data_dir: Option<PathBuf>,
    pub corpus: PathBuf,
}

/// The corpus's words, each as often as it occurs (drawing one at random follows the
/// corpus's frequencies), and the distinct words from most to least frequent.
struct Words {
    tokens: Vec<String>,
    ranked: Vec<String>,
}

fn load_corpus(path: &std::path::Path) -> anyhow::Result<Words> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .with_context(|| format!("cannot read the corpus {}", path.display()))?;
    let column = reader
        .headers()?
        .iter()
        .position(|h| h == "text")
        .context("the corpus has no `text` column")?;
    let mut tokens = Vec::new();
    for record in reader.records() {
        let record = record?;
        let text = record.get(column).unwrap_or("");
        tokens.extend(
            text.split(|c: char| !c.is_alphanumeric() && c != '\'')
                .filter(|w| {
                    w.len() >= 2 && !w.starts_with("http") && !w.chars().all(|c| c.is_ascii_digit())
                })
                .map(str::to_lowercase),
        );
    }
    if tokens.len() < 1000 {
        bail!("the corpus has too few words ({})", tokens.len());
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for t in &tokens {
        *counts.entry(t.as_str()).or_default() += 1;
    }
    let mut ranked: Vec<(&str, usize)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let ranked = ranked.into_iter().map(|(w, _)| w.to_owned()).collect();
    Ok(Words { tokens, ranked })
}

fn message_text(words: &Words, rng: &mut StdRng) -> String {
    let n = rng.gen_range(6..=20);
    let mut out: Vec<String> = (0..n)
        .map(|_| words.tokens[rng.gen_range(0..words.tokens.len())].clone())
        .collect();
    if rng.gen_range(0..4) == 0 {
        out.push(format!("#{}", rng.gen_range(10_000..1_000_000)));
    }
    out.join(" ")
}

fn database_path(o: &Options) -> PathBuf {
    let base = o.data_dir.clone().unwrap_or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("target"))
            .join("bench-search")
    });
    base.join(format!("search-{}.db", o.messages))
}

async fn fill(store: &Store, o: &Options, words: &Words) -> anyhow::Result<()> {
    let now = crate::now();
    let channel = store
        .create_channel(
            "webhook".into(),
            Name::parse("Bench")?,
            serde_json::json!({}),
            vec![0; 40],
            Actor::System,
            now,
        )
        .await?;
    let mut rng = StdRng::seed_from_u64(SEED);
    let started = Instant::now();
    let mut in_flight: Option<tokio::task::JoinHandle<anyhow::Result<u64>>> = None;
    let mut stored = 0u64;
    let mut last = Instant::now();
    for b in 0..o.messages.div_ceil(BATCH) {
        let items: Vec<IngestItem> = (b * BATCH..((b + 1) * BATCH).min(o.messages))
            .map(|i| {
                let conv = i / 4;
                IngestItem {
                    raw_id: RawEventId::new_at(now),
                    channel_id: channel.id,
                    channel_kind: "webhook".into(),
                    received_at: now,
                    parsed: Ok(vec![ChannelEvent::Message(InboundMessage {
                        external_id: format!("m{i}"),
                        thread: format!("t{conv}"),
                        public: false,
                        author: Author {
                            external_id: format!("a{}", conv % 200_000),
                            name: None,
                            handle: None,
                            followers: None,
                            verified: None,
                        },
                        text: message_text(words, &mut rng),
                        sent_at: None,
                        attachments: vec![],
                        reply_to: None,
                    })]),
                    understood: vec![],
                }
            })
            .collect();
        let s = store.clone();
        let next = tokio::spawn(async move {
            let r = s.ingest(items, crate::now()).await?;
            if r.failed > 0 {
                bail!("{} messages failed to store", r.failed);
            }
            Ok(r.messages)
        });
        if let Some(prev) = in_flight.replace(next) {
            stored += prev.await??;
        }
        if last.elapsed() > Duration::from_secs(10) {
            last = Instant::now();
            eprintln!(
                "  filled {stored} of {} ({:.0} msg/s)",
                o.messages,
                stored as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    if let Some(prev) = in_flight {
        stored += prev.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "  filled {stored} messages in {secs:.1}s: {:.0} msg/s stored, indexed for search and added to the vocabulary",
        stored as f64 / secs
    );
    store
        .set_setting_once(MARKER, &format!("{} messages", o.messages))
        .await?;
    Ok(())
}

/// A query as people type them, and its kind.
fn query(words: &Words, rng: &mut StdRng) -> (&'static str, String) {
    let content = &words.ranked[COMMON.min(words.ranked.len() / 2)..];
    let pick = |rng: &mut StdRng| {
        // Drawn by frequency, skipping the most common words.
        loop {
            let w = &words.tokens[rng.gen_range(0..words.tokens.len())];
            if content.contains(w) {
                return w.clone();
            }
        }
    };
    match rng.gen_range(0..10) {
        0..=3 => ("one word", pick(rng)),
        4..=6 => ("two words", format!("{} {}", pick(rng), pick(rng))),
        7 => ("phrase", format!("\"{} {}\"", pick(rng), pick(rng))),
        8 => (
            "order number",
            format!("{}", rng.gen_range(10_000..1_000_000)),
        ),
        _ => {
            let w = loop {
                let w = pick(rng);
                if w.chars().count() >= 5 && w.is_ascii() {
                    break w;
                }
            };
            let mut b = w.into_bytes();
            let i = rng.gen_range(1..b.len() - 1);
            b.swap(i, i + 1);
            ("typo", String::from_utf8(b).unwrap_or_default())
        }
    }
}

fn report(name: &str, h: &Histogram<u64>) {
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "  {name:<14} n={:<5} p50={:>7.2} ms  p95={:>7.2} ms  p99={:>7.2} ms  max={:>7.2} ms",
        h.len(),
        ms(0.5),
        ms(0.95),
        ms(0.99),
        h.max() as f64 / 1000.0
    );
}

pub async fn run(o: Options) -> anyhow::Result<()> {
    let words = load_corpus(&o.corpus)?;
    let path = database_path(&o);
    let dir = path.parent().context("no directory")?.to_path_buf();
    std::fs::create_dir_all(&dir)?;
    let store = Store::open(&Location::Sqlite(path.clone()))?;
    store.migrate().await?;
    if store.setting(MARKER).await?.is_none() {
        eprintln!(
            "building {} with {} messages (once)…",
            path.display(),
            o.messages
        );
        fill(&store, &o, &words).await?;
    } else {
        eprintln!("reusing {}", path.display());
    }

    let token = switchboard_server::auth::new_credential("sbt");
    store
        .create_token(
            Name::parse(&format!("bench {}", uuid::Uuid::now_v7()))?,
            Role::Admin,
            switchboard_server::auth::credential_hash(&token),
            Actor::System,
            crate::now(),
        )
        .await?;
    let secrets = switchboard_server::crypto::SecretBox::load_or_create(&dir, None)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let state = switchboard_server::start(
        store.clone(),
        secrets,
        switchboard_server::ServerConfig::default(),
    )
    .await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(switchboard_server::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();

    // Searches, one at a time.
    let mut rng = StdRng::seed_from_u64(SEED ^ 0xface);
    let mut all = Histogram::<u64>::new(3)?;
    let mut by_kind: Vec<(&'static str, Histogram<u64>)> = Vec::new();
    let (mut found, mut corrected) = (0usize, 0usize);
    for i in 0..o.queries + 20 {
        let (kind, q) = query(&words, &mut rng);
        let started = Instant::now();
        let r: serde_json::Value = client
            .get(format!("{url}/api/v1/search"))
            .query(&[("q", q.as_str()), ("limit", "20")])
            .bearer_auth(&token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let micros = started.elapsed().as_micros() as u64;
        if i < 20 {
            continue; // warm-up
        }
        all.record(micros)?;
        match by_kind.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, h)) => h.record(micros)?,
            None => {
                let mut h = Histogram::<u64>::new(3)?;
                h.record(micros)?;
                by_kind.push((kind, h));
            }
        }
        if r["items"].as_array().is_some_and(|a| !a.is_empty()) {
            found += 1;
        }
        if r.get("corrected_query").is_some() {
            corrected += 1;
        }
    }
    println!(
        "search over {} messages ({} queries over HTTP, one at a time; {found} found something, {corrected} corrected a typo):",
        o.messages, o.queries
    );
    report("all", &all);
    by_kind.sort_by_key(|(k, _)| *k);
    for (k, h) in &by_kind {
        report(k, h);
    }

    // Freshness: from the webhook POST until search finds the message.
    let created: serde_json::Value = client
        .post(format!("{url}/api/v1/channels"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"kind": "webhook", "name": format!("fresh {}", uuid::Uuid::now_v7()), "outbound_url": "http://127.0.0.1:9/"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let hook = format!(
        "{url}/hooks/webhook/{}",
        created["id"].as_str().context("channel id")?
    );
    let secret = created["secret"].as_str().context("secret")?.to_owned();
    let mut fresh = Histogram::<u64>::new(3)?;
    let run = uuid::Uuid::now_v7().simple().to_string();
    for n in 0..50 {
        let word = format!("fresh{}x{n}", &run[run.len() - 8..]);
        let body = serde_json::json!({"id": format!("{run}-{n}"), "conversation": format!("{run}-{n}"),
            "from": {"id": format!("{run}-{n}")}, "text": format!("where is my parcel {word} please")})
        .to_string();
        let sig = switchboard_channels::webhook::sign(secret.as_bytes(), body.as_bytes());
        let started = Instant::now();
        client
            .post(&hook)
            .header("content-type", "application/json")
            .header("X-Switchboard-Signature", sig)
            .body(body)
            .send()
            .await?
            .error_for_status()?;
        loop {
            let r: serde_json::Value = client
                .get(format!("{url}/api/v1/search"))
                .query(&[("q", word.as_str())])
                .bearer_auth(&token)
                .send()
                .await?
                .json()
                .await?;
            if r["items"].as_array().is_some_and(|a| !a.is_empty()) {
                break;
            }
            if started.elapsed() > Duration::from_secs(10) {
                bail!("message {n} was not searchable after 10 s");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        fresh.record(started.elapsed().as_micros() as u64)?;
    }
    println!("a new message, from its webhook POST until search finds it:");
    report("searchable", &fresh);
    let _ = stop.send(());
    let _ = server.await;
    Ok(())
}

//! `switchboard kb`: the knowledge base from the command line, on the server's database:
//! import and export JSON Lines (the same format and checks as `POST /api/v1/kb/import`), and
//! search.

use crate::{StoreArgs, usage};
use anyhow::Context;
use clap::Subcommand;
use switchboard_core::kb::{ImportKind, parse_import};
use switchboard_store::{Actor, KbKind};
use switchboard_understand::retrieve::{Entry, Index};

#[derive(Subcommand)]
pub enum KbCommand {
    /// Import articles and canned responses from a JSON Lines file, all or nothing: a bad line
    /// is reported with its number and nothing is stored.
    Import {
        #[command(flatten)]
        store: StoreArgs,
        /// One `{"type": "article"|"canned", …}` a line.
        #[arg(long)]
        file: std::path::PathBuf,
    },
    /// Print every entry that is not archived, as JSON Lines `kb import` reads back.
    Export {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Measures answer retrieval on labelled questions: the knowledge base is a JSON Lines
    /// file whose articles name the `intents` they answer; a question is answered right when
    /// the top article answers its label. Prints top-1 and top-3 accuracy, by words alone and
    /// with an intent model, and for confidence thresholds the share answered and wrong.
    Eval {
        /// The articles (JSON Lines, as `kb import` reads).
        #[arg(long)]
        kb: std::path::PathBuf,
        #[command(flatten)]
        input: crate::model_cmd::InputArgs,
        /// An intent model (`model train`), combined as the case suggestions do.
        #[arg(long)]
        model: Option<String>,
        /// Use only every Nth row (the N-1th of each N), e.g. 5 for the rows `model train` did
        /// not see when it was trained on the others.
        #[arg(long)]
        every: Option<usize>,
    },
    /// The best articles (or canned responses) for a question.
    Search {
        #[command(flatten)]
        store: StoreArgs,
        /// The question.
        #[arg(long)]
        query: String,
        /// articles or canned.
        #[arg(long, default_value = "articles")]
        kind: String,
        #[arg(long, default_value_t = 5)]
        limit: usize,
    },
}

pub async fn run(command: KbCommand) -> anyhow::Result<()> {
    match command {
        KbCommand::Import { store, file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let items = match parse_import(&text) {
                Ok(items) if items.is_empty() => {
                    return Err(usage(format!("{} has no entries", file.display())));
                }
                Ok(items) => items,
                Err(errors) => {
                    for e in &errors {
                        let field = if e.field.is_empty() {
                            String::new()
                        } else {
                            format!(" {}:", e.field)
                        };
                        eprintln!("{}:{}:{field} {}", file.display(), e.line, e.message);
                    }
                    return Err(usage(format!(
                        "{} line(s) are not valid; nothing was imported",
                        errors.len()
                    )));
                }
            };
            let items: Vec<(KbKind, serde_json::Value)> = items
                .into_iter()
                .map(|(k, v)| match k {
                    ImportKind::Article => (KbKind::Article, v),
                    ImportKind::Canned => (KbKind::Canned, v),
                })
                .collect();
            let articles = items.iter().filter(|(k, _)| *k == KbKind::Article).count();
            let canned = items.len() - articles;
            let store = store.open_existing().await?;
            store.import_kb(items, Actor::System, crate::now()).await?;
            println!("imported {articles} article(s) and {canned} canned response(s)");
            Ok(())
        }
        KbCommand::Export { store } => {
            let store = store.open_existing().await?;
            for kind in [KbKind::Article, KbKind::Canned] {
                for item in store.kb_items(kind, false).await? {
                    let mut v = item.data.clone();
                    if let Some(o) = v.as_object_mut() {
                        o.insert("type".into(), kind.as_str().into());
                        o.insert("id".into(), item.id.clone().into());
                        o.insert("version".into(), item.version.into());
                    }
                    println!("{v}");
                }
            }
            Ok(())
        }
        KbCommand::Eval {
            kb,
            input,
            model,
            every,
        } => {
            tokio::task::spawn_blocking(move || eval(&kb, &input, model.as_deref(), every)).await?
        }
        KbCommand::Search {
            store,
            query,
            kind,
            limit,
        } => {
            let kind = match kind.as_str() {
                "articles" => KbKind::Article,
                "canned" => KbKind::Canned,
                other => return Err(usage(format!("--kind {other:?}: articles or canned"))),
            };
            let store = store.open_existing().await?;
            let items = store.kb_items(kind, false).await?;
            let entries: Vec<Entry> = items
                .iter()
                .map(switchboard_server::api::kb::entry_of)
                .collect();
            for hit in Index::build(&entries).search(&query, limit.clamp(1, 100)) {
                let item = &items[hit.entry];
                let title = item.data["title"]
                    .as_str()
                    .or(item.data["name"].as_str())
                    .unwrap_or("");
                println!(
                    "{:.2}\t{}\t{}\t(matched: {})",
                    hit.confidence,
                    item.id,
                    title,
                    hit.matched.join(", ")
                );
            }
            Ok(())
        }
    }
}

/// Where the right article ranked for one question (`None`: not in the top 3), and the top
/// hit's confidence.
struct Outcome {
    rank: Option<usize>,
    confidence: f64,
}

fn eval(
    kb: &std::path::Path,
    input: &crate::model_cmd::InputArgs,
    model: Option<&str>,
    every: Option<usize>,
) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(kb).with_context(|| format!("cannot read {}", kb.display()))?;
    let docs = parse_import(&text).map_err(|errors| {
        usage(format!(
            "{}: {} bad line(s), the first: line {}: {}",
            kb.display(),
            errors.len(),
            errors[0].line,
            errors[0].message
        ))
    })?;
    let articles: Vec<&serde_json::Value> = docs
        .iter()
        .filter(|(k, _)| *k == ImportKind::Article)
        .map(|(_, v)| v)
        .collect();
    let entries: Vec<Entry> = articles
        .iter()
        .map(|a| Entry {
            title: a["title"].as_str().unwrap_or("").to_owned(),
            questions: a["questions"]
                .as_array()
                .map(|q| {
                    q.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            body: a["body"].as_str().unwrap_or("").to_owned(),
        })
        .collect();
    let answers = |i: usize, label: &str| {
        articles[i]["intents"]
            .as_array()
            .is_some_and(|l| l.iter().any(|x| x.as_str() == Some(label)))
    };
    let index = Index::build(&entries);
    let model = model.map(crate::model_cmd::load).transpose()?;
    let mut questions = crate::model_cmd::examples(input)?;
    if let Some(n) = every.filter(|n| *n > 1) {
        questions = questions
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % n == n - 1)
            .map(|(_, q)| q)
            .collect();
    }
    let started = std::time::Instant::now();
    let (mut words, mut combined) = (Vec::new(), Vec::new());
    for q in &questions {
        let hits = index.search(&q.text, 10);
        let outcome = |hits: &[switchboard_understand::retrieve::Hit]| Outcome {
            rank: hits.iter().take(3).position(|h| answers(h.entry, &q.label)),
            confidence: hits.first().map_or(0.0, |h| h.confidence),
        };
        words.push(outcome(&hits));
        if let Some(m) = &model {
            let p = m.predict(&q.text);
            let linked: Vec<usize> = (0..articles.len())
                .filter(|i| answers(*i, &p.label))
                .collect();
            let hits = switchboard_understand::retrieve::with_intent(
                hits,
                &linked,
                &p.label,
                f64::from(p.confidence),
                10,
            );
            combined.push(outcome(&hits));
        }
    }
    let per_question_us = started.elapsed().as_micros() as f64 / questions.len().max(1) as f64;
    let summary = |o: &[Outcome]| {
        let n = o.len().max(1) as f64;
        let top1 = o.iter().filter(|x| x.rank == Some(0)).count() as f64 / n;
        let top3 = o.iter().filter(|x| x.rank.is_some()).count() as f64 / n;
        // For each threshold: automatic answers sent (top confidence at or above it), and of
        // those the share that was wrong.
        let thresholds: Vec<serde_json::Value> = (1..20)
            .map(|t| {
                let t = t as f64 * 0.05;
                let sent: Vec<&Outcome> = o.iter().filter(|x| x.confidence >= t).collect();
                let wrong = sent.iter().filter(|x| x.rank != Some(0)).count();
                serde_json::json!({
                    "threshold": (t * 100.0).round() / 100.0,
                    "answered": sent.len() as f64 / n,
                    "wrong_of_answered": if sent.is_empty() { 0.0 } else { wrong as f64 / sent.len() as f64 },
                })
            })
            .collect();
        // The lowest threshold whose automatic answers are under 2% wrong: its deflection.
        let chosen = thresholds
            .iter()
            .find(|t| {
                t["wrong_of_answered"].as_f64().unwrap_or(1.0) < 0.02
                    && t["answered"].as_f64().unwrap_or(0.0) > 0.0
            })
            .cloned();
        serde_json::json!({"top1": top1, "top3": top3, "auto_answer": chosen, "thresholds": thresholds})
    };
    let mut report = serde_json::json!({
        "articles": articles.len(),
        "questions": questions.len(),
        "microseconds_per_question": per_question_us,
        "words": summary(&words),
    });
    if model.is_some() {
        report["with_intent_model"] = summary(&combined);
    }
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

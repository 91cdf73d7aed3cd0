//! `switchboard kb`: the knowledge base from the command line, on the server's database:
//! list, show, create, update, archive and restore single entries; import and export JSON Lines or CSV
//! (the same formats and checks as `POST /api/v1/kb/import`); search.

use crate::{StoreArgs, usage};
use anyhow::Context;
use clap::Subcommand;
use switchboard_core::kb::{ImportKind, LineError, checked_document, parse_import};
use switchboard_store::{Actor, KbKind};
use switchboard_understand::retrieve::{Entry, Index};

#[derive(Subcommand)]
pub enum KbCommand {
    /// Import articles and canned responses from a JSON Lines or CSV file, all or nothing: a
    /// bad line is reported with its number and nothing is stored. An entry already there
    /// word for word (an export imported again) is not added twice.
    Import {
        #[command(flatten)]
        store: StoreArgs,
        /// JSON Lines, one `{"type": "article"|"canned", …}` a line; or CSV with a header row
        /// (see docs/KNOWLEDGE.md).
        #[arg(long)]
        file: std::path::PathBuf,
        /// jsonl or csv; default: by the file's name (`.csv`, `.jsonl`), else JSON Lines when
        /// its first line opens with `{`, else CSV.
        #[arg(long)]
        format: Option<String>,
    },
    /// Print every entry that is not archived, in a format `kb import` reads back.
    Export {
        #[command(flatten)]
        store: StoreArgs,
        /// jsonl (default) or csv.
        #[arg(long, default_value = "jsonl")]
        format: String,
    },
    /// List the entries of a kind: id, version and title (or name), one a line.
    List {
        #[command(flatten)]
        store: StoreArgs,
        /// articles or canned.
        #[arg(long, default_value = "articles")]
        kind: String,
        /// Archived entries instead.
        #[arg(long)]
        archived: bool,
    },
    /// Print one entry as JSON.
    Show {
        #[command(flatten)]
        store: StoreArgs,
        /// articles or canned.
        #[arg(long, default_value = "articles")]
        kind: String,
        id: String,
    },
    /// Create an entry from a JSON document (an article's or canned response's fields).
    Create {
        #[command(flatten)]
        store: StoreArgs,
        /// articles or canned.
        #[arg(long, default_value = "articles")]
        kind: String,
        /// The document; `-` reads it from standard input.
        #[arg(long)]
        file: std::path::PathBuf,
    },
    /// Replace an entry with a new version from a JSON document.
    Update {
        #[command(flatten)]
        store: StoreArgs,
        /// articles or canned.
        #[arg(long, default_value = "articles")]
        kind: String,
        id: String,
        /// The document; `-` reads it from standard input.
        #[arg(long)]
        file: std::path::PathBuf,
        /// Refuse if the entry is no longer at this version (someone saved in between).
        #[arg(long)]
        version: Option<i64>,
    },
    /// Archive an entry: kept with its history, no longer listed or suggested.
    Archive {
        #[command(flatten)]
        store: StoreArgs,
        /// articles or canned.
        #[arg(long, default_value = "articles")]
        kind: String,
        id: String,
    },
    /// Bring an archived entry back, as it was.
    Restore {
        #[command(flatten)]
        store: StoreArgs,
        /// articles or canned.
        #[arg(long, default_value = "articles")]
        kind: String,
        id: String,
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

fn kind_arg(kind: &str) -> anyhow::Result<KbKind> {
    match kind {
        "articles" | "article" => Ok(KbKind::Article),
        "canned" => Ok(KbKind::Canned),
        other => Err(usage(format!("--kind {other:?}: articles or canned"))),
    }
}

fn import_kind(kind: KbKind) -> ImportKind {
    match kind {
        KbKind::Article => ImportKind::Article,
        KbKind::Canned => ImportKind::Canned,
    }
}

/// Reads a file, or standard input for `-`.
fn read_input(file: &std::path::Path) -> anyhow::Result<String> {
    if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .context("cannot read standard input")?;
        Ok(s)
    } else {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))
    }
}

/// A JSON document for `kind`, checked as the API checks it; a bad one says which field.
fn document(kind: KbKind, file: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    let text = read_input(file)?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| usage(format!("{}: not JSON: {e}", file.display())))?;
    checked_document(import_kind(kind), v).map_err(|e| {
        usage(if e.field.is_empty() {
            e.message
        } else {
            format!("{}: {}", e.field, e.message)
        })
    })
}

fn report_lines(file: &std::path::Path, errors: &[LineError]) -> anyhow::Error {
    for e in errors {
        let field = if e.field.is_empty() {
            String::new()
        } else {
            format!(" {}:", e.field)
        };
        eprintln!("{}:{}:{field} {}", file.display(), e.line, e.message);
    }
    usage(format!(
        "{} line(s) are not valid; nothing was imported",
        errors.len()
    ))
}

/// An entry as `kb show` prints it: its document with id, kind and version.
fn shown(item: &switchboard_store::KbItem) -> serde_json::Value {
    let mut v = item.data.clone();
    if let Some(o) = v.as_object_mut() {
        o.insert("type".into(), item.kind.as_str().into());
        o.insert("id".into(), item.id.clone().into());
        o.insert("version".into(), item.version.into());
    }
    v
}

/// A store error about one entry, as the user reads it.
fn entry_error(e: switchboard_store::StoreError, id: &str) -> anyhow::Error {
    match e {
        switchboard_store::StoreError::NotFound => usage(format!("no entry {id} of that kind")),
        switchboard_store::StoreError::Conflict(m) | switchboard_store::StoreError::Invalid(m) => {
            usage(m)
        }
        other => other.into(),
    }
}

/// `kb archive` and `kb restore`.
async fn archived(store: StoreArgs, kind: &str, id: &str, archived: bool) -> anyhow::Result<()> {
    let kind = kind_arg(kind)?;
    let store = store.open_existing().await?;
    let item = store
        .set_kb_archived(id.to_owned(), kind, archived, Actor::System, crate::now())
        .await
        .map_err(|e| entry_error(e, id))?;
    if archived {
        println!("archived {id}");
    } else {
        println!("restored {id} at version {}", item.version);
    }
    Ok(())
}

pub async fn run(command: KbCommand) -> anyhow::Result<()> {
    match command {
        KbCommand::Import {
            store,
            file,
            format,
        } => {
            let text = read_input(&file)?;
            let csv = match format.as_deref() {
                Some("csv") => true,
                Some("jsonl") => false,
                Some(other) => return Err(usage(format!("--format {other:?}: jsonl or csv"))),
                // By the file's name; else its first line (JSON Lines opens with `{`).
                None => match file
                    .extension()
                    .and_then(|e| e.to_str())
                    .map(str::to_ascii_lowercase)
                    .as_deref()
                {
                    Some("csv") => true,
                    Some("jsonl" | "ndjson") => false,
                    _ => {
                        switchboard_understand::examples::Format::of_content(text.as_bytes())
                            != switchboard_understand::examples::Format::Jsonl
                    }
                },
            };
            let parsed = if csv {
                switchboard_core::kb_csv::parse_csv(&text)
            } else {
                parse_import(&text)
            };
            let items = match parsed {
                Ok(items) if items.is_empty() => {
                    return Err(usage(format!("{} has no entries", file.display())));
                }
                Ok(items) => items,
                Err(errors) => return Err(report_lines(&file, &errors)),
            };
            let items: Vec<(KbKind, serde_json::Value)> = items
                .into_iter()
                .map(|(k, v)| match k {
                    ImportKind::Article => (KbKind::Article, v),
                    ImportKind::Canned => (KbKind::Canned, v),
                })
                .collect();
            let store = store.open_existing().await?;
            // An entry already there word for word (an export imported again) is not added twice.
            let (items, skipped) = store.without_stored_kb(items).await?;
            let articles = items.iter().filter(|(k, _)| *k == KbKind::Article).count();
            let canned = items.len() - articles;
            if !items.is_empty() {
                store.import_kb(items, Actor::System, crate::now()).await?;
            }
            println!("imported {articles} article(s) and {canned} canned response(s)");
            if skipped > 0 {
                println!("{skipped} already there word for word, not added again");
            }
            Ok(())
        }
        KbCommand::Export { store, format } => {
            if format != "jsonl" && format != "csv" {
                return Err(usage(format!("--format {format:?}: jsonl or csv")));
            }
            let store = store.open_existing().await?;
            let mut all = Vec::new();
            for kind in [KbKind::Article, KbKind::Canned] {
                all.extend(store.kb_items(kind, false).await?);
            }
            if format == "csv" {
                let rows: Vec<(ImportKind, &serde_json::Value)> =
                    all.iter().map(|i| (import_kind(i.kind), &i.data)).collect();
                print!("{}", switchboard_core::kb_csv::to_csv(&rows));
            } else {
                for item in &all {
                    println!("{}", shown(item));
                }
            }
            Ok(())
        }
        KbCommand::List {
            store,
            kind,
            archived,
        } => {
            let kind = kind_arg(&kind)?;
            let store = store.open_existing().await?;
            for item in store.kb_items(kind, archived).await? {
                let title = item.data["title"]
                    .as_str()
                    .or(item.data["name"].as_str())
                    .unwrap_or("");
                println!("{}\tv{}\t{title}", item.id, item.version);
            }
            Ok(())
        }
        KbCommand::Show { store, kind, id } => {
            let kind = kind_arg(&kind)?;
            let store = store.open_existing().await?;
            let item = store
                .kb_item(id.clone(), kind)
                .await
                .map_err(|e| entry_error(e, &id))?;
            println!("{}", serde_json::to_string_pretty(&shown(&item))?);
            Ok(())
        }
        KbCommand::Create { store, kind, file } => {
            let kind = kind_arg(&kind)?;
            let data = document(kind, &file)?;
            let store = store.open_existing().await?;
            let item = store
                .create_kb(kind, data, Actor::System, crate::now())
                .await?;
            println!("{}", item.id);
            Ok(())
        }
        KbCommand::Update {
            store,
            kind,
            id,
            file,
            version,
        } => {
            let kind = kind_arg(&kind)?;
            let data = document(kind, &file)?;
            let store = store.open_existing().await?;
            let item = store
                .update_kb(id.clone(), kind, data, version, Actor::System, crate::now())
                .await
                .map_err(|e| entry_error(e, &id))?;
            println!("{} is at version {}", item.id, item.version);
            Ok(())
        }
        KbCommand::Archive { store, kind, id } => archived(store, &kind, &id, true).await,
        KbCommand::Restore { store, kind, id } => archived(store, &kind, &id, false).await,
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
            let kind = kind_arg(&kind)?;
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

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
                .map(|i| {
                    let s = |k: &str| i.data[k].as_str().unwrap_or("").to_owned();
                    let questions = i.data["questions"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|q| q.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    match kind {
                        KbKind::Article => Entry {
                            title: s("title"),
                            questions,
                            body: s("body"),
                        },
                        KbKind::Canned => Entry {
                            title: s("name"),
                            questions,
                            body: s("text"),
                        },
                    }
                })
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

//! `switchboard model train|eval` and `switchboard analyze`: train a classifier from a
//! labelled file, score it on another, and understand texts from stdin. They need no
//! database; training runs on all cores.

use crate::{StoreArgs, now, usage};
use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::json;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;
use switchboard_understand::examples::{Format, read};
use switchboard_understand::model::{TextModel, TrainConfig, default_hidden, score, train};

/// The widest hidden layer `model train --hidden` takes (its first layer is a row of this many
/// bytes per feature).
const MAX_HIDDEN: usize = 2048;
use switchboard_understand::{Analyzer, defaults};

#[derive(Subcommand)]
pub enum ModelCommand {
    /// Train a classifier from labelled examples (CSV or TSV with a header row, or JSON Lines) and
    /// write it to --out.
    Train {
        #[command(flatten)]
        input: InputArgs,
        /// Where to write the model.
        #[arg(long)]
        out: PathBuf,
        /// What the model predicts (recorded in the file): intent, sentiment or purpose.
        #[arg(long, default_value = "intent")]
        kind: String,
        /// Below this confidence a prediction is `unknown` (at least 0, below 1).
        #[arg(long, default_value_t = 0.3, allow_negative_numbers = true)]
        unknown_below: f32,
        /// A text more than this share of whose words the model never learned is `unknown`,
        /// unless the model is sure (0.95) of its answer: questions about something else
        /// mostly are (0 to 1; 1 turns it off). Default: 0.2 from 1,000 examples, off below
        /// (a small model knows too few of a customer's words); intent models only.
        #[arg(long, allow_negative_numbers = true)]
        new_words_above: Option<f32>,
        /// N: a network with one hidden layer of N units, more accurate where there are
        /// thousands of examples and many labels read alike (bank intents), at a few times the
        /// training time, prediction time and file size of a linear model. 0: one linear model
        /// per label. Default: 256 from 1,000 examples, 0 below.
        #[arg(long)]
        hidden: Option<usize>,
        /// With --kind sentiment, train on the file's examples alone: without it the shipped
        /// sentiment model's posts are added (they lift what a few thousand labelled
        /// messages teach; docs/PERFORMANCE.md).
        #[arg(long)]
        no_shipped_examples: bool,
    },
    /// Install a model file in the workspace (it becomes the active version; a running server
    /// picks it up within seconds). A damaged or foreign file is refused and nothing changes.
    Install {
        #[command(flatten)]
        store: StoreArgs,
        /// The model file from `model train`.
        file: PathBuf,
        /// What it predicts: `intent` (added to the shipped models) or `sentiment` (in place
        /// of the shipped one).
        #[arg(long, default_value = "intent")]
        kind: String,
    },
    /// List the installed model versions (`*` marks the active one of each kind).
    Versions {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Make an installed version active again (a rollback).
    Activate {
        #[command(flatten)]
        store: StoreArgs,
        /// The version to make active (`model versions` lists them).
        version: i64,
        /// Which model: intent, purpose or sentiment.
        #[arg(long, default_value = "intent")]
        kind: String,
    },
    /// Leave no version active: the shipped purpose or sentiment model, or no intent model,
    /// again.
    Deactivate {
        #[command(flatten)]
        store: StoreArgs,
        /// Which model: intent, purpose or sentiment.
        #[arg(long, default_value = "intent")]
        kind: String,
    },
    /// Score a model on labelled examples; prints JSON: accuracy (over every line; a line
    /// whose label the model does not have is never right), macro_f1 (over the model's
    /// labels; null when no line has one), per-label precision/recall/F1, calibration (how far its confidence can be
    /// trusted, and how many predictions clear its `unknown` floor), examples in and out of
    /// the model's scope (in: their own accuracy; out, a label the model does not have such
    /// as `oos`: how many it leaves `unknown`), the confusion (gold label → predicted label →
    /// count), and predictions per second.
    Eval {
        /// The model file (`builtin:purpose` or `builtin:sentiment` for the shipped ones).
        #[arg(long)]
        model: String,
        #[command(flatten)]
        input: InputArgs,
    },
    /// Fit a model's confidence to labelled examples of real traffic (for example a
    /// workspace's own messages, labelled by people) and write the result as a new model:
    /// the same labels, truer confidences. Prints JSON: the examples used, the temperature
    /// and the expected calibration error before and after.
    Calibrate {
        /// The model file (`builtin:purpose` or `builtin:sentiment` for the shipped ones).
        #[arg(long)]
        model: String,
        #[command(flatten)]
        input: InputArgs,
        /// Where to write the calibrated model.
        #[arg(long)]
        out: PathBuf,
        /// Fit even on examples the model is right on far more often than on the examples
        /// held back when it was trained (which are refused as looking like its training
        /// examples): for real traffic that is easier than those.
        #[arg(long)]
        anyway: bool,
    },
}

#[derive(Args)]
pub struct InputArgs {
    /// The labelled examples.
    #[arg(long)]
    input: PathBuf,
    /// csv, tsv or jsonl (default: jsonl for a .jsonl, .ndjson or .json file, csv for a .csv
    /// file, tsv for a .tsv or .tab file; else jsonl when the first line opens with `{`, tsv
    /// when it holds more tabs than commas, else csv).
    #[arg(long)]
    format: Option<String>,
    /// The column (or JSON key) holding each example's text.
    #[arg(long, default_value = "text")]
    text_column: String,
    /// The column (or JSON key) holding each example's label.
    #[arg(long, default_value = "label")]
    label_column: String,
}

pub(crate) fn examples(
    a: &InputArgs,
) -> anyhow::Result<Vec<switchboard_understand::model::Example>> {
    let bytes =
        std::fs::read(&a.input).with_context(|| format!("cannot read {}", a.input.display()))?;
    // `--format`; else the file's name; else its first line (JSON Lines opens with `{`).
    let extension = a
        .input
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let format = match (a.format.as_deref(), extension.as_deref()) {
        (Some(f), _) => Format::parse(f).map_err(usage)?,
        (None, Some("jsonl" | "ndjson" | "json")) => Format::Jsonl,
        (None, Some("csv")) => Format::Csv,
        (None, Some("tsv" | "tab")) => Format::Tsv,
        (None, _) => Format::of_content(&bytes),
    };
    let text = switchboard_understand::examples::utf8_text(bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.input.display()))?;
    read(&text, format, &a.text_column, &a.label_column)
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.input.display()))
}

/// Writes a model file whole to a temporary file first (a name nothing else uses), then
/// renames it: a failed write never leaves half a model.
fn write_model(out: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    let tmp = out.with_file_name(format!(".{name}.{}.partial", std::process::id()));
    // The error names the file asked for (the temporary one next to it is ours), and a
    // missing folder as such.
    let cannot = || {
        let folder = out.parent().filter(|p| !p.as_os_str().is_empty());
        match folder {
            Some(f) if !f.is_dir() => format!(
                "cannot write {}: the folder {} does not exist",
                out.display(),
                f.display()
            ),
            _ => format!("cannot write {}", out.display()),
        }
    };
    std::fs::write(&tmp, bytes).with_context(cannot)?;
    std::fs::rename(&tmp, out).with_context(cannot)
}

/// Reads a model file, or one of the shipped models.
pub fn load(spec: &str) -> anyhow::Result<TextModel> {
    match spec {
        "builtin:purpose" => Ok((*defaults::purpose_model()).clone()),
        "builtin:sentiment" => Ok((*defaults::sentiment_model()).clone()),
        other if other.starts_with("builtin:") => Err(usage(format!(
            "no shipped model {other:?}; the shipped ones are builtin:purpose and builtin:sentiment"
        ))),
        path => {
            let bytes = std::fs::read(Path::new(path))
                .with_context(|| format!("cannot read the model {path}"))?;
            TextModel::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("{path}: {e}"))
        }
    }
}

/// Reads a model that must be of `kind` (a shipped one, or a file checked as `model install`
/// checks it).
fn load_kind(spec: &str, kind: &str) -> anyhow::Result<TextModel> {
    if spec == format!("builtin:{kind}") {
        return load(spec);
    }
    if let Some(other) = spec.strip_prefix("builtin:") {
        return Err(usage(format!(
            "{spec} is the shipped {other} model, not a {kind} one (builtin:{kind} is)"
        )));
    }
    let bytes =
        std::fs::read(Path::new(spec)).with_context(|| format!("cannot read the model {spec}"))?;
    TextModel::for_install(&bytes, kind).map_err(|e| anyhow::anyhow!("{spec}: {e}"))
}

/// Kinds with installed versions: intents and sentiments (installed by an admin or retrained
/// by the learning loop) and purposes (the learning loop's).
fn versioned_kind(kind: &str) -> anyhow::Result<()> {
    if matches!(kind, "intent" | "purpose" | "sentiment") {
        Ok(())
    } else {
        Err(usage(format!(
            "unknown model kind {kind:?}; expected intent, purpose or sentiment"
        )))
    }
}

/// Runs a model command: the ones that touch the workspace here, the CPU-bound ones on a
/// blocking thread.
pub async fn run(command: ModelCommand) -> anyhow::Result<()> {
    match command {
        ModelCommand::Install { store, file, kind } => {
            if kind != "intent" && kind != "sentiment" {
                return Err(usage(format!(
                    "unknown model kind {kind:?}; expected intent or sentiment"
                )));
            }
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let summary = TextModel::for_install(&bytes, &kind)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?
                .summary();
            let (v, new) = store
                .open_existing()
                .await?
                .install_model(
                    kind,
                    bytes,
                    summary,
                    switchboard_store::Actor::System,
                    now(),
                )
                .await?;
            println!(
                "{} {} as {} version {} (active; sha256 {})",
                if new {
                    "installed"
                } else {
                    "already installed, made active again:"
                },
                file.display(),
                v.kind,
                v.version,
                &v.digest[..12]
            );
            Ok(())
        }
        ModelCommand::Versions { store } => {
            for v in store.open_existing().await?.list_models().await? {
                println!(
                    "{} {} v{} {} by {} {}",
                    if v.active { "*" } else { " " },
                    v.kind,
                    v.version,
                    v.created_at.to_rfc3339(),
                    v.created_by,
                    v.summary
                );
            }
            Ok(())
        }
        ModelCommand::Activate {
            store,
            version,
            kind,
        } => {
            versioned_kind(&kind)?;
            let v = store
                .open_existing()
                .await?
                .activate_model(kind, version, switchboard_store::Actor::System, now())
                .await
                .map_err(|e| match e {
                    switchboard_store::StoreError::NotFound => {
                        anyhow::anyhow!("no version {version} is installed")
                    }
                    e => e.into(),
                })?;
            println!("{} version {} is active", v.kind, v.version);
            Ok(())
        }
        ModelCommand::Deactivate { store, kind } => {
            versioned_kind(&kind)?;
            let was = store
                .open_existing()
                .await?
                .deactivate_model(kind.clone(), switchboard_store::Actor::System, now())
                .await?;
            println!(
                "{kind}: {}",
                if was {
                    "no version is active now"
                } else {
                    "no version was active"
                }
            );
            Ok(())
        }
        other => tokio::task::spawn_blocking(move || run_offline(other)).await?,
    }
}

fn run_offline(command: ModelCommand) -> anyhow::Result<()> {
    match command {
        ModelCommand::Install { .. }
        | ModelCommand::Versions { .. }
        | ModelCommand::Activate { .. }
        | ModelCommand::Deactivate { .. } => {
            anyhow::bail!("this command needs the workspace; it runs on the async side")
        }
        ModelCommand::Train {
            input,
            out,
            kind,
            unknown_below,
            new_words_above,
            hidden,
            no_shipped_examples,
        } => {
            if !(0.0..1.0).contains(&unknown_below) {
                return Err(usage(format!(
                    "--unknown-below must be at least 0 and below 1 (at 1 every prediction \
                     would be unknown), not {unknown_below}"
                )));
            }
            if new_words_above.is_some_and(|n| !(0.0..=1.0).contains(&n)) {
                return Err(usage(format!(
                    "--new-words-above must be between 0 and 1 (1 turns the rule off), not {}",
                    new_words_above.unwrap_or_default()
                )));
            }
            if hidden.is_some_and(|h| h > MAX_HIDDEN) {
                return Err(usage(format!(
                    "--hidden must be between 0 (a linear model) and {MAX_HIDDEN}"
                )));
            }
            if !matches!(kind.as_str(), "intent" | "sentiment" | "purpose") {
                return Err(usage(format!(
                    "--kind must be intent, sentiment or purpose, not {kind:?} (a workspace \
                     installs intent and sentiment models; a purpose model is for `analyze \
                     --model` and `model eval`)"
                )));
            }
            refuse_overwriting_input(&out, &input.input)?;
            if no_shipped_examples && kind != "sentiment" {
                return Err(usage(
                    "--no-shipped-examples is for --kind sentiment (only its shipped posts are added)",
                ));
            }
            let mut examples = examples(&input)?;
            let from_file = examples.len();
            let sentiment = kind == "sentiment";
            if sentiment && !no_shipped_examples {
                examples.extend(defaults::sentiment_examples());
            }
            // A sentiment model stays linear unless asked: a network scored lower on tweets.
            let hidden = hidden.unwrap_or_else(|| {
                if sentiment {
                    0
                } else {
                    default_hidden(examples.len())
                }
            });
            let cfg = TrainConfig {
                unknown_below,
                new_words_above: match new_words_above {
                    _ if kind != "intent" => None,
                    Some(share) => (share < 1.0).then_some(share),
                    None => switchboard_understand::model::default_new_words_above(examples.len()),
                },
                threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
                ..TrainConfig::for_kind(&kind)
            }
            .with_network(hidden);
            let started = Instant::now();
            let model = train(&kind, &examples, &cfg)
                .map_err(|e| anyhow::anyhow!("{}: {e}", input.input.display()))?;
            let bytes = model.to_bytes();
            write_model(&out, &bytes)?;
            let h = model.header();
            println!(
                "{}",
                json!({
                    "model": out,
                    "kind": h.kind,
                    "labels": h.labels.len(),
                    "examples": h.examples,
                    "examples_from_file": from_file,
                    "holdout_accuracy": h.holdout_accuracy,
                    "holdout": match (h.holdout_accuracy, sentiment && !no_shipped_examples) {
                        (None, _) => Some(switchboard_understand::model::HOLDOUT_NONE),
                        // The shipped posts are easier than real messages: say whose tenth it is.
                        (Some(_), true) => Some("a tenth of the file's examples and the shipped posts together; score the model on your own held-out messages with `model eval`"),
                        (Some(_), false) => None,
                    },
                    "hidden": h.hidden,
                    // As written (0.2), not as an f32 widens (0.20000000298…).
                    "unknown_below": h.unknown_below.to_string().parse::<f64>().ok(),
                    "new_words_above": h
                        .new_words_above
                        .and_then(|x| x.to_string().parse::<f64>().ok()),
                    "bytes": bytes.len(),
                    "seconds": started.elapsed().as_secs_f64(),
                })
            );
            Ok(())
        }
        ModelCommand::Calibrate {
            model,
            input,
            out,
            anyway,
        } => {
            refuse_overwriting_input(&out, &input.input)?;
            let mut model = load(&model)?;
            let examples = examples(&input)?;
            let done = model
                .recalibrate(&examples, anyway)
                .map_err(|e| anyhow::anyhow!("{}: {e}", input.input.display()))?;
            write_model(&out, &model.to_bytes())?;
            println!("{}", json!({ "model": out, "calibration": done }));
            Ok(())
        }
        ModelCommand::Eval { model, input } => {
            let model = load(&model)?;
            let examples = examples(&input)?;
            let started = Instant::now();
            // The best label, even below the floor, its probability, and whether the model
            // answers with it (as `analyze` does) or says `unknown`.
            let judged: Vec<(usize, f32, bool)> = examples
                .iter()
                .map(|e| model.best_and_answers(&e.text))
                .collect();
            let best: Vec<(usize, f32)> = judged.iter().map(|&(b, c, _)| (b, c)).collect();
            let answers: Vec<bool> = judged.iter().map(|&(_, _, a)| a).collect();
            let seconds = started.elapsed().as_secs_f64();
            let predicted: Vec<&str> = best
                .iter()
                .map(|&(b, _)| model.labels()[b].as_str())
                .collect();
            let gold: Vec<&str> = examples.iter().map(|e| e.label.as_str()).collect();
            let right: Vec<bool> = gold.iter().zip(&predicted).map(|(g, p)| g == p).collect();
            let confidence: Vec<f32> = best.iter().map(|&(_, c)| c).collect();
            let calibration = switchboard_understand::model::calibration(
                &confidence,
                &right,
                model.header().unknown_below,
                10,
            )
            .answered_as(&model, &answers, &right);
            let unseen: Vec<&str> = {
                let mut u: Vec<&str> = gold
                    .iter()
                    .copied()
                    .filter(|g| !model.labels().iter().any(|l| l == g))
                    .collect();
                u.sort_unstable();
                u.dedup();
                u
            };
            let none_in_scope = unseen.len() == gold_labels(&gold);
            if none_in_scope {
                eprintln!(
                    "warning: none of the file's labels is one the model predicts (it predicts {}), \
                     so every prediction counts as wrong in accuracy: is --label-column the right \
                     column, or --model the right model? (If these are questions outside the \
                     model's labels, out_of_scope says how many it leaves unknown.)",
                    model.labels().join(", ")
                );
            }
            let s = score(model.labels(), &gold, &predicted);
            let scope = scope_report(&gold, &answers, &right, &unseen);
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({
                    "examples": s.examples,
                    "accuracy": s.accuracy,
                    // No line with one of the model's labels: nothing measured, null, not 0.
                    "macro_f1": (!none_in_scope).then_some(s.macro_f1),
                    "per_label": s.per_label,
                    "labels_not_in_model": unseen,
                    "in_scope": scope.0,
                    "out_of_scope": scope.1,
                    "calibration": calibration,
                    "confusion": switchboard_understand::model::confusion(&gold, &predicted),
                    "predictions_per_second": s.examples as f64 / seconds.max(1e-9),
                }))?
            );
            Ok(())
        }
    }
}

/// The models a workspace has in force (its active versions; the shipped purpose and
/// sentiment models where none is active), as the server understands messages with them.
pub async fn workspace_analyzer(store: &switchboard_store::Store) -> anyhow::Result<Analyzer> {
    let mut analyzer = Analyzer::builtin();
    for kind in ["intent", "purpose", "sentiment"] {
        let Some((v, bytes)) = store.active_model(kind.to_owned()).await? else {
            continue;
        };
        let model = TextModel::from_bytes(&bytes).map_err(|e| {
            anyhow::anyhow!("the workspace's {kind} model, version {}: {e}", v.version)
        })?;
        let model = std::sync::Arc::new(model);
        match kind {
            "intent" => analyzer.intent = Some(model),
            "purpose" => analyzer.purpose = model,
            _ => analyzer.sentiment = model,
        }
    }
    Ok(analyzer)
}

/// How `unknown` serves the examples (the floor, and words new to the model), split by
/// whether the model has their label: of those it has (`in_scope`), the share whose best
/// label is right (`accuracy` over the lines whose gold label the model has), the share it
/// answers and how many of those are right; of those it has not (`out_of_scope`: such as CLINC150's
/// `oos`, questions about something else), how many it leaves `unknown`, which is the right
/// answer for them.
fn scope_report(
    gold: &[&str],
    answers: &[bool],
    right: &[bool],
    unseen: &[&str],
) -> (serde_json::Value, serde_json::Value) {
    // Nothing to measure is null, not 0.
    let ratio = |a: usize, b: usize| (b > 0).then(|| a as f64 / b as f64);
    let (mut inside, mut inside_right, mut answered, mut answered_right) = (0, 0, 0, 0);
    let (mut outside, mut unknown) = (0, 0);
    for ((g, &answers), &ok) in gold.iter().zip(answers).zip(right) {
        if unseen.contains(g) {
            outside += 1;
            unknown += usize::from(!answers);
        } else {
            inside += 1;
            inside_right += usize::from(ok);
            answered += usize::from(answers);
            answered_right += usize::from(answers && ok);
        }
    }
    (
        json!({
            "examples": inside,
            "accuracy": ratio(inside_right, inside),
            "answered": ratio(answered, inside),
            "answered_accuracy": ratio(answered_right, answered),
        }),
        json!({
            "examples": outside,
            "unknown": unknown,
            "unknown_share": ratio(unknown, outside),
        }),
    )
}

/// How many different labels `gold` has.
fn gold_labels(gold: &[&str]) -> usize {
    gold.iter().collect::<std::collections::HashSet<_>>().len()
}

/// `--out` naming the input file would replace the examples with the model.
fn refuse_overwriting_input(out: &Path, input: &Path) -> anyhow::Result<()> {
    let same = out == input
        || matches!((out.canonicalize(), input.canonicalize()), (Ok(a), Ok(b)) if a == b);
    if same {
        return Err(usage(format!(
            "--out {} is the input file: the model would replace the examples; choose another \
             name",
            out.display()
        )));
    }
    Ok(())
}

/// `switchboard analyze`: one JSON object per line of stdin. A line that is not UTF-8 text, or
/// longer than the API takes (64 KiB), gets `{"line": N, "error": …}` in its place (so output
/// line N still answers input line N), the others are analysed, and the command then fails
/// naming how many lines it could not read.
pub fn analyze(
    mut analyzer: Analyzer,
    model: Option<String>,
    sentiment_model: Option<String>,
    evidence: usize,
) -> anyhow::Result<()> {
    analyzer.evidence = evidence;
    let mut sentiment_given = false;
    if let Some(spec) = model {
        // A model takes the place its kind says: a purpose or sentiment model replaces the
        // shipped one, any other kind (an intent model) is added.
        let model = std::sync::Arc::new(load(&spec)?);
        match model.header().kind.as_str() {
            "purpose" => analyzer.purpose = model,
            "sentiment" => {
                analyzer.sentiment = load_kind(&spec, "sentiment").map(Into::into)?;
                sentiment_given = true;
            }
            _ => analyzer.intent = Some(model),
        }
    }
    if let Some(spec) = sentiment_model {
        if sentiment_given {
            return Err(usage(
                "--model is a sentiment model already: give one sentiment model, with \
                 --model or with --sentiment-model",
            ));
        }
        analyzer.sentiment = std::sync::Arc::new(load_kind(&spec, "sentiment")?);
    }
    let mut input = std::io::stdin().lock();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let (mut raw, mut number, mut unreadable) = (Vec::new(), 0usize, Vec::new());
    loop {
        raw.clear();
        // Room for the line ending after the longest line.
        let Some(whole) = read_line_capped(&mut input, &mut raw, MAX_LINE_BYTES + 2)
            .context("cannot read stdin")?
        else {
            break;
        };
        number += 1;
        let bytes = raw.strip_suffix(b"\n").unwrap_or(&raw);
        // A byte-order mark before the first line is not text (positions count from after it).
        let bytes = match number {
            1 => bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes),
            _ => bytes,
        };
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        let whole = whole && bytes.len() <= MAX_LINE_BYTES;
        let line = match (whole, std::str::from_utf8(bytes)) {
            (true, Ok(line)) => Ok(line),
            (true, Err(e)) => Err(format!(
                "line {number} is not UTF-8 text (its byte {} is not valid; bytes count from 1, \
                 as lines do)",
                e.valid_up_to() + 1
            )),
            (false, _) => Err(format!(
                "line {number} is longer than {MAX_LINE_BYTES} bytes (a text the API takes is \
                 at most that)"
            )),
        };
        let line = match line {
            Ok(line) => line,
            Err(error) => {
                eprintln!("{error}");
                writeln!(out, "{}", json!({"line": number, "error": error}))
                    .context("cannot write stdout")?;
                unreadable.push(number);
                continue;
            }
        };
        let u = analyzer.analyze(line);
        let label = |c: &Option<switchboard_core::Classification>| {
            c.as_ref().map(|c| {
                let mut v =
                    json!({"label": c.label, "confidence": c.confidence, "because": c.because});
                if let Some(why) = &c.unknown {
                    v["unknown"] = json!(why);
                }
                v
            })
        };
        let record = json!({
            "intent": label(&u.intent),
            "purpose": label(&u.purpose),
            "sentiment": u.sentiment,
            "language": u.language,
            "personal_data": u.personal_data,
        });
        writeln!(out, "{record}").context("cannot write stdout")?;
    }
    out.flush().context("cannot write stdout")?;
    match unreadable.as_slice() {
        [] => Ok(()),
        [one] if number == 1 => {
            anyhow::bail!(
                "line {one}, the only line, could not be read (not UTF-8 text, or too long)"
            )
        }
        [one] => {
            anyhow::bail!(
                "line {one} of {number} could not be read (not UTF-8 text, or too long); the \
                 others were analysed"
            )
        }
        lines if lines.len() == number => {
            anyhow::bail!("none of the {number} lines could be read (not UTF-8 text, or too long)")
        }
        lines => anyhow::bail!(
            "{} lines of {number} could not be read (not UTF-8 text, or too long; the first: \
             line {}); the others were analysed",
            lines.len(),
            lines[0]
        ),
    }
}

/// The longest line `analyze` reads: what the API takes as one text (64 KiB).
const MAX_LINE_BYTES: usize = 64 * 1024;

/// Reads one line (with its `\n`) into `buf`, keeping at most `cap` bytes of it and skipping
/// the rest, so a huge line costs no memory: `None` at the end of the input, else whether the
/// whole line was kept.
fn read_line_capped(
    input: &mut impl BufRead,
    buf: &mut Vec<u8>,
    cap: usize,
) -> std::io::Result<Option<bool>> {
    let (mut read_any, mut whole) = (false, true);
    loop {
        let chunk = match input.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(read_any.then_some(whole));
        }
        read_any = true;
        let (taken, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = cap.saturating_sub(buf.len());
        if taken > room {
            whole = false;
        }
        buf.extend_from_slice(&chunk[..taken.min(room)]);
        input.consume(taken);
        if done {
            return Ok(Some(whole));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_read_up_to_the_cap_and_the_rest_skipped() {
        // A reader with a small buffer, so lines span several chunks.
        let text = b"short\nabcdefghij\n\nlast without newline";
        let mut input = std::io::BufReader::with_capacity(3, &text[..]);
        let mut lines = Vec::new();
        let mut buf = Vec::new();
        while let Some(whole) = read_line_capped(&mut input, &mut buf, 6).unwrap() {
            lines.push((String::from_utf8(buf.clone()).unwrap(), whole));
            buf.clear();
        }
        assert_eq!(
            lines,
            [
                ("short\n".to_owned(), true),
                ("abcdef".to_owned(), false),
                ("\n".to_owned(), true),
                ("last w".to_owned(), false),
            ]
        );
    }
}

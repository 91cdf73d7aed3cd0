//! Admin: the models that understand messages. What is in force for purposes, intents and
//! sentiments, every version (make an older one active again: a rollback; or none: the
//! shipped purpose or sentiment model, no intent model), and where the learning loop stands: corrections waiting, when it
//! retrains, and what it last decided and why.

use crate::page::{Section, Viewer, ago, respond, shell};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde_json::Value;
use switchboard_core::{Permission, Timestamp};
use switchboard_server::AppState;
use switchboard_store::ModelVersion;

pub async fn page(State(state): State<AppState>, v: Viewer) -> Response {
    if let Some(r) = v.refuse(Permission::ManageRouting) {
        return r;
    }
    let versions = match state.store.list_models().await {
        Ok(v) => v,
        Err(e) => return crate::page::store_error(e, "models"),
    };
    let mut learning = Vec::new();
    for kind in ["purpose", "intent", "sentiment"] {
        match switchboard_server::learning::status(&state, kind).await {
            Ok(s) => learning.push((kind, s)),
            Err(e) => {
                return crate::page::error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("The learning loop's state cannot be read: {e}"),
                );
            }
        }
    }
    let now = state.clock.now();
    let running = switchboard_server::api::models::trainings_running(&state);
    let body = html! {
        h1 { "Models" }
        p.hint { "Every customer message is understood before it is routed: its purpose (a model shipped with Switchboard, retrained from agents' corrections), its intent (a model your workspace trains), its sentiment (a model shipped with Switchboard, or one your workspace trains; both retrained from agents' corrections), language and personal data." }
        @for (kind, status) in &learning {
            (kind_section(kind, status, &versions, &running[*kind], now))
        }
        section #train-intents {
            h2 { "Train an intent model" }
            p.hint { "From examples of your customers' messages, each labelled with its intent: a CSV or TSV file with a header row, or JSON Lines (one object a line). Every label needs at least two examples; 10,000 examples take from a few seconds to a minute or two, as the machine allows. The new model is in force as soon as it is trained (the one before stays listed, to go back to), and agents' intent corrections retrain it." }
            (train_form("intent"))
            p.hint { "From a script: " code { "POST /api/v1/models/intent/train?label_column=category" } " with the file as the body; or "
                code { "switchboard model train --kind intent --input FILE --out MODEL" } " and " code { "switchboard model install MODEL" } "." }
        }
        section #train-sentiment {
            h2 { "Train a sentiment model" }
            p.hint { "From your own messages labelled " code { "negative" } ", " code { "neutral" } " or " code { "positive" } ", in a CSV or TSV file with a header row or JSON Lines. They are added to the posts the shipped model learned from (in English), unless you untick that below. The new model is in force as soon as it is trained." }
            (train_form("sentiment"))
            p.hint { "From a script: " code { "POST /api/v1/models/sentiment/train" } " with the file as the body (" code { "?shipped_examples=false" } " leaves the shipped posts out); or "
                code { "switchboard model train --kind sentiment --input FILE --out MODEL" } " and " code { "switchboard model install --kind sentiment MODEL" } "." }
        }
    };
    respond(StatusCode::OK, shell(&v, Section::Admin, "Models", body))
}

/// A form that sends a file of labelled examples to train a model of `kind` on the server.
fn train_form(kind: &str) -> Markup {
    let id = |field: &str| format!("train-{kind}-{field}");
    html! {
        form.upload id={"train-" (kind) "-form"} data-upload={"/api/v1/models/" (kind) "/train"} data-after="model"
            data-anchor={"models-" (kind)} data-again="Show it in the list"
            data-max-bytes=(switchboard_server::api::models::MAX_MODEL_BYTES)
            data-busy="Training… a small file takes a moment, 10,000 examples up to a minute or two. Keep this page open to see the result (the training finishes on the server either way)." {
            p { label for=(id("file")) { "File of labelled examples (.csv, .tsv or .jsonl; at most " (switchboard_server::api::models::MAX_MODEL_BYTES >> 20) " MB)" } br;
                input id=(id("file")) type="file" name="file" required accept=".csv,.tsv,.jsonl,.ndjson,.txt,text/csv,text/tab-separated-values,application/x-ndjson"; }
            p.fields {
                label for=(id("text")) { "Text column " input id=(id("text")) name="text_column" value="text" required size="12"; }
                " "
                label for=(id("label")) { "Label column " input id=(id("label")) name="label_column" value="label" required size="12"; }
                " "
                label for=(id("format")) { "Format "
                    select id=(id("format")) name="format" {
                        option value="" { "as the file's first line shows" }
                        option value="csv" { "CSV" }
                        option value="tsv" { "TSV (tab-separated)" }
                        option value="jsonl" { "JSON Lines" }
                    } }
            }
            @if kind == "sentiment" {
                p { label { input type="checkbox" name="shipped_examples" value="true" checked data-unchecked="false"; " Add the posts the shipped model learned from" } }
            }
            @if kind == "intent" {
                p.fields {
                    label for=(id("below")) { "Unknown below confidence "
                        input id=(id("below")) name="unknown_below" type="number" min="0" max="0.95" step="0.05" placeholder="0.3" size="5"; }
                    " "
                    label for=(id("new")) { "or when new words make up more than "
                        input id=(id("new")) name="new_words_above" type="number" min="0" max="1" step="0.05" placeholder="0.2" size="5"; } " of its words"
                }
                p.hint { "An intent is " code { "unknown" } " (a playbook can send it to Tier 1) below the confidence, and when more than that share of a message's words are new to the model and it is not 0.95 sure: questions about something else mostly are. 1 turns the second off. Empty: 0.3, and 0.2 from 1,000 examples (a smaller model knows too few of a customer's words, so it decides by confidence alone)." }
            }
            button.primary type="submit" { "Train the " (kind) " model" }
            div.form-error role="alert" {}
            p.form-done role="status" {}
        }
    }
}

fn kind_section(
    kind: &str,
    status: &Value,
    versions: &[ModelVersion],
    training: &Value,
    now: Timestamp,
) -> Markup {
    let mine: Vec<&ModelVersion> = versions.iter().filter(|m| m.kind == kind).collect();
    let active = mine.iter().find(|m| m.active);
    let in_force = match (active, kind) {
        (Some(m), _) => format!("version {}", m.version),
        (None, "purpose" | "sentiment") => "the model shipped with Switchboard".to_owned(),
        (None, _) => "none (messages get no intent)".to_owned(),
    };
    let last = &status["last_decision"];
    let title = match kind {
        "purpose" => "Purpose",
        "sentiment" => "Sentiment",
        _ => "Intent",
    };
    html! {
        section id={"models-" (kind)} {
            h2 { (title) }
            p { "In force: " strong.in-force { (in_force) } }
            @if let Some(by) = training["by"].as_str() {
                div.training {
                    p role="status" {
                        @match training["count"].as_u64() {
                            Some(n) if n > 1 => { (n) " trainings from a file are running (the first started by " (by) " " }
                            _ => { "A training from a file is running (started by " (by) " " }
                        }
                        @if let Some(at) = training["since"].as_str().and_then(|s| Timestamp::parse_rfc3339(s).ok()) { (ago(now, at)) }
                        @if training["stopping"] == true { ")." } @else { "); the new version is in force when it ends. Reload this page to see it." }
                    }
                    @if training["stopping"] == true {
                        p.stopping { "Stopping: it ends within one pass over its examples, installs nothing, and the model in force stays." }
                    } @else {
                        @let (text, confirm) = match training["count"].as_u64() {
                            Some(n) if n > 1 => ("Stop these trainings", format!("Stop all {n} {kind} trainings? Nothing they learned is kept, and the model in force stays.")),
                            _ => ("Stop the training", format!("Stop the {kind} training? Nothing it learned is kept, and the model in force stays.")),
                        };
                        form data-api={"/api/v1/models/" (kind) "/train"} data-method="DELETE" data-after="reload" {
                            button.link type="submit" aria-label={(text) " (" (kind) ")"} data-confirm=(confirm) { (text) }
                        }
                        div.form-error role="alert" {}
                    }
                }
            }
            p.learning {
                @if status["learning"] == true && status["corrections_waiting"].as_u64() >= status["retrain_after"].as_u64() {
                    (status["corrections_waiting"]) " new corrections: the next check retrains (" (status["corrections"]) " in all; checked every "
                    (seconds(&status["checks_every_seconds"])) ")."
                } @else if status["learning"] == true {
                    (status["corrections_waiting"]) " of " (status["retrain_after"])
                    " new corrections before the next retraining (" (status["corrections"]) " in all; checked every "
                    (seconds(&status["checks_every_seconds"])) ")."
                } @else {
                    "Corrections are kept (" (status["corrections"]) " so far) but retrain nothing: only the model trained on the server from the file last sent, or one retrained from it, learns from them."
                }
            }
            @if let Some(outcome) = last["outcome"].as_str() {
                p.last-decision {
                    "Last retraining: " strong { (outcome) } " " (decided_at(last, now)) " — " (explain(outcome, &last["detail"]))
                }
            }
            @if mine.is_empty() {
                p.empty { "No versions yet." }
            } @else {
                table.grid {
                    thead { tr { th scope="col" { "Version" } th scope="col" { "Labels" } th scope="col" { "Examples" } th scope="col" { "Held-back accuracy" } th scope="col" { "By" } th scope="col" { "When" } th scope="col" { "" } } }
                    tbody {
                        @for m in &mine {
                            tr {
                                th scope="row" { (m.version) @if m.active { " (active)" } }
                                td { (number(&m.summary["labels"])) }
                                td { (number(&m.summary["examples"])) }
                                td { (gate(&m.summary)) }
                                td { (if m.summary["trained_by"] == "learning loop" { "the learning loop".to_owned() } else { m.created_by.clone() }) }
                                td { (ago(now, m.created_at)) }
                                td {
                                    @if m.active {
                                        form data-api={"/api/v1/models/" (kind) "/deactivate"} data-after="reload" {
                                            button.link type="submit" data-confirm=(match kind { "purpose" => "Go back to the shipped purpose model?", "sentiment" => "Go back to the shipped sentiment model?", _ => "Stop classifying intents?" }) { "Deactivate" } }
                                    } @else {
                                        form data-api={"/api/v1/models/" (kind) "/versions/" (m.version) "/activate"} data-after="reload" {
                                            button.link type="submit" data-confirm={"Make version " (m.version) " the one in force? Messages are understood with it from now on."} { "Make active" } }
                                    }
                                }
                            }
                        }
                    }
                }
                div.form-error role="alert" {}
            }
        }
    }
}

fn decided_at(last: &Value, now: Timestamp) -> Markup {
    match last["decided_at"]
        .as_str()
        .and_then(|s| Timestamp::parse_rfc3339(s).ok())
    {
        Some(at) => ago(now, at),
        None => html! {},
    }
}

fn seconds(v: &Value) -> String {
    let s = v.as_f64().unwrap_or(0.0);
    if s >= 1.0 && s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s} s")
    }
}

fn number(v: &Value) -> String {
    v.as_u64().map_or_else(|| "—".to_owned(), |n| n.to_string())
}

/// How a learning-loop version did on the corrections held back from its training.
fn gate(summary: &Value) -> String {
    let g = &summary["held_back_accuracy"];
    match (g["candidate"].as_f64(), g["current"].as_f64()) {
        (Some(c), Some(before)) => format!(
            "{:.0}% (the model before: {:.0}%) on the {} latest corrections, held back",
            c * 100.0,
            before * 100.0,
            summary["held_back"].as_u64().unwrap_or(0)
        ),
        _ => summary["holdout_accuracy"].as_f64().map_or_else(
            || {
                // Too few examples to hold a tenth back: say so, not a bare dash.
                summary["holdout"]
                    .as_str()
                    .map_or_else(|| "—".to_owned(), |why| format!("— ({why})"))
            },
            |a| format!("{:.1}% on its own held-out tenth", a * 100.0),
        ),
    }
}

fn explain(outcome: &str, detail: &Value) -> String {
    let pct = |v: &Value| {
        v.as_f64()
            .map_or_else(|| "?".to_owned(), |x| format!("{:.0}%", x * 100.0))
    };
    match outcome {
        "shipped" => {
            let waiting: Vec<&str> = detail["summary"]["labels_left_out"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut s = format!("it shipped as version {}", number(&detail["version"]));
            if !waiting.is_empty() {
                s.push_str(&format!(
                    "; left out until each has a second example: {}",
                    waiting.join(", ")
                ));
            }
            s
        }
        "kept" => format!(
            "the candidate labelled {} of the held-back corrections right, the model in force {}; it stays",
            pct(&detail["held_back_accuracy"]["candidate"]),
            pct(&detail["held_back_accuracy"]["current"])
        ),
        "unchanged" => "the candidate was the model in force".to_owned(),
        "skipped" => detail["reason"]
            .as_str()
            .unwrap_or("nothing to train")
            .to_owned(),
        "failed" => format!(
            "failed: {}",
            detail["error"].as_str().unwrap_or("unknown error")
        ),
        "training" => "in progress".to_owned(),
        "interrupted" => {
            "the server stopped before it finished; the next round starts when new corrections arrive"
                .to_owned()
        }
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The intent form offers how the model says `unknown`, by the API's parameter names; the
    /// sentiment form does not.
    #[test]
    fn the_intent_form_sets_how_the_model_says_unknown() {
        let intent = train_form("intent").0;
        for name in [r#"name="unknown_below""#, r#"name="new_words_above""#] {
            assert!(intent.contains(name), "{intent}");
        }
        assert!(intent.contains(r#"placeholder="0.2""#), "{intent}");
        let sentiment = train_form("sentiment").0;
        assert!(!sentiment.contains("unknown_below"), "{sentiment}");
    }

    /// The section says whether trainings from a file run, and how many, while they run.
    #[test]
    fn a_kind_says_how_many_trainings_from_a_file_run() {
        let now = Timestamp::parse_rfc3339("2026-12-07T12:00:00Z").unwrap();
        let status = json!({"learning": true, "corrections_waiting": 0, "retrain_after": 20});
        let render = |training: Value| kind_section("intent", &status, &[], &training, now).0;
        let idle = render(Value::Null);
        assert!(!idle.contains("training from a file"), "{idle}");
        let one = render(json!({"by": "ann", "since": "2026-12-07T11:58:00Z", "count": 1}));
        assert!(
            one.contains("A training from a file is running (started by ann ")
                && one.contains("2 min ago</time>); the new version is in force when it ends"),
            "{one}"
        );
        let two = render(json!({"by": "ann", "since": "2026-12-07T11:58:00Z", "count": 2}));
        assert!(
            two.contains("2 trainings from a file are running (the first started by ann"),
            "{two}"
        );
        // They can be stopped from there; nothing to stop when none runs.
        let stop = r#"data-api="/api/v1/models/intent/train" data-method="DELETE""#;
        assert!(
            one.contains(stop) && one.contains(">Stop the training</button>"),
            "{one}"
        );
        assert!(
            two.contains(stop) && two.contains(">Stop these trainings</button>"),
            "{two}"
        );
        assert!(!idle.contains(stop), "{idle}");
        // Once told to stop, it says so, and there is nothing more to press.
        let stopping = render(
            json!({"by": "ann", "since": "2026-12-07T11:58:00Z", "count": 1, "stopping": true}),
        );
        assert!(
            stopping.contains("Stopping: it ends within one pass"),
            "{stopping}"
        );
        assert!(!stopping.contains(stop), "{stopping}");
        assert!(!stopping.contains("in force when it ends"), "{stopping}");
    }
}

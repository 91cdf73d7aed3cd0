//! The learning loop: agents' corrections (see `store/src/training.rs`) retrain the purpose
//! model, the sentiment model, and the workspace's intent model when one is in force and was
//! trained through the API (so its examples are stored), in the background. A candidate is
//! trained on the base examples (the shipped ones for purposes; for sentiments the shipped
//! posts, and the uploaded file's when a model trained from one is in force, or that file's
//! alone when it was trained without the shipped posts; the uploaded file's for intents) plus
//! every correction but the most recent fifth, which is held back; it replaces the model in force
//! only if it labels those held-back corrections at least as well (a worse model never ships).
//! Each model shipped is a new version of its kind, so it can be rolled back; each decision is
//! stored (`GET /models` shows it), counted and audited.
//!
//! The decision is kept in the database with the newest correction it covered, so a restart
//! or a second node never retrains on corrections already judged, and an admin's rollback or
//! deactivation stands until enough new corrections arrive. A label with fewer than two
//! examples (an agent's first use of a new purpose) is left out of a candidate until a second
//! one comes, rather than failing the retraining.

use crate::AppState;
use crate::metrics::global;
use crate::understanding::{INTENT, PURPOSE, SENTIMENT, reload, train_config};
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;
use switchboard_store::{Actor, LearningDecision, ModelVersion, TrainingExample};
use switchboard_understand::defaults;
use switchboard_understand::model::{Example, TextModel, TrainConfig, train};

pub async fn run(state: AppState) {
    let tick = Duration::from_millis(state.config.retrain_tick_ms.max(10));
    let mut shutdown = state.shutdown.subscribe();
    for kind in LEARNING {
        for outcome in OUTCOMES {
            global().retrain_series(kind, outcome);
        }
        if let Err(e) = close_interrupted(&state, kind).await {
            tracing::error!(error = %e, kind, "could not close an interrupted retraining");
        }
    }
    loop {
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = shutdown.changed() => return,
        }
        for kind in LEARNING {
            if let Err(e) = retrain_once(&state, kind).await {
                tracing::error!(error = %e, kind, "retraining failed");
            }
        }
    }
}

/// A round still `training` when the server starts was cut short: the process stopped (a
/// crash, a kill, a deploy) between claiming the round and recording its outcome. Left as it
/// is, `GET /models` and the Models page would say "in progress" until enough new corrections
/// start another round; it is closed as `interrupted`, counted and logged. Its corrections
/// stay judged (retrying them at once could crash again the same way); the next round starts
/// when `retrain_min_new` new ones arrive. With several nodes, one starting while another
/// trains closes that round too, and the training node's outcome then replaces it.
async fn close_interrupted(state: &AppState, kind: &'static str) -> anyhow::Result<()> {
    let Some(last) = state.store.learning_decision(kind.to_owned()).await? else {
        return Ok(());
    };
    if last.outcome != "training" {
        return Ok(());
    }
    let through = last.decided_through.clone();
    let mut detail = last.detail.clone();
    detail["reason"] = json!("the server stopped during training");
    detail["started_at"] = json!(last.decided_at.to_rfc3339());
    let closed = state
        .store
        .record_learning_decision(
            kind.to_owned(),
            through.clone(),
            LearningDecision {
                decided_through: through,
                decided_at: state.clock.now(),
                outcome: "interrupted".into(),
                detail,
            },
        )
        .await?;
    if closed {
        global().retrain(kind, "interrupted");
        tracing::warn!(kind, "a retraining was interrupted by a restart; closed");
    }
    Ok(())
}

/// The kinds agents' corrections retrain.
const LEARNING: [&str; 3] = [PURPOSE, INTENT, SENTIMENT];

/// Every outcome a retraining round can be counted with (`switchboard_retrains_total`).
const OUTCOMES: [&str; 6] = [
    "shipped",
    "kept",
    "unchanged",
    "skipped",
    "failed",
    "interrupted",
];

/// The outcome of one retraining.
#[derive(Debug)]
pub enum Decision {
    /// The candidate did at least as well and is now the active version.
    Shipped(ModelVersion),
    /// The candidate did worse on the held-back corrections; the model in force stays.
    Kept { current: f64, candidate: f64 },
    /// The candidate is the model in force, byte for byte.
    Unchanged,
    /// No candidate could be trained (why).
    Skipped(String),
}

impl Decision {
    fn outcome(&self) -> &'static str {
        match self {
            Decision::Shipped(_) => "shipped",
            Decision::Kept { .. } => "kept",
            Decision::Unchanged => "unchanged",
            Decision::Skipped(_) => "skipped",
        }
    }
}

/// Where the learning loop stands on `kind`: corrections not yet decided on, and the last
/// decision.
pub struct Standing {
    pub corrections: Vec<TrainingExample>,
    pub base: Vec<TrainingExample>,
    pub waiting: usize,
    pub last: Option<LearningDecision>,
    /// What a candidate learns from besides the corrections; `None`: corrections retrain
    /// nothing (no model of the kind trained here is in force).
    pub learns_from: Option<Base>,
    /// The stored file's [`base_digest`] (when there is one).
    pub file_digest: Option<String>,
}

/// The examples a retrained model starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// The shipped model's examples (purposes, sentiments).
    Shipped,
    /// The file the model in force was trained from through the API (stored); for
    /// sentiments, with the shipped posts, as that training had them.
    File,
    /// Sentiments: the file alone (trained with `shipped_examples=false`).
    FileAlone,
}

impl Base {
    fn name(self) -> &'static str {
        match self {
            Base::Shipped => "shipped",
            Base::File => "file",
            Base::FileAlone => "file alone",
        }
    }
}

/// A fingerprint of a training file's examples, in any order: the API's `train` records it
/// in the summary of the version it makes (`base_digest`), and the learning loop learns from
/// the stored examples only while the model in force was made from them, so after an older
/// version is made active again, or another file is installed, corrections never retrain it
/// from a file it was not trained on.
pub fn base_digest<'a>(examples: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    use sha2::{Digest, Sha256};
    let mut each: Vec<[u8; 32]> = examples
        .map(|(text, label)| {
            let mut h = Sha256::new();
            h.update((text.len() as u64).to_le_bytes());
            h.update(text.as_bytes());
            h.update(label.as_bytes());
            h.finalize().into()
        })
        .collect();
    each.sort_unstable();
    let mut all = Sha256::new();
    for h in &each {
        all.update(h);
    }
    format!("{:x}", all.finalize())
}

/// What the active version of a kind (its summary; `None`: no version active, so the shipped
/// model or no intent model) learned from, given the stored examples of the file trained
/// through the API (`file`: their digest, `None` when there are none):
/// - none active: the shipped examples (purposes, sentiments; an intent has nothing);
/// - one trained through the API: its file, if the stored examples are that file's (with
///   the shipped posts, for a sentiment model, unless it was trained without them);
/// - one the learning loop made: what the one before it had (its summary's `base`), with
///   the same check of the file;
/// - one installed from a file made elsewhere: nothing this server has.
///
/// A version recorded before digests were kept is taken to be from the stored file.
fn learns_from(kind: &str, active: Option<&serde_json::Value>, file: Option<&str>) -> Option<Base> {
    let Some(s) = active else {
        return (kind != INTENT).then_some(Base::Shipped);
    };
    let from_file = file.is_some_and(|d| s["base_digest"].as_str().is_none_or(|b| b == d));
    let alone = match (s["trained_by"].as_str(), s["base"].as_str()) {
        (Some("api"), _) => s["shipped_examples"] == false,
        (Some("learning loop"), Some("file")) => false,
        (Some("learning loop"), Some("file alone")) => true,
        // Made before versions recorded their base: an intent model's was its file.
        (Some("learning loop"), None) if kind == INTENT => false,
        (Some("learning loop"), _) => return (kind != INTENT).then_some(Base::Shipped),
        _ => return None,
    };
    match (from_file, kind) {
        (false, _) => None,
        (true, SENTIMENT) if alone => Some(Base::FileAlone),
        (true, _) => Some(Base::File),
    }
}

pub async fn standing(state: &AppState, kind: &'static str) -> anyhow::Result<Standing> {
    let last = state.store.learning_decision(kind.to_owned()).await?;
    let stored = state.store.training_examples(kind.to_owned()).await?;
    let (corrections, base): (Vec<_>, Vec<_>) =
        stored.into_iter().partition(|e| e.message_id.is_some());
    // Example ids are UUIDv7: later ones sort after earlier ones.
    let through = last.as_ref().map_or("", |d| d.decided_through.as_str());
    let waiting = corrections
        .iter()
        .filter(|e| e.id.to_string().as_str() > through)
        .count();
    // Purposes always learn, from the shipped examples; intents and sentiments see
    // `learns_from`.
    let file_digest = (kind != PURPOSE && !base.is_empty())
        .then(|| base_digest(base.iter().map(|e| (e.text.as_str(), e.label.as_str()))));
    let learns_from = if kind == PURPOSE {
        Some(Base::Shipped)
    } else {
        let models = state.store.list_models().await?;
        let active = models.iter().find(|m| m.kind == kind && m.active);
        learns_from(kind, active.map(|m| &m.summary), file_digest.as_deref())
    };
    Ok(Standing {
        corrections,
        base,
        waiting,
        last,
        learns_from,
        file_digest,
    })
}

/// What `GET /models` shows about the learning loop for `kind`.
pub async fn status(state: &AppState, kind: &'static str) -> anyhow::Result<serde_json::Value> {
    let s = standing(state, kind).await?;
    Ok(json!({
        "corrections": s.corrections.len(),
        "corrections_waiting": s.waiting,
        "retrain_after": state.config.retrain_min_new.max(1),
        "checks_every_seconds": state.config.retrain_tick_ms as f64 / 1000.0,
        "learning": s.learns_from.is_some(),
        "last_decision": s.last,
    }))
}

/// Retrains `kind` when at least `retrain_min_new` corrections came since the last decision;
/// returns the decision, or `None` when there was nothing to do (too few new corrections, no
/// intent model to learn into, or another node took this round).
pub async fn retrain_once(
    state: &AppState,
    kind: &'static str,
) -> anyhow::Result<Option<Decision>> {
    let s = standing(state, kind).await?;
    let Some(learns_from) = s.learns_from else {
        return Ok(None);
    };
    if s.waiting < state.config.retrain_min_new.max(1) {
        return Ok(None);
    }
    let through = s
        .last
        .as_ref()
        .map(|d| d.decided_through.clone())
        .unwrap_or_default();
    let newest = s
        .corrections
        .iter()
        .map(|e| e.id.to_string())
        .max()
        .unwrap_or_default();
    let now = state.clock.now();
    let claim = LearningDecision {
        decided_through: newest.clone(),
        decided_at: now,
        outcome: "training".into(),
        detail: json!({"corrections": s.corrections.len()}),
    };
    if !state
        .store
        .record_learning_decision(kind.to_owned(), through, claim)
        .await?
    {
        return Ok(None);
    }
    // A sentiment model's uploaded examples count while a model trained from them is in
    // force; after a rollback to the shipped model, the shipped posts alone are its base.
    let uploaded = if kind == SENTIMENT && learns_from == Base::Shipped {
        Vec::new()
    } else {
        s.base
    };
    let mut base: Vec<Example> = uploaded
        .into_iter()
        .map(|e| Example {
            text: e.text,
            label: e.label,
        })
        .collect();
    match kind {
        PURPOSE => base.extend(defaults::purpose_examples()),
        SENTIMENT if learns_from != Base::FileAlone => base.extend(defaults::sentiment_examples()),
        _ => {}
    }
    let seen = s.corrections.len();
    let digest = s.file_digest.filter(|_| learns_from != Base::Shipped);
    let result = decide(state, kind, (learns_from, digest), base, s.corrections).await;
    // A shipped version is in force before the decision says so (`GET /models` reports the
    // models loaded).
    let result = match result {
        Ok(Decision::Shipped(v)) => match reload(state).await {
            Ok(_) => Ok(Decision::Shipped(v)),
            Err(e) => Err(e.context(format!(
                "version {} was installed but does not load",
                v.version
            ))),
        },
        other => other,
    };
    let (outcome, detail) = match &result {
        Ok(d @ Decision::Shipped(v)) => (
            d.outcome(),
            json!({"version": v.version, "summary": v.summary}),
        ),
        Ok(d @ Decision::Kept { current, candidate }) => (
            d.outcome(),
            json!({"held_back_accuracy": {"current": current, "candidate": candidate}}),
        ),
        Ok(d @ Decision::Unchanged) => (d.outcome(), json!({})),
        Ok(d @ Decision::Skipped(why)) => (d.outcome(), json!({"reason": why})),
        Err(e) => ("failed", json!({"error": e.to_string()})),
    };
    global().retrain(kind, outcome);
    let mut detail = detail;
    detail["corrections"] = json!(seen);
    state
        .store
        .record_learning_decision(
            kind.to_owned(),
            newest.clone(),
            LearningDecision {
                decided_through: newest,
                decided_at: state.clock.now(),
                outcome: outcome.into(),
                detail: detail.clone(),
            },
        )
        .await?;
    match &result {
        Ok(Decision::Shipped(v)) => {
            tracing::info!(kind, version = v.version, "a retrained model shipped")
        }
        Ok(Decision::Kept { current, candidate }) => {
            tracing::info!(
                kind,
                current,
                candidate,
                "a retrained model scored lower; the model in force stays"
            );
            state
                .store
                .audit_event(
                    Actor::System,
                    "model.rejected",
                    ("model", kind.to_owned()),
                    json!({"kind": kind, "held_back_accuracy": {"current": current, "candidate": candidate}, "corrections": seen}),
                    now,
                )
                .await?;
        }
        Ok(Decision::Unchanged) => {}
        Ok(Decision::Skipped(why)) => tracing::warn!(kind, why, "no model could be retrained"),
        Err(_) => {}
    }
    result.map(Some)
}

/// The version of `kind` active in the store (`None`: the shipped model, or no intent model).
async fn active_version(state: &AppState, kind: &str) -> anyhow::Result<Option<i64>> {
    Ok(state
        .store
        .list_models()
        .await?
        .into_iter()
        .find(|m| m.kind == kind && m.active)
        .map(|m| m.version))
}

/// Leaves out the examples of labels with fewer than two (training needs two of each):
/// returns the labels left out.
fn drop_lone_labels(examples: &mut Vec<Example>) -> Vec<String> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for e in examples.iter() {
        *counts.entry(e.label.as_str()).or_default() += 1;
    }
    let mut lone: Vec<String> = counts
        .into_iter()
        .filter(|(_, n)| *n < 2)
        .map(|(l, _)| l.to_owned())
        .collect();
    lone.sort();
    examples.retain(|e| !lone.contains(&e.label));
    lone
}

/// Trains a candidate on `examples` (the base: what `learns_from` names, and the file's
/// digest when it is a file) and the older corrections, and ships it if it does as well on
/// the newer ones.
async fn decide(
    state: &AppState,
    kind: &'static str,
    (learns_from, base_digest_of): (Base, Option<String>),
    mut examples: Vec<Example>,
    corrections: Vec<TrainingExample>,
) -> anyhow::Result<Decision> {
    let started_from = active_version(state, kind).await?;
    let analyzer = state.analyzer();
    let current = match kind {
        PURPOSE => Some(analyzer.purpose.clone()),
        SENTIMENT => Some(analyzer.sentiment.clone()),
        _ => analyzer.intent.clone(),
    };
    let mut config = train_config(kind, current.as_ref().map_or(0, |m| m.hidden()));
    // A retrained model decides `unknown` as the one in force does (its floor, and whether new
    // words count: a model made before that rule keeps deciding by its floor alone).
    if let Some(m) = &current {
        config.unknown_below = m.header().unknown_below;
        config.new_words_above = m.header().new_words_above;
    }
    let held = (corrections.len() / 5).max(1);
    let (older, recent) = corrections.split_at(corrections.len() - held);
    examples.extend(older.iter().map(|e| Example {
        text: e.text.clone(),
        label: e.label.clone(),
    }));
    let left_out = drop_lone_labels(&mut examples);
    let taught = older
        .iter()
        .filter(|e| !left_out.contains(&e.label))
        .count();
    // The corrections come last, and every n-gram they have is kept: a network otherwise
    // keeps only n-grams of two examples or more, and one correction with a new word would
    // teach it nothing.
    let config = TrainConfig {
        keep_all_from: Some(examples.len() - taught),
        ..config
    };
    if taught == 0 {
        // The candidate would be the model in force retrained on the same examples.
        return Ok(Decision::Skipped(format!(
            "no correction can teach yet: each one's label needs a second example (waiting: {})",
            left_out.join(", ")
        )));
    }
    let labels = examples
        .iter()
        .map(|e| e.label.as_str())
        .collect::<std::collections::HashSet<_>>()
        .len();
    if labels < 2 {
        return Ok(Decision::Skipped(format!(
            "fewer than two labels with two examples each (left out: {})",
            left_out.join(", ")
        )));
    }
    let trained_on = examples.len();
    let recent: Vec<(String, String)> = recent
        .iter()
        .map(|e| (e.text.clone(), e.label.clone()))
        .collect();
    let (candidate, unchanged, current_score, candidate_score) =
        tokio::task::spawn_blocking(move || {
            let candidate = train(kind, &examples, &config)?;
            let score = |m: &TextModel| {
                let right = recent
                    .iter()
                    .filter(|(text, label)| m.labels()[m.best(text)] == *label)
                    .count();
                right as f64 / recent.len() as f64
            };
            let bytes = candidate.to_bytes();
            let unchanged = current.as_deref().is_some_and(|m| m.to_bytes() == bytes);
            Ok::<_, switchboard_understand::model::ModelError>((
                (bytes, candidate.summary()),
                unchanged,
                current.as_deref().map_or(0.0, score),
                score(&candidate),
            ))
        })
        .await??;
    if unchanged {
        return Ok(Decision::Unchanged);
    }
    if candidate_score < current_score {
        return Ok(Decision::Kept {
            current: current_score,
            candidate: candidate_score,
        });
    }
    let (bytes, mut summary) = candidate;
    summary["trained_by"] = json!("learning loop");
    summary["examples"] = json!(trained_on);
    summary["corrections"] = json!(older.len());
    summary["held_back"] = json!(held);
    summary["held_back_accuracy"] = json!({"current": current_score, "candidate": candidate_score});
    summary["labels_left_out"] = json!(left_out);
    summary["base"] = json!(learns_from.name());
    if let Some(digest) = base_digest_of {
        summary["base_digest"] = json!(digest);
    }
    // Only over the version this round started from: a model someone installed, trained or
    // made active meanwhile stays in force, and the next round starts from it.
    let _installing = state.installing.lock().await;
    if active_version(state, kind).await? != started_from {
        return Ok(Decision::Skipped(
            "another version was put in force while this round trained; the next round \
             starts from it"
                .to_owned(),
        ));
    }
    // (A candidate identical to an older version makes that one active again.)
    let (v, _) = state
        .store
        .install_model(
            kind.to_owned(),
            bytes,
            summary,
            Actor::System,
            state.clock.now(),
        )
        .await?;
    Ok(Decision::Shipped(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_learns_only_from_the_file_it_was_trained_on() {
        let file = base_digest([("hi", "greet"), ("bye", "leave")].into_iter());
        // Any order of the same examples is the same file; another label is another.
        assert_eq!(
            file,
            base_digest([("bye", "leave"), ("hi", "greet")].into_iter())
        );
        assert_ne!(
            file,
            base_digest([("hi", "greet"), ("bye", "greet")].into_iter())
        );
        let other = base_digest([("hello", "greet")].into_iter());
        let api = json!({"trained_by": "api", "base_digest": file});
        let stored = Some(file.as_str());
        assert_eq!(learns_from(INTENT, Some(&api), stored), Some(Base::File));
        // An older version made active again, trained on another file: nothing to learn from.
        assert_eq!(learns_from(INTENT, Some(&api), Some(other.as_str())), None);
        assert_eq!(learns_from(INTENT, Some(&api), None), None);
        // A version the loop made from it keeps learning from the same file.
        let looped = json!({"trained_by": "learning loop", "base": "file", "base_digest": file});
        assert_eq!(learns_from(INTENT, Some(&looped), stored), Some(Base::File));
        assert_eq!(
            learns_from(INTENT, Some(&looped), Some(other.as_str())),
            None
        );
        // A file made elsewhere (`model install`): no examples here.
        let installed = json!({"labels": 2});
        assert_eq!(learns_from(INTENT, Some(&installed), stored), None);
        assert_eq!(learns_from(SENTIMENT, Some(&installed), stored), None);
        // No version active: the shipped model (no intent model at all).
        assert_eq!(learns_from(INTENT, None, stored), None);
        assert_eq!(learns_from(SENTIMENT, None, stored), Some(Base::Shipped));
        // Sentiment models trained without the shipped posts stay without them.
        let alone = json!({"trained_by": "api", "base_digest": file, "shipped_examples": false});
        assert_eq!(
            learns_from(SENTIMENT, Some(&alone), stored),
            Some(Base::FileAlone)
        );
        let looped_alone = json!({"trained_by": "learning loop", "base": "file alone"});
        assert_eq!(
            learns_from(SENTIMENT, Some(&looped_alone), stored),
            Some(Base::FileAlone)
        );
        let looped_shipped = json!({"trained_by": "learning loop", "base": "shipped"});
        assert_eq!(
            learns_from(SENTIMENT, Some(&looped_shipped), None),
            Some(Base::Shipped)
        );
        // Recorded before digests (or bases) were kept: taken to be from the stored file.
        let old = json!({"trained_by": "api"});
        assert_eq!(learns_from(INTENT, Some(&old), stored), Some(Base::File));
        let old_loop = json!({"trained_by": "learning loop"});
        assert_eq!(
            learns_from(INTENT, Some(&old_loop), stored),
            Some(Base::File)
        );
        assert_eq!(
            learns_from(SENTIMENT, Some(&old_loop), stored),
            Some(Base::Shipped)
        );
    }

    #[test]
    fn labels_with_one_example_are_left_out() {
        let ex = |label: &str| Example {
            text: format!("about {label}"),
            label: label.into(),
        };
        let mut examples = vec![ex("a"), ex("b"), ex("a"), ex("c"), ex("b")];
        assert_eq!(drop_lone_labels(&mut examples), vec!["c".to_owned()]);
        assert_eq!(examples.len(), 4);
        assert!(examples.iter().all(|e| e.label != "c"));
    }
}

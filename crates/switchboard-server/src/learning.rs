//! The learning loop: agents' corrections (see `store/src/training.rs`) retrain the purpose
//! model, and the workspace's intent model when it was trained through the API (so its
//! examples are stored), in the background. A candidate is trained on the base examples (the
//! shipped ones for purposes, the uploaded file's for intents) plus every correction but the
//! most recent fifth, which is held back; it replaces the model in force only if it labels
//! those held-back corrections at least as well (a worse model never ships). Each model
//! shipped is a new version of its kind, so it can be rolled back; each decision is audited.

use crate::AppState;
use crate::understanding::{INTENT, PURPOSE, reload};
use serde_json::json;
use std::time::Duration;
use switchboard_store::{Actor, ModelVersion};
use switchboard_understand::defaults;
use switchboard_understand::model::{Example, train};

pub async fn run(state: AppState) {
    let tick = Duration::from_millis(state.config.retrain_tick_ms.max(10));
    let mut shutdown = state.shutdown.subscribe();
    // Corrections seen at the last decision, per kind: a rejected candidate is not retried
    // until more arrive.
    let mut decided_at = [0usize; 2];
    loop {
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = shutdown.changed() => return,
        }
        for (i, kind) in [PURPOSE, INTENT].into_iter().enumerate() {
            match retrain_once(&state, kind, decided_at[i]).await {
                Ok(Some(seen)) => decided_at[i] = seen,
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, kind, "retraining failed"),
            }
        }
    }
}

/// The outcome of one look: shipped (the new version), kept (the candidate was worse), or
/// nothing to do.
#[derive(Debug)]
pub enum Decision {
    Shipped(ModelVersion),
    Kept { current: f64, candidate: f64 },
}

/// Retrains `kind` when at least `retrain_min_new` corrections came since `decided_at`;
/// returns the number of corrections it decided on, or `None` when there was nothing to do
/// (too few corrections, or an intent model with no stored examples to start from).
pub async fn retrain_once(
    state: &AppState,
    kind: &'static str,
    decided_at: usize,
) -> anyhow::Result<Option<usize>> {
    let stored = state.store.training_examples(kind.to_owned()).await?;
    let (corrections, base): (Vec<_>, Vec<_>) =
        stored.into_iter().partition(|e| e.message_id.is_some());
    if corrections.len() < decided_at + state.config.retrain_min_new.max(1) {
        return Ok(None);
    }
    let mut base: Vec<Example> = base
        .into_iter()
        .map(|e| Example {
            text: e.text,
            label: e.label,
        })
        .collect();
    if kind == PURPOSE {
        base.extend(defaults::purpose_examples());
    } else if base.is_empty() {
        return Ok(None);
    }
    let seen = corrections.len();
    let decision = decide(state, kind, base, corrections).await?;
    match &decision {
        Decision::Shipped(v) => {
            tracing::info!(kind, version = v.version, "a retrained model shipped");
            reload(state).await?;
        }
        Decision::Kept { current, candidate } => {
            tracing::info!(
                current,
                candidate,
                "a retrained purpose model scored lower; the model in force stays"
            );
            state
                .store
                .audit_event(
                    Actor::System,
                    "model.rejected",
                    ("model", kind.to_owned()),
                    json!({"kind": kind, "held_back_accuracy": {"current": current, "candidate": candidate}, "corrections": seen}),
                    state.clock.now(),
                )
                .await?;
        }
    }
    Ok(Some(seen))
}

async fn decide(
    state: &AppState,
    kind: &'static str,
    mut examples: Vec<Example>,
    corrections: Vec<switchboard_store::TrainingExample>,
) -> anyhow::Result<Decision> {
    let analyzer = state.analyzer();
    let current = if kind == PURPOSE {
        Some(analyzer.purpose.clone())
    } else {
        analyzer.intent.clone()
    };
    let config = if kind == PURPOSE {
        defaults::purpose_config()
    } else {
        switchboard_understand::model::TrainConfig {
            threads: 2,
            ..Default::default()
        }
    };
    let held = (corrections.len() / 5).max(1);
    let (older, recent) = corrections.split_at(corrections.len() - held);
    let base = examples.len();
    examples.extend(older.iter().map(|e| Example {
        text: e.text.clone(),
        label: e.label.clone(),
    }));
    let recent: Vec<(String, String)> = recent
        .iter()
        .map(|e| (e.text.clone(), e.label.clone()))
        .collect();
    let (bytes, current_score, candidate_score) = tokio::task::spawn_blocking(move || {
        let candidate = train(kind, &examples, &config)?;
        let score = |m: &switchboard_understand::model::TextModel| {
            let right = recent
                .iter()
                .filter(|(text, label)| m.labels()[m.best(text)] == *label)
                .count();
            right as f64 / recent.len() as f64
        };
        Ok::<_, switchboard_understand::model::ModelError>((
            candidate.to_bytes(),
            current.as_deref().map_or(0.0, score),
            score(&candidate),
        ))
    })
    .await??;
    if candidate_score < current_score {
        return Ok(Decision::Kept {
            current: current_score,
            candidate: candidate_score,
        });
    }
    let summary = json!({
        "examples": base + older.len(),
        "corrections": older.len(),
        "held_back": held,
        "held_back_accuracy": {"current": current_score, "candidate": candidate_score},
    });
    let v = state
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

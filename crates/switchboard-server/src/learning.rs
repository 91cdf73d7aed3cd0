//! The learning loop: agents' purpose corrections (see `store/src/training.rs`) retrain the
//! purpose model in the background. A candidate is trained on the shipped examples plus every
//! correction but the most recent fifth, which is held back; it replaces the model in force
//! only if it labels those held-back corrections at least as well (a worse model never
//! ships). Each model shipped is a new version of the `purpose` kind, so it can be rolled back
//! like an intent model; each decision is audited.

use crate::AppState;
use crate::understanding::{PURPOSE, reload};
use serde_json::json;
use std::time::Duration;
use switchboard_store::{Actor, ModelVersion};
use switchboard_understand::defaults;
use switchboard_understand::model::{Example, train};

pub async fn run(state: AppState) {
    let tick = Duration::from_millis(state.config.retrain_tick_ms.max(10));
    let mut shutdown = state.shutdown.subscribe();
    // Corrections seen at the last decision: a rejected candidate is not retried until more
    // arrive.
    let mut decided_at = 0usize;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = shutdown.changed() => return,
        }
        match retrain_once(&state, decided_at).await {
            Ok(Some(seen)) => decided_at = seen,
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "retraining the purpose model failed"),
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

/// Retrains when at least `retrain_min_new` corrections came since `decided_at`; returns the
/// number of corrections it decided on, or `None` when there was nothing to do.
pub async fn retrain_once(state: &AppState, decided_at: usize) -> anyhow::Result<Option<usize>> {
    let corrections = state.store.training_examples(PURPOSE.to_owned()).await?;
    if corrections.len() < decided_at + state.config.retrain_min_new.max(1) {
        return Ok(None);
    }
    let seen = corrections.len();
    let decision = decide(state, corrections).await?;
    match &decision {
        Decision::Shipped(v) => {
            tracing::info!(version = v.version, "a retrained purpose model shipped");
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
                    ("model", PURPOSE.to_owned()),
                    json!({"kind": PURPOSE, "held_back_accuracy": {"current": current, "candidate": candidate}, "corrections": seen}),
                    state.clock.now(),
                )
                .await?;
        }
    }
    Ok(Some(seen))
}

async fn decide(
    state: &AppState,
    corrections: Vec<switchboard_store::TrainingExample>,
) -> anyhow::Result<Decision> {
    let current = state.analyzer().purpose.clone();
    let held = (corrections.len() / 5).max(1);
    let (older, recent) = corrections.split_at(corrections.len() - held);
    let mut examples = defaults::purpose_examples();
    examples.extend(older.iter().map(|e| Example {
        text: e.text.clone(),
        label: e.label.clone(),
    }));
    let recent: Vec<(String, String)> = recent
        .iter()
        .map(|e| (e.text.clone(), e.label.clone()))
        .collect();
    let (bytes, current_score, candidate_score) = tokio::task::spawn_blocking(move || {
        let candidate = train(PURPOSE, &examples, &defaults::purpose_config())?;
        let score = |m: &switchboard_understand::model::TextModel| {
            let right = recent
                .iter()
                .filter(|(text, label)| m.labels()[m.best(text)] == *label)
                .count();
            right as f64 / recent.len() as f64
        };
        Ok::<_, switchboard_understand::model::ModelError>((
            candidate.to_bytes(),
            score(&current),
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
        "examples": older.len() + defaults::purpose_examples().len(),
        "corrections": older.len(),
        "held_back": held,
        "held_back_accuracy": {"current": current_score, "candidate": candidate_score},
    });
    let v = state
        .store
        .install_model(
            PURPOSE.to_owned(),
            bytes,
            summary,
            Actor::System,
            state.clock.now(),
        )
        .await?;
    Ok(Decision::Shipped(v))
}

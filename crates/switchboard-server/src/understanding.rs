//! Which models inbound messages are understood with: the shipped ones, plus the workspace's
//! active intent model from the store. Loaded at start, swapped in when an admin installs or
//! activates a version (through this node's API, or through the CLI or another node: a
//! worker compares the active version every few seconds). A stored model that will not load
//! is logged and the running one stays.

use crate::AppState;
use std::sync::Arc;
use std::time::Duration;
use switchboard_understand::model::TextModel;

/// The kind of model a workspace installs.
pub const INTENT: &str = "intent";

/// Loads the active intent model (or none) into the analyzer; returns its version.
pub async fn reload(state: &AppState) -> anyhow::Result<Option<i64>> {
    let active = state.store.active_model(INTENT.to_owned()).await?;
    let (version, intent) = match active {
        Some((v, bytes)) => {
            let model = tokio::task::spawn_blocking(move || TextModel::from_bytes(&bytes))
                .await?
                .map_err(|e| anyhow::anyhow!("intent model version {}: {e}", v.version))?;
            (Some(v.version), Some(Arc::new(model)))
        }
        None => (None, None),
    };
    let mut analyzer = (*state.analyzer()).clone();
    analyzer.intent = intent;
    match state.understanding.write() {
        Ok(mut a) => *a = Arc::new(analyzer),
        Err(poisoned) => *poisoned.into_inner() = Arc::new(analyzer),
    }
    Ok(version)
}

/// Follows the active intent version: reloads when it changes.
pub async fn run_watch(state: AppState, mut loaded: Option<i64>) {
    let mut shutdown = state.shutdown.subscribe();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = shutdown.changed() => return,
        }
        let active = match state.store.list_models().await {
            Ok(list) => list
                .into_iter()
                .find(|m| m.kind == INTENT && m.active)
                .map(|m| m.version),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the installed models");
                continue;
            }
        };
        if active != loaded {
            match reload(&state).await {
                Ok(v) => {
                    tracing::info!(version = ?v, "intent model changed");
                    loaded = v;
                }
                Err(e) => {
                    tracing::error!(error = %e, "the active intent model does not load; the running one stays");
                    loaded = active;
                }
            }
        }
    }
}

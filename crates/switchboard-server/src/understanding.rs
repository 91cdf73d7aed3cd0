//! Which models inbound messages are understood with: the shipped ones, replaced by the
//! workspace's active `purpose` model (made by the learning loop) and `sentiment` model
//! (installed or trained by an admin, or retrained by the learning loop), and joined by its
//! active `intent` model (installed by an admin). Loaded at start, swapped in when a version is
//! installed or activated (through this node, or through the CLI or another node: a worker
//! compares the active versions every few seconds). A stored model that will not load is
//! logged and the running one stays.

use crate::AppState;
use std::sync::Arc;
use std::time::Duration;
use switchboard_understand::defaults;
use switchboard_understand::model::{TextModel, TrainConfig};

/// The kind of model an admin installs.
pub const INTENT: &str = "intent";
/// The kind the learning loop retrains.
pub const PURPOSE: &str = "purpose";
/// The kind that replaces the shipped sentiment model.
pub const SENTIMENT: &str = "sentiment";
/// Every kind a workspace has versions of, in the order of [`Loaded`].
pub const KINDS: [&str; 3] = [INTENT, PURPOSE, SENTIMENT];

/// The active version of each kind of [`KINDS`], as loaded.
pub type Loaded = [Option<i64>; 3];

/// What this node understands messages with: the analyzer and the version of each kind it
/// holds (`None`: the shipped model, or no intent model). `GET /models` reports these, so it
/// never names a version before it is the one analysing.
#[derive(Clone)]
pub struct InForce {
    pub analyzer: Arc<switchboard_understand::Analyzer>,
    pub versions: Loaded,
}

impl InForce {
    pub fn new(analyzer: switchboard_understand::Analyzer) -> InForce {
        InForce {
            analyzer: Arc::new(analyzer),
            versions: [None; 3],
        }
    }
}

/// The settings a workspace's model of `kind` is trained with on this server, with a network
/// of `hidden` units (0: linear models): by the API's `train`, as `model train` does, and by
/// the learning loop, which retrains a model as it was made (a network stays one). Purposes
/// keep the shipped model's settings.
pub fn train_config(kind: &str, hidden: usize) -> TrainConfig {
    if kind == PURPOSE {
        return defaults::purpose_config();
    }
    TrainConfig {
        threads: 2,
        ..TrainConfig::for_kind(kind)
    }
    .with_network(hidden)
}

async fn active(state: &AppState, kind: &str) -> anyhow::Result<(Option<i64>, Option<TextModel>)> {
    match state.store.active_model(kind.to_owned()).await? {
        Some((v, bytes)) => {
            let model = tokio::task::spawn_blocking(move || TextModel::from_bytes(&bytes))
                .await?
                .map_err(|e| anyhow::anyhow!("{} model version {}: {e}", v.kind, v.version))?;
            Ok((Some(v.version), Some(model)))
        }
        None => Ok((None, None)),
    }
}

/// Loads the active intent, purpose and sentiment models into the analyzer; returns their
/// versions. Reloads take turns, so one that read the database earlier never replaces the
/// models of one that read it later.
pub async fn reload(state: &AppState) -> anyhow::Result<Loaded> {
    let _turn = state.reloading.lock().await;
    let (intent_version, intent) = active(state, INTENT).await?;
    let (purpose_version, purpose) = active(state, PURPOSE).await?;
    let (sentiment_version, sentiment) = active(state, SENTIMENT).await?;
    let mut analyzer = (*state.analyzer()).clone();
    analyzer.intent = intent.map(Arc::new);
    analyzer.purpose = purpose.map_or_else(defaults::purpose_model, Arc::new);
    analyzer.sentiment = sentiment.map_or_else(defaults::sentiment_model, Arc::new);
    let versions = [intent_version, purpose_version, sentiment_version];
    let in_force = InForce {
        analyzer: Arc::new(analyzer),
        versions,
    };
    match state.understanding.write() {
        Ok(mut a) => *a = in_force,
        Err(poisoned) => *poisoned.into_inner() = in_force,
    }
    Ok(versions)
}

async fn active_versions(state: &AppState) -> anyhow::Result<Loaded> {
    let list = state.store.list_models().await?;
    let of = |kind: &str| {
        list.iter()
            .find(|m| m.kind == kind && m.active)
            .map(|m| m.version)
    };
    Ok(KINDS.map(of))
}

/// Follows the active versions: reloads when one changes (through the CLI or another node).
/// Versions that would not load are not tried again until the active ones change.
pub async fn run_watch(state: AppState) {
    let mut shutdown = state.shutdown.subscribe();
    let mut refused: Option<Loaded> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = shutdown.changed() => return,
        }
        let now_active = match active_versions(&state).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the installed models");
                continue;
            }
        };
        if now_active != state.models_in_force() && refused != Some(now_active) {
            match reload(&state).await {
                Ok(v) => {
                    tracing::info!(intent = ?v[0], purpose = ?v[1], sentiment = ?v[2], "models changed");
                    refused = None;
                }
                Err(e) => {
                    tracing::error!(error = %e, "an active model does not load; the running one stays");
                    refused = Some(now_active);
                }
            }
        }
    }
}

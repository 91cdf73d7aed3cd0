//! A workspace's own classifier models: install a file made by `switchboard model train`
//! (checked whole first: a damaged or foreign file is refused and the running model stays),
//! list the versions, make an older one active again.

use crate::AppState;
use crate::auth::{Allowed, need};
use crate::error::ApiError;
use crate::understanding::{INTENT, KINDS, PURPOSE, SENTIMENT, reload, train_config};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use switchboard_understand::model::TextModel;

/// The largest model file accepted.
pub const MAX_MODEL_BYTES: usize = 64 * 1024 * 1024;

/// A file sent as the body, or why it cannot be read (413 `too_large` past the limit).
fn file_body(body: Result<Bytes, BytesRejection>, what: &str) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!(
                    "{what} may be at most {} MB ({MAX_MODEL_BYTES} bytes)",
                    MAX_MODEL_BYTES >> 20
                ),
            )
        } else {
            ApiError::new(e.status(), "invalid_body", e.body_text())
        }
    })
}

/// Kinds an admin installs files of (or trains from one).
fn installable(kind: &str) -> Result<(), ApiError> {
    match kind {
        INTENT | SENTIMENT => Ok(()),
        PURPOSE => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_installable",
            "purpose models are not installed or trained from a file: Switchboard ships one, \
             and agents' purpose corrections retrain it (GET /api/v1/models shows versions; activate one to roll \
             back); install or train an intent or sentiment model instead",
        )),
        _ => Err(ApiError::not_found("model kind")),
    }
}

/// Kinds with versions to activate: installed intents and sentiments, and what the learning
/// loop made.
fn versioned(kind: &str) -> Result<(), ApiError> {
    if KINDS.contains(&kind) {
        Ok(())
    } else {
        Err(ApiError::not_found("model kind"))
    }
}

pub async fn list(
    State(state): State<AppState>,
    _: Allowed<need::ManageRouting>,
) -> Result<impl IntoResponse, ApiError> {
    let items = state.store.list_models().await?;
    // What understands messages on this node now: a version as loaded, else the shipped
    // purpose and sentiment models (and no intent model). Right after a version is made
    // active (by the CLI, another node, or the learning loop a moment ago) it can still be
    // the one before.
    let [intent, purpose, sentiment] = state.models_in_force();
    let in_force = json!({
        "purpose": purpose.map_or_else(|| json!("shipped"), |v| json!(v)),
        "intent": intent,
        "sentiment": sentiment.map_or_else(|| json!("shipped"), |v| json!(v)),
    });
    let mut learning = serde_json::Map::new();
    for kind in [PURPOSE, INTENT, SENTIMENT] {
        learning.insert(
            kind.to_owned(),
            crate::learning::status(&state, kind)
                .await
                .map_err(ApiError::internal)?,
        );
    }
    Ok(axum::Json(
        json!({ "items": items, "in_force": in_force, "learning": learning,
                "training": trainings_running(&state) }),
    ))
}

pub async fn install(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::ManageRouting>,
    Path(kind): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    installable(&kind)?;
    let bytes = file_body(body, "a model file")?.to_vec();
    let checked = bytes.clone();
    let check_kind = kind.clone();
    let model = tokio::task::spawn_blocking(move || TextModel::for_install(&checked, &check_kind))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_model", e))?;
    let summary = model.summary();
    let _installing = state.installing.lock().await;
    let (installed, new) = state
        .store
        .install_model(kind, bytes, summary, caller.actor, state.clock.now())
        .await?;
    reload(&state).await.map_err(ApiError::internal)?;
    // The same file again: its version is active again (200), not a copy (201).
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(installed)))
}

pub async fn activate(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::ManageRouting>,
    Path((kind, version)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    versioned(&kind)?;
    let version: i64 = version
        .parse()
        .map_err(|_| ApiError::not_found("model version"))?;
    let _installing = state.installing.lock().await;
    let active = state
        .store
        .activate_model(kind, version, caller.actor, state.clock.now())
        .await
        .map_err(ApiError::from_store("model version"))?;
    reload(&state).await.map_err(ApiError::internal)?;
    Ok(axum::Json(active))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExamplesQuery {
    kind: String,
    /// `corrections` (agents'), `file` (a training file's), or both when absent.
    source: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// The labelled examples of a kind, oldest first, a page at a time: agents' corrections (to
/// add to a training file, for intents) and the examples of the file an intent model was
/// trained from.
pub async fn examples(
    State(state): State<AppState>,
    _: Allowed<need::ManageRouting>,
    crate::error::Query(q): crate::error::Query<ExamplesQuery>,
) -> Result<impl IntoResponse, ApiError> {
    versioned(&q.kind)
        .map_err(|_| ApiError::invalid_field("kind", "must be intent, purpose or sentiment"))?;
    let corrections = match q.source.as_deref() {
        None => None,
        Some("corrections") => Some(true),
        Some("file") => Some(false),
        Some(_) => {
            return Err(ApiError::invalid_field(
                "source",
                "must be corrections or file",
            ));
        }
    };
    let page = super::PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(axum::Json(
        state
            .store
            .training_examples_page(
                q.kind,
                corrections,
                page.cursor(switchboard_core::ExampleId::parse)?,
                page.limit()?,
            )
            .await?,
    ))
}

/// The intents there are, sorted: the intent model's (if one is in force) and those agents'
/// corrections already taught; an agent picks from these.
pub async fn known_intents(state: &AppState) -> Result<Vec<String>, switchboard_store::StoreError> {
    let mut known: Vec<String> = state
        .analyzer()
        .intent
        .as_ref()
        .map(|m| m.labels().to_vec())
        .unwrap_or_default();
    known.extend(state.store.training_labels("intent".into()).await?);
    known.sort();
    known.dedup();
    Ok(known)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntentBody {
    label: String,
    /// Confirms a label the intent model in force does not know yet.
    #[serde(default)]
    new_label: bool,
}

/// An agent's correction of the intent understood in a customer's message.
pub async fn correct_intent(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::WorkCases>,
    Path(id): Path<String>,
    crate::error::Json(body): crate::error::Json<IntentBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id = ApiError::path_id(&id, switchboard_core::MessageId::parse, "message")?;
    let asked = body.label.trim();
    if asked.eq_ignore_ascii_case(switchboard_understand::model::UNKNOWN) {
        return Err(ApiError::invalid_field(
            "label",
            "\"unknown\" is what a model says when it is not sure; name the intent the \
             message has",
        ));
    }
    let known = known_intents(&state)
        .await
        .map_err(ApiError::from_store("intent"))?;
    // `Refund` for `refund` is the same intent, spelled as it was first; a known intent is
    // taken as it is spelled, whatever its characters (a training file's `card_payment?`).
    let label = match known.iter().find(|k| k.eq_ignore_ascii_case(asked)) {
        Some(k) => k.clone(),
        None => {
            if asked.is_empty()
                || asked.len() > 100
                || !asked
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
            {
                return Err(ApiError::invalid_field(
                    "label",
                    "a new intent is 1 to 100 letters, digits, _ - . or :",
                ));
            }
            // A typo would teach the model a new intent: once there are intents, a label
            // nobody used before must be meant.
            if !known.is_empty() && !body.new_label {
                let shown = known
                    .iter()
                    .take(20)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(ApiError::invalid_field(
                    "label",
                    format!(
                        "there is no intent {asked:?} yet (there are {}: {shown}{}); to teach a \
                         new one, tick \"It is a new intent\" (in the API: \"new_label\": true)",
                        known.len(),
                        if known.len() > 20 { ", …" } else { "" }
                    ),
                ));
            }
            asked.to_owned()
        }
    };
    let (message, event) = state
        .store
        .correct_intent(id, label, caller.actor, state.clock.now())
        .await
        .map_err(ApiError::from_store("message"))?;
    state.bus.publish(vec![event]);
    Ok(axum::Json(message))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentimentBody {
    label: String,
}

/// An agent's correction of the sentiment understood in a customer's message: `negative`,
/// `neutral` or `positive`.
pub async fn correct_sentiment(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::WorkCases>,
    Path(id): Path<String>,
    crate::error::Json(body): crate::error::Json<SentimentBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id = ApiError::path_id(&id, switchboard_core::MessageId::parse, "message")?;
    let label = body.label.trim().to_ascii_lowercase();
    if !switchboard_understand::model::SENTIMENT_LABELS.contains(&label.as_str()) {
        return Err(ApiError::invalid_field(
            "label",
            format!(
                "a sentiment is negative, neutral or positive, not {:?}",
                body.label
            ),
        ));
    }
    let (message, event) = state
        .store
        .correct_sentiment(id, label, caller.actor, state.clock.now())
        .await
        .map_err(ApiError::from_store("message"))?;
    state.bus.publish(vec![event]);
    Ok(axum::Json(message))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainQuery {
    format: Option<String>,
    text_column: Option<String>,
    label_column: Option<String>,
    /// Hidden units of a network (`model train --hidden`); 0: a linear model; absent: as
    /// `model train` decides from the number of examples.
    hidden: Option<usize>,
    /// Sentiment only: `false` trains on the file's examples alone, without the shipped
    /// model's posts (`model train --no-shipped-examples`).
    shipped_examples: Option<bool>,
    /// Intent only: below this confidence a prediction is `unknown` (`model train
    /// --unknown-below`, 0.3 by default).
    unknown_below: Option<f32>,
    /// Intent only: the share of a text's words new to the model above which it is `unknown`
    /// unless sure (`model train --new-words-above`, 0.2 by default; 1 turns it off).
    new_words_above: Option<f32>,
}

/// How a model trained from a file says `unknown`, when the request says (intent models).
#[derive(Clone, Copy, Default)]
struct UnknownWhen {
    below: Option<f32>,
    new_words_above: Option<f32>,
}

/// The widest hidden layer a trained model may have.
const MAX_HIDDEN: usize = 2048;

/// Trains an intent or sentiment model from labelled examples in the body (CSV or TSV with a
/// header row, or JSON Lines), keeps the examples (so agents' corrections can retrain it later), and
/// installs the model as the next, active version. A sentiment model also learns from the
/// shipped sentiment model's posts, and reads the shipped lexicon's features, as
/// `model train --kind sentiment` does.
pub async fn train(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::ManageRouting>,
    Path(kind): Path<String>,
    crate::error::Query(q): crate::error::Query<TrainQuery>,
    headers: axum::http::HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    installable(&kind)?;
    let body = file_body(body, "a training file")?;
    // `?format=` says; else a JSON Lines, TSV or CSV content type does; else the first line
    // does (JSON Lines when it opens with `{`, TSV when it holds more tabs than commas); else
    // CSV.
    use switchboard_understand::examples::Format;
    let by_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .and_then(|v| match v.trim().to_ascii_lowercase().as_str() {
            "application/x-ndjson" | "application/jsonl" | "application/json-lines" => {
                Some(Format::Jsonl)
            }
            "text/tab-separated-values" => Some(Format::Tsv),
            "text/csv" => Some(Format::Csv),
            _ => None,
        });
    let format = match q.format.as_deref() {
        Some(f) => Format::parse(f).map_err(|e| ApiError::invalid_field("format", e))?,
        None => by_type.unwrap_or_else(|| Format::of_content(&body)),
    };
    let text = switchboard_understand::examples::utf8_text(Vec::from(body)).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            format!("the file: {e}"),
        )
    })?;
    let (text_column, label_column) = (
        q.text_column.unwrap_or_else(|| "text".into()),
        q.label_column.unwrap_or_else(|| "label".into()),
    );
    let hidden = q.hidden;
    if q.shipped_examples.is_some() && kind != SENTIMENT {
        return Err(ApiError::invalid_field(
            "shipped_examples",
            "is for sentiment models (only the shipped sentiment posts are added)",
        ));
    }
    let shipped_examples = kind == SENTIMENT && q.shipped_examples.unwrap_or(true);
    for (field, value) in [
        ("unknown_below", q.unknown_below),
        ("new_words_above", q.new_words_above),
    ] {
        match value {
            Some(_) if kind != INTENT => {
                return Err(ApiError::invalid_field(
                    field,
                    "is for intent models (sentiment has no unknown)",
                ));
            }
            Some(v) if field == "unknown_below" && !(0.0..1.0).contains(&v) => {
                return Err(ApiError::invalid_field(
                    field,
                    format!(
                        "must be at least 0 and below 1 (at 1 every prediction would be \
                         unknown), not {v}"
                    ),
                ));
            }
            Some(v) if !(0.0..=1.0).contains(&v) => {
                return Err(ApiError::invalid_field(
                    field,
                    format!("must be between 0 and 1 (1 turns the rule off), not {v}"),
                ));
            }
            _ => {}
        }
    }
    let unknown_when = UnknownWhen {
        below: q.unknown_below,
        new_words_above: q.new_words_above,
    };
    if let Some(hidden) = hidden.filter(|&h| h > MAX_HIDDEN) {
        return Err(ApiError::invalid_field(
            "hidden",
            format!("hidden must be between 0 (a linear model) and {MAX_HIDDEN}, not {hidden}"),
        ));
    }
    // The work goes on in a task of its own: a person who closes the page, or a proxy that
    // stops waiting, does not undo a training that runs to its end (a dropped handler would
    // have trained and then stored nothing).
    let running = Running::start(
        &state.trainings,
        &kind,
        caller.actor.name(),
        state.clock.now(),
    );
    let job = TrainJob {
        stop: running.stop.clone(),
        key: running.key.clone(),
        kind,
        actor: caller.actor,
        text,
        format,
        text_column,
        label_column,
        hidden,
        shipped_examples,
        unknown_when,
    };
    let (status, installed) = tokio::spawn(async move {
        let _running = running;
        train_and_install(state, job).await
    })
    .await
    .map_err(ApiError::internal)??;
    Ok((status, axum::Json(installed)))
}

/// A training listed in [`AppState::trainings`] while it runs (taken off when it ends, however),
/// with the flag that stops it.
struct Running {
    trainings: crate::Trainings,
    key: (String, u64),
    stop: Arc<AtomicBool>,
}

impl Running {
    fn start(
        trainings: &crate::Trainings,
        kind: &str,
        by: String,
        now: switchboard_core::Timestamp,
    ) -> Running {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let key = (
            kind.to_owned(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        );
        let stop = Arc::new(AtomicBool::new(false));
        if let Ok(mut t) = trainings.lock() {
            t.insert(key.clone(), (by, now, stop.clone()));
        }
        Running {
            trainings: trainings.clone(),
            key,
            stop,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(mut t) = self.trainings.lock() {
            t.remove(&self.key);
        }
    }
}

/// The trainings from a file running on this node, by kind: who started the first still
/// running and when, how many of that kind run (`count`), and whether all of them were told
/// to stop (`stopping`).
pub fn trainings_running(state: &AppState) -> serde_json::Value {
    running_of(&state.trainings)
}

fn running_of(trainings: &crate::Trainings) -> serde_json::Value {
    let running = trainings.lock().map(|t| t.clone()).unwrap_or_default();
    let mut by_kind = serde_json::Map::new();
    // Keys sort by kind, then by the order the trainings started.
    for ((kind, _), (by, since, stop)) in running {
        let entry = by_kind
            .entry(kind)
            .or_insert_with(|| json!({"by": by, "since": since, "count": 0, "stopping": true}));
        entry["count"] = json!(entry["count"].as_u64().unwrap_or(0) + 1);
        // Stopping once every one of the kind is told to stop.
        if !stop.load(Ordering::Relaxed) {
            entry["stopping"] = json!(false);
        }
    }
    serde_json::Value::Object(by_kind)
}

/// One training the API was sent: the checked request, the flag that stops it, and its entry
/// in [`AppState::trainings`].
struct TrainJob {
    stop: Arc<AtomicBool>,
    key: (String, u64),
    kind: String,
    actor: switchboard_store::Actor,
    text: String,
    format: switchboard_understand::examples::Format,
    text_column: String,
    label_column: String,
    hidden: Option<usize>,
    shipped_examples: bool,
    unknown_when: UnknownWhen,
}

/// Reads the examples, trains, keeps the examples and installs the model (in force).
async fn train_and_install(
    state: AppState,
    job: TrainJob,
) -> Result<(StatusCode, switchboard_store::ModelVersion), ApiError> {
    let TrainJob {
        stop,
        key,
        kind,
        actor,
        text,
        format,
        text_column,
        label_column,
        hidden,
        shipped_examples,
        unknown_when,
    } = job;
    let train_kind = kind.clone();
    // A column (a JSON Lines key) the file lacks is the field that named it.
    let missing = [
        (format!("no column {text_column:?}"), "text_column"),
        (format!("no column {label_column:?}"), "label_column"),
        (format!("no key {text_column:?}"), "text_column"),
        (format!("no key {label_column:?}"), "label_column"),
    ];
    let (model, examples) = tokio::task::spawn_blocking(move || {
        let examples =
            switchboard_understand::examples::read(&text, format, &text_column, &label_column)?;
        let model = train_from_file(
            &train_kind,
            &examples,
            (hidden, shipped_examples, unknown_when),
            &stop,
        )
        .map_err(|e| match e {
            switchboard_understand::model::ModelError::Stopped => None,
            e => Some(e.to_string()),
        })?;
        Ok::<_, Option<String>>((model, examples))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| {
        let Some(e) = e else {
            return stopped_error(&kind);
        };
        let field = missing.iter().find(|(m, _)| e.contains(m.as_str()));
        let error = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_examples", e);
        match field {
            Some((_, name)) => error.on_field(name),
            None => error,
        }
    })?;
    let from_file = examples.len();
    // The examples and the model they made go in together (a learning round or another
    // training does not come between).
    let _installing = state.installing.lock().await;
    // The one point after which a training can no longer be stopped: under the lock that
    // `stop_training` sets the flags under, it is stopped already or it leaves the list.
    let stopped = state.trainings.lock().map(|mut t| {
        let stopped = t
            .get(&key)
            .is_some_and(|(_, _, stop)| stop.load(Ordering::Relaxed));
        if !stopped {
            t.remove(&key);
        }
        stopped
    });
    if stopped.unwrap_or(false) {
        return Err(stopped_error(&kind));
    }
    let now = state.clock.now();
    let digest =
        crate::learning::base_digest(examples.iter().map(|e| (e.text.as_str(), e.label.as_str())));
    let pairs = examples.into_iter().map(|e| (e.text, e.label)).collect();
    state
        .store
        .replace_base_examples(kind.clone(), pairs, actor.name(), now)
        .await?;
    let mut summary = model.summary();
    summary["trained_by"] = json!("api");
    summary["examples_from_file"] = json!(from_file);
    // Corrections retrain it from these examples only while they are the stored ones.
    summary["base_digest"] = json!(digest);
    if kind == SENTIMENT {
        // The learning loop retrains on what this training had (`learning::sentiment_base`).
        summary["shipped_examples"] = json!(shipped_examples);
    }
    let (installed, new) = state
        .store
        .install_model(kind, model.to_bytes(), summary, actor, now)
        .await?;
    reload(&state).await.map_err(ApiError::internal)?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, installed))
}

/// What a training's request answers once the training was stopped.
fn stopped_error(kind: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "training_stopped",
        format!(
            "the {kind} training was stopped before it ended \
             (DELETE /api/v1/models/{kind}/train); nothing was installed, and the model in force \
             stays"
        ),
    )
}

/// How the API's `train` makes a model of `kind` from a workspace's file, as `model train`
/// does: an intent model a network from 1,000 examples unless `hidden` says; a sentiment
/// model linear, on the file's examples and (with `shipped_examples`) the shipped posts; the
/// settings are [`train_config`]'s (which the learning loop retrains with too), with the
/// request's `unknown` floor and new-words share when it gives them.
fn train_from_file(
    kind: &str,
    examples: &[switchboard_understand::model::Example],
    (hidden, shipped_examples, unknown_when): (Option<usize>, bool, UnknownWhen),
    stop: &AtomicBool,
) -> Result<TextModel, switchboard_understand::model::ModelError> {
    use switchboard_understand::model::{default_hidden, train_stoppable};
    let mut all = examples.to_vec();
    let hidden = if kind == SENTIMENT {
        if shipped_examples {
            all.extend(switchboard_understand::defaults::sentiment_examples());
        }
        hidden.unwrap_or(0)
    } else {
        hidden.unwrap_or_else(|| default_hidden(examples.len()))
    };
    let mut config = train_config(kind, hidden);
    if let Some(below) = unknown_when.below {
        config.unknown_below = below;
    }
    if kind == INTENT {
        config.new_words_above = match unknown_when.new_words_above {
            Some(share) => (share < 1.0).then_some(share),
            None => switchboard_understand::model::default_new_words_above(examples.len()),
        };
    }
    train_stoppable(kind, &all, &config, stop)
}

/// Stops the trainings from a file of this kind running on this node (all of them: the page
/// and the API name trainings by kind): each ends within a pass over its examples, installs
/// nothing, and its request answers 409 `training_stopped`. The model in force stays. A
/// training already being installed is off the list and goes on. Asking again while they end
/// answers the same and audits nothing more. The learning loop's retraining is not a training
/// from a file and cannot be stopped (it is short, and ships only a model at least as good).
pub async fn stop_training(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::ManageRouting>,
    Path(kind): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    installable(&kind)?;
    // (running, newly stopped)
    let (stopped, newly) = state
        .trainings
        .lock()
        .map(|t| {
            t.iter().filter(|((k, _), _)| *k == kind).fold(
                (0, 0),
                |(all, new), (_, (_, _, stop))| {
                    (
                        all + 1,
                        new + usize::from(!stop.swap(true, Ordering::Relaxed)),
                    )
                },
            )
        })
        .unwrap_or((0, 0));
    if stopped == 0 {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "no {kind} training from a file is running on this node (one being installed \
                 can no longer be stopped)"
            ),
        ));
    }
    if newly > 0 {
        state
            .store
            .audit_event(
                caller.actor,
                "model.training_stopped",
                ("model", kind.clone()),
                json!({ "trainings": newly }),
                state.clock.now(),
            )
            .await?;
    }
    Ok(axum::Json(json!({ "kind": kind, "stopped": stopped })))
}

/// Leaves no version active: the shipped purpose or sentiment model, or no intent model,
/// again.
pub async fn deactivate(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::ManageRouting>,
    Path(kind): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    versioned(&kind)?;
    let _installing = state.installing.lock().await;
    let was_active = state
        .store
        .deactivate_model(kind.clone(), caller.actor, state.clock.now())
        .await?;
    reload(&state).await.map_err(ApiError::internal)?;
    Ok(axum::Json(
        json!({ "kind": kind, "was_active": was_active }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two trainings of one kind at once are both listed, and the first to end leaves the
    /// other on the list (it once took the kind's only entry with it).
    #[test]
    fn a_training_that_ends_leaves_another_of_its_kind_listed() {
        let trainings = crate::Trainings::default();
        let at = |s| switchboard_core::Timestamp::parse_rfc3339(s).unwrap();
        let first = Running::start(
            &trainings,
            "intent",
            "ann".into(),
            at("2026-12-07T10:00:00Z"),
        );
        let second = Running::start(
            &trainings,
            "intent",
            "bob".into(),
            at("2026-12-07T10:01:00Z"),
        );
        let sentiment = Running::start(
            &trainings,
            "sentiment",
            "cy".into(),
            at("2026-12-07T10:02:00Z"),
        );
        let listed = running_of(&trainings);
        assert_eq!(listed["intent"]["by"], "ann");
        assert_eq!(listed["intent"]["count"], 2);
        assert_eq!(listed["sentiment"]["count"], 1);
        // Stopping once all of a kind are told to stop.
        assert_eq!(listed["intent"]["stopping"], false);
        first.stop.store(true, Ordering::Relaxed);
        assert_eq!(running_of(&trainings)["intent"]["stopping"], false);
        second.stop.store(true, Ordering::Relaxed);
        assert_eq!(running_of(&trainings)["intent"]["stopping"], true);
        assert_eq!(running_of(&trainings)["sentiment"]["stopping"], false);
        drop(first);
        let listed = running_of(&trainings);
        assert_eq!(listed["intent"]["by"], "bob");
        assert_eq!(listed["intent"]["count"], 1);
        drop(second);
        drop(sentiment);
        assert_eq!(running_of(&trainings), json!({}));
    }
}

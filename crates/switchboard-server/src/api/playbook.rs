//! The playbook: read the active one, check, apply, list and restore versions, simulate.

use crate::AppState;
use crate::auth::{Allowed, need};
use crate::error::{ApiError, Json, Path};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;
use switchboard_core::Timestamp;

/// The largest playbook accepted (the file is text; 1 MiB holds thousands of rules).
const MAX_SOURCE: usize = 1 << 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulateBody {
    /// The candidate playbook; absent: the active one.
    source: Option<String>,
    /// How far back: a duration (`30d`, `12h`) or an RFC 3339 time. Default: 30 days.
    since: Option<String>,
}

fn source(s: &str) -> Result<&str, ApiError> {
    if s.len() > MAX_SOURCE {
        return Err(ApiError::invalid_field(
            "source",
            format!("is larger than {MAX_SOURCE} bytes"),
        ));
    }
    Ok(s)
}

/// `30d`, `12h`, … before `now`, or an RFC 3339 time.
pub fn parse_since(s: &str, now: Timestamp) -> Result<Timestamp, String> {
    if let Ok(t) = Timestamp::parse_rfc3339(s) {
        return Ok(t);
    }
    match switchboard_core::sla::parse_duration(s) {
        Ok(d) => Ok(now.plus_micros(-d)),
        Err(_) => Err(format!(
            "{s:?} is neither a duration like 30d or 12h nor an RFC 3339 time"
        )),
    }
}

fn no_playbook() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no playbook has been applied yet; PUT /api/v1/playbook installs one",
    )
}

pub async fn get_active(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
) -> Result<impl IntoResponse, ApiError> {
    match state.store.playbook(None).await {
        Ok(v) => Ok(axum::Json(v)),
        Err(switchboard_store::StoreError::NotFound) => Err(no_playbook()),
        Err(e) => Err(e.into()),
    }
}

pub async fn check(
    State(state): State<AppState>,
    _: Allowed<need::ManageRouting>,
    Json(body): Json<Source>,
) -> Result<impl IntoResponse, ApiError> {
    let pb = state
        .store
        .check_playbook(source(&body.source)?.to_owned())
        .await?;
    Ok(axum::Json(json!({
        "valid": true,
        "teams": pb.teams.len(),
        "rules": pb.rules.len(),
    })))
}

pub async fn apply(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::ManageRouting>,
    Json(body): Json<Source>,
) -> Result<impl IntoResponse, ApiError> {
    let v = state
        .store
        .apply_playbook(
            source(&body.source)?.to_owned(),
            caller.actor,
            state.clock.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(v)))
}

pub async fn versions(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(axum::Json(
        json!({ "items": state.store.list_playbooks().await?, "next_cursor": null }),
    ))
}

fn version(s: &str) -> Result<i64, ApiError> {
    s.parse::<i64>()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| ApiError::not_found("playbook version"))
}

pub async fn get_version(
    State(state): State<AppState>,
    _: Allowed<need::Read>,
    Path(v): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let v = state
        .store
        .playbook(Some(version(&v)?))
        .await
        .map_err(ApiError::from_store("playbook version"))?;
    Ok(axum::Json(v))
}

pub async fn restore(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::ManageRouting>,
    Path(v): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let v = state
        .store
        .restore_playbook(version(&v)?, caller.actor, state.clock.now())
        .await
        .map_err(ApiError::from_store("playbook version"))?;
    Ok((StatusCode::CREATED, axum::Json(v)))
}

pub async fn simulate(
    State(state): State<AppState>,
    _: Allowed<need::ManageRouting>,
    Json(body): Json<SimulateBody>,
) -> Result<impl IntoResponse, ApiError> {
    let now = state.clock.now();
    let since = match &body.since {
        Some(s) => parse_since(s, now).map_err(|e| ApiError::invalid_field("since", e))?,
        None => now.plus_micros(-30 * 24 * 3600 * 1_000_000),
    };
    let text = match &body.source {
        Some(s) => source(s)?.to_owned(),
        None => state
            .store
            .playbook(None)
            .await
            .map_err(|e| match e {
                switchboard_store::StoreError::NotFound => no_playbook(),
                e => e.into(),
            })?
            .source
            .unwrap_or_default(),
    };
    let pb = state.store.check_playbook(text).await?;
    let report = state.store.simulate_playbook(pb, since, now).await?;
    Ok(axum::Json(report))
}

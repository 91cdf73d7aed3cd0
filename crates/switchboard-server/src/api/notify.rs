//! Notify hooks: what the playbook's `then.notify` sent and how it went, sending one again,
//! and the workspace's signing secret (read and rotate, admins only).

use crate::AppState;
use crate::api::PageQuery;
use crate::auth::{Allowed, need};
use crate::crypto::Secret;
use crate::error::ApiError;
use crate::error::Query;
use crate::notify_hooks::{ROTATION_GRACE_MICROS, new_secret, signing_secrets};
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;
use switchboard_core::{CaseId, DeliveryId};

const STATES: [&str; 4] = ["queued", "sending", "delivered", "failed"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    case_id: Option<String>,
    state: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    _: Allowed<need::ManageRouting>,
    Query(q): Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let case = q
        .case_id
        .as_deref()
        .map(|s| CaseId::parse(s).map_err(|e| ApiError::invalid_field("case_id", e.0)))
        .transpose()?;
    if let Some(s) = &q.state
        && !STATES.contains(&s.as_str())
    {
        return Err(ApiError::invalid_field(
            "state",
            format!("must be one of {}", STATES.join(", ")),
        ));
    }
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(axum::Json(
        state
            .store
            .hook_deliveries(
                case,
                q.state,
                page.cursor(DeliveryId::parse)?,
                page.limit()?,
            )
            .await?,
    ))
}

pub async fn get_one(
    State(state): State<AppState>,
    _: Allowed<need::ManageRouting>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = ApiError::path_id(&id, DeliveryId::parse, "delivery")?;
    Ok(axum::Json(
        state
            .store
            .hook_delivery(id)
            .await
            .map_err(ApiError::from_store("delivery"))?,
    ))
}

pub async fn redeliver(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::ManageRouting>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = ApiError::path_id(&id, DeliveryId::parse, "delivery")?;
    Ok(axum::Json(
        state
            .store
            .redeliver_hook(id, caller.actor, state.clock.now())
            .await
            .map_err(ApiError::from_store("delivery"))?,
    ))
}

/// The secret receivers verify with, and the rotated-out ones still signing (newest first).
pub async fn secret(
    State(state): State<AppState>,
    _: Allowed<need::ManageChannels>,
) -> Result<impl IntoResponse, ApiError> {
    let secrets = signing_secrets(&state).await?;
    let text = |s: Option<&Secret>| s.map(|s| String::from_utf8_lossy(s.expose()).into_owned());
    Ok(axum::Json(json!({
        "secret": text(secrets.first()),
        "previous": secrets.iter().skip(1).map(|s| text(Some(s))).collect::<Vec<_>>(),
        "header": "X-Switchboard-Hook-Signature",
    })))
}

/// A new signing secret; the old one keeps signing beside it for a day.
pub async fn rotate_secret(
    State(state): State<AppState>,
    Allowed(caller, _): Allowed<need::ManageChannels>,
) -> Result<impl IntoResponse, ApiError> {
    let now = state.clock.now();
    let secret = new_secret();
    let sealed = state
        .secrets
        .seal(&Secret::new(secret.clone().into_bytes()));
    let grace_until = now.plus_micros(ROTATION_GRACE_MICROS);
    state
        .store
        .rotate_hook_secret(sealed, grace_until, caller.actor, now)
        .await?;
    Ok(axum::Json(json!({
        "secret": secret,
        "previous_valid_until": grace_until,
    })))
}

//! Provider webhooks under `/hooks/<kind>/<channel_id>`. The order of checks is fixed: the
//! channel must exist (404), the body must fit (413), the signature must match (401), the
//! payload must parse (400 naming the field); then the raw body is stored durably and only then
//! acknowledged. A repeated delivery is acknowledged and stores nothing.

use crate::AppState;
use crate::error::{ApiError, Path};
use crate::metrics::global;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use switchboard_channels::{ChannelKind, webhook};
use switchboard_core::{ChannelId, RawEventId};
use switchboard_store::{Appended, RawEvent};

/// The largest webhook body accepted.
pub const MAX_BODY: usize = 1024 * 1024;

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!("the body is larger than {MAX_BODY} bytes"),
    )
}

pub async fn webhook_inbound(
    State(state): State<AppState>,
    Path(channel): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match webhook_inner(&state, &channel, &headers, body).await {
        Ok((outcome, resp)) => {
            global().webhook("webhook", outcome);
            resp
        }
        Err((outcome, err)) => {
            global().webhook("webhook", outcome);
            err.into_response()
        }
    }
}

async fn webhook_inner(
    state: &AppState,
    channel: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<(&'static str, Response), (&'static str, ApiError)> {
    let not_found = || ("unknown_channel", ApiError::not_found("webhook channel"));
    let id = ChannelId::parse(channel).map_err(|_| not_found())?;
    let ch = match state.channels.get(id).await {
        Ok(Some(c)) if c.kind == ChannelKind::Webhook && !c.active => {
            return Err((
                "channel_disabled",
                ApiError::new(
                    StatusCode::GONE,
                    "channel_disabled",
                    "this channel is disabled; an admin can enable it again",
                ),
            ));
        }
        Ok(Some(c)) if c.kind == ChannelKind::Webhook => c,
        Ok(_) => return Err(not_found()),
        Err(e) => return Err(("error", e.into())),
    };
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY) {
        return Err(("too_large", too_large()));
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| ("too_large", too_large()))?;
    let signature = headers
        .get(webhook::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    webhook::verify(ch.secret.expose(), &bytes, signature).map_err(|e| {
        (
            "bad_signature",
            ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", e.to_string()),
        )
    })?;
    let msg = webhook::parse_inbound(&bytes).map_err(|e| {
        let err = match &e.field {
            Some(f) => ApiError::invalid_field(f, e.message.clone()),
            None => ApiError::bad_request("malformed_body", e.message.clone()),
        };
        ("bad_request", err)
    })?;
    let now = state.clock.now();
    let raw = RawEvent {
        id: RawEventId::new_at(now),
        channel_id: id,
        external_id: Some(msg.external_id.clone()),
        body: bytes.to_vec(),
        received_at: now,
    };
    match state.store.append_raw(raw.clone()).await {
        Ok(Appended::Stored) => {
            let rid = raw.id;
            state.ingest.publish(raw);
            Ok((
                "accepted",
                (
                    StatusCode::OK,
                    axum::Json(json!({"status": "accepted", "event_id": rid})),
                )
                    .into_response(),
            ))
        }
        Ok(Appended::Duplicate) => Ok((
            "duplicate",
            (StatusCode::OK, axum::Json(json!({"status": "duplicate"}))).into_response(),
        )),
        Err(e) => Err(("error", e.into())),
    }
}

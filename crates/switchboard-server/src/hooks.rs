//! Provider webhooks under `/hooks/<kind>/<channel_id>`. The order of checks is fixed: the
//! channel must exist with that kind (404), be enabled (410), the body must fit (413), the
//! signature must match (401), the payload must parse (400 naming the field); then the raw
//! body is stored durably and only then acknowledged. A repeated delivery is acknowledged and
//! stores nothing. `GET` answers the provider's verification handshake (Meta `hub.challenge`,
//! X CRC).

use crate::AppState;
use crate::channels::LiveChannel;
use crate::error::{ApiError, Path};
use crate::metrics::global;
use axum::body::Body;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use switchboard_channels::adapter::{Handshake, InboundRequest};
use switchboard_channels::{ChannelKind, twilio};
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

type Refusal = (&'static str, ApiError);

/// The channel named by the path, if it exists with that kind and is enabled.
async fn channel(
    state: &AppState,
    kind: &str,
    channel: &str,
) -> Result<(ChannelKind, Arc<LiveChannel>), Refusal> {
    let not_found = || ("unknown_channel", ApiError::not_found("channel"));
    let kind = ChannelKind::parse(kind).ok_or_else(not_found)?;
    if kind == ChannelKind::Email || kind == ChannelKind::Webchat {
        return Err((
            "unknown_channel",
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "e-mail and web chat channels take no webhooks (mail comes over SMTP or IMAP, chats over /chat/{channel_id})",
            ),
        ));
    }
    let id = ChannelId::parse(channel).map_err(|_| not_found())?;
    match state.channels.get(id).await {
        Ok(Some(c)) if c.kind == kind && !c.active => Err((
            "channel_disabled",
            ApiError::new(
                StatusCode::GONE,
                "channel_disabled",
                "this channel is disabled; an admin can enable it again",
            ),
        )),
        Ok(Some(c)) if c.kind == kind => Ok((kind, c)),
        Ok(_) => Err(not_found()),
        Err(e) => Err(("error", e.into())),
    }
}

/// `GET /hooks/{kind}/{channel_id}`: the provider's verification handshake.
pub async fn handshake(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let (kind, ch) = match channel(&state, &kind, &id).await {
        Ok(c) => c,
        Err((outcome, err)) => {
            global().webhook(&kind, outcome);
            return err.into_response();
        }
    };
    let (outcome, resp) = match ch.adapter.handshake(uri.query().unwrap_or("")) {
        Handshake::Answer { content_type, body } => (
            "handshake",
            ([(header::CONTENT_TYPE, content_type)], body).into_response(),
        ),
        Handshake::Refused(why) => (
            "handshake_refused",
            ApiError::new(StatusCode::FORBIDDEN, "handshake_refused", why).into_response(),
        ),
        Handshake::NotSupported => (
            "bad_request",
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{} webhooks have no GET handshake", kind.as_str()),
            )
            .into_response(),
        ),
    };
    global().webhook(kind.as_str(), outcome);
    resp
}

/// `POST /hooks/{kind}/{channel_id}`: a provider's event(s).
pub async fn inbound(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let label = ChannelKind::parse(&kind).map_or("unknown", |k| k.as_str());
    match inbound_inner(&state, &kind, &id, &uri, &headers, body).await {
        Ok((outcome, resp)) => {
            global().webhook(label, outcome);
            resp
        }
        Err((outcome, err)) => {
            global().webhook(label, outcome);
            err.into_response()
        }
    }
}

/// The URL a provider signed: the channel's configured `webhook_url`, else the server's
/// public URL with this path and query.
fn signed_url(state: &AppState, ch: &LiveChannel, uri: &axum::http::Uri) -> String {
    let base = match ch.config.get("webhook_url").and_then(|u| u.as_str()) {
        Some(u) => u.split('?').next().unwrap_or(u).to_owned(),
        None => format!(
            "{}{}",
            state.config.public_url.trim_end_matches('/'),
            uri.path()
        ),
    };
    match uri.query() {
        Some(q) => format!("{base}?{q}"),
        None => base,
    }
}

async fn inbound_inner(
    state: &AppState,
    kind: &str,
    id: &str,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<(&'static str, Response), Refusal> {
    let (kind, ch) = channel(state, kind, id).await?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY) {
        return Err(("too_large", too_large()));
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| ("too_large", too_large()))?;
    let url = signed_url(state, &ch, uri);
    {
        // Scoped: the header lookup is not `Send` and must not live across an await.
        let header_of = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let req = InboundRequest {
            url: &url,
            content_type: header_of("content-type"),
            header: &header_of,
            body: &bytes,
        };
        ch.adapter.verify(&req).map_err(|e| {
            (
                "bad_signature",
                ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", e.to_string()),
            )
        })?;
    }
    let events = ch.adapter.parse(&bytes).map_err(|e| {
        let err = match &e.field {
            Some(f) => ApiError::invalid_field(f, e.message.clone()),
            None => ApiError::bad_request("malformed_body", e.message.clone()),
        };
        ("bad_request", err)
    })?;
    // The raw delivery is deduplicated on the envelope's own id, else on the message id
    // (the generic webhook), else on the body's hash (a provider's retry sends the same bytes).
    let external_id = ch.adapter.dedupe_key(&bytes).or_else(|| match &events[..] {
        [switchboard_core::ChannelEvent::Message(m)] if kind == ChannelKind::Webhook => {
            Some(m.external_id.clone())
        }
        _ => Some(format!("sha256:{}", hex::encode(Sha256::digest(&bytes)))),
    });
    let now = state.clock.now();
    let raw = RawEvent {
        id: RawEventId::new_at(now),
        channel_id: ch.id,
        external_id,
        body: bytes.to_vec(),
        received_at: now,
    };
    let stored = state
        .store
        .append_raw(raw.clone())
        .await
        .map_err(|e| ("error", e.into()))?;
    let outcome = match stored {
        Appended::Stored => {
            state.ingest.publish(raw.clone());
            "accepted"
        }
        Appended::Duplicate => "duplicate",
    };
    let mut malformed = 0;
    if stored == Appended::Stored {
        for ev in &events {
            global().webhook_event(kind.as_str(), ev.kind());
            if let switchboard_core::ChannelEvent::Malformed { reason, .. } = ev {
                malformed += 1;
                tracing::warn!(channel = %ch.id, event = %raw.id, %reason, "an item of a webhook could not be read; the rest was accepted");
            }
        }
    }
    let resp = match kind {
        // Twilio reads the answer as TwiML: an empty response sends nothing back.
        ChannelKind::Twilio => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/xml")],
            twilio::twiml_empty(),
        )
            .into_response(),
        _ if stored == Appended::Stored => (
            StatusCode::OK,
            axum::Json(json!({"status": "accepted", "event_id": raw.id, "events": events.len(), "malformed": malformed})),
        )
            .into_response(),
        _ => (StatusCode::OK, axum::Json(json!({"status": "duplicate"}))).into_response(),
    };
    Ok((outcome, resp))
}

//! The admin's "send a test message": a message from a made-up customer enters a channel
//! through the same durable path a provider's webhook takes (stored as a raw event, parsed,
//! understood, routed, filed on a case), so the admin sees where the channel's messages go.
//! Its raw event's id starts with [`PREFIX`]; the ingest step reads such a body itself, not
//! with the channel's adapter. Replies on a test conversation are marked delivered and never
//! reach the provider: there is no one to send them to.

use crate::AppState;
use crate::auth::{Allowed, need};
use crate::error::{ApiError, Json, Path};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;
use switchboard_core::*;
use switchboard_store::{Appended, RawEvent, StoreError};

/// The start of a test message's raw event id, external id and thread.
pub const PREFIX: &str = "sb-test:";

/// The longest test text (a message, not a document).
const MAX_TEXT: usize = 2000;

/// How long the request waits for the message to be filed before answering without its case.
const WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether a conversation thread is a test conversation.
pub fn is_test_thread(thread: &str) -> bool {
    thread.starts_with(PREFIX)
}

/// A test raw event's body: the message under a key no provider sends.
#[derive(serde::Serialize, serde::Deserialize)]
struct TestEnvelope {
    switchboard_test: InboundMessage,
}

/// The events of a test raw event, or `None` if `ev` is not one (a provider's event whose
/// id happens to start with [`PREFIX`] is read by the channel's adapter as usual).
pub fn parse(ev: &RawEvent) -> Option<Result<Vec<ChannelEvent>, String>> {
    if !ev.external_id.as_deref().is_some_and(is_test_thread) {
        return None;
    }
    let envelope: TestEnvelope = serde_json::from_slice(&ev.body).ok()?;
    Some(Ok(vec![ChannelEvent::Message(envelope.switchboard_test)]))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestBody {
    text: Option<String>,
    public: Option<bool>,
}

pub async fn send(
    State(state): State<AppState>,
    Allowed(_, _): Allowed<need::ManageChannels>,
    Path(id): Path<String>,
    Json(body): Json<TestBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id = ApiError::path_id(&id, ChannelId::parse, "channel")?;
    let channel = match state.store.channel(id).await {
        Ok(c) => c,
        Err(StoreError::NotFound) => return Err(ApiError::not_found("channel")),
        Err(e) => return Err(e.into()),
    };
    if !channel.active {
        return Err(ApiError::invalid_field(
            "channel",
            "the channel is turned off: turn it on to receive messages",
        ));
    }
    let text = body
        .text
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "This is a test message from the Switchboard admin page.".into());
    if text.trim().is_empty() || text.contains('\0') || text.chars().count() > MAX_TEXT {
        return Err(ApiError::invalid_field(
            "text",
            format!("give a text of 1 to {MAX_TEXT} characters, without NUL"),
        ));
    }
    let now = state.clock.now();
    let raw_id = RawEventId::new_at(now);
    let key = format!("{PREFIX}{raw_id}");
    let message = InboundMessage {
        external_id: key.clone(),
        thread: key.clone(),
        public: body.public.unwrap_or(false),
        author: Author {
            external_id: "switchboard-test".into(),
            name: Some("Switchboard test".into()),
            handle: None,
            followers: None,
            verified: None,
        },
        text,
        sent_at: Some(now),
        attachments: vec![],
        reply_to: None,
    };
    let raw = RawEvent {
        id: raw_id,
        channel_id: id,
        external_id: Some(key.clone()),
        body: serde_json::to_vec(&TestEnvelope {
            switchboard_test: message,
        })
        .map_err(ApiError::internal)?,
        received_at: now,
    };
    if state.store.append_raw(raw.clone()).await? == Appended::Stored {
        state.ingest.publish(raw);
    }
    // Wait a little for it to be filed, so the admin sees at once where it went.
    let started = std::time::Instant::now();
    let case = loop {
        if let Some(case) = state.store.case_of_message(id, key.clone()).await? {
            break Some(case);
        }
        if started.elapsed() >= WAIT {
            break None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    };
    let detail = match case {
        Some(case) => Some(state.store.case(case).await?.case),
        None => None,
    };
    let team = match detail.as_ref().and_then(|c| c.team) {
        Some(t) => Some(state.store.team(t).await?.name),
        None => None,
    };
    let (status, outcome) = if detail.is_some() {
        (StatusCode::CREATED, "filed")
    } else {
        (StatusCode::ACCEPTED, "accepted")
    };
    Ok((
        status,
        axum::Json(json!({
            "status": outcome,
            "external_id": key,
            "case": detail,
            "team": team,
        })),
    ))
}

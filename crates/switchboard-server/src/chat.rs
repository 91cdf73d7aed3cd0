//! The web chat's WebSocket, `GET /chat/{channel_id}`: a visitor on a page the channel allows
//! (its `Origin`) talks to the team; what they write is stored like any channel's event, and
//! the agents' replies are pushed back as they go out.
//!
//! The protocol is JSON frames. The browser opens with
//! `{"type":"hello", "token"?, "identifier"?, "identifier_hash"?, "jwt"?, "name"?, "email"?,
//! "last_seq"?}` and is answered `{"type":"welcome","visitor","token"?,"seq"}`, then every
//! message after `last_seq` (`{"type":"message","seq","id","from":"visitor"|"agent","text",
//! "at"}`): a reconnect resumes without loss or duplicates. It sends
//! `{"type":"message","client_id","text"}`; once the message is stored durably the server
//! answers `{"type":"ack","client_id","status":"stored"|"duplicate"}` (a resend of the same
//! `client_id` is stored once), and the message itself comes back with its `seq` when it has
//! been filed on the case. Bad frames get `{"type":"error","code","message"}` and are counted;
//! a visitor sending faster than [`RATE_PER_SEC`] is told `rate_limited`.

use crate::AppState;
use crate::error::ApiError;
use crate::metrics::global;
use axum::extract::ws::{Message as Frame, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;
use switchboard_channels::adapter::Adapter;
use switchboard_channels::webchat::{self, ChatMessage};
use switchboard_core::{ChannelId, Direction, RawEventId};
use switchboard_store::{Appended, RawEvent};

/// Messages a visitor may send per second (with a burst of twice as many).
pub const RATE_PER_SEC: f64 = 5.0;
/// The largest frame accepted.
const MAX_FRAME: usize = 64 * 1024;
/// How long the browser has to say hello.
const HELLO_WITHIN: Duration = Duration::from_secs(10);

#[derive(Deserialize, Default)]
struct Hello {
    token: Option<String>,
    identifier: Option<String>,
    identifier_hash: Option<String>,
    jwt: Option<String>,
    name: Option<String>,
    email: Option<String>,
    #[serde(default)]
    last_seq: usize,
}

/// Who the visitor is: their identity on the channel, and the token to come back with.
struct Visitor {
    id: String,
    token: Option<String>,
    name: Option<String>,
    email: Option<String>,
}

fn refuse(status: StatusCode, code: &'static str, detail: &str) -> Response {
    global().webhook("webchat", code);
    ApiError::new(status, code, detail.to_owned()).into_response()
}

/// The active web chat channel with this id, for a page whose `Origin` it allows: its id,
/// settings, secret and the origin; else the refusal (404, 410 or 403).
async fn open_chat(
    state: &AppState,
    channel: &str,
    headers: &HeaderMap,
) -> Result<(ChannelId, webchat::Config, webchat::Credentials, String), Response> {
    let not_found = || refuse(StatusCode::NOT_FOUND, "not_found", "no chat with this id");
    let id = ChannelId::parse(channel).map_err(|_| not_found())?;
    let live = match state.channels.get(id).await {
        Ok(Some(c)) => c,
        _ => return Err(not_found()),
    };
    let Adapter::Webchat(cfg, creds) = &*live.adapter else {
        return Err(not_found());
    };
    if !live.active {
        return Err(refuse(
            StatusCode::GONE,
            "channel_disabled",
            "this chat is switched off",
        ));
    }
    let origin = headers
        .get(axum::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !cfg.origin_allowed(origin) {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "this site is not on the chat's list of allowed origins",
        ));
    }
    Ok((id, cfg.clone(), creds.clone(), origin.to_owned()))
}

/// `GET /chat/{channel_id}`: the WebSocket upgrade, for allowed origins only.
pub async fn upgrade(
    State(state): State<AppState>,
    Path(channel): Path<String>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let (id, cfg, creds, _) = match open_chat(&state, &channel, &headers).await {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let secret = creds.widget_secret;
    ws.max_message_size(MAX_FRAME)
        .on_upgrade(move |socket| async move {
            global().webhook("webchat", "connected");
            if let Err(e) = session(state, id, cfg, secret, socket).await {
                tracing::debug!(error = %e, "chat session ended");
            }
        })
}

/// `GET /widget.js` and `/widget.css`: the widget, written for Switchboard (no dependencies).
pub async fn widget_js() -> Response {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=300"),
        ],
        include_str!("../assets/widget.js"),
    )
        .into_response()
}

pub async fn widget_css() -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=300"),
        ],
        include_str!("../assets/widget.css"),
    )
        .into_response()
}

/// `GET /chat/{channel_id}/config`: what the widget shows (greeting, colour, position,
/// pre-chat), for pages on the allowed list (answered with CORS headers for them).
pub async fn config(
    State(state): State<AppState>,
    Path(channel): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (_, cfg, _, origin) = match open_chat(&state, &channel, &headers).await {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let prechat = match cfg.prechat {
        webchat::PreChat::Off => "off",
        webchat::PreChat::Optional => "optional",
        webchat::PreChat::Required => "required",
    };
    let body = json!({"greeting": cfg.greeting, "color": cfg.color, "position": cfg.position,
                      "prechat": prechat, "max_message_chars": cfg.max_message_chars});
    (
        [
            (
                axum::http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
                origin.to_owned(),
            ),
            (axum::http::header::VARY, "Origin".to_owned()),
        ],
        axum::Json(body),
    )
        .into_response()
}

fn error_frame(code: &str, message: &str) -> Frame {
    global().webhook("webchat", code);
    Frame::Text(
        json!({"type": "error", "code": code, "message": message})
            .to_string()
            .into(),
    )
}

fn identify(secret: &str, hello: &Hello, now_secs: i64) -> Result<Visitor, String> {
    let secret = secret.as_bytes();
    if let Some(jwt) = &hello.jwt {
        let c = webchat::check_jwt(secret, jwt, now_secs).map_err(|e| e.to_string())?;
        return Ok(Visitor {
            id: format!("user:{}", c.sub),
            token: None,
            name: c.name,
            email: c.email,
        });
    }
    if let Some(identifier) = &hello.identifier {
        let hash = hello.identifier_hash.as_deref().unwrap_or("");
        if !webchat::check_identifier(secret, identifier, hash) || identifier.len() > 200 {
            return Err("the identifier hash does not match".into());
        }
        return Ok(Visitor {
            id: format!("user:{identifier}"),
            token: None,
            name: hello.name.clone(),
            email: hello.email.clone(),
        });
    }
    let id = match &hello.token {
        Some(t) => {
            webchat::check_visitor_token(secret, t).ok_or("the visitor token is not valid")?
        }
        None => uuid::Uuid::new_v4().to_string(),
    };
    Ok(Visitor {
        token: Some(webchat::visitor_token(secret, &id)),
        id: format!("visitor:{id}"),
        name: hello.name.clone(),
        email: hello.email.clone(),
    })
}

async fn session(
    state: AppState,
    channel: ChannelId,
    cfg: webchat::Config,
    secret: String,
    mut socket: WebSocket,
) -> Result<(), String> {
    let hello: Hello = match tokio::time::timeout(HELLO_WITHIN, socket.recv()).await {
        Ok(Some(Ok(Frame::Text(t)))) => match serde_json::from_str::<Value>(&t) {
            Ok(v) if v["type"] == "hello" => serde_json::from_value(v).unwrap_or_default(),
            _ => {
                let _ = socket
                    .send(error_frame("bad_frame", "say hello first"))
                    .await;
                return Ok(());
            }
        },
        _ => return Ok(()),
    };
    let now_secs = state.clock.now().as_unix_micros() / 1_000_000;
    let visitor = match identify(&secret, &hello, now_secs) {
        Ok(v) => v,
        Err(e) => {
            let _ = socket.send(error_frame("bad_identity", &e)).await;
            return Ok(());
        }
    };
    let thread = ChatMessage::thread_of(&visitor.id);
    let mut bus = state.bus.subscribe();
    let mut presence = state.presence.subscribe();
    let mut last_typing: Option<std::time::Instant> = None;
    let mut sent = hello.last_seq;
    let history = state
        .store
        .chat_messages(channel, thread.clone())
        .await
        .map_err(|e| e.to_string())?;
    let welcome = json!({"type": "welcome", "visitor": visitor.id, "token": visitor.token, "seq": history.len()});
    socket
        .send(Frame::Text(welcome.to_string().into()))
        .await
        .map_err(|e| e.to_string())?;
    let mut conversation = history.first().map(|m| m.conversation_id);
    send_new(&mut socket, &history, &mut sent).await?;
    let (mut tokens, mut last_refill) = (RATE_PER_SEC * 2.0, std::time::Instant::now());
    loop {
        tokio::select! {
            frame = socket.recv() => {
                let text = match frame {
                    Some(Ok(Frame::Text(t))) => t.to_string(),
                    Some(Ok(Frame::Close(_))) | None => return Ok(()),
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(e.to_string()),
                };
                let elapsed = last_refill.elapsed().as_secs_f64();
                last_refill = std::time::Instant::now();
                tokens = (tokens + elapsed * RATE_PER_SEC).min(RATE_PER_SEC * 2.0);
                // The visitor is writing: the agents' streams hear it (every two seconds at most).
                if serde_json::from_str::<Value>(&text).is_ok_and(|v| v["type"] == "typing") {
                    if let Some(c) = conversation
                        && last_typing.is_none_or(|t| t.elapsed() >= Duration::from_secs(2))
                    {
                        last_typing = Some(std::time::Instant::now());
                        let _ = state.presence.send(std::sync::Arc::new(json!({
                            "kind": "typing", "from": "visitor", "channel_id": channel,
                            "conversation_id": c, "visitor": visitor.id,
                        })));
                    }
                    continue;
                }
                let reply = on_frame(&state, channel, &cfg, &visitor, &text, &mut tokens).await;
                if let Some(reply) = reply {
                    socket.send(reply).await.map_err(|e| e.to_string())?;
                }
            }
            moment = presence.recv() => {
                let Ok(m) = moment else { continue };
                if m["kind"] == "typing" && m["from"] == "agent"
                    && conversation.is_some_and(|c| m["conversation_id"].as_str() == Some(&c.to_string()))
                {
                    let frame = json!({"type": "typing", "active": true, "author": m["author"]});
                    socket.send(Frame::Text(frame.to_string().into())).await.map_err(|e| e.to_string())?;
                }
            }
            event = bus.recv() => {
                let event = match event {
                    Ok(e) => e,
                    // Fell behind: read the conversation again below.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        let all = state.store.chat_messages(channel, thread.clone()).await.map_err(|e| e.to_string())?;
                        send_new(&mut socket, &all, &mut sent).await?;
                        continue;
                    }
                    Err(_) => return Ok(()),
                };
                let m = &event.data["message"];
                if m["channel_id"].as_str() != Some(&channel.to_string()) {
                    continue;
                }
                let ours = match conversation {
                    Some(c) => m["conversation_id"].as_str() == Some(&c.to_string()),
                    // Not known yet: the first stored message tells.
                    None => true,
                };
                if !ours {
                    continue;
                }
                let all = state.store.chat_messages(channel, thread.clone()).await.map_err(|e| e.to_string())?;
                conversation = conversation.or(all.first().map(|m| m.conversation_id));
                send_new(&mut socket, &all, &mut sent).await?;
            }
        }
    }
}

/// Sends the messages after `sent` (their positions are their sequence numbers).
async fn send_new(
    socket: &mut WebSocket,
    all: &[switchboard_store::Message],
    sent: &mut usize,
) -> Result<(), String> {
    for (i, m) in all.iter().enumerate().skip(*sent) {
        let from = if m.direction == Direction::Inbound {
            "visitor"
        } else {
            "agent"
        };
        // The visitor's own messages carry their client id, so the widget can replace what it
        // showed while sending.
        let client_id = (m.direction == Direction::Inbound)
            .then(|| m.external_id.as_deref().and_then(|e| e.rsplit(':').next()))
            .flatten();
        let frame = json!({"type": "message", "seq": i + 1, "id": m.id, "from": from,
                           "client_id": client_id, "author": m.author.name, "text": m.text, "at": m.sent_at});
        socket
            .send(Frame::Text(frame.to_string().into()))
            .await
            .map_err(|e| e.to_string())?;
        *sent = i + 1;
    }
    Ok(())
}

async fn on_frame(
    state: &AppState,
    channel: ChannelId,
    cfg: &webchat::Config,
    visitor: &Visitor,
    text: &str,
    tokens: &mut f64,
) -> Option<Frame> {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return Some(error_frame("bad_frame", "frames are JSON objects"));
    };
    match v["type"].as_str() {
        Some("message") => {
            let client_id = v["client_id"].as_str().unwrap_or("");
            if client_id.is_empty()
                || client_id.len() > 64
                || !client_id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Some(error_frame(
                    "bad_frame",
                    "client_id must be 1 to 64 letters, digits, - or _",
                ));
            }
            let body = v["text"].as_str().unwrap_or("").trim();
            if body.is_empty()
                || body.chars().count() > cfg.max_message_chars
                || body.contains('\0')
            {
                return Some(error_frame(
                    "bad_message",
                    &format!("a message is 1 to {} characters", cfg.max_message_chars),
                ));
            }
            if *tokens < 1.0 {
                return Some(error_frame(
                    "rate_limited",
                    "too many messages; wait a moment",
                ));
            }
            *tokens -= 1.0;
            let now = state.clock.now();
            let msg = ChatMessage {
                visitor: visitor.id.clone(),
                name: visitor.name.clone(),
                email: visitor.email.clone(),
                client_id: client_id.to_owned(),
                text: body.to_owned(),
                sent_at: now.as_unix_micros() / 1000,
            };
            let raw = RawEvent {
                id: RawEventId::new_at(now),
                channel_id: channel,
                external_id: Some(msg.external_id()),
                body: serde_json::to_vec(&msg).unwrap_or_default(),
                received_at: now,
            };
            let status = match state.store.append_raw(raw.clone()).await {
                Ok(Appended::Stored) => {
                    state.ingest.publish(raw);
                    global().webhook("webchat", "accepted");
                    "stored"
                }
                Ok(Appended::Duplicate) => {
                    global().webhook("webchat", "duplicate");
                    "duplicate"
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot store a chat message");
                    return Some(error_frame(
                        "unavailable",
                        "the message could not be stored; send it again",
                    ));
                }
            };
            Some(Frame::Text(
                json!({"type": "ack", "client_id": client_id, "status": status})
                    .to_string()
                    .into(),
            ))
        }
        Some("typing") => None,
        _ => Some(error_frame("bad_frame", "unknown frame type")),
    }
}

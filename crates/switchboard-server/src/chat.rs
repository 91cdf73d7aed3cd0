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
use switchboard_channels::chat_files;
use switchboard_channels::webchat::{self, ChatMessage};
use switchboard_core::{ChannelId, Direction, RawEventId};
use switchboard_store::{Appended, RawEvent};

/// Messages a visitor may send per second (with a burst of twice as many).
pub const RATE_PER_SEC: f64 = 5.0;
/// Frames of any kind a connection may send per second (with a burst of twice as many); a
/// connection that floods past it is closed (`1008`, policy).
pub const FRAMES_PER_SEC: f64 = 30.0;
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
    last_seq: i64,
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
pub(crate) async fn open_chat(
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
    // Small buffers: a node holds thousands of mostly idle chats (frames are small; the
    // buffers grow for a large one).
    ws.max_message_size(MAX_FRAME)
        .max_frame_size(MAX_FRAME)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
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
    let (open, next_open) = cfg.availability(state.clock.now());
    let body = json!({"greeting": cfg.greeting, "color": cfg.color, "position": cfg.position,
                      "prechat": prechat, "max_message_chars": cfg.max_message_chars,
                      "max_attachment_bytes": cfg.max_attachment_bytes,
                      "attachment_types": chat_files::ALLOWED,
                      "open": open, "next_open": next_open,
                      "offline_after_minutes": cfg.offline_after_minutes,
                      "followup": cfg.email_channel_id.is_some()});
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

/// What the dispatcher tells a session.
enum Push {
    /// Its conversation has new visible messages: read what is after the last one sent.
    Messages,
    /// A typing frame to pass on.
    Typing(Value),
}

type Listeners = Vec<(u64, tokio::sync::mpsc::Sender<Push>)>;

/// The chats open on this node, by visitor (`v:<channel>:<visitor>`) and by conversation
/// (`c:<conversation>`). One dispatcher ([`dispatch`]) reads the event bus and wakes only the
/// sessions an event concerns, so thousands of idle chats cost nothing per message. A reply
/// to a visitor who is gone goes out by e-mail when they left an address.
#[derive(Default)]
pub struct Sessions(std::sync::Mutex<(u64, std::collections::HashMap<String, Listeners>)>);

fn visitor_key(channel: ChannelId, visitor: &str) -> String {
    format!("v:{channel}:{visitor}")
}

fn conversation_key(conversation: &str) -> String {
    format!("c:{conversation}")
}

impl Sessions {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, (u64, std::collections::HashMap<String, Listeners>)> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a browser on this node has the conversation (`chat:<visitor>`) open.
    pub fn is_open(&self, channel: ChannelId, thread: &str) -> bool {
        let visitor = thread.strip_prefix("chat:").unwrap_or(thread);
        self.lock().1.contains_key(&visitor_key(channel, visitor))
    }

    fn enter(
        self: &std::sync::Arc<Self>,
        channel: ChannelId,
        visitor: &str,
        tx: tokio::sync::mpsc::Sender<Push>,
    ) -> Here {
        let key = visitor_key(channel, visitor);
        let mut guard = self.lock();
        guard.0 += 1;
        let id = guard.0;
        guard
            .1
            .entry(key.clone())
            .or_default()
            .push((id, tx.clone()));
        drop(guard);
        global().chat_connections.inc();
        Here {
            sessions: self.clone(),
            id,
            tx,
            keys: vec![key],
        }
    }

    fn wake(&self, key: &str, push: impl Fn() -> Push) {
        if let Some(list) = self.lock().1.get(key) {
            for (_, tx) in list {
                // Full: a wake-up is already waiting, which reads everything new anyway.
                let _ = tx.try_send(push());
            }
        }
    }

    fn wake_all(&self) {
        for list in self.lock().1.values() {
            for (_, tx) in list {
                let _ = tx.try_send(Push::Messages);
            }
        }
    }
}

/// One open session, listening in [`Sessions`] until it ends.
struct Here {
    sessions: std::sync::Arc<Sessions>,
    id: u64,
    tx: tokio::sync::mpsc::Sender<Push>,
    keys: Vec<String>,
}

impl Here {
    /// Also listens to the conversation, once it is known.
    fn join(&mut self, conversation: switchboard_core::ConversationId) {
        let key = conversation_key(&conversation.to_string());
        if self.keys.contains(&key) {
            return;
        }
        self.sessions
            .lock()
            .1
            .entry(key.clone())
            .or_default()
            .push((self.id, self.tx.clone()));
        self.keys.push(key);
        // A message filed between reading the conversation and listening to it is read now.
        let _ = self.tx.try_send(Push::Messages);
    }
}

impl Drop for Here {
    fn drop(&mut self) {
        let mut guard = self.sessions.lock();
        for key in &self.keys {
            if let Some(list) = guard.1.get_mut(key) {
                list.retain(|(id, _)| *id != self.id);
                if list.is_empty() {
                    guard.1.remove(key);
                }
            }
        }
        global().chat_connections.dec();
    }
}

/// Reads the event bus and the presence channel once for the whole node and wakes the chat
/// sessions each event concerns: a visible message (it has a `seq`) wakes its conversation's
/// sessions, or, before the conversation is known, its visitor's; an agent typing reaches
/// the conversation's sessions.
pub async fn dispatch(state: AppState) {
    let mut bus = state.bus.subscribe();
    let mut presence = state.presence.subscribe();
    loop {
        tokio::select! {
            event = bus.recv() => match event {
                Ok(event) => {
                    let m = &event.data["message"];
                    if m["seq"].as_i64().is_none() {
                        continue;
                    }
                    if let Some(c) = m["conversation_id"].as_str() {
                        state.chats.wake(&conversation_key(c), || Push::Messages);
                    }
                    if let (Some(channel), Some((visitor, _))) = (
                        m["channel_id"].as_str().and_then(|c| ChannelId::parse(c).ok()),
                        m["external_id"].as_str().and_then(|e| e.rsplit_once(':')),
                    ) && (visitor.starts_with("visitor:") || visitor.starts_with("user:"))
                    {
                        state.chats.wake(&visitor_key(channel, visitor), || Push::Messages);
                    }
                }
                // Fell behind: every session reads what is new.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => state.chats.wake_all(),
                Err(_) => return,
            },
            moment = presence.recv() => match moment {
                Ok(m) if m["kind"] == "typing" && m["from"] == "agent" => {
                    if let Some(c) = m["conversation_id"].as_str() {
                        let frame = json!({"type": "typing", "active": true, "author": m["author"]});
                        state.chats.wake(&conversation_key(c), || Push::Typing(frame.clone()));
                    }
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return,
            },
        }
    }
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
    let now = state.clock.now();
    let now_secs = now.as_unix_micros() / 1_000_000;
    let mut visitor = match identify(&secret, &hello, now_secs) {
        Ok(v) => v,
        Err(e) => {
            let _ = socket.send(error_frame("bad_identity", &e)).await;
            return Ok(());
        }
    };
    let thread = ChatMessage::thread_of(&visitor.id);
    let (tx, mut pushes) = tokio::sync::mpsc::channel(8);
    let mut here = state.chats.enter(channel, &visitor.id, tx);
    let mut last_typing: Option<std::time::Instant> = None;
    let log = state
        .store
        .chat_log(channel, thread.clone(), hello.last_seq)
        .await
        .map_err(|e| e.to_string())?;
    // A browser that claims more than there is (another database, a cleared one) is sent
    // everything after what really exists.
    let mut sent = hello.last_seq.clamp(0, log.last_seq);
    let followup = state
        .store
        .chat_followup(channel, thread.clone())
        .await
        .map_err(|e| e.to_string())?;
    let (open, next_open) = cfg.availability(now);
    let welcome = json!({
        "type": "welcome", "visitor": visitor.id, "token": visitor.token, "seq": log.last_seq,
        "upload_token": webchat::upload_token(secret.as_bytes(), &visitor.id, now_secs + webchat::UPLOAD_TOKEN_SECS),
        "open": open, "next_open": next_open, "followup": followup,
    });
    socket
        .send(Frame::Text(welcome.to_string().into()))
        .await
        .map_err(|e| e.to_string())?;
    let mut conversation = log.conversation;
    if let Some(c) = conversation {
        here.join(c);
    }
    send_new(&mut socket, &log.messages, &mut sent).await?;
    let mut limiter = Limiter::new(RATE_PER_SEC);
    let mut frames = Limiter::new(FRAMES_PER_SEC);
    loop {
        tokio::select! {
            frame = socket.recv() => {
                let text = match frame {
                    Some(Ok(Frame::Text(t))) => t.to_string(),
                    Some(Ok(Frame::Close(_))) | None => return Ok(()),
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(e.to_string()),
                };
                limiter.refill();
                frames.refill();
                if !frames.take() {
                    global().webhook("webchat", "flood_closed");
                    let _ = socket
                        .send(Frame::Close(Some(axum::extract::ws::CloseFrame {
                            code: 1008,
                            reason: "too many frames".into(),
                        })))
                        .await;
                    return Ok(());
                }
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
                // Boxed: the session's own state stays small while it idles.
                let reply = Box::pin(on_frame(&state, channel, &cfg, &mut visitor, &text, &mut limiter)).await;
                if let Some(reply) = reply {
                    socket.send(reply).await.map_err(|e| e.to_string())?;
                }
            }
            push = pushes.recv() => match push {
                Some(Push::Typing(frame)) => {
                    socket.send(Frame::Text(frame.to_string().into())).await.map_err(|e| e.to_string())?;
                }
                Some(Push::Messages) => {
                    let log = Box::pin(state.store.chat_log(channel, thread.clone(), sent)).await.map_err(|e| e.to_string())?;
                    if conversation.is_none() && let Some(c) = log.conversation {
                        conversation = Some(c);
                        here.join(c);
                    }
                    send_new(&mut socket, &log.messages, &mut sent).await?;
                }
                None => return Ok(()),
            },
        }
    }
}

/// A send allowance: `rate` a second, bursts of twice that.
struct Limiter {
    rate: f64,
    tokens: f64,
    last: std::time::Instant,
}

impl Limiter {
    fn new(rate: f64) -> Self {
        Limiter {
            rate,
            tokens: rate * 2.0,
            last: std::time::Instant::now(),
        }
    }

    fn refill(&mut self) {
        let elapsed = self.last.elapsed().as_secs_f64();
        self.last = std::time::Instant::now();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate * 2.0);
    }

    fn take(&mut self) -> bool {
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }
}

/// Sends the messages numbered after `sent`, in order.
async fn send_new(
    socket: &mut WebSocket,
    messages: &[switchboard_store::Message],
    sent: &mut i64,
) -> Result<(), String> {
    for m in messages {
        let Some(seq) = m.seq.filter(|s| *s > *sent) else {
            continue;
        };
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
        let files: Vec<Value> = m
            .attachments
            .iter()
            .filter_map(|a| {
                Some(json!({"id": a.provider_id.as_ref()?, "name": a.name, "mime_type": a.mime_type}))
            })
            .collect();
        let frame = json!({"type": "message", "seq": seq, "id": m.id, "from": from,
                           "client_id": client_id, "author": m.author.name, "text": m.text,
                           "attachments": files, "at": m.sent_at});
        socket
            .send(Frame::Text(frame.to_string().into()))
            .await
            .map_err(|e| e.to_string())?;
        *sent = seq;
    }
    Ok(())
}

async fn on_frame(
    state: &AppState,
    channel: ChannelId,
    cfg: &webchat::Config,
    visitor: &mut Visitor,
    text: &str,
    limiter: &mut Limiter,
) -> Option<Frame> {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return Some(error_frame("bad_frame", "frames are JSON objects"));
    };
    match v["type"].as_str() {
        Some("message") => on_message(state, channel, cfg, visitor, &v, limiter).await,
        Some("followup") => on_followup(state, channel, cfg, visitor, &v, limiter).await,
        Some("typing") => None,
        _ => Some(error_frame("bad_frame", "unknown frame type")),
    }
}

/// `{"type":"message","client_id","text","attachments"?:[file id]}`: stored durably, then
/// acknowledged.
async fn on_message(
    state: &AppState,
    channel: ChannelId,
    cfg: &webchat::Config,
    visitor: &Visitor,
    v: &Value,
    limiter: &mut Limiter,
) -> Option<Frame> {
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
    let ids = match &v["attachments"] {
        Value::Null => Vec::new(),
        Value::Array(list)
            if list.len() <= chat_files::MAX_PER_MESSAGE && list.iter().all(Value::is_string) =>
        {
            list.iter().filter_map(Value::as_str).collect()
        }
        _ => {
            return Some(error_frame(
                "bad_message",
                &format!(
                    "attachments is a list of at most {} uploaded file ids",
                    chat_files::MAX_PER_MESSAGE
                ),
            ));
        }
    };
    let body = v["text"].as_str().unwrap_or("").trim();
    if (body.is_empty() && ids.is_empty())
        || body.chars().count() > cfg.max_message_chars
        || body.contains('\0')
    {
        return Some(error_frame(
            "bad_message",
            &format!("a message is 1 to {} characters", cfg.max_message_chars),
        ));
    }
    if !limiter.take() {
        return Some(error_frame(
            "rate_limited",
            "too many messages; wait a moment",
        ));
    }
    let mut attachments = Vec::with_capacity(ids.len());
    for id in ids {
        let file = match uuid::Uuid::parse_str(id) {
            Ok(id) => state.store.chat_file(id).await,
            Err(_) => Ok(None),
        };
        match file {
            Ok(Some(f)) if f.channel_id == channel && f.visitor == visitor.id => {
                attachments.push(webchat::ChatAttachment {
                    id: f.id.to_string(),
                    name: f.name,
                    mime_type: f.mime_type,
                    size: f.size,
                })
            }
            Ok(_) => {
                return Some(error_frame(
                    "bad_message",
                    &format!("{id} is not a file you uploaded to this chat"),
                ));
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read a chat file");
                return Some(error_frame(
                    "unavailable",
                    "the message could not be stored; send it again",
                ));
            }
        }
    }
    let now = state.clock.now();
    let msg = ChatMessage {
        visitor: visitor.id.clone(),
        name: visitor.name.clone(),
        email: visitor.email.clone(),
        client_id: client_id.to_owned(),
        text: body.to_owned(),
        sent_at: now.as_unix_micros() / 1000,
        attachments,
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

/// `{"type":"followup","email"}`: while the visitor is away, replies go to this address.
async fn on_followup(
    state: &AppState,
    channel: ChannelId,
    cfg: &webchat::Config,
    visitor: &mut Visitor,
    v: &Value,
    limiter: &mut Limiter,
) -> Option<Frame> {
    if cfg.email_channel_id.is_none() {
        return Some(error_frame(
            "followup_unavailable",
            "this chat does not answer by e-mail",
        ));
    }
    let given = v["email"].as_str().unwrap_or("");
    let Some(email) = switchboard_core::contact_key::ContactKey::email(given)
        .filter(|_| given.len() <= 254)
        .map(|k| k.value)
    else {
        return Some(error_frame(
            "bad_email",
            "that does not look like an e-mail address",
        ));
    };
    if !limiter.take() {
        return Some(error_frame(
            "rate_limited",
            "too many messages; wait a moment",
        ));
    }
    let thread = ChatMessage::thread_of(&visitor.id);
    match state
        .store
        .set_chat_followup(channel, thread, email.clone(), state.clock.now())
        .await
    {
        Ok(()) => {
            // Their next messages carry it too (a key of their contact, for agents to see).
            visitor.email = Some(email.clone());
            global().webhook("webchat", "followup");
            Some(Frame::Text(
                json!({"type": "followup_saved", "email": email})
                    .to_string()
                    .into(),
            ))
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot store a chat follow-up address");
            Some(error_frame(
                "unavailable",
                "the address could not be saved; try again",
            ))
        }
    }
}

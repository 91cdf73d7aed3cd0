//! Telegram bots (Bot API).
//!
//! Inbound: `setWebhook(url, secret_token)` makes Telegram POST each `Update` as JSON with
//! the secret in `X-Telegram-Bot-Api-Secret-Token` (see [`verify`]). One update carries one
//! event; `update_id` identifies it.
//!
//! Outbound: `POST {api_base}/bot<token>/sendMessage` with `{chat_id, text,
//! reply_parameters}`. Telegram has no delivery or read receipts: an accepted send is
//! `Delivered`.
//!
//! Threads are `chat:<chat id>`: a private chat is one customer's conversation; groups,
//! supergroups and channels are public. Message ids are unique per chat only, so messages
//! are named `<chat id>:<message id>`.

use crate::{HttpRequest, PayloadError, RuleError, SendJob, SendOutcome, SignatureError};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use switchboard_core::{
    Attachment, Author, ChannelEvent, DeliveryState, EchoMessage, InboundMessage, Reaction,
    Timestamp,
};

/// The header Telegram puts the webhook's secret token in (lower case).
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";
/// The Bot API.
pub const DEFAULT_API_BASE: &str = "https://api.telegram.org";
/// Longest message text Telegram accepts, in characters.
pub const MAX_TEXT_CHARS: usize = 4096;
/// Thread keys: `chat:<chat id>`.
pub const THREAD_PREFIX: &str = "chat:";

/// The update fields that carry a new message.
const MESSAGE_KINDS: [&str; 2] = ["message", "channel_post"];
/// The update fields that carry an edited message.
const EDITED_KINDS: [&str; 2] = ["edited_message", "edited_channel_post"];

/// Message fields that describe the message rather than being its content: a message with
/// none of the content fields this module reads is a service message, named by its first
/// other field.
const MESSAGE_META: &[&str] = &[
    "message_id",
    "message_thread_id",
    "direct_messages_topic",
    "from",
    "sender_chat",
    "sender_boost_count",
    "sender_business_bot",
    "sender_tag",
    "date",
    "guest_query_id",
    "business_connection_id",
    "chat",
    "forward_origin",
    "is_topic_message",
    "is_automatic_forward",
    "reply_to_message",
    "external_reply",
    "quote",
    "reply_to_story",
    "reply_to_checklist_task_id",
    "reply_to_poll_option_id",
    "via_bot",
    "edit_date",
    "has_protected_content",
    "is_from_offline",
    "is_paid_post",
    "media_group_id",
    "author_signature",
    "paid_star_count",
    "text",
    "entities",
    "link_preview_options",
    "effect_id",
    "caption",
    "caption_entities",
    "show_caption_above_media",
    "has_media_spoiler",
    "reply_markup",
];

/// Non-secret settings, from the channel's `config` JSON object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `https://api.telegram.org` unless a test points it elsewhere; no trailing `/`.
    pub api_base: String,
    /// The bot's own username (without `@`): its messages coming back are echoes.
    pub bot_username: Option<String>,
}

impl Config {
    /// Reads `{"api_base"?, "bot_username"?}` (`null` is all defaults).
    pub fn from_json(v: &Value) -> Result<Config, PayloadError> {
        let obj = &settings(v, "config")?;
        let base =
            optional_str(obj, "config", "api_base")?.unwrap_or_else(|| DEFAULT_API_BASE.to_owned());
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(PayloadError::field(
                "config.api_base",
                "must be an http:// or https:// URL",
            ));
        }
        let bot_username = optional_str(obj, "config", "bot_username")?
            .map(|u| u.trim_start_matches('@').to_owned())
            .filter(|u| !u.is_empty());
        Ok(Config {
            api_base: base.trim_end_matches('/').to_owned(),
            bot_username,
        })
    }
}

/// Secrets, from the channel's decrypted `credentials` JSON object.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `123456:ABC-DEF…` from BotFather: goes into the API path (`/bot<token>/`).
    pub bot_token: String,
    /// The `secret_token` given to `setWebhook`: Telegram sends it with every update.
    pub secret_token: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("bot_token", &"<redacted>")
            .field("secret_token", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    /// Reads `{"bot_token","secret_token"}`.
    pub fn from_json(v: &Value) -> Result<Credentials, PayloadError> {
        let obj = &settings(v, "credentials")?;
        let bot_token = optional_str(obj, "credentials", "bot_token")?
            .ok_or_else(|| PayloadError::field("credentials.bot_token", "is required"))?;
        if !bot_token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b':' || b == b'_' || b == b'-')
        {
            return Err(PayloadError::field(
                "credentials.bot_token",
                "must be a bot token from BotFather (digits, ':', letters, '_' and '-')",
            ));
        }
        let secret_token = optional_str(obj, "credentials", "secret_token")?
            .ok_or_else(|| PayloadError::field("credentials.secret_token", "is required"))?;
        // setWebhook's rule: 1-256 characters A-Z, a-z, 0-9, _ and -.
        if secret_token.len() > 256
            || !secret_token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(PayloadError::field(
                "credentials.secret_token",
                "must be 1-256 characters of A-Z, a-z, 0-9, '_' and '-' (Telegram's rule)",
            ));
        }
        Ok(Credentials {
            bot_token,
            secret_token,
        })
    }
    /// The secret [`verify`] compares the header with.
    pub fn secret_token(&self) -> &[u8] {
        self.secret_token.as_bytes()
    }
}

/// Checks `X-Telegram-Bot-Api-Secret-Token` against the webhook's secret, in constant time.
pub fn verify(secret_token: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing("X-Telegram-Bot-Api-Secret-Token"))?;
    if secret_token.is_empty() {
        // An unset secret authenticates nothing.
        return Err(SignatureError::Mismatch);
    }
    // Comparing MACs of both values under the secret takes the same time wherever they
    // differ, and whatever their lengths.
    let mac = |data: &[u8]| {
        let mut m = match Hmac::<Sha256>::new_from_slice(secret_token) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC accepts any key length"),
        };
        m.update(data);
        m
    };
    let expected = mac(secret_token).finalize().into_bytes();
    mac(header.as_bytes())
        .verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

// ---------------------------------------------------------------------------------------------
// Inbound

/// Parses one `Update`:
/// - `message` / `channel_post` → a message (or an echo when the bot itself sent it, or
///   `Ignored{kind: "message.<field>"}` for a service message such as `new_chat_members`);
/// - `edited_message` / `edited_channel_post` → `Edited`;
/// - `message_reaction` → a reaction (`emoji: None` when the user removed theirs);
/// - anything else (`callback_query`, `my_chat_member`, `message_reaction_count`, …) →
///   `Ignored{kind: <the update's field>}`.
pub fn parse(body: &[u8], cfg: &Config) -> Result<Vec<ChannelEvent>, PayloadError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| PayloadError::body(format!("the body is not valid JSON: {e}")))?;
    let update = value
        .as_object()
        .ok_or_else(|| PayloadError::body("the body must be a JSON object (an Update)"))?;
    match update.get("update_id") {
        Some(Value::Number(n)) if n.as_i64().is_some() => {}
        None | Some(Value::Null) => return Err(PayloadError::field("update_id", "is required")),
        Some(_) => return Err(PayloadError::field("update_id", "must be an integer")),
    }
    for kind in MESSAGE_KINDS {
        if let Some(msg) = update.get(kind) {
            return message_event(msg, kind, cfg).map(|e| vec![e]);
        }
    }
    for kind in EDITED_KINDS {
        if let Some(msg) = update.get(kind) {
            return edited_event(msg, kind).map(|e| vec![e]);
        }
    }
    if let Some(reaction) = update.get("message_reaction") {
        return reaction_event(reaction).map(|e| vec![e]);
    }
    let kind = update
        .keys()
        .find(|k| *k != "update_id")
        .map_or("empty_update", String::as_str);
    Ok(vec![ChannelEvent::Ignored {
        kind: kind.to_owned(),
    }])
}

/// `update:<update_id>`: Telegram numbers updates, and re-delivers an update with the same id.
pub fn dedupe_key(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let id = value.get("update_id")?.as_i64()?;
    Some(format!("update:{id}"))
}

/// What every message-like update has: where it is and who wrote it.
struct MessageHead {
    chat_id: i64,
    external_id: String,
    public: bool,
}

fn message_head(msg: &Map<String, Value>, path: &str) -> Result<MessageHead, PayloadError> {
    let message_id = int(msg, path, "message_id")?
        .ok_or_else(|| PayloadError::field(&format!("{path}.message_id"), "is required"))?;
    let chat = obj(msg, path, "chat")?
        .ok_or_else(|| PayloadError::field(&format!("{path}.chat"), "is required"))?;
    let chat_path = format!("{path}.chat");
    let chat_id = int(chat, &chat_path, "id")?
        .ok_or_else(|| PayloadError::field(&format!("{chat_path}.id"), "is required"))?;
    let chat_type = string(chat, &chat_path, "type")?
        .ok_or_else(|| PayloadError::field(&format!("{chat_path}.type"), "is required"))?;
    Ok(MessageHead {
        chat_id,
        external_id: format!("{chat_id}:{message_id}"),
        public: chat_type != "private",
    })
}

fn as_object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, PayloadError> {
    v.as_object()
        .ok_or_else(|| PayloadError::field(path, "must be an object"))
}

fn message_event(v: &Value, path: &str, cfg: &Config) -> Result<ChannelEvent, PayloadError> {
    let msg = as_object(v, path)?;
    let head = message_head(msg, path)?;
    let chat = obj(msg, path, "chat")?
        .ok_or_else(|| PayloadError::field(&format!("{path}.chat"), "is required"))?;
    let from = obj(msg, path, "from")?;
    let sender_chat = obj(msg, path, "sender_chat")?;
    // A message sent on behalf of a chat (channel posts, anonymous group admins) names the
    // chat in `sender_chat`; `from` is then a placeholder bot, if present at all.
    let author = match (sender_chat, from) {
        (Some(c), _) => chat_author(c, &format!("{path}.sender_chat"))?,
        (None, Some(u)) => user_author(u, &format!("{path}.from"))?,
        (None, None) => chat_author(chat, &format!("{path}.chat"))?,
    };
    let text = string(msg, path, "text")?
        .or(string(msg, path, "caption")?)
        .unwrap_or_default()
        .to_owned();
    let attachments = attachments(msg, path)?;
    if text.is_empty() && attachments.is_empty() {
        let field = msg
            .keys()
            .find(|k| !MESSAGE_META.contains(&k.as_str()))
            .map_or("empty", String::as_str);
        return Ok(ChannelEvent::Ignored {
            kind: format!("{path}.{field}"),
        });
    }
    let sent_at = time(msg, path, "date")?;
    // Replies in the same chat carry the original; its id is unique within this chat.
    let reply_to = match obj(msg, path, "reply_to_message")? {
        Some(original) => {
            let id = int(original, &format!("{path}.reply_to_message"), "message_id")?;
            id.map(|id| format!("{}:{id}", head.chat_id))
        }
        None => None,
    };
    let thread = format!("{THREAD_PREFIX}{}", head.chat_id);
    if is_own_bot(from, cfg) {
        return Ok(ChannelEvent::Echo(EchoMessage {
            external_id: head.external_id,
            thread,
            public: head.public,
            to: chat_author(chat, &format!("{path}.chat"))?,
            text,
            sent_at,
            attachments,
            reply_to,
            ours: None,
            other_app: false,
        }));
    }
    Ok(ChannelEvent::Message(InboundMessage {
        external_id: head.external_id,
        thread,
        public: head.public,
        author,
        text,
        sent_at,
        attachments,
        reply_to,
    }))
}

/// The sender is this channel's bot (`from.is_bot` and `from.username` = `bot_username`).
fn is_own_bot(from: Option<&Map<String, Value>>, cfg: &Config) -> bool {
    let (Some(from), Some(bot)) = (from, cfg.bot_username.as_deref()) else {
        return false;
    };
    from.get("is_bot").and_then(Value::as_bool) == Some(true)
        && from
            .get("username")
            .and_then(Value::as_str)
            .is_some_and(|u| u.eq_ignore_ascii_case(bot))
}

fn edited_event(v: &Value, path: &str) -> Result<ChannelEvent, PayloadError> {
    let msg = as_object(v, path)?;
    let head = message_head(msg, path)?;
    let text = string(msg, path, "text")?
        .or(string(msg, path, "caption")?)
        .unwrap_or_default()
        .to_owned();
    let at = match time(msg, path, "edit_date")? {
        Some(t) => Some(t),
        None => time(msg, path, "date")?,
    };
    Ok(ChannelEvent::Edited {
        external_id: head.external_id,
        text,
        at,
    })
}

fn reaction_event(v: &Value) -> Result<ChannelEvent, PayloadError> {
    let path = "message_reaction";
    let r = as_object(v, path)?;
    let chat = obj(r, path, "chat")?
        .ok_or_else(|| PayloadError::field("message_reaction.chat", "is required"))?;
    let chat_id = int(chat, "message_reaction.chat", "id")?
        .ok_or_else(|| PayloadError::field("message_reaction.chat.id", "is required"))?;
    let message_id = int(r, path, "message_id")?
        .ok_or_else(|| PayloadError::field("message_reaction.message_id", "is required"))?;
    let author = match (obj(r, path, "user")?, obj(r, path, "actor_chat")?) {
        (Some(u), _) => user_author(u, "message_reaction.user")?,
        (None, Some(c)) => chat_author(c, "message_reaction.actor_chat")?,
        (None, None) => chat_author(chat, "message_reaction.chat")?,
    };
    let old = reactions(r, "old_reaction")?;
    let new = reactions(r, "new_reaction")?;
    // The reaction just added; else one that is still set; none when all were removed.
    let emoji = new
        .iter()
        .find(|e| !old.contains(e))
        .or_else(|| new.first())
        .cloned();
    Ok(ChannelEvent::Reaction(Reaction {
        target: format!("{chat_id}:{message_id}"),
        author,
        emoji,
        at: time(r, path, "date")?,
    }))
}

/// `ReactionType`s as strings: the emoji, `custom_emoji:<id>`, or `paid`.
fn reactions(r: &Map<String, Value>, key: &str) -> Result<Vec<String>, PayloadError> {
    let path = format!("message_reaction.{key}");
    let list = match r.get(key) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(PayloadError::field(&path, "must be an array")),
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let item_path = format!("{path}[{i}]");
        let item = as_object(item, &item_path)?;
        let kind = string(item, &item_path, "type")?
            .ok_or_else(|| PayloadError::field(&format!("{item_path}.type"), "is required"))?;
        out.push(match kind {
            "emoji" => string(item, &item_path, "emoji")?
                .ok_or_else(|| PayloadError::field(&format!("{item_path}.emoji"), "is required"))?
                .to_owned(),
            "custom_emoji" => format!(
                "custom_emoji:{}",
                string(item, &item_path, "custom_emoji_id")?.unwrap_or_default()
            ),
            other => other.to_owned(),
        });
    }
    Ok(out)
}

fn user_author(u: &Map<String, Value>, path: &str) -> Result<Author, PayloadError> {
    let id = int(u, path, "id")?
        .ok_or_else(|| PayloadError::field(&format!("{path}.id"), "is required"))?;
    Ok(Author {
        external_id: id.to_string(),
        name: full_name(u, path)?,
        handle: string(u, path, "username")?.map(|h| format!("@{h}")),
        followers: None,
        verified: None,
    })
}

fn chat_author(c: &Map<String, Value>, path: &str) -> Result<Author, PayloadError> {
    let id = int(c, path, "id")?
        .ok_or_else(|| PayloadError::field(&format!("{path}.id"), "is required"))?;
    let name = match string(c, path, "title")? {
        Some(title) => Some(title.to_owned()),
        None => full_name(c, path)?,
    };
    Ok(Author {
        external_id: id.to_string(),
        name,
        handle: string(c, path, "username")?.map(|h| format!("@{h}")),
        followers: None,
        verified: None,
    })
}

/// `first_name last_name`, when there is either.
fn full_name(o: &Map<String, Value>, path: &str) -> Result<Option<String>, PayloadError> {
    let first = string(o, path, "first_name")?.unwrap_or_default();
    let last = string(o, path, "last_name")?.unwrap_or_default();
    let name = format!("{first} {last}").trim().to_owned();
    Ok((!name.is_empty()).then_some(name))
}

fn attachments(msg: &Map<String, Value>, path: &str) -> Result<Vec<Attachment>, PayloadError> {
    let mut out = Vec::new();
    let file = |kind: &str,
                key: &str,
                default_mime: Option<&str>|
     -> Result<Option<Attachment>, PayloadError> {
        let Some(f) = obj(msg, path, key)? else {
            return Ok(None);
        };
        let fpath = format!("{path}.{key}");
        Ok(Some(Attachment {
            kind: kind.to_owned(),
            url: None,
            provider_id: Some(file_id(f, &fpath)?),
            mime_type: string(f, &fpath, "mime_type")?
                .or(default_mime)
                .map(str::to_owned),
            name: string(f, &fpath, "file_name")?
                .or(string(f, &fpath, "title")?)
                .map(str::to_owned),
        }))
    };
    if let Some(photo) = msg.get("photo") {
        let sizes = photo
            .as_array()
            .ok_or_else(|| PayloadError::field(&format!("{path}.photo"), "must be an array"))?;
        // The largest size (Telegram lists them small to large; pick by area to be sure).
        let mut best: Option<(i64, &Map<String, Value>, String)> = None;
        for (i, size) in sizes.iter().enumerate() {
            let spath = format!("{path}.photo[{i}]");
            let size = as_object(size, &spath)?;
            let area = int(size, &spath, "width")?
                .unwrap_or(0)
                .saturating_mul(int(size, &spath, "height")?.unwrap_or(0));
            if best.as_ref().is_none_or(|(a, _, _)| area >= *a) {
                best = Some((area, size, spath));
            }
        }
        if let Some((_, size, spath)) = best {
            out.push(Attachment {
                kind: "image".to_owned(),
                url: None,
                provider_id: Some(file_id(size, &spath)?),
                mime_type: None,
                name: None,
            });
        }
    }
    // With `animation`, Telegram also sets `document` for old clients: read it once.
    if msg.contains_key("animation") {
        out.extend(file("video", "animation", None)?);
    } else {
        out.extend(file("file", "document", None)?);
    }
    out.extend(file("video", "video", None)?);
    out.extend(file("video", "video_note", None)?);
    out.extend(file("audio", "audio", None)?);
    out.extend(file("audio", "voice", None)?);
    if let Some(sticker) = obj(msg, path, "sticker")? {
        let spath = format!("{path}.sticker");
        let mime = if sticker.get("is_video").and_then(Value::as_bool) == Some(true) {
            "video/webm"
        } else if sticker.get("is_animated").and_then(Value::as_bool) == Some(true) {
            "application/x-tgsticker"
        } else {
            "image/webp"
        };
        out.push(Attachment {
            kind: "sticker".to_owned(),
            url: None,
            provider_id: Some(file_id(sticker, &spath)?),
            mime_type: Some(mime.to_owned()),
            name: string(sticker, &spath, "emoji")?.map(str::to_owned),
        });
    }
    // A venue also sets `location` for old clients: read it once, with the venue's name.
    let venue = obj(msg, path, "venue")?;
    let location = match venue {
        Some(v) => obj(v, &format!("{path}.venue"), "location")?,
        None => obj(msg, path, "location")?,
    };
    if let Some(loc) = location {
        let lpath = format!("{path}.location");
        let coord = |key: &str| match loc.get(key) {
            Some(Value::Number(n)) if n.as_f64().is_some() => Ok(n.to_string()),
            _ => Err(PayloadError::field(
                &format!("{lpath}.{key}"),
                "must be a number",
            )),
        };
        let name = match venue {
            Some(v) => string(v, &format!("{path}.venue"), "title")?.map(str::to_owned),
            None => None,
        };
        out.push(Attachment {
            kind: "location".to_owned(),
            url: Some(format!(
                "geo:{},{}",
                coord("latitude")?,
                coord("longitude")?
            )),
            provider_id: None,
            mime_type: None,
            name,
        });
    }
    if let Some(contact) = obj(msg, path, "contact")? {
        let cpath = format!("{path}.contact");
        let phone = string(contact, &cpath, "phone_number")?;
        out.push(Attachment {
            kind: "contact".to_owned(),
            url: phone.map(|p| format!("tel:{p}")),
            provider_id: int(contact, &cpath, "user_id")?.map(|id| id.to_string()),
            mime_type: None,
            name: full_name(contact, &cpath)?,
        });
    }
    // Content Switchboard keeps only as a mention of its kind.
    for key in [
        "poll",
        "dice",
        "game",
        "story",
        "paid_media",
        "checklist",
        "invoice",
    ] {
        if msg.get(key).is_some_and(Value::is_object) {
            out.push(Attachment {
                kind: "other".to_owned(),
                url: None,
                provider_id: None,
                mime_type: None,
                name: Some(key.to_owned()),
            });
        }
    }
    Ok(out)
}

fn file_id(f: &Map<String, Value>, path: &str) -> Result<String, PayloadError> {
    string(f, path, "file_id")?
        .map(str::to_owned)
        .ok_or_else(|| PayloadError::field(&format!("{path}.file_id"), "is required"))
}

// JSON field readers: absent or null is `None`, a wrong type is an error naming the path.

fn obj<'a>(
    o: &'a Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<Option<&'a Map<String, Value>>, PayloadError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(PayloadError::field(
            &format!("{path}.{key}"),
            "must be an object",
        )),
    }
}

fn string<'a>(
    o: &'a Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<Option<&'a str>, PayloadError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(PayloadError::field(
            &format!("{path}.{key}"),
            "must be a string",
        )),
    }
}

fn int(o: &Map<String, Value>, path: &str, key: &str) -> Result<Option<i64>, PayloadError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.as_i64().is_some() => Ok(n.as_i64()),
        Some(_) => Err(PayloadError::field(
            &format!("{path}.{key}"),
            "must be an integer",
        )),
    }
}

/// A Unix time in seconds.
fn time(o: &Map<String, Value>, path: &str, key: &str) -> Result<Option<Timestamp>, PayloadError> {
    match int(o, path, key)? {
        None => Ok(None),
        Some(secs) => Timestamp::from_unix_secs(secs).map(Some).ok_or_else(|| {
            PayloadError::field(&format!("{path}.{key}"), "is not a plausible Unix time")
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Outbound

/// The chat to send to: the thread's (`chat:<id>`), else `job.to`.
fn chat_id(job: &SendJob) -> Option<&str> {
    crate::thread_or_to(job, THREAD_PREFIX)
}

/// Telegram's rules for a reply: some text, at most 4096 characters, in a chat the bot is in.
/// There is no reply window, and a bot cannot answer a group message in private (it may
/// only write to users who started a chat with it).
pub fn check_reply(job: &SendJob) -> Result<(), RuleError> {
    crate::meta::check_text("Telegram", MAX_TEXT_CHARS, &job.text)?;
    if job.private_reply {
        return Err(RuleError::new(
            "not_supported",
            "A Telegram bot cannot answer a group message privately: reply in the chat instead.",
        ));
    }
    if chat_id(job).is_none() {
        return Err(RuleError::new(
            "not_supported",
            "This conversation has no Telegram chat to send to.",
        ));
    }
    Ok(())
}

/// `POST {api_base}/bot<token>/sendMessage` with
/// `{"chat_id":…,"text":…,"reply_parameters":{"message_id":…}}`; `reply_parameters` only
/// when `in_reply_to` is a message of the same chat (`<chat id>:<message id>`).
pub fn send_request(
    cfg: &Config,
    creds: &Credentials,
    job: &SendJob,
) -> Result<HttpRequest, RuleError> {
    check_reply(job)?;
    let chat = chat_id(job).unwrap_or_default().trim();
    // Numeric ids go as numbers; `@channelusername` as a string.
    let chat_value = chat
        .parse::<i64>()
        .map_or_else(|_| Value::from(chat), Value::from);
    let mut body = json!({ "chat_id": chat_value, "text": job.text });
    let reply_to = job
        .in_reply_to
        .as_deref()
        .and_then(|r| r.split_once(':'))
        .filter(|(c, _)| *c == chat)
        .and_then(|(_, m)| m.parse::<i64>().ok());
    if let Some(message_id) = reply_to {
        body["reply_parameters"] = json!({ "message_id": message_id });
    }
    Ok(HttpRequest {
        method: "POST",
        url: format!("{}/bot{}/sendMessage", cfg.api_base, creds.bot_token),
        headers: vec![("content-type".to_owned(), "application/json".to_owned())],
        body: body.to_string().into_bytes(),
    })
}

/// Reads the Bot API's answer: `{"ok":true,"result":Message}` → accepted as
/// `<chat id>:<message id>`, `Delivered` (no receipts follow); error 429 → retry after
/// `parameters.retry_after` (or `Retry-After`); 5xx/408 → retry; other errors → failed
/// `"<error_code>: <description>"`.
pub fn read_response(status: u16, retry_after: Option<&str>, body: &[u8]) -> SendOutcome {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let get = |key: &str| json.as_ref().and_then(|j| j.get(key));
    let ok = get("ok").and_then(Value::as_bool);
    if (200..300).contains(&status) && ok != Some(false) {
        let result = get("result");
        let message_id = result
            .and_then(|r| r.get("message_id"))
            .and_then(Value::as_i64);
        let chat_id = result
            .and_then(|r| r.get("chat"))
            .and_then(|c| c.get("id"))
            .and_then(Value::as_i64);
        return SendOutcome::Accepted {
            external_id: match (chat_id, message_id) {
                (Some(c), Some(m)) => Some(format!("{c}:{m}")),
                _ => None,
            },
            state: DeliveryState::Delivered,
        };
    }
    // The body's `error_code` is the HTTP status Telegram meant; trust it over the transport's.
    let code = get("error_code")
        .and_then(Value::as_u64)
        .unwrap_or(u64::from(status));
    let description = get("description")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|d| !d.is_empty());
    let parameters = get("parameters");
    let mut error = match description {
        Some(d) => format!("{code}: {d}"),
        None => format!("{code}: HTTP {status}"),
    };
    if let Some(to) = parameters
        .and_then(|p| p.get("migrate_to_chat_id"))
        .and_then(Value::as_i64)
    {
        error.push_str(&format!(" (the group is now the supergroup {to})"));
    }
    if code == 429 {
        let hinted = parameters
            .and_then(|p| p.get("retry_after"))
            .and_then(Value::as_u64);
        return SendOutcome::Retry {
            after_secs: hinted.or_else(|| retry_after.and_then(|s| s.trim().parse().ok())),
            error,
        };
    }
    if code == 408 || !(400..500).contains(&code) {
        return SendOutcome::Retry {
            after_secs: retry_after.and_then(|s| s.trim().parse().ok()),
            error,
        };
    }
    SendOutcome::Failed { error }
}

// ---------------------------------------------------------------------------------------------
// Config helpers

/// The settings object (`null` reads as `{}`).
fn settings(v: &Value, name: &str) -> Result<Map<String, Value>, PayloadError> {
    match v {
        Value::Object(o) => Ok(o.clone()),
        Value::Null => Ok(Map::new()),
        _ => Err(PayloadError::field(name, "must be a JSON object")),
    }
}

fn optional_str(
    obj: &Map<String, Value>,
    prefix: &str,
    key: &str,
) -> Result<Option<String>, PayloadError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(_) => Err(PayloadError::field(
            &format!("{prefix}.{key}"),
            "must be a string",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"s3cret_Token-1";

    fn cfg() -> Config {
        Config::from_json(&json!({"bot_username": "@SwitchboardBot"})).unwrap()
    }

    fn creds() -> Credentials {
        Credentials::from_json(
            &json!({"bot_token": "123456:ABC-DEF_ghi", "secret_token": "s3cret_Token-1"}),
        )
        .unwrap()
    }

    fn parse_one(v: Value) -> ChannelEvent {
        let events = parse(v.to_string().as_bytes(), &cfg()).unwrap();
        assert_eq!(events.len(), 1, "{events:?}");
        events.into_iter().next().unwrap()
    }

    fn ann() -> Value {
        json!({"id": 111111, "is_bot": false, "first_name": "Ann", "last_name": "Lee", "username": "annlee", "language_code": "de"})
    }

    fn private_chat() -> Value {
        json!({"id": 111111, "first_name": "Ann", "last_name": "Lee", "username": "annlee", "type": "private"})
    }

    fn secs(s: i64) -> Option<Timestamp> {
        Timestamp::from_unix_secs(s)
    }

    fn job(text: &str) -> SendJob {
        SendJob {
            message_id: "m-1".into(),
            thread: "chat:111111".into(),
            public: false,
            to: "111111".into(),
            in_reply_to: None,
            private_reply: false,
            template: None,
            text: text.into(),
            last_inbound_at: None,
            now: Timestamp::parse_rfc3339("2026-11-22T10:00:00Z").unwrap(),
        }
    }

    // --- verify and settings -----------------------------------------------------------------

    #[test]
    fn secret_token_header() {
        assert_eq!(verify(SECRET, Some("s3cret_Token-1")), Ok(()));
        assert_eq!(
            verify(SECRET, Some("s3cret_Token-2")),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, Some("S3cret_Token-1")),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, Some("s3cret_Token-")),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, Some("s3cret_Token-11")),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify(SECRET, Some("")), Err(SignatureError::Mismatch));
        assert_eq!(
            verify(SECRET, None),
            Err(SignatureError::Missing("X-Telegram-Bot-Api-Secret-Token"))
        );
        assert_eq!(verify(b"", Some("")), Err(SignatureError::Mismatch));
        assert_eq!(
            verify(creds().secret_token(), Some("s3cret_Token-1")),
            Ok(())
        );
    }

    #[test]
    fn config_and_credentials() {
        assert_eq!(
            Config::from_json(&Value::Null).unwrap(),
            Config {
                api_base: "https://api.telegram.org".into(),
                bot_username: None
            }
        );
        let c =
            Config::from_json(&json!({"api_base": "http://127.0.0.1:9/", "bot_username": "Bot"}))
                .unwrap();
        assert_eq!(c.api_base, "http://127.0.0.1:9");
        assert_eq!(c.bot_username.as_deref(), Some("Bot"));
        assert_eq!(cfg().bot_username.as_deref(), Some("SwitchboardBot"));
        for (v, field) in [
            (json!({"api_base": "file:///x"}), "config.api_base"),
            (json!({"bot_username": 7}), "config.bot_username"),
            (json!("x"), "config"),
        ] {
            assert_eq!(
                Config::from_json(&v).unwrap_err().field.as_deref(),
                Some(field),
                "{v}"
            );
        }
        for (v, field) in [
            (json!({"secret_token": "abc"}), "credentials.bot_token"),
            (json!({"bot_token": "1:A"}), "credentials.secret_token"),
            (
                json!({"bot_token": "1:A/../x", "secret_token": "abc"}),
                "credentials.bot_token",
            ),
            (
                json!({"bot_token": "1:A", "secret_token": "has space"}),
                "credentials.secret_token",
            ),
            (
                json!({"bot_token": "1:A", "secret_token": "a".repeat(257)}),
                "credentials.secret_token",
            ),
        ] {
            let err = Credentials::from_json(&v).unwrap_err();
            assert_eq!(err.field.as_deref(), Some(field), "{v}");
            assert!(!err.message.contains("has space"), "{err}");
        }
        let shown = format!("{:?}", creds());
        assert!(
            !shown.contains("ABC-DEF") && !shown.contains("s3cret"),
            "{shown}"
        );
    }

    // --- messages ----------------------------------------------------------------------------

    #[test]
    fn private_text_message() {
        let e = parse_one(json!({
            "update_id": 5,
            "message": {"message_id": 5, "from": ann(), "chat": private_chat(), "date": 1441645532,
                        "text": "Hello, I need your Help",
                        "reply_to_message": {"message_id": 3, "from": ann(), "chat": private_chat(), "date": 1441645500, "text": "earlier"}}
        }));
        assert_eq!(
            e,
            ChannelEvent::Message(InboundMessage {
                external_id: "111111:5".into(),
                thread: "chat:111111".into(),
                public: false,
                author: Author {
                    external_id: "111111".into(),
                    name: Some("Ann Lee".into()),
                    handle: Some("@annlee".into()),
                    followers: None,
                    verified: None,
                },
                text: "Hello, I need your Help".into(),
                sent_at: secs(1441645532),
                attachments: vec![],
                reply_to: Some("111111:3".into()),
            })
        );
    }

    #[test]
    fn group_and_channel_messages_are_public() {
        let e = parse_one(json!({
            "update_id": 6,
            "message": {"message_id": 77, "from": {"id": 5, "is_bot": false, "first_name": "Bo"},
                        "chat": {"id": -1001234567890_i64, "title": "Support", "type": "supergroup"},
                        "date": 1700000000, "text": "anyone?"}
        }));
        let ChannelEvent::Message(m) = e else {
            panic!("{e:?}")
        };
        assert!(m.public);
        assert_eq!(m.thread, "chat:-1001234567890");
        assert_eq!(m.external_id, "-1001234567890:77");
        assert_eq!(m.author.name.as_deref(), Some("Bo"));
        assert_eq!(m.author.handle, None);

        // A channel post names the channel in sender_chat.
        let e = parse_one(json!({
            "update_id": 7,
            "channel_post": {"message_id": 1365, "sender_chat": {"id": -100987, "title": "News", "username": "newsch", "type": "channel"},
                             "chat": {"id": -100987, "title": "News", "username": "newsch", "type": "channel"},
                             "date": 1441645532, "text": "Hello"}
        }));
        let ChannelEvent::Message(m) = e else {
            panic!("{e:?}")
        };
        assert!(m.public);
        assert_eq!(m.author.external_id, "-100987");
        assert_eq!(m.author.name.as_deref(), Some("News"));
        assert_eq!(m.author.handle.as_deref(), Some("@newsch"));

        // Older channel posts without sender_chat: the chat is the author.
        let e = parse_one(json!({
            "update_id": 10001,
            "channel_post": {"chat": {"id": 123456789, "title": "ZBotChannel", "type": "channel"},
                             "message_id": 1365, "date": 1441645532, "text": "Hello, I need your Help"},
            "bid": "12345678"
        }));
        let ChannelEvent::Message(m) = e else {
            panic!("{e:?}")
        };
        assert_eq!(m.author.external_id, "123456789");
        assert_eq!(m.author.name.as_deref(), Some("ZBotChannel"));

        // An anonymous group admin: `from` is Telegram's placeholder, the group is the author.
        let e = parse_one(json!({
            "update_id": 8,
            "message": {"message_id": 9, "from": {"id": 1087968824, "is_bot": true, "first_name": "Group", "username": "GroupAnonymousBot"},
                        "sender_chat": {"id": -100555, "title": "Shop team", "type": "supergroup"},
                        "chat": {"id": -100555, "title": "Shop team", "type": "supergroup"},
                        "date": 1700000000, "text": "posted anonymously"}
        }));
        let ChannelEvent::Message(m) = e else {
            panic!("{e:?}")
        };
        assert_eq!(m.author.external_id, "-100555");
    }

    #[test]
    fn attachments_of_every_kind() {
        let msg = |extra: Value| {
            let mut m =
                json!({"message_id": 3, "from": ann(), "chat": private_chat(), "date": 1486036832});
            for (k, v) in extra.as_object().unwrap() {
                m[k] = v.clone();
            }
            let e = parse_one(json!({"update_id": 3, "message": m}));
            let ChannelEvent::Message(m) = e else {
                panic!("{e:?}")
            };
            m
        };
        let m = msg(json!({
            "photo": [
                {"file_id": "p1", "file_unique_id": "u1", "width": 90, "height": 82},
                {"file_id": "p3", "file_unique_id": "u3", "width": 720, "height": 654},
                {"file_id": "p2", "file_unique_id": "u2", "width": 320, "height": 291}
            ],
            "caption": "caption 123"
        }));
        assert_eq!(m.text, "caption 123");
        assert_eq!(
            m.attachments,
            vec![Attachment {
                kind: "image".into(),
                url: None,
                provider_id: Some("p3".into()),
                mime_type: None,
                name: None
            }]
        );
        let m = msg(
            json!({"document": {"file_id": "d1", "file_unique_id": "x", "file_name": "invoice.pdf", "mime_type": "application/pdf"}}),
        );
        assert_eq!(m.text, "");
        assert_eq!(
            m.attachments,
            vec![Attachment {
                kind: "file".into(),
                url: None,
                provider_id: Some("d1".into()),
                mime_type: Some("application/pdf".into()),
                name: Some("invoice.pdf".into())
            }]
        );
        let kinds = |m: &InboundMessage| {
            m.attachments
                .iter()
                .map(|a| {
                    (
                        a.kind.clone(),
                        a.provider_id.clone(),
                        a.mime_type.clone(),
                        a.name.clone(),
                        a.url.clone(),
                    )
                })
                .collect::<Vec<_>>()
        };
        let m = msg(
            json!({"video": {"file_id": "v1", "file_unique_id": "x", "width": 1, "height": 1, "duration": 3, "mime_type": "video/mp4"}}),
        );
        assert_eq!(
            kinds(&m),
            [(
                "video".into(),
                Some("v1".into()),
                Some("video/mp4".into()),
                None,
                None
            )]
        );
        let m = msg(
            json!({"audio": {"file_id": "a1", "file_unique_id": "x", "duration": 3, "title": "Song", "mime_type": "audio/mpeg"}}),
        );
        assert_eq!(
            kinds(&m),
            [(
                "audio".into(),
                Some("a1".into()),
                Some("audio/mpeg".into()),
                Some("Song".into()),
                None
            )]
        );
        let m = msg(
            json!({"voice": {"file_id": "o1", "file_unique_id": "x", "duration": 3, "mime_type": "audio/ogg"}}),
        );
        assert_eq!(
            kinds(&m),
            [(
                "audio".into(),
                Some("o1".into()),
                Some("audio/ogg".into()),
                None,
                None
            )]
        );
        let m = msg(
            json!({"sticker": {"file_id": "s1", "file_unique_id": "x", "type": "regular", "width": 512, "height": 512, "is_animated": false, "is_video": false, "emoji": "😀"}}),
        );
        assert_eq!(
            kinds(&m),
            [(
                "sticker".into(),
                Some("s1".into()),
                Some("image/webp".into()),
                Some("😀".into()),
                None
            )]
        );
        let m = msg(json!({"location": {"latitude": 52.52, "longitude": 13.405}}));
        assert_eq!(
            kinds(&m),
            [(
                "location".into(),
                None,
                None,
                None,
                Some("geo:52.52,13.405".into())
            )]
        );
        // A venue also carries `location`: one attachment, named.
        let m = msg(json!({
            "venue": {"location": {"latitude": 48.8584, "longitude": 2.2945}, "title": "Tour Eiffel", "address": "Champ de Mars"},
            "location": {"latitude": 48.8584, "longitude": 2.2945}
        }));
        assert_eq!(
            kinds(&m),
            [(
                "location".into(),
                None,
                None,
                Some("Tour Eiffel".into()),
                Some("geo:48.8584,2.2945".into())
            )]
        );
        let m = msg(
            json!({"contact": {"phone_number": "+49171000", "first_name": "Cy", "last_name": "Do", "user_id": 42}}),
        );
        assert_eq!(
            kinds(&m),
            [(
                "contact".into(),
                Some("42".into()),
                None,
                Some("Cy Do".into()),
                Some("tel:+49171000".into())
            )]
        );
        // An animation also carries `document`: one attachment.
        let m = msg(json!({
            "animation": {"file_id": "g1", "file_unique_id": "x", "width": 1, "height": 1, "duration": 1, "mime_type": "video/mp4"},
            "document": {"file_id": "g1", "file_unique_id": "x", "mime_type": "video/mp4"}
        }));
        assert_eq!(
            kinds(&m),
            [(
                "video".into(),
                Some("g1".into()),
                Some("video/mp4".into()),
                None,
                None
            )]
        );
        let m = msg(json!({"poll": {"id": "1", "question": "Q?", "options": []}}));
        assert_eq!(
            kinds(&m),
            [("other".into(), None, None, Some("poll".into()), None)]
        );
    }

    #[test]
    fn service_messages_are_ignored() {
        let e = parse_one(json!({
            "update_id": 9,
            "message": {"message_id": 10, "from": ann(), "date": 1700000000,
                        "chat": {"id": -100555, "title": "Shop team", "type": "supergroup"},
                        "new_chat_members": [ann()]}
        }));
        assert_eq!(
            e,
            ChannelEvent::Ignored {
                kind: "message.new_chat_members".into()
            }
        );
    }

    #[test]
    fn own_messages_are_echoes() {
        let e = parse_one(json!({
            "update_id": 11,
            "message": {"message_id": 12, "from": {"id": 999, "is_bot": true, "first_name": "SB", "username": "switchboardbot"},
                        "chat": private_chat(), "date": 1700000000, "text": "Hi Ann",
                        "reply_to_message": {"message_id": 11, "chat": private_chat(), "date": 1700000000, "text": "?"}}
        }));
        assert_eq!(
            e,
            ChannelEvent::Echo(EchoMessage {
                external_id: "111111:12".into(),
                thread: "chat:111111".into(),
                public: false,
                to: Author {
                    external_id: "111111".into(),
                    name: Some("Ann Lee".into()),
                    handle: Some("@annlee".into()),
                    followers: None,
                    verified: None
                },
                text: "Hi Ann".into(),
                sent_at: secs(1700000000),
                attachments: vec![],
                reply_to: Some("111111:11".into()),
                ours: None,
                other_app: false,
            })
        );
        // Another bot is a customer like any other.
        let e = parse_one(json!({
            "update_id": 12,
            "message": {"message_id": 13, "from": {"id": 998, "is_bot": true, "first_name": "Other", "username": "OtherBot"},
                        "chat": private_chat(), "date": 1700000000, "text": "beep"}
        }));
        assert_eq!(e.kind(), "message");
    }

    #[test]
    fn edits() {
        let e = parse_one(json!({
            "update_id": 13,
            "edited_message": {"message_id": 5, "from": ann(), "chat": private_chat(), "date": 1700000000, "edit_date": 1700000100, "text": "Hello (edited)"}
        }));
        assert_eq!(
            e,
            ChannelEvent::Edited {
                external_id: "111111:5".into(),
                text: "Hello (edited)".into(),
                at: secs(1700000100)
            }
        );
        let e = parse_one(json!({
            "update_id": 14,
            "edited_channel_post": {"message_id": 6, "chat": {"id": -100987, "title": "News", "type": "channel"}, "date": 1700000000, "caption": "new caption"}
        }));
        assert_eq!(
            e,
            ChannelEvent::Edited {
                external_id: "-100987:6".into(),
                text: "new caption".into(),
                at: secs(1700000000)
            }
        );
    }

    #[test]
    fn reactions() {
        let reaction = |old: Value, new: Value| {
            parse_one(json!({
                "update_id": 15,
                "message_reaction": {"chat": private_chat(), "message_id": 5, "user": ann(), "date": 1700000200,
                                     "old_reaction": old, "new_reaction": new}
            }))
        };
        let e = reaction(json!([]), json!([{"type": "emoji", "emoji": "👍"}]));
        let ChannelEvent::Reaction(r) = &e else {
            panic!("{e:?}")
        };
        assert_eq!(r.target, "111111:5");
        assert_eq!(r.author.external_id, "111111");
        assert_eq!(r.emoji.as_deref(), Some("👍"));
        assert_eq!(r.at, secs(1700000200));
        // The newly added one wins over one already set.
        let e = reaction(
            json!([{"type": "emoji", "emoji": "👍"}]),
            json!([{"type": "emoji", "emoji": "👍"}, {"type": "custom_emoji", "custom_emoji_id": "5368"}]),
        );
        let ChannelEvent::Reaction(r) = &e else {
            panic!("{e:?}")
        };
        assert_eq!(r.emoji.as_deref(), Some("custom_emoji:5368"));
        // Removed: no emoji.
        let e = reaction(json!([{"type": "emoji", "emoji": "👍"}]), json!([]));
        let ChannelEvent::Reaction(r) = &e else {
            panic!("{e:?}")
        };
        assert_eq!(r.emoji, None);
        // An anonymous reaction names the chat it was made on behalf of.
        let e = parse_one(json!({
            "update_id": 16,
            "message_reaction": {"chat": {"id": -100555, "title": "Shop team", "type": "supergroup"}, "message_id": 5,
                                 "actor_chat": {"id": -100555, "title": "Shop team", "type": "supergroup"}, "date": 1700000200,
                                 "old_reaction": [], "new_reaction": [{"type": "paid"}]}
        }));
        let ChannelEvent::Reaction(r) = &e else {
            panic!("{e:?}")
        };
        assert_eq!(r.author.external_id, "-100555");
        assert_eq!(r.emoji.as_deref(), Some("paid"));
    }

    #[test]
    fn other_updates_are_ignored() {
        for (kind, payload) in [
            (
                "callback_query",
                json!({"id": "4382", "from": ann(), "chat_instance": "x", "data": "ok"}),
            ),
            (
                "my_chat_member",
                json!({"chat": private_chat(), "from": ann(), "date": 1, "old_chat_member": {}, "new_chat_member": {}}),
            ),
            (
                "message_reaction_count",
                json!({"chat": private_chat(), "message_id": 1, "date": 1, "reactions": []}),
            ),
            ("business_message", json!({"message_id": 1})),
            ("some_future_update", json!({"x": 1})),
        ] {
            let e = parse_one(json!({"update_id": 20, kind: payload}));
            assert_eq!(e, ChannelEvent::Ignored { kind: kind.into() });
        }
        assert_eq!(
            parse_one(json!({"update_id": 21})),
            ChannelEvent::Ignored {
                kind: "empty_update".into()
            }
        );
    }

    #[test]
    fn malformed_updates_name_the_field() {
        let table: Vec<(Vec<u8>, Option<&str>)> = vec![
            (b"not json".to_vec(), None),
            (b"{\"update_id\": 1, \"message\": {".to_vec(), None),
            (b"[1]".to_vec(), None),
            (json!({"message": {}}).to_string().into_bytes(), Some("update_id")),
            (json!({"update_id": "1"}).to_string().into_bytes(), Some("update_id")),
            (json!({"update_id": 1, "message": "hi"}).to_string().into_bytes(), Some("message")),
            (
                json!({"update_id": 1, "message": {"chat": private_chat(), "date": 1, "text": "x"}}).to_string().into_bytes(),
                Some("message.message_id"),
            ),
            (
                json!({"update_id": 1, "message": {"message_id": 1, "date": 1, "text": "x"}}).to_string().into_bytes(),
                Some("message.chat"),
            ),
            (
                json!({"update_id": 1, "message": {"message_id": 1, "chat": {"id": "1", "type": "private"}, "text": "x"}}).to_string().into_bytes(),
                Some("message.chat.id"),
            ),
            (
                json!({"update_id": 1, "message": {"message_id": 1, "chat": {"id": 1}, "text": "x"}}).to_string().into_bytes(),
                Some("message.chat.type"),
            ),
            (
                json!({"update_id": 1, "message": {"message_id": 1, "chat": private_chat(), "from": {"first_name": "x"}, "text": "x"}}).to_string().into_bytes(),
                Some("message.from.id"),
            ),
            (
                json!({"update_id": 1, "message": {"message_id": 1, "chat": private_chat(), "text": 5}}).to_string().into_bytes(),
                Some("message.text"),
            ),
            (
                json!({"update_id": 1, "message": {"message_id": 1, "chat": private_chat(), "photo": {}}}).to_string().into_bytes(),
                Some("message.photo"),
            ),
            (
                json!({"update_id": 1, "message": {"message_id": 1, "chat": private_chat(), "photo": [{"width": 1, "height": 1}]}}).to_string().into_bytes(),
                Some("message.photo[0].file_id"),
            ),
            (
                json!({"update_id": 1, "message": {"message_id": 1, "chat": private_chat(), "date": -5, "text": "x"}}).to_string().into_bytes(),
                Some("message.date"),
            ),
            (
                json!({"update_id": 1, "message": {"message_id": 1, "chat": private_chat(), "location": {"latitude": "n"}}}).to_string().into_bytes(),
                Some("message.location.latitude"),
            ),
            (
                json!({"update_id": 1, "edited_message": {"message_id": 1, "text": "x"}}).to_string().into_bytes(),
                Some("edited_message.chat"),
            ),
            (
                json!({"update_id": 1, "message_reaction": {"chat": private_chat(), "message_id": 1, "new_reaction": [{"type": "emoji"}]}}).to_string().into_bytes(),
                Some("message_reaction.new_reaction[0].emoji"),
            ),
            (
                json!({"update_id": 1, "message_reaction": {"chat": private_chat(), "message_id": 1, "new_reaction": "👍"}}).to_string().into_bytes(),
                Some("message_reaction.new_reaction"),
            ),
        ];
        for (body, field) in table {
            let err = parse(&body, &cfg()).unwrap_err();
            assert_eq!(
                err.field.as_deref(),
                field,
                "{}: {err}",
                String::from_utf8_lossy(&body)
            );
        }
    }

    #[test]
    fn dedupe_keys() {
        assert_eq!(
            dedupe_key(br#"{"update_id": 10001, "channel_post": {}}"#).as_deref(),
            Some("update:10001")
        );
        assert_eq!(dedupe_key(br#"{"message": {}}"#), None);
        assert_eq!(dedupe_key(b"garbage"), None);
    }

    // --- rules and sends ---------------------------------------------------------------------

    #[test]
    fn rules() {
        assert_eq!(check_reply(&job("Hi")), Ok(()));
        assert_eq!(check_reply(&job(&"ß".repeat(4096))), Ok(()));
        assert_eq!(
            check_reply(&job(&"ß".repeat(4097))).unwrap_err().code,
            "too_long"
        );
        assert_eq!(check_reply(&job("  ")).unwrap_err().code, "empty");
        // No window: a week-old chat can be answered.
        let mut old = job("Hi");
        old.last_inbound_at = Some(old.now.plus_micros(-7 * 24 * 3600 * 1_000_000));
        assert_eq!(check_reply(&old), Ok(()));
        let mut private = job("Hi");
        private.private_reply = true;
        assert_eq!(check_reply(&private).unwrap_err().code, "not_supported");
        let mut nowhere = job("Hi");
        nowhere.thread = "chat:".into();
        nowhere.to = String::new();
        assert_eq!(check_reply(&nowhere).unwrap_err().code, "not_supported");
    }

    #[test]
    fn send_request_shape() {
        let mut c = cfg();
        c.api_base = "http://127.0.0.1:4011".into();
        let mut j = job("Hi Ann \"quoted\" 👋");
        j.in_reply_to = Some("111111:5".into());
        let req = send_request(&c, &creds(), &j).unwrap();
        assert_eq!(req.method, "POST");
        assert_eq!(
            req.url,
            "http://127.0.0.1:4011/bot123456:ABC-DEF_ghi/sendMessage"
        );
        assert_eq!(
            req.headers,
            vec![("content-type".to_owned(), "application/json".to_owned())]
        );
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(
            body,
            json!({"chat_id": 111111, "text": "Hi Ann \"quoted\" 👋", "reply_parameters": {"message_id": 5}})
        );
        assert!(!format!("{req:?}").contains("ABC-DEF"));
        // A reply target in another chat is not referenced; no target, no reply_parameters.
        j.in_reply_to = Some("222:5".into());
        let body: Value =
            serde_json::from_slice(&send_request(&c, &creds(), &j).unwrap().body).unwrap();
        assert_eq!(
            body,
            json!({"chat_id": 111111, "text": "Hi Ann \"quoted\" 👋"})
        );
        // Groups have negative ids.
        let mut g = job("ok");
        g.thread = "chat:-1001234567890".into();
        g.in_reply_to = Some("-1001234567890:77".into());
        let body: Value =
            serde_json::from_slice(&send_request(&c, &creds(), &g).unwrap().body).unwrap();
        assert_eq!(
            body,
            json!({"chat_id": -1001234567890_i64, "text": "ok", "reply_parameters": {"message_id": 77}})
        );
        // Without a prefixed thread, `to` is the chat; a username stays a string.
        let mut u = job("ok");
        u.thread = "legacy".into();
        u.to = "@somechannel".into();
        let body: Value =
            serde_json::from_slice(&send_request(&c, &creds(), &u).unwrap().body).unwrap();
        assert_eq!(body, json!({"chat_id": "@somechannel", "text": "ok"}));
        assert_eq!(
            send_request(&c, &creds(), &job("")).unwrap_err().code,
            "empty"
        );
    }

    #[test]
    fn read_response_table() {
        let table: Vec<(u16, Option<&str>, &[u8], SendOutcome)> = vec![
            (
                200,
                None,
                br#"{"ok":true,"result":{"message_id":42,"from":{"id":999,"is_bot":true,"first_name":"SB"},"chat":{"id":111111,"type":"private"},"date":1700000000,"text":"Hi"}}"#,
                SendOutcome::Accepted { external_id: Some("111111:42".into()), state: DeliveryState::Delivered },
            ),
            (
                200,
                None,
                b"garbage",
                SendOutcome::Accepted { external_id: None, state: DeliveryState::Delivered },
            ),
            (
                429,
                Some("3"),
                br#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 17","parameters":{"retry_after":17}}"#,
                SendOutcome::Retry { after_secs: Some(17), error: "429: Too Many Requests: retry after 17".into() },
            ),
            (
                429,
                Some("3"),
                b"",
                SendOutcome::Retry { after_secs: Some(3), error: "429: HTTP 429".into() },
            ),
            (
                500,
                None,
                br#"{"ok":false,"error_code":500,"description":"Internal Server Error"}"#,
                SendOutcome::Retry { after_secs: None, error: "500: Internal Server Error".into() },
            ),
            (
                502,
                None,
                b"<html>Bad Gateway</html>",
                SendOutcome::Retry { after_secs: None, error: "502: HTTP 502".into() },
            ),
            (
                400,
                None,
                br#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#,
                SendOutcome::Failed { error: "400: Bad Request: chat not found".into() },
            ),
            (
                403,
                None,
                br#"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#,
                SendOutcome::Failed { error: "403: Forbidden: bot was blocked by the user".into() },
            ),
            (
                400,
                None,
                br#"{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat","parameters":{"migrate_to_chat_id":-1001234}}"#,
                SendOutcome::Failed {
                    error: "400: Bad Request: group chat was upgraded to a supergroup chat (the group is now the supergroup -1001234)".into(),
                },
            ),
            (
                404,
                None,
                b"not json",
                SendOutcome::Failed { error: "404: HTTP 404".into() },
            ),
            (
                200,
                None,
                br#"{"ok":false,"error_code":400,"description":"Bad Request: message text is empty"}"#,
                SendOutcome::Failed { error: "400: Bad Request: message text is empty".into() },
            ),
        ];
        for (status, retry_after, body, want) in table {
            assert_eq!(
                read_response(status, retry_after, body),
                want,
                "{status} {}",
                String::from_utf8_lossy(body)
            );
        }
    }
}

//! X (Twitter): mentions, replies and direct messages of one connected account.
//!
//! Inbound, two envelopes reach the same webhook, both signed with
//! `x-twitter-webhooks-signature: sha256=<base64 HMAC-SHA256(consumer_secret, raw body)>`:
//!
//! - the **Account Activity API** (`{"for_user_id", "tweet_create_events": […],
//!   "direct_message_events": […], …}`): v1.1 tweet objects and `message_create` DM events,
//!   several lists per body;
//! - the **X Activity API** (`{"data": {"event_uuid", "filter": {"user_id"}, "event_type",
//!   "payload", "includes"}}`): one event per body; `post.*` payloads are v2 Post objects,
//!   `dm.sent`/`dm.received` payloads carry the same `direct_message_events` list and a `users`
//!   map whose values are `{"data": <v2 user>}` (docs.x.com, `x-api/activity/event-payloads`).
//!
//! Thread keys: `tweet:<id of the post replied to, or the post's own id>` for public posts
//! (the same key whichever API delivered the post; `reply_to` joins the chain), `dm:<user id>`
//! for direct messages. A retweet is ignored; a post or DM by the connected account itself is
//! an [`ChannelEvent::Echo`].
//!
//! Outbound: a public reply is `POST /2/tweets` and a DM
//! `POST /2/dm_conversations/with/{participant_id}/messages`, both with the account's OAuth 2.0
//! user-context bearer token. [`crc_response`] answers X's challenge-response check.
//!
//! [`account_activity_tweet`] and [`sign`] build signed Account Activity bodies for the replay
//! tool (see [`crate::twcs`]) and for tests.

use crate::{HttpRequest, PayloadError, RuleError, SendJob, SendOutcome, SignatureError};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use switchboard_core::{
    Attachment, Author, ChannelEvent, DeliveryState, EchoMessage, InboundMessage, Reaction,
    Timestamp,
};
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

/// The header X signs webhook bodies in (lower case, as the server looks headers up).
pub const SIGNATURE_HEADER: &str = "x-twitter-webhooks-signature";
/// X's API base.
pub const DEFAULT_API_BASE: &str = "https://api.x.com";
/// Longest post, in characters. X itself weighs characters: most CJK characters and emoji
/// count double and every URL counts 23 whatever its length, so a reply under this limit may
/// still be refused by X (the refusal comes back through [`read_response`] as `Failed`).
pub const MAX_POST_CHARS: usize = 280;
/// Longest direct message, in characters.
pub const MAX_DM_CHARS: usize = 10_000;
/// The emoji a like becomes.
pub const LIKE_EMOJI: &str = "❤";

type HmacSha256 = Hmac<Sha256>;

/// X's `created_at` format for v1.1 objects: `Wed Oct 10 20:19:24 +0000 2018`.
const CREATED_AT: &[BorrowedFormatItem<'static>] = format_description!(
    "[weekday repr:short] [month repr:short] [day] [hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute] [year]"
);

/// Non-secret settings, from the channel's `config` JSON object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The connected account's id (numeric on X; the replay tool uses TWCS screen names).
    pub user_id: String,
    /// `https://api.x.com` unless a test points it at a fake.
    pub api_base: String,
    /// Switchboard's X app id, when known: a DM echo sent from another app (`source_app_id`)
    /// is then marked `other_app`.
    pub app_id: Option<String>,
}

impl Config {
    pub fn from_json(v: &Value) -> Result<Config, PayloadError> {
        let obj = v
            .as_object()
            .ok_or_else(|| PayloadError::field("config", "must be an object"))?;
        let user_id = opt_id(obj, "config", "user_id")?
            .ok_or_else(|| PayloadError::field("config.user_id", "is required"))?;
        if user_id.chars().any(char::is_control) || user_id.len() > 64 {
            return Err(PayloadError::field(
                "config.user_id",
                "must be the account's id",
            ));
        }
        let api_base = match obj.get("api_base") {
            None | Some(Value::Null) => DEFAULT_API_BASE.to_owned(),
            Some(Value::String(s)) if s.starts_with("https://") || s.starts_with("http://") => {
                s.trim_end_matches('/').to_owned()
            }
            Some(_) => {
                return Err(PayloadError::field(
                    "config.api_base",
                    "must be an http(s) URL",
                ));
            }
        };
        let app_id = opt_id(obj, "config", "app_id")?;
        Ok(Config {
            user_id,
            api_base,
            app_id,
        })
    }
}

/// Secrets, from the channel's decrypted `credentials` JSON object.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The app's consumer (API key) secret: signs webhooks and CRC answers.
    consumer_secret: String,
    /// The account's OAuth 2.0 user-context bearer token, used for sends.
    access_token: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("consumer_secret", &"<redacted>")
            .field("access_token", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    /// The app's consumer secret, the key for [`verify`] and [`crc_response`].
    pub fn consumer_secret(&self) -> &[u8] {
        self.consumer_secret.as_bytes()
    }
    /// The account's OAuth 2.0 user-context bearer token.
    pub fn access_token(&self) -> &str {
        &self.access_token
    }
    pub fn from_json(v: &Value) -> Result<Credentials, PayloadError> {
        let obj = v
            .as_object()
            .ok_or_else(|| PayloadError::field("credentials", "must be an object"))?;
        let secret = |key: &str| -> Result<String, PayloadError> {
            let path = format!("credentials.{key}");
            match obj.get(key) {
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
                None | Some(Value::Null) => Err(PayloadError::field(&path, "is required")),
                Some(Value::String(_)) => Err(PayloadError::field(&path, "must not be empty")),
                Some(_) => Err(PayloadError::field(&path, "must be a string")),
            }
        };
        Ok(Credentials {
            consumer_secret: secret("consumer_secret")?,
            access_token: secret("access_token")?,
        })
    }
}

fn mac(secret: &[u8]) -> HmacSha256 {
    match HmacSha256::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts any key length"),
    }
}

fn hmac_base64(secret: &[u8], message: &[u8]) -> String {
    let mut m = mac(secret);
    m.update(message);
    BASE64.encode(m.finalize().into_bytes())
}

/// The `x-twitter-webhooks-signature` value for `body`: `sha256=<base64 HMAC-SHA256>`.
pub fn sign(consumer_secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hmac_base64(consumer_secret, body))
}

/// The JSON body answering X's challenge-response check (`GET ?crc_token=…`):
/// `{"response_token":"sha256=<base64 HMAC-SHA256(consumer_secret, crc_token)>"}`.
pub fn crc_response(consumer_secret: &[u8], crc_token: &str) -> String {
    json!({
        "response_token": format!("sha256={}", hmac_base64(consumer_secret, crc_token.as_bytes()))
    })
    .to_string()
}

/// Checks `x-twitter-webhooks-signature` against the raw body, in constant time.
pub fn verify(
    consumer_secret: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    const NAME: &str = "x-twitter-webhooks-signature";
    let header = header.ok_or(SignatureError::Missing(NAME))?;
    let b64 = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed(NAME, "sha256=<base64>"))?;
    let sig = BASE64
        .decode(b64)
        .map_err(|_| SignatureError::Malformed(NAME, "sha256=<base64>"))?;
    let mut m = mac(consumer_secret);
    m.update(body);
    m.verify_slice(&sig).map_err(|_| SignatureError::Mismatch)
}

// ---------------------------------------------------------------------------------------------
// Reading JSON with paths in the errors.

/// An id that X writes as a string or (v1.1 `id`, `timestamp_ms`) as a number.
fn value_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => n
            .as_u64()
            .map(|u| u.to_string())
            .or_else(|| n.as_i64().map(|i| i.to_string())),
        _ => None,
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn opt_id(obj: &Map<String, Value>, path: &str, key: &str) -> Result<Option<String>, PayloadError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(v) => value_id(v)
            .map(Some)
            .ok_or_else(|| PayloadError::field(&join(path, key), "must be an id (a string)")),
    }
}

fn req_id(obj: &Map<String, Value>, path: &str, key: &str) -> Result<String, PayloadError> {
    opt_id(obj, path, key)?.ok_or_else(|| PayloadError::field(&join(path, key), "is required"))
}

/// `id_str` when present, else `id` (v1.1 objects carry both).
fn v1_id(obj: &Map<String, Value>, path: &str) -> Result<String, PayloadError> {
    match opt_id(obj, path, "id_str")? {
        Some(id) => Ok(id),
        None => opt_id(obj, path, "id")?
            .ok_or_else(|| PayloadError::field(&join(path, "id_str"), "is required")),
    }
}

fn opt_str<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<Option<&'a str>, PayloadError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(PayloadError::field(&join(path, key), "must be a string")),
    }
}

fn opt_obj<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<Option<&'a Map<String, Value>>, PayloadError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(_) => Err(PayloadError::field(&join(path, key), "must be an object")),
    }
}

fn req_obj<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<&'a Map<String, Value>, PayloadError> {
    opt_obj(obj, path, key)?.ok_or_else(|| PayloadError::field(&join(path, key), "is required"))
}

fn opt_arr<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<Option<&'a Vec<Value>>, PayloadError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a)),
        Some(_) => Err(PayloadError::field(&join(path, key), "must be an array")),
    }
}

fn as_obj<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, PayloadError> {
    v.as_object()
        .ok_or_else(|| PayloadError::field(path, "must be an object"))
}

/// A count X writes as a number or a numeric string; anything else is treated as unknown.
fn lenient_u64(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn lenient_bool(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        _ => None,
    }
}

/// Milliseconds since the epoch, as a string or a number (`timestamp_ms`, `created_timestamp`).
fn opt_millis(
    obj: &Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<Option<Timestamp>, PayloadError> {
    let bad = || PayloadError::field(&join(path, key), "must be milliseconds since the epoch");
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .and_then(Timestamp::from_unix_millis)
            .map(Some)
            .ok_or_else(bad),
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(Timestamp::from_unix_millis)
            .map(Some)
            .ok_or_else(bad),
        Some(_) => Err(bad()),
    }
}

/// Parses X's v1.1 `created_at` (`Wed Oct 10 20:19:24 +0000 2018`, also TWCS's `created_at`).
pub fn parse_created_at(s: &str) -> Option<Timestamp> {
    OffsetDateTime::parse(s.trim(), CREATED_AT)
        .ok()
        .map(Timestamp::from_offset_datetime)
}

/// Formats an instant as X's v1.1 `created_at`, in UTC.
pub fn format_created_at(t: Timestamp) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.as_unix_micros()) * 1000)
        .ok()
        .and_then(|d| d.format(CREATED_AT).ok())
        .unwrap_or_default()
}

fn opt_created_at(
    obj: &Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<Option<Timestamp>, PayloadError> {
    match opt_str(obj, path, key)? {
        None => Ok(None),
        Some(s) => parse_created_at(s).map(Some).ok_or_else(|| {
            PayloadError::field(
                &join(path, key),
                "must look like \"Wed Oct 10 20:19:24 +0000 2018\"",
            )
        }),
    }
}

fn opt_rfc3339(
    obj: &Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<Option<Timestamp>, PayloadError> {
    match opt_str(obj, path, key)? {
        None => Ok(None),
        Some(s) => Timestamp::parse_rfc3339(s)
            .map(Some)
            .map_err(|e| PayloadError::field(&join(path, key), e.0)),
    }
}

fn ignored(kind: &str) -> ChannelEvent {
    ChannelEvent::Ignored {
        kind: kind.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Users.

/// A user object in any of the shapes X sends: v1.1 (`screen_name`, `followers_count`), v2
/// (`username`, `public_metrics.followers_count`), or v2 wrapped as `{"data": {…}}`.
fn unwrap_user(v: &Value) -> Option<&Map<String, Value>> {
    let o = v.as_object()?;
    match o.get("data") {
        Some(Value::Object(inner)) => Some(inner),
        _ => Some(o),
    }
}

fn author_from(id: &str, user: Option<&Map<String, Value>>) -> Author {
    let Some(u) = user else {
        return Author {
            external_id: id.to_owned(),
            name: None,
            handle: None,
            followers: None,
            verified: None,
        };
    };
    let text = |key: &str| {
        u.get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let handle = text("screen_name")
        .or_else(|| text("username"))
        .map(|h| format!("@{}", h.trim_start_matches('@')));
    let followers = lenient_u64(u.get("followers_count")).or_else(|| {
        u.get("public_metrics")
            .and_then(|m| lenient_u64(m.get("followers_count")))
    });
    Author {
        external_id: id.to_owned(),
        name: text("name"),
        handle,
        followers,
        verified: lenient_bool(u.get("verified")),
    }
}

/// Users by id: the Account Activity `users` map, or the X Activity `includes.users` list.
struct Users<'a> {
    map: Option<&'a Map<String, Value>>,
    list: &'a [Value],
}

impl<'a> Users<'a> {
    fn get(&self, id: &str) -> Option<&'a Map<String, Value>> {
        if let Some(u) = self.map.and_then(|m| m.get(id)).and_then(unwrap_user) {
            return Some(u);
        }
        self.list
            .iter()
            .filter_map(unwrap_user)
            .find(|u| u.get("id").and_then(value_id).as_deref() == Some(id))
    }

    fn author(&self, id: &str) -> Author {
        author_from(id, self.get(id))
    }
}

// ---------------------------------------------------------------------------------------------
// Media.

fn media_kind(t: Option<&str>) -> &'static str {
    match t {
        Some("photo") => "image",
        Some("video") | Some("animated_gif") => "video",
        _ => "other",
    }
}

/// A v1.1 media entity (`extended_entities.media[]`, a DM's `attachment.media`).
fn v1_media(m: &Map<String, Value>) -> Attachment {
    let s = |key: &str| m.get(key).and_then(Value::as_str).map(str::to_owned);
    Attachment {
        kind: media_kind(m.get("type").and_then(Value::as_str)).to_owned(),
        url: s("media_url_https").or_else(|| s("media_url")),
        provider_id: m.get("id_str").or_else(|| m.get("id")).and_then(value_id),
        mime_type: None,
        name: None,
    }
}

/// Drops the `https://t.co/…` link X appends to a text for its media.
fn strip_media_link(text: &str, links: &[String]) -> String {
    let mut t = text.trim_end();
    for link in links {
        if !link.is_empty()
            && let Some(rest) = t.strip_suffix(link.as_str())
        {
            t = rest.trim_end();
        }
    }
    t.to_owned()
}

// ---------------------------------------------------------------------------------------------
// Parsing.

/// Parses a webhook body of either envelope into events (several per body).
pub fn parse(body: &[u8], cfg: &Config) -> Result<Vec<ChannelEvent>, PayloadError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| PayloadError::body(format!("the body is not valid JSON: {e}")))?;
    let obj = value
        .as_object()
        .ok_or_else(|| PayloadError::body("the body must be a JSON object"))?;
    match obj.get("data") {
        Some(Value::Object(ev)) => activity_event(ev, "data", cfg),
        Some(Value::Array(list)) => {
            let mut out = Vec::new();
            for (i, ev) in list.iter().enumerate() {
                let path = format!("data[{i}]");
                crate::salvage(&mut out, |out| {
                    out.extend(activity_event(as_obj(ev, &path)?, &path, cfg)?);
                    Ok(())
                });
            }
            Ok(out)
        }
        Some(_) => Err(PayloadError::field("data", "must be an object")),
        None => account_activity(obj, cfg),
    }
}

/// The envelope's own id: `data.event_uuid` for the X Activity API. Account Activity bodies
/// have none (their events have ids, but one body carries many), so the server hashes them.
pub fn dedupe_key(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value.get("data")?.get("event_uuid").and_then(value_id)
}

/// Account Activity lists handled, in the order their events are returned.
const AAA_LISTS: [&str; 9] = [
    "tweet_create_events",
    "tweet_delete_events",
    "favorite_events",
    "direct_message_events",
    "direct_message_mark_read_events",
    "direct_message_indicate_typing_events",
    "follow_events",
    "block_events",
    "mute_events",
];

fn account_activity(
    obj: &Map<String, Value>,
    cfg: &Config,
) -> Result<Vec<ChannelEvent>, PayloadError> {
    // Envelopes without a subscribed user: app revocations and replay-job reports.
    for kind in ["user_event", "replay_job_status"] {
        if obj.contains_key(kind) {
            return Ok(vec![ignored(kind)]);
        }
    }
    let for_user = req_id(obj, "", "for_user_id")?;
    if for_user != cfg.user_id {
        return Ok(vec![ignored("other_account")]);
    }
    let users = Users {
        map: opt_obj(obj, "", "users")?,
        list: &[],
    };
    let mut out = Vec::new();
    for key in AAA_LISTS {
        let Some(list) = opt_arr(obj, "", key)? else {
            continue;
        };
        for (i, ev) in list.iter().enumerate() {
            let path = format!("{key}[{i}]");
            crate::salvage(&mut out, |out| {
                let ev = as_obj(ev, &path)?;
                out.push(match key {
                    "tweet_create_events" => v1_tweet(ev, &path, cfg)?,
                    "tweet_delete_events" => tweet_delete(ev, &path)?,
                    "favorite_events" => favorite(ev, &path, cfg)?,
                    "direct_message_events" => dm_event(ev, &path, &users, cfg)?,
                    "direct_message_mark_read_events" => mark_read(ev, &path, cfg, key)?,
                    other => ignored(other),
                });
                Ok(())
            });
        }
    }
    // Lists this adapter does not know (`unfollow_events`, `spaces_events`, new ones).
    for (key, v) in obj {
        if key.ends_with("_events") && !AAA_LISTS.contains(&key.as_str()) {
            let n = v.as_array().map_or(1, Vec::len);
            out.extend((0..n).map(|_| ignored(key)));
        }
    }
    if out.is_empty() {
        out.push(ignored("no_events"));
    }
    Ok(out)
}

/// A v1.1 tweet object from `tweet_create_events`.
fn v1_tweet(
    ev: &Map<String, Value>,
    path: &str,
    cfg: &Config,
) -> Result<ChannelEvent, PayloadError> {
    let id = v1_id(ev, path)?;
    let user_path = join(path, "user");
    let user = req_obj(ev, path, "user")?;
    let author_id = v1_id(user, &user_path)?;
    if matches!(ev.get("retweeted_status"), Some(Value::Object(_))) {
        return Ok(ignored("retweet"));
    }
    let extended = opt_obj(ev, path, "extended_tweet")?;
    let truncated = ev.get("truncated").and_then(Value::as_bool) == Some(true);
    let full_text = extended
        .and_then(|x| x.get("full_text"))
        .and_then(Value::as_str);
    let text = match (truncated, full_text) {
        (true, Some(full)) => full.to_owned(),
        _ => match opt_str(ev, path, "full_text")? {
            Some(t) => t.to_owned(),
            None => opt_str(ev, path, "text")?.unwrap_or_default().to_owned(),
        },
    };
    let entity_source = if truncated {
        extended.unwrap_or(ev)
    } else {
        ev
    };
    let media: Vec<&Map<String, Value>> = entity_source
        .get("extended_entities")
        .or_else(|| entity_source.get("entities"))
        .and_then(|e| e.get("media"))
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    let links: Vec<String> = media
        .iter()
        .filter_map(|m| m.get("url").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let attachments: Vec<Attachment> = media.into_iter().map(v1_media).collect();
    let text = strip_media_link(&text, &links);

    let reply_status = match opt_id(ev, path, "in_reply_to_status_id_str")? {
        Some(r) => Some(r),
        None => opt_id(ev, path, "in_reply_to_status_id")?,
    };
    let quoted = match opt_id(ev, path, "quoted_status_id_str")? {
        Some(q) => Some(q),
        None => opt_id(ev, path, "quoted_status_id")?,
    };
    let sent_at = match opt_millis(ev, path, "timestamp_ms")? {
        Some(t) => Some(t),
        None => opt_created_at(ev, path, "created_at")?,
    };
    let thread = format!("tweet:{}", reply_status.as_deref().unwrap_or(&id));
    let reply_to = reply_status.clone().or(quoted);

    if author_id == cfg.user_id {
        // The account's own post: an echo addressed to whoever it answers or mentions.
        let replied_user = match opt_id(ev, path, "in_reply_to_user_id_str")? {
            Some(u) => Some(u),
            None => opt_id(ev, path, "in_reply_to_user_id")?,
        };
        let to = match replied_user.filter(|u| *u != cfg.user_id) {
            Some(u) => Some(Author {
                handle: opt_str(ev, path, "in_reply_to_screen_name")?
                    .filter(|s| !s.is_empty())
                    .map(|s| format!("@{s}")),
                ..author_from(&u, None)
            }),
            None => first_v1_mention(entity_source, &cfg.user_id),
        };
        let Some(to) = to else {
            return Ok(ignored("own_tweet"));
        };
        return Ok(ChannelEvent::Echo(EchoMessage {
            external_id: id,
            thread,
            public: true,
            to,
            text,
            sent_at,
            attachments,
            reply_to,
            ours: None,
            other_app: false,
        }));
    }
    // The Account Activity API delivers other people's posts only when they concern the
    // account (mentions, replies, quotes, retweets), so every one left here is addressed to it.
    Ok(ChannelEvent::Message(InboundMessage {
        external_id: id,
        thread,
        public: true,
        author: author_from(&author_id, Some(user)),
        text,
        sent_at,
        attachments,
        reply_to,
    }))
}

fn first_v1_mention(entities_holder: &Map<String, Value>, own_id: &str) -> Option<Author> {
    entities_holder
        .get("entities")?
        .get("user_mentions")?
        .as_array()?
        .iter()
        .filter_map(Value::as_object)
        .find_map(|m| {
            let id = m.get("id_str").or_else(|| m.get("id")).and_then(value_id)?;
            (id != own_id).then(|| author_from(&id, Some(m)))
        })
}

fn tweet_delete(ev: &Map<String, Value>, path: &str) -> Result<ChannelEvent, PayloadError> {
    let status_path = join(path, "status");
    let status = req_obj(ev, path, "status")?;
    Ok(ChannelEvent::Deleted {
        external_id: v1_id(status, &status_path)?,
        at: opt_millis(ev, path, "timestamp_ms")?,
    })
}

/// `favorite_events`: someone liked one of the account's posts (the account's own likes are
/// ignored).
fn favorite(
    ev: &Map<String, Value>,
    path: &str,
    cfg: &Config,
) -> Result<ChannelEvent, PayloadError> {
    let status_path = join(path, "favorited_status");
    let status = req_obj(ev, path, "favorited_status")?;
    let target = v1_id(status, &status_path)?;
    let status_author = match opt_obj(status, &status_path, "user")? {
        Some(u) => Some(v1_id(u, &join(&status_path, "user"))?),
        None => None,
    };
    let user_path = join(path, "user");
    let user = req_obj(ev, path, "user")?;
    let liker = v1_id(user, &user_path)?;
    if liker == cfg.user_id || status_author.is_some_and(|a| a != cfg.user_id) {
        return Ok(ignored("favorite_events"));
    }
    let at = match opt_millis(ev, path, "timestamp_ms")? {
        Some(t) => Some(t),
        None => opt_created_at(ev, path, "created_at")?,
    };
    Ok(ChannelEvent::Reaction(Reaction {
        target,
        author: author_from(&liker, Some(user)),
        emoji: Some(LIKE_EMOJI.to_owned()),
        at,
    }))
}

/// A `message_create` DM event (Account Activity `direct_message_events[]`, and the X Activity
/// `dm.sent`/`dm.received` payloads).
fn dm_event(
    ev: &Map<String, Value>,
    path: &str,
    users: &Users<'_>,
    cfg: &Config,
) -> Result<ChannelEvent, PayloadError> {
    match opt_str(ev, path, "type")? {
        Some("message_create") | None => {}
        Some(other) => return Ok(ignored(other)),
    }
    let id = req_id(ev, path, "id")?;
    let sent_at = opt_millis(ev, path, "created_timestamp")?;
    let mc_path = join(path, "message_create");
    let mc = req_obj(ev, path, "message_create")?;
    let sender = req_id(mc, &mc_path, "sender_id")?;
    let target_path = join(&mc_path, "target");
    let recipient = req_id(
        req_obj(mc, &mc_path, "target")?,
        &target_path,
        "recipient_id",
    )?;
    let data_path = join(&mc_path, "message_data");
    let (text, attachments) = match opt_obj(mc, &mc_path, "message_data")? {
        None => (String::new(), Vec::new()),
        Some(md) => {
            let text = opt_str(md, &data_path, "text")?.unwrap_or_default();
            let media = md
                .get("attachment")
                .and_then(|a| a.get("media"))
                .and_then(Value::as_object);
            let links: Vec<String> = media
                .and_then(|m| m.get("url"))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .into_iter()
                .collect();
            (
                strip_media_link(text, &links),
                media.map(v1_media).into_iter().collect(),
            )
        }
    };
    if sender == cfg.user_id {
        let source_app = opt_id(mc, &mc_path, "source_app_id")?;
        let other_app = matches!((&cfg.app_id, &source_app), (Some(a), Some(s)) if a != s);
        return Ok(ChannelEvent::Echo(EchoMessage {
            external_id: id,
            thread: format!("dm:{recipient}"),
            public: false,
            to: users.author(&recipient),
            text,
            sent_at,
            attachments,
            reply_to: None,
            ours: None,
            other_app,
        }));
    }
    Ok(ChannelEvent::Message(InboundMessage {
        external_id: id,
        thread: format!("dm:{sender}"),
        public: false,
        author: users.author(&sender),
        text,
        sent_at,
        attachments,
        reply_to: None,
    }))
}

/// `direct_message_mark_read_events[]`: the customer read the DM thread up to then.
fn mark_read(
    ev: &Map<String, Value>,
    path: &str,
    cfg: &Config,
    kind: &str,
) -> Result<ChannelEvent, PayloadError> {
    let reader = req_id(ev, path, "sender_id")?;
    if reader == cfg.user_id {
        return Ok(ignored(kind));
    }
    let up_to = opt_millis(ev, path, "created_timestamp")?
        .ok_or_else(|| PayloadError::field(&join(path, "created_timestamp"), "is required"))?;
    Ok(ChannelEvent::ReadUpTo {
        thread: format!("dm:{reader}"),
        up_to,
    })
}

// ---------------------------------------------------------------------------------------------
// The X Activity API.

fn activity_event(
    ev: &Map<String, Value>,
    path: &str,
    cfg: &Config,
) -> Result<Vec<ChannelEvent>, PayloadError> {
    req_id(ev, path, "event_uuid")?;
    let event_type = opt_str(ev, path, "event_type")?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| PayloadError::field(&join(path, "event_type"), "is required"))?;
    let filter_path = join(path, "filter");
    if let Some(filter) = opt_obj(ev, path, "filter")?
        && let Some(user) = opt_id(filter, &filter_path, "user_id")?
        && user != cfg.user_id
    {
        return Ok(vec![ignored("other_account")]);
    }
    let includes = opt_obj(ev, path, "includes")?;
    let include_list = |key: &str| -> &[Value] {
        includes
            .and_then(|i| i.get(key))
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    };
    let users = Users {
        map: None,
        list: include_list("users"),
    };
    let payload_path = join(path, "payload");
    let payload = || req_obj(ev, path, "payload");
    Ok(match event_type {
        "post.mention.create" | "post.reply.create" | "post.quote.create" | "post.create" => {
            vec![v2_post(
                payload()?,
                &payload_path,
                &users,
                include_list("media"),
                cfg,
                event_type,
            )?]
        }
        "post.repost.create" => vec![ignored("retweet")],
        "post.delete" => vec![ChannelEvent::Deleted {
            external_id: req_id(payload()?, &payload_path, "id")?,
            at: None,
        }],
        "dm.received" | "dm.sent" => {
            let payload = payload()?;
            match opt_arr(payload, &payload_path, "direct_message_events")? {
                Some(list) => {
                    let dm_users = Users {
                        map: opt_obj(payload, &payload_path, "users")?,
                        list: users.list,
                    };
                    let mut out = Vec::with_capacity(list.len());
                    for (i, dm) in list.iter().enumerate() {
                        let p = format!("{payload_path}.direct_message_events[{i}]");
                        out.push(dm_event(as_obj(dm, &p)?, &p, &dm_users, cfg)?);
                    }
                    out
                }
                None => vec![v2_dm(
                    payload,
                    &payload_path,
                    &users,
                    include_list("media"),
                    cfg,
                )?],
            }
        }
        "dm.read" => dm_read(ev.get("payload"), &payload_path, cfg)?,
        "like.create" => vec![like(payload()?, &payload_path, &users, ev, cfg)?],
        other => vec![ignored(other)],
    })
}

/// The v2 media of a post or DM (`attachments.media_keys` resolved in `includes.media`).
fn v2_media(obj: &Map<String, Value>, media: &[Value]) -> Vec<Attachment> {
    let keys: Vec<&str> = obj
        .get("attachments")
        .and_then(|a| a.get("media_keys"))
        .and_then(Value::as_array)
        .map(|k| k.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    keys.into_iter()
        .map(|key| {
            let m = media
                .iter()
                .filter_map(Value::as_object)
                .find(|m| m.get("media_key").and_then(Value::as_str) == Some(key));
            let s = |k: &str| m.and_then(|m| m.get(k)).and_then(Value::as_str);
            Attachment {
                kind: media_kind(s("type")).to_owned(),
                url: s("url")
                    .or_else(|| s("preview_image_url"))
                    .map(str::to_owned),
                provider_id: Some(key.to_owned()),
                mime_type: None,
                name: s("alt_text").map(str::to_owned),
            }
        })
        .collect()
}

/// A v2 Post object (`post.*` payloads).
fn v2_post(
    post: &Map<String, Value>,
    path: &str,
    users: &Users<'_>,
    media: &[Value],
    cfg: &Config,
    event_type: &str,
) -> Result<ChannelEvent, PayloadError> {
    let id = req_id(post, path, "id")?;
    let author_id = req_id(post, path, "author_id")?;
    let mut replied_to = opt_id(post, path, "in_reply_to_tweet_id")?;
    let mut quoted = None;
    if let Some(refs) = opt_arr(post, path, "referenced_tweets")? {
        for (i, r) in refs.iter().enumerate() {
            let rp = format!("{path}.referenced_tweets[{i}]");
            let r = as_obj(r, &rp)?;
            let rid = req_id(r, &rp, "id")?;
            match opt_str(r, &rp, "type")? {
                Some("retweeted") => return Ok(ignored("retweet")),
                Some("replied_to") if replied_to.is_none() => replied_to = Some(rid),
                Some("quoted") => quoted = Some(rid),
                _ => {}
            }
        }
    }
    let text = opt_str(post, path, "text")?.unwrap_or_default().to_owned();
    let sent_at = opt_rfc3339(post, path, "created_at")?;
    let attachments = v2_media(post, media);
    let thread = format!("tweet:{}", replied_to.as_deref().unwrap_or(&id));
    let reply_to = replied_to.or(quoted);
    if author_id == cfg.user_id {
        let to = match opt_id(post, path, "in_reply_to_user_id")?.filter(|u| *u != cfg.user_id) {
            Some(u) => Some(users.author(&u)),
            None => post
                .get("entities")
                .and_then(|e| e.get("mentions"))
                .and_then(Value::as_array)
                .and_then(|list| {
                    list.iter().filter_map(Value::as_object).find_map(|m| {
                        let id = m.get("id").and_then(value_id)?;
                        (id != cfg.user_id).then(|| match users.get(&id) {
                            Some(u) => author_from(&id, Some(u)),
                            None => author_from(&id, Some(m)),
                        })
                    })
                }),
        };
        let Some(to) = to else {
            return Ok(ignored(event_type));
        };
        return Ok(ChannelEvent::Echo(EchoMessage {
            external_id: id,
            thread,
            public: true,
            to,
            text,
            sent_at,
            attachments,
            reply_to,
            ours: None,
            other_app: false,
        }));
    }
    Ok(ChannelEvent::Message(InboundMessage {
        external_id: id,
        thread,
        public: true,
        author: users.author(&author_id),
        text,
        sent_at,
        attachments,
        reply_to,
    }))
}

/// A v2 DM event (`{id, event_type: "MessageCreate", text, sender_id, dm_conversation_id,
/// participant_ids, created_at}`), for `dm.*` payloads that are not in the documented
/// `direct_message_events` shape.
fn v2_dm(
    dm: &Map<String, Value>,
    path: &str,
    users: &Users<'_>,
    media: &[Value],
    cfg: &Config,
) -> Result<ChannelEvent, PayloadError> {
    match opt_str(dm, path, "event_type")? {
        Some("MessageCreate") | None => {}
        Some(other) => return Ok(ignored(other)),
    }
    let id = req_id(dm, path, "id")?;
    let sender = req_id(dm, path, "sender_id")?;
    let text = opt_str(dm, path, "text")?.unwrap_or_default().to_owned();
    let sent_at = opt_rfc3339(dm, path, "created_at")?;
    let attachments = v2_media(dm, media);
    if sender != cfg.user_id {
        return Ok(ChannelEvent::Message(InboundMessage {
            external_id: id,
            thread: format!("dm:{sender}"),
            public: false,
            author: users.author(&sender),
            text,
            sent_at,
            attachments,
            reply_to: None,
        }));
    }
    // Ours: the other participant is in `participant_ids` or the `<a>-<b>` conversation id.
    let mut others: Vec<String> = dm
        .get("participant_ids")
        .and_then(Value::as_array)
        .map(|p| p.iter().filter_map(value_id).collect())
        .unwrap_or_default();
    if let Some(conv) = opt_str(dm, path, "dm_conversation_id")? {
        others.extend(conv.split('-').map(str::to_owned));
    }
    let recipient = others
        .into_iter()
        .find(|p| *p != cfg.user_id && !p.is_empty())
        .ok_or_else(|| {
            PayloadError::field(
                &join(path, "dm_conversation_id"),
                "names no participant other than the account",
            )
        })?;
    Ok(ChannelEvent::Echo(EchoMessage {
        external_id: id,
        thread: format!("dm:{recipient}"),
        public: false,
        to: users.author(&recipient),
        text,
        sent_at,
        attachments,
        reply_to: None,
        ours: None,
        other_app: false,
    }))
}

/// `dm.read`: X documents no payload for it. Read as the Account Activity
/// `direct_message_mark_read_events` list when present, else as one such event
/// (`sender_id` = the reader, `created_timestamp` or `created_at`); otherwise ignored.
fn dm_read(
    payload: Option<&Value>,
    path: &str,
    cfg: &Config,
) -> Result<Vec<ChannelEvent>, PayloadError> {
    let Some(Value::Object(p)) = payload else {
        return Ok(vec![ignored("dm.read")]);
    };
    if let Some(list) = opt_arr(p, path, "direct_message_mark_read_events")? {
        let mut out = Vec::with_capacity(list.len());
        for (i, ev) in list.iter().enumerate() {
            let ep = format!("{path}.direct_message_mark_read_events[{i}]");
            out.push(mark_read(as_obj(ev, &ep)?, &ep, cfg, "dm.read")?);
        }
        return Ok(out);
    }
    let Some(reader) = opt_id(p, path, "sender_id")? else {
        return Ok(vec![ignored("dm.read")]);
    };
    let at = match opt_millis(p, path, "created_timestamp")? {
        Some(t) => Some(t),
        None => opt_rfc3339(p, path, "created_at")?,
    };
    Ok(vec![match at {
        Some(up_to) if reader != cfg.user_id => ChannelEvent::ReadUpTo {
            thread: format!("dm:{reader}"),
            up_to,
        },
        _ => ignored("dm.read"),
    }])
}

/// `like.create`: becomes a reaction when someone else liked the account's post and the liker
/// can be told (X's example payload names only the post and its author; the liker is looked
/// for in `includes.users`).
fn like(
    payload: &Map<String, Value>,
    path: &str,
    users: &Users<'_>,
    ev: &Map<String, Value>,
    cfg: &Config,
) -> Result<ChannelEvent, PayloadError> {
    let outbound = ev
        .get("filter")
        .and_then(|f| f.get("direction"))
        .and_then(Value::as_str)
        == Some("outbound");
    let target = req_id(payload, path, "liked_tweet_id")?;
    let liked_author = opt_id(payload, path, "liked_tweet_author_id")?;
    if outbound || liked_author.is_some_and(|a| a != cfg.user_id) {
        return Ok(ignored("like.create"));
    }
    let liker = users
        .list
        .iter()
        .filter_map(unwrap_user)
        .filter_map(|u| u.get("id").and_then(value_id))
        .find(|id| *id != cfg.user_id);
    let Some(liker) = liker else {
        return Ok(ignored("like.create"));
    };
    let at = match opt_millis(payload, path, "timestamp_ms")? {
        Some(t) => Some(t),
        None => opt_rfc3339(payload, path, "created_at")?,
    };
    Ok(ChannelEvent::Reaction(Reaction {
        target,
        author: users.author(&liker),
        emoji: Some(LIKE_EMOJI.to_owned()),
        at,
    }))
}

// ---------------------------------------------------------------------------------------------
// Sending.

/// Where a reply goes.
#[derive(Debug, PartialEq, Eq)]
enum Target<'a> {
    /// A public reply to this post.
    Post(&'a str),
    /// A direct message to this user.
    Dm(&'a str),
}

fn target(job: &SendJob) -> Result<Target<'_>, RuleError> {
    if job.private_reply {
        return non_empty_dm(&job.to);
    }
    if let Some(user) = job.thread.strip_prefix("dm:") {
        return non_empty_dm(user);
    }
    if !job.public {
        return non_empty_dm(&job.to);
    }
    let post = job
        .in_reply_to
        .as_deref()
        .filter(|s| !s.is_empty())
        .or_else(|| job.thread.strip_prefix("tweet:").filter(|s| !s.is_empty()));
    match post {
        Some(p) => Ok(Target::Post(p)),
        None => Err(RuleError::new(
            "not_supported",
            "A public reply on X answers a post, and this conversation names none. \
             Send a direct message instead.",
        )),
    }
}

fn non_empty_dm(user: &str) -> Result<Target<'_>, RuleError> {
    if user.trim().is_empty() {
        return Err(RuleError::new(
            "not_supported",
            "This direct message names no X user to send it to.",
        ));
    }
    Ok(Target::Dm(user))
}

/// X's rules for a reply: text present, at most 280 characters for a post (counted as
/// characters; X's own weighting may count more) and 10,000 for a DM. X has no messaging
/// window, but a DM reaches only users who accept DMs from the account (X refuses otherwise).
pub fn check_reply(job: &SendJob) -> Result<(), RuleError> {
    if job.text.trim().is_empty() {
        return Err(RuleError::new(
            "empty",
            "The reply is empty. Write some text before sending.",
        ));
    }
    let n = job.text.chars().count();
    match target(job)? {
        Target::Post(_) if n > MAX_POST_CHARS => Err(RuleError::new(
            "too_long",
            format!(
                "A reply posted on X may have at most {MAX_POST_CHARS} characters and this one \
                 has {n}. Shorten it, or answer by direct message (up to 10,000 characters)."
            ),
        )),
        Target::Dm(_) if n > MAX_DM_CHARS => Err(RuleError::new(
            "too_long",
            format!(
                "An X direct message may have at most 10,000 characters and this one has {n}. \
                 Split it into several messages."
            ),
        )),
        _ => Ok(()),
    }
}

/// Builds the send: `POST {base}/2/tweets` `{"text","reply":{"in_reply_to_tweet_id"}}` for a
/// public reply, `POST {base}/2/dm_conversations/with/{participant_id}/messages` `{"text"}`
/// for a DM (a `dm:` thread, a private conversation, or a private reply to a post's author).
pub fn send_request(
    cfg: &Config,
    creds: &Credentials,
    job: &SendJob,
) -> Result<HttpRequest, RuleError> {
    check_reply(job)?;
    let base = cfg.api_base.trim_end_matches('/');
    let (url, body) = match target(job)? {
        Target::Post(post) => (
            format!("{base}/2/tweets"),
            json!({"text": job.text, "reply": {"in_reply_to_tweet_id": post}}),
        ),
        Target::Dm(user) => (
            format!(
                "{base}/2/dm_conversations/with/{}/messages",
                utf8_percent_encode(user, NON_ALPHANUMERIC)
            ),
            json!({"text": job.text}),
        ),
    };
    Ok(HttpRequest {
        method: "POST",
        url,
        headers: vec![
            (
                "authorization".to_owned(),
                format!("Bearer {}", creds.access_token),
            ),
            ("content-type".to_owned(), "application/json".to_owned()),
        ],
        body: body.to_string().into_bytes(),
    })
}

/// v1.1 error codes that mean "later": 88 rate limit exceeded, 130 over capacity, 131 internal
/// error, 185 over the daily post limit.
const RETRY_CODES: [i64; 4] = [88, 130, 131, 185];

/// Seconds to wait, from the `Retry-After` value the server passes. X itself sends
/// `x-rate-limit-reset` (epoch seconds) rather than `Retry-After`; the server converts it to
/// seconds from now before calling. An epoch passed unconverted (≥ 10⁹) is not a delay and is
/// treated as unknown.
fn retry_secs(retry_after: Option<&str>) -> Option<u64> {
    retry_after?
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|s| *s < 1_000_000_000)
}

/// The code and message of an X error body: v2 problems `{"title","detail","type","status"}`
/// (with or without `errors[]`) and v1.1 `{"errors":[{"code","message"}]}`.
fn error_of(status: u16, body: &[u8]) -> (Option<i64>, String) {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let first = v
        .get("errors")
        .and_then(Value::as_array)
        .and_then(|e| e.first());
    let code = first.and_then(|e| e.get("code")).and_then(Value::as_i64);
    let s = |v: Option<&Value>, key: &str| {
        v.and_then(|v| v.get(key))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let message = s(first, "message")
        .or_else(|| s(Some(&v), "detail"))
        .or_else(|| s(first, "detail"))
        .or_else(|| s(Some(&v), "title"))
        .unwrap_or_else(|| format!("HTTP {status}"));
    let message: String = message.chars().take(300).collect();
    let shown = code
        .or_else(|| v.get("status").and_then(Value::as_i64))
        .unwrap_or(i64::from(status));
    (code, format!("{shown}: {message}"))
}

/// Reads X's answer to a send. A post is `{"data":{"id","text"}}` (delivered: X sends no
/// receipts for posts); a DM is `{"data":{"dm_conversation_id","dm_event_id"}}` (sent: a read
/// marker may follow).
pub fn read_response(status: u16, retry_after: Option<&str>, body: &[u8]) -> SendOutcome {
    if (200..300).contains(&status) {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let data = v.get("data");
        if let Some(dm) = data.and_then(|d| d.get("dm_event_id")).and_then(value_id) {
            return SendOutcome::Accepted {
                external_id: Some(dm),
                state: DeliveryState::Sent,
            };
        }
        return match data.and_then(|d| d.get("id")).and_then(value_id) {
            Some(id) => SendOutcome::Accepted {
                external_id: Some(id),
                state: DeliveryState::Delivered,
            },
            None => SendOutcome::Accepted {
                external_id: None,
                state: DeliveryState::Sent,
            },
        };
    }
    let (code, error) = error_of(status, body);
    let rate_limited = code.is_some_and(|c| RETRY_CODES.contains(&c));
    if status == 429 || status == 408 || status >= 500 || rate_limited {
        return SendOutcome::Retry {
            after_secs: retry_secs(retry_after),
            error,
        };
    }
    SendOutcome::Failed { error }
}

// ---------------------------------------------------------------------------------------------
// Replay.

/// A post to replay into a channel as X would deliver it (see [`account_activity_tweet`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayTweet {
    pub id: String,
    pub author_id: String,
    pub author_screen_name: String,
    pub text: String,
    pub created_at: Timestamp,
    pub in_reply_to_status_id: Option<String>,
    pub in_reply_to_user_id: Option<String>,
}

/// `@handle`s in a text, with their character (code point) ranges as v1.1 `indices` give them.
fn mentions(text: &str) -> Vec<(String, usize, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let is_handle = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts = chars.get(i) == Some(&'@')
            && (i == 0 || chars.get(i - 1).is_none_or(|c| !is_handle(*c)));
        if starts {
            let end = (i + 1..chars.len())
                .find(|j| chars.get(*j).is_none_or(|c| !is_handle(*c)))
                .unwrap_or(chars.len());
            if end > i + 1 && end - i - 1 <= 15 {
                let handle: String = chars.get(i + 1..end).unwrap_or_default().iter().collect();
                out.push((handle, i, end));
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// An id as v1.1 writes it in its numeric twin fields (`id`, `in_reply_to_status_id`).
fn numeric(id: &str) -> Value {
    id.parse::<u64>().map_or(Value::Null, Value::from)
}

/// A faithful Account Activity body with one `tweet_create_events` entry (and the `users`
/// map) for `tweet`, as X would deliver it to the subscription of `for_user_id`.
///
/// Mentions in the text become `entities.user_mentions`; as X is not asked, each mention's id
/// is its handle. That is exact for the TWCS data set, where companies' ids are their screen
/// names and customers' handles are their anonymised ids.
pub fn account_activity_tweet(for_user_id: &str, tweet: &ReplayTweet) -> Vec<u8> {
    let found = mentions(&tweet.text);
    let user_mentions: Vec<Value> = found
        .iter()
        .map(|(handle, start, end)| {
            json!({
                "screen_name": handle,
                "name": handle,
                "id": numeric(handle),
                "id_str": handle,
                "indices": [start, end],
            })
        })
        .collect();
    let reply_screen_name = tweet.in_reply_to_user_id.as_deref().and_then(|u| {
        found
            .iter()
            .find(|(h, _, _)| h.eq_ignore_ascii_case(u))
            .map(|(h, _, _)| h.clone())
    });
    let opt_num = |v: &Option<String>| v.as_deref().map_or(Value::Null, numeric);
    let user = json!({
        "id": numeric(&tweet.author_id),
        "id_str": tweet.author_id,
        "name": tweet.author_screen_name,
        "screen_name": tweet.author_screen_name,
        "protected": false,
        "verified": false,
    });
    let event = json!({
        "created_at": format_created_at(tweet.created_at),
        "id": numeric(&tweet.id),
        "id_str": tweet.id,
        "text": tweet.text,
        "display_text_range": [0, tweet.text.chars().count()],
        "source": "<a href=\"https://switchboard.invalid/replay\" rel=\"nofollow\">Switchboard replay</a>",
        "truncated": false,
        "in_reply_to_status_id": opt_num(&tweet.in_reply_to_status_id),
        "in_reply_to_status_id_str": tweet.in_reply_to_status_id,
        "in_reply_to_user_id": opt_num(&tweet.in_reply_to_user_id),
        "in_reply_to_user_id_str": tweet.in_reply_to_user_id,
        "in_reply_to_screen_name": reply_screen_name,
        "user": user,
        "is_quote_status": false,
        "quote_count": 0,
        "reply_count": 0,
        "retweet_count": 0,
        "favorite_count": 0,
        "entities": {
            "hashtags": [],
            "urls": [],
            "user_mentions": user_mentions,
            "symbols": [],
        },
        "favorited": false,
        "retweeted": false,
        "timestamp_ms": (tweet.created_at.as_unix_micros().div_euclid(1000)).to_string(),
    });
    let mut users = Map::new();
    users.insert(
        tweet.author_id.clone(),
        json!({
            "id": tweet.author_id,
            "name": tweet.author_screen_name,
            "screen_name": tweet.author_screen_name,
            "protected": false,
            "verified": false,
        }),
    );
    json!({
        "for_user_id": for_user_id,
        "tweet_create_events": [event],
        "users": users,
    })
    .to_string()
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"consumer-secret";
    const ME: &str = "2244994945";

    fn cfg() -> Config {
        Config::from_json(&json!({"user_id": ME})).unwrap()
    }

    fn one(body: &str) -> ChannelEvent {
        let mut events = parse(body.as_bytes(), &cfg()).unwrap();
        assert_eq!(events.len(), 1, "{events:?}");
        events.remove(0)
    }

    fn message(body: &str) -> InboundMessage {
        match one(body) {
            ChannelEvent::Message(m) => m,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    fn echo(body: &str) -> EchoMessage {
        match one(body) {
            ChannelEvent::Echo(e) => e,
            other => panic!("expected an echo, got {other:?}"),
        }
    }

    fn ignored_kind(body: &str) -> String {
        match one(body) {
            ChannelEvent::Ignored { kind } => kind,
            other => panic!("expected ignored, got {other:?}"),
        }
    }

    fn ms(millis: i64) -> Option<Timestamp> {
        Timestamp::from_unix_millis(millis)
    }

    fn rfc(s: &str) -> Option<Timestamp> {
        Some(Timestamp::parse_rfc3339(s).unwrap())
    }

    // --- signatures -----------------------------------------------------------------------

    #[test]
    fn crc_matches_the_published_vector() {
        assert_eq!(
            crc_response(
                b"z3ZX4v7mAAUGykl3EcmkqbartmuW8VFOOzCloLx9Q45P0hLrFu",
                "9b4507b3-9040-4669-9ca3-6b94edb50553"
            ),
            r#"{"response_token":"sha256=Cytd4Sq+NvEcV3MMrXxWJGJx5A+y/lXzzU2Maartkx8="}"#
        );
    }

    #[test]
    fn signatures_round_trip_and_rejections() {
        let body = br#"{"for_user_id":"2244994945","tweet_create_events":[]}"#;
        let sig = sign(SECRET, body);
        assert!(sig.starts_with("sha256=") && sig.len() == 7 + 44, "{sig}");
        assert_eq!(verify(SECRET, body, Some(&sig)), Ok(()));
        assert_eq!(verify(SECRET, body, Some(&format!(" {sig} "))), Ok(()));
        let mut changed = body.to_vec();
        changed[5] ^= 1;
        assert_eq!(
            verify(SECRET, &changed, Some(&sig)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"other", body, Some(&sig)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, body, None),
            Err(SignatureError::Missing(SIGNATURE_HEADER))
        );
        for bad in [
            "",
            "sha1=abc",
            "Cytd4Sq+NvEcV3MMrXxWJGJx5A+y/lXzzU2Maartkx8=",
            "sha256=!!!",
        ] {
            assert_eq!(
                verify(SECRET, body, Some(bad)),
                Err(SignatureError::Malformed(
                    SIGNATURE_HEADER,
                    "sha256=<base64>"
                )),
                "{bad}"
            );
        }
        // Well-formed base64 of the wrong length is a mismatch, not a panic.
        assert_eq!(
            verify(SECRET, body, Some("sha256=AAAA")),
            Err(SignatureError::Mismatch)
        );
    }

    // --- settings -------------------------------------------------------------------------

    #[test]
    fn config_and_credentials() {
        let c =
            Config::from_json(&json!({"user_id": 42, "api_base": "http://127.0.0.1:9/"})).unwrap();
        assert_eq!(c.user_id, "42");
        assert_eq!(c.api_base, "http://127.0.0.1:9");
        assert_eq!(cfg().api_base, DEFAULT_API_BASE);
        assert_eq!(cfg().app_id, None);
        for (v, field) in [
            (json!({}), "config.user_id"),
            (json!({"user_id": ""}), "config.user_id"),
            (json!({"user_id": true}), "config.user_id"),
            (
                json!({"user_id": "1", "api_base": "ftp://x"}),
                "config.api_base",
            ),
            (json!({"user_id": "1", "app_id": []}), "config.app_id"),
            (json!("1"), "config"),
        ] {
            let e = Config::from_json(&v).unwrap_err();
            assert_eq!(e.field.as_deref(), Some(field), "{v}: {e}");
        }
        let creds = Credentials::from_json(
            &json!({"consumer_secret": "very-secret", "access_token": "tok-123"}),
        )
        .unwrap();
        let debug = format!("{creds:?}");
        assert!(!debug.contains("very-secret") && !debug.contains("tok-123"));
        assert!(debug.contains("<redacted>"));
        for (v, field) in [
            (json!({"access_token": "t"}), "credentials.consumer_secret"),
            (json!({"consumer_secret": "s"}), "credentials.access_token"),
            (
                json!({"consumer_secret": "s", "access_token": " "}),
                "credentials.access_token",
            ),
            (
                json!({"consumer_secret": 5, "access_token": "t"}),
                "credentials.consumer_secret",
            ),
        ] {
            let e = Credentials::from_json(&v).unwrap_err();
            assert_eq!(e.field.as_deref(), Some(field), "{v}: {e}");
            assert!(!e.message.contains("very-secret"));
        }
    }

    // --- Account Activity: posts ------------------------------------------------------------

    const MENTION: &str = r#"{
      "for_user_id": "2244994945",
      "user_has_blocked": "false",
      "tweet_create_events": [{
        "created_at": "Wed Oct 10 20:19:24 +0000 2018",
        "id": 1050118621198921728,
        "id_str": "1050118621198921728",
        "text": "@XDevelopers my order never arrived https://t.co/abcDEF1234",
        "truncated": false,
        "in_reply_to_status_id": null,
        "in_reply_to_status_id_str": null,
        "in_reply_to_user_id": null,
        "in_reply_to_user_id_str": null,
        "in_reply_to_screen_name": null,
        "user": {"id": 6253282, "id_str": "6253282", "name": "Ann Lee", "screen_name": "annlee",
                 "followers_count": 1200, "verified": true},
        "is_quote_status": false,
        "entities": {"hashtags": [], "urls": [], "symbols": [],
          "user_mentions": [{"screen_name": "XDevelopers", "name": "X Developers",
                             "id": 2244994945, "id_str": "2244994945", "indices": [0, 12]}],
          "media": [{"id_str": "1050118620000000000", "url": "https://t.co/abcDEF1234",
                     "media_url_https": "https://pbs.twimg.com/media/Dp1.jpg", "type": "photo"}]},
        "extended_entities": {"media": [
          {"id_str": "1050118620000000000", "url": "https://t.co/abcDEF1234",
           "media_url_https": "https://pbs.twimg.com/media/Dp1.jpg", "type": "photo"},
          {"id_str": "1050118620000000001", "url": "https://t.co/abcDEF1234",
           "media_url_https": "https://pbs.twimg.com/media/Dp2.jpg", "type": "animated_gif"}]},
        "timestamp_ms": "1539202764000"
      }]
    }"#;

    #[test]
    fn a_mention_is_a_public_message() {
        let m = message(MENTION);
        assert_eq!(m.external_id, "1050118621198921728");
        assert_eq!(m.thread, "tweet:1050118621198921728");
        assert!(m.public);
        assert_eq!(
            m.author,
            Author {
                external_id: "6253282".into(),
                name: Some("Ann Lee".into()),
                handle: Some("@annlee".into()),
                followers: Some(1200),
                verified: Some(true),
            }
        );
        assert_eq!(m.text, "@XDevelopers my order never arrived");
        assert_eq!(m.sent_at, ms(1_539_202_764_000));
        assert_eq!(m.reply_to, None);
        assert_eq!(
            m.attachments,
            vec![
                Attachment {
                    kind: "image".into(),
                    url: Some("https://pbs.twimg.com/media/Dp1.jpg".into()),
                    provider_id: Some("1050118620000000000".into()),
                    mime_type: None,
                    name: None,
                },
                Attachment {
                    kind: "video".into(),
                    url: Some("https://pbs.twimg.com/media/Dp2.jpg".into()),
                    provider_id: Some("1050118620000000001".into()),
                    mime_type: None,
                    name: None,
                },
            ]
        );
    }

    #[test]
    fn a_long_reply_uses_the_full_text_and_created_at() {
        let full = "x".repeat(300);
        let body = json!({
            "for_user_id": ME,
            "tweet_create_events": [{
                "created_at": "Mon May 19 14:01:46 +0000 2025",
                "id_str": "1924465506158878979",
                "text": "xxxx… https://t.co/bzbEKj8cd8",
                "truncated": true,
                "in_reply_to_status_id_str": "1924465000000000000",
                "in_reply_to_user_id_str": ME,
                "in_reply_to_screen_name": "XDevelopers",
                "user": {"id_str": "9", "screen_name": "bob"},
                "extended_tweet": {
                    "full_text": full,
                    "extended_entities": {"media": [
                        {"id_str": "5", "media_url_https": "https://v/1.jpg", "type": "video"}]}
                }
            }]
        })
        .to_string();
        let m = message(&body);
        assert_eq!(m.text, full);
        assert_eq!(m.thread, "tweet:1924465000000000000");
        assert_eq!(m.reply_to.as_deref(), Some("1924465000000000000"));
        assert_eq!(m.sent_at, rfc("2025-05-19T14:01:46Z"));
        assert_eq!(m.author.handle.as_deref(), Some("@bob"));
        assert_eq!(m.author.name, None);
        assert_eq!(m.attachments.len(), 1);
        assert_eq!(m.attachments[0].kind, "video");
    }

    #[test]
    fn a_quote_replies_to_the_quoted_post() {
        let body = json!({
            "for_user_id": ME,
            "tweet_create_events": [{
                "id_str": "300", "text": "look at this", "is_quote_status": true,
                "quoted_status_id_str": "200",
                "quoted_status": {"id_str": "200", "user": {"id_str": ME}},
                "user": {"id_str": "9"}
            }]
        })
        .to_string();
        let m = message(&body);
        assert_eq!(m.thread, "tweet:300");
        assert_eq!(m.reply_to.as_deref(), Some("200"));
        assert_eq!(m.sent_at, None);
        // A quote that is also a reply: the reply wins.
        let body = body.replace(r#""text""#, r#""in_reply_to_status_id_str":"150","text""#);
        assert_eq!(message(&body).reply_to.as_deref(), Some("150"));
    }

    #[test]
    fn the_accounts_own_posts_are_echoes() {
        let reply = json!({
            "for_user_id": ME,
            "tweet_create_events": [{
                "id_str": "400", "text": "@annlee sorry, we are on it",
                "created_at": "Wed Oct 10 20:25:00 +0000 2018",
                "in_reply_to_status_id_str": "1050118621198921728",
                "in_reply_to_user_id_str": "6253282",
                "in_reply_to_screen_name": "annlee",
                "user": {"id_str": ME, "screen_name": "XDevelopers"}
            }]
        })
        .to_string();
        let e = echo(&reply);
        assert_eq!(e.external_id, "400");
        assert_eq!(e.thread, "tweet:1050118621198921728");
        assert!(e.public && !e.other_app && e.ours.is_none());
        assert_eq!(e.to.external_id, "6253282");
        assert_eq!(e.to.handle.as_deref(), Some("@annlee"));
        assert_eq!(e.reply_to.as_deref(), Some("1050118621198921728"));
        assert_eq!(e.sent_at, rfc("2018-10-10T20:25:00Z"));

        // Not a reply but a mention: addressed to the first person mentioned.
        let mention = json!({
            "for_user_id": ME,
            "tweet_create_events": [{
                "id_str": "401", "text": "Hey @medenhofer !",
                "user": {"id_str": ME},
                "entities": {"user_mentions": [
                    {"screen_name": "XDevelopers", "id_str": ME},
                    {"screen_name": "medenhofer", "name": "Martin", "id_str": "456"}]}
            }]
        })
        .to_string();
        let e = echo(&mention);
        assert_eq!(e.thread, "tweet:401");
        assert_eq!(e.to.external_id, "456");
        assert_eq!(e.to.handle.as_deref(), Some("@medenhofer"));
        assert_eq!(e.to.name.as_deref(), Some("Martin"));

        // A broadcast addressed to nobody.
        let broadcast = json!({
            "for_user_id": ME,
            "tweet_create_events": [{"id_str": "402", "text": "We're hiring", "user": {"id_str": ME}}]
        })
        .to_string();
        assert_eq!(ignored_kind(&broadcast), "own_tweet");
    }

    #[test]
    fn retweets_are_ignored() {
        let body = json!({
            "for_user_id": ME,
            "tweet_create_events": [{
                "id_str": "500", "text": "RT @XDevelopers: news", "user": {"id_str": "9"},
                "retweeted_status": {"id_str": "499", "user": {"id_str": ME}}
            }]
        })
        .to_string();
        assert_eq!(ignored_kind(&body), "retweet");
    }

    // --- Account Activity: DMs and the rest ------------------------------------------------------

    const DM_IN: &str = r#"{
      "for_user_id": "2244994945",
      "direct_message_events": [{
        "type": "message_create",
        "id": "954491830116155396",
        "created_timestamp": "1516403560557",
        "message_create": {
          "target": {"recipient_id": "2244994945"},
          "sender_id": "3001969357",
          "source_app_id": "13090192",
          "message_data": {
            "text": "Here is the receipt https://t.co/UfaCwi9cUb",
            "entities": {"hashtags": [], "symbols": [], "user_mentions": [], "urls": []},
            "attachment": {"type": "media", "media": {
              "id": 1063077198536556545, "id_str": "1063077198536556545",
              "media_url_https": "https://ton.twitter.com/1.1/ton/data/dm/9/9/a.jpg",
              "url": "https://t.co/UfaCwi9cUb", "type": "photo"}}
          }
        }
      }],
      "apps": {"13090192": {"id": "13090192", "name": "TestApp", "url": "https://x.com/t"}},
      "users": {
        "3001969357": {"id": "3001969357", "created_timestamp": "1422556069340",
          "name": "Jordan Brinks", "screen_name": "furiouscamper", "protected": false,
          "verified": false, "followers_count": 22},
        "2244994945": {"id": "2244994945", "name": "X Developers", "screen_name": "XDevelopers"}
      }
    }"#;

    #[test]
    fn a_direct_message_is_a_private_message() {
        let m = message(DM_IN);
        assert_eq!(m.external_id, "954491830116155396");
        assert_eq!(m.thread, "dm:3001969357");
        assert!(!m.public);
        assert_eq!(
            m.author,
            Author {
                external_id: "3001969357".into(),
                name: Some("Jordan Brinks".into()),
                handle: Some("@furiouscamper".into()),
                followers: Some(22),
                verified: Some(false),
            }
        );
        assert_eq!(m.text, "Here is the receipt");
        assert_eq!(m.sent_at, ms(1_516_403_560_557));
        assert_eq!(
            m.attachments,
            vec![Attachment {
                kind: "image".into(),
                url: Some("https://ton.twitter.com/1.1/ton/data/dm/9/9/a.jpg".into()),
                provider_id: Some("1063077198536556545".into()),
                mime_type: None,
                name: None,
            }]
        );
    }

    #[test]
    fn the_accounts_own_dms_are_echoes() {
        let body = DM_IN
            .replace(
                r#""recipient_id": "2244994945""#,
                r#""recipient_id": "3001969357""#,
            )
            .replace(
                r#""sender_id": "3001969357""#,
                r#""sender_id": "2244994945""#,
            );
        let e = echo(&body);
        assert_eq!(e.thread, "dm:3001969357");
        assert!(!e.public);
        assert_eq!(e.to.handle.as_deref(), Some("@furiouscamper"));
        assert!(!e.other_app, "no app id configured: not known to differ");
        let mine = Config {
            app_id: Some("777".into()),
            ..cfg()
        };
        let events = parse(body.as_bytes(), &mine).unwrap();
        assert!(matches!(&events[..], [ChannelEvent::Echo(e)] if e.other_app));
        let same = Config {
            app_id: Some("13090192".into()),
            ..cfg()
        };
        let events = parse(body.as_bytes(), &same).unwrap();
        assert!(matches!(&events[..], [ChannelEvent::Echo(e)] if !e.other_app));
    }

    #[test]
    fn read_markers_deletes_likes_and_others() {
        let read = json!({
            "for_user_id": ME,
            "direct_message_mark_read_events": [
                {"created_timestamp": "1518452444662", "sender_id": "199566737",
                 "target": {"recipient_id": ME}, "last_read_event_id": "963085315333238788"},
                {"created_timestamp": "1518452444999", "sender_id": ME,
                 "target": {"recipient_id": "199566737"}, "last_read_event_id": "1"}
            ]
        })
        .to_string();
        assert_eq!(
            parse(read.as_bytes(), &cfg()).unwrap(),
            vec![
                ChannelEvent::ReadUpTo {
                    thread: "dm:199566737".into(),
                    up_to: ms(1_518_452_444_662).unwrap(),
                },
                ignored("direct_message_mark_read_events"),
            ]
        );

        let delete = json!({
            "for_user_id": ME,
            "tweet_delete_events": [{"status": {"id": "1045405559317569537", "user_id": "9"},
                                     "timestamp_ms": "1432228155593"}]
        })
        .to_string();
        assert_eq!(
            one(&delete),
            ChannelEvent::Deleted {
                external_id: "1045405559317569537".into(),
                at: ms(1_432_228_155_593),
            }
        );

        let like = json!({
            "for_user_id": ME,
            "favorite_events": [{
                "id": "a7ba59eab0bfcba386f7acedac279542",
                "created_at": "Mon Mar 26 16:33:26 +0000 2018",
                "timestamp_ms": 1522082006140u64,
                "favorited_status": {"id_str": "400", "user": {"id_str": ME}},
                "user": {"id_str": "6253282", "screen_name": "annlee", "name": "Ann Lee"}
            }]
        })
        .to_string();
        assert_eq!(
            one(&like),
            ChannelEvent::Reaction(Reaction {
                target: "400".into(),
                author: Author {
                    external_id: "6253282".into(),
                    name: Some("Ann Lee".into()),
                    handle: Some("@annlee".into()),
                    followers: None,
                    verified: None,
                },
                emoji: Some("❤".into()),
                at: ms(1_522_082_006_140),
            })
        );
        // The account liking someone else's post.
        let own_like = like
            .replace(
                r#""user":{"id_str":"2244994945"}"#,
                r#""user":{"id_str":"77"}"#,
            )
            .replace(r#""id_str":"6253282""#, &format!(r#""id_str":"{ME}""#));
        assert_eq!(ignored_kind(&own_like), "favorite_events");

        let others = json!({
            "for_user_id": ME,
            "follow_events": [{"type": "follow", "created_timestamp": "1517588749178",
                               "target": {"id": ME}, "source": {"id": "9"}}],
            "direct_message_indicate_typing_events": [{"created_timestamp": "1518127183443",
                "sender_id": "9", "target": {"recipient_id": ME}}],
            "unfollow_events": [{}],
            "spaces_events": [{}, {}]
        })
        .to_string();
        let kinds: Vec<String> = parse(others.as_bytes(), &cfg())
            .unwrap()
            .into_iter()
            .map(|e| match e {
                ChannelEvent::Ignored { kind } => kind,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "direct_message_indicate_typing_events",
                "follow_events",
                "spaces_events",
                "spaces_events",
                "unfollow_events"
            ]
        );

        let revoke = r#"{"user_event":{"revoke":{"date_time":"2018-05-24T09:48:12+00:00","target":{"app_id":"13090192"},"source":{"user_id":"63046977"}}}}"#;
        assert_eq!(ignored_kind(revoke), "user_event");
        let replay =
            r#"{"replay_job_status":{"webhook_id":"1","job_state":"Complete","job_id":"2"}}"#;
        assert_eq!(ignored_kind(replay), "replay_job_status");
        assert_eq!(ignored_kind(r#"{"for_user_id":"2244994945"}"#), "no_events");
    }

    #[test]
    fn another_accounts_events_are_ignored() {
        let body = MENTION.replace(r#""for_user_id": "2244994945""#, r#""for_user_id": "1""#);
        assert_eq!(ignored_kind(&body), "other_account");
    }

    #[test]
    fn a_batch_returns_every_event_in_order() {
        let body = json!({
            "for_user_id": ME,
            "tweet_create_events": [
                {"id_str": "1", "text": "@XDevelopers a", "user": {"id_str": "9"}},
                {"id_str": "2", "text": "@XDevelopers b", "user": {"id_str": "8"}}
            ],
            "direct_message_events": [
                {"type": "message_create", "id": "10", "created_timestamp": "1516403560557",
                 "message_create": {"target": {"recipient_id": ME}, "sender_id": "9",
                                    "message_data": {"text": "c"}}},
                {"type": "message_create", "id": "11", "created_timestamp": "1516403560558",
                 "message_create": {"target": {"recipient_id": "9"}, "sender_id": ME,
                                    "message_data": {"text": "d"}}}
            ],
            "direct_message_mark_read_events": [
                {"created_timestamp": "1516403560559", "sender_id": "9",
                 "target": {"recipient_id": ME}, "last_read_event_id": "11"}
            ]
        })
        .to_string();
        let events = parse(body.as_bytes(), &cfg()).unwrap();
        let kinds: Vec<&str> = events.iter().map(ChannelEvent::kind).collect();
        assert_eq!(
            kinds,
            ["message", "message", "message", "echo", "read_up_to"]
        );
    }

    // --- the X Activity API ----------------------------------------------------------------

    fn xaa(event_type: &str, payload: Value, includes: Value) -> String {
        json!({"data": {
            "event_uuid": "-6850472171600526495",
            "filter": {"user_id": ME},
            "event_type": event_type,
            "tag": "t",
            "payload": payload,
            "includes": includes
        }})
        .to_string()
    }

    fn v2_user(id: &str, username: &str, followers: u64) -> Value {
        json!({"id": id, "name": format!("{username} name"), "username": username,
               "verified": false, "protected": false,
               "public_metrics": {"followers_count": followers, "followers_count_str": followers.to_string()}})
    }

    #[test]
    fn activity_mentions_replies_and_quotes() {
        let mention = xaa(
            "post.mention.create",
            json!({
                "created_at": "2026-07-24T21:23:23.000Z",
                "conversation_id": "2080765813578191303",
                "text": "hey @XDevelopers",
                "entities": {"mentions": [{"start": 4, "end": 16, "username": "XDevelopers", "id": ME}]},
                "author_id": "2222222222222222222",
                "id": "2080765813578191303",
                "attachments": {"media_keys": ["3_1"]}
            }),
            json!({
                "users": [v2_user("2222222222222222222", "OtherUser", 97), v2_user(ME, "XDevelopers", 5502)],
                "media": [{"media_key": "3_1", "type": "photo", "url": "https://pbs.twimg.com/media/a.jpg"}]
            }),
        );
        let m = message(&mention);
        assert_eq!(m.external_id, "2080765813578191303");
        assert_eq!(m.thread, "tweet:2080765813578191303");
        assert!(m.public);
        assert_eq!(
            m.author,
            Author {
                external_id: "2222222222222222222".into(),
                name: Some("OtherUser name".into()),
                handle: Some("@OtherUser".into()),
                followers: Some(97),
                verified: Some(false),
            }
        );
        assert_eq!(m.text, "hey @XDevelopers");
        assert_eq!(m.sent_at, rfc("2026-07-24T21:23:23Z"));
        assert_eq!(m.attachments.len(), 1);
        assert_eq!(m.attachments[0].kind, "image");
        assert_eq!(
            m.attachments[0].url.as_deref(),
            Some("https://pbs.twimg.com/media/a.jpg")
        );
        assert_eq!(
            dedupe_key(mention.as_bytes()).as_deref(),
            Some("-6850472171600526495")
        );

        let reply = xaa(
            "post.reply.create",
            json!({
                "created_at": "2026-08-12T18:00:00.000Z",
                "conversation_id": "2080761390344937796",
                "in_reply_to_tweet_id": "2080761390344937796",
                "in_reply_to_user_id": ME,
                "referenced_tweets": [{"type": "replied_to", "id": "2080761390344937796"}],
                "text": "@XDevelopers Great post",
                "author_id": "2222222222222222222",
                "id": "2090000000000000001"
            }),
            json!({}),
        );
        let m = message(&reply);
        assert_eq!(m.thread, "tweet:2080761390344937796");
        assert_eq!(m.reply_to.as_deref(), Some("2080761390344937796"));
        assert_eq!(m.author.external_id, "2222222222222222222");
        assert_eq!(m.author.handle, None);

        // referenced_tweets alone (no in_reply_to_tweet_id) also marks a reply.
        let reply2 = reply.replace(r#""in_reply_to_tweet_id":"2080761390344937796","#, "");
        assert_ne!(reply2, reply);
        assert_eq!(
            message(&reply2).reply_to.as_deref(),
            Some("2080761390344937796")
        );

        let quote = xaa(
            "post.quote.create",
            json!({
                "referenced_tweets": [{"type": "quoted", "id": "2080761390344937796"}],
                "text": "Adding some context",
                "author_id": "2222222222222222222",
                "id": "2090000000000000002"
            }),
            json!({}),
        );
        let m = message(&quote);
        assert_eq!(m.thread, "tweet:2090000000000000002");
        assert_eq!(m.reply_to.as_deref(), Some("2080761390344937796"));

        let repost = xaa(
            "post.repost.create",
            json!({"referenced_tweets": [{"type": "retweeted", "id": "1"}],
                   "author_id": "2", "id": "3", "text": "RT"}),
            json!({}),
        );
        assert_eq!(ignored_kind(&repost), "retweet");
    }

    #[test]
    fn activity_own_posts_and_deletes() {
        let own_reply = xaa(
            "post.create",
            json!({
                "id": "2090000000000000009",
                "author_id": ME,
                "text": "@OtherUser we're on it",
                "in_reply_to_user_id": "2222222222222222222",
                "referenced_tweets": [{"type": "replied_to", "id": "2090000000000000001"}],
                "created_at": "2026-08-12T18:30:00.000Z"
            }),
            json!({"users": [{"data": v2_user("2222222222222222222", "OtherUser", 97)}]}),
        );
        let e = echo(&own_reply);
        assert_eq!(e.thread, "tweet:2090000000000000001");
        assert_eq!(e.reply_to.as_deref(), Some("2090000000000000001"));
        assert_eq!(e.to.handle.as_deref(), Some("@OtherUser"));
        assert_eq!(e.to.followers, Some(97));

        let standalone = xaa(
            "post.create",
            json!({"id": "5", "author_id": ME, "text": "Hello from the Activity API"}),
            json!({}),
        );
        assert_eq!(ignored_kind(&standalone), "post.create");

        let delete = xaa(
            "post.delete",
            json!({"id": "2080761269309813134", "author_id": ME}),
            json!({}),
        );
        assert_eq!(
            one(&delete),
            ChannelEvent::Deleted {
                external_id: "2080761269309813134".into(),
                at: None
            }
        );
    }

    #[test]
    fn activity_direct_messages() {
        // The documented shape: Account Activity DM events and a users map of {"data": user}.
        let received = xaa(
            "dm.received",
            json!({
                "direct_message_events": [{
                    "type": "message_create", "id": "2080765901528535096",
                    "created_timestamp": "1784928224372",
                    "message_create": {"target": {"recipient_id": ME},
                                       "sender_id": "2222222222222222222",
                                       "message_data": {"text": "hello!", "entities": {}}}
                }],
                "users": {
                    "2222222222222222222": {"data": v2_user("2222222222222222222", "OtherUser", 97)},
                    ME: {"data": v2_user(ME, "XDevelopers", 5502)}
                }
            }),
            Value::Null,
        );
        let m = message(&received);
        assert_eq!(m.external_id, "2080765901528535096");
        assert_eq!(m.thread, "dm:2222222222222222222");
        assert!(!m.public);
        assert_eq!(m.author.handle.as_deref(), Some("@OtherUser"));
        assert_eq!(m.author.followers, Some(97));
        assert_eq!(m.sent_at, ms(1_784_928_224_372));

        let sent = xaa(
            "dm.sent",
            json!({
                "direct_message_events": [{
                    "type": "message_create", "id": "2080763914820927863",
                    "created_timestamp": "1784927750704",
                    "message_create": {"target": {"recipient_id": "2222222222222222222"},
                                       "sender_id": ME,
                                       "message_data": {"text": "Thanks for the update!"}}
                }],
                "users": {"2222222222222222222": {"data": v2_user("2222222222222222222", "OtherUser", 97)}}
            }),
            Value::Null,
        );
        let e = echo(&sent);
        assert_eq!(e.thread, "dm:2222222222222222222");
        assert_eq!(e.to.handle.as_deref(), Some("@OtherUser"));
        assert_eq!(e.text, "Thanks for the update!");

        // The v2 DM event shape.
        let v2_in = xaa(
            "dm.received",
            json!({"id": "77", "event_type": "MessageCreate", "text": "hi",
                   "sender_id": "2222222222222222222",
                   "dm_conversation_id": format!("2222222222222222222-{ME}"),
                   "created_at": "2026-07-24T21:05:48.000Z"}),
            json!({"users": [v2_user("2222222222222222222", "OtherUser", 97)]}),
        );
        let m = message(&v2_in);
        assert_eq!(m.thread, "dm:2222222222222222222");
        assert_eq!(m.author.handle.as_deref(), Some("@OtherUser"));
        assert_eq!(m.sent_at, rfc("2026-07-24T21:05:48Z"));
        let v2_out = xaa(
            "dm.sent",
            json!({"id": "78", "event_type": "MessageCreate", "text": "hello",
                   "sender_id": ME, "dm_conversation_id": format!("{ME}-2222222222222222222")}),
            json!({}),
        );
        assert_eq!(echo(&v2_out).thread, "dm:2222222222222222222");

        let read = xaa(
            "dm.read",
            json!({"sender_id": "2222222222222222222", "created_timestamp": "1784928224999"}),
            json!({}),
        );
        assert_eq!(
            one(&read),
            ChannelEvent::ReadUpTo {
                thread: "dm:2222222222222222222".into(),
                up_to: ms(1_784_928_224_999).unwrap()
            }
        );
        let read_list = xaa(
            "dm.read",
            json!({"direct_message_mark_read_events": [{"created_timestamp": "1784928224999",
                   "sender_id": "2222222222222222222", "target": {"recipient_id": ME},
                   "last_read_event_id": "78"}]}),
            json!({}),
        );
        assert_eq!(one(&read_list).kind(), "read_up_to");
        assert_eq!(
            ignored_kind(&xaa("dm.read", json!({}), json!({}))),
            "dm.read"
        );
        assert_eq!(
            ignored_kind(&xaa(
                "dm.indicate_typing",
                json!({"sender_id": "2"}),
                json!({})
            )),
            "dm.indicate_typing"
        );
    }

    #[test]
    fn activity_likes_and_other_events() {
        let inbound = xaa(
            "like.create",
            json!({"id": "87719f50ee17bdfa06a3089098a2b9ed", "created_at": "2026-07-24T21:12:45.000Z",
                   "timestamp_ms": "1784927565236", "liked_tweet_author_id": ME,
                   "liked_tweet_id": "2079814480427442556"}),
            json!({"users": [v2_user(ME, "XDevelopers", 5502), v2_user("3", "PublicUser", 26972)]}),
        );
        assert_eq!(
            one(&inbound),
            ChannelEvent::Reaction(Reaction {
                target: "2079814480427442556".into(),
                author: Author {
                    external_id: "3".into(),
                    name: Some("PublicUser name".into()),
                    handle: Some("@PublicUser".into()),
                    followers: Some(26972),
                    verified: Some(false),
                },
                emoji: Some(LIKE_EMOJI.into()),
                at: ms(1_784_927_565_236),
            })
        );
        // The documented example: the account liked someone else's post.
        let outbound = inbound.replace(
            r#""user_id":"2244994945""#,
            r#""user_id":"2244994945","direction":"outbound""#,
        );
        assert_ne!(outbound, inbound);
        assert_eq!(ignored_kind(&outbound), "like.create");
        // Nobody but the account itself to credit.
        let unknown = xaa(
            "like.create",
            json!({"liked_tweet_author_id": ME, "liked_tweet_id": "1"}),
            json!({}),
        );
        assert_eq!(ignored_kind(&unknown), "like.create");

        for t in [
            "profile.update.bio",
            "follow.follow",
            "chat.received",
            "spaces.start",
            "news.new",
            "something.new",
        ] {
            assert_eq!(ignored_kind(&xaa(t, json!({"before": "a"}), json!({}))), t);
        }
        let revoke = r#"{"data":{"event_uuid":"5934540941047412905","filter":{},"event_type":"oauth.revoke","payload":{"date_time":"2026-07-23T21:44:05+00:00","user_id":"1","app_id":"29820954"}}}"#;
        assert_eq!(ignored_kind(revoke), "oauth.revoke");
        let other = xaa("post.mention.create", json!({}), json!({}))
            .replace(r#""user_id":"2244994945""#, r#""user_id":"1""#);
        assert_eq!(ignored_kind(&other), "other_account");
    }

    #[test]
    fn dedupe_keys() {
        assert_eq!(
            dedupe_key(br#"{"data":{"event_uuid":"2080761390344937796","event_type":"x"}}"#)
                .as_deref(),
            Some("2080761390344937796")
        );
        assert_eq!(
            dedupe_key(br#"{"data":{"event_uuid":-42}}"#).as_deref(),
            Some("-42")
        );
        assert_eq!(dedupe_key(MENTION.as_bytes()), None);
        assert_eq!(dedupe_key(DM_IN.as_bytes()), None);
        assert_eq!(dedupe_key(b"not json"), None);
        assert_eq!(dedupe_key(br#"{"data":[]}"#), None);
    }

    // --- malformed bodies ----------------------------------------------------------------------

    #[test]
    fn malformed_bodies_name_the_field() {
        let table: Vec<(String, Option<&str>)> = vec![
            ("not json".into(), None),
            ("[1]".into(), None),
            (r#"{"tweet_create_events":[]}"#.into(), Some("for_user_id")),
            (r#"{"for_user_id":{}}"#.into(), Some("for_user_id")),
            (
                json!({"for_user_id": ME, "tweet_create_events": {}}).to_string(),
                Some("tweet_create_events"),
            ),
            (
                json!({"for_user_id": ME, "tweet_create_events": [7]}).to_string(),
                Some("tweet_create_events[0]"),
            ),
            (
                json!({"for_user_id": ME, "tweet_create_events": [{"text": "a", "user": {"id_str": "9"}}]})
                    .to_string(),
                Some("tweet_create_events[0].id_str"),
            ),
            (
                json!({"for_user_id": ME, "tweet_create_events": [{"id_str": "1", "text": "a"}]})
                    .to_string(),
                Some("tweet_create_events[0].user"),
            ),
            (
                json!({"for_user_id": ME, "tweet_create_events": [{"id_str": "1", "user": {"name": "x"}}]})
                    .to_string(),
                Some("tweet_create_events[0].user.id_str"),
            ),
            (
                json!({"for_user_id": ME, "tweet_create_events": [
                    {"id_str": "1", "user": {"id_str": "9"}, "timestamp_ms": "soon"}]})
                .to_string(),
                Some("tweet_create_events[0].timestamp_ms"),
            ),
            (
                json!({"for_user_id": ME, "tweet_create_events": [
                    {"id_str": "1", "user": {"id_str": "9"}, "created_at": "yesterday"}]})
                .to_string(),
                Some("tweet_create_events[0].created_at"),
            ),
            (
                json!({"for_user_id": ME, "tweet_create_events": [
                    {"id_str": "1", "user": {"id_str": "9"}, "text": 5}]})
                .to_string(),
                Some("tweet_create_events[0].text"),
            ),
            (
                json!({"for_user_id": ME, "direct_message_events": [
                    {"type": "message_create", "id": "1", "message_create": {"target": {"recipient_id": ME}}}]})
                .to_string(),
                Some("direct_message_events[0].message_create.sender_id"),
            ),
            (
                json!({"for_user_id": ME, "direct_message_events": [
                    {"type": "message_create", "id": "1", "message_create": {"sender_id": "9"}}]})
                .to_string(),
                Some("direct_message_events[0].message_create.target"),
            ),
            (
                json!({"for_user_id": ME, "direct_message_events": [
                    {"type": "message_create", "message_create": {"sender_id": "9", "target": {"recipient_id": ME}}}]})
                .to_string(),
                Some("direct_message_events[0].id"),
            ),
            (
                json!({"for_user_id": ME, "direct_message_mark_read_events": [{"sender_id": "9"}]})
                    .to_string(),
                Some("direct_message_mark_read_events[0].created_timestamp"),
            ),
            (
                json!({"for_user_id": ME, "tweet_delete_events": [{"timestamp_ms": "1"}]}).to_string(),
                Some("tweet_delete_events[0].status"),
            ),
            (
                json!({"for_user_id": ME, "users": []}).to_string(),
                Some("users"),
            ),
            (r#"{"data":"x"}"#.into(), Some("data")),
            (
                r#"{"data":{"event_type":"post.create","payload":{}}}"#.into(),
                Some("data.event_uuid"),
            ),
            (
                r#"{"data":{"event_uuid":"1","payload":{}}}"#.into(),
                Some("data.event_type"),
            ),
            (
                json!({"data": {"event_uuid": "1", "event_type": "post.mention.create", "filter": {"user_id": ME}}})
                    .to_string(),
                Some("data.payload"),
            ),
            (
                xaa("post.mention.create", json!({"author_id": "9", "text": "a"}), json!({})),
                Some("data.payload.id"),
            ),
            (
                xaa("post.mention.create", json!({"id": "1", "author_id": "9", "created_at": "today"}), json!({})),
                Some("data.payload.created_at"),
            ),
            (
                xaa("post.reply.create", json!({"id": "1", "author_id": "9", "referenced_tweets": [{"type": "replied_to"}]}), json!({})),
                Some("data.payload.referenced_tweets[0].id"),
            ),
            (
                xaa("dm.received", json!({"direct_message_events": [{"type": "message_create", "id": "1",
                    "message_create": {"target": {"recipient_id": ME}}}]}), json!({})),
                Some("data.payload.direct_message_events[0].message_create.sender_id"),
            ),
            (
                xaa("dm.sent", json!({"id": "1", "sender_id": ME, "text": "a"}), json!({})),
                Some("data.payload.dm_conversation_id"),
            ),
            (
                xaa("like.create", json!({"liked_tweet_author_id": ME}), json!({})),
                Some("data.payload.liked_tweet_id"),
            ),
            (
                xaa("post.create", json!({"id": "1", "author_id": ME}), json!("x")),
                Some("data.includes"),
            ),
        ];
        for (body, field) in &table {
            let err = crate::first_problem(parse(body.as_bytes(), &cfg()));
            assert_eq!(err.field.as_deref(), *field, "{body}: {err}");
            if let Some(f) = field {
                assert!(err.message.starts_with(f), "{err}");
            }
        }
    }

    #[test]
    fn truncated_and_odd_bodies_never_panic() {
        for body in [MENTION, DM_IN] {
            for cut in 0..body.len() {
                if body.is_char_boundary(cut) {
                    assert!(
                        parse(&body.as_bytes()[..cut], &cfg()).is_err(),
                        "cut at {cut}"
                    );
                }
            }
        }
        let odd = [
            r#"{"for_user_id":"2244994945","tweet_create_events":[{"id_str":"1","user":{"id_str":"2"},"entities":7,"extended_entities":{"media":"x"}}]}"#,
            r#"{"for_user_id":"2244994945","tweet_create_events":[{"id":1.5,"user":{"id_str":"2"}}]}"#,
            r#"{"for_user_id":"2244994945","direct_message_events":[{"type":"message_create","id":"1","message_create":{"sender_id":"2","target":{"recipient_id":"3"},"message_data":{"attachment":{"media":7}}}}]}"#,
            r#"{"for_user_id":"2244994945","favorite_events":[{"favorited_status":{"id_str":"1"},"user":{"id_str":"2"},"timestamp_ms":-5}]}"#,
            r#"{"data":{"event_uuid":"1","event_type":"dm.read","payload":[1]}}"#,
            r#"{"data":{"event_uuid":"1","event_type":"post.create","payload":{"id":"1","author_id":"2244994945","entities":{"mentions":[{"username":"a"}]}},"includes":{"users":[7,{"data":1}]}}}"#,
            r#"{"data":[{"event_uuid":"1","event_type":"x"},{"event_uuid":"2","event_type":"y"}]}"#,
            r#"{"data":[1]}"#,
        ];
        for body in odd {
            let _ = parse(body.as_bytes(), &cfg());
        }
        assert_eq!(parse(odd[6].as_bytes(), &cfg()).unwrap().len(), 2);
    }

    // --- sending ---------------------------------------------------------------------------

    fn job(thread: &str, public: bool, to: &str, in_reply_to: Option<&str>, text: &str) -> SendJob {
        SendJob {
            message_id: "msg-1".into(),
            thread: thread.into(),
            public,
            to: to.into(),
            in_reply_to: in_reply_to.map(str::to_owned),
            private_reply: false,
            template: None,
            text: text.into(),
            last_inbound_at: Timestamp::from_unix_secs(1_700_000_000),
            now: Timestamp::from_unix_secs(1_800_000_000).unwrap(),
        }
    }

    fn creds() -> Credentials {
        Credentials {
            consumer_secret: "s".into(),
            access_token: "user-token".into(),
        }
    }

    fn body_json(req: &HttpRequest) -> Value {
        serde_json::from_slice(&req.body).unwrap()
    }

    #[test]
    fn public_replies_post_to_tweets() {
        let c = Config {
            api_base: "http://127.0.0.1:8080/".into(),
            ..cfg()
        };
        let req = send_request(
            &c,
            &creds(),
            &job(
                "tweet:100",
                true,
                "6253282",
                Some("150"),
                "Sorry about that!",
            ),
        )
        .unwrap();
        assert_eq!(req.method, "POST");
        assert_eq!(req.url, "http://127.0.0.1:8080/2/tweets");
        assert_eq!(
            req.headers,
            vec![
                ("authorization".to_owned(), "Bearer user-token".to_owned()),
                ("content-type".to_owned(), "application/json".to_owned()),
            ]
        );
        assert_eq!(
            body_json(&req),
            json!({"text": "Sorry about that!", "reply": {"in_reply_to_tweet_id": "150"}})
        );
        // Without in_reply_to, the thread's post.
        let req = send_request(
            &cfg(),
            &creds(),
            &job("tweet:100", true, "6253282", None, "Hi"),
        )
        .unwrap();
        assert_eq!(req.url, "https://api.x.com/2/tweets");
        assert_eq!(
            body_json(&req),
            json!({"text": "Hi", "reply": {"in_reply_to_tweet_id": "100"}})
        );
        let e = send_request(&cfg(), &creds(), &job("c:1", true, "9", None, "Hi")).unwrap_err();
        assert_eq!(e.code, "not_supported");
    }

    #[test]
    fn direct_messages_post_to_the_participant() {
        let req = send_request(
            &cfg(),
            &creds(),
            &job("dm:3001969357", false, "3001969357", None, "Hello"),
        )
        .unwrap();
        assert_eq!(
            req.url,
            "https://api.x.com/2/dm_conversations/with/3001969357/messages"
        );
        assert_eq!(body_json(&req), json!({"text": "Hello"}));
        assert!(
            req.headers
                .contains(&("authorization".into(), "Bearer user-token".into()))
        );

        // A private reply to a public post: a DM to its author.
        let mut private = job(
            "tweet:100",
            true,
            "6253282",
            Some("150"),
            "Let's take this to DM",
        );
        private.private_reply = true;
        let req = send_request(&cfg(), &creds(), &private).unwrap();
        assert_eq!(
            req.url,
            "https://api.x.com/2/dm_conversations/with/6253282/messages"
        );
        assert_eq!(body_json(&req), json!({"text": "Let's take this to DM"}));

        // Ids are escaped into the path.
        let req = send_request(&cfg(), &creds(), &job("dm:a/b?c", false, "x", None, "Hi")).unwrap();
        assert_eq!(
            req.url,
            "https://api.x.com/2/dm_conversations/with/a%2Fb%3Fc/messages"
        );
        let e = send_request(&cfg(), &creds(), &job("dm:", false, "", None, "Hi")).unwrap_err();
        assert_eq!(e.code, "not_supported");
    }

    #[test]
    fn reply_rules() {
        let post = |text: &str| check_reply(&job("tweet:1", true, "9", Some("1"), text));
        let dm = |text: &str| check_reply(&job("dm:9", false, "9", None, text));
        assert_eq!(post("").unwrap_err().code, "empty");
        assert_eq!(dm("  \n").unwrap_err().code, "empty");
        assert_eq!(post(&"a".repeat(280)), Ok(()));
        // Characters, not bytes.
        assert_eq!(post(&"é".repeat(280)), Ok(()));
        let e = post(&"a".repeat(281)).unwrap_err();
        assert_eq!(e.code, "too_long");
        assert!(e.message.contains("281"), "{e}");
        assert_eq!(dm(&"a".repeat(10_000)), Ok(()));
        assert_eq!(dm(&"a".repeat(10_001)).unwrap_err().code, "too_long");
        // A long answer fits as a DM.
        let mut private = job("tweet:1", true, "9", Some("1"), &"a".repeat(500));
        private.private_reply = true;
        assert_eq!(check_reply(&private), Ok(()));
        // X has no messaging window: a months-old conversation can still be answered.
        let mut old = job("dm:9", false, "9", None, "hi");
        old.last_inbound_at = Timestamp::from_unix_secs(1);
        assert_eq!(check_reply(&old), Ok(()));
        let e = send_request(
            &cfg(),
            &creds(),
            &job("tweet:1", true, "9", None, &"a".repeat(281)),
        )
        .unwrap_err();
        assert_eq!(e.code, "too_long");
    }

    #[test]
    fn reading_answers() {
        use DeliveryState::*;
        let table: Vec<(u16, Option<&str>, &str, SendOutcome)> = vec![
            (
                201,
                None,
                r#"{"data":{"id":"1445880548472328192","text":"Hi","edit_history_tweet_ids":["1445880548472328192"]}}"#,
                SendOutcome::Accepted {
                    external_id: Some("1445880548472328192".into()),
                    state: Delivered,
                },
            ),
            (
                201,
                None,
                r#"{"data":{"dm_conversation_id":"1346889436626259968","dm_event_id":"128341038123"}}"#,
                SendOutcome::Accepted {
                    external_id: Some("128341038123".into()),
                    state: Sent,
                },
            ),
            (
                200,
                None,
                "garbage",
                SendOutcome::Accepted {
                    external_id: None,
                    state: Sent,
                },
            ),
            (
                429,
                Some("900"),
                r#"{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}"#,
                SendOutcome::Retry {
                    after_secs: Some(900),
                    error: "429: Too Many Requests".into(),
                },
            ),
            (
                429,
                Some("1784927565"),
                "",
                SendOutcome::Retry {
                    after_secs: None,
                    error: "429: HTTP 429".into(),
                },
            ),
            (
                420,
                Some("60"),
                r#"{"errors":[{"code":88,"message":"Rate limit exceeded"}]}"#,
                SendOutcome::Retry {
                    after_secs: Some(60),
                    error: "88: Rate limit exceeded".into(),
                },
            ),
            (
                403,
                None,
                r#"{"errors":[{"code":185,"message":"User is over daily status update limit."}]}"#,
                SendOutcome::Retry {
                    after_secs: None,
                    error: "185: User is over daily status update limit.".into(),
                },
            ),
            (
                500,
                None,
                "<html>oops</html>",
                SendOutcome::Retry {
                    after_secs: None,
                    error: "500: HTTP 500".into(),
                },
            ),
            (
                503,
                Some("5"),
                r#"{"errors":[{"code":130,"message":"Over capacity"}]}"#,
                SendOutcome::Retry {
                    after_secs: Some(5),
                    error: "130: Over capacity".into(),
                },
            ),
            (
                403,
                None,
                r#"{"detail":"You are not allowed to create a Tweet with duplicate content.","type":"about:blank","title":"Forbidden","status":403}"#,
                SendOutcome::Failed {
                    error: "403: You are not allowed to create a Tweet with duplicate content."
                        .into(),
                },
            ),
            (
                403,
                None,
                r#"{"errors":[{"code":349,"message":"You cannot send messages to this user."}]}"#,
                SendOutcome::Failed {
                    error: "349: You cannot send messages to this user.".into(),
                },
            ),
            (
                400,
                None,
                r#"{"errors":[{"message":"The `text` field is too long"}],"title":"Invalid Request","detail":"One or more parameters to your request was invalid.","type":"https://api.twitter.com/2/problems/invalid-request"}"#,
                SendOutcome::Failed {
                    error: "400: The `text` field is too long".into(),
                },
            ),
            (
                401,
                None,
                r#"{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}"#,
                SendOutcome::Failed {
                    error: "401: Unauthorized".into(),
                },
            ),
            (
                404,
                None,
                "\u{0}\u{1}",
                SendOutcome::Failed {
                    error: "404: HTTP 404".into(),
                },
            ),
        ];
        for (status, retry_after, body, expected) in table {
            assert_eq!(
                read_response(status, retry_after, body.as_bytes()),
                expected,
                "{status} {body}"
            );
        }
        let long = format!(r#"{{"detail":"{}"}}"#, "z".repeat(5000));
        match read_response(400, None, long.as_bytes()) {
            SendOutcome::Failed { error } => assert!(error.len() < 400),
            other => panic!("{other:?}"),
        }
    }

    // --- replay ----------------------------------------------------------------------------

    #[test]
    fn created_at_round_trips() {
        let t = parse_created_at("Tue Oct 31 22:10:47 +0000 2017").unwrap();
        assert_eq!(t.to_rfc3339(), "2017-10-31T22:10:47Z");
        assert_eq!(format_created_at(t), "Tue Oct 31 22:10:47 +0000 2017");
        assert_eq!(
            parse_created_at("Wed Oct 10 22:19:24 +0200 2018"),
            rfc("2018-10-10T20:19:24Z")
        );
        assert_eq!(parse_created_at("2017-10-31"), None);
        assert_eq!(
            format_created_at(rfc("2017-10-03T01:02:03Z").unwrap()),
            "Tue Oct 03 01:02:03 +0000 2017"
        );
    }

    #[test]
    fn replayed_posts_parse_as_x_would_deliver_them() {
        let company = Config::from_json(&json!({"user_id": "sprintcare"})).unwrap();
        let customer_post = ReplayTweet {
            id: "8".into(),
            author_id: "115712".into(),
            author_screen_name: "115712".into(),
            text: "@sprintcare is the worst customer service".into(),
            created_at: parse_created_at("Tue Oct 31 21:45:10 +0000 2017").unwrap(),
            in_reply_to_status_id: None,
            in_reply_to_user_id: None,
        };
        let body = account_activity_tweet("sprintcare", &customer_post);
        let sig = sign(b"replay-secret", &body);
        assert_eq!(verify(b"replay-secret", &body, Some(&sig)), Ok(()));
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["for_user_id"], "sprintcare");
        assert_eq!(v["tweet_create_events"][0]["id"], 8);
        assert_eq!(
            v["tweet_create_events"][0]["created_at"],
            "Tue Oct 31 21:45:10 +0000 2017"
        );
        assert_eq!(
            v["tweet_create_events"][0]["entities"]["user_mentions"],
            json!([{"screen_name": "sprintcare", "name": "sprintcare", "id": null,
                    "id_str": "sprintcare", "indices": [0, 11]}])
        );
        assert_eq!(v["users"]["115712"]["screen_name"], "115712");
        let events = parse(&body, &company).unwrap();
        let [ChannelEvent::Message(m)] = &events[..] else {
            panic!("{events:?}")
        };
        assert_eq!(m.external_id, "8");
        assert_eq!(m.thread, "tweet:8");
        assert_eq!(m.author.handle.as_deref(), Some("@115712"));
        assert_eq!(m.text, customer_post.text);
        assert_eq!(m.sent_at, Some(customer_post.created_at));
        assert_eq!(dedupe_key(&body), None);

        let company_reply = ReplayTweet {
            id: "6".into(),
            author_id: "sprintcare".into(),
            author_screen_name: "sprintcare".into(),
            text: "@115712 Can you please send us a private message?".into(),
            created_at: parse_created_at("Tue Oct 31 21:46:24 +0000 2017").unwrap(),
            in_reply_to_status_id: Some("8".into()),
            in_reply_to_user_id: Some("115712".into()),
        };
        let body = account_activity_tweet("sprintcare", &company_reply);
        let events = parse(&body, &company).unwrap();
        let [ChannelEvent::Echo(e)] = &events[..] else {
            panic!("{events:?}")
        };
        assert_eq!(e.thread, "tweet:8");
        assert_eq!(e.reply_to.as_deref(), Some("8"));
        assert_eq!(e.to.external_id, "115712");
        assert_eq!(e.to.handle.as_deref(), Some("@115712"));

        // Delivered to another company's subscription, it is not this channel's.
        let events = parse(&body, &cfg()).unwrap();
        assert_eq!(events, vec![ignored("other_account")]);
    }

    #[test]
    fn mentions_are_found_with_character_indices() {
        assert_eq!(
            mentions("é @a_1 x@b @toolonghandle12345 @c"),
            vec![("a_1".into(), 2, 6), ("c".into(), 31, 33)]
        );
        assert_eq!(mentions("@"), vec![]);
        assert_eq!(mentions("@@x"), vec![("x".into(), 1, 3)]);
    }
}

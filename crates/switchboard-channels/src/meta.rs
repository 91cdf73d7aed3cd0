//! Meta: Facebook Messenger (a Page's DMs and the comments on its feed) and Instagram (DMs,
//! comments, live comments and @mentions of a professional account).
//!
//! Both products share Meta's webhook machinery, which WhatsApp uses too (see
//! [`crate::whatsapp`]): the subscription handshake ([`handshake`]), the
//! `X-Hub-Signature-256` signature over the raw body ([`verify`]), the Graph API envelope
//! `{"object","entry":[{"id","time","messaging":[…],"changes":[…]}]}` and the Graph error
//! format ([`read_response`]).
//!
//! Thread keys this module hands out and reads back:
//! - `dm:<PSID or IGSID>`: the direct conversation with one customer;
//! - `comment:<root comment id>`: a top-level comment and the replies under it;
//! - `mention:<media id>` or `mention:<media id>:<comment id>` (Instagram): an @mention of the
//!   account in someone else's caption or comment. Both ids are kept because the mention reply
//!   API (`POST /{ig_id}/mentions`) needs both.

use crate::{HttpRequest, PayloadError, RuleError, SendJob, SendOutcome, SignatureError};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha1::Sha1;
use sha2::Sha256;
use switchboard_core::{
    Attachment, Author, ChannelEvent, DeliveryState, EchoMessage, InboundMessage, Reaction,
    Receipt, Timestamp,
};

/// Lower-case name of the header with `sha256=<hex HMAC-SHA256(app_secret, raw body)>`.
pub const SIGNATURE_256_HEADER: &str = "x-hub-signature-256";
/// Lower-case name of the legacy header with `sha1=<hex HMAC-SHA1(app_secret, raw body)>`.
pub const SIGNATURE_SHA1_HEADER: &str = "x-hub-signature";
pub const DEFAULT_API_BASE: &str = "https://graph.facebook.com";
pub const DEFAULT_API_VERSION: &str = "v23.0";
/// Send API reference: `message.text` "must be UTF-8 and has a 2000 character limit".
pub const MESSENGER_MAX_CHARS: usize = 2000;
/// Instagram "Send a Message": "Text message must be less than 1000 characters" (the same page
/// also says "1000 bytes or less"; characters are counted here).
pub const INSTAGRAM_MAX_CHARS: usize = 1000;
/// The recipient of an echo whose webhook does not name them.
pub const UNKNOWN_AUTHOR: &str = "unknown";
/// The author id given to an Instagram @mention, whose webhook does not say who wrote it:
/// this prefix and the mention's own id, so that every mention has a contact of its own and
/// strangers are never joined into one (the comment could be looked up with
/// `GET /{comment_id}?fields=from,username`; Switchboard does not call the Graph API inbound).
pub const MENTION_AUTHOR_PREFIX: &str = "mention-author:";
/// The text of an @mention, whose webhook carries no text.
pub const MENTION_TEXT: &str = "(mentioned you)";

const HOUR_MICROS: i64 = 3_600_000_000;
/// Standard messaging: replies within 24 hours of the customer's last message.
const STANDARD_WINDOW: i64 = 24 * HOUR_MICROS;
/// `HUMAN_AGENT` tag and private replies: 7 days.
const SEVEN_DAYS: i64 = 7 * 24 * HOUR_MICROS;

/// Graph error code for "this comment was already answered privately".
const ALREADY_REPLIED_PRIVATELY: i64 = 10900;

type HmacSha256 = Hmac<Sha256>;
type HmacSha1 = Hmac<Sha1>;

/// Which Meta product a channel connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Product {
    /// A Facebook Page: Messenger DMs and the comments on the Page's feed.
    Messenger,
    /// An Instagram professional account: DMs, comments, live comments, @mentions.
    Instagram,
}

impl Product {
    pub fn as_str(self) -> &'static str {
        match self {
            Product::Messenger => "Messenger",
            Product::Instagram => "Instagram",
        }
    }
    /// The envelope's `object`.
    pub fn object(self) -> &'static str {
        match self {
            Product::Messenger => "page",
            Product::Instagram => "instagram",
        }
    }
    /// The config key naming the connected account.
    pub fn id_key(self) -> &'static str {
        match self {
            Product::Messenger => "page_id",
            Product::Instagram => "ig_id",
        }
    }
    /// Longest message text, in characters.
    pub fn max_chars(self) -> usize {
        match self {
            Product::Messenger => MESSENGER_MAX_CHARS,
            Product::Instagram => INSTAGRAM_MAX_CHARS,
        }
    }
}

/// Non-secret settings, from the channel's `config` JSON object:
/// `{"page_id": "…"}` (Messenger) or `{"ig_id": "…"}` (Instagram), and optionally `app_id`,
/// `api_base` (default `https://graph.facebook.com`) and `api_version` (default `v23.0`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub product: Product,
    /// The Page id (Messenger, key `page_id`) or the Instagram professional account id
    /// (Instagram, key `ig_id`: the id Meta puts in the webhooks' `entry[].id`, `17841…`).
    /// Entries for other accounts are ignored; events whose sender is this account are echoes.
    pub account_id: String,
    /// The Meta app Switchboard sends through: echoes from another app are marked `other_app`.
    pub app_id: Option<String>,
    /// Without a trailing `/`.
    pub api_base: String,
    pub api_version: String,
}

impl Config {
    pub fn from_json(v: &Value, product: Product) -> Result<Config, PayloadError> {
        let obj = v
            .as_object()
            .ok_or_else(|| PayloadError::field("config", "must be a JSON object"))?;
        let account_id = setting(obj, "config", product.id_key())?.ok_or_else(|| {
            PayloadError::field(&format!("config.{}", product.id_key()), "is required")
        })?;
        Ok(Config {
            product,
            account_id,
            app_id: setting(obj, "config", "app_id")?,
            api_base: api_base(obj)?,
            api_version: api_version(obj)?,
        })
    }
}

/// Secrets, from the channel's decrypted `credentials` JSON object:
/// `{"app_secret","verify_token","access_token"}` (the Page or Instagram access token).
#[derive(Clone)]
pub struct Credentials {
    /// Signs the webhooks (`X-Hub-Signature-256`).
    pub app_secret: String,
    /// Answers the subscription handshake.
    pub verify_token: String,
    /// Sends (`Authorization: Bearer …`).
    pub access_token: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("app_secret", &"<redacted>")
            .field("verify_token", &"<redacted>")
            .field("access_token", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    pub fn from_json(v: &Value) -> Result<Credentials, PayloadError> {
        let obj = v
            .as_object()
            .ok_or_else(|| PayloadError::field("credentials", "must be a JSON object"))?;
        let secret = |key: &str| -> Result<String, PayloadError> {
            let path = format!("credentials.{key}");
            match obj.get(key) {
                None | Some(Value::Null) => Err(PayloadError::field(&path, "is required")),
                Some(Value::String(s)) if s.trim().is_empty() => {
                    Err(PayloadError::field(&path, "must not be empty"))
                }
                Some(Value::String(s)) => Ok(s.clone()),
                Some(_) => Err(PayloadError::field(&path, "must be a string")),
            }
        };
        Ok(Credentials {
            app_secret: secret("app_secret")?,
            verify_token: secret("verify_token")?,
            access_token: secret("access_token")?,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Settings shared with WhatsApp.

/// An optional non-empty string setting (a number is taken as its decimal text: Meta ids are
/// numeric and easily written unquoted).
pub(crate) fn setting(
    obj: &Map<String, Value>,
    prefix: &str,
    key: &str,
) -> Result<Option<String>, PayloadError> {
    let path = format!("{prefix}.{key}");
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => {
            Err(PayloadError::field(&path, "must not be empty"))
        }
        Some(Value::String(s))
            if s.len() > 256 || s.chars().any(|c| c.is_control() || c == '/') =>
        {
            Err(PayloadError::field(&path, "must be a plain id"))
        }
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(Value::Number(n)) if n.as_u64().is_some() => Ok(Some(n.to_string())),
        Some(_) => Err(PayloadError::field(&path, "must be a string")),
    }
}

/// `config.api_base`: an `http(s)://` URL, default Graph's; without its trailing `/`.
pub(crate) fn api_base(obj: &Map<String, Value>) -> Result<String, PayloadError> {
    match obj.get("api_base") {
        None | Some(Value::Null) => Ok(DEFAULT_API_BASE.to_owned()),
        Some(Value::String(s))
            if (s.starts_with("https://") || s.starts_with("http://"))
                && !s.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Ok(s.trim_end_matches('/').to_owned())
        }
        Some(_) => Err(PayloadError::field(
            "config.api_base",
            "must be an http:// or https:// URL",
        )),
    }
}

/// `config.api_version`: `v<major>.<minor>`, default `v23.0`.
pub(crate) fn api_version(obj: &Map<String, Value>) -> Result<String, PayloadError> {
    match obj.get("api_version") {
        None | Some(Value::Null) => Ok(DEFAULT_API_VERSION.to_owned()),
        Some(Value::String(s))
            if s.len() > 1
                && s.len() <= 16
                && s.starts_with('v')
                && s.chars().skip(1).all(|c| c.is_ascii_digit() || c == '.') =>
        {
            Ok(s.clone())
        }
        Some(_) => Err(PayloadError::field(
            "config.api_version",
            "must look like v23.0",
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Signature and handshake (shared with WhatsApp).

fn mac256(secret: &[u8]) -> HmacSha256 {
    match HmacSha256::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts any key length"),
    }
}

fn mac1(secret: &[u8]) -> HmacSha1 {
    match HmacSha1::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts any key length"),
    }
}

/// `sha256=<lowercase hex HMAC-SHA256(app_secret, body)>`, as Meta signs (for test peers).
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    let mut mac = mac256(app_secret);
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// `sha1=<lowercase hex HMAC-SHA1(app_secret, body)>`, the legacy header (for test peers).
pub fn sign_sha1(app_secret: &[u8], body: &[u8]) -> String {
    let mut mac = mac1(app_secret);
    mac.update(body);
    format!("sha1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a webhook's signature over the raw body bytes (never a re-serialisation: Meta signs
/// its `\u00e4` and `\/` escapes), in constant time. `X-Hub-Signature-256: sha256=<hex>` is
/// preferred; the legacy `X-Hub-Signature: sha1=<hex>` is accepted only when the first is absent.
pub fn verify(
    app_secret: &[u8],
    body: &[u8],
    sig256_header: Option<&str>,
    sha1_header: Option<&str>,
) -> Result<(), SignatureError> {
    if let Some(header) = sig256_header {
        let sig = decode_signature(header, "sha256=", "X-Hub-Signature-256")?;
        let mut mac = mac256(app_secret);
        mac.update(body);
        return mac.verify_slice(&sig).map_err(|_| SignatureError::Mismatch);
    }
    if let Some(header) = sha1_header {
        let sig = decode_signature(header, "sha1=", "X-Hub-Signature")?;
        let mut mac = mac1(app_secret);
        mac.update(body);
        return mac.verify_slice(&sig).map_err(|_| SignatureError::Mismatch);
    }
    Err(SignatureError::Missing("X-Hub-Signature-256"))
}

fn decode_signature(
    header: &str,
    prefix: &str,
    name: &'static str,
) -> Result<Vec<u8>, SignatureError> {
    let form = if prefix == "sha1=" {
        "sha1=<hex>"
    } else {
        "sha256=<hex>"
    };
    let hex_sig = header
        .trim()
        .strip_prefix(prefix)
        .ok_or(SignatureError::Malformed(name, form))?;
    hex::decode(hex_sig).map_err(|_| SignatureError::Malformed(name, form))
}

/// Why a subscription handshake is refused (the server answers 403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    #[error("hub.mode is missing or not subscribe")]
    NotSubscribe,
    #[error("hub.verify_token does not match the channel's verify token")]
    TokenMismatch,
    #[error("hub.challenge is missing or not a plain token")]
    BadChallenge,
}

/// Answers Meta's subscription handshake `GET ?hub.mode=subscribe&hub.challenge=…&hub.verify_token=…`
/// (the raw query string, with or without its `?`): returns the challenge to echo as the body
/// of a 200 when the token matches (compared in constant time), else an error the server maps
/// to 403. The challenge (an integer in practice) is echoed only when it is 1–256 characters
/// of `[A-Za-z0-9._-]`, so nothing else can be reflected.
pub fn handshake(query: &str, verify_token: &str) -> Result<String, HandshakeError> {
    let query = query.strip_prefix('?').unwrap_or(query);
    let (mut mode, mut challenge, mut token) = (None, None, None);
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let slot = match k.as_ref() {
            "hub.mode" => &mut mode,
            "hub.challenge" => &mut challenge,
            "hub.verify_token" => &mut token,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(v.into_owned());
        }
    }
    if mode.as_deref() != Some("subscribe") {
        return Err(HandshakeError::NotSubscribe);
    }
    let token = token.unwrap_or_default();
    if verify_token.is_empty() || !constant_time_eq(token.as_bytes(), verify_token.as_bytes()) {
        return Err(HandshakeError::TokenMismatch);
    }
    match challenge {
        Some(c)
            if !c.is_empty()
                && c.len() <= 256
                && c.chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | '-')) =>
        {
            Ok(c)
        }
        _ => Err(HandshakeError::BadChallenge),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // Compare MACs of both under a fixed key: equal-length digests, compared in constant time,
    // so neither the content nor the length of the secret leaks through timing.
    let mut mac = mac256(b"switchboard-verify-token");
    mac.update(a);
    let digest = mac.finalize().into_bytes();
    let mut mac = mac256(b"switchboard-verify-token");
    mac.update(b);
    mac.verify_slice(&digest).is_ok()
}

/// Meta envelopes carry no id of their own: the server deduplicates on the body's SHA-256
/// (and the store on each message's id).
pub fn dedupe_key(_body: &[u8]) -> Option<String> {
    None
}

// ---------------------------------------------------------------------------------------------
// JSON reading helpers (shared with WhatsApp). Paths name the field at fault.

pub(crate) fn parse_json_object(body: &[u8]) -> Result<Map<String, Value>, PayloadError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(PayloadError::body("the body must be a JSON object")),
        Err(e) => Err(PayloadError::body(format!(
            "the body is not valid JSON: {e}"
        ))),
    }
}

/// A Meta envelope's `object` and `entry` batch.
pub(crate) fn envelope(root: &Map<String, Value>) -> Result<(&str, &[Value]), PayloadError> {
    let object = match root.get("object") {
        Some(Value::String(s)) => s.as_str(),
        None | Some(Value::Null) => return Err(PayloadError::field("object", "is required")),
        Some(_) => return Err(PayloadError::field("object", "must be a string")),
    };
    match root.get("entry") {
        Some(Value::Array(a)) => Ok((object, a)),
        None | Some(Value::Null) => Err(PayloadError::field("entry", "is required")),
        Some(_) => Err(PayloadError::field("entry", "must be an array")),
    }
}

pub(crate) fn as_obj<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, PayloadError> {
    v.as_object()
        .ok_or_else(|| PayloadError::field(path, "must be an object"))
}

pub(crate) fn opt_obj<'a>(
    o: &'a Map<String, Value>,
    key: &str,
    path: &str,
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

pub(crate) fn req_obj<'a>(
    o: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a Map<String, Value>, PayloadError> {
    opt_obj(o, key, path)?
        .ok_or_else(|| PayloadError::field(&format!("{path}.{key}"), "is required"))
}

pub(crate) fn opt_array<'a>(
    o: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a [Value], PayloadError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(PayloadError::field(
            &format!("{path}.{key}"),
            "must be an array",
        )),
    }
}

/// A string field (absent or null: `None`).
pub(crate) fn opt_str(
    o: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<String>, PayloadError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(PayloadError::field(
            &format!("{path}.{key}"),
            "must be a string",
        )),
    }
}

/// An id: a non-empty string, or an integer (some Meta payloads send ids unquoted).
pub(crate) fn opt_id(
    o: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<String>, PayloadError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => Ok(Some(n.to_string())),
        Some(_) => Err(PayloadError::field(
            &format!("{path}.{key}"),
            "must be an id string",
        )),
    }
}

pub(crate) fn req_id(
    o: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<String, PayloadError> {
    opt_id(o, key, path)?
        .ok_or_else(|| PayloadError::field(&format!("{path}.{key}"), "is required"))
}

pub(crate) fn opt_bool(o: &Map<String, Value>, key: &str) -> bool {
    matches!(o.get(key), Some(Value::Bool(true)))
}

/// A Unix time, as a number or a numeric string, in seconds or milliseconds (told apart by
/// size: Meta uses both, sometimes for the same field).
pub(crate) fn opt_time(
    o: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<Timestamp>, PayloadError> {
    let n = match o.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(_) => None,
    };
    let n =
        n.ok_or_else(|| PayloadError::field(&format!("{path}.{key}"), "must be a Unix time"))?;
    let t = if n >= 100_000_000_000 {
        Timestamp::from_unix_millis(n)
    } else {
        Timestamp::from_unix_secs(n)
    };
    t.map(Some)
        .ok_or_else(|| PayloadError::field(&format!("{path}.{key}"), "is out of range"))
}

fn author(id: String) -> Author {
    Author {
        external_id: id,
        name: None,
        handle: None,
        followers: None,
        verified: None,
    }
}

fn ignored(kind: impl Into<String>) -> ChannelEvent {
    ChannelEvent::Ignored { kind: kind.into() }
}

// ---------------------------------------------------------------------------------------------
// Parsing.

/// Parses a webhook body into events: every entry and every event in it, in order. Entries for
/// another account, envelopes for another product, and events not acted on become `Ignored`.
pub fn parse(body: &[u8], cfg: &Config) -> Result<Vec<ChannelEvent>, PayloadError> {
    let root = parse_json_object(body)?;
    let (object, entries) = envelope(&root)?;
    if object != cfg.product.object() {
        return Ok(vec![ignored("other_object")]);
    }
    let mut out = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        crate::salvage(&mut out, |out| {
            let path = format!("entry[{i}]");
            let e = as_obj(entry, &path)?;
            let id = req_id(e, "id", &path)?;
            if id != cfg.account_id {
                out.push(ignored("other_account"));
                return Ok(());
            }
            let entry_time = opt_time(e, "time", &path)?;
            for (j, ev) in opt_array(e, "messaging", &path)?.iter().enumerate() {
                let path = format!("{path}.messaging[{j}]");
                crate::salvage(out, |out| parse_messaging(ev, &path, cfg, entry_time, out));
            }
            for _ in opt_array(e, "standby", &path)? {
                // Another app has thread control (handover protocol): that app answers.
                out.push(ignored("standby"));
            }
            for (j, ch) in opt_array(e, "changes", &path)?.iter().enumerate() {
                let path = format!("{path}.changes[{j}]");
                crate::salvage(out, |out| parse_change(ch, &path, cfg, entry_time, out));
            }
            Ok(())
        });
    }
    Ok(out)
}

/// One `messaging[]` event (DMs, echoes, receipts, reactions, edits).
fn parse_messaging(
    ev: &Value,
    path: &str,
    cfg: &Config,
    entry_time: Option<Timestamp>,
    out: &mut Vec<ChannelEvent>,
) -> Result<(), PayloadError> {
    let e = as_obj(ev, path)?;
    let at = opt_time(e, "timestamp", path)?.or(entry_time);
    let party = |key: &str| -> Result<String, PayloadError> {
        let p = format!("{path}.{key}");
        req_id(req_obj(e, key, path)?, "id", &p)
    };
    if let Some(m) = e.get("message") {
        let p = format!("{path}.message");
        let m = as_obj(m, &p)?;
        let sender = party("sender")?;
        // Only echoes need the recipient (the customer); a private reply's echo may name the
        // comment instead of a person.
        let recipient = opt_id(
            req_obj(e, "recipient", path)?,
            "id",
            &format!("{path}.recipient"),
        )?;
        parse_message(m, &p, cfg, sender, recipient, at, out)
    } else if let Some(d) = e.get("delivery") {
        let p = format!("{path}.delivery");
        let d = as_obj(d, &p)?;
        let mut any = false;
        for (k, mid) in opt_array(d, "mids", &p)?.iter().enumerate() {
            let mid = match mid {
                Value::String(s) if !s.is_empty() => s.clone(),
                _ => {
                    return Err(PayloadError::field(
                        &format!("{p}.mids[{k}]"),
                        "must be a message id",
                    ));
                }
            };
            any = true;
            out.push(ChannelEvent::Receipt(Receipt {
                external_id: mid,
                state: DeliveryState::Delivered,
                error: None,
                at,
            }));
        }
        if !any {
            out.push(ignored("delivery"));
        }
        Ok(())
    } else if let Some(r) = e.get("read") {
        let p = format!("{path}.read");
        let r = as_obj(r, &p)?;
        // The reader is the customer; the thread is theirs.
        let thread = format!("dm:{}", party("sender")?);
        if let Some(up_to) = opt_time(r, "watermark", &p)? {
            out.push(ChannelEvent::ReadUpTo { thread, up_to });
        } else if let Some(mid) = opt_id(r, "mid", &p)? {
            // Instagram's messaging_seen names the message read, not a watermark: that one
            // is read, and so is everything sent before the customer saw it.
            out.push(ChannelEvent::Receipt(Receipt {
                external_id: mid,
                state: DeliveryState::Read,
                error: None,
                at,
            }));
            if let Some(up_to) = at {
                out.push(ChannelEvent::ReadUpTo { thread, up_to });
            }
        } else {
            out.push(ignored("read"));
        }
        Ok(())
    } else if let Some(r) = e.get("reaction") {
        let p = format!("{path}.reaction");
        let r = as_obj(r, &p)?;
        let sender = party("sender")?;
        if sender == cfg.account_id {
            out.push(ignored("own_reaction"));
            return Ok(());
        }
        let target = req_id(r, "mid", &p)?;
        let emoji = if opt_str(r, "action", &p)?.as_deref() == Some("unreact") {
            None
        } else {
            opt_str(r, "emoji", &p)?
                .filter(|s| !s.is_empty())
                .or(opt_str(r, "reaction", &p)?.filter(|s| !s.is_empty()))
        };
        out.push(ChannelEvent::Reaction(Reaction {
            target,
            author: author(sender),
            emoji,
            at,
        }));
        Ok(())
    } else if let Some(m) = e.get("message_edit") {
        let p = format!("{path}.message_edit");
        let m = as_obj(m, &p)?;
        if party("sender")? == cfg.account_id {
            out.push(ignored("own_edit"));
            return Ok(());
        }
        out.push(ChannelEvent::Edited {
            external_id: req_id(m, "mid", &p)?,
            text: opt_str(m, "text", &p)?.unwrap_or_default(),
            at,
        });
        Ok(())
    } else {
        // postback, referral, optin, account_linking, handover, policy_enforcement, …
        let kind = e
            .keys()
            .find(|k| !matches!(k.as_str(), "sender" | "recipient" | "timestamp"))
            .map_or("unknown", |k| k.as_str());
        out.push(ignored(kind));
        Ok(())
    }
}

fn parse_message(
    m: &Map<String, Value>,
    path: &str,
    cfg: &Config,
    sender: String,
    recipient: Option<String>,
    at: Option<Timestamp>,
    out: &mut Vec<ChannelEvent>,
) -> Result<(), PayloadError> {
    let mid = req_id(m, "mid", path)?;
    let is_echo = opt_bool(m, "is_echo") || sender == cfg.account_id;
    if opt_bool(m, "is_deleted") {
        out.push(if is_echo {
            ignored("own_delete")
        } else {
            ChannelEvent::Deleted {
                external_id: mid,
                at,
            }
        });
        return Ok(());
    }
    if opt_bool(m, "is_unsupported") {
        out.push(ignored("unsupported"));
        return Ok(());
    }
    let text = opt_str(m, "text", path)?.unwrap_or_default();
    let mut attachments = parse_attachments(m, path)?;
    let mut reply_to = None;
    if let Some(r) = opt_obj(m, "reply_to", path)? {
        let p = format!("{path}.reply_to");
        reply_to = opt_id(r, "mid", &p)?;
        // Instagram: a reply to the account's story.
        if let Some(story) = opt_obj(r, "story", &p)? {
            let sp = format!("{p}.story");
            attachments.push(Attachment {
                kind: "other".into(),
                url: opt_str(story, "url", &sp)?,
                provider_id: opt_id(story, "id", &sp)?,
                mime_type: None,
                name: Some("story".into()),
            });
        }
    }
    if is_echo {
        let Some(recipient) = recipient else {
            out.push(ignored("echo_without_recipient"));
            return Ok(());
        };
        let app_id = opt_id(m, "app_id", path)?;
        let other_app = matches!((&app_id, &cfg.app_id), (Some(a), Some(b)) if a != b);
        out.push(ChannelEvent::Echo(EchoMessage {
            external_id: mid,
            thread: format!("dm:{recipient}"),
            public: false,
            to: author(recipient),
            text,
            sent_at: at,
            attachments,
            reply_to,
            ours: opt_str(m, "metadata", path)?.filter(|s| !s.is_empty()),
            other_app,
        }));
    } else {
        out.push(ChannelEvent::Message(InboundMessage {
            external_id: mid,
            thread: format!("dm:{sender}"),
            public: false,
            author: author(sender),
            text,
            sent_at: at,
            attachments,
            reply_to,
        }));
    }
    Ok(())
}

/// `attachments[{type, payload{url, title, sticker_id, coordinates{lat,long}}}]`.
fn parse_attachments(m: &Map<String, Value>, path: &str) -> Result<Vec<Attachment>, PayloadError> {
    let mut out = Vec::new();
    for (k, a) in opt_array(m, "attachments", path)?.iter().enumerate() {
        let p = format!("{path}.attachments[{k}]");
        let a = as_obj(a, &p)?;
        let ty = opt_str(a, "type", &p)?.unwrap_or_default();
        let payload = opt_obj(a, "payload", &p)?;
        let pp = format!("{p}.payload");
        let (mut url, mut title, mut sticker_id, mut coords) = (None, None, None, None);
        if let Some(pl) = payload {
            url = opt_str(pl, "url", &pp)?;
            title = opt_str(pl, "title", &pp)?.filter(|s| !s.is_empty());
            sticker_id = opt_id(pl, "sticker_id", &pp)?;
            if let Some(c) = opt_obj(pl, "coordinates", &pp)? {
                let (lat, long) = (c.get("lat"), c.get("long"));
                if let (Some(Value::Number(lat)), Some(Value::Number(long))) = (lat, long) {
                    coords = Some(format!("geo:{lat},{long}"));
                }
            }
        }
        let kind = match ty.as_str() {
            "image" if sticker_id.is_some() => "sticker",
            "image" | "video" | "audio" | "file" | "sticker" | "location" => ty.as_str(),
            _ => "other",
        };
        if kind == "location" && coords.is_some() {
            url = coords;
        }
        if kind == "other" && title.is_none() && !ty.is_empty() {
            // share, story_mention, ig_reel, template, fallback…: say what it was.
            title = Some(ty.clone());
        }
        out.push(Attachment {
            kind: kind.to_owned(),
            url,
            provider_id: sticker_id,
            mime_type: None,
            name: title,
        });
    }
    Ok(out)
}

/// One `changes[]` item: Page feed comments, Instagram comments and mentions.
fn parse_change(
    ch: &Value,
    path: &str,
    cfg: &Config,
    entry_time: Option<Timestamp>,
    out: &mut Vec<ChannelEvent>,
) -> Result<(), PayloadError> {
    let c = as_obj(ch, path)?;
    let field = opt_str(c, "field", path)?.unwrap_or_default();
    let vp = format!("{path}.value");
    match (cfg.product, field.as_str()) {
        // The dashboard's "Test" button sends messaging events in this shape.
        (_, "messages") => match c.get("value") {
            Some(v) => parse_messaging(v, &vp, cfg, entry_time, out),
            None => Err(PayloadError::field(&vp, "is required")),
        },
        (Product::Messenger, "feed") => {
            parse_feed(req_obj(c, "value", path)?, &vp, cfg, entry_time, out)
        }
        (Product::Instagram, "comments" | "live_comments") => {
            parse_ig_comment(req_obj(c, "value", path)?, &vp, cfg, entry_time, out)
        }
        (Product::Instagram, "mentions") => {
            parse_ig_mention(req_obj(c, "value", path)?, &vp, entry_time, out)
        }
        (_, "") => {
            out.push(ignored("unknown"));
            Ok(())
        }
        (_, other) => {
            out.push(ignored(other));
            Ok(())
        }
    }
}

/// `feed` changes: `{item, verb, comment_id, post_id, parent_id, from{id,name}, message,
/// created_time, photo?, video?}`. Only comments are acted on.
fn parse_feed(
    v: &Map<String, Value>,
    path: &str,
    cfg: &Config,
    entry_time: Option<Timestamp>,
    out: &mut Vec<ChannelEvent>,
) -> Result<(), PayloadError> {
    let item = opt_str(v, "item", path)?.unwrap_or_default();
    if item != "comment" {
        out.push(ignored(format!("feed.{item}")));
        return Ok(());
    }
    let verb = opt_str(v, "verb", path)?.unwrap_or_default();
    let at = opt_time(v, "created_time", path)?.or(entry_time);
    let from = opt_obj(v, "from", path)?;
    let fp = format!("{path}.from");
    // Edits have carried `sender_id`/`sender_name` instead of `from`.
    let author_id = match from {
        Some(f) => opt_id(f, "id", &fp)?,
        None => opt_id(v, "sender_id", path)?,
    };
    let own = author_id.as_deref() == Some(cfg.account_id.as_str());
    match verb.as_str() {
        "add" => {
            let comment_id = req_id(v, "comment_id", path)?;
            let post_id = opt_id(v, "post_id", path)?;
            let parent_id = opt_id(v, "parent_id", path)?;
            let author_id = author_id.ok_or_else(|| PayloadError::field(&fp, "is required"))?;
            let name = match from {
                Some(f) => opt_str(f, "name", &fp)?,
                None => opt_str(v, "sender_name", path)?,
            }
            .filter(|s| !s.trim().is_empty());
            // A reply's parent is its top-level comment; a top-level comment's is the post.
            let reply_to = parent_id.filter(|p| Some(p) != post_id.as_ref());
            let root = reply_to.clone().unwrap_or_else(|| comment_id.clone());
            let text = opt_str(v, "message", path)?.unwrap_or_default();
            let mut attachments = Vec::new();
            for (key, kind) in [("photo", "image"), ("video", "video")] {
                if let Some(url) = opt_str(v, key, path)?.filter(|s| !s.is_empty()) {
                    attachments.push(Attachment {
                        kind: kind.into(),
                        url: Some(url),
                        provider_id: None,
                        mime_type: None,
                        name: None,
                    });
                }
            }
            let thread = format!("comment:{root}");
            if own {
                out.push(ChannelEvent::Echo(EchoMessage {
                    external_id: comment_id,
                    thread,
                    public: true,
                    to: author(UNKNOWN_AUTHOR.into()),
                    text,
                    sent_at: at,
                    attachments,
                    reply_to,
                    ours: None,
                    other_app: false,
                }));
            } else {
                out.push(ChannelEvent::Message(InboundMessage {
                    external_id: comment_id,
                    thread,
                    public: true,
                    author: Author {
                        name,
                        ..author(author_id)
                    },
                    text,
                    sent_at: at,
                    attachments,
                    reply_to,
                }));
            }
        }
        "edited" if own => out.push(ignored("own_edit")),
        "edited" => out.push(ChannelEvent::Edited {
            external_id: req_id(v, "comment_id", path)?,
            text: opt_str(v, "message", path)?.unwrap_or_default(),
            at,
        }),
        "remove" => out.push(ChannelEvent::Deleted {
            external_id: req_id(v, "comment_id", path)?,
            at,
        }),
        other => out.push(ignored(format!("feed.comment.{other}"))),
    }
    Ok(())
}

/// Instagram `comments` / `live_comments`: `{id, from{id,username}, text, media{id,
/// media_product_type}, parent_id?}`.
fn parse_ig_comment(
    v: &Map<String, Value>,
    path: &str,
    cfg: &Config,
    entry_time: Option<Timestamp>,
    out: &mut Vec<ChannelEvent>,
) -> Result<(), PayloadError> {
    let id = req_id(v, "id", path)?;
    let fp = format!("{path}.from");
    let from = req_obj(v, "from", path)?;
    let from_id = req_id(from, "id", &fp)?;
    let username = opt_str(from, "username", &fp)?.filter(|s| !s.trim().is_empty());
    let parent_id = opt_id(v, "parent_id", path)?;
    let thread = format!("comment:{}", parent_id.as_deref().unwrap_or(&id));
    let text = opt_str(v, "text", path)?.unwrap_or_default();
    if from_id == cfg.account_id {
        out.push(ChannelEvent::Echo(EchoMessage {
            external_id: id,
            thread,
            public: true,
            to: author(UNKNOWN_AUTHOR.into()),
            text,
            sent_at: entry_time,
            attachments: Vec::new(),
            reply_to: parent_id,
            ours: None,
            other_app: false,
        }));
    } else {
        out.push(ChannelEvent::Message(InboundMessage {
            external_id: id,
            thread,
            public: true,
            author: Author {
                handle: username,
                ..author(from_id)
            },
            text,
            sent_at: entry_time,
            attachments: Vec::new(),
            reply_to: parent_id,
        }));
    }
    Ok(())
}

/// Instagram `mentions`: `{media_id, comment_id?}` (a comment mention, or a caption mention
/// without `comment_id`). The webhook names neither the author nor the text.
fn parse_ig_mention(
    v: &Map<String, Value>,
    path: &str,
    entry_time: Option<Timestamp>,
    out: &mut Vec<ChannelEvent>,
) -> Result<(), PayloadError> {
    let media_id = req_id(v, "media_id", path)?;
    let comment_id = opt_id(v, "comment_id", path)?;
    let text = opt_str(v, "text", path)?
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| MENTION_TEXT.to_owned());
    let (external_id, thread) = match comment_id {
        Some(c) => (c.clone(), format!("mention:{media_id}:{c}")),
        None => (media_id.clone(), format!("mention:{media_id}")),
    };
    out.push(ChannelEvent::Message(InboundMessage {
        author: author(format!("{MENTION_AUTHOR_PREFIX}{external_id}")),
        external_id,
        thread,
        public: true,
        text,
        sent_at: entry_time,
        attachments: Vec::new(),
        reply_to: None,
    }));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Sending.

/// Where a reply goes, decided from the job's thread and flags.
#[derive(Debug, PartialEq, Eq)]
enum Route<'a> {
    /// A DM; `human_agent` when the standard 24-hour window has passed (7-day tag).
    Dm {
        recipient: &'a str,
        human_agent: bool,
    },
    /// A private reply to a comment: `recipient:{comment_id}`.
    PrivateReply { comment_id: &'a str },
    /// A public reply under a comment.
    PublicComment { comment_id: &'a str },
    /// A public reply to an Instagram @mention.
    Mention {
        media_id: &'a str,
        comment_id: Option<&'a str>,
    },
}

/// Microseconds since the customer's last message (or the comment), if known.
pub(crate) fn elapsed_since_inbound(job: &SendJob) -> Option<i64> {
    job.last_inbound_at
        .map(|t| job.now.as_unix_micros().saturating_sub(t.as_unix_micros()))
}

fn route<'a>(cfg: &Config, job: &'a SendJob) -> Result<Route<'a>, RuleError> {
    let product = cfg.product.as_str();
    let unknown = || {
        RuleError::new(
            "not_supported",
            format!("This conversation is not one {product} replies can be sent to."),
        )
    };
    let (kind, rest) = job.thread.split_once(':').ok_or_else(unknown)?;
    if rest.is_empty() {
        return Err(unknown());
    }
    let in_reply_to = job.in_reply_to.as_deref().filter(|s| !s.is_empty());
    match kind {
        "dm" => match elapsed_since_inbound(job) {
            None => Err(RuleError::new(
                "window_closed",
                format!(
                    "The customer has not written to you on {product}, and {product} only lets \
                     you answer people who wrote first. Wait for the customer to write."
                ),
            )),
            Some(e) if e < STANDARD_WINDOW => Ok(Route::Dm {
                recipient: rest,
                human_agent: false,
            }),
            Some(e) if e < SEVEN_DAYS => Ok(Route::Dm {
                recipient: rest,
                human_agent: true,
            }),
            Some(_) => Err(RuleError::new(
                "window_closed",
                format!(
                    "The customer last wrote more than 7 days ago; {product} allows no reply \
                     after that. Wait for the customer to write again."
                ),
            )),
        },
        "comment" => {
            let comment_id = in_reply_to.unwrap_or(rest);
            if !job.private_reply {
                return Ok(Route::PublicComment { comment_id });
            }
            match elapsed_since_inbound(job) {
                Some(e) if e < SEVEN_DAYS => Ok(Route::PrivateReply { comment_id }),
                _ => Err(RuleError::new(
                    "window_closed",
                    format!(
                        "{product} allows a private reply only within 7 days of the comment \
                         (and only one per comment); answer the comment publicly instead."
                    ),
                )),
            }
        }
        "mention" if cfg.product == Product::Instagram => {
            if job.private_reply {
                return Err(RuleError::new(
                    "not_supported",
                    "Instagram does not allow private replies to @mentions on other accounts' \
                     posts; reply publicly instead.",
                ));
            }
            let (media_id, comment_id) = match rest.split_once(':') {
                Some((m, c)) if !m.is_empty() && !c.is_empty() => (m, Some(c)),
                Some(_) => return Err(unknown()),
                None => (rest, None),
            };
            Ok(Route::Mention {
                media_id,
                comment_id,
            })
        }
        _ => Err(unknown()),
    }
}

/// The product's rules: the text must not be empty or longer than Messenger's 2000 or
/// Instagram's 1000 characters; DMs within 24 hours of the customer's last message (or within
/// 7 days, as a human agent's `HUMAN_AGENT`-tagged message); private replies to a comment
/// within 7 days of it; Instagram @mentions only publicly.
pub fn check_reply(cfg: &Config, job: &SendJob) -> Result<(), RuleError> {
    check_text(cfg.product.as_str(), cfg.product.max_chars(), &job.text)?;
    route(cfg, job).map(|_| ())
}

pub(crate) fn check_text(product: &str, max: usize, text: &str) -> Result<(), RuleError> {
    if text.trim().is_empty() {
        return Err(RuleError::new(
            "empty",
            "The reply is empty: write something to send.",
        ));
    }
    let n = text.chars().count();
    if n > max {
        return Err(RuleError::new(
            "too_long",
            format!(
                "{product} accepts at most {max} characters in one message and this reply has \
                 {n}: shorten it or split it into several replies."
            ),
        ));
    }
    Ok(())
}

pub(crate) fn json_request(url: String, token: &str, body: &Value) -> HttpRequest {
    HttpRequest {
        method: "POST",
        url,
        headers: vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("authorization".to_owned(), format!("Bearer {token}")),
        ],
        body: body.to_string().into_bytes(),
    }
}

/// Builds the Graph API request for a reply (after [`check_reply`]):
/// - DM: `POST {base}/{ver}/{account}/messages` `{"recipient":{"id"},"messaging_type":"RESPONSE","message":{"text"}}`,
///   with `"messaging_type":"MESSAGE_TAG","tag":"HUMAN_AGENT"` between 24 hours and 7 days after
///   the customer's last message. Messenger also gets `message.metadata` = Switchboard's message
///   id, which Meta hands back in the echo (`ours`).
/// - private reply: the same with `"recipient":{"comment_id"}`;
/// - public reply: `POST {base}/{ver}/{comment_id}/comments` (Messenger) or `/replies`
///   (Instagram) `{"message"}`; an @mention: `POST {base}/{ver}/{ig_id}/mentions`
///   `{"media_id","comment_id"?,"message"}`.
pub fn send_request(
    cfg: &Config,
    creds: &Credentials,
    job: &SendJob,
) -> Result<HttpRequest, RuleError> {
    check_reply(cfg, job)?;
    let base = format!("{}/{}", cfg.api_base, cfg.api_version);
    let account = path_segment(&cfg.account_id);
    let messages_url = format!("{base}/{account}/messages");
    let mut message = json!({ "text": job.text });
    if cfg.product == Product::Messenger && !job.message_id.is_empty() {
        message["metadata"] = json!(job.message_id);
    }
    let (url, body) = match route(cfg, job)? {
        Route::Dm {
            recipient,
            human_agent: false,
        } => (
            messages_url,
            json!({"recipient": {"id": recipient}, "messaging_type": "RESPONSE", "message": message}),
        ),
        Route::Dm {
            recipient,
            human_agent: true,
        } => (
            messages_url,
            json!({"recipient": {"id": recipient}, "messaging_type": "MESSAGE_TAG",
                   "tag": "HUMAN_AGENT", "message": message}),
        ),
        Route::PrivateReply { comment_id } => (
            messages_url,
            json!({"recipient": {"comment_id": comment_id}, "messaging_type": "RESPONSE",
                   "message": message}),
        ),
        Route::PublicComment { comment_id } => {
            let edge = match cfg.product {
                Product::Messenger => "comments",
                Product::Instagram => "replies",
            };
            (
                format!("{base}/{}/{edge}", path_segment(comment_id)),
                json!({ "message": job.text }),
            )
        }
        Route::Mention {
            media_id,
            comment_id,
        } => {
            let mut body = json!({ "media_id": media_id, "message": job.text });
            if let Some(c) = comment_id {
                body["comment_id"] = json!(c);
            }
            (format!("{base}/{account}/mentions"), body)
        }
    };
    Ok(json_request(url, &creds.access_token, &body))
}

/// An id as one URL path segment (Graph ids are digits and `_`; anything else is escaped).
pub(crate) fn path_segment(id: &str) -> String {
    percent_encoding::utf8_percent_encode(id, ID_SEGMENT).to_string()
}

/// Everything but letters, digits, `_`, `-` and `.` is escaped in an id path segment.
const ID_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'-')
    .remove(b'.');

// ---------------------------------------------------------------------------------------------
// Answers (Graph errors are shared with WhatsApp).

/// A Graph API error body: `{"error":{"message","type","code","error_subcode","error_data",
/// "is_transient","fbtrace_id"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct GraphError {
    pub code: Option<i64>,
    pub subcode: Option<i64>,
    pub message: Option<String>,
    pub details: Option<String>,
    pub transient: bool,
}

impl GraphError {
    pub(crate) fn parse(body: &[u8]) -> Option<GraphError> {
        let v: Value = serde_json::from_slice(body).ok()?;
        let e = v.get("error")?.as_object()?;
        let int = |k: &str| match e.get(k) {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        };
        let text = |v: Option<&Value>| {
            v.and_then(Value::as_str)
                .map(|s| clip(s, 300))
                .filter(|s| !s.is_empty())
        };
        Some(GraphError {
            code: int("code"),
            subcode: int("error_subcode"),
            message: text(e.get("message")).or_else(|| text(e.get("title"))),
            details: text(e.get("error_data").and_then(|d| d.get("details"))),
            transient: matches!(e.get("is_transient"), Some(Value::Bool(true))),
        })
    }

    /// `<code>: <message>[ (subcode N)][ — <details>]`.
    pub(crate) fn describe(&self) -> String {
        let mut s = match (self.code, &self.message) {
            (Some(c), Some(m)) => format!("{c}: {m}"),
            (Some(c), None) => format!("{c}: (no message)"),
            (None, Some(m)) => m.clone(),
            (None, None) => "unknown error".to_owned(),
        };
        if let Some(sub) = self.subcode {
            s.push_str(&format!(" (subcode {sub})"));
        }
        if let Some(d) = &self.details {
            s.push_str(" — ");
            s.push_str(d);
        }
        s
    }
}

/// At most `max` characters of `s`, control characters replaced by spaces.
pub(crate) fn clip(s: &str, max: usize) -> String {
    s.chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Whole seconds from a `Retry-After` header (HTTP dates are not read: no clock here).
pub(crate) fn retry_after_secs(header: Option<&str>) -> Option<u64> {
    header.and_then(|h| h.trim().parse::<u64>().ok())
}

/// The shared reading of a Graph answer that is not a success: throttling and transient
/// errors are retried, everything else fails with the code and message.
pub(crate) fn read_graph_failure(
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
    is_rate_limit: impl Fn(i64) -> bool,
    explain: impl Fn(&GraphError) -> Option<String>,
) -> SendOutcome {
    let after_secs = retry_after_secs(retry_after);
    let err = GraphError::parse(body);
    let error = match &err {
        Some(e) => explain(e).unwrap_or_else(|| e.describe()),
        None if body.is_empty() => format!("HTTP {status} with an empty body"),
        None => format!(
            "HTTP {status}: {}",
            clip(&String::from_utf8_lossy(body), 200)
        ),
    };
    let code = err.as_ref().and_then(|e| e.code);
    let throttled = status == 429 || code.is_some_and(is_rate_limit);
    let transient = err.as_ref().is_some_and(|e| e.transient)
        || matches!(code, Some(1 | 2))
        || status >= 500
        || status == 408
        // 1xx and 3xx: not an answer to act on; try again.
        || (status < 400 && !(200..300).contains(&status));
    if throttled || transient {
        SendOutcome::Retry { after_secs, error }
    } else {
        SendOutcome::Failed { error }
    }
}

fn is_meta_rate_limit(code: i64) -> bool {
    matches!(code, 4 | 17 | 32 | 613 | 80001..=80009)
}

/// Reads the Graph API's answer to a send: `{"recipient_id","message_id"}` (a DM or private
/// reply: `Sent`, receipts follow) or `{"id"}` (a comment: `Delivered`); throttling (HTTP 429,
/// codes 4, 17, 32, 613, 80001–80009), transient errors and 5xx are retried; error 10900 (the
/// comment was already answered privately) and other errors fail with `<code>: <message>`.
pub fn read_response(status: u16, retry_after: Option<&str>, body: &[u8]) -> SendOutcome {
    if (200..300).contains(&status) {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        if v.get("error").is_none() {
            let id = |k: &str| match v.get(k) {
                Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            };
            return match (id("message_id"), id("id")) {
                (Some(mid), _) => SendOutcome::Accepted {
                    external_id: Some(mid),
                    state: DeliveryState::Sent,
                },
                (None, Some(id)) => SendOutcome::Accepted {
                    external_id: Some(id),
                    state: DeliveryState::Delivered,
                },
                (None, None) => SendOutcome::Accepted {
                    external_id: None,
                    state: DeliveryState::Sent,
                },
            };
        }
    }
    read_graph_failure(status, retry_after, body, is_meta_rate_limit, |e| {
        (e.code == Some(ALREADY_REPLIED_PRIVATELY)).then(|| {
            format!(
                "{ALREADY_REPLIED_PRIVATELY}: this comment has already been answered privately \
                 (Meta allows one private reply per comment); reply publicly or wait for the \
                 customer to write ({})",
                e.message.as_deref().unwrap_or("no message")
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"app-secret";
    const PAGE: &str = "1111";
    const IG: &str = "17841400000000001";

    fn messenger() -> Config {
        Config::from_json(
            &json!({"page_id": PAGE, "app_id": "777"}),
            Product::Messenger,
        )
        .unwrap()
    }

    fn instagram() -> Config {
        Config::from_json(&json!({"ig_id": IG}), Product::Instagram).unwrap()
    }

    fn creds() -> Credentials {
        Credentials::from_json(
            &json!({"app_secret": "s", "verify_token": "vt", "access_token": "TOKEN"}),
        )
        .unwrap()
    }

    fn ts(secs: i64) -> Timestamp {
        Timestamp::from_unix_secs(secs).unwrap()
    }

    fn ms(millis: i64) -> Timestamp {
        Timestamp::from_unix_millis(millis).unwrap()
    }

    fn page_body(events: &str) -> String {
        format!(
            r#"{{"object":"page","entry":[{{"id":"{PAGE}","time":1700000000000,"messaging":[{events}]}}]}}"#
        )
    }

    fn ig_changes(changes: &str) -> String {
        format!(
            r#"{{"object":"instagram","entry":[{{"id":"{IG}","time":1700000000,"changes":[{changes}]}}]}}"#
        )
    }

    fn one(body: &str, cfg: &Config) -> ChannelEvent {
        let mut v = parse(body.as_bytes(), cfg).unwrap();
        assert_eq!(v.len(), 1, "{v:?}");
        v.remove(0)
    }

    fn job(thread: &str, text: &str, last_secs_ago: Option<i64>) -> SendJob {
        let now = ts(1_700_000_000);
        SendJob {
            message_id: "sb-msg-1".into(),
            thread: thread.into(),
            public: thread.starts_with("comment:") || thread.starts_with("mention:"),
            to: thread.rsplit(':').next().unwrap_or("").into(),
            in_reply_to: None,
            private_reply: false,
            template: None,
            text: text.into(),
            last_inbound_at: last_secs_ago.map(|s| ts(1_700_000_000 - s)),
            now,
        }
    }

    fn body_json(req: &HttpRequest) -> Value {
        serde_json::from_slice(&req.body).unwrap()
    }

    // --- config and credentials ---

    #[test]
    fn config_defaults_and_errors() {
        let c = messenger();
        assert_eq!(c.account_id, PAGE);
        assert_eq!(c.app_id.as_deref(), Some("777"));
        assert_eq!(c.api_base, "https://graph.facebook.com");
        assert_eq!(c.api_version, "v23.0");
        let c = Config::from_json(
            &json!({"ig_id": 17841400000000001u64, "api_base": "http://127.0.0.1:9/", "api_version": "v24.0"}),
            Product::Instagram,
        )
        .unwrap();
        assert_eq!(c.account_id, IG);
        assert_eq!(c.api_base, "http://127.0.0.1:9");
        assert_eq!(c.api_version, "v24.0");
        let table = [
            (json!({}), Product::Messenger, "config.page_id: is required"),
            (
                json!({"page_id": PAGE}),
                Product::Instagram,
                "config.ig_id: is required",
            ),
            (
                json!({"page_id": ""}),
                Product::Messenger,
                "config.page_id: must not be empty",
            ),
            (
                json!({"page_id": true}),
                Product::Messenger,
                "config.page_id: must be a string",
            ),
            (
                json!({"page_id": "1", "api_base": "ftp://x"}),
                Product::Messenger,
                "config.api_base: must be an http:// or https:// URL",
            ),
            (
                json!({"page_id": "1", "api_version": "23"}),
                Product::Messenger,
                "config.api_version: must look like v23.0",
            ),
            (
                json!([1]),
                Product::Messenger,
                "config: must be a JSON object",
            ),
        ];
        for (v, p, want) in table {
            assert_eq!(Config::from_json(&v, p).unwrap_err().message, want, "{v}");
        }
    }

    #[test]
    fn credentials_are_required_and_redacted() {
        let c = creds();
        let dbg = format!("{c:?}");
        assert!(
            !dbg.contains("TOKEN") && !dbg.contains("vt") && dbg.contains("<redacted>"),
            "{dbg}"
        );
        let err =
            Credentials::from_json(&json!({"app_secret": "s", "verify_token": "v"})).unwrap_err();
        assert_eq!(err.message, "credentials.access_token: is required");
        let err = Credentials::from_json(
            &json!({"app_secret": "s3cr3t", "verify_token": 5, "access_token": "t"}),
        )
        .unwrap_err();
        assert_eq!(err.message, "credentials.verify_token: must be a string");
        assert!(!err.message.contains("s3cr3t"));
    }

    // --- signature and handshake ---

    #[test]
    fn signature_256_accepted_and_rejected() {
        let body = br#"{"object":"page","entry":[{"id":"1","text":"\u00e4 \/"}]}"#;
        let sig = sign(SECRET, body);
        assert_eq!(verify(SECRET, body, Some(&sig), None), Ok(()));
        // A wrong legacy header is not consulted when the 256 header is there.
        assert_eq!(verify(SECRET, body, Some(&sig), Some("sha1=00")), Ok(()));
        let mut changed = body.to_vec();
        changed[10] ^= 1;
        assert_eq!(
            verify(SECRET, &changed, Some(&sig), None),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"other", body, Some(&sig), None),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, body, None, None),
            Err(SignatureError::Missing("X-Hub-Signature-256"))
        );
        for bad in ["", "sha1=abcd", "sha256=zz", "sha256"] {
            assert_eq!(
                verify(SECRET, body, Some(bad), None),
                Err(SignatureError::Malformed(
                    "X-Hub-Signature-256",
                    "sha256=<hex>"
                )),
                "{bad}"
            );
        }
        // A valid legacy signature does not rescue a wrong 256 one.
        let sha1 = sign_sha1(SECRET, body);
        assert_eq!(
            verify(SECRET, body, Some("sha256=00"), Some(&sha1)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn legacy_sha1_only_when_256_absent() {
        let body = b"{}";
        let sha1 = sign_sha1(SECRET, body);
        assert_eq!(verify(SECRET, body, None, Some(&sha1)), Ok(()));
        assert_eq!(
            verify(SECRET, b"{ }", None, Some(&sha1)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, body, None, Some("sha256=00")),
            Err(SignatureError::Malformed("X-Hub-Signature", "sha1=<hex>"))
        );
    }

    #[test]
    fn known_hmac_vectors() {
        // RFC 4231 test case 2 and RFC 2202 test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            sign_sha1(b"Jefe", b"what do ya want for nothing?"),
            "sha1=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }

    #[test]
    fn handshake_table() {
        let ok = handshake(
            "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=vt",
            "vt",
        );
        assert_eq!(ok, Ok("1158201444".to_owned()));
        assert_eq!(
            handshake(
                "?hub.verify_token=v%20t&hub.challenge=abc&hub.mode=subscribe",
                "v t"
            ),
            Ok("abc".to_owned())
        );
        let table = [
            (
                "hub.mode=subscribe&hub.challenge=1&hub.verify_token=nope",
                HandshakeError::TokenMismatch,
            ),
            (
                "hub.mode=subscribe&hub.challenge=1",
                HandshakeError::TokenMismatch,
            ),
            (
                "hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=vt",
                HandshakeError::NotSubscribe,
            ),
            (
                "hub.challenge=1&hub.verify_token=vt",
                HandshakeError::NotSubscribe,
            ),
            (
                "hub.mode=subscribe&hub.verify_token=vt",
                HandshakeError::BadChallenge,
            ),
            (
                "hub.mode=subscribe&hub.challenge=%3Cscript%3E&hub.verify_token=vt",
                HandshakeError::BadChallenge,
            ),
            ("", HandshakeError::NotSubscribe),
        ];
        for (q, want) in table {
            assert_eq!(handshake(q, "vt"), Err(want), "{q}");
        }
        // An empty configured token never matches.
        assert_eq!(
            handshake("hub.mode=subscribe&hub.challenge=1&hub.verify_token=", ""),
            Err(HandshakeError::TokenMismatch)
        );
    }

    // --- Messenger DMs ---

    #[test]
    fn messenger_text_attachments_quick_reply_and_reply_to() {
        let body = page_body(
            r#"{"sender":{"id":"PSID1"},"recipient":{"id":"1111"},"timestamp":1700000000123,
                "message":{"mid":"m_1","text":"Hi \u00e4","quick_reply":{"payload":"P"},"reply_to":{"mid":"m_0"},
                  "attachments":[{"type":"image","payload":{"url":"https://cdn/x.jpg"}},
                                 {"type":"image","payload":{"url":"https://cdn/s.png","sticker_id":369239263222822}},
                                 {"type":"file","payload":{"url":"https://cdn/f.pdf"}},
                                 {"type":"location","payload":{"coordinates":{"lat":52.5,"long":13.4}}},
                                 {"type":"fallback","payload":{"url":"https://x","title":"A link"}},
                                 {"type":"template","payload":{}}]}}"#,
        );
        let ChannelEvent::Message(m) = one(&body, &messenger()) else {
            panic!()
        };
        assert_eq!(m.external_id, "m_1");
        assert_eq!(m.thread, "dm:PSID1");
        assert!(!m.public);
        assert_eq!(m.author.external_id, "PSID1");
        assert_eq!(m.text, "Hi ä");
        assert_eq!(m.sent_at, Some(ms(1_700_000_000_123)));
        assert_eq!(m.reply_to.as_deref(), Some("m_0"));
        let kinds: Vec<_> = m.attachments.iter().map(|a| a.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["image", "sticker", "file", "location", "other", "other"]
        );
        assert_eq!(m.attachments[0].url.as_deref(), Some("https://cdn/x.jpg"));
        assert_eq!(
            m.attachments[1].provider_id.as_deref(),
            Some("369239263222822")
        );
        assert_eq!(m.attachments[3].url.as_deref(), Some("geo:52.5,13.4"));
        assert_eq!(m.attachments[4].name.as_deref(), Some("A link"));
        assert_eq!(m.attachments[5].name.as_deref(), Some("template"));
    }

    #[test]
    fn messenger_echo_ours_and_other_app() {
        let echo = |app: &str, meta: &str| {
            page_body(&format!(
                r#"{{"sender":{{"id":"1111"}},"recipient":{{"id":"PSID1"}},"timestamp":1700000000000,
                    "message":{{"is_echo":true,"app_id":{app},"metadata":{meta},"mid":"m_echo","text":"Hello"}}}}"#
            ))
        };
        let ChannelEvent::Echo(e) = one(&echo("777", "\"sb-msg-1\""), &messenger()) else {
            panic!()
        };
        assert_eq!(e.external_id, "m_echo");
        assert_eq!(e.thread, "dm:PSID1");
        assert_eq!(e.to.external_id, "PSID1");
        assert_eq!(e.text, "Hello");
        assert_eq!(e.ours.as_deref(), Some("sb-msg-1"));
        assert!(!e.other_app && !e.public);
        let ChannelEvent::Echo(e) = one(&echo("263902037430900", "null"), &messenger()) else {
            panic!()
        };
        assert!(e.other_app);
        assert_eq!(e.ours, None);
        // Without a configured app id nothing can be said.
        let cfg = Config::from_json(&json!({"page_id": PAGE}), Product::Messenger).unwrap();
        let ChannelEvent::Echo(e) = one(&echo("263902037430900", "null"), &cfg) else {
            panic!()
        };
        assert!(!e.other_app);
        // The echo of a private reply may name the comment, not the person.
        let body = page_body(
            r#"{"sender":{"id":"1111"},"recipient":{"comment_id":"P_C1"},"timestamp":1,
                "message":{"is_echo":true,"app_id":777,"mid":"m_pr","text":"We DMed you"}}"#,
        );
        assert_eq!(one(&body, &messenger()), ignored("echo_without_recipient"));
        // A customer's message does not need the recipient's id.
        let body = page_body(
            r#"{"sender":{"id":"PSID9"},"recipient":{},"timestamp":1,"message":{"mid":"m9","text":"x"}}"#,
        );
        assert_eq!(one(&body, &messenger()).kind(), "message");
    }

    #[test]
    fn messenger_receipts_reads_reactions_edits() {
        let body = page_body(
            r#"{"sender":{"id":"PSID1"},"recipient":{"id":"1111"},"timestamp":1700000001000,"delivery":{"mids":["m_a","m_b"],"watermark":1700000000900}},
               {"sender":{"id":"PSID1"},"recipient":{"id":"1111"},"timestamp":1700000001000,"delivery":{"watermark":1700000000900}},
               {"sender":{"id":"PSID1"},"recipient":{"id":"1111"},"timestamp":1700000002000,"read":{"watermark":1700000001500}},
               {"sender":{"id":"PSID1"},"recipient":{"id":"1111"},"timestamp":1700000003000,"reaction":{"mid":"m_a","action":"react","emoji":"\ud83d\ude22","reaction":"sad"}},
               {"sender":{"id":"PSID1"},"recipient":{"id":"1111"},"timestamp":1700000004000,"reaction":{"mid":"m_a","action":"unreact"}},
               {"sender":{"id":"PSID1"},"recipient":{"id":"1111"},"timestamp":1700000005000,"message_edit":{"mid":"m_1","text":"fixed","num_edit":1}}"#,
        );
        let ev = parse(body.as_bytes(), &messenger()).unwrap();
        let at = |millis| Some(ms(millis));
        assert_eq!(
            ev,
            vec![
                ChannelEvent::Receipt(Receipt {
                    external_id: "m_a".into(),
                    state: DeliveryState::Delivered,
                    error: None,
                    at: at(1_700_000_001_000)
                }),
                ChannelEvent::Receipt(Receipt {
                    external_id: "m_b".into(),
                    state: DeliveryState::Delivered,
                    error: None,
                    at: at(1_700_000_001_000)
                }),
                ChannelEvent::Ignored {
                    kind: "delivery".into()
                },
                ChannelEvent::ReadUpTo {
                    thread: "dm:PSID1".into(),
                    up_to: ms(1_700_000_001_500)
                },
                ChannelEvent::Reaction(Reaction {
                    target: "m_a".into(),
                    author: author("PSID1".into()),
                    emoji: Some("😢".into()),
                    at: at(1_700_000_003_000)
                }),
                ChannelEvent::Reaction(Reaction {
                    target: "m_a".into(),
                    author: author("PSID1".into()),
                    emoji: None,
                    at: at(1_700_000_004_000)
                }),
                ChannelEvent::Edited {
                    external_id: "m_1".into(),
                    text: "fixed".into(),
                    at: at(1_700_000_005_000)
                },
            ]
        );
    }

    #[test]
    fn unmapped_messaging_events_are_ignored() {
        let body = page_body(
            r#"{"sender":{"id":"PSID1"},"recipient":{"id":"1111"},"timestamp":1,"postback":{"title":"Get started","payload":"GS"}},
               {"sender":{"id":"PSID1"},"recipient":{"id":"1111"},"timestamp":1,"referral":{"ref":"x","source":"SHORTLINK"}},
               {"sender":{"user_ref":"u"},"recipient":{"id":"1111"},"timestamp":1,"optin":{"ref":"x"}},
               {"recipient":{"id":"1111"},"timestamp":1}"#,
        );
        let kinds: Vec<_> = parse(body.as_bytes(), &messenger())
            .unwrap()
            .into_iter()
            .map(|e| match e {
                ChannelEvent::Ignored { kind } => kind,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(kinds, ["postback", "referral", "optin", "unknown"]);
        // Standby events, other accounts, other objects, unknown change fields.
        let body = format!(
            r#"{{"object":"page","entry":[{{"id":"{PAGE}","time":1,"standby":[{{"sender":{{"id":"P"}}}}],
                 "changes":[{{"field":"ratings","value":{{}}}},{{"field":"feed","value":{{"item":"like","verb":"add"}}}}]}},
               {{"id":"9999","time":1,"messaging":[{{"bad":true}}]}}]}}"#
        );
        let ev = parse(body.as_bytes(), &messenger()).unwrap();
        let kinds: Vec<_> = ev
            .iter()
            .map(|e| match e {
                ChannelEvent::Ignored { kind } => kind.as_str(),
                _ => "?",
            })
            .collect();
        assert_eq!(kinds, ["standby", "ratings", "feed.like", "other_account"]);
        assert_eq!(
            one(r#"{"object":"instagram","entry":[]}"#, &messenger()),
            ignored("other_object")
        );
    }

    #[test]
    fn batched_entries_all_returned() {
        let body = format!(
            r#"{{"object":"page","entry":[
                {{"id":"{PAGE}","time":1700000000000,"messaging":[
                    {{"sender":{{"id":"A"}},"recipient":{{"id":"{PAGE}"}},"timestamp":1700000000000,"message":{{"mid":"m1","text":"one"}}}},
                    {{"sender":{{"id":"B"}},"recipient":{{"id":"{PAGE}"}},"timestamp":1700000000001,"message":{{"mid":"m2","text":"two"}}}}]}},
                {{"id":"{PAGE}","time":1700000000002,"messaging":[
                    {{"sender":{{"id":"A"}},"recipient":{{"id":"{PAGE}"}},"timestamp":1700000000002,"message":{{"mid":"m3","text":"three"}}}}]}}]}}"#
        );
        let ids: Vec<_> = parse(body.as_bytes(), &messenger())
            .unwrap()
            .into_iter()
            .map(|e| match e {
                ChannelEvent::Message(m) => (m.external_id, m.thread),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            ids,
            [
                ("m1".into(), "dm:A".into()),
                ("m2".into(), "dm:B".into()),
                ("m3".into(), "dm:A".into())
            ]
        );
    }

    #[test]
    fn malformed_bodies_name_the_field() {
        let cfg = messenger();
        let table: Vec<(String, Option<&str>)> = vec![
            ("not json".into(), None),
            (
                r#"{"object":"page","entry":[{"id":"1111","messaging":[{"sender"#.into(),
                None,
            ),
            ("[1]".into(), None),
            (r#"{"entry":[]}"#.into(), Some("object")),
            (r#"{"object":"page"}"#.into(), Some("entry")),
            (r#"{"object":"page","entry":{}}"#.into(), Some("entry")),
            (r#"{"object":"page","entry":[5]}"#.into(), Some("entry[0]")),
            (
                r#"{"object":"page","entry":[{"time":1}]}"#.into(),
                Some("entry[0].id"),
            ),
            (
                page_body(r#"{"recipient":{"id":"1"},"message":{"mid":"m","text":"x"}}"#),
                Some("entry[0].messaging[0].sender"),
            ),
            (
                page_body(r#"{"sender":{"id":"A"},"recipient":{"id":"1"},"message":{"text":"x"}}"#),
                Some("entry[0].messaging[0].message.mid"),
            ),
            (
                page_body(
                    r#"{"sender":{"id":"A"},"recipient":{"id":"1"},"message":{"mid":"m","text":7}}"#,
                ),
                Some("entry[0].messaging[0].message.text"),
            ),
            (
                page_body(
                    r#"{"sender":{"id":"A"},"recipient":{"id":"1"},"message":{"mid":"m","attachments":{}}}"#,
                ),
                Some("entry[0].messaging[0].message.attachments"),
            ),
            (
                page_body(
                    r#"{"sender":{"id":"A"},"recipient":{"id":"1"},"timestamp":"soon","message":{"mid":"m"}}"#,
                ),
                Some("entry[0].messaging[0].timestamp"),
            ),
            (
                page_body(
                    r#"{"sender":{"id":"A"},"recipient":{"id":"1"},"delivery":{"mids":[1]}}"#,
                ),
                Some("entry[0].messaging[0].delivery.mids[0]"),
            ),
            (
                page_body(
                    r#"{"sender":{"id":"A"},"recipient":{"id":"1"},"reaction":{"action":"react"}}"#,
                ),
                Some("entry[0].messaging[0].reaction.mid"),
            ),
        ];
        for (body, field) in table {
            let err = crate::first_problem(parse(body.as_bytes(), &cfg));
            assert_eq!(err.field.as_deref(), field, "{body}: {err}");
        }
    }

    // --- Messenger feed comments ---

    fn feed(value: &str) -> String {
        format!(
            r#"{{"object":"page","entry":[{{"id":"{PAGE}","time":1700000000,"changes":[{{"field":"feed","value":{value}}}]}}]}}"#
        )
    }

    #[test]
    fn feed_comments() {
        let cfg = messenger();
        let top = feed(
            r#"{"item":"comment","verb":"add","comment_id":"P_C1","post_id":"1111_P","parent_id":"1111_P",
                          "from":{"id":"U1","name":"Ann Lee"},"created_time":1700000100,"message":"Where is my order?","photo":"https://cdn/p.jpg"}"#,
        );
        let ChannelEvent::Message(m) = one(&top, &cfg) else {
            panic!()
        };
        assert_eq!(
            (m.external_id.as_str(), m.thread.as_str()),
            ("P_C1", "comment:P_C1")
        );
        assert!(m.public);
        assert_eq!(m.reply_to, None);
        assert_eq!(m.author.name.as_deref(), Some("Ann Lee"));
        assert_eq!(m.sent_at, Some(ts(1_700_000_100)));
        assert_eq!(m.attachments[0].kind, "image");
        let reply = feed(
            r#"{"item":"comment","verb":"add","comment_id":"P_C2","post_id":"1111_P","parent_id":"P_C1",
                            "from":{"id":"U2","name":"Bo"},"created_time":1700000200,"message":"me too"}"#,
        );
        let ChannelEvent::Message(m) = one(&reply, &cfg) else {
            panic!()
        };
        assert_eq!(
            (m.thread.as_str(), m.reply_to.as_deref()),
            ("comment:P_C1", Some("P_C1"))
        );
        let own = feed(
            r#"{"item":"comment","verb":"add","comment_id":"P_C3","post_id":"1111_P","parent_id":"P_C1",
                          "from":{"id":"1111","name":"The Page"},"created_time":1700000300,"message":"We are on it"}"#,
        );
        let ChannelEvent::Echo(e) = one(&own, &cfg) else {
            panic!()
        };
        assert_eq!(
            (e.thread.as_str(), e.reply_to.as_deref(), e.public),
            ("comment:P_C1", Some("P_C1"), true)
        );
        let edited = feed(
            r#"{"item":"comment","verb":"edited","comment_id":"P_C2","post_id":"1111_P","parent_id":"P_C1",
                             "sender_id":12345,"sender_name":"Bo","created_time":1700000400,"message":"me too!"}"#,
        );
        assert_eq!(
            one(&edited, &cfg),
            ChannelEvent::Edited {
                external_id: "P_C2".into(),
                text: "me too!".into(),
                at: Some(ts(1_700_000_400))
            }
        );
        let removed = feed(
            r#"{"item":"comment","verb":"remove","comment_id":"P_C2","post_id":"1111_P","parent_id":"P_C1","from":{"id":"U2"}}"#,
        );
        assert_eq!(
            one(&removed, &cfg),
            ChannelEvent::Deleted {
                external_id: "P_C2".into(),
                at: Some(ts(1_700_000_000))
            }
        );
        assert_eq!(
            one(
                &feed(r#"{"item":"comment","verb":"hide","comment_id":"X"}"#),
                &cfg
            ),
            ignored("feed.comment.hide")
        );
        assert_eq!(
            one(
                &feed(r#"{"item":"reaction","verb":"add","reaction_type":"like"}"#),
                &cfg
            ),
            ignored("feed.reaction")
        );
        assert_eq!(
            one(
                &feed(r#"{"item":"status","verb":"add","post_id":"1"}"#),
                &cfg
            ),
            ignored("feed.status")
        );
        let err = crate::first_problem(parse(
            feed(r#"{"item":"comment","verb":"add","comment_id":"X","message":"hi"}"#).as_bytes(),
            &cfg,
        ));
        assert_eq!(err.field.as_deref(), Some("entry[0].changes[0].value.from"));
        let err = crate::first_problem(parse(
            feed(r#"{"item":"comment","verb":"add","from":{"id":"U"}}"#).as_bytes(),
            &cfg,
        ));
        assert_eq!(
            err.field.as_deref(),
            Some("entry[0].changes[0].value.comment_id")
        );
    }

    // --- Instagram ---

    #[test]
    fn instagram_dms() {
        let cfg = instagram();
        let body = format!(
            r#"{{"object":"instagram","entry":[{{"id":"{IG}","time":1700000000000,"messaging":[
                {{"sender":{{"id":"IGSID1"}},"recipient":{{"id":"{IG}"}},"timestamp":1700000000000,
                  "message":{{"mid":"ig_m1","text":"hey","reply_to":{{"story":{{"url":"https://cdn/story","id":"S1"}}}},
                             "attachments":[{{"type":"share","payload":{{"url":"https://cdn/share"}}}}]}}}},
                {{"sender":{{"id":"{IG}"}},"recipient":{{"id":"IGSID1"}},"timestamp":1700000001000,
                  "message":{{"mid":"ig_m2","text":"hello","is_echo":true}}}},
                {{"sender":{{"id":"IGSID1"}},"recipient":{{"id":"{IG}"}},"timestamp":1700000002000,"read":{{"mid":"ig_m2"}}}},
                {{"sender":{{"id":"IGSID1"}},"recipient":{{"id":"{IG}"}},"timestamp":1700000003000,"message":{{"mid":"ig_m1","is_deleted":true}}}},
                {{"sender":{{"id":"IGSID1"}},"recipient":{{"id":"{IG}"}},"timestamp":1700000004000,"message":{{"mid":"ig_m3","is_unsupported":true}}}},
                {{"sender":{{"id":"IGSID1"}},"recipient":{{"id":"{IG}"}},"timestamp":1700000005000,"reaction":{{"mid":"ig_m2","action":"react","reaction":"love","emoji":"\u2764"}}}},
                {{"sender":{{"id":"IGSID1"}},"recipient":{{"id":"{IG}"}},"timestamp":1700000006000,"message_edit":{{"mid":"ig_m4","text":"edited","num_edit":1}}}}]}}]}}"#
        );
        let ev = parse(body.as_bytes(), &cfg).unwrap();
        assert_eq!(ev.len(), 8, "{ev:?}");
        let ChannelEvent::Message(m) = &ev[0] else {
            panic!()
        };
        assert_eq!(
            (m.thread.as_str(), m.text.as_str(), m.reply_to.as_deref()),
            ("dm:IGSID1", "hey", None)
        );
        assert_eq!(m.attachments.len(), 2);
        assert_eq!(
            (
                m.attachments[0].kind.as_str(),
                m.attachments[0].name.as_deref()
            ),
            ("other", Some("share"))
        );
        assert_eq!(
            (
                m.attachments[1].name.as_deref(),
                m.attachments[1].provider_id.as_deref()
            ),
            (Some("story"), Some("S1"))
        );
        let ChannelEvent::Echo(e) = &ev[1] else {
            panic!()
        };
        assert_eq!(
            (e.thread.as_str(), e.ours.as_deref(), e.other_app),
            ("dm:IGSID1", None, false)
        );
        assert_eq!(
            ev[2],
            ChannelEvent::Receipt(Receipt {
                external_id: "ig_m2".into(),
                state: DeliveryState::Read,
                error: None,
                at: Some(ms(1_700_000_002_000))
            })
        );
        assert_eq!(
            ev[3],
            ChannelEvent::ReadUpTo {
                thread: "dm:IGSID1".into(),
                up_to: ms(1_700_000_002_000)
            }
        );
        assert_eq!(
            ev[4],
            ChannelEvent::Deleted {
                external_id: "ig_m1".into(),
                at: Some(ms(1_700_000_003_000))
            }
        );
        assert_eq!(ev[5], ignored("unsupported"));
        let ChannelEvent::Reaction(r) = &ev[6] else {
            panic!()
        };
        assert_eq!(r.emoji.as_deref(), Some("❤"));
        assert_eq!(
            ev[7],
            ChannelEvent::Edited {
                external_id: "ig_m4".into(),
                text: "edited".into(),
                at: Some(ms(1_700_000_006_000))
            }
        );
    }

    #[test]
    fn instagram_comments_and_mentions() {
        let cfg = instagram();
        let body = ig_changes(&format!(
            r#"{{"field":"comments","value":{{"id":"C1","from":{{"id":"IGSID1","username":"ann"}},"text":"nice","media":{{"id":"M1","media_product_type":"FEED"}}}}}},
               {{"field":"live_comments","value":{{"id":"C2","from":{{"id":"IGSID2","username":"bo"}},"text":"+1","parent_id":"C1","media":{{"id":"M1"}}}}}},
               {{"field":"comments","value":{{"id":"C3","from":{{"id":"{IG}","username":"brand"}},"text":"thanks!","parent_id":"C1","media":{{"id":"M1"}}}}}},
               {{"field":"mentions","value":{{"media_id":"M9","comment_id":"C9"}}}},
               {{"field":"mentions","value":{{"media_id":"M8"}}}},
               {{"field":"story_insights","value":{{"media_id":"M7","reach":1}}}}"#
        ));
        let ev = parse(body.as_bytes(), &cfg).unwrap();
        assert_eq!(ev.len(), 6);
        let ChannelEvent::Message(c1) = &ev[0] else {
            panic!()
        };
        assert_eq!(
            (c1.thread.as_str(), c1.public, c1.author.handle.as_deref()),
            ("comment:C1", true, Some("ann"))
        );
        assert_eq!(c1.sent_at, Some(ts(1_700_000_000)));
        let ChannelEvent::Message(c2) = &ev[1] else {
            panic!()
        };
        assert_eq!(
            (c2.thread.as_str(), c2.reply_to.as_deref()),
            ("comment:C1", Some("C1"))
        );
        let ChannelEvent::Echo(c3) = &ev[2] else {
            panic!()
        };
        assert_eq!(
            (c3.external_id.as_str(), c3.thread.as_str(), c3.public),
            ("C3", "comment:C1", true)
        );
        let ChannelEvent::Message(m1) = &ev[3] else {
            panic!()
        };
        assert_eq!(
            (
                m1.external_id.as_str(),
                m1.thread.as_str(),
                m1.text.as_str()
            ),
            ("C9", "mention:M9:C9", MENTION_TEXT)
        );
        assert_eq!(
            m1.author.external_id, "mention-author:C9",
            "a contact per mention"
        );
        let ChannelEvent::Message(m2) = &ev[4] else {
            panic!()
        };
        assert_eq!(
            (m2.external_id.as_str(), m2.thread.as_str()),
            ("M8", "mention:M8")
        );
        assert_eq!(ev[5], ignored("story_insights"));
        let err = crate::first_problem(parse(
            ig_changes(r#"{"field":"comments","value":{"id":"C1","text":"x"}}"#).as_bytes(),
            &cfg,
        ));
        assert_eq!(err.field.as_deref(), Some("entry[0].changes[0].value.from"));
        let err = crate::first_problem(parse(
            ig_changes(r#"{"field":"mentions","value":{"comment_id":"C"}}"#).as_bytes(),
            &cfg,
        ));
        assert_eq!(
            err.field.as_deref(),
            Some("entry[0].changes[0].value.media_id")
        );
    }

    #[test]
    fn dashboard_test_messages_in_changes() {
        let body = ig_changes(&format!(
            r#"{{"field":"messages","value":{{"sender":{{"id":"IGSID1"}},"recipient":{{"id":"{IG}"}},"timestamp":"1700000000","message":{{"mid":"t1","text":"test"}}}}}}"#
        ));
        let ChannelEvent::Message(m) = one(&body, &instagram()) else {
            panic!()
        };
        assert_eq!(
            (m.external_id.as_str(), m.sent_at),
            ("t1", Some(ts(1_700_000_000)))
        );
    }

    // --- rules and sends ---

    #[test]
    fn rules_table() {
        let (fb, ig) = (messenger(), instagram());
        let h = 3600;
        let table: Vec<(&Config, SendJob, Result<(), &str>)> = vec![
            (&fb, job("dm:P", "hi", Some(h)), Ok(())),
            (&fb, job("dm:P", "hi", Some(30 * h)), Ok(())),
            (
                &fb,
                job("dm:P", "hi", Some(7 * 24 * h)),
                Err("window_closed"),
            ),
            (&fb, job("dm:P", "hi", None), Err("window_closed")),
            (&fb, job("dm:P", "  ", Some(h)), Err("empty")),
            (&fb, job("dm:P", &"é".repeat(2000), Some(h)), Ok(())),
            (
                &fb,
                job("dm:P", &"é".repeat(2001), Some(h)),
                Err("too_long"),
            ),
            (&ig, job("dm:P", &"é".repeat(1000), Some(h)), Ok(())),
            (
                &ig,
                job("dm:P", &"é".repeat(1001), Some(h)),
                Err("too_long"),
            ),
            (&fb, job("comment:C1", "hi", Some(300 * 24 * h)), Ok(())),
            (
                &fb,
                SendJob {
                    private_reply: true,
                    ..job("comment:C1", "hi", Some(6 * 24 * h))
                },
                Ok(()),
            ),
            (
                &fb,
                SendJob {
                    private_reply: true,
                    ..job("comment:C1", "hi", Some(8 * 24 * h))
                },
                Err("window_closed"),
            ),
            (&ig, job("mention:M1:C1", "hi", None), Ok(())),
            (
                &ig,
                SendJob {
                    private_reply: true,
                    ..job("mention:M1:C1", "hi", Some(h))
                },
                Err("not_supported"),
            ),
            (&fb, job("mention:M1", "hi", None), Err("not_supported")),
            (&fb, job("post:1", "hi", Some(h)), Err("not_supported")),
            (&fb, job("dm:", "hi", Some(h)), Err("not_supported")),
        ];
        for (cfg, j, want) in table {
            let got = check_reply(cfg, &j).map_err(|e| e.code);
            assert_eq!(
                got,
                want,
                "{} {:?} {}",
                j.thread,
                j.last_inbound_at,
                j.text.len()
            );
        }
        let err = check_reply(&fb, &job("dm:P", "hi", Some(8 * 24 * h))).unwrap_err();
        assert!(err.message.contains("7 days"), "{}", err.message);
    }

    #[test]
    fn messenger_dm_requests() {
        let (cfg, creds) = (messenger(), creds());
        let req = send_request(&cfg, &creds, &job("dm:PSID1", "Hello", Some(60))).unwrap();
        assert_eq!(req.method, "POST");
        assert_eq!(req.url, "https://graph.facebook.com/v23.0/1111/messages");
        assert_eq!(
            req.headers,
            vec![
                ("content-type".to_owned(), "application/json".to_owned()),
                ("authorization".to_owned(), "Bearer TOKEN".to_owned()),
            ]
        );
        assert_eq!(
            body_json(&req),
            json!({"recipient":{"id":"PSID1"},"messaging_type":"RESPONSE","message":{"text":"Hello","metadata":"sb-msg-1"}})
        );
        let req =
            send_request(&cfg, &creds, &job("dm:PSID1", "Late", Some(2 * 24 * 3600))).unwrap();
        assert_eq!(
            body_json(&req),
            json!({"recipient":{"id":"PSID1"},"messaging_type":"MESSAGE_TAG","tag":"HUMAN_AGENT","message":{"text":"Late","metadata":"sb-msg-1"}})
        );
        assert!(
            send_request(
                &cfg,
                &creds,
                &job("dm:PSID1", "Too late", Some(8 * 24 * 3600))
            )
            .is_err()
        );
        assert!(!format!("{req:?}").contains("TOKEN"));
    }

    #[test]
    fn comment_requests() {
        let (fb, ig, creds) = (messenger(), instagram(), creds());
        let j = SendJob {
            in_reply_to: Some("P_C2".into()),
            ..job("comment:P_C1", "Thanks", Some(60))
        };
        let req = send_request(&fb, &creds, &j).unwrap();
        assert_eq!(req.url, "https://graph.facebook.com/v23.0/P_C2/comments");
        assert_eq!(body_json(&req), json!({"message":"Thanks"}));
        let req = send_request(&ig, &creds, &job("comment:C1", "Thanks", None)).unwrap();
        assert_eq!(req.url, "https://graph.facebook.com/v23.0/C1/replies");
        assert_eq!(body_json(&req), json!({"message":"Thanks"}));
        let j = SendJob {
            private_reply: true,
            in_reply_to: Some("P_C2".into()),
            ..job("comment:P_C1", "DM you", Some(3600))
        };
        let req = send_request(&fb, &creds, &j).unwrap();
        assert_eq!(req.url, "https://graph.facebook.com/v23.0/1111/messages");
        assert_eq!(
            body_json(&req),
            json!({"recipient":{"comment_id":"P_C2"},"messaging_type":"RESPONSE","message":{"text":"DM you","metadata":"sb-msg-1"}})
        );
        let j = SendJob {
            private_reply: true,
            ..job("comment:C1", "DM you", Some(3600))
        };
        let req = send_request(&ig, &creds, &j).unwrap();
        assert_eq!(
            req.url,
            format!("https://graph.facebook.com/v23.0/{IG}/messages")
        );
        assert_eq!(
            body_json(&req),
            json!({"recipient":{"comment_id":"C1"},"messaging_type":"RESPONSE","message":{"text":"DM you"}})
        );
        let req = send_request(&ig, &creds, &job("mention:M1:C1", "Hi!", None)).unwrap();
        assert_eq!(
            req.url,
            format!("https://graph.facebook.com/v23.0/{IG}/mentions")
        );
        assert_eq!(
            body_json(&req),
            json!({"media_id":"M1","comment_id":"C1","message":"Hi!"})
        );
        let req = send_request(&ig, &creds, &job("mention:M1", "Hi!", None)).unwrap();
        assert_eq!(body_json(&req), json!({"media_id":"M1","message":"Hi!"}));
        let cfg = Config::from_json(
            &json!({"page_id": PAGE, "api_base": "http://127.0.0.1:8080/"}),
            Product::Messenger,
        )
        .unwrap();
        let req = send_request(&cfg, &creds, &job("comment:a/b", "x", None)).unwrap();
        assert_eq!(req.url, "http://127.0.0.1:8080/v23.0/a%2Fb/comments");
    }

    #[test]
    fn read_response_table() {
        use DeliveryState::*;
        let accepted = |id: &str, state| SendOutcome::Accepted {
            external_id: Some(id.into()),
            state,
        };
        assert_eq!(
            read_response(200, None, br#"{"recipient_id":"P","message_id":"m_1"}"#),
            accepted("m_1", Sent)
        );
        assert_eq!(
            read_response(200, None, br#"{"id":"C_9"}"#),
            accepted("C_9", Delivered)
        );
        assert_eq!(
            read_response(200, None, b"garbage"),
            SendOutcome::Accepted {
                external_id: None,
                state: Sent
            }
        );
        let rate = br#"{"error":{"message":"(#613) Calls to this api have exceeded the rate limit.","type":"OAuthException","code":613,"fbtrace_id":"x"}}"#;
        assert_eq!(
            read_response(400, None, rate),
            SendOutcome::Retry {
                after_secs: None,
                error: "613: (#613) Calls to this api have exceeded the rate limit.".into()
            }
        );
        for code in [4, 17, 32, 80001, 80006, 80009] {
            let b = format!(r#"{{"error":{{"message":"limit","code":{code}}}}}"#);
            assert!(
                matches!(
                    read_response(403, None, b.as_bytes()),
                    SendOutcome::Retry { .. }
                ),
                "{code}"
            );
        }
        assert_eq!(
            read_response(429, Some("30"), b""),
            SendOutcome::Retry {
                after_secs: Some(30),
                error: "HTTP 429 with an empty body".into()
            }
        );
        assert!(matches!(
            read_response(500, None, b"<html>oops</html>"),
            SendOutcome::Retry {
                after_secs: None,
                ..
            }
        ));
        assert!(matches!(
            read_response(
                400,
                None,
                br#"{"error":{"message":"x","code":2,"is_transient":true}}"#
            ),
            SendOutcome::Retry { .. }
        ));
        let window = br#"{"error":{"message":"(#10) This message is sent outside of allowed window.","type":"OAuthException","code":10,"error_subcode":2018278,"fbtrace_id":"x"}}"#;
        assert_eq!(
            read_response(400, None, window),
            SendOutcome::Failed {
                error:
                    "10: (#10) This message is sent outside of allowed window. (subcode 2018278)"
                        .into()
            }
        );
        let SendOutcome::Failed { error } = read_response(
            400,
            None,
            br#"{"error":{"message":"(#10900) Activity already replied to","code":10900}}"#,
        ) else {
            panic!()
        };
        assert!(
            error.starts_with("10900: this comment has already been answered privately"),
            "{error}"
        );
        let SendOutcome::Failed { error } = read_response(400, None, b"\x00\xffnot json") else {
            panic!()
        };
        assert!(error.starts_with("HTTP 400: "), "{error}");
        // A 200 carrying an error is an error.
        assert!(matches!(
            read_response(200, None, br#"{"error":{"message":"bad","code":100}}"#),
            SendOutcome::Failed { .. }
        ));
    }
}

//! The web chat channel's rules, without I/O: its settings, which pages may embed it (the
//! origin allow-list), and who a visitor is.
//!
//! A visitor is one of:
//! - **anonymous**: the server gives them a token, `v1.<visitor id>.<mac>`, where the MAC is
//!   HMAC-SHA256 of the id under the channel's `widget_secret`; whoever holds the token is
//!   that visitor again (a reload, another tab);
//! - **signed in on the customer's site**, proven by `identifier` and `identifier_hash =
//!   hex(HMAC-SHA256(widget_secret, identifier))` computed by the site's server;
//! - or by a short-lived **HS256 JWT** signed with `widget_secret` (`sub` required; `exp`
//!   required and at most [`MAX_JWT_LIFETIME_SECS`] ahead; `name` and `email` optional).
//!
//! A signed-in visitor's identity is `user:<identifier>`, so their chats join the same contact
//! and timeline every time, on every device.

use crate::PayloadError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;
use switchboard_core::Timestamp;
use switchboard_core::schedule::{BusinessHours, HoursSpec};

type HmacSha256 = Hmac<Sha256>;

/// The longest a JWT may still be valid for when it is presented.
pub const MAX_JWT_LIFETIME_SECS: i64 = 3600;

/// Whether visitors are asked for their name and e-mail before chatting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreChat {
    Off,
    Optional,
    Required,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `https://shop.example`, or `https://*.shop.example` for its subdomains; empty: none
    /// (the widget works nowhere until an admin lists a site).
    pub allowed_origins: Vec<String>,
    pub greeting: Option<String>,
    /// `#rrggbb`.
    pub color: String,
    /// `right` or `left`.
    pub position: String,
    pub prechat: PreChat,
    /// Minutes without an answer before the widget offers to continue by e-mail (0: offer it
    /// with the first message).
    pub offline_after_minutes: u32,
    pub max_message_chars: usize,
    pub max_attachment_bytes: usize,
    /// When the team answers chats; `None`: always. Outside them the widget says when the team
    /// is back and asks for an e-mail address.
    pub hours: Option<BusinessHours>,
    /// The e-mail channel that mails replies to visitors who left an address and are gone.
    pub email_channel_id: Option<String>,
}

fn field<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

impl Config {
    pub fn from_json(v: &Value) -> Result<Config, PayloadError> {
        let obj = v
            .as_object()
            .ok_or_else(|| PayloadError::field("config", "must be a JSON object"))?;
        let allowed_origins = match field(obj, "allowed_origins") {
            None => Vec::new(),
            Some(Value::Array(list)) if list.len() <= 50 => list
                .iter()
                .map(|o| match o.as_str().map(parse_origin_pattern) {
                    Some(Some(p)) => Ok(p),
                    _ => Err(PayloadError::field(
                        "config.allowed_origins",
                        format!("{o} is not an origin such as https://shop.example or https://*.shop.example"),
                    )),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(PayloadError::field(
                    "config.allowed_origins",
                    "must be a list of at most 50 origins",
                ));
            }
        };
        let text = |key: &str, max: usize| -> Result<Option<String>, PayloadError> {
            match field(obj, key) {
                None => Ok(None),
                Some(Value::String(s)) if s.chars().count() <= max && !s.contains('\0') => {
                    Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty()))
                }
                Some(_) => Err(PayloadError::field(
                    &format!("config.{key}"),
                    format!("must be text of at most {max} characters"),
                )),
            }
        };
        let color = text("color", 7)?.unwrap_or_else(|| "#1f6feb".into());
        if !(color.len() == 7
            && color.starts_with('#')
            && color[1..].bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(PayloadError::field(
                "config.color",
                "must be a colour such as #1f6feb",
            ));
        }
        let position = text("position", 5)?.unwrap_or_else(|| "right".into());
        if position != "right" && position != "left" {
            return Err(PayloadError::field(
                "config.position",
                "must be right or left",
            ));
        }
        let prechat = match text("prechat", 8)?.as_deref() {
            None | Some("off") => PreChat::Off,
            Some("optional") => PreChat::Optional,
            Some("required") => PreChat::Required,
            Some(_) => {
                return Err(PayloadError::field(
                    "config.prechat",
                    "must be off, optional or required",
                ));
            }
        };
        let number = |key: &str, default: u64, max: u64| match field(obj, key) {
            None => Ok(default),
            Some(Value::Number(n)) if n.as_u64().is_some_and(|n| (1..=max).contains(&n)) => {
                Ok(n.as_u64().unwrap_or(default))
            }
            Some(_) => Err(PayloadError::field(
                &format!("config.{key}"),
                format!("must be a whole number from 1 to {max}"),
            )),
        };
        let hours = match field(obj, "hours") {
            None => None,
            Some(v) => {
                let spec: HoursSpec = serde_json::from_value(v.clone()).map_err(|e| {
                    PayloadError::field("config.hours", format!("is not business hours: {e}"))
                })?;
                Some(
                    BusinessHours::from_spec(&spec)
                        .map_err(|e| PayloadError::field("config.hours", e.to_string()))?,
                )
            }
        };
        let email_channel_id = match text("email_channel_id", 64)? {
            None => None,
            Some(id) => Some(uuid_like(&id).ok_or_else(|| {
                PayloadError::field(
                    "config.email_channel_id",
                    "must be the id of an e-mail channel",
                )
            })?),
        };
        let offline_after_minutes = match field(obj, "offline_after_minutes") {
            Some(Value::Number(n)) if n.as_u64() == Some(0) => 0,
            _ => number("offline_after_minutes", 5, 24 * 60)? as u32,
        };
        Ok(Config {
            allowed_origins,
            greeting: text("greeting", 500)?,
            color: color.to_lowercase(),
            position,
            prechat,
            offline_after_minutes,
            max_message_chars: number("max_message_chars", 5000, 20_000)? as usize,
            max_attachment_bytes: number("max_attachment_bytes", 10 << 20, 25 << 20)? as usize,
            hours,
            email_channel_id,
        })
    }

    /// Whether the team answers chats at `now`, and if not, when it is back (`None`: not in the
    /// next ten years).
    pub fn availability(&self, now: Timestamp) -> (bool, Option<Timestamp>) {
        match &self.hours {
            None => (true, Some(now)),
            Some(h) if h.is_open(now) => (true, Some(now)),
            Some(h) => (false, h.next_open(now)),
        }
    }

    /// Whether a page at `origin` (the browser's `Origin` header) may use the widget.
    pub fn origin_allowed(&self, origin: &str) -> bool {
        let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
        let Some((scheme, host)) = origin.split_once("://") else {
            return false;
        };
        self.allowed_origins.iter().any(|p| {
            let Some((p_scheme, p_host)) = p.split_once("://") else {
                return false;
            };
            if p_scheme != scheme {
                return false;
            }
            match p_host.strip_prefix("*.") {
                Some(parent) => host
                    .strip_suffix(parent)
                    .is_some_and(|sub| sub.ends_with('.') && sub.len() > 1),
                None => host == p_host,
            }
        })
    }
}

/// A UUID in its hyphenated form, lower-cased.
fn uuid_like(s: &str) -> Option<String> {
    let s = s.trim().to_ascii_lowercase();
    let groups: Vec<&str> = s.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    (groups.len() == 5
        && groups
            .iter()
            .zip(lens)
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit())))
    .then_some(s)
}

/// `https://shop.example[:port]` or `https://*.shop.example`, lower-cased; no path.
fn parse_origin_pattern(s: &str) -> Option<String> {
    let s = s.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, host) = s.split_once("://")?;
    let host_ok = !host.is_empty()
        && !host.contains('/')
        && host
            .trim_start_matches("*.")
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b':');
    ((scheme == "https" || scheme == "http") && host_ok).then_some(s)
}

/// The widget's secret (`credentials.widget_secret`): signs visitor tokens and checks the
/// customer site's identifier hashes and JWTs. At least 16 characters.
#[derive(Clone)]
pub struct Credentials {
    pub widget_secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("widget_secret", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    pub fn from_json(v: &Value) -> Result<Credentials, PayloadError> {
        match v.get("widget_secret") {
            Some(Value::String(s)) if s.chars().count() >= 16 && s.len() <= 512 => {
                Ok(Credentials {
                    widget_secret: s.clone(),
                })
            }
            None | Some(Value::Null) => Err(PayloadError::field(
                "credentials.widget_secret",
                "is required",
            )),
            Some(_) => Err(PayloadError::field(
                "credentials.widget_secret",
                "must be a string of 16 to 512 characters",
            )),
        }
    }
}

/// What the chat server stores for one visitor message (the raw event's body).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChatMessage {
    /// `visitor:<id>` or `user:<identifier>`.
    pub visitor: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// The browser's id for the message: a resend carries the same one.
    pub client_id: String,
    pub text: String,
    /// When the server received it, in Unix milliseconds.
    pub sent_at: i64,
    /// Files the visitor uploaded before sending (see [`crate::chat_files`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<ChatAttachment>,
}

/// A file a chat message carries: the id of the upload, and what it is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChatAttachment {
    pub id: String,
    pub name: String,
    pub mime_type: String,
    pub size: u64,
}

impl ChatAttachment {
    /// Where agents fetch the file: the API's files route.
    pub fn to_core(&self) -> switchboard_core::Attachment {
        switchboard_core::Attachment {
            kind: if self.mime_type.starts_with("image/") {
                "image".into()
            } else {
                "file".into()
            },
            url: Some(format!("/api/v1/chat-files/{}", self.id)),
            provider_id: Some(self.id.clone()),
            mime_type: Some(self.mime_type.clone()),
            name: Some(self.name.clone()),
        }
    }
}

impl ChatMessage {
    /// The provider-style id of the message: unique per visitor and client id.
    pub fn external_id(&self) -> String {
        format!("{}:{}", self.visitor, self.client_id)
    }

    /// The conversation key of a visitor: one conversation per visitor.
    pub fn thread_of(visitor: &str) -> String {
        format!("chat:{visitor}")
    }
}

/// The events of a stored chat message.
pub fn parse(body: &[u8]) -> Result<Vec<switchboard_core::ChannelEvent>, PayloadError> {
    let m: ChatMessage = serde_json::from_slice(body)
        .map_err(|e| PayloadError::body(format!("not a chat message: {e}")))?;
    Ok(vec![switchboard_core::ChannelEvent::Message(
        switchboard_core::InboundMessage {
            external_id: m.external_id(),
            thread: ChatMessage::thread_of(&m.visitor),
            public: false,
            author: switchboard_core::Author {
                external_id: m.visitor.clone(),
                name: m.name.clone(),
                handle: m.email.clone(),
                followers: None,
                verified: None,
            },
            text: m.text.clone(),
            sent_at: switchboard_core::Timestamp::from_unix_millis(m.sent_at),
            attachments: m.attachments.iter().map(ChatAttachment::to_core).collect(),
            reply_to: None,
        },
    )])
}

/// A reply needs text within the limit, on a chat conversation.
pub fn check_reply(cfg: &Config, job: &crate::SendJob) -> Result<(), crate::RuleError> {
    crate::meta::check_text("Web chat", cfg.max_message_chars, &job.text)?;
    if !job.thread.starts_with("chat:") {
        return Err(crate::RuleError::new(
            "not_supported",
            "This conversation did not come from the web chat.",
        ));
    }
    Ok(())
}

fn mac(secret: &[u8], data: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length.
    let mut m = <HmacSha256 as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    m.update(data);
    m
}

/// A new anonymous visitor's token for `visitor_id` (the server picks the id).
pub fn visitor_token(secret: &[u8], visitor_id: &str) -> String {
    let sig = mac(secret, visitor_id.as_bytes()).finalize().into_bytes();
    format!("v1.{visitor_id}.{}", B64URL.encode(sig))
}

/// The visitor id in a token the server gave out, if the token is genuine.
pub fn check_visitor_token(secret: &[u8], token: &str) -> Option<String> {
    let rest = token.strip_prefix("v1.")?;
    let (id, sig) = rest.rsplit_once('.')?;
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return None;
    }
    let sig = B64URL.decode(sig).ok()?;
    mac(secret, id.as_bytes())
        .verify_slice(&sig)
        .ok()
        .map(|_| id.to_owned())
}

/// How long an upload token is good for.
pub const UPLOAD_TOKEN_SECS: i64 = 3600;

/// A token that lets the browser upload files as `visitor` (whoever they proved to be when
/// the chat opened) until `expires` (Unix seconds): `u1.<visitor, base64url>.<expires>.<mac>`.
pub fn upload_token(secret: &[u8], visitor: &str, expires: i64) -> String {
    let data = format!("upload\0{visitor}\0{expires}");
    let sig = mac(secret, data.as_bytes()).finalize().into_bytes();
    format!(
        "u1.{}.{expires}.{}",
        B64URL.encode(visitor.as_bytes()),
        B64URL.encode(sig)
    )
}

/// The visitor an upload token was given to, if it is genuine and not expired at `now`.
pub fn check_upload_token(secret: &[u8], token: &str, now: i64) -> Option<String> {
    let mut parts = token.strip_prefix("u1.")?.split('.');
    let (visitor, expires, sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let visitor = String::from_utf8(B64URL.decode(visitor).ok()?).ok()?;
    let expires: i64 = expires.parse().ok()?;
    let sig = B64URL.decode(sig).ok()?;
    let data = format!("upload\0{visitor}\0{expires}");
    mac(secret, data.as_bytes()).verify_slice(&sig).ok()?;
    (now < expires).then_some(visitor)
}

/// `identifier_hash == hex(HMAC-SHA256(secret, identifier))`, compared in constant time.
pub fn check_identifier(secret: &[u8], identifier: &str, identifier_hash: &str) -> bool {
    let Ok(given) = hex::decode(identifier_hash.trim()) else {
        return false;
    };
    !identifier.is_empty()
        && mac(secret, identifier.as_bytes())
            .verify_slice(&given)
            .is_ok()
}

/// Who a JWT says the visitor is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub sub: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub exp: i64,
}

/// Why a JWT is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the token is not a JWT (three base64url parts)")]
    Malformed,
    #[error("only HS256 tokens are accepted")]
    Algorithm,
    #[error("the signature does not match")]
    Signature,
    #[error("the token has no `sub`")]
    NoSubject,
    #[error("the token has no `exp`")]
    NoExpiry,
    #[error("the token has expired")]
    Expired,
    #[error("the token is valid for too long; at most {MAX_JWT_LIFETIME_SECS} seconds")]
    TooLong,
}

/// Checks an HS256 JWT signed with `secret` at `now` (Unix seconds).
pub fn check_jwt(secret: &[u8], token: &str, now: i64) -> Result<Claims, JwtError> {
    let mut parts = token.trim().split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header: Value = B64URL
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwtError::Malformed)?;
    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err(JwtError::Algorithm);
    }
    let sig = B64URL.decode(s).map_err(|_| JwtError::Malformed)?;
    mac(secret, format!("{h}.{p}").as_bytes())
        .verify_slice(&sig)
        .map_err(|_| JwtError::Signature)?;
    let claims: Value = B64URL
        .decode(p)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwtError::Malformed)?;
    let sub = match claims.get("sub") {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 200 => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(JwtError::NoSubject),
    };
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(JwtError::NoExpiry)?;
    if exp <= now {
        return Err(JwtError::Expired);
    }
    if exp - now > MAX_JWT_LIFETIME_SECS {
        return Err(JwtError::TooLong);
    }
    let text = |k: &str| {
        claims
            .get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty() && s.len() <= 200)
            .map(str::to_owned)
    };
    Ok(Claims {
        sub,
        name: text("name"),
        email: text("email"),
        exp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jwt(secret: &[u8], header: Value, claims: Value) -> String {
        let h = B64URL.encode(header.to_string());
        let p = B64URL.encode(claims.to_string());
        let sig = mac(secret, format!("{h}.{p}").as_bytes())
            .finalize()
            .into_bytes();
        format!("{h}.{p}.{}", B64URL.encode(sig))
    }

    #[test]
    fn settings_defaults_and_errors() {
        let c = Config::from_json(&json!({})).unwrap();
        assert_eq!(
            (c.color.as_str(), c.position.as_str(), c.prechat),
            ("#1f6feb", "right", PreChat::Off)
        );
        assert!(c.allowed_origins.is_empty() && !c.origin_allowed("https://shop.example"));
        for (bad, field) in [
            (
                json!({"allowed_origins": ["shop.example"]}),
                "config.allowed_origins",
            ),
            (
                json!({"allowed_origins": ["ftp://shop.example"]}),
                "config.allowed_origins",
            ),
            (
                json!({"allowed_origins": ["https://shop.example/path"]}),
                "config.allowed_origins",
            ),
            (
                json!({"allowed_origins": "https://shop.example"}),
                "config.allowed_origins",
            ),
            (json!({"color": "blue"}), "config.color"),
            (json!({"position": "top"}), "config.position"),
            (json!({"prechat": "maybe"}), "config.prechat"),
            (json!({"max_message_chars": 0}), "config.max_message_chars"),
            (json!({"greeting": "x".repeat(501)}), "config.greeting"),
        ] {
            assert_eq!(
                Config::from_json(&bad).unwrap_err().field.as_deref(),
                Some(field),
                "{bad}"
            );
        }
    }

    #[test]
    fn origins_match_exactly_or_as_subdomains() {
        let c = Config::from_json(&json!({"allowed_origins": [
            "https://Shop.example/", "https://*.brand.example", "http://localhost:8000"]}))
        .unwrap();
        for (origin, ok) in [
            ("https://shop.example", true),
            ("https://SHOP.example", true),
            ("http://shop.example", false),
            ("https://shop.example:8443", false),
            ("https://evil-shop.example", false),
            ("https://shop.example.evil.example", false),
            ("https://www.brand.example", true),
            ("https://a.b.brand.example", true),
            ("https://brand.example", false),
            ("https://evilbrand.example", false),
            ("http://localhost:8000", true),
            ("http://localhost:8001", false),
            ("null", false),
            ("", false),
        ] {
            assert_eq!(c.origin_allowed(origin), ok, "{origin}");
        }
    }

    #[test]
    fn upload_tokens_name_their_visitor_until_they_expire() {
        let t = upload_token(b"secret-secret-16", "user:ada@example.com", 1_000);
        assert_eq!(
            check_upload_token(b"secret-secret-16", &t, 999).as_deref(),
            Some("user:ada@example.com")
        );
        assert_eq!(check_upload_token(b"secret-secret-16", &t, 1_000), None);
        assert_eq!(check_upload_token(b"another-secret-16", &t, 999), None);
        // Moving the expiry or changing the visitor breaks the MAC.
        let later = t.replace(".1000.", ".9999.");
        assert_eq!(check_upload_token(b"secret-secret-16", &later, 999), None);
        let other = upload_token(b"secret-secret-16", "user:bob", 1_000);
        let (_, sig) = t.rsplit_once('.').unwrap();
        let (head, _) = other.rsplit_once('.').unwrap();
        assert_eq!(
            check_upload_token(b"secret-secret-16", &format!("{head}.{sig}"), 999),
            None
        );
        for junk in [
            "",
            "u1.",
            "u1.a.b",
            "u1.!!.1.x",
            "v1.abc.def",
            &format!("{t}.x"),
        ] {
            assert_eq!(
                check_upload_token(b"secret-secret-16", junk, 0),
                None,
                "{junk}"
            );
        }
    }

    #[test]
    fn hours_say_when_the_team_is_back() {
        let cfg = Config::from_json(&json!({
            "hours": {"timezone": "UTC", "mon": "09:00-17:00"},
            "offline_after_minutes": 0,
            "email_channel_id": "0190A4D0-C0DE-7000-8000-000000000ABC",
        }))
        .unwrap();
        assert_eq!(cfg.offline_after_minutes, 0);
        assert_eq!(
            cfg.email_channel_id.as_deref(),
            Some("0190a4d0-c0de-7000-8000-000000000abc")
        );
        // 2026-11-23 is a Monday.
        let monday_9 = Timestamp::from_unix_secs(1_795_424_400).unwrap();
        assert_eq!(cfg.availability(monday_9), (true, Some(monday_9)));
        let monday_18 = Timestamp::from_unix_secs(1_795_453_200).unwrap();
        let next_monday_9 = Timestamp::from_unix_secs(1_795_424_400 + 7 * 86_400).unwrap();
        assert_eq!(cfg.availability(monday_18), (false, Some(next_monday_9)));
        assert_eq!(
            Config::from_json(&json!({}))
                .unwrap()
                .availability(monday_18),
            (true, Some(monday_18))
        );
        for (bad, field) in [
            (
                json!({"hours": {"timezone": "Mars/Olympus", "mon": "09:00-17:00"}}),
                "config.hours",
            ),
            (
                json!({"hours": {"timezone": "UTC", "mon": "25:00-26:00"}}),
                "config.hours",
            ),
            (json!({"hours": "9 to 5"}), "config.hours"),
            (
                json!({"email_channel_id": "mail"}),
                "config.email_channel_id",
            ),
            (
                json!({"offline_after_minutes": 2000}),
                "config.offline_after_minutes",
            ),
        ] {
            let e = Config::from_json(&bad).expect_err(&bad.to_string());
            assert_eq!(e.field.as_deref(), Some(field), "{bad}");
        }
    }

    #[test]
    fn anonymous_tokens_and_identifier_hashes() {
        let secret = b"widget-secret";
        let t = visitor_token(secret, "0190a4d0-c0de-7000-8000-000000000abc");
        assert_eq!(
            check_visitor_token(secret, &t).as_deref(),
            Some("0190a4d0-c0de-7000-8000-000000000abc")
        );
        assert_eq!(check_visitor_token(b"other-secret", &t), None);
        let forged = t.replace("0abc", "0abd");
        assert_eq!(check_visitor_token(secret, &forged), None);
        assert_eq!(check_visitor_token(secret, "v1..x"), None);
        assert_eq!(check_visitor_token(secret, "garbage"), None);
        // The hash a customer's server computes, as Python's hmac would:
        // hmac.new(b"widget-secret", b"user-42", hashlib.sha256).hexdigest()
        let hash = hex::encode(mac(secret, b"user-42").finalize().into_bytes());
        assert!(check_identifier(secret, "user-42", &hash));
        assert!(check_identifier(secret, "user-42", &hash.to_uppercase()));
        assert!(!check_identifier(secret, "user-43", &hash));
        assert!(!check_identifier(secret, "", &hash));
        assert!(!check_identifier(secret, "user-42", "not hex"));
    }

    #[test]
    fn jwt_published_vector_and_rules() {
        // The HS256 example published at jwt.io, secret "your-256-bit-secret": the signature
        // checks; it has no `exp`, so it is refused for that.
        let published = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
        assert_eq!(
            check_jwt(b"your-256-bit-secret", published, 0),
            Err(JwtError::NoExpiry)
        );
        assert_eq!(
            check_jwt(b"another-secret", published, 0),
            Err(JwtError::Signature)
        );

        let secret = b"widget-secret";
        let now = 1_800_000_000;
        let hs = json!({"alg": "HS256", "typ": "JWT"});
        let ok = jwt(
            secret,
            hs.clone(),
            json!({"sub": "user-42", "name": "Ann", "email": "ann@example.com", "exp": now + 600}),
        );
        assert_eq!(
            check_jwt(secret, &ok, now),
            Ok(Claims {
                sub: "user-42".into(),
                name: Some("Ann".into()),
                email: Some("ann@example.com".into()),
                exp: now + 600
            })
        );
        assert_eq!(check_jwt(secret, &ok, now + 600), Err(JwtError::Expired));
        let long = jwt(secret, hs.clone(), json!({"sub": "u", "exp": now + 7200}));
        assert_eq!(check_jwt(secret, &long, now), Err(JwtError::TooLong));
        let none = jwt(
            secret,
            json!({"alg": "none"}),
            json!({"sub": "u", "exp": now + 60}),
        );
        assert_eq!(check_jwt(secret, &none, now), Err(JwtError::Algorithm));
        let no_sub = jwt(secret, hs.clone(), json!({"exp": now + 60}));
        assert_eq!(check_jwt(secret, &no_sub, now), Err(JwtError::NoSubject));
        let numeric = jwt(secret, hs, json!({"sub": 42, "exp": now + 60}));
        assert_eq!(
            check_jwt(secret, &numeric, now).map(|c| c.sub),
            Ok("42".into())
        );
        for bad in ["", "a.b", "a.b.c.d", "!!.??.**"] {
            assert_eq!(
                check_jwt(secret, bad, now),
                Err(JwtError::Malformed),
                "{bad}"
            );
        }
        // One changed byte in the claims breaks the signature.
        let mut parts: Vec<String> = ok.split('.').map(str::to_owned).collect();
        let claims = B64URL.encode(json!({"sub": "admin", "exp": now + 600}).to_string());
        parts[1] = claims;
        assert_eq!(
            check_jwt(secret, &parts.join("."), now),
            Err(JwtError::Signature)
        );
    }
}

//! Twilio Programmable Messaging (SMS/MMS, and WhatsApp through Twilio).
//!
//! Inbound: Twilio POSTs `application/x-www-form-urlencoded` fields to the URL configured on
//! the number or Messaging Service, signed in `X-Twilio-Signature` (see [`verify`]), and
//! expects TwiML back ([`twiml_empty`]). The same URL shape carries status callbacks for our
//! sends (`MessageStatus`, `ErrorCode`), which become receipts.
//!
//! Outbound: `POST {api_base}/2010-04-01/Accounts/{AccountSid}/Messages.json` with Basic auth
//! and form fields `To`, `From`/`MessagingServiceSid`, `Body`; the server adds
//! `StatusCallback` with [`with_status_callback`].
//!
//! Threads are `sms:<customer's address>` (`sms:+4917…`, or `sms:whatsapp:+4917…` for
//! WhatsApp through Twilio): one conversation per customer, never public.

use crate::{HttpRequest, PayloadError, RuleError, SendJob, SendOutcome, SignatureError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use switchboard_core::{Attachment, Author, ChannelEvent, DeliveryState, InboundMessage, Receipt};

/// The header Twilio signs webhooks in (lower case, as the server looks it up).
pub const SIGNATURE_HEADER: &str = "x-twilio-signature";
/// Twilio's REST API.
pub const DEFAULT_API_BASE: &str = "https://api.twilio.com";
/// Longest `Body` Twilio accepts, in characters.
pub const MAX_BODY_CHARS: usize = 1600;
/// Thread keys: `sms:<customer's address>`.
pub const THREAD_PREFIX: &str = "sms:";
/// Most media items read from one message (Twilio sends at most 10 per MMS).
const MAX_MEDIA: usize = 20;
/// WhatsApp's customer-service window, for WhatsApp sent through Twilio.
const WHATSAPP_WINDOW_MICROS: i64 = 24 * 3600 * 1_000_000;

type HmacSha1 = Hmac<Sha1>;

/// Non-secret settings, from the channel's `config` JSON object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `AC…`: the account the number belongs to; webhooks naming another account are refused.
    pub account_sid: String,
    /// The sending number (E.164), alphanumeric sender id or `whatsapp:+…` address.
    pub from: Option<String>,
    /// `MG…`: send through a Messaging Service (Twilio then picks the number).
    pub messaging_service_sid: Option<String>,
    /// `https://api.twilio.com` unless a test points it elsewhere; no trailing `/`.
    pub api_base: String,
}

impl Config {
    /// Reads `{"account_sid","from"|"messaging_service_sid","api_base"?}`.
    pub fn from_json(v: &Value) -> Result<Config, PayloadError> {
        let obj = &object(v, "config")?;
        let account_sid = required_str(obj, "config", "account_sid")?;
        if !is_sid(&account_sid, "AC") {
            return Err(PayloadError::field(
                "config.account_sid",
                "must be a Twilio account SID (AC followed by letters and digits)",
            ));
        }
        let from = optional_str(obj, "config", "from")?;
        let messaging_service_sid = optional_str(obj, "config", "messaging_service_sid")?;
        if let Some(sid) = &messaging_service_sid
            && !is_sid(sid, "MG")
        {
            return Err(PayloadError::field(
                "config.messaging_service_sid",
                "must be a Messaging Service SID (MG followed by letters and digits)",
            ));
        }
        if from.is_none() && messaging_service_sid.is_none() {
            return Err(PayloadError::field(
                "config.from",
                "is required (or config.messaging_service_sid)",
            ));
        }
        let api_base = api_base(obj, "config", DEFAULT_API_BASE)?;
        Ok(Config {
            account_sid,
            from,
            messaging_service_sid,
            api_base,
        })
    }
}

/// Secrets, from the channel's decrypted `credentials` JSON object.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Signs webhooks and, with the account SID, authenticates sends.
    pub auth_token: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("auth_token", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    /// Reads `{"auth_token"}`.
    pub fn from_json(v: &Value) -> Result<Credentials, PayloadError> {
        let obj = &object(v, "credentials")?;
        let auth_token = required_str(obj, "credentials", "auth_token")?;
        Ok(Credentials { auth_token })
    }
    /// The key [`verify`] checks webhooks with.
    pub fn auth_token(&self) -> &[u8] {
        self.auth_token.as_bytes()
    }
}

// ---------------------------------------------------------------------------------------------
// Signatures

/// `X-Twilio-Signature` for a form POST: base64(HMAC-SHA1(auth_token, url + every parameter
/// as key + value, sorted by key, then by value; identical pairs once)). For a JSON webhook
/// pass no params: the signature covers the URL (with its `bodySHA256`) alone.
pub fn sign(auth_token: &[u8], url: &str, params: &[(String, String)]) -> String {
    let pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    BASE64.encode(
        signature_mac(auth_token, url, &pairs)
            .finalize()
            .into_bytes(),
    )
}

/// Lowercase hex SHA-256 of a body: the `bodySHA256` Twilio puts in a JSON webhook's URL.
pub fn body_sha256(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

fn signature_mac(auth_token: &[u8], url: &str, params: &[(&str, &str)]) -> HmacSha1 {
    // Both official SDKs (twilio-python `compute_signature`, twilio-node
    // `toFormUrlEncodedParam`) sort keys, then each key's distinct values.
    let mut sorted = params.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    // HMAC takes keys of any length; this cannot fail.
    let mut mac = match HmacSha1::new_from_slice(auth_token) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts any key length"),
    };
    mac.update(url.as_bytes());
    for (k, v) in sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    mac
}

/// Checks `X-Twilio-Signature` in constant time.
///
/// `url` is the full URL configured at Twilio (scheme, host, optional port, path, query), not
/// the one a proxy rewrote. Like the official SDKs it is tried as given, with the default port
/// added when it has none (`:443`/`:80`), and without its port when it has one, because
/// Twilio's signer is inconsistent about ports.
///
/// Form bodies (any content type but JSON): the parameters are the decoded form fields. JSON
/// bodies (`application/json`): the URL must carry `bodySHA256=<hex SHA-256 of the body>`,
/// which must match, and the signature covers the URL alone.
pub fn verify(
    auth_token: &[u8],
    url: &str,
    content_type: Option<&str>,
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing("X-Twilio-Signature"))?;
    let sig = BASE64
        .decode(header.trim())
        .map_err(|_| SignatureError::Malformed("X-Twilio-Signature", "<base64 HMAC-SHA1>"))?;
    let owned: Vec<(String, String)>;
    let params: Vec<(&str, &str)> = if is_json(content_type) {
        // The body is authenticated through its hash in the signed URL.
        let claimed = query_param(url, "bodySHA256").ok_or(SignatureError::Mismatch)?;
        if !claimed.eq_ignore_ascii_case(&body_sha256(body)) {
            return Err(SignatureError::Mismatch);
        }
        Vec::new()
    } else {
        owned = form_urlencoded::parse(body).into_owned().collect();
        owned
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    };
    let mut ok = false;
    for candidate in url_variants(url) {
        // Every variant is checked (no early exit): the time does not say which matched.
        ok |= signature_mac(auth_token, &candidate, &params)
            .verify_slice(&sig)
            .is_ok();
    }
    if ok {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

fn is_json(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// The first value of a query parameter, decoded (`parse_qs` in twilio-python).
fn query_param(url: &str, name: &str) -> Option<String> {
    let without_fragment = url.split('#').next().unwrap_or(url);
    let (_, query) = without_fragment.split_once('?')?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The URL as given, with the scheme's default port added (when it has no port) and without
/// its port (when it has one).
fn url_variants(url: &str) -> Vec<String> {
    let mut out = vec![url.to_owned()];
    let Some((scheme, rest)) = url.split_once("://") else {
        return out;
    };
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_len);
    // `user:pass@host:port`: the port belongs to the part after the last `@`.
    let host_start = authority.rfind('@').map_or(0, |i| i + 1);
    let (userinfo, host_port) = authority.split_at(host_start);
    // An IPv6 host is bracketed: `[::1]:8080`.
    let port_colon = match host_port.rfind(']') {
        Some(close) => host_port[close..].find(':').map(|i| close + i),
        None => host_port.rfind(':'),
    };
    match port_colon {
        Some(colon) => {
            let port = &host_port[colon + 1..];
            if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
                let host = &host_port[..colon];
                out.push(format!("{scheme}://{userinfo}{host}{tail}"));
            }
        }
        None => {
            let port = if scheme.eq_ignore_ascii_case("https") {
                443
            } else {
                80
            };
            out.push(format!("{scheme}://{authority}:{port}{tail}"));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Inbound

/// The answer Twilio expects from a messaging webhook when there is nothing to reply with
/// right away: an empty TwiML document (`Content-Type: text/xml`).
pub fn twiml_empty() -> &'static str {
    r#"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#
}

/// Form fields by name (the first value of each).
struct Fields(HashMap<String, String>);

impl Fields {
    fn parse(body: &[u8]) -> Self {
        let mut map = HashMap::new();
        for (k, v) in form_urlencoded::parse(body) {
            map.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
        Fields(map)
    }
    /// A field's value, `None` when absent or empty.
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }
    fn message_sid(&self) -> Option<&str> {
        self.get("MessageSid")
            .or_else(|| self.get("SmsMessageSid"))
            .or_else(|| self.get("SmsSid"))
    }
    /// The status this callback reports, if the body is a status callback: `MessageStatus`,
    /// or the legacy `SmsStatus` alone on a body without `Body`.
    fn callback_status(&self) -> Option<&str> {
        self.get("MessageStatus").or_else(|| {
            self.get("SmsStatus")
                .filter(|s| *s != "received" && !self.0.contains_key("Body"))
        })
    }
}

/// Parses a webhook body: an inbound message, or a status callback for one of our sends.
///
/// Inbound (`SmsStatus=received`, no `MessageStatus`): `MessageSid` (or `SmsMessageSid`),
/// `From`, `To`, `Body`, `NumMedia`, `MediaUrl{N}`, `MediaContentType{N}`, and for WhatsApp
/// `ProfileName`, `Latitude`/`Longitude`, `OriginalRepliedMessageSid`. Status callbacks
/// (`MessageStatus`, `ErrorCode`, `ErrorMessage`): `sent`, `delivered`, `read`, `undelivered`
/// and `failed` become receipts; the other statuses are ignored. A body naming another
/// `AccountSid` than the channel's is refused.
pub fn parse(body: &[u8], cfg: &Config) -> Result<Vec<ChannelEvent>, PayloadError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(PayloadError::body(
            "the body is empty: Twilio sends form fields",
        ));
    }
    if body.trim_ascii_start().first() == Some(&b'{') {
        return Err(PayloadError::body(
            "the body is JSON: Twilio's messaging webhooks send form fields \
             (application/x-www-form-urlencoded)",
        ));
    }
    let fields = Fields::parse(body);
    match fields.get("AccountSid") {
        None => return Err(PayloadError::field("AccountSid", "is required")),
        Some(sid) if sid != cfg.account_sid => {
            return Err(PayloadError::field(
                "AccountSid",
                "names another account than the channel's (config.account_sid)",
            ));
        }
        Some(_) => {}
    }
    let sid = fields
        .message_sid()
        .ok_or_else(|| PayloadError::field("MessageSid", "is required"))?
        .to_owned();
    if let Some(status) = fields.callback_status() {
        return Ok(vec![status_event(&fields, sid, status)]);
    }
    let from = fields
        .get("From")
        .ok_or_else(|| PayloadError::field("From", "is required"))?
        .to_owned();
    let attachments = attachments(&fields)?;
    Ok(vec![ChannelEvent::Message(InboundMessage {
        external_id: sid,
        thread: format!("{THREAD_PREFIX}{from}"),
        public: false,
        author: Author {
            external_id: from.clone(),
            // Only WhatsApp through Twilio says who the sender is.
            name: fields.get("ProfileName").map(str::to_owned),
            handle: Some(from),
            followers: None,
            verified: None,
        },
        text: fields.0.get("Body").cloned().unwrap_or_default(),
        sent_at: None,
        attachments,
        reply_to: fields.get("OriginalRepliedMessageSid").map(str::to_owned),
    })])
}

fn status_event(fields: &Fields, sid: String, status: &str) -> ChannelEvent {
    let state = match status {
        "sent" => DeliveryState::Sent,
        "delivered" => DeliveryState::Delivered,
        "read" => DeliveryState::Read,
        "undelivered" | "failed" => DeliveryState::Failed,
        other => {
            return ChannelEvent::Ignored {
                kind: format!("message_status.{other}"),
            };
        }
    };
    let error = (state == DeliveryState::Failed).then(|| {
        match (fields.get("ErrorCode"), fields.get("ErrorMessage")) {
            (Some(code), Some(msg)) => format!("ErrorCode {code}: {msg}"),
            (Some(code), None) => format!("ErrorCode {code}"),
            (None, Some(msg)) => format!("{status}: {msg}"),
            (None, None) => format!("{status} (no ErrorCode given)"),
        }
    });
    ChannelEvent::Receipt(Receipt {
        external_id: sid,
        state,
        error,
        at: None,
    })
}

fn attachments(fields: &Fields) -> Result<Vec<Attachment>, PayloadError> {
    let count = match fields.get("NumMedia") {
        None => 0,
        Some(n) => n
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= MAX_MEDIA)
            .ok_or_else(|| {
                PayloadError::field(
                    "NumMedia",
                    format!("must be a whole number from 0 to {MAX_MEDIA}"),
                )
            })?,
    };
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let url_key = format!("MediaUrl{i}");
        let url = fields.get(&url_key).ok_or_else(|| {
            PayloadError::field(&url_key, format!("is required (NumMedia is {count})"))
        })?;
        let mime = fields.get(&format!("MediaContentType{i}"));
        let kind = match mime.and_then(|m| m.split('/').next()) {
            Some("image") => "image",
            Some("video") => "video",
            Some("audio") => "audio",
            _ => "file",
        };
        out.push(Attachment {
            kind: kind.to_owned(),
            url: Some(url.to_owned()),
            provider_id: None,
            mime_type: mime.map(str::to_owned),
            name: None,
        });
    }
    // WhatsApp through Twilio shares locations as fields, not media.
    if let (Some(lat), Some(lon)) = (fields.get("Latitude"), fields.get("Longitude")) {
        out.push(Attachment {
            kind: "location".to_owned(),
            url: Some(format!("geo:{lat},{lon}")),
            provider_id: None,
            mime_type: None,
            name: fields
                .get("Label")
                .or_else(|| fields.get("Address"))
                .map(str::to_owned),
        });
    }
    Ok(out)
}

/// `MessageSid` for an inbound message, `MessageSid:MessageStatus` for a status callback
/// (each status of one message is its own event); `None` without a message SID.
pub fn dedupe_key(body: &[u8]) -> Option<String> {
    let fields = Fields::parse(body);
    let sid = fields.message_sid()?;
    Some(match fields.callback_status() {
        Some(status) => format!("{sid}:{status}"),
        None => sid.to_owned(),
    })
}

// ---------------------------------------------------------------------------------------------
// Outbound

/// The address to send to: the thread's (`sms:<address>`), else `job.to`.
fn destination(job: &SendJob) -> Option<&str> {
    crate::thread_or_to(job, THREAD_PREFIX)
}

/// Twilio's rules for a reply: some text, at most 1600 characters, an address to send to.
/// SMS has no reply window; WhatsApp through Twilio (`whatsapp:` addresses) keeps WhatsApp's
/// 24 hours since the customer last wrote.
pub fn check_reply(job: &SendJob) -> Result<(), RuleError> {
    crate::meta::check_text("SMS", MAX_BODY_CHARS, &job.text)?;
    let Some(to) = destination(job) else {
        return Err(RuleError::new(
            "not_supported",
            "This conversation has no phone number to send an SMS to.",
        ));
    };
    if to.starts_with("whatsapp:") {
        let open = job.last_inbound_at.is_some_and(|last| {
            job.now
                .as_unix_micros()
                .saturating_sub(last.as_unix_micros())
                <= WHATSAPP_WINDOW_MICROS
        });
        if !open {
            return Err(RuleError::new(
                "window_closed",
                "WhatsApp only allows free-form replies within 24 hours of the customer's last \
                 message: send an approved template instead, or wait for the customer to write.",
            ));
        }
    }
    Ok(())
}

/// `POST {api_base}/2010-04-01/Accounts/{AccountSid}/Messages.json`, Basic auth
/// (`account_sid:auth_token`), form fields `To`, `From` and/or `MessagingServiceSid`, `Body`.
/// No `StatusCallback`: the server adds its own with [`with_status_callback`].
pub fn send_request(
    cfg: &Config,
    creds: &Credentials,
    job: &SendJob,
) -> Result<HttpRequest, RuleError> {
    check_reply(job)?;
    let to = destination(job).unwrap_or_default();
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("To", to);
    if let Some(from) = &cfg.from {
        form.append_pair("From", from);
    }
    if let Some(service) = &cfg.messaging_service_sid {
        form.append_pair("MessagingServiceSid", service);
    }
    form.append_pair("Body", &job.text);
    let basic = BASE64.encode(format!("{}:{}", cfg.account_sid, creds.auth_token));
    Ok(HttpRequest {
        method: "POST",
        url: format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            cfg.api_base, cfg.account_sid
        ),
        headers: vec![
            (
                "content-type".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            ),
            ("authorization".to_owned(), format!("Basic {basic}")),
        ],
        body: form.finish().into_bytes(),
    })
}

/// Appends `StatusCallback=<url>` to a send built by [`send_request`], so that Twilio reports
/// the message's statuses to the server.
pub fn with_status_callback(req: &mut HttpRequest, url: &str) {
    let field = form_urlencoded::Serializer::new(String::new())
        .append_pair("StatusCallback", url)
        .finish();
    if !req.body.is_empty() {
        req.body.push(b'&');
    }
    req.body.extend_from_slice(field.as_bytes());
}

/// Twilio's error code for "Too Many Requests".
const RATE_LIMIT_CODE: u64 = 20429;

/// Reads Twilio's answer to a send: 2xx `{"sid":"SM…","status":"queued",…}` → accepted with
/// `Sent` (status callbacks follow); 429, error 20429, 408 and 5xx → retry; other 4xx
/// `{"code":21211,"message":"…","more_info":…,"status":400}` → failed `"21211: …"`.
pub fn read_response(status: u16, retry_after: Option<&str>, body: &[u8]) -> SendOutcome {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let get = |key: &str| json.as_ref().and_then(|j| j.get(key));
    if (200..300).contains(&status) {
        return SendOutcome::Accepted {
            external_id: get("sid").and_then(Value::as_str).map(str::to_owned),
            state: DeliveryState::Sent,
        };
    }
    let code = get("code").and_then(|c| match c {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    });
    let message = get("message")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|m| !m.is_empty());
    let error = match (code, message) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => format!("{c}: HTTP {status}"),
        (None, Some(m)) => format!("HTTP {status}: {m}"),
        (None, None) => format!("HTTP {status}"),
    };
    let retry = status == 429
        || status == 408
        || code == Some(RATE_LIMIT_CODE)
        || !(400..500).contains(&status);
    if retry {
        SendOutcome::Retry {
            after_secs: retry_after.and_then(|s| s.trim().parse().ok()),
            error,
        }
    } else {
        SendOutcome::Failed { error }
    }
}

// ---------------------------------------------------------------------------------------------
// Config helpers

/// The settings object (`null` reads as `{}`).
fn object(v: &Value, name: &str) -> Result<serde_json::Map<String, Value>, PayloadError> {
    match v {
        Value::Object(o) => Ok(o.clone()),
        Value::Null => Ok(serde_json::Map::new()),
        _ => Err(PayloadError::field(name, "must be a JSON object")),
    }
}

fn optional_str(
    obj: &serde_json::Map<String, Value>,
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

fn required_str(
    obj: &serde_json::Map<String, Value>,
    prefix: &str,
    key: &str,
) -> Result<String, PayloadError> {
    optional_str(obj, prefix, key)?
        .ok_or_else(|| PayloadError::field(&format!("{prefix}.{key}"), "is required"))
}

fn api_base(
    obj: &serde_json::Map<String, Value>,
    prefix: &str,
    default: &str,
) -> Result<String, PayloadError> {
    let base = optional_str(obj, prefix, "api_base")?.unwrap_or_else(|| default.to_owned());
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        return Err(PayloadError::field(
            &format!("{prefix}.api_base"),
            "must be an http:// or https:// URL",
        ));
    }
    Ok(base.trim_end_matches('/').to_owned())
}

/// `AC…`/`MG…`: the prefix, then letters and digits only (the SID goes into URL paths).
fn is_sid(s: &str, prefix: &str) -> bool {
    s.len() > prefix.len() && s.starts_with(prefix) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use switchboard_core::Timestamp;

    const TOKEN: &[u8] = b"12345";
    const ACCOUNT: &str = "AC78349f4b974f5f6907c513a77d96756d";
    const VECTOR_URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const VECTOR_SIG: &str = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    fn vector_params() -> Vec<(String, String)> {
        [
            ("CallSid", "CA1234567890ABCDE"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
            ("Caller", "+14158675309"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn encode(params: &[(String, String)]) -> Vec<u8> {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in params {
            s.append_pair(k, v);
        }
        s.finish().into_bytes()
    }

    fn cfg() -> Config {
        Config::from_json(&json!({"account_sid": ACCOUNT, "from": "+4915700000000"})).unwrap()
    }

    fn creds() -> Credentials {
        Credentials::from_json(&json!({"auth_token": "tok-secret"})).unwrap()
    }

    fn job(text: &str) -> SendJob {
        SendJob {
            message_id: "m-1".into(),
            thread: "sms:+491710000000".into(),
            public: false,
            to: "+491710000000".into(),
            in_reply_to: None,
            private_reply: false,
            template: None,
            text: text.into(),
            last_inbound_at: None,
            now: Timestamp::parse_rfc3339("2026-11-22T10:00:00Z").unwrap(),
        }
    }

    fn hours_before(t: Timestamp, hours: i64) -> Timestamp {
        t.plus_micros(-hours * 3600 * 1_000_000)
    }

    // --- signatures --------------------------------------------------------------------------

    #[test]
    fn official_vector_signs_and_verifies() {
        // twilio-python tests/unit/test_request_validator.py.
        assert_eq!(sign(TOKEN, VECTOR_URL, &vector_params()), VECTOR_SIG);
        let body = encode(&vector_params());
        assert_eq!(
            verify(TOKEN, VECTOR_URL, FORM, &body, Some(VECTOR_SIG)),
            Ok(())
        );
        // No content type: still a form.
        assert_eq!(
            verify(TOKEN, VECTOR_URL, None, &body, Some(VECTOR_SIG)),
            Ok(())
        );
        // Parameter order in the body does not matter.
        let mut reversed = vector_params();
        reversed.reverse();
        assert_eq!(
            verify(
                TOKEN,
                VECTOR_URL,
                FORM,
                &encode(&reversed),
                Some(VECTOR_SIG)
            ),
            Ok(())
        );
    }

    #[test]
    fn one_changed_byte_is_rejected() {
        let body = encode(&vector_params());
        for i in 0..body.len() {
            let mut bad = body.clone();
            bad[i] = if bad[i] == b'1' { b'2' } else { b'1' };
            assert_eq!(
                verify(TOKEN, VECTOR_URL, FORM, &bad, Some(VECTOR_SIG)),
                Err(SignatureError::Mismatch),
                "byte {i}"
            );
        }
        let other_url = "https://mycompany.com/myapp.php?foo=1&bar=3";
        assert_eq!(
            verify(TOKEN, other_url, FORM, &body, Some(VECTOR_SIG)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"12346", VECTOR_URL, FORM, &body, Some(VECTOR_SIG)),
            Err(SignatureError::Mismatch)
        );
        // A signature one character off.
        assert_eq!(
            verify(
                TOKEN,
                VECTOR_URL,
                FORM,
                &body,
                Some("SSOYDt4T1cUTdK1PDd93/VVr8B8=")
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn missing_and_malformed_headers() {
        let body = encode(&vector_params());
        assert_eq!(
            verify(TOKEN, VECTOR_URL, FORM, &body, None),
            Err(SignatureError::Missing("X-Twilio-Signature"))
        );
        assert_eq!(
            verify(TOKEN, VECTOR_URL, FORM, &body, Some("not base64!")),
            Err(SignatureError::Malformed(
                "X-Twilio-Signature",
                "<base64 HMAC-SHA1>"
            ))
        );
        assert_eq!(
            verify(TOKEN, VECTOR_URL, FORM, &body, Some("")),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn ports_are_tried_with_and_without() {
        let body = encode(&vector_params());
        // Signed with the default port, configured without it, and the other way round.
        let with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        let sig = sign(TOKEN, with_port, &vector_params());
        assert_eq!(sig, "kvajT1Ptam85bY51eRf/AJRuM3w="); // twilio-python, computed locally
        assert_eq!(verify(TOKEN, VECTOR_URL, FORM, &body, Some(&sig)), Ok(()));
        assert_eq!(
            verify(TOKEN, with_port, FORM, &body, Some(VECTOR_SIG)),
            Ok(())
        );
        // http and :80.
        let http = "http://mycompany.com/hook";
        let sig80 = sign(TOKEN, "http://mycompany.com:80/hook", &vector_params());
        assert_eq!(verify(TOKEN, http, FORM, &body, Some(&sig80)), Ok(()));
        // A non-default port as given, and (as the SDKs do) without it.
        let custom = "https://hooks.example.com:8443/twilio?x=1";
        let sig_custom = sign(TOKEN, custom, &vector_params());
        assert_eq!(
            verify(TOKEN, custom, FORM, &body, Some(&sig_custom)),
            Ok(())
        );
        let sig_plain = sign(
            TOKEN,
            "https://hooks.example.com/twilio?x=1",
            &vector_params(),
        );
        assert_eq!(verify(TOKEN, custom, FORM, &body, Some(&sig_plain)), Ok(()));
        // But never another port than the one configured.
        let sig_other = sign(
            TOKEN,
            "https://hooks.example.com:9443/twilio?x=1",
            &vector_params(),
        );
        assert_eq!(
            verify(TOKEN, custom, FORM, &body, Some(&sig_other)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn url_variants_table() {
        let table: &[(&str, &[&str])] = &[
            (
                "https://a.com/x",
                &["https://a.com/x", "https://a.com:443/x"],
            ),
            (
                "https://a.com:443/x",
                &["https://a.com:443/x", "https://a.com/x"],
            ),
            (
                "http://a.com?q=1",
                &["http://a.com?q=1", "http://a.com:80?q=1"],
            ),
            ("https://a.com", &["https://a.com", "https://a.com:443"]),
            (
                "https://u:p@a.com:8443/x",
                &["https://u:p@a.com:8443/x", "https://u:p@a.com/x"],
            ),
            (
                "https://[::1]:8443/x",
                &["https://[::1]:8443/x", "https://[::1]/x"],
            ),
            (
                "https://[::1]/x",
                &["https://[::1]/x", "https://[::1]:443/x"],
            ),
            ("not a url", &["not a url"]),
        ];
        for (url, want) in table {
            assert_eq!(url_variants(url), want.to_vec(), "{url}");
        }
    }

    #[test]
    fn repeated_keys_sort_by_value_and_unicode_is_utf8() {
        let params: Vec<(String, String)> = [
            ("MediaUrl", "https://b.example/2"),
            ("Body", "Grüße 👋"),
            ("MediaUrl", "https://a.example/1"),
            ("MediaUrl", "https://a.example/1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        // Keys sorted, each key's distinct values sorted.
        let data = "https://x.example/hookBodyGrüße 👋MediaUrlhttps://a.example/1MediaUrlhttps://b.example/2";
        let mut mac = HmacSha1::new_from_slice(TOKEN).unwrap();
        mac.update(data.as_bytes());
        let want = BASE64.encode(mac.finalize().into_bytes());
        assert_eq!(sign(TOKEN, "https://x.example/hook", &params), want);
        let body = encode(&params);
        assert_eq!(
            verify(TOKEN, "https://x.example/hook", FORM, &body, Some(&want)),
            Ok(())
        );
    }

    #[test]
    fn json_bodies_are_checked_through_body_sha256() {
        let body = br#"{"property": "value", "boolean": true}"#;
        let hash = body_sha256(body);
        assert_eq!(
            hash,
            "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
        );
        let url = format!("{VECTOR_URL}&bodySHA256={hash}");
        let sig = sign(TOKEN, &url, &[]);
        assert_eq!(sig, "a9nBmqA0ju/hNViExpshrM61xv4="); // twilio-python's test
        let json_ct = Some("application/json; charset=utf-8");
        assert_eq!(verify(TOKEN, &url, json_ct, body, Some(&sig)), Ok(()));
        // One changed byte of the body breaks the hash.
        let mut bad = body.to_vec();
        bad[3] = b'q';
        assert_eq!(
            verify(TOKEN, &url, json_ct, &bad, Some(&sig)),
            Err(SignatureError::Mismatch)
        );
        // A JSON body without bodySHA256 in the URL is not authenticated.
        let sig_plain = sign(TOKEN, VECTOR_URL, &[]);
        assert_eq!(
            verify(TOKEN, VECTOR_URL, json_ct, body, Some(&sig_plain)),
            Err(SignatureError::Mismatch)
        );
        // The same URL and signature as a form body: the body is then the params.
        assert_eq!(
            verify(TOKEN, &url, FORM, body, Some(&sig)),
            Err(SignatureError::Mismatch)
        );
    }

    // --- config ------------------------------------------------------------------------------

    #[test]
    fn config_and_credentials() {
        let c = cfg();
        assert_eq!(c.api_base, "https://api.twilio.com");
        assert_eq!(c.from.as_deref(), Some("+4915700000000"));
        let c = Config::from_json(&json!({
            "account_sid": ACCOUNT, "messaging_service_sid": "MG1234", "api_base": "http://127.0.0.1:9/"
        }))
        .unwrap();
        assert_eq!(c.api_base, "http://127.0.0.1:9");
        assert_eq!(c.messaging_service_sid.as_deref(), Some("MG1234"));
        let table = [
            (json!({"from": "+1"}), "config.account_sid"),
            (
                json!({"account_sid": "XX12", "from": "+1"}),
                "config.account_sid",
            ),
            (
                json!({"account_sid": "AC1/../x", "from": "+1"}),
                "config.account_sid",
            ),
            (json!({"account_sid": ACCOUNT}), "config.from"),
            (json!({"account_sid": ACCOUNT, "from": 5}), "config.from"),
            (
                json!({"account_sid": ACCOUNT, "messaging_service_sid": "AC1"}),
                "config.messaging_service_sid",
            ),
            (
                json!({"account_sid": ACCOUNT, "from": "+1", "api_base": "ftp://x"}),
                "config.api_base",
            ),
            (json!([1]), "config"),
        ];
        for (v, field) in table {
            let err = Config::from_json(&v).unwrap_err();
            assert_eq!(err.field.as_deref(), Some(field), "{v}: {err}");
        }
        let err = Credentials::from_json(&json!({})).unwrap_err();
        assert_eq!(err.message, "credentials.auth_token: is required");
        let shown = format!("{:?}", creds());
        assert!(
            !shown.contains("tok-secret") && shown.contains("<redacted>"),
            "{shown}"
        );
    }

    // --- parse -------------------------------------------------------------------------------

    #[test]
    fn parses_an_inbound_sms() {
        let body = format!(
            "ToCountry=DE&SmsMessageSid=SM1bd5&NumMedia=0&SmsSid=SM1bd5&SmsStatus=received\
             &Body=Hello%2C+I+need+help+%F0%9F%99%82&To=%2B4915700000000&NumSegments=1\
             &MessageSid=SM1bd5&AccountSid={ACCOUNT}&From=%2B491710000000&ApiVersion=2010-04-01"
        );
        let events = parse(body.as_bytes(), &cfg()).unwrap();
        assert_eq!(
            events,
            vec![ChannelEvent::Message(InboundMessage {
                external_id: "SM1bd5".into(),
                thread: "sms:+491710000000".into(),
                public: false,
                author: Author {
                    external_id: "+491710000000".into(),
                    name: None,
                    handle: Some("+491710000000".into()),
                    followers: None,
                    verified: None,
                },
                text: "Hello, I need help 🙂".into(),
                sent_at: None,
                attachments: vec![],
                reply_to: None,
            })]
        );
        assert_eq!(dedupe_key(body.as_bytes()).as_deref(), Some("SM1bd5"));
    }

    #[test]
    fn parses_an_mms_with_media() {
        let body = format!(
            "MessageSid=MM9&SmsStatus=received&AccountSid={ACCOUNT}&From=%2B1555&To=%2B1666&Body=\
             &NumMedia=4&MediaContentType0=image%2Fjpeg&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2Fm0\
             &MediaContentType1=video%2Fmp4&MediaUrl1=https%3A%2F%2Fapi.twilio.com%2Fm1\
             &MediaContentType2=audio%2Fogg&MediaUrl2=https%3A%2F%2Fapi.twilio.com%2Fm2\
             &MediaContentType3=text%2Fvcard&MediaUrl3=https%3A%2F%2Fapi.twilio.com%2Fm3"
        );
        let events = parse(body.as_bytes(), &cfg()).unwrap();
        let ChannelEvent::Message(m) = &events[0] else {
            panic!("{events:?}")
        };
        assert_eq!(m.text, "");
        assert_eq!(m.external_id, "MM9");
        let kinds: Vec<_> = m.attachments.iter().map(|a| a.kind.as_str()).collect();
        assert_eq!(kinds, ["image", "video", "audio", "file"]);
        assert_eq!(
            m.attachments[0],
            Attachment {
                kind: "image".into(),
                url: Some("https://api.twilio.com/m0".into()),
                provider_id: None,
                mime_type: Some("image/jpeg".into()),
                name: None,
            }
        );
    }

    #[test]
    fn parses_whatsapp_through_twilio() {
        let body = format!(
            "MessageSid=SMw&SmsStatus=received&AccountSid={ACCOUNT}&From=whatsapp%3A%2B1555\
             &To=whatsapp%3A%2B1666&Body=&NumMedia=0&ProfileName=Ann+Lee&Latitude=52.52\
             &Longitude=13.405&Label=Office&OriginalRepliedMessageSid=SMorig"
        );
        let events = parse(body.as_bytes(), &cfg()).unwrap();
        let ChannelEvent::Message(m) = &events[0] else {
            panic!("{events:?}")
        };
        assert_eq!(m.thread, "sms:whatsapp:+1555");
        assert_eq!(m.author.name.as_deref(), Some("Ann Lee"));
        assert_eq!(m.reply_to.as_deref(), Some("SMorig"));
        assert_eq!(m.attachments[0].kind, "location");
        assert_eq!(m.attachments[0].url.as_deref(), Some("geo:52.52,13.405"));
        assert_eq!(m.attachments[0].name.as_deref(), Some("Office"));
    }

    fn callback(status: &str, extra: &str) -> String {
        format!(
            "SmsSid=SMout1&SmsStatus={status}&MessageStatus={status}&To=%2B1555&MessageSid=SMout1\
             &AccountSid={ACCOUNT}&From=%2B1666&ApiVersion=2010-04-01{extra}"
        )
    }

    #[test]
    fn status_callbacks_become_receipts() {
        let receipt = |state, error: Option<&str>| {
            vec![ChannelEvent::Receipt(Receipt {
                external_id: "SMout1".into(),
                state,
                error: error.map(str::to_owned),
                at: None,
            })]
        };
        let table = [
            ("sent", "", receipt(DeliveryState::Sent, None)),
            ("delivered", "", receipt(DeliveryState::Delivered, None)),
            ("read", "", receipt(DeliveryState::Read, None)),
            (
                "undelivered",
                "&ErrorCode=30003",
                receipt(DeliveryState::Failed, Some("ErrorCode 30003")),
            ),
            (
                "failed",
                "&ErrorCode=30008&ErrorMessage=Unknown+error",
                receipt(
                    DeliveryState::Failed,
                    Some("ErrorCode 30008: Unknown error"),
                ),
            ),
            (
                "failed",
                "",
                receipt(DeliveryState::Failed, Some("failed (no ErrorCode given)")),
            ),
        ];
        for (status, extra, want) in table {
            let body = callback(status, extra);
            assert_eq!(parse(body.as_bytes(), &cfg()).unwrap(), want, "{status}");
            assert_eq!(
                dedupe_key(body.as_bytes()),
                Some(format!("SMout1:{status}"))
            );
        }
        for status in [
            "queued",
            "sending",
            "accepted",
            "scheduled",
            "canceled",
            "received",
            "partially_delivered",
        ] {
            let body = callback(status, "");
            assert_eq!(
                parse(body.as_bytes(), &cfg()).unwrap(),
                vec![ChannelEvent::Ignored {
                    kind: format!("message_status.{status}")
                }]
            );
        }
        // The legacy callback with SmsStatus only.
        let legacy = format!("SmsSid=SMold&SmsStatus=delivered&AccountSid={ACCOUNT}");
        assert!(matches!(
            &parse(legacy.as_bytes(), &cfg()).unwrap()[0],
            ChannelEvent::Receipt(r) if r.state == DeliveryState::Delivered && r.external_id == "SMold"
        ));
        assert_eq!(
            dedupe_key(legacy.as_bytes()).as_deref(),
            Some("SMold:delivered")
        );
    }

    #[test]
    fn malformed_bodies_name_the_field() {
        let table: &[(String, Option<&str>)] = &[
            (String::new(), None),
            ("  ".into(), None),
            (r#"{"MessageSid":"SM1"}"#.into(), None),
            ("MessageSid=SM1&From=%2B1&Body=x".into(), Some("AccountSid")),
            (
                "MessageSid=SM1&From=%2B1&Body=x&AccountSid=ACother".into(),
                Some("AccountSid"),
            ),
            (
                format!("From=%2B1&Body=x&AccountSid={ACCOUNT}"),
                Some("MessageSid"),
            ),
            (
                format!("MessageSid=SM1&Body=x&AccountSid={ACCOUNT}"),
                Some("From"),
            ),
            (
                format!("MessageSid=SM1&From=%2B1&Body=x&NumMedia=two&AccountSid={ACCOUNT}"),
                Some("NumMedia"),
            ),
            (
                format!("MessageSid=SM1&From=%2B1&Body=x&NumMedia=999999&AccountSid={ACCOUNT}"),
                Some("NumMedia"),
            ),
            (
                format!(
                    "MessageSid=SM1&From=%2B1&NumMedia=2&MediaUrl0=https%3A%2F%2Fm\
                     &AccountSid={ACCOUNT}"
                ),
                Some("MediaUrl1"),
            ),
        ];
        for (body, field) in table {
            let err = parse(body.as_bytes(), &cfg()).unwrap_err();
            assert_eq!(err.field.as_deref(), *field, "{body}: {err}");
        }
        assert_eq!(dedupe_key(b"From=%2B1"), None);
        // Garbage never panics.
        for junk in [&b"%%%&&=="[..], b"\xff\xfe=\x00", b"=&=&="] {
            let _ = parse(junk, &cfg());
            let _ = dedupe_key(junk);
        }
    }

    // --- rules and sends ---------------------------------------------------------------------

    #[test]
    fn rules() {
        assert_eq!(check_reply(&job("Hi")), Ok(()));
        assert_eq!(check_reply(&job(&"é".repeat(1600))), Ok(()));
        assert_eq!(
            check_reply(&job(&"é".repeat(1601))).unwrap_err().code,
            "too_long"
        );
        assert_eq!(check_reply(&job(" \n")).unwrap_err().code, "empty");
        // SMS has no window: a customer silent for a month can still be answered.
        let mut old = job("Hi");
        old.last_inbound_at = Some(hours_before(old.now, 24 * 30));
        assert_eq!(check_reply(&old), Ok(()));
        // Nowhere to send.
        let mut nowhere = job("Hi");
        nowhere.thread = "sms:".into();
        nowhere.to = String::new();
        assert_eq!(check_reply(&nowhere).unwrap_err().code, "not_supported");
        // WhatsApp through Twilio keeps the 24-hour window.
        let mut wa = job("Hi");
        wa.thread = "sms:whatsapp:+1555".into();
        wa.last_inbound_at = Some(hours_before(wa.now, 23));
        assert_eq!(check_reply(&wa), Ok(()));
        wa.last_inbound_at = Some(hours_before(wa.now, 25));
        assert_eq!(check_reply(&wa).unwrap_err().code, "window_closed");
        wa.last_inbound_at = None;
        assert_eq!(check_reply(&wa).unwrap_err().code, "window_closed");
    }

    #[test]
    fn send_request_shape() {
        let mut c = cfg();
        c.api_base = "http://127.0.0.1:4010".into();
        let req = send_request(&c, &creds(), &job("Hi Ann & co: 100% 👍")).unwrap();
        assert_eq!(req.method, "POST");
        assert_eq!(
            req.url,
            format!("http://127.0.0.1:4010/2010-04-01/Accounts/{ACCOUNT}/Messages.json")
        );
        let basic = BASE64.encode(format!("{ACCOUNT}:tok-secret"));
        assert_eq!(
            req.headers,
            vec![
                (
                    "content-type".to_owned(),
                    "application/x-www-form-urlencoded".to_owned()
                ),
                ("authorization".to_owned(), format!("Basic {basic}")),
            ]
        );
        assert_eq!(
            String::from_utf8(req.body.clone()).unwrap(),
            "To=%2B491710000000&From=%2B4915700000000&Body=Hi+Ann+%26+co%3A+100%25+%F0%9F%91%8D"
        );
        let fields: Vec<(String, String)> =
            form_urlencoded::parse(&req.body).into_owned().collect();
        assert_eq!(fields[2], ("Body".into(), "Hi Ann & co: 100% 👍".into()));
        // The token never shows in Debug.
        assert!(!format!("{req:?}").contains(&basic));

        // A Messaging Service instead of a number; the thread's number wins over `to`.
        let svc =
            Config::from_json(&json!({"account_sid": ACCOUNT, "messaging_service_sid": "MGabc"}))
                .unwrap();
        let mut j = job("Yo");
        j.to = "ignored".into();
        let mut req = send_request(&svc, &creds(), &j).unwrap();
        assert_eq!(
            String::from_utf8(req.body.clone()).unwrap(),
            "To=%2B491710000000&MessagingServiceSid=MGabc&Body=Yo"
        );
        with_status_callback(&mut req, "https://sb.example/hooks/twilio/7/status?x=1&y=2");
        assert_eq!(
            String::from_utf8(req.body.clone()).unwrap(),
            "To=%2B491710000000&MessagingServiceSid=MGabc&Body=Yo\
             &StatusCallback=https%3A%2F%2Fsb.example%2Fhooks%2Ftwilio%2F7%2Fstatus%3Fx%3D1%26y%3D2"
        );
        // Without a prefixed thread, `to` is used.
        let mut j = job("Yo");
        j.thread = "legacy".into();
        let req = send_request(&svc, &creds(), &j).unwrap();
        assert!(
            String::from_utf8(req.body)
                .unwrap()
                .starts_with("To=%2B491710000000&")
        );
        // Rules are checked first.
        assert_eq!(
            send_request(&c, &creds(), &job("")).unwrap_err().code,
            "empty"
        );
    }

    #[test]
    fn twiml() {
        assert_eq!(
            twiml_empty(),
            r#"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#
        );
    }

    #[test]
    fn read_response_table() {
        let created = br#"{"account_sid":"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","api_version":"2010-04-01","body":"Hello!","direction":"outbound-api","error_code":null,"sid":"SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","status":"queued"}"#;
        let table: Vec<(u16, Option<&str>, &[u8], SendOutcome)> = vec![
            (
                201,
                None,
                created,
                SendOutcome::Accepted {
                    external_id: Some("SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into()),
                    state: DeliveryState::Sent,
                },
            ),
            (
                200,
                None,
                b"garbage",
                SendOutcome::Accepted {
                    external_id: None,
                    state: DeliveryState::Sent,
                },
            ),
            (
                429,
                Some("7"),
                br#"{"code":20429,"message":"Too Many Requests","more_info":"https://www.twilio.com/docs/errors/20429","status":429}"#,
                SendOutcome::Retry {
                    after_secs: Some(7),
                    error: "20429: Too Many Requests".into(),
                },
            ),
            (
                400,
                None,
                br#"{"code":20429,"message":"Too Many Requests","status":400}"#,
                SendOutcome::Retry {
                    after_secs: None,
                    error: "20429: Too Many Requests".into(),
                },
            ),
            (
                429,
                Some("Wed, 21 Oct 2026 07:28:00 GMT"),
                b"",
                SendOutcome::Retry {
                    after_secs: None,
                    error: "HTTP 429".into(),
                },
            ),
            (
                500,
                None,
                br#"{"code":20500,"message":"Internal Server Error","status":500}"#,
                SendOutcome::Retry {
                    after_secs: None,
                    error: "20500: Internal Server Error".into(),
                },
            ),
            (
                503,
                Some("30"),
                b"<html>busy</html>",
                SendOutcome::Retry {
                    after_secs: Some(30),
                    error: "HTTP 503".into(),
                },
            ),
            (
                408,
                None,
                b"",
                SendOutcome::Retry {
                    after_secs: None,
                    error: "HTTP 408".into(),
                },
            ),
            (
                400,
                None,
                br#"{"code":21211,"message":"The 'To' number +1555 is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}"#,
                SendOutcome::Failed {
                    error: "21211: The 'To' number +1555 is not a valid phone number.".into(),
                },
            ),
            (
                401,
                None,
                br#"{"code":"20003","message":"Authenticate"}"#,
                SendOutcome::Failed {
                    error: "20003: Authenticate".into(),
                },
            ),
            (
                404,
                None,
                b"not json",
                SendOutcome::Failed {
                    error: "HTTP 404".into(),
                },
            ),
            (
                400,
                None,
                br#"{"message":"bad"}"#,
                SendOutcome::Failed {
                    error: "HTTP 400: bad".into(),
                },
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

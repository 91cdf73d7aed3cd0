//! WhatsApp Cloud API: one business phone number.
//!
//! Webhooks use Meta's handshake and `X-Hub-Signature-256` (the app secret), see
//! [`crate::meta`]. The envelope is
//! `{"object":"whatsapp_business_account","entry":[{"id":WABA,"changes":[{"field":"messages",
//! "value":{"metadata":{"phone_number_id"},"contacts":[{"profile":{"name"},"wa_id"}],
//! "messages":[…],"statuses":[…]}}]}]}`. Every customer's conversation is one thread,
//! `dm:<wa_id>`. Replies are text messages within 24 hours of the customer's last message;
//! after that WhatsApp accepts only approved templates, which Switchboard does not send.

use crate::meta::{
    self, GraphError, as_obj, check_text, elapsed_since_inbound, json_request, opt_array, opt_id,
    opt_obj, opt_str, opt_time, parse_json_object, read_graph_failure, req_id, req_obj,
};
use crate::{HttpRequest, PayloadError, RuleError, SendJob, SendOutcome, SignatureError};
use serde_json::{Map, Value, json};
use switchboard_core::{
    Attachment, Author, ChannelEvent, DeliveryState, EchoMessage, InboundMessage, Reaction, Receipt,
};

pub use crate::meta::{DEFAULT_API_BASE, DEFAULT_API_VERSION, HandshakeError};

/// A text message's body: at most 4096 characters.
pub const MAX_CHARS: usize = 4096;
const WINDOW_MICROS: i64 = 24 * 3_600_000_000;

/// Non-secret settings, from the channel's `config` JSON object: `phone_number_id` (required),
/// `api_base` (default `https://graph.facebook.com`), `api_version` (default `v23.0`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The business number's id: sends go from it; webhooks for other numbers are ignored.
    pub phone_number_id: String,
    /// Without a trailing `/`.
    pub api_base: String,
    pub api_version: String,
}

impl Config {
    pub fn from_json(v: &Value) -> Result<Config, PayloadError> {
        let obj = v
            .as_object()
            .ok_or_else(|| PayloadError::field("config", "must be a JSON object"))?;
        Ok(Config {
            phone_number_id: meta::setting(obj, "config", "phone_number_id")?
                .ok_or_else(|| PayloadError::field("config.phone_number_id", "is required"))?,
            api_base: meta::api_base(obj)?,
            api_version: meta::api_version(obj)?,
        })
    }
}

/// Secrets, from the channel's decrypted `credentials` JSON object: `app_secret` (webhook
/// signatures), `verify_token` (handshake), `access_token` (a system user token, sends).
/// The same shape as Meta's; `Debug` prints `<redacted>`.
pub type Credentials = crate::meta::Credentials;

/// Meta's signature check: `X-Hub-Signature-256`, or the legacy `X-Hub-Signature` when the
/// first is absent. See [`meta::verify`].
pub fn verify(
    app_secret: &[u8],
    body: &[u8],
    sig256_header: Option<&str>,
    sha1_header: Option<&str>,
) -> Result<(), SignatureError> {
    meta::verify(app_secret, body, sig256_header, sha1_header)
}

/// Meta's subscription handshake. See [`meta::handshake`].
pub fn handshake(query: &str, verify_token: &str) -> Result<String, HandshakeError> {
    meta::handshake(query, verify_token)
}

/// The envelope has no id of its own: the server deduplicates on the body's SHA-256, the
/// store on each message's `wamid`.
pub fn dedupe_key(_body: &[u8]) -> Option<String> {
    None
}

fn ignored(kind: impl Into<String>) -> ChannelEvent {
    ChannelEvent::Ignored { kind: kind.into() }
}

/// Parses a webhook body: customer messages, reactions, edits and deletions, delivery
/// statuses, and the business app's own messages (`smb_message_echoes`, coexistence) as
/// echoes. Other fields (account updates, templates, calls…), other numbers, and message
/// types Switchboard does not show (system, unsupported, flows…) become `Ignored`.
pub fn parse(body: &[u8], cfg: &Config) -> Result<Vec<ChannelEvent>, PayloadError> {
    let root = parse_json_object(body)?;
    let (object, entries) = meta::envelope(&root)?;
    if object != "whatsapp_business_account" {
        return Ok(vec![ignored("other_object")]);
    }
    let mut out = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        crate::salvage(&mut out, |out| {
            let path = format!("entry[{i}]");
            let e = as_obj(entry, &path)?;
            for (j, change) in opt_array(e, "changes", &path)?.iter().enumerate() {
                let path = format!("{path}.changes[{j}]");
                crate::salvage(out, |out| {
                    let c = as_obj(change, &path)?;
                    match opt_str(c, "field", &path)?.as_deref() {
                        Some("messages") => return parse_value(c, &path, cfg, false, out),
                        Some("smb_message_echoes") => {
                            return parse_value(c, &path, cfg, true, out);
                        }
                        Some("") | None => out.push(ignored("unknown")),
                        Some(other) => out.push(ignored(other)),
                    }
                    Ok(())
                });
            }
            Ok(())
        });
    }
    Ok(out)
}

/// One `messages` (or `smb_message_echoes`) change value.
fn parse_value(
    c: &Map<String, Value>,
    path: &str,
    cfg: &Config,
    echoes: bool,
    out: &mut Vec<ChannelEvent>,
) -> Result<(), PayloadError> {
    let v = req_obj(c, "value", path)?;
    let path = format!("{path}.value");
    let md = req_obj(v, "metadata", &path)?;
    let number = req_id(md, "phone_number_id", &format!("{path}.metadata"))?;
    if number != cfg.phone_number_id {
        out.push(ignored("other_number"));
        return Ok(());
    }
    let mut names: Vec<(String, String)> = Vec::new();
    for (k, contact) in opt_array(v, "contacts", &path)?.iter().enumerate() {
        let cp = format!("{path}.contacts[{k}]");
        let contact = as_obj(contact, &cp)?;
        let wa_id = opt_id(contact, "wa_id", &cp)?;
        let name = match opt_obj(contact, "profile", &cp)? {
            Some(p) => opt_str(p, "name", &format!("{cp}.profile"))?,
            None => None,
        };
        if let (Some(w), Some(n)) = (wa_id, name.filter(|n| !n.trim().is_empty())) {
            names.push((w, n));
        }
    }
    let name_of = |wa_id: &str| {
        names
            .iter()
            .find(|(w, _)| w == wa_id)
            .map(|(_, n)| n.clone())
    };
    let mut any = false;
    let list = if echoes { "message_echoes" } else { "messages" };
    for (k, m) in opt_array(v, list, &path)?.iter().enumerate() {
        any = true;
        let mp = format!("{path}.{list}[{k}]");
        crate::salvage(out, |out| {
            let m = as_obj(m, &mp)?;
            if echoes {
                parse_echo(m, &mp, &name_of, out)
            } else {
                parse_message(m, &mp, &name_of, out)
            }
        });
    }
    for (k, s) in opt_array(v, "statuses", &path)?.iter().enumerate() {
        any = true;
        let sp = format!("{path}.statuses[{k}]");
        crate::salvage(out, |out| parse_status(as_obj(s, &sp)?, &sp, out));
    }
    if !any {
        // e.g. a value carrying only `errors`.
        out.push(ignored(list));
    }
    Ok(())
}

/// What a message shows: its text (or caption) and attachments, or why it is not shown.
enum Content {
    Shown {
        text: String,
        attachments: Vec<Attachment>,
    },
    Ignored(String),
}

fn parse_message(
    m: &Map<String, Value>,
    path: &str,
    name_of: &dyn Fn(&str) -> Option<String>,
    out: &mut Vec<ChannelEvent>,
) -> Result<(), PayloadError> {
    let from = req_id(m, "from", path)?;
    let id = req_id(m, "id", path)?;
    let at = opt_time(m, "timestamp", path)?;
    let ty = opt_str(m, "type", path)?.unwrap_or_default();
    let author = Author {
        external_id: from.clone(),
        name: name_of(&from),
        handle: None,
        followers: None,
        verified: None,
    };
    let event = match ty.as_str() {
        "reaction" => {
            let rp = format!("{path}.reaction");
            let r = req_obj(m, "reaction", path)?;
            ChannelEvent::Reaction(Reaction {
                target: req_id(r, "message_id", &rp)?,
                author,
                emoji: opt_str(r, "emoji", &rp)?.filter(|e| !e.is_empty()),
                at,
            })
        }
        "edit" => {
            let ep = format!("{path}.edit");
            let e = req_obj(m, "edit", path)?;
            let text = match opt_obj(e, "message", &ep)? {
                Some(inner) => {
                    let ip = format!("{ep}.message");
                    let inner_ty = opt_str(inner, "type", &ip)?.unwrap_or_default();
                    match content(inner, &inner_ty, &ip)? {
                        Content::Shown { text, .. } => text,
                        Content::Ignored(_) => String::new(),
                    }
                }
                None => String::new(),
            };
            ChannelEvent::Edited {
                external_id: req_id(e, "original_message_id", &ep)?,
                text,
                at,
            }
        }
        "revoke" => {
            let r = req_obj(m, "revoke", path)?;
            ChannelEvent::Deleted {
                external_id: req_id(r, "original_message_id", &format!("{path}.revoke"))?,
                at,
            }
        }
        _ => match content(m, &ty, path)? {
            Content::Shown { text, attachments } => ChannelEvent::Message(InboundMessage {
                external_id: id,
                thread: format!("dm:{from}"),
                public: false,
                author,
                text,
                sent_at: at,
                attachments,
                reply_to: reply_to(m, path)?,
            }),
            Content::Ignored(kind) => ignored(kind),
        },
    };
    out.push(event);
    Ok(())
}

/// A message the business sent from the WhatsApp Business app (coexistence): the brand's
/// reply, never one of Switchboard's (Cloud API sends are not echoed).
fn parse_echo(
    m: &Map<String, Value>,
    path: &str,
    name_of: &dyn Fn(&str) -> Option<String>,
    out: &mut Vec<ChannelEvent>,
) -> Result<(), PayloadError> {
    let to = req_id(m, "to", path)?;
    let id = req_id(m, "id", path)?;
    let ty = opt_str(m, "type", path)?.unwrap_or_default();
    let event = match content(m, &ty, path)? {
        Content::Shown { text, attachments } => ChannelEvent::Echo(EchoMessage {
            external_id: id,
            thread: format!("dm:{to}"),
            public: false,
            to: Author {
                external_id: to.clone(),
                name: name_of(&to),
                handle: None,
                followers: None,
                verified: None,
            },
            text,
            sent_at: opt_time(m, "timestamp", path)?,
            attachments,
            reply_to: reply_to(m, path)?,
            ours: None,
            other_app: true,
        }),
        Content::Ignored(kind) => ignored(format!("echo.{kind}")),
    };
    out.push(event);
    Ok(())
}

/// `context.id`: the message this one quotes (absent on forwards).
fn reply_to(m: &Map<String, Value>, path: &str) -> Result<Option<String>, PayloadError> {
    match opt_obj(m, "context", path)? {
        Some(c) => opt_id(c, "id", &format!("{path}.context")),
        None => Ok(None),
    }
}

fn shown(text: impl Into<String>, attachments: Vec<Attachment>) -> Content {
    Content::Shown {
        text: text.into(),
        attachments,
    }
}

/// The text and attachments of a message of type `ty` (also the inner message of an edit).
fn content(m: &Map<String, Value>, ty: &str, path: &str) -> Result<Content, PayloadError> {
    let sub = format!("{path}.{ty}");
    Ok(match ty {
        "text" => {
            let t = req_obj(m, "text", path)?;
            shown(opt_str(t, "body", &sub)?.unwrap_or_default(), Vec::new())
        }
        "image" | "video" | "audio" | "document" | "sticker" => {
            let media = req_obj(m, ty, path)?;
            let kind = if ty == "document" { "file" } else { ty };
            let attachment = Attachment {
                kind: kind.to_owned(),
                url: opt_str(media, "url", &sub)?,
                provider_id: opt_id(media, "id", &sub)?,
                mime_type: opt_str(media, "mime_type", &sub)?,
                name: opt_str(media, "filename", &sub)?.filter(|s| !s.is_empty()),
            };
            let caption = opt_str(media, "caption", &sub)?.unwrap_or_default();
            shown(caption, vec![attachment])
        }
        "location" => {
            let l = req_obj(m, "location", path)?;
            let coord = |k: &str| match l.get(k) {
                Some(Value::Number(n)) => Ok(n.to_string()),
                Some(Value::String(s)) if s.parse::<f64>().is_ok() => Ok(s.clone()),
                _ => Err(PayloadError::field(
                    &format!("{sub}.{k}"),
                    "must be a number",
                )),
            };
            let label: Vec<String> = [opt_str(l, "name", &sub)?, opt_str(l, "address", &sub)?]
                .into_iter()
                .flatten()
                .filter(|s| !s.trim().is_empty())
                .collect();
            let attachment = Attachment {
                kind: "location".into(),
                url: Some(format!(
                    "geo:{},{}",
                    coord("latitude")?,
                    coord("longitude")?
                )),
                provider_id: None,
                mime_type: None,
                name: (!label.is_empty()).then(|| label.join(", ")),
            };
            shown("", vec![attachment])
        }
        "contacts" => {
            let mut attachments = Vec::new();
            for (k, c) in opt_array(m, "contacts", path)?.iter().enumerate() {
                let cp = format!("{path}.contacts[{k}]");
                let c = as_obj(c, &cp)?;
                let name = match opt_obj(c, "name", &cp)? {
                    Some(n) => opt_str(n, "formatted_name", &format!("{cp}.name"))?,
                    None => None,
                };
                let mut phones = Vec::new();
                let mut wa_id = None;
                for (p, phone) in opt_array(c, "phones", &cp)?.iter().enumerate() {
                    let pp = format!("{cp}.phones[{p}]");
                    let phone = as_obj(phone, &pp)?;
                    phones.extend(opt_str(phone, "phone", &pp)?);
                    if wa_id.is_none() {
                        wa_id = opt_id(phone, "wa_id", &pp)?;
                    }
                }
                let label = match (name, phones.is_empty()) {
                    (Some(n), false) => Some(format!("{n} ({})", phones.join(", "))),
                    (Some(n), true) => Some(n),
                    (None, false) => Some(phones.join(", ")),
                    (None, true) => None,
                };
                attachments.push(Attachment {
                    kind: "contact".into(),
                    url: None,
                    provider_id: wa_id,
                    mime_type: None,
                    name: label,
                });
            }
            shown("", attachments)
        }
        "interactive" => match opt_obj(m, "interactive", path)? {
            None => Content::Ignored("interactive".into()),
            Some(i) => {
                let kind = opt_str(i, "type", &sub)?.unwrap_or_default();
                match kind.as_str() {
                    "button_reply" | "list_reply" => {
                        let r = req_obj(i, &kind, &sub)?;
                        let title = opt_str(r, "title", &format!("{sub}.{kind}"))?;
                        shown(title.unwrap_or_default(), Vec::new())
                    }
                    // Flows (nfm_reply), call permission replies…: structured data.
                    _ => Content::Ignored(format!("interactive.{kind}")),
                }
            }
        },
        "button" => {
            let b = req_obj(m, "button", path)?;
            let text = opt_str(b, "text", &sub)?.or(opt_str(b, "payload", &sub)?);
            shown(text.unwrap_or_default(), Vec::new())
        }
        "order" => {
            let o = req_obj(m, "order", path)?;
            let text = opt_str(o, "text", &sub)?.filter(|t| !t.trim().is_empty());
            let text = match text {
                Some(t) => t,
                None => order_summary(o, &sub)?,
            };
            shown(text, Vec::new())
        }
        "" => Content::Ignored("unknown".into()),
        // system, unsupported, unknown, request_welcome, and anything newer.
        other => Content::Ignored(other.to_owned()),
    })
}

/// `Order: 3 × HAMBURGER, 2 × SODA` from `product_items[{product_retailer_id, quantity}]`.
fn order_summary(o: &Map<String, Value>, path: &str) -> Result<String, PayloadError> {
    let mut items = Vec::new();
    for (k, item) in opt_array(o, "product_items", path)?.iter().enumerate() {
        let ip = format!("{path}.product_items[{k}]");
        let item = as_obj(item, &ip)?;
        let product = opt_id(item, "product_retailer_id", &ip)?.unwrap_or_else(|| "?".into());
        match item.get("quantity") {
            Some(Value::Number(q)) => items.push(format!("{q} × {product}")),
            _ => items.push(product),
        }
    }
    Ok(if items.is_empty() {
        "Order".to_owned()
    } else {
        format!("Order: {}", items.join(", "))
    })
}

/// `statuses[]`: `{id, status: sent|delivered|read|failed, timestamp, recipient_id, errors[]}`.
fn parse_status(
    s: &Map<String, Value>,
    path: &str,
    out: &mut Vec<ChannelEvent>,
) -> Result<(), PayloadError> {
    let status = opt_str(s, "status", path)?.unwrap_or_default();
    let state = match status.as_str() {
        "sent" => DeliveryState::Sent,
        "delivered" => DeliveryState::Delivered,
        "read" => DeliveryState::Read,
        "failed" => DeliveryState::Failed,
        // played (voice messages), deleted, warning, …
        other => {
            out.push(ignored(format!("status.{other}")));
            return Ok(());
        }
    };
    let error = if state == DeliveryState::Failed {
        let first = opt_array(s, "errors", path)?.first();
        Some(match first {
            Some(e) => {
                let ep = format!("{path}.errors[0]");
                let e = as_obj(e, &ep)?;
                let code = match e.get("code") {
                    Some(Value::Number(n)) => n.as_i64(),
                    Some(Value::String(c)) => c.parse().ok(),
                    _ => None,
                };
                let details = match opt_obj(e, "error_data", &ep)? {
                    Some(d) => opt_str(d, "details", &format!("{ep}.error_data"))?,
                    None => None,
                };
                GraphError {
                    code,
                    subcode: None,
                    message: opt_str(e, "message", &ep)?
                        .or(opt_str(e, "title", &ep)?)
                        .filter(|m| !m.is_empty()),
                    details: details.filter(|d| !d.is_empty()),
                    transient: false,
                }
                .describe()
            }
            None => "failed without an error code".to_owned(),
        })
    } else {
        None
    };
    out.push(ChannelEvent::Receipt(Receipt {
        external_id: req_id(s, "id", path)?,
        state,
        error,
        at: opt_time(s, "timestamp", path)?,
    }));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Sending.

/// WhatsApp's rules: a direct thread (`dm:<wa_id>`), non-empty text of at most 4096
/// characters, within 24 hours of the customer's last message.
pub fn check_reply(job: &SendJob) -> Result<(), RuleError> {
    check_text("WhatsApp", MAX_CHARS, &job.text)?;
    recipient(job)?;
    if let Some(t) = &job.template {
        // An approved template may go out at any time: that is what templates are for.
        return t
            .check()
            .map_err(|e| RuleError::new("invalid_template", e.0));
    }
    match elapsed_since_inbound(job) {
        Some(e) if e < WINDOW_MICROS => Ok(()),
        Some(_) => Err(RuleError::new(
            "window_closed",
            "More than 24 hours have passed since the customer last wrote: WhatsApp then \
             allows only an approved template message, not a free reply. Wait for the \
             customer to write again.",
        )),
        None => Err(RuleError::new(
            "window_closed",
            "The customer has not written on WhatsApp: only an approved template message may \
             be sent to start a conversation, not a free reply.",
        )),
    }
}

fn recipient(job: &SendJob) -> Result<&str, RuleError> {
    match job.thread.strip_prefix("dm:") {
        Some(wa_id) if !wa_id.is_empty() => Ok(wa_id),
        _ => Err(RuleError::new(
            "not_supported",
            "This conversation is not a WhatsApp chat Switchboard can reply to.",
        )),
    }
}

/// `POST {base}/{ver}/{phone_number_id}/messages` with `Authorization: Bearer` and
/// `{"messaging_product":"whatsapp","recipient_type":"individual","to","type":"text",
/// "text":{"body","preview_url":false}}`, plus `"context":{"message_id"}` when replying to a
/// message; or, for a template, `"type":"template","template":{"name","language":{"code"},
/// "components":[{"type":"body","parameters":[{"type":"text","text"}…]}]}`.
pub fn send_request(
    cfg: &Config,
    creds: &Credentials,
    job: &SendJob,
) -> Result<HttpRequest, RuleError> {
    check_reply(job)?;
    let mut body = match &job.template {
        None => json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": recipient(job)?,
            "type": "text",
            "text": { "body": job.text, "preview_url": false },
        }),
        Some(t) => {
            let mut template = json!({"name": t.name, "language": {"code": t.language}});
            if !t.parameters.is_empty() {
                let params: Vec<Value> = t
                    .parameters
                    .iter()
                    .map(|p| json!({"type": "text", "text": p}))
                    .collect();
                template["components"] = json!([{"type": "body", "parameters": params}]);
            }
            json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": recipient(job)?,
                "type": "template",
                "template": template,
            })
        }
    };
    // A template stands on its own (it reopens a conversation): it quotes nothing.
    if let Some(id) = job.in_reply_to.as_deref().filter(|s| !s.is_empty())
        && job.template.is_none()
    {
        body["context"] = json!({ "message_id": id });
    }
    let url = format!(
        "{}/{}/{}/messages",
        cfg.api_base,
        cfg.api_version,
        meta::path_segment(&cfg.phone_number_id)
    );
    Ok(json_request(url, &creds.access_token, &body))
}

/// Throttling and temporary unavailability: 4 (app calls), 80007 (WABA), 130429 (number
/// throughput), 131056 (pair rate: the same recipient too often), 131016 (service
/// unavailable), 133004 (server temporarily unavailable).
fn is_retryable(code: i64) -> bool {
    matches!(code, 4 | 80007 | 130429 | 131056 | 131016 | 133004)
}

/// Reads the answer to a send: `{"messages":[{"id":"wamid…"}]}` is `Accepted{Sent}` (statuses
/// follow); throttling, transient errors and 5xx are retried; anything else (131047: the
/// 24-hour window has closed, 131026: undeliverable, …) fails with `<code>: <message>`.
pub fn read_response(status: u16, retry_after: Option<&str>, body: &[u8]) -> SendOutcome {
    if (200..300).contains(&status) {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        if v.get("error").is_none() {
            let id = v
                .get("messages")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(|m| m.get("id"))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned);
            return SendOutcome::Accepted {
                external_id: id,
                state: DeliveryState::Sent,
            };
        }
    }
    read_graph_failure(status, retry_after, body, is_retryable, |_| None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::Timestamp;

    const NUMBER: &str = "106540352242922";

    fn cfg() -> Config {
        Config::from_json(&json!({ "phone_number_id": NUMBER })).unwrap()
    }

    fn creds() -> Credentials {
        Credentials::from_json(
            &json!({"app_secret": "s", "verify_token": "vt", "access_token": "WA-TOKEN"}),
        )
        .unwrap()
    }

    fn envelope(value: &str) -> String {
        format!(
            r#"{{"object":"whatsapp_business_account","entry":[{{"id":"419561257915477","changes":[{{"field":"messages","value":{value}}}]}}]}}"#
        )
    }

    fn messages(msgs: &str) -> String {
        envelope(&format!(
            r#"{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"15550783881","phone_number_id":"{NUMBER}"}},
                "contacts":[{{"profile":{{"name":"Sheena Nelson"}},"wa_id":"16505551234"}}],"messages":[{msgs}]}}"#
        ))
    }

    fn statuses(sts: &str) -> String {
        envelope(&format!(
            r#"{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"15550783881","phone_number_id":"{NUMBER}"}},"statuses":[{sts}]}}"#
        ))
    }

    fn all(body: &str) -> Vec<ChannelEvent> {
        parse(body.as_bytes(), &cfg()).unwrap()
    }

    fn one(body: &str) -> ChannelEvent {
        let mut v = all(body);
        assert_eq!(v.len(), 1, "{v:?}");
        v.remove(0)
    }

    fn msg(body: &str) -> InboundMessage {
        match one(body) {
            ChannelEvent::Message(m) => m,
            other => panic!("{other:?}"),
        }
    }

    fn ts(secs: i64) -> Timestamp {
        Timestamp::from_unix_secs(secs).unwrap()
    }

    fn job(text: &str, secs_ago: Option<i64>) -> SendJob {
        SendJob {
            message_id: "sb-1".into(),
            thread: "dm:16505551234".into(),
            public: false,
            to: "16505551234".into(),
            in_reply_to: None,
            private_reply: false,
            template: None,
            text: text.into(),
            last_inbound_at: secs_ago.map(|s| ts(1_700_000_000 - s)),
            now: ts(1_700_000_000),
        }
    }

    #[test]
    fn config_and_credentials() {
        let c = cfg();
        assert_eq!(c.phone_number_id, NUMBER);
        assert_eq!(c.api_base, "https://graph.facebook.com");
        assert_eq!(c.api_version, "v23.0");
        assert_eq!(
            Config::from_json(&json!({})).unwrap_err().message,
            "config.phone_number_id: is required"
        );
        assert_eq!(
            Config::from_json(&json!({"phone_number_id": "1", "api_base": "x"}))
                .unwrap_err()
                .field
                .as_deref(),
            Some("config.api_base")
        );
        let dbg = format!("{:?}", creds());
        assert!(!dbg.contains("WA-TOKEN") && dbg.contains("<redacted>"));
        assert_eq!(
            Credentials::from_json(&json!({"verify_token": "v", "access_token": "t"}))
                .unwrap_err()
                .message,
            "credentials.app_secret: is required"
        );
    }

    #[test]
    fn verify_and_handshake_delegate() {
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let sig = meta::sign(b"s", body);
        assert_eq!(verify(b"s", body, Some(&sig), None), Ok(()));
        let mut changed = body.to_vec();
        changed[3] ^= 0x20;
        assert_eq!(
            verify(b"s", &changed, Some(&sig), None),
            Err(SignatureError::Mismatch)
        );
        assert!(matches!(
            verify(b"s", body, None, None),
            Err(SignatureError::Missing(_))
        ));
        assert!(matches!(
            verify(b"s", body, Some("sha256=nothex"), None),
            Err(SignatureError::Malformed(..))
        ));
        assert_eq!(
            handshake(
                "hub.mode=subscribe&hub.challenge=42&hub.verify_token=vt",
                "vt"
            ),
            Ok("42".into())
        );
        assert_eq!(
            handshake(
                "hub.mode=subscribe&hub.challenge=42&hub.verify_token=x",
                "vt"
            ),
            Err(HandshakeError::TokenMismatch)
        );
        assert_eq!(dedupe_key(body), None);
    }

    #[test]
    fn text_message_with_context_and_author_name() {
        let m = msg(&messages(
            r#"{"context":{"from":"15550783881","id":"wamid.ORIG"},"from":"16505551234","id":"wamid.A","timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color?"}}"#,
        ));
        assert_eq!(m.external_id, "wamid.A");
        assert_eq!(m.thread, "dm:16505551234");
        assert!(!m.public);
        assert_eq!(m.author.external_id, "16505551234");
        assert_eq!(m.author.name.as_deref(), Some("Sheena Nelson"));
        assert_eq!(m.text, "Does it come in another color?");
        assert_eq!(m.sent_at, Some(ts(1_749_416_383)));
        assert_eq!(m.reply_to.as_deref(), Some("wamid.ORIG"));
        // A forward has a context without id; an unknown sender has no name.
        let m = msg(&messages(
            r#"{"context":{"forwarded":true},"from":"4900","id":"wamid.B","timestamp":"1","type":"text","text":{"body":"fw"}}"#,
        ));
        assert_eq!((m.reply_to, m.author.name), (None, None));
    }

    #[test]
    fn media_location_contacts() {
        let m = msg(&messages(
            r#"{"from":"16505551234","id":"wamid.D","timestamp":"1","type":"document","document":{"caption":"the invoice","filename":"inv.pdf","mime_type":"application/pdf","sha256":"x","id":"MEDIA1"}}"#,
        ));
        assert_eq!(m.text, "the invoice");
        assert_eq!(
            m.attachments,
            vec![Attachment {
                kind: "file".into(),
                url: None,
                provider_id: Some("MEDIA1".into()),
                mime_type: Some("application/pdf".into()),
                name: Some("inv.pdf".into())
            }]
        );
        for (ty, kind) in [
            ("image", "image"),
            ("video", "video"),
            ("audio", "audio"),
            ("sticker", "sticker"),
        ] {
            let m = msg(&messages(&format!(
                r#"{{"from":"1","id":"w","timestamp":"1","type":"{ty}","{ty}":{{"mime_type":"x/y","id":"M","url":"https://lookaside/x"}}}}"#
            )));
            assert_eq!(m.text, "");
            assert_eq!(m.attachments[0].kind, kind);
            assert_eq!(m.attachments[0].url.as_deref(), Some("https://lookaside/x"));
        }
        let m = msg(&messages(
            r#"{"from":"1","id":"w","timestamp":"1","type":"location","location":{"latitude":37.4611978,"longitude":-122.2164385,"name":"Facebook HQ","address":"1 Hacker Way, Menlo Park, CA 94025"}}"#,
        ));
        let a = &m.attachments[0];
        assert_eq!(a.kind, "location");
        assert_eq!(a.url.as_deref(), Some("geo:37.4611978,-122.2164385"));
        assert_eq!(
            a.name.as_deref(),
            Some("Facebook HQ, 1 Hacker Way, Menlo Park, CA 94025")
        );
        let m = msg(&messages(
            r#"{"from":"1","id":"w","timestamp":"1","type":"contacts","contacts":[{"name":{"first_name":"Chandler","formatted_name":"Chandler Bing"},"phones":[{"phone":"+1 555-555-5555","wa_id":"15555555555","type":"CELL"}]},{"name":{"formatted_name":"Monica"}}]}"#,
        ));
        assert_eq!(m.attachments.len(), 2);
        assert_eq!(m.attachments[0].kind, "contact");
        assert_eq!(
            m.attachments[0].name.as_deref(),
            Some("Chandler Bing (+1 555-555-5555)")
        );
        assert_eq!(m.attachments[0].provider_id.as_deref(), Some("15555555555"));
        assert_eq!(m.attachments[1].name.as_deref(), Some("Monica"));
    }

    #[test]
    fn buttons_lists_orders() {
        let t = |body: &str| msg(&messages(body)).text;
        assert_eq!(
            t(
                r#"{"from":"1","id":"w","timestamp":"1","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"b1","title":"Yes please"}}}"#
            ),
            "Yes please"
        );
        assert_eq!(
            t(
                r#"{"from":"1","id":"w","timestamp":"1","type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"l1","title":"Blue","description":"d"}}}"#
            ),
            "Blue"
        );
        assert_eq!(
            t(
                r#"{"from":"1","id":"w","timestamp":"1","type":"button","button":{"payload":"P","text":"Stop promotions"}}"#
            ),
            "Stop promotions"
        );
        assert_eq!(
            t(
                r#"{"from":"1","id":"w","timestamp":"1","type":"order","order":{"catalog_id":"c","text":"","product_items":[{"product_retailer_id":"HAMBURGER","quantity":3,"item_price":30,"currency":"ILS"},{"product_retailer_id":"SODA","quantity":2}]}}"#
            ),
            "Order: 3 × HAMBURGER, 2 × SODA"
        );
    }

    #[test]
    fn reactions_edits_deletions() {
        let r = |emoji: &str| {
            one(&messages(&format!(
                r#"{{"from":"16505551234","id":"wamid.R","timestamp":"1697044456","type":"reaction","reaction":{{"message_id":"wamid.OURS"{emoji}}}}}"#
            )))
        };
        let want = |emoji: Option<&str>| {
            ChannelEvent::Reaction(Reaction {
                target: "wamid.OURS".into(),
                author: Author {
                    external_id: "16505551234".into(),
                    name: Some("Sheena Nelson".into()),
                    handle: None,
                    followers: None,
                    verified: None,
                },
                emoji: emoji.map(str::to_owned),
                at: Some(ts(1_697_044_456)),
            })
        };
        assert_eq!(r(r#","emoji":"😮""#), want(Some("😮")));
        assert_eq!(r(r#","emoji":"""#), want(None));
        assert_eq!(r(""), want(None));
        let edited = one(&messages(
            r#"{"from":"1","id":"wamid.E","timestamp":"1749854575","type":"edit","edit":{"original_message_id":"wamid.O","message":{"context":{"id":"M0"},"type":"image","image":{"caption":"Updated caption","mime_type":"image/jpeg","id":"1"}}}}"#,
        ));
        assert_eq!(
            edited,
            ChannelEvent::Edited {
                external_id: "wamid.O".into(),
                text: "Updated caption".into(),
                at: Some(ts(1_749_854_575))
            }
        );
        let deleted = one(&messages(
            r#"{"from":"1","id":"wamid.X","timestamp":"1697043223","type":"revoke","revoke":{"original_message_id":"wamid.O"}}"#,
        ));
        assert_eq!(
            deleted,
            ChannelEvent::Deleted {
                external_id: "wamid.O".into(),
                at: Some(ts(1_697_043_223))
            }
        );
    }

    #[test]
    fn ignored_types_fields_and_numbers() {
        let kind = |e: ChannelEvent| match e {
            ChannelEvent::Ignored { kind } => kind,
            other => panic!("{other:?}"),
        };
        let table = [
            (
                r#"{"from":"1","id":"w","timestamp":"1","type":"system","system":{"body":"User changed number","type":"user_changed_number"}}"#,
                "system",
            ),
            (
                r#"{"from":"1","id":"w","timestamp":"1","type":"unsupported","errors":[{"code":131051}]}"#,
                "unsupported",
            ),
            (
                r#"{"from":"1","id":"w","timestamp":"1","type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{"body":"Sent"}}}"#,
                "interactive.nfm_reply",
            ),
            (
                r#"{"from":"1","id":"w","timestamp":"1","type":"interactive"}"#,
                "interactive",
            ),
            (r#"{"from":"1","id":"w","timestamp":"1"}"#, "unknown"),
            (
                r#"{"from":"1","id":"w","timestamp":"1","type":"hologram","hologram":{}}"#,
                "hologram",
            ),
        ];
        for (m, want) in table {
            assert_eq!(kind(one(&messages(m))), want, "{m}");
        }
        let other = envelope(
            r#"{"metadata":{"phone_number_id":"999"},"messages":[{"from":"1","id":"w","timestamp":"1","type":"text","text":{"body":"x"}}]}"#,
        );
        assert_eq!(kind(one(&other)), "other_number");
        let fields = r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[
            {"field":"account_update","value":{"event":"ACCOUNT_DELETED"}},
            {"field":"message_template_status_update","value":{"event":"APPROVED"}},
            {"field":"calls","value":{"calls":[]}}]}]}"#;
        let kinds: Vec<_> = all(fields).into_iter().map(kind).collect();
        assert_eq!(
            kinds,
            ["account_update", "message_template_status_update", "calls"]
        );
        assert_eq!(kind(one(r#"{"object":"page","entry":[]}"#)), "other_object");
    }

    #[test]
    fn statuses_become_receipts() {
        let events = all(&statuses(
            r#"{"id":"wamid.1","status":"sent","timestamp":"1698266945","recipient_id":"1","conversation":{"id":"c","origin":{"type":"service"}},"pricing":{"billable":true,"pricing_model":"CBP","category":"service"}},
               {"id":"wamid.1","status":"delivered","timestamp":"1698266946","recipient_id":"1"},
               {"id":"wamid.1","status":"read","timestamp":"1698266947","recipient_id":"1"},
               {"id":"wamid.2","status":"failed","timestamp":"1698266948","recipient_id":"1","errors":[{"code":131047,"title":"Re-engagement message","message":"Re-engagement message","error_data":{"details":"More than 24 hours have passed since the recipient last replied to the sender number."}}]},
               {"id":"wamid.3","status":"failed","timestamp":"1698266949","recipient_id":"1"},
               {"id":"wamid.1","status":"played","timestamp":"1698266950","recipient_id":"1"},
               {"id":"wamid.1","status":"deleted","timestamp":"1698266951","recipient_id":"1"}"#,
        ));
        let r = |id: &str, state, error: Option<&str>, at| {
            ChannelEvent::Receipt(Receipt {
                external_id: id.into(),
                state,
                error: error.map(str::to_owned),
                at: Some(ts(at)),
            })
        };
        assert_eq!(
            events,
            vec![
                r("wamid.1", DeliveryState::Sent, None, 1_698_266_945),
                r("wamid.1", DeliveryState::Delivered, None, 1_698_266_946),
                r("wamid.1", DeliveryState::Read, None, 1_698_266_947),
                r(
                    "wamid.2",
                    DeliveryState::Failed,
                    Some(
                        "131047: Re-engagement message — More than 24 hours have passed since the recipient last replied to the sender number."
                    ),
                    1_698_266_948
                ),
                r(
                    "wamid.3",
                    DeliveryState::Failed,
                    Some("failed without an error code"),
                    1_698_266_949
                ),
                ignored("status.played"),
                ignored("status.deleted"),
            ]
        );
    }

    #[test]
    fn business_app_echoes() {
        let body = envelope(&format!(
            r#"{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"15550783881","phone_number_id":"{NUMBER}"}},
                "message_echoes":[{{"from":"15550783881","to":"16505551234","id":"wamid.E1","timestamp":"1697043223","type":"text","text":{{"body":"Sent from the app"}}}},
                                  {{"from":"15550783881","to":"16505551234","id":"wamid.E2","timestamp":"1697043224","type":"revoke","revoke":{{"original_message_id":"wamid.E1"}}}}]}}"#
        ))
        .replace("\"field\":\"messages\"", "\"field\":\"smb_message_echoes\"");
        let events = all(&body);
        let ChannelEvent::Echo(e) = &events[0] else {
            panic!("{events:?}")
        };
        assert_eq!(
            (
                e.thread.as_str(),
                e.text.as_str(),
                e.other_app,
                e.ours.as_deref()
            ),
            ("dm:16505551234", "Sent from the app", true, None)
        );
        assert_eq!(events[1], ignored("echo.revoke"));
    }

    #[test]
    fn batches_return_everything() {
        let body = format!(
            r#"{{"object":"whatsapp_business_account","entry":[
                {{"id":"W","changes":[{{"field":"messages","value":{{"metadata":{{"phone_number_id":"{NUMBER}"}},
                    "messages":[{{"from":"1","id":"a","timestamp":"1","type":"text","text":{{"body":"one"}}}},{{"from":"2","id":"b","timestamp":"2","type":"text","text":{{"body":"two"}}}}],
                    "statuses":[{{"id":"s","status":"delivered","timestamp":"3","recipient_id":"1"}}]}}}}]}},
                {{"id":"W","changes":[{{"field":"messages","value":{{"metadata":{{"phone_number_id":"{NUMBER}"}},
                    "messages":[{{"from":"3","id":"c","timestamp":"4","type":"text","text":{{"body":"three"}}}}]}}}}]}}]}}"#
        );
        let kinds: Vec<_> = all(&body).iter().map(|e| e.kind().to_owned()).collect();
        assert_eq!(kinds, ["message", "message", "receipt", "message"]);
    }

    #[test]
    fn malformed_bodies_name_the_field() {
        let base = "entry[0].changes[0].value";
        let table: Vec<(String, Option<String>)> = vec![
            ("{".into(), None),
            ("null".into(), None),
            (r#"{"entry":[]}"#.into(), Some("object".into())),
            (
                r#"{"object":"whatsapp_business_account"}"#.into(),
                Some("entry".into()),
            ),
            (
                r#"{"object":"whatsapp_business_account","entry":[{"changes":{}}]}"#.into(),
                Some("entry[0].changes".into()),
            ),
            (
                envelope(r#"{"messages":[]}"#),
                Some(format!("{base}.metadata")),
            ),
            (
                envelope(r#"{"metadata":{"phone_number_id":5.5},"messages":[]}"#),
                Some(format!("{base}.metadata.phone_number_id")),
            ),
            (
                messages(r#"{"id":"w","timestamp":"1","type":"text","text":{"body":"x"}}"#),
                Some(format!("{base}.messages[0].from")),
            ),
            (
                messages(r#"{"from":"1","timestamp":"1","type":"text","text":{"body":"x"}}"#),
                Some(format!("{base}.messages[0].id")),
            ),
            (
                messages(r#"{"from":"1","id":"w","timestamp":"1","type":"text"}"#),
                Some(format!("{base}.messages[0].text")),
            ),
            (
                messages(
                    r#"{"from":"1","id":"w","timestamp":"later","type":"text","text":{"body":"x"}}"#,
                ),
                Some(format!("{base}.messages[0].timestamp")),
            ),
            (
                messages(r#"{"from":"1","id":"w","timestamp":"1","type":"image","image":"x"}"#),
                Some(format!("{base}.messages[0].image")),
            ),
            (
                messages(
                    r#"{"from":"1","id":"w","timestamp":"1","type":"location","location":{"latitude":"north"}}"#,
                ),
                Some(format!("{base}.messages[0].location.latitude")),
            ),
            (
                messages(
                    r#"{"from":"1","id":"w","timestamp":"1","type":"reaction","reaction":{"emoji":"x"}}"#,
                ),
                Some(format!("{base}.messages[0].reaction.message_id")),
            ),
            (
                messages(r#"{"from":"1","id":"w","timestamp":"1","type":"revoke","revoke":{}}"#),
                Some(format!("{base}.messages[0].revoke.original_message_id")),
            ),
            (
                statuses(r#"{"status":"read","timestamp":"1"}"#),
                Some(format!("{base}.statuses[0].id")),
            ),
        ];
        for (body, field) in table {
            let err = crate::first_problem(parse(body.as_bytes(), &cfg()));
            assert_eq!(err.field, field, "{body}: {err}");
        }
    }

    #[test]
    fn rules_table() {
        let h = 3600;
        let table = [
            (job("hi", Some(h)), Ok(())),
            (job("hi", Some(24 * h - 1)), Ok(())),
            (job("hi", Some(24 * h)), Err("window_closed")),
            (job("hi", None), Err("window_closed")),
            (job(" \n", Some(h)), Err("empty")),
            (job(&"ß".repeat(4096), Some(h)), Ok(())),
            (job(&"ß".repeat(4097), Some(h)), Err("too_long")),
            (
                SendJob {
                    thread: "comment:1".into(),
                    ..job("hi", Some(h))
                },
                Err("not_supported"),
            ),
        ];
        for (j, want) in table {
            assert_eq!(check_reply(&j).map_err(|e| e.code), want, "{j:?}");
        }
        let err = check_reply(&job("hi", Some(25 * h))).unwrap_err();
        assert!(err.message.contains("template"), "{}", err.message);
    }

    #[test]
    fn templates_go_out_after_the_window_and_are_checked() {
        let t = |name: &str, language: &str, parameters: &[&str]| switchboard_core::Template {
            name: name.into(),
            language: language.into(),
            parameters: parameters.iter().map(|p| (*p).to_owned()).collect(),
        };
        // Three days after the customer wrote, and to someone who never wrote.
        for ago in [Some(3 * 24 * 3600), None] {
            let j = SendJob {
                template: Some(t("order_shipped", "en_US", &["5521", "Tuesday"])),
                ..job("Your order 5521 ships Tuesday.", ago)
            };
            let req = send_request(&cfg(), &creds(), &j).unwrap();
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            assert_eq!(
                body,
                json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "16505551234",
                       "type": "template", "template": {"name": "order_shipped", "language": {"code": "en_US"},
                       "components": [{"type": "body", "parameters": [{"type": "text", "text": "5521"}, {"type": "text", "text": "Tuesday"}]}]}})
            );
        }
        let j = SendJob {
            template: Some(t("hello_world", "en", &[])),
            ..job("Hello", None)
        };
        let body: Value =
            serde_json::from_slice(&send_request(&cfg(), &creds(), &j).unwrap().body).unwrap();
        assert_eq!(
            body["template"],
            json!({"name": "hello_world", "language": {"code": "en"}}),
            "no parameters, no components"
        );
        for (bad, field) in [
            (t("Order Shipped", "en", &[]), "template.name"),
            (t("", "en", &[]), "template.name"),
            (t("ok", "english", &[]), "template.language"),
            (t("ok", "en_", &[]), "template.language"),
            (t("ok", "en", &[" "]), "template.parameters[0]"),
            (t("ok", "en", &["a\nb"]), "template.parameters[0]"),
            (t("ok", "en", &["x"; 21]), "template.parameters"),
        ] {
            let j = SendJob {
                template: Some(bad),
                ..job("Hello", Some(60))
            };
            let e = check_reply(&j).unwrap_err();
            assert_eq!(e.code, "invalid_template");
            assert!(e.message.starts_with(field), "{}", e.message);
        }
    }

    #[test]
    fn send_requests() {
        let req = send_request(&cfg(), &creds(), &job("Hello", Some(60))).unwrap();
        assert_eq!(req.method, "POST");
        assert_eq!(
            req.url,
            "https://graph.facebook.com/v23.0/106540352242922/messages"
        );
        assert_eq!(
            req.headers,
            vec![
                ("content-type".to_owned(), "application/json".to_owned()),
                ("authorization".to_owned(), "Bearer WA-TOKEN".to_owned()),
            ]
        );
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(
            body,
            json!({"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234",
                   "type":"text","text":{"body":"Hello","preview_url":false}})
        );
        let j = SendJob {
            in_reply_to: Some("wamid.Q".into()),
            ..job("Yes", Some(60))
        };
        let cfg = Config::from_json(
            &json!({"phone_number_id": NUMBER, "api_base": "http://127.0.0.1:1/", "api_version": "v22.0"}),
        )
        .unwrap();
        let req = send_request(&cfg, &creds(), &j).unwrap();
        assert_eq!(req.url, "http://127.0.0.1:1/v22.0/106540352242922/messages");
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(body["context"], json!({"message_id":"wamid.Q"}));
        assert_eq!(
            send_request(&cfg, &creds(), &job("late", Some(90_000)))
                .unwrap_err()
                .code,
            "window_closed"
        );
    }

    #[test]
    fn read_response_table() {
        assert_eq!(
            read_response(
                200,
                None,
                br#"{"messaging_product":"whatsapp","contacts":[{"input":"+16505551234","wa_id":"16505551234"}],"messages":[{"id":"wamid.HBgL"}]}"#
            ),
            SendOutcome::Accepted {
                external_id: Some("wamid.HBgL".into()),
                state: DeliveryState::Sent
            }
        );
        assert_eq!(
            read_response(429, Some("12"), br#"{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,"fbtrace_id":"A"}}"#),
            SendOutcome::Retry {
                after_secs: Some(12),
                error: "130429: (#130429) Rate limit hit".into()
            }
        );
        for code in [131056, 80007, 4, 130429] {
            let b = format!(r#"{{"error":{{"message":"slow down","code":{code}}}}}"#);
            assert!(
                matches!(
                    read_response(400, None, b.as_bytes()),
                    SendOutcome::Retry { .. }
                ),
                "{code}"
            );
        }
        assert!(matches!(
            read_response(503, None, b"Service Unavailable"),
            SendOutcome::Retry {
                after_secs: None,
                ..
            }
        ));
        assert_eq!(
            read_response(
                400,
                None,
                br#"{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047,"error_data":{"messaging_product":"whatsapp","details":"More than 24 hours have passed since the recipient last replied to the sender number."},"fbtrace_id":"A"}}"#
            ),
            SendOutcome::Failed {
                error: "131047: (#131047) Re-engagement message — More than 24 hours have passed since the recipient last replied to the sender number.".into()
            }
        );
        assert!(matches!(
            read_response(400, None, br#"{"error":{"message":"Invalid parameter","code":100}}"#),
            SendOutcome::Failed { error } if error == "100: Invalid parameter"
        ));
        assert!(matches!(
            read_response(401, None, b"\xff\xfe garbage"),
            SendOutcome::Failed { error } if error.starts_with("HTTP 401: ")
        ));
        assert_eq!(
            read_response(200, None, b""),
            SendOutcome::Accepted {
                external_id: None,
                state: DeliveryState::Sent
            }
        );
    }
}

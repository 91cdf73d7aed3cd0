//! Channel adapters. Each provider gets a module that verifies what arrives, parses it into
//! core [`InboundMessage`](switchboard_core::InboundMessage)s and builds outbound requests.
//! No I/O here: the server does the HTTP, so every adapter is tested as plain functions.

pub mod adapter;
pub mod chat_files;
pub mod email;
pub mod meta;
pub mod notify;
pub mod retry;
pub mod telegram;
pub mod twcs;
pub mod twilio;
pub mod webchat;
pub mod webhook;
pub mod whatsapp;
pub mod x;

use serde::Serialize;
use switchboard_core::ChannelEvent;

/// The kinds of channel Switchboard can connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// The generic signed-webhook channel (see `docs/WEBHOOK.md`).
    Webhook,
    /// A Facebook Page: Messenger DMs and the Page's feed comments.
    Messenger,
    /// An Instagram professional account: DMs, comments, mentions.
    Instagram,
    /// A WhatsApp Cloud API phone number.
    Whatsapp,
    /// An X (Twitter) account: DMs, mentions and replies.
    X,
    /// A Twilio phone number or messaging service (SMS/MMS).
    Twilio,
    /// A Telegram bot.
    Telegram,
    /// A mailbox: mail in over SMTP or IMAP, replies out through an SMTP relay.
    Email,
    /// The chat widget on the customer's own site, over a WebSocket to Switchboard.
    Webchat,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 9] = [
        ChannelKind::Webhook,
        ChannelKind::Messenger,
        ChannelKind::Instagram,
        ChannelKind::Whatsapp,
        ChannelKind::X,
        ChannelKind::Twilio,
        ChannelKind::Telegram,
        ChannelKind::Email,
        ChannelKind::Webchat,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "webhook",
            ChannelKind::Messenger => "messenger",
            ChannelKind::Instagram => "instagram",
            ChannelKind::Whatsapp => "whatsapp",
            ChannelKind::X => "x",
            ChannelKind::Twilio => "twilio",
            ChannelKind::Telegram => "telegram",
            ChannelKind::Email => "email",
            ChannelKind::Webchat => "webchat",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// An HTTP request to a provider's API, built by an adapter and sent by the server.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `POST` for every send so far.
    pub method: &'static str,
    /// The whole URL: the channel's configured API base joined with the provider's path.
    pub url: String,
    /// Header names in lower case, `content-type` and `authorization` included.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl std::fmt::Debug for HttpRequest {
    // Authorization headers and URLs with tokens in them (Telegram's `/bot<token>/`) carry
    // credentials: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &"<redacted>")
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// One reply to send, as the outbound worker hands it to an adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendJob {
    /// Switchboard's message id: the idempotency key where the provider takes one.
    pub message_id: String,
    /// The conversation's thread key as the adapter produced it on the way in.
    pub thread: String,
    pub public: bool,
    /// The customer's id on the channel (PSID, IGSID, wa_id, phone number, chat id, user id).
    pub to: String,
    /// The provider's id of the customer message this answers, if any.
    pub in_reply_to: Option<String>,
    /// Answer a public comment with a private message (Meta private reply, X DM).
    pub private_reply: bool,
    pub text: String,
    /// Send an approved template (WhatsApp) instead of free text; `text` is what it reads as.
    pub template: Option<switchboard_core::Template>,
    /// When the customer last wrote on this conversation (the 24-hour windows).
    pub last_inbound_at: Option<switchboard_core::Timestamp>,
    pub now: switchboard_core::Timestamp,
}

/// What a provider's answer to a send means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Accepted. `external_id` is the provider's id for the message (receipts and echoes
    /// name it); `state` is `Sent` when receipts will follow, `Delivered` when none will.
    Accepted {
        external_id: Option<String>,
        state: switchboard_core::DeliveryState,
    },
    /// Try again: throttled (`after_secs` from `Retry-After` or the provider's body), a
    /// server error or a timeout.
    Retry {
        after_secs: Option<u64>,
        error: String,
    },
    /// Refused for good, with the provider's error code and message.
    Failed { error: String },
}

/// A reply the provider's rules do not allow, said before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RuleError {
    /// `window_closed`, `too_long`, `private_reply_used`, `not_supported`, `missing_config`.
    pub code: &'static str,
    pub message: String,
}

impl RuleError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        RuleError {
            code,
            message: message.into(),
        }
    }
}

/// An inbound request that is not acceptable, with the field at fault when there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PayloadError {
    /// The JSON path of the offending field (`from.id`), if any.
    pub field: Option<String>,
    pub message: String,
}

/// Who a reply goes to: the id in the thread key after `prefix` (`chat:<id>`, `sms:<number>`),
/// else the job's `to`; `None` when both are blank.
pub(crate) fn thread_or_to<'a>(job: &'a SendJob, prefix: &str) -> Option<&'a str> {
    job.thread
        .strip_prefix(prefix)
        .filter(|s| !s.trim().is_empty())
        .or_else(|| Some(job.to.as_str()).filter(|s| !s.trim().is_empty()))
}

/// Reads one item of a batched envelope (a Meta entry or event, a WhatsApp message, an X
/// event): its events, or, when the item cannot be read, one [`ChannelEvent::Malformed`]
/// naming it, so that the envelope's other items still count and nothing valid is lost.
pub(crate) fn salvage(
    out: &mut Vec<ChannelEvent>,
    read: impl FnOnce(&mut Vec<ChannelEvent>) -> Result<(), PayloadError>,
) {
    let mut items = Vec::new();
    match read(&mut items) {
        Ok(()) => out.append(&mut items),
        Err(e) => out.push(ChannelEvent::Malformed {
            field: e.field,
            reason: e.message,
        }),
    }
}

/// The error of a body that could not be read at all, else the first malformed item's.
#[cfg(test)]
pub(crate) fn first_problem(parsed: Result<Vec<ChannelEvent>, PayloadError>) -> PayloadError {
    match parsed {
        Err(e) => e,
        Ok(events) => events
            .into_iter()
            .find_map(|e| match e {
                ChannelEvent::Malformed { field, reason } => Some(PayloadError {
                    field,
                    message: reason,
                }),
                _ => None,
            })
            .expect("a malformed item"),
    }
}

impl PayloadError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        PayloadError {
            field: Some(field.to_owned()),
            message: format!("{field}: {}", message.into()),
        }
    }
    pub fn body(message: impl Into<String>) -> Self {
        PayloadError {
            field: None,
            message: message.into(),
        }
    }
}

/// The signature on an inbound request is missing or wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the {0} header is missing")]
    Missing(&'static str),
    /// The header, and the form it must have (`sha256=<hex>`, `<base64>`…).
    #[error("the {0} header is not of the form {1}")]
    Malformed(&'static str, &'static str),
    #[error("the signature does not match the body")]
    Mismatch,
}

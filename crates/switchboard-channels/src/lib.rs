//! Channel adapters. Each provider gets a module that verifies what arrives, parses it into
//! core [`InboundMessage`](switchboard_core::InboundMessage)s and builds outbound requests.
//! No I/O here: the server does the HTTP, so every adapter is tested as plain functions.

pub mod notify;
pub mod retry;
pub mod webhook;

use serde::Serialize;

/// The kinds of channel Switchboard can connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// The generic signed-webhook channel (see `docs/WEBHOOK.md`).
    Webhook,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "webhook",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "webhook" => Some(ChannelKind::Webhook),
            _ => None,
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
    #[error("the {0} header is not of the form sha256=<hex>")]
    Malformed(&'static str),
    #[error("the signature does not match the body")]
    Mismatch,
}

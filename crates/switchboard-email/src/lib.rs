//! Inbound e-mail, as it arrives from IMAP or SMTP: real-world MIME (multipart, HTML-only,
//! attachments, any charset) read into one [`Mail`], with what the person newly wrote apart
//! from the history their mail program quoted ([`quote`]), machine-written mail recognised
//! ([`auto`]), and the thread it belongs to. Pure: bytes in, values out; the parsing itself is
//! `mail-parser`'s.
//!
//! Threading: a mail belongs to the thread of the first `References` id, else its
//! `In-Reply-To`, else its own `Message-ID` (a new thread). Our replies carry the ids they
//! answer, so a customer's answer to an agent's reply names the thread's root whatever their
//! mail program keeps; when the headers are lost, the per-conversation reply address
//! (`reply+<token>@…`) still says which conversation it answers ([`Mail::reply_token`]).

pub mod auto;
pub mod quote;

pub use auto::{Bounce, Machine};
use mail_parser::{Address, MessageParser, MimeHeaders, PartType};
use switchboard_core::{
    Attachment, Author, ChannelEvent, DeliveryState, InboundMessage, Receipt, Timestamp,
};

/// The most attachments listed per mail; the rest are counted in the text's last line.
pub const MAX_ATTACHMENTS: usize = 50;

/// A name and address, the address lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: String,
}

/// A parsed inbound mail.
#[derive(Debug, Clone, PartialEq)]
pub struct Mail {
    /// Without the angle brackets.
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub from: Mailbox,
    pub reply_to: Option<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub subject: String,
    /// The `Date` header; `None` when absent or unreadable.
    pub date: Option<Timestamp>,
    /// The whole readable body: the text part, or the HTML part turned into text.
    pub text: String,
    /// What the person newly wrote ([`quote::reply_part`] of `text`).
    pub reply: String,
    /// The mail had HTML and no text part.
    pub html_only: bool,
    pub attachments: Vec<Attachment>,
    /// Set when a machine wrote it.
    pub machine: Option<Machine>,
    /// Some part could not be decoded as declared (a bad charset or transfer encoding);
    /// what could be read is kept.
    pub encoding_problem: bool,
}

/// Why bytes are not a mail Switchboard can take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    #[error("the message is empty")]
    Empty,
    #[error("the message has no header section (is it a mail at all?)")]
    NoHeaders,
    #[error("the message has no From address")]
    NoFrom,
}

/// `<id@host>` → `id@host` (spaces and brackets dropped).
pub fn clean_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_owned()
}

fn mailbox(a: &mail_parser::Addr<'_>) -> Option<Mailbox> {
    let address = a.address.as_deref()?.trim().to_lowercase();
    if address.is_empty() {
        return None;
    }
    Some(Mailbox {
        name: a
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned),
        address,
    })
}

fn mailboxes(a: Option<&Address<'_>>) -> Vec<Mailbox> {
    a.map(|a| a.iter().filter_map(mailbox).collect())
        .unwrap_or_default()
}

fn ids(v: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    let list: Vec<String> = match v {
        mail_parser::HeaderValue::Text(t) => vec![t.to_string()],
        mail_parser::HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    };
    list.iter()
        .map(|i| clean_id(i))
        .filter(|i| !i.is_empty())
        .collect()
}

fn attachment_kind(mime: &str) -> &'static str {
    match mime.split('/').next().unwrap_or("") {
        "image" => "image",
        "video" => "video",
        "audio" => "audio",
        _ => "file",
    }
}

/// Reads a mail. Only bytes with no header section, or with no `From` address, are refused;
/// anything else is read as well as it can be (see [`Mail::encoding_problem`]).
pub fn parse(raw: &[u8]) -> Result<Mail, MailError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(MailError::Empty);
    }
    let m = MessageParser::default()
        .parse(raw)
        .ok_or(MailError::NoHeaders)?;
    if m.root_part().headers.is_empty() {
        return Err(MailError::NoHeaders);
    }
    let from = m
        .from()
        .and_then(|a| a.iter().find_map(mailbox))
        .or_else(|| m.sender().and_then(|a| a.iter().find_map(mailbox)))
        .ok_or(MailError::NoFrom)?;
    let html_only = m.text_body_count() == 0 && m.html_body_count() > 0
        || (m.text_bodies().all(|p| matches!(p.body, PartType::Html(_)))
            && m.html_body_count() > 0);
    let text = m
        .body_text(0)
        .map(|t| t.replace("\r\n", "\n").trim().to_owned())
        .unwrap_or_default();
    let mut attachments = Vec::new();
    let mut skipped = 0usize;
    for part in m.attachments() {
        if attachments.len() >= MAX_ATTACHMENTS {
            skipped += 1;
            continue;
        }
        let mime = part
            .content_type()
            .map(|c| match c.subtype() {
                Some(s) => format!("{}/{}", c.ctype(), s),
                None => c.ctype().to_owned(),
            })
            .unwrap_or_else(|| "application/octet-stream".into())
            .to_lowercase();
        let name = part
            .attachment_name()
            .map(str::to_owned)
            .or_else(|| match &part.body {
                PartType::Message(inner) => inner.subject().map(|s| format!("{s}.eml")),
                _ => None,
            });
        attachments.push(Attachment {
            kind: attachment_kind(&mime).into(),
            url: None,
            provider_id: part.content_id().map(clean_id),
            mime_type: Some(mime),
            name,
        });
    }
    let mut text = text;
    if skipped > 0 {
        text.push_str(&format!("\n\n[{skipped} more attachments not listed]"));
    }
    let reply = quote::reply_part(&text);
    let encoding_problem = m.parts.iter().any(|p| p.is_encoding_problem);
    Ok(Mail {
        message_id: m.message_id().map(clean_id).filter(|i| !i.is_empty()),
        in_reply_to: ids(m.in_reply_to()),
        references: ids(m.references()),
        reply_to: m.reply_to().and_then(|a| a.iter().find_map(mailbox)),
        to: mailboxes(m.to()),
        cc: mailboxes(m.cc()),
        subject: m.subject().unwrap_or("").trim().to_owned(),
        date: m
            .date()
            .and_then(|d| Timestamp::from_unix_secs(d.to_timestamp())),
        machine: auto::classify(&m),
        from,
        text,
        reply,
        html_only,
        attachments,
        encoding_problem,
    })
}

impl Mail {
    /// The root of the thread this mail belongs to (see the crate docs); `None` only for a
    /// mail with no ids at all.
    pub fn thread_root(&self) -> Option<&str> {
        self.references
            .first()
            .or(self.in_reply_to.first())
            .or(self.message_id.as_ref())
            .map(String::as_str)
    }

    /// The token of a per-conversation reply address (`reply+<token>@domain`) among the
    /// recipients, for the given domain.
    pub fn reply_token(&self, domain: &str) -> Option<String> {
        self.to.iter().chain(&self.cc).find_map(|m| {
            let (local, host) = m.address.rsplit_once('@')?;
            if !host.eq_ignore_ascii_case(domain) {
                return None;
            }
            let token = local.strip_prefix("reply+")?;
            (!token.is_empty()
                && token.len() <= 64
                && token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-'))
            .then(|| token.to_owned())
        })
    }

    /// What the mail means for Switchboard: a customer's message (thread `mail:<root>`, the
    /// sender's address as their identity, the new text as the message), a failed delivery
    /// of one of our replies, or an auto-reply or unmatched bounce that opens nothing.
    /// `fallback_id` names the mail when it has no `Message-ID` (the server passes a hash of
    /// the raw bytes).
    pub fn events(&self, fallback_id: &str) -> Vec<ChannelEvent> {
        match &self.machine {
            Some(Machine::Bounce(b)) => match (&b.original_message_id, b.is_permanent()) {
                (Some(id), true) => vec![ChannelEvent::Receipt(Receipt {
                    external_id: id.clone(),
                    state: DeliveryState::Failed,
                    error: Some(b.describe()),
                    at: self.date,
                })],
                (_, false) => vec![ChannelEvent::Ignored {
                    kind: "delivery_delayed".into(),
                }],
                (None, true) => vec![ChannelEvent::Ignored {
                    kind: "bounce".into(),
                }],
            },
            Some(Machine::AutoReply(_)) => vec![ChannelEvent::Ignored {
                kind: "auto_reply".into(),
            }],
            None => {
                let id = self
                    .message_id
                    .clone()
                    .unwrap_or_else(|| fallback_id.to_owned());
                let root = self.thread_root().unwrap_or(&id).to_owned();
                let mut text = self.reply.clone();
                if text.is_empty() && !self.subject.is_empty() {
                    text = self.subject.clone();
                }
                vec![ChannelEvent::Message(InboundMessage {
                    external_id: id,
                    thread: format!("mail:{root}"),
                    public: false,
                    author: Author {
                        external_id: self.from.address.clone(),
                        name: self.from.name.clone(),
                        handle: None,
                        followers: None,
                        verified: None,
                    },
                    text,
                    sent_at: self.date,
                    attachments: self.attachments.clone(),
                    reply_to: self.in_reply_to.first().cloned(),
                })]
            }
        }
    }
}

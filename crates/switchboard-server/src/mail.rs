//! Outbound e-mail through an SMTP relay (lettre): invitations and reminders for experts.
//! The relay's URL may hold a password, so it is never printed.

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Where mail goes: `smtp://[user:pass@]host[:port]` (STARTTLS with `?tls=required`) or
/// `smtps://…`, and the sender address.
#[derive(Clone)]
pub struct SmtpConfig {
    pub url: String,
    pub from: String,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("url", &"<redacted>")
            .field("from", &self.from)
            .finish()
    }
}

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub fn new(config: &SmtpConfig) -> anyhow::Result<Mailer> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.url)
            .map_err(|e| anyhow::anyhow!("the SMTP URL is not valid: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        let from = config.from.parse().map_err(|e| {
            anyhow::anyhow!("the sender address {:?} is not valid: {e}", config.from)
        })?;
        Ok(Mailer { transport, from })
    }

    /// Sends a plain-text mail; the error says why it failed, in words for a person.
    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), String> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| format!("not a valid address: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| format!("cannot build the message: {e}"))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("the SMTP server refused or could not be reached: {e}"))
    }
}

/// A reply to a customer's mail, threaded under it.
pub struct Reply<'a> {
    /// The channel's mailbox and name.
    pub from: &'a str,
    pub from_name: Option<&'a str>,
    /// Where answers go: the channel's address.
    pub reply_to: &'a str,
    pub to: &'a str,
    /// Our `Message-ID`, without brackets.
    pub message_id: &'a str,
    /// The customer's mail this answers: its subject, `Message-ID` and `References`.
    pub subject: &'a str,
    pub in_reply_to: Option<&'a str>,
    pub references: &'a [String],
    pub text: &'a str,
}

/// Why a reply could not be sent: try again later, or never.
pub enum SendError {
    Transient(String),
    Permanent(String),
}

/// `Re: <subject>` (once), the subject of an answer.
pub fn reply_subject(subject: &str) -> String {
    let s = subject.trim();
    let lower = s.to_lowercase();
    if ["re:", "aw:", "sv:", "antw:", "réf:"]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        s.to_owned()
    } else if s.is_empty() {
        "Re: your message".to_owned()
    } else {
        format!("Re: {s}")
    }
}

/// Builds and sends `reply` through the relay at `url` (`smtp://…` or `smtps://…`).
pub async fn send_reply(url: &str, reply: &Reply<'_>) -> Result<(), SendError> {
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map_err(|e| SendError::Permanent(format!("the SMTP URL is not valid: {e}")))?
        .timeout(Some(std::time::Duration::from_secs(30)))
        .build();
    let from = Mailbox::new(
        reply.from_name.map(str::to_owned),
        reply.from.parse().map_err(|e| {
            SendError::Permanent(format!("the channel's address is not valid: {e}"))
        })?,
    );
    let to: Mailbox = reply
        .to
        .parse()
        .map_err(|e| SendError::Permanent(format!("the customer's address is not valid: {e}")))?;
    let reply_to: Mailbox = reply
        .reply_to
        .parse()
        .map_err(|e| SendError::Permanent(format!("the channel's address is not valid: {e}")))?;
    let mut b = Message::builder()
        .from(from)
        .reply_to(reply_to)
        .to(to)
        .subject(reply_subject(reply.subject))
        .message_id(Some(format!("<{}>", reply.message_id)))
        .header(ContentType::TEXT_PLAIN);
    if let Some(parent) = reply.in_reply_to {
        b = b.in_reply_to(format!("<{parent}>"));
        let mut refs: Vec<String> = reply.references.iter().map(|r| format!("<{r}>")).collect();
        let parent = format!("<{parent}>");
        if !refs.contains(&parent) {
            refs.push(parent);
        }
        b = b.references(refs.join(" "));
    }
    let message = b
        .body(reply.text.to_owned())
        .map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))?;
    transport.send(message).await.map(|_| ()).map_err(|e| {
        let text = format!("the SMTP relay: {e}");
        if e.is_permanent() {
            SendError::Permanent(text)
        } else {
            SendError::Transient(text)
        }
    })
}

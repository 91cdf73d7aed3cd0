//! An e-mail channel: a mailbox (`help@acme.example`) whose mail arrives over SMTP (the
//! server's listener, for an MX or relay pointed at Switchboard) or IMAP, and whose replies go
//! out through an SMTP relay. Parsing is `switchboard-email`'s; this module holds the channel's
//! settings and its reply rules. E-mail takes no webhooks and has no handshake.
//!
//! Settings (`config`): `address` (required; the mailbox customers write to), `from_name`
//! (the name replies are signed with, default none), `reply_domain` (the domain of
//! per-conversation reply addresses `reply+<token>@…`, default the address's). Secrets
//! (`credentials`, optional): `smtp_url`, the relay replies go through
//! (`smtp://user:pass@host:587?tls=required` or `smtps://…`), else the server's.

use crate::meta::setting;
use crate::{PayloadError, RuleError, SendJob};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use switchboard_core::{ChannelEvent, ContactKey};

/// The longest reply, in characters (a long answer is fine by mail; a runaway one is not).
pub const MAX_CHARS: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Lower-cased.
    pub address: String,
    pub from_name: Option<String>,
    /// Lower-cased.
    pub reply_domain: String,
}

fn object<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, PayloadError> {
    v.as_object()
        .ok_or_else(|| PayloadError::field(what, "must be a JSON object"))
}

impl Config {
    pub fn from_json(v: &Value) -> Result<Config, PayloadError> {
        let obj = object(v, "config")?;
        let raw = setting(obj, "config", "address")?
            .ok_or_else(|| PayloadError::field("config.address", "is required"))?;
        let address = ContactKey::email(&raw)
            .ok_or_else(|| {
                PayloadError::field(
                    "config.address",
                    format!("{raw:?} is not an e-mail address"),
                )
            })?
            .value;
        let domain = address
            .rsplit_once('@')
            .map(|(_, d)| d.to_owned())
            .unwrap_or_default();
        let reply_domain = match obj.get("reply_domain") {
            None | Some(Value::Null) => domain,
            Some(Value::String(d))
                if !d.is_empty()
                    && d.len() <= 253
                    && d.contains('.')
                    && d.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-') =>
            {
                d.to_lowercase()
            }
            Some(_) => {
                return Err(PayloadError::field(
                    "config.reply_domain",
                    "must be a domain name such as acme.example",
                ));
            }
        };
        let from_name = match obj.get("from_name") {
            None | Some(Value::Null) => None,
            Some(Value::String(n))
                if n.chars().count() <= 100 && !n.chars().any(char::is_control) =>
            {
                Some(n.trim().to_owned()).filter(|n| !n.is_empty())
            }
            Some(_) => {
                return Err(PayloadError::field(
                    "config.from_name",
                    "must be a name of at most 100 characters on one line",
                ));
            }
        };
        Ok(Config {
            address,
            from_name,
            reply_domain,
        })
    }

    /// Whether mail to `rcpt` belongs to this channel: its address, or a reply address on its
    /// reply domain.
    pub fn receives(&self, rcpt: &str) -> bool {
        let rcpt = rcpt.trim().to_lowercase();
        rcpt == self.address
            || rcpt.rsplit_once('@').is_some_and(|(local, domain)| {
                local.starts_with("reply+") && domain == self.reply_domain
            })
    }
}

/// The relay replies go through, when the channel has its own.
#[derive(Clone, Default)]
pub struct Credentials {
    pub smtp_url: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Credentials {
    pub fn from_json(v: &Value) -> Result<Credentials, PayloadError> {
        if v.is_null() {
            return Ok(Credentials::default());
        }
        let obj = object(v, "credentials")?;
        let smtp_url = match obj.get("smtp_url") {
            None | Some(Value::Null) => None,
            Some(Value::String(u)) if u.starts_with("smtp://") || u.starts_with("smtps://") => {
                Some(u.clone())
            }
            Some(_) => {
                return Err(PayloadError::field(
                    "credentials.smtp_url",
                    "must be an smtp:// or smtps:// URL",
                ));
            }
        };
        Ok(Credentials { smtp_url })
    }
}

/// `sha256:<hex>` of the raw bytes: the name of a mail without a `Message-ID`.
pub fn fallback_id(raw: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(raw)))
}

/// The events of one raw mail.
pub fn parse(raw: &[u8]) -> Result<Vec<ChannelEvent>, PayloadError> {
    let mail = switchboard_email::parse(raw).map_err(|e| PayloadError::body(e.to_string()))?;
    Ok(mail.events(&fallback_id(raw)))
}

/// A mail's own id to deduplicate on: its `Message-ID`, else the hash of its bytes.
pub fn dedupe_key(raw: &[u8]) -> Option<String> {
    match switchboard_email::parse(raw) {
        Ok(m) => Some(match m.message_id {
            Some(id) => format!("mid:{id}"),
            None => fallback_id(raw),
        }),
        Err(_) => None,
    }
}

/// A reply needs text, a conversation that came by mail, and an address to write to.
pub fn check_reply(job: &SendJob) -> Result<(), RuleError> {
    crate::meta::check_text("E-mail", MAX_CHARS, &job.text)?;
    if !job.thread.starts_with("mail:") {
        return Err(RuleError::new(
            "not_supported",
            "This conversation did not come by e-mail; there is no thread to answer.",
        ));
    }
    if ContactKey::email(&job.to).is_none() {
        return Err(RuleError::new(
            "not_supported",
            "The customer of this conversation has no e-mail address to write to.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_are_checked_by_key() {
        let c = Config::from_json(&json!({"address": "Help@Acme.example"})).unwrap();
        assert_eq!(c.address, "help@acme.example");
        assert_eq!(c.reply_domain, "acme.example");
        assert!(c.receives("HELP@acme.example"));
        assert!(c.receives("reply+abc123@acme.example"));
        assert!(!c.receives("reply+abc123@other.example"));
        assert!(!c.receives("sales@acme.example"));
        for (bad, field) in [
            (json!({}), "config.address"),
            (json!({"address": "not-an-address"}), "config.address"),
            (
                json!({"address": "a@b.io", "reply_domain": "no dots"}),
                "config.reply_domain",
            ),
            (
                json!({"address": "a@b.io", "from_name": "x\ny"}),
                "config.from_name",
            ),
            (json!("a@b.io"), "config"),
        ] {
            assert_eq!(
                Config::from_json(&bad).unwrap_err().field.as_deref(),
                Some(field),
                "{bad}"
            );
        }
        assert!(
            Credentials::from_json(&Value::Null)
                .unwrap()
                .smtp_url
                .is_none()
        );
        let k = Credentials::from_json(&json!({"smtp_url": "smtp://u:secret@relay:587"})).unwrap();
        assert!(!format!("{k:?}").contains("secret"));
        assert_eq!(
            Credentials::from_json(&json!({"smtp_url": "http://x"}))
                .unwrap_err()
                .field
                .as_deref(),
            Some("credentials.smtp_url")
        );
    }

    #[test]
    fn mails_become_events_and_are_deduplicated_by_message_id() {
        let raw = b"From: Ann <ann@example.com>\r\nTo: help@acme.example\r\nSubject: Hi\r\nMessage-ID: <m1@example.com>\r\n\r\nWhere is my order?\r\n";
        match parse(raw).unwrap().as_slice() {
            [ChannelEvent::Message(m)] => {
                assert_eq!(m.text, "Where is my order?");
                assert_eq!(m.thread, "mail:m1@example.com");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(dedupe_key(raw).as_deref(), Some("mid:m1@example.com"));
        let no_id = b"From: ann@example.com\r\n\r\nhello";
        assert_eq!(dedupe_key(no_id), Some(fallback_id(no_id)));
        assert!(parse(b"Subject: no sender\r\n\r\nx").is_err());
    }

    #[test]
    fn reply_rules() {
        let job = |thread: &str, to: &str, text: &str| SendJob {
            message_id: "m".into(),
            thread: thread.into(),
            public: false,
            to: to.into(),
            in_reply_to: None,
            private_reply: false,
            template: None,
            text: text.into(),
            last_inbound_at: None,
            now: switchboard_core::Timestamp::from_unix_micros(0),
        };
        assert!(check_reply(&job("mail:m1@x", "ann@example.com", "Hello")).is_ok());
        assert_eq!(
            check_reply(&job("mail:m1@x", "ann@example.com", " "))
                .unwrap_err()
                .code,
            "empty"
        );
        assert_eq!(
            check_reply(&job("dm:1", "ann@example.com", "Hi"))
                .unwrap_err()
                .code,
            "not_supported"
        );
        assert_eq!(
            check_reply(&job("mail:m1@x", "12345", "Hi"))
                .unwrap_err()
                .code,
            "not_supported"
        );
    }
}

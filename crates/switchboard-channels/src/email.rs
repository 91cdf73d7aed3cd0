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
//!
//! To fetch mail from a mailbox over IMAP as well: `config.imap` `{"host", "port" (default 993
//! with TLS, 143 without), "tls": true|false (default true), "username" (default the address),
//! "mailbox" (default `INBOX`), "poll_secs" (when the server has no IDLE; default 60)}` and
//! `credentials.imap_password`.

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
    /// Where to fetch mail over IMAP, if anywhere.
    pub imap: Option<Imap>,
}

/// An IMAP mailbox to fetch from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imap {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub username: String,
    pub mailbox: String,
    pub poll_secs: u64,
}

impl Imap {
    fn from_json(v: &Value, address: &str) -> Result<Imap, PayloadError> {
        let obj = object(v, "config.imap")?;
        let host = match obj.get("host") {
            Some(Value::String(h))
                if !h.is_empty()
                    && h.len() <= 253
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b)) =>
            {
                h.clone()
            }
            None => return Err(PayloadError::field("config.imap.host", "is required")),
            Some(_) => {
                return Err(PayloadError::field(
                    "config.imap.host",
                    "must be a host name or IP address",
                ));
            }
        };
        let tls = match obj.get("tls") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(PayloadError::field(
                    "config.imap.tls",
                    "must be true or false",
                ));
            }
        };
        let number =
            |key: &str, default: u64, range: std::ops::RangeInclusive<u64>| match obj.get(key) {
                None | Some(Value::Null) => Ok(default),
                Some(Value::Number(n)) if n.as_u64().is_some_and(|n| range.contains(&n)) => {
                    Ok(n.as_u64().unwrap_or(default))
                }
                Some(_) => Err(PayloadError::field(
                    &format!("config.imap.{key}"),
                    format!("must be a number from {} to {}", range.start(), range.end()),
                )),
            };
        let port = number("port", if tls { 993 } else { 143 }, 1..=65535)? as u16;
        let poll_secs = number("poll_secs", 60, 5..=3600)?;
        let text = |key: &str, default: &str| match obj.get(key) {
            None | Some(Value::Null) => Ok(default.to_owned()),
            Some(Value::String(s))
                if !s.trim().is_empty() && s.len() <= 256 && !s.chars().any(char::is_control) =>
            {
                Ok(s.clone())
            }
            Some(_) => Err(PayloadError::field(
                &format!("config.imap.{key}"),
                "must be a non-empty string on one line",
            )),
        };
        Ok(Imap {
            host,
            port,
            tls,
            username: text("username", address)?,
            mailbox: text("mailbox", "INBOX")?,
            poll_secs,
        })
    }
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
        let imap = match obj.get("imap") {
            None | Some(Value::Null) => None,
            Some(v) => Some(Imap::from_json(v, &address)?),
        };
        Ok(Config {
            address,
            from_name,
            reply_domain,
            imap,
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

/// The relay replies go through, when the channel has its own, and the IMAP password.
#[derive(Clone, Default)]
pub struct Credentials {
    pub smtp_url: Option<String>,
    pub imap_password: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "<redacted>"))
            .field(
                "imap_password",
                &self.imap_password.as_ref().map(|_| "<redacted>"),
            )
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
        let imap_password = match obj.get("imap_password") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) if !p.is_empty() => Some(p.clone()),
            Some(_) => {
                return Err(PayloadError::field(
                    "credentials.imap_password",
                    "must be a non-empty string",
                ));
            }
        };
        Ok(Credentials {
            smtp_url,
            imap_password,
        })
    }
}

/// `sha256:<hex>` of the raw bytes: the name of a mail without a `Message-ID`.
pub fn fallback_id(raw: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(raw)))
}

/// The events of one raw mail. A mail to a per-conversation reply address
/// (`reply+<conversation id>@<reply_domain>`) names its conversation itself (thread
/// `conversation:<id>`), whatever its headers say.
pub fn parse(raw: &[u8], cfg: &Config) -> Result<Vec<ChannelEvent>, PayloadError> {
    let mail = switchboard_email::parse(raw).map_err(|e| PayloadError::body(e.to_string()))?;
    let mut events = mail.events(&fallback_id(raw));
    if let Some(token) = mail
        .reply_token(&cfg.reply_domain)
        .filter(|t| t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        for e in &mut events {
            if let ChannelEvent::Message(m) = e {
                m.thread = format!("conversation:{token}");
            }
        }
    }
    Ok(events)
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
    fn imap_settings() {
        let c = Config::from_json(
            &json!({"address": "help@acme.example", "imap": {"host": "imap.acme.example"}}),
        )
        .unwrap();
        assert_eq!(
            c.imap,
            Some(Imap {
                host: "imap.acme.example".into(),
                port: 993,
                tls: true,
                username: "help@acme.example".into(),
                mailbox: "INBOX".into(),
                poll_secs: 60
            })
        );
        let c = Config::from_json(&json!({"address": "help@acme.example",
            "imap": {"host": "127.0.0.1", "tls": false, "username": "help", "mailbox": "Support", "poll_secs": 5}})).unwrap();
        let imap = c.imap.unwrap();
        assert_eq!(
            (
                imap.port,
                imap.tls,
                imap.username.as_str(),
                imap.mailbox.as_str()
            ),
            (143, false, "help", "Support")
        );
        for (bad, field) in [
            (json!({"imap": {}}), "config.imap.host"),
            (json!({"imap": {"host": "a b"}}), "config.imap.host"),
            (
                json!({"imap": {"host": "h", "port": 0}}),
                "config.imap.port",
            ),
            (
                json!({"imap": {"host": "h", "tls": "yes"}}),
                "config.imap.tls",
            ),
            (
                json!({"imap": {"host": "h", "poll_secs": 1}}),
                "config.imap.poll_secs",
            ),
            (
                json!({"imap": {"host": "h", "mailbox": ""}}),
                "config.imap.mailbox",
            ),
            (json!({"imap": "imap.example"}), "config.imap"),
        ] {
            let mut v = bad.clone();
            v["address"] = json!("help@acme.example");
            assert_eq!(
                Config::from_json(&v).unwrap_err().field.as_deref(),
                Some(field),
                "{bad}"
            );
        }
        let no_password = crate::adapter::Adapter::new(
            crate::ChannelKind::Email,
            &json!({"address": "help@acme.example", "imap": {"host": "h"}}),
            &json!({}),
        );
        assert_eq!(
            no_password.unwrap_err().field.as_deref(),
            Some("credentials.imap_password")
        );
    }

    #[test]
    fn mails_become_events_and_are_deduplicated_by_message_id() {
        let raw = b"From: Ann <ann@example.com>\r\nTo: help@acme.example\r\nSubject: Hi\r\nMessage-ID: <m1@example.com>\r\n\r\nWhere is my order?\r\n";
        let cfg = Config::from_json(&json!({"address": "help@acme.example"})).unwrap();
        match parse(raw, &cfg).unwrap().as_slice() {
            [ChannelEvent::Message(m)] => {
                assert_eq!(m.text, "Where is my order?");
                assert_eq!(m.thread, "mail:m1@example.com");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(dedupe_key(raw).as_deref(), Some("mid:m1@example.com"));
        let no_id = b"From: ann@example.com\r\n\r\nhello";
        assert_eq!(dedupe_key(no_id), Some(fallback_id(no_id)));
        assert!(parse(b"Subject: no sender\r\n\r\nx", &cfg).is_err());
        let to_token = b"From: ann@example.com\r\nTo: Acme <reply+0190a4d0c0de70008000000000000abc@acme.example>\r\nMessage-ID: <m2@example.com>\r\n\r\nhi";
        match parse(to_token, &cfg).unwrap().as_slice() {
            [ChannelEvent::Message(m)] => {
                assert_eq!(m.thread, "conversation:0190a4d0c0de70008000000000000abc")
            }
            other => panic!("{other:?}"),
        }
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
